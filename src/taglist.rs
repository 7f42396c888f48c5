//! The tag-list grammar of RFC 6376 §3.2, shared by DKIM-Signature fields, DKIM key records and
//! DMARC records (RFC 7489 §6.4 reuses it).
//!
//! This module only splits `name=value; ...` into [`Tag`]s and enforces what the grammar itself
//! says (tag-name and tag-value characters, no duplicate names). What a tag *means*, and which
//! tags are required, belongs to each caller, which also wraps [`TagListError`] in its own error
//! type so messages keep naming the record being parsed.

use crate::message::excerpt;

/// The most tags accepted in one list; real signatures have about a dozen.
pub const MAX_TAGS: usize = 64;

/// One `name=value` pair with the value's internal folding whitespace kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The tag name.
    pub name: &'a str,
    /// The value with leading and trailing whitespace removed.
    pub value: &'a str,
}

/// Why a tag list does not follow RFC 6376 §3.2. The text (used by callers as the reason after
/// their record's name) quotes a short excerpt of the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagListError {
    /// The list is not valid UTF-8 (so certainly not ASCII) from byte `at` on.
    #[error("byte {at} is not ASCII: {excerpt}")]
    NotAscii {
        /// Offset of the first bad byte.
        at: usize,
        /// The input from that byte, shortened.
        excerpt: String,
    },
    /// A non-empty list element without `=`.
    #[error("{0:?} is not a name=value tag")]
    NotATag(String),
    /// A tag name that is not `ALPHA *ALNUMPUNC`.
    #[error("{0:?} is not a valid tag name")]
    BadName(String),
    /// A tag value holding a byte outside VALCHAR and folding whitespace.
    #[error("tag {name}= has a forbidden byte at offset {offset}: {excerpt:?}")]
    ForbiddenByte {
        /// The tag.
        name: String,
        /// Offset of the byte within the value.
        offset: usize,
        /// The value from that byte, shortened.
        excerpt: String,
    },
    /// The same tag name twice (RFC 6376 §3.2: "MUST be interpreted as a syntax error").
    #[error("tag {0}= appears twice")]
    Duplicate(String),
    /// More than [`MAX_TAGS`] tags: hostile input, not a real record.
    #[error("more than {MAX_TAGS} tags")]
    TooMany,
}

/// Split a tag list into tags. Empty elements (`a=1;;b=2`, a trailing `;`) are allowed.
pub fn parse(text: &[u8]) -> Result<Vec<Tag<'_>>, TagListError> {
    parse_utf8_in(text, &[])
}

/// [`parse`], with UTF-8 allowed in the values of the tags named in `utf8_tags` (RFC 8616 §4:
/// internationalized domain names in a DKIM-Signature's `d=`); every other value stays ASCII.
pub fn parse_utf8_in<'a>(text: &'a [u8], utf8_tags: &[&str]) -> Result<Vec<Tag<'a>>, TagListError> {
    let text = std::str::from_utf8(text).map_err(|e| {
        let at = e.valid_up_to();
        TagListError::NotAscii {
            at,
            excerpt: excerpt(&text[at..]),
        }
    })?;
    let mut tags: Vec<Tag<'_>> = Vec::new();
    for element in text.split(';') {
        if element.trim_matches(is_fws).is_empty() {
            continue;
        }
        let tag = tag(element, utf8_tags)?;
        if tags.iter().any(|t| t.name == tag.name) {
            return Err(TagListError::Duplicate(tag.name.to_owned()));
        }
        if tags.len() == MAX_TAGS {
            return Err(TagListError::TooMany);
        }
        tags.push(tag);
    }
    Ok(tags)
}

/// One non-empty list element.
fn tag<'a>(element: &'a str, utf8_tags: &[&str]) -> Result<Tag<'a>, TagListError> {
    let (name, value) = element
        .split_once('=')
        .ok_or_else(|| TagListError::NotATag(shorten(element)))?;
    let name = name.trim_matches(is_fws);
    let value = value.trim_matches(is_fws);
    check_name(name)?;
    check_value(name, value, utf8_tags.contains(&name))?;
    Ok(Tag { name, value })
}

/// Look a tag up by name.
pub fn find<'a>(tags: &[Tag<'a>], name: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.name == name).map(|t| t.value)
}

/// Folding whitespace as it may appear inside a tag list.
pub fn is_fws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Remove all folding whitespace (for base64 and colon-separated lists).
pub fn strip_fws(value: &str) -> String {
    value.chars().filter(|c| !is_fws(*c)).collect()
}

fn shorten(text: &str) -> String {
    excerpt(text.trim_matches(is_fws).as_bytes())
}

/// tag-name = ALPHA *ALNUMPUNC (RFC 6376 §3.2)
fn check_name(name: &str) -> Result<(), TagListError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(TagListError::BadName(shorten(name)))
    }
}

/// tag-value = [ tval *( 1*(WSP / FWS) tval ) ], tval = 1*VALCHAR (%x21-3A / %x3C-7E)
fn check_value(name: &str, value: &str, utf8: bool) -> Result<(), TagListError> {
    match value
        .bytes()
        .position(|b| !(b.is_ascii_graphic() || is_fws(char::from(b)) || (utf8 && !b.is_ascii())))
    {
        None => Ok(()),
        Some(offset) => Err(TagListError::ForbiddenByte {
            name: name.to_owned(),
            offset,
            excerpt: shorten(&value[offset..]),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6376_3_2_tag_list_whitespace_and_trailing_semicolon() {
        let tags = parse(b" a = 1 ;\r\n\tb=x y ; ").unwrap();
        assert_eq!(
            tags,
            vec![
                Tag {
                    name: "a",
                    value: "1"
                },
                Tag {
                    name: "b",
                    value: "x y"
                }
            ]
        );
    }

    #[test]
    fn rfc6376_3_2_duplicate_tag_is_an_error() {
        assert_eq!(parse(b"a=1; a=2"), Err(TagListError::Duplicate("a".into())));
    }

    #[test]
    fn rfc6376_3_2_tag_name_starts_with_a_letter() {
        assert!(matches!(parse(b"1a=x"), Err(TagListError::BadName(_))));
        assert!(matches!(parse(b"novalue"), Err(TagListError::NotATag(_))));
    }

    proptest::proptest! {
        /// Joining distinct `name=value` pairs with `;` and parsing gives the pairs back.
        #[test]
        fn rfc6376_3_2_join_then_parse_is_identity(
            pairs in proptest::collection::btree_map("[a-z][a-z0-9_]{0,5}", "([!-:<-~]{1,8}( [!-:<-~]{1,4})?)?", 0..10)
        ) {
            let text: String = pairs.iter().map(|(n, v)| format!("{n}={v}; ")).collect();
            let tags = parse(text.as_bytes()).unwrap();
            let back: Vec<(&str, &str)> = tags.iter().map(|t| (t.name, t.value)).collect();
            let want: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            proptest::prop_assert_eq!(back, want);
        }

        /// Hostile input gives tags or an error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
        }
    }

    #[test]
    fn too_many_tags_are_refused() {
        let text: String = (0..=MAX_TAGS).map(|i| format!("t{i}=x;")).collect();
        assert_eq!(parse(text.as_bytes()), Err(TagListError::TooMany));
    }
}
