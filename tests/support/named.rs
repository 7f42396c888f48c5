//! A real BIND `named`, started by the test on an ephemeral loopback port from a temporary
//! directory, serving the zone files it is given, and killed by PID when dropped. In CI a
//! missing or failing named fails the test; elsewhere the caller is told to skip.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailauth::dns::Resolver;
use mailauth::dns::hickory::HickoryResolver;

/// A running named.
#[derive(Debug)]
pub struct Named {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Named {
    /// Serve `zones` (origin, file) on 127.0.0.1. `None` (outside CI) when named is not installed.
    pub fn start(zones: &[(String, PathBuf)]) -> Option<Named> {
        Named::start_with_update_key(zones, None)
    }

    /// Like [`Named::start`]; with `key` (a BIND key file) the zones accept dynamic updates
    /// signed with that key (`update-policy { grant KEY zonesub ANY; }`).
    pub fn start_with_update_key(
        zones: &[(String, PathBuf)],
        key: Option<(&str, &Path)>,
    ) -> Option<Named> {
        let named = super::tool("named")?;
        let dir = tempfile::tempdir().expect("temp dir");
        // Held until named answers, so no other test server takes the port in between.
        let _ports = super::mail_tls::lock_ports();
        let port = free_port();
        let mut conf = format!(
            "options {{ directory \"{dir}\"; pid-file \"{dir}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }}; \
             listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; allow-query {{ 127.0.0.1; }}; }};\n\
             controls {{ }};\n",
            dir = dir.path().display()
        );
        if let Some((_, key_file)) = key {
            conf.push_str(&format!("include \"{}\";\n", key_file.display()));
        }
        let policy = key
            .map(|(name, _)| format!(" update-policy {{ grant {name} zonesub ANY; }};"))
            .unwrap_or_default();
        for (origin, file) in zones {
            let copy = dir.path().join(format!("{origin}.zone"));
            std::fs::copy(file, &copy).expect("copy zone");
            conf.push_str(&format!(
                "zone \"{origin}\" {{ type primary; file \"{}\";{policy} }};\n",
                copy.display()
            ));
        }
        let conf_path = dir.path().join("named.conf");
        std::fs::write(&conf_path, conf).expect("write named.conf");
        let log = std::fs::File::create(dir.path().join("named.log")).expect("log file");
        let child = Command::new(named)
            .arg("-c")
            .arg(&conf_path)
            .arg("-g")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start named");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let mut server = Named {
            child,
            addr,
            _dir: dir,
        };
        server.wait_ready(&zones[0].0);
        Some(server)
    }

    /// The address named answers on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn wait_ready(&mut self, origin: &str) {
        let resolver = HickoryResolver::with_servers(&[self.addr]).expect("resolver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("named exited ({status}): {}", self.log());
            }
            if rt.block_on(resolver.ns(origin)).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!("named did not answer within 20 s: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("named.log")).unwrap_or_default()
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().expect("address").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port for named");
}

/// Check a zone file with named-checkzone (used by tests that write zones).
pub fn checkzone(origin: &str, file: &Path) -> Result<(), String> {
    let out = Command::new("named-checkzone")
        .arg(origin)
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
