//! The Postfix defaults the audit needs when it cannot ask `postconf -d` (Postfix 3.7, as
//! `postconf -d` prints them, compatibility-level expressions included, so a main.cf without
//! `compatibility_level` is judged like Postfix would judge it). Parameters whose default is
//! empty are left out: an unknown name expands to nothing.

use std::collections::BTreeMap;

/// `(name, raw default)`.
const DEFAULTS: &[(&str, &str)] = &[
    ("compatibility_level", "0"),
    (
        "smtpd_relay_restrictions",
        "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination}}",
    ),
    (
        "mynetworks_style",
        "${{$compatibility_level} <level {2} ? {subnet} : {host}}",
    ),
    ("smtpd_use_tls", "no"),
    ("smtpd_enforce_tls", "no"),
    ("smtpd_tls_wrappermode", "no"),
    ("smtpd_tls_auth_only", "no"),
    ("smtpd_sasl_auth_enable", "no"),
    ("smtpd_sasl_security_options", "noanonymous"),
    (
        "smtpd_sasl_tls_security_options",
        "$smtpd_sasl_security_options",
    ),
    ("smtp_sasl_security_options", "noplaintext, noanonymous"),
    ("smtpd_tls_protocols", ">=TLSv1"),
    ("smtpd_tls_mandatory_protocols", ">=TLSv1"),
    ("smtpd_tls_key_file", "$smtpd_tls_cert_file"),
    ("smtpd_tls_eckey_file", "$smtpd_tls_eccert_file"),
    ("smtpd_tls_dkey_file", "$smtpd_tls_dcert_file"),
    ("smtpd_client_message_rate_limit", "0"),
    ("smtpd_client_connection_rate_limit", "0"),
    ("smtpd_client_connection_count_limit", "50"),
    ("smtpd_client_recipient_rate_limit", "0"),
    (
        "smtpd_client_event_limit_exceptions",
        "${smtpd_client_connection_limit_exceptions:$mynetworks}",
    ),
    ("smtpd_recipient_limit", "1000"),
    ("disable_vrfy_command", "no"),
    ("smtpd_helo_required", "no"),
    ("smtpd_banner", "$myhostname ESMTP $mail_name"),
    ("mail_name", "Postfix"),
    ("mail_version", "3.7"),
    ("config_directory", "/etc/postfix"),
];

/// The built-in defaults as a map.
pub fn builtin() -> BTreeMap<String, String> {
    DEFAULTS
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}
