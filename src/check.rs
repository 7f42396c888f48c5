//! `mailauth check`: read one domain's published MX, SPF, DMARC and DKIM records through a
//! [`Resolver`] and report every problem as a [`Finding`] with a stable code, the RFC clause and
//! a fix. DKIM keys found in the local key store are compared with what DNS publishes, by public
//! key and by a sign-then-verify probe through the same resolver.

use crate::dkim::parse::key_record;
use crate::dkim::sign::{SignOptions, sign, signed_message};
use crate::dkim::verify::{VerifyOptions, rsa_modulus_bits, rsa_pkcs1, verify};
use crate::dkim::{DkimKeyRecord, DkimResult, KeyType, build};
use crate::dns::{MxRecord, Resolver};
use crate::keys::{KeyStore, PrivateKey};
use crate::message::Message;
use crate::report::{Finding, Report, Severity};
use crate::spf::lint::dns_finding;

/// What to check besides the domain's own records.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// DKIM selectors to check.
    pub selectors: Vec<String>,
    /// A key store whose keys for the domain are checked against DNS.
    pub key_store: Option<KeyStore>,
    /// The time for the DKIM probe signature.
    pub now: u64,
}

/// Check `domain`.
pub async fn check_domain(resolver: &dyn Resolver, domain: &str, options: &CheckOptions) -> Report {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let mut report = Report {
        domain: domain.clone(),
        findings: Vec::new(),
        dns_failed: false,
    };
    let (mx, failed) = mx_findings(resolver, &domain).await;
    report.findings.extend(mx);
    report.dns_failed |= failed;
    let (spf, failed) = crate::spf::lint::findings(resolver, &domain).await;
    report.findings.extend(spf);
    report.dns_failed |= failed;
    let (dmarc, failed) = crate::dmarc::lint::findings(resolver, &domain).await;
    report.findings.extend(dmarc);
    report.dns_failed |= failed;
    let mut selectors = options.selectors.clone();
    if let Some(store) = &options.key_store {
        selectors.extend(store.selectors(&domain));
    }
    selectors.sort();
    selectors.dedup();
    for selector in selectors {
        let local = options
            .key_store
            .as_ref()
            .and_then(|s| s.load(&domain, &selector).ok());
        let (dkim, failed) =
            dkim_findings(resolver, &domain, &selector, local.as_ref(), options.now).await;
        report.findings.extend(dkim);
        report.dns_failed |= failed;
    }
    report
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

async fn dkim_findings(
    resolver: &dyn Resolver,
    domain: &str,
    selector: &str,
    local: Option<&PrivateKey>,
    now: u64,
) -> (Vec<Finding>, bool) {
    let name = format!("{selector}._domainkey.{domain}");
    let shown = format!("{name} TXT");
    let publish = local.map(|key| {
        let record = build::published_record(key);
        format!(
            "publish {}",
            crate::dns::zone_txt_line(&name, None, record.as_bytes()).replace('\n', " ")
        )
    });
    let records = match resolver.txt(&name).await {
        Ok(records) => records,
        Err(e) if e.is_temporary() => return (vec![dns_finding(&name, &e.to_string())], true),
        Err(_) => Vec::new(),
    };
    let Some(raw) = records.first().map(|r| r.joined()) else {
        let mut finding = Finding::new(
            "dkim.missing",
            Severity::Error,
            shown,
            format!("no key record for selector {selector}: signatures with s={selector} fail"),
            "RFC 6376 §3.6.2.2",
        );
        finding.fix = publish;
        return (vec![finding], false);
    };
    let shown = format!("{shown} \"{}\"", String::from_utf8_lossy(&raw));
    let record = match key_record(&raw) {
        Ok(record) => record,
        Err(e) => {
            let mut finding = Finding::new(
                "dkim.syntax",
                Severity::Error,
                shown,
                format!("{e}: verifiers return permerror"),
                "RFC 6376 §3.6.1",
            );
            finding.fix = publish;
            return (vec![finding], false);
        }
    };
    let mut out = record_findings(&record, &shown);
    if let Some(key) = local
        && !record.public_key.is_empty()
    {
        let mismatch = if !same_public_key(key, &record.public_key) {
            Some("the published key is not the key in the local key store".to_owned())
        } else if out.iter().any(|f| f.severity == Severity::Error) {
            // The record is already reported as unusable; a probe would only repeat that.
            None
        } else {
            probe(resolver, domain, selector, key, now).await.err().map(|reason| {
                format!("the published key matches the local one, but a probe signature made with it does not verify ({reason})")
            })
        };
        if let Some(detail) = mismatch {
            let mut finding = Finding::new(
                "dkim.key_mismatch",
                Severity::Error,
                shown,
                detail,
                "RFC 6376 §3.6.1",
            );
            finding.fix = publish;
            out.push(finding);
        }
    }
    (out, false)
}

fn record_findings(record: &DkimKeyRecord, shown: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if record.public_key.is_empty() {
        out.push(Finding::new(
            "dkim.revoked",
            Severity::Warning,
            shown,
            "the key is revoked (empty p=): signatures with this selector fail",
            "RFC 6376 §3.6.1",
        ));
        return out;
    }
    if record.flags.iter().any(|f| f == "y") {
        out.push(
            Finding::new("dkim.testing", Severity::Warning, shown, "t=y: the domain says it is testing DKIM, so verifiers treat its signatures as unsigned mail", "RFC 6376 §3.6.1")
                .fix("remove t=y once signing works"),
        );
    }
    if let Some(hashes) = &record.hashes
        && !hashes.iter().any(|h| h == "sha256")
    {
        out.push(
            Finding::new(
                "dkim.sha1_only",
                Severity::Error,
                shown,
                format!(
                    "h={} allows only sha1, which verifiers no longer accept",
                    hashes.join(":")
                ),
                "RFC 8301 §3.1",
            )
            .fix("use h=sha256 (or drop h=) and sign with rsa-sha256"),
        );
    }
    match record.key_type.to_ascii_lowercase().as_str() {
        "rsa" => match rsa_pkcs1(&record.public_key).and_then(|k| rsa_modulus_bits(&k)) {
            Some(bits) if bits < 1024 => out.push(
                Finding::new("dkim.weak_key", Severity::Error, shown, format!("{bits}-bit RSA key: verifiers must reject it"), "RFC 8301 §3.2")
                    .fix("generate a 2048-bit key with `mailauth keygen` and publish it under a new selector"),
            ),
            Some(bits) if bits < 2048 => out.push(
                Finding::new("dkim.weak_key", Severity::Warning, shown, format!("{bits}-bit RSA key: accepted, but below the recommended 2048 bits"), "RFC 8301 §3.2")
                    .fix("generate a 2048-bit key with `mailauth keygen` and publish it under a new selector"),
            ),
            Some(_) => {}
            None => out.push(Finding::new("dkim.syntax", Severity::Error, shown, "p= is not an RSA public key", "RFC 6376 §3.6.1")),
        },
        "ed25519" if record.public_key.len() != 32 => out.push(Finding::new(
            "dkim.syntax",
            Severity::Error,
            shown,
            format!("p= holds {} bytes; an Ed25519 key is 32", record.public_key.len()),
            "RFC 8463 §4",
        )),
        "ed25519" => {}
        other => out.push(
            Finding::new("dkim.unknown_key_type", Severity::Error, shown, format!("k={other} is not a key type verifiers know (rsa, ed25519)"), "RFC 6376 §3.6.1")
                .fix("publish k=rsa or k=ed25519"),
        ),
    }
    out
}

/// Do the local key and the published p= hold the same public key?
fn same_public_key(key: &PrivateKey, published: &[u8]) -> bool {
    let local = key.public_key_bytes();
    match key.key_type() {
        KeyType::Ed25519 => local == published,
        KeyType::Rsa => rsa_pkcs1(&local).is_some() && rsa_pkcs1(&local) == rsa_pkcs1(published),
    }
}

/// Sign a small message with the local key and verify it through `resolver`.
async fn probe(
    resolver: &dyn Resolver,
    domain: &str,
    selector: &str,
    key: &PrivateKey,
    now: u64,
) -> Result<(), String> {
    let text = format!(
        "From: mailauth check <postmaster@{domain}>\r\nSubject: key probe\r\n\r\nprobe\r\n"
    );
    let message = Message::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    let field =
        sign(&message, key, &SignOptions::new(domain, selector, now)).map_err(|e| e.to_string())?;
    let signed = Message::parse(&signed_message(&message, &field)).map_err(|e| e.to_string())?;
    let outcomes = verify(&signed, resolver, &VerifyOptions::new(now)).await;
    match outcomes.first() {
        Some(o) if o.result == DkimResult::Pass => Ok(()),
        Some(o) => Err(format!(
            "{}: {}",
            o.result.as_str(),
            o.reason.as_deref().unwrap_or("")
        )),
        None => Err("no outcome".into()),
    }
}
