//! `mailauth rotate`, `mailauth status` and `mailauth export`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::publish::Answerers;
use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::{Config, DomainConfig};
use mailauth::export::{ExportKey, ExportKind};
use mailauth::keys::{KeySpec, KeyStore};
use mailauth::rotate::executor::Rotation;
use mailauth::rotate::step::upcoming;
use mailauth::rotate::{KeyState, Policy, RotationState};
use mailauth_base::DomainName;

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
    /// Only these domains (normalised: lower case, no trailing dot).
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<DomainName>,
    /// Say what the next step would be, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `mailauth export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Which signer's configuration to write.
    #[arg(value_enum)]
    pub kind: ExportKind,
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

/// The domain's rotation timing in the library's terms. With [`export_kinds`] below, the only
/// place that reads `RotationConfig`'s fields.
fn policy(domain: &DomainConfig) -> Option<Policy> {
    let r = domain.rotation.as_ref()?;
    Some(Policy {
        algorithms: r.algorithms.clone(),
        rotate_every: r.rotate_every.get(),
        propagation: r
            .propagation
            .map_or(u64::from(domain.ttl), |p| p.get())
            .max(u64::from(domain.ttl)),
        overlap: r.overlap.get(),
        revoked_for: r.revoked_for.get(),
    })
}

/// The domains with a rotation section, or those `wanted` names (normalised, as `plan --domain`
/// does); a wanted domain without one is an error rather than silently nothing.
fn selected<'c>(
    config: &'c Config,
    file: &Path,
    wanted: &[DomainName],
) -> Result<Vec<(&'c DomainName, &'c DomainConfig)>> {
    for name in wanted {
        if config
            .domains
            .get(name)
            .is_none_or(|d| d.rotation.is_none())
        {
            bail!(
                "{name} has no [domains.\"{name}\".rotation] section in {}",
                file.display()
            );
        }
    }
    Ok(config
        .domains
        .iter()
        .filter(|(name, domain)| {
            domain.rotation.is_some() && (wanted.is_empty() || wanted.contains(name))
        })
        .collect())
}

fn rotation<'a>(
    config: &Config,
    dir: &Path,
    name: &DomainName,
    domain: &DomainConfig,
    provider: &'a dyn mailauth_providers::Provider,
    answerers: Answerers,
) -> Result<Option<Rotation<'a>>> {
    let (Some(policy), Some(r)) = (policy(domain), domain.rotation.as_ref()) else {
        return Ok(None);
    };
    Ok(Some(Rotation {
        domain: name.clone(),
        policy,
        store: KeyStore::new(config.key_dir(dir)),
        provider,
        ttl: domain.ttl,
        // The answerers' own error type is kept as the source, so its kind decides the exit.
        servers: Box::new(move || answerers.open().map_err(Into::into)),
        exports: r.exports.clone(),
        export_dir: dir.join(
            r.export_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("exports")),
        ),
        on_switch: r.on_switch.clone(),
    }))
}

pub async fn rotate(global: &GlobalArgs, args: RotateArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = config_dir(&args.config);
    let now = global.now()?;
    let mut reports = Vec::new();
    for (name, domain) in selected(&config, &args.config, &args.domains)? {
        let (provider, zone_file) =
            super::publish::build_provider(domain.provider.get_ref(), &config, &dir)?;
        let answerers = Answerers::find(global, zone_file.as_deref(), name).await?;
        let Some(rotation) = rotation(&config, &dir, name, domain, provider.as_ref(), answerers)?
        else {
            continue;
        };
        let report = rotation
            .run(now, args.dry_run)
            .await
            .with_context(|| format!("rotating {name}"))?;
        if !global.json {
            for action in &report.done {
                println!("{name}: {}", action.done());
            }
            println!("{name}: {}; next: {}", report.stopped, report.next);
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
    for (name, domain) in selected(&config, &args.config, &args.domains)? {
        let Some(policy) = policy(domain) else {
            continue;
        };
        let state = RotationState::load(&store, name)?.unwrap_or_default();
        let next = upcoming(&state, &policy, now);
        if global.json {
            all.push(serde_json::json!({"domain": name, "keys": state.keys, "next": next}));
            continue;
        }
        println!("{name}: next: {next}");
        for key in state.keys.iter().filter(|k| k.state != KeyState::Deleted) {
            println!(
                "  {:<24} {:<8} {:<9} for {} days",
                key.selector,
                key.algorithm.as_str(),
                key.state,
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
        let active: Vec<(String, KeySpec)> = match RotationState::load(&store, name)? {
            Some(state) => state
                .active()
                .map(|k| (k.selector.clone(), k.algorithm))
                .collect(),
            // Without rotation: the configured selectors.
            None => domain
                .dkim
                .iter()
                .map(|d| (d.selector.clone(), d.algorithm))
                .collect(),
        };
        for (selector, algorithm) in active {
            keys.push(ExportKey::from_store(&store, name, &selector, algorithm)?);
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
    let files = mailauth::export::render(args.kind, &keys, &out_dir);
    for path in mailauth::export::write(&out_dir, &files)? {
        println!("wrote {}", path.display());
    }
    Ok(Outcome::Success)
}
