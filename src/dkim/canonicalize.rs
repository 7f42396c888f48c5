//! Header and body canonicalization (RFC 6376 §3.4): pure functions over bytes.
//!
//! Input is already CRLF-normalised by [`crate::message`]. Nothing here hashes or allocates more
//! than one output buffer; the signer and verifier decide what to feed a digest.

use std::borrow::Cow;

use super::Canonicalization;

fn is_wsp(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Append one canonicalized header field, with its final CRLF, to `out`.
/// `raw` is the whole field without its final CRLF (name, colon, value, folding).
pub fn header(canon: Canonicalization, raw: &[u8], out: &mut Vec<u8>) {
    match canon {
        Canonicalization::Simple => out.extend_from_slice(raw),
        Canonicalization::Relaxed => relaxed_header(raw, out),
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 6376 §3.4.2: lower-case the name, unfold, compress WSP runs to one SP, delete WSP at the
/// end of the value and around the colon.
fn relaxed_header(raw: &[u8], out: &mut Vec<u8>) {
    let colon = raw.iter().position(|b| *b == b':').unwrap_or(raw.len());
    let name = raw[..colon].trim_ascii_end();
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let value = raw.get(colon + 1..).unwrap_or_default();
    let mut pending_space = false;
    let mut started = false;
    for &byte in value {
        match byte {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = started,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(byte);
                started = true;
            }
        }
    }
}

/// The canonicalized body (RFC 6376 §3.4.3 and §3.4.4).
pub fn body(canon: Canonicalization, body: &[u8]) -> Cow<'_, [u8]> {
    if canon == Canonicalization::Simple {
        let (trimmed, add_crlf) = simple_body(body);
        if !add_crlf {
            return Cow::Borrowed(trimmed);
        }
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    body_into(canon, body, &mut |piece| out.extend_from_slice(piece));
    Cow::Owned(out)
}

/// Feed the canonicalized body to `sink` in pieces, without building it in memory: what body
/// hashing uses.
pub fn body_into(canon: Canonicalization, body: &[u8], sink: &mut dyn FnMut(&[u8])) {
    match canon {
        Canonicalization::Simple => {
            let (trimmed, add_crlf) = simple_body(body);
            sink(trimmed);
            if add_crlf {
                sink(b"\r\n");
            }
        }
        Canonicalization::Relaxed => relaxed_body(body, sink),
    }
}

/// §3.4.3: remove empty lines at the end; an empty body becomes a single CRLF; a last line
/// without CRLF gets one. Returns the kept bytes and whether a CRLF must follow them.
fn simple_body(body: &[u8]) -> (&[u8], bool) {
    let mut end = body.len();
    while body[..end].ends_with(b"\r\n\r\n") {
        end -= 2;
    }
    let trimmed = &body[..end];
    if trimmed == b"\r\n" || trimmed.is_empty() {
        return (b"\r\n", false);
    }
    (trimmed, !trimmed.ends_with(b"\r\n"))
}

/// §3.4.4: compress WSP runs to one SP, delete WSP at line ends, remove empty lines at the end;
/// an empty body stays empty; a non-empty last line without CRLF gets one.
fn relaxed_body(body: &[u8], sink: &mut dyn FnMut(&[u8])) {
    // Empty lines are held back until a line with content shows they are not trailing.
    let mut held_empty_lines = 0usize;
    let mut scratch = Vec::new();
    let double_space = memchr::memmem::Finder::new(b"  ");
    for line in body_lines(body) {
        let end = line.iter().rposition(|b| !is_wsp(*b)).map_or(0, |p| p + 1);
        let line = &line[..end];
        if line.is_empty() {
            held_empty_lines += 1;
            continue;
        }
        for _ in 0..held_empty_lines {
            sink(b"\r\n");
        }
        held_empty_lines = 0;
        // Most lines have no tab and no run of spaces: they pass through unchanged.
        if memchr::memchr(b'\t', line).is_none() && double_space.find(line).is_none() {
            sink(line);
        } else {
            scratch.clear();
            let mut in_run = false;
            for &byte in line {
                if is_wsp(byte) {
                    if !in_run {
                        scratch.push(b' ');
                    }
                    in_run = true;
                } else {
                    scratch.push(byte);
                    in_run = false;
                }
            }
            sink(&scratch);
        }
        sink(b"\r\n");
    }
}

/// Lines of the body without their CRLF; a final line without CRLF is included, a final empty
/// piece after the last CRLF is not.
fn body_lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let finder = memchr::memmem::Finder::new(b"\r\n");
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match finder.find(rest) {
            Some(end) => {
                let line = &rest[..end];
                rest = &rest[end + 2..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = &[];
                Some(line)
            }
        }
    })
}

/// A DKIM-Signature field with the value of its `b=` tag removed, "including all surrounding
/// whitespace" (RFC 6376 §3.5), as the signature's own hash input needs it.
pub fn without_b_value(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|b| *b == b':').map_or(0, |c| c + 1);
    let mut out = raw[..colon].to_vec();
    let mut first = true;
    for element in raw[colon..].split(|b| *b == b';') {
        if !first {
            out.push(b';');
        }
        first = false;
        out.extend_from_slice(&strip_b_value(element));
    }
    out
}

/// If `element` is the `b` tag, everything after its `=`; otherwise the element unchanged.
fn strip_b_value(element: &[u8]) -> Cow<'_, [u8]> {
    let Some(eq) = element.iter().position(|b| *b == b'=') else {
        return Cow::Borrowed(element);
    };
    let name = element[..eq].trim_ascii();
    if name == b"b" {
        Cow::Owned(element[..=eq].to_vec())
    } else {
        Cow::Borrowed(element)
    }
}

/// Index of header fields by lower-cased name, listing positions bottom-up, built once per
/// message so that selecting fields for many signatures stays linear.
#[derive(Debug)]
pub struct HeaderIndex<'m> {
    fields: &'m [crate::message::HeaderField],
    by_name: std::collections::HashMap<Vec<u8>, Vec<usize>>,
}

impl<'m> HeaderIndex<'m> {
    /// Index `fields`.
    pub fn new(fields: &'m [crate::message::HeaderField]) -> Self {
        let mut by_name: std::collections::HashMap<Vec<u8>, Vec<usize>> = Default::default();
        for (index, field) in fields.iter().enumerate().rev() {
            let name = field.name().trim_ascii_end().to_ascii_lowercase();
            by_name.entry(name).or_default().push(index);
        }
        HeaderIndex { fields, by_name }
    }

    /// The hash input for the header part of a signature (RFC 6376 §3.7, §5.4.2): for each name
    /// in `signed`, the last not-yet-used field of that name (a name with no field left adds
    /// nothing), each canonicalized; then `signature_field` (the DKIM-Signature field with its
    /// `b=` value removed) canonicalized without its final CRLF.
    pub fn hash_input(
        &self,
        canon: Canonicalization,
        signed: &[String],
        signature_field: &[u8],
    ) -> Vec<u8> {
        let mut used: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let mut out = Vec::with_capacity(1024);
        for name in signed {
            let key = name.as_bytes().to_ascii_lowercase();
            let Some(positions) = self.by_name.get(&key) else {
                continue;
            };
            let next = used.entry(key).or_insert(0);
            if let Some(&index) = positions.get(*next) {
                header(canon, self.fields[index].raw(), &mut out);
                *next += 1;
            }
        }
        header(canon, signature_field, &mut out);
        out.truncate(out.len() - 2);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Canonicalization::{Relaxed, Simple};

    fn head(canon: Canonicalization, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        header(canon, raw, &mut out);
        out
    }

    /// RFC 6376 §3.4.5 example, headers.
    #[test]
    fn rfc6376_3_4_5_example_headers() {
        assert_eq!(head(Relaxed, b"A: X"), b"a:X\r\n");
        assert_eq!(head(Relaxed, b"B : Y\t\r\n\tZ  "), b"b:Y Z\r\n");
        assert_eq!(head(Simple, b"B : Y\t\r\n\tZ  "), b"B : Y\t\r\n\tZ  \r\n");
    }

    /// RFC 6376 §3.4.5 example, body.
    #[test]
    fn rfc6376_3_4_5_example_body() {
        let input = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(&*body(Relaxed, input), b" C\r\nD E\r\n");
        assert_eq!(&*body(Simple, input), b" C \r\nD \t E\r\n");
    }

    #[test]
    fn rfc6376_3_4_3_simple_empty_body_is_crlf() {
        assert_eq!(&*body(Simple, b""), b"\r\n");
        assert_eq!(&*body(Simple, b"\r\n\r\n"), b"\r\n");
    }

    #[test]
    fn rfc6376_3_4_4_relaxed_empty_body_is_empty() {
        assert_eq!(&*body(Relaxed, b""), b"");
        assert_eq!(&*body(Relaxed, b"\r\n \r\n\t\r\n"), b"");
    }

    #[test]
    fn rfc6376_3_4_4_relaxed_body_trailing_whitespace() {
        assert_eq!(&*body(Relaxed, b"a  \t\r\n  b\t\r\n"), b"a\r\n b\r\n");
    }

    #[test]
    fn rfc6376_3_4_4_relaxed_keeps_inner_empty_lines() {
        assert_eq!(
            &*body(Relaxed, b"a\r\n\r\n \r\nb\r\n \r\n"),
            b"a\r\n\r\n\r\nb\r\n"
        );
    }

    #[test]
    fn missing_final_crlf_is_added() {
        assert_eq!(&*body(Simple, b"a\r\nb"), b"a\r\nb\r\n");
        assert_eq!(&*body(Relaxed, b"a\r\nb "), b"a\r\nb\r\n");
    }

    #[test]
    fn rfc6376_3_4_2_relaxed_header_unfolds_and_trims() {
        assert_eq!(
            head(Relaxed, b"Subject:\t  hello \r\n  world \t"),
            b"subject:hello world\r\n"
        );
        assert_eq!(head(Relaxed, b"X-Empty:  "), b"x-empty:\r\n");
    }

    #[test]
    fn rfc6376_3_5_b_value_removed_with_surrounding_space() {
        let raw = b"DKIM-Signature: v=1; bh=abc=; b=AAAA\r\n\tBBBB ; d=x";
        assert_eq!(
            without_b_value(raw),
            b"DKIM-Signature: v=1; bh=abc=; b=; d=x"
        );
        let last = b"DKIM-Signature: v=1; b = AAAA\r\n BB";
        assert_eq!(without_b_value(last), b"DKIM-Signature: v=1; b =");
    }

    /// RFC 6376 §3.4.4 read literally, one byte at a time: the model the streaming code must
    /// match.
    fn relaxed_model(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(body).into_owned();
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        if text.ends_with("\r\n") {
            lines.pop();
        }
        let mut out: Vec<String> = lines
            .iter()
            .map(|line| {
                let mut collapsed = String::new();
                let mut in_run = false;
                for c in line.chars() {
                    if c == ' ' || c == '\t' {
                        if !in_run {
                            collapsed.push(' ');
                        }
                        in_run = true;
                    } else {
                        collapsed.push(c);
                        in_run = false;
                    }
                }
                collapsed.trim_end_matches(' ').to_owned()
            })
            .collect();
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out.iter()
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    proptest::proptest! {
        #[test]
        fn relaxed_body_matches_the_rfc_model(body in "([ \ta-z]{0,12}\r\n){0,8}[ \ta-z]{0,5}") {
            proptest::prop_assert_eq!(body_of(Relaxed, body.as_bytes()), relaxed_model(body.as_bytes()));
        }

        /// Canonicalizing a canonical body changes nothing (both algorithms).
        #[test]
        fn body_canonicalization_is_idempotent(body in "([ \ta-z]{0,12}\r\n){0,8}[ a-z]{0,5}") {
            for canon in [Simple, Relaxed] {
                let once = body_of(canon, body.as_bytes());
                proptest::prop_assert_eq!(body_of(canon, &once), once);
            }
        }

        /// RFC 6376 §3.4.4: whitespace at line ends and empty lines at the end do not matter.
        #[test]
        fn relaxed_body_ignores_trailing_whitespace(lines in proptest::collection::vec("[a-z ]{0,10}", 0..6)) {
            let plain: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            let padded: String = lines.iter().map(|l| format!("{l} \t\r\n")).collect::<String>() + "\r\n \r\n";
            proptest::prop_assert_eq!(body_of(Relaxed, plain.as_bytes()), body_of(Relaxed, padded.as_bytes()));
        }
    }

    fn body_of(canon: Canonicalization, input: &[u8]) -> Vec<u8> {
        body(canon, input).into_owned()
    }
}
