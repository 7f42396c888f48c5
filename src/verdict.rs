//! The DMARC verdict on a whole message, however many authors its From fields name.
//!
//! DMARC as written applies to a message with exactly one author domain (RFC 9989 §5.3.1 Extract
//! Author Domain). For the rest, RFC 9989 §11.5 (Denial of DMARC Processing Attacks) suggests
//! judging each author domain and applying the strictest outcome, with a cap on how many are
//! judged; a message without any usable author domain gets `permerror`. This module does that
//! on top of [`crate::dmarc::eval::evaluate`], which judges one domain; it does not discover
//! policies or align identifiers itself.

use mailauth_base::DomainName;
use serde::Serialize;

use crate::auth_results::DmarcResinfo;
use crate::dkim::DkimOutcome;
use crate::dmarc::eval::{DmarcInput, DmarcOptions, DmarcOutput, evaluate};
use crate::dmarc::{DmarcResult, Policy};
use crate::dns::Resolver;
use crate::message::{AuthorError, Authors};
use crate::spf::SpfResult;

/// The most distinct author domains judged for one message (RFC 9989 §11.5: a cap keeps a
/// message naming many domains from costing many lookups). Beyond it the verdict is incomplete.
pub const MAX_AUTHOR_DOMAINS: usize = 8;

/// One From address and what DMARC made of its domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorVerdict {
    /// The address as read from From.
    pub address: String,
    /// The author domain in A-labels, when the address has a valid one.
    pub domain: Option<String>,
    /// Why the address could not be judged (no domain, an address literal, an invalid IDN, or
    /// past [`MAX_AUTHOR_DOMAINS`]).
    pub error: Option<String>,
}

/// The DMARC verdict on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageVerdict {
    /// The combined result: fail over permerror over temperror over none over pass, so pass
    /// only when every author domain passes.
    pub result: DmarcResult,
    /// True when the message has one From field with one author domain: DMARC applies as
    /// written. Otherwise the verdict is a failure whatever `result` says.
    pub single_author: bool,
    /// Every From address, in order.
    pub authors: Vec<AuthorVerdict>,
    /// The evaluation of each distinct author domain judged, in order of first appearance.
    pub evaluations: Vec<DmarcOutput>,
    /// Index into `evaluations` of the one that decided `result` (the strictest failing policy
    /// for `fail`), if any.
    pub deciding: Option<usize>,
    /// Why the message was judged this way, when it was not one author domain judged alone.
    pub reason: Option<String>,
}

impl MessageVerdict {
    /// The evaluation that decided the result.
    pub fn deciding_output(&self) -> Option<&DmarcOutput> {
        self.deciding.and_then(|i| self.evaluations.get(i))
    }

    /// The `dmarc=` resinfo for Authentication-Results: the deciding evaluation's policy and
    /// author domain with the combined result, and the combined reason when there is one.
    pub fn resinfo(&self) -> DmarcResinfo<'_> {
        let deciding = self.deciding_output();
        DmarcResinfo {
            result: self.result,
            policy: deciding.and_then(|o| o.policy),
            disposition: self.disposition(),
            reason: self
                .reason
                .as_deref()
                .or_else(|| deciding.and_then(|o| o.reason.as_deref())),
            header_from: deciding
                .map(|o| o.domain.as_str())
                .or_else(|| self.authors.iter().find_map(|a| a.domain.as_deref())),
        }
    }

    /// The disposition to apply: that of the deciding evaluation, else none.
    pub fn disposition(&self) -> Policy {
        self.deciding_output()
            .map_or(Policy::None, |o| o.disposition)
    }
}

/// What DMARC is asked about a whole message.
#[derive(Debug, Clone)]
pub struct MessageInput<'a> {
    /// What [`crate::message::Message::authors`] returned.
    pub authors: Result<&'a Authors, &'a AuthorError>,
    /// The SPF result and the domain it was for (MAIL FROM's, or HELO's).
    pub spf: Option<(SpfResult, &'a str)>,
    /// The DKIM results.
    pub dkim: &'a [DkimOutcome],
}

/// Judge every author domain of a message with [`evaluate`] and combine the outcomes.
pub async fn evaluate_message(
    resolver: &dyn Resolver,
    input: &MessageInput<'_>,
    options: DmarcOptions,
) -> MessageVerdict {
    let authors = match input.authors {
        Ok(authors) => authors,
        Err(error) => {
            return no_author(format!(
                "{error}: no author domain to evaluate (RFC 9989 §5.3.1)"
            ));
        }
    };
    let domains = authors.domains();
    let judged: Vec<&str> = domains
        .iter()
        .take(MAX_AUTHOR_DOMAINS)
        .map(|d| d.as_str())
        .collect();
    let dkim = dkim_a_labels(input.dkim);
    let mut evaluations = Vec::with_capacity(judged.len());
    for domain in &judged {
        let one = DmarcInput {
            from_domain: domain,
            spf: input.spf,
            dkim: &dkim,
        };
        evaluations.push(evaluate(resolver, &one, options).await);
    }
    let author_list = author_verdicts(authors, &judged);
    let mut verdict = MessageVerdict {
        result: DmarcResult::None,
        single_author: authors.is_single(),
        authors: author_list,
        evaluations,
        deciding: None,
        reason: None,
    };
    combine(&mut verdict, authors, domains.len());
    verdict
}

/// The DKIM results with U-label `d=` domains in A-labels (RFC 5890 §2.3), so they align with
/// an author domain read the same way. A `d=` that is not a valid name is left as written (it
/// then aligns with nothing).
fn dkim_a_labels(dkim: &[DkimOutcome]) -> Vec<DkimOutcome> {
    dkim.iter()
        .map(|outcome| {
            let mut outcome = outcome.clone();
            if !outcome.domain.is_ascii()
                && let Ok(name) = DomainName::parse(&outcome.domain)
            {
                outcome.domain = name.to_string();
            }
            outcome
        })
        .collect()
}

fn no_author(reason: String) -> MessageVerdict {
    MessageVerdict {
        result: DmarcResult::PermError,
        single_author: false,
        authors: Vec::new(),
        evaluations: Vec::new(),
        deciding: None,
        reason: Some(reason),
    }
}

fn author_verdicts(authors: &Authors, judged: &[&str]) -> Vec<AuthorVerdict> {
    authors
        .authors
        .iter()
        .map(|author| match &author.domain {
            Ok(domain) => AuthorVerdict {
                address: author.address.clone(),
                domain: Some(domain.to_string()),
                error: (!judged.contains(&domain.as_str())).then(|| {
                    format!("not evaluated: more than {MAX_AUTHOR_DOMAINS} author domains")
                }),
            },
            Err(error) => AuthorVerdict {
                address: author.address.clone(),
                domain: None,
                error: Some(error.to_string()),
            },
        })
        .collect()
}

/// How strongly a result decides a multi-author verdict: the highest wins.
fn result_rank(result: DmarcResult) -> u8 {
    match result {
        DmarcResult::Pass => 0,
        DmarcResult::None => 1,
        DmarcResult::TempError => 2,
        DmarcResult::PermError => 3,
        DmarcResult::Fail => 4,
    }
}

fn policy_rank(policy: Option<Policy>) -> u8 {
    match policy {
        None => 0,
        Some(Policy::None) => 1,
        Some(Policy::Quarantine) => 2,
        Some(Policy::Reject) => 3,
    }
}

/// Pick the deciding evaluation: the highest-ranked result, and among failures the strictest
/// disposition, then policy (RFC 9989 §11.5: the strictest policy among the checks that fail).
fn combine(verdict: &mut MessageVerdict, authors: &Authors, domain_count: usize) {
    let deciding = verdict
        .evaluations
        .iter()
        .enumerate()
        .max_by_key(|(i, o)| {
            (
                result_rank(o.result),
                policy_rank(Some(o.disposition)),
                policy_rank(o.policy),
                std::cmp::Reverse(*i),
            )
        })
        .map(|(i, _)| i);
    verdict.deciding = deciding;
    let decided = deciding.map(|i| verdict.evaluations[i].result);
    let unjudged: Vec<&str> = verdict
        .authors
        .iter()
        .filter_map(|a| a.error.as_deref())
        .collect();
    verdict.result = match decided {
        Some(DmarcResult::Fail) => DmarcResult::Fail,
        _ if !unjudged.is_empty() => DmarcResult::PermError,
        Some(result) => result,
        None => DmarcResult::PermError,
    };
    if verdict.single_author {
        return;
    }
    let mut why = format!(
        "{}, {}",
        counted(authors.from_fields, "From field"),
        counted(domain_count, "author domain")
    );
    if !unjudged.is_empty() {
        why.push_str(&format!(" ({})", unjudged_summary(&unjudged)));
    }
    why.push_str(
        ": DMARC applies to exactly one (RFC 9989 §5.3.1); each domain judged and the strictest \
         outcome kept (RFC 9989 §11.5)",
    );
    verdict.reason = Some(why);
}

/// Distinct reasons listed in a verdict's reason; the addresses past them are only counted.
const LISTED_REASONS: usize = 4;

/// Why addresses were not judged: each distinct reason once, with how many addresses it covers,
/// at most [`LISTED_REASONS`] of them, so a From field naming thousands of addresses does not
/// make a reason (and an Authentication-Results field) of thousands of clauses.
fn unjudged_summary(unjudged: &[&str]) -> String {
    let mut distinct: Vec<(&str, usize)> = Vec::new();
    let mut position: std::collections::HashMap<&str, usize> = Default::default();
    for reason in unjudged {
        match position.get(reason) {
            Some(&i) => distinct[i].1 += 1,
            None => {
                position.insert(reason, distinct.len());
                distinct.push((reason, 1));
            }
        }
    }
    let mut parts: Vec<String> = distinct
        .iter()
        .take(LISTED_REASONS)
        .map(|&(reason, n)| match n {
            1 => reason.to_owned(),
            n => format!("{reason}: {n} addresses"),
        })
        .collect();
    let rest: usize = distinct.iter().skip(LISTED_REASONS).map(|(_, n)| n).sum();
    if rest > 0 {
        parts.push(format!(
            "{rest} more addresses not evaluated for other reasons"
        ));
    }
    parts.join("; ")
}

/// `1 From field`, `2 From fields`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
