//! An in-process scripted SMTP server on 127.0.0.1:0 for behaviour real servers will not show:
//! ANONYMOUS offered, STARTTLS injection (answers plaintext buffered before the handshake), 421
//! mid-session, long multi-line replies, garbage and overlong lines, 235 to AUTH before TLS,
//! VRFY/EXPN that answer. One thread per connection; every command received is recorded so
//! tests can assert what the client sent (no DATA).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What the fake does.
#[derive(Debug, Clone)]
pub struct Script {
    /// The greeting line(s), sent as they are (with CRLF added).
    pub greeting: Vec<String>,
    /// EHLO extension lines (after the first line).
    pub extensions: Vec<String>,
    /// Offer STARTTLS with this certificate (PEM key, PEM cert).
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// After STARTTLS, answer commands that arrived before the handshake (CVE-2011-0411).
    pub injectable: bool,
    /// Reply to AUTH (after the payloads).
    pub auth_reply: String,
    /// Reply to RCPT TO.
    pub rcpt_reply: String,
    /// Reply to MAIL FROM.
    pub mail_reply: String,
    /// Reply to VRFY.
    pub vrfy_reply: String,
    /// Reply to EXPN.
    pub expn_reply: String,
    /// After this many commands, answer 421 and close.
    pub close_421_after: Option<usize>,
    /// Offer STARTTLS, then answer any ClientHello with a ServerHello of the version it offered
    /// (a server that still accepts SSLv3, TLS 1.0 and 1.1), and close.
    pub legacy_accept: bool,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            greeting: vec!["220 fake.example.test ESMTP".into()],
            extensions: vec!["PIPELINING".into(), "8BITMIME".into()],
            tls: None,
            injectable: false,
            auth_reply: "535 5.7.8 Authentication failed".into(),
            rcpt_reply: "554 5.7.1 Relay access denied".into(),
            mail_reply: "250 2.1.0 Ok".into(),
            vrfy_reply: "502 5.5.1 VRFY command is disabled".into(),
            expn_reply: "502 5.5.2 Error: command not recognized".into(),
            close_421_after: None,
            legacy_accept: false,
        }
    }
}

/// A running fake; it stops accepting when dropped.
pub struct FakeSmtp {
    addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
}

impl FakeSmtp {
    /// Listen on 127.0.0.1:0 and serve `script` to every connection.
    pub fn start(script: Script) -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let commands = Arc::new(Mutex::new(Vec::new()));
        let seen = commands.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let script = script.clone();
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &script, &seen);
                });
            }
        });
        FakeSmtp { addr, commands }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every command line received, in order (AUTH payloads included, as sent).
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}

/// A self-signed EC certificate for `name`, made with openssl: (key PEM, cert PEM).
pub fn self_signed(dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>) {
    let key = dir.join("fake-key.pem");
    let cert = dir.join("fake-cert.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={name}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl req failed");
    (std::fs::read(key).unwrap(), std::fs::read(cert).unwrap())
}

trait Channel: Read + Write + Send {}
impl<T: Read + Write + Send> Channel for T {}

struct Conn {
    io: Box<dyn Channel>,
    buffer: Vec<u8>,
}

impl Conn {
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(String::from_utf8_lossy(&raw).trim_end().to_owned());
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    fn send(&mut self, text: &str) -> std::io::Result<()> {
        self.io.write_all(format!("{text}\r\n").as_bytes())?;
        self.io.flush()
    }
}

fn serve(stream: TcpStream, script: &Script, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let raw = stream.try_clone()?;
    let mut conn = Conn {
        io: Box::new(stream),
        buffer: Vec::new(),
    };
    for line in &script.greeting {
        conn.send(line)?;
    }
    if !script.greeting.last().is_some_and(|l| l.starts_with("220")) {
        return Ok(());
    }
    let mut raw = Some(raw);
    let mut in_tls = false;
    let mut count = 0;
    while let Some(line) = conn.line() {
        seen.lock().unwrap().push(line.clone());
        count += 1;
        if script.close_421_after.is_some_and(|n| count > n) {
            conn.send("421 4.3.2 Service shutting down, closing transmission channel")?;
            return Ok(());
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                let mut ext = script.extensions.clone();
                if (script.tls.is_some() || script.legacy_accept) && !in_tls {
                    ext.insert(0, "STARTTLS".into());
                }
                if !ext.is_empty() {
                    conn.send("250-fake.example.test")?;
                }
                for (i, e) in ext.iter().enumerate() {
                    let sep = if i + 1 == ext.len() { ' ' } else { '-' };
                    conn.send(&format!("250{sep}{e}"))?;
                }
                if ext.is_empty() {
                    conn.send("250 fake.example.test")?;
                }
            }
            "HELO" => conn.send("250 fake.example.test")?,
            "STARTTLS" if script.legacy_accept => {
                conn.send("220 2.0.0 Ready to start TLS")?;
                return echo_server_hello(&mut conn);
            }
            "STARTTLS" if script.tls.is_some() && !in_tls => {
                conn.send("220 2.0.0 Ready to start TLS")?;
                let pending = std::mem::take(&mut conn.buffer);
                let Some(tcp) = raw.take() else { return Ok(()) };
                let (key, cert) = script.tls.clone().unwrap();
                conn.io = Box::new(tls_server(tcp, &key, &cert)?);
                in_tls = true;
                if script.injectable {
                    // The bug: input read before the handshake is kept and answered inside TLS.
                    conn.buffer = pending;
                }
            }
            "AUTH" => {
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("AUTH LOGIN") {
                    conn.send("334 VXNlcm5hbWU6")?;
                    let user = conn.line().unwrap_or_default();
                    seen.lock().unwrap().push(user);
                    conn.send("334 UGFzc3dvcmQ6")?;
                    let pass = conn.line().unwrap_or_default();
                    seen.lock().unwrap().push(pass);
                }
                conn.send(&script.auth_reply)?;
            }
            "MAIL" => conn.send(&script.mail_reply)?,
            "RCPT" => conn.send(&script.rcpt_reply)?,
            "RSET" | "NOOP" => conn.send("250 2.0.0 Ok")?,
            "VRFY" => conn.send(&script.vrfy_reply)?,
            "EXPN" => conn.send(&script.expn_reply)?,
            "DATA" => conn.send("554 5.5.1 no DATA expected from a probe")?,
            "QUIT" => {
                conn.send("221 2.0.0 Bye")?;
                return Ok(());
            }
            _ => conn.send("502 5.5.2 Error: command not recognized")?,
        }
    }
    Ok(())
}

/// Read a ClientHello's first 11 bytes (record header, handshake header, client_version) and
/// answer a ServerHello with that version (RFC 5246 §7.4.1.3).
fn echo_server_hello(conn: &mut Conn) -> std::io::Result<()> {
    while conn.buffer.len() < 11 {
        let mut chunk = [0u8; 1024];
        let n = conn.io.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        conn.buffer.extend_from_slice(&chunk[..n]);
    }
    let version = [conn.buffer[9], conn.buffer[10]];
    let mut body = vec![version[0], version[1]];
    body.extend_from_slice(&[7u8; 32]);
    body.extend_from_slice(&[0, 0x00, 0x2f, 0]);
    let mut handshake = vec![2, 0, 0, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![22, version[0], version[1], 0, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    conn.io.write_all(&record)?;
    conn.io.flush()
}

fn tls_server(
    tcp: TcpStream,
    key: &[u8],
    cert: &[u8],
) -> std::io::Result<rustls::StreamOwned<rustls::ServerConnection, TcpStream>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(std::io::Error::other)?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(std::io::Error::other)?;
    let connection =
        rustls::ServerConnection::new(Arc::new(config)).map_err(std::io::Error::other)?;
    Ok(rustls::StreamOwned::new(connection, tcp))
}
