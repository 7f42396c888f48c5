//! A minimal HTTPS GET client for the MTA-STS policy fetch (RFC 8461 §3.3): one request over
//! TLS with full certificate verification (webpki-roots plus the caller's extra roots), to
//! addresses the caller resolved, with a timeout on the whole exchange and bounded reads.
//!
//! It deliberately does not follow redirects (§3.3 forbids it), does not pool connections, and
//! speaks only HTTP/1.1 with `Connection: close`. Bodies are read only for 2xx answers and never
//! past the caller's limit.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes of status line and headers read.
pub const MAX_HEAD: usize = 16 * 1024;

/// One request: where to connect and what to ask.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The host name: SNI, certificate name and `Host:`.
    pub host: &'a str,
    /// The addresses to try, in order.
    pub addresses: &'a [IpAddr],
    /// The TCP port (443 in production).
    pub port: u16,
    /// The path, starting with `/`.
    pub path: &'a str,
    /// Roots trusted besides webpki-roots.
    pub extra_roots: &'a [CertificateDer<'static>],
    /// Limit for the whole exchange, connect to last byte.
    pub timeout: Duration,
    /// The most body bytes accepted.
    pub max_body: usize,
    /// The time certificates are checked at, Unix seconds.
    pub now: i64,
}

/// A response. `body` is read only for 2xx statuses; otherwise it is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, after chunked decoding.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why the certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertProblem {
    /// Not valid for the host name.
    NameMismatch,
    /// Does not chain to a trusted root.
    Untrusted,
    /// Expired, or not yet valid.
    Expired,
    /// Revoked, wrong usage, unsupported or malformed.
    Other,
}

impl CertProblem {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            CertProblem::NameMismatch => "is not valid for the host name",
            CertProblem::Untrusted => "does not chain to a trusted root",
            CertProblem::Expired => "is expired or not yet valid",
            CertProblem::Other => "was refused",
        }
    }
}

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpsError {
    /// No address to connect to.
    #[error("{host} has no address to connect to")]
    NoAddress {
        /// The host.
        host: String,
    },
    /// TCP connect failed at every address.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// The operating system's error.
        reason: String,
    },
    /// The exchange took longer than the timeout.
    #[error("no complete answer from {host} within {seconds}s")]
    Timeout {
        /// The host.
        host: String,
        /// The timeout.
        seconds: u64,
    },
    /// The server's certificate was refused.
    #[error("the certificate of {host} {}: {detail}", .problem.describe())]
    Certificate {
        /// The host.
        host: String,
        /// Why, in short.
        problem: CertProblem,
        /// What the verifier said.
        detail: String,
    },
    /// The TLS handshake or connection failed for another reason.
    #[error("TLS with {host} failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer is not HTTP/1.x, or its framing is broken.
    #[error("malformed HTTP answer from {host}: {reason}")]
    Malformed {
        /// The host.
        host: String,
        /// What is wrong.
        reason: String,
    },
    /// The body is larger than the limit; reading stopped there.
    #[error("the body from {host} is larger than {limit} bytes")]
    TooLarge {
        /// The host.
        host: String,
        /// The limit.
        limit: usize,
    },
    /// One of the extra roots is not a usable trust anchor.
    #[error("extra root certificate #{index} cannot be used: {reason}")]
    BadRoot {
        /// Its position, from 1.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// GET `request.path` from `request.host` over HTTPS.
pub async fn get(request: &Request<'_>) -> Result<Response, HttpsError> {
    let seconds = request.timeout.as_secs();
    match tokio::time::timeout(request.timeout, exchange(request)).await {
        Ok(result) => result,
        Err(_) => Err(HttpsError::Timeout {
            host: request.host.to_string(),
            seconds,
        }),
    }
}

async fn exchange(request: &Request<'_>) -> Result<Response, HttpsError> {
    let config = client_config(request.extra_roots, request.now)?;
    let tcp = connect(request).await?;
    let name = ServerName::try_from(request.host.to_string()).map_err(|e| HttpsError::Tls {
        host: request.host.to_string(),
        reason: e.to_string(),
    })?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(request.host, &e))?;
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mailauth\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
        request.path, request.host
    );
    tls.write_all(head.as_bytes())
        .await
        .map_err(|e| tls_error(request.host, &e))?;
    read_response(&mut tls, request.host, request.max_body).await
}

async fn connect(request: &Request<'_>) -> Result<TcpStream, HttpsError> {
    let mut last = None;
    for ip in request.addresses {
        let addr = SocketAddr::new(*ip, request.port);
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => {
                last = Some(HttpsError::Connect {
                    addr,
                    reason: e.to_string(),
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| HttpsError::NoAddress {
        host: request.host.to_string(),
    }))
}

/// Sort a handshake or I/O failure: a refused certificate gets its own variant.
fn tls_error(host: &str, error: &std::io::Error) -> HttpsError {
    let inner = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => HttpsError::Certificate {
            host: host.to_string(),
            problem: classify(cert),
            detail: cert.to_string(),
        },
        Some(other) => HttpsError::Tls {
            host: host.to_string(),
            reason: other.to_string(),
        },
        None => HttpsError::Tls {
            host: host.to_string(),
            reason: error.to_string(),
        },
    }
}

fn classify(error: &CertificateError) -> CertProblem {
    match error {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            CertProblem::NameMismatch
        }
        CertificateError::UnknownIssuer | CertificateError::BadSignature => CertProblem::Untrusted,
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => CertProblem::Expired,
        _ => CertProblem::Other,
    }
}

/// A failure of this machine's TLS set-up (not of the server).
fn local(error: impl std::fmt::Display) -> HttpsError {
    HttpsError::Tls {
        host: "local configuration".into(),
        reason: error.to_string(),
    }
}

/// A client that verifies with rustls's WebPKI verifier (webpki-roots plus `extra_roots`) at
/// time `now`.
fn client_config(
    extra_roots: &[CertificateDer<'static>],
    now: i64,
) -> Result<Arc<rustls::ClientConfig>, HttpsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (i, root) in extra_roots.iter().enumerate() {
        roots.add(root.clone()).map_err(|e| HttpsError::BadRoot {
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(local)?;
    let verifier = Arc::new(AtTime {
        inner: webpki,
        now: UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0))),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(local)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// rustls's WebPKI verifier, asked at the caller's `now` instead of the clock (so a check run
/// "as of" a time is consistent, and tests can move time). Every decision is the inner one's.
#[derive(Debug)]
struct AtTime {
    inner: Arc<WebPkiServerVerifier>,
    now: UnixTime,
}

impl ServerCertVerifier for AtTime {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            self.now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Read status line, headers and (for 2xx) the body.
async fn read_response<R: AsyncRead + Unpin>(
    stream: &mut R,
    host: &str,
    max_body: usize,
) -> Result<Response, HttpsError> {
    let malformed = |reason: &str| HttpsError::Malformed {
        host: host.to_string(),
        reason: reason.to_string(),
    };
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD {
            return Err(malformed("the headers are longer than 16 KiB"));
        }
        if read_some(stream, &mut buffer, host).await? == 0 {
            return Err(malformed("the connection closed before the headers ended"));
        }
    };
    let head = std::str::from_utf8(&buffer[..head_end])
        .map_err(|_| malformed("the headers are not ASCII"))?;
    let (status, headers) =
        parse_head(head).ok_or_else(|| malformed("bad status line or header"))?;
    let rest = buffer[head_end + 4..].to_vec();
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if (200..300).contains(&status) {
        response.body = read_body(stream, &response, rest, host, max_body).await?;
    }
    Ok(response)
}

fn parse_head(head: &str) -> Option<(u16, Vec<(String, String)>)> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    let status: u16 = code.parse().ok()?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.is_empty() || name.contains([' ', '\t']) {
            return None;
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Some((status, headers))
}

async fn read_body<R: AsyncRead + Unpin>(
    stream: &mut R,
    response: &Response,
    mut buffer: Vec<u8>,
    host: &str,
    max_body: usize,
) -> Result<Vec<u8>, HttpsError> {
    let too_large = || HttpsError::TooLarge {
        host: host.to_string(),
        limit: max_body,
    };
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(stream, buffer, host, max_body).await;
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().map_err(|_| HttpsError::Malformed {
            host: host.to_string(),
            reason: format!("Content-Length {length:?} is not a number"),
        })?;
        if length > max_body {
            return Err(too_large());
        }
        while buffer.len() < length {
            if read_some(stream, &mut buffer, host).await? == 0 {
                return Err(HttpsError::Malformed {
                    host: host.to_string(),
                    reason: format!("the body ended after {} of {length} bytes", buffer.len()),
                });
            }
        }
        buffer.truncate(length);
        return Ok(buffer);
    }
    // Delimited by the end of the connection.
    loop {
        if buffer.len() > max_body {
            return Err(too_large());
        }
        if read_some(stream, &mut buffer, host).await? == 0 {
            return Ok(buffer);
        }
    }
}

/// Decode `Transfer-Encoding: chunked` (RFC 9112 §7.1), stopping as soon as the decoded size
/// passes `max_body`. Trailers are read and dropped.
async fn read_chunked<R: AsyncRead + Unpin>(
    stream: &mut R,
    mut raw: Vec<u8>,
    host: &str,
    max_body: usize,
) -> Result<Vec<u8>, HttpsError> {
    let malformed = |reason: &str| HttpsError::Malformed {
        host: host.to_string(),
        reason: reason.to_string(),
    };
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(end) = find(&raw, b"\r\n") {
                break end;
            }
            if raw.len() > 1024 {
                return Err(malformed("a chunk size line is too long"));
            }
            if read_some(stream, &mut raw, host).await? == 0 {
                return Err(malformed("the chunked body ended early"));
            }
        };
        let line =
            std::str::from_utf8(&raw[..line_end]).map_err(|_| malformed("bad chunk size"))?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| malformed("bad chunk size"))?;
        raw.drain(..line_end + 2);
        if size == 0 {
            return Ok(body);
        }
        if body.len().saturating_add(size) > max_body {
            return Err(HttpsError::TooLarge {
                host: host.to_string(),
                limit: max_body,
            });
        }
        while raw.len() < size + 2 {
            if read_some(stream, &mut raw, host).await? == 0 {
                return Err(malformed("the chunked body ended early"));
            }
        }
        if &raw[size..size + 2] != b"\r\n" {
            return Err(malformed("a chunk does not end in CRLF"));
        }
        body.extend_from_slice(&raw[..size]);
        raw.drain(..size + 2);
    }
}

/// Read up to 8 KiB more into `buffer`; 0 at the end of the stream. A TLS close without
/// close_notify counts as the end, as browsers treat it.
async fn read_some<R: AsyncRead + Unpin>(
    stream: &mut R,
    buffer: &mut Vec<u8>,
    host: &str,
) -> Result<usize, HttpsError> {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(tls_error(host, &e)),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(raw: &[u8], max: usize) -> Result<Response, HttpsError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut stream = raw;
        rt.block_on(read_response(&mut stream, "h", max))
    }

    #[test]
    fn content_length_chunked_and_close_delimited_bodies() {
        let r = response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", 10).unwrap();
        assert_eq!(r.body, b"abc");
        let r = response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
            10,
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = response(
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nxyz",
            10,
        )
        .unwrap();
        assert_eq!(r.body, b"xyz");
        assert_eq!(r.header("content-type"), Some("text/plain"));
    }

    #[test]
    fn bodies_over_the_limit_are_refused() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\n0123456789A",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n",
        ] {
            assert!(matches!(
                response(raw, 10),
                Err(HttpsError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn non_2xx_bodies_are_not_read_and_garbage_is_malformed() {
        let r = response(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", 10).unwrap();
        assert_eq!((r.status, r.header("location")), (301, Some("/x")));
        assert!(matches!(
            response(b"SSH-2.0-OpenSSH\r\n\r\n", 10),
            Err(HttpsError::Malformed { .. })
        ));
        assert!(matches!(
            response(b"HTTP/1.1 200 OK\r\n", 10),
            Err(HttpsError::Malformed { .. })
        ));
    }
}
