//! SPF macros (RFC 7208 §7): parsing macro-strings and expanding them for one evaluation.

use std::net::IpAddr;

/// The longest expansion produced, in bytes. RFC 7208 §7.3 cuts a domain-spec's expansion to its
/// rightmost 253 bytes, so no usable name needs more; a record repeating `%{s}` thousands of
/// times over a long sender would otherwise build megabytes per term (the §4.6.4 limits bound
/// lookups, not expansion work). An explanation longer than this is no SMTP reply either.
pub const MAX_EXPANSION_BYTES: usize = 8192;

/// One piece of a macro-string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (with `%%`, `%_`, `%-` already turned into `%`, space, `%20`).
    Literal(String),
    /// `%{letter digits r delimiters}`.
    Macro {
        /// The macro letter, lower-cased.
        letter: char,
        /// Upper-case letter: URL-escape the result (RFC 7208 §7.3).
        escape: bool,
        /// Keep this many right-hand parts (None: all).
        keep: Option<usize>,
        /// Reverse the parts.
        reverse: bool,
        /// The delimiters to split on (default ".").
        delimiters: String,
    },
}

/// What is wrong with a macro-string (RFC 7208 §7), or why it cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MacroError {
    /// A character outside visible ASCII and space.
    #[error("character {0:?} is not allowed in a macro-string")]
    BadCharacter(char),
    /// `%{` without its `}`.
    #[error("unterminated macro \"%{{\" (RFC 7208 §7.1)")]
    Unterminated,
    /// `%` followed by something other than `%`, `_`, `-` or `{`.
    #[error("\"%{0}\" is not a macro; write \"%%\" for a percent sign (RFC 7208 §7.1)")]
    NotAMacro(char),
    /// `%` at the very end.
    #[error("a macro-string may not end with \"%\" (RFC 7208 §7.1)")]
    TrailingPercent,
    /// `%{}`.
    #[error("empty macro \"%{{}}\"")]
    Empty,
    /// A letter that names no macro.
    #[error("unknown macro letter {0:?} (RFC 7208 §7.2)")]
    UnknownLetter(char),
    /// A digit count that does not fit.
    #[error("macro digit count too large")]
    DigitsTooLarge,
    /// `%{d0}`.
    #[error("a macro may not keep zero parts (RFC 7208 §7.3)")]
    KeepZero,
    /// A delimiter outside `.-+,/_=`.
    #[error("{0:?} is not a macro delimiter (RFC 7208 §7.1)")]
    BadDelimiter(char),
    /// `%{c}`, `%{r}` or `%{t}` outside an explanation.
    #[error("macro %{{{0}}} is allowed only in exp= explanations (RFC 7208 §7.2)")]
    ExplanationOnly(char),
    /// The expansion grew past [`MAX_EXPANSION_BYTES`].
    #[error(
        "macro expansion is over {MAX_EXPANSION_BYTES} bytes: refused rather than built (RFC 7208 §7.3 keeps 253)"
    )]
    TooLong,
}

/// Parse a macro-string into pieces, or say what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Piece>, MacroError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '%' {
            if !(c.is_ascii_graphic() || c == ' ') {
                return Err(MacroError::BadCharacter(c));
            }
            literal.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '%')) => literal.push('%'),
            Some((_, '_')) => literal.push(' '),
            Some((_, '-')) => literal.push_str("%20"),
            Some((_, '{')) => {
                let rest = &text[at + 2..];
                let Some(close) = rest.find('}') else {
                    return Err(MacroError::Unterminated);
                };
                let piece = parse_macro(&rest[..close])?;
                for _ in 0..=close {
                    chars.next();
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(piece);
            }
            Some((_, other)) => return Err(MacroError::NotAMacro(other)),
            None => return Err(MacroError::TrailingPercent),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// The inside of `%{...}`.
fn parse_macro(body: &str) -> Result<Piece, MacroError> {
    let mut chars = body.chars();
    let Some(letter) = chars.next() else {
        return Err(MacroError::Empty);
    };
    if !"slodiphcrtvSLODIPHCRTV".contains(letter) {
        return Err(MacroError::UnknownLetter(letter));
    }
    let rest: String = chars.collect();
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let keep = if digits_end > 0 {
        let n: usize = rest[..digits_end]
            .parse()
            .map_err(|_| MacroError::DigitsTooLarge)?;
        if n == 0 {
            return Err(MacroError::KeepZero);
        }
        Some(n.min(128))
    } else {
        None
    };
    let mut tail = &rest[digits_end..];
    let reverse = tail.starts_with(['r', 'R']);
    if reverse {
        tail = &tail[1..];
    }
    if let Some(bad) = tail.chars().find(|c| !".-+,/_=".contains(*c)) {
        return Err(MacroError::BadDelimiter(bad));
    }
    Ok(Piece::Macro {
        letter: letter.to_ascii_lowercase(),
        escape: letter.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters: if tail.is_empty() {
            ".".into()
        } else {
            tail.into()
        },
    })
}

/// What macros expand to during one evaluation.
#[derive(Debug, Clone)]
pub struct MacroContext<'a> {
    /// `%{s}`: the sender (`local@domain`).
    pub sender: &'a str,
    /// `%{d}`: the current domain.
    pub domain: &'a str,
    /// `%{i}`, `%{c}`, `%{v}`: the client address.
    pub ip: IpAddr,
    /// `%{h}`: the HELO/EHLO name.
    pub helo: &'a str,
    /// `%{p}`: the validated name of the client, when looked up.
    pub validated_name: Option<&'a str>,
    /// `%{r}`: the receiving host's name.
    pub receiver: &'a str,
    /// `%{t}`: the current time.
    pub now: u64,
}

/// Where a macro-string is used: `c`, `r` and `t` are allowed only in explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A domain-spec.
    Domain,
    /// An `exp=` explanation text.
    Explanation,
}

/// Expand parsed pieces.
pub fn expand(
    pieces: &[Piece],
    ctx: &MacroContext<'_>,
    usage: Usage,
) -> Result<String, MacroError> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Macro {
                letter,
                escape,
                keep,
                reverse,
                delimiters,
            } => {
                let value = letter_value(*letter, ctx, usage)?;
                let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
                if *reverse {
                    parts.reverse();
                }
                if let Some(n) = keep
                    && parts.len() > *n
                {
                    parts.drain(..parts.len() - n);
                }
                let joined = parts.join(".");
                if *escape {
                    out.push_str(&url_escape(&joined));
                } else {
                    out.push_str(&joined);
                }
            }
        }
        if out.len() > MAX_EXPANSION_BYTES {
            return Err(MacroError::TooLong);
        }
    }
    Ok(out)
}

fn letter_value(letter: char, ctx: &MacroContext<'_>, usage: Usage) -> Result<String, MacroError> {
    let local_and_domain = || {
        ctx.sender
            .rsplit_once('@')
            .unwrap_or(("postmaster", ctx.sender))
    };
    Ok(match letter {
        's' => ctx.sender.to_owned(),
        'l' => local_and_domain().0.to_owned(),
        'o' => local_and_domain().1.to_owned(),
        'd' => ctx.domain.to_owned(),
        'i' => dotted_ip(ctx.ip),
        'p' => ctx.validated_name.unwrap_or("unknown").to_owned(),
        'v' => match ctx.ip {
            IpAddr::V4(_) => "in-addr".into(),
            IpAddr::V6(_) => "ip6".into(),
        },
        'h' => ctx.helo.to_owned(),
        'c' | 'r' | 't' if usage == Usage::Domain => {
            return Err(MacroError::ExplanationOnly(letter));
        }
        'c' => ctx.ip.to_string(),
        'r' => ctx.receiver.to_owned(),
        't' => ctx.now.to_string(),
        other => return Err(MacroError::UnknownLetter(other)),
    })
}

/// `%{i}`: IPv4 as dotted quad, IPv6 as dot-separated nibbles (RFC 7208 §7.3).
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0f])
            .map(|n| format!("{n:x}"))
            .collect::<Vec<_>>()
            .join("."),
    }
}

/// URL-escape everything outside RFC 3986's unreserved set.
fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> MacroContext<'static> {
        MacroContext {
            sender: "strong-bad@email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
            validated_name: None,
            receiver: "mx.example.net",
            now: 1,
        }
    }

    fn x(text: &str) -> String {
        expand(&parse(text).unwrap(), &ctx(), Usage::Explanation).unwrap()
    }

    /// The examples of RFC 7208 §7.4.
    #[test]
    fn rfc7208_7_4_examples() {
        assert_eq!(x("%{s}"), "strong-bad@email.example.com");
        assert_eq!(x("%{o}"), "email.example.com");
        assert_eq!(x("%{d}"), "email.example.com");
        assert_eq!(x("%{d4}"), "email.example.com");
        assert_eq!(x("%{d3}"), "email.example.com");
        assert_eq!(x("%{d2}"), "example.com");
        assert_eq!(x("%{d1}"), "com");
        assert_eq!(x("%{dr}"), "com.example.email");
        assert_eq!(x("%{d2r}"), "example.email");
        assert_eq!(x("%{l}"), "strong-bad");
        assert_eq!(x("%{l-}"), "strong.bad");
        assert_eq!(x("%{lr}"), "strong-bad");
        assert_eq!(x("%{lr-}"), "bad.strong");
        assert_eq!(x("%{l1r-}"), "strong");
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}"),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
        assert_eq!(
            x("%{d2}.trusted-domains.example.net"),
            "example.com.trusted-domains.example.net"
        );
        let mut v6 = ctx();
        v6.ip = "2001:db8::cb01".parse().unwrap();
        assert_eq!(
            expand(&parse("%{ir}.%{v}._spf.%{d2}").unwrap(), &v6, Usage::Domain).unwrap(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn escapes_and_errors() {
        assert_eq!(x("%%%_%-"), "% %20");
        assert_eq!(x("%{S}"), "strong-bad%40email.example.com");
        assert!(parse("%").is_err());
        assert!(parse("%x").is_err());
        assert!(parse("%{").is_err());
        assert!(parse("%{q}").is_err());
        assert!(parse("%{d0}").is_err());
        assert!(parse("%{d2!}").is_err());
        assert!(expand(&parse("%{c}").unwrap(), &ctx(), Usage::Domain).is_err());
    }

    /// Repeated macros over a long sender stop at [`MAX_EXPANSION_BYTES`] instead of growing
    /// with the record; an expansion just under it is whole.
    #[test]
    fn expansion_is_bounded() {
        // "strong-bad@email.example.com" is 28 bytes, one dot between copies.
        let under = "%{s}.".repeat(MAX_EXPANSION_BYTES / 29);
        assert_eq!(x(&under).len(), MAX_EXPANSION_BYTES / 29 * 29);
        let over = parse(&"%{s}.".repeat(MAX_EXPANSION_BYTES / 29 + 1)).unwrap();
        assert_eq!(
            expand(&over, &ctx(), Usage::Domain),
            Err(MacroError::TooLong)
        );
    }
}
