//! DNS provider backends for mailauth.
//!
//! This crate owns the contract between mailauth and the places its records live: a [`Provider`]
//! lists the records of one type at a name and applies a list of [`Change`]s; [`plan()`] compares
//! what is wanted with what is there, touching only what mailauth owns, and refuses a record the
//! provider cannot hold (its [`Capabilities`]) before any request; [`apply_plan`] re-reads before
//! applying and refuses when something changed since the plan. [`registry::open`] builds a
//! backend from its configuration, credentials included. It deliberately knows nothing about
//! DKIM, SPF or DMARC: the root crate decides *what* records are wanted, this crate only reads
//! and writes them. Backends: [`memory`] (tests), [`zonefile`] (a BIND master file, the default
//! that needs no account), [`powerdns`] and [`cloudflare`] (HTTP APIs), and [`rfc2136`] (dynamic
//! update with TSIG, for BIND and Knot). Errors are typed by kind ([`ProviderError`]).

pub mod cloudflare;
pub mod conformance;
mod error;
pub mod memory;
mod plan;
pub mod powerdns;
mod record;
pub mod registry;
pub mod rfc2136;
pub mod zonefile;

use std::fmt;

pub use error::ProviderError;
pub use plan::{Desired, Ownership, Plan, apply_plan, check_supported, owned, plan};
pub use record::{Mx, Record, RecordType, Tlsa, absolute_host, canonical_host};

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a record that is not there.
    Create(Record),
    /// Replace `from` with `to` (same owner name and type).
    Update {
        /// The record as it was read when the plan was made.
        from: Record,
        /// The record wanted.
        to: Record,
    },
    /// Remove a record.
    Delete(Record),
}

impl Change {
    /// The owner name the change concerns.
    pub fn name(&self) -> &str {
        match self {
            Change::Create(r) | Change::Delete(r) => &r.name,
            Change::Update { to, .. } => &to.name,
        }
    }

    /// The record type the change concerns.
    pub fn rtype(&self) -> RecordType {
        match self {
            Change::Create(r) | Change::Delete(r) => r.rtype,
            Change::Update { to, .. } => to.rtype,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create(r) => {
                write!(f, "+ {} {} {} {}", r.name, r.ttl, r.rtype, r.shown_value())
            }
            Change::Delete(r) => {
                write!(f, "- {} {} {} {}", r.name, r.ttl, r.rtype, r.shown_value())
            }
            Change::Update { from, to } => write!(
                f,
                "~ {} {} {} ({}) -> {} ({})",
                to.name,
                to.rtype,
                from.shown_value(),
                from.ttl,
                to.shown_value(),
                to.ttl
            ),
        }
    }
}

/// What a backend can do, declared so callers reject unsupported work before any API call
/// ([`plan()`] reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The backend can check that a record is unchanged since the plan within the same request.
    pub atomic_prerequisites: bool,
    /// The record types the backend can read and write.
    pub record_types: &'static [RecordType],
}

impl Capabilities {
    /// Can the backend hold records of `rtype`?
    pub fn supports(&self, rtype: RecordType) -> bool {
        self.record_types.contains(&rtype)
    }
}

impl Default for Capabilities {
    /// TXT only, no atomic prerequisites: what every backend can do.
    fn default() -> Capabilities {
        Capabilities {
            atomic_prerequisites: false,
            record_types: &[RecordType::Txt],
        }
    }
}

/// A place where DNS records live.
pub trait Provider: fmt::Debug + Send + Sync {
    /// The records of type `rtype` at `name` in `zone`, values canonical.
    fn records(
        &self,
        zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError>;
    /// Apply `changes` to `zone`, in order.
    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError>;
    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;
}

/// How long an HTTP request may take by default (connecting, sending, the whole answer).
pub const DEFAULT_HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How many times one request is repeated after HTTP 429.
const MAX_RATE_LIMIT_RETRIES: u32 = 5;
/// The longest `Retry-After` waited for; a longer one ends the run (exit 3, run again later).
const MAX_RETRY_AFTER: u64 = 60;

/// An HTTP client for an API at `base` (trailing `/` removed): TLS verified, `timeout` for each
/// request, HTTP error statuses returned as responses. Plain HTTP is refused except to loopback.
pub fn http_client(provider: &str, base: &str) -> Result<(String, ureq::Agent), ProviderError> {
    let base = base.trim_end_matches('/').to_owned();
    let loopback = ["http://127.", "http://[::1]", "http://localhost"]
        .iter()
        .any(|p| base.starts_with(p));
    if !base.starts_with("https://") && !loopback {
        return Err(ProviderError::Local {
            provider: provider.into(),
            reason: format!("url {base}: use https:// (plain http only to a loopback address)"),
        });
    }
    Ok((base, http_agent(DEFAULT_HTTP_TIMEOUT)))
}

/// The agent [`http_client`] makes, with `timeout` for each request.
pub fn http_agent(timeout: std::time::Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// The error for an HTTP error status, by kind: 401/403 the credential, 429 and 5xx temporary,
/// anything else a refusal. `reason` says what the API answered.
pub fn http_status_error(provider: String, status: u16, reason: String) -> ProviderError {
    match status {
        401 | 403 => ProviderError::Credentials { provider, reason },
        429 | 500.. => ProviderError::Unreachable { provider, reason },
        _ => ProviderError::Refused { provider, reason },
    }
}

/// Whether a request may be sent again after a failure that came after it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Repeating it cannot do more than doing it once (a read, a full replacement by id).
    Idempotent,
    /// Repeating it may do it twice or fail because it was done (a create, a delete): only
    /// a request that surely never reached the server is sent again; otherwise the caller
    /// re-reads to learn whether it took effect ([`apply_plan`] does).
    Once,
}

/// True when `error` happened before the request reached the server (no connection), so
/// sending it again cannot repeat it.
fn never_sent(error: &ureq::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
        ureq::Error::Timeout(t) => matches!(t, ureq::Timeout::Connect | ureq::Timeout::Resolve),
        ureq::Error::Io(e) => matches!(
            e.kind(),
            ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable | ErrorKind::NotConnected
        ),
        _ => false,
    }
}

/// An HTTP answer read whole: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// The `Retry-After` of an answer in seconds (RFC 9110 §10.2.3; an HTTP date counts as absent).
fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// One request and its whole answer. Transport failures (connection refused or reset,
/// timeouts, a body cut short) are retried three times with backoff (0.5 s, 1 s, 2 s) when
/// `repeat` allows, else only when the request never left; HTTP 429 is waited out after
/// `Retry-After` (1 s without one, up to 60 s; a longer wait or five 429s in a row end the run
/// as temporary). Every other status is returned for the caller to judge.
pub fn http_exchange(
    provider: &str,
    repeat: Repeat,
    mut send: impl FnMut() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<HttpAnswer, ProviderError> {
    let unreachable = |reason: String| ProviderError::Unreachable {
        provider: provider.to_owned(),
        reason,
    };
    let mut once = || -> Result<(u16, Option<u64>, String), ureq::Error> {
        let mut response = send()?;
        let status = response.status().as_u16();
        let wait = retry_after(&response);
        Ok((status, wait, response.body_mut().read_to_string()?))
    };
    for attempt in 0..=MAX_RATE_LIMIT_RETRIES {
        let (status, wait, body) =
            with_retries(repeat, &mut once).map_err(|e| unreachable(format!("{e}")))?;
        if status != 429 {
            return Ok(HttpAnswer { status, body });
        }
        let seconds = wait.unwrap_or(1);
        if seconds > MAX_RETRY_AFTER {
            return Err(unreachable(format!(
                "rate limited (HTTP 429, Retry-After: {seconds} s): run again later"
            )));
        }
        if attempt < MAX_RATE_LIMIT_RETRIES {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
        }
    }
    Err(unreachable(format!(
        "still rate limited (HTTP 429) after {MAX_RATE_LIMIT_RETRIES} retries: run again later"
    )))
}

/// Run an HTTP request, retrying transport failures (connection refused or reset, timeouts)
/// three times with backoff (0.5 s, 1 s, 2 s): any failure for an [`Repeat::Idempotent`]
/// request, only a request that never reached the server for [`Repeat::Once`].
pub fn with_retries<T>(
    repeat: Repeat,
    mut request: impl FnMut() -> Result<T, ureq::Error>,
) -> Result<T, ureq::Error> {
    let mut delay = std::time::Duration::from_millis(500);
    for _ in 0..3 {
        match request() {
            Ok(value) => return Ok(value),
            Err(e) if repeat == Repeat::Once && !never_sent(&e) => return Err(e),
            Err(_) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
    }
    request()
}
