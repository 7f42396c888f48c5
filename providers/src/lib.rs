//! DNS provider backends for mailauth.
//!
//! This crate owns the contract between mailauth and the places its records live: a [`Provider`]
//! lists the TXT records at a name and applies a list of [`Change`]s; [`plan`] compares what is
//! wanted with what is there, touching only what mailauth owns; [`apply_plan`] re-reads before
//! applying and refuses when something changed since the plan. It deliberately knows nothing
//! about DKIM, SPF or DMARC: the root crate decides *what* records are wanted, this crate only
//! reads and writes them. Backends: [`memory`] (tests), [`zonefile`] (a BIND master file, the
//! default that needs no account), [`powerdns`] and [`cloudflare`] (HTTP APIs), and [`rfc2136`]
//! (dynamic update with TSIG, for BIND and Knot).

pub mod cloudflare;
pub mod conformance;
pub mod memory;
pub mod powerdns;
pub mod rfc2136;
pub mod zonefile;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

/// One TXT record as the provider holds it, in canonical form: the character-strings joined,
/// unquoted and unescaped, so that a provider's re-chunking of a long value never shows as a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Fully qualified owner name without the trailing dot, lower case.
    pub name: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The joined value.
    pub value: String,
    /// The provider marks the record as created by mailauth.
    pub managed: bool,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a record that is not there.
    Create(Record),
    /// Replace `from` with `to` (same owner name).
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
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create(r) => write!(f, "+ {} {} TXT \"{}\"", r.name, r.ttl, r.value),
            Change::Delete(r) => write!(f, "- {} {} TXT \"{}\"", r.name, r.ttl, r.value),
            Change::Update { from, to } => write!(
                f,
                "~ {} TXT \"{}\" ({}) -> \"{}\" ({})",
                to.name, from.value, from.ttl, to.value, to.ttl
            ),
        }
    }
}

/// What a backend can do, declared so callers reject unsupported work before any API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// The backend can check that a record is unchanged since the plan within the same request.
    pub atomic_prerequisites: bool,
}

/// Errors a provider reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider could not be reached or answered with a temporary failure.
    #[error("provider {provider} unreachable: {reason}")]
    Unreachable {
        /// Backend name.
        provider: String,
        /// What went wrong.
        reason: String,
    },
    /// The provider refused the request.
    #[error("provider {provider} refused the change: {reason}")]
    Refused {
        /// Backend name.
        provider: String,
        /// What the provider said.
        reason: String,
    },
    /// Records changed between the plan and the apply.
    #[error("{name} changed since the plan was made ({reason}); plan again")]
    Conflict {
        /// The owner name.
        name: String,
        /// What differs.
        reason: String,
    },
}

/// A place where DNS records live.
pub trait Provider: fmt::Debug + Send + Sync {
    /// The TXT records at `name` in `zone`.
    fn records(&self, zone: &str, name: &str) -> Result<Vec<Record>, ProviderError>;
    /// Apply `changes` to `zone`, in order.
    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError>;
    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;
}

/// Which TXT values at a name mailauth owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Only the `v=spf1` value (the zone apex, where other services keep their own TXT records).
    SpfValue,
    /// Every TXT value at the name (`_dmarc.DOMAIN`, `SELECTOR._domainkey.DOMAIN`).
    WholeName,
}

/// A record mailauth wants (or, with `value: None`, wants gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Owner name, lower case, no trailing dot.
    pub name: String,
    /// TTL.
    pub ttl: u32,
    /// The joined value, or `None` when the owned records at `name` should be removed.
    pub value: Option<String>,
    /// What mailauth owns at `name`.
    pub ownership: Ownership,
}

/// The changes that bring a zone to the desired records, and what was not done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// Deletions left out because mailauth did not create the record (use `force`).
    pub refused: Vec<Record>,
}

impl Plan {
    /// True when nothing needs doing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Does `value` belong to mailauth under `ownership`?
pub fn owned(ownership: Ownership, value: &str) -> bool {
    match ownership {
        Ownership::WholeName => true,
        Ownership::SpfValue => {
            value.len() >= 6
                && value[..6].eq_ignore_ascii_case("v=spf1")
                && (value.len() == 6 || value.as_bytes()[6] == b' ')
        }
    }
}

/// Compare `desired` with what `provider` holds in `zone`. Only owned values at the desired
/// names are touched; records mailauth did not create are deleted only when `force` is set.
pub fn plan(
    provider: &dyn Provider,
    zone: &str,
    desired: &[Desired],
    force: bool,
) -> Result<Plan, ProviderError> {
    let mut result = Plan::default();
    for want in desired {
        let actual: Vec<Record> = provider
            .records(zone, &want.name)?
            .into_iter()
            .filter(|r| owned(want.ownership, &r.value))
            .collect();
        let mut extra = actual.clone();
        if let Some(value) = &want.value {
            let record = Record {
                name: want.name.clone(),
                ttl: want.ttl,
                value: value.clone(),
                managed: true,
            };
            match actual.iter().position(|r| &r.value == value) {
                Some(i) => {
                    let current = extra.remove(i);
                    if current.ttl != want.ttl {
                        result.changes.push(Change::Update {
                            from: current,
                            to: record,
                        });
                    }
                }
                None if !extra.is_empty() => {
                    let from = extra.remove(0);
                    result.changes.push(Change::Update { from, to: record });
                }
                None => result.changes.push(Change::Create(record)),
            }
        }
        for record in extra {
            if record.managed || force {
                result.changes.push(Change::Delete(record));
            } else {
                result.refused.push(record);
            }
        }
    }
    Ok(result)
}

/// Apply `plan` after checking that every record it changes is still as it was read.
pub fn apply_plan(provider: &dyn Provider, zone: &str, plan: &Plan) -> Result<(), ProviderError> {
    // Each name is read once, however many changes it has.
    let mut read: HashMap<&str, Vec<Record>> = HashMap::new();
    for change in &plan.changes {
        let now = match read.entry(change.name()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(provider.records(zone, change.name())?),
        };
        let present = |r: &Record| now.iter().any(|n| n.value == r.value && n.ttl == r.ttl);
        let conflict = |reason: &str| ProviderError::Conflict {
            name: change.name().to_owned(),
            reason: reason.to_owned(),
        };
        match change {
            Change::Create(r) if now.iter().any(|n| n.value == r.value) => {
                return Err(conflict("the record to create is already there"));
            }
            Change::Update { from, .. } | Change::Delete(from) if !present(from) => {
                return Err(conflict(&format!("\"{}\" is no longer there", from.value)));
            }
            _ => {}
        }
    }
    provider.apply(zone, &plan.changes)
}

/// An HTTP client for an API at `base` (trailing `/` removed): TLS verified, 30-second limit,
/// HTTP error statuses returned as responses. Plain HTTP is refused except to loopback.
pub fn http_client(provider: &str, base: &str) -> Result<(String, ureq::Agent), ProviderError> {
    let base = base.trim_end_matches('/').to_owned();
    let loopback = ["http://127.", "http://[::1]", "http://localhost"]
        .iter()
        .any(|p| base.starts_with(p));
    if !base.starts_with("https://") && !loopback {
        return Err(ProviderError::Refused {
            provider: provider.into(),
            reason: format!("{base}: use https:// (plain http only to a loopback address)"),
        });
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    Ok((base, agent))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryProvider;

    #[test]
    fn plan_touches_only_owned_values_and_refuses_foreign_deletes() {
        let provider = MemoryProvider::default();
        provider.seed(
            "example.com",
            "example.com",
            300,
            "google-site-verification=x",
            false,
        );
        provider.seed("example.com", "example.com", 300, "v=spf1 -all", false);
        provider.seed(
            "example.com",
            "old._domainkey.example.com",
            300,
            "v=DKIM1; p=",
            false,
        );
        let desired = [
            Desired {
                name: "example.com".into(),
                ttl: 300,
                value: Some("v=spf1 mx -all".into()),
                ownership: Ownership::SpfValue,
            },
            Desired {
                name: "old._domainkey.example.com".into(),
                ttl: 300,
                value: None,
                ownership: Ownership::WholeName,
            },
        ];
        let p = plan(&provider, "example.com", &desired, false).unwrap();
        assert_eq!(p.changes.len(), 1, "{p:?}");
        assert!(
            matches!(&p.changes[0], Change::Update { from, to } if from.value == "v=spf1 -all" && to.value == "v=spf1 mx -all")
        );
        assert_eq!(p.refused.len(), 1);
        let forced = plan(&provider, "example.com", &desired, true).unwrap();
        assert_eq!(forced.changes.len(), 2);
    }
}
