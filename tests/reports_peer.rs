//! The report differential: parsedmarc (PyPI, pinned in `.ci/install-deps`) and mailauth read the
//! same sample set, `testdata/reports/` (reports from an independent producer and hand-written
//! receiver shapes; see `testdata/reports.SOURCE`), and must agree per
//! report on the record and message counts
//! and the DMARC, aligned-SPF and aligned-DKIM pass totals (RFC 9990 §3.1.1.9 "policy_evaluated"),
//! and for TLS reports on the policies and session counts (RFC 8460 §4.4).
//!
//! parsedmarc's side is `tests/peers/parsedmarc_totals.py`, which says exactly what it counts.
//! mailauth's side is read twice: from the library (`reports::source::read_sources` and the
//! model), and from the CLI (`reports ingest`, then `reports list --json` per report and
//! `reports summary --json` for the totals: the "Done when").
//!
//! A difference the two may legitimately have is listed in [`EXPECTED_DIFFERENCES`] (on the
//! sample set) or [`WHOLE_DIRECTORY_DIFFERENCES`] (on every report directory of the repository,
//! hostile inputs included) with its reason, and the tests check that the differences found are exactly those
//! listed; every other difference fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mailauth::reports::model::{Limits, Report};
use mailauth::reports::source::read_sources;
use serde_json::Value;

use crate::support::cmd::{CmdOutput, mailauth};
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

/// On the sample set: none. On every sample report the two agree on every total. A future
/// sample that parsedmarc reads differently goes here with the reason.
const EXPECTED_DIFFERENCES: &[ExpectedDifference] = &[];

/// Why parsedmarc has no reading of the two good messages of the parser's
/// `reports-hostile/three-messages-one-broken.mbox`.
const NO_EMAIL: &str = "reports-hostile/three-messages-one-broken.mbox: the report has no \
    report_metadata/email and no auth_results, both required by the RFC 7489 Appendix C and RFC \
    9990 schemas; parsedmarc refuses such a report (InvalidAggregateReport: missing 'email') and \
    its mbox reader drops the message, mailauth reads it (its model keeps email optional and \
    auth_results may be empty), so the report is stored by mailauth only";

/// On every report directory (`reports-hostile/` and `reports-cli/` included; every other input
/// there both refuse, or read alike): reports mailauth reads and parsedmarc does not.
const WHOLE_DIRECTORY_DIFFERENCES: &[ExpectedDifference] = &[
    ExpectedDifference {
        org_name: "first.example",
        report_id: "first-1",
        field: "present",
        mailauth: 1,
        parsedmarc: 0,
        reason: NO_EMAIL,
    },
    ExpectedDifference {
        org_name: "third.example",
        report_id: "third-3",
        field: "present",
        mailauth: 1,
        parsedmarc: 0,
        reason: NO_EMAIL,
    },
];

/// Reports whose organisation name parsedmarc rewrites (as written by the receiver, as
/// parsedmarc keys it, report id): an `org_name` without spaces becomes its base domain through
/// the public suffix list, lower-cased (parsedmarc's `parse_aggregate_report_xml`), while mailauth
/// keeps the name as written (RFC 9990 §3.1.1.3: it is the reporter's free-text name). The key
/// differs, so the report shows as present on each side under its own name; the test checks
/// that both names carry the same totals.
const ORG_NAME_NORMALISED: &[(&str, &str, &str)] = &[(
    "Outlook.com",
    "outlook.com",
    "6a1c0f3e2b8d4c7e9f0a1b2c3d4e5f60",
)];

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

/// Every directory of report inputs in the repository: the sample set, the CLI tests' own
/// fixtures (one truncated on purpose) and the parser's hostile inputs (refused on purpose).
fn all_report_dirs() -> Vec<PathBuf> {
    vec![
        reports_dir(),
        testdata().join("reports-cli"),
        testdata().join("reports-hostile"),
    ]
}

/// Whether an origin is outside the differential's sample set `testdata/reports/`.
fn outside_sample(origin: &str) -> bool {
    !Path::new(origin).starts_with(reports_dir())
}

/// The sample set: the directory `testdata/reports/` as a user would name it, which holds
/// reports only (its provenance note is `testdata/reports.SOURCE`).
fn sample_paths() -> Vec<PathBuf> {
    vec![reports_dir()]
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

/// parsedmarc's per-report totals for `paths`, keyed by (org, report id), and the origins of
/// the files it refused.
fn parsedmarc_totals(paths: &[PathBuf]) -> Option<(BTreeMap<Key, Totals>, Vec<String>)> {
    let python = venv_python_with("parsedmarc")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/parsedmarc_totals.py");
    let out = Command::new(python)
        .arg(script)
        .args(paths)
        .output()
        .expect("run parsedmarc_totals.py");
    assert!(
        out.status.success(),
        "parsedmarc_totals.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("parsedmarc_totals.py JSON");
    let mut totals = BTreeMap::new();
    for report in json["reports"].as_array().expect("reports") {
        let key = key_of(report);
        let previous = totals.insert(key.clone(), totals_of(report));
        assert!(previous.is_none(), "parsedmarc read {key:?} twice");
    }
    let refused = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["origin"].as_str().expect("origin").to_owned())
        .collect();
    Some((totals, refused))
}

/// parsedmarc's totals for the sample set, which it must read whole.
fn parsedmarc_sample_totals() -> Option<BTreeMap<Key, Totals>> {
    let (totals, refused) = parsedmarc_totals(&sample_paths())?;
    assert!(
        refused.is_empty(),
        "parsedmarc refused sample files: {refused:?}"
    );
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

/// mailauth's reading of the sample set through the library: the reports with their origins,
/// and every refusal (which must be none).
fn library_reports() -> (Vec<(String, Report)>, Vec<String>) {
    let mut reports = Vec::new();
    let mut refused = Vec::new();
    read_sources(
        &sample_paths(),
        &Limits::default(),
        &mut |item| match item.outcome {
            Ok(report) => reports.push((item.origin, report)),
            Err(why) => refused.push(format!("{}: {why}", item.origin)),
        },
    )
    .expect("the sample paths exist");
    (reports, refused)
}

/// A report's totals computed from the model: messages are the sum of the records' `count`
/// (RFC 9990 §3.1.1.8 "row"), and a record's count goes to DMARC pass when its aligned DKIM or
/// SPF result is `pass` (§3.1.1.9 "policy_evaluated"; RFC 9989 §4.4).
fn model_totals(report: &Report) -> Totals {
    let mut totals = Totals::new();
    match report {
        Report::Aggregate(r) => {
            for field in AGGREGATE_FIELDS {
                totals.insert(field.into(), 0);
            }
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
        }
        Report::Tls(r) => {
            totals.insert("policies".into(), r.policies.len() as u64);
            let successful = r.policies.iter().map(|p| p.successful).sum();
            totals.insert("successful_sessions".into(), successful);
            let failed = r.policies.iter().map(|p| p.failed).sum();
            totals.insert("failed_sessions".into(), failed);
        }
    }
    totals
}

fn library_totals() -> BTreeMap<Key, Totals> {
    let (reports, refused) = library_reports();
    assert!(
        refused.is_empty(),
        "mailauth refused sample files: {refused:#?}"
    );
    let mut totals = BTreeMap::new();
    for (origin, report) in reports {
        let key = (report.org_name().to_owned(), report.report_id().to_owned());
        let previous = totals.insert(key.clone(), model_totals(&report));
        assert!(previous.is_none(), "{key:?} read twice (again at {origin})");
    }
    totals
}

/// A difference: (org, report id, field, mailauth's value, parsedmarc's value).
type Difference = (String, String, String, u64, u64);

/// The differences between mailauth's and parsedmarc's totals; a report only one side read is a
/// difference in its `present` field (1 on the side that has it).
fn differences(ours: &BTreeMap<Key, Totals>, theirs: &BTreeMap<Key, Totals>) -> Vec<Difference> {
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
            (a, b) => found.push((
                org,
                id,
                "present".into(),
                a.is_some().into(),
                b.is_some().into(),
            )),
        }
    }
    found
}

fn listed(list: &[ExpectedDifference]) -> Vec<Difference> {
    list.iter()
        .map(|d| {
            assert!(!d.reason.is_empty(), "a listed difference needs its reason");
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
/// pass totals (TLS: policies and session counts): the differences found are exactly the listed
/// ones (none).
#[test]
fn rfc9990_3_1_per_report_totals_match_parsedmarc() {
    let Some(theirs) = parsedmarc_sample_totals() else {
        return;
    };
    let ours = library_totals();
    assert_eq!(ours.len(), 14, "the sample set holds 14 reports: {ours:#?}");
    assert_eq!(differences(&ours, &theirs), listed(EXPECTED_DIFFERENCES));
}

/// Every file of the sample set yields reports and nothing in it is refused; the independent
/// producer's RFC 9990 output is read as RFC 9990 (its namespace, RFC 9990 §3.1.1.1), its RFC
/// 7489 outputs as the legacy format; the mbox and the Maildir give two reports each.
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
    let rfc9990 = AggregateFormat::Rfc9990;
    assert_eq!(format_of("pydmarc-rfc9990-example.org.xml"), rfc9990);
    assert_eq!(
        format_of("receiver.example!example.org!1790380800!1790467199.xml"),
        rfc9990
    );
    let rfc7489 = AggregateFormat::Rfc7489;
    assert_eq!(format_of("pydmarc-rfc7489-example.com.xml"), rfc7489);
    assert_eq!(format_of("pydmarc-rfc7489-reject.example.xml"), rfc7489);
    let from = |part: &str| reports.iter().filter(|(o, _)| o.contains(part)).count();
    assert_eq!(from("two-reports.mbox#"), 2);
    assert_eq!(from("maildir/"), 2);
    let aggregate = reports
        .iter()
        .filter(|(_, r)| matches!(r, Report::Aggregate(_)))
        .count();
    assert_eq!((aggregate, reports.len() - aggregate), (12, 2));
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
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

/// The fixed "now" of the CLI runs, so two summaries of the same data are equal.
const NOW: &str = "2026-11-29T00:00:00Z";

/// The DNS `summary` reads: the sample domain's SPF record (for grouping sources); every other
/// name (PTR lookups included) is answered NXDOMAIN by the zone-file resolver.
const ZONE: &str = "$ORIGIN example.com.\n@ TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n";

/// Run `mailauth --json --now NOW reports ARGS...` in `dir`.
fn reports_cli<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> CmdOutput {
    // DNS (PTR names, the domain's SPF for grouping) from a zone file: nothing leaves the machine.
    std::fs::write(dir.join("dns.zone"), ZONE).expect("zone file");
    mailauth()
        .current_dir(dir)
        .args(["--json", "--now", NOW, "--zone", "dns.zone", "reports"])
        .args(args)
        .run()
}

/// `reports ingest --db reports.sqlite PATHS...` in `dir`: the JSON, after checking that every
/// refused input is outside the sample set and the exit code says whether any was (0 or 1).
fn ingest(dir: &Path, paths: &[PathBuf]) -> Value {
    let mut args: Vec<std::ffi::OsString> =
        vec!["ingest".into(), "--db".into(), "reports.sqlite".into()];
    args.extend(paths.iter().map(|p| p.clone().into_os_string()));
    let out = reports_cli(dir, &args);
    let json = out.json();
    let rejected = json["rejected"].as_array().expect("rejected list");
    for r in rejected {
        let origin = r["origin"].as_str().expect("origin");
        assert!(
            outside_sample(origin),
            "sample input refused: {r}\n{}",
            out.dump()
        );
    }
    out.assert_exit(if rejected.is_empty() { 0 } else { 1 });
    json
}

/// `reports list --json`: each report's totals by key; oldest first.
fn listed_totals(dir: &Path) -> BTreeMap<Key, Totals> {
    let list = reports_cli(dir, &["list", "--db", "reports.sqlite"])
        .assert_exit(0)
        .json();
    let reports = list["reports"].as_array().expect("reports");
    let begins: Vec<i64> = reports
        .iter()
        .map(|r| r["begin"].as_i64().expect("begin"))
        .collect();
    assert!(
        begins.windows(2).all(|w| w[0] <= w[1]),
        "not oldest first: {begins:?}"
    );
    let totals: BTreeMap<Key, Totals> = reports.iter().map(|r| (key_of(r), totals_of(r))).collect();
    assert_eq!(totals.len(), reports.len(), "a report listed twice");
    totals
}

/// Summary fields against the sums of per-report totals.
fn assert_summary_sums(summary: &Value, reports: &BTreeMap<Key, Totals>) {
    let sum = |field: &str| -> u64 { reports.values().filter_map(|t| t.get(field)).sum() };
    for field in [
        "messages",
        "dmarc_pass",
        "spf_aligned_pass",
        "dkim_aligned_pass",
    ] {
        assert_eq!(summary[field], sum(field), "summary {field}: {summary}");
    }
    let aggregate = reports
        .values()
        .filter(|t| t.contains_key("messages"))
        .count() as u64;
    assert_eq!(summary["reports"], aggregate, "{summary}");
    let tls = &summary["tls"];
    assert_eq!(
        tls["reports"],
        reports.len() as u64 - aggregate,
        "{summary}"
    );
    assert_eq!(
        tls["successful_sessions"],
        sum("successful_sessions"),
        "{summary}"
    );
    assert_eq!(tls["failed_sessions"], sum("failed_sessions"), "{summary}");
}

/// The "Done when" to the letter: `mailauth reports ingest testdata/reports` exits 0 and
/// then `reports summary --json` gives the totals parsedmarc gives on the same files (messages, DMARC pass, aligned SPF
/// and DKIM pass, TLS sessions), and `reports list --json` its totals per report. Ingesting again
/// stores nothing new (deduplicated by organisation and report id, RFC 9990 §3.5.4 "Handling of
/// Duplicates") and changes no total.
#[test]
fn rfc9990_3_5_4_ingest_then_summary_matches_parsedmarc_totals() {
    let Some(theirs) = parsedmarc_sample_totals() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let first = ingest(dir.path(), &sample_paths());
    let aggregate = theirs
        .values()
        .filter(|t| t.contains_key("messages"))
        .count() as u64;
    assert_eq!(first["ingested"], theirs.len() as u64, "{first}");
    assert_eq!(first["duplicates"], 0, "{first}");
    assert_eq!(first["aggregate"], aggregate, "{first}");
    assert_eq!(first["tls"], theirs.len() as u64 - aggregate, "{first}");
    assert_eq!(first["rejected"], serde_json::json!([]), "{first}");

    let summary = reports_cli(dir.path(), &["summary", "--db", "reports.sqlite"])
        .assert_exit(0)
        .json();
    assert_summary_sums(&summary, &theirs);
    assert_eq!(
        differences(&listed_totals(dir.path()), &theirs),
        listed(EXPECTED_DIFFERENCES)
    );

    let again = ingest(dir.path(), &sample_paths());
    assert_eq!(again["ingested"], 0, "{again}");
    assert_eq!(again["duplicates"], theirs.len() as u64, "{again}");
    let summary_again = reports_cli(dir.path(), &["summary", "--db", "reports.sqlite"])
        .assert_exit(0)
        .json();
    assert_eq!(summary_again, summary);
}

/// Every report directory of the repository at once (`reports-hostile/` and `reports-cli/`'s
/// truncated file included: each refused with a reason, exit 1) against parsedmarc on the same
/// directories. Per report (`reports list --json`) the differences are exactly
/// [`WHOLE_DIRECTORY_DIFFERENCES`], and `reports summary --json` is the sum of the reports listed.
#[test]
fn rfc9990_3_1_ingest_every_report_directory_differs_from_parsedmarc_only_as_listed() {
    let Some((theirs, refused)) = parsedmarc_totals(&all_report_dirs()) else {
        return;
    };
    for origin in &refused {
        assert!(
            outside_sample(origin),
            "parsedmarc refused the sample file {origin}"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let json = ingest(dir.path(), &all_report_dirs());
    assert_ne!(
        json["rejected"],
        serde_json::json!([]),
        "hostile inputs were accepted: {json}"
    );
    let ours = listed_totals(dir.path());
    let mut expected = listed(WHOLE_DIRECTORY_DIFFERENCES);
    for &(written, keyed, id) in ORG_NAME_NORMALISED {
        expected.push((written.into(), id.into(), "present".into(), 1, 0));
        expected.push((keyed.into(), id.into(), "present".into(), 0, 1));
        let as_written = &ours[&(written.to_owned(), id.to_owned())];
        assert_eq!(as_written, &theirs[&(keyed.to_owned(), id.to_owned())]);
    }
    expected.sort();
    assert_eq!(differences(&ours, &theirs), expected);
    let summary = reports_cli(dir.path(), &["summary", "--db", "reports.sqlite"])
        .assert_exit(0)
        .json();
    assert_summary_sums(&summary, &ours);
}
