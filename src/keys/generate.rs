//! Key generation: RSA with the `rsa` crate, Ed25519 with `ed25519-dalek`, both from the operating
//! system's random source.

use super::{KeyError, KeySpec, PrivateKey};

/// Generate a new key of `spec`.
pub fn generate(spec: KeySpec) -> Result<PrivateKey, KeyError> {
    let bits = match spec {
        KeySpec::Rsa2048 => 2048,
        KeySpec::Rsa3072 => 3072,
        KeySpec::Rsa4096 => 4096,
        KeySpec::Ed25519 => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| {
                KeyError::Unsupported(format!("the system random source failed: {e}"))
            })?;
            return PrivateKey::from_parts_ed25519(ed25519_dalek::SigningKey::from_bytes(&seed));
        }
    };
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
        .map_err(|e| KeyError::Unsupported(format!("RSA key generation failed: {e}")))?;
    PrivateKey::from_rsa(&key).map_err(KeyError::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkim::{KeyType, SigningAlgorithm};

    #[test]
    fn ed25519_keys_are_fresh_and_round_trip_through_pem() {
        let a = generate(KeySpec::Ed25519).unwrap();
        let b = generate(KeySpec::Ed25519).unwrap();
        assert_ne!(a.public_key_bytes(), b.public_key_bytes());
        let pem = a.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = PrivateKey::from_pem(pem.as_bytes(), "mem").unwrap();
        assert_eq!(back.public_key_bytes(), a.public_key_bytes());
        assert_eq!(
            back.sign(SigningAlgorithm::Ed25519Sha256, b"data").unwrap(),
            a.sign(SigningAlgorithm::Ed25519Sha256, b"data").unwrap()
        );
    }

    #[test]
    fn rsa_2048_round_trips_through_pem() {
        let key = generate(KeySpec::Rsa2048).unwrap();
        assert_eq!(key.key_type(), KeyType::Rsa);
        assert_eq!(key.bits(), 2048);
        let pem = key.to_pkcs8_pem().unwrap();
        let back = PrivateKey::from_pem(pem.as_bytes(), "mem").unwrap();
        assert_eq!(back.public_key_bytes(), key.public_key_bytes());
        // PKCS#1 v1.5 signatures are deterministic.
        assert_eq!(
            back.sign(SigningAlgorithm::RsaSha256, b"data").unwrap(),
            key.sign(SigningAlgorithm::RsaSha256, b"data").unwrap()
        );
    }
}
