//! DKIM signing (RFC 6376 §5, RFC 8463): a message and a private key in, a DKIM-Signature field
//! out. The caller prepends the field to the message.

use super::canonicalize::{self, HeaderIndex};
use super::{Canonicalization, DkimError, DkimSignature, SigningAlgorithm, build};
use crate::keys::PrivateKey;
use crate::message::Message;

/// The header fields signed when present (RFC 6376 §5.4.1), plus the MIME fields whose change
/// would alter how the body is read.
pub const RECOMMENDED_HEADERS: &[&str] = &[
    "from",
    "reply-to",
    "subject",
    "date",
    "to",
    "cc",
    "resent-date",
    "resent-from",
    "resent-to",
    "resent-cc",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// How to sign.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `a=`; `None` picks rsa-sha256 or ed25519-sha256 from the key.
    pub algorithm: Option<SigningAlgorithm>,
    /// Header canonicalization (default relaxed).
    pub header_canon: Canonicalization,
    /// Body canonicalization (default relaxed).
    pub body_canon: Canonicalization,
    /// Field names to sign when present; `None` means [`RECOMMENDED_HEADERS`].
    pub headers: Option<Vec<String>>,
    /// Names listed once more than they occur, so adding such a field breaks the signature
    /// (default: From).
    pub oversign: Vec<String>,
    /// `t=`, seconds since the epoch.
    pub timestamp: u64,
    /// `x=`, seconds since the epoch, if the signature should expire.
    pub expiration: Option<u64>,
    /// `i=`, if any.
    pub identity: Option<String>,
    /// Sign only this many bytes of the canonicalized body (`l=`); discouraged (RFC 6376 §8.2).
    pub body_length: Option<u64>,
}

impl SignOptions {
    /// Defaults for `domain` and `selector` at time `now`: relaxed/relaxed, recommended header
    /// set, From oversigned, no expiry.
    pub fn new(domain: &str, selector: &str, now: u64) -> Self {
        SignOptions {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            algorithm: None,
            header_canon: Canonicalization::Relaxed,
            body_canon: Canonicalization::Relaxed,
            headers: None,
            oversign: vec!["from".to_owned()],
            timestamp: now,
            expiration: None,
            identity: None,
            body_length: None,
        }
    }
}

fn refuse(reason: impl Into<String>) -> DkimError {
    DkimError::Sign(reason.into())
}

/// The `h=` list: each wanted name once per field present (in message order of names wanted),
/// plus one extra for each oversigned name.
fn signed_header_names(message: &Message, options: &SignOptions) -> Vec<String> {
    let wanted: Vec<String> = match &options.headers {
        Some(list) => list.iter().map(|n| n.to_ascii_lowercase()).collect(),
        None => RECOMMENDED_HEADERS
            .iter()
            .map(|n| (*n).to_owned())
            .collect(),
    };
    let mut names = Vec::new();
    for name in &wanted {
        let count = message.fields(name).count();
        names.extend(std::iter::repeat_n(name.clone(), count));
        if options
            .oversign
            .iter()
            .any(|o| o.eq_ignore_ascii_case(name))
        {
            names.push(name.clone());
        }
    }
    names
}

/// The body hash for `algorithm` over the canonicalized body, cut to `limit` bytes if given.
/// The canonical body is streamed into the digest, never built whole.
pub fn body_hash(
    algorithm: SigningAlgorithm,
    canon: Canonicalization,
    body: &[u8],
    limit: Option<u64>,
) -> Vec<u8> {
    let mut hasher = BufferedDigest::new(algorithm, limit);
    canonicalize::body_into(canon, body, &mut |piece| hasher.feed(piece));
    hasher.finish()
}

fn digest_algorithm(algorithm: SigningAlgorithm) -> &'static aws_lc_rs::digest::Algorithm {
    match algorithm {
        SigningAlgorithm::RsaSha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        SigningAlgorithm::RsaSha256 | SigningAlgorithm::Ed25519Sha256 => &aws_lc_rs::digest::SHA256,
    }
}

/// A digest fed in small pieces through a buffer (each update crosses into aws-lc), stopping
/// after `limit` bytes (`l=`).
struct BufferedDigest {
    context: aws_lc_rs::digest::Context,
    buffer: Vec<u8>,
    remaining: u64,
}

impl BufferedDigest {
    const BUFFER: usize = 16 * 1024;
    /// Pieces at least this long skip the buffer: copying them costs more than the call.
    const DIRECT: usize = 512;

    fn new(algorithm: SigningAlgorithm, limit: Option<u64>) -> Self {
        BufferedDigest {
            context: aws_lc_rs::digest::Context::new(digest_algorithm(algorithm)),
            buffer: Vec::with_capacity(Self::BUFFER),
            remaining: limit.unwrap_or(u64::MAX),
        }
    }

    fn feed(&mut self, piece: &[u8]) {
        let take = usize::try_from(self.remaining).map_or(piece.len(), |r| r.min(piece.len()));
        let piece = &piece[..take];
        self.remaining -= take as u64;
        // What is buffered goes first whenever a piece bypasses or overflows the buffer.
        let direct = piece.len() >= Self::DIRECT;
        if direct || self.buffer.len() + piece.len() > Self::BUFFER {
            self.context.update(&self.buffer);
            self.buffer.clear();
        }
        if direct {
            self.context.update(piece);
        } else {
            self.buffer.extend_from_slice(piece);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.context.update(&self.buffer);
        self.context.finish().as_ref().to_vec()
    }
}

fn check_options(
    message: &Message,
    key: &PrivateKey,
    options: &SignOptions,
) -> Result<SigningAlgorithm, DkimError> {
    let algorithm = options.algorithm.unwrap_or(match key.key_type() {
        super::KeyType::Rsa => SigningAlgorithm::RsaSha256,
        super::KeyType::Ed25519 => SigningAlgorithm::Ed25519Sha256,
    });
    if algorithm.key_type() != key.key_type() {
        return Err(refuse(format!(
            "{algorithm} needs a {} key, but the key is {}",
            algorithm.key_type().as_str(),
            key.key_type().as_str()
        )));
    }
    if message.fields("from").next().is_none() {
        return Err(refuse(
            "the message has no From field, which DKIM must sign (RFC 6376 §5.4)",
        ));
    }
    if let Some(expiration) = options.expiration
        && expiration <= options.timestamp
    {
        return Err(refuse(format!(
            "expiry x={expiration} is not after the signing time t={}",
            options.timestamp
        )));
    }
    Ok(algorithm)
}

/// Sign `message` with `key`; returns the whole `DKIM-Signature: ...` field (folded, without a
/// final CRLF), to be placed above the existing header fields.
pub fn sign(
    message: &Message,
    key: &PrivateKey,
    options: &SignOptions,
) -> Result<String, DkimError> {
    let algorithm = check_options(message, key, options)?;
    let mut signature = DkimSignature {
        algorithm,
        signature: Vec::new(),
        body_hash: body_hash(
            algorithm,
            options.body_canon,
            &message.body,
            options.body_length,
        ),
        header_canon: options.header_canon,
        body_canon: options.body_canon,
        domain: options.domain.clone(),
        signed_headers: signed_header_names(message, options),
        identity: options.identity.clone(),
        body_length: options.body_length,
        query_methods: None,
        selector: options.selector.clone(),
        timestamp: Some(options.timestamp),
        expiration: options.expiration,
        copied_headers: None,
    };
    let (prefix, line_len) = build::signature_prefix(&signature);
    let unsigned_field = format!("DKIM-Signature:{prefix}");
    let index = HeaderIndex::new(&message.headers);
    let data = index.hash_input(
        options.header_canon,
        &signature.signed_headers,
        unsigned_field.as_bytes(),
    );
    signature.signature = key
        .sign(algorithm, &data)
        .map_err(|e| refuse(e.to_string()))?;
    let (value, _) = build::folded_base64(&signature.signature, line_len);
    Ok(format!("{unsigned_field}{value}"))
}

/// The signed message: the new field, CRLF, then the original bytes.
pub fn signed_message(message: &Message, field: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len() + 2 + message.body.len() + 4096);
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&message.to_bytes());
    out
}
