//! DMARC (RFC 7489): the policy record (parse and build, exact inverses), organizational domains
//! from the Public Suffix List, policy discovery, identifier alignment and the verdict on a
//! message. Reporting (aggregate and failure reports) is not part of this module.

pub mod build;
pub mod eval;
pub mod lint;
pub mod orgdomain;
pub mod parse;

use serde::Serialize;

/// A requested policy (`p=`, `sp=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Monitor only.
    None,
    /// Treat failing mail as suspicious.
    Quarantine,
    /// Reject failing mail.
    Reject,
}

impl Policy {
    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// Parse a tag value (case-insensitive).
    pub fn from_name(name: &str) -> Option<Policy> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }
}

/// Identifier alignment mode (`adkim=`, `aspf=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlignmentMode {
    /// `r`: organizational domains must match (the default).
    Relaxed,
    /// `s`: the domains must be identical.
    Strict,
}

/// A reporting URI (`rua=`, `ruf=`): `mailto:` address with an optional size limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportUri {
    /// The URI without the size suffix, e.g. `mailto:dmarc@example.com`.
    pub uri: String,
    /// The size limit as written after `!`, e.g. `10m`.
    pub max_size: Option<String>,
}

/// A DMARC policy record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DmarcRecord {
    /// `p=`: `None` only when the record lacks a valid `p` but has `rua` (RFC 7489 §6.6.3).
    pub policy: Option<Policy>,
    /// `sp=`.
    pub subdomain_policy: Option<Policy>,
    /// `adkim=`.
    pub adkim: Option<AlignmentMode>,
    /// `aspf=`.
    pub aspf: Option<AlignmentMode>,
    /// `pct=` (0 to 100).
    pub pct: Option<u8>,
    /// `rua=`.
    pub rua: Vec<ReportUri>,
    /// `ruf=`.
    pub ruf: Vec<ReportUri>,
    /// `fo=` as written.
    pub fo: Option<String>,
    /// `rf=` as written.
    pub rf: Option<String>,
    /// `ri=`.
    pub ri: Option<u32>,
}

impl DmarcRecord {
    /// A record with policy `p` and nothing else.
    pub fn new(policy: Policy) -> DmarcRecord {
        DmarcRecord {
            policy: Some(policy),
            subdomain_policy: None,
            adkim: None,
            aspf: None,
            pct: None,
            rua: Vec::new(),
            ruf: Vec::new(),
            fo: None,
            rf: None,
            ri: None,
        }
    }
}

/// Why a DMARC record could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DMARC record: {0}")]
pub struct DmarcSyntaxError(pub String);

/// A DMARC result (RFC 8601 §2.7.1 words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcResult {
    /// No policy published.
    None,
    /// An aligned SPF or DKIM pass.
    Pass,
    /// No aligned pass.
    Fail,
    /// The policy could not be fetched.
    TempError,
    /// The policy record is unusable.
    PermError,
}

impl DmarcResult {
    /// The result word.
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::None => "none",
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        }
    }
}
