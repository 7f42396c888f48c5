//! Records as mailauth reads and writes them: an owner name, a [`RecordType`], a TTL and the value
//! in one canonical text per type, so that two providers (or one provider's different spellings)
//! holding the same data compare equal. The canonical forms are: TXT the character-strings joined,
//! unquoted and unescaped; CNAME the target in lower case without the trailing dot; MX
//! `"PREFERENCE HOST"` (host likewise; the null MX host stays `.`); TLSA `"USAGE SELECTOR MATCHING
//! HEX"` with the data in lower-case hex. This module does no I/O; each backend turns these into
//! its own wire or API form.

use std::fmt;
use std::str::FromStr;

use crate::ProviderError;

/// The record types mailauth can plan and publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RecordType {
    /// TXT (RFC 1035 §3.3.14): SPF, DKIM, DMARC, MTA-STS, TLS-RPT.
    Txt,
    /// CNAME (RFC 1035 §3.3.1), e.g. a DKIM selector delegated to a mail service.
    Cname,
    /// MX (RFC 1035 §3.3.9).
    Mx,
    /// TLSA (RFC 6698 §2), for DANE.
    Tlsa,
}

impl RecordType {
    /// Every type, in a fixed order.
    pub const ALL: [RecordType; 4] = [
        RecordType::Txt,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Tlsa,
    ];

    /// The type's mnemonic, as in zone files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Txt => "TXT",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Tlsa => "TLSA",
        }
    }

    /// `value` in this type's canonical text (see the module documentation).
    pub fn canonical(self, value: &str) -> Result<String, ProviderError> {
        let invalid = |reason: &str| ProviderError::InvalidValue {
            rtype: self,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        match self {
            RecordType::Txt => Ok(value.to_owned()),
            RecordType::Cname => canonical_host(value.trim()).ok_or_else(|| invalid("not a name")),
            RecordType::Mx => Mx::parse(value)
                .map(|mx| mx.to_string())
                .ok_or_else(|| invalid("expected PREFERENCE HOST, e.g. \"10 mail.example.com\"")),
            RecordType::Tlsa => Tlsa::parse(value)
                .map(|tlsa| tlsa.to_string())
                .ok_or_else(|| {
                    invalid("expected USAGE SELECTOR MATCHING HEX, e.g. \"3 1 1 0123ab...\"")
                }),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordType {
    type Err = ();

    /// The mnemonic, in any case.
    fn from_str(text: &str) -> Result<RecordType, ()> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
            .ok_or(())
    }
}

/// A host name in canonical form: lower case, no trailing dot; the root stays `.`. `None` when
/// the text is empty or holds blanks, quotes or other bytes no host name has.
pub fn canonical_host(text: &str) -> Option<String> {
    if text == "." {
        return Some(".".into());
    }
    let name = text.trim_end_matches('.');
    let plausible = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'*'));
    plausible.then(|| name.to_ascii_lowercase())
}

/// A host in presentation form for zone files and DNS APIs: absolute, with the trailing dot.
pub fn absolute_host(host: &str) -> String {
    if host == "." {
        ".".into()
    } else {
        format!("{host}.")
    }
}

/// An MX value's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// Lower is preferred.
    pub preference: u16,
    /// The mail exchanger, canonical (see [`canonical_host`]).
    pub host: String,
}

impl Mx {
    /// Parse `"PREFERENCE HOST"` (any blanks, host with or without the trailing dot).
    pub fn parse(value: &str) -> Option<Mx> {
        let mut words = value.split_whitespace();
        let preference = words.next()?.parse().ok()?;
        let host = canonical_host(words.next()?)?;
        words.next().is_none().then_some(Mx { preference, host })
    }
}

impl fmt::Display for Mx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.preference, self.host)
    }
}

/// A TLSA value's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    /// Certificate usage (0-3).
    pub usage: u8,
    /// Selector (0 full certificate, 1 public key).
    pub selector: u8,
    /// Matching type (0 exact, 1 SHA-256, 2 SHA-512).
    pub matching: u8,
    /// The certificate association data.
    pub data: Vec<u8>,
}

impl Tlsa {
    /// Parse `"USAGE SELECTOR MATCHING HEX"`; the hex may be split by blanks, as zone files allow.
    pub fn parse(value: &str) -> Option<Tlsa> {
        let mut words = value.split_whitespace();
        let usage = words.next()?.parse().ok()?;
        let selector = words.next()?.parse().ok()?;
        let matching = words.next()?.parse().ok()?;
        let hex: String = words.collect();
        let data = decode_hex(&hex)?;
        (!data.is_empty()).then_some(Tlsa {
            usage,
            selector,
            matching,
            data,
        })
    }

    /// The data as lower-case hex.
    pub fn hex(&self) -> String {
        self.data.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.usage,
            self.selector,
            self.matching,
            self.hex()
        )
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

/// One record as the provider holds it, its value in canonical form (see the module
/// documentation), so that a provider's re-chunking or re-spelling never shows as a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Fully qualified owner name without the trailing dot, lower case.
    pub name: String,
    /// The type.
    pub rtype: RecordType,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The canonical value.
    pub value: String,
    /// The provider marks the record as created by mailauth.
    pub managed: bool,
}

impl Record {
    /// The value as it is shown to people: TXT quoted, the other types as they are.
    pub fn shown_value(&self) -> String {
        match self.rtype {
            RecordType::Txt => format!("\"{}\"", self.value),
            _ => self.value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_values_per_type() {
        let c = |t: RecordType, v: &str| t.canonical(v).unwrap();
        assert_eq!(c(RecordType::Txt, " a \"b\" "), " a \"b\" ");
        assert_eq!(
            c(RecordType::Cname, "Mail.Example.COM."),
            "mail.example.com"
        );
        assert_eq!(
            c(RecordType::Mx, "  10\tMX1.example.com. "),
            "10 mx1.example.com"
        );
        assert_eq!(c(RecordType::Mx, "0 ."), "0 .");
        assert_eq!(c(RecordType::Tlsa, "3 1 1 AB cd"), "3 1 1 abcd");
        for (t, bad) in [
            (RecordType::Mx, "mail.example.com"),
            (RecordType::Mx, "70000 mail.example.com"),
            (RecordType::Tlsa, "3 1 1 abc"),
            (RecordType::Tlsa, "3 1 1"),
            (RecordType::Cname, "two words"),
        ] {
            assert!(
                matches!(t.canonical(bad), Err(ProviderError::InvalidValue { .. })),
                "{t} {bad}"
            );
        }
        assert_eq!("tlsa".parse::<RecordType>(), Ok(RecordType::Tlsa));
    }
}
