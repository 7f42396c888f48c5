//! `mailauth dane next`: record the key a mail server will switch to, so `mailauth rotate`
//! publishes its TLSA `3 1 1` digest beside the current one (RFC 7671 §8.1). Only the digest of
//! the public key is kept; the key file is read, never copied or printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::Config;
use mailauth::keys::KeyStore;
use mailauth::rotate::RotationState;
use mailauth::rotate::dane::{Observer, TlsaRollover, judge, spki_digest};
use mailauth_base::DomainName;

/// `mailauth dane ...`.
#[derive(Debug, Subcommand)]
pub enum DaneCommand {
    /// Record the next key of a mail server for the TLSA rollover `mailauth rotate` drives.
    Next(NextArgs),
}

/// Arguments of `mailauth dane next`.
#[derive(Debug, Args)]
#[command(after_help = "\
Reads the key file (a private or public key PEM), keeps only the SHA-256 of its \
SubjectPublicKeyInfo (TLSA 3 1 1) in the domain's rotation state, and connects to every address \
of the host (STARTTLS) to check what it presents now. The first time, the key the server \
presents is recorded as the current one. A server presenting a key that is neither the current \
nor the next one is refused (dane.live_key_unknown, exit 1): nothing is recorded.

Then `mailauth rotate` publishes current + next, waits until they are served, watches the \
server switch to the next key, and removes the old digest two TTLs after the switch.

Example (an ACME client that pre-generates the next key):
  mailauth dane next --key /etc/letsencrypt/next/privkey.pem --host mx.example.com")]
pub struct NextArgs {
    /// The next key (PEM: PKCS#8, PKCS#1 RSA, SEC1 EC, or a public key).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The MX host whose key rolls over.
    #[arg(long, value_name = "MX")]
    pub host: String,
    /// Its SMTP port (the TLSA name is `_PORT._tcp.MX`).
    #[arg(long, default_value_t = 25)]
    pub port: u16,
    /// The configuration file (for the key store and the domain).
    #[arg(long, default_value = "mailauth.toml")]
    pub config: PathBuf,
    /// The domain whose provider publishes the TLSA records (default: the configured domain
    /// the host is in).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<DomainName>,
}

pub async fn dane(global: &GlobalArgs, command: DaneCommand) -> Result<Outcome> {
    match command {
        DaneCommand::Next(args) => next(global, args).await,
    }
}

/// The configured domain `host` is in (the longest match), or the one given.
fn domain_of<'c>(
    config: &'c Config,
    host: &str,
    given: Option<&DomainName>,
) -> Result<&'c DomainName> {
    if let Some(given) = given {
        return config
            .domains
            .get_key_value(given)
            .map(|(name, _)| name)
            .with_context(|| format!("{given} is not a domain of the configuration"));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    config
        .domains
        .keys()
        .filter(|d| host == d.as_str() || host.ends_with(&format!(".{d}")))
        .max_by_key(|d| d.as_str().len())
        .with_context(|| format!("{host} is in no configured domain; say which with --domain"))
}

async fn next(global: &GlobalArgs, args: NextArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = args
        .config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let domain = domain_of(&config, &args.host, args.domain.as_ref())?.clone();
    let digest = key_digest(&args.key)?;
    let observer = Observer {
        resolver: global.resolver()?,
        timeout: Duration::from_secs(10),
    };
    let live = observer.live(&args.host, args.port).await?;
    let store = KeyStore::new(config.key_dir(&dir));
    let _lock = mailauth::rotate::lock::lock_domain(&store, &domain)?;
    let mut state = RotationState::load(&store, &domain)?.unwrap_or_default();
    let name = mailauth::transport::dane::tlsa_name(&args.host, args.port);
    let index = match state.tlsa.iter().position(|r| r.name == name) {
        Some(index) => index,
        None => {
            state.tlsa.push(TlsaRollover::new(&args.host, args.port));
            state.tlsa.len() - 1
        }
    };
    let now = global.now()?;
    let rollover = &mut state.tlsa[index];
    if rollover.entries.is_empty() {
        let mut seen: Vec<&str> = live.iter().map(|(_, d)| d.as_str()).collect();
        seen.dedup();
        match seen.as_slice() {
            [one] if *one == digest => bail!(
                "{name}: the server already presents this key; record the key it will switch to"
            ),
            [one] => rollover.adopt(one, now),
            _ => bail!(
                "{name}: the addresses of {} present different keys ({}); cannot tell which is current",
                args.host,
                seen.join(", ")
            ),
        }
    }
    judge(rollover, &live)?;
    if let Err(refused) = rollover.set_next(&digest, now) {
        bail!("{name}: {refused}; nothing recorded");
    }
    state.save(&store, &domain)?;
    if global.json {
        print_json(&serde_json::json!({"name": name, "next": digest, "domain": domain}))?;
    } else {
        println!("{name}: next key {digest} recorded; `mailauth rotate` publishes it");
    }
    Ok(Outcome::Success)
}

/// The `3 1 1` digest of the key file's public key.
fn key_digest(path: &Path) -> Result<String> {
    let spki = mailauth::transport::dane::spki_of_key_file(path)?;
    Ok(spki_digest(&spki))
}
