//! MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file, its HTTPS fetch, and which MX
//! hosts a policy covers.
//!
//! Parsing and building are pure functions over text; the fetch goes through
//! [`crate::transport::https`] and resolves `mta-sts.DOMAIN` through the caller's
//! [`crate::dns::Resolver`], never the system resolver. This module does not cache policies the
//! way a sending MTA does (RFC 8461 §5): a checker wants what is served now.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::dns::{DnsError, Resolver};
use crate::report::{Finding, Severity};
use crate::transport::https::{self, HttpsError};

/// The finding codes this module reports.
pub const CODES: &[&str] = &[
    "mta_sts.record_syntax",
    "mta_sts.multiple_records",
    "mta_sts.record_without_policy",
    "mta_sts.policy_redirect",
    "mta_sts.policy_status",
    "mta_sts.policy_content_type",
    "mta_sts.policy_too_large",
    "mta_sts.policy_cert",
    "mta_sts.policy_syntax",
    "mta_sts.max_age_range",
    "mta_sts.mx_not_covered",
    "mta_sts.testing",
    "mta_sts.none_mode",
    "mta_sts.short_max_age",
    "mta_sts.policy_without_record",
    "mta_sts.mx_cert",
    "mta_sts.mx_no_starttls",
];

/// The most bytes of a policy body a client reads (RFC 8461 §3.3: 64 KiB).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// The path of the policy file on `mta-sts.DOMAIN` (RFC 8461 §3.2).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// A `max_age` below this (one day) is reported (`mta_sts.short_max_age`): senders would refetch
/// often and an attacker who blocks the fetch gets the policy dropped soon (RFC 8461 §3.2 advises
/// weeks or more).
pub const SHORT_MAX_AGE: u64 = 86_400;

/// The largest `max_age` a policy may carry: about one year (RFC 8461 §3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// The most bytes of an `id` (RFC 8461 §3.1: `1*32(ALPHA / DIGIT)`).
pub const MAX_ID_LEN: usize = 32;

/// A parsed `_mta-sts` TXT record (RFC 8461 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRecord {
    /// The policy id: 1–32 letters and digits; changes whenever the policy changes.
    pub id: String,
    /// Extension fields (`name=value`), kept in order.
    pub extensions: Vec<(String, String)>,
}

/// Why a `_mta-sts` TXT record is not valid (RFC 8461 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    /// The record does not start with `v=STSv1` (case-sensitive, first field).
    #[error("the record must start with \"v=STSv1\" (RFC 8461 §3.1), found {0:?}")]
    Version(String),
    /// No `id=` field.
    #[error("the record has no id= field (RFC 8461 §3.1)")]
    MissingId,
    /// An `id` that is not 1–32 letters and digits.
    #[error("id={0:?} is not 1 to 32 letters and digits (RFC 8461 §3.1)")]
    BadId(String),
    /// A field that is not `name=value` with a valid name and value.
    #[error("field {0:?} is not a valid name=value field (RFC 8461 §3.1)")]
    BadField(String),
    /// The same field name twice.
    #[error("field {0}= appears twice")]
    Duplicate(String),
}

/// Parse a `_mta-sts` TXT record (the strings of one TXT record, concatenated).
pub fn parse_record(txt: &str) -> Result<StsRecord, StsError> {
    let mut fields = txt.split(';').map(|f| f.trim_matches([' ', '\t']));
    let first = fields.next().unwrap_or_default();
    if first != "v=STSv1" {
        return Err(StsError::Version(excerpt(first)));
    }
    let mut id = None;
    let mut extensions: Vec<(String, String)> = Vec::new();
    let mut rest: Vec<&str> = fields.collect();
    // One trailing separator is allowed: `v=STSv1; id=1;`.
    if rest.last().is_some_and(|f| f.is_empty()) {
        rest.pop();
    }
    for field in rest {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| StsError::BadField(excerpt(field)))?;
        if name == "id" {
            if id.is_some() {
                return Err(StsError::Duplicate(name.to_string()));
            }
            if !valid_id(value) {
                return Err(StsError::BadId(excerpt(value)));
            }
            id = Some(value.to_string());
        } else if valid_extension_name(name, 32) && valid_record_ext_value(value) {
            if name == "v" || extensions.iter().any(|(n, _)| n == name) {
                return Err(StsError::Duplicate(name.to_string()));
            }
            extensions.push((name.to_string(), value.to_string()));
        } else {
            return Err(StsError::BadField(excerpt(field)));
        }
    }
    let id = id.ok_or(StsError::MissingId)?;
    Ok(StsRecord { id, extensions })
}

/// Build the `_mta-sts` TXT value for `id`: `v=STSv1; id=ID`.
pub fn build_record(id: &str) -> String {
    format!("v=STSv1; id={id}")
}

/// Whether `id` is 1–32 ASCII letters and digits (RFC 8461 §3.1).
pub fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `(ALPHA / DIGIT) *(ALPHA / DIGIT / "_" / "-" / ".")`, at most `max` bytes.
fn valid_extension_name(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A record extension value: printable ASCII except `;`, `=` and space (RFC 8461 §3.1).
fn valid_record_ext_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b';' && b != b'=')
}

/// The policy mode (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Mode {
    /// Senders must not deliver to an MX that fails validation.
    Enforce,
    /// Senders deliver anyway and report failures (TLS-RPT).
    Testing,
    /// No policy in force; used to withdraw one.
    None,
}

impl Mode {
    /// The keyword as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }

    fn parse(value: &str) -> Option<Mode> {
        match value {
            "enforce" => Some(Mode::Enforce),
            "testing" => Some(Mode::Testing),
            "none" => Some(Mode::None),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed MTA-STS policy file (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The mode.
    pub mode: Mode,
    /// MX host patterns: names, or `*.` and a name (one leftmost label, §4.1).
    pub mx: Vec<String>,
    /// Seconds a sender may cache the policy, `0..=31557600`.
    pub max_age: u64,
    /// Extension keys and values, kept in order.
    pub extensions: Vec<(String, String)>,
}

/// Why a policy file is not valid (RFC 8461 §3.2). `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A line that is not `key: value`.
    #[error("line {line}: {text:?} is not a \"key: value\" line (RFC 8461 §3.2)")]
    NotKeyValue {
        /// The line number.
        line: usize,
        /// The line, shortened.
        text: String,
    },
    /// The policy has no `version` key.
    #[error("no \"version: STSv1\" line (RFC 8461 §3.2)")]
    MissingVersion,
    /// `version` is not `STSv1`.
    #[error("line {line}: version is {value:?}, must be \"STSv1\" (RFC 8461 §3.2)")]
    BadVersion {
        /// The line number.
        line: usize,
        /// The value found.
        value: String,
    },
    /// No `mode` key.
    #[error("no \"mode:\" line (RFC 8461 §3.2)")]
    MissingMode,
    /// `mode` is not `enforce`, `testing` or `none`.
    #[error("line {line}: mode {value:?} is not enforce, testing or none (RFC 8461 §3.2)")]
    BadMode {
        /// The line number.
        line: usize,
        /// The value found.
        value: String,
    },
    /// No `max_age` key.
    #[error("no \"max_age:\" line (RFC 8461 §3.2)")]
    MissingMaxAge,
    /// `max_age` is not a number of at most 10 digits.
    #[error("line {line}: max_age {value:?} is not a number of seconds (RFC 8461 §3.2)")]
    BadMaxAge {
        /// The line number.
        line: usize,
        /// The value found.
        value: String,
    },
    /// `max_age` above 31557600 (about a year).
    #[error("line {line}: max_age {value} is above the limit of 31557600 seconds (RFC 8461 §3.2)")]
    MaxAgeRange {
        /// The line number.
        line: usize,
        /// The value found.
        value: u64,
    },
    /// An `mx` value that is not a host name or `*.` and a host name.
    #[error(
        "line {line}: mx {value:?} is not a host name or \"*.\" and a host name (RFC 8461 §3.2)"
    )]
    BadMx {
        /// The line number.
        line: usize,
        /// The value found.
        value: String,
    },
    /// No `mx` key although the mode is not `none`.
    #[error("no \"mx:\" line, required unless mode is none (RFC 8461 §3.2)")]
    MissingMx,
    /// A key other than `mx` given twice.
    #[error("line {line}: key {key:?} appears a second time (RFC 8461 §3.2)")]
    DuplicateKey {
        /// The line number of the repeat.
        line: usize,
        /// The key.
        key: String,
    },
    /// An unknown key one typo away from a known one, e.g. `nmx` or `Mode`.
    #[error("line {line}: key {key:?} looks like a typo for {meant:?} (RFC 8461 §3.2)")]
    KeyTypo {
        /// The line number.
        line: usize,
        /// The key found.
        key: String,
        /// The key probably meant.
        meant: &'static str,
    },
    /// An extension key or value outside the grammar.
    #[error("line {line}: {text:?} is not a valid extension line (RFC 8461 §3.2)")]
    BadExtension {
        /// The line number.
        line: usize,
        /// The line, shortened.
        text: String,
    },
}

impl PolicyError {
    /// The line the error is on, when it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyError::NotKeyValue { line, .. }
            | PolicyError::BadVersion { line, .. }
            | PolicyError::BadMode { line, .. }
            | PolicyError::BadMaxAge { line, .. }
            | PolicyError::MaxAgeRange { line, .. }
            | PolicyError::BadMx { line, .. }
            | PolicyError::DuplicateKey { line, .. }
            | PolicyError::KeyTypo { line, .. }
            | PolicyError::BadExtension { line, .. } => Some(*line),
            PolicyError::MissingVersion
            | PolicyError::MissingMode
            | PolicyError::MissingMaxAge
            | PolicyError::MissingMx => None,
        }
    }
}

/// The keys RFC 8461 §3.2 defines.
const KNOWN_KEYS: [&str; 4] = ["version", "mode", "max_age", "mx"];

/// Fields collected while reading a policy, before the required ones are checked.
#[derive(Default)]
struct PolicyFields {
    version: bool,
    mode: Option<Mode>,
    max_age: Option<u64>,
    mx: Vec<String>,
    extensions: Vec<(String, String)>,
}

/// Parse a policy file. Lines end in LF or CRLF; the last line may lack one. Empty lines are
/// skipped. Unknown keys are kept as extensions, except near misses of the defined keys.
pub fn parse_policy(text: &str) -> Result<Policy, PolicyError> {
    let mut fields = PolicyFields::default();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        let Some((key, value)) = raw.split_once(':') else {
            return Err(PolicyError::NotKeyValue {
                line,
                text: excerpt(raw),
            });
        };
        let value = value.trim_matches([' ', '\t']);
        policy_line(&mut fields, line, key, value, raw)?;
    }
    if !fields.version {
        return Err(PolicyError::MissingVersion);
    }
    let mode = fields.mode.ok_or(PolicyError::MissingMode)?;
    let max_age = fields.max_age.ok_or(PolicyError::MissingMaxAge)?;
    if fields.mx.is_empty() && mode != Mode::None {
        return Err(PolicyError::MissingMx);
    }
    Ok(Policy {
        mode,
        mx: fields.mx,
        max_age,
        extensions: fields.extensions,
    })
}

/// Apply one `key: value` line.
fn policy_line(
    fields: &mut PolicyFields,
    line: usize,
    key: &str,
    value: &str,
    raw: &str,
) -> Result<(), PolicyError> {
    let duplicate = |seen: bool| {
        if seen {
            Err(PolicyError::DuplicateKey {
                line,
                key: key.to_string(),
            })
        } else {
            Ok(())
        }
    };
    match key {
        "version" => {
            duplicate(fields.version)?;
            if value != "STSv1" {
                return Err(PolicyError::BadVersion {
                    line,
                    value: excerpt(value),
                });
            }
            fields.version = true;
        }
        "mode" => {
            duplicate(fields.mode.is_some())?;
            fields.mode = Some(Mode::parse(value).ok_or_else(|| PolicyError::BadMode {
                line,
                value: excerpt(value),
            })?);
        }
        "max_age" => {
            duplicate(fields.max_age.is_some())?;
            fields.max_age = Some(parse_max_age(line, value)?);
        }
        "mx" => {
            if !valid_mx_pattern(value) {
                return Err(PolicyError::BadMx {
                    line,
                    value: excerpt(value),
                });
            }
            fields.mx.push(value.to_string());
        }
        _ => {
            if let Some(meant) = near_miss(key) {
                return Err(PolicyError::KeyTypo {
                    line,
                    key: excerpt(key),
                    meant,
                });
            }
            if !valid_extension_name(key, 32) || !valid_policy_ext_value(value) {
                return Err(PolicyError::BadExtension {
                    line,
                    text: excerpt(raw),
                });
            }
            duplicate(fields.extensions.iter().any(|(k, _)| k == key))?;
            fields.extensions.push((key.to_string(), value.to_string()));
        }
    }
    Ok(())
}

/// `max_age`: `1*10DIGIT`, at most [`MAX_AGE_LIMIT`].
fn parse_max_age(line: usize, value: &str) -> Result<u64, PolicyError> {
    let bad = || PolicyError::BadMaxAge {
        line,
        value: excerpt(value),
    };
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds: u64 = value.parse().map_err(|_| bad())?;
    if seconds > MAX_AGE_LIMIT {
        return Err(PolicyError::MaxAgeRange {
            line,
            value: seconds,
        });
    }
    Ok(seconds)
}

/// A policy extension value: printable ASCII and spaces, not starting or ending with space.
fn valid_policy_ext_value(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The defined key an unknown key was probably meant to be: a case or `-`/`_` variant, or one
/// edit away (`nmx`, `mod`, `max_ag`, `verison`).
fn near_miss(key: &str) -> Option<&'static str> {
    let folded = key.trim().to_ascii_lowercase().replace('-', "_");
    KNOWN_KEYS
        .into_iter()
        .find(|known| folded == **known || within_one_edit(&folded, known))
}

/// Whether `a` becomes `b` by one insertion, deletion, substitution or adjacent swap.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if ra.is_empty() && rb.is_empty() {
        return true;
    }
    let same_len = ra.len() == rb.len();
    let substitution = same_len && ra.get(1..) == rb.get(1..);
    let indel = ra.get(1..) == Some(rb) || Some(ra) == rb.get(1..);
    let swap = same_len && ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..];
    substitution || indel || swap
}

/// Whether `value` is a host name or `*.` and a host name (RFC 8461 §3.2 `sts-policy-mx-value`).
pub fn valid_mx_pattern(value: &str) -> bool {
    let name = value.strip_prefix("*.").unwrap_or(value);
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Build a policy file: `version: STSv1` first, then mode, one `mx` line per pattern, max_age and
/// the extensions, each line ending in CRLF (RFC 8461 §3.2).
pub fn build_policy(policy: &Policy) -> String {
    let mut out = String::from("version: STSv1\r\n");
    out.push_str(&format!("mode: {}\r\n", policy.mode));
    for mx in &policy.mx {
        out.push_str(&format!("mx: {mx}\r\n"));
    }
    out.push_str(&format!("max_age: {}\r\n", policy.max_age));
    for (key, value) in &policy.extensions {
        out.push_str(&format!("{key}: {value}\r\n"));
    }
    out
}

/// The `id` for a policy text: the previous id when the text is the one it was made for (so the
/// TXT record does not change, RFC 8461 §3.1), otherwise a new one made of the UTC time
/// (`YYYYMMDDhhmmss`) and the first 8 hex digits of the text's SHA-256: 22 letters and digits.
pub fn policy_id(policy_text: &str, previous: Option<(&str, &str)>, now: u64) -> String {
    if let Some((id, text)) = previous
        && text == policy_text
        && valid_id(id)
    {
        return id.to_string();
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, policy_text.as_bytes());
    let hash: String = digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stamp = i64::try_from(now)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_else(|| "99991231235959".to_string());
    format!("{stamp}{hash}")
}

/// How to fetch policies.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Roots trusted besides webpki-roots (`--ca`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The HTTPS port: 443, other values for private deployments and tests.
    pub port: u16,
    /// Limit for the whole fetch.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            extra_roots: Vec::new(),
            port: 443,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A policy file served with status 200 and `text/plain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPolicy {
    /// The body.
    pub text: String,
    /// The body parsed.
    pub policy: Result<Policy, PolicyError>,
    /// The `Content-Type` header as served.
    pub content_type: String,
}

/// Why no policy could be fetched (RFC 8461 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// `mta-sts.DOMAIN` has no address.
    #[error("{host} has no address: {error}")]
    Resolve {
        /// The policy host.
        host: String,
        /// The last lookup's error.
        error: DnsError,
    },
    /// Connect, TLS, certificate, timeout, framing or size failure.
    #[error(transparent)]
    Https(#[from] HttpsError),
    /// A 3xx answer: redirects must not be followed (RFC 8461 §3.3).
    #[error("the server answered {status} (a redirect{}), which senders do not follow (RFC 8461 §3.3)", .location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default())]
    Redirect {
        /// The status.
        status: u16,
        /// The `Location` header.
        location: Option<String>,
    },
    /// A status other than 200.
    #[error("the server answered {status}, not 200 (RFC 8461 §3.3)")]
    Status {
        /// The status.
        status: u16,
    },
    /// The media type is not `text/plain` (RFC 8461 §3.2).
    #[error("the policy is served as {content_type:?}, not text/plain (RFC 8461 §3.2)")]
    ContentType {
        /// The `Content-Type` header, or "" when missing.
        content_type: String,
    },
    /// The body is not UTF-8 text.
    #[error("the policy body is not text")]
    NotText,
}

impl FetchError {
    /// Whether retrying later may succeed (a temporary DNS failure).
    pub fn is_temporary(&self) -> bool {
        matches!(self, FetchError::Resolve { error, .. } if error.is_temporary())
    }
}

/// Fetch `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (RFC 8461 §3.3): the host resolved
/// through `resolver` (A, then AAAA), a WebPKI-verified certificate for that host name, no
/// redirects, status 200, `text/plain`, at most 64 KiB.
pub async fn fetch_policy(
    domain: &str,
    resolver: &dyn Resolver,
    opts: &FetchOptions,
    now: i64,
) -> Result<FetchedPolicy, FetchError> {
    let host = format!("mta-sts.{}", domain.trim_end_matches('.'));
    let addresses = addresses(resolver, &host).await?;
    let request = https::Request {
        host: &host,
        addresses: &addresses,
        port: opts.port,
        path: POLICY_PATH,
        extra_roots: &opts.extra_roots,
        timeout: opts.timeout,
        max_body: MAX_POLICY_BYTES,
        now,
    };
    let response = https::get(&request).await?;
    match response.status {
        200 => {}
        300..=399 => {
            return Err(FetchError::Redirect {
                status: response.status,
                location: response.header("location").map(str::to_string),
            });
        }
        status => return Err(FetchError::Status { status }),
    }
    let content_type = response
        .header("content-type")
        .unwrap_or_default()
        .to_string();
    if !is_text_plain(&content_type) {
        return Err(FetchError::ContentType { content_type });
    }
    let text = String::from_utf8(response.body).map_err(|_| FetchError::NotText)?;
    Ok(FetchedPolicy {
        policy: parse_policy(&text),
        text,
        content_type,
    })
}

/// `text/plain`, with any parameters (`; charset=utf-8`), in any case.
fn is_text_plain(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/plain"))
}

/// The addresses of `host`: IPv4 first, then IPv6.
async fn addresses(resolver: &dyn Resolver, host: &str) -> Result<Vec<IpAddr>, FetchError> {
    let mut found: Vec<IpAddr> = Vec::new();
    let mut last_error = None;
    match resolver.a(host).await {
        Ok(v4) => found.extend(v4.into_iter().map(IpAddr::V4)),
        Err(e) => last_error = Some(e),
    }
    match resolver.aaaa(host).await {
        Ok(v6) => found.extend(v6.into_iter().map(IpAddr::V6)),
        Err(e) => {
            // A temporary failure on either family is the one worth reporting.
            if last_error.as_ref().is_none_or(|prev| !prev.is_temporary()) {
                last_error = Some(e);
            }
        }
    }
    if found.is_empty() {
        return Err(FetchError::Resolve {
            host: host.to_string(),
            error: last_error.unwrap_or(DnsError::NoData {
                name: host.to_string(),
                rtype: "A",
            }),
        });
    }
    Ok(found)
}

/// What `check` reports about a domain's MTA-STS: the `_mta-sts` record (RFC 8461 §3.1), the
/// policy fetch (§3.3), the policy (§3.2) and whether it covers every MX (§4.1). The bool is
/// true when a DNS lookup failed temporarily.
pub async fn findings(
    resolver: &dyn Resolver,
    domain: &str,
    opts: &FetchOptions,
    now: i64,
) -> (Vec<Finding>, bool) {
    let name = format!("_mta-sts.{domain}");
    let records = match resolver.txt(&name).await {
        Ok(records) => records,
        Err(e) if e.is_temporary() => {
            return (
                vec![crate::spf::lint::dns_finding(
                    &format!("{name} TXT"),
                    &e.to_string(),
                )],
                true,
            );
        }
        Err(_) => {
            return (
                policy_without_record(resolver, domain, opts, now).await,
                false,
            );
        }
    };
    let texts: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.joined()).into_owned())
        .collect();
    let sts: Vec<&String> = texts.iter().filter(|t| t.starts_with("v=STSv1")).collect();
    let record = format!("{name} TXT");
    match sts.as_slice() {
        [] if texts.is_empty() => (Vec::new(), false),
        [] => (vec![record_syntax(&record, &texts[0], "no record starts with \"v=STSv1\"")], false),
        [one] => match parse_record(one) {
            Ok(_) => policy_findings(resolver, domain, opts, now).await,
            Err(e) => (vec![record_syntax(&record, one, &e.to_string())], false),
        },
        many => (
            vec![
                Finding::new(
                    "mta_sts.multiple_records",
                    Severity::Error,
                    record,
                    format!(
                        "{} TXT records start with \"v=STSv1\": senders then treat the domain as having no MTA-STS policy",
                        many.len()
                    ),
                    "RFC 8461 §3.1",
                )
                .seen(many.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" | "))
                .fix("keep exactly one \"v=STSv1; id=...\" record"),
            ],
            false,
        ),
    }
}

fn record_syntax(record: &str, text: &str, why: &str) -> Finding {
    Finding::new(
        "mta_sts.record_syntax",
        Severity::Error,
        record,
        format!("the MTA-STS record is invalid ({why}); senders ignore the policy"),
        "RFC 8461 §3.1",
    )
    .seen(excerpt(text))
    .fix("publish \"v=STSv1; id=ID\" where ID is 1 to 32 letters and digits (mailauth record mta-sts)")
}

/// No `_mta-sts` record: if `mta-sts.DOMAIN` has an address and serves a policy, say that senders
/// will not look for it. Nothing is reported when the host does not exist.
async fn policy_without_record(
    resolver: &dyn Resolver,
    domain: &str,
    opts: &FetchOptions,
    now: i64,
) -> Vec<Finding> {
    let host = format!("mta-sts.{domain}");
    if addresses(resolver, &host).await.is_err() {
        return Vec::new();
    }
    match fetch_policy(domain, resolver, opts, now).await {
        Ok(_) => vec![
            Finding::new(
                "mta_sts.policy_without_record",
                Severity::Warning,
                format!("https://{host}{POLICY_PATH}"),
                "an MTA-STS policy is served but there is no _mta-sts TXT record, so senders never fetch it",
                "RFC 8461 §3.1",
            )
            .fix(format!("publish _mta-sts.{domain}. TXT \"v=STSv1; id=...\" (mailauth record mta-sts)")),
        ],
        Err(_) => Vec::new(),
    }
}

/// The record is valid: fetch the policy and check it.
async fn policy_findings(
    resolver: &dyn Resolver,
    domain: &str,
    opts: &FetchOptions,
    now: i64,
) -> (Vec<Finding>, bool) {
    let url = format!("https://mta-sts.{domain}{POLICY_PATH}");
    let fetched = match fetch_policy(domain, resolver, opts, now).await {
        Ok(fetched) => fetched,
        Err(e) => return (vec![fetch_finding(&url, &e)], e.is_temporary()),
    };
    let policy = match &fetched.policy {
        Ok(policy) => policy,
        Err(e) => return (vec![policy_error_finding(&url, e)], false),
    };
    let mut out = mode_findings(&url, policy);
    match resolver.mx(domain).await {
        Ok(mx) => out.extend(coverage_findings(&url, policy, &mx)),
        Err(e) if e.is_temporary() => {
            out.push(crate::spf::lint::dns_finding(
                &format!("{domain} MX"),
                &e.to_string(),
            ));
            return (out, true);
        }
        // No MX is the `mx.none` finding of the DNS part.
        Err(_) => {}
    }
    (out, false)
}

/// The finding for a failed fetch: a specific code for each fault a publisher can fix, and
/// `mta_sts.record_without_policy` for the rest (no address, no answer, broken TLS or HTTP).
pub fn fetch_finding(url: &str, error: &FetchError) -> Finding {
    let (code, fix) = match error {
        FetchError::Redirect { .. } => (
            "mta_sts.policy_redirect",
            "serve the policy directly at this URL with status 200; redirects are not followed",
        ),
        FetchError::Status { .. } => (
            "mta_sts.policy_status",
            "serve the policy file at this URL with status 200",
        ),
        FetchError::ContentType { .. } => (
            "mta_sts.policy_content_type",
            "serve the policy with Content-Type: text/plain",
        ),
        FetchError::Https(HttpsError::TooLarge { .. }) => (
            "mta_sts.policy_too_large",
            "keep the policy file under 64 KiB",
        ),
        FetchError::Https(HttpsError::Certificate { .. }) => (
            "mta_sts.policy_cert",
            "serve a certificate for the mta-sts host name from a trusted CA (WebPKI), not expired",
        ),
        _ => (
            "mta_sts.record_without_policy",
            "serve the policy at this URL over HTTPS, or remove the _mta-sts record",
        ),
    };
    let rfc = match error {
        FetchError::ContentType { .. } => "RFC 8461 §3.2",
        _ => "RFC 8461 §3.3",
    };
    Finding::new(
        code,
        Severity::Error,
        url,
        format!("the _mta-sts record is published but the policy cannot be fetched: {error}"),
        rfc,
    )
    .fix(fix)
}

/// The finding for a policy that does not parse.
pub fn policy_error_finding(url: &str, error: &PolicyError) -> Finding {
    let (code, fix) = match error {
        PolicyError::MaxAgeRange { .. } => (
            "mta_sts.max_age_range",
            "set max_age to at most 31557600 (about a year); 604800 (a week) or more is usual",
        ),
        _ => (
            "mta_sts.policy_syntax",
            "write the policy as \"version: STSv1\", \"mode: enforce|testing|none\", one \"mx:\" line per MX pattern and \"max_age: SECONDS\" (mailauth mta-sts policy)",
        ),
    };
    Finding::new(
        code,
        Severity::Error,
        url,
        format!("the MTA-STS policy is invalid, so senders ignore it: {error}"),
        "RFC 8461 §3.2",
    )
    .fix(fix)
}

fn mode_findings(url: &str, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    match policy.mode {
        Mode::Testing => out.push(
            Finding::new(
                "mta_sts.testing",
                Severity::Info,
                url,
                "the policy is in testing mode: senders report failures (TLS-RPT) but still deliver without TLS",
                "RFC 8461 §5",
            )
            .fix("once the TLS reports are clean, switch to \"mode: enforce\" and change the id"),
        ),
        Mode::None => out.push(Finding::new(
            "mta_sts.none_mode",
            Severity::Info,
            url,
            "the policy is in mode none: it withdraws MTA-STS for the domain",
            "RFC 8461 §5",
        )),
        Mode::Enforce => {}
    }
    if policy.mode != Mode::None && policy.max_age < SHORT_MAX_AGE {
        out.push(
            Finding::new(
                "mta_sts.short_max_age",
                Severity::Warning,
                url,
                format!(
                    "max_age is {}s, under a day: senders cache the policy only briefly, so a blocked fetch soon leaves them unprotected",
                    policy.max_age
                ),
                "RFC 8461 §3.2",
            )
            .fix("use max_age of a week (604800) or more once the policy is stable"),
        );
    }
    out
}

/// Every MX host must match a policy `mx` pattern (RFC 8461 §4.1), unless the mode is none.
fn coverage_findings(url: &str, policy: &Policy, mx: &[crate::dns::MxRecord]) -> Vec<Finding> {
    if policy.mode == Mode::None {
        return Vec::new();
    }
    let severity = match policy.mode {
        Mode::Enforce => Severity::Error,
        _ => Severity::Warning,
    };
    mx.iter()
        .filter(|m| !m.exchange.is_empty())
        .filter(|m| !policy.mx.iter().any(|p| mx_matches(p, &m.exchange)))
        .map(|m| {
            Finding::new(
                "mta_sts.mx_not_covered",
                severity,
                url,
                format!(
                    "MX host {} matches no mx pattern of the policy: senders that apply it will not deliver there",
                    m.exchange
                ),
                "RFC 8461 §4.1",
            )
            .seen(policy.mx.join(", "))
            .fix(format!("add \"mx: {}\" to the policy and change the id", m.exchange))
        })
        .collect()
}

/// With `--smtp`: what the probe of one MX address means for MTA-STS (RFC 8461 §4.2): a host the
/// policy covers (mode enforce or testing) must offer STARTTLS with a certificate valid for its
/// name and trusted. `starttls_offered` is whether EHLO listed STARTTLS; `certificate` is what the
/// probe examined, if a handshake completed. Nothing is reported for mode none or an uncovered
/// host (that is `mta_sts.mx_not_covered`).
pub fn mx_tls_findings(
    policy: &Policy,
    host: &str,
    target: &str,
    starttls_offered: bool,
    certificate: Option<&crate::smtp::cert::CertificateInfo>,
    now: i64,
) -> Vec<Finding> {
    if policy.mode == Mode::None || !policy.mx.iter().any(|p| mx_matches(p, host)) {
        return Vec::new();
    }
    let severity = match policy.mode {
        Mode::Enforce => Severity::Error,
        _ => Severity::Warning,
    };
    if !starttls_offered {
        return vec![
            Finding::new(
                "mta_sts.mx_no_starttls",
                severity,
                target,
                format!("{host} does not offer STARTTLS, so senders applying the MTA-STS policy cannot deliver to it"),
                "RFC 8461 §4.2",
            )
            .fix("enable STARTTLS on this server with a certificate for its MX name"),
        ];
    }
    let problem = match certificate {
        None => Some("the TLS handshake did not complete".to_string()),
        Some(info) => cert_problem(info, host, now),
    };
    problem
        .map(|why| {
            Finding::new(
                "mta_sts.mx_cert",
                severity,
                target,
                format!("{host}'s STARTTLS certificate would fail MTA-STS validation: {why}"),
                "RFC 8461 §4.2",
            )
            .fix(format!(
                "serve a certificate for {host} from a trusted CA (WebPKI), not expired"
            ))
        })
        .into_iter()
        .collect()
}

fn cert_problem(info: &crate::smtp::cert::CertificateInfo, host: &str, now: i64) -> Option<String> {
    if let Err(why) = &info.trusted {
        return Some(format!("not trusted: {why}"));
    }
    if !info.name_matches {
        return Some(format!(
            "not valid for {host} (names: {})",
            info.names.join(", ")
        ));
    }
    if info.not_after < now || info.not_before > now {
        return Some("expired or not yet valid".to_string());
    }
    None
}

/// Whether MX host `host` is covered by policy pattern `pattern` (RFC 8461 §4.1): an exact name,
/// or `*.` followed by a name, which matches exactly one extra leftmost label, no more, no fewer.
/// Comparison ignores ASCII case and a trailing dot.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = normalize(pattern);
    let host = normalize(host);
    if host.is_empty() || host.starts_with('.') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) if !suffix.is_empty() => match host.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == suffix,
            None => false,
        },
        Some(_) => false,
        None => !pattern.is_empty() && pattern == host,
    }
}

/// A short printable rendering of untrusted text for error messages.
fn excerpt(text: &str) -> String {
    crate::message::excerpt(text.as_bytes())
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_miss_catches_one_edit_typos() {
        assert_eq!(near_miss("nmx"), Some("mx"));
        assert_eq!(near_miss("Mode"), Some("mode"));
        assert_eq!(near_miss("max-age"), Some("max_age"));
        assert_eq!(near_miss("verison"), Some("version"));
        assert_eq!(near_miss("mod"), Some("mode"));
        assert_eq!(near_miss("report_uri"), None);
    }
}
