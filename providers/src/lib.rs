//! DNS provider backends for mailauth.
//!
//! This crate owns the contract between mailauth and the places its records live: a [`Provider`]
//! lists the TXT records at a name and applies a list of [`Change`]s. It deliberately knows nothing
//! about DKIM, SPF or DMARC: the root crate decides *what* records are wanted, this crate only
//! reads and writes them. Backends (zone file, Cloudflare, PowerDNS, RFC 2136) arrive with the
//! "Declarative config, plan and publish" work; for now the crate holds only the contract.

pub mod zonefile;

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
