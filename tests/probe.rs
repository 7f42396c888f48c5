//! `mailauth probe` against in-process scripted SMTP servers (tests/support/fake_smtp.rs) for what
//! real servers will not do, driving the real binary. Every `smtp.*` code in
//! `mailauth::smtp::CODES` is produced by a test listed in `CODE_TESTS`.

use std::path::Path;

use serde_json::Value;

use crate::support::cmd::{CmdOutput, mailauth};
use crate::support::fake_smtp::{FakeSmtp, Script, self_signed};

/// The password used with fakes; it must appear nowhere in the output.
const PASSWORD: &str = "Tr0ub4dor-probe-secret";

/// A zone with forward-confirmed reverse DNS for 127.0.0.1 named fake.example.test.
fn zone_with_ptr(dir: &Path) -> String {
    let path = dir.join("fake.zone");
    std::fs::write(
        &path,
        "$TTL 300\n\
         fake.example.test. IN A 127.0.0.1\n\
         1.0.0.127.in-addr.arpa. IN PTR fake.example.test.\n",
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// Run `mailauth --json probe 127.0.0.1:PORT ARGS` with the PTR zone; (exit code, JSON target, output).
fn probe(fake: &FakeSmtp, args: &[&str]) -> (i32, Value, CmdOutput) {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_with_ptr(dir.path());
    let target = format!("127.0.0.1:{}", fake.addr().port());
    let mut all = vec![
        "--zone",
        zone.as_str(),
        "--json",
        "probe",
        target.as_str(),
        "--timeout",
        "5",
    ];
    all.extend_from_slice(args);
    let out = mailauth()
        .current_dir(dir.path())
        .args(&all)
        .env("PROBE_TEST_PASSWORD", PASSWORD)
        .run();
    let target = out.json()["targets"][0].clone();
    (out.code().unwrap_or(-1), target, out)
}

fn codes(target: &Value) -> Vec<String> {
    target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn tls_script(dir: &Path) -> Script {
    Script {
        tls: Some(self_signed(dir, "fake.example.test")),
        ..Script::default()
    }
}

fn assert_no_data(fake: &FakeSmtp) {
    let commands = fake.commands();
    assert!(
        !commands.iter().any(|c| c.eq_ignore_ascii_case("DATA")),
        "the probe sent DATA: {commands:?}"
    );
}

/// Which test produces each code (checked against CODES below).
const CODE_TESTS: &[(&str, &str)] = &[
    (
        "smtp.connect_failed",
        "unreachable_target_is_connect_failed_and_exit_3",
    ),
    (
        "smtp.service_unavailable",
        "rfc5321_3_8_421_mid_session_stops_the_probe",
    ),
    ("smtp.open_relay", "open_relay_lists_every_accepted_pair"),
    (
        "smtp.relay_routing_accepted",
        "open_relay_lists_every_accepted_pair",
    ),
    (
        "smtp.auth_before_tls",
        "rfc4954_4_auth_before_tls_anonymous_and_cleartext_235",
    ),
    (
        "smtp.auth_cleartext_accepted",
        "rfc4954_4_auth_before_tls_anonymous_and_cleartext_235",
    ),
    (
        "smtp.auth_anonymous",
        "rfc4954_4_auth_before_tls_anonymous_and_cleartext_235",
    ),
    (
        "smtp.auth_relay_ok",
        "authenticated_relay_over_tls_accepted",
    ),
    (
        "smtp.auth_relay_refused",
        "rfc4954_4_auth_before_tls_anonymous_and_cleartext_235",
    ),
    (
        "smtp.starttls_missing",
        "open_relay_lists_every_accepted_pair",
    ),
    (
        "smtp.starttls_required_missing",
        "rfc8314_submission_accepting_mail_before_starttls",
    ),
    (
        "smtp.starttls_injection",
        "cve_2011_0411_starttls_injection_detected",
    ),
    (
        "smtp.tls_protocol_legacy",
        "rfc7568_rfc8996_legacy_versions_accepted",
    ),
    ("smtp.vrfy_enabled", "rfc5321_7_3_vrfy_and_expn_that_answer"),
    ("smtp.expn_enabled", "rfc5321_7_3_vrfy_and_expn_that_answer"),
    (
        "smtp.banner_software",
        "rfc5321_4_2_multi_line_greeting_names_software",
    ),
    ("smtp.ptr_mismatch", "ptr_missing_is_a_warning"),
];

#[test]
fn every_probe_code_has_a_test() {
    let mut listed: Vec<&str> = CODE_TESTS.iter().map(|(c, _)| *c).collect();
    listed.sort();
    let mut codes: Vec<&str> = mailauth::smtp::CODES.to_vec();
    codes.sort();
    assert_eq!(listed, codes);
}

#[test]
fn open_relay_lists_every_accepted_pair() {
    let fake = FakeSmtp::start(Script {
        rcpt_reply: "250 2.1.5 Ok".into(),
        ..Script::default()
    });
    let (code, target, _) = probe(&fake, &[]);
    assert_eq!(code, 1, "error findings exit 1");
    let found = codes(&target);
    assert!(found.contains(&"smtp.open_relay".to_owned()), "{found:?}");
    assert!(
        found.contains(&"smtp.relay_routing_accepted".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"smtp.starttls_missing".to_owned()),
        "{found:?}"
    );
    let relay = target["relay"].as_array().unwrap();
    assert_eq!(relay.len(), 16, "every pair is listed");
    let routed = relay
        .iter()
        .filter(|p| p["kind"] == "local_routing")
        .count();
    assert_eq!(
        routed, 6,
        "% hack, ! bang paths and quoted local parts: {relay:#?}"
    );
    assert!(relay.iter().all(|p| p["accepted"] == true));
    assert!(
        relay.iter().any(|p| p["mail_from"] == ""),
        "null sender tried"
    );
    // The whole battery ran on one connection, each pair after RSET.
    let commands = fake.commands();
    assert_eq!(commands.iter().filter(|c| c.starts_with("EHLO")).count(), 1);
    assert!(commands.iter().filter(|c| *c == "RSET").count() >= 16);
    assert_no_data(&fake);
}

#[test]
fn relay_refused_everywhere_is_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmtp::start(tls_script(dir.path()));
    let (code, target, _) = probe(&fake, &[]);
    let found = codes(&target);
    assert!(!found.iter().any(|c| c == "smtp.open_relay"), "{found:?}");
    assert_eq!(target["relay"].as_array().unwrap().len(), 16);
    assert_eq!(target["tls"]["version"], "TLSv1.3");
    assert!(
        target["ehlo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "STARTTLS")
    );
    assert!(target["ehlo_tls"].is_array());
    assert!(target["error"].is_null(), "{}", target["error"]);
    assert!(code == 0 || code == 1, "exit {code}");
    assert!(
        !found.iter().any(|c| c == "smtp.starttls_injection"),
        "{found:?}"
    );
}

#[test]
fn no_relay_skips_the_battery() {
    let fake = FakeSmtp::start(Script {
        rcpt_reply: "250 2.1.5 Ok".into(),
        ..Script::default()
    });
    let (_, target, _) = probe(&fake, &["--no-relay"]);
    assert_eq!(target["relay"].as_array().unwrap().len(), 0);
    assert!(!fake.commands().iter().any(|c| c.starts_with("RCPT")));
}

#[test]
fn rfc4954_4_auth_before_tls_anonymous_and_cleartext_235() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmtp::start(Script {
        extensions: vec!["AUTH PLAIN LOGIN ANONYMOUS".into()],
        auth_reply: "235 2.7.0 Authentication successful".into(),
        ..tls_script(dir.path())
    });
    let (code, target, out) = probe(
        &fake,
        &[
            "--auth-user",
            "alice@fake.example.test",
            "--auth-password-env",
            "PROBE_TEST_PASSWORD",
            "--transcript",
        ],
    );
    assert_eq!(code, 1);
    let found = codes(&target);
    for expected in [
        "smtp.auth_before_tls",
        "smtp.auth_anonymous",
        "smtp.auth_cleartext_accepted",
        // AUTH succeeded over TLS but the fake refuses every RCPT.
        "smtp.auth_relay_refused",
    ] {
        assert!(
            found.contains(&expected.to_owned()),
            "{expected} missing: {found:?}"
        );
    }
    assert!(
        target["auth"]["cleartext_result"]
            .as_str()
            .unwrap()
            .starts_with("235")
    );
    assert!(
        target["auth"]["tls_result"]
            .as_str()
            .unwrap()
            .starts_with("235")
    );
    // The password, and its base64 forms, appear nowhere.
    let everything = [out.stdout(), out.stderr()].concat();
    let text = String::from_utf8_lossy(&everything);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [
        PASSWORD.to_owned(),
        b64.encode(PASSWORD),
        b64.encode(format!("\0alice@fake.example.test\0{PASSWORD}")),
    ] {
        assert!(!text.contains(&secret), "secret {secret:?} leaked");
    }
    let transcript = target["transcript"].as_array().unwrap();
    assert!(transcript.iter().any(|l| l == "C: AUTH PLAIN ***"));
    assert_no_data(&fake);
}

#[test]
fn authenticated_relay_over_tls_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmtp::start(Script {
        extensions: vec!["AUTH LOGIN".into()],
        auth_reply: "235 2.7.0 Authentication successful".into(),
        rcpt_reply: "250 2.1.5 Ok".into(),
        ..tls_script(dir.path())
    });
    let password = dir.path().join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let (_, target, out) = probe(
        &fake,
        &[
            "--no-relay",
            "--auth-user",
            "alice",
            "--auth-password-file",
            password.to_str().unwrap(),
        ],
    );
    let found = codes(&target);
    assert!(
        found.contains(&"smtp.auth_relay_ok".to_owned()),
        "{found:?}"
    );
    assert_eq!(target["auth"]["relay_after_auth"]["accepted"], true);
    // AUTH LOGIN payloads went masked into no output.
    assert!(!out.stdout_str().contains(PASSWORD));
    assert_no_data(&fake);
}

#[test]
fn password_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["probe", "127.0.0.1:1", "--auth-user", "alice"])
        .run();
    out.assert_exit(2);
    assert!(out.stderr_str().contains("--auth-password-env"));
}

#[test]
fn cve_2011_0411_starttls_injection_detected() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmtp::start(Script {
        injectable: true,
        ..tls_script(dir.path())
    });
    let (code, target, _) = probe(&fake, &["--no-relay"]);
    assert_eq!(code, 1);
    let found = codes(&target);
    assert!(
        found.contains(&"smtp.starttls_injection".to_owned()),
        "{found:?}"
    );
}

#[test]
fn rfc5321_3_8_421_mid_session_stops_the_probe() {
    let fake = FakeSmtp::start(Script {
        close_421_after: Some(3),
        ..Script::default()
    });
    let (code, target, _) = probe(&fake, &[]);
    assert_eq!(code, 3, "a 421 is temporary: exit 3");
    let found = codes(&target);
    assert!(
        found.contains(&"smtp.service_unavailable".to_owned()),
        "{found:?}"
    );
    assert!(
        target["error"].as_str().unwrap().contains("421"),
        "{}",
        target["error"]
    );
    // It stopped: no further connection after the 421.
    assert_eq!(
        fake.commands()
            .iter()
            .filter(|c| c.starts_with("EHLO"))
            .count(),
        1
    );
}

#[test]
fn rfc5321_4_2_multi_line_greeting_names_software() {
    let fake = FakeSmtp::start(Script {
        greeting: vec![
            "220-fake.example.test ESMTP Exim 4.96 Sun, 29 Nov 2026 10:00:00 +0000".into(),
            "220-No unsolicited bulk mail".into(),
            "220 Second continuation ends here".into(),
        ],
        ..Script::default()
    });
    let (_, target, _) = probe(&fake, &["--no-relay"]);
    let banner = target["banner"].as_str().unwrap();
    assert!(
        banner.starts_with("220 fake.example.test ESMTP Exim 4.96"),
        "{banner}"
    );
    let finding = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "smtp.banner_software")
        .expect("banner_software");
    assert_eq!(finding["severity"], "info");
    assert!(finding["message"].as_str().unwrap().contains("4.96"));
}

#[test]
fn overlong_reply_line_is_bounded() {
    let fake = FakeSmtp::start(Script {
        greeting: vec![format!("220 {}", "x".repeat(100_000))],
        ..Script::default()
    });
    let started = std::time::Instant::now();
    let (_, target, _) = probe(&fake, &[]);
    assert!(started.elapsed().as_secs() < 10, "no hang");
    let error = target["error"].as_str().unwrap();
    assert!(error.contains("longer than"), "{error}");
}

#[test]
fn garbage_greeting_is_a_protocol_error() {
    let fake = FakeSmtp::start(Script {
        greeting: vec!["SSH-2.0-OpenSSH_9.2".into()],
        ..Script::default()
    });
    let (_, target, _) = probe(&fake, &[]);
    let error = target["error"].as_str().unwrap();
    assert!(error.contains("not an SMTP reply line"), "{error}");
}

#[test]
fn rfc5321_7_3_vrfy_and_expn_that_answer() {
    let fake = FakeSmtp::start(Script {
        vrfy_reply: "252 2.0.0 postmaster".into(),
        expn_reply: "250 2.1.5 <root@fake.example.test>".into(),
        ..Script::default()
    });
    let (_, target, _) = probe(&fake, &["--no-relay"]);
    let found = codes(&target);
    assert!(found.contains(&"smtp.vrfy_enabled".to_owned()), "{found:?}");
    assert!(found.contains(&"smtp.expn_enabled".to_owned()), "{found:?}");
}

#[test]
fn rfc5321_3_5_3_vrfy_252_cannot_verify_is_fine() {
    let fake = FakeSmtp::start(Script {
        vrfy_reply: "252 2.1.5 Cannot VRFY user, but will accept message".into(),
        ..Script::default()
    });
    let (_, target, _) = probe(&fake, &["--no-relay"]);
    assert!(!codes(&target).iter().any(|c| c == "smtp.vrfy_enabled"));
}

#[test]
fn rfc8314_submission_accepting_mail_before_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmtp::start(tls_script(dir.path()));
    let (_, target, _) = probe(&fake, &["--no-relay", "--role", "submission"]);
    assert_eq!(target["role"], "submission");
    let found = codes(&target);
    assert!(
        found.contains(&"smtp.starttls_required_missing".to_owned()),
        "{found:?}"
    );
}

#[test]
fn unreachable_target_is_connect_failed_and_exit_3() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_with_ptr(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone,
            "--json",
            "probe",
            &format!("127.0.0.1:{port}"),
            "--timeout",
            "2",
        ])
        .run();
    out.assert_exit(3);
    let json = out.json();
    let target = &json["targets"][0];
    assert_eq!(codes(target), ["smtp.connect_failed"]);
    assert!(target["error"].as_str().unwrap().contains("cannot connect"));
}

#[test]
fn ptr_missing_is_a_warning() {
    let fake = FakeSmtp::start(Script::default());
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("empty.zone");
    std::fs::write(&zone, "$TTL 300\nother.example.test. IN A 192.0.2.1\n").unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            zone.to_str().unwrap(),
            "--json",
            "probe",
            &format!("127.0.0.1:{}", fake.addr().port()),
            "--no-relay",
        ])
        .run();
    let json = out.json();
    let finding = json["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "smtp.ptr_mismatch")
        .cloned()
        .expect("ptr_mismatch");
    assert_eq!(finding["severity"], "warning");
    assert!(finding["message"].as_str().unwrap().contains("no PTR"));
}

#[test]
fn forward_confirmed_ptr_matching_the_banner_is_no_finding() {
    let fake = FakeSmtp::start(Script::default());
    let (_, target, _) = probe(&fake, &["--no-relay"]);
    assert!(
        !codes(&target).iter().any(|c| c == "smtp.ptr_mismatch"),
        "{:?}",
        codes(&target)
    );
}

#[test]
fn text_output_has_a_header_per_target() {
    let fake = FakeSmtp::start(Script {
        rcpt_reply: "250 2.1.5 Ok".into(),
        ..Script::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_with_ptr(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone,
            "probe",
            &format!("127.0.0.1:{}", fake.addr().port()),
        ])
        .run();
    let text = out.stdout_str();
    assert!(
        text.contains("banner: 220 fake.example.test ESMTP"),
        "{text}"
    );
    assert!(text.contains("relay: 16 of 16 pairs accepted"), "{text}");
    assert!(text.contains("error smtp.open_relay"), "{text}");
}

/// A rustls server speaks only TLS 1.2 and 1.3: each legacy ClientHello is refused.
#[test]
fn rfc8996_legacy_versions_refused_by_a_modern_server() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmtp::start(tls_script(dir.path()));
    let (_, target, _) = probe(&fake, &["--no-relay"]);
    let legacy = target["legacy_tls"].as_object().expect("legacy_tls map");
    assert_eq!(
        legacy.keys().collect::<Vec<_>>(),
        ["SSLv3", "TLSv1.0", "TLSv1.1"]
    );
    assert!(legacy.values().all(|v| v == "refused"), "{legacy:?}");
    assert!(
        !codes(&target)
            .iter()
            .any(|c| c == "smtp.tls_protocol_legacy")
    );
}

/// RFC 7568 §3 (SSLv3 must not be used: error) and RFC 8996 §5 (TLS 1.0/1.1: warning), against a
/// fake that answers every ClientHello with a ServerHello of the offered version.
#[test]
fn rfc7568_rfc8996_legacy_versions_accepted() {
    let fake = FakeSmtp::start(Script {
        legacy_accept: true,
        ..Script::default()
    });
    let (code, target, _) = probe(&fake, &["--no-relay"]);
    assert_eq!(code, 1);
    let legacy = target["legacy_tls"].as_object().expect("legacy_tls map");
    assert!(legacy.values().all(|v| v == "accepted"), "{legacy:?}");
    let severities: Vec<(String, String)> = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "smtp.tls_protocol_legacy")
        .map(|f| {
            (
                f["message"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(severities.len(), 3, "{severities:?}");
    assert!(
        severities
            .iter()
            .any(|(m, s)| m.contains("SSLv3") && s == "error")
    );
    assert!(
        severities
            .iter()
            .any(|(m, s)| m.contains("TLSv1.0") && s == "warning")
    );
    assert!(
        severities
            .iter()
            .any(|(m, s)| m.contains("TLSv1.1") && s == "warning")
    );
}

// ---- Against a real Postfix (tests/support/postfix.rs), probed from 127.0.0.2. ----

mod postfix {
    use std::path::Path;

    use serde_json::Value;

    use super::codes;
    use crate::support::cmd::mailauth;
    use crate::support::postfix::{Listener, Postfix};

    /// Forward-confirmed reverse DNS for 127.0.0.1, beside the harness zone.
    fn ptr_zone(dir: &Path) -> String {
        let path = dir.join("ptr.zone");
        std::fs::write(
            &path,
            "$TTL 300\n1.0.0.127.in-addr.arpa. IN PTR mx.example.test.\n",
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn role(listener: Listener) -> &'static str {
        match listener {
            Listener::Submission => "submission",
            Listener::Smtps => "smtps",
            _ => "mx",
        }
    }

    /// Probe one listener from 127.0.0.2 with the harness zone and CA; (exit, target, stdout+stderr).
    fn probe(postfix: &Postfix, listener: Listener, extra: &[&str]) -> (i32, Value, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let ptr = ptr_zone(dir.path());
        let target = format!("{}:{}", Postfix::HOSTNAME, postfix.addr(listener).port());
        let mut args = vec![
            "--zone",
            postfix.zone_file().to_str().unwrap(),
            "--zone",
            &ptr,
            "--json",
            "probe",
            &target,
            "--role",
            role(listener),
            "--source-ip",
            "127.0.0.2",
            "--ca",
            postfix.ca_file().to_str().unwrap(),
            "--timeout",
            "10",
            "--transcript",
        ];
        args.extend_from_slice(extra);
        let out = mailauth().current_dir(dir.path()).args(&args).run();
        let json = out.json();
        let all = [out.stdout(), out.stderr()].concat();
        (out.code().unwrap_or(-1), json["targets"][0].clone(), all)
    }

    fn with_credentials(postfix: &Postfix) -> [String; 4] {
        [
            "--auth-user".into(),
            Postfix::USER.into(),
            "--auth-password-file".into(),
            postfix.password_file().to_str().unwrap().into(),
        ]
    }

    fn no_secret_no_data(postfix: &Postfix, output: &[u8], target: &Value) {
        let password = std::fs::read_to_string(postfix.password_file()).unwrap();
        let password = password.trim();
        assert!(!password.is_empty());
        assert!(
            !output
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "the password appears in the output"
        );
        let transcript = target["transcript"].as_array().unwrap();
        assert!(!transcript.iter().any(|l| l == "C: DATA"), "DATA sent");
        let log = postfix.maillog();
        assert!(!log.contains("message-id="), "a message was queued:\n{log}");
        assert!(!log.contains("fatal:"), "postfix failed:\n{log}");
    }

    macro_rules! postfix_or_skip {
        () => {
            match Postfix::start() {
                Some(p) => p,
                None => return,
            }
        };
    }

    #[test]
    fn postfix_hardened_has_no_error_or_warning() {
        let postfix = postfix_or_skip!();
        let (code, target, output) = probe(&postfix, Listener::Hardened, &[]);
        let bad: Vec<&Value> = target["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "info")
            .collect();
        assert!(bad.is_empty(), "{bad:#?}");
        assert_eq!(code, 0);
        let relay = target["relay"].as_array().unwrap();
        assert_eq!(relay.len(), 16);
        assert!(
            relay
                .iter()
                .all(|p| p["accepted"] == false && p["reply"].as_str().unwrap().starts_with("554")),
            "{relay:#?}"
        );
        assert!(
            target["tls"]["version"]
                .as_str()
                .unwrap()
                .starts_with("TLSv1.")
        );
        no_secret_no_data(&postfix, &output, &target);
    }

    #[test]
    fn postfix_open_relay_lists_accepted_pairs() {
        let postfix = postfix_or_skip!();
        let (code, target, output) = probe(&postfix, Listener::OpenRelay, &[]);
        assert_eq!(code, 1);
        assert!(codes(&target).contains(&"smtp.open_relay".to_owned()));
        let relay = target["relay"].as_array().unwrap();
        assert!(
            relay.iter().any(|p| p["mail_from"] == "a@foreign.example"
                && p["rcpt_to"] == "b@other.example"
                && p["accepted"] == true),
            "{relay:#?}"
        );
        no_secret_no_data(&postfix, &output, &target);
    }

    #[test]
    fn postfix_auth_before_tls_and_cleartext_password_accepted() {
        let postfix = postfix_or_skip!();
        let creds = with_credentials(&postfix);
        let creds: Vec<&str> = creds.iter().map(String::as_str).collect();
        let (_, target, output) = probe(&postfix, Listener::AuthBeforeTls, &creds);
        let found = codes(&target);
        assert!(
            found.contains(&"smtp.auth_before_tls".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(&"smtp.auth_cleartext_accepted".to_owned()),
            "{found:?} {}",
            target["auth"]
        );
        no_secret_no_data(&postfix, &output, &target);
    }

    #[test]
    fn postfix_no_starttls() {
        let postfix = postfix_or_skip!();
        let (_, target, _) = probe(&postfix, Listener::NoStarttls, &["--no-relay"]);
        assert!(codes(&target).contains(&"smtp.starttls_missing".to_owned()));
        assert!(target["tls"].is_null());
    }

    #[test]
    fn postfix_vrfy_open() {
        let postfix = postfix_or_skip!();
        let (_, target, _) = probe(&postfix, Listener::VrfyOpen, &["--no-relay"]);
        assert!(
            codes(&target).contains(&"smtp.vrfy_enabled".to_owned()),
            "{:?}",
            codes(&target)
        );
    }

    #[test]
    fn postfix_submission_authenticated_relay_ok() {
        let postfix = postfix_or_skip!();
        let creds = with_credentials(&postfix);
        let creds: Vec<&str> = creds.iter().map(String::as_str).collect();
        let (_, target, output) = probe(&postfix, Listener::Submission, &creds);
        let found = codes(&target);
        assert!(
            found.contains(&"smtp.auth_relay_ok".to_owned()),
            "{found:?}\n{target:#}"
        );
        assert!(
            !found.contains(&"smtp.starttls_required_missing".to_owned()),
            "{found:?}"
        );
        no_secret_no_data(&postfix, &output, &target);
    }

    #[test]
    fn postfix_legacy_tls_listener_accepts_tls10_and_tls11() {
        let postfix = postfix_or_skip!();
        let (_, target, _) = probe(&postfix, Listener::LegacyTls, &["--no-relay"]);
        let legacy = &target["legacy_tls"];
        assert_eq!(legacy["TLSv1.0"], "accepted", "{legacy}");
        assert_eq!(legacy["TLSv1.1"], "accepted", "{legacy}");
        assert_ne!(legacy["SSLv3"], "accepted", "{legacy}");
        let legacy_findings = codes(&target)
            .iter()
            .filter(|c| *c == "smtp.tls_protocol_legacy")
            .count();
        assert_eq!(legacy_findings, 2);
    }

    /// `check --smtp` adds the probe's findings to the domain's report; the relay battery only
    /// with --relay.
    #[test]
    fn check_smtp_appends_probe_findings_relay_only_on_request() {
        let postfix = postfix_or_skip!();
        let dir = tempfile::tempdir().unwrap();
        let ptr = ptr_zone(dir.path());
        let port = postfix.addr(Listener::OpenRelay).port().to_string();
        let zone = postfix.zone_file().to_str().unwrap().to_owned();
        let run = |relay: bool| {
            let mut args = vec![
                "--zone",
                zone.as_str(),
                "--zone",
                ptr.as_str(),
                "--json",
                "check",
                "example.test",
                "--smtp",
                "--smtp-port",
                port.as_str(),
                "--source-ip",
                "127.0.0.2",
            ];
            if relay {
                args.push("--relay");
            }
            let out = mailauth().current_dir(dir.path()).args(&args).run();
            let json = out.json();
            codes(&json)
        };
        let with_relay = run(true);
        assert!(
            with_relay.contains(&"smtp.open_relay".to_owned()),
            "{with_relay:?}"
        );
        let without = run(false);
        assert!(
            !without.contains(&"smtp.open_relay".to_owned()),
            "{without:?}"
        );
        assert!(
            without.iter().any(|c| c.starts_with("smtp.")),
            "{without:?}"
        );
    }
}

/// smtp-sink, the worst server: every RCPT accepted, AUTH offered before TLS.
#[test]
fn smtp_sink_is_an_open_relay_offering_auth_before_tls() {
    let Some(sink) = crate::support::smtp_sink::SmtpSink::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_with_ptr(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone,
            "--json",
            "probe",
            &sink.addr().to_string(),
            "--role",
            "mx",
            "--source-ip",
            "127.0.0.2",
            "--timeout",
            "5",
        ])
        .run();
    let json = out.json();
    let target = &json["targets"][0];
    let found = codes(target);
    assert!(
        found.contains(&"smtp.open_relay".to_owned()),
        "{found:?}\n{target:#}"
    );
    assert!(
        found.contains(&"smtp.auth_before_tls".to_owned()),
        "{found:?}\n{target:#}"
    );
    out.assert_exit(1);
}
