//! A real Knot DNS `knotd`, started by the test on an ephemeral loopback port from a temporary
//! directory with one TSIG key allowed to update its zones, and killed by PID when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailauth::dns::Resolver;
use mailauth::dns::hickory::HickoryResolver;

/// A running knotd.
#[derive(Debug)]
pub struct Knot {
    child: Child,
    /// Where it listens (UDP and TCP).
    pub addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
}

impl Knot {
    /// Serve `zones` (origin, file); `key` is (name, base64 hmac-sha256 secret).
    pub fn start(zones: &[(String, PathBuf)], key: (&str, &str)) -> Option<Knot> {
        let knotd = super::tool("knotd")?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        // Held until knotd answers, so no other test server takes the port in between; the
        // port must be free for TCP as well as UDP.
        let _ports = super::mail_tls::lock_ports();
        let port = super::named::free_port();
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@{port}\n    pidfile: \"{d}/knot.pid\"\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n    storage: \"{d}/db\"\n\
             key:\n  - id: {}\n    algorithm: hmac-sha256\n    secret: {}\n\
             acl:\n  - id: upd\n    key: {}\n    action: update\n\
             zone:\n",
            key.0, key.1, key.0
        );
        for (origin, file) in zones {
            std::fs::copy(file, dir.path().join(format!("{origin}.zone"))).unwrap();
            conf.push_str(&format!("  - domain: {origin}.\n    storage: \"{d}\"\n    file: \"{origin}.zone\"\n    acl: upd\n"));
        }
        let conf_path = dir.path().join("knot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(dir.path().join("knot.log")).unwrap();
        let child = Command::new(knotd)
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start knotd");
        let mut knot = Knot {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            dir,
        };
        let resolver = HickoryResolver::with_servers(&[knot.addr]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = knot.child.try_wait() {
                panic!("knotd exited ({status}): {}", knot.log());
            }
            if rt.block_on(resolver.ns(&zones[0].0)).is_ok() {
                return Some(knot);
            }
            assert!(
                Instant::now() < deadline,
                "knotd did not answer in 20 s: {}",
                knot.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knot.log")).unwrap_or_default()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
