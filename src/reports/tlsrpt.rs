//! SMTP TLS report JSON → [`TlsReport`]: RFC 8460 §4 "Reporting Schema" (report metadata §4.1,
//! policy §4.2, summary and failure details §4.3, result types §4.3.1–§4.3.2, the JSON field
//! names of §4.4; date-times are RFC 3339 §5.6).
//!
//! The JSON is read into a value first and then walked field by field, so that an error names the
//! field (`policies[0].summary.total-failure-session-count`) rather than a line and column only.
//! Dates are RFC 3339 date-times, stored as seconds since the epoch. Lenient where senders
//! deviate without ambiguity: `mx-host` as one string instead of a list, `policy-string` likewise,
//! absent optional fields. The number of failure details is bounded by [`Limits::max_records`].
//!
//! This module only parses; it does not read files ([`super::source`]).

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::model::{Limits, TlsFailure, TlsPolicy, TlsReport};
use super::xml::{ParseError, quote, utf8_text};

/// Parse one SMTP TLS report (RFC 8460 §4).
pub fn parse_tls(input: &[u8], limits: &Limits) -> Result<TlsReport, ParseError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let text = utf8_text(input)?;
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let root = object(&value, "the report")?;
    let range = object(required(root, "", "date-range")?, "date-range")?;
    let policies = match root.get("policies") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(invalid("policies", other, "a list")),
    };
    let mut details = 0usize;
    let mut parsed = Vec::with_capacity(policies.len().min(1024));
    for (i, policy) in policies.iter().enumerate() {
        parsed.push(tls_policy(
            policy,
            &format!("policies[{i}]"),
            limits,
            &mut details,
        )?);
    }
    Ok(TlsReport {
        org_name: string(root, "", "organization-name")?,
        contact_info: optional_string(root, "", "contact-info")?,
        report_id: string(root, "", "report-id")?,
        begin: datetime(range, "date-range.", "start-datetime")?,
        end: datetime(range, "date-range.", "end-datetime")?,
        policies: parsed,
    })
}

fn tls_policy(
    value: &Value,
    path: &str,
    limits: &Limits,
    details: &mut usize,
) -> Result<TlsPolicy, ParseError> {
    let entry = object(value, path)?;
    let ppath = format!("{path}.policy");
    let policy = object(required(entry, &format!("{path}."), "policy")?, &ppath)?;
    let spath = format!("{path}.summary");
    let summary = object(required(entry, &format!("{path}."), "summary")?, &spath)?;
    let dot = format!("{ppath}.");
    let mut failures = Vec::new();
    match entry.get("failure-details") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, f) in list.iter().enumerate() {
                *details += 1;
                if *details > limits.max_records {
                    return Err(ParseError::TooManyRecords {
                        limit: limits.max_records,
                        at: None,
                    });
                }
                failures.push(tls_failure(f, &format!("{path}.failure-details[{i}]"))?);
            }
        }
        Some(other) => {
            return Err(invalid(&format!("{path}.failure-details"), other, "a list"));
        }
    }
    Ok(TlsPolicy {
        policy_type: string(policy, &dot, "policy-type")?.to_ascii_lowercase(),
        policy_string: strings(policy, &dot, "policy-string")?,
        policy_domain: string(policy, &dot, "policy-domain")?
            .trim_end_matches('.')
            .to_ascii_lowercase(),
        mx_host: strings(policy, &dot, "mx-host")?,
        successful: count(
            summary,
            &format!("{spath}."),
            "total-successful-session-count",
        )?,
        failed: count(summary, &format!("{spath}."), "total-failure-session-count")?,
        failures,
    })
}

fn tls_failure(value: &Value, path: &str) -> Result<TlsFailure, ParseError> {
    let f = object(value, path)?;
    let dot = format!("{path}.");
    Ok(TlsFailure {
        result_type: string(f, &dot, "result-type")?.to_ascii_lowercase(),
        sending_mta_ip: optional_ip(f, &dot, "sending-mta-ip")?,
        receiving_mx_hostname: optional_string(f, &dot, "receiving-mx-hostname")?,
        receiving_ip: optional_ip(f, &dot, "receiving-ip")?,
        sessions: count(f, &dot, "failed-session-count")?,
        additional_information: optional_string(f, &dot, "additional-information")?,
        failure_reason_code: optional_string(f, &dot, "failure-reason-code")?,
    })
}

fn invalid(path: &str, value: &Value, expected: &'static str) -> ParseError {
    ParseError::Invalid {
        path: path.to_owned(),
        value: quote(&value.to_string()),
        expected,
        at: None,
    }
}

fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, ParseError> {
    value
        .as_object()
        .ok_or_else(|| invalid(path, value, "a JSON object"))
}

fn required<'v>(
    map: &'v Map<String, Value>,
    prefix: &str,
    field: &str,
) -> Result<&'v Value, ParseError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(ParseError::Missing {
            path: format!("{prefix}{field}"),
            at: None,
        }),
        Some(v) => Ok(v),
    }
}

fn string(map: &Map<String, Value>, prefix: &str, field: &str) -> Result<String, ParseError> {
    optional_string(map, prefix, field)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ParseError::Missing {
            path: format!("{prefix}{field}"),
            at: None,
        })
}

fn optional_string(
    map: &Map<String, Value>,
    prefix: &str,
    field: &str,
) -> Result<Option<String>, ParseError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(invalid(&format!("{prefix}{field}"), other, "a string")),
    }
}

/// A list of strings, or one string taken as a list of one.
fn strings(map: &Map<String, Value>, prefix: &str, field: &str) -> Result<Vec<String>, ParseError> {
    let path = || format!("{prefix}{field}");
    match map.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.trim().to_owned()]),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                other => Err(invalid(&format!("{}[{i}]", path()), other, "a string")),
            })
            .collect(),
        Some(other) => Err(invalid(&path(), other, "a list of strings")),
    }
}

fn count(map: &Map<String, Value>, prefix: &str, field: &str) -> Result<u64, ParseError> {
    let value = required(map, prefix, field)?;
    value.as_u64().ok_or_else(|| {
        invalid(
            &format!("{prefix}{field}"),
            value,
            "a non-negative integer (u64)",
        )
    })
}

fn optional_ip(
    map: &Map<String, Value>,
    prefix: &str,
    field: &str,
) -> Result<Option<IpAddr>, ParseError> {
    match optional_string(map, prefix, field)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => s
            .parse::<IpAddr>()
            .map(Some)
            .map_err(|_| ParseError::Invalid {
                path: format!("{prefix}{field}"),
                value: quote(&s),
                expected: "an IP address",
                at: None,
            }),
    }
}

/// An RFC 3339 date-time (RFC 8460 §4.4 `date-range`) as seconds since the epoch.
fn datetime(map: &Map<String, Value>, prefix: &str, field: &str) -> Result<i64, ParseError> {
    let text = string(map, prefix, field)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.timestamp())
        .map_err(|_| ParseError::Invalid {
            path: format!("{prefix}{field}"),
            value: quote(&text),
            expected: "an RFC 3339 date-time",
            at: None,
        })
}
