//! The report store and the summary, through the library: sources grouped under the `include:`
//! of the domain's own SPF record that covers them (zone files), each fix rule (RFC 9989 §5.1.6:
//! remediate unaligned mail streams), the policy advice thresholds (§5.1.7), filtering by domain
//! and time, deduplication by (organisation, report id) and all-or-nothing inserts.

use std::net::IpAddr;
use std::sync::Arc;

use mailauth::dns::zone::ZoneResolver;
use mailauth::reports::model::{
    AggregateFormat, AggregateReport, DkimResult, PolicyPublished, Reason, Record, Report,
    SpfResult, TlsFailure, TlsPolicy, TlsReport,
};
use mailauth::reports::store::{Filter, Inserted, Store, StoreError};
use mailauth::reports::summary::{KnownDomain, Summary, SummaryContext, summarize};

const DAY: i64 = 86_400;
/// 2026-11-01T00:00:00Z.
const NOV1: i64 = 1_793_491_200;

const ZONE: &str = "\
$ORIGIN example.com.
@                 TXT \"v=spf1 include:_spf.esp.example ip4:192.0.2.0/24 -all\"
$ORIGIN esp.example.
_spf              TXT \"v=spf1 ip4:198.51.100.0/24 -all\"
$ORIGIN mailer.example.net.
bounce            TXT \"v=spf1 include:spf.mailer.example.net -all\"
spf               TXT \"v=spf1 ip4:203.0.113.0/25 -all\"
$ORIGIN crm.example.
_spf              TXT \"v=spf1 ip4:100.64.1.0/24 -all\"
$ORIGIN 113.0.203.in-addr.arpa.
200               PTR mta200.sender.co.uk.
";

fn resolver() -> Arc<ZoneResolver> {
    Arc::new(ZoneResolver::parse_str(ZONE, "reports.zone", None).unwrap())
}

fn ctx() -> SummaryContext {
    SummaryContext::new(resolver(), NOV1 + 30 * DAY)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A record from `ip` for example.com with the given aligned results.
fn record(source: &str, count: u64, dkim_aligned: &str, spf_aligned: &str) -> Record {
    Record {
        source_ip: ip(source),
        count,
        disposition: "none".into(),
        dkim_aligned: dkim_aligned.into(),
        spf_aligned: spf_aligned.into(),
        reasons: vec![],
        header_from: "example.com".into(),
        envelope_from: Some("example.com".into()),
        envelope_to: None,
        dkim: vec![],
        spf: vec![],
    }
}

fn dkim(domain: &str, result: &str) -> DkimResult {
    DkimResult {
        domain: domain.into(),
        selector: Some("s1".into()),
        result: result.into(),
        human_result: None,
    }
}

fn spf(domain: &str, result: &str) -> SpfResult {
    SpfResult {
        domain: domain.into(),
        scope: Some("mfrom".into()),
        result: result.into(),
    }
}

fn report(org: &str, id: &str, begin: i64, records: Vec<Record>) -> AggregateReport {
    AggregateReport {
        format: AggregateFormat::Rfc9990,
        org_name: org.into(),
        email: Some("noreply-dmarc@receiver.example".into()),
        extra_contact_info: None,
        report_id: id.into(),
        begin,
        end: begin + DAY - 1,
        errors: vec![],
        generator: None,
        policy: PolicyPublished {
            domain: "example.com".into(),
            p: Some("none".into()),
            ..PolicyPublished::default()
        },
        records,
    }
}

async fn summary_of(reports: &[AggregateReport], ctx: &SummaryContext) -> Summary {
    summarize(reports, &[], &Filter::default(), ctx).await
}

/// A passing record: aligned SPF and DKIM for example.com.
fn passing(source: &str, count: u64) -> Record {
    let mut r = record(source, count, "pass", "pass");
    r.dkim = vec![dkim("example.com", "pass")];
    r.spf = vec![spf("example.com", "pass")];
    r
}

#[tokio::test]
async fn rfc7208_4_6_2_sources_grouped_under_the_spf_term_that_authorises_them() {
    let reports = [report(
        "google.com",
        "g1",
        NOV1,
        vec![
            passing("198.51.100.7", 40),
            passing("192.0.2.10", 10),
            record("203.0.113.200", 3, "fail", "fail"),
            record("203.0.113.250", 1, "fail", "fail"),
        ],
    )];
    let s = summary_of(&reports, &ctx()).await;
    let group = |addr: &str| {
        s.sources
            .iter()
            .find(|x| x.ip == ip(addr))
            .unwrap()
            .group
            .clone()
    };
    assert_eq!(group("198.51.100.7"), "include:_spf.esp.example");
    assert_eq!(group("192.0.2.10"), "ip4:192.0.2.0/24");
    // Not in example.com's SPF: the PTR name's organisational domain (PSL), else "other".
    assert_eq!(group("203.0.113.200"), "sender.co.uk");
    assert_eq!(group("203.0.113.250"), "other");
    let src = s
        .sources
        .iter()
        .find(|x| x.ip == ip("203.0.113.200"))
        .unwrap();
    assert_eq!(src.ptr.as_deref(), Some("mta200.sender.co.uk"));
    let names: Vec<_> = s.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "include:_spf.esp.example",
            "ip4:192.0.2.0/24",
            "sender.co.uk",
            "other"
        ]
    );
    assert_eq!(s.messages, 54);
    assert_eq!(s.dmarc_pass, 50);
    assert_eq!(s.sources[0].ip, ip("198.51.100.7"), "most messages first");
}

async fn fix_of(rec: Record, ctx: &SummaryContext) -> (String, String) {
    let source = rec.source_ip;
    let s = summary_of(&[report("google.com", "f", NOV1, vec![rec])], ctx).await;
    let fix = s
        .sources
        .iter()
        .find(|x| x.ip == source)
        .unwrap()
        .fix
        .clone()
        .expect("a failing source has a fix");
    (fix.kind, fix.message)
}

/// RFC 9989 §4.4.2, §5.1.1: SPF passed for an unaligned envelope domain; the fix is a
/// return-path under the author domain carrying the include that passed.
#[tokio::test]
async fn rfc9989_5_1_1_unaligned_envelope_with_spf_pass_gets_custom_return_path() {
    let mut rec = record("203.0.113.20", 5, "fail", "fail");
    rec.envelope_from = Some("bounce.mailer.example.net".into());
    rec.spf = vec![spf("bounce.mailer.example.net", "pass")];
    let (kind, message) = fix_of(rec, &ctx()).await;
    assert_eq!(kind, "spf_align");
    assert!(
        message.contains("custom return-path under example.com"),
        "{message}"
    );
    assert!(
        message.contains("include:spf.mailer.example.net"),
        "{message}"
    );
}

/// RFC 9989 §5.1.1: the author's own envelope domain, SPF fail, no DKIM: the include that
/// mailauth.toml lists and that covers the source, else the address.
#[tokio::test]
async fn rfc9989_5_1_1_own_envelope_spf_fail_gets_covering_include() {
    let mut rec = record("100.64.1.5", 2, "fail", "fail");
    rec.spf = vec![spf("example.com", "fail")];
    let mut with_config = ctx();
    with_config.known = Some(KnownDomain {
        selectors: vec![],
        spf_includes: vec!["_spf.nothing.example".into(), "_spf.crm.example".into()],
        policy: None,
    });
    let (kind, message) = fix_of(rec.clone(), &with_config).await;
    assert_eq!(kind, "spf_include");
    assert!(
        message.contains("add `include:_spf.crm.example` to spf"),
        "{message}"
    );
    let (kind, message) = fix_of(rec, &ctx()).await;
    assert_eq!(kind, "spf_include");
    assert!(message.contains("add `ip4:100.64.1.5` to spf"), "{message}");
}

/// RFC 9989 §4.4.1, §5.1.2: a source that signs with its own d= must sign for the author domain.
#[tokio::test]
async fn rfc9989_5_1_2_unaligned_dkim_pass_gets_configure_dkim() {
    let mut rec = record("203.0.113.210", 7, "fail", "fail");
    rec.envelope_from = Some("esp-bounces.example.org".into());
    rec.spf = vec![spf("esp-bounces.example.org", "softfail")];
    rec.dkim = vec![dkim("esp.example.org", "pass")];
    let (kind, message) = fix_of(rec, &ctx()).await;
    assert_eq!(kind, "dkim_configure");
    assert!(
        message
            .contains("this source signs with d=esp.example.org: configure DKIM for example.com"),
        "{message}"
    );
}

/// RFC 9989 §3.2.10.2: under adkim=s a subdomain's signature is not aligned.
#[tokio::test]
async fn rfc9989_3_2_10_2_strict_dkim_alignment_gets_dkim_align() {
    let mut rec = record("192.0.2.77", 4, "fail", "fail");
    rec.spf = vec![spf("example.com", "fail")];
    rec.dkim = vec![dkim("mail.example.com", "pass")];
    let mut r = report("google.com", "s", NOV1, vec![rec]);
    r.policy.adkim = Some("s".into());
    let s = summary_of(&[r], &ctx()).await;
    let fix = s.sources[0].fix.clone().unwrap();
    assert_eq!(fix.kind, "dkim_align");
    assert!(
        fix.message.contains("adkim=s needs d=example.com"),
        "{}",
        fix.message
    );
}

/// RFC 9989 §7.4: indirect mail flows fail SPF; the receiver's override reason says so.
#[tokio::test]
async fn rfc9989_7_4_forwarded_reason_gets_forwarder() {
    let mut rec = record("203.0.113.220", 2, "fail", "fail");
    rec.reasons = vec![Reason {
        kind: "forwarded".into(),
        comment: None,
    }];
    let (kind, message) = fix_of(rec, &ctx()).await;
    assert_eq!(kind, "forwarder");
    assert!(
        message.starts_with("forwarders: expected, ARC helps"),
        "{message}"
    );
}

/// RFC 9989 §7.4: the forwarder shape: SPF fails for the author's own envelope domain, the
/// author's DKIM signature broke in transit and the list's own signature passed.
#[tokio::test]
async fn rfc9989_7_4_forwarder_shape_gets_forwarder() {
    let mut rec = record("203.0.113.230", 3, "fail", "fail");
    rec.spf = vec![spf("example.com", "fail")];
    rec.dkim = vec![
        dkim("example.com", "fail"),
        dkim("lists.example.org", "pass"),
    ];
    let (kind, _) = fix_of(rec, &ctx()).await;
    assert_eq!(kind, "forwarder");
}

/// RFC 9989 §5.1.6: mail with nothing that passes is unknown (likely spoofing).
#[tokio::test]
async fn rfc9989_5_1_6_nothing_passing_gets_unknown() {
    let mut rec = record("203.0.113.240", 9, "fail", "fail");
    rec.envelope_from = Some("spoof.example".into());
    rec.spf = vec![spf("spoof.example", "none")];
    let (kind, message) = fix_of(rec, &ctx()).await;
    assert_eq!(kind, "unknown");
    assert!(message.contains("spoofing example.com"), "{message}");
}

#[tokio::test]
async fn failures_counted_by_reason_in_messages() {
    let mut unaligned = record("203.0.113.20", 5, "fail", "fail");
    unaligned.spf = vec![spf("bounce.mailer.example.net", "pass")];
    unaligned.dkim = vec![dkim("esp.example.org", "pass")];
    let mut forwarded = record("203.0.113.220", 2, "fail", "fail");
    forwarded.reasons = vec![Reason {
        kind: "mailing_list".into(),
        comment: None,
    }];
    let bare = record("203.0.113.240", 1, "fail", "fail");
    let s = summary_of(
        &[report(
            "google.com",
            "x",
            NOV1,
            vec![unaligned, forwarded, bare],
        )],
        &ctx(),
    )
    .await;
    let reasons: Vec<_> = s
        .failures
        .iter()
        .map(|f| (f.reason.as_str(), f.messages))
        .collect();
    assert_eq!(
        reasons,
        [
            ("spf_and_dkim_unaligned", 5),
            ("mailing_list", 2),
            ("spf_fail_dkim_none", 1)
        ]
    );
    // The list mail is spared by the receiver's override; the rest would be affected.
    assert_eq!(s.policy.affected, 6);
    assert!((s.policy.affected_share - 6.0 / 8.0).abs() < 1e-9);
}

/// One passing report per day for `days` days from NOV1.
fn clean_run(days: i64) -> Vec<AggregateReport> {
    (0..days)
        .map(|d| {
            report(
                "google.com",
                &format!("d{d}"),
                NOV1 + d * DAY,
                vec![passing("192.0.2.1", 10)],
            )
        })
        .collect()
}

/// RFC 9989 §5.1.7: the step to enforcement is advised after the required clean days.
#[tokio::test]
async fn rfc9989_5_1_7_policy_step_advised_after_required_clean_days() {
    let s = summary_of(&clean_run(14), &ctx()).await;
    assert_eq!(s.policy.current.as_deref(), Some("none"));
    assert_eq!(s.policy.next.as_deref(), Some("quarantine"));
    assert_eq!(s.policy.clean_days, 14);
    assert_eq!(s.policy.required_clean_days, 14);
    assert!(s.policy.safe);
    assert_eq!(
        s.policy.suggestion.as_deref(),
        Some("[domains.\"example.com\".dmarc] policy = \"quarantine\"")
    );
    let s = summary_of(&clean_run(13), &ctx()).await;
    assert_eq!(s.policy.clean_days, 13);
    assert!(!s.policy.safe);
    assert_eq!(s.policy.suggestion, None);
    let mut strict = ctx();
    strict.required_clean_days = 30;
    let s = summary_of(&clean_run(20), &strict).await;
    assert!(!s.policy.safe, "20 clean days < --clean-days 30");
}

#[tokio::test]
async fn rfc9989_5_1_7_clean_days_stop_at_a_failure_but_not_at_forwarding() {
    let mut reports = clean_run(10);
    // Day 3 has an unexplained failure; day 7 only forwarded mail.
    reports[3]
        .records
        .push(record("203.0.113.240", 1, "fail", "fail"));
    let mut fwd = record("203.0.113.220", 4, "fail", "fail");
    fwd.reasons = vec![Reason {
        kind: "forwarded".into(),
        comment: None,
    }];
    reports[7].records.push(fwd);
    let s = summary_of(&reports, &ctx()).await;
    assert_eq!(s.policy.clean_days, 6, "days 4..=9");
    // A day without reports ends the run too.
    let mut gap = clean_run(10);
    gap.remove(5);
    let s = summary_of(&gap, &ctx()).await;
    assert_eq!(s.policy.clean_days, 4, "days 6..=9");
}

/// Without --domain the advice is for the newest report's domain: another domain's failures do
/// not count against it.
#[tokio::test]
async fn rfc9989_5_1_7_advice_without_domain_is_for_the_newest_policy_domain() {
    let mut reports = clean_run(14);
    for r in &mut reports {
        r.policy.domain = "example.org".into();
        for rec in &mut r.records {
            rec.header_from = "example.org".into();
        }
    }
    let mut other = report(
        "Yahoo",
        "y",
        NOV1,
        vec![record("203.0.113.240", 5, "fail", "fail")],
    );
    other.policy.p = Some("reject".into());
    reports.insert(0, other);
    let s = summary_of(&reports, &ctx()).await;
    assert_eq!(s.policy.current.as_deref(), Some("none"));
    assert_eq!(
        s.policy.affected, 0,
        "example.com's failures are not example.org's"
    );
    assert_eq!(s.policy.clean_days, 14);
    assert_eq!(
        s.policy.suggestion.as_deref(),
        Some("[domains.\"example.org\".dmarc] policy = \"quarantine\"")
    );
    assert_eq!(s.messages, 145, "the totals still count every domain");
}

#[tokio::test]
async fn policy_at_reject_has_no_next_step() {
    let mut reports = clean_run(20);
    for r in &mut reports {
        r.policy.p = Some("reject".into());
    }
    let s = summary_of(&reports, &ctx()).await;
    assert_eq!(s.policy.next, None);
    assert!(!s.policy.safe);
    let mut q = clean_run(1);
    q[0].policy.p = Some("quarantine".into());
    assert_eq!(
        summary_of(&q, &ctx()).await.policy.next.as_deref(),
        Some("reject")
    );
}

#[tokio::test]
async fn days_and_receivers_counted_in_messages() {
    let mut reports = clean_run(2);
    reports.push(report(
        "Yahoo",
        "y1",
        NOV1 + DAY,
        vec![record("203.0.113.240", 5, "fail", "fail")],
    ));
    let s = summary_of(&reports, &ctx()).await;
    let days: Vec<_> = s
        .days
        .iter()
        .map(|d| (d.date.as_str(), d.messages, d.dmarc_pass))
        .collect();
    assert_eq!(days, [("2026-11-01", 10, 10), ("2026-11-02", 15, 10)]);
    assert_eq!(s.receivers[0].org_name, "google.com");
    assert_eq!(s.receivers[0].reports, 2);
    assert_eq!(s.receivers[1].messages, 5);
    assert_eq!(s.dispositions.get("none"), Some(&25));
}

fn tls_report(id: &str, begin: i64, domain: &str) -> TlsReport {
    TlsReport {
        org_name: "Google Inc.".into(),
        contact_info: Some("smtp-tls-reporting@google.com".into()),
        report_id: id.into(),
        begin,
        end: begin + DAY - 1,
        policies: vec![TlsPolicy {
            policy_type: "sts".into(),
            policy_string: vec!["version: STSv1".into(), "mode: enforce".into()],
            policy_domain: domain.into(),
            mx_host: vec!["mx1.example.com".into()],
            successful: 90,
            failed: 10,
            failures: vec![TlsFailure {
                result_type: "certificate-expired".into(),
                sending_mta_ip: Some(ip("209.85.220.41")),
                receiving_mx_hostname: Some("mx1.example.com".into()),
                receiving_ip: None,
                sessions: 10,
                additional_information: None,
                failure_reason_code: None,
            }],
        }],
    }
}

#[tokio::test]
async fn rfc8460_4_tls_reports_summarised_by_result_type() {
    let tls = [
        tls_report("t1", NOV1, "example.com"),
        tls_report("t2", NOV1 + DAY, "example.com"),
    ];
    let s = summarize(&[], &tls, &Filter::default(), &ctx()).await;
    assert_eq!(s.tls.reports, 2);
    assert_eq!(s.tls.successful_sessions, 180);
    assert_eq!(s.tls.failed_sessions, 20);
    assert_eq!(s.tls.failure_types[0].result_type, "certificate-expired");
    assert_eq!(s.tls.failure_types[0].sessions, 20);
    assert_eq!(s.tls.policies.len(), 1);
}

#[test]
fn store_round_trips_both_kinds() {
    let mut store = Store::open_in_memory().unwrap();
    let mut rec = passing("2001:db8::25", 3);
    rec.reasons = vec![Reason {
        kind: "local_policy".into(),
        comment: Some("arc=pass".into()),
    }];
    rec.envelope_to = Some("example.net".into());
    let mut agg = report("google.com", "r1", NOV1, vec![rec, passing("192.0.2.1", 1)]);
    agg.errors = vec!["one record dropped".into()];
    agg.policy.pct = Some(100);
    let tls = tls_report("t1", NOV1, "example.com");
    let origin = "mail/cur/1!google.com!example.com!1.zip!r1.xml";
    assert_eq!(
        store
            .insert(&Report::Aggregate(agg.clone()), origin)
            .unwrap(),
        Inserted::New
    );
    assert_eq!(
        store.insert(&Report::Tls(tls.clone()), "t.json").unwrap(),
        Inserted::New
    );
    let got = store.aggregate(&Filter::default()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].report, agg);
    assert_eq!(got[0].origin, origin);
    assert_eq!(store.tls(&Filter::default()).unwrap()[0].report, tls);
}

/// Reports are deduplicated by (organisation, report id): ingesting again is harmless.
#[test]
fn store_dedup_by_org_and_report_id() {
    let mut store = Store::open_in_memory().unwrap();
    let a = Report::Aggregate(report(
        "google.com",
        "r1",
        NOV1,
        vec![passing("192.0.2.1", 1)],
    ));
    let same_id_other_org =
        Report::Aggregate(report("Yahoo", "r1", NOV1, vec![passing("192.0.2.1", 1)]));
    assert_eq!(store.insert(&a, "a.xml").unwrap(), Inserted::New);
    assert_eq!(store.insert(&a, "again.xml").unwrap(), Inserted::Duplicate);
    let batch = store
        .insert_batch([
            (&same_id_other_org, "y.xml"),
            (&same_id_other_org, "y2.xml"),
            (&a, "a3.xml"),
        ])
        .unwrap();
    let batch: Vec<_> = batch.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        batch,
        [Inserted::New, Inserted::Duplicate, Inserted::Duplicate]
    );
    assert_eq!(store.aggregate(&Filter::default()).unwrap().len(), 2);
}

/// A report that cannot be stored whole is not stored at all; the rest of its batch is.
#[test]
fn store_failed_insert_rolls_back_the_whole_report() {
    let mut store = Store::open_in_memory().unwrap();
    // The second record's count does not fit SQLite's signed integer: the insert fails after
    // the report row and the first record were written.
    let bad = Report::Aggregate(report(
        "google.com",
        "bad",
        NOV1,
        vec![passing("192.0.2.1", 1), passing("192.0.2.2", u64::MAX)],
    ));
    let good = Report::Aggregate(report(
        "google.com",
        "good",
        NOV1,
        vec![passing("192.0.2.1", 1)],
    ));
    assert!(store.insert(&bad, "bad.xml").is_err());
    let results = store
        .insert_batch([(&bad, "bad.xml"), (&good, "good.xml")])
        .unwrap();
    assert!(results[0].is_err());
    assert_eq!(*results[1].as_ref().unwrap(), Inserted::New);
    let stored = store.aggregate(&Filter::default()).unwrap();
    let ids: Vec<_> = stored.iter().map(|s| s.report.report_id.as_str()).collect();
    assert_eq!(ids, ["good"]);
    // The failed report left nothing behind: storing a valid version of it is new, not a dup.
    let fixed = Report::Aggregate(report(
        "google.com",
        "bad",
        NOV1,
        vec![passing("192.0.2.1", 1)],
    ));
    assert_eq!(store.insert(&fixed, "bad.xml").unwrap(), Inserted::New);
}

#[test]
fn store_filter_by_domain_and_since() {
    let mut store = Store::open_in_memory().unwrap();
    let own = report("google.com", "own", NOV1, vec![passing("192.0.2.1", 1)]);
    let mut other = report(
        "google.com",
        "other",
        NOV1 + 10 * DAY,
        vec![passing("192.0.2.2", 2), passing("192.0.2.3", 3)],
    );
    other.policy.domain = "example.org".into();
    other.records[0].header_from = "example.org".into();
    other.records[1].header_from = "news.example.com".into();
    let mut unrelated = report(
        "google.com",
        "unrelated",
        NOV1,
        vec![passing("192.0.2.4", 4)],
    );
    unrelated.policy.domain = "notexample.com".into();
    unrelated.records[0].header_from = "notexample.com".into();
    for r in [own, other, unrelated] {
        store.insert(&Report::Aggregate(r), "x").unwrap();
    }
    store
        .insert(&Report::Tls(tls_report("t1", NOV1, "example.org")), "t")
        .unwrap();
    let by_domain = Filter {
        domain: Some("example.com".into()),
        since: None,
    };
    let got = store.aggregate(&by_domain).unwrap();
    let ids: Vec<_> = got.iter().map(|s| s.report.report_id.as_str()).collect();
    assert_eq!(
        ids,
        ["own", "other"],
        "notexample.com is not under example.com"
    );
    assert_eq!(
        got[1].report.records.len(),
        1,
        "only the example.com record"
    );
    assert_eq!(got[1].report.records[0].header_from, "news.example.com");
    assert!(store.tls(&by_domain).unwrap().is_empty());
    let since = Filter {
        domain: None,
        since: Some(NOV1 + 5 * DAY),
    };
    let ids: Vec<_> = store
        .aggregate(&since)
        .unwrap()
        .into_iter()
        .map(|s| s.report.report_id)
        .collect();
    assert_eq!(ids, ["other"]);
}

#[test]
fn store_refuses_a_file_that_is_not_a_report_database() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.sqlite");
    std::fs::write(
        &text,
        "not a database at all, just some text that is long enough ......",
    )
    .unwrap();
    let before = std::fs::read(&text).unwrap();
    let err = Store::open(&text).unwrap_err();
    assert!(matches!(err, StoreError::NotReportsDb { .. }), "{err}");
    assert!(err.to_string().contains("notes.sqlite"), "{err}");
    assert_eq!(std::fs::read(&text).unwrap(), before, "left unchanged");
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER)")
        .unwrap();
    let err = Store::open(&other).unwrap_err();
    assert!(matches!(err, StoreError::NotReportsDb { .. }), "{err}");
    // Our own file opens again, with what was stored.
    let ours = dir.path().join("reports.sqlite");
    let mut store = Store::open(&ours).unwrap();
    store
        .insert(&Report::Aggregate(report("g", "1", NOV1, vec![])), "x")
        .unwrap();
    drop(store);
    assert_eq!(
        Store::open(&ours)
            .unwrap()
            .aggregate(&Filter::default())
            .unwrap()
            .len(),
        1
    );
}
