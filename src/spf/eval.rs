//! `check_host()` (RFC 7208 §4–§6): fetch and select the record, evaluate its terms in order with
//! the processing limits of §4.6.4 shared across includes and redirects, follow `redirect=`, and
//! build the `exp=` explanation for a fail. Every step is recorded in a trace.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;

use serde::Serialize;

use super::macros::{self, MacroContext, Usage};
use super::{
    MAX_DNS_MECHANISMS, MAX_NAME_LOOKUPS, MAX_VOID_LOOKUPS, MacroString, Mechanism, SpfRecord,
    SpfResult, Term, build, parse,
};
use crate::dns::{DnsError, Resolver};

/// The identity being checked.
#[derive(Debug, Clone)]
pub struct SpfQuery {
    /// The SMTP client's address.
    pub ip: IpAddr,
    /// The domain whose record is evaluated (MAIL FROM's domain, or the HELO name).
    pub domain: String,
    /// `local@domain` (`postmaster@...` when there is no local part).
    pub sender: String,
    /// The HELO/EHLO name (for `%{h}`).
    pub helo: String,
}

impl SpfQuery {
    /// The identity RFC 7208 §2.4 says to check: MAIL FROM when it is not empty, else
    /// `postmaster@HELO`.
    pub fn for_mail(ip: IpAddr, helo: &str, mail_from: &str) -> SpfQuery {
        let mail_from = mail_from
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let sender = if mail_from.is_empty() {
            format!("postmaster@{helo}")
        } else if let Some(domain) = mail_from.strip_prefix('@') {
            format!("postmaster@{domain}")
        } else if mail_from.contains('@') {
            mail_from.to_owned()
        } else {
            format!("postmaster@{mail_from}")
        };
        let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        SpfQuery {
            ip,
            domain: domain.to_owned(),
            sender: sender.clone(),
            helo: helo.to_owned(),
        }
    }

    /// Check the HELO identity itself (RFC 7208 §2.3).
    pub fn for_helo(ip: IpAddr, helo: &str) -> SpfQuery {
        SpfQuery::for_mail(ip, helo, "")
    }
}

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct SpfOptions {
    /// The time for `%{t}`.
    pub now: u64,
    /// This host's name, for `%{r}`.
    pub receiver: String,
}

impl SpfOptions {
    /// Options with `now` and receiver "unknown".
    pub fn new(now: u64) -> SpfOptions {
        SpfOptions {
            now,
            receiver: "unknown".into(),
        }
    }
}

/// One evaluated term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    /// Include/redirect depth (0 for the first record).
    pub depth: usize,
    /// The domain whose record holds the term.
    pub domain: String,
    /// The term, or "record" for the record lookup.
    pub term: String,
    /// What happened.
    pub outcome: String,
}

/// The result of `check_host()` with its explanation and the work done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfOutput {
    /// The result.
    pub result: SpfResult,
    /// The domain checked.
    pub domain: String,
    /// For fail: the domain's `exp=` text, expanded.
    pub explanation: Option<String>,
    /// For permerror and temperror: what went wrong.
    pub reason: Option<String>,
    /// DNS-querying terms used (limit 10).
    pub dns_mechanisms: usize,
    /// Lookups that returned no records (limit 2).
    pub void_lookups: usize,
    /// Every step, in order.
    pub trace: Vec<TraceStep>,
}

/// Run `check_host()` for `query`.
pub async fn check_host(
    resolver: &dyn Resolver,
    query: &SpfQuery,
    options: &SpfOptions,
) -> SpfOutput {
    let mut evaluator = Evaluator {
        resolver,
        query,
        options,
        ip: canonical_ip(query.ip),
        dns_mechanisms: 0,
        void_lookups: 0,
        trace: Vec::new(),
    };
    let domain = query.domain.trim_end_matches('.').to_ascii_lowercase();
    let outcome = if !is_valid_domain(&domain) {
        evaluator.step(
            0,
            &domain,
            "domain",
            "not a valid multi-label domain name: none",
        );
        Outcome {
            result: SpfResult::None,
            explanation: None,
            reason: Some(format!(
                "{domain:?} is not a domain SPF can check (RFC 7208 §4.3)"
            )),
        }
    } else {
        evaluator.evaluate(domain.clone(), 0).await
    };
    SpfOutput {
        result: outcome.result,
        domain,
        explanation: outcome.explanation,
        reason: outcome.reason,
        dns_mechanisms: evaluator.dns_mechanisms,
        void_lookups: evaluator.void_lookups,
        trace: evaluator.trace,
    }
}

/// An IPv4-mapped IPv6 client is checked as IPv4.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A multi-label name with labels of 1 to 63 bytes (RFC 7208 §4.3).
fn is_valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63)
        && !domain.starts_with('[')
}

#[derive(Debug)]
struct Outcome {
    result: SpfResult,
    explanation: Option<String>,
    reason: Option<String>,
}

impl Outcome {
    fn plain(result: SpfResult) -> Outcome {
        Outcome {
            result,
            explanation: None,
            reason: None,
        }
    }
    fn error(result: SpfResult, reason: impl Into<String>) -> Outcome {
        Outcome {
            result,
            explanation: None,
            reason: Some(reason.into()),
        }
    }
}

/// Did a term match, or did evaluation end?
enum Match {
    Yes,
    No,
    Stop(Outcome),
}

struct Evaluator<'a> {
    resolver: &'a dyn Resolver,
    query: &'a SpfQuery,
    options: &'a SpfOptions,
    ip: IpAddr,
    dns_mechanisms: usize,
    void_lookups: usize,
    trace: Vec<TraceStep>,
}

type BoxedOutcome<'f> = Pin<Box<dyn Future<Output = Outcome> + Send + 'f>>;

impl<'a> Evaluator<'a> {
    fn step(&mut self, depth: usize, domain: &str, term: &str, outcome: impl Into<String>) {
        self.trace.push(TraceStep {
            depth,
            domain: domain.to_owned(),
            term: term.to_owned(),
            outcome: outcome.into(),
        });
    }

    /// Evaluate the record of `domain`.
    fn evaluate(&mut self, domain: String, depth: usize) -> BoxedOutcome<'_> {
        Box::pin(async move {
            let record = match self.fetch_record(&domain).await {
                Ok(record) => record,
                Err(outcome) => {
                    let note = format!(
                        "{}{}",
                        outcome.result,
                        outcome
                            .reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                    self.step(depth, &domain, "record", note);
                    return outcome;
                }
            };
            self.step(depth, &domain, "record", build::record(&record));
            for term in &record.terms {
                let Term::Directive(qualifier, mechanism) = term else {
                    continue;
                };
                let text = build::record(&SpfRecord {
                    terms: vec![term.clone()],
                })["v=spf1 ".len()..]
                    .to_owned();
                match self.matches(mechanism, &domain, depth).await {
                    Match::Yes => {
                        let result = qualifier.result();
                        self.step(depth, &domain, &text, format!("match: {result}"));
                        let explanation = if result == SpfResult::Fail {
                            self.explain(&record, &domain).await
                        } else {
                            None
                        };
                        return Outcome {
                            result,
                            explanation,
                            reason: None,
                        };
                    }
                    Match::No => self.step(depth, &domain, &text, "no match"),
                    Match::Stop(outcome) => {
                        let note = format!(
                            "{}: {}",
                            outcome.result,
                            outcome.reason.as_deref().unwrap_or("")
                        );
                        self.step(depth, &domain, &text, note);
                        return outcome;
                    }
                }
            }
            if let Some(target) = record.redirect() {
                return self.redirect(target, &domain, depth).await;
            }
            self.step(depth, &domain, "(end)", "no term matched: neutral");
            Outcome::plain(SpfResult::Neutral)
        })
    }

    async fn redirect(&mut self, target: &MacroString, domain: &str, depth: usize) -> Outcome {
        if let Err(outcome) = self.count_dns_mechanism() {
            return outcome;
        }
        let target = match self.expand_domain(target, domain).await {
            Ok(t) => t,
            Err(reason) => return Outcome::error(SpfResult::PermError, reason.to_string()),
        };
        self.step(depth, domain, &format!("redirect={target}"), "following");
        let outcome = self.evaluate(target.clone(), depth + 1).await;
        if outcome.result == SpfResult::None {
            return Outcome::error(
                SpfResult::PermError,
                format!("redirect target {target} has no SPF record (RFC 7208 §6.1)"),
            );
        }
        outcome
    }

    /// The one SPF record of `domain`, or the outcome that ends evaluation.
    async fn fetch_record(&mut self, domain: &str) -> Result<SpfRecord, Outcome> {
        let records = match self.resolver.txt(domain).await {
            Ok(records) => records,
            Err(e) if e.is_temporary() => {
                return Err(Outcome::error(SpfResult::TempError, e.to_string()));
            }
            Err(e) if e.is_void() => {
                return Err(Outcome::error(
                    SpfResult::None,
                    format!("no SPF record: {e}"),
                ));
            }
            Err(e) => return Err(Outcome::error(SpfResult::None, e.to_string())),
        };
        match parse::select(&records).as_slice() {
            [] => Err(Outcome::error(
                SpfResult::None,
                format!("{domain} has no TXT record starting with v=spf1"),
            )),
            [one] => parse::record(one)
                .map_err(|e| Outcome::error(SpfResult::PermError, format!("{domain}: {e}"))),
            many => Err(Outcome::error(
                SpfResult::PermError,
                format!(
                    "{domain} publishes {} SPF records; there must be one (RFC 7208 §4.5)",
                    many.len()
                ),
            )),
        }
    }

    fn count_dns_mechanism(&mut self) -> Result<(), Outcome> {
        self.dns_mechanisms += 1;
        if self.dns_mechanisms > MAX_DNS_MECHANISMS {
            return Err(Outcome::error(
                SpfResult::PermError,
                format!("more than {MAX_DNS_MECHANISMS} DNS-querying terms (RFC 7208 §4.6.4)"),
            ));
        }
        Ok(())
    }

    /// Count a lookup that found nothing; an error outcome past the limit.
    fn count_void(&mut self) -> Result<(), Outcome> {
        self.void_lookups += 1;
        if self.void_lookups > MAX_VOID_LOOKUPS {
            return Err(Outcome::error(
                SpfResult::PermError,
                format!("more than {MAX_VOID_LOOKUPS} void lookups (RFC 7208 §4.6.4)"),
            ));
        }
        Ok(())
    }

    /// Expand a macro-string; `%{p}` looks up the client's validated name first.
    async fn expand(
        &mut self,
        text: &str,
        domain: &str,
        usage: Usage,
    ) -> Result<String, macros::MacroError> {
        let pieces = macros::parse(text)?;
        let needs_p = pieces
            .iter()
            .any(|p| matches!(p, macros::Piece::Macro { letter: 'p', .. }));
        let validated = if needs_p {
            self.validated_name(domain).await
        } else {
            None
        };
        let ctx = MacroContext {
            sender: &self.query.sender,
            domain,
            ip: self.ip,
            helo: &self.query.helo,
            validated_name: validated.as_deref(),
            receiver: &self.options.receiver,
            now: self.options.now,
        };
        macros::expand(&pieces, &ctx, usage)
    }

    /// Expand a domain-spec into a name to look up (RFC 7208 §7.3: trailing dot removed, left
    /// labels dropped to fit 253 bytes).
    async fn expand_domain(
        &mut self,
        spec: &MacroString,
        domain: &str,
    ) -> Result<String, macros::MacroError> {
        let mut name = self.expand(&spec.0, domain, Usage::Domain).await?;
        while name.ends_with('.') {
            name.pop();
        }
        Ok(rightmost_labels(&name, 253).to_ascii_lowercase())
    }

    async fn target(
        &mut self,
        spec: Option<&MacroString>,
        domain: &str,
    ) -> Result<String, Outcome> {
        match spec {
            Some(spec) => self
                .expand_domain(spec, domain)
                .await
                .map_err(|r| Outcome::error(SpfResult::PermError, r.to_string())),
            None => Ok(domain.to_owned()),
        }
    }

    /// The client's names (from PTR, at most 10) whose addresses include the client.
    async fn validated_names(&mut self) -> Vec<String> {
        let Ok(names) = self.resolver.ptr(self.ip).await else {
            return Vec::new();
        };
        let mut validated = Vec::new();
        for name in names.into_iter().take(MAX_NAME_LOOKUPS) {
            let name = name.to_ascii_lowercase();
            if matches!(self.address_match(&name, None, None, false).await, Ok(true)) {
                validated.push(name);
            }
        }
        validated
    }

    /// `%{p}` (RFC 7208 §7.3): a validated name, preferring `domain` or a name under it.
    async fn validated_name(&mut self, domain: &str) -> Option<String> {
        let names = self.validated_names().await;
        let under = |n: &String| n == domain || n.ends_with(&format!(".{domain}"));
        names.iter().find(|n| under(n)).or(names.first()).cloned()
    }

    async fn matches(&mut self, mechanism: &Mechanism, domain: &str, depth: usize) -> Match {
        if mechanism.queries_dns()
            && let Err(outcome) = self.count_dns_mechanism()
        {
            return Match::Stop(outcome);
        }
        let result = match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { addr, prefix } => Ok(match self.ip {
                IpAddr::V4(ip) => in_v4(ip, *addr, prefix.unwrap_or(32)),
                IpAddr::V6(_) => false,
            }),
            Mechanism::Ip6 { addr, prefix } => Ok(match self.ip {
                IpAddr::V6(ip) => in_v6(ip, *addr, prefix.unwrap_or(128)),
                IpAddr::V4(_) => false,
            }),
            Mechanism::Include(spec) => self.include(spec, domain, depth).await,
            Mechanism::A {
                domain: spec,
                cidr4,
                cidr6,
            } => match self.target(spec.as_ref(), domain).await {
                Ok(target) => self.address_match(&target, *cidr4, *cidr6, true).await,
                Err(o) => Err(o),
            },
            Mechanism::Mx {
                domain: spec,
                cidr4,
                cidr6,
            } => match self.target(spec.as_ref(), domain).await {
                Ok(target) => self.mx_match(&target, *cidr4, *cidr6).await,
                Err(o) => Err(o),
            },
            Mechanism::Ptr(spec) => match self.target(spec.as_ref(), domain).await {
                Ok(target) => Ok(self.ptr_match(&target).await),
                Err(o) => Err(o),
            },
            Mechanism::Exists(spec) => match self.target(Some(spec), domain).await {
                Ok(target) => self.exists(&target).await,
                Err(o) => Err(o),
            },
        };
        match result {
            Ok(true) => Match::Yes,
            Ok(false) => Match::No,
            Err(outcome) => Match::Stop(outcome),
        }
    }

    async fn include(
        &mut self,
        spec: &MacroString,
        domain: &str,
        depth: usize,
    ) -> Result<bool, Outcome> {
        let target = self.target(Some(spec), domain).await?;
        let outcome = self.evaluate(target.clone(), depth + 1).await;
        match outcome.result {
            SpfResult::Pass => Ok(true),
            SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Ok(false),
            SpfResult::TempError => Err(outcome),
            SpfResult::PermError => Err(outcome),
            SpfResult::None => Err(Outcome::error(
                SpfResult::PermError,
                format!("include:{target} has no SPF record (RFC 7208 §5.2)"),
            )),
        }
    }

    /// A lookup error as a term result: void lookups count, temporary errors end evaluation.
    fn lookup_failed(&mut self, error: &DnsError) -> Result<bool, Outcome> {
        if error.is_temporary() {
            return Err(Outcome::error(SpfResult::TempError, error.to_string()));
        }
        if error.is_void() {
            self.count_void()?;
        }
        Ok(false)
    }

    /// Does `target` have an address of the client's family within the CIDR?
    async fn address_match(
        &mut self,
        target: &str,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
        count_void: bool,
    ) -> Result<bool, Outcome> {
        match self.ip {
            IpAddr::V4(ip) => match self.resolver.a(target).await {
                Ok(addrs) => Ok(addrs.iter().any(|a| in_v4(ip, *a, cidr4.unwrap_or(32)))),
                Err(e) if count_void => self.lookup_failed(&e),
                Err(e) if e.is_temporary() => {
                    Err(Outcome::error(SpfResult::TempError, e.to_string()))
                }
                Err(_) => Ok(false),
            },
            IpAddr::V6(ip) => match self.resolver.aaaa(target).await {
                Ok(addrs) => Ok(addrs.iter().any(|a| in_v6(ip, *a, cidr6.unwrap_or(128)))),
                Err(e) if count_void => self.lookup_failed(&e),
                Err(e) if e.is_temporary() => {
                    Err(Outcome::error(SpfResult::TempError, e.to_string()))
                }
                Err(_) => Ok(false),
            },
        }
    }

    async fn mx_match(
        &mut self,
        target: &str,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
    ) -> Result<bool, Outcome> {
        let hosts = match self.resolver.mx(target).await {
            Ok(hosts) => hosts,
            Err(e) => return self.lookup_failed(&e),
        };
        if hosts.len() > MAX_NAME_LOOKUPS {
            return Err(Outcome::error(
                SpfResult::PermError,
                format!(
                    "mx:{target} has {} MX records; at most {MAX_NAME_LOOKUPS} may be looked up (RFC 7208 §4.6.4)",
                    hosts.len()
                ),
            ));
        }
        for host in hosts {
            if host.exchange.is_empty() {
                continue; // Null MX (RFC 7505).
            }
            if self
                .address_match(&host.exchange, cidr4, cidr6, false)
                .await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `ptr` (RFC 7208 §5.5): a validated name of the client equal to or under `target`.
    async fn ptr_match(&mut self, target: &str) -> bool {
        self.validated_names()
            .await
            .iter()
            .any(|name| name == target || name.ends_with(&format!(".{target}")))
    }

    async fn exists(&mut self, target: &str) -> Result<bool, Outcome> {
        match self.resolver.a(target).await {
            Ok(addrs) => Ok(!addrs.is_empty()),
            Err(e) => self.lookup_failed(&e),
        }
    }

    /// The expanded `exp=` text for a fail, when there is one (RFC 7208 §6.2). Any problem just
    /// means no explanation.
    async fn explain(&mut self, record: &SpfRecord, domain: &str) -> Option<String> {
        let spec = record.explanation()?;
        let target = self.expand_domain(spec, domain).await.ok()?;
        let records = self.resolver.txt(&target).await.ok()?;
        let [one] = records.as_slice() else {
            return None;
        };
        let text = String::from_utf8(one.joined()).ok()?;
        let expanded = self.expand(&text, domain, Usage::Explanation).await.ok()?;
        expanded
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control())
            .then_some(expanded)
    }
}

/// `name` with left-hand labels removed until it is at most `limit` bytes (RFC 7208 §7.3), found
/// in one pass: the first dot at or after `len - limit - 1` starts what is kept. Without such a
/// dot the last label is what is left (too long still, so its lookup fails as invalid).
fn rightmost_labels(name: &str, limit: usize) -> &str {
    if name.len() <= limit {
        return name;
    }
    let from = name.len() - limit - 1;
    match name.as_bytes()[from..].iter().position(|b| *b == b'.') {
        Some(dot) => &name[from + dot + 1..],
        None => name.rsplit_once('.').map_or(name, |(_, last)| last),
    }
}

fn in_v4(ip: Ipv4Addr, network: Ipv4Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    u32::from(ip) & mask == u32::from(network) & mask
}

fn in_v6(ip: Ipv6Addr, network: Ipv6Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    };
    u128::from(ip) & mask == u128::from(network) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let ip = Ipv4Addr::new(192, 0, 2, 130);
        assert!(in_v4(ip, Ipv4Addr::new(192, 0, 2, 128), 25));
        assert!(!in_v4(ip, Ipv4Addr::new(192, 0, 2, 0), 25));
        assert!(in_v4(ip, Ipv4Addr::new(10, 0, 0, 0), 0));
        let ip6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert!(in_v6(ip6, "2001:db8::".parse().unwrap(), 32));
        assert!(!in_v6(ip6, "2001:db9::".parse().unwrap(), 32));
    }

    /// RFC 7208 §7.3: left-hand labels are dropped until the name fits 253 bytes.
    #[test]
    fn rfc7208_7_3_long_names_keep_their_rightmost_labels() {
        assert_eq!(rightmost_labels("a.b.c", 253), "a.b.c");
        assert_eq!(rightmost_labels("aaaa.bb.c", 4), "bb.c");
        assert_eq!(rightmost_labels("aaaa.bbb.c", 4), "c");
        assert_eq!(rightmost_labels("aaaa.bbbb", 4), "bbbb");
        assert_eq!(rightmost_labels("aaaaaaaa", 4), "aaaaaaaa");
        assert_eq!(rightmost_labels("a.bbbbbbbb", 4), "bbbbbbbb");
        let long = format!("{}example.com", "x.".repeat(300));
        let kept = rightmost_labels(&long, 253);
        assert!(kept.len() <= 253 && kept.len() >= 252 && kept.ends_with(".example.com"));
    }

    #[test]
    fn rfc7208_2_4_identity_selection() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let q = SpfQuery::for_mail(ip, "mx.example.org", "<user@Example.com>");
        assert_eq!(
            (q.domain.as_str(), q.sender.as_str()),
            ("Example.com", "user@Example.com")
        );
        let q = SpfQuery::for_mail(ip, "mx.example.org", "");
        assert_eq!(q.sender, "postmaster@mx.example.org");
        let q = SpfQuery::for_mail(ip, "mx.example.org", "@example.net");
        assert_eq!(q.sender, "postmaster@example.net");
    }
}
