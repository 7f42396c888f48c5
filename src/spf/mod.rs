//! SPF (RFC 7208): the record model, parsing and building (exact inverses), macro expansion and
//! `check_host()` evaluation with the RFC's processing limits.
//!
//! This module owns the SPF record grammar and its evaluation against a [`crate::dns::Resolver`].
//! It does not decide what a receiver does with the result (that is DMARC's and the caller's job),
//! and it never reads the clock: evaluation takes `now` for the `%{t}` macro.

pub mod build;
pub mod eval;
pub mod lint;
pub mod macros;
pub mod parse;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// The most DNS-querying terms one evaluation may use (RFC 7208 §4.6.4).
pub const MAX_DNS_MECHANISMS: usize = 10;
/// The most lookups that may return no records (RFC 7208 §4.6.4).
pub const MAX_VOID_LOOKUPS: usize = 2;
/// The most MX names (for `mx`) or PTR names (for `ptr` and `%{p}`) looked at (RFC 7208 §4.6.4).
pub const MAX_NAME_LOOKUPS: usize = 10;

/// An SPF result (RFC 7208 §2.6), in the words RFC 8601 uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    /// No record, or no usable domain.
    None,
    /// The domain makes no assertion (`?`).
    Neutral,
    /// The client is authorized (`+`).
    Pass,
    /// The client is not authorized (`-`).
    Fail,
    /// Probably not authorized (`~`).
    SoftFail,
    /// A transient DNS error.
    TempError,
    /// The record could not be interpreted, or a limit was exceeded.
    PermError,
}

impl SpfResult {
    /// The lower-case result word.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A directive's qualifier (RFC 7208 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// `+` (the default): pass.
    Pass,
    /// `-`: fail.
    Fail,
    /// `~`: softfail.
    SoftFail,
    /// `?`: neutral.
    Neutral,
}

impl Qualifier {
    /// The result a matching directive with this qualifier gives.
    pub fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// A macro-string as written (RFC 7208 §7.1), kept verbatim so building reproduces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MacroString(pub String);

/// A mechanism (RFC 7208 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `include:domain-spec`.
    Include(MacroString),
    /// `a[:domain-spec][/ip4-cidr][//ip6-cidr]`.
    A {
        /// The target; the current domain when absent.
        domain: Option<MacroString>,
        /// IPv4 prefix length.
        cidr4: Option<u8>,
        /// IPv6 prefix length.
        cidr6: Option<u8>,
    },
    /// `mx[:domain-spec][/ip4-cidr][//ip6-cidr]`.
    Mx {
        /// The target; the current domain when absent.
        domain: Option<MacroString>,
        /// IPv4 prefix length.
        cidr4: Option<u8>,
        /// IPv6 prefix length.
        cidr6: Option<u8>,
    },
    /// `ptr[:domain-spec]` (RFC 7208 says not to use it).
    Ptr(Option<MacroString>),
    /// `ip4:address[/prefix]`.
    Ip4 {
        /// The network address as written.
        addr: Ipv4Addr,
        /// Prefix length, when given.
        prefix: Option<u8>,
    },
    /// `ip6:address[/prefix]`.
    Ip6 {
        /// The network address as written.
        addr: Ipv6Addr,
        /// Prefix length, when given.
        prefix: Option<u8>,
    },
    /// `exists:domain-spec`.
    Exists(MacroString),
}

impl Mechanism {
    /// True for the terms that cost a DNS lookup and count toward [`MAX_DNS_MECHANISMS`].
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// One term of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// A qualified mechanism.
    Directive(Qualifier, Mechanism),
    /// `redirect=domain-spec`.
    Redirect(MacroString),
    /// `exp=domain-spec`.
    Explanation(MacroString),
    /// Any other `name=macro-string`, ignored by evaluation (RFC 7208 §6).
    Unknown {
        /// The modifier name as written.
        name: String,
        /// Its value as written.
        value: MacroString,
    },
}

/// A parsed SPF record: `v=spf1` and its terms in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SpfRecord {
    /// The terms, in record order.
    pub terms: Vec<Term>,
}

impl SpfRecord {
    /// The `redirect=` target, if any.
    pub fn redirect(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match t {
            Term::Redirect(target) => Some(target),
            _ => None,
        })
    }

    /// The `exp=` target, if any.
    pub fn explanation(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match t {
            Term::Explanation(target) => Some(target),
            _ => None,
        })
    }

    /// How many DNS-querying terms this record itself has (not counting what includes add).
    pub fn dns_term_count(&self) -> usize {
        self.terms
            .iter()
            .filter(|t| match t {
                Term::Directive(_, m) => m.queries_dns(),
                Term::Redirect(_) => true,
                _ => false,
            })
            .count()
    }
}

/// Why a record could not be parsed: a permerror.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SPF record: {reason} (at {term:?})")]
pub struct SpfSyntaxError {
    /// The term (or text) that is wrong.
    pub term: String,
    /// What is wrong with it.
    pub reason: String,
}
