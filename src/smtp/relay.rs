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

/// One pair to try; addresses as they go between the angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPair {
    /// The reverse-path ("" for the null sender).
    pub mail_from: String,
    /// The forward-path.
    pub rcpt_to: String,
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
    /// RCPT got a 2xx reply: the server would relay this pair.
    pub accepted: bool,
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
    };
    let from = FOREIGN_SENDER;
    let to = FOREIGN_RECIPIENT;
    vec![
        pair(from, to),
        pair("", to),
        pair(&format!("a@{own_name}"), to),
        pair(&format!("a@{literal}"), to),
        pair(&format!("postmaster@{own_name}"), to),
        pair(from, &format!("b%other.example@{own_name}")),
        pair(from, &format!("b%other.example@{literal}")),
        pair(from, &format!("other.example!b@{own_name}")),
        pair(from, &format!("other.example!b@{literal}")),
        pair(from, &format!("\"b@other.example\"@{own_name}")),
        pair(from, "\"b@other.example\""),
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
    }
}

/// `smtp.open_relay` listing every accepted pair, or nothing when none was.
pub fn finding(attempts: &[RelayAttempt], record: &str) -> Option<Finding> {
    let accepted: Vec<String> = attempts
        .iter()
        .filter(|a| a.accepted)
        .map(|a| format!("<{}> -> <{}>: {}", a.mail_from, a.rcpt_to, a.reply))
        .collect();
    if accepted.is_empty() {
        return None;
    }
    Some(
        Finding::new(
            "smtp.open_relay",
            Severity::Error,
            record,
            format!(
                "open relay: {} of {} foreign-recipient pairs were accepted from an unauthenticated client",
                accepted.len(),
                attempts.len()
            ),
            "RFC 5321 §3.9",
        )
        .seen(accepted.join("; "))
        .fix("relay only for authenticated clients and your own networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; keep mynetworks to your own hosts)"),
    )
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
