//! DKIM private keys: generation (RSA 2048/3072/4096, Ed25519), loading the formats users bring,
//! signing primitives, and the on-disk key store.
//!
//! OWNED BY THE KEYS WORK (skeleton: the interface below is the contract `dkim::sign` relies on).

pub mod generate;
pub mod store;

use crate::dkim::{KeyType, SigningAlgorithm};

/// Errors from generating, loading, storing or using keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be understood.
    #[error("{source_name}: {reason}")]
    Format {
        /// File or description of where the key came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The key cannot do what was asked.
    #[error("{0}")]
    Unsupported(String),
    /// Reading or writing the key store failed.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The key already exists; keys are never overwritten.
    #[error("{0} already exists; refusing to overwrite a key (choose another selector)")]
    Exists(std::path::PathBuf),
}

/// Which key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySpec {
    /// RSA, 2048 bits (the default).
    Rsa2048,
    /// RSA, 3072 bits.
    Rsa3072,
    /// RSA, 4096 bits.
    Rsa4096,
    /// Ed25519 (RFC 8463).
    Ed25519,
}

/// A DKIM private key. `Debug` never shows key material.
pub struct PrivateKey {
    #[allow(dead_code)]
    inner: (),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey { .. }")
    }
}

impl PrivateKey {
    /// Load a key from PEM text (PKCS#8 RSA or Ed25519, PKCS#1 RSA) or dkimpy's base64 Ed25519
    /// seed. `source_name` names the file in errors.
    pub fn from_pem(_text: &[u8], _source_name: &str) -> Result<PrivateKey, KeyError> {
        unimplemented!("keys work")
    }

    /// The key type (`k=`).
    pub fn key_type(&self) -> KeyType {
        unimplemented!("keys work")
    }

    /// Modulus size in bits for RSA, 256 for Ed25519.
    pub fn bits(&self) -> usize {
        unimplemented!("keys work")
    }

    /// The bytes published in `p=`: SubjectPublicKeyInfo DER for RSA, the raw 32 bytes for Ed25519.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        unimplemented!("keys work")
    }

    /// Sign the canonicalized header data for a DKIM signature with `algorithm`: RSASSA-PKCS1-v1_5
    /// over SHA-256(data) for rsa-sha256; PureEdDSA over SHA-256(data) for ed25519-sha256
    /// (RFC 8463 §3). rsa-sha1 is refused (RFC 8301), as is an algorithm of another key type.
    pub fn sign(&self, _algorithm: SigningAlgorithm, _data: &[u8]) -> Result<Vec<u8>, KeyError> {
        unimplemented!("keys work")
    }
}
