//! What the test mail servers share about TLS and greetings: a throwaway CA and the
//! mx.example.test server certificate it issues (made with the openssl CLI, as an administrator
//! would), a rustls client trusting only that CA, and a client that reads a server's 220
//! greeting with short timeouts. The servers themselves live in postfix.rs, exim.rs and
//! smtp_sink.rs; what a probe concludes about them belongs to the tests.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// The DNS name in every test server certificate.
pub const SERVER_NAME: &str = "mx.example.test";

/// Where [`write_certificates`] put its files.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// The CA certificate (PEM), to trust with `--ca`.
    pub ca: PathBuf,
    /// The server certificate (PEM), issued by the CA.
    pub cert: PathBuf,
    /// The server's private key (PEM, mode 0600).
    pub key: PathBuf,
}

/// Make a CA in `ca_dir` and an RSA 2048 server certificate for [`SERVER_NAME`] (SAN DNS name,
/// serverAuth, valid from now for a year) with its key in `server_dir`.
pub fn write_certificates(ca_dir: &Path, server_dir: &Path) -> CertificateFiles {
    let files = CertificateFiles {
        ca: ca_dir.join("ca.pem"),
        cert: server_dir.join("cert.pem"),
        key: server_dir.join("key.pem"),
    };
    let ca_key = ca_dir.join("ca.key");
    let csr = ca_dir.join("server.csr");
    make_ca(&ca_key, &files.ca);
    make_server_request(&files.key, &csr);
    sign_server_certificate(ca_dir, &files, &ca_key, &csr);
    files
}

fn make_ca(key: &Path, cert: &Path) {
    run_ok(
        Command::new("openssl")
            .args("req -x509 -newkey rsa:2048 -nodes -days 365".split(' '))
            .args(["-subj", "/CN=mailauth test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(key)
            .arg("-out")
            .arg(cert),
    );
}

fn make_server_request(key: &Path, csr: &Path) {
    run_ok(
        Command::new("openssl")
            .args("req -newkey rsa:2048 -nodes".split(' '))
            .args(["-subj", &format!("/CN={SERVER_NAME}")])
            .arg("-keyout")
            .arg(key)
            .arg("-out")
            .arg(csr),
    );
}

/// Issue the server certificate: SAN with the DNS name (what RFC 7817 §3 name checks read),
/// not a CA, serverAuth.
fn sign_server_certificate(ca_dir: &Path, files: &CertificateFiles, ca_key: &Path, csr: &Path) {
    let ext = ca_dir.join("server.ext");
    let extensions = format!(
        "subjectAltName = DNS:{SERVER_NAME}\nbasicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\n"
    );
    std::fs::write(&ext, extensions).expect("write server.ext");
    run_ok(
        Command::new("openssl")
            .args("x509 -req -days 365 -CAcreateserial".split(' '))
            .arg("-in")
            .arg(csr)
            .arg("-CA")
            .arg(&files.ca)
            .arg("-CAkey")
            .arg(ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&files.cert),
    );
}

/// A rustls client trusting only the CA in `ca_file`.
pub fn tls_client_config(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).expect("read the CA file") {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a usable CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The server's greeting at `addr` (through TLS checked against `tls`'s CA for
/// [`SERVER_NAME`], for implicit TLS), if it is a 220 line within 2 s.
pub fn greeting(
    addr: SocketAddr,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<String, String> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map_err(|e| format!("connect: {e}"))?;
    let timeout = Some(Duration::from_secs(2));
    tcp.set_read_timeout(timeout).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(timeout).map_err(|e| e.to_string())?;
    match tls {
        None => read_220(tcp),
        Some(config) => read_220(tls_stream(config, tcp)),
    }
}

fn read_220<S: std::io::Read + Write>(stream: S) -> Result<String, String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("read greeting: {e}"))?;
    if !line.starts_with("220 ") {
        return Err(format!("greeting is not 220: {line:?}"));
    }
    // Leave politely so the server logs a QUIT rather than a lost connection.
    let _ = reader.get_mut().write_all(b"QUIT\r\n");
    Ok(line.trim_end().to_string())
}

/// Run `command`, panicking with its output if it cannot run or fails.
pub fn run_ok(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `chown owner:owner path`.
pub fn chown(owner: &str, path: &Path) {
    run_ok(
        Command::new("chown")
            .arg(format!("{owner}:{owner}"))
            .arg(path),
    );
}

/// True when the tests run as root (private Postfix and Exim instances need it).
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// A distinct free loopback port for each of `n` servers.
/// An exclusive lock, across the test processes nextest runs in parallel, held by a test server
/// from picking its ports until it listens on them. Without it, one server's freshly released
/// ports could be picked by another before the first binds them, and a readiness check would
/// then be answered by the wrong server. Released when dropped.
pub fn lock_ports() -> std::fs::File {
    let path = std::env::temp_dir().join("mailauth-test-ports.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    file
}

/// A fresh `/var/tmp/PREFIXXXXX` (Postfix only logs under /var by default; Exim's spool wants
/// the same), mode 0755 so the server's unprivileged user can traverse it.
pub fn var_tmp_instance_dir(prefix: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/var/tmp")
        .expect("create a directory under /var/tmp");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod the instance dir");
    dir
}

pub fn free_ports(n: usize) -> Vec<u16> {
    // Hold every socket until all are picked so the ports are distinct.
    let sockets: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    sockets
        .iter()
        .map(|s| s.local_addr().expect("local addr").port())
        .collect()
}

/// One SMTP reply: its code and the text of each line (after "250-" / "250 ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// Each line's text, without the code and separator.
    pub lines: Vec<String>,
}

trait Transport: std::io::Read + Write + Send {}
impl<T: std::io::Read + Write + Send> Transport for T {}

/// A minimal blocking SMTP client for checking what the test servers advertise and answer;
/// it panics on I/O errors (a test server that misbehaves fails the test).
pub struct SmtpClient {
    stream: BufReader<Box<dyn Transport>>,
    addr: SocketAddr,
    /// The greeting (220 line) the server sent.
    pub greeting: Reply,
}

impl SmtpClient {
    /// Connect (through TLS for implicit TLS) and read the greeting.
    pub fn connect(addr: SocketAddr, tls: Option<&Arc<rustls::ClientConfig>>) -> SmtpClient {
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set timeout");
        let stream: Box<dyn Transport> = match tls {
            None => Box::new(tcp),
            Some(config) => Box::new(tls_stream(config, tcp)),
        };
        let mut client = SmtpClient {
            stream: BufReader::new(stream),
            addr,
            greeting: Reply {
                code: 0,
                lines: vec![],
            },
        };
        client.greeting = client.reply();
        client
    }

    /// Send `line` and read the reply.
    pub fn command(&mut self, line: &str) -> Reply {
        let wire = format!("{line}\r\n");
        self.stream
            .get_mut()
            .write_all(wire.as_bytes())
            .unwrap_or_else(|e| panic!("send {line:?} to {}: {e}", self.addr));
        self.reply()
    }

    /// `EHLO client.example`: the extension keywords (every line after the first), upper-cased.
    pub fn ehlo(&mut self) -> Vec<String> {
        let reply = self.command("EHLO client.example");
        assert_eq!(reply.code, 250, "EHLO at {}: {reply:?}", self.addr);
        reply.lines[1..].iter().map(|l| l.to_uppercase()).collect()
    }

    /// `STARTTLS`, expecting 220, then a TLS handshake checked against `config`'s CA.
    pub fn starttls(self, config: &Arc<rustls::ClientConfig>) -> SmtpClient {
        let mut this = self;
        let reply = this.command("STARTTLS");
        assert_eq!(reply.code, 220, "STARTTLS at {}: {reply:?}", this.addr);
        assert!(
            this.stream.buffer().is_empty(),
            "server sent data after 220 to STARTTLS"
        );
        let inner = this.stream.into_inner();
        let tls: Box<dyn Transport> = Box::new(tls_stream(config, inner));
        SmtpClient {
            stream: BufReader::new(tls),
            addr: this.addr,
            greeting: this.greeting,
        }
    }

    fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self
                .stream
                .read_line(&mut line)
                .unwrap_or_else(|e| panic!("read a reply from {}: {e}", self.addr));
            assert!(n > 0, "{} closed the connection", self.addr);
            let line = line.trim_end();
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("not an SMTP reply from {}: {line:?}", self.addr));
            lines.push(line.get(4..).unwrap_or_default().to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Reply { code, lines };
            }
        }
    }
}

fn tls_stream<S: std::io::Read + Write>(
    config: &Arc<rustls::ClientConfig>,
    inner: S,
) -> rustls::StreamOwned<rustls::ClientConnection, S> {
    let name = rustls_pki_types::ServerName::try_from(SERVER_NAME).expect("a DNS name");
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).expect("a TLS client");
    rustls::StreamOwned::new(conn, inner)
}
