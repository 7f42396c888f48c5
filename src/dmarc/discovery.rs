//! RFC 9989 policy discovery: the DNS Tree Walk (§4.10), the Organizational Domain it
//! determines (§4.10.2 Identifier Alignment Evaluation) and the DMARC Policy Record that applies
//! to an Author Domain (§4.10.1 DMARC Policy Discovery). The Public Suffix List plays no part
//! here; RFC 7489's PSL view stays in `orgdomain` and `eval`. Which policy tag is in force
//! (`p`/`sp`/`np`) and alignment are `eval`'s business.

use super::{DmarcRecord, DmarcSyntaxError, parse};
use crate::dns::{DnsError, Resolver};

/// The most queries one walk makes (RFC 9989 §4.10, the guard against names with many labels).
pub const MAX_QUERIES: usize = 8;

/// What the query at one name of the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkAnswer {
    /// No TXT record starting with `v=DMARC1` (NXDOMAIN and NODATA included).
    NoRecord,
    /// Several DMARC records at one name: all discarded (RFC 9989 §4.10 step 2).
    Discarded(usize),
    /// One DMARC record, as RFC 9989 reads it.
    Record(DmarcRecord),
    /// One DMARC record that gives no usable policy: no valid `p=` (or an invalid `sp=`/`np=`)
    /// and no valid `rua=` to fall back on (§4.10.1), or a broken tag list.
    Unusable {
        /// The record as published.
        text: String,
        /// What is wrong with it.
        error: DmarcSyntaxError,
    },
    /// A temporary DNS failure: the walk stops, its outcome unknown.
    TempError(String),
}

/// One query of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkStep {
    /// The domain whose `_dmarc` name was queried.
    pub domain: String,
    /// What was found there.
    pub answer: WalkAnswer,
}

impl WalkStep {
    fn has_record(&self) -> bool {
        matches!(
            self.answer,
            WalkAnswer::Record(_) | WalkAnswer::Unusable { .. }
        )
    }

    fn psd(&self) -> Option<bool> {
        match &self.answer {
            WalkAnswer::Record(record) => record.psd,
            _ => None,
        }
    }
}

/// A DNS Tree Walk from one starting domain, in query order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeWalk {
    /// The domain the walk started at (lower case, no trailing dot).
    pub start: String,
    /// The queries made, longest name first.
    pub steps: Vec<WalkStep>,
}

impl TreeWalk {
    /// The names queried, `_dmarc.` included, in order.
    pub fn queried(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("_dmarc.{}", s.domain))
            .collect()
    }

    /// The first temporary DNS failure, if the walk met one.
    pub fn temp_error(&self) -> Option<&str> {
        self.steps.iter().find_map(|s| match &s.answer {
            WalkAnswer::TempError(why) => Some(why.as_str()),
            _ => None,
        })
    }

    /// The step for `domain`, when the walk queried it.
    pub fn step(&self, domain: &str) -> Option<&WalkStep> {
        self.steps.iter().find(|s| s.domain == domain)
    }

    /// The Organizational Domain of the start (RFC 9989 §4.10.2): going from the longest name
    /// to the shortest among those with a record, a `psd=n` record's domain; else the domain one
    /// label below a `psd=y` record other than the start's; else the record with the fewest
    /// labels; and with no record at all, the start itself.
    pub fn organizational_domain(&self) -> String {
        let found: Vec<&WalkStep> = self.steps.iter().filter(|s| s.has_record()).collect();
        for step in &found {
            match step.psd() {
                Some(false) => return step.domain.clone(),
                Some(true) if step.domain != self.start => {
                    return one_label_below(&self.start, &step.domain);
                }
                _ => {}
            }
        }
        match found.last() {
            Some(step) => step.domain.clone(),
            None => self.start.clone(),
        }
    }

    /// The public suffix domain the walk stopped at (a `psd=y` record), if any.
    pub fn public_suffix_domain(&self) -> Option<&str> {
        self.steps
            .iter()
            .find(|s| s.psd() == Some(true))
            .map(|s| s.domain.as_str())
    }
}

/// The domains a full walk from `domain` queries, in order (RFC 9989 §4.10 steps 3 to 7): the
/// domain itself, then (for eight labels or more) the name cut to its last seven labels, then
/// one label fewer each time down to the top-level label. At most [`MAX_QUERIES`].
pub fn walk_targets(domain: &str) -> Vec<String> {
    let domain = normalize(domain);
    let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    let mut targets = vec![domain.clone()];
    let next = if labels.len() >= MAX_QUERIES {
        MAX_QUERIES - 1
    } else {
        labels.len().saturating_sub(1)
    };
    for keep in (1..=next).rev() {
        targets.push(labels[labels.len() - keep..].join("."));
    }
    targets
}

/// Walk from `domain` until a single record with `psd=y` or `psd=n` stops it (RFC 9989 §4.10
/// steps 2 and 6), a temporary failure makes the outcome unknown, or the labels run out.
pub async fn tree_walk(resolver: &dyn Resolver, domain: &str) -> TreeWalk {
    let mut walk = TreeWalk {
        start: normalize(domain),
        steps: Vec::new(),
    };
    for target in walk_targets(domain) {
        let answer = query(resolver, &target).await;
        let stop = match &answer {
            WalkAnswer::Record(record) => record.psd.is_some(),
            WalkAnswer::TempError(_) => true,
            _ => false,
        };
        walk.steps.push(WalkStep {
            domain: target,
            answer,
        });
        if stop {
            break;
        }
    }
    walk
}

/// The `v=DMARC1` TXT values at `_dmarc.{domain}` (other TXT records there are not DMARC's), as
/// both standards' readers start: RFC 9989 [`query`] and RFC 7489 `eval::lookup`.
pub(crate) async fn dmarc_txt(
    resolver: &dyn Resolver,
    domain: &str,
) -> Result<Vec<Vec<u8>>, DnsError> {
    let records = resolver.txt(&format!("_dmarc.{domain}")).await?;
    Ok(records
        .iter()
        .map(|r| r.joined())
        .filter(|v| parse::is_dmarc_record(v))
        .collect())
}

/// The DMARC records at `_dmarc.{domain}`, read as RFC 9989 does.
pub async fn query(resolver: &dyn Resolver, domain: &str) -> WalkAnswer {
    let dmarc = match dmarc_txt(resolver, domain).await {
        Ok(dmarc) => dmarc,
        Err(e) if e.is_temporary() => return WalkAnswer::TempError(e.to_string()),
        Err(_) => return WalkAnswer::NoRecord,
    };
    match dmarc.as_slice() {
        [] => WalkAnswer::NoRecord,
        [one] => match parse::record_rfc9989(one) {
            Ok(record) => WalkAnswer::Record(record),
            Err(error) => WalkAnswer::Unusable {
                text: String::from_utf8_lossy(one).into_owned(),
                error,
            },
        },
        many => WalkAnswer::Discarded(many.len()),
    }
}

/// Which DMARC Policy Record applies to an Author Domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRecord {
    /// A usable record.
    Found {
        /// The record.
        record: DmarcRecord,
        /// The DMARC Policy Domain: where the record was found.
        domain: String,
    },
    /// The record that applies gives no usable policy: no DMARC processing (§4.10.1).
    Unusable {
        /// The domain whose `_dmarc` name holds it.
        domain: String,
        /// The record as published.
        text: String,
        /// What is wrong with it.
        error: DmarcSyntaxError,
    },
    /// No record at the Author Domain, its Organizational Domain or its Public Suffix Domain:
    /// the DMARC mechanism does not apply (§4.10.1).
    None,
    /// A query failed temporarily.
    TempError(String),
}

/// The outcome of policy discovery for one Author Domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The walk from the Author Domain.
    pub walk: TreeWalk,
    /// The Author Domain's Organizational Domain (§4.10.2).
    pub organizational_domain: String,
    /// The record that applies.
    pub policy: PolicyRecord,
}

impl Discovery {
    /// Why there is no usable policy, said for people; `None` when a record was found.
    pub fn reason(&self) -> Option<String> {
        match &self.policy {
            PolicyRecord::Found { .. } => None,
            PolicyRecord::Unusable { domain, error, .. } => Some(format!(
                "_dmarc.{domain}: {error}; without a valid rua= no DMARC processing \
                 (RFC 9989 §4.10.1)"
            )),
            PolicyRecord::None => Some(format!(
                "no DMARC record at {} or above it (queried {})",
                self.walk.start,
                self.walk.queried().join(", ")
            )),
            PolicyRecord::TempError(why) => Some(why.clone()),
        }
    }
}

/// RFC 9989 §4.10.1 DMARC Policy Discovery for `author_domain`: the record at the Author Domain,
/// else at its Organizational Domain, else at its Public Suffix Domain, all from one walk.
pub async fn discover(resolver: &dyn Resolver, author_domain: &str) -> Discovery {
    let walk = tree_walk(resolver, author_domain).await;
    let organizational_domain = walk.organizational_domain();
    let policy = match walk.temp_error() {
        Some(why) => PolicyRecord::TempError(why.to_owned()),
        None => {
            let preferred = [
                Some(walk.start.as_str()),
                Some(organizational_domain.as_str()),
                walk.public_suffix_domain(),
            ];
            preferred
                .into_iter()
                .flatten()
                .find_map(|domain| walk.step(domain).and_then(policy_record))
                .unwrap_or(PolicyRecord::None)
        }
    };
    Discovery {
        walk,
        organizational_domain,
        policy,
    }
}

fn policy_record(step: &WalkStep) -> Option<PolicyRecord> {
    match &step.answer {
        WalkAnswer::Record(record) => Some(PolicyRecord::Found {
            record: record.clone(),
            domain: step.domain.clone(),
        }),
        WalkAnswer::Unusable { text, error } => Some(PolicyRecord::Unusable {
            domain: step.domain.clone(),
            text: text.clone(),
            error: error.clone(),
        }),
        _ => None,
    }
}

/// The name of `start` that has one label more than `ancestor`.
fn one_label_below(start: &str, ancestor: &str) -> String {
    let keep = ancestor.split('.').count() + 1;
    let labels: Vec<&str> = start.split('.').collect();
    labels[labels.len().saturating_sub(keep)..].join(".")
}

fn normalize(domain: &str) -> String {
    crate::dns::normalize_name(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9989_4_10_targets_short_and_deep_names() {
        assert_eq!(
            walk_targets("a.mail.example.com"),
            [
                "a.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        let deep = walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com");
        assert_eq!(deep.len(), MAX_QUERIES);
        assert_eq!(deep[1], "g.h.i.j.mail.example.com");
        assert_eq!(walk_targets("Com."), ["com"]);
        assert_eq!(one_label_below("a.mail.example.com", "com"), "example.com");
    }
}
