//! `mailauth reports` through the binary, on the hand-written reports of testdata/reports-cli
//! (shaped after Google's RFC 9990 report, Yahoo's RFC 7489 one with `extra_contact_info`,
//! Outlook.com's, one RFC 8460 TLS report and a truncated file): the exit codes of the CLI
//! contract, the JSON keys other outputs rely on, deduplication across runs, the default database
//! beside `--config`, and a database that survives rejected input.

use std::path::{Path, PathBuf};

use crate::support::cmd::mailauth;

/// DNS for the summary: example.com's SPF covers 198.51.100.0/24 through an include.
const ZONE: &str = "\
$ORIGIN example.com.
@        TXT \"v=spf1 include:_spf.esp.example -all\"
$ORIGIN esp.example.
_spf     TXT \"v=spf1 ip4:198.51.100.0/24 -all\"
$ORIGIN mailer.example.net.
bounce   TXT \"v=spf1 ip4:203.0.113.0/25 -all\"
";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/reports-cli")
        .join(name)
}

const GOOGLE: &str = "google-example.com-2026-11-01.xml";
const YAHOO: &str = "yahoo-example.com-2026-11-02.xml";
const TLS: &str = "google-tls-example.com-2026-11-01.json";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dns.zone"), ZONE).unwrap();
        Setup { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("reports.sqlite")
    }

    /// `mailauth --json reports SUB --db DB ARGS...` in the temporary directory.
    fn run(&self, sub: &str, args: &[&Path]) -> crate::support::cmd::CmdOutput {
        mailauth()
            .current_dir(self.dir.path())
            .args([
                "--json",
                "--zone",
                "dns.zone",
                "--now",
                "2026-11-10T00:00:00Z",
            ])
            .args(["reports", sub, "--db"])
            .arg(self.db())
            .args(args)
            .run()
    }
}

/// The CLI contract: exit 0 when nothing was rejected; a second run finds only duplicates,
/// because reports are deduplicated by (organisation, report id).
#[test]
fn reports_ingest_twice_second_run_all_duplicates() {
    let s = Setup::new();
    let sources = [data(GOOGLE), data(YAHOO), data(TLS)];
    let refs: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    let first = s.run("ingest", &refs);
    first.assert_exit(0);
    let j = first.json();
    assert_eq!(j["read"], 3);
    assert_eq!(j["ingested"], 3);
    assert_eq!(j["duplicates"], 0);
    assert_eq!(j["aggregate"], 2);
    assert_eq!(j["tls"], 1);
    assert_eq!(j["rejected"], serde_json::json!([]));
    assert_eq!(j["db"], s.db().display().to_string());
    let second = s.run("ingest", &refs);
    second.assert_exit(0);
    let j = second.json();
    assert_eq!(j["ingested"], 0);
    assert_eq!(j["duplicates"], 3);
}

/// Exit 1 when some input was rejected: the rest is stored, and the rejected file is named with
/// its reason.
#[test]
fn reports_ingest_directory_with_a_truncated_file_exits_1_and_stores_the_rest() {
    let s = Setup::new();
    let dir = data("");
    let out = s.run("ingest", &[dir.as_path()]);
    out.assert_exit(1);
    let j = out.json();
    assert_eq!(j["ingested"], 4, "{j}");
    assert_eq!(j["aggregate"], 3);
    assert_eq!(j["tls"], 1);
    let rejected = j["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{j}");
    assert!(
        rejected[0]["origin"]
            .as_str()
            .unwrap()
            .ends_with("truncated.xml"),
        "{j}"
    );
    assert!(!rejected[0]["reason"].as_str().unwrap().is_empty());
}

/// Exit 2 for a missing path and for bad flags; nothing is stored.
#[test]
fn reports_ingest_missing_path_or_bad_flag_exits_2() {
    let s = Setup::new();
    let missing = s.dir.path().join("no-such-dir");
    let out = s.run("ingest", &[missing.as_path()]);
    out.assert_exit(2);
    assert!(out.stderr_str().contains("no-such-dir"), "{}", out.dump());
    mailauth()
        .current_dir(s.dir.path())
        .args(["reports", "ingest", "--no-such-flag", "x"])
        .run()
        .assert_exit(2);
    let out = mailauth()
        .current_dir(s.dir.path())
        .args(["reports", "summary", "--since", "yesterday-ish", "--db"])
        .arg(s.db())
        .run();
    out.assert_exit(2);
    assert!(out.stderr_str().contains("--since"), "{}", out.dump());
    assert!(!s.db().exists(), "nothing was stored");
}

/// A rejected input leaves the database as it was: what was stored before is still listed.
#[test]
fn reports_db_survives_a_rejected_input() {
    let s = Setup::new();
    s.run("ingest", &[data(GOOGLE).as_path()]).assert_exit(0);
    s.run("ingest", &[data("truncated.xml").as_path()])
        .assert_exit(1);
    let list = s.run("list", &[]);
    list.assert_exit(0);
    let reports = list.json()["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["report_id"], "4718922395163290017");
}

/// `reports list --json`: the keys of the contract per kind, oldest first, counts in messages.
#[test]
fn reports_list_json_keys_per_contract() {
    let s = Setup::new();
    let dir = data("");
    s.run("ingest", &[dir.as_path()]).assert_exit(1);
    let out = s.run("list", &[]);
    out.assert_exit(0);
    let reports = out.json()["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 4);
    let begins: Vec<i64> = reports
        .iter()
        .map(|r| r["begin"].as_i64().unwrap())
        .collect();
    assert!(
        begins.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {begins:?}"
    );
    let google = reports
        .iter()
        .find(|r| r["org_name"] == "google.com")
        .unwrap();
    let mut keys: Vec<&str> = google
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "begin",
            "dkim_aligned_pass",
            "dmarc_pass",
            "domain",
            "end",
            "kind",
            "messages",
            "org_name",
            "records",
            "report_id",
            "spf_aligned_pass"
        ]
    );
    assert_eq!(google["kind"], "aggregate");
    assert_eq!(google["domain"], "example.com");
    assert_eq!(google["records"], 2);
    assert_eq!(google["messages"], 47);
    assert_eq!(google["dmarc_pass"], 42);
    let tls = reports.iter().find(|r| r["kind"] == "tls").unwrap();
    let mut keys: Vec<&str> = tls
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "begin",
            "end",
            "failed_sessions",
            "kind",
            "org_name",
            "policies",
            "report_id",
            "successful_sessions"
        ]
    );
    assert_eq!(tls["successful_sessions"], 118);
    assert_eq!(tls["failed_sessions"], 4);
    let only_org = s.run("list", &[Path::new("--domain"), Path::new("example.org")]);
    let reports = only_org.json()["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["org_name"], "Outlook.com");
}

/// `reports summary --json` prints the Summary: every top-level key, totals in messages, the
/// source grouped under the include that covers it, and a fix for the failing source.
#[test]
fn reports_summary_json_keys_and_totals() {
    let s = Setup::new();
    let sources = [data(GOOGLE), data(YAHOO)];
    let refs: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    s.run("ingest", &refs).assert_exit(0);
    let out = s.run(
        "summary",
        &[Path::new("--domain"), Path::new("example.com")],
    );
    out.assert_exit(0);
    let j = out.json();
    let mut keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "days",
            "dispositions",
            "dkim_aligned_pass",
            "dmarc_pass",
            "domain",
            "failures",
            "groups",
            "messages",
            "policy",
            "receivers",
            "reports",
            "since",
            "sources",
            "spf_aligned_pass",
            "tls",
            "until"
        ]
    );
    assert_eq!(j["reports"], 2);
    assert_eq!(j["messages"], 60);
    assert_eq!(j["dmarc_pass"], 52);
    let esp = j["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ip"] == "198.51.100.7")
        .unwrap();
    assert_eq!(esp["group"], "include:_spf.esp.example");
    let unaligned = j["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ip"] == "203.0.113.20")
        .unwrap();
    assert_eq!(unaligned["fix"]["kind"], "spf_align");
    assert_eq!(j["policy"]["current"], "none");
    assert_eq!(j["policy"]["next"], "quarantine");
    assert_eq!(j["policy"]["affected"], 8);
    // --since after both reports ended: nothing.
    let later = s.run("summary", &[Path::new("--since"), Path::new("2026-11-05")]);
    assert_eq!(later.json()["messages"], 0);
}

/// Text output names the fix beside the source.
#[test]
fn reports_summary_text_shows_fix_per_source() {
    let s = Setup::new();
    s.run("ingest", &[data(GOOGLE).as_path()]).assert_exit(0);
    let out = mailauth()
        .current_dir(s.dir.path())
        .args(["--zone", "dns.zone", "--now", "2026-11-10T00:00:00Z"])
        .args(["reports", "summary", "--db"])
        .arg(s.db())
        .run();
    out.assert_exit(0);
    let text = out.stdout_str();
    assert!(text.contains("203.0.113.20"), "{text}");
    assert!(text.contains("fix (spf_align)"), "{text}");
    assert!(text.contains("policy: p=none"), "{text}");
}

/// `--db` defaults to mailauth-reports.sqlite beside the `--config` file.
#[test]
fn reports_default_db_beside_config() {
    let s = Setup::new();
    std::fs::create_dir(s.dir.path().join("conf")).unwrap();
    let out = mailauth()
        .current_dir(s.dir.path())
        .args([
            "--json",
            "reports",
            "ingest",
            "--config",
            "conf/mailauth.toml",
        ])
        .arg(data(GOOGLE))
        .run();
    out.assert_exit(0);
    assert!(s.dir.path().join("conf/mailauth-reports.sqlite").exists());
    assert_eq!(out.json()["db"], "conf/mailauth-reports.sqlite");
    let list = mailauth()
        .current_dir(s.dir.path())
        .args([
            "--json",
            "reports",
            "list",
            "--config",
            "conf/mailauth.toml",
        ])
        .run();
    list.assert_exit(0);
    assert_eq!(list.json()["reports"].as_array().unwrap().len(), 1);
}

/// A file that is not a report database is refused by name (exit 2) and left as it was.
#[test]
fn reports_refuse_a_db_that_is_not_ours() {
    let s = Setup::new();
    std::fs::write(
        s.db(),
        "this is a text file, not SQLite, and it must stay as it is\n",
    )
    .unwrap();
    let out = s.run("ingest", &[data(GOOGLE).as_path()]);
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("not a mailauth report database"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr_str().contains("reports.sqlite"),
        "{}",
        out.dump()
    );
    assert!(
        std::fs::read_to_string(s.db())
            .unwrap()
            .starts_with("this is a text file")
    );
    // Queries never create a database.
    let other = s.dir.path().join("missing.sqlite");
    let out = mailauth()
        .current_dir(s.dir.path())
        .args(["reports", "list", "--db"])
        .arg(&other)
        .run();
    out.assert_exit(2);
    assert!(!other.exists());
}

/// `reports html OUT` writes the page (through the placeholder renderer until rhtml's lands).
#[test]
fn reports_html_writes_the_page() {
    let s = Setup::new();
    s.run("ingest", &[data(GOOGLE).as_path()]).assert_exit(0);
    let page = s.dir.path().join("report.html");
    let out = mailauth()
        .current_dir(s.dir.path())
        .args(["--zone", "dns.zone", "reports", "html"])
        .arg(&page)
        .arg("--db")
        .arg(s.db())
        .run();
    out.assert_exit(0);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
}
