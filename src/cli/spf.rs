//! `mailauth spf` (evaluate a domain's SPF policy for a client) and `mailauth record spf` (build
//! a record and count its DNS lookups before publishing).

use mailauth_base::DomainName;
use std::net::IpAddr;
use std::str::FromStr;

use anyhow::{Result, bail};
use clap::Args;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::spf::eval::{SpfOptions, SpfOutput, SpfQuery, check_host};
use mailauth::spf::lint::lookup_cost;
use mailauth::spf::{Qualifier, SpfResult, build};

/// Arguments of `mailauth spf`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the result, the explanation for a fail, and every step of the evaluation with the \
DNS-lookup counts (RFC 7208 §4.6.4: at most 10 DNS-querying terms, at most 2 void lookups).

Exit status: 0 pass, 1 any other result, 2 bad input, 3 temperror.

Examples:
  mailauth spf example.com --ip 192.0.2.1
  mailauth spf example.com --ip 2001:db8::1 --mail-from bounce@example.com --helo mx.example.net
  mailauth --zone example.com.zone --json spf example.com --ip 192.0.2.1")]
pub struct SpfArgs {
    /// The domain whose SPF record is checked (MAIL FROM's domain, or the HELO name).
    pub domain: DomainName,
    /// The SMTP client's IP address.
    #[arg(long)]
    pub ip: IpAddr,
    /// The HELO/EHLO name the client gave (for %{h}); default: the domain.
    #[arg(long)]
    pub helo: Option<String>,
    /// The MAIL FROM address (for %{s} %{l} %{o}); default: postmaster@DOMAIN.
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,
}

pub async fn spf(global: &GlobalArgs, args: SpfArgs) -> Result<Outcome> {
    let resolver = global.resolver()?;
    let helo = args.helo.unwrap_or_else(|| args.domain.to_string());
    let sender = match args.mail_from.as_deref().map(str::trim) {
        Some(from) if from.contains('@') => match from.rsplit_once('@') {
            Some(("", domain)) => format!("postmaster@{domain}"),
            _ => from.to_owned(),
        },
        Some(from) if !from.is_empty() => bail!("--mail-from {from:?}: expected local@domain"),
        _ => format!("postmaster@{}", args.domain),
    };
    let query = SpfQuery {
        ip: args.ip,
        domain: args.domain.to_string(),
        sender,
        helo,
    };
    let output = check_host(resolver.as_ref(), &query, &SpfOptions::new(global.now()?)).await;
    if global.json {
        print_json(&serde_json::to_value(&output)?)?;
    } else {
        print_output(&output, args.ip);
    }
    Ok(match output.result {
        SpfResult::Pass => Outcome::Success,
        SpfResult::TempError => Outcome::TempFail,
        _ => Outcome::Failed,
    })
}

fn print_output(output: &SpfOutput, ip: IpAddr) {
    println!("spf={} ({} for {ip})", output.result, output.domain);
    if let Some(explanation) = &output.explanation {
        println!("explanation: {explanation}");
    }
    if let Some(reason) = &output.reason {
        println!("reason: {reason}");
    }
    for step in &output.trace {
        println!(
            "  {}{}  {}  -> {}",
            "  ".repeat(step.depth),
            step.domain,
            step.term,
            step.outcome
        );
    }
    println!(
        "DNS-querying terms: {}/{}; void lookups: {}/{}",
        output.dns_mechanisms,
        mailauth::spf::MAX_DNS_MECHANISMS,
        output.void_lookups,
        mailauth::spf::MAX_VOID_LOOKUPS
    );
}

/// The policy word for `--all`.
#[derive(Debug, Clone, Copy)]
pub struct AllQualifier(Qualifier);

impl FromStr for AllQualifier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(AllQualifier(match s {
            "-" | "fail" => Qualifier::Fail,
            "~" | "softfail" => Qualifier::SoftFail,
            "?" | "neutral" => Qualifier::Neutral,
            "+" | "pass" => Qualifier::Pass,
            _ => return Err("expected - (fail), ~ (softfail), ? (neutral) or + (pass)".into()),
        }))
    }
}

/// Arguments of `mailauth record spf`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the record as quoted 255-byte strings (zone-file form; with --domain a whole zone-file \
line), then its DNS-lookup cost: the record's own DNS-querying terms plus what its includes \
and redirect add, resolved through --zone/--resolver/system DNS. A cost over 10 is a \
permerror for every receiver (RFC 7208 §4.6.4) and makes the command exit 1.

Example:
  mailauth record spf --mx --ip4 192.0.2.0/24 --include _spf.mailer.example --all -")]
pub struct RecordSpfArgs {
    /// Authorize these IPv4 addresses or networks (ADDR or ADDR/PREFIX).
    #[arg(long, value_name = "ADDR[/LEN]")]
    pub ip4: Vec<String>,
    /// Authorize these IPv6 addresses or networks.
    #[arg(long, value_name = "ADDR[/LEN]")]
    pub ip6: Vec<String>,
    /// Authorize what these domains' SPF records authorize.
    #[arg(long, value_name = "DOMAIN")]
    pub include: Vec<String>,
    /// Authorize the domain's MX hosts.
    #[arg(long)]
    pub mx: bool,
    /// Authorize the domain's A/AAAA addresses.
    #[arg(long)]
    pub a: bool,
    /// What to say about everyone else: - fail (recommended), ~ softfail, ? neutral.
    #[arg(long, value_name = "-|~|?", default_value = "~")]
    pub all: AllQualifier,
    /// The domain the record is for: prints a zone-file line and resolves a/mx costs there.
    #[arg(long)]
    pub domain: Option<String>,
}

pub async fn record_spf(global: &GlobalArgs, args: RecordSpfArgs) -> Result<Outcome> {
    if args.all.0 == Qualifier::Pass {
        bail!("--all + would authorize every host on the Internet; use -, ~ or ?");
    }
    let record = build::from_policy(&build::Policy {
        a: args.a,
        mx: args.mx,
        ip4: &args.ip4,
        ip6: &args.ip6,
        include: &args.include,
        all: Some(args.all.0),
    })?;
    let text = build::record(&record);
    let resolver = global.resolver()?;
    let domain = args.domain.as_deref().unwrap_or("");
    let cost = lookup_cost(resolver.as_ref(), &record, domain).await;
    if global.json {
        print_json(&serde_json::json!({
            "record": text,
            "strings": mailauth::dns::split_txt(text.as_bytes())
                .iter()
                .map(|s| String::from_utf8_lossy(s))
                .collect::<Vec<_>>(),
            "lookups": cost,
        }))?;
    } else {
        match &args.domain {
            Some(d) => println!("{}", mailauth::dns::zone_txt_line(d, None, text.as_bytes())),
            None => println!(
                "{}",
                mailauth::dns::split_txt(text.as_bytes())
                    .iter()
                    .map(|s| mailauth::dns::quote_string(s))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
        eprintln!("{}", cost.summary());
    }
    if cost.total > mailauth::spf::MAX_DNS_MECHANISMS {
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}
