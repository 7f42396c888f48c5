//! The command line: clap types, one handler file per command group, output rendering and exit
//! codes. The only place that uses `anyhow`; handlers turn flags into the library's plain option
//! structs.

mod audit;
mod check;
mod dane;
mod dkim;
mod dmarc;
mod keygen;
mod meta;
mod probe;
mod publish;
mod reports;
mod rotate;
mod spf;
mod transport;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use mailauth::ErrorClass;
use mailauth::dns::{self, Resolver};

/// Manage, check and verify a domain's email-authentication DNS records (DKIM, SPF, DMARC).
///
/// Global options may be given before or after the command.
#[derive(Debug, Parser)]
#[command(
    after_help = "Examples:
  mailauth keygen example.com                          # RSA-2048 key, prints the TXT record
  mailauth sign msg.eml -d example.com -s 20261125-rsa > signed.eml
  mailauth verify signed.eml                           # Authentication-Results via system DNS
  mailauth --zone example.com.zone --json verify signed.eml",
    name = "mailauth",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Answer DNS queries from this BIND master file instead of the network (repeatable).
    /// `$ORIGIN`, `$TTL`, parentheses and multi-string TXT are understood.
    #[arg(long = "zone", value_name = "FILE", global = true)]
    pub zones: Vec<PathBuf>,
    /// Send DNS queries to this server instead of the system's (repeatable). IPv6 as [ADDR]:PORT.
    #[arg(long = "resolver", value_name = "IP[:PORT]", global = true)]
    pub resolvers: Vec<String>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Say more about what is happening (on stderr).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Take this as the current time (RFC 3339 or UNIX seconds) for signature times and expiry.
    #[arg(long, value_name = "RFC3339|UNIX-SECONDS", global = true)]
    pub now: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a DKIM key into the key store and print the DNS record to publish.
    Keygen(keygen::KeygenArgs),
    /// Sign a message with DKIM and print the signed message.
    Sign(dkim::SignArgs),
    /// Verify a message's DKIM signatures and print an Authentication-Results header.
    Verify(dkim::VerifyArgs),
    /// Evaluate a domain's SPF record for a client IP (RFC 7208 check_host) with a full trace.
    Spf(spf::SpfArgs),
    /// Audit a domain's published MX, SPF, DMARC and DKIM records; every problem with its fix.
    Check(check::CheckArgs),
    /// Write a starter mailauth.toml, zone file and DKIM keys for a domain.
    Init(publish::InitArgs),
    /// Show what publishing would change (+ create, ~ update, - delete).
    Plan(publish::PlanArgs),
    /// Apply the plan through each domain's provider and confirm the records are served.
    Publish(publish::PlanArgs),
    /// Advance scheduled DKIM key rotation as far as is safe now (for cron or a systemd timer).
    Rotate(rotate::RotateArgs),
    /// Show each domain's keys, their rotation states and the next step.
    Status(rotate::RotateArgs),
    /// Write signer configuration for the active keys: opendkim, rspamd or exim.
    Export(rotate::ExportArgs),
    /// Build a DNS record to publish.
    #[command(subcommand)]
    Record(RecordCommand),
    /// MTA-STS (RFC 8461): write the policy file for the web root and keep its id.
    #[command(subcommand)]
    MtaSts(transport::MtaStsCommand),
    /// Probe mail servers from outside: open relay, AUTH before TLS, legacy TLS, certificates.
    Probe(probe::ProbeArgs),
    /// Audit a mail server's configuration: Postfix, Exim, Sendmail or Exchange.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// DMARC aggregate and SMTP TLS reports: ingest, list, summarise with fixes, HTML.
    #[command(subcommand)]
    Reports(reports::ReportsCommand),
    /// DANE: record the next key of a mail server for the TLSA rollover `rotate` drives.
    #[command(subcommand)]
    Dane(dane::DaneCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(meta::CompletionsArgs),
    /// Print the manual page (roff) on stdout: `mailauth man | man -l -`.
    Man(meta::ManArgs),
}

/// `mailauth record ...`.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Build an SPF record, split into 255-byte strings, with its DNS-lookup cost.
    Spf(spf::RecordSpfArgs),
    /// Build a DMARC policy record (RFC 7489).
    Dmarc(dmarc::RecordDmarcArgs),
    /// Build the _mta-sts TXT record for a policy id (RFC 8461 §3.1).
    MtaSts(transport::RecordMtaStsArgs),
    /// Build the _smtp._tls TXT record for TLS reports (RFC 8460 §3).
    TlsRpt(transport::RecordTlsRptArgs),
    /// Build the TLSA record for a mail server's certificate (RFC 6698, RFC 7672).
    Tlsa(transport::RecordTlsaArgs),
}

/// What a command ended with, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: pass, nothing wrong.
    Success,
    /// 1: a verdict of fail (or error findings).
    Failed,
    /// 3: a temporary failure (DNS or provider unreachable) decided the outcome.
    TempFail,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(cli)),
        Err(err) => Err(anyhow::Error::new(err).context("cannot start the async runtime")),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::TempFail) => ExitCode::from(3),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mailauth: error: {err:#}");
            let class = error_class(&err);
            if class == ErrorClass::Temporary {
                eprintln!(
                    "mailauth: this looks temporary (network or server); running the same command again is safe"
                );
            }
            ExitCode::from(class.exit_code())
        }
    }
}

/// The class of the outermost library error in the chain (README's exit-code table); errors of
/// the command line itself (usage, unreadable files) are bad input.
fn error_class(err: &anyhow::Error) -> ErrorClass {
    err.chain()
        .find_map(mailauth::classify)
        .unwrap_or(ErrorClass::BadInput)
}

async fn run(cli: Cli) -> Result<Outcome> {
    // Check global options before any work, so a typo is reported first.
    if cli.global.now.is_some() {
        cli.global.now()?;
    }
    match cli.command {
        Command::Keygen(args) => keygen::run(&cli.global, args),
        Command::Sign(args) => dkim::sign(&cli.global, args),
        Command::Verify(args) => dkim::verify(&cli.global, args).await,
        Command::Spf(args) => spf::spf(&cli.global, args).await,
        Command::Check(args) => check::check(&cli.global, args).await,
        Command::Init(args) => publish::init(&cli.global, args),
        Command::Plan(args) => publish::plan_command(&cli.global, args).await,
        Command::Publish(args) => publish::publish(&cli.global, args).await,
        Command::Rotate(args) => rotate::rotate(&cli.global, args).await,
        Command::Status(args) => rotate::status(&cli.global, args),
        Command::Export(args) => rotate::export(&cli.global, args),
        Command::Record(RecordCommand::Spf(args)) => spf::record_spf(&cli.global, args).await,
        Command::Record(RecordCommand::Dmarc(args)) => dmarc::record_dmarc(&cli.global, args),
        Command::Record(RecordCommand::MtaSts(args)) => {
            transport::record_mta_sts(&cli.global, args)
        }
        Command::Record(RecordCommand::TlsRpt(args)) => {
            transport::record_tls_rpt(&cli.global, args)
        }
        Command::Record(RecordCommand::Tlsa(args)) => transport::record_tlsa(&cli.global, args),
        Command::MtaSts(command) => transport::mta_sts(&cli.global, command).await,
        Command::Probe(args) => probe::probe(&cli.global, args).await,
        Command::Audit(command) => audit::audit(&cli.global, command),
        Command::Reports(command) => reports::reports(&cli.global, command).await,
        Command::Dane(command) => dane::dane(&cli.global, command).await,
        Command::Completions(args) => meta::completions(args),
        Command::Man(args) => meta::man(args),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

impl GlobalArgs {
    /// The resolver the global flags ask for: zone files, explicit servers, or the system's.
    pub fn resolver(&self) -> Result<Arc<dyn Resolver>> {
        if !self.zones.is_empty() && !self.resolvers.is_empty() {
            bail!(
                "--zone and --resolver cannot be combined: answer from zone files or from servers"
            );
        }
        if !self.zones.is_empty() {
            let zones = dns::zone::ZoneResolver::from_files(&self.zones)?;
            self.note(format_args!(
                "DNS answers come from zone files {:?} ({} records)",
                self.zones,
                zones.len()
            ));
            return Ok(Arc::new(zones));
        }
        if !self.resolvers.is_empty() {
            let addrs = self
                .resolvers
                .iter()
                .map(|s| dns::hickory::parse_server_addr(s))
                .collect::<Result<Vec<_>, _>>()?;
            let resolver = dns::hickory::HickoryResolver::with_servers(&addrs)?;
            self.note(format_args!("DNS queries go to {resolver:?}"));
            return Ok(Arc::new(resolver));
        }
        let resolver = dns::hickory::HickoryResolver::system()
            .context("reading the system DNS configuration")?;
        self.note(format_args!("DNS queries go to {resolver:?}"));
        Ok(Arc::new(resolver))
    }

    /// Print a progress note on stderr when `-v` was given.
    pub fn note(&self, message: std::fmt::Arguments<'_>) {
        if self.verbose > 0 {
            eprintln!("mailauth: {message}");
        }
    }

    /// The current time in UNIX seconds: `--now` or the clock.
    pub fn now(&self) -> Result<u64> {
        match &self.now {
            Some(text) => parse_time(text),
            None => Ok(chrono::Utc::now().timestamp().max(0) as u64),
        }
    }
}

/// Parse `--now`: UNIX seconds or RFC 3339.
fn parse_time(text: &str) -> Result<u64> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let time = chrono::DateTime::parse_from_rfc3339(text).with_context(|| {
        format!("--now {text:?}: expected RFC 3339 (2026-11-25T12:00:00Z) or UNIX seconds")
    })?;
    u64::try_from(time.timestamp()).with_context(|| format!("--now {text:?} is before 1970"))
}

/// Print a JSON document on stdout, with a newline.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
