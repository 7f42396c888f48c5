//! TLS on each listener: whether it is offered or required (smtpd_tls_security_level, or the
//! older smtpd_use_tls/smtpd_enforce_tls, or smtpd_tls_wrappermode for port 465), which protocol
//! versions the level makes count, and whether the certificate files exist.

use std::path::Path;

use super::{Hit, setting};
use crate::audit::postfix::{Listener, Role, words};
use crate::report::Severity;

/// What TLS a listener has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TlsLevel {
    /// No TLS at all.
    None,
    /// STARTTLS offered, not required.
    May,
    /// TLS required: `encrypt`, or implicit TLS (wrappermode).
    Required,
}

const LEVEL_SETTINGS: &[&str] = &[
    "smtpd_tls_security_level",
    "smtpd_use_tls",
    "smtpd_enforce_tls",
    "smtpd_tls_wrappermode",
];

/// The effective level; postconf(5) smtpd_tls_security_level: when empty, the obsolete
/// smtpd_enforce_tls and smtpd_use_tls decide.
pub(super) fn tls_level(listener: &Listener<'_>) -> TlsLevel {
    if listener.flag("smtpd_tls_wrappermode") {
        return TlsLevel::Required;
    }
    match listener.value("smtpd_tls_security_level").trim() {
        "encrypt" => TlsLevel::Required,
        "may" => TlsLevel::May,
        "none" => TlsLevel::None,
        _ if listener.flag("smtpd_enforce_tls") => TlsLevel::Required,
        _ if listener.flag("smtpd_use_tls") => TlsLevel::May,
        _ => TlsLevel::None,
    }
}

/// postfix.tls_disabled (port 25) and postfix.submission_tls_not_required (port 587).
pub(super) fn level(listener: &Listener<'_>) -> Vec<Hit> {
    let level = tls_level(listener);
    let seen = setting(listener, "smtpd_tls_security_level");
    match (listener.role(), level) {
        (Role::Mx, TlsLevel::None) => vec![Hit {
            code: "postfix.tls_disabled",
            severity: Severity::Warning,
            settings: LEVEL_SETTINGS,
            message: "no STARTTLS on port 25: mail from other servers arrives in cleartext"
                .to_owned(),
            rfc: "postconf(5) smtpd_tls_security_level",
            seen,
            fix: "smtpd_tls_security_level = may (with a certificate in smtpd_tls_chain_files); \
                  not encrypt on port 25 (RFC 3207 §4: a public MX must not require TLS)"
                .to_owned(),
        }],
        (Role::Submission, TlsLevel::None | TlsLevel::May) => vec![Hit {
            code: "postfix.submission_tls_not_required",
            severity: Severity::Warning,
            settings: LEVEL_SETTINGS,
            message: "the submission port does not require TLS: a client can submit mail \
                      (and, without smtpd_tls_auth_only, authenticate) in cleartext"
                .to_owned(),
            rfc: "postconf(5) smtpd_tls_security_level",
            seen,
            fix: "-o smtpd_tls_security_level=encrypt on the submission line of master.cf"
                .to_owned(),
        }],
        _ => Vec::new(),
    }
}

const VERSIONS: &[&str] = &["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// The versions a protocol list allows (postconf(5) smtpd_tls_protocols: `>=X`, `<=X`, `!X`, or
/// names to include; empty allows all).
fn allowed(spec: &str) -> Vec<&'static str> {
    let index = |name: &str| VERSIONS.iter().position(|v| v.eq_ignore_ascii_case(name));
    let spec = words(spec);
    let included: Vec<usize> = spec.iter().filter_map(|w| index(w)).collect();
    let mut set: Vec<usize> = if included.is_empty() {
        (0..VERSIONS.len()).collect()
    } else {
        included
    };
    for word in &spec {
        if let Some(floor) = word.strip_prefix(">=").and_then(index) {
            set.retain(|v| *v >= floor);
        } else if let Some(ceiling) = word.strip_prefix("<=").and_then(index) {
            set.retain(|v| *v <= ceiling);
        } else if let Some(excluded) = word.strip_prefix('!').and_then(index) {
            set.retain(|v| *v != excluded);
        }
    }
    set.sort_unstable();
    set.dedup();
    set.into_iter().map(|v| VERSIONS[v]).collect()
}

/// Versions below TLS 1.2 in `spec`, and whether SSL is among them.
fn legacy(spec: &str) -> (Vec<&'static str>, bool) {
    let old: Vec<&'static str> = allowed(spec)
        .into_iter()
        .filter(|v| !matches!(*v, "TLSv1.2" | "TLSv1.3"))
        .collect();
    let ssl = old.iter().any(|v| v.starts_with("SSL"));
    (old, ssl)
}

/// postfix.tls_protocols_legacy (level may) and postfix.tls_mandatory_protocols_legacy
/// (TLS required).
pub(super) fn protocols(listener: &Listener<'_>) -> Vec<Hit> {
    let (name, code, why) = match tls_level(listener) {
        TlsLevel::None => return Vec::new(),
        TlsLevel::May => (
            "smtpd_tls_protocols",
            "postfix.tls_protocols_legacy",
            "with opportunistic TLS (smtpd_tls_security_level = may) the versions offered come \
             from smtpd_tls_protocols; smtpd_tls_mandatory_protocols, which many hardening \
             guides set alone, only applies where TLS is required",
        ),
        TlsLevel::Required => (
            "smtpd_tls_mandatory_protocols",
            "postfix.tls_mandatory_protocols_legacy",
            "TLS is required here, so smtpd_tls_mandatory_protocols decides the versions",
        ),
    };
    let (old, ssl) = legacy(&listener.value(name));
    if old.is_empty() {
        return Vec::new();
    }
    // The record is where the protocol list is set; the level only chose which list counts.
    let settings: &'static [&'static str] = if name == "smtpd_tls_protocols" {
        &["smtpd_tls_protocols"]
    } else {
        &["smtpd_tls_mandatory_protocols"]
    };
    vec![Hit {
        code,
        severity: if ssl {
            Severity::Error
        } else {
            Severity::Warning
        },
        settings,
        message: format!(
            "{} still allowed (RFC 8996 deprecates TLS 1.0 and 1.1; SSL is broken): {why}",
            old.join(", ")
        ),
        rfc: if name == "smtpd_tls_protocols" {
            "postconf(5) smtpd_tls_protocols"
        } else {
            "postconf(5) smtpd_tls_mandatory_protocols"
        },
        seen: setting(listener, name),
        fix: format!("{name} = >=TLSv1.2"),
    }]
}

/// postfix.tls_cert_missing: TLS on, but no certificate configured or the files are absent.
pub(super) fn certificate(listener: &Listener<'_>) -> Vec<Hit> {
    if tls_level(listener) == TlsLevel::None {
        return Vec::new();
    }
    let chain = words(&listener.value("smtpd_tls_chain_files"));
    let mut files = chain.clone();
    for (cert, key) in [
        ("smtpd_tls_cert_file", "smtpd_tls_key_file"),
        ("smtpd_tls_eccert_file", "smtpd_tls_eckey_file"),
        ("smtpd_tls_dcert_file", "smtpd_tls_dkey_file"),
    ] {
        let cert = listener.value(cert);
        if !cert.trim().is_empty() {
            files.push(cert.trim().to_owned());
            files.extend(words(&listener.value(key)));
        }
    }
    let (message, seen) = if files.is_empty() {
        (
            "TLS is enabled but no certificate is configured: STARTTLS fails (or is not \
             offered) and mail falls back to cleartext"
                .to_owned(),
            "smtpd_tls_chain_files and smtpd_tls_cert_file are empty".to_owned(),
        )
    } else {
        // The key file defaults to the certificate file: name each missing file once.
        let mut missing: Vec<String> = Vec::new();
        for file in files.into_iter().filter(|f| absent(f)) {
            if !missing.contains(&file) {
                missing.push(file);
            }
        }
        if missing.is_empty() {
            return Vec::new();
        }
        (
            format!(
                "TLS is enabled but these certificate or key files do not exist: {}",
                missing.join(", ")
            ),
            if chain.is_empty() {
                setting(listener, "smtpd_tls_cert_file")
            } else {
                setting(listener, "smtpd_tls_chain_files")
            },
        )
    };
    vec![Hit {
        code: "postfix.tls_cert_missing",
        severity: Severity::Error,
        settings: &[
            "smtpd_tls_chain_files",
            "smtpd_tls_cert_file",
            "smtpd_tls_key_file",
        ],
        message,
        rfc: "postconf(5) smtpd_tls_chain_files",
        seen,
        fix: "smtpd_tls_chain_files = /etc/postfix/tls/key.pem, /etc/postfix/tls/fullchain.pem"
            .to_owned(),
    }]
}

/// True only when the file is known not to exist; a file we may not look at (Postfix reads it
/// as root) is not reported.
fn absent(file: &str) -> bool {
    matches!(std::fs::metadata(Path::new(file)), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// postconf(5) smtpd_tls_protocols: the three syntaxes of the protocol list.
    #[test]
    fn postconf_5_protocol_list_syntaxes() {
        assert_eq!(allowed(">=TLSv1.2"), ["TLSv1.2", "TLSv1.3"]);
        assert_eq!(
            allowed(">=TLSv1"),
            ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        );
        assert_eq!(
            allowed("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"),
            ["TLSv1.2", "TLSv1.3"]
        );
        assert_eq!(allowed("TLSv1.2 TLSv1.3"), ["TLSv1.2", "TLSv1.3"]);
        assert_eq!(allowed("").len(), 6);
        assert_eq!(legacy("!SSLv2"), (vec!["SSLv3", "TLSv1", "TLSv1.1"], true));
    }
}
