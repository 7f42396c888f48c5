//! The pure decisions: given a domain's state, its policy and `now`, what is the next safe step,
//! and when a switch comes, which keys the signer uses afterwards. Nothing here does I/O or reads
//! the clock, so every rule is tested with plain values.
//!
//! Actions are shown to people through `Display` ("switch the signer to S") and to programs
//! through serde (`{"action": "switch", "activate": ["S"], "retire": []}`), never as Rust Debug
//! text.

use std::fmt;

use serde::Serialize;

use super::{KeyState, Moment, Policy, RotationState, spec_name};
use crate::keys::KeySpec;

/// The one thing to do next for a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Generate a key of this algorithm under this selector.
    Generate {
        /// rsa-2048, ed25519, ...
        #[serde(with = "spec_name")]
        algorithm: KeySpec,
        /// The new selector.
        selector: String,
    },
    /// Publish the key's record.
    Publish {
        /// The key.
        selector: String,
    },
    /// Check that every authoritative server serves the record (after the propagation wait).
    CheckVisible {
        /// The key.
        selector: String,
    },
    /// Point the signer at the visible keys and retire the ones they replace.
    Switch(SignerSwitch),
    /// Publish the empty-`p=` record of a key whose overlap has ended.
    Revoke {
        /// The key.
        selector: String,
    },
    /// Remove the record, then the private key, of a key revoked long enough.
    Delete {
        /// The key.
        selector: String,
    },
    /// Nothing to do until then.
    Wait {
        /// When something becomes due.
        until: Moment,
    },
    /// Nothing to do, ever: no algorithm is rotated and no key is in play.
    Idle,
}

/// A switch of the signer: the keys it starts using and the keys it stops using.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerSwitch {
    /// Visible keys that become active.
    pub activate: Vec<String>,
    /// Active keys of the same algorithms that become retiring.
    pub retire: Vec<String>,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Generate {
                algorithm,
                selector,
            } => write!(f, "generate an {algorithm} key as selector {selector}"),
            Action::Publish { selector } => write!(f, "publish the record of {selector}"),
            Action::CheckVisible { selector } => {
                write!(f, "check that every authoritative server serves {selector}")
            }
            Action::Switch(switch) => write!(f, "switch the signer to {switch}"),
            Action::Revoke { selector } => write!(f, "revoke {selector} (publish an empty p=)"),
            Action::Delete { selector } => {
                write!(f, "delete the record and the private key of {selector}")
            }
            Action::Wait { until } => write!(f, "wait until {until}"),
            Action::Idle => f.write_str("nothing to do (no algorithm to rotate)"),
        }
    }
}

impl fmt::Display for SignerSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.activate.join(", "))?;
        if !self.retire.is_empty() {
            write!(f, " (retiring {})", self.retire.join(", "))?;
        }
        Ok(())
    }
}

impl Action {
    /// The action in the past tense, for the report of what a run did.
    pub fn done(&self) -> Done<'_> {
        Done(self)
    }
}

/// An action that was carried out, shown in the past tense ("published S").
#[derive(Debug, Clone, Copy)]
pub struct Done<'a>(&'a Action);

impl fmt::Display for Done<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Action::Generate {
                algorithm,
                selector,
            } => write!(f, "generated an {algorithm} key as selector {selector}"),
            Action::Publish { selector } => write!(f, "published {selector}"),
            Action::CheckVisible { selector } => {
                write!(f, "{selector} is served by every authoritative server")
            }
            Action::Switch(switch) => write!(f, "switched the signer to {switch}"),
            Action::Revoke { selector } => write!(f, "revoked {selector}"),
            Action::Delete { selector } => write!(f, "deleted {selector}"),
            Action::Wait { until } => write!(f, "waited until {until}"),
            Action::Idle => f.write_str("nothing"),
        }
    }
}

/// The next real step and when it is due: what `status` and `rotate --dry-run` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upcoming {
    /// The step (never [`Action::Wait`]: a wait is shown as the step it waits for).
    #[serde(flatten)]
    pub action: Action,
    /// When it is due; none for [`Action::Idle`].
    #[serde(flatten)]
    pub due: Option<Due>,
}

/// When a step is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The moment.
    pub at: Moment,
    /// Whether it is due already (a run now would take it).
    pub now: bool,
}

impl Serialize for Due {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // RFC 3339 for people and tools, UNIX seconds for arithmetic.
        let mut out = serializer.serialize_struct("Due", 3)?;
        out.serialize_field("at", &self.at)?;
        out.serialize_field("at_unix", &self.at.unix())?;
        out.serialize_field("due_now", &self.now)?;
        out.end()
    }
}

impl fmt::Display for Upcoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.due {
            Some(Due { now: true, .. }) => write!(f, "{} (due now)", self.action),
            Some(Due { at, now: false }) => write!(f, "{} at {at}", self.action),
            None => write!(f, "{}", self.action),
        }
    }
}

/// The dated default selector for a new key: `YYYYMMDD-rsa` / `YYYYMMDD-ed25519`, with a suffix
/// when that name was used before.
pub fn selector_for(state: &RotationState, algorithm: KeySpec, now: u64) -> String {
    let date = chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y%m%d");
    let base = format!("{date}-{}", algorithm.key_type().as_str());
    let mut candidate = base.clone();
    let mut n = 2;
    while state.keys.iter().any(|k| k.selector == candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

/// The record that revokes a key of this kind (RFC 6376 §3.6.1: an empty `p=`).
pub fn revoked_record(algorithm: KeySpec) -> String {
    format!("v=DKIM1; k={}; p=", algorithm.key_type().as_str())
}

/// The next action, or `Wait` until something becomes due.
pub fn next_action(state: &RotationState, policy: &Policy, now: u64) -> Action {
    let mut wake = u64::MAX;
    if let Some(action) = incoming(state, policy, now, &mut wake) {
        return action;
    }
    if let Some(switch) = signer_switch(state) {
        return Action::Switch(switch);
    }
    if let Some(action) = outgoing(state, policy, now, &mut wake) {
        return action;
    }
    if let Some(action) = new_key(state, policy, now, &mut wake) {
        return action;
    }
    match wake {
        u64::MAX => Action::Idle,
        until => Action::Wait {
            until: Moment(until),
        },
    }
}

/// Keys on their way in, oldest first: publish a pending key, check a published one once the
/// propagation wait is over. `wake` is lowered to the earliest time something is due.
fn incoming(state: &RotationState, policy: &Policy, now: u64, wake: &mut u64) -> Option<Action> {
    for key in &state.keys {
        match key.state {
            KeyState::Pending => {
                return Some(Action::Publish {
                    selector: key.selector.clone(),
                });
            }
            KeyState::Published => {
                let due = key.since.saturating_add(policy.propagation);
                if now >= due {
                    return Some(Action::CheckVisible {
                        selector: key.selector.clone(),
                    });
                }
                *wake = (*wake).min(due);
            }
            _ => {}
        }
    }
    None
}

/// The switch due now, if any: once no key is still on its way in, every visible key becomes
/// active together (one signer reload for all algorithms), and each active key of an algorithm
/// that gets a new key is retired.
pub fn signer_switch(state: &RotationState) -> Option<SignerSwitch> {
    let on_the_way = state
        .keys
        .iter()
        .any(|k| matches!(k.state, KeyState::Pending | KeyState::Published));
    let visible: Vec<_> = state
        .keys
        .iter()
        .filter(|k| k.state == KeyState::Visible)
        .collect();
    if visible.is_empty() || on_the_way {
        return None;
    }
    let retire = state
        .active()
        .filter(|old| visible.iter().any(|new| new.algorithm == old.algorithm))
        .map(|k| k.selector.clone())
        .collect();
    Some(SignerSwitch {
        activate: visible.iter().map(|k| k.selector.clone()).collect(),
        retire,
    })
}

/// The keys the signer uses after `switch`: the active keys it keeps, then the new ones.
pub fn signer_after(state: &RotationState, switch: &SignerSwitch) -> Vec<String> {
    state
        .active()
        .map(|k| k.selector.clone())
        .filter(|selector| !switch.retire.contains(selector))
        .chain(switch.activate.iter().cloned())
        .collect()
}

/// Keys on their way out: revoke a retiring key after the overlap, delete a revoked one after
/// `revoked_for`.
fn outgoing(state: &RotationState, policy: &Policy, now: u64, wake: &mut u64) -> Option<Action> {
    for key in &state.keys {
        let (wait, action): (u64, fn(String) -> Action) = match key.state {
            KeyState::Retiring => (policy.overlap, |selector| Action::Revoke { selector }),
            KeyState::Revoked => (policy.revoked_for, |selector| Action::Delete { selector }),
            _ => continue,
        };
        let due = key.since.saturating_add(wait);
        if now >= due {
            return Some(action(key.selector.clone()));
        }
        *wake = (*wake).min(due);
    }
    None
}

/// A new key for an algorithm with no key in play, or whose active key is due for rotation.
fn new_key(state: &RotationState, policy: &Policy, now: u64, wake: &mut u64) -> Option<Action> {
    for &algorithm in &policy.algorithms {
        let in_flight = state.keys.iter().any(|k| {
            k.algorithm == algorithm
                && matches!(
                    k.state,
                    KeyState::Pending | KeyState::Published | KeyState::Visible
                )
        });
        if in_flight {
            continue;
        }
        let due = match state.active().find(|k| k.algorithm == algorithm) {
            None => now,
            Some(key) => key
                .activated
                .unwrap_or(key.since)
                .saturating_add(policy.rotate_every),
        };
        if now >= due {
            return Some(Action::Generate {
                algorithm,
                selector: selector_for(state, algorithm, now),
            });
        }
        *wake = (*wake).min(due);
    }
    None
}

/// The next real step and when it is due: a wait is looked through to the step it waits for
/// (the state does not change while waiting, so the step due at the wake-up time is it).
pub fn upcoming(state: &RotationState, policy: &Policy, now: u64) -> Upcoming {
    match next_action(state, policy, now) {
        Action::Idle => Upcoming {
            action: Action::Idle,
            due: None,
        },
        Action::Wait { until } => {
            let then = next_action(state, policy, until.unix());
            let action = match then {
                Action::Wait { .. } | Action::Idle => Action::Wait { until },
                action => action,
            };
            Upcoming {
                action,
                due: Some(Due {
                    at: until,
                    now: false,
                }),
            }
        }
        action => Upcoming {
            action,
            due: Some(Due {
                at: Moment(now),
                now: true,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotate::KeyEntry;

    const DAY: u64 = 86_400;

    fn policy() -> Policy {
        Policy {
            algorithms: vec![KeySpec::Rsa2048],
            rotate_every: 90 * DAY,
            propagation: 3600,
            overlap: 7 * DAY,
            revoked_for: 7 * DAY,
        }
    }

    fn key(selector: &str, state: KeyState, since: u64) -> KeyEntry {
        keyed(selector, KeySpec::Rsa2048, state, since)
    }

    fn keyed(selector: &str, algorithm: KeySpec, state: KeyState, since: u64) -> KeyEntry {
        KeyEntry {
            selector: selector.into(),
            algorithm,
            state,
            since,
            created: since,
            activated: (state == KeyState::Active).then_some(since),
        }
    }

    fn with(keys: Vec<KeyEntry>) -> RotationState {
        RotationState {
            keys,
            journal: vec![],
            tlsa: vec![],
        }
    }

    fn publish(selector: &str) -> Action {
        Action::Publish {
            selector: selector.into(),
        }
    }

    #[test]
    fn a_new_domain_gets_a_key_and_publishes_it() {
        assert_eq!(
            next_action(&RotationState::default(), &policy(), 0),
            Action::Generate {
                algorithm: KeySpec::Rsa2048,
                selector: "19700101-rsa".into()
            }
        );
        let state = with(vec![key("a", KeyState::Pending, 0)]);
        assert_eq!(next_action(&state, &policy(), 0), publish("a"));
    }

    #[test]
    fn visibility_is_checked_only_after_the_propagation_wait() {
        let state = with(vec![key("a", KeyState::Published, 100)]);
        assert_eq!(
            next_action(&state, &policy(), 200),
            Action::Wait {
                until: Moment(3700)
            }
        );
        assert_eq!(
            next_action(&state, &policy(), 3700),
            Action::CheckVisible {
                selector: "a".into()
            }
        );
    }

    #[test]
    fn retiring_keys_wait_out_the_overlap_then_revoke_then_delete() {
        let state = with(vec![
            key("old", KeyState::Retiring, 0),
            key("new", KeyState::Active, 0),
        ]);
        assert_eq!(
            next_action(&state, &policy(), DAY),
            Action::Wait {
                until: Moment(7 * DAY)
            }
        );
        assert_eq!(
            next_action(&state, &policy(), 7 * DAY),
            Action::Revoke {
                selector: "old".into()
            }
        );
        let state = with(vec![
            key("old", KeyState::Revoked, 7 * DAY),
            key("new", KeyState::Active, 0),
        ]);
        assert_eq!(
            next_action(&state, &policy(), 14 * DAY),
            Action::Delete {
                selector: "old".into()
            }
        );
        let state = with(vec![key("new", KeyState::Active, 0)]);
        assert!(matches!(
            next_action(&state, &policy(), 90 * DAY),
            Action::Generate { .. }
        ));
    }

    #[test]
    fn a_switch_waits_until_no_key_is_still_on_its_way_in() {
        let state = with(vec![
            keyed("rsa", KeySpec::Rsa2048, KeyState::Visible, 0),
            keyed("ed", KeySpec::Ed25519, KeyState::Published, 0),
        ]);
        assert_eq!(signer_switch(&state), None);
    }

    #[test]
    fn a_switch_retires_only_the_active_keys_of_the_algorithms_it_replaces() {
        let state = with(vec![
            keyed("old-rsa", KeySpec::Rsa2048, KeyState::Active, 0),
            keyed("old-ed", KeySpec::Ed25519, KeyState::Active, 0),
            keyed("gone", KeySpec::Rsa2048, KeyState::Retiring, 0),
            keyed("new-rsa", KeySpec::Rsa2048, KeyState::Visible, 0),
        ]);
        let switch = signer_switch(&state).expect("a visible key is due to switch");
        assert_eq!(
            switch,
            SignerSwitch {
                activate: vec!["new-rsa".into()],
                retire: vec!["old-rsa".into()],
            }
        );
        assert_eq!(signer_after(&state, &switch), vec!["old-ed", "new-rsa"]);
        assert_eq!(next_action(&state, &policy(), 0), Action::Switch(switch));
    }

    #[test]
    fn the_first_switch_activates_every_visible_key_and_retires_none() {
        let state = with(vec![
            keyed("rsa", KeySpec::Rsa2048, KeyState::Visible, 0),
            keyed("ed", KeySpec::Ed25519, KeyState::Visible, 0),
        ]);
        let switch = signer_switch(&state).expect("due");
        assert!(switch.retire.is_empty());
        assert_eq!(signer_after(&state, &switch), vec!["rsa", "ed"]);
    }

    #[test]
    fn no_algorithm_and_no_key_in_play_is_idle_not_a_wait_forever() {
        let policy = Policy {
            algorithms: vec![],
            ..policy()
        };
        assert_eq!(
            next_action(&RotationState::default(), &policy, 0),
            Action::Idle
        );
        let upcoming = upcoming(&RotationState::default(), &policy, 0);
        assert_eq!(upcoming.due, None);
        assert_eq!(
            serde_json::to_value(&upcoming).expect("serialises"),
            serde_json::json!({"action": "idle"})
        );
    }

    #[test]
    fn upcoming_looks_through_a_wait_to_the_step_it_waits_for() {
        let state = with(vec![
            key("old", KeyState::Retiring, 0),
            key("new", KeyState::Active, 0),
        ]);
        let upcoming = upcoming(&state, &policy(), DAY);
        assert_eq!(
            upcoming.action,
            Action::Revoke {
                selector: "old".into()
            }
        );
        assert_eq!(
            upcoming.due,
            Some(Due {
                at: Moment(7 * DAY),
                now: false
            })
        );
        assert_eq!(
            upcoming.to_string(),
            "revoke old (publish an empty p=) at 1970-01-08T00:00:00Z"
        );
    }

    #[test]
    fn actions_serialise_as_objects_with_real_fields() {
        let state = with(vec![
            key("old", KeyState::Active, 0),
            key("new", KeyState::Visible, 0),
        ]);
        let json =
            serde_json::to_value(upcoming(&state, &policy(), 1_798_772_645)).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "action": "switch",
                "activate": ["new"],
                "retire": ["old"],
                "at": "2027-01-01T03:04:05Z",
                "at_unix": 1_798_772_645u64,
                "due_now": true,
            })
        );
        let generate = Action::Generate {
            algorithm: KeySpec::Ed25519,
            selector: "s".into(),
        };
        assert_eq!(
            serde_json::to_value(&generate).expect("serialises"),
            serde_json::json!({"action": "generate", "algorithm": "ed25519", "selector": "s"})
        );
        assert_eq!(
            serde_json::to_value(Action::Wait { until: Moment(0) }).expect("serialises"),
            serde_json::json!({"action": "wait", "until": "1970-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn actions_read_as_words_not_debug_text() {
        let switch = Action::Switch(SignerSwitch {
            activate: vec!["a".into(), "b".into()],
            retire: vec!["c".into()],
        });
        let cases = [
            (
                Action::Generate {
                    algorithm: KeySpec::Rsa2048,
                    selector: "s".into(),
                },
                "generate an rsa-2048 key as selector s",
                "generated an rsa-2048 key as selector s",
            ),
            (publish("s"), "publish the record of s", "published s"),
            (
                switch,
                "switch the signer to a, b (retiring c)",
                "switched the signer to a, b (retiring c)",
            ),
            (
                Action::Wait {
                    until: Moment(1_798_772_645),
                },
                "wait until 2027-01-01T03:04:05Z",
                "waited until 2027-01-01T03:04:05Z",
            ),
        ];
        for (action, todo, done) in cases {
            assert_eq!(action.to_string(), todo);
            assert_eq!(action.done().to_string(), done);
        }
    }

    #[test]
    fn revoked_records_keep_the_key_type() {
        assert_eq!(revoked_record(KeySpec::Rsa4096), "v=DKIM1; k=rsa; p=");
        assert_eq!(revoked_record(KeySpec::Ed25519), "v=DKIM1; k=ed25519; p=");
    }
}
