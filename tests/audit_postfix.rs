//! `mailauth audit postfix` on fixture configurations (testdata/audit/postfix/CODE/, one per
//! finding code, each the hardened contrib/postfix configuration with one mistake): every
//! fixture is read through the real `postconf -c DIR` and through the file parser
//! (`--main-cf/--master-cf`), and both must give the same findings.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support;
use crate::support::cmd::mailauth;

fn fixture(name: &str) -> PathBuf {
    support::testdata().join("audit/postfix").join(name)
}

/// Extra arguments a fixture needs (its `args` file: paths relative to the fixture).
fn extra_args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .map(|text| text.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Run the audit on `dir` with `how` (the flags choosing the reader); exit code and JSON.
fn run(dir: &Path, how: &[String]) -> (i32, Value) {
    let mut args: Vec<String> = vec!["--json".into(), "audit".into(), "postfix".into()];
    args.extend(how.iter().cloned());
    args.extend(extra_args(dir));
    let out = mailauth().current_dir(dir).args(&args).run();
    (out.code().unwrap_or(-1), out.json())
}

/// The audit of `dir` through postconf and through the files, asserted equal; `None` when
/// postconf is missing outside CI.
fn audit_both(dir: &Path) -> Option<(i32, Vec<Value>)> {
    support::tool("postconf")?;
    let via_postconf = run(dir, &["--config-dir".into(), dir.display().to_string()]);
    let via_files = run(
        dir,
        &[
            "--main-cf".into(),
            dir.join("main.cf").display().to_string(),
            "--master-cf".into(),
            dir.join("master.cf").display().to_string(),
        ],
    );
    assert_eq!(
        via_postconf.1["findings"],
        via_files.1["findings"],
        "{}: postconf and the file parser disagree",
        dir.display()
    );
    assert_eq!(via_postconf.0, via_files.0);
    let findings = via_postconf.1["findings"].as_array().cloned().unwrap();
    Some((via_postconf.0, findings))
}

/// Assert the fixture named after `code` produces it with `severity` on `record`, and nothing
/// else of error or warning severity; returns the finding.
fn assert_fixture(code: &str, severity: &str, record: &str) -> Option<Value> {
    let name = code.trim_start_matches("postfix.");
    let (status, findings) = audit_both(&fixture(name))?;
    let found = findings
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("{name}: no {code} in {findings:#?}"))
        .clone();
    assert_eq!(found["severity"], severity, "{found:#}");
    assert_eq!(found["record"], record, "{found:#}");
    assert!(
        found["seen"].is_string() && found["fix"].is_string(),
        "{found:#}"
    );
    assert!(
        found["rfc"].as_str().unwrap().starts_with("postconf(5)")
            || code.contains("keytable")
            || code.contains("no_smtpd")
    );
    let others: Vec<&Value> = findings
        .iter()
        .filter(|f| f["code"] != code && f["severity"] != "info")
        .collect();
    assert!(others.is_empty(), "{name}: unexpected findings {others:#?}");
    let errors = findings.iter().any(|f| f["severity"] == "error");
    assert_eq!(
        status,
        i32::from(errors),
        "exit status 1 exactly when an error is found"
    );
    Some(found)
}

/// The fixture for each code, with the severity and record it must have.
const EXPECTED: &[(&str, &str, &str)] = &[
    (
        "postfix.relay_permit_before_reject",
        "error",
        "master.cf 127.0.0.1:2525/inet",
    ),
    (
        "postfix.relay_no_reject_unauth_destination",
        "error",
        "main.cf",
    ),
    ("postfix.mynetworks_too_wide", "error", "main.cf"),
    (
        "postfix.tls_auth_only_off",
        "warning",
        "master.cf 127.0.0.1:2587/inet",
    ),
    (
        "postfix.sasl_anonymous_allowed",
        "error",
        "master.cf 127.0.0.1:2587/inet",
    ),
    (
        "postfix.sasl_plaintext_without_tls",
        "error",
        "master.cf 127.0.0.1:2587/inet",
    ),
    ("postfix.sasl_on_port25", "warning", "main.cf"),
    (
        "postfix.submission_tls_not_required",
        "warning",
        "master.cf submission/inet",
    ),
    ("postfix.tls_protocols_legacy", "warning", "main.cf"),
    (
        "postfix.tls_mandatory_protocols_legacy",
        "warning",
        "main.cf",
    ),
    ("postfix.tls_cert_missing", "error", "main.cf"),
    ("postfix.tls_disabled", "warning", "master.cf smtp/inet"),
    ("postfix.rate_limits_missing", "warning", "main.cf"),
    ("postfix.recipient_limit_high", "info", "main.cf"),
    ("postfix.vrfy_enabled", "warning", "main.cf"),
    ("postfix.helo_not_required", "info", "main.cf"),
    ("postfix.banner_version", "warning", "main.cf"),
    ("postfix.client_sasl_confusion", "info", "main.cf"),
    ("postfix.no_smtpd_listener", "info", "master.cf"),
    ("postfix.milter_missing", "warning", "main.cf"),
];

fn expect(code: &str) -> Option<Value> {
    let (code, severity, record) = EXPECTED
        .iter()
        .find(|(c, _, _)| *c == code)
        .copied()
        .unwrap_or_else(|| panic!("{code} not in EXPECTED"));
    assert_fixture(code, severity, record)
}

/// postconf(5) smtpd_relay_restrictions: `permit` before reject_unauth_destination in a
/// listener's -o makes that listener an open relay even though main.cf is right.
#[test]
fn postfix_relay_permit_before_reject_in_listener_override() {
    if let Some(found) = expect("postfix.relay_permit_before_reject") {
        assert!(found["message"].as_str().unwrap().contains("`permit`"));
    }
}

/// postconf(5) smtpd_relay_restrictions: neither list stops foreign recipients.
#[test]
fn postfix_relay_no_reject_unauth_destination() {
    if let Some(found) = expect("postfix.relay_no_reject_unauth_destination") {
        // The submission listeners override the relay list with their own `reject`: only the
        // smtp listener is affected.
        assert!(
            found["message"]
                .as_str()
                .unwrap()
                .starts_with("listener smtp/inet:")
        );
    }
}

/// postconf(5) mynetworks: 0.0.0.0/0 trusts every client on the Internet.
#[test]
fn postfix_mynetworks_too_wide_whole_internet() {
    if let Some(found) = expect("postfix.mynetworks_too_wide") {
        assert!(found["message"].as_str().unwrap().contains("0.0.0.0/0"));
    }
}

/// postconf(5) smtpd_tls_auth_only: AUTH before STARTTLS (noplaintext set: warning).
#[test]
fn postfix_tls_auth_only_off_on_listener() {
    expect("postfix.tls_auth_only_off");
}

/// postconf(5) smtpd_sasl_security_options: the after-TLS options lack noanonymous.
#[test]
fn postfix_sasl_anonymous_allowed_after_tls() {
    if let Some(found) = expect("postfix.sasl_anonymous_allowed") {
        assert!(
            found["seen"]
                .as_str()
                .unwrap()
                .contains("smtpd_sasl_tls_security_options")
        );
    }
}

/// postconf(5) smtpd_sasl_security_options: plaintext mechanisms on a listener without TLS.
#[test]
fn postfix_sasl_plaintext_without_tls() {
    expect("postfix.sasl_plaintext_without_tls");
}

/// postconf(5) smtpd_sasl_auth_enable: AUTH on the port-25 listener.
#[test]
fn postfix_sasl_on_port25() {
    if let Some(found) = expect("postfix.sasl_on_port25") {
        assert!(
            found["message"]
                .as_str()
                .unwrap()
                .starts_with("listener smtp/inet:")
        );
    }
}

/// postconf(5) smtpd_tls_security_level: submission with `may` instead of `encrypt`.
#[test]
fn postfix_submission_tls_not_required() {
    expect("postfix.submission_tls_not_required");
}

/// The guides' slip: with level `may`, smtpd_tls_protocols counts, not only
/// smtpd_tls_mandatory_protocols (which the fixture sets to >=TLSv1.2).
#[test]
fn postfix_tls_protocols_legacy_with_level_may() {
    if let Some(found) = expect("postfix.tls_protocols_legacy") {
        let message = found["message"].as_str().unwrap();
        assert!(message.contains("TLSv1, TLSv1.1"), "{message}");
        assert!(
            message.contains("smtpd_tls_mandatory_protocols"),
            "{message}"
        );
    }
}

/// postconf(5) smtpd_tls_mandatory_protocols: `!SSLv2, !SSLv3` leaves TLS 1.0/1.1 on the
/// listeners that require TLS.
#[test]
fn postfix_tls_mandatory_protocols_legacy() {
    if let Some(found) = expect("postfix.tls_mandatory_protocols_legacy") {
        let message = found["message"].as_str().unwrap();
        assert!(
            message.starts_with("listeners submission/inet, submissions/inet:"),
            "{message}"
        );
    }
}

/// postconf(5) smtpd_tls_chain_files: files that do not exist.
#[test]
fn postfix_tls_cert_missing_files_absent() {
    if let Some(found) = expect("postfix.tls_cert_missing") {
        assert!(
            found["message"]
                .as_str()
                .unwrap()
                .contains("missing-chain.pem")
        );
    }
}

/// postconf(5) smtpd_tls_security_level: `none` on port 25.
#[test]
fn postfix_tls_disabled_on_port25() {
    expect("postfix.tls_disabled");
}

/// postconf(5) smtpd_client_message_rate_limit: 0 is unlimited; $mynetworks is exempt.
#[test]
fn postfix_rate_limits_missing() {
    if let Some(found) = expect("postfix.rate_limits_missing") {
        assert!(found["message"].as_str().unwrap().contains("$mynetworks"));
        assert!(
            found["seen"]
                .as_str()
                .unwrap()
                .contains("smtpd_client_message_rate_limit = 0")
        );
    }
}

/// postconf(5) smtpd_recipient_limit above the default 1000.
#[test]
fn postfix_recipient_limit_high() {
    expect("postfix.recipient_limit_high");
}

/// postconf(5) disable_vrfy_command = no.
#[test]
fn postfix_vrfy_enabled() {
    expect("postfix.vrfy_enabled");
}

/// postconf(5) smtpd_helo_required left at its default (no).
#[test]
fn postfix_helo_not_required_default() {
    expect("postfix.helo_not_required");
}

/// postconf(5) smtpd_banner with $mail_version.
#[test]
fn postfix_banner_version() {
    expect("postfix.banner_version");
}

/// The guides' other slip: smtp_sasl_security_options is the client side.
#[test]
fn postfix_client_sasl_confusion() {
    expect("postfix.client_sasl_confusion");
}

/// master(5): a master.cf without any smtpd listener.
#[test]
fn postfix_no_smtpd_listener() {
    expect("postfix.no_smtpd_listener");
}

/// postconf(5) smtpd_milters / non_smtpd_milters empty while --domain asks for signing.
#[test]
fn postfix_milter_missing_with_domain() {
    expect("postfix.milter_missing");
}

/// The KeyTable lists the retiring selector 2026a but not the active 2026b of the rotation
/// state.
#[test]
fn postfix_keytable_selector_missing_active_selector() {
    let Some(found) = assert_fixture("postfix.keytable_selector_missing", "error", "KeyTable")
    else {
        return;
    };
    assert!(found["message"].as_str().unwrap().contains("2026b"));
    assert!(found["seen"].as_str().unwrap().ends_with(": 2026a"));
}

/// contrib/postfix is the hardened fixture, and it passes its own audit: no error or warning
/// through either reader, exit 0.
#[test]
fn postfix_hardened_contrib_passes_audit() {
    let dir = fixture("hardened");
    let contrib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contrib/postfix");
    for file in ["main.cf", "master.cf"] {
        assert_eq!(
            std::fs::read_to_string(contrib.join(file)).unwrap(),
            std::fs::read_to_string(dir.join(file)).unwrap(),
            "testdata/audit/postfix/hardened/{file} must equal contrib/postfix/{file}"
        );
    }
    let Some((status, findings)) = audit_both(&dir) else {
        return;
    };
    let bad: Vec<&Value> = findings
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(status, 0);
}

/// Every code in CODES has a fixture directory, and the fixture produces it.
#[test]
fn postfix_every_code_has_a_producing_fixture() {
    for code in mailauth::audit::postfix::CODES {
        let dir = fixture(code.trim_start_matches("postfix."));
        assert!(dir.join("main.cf").is_file(), "no fixture for {code}");
        let how = [
            "--main-cf".to_owned(),
            dir.join("main.cf").display().to_string(),
            "--master-cf".to_owned(),
            dir.join("master.cf").display().to_string(),
        ];
        let (_, json) = run(&dir, &how);
        let codes: Vec<&str> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["code"].as_str())
            .collect();
        assert!(
            codes.contains(code),
            "{code} not produced by its fixture: {codes:?}"
        );
    }
}

/// Debian's stock main.cf.dist and master.cf.dist are audited through both readers without
/// failing (findings expected: it is not hardened).
#[test]
fn postfix_debian_main_cf_dist_audited() {
    let dist = Path::new("/usr/share/postfix");
    if !dist.join("main.cf.dist").is_file() {
        support::skip_or_fail("/usr/share/postfix/main.cf.dist (Debian's postfix package)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(dist.join("main.cf.dist"), dir.path().join("main.cf")).unwrap();
    std::fs::copy(dist.join("master.cf.dist"), dir.path().join("master.cf")).unwrap();
    let Some((status, findings)) = audit_both(dir.path()) else {
        return;
    };
    assert!(status == 0 || status == 1, "exit {status}");
    let codes: Vec<&str> = findings.iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(codes.contains(&"postfix.vrfy_enabled"), "{codes:?}");
}

/// A main.cf line without `=` is bad input: exit 2 with file:line.
#[test]
fn postfix_main_cf_syntax_error_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.cf"),
        "mynetworks = 127.0.0.0/8\nbogus line\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("master.cf"), "smtp inet n - y - - smtpd\n").unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "audit",
            "postfix",
            "--main-cf",
            "main.cf",
            "--master-cf",
            "master.cf",
        ])
        .run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(stderr.contains("main.cf:2:"), "{stderr}");
}
