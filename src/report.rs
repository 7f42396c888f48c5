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

/// Every module's finding codes, one table per module, in the order the map
/// (docs/ARCHITECTURE.md, "Finding codes") lists them. A module adding a code adds it to its own
/// `CODES`; the architecture test then asks for a row in the doc.
pub const CODE_TABLES: &[(&str, &[&str])] = &[
    ("check", crate::check::CODES),
    ("spf::lint", crate::spf::lint::CODES),
    ("dmarc::lint", crate::dmarc::lint::CODES),
    ("dkim::lint", crate::dkim::lint::CODES),
    ("smtp", crate::smtp::CODES),
    ("smtp::cert", crate::smtp::cert::CODES),
    ("audit::postfix", crate::audit::postfix::CODES),
    ("audit::exim", crate::audit::exim::CODES),
    ("audit::sendmail", crate::audit::sendmail::CODES),
    ("audit::exchange", crate::audit::exchange::CODES),
    ("transport::mta_sts", crate::transport::mta_sts::CODES),
    ("transport::tls_rpt", crate::transport::tls_rpt::CODES),
    ("transport::dane", crate::transport::dane::CODES),
    ("rotate::dane", crate::rotate::dane::CODES),
];

/// Every finding code mailauth can report, from [`CODE_TABLES`].
pub fn all_codes() -> Vec<&'static str> {
    CODE_TABLES
        .iter()
        .flat_map(|(_, codes)| codes.iter().copied())
        .collect()
}

/// The codes `mailauth check` can report about a domain's DNS records (MX, SPF, DMARC, DKIM,
/// MTA-STS and TLS-RPT, whose checks also fetch the policy over HTTPS), as opposed to the SMTP probe's and the MTA audits'.
pub fn dns_codes() -> Vec<&'static str> {
    [
        crate::check::CODES,
        crate::spf::lint::CODES,
        crate::dmarc::lint::CODES,
        crate::dkim::lint::CODES,
        crate::transport::mta_sts::CODES,
        crate::transport::tls_rpt::CODES,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_shaped_area_dot_name() {
        let codes = all_codes();
        let mut seen = std::collections::BTreeSet::new();
        for code in &codes {
            assert!(seen.insert(*code), "{code} is listed twice");
            let (area, name) = code.split_once('.').unwrap_or_default();
            let word = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            };
            assert!(word(area) && word(name), "{code} is not area.name");
        }
    }
}
