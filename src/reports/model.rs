//! What a report says, as parsed: the types every `reports` module shares.
//!
//! Words from the reports (results, dispositions, alignment) are kept as the receiver wrote them,
//! lower-cased and trimmed, rather than forced into enums: real reports carry values outside the
//! schema (`softfail` in a DKIM result, `hardfail`, an empty `<spf>`), and a summary must still
//! count them. The schema's words are documented on each field.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One parsed report of either kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
// Reports are handed on one at a time, never kept in bulk as `Report`s: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Report {
    /// A DMARC aggregate report.
    Aggregate(AggregateReport),
    /// An SMTP TLS report.
    Tls(TlsReport),
}

impl Report {
    /// The reporting organisation.
    pub fn org_name(&self) -> &str {
        match self {
            Report::Aggregate(r) => &r.org_name,
            Report::Tls(r) => &r.org_name,
        }
    }

    /// The report's id, unique per organisation: with [`Report::org_name`] the deduplication key.
    pub fn report_id(&self) -> &str {
        match self {
            Report::Aggregate(r) => &r.report_id,
            Report::Tls(r) => &r.report_id,
        }
    }
}

/// Which schema an aggregate report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregateFormat {
    /// RFC 9990: the `urn:ietf:params:xml:ns:dmarc-2.0` namespace.
    Rfc9990,
    /// RFC 7489 Appendix C (no namespace, or the draft 1.0 one).
    Rfc7489,
}

/// A DMARC aggregate report (RFC 9990 §3; RFC 7489 Appendix C).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateReport {
    pub format: AggregateFormat,
    /// `report_metadata/org_name`.
    pub org_name: String,
    /// `report_metadata/email`.
    pub email: Option<String>,
    /// `report_metadata/extra_contact_info`.
    pub extra_contact_info: Option<String>,
    /// `report_metadata/report_id`.
    pub report_id: String,
    /// `report_metadata/date_range/begin`, seconds since the epoch (UTC).
    pub begin: i64,
    /// `report_metadata/date_range/end`, seconds since the epoch (UTC).
    pub end: i64,
    /// `report_metadata/error`, each one.
    pub errors: Vec<String>,
    /// `report_metadata/generator` (RFC 9990).
    pub generator: Option<String>,
    pub policy: PolicyPublished,
    pub records: Vec<Record>,
}

/// `policy_published`: the DMARC record the receiver applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyPublished {
    /// The domain at which the record was found, lower case.
    pub domain: String,
    /// `none`, `quarantine` or `reject`.
    pub p: Option<String>,
    pub sp: Option<String>,
    /// RFC 9990 only.
    pub np: Option<String>,
    /// `r` or `s`.
    pub adkim: Option<String>,
    pub aspf: Option<String>,
    /// RFC 7489 only (RFC 9989 removed `pct`).
    pub pct: Option<u8>,
    pub fo: Option<String>,
    /// RFC 9990 `testing`: `y` or `n`.
    pub testing: Option<String>,
    /// RFC 9990 `discovery_method`: `psl` or `treewalk`.
    pub discovery_method: Option<String>,
}

/// One `record`: a source IP and the identifiers and results of the messages it sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// `row/source_ip`.
    pub source_ip: IpAddr,
    /// `row/count`: messages.
    pub count: u64,
    /// `row/policy_evaluated/disposition`: `none`, `pass` (RFC 9990), `quarantine`, `reject`.
    pub disposition: String,
    /// `row/policy_evaluated/dkim`: the DMARC-aligned DKIM result, `pass` or `fail`.
    pub dkim_aligned: String,
    /// `row/policy_evaluated/spf`: the DMARC-aligned SPF result, `pass` or `fail`.
    pub spf_aligned: String,
    /// `row/policy_evaluated/reason`, each one.
    pub reasons: Vec<Reason>,
    /// `identifiers/header_from`, lower case.
    pub header_from: String,
    /// `identifiers/envelope_from`, lower case (may be empty in real reports).
    pub envelope_from: Option<String>,
    /// `identifiers/envelope_to`.
    pub envelope_to: Option<String>,
    /// `auth_results/dkim`, each one.
    pub dkim: Vec<DkimResult>,
    /// `auth_results/spf`, each one.
    pub spf: Vec<SpfResult>,
}

impl Record {
    /// DMARC passed for these messages when either aligned result passed (RFC 9989 §4.4
    /// "Identifier Alignment Explained": aligned SPF or aligned DKIM).
    pub fn dmarc_pass(&self) -> bool {
        self.dkim_aligned == "pass" || self.spf_aligned == "pass"
    }
}

/// `policy_evaluated/reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// `local_policy`, `mailing_list`, `other`, `policy_test_mode`, `trusted_forwarder`
    /// (RFC 7489 also `forwarded`, `sampled_out`).
    pub kind: String,
    pub comment: Option<String>,
}

/// `auth_results/dkim`: one signature's raw (unaligned) result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimResult {
    /// `d=`, lower case.
    pub domain: String,
    pub selector: Option<String>,
    /// `none`, `pass`, `fail`, `policy`, `neutral`, `temperror`, `permerror`.
    pub result: String,
    pub human_result: Option<String>,
}

/// `auth_results/spf`: the raw (unaligned) SPF result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfResult {
    /// The domain checked, lower case.
    pub domain: String,
    /// `mfrom` or `helo` (RFC 7489); RFC 9990 has only `mfrom`.
    pub scope: Option<String>,
    /// `none`, `neutral`, `pass`, `fail`, `softfail`, `temperror`, `permerror`.
    pub result: String,
}

/// An SMTP TLS report (RFC 8460 §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsReport {
    /// `organization-name`.
    pub org_name: String,
    /// `contact-info`.
    pub contact_info: Option<String>,
    /// `report-id`.
    pub report_id: String,
    /// `date-range/start-datetime`, seconds since the epoch.
    pub begin: i64,
    /// `date-range/end-datetime`, seconds since the epoch.
    pub end: i64,
    pub policies: Vec<TlsPolicy>,
}

/// One entry of `policies` (RFC 8460 §4.3, §4.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsPolicy {
    /// `policy/policy-type`: `tlsa`, `sts` or `no-policy-found`.
    pub policy_type: String,
    /// `policy/policy-string`, each line.
    pub policy_string: Vec<String>,
    /// `policy/policy-domain`, lower case.
    pub policy_domain: String,
    /// `policy/mx-host`, each one.
    pub mx_host: Vec<String>,
    /// `summary/total-successful-session-count`.
    pub successful: u64,
    /// `summary/total-failure-session-count`.
    pub failed: u64,
    pub failures: Vec<TlsFailure>,
}

/// One entry of `failure-details` (RFC 8460 §4.3, result types §4.3.1–§4.3.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsFailure {
    /// `result-type`: `starttls-not-supported`, `certificate-host-mismatch`,
    /// `certificate-expired`, `certificate-not-trusted`, `validation-failure`,
    /// `tlsa-invalid`, `dnssec-invalid`, `dane-required`, `sts-policy-fetch-error`,
    /// `sts-policy-invalid`, `sts-webpki-invalid`, or another string a sender used.
    pub result_type: String,
    pub sending_mta_ip: Option<IpAddr>,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_ip: Option<IpAddr>,
    /// `failed-session-count`.
    pub sessions: u64,
    pub additional_information: Option<String>,
    pub failure_reason_code: Option<String>,
}

/// Bounds on what is read, so that hostile input costs bounded memory and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, mail message or attachment read, before decompression.
    pub max_input: u64,
    /// Largest report after decompression (gzip, zip member): a zip bomb stops here.
    pub max_decompressed: u64,
    /// Most zip members read from one archive.
    pub max_zip_members: usize,
    /// Most `record` elements (or TLS failure details) in one report.
    pub max_records: usize,
    /// Deepest XML element nesting accepted.
    pub max_xml_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input: 32 << 20,
            max_decompressed: 32 << 20,
            max_zip_members: 16,
            max_records: 200_000,
            max_xml_depth: 16,
        }
    }
}
