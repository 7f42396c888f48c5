//! The pure decision: given a domain's state, its policy and `now`, what is the next safe step?

use super::{KeyState, Policy, RotationState};

/// The one thing to do next for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Generate a key of this algorithm under this selector.
    Generate {
        /// rsa-2048, ed25519, ...
        algorithm: String,
        /// The new selector.
        selector: String,
    },
    /// Publish the key's record.
    Publish(String),
    /// Check that every authoritative server serves the record (after the propagation wait).
    CheckVisible(String),
    /// Point the signer at these visible keys (and retire the ones they replace).
    Switch(Vec<String>),
    /// Publish the empty-`p=` record of a key whose overlap has ended.
    Revoke(String),
    /// Remove the record, then the private key, of a key revoked long enough.
    Delete(String),
    /// Nothing to do until the given time.
    Wait(u64),
}

/// The dated default selector for a new key: `YYYYMMDD-rsa` / `YYYYMMDD-ed25519`, with a suffix
/// when that name was used before.
pub fn selector_for(state: &RotationState, algorithm: &str, now: u64) -> String {
    let date = chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y%m%d");
    let kind = if algorithm == "ed25519" {
        "ed25519"
    } else {
        "rsa"
    };
    let base = format!("{date}-{kind}");
    let mut candidate = base.clone();
    let mut n = 2;
    while state.keys.iter().any(|k| k.selector == candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

/// The next action, or `Wait` until something becomes due.
pub fn next_action(state: &RotationState, policy: &Policy, now: u64) -> Action {
    let mut wake = u64::MAX;
    // Keys on their way in, oldest first.
    for key in &state.keys {
        match key.state {
            KeyState::Pending => return Action::Publish(key.selector.clone()),
            KeyState::Published => {
                let due = key.since.saturating_add(policy.propagation);
                if now >= due {
                    return Action::CheckVisible(key.selector.clone());
                }
                wake = wake.min(due);
            }
            _ => {}
        }
    }
    // Switch once every algorithm that needs a new key has a visible one.
    let visible: Vec<String> = state
        .keys
        .iter()
        .filter(|k| k.state == KeyState::Visible)
        .map(|k| k.selector.clone())
        .collect();
    let waiting_for_others = state
        .keys
        .iter()
        .any(|k| matches!(k.state, KeyState::Pending | KeyState::Published));
    if !visible.is_empty() && !waiting_for_others {
        return Action::Switch(visible);
    }
    // Old keys on their way out.
    for key in &state.keys {
        match key.state {
            KeyState::Retiring => {
                let due = key.since.saturating_add(policy.overlap);
                if now >= due {
                    return Action::Revoke(key.selector.clone());
                }
                wake = wake.min(due);
            }
            KeyState::Revoked => {
                let due = key.since.saturating_add(policy.revoked_for);
                if now >= due {
                    return Action::Delete(key.selector.clone());
                }
                wake = wake.min(due);
            }
            _ => {}
        }
    }
    // New keys: an algorithm without a key in play, or whose active key is due for rotation.
    for algorithm in &policy.algorithms {
        let in_flight = state.keys.iter().any(|k| {
            &k.algorithm == algorithm
                && matches!(
                    k.state,
                    KeyState::Pending | KeyState::Published | KeyState::Visible
                )
        });
        if in_flight {
            continue;
        }
        let active = state.active().find(|k| &k.algorithm == algorithm);
        let due = match active {
            None => now,
            Some(key) => key
                .activated
                .unwrap_or(key.since)
                .saturating_add(policy.rotate_every),
        };
        if now >= due {
            return Action::Generate {
                algorithm: algorithm.clone(),
                selector: selector_for(state, algorithm, now),
            };
        }
        wake = wake.min(due);
    }
    Action::Wait(wake)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotate::KeyEntry;

    fn policy() -> Policy {
        Policy {
            algorithms: vec!["rsa-2048".into()],
            rotate_every: 90 * 86_400,
            propagation: 3600,
            overlap: 7 * 86_400,
            revoked_for: 7 * 86_400,
        }
    }

    fn key(selector: &str, state: KeyState, since: u64) -> KeyEntry {
        KeyEntry {
            selector: selector.into(),
            algorithm: "rsa-2048".into(),
            state,
            since,
            created: since,
            activated: (state == KeyState::Active).then_some(since),
        }
    }

    #[test]
    fn a_new_domain_gets_a_key_and_publishes_it() {
        let state = RotationState::default();
        assert!(matches!(
            next_action(&state, &policy(), 0),
            Action::Generate { .. }
        ));
        let state = RotationState {
            keys: vec![key("a", KeyState::Pending, 0)],
            journal: vec![],
        };
        assert_eq!(
            next_action(&state, &policy(), 0),
            Action::Publish("a".into())
        );
    }

    #[test]
    fn visibility_is_checked_only_after_the_propagation_wait() {
        let state = RotationState {
            keys: vec![key("a", KeyState::Published, 100)],
            journal: vec![],
        };
        assert_eq!(next_action(&state, &policy(), 200), Action::Wait(3700));
        assert_eq!(
            next_action(&state, &policy(), 3700),
            Action::CheckVisible("a".into())
        );
    }

    #[test]
    fn retiring_keys_wait_out_the_overlap_then_revoke_then_delete() {
        let day = 86_400;
        let state = RotationState {
            keys: vec![
                key("old", KeyState::Retiring, 0),
                key("new", KeyState::Active, 0),
            ],
            journal: vec![],
        };
        assert_eq!(next_action(&state, &policy(), day), Action::Wait(7 * day));
        assert_eq!(
            next_action(&state, &policy(), 7 * day),
            Action::Revoke("old".into())
        );
        let state = RotationState {
            keys: vec![
                key("old", KeyState::Revoked, 7 * day),
                key("new", KeyState::Active, 0),
            ],
            journal: vec![],
        };
        assert_eq!(
            next_action(&state, &policy(), 14 * day),
            Action::Delete("old".into())
        );
        let state = RotationState {
            keys: vec![key("new", KeyState::Active, 0)],
            journal: vec![],
        };
        assert!(matches!(
            next_action(&state, &policy(), 90 * day),
            Action::Generate { .. }
        ));
    }
}
