//! The two halves of the SMTP side agree on the same live server: `mailauth audit postfix` reading
//! the harness's running Postfix (through `postconf -c`) names exactly the listeners whose `-o`
//! overrides weaken them, and the probe (added below) observes the same weakness from outside.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{self, postfix::Listener, postfix::Postfix};

/// `mailauth --json ARGS` in `dir`: exit code and the JSON document.
fn mailauth_json(dir: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = support::mailauth_in(dir, &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "mailauth {all:?}: not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
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
