//! The two halves of the SMTP side agree on the same live server: `mailauth audit postfix` reading
//! the harness's running Postfix (through `postconf -c`) names exactly the listeners whose `-o`
//! overrides weaken them, and the probe (added below) observes the same weakness from outside.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::cmd::mailauth;
use crate::support::{self, postfix::Listener, postfix::Postfix};

/// `mailauth --json ARGS` in `dir`: exit code and the JSON document.
fn mailauth_json(dir: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = mailauth().current_dir(dir).args(&all).run();
    (out.code().unwrap_or(-1), out.json())
}

/// The (record, code) pairs of an audit or probe report's findings.
fn findings(report: &Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["record"].as_str().unwrap_or("").to_owned(),
                f["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The master.cf record name the audit gives a harness listener.
fn record(postfix: &Postfix, listener: Listener) -> String {
    format!("master.cf {}/inet", postfix.addr(listener))
}

/// What the audit must say about each listener's own `-o` overrides (postconf(5) names).
fn expected_listener_code(listener: Listener) -> Option<&'static str> {
    match listener {
        Listener::OpenRelay => Some("postfix.mynetworks_too_wide"),
        Listener::AuthBeforeTls => Some("postfix.tls_auth_only_off"),
        Listener::LegacyTls => Some("postfix.tls_protocols_legacy"),
        Listener::VrfyOpen => Some("postfix.vrfy_enabled"),
        // postfix.tls_disabled is for the port-25 role only: a listener on another port (here
        // 127.0.0.1:PORT) may be a content filter's return path, where no TLS is normal. The
        // probe, which sees the live port, reports smtp.starttls_missing for it instead.
        Listener::NoStarttls => None,
        Listener::Hardened | Listener::Submission | Listener::Smtps => None,
    }
}

#[test]
fn audit_of_live_postfix_names_each_weakened_listener_and_no_hardened_one() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    support::tool("postconf").expect("postconf");
    let conf = postfix.conf_dir().display().to_string();
    let (code, report) = mailauth_json(
        postfix.conf_dir(),
        &["audit", "postfix", "--config-dir", &conf],
    );
    assert_eq!(code, 1, "error findings exit 1: {report:#}");
    let found = findings(&report);
    for listener in Listener::ALL {
        let name = record(&postfix, listener);
        let codes: BTreeSet<&str> = found
            .iter()
            .filter(|(r, _)| *r == name)
            .map(|(_, c)| c.as_str())
            .collect();
        match expected_listener_code(listener) {
            Some(code) => assert!(
                codes.contains(code),
                "{listener:?} ({name}): expected {code}, got {codes:?}\n{report:#}"
            ),
            None => assert!(
                codes.is_empty(),
                "{listener:?} ({name}) is hardened but got {codes:?}\n{report:#}"
            ),
        }
    }
}

/// `mailauth probe --json ADDR` from 127.0.0.2 in `role`, trusting `ca`: exit code and the one
/// target's report.
fn probe(
    addr: std::net::SocketAddr,
    role: &str,
    ca: &std::path::Path,
    extra: &[&str],
) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let target = addr.to_string();
    let mut args = vec![
        "probe",
        &target,
        "--role",
        role,
        "--source-ip",
        "127.0.0.2",
        "--ca",
        ca.to_str().unwrap(),
        "--timeout",
        "10",
    ];
    args.extend_from_slice(extra);
    let (code, json) = mailauth_json(dir.path(), &args);
    (code, json["targets"][0].clone())
}

/// The probe's verdict on swaks's pair (a@foreign.example -> b@other.example): `Some(accepted)`,
/// or `None` when the probe did not try it (the battery is skipped where MAIL needs TLS first).
fn probe_relay_verdict(target: &Value) -> Option<bool> {
    target["relay"]
        .as_array()
        .expect("relay list")
        .iter()
        .find(|pair| {
            pair["mail_from"] == support::peers::RELAY_FROM
                && pair["rcpt_to"] == support::peers::RELAY_TO
        })
        .map(|pair| pair["accepted"] == true)
}

fn has_code(target: &Value, code: &str) -> bool {
    target["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["code"] == code)
}

/// The probe and swaks give the same relay verdict on every test server (RFC 5321 §3.9: a relay
/// attempt from 127.0.0.2, outside `mynetworks`), and the probe raises smtp.open_relay exactly
/// where swaks's RCPT was accepted: every Postfix listener, Exim hardened and open, smtp-sink.
#[test]
fn probe_and_swaks_agree_on_relaying_for_every_server() {
    use support::exim::{Exim, EximProfile};
    use support::peers::SwaksTls;
    use support::smtp_sink::SmtpSink;
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let (Some(exim_hardened), Some(exim_open), Some(sink)) = (
        Exim::start(EximProfile::Hardened),
        Exim::start(EximProfile::Open),
        SmtpSink::start(),
    ) else {
        return;
    };
    let mut rows: Vec<(
        String,
        std::net::SocketAddr,
        SwaksTls,
        &str,
        &std::path::Path,
    )> = Listener::ALL
        .into_iter()
        .map(|l| {
            let (tls, role) = match l {
                Listener::Submission => (SwaksTls::StartTls, "submission"),
                Listener::Smtps => (SwaksTls::OnConnect, "smtps"),
                _ => (SwaksTls::None, "mx"),
            };
            (
                format!("postfix {l:?}"),
                postfix.addr(l),
                tls,
                role,
                postfix.ca_file(),
            )
        })
        .collect();
    rows.push((
        "exim Hardened".into(),
        exim_hardened.addr(),
        SwaksTls::None,
        "mx",
        exim_hardened.ca_file(),
    ));
    rows.push((
        "exim Open".into(),
        exim_open.addr(),
        SwaksTls::None,
        "mx",
        exim_open.ca_file(),
    ));
    rows.push((
        "smtp-sink".into(),
        sink.addr(),
        SwaksTls::None,
        "mx",
        postfix.ca_file(),
    ));
    // Each server in its own thread: a probe of one Postfix listener waits out smtpd's error
    // sleeps, and the servers are independent.
    let table: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .into_iter()
            .map(|(server, addr, tls, role, ca)| {
                scope.spawn(move || relay_row(&server, addr, tls, role, ca))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    if table.iter().any(Option::is_none) {
        return;
    }
    let table: Vec<String> = table.into_iter().flatten().collect();
    eprintln!("{}", table.join("\n"));
}

/// One row of the relay agreement: swaks's verdict against the probe's, asserted; the row's
/// text, or `None` when swaks is missing outside CI.
fn relay_row(
    server: &str,
    addr: std::net::SocketAddr,
    tls: support::peers::SwaksTls,
    role: &str,
    ca: &std::path::Path,
) -> Option<String> {
    let swaks = support::peers::swaks_relay_accepted(addr, tls)?;
    let (_, target) = probe(addr, role, ca, &[]);
    assert!(
        target["error"].is_null(),
        "{server}: probe failed: {target:#}"
    );
    let verdict = probe_relay_verdict(&target);
    let open_relay = has_code(&target, "smtp.open_relay");
    match verdict {
        Some(accepted) => assert_eq!(accepted, swaks, "{server}: {target:#}"),
        // Not tried: only where the server demands TLS before MAIL, and then swaks (which did
        // STARTTLS) must have been refused too.
        None => assert!(
            !swaks && role == "submission",
            "{server}: pair not tried: {target:#}"
        ),
    }
    assert_eq!(
        open_relay, swaks,
        "{server}: smtp.open_relay vs swaks: {target:#}"
    );
    Some(format!(
        "{server:<22} swaks accepted={swaks:<5} probe pair={verdict:?} smtp.open_relay={open_relay}"
    ))
}

/// The probe's hand-built ClientHellos and testssl.sh agree on which legacy versions each
/// listener accepts (RFC 8996 §2-3; RFC 7568 §3 for SSLv3): TLS 1.0 and 1.1 on LegacyTls,
/// nothing below TLS 1.2 on Hardened and on Exim Hardened.
#[test]
fn probe_and_testssl_agree_on_legacy_tls_versions() {
    use support::exim::{Exim, EximProfile};
    use support::peers::testssl_protocols;
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let Some(exim) = Exim::start(EximProfile::Hardened) else {
        return;
    };
    let servers = [
        (
            "postfix LegacyTls",
            postfix.addr(Listener::LegacyTls),
            postfix.ca_file(),
        ),
        (
            "postfix Hardened",
            postfix.addr(Listener::Hardened),
            postfix.ca_file(),
        ),
        ("exim Hardened", exim.addr(), exim.ca_file()),
    ];
    let mut accepted_anywhere = false;
    for (server, addr, ca) in servers {
        let Some(testssl) = testssl_protocols(addr) else {
            return;
        };
        let (_, target) = probe(addr, "mx", ca, &["--no-relay"]);
        let legacy = &target["legacy_tls"];
        for version in ["SSLv3", "TLSv1.0", "TLSv1.1"] {
            let ours = legacy[version].as_str().unwrap_or("missing");
            assert!(
                ours == "accepted" || ours == "refused",
                "{server} {version}: probe inconclusive ({ours}): {target:#}"
            );
            assert_eq!(
                ours == "accepted",
                testssl[version],
                "{server} {version}: probe {ours}, testssl offered={}",
                testssl[version]
            );
            accepted_anywhere |= ours == "accepted";
        }
        assert_eq!(
            has_code(&target, "smtp.tls_protocol_legacy"),
            testssl["TLSv1.0"] || testssl["TLSv1.1"] || testssl["SSLv3"],
            "{server}: {target:#}"
        );
    }
    assert!(
        accepted_anywhere,
        "the LegacyTls listener must accept something"
    );
}

/// `--mx DOMAIN` finds the MX host and its address through the resolver (here the harness zone)
/// and probes it on `--port`; the hardened listener gives no error or warning.
#[test]
fn probe_mx_resolves_the_domain_and_probes_each_address() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = postfix.addr(Listener::Hardened).port().to_string();
    let (code, json) = mailauth_json(
        dir.path(),
        &[
            "--zone",
            postfix.zone_file().to_str().unwrap(),
            "probe",
            "--mx",
            "example.test",
            "--port",
            &port,
            "--source-ip",
            "127.0.0.2",
            "--ca",
            postfix.ca_file().to_str().unwrap(),
            "--no-relay",
        ],
    );
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{json:#}");
    assert_eq!(targets[0]["host"], Postfix::HOSTNAME);
    assert_eq!(targets[0]["address"], "127.0.0.1");
    assert_eq!(targets[0]["port"].as_u64(), Some(port.parse().unwrap()));
    assert_eq!(
        targets[0]["tls"]["certificate"]["name_matches"], true,
        "{json:#}"
    );
    let bad: Vec<&Value> = targets[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(code, 0, "{json:#}");
}

/// Exim Hardened accepts any local part of its own domain at RCPT (no `verify = recipient`), so
/// `b%other.example@mx.example.test` and the like get 250 although nothing is relayed (Exim
/// has no % hack unless `percent_hack_domains` is set; swaks's foreign pair is refused). The
/// probe must call that smtp.relay_routing_accepted (warning), not smtp.open_relay.
#[test]
fn exim_accepting_routed_local_parts_is_a_warning_not_an_open_relay() {
    use support::exim::{Exim, EximProfile};
    let Some(exim) = Exim::start(EximProfile::Hardened) else {
        return;
    };
    let (code, target) = probe(exim.addr(), "mx", exim.ca_file(), &[]);
    assert!(!has_code(&target, "smtp.open_relay"), "{target:#}");
    assert!(
        has_code(&target, "smtp.relay_routing_accepted"),
        "{target:#}"
    );
    let accepted: Vec<&Value> = target["relay"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["accepted"] == true)
        .collect();
    assert!(!accepted.is_empty());
    assert!(
        accepted.iter().all(|p| p["kind"] == "local_routing"),
        "{accepted:#?}"
    );
    assert_ne!(code, 3, "{target:#}");
}
