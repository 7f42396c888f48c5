//! [`DomainName`]: a domain parsed once at the edge (config, command line, domains file, record
//! data) and carried as a checked value afterwards, so no module re-normalises or re-validates.
//!
//! The form kept is the one DNS compares and zone files hold: A-labels (a U-label such as
//! `bücher.example` is converted by IDNA, RFC 5891 §4.4), lower case (RFC 4343 §3: names compare
//! case-insensitively), no trailing dot. Rules: at most 253 octets in text form (RFC 1035 §2.3.4:
//! 255 on the wire), labels of 1 to 63 octets (RFC 1035 §2.3.4), no empty label, letters, digits,
//! hyphens and underscores only (RFC 1123 §2.1 host names, plus the underscore of RFC 8552 attribute
//! leaves such as `_dmarc` and `_domainkey`), no label beginning or ending with a hyphen, and a
//! top-level label that is not all digits (RFC 3696 §2, so an IPv4 address is not taken for a
//! domain).

use std::fmt;
use std::str::FromStr;

/// The most octets in a name in text form without the trailing dot (RFC 1035 §2.3.4).
pub const MAX_NAME_OCTETS: usize = 253;
/// The most octets in one label (RFC 1035 §2.3.4).
pub const MAX_LABEL_OCTETS: usize = 63;

/// A checked domain name: A-labels, lower case, no trailing dot.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

/// Why a text is not a domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing (or only a dot) was given.
    #[error("invalid domain name: it is empty")]
    Empty,
    /// Longer than 253 octets.
    #[error("invalid domain name {shown}: {octets} octets, at most 253 (RFC 1035 §2.3.4)")]
    TooLong {
        /// The start of the name, for the message.
        shown: String,
        /// Its length.
        octets: usize,
    },
    /// Two dots in a row, or a leading dot.
    #[error("invalid domain name \"{0}\": it has an empty label")]
    EmptyLabel(String),
    /// A label longer than 63 octets.
    #[error(
        "invalid domain name \"{name}\": label {label:?} is longer than 63 octets (RFC 1035 §2.3.4)"
    )]
    LabelTooLong {
        /// The name.
        name: String,
        /// The label.
        label: String,
    },
    /// A character outside letters, digits, `-` and `_`.
    #[error(
        "invalid domain name \"{name}\": {found} is not allowed (letters, digits, '-' and '_' only)"
    )]
    BadCharacter {
        /// The name, with control characters escaped.
        name: String,
        /// The character, escaped.
        found: String,
    },
    /// A label starting or ending with `-`.
    #[error(
        "invalid domain name \"{name}\": label {label:?} begins or ends with '-' (RFC 1123 §2.1)"
    )]
    HyphenAtEdge {
        /// The name.
        name: String,
        /// The label.
        label: String,
    },
    /// The last label is all digits: an IP address, not a domain.
    #[error(
        "invalid domain name \"{0}\": the top-level label is all digits (an IP address?) (RFC 3696 §2)"
    )]
    NumericTld(String),
    /// A U-label IDNA cannot convert.
    #[error("invalid domain name \"{0}\": not a valid internationalized name (RFC 5891)")]
    Idna(String),
}

impl DomainName {
    /// Parse and normalise `text` (one trailing dot allowed).
    pub fn parse(text: &str) -> Result<DomainName, NameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
                return Err(bad_character(text, c));
            }
            idna::domain_to_ascii(trimmed).map_err(|_| NameError::Idna(shown(text)))?
        };
        check(&ascii, text)?;
        Ok(DomainName(ascii))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('.')
    }

    /// How many labels.
    pub fn label_count(&self) -> usize {
        self.0.split('.').count()
    }

    /// `label.self`, e.g. `_dmarc` under `example.com`.
    pub fn child(&self, label: &str) -> Result<DomainName, NameError> {
        DomainName::parse(&format!("{label}.{}", self.0))
    }

    /// The name one label up, `None` at a top-level name.
    pub fn parent(&self) -> Option<DomainName> {
        self.0
            .split_once('.')
            .map(|(_, rest)| DomainName(rest.to_owned()))
    }

    /// `self` is `other` or below it.
    pub fn is_within(&self, other: &DomainName) -> bool {
        is_within(&self.0, &other.0)
    }
}

/// `name` is `domain` or below it, compared by whole labels. Both must already be in one form
/// (lower case, no trailing dot: [`crate::zone::normalize_name`]); for names read from DNS data
/// or reports that are not [`DomainName`]s.
pub fn is_within(name: &str, domain: &str) -> bool {
    name == domain
        || (name.len() > domain.len()
            && name.ends_with(domain)
            && name.as_bytes()[name.len() - domain.len() - 1] == b'.')
}

fn shown(text: &str) -> String {
    text.escape_default().to_string()
}

fn bad_character(name: &str, c: char) -> NameError {
    NameError::BadCharacter {
        name: shown(name),
        found: format!("'{}'", c.escape_default()),
    }
}

/// Check the normalised `name`; errors show `given`, the text as the user wrote it.
fn check(name: &str, given: &str) -> Result<(), NameError> {
    if name.len() > MAX_NAME_OCTETS {
        let start: String = given.chars().take(40).collect();
        return Err(NameError::TooLong {
            shown: format!("\"{}...\"", start.escape_default()),
            octets: name.len(),
        });
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel(shown(given)));
        }
        if label.len() > MAX_LABEL_OCTETS {
            return Err(NameError::LabelTooLong {
                name: shown(given),
                label: label.to_owned(),
            });
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(bad_character(given, c));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::HyphenAtEdge {
                name: shown(given),
                label: label.to_owned(),
            });
        }
    }
    let tld = name.rsplit('.').next().unwrap_or(name);
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::NumericTld(shown(given)));
    }
    Ok(())
}

impl FromStr for DomainName {
    type Err = NameError;
    fn from_str(text: &str) -> Result<DomainName, NameError> {
        DomainName::parse(text)
    }
}

impl TryFrom<String> for DomainName {
    type Error = NameError;
    fn try_from(text: String) -> Result<DomainName, NameError> {
        DomainName::parse(&text)
    }
}

impl From<DomainName> for String {
    fn from(name: DomainName) -> String {
        name.0
    }
}

impl std::borrow::Borrow<str> for DomainName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for DomainName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for DomainName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for DomainName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> String {
        DomainName::parse(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .to_string()
    }

    #[test]
    fn rfc4343_names_are_lower_cased_and_lose_the_trailing_dot() {
        assert_eq!(ok("Example.COM."), "example.com");
        assert_eq!(ok("_dmarc.Example.com"), "_dmarc.example.com");
        assert_eq!(ok("xn--bcher-kva.example"), "xn--bcher-kva.example");
    }

    #[test]
    fn rfc5891_u_labels_become_a_labels() {
        assert_eq!(ok("Bücher.example"), "xn--bcher-kva.example");
    }

    #[test]
    fn rfc1035_2_3_4_label_and_name_lengths() {
        let label63 = "a".repeat(63);
        assert_eq!(ok(&format!("{label63}.example")).len(), 71);
        assert!(matches!(
            DomainName::parse(&format!("{label63}a.example")),
            Err(NameError::LabelTooLong { .. })
        ));
        let long = vec!["abcdefghi"; 26].join(".");
        assert_eq!(long.len(), 259);
        assert!(matches!(
            DomainName::parse(&long),
            Err(NameError::TooLong { .. })
        ));
        let just = format!("{}.com", vec!["a".repeat(61); 4].join("."));
        assert_eq!(just.len(), 251);
        assert_eq!(ok(&just).len(), 251);
    }

    #[test]
    fn paths_nul_bytes_and_empty_labels_are_not_names() {
        for bad in [
            "../..", "a..b", ".a.com", "a/b.com", "a\0b.com", "a b.com", "", ".", "-a.com",
            "a-.com",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            DomainName::parse("192.0.2.1"),
            Err(NameError::NumericTld(_))
        ));
        let error = DomainName::parse("a\0b.com").unwrap_err().to_string();
        assert!(error.contains("\\0") || error.contains("\\u{0}"), "{error}");
    }

    #[test]
    fn within_compares_whole_labels() {
        let parent = DomainName::parse("example.com").unwrap();
        assert!(
            DomainName::parse("a.example.com")
                .unwrap()
                .is_within(&parent)
        );
        assert!(parent.is_within(&parent));
        assert!(
            !DomainName::parse("badexample.com")
                .unwrap()
                .is_within(&parent)
        );
        assert_eq!(parent.parent().unwrap(), "com");
        assert_eq!(parent.child("_dmarc").unwrap(), "_dmarc.example.com");
    }
}
