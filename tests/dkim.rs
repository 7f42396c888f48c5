//! DKIM signing and verification checks (RFC 6376 §6, RFC 8463, RFC 8301), each run through
//! both DNS paths: the zone-file resolver and a hickory resolver querying an in-process DNS
//! server on loopback that serves the same zone (`testdata/dns/dkim-checks.zone`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use mailauth::dkim::canonicalize::HeaderIndex;
use mailauth::dkim::sign::{SignOptions, body_hash, sign, signed_message};
use mailauth::dkim::verify::{VerifyOptions, verify};
use mailauth::dkim::{Canonicalization, DkimOutcome, DkimResult, DkimSignature, SigningAlgorithm};
use mailauth::dns::Resolver;
use mailauth::dns::hickory::{HickoryResolver, Transport};
use mailauth::dns::zone::ZoneResolver;
use mailauth::keys::PrivateKey;
use mailauth::message::Message;

use crate::support::dns_server::TestDnsServer;
use crate::support::testdata;

pub(crate) const DOMAIN: &str = "mailauth.test";
pub(crate) const NOW: u64 = 1_764_000_000;

pub(crate) const MESSAGE: &[u8] = b"From: Alice <alice@mailauth.test>\r\n\
To: Bob <bob@example.net>\r\n\
Subject: Lunch  on   Friday?\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <lunch-1@mailauth.test>\r\n\
\r\n\
Hi Bob,\r\n\
\r\n\
Are you free  for lunch on Friday?  \r\n\
\r\n\
Alice\r\n";

pub(crate) fn zone_file() -> PathBuf {
    testdata().join("dns/dkim-checks.zone")
}

pub(crate) fn server() -> &'static TestDnsServer {
    static SERVER: OnceLock<TestDnsServer> = OnceLock::new();
    SERVER.get_or_init(|| TestDnsServer::start(&[zone_file()]))
}

/// The two DNS paths every check runs through.
pub(crate) fn resolvers() -> Vec<(&'static str, Arc<dyn Resolver>)> {
    let zone = ZoneResolver::from_files(&[zone_file()]).expect("zone file loads");
    let udp = HickoryResolver::with_servers(&[server().udp_addr()]).expect("resolver");
    let tcp = HickoryResolver::with_servers_over(&[server().tcp_addr()], Transport::Tcp)
        .expect("resolver");
    vec![
        ("zone file", Arc::new(zone)),
        (
            "in-process server (UDP, TCP after truncation)",
            Arc::new(udp),
        ),
        ("in-process server (TCP only)", Arc::new(tcp)),
    ]
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Verify `message` through every DNS path and return the outcomes of the first path after
/// asserting that all paths agree.
pub(crate) fn verify_all(message: &[u8]) -> Vec<DkimOutcome> {
    let message = Message::parse(message).expect("message parses");
    let mut results: Vec<(&str, Vec<DkimOutcome>)> = Vec::new();
    for (name, resolver) in resolvers() {
        let outcomes = runtime().block_on(verify(
            &message,
            resolver.as_ref(),
            &VerifyOptions::new(NOW),
        ));
        results.push((name, outcomes));
    }
    let (first_name, first) = &results[0];
    for (name, outcomes) in &results[1..] {
        assert_eq!(outcomes, first, "{name} disagrees with {first_name}");
    }
    results.swap_remove(0).1
}

pub(crate) fn key(file: &str) -> PrivateKey {
    let path = testdata().join("keys").join(file);
    PrivateKey::from_pem(&std::fs::read(&path).expect("test key"), file).expect("test key loads")
}

pub(crate) fn rsa() -> PrivateKey {
    key("rsa2048.pem")
}

pub(crate) fn ed() -> PrivateKey {
    key("ed25519.pem")
}

pub(crate) fn sign_with(
    message: &[u8],
    key: &PrivateKey,
    selector: &str,
    adjust: impl FnOnce(&mut SignOptions),
) -> Vec<u8> {
    let message = Message::parse(message).expect("message parses");
    let mut options = SignOptions::new(DOMAIN, selector, NOW - 60);
    adjust(&mut options);
    let field = sign(&message, key, &options).expect("signing works");
    signed_message(&message, &field)
}

/// The single outcome of a message with one signature.
fn single(message: &[u8]) -> DkimOutcome {
    let mut outcomes = verify_all(message);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.remove(0)
}

fn assert_outcome(outcome: &DkimOutcome, result: DkimResult, reason_part: &str) {
    assert_eq!(outcome.result, result, "{outcome:?}");
    let reason = outcome.reason.clone().unwrap_or_default();
    assert!(
        reason.contains(reason_part),
        "reason {reason:?} lacks {reason_part:?}"
    );
}

pub(crate) fn replace(haystack: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(haystack.to_vec()).expect("ascii");
    assert!(text.contains(from), "{from:?} not in message");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn rfc6376_rsa_sha256_round_trip_every_canonicalization() {
    use Canonicalization::{Relaxed, Simple};
    for (header, body) in [
        (Simple, Simple),
        (Simple, Relaxed),
        (Relaxed, Simple),
        (Relaxed, Relaxed),
    ] {
        let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| {
            o.header_canon = header;
            o.body_canon = body;
        });
        let outcome = single(&signed);
        assert_outcome(&outcome, DkimResult::Pass, "");
        assert_eq!(outcome.reason, None);
        assert_eq!(
            (outcome.domain.as_str(), outcome.selector.as_str()),
            (DOMAIN, "rsa")
        );
        assert_eq!(outcome.algorithm, "rsa-sha256");
    }
}

#[test]
fn rfc8463_ed25519_round_trip_every_canonicalization() {
    use Canonicalization::{Relaxed, Simple};
    for (header, body) in [
        (Simple, Simple),
        (Simple, Relaxed),
        (Relaxed, Simple),
        (Relaxed, Relaxed),
    ] {
        let signed = sign_with(MESSAGE, &ed(), "ed", |o| {
            o.header_canon = header;
            o.body_canon = body;
        });
        let outcome = single(&signed);
        assert_outcome(&outcome, DkimResult::Pass, "");
        assert_eq!(outcome.algorithm, "ed25519-sha256");
    }
}

#[test]
fn rfc8463_dual_signed_message_reports_each_signature_in_order() {
    let once = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let twice = sign_with(&once, &ed(), "ed", |_| {});
    let outcomes = verify_all(&twice);
    let selectors: Vec<&str> = outcomes.iter().map(|o| o.selector.as_str()).collect();
    assert_eq!(selectors, ["ed", "rsa"]);
    assert!(
        outcomes.iter().all(|o| o.result == DkimResult::Pass),
        "{outcomes:?}"
    );
}

#[test]
fn rfc6376_3_4_4_relaxed_body_survives_whitespace_changes() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let rewritten = replace(
        &signed,
        "Are you free  for lunch",
        "Are you free for\tlunch",
    );
    let with_blank_lines = [rewritten.as_slice(), b"\r\n\r\n"].concat();
    assert_outcome(&single(&with_blank_lines), DkimResult::Pass, "");
}

#[test]
fn rfc6376_3_4_3_simple_body_breaks_on_whitespace_changes() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| {
        o.body_canon = Canonicalization::Simple
    });
    let rewritten = replace(&signed, "Are you free  for lunch", "Are you free for lunch");
    assert_outcome(&single(&rewritten), DkimResult::Fail, "body hash mismatch");
}

#[test]
fn rfc6376_6_1_3_changed_body_is_a_body_hash_mismatch() {
    let signed = sign_with(MESSAGE, &ed(), "ed", |_| {});
    let tampered = replace(&signed, "Friday?  \r\n", "Saturday?\r\n");
    let outcome = single(&tampered);
    assert_outcome(&outcome, DkimResult::Fail, "body hash mismatch");
    assert!(
        !outcome
            .reason
            .unwrap_or_default()
            .contains("signature mismatch")
    );
}

#[test]
fn rfc6376_6_1_3_changed_signed_header_is_a_signature_mismatch() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let tampered = replace(&signed, "Subject: Lunch", "Subject: Dinner");
    let outcome = single(&tampered);
    assert_outcome(&outcome, DkimResult::Fail, "signature mismatch");
    assert!(!outcome.reason.unwrap_or_default().contains("body hash"));
}

#[test]
fn rfc6376_5_4_2_added_from_field_breaks_oversigned_signature() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let added = [b"From: Mallory <m@evil.example>\r\n".as_slice(), &signed].concat();
    assert_outcome(&single(&added), DkimResult::Fail, "signature mismatch");
}

#[test]
fn rfc6376_5_4_unsigned_header_may_be_added() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let added = [b"Received: from relay.example.net\r\n".as_slice(), &signed].concat();
    assert_outcome(&single(&added), DkimResult::Pass, "");
}

#[test]
fn rfc6376_3_5_body_length_limit_allows_appended_text() {
    let length = mailauth::dkim::canonicalize::body(
        Canonicalization::Relaxed,
        &Message::parse(MESSAGE).unwrap().body,
    )
    .len();
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| {
        o.body_length = Some(length as u64)
    });
    let appended = [signed.as_slice(), b"-- \r\nappended by a list\r\n"].concat();
    assert_outcome(&single(&appended), DkimResult::Pass, "");
}

#[test]
fn rfc6376_3_5_body_length_longer_than_body_is_permerror() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| o.body_length = Some(10_000));
    assert_outcome(&single(&signed), DkimResult::PermError, "l=10000 is longer");
}

#[test]
fn rfc6376_3_5_expired_signature_fails() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| o.expiration = Some(NOW - 30));
    assert_outcome(&single(&signed), DkimResult::Fail, "expired");
}

#[test]
fn rfc6376_3_5_unexpired_signature_passes() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| o.expiration = Some(NOW + 3600));
    assert_outcome(&single(&signed), DkimResult::Pass, "");
}

#[test]
fn rfc6376_3_5_identity_outside_signing_domain_is_permerror() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| {
        o.identity = Some("alice@elsewhere.example".into())
    });
    assert_outcome(
        &single(&signed),
        DkimResult::PermError,
        "neither d=mailauth.test nor a subdomain",
    );
}

#[test]
fn rfc6376_3_5_identity_in_subdomain_passes() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |o| {
        o.identity = Some("alice@eu.mailauth.test".into())
    });
    assert_outcome(&single(&signed), DkimResult::Pass, "");
}

#[test]
fn rfc6376_3_6_1_t_s_forbids_subdomain_identity() {
    let signed = sign_with(MESSAGE, &rsa(), "strict", |o| {
        o.identity = Some("alice@eu.mailauth.test".into())
    });
    assert_outcome(&single(&signed), DkimResult::PermError, "t=s");
    let exact = sign_with(MESSAGE, &rsa(), "strict", |o| {
        o.identity = Some("alice@mailauth.test".into())
    });
    assert_outcome(&single(&exact), DkimResult::Pass, "");
}

#[test]
fn rfc6376_3_6_1_testing_flag_passes_with_a_note() {
    let signed = sign_with(MESSAGE, &rsa(), "testing", |_| {});
    assert_outcome(&single(&signed), DkimResult::Pass, "testing mode (t=y)");
}

#[test]
fn rfc6376_3_6_1_empty_p_means_revoked() {
    let signed = sign_with(MESSAGE, &rsa(), "revoked", |_| {});
    assert_outcome(&single(&signed), DkimResult::PermError, "key revoked");
}

#[test]
fn rfc6376_6_1_2_missing_key_record_is_permerror_naming_it() {
    let signed = sign_with(MESSAGE, &rsa(), "nosuchkey", |_| {});
    let outcome = single(&signed);
    assert_outcome(&outcome, DkimResult::PermError, "no key record");
    assert!(
        outcome
            .reason
            .unwrap_or_default()
            .contains("nosuchkey._domainkey.mailauth.test")
    );
}

#[test]
fn rfc6376_3_6_1_key_hash_list_excluding_sha256_is_permerror() {
    let signed = sign_with(MESSAGE, &rsa(), "sha1only", |_| {});
    assert_outcome(
        &single(&signed),
        DkimResult::PermError,
        "h=sha1 does not allow sha256",
    );
}

#[test]
fn rfc6376_3_6_1_key_for_other_service_is_permerror() {
    let signed = sign_with(MESSAGE, &rsa(), "notemail", |_| {});
    assert_outcome(&single(&signed), DkimResult::PermError, "not for email");
}

#[test]
fn rfc8463_4_key_type_must_match_algorithm() {
    let signed = sign_with(MESSAGE, &rsa(), "wrongtype", |_| {});
    assert_outcome(&single(&signed), DkimResult::PermError, "needs k=rsa");
    let unknown = sign_with(MESSAGE, &rsa(), "unknowntype", |_| {});
    assert_outcome(
        &single(&unknown),
        DkimResult::PermError,
        "unknown key type k=dsa",
    );
    let short = sign_with(MESSAGE, &ed(), "edshort", |_| {});
    assert_outcome(&single(&short), DkimResult::PermError, "Ed25519 key is 32");
}

#[test]
fn rfc6376_3_6_1_malformed_key_records_are_permerror() {
    for (selector, reason) in [
        ("badbase64", "not valid base64"),
        ("version2", "v=DKIM2 is not DKIM1"),
        ("binary", "forbidden byte"),
        ("manystrings", "malformed"),
    ] {
        let signed = sign_with(MESSAGE, &rsa(), selector, |_| {});
        assert_outcome(&single(&signed), DkimResult::PermError, reason);
    }
}

#[test]
fn rfc6376_published_pkcs1_key_is_accepted() {
    let signed = sign_with(MESSAGE, &rsa(), "pkcs1", |_| {});
    assert_outcome(&single(&signed), DkimResult::Pass, "");
}

/// Sign with a hand-built signature for cases mailauth's signer refuses (rsa-sha1, short keys).
fn sign_raw(
    message: &[u8],
    pem_file: &str,
    selector: &str,
    algorithm: SigningAlgorithm,
) -> Vec<u8> {
    use rsa::pkcs8::DecodePrivateKey;
    let parsed = Message::parse(message).unwrap();
    let mut signature = DkimSignature {
        algorithm,
        signature: Vec::new(),
        body_hash: body_hash(algorithm, Canonicalization::Relaxed, &parsed.body, None),
        header_canon: Canonicalization::Relaxed,
        body_canon: Canonicalization::Relaxed,
        domain: DOMAIN.into(),
        signed_headers: vec!["from".into(), "subject".into()],
        identity: None,
        body_length: None,
        query_methods: None,
        selector: selector.into(),
        timestamp: Some(NOW - 60),
        expiration: None,
        copied_headers: None,
    };
    let (prefix, _) = mailauth::dkim::build::signature_prefix(&signature);
    let field = format!("DKIM-Signature:{prefix}");
    let data = HeaderIndex::new(&parsed.headers).hash_input(
        Canonicalization::Relaxed,
        &signature.signed_headers,
        field.as_bytes(),
    );
    let pem = std::fs::read_to_string(testdata().join("keys").join(pem_file)).unwrap();
    let key = rsa::PrivateKey::from_pkcs8_pem(&pem).unwrap();
    signature.signature = match algorithm {
        SigningAlgorithm::RsaSha1 => {
            let hash = <sha1::Sha1 as sha1::Digest>::digest(&data);
            key.sign(rsa::Pkcs1v15Sign::new::<sha1::Sha1>(), &hash)
                .unwrap()
        }
        _ => {
            let hash = <sha2::Sha256 as sha2::Digest>::digest(&data);
            key.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hash)
                .unwrap()
        }
    };
    let field = format!(
        "DKIM-Signature:{}",
        mailauth::dkim::build::signature(&signature)
    );
    signed_message(&parsed, &field)
}

#[test]
fn rfc8301_3_1_rsa_sha1_verifies_but_is_not_a_pass() {
    let signed = sign_raw(MESSAGE, "rsa2048.pem", "rsaany", SigningAlgorithm::RsaSha1);
    assert_outcome(&single(&signed), DkimResult::Policy, "rsa-sha1");
    let tampered = replace(&signed, "Subject: Lunch", "Subject: Brunch");
    assert_outcome(&single(&tampered), DkimResult::Fail, "signature mismatch");
}

#[test]
fn rfc8301_3_2_1024_bit_key_passes_as_weak() {
    let signed = sign_raw(
        MESSAGE,
        "rsa1024.pem",
        "weak1024",
        SigningAlgorithm::RsaSha256,
    );
    assert_outcome(&single(&signed), DkimResult::Pass, "weak key: 1024-bit RSA");
}

#[test]
fn rfc8301_3_2_512_bit_key_is_refused() {
    let signed = sign_raw(
        MESSAGE,
        "rsa512.pem",
        "weak512",
        SigningAlgorithm::RsaSha256,
    );
    assert_outcome(
        &single(&signed),
        DkimResult::PermError,
        "512 bits is too short",
    );
}

#[test]
fn rfc6376_5_4_signature_without_from_is_permerror() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let text = String::from_utf8(signed).unwrap();
    let start = text.find("h=").unwrap();
    let end = start + text[start..].find(';').unwrap();
    let without_from = format!("{}h=subject:to{}", &text[..start], &text[end..]);
    assert_outcome(
        &single(without_from.as_bytes()),
        DkimResult::PermError,
        "does not include From",
    );
}

#[test]
fn rfc6376_3_5_unknown_algorithm_is_neutral_and_broken_tags_permerror() {
    let unknown = [
        b"DKIM-Signature: v=1; a=rsa-sha512; d=mailauth.test; s=rsa; h=from; bh=AAAA; b=AAAA\r\n"
            .as_slice(),
        MESSAGE,
    ]
    .concat();
    let outcome = single(&unknown);
    assert_outcome(
        &outcome,
        DkimResult::Neutral,
        "unsupported algorithm a=rsa-sha512",
    );
    assert_eq!(
        (outcome.domain.as_str(), outcome.selector.as_str()),
        (DOMAIN, "rsa")
    );
    let broken = [
        b"DKIM-Signature: v=1; a=rsa-sha256; d=mailauth.test; s=rsa; s=x; b=AA\r\n".as_slice(),
        MESSAGE,
    ]
    .concat();
    assert_outcome(&single(&broken), DkimResult::PermError, "s= appears twice");
    let bad_base64 = [
        b"DKIM-Signature: v=1; a=rsa-sha256; d=mailauth.test; s=rsa; h=from; bh=AAAA; b=%%%\r\n"
            .as_slice(),
        MESSAGE,
    ]
    .concat();
    assert_outcome(
        &single(&bad_base64),
        DkimResult::PermError,
        "b= is not valid base64",
    );
}

#[test]
fn bare_lf_message_verifies_like_crlf() {
    let signed = sign_with(MESSAGE, &ed(), "ed", |_| {});
    let unix: Vec<u8> = String::from_utf8(signed)
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    assert_outcome(&single(&unix), DkimResult::Pass, "");
}

#[test]
fn thousand_signatures_are_capped() {
    let signed = sign_with(MESSAGE, &ed(), "ed", |_| {});
    let text = String::from_utf8(signed).unwrap();
    let field_end = text.find("\r\nFrom:").unwrap();
    let (field, rest) = text.split_at(field_end + 2);
    let mut many = field.repeat(1000);
    many.push_str(rest);
    let outcomes = verify_all(many.as_bytes());
    assert_eq!(outcomes.len(), 1000);
    let cap = mailauth::dkim::verify::MAX_SIGNATURES;
    assert!(outcomes[..cap].iter().all(|o| o.result == DkimResult::Pass));
    assert!(
        outcomes[cap..]
            .iter()
            .all(|o| o.result == DkimResult::Policy)
    );
}

#[test]
fn no_signature_gives_no_outcomes() {
    assert!(verify_all(MESSAGE).is_empty());
}

#[test]
fn temporary_dns_failure_is_temperror() {
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let message = Message::parse(&signed).unwrap();
    let mut zone = ZoneResolver::from_files(&[zone_file()]).unwrap();
    zone.set_temporary_failure("rsa._domainkey.mailauth.test");
    let outcome = runtime()
        .block_on(verify(&message, &zone, &VerifyOptions::new(NOW)))
        .remove(0);
    assert_outcome(&outcome, DkimResult::TempError, "temporary");
    // Over the wire: a server that does not serve the zone refuses, which is a temporary failure.
    let other = TestDnsServer::start(&[testdata().join("dns/empty.test.zone")]);
    let udp = HickoryResolver::with_servers(&[other.udp_addr()]).unwrap();
    let outcome = runtime()
        .block_on(verify(&message, &udp, &VerifyOptions::new(NOW)))
        .remove(0);
    assert_outcome(&outcome, DkimResult::TempError, "");
}

/// A resolver answering from the DKIM test zone that counts key lookups, can say what TTL the
/// answers have, and can fail temporarily a number of times first.
#[derive(Debug)]
struct CountingResolver {
    zone: ZoneResolver,
    ttl: Option<std::time::Duration>,
    lookups: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    temporary_failures_left: std::sync::atomic::AtomicUsize,
}

impl CountingResolver {
    fn new(ttl: Option<std::time::Duration>) -> Self {
        CountingResolver {
            zone: ZoneResolver::from_files(&[zone_file()]).unwrap(),
            ttl,
            lookups: Default::default(),
            temporary_failures_left: Default::default(),
        }
    }

    fn lookups(&self, name: &str) -> usize {
        self.lookups.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl Resolver for CountingResolver {
    async fn txt(&self, name: &str) -> Result<Vec<mailauth::dns::TxtRecord>, DnsError> {
        self.txt_with_ttl(name).await.map(|(records, _)| records)
    }
    async fn txt_with_ttl(
        &self,
        name: &str,
    ) -> Result<(Vec<mailauth::dns::TxtRecord>, Option<std::time::Duration>), DnsError> {
        *self
            .lookups
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_default() += 1;
        let left = &self.temporary_failures_left;
        if left
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(DnsError::Temporary {
                name: name.to_owned(),
                reason: "injected".into(),
            });
        }
        Ok((self.zone.txt(name).await?, self.ttl))
    }
    async fn a(&self, name: &str) -> Result<Vec<std::net::Ipv4Addr>, DnsError> {
        self.zone.a(name).await
    }
    async fn aaaa(&self, name: &str) -> Result<Vec<std::net::Ipv6Addr>, DnsError> {
        self.zone.aaaa(name).await
    }
    async fn mx(&self, name: &str) -> Result<Vec<mailauth::dns::MxRecord>, DnsError> {
        self.zone.mx(name).await
    }
    async fn ptr(&self, ip: std::net::IpAddr) -> Result<Vec<String>, DnsError> {
        self.zone.ptr(ip).await
    }
    async fn ns(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.zone.ns(name).await
    }
}

use mailauth::dkim::verify::{KeyCache, verify_cached};
use mailauth::dns::DnsError;
use std::sync::atomic::Ordering::SeqCst;

const RSA_KEY: &str = "rsa._domainkey.mailauth.test";
const ED_KEY: &str = "ed._domainkey.mailauth.test";

/// Verify each message with one shared cache; the outcomes must equal `verify`'s (no cache).
fn verify_batch(
    resolver: &CountingResolver,
    cache: &KeyCache,
    messages: &[Vec<u8>],
) -> Vec<DkimResult> {
    let options = VerifyOptions::new(NOW);
    let zone = ZoneResolver::from_files(&[zone_file()]).unwrap();
    let mut results = Vec::new();
    for raw in messages {
        let message = Message::parse(raw).unwrap();
        let cached = runtime().block_on(verify_cached(&message, resolver, &options, cache));
        let plain = runtime().block_on(verify(&message, &zone, &options));
        assert_eq!(cached, plain, "the key cache changed an outcome");
        results.extend(cached.iter().map(|o| o.result));
    }
    results
}

#[test]
fn key_cache_looks_each_key_up_once_across_messages() {
    let resolver = CountingResolver::new(Some(std::time::Duration::from_secs(300)));
    let cache = KeyCache::new(16);
    let tampered = replace(
        &sign_with(MESSAGE, &rsa(), "rsa", |_| {}),
        "Lunch",
        "Dinner",
    );
    let messages = [
        sign_with(MESSAGE, &rsa(), "rsa", |_| {}),
        sign_with(MESSAGE, &ed(), "ed", |_| {}),
        tampered,
        sign_with(MESSAGE, &ed(), "ed", |_| {}),
        sign_with(MESSAGE, &rsa(), "missing", |_| {}),
        sign_with(MESSAGE, &rsa(), "missing", |_| {}),
    ];
    let results = verify_batch(&resolver, &cache, &messages);
    use DkimResult::{Fail, Pass, PermError};
    assert_eq!(results, [Pass, Pass, Fail, Pass, PermError, PermError]);
    assert_eq!(resolver.lookups(RSA_KEY), 1);
    assert_eq!(resolver.lookups(ED_KEY), 1);
    // A permanent failure is kept too (for a short while), so a batch of mail signed with a
    // missing key does not ask again for every message.
    assert_eq!(resolver.lookups("missing._domainkey.mailauth.test"), 1);
    assert_eq!(cache.len(), 3);
}

#[test]
fn key_cache_keeps_nothing_past_a_zero_ttl() {
    let resolver = CountingResolver::new(Some(std::time::Duration::ZERO));
    let cache = KeyCache::new(16);
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let results = verify_batch(&resolver, &cache, &[signed.clone(), signed]);
    assert_eq!(results, [DkimResult::Pass, DkimResult::Pass]);
    assert_eq!(resolver.lookups(RSA_KEY), 2);
    assert!(cache.is_empty());
}

#[test]
fn key_cache_looks_again_once_the_ttl_has_run_out() {
    let resolver = CountingResolver::new(Some(std::time::Duration::from_millis(200)));
    let cache = KeyCache::new(16);
    let signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    verify_batch(&resolver, &cache, &[signed.clone(), signed.clone()]);
    assert_eq!(resolver.lookups(RSA_KEY), 1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    verify_batch(&resolver, &cache, &[signed]);
    assert_eq!(resolver.lookups(RSA_KEY), 2);
}

#[test]
fn key_cache_never_keeps_a_temporary_failure() {
    let resolver = CountingResolver::new(None);
    resolver.temporary_failures_left.store(1, SeqCst);
    let cache = KeyCache::new(16);
    let signed = Message::parse(&sign_with(MESSAGE, &rsa(), "rsa", |_| {})).unwrap();
    let options = VerifyOptions::new(NOW);
    let first = runtime().block_on(verify_cached(&signed, &resolver, &options, &cache));
    assert_outcome(&first[0], DkimResult::TempError, "injected");
    let second = runtime().block_on(verify_cached(&signed, &resolver, &options, &cache));
    assert_outcome(&second[0], DkimResult::Pass, "");
    assert_eq!(resolver.lookups(RSA_KEY), 2);
}

#[test]
fn key_cache_stays_within_its_capacity() {
    let resolver = CountingResolver::new(None);
    let cache = KeyCache::new(1);
    let rsa_signed = sign_with(MESSAGE, &rsa(), "rsa", |_| {});
    let ed_signed = sign_with(MESSAGE, &ed(), "ed", |_| {});
    verify_batch(
        &resolver,
        &cache,
        &[rsa_signed.clone(), ed_signed, rsa_signed],
    );
    assert_eq!(cache.len(), 1);
    assert_eq!(resolver.lookups(RSA_KEY), 2);
    assert_eq!(resolver.lookups(ED_KEY), 1);
}

/// The TTL reaches the key cache from the wire: the in-process server serves the zone's
/// `$TTL 300`, and hickory gives the time left on it.
#[test]
fn hickory_reports_the_answer_ttl() {
    let udp = HickoryResolver::with_servers(&[server().udp_addr()]).unwrap();
    let (records, ttl) = runtime()
        .block_on(udp.txt_with_ttl(RSA_KEY))
        .expect("key record served");
    assert_eq!(records.len(), 1);
    let ttl = ttl.expect("hickory knows the TTL");
    assert!(
        ttl <= std::time::Duration::from_secs(300) && ttl > std::time::Duration::from_secs(200),
        "{ttl:?}"
    );
    let zone = ZoneResolver::from_files(&[zone_file()]).unwrap();
    assert_eq!(
        runtime().block_on(zone.txt_with_ttl(RSA_KEY)).unwrap().1,
        None
    );
}
