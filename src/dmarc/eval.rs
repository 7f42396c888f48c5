//! DMARC evaluation of one message by the [`Standard`] asked for. RFC 9989 (the default): policy
//! and organizational domains from the DNS Tree Walk (`discovery`), `p=`/`sp=`/`np=` by whether
//! the Author Domain exists, `t=y` testing. RFC 7489 (§6.6), unchanged for comparison: discovery
//! at the From domain and then its PSL organizational domain, `sp=` for subdomains, `pct=`
//! sampling into a disposition. Both: identifier alignment of the SPF and DKIM results.

use std::collections::HashMap;

use serde::Serialize;

use super::Standard;
use super::discovery::{self, PolicyRecord};

use super::orgdomain::{organizational_domain, relaxed_match, strict_match};
use super::{AlignmentMode, DmarcRecord, DmarcResult, FromDomainError, Policy, build, parse};
use crate::dkim::{DkimOutcome, DkimResult};
use crate::dns::Resolver;
use crate::spf::SpfResult;

/// What DMARC is asked about one message.
#[derive(Debug, Clone)]
pub struct DmarcInput<'a> {
    /// The RFC 5322 From domain.
    pub from_domain: &'a str,
    /// The SPF result and the domain it was for (MAIL FROM's, or HELO's).
    pub spf: Option<(SpfResult, &'a str)>,
    /// The DKIM results.
    pub dkim: &'a [DkimOutcome],
}

/// Evaluation settings.
#[derive(Debug, Clone, Copy)]
pub struct DmarcOptions {
    /// A number in 0..100 drawn per message: the policy applies when it is below `pct`
    /// (RFC 7489 §6.6.4). Tests fix it; callers draw it at random. RFC 9989 has no `pct`.
    pub sample: u8,
    /// Which specification evaluates.
    pub standard: Standard,
}

/// Which identifiers aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Alignment {
    /// An SPF pass for a domain aligned with From.
    pub spf: bool,
    /// A DKIM pass for a domain aligned with From.
    pub dkim: bool,
}

/// The DMARC verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmarcOutput {
    /// pass, fail, none, temperror or permerror.
    pub result: DmarcResult,
    /// The policy in force (`p`, or `sp` for a subdomain), when a record was found.
    pub policy: Option<Policy>,
    /// What the receiver should do: the policy for a fail after `pct` sampling, else none.
    pub disposition: Policy,
    /// The From domain.
    pub domain: String,
    /// Where the record was found (`_dmarc.` + this).
    pub policy_domain: Option<String>,
    /// Which identifiers aligned.
    pub alignment: Alignment,
    /// The record as found, rebuilt.
    pub record: Option<String>,
    /// For permerror, temperror and none: why.
    pub reason: Option<String>,
    /// The specification that evaluated.
    pub standard: Standard,
    /// The From domain's organizational domain (RFC 9989: from the tree walk; RFC 7489: PSL).
    pub organizational_domain: Option<String>,
    /// `t=y` (RFC 9989): the domain owner is testing, so the policy is not applied and the
    /// disposition is one level below it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub testing: bool,
    /// The Author Domain does not exist (NXDOMAIN), so `np=` was in force (RFC 9989).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_existent: bool,
    /// The `_dmarc` names queried by the tree walk from the From domain (RFC 9989), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queried: Vec<String>,
}

/// The outcome of policy discovery (RFC 7489 §6.6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// A usable record at `_dmarc.{domain}`.
    Found {
        /// The record.
        record: DmarcRecord,
        /// The domain it was found at.
        domain: String,
    },
    /// No record: no DMARC processing.
    None(String),
    /// Several records: no DMARC processing either (RFC 7489 §6.6.3).
    Multiple {
        /// How many.
        count: usize,
        /// Said for people.
        reason: String,
    },
    /// DNS failed temporarily.
    TempError(String),
    /// The one record there is cannot be used.
    PermError {
        /// The record as published.
        record: String,
        /// The domain whose `_dmarc` name holds it.
        domain: String,
        /// What is wrong with it.
        error: super::DmarcSyntaxError,
    },
}

impl Discovery {
    /// Why there is no usable policy, said for people; `None` for [`Discovery::Found`].
    pub fn reason(&self) -> Option<String> {
        match self {
            Discovery::Found { .. } => None,
            Discovery::None(why) | Discovery::TempError(why) => Some(why.clone()),
            Discovery::Multiple { reason, .. } => Some(reason.clone()),
            Discovery::PermError { domain, error, .. } => Some(format!("_dmarc.{domain}: {error}")),
        }
    }
}

/// Find the policy for `from_domain`: at `_dmarc.FROM`, else at `_dmarc.ORG`.
pub async fn discover(resolver: &dyn Resolver, from_domain: &str) -> Discovery {
    let from = from_domain.trim_end_matches('.').to_ascii_lowercase();
    let at_from = lookup(resolver, &from).await;
    if !matches!(at_from, Discovery::None(_) | Discovery::Multiple { .. }) {
        return at_from;
    }
    let org = organizational_domain(&from);
    if org == from {
        return at_from;
    }
    lookup(resolver, &org).await
}

/// The DMARC record at `_dmarc.{domain}` alone, without falling back to the organizational
/// domain.
pub async fn lookup(resolver: &dyn Resolver, domain: &str) -> Discovery {
    let name = format!("_dmarc.{domain}");
    let dmarc = match discovery::dmarc_txt(resolver, domain).await {
        Ok(dmarc) => dmarc,
        Err(e) if e.is_temporary() => return Discovery::TempError(e.to_string()),
        Err(e) => return Discovery::None(e.to_string()),
    };
    match dmarc.as_slice() {
        [] => Discovery::None(format!("{name} has no v=DMARC1 record")),
        [one] => match parse::record(one) {
            Ok(record) => Discovery::Found {
                record,
                domain: domain.to_owned(),
            },
            Err(error) => Discovery::PermError {
                record: String::from_utf8_lossy(one).into_owned(),
                domain: domain.to_owned(),
                error,
            },
        },
        many => Discovery::Multiple {
            count: many.len(),
            reason: format!(
                "{name} has {} DMARC records; with more than one none applies (RFC 7489 §6.6.3)",
                many.len()
            ),
        },
    }
}

fn aligned(mode: Option<AlignmentMode>, a: &str, b: &str) -> bool {
    match mode.unwrap_or(AlignmentMode::Relaxed) {
        AlignmentMode::Relaxed => relaxed_match(a, b),
        AlignmentMode::Strict => strict_match(a, b),
    }
}

/// Alignment of the SPF and DKIM results with `from` under `record`'s modes.
pub fn alignment(record: &DmarcRecord, input: &DmarcInput<'_>) -> Alignment {
    let from = input.from_domain;
    Alignment {
        spf: input
            .spf
            .is_some_and(|(r, d)| r == SpfResult::Pass && aligned(record.aspf, d, from)),
        dkim: input
            .dkim
            .iter()
            .any(|o| o.result == DkimResult::Pass && aligned(record.adkim, &o.domain, from)),
    }
}

/// The DMARC verdict for one message, by `options.standard`.
pub async fn evaluate(
    resolver: &dyn Resolver,
    input: &DmarcInput<'_>,
    options: DmarcOptions,
) -> DmarcOutput {
    match options.standard {
        Standard::Rfc9989 => evaluate_rfc9989(resolver, input).await,
        Standard::Rfc7489 => evaluate_rfc7489(resolver, input, options).await,
    }
}

fn empty_output(domain: &str, standard: Standard) -> DmarcOutput {
    DmarcOutput {
        result: DmarcResult::None,
        policy: None,
        disposition: Policy::None,
        domain: domain.to_owned(),
        policy_domain: None,
        alignment: Alignment {
            spf: false,
            dkim: false,
        },
        record: None,
        reason: None,
        standard,
        organizational_domain: None,
        testing: false,
        non_existent: false,
        queried: Vec::new(),
    }
}

/// RFC 9989: §4.10.1 policy discovery, the policy in force (§4.7 `p`/`sp`/`np`), §4.10.2
/// alignment through tree walks, §5.3 pass or fail, `t=y` testing.
async fn evaluate_rfc9989(resolver: &dyn Resolver, input: &DmarcInput<'_>) -> DmarcOutput {
    let domain = crate::dns::normalize_name(input.from_domain);
    let mut output = empty_output(&domain, Standard::Rfc9989);
    let found = discovery::discover(resolver, &domain).await;
    output.queried = found.walk.queried();
    output.organizational_domain = Some(found.organizational_domain.clone());
    let reason = found.reason();
    let (record, policy_domain) = match found.policy {
        PolicyRecord::Found { record, domain } => (record, domain),
        PolicyRecord::None | PolicyRecord::Unusable { .. } => {
            output.reason = reason;
            return output;
        }
        PolicyRecord::TempError(why) => return temp_error(output, why),
    };
    let policy = match policy_in_force(resolver, &record, &policy_domain, &domain).await {
        Ok((policy, non_existent)) => {
            output.non_existent = non_existent;
            policy
        }
        Err(why) => return temp_error(output, why),
    };
    let mut walks = OrgDomains::new(&domain, &found.organizational_domain);
    output.alignment = match alignment_rfc9989(resolver, &record, input, &mut walks).await {
        Ok(alignment) => alignment,
        Err(why) => return temp_error(output, why),
    };
    output.result = if output.alignment.spf || output.alignment.dkim {
        DmarcResult::Pass
    } else {
        DmarcResult::Fail
    };
    output.testing = record.testing == Some(true);
    output.policy = Some(policy);
    output.disposition = match output.result {
        DmarcResult::Fail if output.testing => one_level_below(policy),
        DmarcResult::Fail => policy,
        _ => Policy::None,
    };
    output.record = Some(build::record(&record));
    output.policy_domain = Some(policy_domain);
    output
}

/// RFC 9989 §4.10.1: `p` at the Author Domain's own record; for a subdomain of the policy
/// domain, `np` when the Author Domain does not exist, else `sp` (each falling back as §4.7
/// says). Also returns whether the Author Domain was found not to exist.
async fn policy_in_force(
    resolver: &dyn Resolver,
    record: &DmarcRecord,
    policy_domain: &str,
    author: &str,
) -> Result<(Policy, bool), String> {
    if policy_domain == author {
        return Ok((record.policy.unwrap_or(Policy::None), false));
    }
    Ok(match author_domain_exists(resolver, author).await? {
        true => (subdomain_policy(record), false),
        false => (record.np.unwrap_or_else(|| subdomain_policy(record)), true),
    })
}

fn temp_error(mut output: DmarcOutput, why: String) -> DmarcOutput {
    output.result = DmarcResult::TempError;
    output.reason = Some(why);
    output
}

/// `sp`, else `p` (RFC 9989 §4.7 `sp`).
fn subdomain_policy(record: &DmarcRecord) -> Policy {
    record
        .subdomain_policy
        .or(record.policy)
        .unwrap_or(Policy::None)
}

/// `t=y` asks for the policy one level below the one published (RFC 9989 §4.7 `t`), as a
/// sampled-out message got under RFC 7489 §6.6.4.
fn one_level_below(policy: Policy) -> Policy {
    match policy {
        Policy::Reject => Policy::Quarantine,
        _ => Policy::None,
    }
}

/// Whether the Author Domain exists: only NXDOMAIN says it does not (RFC 9989 §3.2 Non-existent
/// Domains, with RFC 8020); NODATA means the name is there without address records.
async fn author_domain_exists(resolver: &dyn Resolver, domain: &str) -> Result<bool, String> {
    match resolver.a(domain).await {
        Ok(_) => Ok(true),
        Err(crate::dns::DnsError::NxDomain { .. }) => Ok(false),
        Err(e) if e.is_temporary() => Err(e.to_string()),
        Err(_) => Ok(true),
    }
}

/// Organizational domains found by tree walks during one evaluation, so each domain is walked
/// once (RFC 9989 §4.10.2 reuses the Author Domain's).
struct OrgDomains {
    known: HashMap<String, String>,
}

impl OrgDomains {
    fn new(author: &str, org: &str) -> OrgDomains {
        OrgDomains {
            known: HashMap::from([(author.to_owned(), org.to_owned())]),
        }
    }

    async fn of(&mut self, resolver: &dyn Resolver, domain: &str) -> Result<String, String> {
        let domain = crate::dns::normalize_name(domain);
        if let Some(org) = self.known.get(&domain) {
            return Ok(org.clone());
        }
        let walk = discovery::tree_walk(resolver, &domain).await;
        if let Some(why) = walk.temp_error() {
            return Err(why.to_owned());
        }
        let org = walk.organizational_domain();
        self.known.insert(domain, org.clone());
        Ok(org)
    }
}

/// RFC 9989 §4.10.2: strict alignment compares names; relaxed compares the organizational
/// domains the tree walk gives (no walk when the names are equal).
async fn aligned_rfc9989(
    resolver: &dyn Resolver,
    mode: Option<AlignmentMode>,
    identifier: &str,
    author: &str,
    walks: &mut OrgDomains,
) -> Result<bool, String> {
    if strict_match(identifier, author) {
        return Ok(true);
    }
    if mode == Some(AlignmentMode::Strict) {
        return Ok(false);
    }
    Ok(walks.of(resolver, identifier).await? == walks.of(resolver, author).await?)
}

/// Alignment of the SPF and DKIM passes with the Author Domain by RFC 9989 (§4.10.2).
async fn alignment_rfc9989(
    resolver: &dyn Resolver,
    record: &DmarcRecord,
    input: &DmarcInput<'_>,
    walks: &mut OrgDomains,
) -> Result<Alignment, String> {
    let from = input.from_domain;
    let spf = match input.spf {
        Some((SpfResult::Pass, d)) => {
            aligned_rfc9989(resolver, record.aspf, d, from, walks).await?
        }
        _ => false,
    };
    let mut dkim = false;
    for outcome in input.dkim.iter().filter(|o| o.result == DkimResult::Pass) {
        if aligned_rfc9989(resolver, record.adkim, &outcome.domain, from, walks).await? {
            dkim = true;
            break;
        }
    }
    Ok(Alignment { spf, dkim })
}

/// RFC 7489 §6.6, as mailauth evaluated before RFC 9989: PSL organizational domains, `pct`.
async fn evaluate_rfc7489(
    resolver: &dyn Resolver,
    input: &DmarcInput<'_>,
    options: DmarcOptions,
) -> DmarcOutput {
    let domain = input.from_domain.trim_end_matches('.').to_ascii_lowercase();
    let mut output = empty_output(&domain, Standard::Rfc7489);
    output.organizational_domain = Some(organizational_domain(&domain));
    let (record, policy_domain) = match discover(resolver, &domain).await {
        Discovery::Found { record, domain } => (record, domain),
        Discovery::None(why) | Discovery::Multiple { reason: why, .. } => {
            output.reason = Some(why);
            return output;
        }
        Discovery::TempError(why) => {
            output.result = DmarcResult::TempError;
            output.reason = Some(why);
            return output;
        }
        perm @ Discovery::PermError { .. } => {
            output.result = DmarcResult::PermError;
            output.reason = perm.reason();
            return output;
        }
    };
    let p = record.policy.unwrap_or(Policy::None);
    let policy = if policy_domain != domain {
        record.subdomain_policy.unwrap_or(p)
    } else {
        p
    };
    output.alignment = alignment(&record, input);
    output.result = if output.alignment.spf || output.alignment.dkim {
        DmarcResult::Pass
    } else {
        DmarcResult::Fail
    };
    output.policy = Some(policy);
    output.disposition = match output.result {
        DmarcResult::Fail if options.sample < record.pct.unwrap_or(100) => policy,
        // Not sampled: the next less strict policy (RFC 7489 §6.6.4).
        DmarcResult::Fail => match policy {
            Policy::Reject => Policy::Quarantine,
            _ => Policy::None,
        },
        _ => Policy::None,
    };
    output.record = Some(build::record(&record));
    output.policy_domain = Some(policy_domain);
    output
}

/// The RFC 5322 From domain DMARC evaluates (RFC 7489 §6.6.1): exactly one From field with
/// exactly one address that has a domain. Anything else is an error naming the problem.
pub fn from_domain(message: &crate::message::Message) -> Result<String, FromDomainError> {
    use crate::message::AuthorError;
    // The one From parser is `Message::authors`; this is its RFC 7489 §6.6.1 single-author view.
    let authors = message.authors().map_err(|e| match e {
        AuthorError::NoFromField => FromDomainError::NoField,
        _ => FromDomainError::NoAddress,
    })?;
    if authors.from_fields > 1 {
        return Err(FromDomainError::ManyFields(authors.from_fields));
    }
    match authors.authors.as_slice() {
        [one] => one
            .domain
            .as_ref()
            .map(|d| d.to_string())
            .map_err(|_| FromDomainError::NoDomain(one.address.clone())),
        [] => Err(FromDomainError::NoAddress),
        many => Err(FromDomainError::ManyAddresses(many.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn from(header: &str) -> Result<String, FromDomainError> {
        from_domain(
            &Message::parse(format!("{header}\r\nTo: x@y.test\r\n\r\nbody\r\n").as_bytes())
                .unwrap(),
        )
    }

    #[test]
    fn rfc7489_6_6_1_author_domain() {
        assert_eq!(from("From: Joe <joe@Example.COM>").unwrap(), "example.com");
        assert_eq!(
            from("From: joe@example.com (Joe, the \"boss\")").unwrap(),
            "example.com"
        );
        assert_eq!(
            from("From: \"Smith, Joe\" <joe@mail.example.com>").unwrap(),
            "mail.example.com"
        );
        assert_eq!(
            from("From: Joe\r\n <joe@example.com>").unwrap(),
            "example.com"
        );
        let two = from("From: a@example.com, b@example.org")
            .unwrap_err()
            .to_string();
        assert!(two.contains("2 addresses"), "{two}");
        let fields = from("From: a@example.com\r\nFrom: b@example.com")
            .unwrap_err()
            .to_string();
        assert!(fields.contains("2 From fields"), "{fields}");
        assert!(from("From: undisclosed").is_err());
        assert!(from("From: joe@[192.0.2.1]").is_err());
        assert!(
            from("Sender: a@example.com")
                .unwrap_err()
                .to_string()
                .contains("no From")
        );
    }
}
