//! The findings `mailauth check` reports about a domain's DMARC policy (RFC 7489): missing,
//! multiple or unusable records, weak settings, and report destinations that have not
//! authorized reports (RFC 7489 §7.1). Policy discovery itself lives in `eval`.

use super::eval::{Discovery, lookup};
use super::orgdomain::{organizational_domain, relaxed_match};
use super::{DmarcRecord, DmarcSyntaxError, Policy, build};
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
];

fn strength(policy: Policy) -> u8 {
    match policy {
        Policy::None => 0,
        Policy::Quarantine => 1,
        Policy::Reject => 2,
    }
}

/// Findings about `domain`'s DMARC policy; the bool says DNS failed.
pub async fn findings(resolver: &dyn Resolver, domain: &str) -> (Vec<Finding>, bool) {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let name = format!("_dmarc.{domain}");
    // The domain's own record first: several, or a broken one, are findings in themselves;
    // only when it has none does the organizational domain's apply.
    let own = lookup(resolver, &domain).await;
    let own = match own {
        Discovery::None(_) => {
            let org = organizational_domain(&domain);
            if org == domain {
                own
            } else {
                match lookup(resolver, &org).await {
                    Discovery::Multiple { reason, .. } => Discovery::None(reason),
                    other => other,
                }
            }
        }
        other => other,
    };
    let (record, at) = match own {
        Discovery::Found { record, domain } => (record, domain),
        Discovery::TempError(why) => return (vec![dns_finding(&name, &why)], true),
        Discovery::Multiple { count, .. } => {
            let finding = Finding::new(
                "dmarc.multiple",
                Severity::Error,
                format!("{name} TXT"),
                format!("{count} DMARC records: receivers apply no DMARC policy at all"),
                "RFC 7489 §6.6.3",
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
                "RFC 7489 §6.6.3",
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
            "RFC 7489 §6.6.3",
        ));
    }
    let mut dns_failed = false;
    for uri in record.rua.iter().chain(&record.ruf) {
        let dest = uri
            .uri
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        if relaxed_match(&dest, &at) {
            continue;
        }
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
                format!("pct={pct}: the policy applies to only {pct}% of failing mail"),
                "RFC 7489 §6.6.4",
            )
            .fix("raise pct to 100 (or remove it) once the policy is known to be safe"),
        );
    }
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
