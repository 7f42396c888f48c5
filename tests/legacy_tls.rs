//! The legacy-TLS ClientHello against a real TLS server: `openssl s_server` on a loopback port,
//! once allowing only TLS 1.0 (at security level 0, the only way OpenSSL 3 still speaks it) and
//! once allowing only TLS 1.2.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailauth::smtp::legacy_tls::{LegacyOutcome, LegacyVersion, try_version};

use crate::support;

/// An `openssl s_server` child on 127.0.0.1, killed by PID on drop.
pub(crate) struct OpensslServer {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OpensslServer {
    /// Start `s_server` with `protocol_flags` and a fresh self-signed certificate; `None` only
    /// outside CI when openssl is missing.
    pub(crate) fn start(protocol_flags: &[&str]) -> Option<OpensslServer> {
        let openssl = support::tool("openssl")?;
        let dir = tempfile::tempdir().unwrap();
        self_signed(&openssl, dir.path());
        let port = crate::support::mail_tls::free_ports(1)[0];
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let child = Command::new(&openssl)
            .arg("s_server")
            .args(["-accept", &addr.to_string(), "-quiet"])
            .args(["-cert", "cert.pem", "-key", "key.pem"])
            .args(protocol_flags)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let server = OpensslServer {
            child,
            addr,
            _dir: dir,
        };
        server.wait_until_listening();
        Some(server)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "openssl s_server did not listen on {} within 10 s",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One legacy hello on a fresh connection.
    fn try_version(&self, version: LegacyVersion) -> LegacyOutcome {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
            try_version(
                &mut stream,
                version,
                Some("mx.example.test"),
                Duration::from_secs(10),
            )
            .await
            .unwrap()
        })
    }
}

fn self_signed(openssl: &Path, dir: &Path) {
    support::run(
        Command::new(openssl)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
            .args(["-keyout", "key.pem", "-out", "cert.pem", "-days", "2"])
            .args(["-subj", "/CN=mx.example.test"])
            .current_dir(dir),
        b"",
    );
}

/// RFC 2246 §7.4.1.3: a server that speaks TLS 1.0 answers our 3.1 hello with a 3.1 ServerHello.
#[test]
fn rfc2246_7_4_1_3_openssl_allowing_tls10_accepts_the_tls10_hello() {
    let Some(server) = OpensslServer::start(&["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]) else {
        return;
    };
    assert_eq!(
        server.try_version(LegacyVersion::Tls10),
        LegacyOutcome::Accepted
    );
}

/// RFC 8996 §5 / RFC 5246 §7.2: a TLS 1.2-only server refuses TLS 1.0 and 1.1 hellos. OpenSSL
/// answers with alert 70 protocol_version.
#[test]
fn rfc8996_5_openssl_tls12_only_refuses_tls10_and_tls11_with_protocol_version() {
    let Some(server) = OpensslServer::start(&["-tls1_2"]) else {
        return;
    };
    for version in [LegacyVersion::Tls10, LegacyVersion::Tls11] {
        assert_eq!(
            server.try_version(version),
            LegacyOutcome::Refused { alert: Some(70) },
            "{version}"
        );
    }
}

/// RFC 7568 §3: SSLv3 MUST NOT be used. OpenSSL 3 has no SSLv3 at all, so a default server
/// (TLS 1.2 and 1.3) refuses the SSLv3 hello.
#[test]
fn rfc7568_3_openssl_default_refuses_the_sslv3_hello() {
    let Some(server) = OpensslServer::start(&[]) else {
        return;
    };
    let outcome = server.try_version(LegacyVersion::Ssl3);
    assert!(
        matches!(outcome, LegacyOutcome::Refused { .. }),
        "{outcome:?}"
    );
}

/// RFC 4346 §7.4.1.3 / E.1: a TLS 1.0-only server asked for TLS 1.1 answers a 3.1 ServerHello
/// (or an alert); either way TLS 1.1 is refused, never accepted.
#[test]
fn rfc4346_7_4_1_3_tls10_only_server_does_not_accept_tls11() {
    let Some(server) = OpensslServer::start(&["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]) else {
        return;
    };
    let outcome = server.try_version(LegacyVersion::Tls11);
    assert!(
        matches!(outcome, LegacyOutcome::Refused { .. }),
        "{outcome:?}"
    );
}
