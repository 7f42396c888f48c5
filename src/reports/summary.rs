//! The summary of stored reports: per source IP, per day, per receiver, failures by reason, TLS
//! failure types, the record change that fixes each failing source, and the policy advice.
//!
//! [`Summary`] is the one shape every output reads: `reports summary` as text and `--json`, and
//! `reports html`. Its numbers are message counts (each record's `count`), never record counts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

/// Everything `reports summary` says, for one domain or all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The `--domain` filter (the `policy_published` domain or a `header_from` under it), if any.
    pub domain: Option<String>,
    /// Start of the window (`--since`), seconds since the epoch; reports whose range ends before
    /// it are left out.
    pub since: Option<i64>,
    /// The time the summary was made (`now`), seconds since the epoch.
    pub until: i64,
    /// Aggregate reports counted.
    pub reports: u64,
    /// Messages in them.
    pub messages: u64,
    /// Messages that passed DMARC (aligned SPF or aligned DKIM).
    pub dmarc_pass: u64,
    /// Messages with aligned SPF pass.
    pub spf_aligned_pass: u64,
    /// Messages with aligned DKIM pass.
    pub dkim_aligned_pass: u64,
    /// Messages by the disposition receivers applied (`none`, `pass`, `quarantine`, `reject`).
    pub dispositions: BTreeMap<String, u64>,
    /// Per UTC day of each report's `begin`, oldest first.
    pub days: Vec<Day>,
    /// Per source IP, most messages first.
    pub sources: Vec<Source>,
    /// Sources grouped by the `include:` of the domain's SPF record that covers them (or by PTR
    /// organisational domain, or "other"), most messages first.
    pub groups: Vec<Group>,
    /// Per reporting organisation, most messages first.
    pub receivers: Vec<Receiver>,
    /// Messages that failed DMARC, by why: most messages first.
    pub failures: Vec<Failure>,
    /// What the next policy step would do, and whether it is safe yet.
    pub policy: PolicyAdvice,
    /// SMTP TLS reports (RFC 8460).
    pub tls: TlsSummary,
}

/// One UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// One sending IP address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub ip: IpAddr,
    /// Its PTR name, when one resolves.
    pub ptr: Option<String>,
    /// The group it belongs to (see [`Summary::groups`]), e.g. `include:_spf.google.com`.
    pub group: String,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub spf_aligned_pass: u64,
    pub dkim_aligned_pass: u64,
    /// Messages by applied disposition.
    pub dispositions: BTreeMap<String, u64>,
    /// The `header_from` domains it sent as.
    pub header_from: Vec<String>,
    /// The `d=` domains it signed with, and the raw DKIM results: `example.com=pass`.
    pub dkim: Vec<String>,
    /// The SPF domains checked, and the raw results: `bounce.example.com=fail`.
    pub spf: Vec<String>,
    /// For a source whose mail fails DMARC: the change that fixes it.
    pub fix: Option<Fix>,
}

/// A source group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub sources: u64,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// One reporting organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receiver {
    pub org_name: String,
    pub reports: u64,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// Why messages failed DMARC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// `spf_and_dkim_unaligned`, `spf_unaligned_dkim_fail`, ... or an override reason the
    /// receiver gave (`forwarded`, `mailing_list`, ...): a stable word.
    pub reason: String,
    pub messages: u64,
}

/// The change that makes a failing source pass, in mailauth's own terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// Stable word: `spf_include`, `spf_align` (use a return-path under the author domain),
    /// `dkim_configure`, `dkim_align`, `forwarder`, `unknown`.
    pub kind: String,
    /// What to do, in a sentence, e.g. "add `include:_spf.example.net` to spf".
    pub message: String,
}

/// The next DMARC policy step and its cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyAdvice {
    /// The policy receivers reported as published (`policy_published/p` of the newest report).
    /// Without a domain filter the whole advice is for that report's policy domain alone.
    pub current: Option<String>,
    /// The next step: `quarantine` after `none`, `reject` after `quarantine`; none at `reject`.
    pub next: Option<String>,
    /// Messages in the window that would be quarantined or rejected under `next` (they failed
    /// DMARC and no override reason applied).
    pub affected: u64,
    /// `affected` as a share of all messages, 0.0..=1.0.
    pub affected_share: f64,
    /// Consecutive days, counted back from the newest, with no DMARC failure other than
    /// forwarding.
    pub clean_days: u32,
    /// Days needed before the step is advised.
    pub required_clean_days: u32,
    /// Whether the step is advised now.
    pub safe: bool,
    /// The `mailauth.toml` change, when safe, e.g. `[domains."example.com".dmarc] policy = "quarantine"`.
    pub suggestion: Option<String>,
}

/// SMTP TLS reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsSummary {
    pub reports: u64,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
    /// Failed sessions by `result-type`, most first.
    pub failure_types: Vec<TlsFailureType>,
    /// Per policy (type and domain).
    pub policies: Vec<TlsPolicySummary>,
}

/// Failed TLS sessions of one `result-type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsFailureType {
    pub result_type: String,
    pub sessions: u64,
}

/// One TLS policy's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsPolicySummary {
    pub policy_type: String,
    pub policy_domain: String,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
}

// ---------------------------------------------------------------------------------------------
// Building the summary.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::model::{AggregateReport, Record, TlsReport};
use super::store::Filter;
use crate::dmarc::orgdomain::{organizational_domain, relaxed_match, strict_match};
use crate::dns::{CachingResolver, Resolver};
use crate::spf::eval::{SpfOptions, SpfOutput, SpfQuery, check_host};

/// Consecutive clean days required before a policy step is advised, unless told otherwise.
pub const DEFAULT_CLEAN_DAYS: u32 = 14;

/// Receiver override reasons (RFC 9990 `PolicyOverrideType`, RFC 7489 adds `forwarded`) that
/// mean "this failure was indirect mail the receiver let through": it is not counted against the
/// next policy step.
const FORWARDING_REASONS: &[&str] = &["forwarded", "mailing_list", "trusted_forwarder"];
/// Overrides under which a failing message is spared whatever the policy says.
const SPARING_REASONS: &[&str] = &[
    "forwarded",
    "mailing_list",
    "trusted_forwarder",
    "local_policy",
];

/// What mailauth.toml says about the domain, when a configuration is present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownDomain {
    /// DKIM selectors configured for the domain.
    pub selectors: Vec<String>,
    /// `include:` targets of the configured SPF policy.
    pub spf_includes: Vec<String>,
    /// The configured DMARC policy (`none`, `quarantine`, `reject`).
    pub policy: Option<String>,
}

/// What [`summarize`] needs besides the reports.
#[derive(Debug, Clone)]
pub struct SummaryContext {
    /// For PTR names and the SPF records that group sources and find fixes.
    pub resolver: Arc<dyn Resolver>,
    /// The time the summary is made, seconds since the epoch.
    pub now: i64,
    /// mailauth.toml's view of the domain, if known.
    pub known: Option<KnownDomain>,
    /// Clean days required before the next policy step is advised.
    pub required_clean_days: u32,
}

impl SummaryContext {
    /// A context with no configuration and the default clean-day requirement.
    pub fn new(resolver: Arc<dyn Resolver>, now: i64) -> SummaryContext {
        SummaryContext {
            resolver,
            now,
            known: None,
            required_clean_days: DEFAULT_CLEAN_DAYS,
        }
    }
}

/// Summarise `aggregate` and `tls` reports (already selected by `filter`, e.g. by
/// [`super::store::Store::aggregate`]): totals, days, sources with their groups and fixes,
/// receivers, failures and the policy advice. DNS failures only leave a PTR name or a group out.
/// Runs inside a Tokio runtime: sources are looked up as concurrent tasks.
pub async fn summarize(
    aggregate: &[AggregateReport],
    tls: &[TlsReport],
    filter: &Filter,
    ctx: &SummaryContext,
) -> Summary {
    let resolver = Arc::new(CachingResolver::new(ctx.resolver.clone(), 100_000));
    let mut totals = Totals::default();
    let mut days: BTreeMap<String, DayTally> = BTreeMap::new();
    let mut sources: HashMap<IpAddr, SourceTally> = HashMap::new();
    let mut receivers: BTreeMap<String, Receiver> = BTreeMap::new();
    // Without a domain filter the advice is for the newest report's policy domain alone: one
    // domain's step is never judged by another domain's mail.
    let advice_domain = match &filter.domain {
        Some(_) => None,
        None => aggregate
            .iter()
            .max_by_key(|r| r.begin)
            .map(|r| r.policy.domain.clone()),
    };
    // Per date with reports for the advice: failing messages not explained as forwarding.
    let mut advice_days: BTreeMap<String, u64> = BTreeMap::new();
    let mut advice_messages = 0;
    for report in aggregate {
        let date = utc_date(report.begin);
        let in_advice = advice_domain
            .as_ref()
            .is_none_or(|d| *d == report.policy.domain);
        if in_advice {
            advice_days.entry(date.clone()).or_default();
        }
        let receiver = receivers
            .entry(report.org_name.clone())
            .or_insert_with(|| Receiver {
                org_name: report.org_name.clone(),
                reports: 0,
                messages: 0,
                dmarc_pass: 0,
            });
        receiver.reports += 1;
        for record in &report.records {
            let pass = record.dmarc_pass();
            totals.add(record);
            receiver.messages += record.count;
            receiver.dmarc_pass += if pass { record.count } else { 0 };
            let day = days.entry(date.clone()).or_default();
            day.messages += record.count;
            day.dmarc_pass += if pass { record.count } else { 0 };
            if in_advice {
                advice_messages += record.count;
            }
            sources
                .entry(record.source_ip)
                .or_default()
                .add(report, record, &date, in_advice);
        }
    }
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut affected = 0;
    let mut built = Vec::new();
    for (source, fixes, tally) in build_sources(resolver, ctx, sources).await {
        for (shape, fix) in tally.failing.iter().zip(&fixes) {
            *failures.entry(failure_reason(&shape.record)).or_default() += shape.count;
            if !shape.in_advice {
                continue;
            }
            if !has_reason(&shape.record, SPARING_REASONS) {
                affected += shape.count;
            }
            if fix.kind != "forwarder" {
                *advice_days.entry(shape.date.clone()).or_default() += shape.count;
            }
        }
        built.push(source);
    }
    built.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.ip.cmp(&b.ip)));
    let groups = group_sources(&built);
    let policy = policy_advice(
        aggregate,
        filter,
        ctx,
        &advice_days,
        affected,
        advice_messages,
    );
    Summary {
        domain: filter.domain.clone(),
        since: filter.since,
        until: ctx.now,
        reports: aggregate.len() as u64,
        messages: totals.messages,
        dmarc_pass: totals.dmarc_pass,
        spf_aligned_pass: totals.spf_aligned_pass,
        dkim_aligned_pass: totals.dkim_aligned_pass,
        dispositions: totals.dispositions,
        days: days
            .into_iter()
            .map(|(date, d)| Day {
                date,
                messages: d.messages,
                dmarc_pass: d.dmarc_pass,
            })
            .collect(),
        sources: built,
        groups,
        receivers: sorted_desc(receivers.into_values().collect(), |r| r.messages),
        failures: sorted_desc(
            failures
                .into_iter()
                .map(|(reason, messages)| Failure { reason, messages })
                .collect(),
            |f| f.messages,
        ),
        policy,
        tls: summarize_tls(tls),
    }
}

#[derive(Debug, Default)]
struct Totals {
    messages: u64,
    dmarc_pass: u64,
    spf_aligned_pass: u64,
    dkim_aligned_pass: u64,
    dispositions: BTreeMap<String, u64>,
}

impl Totals {
    fn add(&mut self, record: &Record) {
        self.messages += record.count;
        if record.dmarc_pass() {
            self.dmarc_pass += record.count;
        }
        if record.spf_aligned == "pass" {
            self.spf_aligned_pass += record.count;
        }
        if record.dkim_aligned == "pass" {
            self.dkim_aligned_pass += record.count;
        }
        *self
            .dispositions
            .entry(record.disposition.clone())
            .or_default() += record.count;
    }
}

#[derive(Debug, Default)]
struct DayTally {
    messages: u64,
    dmarc_pass: u64,
}

/// One failing record, with the policy it was evaluated under.
#[derive(Debug)]
struct FailingShape {
    record: Record,
    adkim: Option<String>,
    count: u64,
    /// UTC date of the report's begin.
    date: String,
    /// Whether the record counts for the policy advice (its report is for the advice's domain).
    in_advice: bool,
}

#[derive(Debug, Default)]
struct SourceTally {
    totals: Totals,
    header_from: BTreeSet<String>,
    dkim: BTreeSet<String>,
    spf: BTreeSet<String>,
    /// The policy domain with the most messages from this source.
    policy_domains: BTreeMap<String, u64>,
    failing: Vec<FailingShape>,
}

impl SourceTally {
    fn add(&mut self, report: &AggregateReport, record: &Record, date: &str, in_advice: bool) {
        self.totals.add(record);
        self.header_from.insert(record.header_from.clone());
        for d in &record.dkim {
            self.dkim.insert(format!("{}={}", d.domain, d.result));
        }
        for s in &record.spf {
            self.spf.insert(format!("{}={}", s.domain, s.result));
        }
        *self
            .policy_domains
            .entry(report.policy.domain.clone())
            .or_default() += record.count;
        if record.dmarc_pass() {
            return;
        }
        self.failing.push(FailingShape {
            record: record.clone(),
            adkim: report.policy.adkim.clone(),
            count: record.count,
            date: date.to_owned(),
            in_advice,
        });
    }

    fn policy_domain(&self) -> Option<&str> {
        self.policy_domains
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(d, _)| d.as_str())
            .filter(|d| !d.is_empty())
    }
}

fn has_reason(record: &Record, words: &[&str]) -> bool {
    record
        .reasons
        .iter()
        .any(|r| words.contains(&r.kind.as_str()))
}

/// Sources looked up at most this many at a time (PTR, SPF evaluation).
const LOOKUPS_AT_ONCE: usize = 32;

/// Build every source, looking up several at once; the order is fixed later by sorting.
async fn build_sources(
    resolver: Arc<CachingResolver>,
    ctx: &SummaryContext,
    sources: HashMap<IpAddr, SourceTally>,
) -> Vec<(Source, Vec<Fix>, SourceTally)> {
    let ctx = Arc::new(ctx.clone());
    let limit = Arc::new(tokio::sync::Semaphore::new(LOOKUPS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for (ip, tally) in sources {
        let (resolver, ctx, limit) = (resolver.clone(), ctx.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let (source, fixes) = build_source(&resolver, &ctx, ip, &tally).await;
            (source, fixes, tally)
        });
    }
    let mut built = Vec::new();
    while let Some(done) = tasks.join_next().await {
        // A task only fails by panicking, which build_source does not; skip rather than abort.
        if let Ok(done) = done {
            built.push(done);
        }
    }
    built
}

async fn build_source(
    resolver: &CachingResolver,
    ctx: &SummaryContext,
    ip: IpAddr,
    tally: &SourceTally,
) -> (Source, Vec<Fix>) {
    let ptr = resolver
        .ptr(ip)
        .await
        .ok()
        .and_then(|names| names.into_iter().next());
    let spf_term = match tally.policy_domain() {
        Some(domain) => matching_spf_term(resolver, ctx.now, domain, ip).await,
        None => None,
    };
    let group = match (&spf_term, &ptr) {
        (Some(term), _) => term.clone(),
        (None, Some(name)) => organizational_domain(name),
        (None, None) => "other".to_owned(),
    };
    let mut fixes = Vec::with_capacity(tally.failing.len());
    for shape in &tally.failing {
        fixes.push(fix_for(resolver, ctx, ip, shape).await);
    }
    let fix = main_fix(&tally.failing, &fixes);
    let source = Source {
        ip,
        ptr,
        group,
        messages: tally.totals.messages,
        dmarc_pass: tally.totals.dmarc_pass,
        spf_aligned_pass: tally.totals.spf_aligned_pass,
        dkim_aligned_pass: tally.totals.dkim_aligned_pass,
        dispositions: tally.totals.dispositions.clone(),
        header_from: tally.header_from.iter().cloned().collect(),
        dkim: tally.dkim.iter().cloned().collect(),
        spf: tally.spf.iter().cloned().collect(),
        fix,
    };
    (source, fixes)
}

/// The term of `domain`'s SPF record that authorises `ip` (RFC 7208 §4.6.2: the first matching
/// `+` directive), as written: `include:_spf.example.net`, `ip4:192.0.2.0/24`, `mx`. Inside a
/// `redirect=` the redirect target's term is named. `all` and non-pass results give none.
async fn matching_spf_term(
    resolver: &dyn Resolver,
    now: i64,
    domain: &str,
    ip: IpAddr,
) -> Option<String> {
    let output = spf_of(resolver, now, domain, ip).await;
    if output.result != crate::spf::SpfResult::Pass {
        return None;
    }
    // An include's inner match is traced before the include itself: the shallowest match
    // is the term of the domain's own record.
    let step = output
        .trace
        .iter()
        .filter(|s| s.outcome == "match: pass")
        .min_by_key(|s| s.depth)?;
    (step.term != "all" && step.term != "+all")
        .then(|| step.term.trim_start_matches('+').to_owned())
}

/// The fix for a source: each failing record's rule, weighted by its messages; the fix covering
/// most failing messages wins (the first one on a tie).
fn main_fix(failing: &[FailingShape], fixes: &[Fix]) -> Option<Fix> {
    let mut votes: Vec<(&Fix, u64)> = Vec::new();
    for (shape, fix) in failing.iter().zip(fixes) {
        match votes.iter_mut().find(|(f, _)| *f == fix) {
            Some((_, n)) => *n += shape.count,
            None => votes.push((fix, shape.count)),
        }
    }
    let mut best: Option<(&Fix, u64)> = None;
    for (fix, n) in votes {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((fix, n));
        }
    }
    best.map(|(fix, _)| fix.clone())
}

/// Identifier alignment (RFC 9989 §4.4) by `dmarc::orgdomain`'s matches; `mode` is the report's
/// `adkim`/`aspf` word. An empty name never aligns relaxed.
fn aligned(a: &str, b: &str, mode: Option<&str>) -> bool {
    if mode == Some("s") {
        strict_match(a, b)
    } else {
        !a.is_empty() && !b.is_empty() && relaxed_match(a, b)
    }
}

/// check_host for `ip` against `domain`'s own SPF record (RFC 7208 §4), the domain as both the
/// sender's and the HELO name.
async fn spf_of(resolver: &dyn Resolver, now: i64, domain: &str, ip: IpAddr) -> SpfOutput {
    let query = SpfQuery::for_helo(ip, domain);
    check_host(resolver, &query, &SpfOptions::new(now.max(0) as u64)).await
}

/// The rule for one failing record (RFC 9989 §5.1.6: remediate unaligned or unauthenticated
/// mail streams before enforcement). In order:
/// 1. the receiver said the mail was forwarded or came through a list → forwarder (§7.4);
/// 2. forwarder shape: the envelope domain is the author's own but SPF failed at this IP, and a
///    DKIM signature of the author's domain broke or another domain's passed → forwarder (§7.4);
/// 3. the envelope domain Y is not aligned but its SPF passed → custom return-path under the
///    author domain, with Y's include (§4.4.2, §5.1.1);
/// 4. the envelope domain is the author's own and SPF did not pass → add the include that covers
///    this IP, or the address (§5.1.1);
/// 5. a DKIM signature passed with d=Y: relaxed-aligned but `adkim=s` → dkim_align; not aligned
///    → configure DKIM for the author domain at the source (§4.4.1, §5.1.2);
/// 6. otherwise unknown: likely spoofing, which enforcement stops.
async fn fix_for(
    resolver: &CachingResolver,
    ctx: &SummaryContext,
    ip: IpAddr,
    shape: &FailingShape,
) -> Fix {
    let record = &shape.record;
    let author = record.header_from.as_str();
    if has_reason(record, FORWARDING_REASONS) {
        return forwarder_fix("the receivers reported it as forwarded or list mail");
    }
    let envelope = envelope_domain(record);
    let spf_of = |domain: &str| {
        record
            .spf
            .iter()
            .find(|s| s.domain.eq_ignore_ascii_case(domain))
            .map(|s| s.result.as_str())
    };
    let envelope_own = envelope
        .as_deref()
        .is_some_and(|e| aligned(e, author, None));
    let envelope_spf = envelope.as_deref().and_then(spf_of);
    let own_dkim_broken = record
        .dkim
        .iter()
        .any(|d| aligned(&d.domain, author, None) && d.result != "pass");
    let other_dkim_pass = record
        .dkim
        .iter()
        .find(|d| !aligned(&d.domain, author, None) && d.result == "pass");
    if envelope_own
        && matches!(envelope_spf, Some("fail" | "softfail"))
        && (own_dkim_broken || other_dkim_pass.is_some())
    {
        return forwarder_fix(
            "SPF failed at this address for the author's own envelope domain while DKIM shows the message was relayed",
        );
    }
    if let Some(envelope) = envelope.as_deref()
        && !envelope_own
        && envelope_spf == Some("pass")
    {
        let term = matching_spf_term(resolver, ctx.now, envelope, ip)
            .await
            .unwrap_or_else(|| address_term(ip));
        return Fix {
            kind: "spf_align".into(),
            message: format!(
                "the envelope domain {envelope} is not aligned with {author}: use a custom return-path under {author} (e.g. bounce.{author}) whose spf has `{term}` (RFC 9989 §4.4.2, §5.1.1)"
            ),
        };
    }
    if envelope_own
        && envelope_spf != Some("pass")
        && !record.dkim.iter().any(|d| d.result == "pass")
    {
        let term = covering_include(resolver, ctx, ip)
            .await
            .unwrap_or_else(|| address_term(ip));
        return Fix {
            kind: "spf_include".into(),
            message: format!(
                "add `{term}` to spf of {}: it does not cover this source (RFC 9989 §5.1.1)",
                envelope.as_deref().unwrap_or(author)
            ),
        };
    }
    if let Some(d) = record.dkim.iter().find(|d| {
        d.result == "pass"
            && aligned(&d.domain, author, None)
            && !aligned(&d.domain, author, shape.adkim.as_deref())
    }) {
        return Fix {
            kind: "dkim_align".into(),
            message: format!(
                "this source signs with d={} but adkim=s needs d={author}: sign with d={author} or publish adkim=r (RFC 9989 §3.2.10.2, §4.4.1)",
                d.domain
            ),
        };
    }
    if let Some(d) = other_dkim_pass {
        let selectors = match &ctx.known {
            Some(known) if !known.selectors.is_empty() => {
                format!(
                    "; mailauth.toml has selector {} for it",
                    known.selectors.join(", ")
                )
            }
            _ => String::new(),
        };
        return Fix {
            kind: "dkim_configure".into(),
            message: format!(
                "this source signs with d={}: configure DKIM for {author} at the source (publish its selector under {author}){selectors} (RFC 9989 §4.4.1, §5.1.2)",
                d.domain
            ),
        };
    }
    Fix {
        kind: "unknown".into(),
        message: format!(
            "no SPF or DKIM result for any domain passes from this source: if you do not know it, it is spoofing {author}, which enforcement stops (RFC 9989 §5.1.6)"
        ),
    }
}

fn forwarder_fix(why: &str) -> Fix {
    Fix {
        kind: "forwarder".into(),
        message: format!(
            "forwarders: expected, ARC helps ({why}; keep DKIM signing on all mail, RFC 9989 §7.4)"
        ),
    }
}

/// The SPF domain of the envelope: `envelope_from`, else the `mfrom` SPF result's domain.
fn envelope_domain(record: &Record) -> Option<String> {
    record
        .envelope_from
        .as_deref()
        .map(|e| e.rsplit('@').next().unwrap_or(e).to_owned())
        .filter(|e| !e.is_empty())
        .or_else(|| {
            record
                .spf
                .iter()
                .find(|s| s.scope.as_deref() != Some("helo"))
                .map(|s| s.domain.clone())
        })
}

fn address_term(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip4:{v4}"),
        IpAddr::V6(v6) => format!("ip6:{v6}"),
    }
}

/// An `include:` mailauth.toml lists whose SPF record passes `ip` (the configuration has it but
/// the published record does not cover the source).
async fn covering_include(
    resolver: &CachingResolver,
    ctx: &SummaryContext,
    ip: IpAddr,
) -> Option<String> {
    let known = ctx.known.as_ref()?;
    for include in &known.spf_includes {
        let out = spf_of(resolver, ctx.now, include, ip).await;
        if out.result == crate::spf::SpfResult::Pass {
            return Some(format!("include:{include}"));
        }
    }
    None
}

/// The stable word for why a failing record failed: an override reason the receiver gave, or
/// what the SPF and DKIM results say.
pub fn failure_reason(record: &Record) -> String {
    if let Some(reason) = record.reasons.first() {
        return reason.kind.clone();
    }
    let spf_pass = record.spf.iter().any(|s| s.result == "pass");
    let dkim_pass = record.dkim.iter().any(|d| d.result == "pass");
    if spf_pass && dkim_pass {
        return "spf_and_dkim_unaligned".into();
    }
    let spf = if spf_pass {
        "spf_unaligned"
    } else {
        "spf_fail"
    };
    let dkim = if dkim_pass {
        "dkim_unaligned"
    } else if record.dkim.is_empty() {
        "dkim_none"
    } else {
        "dkim_fail"
    };
    format!("{spf}_{dkim}")
}

fn group_sources(sources: &[Source]) -> Vec<Group> {
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for s in sources {
        let g = groups.entry(&s.group).or_insert_with(|| Group {
            name: s.group.clone(),
            sources: 0,
            messages: 0,
            dmarc_pass: 0,
        });
        g.sources += 1;
        g.messages += s.messages;
        g.dmarc_pass += s.dmarc_pass;
    }
    sorted_desc(groups.into_values().collect(), |g| g.messages)
}

/// Sort by `key` descending; the sort is stable, so equal keys keep their (name) order.
fn sorted_desc<T>(mut items: Vec<T>, key: impl Fn(&T) -> u64) -> Vec<T> {
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
    items
}

fn utc_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "invalid-date".into())
}

fn policy_advice(
    aggregate: &[AggregateReport],
    filter: &Filter,
    ctx: &SummaryContext,
    days: &BTreeMap<String, u64>,
    affected: u64,
    messages: u64,
) -> PolicyAdvice {
    let newest = aggregate.iter().max_by_key(|r| r.begin);
    let current = newest
        .and_then(|r| r.policy.p.clone())
        .or_else(|| ctx.known.as_ref().and_then(|k| k.policy.clone()));
    let next = match current.as_deref() {
        Some("none") => Some("quarantine".to_owned()),
        Some("quarantine") => Some("reject".to_owned()),
        _ => None,
    };
    let clean_days = clean_days(days);
    let safe = next.is_some() && clean_days >= ctx.required_clean_days;
    let domain = filter
        .domain
        .clone()
        .or_else(|| newest.map(|r| r.policy.domain.clone()));
    let suggestion = match (&next, &domain, safe) {
        (Some(next), Some(domain), true) => {
            Some(format!("[domains.\"{domain}\".dmarc] policy = \"{next}\""))
        }
        _ => None,
    };
    PolicyAdvice {
        current,
        next,
        affected,
        affected_share: if messages == 0 {
            0.0
        } else {
            affected as f64 / messages as f64
        },
        clean_days,
        required_clean_days: ctx.required_clean_days,
        safe,
        suggestion,
    }
}

/// Calendar days counted back from the newest day with reports, while each day has reports and
/// no failure other than forwarding. A day without reports ends the run: no evidence is not
/// clean.
fn clean_days(days: &BTreeMap<String, u64>) -> u32 {
    let mut count = 0;
    let mut expected: Option<chrono::NaiveDate> = None;
    for (date, failures) in days.iter().rev() {
        let Ok(day) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            break;
        };
        if expected.is_some_and(|e| e != day) {
            break;
        }
        if *failures > 0 {
            break;
        }
        count += 1;
        expected = day.pred_opt();
    }
    count
}

fn summarize_tls(reports: &[TlsReport]) -> TlsSummary {
    let mut summary = TlsSummary {
        reports: reports.len() as u64,
        ..TlsSummary::default()
    };
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut policies: BTreeMap<(String, String), TlsPolicySummary> = BTreeMap::new();
    for report in reports {
        for p in &report.policies {
            summary.successful_sessions += p.successful;
            summary.failed_sessions += p.failed;
            let entry = policies
                .entry((p.policy_type.clone(), p.policy_domain.clone()))
                .or_insert_with(|| TlsPolicySummary {
                    policy_type: p.policy_type.clone(),
                    policy_domain: p.policy_domain.clone(),
                    successful_sessions: 0,
                    failed_sessions: 0,
                });
            entry.successful_sessions += p.successful;
            entry.failed_sessions += p.failed;
            for f in &p.failures {
                *types.entry(f.result_type.clone()).or_default() += f.sessions;
            }
        }
    }
    summary.failure_types = sorted_desc(
        types
            .into_iter()
            .map(|(result_type, sessions)| TlsFailureType {
                result_type,
                sessions,
            })
            .collect(),
        |t| t.sessions,
    );
    summary.policies = policies.into_values().collect();
    summary
}
