//! Scheduled DKIM key rotation: a persisted state machine per domain (ARCHITECTURE.md):
//! `pending` (key generated) → `published` (record applied) → `visible` (served by every
//! authoritative server) → `active` (signer switched) → `retiring` (old key still published for
//! the overlap) → `revoked` (`p=` empty) → `deleted` (record and private key gone).
//!
//! [`step::next_action`] is pure: given the state, the policy and `now` it names the one thing to
//! do next. [`executor`] does it, saving the state (atomically, with a journal) after every
//! transition, so a run killed at any point resumes where it stopped.
//!
//! The state file (`DOMAIN/rotation.json`) keeps the format it has always had: algorithm names
//! as strings, times as UNIX seconds. What is shown to people and programs (`status`, `rotate
//! --json`) is built from typed values with `Display` and serde, with times in RFC 3339
//! ([`Moment`]).

pub mod dane;
pub mod executor;
pub mod lock;
pub mod step;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, KeySpec, KeyStore};

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

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`, so column widths in status tables apply.
        f.pad(self.as_str())
    }
}

/// A moment as UNIX seconds, shown and serialised as RFC 3339 UTC (`2027-01-02T03:04:05Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment(pub u64);

impl Moment {
    /// The UNIX seconds.
    pub fn unix(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Past chrono's range (year 262143) only a schedule bug could reach: show the number.
        match i64::try_from(self.0)
            .ok()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        {
            Some(time) => f.pad(&time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            None => write!(f, "@{}", self.0),
        }
    }
}

impl Serialize for Moment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Serde for a [`KeySpec`] as its name (`rsa-2048`, `ed25519`): the form the state file has
/// always held, so files written before the type existed still load.
pub(crate) mod spec_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::keys::KeySpec;

    /// Write the name.
    pub fn serialize<S: Serializer>(spec: &KeySpec, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(spec.as_str())
    }

    /// Read a name; an unknown one is an error naming the known ones.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<KeySpec, D::Error> {
        let name = String::deserialize(deserializer)?;
        KeySpec::from_name(&name).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown algorithm {name:?} (known: rsa-2048, rsa-3072, rsa-4096, ed25519)"
            ))
        })
    }
}

/// Why a domain's rotation state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The domain cannot name a directory in the key store.
    #[error("no rotation state for this domain in the key store")]
    Name(#[source] KeyError),
    /// The state file exists but could not be read.
    #[error("cannot read the rotation state {}", path.display())]
    Read {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not rotation state JSON.
    #[error("{} is not a rotation state file (edited by hand?)", path.display())]
    Parse {
        /// The state file.
        path: PathBuf,
        /// Where and why the JSON was refused.
        #[source]
        source: serde_json::Error,
    },
    /// The state file could not be written.
    #[error("cannot write the rotation state {}", path.display())]
    Write {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Its selector.
    pub selector: String,
    /// What kind of key it is (stored by name: rsa-2048, ed25519, ...).
    #[serde(with = "spec_name")]
    pub algorithm: KeySpec,
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
    /// TLSA rollovers, one per `_PORT._tcp.HOST` name ([`dane`]). Absent from files written
    /// before they existed, and left out when empty, so those files load and round-trip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlsa: Vec<dane::TlsaRollover>,
}

impl RotationState {
    /// Where `domain`'s state lives in the key store: `DOMAIN/rotation.json`.
    pub fn path(store: &KeyStore, domain: &str) -> Result<PathBuf, StateError> {
        // The key store owns the layout and the name checks: ask it for a key's path and take
        // the directory, so the state can never land outside the store either.
        store
            .key_path(domain, "x")
            .map(|p| p.with_file_name("rotation.json"))
            .map_err(StateError::Name)
    }

    /// Read `domain`'s state; `None` when rotation has not started.
    pub fn load(store: &KeyStore, domain: &str) -> Result<Option<RotationState>, StateError> {
        let path = Self::path(store, domain)?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StateError::Parse { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    /// Write `domain`'s state atomically (mode 0600), creating its directory if needed: a reader
    /// sees the old state or the new, never half of one.
    pub fn save(&self, store: &KeyStore, domain: &str) -> Result<(), StateError> {
        use mailauth_base::atomic;
        let path = Self::path(store, domain)?;
        let write = |path: &std::path::Path| -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
            atomic::write(path, &json, atomic::WriteOptions::PRIVATE)
        };
        write(&path).map_err(|source| StateError::Write { path, source })
    }

    /// The key with this selector.
    pub fn key(&self, selector: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.selector == selector)
    }

    /// Add a new `pending` key at `now`, journaling it.
    pub fn add(&mut self, selector: &str, algorithm: KeySpec, now: u64) {
        self.keys.push(KeyEntry {
            selector: selector.to_owned(),
            algorithm,
            state: KeyState::Pending,
            since: now,
            created: now,
            activated: None,
        });
        self.journal.push(Transition {
            time: now,
            selector: selector.to_owned(),
            from: None,
            to: KeyState::Pending,
        });
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
    pub algorithms: Vec<KeySpec>,
    /// Replace an active key after this long.
    pub rotate_every: u64,
    /// Wait at least this long after publishing before switching.
    pub propagation: u64,
    /// Keep a replaced key published this long.
    pub overlap: u64,
    /// Keep the revoked record this long before deleting it.
    pub revoked_for: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state file as every earlier version wrote it (algorithm names as strings, times as
    /// UNIX seconds) must still load, and be written back the same way.
    #[test]
    fn a_state_file_in_the_existing_format_loads_and_round_trips() {
        let text = r#"{
  "keys": [
    {"selector": "20261125-rsa", "algorithm": "rsa-2048", "state": "active",
     "since": 1795600000, "created": 1795500000, "activated": 1795600000},
    {"selector": "20261125-ed25519", "algorithm": "ed25519", "state": "retiring",
     "since": 1795600000, "created": 1795500000, "activated": null}
  ],
  "journal": [
    {"time": 1795500000, "selector": "20261125-rsa", "from": null, "to": "pending"},
    {"time": 1795600000, "selector": "20261125-rsa", "from": "visible", "to": "active"}
  ]
}"#;
        let state: RotationState = serde_json::from_str(text).expect("the existing format loads");
        assert_eq!(state.keys[0].algorithm, KeySpec::Rsa2048);
        assert_eq!(state.keys[1].algorithm, KeySpec::Ed25519);
        assert_eq!(state.keys[1].state, KeyState::Retiring);
        assert_eq!(state.journal[1].from, Some(KeyState::Visible));
        let written = serde_json::to_value(&state).expect("serialises");
        let original: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(written, original);
    }

    #[test]
    fn an_unknown_algorithm_in_a_state_file_is_refused_with_the_known_ones() {
        let text = r#"{"keys": [{"selector": "s", "algorithm": "dsa", "state": "active",
            "since": 0, "created": 0, "activated": null}], "journal": []}"#;
        let err = serde_json::from_str::<RotationState>(text).expect_err("dsa is refused");
        assert!(err.to_string().contains("rsa-2048"), "{err}");
    }

    #[test]
    fn key_states_and_moments_read_as_words_and_rfc3339() {
        assert_eq!(KeyState::Retiring.to_string(), "retiring");
        assert_eq!(format!("{:<9}|", KeyState::Active), "active   |");
        assert_eq!(Moment(1_798_772_645).to_string(), "2027-01-01T03:04:05Z");
        assert_eq!(
            serde_json::to_value(Moment(0)).expect("serialises"),
            serde_json::json!("1970-01-01T00:00:00Z")
        );
    }
}
