//! DKIM private keys: generation (RSA 2048/3072/4096, Ed25519), loading the formats users bring,
//! signing primitives, and the on-disk key store.
//!
//! Loading accepts PKCS#8 PEM (RSA or Ed25519; what `mailauth keygen`, `openssl genpkey` and
//! OpenSSL 3's `genrsa` write), PKCS#1 `RSA PRIVATE KEY` PEM (`openssl genrsa -traditional`,
//! `opendkim-genkey`), and dkimpy's Ed25519 key file (the base64 32-byte seed `dknewkey` writes).
//! RSA signatures are made by aws-lc-rs; key generation and encoding use the `rsa`, `pkcs8` and
//! `ed25519-dalek` crates.

pub mod generate;
pub mod store;

use aws_lc_rs::encoding::AsDer;
use base64::Engine as _;

use crate::dkim::{KeyType, SigningAlgorithm};

pub use generate::generate;
pub use store::KeyStore;

/// The smallest RSA modulus mailauth signs with (RFC 8301 §3.2).
pub const MIN_SIGNING_RSA_BITS: usize = 2048;

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
    /// A domain or selector that cannot name a key (and could escape the key store).
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        /// "domain" or "selector".
        what: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Which key to generate. The one list of key kinds: mailauth.toml (serde), the command line
/// (clap, with the `cli` feature) and JSON all use these names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum KeySpec {
    /// RSA, 2048 bits (the default).
    #[serde(rename = "rsa-2048")]
    #[cfg_attr(feature = "cli", value(name = "rsa-2048"))]
    Rsa2048,
    /// RSA, 3072 bits.
    #[serde(rename = "rsa-3072")]
    #[cfg_attr(feature = "cli", value(name = "rsa-3072"))]
    Rsa3072,
    /// RSA, 4096 bits.
    #[serde(rename = "rsa-4096")]
    #[cfg_attr(feature = "cli", value(name = "rsa-4096"))]
    Rsa4096,
    /// Ed25519 (RFC 8463).
    #[serde(rename = "ed25519")]
    #[cfg_attr(feature = "cli", value(name = "ed25519"))]
    Ed25519,
}

impl KeySpec {
    /// Every spec, in the order `--help` lists them.
    pub const ALL: [KeySpec; 4] = [
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::Ed25519,
    ];

    /// The name used on the command line and in JSON: `rsa-2048`, ..., `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySpec::Rsa2048 => "rsa-2048",
            KeySpec::Rsa3072 => "rsa-3072",
            KeySpec::Rsa4096 => "rsa-4096",
            KeySpec::Ed25519 => "ed25519",
        }
    }

    /// Parse a name given by [`KeySpec::as_str`].
    pub fn from_name(name: &str) -> Option<KeySpec> {
        KeySpec::ALL
            .into_iter()
            .find(|spec| spec.as_str().eq_ignore_ascii_case(name))
    }

    /// The key type this spec makes.
    pub fn key_type(self) -> KeyType {
        match self {
            KeySpec::Ed25519 => KeyType::Ed25519,
            _ => KeyType::Rsa,
        }
    }
}

impl std::fmt::Display for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

enum Inner {
    Rsa {
        /// Present when the key is large enough to sign with.
        signer: Option<aws_lc_rs::rsa::KeyPair>,
        spki: Vec<u8>,
        bits: usize,
    },
    /// The key for encoding and the same key in aws-lc for signing.
    Ed25519(
        ed25519_dalek::SigningKey,
        aws_lc_rs::signature::Ed25519KeyPair,
    ),
}

fn ed25519(key: ed25519_dalek::SigningKey) -> Result<Inner, String> {
    let signer = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(key.as_bytes())
        .map_err(|e| format!("Ed25519 key rejected: {e}"))?;
    Ok(Inner::Ed25519(key, signer))
}

/// A DKIM private key. `Debug` never shows key material.
pub struct PrivateKey {
    inner: Inner,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PrivateKey {{ type: {}, bits: {} }}",
            self.key_type().as_str(),
            self.bits()
        )
    }
}

const OID_RSA_ENCRYPTION: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.3.101.112");

impl PrivateKey {
    /// Load a key from PEM text (PKCS#8 RSA or Ed25519, PKCS#1 RSA) or dkimpy's base64 Ed25519
    /// seed. `source_name` names the file in errors.
    pub fn from_pem(text: &[u8], source_name: &str) -> Result<PrivateKey, KeyError> {
        let format = |reason: String| KeyError::Format {
            source_name: source_name.to_string(),
            reason,
        };
        let Some(start) = find(text, b"-----BEGIN ") else {
            return Self::from_dkimpy_seed(text).ok_or_else(|| {
                format("not a PEM private key (no \"-----BEGIN\" line) and not a dkimpy base64 Ed25519 seed".into())
            });
        };
        let (label, der) = pkcs8::der::pem::decode_vec(&text[start..])
            .map_err(|e| format(format!("malformed PEM: {e}")))?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der).map_err(format),
            "RSA PRIVATE KEY" => {
                use rsa::pkcs1::DecodeRsaPrivateKey as _;
                let key = rsa::PrivateKey::from_pkcs1_der(&der)
                    .map_err(|e| format(format!("malformed PKCS#1 RSA key: {e}")))?;
                Self::from_rsa(&key).map_err(format)
            }
            "ENCRYPTED PRIVATE KEY" => Err(format(
                "the key is encrypted with a passphrase; decrypt it first (openssl pkey -in KEY -out PLAIN.pem)"
                    .into(),
            )),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(format(
                "this is a public key; a private key is needed to sign".into(),
            )),
            other => Err(format(format!(
                "unsupported PEM type \"{other}\" (expected PRIVATE KEY or RSA PRIVATE KEY)"
            ))),
        }
    }

    /// A key from PKCS#8 DER (`PrivateKeyInfo`), RSA or Ed25519.
    fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, String> {
        use pkcs8::der::Decode as _;
        let info = pkcs8::PrivateKeyInfoRef::from_der(der)
            .map_err(|e| format!("malformed PKCS#8 key: {e}"))?;
        let oid = info.algorithm.oid;
        if oid == OID_RSA_ENCRYPTION {
            use rsa::pkcs8::DecodePrivateKey as _;
            let key = rsa::PrivateKey::from_pkcs8_der(der)
                .map_err(|e| format!("malformed PKCS#8 RSA key: {e}"))?;
            Self::from_rsa(&key)
        } else if oid == OID_ED25519 {
            use ed25519_dalek::pkcs8::DecodePrivateKey as _;
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|e| format!("malformed PKCS#8 Ed25519 key: {e}"))?;
            Ok(PrivateKey {
                inner: ed25519(key)?,
            })
        } else {
            Err(format!(
                "unsupported key algorithm {oid} (DKIM uses RSA or Ed25519)"
            ))
        }
    }

    pub(crate) fn from_rsa(key: &rsa::PrivateKey) -> Result<PrivateKey, String> {
        use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
        use rsa::traits::PublicKeyParts as _;
        let bits = key.n().bit_width() as usize;
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the public key: {e}"))?
            .into_vec();
        let signer = if bits >= MIN_SIGNING_RSA_BITS {
            let pkcs8 = key
                .to_pkcs8_der()
                .map_err(|e| format!("cannot encode the RSA key: {e}"))?;
            Some(
                aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8.as_bytes())
                    .map_err(|e| format!("RSA key rejected: {e}"))?,
            )
        } else {
            None
        };
        Ok(PrivateKey {
            inner: Inner::Rsa { signer, spki, bits },
        })
    }

    fn from_dkimpy_seed(text: &[u8]) -> Option<PrivateKey> {
        let trimmed: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let seed = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .ok()?;
        let seed: [u8; 32] = seed.try_into().ok()?;
        Some(PrivateKey {
            inner: ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)).ok()?,
        })
    }

    /// Wrap a generated Ed25519 key.
    pub(crate) fn from_parts_ed25519(
        key: ed25519_dalek::SigningKey,
    ) -> Result<PrivateKey, KeyError> {
        Ok(PrivateKey {
            inner: ed25519(key).map_err(KeyError::Unsupported)?,
        })
    }

    /// The key type (`k=`).
    pub fn key_type(&self) -> KeyType {
        match self.inner {
            Inner::Rsa { .. } => KeyType::Rsa,
            Inner::Ed25519(..) => KeyType::Ed25519,
        }
    }

    /// Modulus size in bits for RSA, 256 for Ed25519.
    pub fn bits(&self) -> usize {
        match self.inner {
            Inner::Rsa { bits, .. } => bits,
            Inner::Ed25519(..) => 256,
        }
    }

    /// The bytes published in `p=`: SubjectPublicKeyInfo DER for RSA, the raw 32 bytes for Ed25519.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Rsa { spki, .. } => spki.clone(),
            Inner::Ed25519(key, _) => key.verifying_key().as_bytes().to_vec(),
        }
    }

    /// Sign the canonicalized header data for a DKIM signature with `algorithm`: RSASSA-PKCS1-v1_5
    /// over SHA-256(data) for rsa-sha256; PureEdDSA over SHA-256(data) for ed25519-sha256
    /// (RFC 8463 §3). rsa-sha1 is refused (RFC 8301), as is an algorithm of another key type.
    pub fn sign(&self, algorithm: SigningAlgorithm, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        match (&self.inner, algorithm) {
            (_, SigningAlgorithm::RsaSha1) => Err(KeyError::Unsupported(
                "rsa-sha1 is not used for signing (RFC 8301 §3.1); use rsa-sha256".into(),
            )),
            (Inner::Rsa { signer, bits, .. }, SigningAlgorithm::RsaSha256) => {
                let Some(signer) = signer else {
                    return Err(KeyError::Unsupported(format!(
                        "the RSA key has {bits} bits; signing needs at least {MIN_SIGNING_RSA_BITS} (RFC 8301 §3.2). Generate a new key with `mailauth keygen`"
                    )));
                };
                let mut out = vec![0; signer.public_modulus_len()];
                signer
                    .sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &aws_lc_rs::rand::SystemRandom::new(),
                        data,
                        &mut out,
                    )
                    .map_err(|_| KeyError::Unsupported("RSA signing failed".into()))?;
                Ok(out)
            }
            (Inner::Ed25519(_, signer), SigningAlgorithm::Ed25519Sha256) => {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
                Ok(signer.sign(digest.as_ref()).as_ref().to_vec())
            }
            (_, algorithm) => Err(KeyError::Unsupported(format!(
                "{algorithm} needs a {} key, but the key is {}",
                algorithm.key_type().as_str(),
                self.key_type().as_str()
            ))),
        }
    }

    /// The key as PKCS#8 PEM (what the key store writes). RSA keys are re-encoded from aws-lc.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let der = match &self.inner {
            Inner::Rsa {
                signer: Some(signer),
                ..
            } => signer
                .as_der()
                .map_err(|_| KeyError::Unsupported("cannot encode the RSA key".into()))?
                .as_ref()
                .to_vec(),
            Inner::Rsa { bits, .. } => {
                return Err(KeyError::Unsupported(format!(
                    "refusing to store a {bits}-bit RSA key (at least {MIN_SIGNING_RSA_BITS} bits)"
                )));
            }
            Inner::Ed25519(key, _) => {
                use pkcs8::EncodePrivateKey as _;
                key.to_pkcs8_der()
                    .map_err(|e| KeyError::Unsupported(format!("cannot encode the key: {e}")))?
                    .as_bytes()
                    .to_vec()
            }
        };
        pkcs8::der::pem::encode_string("PRIVATE KEY", pkcs8::der::pem::LineEnding::LF, &der)
            .map_err(|e| KeyError::Unsupported(format!("cannot encode the key: {e}")))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_key_input_is_a_format_error_naming_the_source() {
        let err = PrivateKey::from_pem(b"hello world", "k.pem").unwrap_err();
        assert!(err.to_string().starts_with("k.pem: not a PEM"), "{err}");
        let err = PrivateKey::from_pem(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "k.pem",
        )
        .unwrap_err();
        assert!(err.to_string().contains("PKCS#8"), "{err}");
        let err = PrivateKey::from_pem(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "k.pem",
        )
        .unwrap_err();
        assert!(err.to_string().contains("passphrase"), "{err}");
    }

    #[test]
    fn dkimpy_seed_loads_as_ed25519() {
        let seed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let key = PrivateKey::from_pem(format!("{seed}\n").as_bytes(), "seed").unwrap();
        assert_eq!(key.key_type(), KeyType::Ed25519);
        assert_eq!(key.public_key_bytes().len(), 32);
        // Not 32 bytes: not a seed.
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 31]);
        assert!(PrivateKey::from_pem(short.as_bytes(), "seed").is_err());
    }

    #[test]
    fn debug_hides_key_material() {
        let key = PrivateKey::from_parts_ed25519(ed25519_dalek::SigningKey::from_bytes(&[9; 32]))
            .unwrap();
        assert_eq!(
            format!("{key:?}"),
            "PrivateKey { type: ed25519, bits: 256 }"
        );
    }

    #[test]
    fn sign_refuses_sha1_and_mismatched_type() {
        let key = PrivateKey::from_parts_ed25519(ed25519_dalek::SigningKey::from_bytes(&[9; 32]))
            .unwrap();
        assert!(key.sign(SigningAlgorithm::RsaSha1, b"x").is_err());
        assert!(key.sign(SigningAlgorithm::RsaSha256, b"x").is_err());
        assert_eq!(
            key.sign(SigningAlgorithm::Ed25519Sha256, b"x")
                .unwrap()
                .len(),
            64
        );
    }
}
