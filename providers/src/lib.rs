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

/// An HTTP client for an API at `base` (trailing `/` removed): TLS verified, 30-second limit,
/// HTTP error statuses returned as responses. Plain HTTP is refused except to loopback.
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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    Ok((base, agent))
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

/// Run an HTTP request, retrying transport failures (connection refused or reset, timeouts)
/// three times with backoff (0.5 s, 1 s, 2 s). The requests retried are idempotent (reads,
/// PowerDNS REPLACE, Cloudflare updates; a repeated Cloudflare create answers "already exists").
pub fn with_retries<T>(
    mut request: impl FnMut() -> Result<T, ureq::Error>,
) -> Result<T, ureq::Error> {
    let mut delay = std::time::Duration::from_millis(500);
    for _ in 0..3 {
        match request() {
            Ok(value) => return Ok(value),
            Err(_) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
    }
    request()
}
