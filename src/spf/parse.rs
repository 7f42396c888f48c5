//! Parsing SPF records (RFC 7208 §4.5, §4.6, §5, §6, §7.1). Anything the ABNF does not allow is
//! a [`SpfSyntaxError`], which evaluation turns into permerror.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{MacroString, Mechanism, Qualifier, SpfRecord, SpfSyntaxError, Term};

/// True when a TXT value is an SPF record: `v=spf1` (any case) then a space or the end
/// (RFC 7208 §4.5).
pub fn is_spf_record(value: &[u8]) -> bool {
    value.len() >= 6
        && value[..6].eq_ignore_ascii_case(b"v=spf1")
        && (value.len() == 6 || value[6] == b' ')
}

/// The SPF records among a name's TXT records (RFC 7208 §4.5), each joined from its strings.
/// More than one is a permerror for the caller to report.
pub fn select(records: &[crate::dns::TxtRecord]) -> Vec<Vec<u8>> {
    records
        .iter()
        .map(crate::dns::TxtRecord::joined)
        .filter(|v| is_spf_record(v))
        .collect()
}

/// Parse a record that [`is_spf_record`] accepted.
pub fn record(value: &[u8]) -> Result<SpfRecord, SpfSyntaxError> {
    let text = std::str::from_utf8(value).map_err(|_| SpfSyntaxError {
        term: String::from_utf8_lossy(value).into_owned(),
        reason: "the record is not ASCII text".into(),
    })?;
    if !is_spf_record(value) {
        return Err(err(text, "the record does not start with \"v=spf1\""));
    }
    let mut terms = Vec::new();
    // Terms are separated by one or more spaces, and only spaces (RFC 7208 §4.6.1).
    for word in text[6..].split(' ').filter(|w| !w.is_empty()) {
        terms.push(term(word)?);
    }
    let count = |f: fn(&Term) -> bool| terms.iter().filter(|t| f(t)).count();
    if count(|t| matches!(t, Term::Redirect(_))) > 1 {
        return Err(err(text, "redirect= appears more than once (RFC 7208 §6)"));
    }
    if count(|t| matches!(t, Term::Explanation(_))) > 1 {
        return Err(err(text, "exp= appears more than once (RFC 7208 §6)"));
    }
    Ok(SpfRecord { terms })
}

fn err(term: &str, reason: impl Into<String>) -> SpfSyntaxError {
    SpfSyntaxError {
        term: term.to_owned(),
        reason: reason.into(),
    }
}

fn term(word: &str) -> Result<Term, SpfSyntaxError> {
    if let Some(c) = word.bytes().find(|b| !b.is_ascii_graphic()) {
        return Err(err(
            word,
            format!("byte 0x{c:02x} is not allowed in a term"),
        ));
    }
    // A modifier is `name=value` where name starts with a letter and has no ':' or '/' before '='.
    if let Some((name, value)) = word.split_once('=')
        && !name.is_empty()
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return modifier(word, name, value);
    }
    let (qualifier, rest) = match word.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &word[1..]),
        b'-' => (Qualifier::Fail, &word[1..]),
        b'~' => (Qualifier::SoftFail, &word[1..]),
        b'?' => (Qualifier::Neutral, &word[1..]),
        _ => (Qualifier::Pass, word),
    };
    Ok(Term::Directive(qualifier, mechanism(word, rest)?))
}

fn modifier(word: &str, name: &str, value: &str) -> Result<Term, SpfSyntaxError> {
    if name.eq_ignore_ascii_case("redirect") {
        return Ok(Term::Redirect(domain_spec(word, value)?));
    }
    if name.eq_ignore_ascii_case("exp") {
        return Ok(Term::Explanation(domain_spec(word, value)?));
    }
    check_macro_string(word, value)?;
    Ok(Term::Unknown {
        name: name.to_owned(),
        value: MacroString(value.to_owned()),
    })
}

fn mechanism(word: &str, text: &str) -> Result<Mechanism, SpfSyntaxError> {
    let end = text.find([':', '/']).unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    match name.to_ascii_lowercase().as_str() {
        "all" if rest.is_empty() => Ok(Mechanism::All),
        "include" => Ok(Mechanism::Include(required_target(word, rest)?)),
        "exists" => Ok(Mechanism::Exists(required_target(word, rest)?)),
        "ptr" => {
            let target = optional_target(word, rest)?;
            Ok(Mechanism::Ptr(target))
        }
        "a" | "mx" => {
            let (target, cidr) = split_cidr(rest);
            let domain = optional_target(word, target)?;
            let (cidr4, cidr6) = dual_cidr(word, cidr)?;
            Ok(if name.eq_ignore_ascii_case("a") {
                Mechanism::A {
                    domain,
                    cidr4,
                    cidr6,
                }
            } else {
                Mechanism::Mx {
                    domain,
                    cidr4,
                    cidr6,
                }
            })
        }
        "ip4" => {
            let value = rest
                .strip_prefix(':')
                .ok_or_else(|| err(word, "ip4 needs \":address\""))?;
            let (addr, prefix) = match value.split_once('/') {
                Some((a, p)) => (a, Some(cidr_length(word, p, 32)?)),
                None => (value, None),
            };
            let addr: Ipv4Addr = parse_ip4(addr).ok_or_else(|| err(word, "bad IPv4 address"))?;
            Ok(Mechanism::Ip4 { addr, prefix })
        }
        "ip6" => {
            let value = rest
                .strip_prefix(':')
                .ok_or_else(|| err(word, "ip6 needs \":address\""))?;
            let (addr, prefix) = match value.split_once('/') {
                Some((a, p)) => (a, Some(cidr_length(word, p, 128)?)),
                None => (value, None),
            };
            let addr: Ipv6Addr = addr.parse().map_err(|_| err(word, "bad IPv6 address"))?;
            Ok(Mechanism::Ip6 { addr, prefix })
        }
        _ => Err(err(word, "unknown mechanism")),
    }
}

/// Dotted quad with exactly four decimal parts (no leading-zero octal games).
fn parse_ip4(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    text.parse().ok()
}

/// Split `:domain/cidr` into the target part and the CIDR part. The CIDR is the trailing
/// `/...` that parses as one; a '/' inside a macro-string stays with the domain.
fn split_cidr(rest: &str) -> (&str, &str) {
    // The cidr part starts at the first '/' that begins "/digits" or "//digits" to the end.
    let bytes = rest.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'/' {
            let tail = &rest[i..];
            let ok = tail
                .trim_start_matches('/')
                .bytes()
                .all(|c| c.is_ascii_digit() || c == b'/');
            if ok {
                return (&rest[..i], tail);
            }
        }
    }
    (rest, "")
}

fn dual_cidr(word: &str, text: &str) -> Result<(Option<u8>, Option<u8>), SpfSyntaxError> {
    if text.is_empty() {
        return Ok((None, None));
    }
    if let Some(v6) = text.strip_prefix("//") {
        return Ok((None, Some(cidr_length(word, v6, 128)?)));
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(err(word, "bad CIDR length"));
    };
    match rest.split_once("//") {
        Some((v4, v6)) => Ok((
            Some(cidr_length(word, v4, 32)?),
            Some(cidr_length(word, v6, 128)?),
        )),
        None => Ok((Some(cidr_length(word, rest, 32)?), None)),
    }
}

/// A prefix length: decimal without leading zeros, at most `max` (RFC 7208 §5.6).
fn cidr_length(word: &str, text: &str, max: u8) -> Result<u8, SpfSyntaxError> {
    let valid = !text.is_empty()
        && text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    let value = if valid { text.parse::<u8>().ok() } else { None };
    match value {
        Some(v) if v <= max => Ok(v),
        _ => Err(err(word, format!("bad CIDR length {text:?} (0 to {max})"))),
    }
}

fn required_target(word: &str, rest: &str) -> Result<MacroString, SpfSyntaxError> {
    match rest.strip_prefix(':') {
        Some(spec) => domain_spec(word, spec),
        None => Err(err(word, "needs \":domain\"")),
    }
}

fn optional_target(word: &str, rest: &str) -> Result<Option<MacroString>, SpfSyntaxError> {
    if rest.is_empty() {
        return Ok(None);
    }
    required_target(word, rest).map(Some)
}

/// A domain-spec: a macro-string ending in a top label or a macro (RFC 7208 §7.1).
fn domain_spec(word: &str, spec: &str) -> Result<MacroString, SpfSyntaxError> {
    if spec.is_empty() {
        return Err(err(word, "empty domain"));
    }
    check_macro_string(word, spec)?;
    let explanation_only = super::macros::parse(spec)
        .unwrap_or_default()
        .into_iter()
        .any(|p| {
            matches!(
                p,
                super::macros::Piece::Macro {
                    letter: 'c' | 'r' | 't',
                    ..
                }
            )
        });
    if explanation_only {
        return Err(err(
            word,
            "macros %{c}, %{r} and %{t} are allowed only in explanation text (RFC 7208 §7.2)",
        ));
    }
    if !ends_validly(spec) {
        return Err(err(
            word,
            "the domain must end in a top-level label or a macro (RFC 7208 §7.1)",
        ));
    }
    Ok(MacroString(spec.to_owned()))
}

/// domain-end = ( "." toplabel [ "." ] ) / macro-expand
fn ends_validly(spec: &str) -> bool {
    if spec.ends_with('}') {
        // Must be the end of a macro-expand.
        return spec.rfind("%{").is_some();
    }
    let trimmed = spec.strip_suffix('.').unwrap_or(spec);
    let Some((_, top)) = trimmed.rsplit_once('.') else {
        return false;
    };
    is_toplabel(top)
}

/// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
fn is_toplabel(label: &str) -> bool {
    let b = label.as_bytes();
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    if b.contains(&b'-') {
        return b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric();
    }
    b.iter().any(u8::is_ascii_alphabetic)
}

/// Check `%` escapes: `%%`, `%_`, `%-`, or `%{` letter digits [r] delimiters `}`.
pub fn check_macro_string(word: &str, text: &str) -> Result<(), SpfSyntaxError> {
    super::macros::parse(text)
        .map(|_| ())
        .map_err(|reason| err(word, reason.to_string()))
}
