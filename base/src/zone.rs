//! The BIND master-file syntax (RFC 1035 §5) shared by mailauth's zone-file resolver and the
//! zone-file provider: a lexer that keeps each entry's byte span (so a provider can rewrite one
//! record in place and leave everything else, comments included, as it was), name resolution
//! against `$ORIGIN`, TTLs with units, and the owner/TTL/class/type head of a record.

/// One token: a word or a quoted string, unescaped, with its byte span in the text.
#[derive(Debug, Clone)]
pub struct Token {
    /// The bytes after unescaping.
    pub text: Vec<u8>,
    /// It was a quoted string.
    pub quoted: bool,
    /// Byte offset of the token's first character (the quote for quoted strings).
    pub start: usize,
    /// Byte offset just after the token.
    pub end: usize,
}

/// What is wrong with one field of an entry (a name, an escape, a record's head).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A token that must be text is not UTF-8.
    #[error("{0:?} is not text")]
    NotText(String),
    /// `\D` or `\DD` where `\DDD` was meant.
    #[error("\\DDD escape needs three digits")]
    ShortEscape,
    /// `\DDD` above 255.
    #[error("\\{0} is above 255")]
    EscapeTooLarge(u32),
    /// A backslash with nothing after it on the line.
    #[error("backslash at the end of a line")]
    TrailingBackslash,
    /// `@` before any `$ORIGIN`.
    #[error("\"@\" used before any $ORIGIN")]
    AtWithoutOrigin,
    /// A relative name before any `$ORIGIN`.
    #[error(
        "relative name {0:?} but no $ORIGIN (add `$ORIGIN example.com.` or end the name with a dot)"
    )]
    RelativeWithoutOrigin(String),
    /// A name over 253 octets.
    #[error("name {0:?} is longer than 253 characters")]
    NameTooLong(String),
    /// A name with an empty label or one over 63 octets.
    #[error("name {0:?} has an empty or over-long (>63) label")]
    BadLabel(String),
    /// An indented record with no owner before it.
    #[error("record with no owner name (the line starts with a blank)")]
    NoOwner,
    /// A record with no tokens.
    #[error("empty record")]
    EmptyRecord,
    /// A record with no type.
    #[error("record has no type")]
    NoType,
    /// A class other than IN.
    #[error("class {0} is not supported (only IN)")]
    Class(String),
}

/// Callers that collect reasons as text (a zone reader's per-line messages) take it as is.
impl From<FieldError> for String {
    fn from(error: FieldError) -> String {
        error.to_string()
    }
}

impl Token {
    /// The token as text.
    pub fn as_str(&self) -> Result<&str, FieldError> {
        std::str::from_utf8(&self.text).map_err(|_| FieldError::NotText(self.lossy()))
    }

    /// The token for messages.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// One logical line (parentheses joined) and where it lies in the text.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line where it starts.
    pub line: usize,
    /// It starts with a blank: the owner is the previous entry's.
    pub indented: bool,
    /// Its tokens.
    pub tokens: Vec<Token>,
    /// Byte offset of the start of its first line.
    pub start: usize,
    /// Byte offset just after the end of its last line (including the newline and any comment).
    pub end: usize,
}

/// A syntax error at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Split zone text into entries (logical lines, parentheses joined) of tokens.
pub fn lex(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut entries = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let mut depth = 0usize;
    let mut paren_line = 0;
    let mut current: Option<Entry> = None;
    let err = |line: usize, reason: String| SyntaxError { line, reason };
    let mut at_line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start && depth == 0 {
            if let Some(mut entry) = current.take()
                && !entry.tokens.is_empty()
            {
                entry.end = i;
                entries.push(entry);
            }
            current = Some(Entry {
                line,
                indented: b == b' ' || b == b'\t',
                tokens: Vec::new(),
                start: i,
                end: i,
            });
        }
        at_line_start = false;
        match b {
            b'\n' => {
                line += 1;
                at_line_start = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                if depth == 0 {
                    paren_line = line;
                }
                depth += 1;
                i += 1;
            }
            b')' => {
                if depth == 0 {
                    return Err(err(line, "\")\" without \"(\"".into()));
                }
                depth -= 1;
                i += 1;
            }
            first => {
                // A quoted string runs to its closing quote on the same line; a bare token to the
                // next delimiter. Both take backslash escapes.
                let quoted = first == b'"';
                let token_start = i;
                i += usize::from(quoted);
                let mut out = Vec::new();
                loop {
                    match (quoted, bytes.get(i).copied()) {
                        (true, None) => {
                            return Err(err(line, "unterminated quoted string".into()));
                        }
                        (true, Some(b'"')) => {
                            i += 1;
                            break;
                        }
                        (true, Some(b'\n')) => {
                            return Err(err(
                                line,
                                "quoted string runs past the end of the line".into(),
                            ));
                        }
                        (false, None)
                        | (false, Some(b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"')) =>
                        {
                            break;
                        }
                        (_, Some(b'\\')) => {
                            let (byte, used) =
                                unescape(&bytes[i..]).map_err(|e| err(line, e.to_string()))?;
                            out.push(byte);
                            i += used;
                        }
                        (_, Some(c)) => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                if let Some(entry) = current.as_mut() {
                    entry.tokens.push(Token {
                        text: out,
                        quoted,
                        start: token_start,
                        end: i,
                    });
                }
            }
        }
    }
    if depth > 0 {
        return Err(err(paren_line, "\"(\" is never closed".into()));
    }
    if let Some(mut entry) = current
        && !entry.tokens.is_empty()
    {
        entry.end = bytes.len();
        entries.push(entry);
    }
    Ok(entries)
}

/// `\X` or `\DDD` at the start of `bytes`; returns the byte and how many input bytes it used.
pub fn unescape(bytes: &[u8]) -> Result<(u8, usize), FieldError> {
    match bytes.get(1) {
        Some(d) if d.is_ascii_digit() => {
            let digits = bytes.get(1..4).filter(|s| s.iter().all(u8::is_ascii_digit));
            let Some(digits) = digits else {
                return Err(FieldError::ShortEscape);
            };
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            let byte = u8::try_from(value).map_err(|_| FieldError::EscapeTooLarge(value))?;
            Ok((byte, 4))
        }
        Some(b'\n') | None => Err(FieldError::TrailingBackslash),
        Some(&c) => Ok((c, 2)),
    }
}

/// What names and TTLs in the following entries are relative to.
#[derive(Debug, Clone, Default)]
pub struct NameContext {
    /// `$ORIGIN`, normalised.
    pub origin: Option<String>,
    /// The last explicit owner name.
    pub owner: Option<String>,
    /// `$TTL`.
    pub default_ttl: Option<u32>,
}

impl NameContext {
    /// An absolute, normalized name from a zone-file token.
    pub fn name(&self, token: &Token) -> Result<String, FieldError> {
        let text = token.as_str()?;
        if text == "@" {
            return self.origin.clone().ok_or(FieldError::AtWithoutOrigin);
        }
        if text.ends_with('.') {
            let name = normalize_name(text);
            check_name(&name, text)?;
            return Ok(name);
        }
        let Some(origin) = &self.origin else {
            return Err(FieldError::RelativeWithoutOrigin(text.to_owned()));
        };
        let name = if origin.is_empty() {
            text.to_ascii_lowercase()
        } else {
            format!("{}.{origin}", text.to_ascii_lowercase())
        };
        check_name(&name, text)?;
        Ok(name)
    }
}

/// Check the lengths of an absolute `name` written as `text` (RFC 1035 §2.3.4). Zone data may
/// hold names that are not host names (wildcards, `_` labels), so only lengths are checked here;
/// a name a user gives is a `DomainName` instead.
pub fn check_name(name: &str, text: &str) -> Result<(), FieldError> {
    if name.len() > 253 {
        return Err(FieldError::NameTooLong(text.to_owned()));
    }
    if !name.is_empty() && name.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(FieldError::BadLabel(text.to_owned()));
    }
    Ok(())
}

/// A TTL: seconds, or BIND units such as `1h30m`, `2d`, `1w`.
pub fn parse_ttl(text: &str) -> Option<u32> {
    if text.is_empty() || !text.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    total = total.checked_add(number.unwrap_or(0))?;
    u32::try_from(total).ok()
}

pub fn is_class(text: &str) -> bool {
    matches!(
        text.to_ascii_uppercase().as_str(),
        "IN" | "CH" | "HS" | "CS"
    )
}

/// Normalise a name: lower case, no trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A record's owner, TTL, type and the tokens of its data.
#[derive(Debug)]
pub struct RecordHead<'e> {
    /// The absolute owner name, normalised.
    pub owner: String,
    /// The TTL given on the record, if any.
    pub ttl: Option<u32>,
    /// The type, upper case.
    pub rtype: String,
    /// The data tokens.
    pub rdata: &'e [Token],
}

/// Read the head of a record entry (not a `$` directive): `[owner] [TTL] [class] type data...`,
/// TTL and class in either order. Updates `context.owner`.
pub fn record_head<'e>(
    entry: &'e Entry,
    context: &mut NameContext,
) -> Result<RecordHead<'e>, FieldError> {
    let mut next = 0;
    let owner = if entry.indented {
        context.owner.clone().ok_or(FieldError::NoOwner)?
    } else {
        let token = entry.tokens.first().ok_or(FieldError::EmptyRecord)?;
        next = 1;
        let owner = context.name(token)?;
        context.owner = Some(owner.clone());
        owner
    };
    let mut ttl = None;
    for _ in 0..3 {
        let token = entry.tokens.get(next).ok_or(FieldError::NoType)?;
        next += 1;
        let text = token.as_str()?;
        if is_class(text) {
            if !text.eq_ignore_ascii_case("IN") {
                return Err(FieldError::Class(text.to_owned()));
            }
        } else if let Some(value) = parse_ttl(text) {
            ttl = Some(value);
        } else {
            return Ok(RecordHead {
                owner,
                ttl,
                rtype: text.to_ascii_uppercase(),
                rdata: &entry.tokens[next..],
            });
        }
    }
    Err(FieldError::NoType)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_byte_spans() {
        let text = "; head\n$ORIGIN x.\na IN TXT ( \"one\"\n  \"two\" ) ; c\n\n  IN A 192.0.2.1\n";
        let entries = lex(text).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            &text[entries[1].start..entries[1].end],
            "a IN TXT ( \"one\"\n  \"two\" ) ; c\n"
        );
        assert_eq!(entries[2].line, 6);
        assert!(entries[2].indented);
        let token = &entries[1].tokens[3];
        assert_eq!(&text[token.start..token.end], "\"one\"");
        let mut context = NameContext {
            origin: Some("x".into()),
            ..NameContext::default()
        };
        let head = record_head(&entries[1], &mut context).unwrap();
        assert_eq!(
            (head.owner.as_str(), head.rtype.as_str(), head.rdata.len()),
            ("a.x", "TXT", 2)
        );
        let head = record_head(&entries[2], &mut context).unwrap();
        assert_eq!(head.owner, "a.x");
    }
}
