//! The Authentication-Results header field (RFC 8601) built from verification outcomes.
//!
//! One place renders results for every method so that DKIM now, and SPF and DMARC later, share
//! quoting and layout. This module does not decide results.

use crate::dkim::{DkimOutcome, DkimResult};
use crate::dmarc::eval::DmarcOutput;
use crate::dmarc::{DmarcResult, Policy};
use crate::spf::eval::SpfOutput;

/// What the `dmarc=` resinfo shows: one evaluation, or the verdict on a message with several
/// authors (see [`crate::verdict::MessageVerdict::resinfo`]).
#[derive(Debug, Clone, Copy)]
pub struct DmarcResinfo<'a> {
    /// The result.
    pub result: DmarcResult,
    /// The policy in force, when a record was found.
    pub policy: Option<Policy>,
    /// The disposition.
    pub disposition: Policy,
    /// Why, for results other than none.
    pub reason: Option<&'a str>,
    /// The author domain the result is for, when there is one.
    pub header_from: Option<&'a str>,
}

impl<'a> From<&'a DmarcOutput> for DmarcResinfo<'a> {
    fn from(output: &'a DmarcOutput) -> DmarcResinfo<'a> {
        DmarcResinfo {
            result: output.result,
            policy: output.policy,
            disposition: output.disposition,
            reason: output.reason.as_deref(),
            header_from: Some(&output.domain),
        }
    }
}

/// The SPF result with the identity it was for.
#[derive(Debug, Clone, Copy)]
pub struct SpfResinfo<'a> {
    /// The evaluation.
    pub output: &'a SpfOutput,
    /// True when the HELO identity was checked (MAIL FROM was empty).
    pub helo: bool,
}

/// Quote a value as an RFC 2045 quoted-string when it is not a plain token.
fn value(text: &str) -> String {
    let is_token = !text.is_empty()
        && text.bytes().all(|b| {
            b.is_ascii_graphic() && !b"()<>,;:\\\"/[]?=".contains(&b) || b == b'.' || b == b'@'
        });
    if is_token {
        return text.to_owned();
    }
    let mut out = String::from("\"");
    for ch in text.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        // The header must stay ASCII (RFC 5322 §2.2); reasons may quote hostile input.
        if ch == '§' {
            out.push_str("section ");
        } else if !ch.is_ascii() {
            out.push('?');
        } else if ch.is_control() {
            out.push(' ');
        } else {
            out.push(ch);
        }
    }
    out.push('"');
    out
}

/// One `dkim=` resinfo for an outcome.
fn dkim_resinfo(outcome: &DkimOutcome) -> String {
    let mut out = format!("dkim={}", outcome.result.as_str());
    if let Some(reason) = &outcome.reason {
        out.push_str(&format!(" reason={}", value(reason)));
    }
    let props = [
        ("header.d", &outcome.domain),
        ("header.i", &outcome.identity),
        ("header.s", &outcome.selector),
        ("header.a", &outcome.algorithm),
        ("header.b", &outcome.signature_prefix),
    ];
    for (name, text) in props {
        if !text.is_empty() && text != "@" {
            out.push_str(&format!(" {name}={}", value(text)));
        }
    }
    out
}

/// The whole field, `Authentication-Results: ID; dkim=... ; dkim=...`, folded one result per
/// line. Without signatures the result is `dkim=none`.
pub fn header(authserv_id: &str, dkim: &[DkimOutcome]) -> String {
    full_header(authserv_id, None, dkim, None)
}

/// The field with SPF, DKIM and DMARC results, in that order (RFC 8601 §2.7, RFC 7489 §11.2).
pub fn full_header(
    authserv_id: &str,
    spf: Option<SpfResinfo<'_>>,
    dkim: &[DkimOutcome],
    dmarc: Option<DmarcResinfo<'_>>,
) -> String {
    let mut results: Vec<String> = Vec::new();
    if let Some(spf) = spf {
        results.push(spf_resinfo(spf));
    }
    results.extend(dkim.iter().map(dkim_resinfo));
    if dkim.is_empty() {
        results.push(format!("dkim={}", DkimResult::None.as_str()));
    }
    if let Some(dmarc) = dmarc {
        results.push(dmarc_resinfo(dmarc));
    }
    format!(
        "Authentication-Results: {};\r\n\t{}",
        value(authserv_id),
        results.join(";\r\n\t")
    )
}

fn spf_resinfo(spf: SpfResinfo<'_>) -> String {
    let out = spf.output;
    let mut text = format!("spf={}", out.result);
    if let Some(reason) = &out.reason
        && matches!(
            out.result,
            crate::spf::SpfResult::PermError | crate::spf::SpfResult::TempError
        )
    {
        text.push_str(&format!(" reason={}", value(reason)));
    }
    let ptype = if spf.helo {
        "smtp.helo"
    } else {
        "smtp.mailfrom"
    };
    text.push_str(&format!(" {ptype}={}", value(&out.domain)));
    text
}

fn dmarc_resinfo(dmarc: DmarcResinfo<'_>) -> String {
    let mut text = format!("dmarc={}", dmarc.result.as_str());
    if let Some(policy) = dmarc.policy {
        text.push_str(&format!(
            " (p={} dis={})",
            policy.as_str(),
            dmarc.disposition.as_str()
        ));
    }
    if let Some(reason) = dmarc.reason
        && dmarc.result != DmarcResult::None
    {
        text.push_str(&format!(" reason={}", value(reason)));
    }
    if let Some(domain) = dmarc.header_from {
        text.push_str(&format!(" header.from={}", value(domain)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(result: DkimResult, reason: Option<&str>) -> DkimOutcome {
        DkimOutcome {
            result,
            domain: "example.com".into(),
            selector: "sel".into(),
            algorithm: "rsa-sha256".into(),
            reason: reason.map(str::to_owned),
            identity: "@example.com".into(),
            signature_prefix: "abcd/+12".into(),
        }
    }

    #[test]
    fn header_stays_ascii() {
        let text = header(
            "mx",
            &[outcome(
                DkimResult::Pass,
                Some("weak key (RFC 8301 §3.2) \u{7f}é\r\n"),
            )],
        );
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.contains("reason=\"weak key (RFC 8301 section 3.2)  ?  \""),
            "{text}"
        );
    }

    #[test]
    fn rfc8601_2_2_no_signature_is_none() {
        assert_eq!(
            header("mx.example.net", &[]),
            "Authentication-Results: mx.example.net;\r\n\tdkim=none"
        );
    }

    #[test]
    fn rfc8601_2_7_1_properties_and_quoted_reason() {
        let text = header(
            "mx",
            &[outcome(DkimResult::Fail, Some("body \"hash\" mismatch"))],
        );
        assert_eq!(
            text,
            "Authentication-Results: mx;\r\n\tdkim=fail reason=\"body \\\"hash\\\" mismatch\" \
             header.d=example.com header.i=@example.com header.s=sel header.a=rsa-sha256 \
             header.b=\"abcd/+12\""
        );
    }
}
