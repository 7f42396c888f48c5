//! `mailauth reports ingest|list|summary|html`: read DMARC aggregate and SMTP TLS reports into
//! the report database, list them, summarise them with the fix for each failing source and the
//! policy advice, and write the HTML page. Flags become a `Filter` and a `SummaryContext`; the
//! work is in `mailauth::reports`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use mailauth_base::DomainName;
use serde_json::json;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::Config;
use mailauth::reports::model::{AggregateReport, Limits, Report, TlsReport};
use mailauth::reports::source::{Item, read_sources_parallel};
use mailauth::reports::store::{Filter, Inserted, Store};
use mailauth::reports::summary::{
    DEFAULT_CLEAN_DAYS, KnownDomain, Summary, SummaryContext, summarize,
};

/// The database file name, beside the configuration file.
const DEFAULT_DB: &str = "mailauth-reports.sqlite";
/// Reports written per transaction while ingesting.
const BATCH: usize = 1000;
/// Parsed reports in flight between the reading thread and the store.
const CHANNEL: usize = 256;

/// `mailauth reports ...`.
#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Read aggregate (RFC 9990, RFC 7489) and TLS (RFC 8460) reports into the database.
    Ingest(IngestArgs),
    /// List the stored reports, oldest first.
    List(QueryArgs),
    /// Per source: volumes, results, the fix for each failing one; and the policy advice.
    Summary(SummaryArgs),
    /// Write the summary as one self-contained HTML page.
    Html(HtmlArgs),
}

/// Where the database is.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The report database (default: mailauth-reports.sqlite beside the configuration file).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// The configuration file: places the default database, and tells the summary the domain's
    /// configured selectors, SPF includes and policy.
    #[arg(long, value_name = "FILE", default_value = "mailauth.toml")]
    pub config: PathBuf,
}

/// Arguments of `mailauth reports ingest`.
#[derive(Debug, Args)]
#[command(after_help = "\
Each SOURCE is a report file (XML, JSON, .gz, .zip), a directory (read recursively), an mbox \
file or a Maildir; report mail attachments are found by MIME. A report already stored (same \
organisation and report id) counts as a duplicate and is not stored twice, so ingesting the same \
mailbox again is harmless. Every input that is not a usable report is listed with its reason.

JSON output: {\"db\", \"read\" (reports and rejected inputs seen), \"ingested\" (new reports \
stored), \"duplicates\", \"aggregate\", \"tls\", \"rejected\": [{\"origin\", \"reason\"}]}.

Exit status: 0 everything read was stored or already there, 1 some input was rejected (the rest \
is stored), 2 a missing path, bad flags or an unusable database.

Examples:
  mailauth reports ingest ~/Maildir/.dmarc
  mailauth reports ingest --db /var/lib/mailauth/reports.sqlite reports/*.xml.gz
  mailauth --json reports ingest rua.mbox")]
pub struct IngestArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Files, directories, mbox files or Maildirs.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    /// Threads that read and parse files side by side (default: the number of CPUs); reports
    /// are stored in input order either way.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// The report selection shared by list, summary and html.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only this domain: the published policy's domain, or a From domain equal to it or under it.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<DomainName>,
    /// Only reports ending at or after this: a duration back from now (30d, 2w, 12h) or a date
    /// (2026-01-01, RFC 3339).
    #[arg(long, value_name = "30d|DATE")]
    pub since: Option<String>,
}

/// Arguments of `mailauth reports summary`.
#[derive(Debug, Args)]
#[command(after_help = "\
Per source IP: its PTR name, the include: of the domain's own SPF record that covers it (or its \
PTR organisational domain), messages, aligned SPF/DKIM passes, the dispositions receivers \
applied, and for each failing source the record change that fixes it. Then the policy advice: \
what the next step (none -> quarantine -> reject) would affect, and the mailauth.toml line once \
the last N days (--clean-days) had no failure but forwarding.

Examples:
  mailauth reports summary --domain example.com --since 30d
  mailauth --json reports summary --since 2026-01-01
  mailauth --now 2026-12-01T00:00:00Z reports summary --clean-days 30")]
pub struct SummaryArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Consecutive clean days required before the next policy step is advised.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CLEAN_DAYS)]
    pub clean_days: u32,
}

/// Arguments of `mailauth reports html`.
#[derive(Debug, Args)]
#[command(after_help = "\
The page has no external assets: charts of the DMARC pass rate per day, volume per source, \
failures by reason, receivers and TLS failure types, and sortable tables.

Examples:
  mailauth reports html report.html --domain example.com --since 90d")]
pub struct HtmlArgs {
    /// The page to write (replaced atomically).
    #[arg(value_name = "OUT.html")]
    pub out: PathBuf,
    #[command(flatten)]
    pub query: QueryArgs,
    /// Consecutive clean days required before the next policy step is advised.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CLEAN_DAYS)]
    pub clean_days: u32,
}

pub async fn reports(global: &GlobalArgs, command: ReportsCommand) -> Result<Outcome> {
    match command {
        ReportsCommand::Ingest(args) => ingest(global, args),
        ReportsCommand::List(args) => list(global, args),
        ReportsCommand::Summary(args) => summary_command(global, args).await,
        ReportsCommand::Html(args) => html(global, args).await,
    }
}

impl DbArgs {
    /// `--db`, or the default beside the configuration file.
    fn path(&self) -> PathBuf {
        match &self.db {
            Some(db) => db.clone(),
            None => match self.config.parent() {
                Some(dir) => dir.join(DEFAULT_DB),
                None => PathBuf::from(DEFAULT_DB),
            },
        }
    }

    /// Open an existing database (queries never create one).
    fn open_existing(&self) -> Result<Store> {
        let path = self.path();
        if !path.exists() {
            bail!(
                "{}: no report database here: run `mailauth reports ingest SOURCE...` first, or give --db",
                path.display()
            );
        }
        Ok(Store::open(&path)?)
    }
}

#[derive(Debug, Default)]
struct IngestCounts {
    read: u64,
    ingested: u64,
    duplicates: u64,
    aggregate: u64,
    tls: u64,
    rejected: Vec<(String, String)>,
}

impl IngestCounts {
    fn flush(&mut self, store: &mut Store, batch: &mut Vec<(Report, String)>) -> Result<()> {
        let results = store.insert_batch(batch.iter().map(|(r, o)| (r, o.as_str())))?;
        for ((_, origin), result) in batch.iter().zip(results) {
            match result {
                Ok(Inserted::New) => self.ingested += 1,
                Ok(Inserted::Duplicate) => self.duplicates += 1,
                Err(e) => self.rejected.push((origin.clone(), e.to_string())),
            }
        }
        batch.clear();
        Ok(())
    }
}

fn ingest(global: &GlobalArgs, args: IngestArgs) -> Result<Outcome> {
    for source in &args.sources {
        if !source.exists() {
            bail!("{}: no such file or directory", source.display());
        }
    }
    let db = args.db.path();
    let mut store = Store::open(&db)?;
    let progress = if std::io::stderr().is_terminal() && !global.json {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("reading reports");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut counts = IngestCounts::default();
    let mut batch: Vec<(Report, String)> = Vec::with_capacity(BATCH);
    let mut failure: Option<anyhow::Error> = None;
    // Reading, decompressing and parsing run on their own thread while this one stores: the two
    // halves of an ingest overlap on two cores. The channel is bounded, so memory stays flat
    // however many reports the sources hold.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Item>(CHANNEL);
    let sources = args.sources.clone();
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let reader = std::thread::spawn(move || {
        let mut receiver_gone = false;
        read_sources_parallel(&sources, &Limits::default(), jobs, &mut |item| {
            receiver_gone = receiver_gone || sender.send(item).is_err();
        })
    });
    for item in receiver {
        counts.read += 1;
        match item.outcome {
            Ok(report) => {
                match &report {
                    Report::Aggregate(_) => counts.aggregate += 1,
                    Report::Tls(_) => counts.tls += 1,
                }
                batch.push((report, item.origin));
                if batch.len() >= BATCH
                    && let Err(e) = counts.flush(&mut store, &mut batch)
                {
                    failure = Some(e);
                    break;
                }
            }
            Err(rejected) => counts.rejected.push((item.origin, rejected.to_string())),
        }
        progress.set_message(format!(
            "{} reports read, {} rejected",
            counts.read,
            counts.rejected.len()
        ));
    }
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the report reader thread panicked"))?;
    if let Some(e) = failure {
        return Err(e);
    }
    counts.flush(&mut store, &mut batch)?;
    progress.finish_and_clear();
    read.context("reading the report sources")?;
    print_ingest(global, &db, &counts)?;
    Ok(if counts.rejected.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn print_ingest(global: &GlobalArgs, db: &Path, counts: &IngestCounts) -> Result<()> {
    if global.json {
        let rejected: Vec<_> = counts
            .rejected
            .iter()
            .map(|(origin, reason)| json!({"origin": origin, "reason": reason}))
            .collect();
        return print_json(&json!({
            "db": db.display().to_string(),
            "read": counts.read,
            "ingested": counts.ingested,
            "duplicates": counts.duplicates,
            "aggregate": counts.aggregate,
            "tls": counts.tls,
            "rejected": rejected,
        }));
    }
    println!(
        "{}: {} new reports stored, {} already there ({} aggregate, {} TLS read)",
        db.display(),
        counts.ingested,
        counts.duplicates,
        counts.aggregate,
        counts.tls
    );
    if !counts.rejected.is_empty() {
        let n = counts.rejected.len();
        println!("{n} {} rejected:", if n == 1 { "input" } else { "inputs" });
        for (origin, reason) in &counts.rejected {
            println!("  {origin}: {reason}");
        }
    }
    Ok(())
}

impl QueryArgs {
    fn filter(&self, global: &GlobalArgs) -> Result<Filter> {
        let since = match &self.since {
            Some(text) => Some(parse_since(text, global.now()?)?),
            None => None,
        };
        Ok(Filter {
            domain: self.domain.as_ref().map(|d| d.to_string()),
            since,
        })
    }
}

/// `--since`: a duration back from `now` (`30d`, `2w`, `12h`, BIND units) or a date.
fn parse_since(text: &str, now: u64) -> Result<i64> {
    let now = i64::try_from(now).context("--now is out of range")?;
    if let Some(secs) = mailauth_base::zone::parse_ttl(text)
        && text.chars().last().is_some_and(|c| c.is_ascii_alphabetic())
    {
        return Ok(now - i64::from(secs));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc().timestamp());
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp());
    }
    bail!(
        "--since {text:?}: expected a duration back from now (30d, 2w, 12h) or a date (2026-01-01)"
    )
}

fn list(global: &GlobalArgs, args: QueryArgs) -> Result<Outcome> {
    let filter = args.filter(global)?;
    let store = args.db.open_existing()?;
    let aggregate = store.aggregate(&filter)?;
    let tls = store.tls(&filter)?;
    let mut rows: Vec<(i64, serde_json::Value)> = aggregate
        .iter()
        .map(|s| (s.report.begin, aggregate_row(&s.report)))
        .chain(tls.iter().map(|s| (s.report.begin, tls_row(&s.report))))
        .collect();
    rows.sort_by_key(|(begin, _)| *begin);
    if global.json {
        let reports: Vec<_> = rows.into_iter().map(|(_, v)| v).collect();
        print_json(&json!({ "reports": reports }))?;
    } else {
        print_list(&rows);
    }
    Ok(Outcome::Success)
}

fn aggregate_row(r: &AggregateReport) -> serde_json::Value {
    let sum = |f: &dyn Fn(&mailauth::reports::model::Record) -> bool| -> u64 {
        r.records.iter().filter(|x| f(x)).map(|x| x.count).sum()
    };
    json!({
        "kind": "aggregate",
        "org_name": r.org_name,
        "report_id": r.report_id,
        "domain": r.policy.domain,
        "begin": r.begin,
        "end": r.end,
        "records": r.records.len(),
        "messages": sum(&|_| true),
        "dmarc_pass": sum(&|x| x.dmarc_pass()),
        "spf_aligned_pass": sum(&|x| x.spf_aligned == "pass"),
        "dkim_aligned_pass": sum(&|x| x.dkim_aligned == "pass"),
    })
}

fn tls_row(r: &TlsReport) -> serde_json::Value {
    json!({
        "kind": "tls",
        "org_name": r.org_name,
        "report_id": r.report_id,
        "begin": r.begin,
        "end": r.end,
        "policies": r.policies.len(),
        "successful_sessions": r.policies.iter().map(|p| p.successful).sum::<u64>(),
        "failed_sessions": r.policies.iter().map(|p| p.failed).sum::<u64>(),
    })
}

fn print_list(rows: &[(i64, serde_json::Value)]) {
    if rows.is_empty() {
        println!("no reports match");
        return;
    }
    println!(
        "{:<10}  {:<9}  {:<24}  {:<28}  {:>9}  {:>7}",
        "begin", "kind", "organisation", "report id / domain", "messages", "pass"
    );
    for (begin, row) in rows {
        let s = |k: &str| row[k].as_str().unwrap_or("").to_owned();
        let n = |k: &str| row[k].as_u64().unwrap_or(0);
        let (what, total, good) = if s("kind") == "tls" {
            (
                s("report_id"),
                n("successful_sessions") + n("failed_sessions"),
                n("successful_sessions"),
            )
        } else {
            (
                format!("{} ({})", s("report_id"), s("domain")),
                n("messages"),
                n("dmarc_pass"),
            )
        };
        println!(
            "{:<10}  {:<9}  {:<24}  {:<28}  {:>9}  {:>7}",
            date(*begin),
            s("kind"),
            clip(&s("org_name"), 24),
            clip(&what, 28),
            total,
            percent(good, total)
        );
    }
}

fn date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| secs.to_string())
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// Build the summary the flags ask for.
async fn build_summary(global: &GlobalArgs, query: &QueryArgs, clean_days: u32) -> Result<Summary> {
    let filter = query.filter(global)?;
    let store = query.db.open_existing()?;
    let aggregate: Vec<AggregateReport> = store
        .aggregate(&filter)?
        .into_iter()
        .map(|s| s.report)
        .collect();
    let tls: Vec<TlsReport> = store.tls(&filter)?.into_iter().map(|s| s.report).collect();
    let now = i64::try_from(global.now()?).context("--now is out of range")?;
    let mut ctx = SummaryContext::new(global.resolver()?, now);
    ctx.required_clean_days = clean_days;
    ctx.known = known_domain(&query.db.config, filter.domain.as_deref())?;
    Ok(summarize(&aggregate, &tls, &filter, &ctx).await)
}

/// What mailauth.toml says about `domain`, when the file exists and lists it.
fn known_domain(config: &Path, domain: Option<&str>) -> Result<Option<KnownDomain>> {
    let Some(domain) = domain else {
        return Ok(None);
    };
    if !config.exists() {
        return Ok(None);
    }
    let config = Config::load(config)?;
    let Some((_, d)) = config
        .domains
        .iter()
        .find(|(name, _)| name.as_ref() as &str == domain)
    else {
        return Ok(None);
    };
    Ok(Some(KnownDomain {
        selectors: d.dkim.iter().map(|k| k.selector.clone()).collect(),
        spf_includes: d
            .spf
            .as_ref()
            .map(|s| s.include.clone())
            .unwrap_or_default(),
        policy: d.dmarc.as_ref().map(|m| m.policy.as_str().to_owned()),
    }))
}

async fn summary_command(global: &GlobalArgs, args: SummaryArgs) -> Result<Outcome> {
    let summary = build_summary(global, &args.query, args.clean_days).await?;
    if global.json {
        print_json(&serde_json::to_value(&summary)?)?;
    } else {
        print_summary(&summary);
    }
    Ok(Outcome::Success)
}

async fn html(global: &GlobalArgs, args: HtmlArgs) -> Result<Outcome> {
    let summary = build_summary(global, &args.query, args.clean_days).await?;
    let page = mailauth::reports::html::render(&summary);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("{}: the directory does not exist", dir.display());
    }
    mailauth_base::atomic::write(
        &args.out,
        page.as_bytes(),
        mailauth_base::atomic::WriteOptions::PUBLIC,
    )
    .with_context(|| format!("writing {}", args.out.display()))?;
    if global.json {
        print_json(&json!({"out": args.out.display().to_string(), "bytes": page.len()}))?;
    } else {
        println!("wrote {}", args.out.display());
    }
    Ok(Outcome::Success)
}

fn print_summary(s: &Summary) {
    let scope = s
        .domain
        .as_deref()
        .unwrap_or("all domains (give --domain for one domain's advice)");
    println!(
        "DMARC reports for {scope}: {} reports, {} messages, DMARC pass {} ({} aligned SPF, {} aligned DKIM)",
        s.reports,
        s.messages,
        percent(s.dmarc_pass, s.messages),
        percent(s.spf_aligned_pass, s.messages),
        percent(s.dkim_aligned_pass, s.messages),
    );
    if !s.dispositions.is_empty() {
        let d: Vec<String> = s
            .dispositions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("applied by receivers: {}", d.join(", "));
    }
    print_policy(s);
    if !s.sources.is_empty() {
        println!();
        println!(
            "{:<39}  {:<30}  {:>8}  {:>7}  {:>7}  {:>7}",
            "source", "group", "messages", "dmarc", "spf", "dkim"
        );
        for src in &s.sources {
            println!(
                "{:<39}  {:<30}  {:>8}  {:>7}  {:>7}  {:>7}",
                src.ip.to_string(),
                clip(&src.group, 30),
                src.messages,
                percent(src.dmarc_pass, src.messages),
                percent(src.spf_aligned_pass, src.messages),
                percent(src.dkim_aligned_pass, src.messages),
            );
            if let Some(ptr) = &src.ptr {
                println!("    ptr {ptr}");
            }
            if let Some(fix) = &src.fix {
                println!("    fix ({}): {}", fix.kind, fix.message);
            }
        }
    }
    if !s.groups.is_empty() {
        println!();
        println!("by group:");
        for g in &s.groups {
            println!(
                "  {:<40} {:>4} sources {:>9} messages  pass {}",
                clip(&g.name, 40),
                g.sources,
                g.messages,
                percent(g.dmarc_pass, g.messages)
            );
        }
    }
    if !s.failures.is_empty() {
        println!();
        println!("failures by reason:");
        for f in &s.failures {
            println!("  {:<32} {:>9} messages", f.reason, f.messages);
        }
    }
    if !s.receivers.is_empty() {
        println!();
        println!("receivers:");
        for r in &s.receivers {
            println!(
                "  {:<32} {:>5} reports {:>9} messages  pass {}",
                clip(&r.org_name, 32),
                r.reports,
                r.messages,
                percent(r.dmarc_pass, r.messages)
            );
        }
    }
    if s.tls.reports > 0 {
        println!();
        println!(
            "TLS reports: {}, sessions {} successful, {} failed",
            s.tls.reports, s.tls.successful_sessions, s.tls.failed_sessions
        );
        for t in &s.tls.failure_types {
            println!("  {:<32} {:>9} sessions", t.result_type, t.sessions);
        }
    }
}

fn print_policy(s: &Summary) {
    let p = &s.policy;
    let current = p.current.as_deref().unwrap_or("unknown");
    match &p.next {
        None => println!("policy: p={current}: no further step"),
        Some(next) => {
            println!(
                "policy: p={current}; at p={next}, {} messages ({:.1}%) in this window would be affected",
                p.affected,
                p.affected_share * 100.0
            );
            println!(
                "clean days: {} of {} required",
                p.clean_days, p.required_clean_days
            );
            match &p.suggestion {
                Some(line) => println!("safe to move on: in mailauth.toml set {line}"),
                None => {
                    println!("not yet: fix the failing sources below, then wait for clean days")
                }
            }
        }
    }
}
