//! Two runs at once on one configuration, as when a cron `rotate` overlaps a slow one: the
//! second run skips each domain the first holds (naming its PID), advances the others and exits
//! 0, and no domain is advanced twice (every transition is in the journal once). `publish` takes
//! the same per-domain lock. A run killed with SIGKILL while holding a lock leaves a lock file
//! that the next run recovers, saying so. The first run is held inside a domain's lock by an
//! `on_switch` hook that waits for the test's word, so the overlap is certain, not timed.

use std::collections::HashMap;
use std::path::Path;

use mailauth::rotate::KeyState;

use crate::rotate::{
    DAY, START, check_invariants, entered, mailauth_at, rotated_domain, state, write_zone,
    zone_resolver,
};
use crate::support::cmd::Running;

/// The hook of the domain a test holds: it marks that it started, then waits (at most a minute,
/// as long as mailauth lets a hook run) until the test creates `release`.
const HOLDING_HOOK: &str = "touch hook-started; i=0; while [ ! -e release ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done";

/// `a.test` (switched by the holding hook) and `b.test`, each in its own zone file (with a
/// DMARC policy to publish when `dmarc`), both generated and published at `START`: their switch
/// is due at `START + DAY / 2`.
fn two_domains(dir: &Path, dmarc: bool) {
    let mut config = String::new();
    for (domain, hook) in [("a.test", HOLDING_HOOK), ("b.test", "echo b >> hook-b.log")] {
        let provider = &domain[..1];
        write_zone(&dir.join(format!("{domain}.zone")), domain);
        config.push_str(&format!(
            "[providers.{provider}]\nkind = \"zonefile\"\npath = \"{domain}.zone\"\n\n"
        ));
        config.push_str(&rotated_domain(domain, provider, hook));
        if dmarc {
            config.push_str(&format!(
                "[domains.\"{domain}\".dmarc]\npolicy = \"reject\"\n"
            ));
        }
    }
    std::fs::write(dir.join("mailauth.toml"), config).unwrap();
    mailauth_at(dir, START).arg("rotate").run().assert_exit(0);
}

/// Start a `rotate` at the switch and wait until it is inside `a.test`'s lock (its hook runs).
fn start_holding(dir: &Path) -> Running {
    let mut holder = mailauth_at(dir, START + DAY / 2).arg("rotate").spawn();
    // Bounded: the hook starts within the run's first steps, or the run has failed.
    for _ in 0..1200 {
        if dir.join("hook-started").exists() {
            return holder;
        }
        assert!(
            !holder.exited(),
            "the holding run ended early:\n{}",
            holder.wait().dump()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the holding run never reached a.test's hook");
}

/// Every transition of `domain`'s journal happened once: no key entered a state twice.
fn assert_each_transition_once(dir: &Path, domain: &str) {
    let state = state(dir, domain);
    let mut seen = HashMap::new();
    for t in &state.journal {
        *seen.entry((t.selector.clone(), t.to)).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{domain} advanced twice: {twice:?}");
}

#[test]
fn a_second_rotate_skips_the_domain_another_run_holds_and_advances_the_others() {
    let dir = tempfile::tempdir().unwrap();
    two_domains(dir.path(), false);
    let holder = start_holding(dir.path());
    let pid = holder.pid();
    // The overlapping run, at the same moment: a.test is held, b.test is free.
    let out = mailauth_at(dir.path(), START + DAY / 2)
        .args(["--json", "rotate"])
        .run();
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json[0]["domain"], "a.test", "{json}");
    assert_eq!(json[0]["status"], "skipped_locked", "{json}");
    assert_eq!(json[0]["holder"]["pid"], pid, "{json}");
    assert!(json[0]["holder"]["since"].is_string(), "{json}");
    assert_eq!(json[1]["domain"], "b.test", "{json}");
    assert_eq!(json[1]["status"], "ran", "{json}");
    let done: Vec<&str> = json[1]["done"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"))
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(done.contains(&"switch"), "b.test was not advanced: {json}");
    // The same in text, naming the holder.
    let out = mailauth_at(dir.path(), START + DAY / 2).arg("rotate").run();
    out.assert_exit(0);
    assert!(
        out.stdout_str().contains(&format!(
            "a.test: skipped: another mailauth run holds its lock (PID {pid} on "
        )),
        "{}",
        out.dump()
    );
    assert_eq!(
        state(dir.path(), "a.test")
            .keys
            .iter()
            .filter(|k| k.state == KeyState::Active)
            .count(),
        0,
        "a.test was advanced by a run that did not hold it"
    );
    // Released, the first run finishes a.test and finds nothing left to do for b.test.
    std::fs::write(dir.path().join("release"), "").unwrap();
    let first = holder.wait();
    first.assert_exit(0);
    let text = first.stdout_str();
    assert!(text.contains("a.test: switched"), "{}", first.dump());
    assert!(!text.contains("b.test: switched"), "{}", first.dump());
    for domain in ["a.test", "b.test"] {
        assert_each_transition_once(dir.path(), domain);
        let state = state(dir.path(), domain);
        assert_eq!(entered(&state, KeyState::Active), 2, "{:#?}", state.journal);
        check_invariants(
            dir.path(),
            domain,
            &zone_resolver(dir.path(), domain),
            &format!("{domain} after the overlap"),
        );
    }
    let hook_b = std::fs::read_to_string(dir.path().join("hook-b.log")).unwrap();
    assert_eq!(hook_b.lines().count(), 1, "b.test switched twice");
}

#[test]
fn a_rotate_killed_holding_the_lock_is_recovered_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    two_domains(dir.path(), false);
    let mut holder = start_holding(dir.path());
    let pid = holder.pid();
    holder.kill();
    // The hook the killed run started is an orphan now: let it finish.
    std::fs::write(dir.path().join("release"), "").unwrap();
    let killed = holder.wait();
    assert_eq!(
        killed.code(),
        None,
        "killed by a signal:\n{}",
        killed.dump()
    );
    let out = mailauth_at(dir.path(), START + DAY / 2)
        .args(["--json", "rotate"])
        .run();
    out.assert_exit(0);
    let stderr = out.stderr_str();
    assert!(
        stderr.contains("a.test: recovered the lock")
            && stderr.contains(&format!("left by PID {pid} on "))
            && stderr.contains("(no longer running)"),
        "{}",
        out.dump()
    );
    let json = out.json();
    assert_eq!(json[0]["status"], "ran", "{json}");
    assert_eq!(json[0]["recovered_lock"]["pid"], pid, "{json}");
    assert!(json[1].get("recovered_lock").is_none(), "{json}");
    // The recovered lock was released cleanly: the next run recovers nothing.
    let out = mailauth_at(dir.path(), START + DAY).arg("rotate").run();
    out.assert_exit(0);
    assert!(!out.stderr_str().contains("recovered"), "{}", out.dump());
    for domain in ["a.test", "b.test"] {
        assert_each_transition_once(dir.path(), domain);
        assert_eq!(entered(&state(dir.path(), domain), KeyState::Active), 2);
        check_invariants(
            dir.path(),
            domain,
            &zone_resolver(dir.path(), domain),
            &format!("{domain} after the recovery"),
        );
    }
}

#[test]
fn publish_skips_a_domain_a_running_rotate_holds_and_publishes_the_others() {
    let dir = tempfile::tempdir().unwrap();
    two_domains(dir.path(), true);
    let zone_a = std::fs::read_to_string(dir.path().join("a.test.zone")).unwrap();
    let holder = start_holding(dir.path());
    let pid = holder.pid();
    let out = mailauth_at(dir.path(), START + DAY / 2)
        .args(["--json", "publish", "--yes"])
        .run();
    out.assert_exit(0);
    let json = out.json();
    let domains = json["domains"]
        .as_array()
        .unwrap_or_else(|| panic!("{json}"));
    let by_name = |name: &str| {
        domains
            .iter()
            .find(|d| d["domain"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {json}"))
    };
    assert_eq!(by_name("a.test")["status"], "skipped_locked", "{json}");
    assert_eq!(by_name("a.test")["holder"]["pid"], pid, "{json}");
    assert_eq!(by_name("b.test")["status"], "confirmed", "{json}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.test.zone")).unwrap(),
        zone_a,
        "a.test's zone changed under the rotation's lock"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("b.test.zone"))
            .unwrap()
            .contains("v=DMARC1; p=reject"),
    );
    std::fs::write(dir.path().join("release"), "").unwrap();
    holder.wait().assert_exit(0);
    // Free again: publish takes a.test too (in text, with the holder gone from the output).
    let out = mailauth_at(dir.path(), START + DAY / 2)
        .args(["publish", "--yes"])
        .run();
    out.assert_exit(0);
    assert!(!out.stderr_str().contains("skipped"), "{}", out.dump());
    assert!(
        std::fs::read_to_string(dir.path().join("a.test.zone"))
            .unwrap()
            .contains("v=DMARC1; p=reject"),
    );
}
