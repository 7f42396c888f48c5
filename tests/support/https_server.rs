//! An in-process HTTPS server on 127.0.0.1:0 (tokio-rustls) for the MTA-STS policy fetch, and a
//! throwaway PKI made with the openssl CLI: a test CA, server certificates it issues for the
//! names asked, and a second, untrusted CA. Each host name (the `Host:` header) gets its own
//! configured reply: status, headers, body, chunked or not, delayed or not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::mail_tls::run_ok;

/// A CA made in a directory, able to issue server certificates.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate (PEM), to pass with `--ca`.
    pub cert: PathBuf,
    key: PathBuf,
    dir: PathBuf,
}

/// A server certificate and its key (PEM files).
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The certificate.
    pub cert: PathBuf,
    /// The PKCS#8 key.
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name` in `dir` (EC P-256, valid for a year from now).
    pub fn new(dir: &Path, name: &str) -> TestCa {
        std::fs::create_dir_all(dir).expect("create the CA directory");
        let ca = TestCa {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
            dir: dir.to_path_buf(),
        };
        run_ok(
            Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "365"])
                .args(["-subj", &format!("/CN={name}")])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .arg("-keyout")
                .arg(&ca.key)
                .arg("-out")
                .arg(&ca.cert),
        );
        ca
    }

    /// Issue a server certificate (serverAuth, SAN DNS names `names`) named `file` in the CA's
    /// directory, valid for `days` days from now.
    pub fn issue(&self, file: &str, names: &[&str], days: u32) -> ServerCert {
        let out = ServerCert {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
        };
        let csr = self.dir.join(format!("{file}.csr"));
        let ext = self.dir.join(format!("{file}.ext"));
        run_ok(
            Command::new("openssl")
                .args([
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                ])
                .args(["-nodes", "-subj", &format!("/CN={}", names[0])])
                .arg("-keyout")
                .arg(&out.key)
                .arg("-out")
                .arg(&csr),
        );
        let san: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        std::fs::write(
            &ext,
            format!(
                "subjectAltName = {}\nbasicConstraints = critical,CA:FALSE\n\
                 keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n",
                san.join(",")
            ),
        )
        .expect("write the extensions file");
        run_ok(
            Command::new("openssl")
                .args([
                    "x509",
                    "-req",
                    "-days",
                    &days.to_string(),
                    "-CAcreateserial",
                ])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(&self.cert)
                .arg("-CAkey")
                .arg(&self.key)
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&out.cert),
        );
        out
    }
}

/// What the server answers for one host.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers besides the framing ones.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Send the body chunked instead of with Content-Length.
    pub chunked: bool,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    /// 200 with `Content-Type: text/plain` and `body`.
    pub fn policy(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            chunked: false,
            delay: None,
        }
    }

    /// A status with no body.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        Reply {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            chunked: false,
            delay: None,
        }
    }
}

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct HttpsServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpsServer {
    /// Serve `replies` (by lower-case host name; others get 404) with `cert`.
    pub fn start(cert: &ServerCert, replies: HashMap<String, Reply>) -> HttpsServer {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert.cert)
            .expect("read the server certificate")
            .collect::<Result<_, _>>()
            .expect("parse the server certificate");
        let key = PrivateKeyDer::from_pem_file(&cert.key).expect("read the server key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate and key");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("local address").port();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let replies = Arc::new(replies);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(serve(listener, acceptor, replies, stopped));
        });
        HttpsServer {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    replies: Arc<HashMap<String, Reply>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let replies = replies.clone();
                tokio::spawn(async move {
                    // A client refusing the certificate ends the handshake: nothing to answer.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = answer(tls, &replies).await;
                    }
                });
            }
        }
    }
}

async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    replies: &HashMap<String, Reply>,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let host = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("host")
                .then(|| value.trim().to_ascii_lowercase())
        })
        .unwrap_or_default();
    let reply = replies
        .get(&host)
        .cloned()
        .unwrap_or_else(|| Reply::status(404, &[]));
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        for chunk in reply.body.chunks(1000) {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await?;
        }
        stream.write_all(b"0\r\n\r\n").await?;
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&reply.body).await?;
    }
    stream.shutdown().await
}
