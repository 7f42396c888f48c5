//! `mailauth record dmarc`: build a DMARC policy record as RFC 9989 describes it (`np=`, `psd=`,
//! `t=`), still writing RFC 7489's `pct=` when asked, with a warning.

use anyhow::{Context, Result};
use clap::Args;
use mailauth_base::DomainName;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::dmarc::build::{Psd, Rfc9989Tags};
use mailauth::dmarc::{AlignmentMode, DmarcRecord, Policy, build, parse};

/// Arguments of `mailauth record dmarc`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the record (with --domain as a zone-file line for _dmarc.DOMAIN). Reports sent to a \
domain other than DOMAIN need that domain to authorize them with a record at \
DOMAIN._report._dmarc.REPORT-DOMAIN (RFC 7489 §7.1); the command reminds you.

Records follow RFC 9989: --np sets the policy for subdomains that do not exist, --psd declares whether DOMAIN is a public suffix domain (y is for public suffix operators; n makes DOMAIN the organizational domain of its subdomains), --testing asks receivers to apply one level below the policy (t=y). RFC 9989 removed pct=: --pct still writes it for receivers that follow RFC 7489, and warns.

Example:
  mailauth record dmarc --policy quarantine --np reject --rua mailto:dmarc@example.com --domain example.com")]
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
    /// Policy for non-existent subdomains (np=, RFC 9989); default: --sp, else --policy.
    #[arg(long, value_parser = parse_policy)]
    pub np: Option<Policy>,
    /// Whether DOMAIN is a public suffix domain (psd=, RFC 9989): y, n or u (the default).
    #[arg(long, value_parser = parse_psd)]
    pub psd: Option<Psd>,
    /// Testing (t=y, RFC 9989): receivers apply one level below the policy.
    #[arg(long)]
    pub testing: bool,
    /// Apply the policy to this percentage of failing mail (pct=, 0-100). RFC 9989 removed it;
    /// only receivers that still follow RFC 7489 read it.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub pct: Option<u8>,
    /// The domain the record is for: prints the zone-file line for _dmarc.DOMAIN.
    #[arg(long)]
    pub domain: Option<DomainName>,
}

fn parse_policy(text: &str) -> Result<Policy, String> {
    Policy::from_name(text).ok_or_else(|| "expected none, quarantine or reject".into())
}

fn parse_psd(text: &str) -> Result<Psd, String> {
    Psd::from_name(text).ok_or_else(|| "expected y, n or u".into())
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
    let added = Rfc9989Tags {
        np: args.np,
        psd: args.psd,
        testing: args.testing.then_some(true),
    };
    let text = build::record_with(&record, &added);
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
    notes.extend(rfc9989_notes(&args));
    let warnings: Vec<String> = args
        .pct
        .map(|pct| pct_warning(pct, args.testing))
        .into_iter()
        .collect();
    if global.json {
        print_json(&serde_json::json!({
            "record": text,
            "name": args.domain.as_ref().map(|d| format!("_dmarc.{d}")),
            "notes": notes,
            "warnings": warnings,
        }))?;
    } else {
        match &args.domain {
            Some(d) => println!(
                "{}",
                mailauth::dns::zone_txt_line(&format!("_dmarc.{d}"), None, text.as_bytes())
            ),
            None => println!("{}", mailauth::dns::quote_string(text.as_bytes())),
        }
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
        for note in notes {
            eprintln!("note: {note}");
        }
    }
    Ok(Outcome::Success)
}

/// RFC 9989 removed `pct=` (Appendix C.5.2, Tags Removed; why in Appendix A.6): say what each kind
/// of receiver does with it, and what replaces it.
fn pct_warning(pct: u8, testing: bool) -> String {
    let successor = match (pct, testing) {
        (100, _) => "; 100 is RFC 7489's default as well: leave --pct out",
        (0, true) => "; t=y is its RFC 9989 successor: keep both while receivers move",
        (0, false) => {
            "; t=y (--testing) is its RFC 9989 successor: publish both while receivers move"
        }
        (_, true) => "; t=y already asks RFC 9989 receivers for one level below the policy",
        (_, false) => "; use --testing (t=y) to ask for one level below the policy instead",
    };
    format!(
        "pct={pct}: RFC 9989 removed pct=, so receivers following it ignore the tag and apply the \
         policy to all failing mail; receivers still on RFC 7489 read it and apply the policy to \
         {pct}% of failing mail{successor}"
    )
}

/// What the RFC 9989 flags mean for this record, where it is easy to get wrong.
fn rfc9989_notes(args: &RecordDmarcArgs) -> Vec<String> {
    let mut notes = Vec::new();
    if args.psd == Some(Psd::Yes) {
        notes.push(
            "psd=y declares the domain a public suffix domain (for public suffix operators): \
             receivers then treat each of its subdomains as an organizational domain of its own \
             (RFC 9989 §4.7)"
                .to_owned(),
        );
    }
    let all_none = [Some(args.policy), args.sp, args.np]
        .into_iter()
        .flatten()
        .all(|p| p == Policy::None);
    if args.testing && all_none {
        notes.push("t=y has no effect on a policy of none (RFC 9989 §4.7)".to_owned());
    }
    notes
}
