//! The DKIM signing path of a domain mailauth manages: Postfix must hand mail to a signing
//! milter (smtpd_milters for SMTP, non_smtpd_milters for sendmail/pickup), and the signer's
//! OpenDKIM KeyTable (as `mailauth export opendkim` writes it) must name the selectors the key
//! store says are active. Which milter is a signer cannot be told from Postfix's side; an empty
//! milter list is what is reported.

use std::error::Error as _;
use std::path::{Path, PathBuf};

use super::checks::Hit;
use super::{Listener, PostfixConfig, Role};
use crate::audit::AuditError;
use crate::keys::KeyStore;
use crate::report::{Finding, Severity};

/// What mailauth expects of the signing path for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimExpectation {
    /// The signing domain.
    pub domain: String,
    /// Selectors that should be signing now.
    pub active_selectors: Vec<String>,
    /// The OpenDKIM KeyTable to compare, when given.
    pub keytable: Option<PathBuf>,
}

/// The selectors `domain` signs with: the rotation state's active keys, else every key in the
/// store for it.
pub fn active_selectors(store: &KeyStore, domain: &str) -> Result<Vec<String>, String> {
    let state =
        crate::rotate::RotationState::load(store, domain).map_err(|e| match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        })?;
    Ok(match state {
        Some(state) => state.active().map(|k| k.selector.clone()).collect(),
        None => store.selectors(domain),
    })
}

/// postfix.milter_missing on a listener that takes mail to be signed.
pub(super) fn milters(listener: &Listener<'_>, dkim: &DkimExpectation) -> Vec<Hit> {
    if listener.role() == Role::Other || !listener.value("smtpd_milters").trim().is_empty() {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.milter_missing",
        severity: Severity::Warning,
        settings: &["smtpd_milters"],
        message: format!(
            "smtpd_milters is empty: mail for {} accepted here reaches no DKIM signer",
            dkim.domain
        ),
        rfc: "postconf(5) smtpd_milters",
        seen: "smtpd_milters = ".to_owned(),
        fix: "smtpd_milters = inet:127.0.0.1:8891 (the OpenDKIM socket); milter_default_action \
              = accept"
            .to_owned(),
    }]
}

/// non_smtpd_milters and the KeyTable.
pub(super) fn global(
    config: &PostfixConfig,
    dkim: &DkimExpectation,
) -> Result<Vec<Finding>, AuditError> {
    let mut findings = Vec::new();
    if config.main_value("non_smtpd_milters").trim().is_empty() {
        findings.push(
            Finding::new(
                "postfix.milter_missing",
                Severity::Warning,
                "main.cf",
                format!(
                    "non_smtpd_milters is empty: mail for {} submitted with sendmail(1) or \
                     picked up locally is not signed",
                    dkim.domain
                ),
                "postconf(5) non_smtpd_milters",
            )
            .seen("non_smtpd_milters = ")
            .fix("non_smtpd_milters = $smtpd_milters"),
        );
    }
    if let Some(path) = &dkim.keytable {
        findings.extend(keytable(path, dkim)?);
    }
    Ok(findings)
}

/// postfix.keytable_selector_missing.
fn keytable(path: &Path, dkim: &DkimExpectation) -> Result<Vec<Finding>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let listed = selectors_in(&text, &dkim.domain);
    let missing: Vec<&String> = dkim
        .active_selectors
        .iter()
        .filter(|s| !listed.contains(s))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    Ok(vec![
        Finding::new(
            "postfix.keytable_selector_missing",
            Severity::Error,
            path.display().to_string(),
            format!(
                "the KeyTable has no entry for {}'s active selector(s) {}: the signer does not \
                 sign with the key that DNS and the rotation state expect",
                dkim.domain,
                names.join(", ")
            ),
            "opendkim.conf(5) KeyTable",
        )
        .seen(format!(
            "selectors for {} in the KeyTable: {}",
            dkim.domain,
            if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            }
        ))
        .fix("mailauth export opendkim, then reload OpenDKIM"),
    ])
}

/// Selectors the KeyTable lists for `domain`: lines `ID DOMAIN:SELECTOR:KEYFILE`.
fn selectors_in(text: &str, domain: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_whitespace().nth(1))
        .filter_map(|value| {
            let mut parts = value.splitn(3, ':');
            let (d, s) = (parts.next()?, parts.next()?);
            d.eq_ignore_ascii_case(domain).then(|| s.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// opendkim.conf(5) KeyTable: `ID DOMAIN:SELECTOR:KEYPATH`, as `mailauth export opendkim`
    /// writes it.
    #[test]
    fn keytable_lines_give_selectors_per_domain() {
        let text = "# Generated\ns1._domainkey.example.test example.test:s1:/k/s1.pem\n\
                    s2._domainkey.other.test other.test:s2:/k/s2.pem\n";
        assert_eq!(selectors_in(text, "Example.Test"), ["s1"]);
        assert!(selectors_in(text, "none.test").is_empty());
    }
}
