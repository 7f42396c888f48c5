//! The self-contained HTML report: one HTML5 document that a mail administrator opens from disk,
//! with every style and script inline and every chart an inline SVG drawn here (no chart library,
//! no web font, no external asset). It reads only [`Summary`].
//!
//! Everything a report said (organisation names, PTR names, domains, reasons, fixes) is
//! attacker-controlled and goes through [`escape`] before it reaches the page. As a second wall,
//! a Content-Security-Policy allows only this page's own style and script (by their SHA-256), no
//! image, font or connection at all: text that slipped past escaping could neither run nor fetch.
//!
//! The page is readable without its script: tables arrive sorted by messages, most first. The
//! small script adds click-to-sort on table headers and honours a location hash
//! `#sort=TABLE:COLUMN:asc|desc`. Stable hooks, for tests and for people scripting the page: key
//! numbers carry `id` and `data-value`; charts are `svg#chart-…`, one `g.day` per day
//! (`data-date`, `data-messages`, `data-pass`) or one `g.bar` per bar (`data-label`, `data-value`,
//! and `data-pass` where the bar splits into pass and fail); tables carry `data-key` on headers.

use std::fmt::Write as _;
use std::net::IpAddr;

use base64::Engine as _;

use super::summary::{Day, Fix, PolicyAdvice, Source, Summary};

/// Bars shown before the rest are merged into one "other" bar.
const TOP_N: usize = 10;
/// Width of every chart's view box.
const CHART_WIDTH: f64 = 760.0;

const STYLE: &str = r#"
:root { color-scheme: light; --pass: #2e7d32; --fail: #c62828; --plain: #1565c0; }
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1rem 1.5rem 3rem; color: #1c1c1c; background: #fff; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
.window { color: #555; margin-top: 0; }
.numbers { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.numbers div { border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 0.9rem; min-width: 9rem; }
.numbers dt { color: #555; font-size: 0.85rem; }
.numbers dd { margin: 0; font-size: 1.6rem; font-weight: bold; }
.advice { border-left: 4px solid var(--plain); padding: 0.4rem 0.8rem; background: #f3f7fc; }
.advice.safe { border-color: var(--pass); background: #f1f8f1; }
.dispositions { list-style: none; padding: 0; display: flex; gap: 1rem; flex-wrap: wrap; }
figure { margin: 1rem 0; }
figcaption { font-weight: bold; margin-bottom: 0.3rem; }
svg.chart { width: 100%; max-width: 760px; height: auto; display: block; }
svg.chart text { font-family: "DejaVu Sans", sans-serif; font-size: 12px; fill: #333; }
svg.chart .grid { stroke: #e0e0e0; stroke-width: 1; }
svg.chart .axis { stroke: #999; stroke-width: 1; }
svg.chart .pass, svg.chart .good { fill: var(--pass); }
svg.chart .fail, svg.chart .bad { fill: var(--fail); }
svg.chart .warn { fill: #ef6c00; }
svg.chart .plain { fill: var(--plain); }
svg.chart .other rect { opacity: 0.55; }
.legend { font-size: 0.85rem; color: #555; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; vertical-align: middle; }
.swatch.pass { background: var(--pass); } .swatch.fail { background: var(--fail); }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
tbody th { background: none; font-weight: bold; }
.table-wrap { overflow-x: auto; }
td.fix { min-width: 14rem; }
td.results { white-space: nowrap; }
th button { font: inherit; font-weight: bold; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort="ascending"] button::after { content: " \25B2"; }
th[aria-sort="descending"] button::after { content: " \25BC"; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; background: #f3f3f3; padding: 0 0.2em; }
.empty { color: #555; font-style: italic; }
.small { font-size: 0.8rem; color: #555; }
"#;

const SCRIPT: &str = r##"
(function () {
  "use strict";
  function sortKey(cell) {
    var key = cell.getAttribute("data-sort");
    return key === null ? cell.textContent.trim().toLowerCase() : key;
  }
  function isNumeric(th) { return th.getAttribute("data-type") === "number"; }
  function sortTable(table, index, dir) {
    var head = table.tHead.rows[0].cells;
    var numeric = isNumeric(head[index]);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[index]), y = sortKey(b.cells[index]);
      var c = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : (x < y ? -1 : (x > y ? 1 : 0));
      return dir === "asc" ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < head.length; i++) {
      if (i === index) { head[i].setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending"); }
      else { head[i].removeAttribute("aria-sort"); }
    }
    table.setAttribute("data-sorted", head[index].getAttribute("data-key") + ":" + dir);
  }
  function columnIndex(table, key) {
    var head = table.tHead.rows[0].cells;
    for (var i = 0; i < head.length; i++) { if (head[i].getAttribute("data-key") === key) { return i; } }
    return -1;
  }
  function sortFromHash() {
    var m = /^#sort=([A-Za-z0-9_-]+):([A-Za-z0-9_-]+):(asc|desc)$/.exec(window.location.hash);
    if (!m) { return; }
    var table = document.getElementById(m[1]);
    if (!table || !table.classList.contains("sortable")) { return; }
    var index = columnIndex(table, m[2]);
    if (index >= 0) { sortTable(table, index, m[3]); }
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        var dir = now === "descending" ? "asc" : (now === "ascending" ? "desc" : (isNumeric(th) ? "desc" : "asc"));
        sortTable(table, index, dir);
        try { history.replaceState(null, "", "#sort=" + table.id + ":" + th.getAttribute("data-key") + ":" + dir); } catch (e) { /* file: URLs may refuse */ }
      });
    });
  });
  document.documentElement.setAttribute("data-script", "ran");
  sortFromHash();
  window.addEventListener("hashchange", sortFromHash);
})();
"##;

/// The whole page for `summary`: an HTML5 document with nothing to fetch.
pub fn render(summary: &Summary) -> String {
    let title = page_title(summary);
    let body = if summary.reports == 0 && summary.tls.reports == 0 {
        empty_body(summary)
    } else {
        full_body(summary)
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"mailauth\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        csp = content_security_policy(),
        title = escape(&title),
    )
}

/// Only this page's own style and script, by hash; nothing else may load or connect.
fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src 'none'; font-src 'none'; \
         connect-src 'none'; base-uri 'none'; form-action 'none'",
        sha256_source(STYLE),
        sha256_source(SCRIPT)
    )
}

fn sha256_source(text: &str) -> String {
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(hash.as_ref())
    )
}

/// Text made safe for HTML element content and quoted attribute values (also inside inline
/// SVG): the five markup characters become references, and control characters other than tab
/// and newline, which HTML does not allow, become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn page_title(summary: &Summary) -> String {
    format!(
        "DMARC and TLS reports: {}, {}",
        domain_words(summary),
        window_words(summary)
    )
}

fn domain_words(summary: &Summary) -> String {
    summary
        .domain
        .clone()
        .unwrap_or_else(|| "all domains".to_owned())
}

fn window_words(summary: &Summary) -> String {
    match summary.since {
        Some(since) => format!("{} to {}", date_time(since), date_time(summary.until)),
        None => format!("everything stored up to {}", date_time(summary.until)),
    }
}

fn date_time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn header(summary: &Summary) -> String {
    format!(
        "<header>\n<h1>DMARC and TLS reports for {}</h1>\n<p class=\"window\">{}. Made by mailauth.</p>\n</header>\n",
        escape(&domain_words(summary)),
        escape(&upper_first(&window_words(summary)))
    )
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

fn empty_body(summary: &Summary) -> String {
    format!(
        "{}<main>\n<section id=\"no-reports\" aria-labelledby=\"h-no-reports\">\n\
         <h2 id=\"h-no-reports\">No reports yet</h2>\n\
         <p>No DMARC aggregate report and no SMTP TLS report is stored for {} in this window, so \
         there is nothing to chart.</p>\n\
         <p>Receivers send aggregate reports to the <code>rua=</code> addresses of the domain's \
         DMARC record and TLS reports to its <code>_smtp._tls</code> record's. Store them with \
         <code>mailauth reports ingest PATH...</code> (files, directories, mbox files, Maildirs), \
         then write this page again with <code>mailauth reports html OUT.html</code>.</p>\n\
         </section>\n</main>\n",
        header(summary),
        escape(&domain_words(summary))
    )
}

fn full_body(summary: &Summary) -> String {
    let mut body = header(summary);
    body.push_str("<main>\n");
    body.push_str(&overview(summary));
    if summary.reports == 0 {
        body.push_str(
            "<section aria-labelledby=\"h-dmarc\"><h2 id=\"h-dmarc\">DMARC</h2>\n\
             <p id=\"no-aggregate-reports\" class=\"empty\">No DMARC aggregate report is stored \
             for this window.</p></section>\n",
        );
    } else {
        body.push_str(&dmarc_sections(summary));
    }
    body.push_str(&tls_section(summary));
    body.push_str("</main>\n");
    body
}

// ---------------------------------------------------------------------------------------------
// Overview: the headline numbers and the policy advice.

fn overview(summary: &Summary) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"h-overview\">\n<h2 id=\"h-overview\">Overview</h2>\n<dl class=\"numbers\">\n",
    );
    out.push_str(&number("messages", "Messages", summary.messages));
    out.push_str(&pass_rate_number(summary));
    out.push_str(&number("reports", "Aggregate reports", summary.reports));
    out.push_str(&number(
        "sources",
        "Sending sources",
        summary.sources.len() as u64,
    ));
    out.push_str(&number("tls-reports", "TLS reports", summary.tls.reports));
    out.push_str(&number(
        "tls-failed-sessions",
        "Failed TLS sessions",
        summary.tls.failed_sessions,
    ));
    out.push_str("</dl>\n");
    if summary.reports > 0 {
        out.push_str(&dispositions(summary));
        out.push_str(&policy_advice(&summary.policy, summary.messages));
    }
    out.push_str("</section>\n");
    out
}

fn number(id: &str, label: &str, value: u64) -> String {
    format!(
        "<div><dt>{label}</dt><dd id=\"{id}\" data-value=\"{value}\">{}</dd></div>\n",
        count(value)
    )
}

fn pass_rate_number(summary: &Summary) -> String {
    let rate = pass_rate(summary.dmarc_pass, summary.messages);
    format!(
        "<div><dt>DMARC pass rate</dt><dd id=\"pass-rate\" data-value=\"{}\" data-pass=\"{}\" \
         data-messages=\"{}\">{}</dd></div>\n",
        rate.map(|r| format!("{r:.1}")).unwrap_or_default(),
        summary.dmarc_pass,
        summary.messages,
        percent(rate)
    )
}

fn dispositions(summary: &Summary) -> String {
    let mut out = String::from(
        "<p class=\"small\" id=\"dispositions-label\">Disposition receivers applied:</p>\n\
         <ul class=\"dispositions\" id=\"dispositions\" aria-labelledby=\"dispositions-label\">\n",
    );
    for (word, messages) in &summary.dispositions {
        let _ = writeln!(
            out,
            "<li data-disposition=\"{w}\" data-value=\"{messages}\">{w}: {}</li>",
            count(*messages),
            w = escape(word)
        );
    }
    out.push_str("</ul>\n");
    out
}

fn policy_advice(policy: &PolicyAdvice, messages: u64) -> String {
    let mut out = format!(
        "<div class=\"advice{}\">\n<p id=\"policy-advice\" data-current=\"{}\" data-next=\"{}\" \
         data-affected=\"{}\" data-safe=\"{}\">{}</p>\n",
        if policy.safe { " safe" } else { "" },
        escape(policy.current.as_deref().unwrap_or("")),
        escape(policy.next.as_deref().unwrap_or("")),
        policy.affected,
        policy.safe,
        escape(&policy_sentence(policy, messages))
    );
    if let Some(suggestion) = policy.suggestion.as_deref().filter(|_| policy.safe) {
        let _ = writeln!(
            out,
            "<p>In <code>mailauth.toml</code>:</p>\n<pre id=\"policy-suggestion\"><code>{}</code></pre>",
            escape(suggestion)
        );
    }
    out.push_str("</div>\n");
    out
}

/// The policy advice as one plain sentence (escaped by the caller).
pub fn policy_sentence(policy: &PolicyAdvice, messages: u64) -> String {
    let (Some(current), Some(next)) = (&policy.current, &policy.next) else {
        return match &policy.current {
            Some(current) => {
                format!("The published policy is p={current}: there is no stricter step.")
            }
            None => "The reports do not say which DMARC policy is published.".to_owned(),
        };
    };
    let verb = if next == "reject" {
        "rejected"
    } else {
        "quarantined"
    };
    let share = if policy.affected_share.is_finite() {
        policy.affected_share * 100.0
    } else {
        0.0
    };
    let mut sentence = format!(
        "Moving from p={current} to p={next}: {} of {} messages ({share:.1}%) in this window would have been {verb}.",
        count(policy.affected),
        count(messages),
    );
    if policy.safe {
        let _ = write!(
            sentence,
            " The last {} days were clean ({} needed): the step is safe now.",
            policy.clean_days, policy.required_clean_days
        );
    } else {
        let _ = write!(
            sentence,
            " Not yet: {} of the {} clean days needed so far.",
            policy.clean_days, policy.required_clean_days
        );
    }
    sentence
}

// ---------------------------------------------------------------------------------------------
// DMARC sections.

fn dmarc_sections(summary: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&section(
        "pass-rate-per-day",
        "DMARC pass rate per day",
        &figure(&pass_rate_chart(&summary.days), &legend_pass_rate()),
    ));
    let sources = sources_by_messages(&summary.sources);
    let mut by_source = figure(&source_chart(&sources), &legend_pass_fail());
    by_source.push_str(&sources_table(&sources));
    by_source.push_str(&groups_table(summary));
    out.push_str(&section("volume-by-source", "Volume by source", &by_source));
    out.push_str(&section(
        "failures-by-reason",
        "DMARC failures by reason",
        &figure(&failure_chart(summary), ""),
    ));
    let mut receivers = figure(&receiver_chart(summary), &legend_pass_fail());
    receivers.push_str(&receivers_table(summary));
    out.push_str(&section("per-receiver", "Per receiver", &receivers));
    out
}

fn section(id: &str, heading: &str, content: &str) -> String {
    format!(
        "<section id=\"{id}\" aria-labelledby=\"h-{id}\">\n<h2 id=\"h-{id}\">{heading}</h2>\n{content}</section>\n"
    )
}

fn figure(svg: &str, legend: &str) -> String {
    format!("<figure>\n{svg}{legend}</figure>\n")
}

fn legend_pass_fail() -> String {
    "<p class=\"legend\"><span class=\"swatch pass\"></span> passed DMARC &#160; \
     <span class=\"swatch fail\"></span> failed DMARC</p>\n"
        .to_owned()
}

fn legend_pass_rate() -> String {
    "<p class=\"legend\">Share of each day's messages that passed DMARC (aligned SPF or aligned \
     DKIM). Days are the UTC day each report began.</p>\n"
        .to_owned()
}

/// Sources most messages first, then by address, whatever order the summary had.
fn sources_by_messages(sources: &[Source]) -> Vec<&Source> {
    let mut sorted: Vec<&Source> = sources.iter().collect();
    sorted.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.ip.cmp(&b.ip)));
    sorted
}

// ---------------------------------------------------------------------------------------------
// Charts.

fn svg_open(id: &str, height: f64, title: &str, description: &str) -> String {
    format!(
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {CHART_WIDTH} {height:.0}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\">\n<title id=\"{id}-title\">{}</title>\n\
         <desc id=\"{id}-desc\">{}</desc>\n",
        escape(title),
        escape(description)
    )
}

fn pass_rate_chart(days: &[Day]) -> String {
    const LEFT: f64 = 48.0;
    const TOP: f64 = 12.0;
    const PLOT_HEIGHT: f64 = 200.0;
    let plot_width = CHART_WIDTH - LEFT - 12.0;
    let mut svg = svg_open(
        "chart-pass-rate",
        TOP + PLOT_HEIGHT + 36.0,
        "DMARC pass rate per day",
        &format!(
            "{} days; bar height is the share of messages that passed DMARC.",
            days.len()
        ),
    );
    for percent in [0, 25, 50, 75, 100] {
        let y = TOP + PLOT_HEIGHT * (1.0 - f64::from(percent) / 100.0);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{percent}%</text>",
            LEFT + plot_width,
            LEFT - 6.0,
            y + 4.0
        );
    }
    if days.is_empty() {
        svg.push_str(
            "<text x=\"380\" y=\"110\" text-anchor=\"middle\">No days in this window</text>\n",
        );
    }
    let slot = plot_width / days.len().max(1) as f64;
    let label_every = days.len().div_ceil(8).max(1);
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        svg.push_str(&day_bar(day, x, slot, TOP, PLOT_HEIGHT));
        if i % label_every == 0 || i + 1 == days.len() {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                TOP + PLOT_HEIGHT + 18.0,
                escape(day.date.get(5..).unwrap_or(&day.date))
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn day_bar(day: &Day, x: f64, slot: f64, top: f64, plot_height: f64) -> String {
    let rate = pass_rate(day.dmarc_pass, day.messages);
    let mut out = format!(
        "<g class=\"day\" data-date=\"{}\" data-messages=\"{}\" data-pass=\"{}\" data-rate=\"{}\">\
         <title>{}: {} of {} messages passed DMARC ({})</title>",
        escape(&day.date),
        day.messages,
        day.dmarc_pass,
        rate.map(|r| format!("{r:.1}")).unwrap_or_default(),
        escape(&day.date),
        count(day.dmarc_pass),
        count(day.messages),
        percent(rate)
    );
    if let Some(rate) = rate {
        let height = (plot_height * rate / 100.0).max(1.0);
        let width = (slot * 0.7).max(1.0);
        let _ = write!(
            out,
            "<rect class=\"{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{height:.1}\"/>",
            rate_class(rate),
            x + (slot - width) / 2.0,
            top + plot_height - height
        );
    }
    out.push_str("</g>\n");
    out
}

fn rate_class(rate: f64) -> &'static str {
    if rate >= 99.0 {
        "good"
    } else if rate >= 90.0 {
        "warn"
    } else {
        "bad"
    }
}

/// One horizontal bar: `value` long, split into pass and fail when `pass` is known.
struct Bar {
    label: String,
    value: u64,
    pass: Option<u64>,
    /// Rows merged into this bar (the "other" bar), 0 for a real row.
    merged: usize,
}

fn source_chart(sources: &[&Source]) -> String {
    let bars = sources
        .iter()
        .map(|s| Bar {
            label: source_label(s),
            value: s.messages,
            pass: Some(s.dmarc_pass),
            merged: 0,
        })
        .collect();
    bar_chart(
        "chart-sources",
        "Messages by source",
        "sources",
        top_with_other(bars, "sources"),
    )
}

fn source_label(source: &Source) -> String {
    match &source.ptr {
        Some(ptr) => format!("{} ({ptr})", source.ip),
        None => source.ip.to_string(),
    }
}

fn failure_chart(summary: &Summary) -> String {
    let mut bars: Vec<Bar> = summary
        .failures
        .iter()
        .map(|f| Bar {
            label: f.reason.clone(),
            value: f.messages,
            pass: None,
            merged: 0,
        })
        .collect();
    bars.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    bar_chart(
        "chart-failures",
        "Messages that failed DMARC, by reason",
        "reasons",
        top_with_other(bars, "reasons"),
    )
}

fn receiver_chart(summary: &Summary) -> String {
    let mut bars: Vec<Bar> = summary
        .receivers
        .iter()
        .map(|r| Bar {
            label: r.org_name.clone(),
            value: r.messages,
            pass: Some(r.dmarc_pass),
            merged: 0,
        })
        .collect();
    bars.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    bar_chart(
        "chart-receivers",
        "Messages per receiver",
        "receivers",
        top_with_other(bars, "receivers"),
    )
}

fn tls_failure_chart(summary: &Summary) -> String {
    let mut bars: Vec<Bar> = summary
        .tls
        .failure_types
        .iter()
        .map(|f| Bar {
            label: f.result_type.clone(),
            value: f.sessions,
            pass: None,
            merged: 0,
        })
        .collect();
    bars.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    bar_chart(
        "chart-tls-failures",
        "Failed TLS sessions by result type",
        "result types",
        top_with_other(bars, "result types"),
    )
}

/// The first [`TOP_N`] bars and one "other" bar for the rest (when the rest is more than one).
fn top_with_other(mut bars: Vec<Bar>, what: &str) -> Vec<Bar> {
    if bars.len() <= TOP_N + 1 {
        return bars;
    }
    let rest = bars.split_off(TOP_N);
    let pass = rest
        .iter()
        .map(|b| b.pass)
        .try_fold(0u64, |sum, p| p.map(|p| sum.saturating_add(p)));
    bars.push(Bar {
        label: format!("other ({} {what})", rest.len()),
        value: rest.iter().fold(0u64, |sum, b| sum.saturating_add(b.value)),
        pass,
        merged: rest.len(),
    });
    bars
}

fn bar_chart(id: &str, title: &str, what: &str, bars: Vec<Bar>) -> String {
    const ROW: f64 = 26.0;
    const LABEL_WIDTH: f64 = 250.0;
    let plot_width = CHART_WIDTH - LABEL_WIDTH - 90.0;
    let height = 16.0 + ROW * bars.len().max(1) as f64;
    let mut svg = svg_open(id, height, title, &format!("{} {what}", bars.len()));
    if bars.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"{LABEL_WIDTH}\" y=\"26\">None in this window</text>"
        );
    }
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64;
    for (i, bar) in bars.iter().enumerate() {
        let y = 8.0 + ROW * i as f64;
        svg.push_str(&bar_row(
            bar,
            y,
            LABEL_WIDTH,
            plot_width * bar.value as f64 / max,
        ));
    }
    let _ = writeln!(
        svg,
        "<line class=\"axis\" x1=\"{LABEL_WIDTH}\" y1=\"4\" x2=\"{LABEL_WIDTH}\" y2=\"{:.1}\"/>",
        height - 4.0
    );
    svg.push_str("</svg>\n");
    svg
}

fn bar_row(bar: &Bar, y: f64, x: f64, width: f64) -> String {
    let label = escape(&bar.label);
    let mut out = format!(
        "<g class=\"bar{}\" data-label=\"{label}\" data-value=\"{}\"",
        if bar.merged > 0 { " other" } else { "" },
        bar.value
    );
    if let Some(pass) = bar.pass {
        let _ = write!(out, " data-pass=\"{pass}\"");
    }
    if bar.merged > 0 {
        let _ = write!(out, " data-merged=\"{}\"", bar.merged);
    }
    let _ = write!(out, "><title>{label}: {}</title>", bar_words(bar));
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        x - 8.0,
        y + 14.0,
        escape(&shorten(&bar.label, 34))
    );
    out.push_str(&bar_rects(bar, x, y, width));
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
        x + width + 6.0,
        y + 14.0,
        count(bar.value)
    );
    out
}

fn bar_words(bar: &Bar) -> String {
    match bar.pass {
        Some(pass) => format!(
            "{} messages, {} passed DMARC ({})",
            count(bar.value),
            count(pass),
            percent(pass_rate(pass, bar.value))
        ),
        None => count(bar.value),
    }
}

fn bar_rects(bar: &Bar, x: f64, y: f64, width: f64) -> String {
    let Some(pass) = bar.pass else {
        return format!(
            "<rect class=\"plain\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"18\"/>"
        );
    };
    let share = if bar.value == 0 {
        0.0
    } else {
        pass.min(bar.value) as f64 / bar.value as f64
    };
    let pass_width = width * share;
    format!(
        "<rect class=\"pass\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{pass_width:.1}\" height=\"18\"/>\
         <rect class=\"fail\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"18\"/>",
        x + pass_width,
        width - pass_width
    )
}

/// At most `max` characters, with an ellipsis when cut (the full text is in the bar's title).
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('\u{2026}');
    short
}

// ---------------------------------------------------------------------------------------------
// Tables.

/// One column: its stable key, its heading, and whether it sorts as a number.
struct Column {
    key: &'static str,
    heading: &'static str,
    numeric: bool,
}

const fn text_column(key: &'static str, heading: &'static str) -> Column {
    Column {
        key,
        heading,
        numeric: false,
    }
}

const fn number_column(key: &'static str, heading: &'static str) -> Column {
    Column {
        key,
        heading,
        numeric: true,
    }
}

/// One cell: its HTML (already escaped) and, when the text does not sort right, a sort key.
struct Cell {
    html: String,
    sort: Option<String>,
}

fn text_cell(text: &str) -> Cell {
    Cell {
        html: escape(text),
        sort: None,
    }
}

fn count_cell(value: u64) -> Cell {
    Cell {
        html: count(value),
        sort: Some(value.to_string()),
    }
}

fn rate_cell(pass: u64, total: u64) -> Cell {
    let rate = pass_rate(pass, total);
    Cell {
        html: percent(rate),
        sort: Some(
            rate.map(|r| format!("{r:.3}"))
                .unwrap_or_else(|| "-1".to_owned()),
        ),
    }
}

/// A table sorted by `sorted_by` (descending), which the script makes sortable by any column.
fn table(
    id: &str,
    caption: &str,
    columns: &[Column],
    sorted_by: &str,
    rows: Vec<Vec<Cell>>,
) -> String {
    let mut out = format!(
        "<div class=\"table-wrap\">\n<table id=\"{id}\" class=\"sortable\" data-sorted=\"{sorted_by}:desc\">\n<caption>{caption}</caption>\n<thead><tr>"
    );
    for column in columns {
        let _ = write!(
            out,
            "<th scope=\"col\" data-key=\"{}\"{}{}>{}</th>",
            column.key,
            if column.numeric {
                " data-type=\"number\" class=\"num\""
            } else {
                ""
            },
            if column.key == sorted_by {
                " aria-sort=\"descending\""
            } else {
                ""
            },
            column.heading
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str(&table_row(columns, row));
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    out
}

fn table_row(columns: &[Column], row: Vec<Cell>) -> String {
    let mut out = String::from("<tr>");
    for (i, (column, cell)) in columns.iter().zip(row).enumerate() {
        let (open, close) = if i == 0 {
            ("th scope=\"row\"", "th")
        } else {
            ("td", "td")
        };
        let class = if column.numeric { "num" } else { column.key };
        let sort = cell
            .sort
            .map(|key| format!(" data-sort=\"{}\"", escape(&key)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<{open} class=\"{class}\"{sort}>{}</{close}>",
            cell.html
        );
    }
    out.push_str("</tr>\n");
    out
}

fn sources_table(sources: &[&Source]) -> String {
    const COLUMNS: [Column; 10] = [
        text_column("ip", "Source IP"),
        text_column("ptr", "PTR name"),
        text_column("group", "Group"),
        number_column("messages", "Messages"),
        number_column("dmarc_pass", "DMARC pass"),
        number_column("pass_rate", "Pass rate"),
        number_column("spf_aligned", "SPF aligned"),
        number_column("dkim_aligned", "DKIM aligned"),
        text_column("fix", "Fix"),
        text_column("results", "Results"),
    ];
    let rows = sources.iter().map(|s| source_row(s)).collect();
    table(
        "table-sources",
        "Sending sources",
        &COLUMNS,
        "messages",
        rows,
    )
}

fn source_row(source: &Source) -> Vec<Cell> {
    vec![
        Cell {
            html: escape(&source.ip.to_string()),
            sort: Some(ip_sort_key(source.ip)),
        },
        text_cell(source.ptr.as_deref().unwrap_or("")),
        text_cell(&source.group),
        count_cell(source.messages),
        count_cell(source.dmarc_pass),
        rate_cell(source.dmarc_pass, source.messages),
        count_cell(source.spf_aligned_pass),
        count_cell(source.dkim_aligned_pass),
        fix_cell(source.fix.as_ref()),
        results_cell(source),
    ]
}

/// IPv4 before IPv6, each in numeric order, as a string that sorts right.
fn ip_sort_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("4-{:010}", u32::from(v4)),
        IpAddr::V6(v6) => format!("6-{:039}", u128::from(v6)),
    }
}

fn results_cell(source: &Source) -> Cell {
    let mut lines = Vec::new();
    if !source.header_from.is_empty() {
        lines.push(format!("from: {}", escape(&source.header_from.join(", "))));
    }
    if !source.dkim.is_empty() {
        lines.push(format!("dkim: {}", escape(&source.dkim.join(", "))));
    }
    if !source.spf.is_empty() {
        lines.push(format!("spf: {}", escape(&source.spf.join(", "))));
    }
    let disposition: Vec<String> = source
        .dispositions
        .iter()
        .map(|(word, n)| format!("{} {}", escape(word), count(*n)))
        .collect();
    if !disposition.is_empty() {
        lines.push(format!("disposition: {}", disposition.join(", ")));
    }
    Cell {
        html: format!("<span class=\"small\">{}</span>", lines.join("<br>")),
        sort: None,
    }
}

/// The fix sentence, its back-quoted parts shown as code; every part escaped.
fn fix_cell(fix: Option<&Fix>) -> Cell {
    let Some(fix) = fix else {
        return Cell {
            html: String::new(),
            sort: Some(String::new()),
        };
    };
    let mut html = String::new();
    for (i, part) in fix.message.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(html, "<code>{}</code>", escape(part));
        } else {
            html.push_str(&escape(part));
        }
    }
    Cell {
        html: format!("<span data-fix=\"{}\">{html}</span>", escape(&fix.kind)),
        sort: Some(format!("{} {}", fix.kind, fix.message)),
    }
}

fn groups_table(summary: &Summary) -> String {
    const COLUMNS: [Column; 5] = [
        text_column("group", "Group"),
        number_column("sources", "Sources"),
        number_column("messages", "Messages"),
        number_column("dmarc_pass", "DMARC pass"),
        number_column("pass_rate", "Pass rate"),
    ];
    let mut groups: Vec<_> = summary.groups.iter().collect();
    groups.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.name.cmp(&b.name)));
    let rows = groups
        .iter()
        .map(|g| {
            vec![
                text_cell(&g.name),
                count_cell(g.sources),
                count_cell(g.messages),
                count_cell(g.dmarc_pass),
                rate_cell(g.dmarc_pass, g.messages),
            ]
        })
        .collect();
    table(
        "table-groups",
        "Source groups (by the SPF include that covers them)",
        &COLUMNS,
        "messages",
        rows,
    )
}

fn receivers_table(summary: &Summary) -> String {
    const COLUMNS: [Column; 5] = [
        text_column("org_name", "Receiver"),
        number_column("reports", "Reports"),
        number_column("messages", "Messages"),
        number_column("dmarc_pass", "DMARC pass"),
        number_column("pass_rate", "Pass rate"),
    ];
    let mut receivers: Vec<_> = summary.receivers.iter().collect();
    receivers.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(a.org_name.cmp(&b.org_name))
    });
    let rows = receivers
        .iter()
        .map(|r| {
            vec![
                text_cell(&r.org_name),
                count_cell(r.reports),
                count_cell(r.messages),
                count_cell(r.dmarc_pass),
                rate_cell(r.dmarc_pass, r.messages),
            ]
        })
        .collect();
    table(
        "table-receivers",
        "Receivers that sent reports",
        &COLUMNS,
        "messages",
        rows,
    )
}

// ---------------------------------------------------------------------------------------------
// SMTP TLS reports.

fn tls_section(summary: &Summary) -> String {
    if summary.tls.reports == 0 {
        return section(
            "tls",
            "SMTP TLS reports (RFC 8460)",
            "<p id=\"no-tls-reports\" class=\"empty\">No SMTP TLS report is stored for this window.</p>\n",
        );
    }
    let tls = &summary.tls;
    let mut content = format!(
        "<p id=\"tls-sessions\" data-successful=\"{}\" data-failed=\"{}\">{} successful and {} \
         failed TLS sessions in {} reports.</p>\n",
        tls.successful_sessions,
        tls.failed_sessions,
        count(tls.successful_sessions),
        count(tls.failed_sessions),
        count(tls.reports)
    );
    content.push_str(&figure(&tls_failure_chart(summary), ""));
    content.push_str(&tls_policies_table(summary));
    section("tls", "SMTP TLS reports (RFC 8460)", &content)
}

fn tls_policies_table(summary: &Summary) -> String {
    const COLUMNS: [Column; 5] = [
        text_column("policy_domain", "Policy domain"),
        text_column("policy_type", "Policy type"),
        number_column("sessions", "Sessions"),
        number_column("successful", "Successful"),
        number_column("failed", "Failed"),
    ];
    let mut policies: Vec<_> = summary.tls.policies.iter().collect();
    let sessions = |p: &&super::summary::TlsPolicySummary| {
        p.successful_sessions.saturating_add(p.failed_sessions)
    };
    policies.sort_by(|a, b| {
        sessions(b)
            .cmp(&sessions(a))
            .then(a.policy_domain.cmp(&b.policy_domain))
            .then(a.policy_type.cmp(&b.policy_type))
    });
    let rows = policies
        .iter()
        .map(|p| {
            vec![
                text_cell(&p.policy_domain),
                text_cell(&p.policy_type),
                count_cell(sessions(p)),
                count_cell(p.successful_sessions),
                count_cell(p.failed_sessions),
            ]
        })
        .collect();
    table(
        "table-tls-policies",
        "TLS policies",
        &COLUMNS,
        "sessions",
        rows,
    )
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/// `pass` as a percentage of `total`; `None` when there is nothing to divide by.
fn pass_rate(pass: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| 100.0 * pass.min(total) as f64 / total as f64)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "\u{2014}".to_owned(), |r| format!("{r:.1}%"))
}

/// A count with thousands separators: `12,345`.
fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_turns_markup_into_text() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\u{0}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\u{FFFD}"
        );
    }

    #[test]
    fn count_groups_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn ip_sort_key_orders_numerically() {
        let a = ip_sort_key("9.0.0.1".parse().unwrap());
        let b = ip_sort_key("10.0.0.1".parse().unwrap());
        let c = ip_sort_key("::1".parse().unwrap());
        assert!(a < b && b < c);
    }

    #[test]
    fn top_with_other_merges_the_rest() {
        let bars: Vec<Bar> = (0..13)
            .map(|i| Bar {
                label: i.to_string(),
                value: 100 - i,
                pass: Some(1),
                merged: 0,
            })
            .collect();
        let top = top_with_other(bars, "sources");
        assert_eq!(top.len(), TOP_N + 1);
        assert_eq!(top[TOP_N].merged, 3);
        assert_eq!(top[TOP_N].value, 90 + 89 + 88);
        assert_eq!(top[TOP_N].pass, Some(3));
    }
}
