//! Abuse limits and what the server tells strangers: client rate and connection limits,
//! the recipient limit, VRFY, HELO, and the version in the banner.

use super::{Hit, setting};
use crate::audit::postfix::{Listener, expand};
use crate::report::Severity;

const RATE_LIMITS: &[&str] = &[
    "smtpd_client_message_rate_limit",
    "smtpd_client_connection_rate_limit",
    "smtpd_client_connection_count_limit",
];

/// postfix.rate_limits_missing: a limit of 0 means none.
pub(super) fn rates(listener: &Listener<'_>) -> Vec<Hit> {
    let unlimited: Vec<String> = RATE_LIMITS
        .iter()
        .filter(|name| listener.value(name).trim() == "0")
        .map(|name| setting(listener, name))
        .collect();
    if unlimited.is_empty() {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.rate_limits_missing",
        severity: Severity::Warning,
        settings: RATE_LIMITS,
        message: format!(
            "no per-client limit (0 = unlimited): one client can open connections and send \
             messages as fast as it likes. Clients in smtpd_client_event_limit_exceptions \
             (here `{}`, by default $mynetworks) are exempt from these limits",
            listener
                .raw("smtpd_client_event_limit_exceptions")
                .unwrap_or_default()
        ),
        rfc: "postconf(5) smtpd_client_message_rate_limit",
        seen: unlimited.join("; "),
        fix: "smtpd_client_message_rate_limit = 100, smtpd_client_connection_rate_limit = 60, \
              smtpd_client_connection_count_limit = 20 (anvil_rate_time_unit = 60s)"
            .to_owned(),
    }]
}

/// postfix.recipient_limit_high.
pub(super) fn recipients(listener: &Listener<'_>) -> Vec<Hit> {
    let value = listener.value("smtpd_recipient_limit");
    match value.trim().parse::<u64>() {
        Ok(limit) if limit > 1000 => vec![Hit {
            code: "postfix.recipient_limit_high",
            severity: Severity::Info,
            settings: &["smtpd_recipient_limit"],
            message: format!(
                "one message may carry {limit} recipients (default 1000): a hijacked account \
                 sends more spam per message"
            ),
            rfc: "postconf(5) smtpd_recipient_limit",
            seen: setting(listener, "smtpd_recipient_limit"),
            fix: "smtpd_recipient_limit = 1000 (or lower)".to_owned(),
        }],
        _ => Vec::new(),
    }
}

/// postfix.vrfy_enabled.
pub(super) fn vrfy(listener: &Listener<'_>) -> Vec<Hit> {
    if listener.flag("disable_vrfy_command") {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.vrfy_enabled",
        severity: Severity::Warning,
        settings: &["disable_vrfy_command"],
        message: "VRFY is answered: anyone can test which addresses exist (harvesting)".to_owned(),
        rfc: "postconf(5) disable_vrfy_command",
        seen: setting(listener, "disable_vrfy_command"),
        fix: "disable_vrfy_command = yes".to_owned(),
    }]
}

/// postfix.helo_not_required.
pub(super) fn helo(listener: &Listener<'_>) -> Vec<Hit> {
    if listener.flag("smtpd_helo_required") {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.helo_not_required",
        severity: Severity::Info,
        settings: &["smtpd_helo_required"],
        message: "clients may skip HELO/EHLO, which many spam tools do".to_owned(),
        rfc: "postconf(5) smtpd_helo_required",
        seen: setting(listener, "smtpd_helo_required"),
        fix: "smtpd_helo_required = yes".to_owned(),
    }]
}

/// postfix.banner_version: the greeting names the exact Postfix version. Detected by
/// expanding the banner with a marker in place of mail_version, so a reference through
/// another parameter counts too.
pub(super) fn banner(listener: &Listener<'_>) -> Vec<Hit> {
    const MARK: &str = "\u{1}";
    let raw = listener.raw("smtpd_banner").unwrap_or_default();
    let marked = expand::expand(&raw, &|name| {
        if name == "mail_version" {
            Some(MARK.to_owned())
        } else {
            listener.raw(name)
        }
    });
    if !marked.contains(MARK) {
        return Vec::new();
    }
    vec![Hit {
        code: "postfix.banner_version",
        severity: Severity::Warning,
        settings: &["smtpd_banner"],
        message: "the 220 greeting shows the Postfix version ($mail_version), telling \
                  attackers which vulnerabilities to try"
            .to_owned(),
        rfc: "postconf(5) smtpd_banner",
        seen: setting(listener, "smtpd_banner"),
        fix: "smtpd_banner = $myhostname ESMTP".to_owned(),
    }]
}
