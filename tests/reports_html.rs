//! `reports::html::render` read by a real browser (issue 15, Build 3): headless Chromium
//! screenshots the page and dumps its DOM after the page's script ran, and the tests compare
//! the charts' marks and the key numbers with the [`Summary`] they were drawn from. Summaries
//! are built here by hand, so every expected number is written out, not computed by mailauth.
//! Report text is attacker-controlled (RFC 9990 §8.1 "Report Contents as an Attack"): a hostile
//! organisation name, PTR name or reason must arrive as text and never run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mailauth::reports::html::render;
use mailauth::reports::summary::{
    Day, Failure, Fix, Group, PolicyAdvice, Receiver, Source, Summary, TlsFailureType,
    TlsPolicySummary, TlsSummary,
};

use crate::support::chromium;

// ---------------------------------------------------------------------------------------------
// Summaries.

const JAN_1_2026: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

fn source(ip: &str, ptr: Option<&str>, group: &str, messages: u64, pass: u64) -> Source {
    Source {
        ip: ip.parse().unwrap(),
        ptr: ptr.map(str::to_owned),
        group: group.to_owned(),
        messages,
        dmarc_pass: pass,
        spf_aligned_pass: pass,
        dkim_aligned_pass: pass / 2,
        dispositions: BTreeMap::from([("none".to_owned(), messages)]),
        header_from: vec!["example.com".to_owned()],
        dkim: vec!["example.com=pass".to_owned()],
        spf: vec!["example.com=pass".to_owned()],
        fix: (pass < messages).then(|| Fix {
            kind: "spf_include".to_owned(),
            message: "add `include:_spf.example.net` to spf".to_owned(),
        }),
    }
}

/// 13 sources (so the source chart shows ten and "other"), five days, three receivers, three
/// failure reasons, two TLS policies with two failure types.
fn busy_summary() -> Summary {
    let sources = vec![
        source(
            "192.0.2.10",
            Some("mail-a.example.com"),
            "include:_spf.example.com",
            5000,
            4990,
        ),
        source(
            "2001:db8::25",
            Some("mx.example.net"),
            "include:_spf.example.net",
            3000,
            2000,
        ),
        source("198.51.100.7", None, "other", 1200, 0),
        source(
            "203.0.113.1",
            Some("out1.sender.example"),
            "include:sender.example",
            900,
            900,
        ),
        source(
            "203.0.113.2",
            Some("out2.sender.example"),
            "include:sender.example",
            800,
            800,
        ),
        source(
            "203.0.113.3",
            Some("out3.sender.example"),
            "include:sender.example",
            700,
            650,
        ),
        source("9.9.9.9", None, "other", 600, 0),
        source("203.0.113.4", None, "include:sender.example", 500, 500),
        source("203.0.113.5", None, "include:sender.example", 400, 400),
        source("10.1.2.3", None, "other", 300, 10),
        source("203.0.113.6", None, "include:sender.example", 200, 200),
        source("203.0.113.7", None, "include:sender.example", 150, 140),
        source("203.0.113.8", None, "include:sender.example", 50, 0),
    ];
    let messages: u64 = sources.iter().map(|s| s.messages).sum();
    let pass: u64 = sources.iter().map(|s| s.dmarc_pass).sum();
    assert_eq!((messages, pass), (13_800, 10_590));
    Summary {
        domain: Some("example.com".to_owned()),
        since: Some(JAN_1_2026),
        until: JAN_1_2026 + 5 * DAY,
        reports: 12,
        messages,
        dmarc_pass: pass,
        spf_aligned_pass: 11_000,
        dkim_aligned_pass: 9_000,
        dispositions: BTreeMap::from([("none".to_owned(), 13_000), ("quarantine".to_owned(), 800)]),
        days: vec![
            day("2026-01-01", 3000, 2400),
            day("2026-01-02", 2800, 2700),
            day("2026-01-03", 0, 0),
            day("2026-01-04", 4000, 3992),
            day("2026-01-05", 4000, 2500),
        ],
        sources,
        groups: vec![
            group("include:sender.example", 8, 3700, 3590),
            group("include:_spf.example.com", 1, 5000, 4990),
            group("include:_spf.example.net", 1, 3000, 2000),
            group("other", 3, 2100, 10),
        ],
        receivers: vec![
            receiver("google.com", 6, 8000, 7000),
            receiver("Mail.Ru", 2, 1800, 1590),
            receiver("Outlook.com", 4, 4000, 2000),
        ],
        failures: vec![
            failure("spf_and_dkim_unaligned", 1500),
            failure("forwarded", 410),
            failure("spf_unaligned_dkim_fail", 300),
        ],
        policy: PolicyAdvice {
            current: Some("none".to_owned()),
            next: Some("quarantine".to_owned()),
            affected: 1800,
            affected_share: 1800.0 / 13_800.0,
            clean_days: 0,
            required_clean_days: 14,
            safe: false,
            suggestion: None,
        },
        tls: TlsSummary {
            reports: 3,
            successful_sessions: 9_000,
            failed_sessions: 42,
            failure_types: vec![
                TlsFailureType {
                    result_type: "certificate-expired".to_owned(),
                    sessions: 30,
                },
                TlsFailureType {
                    result_type: "sts-policy-fetch-error".to_owned(),
                    sessions: 12,
                },
            ],
            policies: vec![
                tls_policy("sts", "example.com", 6000, 30),
                tls_policy("no-policy-found", "example.org", 3000, 12),
            ],
        },
    }
}

fn day(date: &str, messages: u64, dmarc_pass: u64) -> Day {
    Day {
        date: date.to_owned(),
        messages,
        dmarc_pass,
    }
}

fn group(name: &str, sources: u64, messages: u64, dmarc_pass: u64) -> Group {
    Group {
        name: name.to_owned(),
        sources,
        messages,
        dmarc_pass,
    }
}

fn receiver(org_name: &str, reports: u64, messages: u64, dmarc_pass: u64) -> Receiver {
    Receiver {
        org_name: org_name.to_owned(),
        reports,
        messages,
        dmarc_pass,
    }
}

fn failure(reason: &str, messages: u64) -> Failure {
    Failure {
        reason: reason.to_owned(),
        messages,
    }
}

fn tls_policy(kind: &str, domain: &str, ok: u64, failed: u64) -> TlsPolicySummary {
    TlsPolicySummary {
        policy_type: kind.to_owned(),
        policy_domain: domain.to_owned(),
        successful_sessions: ok,
        failed_sessions: failed,
    }
}

/// No report of either kind.
fn empty_summary() -> Summary {
    Summary {
        domain: Some("example.com".to_owned()),
        since: Some(JAN_1_2026),
        until: JAN_1_2026 + 30 * DAY,
        reports: 0,
        messages: 0,
        dmarc_pass: 0,
        spf_aligned_pass: 0,
        dkim_aligned_pass: 0,
        dispositions: BTreeMap::new(),
        days: vec![],
        sources: vec![],
        groups: vec![],
        receivers: vec![],
        failures: vec![],
        policy: PolicyAdvice {
            current: None,
            next: None,
            affected: 0,
            affected_share: 0.0,
            clean_days: 0,
            required_clean_days: 14,
            safe: false,
            suggestion: None,
        },
        tls: TlsSummary::default(),
    }
}

/// Each script sets `data-pwned` on the root element if it ever runs.
const HOSTILE_ORG: &str =
    "<script>document.documentElement.setAttribute('data-pwned','org')</script>";
const HOSTILE_PTR: &str =
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','ptr')\">";
const HOSTILE_GROUP: &str =
    "\"><svg onload=\"document.documentElement.setAttribute('data-pwned','group')\">";
const HOSTILE_REASON: &str =
    "</title><script>document.documentElement.setAttribute('data-pwned','reason')</script>";
const HOSTILE_FIX: &str = "add `</code><script>document.documentElement.setAttribute('data-pwned','fix')</script>` to spf";
const HOSTILE_DOMAIN: &str =
    "</title><script>document.documentElement.setAttribute('data-pwned','domain')</script>";

fn hostile_summary() -> Summary {
    let mut summary = busy_summary();
    summary.domain = Some(HOSTILE_DOMAIN.to_owned());
    summary.receivers[0].org_name = HOSTILE_ORG.to_owned();
    summary.sources[0].ptr = Some(HOSTILE_PTR.to_owned());
    summary.sources[0].header_from = vec![HOSTILE_ORG.to_owned()];
    summary.sources[1].group = HOSTILE_GROUP.to_owned();
    summary.sources[1].fix = Some(Fix {
        kind: "spf_include".to_owned(),
        message: HOSTILE_FIX.to_owned(),
    });
    summary.groups[0].name = HOSTILE_GROUP.to_owned();
    summary.failures[0].reason = HOSTILE_REASON.to_owned();
    summary.tls.failure_types[0].result_type = HOSTILE_ORG.to_owned();
    summary.tls.policies[0].policy_domain = HOSTILE_PTR.to_owned();
    summary.dispositions.insert(HOSTILE_REASON.to_owned(), 1);
    summary
}

// ---------------------------------------------------------------------------------------------
// Reading pages.

/// The page for `summary`, written as `report.html` in a fresh temporary directory.
fn write_page(summary: &Summary) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, render(summary)).unwrap();
    (dir, path)
}

/// One start tag: its name and attributes (values unescaped).
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: BTreeMap<String, String>,
}

impl Tag {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .get(name)
            .unwrap_or_else(|| panic!("<{}> has no {name}: {self:?}", self.name))
    }

    fn num(&self, name: &str) -> u64 {
        self.attr(name)
            .parse()
            .unwrap_or_else(|_| panic!("{name} of {self:?} is not a count"))
    }

    fn has_class(&self, class: &str) -> bool {
        self.attrs
            .get("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }
}

/// The start tags of an HTML serialisation (Chromium's `--dump-dom` or ours), in order, with
/// script and style contents left out. Attribute values are double-quoted in both.
fn tags(html: &str) -> Vec<Tag> {
    let html = without_raw_text(html);
    let mut out = Vec::new();
    let mut rest = html.as_str();
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let end = rest.find('>').expect("unterminated tag");
        out.push(parse_tag(&rest[..end]));
        rest = &rest[end + 1..];
    }
    out
}

fn without_raw_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    loop {
        let next = ["<script", "<style"]
            .into_iter()
            .filter_map(|open| rest.find(open).map(|at| (at, open)))
            .min();
        let Some((at, open)) = next else { break };
        let close = if open == "<script" {
            "</script>"
        } else {
            "</style>"
        };
        let open_end = at + rest[at..].find('>').expect("open tag end") + 1;
        out.push_str(&rest[..open_end]);
        let Some(end) = rest[open_end..].find(close) else {
            return out;
        };
        out.push_str(close);
        rest = &rest[open_end + end + close.len()..];
    }
    out.push_str(rest);
    out
}

fn parse_tag(text: &str) -> Tag {
    let text = text.trim_end_matches('/');
    let name_end = text.find(|c: char| c.is_whitespace()).unwrap_or(text.len());
    let mut attrs = BTreeMap::new();
    let mut rest = text[name_end..].trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_owned();
        rest = &rest[name_end..];
        let value = if let Some(quoted) = rest.strip_prefix("=\"") {
            let end = quoted.find('"').expect("unterminated attribute value");
            rest = &quoted[end + 1..];
            unescape(&quoted[..end])
        } else {
            String::new()
        };
        attrs.insert(name, value);
        rest = rest.trim_start();
    }
    Tag {
        name: text[..name_end].to_ascii_lowercase(),
        attrs,
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text of the element that opens with `open` up to the first `close` after it.
fn element<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in the page"));
    let end = html[start..]
        .find(close)
        .unwrap_or_else(|| panic!("{open} is not closed"));
    &html[start..start + end + close.len()]
}

fn by_id<'a>(tags: &'a [Tag], id: &str) -> &'a Tag {
    tags.iter()
        .find(|t| t.attrs.get("id").is_some_and(|v| v == id))
        .unwrap_or_else(|| panic!("no element with id {id}"))
}

/// `(label, value, pass)` of each bar of chart `id`, in drawing order.
fn bars(dom: &str, id: &str) -> Vec<(String, u64, Option<u64>)> {
    tags(element(dom, &format!("<svg id=\"{id}\""), "</svg>"))
        .into_iter()
        .filter(|t| t.name == "g" && t.has_class("bar"))
        .map(|t| {
            let pass = t.attrs.get("data-pass").map(|p| p.parse().unwrap());
            (t.attr("data-label").to_owned(), t.num("data-value"), pass)
        })
        .collect()
}

/// The first cell's text of each body row of table `id`, in order.
fn first_column(dom: &str, id: &str) -> Vec<String> {
    let table = element(dom, &format!("<table id=\"{id}\""), "</table>");
    let body = element(table, "<tbody>", "</tbody>");
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let cell = row.split_once('>').expect("row cell").1;
            unescape(cell.split_once("</").expect("cell end").0)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// Issue 15 Build 3: the key numbers on the page are the summary's, after the page's script ran
/// (the script setting `data-script` proves the Content-Security-Policy hash lets it run).
#[test]
fn reports_html_headline_numbers_equal_the_summary() {
    let summary = busy_summary();
    let (_dir, page) = write_page(&summary);
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    let tags = tags(&dom);
    let root = tags.iter().find(|t| t.name == "html").unwrap();
    assert_eq!(
        root.attr("data-script"),
        "ran",
        "the page's own script did not run"
    );
    assert_eq!(by_id(&tags, "messages").num("data-value"), 13_800);
    assert_eq!(by_id(&tags, "reports").num("data-value"), 12);
    assert_eq!(by_id(&tags, "sources").num("data-value"), 13);
    assert_eq!(by_id(&tags, "tls-reports").num("data-value"), 3);
    assert_eq!(by_id(&tags, "tls-failed-sessions").num("data-value"), 42);
    let rate = by_id(&tags, "pass-rate");
    assert_eq!(
        (rate.num("data-pass"), rate.num("data-messages")),
        (10_590, 13_800)
    );
    assert_eq!(
        rate.attr("data-value"),
        "76.7",
        "10,590 of 13,800 is 76.74%"
    );
    let advice = by_id(&tags, "policy-advice");
    assert_eq!(advice.attr("data-current"), "none");
    assert_eq!(advice.attr("data-next"), "quarantine");
    assert_eq!(advice.num("data-affected"), 1800);
    assert_eq!(advice.attr("data-safe"), "false");
    assert!(
        dom.contains("1,800 of 13,800 messages (13.0%)"),
        "the advice sentence"
    );
    let dispositions: Vec<(String, u64)> = tags
        .iter()
        .filter(|t| t.attrs.contains_key("data-disposition"))
        .map(|t| (t.attr("data-disposition").to_owned(), t.num("data-value")))
        .collect();
    assert_eq!(
        dispositions,
        [("none".to_owned(), 13_000), ("quarantine".to_owned(), 800)]
    );
    assert!(dom.contains("<title>DMARC and TLS reports: example.com, 2026-01-01 00:00 UTC to 2026-01-06 00:00 UTC</title>"));
}

/// Issue 15 Build 3, "DMARC pass rate per day": one mark per day of the summary, in order, with
/// the day's counts; a day without messages has no bar.
#[test]
fn reports_html_pass_rate_chart_has_one_mark_per_day() {
    let summary = busy_summary();
    let (_dir, page) = write_page(&summary);
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    let chart = element(&dom, "<svg id=\"chart-pass-rate\"", "</svg>");
    let marks: Vec<(String, u64, u64, String)> = tags(chart)
        .into_iter()
        .filter(|t| t.name == "g" && t.has_class("day"))
        .map(|t| {
            let rate = t.attr("data-rate").to_owned();
            (
                t.attr("data-date").to_owned(),
                t.num("data-messages"),
                t.num("data-pass"),
                rate,
            )
        })
        .collect();
    let expected = [
        ("2026-01-01", 3000, 2400, "80.0"),
        ("2026-01-02", 2800, 2700, "96.4"),
        ("2026-01-03", 0, 0, ""),
        ("2026-01-04", 4000, 3992, "99.8"),
        ("2026-01-05", 4000, 2500, "62.5"),
    ]
    .map(|(d, m, p, r)| (d.to_owned(), m, p, r.to_owned()));
    assert_eq!(marks, expected);
    let rects = tags(chart).into_iter().filter(|t| t.name == "rect").count();
    assert_eq!(rects, 4, "one bar per day with messages");
    assert!(chart.contains("<title id=\"chart-pass-rate-title\">DMARC pass rate per day</title>"));
}

/// Issue 15 Build 3, "volume by source": the ten biggest sources, then one "other" bar that adds
/// up the remaining three, so the bars sum to all messages.
#[test]
fn reports_html_source_chart_shows_top_ten_and_other() {
    let summary = busy_summary();
    let (_dir, page) = write_page(&summary);
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    let bars = bars(&dom, "chart-sources");
    assert_eq!(bars.len(), 11);
    assert_eq!(
        bars[0],
        (
            "192.0.2.10 (mail-a.example.com)".to_owned(),
            5000,
            Some(4990)
        )
    );
    assert_eq!(
        bars[1],
        ("2001:db8::25 (mx.example.net)".to_owned(), 3000, Some(2000))
    );
    assert_eq!(bars[2], ("198.51.100.7".to_owned(), 1200, Some(0)));
    assert_eq!(bars[9], ("10.1.2.3".to_owned(), 300, Some(10)));
    assert_eq!(bars[10], ("other (3 sources)".to_owned(), 400, Some(340)));
    assert_eq!(bars.iter().map(|b| b.1).sum::<u64>(), summary.messages);
    assert_eq!(
        bars.iter().map(|b| b.2.unwrap()).sum::<u64>(),
        summary.dmarc_pass
    );
}

/// Issue 15 Build 3, "failures by reason, per receiver, TLS-RPT failure types" (RFC 8460 §4.3
/// "Result Types"): one bar each, biggest first, with the summary's numbers.
#[test]
fn reports_html_failure_receiver_and_tls_charts_equal_the_summary() {
    let summary = busy_summary();
    let (_dir, page) = write_page(&summary);
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    assert_eq!(
        bars(&dom, "chart-failures"),
        [
            ("spf_and_dkim_unaligned".to_owned(), 1500, None),
            ("forwarded".to_owned(), 410, None),
            ("spf_unaligned_dkim_fail".to_owned(), 300, None),
        ]
    );
    assert_eq!(
        bars(&dom, "chart-receivers"),
        [
            ("google.com".to_owned(), 8000, Some(7000)),
            ("Outlook.com".to_owned(), 4000, Some(2000)),
            ("Mail.Ru".to_owned(), 1800, Some(1590)),
        ]
    );
    assert_eq!(
        bars(&dom, "chart-tls-failures"),
        [
            ("certificate-expired".to_owned(), 30, None),
            ("sts-policy-fetch-error".to_owned(), 12, None),
        ]
    );
    let sessions = by_id(&tags(&dom), "tls-sessions").attrs.clone();
    assert_eq!(sessions["data-successful"], "9000");
    assert_eq!(sessions["data-failed"], "42");
}

/// Issue 15 Build 3, "tables sortable", read without any script: every source, group, receiver
/// and TLS policy has a row, and rows arrive sorted by messages (sessions), most first.
#[test]
fn reports_html_tables_arrive_sorted_by_messages_without_script() {
    let html = render(&busy_summary());
    assert_eq!(
        first_column(&html, "table-sources"),
        [
            "192.0.2.10",
            "2001:db8::25",
            "198.51.100.7",
            "203.0.113.1",
            "203.0.113.2",
            "203.0.113.3",
            "9.9.9.9",
            "203.0.113.4",
            "203.0.113.5",
            "10.1.2.3",
            "203.0.113.6",
            "203.0.113.7",
            "203.0.113.8",
        ]
    );
    assert_eq!(
        first_column(&html, "table-groups"),
        [
            "include:_spf.example.com",
            "include:sender.example",
            "include:_spf.example.net",
            "other"
        ]
    );
    assert_eq!(
        first_column(&html, "table-receivers"),
        ["google.com", "Outlook.com", "Mail.Ru"]
    );
    assert_eq!(
        first_column(&html, "table-tls-policies"),
        ["example.com", "example.org"]
    );
    let sorted: Vec<String> = tags(&html)
        .iter()
        .filter(|t| t.name == "th" && t.attrs.contains_key("aria-sort"))
        .map(|t| format!("{}={}", t.attr("data-key"), t.attr("aria-sort")))
        .collect();
    assert_eq!(
        sorted,
        [
            "messages=descending",
            "messages=descending",
            "messages=descending",
            "sessions=descending"
        ]
    );
    assert!(
        html.contains("<code>include:_spf.example.net</code>"),
        "the fix's back-quoted part is shown as code"
    );
}

/// The page's script sorts a table by the column a `#sort=TABLE:COLUMN:DIR` location hash names:
/// addresses numerically (9.x before 10.x, IPv4 before IPv6), counts as numbers.
#[test]
fn reports_html_sort_follows_location_hash() {
    let (_dir, page) = write_page(&busy_summary());
    let Some(dom) = chromium::dump_dom_at(&page, "sort=table-sources:ip:asc") else {
        return;
    };
    assert_eq!(
        first_column(&dom, "table-sources"),
        [
            "9.9.9.9",
            "10.1.2.3",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.1",
            "203.0.113.2",
            "203.0.113.3",
            "203.0.113.4",
            "203.0.113.5",
            "203.0.113.6",
            "203.0.113.7",
            "203.0.113.8",
            "2001:db8::25",
        ]
    );
    let table = tags(&dom)
        .into_iter()
        .find(|t| t.attrs.get("id").is_some_and(|i| i == "table-sources"))
        .unwrap();
    assert_eq!(table.attr("data-sorted"), "ip:asc");
    let Some(dom) = chromium::dump_dom_at(&page, "sort=table-receivers:messages:asc") else {
        return;
    };
    assert_eq!(
        first_column(&dom, "table-receivers"),
        ["Mail.Ru", "Outlook.com", "google.com"]
    );
    let Some(dom) = chromium::dump_dom_at(&page, "sort=table-receivers:org_name:desc") else {
        return;
    };
    assert_eq!(
        first_column(&dom, "table-receivers"),
        ["Outlook.com", "Mail.Ru", "google.com"]
    );
}

/// Issue 15 Build 3, "it must render in a real browser": the screenshot is a PNG of the window's
/// size, and carries far more drawing than the same browser's screenshot of an empty page.
#[test]
fn reports_html_screenshot_is_a_drawn_page() {
    let (dir, page) = write_page(&busy_summary());
    let png = dir.path().join("report.png");
    let Some(()) = chromium::screenshot(&page, &png, 2400) else {
        return;
    };
    let blank_page = dir.path().join("blank.html");
    std::fs::write(&blank_page, "<!DOCTYPE html><title>blank</title>").unwrap();
    let blank_png = dir.path().join("blank.png");
    chromium::screenshot(&blank_page, &blank_png, 2400).unwrap();
    let report = std::fs::read(&png).unwrap();
    let blank = std::fs::read(&blank_png).unwrap();
    assert_eq!(chromium::png_size(&report), (1280, 2400));
    assert_eq!(chromium::png_size(&blank), (1280, 2400));
    assert!(
        report.len() > 40_000 && report.len() > 8 * blank.len(),
        "the report's screenshot ({} bytes) is hardly more than a blank page's ({} bytes)",
        report.len(),
        blank.len()
    );
}

/// RFC 9990 §8.1 "Report Contents as an Attack": markup in any report text (organisation, PTR
/// name, group, reason, fix, TLS result type and policy domain, the domain filter) is shown as
/// text; none of it becomes an element, and no script of it runs in the browser.
#[test]
fn reports_html_report_text_is_escaped_and_never_runs() {
    let html = render(&hostile_summary());
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    for injected in [
        "<img",
        "<svg onload",
        "</code><script",
        "</title><script",
        "data-pwned='",
    ] {
        assert!(
            !html.contains(injected),
            "{injected} reached the page unescaped"
        );
    }
    assert!(html.contains("&lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;,&#39;org&#39;)&lt;/script&gt;"));
    let (_dir, page) = write_page(&hostile_summary());
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    let tags = tags(&dom);
    let pwned: Vec<&Tag> = tags
        .iter()
        .filter(|t| t.attrs.contains_key("data-pwned"))
        .collect();
    assert!(pwned.is_empty(), "report text ran as script: {pwned:?}");
    assert!(
        !tags.iter().any(|t| t.name == "img"),
        "report text became an <img>"
    );
    let root = tags.iter().find(|t| t.name == "html").unwrap();
    assert_eq!(root.attr("data-script"), "ran");
    let receivers = bars(&dom, "chart-receivers");
    assert_eq!(
        receivers[0].0, HOSTILE_ORG,
        "the hostile name is shown as it was, as text"
    );
    assert!(dom.contains("<title>DMARC and TLS reports: &lt;/title&gt;&lt;script&gt;"));
}

/// Issue 15 Build 3, "one self-contained HTML page (no external assets)": nothing on the page
/// names another resource, and the Content-Security-Policy forbids loading one anyway.
/// Accessibility: a title, headings, header cells with scope, a title in every chart.
#[test]
fn reports_html_page_is_self_contained_and_labelled() {
    let html = render(&busy_summary());
    for outside in [
        "http:", "https:", "//", " src=", "href=", "<link", "@import", "url(", "<iframe", "<object",
    ] {
        let outside_scripts = without_raw_text(&html);
        assert!(
            !outside_scripts.contains(outside),
            "the page refers to something outside: {outside}"
        );
    }
    assert!(
        !html.contains("http:") && !html.contains("https:"),
        "no URL even in style or script"
    );
    let tags = tags(&html);
    let csp = tags
        .iter()
        .find(|t| {
            t.name == "meta"
                && t.attrs
                    .get("http-equiv")
                    .is_some_and(|v| v == "Content-Security-Policy")
        })
        .expect("a Content-Security-Policy");
    assert!(
        csp.attr("content")
            .starts_with("default-src 'none'; style-src 'sha256-")
    );
    assert!(tags.iter().any(|t| t.name == "title"));
    assert!(tags.iter().any(|t| t.name == "h1"));
    let svgs = tags.iter().filter(|t| t.name == "svg").count();
    assert_eq!(svgs, 5, "five charts");
    assert_eq!(
        html.matches("<svg ").count(),
        html.matches("\">\n<title id=\"chart-").count()
    );
    assert!(
        tags.iter()
            .filter(|t| t.name == "th")
            .all(|t| t.attrs.contains_key("scope"))
    );
}

/// Issue 15 Build 3: with no report stored the page says so, plainly, and draws no empty chart.
#[test]
fn reports_html_empty_summary_says_no_reports_yet() {
    let summary = empty_summary();
    let (_dir, page) = write_page(&summary);
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    let tags = tags(&dom);
    by_id(&tags, "no-reports");
    assert!(dom.contains("<h2 id=\"h-no-reports\">No reports yet</h2>"));
    assert!(
        !tags.iter().any(|t| t.name == "svg" || t.name == "table"),
        "no empty charts"
    );
    assert!(
        dom.contains("mailauth reports ingest"),
        "the page says how to get reports"
    );
}

/// A window with TLS reports and no aggregate report keeps the TLS chart and says the DMARC
/// part is empty (no chart of nothing).
#[test]
fn reports_html_tls_only_summary_keeps_the_tls_chart() {
    let busy = busy_summary();
    let summary = Summary {
        tls: busy.tls,
        ..empty_summary()
    };
    let html = render(&summary);
    let tags = tags(&html);
    by_id(&tags, "no-aggregate-reports");
    assert!(!html.contains("no-tls-reports"));
    assert_eq!(bars(&html, "chart-tls-failures").len(), 2);
    assert!(!html.contains("chart-pass-rate"));
}

/// Issue 15 Build 2's policy advice on the page: once the clean days are reached, the sentence
/// says the step is safe and the `mailauth.toml` change is shown as written by the summary.
#[test]
fn reports_html_safe_policy_step_shows_the_config_change() {
    let mut summary = busy_summary();
    summary.policy = PolicyAdvice {
        current: Some("quarantine".to_owned()),
        next: Some("reject".to_owned()),
        affected: 0,
        affected_share: 0.0,
        clean_days: 30,
        required_clean_days: 14,
        safe: true,
        suggestion: Some("[domains.\"example.com\".dmarc]\npolicy = \"reject\"".to_owned()),
    };
    let html = render(&summary);
    let tags = tags(&html);
    let advice = by_id(&tags, "policy-advice");
    assert_eq!(advice.attr("data-safe"), "true");
    assert_eq!(advice.attr("data-next"), "reject");
    assert!(html.contains(
        "Moving from p=quarantine to p=reject: 0 of 13,800 messages (0.0%) in this window would \
         have been rejected. The last 30 days were clean (14 needed): the step is safe now."
    ));
    assert!(html.contains(
        "<pre id=\"policy-suggestion\"><code>[domains.&quot;example.com&quot;.dmarc]\npolicy = &quot;reject&quot;</code></pre>"
    ));
}

/// The "Done when": the page `mailauth reports html` writes for the sample reports
/// (`testdata/reports/`, ingested through the binary) renders in headless Chromium with its
/// charts, and every number on it equals `mailauth reports summary --json` for the same
/// database: headline counts, one pass-rate mark per day, the receivers chart, the TLS sessions.
#[test]
fn reports_html_written_by_the_cli_shows_the_numbers_of_summary_json() {
    let dir = tempfile::tempdir().unwrap();
    // DNS from a zone file (the domain's SPF for grouping; PTR answered NXDOMAIN): loopback only.
    std::fs::write(
        dir.path().join("dns.zone"),
        "$ORIGIN example.com.\n@ TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        crate::support::cmd::mailauth()
            .current_dir(dir.path())
            .args([
                "--now",
                "2026-11-29T00:00:00Z",
                "--zone",
                "dns.zone",
                "reports",
            ])
            .args(args)
    };
    let sample = crate::support::testdata().join("reports");
    run(&["ingest", "--db", "r.sqlite"])
        .arg(&sample)
        .run()
        .assert_exit(0);
    let summary = run(&["summary", "--db", "r.sqlite", "--json"])
        .run()
        .assert_exit(0)
        .json();
    run(&["html", "--db", "r.sqlite", "report.html"])
        .run()
        .assert_exit(0);
    let page = dir.path().join("report.html");
    let Some(dom) = chromium::dump_dom(&page) else {
        return;
    };
    let tags = tags(&dom);
    let root = tags.iter().find(|t| t.name == "html").unwrap();
    assert_eq!(
        root.attr("data-script"),
        "ran",
        "the page's own script did not run"
    );
    let n = |value: &serde_json::Value| value.as_u64().expect("a count in summary --json");
    assert!(
        n(&summary["messages"]) > 0,
        "the sample set has messages: {summary}"
    );
    assert_eq!(
        by_id(&tags, "messages").num("data-value"),
        n(&summary["messages"])
    );
    assert_eq!(
        by_id(&tags, "reports").num("data-value"),
        n(&summary["reports"])
    );
    let sources = summary["sources"].as_array().unwrap();
    assert_eq!(
        by_id(&tags, "sources").num("data-value"),
        sources.len() as u64
    );
    let rate = by_id(&tags, "pass-rate");
    assert_eq!(rate.num("data-pass"), n(&summary["dmarc_pass"]));
    assert_eq!(rate.num("data-messages"), n(&summary["messages"]));
    let days: Vec<(String, u64, u64)> = tags
        .iter()
        .filter(|t| t.name == "g" && t.has_class("day"))
        .map(|t| {
            (
                t.attr("data-date").to_owned(),
                t.num("data-messages"),
                t.num("data-pass"),
            )
        })
        .collect();
    let expected_days: Vec<(String, u64, u64)> = summary["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let date = d["date"].as_str().unwrap().to_owned();
            (date, n(&d["messages"]), n(&d["dmarc_pass"]))
        })
        .collect();
    assert!(!expected_days.is_empty());
    assert_eq!(days, expected_days);
    let receivers: Vec<(String, u64, Option<u64>)> = summary["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let org = r["org_name"].as_str().unwrap().to_owned();
            (org, n(&r["messages"]), Some(n(&r["dmarc_pass"])))
        })
        .collect();
    assert_eq!(bars(&dom, "chart-receivers"), receivers);
    let sessions = &by_id(&tags, "tls-sessions").attrs;
    assert_eq!(
        sessions["data-successful"],
        summary["tls"]["successful_sessions"].to_string()
    );
    assert_eq!(
        sessions["data-failed"],
        summary["tls"]["failed_sessions"].to_string()
    );
    assert_eq!(
        by_id(&tags, "tls-reports").num("data-value"),
        n(&summary["tls"]["reports"])
    );
    let shot = dir.path().join("report.png");
    chromium::screenshot(&page, &shot, 2400).expect("chromium ran above");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 40_000,
        "a drawn page, not a blank one"
    );
}
