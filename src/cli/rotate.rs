//! `mailauth rotate`, `mailauth status` and `mailauth export`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::publish::Answerers;
use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::{Config, DomainConfig};
use mailauth::export::{ExportKey, ExportKind};
use mailauth::keys::{KeySpec, KeyStore};
use mailauth::rotate::dane::{
    Observer, TlsaAction, TlsaRollover, TlsaRotation, TlsaTiming, next_action as dane_step,
};
use mailauth::rotate::executor::{RotateError, Rotation};
use mailauth::rotate::lock::{DomainLock, LockHolder, lock_domain};
use mailauth::rotate::step::upcoming;
use mailauth::rotate::{KeyState, Moment, Policy, RotationState};
use mailauth_base::DomainName;

/// Arguments of `mailauth rotate` and `mailauth status`.
#[derive(Debug, Args)]
#[command(after_help = "\
rotate advances each domain with a [domains.\"D\".rotation] section as far as is safe now and \
exits: generate a key, publish it, wait until every authoritative server serves it, switch the \
signer (write exports, run on_switch), keep the old key published for the overlap, revoke it \
(empty p=), then delete it. Run it from cron or a systemd timer (see contrib/); runs are \
idempotent and resume after a crash. Each domain is locked while a run advances it: a run that \
finds a domain locked by another run (a cron run overlapping a slow one) skips that domain, \
naming the process that holds it, and carries on with the others; a lock left by a run that \
was killed is recovered, and said so.

TLSA rollover (after `mailauth dane next --key FILE --host MX`): publish the current and next digests (3 1 1), wait until every authoritative server serves them, watch the server switch to the next key over STARTTLS (the switch is observed, never assumed), then remove the old digest two TTLs after the switch. A server presenting a key that is neither current nor next stops the rollover (dane.live_key_unknown, exit 1) and nothing is changed.

Exit status: 0 done, waiting, or skipped because another run holds the domain, 1 the server presents an unknown key, 2 bad configuration, 3 provider, DNS or mail server unreachable.")]
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

/// The domains with a rotation section or a TLSA rollover in their state, or those `wanted`
/// names (normalised, as `plan --domain` does); a wanted domain with neither is an error rather
/// than silently nothing.
fn selected<'c>(
    config: &'c Config,
    file: &Path,
    wanted: &[DomainName],
) -> Result<Vec<(&'c DomainName, &'c DomainConfig)>> {
    let store = KeyStore::new(config.key_dir(&config_dir(file)));
    let has_tlsa = |name: &DomainName| {
        RotationState::load(&store, name)
            .ok()
            .flatten()
            .is_some_and(|s| !s.tlsa.is_empty())
    };
    let rotated =
        |name: &DomainName, domain: &DomainConfig| domain.rotation.is_some() || has_tlsa(name);
    for name in wanted {
        if config.domains.get(name).is_none_or(|d| !rotated(name, d)) {
            bail!(
                "{name} has no [domains.\"{name}\".rotation] section in {} and no TLSA rollover (mailauth dane next)",
                file.display()
            );
        }
    }
    Ok(config
        .domains
        .iter()
        .filter(|(name, domain)| {
            rotated(name, domain) && (wanted.is_empty() || wanted.contains(name))
        })
        .collect())
}

/// The TLSA rollover's timing: the domain's TTL, and the rotation's propagation wait when it
/// has one (never shorter than the TTL).
fn tlsa_timing(domain: &DomainConfig) -> TlsaTiming {
    let ttl = u64::from(domain.ttl);
    let propagation = domain
        .rotation
        .as_ref()
        .and_then(|r| r.propagation)
        .map_or(ttl, |p| p.get())
        .max(ttl);
    TlsaTiming { ttl, propagation }
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
    let store = KeyStore::new(config.key_dir(&dir));
    let mut reports = Vec::new();
    for (name, domain) in selected(&config, &args.config, &args.domains)? {
        // A domain another run holds is skipped, not an error: that run advances it, and the
        // other domains still get theirs (a cron run overlapping a slow one).
        let lock =
            match SkippedLocked::lock(&store, name).with_context(|| format!("rotating {name}"))? {
                Taken::Held(lock) => lock,
                Taken::Skipped(skipped) => {
                    if !global.json {
                        println!("{}", skipped.line());
                    }
                    reports.push(skipped.json());
                    continue;
                }
            };
        let mut json =
            rotate_domain(global, &config, &dir, (name, domain), &lock, args.dry_run).await?;
        json["status"] = "ran".into();
        if let Some(stale) = lock.recovered() {
            json["recovered_lock"] = stale.to_json();
        }
        reports.push(json);
    }
    if global.json {
        print_json(&serde_json::Value::Array(reports))?;
    }
    Ok(Outcome::Success)
}

/// A domain skipped because another run holds its lock.
#[derive(Debug)]
pub(super) struct SkippedLocked {
    pub domain: DomainName,
    pub holder: Option<LockHolder>,
    pub lock: PathBuf,
}

/// What asking for a domain's lock gave this run.
#[derive(Debug)]
pub(super) enum Taken {
    /// The lock: this run may advance the domain.
    Held(DomainLock),
    /// Another run holds it: this run skips the domain.
    Skipped(SkippedLocked),
}

impl SkippedLocked {
    /// Take `name`'s lock for this run, or say who holds it. A lock left by a run that died
    /// holding it is taken over, and said so on stderr.
    pub(super) fn lock(store: &KeyStore, name: &DomainName) -> Result<Taken, RotateError> {
        match lock_domain(store, name) {
            Ok(lock) => {
                if let Some(stale) = lock.recovered() {
                    recovered_lock(name, stale, lock.path());
                }
                Ok(Taken::Held(lock))
            }
            Err(RotateError::Locked { holder, lock, .. }) => Ok(Taken::Skipped(SkippedLocked {
                domain: name.clone(),
                holder,
                lock,
            })),
            Err(e) => Err(e),
        }
    }

    /// The line for people.
    pub(super) fn line(&self) -> String {
        let who = self
            .holder
            .as_ref()
            .map_or_else(|| "holder unknown".to_owned(), LockHolder::to_string);
        format!(
            "{}: skipped: another mailauth run holds its lock ({who}; {})",
            self.domain,
            self.lock.display()
        )
    }

    /// The `--json` entry.
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "domain": self.domain,
            "status": "skipped_locked",
            "holder": self.holder.as_ref().map(LockHolder::to_json),
            "lock": self.lock,
        })
    }
}

/// Say that `name`'s lock was left by a run that died holding it, and was taken over.
fn recovered_lock(name: &DomainName, stale: &LockHolder, lock: &Path) {
    let gone = if stale.is_gone() {
        "no longer running"
    } else {
        "no longer holding it"
    };
    // On stderr with --json too (where the JSON also carries it as `recovered_lock`).
    eprintln!(
        "mailauth: {name}: recovered the lock {} left by {stale} ({gone}); its steps are safe to repeat",
        lock.display()
    );
}

/// One domain's DKIM rotation and TLSA rollovers under its `lock`: their `--json` fields.
async fn rotate_domain(
    global: &GlobalArgs,
    config: &Config,
    dir: &Path,
    (name, domain): (&DomainName, &DomainConfig),
    lock: &DomainLock,
    dry_run: bool,
) -> Result<serde_json::Value> {
    let now = global.now()?;
    let (provider, zone_file) =
        super::publish::build_provider(domain.provider.get_ref(), config, dir)?;
    let answerers = Answerers::find(global, zone_file.as_deref(), name).await?;
    let mut json = serde_json::json!({"domain": name});
    if let Some(rotation) = rotation(
        config,
        dir,
        name,
        domain,
        provider.as_ref(),
        answerers.clone(),
    )? {
        let report = rotation
            .run(lock, now, dry_run)
            .await
            .with_context(|| format!("rotating {name}"))?;
        if !global.json {
            for action in &report.done {
                println!("{name}: {}", action.done());
            }
            println!("{name}: {}; next: {}", report.stopped, report.next);
        }
        json = serde_json::to_value(&report)?;
    }
    let tlsa = TlsaRotation {
        domain: name.clone(),
        store: KeyStore::new(config.key_dir(dir)),
        provider: provider.as_ref(),
        timing: tlsa_timing(domain),
        servers: Box::new(move || answerers.open().map_err(Into::into)),
        observer: Observer {
            resolver: global.resolver()?,
            timeout: std::time::Duration::from_secs(10),
        },
    };
    let tlsa_reports = tlsa
        .run(lock, now, dry_run)
        .await
        .with_context(|| format!("rolling over the TLSA records of {name}"))?;
    if !global.json {
        for report in &tlsa_reports {
            for action in &report.done {
                println!("{name}: done: {action}");
            }
            println!(
                "{name}: {}: {}; next: {}",
                report.name, report.stopped, report.next
            );
        }
    }
    if !tlsa_reports.is_empty() {
        json["tlsa"] = serde_json::to_value(&tlsa_reports)?;
    }
    Ok(json)
}

pub fn status(global: &GlobalArgs, args: RotateArgs) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    let dir = config_dir(&args.config);
    let now = global.now()?;
    let store = KeyStore::new(config.key_dir(&dir));
    let mut all = Vec::new();
    for (name, domain) in selected(&config, &args.config, &args.domains)? {
        let state = RotationState::load(&store, name)?.unwrap_or_default();
        let timing = tlsa_timing(domain);
        if global.json {
            let mut json = serde_json::json!({"domain": name});
            if let Some(policy) = policy(domain) {
                json["keys"] = serde_json::to_value(&state.keys)?;
                json["next"] = serde_json::to_value(upcoming(&state, &policy, now))?;
            }
            if !state.tlsa.is_empty() {
                json["tlsa"] = tlsa_status_json(&state, timing, now)?;
            }
            all.push(json);
            continue;
        }
        if let Some(policy) = policy(domain) {
            println!("{name}: next: {}", upcoming(&state, &policy, now));
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
        for r in &state.tlsa {
            print_tlsa_status(name, r, timing, now);
        }
    }
    if global.json {
        print_json(&serde_json::Value::Array(all))?;
    }
    Ok(Outcome::Success)
}

/// One TLSA rollover in `status`: the next step, then each published digest with its role.
fn print_tlsa_status(domain: &DomainName, r: &TlsaRollover, timing: TlsaTiming, now: u64) {
    println!(
        "{domain}: TLSA {}: next: {}",
        r.name,
        tlsa_next(r, timing, now)
    );
    if let Some(at) = r.switch_safe_after(timing.ttl) {
        println!("  the server may switch to the next key from {at}");
    }
    for e in r.entries.iter().filter(|e| e.role.published()) {
        let mut line = format!("  {:<8} {}", e.role, e.digest);
        if let Some(at) = e.seen_live_at {
            line.push_str(&format!("  live since {}", Moment(at)));
        }
        if let Some(at) = e.retire_after {
            line.push_str(&format!("  removed after {}", Moment(at)));
        }
        println!("{line}");
    }
}

/// The next TLSA step, looking through a wait to the step it waits for.
fn tlsa_next(r: &TlsaRollover, timing: TlsaTiming, now: u64) -> String {
    match dane_step(r, timing, now) {
        TlsaAction::Wait { until, .. } => match dane_step(r, timing, until.unix()) {
            TlsaAction::Wait { .. } | TlsaAction::Idle { .. } => format!("wait until {until}"),
            then => format!("{then} at {until}"),
        },
        action => action.to_string(),
    }
}

fn tlsa_status_json(
    state: &RotationState,
    timing: TlsaTiming,
    now: u64,
) -> Result<serde_json::Value> {
    let rows = state
        .tlsa
        .iter()
        .map(|r| {
            Ok(serde_json::json!({
                "name": r.name,
                "host": r.host,
                "port": r.port,
                "entries": serde_json::to_value(&r.entries)?,
                "applied": r.applied,
                "visible_at": r.visible_at.map(Moment),
                "next": serde_json::to_value(dane_step(r, timing, now))?,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::Value::Array(rows))
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
