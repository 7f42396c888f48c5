//! Static checks of SPF records before publishing: the DNS-lookup cost of a record including
//! everything its includes and redirect pull in (RFC 7208 §4.6.4 allows 10).

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::{MAX_DNS_MECHANISMS, Mechanism, SpfRecord, Term, parse};
use crate::dns::Resolver;

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
}

/// The lookup cost of `record` published at `domain`, following includes and redirects through
/// `resolver`.
pub async fn lookup_cost(resolver: &dyn Resolver, record: &SpfRecord, domain: &str) -> LookupCost {
    let mut cost = LookupCost {
        own: record.dns_term_count(),
        complete: true,
        ..LookupCost::default()
    };
    let mut walk_state = Walk {
        path: vec![domain.to_ascii_lowercase()],
        fetches: 0,
    };
    cost.total = walk(resolver, record, &mut walk_state, &mut cost).await;
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
        let mut total = record.dns_term_count();
        for term in &record.terms {
            let target = match term {
                Term::Directive(_, Mechanism::Include(t)) | Term::Redirect(t) => t,
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
            if state.path.contains(&name) {
                cost.complete = false;
                cost.notes
                    .push(format!("{name} includes itself (a loop: permerror)"));
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
                    cost.notes.push(format!("{name}: {why}"));
                }
            }
        }
        total
    })
}

async fn fetch(resolver: &dyn Resolver, name: &str) -> Result<SpfRecord, String> {
    let records = resolver.txt(name).await.map_err(|e| e.to_string())?;
    match parse::select(&records).as_slice() {
        [one] => parse::record(one).map_err(|e| e.to_string()),
        [] => Err("no SPF record".into()),
        _ => Err("several SPF records (permerror)".into()),
    }
}
