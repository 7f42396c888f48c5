//! SMTP AUTH on each listener: whether passwords can travel before TLS, anonymous logins, and
//! AUTH on port 25; and the guides' slip of setting the client-side smtp_sasl_security_options
//! when they mean the server's smtpd_sasl_security_options.

use super::tls::{TlsLevel, tls_level};
use super::{Hit, setting};
use crate::audit::postfix::{Listener, PostfixConfig, Role, words};
use crate::report::{Finding, Severity};

/// Every SASL check of one listener (none when SASL is off there).
pub(super) fn check(listener: &Listener<'_>) -> Vec<Hit> {
    if !listener.flag("smtpd_sasl_auth_enable") {
        return Vec::new();
    }
    let mut hits = Vec::new();
    hits.extend(anonymous(listener));
    hits.extend(before_tls(listener));
    hits.extend(port25(listener));
    hits
}

fn has(listener: &Listener<'_>, name: &str, option: &str) -> bool {
    words(&listener.value(name)).iter().any(|w| w == option)
}

/// postfix.sasl_anonymous_allowed: the options in force before and after TLS both need
/// noanonymous.
fn anonymous(listener: &Listener<'_>) -> Vec<Hit> {
    let level = tls_level(listener);
    let auth_only = listener.flag("smtpd_tls_auth_only");
    let mut lacking = Vec::new();
    if level != TlsLevel::Required
        && !auth_only
        && !has(listener, "smtpd_sasl_security_options", "noanonymous")
    {
        lacking.push(setting(listener, "smtpd_sasl_security_options"));
    }
    if level != TlsLevel::None && !has(listener, "smtpd_sasl_tls_security_options", "noanonymous") {
        lacking.push(setting(listener, "smtpd_sasl_tls_security_options"));
    }
    if lacking.is_empty() {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.sasl_anonymous_allowed",
        severity: Severity::Error,
        settings: &[
            "smtpd_sasl_security_options",
            "smtpd_sasl_tls_security_options",
        ],
        message: "anonymous SASL login allowed (no `noanonymous`): anyone can authenticate \
                  and permit_sasl_authenticated then lets them relay"
            .to_owned(),
        rfc: "postconf(5) smtpd_sasl_security_options",
        seen: lacking.join("; "),
        fix: "smtpd_sasl_security_options = noanonymous, noplaintext and \
              smtpd_sasl_tls_security_options = noanonymous"
            .to_owned(),
    }]
}

/// postfix.tls_auth_only_off (TLS offered, AUTH allowed before it) and
/// postfix.sasl_plaintext_without_tls (no TLS at all, plaintext mechanisms allowed).
fn before_tls(listener: &Listener<'_>) -> Vec<Hit> {
    let plaintext = !has(listener, "smtpd_sasl_security_options", "noplaintext");
    match tls_level(listener) {
        TlsLevel::Required => Vec::new(),
        _ if listener.flag("smtpd_tls_auth_only") => Vec::new(),
        TlsLevel::May => vec![Hit {
            code: "postfix.tls_auth_only_off",
            severity: if plaintext {
                Severity::Error
            } else {
                Severity::Warning
            },
            settings: &["smtpd_tls_auth_only", "smtpd_tls_security_level"],
            message: if plaintext {
                "AUTH is offered before STARTTLS: PLAIN and LOGIN send the password in \
                 cleartext to anyone on the path"
            } else {
                "AUTH is offered before STARTTLS; noplaintext keeps PLAIN/LOGIN off, but user \
                 names and challenge-response exchanges still travel in cleartext"
            }
            .to_owned(),
            rfc: "postconf(5) smtpd_tls_auth_only",
            seen: setting(listener, "smtpd_tls_auth_only"),
            fix: "smtpd_tls_auth_only = yes".to_owned(),
        }],
        TlsLevel::None if plaintext => vec![Hit {
            code: "postfix.sasl_plaintext_without_tls",
            severity: Severity::Error,
            settings: &[
                "smtpd_sasl_security_options",
                "smtpd_tls_security_level",
                "smtpd_tls_auth_only",
            ],
            message: "SASL is on, this listener has no TLS, and smtpd_sasl_security_options \
                      allows plaintext mechanisms: every PLAIN/LOGIN password crosses the \
                      network in cleartext. (Adding `noplaintext` alone only hides the \
                      problem; the fix is TLS with smtpd_tls_auth_only = yes.)"
                .to_owned(),
            rfc: "postconf(5) smtpd_sasl_security_options",
            seen: format!(
                "{}; {}",
                setting(listener, "smtpd_sasl_security_options"),
                setting(listener, "smtpd_tls_security_level")
            ),
            fix: "smtpd_tls_security_level = may (encrypt on submission), \
                  smtpd_tls_auth_only = yes, smtpd_sasl_security_options = noanonymous, \
                  noplaintext"
                .to_owned(),
        }],
        TlsLevel::None => Vec::new(),
    }
}

/// postfix.sasl_on_port25: clients should submit on 587/465; AUTH on 25 invites password
/// guessing from every bot that finds the MX.
fn port25(listener: &Listener<'_>) -> Vec<Hit> {
    if listener.role() != Role::Mx {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.sasl_on_port25",
        severity: Severity::Warning,
        settings: &["smtpd_sasl_auth_enable"],
        message: "SASL AUTH is enabled on the port-25 listener; mail clients belong on \
                  submission (587/465), and AUTH on the MX draws password-guessing bots"
            .to_owned(),
        rfc: "postconf(5) smtpd_sasl_auth_enable",
        seen: setting(listener, "smtpd_sasl_auth_enable"),
        fix: "smtpd_sasl_auth_enable = no in main.cf; -o smtpd_sasl_auth_enable=yes on the \
              submission and submissions lines of master.cf"
            .to_owned(),
    }]
}

/// postfix.client_sasl_confusion: main.cf tunes the SMTP *client's* SASL options but not the
/// server's.
pub(super) fn client_confusion(config: &PostfixConfig) -> Vec<Finding> {
    let client = config.explicit.get("smtp_sasl_security_options");
    if client.is_none() || config.explicit.contains_key("smtpd_sasl_security_options") {
        return Vec::new();
    }
    vec![
        Finding::new(
            "postfix.client_sasl_confusion",
            Severity::Info,
            "main.cf",
            "smtp_sasl_security_options is set but smtpd_sasl_security_options is not: the \
             first is the SMTP client's (Postfix logging in to a relay host), the second the \
             server's (your users logging in). Several hardening guides set the client one \
             meaning the server one; the server keeps its default (noanonymous)",
            "postconf(5) smtpd_sasl_security_options",
        )
        .seen(format!(
            "smtp_sasl_security_options = {}",
            client.map(String::as_str).unwrap_or_default()
        ))
        .fix("smtpd_sasl_security_options = noanonymous, noplaintext"),
    ]
}
