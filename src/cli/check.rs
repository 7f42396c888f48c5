//! `mailauth check`: audit the published records of one domain or a list of them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::check::{CheckOptions, check_domain};
use mailauth::dns::{CachingResolver, Resolver};
use mailauth::keys::KeyStore;
use mailauth::report::{Report, Severity};
use mailauth_base::DomainName;

/// Arguments of `mailauth check`.
#[derive(Debug, Args)]
#[command(after_help = "\
Reads the domain's MX, SPF, DMARC, DKIM, MTA-STS and TLS-RPT records and reports every problem \
with a stable code, its severity, the record, the RFC clause and a fix. Where an _mta-sts record \
is published, the policy is fetched from https://mta-sts.DOMAIN/.well-known/mta-sts.txt (through \
the same resolver, WebPKI certificate check plus any --ca roots, no redirects, at most 64 KiB) \
and every MX must match one of its mx patterns; with --smtp each MX the policy covers must also \
offer STARTTLS with a certificate valid for its name. TLSA records at _25._tcp.MX for every MX are read with their DNSSEC status (the AD bit of the resolver: point --resolver at a validating resolver you trust; a validation failure is dane.bogus), and with --smtp the chain every address of every MX presents after STARTTLS (on --smtp-port) must match one of them (RFC 7672). DKIM selectors come from --selector \
and from the key store (KEY_DIR/DOMAIN/*.pem), whose keys are also compared with what DNS \
publishes (by public key and by signing a probe and verifying it through DNS). With --smtp \
each MX host is also probed over SMTP (see `mailauth probe --help`); the relay battery runs \
only with --relay.

With --domains-file (one domain per line, - for stdin; blank lines and # comments skipped) \
domains are checked concurrently and reported as they finish: text, or JSON Lines with --json; \
each distinct domain is checked once; a line that is not a domain name gets an error record \
(FILE:LINE: invalid domain name ..., or a JSON object with file, line, input and error) instead \
of a check; a summary \
goes to stderr.

Exit status: 0 no errors, 1 some error finding, 2 bad input (including any invalid line in \
--domains-file), 3 a DNS lookup failed (the report is incomplete).

Examples:
  mailauth check example.com
  mailauth check example.com --selector 20261125-rsa --json
  mailauth check --domains-file customers.txt --json --concurrency 128 > report.jsonl
  mailauth check example.com --smtp --relay --source-ip 192.0.2.99
  mailauth check example.test --zone example.test.zone --ca test-ca.pem --https-port 8443")]
pub struct CheckArgs {
    /// Domains to check.
    pub domains: Vec<DomainName>,
    /// DKIM selectors to check (repeatable).
    #[arg(long, short = 's', value_name = "SELECTOR")]
    pub selector: Vec<String>,
    /// Key store whose keys for the domain are checked against DNS.
    #[arg(long, value_name = "DIR", default_value = "keys")]
    pub key_dir: PathBuf,
    /// Read domains from this file, one per line (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub domains_file: Option<PathBuf>,
    /// How many domains to check at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Give up on one domain after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Also probe each MX host over SMTP (as `mailauth probe`, without the relay battery unless
    /// --relay) and add its findings to the domain's report.
    #[arg(long, conflicts_with = "domains_file")]
    pub smtp: bool,
    /// With --smtp: run the relay battery too (probe from outside the server's trusted
    /// networks, see --source-ip).
    #[arg(long, requires = "smtp")]
    pub relay: bool,
    /// With --smtp: the local address to connect from.
    #[arg(long, value_name = "ADDR", requires = "smtp")]
    pub source_ip: Option<std::net::IpAddr>,
    /// Which DMARC standard decides where a domain's policy comes from when it has no record of
    /// its own: 9989 (the DNS tree walk, the default) or 7489 (the Public Suffix List). Where
    /// the two differ, `dmarc.standards_differ` shows both either way.
    #[arg(long, value_name = "9989|7489", value_enum, default_value_t = mailauth::dmarc::Standard::Rfc9989)]
    pub dmarc_standard: mailauth::dmarc::Standard,
    /// With --smtp: the port to probe on each MX host.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub smtp_port: u16,
    /// Also trust the CA certificates in this PEM file (repeatable), for the MTA-STS policy
    /// fetch and, with --smtp, the STARTTLS certificates. Adds trust; never replaces the WebPKI
    /// roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// The HTTPS port of mta-sts.DOMAIN for the MTA-STS policy fetch. Senders always use 443;
    /// another port is for private deployments and tests.
    #[arg(long, value_name = "N", default_value_t = 443)]
    pub https_port: u16,
}

pub async fn check(global: &GlobalArgs, args: CheckArgs) -> Result<Outcome> {
    if args.domains.is_empty() && args.domains_file.is_none() {
        bail!("give a domain, or --domains-file FILE");
    }
    let resolver = global.resolver()?;
    let options = Arc::new(CheckOptions {
        selectors: args.selector.clone(),
        key_store: Some(KeyStore::new(&args.key_dir)),
        now: global.now()?,
        dmarc_standard: args.dmarc_standard,
        transport: mailauth::transport::TransportOptions {
            extra_roots: super::probe::extra_roots(&args.ca)?,
            https_port: args.https_port,
            timeout: Duration::from_secs(10),
            smtp_port: args.smtp.then_some(args.smtp_port),
        },
    });
    let timeout = Duration::from_secs(args.timeout);
    if let Some(file) = &args.domains_file {
        return bulk(
            global,
            resolver,
            options,
            file,
            args.concurrency as usize,
            timeout,
        )
        .await;
    }
    let mut reports = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for domain in args.domains.iter().filter(|d| seen.insert(*d)) {
        let mut report =
            check_one(resolver.clone(), domain.clone(), options.clone(), timeout).await;
        if args.smtp {
            smtp(global, &args, &options, resolver.as_ref(), &mut report).await?;
        }
        reports.push(report);
    }
    if global.json {
        if let [one] = reports.as_slice() {
            print_json(&serde_json::to_value(one)?)?;
        } else {
            let mut out = std::io::stdout().lock();
            for report in &reports {
                serde_json::to_writer(&mut out, report)?;
                writeln!(out)?;
            }
        }
    } else {
        let mut out = std::io::stdout().lock();
        for report in &reports {
            write_text(&mut out, report)?;
        }
    }
    Ok(outcome(reports.iter()))
}

/// `--smtp`: probe every MX address and append the findings. An unreachable server marks the
/// report as incomplete (exit 3), as a DNS failure does.
async fn smtp(
    global: &GlobalArgs,
    args: &CheckArgs,
    check: &CheckOptions,
    resolver: &dyn Resolver,
    report: &mut Report,
) -> Result<()> {
    let targets = match super::probe::mx_targets(resolver, &report.domain, args.smtp_port).await {
        Ok(targets) => targets,
        // No MX (or a null MX) is already a finding of the DNS part.
        Err(err) => {
            global.note(format_args!("--smtp: nothing to probe: {err:#}"));
            return Ok(());
        }
    };
    let options = mailauth::smtp::probe::ProbeOptions {
        helo: "probe.mailauth.invalid".into(),
        source_ip: args.source_ip,
        timeout: Duration::from_secs(10),
        relay: args.relay,
        credentials: None,
        data_to: None,
        extra_roots: check.transport.extra_roots.clone(),
        now: i64::try_from(global.now()?).unwrap_or(i64::MAX),
        max_connections: 8,
    };
    let policy = mta_sts_policy(resolver, &report.domain, check).await;
    for target in targets {
        let probed = mailauth::smtp::probe::probe(resolver, &target, &options).await;
        report.dns_failed |= probed.temporary_failure;
        report.findings.extend(probed.findings.iter().cloned());
        if let Some(policy) = &policy
            && !probed.temporary_failure
        {
            report
                .findings
                .extend(mta_sts_mx_findings(policy, &probed, options.now));
        }
    }
    Ok(())
}

/// The domain's MTA-STS policy, when its record and policy are valid (otherwise the DNS part
/// has already said why and there is no policy to hold the MX hosts to).
async fn mta_sts_policy(
    resolver: &dyn Resolver,
    domain: &str,
    check: &CheckOptions,
) -> Option<mailauth::transport::mta_sts::Policy> {
    use mailauth::transport::mta_sts;
    let records = resolver.txt(&format!("_mta-sts.{domain}")).await.ok()?;
    let sts: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.joined()).into_owned())
        .filter(|t| t.starts_with("v=STSv1"))
        .collect();
    let [one] = sts.as_slice() else { return None };
    mta_sts::parse_record(one).ok()?;
    let now = i64::try_from(check.now).unwrap_or(i64::MAX);
    let fetched = mta_sts::fetch_policy(domain, resolver, &check.transport.fetch_options(), now)
        .await
        .ok()?;
    fetched.policy.ok()
}

/// RFC 8461 §4.2 for one probed MX address: STARTTLS offered, certificate valid for the MX name.
fn mta_sts_mx_findings(
    policy: &mailauth::transport::mta_sts::Policy,
    probed: &mailauth::smtp::probe::TargetReport,
    now: i64,
) -> Vec<mailauth::report::Finding> {
    let offered = probed.tls.is_some()
        || probed
            .ehlo
            .iter()
            .any(|e| e.eq_ignore_ascii_case("STARTTLS"));
    let certificate = probed.tls.as_ref().and_then(|t| t.certificate.as_ref());
    mailauth::transport::mta_sts::mx_tls_findings(
        policy,
        &probed.host,
        &probed.target,
        offered,
        certificate,
        now,
    )
}

async fn check_one(
    resolver: Arc<dyn Resolver>,
    domain: DomainName,
    options: Arc<CheckOptions>,
    timeout: Duration,
) -> Report {
    match tokio::time::timeout(timeout, check_domain(resolver.as_ref(), &domain, &options)).await {
        Ok(report) => report,
        Err(_) => Report {
            domain: domain.to_string(),
            findings: vec![mailauth::spf::lint::dns_finding(
                &domain,
                &format!("the check took longer than {}s", timeout.as_secs()),
            )],
            dns_failed: true,
        },
    }
}

fn outcome<'a>(reports: impl Iterator<Item = &'a Report>) -> Outcome {
    let (mut errors, mut dns) = (false, false);
    for report in reports {
        errors |= report.has_errors();
        dns |= report.dns_failed;
    }
    if dns {
        Outcome::TempFail
    } else if errors {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

/// Check a stream of domains with at most `concurrency` in flight, printing each report as it
/// finishes; memory holds only the domains in flight.
async fn bulk(
    global: &GlobalArgs,
    resolver: Arc<dyn Resolver>,
    options: Arc<CheckOptions>,
    file: &PathBuf,
    concurrency: usize,
    timeout: Duration,
) -> Result<Outcome> {
    let reader: Box<dyn BufRead + Send> = if file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
        ))
    };
    // Domains in a list share include targets, MX hosts and organizational domains.
    let resolver: Arc<dyn Resolver> = Arc::new(CachingResolver::new(resolver, 100_000));
    let mut lines = reader.lines();
    let mut running = tokio::task::JoinSet::new();
    let (mut checked, mut with_errors, mut dns_failed) = (0usize, 0usize, 0usize);
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} domains checked ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut out = std::io::stdout().lock();
    let mut input_done = false;
    let mut seen = std::collections::HashSet::new();
    let (mut line_number, mut invalid, mut duplicates) = (0usize, 0usize, 0usize);
    loop {
        while !input_done && running.len() < concurrency {
            let Some(line) = lines.next() else {
                input_done = true;
                break;
            };
            line_number += 1;
            let line = line.with_context(|| format!("reading {}", file.display()))?;
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let domain = match DomainName::parse(text) {
                Ok(domain) => domain,
                Err(error) => {
                    invalid += 1;
                    write_invalid_line(global, &mut out, file, line_number, text, &error)?;
                    continue;
                }
            };
            if !seen.insert(domain.clone()) {
                duplicates += 1;
                continue;
            }
            running.spawn(check_one(
                resolver.clone(),
                domain,
                options.clone(),
                timeout,
            ));
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let report = done.context("a check task failed")?;
        checked += 1;
        with_errors += usize::from(report.has_errors());
        dns_failed += usize::from(report.dns_failed);
        progress.inc(1);
        progress.set_message(format!("{with_errors} with errors"));
        if global.json {
            serde_json::to_writer(&mut out, &report)?;
            writeln!(out)?;
        } else {
            write_text(&mut out, &report)?;
        }
    }
    out.flush()?;
    progress.finish_and_clear();
    eprintln!(
        "mailauth: checked {checked} domains: {with_errors} with errors, {dns_failed} with DNS failures; {invalid} invalid lines, {duplicates} duplicates skipped"
    );
    if invalid > 0 && dns_failed == 0 {
        bail!(
            "{invalid} lines of {} are not domain names (see the error records above)",
            file.display()
        );
    }
    Ok(if dns_failed > 0 {
        Outcome::TempFail
    } else if with_errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// The record of a line that is not a domain: in the output stream, where the reports are.
fn write_invalid_line(
    global: &GlobalArgs,
    out: &mut impl Write,
    file: &std::path::Path,
    line: usize,
    input: &str,
    error: &mailauth_base::NameError,
) -> Result<()> {
    // At most a screenful of the input is echoed back.
    let shown: String = input.chars().take(100).collect();
    if global.json {
        let record = serde_json::json!({
            "file": file.display().to_string(),
            "line": line,
            "input": shown,
            "error": error.to_string(),
        });
        serde_json::to_writer(&mut *out, &record)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}:{line}: {error}", file.display())?;
    }
    Ok(())
}

pub(super) fn write_text(out: &mut impl Write, report: &Report) -> Result<()> {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let paint = |severity: Severity| -> (&str, &str) {
        if !color {
            return ("", "");
        }
        match severity {
            Severity::Error => ("\x1b[31m", "\x1b[0m"),
            Severity::Warning => ("\x1b[33m", "\x1b[0m"),
            Severity::Info => ("\x1b[36m", "\x1b[0m"),
        }
    };
    if report.findings.is_empty() {
        writeln!(out, "{}: no problems found", report.domain)?;
        return Ok(());
    }
    writeln!(out, "{}:", report.domain)?;
    let mut last_record = "";
    for finding in &report.findings {
        if finding.record != last_record {
            writeln!(out, "  {}", finding.record)?;
            last_record = &finding.record;
        }
        let (on, off) = paint(finding.severity);
        writeln!(
            out,
            "    {on}{}{off} {}: {} ({})",
            finding.severity.as_str(),
            finding.code,
            finding.message,
            finding.rfc
        )?;
        if let Some(seen) = &finding.seen {
            writeln!(out, "      seen: {seen}")?;
        }
        if let Some(fix) = &finding.fix {
            writeln!(out, "      fix: {fix}")?;
        }
    }
    Ok(())
}
