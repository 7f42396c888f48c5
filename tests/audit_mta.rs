//! `mailauth audit exim|sendmail|exchange` through the real binary: one fixture per finding code
//! (each a hardened configuration with one change, so it must yield that code and no other
//! error or warning), the hardened contrib/ snippets yielding no error or warning, every code
//! produced by some fixture, and hostile inputs failing with exit 2 and file:line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support;
use crate::support::cmd::mailauth;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(mta: &str, name: &str) -> PathBuf {
    support::testdata().join("audit").join(mta).join(name)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Run an audit with `--json`; returns exit code and the document.
fn audit_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json", "audit"];
    all.extend_from_slice(args);
    let out = mailauth().current_dir(repo()).args(&all).run();
    let code = out.code().expect("exit code");
    (code, out.json())
}

/// Codes of findings with one of `severities`.
fn codes(doc: &Value, severities: &[&str]) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| severities.contains(&f["severity"].as_str().unwrap_or_default()))
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

/// The fixture's code appears, and nothing else is an error or warning.
fn assert_only(doc: &Value, code: &str, exit: i32, expected_exit: i32) {
    let all = codes(doc, &["error", "warning", "info"]);
    assert!(all.iter().any(|c| c == code), "{code} missing from {doc:#}");
    let others: Vec<String> = codes(doc, &["error", "warning"])
        .into_iter()
        .filter(|c| c != code)
        .collect();
    assert!(
        others.is_empty(),
        "unexpected {others:?} beside {code}: {doc:#}"
    );
    assert_eq!(exit, expected_exit, "exit status for {code}: {doc:#}");
    for finding in doc["findings"].as_array().unwrap() {
        for key in ["record", "message", "rfc", "seen", "fix"] {
            assert!(
                finding[key].as_str().is_some_and(|s| !s.is_empty()),
                "finding without {key}: {finding:#}"
            );
        }
    }
}

fn assert_clean(doc: &Value, exit: i32) {
    let bad = codes(doc, &["error", "warning"]);
    assert!(bad.is_empty(), "hardened snippet has {bad:?}: {doc:#}");
    assert_eq!(exit, 0);
}

/// Exit 2 with `expected` (file:line) on stderr, and no panic.
fn assert_bad_input(args: &[&str], expected: &str) {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    let out = mailauth().current_dir(repo()).args(&all).run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(
        stderr.contains(expected),
        "{all:?}: `{expected}` not in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Exim

/// Fixture, code, exit status.
const EXIM_FIXTURES: &[(&str, &str, i32)] = &[
    ("relay_open.conf", "exim.relay_open", 1),
    ("relay_open_hostlist.conf", "exim.relay_open", 1),
    ("relay_no_final_deny.conf", "exim.relay_no_final_deny", 0),
    ("auth_without_tls.conf", "exim.auth_without_tls", 1),
    ("tls_not_advertised.conf", "exim.tls_not_advertised", 1),
    ("tls_certificate_missing.conf", "exim.tls_not_advertised", 1),
    ("tls_protocol_floor.conf", "exim.tls_protocol_floor", 0),
    ("vrfy_enabled.conf", "exim.vrfy_enabled", 0),
    ("banner_version.conf", "exim.banner_version", 0),
    ("rate_limits_missing.conf", "exim.rate_limits_missing", 0),
];

fn exim(name: &str) -> (i32, Value) {
    let path = fixture("exim", name);
    audit_json(&["exim", "--config", path_str(&path)])
}

/// Exim spec ch. 44: an `accept` with only `local_parts = postmaster` before the relay check
/// accepts postmaster@any-domain from anyone.
#[test]
fn exim_relay_open_accept_without_domain_or_host_limit() {
    let (exit, doc) = exim("relay_open.conf");
    assert_only(&doc, "exim.relay_open", exit, 1);
    assert!(
        doc["findings"][0]["record"]
            .as_str()
            .unwrap()
            .contains("relay_open.conf:")
    );
}

/// relay_from_hosts containing 0.0.0.0/0, reached through a macro and a continued line.
#[test]
fn exim_relay_open_relay_from_hosts_everyone_through_macro() {
    let (exit, doc) = exim("relay_open_hostlist.conf");
    assert_only(&doc, "exim.relay_open", exit, 1);
    assert!(doc.to_string().contains("0.0.0.0/0"), "{doc:#}");
}

#[test]
fn exim_relay_no_final_deny_when_only_implicit_deny_guards() {
    let (exit, doc) = exim("relay_no_final_deny.conf");
    assert_only(&doc, "exim.relay_no_final_deny", exit, 0);
}

/// Exim FAQ Q1702: auth_advertise_hosts = * advertises AUTH before STARTTLS.
#[test]
fn exim_auth_advertised_outside_tls() {
    let (exit, doc) = exim("auth_without_tls.conf");
    assert_only(&doc, "exim.auth_without_tls", exit, 1);
}

#[test]
fn exim_tls_advertise_hosts_empty() {
    let (exit, doc) = exim("tls_not_advertised.conf");
    assert_only(&doc, "exim.tls_not_advertised", exit, 1);
}

#[test]
fn exim_tls_certificate_missing() {
    let (exit, doc) = exim("tls_certificate_missing.conf");
    assert_only(&doc, "exim.tls_not_advertised", exit, 1);
}

/// Neither openssl_options (+no_tlsv1 +no_tlsv1_1) nor a GnuTLS priority removes TLS 1.0/1.1.
#[test]
fn exim_tls_protocol_floor_openssl_and_gnutls() {
    let (exit, doc) = exim("tls_protocol_floor.conf");
    assert_only(&doc, "exim.tls_protocol_floor", exit, 0);
}

#[test]
fn exim_vrfy_acl_accepts() {
    let (exit, doc) = exim("vrfy_enabled.conf");
    assert_only(&doc, "exim.vrfy_enabled", exit, 0);
}

#[test]
fn exim_banner_shows_version_number() {
    let (exit, doc) = exim("banner_version.conf");
    assert_only(&doc, "exim.banner_version", exit, 0);
}

#[test]
fn exim_no_ratelimit_in_connect_rcpt_data_acls() {
    let (exit, doc) = exim("rate_limits_missing.conf");
    assert_only(&doc, "exim.rate_limits_missing", exit, 0);
}

#[test]
fn exim_hardened_contrib_snippet_is_clean() {
    let path = repo().join("contrib/exim/exim-hardened.conf");
    let (exit, doc) = audit_json(&["exim", "--config", path_str(&path)]);
    assert_clean(&doc, exit);
    assert!(codes(&doc, &["info"]).is_empty(), "{doc:#}");
}

#[test]
fn exim_every_code_has_a_fixture() {
    let produced: BTreeSet<String> = EXIM_FIXTURES
        .iter()
        .flat_map(|(name, _, _)| codes(&exim(name).1, &["error", "warning", "info"]))
        .collect();
    for code in mailauth::audit::exim::CODES {
        assert!(produced.contains(*code), "no fixture produces {code}");
    }
    for (name, code, _) in EXIM_FIXTURES {
        assert!(
            mailauth::audit::exim::CODES.contains(code),
            "{name}: {code} not in CODES"
        );
    }
}

#[test]
fn exim_include_loop_is_reported_with_file_line() {
    let path = fixture("exim", "include_loop_a.conf");
    assert_bad_input(
        &["exim", "--config", path_str(&path)],
        "include_loop_b.conf:2: include loop",
    );
}

#[test]
fn exim_undefined_rcpt_acl_is_reported_with_file_line() {
    let path = fixture("exim", "undefined_acl.conf");
    assert_bad_input(
        &["exim", "--config", path_str(&path)],
        "undefined_acl.conf:2:",
    );
}

#[test]
fn exim_megabyte_line_is_refused_with_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.conf");
    std::fs::write(
        &path,
        format!("# ok\nsmtp_banner = {}\n", "x".repeat(1 << 20)),
    )
    .unwrap();
    assert_bad_input(
        &["exim", "--config", path_str(&path)],
        "huge.conf:2: line longer",
    );
}

#[test]
fn exim_missing_file_names_it() {
    assert_bad_input(
        &["exim", "--config", "/nonexistent/exim.conf"],
        "/nonexistent/exim.conf",
    );
}

#[test]
fn exim_without_config_or_binary_says_what_to_give() {
    let out = mailauth()
        .args(["audit", "exim"])
        .env("PATH", "/nonexistent")
        .run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(stderr.contains("--config"), "{stderr}");
}

/// Cross-check with Exim itself: `.ci/install-deps` unpacks Debian's exim4 into
/// /opt/mailauth-exim, so in CI the binary must be there and must answer `-bP`.
#[test]
fn exim_parser_agrees_with_exim_bp() {
    let candidates = [
        PathBuf::from("/opt/mailauth-exim/usr/sbin/exim4"),
        PathBuf::from("/usr/sbin/exim4"),
        PathBuf::from("/usr/sbin/exim"),
    ];
    let Some(binary) = candidates.iter().find(|p| p.is_file()) else {
        support::skip_or_fail("no exim binary (run `bash .ci/install-deps`)");
        return;
    };
    // The hardened snippet and every fixture meant to be a configuration (not the include-loop
    // error cases) must be accepted by the real Exim: `-bV` with `-C` checks the syntax.
    let mut configs =
        vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contrib/exim/exim-hardened.conf")];
    for entry in std::fs::read_dir(support::testdata().join("audit/exim")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".conf") && !name.starts_with("include_loop") {
            configs.push(path);
        }
    }
    for config in &configs {
        let out = std::process::Command::new(binary)
            .args(["-C", path_str(config), "-bV"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "exim refuses {}: {}",
            config.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let path = fixture("exim", "relay_open_hostlist.conf");
    let config = mailauth::audit::exim::parse_file(&path).unwrap();
    for option in [
        "tls_advertise_hosts",
        "auth_advertise_hosts",
        "openssl_options",
        "smtp_banner",
    ] {
        let out = std::process::Command::new(binary)
            .args(["-C", path_str(&path), "-bP", option])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "exim -bP {option} refused: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let theirs = text.trim().split_once('=').map_or("", |(_, v)| v.trim());
        let ours = config.option(option).map_or("", |s| s.value.as_str());
        assert_eq!(ours, theirs, "{option}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sendmail

const SENDMAIL_FIXTURES: &[(&str, &str, i32)] = &[
    (
        "auth_options_missing_p.mc",
        "sendmail.auth_options_missing_p",
        1,
    ),
    (
        "auth_options_missing_y.mc",
        "sendmail.auth_options_missing_y",
        0,
    ),
    ("promiscuous_relay.mc", "sendmail.promiscuous_relay", 1),
    ("relay_based_on_mx.mc", "sendmail.promiscuous_relay", 0),
    (
        "tls_srv_options_legacy.mc",
        "sendmail.tls_srv_options_legacy",
        0,
    ),
    (
        "privacy_options_weak.mc",
        "sendmail.privacy_options_weak",
        0,
    ),
    ("tls_cert_missing.mc", "sendmail.tls_cert_missing", 1),
];

fn sendmail(name: &str) -> (i32, Value) {
    let path = fixture("sendmail", name);
    audit_json(&["sendmail", "--config", path_str(&path)])
}

/// cf/README confAUTH_OPTIONS: `p` forbids mechanisms open to passive attack before TLS.
#[test]
fn sendmail_auth_options_without_p() {
    let (exit, doc) = sendmail("auth_options_missing_p.mc");
    assert_only(&doc, "sendmail.auth_options_missing_p", exit, 1);
}

/// cf/README confAUTH_OPTIONS: `y` forbids anonymous mechanisms.
#[test]
fn sendmail_auth_options_without_y() {
    let (exit, doc) = sendmail("auth_options_missing_y.mc");
    assert_only(&doc, "sendmail.auth_options_missing_y", exit, 0);
}

#[test]
fn sendmail_promiscuous_relay_feature_is_an_error() {
    let (exit, doc) = sendmail("promiscuous_relay.mc");
    assert_only(&doc, "sendmail.promiscuous_relay", exit, 1);
}

#[test]
fn sendmail_relay_based_on_mx_is_a_warning() {
    let (exit, doc) = sendmail("relay_based_on_mx.mc");
    assert_only(&doc, "sendmail.promiscuous_relay", exit, 0);
    assert_eq!(
        codes(&doc, &["warning"]),
        vec!["sendmail.promiscuous_relay"]
    );
}

/// ServerSSLOptions without +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1; the finding explains that
/// confTLS_SRV_OPTIONS does not set protocol versions.
#[test]
fn sendmail_server_ssl_options_leave_legacy_tls() {
    let (exit, doc) = sendmail("tls_srv_options_legacy.mc");
    assert_only(&doc, "sendmail.tls_srv_options_legacy", exit, 0);
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1"),
        "{message}"
    );
    assert!(message.contains("confTLS_SRV_OPTIONS"), "{message}");
}

#[test]
fn sendmail_privacy_flags_without_goaway() {
    let (exit, doc) = sendmail("privacy_options_weak.mc");
    assert_only(&doc, "sendmail.privacy_options_weak", exit, 0);
}

#[test]
fn sendmail_no_server_certificate() {
    let (exit, doc) = sendmail("tls_cert_missing.mc");
    assert_only(&doc, "sendmail.tls_cert_missing", exit, 1);
}

#[test]
fn sendmail_hardened_contrib_snippet_is_clean() {
    let path = repo().join("contrib/sendmail/sendmail-hardened.mc");
    let (exit, doc) = audit_json(&["sendmail", "--config", path_str(&path)]);
    assert_clean(&doc, exit);
}

#[test]
fn sendmail_hardened_cf_is_clean() {
    let (exit, doc) = sendmail("hardened.cf");
    assert_clean(&doc, exit);
}

/// In a .cf the FEATURE is seen through m4's `$Id: promiscuous_relay.m4` comment; a commented
/// `#O AuthOptions` is unset.
#[test]
fn sendmail_cf_shows_promiscuous_relay_through_id_comment() {
    let (exit, doc) = sendmail("promiscuous_relay.cf");
    assert_eq!(exit, 1);
    let found = codes(&doc, &["error", "warning"]);
    assert!(
        found.contains(&"sendmail.promiscuous_relay".to_string()),
        "{doc:#}"
    );
    assert!(
        found.contains(&"sendmail.auth_options_missing_p".to_string()),
        "{doc:#}"
    );
    assert!(doc["source"].as_str().unwrap().contains("$Id"), "{doc:#}");
}

#[test]
fn sendmail_every_code_has_a_fixture() {
    let produced: BTreeSet<String> = SENDMAIL_FIXTURES
        .iter()
        .flat_map(|(name, _, _)| codes(&sendmail(name).1, &["error", "warning", "info"]))
        .collect();
    for code in mailauth::audit::sendmail::CODES {
        assert!(produced.contains(*code), "no fixture produces {code}");
    }
}

#[test]
fn sendmail_unterminated_m4_quote_names_its_line() {
    let path = fixture("sendmail", "unterminated_quote.mc");
    assert_bad_input(
        &["sendmail", "--config", path_str(&path)],
        "unterminated_quote.mc:3: unterminated m4 quote",
    );
}

#[test]
fn sendmail_megabyte_line_is_refused_with_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.mc");
    std::fs::write(&path, format!("dnl\ndnl\ndnl {}\n", "`".repeat(1 << 20))).unwrap();
    assert_bad_input(
        &["sendmail", "--config", path_str(&path)],
        "huge.mc:3: line longer",
    );
}

// ---------------------------------------------------------------------------------------------
// Exchange

/// Connectors file, optional permissions file, code, exit status.
const EXCHANGE_FIXTURES: &[(&str, Option<&str>, &str, i32)] = &[
    (
        "open_relay.json",
        Some("open_relay_permissions.json"),
        "exchange.open_relay",
        1,
    ),
    ("open_relay_external.json", None, "exchange.open_relay", 1),
    (
        "anonymous_relay_unscoped.json",
        Some("anonymous_relay_unscoped_permissions.json"),
        "exchange.anonymous_relay_unscoped",
        0,
    ),
    (
        "basic_auth_without_tls.json",
        None,
        "exchange.basic_auth_without_tls",
        1,
    ),
    (
        "tls_not_required.json",
        None,
        "exchange.tls_not_required",
        0,
    ),
    ("banner_version.json", None, "exchange.banner_version", 0),
    ("tls_disabled.json", None, "exchange.tls_disabled", 1),
];

fn exchange(connectors: &str, permissions: Option<&str>) -> (i32, Value) {
    let connectors = fixture("exchange", connectors);
    let mut args = vec!["exchange", "--receive-connectors", path_str(&connectors)];
    let permissions = permissions.map(|p| fixture("exchange", p));
    if let Some(p) = &permissions {
        args.extend(["--permissions", path_str(p)]);
    }
    audit_json(&args)
}

fn exchange_case(index: usize) {
    let (connectors, permissions, code, expected) = EXCHANGE_FIXTURES[index];
    let (exit, doc) = exchange(connectors, permissions);
    assert_only(&doc, code, exit, expected);
}

/// Microsoft Learn, anonymous relay: ANONYMOUS LOGON with ms-Exch-SMTP-Accept-Any-Recipient on
/// a connector open to 0.0.0.0-255.255.255.255 relays for the whole internet.
#[test]
fn exchange_anonymous_accept_any_recipient_from_everywhere_is_open_relay() {
    exchange_case(0);
}

/// ExternalAuthoritative treats every client in RemoteIPRanges as an Exchange server.
#[test]
fn exchange_externally_secured_from_everywhere_is_open_relay() {
    exchange_case(1);
}

#[test]
fn exchange_anonymous_relay_from_a_slash_8_is_unscoped() {
    exchange_case(2);
}

/// AuthMechanism given as an integer (7 = Tls, Integrated, BasicAuth).
#[test]
fn exchange_basic_auth_without_require_tls() {
    exchange_case(3);
}

#[test]
fn exchange_port_587_without_require_tls() {
    exchange_case(4);
}

#[test]
fn exchange_banner_names_version() {
    exchange_case(5);
}

#[test]
fn exchange_auth_mechanism_without_tls() {
    exchange_case(6);
}

/// Without --permissions the grant cannot be seen; the report says so instead of guessing.
#[test]
fn exchange_open_relay_needs_the_permissions_file() {
    let (exit, doc) = exchange("open_relay.json", None);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(
        doc["source"].as_str().unwrap().contains("no --permissions"),
        "{doc:#}"
    );
}

#[test]
fn exchange_hardened_contrib_export_is_clean() {
    let dir = repo().join("contrib/exchange");
    let connectors = dir.join("receive-connectors-hardened.json");
    let permissions = dir.join("permissions-hardened.json");
    let (exit, doc) = audit_json(&[
        "exchange",
        "--receive-connectors",
        path_str(&connectors),
        "--permissions",
        path_str(&permissions),
    ]);
    assert_clean(&doc, exit);
}

/// Windows PowerShell's Out-File writes UTF-16LE with a BOM.
#[test]
fn exchange_reads_utf16_export() {
    let json = std::fs::read_to_string(fixture("exchange", "basic_auth_without_tls.json")).unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(json.encode_utf16().flat_map(u16::to_le_bytes));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utf16.json");
    std::fs::write(&path, bytes).unwrap();
    let (exit, doc) = audit_json(&["exchange", "--receive-connectors", path_str(&path)]);
    assert_only(&doc, "exchange.basic_auth_without_tls", exit, 1);
}

#[test]
fn exchange_every_code_has_a_fixture() {
    let produced: BTreeSet<String> = EXCHANGE_FIXTURES
        .iter()
        .flat_map(|(c, p, _, _)| codes(&exchange(c, *p).1, &["error", "warning", "info"]))
        .collect();
    for code in mailauth::audit::exchange::CODES {
        assert!(produced.contains(*code), "no fixture produces {code}");
    }
}

#[test]
fn exchange_truncated_json_names_file_and_line() {
    let path = fixture("exchange", "truncated.json");
    assert_bad_input(
        &["exchange", "--receive-connectors", path_str(&path)],
        "truncated.json:",
    );
}

#[test]
fn exchange_megabyte_line_is_refused_with_file_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    std::fs::write(&path, format!("[{{\"Name\": \"{}", "A".repeat(1 << 20))).unwrap();
    assert_bad_input(
        &["exchange", "--receive-connectors", path_str(&path)],
        "huge.json:1: not valid JSON",
    );
}

#[test]
fn exchange_json_that_is_not_a_connector_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.json");
    std::fs::write(&path, "[{\"Foo\": 1}]").unwrap();
    assert_bad_input(
        &["exchange", "--receive-connectors", path_str(&path)],
        "connector 1 has no Name",
    );
}

#[test]
fn audit_help_teaches_the_powershell_lines() {
    let help = mailauth()
        .current_dir(repo())
        .args(["audit", "exchange", "--help"])
        .run()
        .stdout_str();
    assert!(
        help.contains(mailauth::audit::exchange::CONNECTORS_COMMAND),
        "{help}"
    );
    assert!(help.contains("Get-ADPermission"), "{help}");
    assert!(help.contains("Exit status"), "{help}");
}
