//! `mailauth check`: read one domain's published MX, SPF, DMARC and DKIM records through a
//! [`Resolver`] and report every problem as a [`Finding`] with a stable code, the RFC clause and
//! a fix. This module only orchestrates: the SPF, DMARC and DKIM findings come from each
//! protocol's `lint` module; the MX findings (which belong to no protocol) are made here.

use crate::dns::{MxRecord, Resolver};
use crate::keys::KeyStore;
use crate::report::{Finding, Report, Severity};
use crate::spf::lint::dns_finding;
use mailauth_base::DomainName;

/// The finding codes this module makes itself (MX); see [`crate::report::all_codes`] for all.
pub const CODES: &[&str] = &["mx.none", "mx.null"];

/// What to check besides the domain's own records.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// DKIM selectors to check.
    pub selectors: Vec<String>,
    /// A key store whose keys for the domain are checked against DNS.
    pub key_store: Option<KeyStore>,
    /// The time for the DKIM probe signature.
    pub now: u64,
    /// How the DMARC policy record is discovered: RFC 9989's tree walk (the default) or RFC
    /// 7489's Public Suffix List.
    pub dmarc_standard: crate::dmarc::Standard,
    /// Extra roots, HTTPS port and timeout for the MTA-STS policy fetch.
    pub transport: crate::transport::TransportOptions,
}

/// Check `domain` (parsed and normalised once, by whoever read it).
pub async fn check_domain(
    resolver: &dyn Resolver,
    domain: &DomainName,
    options: &CheckOptions,
) -> Report {
    let domain = domain.as_str();
    let mut report = Report {
        domain: domain.to_owned(),
        findings: Vec::new(),
        dns_failed: false,
    };
    let (mx, failed) = mx_findings(resolver, domain).await;
    report.findings.extend(mx);
    report.dns_failed |= failed;
    let (spf, failed) = crate::spf::lint::findings(resolver, domain).await;
    report.findings.extend(spf);
    report.dns_failed |= failed;
    let (dmarc, failed) =
        crate::dmarc::lint::findings_by(resolver, domain, options.dmarc_standard).await;
    report.findings.extend(dmarc);
    report.dns_failed |= failed;
    let mut selectors = options.selectors.clone();
    if let Some(store) = &options.key_store {
        selectors.extend(store.selectors(domain));
    }
    selectors.sort();
    selectors.dedup();
    for selector in selectors {
        let local = options
            .key_store
            .as_ref()
            .and_then(|s| s.load(domain, &selector).ok());
        let (dkim, failed) =
            crate::dkim::lint::findings(resolver, domain, &selector, local.as_ref(), options.now)
                .await;
        report.findings.extend(dkim);
        report.dns_failed |= failed;
    }
    let (sts, failed) = mta_sts_tls_rpt_findings(resolver, domain, options).await;
    report.findings.extend(sts);
    report.dns_failed |= failed;
    report
}

/// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460). A missing TLS-RPT record is reported only where
/// MTA-STS is published: without it, nobody learns that senders fail the policy.
async fn mta_sts_tls_rpt_findings(
    resolver: &dyn Resolver,
    domain: &str,
    options: &CheckOptions,
) -> (Vec<Finding>, bool) {
    let now = i64::try_from(options.now).unwrap_or(i64::MAX);
    let fetch = options.transport.fetch_options();
    let (mut out, sts_failed) =
        crate::transport::mta_sts::findings(resolver, domain, &fetch, now).await;
    let sts_published = publishes(resolver, &format!("_mta-sts.{domain}"), "v=STSv1").await;
    let (rpt, rpt_failed) = crate::transport::tls_rpt::findings(resolver, domain).await;
    out.extend(
        rpt.into_iter()
            .filter(|f| f.code != "tls_rpt.none" || sts_published),
    );
    (out, sts_failed || rpt_failed)
}

/// Whether some TXT record at `name` starts with `prefix`.
async fn publishes(resolver: &dyn Resolver, name: &str, prefix: &str) -> bool {
    resolver.txt(name).await.is_ok_and(|records| {
        records
            .iter()
            .any(|r| r.joined().starts_with(prefix.as_bytes()))
    })
}

async fn mx_findings(resolver: &dyn Resolver, domain: &str) -> (Vec<Finding>, bool) {
    let name = format!("{domain} MX");
    match resolver.mx(domain).await {
        Ok(hosts) if is_null_mx(&hosts) => (
            vec![Finding::new(
                "mx.null",
                Severity::Info,
                name,
                "null MX: the domain accepts no mail; its SPF record should then be \"v=spf1 -all\"",
                "RFC 7505 §3",
            )],
            false,
        ),
        Ok(_) => (Vec::new(), false),
        Err(e) if e.is_temporary() => (vec![dns_finding(&name, &e.to_string())], true),
        Err(_) => (
            vec![
                Finding::new(
                    "mx.none",
                    Severity::Warning,
                    name,
                    "no MX records: mail is delivered to the domain's address records, if any",
                    "RFC 5321 §5.1",
                )
                .fix(format!("publish {domain}. IN MX 10 mail.{domain}. (or a null MX \"0 .\" if it receives no mail)")),
            ],
            false,
        ),
    }
}

fn is_null_mx(hosts: &[MxRecord]) -> bool {
    matches!(hosts, [only] if only.exchange.is_empty())
}
