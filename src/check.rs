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
    let (mx, failed, mx_hosts) = mx_findings(resolver, domain).await;
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
    let now = i64::try_from(options.now).unwrap_or(i64::MAX);
    let (dane, failed) = crate::transport::dane::findings(
        resolver,
        domain,
        &mx_hosts,
        options.transport.smtp_port,
        now,
    )
    .await;
    report.findings.extend(dane);
    report.dns_failed |= failed;
    let (sts, failed) = mta_sts_tls_rpt_findings(resolver, domain, &mx_hosts, options).await;
    report.findings.extend(sts);
    report.dns_failed |= failed;
    report
}

/// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460). A missing TLS-RPT record is reported only where
/// MTA-STS or DANE is published: without it, nobody learns that senders fail the policy.
async fn mta_sts_tls_rpt_findings(
    resolver: &dyn Resolver,
    domain: &str,
    mx_hosts: &[String],
    options: &CheckOptions,
) -> (Vec<Finding>, bool) {
    let now = i64::try_from(options.now).unwrap_or(i64::MAX);
    let fetch = options.transport.fetch_options();
    let (mut out, sts_failed) =
        crate::transport::mta_sts::findings(resolver, domain, &fetch, now).await;
    let (rpt, rpt_failed) = crate::transport::tls_rpt::findings(resolver, domain).await;
    let transport_published = if rpt.iter().any(|f| f.code == "tls_rpt.none") {
        publishes(resolver, &format!("_mta-sts.{domain}"), "v=STSv1").await
            || tlsa_published(resolver, mx_hosts).await
    } else {
        false
    };
    out.extend(
        rpt.into_iter()
            .filter(|f| f.code != "tls_rpt.none" || transport_published),
    );
    (out, sts_failed || rpt_failed)
}

/// Whether any MX host has TLSA records at port 25 (DANE, RFC 7672 §2.2).
async fn tlsa_published(resolver: &dyn Resolver, mx_hosts: &[String]) -> bool {
    for host in mx_hosts.iter().filter(|h| !h.is_empty()) {
        let name = crate::transport::dane::tlsa_name(host, 25);
        if resolver
            .tlsa(&name)
            .await
            .is_ok_and(|a| !a.records.is_empty())
        {
            return true;
        }
    }
    false
}

/// Whether some TXT record at `name` starts with `prefix`.
async fn publishes(resolver: &dyn Resolver, name: &str, prefix: &str) -> bool {
    resolver.txt(name).await.is_ok_and(|records| {
        records
            .iter()
            .any(|r| r.joined().starts_with(prefix.as_bytes()))
    })
}

/// The MX findings, whether the lookup failed temporarily, and the MX host names (empty for a
/// null MX or none).
async fn mx_findings(resolver: &dyn Resolver, domain: &str) -> (Vec<Finding>, bool, Vec<String>) {
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
            Vec::new(),
        ),
        Ok(hosts) => (
            Vec::new(),
            false,
            hosts.into_iter().map(|m| m.exchange).collect(),
        ),
        Err(e) if e.is_temporary() => (
            vec![dns_finding(&name, &e.to_string())],
            true,
            Vec::new(),
        ),
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
            Vec::new(),
        ),
    }
}

fn is_null_mx(hosts: &[MxRecord]) -> bool {
    matches!(hosts, [only] if only.exchange.is_empty())
}
