//! TLSA rollover for DANE-EE `3 1 1` records (RFC 7671 §8.1, RFC 7672 §3.1.1): a server's next
//! key is published beside the current one, the switch is *observed* (the SPKI digest the server
//! presents over STARTTLS changes to the next one) rather than assumed, and the old digest is
//! removed two TTLs after the observed switch.
//!
//! The state lives in the domain's rotation state file (`RotationState::tlsa`, one
//! [`TlsaRollover`] per TLSA name `_PORT._tcp.HOST`), so it shares the DKIM rotation's atomic
//! saves and lock. [`next_action`] is pure (state, timing, `now` → one action); the executing
//! half ([`TlsaRotation`]) does the action, then saves. Every action can be repeated: publishing
//! writes a whole RRset, a visibility check only reads, and an observation changes the state only
//! from what it saw.
//!
//! One safety rule holds throughout: a digest that matches the key a server presents is never
//! removed, and a server presenting a key that is neither the current nor the next one stops the
//! rollover with [`TlsaRotateError::LiveKeyUnknown`] (code `dane.live_key_unknown`), changing
//! nothing.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mailauth_base::DomainName;
use mailauth_providers::{Desired, Ownership, Provider, RecordType, Tlsa, apply_plan, plan};
use serde::{Deserialize, Serialize};

use super::executor::{RotateError, ServerFactory, check_lock};
use super::lock::DomainLock;
use super::{Moment, RotationState};
use crate::dns::Resolver;
use crate::keys::KeyStore;
use crate::smtp::client::{Endpoint, Session};

/// The codes this module reports (as errors of `mailauth rotate` and `mailauth dane next`).
pub const CODES: &[&str] = &["dane.live_key_unknown", "dane.live_key_retiring"];

/// What a digest is to the rollover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsaRole {
    /// The key the server presents now.
    Current,
    /// The key the server is expected to switch to; published beside the current one.
    Next,
    /// The key the server presented before the switch; still published until `retire_after`.
    Retiring,
    /// No longer published (kept for the record).
    Removed,
}

impl TlsaRole {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsaRole::Current => "current",
            TlsaRole::Next => "next",
            TlsaRole::Retiring => "retiring",
            TlsaRole::Removed => "removed",
        }
    }

    /// Whether a digest in this role belongs in the published RRset.
    pub fn published(self) -> bool {
        !matches!(self, TlsaRole::Removed)
    }
}

impl fmt::Display for TlsaRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One digest in a rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsaEntry {
    /// The TLSA value in canonical form, `"3 1 1 HEX"`.
    pub digest: String,
    /// What it is now.
    pub role: TlsaRole,
    /// When it entered the state (UNIX seconds).
    pub added_at: u64,
    /// When an RRset holding it was first applied at the provider.
    #[serde(default)]
    pub published_at: Option<u64>,
    /// When a server was first seen presenting it (for `current`: adopted or switched to).
    #[serde(default)]
    pub seen_live_at: Option<u64>,
    /// For `retiring`: when it may be removed (the observed switch plus two TTLs).
    #[serde(default)]
    pub retire_after: Option<u64>,
    /// For `removed`: when it left the state's RRset.
    #[serde(default)]
    pub removed_at: Option<u64>,
}

/// The rollover of one TLSA name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsaRollover {
    /// The TLSA owner name, `_PORT._tcp.HOST` (RFC 7672 §2.2.3), lower case, no trailing dot.
    pub name: String,
    /// The MX host whose key is rolled over.
    pub host: String,
    /// Its SMTP port (25 in production; the observation connects to it).
    pub port: u16,
    /// Every digest, oldest first.
    pub entries: Vec<TlsaEntry>,
    /// The RRset last applied at the provider (canonical values, sorted).
    #[serde(default)]
    pub applied: Vec<String>,
    /// When `applied` was applied.
    #[serde(default)]
    pub applied_at: Option<u64>,
    /// When every authoritative server was seen serving `applied`.
    #[serde(default)]
    pub visible_at: Option<u64>,
}

/// `value` in canonical TLSA form (`"3 1 1 hex"`), if it is a TLSA value at all.
pub fn canonical_digest(value: &str) -> Option<String> {
    Tlsa::parse(value).map(|t| t.to_string())
}

impl TlsaRollover {
    /// A rollover with no digest yet.
    pub fn new(host: &str, port: u16) -> TlsaRollover {
        TlsaRollover {
            name: crate::transport::dane::tlsa_name(host, port),
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
            entries: Vec::new(),
            applied: Vec::new(),
            applied_at: None,
            visible_at: None,
        }
    }

    /// The entry holding `role` (current, next: at most one each).
    pub fn with_role(&self, role: TlsaRole) -> Option<&TlsaEntry> {
        self.entries.iter().find(|e| e.role == role)
    }

    /// The role of `digest`, if the rollover knows it and still publishes it.
    pub fn role_of(&self, digest: &str) -> Option<TlsaRole> {
        self.entries
            .iter()
            .find(|e| e.digest == digest && e.role.published())
            .map(|e| e.role)
    }

    /// The RRset the state wants published: every current, next and retiring digest, sorted.
    pub fn wanted(&self) -> Vec<String> {
        let mut set: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.role.published())
            .map(|e| e.digest.clone())
            .collect();
        set.sort();
        set.dedup();
        set
    }

    fn push(&mut self, digest: &str, role: TlsaRole, now: u64) -> &mut TlsaEntry {
        self.entries.push(TlsaEntry {
            digest: digest.to_owned(),
            role,
            added_at: now,
            published_at: None,
            seen_live_at: None,
            retire_after: None,
            removed_at: None,
        });
        let last = self.entries.len() - 1;
        &mut self.entries[last]
    }

    /// Record `digest`, seen live at `now`, as the current key (a rollover's start).
    pub fn adopt(&mut self, digest: &str, now: u64) {
        if self.with_role(TlsaRole::Current).is_some() {
            return;
        }
        self.push(digest, TlsaRole::Current, now).seen_live_at = Some(now);
    }

    /// Record `digest` as the next key. Refused when it is already the current or a retiring
    /// key; a different next key not yet seen live is replaced (it never served, so removing its
    /// digest breaks nothing).
    pub fn set_next(&mut self, digest: &str, now: u64) -> Result<(), NextRefused> {
        match self.role_of(digest) {
            Some(TlsaRole::Next) => return Ok(()),
            Some(role) => return Err(NextRefused { role }),
            None => {}
        }
        for entry in &mut self.entries {
            if entry.role == TlsaRole::Next {
                entry.role = TlsaRole::Removed;
                entry.removed_at = Some(now);
            }
        }
        self.push(digest, TlsaRole::Next, now);
        Ok(())
    }

    /// The observed switch: the next key becomes current, the current one retires two TTLs
    /// from `now` (RFC 7671 §8.1: the old record stays until caches holding it have expired).
    pub fn switch(&mut self, now: u64, ttl: u64) {
        if self.with_role(TlsaRole::Next).is_none() {
            return;
        }
        for entry in &mut self.entries {
            match entry.role {
                TlsaRole::Current => {
                    entry.role = TlsaRole::Retiring;
                    entry.retire_after = Some(now.saturating_add(ttl.saturating_mul(2)));
                }
                TlsaRole::Next => {
                    entry.role = TlsaRole::Current;
                    entry.seen_live_at = Some(now);
                }
                _ => {}
            }
        }
    }

    /// Take `digest` out of the wanted RRset.
    pub fn retire(&mut self, digest: &str, now: u64) {
        for entry in &mut self.entries {
            if entry.digest == digest && entry.role == TlsaRole::Retiring {
                entry.role = TlsaRole::Removed;
                entry.removed_at = Some(now);
            }
        }
    }

    /// Record that `set` was applied at `now`: it must be seen served again.
    pub fn applied(&mut self, set: Vec<String>, now: u64) {
        for entry in &mut self.entries {
            if set.contains(&entry.digest) && entry.published_at.is_none() {
                entry.published_at = Some(now);
            }
        }
        self.applied = set;
        self.applied_at = Some(now);
        self.visible_at = None;
    }

    /// When the server may switch to the next key safely: once the RRset holding it has been
    /// served everywhere for one TTL (caches holding the older RRset have expired).
    pub fn switch_safe_after(&self, ttl: u64) -> Option<Moment> {
        self.with_role(TlsaRole::Next)?;
        self.visible_at.map(|v| Moment(v.saturating_add(ttl)))
    }
}

/// Why `dane next` refused a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this key is already the {role} key of the rollover")]
pub struct NextRefused {
    /// Its role.
    pub role: TlsaRole,
}

/// The timing of a TLSA rollover, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsaTiming {
    /// The TTL of the TLSA records; the old digest stays two of these after the switch.
    pub ttl: u64,
    /// Wait at least this long after applying before checking that the RRset is served.
    pub propagation: u64,
}

/// The one thing to do next for a TLSA name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TlsaAction {
    /// No current key is known: observe the server and take what it presents as current.
    Adopt {
        /// The TLSA name.
        name: String,
    },
    /// Apply the wanted RRset at the provider.
    Publish {
        /// The TLSA name.
        name: String,
        /// The values.
        set: Vec<String>,
    },
    /// Check that every authoritative server serves the applied RRset.
    CheckVisible {
        /// The TLSA name.
        name: String,
    },
    /// Observe the server: has it switched to the next key?
    Observe {
        /// The TLSA name.
        name: String,
        /// The next digest.
        next: String,
    },
    /// Remove a retiring digest (after checking the server does not present it).
    Retire {
        /// The TLSA name.
        name: String,
        /// The digest.
        digest: String,
    },
    /// Nothing to do until then.
    Wait {
        /// The TLSA name.
        name: String,
        /// When something becomes due.
        until: Moment,
    },
    /// Nothing to do: the current key alone is published and served.
    Idle {
        /// The TLSA name.
        name: String,
    },
}

impl fmt::Display for TlsaAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsaAction::Adopt { name } => {
                write!(f, "{name}: take the key the server presents as current")
            }
            TlsaAction::Publish { name, set } => {
                write!(f, "{name}: publish TLSA {{{}}}", set.join(", "))
            }
            TlsaAction::CheckVisible { name } => {
                write!(f, "{name}: check that every server serves the TLSA set")
            }
            TlsaAction::Observe { name, next } => {
                write!(f, "{name}: watch the server switch to {next}")
            }
            TlsaAction::Retire { name, digest } => write!(f, "{name}: remove {digest}"),
            TlsaAction::Wait { name, until } => write!(f, "{name}: wait until {until}"),
            TlsaAction::Idle { name } => write!(f, "{name}: nothing to do"),
        }
    }
}

/// The next action for `r` at `now`. Order: a missing current key first (nothing can be
/// published without it), then a retirement that is due, then publishing a changed RRset,
/// then its visibility, then watching for the switch, then waiting for a retirement.
pub fn next_action(r: &TlsaRollover, timing: TlsaTiming, now: u64) -> TlsaAction {
    let name = r.name.clone();
    if r.with_role(TlsaRole::Current).is_none() {
        return TlsaAction::Adopt { name };
    }
    let retiring = r.entries.iter().find(|e| e.role == TlsaRole::Retiring);
    let retire_due = retiring.map(|e| (e.digest.clone(), e.retire_after.unwrap_or(0)));
    if let Some((digest, due)) = &retire_due
        && now >= *due
    {
        return TlsaAction::Retire {
            name,
            digest: digest.clone(),
        };
    }
    let wanted = r.wanted();
    if wanted != r.applied {
        return TlsaAction::Publish { name, set: wanted };
    }
    if r.visible_at.is_none() {
        let due = r.applied_at.unwrap_or(0).saturating_add(timing.propagation);
        if now >= due {
            return TlsaAction::CheckVisible { name };
        }
        return TlsaAction::Wait {
            name,
            until: Moment(due),
        };
    }
    if let Some(next) = r.with_role(TlsaRole::Next) {
        return TlsaAction::Observe {
            name,
            next: next.digest.clone(),
        };
    }
    match retire_due {
        Some((_, due)) => TlsaAction::Wait {
            name,
            until: Moment(due),
        },
        None => TlsaAction::Idle { name },
    }
}

/// What the server presented, per address.
pub type Live = Vec<(IpAddr, String)>;

/// What an observation means for the rollover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Every address presents the next key: the switch happened.
    Switched,
    /// Some address still presents the current key.
    NotYet,
}

/// Judge what the server presents against the rollover (pure). Any digest that is neither
/// current, next nor retiring is an unknown key: an error, whatever else was seen.
pub fn judge(r: &TlsaRollover, live: &Live) -> Result<Seen, TlsaRotateError> {
    for (addr, digest) in live {
        if r.role_of(digest).is_none() {
            return Err(TlsaRotateError::LiveKeyUnknown {
                name: r.name.clone(),
                addr: *addr,
                digest: digest.clone(),
            });
        }
    }
    let next = r.with_role(TlsaRole::Next).map(|e| e.digest.as_str());
    let all_next = !live.is_empty() && live.iter().all(|(_, d)| Some(d.as_str()) == next);
    Ok(if all_next {
        Seen::Switched
    } else {
        Seen::NotYet
    })
}

/// Whether `digest` may leave the RRset given what the server presents (pure): never while an
/// address presents it (RFC 7672 §3.1.1: DANE senders would find no matching record), and never
/// while an address presents a key the rollover does not know.
pub fn may_retire(r: &TlsaRollover, live: &Live, digest: &str) -> Result<(), TlsaRotateError> {
    judge(r, live)?;
    match live.iter().find(|(_, d)| d == digest) {
        Some((addr, _)) => Err(TlsaRotateError::LiveKeyRetiring {
            name: r.name.clone(),
            addr: *addr,
            digest: digest.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Why a TLSA rollover stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsaRotateError {
    /// `dane.live_key_unknown`: the server presents a key the rollover neither publishes as
    /// current nor expects as next. Nothing was changed; publishing its digest (or restoring the
    /// expected key on the server) is a decision for a person.
    #[error(
        "dane.live_key_unknown: {addr} ({name}) presents {digest}, which is neither the current nor the next key of the rollover; nothing was changed (record it with `mailauth dane next --key FILE`, or put the expected key back on the server)"
    )]
    LiveKeyUnknown {
        /// The TLSA name.
        name: String,
        /// The address that presented it.
        addr: IpAddr,
        /// The digest (`3 1 1 HEX`).
        digest: String,
    },
    /// `dane.live_key_retiring`: the digest due for removal is still presented by the server;
    /// removing it would break DANE senders (RFC 7672 §3.1.1), so it stays.
    #[error(
        "dane.live_key_retiring: {addr} ({name}) still presents {digest}, the key due for removal; it stays published (the server went back to the old key?)"
    )]
    LiveKeyRetiring {
        /// The TLSA name.
        name: String,
        /// The address that presented it.
        addr: IpAddr,
        /// The digest.
        digest: String,
    },
    /// The addresses of the host disagree and none of them is known: nothing to adopt.
    #[error(
        "{name}: the addresses of the host present different keys ({digests}); cannot tell which is current"
    )]
    LiveKeysDiffer {
        /// The TLSA name.
        name: String,
        /// The digests seen.
        digests: String,
    },
    /// The host has no address, or its addresses could not be looked up.
    #[error("no address for {host}: cannot observe its key")]
    NoAddress {
        /// The host.
        host: String,
        /// The lookup's error, if any.
        #[source]
        source: Option<crate::dns::DnsError>,
    },
    /// The server could not be reached, or offered no STARTTLS, or presented no certificate.
    #[error("cannot observe the key of {addr} ({host}): {reason}")]
    Probe {
        /// The host.
        host: String,
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
}

impl TlsaRotateError {
    /// Whether running again later may help (the server or DNS was unreachable).
    pub fn is_temporary(&self) -> bool {
        self.class() == crate::ErrorClass::Temporary
    }

    /// README's exit-code class: what the server presents is a failure (1), an unreachable
    /// server or DNS is temporary (3), a host without addresses is bad input (2).
    pub fn class(&self) -> crate::ErrorClass {
        use crate::ErrorClass;
        match self {
            TlsaRotateError::Probe { .. } => ErrorClass::Temporary,
            TlsaRotateError::NoAddress { source, .. } => {
                if source.as_ref().is_some_and(|e| e.is_temporary()) {
                    ErrorClass::Temporary
                } else {
                    ErrorClass::BadInput
                }
            }
            TlsaRotateError::LiveKeyUnknown { .. }
            | TlsaRotateError::LiveKeyRetiring { .. }
            | TlsaRotateError::LiveKeysDiffer { .. } => ErrorClass::Failure,
        }
    }
}

/// The `3 1 1` digest of a DER certificate's SubjectPublicKeyInfo (RFC 6698 §2.1: selector 1,
/// matching type 1).
pub fn leaf_digest(cert_der: &[u8]) -> Option<String> {
    crate::transport::dane::tlsa_for_cert(cert_der, 3, 1, 1)
        .ok()
        .map(|t| t.to_string())
}

/// The `3 1 1` digest of a SubjectPublicKeyInfo DER.
pub fn spki_digest(spki_der: &[u8]) -> String {
    crate::transport::dane::tlsa_for_spki(spki_der, 1).to_string()
}

/// How to observe servers: the resolver for the host's addresses and the timeout per step.
#[derive(Debug, Clone)]
pub struct Observer {
    /// Resolves the MX host's A and AAAA records.
    pub resolver: Arc<dyn Resolver>,
    /// Connect and per-command timeout.
    pub timeout: Duration,
}

impl Observer {
    /// The addresses of `host` (A then AAAA).
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, TlsaRotateError> {
        let no_address = |source| TlsaRotateError::NoAddress {
            host: host.to_owned(),
            source,
        };
        let v4 = self.resolver.a(host).await;
        let v6 = self.resolver.aaaa(host).await;
        let mut addrs: Vec<IpAddr> = Vec::new();
        let mut error = None;
        match v4 {
            Ok(list) => addrs.extend(list.into_iter().map(IpAddr::V4)),
            Err(e) if !e.is_void() => error = Some(e),
            Err(_) => {}
        }
        match v6 {
            Ok(list) => addrs.extend(list.into_iter().map(IpAddr::V6)),
            Err(e) if !e.is_void() => error = error.or(Some(e)),
            Err(_) => {}
        }
        match (addrs.is_empty(), error) {
            (false, _) => Ok(addrs),
            (true, error) => Err(no_address(error)),
        }
    }

    /// The `3 1 1` digest of the leaf key `host` presents at every one of its addresses
    /// (greeting, EHLO, STARTTLS; RFC 7672 §2.2).
    pub async fn live(&self, host: &str, port: u16) -> Result<Live, TlsaRotateError> {
        let mut live = Vec::new();
        for ip in self.addresses(host).await? {
            let addr = SocketAddr::new(ip, port);
            live.push((ip, self.digest_at(host, addr).await?));
        }
        Ok(live)
    }

    async fn digest_at(&self, host: &str, addr: SocketAddr) -> Result<String, TlsaRotateError> {
        let failed = |reason: String| TlsaRotateError::Probe {
            host: host.to_owned(),
            addr,
            reason,
        };
        let endpoint = Endpoint {
            addr,
            host: host.to_owned(),
            source_ip: None,
            timeout: self.timeout,
        };
        let mut session = Session::connect(&endpoint)
            .await
            .map_err(|e| failed(e.to_string()))?;
        session
            .greeting()
            .await
            .map_err(|e| failed(e.to_string()))?;
        session
            .ehlo("mailauth.invalid")
            .await
            .map_err(|e| failed(e.to_string()))?;
        let details = match session.starttls().await {
            Ok(Ok(details)) => details,
            Ok(Err(reply)) => return Err(failed(format!("STARTTLS refused: {}", reply.text()))),
            Err(e) => return Err(failed(e.to_string())),
        };
        let _ = session.quit().await;
        let leaf = details
            .chain
            .first()
            .ok_or_else(|| failed("no certificate presented".into()))?;
        leaf_digest(leaf).ok_or_else(|| failed("the certificate cannot be parsed".into()))
    }
}

/// Everything a TLSA run needs for one domain.
pub struct TlsaRotation<'a> {
    /// The domain (and zone) whose provider holds the TLSA records.
    pub domain: DomainName,
    /// Where the state lives.
    pub store: KeyStore,
    /// Where records are published.
    pub provider: &'a dyn Provider,
    /// TTL and propagation wait.
    pub timing: TlsaTiming,
    /// The servers that must all serve an RRset before it counts as visible.
    pub servers: ServerFactory<'a>,
    /// How the servers' keys are observed.
    pub observer: Observer,
}

impl fmt::Debug for TlsaRotation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsaRotation({})", self.domain)
    }
}

/// Why a TLSA run stopped without an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TlsaStop {
    /// Nothing more is due now.
    NothingDue,
    /// A dry run: nothing was changed.
    DryRun,
    /// The applied RRset is not served by every server yet.
    NotVisible,
    /// The server still presents the current key.
    NotSwitched,
    /// A safety limit on steps was reached.
    StepLimit,
}

impl fmt::Display for TlsaStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsaStop::NothingDue => "nothing more is due now",
            TlsaStop::DryRun => "dry run, nothing changed",
            TlsaStop::NotVisible => "the TLSA set is not yet served by every authoritative server",
            TlsaStop::NotSwitched => "the server still presents the current key",
            TlsaStop::StepLimit => "stopped after too many steps",
        })
    }
}

/// What a TLSA run did for one name.
#[derive(Debug, Clone, Serialize)]
pub struct TlsaReport {
    /// The TLSA name.
    pub name: String,
    /// The steps taken, in order.
    pub done: Vec<TlsaAction>,
    /// Why the run stopped.
    pub stopped: TlsaStop,
    /// The next step.
    pub next: TlsaAction,
}

const MAX_STEPS: usize = 16;

enum Progress {
    Done,
    Stopped(TlsaStop),
}

impl TlsaRotation<'_> {
    /// Advance every TLSA name of the domain as far as is safe at `now`; with `dry_run` only say
    /// what is next, holding the domain's `lock` (the DKIM rotation's: one run holds it for both). The
    /// state is saved after every step that changed it.
    pub async fn run(
        &self,
        lock: &DomainLock,
        now: u64,
        dry_run: bool,
    ) -> Result<Vec<TlsaReport>, RotateError> {
        check_lock(lock, &self.domain)?;
        let mut state = RotationState::load(&self.store, &self.domain)?.unwrap_or_default();
        let mut reports = Vec::new();
        for index in 0..state.tlsa.len() {
            let mut done = Vec::new();
            let stopped = if dry_run {
                TlsaStop::DryRun
            } else {
                self.advance(&mut state, index, now, &mut done).await?
            };
            let r = &state.tlsa[index];
            reports.push(TlsaReport {
                name: r.name.clone(),
                done,
                stopped,
                next: next_action(r, self.timing, now),
            });
        }
        Ok(reports)
    }

    async fn advance(
        &self,
        state: &mut RotationState,
        index: usize,
        now: u64,
        done: &mut Vec<TlsaAction>,
    ) -> Result<TlsaStop, RotateError> {
        for _ in 0..MAX_STEPS {
            let action = next_action(&state.tlsa[index], self.timing, now);
            match self.take(state, index, &action, now).await? {
                Progress::Done => done.push(action),
                Progress::Stopped(why) => return Ok(why),
            }
        }
        Ok(TlsaStop::StepLimit)
    }

    fn save(&self, state: &RotationState) -> Result<(), RotateError> {
        Ok(state.save(&self.store, &self.domain)?)
    }

    async fn take(
        &self,
        state: &mut RotationState,
        index: usize,
        action: &TlsaAction,
        now: u64,
    ) -> Result<Progress, RotateError> {
        let (host, port) = (state.tlsa[index].host.clone(), state.tlsa[index].port);
        match action {
            TlsaAction::Wait { .. } | TlsaAction::Idle { .. } => {
                return Ok(Progress::Stopped(TlsaStop::NothingDue));
            }
            TlsaAction::Adopt { name } => {
                let live = self.observer.live(&host, port).await?;
                let mut digests: Vec<&str> = live.iter().map(|(_, d)| d.as_str()).collect();
                digests.dedup();
                if digests.len() != 1 {
                    return Err(TlsaRotateError::LiveKeysDiffer {
                        name: name.clone(),
                        digests: digests.join(", "),
                    }
                    .into());
                }
                state.tlsa[index].adopt(digests[0], now);
            }
            TlsaAction::Publish { name, set } => {
                self.put(name, set)?;
                state.tlsa[index].applied(set.clone(), now);
            }
            TlsaAction::CheckVisible { name } => {
                if !self.served(name, &state.tlsa[index].applied).await? {
                    return Ok(Progress::Stopped(TlsaStop::NotVisible));
                }
                state.tlsa[index].visible_at = Some(now);
            }
            TlsaAction::Observe { .. } => {
                let live = self.observer.live(&host, port).await?;
                match judge(&state.tlsa[index], &live)? {
                    Seen::Switched => state.tlsa[index].switch(now, self.timing.ttl),
                    Seen::NotYet => return Ok(Progress::Stopped(TlsaStop::NotSwitched)),
                }
            }
            TlsaAction::Retire { digest, .. } => {
                let live = self.observer.live(&host, port).await?;
                may_retire(&state.tlsa[index], &live, digest)?;
                state.tlsa[index].retire(digest, now);
            }
        }
        self.save(state)?;
        Ok(Progress::Done)
    }

    /// Make the provider hold exactly `set` at `name` (the TLSA RRset is mailauth's whole).
    fn put(&self, name: &str, set: &[String]) -> Result<(), RotateError> {
        let desired: Vec<Desired> = if set.is_empty() {
            vec![tlsa_desired(name, self.timing.ttl, None)]
        } else {
            set.iter()
                .map(|v| tlsa_desired(name, self.timing.ttl, Some(v.clone())))
                .collect()
        };
        let changes = plan(self.provider, &self.domain, &desired, true)?;
        apply_plan(self.provider, &self.domain, &changes)?;
        Ok(())
    }

    /// Whether every server serves exactly `set` at `name`.
    async fn served(&self, name: &str, set: &[String]) -> Result<bool, RotateError> {
        let servers = (self.servers)().map_err(RotateError::Servers)?;
        for (_, server) in &servers {
            // A failed lookup counts as not served yet: the check is repeated on the next run.
            let Ok(answer) = server.tlsa(name).await else {
                return Ok(false);
            };
            let mut values: Vec<String> = answer.records.iter().map(|t| t.to_string()).collect();
            values.sort();
            values.dedup();
            if values != set {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn tlsa_desired(name: &str, ttl: u64, value: Option<String>) -> Desired {
    Desired {
        name: name.to_owned(),
        rtype: RecordType::Tlsa,
        ttl: u32::try_from(ttl).unwrap_or(u32::MAX),
        value,
        ownership: Ownership::WholeName,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: u64 = 300;
    const T: TlsaTiming = TlsaTiming {
        ttl: TTL,
        propagation: 600,
    };

    fn d(byte: u8) -> String {
        format!("3 1 1 {}", format!("{byte:02x}").repeat(32))
    }

    fn ip() -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }

    /// A rollover with current `a` published and served.
    fn settled() -> TlsaRollover {
        let mut r = TlsaRollover::new("MX.example.test.", 25);
        r.adopt(&d(0xaa), 0);
        r.applied(r.wanted(), 0);
        r.visible_at = Some(600);
        r
    }

    #[test]
    fn rfc7672_2_2_3_the_name_is_port_tcp_host() {
        assert_eq!(
            TlsaRollover::new("MX.Example.test.", 25).name,
            "_25._tcp.mx.example.test"
        );
    }

    #[test]
    fn no_current_key_is_adopted_from_the_server_first() {
        let r = TlsaRollover::new("mx.example.test", 25);
        assert!(matches!(next_action(&r, T, 0), TlsaAction::Adopt { .. }));
    }

    #[test]
    fn rfc7671_8_1_next_is_published_beside_current_then_checked_then_watched() {
        let mut r = settled();
        assert!(matches!(next_action(&r, T, 700), TlsaAction::Idle { .. }));
        r.set_next(&d(0xbb), 1000).expect("a new key");
        let mut both = vec![d(0xaa), d(0xbb)];
        both.sort();
        assert_eq!(
            next_action(&r, T, 1000),
            TlsaAction::Publish {
                name: r.name.clone(),
                set: both.clone()
            }
        );
        r.applied(both, 1000);
        assert_eq!(
            next_action(&r, T, 1100),
            TlsaAction::Wait {
                name: r.name.clone(),
                until: Moment(1600)
            }
        );
        assert!(matches!(
            next_action(&r, T, 1600),
            TlsaAction::CheckVisible { .. }
        ));
        r.visible_at = Some(1600);
        assert_eq!(r.switch_safe_after(TTL), Some(Moment(1900)));
        assert_eq!(
            next_action(&r, T, 1700),
            TlsaAction::Observe {
                name: r.name.clone(),
                next: d(0xbb)
            }
        );
    }

    #[test]
    fn rfc7671_8_1_the_switch_is_observed_not_assumed() {
        let mut r = settled();
        r.set_next(&d(0xbb), 0).expect("a new key");
        // One address still on the old key: not switched.
        let mixed = vec![(ip(), d(0xaa)), (IpAddr::from([127, 0, 0, 2]), d(0xbb))];
        assert_eq!(judge(&r, &mixed).expect("known keys"), Seen::NotYet);
        assert_eq!(judge(&r, &vec![]).expect("nothing seen"), Seen::NotYet);
        assert_eq!(
            judge(&r, &vec![(ip(), d(0xbb))]).expect("known"),
            Seen::Switched
        );
    }

    #[test]
    fn a_live_key_that_is_neither_current_nor_next_is_an_error() {
        let mut r = settled();
        r.set_next(&d(0xbb), 0).expect("a new key");
        let err = judge(&r, &vec![(ip(), d(0xbb)), (ip(), d(0xcc))]).expect_err("unknown");
        assert!(
            err.to_string().starts_with("dane.live_key_unknown"),
            "{err}"
        );
        assert!(!err.is_temporary());
    }

    #[test]
    fn rfc7671_8_1_the_old_digest_is_retired_two_ttls_after_the_observed_switch() {
        let mut r = settled();
        r.set_next(&d(0xbb), 0).expect("a new key");
        r.applied(r.wanted(), 0);
        r.visible_at = Some(600);
        r.switch(5000, TTL);
        assert_eq!(
            r.with_role(TlsaRole::Current).map(|e| e.digest.clone()),
            Some(d(0xbb))
        );
        let old = r
            .with_role(TlsaRole::Retiring)
            .expect("the old key retires");
        assert_eq!(old.retire_after, Some(5000 + 2 * TTL));
        // The RRset does not change at the switch: nothing to publish, just wait.
        assert_eq!(
            next_action(&r, T, 5001),
            TlsaAction::Wait {
                name: r.name.clone(),
                until: Moment(5600)
            }
        );
        assert_eq!(
            next_action(&r, T, 5600),
            TlsaAction::Retire {
                name: r.name.clone(),
                digest: d(0xaa)
            }
        );
        r.retire(&d(0xaa), 5600);
        assert_eq!(
            next_action(&r, T, 5600),
            TlsaAction::Publish {
                name: r.name.clone(),
                set: vec![d(0xbb)]
            }
        );
    }

    #[test]
    fn rfc7672_3_1_1_a_digest_the_server_still_presents_is_never_removed() {
        let mut r = settled();
        r.set_next(&d(0xbb), 0).expect("a new key");
        r.switch(100, TTL);
        let back_on_old = vec![(ip(), d(0xaa))];
        let err = may_retire(&r, &back_on_old, &d(0xaa)).expect_err("still live");
        assert!(
            err.to_string().starts_with("dane.live_key_retiring"),
            "{err}"
        );
        let unknown = vec![(ip(), d(0xcc))];
        let err = may_retire(&r, &unknown, &d(0xaa)).expect_err("unknown key");
        assert!(
            err.to_string().starts_with("dane.live_key_unknown"),
            "{err}"
        );
        may_retire(&r, &vec![(ip(), d(0xbb))], &d(0xaa)).expect("the new key is live");
    }

    #[test]
    fn next_is_refused_for_the_current_key_and_replaces_an_unseen_next() {
        let mut r = settled();
        assert_eq!(
            r.set_next(&d(0xaa), 0),
            Err(NextRefused {
                role: TlsaRole::Current
            })
        );
        r.set_next(&d(0xbb), 0).expect("new");
        r.set_next(&d(0xbb), 1)
            .expect("the same next again is a no-op");
        r.set_next(&d(0xcc), 2).expect("replaces the unseen next");
        assert_eq!(r.wanted().len(), 2);
        assert_eq!(r.role_of(&d(0xbb)), None);
    }

    #[test]
    fn an_old_state_file_without_tlsa_loads_and_a_rollover_round_trips() {
        let mut state: RotationState =
            serde_json::from_str(r#"{"keys": [], "journal": []}"#).expect("loads");
        assert!(state.tlsa.is_empty());
        state.tlsa.push(settled());
        let text = serde_json::to_string(&state).expect("serialises");
        let back: RotationState = serde_json::from_str(&text).expect("loads");
        assert_eq!(back, state);
    }

    #[test]
    fn rfc6698_2_1_selector_1_matching_1_hashes_the_spki() {
        // SHA-256 of the empty input, as a check of the encoding only.
        assert_eq!(
            spki_digest(b""),
            "3 1 1 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
