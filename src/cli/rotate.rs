//! `mailauth rotate`, `mailauth status` and `mailauth export`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::publish::Answerers;
use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::{Config, DomainConfig, duration};
use mailauth::keys::KeyStore;
use mailauth::rotate::executor::Rotation;
use mailauth::rotate::{KeyState, Policy};

/// Arguments of `mailauth rotate` and `mailauth status`.
#[derive(Debug, Args)]
#[command(after_help = "\
rotate advances each domain with a [domains.\"D\".rotation] section as far as is safe now and \
exits: generate a key, publish it, wait until every authoritative server serves it, switch the \
signer (write exports, run on_switch), keep the old key published for the overlap, revoke it \
(empty p=), then delete it. Run it from cron or a systemd timer (see contrib/); runs are \
idempotent, locked per domain, and resume after a crash.

Exit status: 0 done or waiting, 2 bad configuration, 3 provider or DNS unreachable.")]
pub struct RotateArgs {
    /// The configuration file.
    #[arg(long, default_value = "mailauth.toml")]
    pub config: PathBuf,
    /// Only these domains.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Say what the next step would be, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `mailauth export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// opendkim, rspamd or exim.
    #[arg(value_parser = ["opendkim", "rspamd", "exim"])]
    pub kind: String,
    /// The configuration file.
    #[arg(long, default_value = "mailauth.toml")]
    pub config: PathBuf,
    /// Where to write (default: the rotation's export_dir, or "exports").
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

fn config_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

fn policy(domain: &DomainConfig) -> Option<Policy> {
    let r = domain.rotation.as_ref()?;
    let d = |t: &str| duration(t).unwrap_or(0);
    Some(Policy {
        algorithms: r.algorithms.clone(),
        rotate_every: d(&r.rotate_every),
        propagation: r
            .propagation
            .as_deref()
            .map(d)
            .unwrap_or(u64::from(domain.ttl))
            .max(u64::from(domain.ttl)),
        overlap: d(&r.overlap),
        revoked_for: d(&r.revoked_for),
    })
}

fn rotation<'a>(
    config: &Config,
    dir: &Path,
    name: &str,
    domain: &DomainConfig,
    provider: &'a dyn mailauth_providers::Provider,
    answerers: Answerers,
) -> Option<Rotation<'a>> {
    let policy = policy(domain)?;
    let r = domain.rotation.as_ref()?;
    Some(Rotation {
        domain: name.to_owned(),
        policy,
        store: KeyStore::new(config.key_dir(dir)),
        provider,
        ttl: domain.ttl,
        servers: Box::new(move || answerers.open().map_err(|e| e.to_string())),
        exports: r.exports.clone(),
        export_dir: dir.join(
            r.export_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("exports")),
        ),
        on_switch: r.on_switch.clone(),
    })
}

pub async fn rotate(global: &GlobalArgs, args: RotateArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = config_dir(&args.config);
    let now = global.now()?;
    let mut reports = Vec::new();
    for (name, domain) in &config.domains {
        if domain.rotation.is_none() || (!args.domains.is_empty() && !args.domains.contains(name)) {
            continue;
        }
        let (provider, zone_file) =
            super::publish::build_provider(&domain.provider, &config, &dir)?;
        let answerers = Answerers::find(global, zone_file.as_deref(), name).await?;
        let Some(rotation) = rotation(&config, &dir, name, domain, provider.as_ref(), answerers)
        else {
            continue;
        };
        let report = rotation
            .run(now, args.dry_run)
            .await
            .with_context(|| format!("rotating {name}"))?;
        if !global.json {
            for step in &report.done {
                println!("{name}: {step}");
            }
            let due = report
                .next_due
                .and_then(|t| chrono::DateTime::from_timestamp(i64::try_from(t).ok()?, 0))
                .map(|t| format!(" (next step due {})", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            println!("{name}: {}{due}", report.waiting);
        }
        reports.push(report);
    }
    if global.json {
        print_json(&serde_json::to_value(&reports)?)?;
    }
    Ok(Outcome::Success)
}

pub fn status(global: &GlobalArgs, args: RotateArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = config_dir(&args.config);
    let now = global.now()?;
    let store = KeyStore::new(config.key_dir(&dir));
    let mut all = Vec::new();
    for (name, domain) in &config.domains {
        let Some(policy) = policy(domain) else {
            continue;
        };
        if !args.domains.is_empty() && !args.domains.contains(name) {
            continue;
        }
        let state = mailauth::rotate::RotationState::load(&store, name)
            .map_err(anyhow::Error::msg)?
            .unwrap_or_default();
        let next = mailauth::rotate::step::next_action(&state, &policy, now);
        if global.json {
            all.push(serde_json::json!({"domain": name, "keys": state.keys, "next": format!("{next:?}")}));
            continue;
        }
        println!("{name}: next {next:?}");
        for key in state.keys.iter().filter(|k| k.state != KeyState::Deleted) {
            println!(
                "  {:<24} {:<8} {:<9} for {} days",
                key.selector,
                key.algorithm,
                key.state.as_str(),
                now.saturating_sub(key.since) / 86_400
            );
        }
    }
    if global.json {
        print_json(&serde_json::Value::Array(all))?;
    }
    Ok(Outcome::Success)
}

pub fn export(_global: &GlobalArgs, args: ExportArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = config_dir(&args.config);
    let store = KeyStore::new(config.key_dir(&dir));
    let mut keys = Vec::new();
    let mut out_dir = args.dir.clone();
    for (name, domain) in &config.domains {
        let active: Vec<(String, String)> = match mailauth::rotate::RotationState::load(
            &store, name,
        )
        .map_err(anyhow::Error::msg)?
        {
            Some(state) => state
                .active()
                .map(|k| (k.selector.clone(), k.algorithm.clone()))
                .collect(),
            // Without rotation: the configured selectors.
            None => domain
                .dkim
                .iter()
                .map(|d| (d.selector.clone(), d.algorithm.clone()))
                .collect(),
        };
        for (selector, algorithm) in active {
            keys.push(mailauth::export::ExportKey::from_store(
                &store, name, &selector, &algorithm,
            )?);
        }
        if out_dir.is_none() {
            out_dir = domain
                .rotation
                .as_ref()
                .and_then(|r| r.export_dir.clone())
                .map(|d| dir.join(d));
        }
    }
    if keys.is_empty() {
        bail!("no active keys in {}", args.config.display());
    }
    let out_dir = out_dir.unwrap_or_else(|| dir.join("exports"));
    let files = mailauth::export::render(&args.kind, &keys, &out_dir);
    for path in mailauth::export::write(&out_dir, &files)? {
        println!("wrote {}", path.display());
    }
    Ok(Outcome::Success)
}
