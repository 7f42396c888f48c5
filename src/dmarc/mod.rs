//! DMARC by RFC 9989 (the default) and, on request, by RFC 7489: the policy record (parse and
//! build, exact inverses), policy discovery and organizational domains (RFC 9989's DNS Tree Walk
//! in `discovery`, RFC 7489's Public Suffix List in `orgdomain`), identifier alignment and the
//! verdict on a message. [`Standard`] picks the rules. Reporting (aggregate and failure reports)
//! is not part of this module.

pub mod build;
pub mod discovery;
pub mod eval;
pub mod lint;
pub mod orgdomain;
pub mod parse;

use serde::Serialize;

/// Which DMARC specification evaluates: RFC 9989 (DNS Tree Walk, `psd=`/`np=`/`t=`) or the
/// RFC 7489 it obsoletes (Public Suffix List, `pct=`), kept for comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Standard {
    /// RFC 9989 (2026), the current standard.
    #[default]
    #[cfg_attr(feature = "cli", value(name = "9989"))]
    Rfc9989,
    /// RFC 7489 (2015), obsoleted by RFC 9989.
    #[cfg_attr(feature = "cli", value(name = "7489"))]
    Rfc7489,
}

impl Standard {
    /// The RFC's name, e.g. `RFC 9989`.
    pub fn as_str(self) -> &'static str {
        match self {
            Standard::Rfc9989 => "RFC 9989",
            Standard::Rfc7489 => "RFC 7489",
        }
    }
}

/// A requested policy (`p=`, `sp=`, `np=`).
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
    /// `psd=` (RFC 9989 §4.7): `Some(true)` for `y` (a public suffix domain), `Some(false)` for
    /// `n` (an organizational domain), `None` for `u` or absent.
    pub psd: Option<bool>,
    /// `np=` (RFC 9989 §4.7): the policy for non-existent subdomains.
    pub np: Option<Policy>,
    /// `t=` (RFC 9989 §4.7): `Some(true)` for `t=y` (testing: the policy is not applied).
    pub testing: Option<bool>,
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
            psd: None,
            np: None,
            testing: None,
        }
    }
}

/// Why a DMARC record could not be used. Callers decide by kind (a bad report URI is its own
/// finding), never by the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DmarcSyntaxError {
    /// The record breaks the tag-list grammar (RFC 6376 §3.2, used by RFC 7489 §6.4).
    #[error("DMARC record: {0}")]
    TagList(#[from] crate::taglist::TagListError),
    /// No tags at all.
    #[error("DMARC record: empty record")]
    Empty,
    /// The first tag is not `v=DMARC1`.
    #[error("DMARC record: the record must start with v=DMARC1 (RFC 7489 §6.3)")]
    NotFirstVersion,
    /// `v=` appears again after the first tag.
    #[error("DMARC record: v= appears twice")]
    RepeatedVersion,
    /// Neither a valid `p=` nor a `rua=` to fall back on (RFC 7489 §6.6.3).
    #[error("DMARC record: no p= tag (RFC 7489 §6.3 requires it)")]
    MissingPolicy,
    /// `p=` or `sp=` is not none, quarantine or reject.
    #[error("DMARC record: {tag}={value} is not none, quarantine or reject")]
    BadPolicy {
        /// `p` or `sp`.
        tag: &'static str,
        /// The value as written.
        value: String,
    },
    /// `adkim=` or `aspf=` is not `r` or `s`.
    #[error("DMARC record: {tag}={value} is not r or s")]
    BadAlignment {
        /// `adkim` or `aspf`.
        tag: &'static str,
        /// The value as written.
        value: String,
    },
    /// `pct=` is not an integer from 0 to 100.
    #[error("DMARC record: pct={0} is not 0 to 100")]
    BadPercent(String),
    /// `fo=` holds something other than `0`, `1`, `d`, `s` joined by `:`.
    #[error("DMARC record: fo={0}: options are 0, 1, d, s joined by ':'")]
    BadFailureOptions(String),
    /// `ri=` is not a number of seconds.
    #[error("DMARC record: ri={0} is not a number of seconds")]
    BadInterval(String),
    /// A `rua=`/`ruf=` entry's `!size` suffix is not digits and one unit letter.
    #[error("DMARC record: {tag}: size limit {size:?} is not digits and a unit k/m/g/t")]
    BadSizeLimit {
        /// `rua` or `ruf`.
        tag: &'static str,
        /// The suffix after `!`.
        size: String,
    },
    /// A `rua=`/`ruf=` entry is not a `mailto:` URI (the only scheme receivers use).
    #[error("DMARC record: {tag}: {uri:?} is not a mailto: URI")]
    NotMailto {
        /// `rua` or `ruf`.
        tag: &'static str,
        /// The URI as written.
        uri: String,
    },
    /// A `mailto:` URI whose address has no usable local part or domain.
    #[error("DMARC record: {tag}: {uri:?} is not a mailto: address")]
    BadAddress {
        /// `rua` or `ruf`.
        tag: &'static str,
        /// The URI as written.
        uri: String,
    },
}

impl DmarcSyntaxError {
    /// True when the problem is a reporting URI (`rua=`/`ruf=`, RFC 7489 §6.2) rather than the
    /// policy itself.
    pub fn is_report_uri(&self) -> bool {
        matches!(
            self,
            DmarcSyntaxError::BadSizeLimit { .. }
                | DmarcSyntaxError::NotMailto { .. }
                | DmarcSyntaxError::BadAddress { .. }
        )
    }
}

/// Why a message has no single RFC 5322 From domain for DMARC to evaluate (RFC 7489 §6.6.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FromDomainError {
    /// No From field.
    #[error("the message has no From field")]
    NoField,
    /// Several From fields.
    #[error("the message has {0} From fields; DMARC needs exactly one (RFC 7489 §6.6.1)")]
    ManyFields(usize),
    /// A From field with no address.
    #[error("the From field holds no address")]
    NoAddress,
    /// A From field with several authors.
    #[error("the From field holds {0} addresses; DMARC needs exactly one author (RFC 7489 §6.6.1)")]
    ManyAddresses(usize),
    /// The address's domain is missing or not a domain name.
    #[error("the From address {0:?} has no usable domain (RFC 7489 §6.6.1)")]
    NoDomain(String),
}

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
