//! Parsing DMARC records. [`record`] is RFC 7489's strict reading (§6.3, §6.4: a bad tag value
//! makes the record unusable), used by RFC 7489 evaluation and the lint; [`record_rfc9989`] is
//! RFC 9989's (§4.7 DMARC Policy Record Format, §4.10.1 DMARC Policy Discovery): unknown and
//! removed tags ignored, bad values falling back to defaults, an unusable policy rescued by a
//! valid `rua=`. The tag-list syntax is DKIM's (RFC 6376 §3.2).

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

/// The tags after the leading `v=DMARC1` (RFC 7489 §6.3 and RFC 9989 §4.7 both require it first).
fn versioned_tags(value: &[u8]) -> Result<Vec<taglist::Tag<'_>>, DmarcSyntaxError> {
    let mut tags = taglist::parse(value)?;
    let Some(first) = tags.first() else {
        return Err(DmarcSyntaxError::Empty);
    };
    if first.name != "v" || first.value != "DMARC1" {
        return Err(DmarcSyntaxError::NotFirstVersion);
    }
    tags.remove(0);
    Ok(tags)
}

/// Parse a record. A record without a valid `p=` is accepted only when it has a valid `rua=`
/// (then `policy` is `None` and receivers act as for `p=none`, RFC 7489 §6.6.3).
pub fn record(value: &[u8]) -> Result<DmarcRecord, DmarcSyntaxError> {
    let tags = versioned_tags(value)?;
    let mut record = DmarcRecord::new(Policy::None);
    record.policy = None;
    let mut bad_policy = None;
    for tag in tags {
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
            // RFC 9989's tags are unknown to RFC 7489 (ignored there, §6.3); kept when valid so
            // the lint and comparisons can see them.
            "psd" => record.psd = flag(value),
            "np" => record.np = Policy::from_name(value),
            "t" => record.testing = flag(value),
            _ => {} // Unknown tags are ignored (RFC 7489 §6.3).
        }
    }
    if record.policy.is_none() && record.rua.is_empty() {
        return Err(bad_policy.unwrap_or(DmarcSyntaxError::MissingPolicy));
    }
    Ok(record)
}

/// Parse a record as RFC 9989 reads it. Only a broken tag list or a first tag other than
/// `v=DMARC1` is an error of the record as such; tags outside RFC 9989's registry (`pct`, `rf`,
/// `ri` and unknown ones) are ignored (§4.7), bad `adkim`/`aspf`/`fo`/`psd`/`t` values fall back
/// to their defaults, and `rua`/`ruf` keep the URIs that parse. A missing or invalid `p=`, or an
/// invalid `sp=`/`np=`, makes the record act as `p=none` when a valid `rua` remains (then
/// `policy`, `subdomain_policy` and `np` are all `None`), and otherwise is the error returned:
/// no DMARC processing (§4.10.1).
pub fn record_rfc9989(value: &[u8]) -> Result<DmarcRecord, DmarcSyntaxError> {
    let tags = versioned_tags(value)?;
    let mut record = DmarcRecord::new(Policy::None);
    record.policy = None;
    let mut unusable = None;
    for tag in tags {
        let value = tag.value;
        let name = tag.name.to_ascii_lowercase();
        match name.as_str() {
            "p" | "sp" | "np" => {
                let Some(policy) = Policy::from_name(value) else {
                    let tag = match name.as_str() {
                        "p" => "p",
                        "sp" => "sp",
                        _ => "np",
                    };
                    unusable.get_or_insert(bad_policy_error(tag, value));
                    continue;
                };
                match name.as_str() {
                    "p" => record.policy = Some(policy),
                    "sp" => record.subdomain_policy = Some(policy),
                    _ => record.np = Some(policy),
                }
            }
            "adkim" => record.adkim = alignment("adkim", value).ok(),
            "aspf" => record.aspf = alignment("aspf", value).ok(),
            "rua" => record.rua = valid_uris("rua", value),
            "ruf" => record.ruf = valid_uris("ruf", value),
            "fo" => {
                let ok = value
                    .split(':')
                    .all(|o| matches!(o.trim(), "0" | "1" | "d" | "s"));
                record.fo = ok.then(|| value.to_owned());
            }
            "psd" => record.psd = flag(value),
            "t" => record.testing = flag(value),
            _ => {} // Not in RFC 9989's registry: ignored (§4.7).
        }
    }
    if record.policy.is_none() && unusable.is_none() {
        unusable = Some(DmarcSyntaxError::MissingPolicy);
    }
    if let Some(error) = unusable {
        if record.rua.is_empty() {
            return Err(error);
        }
        record.policy = None;
        record.subdomain_policy = None;
        record.np = None;
    }
    Ok(record)
}

/// A `y`/`n` flag (`psd=`, `t=`); `psd=u` and anything else is the default, `None`.
fn flag(value: &str) -> Option<bool> {
    match value.trim() {
        "y" | "Y" => Some(true),
        "n" | "N" => Some(false),
        _ => None,
    }
}

/// The entries of a URI list that parse; the others are ignored (RFC 9989 §4.7, `rua`/`ruf`).
fn valid_uris(tag: &'static str, value: &str) -> Vec<ReportUri> {
    value
        .split(',')
        .filter_map(|item| report_uri(tag, item.trim()).ok())
        .collect()
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
