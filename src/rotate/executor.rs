//! Carrying out rotation steps: each action changes the world (key store, provider, exports)
//! first and records the transition after, saving the state atomically, so that a run killed
//! between any two of those resumes correctly: every action is safe to repeat.
//!
//! Test-only fault injection: with `MAILAUTH_FAULT_AT=ACTION:POINT` (e.g. `publish:applied`) the
//! process exits at once at that point, as if killed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mailauth_providers::{Desired, Ownership, Provider, apply_plan, plan};

use super::step::{Action, next_action};
use super::{KeyEntry, KeyState, Policy, RotationState};
use crate::dkim::build;
use crate::dns::Resolver;
use crate::export::{ExportKey, render, write};
use crate::keys::{KeySpec, KeyStore, generate};

/// Why a rotation run stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The state file or key store could not be read or written.
    #[error("{0}")]
    Store(String),
    /// The provider failed (the run can be repeated).
    #[error(transparent)]
    Provider(#[from] mailauth_providers::ProviderError),
    /// Another run holds the lock.
    #[error("another mailauth rotate is running for {0} (lock {1})")]
    Locked(String, PathBuf),
}

/// Named servers that answer for a zone.
pub type Servers = Vec<(String, Box<dyn Resolver>)>;
/// Makes [`Servers`] on demand.
pub type ServerFactory<'a> = Box<dyn Fn() -> Result<Servers, String> + Send + Sync + 'a>;

/// Everything a run needs for one domain.
pub struct Rotation<'a> {
    /// The domain (and zone).
    pub domain: String,
    /// Timing.
    pub policy: Policy,
    /// Where keys and the state live.
    pub store: KeyStore,
    /// Where records are published.
    pub provider: &'a dyn Provider,
    /// TTL of the DKIM records.
    pub ttl: u32,
    /// Makes the servers that must all serve a record before it counts as visible (called at
    /// each check, so a zone file is read afresh).
    pub servers: ServerFactory<'a>,
    /// Export kinds to write on a switch.
    pub exports: Vec<String>,
    /// Where exports go.
    pub export_dir: PathBuf,
    /// The command run after a switch.
    pub on_switch: Option<String>,
}

impl std::fmt::Debug for Rotation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rotation({})", self.domain)
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// The domain.
    pub domain: String,
    /// The steps taken, in words.
    pub done: Vec<String>,
    /// Why the run stopped: what it waits for.
    pub waiting: String,
    /// When the next step is due (UNIX seconds), if known.
    pub next_due: Option<u64>,
}

fn fault(point: &str) {
    if std::env::var("MAILAUTH_FAULT_AT").is_ok_and(|v| v == point) {
        eprintln!("mailauth: fault injected at {point}");
        std::process::exit(137);
    }
}

impl Rotation<'_> {
    fn domain_dir(&self) -> Result<PathBuf, RotateError> {
        let path = self
            .store
            .key_path(&self.domain, "x")
            .map_err(|e| RotateError::Store(e.to_string()))?;
        Ok(path.parent().map(Path::to_path_buf).unwrap_or_default())
    }

    /// The state file.
    pub fn state_path(&self) -> Result<PathBuf, RotateError> {
        RotationState::path(&self.store, &self.domain).map_err(RotateError::Store)
    }

    /// Read the state (empty when there is none yet).
    pub fn load(&self) -> Result<RotationState, RotateError> {
        Ok(RotationState::load(&self.store, &self.domain)
            .map_err(RotateError::Store)?
            .unwrap_or_default())
    }

    fn save(&self, state: &RotationState) -> Result<(), RotateError> {
        use mailauth_base::atomic;
        let path = self.state_path()?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let io = |e: std::io::Error| RotateError::Store(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(state).unwrap_or_default();
        atomic::write(&path, &json, atomic::WriteOptions::PRIVATE).map_err(io)
    }

    fn record_name(&self, selector: &str) -> String {
        format!("{selector}._domainkey.{}", self.domain)
    }

    fn key_value(&self, selector: &str) -> Result<String, RotateError> {
        let key = self
            .store
            .load(&self.domain, selector)
            .map_err(|e| RotateError::Store(e.to_string()))?;
        Ok(build::published_record(&key))
    }

    fn publish(&self, selector: &str, value: Option<String>) -> Result<(), RotateError> {
        let desired = [Desired {
            rtype: mailauth_providers::RecordType::Txt,
            name: self.record_name(selector),
            ttl: self.ttl,
            value,
            ownership: Ownership::WholeName,
        }];
        // The record names are mailauth's own selectors: removing them needs no --force.
        let changes = plan(self.provider, &self.domain, &desired, true)?;
        apply_plan(self.provider, &self.domain, &changes)?;
        Ok(())
    }

    async fn visible(&self, selector: &str) -> Result<bool, RotateError> {
        let expected = self.key_value(selector)?;
        let servers = (self.servers)().map_err(RotateError::Store)?;
        for (_, server) in &servers {
            let answer = server
                .txt(&self.record_name(selector))
                .await
                .unwrap_or_default();
            if answer.len() != 1 || answer[0].joined() != expected.as_bytes() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The export entries for the keys that will be active.
    fn export_keys(
        &self,
        state: &RotationState,
        active: &[String],
    ) -> Result<Vec<ExportKey>, RotateError> {
        state
            .keys
            .iter()
            .filter(|k| active.contains(&k.selector))
            .map(|k| {
                ExportKey::from_store(&self.store, &self.domain, &k.selector, &k.algorithm)
                    .map_err(|e| RotateError::Store(e.to_string()))
            })
            .collect()
    }

    /// Write the exports for `active` and run the hook. `Err` text when the hook fails.
    fn switch_signer(
        &self,
        state: &RotationState,
        active: &[String],
    ) -> Result<Result<(), String>, RotateError> {
        let keys = self.export_keys(state, active)?;
        for kind in &self.exports {
            let files = render(kind, &keys, &self.export_dir);
            write(&self.export_dir, &files)
                .map_err(|e| RotateError::Store(format!("{}: {e}", self.export_dir.display())))?;
        }
        fault("switch:exported");
        let Some(hook) = &self.on_switch else {
            return Ok(Ok(()));
        };
        Ok(run_hook(hook))
    }

    /// Advance as far as is safe at `now`. With `dry_run`, only say what the next step would be.
    pub async fn run(&self, now: u64, dry_run: bool) -> Result<RunReport, RotateError> {
        let dir = self.domain_dir()?;
        std::fs::create_dir_all(&dir).map_err(|e| RotateError::Store(e.to_string()))?;
        let lock_path = dir.join("rotation.lock");
        let lock =
            std::fs::File::create(&lock_path).map_err(|e| RotateError::Store(e.to_string()))?;
        if lock.try_lock().is_err() {
            return Err(RotateError::Locked(self.domain.clone(), lock_path));
        }
        let mut state = self.load()?;
        let mut report = RunReport {
            domain: self.domain.clone(),
            ..RunReport::default()
        };
        for _ in 0..64 {
            let action = next_action(&state, &self.policy, now);
            if dry_run {
                report.waiting = format!("next: {action:?}");
                if let Action::Wait(t) = action {
                    report.next_due = (t != u64::MAX).then_some(t);
                }
                return Ok(report);
            }
            match action {
                Action::Wait(t) => {
                    report.waiting = "nothing due".into();
                    report.next_due = (t != u64::MAX).then_some(t);
                    return Ok(report);
                }
                Action::Generate {
                    algorithm,
                    selector,
                } => {
                    let spec = KeySpec::from_name(&algorithm).ok_or_else(|| {
                        RotateError::Store(format!("unknown algorithm {algorithm}"))
                    })?;
                    // A key left by a run that died before saving the state is adopted.
                    if self.store.check_absent(&self.domain, &selector).is_ok() {
                        let key = generate(spec).map_err(|e| RotateError::Store(e.to_string()))?;
                        self.store
                            .write(&self.domain, &selector, &key)
                            .map_err(|e| RotateError::Store(e.to_string()))?;
                    }
                    fault("generate:written");
                    state.keys.push(KeyEntry {
                        selector: selector.clone(),
                        algorithm,
                        state: KeyState::Pending,
                        since: now,
                        created: now,
                        activated: None,
                    });
                    state.journal.push(super::Transition {
                        time: now,
                        selector: selector.clone(),
                        from: None,
                        to: KeyState::Pending,
                    });
                    self.save(&state)?;
                    report.done.push(format!("generated {selector}"));
                }
                Action::Publish(selector) => {
                    self.publish(&selector, Some(self.key_value(&selector)?))?;
                    fault("publish:applied");
                    state.transition(&selector, KeyState::Published, now);
                    self.save(&state)?;
                    report.done.push(format!("published {selector}"));
                }
                Action::CheckVisible(selector) => {
                    if !self.visible(&selector).await? {
                        report.waiting =
                            format!("{selector} is not yet served by every authoritative server");
                        return Ok(report);
                    }
                    state.transition(&selector, KeyState::Visible, now);
                    self.save(&state)?;
                    report.done.push(format!("{selector} is visible"));
                }
                Action::Switch(new) => {
                    let algorithms: Vec<String> = state
                        .keys
                        .iter()
                        .filter(|k| new.contains(&k.selector))
                        .map(|k| k.algorithm.clone())
                        .collect();
                    let replaced: Vec<String> = state
                        .active()
                        .filter(|k| algorithms.contains(&k.algorithm))
                        .map(|k| k.selector.clone())
                        .collect();
                    let mut active: Vec<String> = state
                        .active()
                        .filter(|k| !replaced.contains(&k.selector))
                        .map(|k| k.selector.clone())
                        .collect();
                    active.extend(new.iter().cloned());
                    if let Err(why) = self.switch_signer(&state, &active)? {
                        report.waiting = format!(
                            "the on_switch hook failed ({why}); the new keys stay visible and the switch is retried on the next run"
                        );
                        return Ok(report);
                    }
                    fault("switch:hooked");
                    for selector in &new {
                        state.transition(selector, KeyState::Active, now);
                    }
                    for selector in &replaced {
                        state.transition(selector, KeyState::Retiring, now);
                    }
                    self.save(&state)?;
                    report
                        .done
                        .push(format!("signer switched to {}", active.join(", ")));
                }
                Action::Revoke(selector) => {
                    let algorithm = state
                        .keys
                        .iter()
                        .find(|k| k.selector == selector)
                        .map(|k| k.algorithm.clone())
                        .unwrap_or_default();
                    let k = if algorithm == "ed25519" {
                        "ed25519"
                    } else {
                        "rsa"
                    };
                    self.publish(&selector, Some(format!("v=DKIM1; k={k}; p=")))?;
                    fault("revoke:applied");
                    state.transition(&selector, KeyState::Revoked, now);
                    self.save(&state)?;
                    report.done.push(format!("revoked {selector}"));
                }
                Action::Delete(selector) => {
                    self.publish(&selector, None)?;
                    fault("delete:record-removed");
                    let path = self
                        .store
                        .key_path(&self.domain, &selector)
                        .map_err(|e| RotateError::Store(e.to_string()))?;
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(RotateError::Store(format!("{}: {e}", path.display())));
                        }
                    }
                    fault("delete:key-removed");
                    state.transition(&selector, KeyState::Deleted, now);
                    self.save(&state)?;
                    report.done.push(format!("deleted {selector}"));
                }
            }
        }
        report.waiting = "stopped after 64 steps".into();
        Ok(report)
    }
}

/// Run the hook through `sh -c` with a 60-second limit.
fn run_hook(command: &str) -> Result<(), String> {
    let mut child = std::process::Command::new("sh")
        .args(["-c", command])
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{command:?} exited with {status}")),
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                return Err(format!("{command:?} took longer than 60 s"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e.to_string()),
        }
    }
}
