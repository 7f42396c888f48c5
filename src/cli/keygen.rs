//! `mailauth keygen`.

use anyhow::{Context, Result};
use clap::Args;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::dkim::build;
use mailauth::dns;
use mailauth::keys::{KeySpec, KeyStore, generate};
use mailauth_base::DomainName;

/// Arguments of `mailauth keygen`.
#[derive(Debug, Args)]
#[command(after_help = "\
The key is written to KEY_DIR/DOMAIN/SELECTOR.pem (PKCS#8 PEM, mode 0600, directories 0700). An \
existing key is never overwritten. The DNS record to publish is printed as a zone-file line, its \
value split into 255-byte strings; with --json as {domain, selector, algorithm, record_name, \
record_value, private_key_path}. The private key itself is never printed.

Examples:
  mailauth keygen example.com
  mailauth keygen example.com --algorithm ed25519 --selector 2026-ed
  mailauth keygen example.com --key-dir /etc/mailauth/keys --json")]
pub struct KeygenArgs {
    /// The domain the key signs for (the `d=` of signatures).
    pub domain: DomainName,
    /// The selector (`s=`); the record is published at SELECTOR._domainkey.DOMAIN.
    /// Default: the date and key kind, e.g. 20261125-rsa or 20261125-ed25519 (from --now or the
    /// clock, UTC).
    #[arg(long, short = 's')]
    pub selector: Option<String>,
    /// Key type and size. RSA-1024 is only ever verified, never generated (RFC 8301).
    #[arg(long, short = 'a', value_name = "ALG", value_enum, default_value_t = KeySpec::Rsa2048)]
    pub algorithm: KeySpec,
    /// The key store directory.
    #[arg(long, value_name = "DIR", default_value = "keys")]
    pub key_dir: std::path::PathBuf,
    /// TTL written in the zone-file line (omitted by default, so the zone's $TTL applies).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u32>,
}

/// The documented default selector: `YYYYMMDD-rsa` or `YYYYMMDD-ed25519` for the UTC date of `now`.
pub fn default_selector(now: u64, spec: KeySpec) -> String {
    let date = chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(i64::MAX), 0)
        .unwrap_or_default()
        .format("%Y%m%d");
    let kind = match spec {
        KeySpec::Ed25519 => "ed25519",
        _ => "rsa",
    };
    format!("{date}-{kind}")
}

pub fn run(global: &GlobalArgs, args: KeygenArgs) -> Result<Outcome> {
    let spec = args.algorithm;
    let domain = args.domain;
    let selector = match args.selector {
        Some(s) => s,
        None => default_selector(global.now()?, spec),
    };
    let store = KeyStore::new(&args.key_dir);
    // Refuse before spending time on generation.
    store.check_absent(&domain, &selector)?;
    let key = generate(spec)?;
    let path = store
        .write(&domain, &selector, &key)
        .with_context(|| format!("writing the key for {selector}._domainkey.{domain}"))?;
    let value = build::published_record(&key);
    let name = format!("{selector}._domainkey.{domain}");
    if global.json {
        print_json(&serde_json::json!({
            "domain": domain,
            "selector": selector,
            "algorithm": spec.as_str(),
            "record_name": name,
            "record_value": value,
            "private_key_path": path.display().to_string(),
        }))?;
    } else {
        println!("{}", dns::zone_txt_line(&name, args.ttl, value.as_bytes()));
        eprintln!(
            "mailauth: wrote the private key to {} (mode 0600)",
            path.display()
        );
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_selector_is_the_utc_date_and_kind() {
        // 2026-11-25T23:59:59Z
        assert_eq!(
            default_selector(1_795_651_199, KeySpec::Rsa2048),
            "20261125-rsa"
        );
        assert_eq!(
            default_selector(1_795_651_199, KeySpec::Ed25519),
            "20261125-ed25519"
        );
    }
}
