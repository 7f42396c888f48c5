//! The findings `mailauth check` reports about a domain's DMARC policy (RFC 7489): missing,
//! multiple or unusable records, weak settings, and report destinations that have not
//! authorized reports (RFC 7489 §7.1), and tags RFC 9989 removed that older receivers still
//! read. Policy discovery itself lives in `eval`.

use super::eval::{Discovery, lookup};
use super::orgdomain::{organizational_domain, relaxed_match};
use super::{DmarcRecord, DmarcSyntaxError, Policy, Standard, build};
use crate::dns::Resolver;
use crate::report::{Finding, Severity};
use crate::spf::lint::dns_finding;

/// Every finding code this module produces.
pub const CODES: &[&str] = &[
    "dmarc.none",
    "dmarc.multiple",
    "dmarc.syntax",
    "dmarc.bad_uri",
    "dmarc.p_none",
    "dmarc.pct",
    "dmarc.no_rua",
    "dmarc.sp_weaker",
    "dmarc.inherited",
    "dmarc.external_unauthorized",
    "dmarc.legacy_tags",
    "dmarc.standards_differ",
    "dmarc.external_unchecked",
];

fn strength(policy: Policy) -> u8 {
    match policy {
        Policy::None => 0,
        Policy::Quarantine => 1,
        Policy::Reject => 2,
    }
}

/// Findings about `domain`'s DMARC policy; the bool says DNS failed. The findings about the
/// record follow RFC 7489's discovery; where RFC 9989's tree walk would find a different policy
/// record, organizational domain or policy, `dmarc.standards_differ` shows both answers.
pub async fn findings(resolver: &dyn Resolver, domain: &str) -> (Vec<Finding>, bool) {
    findings_by(resolver, domain, Standard::Rfc9989).await
}

/// [`findings`] with the policy record discovered as `standard` says: RFC 9989's DNS tree walk
/// (the default) or RFC 7489's Public Suffix List. The domain's own record is linted the same
/// way under both; they differ in which record applies when the domain has none.
pub async fn findings_by(
    resolver: &dyn Resolver,
    domain: &str,
    standard: Standard,
) -> (Vec<Finding>, bool) {
    let answers = Answers::ask(resolver, domain).await;
    let (mut out, dns_failed) = record_findings_for(resolver, &answers, standard).await;
    if !dns_failed && let Some(differ) = standards_differ(&answers) {
        out.push(differ);
    }
    (out, dns_failed)
}

/// The DNS answers both standards' views are made from, each asked once: the domain's own
/// record, the PSL organizational domain's (RFC 7489, only when the domain has none) and the
/// RFC 9989 tree walk.
struct Answers {
    domain: String,
    org_7489: String,
    own: Discovery,
    inherited_7489: Option<Discovery>,
    walk: super::discovery::Discovery,
}

impl Answers {
    async fn ask(resolver: &dyn Resolver, domain: &str) -> Answers {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let org_7489 = organizational_domain(&domain);
        let own = lookup(resolver, &domain).await;
        let inherited_7489 = match own {
            Discovery::None(_) if org_7489 != domain => Some(lookup(resolver, &org_7489).await),
            _ => None,
        };
        let walk = super::discovery::discover(resolver, &domain).await;
        Answers {
            domain,
            org_7489,
            own,
            inherited_7489,
            walk,
        }
    }
}

/// What one standard answers for a domain: where its policy record is, the policy applied to
/// the domain, and its organizational domain.
#[derive(Debug, PartialEq, Eq)]
struct View {
    record_at: Option<String>,
    policy: Option<Policy>,
    organizational_domain: String,
}

impl View {
    fn new(
        domain: &str,
        found: Option<(DmarcRecord, String)>,
        organizational_domain: String,
    ) -> View {
        let (record_at, policy) = match found {
            // A subdomain without its own record gets sp= (p= when sp= is absent).
            Some((record, at)) if at != domain => {
                (Some(at), record.subdomain_policy.or(record.policy))
            }
            Some((record, at)) => (Some(at), record.policy),
            None => (None, None),
        };
        View {
            record_at,
            policy,
            organizational_domain,
        }
    }

    fn describe(&self) -> String {
        let record = match (&self.record_at, self.policy) {
            (Some(at), Some(p)) => format!("policy record _dmarc.{at} (policy {})", p.as_str()),
            (Some(at), None) => format!("policy record _dmarc.{at} (no usable policy)"),
            (None, _) => "no policy record".to_owned(),
        };
        format!(
            "{record}, organizational domain {}",
            self.organizational_domain
        )
    }
}

/// A record that is there but gives no policy.
fn unusable() -> DmarcRecord {
    let mut record = DmarcRecord::new(Policy::None);
    record.policy = None;
    record
}

/// RFC 7489 §6.6.3 (the domain's record, else the PSL organizational domain's) beside RFC 9989
/// §4.10 (the DNS tree walk). `None` when they agree or a lookup failed temporarily.
fn standards_differ(answers: &Answers) -> Option<Finding> {
    let domain = answers.domain.as_str();
    let found = |discovery: &Discovery| match discovery {
        Discovery::Found { record, domain } => Some(Some((record.clone(), domain.clone()))),
        Discovery::TempError(_) => None,
        // A record RFC 7489 cannot use is still where its receivers stop (RFC 7489 §6.6.3).
        Discovery::PermError { domain, .. } => Some(Some((unusable(), domain.clone()))),
        _ => Some(None),
    };
    let found_7489 = match (&answers.own, &answers.inherited_7489) {
        (Discovery::None(_), Some(inherited)) => match inherited {
            Discovery::PermError { .. } => Some(None),
            other => found(other),
        },
        (own, _) => found(own),
    }?;
    let old = View::new(domain, found_7489, answers.org_7489.clone());
    let walk = &answers.walk;
    let found_9989 = match &walk.policy {
        super::discovery::PolicyRecord::Found { record, domain } => {
            Some((record.clone(), domain.clone()))
        }
        super::discovery::PolicyRecord::Unusable { domain, .. } => {
            Some((unusable(), domain.clone()))
        }
        super::discovery::PolicyRecord::TempError(_) => return None,
        _ => None,
    };
    let new = View::new(domain, found_9989, walk.organizational_domain.clone());
    if old == new {
        return None;
    }
    Some(
        Finding::new(
            "dmarc.standards_differ",
            Severity::Warning,
            format!("_dmarc.{domain} TXT"),
            format!(
                "RFC 7489 and RFC 9989 receivers judge {domain} differently: RFC 7489 (Public Suffix List): {}; RFC 9989 (DNS tree walk): {}",
                old.describe(),
                new.describe()
            ),
            "RFC 9989 §4.10",
        )
        .seen(format!(
            "queried {}",
            walk.walk.queried().join(", ")
        ))
        .fix(format!(
            "publish the policy at _dmarc.{domain} itself (or psd=n at your organizational domain) so both find the same record"
        )),
    )
}

/// The most distinct external report destinations whose authorization (RFC 7489 §7.1) one
/// record's check looks up, each once: a 64 KB record can list thousands of URIs, and one
/// finding per URI would repeat the record thousands of times. Receivers may limit the URIs
/// they send to as well (RFC 7489 §6.2: at least two).
const MAX_EXTERNAL_DESTINATIONS: usize = 16;

/// Where the applying record is when the domain has none of its own: RFC 9989 §4.10.1 (the
/// tree walk's Organizational Domain, else its Public Suffix Domain).
fn inherited_rfc9989(walk: &super::discovery::Discovery, own: Discovery) -> Discovery {
    use super::discovery::PolicyRecord;
    match walk.policy.clone() {
        PolicyRecord::Found { record, domain } => Discovery::Found { record, domain },
        PolicyRecord::Unusable {
            domain,
            text,
            error,
        } => Discovery::PermError {
            record: text,
            domain,
            error,
        },
        PolicyRecord::TempError(why) => Discovery::TempError(why),
        _ => own,
    }
}

async fn record_findings_for(
    resolver: &dyn Resolver,
    answers: &Answers,
    standard: Standard,
) -> (Vec<Finding>, bool) {
    let domain = answers.domain.as_str();
    let name = format!("_dmarc.{domain}");
    let discovery_rfc = match standard {
        Standard::Rfc9989 => "RFC 9989 §4.10.1",
        Standard::Rfc7489 => "RFC 7489 §6.6.3",
    };
    // The domain's own record first: several, or a broken one, are findings in themselves;
    // only when it has none does the organizational domain's apply.
    let own = match (&answers.own, &answers.inherited_7489) {
        (Discovery::None(_), _) if standard == Standard::Rfc9989 => {
            inherited_rfc9989(&answers.walk, answers.own.clone())
        }
        (Discovery::None(_), Some(Discovery::Multiple { reason, .. })) => {
            Discovery::None(reason.clone())
        }
        (Discovery::None(_), Some(inherited)) => inherited.clone(),
        (own, _) => own.clone(),
    };
    let (record, at) = match own {
        Discovery::Found { record, domain } => (record, domain),
        Discovery::TempError(why) => return (vec![dns_finding(&name, &why)], true),
        Discovery::Multiple { count, .. } => {
            let effect = match standard {
                Standard::Rfc9989 => {
                    "RFC 9989 receivers discard them all and take the policy from above"
                }
                Standard::Rfc7489 => "RFC 7489 receivers apply no DMARC policy at all",
            };
            let finding = Finding::new(
                "dmarc.multiple",
                Severity::Error,
                format!("{name} TXT"),
                format!("{count} DMARC records: {effect}"),
                match standard {
                    Standard::Rfc9989 => "RFC 9989 §4.10",
                    Standard::Rfc7489 => "RFC 7489 §6.6.3",
                },
            )
            .fix("keep exactly one v=DMARC1 record");
            return (vec![finding], false);
        }
        Discovery::PermError {
            record,
            domain: at,
            error,
        } => return (vec![syntax_finding(&record, &at, &error)], false),
        Discovery::None(_) => {
            let finding = Finding::new(
                "dmarc.none",
                Severity::Warning,
                format!("{name} TXT"),
                "no DMARC policy: receivers apply none, and nobody sends you reports",
                discovery_rfc,
            )
            .fix(format!("publish {name}. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@{domain}\", then tighten p= as reports allow"));
            return (vec![finding], false);
        }
    };
    let shown = format!("_dmarc.{at} TXT \"{}\"", build::record(&record));
    let mut out = record_findings(&record, &shown, &at);
    if at != domain {
        out.push(Finding::new(
            "dmarc.inherited",
            Severity::Info,
            shown.clone(),
            format!(
                "{domain} has no record of its own; the organizational domain's {} applies",
                if record.subdomain_policy.is_some() {
                    "sp="
                } else {
                    "p="
                }
            ),
            discovery_rfc,
        ));
    }
    let mut dns_failed = false;
    let mut checked = std::collections::HashSet::new();
    let mut unchecked = std::collections::BTreeSet::new();
    for uri in record.rua.iter().chain(&record.ruf) {
        let dest = uri
            .uri
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        if relaxed_match(&dest, &at) || checked.contains(&dest) || unchecked.contains(&dest) {
            continue;
        }
        if checked.len() >= MAX_EXTERNAL_DESTINATIONS {
            unchecked.insert(dest);
            continue;
        }
        checked.insert(dest.clone());
        let auth = format!("{at}._report._dmarc.{dest}");
        let authorized = match resolver.txt(&auth).await {
            Ok(records) => records.iter().any(|r| r.joined().starts_with(b"v=DMARC1")),
            Err(e) if e.is_temporary() => {
                dns_failed = true;
                out.push(dns_finding(&auth, &e.to_string()));
                continue;
            }
            Err(_) => false,
        };
        if !authorized {
            out.push(
                Finding::new(
                    "dmarc.external_unauthorized",
                    Severity::Error,
                    shown.clone(),
                    format!("reports go to {dest}, which has not authorized them: receivers will not send them"),
                    "RFC 7489 §7.1",
                )
                .fix(format!("ask {dest} to publish {auth}. IN TXT \"v=DMARC1\"")),
            );
        }
    }
    if let Some(first) = unchecked.first() {
        out.push(Finding::new(
            "dmarc.external_unchecked",
            Severity::Info,
            shown,
            format!(
                "{} more external report destinations ({first}, ...) were not checked for authorization: only the first {MAX_EXTERNAL_DESTINATIONS} are",
                unchecked.len()
            ),
            "RFC 7489 §7.1",
        ));
    }
    (out, dns_failed)
}

/// A record that cannot be used: a bad report URI is its own code, since the fix differs.
fn syntax_finding(record: &str, at: &str, error: &DmarcSyntaxError) -> Finding {
    let shown = format!("_dmarc.{at} TXT \"{record}\"");
    let reason = format!("_dmarc.{at}: {error}");
    if error.is_report_uri() {
        Finding::new(
            "dmarc.bad_uri",
            Severity::Error,
            shown,
            reason,
            "RFC 7489 §6.2",
        )
        .fix("write report addresses as mailto:user@domain, separated by commas")
    } else {
        Finding::new(
            "dmarc.syntax",
            Severity::Error,
            shown,
            reason,
            "RFC 7489 §6.3",
        )
        .fix("publish a valid record, e.g. \"v=DMARC1; p=none; rua=mailto:dmarc@DOMAIN\"")
    }
}

/// The tags of `record` that RFC 9989 removed (its Appendix C.5.2, Tags Removed), as written.
pub fn legacy_tags(record: &DmarcRecord) -> Vec<String> {
    let mut tags = Vec::new();
    if let Some(pct) = record.pct {
        tags.push(format!("pct={pct}"));
    }
    if let Some(rf) = &record.rf {
        tags.push(format!("rf={rf}"));
    }
    if let Some(ri) = record.ri {
        tags.push(format!("ri={ri}"));
    }
    tags
}

/// `dmarc.legacy_tags`: receivers following RFC 9989 ignore `pct=`, `rf=` and `ri=` (so `pct`
/// below 100 no longer softens the policy for them), while RFC 7489 receivers still act on them.
fn legacy_tags_finding(record: &DmarcRecord, shown: &str) -> Option<Finding> {
    let tags = legacy_tags(record);
    if tags.is_empty() {
        return None;
    }
    let pct_effect = match record.pct {
        Some(pct) if pct < 100 => {
            format!("; RFC 9989 receivers apply the policy to all failing mail, not {pct}%")
        }
        _ => String::new(),
    };
    let fix = if record.pct == Some(0) {
        "add t=y, RFC 9989's successor to pct=0, keeping pct=0 while RFC 7489 receivers remain; drop rf= and ri="
    } else {
        "drop pct=, rf= and ri= (t=y asks RFC 9989 receivers for one level below the policy while testing)"
    };
    Some(
        Finding::new(
            "dmarc.legacy_tags",
            Severity::Warning,
            shown,
            format!(
                "{}: RFC 9989 removed these tags and its receivers ignore them, but receivers still on RFC 7489 read them{pct_effect}",
                tags.join(", ")
            ),
            "RFC 9989 §C.5.2",
        )
        .fix(fix),
    )
}

fn record_findings(record: &DmarcRecord, shown: &str, at: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let p = record.policy.unwrap_or(Policy::None);
    if p == Policy::None {
        out.push(
            Finding::new("dmarc.p_none", Severity::Warning, shown, "p=none only monitors: spoofed mail is still delivered", "RFC 7489 §6.3")
                .fix("once aggregate reports show your own mail passing, move to p=quarantine, then p=reject"),
        );
    }
    if let Some(pct) = record.pct
        && pct < 100
    {
        out.push(
            Finding::new(
                "dmarc.pct",
                Severity::Warning,
                shown,
                format!(
                    "pct={pct}: receivers still on RFC 7489 apply the policy to only {pct}% of failing mail (RFC 9989 receivers ignore pct=)"
                ),
                "RFC 7489 §6.6.4",
            )
            .fix("raise pct to 100 (or remove it) once the policy is known to be safe"),
        );
    }
    out.extend(legacy_tags_finding(record, shown));
    if record.rua.is_empty() {
        out.push(
            Finding::new(
                "dmarc.no_rua",
                Severity::Warning,
                shown,
                "no rua=: you receive no aggregate reports to see who sends as you",
                "RFC 7489 §7.2",
            )
            .fix(format!("add rua=mailto:dmarc@{at}")),
        );
    }
    if let Some(sp) = record.subdomain_policy
        && strength(sp) < strength(p)
    {
        out.push(
            Finding::new(
                "dmarc.sp_weaker",
                Severity::Warning,
                shown,
                format!(
                    "sp={} is weaker than p={}: subdomains are easier to spoof",
                    sp.as_str(),
                    p.as_str()
                ),
                "RFC 7489 §6.3",
            )
            .fix(format!("set sp={} or remove sp=", p.as_str())),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dmarc::parse;

    /// RFC 9989 Appendix C.5.2 (Tags Removed): pct, rf and ri are named as written; a record
    /// without them has none, and the RFC 9989 tags are not taken for removed ones.
    #[test]
    fn rfc9989_c_5_2_removed_tags_are_found() {
        let legacy =
            parse::record(b"v=DMARC1; p=reject; pct=0; rua=mailto:d@example.com; rf=afrf; ri=3600")
                .unwrap();
        assert_eq!(legacy_tags(&legacy), ["pct=0", "rf=afrf", "ri=3600"]);
        let finding = legacy_tags_finding(&legacy, "shown").unwrap();
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.message.contains("RFC 7489"), "{finding:?}");
        assert!(
            finding.message.contains("all failing mail, not 0%"),
            "{finding:?}"
        );
        assert!(
            finding.fix.as_deref().unwrap_or("").contains("t=y"),
            "{finding:?}"
        );
        let current =
            parse::record(b"v=DMARC1; p=reject; np=reject; psd=n; t=y; rua=mailto:d@example.com")
                .unwrap();
        assert!(legacy_tags(&current).is_empty());
        assert!(legacy_tags_finding(&current, "shown").is_none());
    }
}
