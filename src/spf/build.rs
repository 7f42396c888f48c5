//! Building SPF record text from an [`SpfRecord`]: the exact inverse of [`super::parse::record`]
//! (`parse(build(r)) == r`).

use std::fmt::Write as _;

use super::{Mechanism, Qualifier, SpfRecord, Term};

/// The record text, `v=spf1 ...`, terms separated by single spaces.
pub fn record(record: &SpfRecord) -> String {
    let mut out = String::from("v=spf1");
    for term in &record.terms {
        out.push(' ');
        write_term(&mut out, term);
    }
    out
}

fn write_term(out: &mut String, term: &Term) {
    match term {
        Term::Directive(qualifier, mechanism) => {
            out.push_str(match qualifier {
                Qualifier::Pass => "",
                Qualifier::Fail => "-",
                Qualifier::SoftFail => "~",
                Qualifier::Neutral => "?",
            });
            write_mechanism(out, mechanism);
        }
        Term::Redirect(target) => {
            let _ = write!(out, "redirect={}", target.0);
        }
        Term::Explanation(target) => {
            let _ = write!(out, "exp={}", target.0);
        }
        Term::Unknown { name, value } => {
            let _ = write!(out, "{name}={}", value.0);
        }
    }
}

fn write_mechanism(out: &mut String, mechanism: &Mechanism) {
    match mechanism {
        Mechanism::All => out.push_str("all"),
        Mechanism::Include(target) => {
            let _ = write!(out, "include:{}", target.0);
        }
        Mechanism::Exists(target) => {
            let _ = write!(out, "exists:{}", target.0);
        }
        Mechanism::Ptr(target) => {
            out.push_str("ptr");
            if let Some(target) = target {
                let _ = write!(out, ":{}", target.0);
            }
        }
        Mechanism::A {
            domain,
            cidr4,
            cidr6,
        }
        | Mechanism::Mx {
            domain,
            cidr4,
            cidr6,
        } => {
            out.push_str(if matches!(mechanism, Mechanism::A { .. }) {
                "a"
            } else {
                "mx"
            });
            if let Some(domain) = domain {
                let _ = write!(out, ":{}", domain.0);
            }
            if let Some(v4) = cidr4 {
                let _ = write!(out, "/{v4}");
            }
            if let Some(v6) = cidr6 {
                let _ = write!(out, "//{v6}");
            }
        }
        Mechanism::Ip4 { addr, prefix } => {
            let _ = write!(out, "ip4:{addr}");
            if let Some(p) = prefix {
                let _ = write!(out, "/{p}");
            }
        }
        Mechanism::Ip6 { addr, prefix } => {
            let _ = write!(out, "ip6:{addr}");
            if let Some(p) = prefix {
                let _ = write!(out, "/{p}");
            }
        }
    }
}

/// What a domain authorizes, as `mailauth record spf` and `mailauth.toml` describe it.
#[derive(Debug, Clone, Default)]
pub struct Policy<'a> {
    /// The domain's A/AAAA addresses may send.
    pub a: bool,
    /// The domain's MX hosts may send.
    pub mx: bool,
    /// IPv4 addresses or networks.
    pub ip4: &'a [String],
    /// IPv6 addresses or networks.
    pub ip6: &'a [String],
    /// Domains whose records are included.
    pub include: &'a [String],
    /// The qualifier of the final `all`.
    pub all: Option<Qualifier>,
}

/// A value of a [`Policy`] that does not make a valid term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{term}: {}", source.reason)]
pub struct BadTerm {
    /// The term as it would be written, e.g. `ip4:300.1.1.1`.
    pub term: String,
    /// Why the parser refuses it.
    pub source: super::SpfSyntaxError,
}

/// The record for `policy`: `a`, `mx`, then the networks, the includes and `all`. Each given
/// value is checked as the term it becomes; the error names it (`ip4:300.1.1.1`).
pub fn from_policy(policy: &Policy<'_>) -> Result<SpfRecord, BadTerm> {
    let mut terms = Vec::new();
    let plain = |m| Term::Directive(Qualifier::Pass, m);
    if policy.a {
        terms.push(plain(Mechanism::A {
            domain: None,
            cidr4: None,
            cidr6: None,
        }));
    }
    if policy.mx {
        terms.push(plain(Mechanism::Mx {
            domain: None,
            cidr4: None,
            cidr6: None,
        }));
    }
    let lists = [
        ("ip4", policy.ip4),
        ("ip6", policy.ip6),
        ("include", policy.include),
    ];
    for (kind, values) in lists {
        for value in values {
            let term = format!("{kind}:{value}");
            let parsed =
                super::parse::record(format!("v=spf1 {term}").as_bytes()).map_err(|source| {
                    BadTerm {
                        term: term.clone(),
                        source,
                    }
                })?;
            terms.extend(parsed.terms);
        }
    }
    terms.push(Term::Directive(
        policy.all.unwrap_or(Qualifier::Fail),
        Mechanism::All,
    ));
    Ok(SpfRecord { terms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spf::parse;
    use proptest::prelude::*;

    #[test]
    fn rfc7208_examples_round_trip() {
        for text in [
            "v=spf1 +all",
            "v=spf1 a -all",
            "v=spf1 a:example.org -all",
            "v=spf1 mx -all",
            "v=spf1 mx:example.org -all",
            "v=spf1 mx mx:example.org -all",
            "v=spf1 mx/30 mx:example.org/30 -all",
            "v=spf1 ptr -all",
            "v=spf1 ip4:192.0.2.128/28 -all",
            "v=spf1 ip6:2001:db8::/32 a//64 a/24//64 ~all",
            "v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} ?all",
            "v=spf1 redirect=_spf.example.com",
            "v=spf1 -all exp=explain._spf.%{d} foo=bar%%",
        ] {
            let parsed = parse::record(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
            let built = record(&parsed);
            let text = text.replace("+all", "all");
            assert_eq!(built, text);
        }
    }

    #[test]
    fn rfc7208_syntax_errors() {
        for text in [
            "v=spf1 ip4:192.0.2.1/33",
            "v=spf1 ip4:1.2.3",
            "v=spf1 a/032",
            "v=spf1 include:",
            "v=spf1 a:foo.1",
            "v=spf1 redirect=a.example redirect=b.example",
            "v=spf1 exp=a.example exp=b.example",
            "v=spf1 all:foo",
            "v=spf1 foo",
            "v=spf1 exists:%{q}.example.com",
            "v=spf1 a:%",
            "v=spf1 a:ex\u{e9}mple.com",
        ] {
            assert!(parse::record(text.as_bytes()).is_err(), "{text}");
        }
        assert!(!parse::is_spf_record(b"v=spf10"));
        assert!(parse::is_spf_record(b"V=SpF1"));
    }

    fn domain() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9]{0,8}){1,3}"
    }

    fn mechanism() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("all".to_string()),
            domain().prop_map(|d| format!("include:{d}")),
            domain().prop_map(|d| format!("exists:%{{i}}.{d}")),
            (
                proptest::option::of(domain()),
                proptest::option::of(0u8..=32),
                proptest::option::of(0u8..=128)
            )
                .prop_map(|(d, c4, c6)| {
                    let mut s = "a".to_string();
                    if let Some(d) = d {
                        s += &format!(":{d}");
                    }
                    if let Some(c) = c4 {
                        s += &format!("/{c}");
                    }
                    if let Some(c) = c6 {
                        s += &format!("//{c}");
                    }
                    s
                }),
            (any::<[u8; 4]>(), proptest::option::of(0u8..=32)).prop_map(|(a, p)| {
                let ip = std::net::Ipv4Addr::from(a);
                match p {
                    Some(p) => format!("ip4:{ip}/{p}"),
                    None => format!("ip4:{ip}"),
                }
            }),
            (any::<[u8; 16]>(), 0u8..=128)
                .prop_map(|(a, p)| format!("ip6:{}/{p}", std::net::Ipv6Addr::from(a))),
        ]
    }

    proptest! {
        #[test]
        fn parse_build_are_inverses(
            terms in proptest::collection::vec((prop_oneof![Just(""), Just("-"), Just("~"), Just("?")], mechanism()), 0..8),
            redirect in proptest::option::of(domain()),
        ) {
            let mut text = "v=spf1".to_string();
            for (q, m) in &terms {
                text += &format!(" {q}{m}");
            }
            if let Some(r) = redirect {
                text += &format!(" redirect={r}");
            }
            let parsed = parse::record(text.as_bytes()).unwrap();
            prop_assert_eq!(&record(&parsed), &text);
            prop_assert_eq!(parse::record(record(&parsed).as_bytes()).unwrap(), parsed);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut value = b"v=spf1 ".to_vec();
            value.extend_from_slice(&bytes);
            let _ = parse::record(&value);
        }
    }
}
