//! The certificate a mail server presents: what it says ([`examine`]: names, validity, key),
//! whether a client would trust it (chain to webpki-roots or roots the user gave, name match per
//! RFC 7817 §3 / RFC 6125 §6.4), and the findings that follow ([`findings`]).
//!
//! The probe finishes its TLS handshake whatever certificate the server shows, through
//! [`recording_verifier`]: a probe that hung up on a bad certificate could not say what was wrong
//! with it, nor go on to test AUTH and relaying over TLS as a real opportunistic sender would
//! (RFC 3207 §4.1 lets an MX sender continue). Trust is not skipped, only moved: the probe takes
//! the chain from the finished connection and hands it to [`examine`], whose verdict becomes the
//! `smtp.cert_*` findings. The handshake signatures themselves are still verified, so the
//! session is a real one with the key in that certificate.
//!
//! This module does no I/O and never reads the clock: `now` (Unix seconds) is a parameter.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    OID_KEY_TYPE_DSA, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED448,
    OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::report::{Finding, Severity};

/// Every finding code this module produces.
pub const CODES: &[&str] = &[
    "smtp.cert_untrusted",
    "smtp.cert_name_mismatch",
    "smtp.cert_expired",
    "smtp.cert_expiring",
    "smtp.cert_weak_key",
];

/// A certificate expiring within this many days is reported (`smtp.cert_expiring`).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// RSA keys shorter than this are weak (RFC 9325 §4.5).
pub const MIN_RSA_BITS: usize = 2048;

/// What the server's leaf certificate says, and whether a client would accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject's distinguished name, as OpenSSL prints it ("CN=mx.example.test").
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The subjectAltName entries a name is matched against: dNSName values as written, then
    /// iPAddress values in text form.
    pub names: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Key type and size: "RSA 2048", "EC P-256", "Ed25519".
    pub key: String,
    /// `Ok` when the chain leads to a trusted root (webpki-roots or the extra roots); the error
    /// says why not. An expired leaf that otherwise chains to a trusted root is `Ok` here: its
    /// expiry is its own finding.
    pub trusted: Result<(), String>,
    /// Whether the certificate is valid for the name the client expected (RFC 7817 §3).
    pub name_matches: bool,
}

/// JSON: `trusted` becomes a bool beside `trust_error` (null when trusted), as the probe's
/// output contract has it.
impl Serialize for CertificateInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("CertificateInfo", 9)?;
        out.serialize_field("subject", &self.subject)?;
        out.serialize_field("issuer", &self.issuer)?;
        out.serialize_field("names", &self.names)?;
        out.serialize_field("not_before", &self.not_before)?;
        out.serialize_field("not_after", &self.not_after)?;
        out.serialize_field("key", &self.key)?;
        out.serialize_field("trusted", &self.trusted.is_ok())?;
        out.serialize_field("trust_error", &self.trusted.as_ref().err())?;
        out.serialize_field("name_matches", &self.name_matches)?;
        out.end()
    }
}

/// Why a presented chain could not be examined at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The server sent no certificate.
    #[error("the server presented no certificate")]
    EmptyChain,
    /// The leaf certificate is not DER X.509.
    #[error("the server's certificate cannot be parsed as X.509: {reason}")]
    Unparseable {
        /// What the parser said.
        reason: String,
    },
    /// One of the extra roots (`--ca FILE`) is not a usable trust anchor.
    #[error(
        "extra root certificate #{index} cannot be used as a trust anchor: {reason}; check the --ca file"
    )]
    BadRoot {
        /// Its position among the extra roots, from 1.
        index: usize,
        /// What went wrong.
        reason: String,
    },
}

/// Examine the chain a server presented (leaf first) for a client that expected `host` (an MX
/// host name, or an IP literal when the user gave one), trusting webpki-roots plus
/// `extra_roots`, at `now` (Unix seconds).
pub fn examine(
    chain: &[CertificateDer<'_>],
    host: &str,
    extra_roots: &[CertificateDer<'static>],
    now: i64,
) -> Result<CertificateInfo, CertError> {
    let leaf_der = chain.first().ok_or(CertError::EmptyChain)?;
    let (_, leaf) = X509Certificate::from_der(leaf_der).map_err(|e| CertError::Unparseable {
        reason: e.to_string(),
    })?;
    let roots = root_store(extra_roots)?;
    let names = presented_names(&leaf);
    let mut info = CertificateInfo {
        subject: leaf.subject().to_string(),
        issuer: leaf.issuer().to_string(),
        names: names.listed(),
        not_before: leaf.validity().not_before.timestamp(),
        not_after: leaf.validity().not_after.timestamp(),
        key: key_description(leaf.public_key()),
        trusted: Ok(()),
        name_matches: names.matches(host),
    };
    info.trusted = chain_trust(chain, &roots, &info, now);
    Ok(info)
}

/// webpki-roots plus the user's roots.
fn root_store(extra_roots: &[CertificateDer<'static>]) -> Result<RootCertStore, CertError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (i, root) in extra_roots.iter().enumerate() {
        roots.add(root.clone()).map_err(|e| CertError::BadRoot {
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// The identifiers a certificate presents (RFC 6125 §6.4).
#[derive(Debug, Default)]
struct PresentedNames {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    common_names: Vec<String>,
}

fn presented_names(cert: &X509Certificate<'_>) -> PresentedNames {
    let mut names = PresentedNames::default();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.dns.push((*dns).to_string()),
                GeneralName::IPAddress(bytes) => names.ips.extend(ip_from_bytes(bytes)),
                _ => {}
            }
        }
    }
    names.common_names = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect();
    names
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

impl PresentedNames {
    fn listed(&self) -> Vec<String> {
        let ips = self.ips.iter().map(IpAddr::to_string);
        self.dns.iter().cloned().chain(ips).collect()
    }

    /// RFC 7817 §3 with RFC 6125 §6.4: an IP reference identifier matches only iPAddress
    /// entries; a host name matches a dNSName, and the subject CN only when the certificate has
    /// no dNSName at all (RFC 6125 §6.4.4).
    fn matches(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.ips.contains(&ip);
        }
        if self.dns.is_empty() {
            return self
                .common_names
                .iter()
                .any(|cn| dns_name_matches(cn, host));
        }
        self.dns.iter().any(|dns| dns_name_matches(dns, host))
    }
}

/// RFC 6125 §6.4.1/§6.4.3: case-insensitive, trailing dot ignored; a wildcard only as the
/// whole leftmost label, standing for exactly one label, and never directly under a
/// single-label name ("*.com"). Partial-label wildcards ("mx*.example") match nothing, as
/// RFC 9525 §6.3 (which replaces RFC 6125) requires.
pub fn dns_name_matches(presented: &str, reference: &str) -> bool {
    let presented = presented.trim_end_matches('.').to_ascii_lowercase();
    let reference = reference.trim_end_matches('.').to_ascii_lowercase();
    if presented.is_empty() || reference.is_empty() {
        return false;
    }
    match presented.strip_prefix("*.") {
        Some(parent) => wildcard_matches(parent, &reference),
        None => !presented.contains('*') && presented == reference,
    }
}

fn wildcard_matches(parent: &str, reference: &str) -> bool {
    if parent.contains('*') || !parent.contains('.') {
        return false;
    }
    match reference.split_once('.') {
        Some((first, rest)) => !first.is_empty() && rest == parent,
        None => false,
    }
}

/// "RSA 2048", "EC P-256", "Ed25519", "DSA 1024"; otherwise the algorithm's OID.
fn key_description(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        return match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                format!("RSA {}", significant_bits(rsa.modulus))
            }
            _ => "RSA (unreadable key)".to_string(),
        };
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        return format!("EC {}", curve_name(spki));
    }
    if *algorithm == OID_SIG_ED25519 {
        return "Ed25519".to_string();
    }
    if *algorithm == OID_SIG_ED448 {
        return "Ed448".to_string();
    }
    if *algorithm == OID_KEY_TYPE_DSA {
        return "DSA".to_string();
    }
    format!("unknown key type {algorithm}")
}

/// The length in bits of a big-endian unsigned integer, leading zeros not counted (a DER
/// INTEGER has a zero byte in front when its top bit is set).
fn significant_bits(integer: &[u8]) -> usize {
    let digits: &[u8] = match integer.iter().position(|&b| b != 0) {
        Some(first) => &integer[first..],
        None => &[],
    };
    match digits.first() {
        Some(top) => digits.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

fn curve_name(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| oid.to_id_string());
    // By dotted OID: x509-parser's registry names P-384 and P-521 only under a feature it
    // does not enable.
    match curve.as_deref() {
        Some("1.2.840.10045.3.1.7") => "P-256".to_string(),
        Some("1.3.132.0.34") => "P-384".to_string(),
        Some("1.3.132.0.35") => "P-521".to_string(),
        Some(oid) => format!("curve {oid}"),
        None => "(curve not named)".to_string(),
    }
}

/// Does the chain lead to a trusted root at `now`? An expired leaf is judged at the middle of
/// its own validity instead, so that expiry is reported once (smtp.cert_expired) and not also
/// as distrust.
fn chain_trust(
    chain: &[CertificateDer<'_>],
    roots: &RootCertStore,
    info: &CertificateInfo,
    now: i64,
) -> Result<(), String> {
    let at = if now > info.not_after {
        info.not_before + (info.not_after - info.not_before) / 2
    } else {
        now
    };
    verify_chain(chain, roots, at).map_err(|error| trust_error(&error, info))
}

fn verify_chain(
    chain: &[CertificateDer<'_>],
    roots: &RootCertStore,
    at: i64,
) -> Result<(), rustls::Error> {
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or(rustls::Error::NoCertificatesPresented)?;
    let parsed = rustls::server::ParsedCertificate::try_from(leaf)?;
    let seconds = u64::try_from(at).unwrap_or(0);
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        roots,
        intermediates,
        UnixTime::since_unix_epoch(Duration::from_secs(seconds)),
        supported_algorithms().all,
    )
}

/// Why the chain is not trusted, in words a server administrator can act on.
fn trust_error(error: &rustls::Error, info: &CertificateInfo) -> String {
    let rustls::Error::InvalidCertificate(reason) = error else {
        return format!("the chain cannot be verified: {error}");
    };
    match reason {
        CertificateError::UnknownIssuer if info.subject == info.issuer => {
            "self-signed: no trusted CA issued it".to_string()
        }
        CertificateError::UnknownIssuer => format!(
            "issued by \"{}\", which is not a trusted CA, and the server sent no chain to one",
            info.issuer
        ),
        CertificateError::BadSignature => "a signature in the chain does not verify".to_string(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "a certificate in the chain has expired".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "a certificate in the chain is not valid yet".to_string()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the certificate is not issued for TLS servers (extendedKeyUsage lacks serverAuth)"
                .to_string()
        }
        other => format!("the chain does not verify: {other:?}"),
    }
}

/// The signature algorithms of rustls's ring provider, used both to verify chains and the
/// handshake's signatures.
fn supported_algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// The findings about `info`, for a client that expected `host`, on `record` (the target, e.g.
/// "mx.example.test:25"), at `now` (Unix seconds).
pub fn findings(info: &CertificateInfo, host: &str, record: &str, now: i64) -> Vec<Finding> {
    [
        untrusted(info, record),
        name_mismatch(info, host, record),
        expiry(info, record, now),
        weak_key(info, record),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn untrusted(info: &CertificateInfo, record: &str) -> Option<Finding> {
    let reason = info.trusted.as_ref().err()?;
    Some(
        Finding::new(
            "smtp.cert_untrusted",
            Severity::Error,
            record,
            format!(
                "the certificate is not trusted ({reason}): submission clients refuse it, and \
                 senders enforcing MTA-STS or verifying certificates will not deliver"
            ),
            "RFC 8461 §4.2",
        )
        .seen(format!("subject {}, issuer {}", info.subject, info.issuer))
        .fix("install a certificate from a public CA (e.g. Let's Encrypt) and serve the full chain (leaf then intermediates)"),
    )
}

fn name_mismatch(info: &CertificateInfo, host: &str, record: &str) -> Option<Finding> {
    if info.name_matches {
        return None;
    }
    let is_ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    let message = if is_ip {
        format!(
            "the certificate has no IP address entry for {host}; the target was given as an IP \
             address, so the check is against the certificate's IP entries, not the host name \
             senders use: give the MX host name to check that"
        )
    } else {
        format!("the certificate is not valid for {host}: clients checking the name refuse it")
    };
    Some(
        Finding::new(
            "smtp.cert_name_mismatch",
            Severity::Error,
            record,
            message,
            "RFC 7817 §3",
        )
        .seen(presented(info))
        .fix(format!(
            "issue the certificate with {host} in its subjectAltName (a dNSName entry)"
        )),
    )
}

fn presented(info: &CertificateInfo) -> String {
    if info.names.is_empty() {
        format!("no subjectAltName; subject {}", info.subject)
    } else {
        format!("subjectAltName: {}", info.names.join(", "))
    }
}

fn expiry(info: &CertificateInfo, record: &str, now: i64) -> Option<Finding> {
    let seen = format!("valid until {}", utc(info.not_after));
    if info.not_after < now {
        return Some(
            Finding::new(
                "smtp.cert_expired",
                Severity::Error,
                record,
                "the certificate has expired: clients verifying it refuse the connection",
                "RFC 5280 §4.1.2.5",
            )
            .seen(seen)
            .fix("renew the certificate and reload the server; automate renewal (ACME)"),
        );
    }
    let days_left = (info.not_after - now) / 86_400;
    (info.not_after - now <= EXPIRY_WARNING_DAYS * 86_400).then(|| {
        Finding::new(
            "smtp.cert_expiring",
            Severity::Warning,
            record,
            format!("the certificate expires in {days_left} days"),
            "RFC 5280 §4.1.2.5",
        )
        .seen(seen)
        .fix("renew the certificate now; automate renewal (ACME) so it never lapses")
    })
}

fn weak_key(info: &CertificateInfo, record: &str) -> Option<Finding> {
    let bits: usize = info.key.strip_prefix("RSA ")?.parse().ok()?;
    (bits < MIN_RSA_BITS).then(|| {
        Finding::new(
            "smtp.cert_weak_key",
            Severity::Error,
            record,
            format!("the certificate's RSA key has {bits} bits, fewer than {MIN_RSA_BITS}"),
            "RFC 9325 §4.5",
        )
        .seen(info.key.clone())
        .fix("issue a new certificate with an RSA key of at least 2048 bits, or an EC P-256 key")
    })
}

/// Unix seconds as "2026-11-29 10:00 UTC".
fn utc(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("{seconds} (Unix time)"))
}

/// A rustls [`ServerCertVerifier`] that lets the handshake finish whatever the certificate, so
/// the probe can report on it; the verdict comes from [`examine`], never skipped. It still
/// verifies the server's handshake signatures (TLS 1.2 ServerKeyExchange, TLS 1.3
/// CertificateVerify) against the presented certificate's key.
pub fn recording_verifier() -> Arc<dyn ServerCertVerifier> {
    Arc::new(RecordingVerifier {
        algorithms: supported_algorithms(),
    })
}

/// See [`recording_verifier`].
struct RecordingVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for RecordingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingVerifier").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    /// Accepts every chain: `examine` judges it after the handshake (see the module docs).
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn good() -> CertificateInfo {
        CertificateInfo {
            subject: "CN=mx.example.test".to_string(),
            issuer: "CN=Test CA".to_string(),
            names: vec!["mx.example.test".to_string()],
            not_before: NOW - 10 * DAY,
            not_after: NOW + 300 * DAY,
            key: "RSA 2048".to_string(),
            trusted: Ok(()),
            name_matches: true,
        }
    }

    fn codes(info: &CertificateInfo, host: &str) -> Vec<&'static str> {
        findings(info, host, "mx.example.test:25", NOW)
            .iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn a_good_certificate_has_no_findings() {
        assert!(codes(&good(), "mx.example.test").is_empty());
    }

    #[test]
    fn rfc5280_4_1_2_5_expired_and_expiring_within_30_days() {
        let mut info = good();
        info.not_after = NOW - 1;
        assert_eq!(codes(&info, "mx.example.test"), ["smtp.cert_expired"]);
        info.not_after = NOW + 30 * DAY;
        assert_eq!(codes(&info, "mx.example.test"), ["smtp.cert_expiring"]);
        info.not_after = NOW + 31 * DAY;
        assert!(codes(&info, "mx.example.test").is_empty());
    }

    #[test]
    fn rfc9325_4_5_rsa_below_2048_bits_is_weak_and_2048_is_not() {
        let mut info = good();
        info.key = "RSA 1024".to_string();
        assert_eq!(codes(&info, "mx.example.test"), ["smtp.cert_weak_key"]);
        info.key = "EC P-256".to_string();
        assert!(codes(&info, "mx.example.test").is_empty());
    }

    #[test]
    fn untrusted_and_mismatch_carry_the_reason_and_names() {
        let mut info = good();
        info.trusted = Err("self-signed: no trusted CA issued it".to_string());
        info.name_matches = false;
        let found = findings(&info, "other.example.test", "other.example.test:25", NOW);
        assert_eq!(found[0].code, "smtp.cert_untrusted");
        assert!(found[0].message.contains("self-signed"));
        assert_eq!(found[1].code, "smtp.cert_name_mismatch");
        assert_eq!(
            found[1].seen.as_deref(),
            Some("subjectAltName: mx.example.test")
        );
    }

    #[test]
    fn rfc7817_3_an_ip_target_says_the_check_was_against_ip_entries() {
        let mut info = good();
        info.name_matches = false;
        let found = findings(&info, "127.0.0.1", "127.0.0.1:25", NOW);
        assert!(
            found[0].message.contains("given as an IP address"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn rfc6125_6_4_3_wildcard_only_as_the_whole_leftmost_label() {
        assert!(dns_name_matches("*.example.test", "mx.example.test"));
        assert!(dns_name_matches("*.EXAMPLE.test.", "Mx.example.test"));
        assert!(
            !dns_name_matches("*.example.test", "example.test"),
            "one label, not zero"
        );
        assert!(
            !dns_name_matches("*.example.test", "a.mx.example.test"),
            "one label, not two"
        );
        assert!(!dns_name_matches("mx.*.test", "mx.example.test"));
        assert!(
            !dns_name_matches("mx*.example.test", "mx1.example.test"),
            "RFC 9525 §6.3"
        );
        assert!(
            !dns_name_matches("*.test", "example.test"),
            "not under a single label"
        );
        assert!(dns_name_matches("mx.example.test", "MX.Example.Test."));
    }

    #[test]
    fn rfc6125_6_4_4_common_name_only_when_no_dns_name_is_present() {
        let cn_only = PresentedNames {
            common_names: vec!["mx.example.test".to_string()],
            ..PresentedNames::default()
        };
        assert!(cn_only.matches("mx.example.test"));
        let with_san = PresentedNames {
            dns: vec!["other.example.test".to_string()],
            common_names: vec!["mx.example.test".to_string()],
            ..PresentedNames::default()
        };
        assert!(!with_san.matches("mx.example.test"));
    }

    #[test]
    fn rfc6125_6_2_1_ip_reference_matches_only_ip_entries() {
        let names = PresentedNames {
            dns: vec!["127.0.0.1".to_string()],
            ips: vec!["::1".parse().unwrap()],
            common_names: vec!["127.0.0.1".to_string()],
        };
        assert!(!names.matches("127.0.0.1"));
        assert!(names.matches("::1"));
        assert!(names.matches("[::1]"));
    }

    #[test]
    fn significant_bits_ignores_the_der_sign_byte() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(significant_bits(&[0x01, 0, 0]), 17);
        assert_eq!(significant_bits(&[]), 0);
    }

    #[test]
    fn certificate_info_serialises_trust_as_bool_and_error() {
        let mut info = good();
        info.trusted = Err("self-signed".to_string());
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["trusted"], false);
        assert_eq!(json["trust_error"], "self-signed");
        let json = serde_json::to_value(good()).unwrap();
        assert_eq!(json["trusted"], true);
        assert!(json["trust_error"].is_null());
    }

    #[test]
    fn examine_rejects_an_empty_chain() {
        assert!(matches!(
            examine(&[], "mx.example.test", &[], NOW),
            Err(CertError::EmptyChain)
        ));
    }
}
