//! DNS lookups behind one trait, so every check runs the same way against live DNS, a loopback
//! test server or zone files.
//!
//! This module owns the [`Resolver`] contract and its two implementations: [`hickory`] (system
//! configuration or explicit `--resolver` addresses) and [`zone`] (BIND master files given with
//! `--zone`). It does not interpret records: TXT answers come back as raw character-strings and the
//! protocol modules decide what they mean. Errors keep NXDOMAIN, NODATA and temporary failures
//! apart because SPF counts the first two as void lookups and DKIM/SPF map the last to temperror.

pub mod hickory;
pub mod zone;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;

/// Why a lookup produced no records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The name does not exist (RCODE 3).
    #[error("{name}: no such domain (NXDOMAIN)")]
    NxDomain {
        /// The name queried.
        name: String,
    },
    /// The name exists but holds no record of the type asked for.
    #[error("{name}: no {rtype} records (NODATA)")]
    NoData {
        /// The name queried.
        name: String,
        /// The record type asked for, e.g. "TXT".
        rtype: &'static str,
    },
    /// SERVFAIL, timeout, refused or unreachable server: retrying later may succeed.
    #[error("{name}: temporary DNS failure: {reason}")]
    Temporary {
        /// The name queried.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The name is not a valid domain name, or an answer could not be used.
    #[error("{name}: invalid DNS name or answer: {reason}")]
    Invalid {
        /// The name queried.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A zone file or resolver address given by the user could not be used.
    #[error("{source_name}: {reason}")]
    Config {
        /// The file or address concerned (a zone file error includes `file:line`).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

impl DnsError {
    /// NXDOMAIN or NODATA: a "void lookup" in RFC 7208 §4.6.4 terms.
    pub fn is_void(&self) -> bool {
        matches!(self, DnsError::NxDomain { .. } | DnsError::NoData { .. })
    }

    /// A failure that may go away when retried (maps to temperror).
    pub fn is_temporary(&self) -> bool {
        matches!(self, DnsError::Temporary { .. })
    }
}

/// One TXT record: its character-strings, each at most 255 bytes, kept apart so length
/// problems can be reported. The bytes are not required to be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxtRecord {
    /// The character-strings in wire order.
    pub strings: Vec<Vec<u8>>,
}

impl TxtRecord {
    /// A record made of the given strings.
    pub fn new(strings: Vec<Vec<u8>>) -> Self {
        TxtRecord { strings }
    }

    /// The strings concatenated with nothing between them, as RFC 6376 §3.6.2.2 and
    /// RFC 7208 §3.3 require.
    pub fn joined(&self) -> Vec<u8> {
        self.strings.concat()
    }
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MxRecord {
    /// Lower value is preferred.
    pub preference: u16,
    /// Target host name, without the trailing dot; "" (from ".") is a null MX (RFC 7505).
    pub exchange: String,
}

/// The lookups mailauth needs. Names are given without a trailing dot and compared without
/// regard to ASCII case. An empty answer is never `Ok(vec![])`: it is [`DnsError::NoData`].
#[async_trait]
pub trait Resolver: Send + Sync + std::fmt::Debug {
    /// TXT records at `name`.
    async fn txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError>;
    /// IPv4 addresses of `name` (following CNAMEs).
    async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsError>;
    /// IPv6 addresses of `name` (following CNAMEs).
    async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, DnsError>;
    /// MX records of `name`.
    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError>;
    /// PTR names for `ip` (the reverse name is built here), without trailing dots.
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError>;
    /// NS names of the zone `name`, without trailing dots.
    async fn ns(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

/// Normalise a name for lookup and comparison: lower case, no trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}
