//! The findings `mailauth check` reports about one DKIM selector (RFC 6376 §3.6.1, RFC 8301,
//! RFC 8463): the key record's syntax, revoked and testing keys, weak RSA keys and SHA-1-only
//! records, and, when the local key store holds the selector's key, whether DNS publishes that
//! key (compared by public key, then by a sign-then-verify probe through the same resolver).
//!
//! This module does not choose which selectors to check; `check` does.

use super::parse::key_record;
use super::sign::{SignOptions, sign, signed_message};
use super::verify::{VerifyOptions, rsa_modulus_bits, rsa_pkcs1, verify};
use super::{DkimKeyRecord, DkimResult, KeyType, build};
use crate::dns::Resolver;
use crate::keys::PrivateKey;
use crate::message::Message;
use crate::report::{Finding, Severity};
use crate::spf::lint::dns_finding;

/// Every finding code this module produces.
pub const CODES: &[&str] = &[
    "dkim.missing",
    "dkim.syntax",
    "dkim.revoked",
    "dkim.testing",
    "dkim.sha1_only",
    "dkim.weak_key",
    "dkim.unknown_key_type",
    "dkim.key_mismatch",
];

/// Why the sign-then-verify probe did not pass; shown inside a `dkim.key_mismatch` message.
#[derive(Debug, thiserror::Error)]
enum ProbeFailure {
    /// The probe message could not be made or signed (a local problem, not DNS's).
    #[error("{0}")]
    Local(String),
    /// The verifier's verdict was not pass.
    #[error("{result}: {reason}")]
    Verdict {
        /// The RFC 8601 word.
        result: &'static str,
        /// The verifier's reason.
        reason: String,
    },
    /// The verifier returned no outcome for the signature.
    #[error("no outcome")]
    NoOutcome,
}

/// Findings about `selector`'s key record at `domain`, compared with `local` (the key store's key
/// for it) when given; the bool says DNS failed.
pub async fn findings(
    resolver: &dyn Resolver,
    domain: &str,
    selector: &str,
    local: Option<&PrivateKey>,
    now: u64,
) -> (Vec<Finding>, bool) {
    let name = format!("{selector}._domainkey.{domain}");
    // When the key store has the key, every fix can say exactly what to publish.
    let publish = local.map(|key| publish_fix(&name, key));
    let records = match resolver.txt(&name).await {
        Ok(records) => records,
        Err(e) if e.is_temporary() => return (vec![dns_finding(&name, &e.to_string())], true),
        Err(_) => Vec::new(),
    };
    let Some(raw) = records.first().map(|r| r.joined()) else {
        let finding = Finding::new(
            "dkim.missing",
            Severity::Error,
            format!("{name} TXT"),
            format!("no key record for selector {selector}: signatures with s={selector} fail"),
            "RFC 6376 §3.6.2.2",
        );
        return (vec![with_fix(finding, &publish)], false);
    };
    let shown = format!("{name} TXT \"{}\"", String::from_utf8_lossy(&raw));
    let record = match key_record(&raw) {
        Ok(record) => record,
        Err(e) => {
            let finding = Finding::new(
                "dkim.syntax",
                Severity::Error,
                shown,
                format!("{e}: verifiers return permerror"),
                "RFC 6376 §3.6.1",
            );
            return (vec![with_fix(finding, &publish)], false);
        }
    };
    let mut out = record_findings(&record, &shown);
    let usable = !out.iter().any(|f| f.severity == Severity::Error);
    if let Some(key) = local
        && !record.public_key.is_empty()
        && let Some(detail) = mismatch(resolver, domain, selector, key, &record, usable, now).await
    {
        let finding = Finding::new(
            "dkim.key_mismatch",
            Severity::Error,
            shown,
            detail,
            "RFC 6376 §3.6.1",
        );
        out.push(with_fix(finding, &publish));
    }
    (out, false)
}

/// "publish NAME IN TXT ..." for the local key, on one line.
fn publish_fix(name: &str, key: &PrivateKey) -> String {
    let record = build::published_record(key);
    let line = crate::dns::zone_txt_line(name, None, record.as_bytes());
    format!("publish {}", line.replace('\n', " "))
}

fn with_fix(mut finding: Finding, fix: &Option<String>) -> Finding {
    finding.fix.clone_from(fix);
    finding
}

/// Why the published key is not the local one, if it is not: compared by public key, then (when
/// the record is otherwise `usable`; else a probe would only repeat its errors) by signing a
/// probe message and verifying it through the same resolver.
async fn mismatch(
    resolver: &dyn Resolver,
    domain: &str,
    selector: &str,
    key: &PrivateKey,
    record: &DkimKeyRecord,
    usable: bool,
    now: u64,
) -> Option<String> {
    if !same_public_key(key, &record.public_key) {
        return Some("the published key is not the key in the local key store".to_owned());
    }
    if !usable {
        return None;
    }
    let reason = probe(resolver, domain, selector, key, now).await.err()?;
    Some(format!(
        "the published key matches the local one, but a probe signature made with it does not verify ({reason})"
    ))
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
    out.extend(key_findings(record, shown));
    out
}

/// Findings about the key itself: its type, and for RSA its size (RFC 8301 §3.2).
fn key_findings(record: &DkimKeyRecord, shown: &str) -> Option<Finding> {
    match record.key_type.to_ascii_lowercase().as_str() {
        "rsa" => match rsa_pkcs1(&record.public_key).and_then(|k| rsa_modulus_bits(&k)) {
            Some(bits) if bits < 1024 => Some(
                Finding::new("dkim.weak_key", Severity::Error, shown, format!("{bits}-bit RSA key: verifiers must reject it"), "RFC 8301 §3.2")
                    .fix("generate a 2048-bit key with `mailauth keygen` and publish it under a new selector"),
            ),
            Some(bits) if bits < 2048 => Some(
                Finding::new("dkim.weak_key", Severity::Warning, shown, format!("{bits}-bit RSA key: accepted, but below the recommended 2048 bits"), "RFC 8301 §3.2")
                    .fix("generate a 2048-bit key with `mailauth keygen` and publish it under a new selector"),
            ),
            Some(_) => None,
            None => Some(Finding::new("dkim.syntax", Severity::Error, shown, "p= is not an RSA public key", "RFC 6376 §3.6.1")),
        },
        "ed25519" if record.public_key.len() != 32 => Some(Finding::new(
            "dkim.syntax",
            Severity::Error,
            shown,
            format!("p= holds {} bytes; an Ed25519 key is 32", record.public_key.len()),
            "RFC 8463 §4",
        )),
        "ed25519" => None,
        other => Some(
            Finding::new("dkim.unknown_key_type", Severity::Error, shown, format!("k={other} is not a key type verifiers know (rsa, ed25519)"), "RFC 6376 §3.6.1")
                .fix("publish k=rsa or k=ed25519"),
        ),
    }
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
) -> Result<(), ProbeFailure> {
    let text = format!(
        "From: mailauth check <postmaster@{domain}>\r\nSubject: key probe\r\n\r\nprobe\r\n"
    );
    let local = |e: &dyn std::fmt::Display| ProbeFailure::Local(e.to_string());
    let message = Message::parse(text.as_bytes()).map_err(|e| local(&e))?;
    let field =
        sign(&message, key, &SignOptions::new(domain, selector, now)).map_err(|e| local(&e))?;
    let signed = Message::parse(&signed_message(&message, &field)).map_err(|e| local(&e))?;
    let outcomes = verify(&signed, resolver, &VerifyOptions::new(now)).await;
    match outcomes.first() {
        Some(o) if o.result == DkimResult::Pass => Ok(()),
        Some(o) => Err(ProbeFailure::Verdict {
            result: o.result.as_str(),
            reason: o.reason.clone().unwrap_or_default(),
        }),
        None => Err(ProbeFailure::NoOutcome),
    }
}
