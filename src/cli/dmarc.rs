//! `mailauth record dmarc`: build a DMARC policy record.

use anyhow::{Context, Result};
use clap::Args;
use mailauth_base::DomainName;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::dmarc::{AlignmentMode, DmarcRecord, Policy, build, parse};

/// Arguments of `mailauth record dmarc`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the record (with --domain as a zone-file line for _dmarc.DOMAIN). Reports sent to a \
domain other than DOMAIN need that domain to authorize them with a record at \
DOMAIN._report._dmarc.REPORT-DOMAIN (RFC 7489 §7.1); the command reminds you.

Example:
  mailauth record dmarc --policy quarantine --rua mailto:dmarc@example.com --domain example.com")]
pub struct RecordDmarcArgs {
    /// What receivers should do with failing mail: none, quarantine or reject.
    #[arg(long, short = 'p', value_parser = parse_policy)]
    pub policy: Policy,
    /// Policy for subdomains (sp=); default: the same as --policy.
    #[arg(long, value_parser = parse_policy)]
    pub sp: Option<Policy>,
    /// Aggregate report address(es), mailto:ADDR[!SIZE] (rua=; repeatable).
    #[arg(long, value_name = "URI")]
    pub rua: Vec<String>,
    /// Failure report address(es) (ruf=; repeatable).
    #[arg(long, value_name = "URI")]
    pub ruf: Vec<String>,
    /// DKIM alignment: r (relaxed, default) or s (strict).
    #[arg(long, value_parser = parse_mode)]
    pub adkim: Option<AlignmentMode>,
    /// SPF alignment: r (relaxed, default) or s (strict).
    #[arg(long, value_parser = parse_mode)]
    pub aspf: Option<AlignmentMode>,
    /// Apply the policy to this percentage of failing mail (pct=, 0-100).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub pct: Option<u8>,
    /// The domain the record is for: prints the zone-file line for _dmarc.DOMAIN.
    #[arg(long)]
    pub domain: Option<DomainName>,
}

fn parse_policy(text: &str) -> Result<Policy, String> {
    Policy::from_name(text).ok_or_else(|| "expected none, quarantine or reject".into())
}

fn parse_mode(text: &str) -> Result<AlignmentMode, String> {
    match text {
        "r" | "relaxed" => Ok(AlignmentMode::Relaxed),
        "s" | "strict" => Ok(AlignmentMode::Strict),
        _ => Err("expected r (relaxed) or s (strict)".into()),
    }
}

pub fn record_dmarc(global: &GlobalArgs, args: RecordDmarcArgs) -> Result<Outcome> {
    let mut record = DmarcRecord::new(args.policy);
    record.subdomain_policy = args.sp;
    record.adkim = args.adkim;
    record.aspf = args.aspf;
    record.pct = args.pct;
    for (tag, values, into) in [
        ("rua", &args.rua, &mut record.rua),
        ("ruf", &args.ruf, &mut record.ruf),
    ] {
        for value in values {
            into.extend(parse::uris(tag, value).with_context(|| format!("--{tag} {value}"))?);
        }
    }
    let text = build::record(&record);
    // What the builder writes must read back identically.
    parse::record(text.as_bytes()).context("internal error: the built record does not parse")?;
    let mut notes = Vec::new();
    if let Some(domain) = &args.domain {
        for uri in record.rua.iter().chain(&record.ruf) {
            let target = uri.uri.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            if !mailauth::dmarc::orgdomain::relaxed_match(target, domain) {
                notes.push(format!(
                    "{target} must authorize reports for {domain}: publish \"v=DMARC1\" at {domain}._report._dmarc.{target} (RFC 7489 §7.1)"
                ));
            }
        }
    }
    if args.policy == Policy::None {
        notes.push("p=none only monitors: receivers take no action on failing mail".into());
    }
    if global.json {
        print_json(&serde_json::json!({
            "record": text,
            "name": args.domain.as_ref().map(|d| format!("_dmarc.{d}")),
            "notes": notes,
        }))?;
    } else {
        match &args.domain {
            Some(d) => println!(
                "{}",
                mailauth::dns::zone_txt_line(&format!("_dmarc.{d}"), None, text.as_bytes())
            ),
            None => println!("{}", mailauth::dns::quote_string(text.as_bytes())),
        }
        for note in notes {
            eprintln!("note: {note}");
        }
    }
    Ok(Outcome::Success)
}
