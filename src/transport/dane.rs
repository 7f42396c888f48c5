//! DANE for SMTP (RFC 7672): TLSA records (RFC 6698) at `_PORT._tcp.MX`, computed from
//! certificates, looked up with their DNSSEC status, and matched against a server's chain.
//!
//! The builders ([`tlsa_for_cert`], [`tlsa_for_spki`], [`spki_of_key_file`]) are pure or read
//! one local file; they never touch the network. The check ([`findings`]) takes a
//! [`crate::dns::Resolver`] and `now`, and only dials the MX hosts when asked to (`live`).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use mailauth_providers::Tlsa;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::{PemObject, SectionKind};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::dns::{DnsError, Resolver};
use crate::report::{Finding, Severity};
use crate::smtp::client::{Endpoint, Session, has_extension};

/// The finding codes this module reports.
pub const CODES: &[&str] = &[
    "dane.none",
    "dane.unsigned",
    "dane.bogus",
    "dane.usage_ignored",
    "dane.bad_params",
    "dane.single_record",
    "dane.partial",
    "dane.no_match",
];

/// The port whose TLSA records SMTP to an MX uses (RFC 7672 §2.2.3), whatever port a test
/// connects to.
pub const SMTP_PORT: u16 = 25;

/// Certificate and key files larger than this are refused (a chain is a few KiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// TLSA certificate usage (RFC 6698 §2.1.1, names from RFC 7218 §2.1).
pub mod usage {
    /// PKIX-TA(0): a CA in the PKIX path; ignored for SMTP (RFC 7672 §3.1.3).
    pub const PKIX_TA: u8 = 0;
    /// PKIX-EE(1): the end entity, PKIX-validated; ignored for SMTP (RFC 7672 §3.1.3).
    pub const PKIX_EE: u8 = 1;
    /// DANE-TA(2): a trust anchor the chain must lead to (RFC 7672 §3.1.2).
    pub const DANE_TA: u8 = 2;
    /// DANE-EE(3): the end entity itself, names and expiry ignored (RFC 7672 §3.1.1).
    pub const DANE_EE: u8 = 3;
}

/// TLSA selector (RFC 6698 §2.1.2).
pub mod selector {
    /// Cert(0): the whole DER certificate.
    pub const CERT: u8 = 0;
    /// SPKI(1): the DER SubjectPublicKeyInfo.
    pub const SPKI: u8 = 1;
}

/// TLSA matching type (RFC 6698 §2.1.3).
pub mod matching {
    /// Full(0): the selected bytes themselves.
    pub const FULL: u8 = 0;
    /// SHA2-256(1).
    pub const SHA256: u8 = 1;
    /// SHA2-512(2).
    pub const SHA512: u8 = 2;
}

/// Why a TLSA record could not be computed, or a file or server could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaneError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: larger than {MAX_FILE_BYTES} bytes; not a certificate or key file")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// The file holds no certificate (neither PEM `CERTIFICATE` blocks nor one DER certificate).
    #[error("{path}: no certificate found (expected PEM CERTIFICATE blocks or a DER certificate)")]
    NoCertificate {
        /// The file.
        path: String,
    },
    /// A certificate could not be parsed as X.509.
    #[error("{source_name}: certificate cannot be parsed as X.509: {reason}")]
    BadCertificate {
        /// The file (and block number) or "certificate".
        source_name: String,
        /// What the parser said.
        reason: String,
    },
    /// The file holds no key.
    #[error(
        "{path}: no key found (expected a PEM PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY or CERTIFICATE block)"
    )]
    NoKey {
        /// The file.
        path: String,
    },
    /// The key is encrypted with a passphrase.
    #[error(
        "{path}: the key is encrypted with a passphrase; decrypt it first (openssl pkey -in KEY -out PLAIN.pem) or give its public key (openssl pkey -in KEY -pubout)"
    )]
    EncryptedKey {
        /// The file.
        path: String,
    },
    /// The key block could not be read as a key of a supported type.
    #[error("{path}: cannot read the key: {reason}")]
    BadKey {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A usage, selector or matching type outside what RFC 6698 defines.
    #[error("TLSA parameters {usage} {selector} {matching}: {reason}")]
    BadParameters {
        /// Certificate usage.
        usage: u8,
        /// Selector.
        selector: u8,
        /// Matching type.
        matching: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// The SMTP server could not be reached, refused STARTTLS or the TLS handshake failed.
    #[error("{host} [{addr}]:{port}: {reason}")]
    Live {
        /// The MX host.
        host: String,
        /// The address dialled.
        addr: std::net::IpAddr,
        /// The port.
        port: u16,
        /// What went wrong.
        reason: String,
        /// Whether retrying later may help (network failures, timeouts).
        temporary: bool,
    },
}

impl DaneError {
    /// A failure that may go away when retried (a server that did not answer).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            DaneError::Live {
                temporary: true,
                ..
            }
        )
    }
}

/// The owner name of the TLSA records for `host` at `port` (RFC 6698 §3, RFC 7672 §2.2.3):
/// `_25._tcp.mx.example.com`, lower case, without a trailing dot.
pub fn tlsa_name(host: &str, port: u16) -> String {
    format!(
        "_{port}._tcp.{}",
        crate::dns::normalize_name(host.trim_start_matches('.'))
    )
}

/// The TLSA record `usage selector matching` for a DER certificate (RFC 6698 §2.1): selector 0
/// takes the whole certificate, 1 its SubjectPublicKeyInfo; matching 0 keeps the bytes, 1 and 2
/// hash them with SHA-256 and SHA-512.
pub fn tlsa_for_cert(der: &[u8], usage: u8, selector: u8, matching: u8) -> Result<Tlsa, DaneError> {
    let bad = |reason| DaneError::BadParameters {
        usage,
        selector,
        matching,
        reason,
    };
    if usage > usage::DANE_EE {
        return Err(bad("certificate usage must be 0-3 (RFC 6698 §2.1.1)"));
    }
    if matching > matching::SHA512 {
        return Err(bad("matching type must be 0-2 (RFC 6698 §2.1.3)"));
    }
    let selected = match selector {
        selector::CERT => {
            parse_cert(der, "certificate")?;
            der.to_vec()
        }
        selector::SPKI => spki_of_cert(der, "certificate")?,
        _ => return Err(bad("selector must be 0 or 1 (RFC 6698 §2.1.2)")),
    };
    Ok(Tlsa {
        usage,
        selector,
        matching,
        data: association_data(&selected, matching),
    })
}

/// The DANE-EE SPKI record `3 1 MATCHING` for a DER SubjectPublicKeyInfo, the shape RFC 7672
/// §3.1.1 recommends (with matching 1). A matching type above 2 is taken as 1 (SHA-256).
pub fn tlsa_for_spki(spki_der: &[u8], matching: u8) -> Tlsa {
    let matching = if matching > matching::SHA512 {
        matching::SHA256
    } else {
        matching
    };
    Tlsa {
        usage: usage::DANE_EE,
        selector: selector::SPKI,
        matching,
        data: association_data(spki_der, matching),
    }
}

/// The certificate association data for `selected` bytes (RFC 6698 §2.1.3); matching types
/// above 2 are the caller's to refuse and give the bytes unchanged here.
fn association_data(selected: &[u8], matching: u8) -> Vec<u8> {
    use aws_lc_rs::digest::{SHA256, SHA512, digest};
    match matching {
        matching::SHA256 => digest(&SHA256, selected).as_ref().to_vec(),
        matching::SHA512 => digest(&SHA512, selected).as_ref().to_vec(),
        _ => selected.to_vec(),
    }
}

/// The digest length a matching type requires, `None` for Full(0) (any length) or an unknown
/// type.
pub fn digest_len(matching: u8) -> Option<usize> {
    match matching {
        matching::SHA256 => Some(32),
        matching::SHA512 => Some(64),
        _ => None,
    }
}

/// Whether `record` selects the same bytes as `cert_der` (its selector and matching type applied
/// to the certificate). Unknown selectors or matching types never match (RFC 6698 §4.1).
pub fn record_matches_cert(record: &Tlsa, cert_der: &[u8]) -> bool {
    if record.matching > matching::SHA512 {
        return false;
    }
    let selected = match record.selector {
        selector::CERT => cert_der.to_vec(),
        selector::SPKI => match spki_of_cert(cert_der, "certificate") {
            Ok(spki) => spki,
            Err(_) => return false,
        },
        _ => return false,
    };
    association_data(&selected, record.matching) == record.data
}

fn parse_cert<'a>(der: &'a [u8], source_name: &str) -> Result<X509Certificate<'a>, DaneError> {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(DaneError::BadCertificate {
            source_name: source_name.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// The DER SubjectPublicKeyInfo of a DER certificate, exactly as it appears in the certificate.
fn spki_of_cert(der: &[u8], source_name: &str) -> Result<Vec<u8>, DaneError> {
    let cert = parse_cert(der, source_name)?;
    Ok(cert.tbs_certificate.subject_pki.raw.to_vec())
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, DaneError> {
    use std::io::Read;
    let name = path.display().to_string();
    let read_err = |source| DaneError::Read {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DaneError::TooLarge { path: name });
    }
    Ok(bytes)
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The PEM sections of `bytes` that rustls-pki-types recognises, in order.
fn pem_sections(bytes: &[u8], path: &str) -> Result<Vec<(SectionKind, Vec<u8>)>, DaneError> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DaneError::BadCertificate {
            source_name: path.to_owned(),
            reason: format!("bad PEM: {e}"),
        })
}

/// The certificates in a file: every PEM `CERTIFICATE` block in order (leaf first in a chain
/// file), or the whole file as one DER certificate. Each is checked to parse as X.509.
pub fn read_cert_file(path: impl AsRef<Path>) -> Result<Vec<Vec<u8>>, DaneError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = read_bounded(path)?;
    let certs: Vec<Vec<u8>> = if is_pem(&bytes) {
        pem_sections(&bytes, &name)?
            .into_iter()
            .filter(|(kind, _)| *kind == SectionKind::Certificate)
            .map(|(_, der)| der)
            .collect()
    } else if bytes.first() == Some(&0x30) {
        vec![bytes]
    } else {
        Vec::new()
    };
    if certs.is_empty() {
        return Err(DaneError::NoCertificate { path: name });
    }
    for (i, der) in certs.iter().enumerate() {
        parse_cert(der, &format!("{name} (certificate #{})", i + 1))?;
    }
    Ok(certs)
}

/// The DER SubjectPublicKeyInfo of the key in a PEM file: a private key (PKCS#8 `PRIVATE KEY`
/// with RSA, EC P-256/P-384/P-521 or Ed25519; PKCS#1 `RSA PRIVATE KEY`; SEC1 `EC PRIVATE KEY`),
/// a `PUBLIC KEY`, or a `CERTIFICATE` (its key). This is what a `3 1 x` record hashes, so a next
/// key can be published before its certificate exists (RFC 7671 §8.1). The private key is only
/// used to derive its public half and is never returned or printed.
pub fn spki_of_key_file(path: impl AsRef<Path>) -> Result<Vec<u8>, DaneError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = read_bounded(path)?;
    if !is_pem(&bytes) {
        return Err(DaneError::NoKey { path: name });
    }
    let sections = pem_sections(&bytes, &name)?;
    let Some((kind, der)) = sections.into_iter().find(|(kind, _)| {
        matches!(
            kind,
            SectionKind::PrivateKey
                | SectionKind::RsaPrivateKey
                | SectionKind::EcPrivateKey
                | SectionKind::PublicKey
                | SectionKind::Certificate
        )
    }) else {
        let encrypted = bytes.windows(9).any(|w| w == b"ENCRYPTED");
        return Err(if encrypted {
            DaneError::EncryptedKey { path: name }
        } else {
            DaneError::NoKey { path: name }
        });
    };
    spki_of_section(kind, &der, &name)
}

fn spki_of_section(kind: SectionKind, der: &[u8], path: &str) -> Result<Vec<u8>, DaneError> {
    let bad = |reason: String| DaneError::BadKey {
        path: path.to_owned(),
        reason,
    };
    match kind {
        SectionKind::Certificate => spki_of_cert(der, path),
        SectionKind::PublicKey => {
            check_spki(der).map_err(bad)?;
            Ok(der.to_vec())
        }
        SectionKind::RsaPrivateKey => {
            use aws_lc_rs::signature::KeyPair;
            let key = aws_lc_rs::rsa::KeyPair::from_der(der)
                .map_err(|e| bad(format!("not a PKCS#1 RSA private key ({e})")))?;
            public_der(key.public_key()).map_err(bad)
        }
        SectionKind::EcPrivateKey => ec_spki(der)
            .ok_or_else(|| bad("not a SEC1 EC private key on P-256, P-384 or P-521".to_owned())),
        _ => pkcs8_spki(der).ok_or_else(|| {
            bad("not a PKCS#8 RSA, EC (P-256, P-384, P-521) or Ed25519 private key".to_owned())
        }),
    }
}

/// A DER SubjectPublicKeyInfo parses, with nothing after it.
fn check_spki(der: &[u8]) -> Result<(), String> {
    match x509_parser::x509::SubjectPublicKeyInfo::from_der(der) {
        Ok(([], _)) => Ok(()),
        Ok(_) => Err("trailing data after the public key".to_owned()),
        Err(e) => Err(format!("not a SubjectPublicKeyInfo ({e})")),
    }
}

fn public_der(
    key: &impl aws_lc_rs::encoding::AsDer<aws_lc_rs::encoding::PublicKeyX509Der<'static>>,
) -> Result<Vec<u8>, String> {
    key.as_der()
        .map(|der| der.as_ref().to_vec())
        .map_err(|_| "cannot encode its public key".to_owned())
}

const EC_CURVES: [&aws_lc_rs::signature::EcdsaSigningAlgorithm; 3] = [
    &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
    &aws_lc_rs::signature::ECDSA_P521_SHA512_ASN1_SIGNING,
];

fn ec_spki(der: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::signature::KeyPair;
    EC_CURVES.iter().find_map(|alg| {
        let key = aws_lc_rs::signature::EcdsaKeyPair::from_private_key_der(alg, der).ok()?;
        public_der(key.public_key()).ok()
    })
}

fn pkcs8_spki(der: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::signature::KeyPair;
    if let Ok(key) = aws_lc_rs::rsa::KeyPair::from_pkcs8(der) {
        return public_der(key.public_key()).ok();
    }
    if let Ok(key) = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        return public_der(key.public_key()).ok();
    }
    EC_CURVES.iter().find_map(|alg| {
        let key = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(alg, der).ok()?;
        public_der(key.public_key()).ok()
    })
}

/// What matching a server's chain against TLSA records found (RFC 7672 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Match {
    /// This usable record authenticates the chain.
    Matched(Tlsa),
    /// There were usable records (usage 2 or 3 with known selector and matching type, digest of
    /// the right length) and none authenticates the chain.
    NoMatch,
    /// No record is usable for SMTP, so DANE authenticates nothing.
    NoUsableRecords,
}

/// Why a record cannot be used for SMTP (RFC 7672 §3.1.3, RFC 6698 §2.1), `None` if it can.
pub fn unusable_reason(record: &Tlsa) -> Option<String> {
    match record.usage {
        usage::PKIX_TA | usage::PKIX_EE => {
            return Some(format!(
                "usage {} ({}) is not used for SMTP: senders ignore it",
                record.usage,
                if record.usage == usage::PKIX_TA {
                    "PKIX-TA"
                } else {
                    "PKIX-EE"
                }
            ));
        }
        usage::DANE_TA | usage::DANE_EE => {}
        other => return Some(format!("unknown certificate usage {other}")),
    }
    if record.selector > selector::SPKI {
        return Some(format!("unknown selector {}", record.selector));
    }
    if record.matching > matching::SHA512 {
        return Some(format!("unknown matching type {}", record.matching));
    }
    match digest_len(record.matching) {
        Some(len) if record.data.len() != len => Some(format!(
            "matching type {} needs {len} bytes of data, the record has {}",
            record.matching,
            record.data.len()
        )),
        _ => None,
    }
}

/// Match `records` against the `chain` (leaf first) an MX host `host` presented, at `now`
/// (Unix seconds), as RFC 7672 §3.1 has a sending MTA do: DANE-EE(3) records match the leaf
/// alone, its names and dates ignored (§3.1.1); a DANE-TA(2) record matches an issuer in the
/// chain, and the leaf must then chain to it, be valid at `now` and carry `host` (§3.1.2,
/// §3.2.2); PKIX-TA(0) and PKIX-EE(1) records are not used (§3.1.3). A DANE-TA record whose
/// trust anchor is not in the chain (a bare key) is not supported and does not match.
pub fn chain_matches(
    records: &[Tlsa],
    chain: &[CertificateDer<'_>],
    host: &str,
    now: i64,
) -> Match {
    let usable: Vec<&Tlsa> = records
        .iter()
        .filter(|r| unusable_reason(r).is_none())
        .collect();
    if usable.is_empty() {
        return Match::NoUsableRecords;
    }
    let Some(leaf) = chain.first() else {
        return Match::NoMatch;
    };
    for record in usable {
        let matched = match record.usage {
            usage::DANE_EE => record_matches_cert(record, leaf),
            _ => (1..chain.len()).any(|i| {
                record_matches_cert(record, &chain[i]) && ta_chain_ok(chain, i, host, now)
            }),
        };
        if matched {
            return Match::Matched(record.clone());
        }
    }
    Match::NoMatch
}

/// The leaf chains to `chain[ta]` (taken as the only anchor besides webpki's), carries `host`
/// and is within its validity at `now`.
fn ta_chain_ok(chain: &[CertificateDer<'_>], ta: usize, host: &str, now: i64) -> bool {
    let anchor = CertificateDer::from(chain[ta].as_ref().to_vec());
    match crate::smtp::cert::examine(&chain[..=ta], host, &[anchor], now) {
        Ok(info) => {
            info.trusted.is_ok()
                && info.name_matches
                && info.not_before <= now
                && now <= info.not_after
        }
        Err(_) => false,
    }
}

/// The chain an SMTP server presents after EHLO and STARTTLS (RFC 3207) at `addr`:`port`,
/// each step bounded by `timeout`. The handshake completes whatever the certificate (trust is
/// judged by [`chain_matches`], not by the TLS library).
pub async fn live_chain(
    host: &str,
    addr: IpAddr,
    port: u16,
    timeout: Duration,
) -> Result<Vec<CertificateDer<'static>>, DaneError> {
    let fail = |reason: String, temporary: bool| DaneError::Live {
        host: host.to_owned(),
        addr,
        port,
        reason,
        temporary,
    };
    let from_smtp = |e: crate::smtp::SmtpError| fail(e.to_string(), e.is_temporary());
    let endpoint = Endpoint {
        addr: SocketAddr::new(addr, port),
        host: host.to_owned(),
        source_ip: None,
        timeout,
    };
    let mut session = Session::connect(&endpoint).await.map_err(from_smtp)?;
    session.greeting().await.map_err(from_smtp)?;
    let (reply, extensions) = session
        .ehlo("dane-check.mailauth.invalid")
        .await
        .map_err(from_smtp)?;
    if !reply.is_positive() {
        return Err(fail(format!("EHLO refused: {}", reply.text()), false));
    }
    if !has_extension(&extensions, "STARTTLS") {
        return Err(fail("STARTTLS is not offered".to_owned(), false));
    }
    let details = match session.starttls().await.map_err(from_smtp)? {
        Ok(details) => details,
        Err(reply) => return Err(fail(format!("STARTTLS refused: {}", reply.text()), false)),
    };
    let _ = session.quit().await;
    Ok(details.chain)
}

/// How long each step of a live STARTTLS exchange may take.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLSA lookup at one MX host.
#[derive(Debug)]
struct HostTlsa {
    host: String,
    name: String,
    answer: Result<crate::dns::TlsaAnswer, DnsError>,
}

/// DANE findings for `domain` whose MX hosts are `mx_hosts` (RFC 7672): TLSA records at
/// `_25._tcp.MX` for each, whether the resolver validated them (AD bit), their parameters, and
/// with `live: Some(port)` the chain every address of every MX presents after STARTTLS on
/// `port` matched against them. The bool is true when the check could not be completed (a server out of reach).
///
/// `dane.none` is reported only with `live`: without the live check most domains have no TLSA
/// and saying so on every plain DNS check would be noise. No root store is consulted: DANE
/// trust comes from the TLSA records alone (PKIX usages are not used for SMTP, RFC 7672 §3.1.3).
pub async fn findings(
    resolver: &dyn Resolver,
    domain: &str,
    mx_hosts: &[String],
    live: Option<u16>,
    now: i64,
) -> (Vec<Finding>, bool) {
    let mut hosts = Vec::new();
    for host in mx_hosts.iter().filter(|h| !h.is_empty()) {
        let name = tlsa_name(host, SMTP_PORT);
        let answer = resolver.tlsa(&name).await;
        hosts.push(HostTlsa {
            host: crate::dns::normalize_name(host),
            name,
            answer,
        });
    }
    let mut out = Vec::new();
    let mut failed = false;
    for host in &hosts {
        match &host.answer {
            Ok(answer) => {
                out.extend(record_findings(host, answer));
                if let Some(port) = live
                    && answer.authenticated
                {
                    let (live_findings, live_failed) =
                        live_findings(resolver, host, &answer.records, port, now).await;
                    out.extend(live_findings);
                    failed |= live_failed;
                }
            }
            Err(e) if e.is_void() => {}
            Err(e) if resolver_answers_for(resolver, &host.host).await => {
                out.push(bogus_finding(host, e));
            }
            Err(e) => {
                out.push(crate::spf::lint::dns_finding(
                    &record_label(host),
                    &e.to_string(),
                ));
                failed = true;
            }
        }
    }
    out.extend(coverage_findings(domain, &hosts, live.is_some()));
    (out, failed)
}

fn record_label(host: &HostTlsa) -> String {
    format!("{} TLSA", host.name)
}

/// Whether the resolver still answers for the host itself (its A lookup does not fail
/// temporarily): then a TLSA lookup that fails temporarily is this RRset's failure, not the
/// resolver's.
async fn resolver_answers_for(resolver: &dyn Resolver, host: &str) -> bool {
    !matches!(resolver.a(host).await, Err(e) if e.is_temporary())
}

/// A TLSA lookup that failed temporarily while the resolver answers for the host itself: the
/// failure is this RRset's, which is how a validating resolver reports bogus data (SERVFAIL,
/// RFC 4035 §5.5). When the resolver fails for the host too, the check reports a temporary DNS
/// failure instead (`dns.temporary`, exit 3).
fn bogus_finding(host: &HostTlsa, error: &DnsError) -> Finding {
    Finding::new(
        "dane.bogus",
        Severity::Error,
        record_label(host),
        format!(
            "the TLSA lookup for {} failed while other lookups succeed: a validating resolver \
             answers SERVFAIL when the DNSSEC signatures do not validate (bogus); DANE senders \
             then defer mail to this MX",
            host.host
        ),
        "RFC 7672 §2.2",
    )
    .seen(error.to_string())
    .fix("re-sign the zone (expired or broken RRSIGs, a DS that does not match the DNSKEY) and check with `delv` or `dig +dnssec`")
}

fn record_findings(host: &HostTlsa, answer: &crate::dns::TlsaAnswer) -> Vec<Finding> {
    let mut out = Vec::new();
    let label = record_label(host);
    if !answer.authenticated {
        out.push(
            Finding::new(
                "dane.unsigned",
                Severity::Warning,
                &label,
                "TLSA records are published but the answer is not DNSSEC-validated (no AD bit): \
                 DANE senders ignore TLSA records that are not secure",
                "RFC 7672 §2.2",
            )
            .fix("sign the zone with DNSSEC (and publish its DS in the parent), and check through a validating resolver"),
        );
    }
    for record in &answer.records {
        let Some(reason) = unusable_reason(record) else {
            continue;
        };
        let (code, rfc) = if record.usage <= usage::PKIX_EE {
            ("dane.usage_ignored", "RFC 7672 §3.1.3")
        } else {
            ("dane.bad_params", "RFC 6698 §2.1")
        };
        out.push(
            Finding::new(code, Severity::Warning, &label, reason, rfc)
                .seen(record.to_string())
                .fix("publish DANE-EE records: 3 1 1 SHA-256-of-the-server-key (mailauth record tlsa --cert FILE --host MX)"),
        );
    }
    let usable = answer
        .records
        .iter()
        .filter(|r| unusable_reason(r).is_none())
        .count();
    if usable == 1 {
        out.push(
            Finding::new(
                "dane.single_record",
                Severity::Info,
                &label,
                "one usable TLSA record: a new key or certificate breaks DANE delivery until the \
                 record is changed and old answers expire; publish the current and the next key",
                "RFC 7671 §8.1",
            )
            .fix("mailauth dane next --key NEXT-KEY --host MX, then rotate"),
        );
    }
    out
}

/// `dane.none` (live only) and `dane.partial`.
fn coverage_findings(domain: &str, hosts: &[HostTlsa], live: bool) -> Vec<Finding> {
    let with: Vec<&str> = hosts
        .iter()
        .filter(|h| h.answer.is_ok())
        .map(|h| h.host.as_str())
        .collect();
    let without: Vec<&str> = hosts
        .iter()
        .filter(|h| matches!(&h.answer, Err(e) if e.is_void()))
        .map(|h| h.host.as_str())
        .collect();
    if with.is_empty() && !without.is_empty() {
        if !live {
            return Vec::new();
        }
        return vec![Finding::new(
            "dane.none",
            Severity::Info,
            format!("{domain} MX"),
            format!(
                "no TLSA records at any MX ({}): DANE is not in use",
                without.join(", ")
            ),
            "RFC 7672 §2.2",
        )];
    }
    if !with.is_empty() && !without.is_empty() {
        return vec![
            Finding::new(
                "dane.partial",
                Severity::Warning,
                format!("{domain} MX"),
                format!(
                    "TLSA records at {} but not at {}: DANE senders authenticate only the MX \
                     hosts with records, and may deliver to the others unauthenticated",
                    with.join(", "),
                    without.join(", ")
                ),
                "RFC 7672 §2.2.1",
            )
            .fix(format!(
                "publish TLSA records for {}",
                without
                    .iter()
                    .map(|h| tlsa_name(h, SMTP_PORT))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ];
    }
    Vec::new()
}

/// Every address (A, then AAAA) of the host.
async fn addresses(resolver: &dyn Resolver, host: &str) -> (Vec<IpAddr>, bool) {
    let mut addrs = Vec::new();
    let mut failed = false;
    match resolver.a(host).await {
        Ok(v4) => addrs.extend(v4.into_iter().map(IpAddr::V4)),
        Err(e) => failed |= e.is_temporary(),
    }
    match resolver.aaaa(host).await {
        Ok(v6) => addrs.extend(v6.into_iter().map(IpAddr::V6)),
        Err(e) => failed |= e.is_temporary(),
    }
    (addrs, failed)
}

/// `dane.no_match` for every address of the host whose chain no usable record authenticates
/// (RFC 7672 §3: every address must match, or senders defer mail to it).
async fn live_findings(
    resolver: &dyn Resolver,
    host: &HostTlsa,
    records: &[Tlsa],
    port: u16,
    now: i64,
) -> (Vec<Finding>, bool) {
    let (addrs, mut failed) = addresses(resolver, &host.host).await;
    let mut out = Vec::new();
    for addr in addrs {
        let at = format!("{} [{addr}]:{port}", host.host);
        let chain = match live_chain(&host.host, addr, port, LIVE_TIMEOUT).await {
            Ok(chain) => chain,
            Err(e) if e.is_temporary() => {
                failed = true;
                continue;
            }
            Err(e) => {
                out.push(no_match(host, &at, format!("no TLS session: {e}"), None));
                continue;
            }
        };
        match chain_matches(records, &chain, &host.host, now) {
            Match::Matched(_) => {}
            Match::NoMatch | Match::NoUsableRecords => {
                let presented = chain
                    .first()
                    .and_then(|leaf| tlsa_for_cert(leaf, 3, 1, 1).ok());
                let why = "no TLSA record matches the certificate chain it presents".to_owned();
                out.push(no_match(host, &at, why, presented));
            }
        }
    }
    (out, failed)
}

fn no_match(host: &HostTlsa, at: &str, why: String, presented: Option<Tlsa>) -> Finding {
    let mut finding = Finding::new(
        "dane.no_match",
        Severity::Error,
        record_label(host),
        format!("{at}: {why}; DANE senders defer mail to this server"),
        "RFC 7672 §3",
    );
    if let Some(tlsa) = presented {
        finding = finding
            .seen(format!("the server's key: {tlsa}"))
            .fix(format!("publish {}. IN TLSA {tlsa} (beside the current record until every server uses the new key)", host.name));
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7672_2_2_3_tlsa_name_is_port_protocol_host() {
        assert_eq!(tlsa_name("MX.Example.COM.", 25), "_25._tcp.mx.example.com");
        assert_eq!(tlsa_name("mx.example.com", 465), "_465._tcp.mx.example.com");
    }

    #[test]
    fn rfc6698_2_1_3_spki_digests_have_their_lengths() {
        let spki = b"not really a key, but bytes to hash";
        assert_eq!(tlsa_for_spki(spki, 1).data.len(), 32);
        assert_eq!(tlsa_for_spki(spki, 2).data.len(), 64);
        assert_eq!(tlsa_for_spki(spki, 0).data, spki.to_vec());
        let t = tlsa_for_spki(spki, 1);
        assert_eq!((t.usage, t.selector, t.matching), (3, 1, 1));
        // SHA-256 of the bytes, checked against a known vector ("abc").
        assert_eq!(
            tlsa_for_spki(b"abc", 1).hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rfc6698_2_1_parameters_outside_the_registry_are_refused() {
        for (u, s, m) in [(4, 1, 1), (3, 2, 1), (3, 1, 3)] {
            let err = tlsa_for_cert(b"\x30\x00", u, s, m).unwrap_err();
            assert!(matches!(err, DaneError::BadParameters { .. }), "{err}");
        }
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let err = tlsa_for_cert(b"\x30\x03\x01\x01\x00", 3, 1, 1).unwrap_err();
        assert!(matches!(err, DaneError::BadCertificate { .. }), "{err}");
        assert!(!record_matches_cert(
            &tlsa_for_spki(b"x", 1),
            b"\x30\x03\x01\x01\x00"
        ));
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = read_cert_file(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "hello\n").unwrap();
        let err = read_cert_file(&text).unwrap_err();
        assert!(matches!(err, DaneError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains("text.pem"), "{err}");
        let err = spki_of_key_file(&text).unwrap_err();
        assert!(matches!(err, DaneError::NoKey { .. }), "{err}");
        let enc = dir.path().join("enc.pem");
        std::fs::write(
            &enc,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = spki_of_key_file(&enc).unwrap_err();
        assert!(matches!(err, DaneError::EncryptedKey { .. }), "{err}");
        let bad = dir.path().join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = spki_of_key_file(&bad).unwrap_err();
        assert!(matches!(err, DaneError::BadKey { .. }), "{err}");
        assert!(err.to_string().contains("bad.pem"), "{err}");
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'a'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            read_cert_file(&big).unwrap_err(),
            DaneError::TooLarge { .. }
        ));
    }
}
