//! The relay battery: MAIL FROM/RCPT TO pairs that a server must refuse to a client outside its
//! trusted networks, covering the tricks open-relay testers have used since the 1990s (foreign
//! sender and recipient, null sender, the server's own name or address literal as sender, the
//! `%` hack, `!` bang paths, quoted local parts, source routes, case and trailing-dot variants).
//!
//! This module builds the pairs, tries one on a session (RSET, MAIL, RCPT, never DATA) and
//! reports the accepted ones; connecting and reconnecting belong to [`super::probe`].

use std::net::IpAddr;

use serde::Serialize;

use super::SmtpError;
use super::client::{Reply, Session};
use crate::report::{Finding, Severity};

/// The foreign sender domain of the battery (RFC 2606 reserves `.example`).
pub const FOREIGN_SENDER: &str = "a@foreign.example";
/// The foreign recipient: a server relaying to it is an open relay.
pub const FOREIGN_RECIPIENT: &str = "b@other.example";

/// What accepting a pair's recipient would prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairKind {
    /// The recipient's domain is foreign (plain, case or trailing-dot variants, a foreign
    /// address literal, or a source route, whose route RFC 5321 §3.6.1 lets servers ignore and
    /// deliver to the final domain): a 2xx at RCPT is an open relay.
    Foreign,
    /// The recipient is in the server's own domain (or has none) and only its local part
    /// routes elsewhere (`%` hack, `!` bang path, quoted `@`). A 2xx at RCPT shows the server
    /// takes it as local mail; it relays only if it then interprets that routing, which cannot
    /// be seen without DATA.
    LocalRouting,
}

/// One pair to try; addresses as they go between the angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPair {
    /// The reverse-path ("" for the null sender).
    pub mail_from: String,
    /// The forward-path.
    pub rcpt_to: String,
    /// What an acceptance would prove.
    pub kind: PairKind,
}

/// What the server said to one pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayAttempt {
    /// The reverse-path tried.
    pub mail_from: String,
    /// The forward-path tried.
    pub rcpt_to: String,
    /// The reply that decided it: RCPT's, or MAIL's when MAIL was refused.
    pub reply: String,
    /// RCPT got a 2xx reply.
    pub accepted: bool,
    /// Whether an acceptance is a relay (`foreign`) or a local address with routing syntax.
    pub kind: PairKind,
}

/// An address literal for `ip` (RFC 5321 §4.1.3).
pub fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// The battery for a server calling itself `own_name` at `ip`.
pub fn battery(own_name: &str, ip: IpAddr) -> Vec<RelayPair> {
    let literal = address_literal(ip);
    let pair = |from: &str, to: &str| RelayPair {
        mail_from: from.to_owned(),
        rcpt_to: to.to_owned(),
        kind: PairKind::Foreign,
    };
    let routed = |from: &str, to: &str| RelayPair {
        kind: PairKind::LocalRouting,
        ..pair(from, to)
    };
    let from = FOREIGN_SENDER;
    let to = FOREIGN_RECIPIENT;
    vec![
        pair(from, to),
        pair("", to),
        pair(&format!("a@{own_name}"), to),
        pair(&format!("a@{literal}"), to),
        pair(&format!("postmaster@{own_name}"), to),
        routed(from, &format!("b%other.example@{own_name}")),
        routed(from, &format!("b%other.example@{literal}")),
        routed(from, &format!("other.example!b@{own_name}")),
        routed(from, &format!("other.example!b@{literal}")),
        routed(from, &format!("\"b@other.example\"@{own_name}")),
        routed(from, "\"b@other.example\""),
        pair(from, &format!("@{own_name}:b@other.example")),
        pair(from, &format!("@{literal}:b@other.example")),
        pair(from, "b@OTHER.EXAMPLE"),
        pair(from, "b@other.example."),
        pair(&format!("a@{own_name}"), "b@[192.0.2.1]"),
    ]
}

/// Try one pair after RSET: MAIL FROM, then RCPT TO when MAIL was accepted. Never DATA.
pub async fn try_pair(session: &mut Session, pair: &RelayPair) -> Result<RelayAttempt, SmtpError> {
    session.command("RSET").await?;
    let mail = session
        .command(&format!("MAIL FROM:<{}>", pair.mail_from))
        .await?;
    if !mail.is_positive() {
        return Ok(attempt(pair, &mail, false));
    }
    let rcpt = session
        .command(&format!("RCPT TO:<{}>", pair.rcpt_to))
        .await?;
    Ok(attempt(pair, &rcpt, rcpt.is_positive()))
}

fn attempt(pair: &RelayPair, reply: &Reply, accepted: bool) -> RelayAttempt {
    RelayAttempt {
        mail_from: pair.mail_from.clone(),
        rcpt_to: pair.rcpt_to.clone(),
        reply: reply.text(),
        accepted,
        kind: pair.kind,
    }
}

/// `smtp.open_relay` listing every accepted foreign pair, and `smtp.relay_routing_accepted`
/// for accepted local-routing pairs (a warning: taken as local mail, relayed only if the server
/// interprets the routing).
pub fn findings(attempts: &[RelayAttempt], record: &str) -> Vec<Finding> {
    let accepted = |kind: PairKind| -> Vec<String> {
        attempts
            .iter()
            .filter(|a| a.accepted && a.kind == kind)
            .map(|a| format!("<{}> -> <{}>: {}", a.mail_from, a.rcpt_to, a.reply))
            .collect()
    };
    let tried = |kind: PairKind| attempts.iter().filter(|a| a.kind == kind).count();
    let mut findings = Vec::new();
    let foreign = accepted(PairKind::Foreign);
    if !foreign.is_empty() {
        findings.push(
            Finding::new(
                "smtp.open_relay",
                Severity::Error,
                record,
                format!(
                    "open relay: {} of {} foreign-recipient pairs were accepted from an unauthenticated client",
                    foreign.len(),
                    tried(PairKind::Foreign)
                ),
                "RFC 5321 §3.9",
            )
            .seen(foreign.join("; "))
            .fix("relay only for authenticated clients and your own networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; keep mynetworks to your own hosts)"),
        );
    }
    let routed = accepted(PairKind::LocalRouting);
    if !routed.is_empty() {
        findings.push(
            Finding::new(
                "smtp.relay_routing_accepted",
                Severity::Warning,
                record,
                format!(
                    "{} of {} recipients in this server's own domain whose local part routes to another domain (% hack, ! bang path, quoted @) were accepted at RCPT; this relays only if the server then interprets that routing, which the probe cannot see without DATA. Accepting unknown local parts also means bouncing them later (backscatter)",
                    routed.len(),
                    tried(PairKind::LocalRouting)
                ),
                "RFC 5321 §3.6.1, §4.1.1.3",
            )
            .seen(routed.join("; "))
            .fix("refuse unknown recipients at RCPT (Postfix: smtpd_reject_unlisted_recipient = yes; Exim: verify = recipient in acl_smtp_rcpt; Sendmail: no FEATURE(`loose_relay_check')), and confirm with --data TO using a mailbox you own"),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn battery_has_sixteen_pairs_with_the_classic_tricks() {
        let pairs = battery("mx.example.test", "192.0.2.25".parse().unwrap());
        assert_eq!(pairs.len(), 16);
        let tos: Vec<&str> = pairs.iter().map(|p| p.rcpt_to.as_str()).collect();
        assert!(tos.contains(&"b%other.example@mx.example.test"));
        assert!(tos.contains(&"other.example!b@[192.0.2.25]"));
        assert!(tos.contains(&"@mx.example.test:b@other.example"));
        assert!(tos.contains(&"\"b@other.example\"@mx.example.test"));
        assert!(pairs.iter().any(|p| p.mail_from.is_empty()));
    }

    /// RFC 5321 §4.1.3: IPv6 address literals carry the "IPv6:" tag.
    #[test]
    fn rfc5321_4_1_3_address_literals() {
        assert_eq!(address_literal("192.0.2.1".parse().unwrap()), "[192.0.2.1]");
        assert_eq!(
            address_literal("2001:db8::1".parse().unwrap()),
            "[IPv6:2001:db8::1]"
        );
    }
}
