//! Carrying out rotation steps: each action changes the world (key store, provider, exports)
//! first and records the transition after, saving the state atomically, so that a run killed
//! between any two of those resumes correctly: every action is safe to repeat. What to do, and
//! which keys a switch activates and retires, is decided in [`super::step`]; this module only
//! does it, one method per action.
//!
//! Test-only fault injection: with `MAILAUTH_FAULT_AT=ACTION:POINT` (e.g. `publish:applied`) the
//! process exits at once at that point, as if killed.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mailauth_base::DomainName;
use mailauth_providers::{Desired, Ownership, Provider, ProviderError, apply_plan, plan};
use serde::Serialize;

use super::lock::DomainLock;
use super::step::{Action, SignerSwitch, Upcoming, next_action, revoked_record, signer_after};
use super::{KeyState, Policy, RotationState, StateError};
use crate::dkim::build;
use crate::dns::Resolver;
use crate::export::{ExportError, ExportKey, ExportKind, render, write};
use crate::keys::{KeyError, KeySpec, KeyStore, generate};

/// Why a rotation run stopped with an error. Only [`RotateError::Provider`] (when the provider
/// was unreachable) and [`RotateError::Servers`] (when its source is a temporary DNS failure)
/// can be temporary; every other variant is a local problem that running again will not fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// A key could not be generated, written, read or named in the key store.
    #[error("key {selector} in the key store")]
    Key {
        /// The key's selector.
        selector: String,
        /// What went wrong.
        #[source]
        source: KeyError,
    },
    /// A key could not be removed from the key store.
    #[error("cannot remove the private key {}", path.display())]
    RemoveKey {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The per-domain lock file could not be created.
    #[error("cannot create the lock file {}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another run holds the lock.
    #[error("another mailauth run holds the lock for {domain} ({}; lock {})", holder.as_ref().map_or_else(|| "holder unknown".to_owned(), |h| h.to_string()), lock.display())]
    Locked {
        /// The domain.
        domain: DomainName,
        /// The lock file.
        lock: PathBuf,
        /// Who holds it, as its lock file says (`None`: not written yet, or an older version).
        holder: Option<super::lock::LockHolder>,
    },
    /// A run was given the lock of another domain (a caller's mistake, refused rather than run
    /// unlocked).
    #[error("the lock held is for {held}, not {domain}")]
    WrongLock {
        /// The domain to advance.
        domain: DomainName,
        /// The domain whose lock was passed.
        held: DomainName,
    },
    /// The signer configuration could not be written.
    #[error("writing the signer configuration")]
    Export(#[from] ExportError),
    /// The provider failed; its kind says whether running again can help.
    #[error("the DNS provider failed")]
    Provider(#[from] ProviderError),
    /// The servers that must serve a record could not be set up.
    #[error("cannot ask the authoritative servers")]
    Servers(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A TLSA rollover stopped: an unknown or retiring live key, or a server not reachable.
    #[error(transparent)]
    Tlsa(#[from] super::dane::TlsaRotateError),
}

/// Named servers that answer for a zone.
pub type Servers = Vec<(String, Box<dyn Resolver>)>;
/// Makes [`Servers`] on demand; its error keeps its own type as the source of
/// [`RotateError::Servers`], so a temporary DNS failure stays recognisable.
pub type ServerFactory<'a> =
    Box<dyn Fn() -> Result<Servers, Box<dyn std::error::Error + Send + Sync>> + Send + Sync + 'a>;

/// Everything a run needs for one domain.
pub struct Rotation<'a> {
    /// The domain (and zone).
    pub domain: DomainName,
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
    pub exports: Vec<ExportKind>,
    /// Where exports go.
    pub export_dir: PathBuf,
    /// The command run after a switch.
    pub on_switch: Option<String>,
}

impl fmt::Debug for Rotation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rotation({})", self.domain)
    }
}

/// What a run did.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The domain.
    pub domain: DomainName,
    /// The steps taken, in order.
    pub done: Vec<Action>,
    /// Why the run stopped.
    pub stopped: Stop,
    /// The next step and when it is due.
    pub next: Upcoming,
}

/// Why a run stopped without an error.
#[derive(Debug, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stop {
    /// Nothing more is due now.
    NothingDue,
    /// A dry run: nothing was changed.
    DryRun,
    /// A published record is not yet served everywhere; the check is repeated on the next run.
    NotVisible {
        /// The key.
        selector: String,
    },
    /// The `on_switch` hook failed; the switch is retried on the next run.
    HookFailed {
        /// What went wrong.
        #[serde(serialize_with = "as_text")]
        error: HookError,
    },
    /// A safety limit on the steps of one run was reached.
    StepLimit,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::NothingDue => f.write_str("nothing more is due now"),
            Stop::DryRun => f.write_str("dry run, nothing changed"),
            Stop::NotVisible { selector } => write!(
                f,
                "{selector} is not yet served by every authoritative server"
            ),
            Stop::HookFailed { error } => write!(
                f,
                "the on_switch hook failed ({error}); the new keys stay visible and the switch is retried on the next run"
            ),
            Stop::StepLimit => write!(f, "stopped after {MAX_STEPS} steps"),
        }
    }
}

fn as_text<S: serde::Serializer>(value: &impl fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Why the `on_switch` hook failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// `sh` could not be started or waited for.
    #[error("cannot run {command:?}: {error}")]
    Spawn {
        /// The hook.
        command: String,
        /// Why (in the message: a hook failure is reported, not raised).
        error: std::io::Error,
    },
    /// The hook exited unsuccessfully.
    #[error("{command:?} exited with {status}")]
    Failed {
        /// The hook.
        command: String,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// The hook ran past the time limit and was killed.
    #[error("{command:?} took longer than {} s", HOOK_LIMIT.as_secs())]
    TimedOut {
        /// The hook.
        command: String,
    },
}

/// The most steps one run takes: a full cycle needs a dozen, so more means a loop.
const MAX_STEPS: usize = 64;
/// How long the `on_switch` hook may run.
const HOOK_LIMIT: Duration = Duration::from_secs(60);

/// What carrying out one action led to.
enum Progress {
    /// Done; the run goes on.
    Done,
    /// The run stops here.
    Stopped(Stop),
}

fn fault(point: &str) {
    if std::env::var("MAILAUTH_FAULT_AT").is_ok_and(|v| v == point) {
        eprintln!("mailauth: fault injected at {point}");
        std::process::exit(137);
    }
}

impl Rotation<'_> {
    /// The state file.
    pub fn state_path(&self) -> Result<PathBuf, RotateError> {
        Ok(RotationState::path(&self.store, &self.domain)?)
    }

    /// Read the state (empty when there is none yet).
    pub fn load(&self) -> Result<RotationState, RotateError> {
        Ok(RotationState::load(&self.store, &self.domain)?.unwrap_or_default())
    }

    fn save(&self, state: &RotationState) -> Result<(), RotateError> {
        Ok(state.save(&self.store, &self.domain)?)
    }

    fn key_error(selector: &str) -> impl FnOnce(KeyError) -> RotateError + '_ {
        move |source| RotateError::Key {
            selector: selector.to_owned(),
            source,
        }
    }

    fn record_name(&self, selector: &str) -> String {
        format!("{selector}._domainkey.{}", self.domain)
    }

    fn key_value(&self, selector: &str) -> Result<String, RotateError> {
        let key = self
            .store
            .load(&self.domain, selector)
            .map_err(Self::key_error(selector))?;
        Ok(build::published_record(&key))
    }

    /// Make the provider hold `value` (or nothing) at the key's record name.
    fn put_record(&self, selector: &str, value: Option<String>) -> Result<(), RotateError> {
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

    /// Advance as far as is safe at `now`, holding the domain's `lock` (taken with
    /// [`super::lock::lock_domain`], so the caller decides what a held lock means). With
    /// `dry_run`, only say what the next step would be.
    pub async fn run(
        &self,
        lock: &DomainLock,
        now: u64,
        dry_run: bool,
    ) -> Result<RunReport, RotateError> {
        check_lock(lock, &self.domain)?;
        let mut state = self.load()?;
        let mut done = Vec::new();
        let stopped = if dry_run {
            Stop::DryRun
        } else {
            self.advance(&mut state, now, &mut done).await?
        };
        Ok(RunReport {
            domain: self.domain.clone(),
            done,
            stopped,
            next: super::step::upcoming(&state, &self.policy, now),
        })
    }

    /// Take the due actions one by one until one stops the run.
    async fn advance(
        &self,
        state: &mut RotationState,
        now: u64,
        done: &mut Vec<Action>,
    ) -> Result<Stop, RotateError> {
        for _ in 0..MAX_STEPS {
            let action = next_action(state, &self.policy, now);
            match self.take(state, &action, now).await? {
                Progress::Done => done.push(action),
                Progress::Stopped(why) => return Ok(why),
            }
        }
        Ok(Stop::StepLimit)
    }

    /// Carry out one action.
    async fn take(
        &self,
        state: &mut RotationState,
        action: &Action,
        now: u64,
    ) -> Result<Progress, RotateError> {
        match action {
            Action::Wait { .. } | Action::Idle => return Ok(Progress::Stopped(Stop::NothingDue)),
            Action::Generate {
                algorithm,
                selector,
            } => self.generate(state, *algorithm, selector, now)?,
            Action::Publish { selector } => self.publish(state, selector, now)?,
            Action::CheckVisible { selector } => {
                if !self.check_visible(state, selector, now).await? {
                    let selector = selector.clone();
                    return Ok(Progress::Stopped(Stop::NotVisible { selector }));
                }
            }
            Action::Switch(switch) => {
                if let Err(error) = self.switch(state, switch, now)? {
                    return Ok(Progress::Stopped(Stop::HookFailed { error }));
                }
            }
            Action::Revoke { selector } => self.revoke(state, selector, now)?,
            Action::Delete { selector } => self.delete(state, selector, now)?,
        }
        Ok(Progress::Done)
    }

    /// Generate the key into the store, then record it as pending.
    fn generate(
        &self,
        state: &mut RotationState,
        algorithm: KeySpec,
        selector: &str,
        now: u64,
    ) -> Result<(), RotateError> {
        // A key left by a run that died before saving the state is adopted.
        if self.store.check_absent(&self.domain, selector).is_ok() {
            let key = generate(algorithm).map_err(Self::key_error(selector))?;
            self.store
                .write(&self.domain, selector, &key)
                .map_err(Self::key_error(selector))?;
        }
        fault("generate:written");
        state.add(selector, algorithm, now);
        self.save(state)
    }

    /// Publish the key's record, then record it as published.
    fn publish(
        &self,
        state: &mut RotationState,
        selector: &str,
        now: u64,
    ) -> Result<(), RotateError> {
        self.put_record(selector, Some(self.key_value(selector)?))?;
        fault("publish:applied");
        state.transition(selector, KeyState::Published, now);
        self.save(state)
    }

    /// Whether every server serves exactly the key's record; if so, record it as visible.
    async fn check_visible(
        &self,
        state: &mut RotationState,
        selector: &str,
        now: u64,
    ) -> Result<bool, RotateError> {
        let expected = self.key_value(selector)?;
        let servers = (self.servers)().map_err(RotateError::Servers)?;
        for (_, server) in &servers {
            // A failed lookup counts as not served yet: the check is repeated on the next run.
            let answer = server
                .txt(&self.record_name(selector))
                .await
                .unwrap_or_default();
            if answer.len() != 1 || answer[0].joined() != expected.as_bytes() {
                return Ok(false);
            }
        }
        state.transition(selector, KeyState::Visible, now);
        self.save(state)?;
        Ok(true)
    }

    /// Write the exports for the keys active after the switch and run the hook; only when both
    /// succeed record the new keys as active and the replaced ones as retiring. A failed hook
    /// is returned, not raised: the keys stay visible and the next run tries again.
    fn switch(
        &self,
        state: &mut RotationState,
        switch: &SignerSwitch,
        now: u64,
    ) -> Result<Result<(), HookError>, RotateError> {
        let signer = signer_after(state, switch);
        self.write_exports(state, &signer)?;
        fault("switch:exported");
        if let Some(hook) = &self.on_switch
            && let Err(error) = run_hook(hook)
        {
            return Ok(Err(error));
        }
        fault("switch:hooked");
        for selector in &switch.activate {
            state.transition(selector, KeyState::Active, now);
        }
        for selector in &switch.retire {
            state.transition(selector, KeyState::Retiring, now);
        }
        self.save(state)?;
        Ok(Ok(()))
    }

    /// Write every configured export for the keys named in `signer`.
    fn write_exports(&self, state: &RotationState, signer: &[String]) -> Result<(), RotateError> {
        let keys = signer
            .iter()
            .filter_map(|selector| state.key(selector))
            .map(|k| {
                ExportKey::from_store(&self.store, &self.domain, &k.selector, k.algorithm)
                    .map_err(Self::key_error(&k.selector))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for &kind in &self.exports {
            let files = render(kind, &keys, &self.export_dir);
            write(&self.export_dir, &files)?;
        }
        Ok(())
    }

    /// Publish the empty-`p=` record, then record the key as revoked.
    fn revoke(
        &self,
        state: &mut RotationState,
        selector: &str,
        now: u64,
    ) -> Result<(), RotateError> {
        // A key missing from the state cannot be reached here (the step named it); RSA is the
        // safe reading of "k=" anyway, being its default (RFC 6376 §3.6.1).
        let algorithm = state
            .key(selector)
            .map_or(KeySpec::Rsa2048, |k| k.algorithm);
        self.put_record(selector, Some(revoked_record(algorithm)))?;
        fault("revoke:applied");
        state.transition(selector, KeyState::Revoked, now);
        self.save(state)
    }

    /// Remove the record, then the private key (never the other way round: a served record
    /// always has its key), then record the key as deleted.
    fn delete(
        &self,
        state: &mut RotationState,
        selector: &str,
        now: u64,
    ) -> Result<(), RotateError> {
        self.put_record(selector, None)?;
        fault("delete:record-removed");
        let path = self
            .store
            .key_path(&self.domain, selector)
            .map_err(Self::key_error(selector))?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(RotateError::RemoveKey { path, source }),
        }
        fault("delete:key-removed");
        state.transition(selector, KeyState::Deleted, now);
        self.save(state)
    }
}

/// Refuse to run `domain` under another domain's lock.
pub(super) fn check_lock(lock: &DomainLock, domain: &DomainName) -> Result<(), RotateError> {
    if lock.domain() == domain {
        return Ok(());
    }
    Err(RotateError::WrongLock {
        domain: domain.clone(),
        held: lock.domain().clone(),
    })
}

/// Run the hook through `sh -c`, killing it after [`HOOK_LIMIT`].
fn run_hook(command: &str) -> Result<(), HookError> {
    let spawn_error = |error| HookError::Spawn {
        command: command.to_owned(),
        error,
    };
    let mut child = std::process::Command::new("sh")
        .args(["-c", command])
        .spawn()
        .map_err(spawn_error)?;
    let deadline = Instant::now() + HOOK_LIMIT;
    loop {
        match child.try_wait().map_err(spawn_error)? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => {
                return Err(HookError::Failed {
                    command: command.to_owned(),
                    status,
                });
            }
            None if Instant::now() > deadline => {
                // Reaping a killed child cannot fail in a way worth more than the timeout.
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::TimedOut {
                    command: command.to_owned(),
                });
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
