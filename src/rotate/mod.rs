//! Scheduled DKIM key rotation: a persisted state machine per domain (ARCHITECTURE.md):
//! `pending` (key generated) → `published` (record applied) → `visible` (served by every
//! authoritative server) → `active` (signer switched) → `retiring` (old key still published for
//! the overlap) → `revoked` (`p=` empty) → `deleted` (record and private key gone).
//!
//! [`step::next_action`] is pure: given the state, the policy and `now` it names the one thing to
//! do next. [`executor`] does it, saving the state (atomically, with a journal) after every
//! transition, so a run killed at any point resumes where it stopped.

pub mod executor;
pub mod step;

use serde::{Deserialize, Serialize};

/// Where one key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Generated, not yet published.
    Pending,
    /// Record applied at the provider.
    Published,
    /// Every authoritative server returns the record.
    Visible,
    /// The signer uses it.
    Active,
    /// Replaced; still published for the overlap.
    Retiring,
    /// Record published with an empty `p=`.
    Revoked,
    /// Record and private key removed.
    Deleted,
}

impl KeyState {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Published => "published",
            KeyState::Visible => "visible",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Revoked => "revoked",
            KeyState::Deleted => "deleted",
        }
    }
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Its selector.
    pub selector: String,
    /// rsa-2048, ed25519, ...
    pub algorithm: String,
    /// Where it is.
    pub state: KeyState,
    /// When it entered `state` (UNIX seconds).
    pub since: u64,
    /// When it was generated.
    pub created: u64,
    /// When it became active.
    pub activated: Option<u64>,
}

/// One transition, for the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When.
    pub time: u64,
    /// Which key.
    pub selector: String,
    /// From (none for a new key).
    pub from: Option<KeyState>,
    /// To.
    pub to: KeyState,
}

/// A domain's rotation state, kept in the key store as `DOMAIN/rotation.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RotationState {
    /// Every key, oldest first (deleted ones stay for the record).
    pub keys: Vec<KeyEntry>,
    /// Every transition, in order.
    pub journal: Vec<Transition>,
}

impl RotationState {
    /// Where `domain`'s state lives in the key store: `DOMAIN/rotation.json`.
    pub fn path(store: &crate::keys::KeyStore, domain: &str) -> Result<std::path::PathBuf, String> {
        store
            .key_path(domain, "x")
            .map(|p| p.with_file_name("rotation.json"))
            .map_err(|e| e.to_string())
    }

    /// Read `domain`'s state; `None` when rotation has not started.
    pub fn load(
        store: &crate::keys::KeyStore,
        domain: &str,
    ) -> Result<Option<RotationState>, String> {
        let path = Self::path(store, domain)?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Move `selector` to `to` at `now`, journaling it.
    pub fn transition(&mut self, selector: &str, to: KeyState, now: u64) {
        if let Some(key) = self.keys.iter_mut().find(|k| k.selector == selector) {
            self.journal.push(Transition {
                time: now,
                selector: selector.to_owned(),
                from: Some(key.state),
                to,
            });
            key.state = to;
            key.since = now;
            if to == KeyState::Active {
                key.activated = Some(now);
            }
        }
    }

    /// The keys the signer should use: the active ones.
    pub fn active(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.iter().filter(|k| k.state == KeyState::Active)
    }
}

/// The timing of a domain's rotation, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Key kinds rotated side by side.
    pub algorithms: Vec<String>,
    /// Replace an active key after this long.
    pub rotate_every: u64,
    /// Wait at least this long after publishing before switching.
    pub propagation: u64,
    /// Keep a replaced key published this long.
    pub overlap: u64,
    /// Keep the revoked record this long before deleting it.
    pub revoked_for: u64,
}
