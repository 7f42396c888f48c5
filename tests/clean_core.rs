//! The clean core (issue "One clean core"): one test per behaviour that was wrong, named after it,
//! and one test per row of README's exit-code table.

use std::path::Path;

use crate::support::cmd::mailauth;
use crate::support::dns_server::TestDnsServer;
use crate::support::testdata;

/// A zone with one domain that passes every check and one without SPF (an error finding).
const ZONE: &str = "$ORIGIN good.test.\n$TTL 300\n\
@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n\
@ IN NS ns1\nns1 IN A 192.0.2.53\n\
@ IN MX 10 mail\nmail IN A 192.0.2.25\n\
@ IN TXT \"v=spf1 mx -all\"\n\
_dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:d@good.test\"\n\
$ORIGIN nospf.test.\n\
@ IN SOA ns1.good.test. hostmaster.good.test. 1 3600 600 86400 300\n\
@ IN MX 10 mail.good.test.\n\
_dmarc IN TXT \"v=DMARC1; p=reject\"\n";

fn zone(dir: &Path) -> String {
    let path = dir.join("test.zone");
    std::fs::write(&path, ZONE).unwrap();
    path.display().to_string()
}

/// Why: `check --domains-file` checked `../..`, a NUL byte or a 300-character name as domains and
/// printed findings with fixes for them; duplicates were checked again.
#[test]
fn check_domains_file_rejects_invalid_lines_and_checks_each_domain_once() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone(dir.path());
    let long = format!("{}.test", vec!["abcdefghij"; 28].join("."));
    let list = format!(
        "good.test\n../..\nGood.Test.\nbad\0name.test\n{long}\n# comment\n\nnospf.test\ngood.test\n"
    );
    std::fs::write(dir.path().join("list.txt"), list).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone,
            "--json",
            "check",
            "--domains-file",
            "list.txt",
        ])
        .run();
    out.assert_exit(2);
    let records = out.json_lines();
    let mut checked: Vec<&str> = records
        .iter()
        .filter_map(|r| r["domain"].as_str())
        .collect();
    checked.sort_unstable();
    assert_eq!(
        checked,
        ["good.test", "nospf.test"],
        "each distinct domain once"
    );
    let errors: Vec<(u64, &str)> = records
        .iter()
        .filter(|r| r.get("error").is_some())
        .map(|r| (r["line"].as_u64().unwrap(), r["error"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        [2, 4, 5],
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .all(|e| e.1.starts_with("invalid domain name")),
        "{errors:?}"
    );
    assert!(
        !records
            .iter()
            .any(|r| r["findings"].to_string().contains("../..")),
        "no findings for an invalid line"
    );
    assert!(
        out.stderr_str()
            .contains("3 invalid lines, 2 duplicates skipped"),
        "{}",
        out.stderr_str()
    );
}

/// Why: configuration errors found after parsing (bad `all`, algorithm, duration, unknown
/// provider) lost their `file:line:col`.
#[test]
fn config_errors_found_after_parsing_keep_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.com.zone"), "").unwrap();
    let config = "[providers.local]\nkind = \"zonefile\"\npath = \"example.com.zone\"\n\n\
[domains.\"example.com\"]\nprovider = \"local\"\nspf = { mx = true, all = \"+\" }\n";
    std::fs::write(dir.path().join("mailauth.toml"), config).unwrap();
    let out = mailauth().current_dir(dir.path()).arg("plan").run();
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("mailauth.toml:7:"),
        "{}",
        out.stderr_str()
    );
    let config = config
        .replace("all = \"+\"", "all = \"-\"")
        .replace("provider = \"local\"", "provider = \"lokal\"");
    std::fs::write(dir.path().join("mailauth.toml"), config).unwrap();
    let out = mailauth().current_dir(dir.path()).arg("plan").run();
    out.assert_exit(2);
    let err = out.stderr_str();
    assert!(
        err.contains("mailauth.toml:6:") && err.contains("did you mean `local`?"),
        "{err}"
    );
}

/// Why: `plan --domain Example.COM` normalised the name but other commands did not; every
/// command now parses domains into one type, so an invalid one is refused with its reason.
#[test]
fn domain_arguments_are_parsed_once_and_invalid_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", &zone, "check", "Good.TEST."])
        .run();
    out.assert_exit(0);
    assert_eq!(out.stdout_str(), "good.test: no problems found\n");
    for bad in ["../..", "a..b.test", "192.0.2.1"] {
        let out = mailauth()
            .current_dir(dir.path())
            .args(["--zone", &zone, "check", bad])
            .run();
        out.assert_exit(2);
        assert!(
            out.stderr_str().contains("invalid domain name"),
            "{}",
            out.stderr_str()
        );
    }
    let out = mailauth()
        .current_dir(dir.path())
        .args(["keygen", "../x", "--key-dir", "k"])
        .run();
    out.assert_exit(2);
    assert!(
        !dir.path().join("k").exists(),
        "nothing written for an invalid domain"
    );
}

/// README exit-code table, row 0: the work ran and nothing is wrong.
#[test]
fn exit_0_when_nothing_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", &zone, "check", "good.test"])
        .run();
    out.assert_exit(0);
}

/// README exit-code table, row 1: the work ran and the answer is bad (an error finding).
#[test]
fn exit_1_when_the_answer_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", &zone, "check", "nospf.test"])
        .run();
    out.assert_exit(1);
    assert!(
        out.stdout_str().contains("spf.none"),
        "{}",
        out.stdout_str()
    );
}

/// README exit-code table, row 2: bad input or usage (unknown flag, a file that is not there).
#[test]
fn exit_2_on_bad_input_or_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["check", "--no-such-flag"])
        .run();
    out.assert_exit(2);
    let out = mailauth()
        .current_dir(dir.path())
        .args(["verify", "missing.eml"])
        .run();
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("missing.eml"),
        "{}",
        out.stderr_str()
    );
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", "missing.zone", "check", "good.test"])
        .run();
    assert_eq!(
        out.code(),
        Some(2),
        "a missing zone file is not temporary\n{}",
        out.dump()
    );
    assert!(
        !out.stderr_str().contains("temporary"),
        "{}",
        out.stderr_str()
    );
}

/// README exit-code table, row 3: a temporary network or server failure (a DNS server that
/// refuses), and the message says running again is safe.
#[test]
fn exit_3_on_a_temporary_server_failure() {
    let server = TestDnsServer::start(&[testdata().join("dns/empty.test.zone")]);
    let dir = tempfile::tempdir().unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--resolver",
            &server.udp_addr().to_string(),
            "check",
            "good.test",
        ])
        .run();
    out.assert_exit(3);
}

/// Why: README and source comments pointed to `../shared/ARCHITECTURE.md`, outside the project,
/// which had drifted from the code. The map is `docs/ARCHITECTURE.md`.
#[test]
fn readme_and_sources_point_to_the_projects_own_architecture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("docs/ARCHITECTURE.md"));
    let mut offenders = Vec::new();
    let mut stack = vec![root.join("src"), root.join("base"), root.join("providers")];
    let mut files = vec![root.join("README.md")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("target") {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "md") {
                files.push(path);
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("../shared") {
            offenders.push(file.display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "point outside the project: {offenders:?}"
    );
}
