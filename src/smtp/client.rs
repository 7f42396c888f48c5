//! An SMTP client session on tokio, just enough of RFC 5321 to probe a server: connect (bound to a
//! chosen source address), greeting, EHLO/HELO, multi-line replies, STARTTLS (RFC 3207) and
//! implicit TLS, AUTH PLAIN/LOGIN (RFC 4616, RFC 4954), MAIL/RCPT/RSET/VRFY/EXPN/QUIT.
//!
//! Every line sent and received goes into a [`Transcript`] with AUTH payloads masked, so
//! passwords appear nowhere. Every read has the per-command timeout and input is bounded (line
//! length and lines per reply), so a hostile server cannot make the probe hang or grow without
//! limit. A `421` reply ends the session as [`SmtpError::Closing`]. This module decides nothing
//! about what replies mean for security; `checks` and `relay` do.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;

use super::SmtpError;
use super::cert;

/// Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512 octets; servers exceed it a little).
const MAX_LINE: usize = 4096;
/// Most lines in one multi-line reply (an EHLO reply has a dozen or so).
const MAX_REPLY_LINES: usize = 100;

/// One SMTP reply: the code and the text of each line (without the code and separator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Three-digit reply code.
    pub code: u16,
    /// Text of each line, in order.
    pub lines: Vec<String>,
}

/// What a reply code means for the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// 2xx: done.
    Accepted,
    /// 3xx: go on (334 AUTH challenge, 354 DATA).
    Continue,
    /// 530: authentication required first.
    AuthRequired,
    /// 421: the server is closing the session.
    Closing,
    /// Other 4xx (450, 451, 454...): refused for now.
    Deferred,
    /// 5xx (550, 553, 554...): refused.
    Denied,
    /// Not a code RFC 5321 defines.
    Unknown,
}

impl Reply {
    /// Decode the code (RFC 5321 §4.2.1).
    pub fn kind(&self) -> ReplyKind {
        match self.code {
            200..=299 => ReplyKind::Accepted,
            300..=399 => ReplyKind::Continue,
            421 => ReplyKind::Closing,
            530 => ReplyKind::AuthRequired,
            400..=499 => ReplyKind::Deferred,
            500..=599 => ReplyKind::Denied,
            _ => ReplyKind::Unknown,
        }
    }

    /// True for 2xx.
    pub fn is_positive(&self) -> bool {
        self.kind() == ReplyKind::Accepted
    }

    /// The reply as one line: "554 5.7.1 text" (lines after the first joined with " / ").
    pub fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
            .trim_end()
            .to_owned()
    }

    /// The first line's first word: the server's name in a greeting or EHLO reply.
    pub fn first_word(&self) -> Option<&str> {
        self.lines.first()?.split_whitespace().next()
    }
}

/// Every line of a dialogue, `C: ` for the client and `S: ` for the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The lines, in order.
    pub lines: Vec<String>,
}

impl Transcript {
    fn client(&mut self, line: &str) {
        self.lines.push(format!("C: {line}"));
    }

    fn server(&mut self, line: &str) {
        self.lines.push(format!("S: {line}"));
    }

    /// A note that is not protocol traffic (connection opened, TLS established).
    pub fn note(&mut self, text: &str) {
        self.lines.push(format!("-- {text}"));
    }
}

/// How to reach the server and how long to wait.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Server address and port.
    pub addr: SocketAddr,
    /// The name the client expects the server to have (SNI and certificate check).
    pub host: String,
    /// Local address to bind, so the probe comes from outside the server's trusted networks.
    pub source_ip: Option<IpAddr>,
    /// Connect timeout and per-command timeout.
    pub timeout: Duration,
}

impl Endpoint {
    /// `host:port` for messages.
    pub fn label(&self) -> String {
        format!("{}:{}", self.host, self.addr.port())
    }
}

/// What the TLS handshake negotiated.
#[derive(Debug, Clone)]
pub struct TlsDetails {
    /// "TLSv1.3" or "TLSv1.2".
    pub version: String,
    /// The rustls name of the cipher suite.
    pub cipher: String,
    /// The server's certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while the stream is being upgraded.
    Gone,
}

/// One SMTP session.
pub struct Session {
    stream: Stream,
    buffer: Vec<u8>,
    endpoint: Endpoint,
    /// Everything said so far.
    pub transcript: Transcript,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Open a TCP connection to the endpoint, bound to its source address if any.
pub async fn connect_tcp(endpoint: &Endpoint) -> Result<TcpStream, SmtpError> {
    let unreachable = |reason: String| SmtpError::Connect {
        target: endpoint.addr.to_string(),
        reason,
    };
    let socket = if endpoint.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| unreachable(e.to_string()))?;
    if let Some(source) = endpoint.source_ip {
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| SmtpError::SourceAddress {
                source_ip: source,
                reason: e.to_string(),
            })?;
    }
    match tokio::time::timeout(endpoint.timeout, socket.connect(endpoint.addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!(
            "no answer within {}s",
            endpoint.timeout.as_secs()
        ))),
    }
}

/// The rustls client configuration: TLS 1.2 and 1.3, and a verifier that lets the handshake
/// finish whatever the certificate so it can be reported on (the verdict comes from
/// `cert::examine`).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, SmtpError> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SmtpError::Tls {
        target: "local configuration".into(),
        reason: e.to_string(),
    })?
    .dangerous()
    .with_custom_certificate_verifier(cert::recording_verifier())
    .with_no_client_auth();
    Ok(Arc::new(config))
}

fn server_name(host: &str, addr: IpAddr) -> ServerName<'static> {
    match ServerName::try_from(host.to_owned()) {
        Ok(name) => name,
        Err(_) => ServerName::IpAddress(addr.into()),
    }
}

async fn handshake(endpoint: &Endpoint, tcp: TcpStream) -> Result<TlsStream<TcpStream>, SmtpError> {
    let connector = tokio_rustls::TlsConnector::from(tls_config()?);
    let name = server_name(&endpoint.host, endpoint.addr.ip());
    match tokio::time::timeout(endpoint.timeout, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => Ok(tls),
        Ok(Err(e)) => Err(SmtpError::Tls {
            target: endpoint.label(),
            reason: e.to_string(),
        }),
        Err(_) => Err(SmtpError::Timeout {
            target: endpoint.label(),
            waiting_for: "the TLS handshake".into(),
        }),
    }
}

fn tls_details(tls: &TlsStream<TcpStream>) -> TlsDetails {
    let connection = tls.get_ref().1;
    let version = match connection.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    let cipher = connection
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let chain = connection
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
        .unwrap_or_default();
    TlsDetails {
        version,
        cipher,
        chain,
    }
}

impl Session {
    /// Connect in plaintext (ports 25 and 587); the greeting is not read yet.
    pub async fn connect(endpoint: &Endpoint) -> Result<Session, SmtpError> {
        let tcp = connect_tcp(endpoint).await?;
        let mut transcript = Transcript::default();
        transcript.note(&format!("connected to {}", endpoint.addr));
        Ok(Session {
            stream: Stream::Plain(tcp),
            buffer: Vec::new(),
            endpoint: endpoint.clone(),
            transcript,
        })
    }

    /// Connect with implicit TLS (port 465, RFC 8314 §3.3); the greeting is not read yet.
    pub async fn connect_tls(endpoint: &Endpoint) -> Result<(Session, TlsDetails), SmtpError> {
        let tcp = connect_tcp(endpoint).await?;
        let tls = handshake(endpoint, tcp).await?;
        let details = tls_details(&tls);
        let mut transcript = Transcript::default();
        transcript.note(&format!(
            "connected to {} with implicit TLS ({} {})",
            endpoint.addr, details.version, details.cipher
        ));
        Ok((
            Session {
                stream: Stream::Tls(Box::new(tls)),
                buffer: Vec::new(),
                endpoint: endpoint.clone(),
                transcript,
            },
            details,
        ))
    }

    /// The endpoint of this session.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Read the 220 greeting. A 554 or 421 greeting (RFC 5321 §3.1) is an error.
    pub async fn greeting(&mut self) -> Result<Reply, SmtpError> {
        let reply = self.read_reply("the 220 greeting").await?;
        if reply.code != 220 {
            return Err(SmtpError::Refused {
                target: self.endpoint.label(),
                reply: reply.text(),
            });
        }
        Ok(reply)
    }

    /// EHLO, falling back to HELO on a 5xx (RFC 5321 §4.1.1.1); the reply and the extension
    /// keywords with their parameters ("AUTH PLAIN LOGIN").
    pub async fn ehlo(&mut self, name: &str) -> Result<(Reply, Vec<String>), SmtpError> {
        let reply = self.command(&format!("EHLO {name}")).await?;
        if reply.is_positive() {
            let extensions = reply
                .lines
                .iter()
                .skip(1)
                .map(|l| l.trim().to_owned())
                .collect();
            return Ok((reply, extensions));
        }
        let helo = self.command(&format!("HELO {name}")).await?;
        if helo.is_positive() {
            return Ok((helo, Vec::new()));
        }
        Err(SmtpError::Refused {
            target: self.endpoint.label(),
            reply: helo.text(),
        })
    }

    /// Send one command line and read its reply.
    pub async fn command(&mut self, line: &str) -> Result<Reply, SmtpError> {
        self.transcript.client(line);
        self.write_raw(format!("{line}\r\n").as_bytes()).await?;
        self.read_reply(line).await
    }

    /// Send a line whose content is secret (an AUTH payload): the transcript shows `shown`.
    async fn secret_command(&mut self, line: &str, shown: &str) -> Result<Reply, SmtpError> {
        self.transcript.client(shown);
        self.write_raw(format!("{line}\r\n").as_bytes()).await?;
        self.read_reply(shown).await
    }

    /// Write bytes as they are (for pipelining tests); the caller records them.
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), SmtpError> {
        let result = match &mut self.stream {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => match s.write_all(bytes).await {
                Ok(()) => s.flush().await,
                Err(e) => Err(e),
            },
            Stream::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        };
        result.map_err(|e| self.io_error(e))
    }

    /// Record a line the caller wrote with [`Session::write_raw`].
    pub fn record_sent(&mut self, line: &str) {
        self.transcript.client(line);
    }

    fn io_error(&self, e: std::io::Error) -> SmtpError {
        SmtpError::Io {
            target: self.endpoint.label(),
            reason: e.to_string(),
        }
    }

    async fn fill(&mut self) -> Result<usize, std::io::Error> {
        let mut chunk = [0u8; 4096];
        let n = match &mut self.stream {
            Stream::Plain(s) => s.read(&mut chunk).await?,
            Stream::Tls(s) => s.read(&mut chunk).await?,
            Stream::Gone => return Err(std::io::ErrorKind::NotConnected.into()),
        };
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// One line, without CR LF, within the per-command timeout.
    async fn read_line(&mut self, waiting_for: &str) -> Result<String, SmtpError> {
        let deadline = tokio::time::Instant::now() + self.endpoint.timeout;
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buffer.drain(..=end).collect();
                let text = String::from_utf8_lossy(&raw);
                return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.buffer.len() > MAX_LINE {
                return Err(SmtpError::Protocol {
                    target: self.endpoint.label(),
                    reason: format!("a reply line longer than {MAX_LINE} bytes"),
                });
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Ok(Ok(0)) => {
                    return Err(SmtpError::Closed {
                        target: self.endpoint.label(),
                        waiting_for: waiting_for.to_owned(),
                    });
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.io_error(e)),
                Err(_) => {
                    return Err(SmtpError::Timeout {
                        target: self.endpoint.label(),
                        waiting_for: waiting_for.to_owned(),
                    });
                }
            }
        }
    }

    /// A whole reply (RFC 5321 §4.2: `ddd-text` continues, `ddd text` ends). A 421 ends the
    /// session.
    pub async fn read_reply(&mut self, waiting_for: &str) -> Result<Reply, SmtpError> {
        let mut lines = Vec::new();
        let mut code = 0;
        loop {
            let line = self.read_line(waiting_for).await?;
            self.transcript.server(&line);
            let (this_code, last, text) =
                parse_reply_line(&line).ok_or_else(|| SmtpError::Protocol {
                    target: self.endpoint.label(),
                    reason: format!("not an SMTP reply line: {:?}", truncate(&line, 80)),
                })?;
            if !lines.is_empty() && this_code != code {
                return Err(SmtpError::Protocol {
                    target: self.endpoint.label(),
                    reason: format!("reply code changed inside a multi-line reply: {line:?}"),
                });
            }
            code = this_code;
            lines.push(text.to_owned());
            if last {
                break;
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(SmtpError::Protocol {
                    target: self.endpoint.label(),
                    reason: format!("a reply of more than {MAX_REPLY_LINES} lines"),
                });
            }
        }
        let reply = Reply { code, lines };
        if reply.kind() == ReplyKind::Closing {
            return Err(SmtpError::Closing {
                target: self.endpoint.label(),
                reply: reply.text(),
            });
        }
        Ok(reply)
    }

    /// Bytes received but not yet read as a reply.
    pub fn pending_input(&self) -> usize {
        self.buffer.len()
    }

    /// Wait up to `wait` for a reply the client did not ask for; `None` if nothing came.
    pub async fn unsolicited_reply(&mut self, wait: Duration) -> Result<Option<Reply>, SmtpError> {
        if self.buffer.is_empty() {
            match tokio::time::timeout(wait, self.fill()).await {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => return Ok(None),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.io_error(e)),
            }
        }
        self.read_reply("an unsolicited reply").await.map(Some)
    }

    /// Upgrade after a 220 reply to STARTTLS: TLS handshake on the same connection. Input the
    /// server sent after its 220 would be plaintext injected into the TLS session, so it is an
    /// error here.
    pub async fn upgrade(&mut self) -> Result<TlsDetails, SmtpError> {
        if !self.buffer.is_empty() {
            return Err(SmtpError::Protocol {
                target: self.endpoint.label(),
                reason: "the server sent more after its 220 reply to STARTTLS".into(),
            });
        }
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(SmtpError::Protocol {
                target: self.endpoint.label(),
                reason: "STARTTLS on a session that is already encrypted".into(),
            });
        };
        let tls = handshake(&self.endpoint, tcp).await?;
        let details = tls_details(&tls);
        self.transcript.note(&format!(
            "TLS established: {} {}",
            details.version, details.cipher
        ));
        self.stream = Stream::Tls(Box::new(tls));
        Ok(details)
    }

    /// STARTTLS then the handshake (RFC 3207 §4); the reply when it was not 220.
    pub async fn starttls(&mut self) -> Result<Result<TlsDetails, Reply>, SmtpError> {
        let reply = self.command("STARTTLS").await?;
        if reply.code != 220 {
            return Ok(Err(reply));
        }
        self.upgrade().await.map(Ok)
    }

    /// Hand over the plaintext TCP stream (for a raw legacy ClientHello after STARTTLS).
    pub fn into_tcp(self) -> Option<TcpStream> {
        match self.stream {
            Stream::Plain(tcp) if self.buffer.is_empty() => Some(tcp),
            _ => None,
        }
    }

    /// AUTH with PLAIN (RFC 4616) if offered, else LOGIN; the final reply. Payloads are masked
    /// in the transcript.
    pub async fn auth(
        &mut self,
        mechanisms: &[String],
        user: &str,
        password: &str,
    ) -> Result<Reply, SmtpError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        if mechanisms.iter().any(|m| m.eq_ignore_ascii_case("PLAIN")) || mechanisms.is_empty() {
            let payload = b64.encode(format!("\0{user}\0{password}"));
            return self
                .secret_command(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN ***")
                .await;
        }
        let reply = self.command("AUTH LOGIN").await?;
        if reply.code != 334 {
            return Ok(reply);
        }
        let reply = self.secret_command(&b64.encode(user), "***").await?;
        if reply.code != 334 {
            return Ok(reply);
        }
        self.secret_command(&b64.encode(password), "***").await
    }

    /// QUIT, ignoring what follows: the probe is done with this server.
    pub async fn quit(mut self) -> Transcript {
        let _ = self.command("QUIT").await;
        self.transcript
    }
}

/// Split a reply line into code, "is last line", text. `None` if it is not `ddd[ -]text` or
/// `ddd`.
pub fn parse_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code: u16 = line.get(..3)?.parse().ok()?;
    match bytes.get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, line.get(4..)?)),
        Some(b'-') => Some((code, false, line.get(4..)?)),
        Some(_) => None,
    }
}

/// The AUTH mechanisms of an EHLO reply's extensions (RFC 4954 §3), upper-cased.
pub fn auth_mechanisms(extensions: &[String]) -> Vec<String> {
    extensions
        .iter()
        .filter_map(|e| {
            let mut words = e.split_whitespace();
            let keyword = words.next()?;
            // "AUTH=LOGIN PLAIN" is an old non-standard form some servers still send.
            let rest: Vec<String> = if keyword.eq_ignore_ascii_case("AUTH") {
                words.map(str::to_ascii_uppercase).collect()
            } else if let Some(first) = keyword
                .get(..5)
                .filter(|k| k.eq_ignore_ascii_case("AUTH="))
                .and_then(|_| keyword.get(5..))
            {
                std::iter::once(first)
                    .chain(words)
                    .map(str::to_ascii_uppercase)
                    .collect()
            } else {
                return None;
            };
            Some(rest)
        })
        .flatten()
        .fold(Vec::new(), |mut all, m| {
            if !all.contains(&m) {
                all.push(m);
            }
            all
        })
}

/// True if the extensions include `keyword` (case-insensitive, RFC 5321 §2.4).
pub fn has_extension(extensions: &[String], keyword: &str) -> bool {
    extensions.iter().any(|e| {
        e.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    })
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5321 §4.2: "ddd-" continues a reply, "ddd " or "ddd" ends it.
    #[test]
    fn rfc5321_4_2_reply_line_forms() {
        assert_eq!(
            parse_reply_line("250-PIPELINING"),
            Some((250, false, "PIPELINING"))
        );
        assert_eq!(parse_reply_line("250 OK"), Some((250, true, "OK")));
        assert_eq!(parse_reply_line("250"), Some((250, true, "")));
        assert_eq!(parse_reply_line("25O ok"), None);
        assert_eq!(parse_reply_line("250+x"), None);
    }

    /// RFC 4954 §3: the AUTH keyword lists mechanisms; the old `AUTH=` form is read too.
    #[test]
    fn rfc4954_3_auth_mechanisms_from_ehlo() {
        let ext = vec![
            "PIPELINING".to_owned(),
            "AUTH PLAIN login".to_owned(),
            "AUTH=LOGIN ANONYMOUS".to_owned(),
        ];
        assert_eq!(auth_mechanisms(&ext), ["PLAIN", "LOGIN", "ANONYMOUS"]);
        assert!(has_extension(&ext, "pipelining"));
        assert!(!has_extension(&ext, "STARTTLS"));
    }

    #[test]
    fn reply_codes_decoded() {
        let kind = |code| {
            Reply {
                code,
                lines: vec![],
            }
            .kind()
        };
        assert_eq!(kind(250), ReplyKind::Accepted);
        assert_eq!(kind(554), ReplyKind::Denied);
        assert_eq!(kind(454), ReplyKind::Deferred);
        assert_eq!(kind(530), ReplyKind::AuthRequired);
        assert_eq!(kind(421), ReplyKind::Closing);
        assert_eq!(kind(334), ReplyKind::Continue);
    }
}
