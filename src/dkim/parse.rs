//! Tag lists (RFC 6376 §3.2) into [`DkimSignature`] and [`DkimKeyRecord`].
//!
//! Parsing is strict where the RFC is (duplicate tags, missing required tags, bad base64 are
//! errors) and lenient where real mail needs it (empty list elements, unknown tags ignored).
//! Semantic checks that need the message or the clock (x= against now, i= against d=) are made
//! by the verifier, so a broken signature can still be reported with its d= and s=.

use base64::Engine;

use super::{Canonicalization, DkimError, DkimKeyRecord, DkimSignature, SigningAlgorithm};

pub use crate::taglist::{Tag, find};
use crate::taglist::{is_fws, strip_fws};

/// Split a tag list into tags (RFC 6376 §3.2, see [`crate::taglist`]). `what` names the list in
/// errors.
pub fn tag_list<'a>(what: &'static str, text: &'a [u8]) -> Result<Vec<Tag<'a>>, DkimError> {
    crate::taglist::parse(text).map_err(|e| DkimError::Syntax {
        what,
        reason: e.to_string(),
    })
}

/// Decode base64 that may contain folding whitespace.
pub fn base64_value(what: &'static str, tag: &str, value: &str) -> Result<Vec<u8>, DkimError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let decoded = if value.bytes().any(|b| is_fws(char::from(b))) {
        let compact: Vec<u8> = value.bytes().filter(|b| !is_fws(char::from(*b))).collect();
        engine.decode(compact)
    } else {
        engine.decode(value)
    };
    decoded.map_err(|e| DkimError::Syntax {
        what,
        reason: format!("tag {tag}= is not valid base64 ({e})"),
    })
}

const SIGNATURE: &str = "DKIM-Signature";

fn required<'a>(tags: &[Tag<'a>], name: &str) -> Result<&'a str, DkimError> {
    find(tags, name).ok_or_else(|| DkimError::Syntax {
        what: SIGNATURE,
        reason: format!("required tag {name}= is missing (RFC 6376 §3.5)"),
    })
}

fn unsupported(reason: String) -> DkimError {
    DkimError::Unsupported {
        what: SIGNATURE,
        reason,
    }
}

fn number(name: &str, value: &str) -> Result<u64, DkimError> {
    let digits = strip_fws(value);
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DkimError::Syntax {
            what: SIGNATURE,
            reason: format!("tag {name}= must be a number of at most 12 digits, not {value:?}"),
        });
    }
    digits.parse().map_err(|_| DkimError::Syntax {
        what: SIGNATURE,
        reason: format!("tag {name}= is out of range"),
    })
}

fn optional_number(tags: &[Tag<'_>], name: &str) -> Result<Option<u64>, DkimError> {
    find(tags, name).map(|v| number(name, v)).transpose()
}

/// Parse `a=`.
pub fn algorithm(value: &str) -> Result<SigningAlgorithm, DkimError> {
    match value.to_ascii_lowercase().as_str() {
        "rsa-sha256" => Ok(SigningAlgorithm::RsaSha256),
        "rsa-sha1" => Ok(SigningAlgorithm::RsaSha1),
        "ed25519-sha256" => Ok(SigningAlgorithm::Ed25519Sha256),
        _ => Err(unsupported(format!("unsupported algorithm a={value}"))),
    }
}

fn canonicalization(value: &str) -> Result<Canonicalization, DkimError> {
    match value.to_ascii_lowercase().as_str() {
        "simple" => Ok(Canonicalization::Simple),
        "relaxed" => Ok(Canonicalization::Relaxed),
        _ => Err(unsupported(format!(
            "unsupported canonicalization {value:?}"
        ))),
    }
}

/// Parse `c=`: `header[/body]`, each defaulting to simple (RFC 6376 §3.5).
fn canonicalizations(
    value: Option<&str>,
) -> Result<(Canonicalization, Canonicalization), DkimError> {
    let Some(value) = value else {
        return Ok(Default::default());
    };
    match value.split_once('/') {
        Some((header, body)) => Ok((canonicalization(header)?, canonicalization(body)?)),
        None => Ok((canonicalization(value)?, Canonicalization::Simple)),
    }
}

fn header_names(value: &str) -> Result<Vec<String>, DkimError> {
    let names: Vec<String> = strip_fws(value).split(':').map(str::to_owned).collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(DkimError::Syntax {
            what: SIGNATURE,
            reason: format!("tag h= has an empty header field name: {value:?}"),
        });
    }
    Ok(names)
}

/// `d=` as A-labels (the key lives at the A-label name, RFC 8616 §4). A U-label name IDNA refuses
/// is kept as written, for the verifier to refuse with the reason.
fn a_labels(domain: &str) -> String {
    if domain.is_ascii() {
        return domain.to_owned();
    }
    mailauth_base::DomainName::parse(domain).map_or_else(|_| domain.to_owned(), |n| n.to_string())
}

/// Parse the value of a DKIM-Signature header field.
pub fn signature(value: &[u8]) -> Result<DkimSignature, DkimError> {
    // RFC 8616 §4: an SMTPUTF8 signer may write d= as U-labels.
    let tags = crate::taglist::parse_utf8_in(value, &["d"]).map_err(|e| DkimError::Syntax {
        what: SIGNATURE,
        reason: e.to_string(),
    })?;
    let version = required(&tags, "v")?;
    if version != "1" {
        return Err(unsupported(format!(
            "unsupported version v={version} (expected 1)"
        )));
    }
    let (header_canon, body_canon) = canonicalizations(find(&tags, "c"))?;
    Ok(DkimSignature {
        algorithm: algorithm(required(&tags, "a")?)?,
        signature: base64_value(SIGNATURE, "b", required(&tags, "b")?)?,
        body_hash: base64_value(SIGNATURE, "bh", required(&tags, "bh")?)?,
        header_canon,
        body_canon,
        domain: a_labels(required(&tags, "d")?),
        signed_headers: header_names(required(&tags, "h")?)?,
        identity: find(&tags, "i").map(str::to_owned),
        body_length: optional_number(&tags, "l")?,
        query_methods: find(&tags, "q").map(str::to_owned),
        selector: required(&tags, "s")?.to_owned(),
        timestamp: optional_number(&tags, "t")?,
        expiration: optional_number(&tags, "x")?,
        copied_headers: find(&tags, "z").map(str::to_owned),
    })
}

const KEY_RECORD: &str = "DKIM key record";

fn list(value: &str) -> Vec<String> {
    strip_fws(value)
        .split(':')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parse a DKIM key record (the joined TXT strings).
pub fn key_record(value: &[u8]) -> Result<DkimKeyRecord, DkimError> {
    let tags = tag_list(KEY_RECORD, value)?;
    let syntax = |reason: String| DkimError::Syntax {
        what: KEY_RECORD,
        reason,
    };
    if let Some(position) = tags.iter().position(|t| t.name == "v") {
        if position != 0 {
            return Err(syntax("v= must be the first tag (RFC 6376 §3.6.1)".into()));
        }
        if tags[0].value != "DKIM1" {
            return Err(syntax(format!("v={} is not DKIM1", tags[0].value)));
        }
    }
    let public_key = find(&tags, "p")
        .ok_or_else(|| syntax("required tag p= is missing (RFC 6376 §3.6.1)".into()))?;
    Ok(DkimKeyRecord {
        version: find(&tags, "v").map(str::to_owned),
        hashes: find(&tags, "h").map(list),
        key_type: find(&tags, "k").unwrap_or("rsa").to_owned(),
        notes: find(&tags, "n").map(str::to_owned),
        public_key: base64_value(KEY_RECORD, "p", public_key)?,
        services: find(&tags, "s").map(list),
        flags: find(&tags, "t").map(list).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6376_3_2_tag_list_whitespace_and_trailing_semicolon() {
        let tags = tag_list("t", b" a = 1 ;\r\n\tb=x y ; ").unwrap();
        assert_eq!(
            tags,
            vec![
                Tag {
                    name: "a",
                    value: "1"
                },
                Tag {
                    name: "b",
                    value: "x y"
                }
            ]
        );
    }

    #[test]
    fn rfc6376_3_2_duplicate_tag_is_an_error() {
        let err = tag_list("t", b"a=1; a=2").unwrap_err();
        assert!(err.to_string().contains("a= appears twice"), "{err}");
    }

    #[test]
    fn binary_bytes_are_named() {
        let err = key_record(b"v=DKIM1; p=\xff\x00").unwrap_err();
        assert!(err.to_string().contains("not ASCII"), "{err}");
        let err = key_record(b"v=DKIM1; p=ab\x01").unwrap_err();
        assert!(err.to_string().contains("forbidden byte"), "{err}");
    }

    #[test]
    fn rfc6376_3_6_1_v_must_be_first() {
        let err = key_record(b"k=rsa; v=DKIM1; p=").unwrap_err();
        assert!(err.to_string().contains("first"), "{err}");
    }

    #[test]
    fn rfc6376_3_6_1_defaults() {
        let record = key_record(b"p=").unwrap();
        assert_eq!(record.key_type, "rsa");
        assert!(record.public_key.is_empty());
        assert_eq!(record.hashes, None);
    }

    #[test]
    fn rfc6376_3_5_missing_required_tag_is_named() {
        let err = signature(b"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA").unwrap_err();
        assert!(err.to_string().contains("b= is missing"), "{err}");
    }

    #[test]
    fn rfc6376_3_5_c_defaults_to_simple() {
        let sig =
            signature(b"v=1; a=rsa-sha256; d=e.com; s=x; h=from; bh=AAAA; b=AA AA; c=relaxed")
                .unwrap();
        assert_eq!(sig.header_canon, Canonicalization::Relaxed);
        assert_eq!(sig.body_canon, Canonicalization::Simple);
        assert_eq!(sig.signature, vec![0, 0, 0]);
    }

    #[test]
    fn bad_base64_is_named() {
        let err = signature(b"v=1; a=rsa-sha256; d=e.com; s=x; h=from; bh=!!; b=AAAA").unwrap_err();
        assert!(err.to_string().contains("bh= is not valid base64"), "{err}");
    }

    proptest::proptest! {
        /// Hostile input: any bytes give a value or an error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = signature(&bytes);
            let _ = key_record(&bytes);
        }

        #[test]
        fn tag_shaped_input_never_panics(text in "([a-z]{1,3}=[ -~]{0,20};){0,12}") {
            let _ = signature(text.as_bytes());
            let _ = key_record(text.as_bytes());
        }
    }
}
