//! `mailauth record mta-sts|tls-rpt|tlsa` and `mailauth mta-sts policy`: build the transport
//! security records (issue 16) and the MTA-STS policy file, from flags or from `mailauth.toml`.
//!
//! The library builds the texts (`transport::mta_sts`, `tls_rpt`, `dane`); this file turns
//! flags into their inputs, writes files and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use mailauth_base::DomainName;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::{Config, DomainConfig};
use mailauth::records::{self, StsPolicyState};
use mailauth::transport::{dane, mta_sts, tls_rpt};

/// Arguments of `mailauth record mta-sts`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the _mta-sts TXT record (RFC 8461 §3.1) that tells sending servers a policy exists and \
which version it is. Change the id whenever the policy file changes, and only after the new file \
is served: `mailauth mta-sts policy` does both for a configured domain and prints this record.

Examples:
  mailauth record mta-sts --id 20261129T120000Z1a2b3c
  mailauth record mta-sts --id 20261129T120000Z1a2b3c --domain example.com --json")]
pub struct RecordMtaStsArgs {
    /// The policy id: 1 to 32 letters and digits (RFC 8461 §3.1).
    #[arg(long)]
    pub id: String,
    /// The domain: prints the absolute name _mta-sts.DOMAIN. instead of the relative _mta-sts.
    #[arg(long)]
    pub domain: Option<DomainName>,
}

/// Arguments of `mailauth record tls-rpt`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the _smtp._tls TXT record (RFC 8460 §3) that tells sending servers where to send daily \
reports of their TLS successes and failures with your MX hosts. Only mailto: and https: URIs are \
allowed.

Examples:
  mailauth record tls-rpt --rua mailto:tlsrpt@example.com
  mailauth record tls-rpt --rua mailto:tlsrpt@example.com https://reports.example.com/v1 --domain example.com")]
pub struct RecordTlsRptArgs {
    /// Report URIs: mailto:ADDRESS or https://URL (one or more).
    #[arg(long, value_name = "URI", num_args = 1.., required = true)]
    pub rua: Vec<String>,
    /// The domain: prints the absolute name _smtp._tls.DOMAIN. instead of the relative _smtp._tls.
    #[arg(long)]
    pub domain: Option<DomainName>,
}

/// Arguments of `mailauth record tlsa`.
#[derive(Debug, Args)]
#[command(after_help = "\
Prints the TLSA record (RFC 6698, DANE for SMTP RFC 7672) for a mail server's certificate at \
_PORT._tcp.HOST. The default 3 1 1 (DANE-EE, public key, SHA-256) survives certificate renewals \
that keep the key. With usage 3 the file's first certificate (the server's own) is used; with \
usage 2 (DANE-TA) its last one (the issuer at the top of the chain given). Publish it only in a \
DNSSEC-signed zone; before changing the key, publish the next key's record beside this one.

Examples:
  mailauth record tlsa --cert /etc/postfix/cert.pem --host mx1.example.com
  mailauth record tlsa --cert chain.pem --host mx1.example.com --usage 2 --selector 0 --matching 2 --json")]
pub struct RecordTlsaArgs {
    /// The certificate file (PEM, a chain is fine, or DER).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The MX host name the record is for.
    #[arg(long, value_name = "MX")]
    pub host: DomainName,
    /// The SMTP port.
    #[arg(long, default_value_t = 25)]
    pub port: u16,
    /// Certificate usage: 3 DANE-EE or 2 DANE-TA (RFC 7672 §3.1; 0 and 1 are ignored for SMTP).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub usage: u8,
    /// Selector: 1 the public key (SubjectPublicKeyInfo) or 0 the whole certificate.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub selector: u8,
    /// Matching type: 1 SHA-256, 2 SHA-512 or 0 the data itself.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub matching: u8,
}

/// `mailauth mta-sts ...`.
#[derive(Debug, Subcommand)]
pub enum MtaStsCommand {
    /// Write the MTA-STS policy file for the web root of https://mta-sts.DOMAIN/ and print its id.
    Policy(PolicyArgs),
}

/// Arguments of `mailauth mta-sts policy`.
#[derive(Debug, Args)]
#[command(after_help = "\
Builds the policy from [domains.\"DOMAIN\".mta_sts] in the configuration (mode, max_age, mx; \
without mx, the domain's MX hosts from DNS) and writes it atomically to \
DIR/.well-known/mta-sts.txt, DIR being --out or the section's policy_dir. Its id is kept in \
mailauth-mta-sts.DOMAIN.json beside the configuration file (never in the web root): the same id \
while the policy text is unchanged, a new one (UTC time and a hash of the text) when it changes.

Then, in this order (RFC 8461 §8.1): serve the file at \
https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and run `mailauth publish`, which fetches the \
served file and refuses to change the _mta-sts id until it matches.

Examples:
  mailauth mta-sts policy --domain example.com --out /var/www/mta-sts
  mailauth --now 2026-11-29T12:00:00Z mta-sts policy --json")]
pub struct PolicyArgs {
    /// The configuration file.
    #[arg(long, default_value = "mailauth.toml")]
    pub config: PathBuf,
    /// The domain (default: the only domain with an mta_sts section).
    #[arg(long)]
    pub domain: Option<DomainName>,
    /// The web root to write .well-known/mta-sts.txt under (default: the section's policy_dir).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// A record as the `record` commands print it with `--json`.
fn record_json(name: &str, rtype: &str, value: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "type": rtype, "value": value})
}

/// Print a TXT record: a zone-file line, absolute when the domain is known.
fn print_txt(
    global: &GlobalArgs,
    label: &str,
    domain: Option<&DomainName>,
    value: &str,
) -> Result<()> {
    let name = match domain {
        Some(d) => format!("{label}.{d}"),
        None => label.to_owned(),
    };
    if global.json {
        return print_json(&record_json(&name, "TXT", value));
    }
    match domain {
        Some(_) => println!(
            "{}",
            mailauth::dns::zone_txt_line(&name, None, value.as_bytes())
        ),
        None => println!(
            "{name} IN TXT {}",
            mailauth::dns::quote_string(value.as_bytes())
        ),
    }
    Ok(())
}

/// An MTA-STS policy id: 1 to 32 letters and digits (RFC 8461 §3.1).
fn check_sts_id(id: &str) -> Result<()> {
    if !mta_sts::valid_id(id) {
        bail!("--id {id:?}: an MTA-STS id is 1 to 32 letters and digits (RFC 8461 §3.1)");
    }
    Ok(())
}

pub fn record_mta_sts(global: &GlobalArgs, args: RecordMtaStsArgs) -> Result<Outcome> {
    check_sts_id(&args.id)?;
    let value = mta_sts::build_record(&args.id);
    print_txt(global, "_mta-sts", args.domain.as_ref(), &value)?;
    Ok(Outcome::Success)
}

pub fn record_tls_rpt(global: &GlobalArgs, args: RecordTlsRptArgs) -> Result<Outcome> {
    for uri in &args.rua {
        mailauth::config::tls_rpt_uri(uri).map_err(anyhow::Error::msg)?;
    }
    let value = tls_rpt::build_record(&args.rua).context("--rua")?;
    print_txt(global, "_smtp._tls", args.domain.as_ref(), &value)?;
    Ok(Outcome::Success)
}

pub fn record_tlsa(global: &GlobalArgs, args: RecordTlsaArgs) -> Result<Outcome> {
    let chain = dane::read_cert_file(&args.cert)
        .with_context(|| format!("--cert {}", args.cert.display()))?;
    // DANE-TA names the top of the chain given; the other usages the server's own certificate.
    let cert = if args.usage == 2 {
        chain.last()
    } else {
        chain.first()
    };
    let Some(cert) = cert else {
        bail!("--cert {}: no certificate in the file", args.cert.display());
    };
    let tlsa = dane::tlsa_for_cert(cert, args.usage, args.selector, args.matching)
        .with_context(|| format!("--cert {}", args.cert.display()))?;
    let name = dane::tlsa_name(&args.host, args.port);
    if args.usage < 2 {
        eprintln!(
            "warning: usage {}: SMTP clients ignore PKIX-TA (0) and PKIX-EE (1) records (RFC 7672 §3.1.3); use 3 or 2",
            args.usage
        );
    }
    if global.json {
        print_json(&record_json(&name, "TLSA", &tlsa.to_string()))?;
    } else {
        println!("{name}. IN TLSA {tlsa}");
    }
    Ok(Outcome::Success)
}

pub async fn mta_sts(global: &GlobalArgs, command: MtaStsCommand) -> Result<Outcome> {
    match command {
        MtaStsCommand::Policy(args) => policy(global, args).await,
    }
}

/// The directory of a configuration file ("." for a bare name).
pub(super) fn config_dir(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// The domain's MX hosts (preference order, no repeats, null MX left out) when a transport
/// section defaults to them; `None` when none does. A domain with no MX gives an empty list
/// (the records builder then says which field to set); a temporary DNS failure is an error.
pub(super) async fn mx_hosts_if_needed(
    global: &GlobalArgs,
    domain: &DomainName,
    config: &DomainConfig,
) -> Result<Option<Vec<String>>> {
    if !records::needs_mx_hosts(config) {
        return Ok(None);
    }
    let resolver = global.resolver()?;
    let mut mx = match resolver.mx(domain).await {
        Ok(mx) => mx,
        Err(e) if e.is_void() => Vec::new(),
        Err(e) => {
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("looking up the MX hosts of {domain}"));
        }
    };
    mx.sort();
    let mut hosts: Vec<String> = Vec::new();
    for record in mx {
        let host = mailauth::dns::normalize_name(&record.exchange);
        if !host.is_empty() && !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(Some(hosts))
}

/// `mailauth mta-sts policy`: write the policy file and keep its id.
async fn policy(global: &GlobalArgs, args: PolicyArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = config_dir(&args.config);
    let (domain, domain_config) = pick_sts_domain(&config, args.domain.as_ref(), &args.config)?;
    let Some(sts) = &domain_config.mta_sts else {
        bail!(
            "{domain} has no [domains.\"{domain}\".mta_sts] section in {}",
            args.config.display()
        );
    };
    let web_root = match (&args.out, &sts.policy_dir) {
        (Some(out), _) => out.clone(),
        (None, Some(policy_dir)) => dir.join(policy_dir),
        (None, None) => bail!(
            "where should the policy go? give --out DIR, or policy_dir = \"DIR\" under [domains.\"{domain}\".mta_sts]"
        ),
    };
    let mx_hosts = mx_hosts_if_needed(global, domain, domain_config).await?;
    let policy = records::sts_policy(domain, sts, mx_hosts.as_deref())?;
    let text = mta_sts::build_policy(&policy);
    let state_path = records::sts_state_path(&dir, domain);
    let previous = StsPolicyState::load(&state_path)?;
    let now = global.now()?;
    let id = mta_sts::policy_id(
        &text,
        previous
            .as_ref()
            .map(|s| (s.id.as_str(), s.policy.as_str())),
        now,
    );
    let unchanged = previous.as_ref().is_some_and(|s| s.id == id);
    let well_known = web_root.join(".well-known");
    std::fs::create_dir_all(&well_known)
        .with_context(|| format!("creating {}", well_known.display()))?;
    let policy_file = well_known.join("mta-sts.txt");
    mailauth_base::atomic::write(
        &policy_file,
        text.as_bytes(),
        mailauth_base::atomic::WriteOptions::PUBLIC,
    )
    .with_context(|| format!("writing {}", policy_file.display()))?;
    let written = match &previous {
        Some(s) if unchanged => s.written,
        _ => now,
    };
    StsPolicyState {
        id: id.clone(),
        policy: text.clone(),
        written,
    }
    .save(&state_path)?;
    let name = format!("_mta-sts.{domain}");
    let value = mta_sts::build_record(&id);
    if global.json {
        print_json(&serde_json::json!({
            "domain": domain.as_str(),
            "id": id,
            "changed": !unchanged,
            "policy_file": policy_file.display().to_string(),
            "state_file": state_path.display().to_string(),
            "policy": text,
            "record": record_json(&name, "TXT", &value),
        }))?;
        return Ok(Outcome::Success);
    }
    println!("id {id}");
    println!(
        "{}",
        mailauth::dns::zone_txt_line(&name, None, value.as_bytes())
    );
    if unchanged {
        eprintln!(
            "mailauth: {} rewritten; the policy is unchanged, so its id stays {id}",
            policy_file.display()
        );
    } else {
        eprintln!(
            "mailauth: wrote {} with the new id {id}; next: serve it at https://mta-sts.{domain}/.well-known/mta-sts.txt, then `mailauth publish` (it checks the served file before changing the id)",
            policy_file.display()
        );
    }
    Ok(Outcome::Success)
}

/// The domain `mta-sts policy` works on: `--domain`, or the only one with an mta_sts section.
fn pick_sts_domain<'c>(
    config: &'c Config,
    wanted: Option<&DomainName>,
    path: &Path,
) -> Result<(&'c DomainName, &'c DomainConfig)> {
    if let Some(wanted) = wanted {
        return config
            .domains
            .get_key_value(wanted)
            .with_context(|| format!("{wanted} is not configured in {}", path.display()));
    }
    let mut with_sts = config.domains.iter().filter(|(_, c)| c.mta_sts.is_some());
    match (with_sts.next(), with_sts.next()) {
        (Some(only), None) => Ok(only),
        (None, _) => bail!(
            "no domain in {} has an [domains.\"DOMAIN\".mta_sts] section",
            path.display()
        ),
        (Some(_), Some(_)) => bail!(
            "several domains in {} have an mta_sts section: choose one with --domain",
            path.display()
        ),
    }
}
