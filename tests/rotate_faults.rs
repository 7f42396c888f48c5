//! Rotation under faults (issue 13 item 5): two full rotation cycles (`--now` jumping to each
//! due step) where every run is first made under a fault, then repeated without it. After the
//! faulted run the safety invariants hold (the signer uses only served keys, no active key is
//! unpublished, no private key is gone while its record is served, no temporary file is left),
//! with the exit code and a message naming what failed; after the rerun everything has
//! converged. The faults: the zone-file backend's directory read-only or on a full disk, the
//! key store on a full disk (also at the switch's state save, filled by the hook)
//! (tests/support/fault_fs); and a real PowerDNS behind the fault proxy
//! (tests/support/fault_proxy) answering 503, 429 with a long Retry-After, a false success,
//! a reset mid-body and no answer after the request was sent; RFC 2136 to a real BIND behind
//! the DNS fault proxy (tests/support/dns_faults) answering SERVFAIL, REFUSED, NOTAUTH and TSIG
//! BADTIME.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mailauth::dns::Resolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth::rotate::KeyState;

use crate::rotate::{
    Converged, START, check_invariants, check_safety, entered, mailauth_at, rotated_domain,
    rotation_through_bind, state, write_zone,
};
use crate::support::cmd::{CmdOutput, TestCommand};
use crate::support::dns_faults::{Applies, DnsFault, DnsFaultProxy, NOTAUTH, REFUSED, SERVFAIL};
use crate::support::fault_fs::{self, SmallDisk};
use crate::support::fault_proxy::{Fault, FaultProxy};

const DOMAIN: &str = "rot.test";
const ZONE: &str = "zones/rot.test.zone";

/// What a fault must do to a run.
struct Expect {
    /// Its name, in failure messages.
    name: &'static str,
    /// The exit code of a run the fault stops (README's table).
    exit: i32,
    /// Text the message of a stopped run must contain (what failed, and why).
    says: &'static [&'static str],
    /// The steps (the first due step of a run) that the fault stops; runs at the others exit 0.
    stops: &'static [&'static str],
}

/// The configuration: one domain rotated through a zone file under `zones/`.
fn setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    write_zone(&dir.join(ZONE), DOMAIN);
    std::fs::write(
        dir.join("mailauth.toml"),
        format!(
            "[providers.p]\nkind = \"zonefile\"\npath = \"{ZONE}\"\n\n{}",
            rotated_domain(DOMAIN, "p", "echo switched >> hook.log")
        ),
    )
    .unwrap();
}

/// No temporary file of an atomic write is left in `dir` (a write the fault stopped cleaned up).
fn assert_no_temporary_files(dir: &Path, when: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !(name.starts_with(".mailauth-") && name.ends_with(".tmp")),
            "{when}: {name} left in {}",
            dir.display()
        );
    }
}

/// How a test runs a command: under its fault with the run's first due step
/// (`Some("generate")`), or without (`None`).
type Exec<'a> = &'a dyn Fn(TestCommand, Option<&str>) -> CmdOutput;

/// What the runs of one test share.
struct Runs<'a> {
    /// The test directory as the runs see it (the directory itself, or through a namespace).
    view: &'a Path,
    /// `mailauth` at a moment, with the test's global options.
    at: Box<dyn Fn(u64) -> TestCommand + 'a>,
    /// What the DNS serves now.
    served: Box<dyn Fn() -> Box<dyn Resolver> + 'a>,
    /// How a command is run, with or without the fault.
    exec: Exec<'a>,
}

impl Runs<'_> {
    /// Runs in `dir` served from its zone file under `zones/`.
    fn zone_file<'a>(view: &'a Path, dir: &'a Path, exec: Exec<'a>) -> Runs<'a> {
        Runs {
            view,
            at: Box::new(move |now| mailauth_at(dir, now)),
            served: Box::new(move || {
                Box::new(ZoneResolver::from_files(&[view.join(ZONE)]).unwrap())
            }),
            exec,
        }
    }
}

/// Two full cycles, each run first under the fault, then without it.
fn two_cycles_under(runs: &Runs<'_>, expect: &Expect) {
    let Runs {
        view,
        at,
        served,
        exec,
    } = runs;
    let view = *view;
    let (mut seen, mut stopped) = (BTreeSet::new(), BTreeSet::new());
    let mut now = START;
    // Bounded: two cycles are about a dozen due steps.
    for _ in 0..40 {
        let status = exec(at(now).args(["--json", "status"]), None);
        status.assert_exit(0);
        let next = &status.json()[0]["next"];
        let action = next["action"]
            .as_str()
            .unwrap_or_else(|| panic!("{next}"))
            .to_owned();
        now = now.max(next["at_unix"].as_u64().unwrap_or_else(|| panic!("{next}")));
        let when = format!("{}: {action} at {now}", expect.name);
        let out = exec(at(now).arg("rotate"), Some(&action));
        if out.code() != Some(0) {
            assert_eq!(out.code(), Some(expect.exit), "{when}:\n{}", out.dump());
            let stderr = out.stderr_str();
            for needle in expect.says {
                assert!(
                    stderr.contains(needle),
                    "{when}: no {needle:?}:\n{}",
                    out.dump()
                );
            }
            stopped.insert(action.clone());
        }
        seen.insert(action);
        for sub in ["zones", "keys", &format!("keys/{DOMAIN}"), "exports"] {
            assert_no_temporary_files(&view.join(sub), &when);
        }
        check_safety(
            view,
            DOMAIN,
            &*served(),
            &format!("{when}, faulted"),
            Converged::MaybeAhead,
        );
        exec(at(now).arg("rotate"), None).assert_exit(0);
        check_invariants(view, DOMAIN, &*served(), &format!("{when}, rerun"));
        if entered(&state(view, DOMAIN), KeyState::Deleted) >= 4 {
            break;
        }
    }
    let state = state(view, DOMAIN);
    assert_eq!(
        entered(&state, KeyState::Deleted),
        4,
        "{}: two cycles not done",
        expect.name
    );
    assert_eq!(
        entered(&state, KeyState::Active),
        6,
        "{}: {:#?}",
        expect.name,
        state.journal
    );
    // A switch is never the first due step (it follows check_visible in the same run); the
    // key-store test faults it from the hook.
    let every: BTreeSet<String> = ["generate", "check_visible", "revoke", "delete"]
        .map(String::from)
        .into();
    assert_eq!(
        seen, every,
        "{}: a step boundary was never faulted",
        expect.name
    );
    let stops: BTreeSet<String> = expect.stops.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        stopped, stops,
        "{}: the fault stopped other steps",
        expect.name
    );
}

/// A test directory set up with its `sub` directory on a [`SmallDisk`], and the directory as
/// the namespace sees it; `None` where mount namespaces cannot be made (outside CI).
fn set_up_on_small_disk(sub: &str) -> Option<(tempfile::TempDir, SmallDisk, PathBuf)> {
    if !fault_fs::available() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    let disk = SmallDisk::mount(&dir.path().join(sub));
    let view = disk.view(dir.path());
    setup(&view);
    Some((dir, disk, view))
}

/// The steps that write the zone file: a generate run goes on to publish.
const ZONE_WRITES: &[&str] = &["generate", "revoke", "delete"];

#[test]
fn rotation_with_the_zone_file_read_only_stops_with_exit_2_and_converges() {
    if !fault_fs::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let zones = dir.path().join("zones");
    let exec = |command: TestCommand, faulted: Option<&str>| {
        if faulted.is_some() {
            fault_fs::read_only(command, &zones).run()
        } else {
            command.run()
        }
    };
    let expect = Expect {
        name: "read-only zone file",
        exit: 2,
        says: &["rot.test.zone", "Read-only file system"],
        stops: ZONE_WRITES,
    };
    two_cycles_under(&Runs::zone_file(dir.path(), dir.path(), &exec), &expect);
}

#[test]
fn rotation_with_the_zone_file_on_a_full_disk_stops_with_exit_2_and_converges() {
    let Some((dir, disk, view)) = set_up_on_small_disk("zones") else {
        return;
    };
    let exec =
        |command: TestCommand, faulted: Option<&str>| disk.run_full(command, faulted.is_some());
    let expect = Expect {
        name: "zone file on a full disk",
        exit: 2,
        says: &["rot.test.zone", "No space left on device"],
        stops: ZONE_WRITES,
    };
    two_cycles_under(&Runs::zone_file(&view, dir.path(), &exec), &expect);
}

#[test]
fn rotation_with_the_key_store_on_a_full_disk_stops_with_exit_2_and_converges() {
    let Some((dir, disk, view)) = set_up_on_small_disk("keys") else {
        return;
    };
    // The hook fills the disk when armed: the switch's exports are written and its hook has
    // run, then saving the state fails (the `switch:hooked` boundary).
    let config = std::fs::read_to_string(view.join("mailauth.toml")).unwrap();
    std::fs::write(
        view.join("mailauth.toml"),
        config.replace(
            "echo switched >> hook.log",
            "echo switched >> hook.log; if [ -e arm-switch ]; then head -c 2097152 /dev/zero > keys/.filler-hook; fi; true",
        ),
    )
    .unwrap();
    let visible_runs = std::cell::Cell::new(0);
    let switch_faulted = std::cell::Cell::new(false);
    let exec = |command: TestCommand, faulted: Option<&str>| {
        if faulted != Some("check_visible") {
            return disk.run_full(command, faulted.is_some());
        }
        // Every other check_visible run: the disk fills at the switch that follows.
        visible_runs.set(visible_runs.get() + 1);
        if visible_runs.get() % 2 == 1 {
            return disk.run_full(command, true);
        }
        std::fs::write(view.join("arm-switch"), "").unwrap();
        let out = disk.run(command).run();
        std::fs::remove_file(view.join("arm-switch")).unwrap();
        let hooked = std::fs::remove_file(view.join("keys/.filler-hook")).is_ok();
        switch_faulted.set(switch_faulted.get() || (hooked && out.code() == Some(2)));
        out
    };
    // Every step ends by saving the state in the key store.
    let expect = Expect {
        name: "key store on a full disk",
        exit: 2,
        says: &["keys/rot.test", "No space left on device"],
        stops: &["generate", "check_visible", "revoke", "delete"],
    };
    two_cycles_under(&Runs::zone_file(&view, dir.path(), &exec), &expect);
    assert!(switch_faulted.get(), "the disk never filled at a switch");
}

/// [`two_cycles_under`] with the records read from the DNS server at `server`.
fn two_cycles_served_by(
    view: &Path,
    at: &dyn Fn(u64) -> TestCommand,
    server: std::net::SocketAddr,
    exec: Exec<'_>,
    expect: &Expect,
) {
    let runs = Runs {
        view,
        at: Box::new(at),
        served: Box::new(move || {
            Box::new(mailauth::dns::hickory::HickoryResolver::with_servers(&[server]).unwrap())
        }),
        exec,
    };
    two_cycles_under(&runs, expect);
}

/// Every zone-changing step (generate's publish, revoke, delete; each cycle) met the fault.
fn assert_fired(expect: &Expect, fired: usize) {
    assert!(
        fired >= ZONE_WRITES.len() * 2,
        "{}: the proxy faulted only {fired} requests",
        expect.name
    );
}

/// Two cycles through a real PowerDNS whose API sits behind the fault proxy: every request
/// that changes the zone (`PATCH`) gets `fault` in the faulted runs.
fn through_powerdns_under(fault: Fault, expect: &Expect) {
    through_powerdns_with(("PATCH", fault), expect);
}

/// [`through_powerdns_under`] with the fault on every request of this method.
fn through_powerdns_with((method, fault): (&str, Fault), expect: &Expect) {
    let Some(pdns) = crate::support::pdns::Pdns::start() else {
        return;
    };
    pdns.create_zone(DOMAIN);
    let proxy = FaultProxy::in_front_of(&pdns.api);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!(
            "[providers.p]\nkind = \"powerdns\"\nurl = \"{}\"\ntoken_env = \"PDNS_ROT_KEY\"\ntimeout = 2\n\n{}",
            proxy.url(""),
            rotated_domain(DOMAIN, "p", "echo switched >> hook.log")
        ),
    )
    .unwrap();
    let dns = pdns.dns.to_string();
    let exec = |command: TestCommand, faulted: Option<&str>| {
        if faulted.is_some() {
            proxy.inject_every(method, "/api/v1/servers/localhost/zones/", fault.clone());
        }
        let out = command.run();
        proxy.clear();
        out
    };
    let at = |now| {
        mailauth_at(dir.path(), now)
            .args(["--resolver", &dns])
            .env("PDNS_ROT_KEY", &pdns.key)
    };
    two_cycles_served_by(dir.path(), &at, pdns.dns, &exec, expect);
    assert_fired(expect, proxy.faults_fired());
}

/// The provider answers 5xx: nothing is applied, exit 3 (README: a provider that answers
/// 5xx), and the rerun converges.
#[test]
fn rotation_through_powerdns_answering_503_stops_with_exit_3_and_converges() {
    through_powerdns_under(
        Fault::ServerError(503),
        &Expect {
            name: "PowerDNS 503",
            exit: 3,
            says: &["503"],
            stops: ZONE_WRITES,
        },
    );
}

/// HTTP 429 on every try, with a `Retry-After` longer than mailauth waits (RFC 9110 §10.2.3)
/// or with none (waited out, then given up): exit 3.
#[test]
fn rotation_through_powerdns_rate_limited_stops_with_exit_3_and_converges() {
    for (retry_after, name) in [
        (Some(3600), "PowerDNS 429 Retry-After 3600"),
        (None, "PowerDNS 429 without Retry-After"),
    ] {
        through_powerdns_under(
            Fault::TooManyRequests { retry_after },
            &Expect {
                name,
                exit: 3,
                says: &["429"],
                stops: ZONE_WRITES,
            },
        );
    }
}

/// A success answer for a change the provider never made: the read-back finds it missing,
/// exit 3, and the state never records a record that is not there.
#[test]
fn rotation_through_powerdns_faking_success_stops_with_exit_3_and_converges() {
    through_powerdns_under(
        Fault::FakeSuccess {
            status: 204,
            body: String::new(),
        },
        &Expect {
            name: "PowerDNS false success",
            exit: 3,
            says: &["read back"],
            stops: ZONE_WRITES,
        },
    );
}

/// The change reaches PowerDNS but its answer is cut (a reset mid-body) or never comes (a
/// timeout after the request was sent): the read-back finds the change, so the step is done
/// and the run goes on (exit 0) — the invariants hold either way.
#[test]
fn rotation_through_powerdns_losing_answers_counts_applied_changes_as_done() {
    for (fault, name) in [
        (Fault::ResetMidBody, "PowerDNS reset mid-body"),
        (Fault::LoseAnswer, "PowerDNS timeout after sending"),
    ] {
        through_powerdns_under(
            fault,
            &Expect {
                name,
                exit: 3,
                says: &[],
                stops: &[],
            },
        );
    }
}

/// Two cycles through RFC 2136 to a real BIND with the DNS fault proxy in front of its UPDATE
/// port: in the faulted runs every UPDATE gets `fault` (queries still reach BIND).
fn through_rfc2136_under(fault: DnsFault, expect: &Expect) {
    let dir = tempfile::tempdir().unwrap();
    let proxy = std::cell::OnceCell::new();
    let route = |addr| proxy.get_or_init(|| DnsFaultProxy::start(addr)).addr();
    let Some(named) = rotation_through_bind(dir.path(), DOMAIN, &route) else {
        return;
    };
    let proxy = proxy.get().expect("the provider goes through the proxy");
    let bind = named.addr().to_string();
    let exec = |command: TestCommand, faulted: Option<&str>| {
        if faulted.is_some() {
            proxy.set(fault, Applies::Updates);
        }
        let out = command.run();
        proxy.clear();
        out
    };
    let at = |now| mailauth_at(dir.path(), now).args(["--resolver", &bind]);
    two_cycles_served_by(dir.path(), &at, named.addr(), &exec, expect);
    assert_fired(expect, proxy.fired());
}

/// RFC 2136 §2.2 SERVFAIL: the server could not do the update now; exit 3.
#[test]
fn rfc2136_2_2_servfail_during_rotation_stops_with_exit_3_and_converges() {
    through_rfc2136_under(
        DnsFault::Rcode(SERVFAIL),
        &Expect {
            name: "RFC 2136 SERVFAIL",
            exit: 3,
            says: &["SERVFAIL"],
            stops: ZONE_WRITES,
        },
    );
}

/// RFC 2136 §2.2 REFUSED and NOTAUTH, and a TSIG BADTIME (RFC 8945 §5.2.3): a policy, key or
/// clock to fix here, exit 2, naming it; the rerun with it fixed converges.
#[test]
fn rfc2136_2_2_refused_notauth_and_badtime_during_rotation_stop_with_exit_2_and_converge() {
    for (fault, name, says) in [
        (DnsFault::Rcode(REFUSED), "RFC 2136 REFUSED", &["REFUSED"]),
        (DnsFault::Rcode(NOTAUTH), "RFC 2136 NOTAUTH", &["NOTAUTH"]),
        (DnsFault::BadTime, "TSIG BADTIME", &["BADTIME"]),
    ] {
        through_rfc2136_under(
            fault,
            &Expect {
                name,
                exit: 2,
                says,
                stops: ZONE_WRITES,
            },
        );
    }
}

/// Reads of the zone answered with a body cut short, with HTML instead of JSON, or reset
/// mid-body; and a change that gets no answer at all (a timeout after the request was sent, the
/// change not made): nothing is recorded that is not there, exit 3 naming the provider.
#[test]
fn rotation_through_powerdns_with_broken_answers_stops_with_exit_3_and_converges() {
    for (request, name, says) in [
        (
            ("GET", Fault::TruncatedBody),
            "PowerDNS truncated body",
            &["powerdns", "GET zone"],
        ),
        (
            ("GET", Fault::NotJson),
            "PowerDNS non-JSON body",
            &["powerdns", "JSON"],
        ),
        (
            ("GET", Fault::ResetMidBody),
            "PowerDNS reset reading",
            &["powerdns", "GET zone"],
        ),
        (
            ("PATCH", Fault::NoAnswer),
            "PowerDNS no answer",
            &["powerdns", "timeout"],
        ),
    ] {
        through_powerdns_with(
            request,
            &Expect {
                name,
                exit: 3,
                says,
                stops: ZONE_WRITES,
            },
        );
    }
}
