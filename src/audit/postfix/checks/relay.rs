//! Relay control: the RCPT TO restrictions that decide whether a stranger may send through the
//! server (smtpd_relay_restrictions, then smtpd_recipient_restrictions), and `mynetworks`, the
//! clients that `permit_mynetworks` lets relay without authenticating.

use std::net::IpAddr;

use super::{Hit, setting};
use crate::audit::postfix::{Listener, words};
use crate::report::Severity;

/// Restrictions that stop mail to foreign domains; anything after them is not reached for an
/// unauthorised destination. postconf(5) smtpd_relay_restrictions names these as the ones
/// smtpd demands.
const PROTECTS: &[&str] = &[
    "reject_unauth_destination",
    "defer_unauth_destination",
    "reject",
    "defer",
    "defer_all",
];

/// Restrictions that accept any recipient for (nearly) any client. `permit_auth_destination`
/// is not here: it accepts only local and relay_domains recipients.
const PERMITS_ANY: &[&str] = &["permit", "permit_tls_all_clientcerts"];

const RELAY_SETTINGS: &[&str] = &["smtpd_relay_restrictions", "smtpd_recipient_restrictions"];

/// How one restriction list treats a foreign recipient from an unknown client.
#[derive(Debug, PartialEq, Eq)]
enum ListVerdict {
    /// A rejecting restriction comes first: this list stops relaying.
    Protects,
    /// This permit comes first: the list lets every recipient through.
    PermitsFirst(String),
    /// Nothing in the list stops relaying.
    Silent,
}

fn verdict(list: &str) -> ListVerdict {
    for word in words(list) {
        if PROTECTS.contains(&word.as_str()) {
            return ListVerdict::Protects;
        }
        if PERMITS_ANY.contains(&word.as_str()) {
            return ListVerdict::PermitsFirst(word);
        }
    }
    ListVerdict::Silent
}

/// postfix.relay_permit_before_reject and postfix.relay_no_reject_unauth_destination.
pub(super) fn restrictions(listener: &Listener<'_>) -> Vec<Hit> {
    let relay = verdict(&listener.value("smtpd_relay_restrictions"));
    let recipient = verdict(&listener.value("smtpd_recipient_restrictions"));
    if relay == ListVerdict::Protects || recipient == ListVerdict::Protects {
        return Vec::new();
    }
    let seen = format!(
        "{}; {}",
        setting(listener, "smtpd_relay_restrictions"),
        setting(listener, "smtpd_recipient_restrictions")
    );
    let fix = "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, \
               reject_unauth_destination"
        .to_owned();
    let permit = [relay, recipient].into_iter().find_map(|v| match v {
        ListVerdict::PermitsFirst(word) => Some(word),
        _ => None,
    });
    let hit = match permit {
        Some(word) => Hit {
            code: "postfix.relay_permit_before_reject",
            severity: Severity::Error,
            settings: RELAY_SETTINGS,
            message: format!(
                "open relay: `{word}` accepts any recipient before reject_unauth_destination \
                 is reached, and neither restriction list stops foreign recipients before a permit"
            ),
            rfc: "postconf(5) smtpd_relay_restrictions",
            seen,
            fix,
        },
        None => Hit {
            code: "postfix.relay_no_reject_unauth_destination",
            severity: Severity::Error,
            settings: RELAY_SETTINGS,
            message: "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions has \
                      reject_unauth_destination, defer_unauth_destination or a final reject: \
                      Postfix 3.x smtpd refuses to run like this (fatal error per connection), \
                      and older versions relay for anyone"
                .to_owned(),
            rfc: "postconf(5) smtpd_relay_restrictions",
            seen,
            fix,
        },
    };
    vec![hit]
}

/// postfix.mynetworks_too_wide.
pub(super) fn mynetworks(listener: &Listener<'_>) -> Vec<Hit> {
    if !listener.is_set("mynetworks") {
        return style(listener);
    }
    let entries = words(&listener.value("mynetworks"));
    let wide: Vec<(String, bool)> = entries
        .iter()
        .filter_map(|entry| too_wide(entry).map(|very| (entry.clone(), very)))
        .collect();
    if wide.is_empty() {
        return Vec::new();
    }
    let very = wide.iter().any(|(_, very)| *very);
    let names: Vec<&str> = wide.iter().map(|(e, _)| e.as_str()).collect();
    vec![Hit {
        code: "postfix.mynetworks_too_wide",
        severity: if very {
            Severity::Error
        } else {
            Severity::Warning
        },
        settings: &["mynetworks"],
        message: format!(
            "mynetworks holds public address ranges wider than one host ({}): every client in \
             them is trusted by permit_mynetworks and may relay without authenticating",
            names.join(", ")
        ),
        rfc: "postconf(5) mynetworks",
        seen: setting(listener, "mynetworks"),
        fix: "mynetworks = 127.0.0.0/8 [::1]/128 (plus single hosts you run); let other \
              clients authenticate with SASL on submission"
            .to_owned(),
    }]
}

/// Without an explicit mynetworks, the style decides what it holds.
fn style(listener: &Listener<'_>) -> Vec<Hit> {
    let style = listener.value("mynetworks_style");
    let (severity, what) = match style.trim() {
        "subnet" => (Severity::Info, "every subnet this host's interfaces are on"),
        "class" => (
            Severity::Warning,
            "the whole class A/B/C networks of this host's addresses",
        ),
        _ => return Vec::new(),
    };
    vec![Hit {
        code: "postfix.mynetworks_too_wide",
        severity,
        settings: &["mynetworks", "mynetworks_style"],
        message: format!(
            "mynetworks is not set, so mynetworks_style = {} makes Postfix trust {what} \
             (permit_mynetworks lets them relay)",
            style.trim()
        ),
        rfc: "postconf(5) mynetworks_style",
        seen: format!("mynetworks_style = {}", style.trim()),
        fix: "mynetworks = 127.0.0.0/8 [::1]/128".to_owned(),
    }]
}

/// `Some(very_wide)` when `entry` is an address range that includes public addresses and more
/// than one host; tables (`hash:...`), files and host names are not judged.
fn too_wide(entry: &str) -> Option<bool> {
    let (addr, prefix) = parse_range(entry)?;
    let host_len = if addr.is_ipv4() { 32 } else { 128 };
    if prefix >= host_len || is_private(addr, prefix) {
        return None;
    }
    let very = if addr.is_ipv4() {
        prefix <= 8
    } else {
        prefix <= 32
    };
    Some(very)
}

/// `1.2.3.0/24`, `[2001:db8::]/32`, `[::1]`, `192.0.2.1` -> (address, prefix length).
fn parse_range(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
        None => (entry, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = addr.parse().ok()?;
    let full = if addr.is_ipv4() { 32 } else { 128 };
    Some((addr, prefix.unwrap_or(full).min(full)))
}

/// True when the whole range lies in loopback, private, link-local or shared address space.
fn is_private(addr: IpAddr, prefix: u8) -> bool {
    let blocks: &[(&str, u8)] = match addr {
        IpAddr::V4(_) => &[
            ("10.0.0.0", 8),
            ("172.16.0.0", 12),
            ("192.168.0.0", 16),
            ("127.0.0.0", 8),
            ("169.254.0.0", 16),
            ("100.64.0.0", 10),
        ],
        IpAddr::V6(_) => &[("::1", 128), ("fc00::", 7), ("fe80::", 10)],
    };
    blocks.iter().any(|(net, len)| {
        let net: IpAddr = net.parse().unwrap_or(addr);
        prefix >= *len && same_prefix(addr, net, *len)
    })
}

fn same_prefix(a: IpAddr, b: IpAddr, len: u8) -> bool {
    let bits = |ip: IpAddr| -> u128 {
        match ip {
            IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
            IpAddr::V6(v6) => u128::from(v6),
        }
    };
    if a.is_ipv4() != b.is_ipv4() {
        return false;
    }
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    bits(a) & mask == bits(b) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// postconf(5) mynetworks: 0.0.0.0/0 trusts the whole Internet; loopback and RFC 1918
    /// ranges are not public.
    #[test]
    fn mynetworks_ranges_judged() {
        assert_eq!(too_wide("0.0.0.0/0"), Some(true));
        assert_eq!(too_wide("[::]/0"), Some(true));
        assert_eq!(too_wide("203.0.113.0/24"), Some(false));
        assert_eq!(too_wide("203.0.113.7/32"), None);
        assert_eq!(too_wide("203.0.113.7"), None);
        assert_eq!(too_wide("127.0.0.0/8"), None);
        assert_eq!(too_wide("10.0.0.0/8"), None);
        assert_eq!(too_wide("10.0.0.0/7"), Some(true));
        assert_eq!(too_wide("[fe80::]/64"), None);
        assert_eq!(too_wide("hash:/etc/postfix/network_table"), None);
    }

    /// A permit before reject_unauth_destination decides the list; a later one does not.
    #[test]
    fn restriction_list_order_matters() {
        assert_eq!(
            verdict("permit_mynetworks, permit, reject_unauth_destination"),
            ListVerdict::PermitsFirst("permit".into())
        );
        assert_eq!(
            verdict("permit_mynetworks reject_unauth_destination permit"),
            ListVerdict::Protects
        );
        assert_eq!(verdict("permit_mynetworks"), ListVerdict::Silent);
    }
}
