//! Static checks of SPF records: the DNS-lookup cost of a record including everything its
//! includes and redirect pull in (RFC 7208 §4.6.4 allows 10), void lookups, missing include
//! targets, and the findings `mailauth check` reports about a domain's SPF record.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::{
    MAX_DNS_MECHANISMS, MAX_VOID_LOOKUPS, Mechanism, Qualifier, SpfRecord, Term, build, parse,
};
use crate::dns::{Resolver, TxtRecord};
use crate::report::{Finding, Severity};

/// Every finding code this module produces. `dns.temporary` ([`dns_finding`]) is shared: the
/// DMARC and DKIM lints and `check` report their temporary DNS failures with it too.
pub const CODES: &[&str] = &[
    "spf.none",
    "spf.multiple",
    "spf.syntax",
    "spf.type99",
    "spf.answer_too_big",
    "spf.too_many_lookups",
    "spf.void_lookups",
    "spf.include_missing",
    "spf.ptr",
    "spf.pass_all",
    "spf.neutral_all",
    "spf.no_all",
    "dns.temporary",
];

/// One record in the include/redirect tree with its cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostNode {
    /// 0 for the record checked, 1 for what it includes, ...
    pub depth: usize,
    /// Where the record lives.
    pub domain: String,
    /// DNS-querying terms in this record alone.
    pub own: usize,
    /// This record plus everything below it.
    pub total: usize,
}

/// How many DNS-querying terms an evaluation of a record uses at most.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LookupCost {
    /// DNS-querying terms in the record itself.
    pub own: usize,
    /// Including every included and redirected record, recursively.
    pub total: usize,
    /// False when some target could not be followed (macros, DNS errors, loops): `total` is
    /// then a lower bound.
    pub complete: bool,
    /// What could not be followed, and other remarks.
    pub notes: Vec<String>,
    /// The records walked, depth first.
    pub tree: Vec<CostNode>,
    /// Targets of a, mx, include and redirect that returned nothing (void lookups).
    pub void_targets: Vec<String>,
    /// include/redirect targets without an SPF record.
    pub missing: Vec<String>,
    /// include/redirect chains that come back to a record already on the chain
    /// (`a -> b -> a`): evaluation would never end, so receivers stop at the 10-term limit.
    pub loops: Vec<String>,
    /// Some record in the tree uses `ptr`.
    pub uses_ptr: bool,
    /// A lookup failed temporarily.
    pub dns_failed: bool,
}

impl LookupCost {
    /// One line for people: `DNS lookups: 4 of 10 (own 2)`.
    pub fn summary(&self) -> String {
        let bound = if self.complete { "" } else { "at least " };
        let verdict = if self.total > MAX_DNS_MECHANISMS {
            " — over the limit: receivers will return permerror"
        } else {
            ""
        };
        let mut text = format!(
            "DNS lookups: {bound}{} of {MAX_DNS_MECHANISMS} (this record's own terms: {}){verdict}",
            self.total, self.own
        );
        for note in &self.notes {
            text.push_str(&format!("\n  note: {note}"));
        }
        text
    }

    /// The tree as indented lines: `  _spf.example.com: 3 (own 1)`.
    pub fn tree_text(&self) -> String {
        self.tree
            .iter()
            .map(|n| {
                format!(
                    "{}{}: {} (own {})",
                    "  ".repeat(n.depth),
                    n.domain,
                    n.total,
                    n.own
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The lookup cost of `record` published at `domain`, following includes and redirects through
/// `resolver`.
pub async fn lookup_cost(resolver: &dyn Resolver, record: &SpfRecord, domain: &str) -> LookupCost {
    let mut cost = LookupCost {
        own: record.dns_term_count(),
        complete: true,
        ..LookupCost::default()
    };
    let mut state = Walk {
        path: vec![domain.to_ascii_lowercase()],
        fetches: 0,
    };
    cost.total = walk(resolver, record, &mut state, &mut cost).await;
    cost
}

/// The most records one cost computation fetches, so hostile trees stay cheap to lint.
const MAX_FETCHES: usize = 100;

struct Walk {
    /// The include/redirect chain from the record being linted to the current one.
    path: Vec<String>,
    fetches: usize,
}

fn walk<'a>(
    resolver: &'a dyn Resolver,
    record: &'a SpfRecord,
    state: &'a mut Walk,
    cost: &'a mut LookupCost,
) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
    Box::pin(async move {
        let own = record.dns_term_count();
        let node = cost.tree.len();
        let here = state.path.last().cloned().unwrap_or_default();
        cost.tree.push(CostNode {
            depth: state.path.len() - 1,
            domain: here.clone(),
            own,
            total: own,
        });
        let mut total = own;
        for term in &record.terms {
            let target = match term {
                Term::Directive(_, Mechanism::Include(t)) | Term::Redirect(t) => t,
                Term::Directive(_, Mechanism::Ptr(_)) => {
                    cost.uses_ptr = true;
                    continue;
                }
                Term::Directive(_, Mechanism::A { domain, .. }) => {
                    check_void(
                        resolver,
                        domain.as_ref().map(|d| d.0.as_str()),
                        &here,
                        false,
                        cost,
                    )
                    .await;
                    continue;
                }
                Term::Directive(_, Mechanism::Mx { domain, .. }) => {
                    check_void(
                        resolver,
                        domain.as_ref().map(|d| d.0.as_str()),
                        &here,
                        true,
                        cost,
                    )
                    .await;
                    continue;
                }
                _ => continue,
            };
            if target.0.contains('%') {
                cost.complete = false;
                cost.notes.push(format!(
                    "{} uses macros; its cost depends on the message",
                    target.0
                ));
                continue;
            }
            let name = target.0.trim_end_matches('.').to_ascii_lowercase();
            if let Some(start) = state.path.iter().position(|p| *p == name) {
                cost.complete = false;
                cost.notes
                    .push(format!("{name} includes itself (a loop: permerror)"));
                let chain = [&state.path[start..], std::slice::from_ref(&name)].concat();
                cost.loops.push(chain.join(" -> "));
                continue;
            }
            if state.path.len() > MAX_DNS_MECHANISMS || state.fetches >= MAX_FETCHES {
                cost.complete = false;
                cost.notes.push(format!(
                    "stopped following at {name}: the tree is too large"
                ));
                continue;
            }
            state.fetches += 1;
            match fetch(resolver, &name).await {
                Ok(sub) => {
                    state.path.push(name);
                    total += walk(resolver, &sub, state, cost).await;
                    state.path.pop();
                }
                Err(why) => {
                    cost.complete = false;
                    if why.void {
                        cost.void_targets.push(name.clone());
                    }
                    if why.missing {
                        cost.missing.push(name.clone());
                    }
                    cost.dns_failed |= why.temporary;
                    cost.notes.push(format!("{name}: {}", why.reason));
                }
            }
        }
        cost.tree[node].total = total;
        total
    })
}

/// Count a/mx targets that do not exist (void lookups), for targets without macros.
async fn check_void(
    resolver: &dyn Resolver,
    target: Option<&str>,
    here: &str,
    mx: bool,
    cost: &mut LookupCost,
) {
    let name = match target {
        Some(t) if t.contains('%') => return,
        Some(t) => t.trim_end_matches('.').to_ascii_lowercase(),
        None => here.to_owned(),
    };
    let result = if mx {
        resolver.mx(&name).await.map(|_| ())
    } else {
        match resolver.a(&name).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_void() => resolver.aaaa(&name).await.map(|_| ()),
            Err(e) => Err(e),
        }
    };
    match result {
        Err(e) if e.is_void() => cost.void_targets.push(name),
        Err(e) if e.is_temporary() => cost.dns_failed = true,
        _ => {}
    }
}

struct FetchError {
    reason: String,
    void: bool,
    missing: bool,
    temporary: bool,
}

async fn fetch(resolver: &dyn Resolver, name: &str) -> Result<SpfRecord, FetchError> {
    let records = resolver.txt(name).await.map_err(|e| FetchError {
        reason: e.to_string(),
        void: e.is_void(),
        missing: e.is_void(),
        temporary: e.is_temporary(),
    })?;
    let plain = |reason: &str, missing| FetchError {
        reason: reason.into(),
        void: false,
        missing,
        temporary: false,
    };
    match parse::select(&records).as_slice() {
        [one] => parse::record(one).map_err(|e| plain(&e.to_string(), false)),
        [] => Err(plain("no SPF record", true)),
        _ => Err(plain("several SPF records (permerror)", false)),
    }
}

/// The size of a TXT answer holding `records` for `name`, as sent over UDP without EDNS: the
/// header, the question, and each record with a compressed owner name.
fn answer_size(name: &str, records: &[TxtRecord]) -> usize {
    let question = name.len() + 2 + 4;
    let rdata: usize = records
        .iter()
        .map(|r| 2 + 10 + r.strings.iter().map(|s| 1 + s.len()).sum::<usize>())
        .sum();
    12 + question + rdata
}

/// Findings about `domain`'s SPF record, for `mailauth check`. `has_null_mx` tunes the advice.
pub async fn findings(resolver: &dyn Resolver, domain: &str) -> (Vec<Finding>, bool) {
    let mut out = Vec::new();
    let mut dns_failed = false;
    if let Ok(old) = resolver.spf_type(domain).await
        && !old.is_empty()
    {
        out.push(
            Finding::new(
                "spf.type99",
                Severity::Warning,
                format!("{domain} SPF (type 99)"),
                "a record of the obsolete SPF type is published; receivers ignore it",
                "RFC 7208 §3.1",
            )
            .fix("delete the type-99 record and keep the SPF policy in a TXT record"),
        );
    }
    let records = match resolver.txt(domain).await {
        Ok(records) => records,
        Err(e) if e.is_temporary() => {
            out.push(dns_finding(domain, &e.to_string()));
            return (out, true);
        }
        Err(_) => Vec::new(),
    };
    let spf = parse::select(&records);
    if spf.is_empty() {
        out.push(
            Finding::new(
                "spf.none",
                Severity::Error,
                format!("{domain} TXT"),
                "no SPF record: receivers cannot tell which hosts may send for this domain",
                "RFC 7208 §4.5",
            )
            .fix(format!("publish {domain}. IN TXT \"v=spf1 mx -all\" (or \"v=spf1 -all\" if it sends no mail)")),
        );
        return (out, dns_failed);
    }
    let size = answer_size(domain, &records);
    if size > 512 {
        out.push(
            Finding::new(
                "spf.answer_too_big",
                Severity::Warning,
                format!("{domain} TXT"),
                format!("the TXT answer is {size} bytes, over 512: receivers without EDNS must retry over TCP"),
                "RFC 7208 §3.4",
            )
            .fix("shorten the SPF record (fewer ip4/ip6 terms, use an include) or remove other TXT records at this name"),
        );
    }
    if spf.len() > 1 {
        out.push(
            Finding::new(
                "spf.multiple",
                Severity::Error,
                format!("{domain} TXT"),
                format!(
                    "{} SPF records: every receiver returns permerror",
                    spf.len()
                ),
                "RFC 7208 §4.5",
            )
            .fix("merge them into one v=spf1 record"),
        );
        return (out, dns_failed);
    }
    let text = String::from_utf8_lossy(&spf[0]).into_owned();
    let record = match parse::record(&spf[0]) {
        Ok(record) => record,
        Err(e) => {
            let position = text
                .find(&e.term)
                .map(|p| format!(" at character {}", p + 1))
                .unwrap_or_default();
            out.push(
                Finding::new(
                    "spf.syntax",
                    Severity::Error,
                    format!("{domain} TXT \"{text}\""),
                    format!("{}{position}: receivers return permerror", e.reason),
                    "RFC 7208 §4.6",
                )
                .fix(format!("correct the term {:?}", e.term)),
            );
            return (out, dns_failed);
        }
    };
    let shown = format!("{domain} TXT \"{}\"", build::record(&record));
    out.extend(all_findings(&record, &shown));
    let cost = lookup_cost(resolver, &record, domain).await;
    dns_failed |= cost.dns_failed;
    if cost.uses_ptr {
        out.push(
            Finding::new(
                "spf.ptr",
                Severity::Warning,
                shown.clone(),
                "the ptr mechanism is slow and unreliable; RFC 7208 says not to use it",
                "RFC 7208 §5.5",
            )
            .fix("replace ptr with ip4/ip6 or a terms for the sending hosts"),
        );
    }
    if let Some(chain) = cost.loops.first() {
        out.push(
            Finding::new(
                "spf.too_many_lookups",
                Severity::Error,
                shown.clone(),
                format!("include/redirect loop {chain}: evaluation cannot end within 10 DNS-querying terms, so receivers that reach it return permerror"),
                "RFC 7208 §4.6.4",
            )
            .fix("break the loop: no record may include or redirect to one that leads back to it"),
        );
    } else if cost.total > MAX_DNS_MECHANISMS {
        out.push(
            Finding::new(
                "spf.too_many_lookups",
                Severity::Error,
                shown.clone(),
                format!("{} DNS-querying terms, over the limit of 10: receivers return permerror. Costs: {}", cost.total, cost.tree_text()),
                "RFC 7208 §4.6.4",
            )
            .fix("replace includes with the ip4/ip6 networks they list, or drop unused includes"),
        );
    }
    if cost.void_targets.len() > MAX_VOID_LOOKUPS {
        out.push(
            Finding::new(
                "spf.void_lookups",
                Severity::Error,
                shown.clone(),
                format!(
                    "{} lookups return no records ({}); more than 2 is a permerror",
                    cost.void_targets.len(),
                    cost.void_targets.join(", ")
                ),
                "RFC 7208 §4.6.4",
            )
            .fix("remove the terms that name hosts or domains that do not exist"),
        );
    }
    for target in &cost.missing {
        out.push(
            Finding::new(
                "spf.include_missing",
                Severity::Error,
                shown.clone(),
                format!("{target} has no SPF record: an include or redirect of it is a permerror"),
                "RFC 7208 §5.2",
            )
            .fix(format!(
                "remove include:{target}, or ask its owner to publish an SPF record"
            )),
        );
    }
    (out, dns_failed)
}

/// Findings about how the record ends: `+all`, `?all`, or no `all` and no redirect.
fn all_findings(record: &SpfRecord, shown: &str) -> Vec<Finding> {
    let all = record.terms.iter().find_map(|t| match t {
        Term::Directive(q, Mechanism::All) => Some(*q),
        _ => None,
    });
    match all {
        Some(Qualifier::Pass) => vec![
            Finding::new(
                "spf.pass_all",
                Severity::Error,
                shown,
                "+all authorizes every host on the Internet to send as this domain",
                "RFC 7208 §5.1",
            )
            .fix("end the record with -all (or ~all while testing)"),
        ],
        Some(Qualifier::Neutral) => vec![
            Finding::new(
                "spf.neutral_all",
                Severity::Warning,
                shown,
                "?all makes no assertion about other hosts: SPF protects nothing",
                "RFC 7208 §8.2",
            )
            .fix("end the record with -all (or ~all while testing)"),
        ],
        None if record.redirect().is_none() => vec![
            Finding::new(
                "spf.no_all",
                Severity::Warning,
                shown,
                "the record has no all and no redirect: other hosts get neutral",
                "RFC 7208 §4.7",
            )
            .fix("end the record with -all"),
        ],
        _ => Vec::new(),
    }
}

/// A temporary DNS failure while checking.
pub fn dns_finding(name: &str, reason: &str) -> Finding {
    Finding::new(
        "dns.temporary",
        Severity::Warning,
        name,
        format!("DNS lookup failed temporarily ({reason}); the check is incomplete"),
        "RFC 1035 §4.1.1",
    )
    .fix("check again later, or check the domain's name servers")
}
