//! A fault-injecting HTTP proxy for provider tests: it listens on 127.0.0.1:0 in front of any
//! HTTP backend (the Cloudflare fake, a real pdns_server), forwards every request unchanged
//! (one request per connection, answered with `Connection: close`) and, when a scripted rule
//! matches, answers with a [`Fault`] instead: a rate limit, a server error, no answer at all, an
//! answer cut off or reset mid-body, a body that is not JSON, or a success the backend never
//! saw. Rules match by method and path prefix and fire on the Nth matching request (counted
//! from when the rule was added), or on every one.
//!
//! ```ignore
//! let proxy = FaultProxy::start(fake_addr);
//! proxy.inject("POST", "/client/v4/zones/", 1, Fault::ServerError(503));
//! let provider = Cloudflare::new(Some(&proxy.url("/client/v4")), TOKEN.into())?;
//! // ... the first POST gets 503, everything else reaches the fake.
//! proxy.clear(); // the fault is gone: a rerun converges
//! ```
//!
//! The API is used by other test modules (rotation under faults); keep it small and stable.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to a request a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, with `Retry-After: SECONDS` when given; not forwarded.
    TooManyRequests {
        /// The `Retry-After` value in seconds, or no header.
        retry_after: Option<u64>,
    },
    /// This HTTP status (e.g. 500, 502, 503) with a small JSON error body; not forwarded.
    ServerError(u16),
    /// Read the request, never forward it, never answer: the client times out after sending.
    /// The connection is held open until [`FaultProxy::clear`] or the proxy is dropped.
    NoAnswer,
    /// Forward the request (the backend applies it) but never answer the client: the change
    /// is made and the client times out.
    LoseAnswer,
    /// Forward, send the answer's status line, headers and half its body, then reset the
    /// connection (TCP RST).
    ResetMidBody,
    /// Forward, send the answer with its full `Content-Length` but only half the body, then
    /// close the connection normally.
    TruncatedBody,
    /// Do not forward; answer `200 OK` with an HTML page (a gateway's error page) instead of
    /// the backend's JSON.
    NotJson,
    /// Do not forward; answer this status and body, as if the change had been made (e.g. 204
    /// for PowerDNS, `{"success":true,...}` for Cloudflare).
    FakeSuccess {
        /// The status to answer.
        status: u16,
        /// The body (sent as `application/json`; empty for none).
        body: String,
    },
}

/// One scripted rule.
#[derive(Debug, Clone)]
struct Rule {
    method: String,
    path_prefix: String,
    /// Fire on this matching request (1-based); 0 = every matching request.
    nth: usize,
    seen: usize,
    fault: Fault,
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The fault it got, or `None` when it was forwarded untouched.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct Script {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    /// Connections held open by [`Fault::NoAnswer`] and [`Fault::LoseAnswer`].
    held: Vec<TcpStream>,
}

/// A running proxy. Dropping it stops accepting and closes held connections.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FaultProxy {
    /// Proxy to `upstream` (an HTTP server on loopback), listening on 127.0.0.1:0.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = Arc::downgrade(&script);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // The proxy was dropped: stop (the listener closes with this thread).
                let Some(script) = shared.upgrade() else {
                    return;
                };
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, &script);
                });
            }
        });
        FaultProxy { addr, script }
    }

    /// Proxy to the host and port of `url` (`http://127.0.0.1:PORT/...`).
    pub fn in_front_of(url: &str) -> FaultProxy {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let host = rest.split('/').next().unwrap_or(rest);
        FaultProxy::start(host.parse().expect("IP:PORT in the URL"))
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` followed by `path` (e.g. `/client/v4`): the base URL to give a provider.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The Nth request (1-based, counted from now) with `method` (`*` for any) whose target
    /// starts with `path_prefix` gets `fault`; the rules are checked in the order added.
    pub fn inject(&self, method: &str, path_prefix: &str, nth: usize, fault: Fault) {
        assert!(
            nth > 0,
            "nth counts from 1 (use inject_every for every request)"
        );
        self.add(method, path_prefix, nth, fault);
    }

    /// Every request with `method` (`*` for any) whose target starts with `path_prefix` gets
    /// `fault`, until [`FaultProxy::clear`].
    pub fn inject_every(&self, method: &str, path_prefix: &str, fault: Fault) {
        self.add(method, path_prefix, 0, fault);
    }

    fn add(&self, method: &str, path_prefix: &str, nth: usize, fault: Fault) {
        self.script.lock().unwrap().rules.push(Rule {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
            nth,
            seen: 0,
            fault,
        });
    }

    /// Remove every rule and close the connections held open: from now on every request is
    /// forwarded untouched.
    pub fn clear(&self) {
        let mut script = self.script.lock().unwrap();
        script.rules.clear();
        for stream in script.held.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    /// How many requests got a fault.
    pub fn faults_fired(&self) -> usize {
        self.seen().iter().filter(|s| s.fault.is_some()).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.clear();
        // Wake the accept loop so it sees the proxy is gone.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// A request as read from the client: the head (request line and headers, CRLF-terminated,
/// without `Connection`) and the body.
struct Request {
    method: String,
    target: String,
    head: Vec<u8>,
    body: Vec<u8>,
}

/// An answer as read from the backend: status line, headers (without framing headers) and the
/// whole body.
struct Answer {
    status_line: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

impl Answer {
    /// The head as sent to the client, with this `Content-Length`.
    fn head(&self, length: usize) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.status_line);
        for header in &self.headers {
            out.push_str(header);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "Content-Length: {length}\r\nConnection: close\r\n\r\n"
        ));
        out.into_bytes()
    }
}

/// Read header lines up to the blank line; `None` at end of input before any.
fn read_headers(reader: &mut impl BufRead) -> std::io::Result<Option<(String, Vec<String>)>> {
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    Ok(Some((first.trim_end().to_owned(), headers)))
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        let (key, value) = h.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A body framed by `Content-Length`, chunked encoding, or (`to_eof`) the end of the stream.
fn read_body(
    reader: &mut impl BufRead,
    headers: &[String],
    to_eof: bool,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                return Ok(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    match header(headers, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        None if to_eof => {
            reader.read_to_end(&mut body)?;
        }
        None => {}
    }
    Ok(body)
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let Some((line, headers)) = read_headers(reader)? else {
        return Ok(None);
    };
    let body = read_body(reader, &headers, false)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut head = format!("{line}\r\n");
    for h in headers.iter().filter(|h| {
        let key = h.split(':').next().unwrap_or("").trim();
        !["connection", "transfer-encoding", "content-length"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
    }) {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    Ok(Some(Request {
        method,
        target,
        head: head.into_bytes(),
        body,
    }))
}

/// Send `request` to `upstream` and read its whole answer.
fn forward(upstream: SocketAddr, request: &Request) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(upstream)?;
    stream.write_all(&request.head)?;
    stream.write_all(&request.body)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    let (status_line, headers) = read_headers(&mut reader)?
        .ok_or_else(|| std::io::Error::other("the backend closed without answering"))?;
    let body = read_body(&mut reader, &headers, true)?;
    let headers = headers
        .into_iter()
        .filter(|h| {
            let key = h.split(':').next().unwrap_or("").trim();
            ![
                "connection",
                "transfer-encoding",
                "content-length",
                "keep-alive",
            ]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
        })
        .collect();
    Ok(Answer {
        status_line,
        headers,
        body,
    })
}

/// The fault for this request, if a rule fires (each rule counts its own matches).
fn fault_for(script: &Mutex<Script>, request: &Request) -> Option<Fault> {
    let mut script = script.lock().unwrap();
    let mut fired = None;
    for rule in &mut script.rules {
        let method = rule.method == "*" || rule.method.eq_ignore_ascii_case(&request.method);
        if !method || !request.target.starts_with(&rule.path_prefix) {
            continue;
        }
        rule.seen += 1;
        if fired.is_none() && (rule.nth == 0 || rule.nth == rule.seen) {
            fired = Some(rule.fault.clone());
        }
    }
    script.seen.push(Seen {
        method: request.method.clone(),
        target: request.target.clone(),
        fault: fired.clone(),
    });
    fired
}

fn plain(status: u16, headers: &str, body: &str) -> Vec<u8> {
    let kind = if body.starts_with('<') {
        "text/html"
    } else {
        "application/json"
    };
    format!(
        "HTTP/1.1 {status} Fault\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reset the connection: SO_LINGER 0, then close, sends a TCP RST.
fn reset(stream: TcpStream) {
    let socket = socket2::Socket::from(stream);
    let _ = socket.set_linger(Some(Duration::ZERO));
    drop(socket);
}

fn serve(stream: TcpStream, upstream: SocketAddr, script: &Mutex<Script>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let mut client = stream;
    let fault = fault_for(script, &request);
    let answer = match &fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let header = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let body = r#"{"success":false,"errors":[{"code":10013,"message":"rate limited by the fault proxy"}],"error":"rate limited by the fault proxy"}"#;
            return client.write_all(&plain(429, &header, body));
        }
        Some(Fault::ServerError(status)) => {
            let body = format!(
                r#"{{"success":false,"errors":[{{"code":{status},"message":"server error from the fault proxy"}}],"error":"server error from the fault proxy"}}"#
            );
            return client.write_all(&plain(*status, "", &body));
        }
        Some(Fault::FakeSuccess { status, body }) => {
            return client.write_all(&plain(*status, "", body));
        }
        Some(Fault::NotJson) => {
            let page = "<html><body>Bad gateway (fault proxy)</body></html>";
            return client.write_all(&plain(200, "", page));
        }
        Some(Fault::NoAnswer) => {
            script.lock().unwrap().held.push(client);
            return Ok(());
        }
        _ => forward(upstream, &request)?,
    };
    match fault {
        Some(Fault::LoseAnswer) => script.lock().unwrap().held.push(client),
        Some(Fault::ResetMidBody) => {
            client.write_all(&answer.head(answer.body.len()))?;
            client.write_all(&answer.body[..answer.body.len() / 2])?;
            client.flush()?;
            reset(client);
        }
        Some(Fault::TruncatedBody) => {
            client.write_all(&answer.head(answer.body.len()))?;
            client.write_all(&answer.body[..answer.body.len() / 2])?;
            client.shutdown(Shutdown::Both)?;
        }
        _ => {
            client.write_all(&answer.head(answer.body.len()))?;
            client.write_all(&answer.body)?;
        }
    }
    Ok(())
}
