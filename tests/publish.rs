//! `mailauth init`, `plan` and `publish` with the zone-file default: the offline workflow a new
//! user runs first, and its refusals.

use std::process::Command;

use crate::support::cmd::mailauth;
use crate::support::named::checkzone;
use crate::support::tool;

#[test]
fn init_then_publish_then_check_reports_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    let now = ["--now", "2026-11-25T10:00:00Z"];
    mailauth()
        .current_dir(dir.path())
        .args(now)
        .args(["init", "example.com"])
        .run()
        .assert_exit(0);
    let out = mailauth().current_dir(dir.path()).arg("plan").run();
    assert!(
        out.stdout_str().contains(
            "+ 20261125-ed25519._domainkey.example.com 3600 TXT \"v=DKIM1; k=ed25519; p="
        )
    );
    // Not a terminal and no --yes: nothing is applied.
    let out = mailauth().current_dir(dir.path()).arg("publish").run();
    out.assert_exit(2);
    assert!(out.stderr_str().contains("--yes"));
    let out = mailauth()
        .current_dir(dir.path())
        .args(["publish", "--yes"])
        .run();
    out.assert_exit(0);
    assert!(out.stderr_str().contains("published and confirmed"));
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--json", "plan"])
        .run();
    let json = out.json();
    assert_eq!(
        json[0]["changes"],
        serde_json::json!([]),
        "a plan after publish is empty"
    );
    let zone = dir.path().join("example.com.zone");
    let out = mailauth()
        .current_dir(dir.path())
        .arg("--zone")
        .arg(&zone)
        .args(["--json", "check", "example.com"])
        .run();
    out.assert_exit(0);
    let report = out.json();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error")
    );
    if tool("named-checkzone").is_some() {
        checkzone("example.com", &zone).unwrap();
    }
    // init refuses to overwrite.
    mailauth()
        .current_dir(dir.path())
        .args(["init", "example.com"])
        .run()
        .assert_exit(2);
}

#[test]
fn publish_keeps_foreign_records_and_replaces_only_spf() {
    let dir = tempfile::tempdir().unwrap();
    mailauth()
        .current_dir(dir.path())
        .args(["init", "example.org"])
        .run()
        .assert_exit(0);
    let zone = dir.path().join("example.org.zone");
    let mut original = std::fs::read_to_string(&zone).unwrap();
    original.push_str("@ IN TXT \"google-site-verification=abc\"\n@ IN TXT \"v=spf1 a -all\"\n");
    std::fs::write(&zone, original).unwrap();
    let plan = mailauth()
        .current_dir(dir.path())
        .arg("plan")
        .run()
        .stdout_str();
    assert!(
        plan.contains("~ example.org TXT \"v=spf1 a -all\" (3600) -> \"v=spf1 mx -all\" (3600)"),
        "{plan}"
    );
    assert!(!plan.contains("google"), "{plan}");
    mailauth()
        .current_dir(dir.path())
        .args(["publish", "-y"])
        .run()
        .assert_exit(0);
    let after = std::fs::read_to_string(&zone).unwrap();
    assert!(after.contains("@ IN TXT \"google-site-verification=abc\"\n"));
    assert!(!after.contains("v=spf1 a -all"));
}

#[test]
fn configuration_errors_name_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[providers.cf]\nkind = \"cloudflare\"\ntoken_env = \"CF_TOKEN\"\n\n[domains.\"example.net\"]\nprovider = \"cf\"\n";
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!("{base}spf = {{ mx = true, alll = \"-\" }}\n"),
    )
    .unwrap();
    let out = mailauth().current_dir(dir.path()).arg("plan").run();
    out.assert_exit(2);
    let err = out.stderr_str();
    assert!(
        err.contains("mailauth.toml:7:") && err.contains("did you mean `all`?"),
        "{err}"
    );
    std::fs::write(dir.path().join("mailauth.toml"), base).unwrap();
    // The credential is named, never shown; the variable is unset here.
    let out = mailauth()
        .arg("plan")
        .current_dir(dir.path())
        .env_remove("CF_TOKEN")
        .run();
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("CF_TOKEN is not set"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn publish_through_powerdns_and_confirm_over_dns() {
    let Some(pdns) = crate::support::pdns::Pdns::start() else {
        return;
    };
    pdns.create_zone("pdns.test");
    let dir = tempfile::tempdir().unwrap();
    mailauth()
        .current_dir(dir.path())
        .args(["keygen", "pdns.test", "-s", "s1", "-a", "ed25519"])
        .run()
        .assert_exit(0);
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!(
            "[providers.pdns]\nkind = \"powerdns\"\nurl = \"{}\"\ntoken_env = \"PDNS_TEST_KEY\"\n\n[domains.\"pdns.test\"]\nprovider = \"pdns\"\nttl = 300\nspf = {{ mx = true }}\ndmarc = {{ policy = \"reject\", rua = [\"mailto:dmarc@pdns.test\"] }}\ndkim = [{{ selector = \"s1\", algorithm = \"ed25519\" }}]\n",
            pdns.api
        ),
    )
    .unwrap();
    let base = mailauth()
        .current_dir(dir.path())
        .env("PDNS_TEST_KEY", &pdns.key);
    let dns = pdns.dns.to_string();
    let out = base
        .clone()
        .args(["--resolver", &dns, "publish", "--yes", "--wait", "20"])
        .run();
    out.assert_exit(0);
    assert!(
        out.stderr_str()
            .contains(&format!("published and confirmed at {dns}")),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains(&pdns.key) && !out.stderr_str().contains(&pdns.key));
    let out = base.clone().arg("plan").run();
    assert_eq!(out.stdout_str(), "pdns.test (pdns): no changes\n");
    // The records are served: check over DNS finds the DKIM key matching the key store.
    let out = base
        .clone()
        .args(["--resolver", &dns, "--json", "check", "pdns.test"])
        .run();
    let report = out.json();
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("dkim.") || c.starts_with("spf.") || c.starts_with("dmarc.")),
        "{codes:?}"
    );
}

#[test]
fn publish_through_rfc2136_to_bind_and_confirm_over_dns() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(keygen) = tool("tsig-keygen") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("tsig.key");
    let out = Command::new(keygen)
        .args(["-a", "hmac-sha512", "upd"])
        .output()
        .unwrap();
    std::fs::write(&key_file, &out.stdout).unwrap();
    let zone = dir.path().join("dyn.test.zone");
    std::fs::write(&zone, "$ORIGIN dyn.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 ns1\n").unwrap();
    let Some(named) = crate::support::named::Named::start_with_update_key(
        &[("dyn.test".into(), zone)],
        Some(("upd", &key_file)),
    ) else {
        return;
    };
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!(
            "[providers.bind]\nkind = \"rfc2136\"\nurl = \"{}\"\nkey_file = \"tsig.key\"\n\n[domains.\"dyn.test\"]\nprovider = \"bind\"\nttl = 300\nspf = {{ mx = true }}\ndmarc = {{ policy = \"quarantine\", rua = [\"mailto:d@dyn.test\"] }}\n",
            named.addr()
        ),
    )
    .unwrap();
    let addr = named.addr().to_string();
    // A key file others can read is refused, naming the fix.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = mailauth().current_dir(dir.path()).arg("plan").run();
    assert!(
        out.stderr_str().contains("chmod 600"),
        "{}",
        out.stderr_str()
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--resolver", &addr, "publish", "--yes", "--wait", "20"])
        .run();
    out.assert_exit(0);
    assert!(out.stderr_str().contains("published and confirmed"));
    assert_eq!(
        mailauth()
            .current_dir(dir.path())
            .arg("plan")
            .run()
            .stdout_str(),
        "dyn.test (bind): no changes\n"
    );
}

#[test]
fn an_unreachable_provider_exits_3_and_says_what_was_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!("[providers.p]\nkind = \"powerdns\"\nurl = \"http://127.0.0.1:{port}\"\ntoken_env = \"PDNS_KEY_X\"\n\n[domains.\"down.test\"]\nprovider = \"p\"\nspf = {{ mx = true }}\n"),
    )
    .unwrap();
    let out = mailauth()
        .args(["publish", "--yes"])
        .current_dir(dir.path())
        .env("PDNS_KEY_X", "k")
        .run();
    out.assert_exit(3);
    assert!(
        out.stderr_str().contains("unreachable"),
        "{}",
        out.stderr_str()
    );
}

/// Why: a mistyped zone-file `path` exited 3 ("this looks temporary") because the zone-file
/// backend reported a missing file as unreachable. It is bad input: exit 2, naming the file.
#[test]
fn zonefile_path_missing_exits_2_not_3() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        "[providers.local]\nkind = \"zonefile\"\npath = \"exampel.com.zone\"\n\n[domains.\"example.com\"]\nprovider = \"local\"\nspf = { mx = true }\n",
    )
    .unwrap();
    for args in [&["plan"][..], &["publish", "--yes"]] {
        let out = mailauth().current_dir(dir.path()).args(args).run();
        let err = out.stderr_str();
        out.assert_exit(2);
        assert!(err.contains("exampel.com.zone"), "{err}");
        assert!(!err.contains("temporary"), "{err}");
    }
}

/// Why: after publish applied a change at the provider, a confirmation that could not run (the
/// zone's name servers not found) printed only the DNS error and exited 2: the user could not
/// tell that the change was applied. Now it says so per domain and exits 3.
#[test]
fn publish_applied_but_unconfirmed_says_so() {
    use crate::support::cloudflare_fake::{CloudflareFake, TOKEN, ZONE};
    let fake = CloudflareFake::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!(
            "[providers.cf]\nkind = \"cloudflare\"\nurl = \"{}\"\ntoken_env = \"CF_FAKE_TOKEN\"\n\n[domains.\"{ZONE}\"]\nprovider = \"cf\"\nttl = 300\nspf = {{ mx = true }}\ndmarc = {{ policy = \"none\" }}\n",
            fake.base()
        ),
    )
    .unwrap();
    // DNS answers come from a zone file that knows nothing of the domain: no NS is found.
    let other = dir.path().join("other.zone");
    std::fs::write(
        &other,
        "$ORIGIN other.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n",
    )
    .unwrap();
    let run = |json: bool| {
        let mut command = mailauth().arg("--zone").arg(&other);
        if json {
            command = command.arg("--json");
        }
        command
            .args(["publish", "--yes", "--wait", "1"])
            .current_dir(dir.path())
            .env("CF_FAKE_TOKEN", TOKEN)
            .run()
    };
    let out = run(false);
    let err = out.stderr_str();
    out.assert_exit(3);
    assert!(
        err.contains(&format!(
            "{ZONE}: applied at cf, not yet confirmed: finding the name servers of {ZONE}"
        )),
        "{err}"
    );
    assert_eq!(fake.state.lock().unwrap().records.len(), 2);
    // The same outcome in JSON, after changing the policy so there is something to apply.
    let config = std::fs::read_to_string(dir.path().join("mailauth.toml")).unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        config.replace("policy = \"none\"", "policy = \"reject\""),
    )
    .unwrap();
    let out = run(true);
    out.assert_exit(3);
    let report = out.json();
    let domain = &report["domains"][0];
    assert_eq!(domain["domain"], ZONE);
    assert_eq!(domain["provider"], "cf");
    assert_eq!(domain["status"], "applied_unconfirmed");
    assert_eq!(domain["applied"][0]["op"], "update", "{report}");
    assert_eq!(domain["confirmed"], serde_json::json!([]));
    assert!(
        domain["error"]
            .as_str()
            .unwrap()
            .contains("finding the name servers"),
        "{report}"
    );
}

/// A published zone-file domain reports what was applied and confirmed, also in JSON.
#[test]
fn publish_json_says_what_was_applied_and_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    mailauth()
        .current_dir(dir.path())
        .args(["init", "example.net"])
        .run()
        .assert_exit(0);
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--json", "publish", "--yes"])
        .run();
    out.assert_exit(0);
    let report = out.json();
    let domain = &report["domains"][0];
    assert_eq!(domain["status"], "confirmed", "{report}");
    assert_eq!(domain["applied"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(domain["confirmed"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(domain["error"], serde_json::Value::Null);
    assert_eq!(report["plans"][0]["changes"].as_array().unwrap().len(), 4);
}

/// A change the provider refuses (HTTP 400) is a bad answer, not bad input: exit 1, with the
/// domain reported as not applied.
#[test]
fn publish_refused_by_the_provider_exits_1() {
    use crate::support::cloudflare_fake::{CloudflareFake, REFUSED_CONTENT, TOKEN, ZONE};
    let fake = CloudflareFake::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!(
            "[providers.cf]\nkind = \"cloudflare\"\nurl = \"{}\"\ntoken_env = \"CF_FAKE_TOKEN\"\n\n[domains.\"{ZONE}\"]\nprovider = \"cf\"\ndmarc = {{ policy = \"none\", rua = [\"mailto:{REFUSED_CONTENT}@{ZONE}\"] }}\n",
            fake.base()
        ),
    )
    .unwrap();
    let out = mailauth()
        .args(["--json", "publish", "--yes"])
        .current_dir(dir.path())
        .env("CF_FAKE_TOKEN", TOKEN)
        .run();
    out.assert_exit(1);
    let report = out.json();
    let domain = &report["domains"][0];
    assert_eq!(domain["status"], "not_applied", "{report}");
    assert_eq!(domain["applied"], serde_json::json!([]));
    assert!(
        domain["error"].as_str().unwrap().contains("9005"),
        "{report}"
    );
}
