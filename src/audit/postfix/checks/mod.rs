//! The checks of `mailauth audit postfix`, one file per area: relay control ([`relay`]), SASL
//! ([`sasl`]), TLS ([`tls`]), limits and disclosure ([`limits`]). Each listener check returns
//! [`Hit`]s; [`audit`] turns them into findings whose record is the listener's master.cf line
//! when its `-o` decided the outcome, else main.cf (one finding naming every listener it
//! applies to, so a main.cf mistake is reported once).

mod limits;
mod relay;
mod sasl;
mod tls;

use super::{DkimExpectation, Listener, PostfixConfig};
use crate::audit::{AuditError, AuditReport};
use crate::report::{Finding, Severity};

/// One problem on one listener, before it is merged with the same problem elsewhere.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub code: &'static str,
    pub severity: Severity,
    /// The parameters whose values decided it: a listener's `-o` on any of them makes the
    /// finding that listener's.
    pub settings: &'static [&'static str],
    pub message: String,
    pub rfc: &'static str,
    pub seen: String,
    pub fix: String,
}

type ListenerCheck = fn(&Listener<'_>) -> Vec<Hit>;

/// The per-listener checks, in report order.
const LISTENER_CHECKS: &[ListenerCheck] = &[
    relay::restrictions,
    relay::mynetworks,
    sasl::check,
    tls::level,
    tls::protocols,
    tls::certificate,
    limits::rates,
    limits::recipients,
    limits::vrfy,
    limits::helo,
    limits::banner,
];

/// Audit `config`; with `dkim`, also the signing path for that domain.
pub fn audit(
    config: &PostfixConfig,
    dkim: Option<&DkimExpectation>,
) -> Result<AuditReport, AuditError> {
    let listeners = config.listeners();
    let mut hits: Vec<(Listener<'_>, Hit)> = Vec::new();
    for check in LISTENER_CHECKS {
        for listener in &listeners {
            hits.extend(check(listener).into_iter().map(|hit| (*listener, hit)));
        }
    }
    if let Some(dkim) = dkim {
        for listener in &listeners {
            hits.extend(
                super::dkim::milters(listener, dkim)
                    .into_iter()
                    .map(|hit| (*listener, hit)),
            );
        }
    }
    let mut findings = merge(hits);
    if listeners.is_empty() {
        findings.push(no_listener());
    }
    findings.extend(sasl::client_confusion(config));
    if let Some(dkim) = dkim {
        findings.extend(super::dkim::global(config, dkim)?);
    }
    Ok(AuditReport {
        source: format!("postfix ({})", config.source),
        findings,
    })
}

/// Merge hits that share code, record, message and value into one finding per record.
fn merge(hits: Vec<(Listener<'_>, Hit)>) -> Vec<Finding> {
    let mut groups: Vec<(String, Hit, Vec<String>)> = Vec::new();
    for (listener, hit) in hits {
        let record = if hit.settings.iter().any(|s| listener.overrides(s)) {
            format!("master.cf {}", listener.label())
        } else {
            "main.cf".to_owned()
        };
        let same = groups.iter_mut().find(|(r, h, _)| {
            *r == record && h.code == hit.code && h.message == hit.message && h.seen == hit.seen
        });
        match same {
            Some((_, _, labels)) => labels.push(listener.label()),
            None => groups.push((record, hit, vec![listener.label()])),
        }
    }
    groups
        .into_iter()
        .map(|(record, hit, labels)| {
            let which = if labels.len() == 1 {
                "listener"
            } else {
                "listeners"
            };
            Finding::new(
                hit.code,
                hit.severity,
                record,
                format!("{which} {}: {}", labels.join(", "), hit.message),
                hit.rfc,
            )
            .seen(hit.seen)
            .fix(hit.fix)
        })
        .collect()
}

fn no_listener() -> Finding {
    Finding::new(
        "postfix.no_smtpd_listener",
        Severity::Info,
        "master.cf",
        "no smtpd service of type inet (or pass behind postscreen): nothing here accepts SMTP \
         from the network, so only main.cf-wide settings were checked",
        "master(5)",
    )
    .seen("no `inet ... smtpd` line")
    .fix("smtp inet n - y - - smtpd")
}

/// `name = value` as postconf prints it.
pub(super) fn setting(listener: &Listener<'_>, name: &str) -> String {
    format!("{name} = {}", listener.raw(name).unwrap_or_default())
}
