//! [`DkimSignature`] and [`DkimKeyRecord`] back into tag-list text: the exact inverses of
//! [`super::parse`].
//!
//! Signature values are folded so header lines stay under 78 characters; `b=` comes last so the
//! signer can hash the field with `b=` empty and then append the value (RFC 6376 §3.5).

use base64::Engine;

use super::{Canonicalization, DkimKeyRecord, DkimSignature};

/// Where a line is folded when building a header field.
const LINE_WIDTH: usize = 76;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The tags of a signature before `b=`, in the order mailauth writes them.
fn signature_tags(sig: &DkimSignature) -> Vec<String> {
    let mut tags = vec![
        "v=1".to_owned(),
        format!("a={}", sig.algorithm.as_str()),
        format!(
            "c={}/{}",
            sig.header_canon.as_str(),
            sig.body_canon.as_str()
        ),
        format!("d={}", sig.domain),
        format!("s={}", sig.selector),
    ];
    let optional = [
        sig.identity.as_ref().map(|i| format!("i={i}")),
        sig.query_methods.as_ref().map(|q| format!("q={q}")),
        sig.timestamp.map(|t| format!("t={t}")),
        sig.expiration.map(|x| format!("x={x}")),
        sig.body_length.map(|l| format!("l={l}")),
        sig.copied_headers.as_ref().map(|z| format!("z={z}")),
    ];
    tags.extend(optional.into_iter().flatten());
    tags.push(format!("h={}", sig.signed_headers.join(":")));
    tags
}

/// Append `piece` to `out`, folding (CRLF + TAB) first when the current line would get too long.
fn push_folded(out: &mut String, line_len: &mut usize, piece: &str, separator: &str) {
    // One column is kept free for the ";" that ends a line when the next tag is folded.
    if *line_len + separator.len() + piece.len() >= LINE_WIDTH && *line_len > 1 {
        out.push_str(separator.trim_end());
        out.push_str("\r\n\t");
        *line_len = 1;
    } else {
        out.push_str(separator);
        *line_len += separator.len();
    }
    out.push_str(piece);
    *line_len += piece.len();
}

/// The field value up to and including `b=` with an empty value, folded, starting after
/// `DKIM-Signature:`. Returns the text and the length of its last line (counting the field name).
pub fn signature_prefix(sig: &DkimSignature) -> (String, usize) {
    let mut out = String::new();
    let mut line_len = "DKIM-Signature:".len();
    for tag in signature_tags(sig) {
        let separator = if out.is_empty() { " " } else { "; " };
        match tag.strip_prefix("h=") {
            // h= may be folded before any colon (RFC 6376 §3.5), so long lists stay readable.
            Some(names) => {
                let mut names = names.split(':');
                let first = names.next().unwrap_or_default();
                push_folded(&mut out, &mut line_len, &format!("h={first}"), separator);
                for name in names {
                    push_folded(&mut out, &mut line_len, &format!(":{name}"), "");
                }
            }
            None => push_folded(&mut out, &mut line_len, &tag, separator),
        }
    }
    push_folded(&mut out, &mut line_len, "bh=", "; ");
    let (body_hash, len) = folded_base64(&sig.body_hash, line_len);
    out.push_str(&body_hash);
    line_len = len;
    push_folded(&mut out, &mut line_len, "b=", "; ");
    (out, line_len)
}

/// The base64 of `bytes` folded to continue a line of length `line_len`; also returns the length
/// of the last line.
pub fn folded_base64(bytes: &[u8], mut line_len: usize) -> (String, usize) {
    let encoded = b64(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 32);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let room = (LINE_WIDTH - 1).saturating_sub(line_len).max(1);
        if room < 8 && line_len > 1 {
            out.push_str("\r\n\t");
            line_len = 1;
            continue;
        }
        let (chunk, tail) = rest.split_at(room.min(rest.len()));
        out.push_str(chunk);
        line_len += chunk.len();
        rest = tail;
    }
    (out, line_len)
}

/// The whole DKIM-Signature field value (after the colon).
pub fn signature(sig: &DkimSignature) -> String {
    let (mut out, line_len) = signature_prefix(sig);
    out.push_str(&folded_base64(&sig.signature, line_len).0);
    out
}

/// A key record's value, e.g. `v=DKIM1; k=rsa; h=sha256; p=MIIB...`.
pub fn key_record(record: &DkimKeyRecord) -> String {
    let mut tags = Vec::new();
    if let Some(version) = &record.version {
        tags.push(format!("v={version}"));
    }
    tags.push(format!("k={}", record.key_type));
    if let Some(hashes) = &record.hashes {
        tags.push(format!("h={}", hashes.join(":")));
    }
    if let Some(services) = &record.services {
        tags.push(format!("s={}", services.join(":")));
    }
    if !record.flags.is_empty() {
        tags.push(format!("t={}", record.flags.join(":")));
    }
    if let Some(notes) = &record.notes {
        tags.push(format!("n={notes}"));
    }
    tags.push(format!("p={}", b64(&record.public_key)));
    tags.join("; ")
}

/// The key record value mailauth publishes for `key` (`v=DKIM1; k=...; [h=sha256;] p=...`).
pub fn published_record(key: &crate::keys::PrivateKey) -> String {
    key_record(&DkimKeyRecord::for_public_key(
        key.key_type(),
        key.public_key_bytes(),
    ))
}

impl DkimKeyRecord {
    /// The record mailauth publishes for a public key: `v=DKIM1; k=...; [h=sha256;] p=...`.
    /// RSA keys carry `h=sha256` so rsa-sha1 signatures are refused (RFC 8301).
    pub fn for_public_key(key_type: super::KeyType, public_key: Vec<u8>) -> DkimKeyRecord {
        let hashes = (key_type == super::KeyType::Rsa).then(|| vec!["sha256".to_owned()]);
        DkimKeyRecord {
            version: Some("DKIM1".into()),
            hashes,
            key_type: key_type.as_str().into(),
            notes: None,
            public_key,
            services: None,
            flags: Vec::new(),
        }
    }
}

impl Canonicalization {
    /// Parse one half of `c=` as mailauth's flags spell it.
    pub fn from_name(name: &str) -> Option<Canonicalization> {
        match name {
            "simple" => Some(Canonicalization::Simple),
            "relaxed" => Some(Canonicalization::Relaxed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{SigningAlgorithm, parse};
    use super::*;

    fn token() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,15}(\\.[a-z][a-z0-9-]{0,15}){0,3}"
    }

    fn canon() -> impl Strategy<Value = Canonicalization> {
        prop_oneof![
            Just(Canonicalization::Simple),
            Just(Canonicalization::Relaxed)
        ]
    }

    prop_compose! {
        fn any_signature()(
            algorithm in prop_oneof![
                Just(SigningAlgorithm::RsaSha256),
                Just(SigningAlgorithm::RsaSha1),
                Just(SigningAlgorithm::Ed25519Sha256)
            ],
            signature in proptest::collection::vec(any::<u8>(), 0..600),
            body_hash in proptest::collection::vec(any::<u8>(), 1..64),
            header_canon in canon(),
            body_canon in canon(),
            domain in token(),
            selector in token(),
            signed_headers in proptest::collection::vec("[A-Za-z][A-Za-z0-9-]{0,15}", 1..12),
            identity in proptest::option::of(token().prop_map(|t| format!("user@{t}"))),
            body_length in proptest::option::of(0u64..999_999_999_999),
            query_methods in proptest::option::of(Just("dns/txt".to_owned())),
            timestamp in proptest::option::of(0u64..999_999_999_999),
            expiration in proptest::option::of(0u64..999_999_999_999),
            copied_headers in proptest::option::of("[A-Za-z]{1,8}:[a-z0-9=]{0,20}"),
        ) -> DkimSignature {
            DkimSignature {
                algorithm, signature, body_hash, header_canon, body_canon, domain,
                signed_headers, identity, body_length, query_methods, selector, timestamp,
                expiration, copied_headers,
            }
        }
    }

    prop_compose! {
        fn any_key_record()(
            version in proptest::option::of(Just("DKIM1".to_owned())),
            hashes in proptest::option::of(proptest::collection::vec("sha1|sha256", 1..3)),
            key_type in "rsa|ed25519|[a-z]{1,8}",
            notes in proptest::option::of("[A-Za-z0-9=]{1,30}"),
            public_key in proptest::collection::vec(any::<u8>(), 0..600),
            services in proptest::option::of(proptest::collection::vec("email|\\*", 1..3)),
            flags in proptest::collection::vec("y|s", 0..3),
        ) -> DkimKeyRecord {
            DkimKeyRecord { version, hashes, key_type, notes, public_key, services, flags }
        }
    }

    proptest! {
        #[test]
        fn signature_parse_inverts_build(sig in any_signature()) {
            let text = signature(&sig);
            let field = format!("DKIM-Signature:{text}");
            prop_assert!(field.split("\r\n").all(|line| line.len() <= LINE_WIDTH), "{}", field);
            prop_assert_eq!(parse::signature(text.as_bytes()).unwrap(), sig);
        }

        #[test]
        fn key_record_parse_inverts_build(record in any_key_record()) {
            let text = key_record(&record);
            prop_assert_eq!(parse::key_record(text.as_bytes()).unwrap(), record);
        }
    }
}
