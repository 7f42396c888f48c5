//! A raw RFC 5322 message split into header fields and body, with bytes and order kept exactly,
//! because DKIM signs bytes.
//!
//! Line endings are normalised once, on reading: a bare LF becomes CRLF, so `.eml` files saved on
//! Unix verify as they did on the wire. Nothing else is changed. The one field this module reads
//! inside is From: [`Message::authors`] lists its addresses (through mail-parser, so groups,
//! comments, quoted local parts and encoded words are read as RFC 5322 and RFC 2047 say) and the
//! author domain of each as A-labels. What DMARC makes of several authors is not decided here.

use mailauth_base::DomainName;
use mailauth_base::name::NameError;

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

/// Why a message has no author at all (RFC 9989 §5.3.1 Extract Author Domain finds nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorError {
    /// The message has no From field (RFC 5322 §3.6 requires one).
    #[error("the message has no From field")]
    NoFromField,
    /// The From field(s) hold no address.
    #[error("the From field holds no address")]
    NoAddress,
}

/// Why one From address yields no author domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorDomainError {
    /// The address has no `@domain` part.
    #[error("From address {address:?} has no domain")]
    NoDomain {
        /// The address as read.
        address: String,
    },
    /// The domain is an address literal (`[192.0.2.1]`), which has no DNS name to look up.
    #[error("From address {address:?} has an address literal, not a domain name")]
    DomainLiteral {
        /// The address as read.
        address: String,
    },
    /// The domain is not a valid name: for a U-label, not convertible to A-labels (RFC 5890
    /// §2.3, RFC 5891).
    #[error("From address {address:?}: {source}")]
    InvalidName {
        /// The address as read.
        address: String,
        /// Why the name is invalid.
        source: NameError,
    },
}

/// One address of the From field(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The address as read, encoded words decoded, without display name or comments.
    pub address: String,
    /// The author domain in A-labels, lower case, or why there is none.
    pub domain: Result<DomainName, AuthorDomainError>,
}

/// Every author of a message: the addresses of all its From fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authors {
    /// How many From fields the message has (RFC 5322 §3.6 allows exactly one).
    pub from_fields: usize,
    /// The addresses, across fields, in order of appearance.
    pub authors: Vec<Author>,
}

impl Authors {
    /// The distinct valid author domains, in order of first appearance. Linear in the number
    /// of addresses: a 1 MiB From field can name 60,000 domains.
    pub fn domains(&self) -> Vec<&DomainName> {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        self.authors
            .iter()
            .filter_map(|a| a.domain.as_ref().ok())
            .filter(|domain| seen.insert(domain.as_str()))
            .collect()
    }

    /// The addresses whose domain cannot be evaluated, with why.
    pub fn invalid(&self) -> impl Iterator<Item = &AuthorDomainError> {
        self.authors.iter().filter_map(|a| a.domain.as_ref().err())
    }

    /// True when RFC 9989 §5.3.1 extracts exactly one author domain from exactly one From
    /// field, i.e. DMARC applies as written; otherwise evaluation goes on only as §11.5 allows.
    pub fn is_single(&self) -> bool {
        self.from_fields == 1 && self.invalid().next().is_none() && self.domains().len() == 1
    }
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

    /// The addresses of every From field and the author domain of each (RFC 9989 §5.3.1
    /// Extract Author Domain): U-labels are converted to A-labels (RFC 5890 §2.3); an address
    /// whose domain is missing or invalid is kept with the reason. `Err` only when there is no
    /// From field or no address at all.
    pub fn authors(&self) -> Result<Authors, AuthorError> {
        let fields: Vec<&HeaderField> = self.fields("from").collect();
        if fields.is_empty() {
            return Err(AuthorError::NoFromField);
        }
        let authors: Vec<Author> = fields
            .iter()
            .flat_map(|field| field_addresses(field.value()))
            .map(|address| Author {
                domain: author_domain(&address),
                address,
            })
            .collect();
        if authors.is_empty() {
            return Err(AuthorError::NoAddress);
        }
        Ok(Authors {
            from_fields: fields.len(),
            authors,
        })
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

/// The addresses of one address-list field value (groups flattened), as mail-parser reads them.
fn field_addresses(value: &[u8]) -> Vec<String> {
    use mail_parser::{Address, HeaderValue};
    // mail-parser's stream ends a field at a line break not followed by whitespace.
    let mut data = value.to_vec();
    data.extend_from_slice(b"\r\n");
    let parsed = mail_parser::parsers::MessageStream::new(&data).parse_address();
    let addrs: Vec<mail_parser::Addr<'_>> = match parsed {
        HeaderValue::Address(Address::List(list)) => list,
        HeaderValue::Address(Address::Group(groups)) => {
            groups.into_iter().flat_map(|g| g.addresses).collect()
        }
        _ => Vec::new(),
    };
    addrs
        .into_iter()
        // A bare word (`From: undisclosed`) is read as a name without an address; keep it so
        // the verdict can say which address has no domain.
        .filter_map(|a| a.address.or(a.name).map(|text| text.trim().to_owned()))
        .filter(|text| !text.is_empty())
        .collect()
}

/// The domain of an address as a [`DomainName`] (A-labels), or why it has none.
fn author_domain(address: &str) -> Result<DomainName, AuthorDomainError> {
    let Some((_, domain)) = address
        .rsplit_once('@')
        .filter(|(_, d)| !d.trim().is_empty())
    else {
        return Err(AuthorDomainError::NoDomain {
            address: address.to_owned(),
        });
    };
    let domain = domain.trim();
    if domain.starts_with('[') {
        return Err(AuthorDomainError::DomainLiteral {
            address: address.to_owned(),
        });
    }
    DomainName::parse(domain).map_err(|source| AuthorDomainError::InvalidName {
        address: address.to_owned(),
        source,
    })
}

/// Convert bare LF to CRLF, leaving existing CRLF alone.
/// `input` with every bare LF made a CRLF; borrowed when there is none (the usual case for mail
/// taken off the wire), so no copy is made.
fn to_crlf(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let is_bare = |newline: usize| newline == 0 || input[newline - 1] != b'\r';
    let Some(first) = memchr::memchr_iter(b'\n', input).find(|&n| is_bare(n)) else {
        return std::borrow::Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    out.extend_from_slice(&input[..first]);
    out.extend_from_slice(b"\r\n");
    let mut start = first + 1;
    for newline in memchr::memchr_iter(b'\n', &input[start..]).map(|n| n + first + 1) {
        if is_bare(newline) {
            out.extend_from_slice(&input[start..newline]);
            out.extend_from_slice(b"\r\n");
            start = newline + 1;
        }
    }
    out.extend_from_slice(&input[start..]);
    std::borrow::Cow::Owned(out)
}

fn first_line(data: &[u8]) -> &[u8] {
    data.find_crlf().map_or(data, |end| &data[..end])
}

/// Searchers built once: building one costs more than searching a header line with it.
static CRLF: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n"));
static EMPTY_LINE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));

trait FindCrlf {
    fn find_crlf(&self) -> Option<usize>;
}

impl FindCrlf for [u8] {
    fn find_crlf(&self) -> Option<usize> {
        CRLF.find(self)
    }
}

/// Split at the first empty line. The header part keeps its last CRLF; without an empty line
/// the whole input is header and the body is empty.
fn split_head_body(data: &[u8]) -> (&[u8], &[u8]) {
    if data.starts_with(b"\r\n") {
        return (&[], &data[2..]);
    }
    match EMPTY_LINE.find(data) {
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

    fn authors(head: &str) -> Result<Authors, AuthorError> {
        Message::parse(format!("{head}\r\nTo: x@y.test\r\n\r\nbody\r\n").as_bytes())
            .unwrap()
            .authors()
    }

    fn domains(head: &str) -> Vec<String> {
        let authors = authors(head).unwrap();
        authors.domains().iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn rfc9989_5_3_1_author_domain_of_one_address() {
        assert_eq!(domains("From: Joe <joe@Example.COM>"), ["example.com"]);
        assert_eq!(domains("From: Joe\r\n <joe@example.com>"), ["example.com"]);
        assert!(authors("From: Joe <joe@Example.COM>").unwrap().is_single());
    }

    #[test]
    fn rfc5322_3_4_comments_quoted_local_parts_and_groups() {
        assert_eq!(
            domains("From: joe@example.com (Joe, the \"boss\" <x@evil.test>)"),
            ["example.com"]
        );
        assert_eq!(
            domains("From: \"Smith, Joe\" <\"joe smith\"@mail.example.com>"),
            ["mail.example.com"]
        );
        assert_eq!(
            domains("From: Team: a@one.test, b@two.test;"),
            ["one.test", "two.test"]
        );
    }

    #[test]
    fn rfc2047_encoded_word_display_name() {
        let found = authors("From: =?utf-8?q?M=C3=BCller=2C_Jo?= <jo@example.com>").unwrap();
        assert_eq!(found.authors.len(), 1);
        assert_eq!(found.authors[0].address, "jo@example.com");
    }

    #[test]
    fn rfc5890_2_3_u_label_becomes_a_label() {
        assert_eq!(
            domains("From: a@b\u{fc}cher.example"),
            ["xn--bcher-kva.example"]
        );
    }

    #[test]
    fn several_fields_and_addresses_are_all_listed() {
        let found = authors("From: a@one.test\r\nFrom: b@two.test, c@one.test").unwrap();
        assert_eq!(found.from_fields, 2);
        assert_eq!(found.authors.len(), 3);
        assert_eq!(found.domains().len(), 2);
        assert!(!found.is_single());
    }

    #[test]
    fn addresses_without_a_usable_domain_keep_the_reason() {
        let found = authors("From: undisclosed, joe@[192.0.2.1]").unwrap();
        let reasons: Vec<_> = found.invalid().cloned().collect();
        assert!(
            matches!(
                reasons.as_slice(),
                [
                    AuthorDomainError::NoDomain { .. },
                    AuthorDomainError::DomainLiteral { .. }
                ]
            ),
            "{reasons:?}"
        );
        let bad_idn = authors("From: a@\u{301}b.example").unwrap();
        assert!(matches!(
            bad_idn.authors[0].domain,
            Err(AuthorDomainError::InvalidName { .. })
        ));
        assert_eq!(authors("Sender: a@x.test"), Err(AuthorError::NoFromField));
        assert_eq!(authors("From: "), Err(AuthorError::NoAddress));
    }

    proptest::proptest! {
        /// Hostile From fields: the address parser never panics.
        #[test]
        fn arbitrary_from_never_panics(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let mut input = b"From:".to_vec();
            input.extend(value.iter().map(|b| if *b == b'\n' || *b == b'\r' { b' ' } else { *b }));
            input.extend_from_slice(b"\r\n\r\n");
            if let Ok(message) = Message::parse(&input) {
                let _ = message.authors();
            }
        }

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
