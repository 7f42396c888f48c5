//! A real PowerDNS Authoritative server (sqlite backend, HTTP API) started by the test on
//! loopback ports from a temporary directory, and killed by PID when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running pdns_server.
#[derive(Debug)]
pub struct Pdns {
    child: Child,
    /// The API base URL.
    pub api: String,
    /// The API key.
    pub key: String,
    /// Where it answers DNS queries (UDP and TCP).
    pub dns: std::net::SocketAddr,
    dir: tempfile::TempDir,
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pdns {
    /// Start it. `None` (outside CI) when pdns_server or sqlite3 is missing.
    pub fn start() -> Option<Pdns> {
        let server = super::tool("pdns_server")?;
        let sqlite = super::tool("sqlite3")?;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pdns.sqlite3");
        let schema = std::fs::read("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")
            .expect("pdns sqlite schema (package pdns-backend-sqlite3)");
        let mut init = Command::new(sqlite)
            .arg(&db)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        init.stdin.take().unwrap().write_all(&schema).unwrap();
        assert!(init.wait().unwrap().success(), "sqlite3 schema load failed");
        // Held until the API answers, so no other test server takes the ports in between.
        let _ports = super::mail_tls::lock_ports();
        let dns_port = super::named::free_port();
        let api_port = loop {
            let port = free_tcp_port();
            if port != dns_port {
                break port;
            }
        };
        let key = "mailauth-test-key".to_owned();
        std::fs::write(
            dir.path().join("pdns.conf"),
            format!(
                "launch=gsqlite3\ngsqlite3-database={}\nlocal-address=127.0.0.1\nlocal-port={dns_port}\nsocket-dir={}\napi=yes\napi-key={key}\nwebserver=yes\nwebserver-address=127.0.0.1\nwebserver-port={api_port}\nwebserver-allow-from=127.0.0.0/8\nsecurity-poll-suffix=\n",
                db.display(),
                dir.path().display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("pdns.log")).unwrap();
        let child = Command::new(server)
            .arg(format!("--config-dir={}", dir.path().display()))
            .args(["--daemon=no", "--guardian=no", "--disable-syslog"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start pdns_server");
        let mut pdns = Pdns {
            child,
            api: format!("http://127.0.0.1:{api_port}"),
            key,
            dns: format!("127.0.0.1:{dns_port}").parse().unwrap(),
            dir,
        };
        pdns.wait_ready();
        Some(pdns)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pdns_server exited ({status}): {}", self.log());
            }
            if self
                .request("GET", "/api/v1/servers/localhost", None)
                .is_ok_and(|(s, _)| s == 200)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pdns_server did not answer in 20 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pdns.log")).unwrap_or_default()
    }

    /// Creates the native zone `zone` (no trailing dot) with one NS name, `ns1.ZONE.`; panics with
    /// the API's answer unless it is 201 Created.
    pub fn create_zone(&self, zone: &str) {
        let body = serde_json::json!({"name": format!("{zone}."), "kind": "Native",
            "nameservers": [format!("ns1.{zone}.")]});
        let (status, answer) = self
            .request("POST", "/api/v1/servers/localhost/zones", Some(body))
            .unwrap();
        assert_eq!(status, 201, "creating {zone}: {answer}");
    }

    /// A raw API request: (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, String), String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.api);
        let response = match (method, body) {
            ("GET", _) => agent.get(&url).header("X-API-Key", &self.key).call(),
            ("POST", Some(b)) => agent.post(&url).header("X-API-Key", &self.key).send_json(b),
            ("PATCH", Some(b)) => agent
                .patch(&url)
                .header("X-API-Key", &self.key)
                .send_json(b),
            _ => return Err("unsupported request".into()),
        };
        let mut response = response.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        Ok((
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        ))
    }
}

impl Drop for Pdns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
