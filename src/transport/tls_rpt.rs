//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record that says where sending servers
//! send their TLS reports.
//!
//! Only the record: parsing, building and checking it. Receiving and reading the reports
//! themselves is not this module's job.

use crate::dns::Resolver;
use crate::report::{Finding, Severity};

/// The finding codes this module reports.
pub const CODES: &[&str] = &[
    "tls_rpt.none",
    "tls_rpt.syntax",
    "tls_rpt.multiple",
    "tls_rpt.bad_uri",
];

/// A parsed `_smtp._tls` TXT record (RFC 8460 §3). Extension fields are checked against the
/// grammar and then dropped: no extension is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The report destinations, `mailto:` or `https:` URIs, in order.
    pub rua: Vec<String>,
}

/// Why a `_smtp._tls` TXT record is not valid (RFC 8460 §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsRptError {
    /// The record does not start with `v=TLSRPTv1`.
    #[error("the record must start with \"v=TLSRPTv1\" (RFC 8460 §3), found {0:?}")]
    Version(String),
    /// No `rua=` field.
    #[error("the record has no rua= field (RFC 8460 §3)")]
    MissingRua,
    /// A `rua` URI that is not `mailto:` or `https:`, or is malformed.
    #[error("rua URI {0:?} is not a mailto: address or an https: URL (RFC 8460 §3)")]
    BadUri(String),
    /// A field that is not `name=value`.
    #[error("field {0:?} is not a valid name=value field (RFC 8460 §3)")]
    BadField(String),
    /// The same field twice.
    #[error("field {0}= appears twice")]
    Duplicate(String),
}

/// Parse a `_smtp._tls` TXT record (the strings of one TXT record, concatenated).
pub fn parse_record(txt: &str) -> Result<TlsRptRecord, TlsRptError> {
    let mut fields = txt.split(';').map(|f| f.trim_matches([' ', '\t']));
    let first = fields.next().unwrap_or_default();
    if first != "v=TLSRPTv1" {
        return Err(TlsRptError::Version(excerpt(first)));
    }
    let mut rest: Vec<&str> = fields.collect();
    if rest.last().is_some_and(|f| f.is_empty()) {
        rest.pop();
    }
    let mut rua = None;
    let mut seen: Vec<&str> = Vec::new();
    for field in rest {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| TlsRptError::BadField(excerpt(field)))?;
        if seen.contains(&name) || name == "v" {
            return Err(TlsRptError::Duplicate(name.to_string()));
        }
        seen.push(name);
        if name == "rua" {
            rua = Some(parse_rua(value)?);
        } else if !valid_extension(name, value) {
            return Err(TlsRptError::BadField(excerpt(field)));
        }
    }
    Ok(TlsRptRecord {
        rua: rua.ok_or(TlsRptError::MissingRua)?,
    })
}

/// `rua=URI *("," URI)`, whitespace allowed around commas.
fn parse_rua(value: &str) -> Result<Vec<String>, TlsRptError> {
    value
        .split(',')
        .map(|uri| {
            let uri = uri.trim_matches([' ', '\t']);
            if valid_uri(uri) {
                Ok(uri.to_string())
            } else {
                Err(TlsRptError::BadUri(excerpt(uri)))
            }
        })
        .collect()
}

/// Whether `uri` is a usable report destination: `mailto:` with one `local@domain`, or `https://`
/// with a host. Commas, semicolons and `!` must be percent-encoded inside a record (RFC 8460 §3).
pub fn valid_uri(uri: &str) -> bool {
    if uri
        .bytes()
        .any(|b| !(0x21..=0x7e).contains(&b) || b == b';' || b == b',' || b == b'!')
    {
        return false;
    }
    if let Some(address) = strip_prefix_ignore_case(uri, "mailto:") {
        let address = address.split('?').next().unwrap_or_default();
        return match address.rsplit_once('@') {
            Some((local, domain)) => !local.is_empty() && valid_host(domain),
            None => false,
        };
    }
    if let Some(rest) = strip_prefix_ignore_case(uri, "https://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host.rsplit_once(':') {
            Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        return valid_host(host);
    }
    false
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// A host name or bracketed IP literal with at least one character per label.
fn valid_host(host: &str) -> bool {
    if host.starts_with('[') && host.ends_with(']') {
        return host.len() > 2;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// An extension field: name `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`, value
/// printable ASCII without `;`, `=` or space (RFC 8460 §3).
fn valid_extension(name: &str, value: &str) -> bool {
    let n = name.as_bytes();
    !n.is_empty()
        && n.len() <= 32
        && n[0].is_ascii_alphanumeric()
        && n.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !value.is_empty()
        && value
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b';' && b != b'=')
}

/// Build the `_smtp._tls` TXT value: `v=TLSRPTv1; rua=URI,URI`. Every URI must be `mailto:` or
/// `https:` and valid; at least one is required.
pub fn build_record(rua: &[String]) -> Result<String, TlsRptError> {
    if rua.is_empty() {
        return Err(TlsRptError::MissingRua);
    }
    if let Some(bad) = rua.iter().find(|uri| !valid_uri(uri)) {
        return Err(TlsRptError::BadUri(excerpt(bad)));
    }
    Ok(format!("v=TLSRPTv1; rua={}", rua.join(",")))
}

/// What `check` reports about `_smtp._tls.DOMAIN` (RFC 8460 §3). A missing record is
/// `tls_rpt.none`, a warning that `check` keeps only where MTA-STS or DANE is published, since
/// reports are what make their failures visible. The bool is true when a DNS
/// lookup failed temporarily.
pub async fn findings(resolver: &dyn Resolver, domain: &str) -> (Vec<Finding>, bool) {
    let name = format!("_smtp._tls.{domain}");
    let record = format!("{name} TXT");
    let records = match resolver.txt(&name).await {
        Ok(records) => records,
        Err(e) if e.is_temporary() => {
            return (
                vec![crate::spf::lint::dns_finding(&record, &e.to_string())],
                true,
            );
        }
        Err(_) => return (vec![none(&record, domain)], false),
    };
    let texts: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.joined()).into_owned())
        .collect();
    let ours: Vec<&String> = texts
        .iter()
        .filter(|t| t.starts_with("v=TLSRPTv1"))
        .collect();
    let finding = match ours.as_slice() {
        [] if texts.is_empty() => none(&record, domain),
        [] => syntax(&record, &texts[0], "no record starts with \"v=TLSRPTv1\""),
        [one] => match parse_record(one) {
            Ok(_) => return (Vec::new(), false),
            Err(TlsRptError::BadUri(uri)) => Finding::new(
                "tls_rpt.bad_uri",
                Severity::Error,
                &record,
                format!("rua URI {uri:?} is not a mailto: address or an https: URL; reports cannot be sent there"),
                "RFC 8460 §3",
            )
            .seen(excerpt(one))
            .fix("use rua=mailto:ADDRESS or rua=https://HOST/PATH, comma-separated"),
            Err(e) => syntax(&record, one, &e.to_string()),
        },
        many => Finding::new(
            "tls_rpt.multiple",
            Severity::Error,
            &record,
            format!(
                "{} TXT records start with \"v=TLSRPTv1\": senders then send no reports",
                many.len()
            ),
            "RFC 8460 §3",
        )
        .fix("keep exactly one \"v=TLSRPTv1; rua=...\" record, with every URI in its rua"),
    };
    (vec![finding], false)
}

fn none(record: &str, domain: &str) -> Finding {
    Finding::new(
        "tls_rpt.none",
        Severity::Warning,
        record,
        "no TLS-RPT record: sending servers cannot report TLS failures (MTA-STS or DANE) to the domain",
        "RFC 8460 §3",
    )
    .fix(format!(
        "publish _smtp._tls.{domain}. TXT \"v=TLSRPTv1; rua=mailto:tls-reports@{domain}\" (mailauth record tls-rpt)"
    ))
}

fn syntax(record: &str, text: &str, why: &str) -> Finding {
    Finding::new(
        "tls_rpt.syntax",
        Severity::Error,
        record,
        format!("the TLS-RPT record is invalid ({why}); senders send no reports"),
        "RFC 8460 §3",
    )
    .seen(excerpt(text))
    .fix("publish \"v=TLSRPTv1; rua=mailto:ADDRESS\" (mailauth record tls-rpt)")
}

fn excerpt(text: &str) -> String {
    crate::message::excerpt(text.as_bytes())
}
