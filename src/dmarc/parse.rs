//! Parsing DMARC records (RFC 7489 §6.3, §6.4). The tag-list syntax is DKIM's (RFC 6376 §3.2).

use super::{AlignmentMode, DmarcRecord, DmarcSyntaxError, Policy, ReportUri};
use crate::taglist;

/// True when a TXT value is a DMARC record: it starts with `v=DMARC1` (RFC 7489 §6.6.3).
pub fn is_dmarc_record(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let Some(first) = text.split(';').next() else {
        return false;
    };
    match first.split_once('=') {
        Some((tag, version)) => tag.trim() == "v" && version.trim() == "DMARC1",
        None => false,
    }
}

/// Parse a record. A record without a valid `p=` is accepted only when it has a valid `rua=`
/// (then `policy` is `None` and receivers act as for `p=none`, RFC 7489 §6.6.3).
pub fn record(value: &[u8]) -> Result<DmarcRecord, DmarcSyntaxError> {
    let tags = taglist::parse(value)?;
    let Some(first) = tags.first() else {
        return Err(DmarcSyntaxError::Empty);
    };
    if first.name != "v" || first.value != "DMARC1" {
        return Err(DmarcSyntaxError::NotFirstVersion);
    }
    let mut record = DmarcRecord::new(Policy::None);
    record.policy = None;
    let mut bad_policy = None;
    for tag in &tags[1..] {
        let value = tag.value;
        match tag.name.to_ascii_lowercase().as_str() {
            "v" => return Err(DmarcSyntaxError::RepeatedVersion),
            "p" => match Policy::from_name(value) {
                Some(p) => record.policy = Some(p),
                None => bad_policy = Some(bad_policy_error("p", value)),
            },
            "sp" => {
                record.subdomain_policy =
                    Some(Policy::from_name(value).ok_or_else(|| bad_policy_error("sp", value))?)
            }
            "adkim" => record.adkim = Some(alignment("adkim", value)?),
            "aspf" => record.aspf = Some(alignment("aspf", value)?),
            "pct" => {
                record.pct = Some(
                    value
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p <= 100 && !value.starts_with('+'))
                        .ok_or_else(|| DmarcSyntaxError::BadPercent(value.to_owned()))?,
                )
            }
            "rua" => record.rua = uris("rua", value)?,
            "ruf" => record.ruf = uris("ruf", value)?,
            "fo" => {
                let ok = !value.is_empty()
                    && value
                        .split(':')
                        .all(|o| matches!(o.trim(), "0" | "1" | "d" | "s"));
                if !ok {
                    return Err(DmarcSyntaxError::BadFailureOptions(value.to_owned()));
                }
                record.fo = Some(value.to_owned());
            }
            "rf" => record.rf = Some(value.to_owned()),
            "ri" => {
                record.ri = Some(
                    value
                        .parse()
                        .map_err(|_| DmarcSyntaxError::BadInterval(value.to_owned()))?,
                )
            }
            _ => {} // Unknown tags are ignored (RFC 7489 §6.3).
        }
    }
    if record.policy.is_none() && record.rua.is_empty() {
        return Err(bad_policy.unwrap_or(DmarcSyntaxError::MissingPolicy));
    }
    Ok(record)
}

fn bad_policy_error(tag: &'static str, value: &str) -> DmarcSyntaxError {
    DmarcSyntaxError::BadPolicy {
        tag,
        value: value.to_owned(),
    }
}

fn alignment(tag: &'static str, value: &str) -> Result<AlignmentMode, DmarcSyntaxError> {
    match value {
        "r" | "R" => Ok(AlignmentMode::Relaxed),
        "s" | "S" => Ok(AlignmentMode::Strict),
        _ => Err(DmarcSyntaxError::BadAlignment {
            tag,
            value: value.to_owned(),
        }),
    }
}

/// A comma-separated list of `mailto:` URIs with optional `!size` (RFC 7489 §6.2).
pub fn uris(tag: &'static str, value: &str) -> Result<Vec<ReportUri>, DmarcSyntaxError> {
    value
        .split(',')
        .map(|item| report_uri(tag, item.trim()))
        .collect()
}

fn report_uri(tag: &'static str, text: &str) -> Result<ReportUri, DmarcSyntaxError> {
    let (uri, max_size) = match text.rsplit_once('!') {
        Some((uri, size)) => {
            let digits = size.trim_end_matches(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T']);
            let unit_len = size.len() - digits.len();
            if digits.is_empty() || unit_len > 1 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DmarcSyntaxError::BadSizeLimit {
                    tag,
                    size: size.to_owned(),
                });
            }
            (uri, Some(size.to_owned()))
        }
        None => (text, None),
    };
    let Some(address) = uri.strip_prefix("mailto:") else {
        return Err(DmarcSyntaxError::NotMailto {
            tag,
            uri: uri.to_owned(),
        });
    };
    let valid = address.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63)
            && !address.contains(['<', '>', ' ', ',', ';', '!'])
    });
    if !valid {
        return Err(DmarcSyntaxError::BadAddress {
            tag,
            uri: uri.to_owned(),
        });
    }
    Ok(ReportUri {
        uri: uri.to_owned(),
        max_size,
    })
}
