//! The report differential: parsedmarc (PyPI, pinned in `.ci/install-deps`) and mailauth read the
//! same sample set, `testdata/reports/` (reports from an independent producer and hand-written
//! receiver shapes; see its SOURCE), and must agree per report on the record and message counts
//! and the DMARC, aligned-SPF and aligned-DKIM pass totals (RFC 9990 §3.1.1.9 "policy_evaluated"),
//! and for TLS reports on the policies and session counts (RFC 8460 §4.4).
//!
//! parsedmarc's side is `tests/peers/parsedmarc_totals.py`, which says exactly what it counts.
//! mailauth's side is read twice: from the library (`reports::source::read_sources` and the
//! model), and from the CLI (`reports ingest`, then `reports list --json` per report and
//! `reports summary --json` for the totals: the "Done when").
//!
//! A difference the two may legitimately have is listed in [`EXPECTED_DIFFERENCES`] with its
//! reason, and a test checks that each listed difference is exactly what happens; every other
//! difference fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mailauth::reports::model::{Limits, Report};
use mailauth::reports::source::read_sources;
use serde_json::Value;

use crate::support::cmd::mailauth;
use crate::support::{skip_or_fail, testdata};

/// (org_name, report_id): the key of a report (RFC 9990 §3.1.4 "Unique Identifiers in
/// Aggregate Reporting"; RFC 8460 §4.3 `report-id`).
type Key = (String, String);

/// A report's totals by name: `kind` aside, the numbers both sides count.
type Totals = BTreeMap<String, u64>;

/// One difference that is expected between mailauth and parsedmarc: the report, the total, the
/// value each side gives, and why.
struct ExpectedDifference {
    org_name: &'static str,
    report_id: &'static str,
    field: &'static str,
    mailauth: u64,
    parsedmarc: u64,
    reason: &'static str,
}

/// None today: on every sample report the two agree on every total. A future sample that
/// parsedmarc reads differently (it backfills a missing `envelope_from`, splits reports longer
/// than its timespan threshold, lowercases words) goes here with the reason.
const EXPECTED_DIFFERENCES: &[ExpectedDifference] = &[];

const AGGREGATE_FIELDS: [&str; 5] = [
    "records",
    "messages",
    "dmarc_pass",
    "spf_aligned_pass",
    "dkim_aligned_pass",
];
const TLS_FIELDS: [&str; 3] = ["policies", "successful_sessions", "failed_sessions"];

fn reports_dir() -> PathBuf {
    testdata().join("reports")
}

/// `.venv/bin/python` if it imports `module`; `None` after reporting why (fails in CI).
fn venv_python_with(module: &str) -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if !ok {
        skip_or_fail(&format!(
            "{module} in {} (run `bash .ci/install-deps`)",
            python.display()
        ));
        return None;
    }
    Some(python)
}

/// parsedmarc's per-report totals for `testdata/reports/`, keyed by (org, report id).
fn parsedmarc_totals() -> Option<BTreeMap<Key, Totals>> {
    let python = venv_python_with("parsedmarc")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/parsedmarc_totals.py");
    let out = Command::new(python)
        .arg(script)
        .arg(reports_dir())
        .output()
        .expect("run parsedmarc_totals.py");
    assert!(
        out.status.success(),
        "parsedmarc_totals.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("parsedmarc_totals.py JSON");
    assert_eq!(
        json["errors"],
        serde_json::json!([]),
        "parsedmarc refused sample files"
    );
    let mut totals = BTreeMap::new();
    for report in json["reports"].as_array().expect("reports") {
        let key = key_of(report);
        let previous = totals.insert(key.clone(), totals_of(report));
        assert!(previous.is_none(), "parsedmarc read {key:?} twice");
    }
    Some(totals)
}

fn key_of(report: &Value) -> Key {
    let text = |name: &str| {
        report[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .to_owned()
    };
    (text("org_name"), text("report_id"))
}

/// The numbers of a JSON report object (parsedmarc's or `reports list --json`'s).
fn totals_of(report: &Value) -> Totals {
    let fields: &[&str] = match report["kind"].as_str() {
        Some("aggregate") => &AGGREGATE_FIELDS,
        Some("tls") => &TLS_FIELDS,
        other => panic!("unknown kind {other:?} in {report}"),
    };
    fields
        .iter()
        .map(|&f| {
            let n = report[f]
                .as_u64()
                .unwrap_or_else(|| panic!("{f} in {report}"));
            (f.to_owned(), n)
        })
        .collect()
}

/// Whether an origin is outside the differential's sample set: the parser's hostile inputs
/// (refused on purpose) and the SOURCE note.
fn outside_sample(origin: &str) -> bool {
    let dir = reports_dir();
    let relative = Path::new(origin).strip_prefix(&dir).unwrap_or(Path::new(origin));
    relative.starts_with("hostile") || relative == Path::new("SOURCE")
}

/// mailauth's reading of `testdata/reports/` through the library: the reports, and every
/// refusal inside the sample set (which must be none).
fn library_reports() -> (Vec<(String, Report)>, Vec<String>) {
    let mut reports = Vec::new();
    let mut refused = Vec::new();
    read_sources(&[reports_dir()], &Limits::default(), &mut |item| {
        match item.outcome {
            Ok(report) => reports.push((item.origin, report)),
            Err(why) if !outside_sample(&item.origin) => {
                refused.push(format!("{}: {why}", item.origin));
            }
            Err(_) => {}
        }
    })
    .expect("testdata/reports exists");
    (reports, refused)
}

/// A report's totals computed from the model: messages are the sum of the records' `count`
/// (RFC 9990 §3.1.1.8 "row"), and a record's count goes to DMARC pass when its aligned DKIM or
/// SPF result is `pass` (§3.1.1.9 "policy_evaluated"; RFC 9989 §4.4).
fn model_totals(report: &Report) -> Totals {
    let mut totals = Totals::new();
    match report {
        Report::Aggregate(r) => {
            totals.insert("records".into(), r.records.len() as u64);
            for record in &r.records {
                let mut add = |field: &str, yes: bool| {
                    *totals.entry(field.into()).or_default() += if yes { record.count } else { 0 };
                };
                add("messages", true);
                add("dmarc_pass", record.dmarc_pass());
                add("spf_aligned_pass", record.spf_aligned == "pass");
                add("dkim_aligned_pass", record.dkim_aligned == "pass");
            }
            for field in AGGREGATE_FIELDS {
                totals.entry(field.into()).or_default();
            }
        }
        Report::Tls(r) => {
            totals.insert("policies".into(), r.policies.len() as u64);
            totals.insert(
                "successful_sessions".into(),
                r.policies.iter().map(|p| p.successful).sum(),
            );
            totals.insert(
                "failed_sessions".into(),
                r.policies.iter().map(|p| p.failed).sum(),
            );
        }
    }
    totals
}

fn library_totals() -> BTreeMap<Key, Totals> {
    let (reports, refused) = library_reports();
    assert!(refused.is_empty(), "mailauth refused sample files: {refused:#?}");
    let mut totals = BTreeMap::new();
    for (origin, report) in reports {
        let key = (report.org_name().to_owned(), report.report_id().to_owned());
        let previous = totals.insert(key.clone(), model_totals(&report));
        assert!(previous.is_none(), "{key:?} read twice (again at {origin})");
    }
    totals
}

/// The differences between mailauth's and parsedmarc's totals, as
/// (org, report id, field, mailauth, parsedmarc); a report only one side read is a difference
/// in its `present` field (1 on the side that has it).
fn differences(
    ours: &BTreeMap<Key, Totals>,
    theirs: &BTreeMap<Key, Totals>,
) -> Vec<(String, String, String, u64, u64)> {
    let mut found = Vec::new();
    let keys: std::collections::BTreeSet<&Key> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        let (org, id) = key.clone();
        match (ours.get(key), theirs.get(key)) {
            (Some(a), Some(b)) => {
                for (field, &x) in a {
                    let y = b.get(field).copied().unwrap_or(u64::MAX);
                    if x != y {
                        found.push((org.clone(), id.clone(), field.clone(), x, y));
                    }
                }
            }
            (a, b) => found.push((org, id, "present".into(), a.is_some().into(), b.is_some().into())),
        }
    }
    found
}

fn expected_differences() -> Vec<(String, String, String, u64, u64)> {
    EXPECTED_DIFFERENCES
        .iter()
        .map(|d| {
            assert!(!d.reason.is_empty());
            (
                d.org_name.to_owned(),
                d.report_id.to_owned(),
                d.field.to_owned(),
                d.mailauth,
                d.parsedmarc,
            )
        })
        .collect()
}

/// RFC 9990 §3.1.1.9 "Contents of the policy_evaluated element", RFC 8460 §4.4: per report,
/// mailauth's library reading of every sample file gives parsedmarc's record, message and
/// pass totals (TLS: policies and session counts), the listed differences aside, and no other.
#[test]
fn rfc9990_3_1_per_report_totals_match_parsedmarc() {
    let Some(theirs) = parsedmarc_totals() else {
        return;
    };
    let ours = library_totals();
    assert!(ours.len() >= 14, "the sample set has 14 reports, read {}", ours.len());
    assert_eq!(differences(&ours, &theirs), expected_differences());
}

/// Each listed expected difference is exactly what the two sides give (so the list cannot go
/// stale): the differences found are the list, in the same order, value for value.
#[test]
fn expected_differences_with_parsedmarc_are_exactly_those_listed() {
    let Some(theirs) = parsedmarc_totals() else {
        return;
    };
    let found = differences(&library_totals(), &theirs);
    for d in EXPECTED_DIFFERENCES {
        let entry = (
            d.org_name.to_owned(),
            d.report_id.to_owned(),
            d.field.to_owned(),
            d.mailauth,
            d.parsedmarc,
        );
        assert!(
            found.contains(&entry),
            "listed difference {entry:?} ({}) does not occur; found {found:?}",
            d.reason
        );
    }
    assert_eq!(found.len(), EXPECTED_DIFFERENCES.len(), "{found:?}");
}

/// Every file of the sample set yields reports and nothing in it is refused; the independent
/// producer's RFC 9990 output is read as RFC 9990 (its namespace, RFC 9990 §3.1.1.1), its RFC
/// 7489 outputs as the legacy format.
#[test]
fn rfc9990_3_1_1_1_sample_set_reads_whole_with_each_format() {
    use mailauth::reports::model::AggregateFormat;
    let (reports, refused) = library_reports();
    assert!(refused.is_empty(), "{refused:#?}");
    let format_of = |suffix: &str| {
        reports
            .iter()
            .find_map(|(origin, report)| match report {
                Report::Aggregate(r) if origin.ends_with(suffix) => Some(r.format),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no aggregate report from *{suffix}"))
    };
    assert_eq!(format_of("pydmarc-rfc9990-example.org.xml"), AggregateFormat::Rfc9990);
    assert_eq!(format_of("pydmarc-rfc7489-example.com.xml"), AggregateFormat::Rfc7489);
    assert_eq!(format_of("receiver.example!example.org!1790380800!1790467199.xml"), AggregateFormat::Rfc9990);
    let aggregate = reports.iter().filter(|(_, r)| matches!(r, Report::Aggregate(_))).count();
    let tls = reports.iter().filter(|(_, r)| matches!(r, Report::Tls(_))).count();
    assert_eq!((aggregate, tls), (12, 2));
}

/// The committed pydmarc reports are that producer's output: running tests/peers/
/// pydmarc_reports.py again gives the same bytes.
#[test]
fn testdata_pydmarc_reports_are_the_producers_output() {
    let Some(python) = venv_python_with("dmarc.report") else {
        return;
    };
    let out_dir = tempfile::tempdir().expect("temp dir");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pydmarc_reports.py");
    let out = Command::new(python)
        .arg(script)
        .arg(out_dir.path())
        .output()
        .expect("run pydmarc_reports.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = reports_dir().join("pydmarc");
    let mut names: Vec<_> = std::fs::read_dir(&committed)
        .expect("pydmarc dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3);
    for name in names {
        let made = std::fs::read(out_dir.path().join(&name)).expect("regenerated file");
        let kept = std::fs::read(committed.join(&name)).expect("committed file");
        assert!(made == kept, "{name:?} differs from the producer's output");
    }
}

/// Run `mailauth --json reports ARGS...` in `dir` with its own database.
fn reports_cli(dir: &Path, args: &[&str]) -> crate::support::cmd::CmdOutput {
    mailauth()
        .current_dir(dir)
        .args(["--json", "reports"])
        .args(args)
        .run()
}

/// Ingest the whole of testdata/reports into `db`; the refusals are only the hostile inputs
/// and the SOURCE note (hence exit 1, RFC 9990 §3.5.4 aside), and the counts are the set's.
fn ingest_all(dir: &Path, db: &str) -> Value {
    let reports = reports_dir();
    let out = reports_cli(dir, &["ingest", "--db", db, reports.to_str().expect("utf-8 path")]);
    let json = out.json();
    let rejected = json["rejected"].as_array().expect("rejected list");
    for r in rejected {
        let origin = r["origin"].as_str().expect("origin");
        assert!(outside_sample(origin), "sample input refused: {r}\n{}", out.dump());
    }
    let expected_exit = if rejected.is_empty() { 0 } else { 1 };
    out.assert_exit(expected_exit);
    json
}

/// The "Done when": `mailauth reports ingest testdata/reports` then `reports summary
/// --json` gives the totals parsedmarc gives on the same files (messages, DMARC pass, aligned
/// SPF and DKIM pass, TLS sessions); ingesting again stores nothing new (deduplicated by
/// organisation and report id, RFC 9990 §3.5.4 "Handling of Duplicates") and changes no total.
#[test]
fn rfc9990_3_5_4_ingest_then_summary_matches_parsedmarc_totals() {
    let Some(theirs) = parsedmarc_totals() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let first = ingest_all(dir.path(), "reports.sqlite");
    let aggregate = theirs.values().filter(|t| t.contains_key("messages")).count() as u64;
    let tls = theirs.len() as u64 - aggregate;
    assert_eq!(first["ingested"], theirs.len() as u64, "{first}");
    assert_eq!(first["duplicates"], 0, "{first}");
    assert_eq!(first["aggregate"], aggregate, "{first}");
    assert_eq!(first["tls"], tls, "{first}");

    let summary_args = ["summary", "--db", "reports.sqlite", "--since", "2026-01-01"];
    let summary = reports_cli(dir.path(), &summary_args).assert_exit(0).json();
    let sum = |field: &str| -> u64 { theirs.values().filter_map(|t| t.get(field)).sum() };
    for field in ["messages", "dmarc_pass", "spf_aligned_pass", "dkim_aligned_pass"] {
        assert_eq!(summary[field], sum(field), "summary {field}: {summary}");
    }
    assert_eq!(summary["reports"], aggregate, "{summary}");
    assert_eq!(summary["tls"]["reports"], tls, "{summary}");
    assert_eq!(summary["tls"]["successful_sessions"], sum("successful_sessions"));
    assert_eq!(summary["tls"]["failed_sessions"], sum("failed_sessions"));

    let again = ingest_all(dir.path(), "reports.sqlite");
    assert_eq!(again["ingested"], 0, "{again}");
    assert_eq!(again["duplicates"], theirs.len() as u64, "{again}");
    let summary_again = reports_cli(dir.path(), &summary_args).assert_exit(0).json();
    assert_eq!(summary_again, summary);
}

/// Per report through the CLI: `reports list --json` after `reports ingest` gives, for each
/// report, parsedmarc's totals (the expected differences aside), oldest first.
#[test]
fn rfc9990_3_1_reports_list_per_report_matches_parsedmarc() {
    let Some(theirs) = parsedmarc_totals() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    ingest_all(dir.path(), "reports.sqlite");
    let list = reports_cli(dir.path(), &["list", "--db", "reports.sqlite"])
        .assert_exit(0)
        .json();
    let listed = list["reports"].as_array().expect("reports");
    let begins: Vec<i64> = listed.iter().map(|r| r["begin"].as_i64().expect("begin")).collect();
    assert!(begins.windows(2).all(|w| w[0] <= w[1]), "not oldest first: {begins:?}");
    let ours: BTreeMap<Key, Totals> = listed.iter().map(|r| (key_of(r), totals_of(r))).collect();
    assert_eq!(ours.len(), listed.len(), "a report listed twice");
    assert_eq!(differences(&ours, &theirs), expected_differences());
}
