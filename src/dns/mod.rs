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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// TXT records at `name` with how long the answer may be kept (its TTL, RFC 1035 §3.2.1),
    /// when the source knows it. Zone files and test resolvers say `None`: their data does not
    /// expire while the process runs. What caches parsed DKIM keys uses this.
    async fn txt_with_ttl(
        &self,
        name: &str,
    ) -> Result<(Vec<TxtRecord>, Option<std::time::Duration>), DnsError> {
        self.txt(name).await.map(|records| (records, None))
    }
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
    /// Records of the obsolete type 99 (SPF) at `name`, which `mailauth check` reports.
    async fn spf_type(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        Err(DnsError::NoData {
            name: normalize_name(name),
            rtype: "SPF",
        })
    }
    /// TLSA records at `name` (e.g. `_25._tcp.mx.example.com`) with whether the answer was
    /// DNSSEC-validated (RFC 7672 §2.2). A validating resolver answers SERVFAIL for bogus data,
    /// which is [`DnsError::Temporary`]. Implementations that cannot look TLSA up say NODATA.
    async fn tlsa(&self, name: &str) -> Result<TlsaAnswer, DnsError> {
        Err(DnsError::NoData {
            name: normalize_name(name),
            rtype: "TLSA",
        })
    }
}

/// The TLSA records at a name and their DNSSEC status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaAnswer {
    /// The records, in answer order.
    pub records: Vec<mailauth_providers::Tlsa>,
    /// True when the resolver set the AD bit (RFC 4035 §3.2.3, RFC 6840 §5.7): it validated the
    /// answer with DNSSEC. Only meaningful when the path to the resolver is trusted (loopback).
    /// Zone files never say true.
    pub authenticated: bool,
}

/// A resolver that remembers answers (not temporary failures) of another, for runs that ask many
/// domains about the same names (`check --domains-file`: shared include targets, MX hosts). When
/// `capacity` entries are held the cache starts over, so memory stays bounded.
#[derive(Debug)]
pub struct CachingResolver {
    inner: std::sync::Arc<dyn Resolver>,
    capacity: usize,
    cache: std::sync::Mutex<std::collections::HashMap<(&'static str, String), Cached>>,
}

#[derive(Debug, Clone)]
enum Cached {
    Txt(Result<Vec<TxtRecord>, DnsError>),
    A(Result<Vec<Ipv4Addr>, DnsError>),
    Aaaa(Result<Vec<Ipv6Addr>, DnsError>),
    Mx(Result<Vec<MxRecord>, DnsError>),
    Names(Result<Vec<String>, DnsError>),
    Tlsa(Result<TlsaAnswer, DnsError>),
}

impl CachingResolver {
    /// Cache at most `capacity` answers of `inner`.
    pub fn new(inner: std::sync::Arc<dyn Resolver>, capacity: usize) -> Self {
        CachingResolver {
            inner,
            capacity,
            cache: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn get(&self, key: &(&'static str, String)) -> Option<Cached> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: (&'static str, String), value: Cached, temporary: bool) {
        if temporary {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= self.capacity {
                cache.clear();
            }
            cache.insert(key, value);
        }
    }
}

macro_rules! cached_lookup {
    ($self:ident, $kind:literal, $name:expr, $variant:ident, $call:expr) => {{
        let key = ($kind, normalize_name(&$name));
        if let Some(Cached::$variant(answer)) = $self.get(&key) {
            return answer;
        }
        let answer = $call;
        let temporary = matches!(&answer, Err(e) if e.is_temporary());
        $self.put(key, Cached::$variant(answer.clone()), temporary);
        answer
    }};
}

#[async_trait]
impl Resolver for CachingResolver {
    async fn txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        cached_lookup!(self, "TXT", name, Txt, self.inner.txt(name).await)
    }
    /// Not cached here: the caller keeps what it derives from the answer for the TTL.
    async fn txt_with_ttl(
        &self,
        name: &str,
    ) -> Result<(Vec<TxtRecord>, Option<std::time::Duration>), DnsError> {
        self.inner.txt_with_ttl(name).await
    }
    async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        cached_lookup!(self, "A", name, A, self.inner.a(name).await)
    }
    async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        cached_lookup!(self, "AAAA", name, Aaaa, self.inner.aaaa(name).await)
    }
    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError> {
        cached_lookup!(self, "MX", name, Mx, self.inner.mx(name).await)
    }
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        cached_lookup!(self, "PTR", ip.to_string(), Names, self.inner.ptr(ip).await)
    }
    async fn ns(&self, name: &str) -> Result<Vec<String>, DnsError> {
        cached_lookup!(self, "NS", name, Names, self.inner.ns(name).await)
    }
    async fn spf_type(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        cached_lookup!(self, "SPF", name, Txt, self.inner.spf_type(name).await)
    }
    async fn tlsa(&self, name: &str) -> Result<TlsaAnswer, DnsError> {
        cached_lookup!(self, "TLSA", name, Tlsa, self.inner.tlsa(name).await)
    }
}

/// Normalise a name from DNS data or a query for lookup and comparison (lower case, no trailing
/// dot): the zone syntax's rule, kept in one place. Names a user gives are parsed into
/// [`mailauth_base::DomainName`] instead, which also checks them.
pub use mailauth_base::zone::normalize_name;

pub use mailauth_base::txt::{MAX_STRING_BYTES, quote as quote_string, split as split_txt};

/// A TXT record as one zone-file line, the value split into 255-byte strings, e.g.
/// `sel._domainkey.example.com. 3600 IN TXT ( "v=DKIM1; ..." "..." )`.
pub fn zone_txt_line(name: &str, ttl: Option<u32>, value: &[u8]) -> String {
    let strings: Vec<String> = split_txt(value).into_iter().map(quote_string).collect();
    let ttl = ttl.map(|t| format!("{t} ")).unwrap_or_default();
    let owner = format!("{}.", name.trim_end_matches('.'));
    if strings.len() == 1 {
        format!("{owner} {ttl}IN TXT {}", strings[0])
    } else {
        format!("{owner} {ttl}IN TXT ( {} )", strings.join("\n\t"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caching_resolver_remembers_answers_but_not_temporary_failures() {
        let mut zone = zone::ZoneResolver::parse_str(
            "$ORIGIN c.test.\na IN TXT \"x\"\nb IN A 192.0.2.1\n",
            "z",
            None,
        )
        .unwrap();
        zone.set_temporary_failure("b.c.test");
        let cached = CachingResolver::new(std::sync::Arc::new(zone), 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(rt.block_on(cached.txt("A.c.test.")).is_ok());
        assert!(
            rt.block_on(cached.txt("nope.c.test"))
                .unwrap_err()
                .is_void()
        );
        assert!(
            rt.block_on(cached.a("b.c.test"))
                .unwrap_err()
                .is_temporary()
        );
        let held = cached.cache.lock().unwrap().len();
        assert_eq!(held, 2, "two answers cached, the temporary failure not");
        assert!(rt.block_on(cached.a("x.c.test")).is_err());
        assert_eq!(cached.cache.lock().unwrap().len(), 1, "full: started over");
    }

    #[test]
    fn rfc1035_3_3_strings_are_at_most_255_bytes() {
        let value = vec![b'a'; 600];
        let parts = split_txt(&value);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert_eq!(parts.concat(), value);
    }

    #[test]
    fn quoting_escapes_quotes_backslashes_and_binary() {
        assert_eq!(quote_string(b"a\"b\\c;\x00\xff"), r#""a\"b\\c;\000\255""#);
    }

    #[test]
    fn zone_line_splits_long_values() {
        let line = zone_txt_line("s._domainkey.example.com", Some(300), &[b'x'; 300]);
        assert!(
            line.starts_with("s._domainkey.example.com. 300 IN TXT ( \""),
            "{line}"
        );
        assert_eq!(line.matches('"').count(), 4);
        let short = zone_txt_line("example.com.", None, b"v=spf1 -all");
        assert_eq!(short, "example.com. IN TXT \"v=spf1 -all\"");
    }
}
