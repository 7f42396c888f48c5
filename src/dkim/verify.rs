//! DKIM verification (RFC 6376 §6, RFC 8463, RFC 8301): every DKIM-Signature field on a message,
//! up to [`MAX_SIGNATURES`], each to a [`DkimOutcome`] saying which check decided it.
//!
//! The outcome is data, never `Err`: a broken signature is a permerror with a reason, a DNS
//! timeout a temperror. Body-hash mismatch (body changed) is told apart from signature mismatch
//! (signed header fields changed, or another key). The clock is a parameter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::signature as lc;

use super::canonicalize::HeaderIndex;
use super::sign::body_hash;
use super::{
    Canonicalization, DkimError, DkimKeyRecord, DkimOutcome, DkimResult, DkimSignature,
    SigningAlgorithm, parse,
};
use crate::dns::{DnsError, Resolver, TxtRecord};
use crate::message::{HeaderField, Message};

/// Signatures verified per message; later ones are reported as `policy` without DNS queries,
/// so a message carrying a thousand signatures costs no more than one carrying this many.
pub const MAX_SIGNATURES: usize = 16;

/// The smallest RSA key accepted (RFC 8301 §3.2).
pub const MIN_RSA_BITS: usize = 1024;
/// RSA keys below this size pass with a "weak key" note (RFC 8301 §3.2: SHOULD be 2048).
pub const RECOMMENDED_RSA_BITS: usize = 2048;

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The current time, seconds since the epoch (for `x=`).
    pub now: u64,
    /// At most this many signatures are verified.
    pub max_signatures: usize,
}

impl VerifyOptions {
    /// Defaults at time `now`.
    pub fn new(now: u64) -> Self {
        VerifyOptions {
            now,
            max_signatures: MAX_SIGNATURES,
        }
    }
}

/// A verdict with its reason, before the signature's identifiers are attached.
type Verdict = (DkimResult, Option<String>);

fn verdict(result: DkimResult, reason: impl Into<String>) -> Verdict {
    (result, Some(reason.into()))
}

/// Per-message caches: body hashes are computed once, and key lookups (temporary failures
/// included, which the shared [`KeyCache`] does not keep) are made once per message.
#[derive(Debug, Default)]
struct Caches {
    body_hashes: HashMap<(SigningAlgorithm, Canonicalization, Option<u64>), Vec<u8>>,
    keys: HashMap<String, Arc<KeyEntry>>,
}

/// How long a permanent lookup failure (no record, a malformed one) is kept: the negative
/// answer's own TTL is not known here, so a short fixed time (RFC 2308 §5 caps negative caching;
/// a missing key record is often about to be published).
const NEGATIVE_LIFETIME: Duration = Duration::from_secs(60);

/// What looking a key record up came to: the selected record with its public key decoded, or the
/// verdict that ends verification (no record, malformed, temporary failure).
type KeyEntry = Result<ReadyKey, Verdict>;

/// A key record and its public key, decoded once and then used for every signature naming it.
#[derive(Debug)]
struct ReadyKey {
    record: DkimKeyRecord,
    /// The key of the record's `k=` type, or why `p=` does not hold one. Unused when the record
    /// fails the checks against a signature first (revoked, unknown `k=`).
    public: Result<PublicKey, String>,
}

/// Parsed DKIM public keys shared across messages and threads, so a batch pays the DNS lookup,
/// the base64 and DER decoding and the key set-up once per key (RFC 6376 §3.6.2.2 names where a
/// key lives; the answer is kept as long as its TTL allows). Bounded: when `capacity` entries are
/// held, expired ones are dropped, and if none had expired the cache starts over. Temporary
/// failures are never kept; permanent ones for [`NEGATIVE_LIFETIME`].
#[derive(Debug)]
pub struct KeyCache {
    capacity: usize,
    entries: Mutex<HashMap<String, CachedKey>>,
}

#[derive(Debug, Clone)]
struct CachedKey {
    /// `None`: the source's data does not expire (a zone file).
    expires: Option<Instant>,
    entry: Arc<KeyEntry>,
}

impl KeyCache {
    /// A cache holding at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        KeyCache {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Keys held now, expired ones included until they are dropped.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, name: &str, now: Instant) -> Option<Arc<KeyEntry>> {
        let entries = self.entries.lock().ok()?;
        let cached = entries.get(name)?;
        match cached.expires {
            Some(expires) if expires <= now => None,
            _ => Some(Arc::clone(&cached.entry)),
        }
    }

    fn put(&self, name: &str, entry: Arc<KeyEntry>, ttl: Option<Duration>, now: Instant) {
        let lifetime = match entry.as_ref() {
            Ok(_) => ttl,
            Err((DkimResult::TempError, _)) => return,
            Err(_) => Some(ttl.map_or(NEGATIVE_LIFETIME, |t| t.min(NEGATIVE_LIFETIME))),
        };
        if lifetime.is_some_and(|l| l.is_zero()) {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(name) {
            entries.retain(|_, cached| cached.expires.is_none_or(|e| e > now));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let expires = lifetime.and_then(|l| now.checked_add(l));
        entries.insert(name.to_owned(), CachedKey { expires, entry });
    }

    /// The key at `name`, from the cache or looked up and decoded.
    async fn fetch(&self, name: &str, resolver: &dyn Resolver) -> Arc<KeyEntry> {
        let now = Instant::now();
        if let Some(entry) = self.get(name, now) {
            return entry;
        }
        let (records, ttl) = match resolver.txt_with_ttl(name).await {
            Ok((records, ttl)) => (Ok(records), ttl),
            Err(err) => (Err(err), None),
        };
        let entry = Arc::new(select_key(name, records).map(|record| {
            let public = decode_public_key(&record.key_type, &record.public_key);
            ReadyKey { record, public }
        }));
        self.put(name, Arc::clone(&entry), ttl, now);
        entry
    }
}

/// Verify every DKIM-Signature field of `message`, in header order.
pub async fn verify(
    message: &Message,
    resolver: &dyn Resolver,
    options: &VerifyOptions,
) -> Vec<DkimOutcome> {
    verify_cached(message, resolver, options, &KeyCache::new(MAX_SIGNATURES)).await
}

/// As [`verify`], taking keys from `keys` and leaving the keys it looks up there for the next
/// message: what verifying many messages uses.
pub async fn verify_cached(
    message: &Message,
    resolver: &dyn Resolver,
    options: &VerifyOptions,
    keys: &KeyCache,
) -> Vec<DkimOutcome> {
    let index = HeaderIndex::new(&message.headers);
    let mut caches = Caches::default();
    let mut outcomes = Vec::new();
    for (position, field) in message.fields("dkim-signature").enumerate() {
        if position >= options.max_signatures {
            let verdict = verdict(
                DkimResult::Policy,
                format!(
                    "not verified: only the first {} signatures of a message are",
                    options.max_signatures
                ),
            );
            outcomes.push(Identifiers::scan(field).into_outcome(verdict));
            continue;
        }
        // Parsed once; a field that does not parse is still reported with what can be read.
        let parsed = parse::signature(field.value());
        let ids = match &parsed {
            Ok(signature) => Identifiers::of(signature),
            Err(_) => Identifiers::scan(field),
        };
        let verdict = verify_field(
            message,
            &index,
            field,
            parsed,
            (resolver, keys),
            options,
            &mut caches,
        )
        .await;
        outcomes.push(ids.into_outcome(verdict));
    }
    outcomes
}

/// d=, s=, a=, i= and the start of b= read loosely, so even a malformed field is reported with
/// what can be told of it.
#[derive(Debug, Default)]
struct Identifiers {
    domain: String,
    selector: String,
    algorithm: String,
    identity: Option<String>,
    signature_prefix: String,
}

impl Identifiers {
    fn of(signature: &DkimSignature) -> Self {
        use base64::Engine as _;
        // Six bytes are the first eight base64 characters.
        let head = &signature.signature[..signature.signature.len().min(6)];
        let b64 = base64::engine::general_purpose::STANDARD.encode(head);
        Identifiers {
            domain: signature.domain.clone(),
            selector: signature.selector.clone(),
            algorithm: signature.algorithm.as_str().to_owned(),
            identity: signature.identity.clone(),
            signature_prefix: b64.chars().take(8).collect(),
        }
    }

    fn scan(field: &HeaderField) -> Self {
        let mut ids = Identifiers::default();
        let Ok(text) = std::str::from_utf8(field.value()) else {
            return ids;
        };
        for element in text.split(';') {
            let Some((name, value)) = element.split_once('=') else {
                continue;
            };
            let compact = |limit: usize| -> String {
                value
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .take(limit)
                    .collect()
            };
            match name.trim() {
                "d" => ids.domain = compact(usize::MAX),
                "s" => ids.selector = compact(usize::MAX),
                "a" => ids.algorithm = compact(usize::MAX),
                "i" => ids.identity = Some(compact(usize::MAX)),
                "b" => ids.signature_prefix = compact(8),
                _ => {}
            }
        }
        ids
    }

    fn into_outcome(self, (result, reason): Verdict) -> DkimOutcome {
        let identity = self.identity.unwrap_or_else(|| format!("@{}", self.domain));
        DkimOutcome {
            result,
            domain: self.domain,
            selector: self.selector,
            algorithm: self.algorithm,
            reason,
            identity,
            signature_prefix: self.signature_prefix,
        }
    }
}

async fn verify_field(
    message: &Message,
    index: &HeaderIndex<'_>,
    field: &HeaderField,
    parsed: Result<DkimSignature, DkimError>,
    (resolver, keys): (&dyn Resolver, &KeyCache),
    options: &VerifyOptions,
    caches: &mut Caches,
) -> Verdict {
    let signature = match parsed {
        Ok(signature) => signature,
        Err(DkimError::Unsupported { reason, .. }) => return verdict(DkimResult::Neutral, reason),
        Err(err) => {
            return verdict(
                DkimResult::PermError,
                format!("malformed DKIM-Signature: {err}"),
            );
        }
    };
    if let Err(failure) = check_signature(&signature, options.now) {
        return failure;
    }
    // RFC 8616 §4: a signer may write d= as U-labels; the key lives at the A-label name.
    let domain = match mailauth_base::DomainName::parse(&signature.domain) {
        Ok(domain) => domain,
        Err(err) => {
            return verdict(
                DkimResult::PermError,
                format!("d= is not a valid domain name (RFC 6376 §3.5, RFC 8616 §4): {err}"),
            );
        }
    };
    let key_name = format!("{}._domainkey.{domain}", signature.selector);
    if let Err(reason) = check_key_name(&key_name) {
        return verdict(DkimResult::PermError, reason);
    }
    let entry = match caches.keys.get(&key_name) {
        Some(entry) => Arc::clone(entry),
        None => {
            let entry = keys.fetch(&key_name, resolver).await;
            caches.keys.insert(key_name.clone(), Arc::clone(&entry));
            entry
        }
    };
    let ready = match entry.as_ref() {
        Ok(ready) => ready,
        Err(failure) => return failure.clone(),
    };
    let key = &ready.record;
    if let Err(failure) = check_key(&key_name, key, &signature) {
        return failure;
    }
    let public_key = match &ready.public {
        Ok(public_key) => public_key,
        Err(reason) => {
            return verdict(DkimResult::PermError, format!("{key_name}: {reason}"));
        }
    };
    let body_ok = match check_body(message, &signature, caches) {
        Ok(matches) => matches,
        Err(failure) => return failure,
    };
    let data = index.hash_input(
        signature.header_canon,
        &signature.signed_headers,
        &super::canonicalize::without_b_value(field.raw()),
    );
    let signature_ok = public_key.verify(signature.algorithm, &data, &signature.signature);
    judge(
        &key_name,
        key,
        &signature,
        public_key,
        body_ok,
        signature_ok,
    )
}

/// Checks on the signature alone (RFC 6376 §6.1.1).
fn check_signature(sig: &DkimSignature, now: u64) -> Result<(), Verdict> {
    let perm = |reason: String| Err(verdict(DkimResult::PermError, reason));
    if !sig
        .signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("from"))
    {
        return perm("h= does not include From, which must be signed (RFC 6376 §5.4)".into());
    }
    if sig.domain.is_empty() || sig.selector.is_empty() {
        return perm("d= or s= is empty".into());
    }
    if let Some(identity) = &sig.identity {
        let Some((_, domain)) = identity.rsplit_once('@') else {
            return perm(format!("i={identity} has no @domain part (RFC 6376 §3.5)"));
        };
        if !is_same_or_subdomain(domain, &sig.domain) {
            return perm(format!(
                "i= domain {domain} is neither d={} nor a subdomain of it (RFC 6376 §3.5)",
                sig.domain
            ));
        }
    }
    if let Some(methods) = &sig.query_methods
        && !methods
            .split(':')
            .any(|m| m.trim().eq_ignore_ascii_case("dns/txt"))
    {
        return Err(verdict(
            DkimResult::Neutral,
            format!("unsupported query method q={methods}"),
        ));
    }
    if let (Some(t), Some(x)) = (sig.timestamp, sig.expiration)
        && x < t
    {
        return perm(format!("x={x} is before t={t} (RFC 6376 §3.5)"));
    }
    if let Some(x) = sig.expiration
        && now > x
    {
        return Err(verdict(
            DkimResult::Fail,
            format!("signature expired at {} (x={x})", format_time(x)),
        ));
    }
    Ok(())
}

fn format_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(|| secs.to_string(), |t| t.to_rfc3339())
}

fn is_same_or_subdomain(child: &str, parent: &str) -> bool {
    let child = child.trim_end_matches('.').to_ascii_lowercase();
    let parent = parent.trim_end_matches('.').to_ascii_lowercase();
    child == parent || child.ends_with(&format!(".{parent}"))
}

fn check_key_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_graphic())
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "s= and d= do not form a valid DNS name: {}",
            crate::message::excerpt(name.as_bytes())
        ))
    }
}

/// The first TXT record at `name` that parses as a key record (RFC 6376 §6.1.2).
fn select_key(
    name: &str,
    records: Result<Vec<TxtRecord>, DnsError>,
) -> Result<DkimKeyRecord, Verdict> {
    let records = match records {
        Ok(records) => records,
        Err(err) if err.is_temporary() => {
            return Err(verdict(
                DkimResult::TempError,
                format!("key lookup failed: {err}"),
            ));
        }
        Err(err @ (DnsError::NxDomain { .. } | DnsError::NoData { .. })) => {
            return Err(verdict(
                DkimResult::PermError,
                format!("no key record: {err}"),
            ));
        }
        Err(err) => {
            return Err(verdict(
                DkimResult::PermError,
                format!("key lookup failed: {err}"),
            ));
        }
    };
    let mut first_error = None;
    for record in &records {
        match parse::key_record(&record.joined()) {
            Ok(key) => return Ok(key),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    let reason = first_error.map_or_else(String::new, |e| e.to_string());
    Err(verdict(
        DkimResult::PermError,
        format!("key record at {name} is malformed: {reason}"),
    ))
}

/// A public key ready to verify with: parsed once, kept in the [`KeyCache`].
#[derive(Debug)]
enum PublicKey {
    /// PKCS#1 RSAPublicKey DER, the modulus size, and the key set up for rsa-sha256 (`None` when
    /// aws-lc refuses it, e.g. over 8192 bits: every signature then fails to verify).
    Rsa {
        pkcs1: Vec<u8>,
        bits: usize,
        sha256: Option<lc::ParsedPublicKey>,
    },
    /// The key set up for Ed25519 (`None` when aws-lc refuses the 32 bytes).
    Ed25519(Option<lc::ParsedPublicKey>),
}

impl PublicKey {
    fn verify(&self, algorithm: SigningAlgorithm, data: &[u8], signature: &[u8]) -> bool {
        match (self, algorithm) {
            (PublicKey::Rsa { sha256, .. }, SigningAlgorithm::RsaSha256) => sha256
                .as_ref()
                .is_some_and(|key| key.verify_sig(data, signature).is_ok()),
            // Rare enough (RFC 8301 §3.1 forbids signing with it) to set up on use.
            (PublicKey::Rsa { pkcs1, .. }, SigningAlgorithm::RsaSha1) => {
                lc::ParsedPublicKey::new(&lc::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, pkcs1)
                    .is_ok_and(|key| key.verify_sig(data, signature).is_ok())
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the header data, not the data.
            (PublicKey::Ed25519(key), SigningAlgorithm::Ed25519Sha256) => {
                let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
                key.as_ref()
                    .is_some_and(|key| key.verify_sig(hash.as_ref(), signature).is_ok())
            }
            _ => false,
        }
    }
}

/// Checks on the key record against the signature (RFC 6376 §6.1.2, RFC 8463 §4).
fn check_key(name: &str, key: &DkimKeyRecord, sig: &DkimSignature) -> Result<(), Verdict> {
    let perm = |reason: String| Err(verdict(DkimResult::PermError, reason));
    if key.public_key.is_empty() {
        return perm(format!("key revoked: the record at {name} has an empty p="));
    }
    let hash = sig.algorithm.hash_name();
    if let Some(hashes) = &key.hashes
        && !hashes.iter().any(|h| h.eq_ignore_ascii_case(hash))
    {
        return perm(format!(
            "key record h={} does not allow {hash} used by a={}",
            hashes.join(":"),
            sig.algorithm
        ));
    }
    if let Some(services) = &key.services
        && !services
            .iter()
            .any(|s| s == "*" || s.eq_ignore_ascii_case("email"))
    {
        return perm(format!(
            "key record s={} is not for email",
            services.join(":")
        ));
    }
    if key.flags.iter().any(|f| f == "s") {
        let identity_domain = sig
            .identity
            .as_deref()
            .and_then(|i| i.rsplit_once('@'))
            .map(|(_, d)| d);
        if identity_domain.is_some_and(|d| {
            !d.trim_end_matches('.')
                .eq_ignore_ascii_case(sig.domain.trim_end_matches('.'))
        }) {
            return perm(
                "key record has t=s, but i= is a subdomain of d= (RFC 6376 §3.6.1)".into(),
            );
        }
    }
    let expected = sig.algorithm.key_type().as_str();
    if !key.key_type.eq_ignore_ascii_case(expected) {
        let known = ["rsa", "ed25519"]
            .iter()
            .any(|k| key.key_type.eq_ignore_ascii_case(k));
        return perm(if known {
            format!(
                "a={} needs k={expected}, but the key record has k={}",
                sig.algorithm, key.key_type
            )
        } else {
            format!("key record has unknown key type k={}", key.key_type)
        });
    }
    Ok(())
}

/// The public key in `p=` for the record's `k=` (`key_type`); a `k=` other than `ed25519` is
/// read as RSA, since [`check_key`] refuses unknown types before the key is used.
fn decode_public_key(key_type: &str, bytes: &[u8]) -> Result<PublicKey, String> {
    if key_type.eq_ignore_ascii_case(super::KeyType::Ed25519.as_str()) {
        if bytes.len() != 32 {
            return Err(format!(
                "p= holds {} bytes; an Ed25519 key is 32 (RFC 8463 §4)",
                bytes.len()
            ));
        }
        return Ok(PublicKey::Ed25519(
            lc::ParsedPublicKey::new(&lc::ED25519, bytes).ok(),
        ));
    }
    let pkcs1 =
        rsa_pkcs1(bytes).ok_or("p= is not an RSA public key (SubjectPublicKeyInfo or PKCS#1)")?;
    let bits = rsa_modulus_bits(&pkcs1).ok_or("p= is not a valid RSA public key")?;
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "RSA key of {bits} bits is too short (RFC 8301 §3.2 requires at least {MIN_RSA_BITS})"
        ));
    }
    let sha256 =
        lc::ParsedPublicKey::new(&lc::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, &pkcs1).ok();
    Ok(PublicKey::Rsa {
        pkcs1,
        bits,
        sha256,
    })
}

/// The PKCS#1 RSAPublicKey inside a SubjectPublicKeyInfo, or the bytes themselves if they are
/// already PKCS#1 (as some signers publish).
pub fn rsa_pkcs1(bytes: &[u8]) -> Option<Vec<u8>> {
    const RSA_ENCRYPTION: spki::ObjectIdentifier =
        spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    if let Ok(info) = spki::SubjectPublicKeyInfoRef::try_from(bytes) {
        if info.algorithm.oid != RSA_ENCRYPTION {
            return None;
        }
        return info.subject_public_key.as_bytes().map(<[u8]>::to_vec);
    }
    rsa_modulus_bits(bytes).map(|_| bytes.to_vec())
}

/// The modulus size of a PKCS#1 RSAPublicKey, read from its DER (no key setup).
pub fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    use pkcs1::der::Decode as _;
    let key = pkcs1::RsaPublicKey::<pkcs1::UintRef<'_>>::from_der(pkcs1).ok()?;
    let modulus = key.modulus.as_bytes();
    let first = *modulus.first()?;
    Some((modulus.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// Compare the body hash; `Err` when `l=` is longer than the body.
fn check_body(
    message: &Message,
    sig: &DkimSignature,
    caches: &mut Caches,
) -> Result<bool, Verdict> {
    if let Some(limit) = sig.body_length {
        let mut canonical_len = 0u64;
        super::canonicalize::body_into(sig.body_canon, &message.body, &mut |piece| {
            canonical_len += piece.len() as u64;
        });
        if limit > canonical_len {
            return Err(verdict(
                DkimResult::PermError,
                format!("l={limit} is longer than the canonicalized body ({canonical_len} bytes)"),
            ));
        }
    }
    let key = (sig.algorithm, sig.body_canon, sig.body_length);
    let computed = caches.body_hashes.entry(key).or_insert_with(|| {
        body_hash(
            sig.algorithm,
            sig.body_canon,
            &message.body,
            sig.body_length,
        )
    });
    Ok(*computed == sig.body_hash)
}

/// The verdict once both hashes are known.
fn judge(
    name: &str,
    key: &DkimKeyRecord,
    sig: &DkimSignature,
    public_key: &PublicKey,
    body_ok: bool,
    signature_ok: bool,
) -> Verdict {
    if !signature_ok {
        let also = if body_ok {
            ""
        } else {
            "; the body hash does not match either"
        };
        return verdict(
            DkimResult::Fail,
            format!(
                "signature mismatch: signed header fields changed, or the key at {name} is not the signing key{also}"
            ),
        );
    }
    if !body_ok {
        return verdict(
            DkimResult::Fail,
            "body hash mismatch: the body changed after signing (bh= differs)",
        );
    }
    if sig.algorithm == SigningAlgorithm::RsaSha1 {
        return verdict(
            DkimResult::Policy,
            "weak algorithm: rsa-sha1 verifies but is not accepted (RFC 8301 §3.1)",
        );
    }
    let mut notes = Vec::new();
    if let PublicKey::Rsa { bits, .. } = public_key
        && *bits < RECOMMENDED_RSA_BITS
    {
        notes.push(format!(
            "weak key: {bits}-bit RSA (RFC 8301 §3.2 recommends {RECOMMENDED_RSA_BITS})"
        ));
    }
    if key.flags.iter().any(|f| f == "y") {
        notes.push("key is in testing mode (t=y)".to_owned());
    }
    (
        DkimResult::Pass,
        (!notes.is_empty()).then(|| notes.join("; ")),
    )
}
