//! TXT values in DNS presentation form: the one place long values are split into 255-byte
//! character-strings, quoted, and read back (RFC 1035 §3.3.14, §5.1). mailauth's zone lines,
//! the zone-file backend, PowerDNS and Cloudflare content all go through here.

use crate::zone::lex;

/// The most bytes in one character-string.
pub const MAX_STRING_BYTES: usize = 255;

/// Split a value into character-strings of at most 255 bytes (an empty value is one empty
/// string).
pub fn split(value: &[u8]) -> Vec<&[u8]> {
    if value.is_empty() {
        return vec![value];
    }
    value.chunks(MAX_STRING_BYTES).collect()
}

/// Quote one character-string: `"` and `\` escaped, bytes outside printable ASCII as `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &byte in bytes {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\{byte:03}")),
        }
    }
    out.push('"');
    out
}

/// A whole value as quoted character-strings separated by spaces.
pub fn quote_all(value: &str) -> String {
    split(value.as_bytes())
        .into_iter()
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Read presentation-form character-strings back into the joined value, with the zone-file
/// lexer; text that does not lex is returned as it is.
pub fn unquote(content: &str) -> String {
    match lex(content) {
        Ok(entries) => {
            let bytes: Vec<u8> = entries
                .iter()
                .flat_map(|e| e.tokens.iter())
                .flat_map(|t| t.text.iter().copied())
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(_) => content.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        for value in [
            "v=spf1 -all",
            "say \"hi\" \\ ok; x",
            &"A".repeat(700),
            "é\u{1}",
            "",
        ] {
            assert_eq!(unquote(&quote_all(value)), value);
        }
        assert_eq!(unquote("\"a\" \"b\""), "ab");
        assert_eq!(quote(b"a\"b\\c;\x00\xff"), r#""a\"b\\c;\000\255""#);
        assert_eq!(
            split(&[b'x'; 600])
                .iter()
                .map(|s| s.len())
                .collect::<Vec<_>>(),
            [255, 255, 90]
        );
    }
}
