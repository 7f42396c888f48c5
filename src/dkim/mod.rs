//! DKIM (RFC 6376) with RSA and Ed25519 (RFC 8463): signature and key-record types, and the
//! module's error enum.
//!
//! Layout, one file per verb: `parse` (tag lists → types), `build` (types → text, the exact
//! inverse), `canonicalize` (pure functions over bytes), `sign`, `verify`, and `lint` (what
//! `mailauth check` reports about a published key). The tag-list grammar itself is shared with
//! DMARC in [`crate::taglist`]. Outcomes of verification
//! are data ([`DkimOutcome`]) in RFC 8601 vocabulary, never `Err`. This module does not fetch
//! private keys from disk (see [`crate::keys`]) and does not decide DMARC alignment.

pub mod build;
pub mod canonicalize;
pub mod lint;
pub mod parse;
pub mod sign;
pub mod verify;

use std::fmt;

/// A signing algorithm (the `a=` tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SigningAlgorithm {
    /// `rsa-sha256` (RFC 6376 §3.3.2).
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    /// `rsa-sha1`: verified for old mail, reported as weak (RFC 8301 forbids signing with it).
    #[serde(rename = "rsa-sha1")]
    RsaSha1,
    /// `ed25519-sha256` (RFC 8463).
    #[serde(rename = "ed25519-sha256")]
    Ed25519Sha256,
}

impl SigningAlgorithm {
    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RsaSha256 => "rsa-sha256",
            SigningAlgorithm::RsaSha1 => "rsa-sha1",
            SigningAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The key type (`k=`) this algorithm needs.
    pub fn key_type(self) -> KeyType {
        match self {
            SigningAlgorithm::RsaSha256 | SigningAlgorithm::RsaSha1 => KeyType::Rsa,
            SigningAlgorithm::Ed25519Sha256 => KeyType::Ed25519,
        }
    }

    /// The hash name as it appears in a key record's `h=` tag.
    pub fn hash_name(self) -> &'static str {
        match self {
            SigningAlgorithm::RsaSha1 => "sha1",
            SigningAlgorithm::RsaSha256 | SigningAlgorithm::Ed25519Sha256 => "sha256",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key type (the `k=` tag of a key record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `k=rsa` (the default).
    Rsa,
    /// `k=ed25519` (RFC 8463).
    Ed25519,
}

impl KeyType {
    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// A canonicalization algorithm (RFC 6376 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Canonicalization {
    /// `simple`: nearly no change (the default when `c=` is absent).
    #[default]
    Simple,
    /// `relaxed`: tolerates common whitespace and case rewriting.
    Relaxed,
}

impl Canonicalization {
    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Canonicalization::Simple => "simple",
            Canonicalization::Relaxed => "relaxed",
        }
    }
}

/// A parsed DKIM-Signature header field value (RFC 6376 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimSignature {
    /// `a=`.
    pub algorithm: SigningAlgorithm,
    /// `b=`, decoded.
    pub signature: Vec<u8>,
    /// `bh=`, decoded.
    pub body_hash: Vec<u8>,
    /// `c=` header part.
    pub header_canon: Canonicalization,
    /// `c=` body part.
    pub body_canon: Canonicalization,
    /// `d=`, as written.
    pub domain: String,
    /// `h=`: signed header field names in order, as written.
    pub signed_headers: Vec<String>,
    /// `i=`, as written, if present.
    pub identity: Option<String>,
    /// `l=`, if present.
    pub body_length: Option<u64>,
    /// `q=`, if present, as written.
    pub query_methods: Option<String>,
    /// `s=`, as written.
    pub selector: String,
    /// `t=`, seconds since the epoch.
    pub timestamp: Option<u64>,
    /// `x=`, seconds since the epoch.
    pub expiration: Option<u64>,
    /// `z=`, as written (not interpreted).
    pub copied_headers: Option<String>,
}

/// A parsed DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKeyRecord {
    /// `v=`, if present (must be `DKIM1` and first when present).
    pub version: Option<String>,
    /// `h=`: acceptable hash algorithms; `None` means all.
    pub hashes: Option<Vec<String>>,
    /// `k=` as written (default `rsa`); unknown types are kept so the reason can name them.
    pub key_type: String,
    /// `n=` notes, if present.
    pub notes: Option<String>,
    /// `p=`, decoded; empty means the key was revoked.
    pub public_key: Vec<u8>,
    /// `s=` service types; `None` means `*`.
    pub services: Option<Vec<String>>,
    /// `t=` flags as written (`y`, `s`, others ignored).
    pub flags: Vec<String>,
}

/// RFC 8601 result words for one DKIM signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimResult {
    /// The signature verified.
    Pass,
    /// The signature or body hash did not verify.
    Fail,
    /// Signed, but the signature could not be judged (e.g. unsupported algorithm).
    Neutral,
    /// Signed, but not accepted by local policy (e.g. beyond the per-message cap).
    Policy,
    /// Not signed.
    None,
    /// A temporary failure (DNS) prevented verification.
    TempError,
    /// A permanent error (malformed signature or key record) prevented verification.
    PermError,
}

impl DkimResult {
    /// The RFC 8601 word.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Neutral => "neutral",
            DkimResult::Policy => "policy",
            DkimResult::None => "none",
            DkimResult::TempError => "temperror",
            DkimResult::PermError => "permerror",
        }
    }
}

/// The outcome of verifying one DKIM-Signature field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DkimOutcome {
    /// The verdict.
    pub result: DkimResult,
    /// `d=` (empty when the field was too broken to tell).
    pub domain: String,
    /// `s=` (empty when the field was too broken to tell).
    pub selector: String,
    /// `a=` as written (empty when absent).
    pub algorithm: String,
    /// Why the result is not `pass`, or a note on a weak pass; `None` for a clean pass.
    pub reason: Option<String>,
    /// `i=` or, when absent, `@` + `d=`, for Authentication-Results `header.i`.
    #[serde(skip)]
    pub identity: String,
    /// The first 8 characters of `b=` for Authentication-Results `header.b` (RFC 6008).
    #[serde(skip)]
    pub signature_prefix: String,
}

/// Errors that stop signing or parsing from being attempted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DkimError {
    /// A tag list or tag value is malformed.
    #[error("{what}: {reason}")]
    Syntax {
        /// What was being parsed (e.g. "DKIM-Signature tag list").
        what: &'static str,
        /// What is wrong, with the tag or position.
        reason: String,
    },
    /// A version, algorithm or canonicalization this implementation does not know.
    #[error("{what}: {reason}")]
    Unsupported {
        /// What was being parsed.
        what: &'static str,
        /// What is not supported.
        reason: String,
    },
    /// The signing request cannot be honoured.
    #[error("cannot sign: {0}")]
    Sign(String),
}
