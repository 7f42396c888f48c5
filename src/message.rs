//! A raw RFC 5322 message split into header fields and body, with bytes and order kept exactly,
//! because DKIM signs bytes.
//!
//! Line endings are normalised once, on reading: a bare LF becomes CRLF, so `.eml` files saved on
//! Unix verify as they did on the wire. Nothing else is changed. This module does not interpret
//! field contents (address parsing for DMARC lives with DMARC).

/// The largest message accepted, in bytes. Larger input is refused rather than read into memory.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// The largest single header field accepted (name, value and folding), in bytes. RFC 5322 §2.1.1
/// limits lines to 998 characters; anything near this limit is hostile, not mail.
pub const MAX_FIELD_BYTES: usize = 1024 * 1024;
/// The most header fields accepted in one message.
pub const MAX_FIELDS: usize = 100_000;

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The input is empty.
    #[error("empty input: not an email message")]
    Empty,
    /// The input is larger than [`MAX_MESSAGE_BYTES`].
    #[error("message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")]
    TooLarge {
        /// Input size in bytes.
        size: usize,
    },
    /// A header line is neither a field (`name: value`) nor a continuation.
    #[error("line {line}: not a header field (expected `Name: value`): {excerpt}")]
    NotAField {
        /// 1-based line number.
        line: usize,
        /// The start of the offending line, escaped.
        excerpt: String,
    },
    /// The first line is a continuation line (starts with whitespace).
    #[error("line 1: the header section starts with a continuation line (leading whitespace)")]
    LeadingContinuation,
    /// A header field is longer than [`MAX_FIELD_BYTES`].
    #[error("line {line}: header field {name:?} is over {MAX_FIELD_BYTES} bytes")]
    FieldTooLong {
        /// 1-based line number where the field starts.
        line: usize,
        /// The field name (escaped, shortened).
        name: String,
    },
    /// More than [`MAX_FIELDS`] header fields.
    #[error("more than {MAX_FIELDS} header fields")]
    TooManyFields,
}

/// One header field as it appeared: name, colon, value and any folding, without the final CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    raw: Vec<u8>,
    colon: usize,
}

impl HeaderField {
    /// The whole field without its final CRLF.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The field name as written (no trailing whitespace removed).
    pub fn name(&self) -> &[u8] {
        &self.raw[..self.colon]
    }

    /// Everything after the colon, folding included.
    pub fn value(&self) -> &[u8] {
        &self.raw[self.colon + 1..]
    }

    /// Whether the name matches `name`, ignoring ASCII case and whitespace before the colon.
    pub fn is(&self, name: &str) -> bool {
        self.name()
            .trim_ascii_end()
            .eq_ignore_ascii_case(name.as_bytes())
    }
}

/// A message: header fields in order, then the body (everything after the blank line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Header fields in the order they appear.
    pub headers: Vec<HeaderField>,
    /// The body with CRLF line endings, possibly empty.
    pub body: Vec<u8>,
}

impl Message {
    /// Split `input` into header fields and body. Bare LF line endings are read as CRLF; a
    /// leading mbox `From ` line is skipped.
    pub fn parse(input: &[u8]) -> Result<Message, MessageError> {
        if input.is_empty() {
            return Err(MessageError::Empty);
        }
        if input.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::TooLarge { size: input.len() });
        }
        let data = to_crlf(input);
        let mut rest: &[u8] = &data;
        if rest.starts_with(b"From ") && field_name_end(first_line(rest)).is_none() {
            rest = rest.find_crlf().map_or(&[][..], |end| &rest[end + 2..]);
        }
        let (head, body) = split_head_body(rest);
        let headers = parse_fields(head)?;
        Ok(Message {
            headers,
            body: body.to_vec(),
        })
    }

    /// The fields named `name`, in order of appearance.
    pub fn fields<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a HeaderField> + 'a {
        self.headers.iter().filter(move |field| field.is(name))
    }

    /// The message as bytes again (fields, blank line, body).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + self.headers.len() * 80);
        for field in &self.headers {
            out.extend_from_slice(&field.raw);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// Convert bare LF to CRLF, leaving existing CRLF alone.
fn to_crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', input) {
        if newline == 0 || input[newline - 1] != b'\r' {
            out.extend_from_slice(&input[start..newline]);
            out.extend_from_slice(b"\r\n");
            start = newline + 1;
        }
    }
    out.extend_from_slice(&input[start..]);
    out
}

fn first_line(data: &[u8]) -> &[u8] {
    data.find_crlf().map_or(data, |end| &data[..end])
}

trait FindCrlf {
    fn find_crlf(&self) -> Option<usize>;
}

impl FindCrlf for [u8] {
    fn find_crlf(&self) -> Option<usize> {
        memchr::memmem::find(self, b"\r\n")
    }
}

/// Split at the first empty line. The header part keeps its last CRLF; without an empty line
/// the whole input is header and the body is empty.
fn split_head_body(data: &[u8]) -> (&[u8], &[u8]) {
    if data.starts_with(b"\r\n") {
        return (&[], &data[2..]);
    }
    match memchr::memmem::find(data, b"\r\n\r\n") {
        Some(pos) => (&data[..pos + 2], &data[pos + 4..]),
        None => (data, &[]),
    }
}

fn parse_fields(head: &[u8]) -> Result<Vec<HeaderField>, MessageError> {
    let mut fields: Vec<HeaderField> = Vec::new();
    let mut field_line = 0;
    for (index, line) in lines(head).enumerate() {
        let number = index + 1;
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            let Some(field) = fields.last_mut() else {
                return Err(MessageError::LeadingContinuation);
            };
            if field.raw.len() + line.len() + 2 > MAX_FIELD_BYTES {
                return Err(too_long(field_line, field.name()));
            }
            field.raw.extend_from_slice(b"\r\n");
            field.raw.extend_from_slice(line);
            continue;
        }
        let colon = field_name_end(line).ok_or_else(|| MessageError::NotAField {
            line: number,
            excerpt: excerpt(line),
        })?;
        if line.len() > MAX_FIELD_BYTES {
            return Err(too_long(number, &line[..colon]));
        }
        if fields.len() == MAX_FIELDS {
            return Err(MessageError::TooManyFields);
        }
        field_line = number;
        fields.push(HeaderField {
            raw: line.to_vec(),
            colon,
        });
    }
    Ok(fields)
}

/// Lines of the header section without their CRLF (the section ends with CRLF or nothing).
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    let head = head.strip_suffix(b"\r\n").unwrap_or(head);
    let mut rest = Some(head);
    std::iter::from_fn(move || {
        let current = rest?;
        if current.is_empty() {
            rest = None;
            return None;
        }
        match current.find_crlf() {
            Some(end) => {
                rest = Some(&current[end + 2..]);
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Position of the colon ending a field name: printable ASCII except ':' (RFC 5322 §3.6.8),
/// optionally followed by whitespace (obsolete syntax, §4.5).
fn field_name_end(line: &[u8]) -> Option<usize> {
    let name_len = line
        .iter()
        .position(|b| !(33..=126).contains(b) || *b == b':')?;
    if name_len == 0 {
        return None;
    }
    let after_ws = line[name_len..]
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')?;
    let colon = name_len + after_ws;
    (line[colon] == b':').then_some(colon)
}

fn too_long(line: usize, name: &[u8]) -> MessageError {
    MessageError::FieldTooLong {
        line,
        name: excerpt(name),
    }
}

/// A short, printable rendering of untrusted bytes for error messages.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const LIMIT: usize = 60;
    let shown: String = bytes
        .iter()
        .take(LIMIT)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    if bytes.len() > LIMIT {
        format!("{shown}...")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_is_read_as_crlf() {
        let msg = Message::parse(b"From: a@example.com\nSubject: hi\n there\n\nbody\n").unwrap();
        assert_eq!(msg.headers.len(), 2);
        assert_eq!(msg.headers[1].raw(), b"Subject: hi\r\n there");
        assert_eq!(msg.body, b"body\r\n");
    }

    #[test]
    fn field_name_with_whitespace_before_colon() {
        let msg = Message::parse(b"Subject : x\r\n\r\n").unwrap();
        assert!(msg.headers[0].is("subject"));
        assert_eq!(msg.headers[0].value(), b" x");
    }

    #[test]
    fn no_body_and_no_blank_line() {
        let msg = Message::parse(b"From: a@example.com\r\n").unwrap();
        assert_eq!(msg.headers.len(), 1);
        assert!(msg.body.is_empty());
    }

    #[test]
    fn line_without_colon_is_named() {
        let err = Message::parse(b"From: a@example.com\r\nnot a header\r\n\r\n").unwrap_err();
        assert_eq!(
            err,
            MessageError::NotAField {
                line: 2,
                excerpt: "not a header".into()
            }
        );
    }

    #[test]
    fn binary_input_is_not_a_message() {
        let err = Message::parse(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap_err();
        assert!(
            matches!(err, MessageError::NotAField { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn huge_header_line_is_refused() {
        let mut input = b"Subject: ".to_vec();
        input.resize(10 * 1024 * 1024, b'a');
        input.extend_from_slice(b"\r\n\r\n");
        let err = Message::parse(&input).unwrap_err();
        assert!(
            matches!(err, MessageError::FieldTooLong { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn mbox_from_line_is_skipped() {
        let msg = Message::parse(b"From someone Mon Jan 1 00:00:00 2024\nTo: b@x\n\nhi\n").unwrap();
        assert_eq!(msg.headers.len(), 1);
        assert!(msg.headers[0].is("to"));
    }

    #[test]
    fn round_trips_bytes() {
        let input = b"A: 1\r\nB:\t2\r\n  folded\r\n\r\nbody\r\n\r\n";
        assert_eq!(Message::parse(input).unwrap().to_bytes(), input);
    }

    proptest::proptest! {
        /// Hostile input: any bytes give a message or an error, never a panic, and a parsed
        /// message writes back out.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            if let Ok(message) = Message::parse(&bytes) {
                let _ = message.to_bytes();
            }
        }
    }
}
