//! An in-process stand-in for Cloudflare's API v4, built only from its documented behaviour:
//! zones by name, TXT, CNAME, MX (`priority`) and TLSA (`data`) records listed by type in
//! (deliberately small) pages, created, replaced and deleted by id, comments kept. It re-chunks
//! long TXT content on read (as Cloudflare may), answers the first request of every fifth with
//! HTTP 429 and `retry-after: 0` (unless told to stop), rejects a wrong token with error 10000, and refuses an
//! identical record with error 81058 (the message deliberately says nothing about "exists").
//! A created record whose content contains [`REFUSED_CONTENT`] is refused with HTTP 400 and
//! error 9005, as Cloudflare refuses content it finds invalid.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One stored record: (id, name, content, ttl, comment, type, priority).
pub type Record = (
    String,
    String,
    String,
    u64,
    Option<String>,
    String,
    Option<u64>,
);

/// The fake's state.
#[derive(Debug, Default)]
pub struct State {
    /// (id, name, content, ttl, comment, type, priority); TLSA content is "U S M HEX".
    pub records: Vec<Record>,
    next_id: u64,
    requests: u64,
    /// Set by [`CloudflareFake::stop_rate_limiting`].
    no_rate_limit: bool,
}

/// A running fake.
#[derive(Debug)]
pub struct CloudflareFake {
    addr: SocketAddr,
    /// What it holds.
    pub state: Arc<Mutex<State>>,
}

pub const TOKEN: &str = "fake-token-123";
/// Content the fake refuses to create (HTTP 400, error 9005).
pub const REFUSED_CONTENT: &str = "refuse-me";
pub const ZONE: &str = "battery.test";
pub const ZONE_ID: &str = "zone-0001";

impl CloudflareFake {
    /// Start on 127.0.0.1:0.
    pub fn start() -> CloudflareFake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &shared);
            }
        });
        CloudflareFake { addr, state }
    }

    /// The API base URL.
    pub fn base(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// Stop answering every fifth request with 429 (for tests whose faults come from elsewhere,
    /// e.g. a fault proxy forwarding a change that must reach the store).
    pub fn stop_rate_limiting(&self) {
        self.state.lock().unwrap().no_rate_limit = true;
    }

    /// Put a record in place as another tool would (no comment).
    pub fn seed(&self, name: &str, content: &str) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = format!("rec-{}", state.next_id);
        state.records.push((
            id,
            name.into(),
            content.into(),
            300,
            None,
            "TXT".into(),
            None,
        ));
    }
}

fn serve(stream: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => auth = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, extra, reply) = handle(method, target, &auth, &body, state);
    let text = reply.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn error(code: i64, message: &str) -> Value {
    json!({"success": false, "errors": [{"code": code, "message": message}], "result": null})
}

/// Content as read back: the value re-chunked into 200-byte quoted strings.
fn rechunk(content: &str) -> String {
    let value = mailauth_base::txt::unquote(content);
    value
        .as_bytes()
        .chunks(200)
        .map(|c| mailauth_base::txt::quote_all(&String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A record as stored, from a create or update body.
fn stored(id: String, input: &Value) -> Record {
    let rtype = input["type"].as_str().unwrap_or("TXT").to_owned();
    let content = if rtype == "TLSA" {
        let d = &input["data"];
        format!(
            "{} {} {} {}",
            d["usage"],
            d["selector"],
            d["matching_type"],
            d["certificate"].as_str().unwrap_or_default()
        )
    } else {
        input["content"].as_str().unwrap_or_default().to_owned()
    };
    (
        id,
        input["name"].as_str().unwrap_or_default().to_owned(),
        content,
        input["ttl"].as_u64().unwrap_or(1),
        input["comment"].as_str().map(str::to_owned),
        rtype,
        input["priority"].as_u64(),
    )
}

/// A record as the API lists it: TXT re-chunked, MX with `priority`, TLSA with `data`.
fn listed(r: &Record) -> Value {
    let mut out = json!({"id": r.0, "type": r.5, "name": r.1, "ttl": r.3, "comment": r.4});
    match r.5.as_str() {
        "TXT" => out["content"] = json!(rechunk(&r.2)),
        "MX" => {
            out["content"] = json!(r.2);
            out["priority"] = json!(r.6);
        }
        "TLSA" => {
            let parts: Vec<&str> = r.2.split(' ').collect();
            out["content"] = json!(r.2);
            out["data"] = json!({"usage": parts[0].parse::<u8>().unwrap_or(0),
                "selector": parts[1].parse::<u8>().unwrap_or(0),
                "matching_type": parts[2].parse::<u8>().unwrap_or(0),
                "certificate": parts[3]});
        }
        _ => out["content"] = json!(r.2),
    }
    out
}

fn handle(
    method: &str,
    target: &str,
    auth: &str,
    body: &[u8],
    state: &Arc<Mutex<State>>,
) -> (u16, String, Value) {
    let mut state = state.lock().unwrap();
    state.requests += 1;
    if state.requests % 5 == 1 && !state.no_rate_limit {
        return (
            429,
            "retry-after: 0\r\n".into(),
            error(10013, "Rate limited"),
        );
    }
    if auth != format!("Bearer {TOKEN}") {
        return (403, String::new(), error(10000, "Authentication error"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
    };
    let path = path.trim_start_matches("/client/v4");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["zones"]) => {
            let result = if param("name").as_deref() == Some(ZONE) {
                json!([{"id": ZONE_ID, "name": ZONE}])
            } else {
                json!([])
            };
            (
                200,
                String::new(),
                json!({"success": true, "errors": [], "result": result}),
            )
        }
        ("GET", ["zones", ZONE_ID, "dns_records"]) => {
            let name = param("name").unwrap_or_default();
            let rtype = param("type").unwrap_or_else(|| "TXT".into());
            let page: usize = param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1);
            let per_page = 2; // Small pages, whatever was asked.
            let matching: Vec<Value> = state
                .records
                .iter()
                .filter(|r| r.1 == name && r.5 == rtype)
                .map(listed)
                .collect();
            let total_pages = matching.len().div_ceil(per_page).max(1);
            let result: Vec<Value> = matching
                .into_iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .collect();
            (
                200,
                String::new(),
                json!({"success": true, "errors": [], "result": result,
                "result_info": {"page": page, "per_page": per_page, "total_pages": total_pages}}),
            )
        }
        ("POST", ["zones", ZONE_ID, "dns_records"]) => {
            let input: Value = serde_json::from_slice(body).unwrap_or_default();
            let mut record = stored(String::new(), &input);
            if record.2.contains(REFUSED_CONTENT) {
                return (400, String::new(), error(9005, "Content is invalid."));
            }
            let same = |r: &Record| {
                r.1 == record.1
                    && r.5 == record.5
                    && r.6 == record.6
                    && mailauth_base::txt::unquote(&r.2) == mailauth_base::txt::unquote(&record.2)
            };
            if state.records.iter().any(same) {
                return (400, String::new(), error(81058, "Duplicate."));
            }
            state.next_id += 1;
            let id = format!("rec-{}", state.next_id);
            record.0 = id.clone();
            state.records.push(record);
            (
                200,
                String::new(),
                json!({"success": true, "errors": [], "result": {"id": id}}),
            )
        }
        ("PUT", ["zones", ZONE_ID, "dns_records", id]) => {
            let input: Value = serde_json::from_slice(body).unwrap_or_default();
            let Some(record) = state.records.iter_mut().find(|r| r.0 == *id) else {
                return (404, String::new(), error(81044, "Record does not exist."));
            };
            *record = stored((*id).to_owned(), &input);
            (
                200,
                String::new(),
                json!({"success": true, "errors": [], "result": {"id": id}}),
            )
        }
        ("DELETE", ["zones", ZONE_ID, "dns_records", id]) => {
            let before = state.records.len();
            state.records.retain(|r| r.0 != *id);
            if state.records.len() == before {
                return (404, String::new(), error(81044, "Record does not exist."));
            }
            (
                200,
                String::new(),
                json!({"success": true, "errors": [], "result": {"id": id}}),
            )
        }
        _ => (
            404,
            String::new(),
            error(7003, "Could not route to the requested path"),
        ),
    }
}
