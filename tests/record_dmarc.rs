//! `mailauth record dmarc` and `[domains."D".dmarc]` in mailauth.toml build RFC 9989 records:
//! `np=`, `psd=` and `t=` (RFC 9989 §4.7, DMARC Policy Record Format), and `pct=` only with a
//! warning that RFC 9989 removed it (Appendix C.5.2, Tags Removed) while RFC 7489 receivers still
//! read it. The configuration is checked end to end: plan, publish to a zone file, plan again,
//! and `check` on the published zone.

use std::path::Path;

use crate::support::cmd::mailauth;

/// RFC 9989 §4.7: np=, psd= and t= in the record, as a zone-file line, with no warning.
#[test]
fn rfc9989_4_7_record_dmarc_writes_np_psd_and_testing() {
    let out = mailauth()
        .args([
            "record",
            "dmarc",
            "--policy",
            "reject",
            "--sp",
            "quarantine",
            "--np",
            "reject",
            "--psd",
            "n",
            "--testing",
            "--rua",
            "mailto:dmarc@example.com",
            "--domain",
            "example.com",
        ])
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.stdout_str(),
        "_dmarc.example.com. IN TXT \"v=DMARC1; p=reject; sp=quarantine; np=reject; psd=n; t=y; rua=mailto:dmarc@example.com\"\n"
    );
    assert!(
        !out.stderr_str().contains("warning"),
        "{}",
        out.stderr_str()
    );
}

/// The same through --json: the record, its name, notes and (no) warnings.
#[test]
fn rfc9989_4_7_record_dmarc_json() {
    let out = mailauth()
        .args([
            "--json",
            "record",
            "dmarc",
            "-p",
            "quarantine",
            "--np",
            "reject",
            "--psd",
            "y",
            "--domain",
            "example",
        ])
        .run();
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["record"], "v=DMARC1; p=quarantine; np=reject; psd=y");
    assert_eq!(json["name"], "_dmarc.example");
    assert_eq!(json["warnings"], serde_json::json!([]));
    let notes = json["notes"].to_string();
    assert!(notes.contains("public suffix domain"), "{notes}");
    // psd=u is the default, and can still be written.
    let out = mailauth()
        .args(["--json", "record", "dmarc", "-p", "none", "--psd", "u"])
        .run();
    out.assert_exit(0);
    assert_eq!(out.json()["record"], "v=DMARC1; p=none; psd=u");
}

/// RFC 9989 §4.7 (t tag): testing has no effect on a policy of none; the command says so.
#[test]
fn rfc9989_4_7_testing_with_policy_none_is_noted() {
    let out = mailauth()
        .args(["record", "dmarc", "-p", "none", "--testing"])
        .run();
    out.assert_exit(0);
    assert_eq!(out.stdout_str(), "\"v=DMARC1; p=none; t=y\"\n");
    assert!(
        out.stderr_str()
            .contains("t=y has no effect on a policy of none"),
        "{}",
        out.stderr_str()
    );
}

/// RFC 9989 Appendix C.5.2 (Tags Removed) and A.6 (Removal of the "pct" Tag): --pct is still
/// written, for RFC 7489 receivers, with a warning in text and JSON that names both kinds of
/// receiver and t=y as the successor.
#[test]
fn rfc9989_c_5_2_pct_is_written_with_a_warning() {
    let out = mailauth()
        .args(["record", "dmarc", "-p", "reject", "--pct", "50"])
        .run();
    out.assert_exit(0);
    assert_eq!(out.stdout_str(), "\"v=DMARC1; p=reject; pct=50\"\n");
    let err = out.stderr_str();
    assert!(
        err.contains("warning: pct=50: RFC 9989 removed pct=")
            && err.contains("RFC 7489 read it")
            && err.contains("--testing"),
        "{err}"
    );
    let out = mailauth()
        .args([
            "--json",
            "record",
            "dmarc",
            "-p",
            "reject",
            "--pct",
            "0",
            "--testing",
        ])
        .run();
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["record"], "v=DMARC1; p=reject; t=y; pct=0");
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{json}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains("RFC 9989 removed pct=") && warning.contains("successor"),
        "{warning}"
    );
}

/// Values outside RFC 9989's grammar for psd (y, n, u) and np (none, quarantine, reject) are
/// refused as usage errors.
#[test]
fn rfc9989_4_7_record_dmarc_refuses_bad_np_and_psd() {
    for bad in [
        ["--psd", "yes"],
        ["--psd", "Y"],
        ["--np", "block"],
        ["--np", ""],
    ] {
        let out = mailauth()
            .args(["record", "dmarc", "-p", "none"])
            .args(bad)
            .run();
        out.assert_exit(2);
    }
}

const ZONE: &str = "$ORIGIN example.com.\n$TTL 3600\n\
    @ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n";

fn write_config(dir: &Path, dmarc: &str) {
    let config = format!(
        "[providers.local]\nkind = \"zonefile\"\npath = \"example.com.zone\"\n\n\
         [domains.\"example.com\"]\nprovider = \"local\"\ndmarc = {{ {dmarc} }}\n"
    );
    std::fs::write(dir.join("mailauth.toml"), config).unwrap();
    std::fs::write(dir.join("example.com.zone"), ZONE).unwrap();
}

/// mailauth.toml's np, psd and testing reach the planned record, publish to the zone file, and
/// a second plan has nothing to do; `check` on the result reports no DMARC finding.
#[test]
fn rfc9989_4_7_config_np_psd_testing_round_trip_through_plan() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "policy = \"quarantine\", np = \"reject\", psd = \"n\", testing = true, rua = [\"mailto:dmarc@example.com\"]",
    );
    let record = "v=DMARC1; p=quarantine; np=reject; psd=n; t=y; rua=mailto:dmarc@example.com";
    let out = mailauth().current_dir(dir.path()).arg("plan").run();
    out.assert_exit(0);
    assert!(
        out.stdout_str()
            .contains(&format!("+ _dmarc.example.com 3600 TXT \"{record}\"")),
        "{}",
        out.stdout_str()
    );
    mailauth()
        .current_dir(dir.path())
        .args(["publish", "--yes"])
        .run()
        .assert_exit(0);
    let zone = std::fs::read_to_string(dir.path().join("example.com.zone")).unwrap();
    assert!(zone.contains(&format!("\"{record}\"")), "{zone}");
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--json", "plan"])
        .run();
    assert_eq!(out.json()[0]["changes"], serde_json::json!([]));
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            "example.com.zone",
            "--json",
            "check",
            "example.com",
        ])
        .run();
    let codes: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(codes.iter().all(|c| !c.starts_with("dmarc.")), "{codes:?}");
}

/// A configured pct is still published (RFC 7489 receivers read it), and `check` on the result
/// reports `dmarc.legacy_tags` (RFC 9989 Appendix C.5.2) beside `dmarc.pct`.
#[test]
fn rfc9989_c_5_2_configured_pct_is_published_and_linted() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "policy = \"reject\", pct = 50, rua = [\"mailto:dmarc@example.com\"]",
    );
    mailauth()
        .current_dir(dir.path())
        .args(["publish", "--yes"])
        .run()
        .assert_exit(0);
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            "example.com.zone",
            "--json",
            "check",
            "example.com",
        ])
        .run();
    let json = out.json();
    let legacy = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "dmarc.legacy_tags")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(legacy["severity"], "warning");
    assert_eq!(legacy["rfc"], "RFC 9989 §C.5.2");
    let message = legacy["message"].as_str().unwrap();
    assert!(
        message.contains("pct=50") && message.contains("RFC 7489"),
        "{message}"
    );
}

/// Bad np, psd or testing values in mailauth.toml are refused at their line and column.
#[test]
fn rfc9989_4_7_config_bad_values_name_the_line() {
    for bad in [
        "policy = \"none\", psd = \"yes\"",
        "policy = \"none\", np = \"deny\"",
        "policy = \"none\", testing = \"y\"",
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), bad);
        let out = mailauth().current_dir(dir.path()).arg("plan").run();
        out.assert_exit(2);
        assert!(
            out.stderr_str().contains("mailauth.toml:7:"),
            "{bad}: {}",
            out.stderr_str()
        );
    }
}
