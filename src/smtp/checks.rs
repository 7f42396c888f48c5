//! What the probe saw, turned into findings: one small function per check, each taking the
//! replies or capabilities observed (no I/O except the PTR lookups through the [`Resolver`]).
//! The dialogue that collects the observations is in [`super::probe`].

use std::net::IpAddr;

use super::client::{Reply, auth_mechanisms, has_extension};
use super::legacy_tls::{LegacyOutcome, LegacyVersion};
use super::{Role, SmtpError};
use crate::dns::Resolver;
use crate::report::{Finding, Severity};

/// Software names that banners give away, as they appear in them.
const SOFTWARE: &[&str] = &[
    "Postfix",
    "Exim",
    "Sendmail",
    "Microsoft ESMTP MAIL Service",
    "Exchange",
    "qmail",
    "OpenSMTPD",
    "hMailServer",
    "MDaemon",
    "Haraka",
    "Zimbra",
    "Kerio",
    "IceWarp",
    "CommuniGate",
];

/// `smtp.connect_failed` for a target that could not be reached at all.
pub fn connect_failed(record: &str, error: &SmtpError) -> Finding {
    Finding::new(
        "smtp.connect_failed",
        Severity::Error,
        record,
        "the server could not be reached: nothing else could be checked",
        "RFC 5321 §3.1",
    )
    .seen(error.to_string())
    .fix("check that the server listens on this address and port and that no firewall drops the probe; run again")
}

/// `smtp.service_unavailable` when a 421 (or a refused greeting) ended the probe early.
pub fn service_unavailable(record: &str, error: &SmtpError) -> Finding {
    Finding::new(
        "smtp.service_unavailable",
        Severity::Warning,
        record,
        "the server ended the session (421 or a refused greeting), so the probe stopped; later checks did not run",
        "RFC 5321 §3.8",
    )
    .seen(error.to_string())
    .fix("if the server limits this client (rate limit, blocklist), probe from an address it accepts or later")
}

/// `smtp.banner_software` (info) when the greeting names the server software.
pub fn banner_software(record: &str, banner: &Reply) -> Option<Finding> {
    let text = banner.lines.join(" ");
    let lower = text.to_ascii_lowercase();
    let software = SOFTWARE
        .iter()
        .find(|s| lower.contains(&s.to_ascii_lowercase()))?;
    let version = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '/')
        .find(|w| looks_like_version(w));
    let message = match version {
        Some(v) => format!("the greeting names the software ({software}) and its version ({v})"),
        None => format!("the greeting names the software ({software})"),
    };
    Some(
        Finding::new(
            "smtp.banner_software",
            Severity::Info,
            record,
            message,
            "RFC 5321 §4.3.1",
        )
        .seen(banner.text())
        .fix("a greeting needs only the host name and ESMTP (Postfix: smtpd_banner = $myhostname ESMTP)"),
    )
}

fn looks_like_version(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    word.contains('.')
        && digits >= 2
        && word.chars().next().is_some_and(|c| c.is_ascii_digit())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

/// `smtp.auth_before_tls`: PLAIN or LOGIN offered before TLS (on a port that offers STARTTLS, or
/// on one that offers no TLS at all).
pub fn auth_before_tls(record: &str, ehlo: &[String]) -> Option<Finding> {
    let mechanisms = auth_mechanisms(ehlo);
    let cleartext: Vec<&str> = mechanisms
        .iter()
        .map(String::as_str)
        .filter(|m| matches!(*m, "PLAIN" | "LOGIN"))
        .collect();
    if cleartext.is_empty() {
        return None;
    }
    // Without STARTTLS at all the password can only ever travel in clear text.
    let when = if has_extension(ehlo, "STARTTLS") {
        "before STARTTLS"
    } else {
        "on a port without TLS"
    };
    Some(
        Finding::new(
            "smtp.auth_before_tls",
            Severity::Error,
            record,
            format!(
                "{} offered {when}: clients may send passwords in clear text",
                cleartext.join(" and ")
            ),
            "RFC 4954 §4",
        )
        .seen(format!("EHLO before TLS: AUTH {}", mechanisms.join(" ")))
        .fix("offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes; Exim: auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}})"),
    )
}

/// `smtp.auth_anonymous` when ANONYMOUS is among the mechanisms (before or after TLS).
pub fn auth_anonymous(
    record: &str,
    ehlo: &[String],
    ehlo_tls: Option<&[String]>,
) -> Option<Finding> {
    let anonymous = |ext: &[String]| auth_mechanisms(ext).iter().any(|m| m == "ANONYMOUS");
    if !anonymous(ehlo) && !ehlo_tls.is_some_and(anonymous) {
        return None;
    }
    Some(
        Finding::new(
            "smtp.auth_anonymous",
            Severity::Error,
            record,
            "AUTH ANONYMOUS is offered: anyone can authenticate, and authenticated clients may relay",
            "RFC 4505 §1",
        )
        .seen("EHLO: AUTH ... ANONYMOUS")
        .fix("refuse anonymous SASL (Postfix: smtpd_sasl_security_options = noanonymous, noplaintext with smtpd_sasl_tls_security_options = noanonymous)"),
    )
}

/// `smtp.starttls_missing`: a plaintext port that does not offer STARTTLS.
pub fn starttls_missing(record: &str, role: Role, ehlo: &[String]) -> Option<Finding> {
    if role == Role::Smtps || has_extension(ehlo, "STARTTLS") {
        return None;
    }
    Some(
        Finding::new(
            "smtp.starttls_missing",
            Severity::Error,
            record,
            "STARTTLS is not offered: mail to and from this server travels in clear text",
            "RFC 3207 §4",
        )
        .seen(format!("EHLO: {}", ehlo.join(", ")))
        .fix("offer STARTTLS with a certificate (Postfix: smtpd_tls_security_level = may, smtpd_tls_chain_files = key.pem, cert.pem)"),
    )
}

/// `smtp.starttls_required_missing`: submission accepted MAIL FROM before STARTTLS.
pub fn starttls_required_missing(record: &str, mail: &Reply) -> Option<Finding> {
    if !mail.is_positive() {
        return None;
    }
    Some(
        Finding::new(
            "smtp.starttls_required_missing",
            Severity::Error,
            record,
            "the submission port accepted MAIL FROM before STARTTLS: clients can submit without encryption",
            "RFC 8314 §3.3",
        )
        .seen(format!("MAIL FROM before TLS: {}", mail.text()))
        .fix("require TLS on submission (Postfix master.cf submission: -o smtpd_tls_security_level=encrypt)"),
    )
}

/// `smtp.auth_cleartext_accepted`: the server processed a credential before TLS (235).
pub fn auth_cleartext_accepted(record: &str, reply: &Reply) -> Option<Finding> {
    if reply.code != 235 {
        return None;
    }
    Some(
        Finding::new(
            "smtp.auth_cleartext_accepted",
            Severity::Error,
            record,
            "a password sent without TLS was accepted: anyone on the path can read it",
            "RFC 4954 §4",
        )
        .seen(format!("AUTH before TLS: {}", reply.text()))
        .fix("accept AUTH only over TLS (Postfix: smtpd_tls_auth_only = yes) and change the password that was sent in clear text")
    )
}

/// `smtp.auth_relay_ok` (info) or `smtp.auth_relay_refused` (error): the guides' positive test.
pub fn auth_relay(record: &str, auth: &Reply, rcpt: Option<&Reply>) -> Finding {
    match rcpt {
        Some(rcpt) if auth.code == 235 && rcpt.is_positive() => Finding::new(
            "smtp.auth_relay_ok",
            Severity::Info,
            record,
            "an authenticated client may relay to a foreign domain over TLS, as it should",
            "RFC 4954 §6",
        )
        .seen(format!("AUTH: {}; RCPT: {}", auth.text(), rcpt.text())),
        Some(rcpt) => Finding::new(
            "smtp.auth_relay_refused",
            Severity::Error,
            record,
            "an authenticated client may not relay to a foreign domain: your users cannot send mail out",
            "RFC 4954 §6",
        )
        .seen(format!("AUTH: {}; RCPT: {}", auth.text(), rcpt.text()))
        .fix("permit authenticated clients before reject_unauth_destination (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination)"),
        None => Finding::new(
            "smtp.auth_relay_refused",
            Severity::Error,
            record,
            "authentication over TLS failed, so the authenticated relay test could not pass",
            "RFC 4954 §6",
        )
        .seen(format!("AUTH: {}", auth.text()))
        .fix("check the user name and password given to the probe, and the server's SASL setup"),
    }
}

/// `smtp.starttls_injection`: a reply arrived inside TLS to a command sent before it
/// (CVE-2011-0411).
pub fn starttls_injection(record: &str, reply: &Reply) -> Finding {
    Finding::new(
        "smtp.starttls_injection",
        Severity::Error,
        record,
        "plaintext pipelined after STARTTLS was executed inside the TLS session: an attacker on the path can inject commands (CVE-2011-0411)",
        "RFC 3207 §4.2",
    )
    .seen(format!("sent \"STARTTLS\\r\\nNOOP\\r\\n\" in one write; after the handshake, unasked: {}", reply.text()))
    .fix("upgrade the MTA: it must discard input buffered before the TLS handshake")
}

/// `smtp.tls_protocol_legacy`: SSLv3 accepted (error), TLS 1.0/1.1 accepted (warning).
pub fn tls_protocol_legacy(
    record: &str,
    results: &[(LegacyVersion, LegacyOutcome)],
) -> Vec<Finding> {
    results
        .iter()
        .filter(|(_, outcome)| matches!(outcome, LegacyOutcome::Accepted))
        .map(|(version, _)| {
            let ssl3 = matches!(version, LegacyVersion::Ssl3);
            let severity = if ssl3 {
                Severity::Error
            } else {
                Severity::Warning
            };
            Finding::new(
                "smtp.tls_protocol_legacy",
                severity,
                record,
                format!("the server accepts {version}, which is deprecated and weak"),
                if ssl3 { "RFC 7568 §3" } else { "RFC 8996 §5" },
            )
            .seen(format!("a {version} ClientHello was answered with a {version} ServerHello"))
            .fix("allow TLS 1.2 and later only (Postfix: smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols = >=TLSv1.2)")
        })
        .collect()
}

/// `smtp.vrfy_enabled`: VRFY confirmed a mailbox. 252 without an address ("cannot VRFY user,
/// but will accept message") reveals nothing and is fine (RFC 5321 §3.5.3).
pub fn vrfy_enabled(record: &str, asked: &str, reply: &Reply) -> Option<Finding> {
    if !confirms_mailbox(asked, reply) {
        return None;
    }
    Some(
        Finding::new(
            "smtp.vrfy_enabled",
            Severity::Warning,
            record,
            "VRFY confirms mailboxes: anyone can check which addresses exist",
            "RFC 5321 §7.3",
        )
        .seen(format!("VRFY {asked}: {}", reply.text()))
        .fix("disable VRFY (Postfix: disable_vrfy_command = yes; Sendmail: PrivacyOptions=novrfy)"),
    )
}

/// `smtp.expn_enabled`: EXPN answered with a list (250).
pub fn expn_enabled(record: &str, asked: &str, reply: &Reply) -> Option<Finding> {
    if !(reply.code == 250 || reply.code == 251) {
        return None;
    }
    Some(
        Finding::new(
            "smtp.expn_enabled",
            Severity::Warning,
            record,
            "EXPN expands mailing lists and aliases for anyone",
            "RFC 5321 §7.3",
        )
        .seen(format!("EXPN {asked}: {}", reply.text()))
        .fix("disable EXPN (Sendmail: PrivacyOptions=noexpn; Exim: no smtp_expn_hosts)"),
    )
}

fn confirms_mailbox(asked: &str, reply: &Reply) -> bool {
    match reply.code {
        250 | 251 => true,
        // 252 is "cannot verify" unless it echoes the mailbox back (Postfix: "252 2.0.0 postmaster").
        252 => {
            let text = reply.lines.join(" ").to_ascii_lowercase();
            let words: Vec<&str> = text
                .split(|c: char| c.is_whitespace() || c == '<' || c == '>')
                .collect();
            words.iter().any(|w| w.contains('@'))
                || words.iter().any(|w| *w == asked.to_ascii_lowercase())
        }
        _ => false,
    }
}

/// `smtp.ptr_mismatch` (warning): no PTR for `ip`, PTR names that do not resolve back to it, or
/// none of them equal to the name the server announces. Temporary DNS failures produce nothing.
pub async fn ptr_mismatch(
    resolver: &dyn Resolver,
    record: &str,
    ip: IpAddr,
    announced: &[&str],
) -> Option<Finding> {
    let problem = ptr_problem(resolver, ip, announced).await?;
    Some(
        Finding::new(
            "smtp.ptr_mismatch",
            Severity::Warning,
            record,
            format!("{problem}: receivers and spam filters distrust servers without forward-confirmed reverse DNS"),
            "RFC 1912 §2.1",
        )
        .seen(format!("address {ip}; announced name {}", announced.join(", ")))
        .fix(format!("publish a PTR for {ip} naming the server's host name, with an A/AAAA record back to {ip}, and use that name in the banner (Postfix: myhostname)")),
    )
}

async fn ptr_problem(resolver: &dyn Resolver, ip: IpAddr, announced: &[&str]) -> Option<String> {
    let names = match resolver.ptr(ip).await {
        Ok(names) => names,
        Err(e) if e.is_temporary() => return None,
        Err(_) => return Some(format!("no PTR record for {ip}")),
    };
    let mut confirmed = Vec::new();
    for name in &names {
        if forward_addresses(resolver, name).await.contains(&ip) {
            confirmed.push(name.to_ascii_lowercase());
        }
    }
    if confirmed.is_empty() {
        return Some(format!(
            "the PTR name {} does not resolve back to {ip}",
            names.join(", ")
        ));
    }
    let matches = announced.iter().any(|a| {
        let a = a.trim_end_matches('.').to_ascii_lowercase();
        confirmed.contains(&a)
    });
    if !matches && !announced.is_empty() {
        return Some(format!(
            "the PTR name {} differs from the name the server announces",
            confirmed.join(", ")
        ));
    }
    None
}

async fn forward_addresses(resolver: &dyn Resolver, name: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    if let Ok(v4) = resolver.a(name).await {
        out.extend(v4.into_iter().map(IpAddr::V4));
    }
    if let Ok(v6) = resolver.aaaa(name).await {
        out.extend(v6.into_iter().map(IpAddr::V6));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            lines: vec![text.to_owned()],
        }
    }

    /// RFC 5321 §3.5.3: 252 "cannot VRFY user" is a legitimate answer that reveals nothing.
    #[test]
    fn rfc5321_3_5_3_vrfy_252_without_address_is_fine() {
        let r = reply(252, "2.1.5 Cannot VRFY user, but will accept message");
        assert!(vrfy_enabled("x", "postmaster", &r).is_none());
        let r = reply(252, "2.0.0 postmaster");
        assert!(vrfy_enabled("x", "postmaster", &r).is_some());
        let r = reply(250, "2.1.5 Postmaster <postmaster@mx.example.test>");
        assert!(vrfy_enabled("x", "postmaster", &r).is_some());
        let r = reply(502, "5.5.1 VRFY command is disabled");
        assert!(vrfy_enabled("x", "postmaster", &r).is_none());
    }

    #[test]
    fn banner_software_and_version() {
        let f = banner_software(
            "x",
            &reply(220, "mx.example.test ESMTP Exim 4.96 Sun, 29 Nov"),
        )
        .unwrap();
        assert!(
            f.message.contains("Exim") && f.message.contains("4.96"),
            "{}",
            f.message
        );
        assert!(banner_software("x", &reply(220, "mx.example.test ESMTP")).is_none());
    }

    /// RFC 4954 §4: PLAIN/LOGIN only after TLS on a port that offers STARTTLS.
    #[test]
    fn rfc4954_4_auth_plain_login_before_tls() {
        let ext = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(auth_before_tls("x", &ext(&["STARTTLS", "AUTH PLAIN LOGIN"])).is_some());
        assert!(auth_before_tls("x", &ext(&["STARTTLS", "AUTH CRAM-MD5"])).is_none());
        assert!(auth_before_tls("x", &ext(&["AUTH PLAIN"])).is_some());
    }
}
