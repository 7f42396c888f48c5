//! Findings about a domain's published records, and the report that collects them.
//!
//! A finding has a stable code (`spf.too_many_lookups`), a severity, the record it concerns, the
//! RFC clause it rests on, what is wrong, and a one-line fix (often the record to publish).
//! Codes never change meaning; new checks get new codes.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Mail is, or will be, treated worse than the domain intends.
    Error,
    /// Works, but weaker or riskier than it should be.
    Warning,
    /// Worth knowing; nothing to fix.
    Info,
}

impl Severity {
    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One problem (or remark) about one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code, `area.name`.
    pub code: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The DNS name (and record) concerned.
    pub record: String,
    /// What is wrong.
    pub message: String,
    /// The RFC clause or documentation reference, e.g. "RFC 7208 §4.6.4" or "postconf(5)
    /// smtpd_tls_auth_only".
    pub rfc: &'static str,
    /// What was observed, when it is not already in `record`: a server's reply, a setting's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    /// How to fix it, when there is a fix.
    pub fix: Option<String>,
}

impl Finding {
    /// A finding without a fix.
    pub fn new(
        code: &'static str,
        severity: Severity,
        record: impl Into<String>,
        message: impl Into<String>,
        rfc: &'static str,
    ) -> Finding {
        Finding {
            code,
            severity,
            record: record.into(),
            message: message.into(),
            rfc,
            seen: None,
            fix: None,
        }
    }

    /// Add what was observed.
    pub fn seen(mut self, seen: impl Into<String>) -> Finding {
        self.seen = Some(seen.into());
        self
    }

    /// Add the fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// Everything found about one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The domain checked.
    pub domain: String,
    /// Findings, grouped by area (mx, spf, dmarc, dkim) in the order checked.
    pub findings: Vec<Finding>,
    /// DNS failed for some lookup: the report may be incomplete.
    pub dns_failed: bool,
}

impl Report {
    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The codes found, in order (for tests and summaries).
    pub fn codes(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.code).collect()
    }
}
