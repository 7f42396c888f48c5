//! Postfix's `smtp-sink` on a free loopback port: the "worst server" of the SMTP tests. It offers
//! AUTH without STARTTLS and accepts every sender and recipient, so a probe must flag it as an
//! open relay with cleartext AUTH. It is started as a foreground child and killed by PID on
//! drop; it knows nothing about what a probe should conclude.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mail_tls::{self, greeting, running_as_root};

/// A running smtp-sink.
#[derive(Debug)]
pub struct SmtpSink {
    child: Child,
    addr: SocketAddr,
}

impl SmtpSink {
    /// Start `smtp-sink 127.0.0.1:PORT 10`; `None` only outside CI when it is not installed.
    pub fn start() -> Option<SmtpSink> {
        let binary = super::tool("smtp-sink")?;
        let _ports = mail_tls::lock_ports();
        let port = mail_tls::free_ports(1)[0];
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut command = Command::new(binary);
        // smtp-sink refuses to run as root without a user to drop to.
        if running_as_root() {
            command.args(["-u", "nobody"]);
        }
        let child = command
            .args(["-h", mail_tls::SERVER_NAME])
            .arg(addr.to_string())
            .arg("10")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start smtp-sink");
        let mut sink = SmtpSink { child, addr };
        sink.wait_until_ready();
        Some(sink)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!("smtp-sink on {} exited ({status}): {stderr}", self.addr);
            }
            match greeting(self.addr, None) {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("smtp-sink on {} did not greet in 10 s: {e}", self.addr)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
