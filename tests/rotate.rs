//! Scheduled rotation: two full cycles with time injected (`--now`), every invariant checked
//! after every run; a crash at each step boundary (test-only fault injection) followed by a run
//! that converges; rotation through RFC 2136 to a real BIND, whose exported OpenDKIM tables pass
//! `opendkim -n` and drive OpenDKIM's milter (through miltertest) to sign mail that mailauth
//! verifies. Then what people and programs read: `status`, `rotate --dry-run` and their JSON in
//! words and real fields, `--domain` normalised, state files of the existing format, exit codes.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use mailauth::dns::Resolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth::keys::KeySpec;
use mailauth::rotate::{KeyState, RotationState};

use crate::dkim::runtime;
use crate::support::cmd::{TestCommand, mailauth};
use crate::support::tool;

pub(crate) const DAY: u64 = 86_400;
pub(crate) const START: u64 = 1_795_600_000; // 2026-11-25

/// `mailauth --now NOW` in `dir`, with no fault injected (even when the test process has
/// `MAILAUTH_FAULT_AT` set).
pub(crate) fn mailauth_at(dir: &Path, now: u64) -> TestCommand {
    mailauth()
        .current_dir(dir)
        .arg("--now")
        .arg(now.to_string())
        .env_remove("MAILAUTH_FAULT_AT")
}

fn setup(dir: &Path, domain: &str, extra: &str) {
    write_zone(&dir.join(format!("{domain}.zone")), domain);
    std::fs::write(
        dir.join("mailauth.toml"),
        format!(
            "{extra}{}",
            rotated_domain(domain, "p", "echo switched >> hook.log")
        ),
    )
    .unwrap();
}

/// A zone file for `domain` with its SOA and one name server on loopback.
pub(crate) fn write_zone(path: &Path, domain: &str) {
    std::fs::write(
        path,
        format!("$ORIGIN {domain}.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n"),
    )
    .unwrap();
}

/// `domain`'s section of mailauth.toml: published through `provider`, rotated (RSA and Ed25519,
/// every 90 days, every export) with `hook` run on each switch.
pub(crate) fn rotated_domain(domain: &str, provider: &str, hook: &str) -> String {
    format!(
        "[domains.\"{domain}\"]\nprovider = \"{provider}\"\nttl = 300\n\n[domains.\"{domain}\".rotation]\nalgorithms = [\"rsa-2048\", \"ed25519\"]\nrotate_every = \"90d\"\npropagation = \"1h\"\noverlap = \"7d\"\nrevoked_for = \"7d\"\nexports = [\"opendkim\", \"rspamd\", \"exim\"]\non_switch = '{hook}'\n"
    )
}

pub(crate) fn state(dir: &Path, domain: &str) -> RotationState {
    std::fs::read(dir.join("keys").join(domain).join("rotation.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_default()
}

/// How many transitions in the journal entered `to`.
pub(crate) fn entered(state: &RotationState, to: KeyState) -> usize {
    state.journal.iter().filter(|t| t.to == to).count()
}

fn key_value(dir: &Path, domain: &str, selector: &str) -> Option<String> {
    let pem = std::fs::read(
        dir.join("keys")
            .join(domain)
            .join(format!("{selector}.pem")),
    )
    .ok()?;
    let key = mailauth::keys::PrivateKey::from_pem(&pem, selector).unwrap();
    Some(mailauth::dkim::build::published_record(&key))
}

/// The invariants of ARCHITECTURE.md's rotation, checked against what `served` answers, for a
/// run that completed: the safety invariants, and the exports naming exactly the active keys.
pub(crate) fn check_invariants(dir: &Path, domain: &str, served: &dyn Resolver, when: &str) {
    let exported = check_safety(dir, domain, served, when, Converged::Yes);
    let state = state(dir, domain);
    // OpenDKIM's tables list the active RSA keys (it cannot sign with Ed25519 keys).
    let active: HashSet<String> = state
        .active()
        .filter(|k| k.algorithm != KeySpec::Ed25519)
        .map(|k| k.selector.clone())
        .collect();
    assert_eq!(
        exported, active,
        "{when}: exports differ from the active keys"
    );
    let exim = std::fs::read_to_string(dir.join("exports/dkim_macros.conf")).unwrap_or_default();
    for key in state.active() {
        assert!(
            exim.contains(&key.selector),
            "{when}: Exim macros lack {}",
            key.selector
        );
    }
}

/// Whether the last run completed, or was stopped by a fault between changing the world and
/// recording it (a record applied, exports written, before the state was saved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Converged {
    /// The run completed: the state file says exactly what the world is.
    Yes,
    /// The world may be one step ahead of the state file.
    MaybeAhead,
}

/// The invariants that hold after every run, even one stopped by a fault: the signer uses only
/// keys whose record is served exactly (signing never breaks), no active key is unpublished,
/// no private key is gone while its record is served. Returns the selectors OpenDKIM's
/// KeyTable names.
pub(crate) fn check_safety(
    dir: &Path,
    domain: &str,
    served: &dyn Resolver,
    when: &str,
    converged: Converged,
) -> HashSet<String> {
    let state = state(dir, domain);
    let records = |selector: &str| -> Vec<String> {
        runtime()
            .block_on(served.txt(&format!("{selector}._domainkey.{domain}")))
            .unwrap_or_default()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.joined()).into_owned())
            .collect()
    };
    // The signer points only at keys whose record is served, exactly.
    let key_table = std::fs::read_to_string(dir.join("exports/KeyTable")).unwrap_or_default();
    let exported: HashSet<String> = key_table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(':').nth(1).map(str::to_owned))
        .collect();
    for selector in &exported {
        let value = key_value(dir, domain, selector)
            .unwrap_or_else(|| panic!("{when}: exported {selector} has no private key"));
        assert_eq!(
            records(selector),
            vec![value],
            "{when}: the signer uses {selector}, which is not visible"
        );
    }
    for key in &state.keys {
        let served_now = records(&key.selector);
        let revoked = !served_now.is_empty() && served_now.iter().all(|v| v.ends_with("p="));
        match key.state {
            // A retiring key's record may be revoked ahead of the state by a stopped run:
            // the revocation was due (only an active key must stay published).
            KeyState::Retiring if converged == Converged::MaybeAhead && revoked => {}
            KeyState::Active | KeyState::Retiring => {
                assert_eq!(
                    served_now,
                    vec![
                        key_value(dir, domain, &key.selector).unwrap_or_else(|| panic!(
                            "{when}: the private key of {} ({}) is lost",
                            key.selector, key.state
                        ))
                    ],
                    "{when}: {} ({:?}) must stay published",
                    key.selector,
                    key.state
                );
            }
            KeyState::Revoked => assert!(
                served_now.iter().all(|v| v.ends_with("p=")),
                "{when}: {served_now:?}"
            ),
            KeyState::Deleted => {
                assert!(
                    served_now.is_empty(),
                    "{when}: deleted {} still served",
                    key.selector
                );
                assert!(
                    key_value(dir, domain, &key.selector).is_none(),
                    "{when}: private key of deleted {} kept",
                    key.selector
                );
            }
            _ => {}
        }
        // A private key is gone only when its record is gone.
        if key_value(dir, domain, &key.selector).is_none() {
            assert!(
                served_now.is_empty(),
                "{when}: {} has no private key but its record is served",
                key.selector
            );
        }
    }
    exported
}

pub(crate) fn zone_resolver(dir: &Path, domain: &str) -> ZoneResolver {
    ZoneResolver::from_files(&[dir.join(format!("{domain}.zone"))]).unwrap()
}

const ZONEFILE: &str = "[providers.p]\nkind = \"zonefile\"\npath = \"rot.test.zone\"\n\n";

#[test]
fn two_full_rotation_cycles_through_the_zone_file_keep_every_invariant() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    let mut now = START;
    while now < START + 200 * DAY {
        let out = mailauth_at(dir.path(), now).arg("rotate").run();
        out.assert_exit(0);
        check_invariants(
            dir.path(),
            "rot.test",
            &zone_resolver(dir.path(), "rot.test"),
            &format!("day {}", (now - START) / DAY),
        );
        now += DAY / 2;
    }
    let state = state(dir.path(), "rot.test");
    let activations = entered(&state, KeyState::Active);
    let deletions = entered(&state, KeyState::Deleted);
    // Two algorithms: the first keys, then two rotations each.
    assert_eq!(activations, 6, "{:#?}", state.journal);
    assert_eq!(deletions, 4, "{:#?}", state.journal);
    let hooks = std::fs::read_to_string(dir.path().join("hook.log")).unwrap();
    assert_eq!(
        hooks.lines().count(),
        3,
        "one switch per cycle, both algorithms together"
    );
    let out = mailauth_at(dir.path(), now).arg("status").run();
    assert!(out.stdout_str().contains("active"));
    for file in [
        "KeyTable",
        "SigningTable",
        "dkim_selectors.map",
        "dkim_paths.map",
        "dkim_signing.conf",
        "dkim_macros.conf",
    ] {
        assert!(dir.path().join("exports").join(file).exists(), "{file}");
    }
}

#[test]
fn a_crash_at_any_step_boundary_converges_on_the_next_run() {
    for point in [
        "generate:written",
        "publish:applied",
        "switch:exported",
        "switch:hooked",
        "revoke:applied",
        "delete:record-removed",
        "delete:key-removed",
    ] {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path(), "rot.test", ZONEFILE);
        let mut now = START;
        let mut crashed = false;
        while now < START + 110 * DAY {
            let rotate = mailauth_at(dir.path(), now).arg("rotate");
            let mut out = if crashed {
                rotate.run()
            } else {
                rotate.clone().env("MAILAUTH_FAULT_AT", point).run()
            };
            if out.code() == Some(137) {
                crashed = true;
                // The next run, at the same moment, must converge.
                out = rotate.run();
            }
            assert_eq!(out.code(), Some(0), "{point}:\n{}", out.dump());
            check_invariants(
                dir.path(),
                "rot.test",
                &zone_resolver(dir.path(), "rot.test"),
                &format!("{point}, day {}", (now - START) / DAY),
            );
            now += DAY / 2;
        }
        assert!(crashed, "fault point {point} was never reached");
        let state = state(dir.path(), "rot.test");
        assert!(
            entered(&state, KeyState::Deleted) >= 2,
            "{point}: the cycle did not complete"
        );
    }
}

/// `domain` rotated in `dir` through RFC 2136 (TSIG key `rot-key`) to a BIND serving its zone
/// file; the provider's address is `route(BIND's address)` (BIND's itself, or a proxy's in
/// front of it). `None` after reporting why when BIND or tsig-keygen is missing.
pub(crate) fn rotation_through_bind(
    dir: &Path,
    domain: &str,
    route: &dyn Fn(std::net::SocketAddr) -> std::net::SocketAddr,
) -> Option<crate::support::named::Named> {
    let keygen = tool("tsig-keygen")?;
    let out = Command::new(keygen)
        .args(["-a", "hmac-sha256", "rot-key"])
        .output()
        .unwrap();
    let key_file = dir.join("tsig.key");
    std::fs::write(&key_file, &out.stdout).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    setup(dir, domain, "");
    let zone = dir.join(format!("{domain}.zone"));
    let named = crate::support::named::Named::start_with_update_key(
        &[(domain.into(), zone)],
        Some(("rot-key", &key_file)),
    )?;
    let config = std::fs::read_to_string(dir.join("mailauth.toml")).unwrap();
    std::fs::write(
        dir.join("mailauth.toml"),
        format!(
            "[providers.p]\nkind = \"rfc2136\"\nurl = \"{}\"\nkey_file = \"tsig.key\"\n\n{config}",
            route(named.addr())
        ),
    )
    .unwrap();
    Some(named)
}

#[test]
fn rotation_through_rfc2136_to_bind_and_opendkim_signs_with_the_exports() {
    let dir = tempfile::tempdir().unwrap();
    let Some(named) = rotation_through_bind(dir.path(), "bind.test", &|addr| addr) else {
        return;
    };
    let addr = named.addr().to_string();
    let server = mailauth::dns::hickory::HickoryResolver::with_servers(&[named.addr()]).unwrap();
    let mut now = START;
    while now < START + 200 * DAY {
        let out = mailauth_at(dir.path(), now)
            .args(["--resolver", &addr, "rotate"])
            .run();
        out.assert_exit(0);
        check_invariants(
            dir.path(),
            "bind.test",
            &server,
            &format!("BIND day {}", (now - START) / DAY),
        );
        now += DAY;
    }
    let state = state(dir.path(), "bind.test");
    // Two full cycles: both algorithms replaced twice, the replaced keys deleted.
    assert_eq!(
        entered(&state, KeyState::Deleted),
        4,
        "{:#?}",
        state.journal
    );
    assert!(
        state.journal.iter().any(|t| t.to == KeyState::Deleted),
        "{:#?}",
        state.journal
    );
    // OpenDKIM accepts the exported tables (`opendkim -n` checks its configuration).
    if let Some(opendkim) = tool("opendkim") {
        let conf = dir.path().join("opendkim.conf");
        std::fs::write(
            &conf,
            format!(
                "Mode s\nSocket inet:0@127.0.0.1\nKeyTable file:{0}/exports/KeyTable\nSigningTable refile:{0}/exports/SigningTable\nMultipleSignatures yes\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let out = Command::new(opendkim)
            .args(["-n", "-x"])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "opendkim -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // OpenDKIM's own signer, the milter driven by miltertest, signs with the exported tables;
    // mailauth verifies every signature through BIND.
    let (Some(opendkim), Some(miltertest)) = (tool("opendkim"), tool("miltertest")) else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let milter_conf = dir.path().join("milter.conf");
    std::fs::write(
        &milter_conf,
        format!(
            "Mode s\nSocket inet:{port}@127.0.0.1\nKeyTable file:{0}/exports/KeyTable\nSigningTable refile:{0}/exports/SigningTable\nMultipleSignatures yes\nCanonicalization relaxed/relaxed\nSignatureAlgorithm rsa-sha256\nSyslog no\n# The test's key store lives under /tmp, which is world-writable.\nRequireSafeKeys false\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut milter = Command::new(opendkim)
        .arg("-f")
        .arg("-x")
        .arg(&milter_conf)
        .spawn()
        .unwrap();
    let script = dir.path().join("sign.lua");
    std::fs::write(
        &script,
        format!(
            "local conn = mt.connect(\"inet:{port}@127.0.0.1\")\n\
             if conn == nil then error(\"connect failed\") end\n\
             if mt.conninfo(conn, \"localhost\", \"127.0.0.1\") ~= nil then error(\"conninfo\") end\n\
             mt.macro(conn, SMFIC_MAIL, \"i\", \"mailauth-test\")\n\
             if mt.mailfrom(conn, \"a@bind.test\") ~= nil then error(\"mailfrom\") end\n\
             if mt.rcptto(conn, \"b@example.net\") ~= nil then error(\"rcptto\") end\n\
             mt.header(conn, \"From\", \"a@bind.test\")\nmt.header(conn, \"To\", \"b@example.net\")\nmt.header(conn, \"Subject\", \"rotated\")\n\
             mt.eoh(conn)\nmt.bodystring(conn, \"Signed by OpenDKIM with the key mailauth rotated in.\\r\\n\")\n\
             if mt.eom(conn) ~= nil then error(\"eom\") end\n\
             for n = 0, 1 do local sig = mt.getheader(conn, \"DKIM-Signature\", n) if sig ~= nil then print(\"DKIM-Signature:\" .. sig) print(\"--\") end end\n\
             mt.disconnect(conn)\n"
        ),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the OpenDKIM milter did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = Command::new(miltertest)
        .arg("-s")
        .arg(&script)
        .output()
        .unwrap();
    let _ = milter.kill();
    let _ = milter.wait();
    assert!(
        out.status.success(),
        "miltertest: {} {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let signatures: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split("--\n")
        .filter(|s| s.starts_with("DKIM-Signature:"))
        .map(|s| s.trim_end().replace('\n', "\r\n"))
        .collect();
    assert!(
        !signatures.is_empty(),
        "OpenDKIM added no signature: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut message = signatures.join("\r\n");
    message.push_str("\r\nFrom: a@bind.test\r\nTo: b@example.net\r\nSubject: rotated\r\n\r\nSigned by OpenDKIM with the key mailauth rotated in.\r\n");
    let path = dir.path().join("signed.eml");
    std::fs::write(&path, message).unwrap();
    let json = mailauth()
        .args([
            "--resolver",
            &addr,
            "--json",
            "verify",
            path.to_str().unwrap(),
        ])
        .run()
        .json();
    let results = json["dkim"].as_array().unwrap();
    assert_eq!(results.len(), signatures.len(), "{json}");
    assert!(results.iter().all(|r| r["result"] == "pass"), "{json}");
    let rsa: HashSet<String> = state
        .active()
        .filter(|k| k.algorithm != KeySpec::Ed25519)
        .map(|k| k.selector.clone())
        .collect();
    let signed_with: HashSet<String> = results
        .iter()
        .map(|r| r["selector"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(signed_with, rsa, "{json}");
}

#[test]
fn a_failing_on_switch_hook_keeps_the_new_keys_visible_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    let config = std::fs::read_to_string(dir.path().join("mailauth.toml")).unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        config.replace(
            "on_switch = 'echo switched >> hook.log'",
            "on_switch = 'test -e allow-switch'",
        ),
    )
    .unwrap();
    for now in [START, START + DAY / 2, START + DAY] {
        let out = mailauth_at(dir.path(), now).arg("rotate").run();
        out.assert_exit(0);
    }
    let before = state(dir.path(), "rot.test");
    assert!(
        before.keys.iter().all(|k| k.state == KeyState::Visible),
        "{:?}",
        before.keys
    );
    let out = mailauth_at(dir.path(), START + DAY).arg("rotate").run();
    assert!(
        out.stdout_str().contains("on_switch hook failed"),
        "{}",
        out.stdout_str()
    );
    std::fs::write(dir.path().join("allow-switch"), "").unwrap();
    let out = mailauth_at(dir.path(), START + DAY)
        .args(["--json", "rotate"])
        .run();
    out.assert_exit(0);
    let after = state(dir.path(), "rot.test");
    assert!(
        after.keys.iter().all(|k| k.state == KeyState::Active),
        "{:?}",
        after.keys
    );
    check_invariants(
        dir.path(),
        "rot.test",
        &zone_resolver(dir.path(), "rot.test"),
        "after the retried switch",
    );
    // Exports on demand match what rotate wrote.
    let out = mailauth_at(dir.path(), START + DAY)
        .args(["export", "exim", "--dir", "again"])
        .run();
    out.assert_exit(0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again/dkim_macros.conf"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("DKIM_SELECTOR"))
            .count(),
        1
    );
}

#[test]
fn an_unreachable_provider_mid_rotation_exits_3_and_the_next_run_converges() {
    let Some(pdns) = crate::support::pdns::Pdns::start() else {
        return;
    };
    pdns.create_zone("pd.test");
    let dir = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let provider = |url: &str| {
        format!(
            "[providers.p]\nkind = \"powerdns\"\nurl = \"{url}\"\ntoken_env = \"PDNS_ROT_KEY\"\n\n"
        )
    };
    setup(
        dir.path(),
        "pd.test",
        &provider(&format!("http://127.0.0.1:{dead}")),
    );
    let run = |now: u64| {
        mailauth()
            .current_dir(dir.path())
            .args([
                "--now",
                &now.to_string(),
                "--resolver",
                &pdns.dns.to_string(),
                "rotate",
            ])
            .env("PDNS_ROT_KEY", &pdns.key)
            .run()
    };
    run(START).assert_exit(3);
    assert!(
        state(dir.path(), "pd.test")
            .keys
            .iter()
            .any(|k| k.state == KeyState::Pending)
    );
    // The provider is back: the same rotation carries on from where it stopped.
    let config = std::fs::read_to_string(dir.path().join("mailauth.toml")).unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        config.replace(&format!("http://127.0.0.1:{dead}"), &pdns.api),
    )
    .unwrap();
    let server = mailauth::dns::hickory::HickoryResolver::with_servers(&[pdns.dns]).unwrap();
    let mut now = START;
    while now < START + 3 * DAY {
        let out = run(now);
        out.assert_exit(0);
        check_invariants(
            dir.path(),
            "pd.test",
            &server,
            &format!("pdns day {}", (now - START) / DAY),
        );
        now += DAY / 2;
    }
    assert!(
        state(dir.path(), "pd.test")
            .keys
            .iter()
            .all(|k| k.state == KeyState::Active)
    );
}

/// Rust Debug text of the rotation types as earlier versions printed it.
fn assert_no_debug_text(text: &str, what: &str) {
    for debug in [
        "Generate {",
        "Publish(",
        "CheckVisible(",
        "Switch(",
        "Revoke(",
        "Delete(",
        "Wait(",
        "Wait {",
        "Some(",
        "algorithm: \"",
        "Rsa2048",
        "Ed25519",
        "Pending",
        "Active",
    ] {
        assert!(
            !text.contains(debug),
            "{what} shows Debug text {debug:?}:\n{text}"
        );
    }
}

/// An RFC 3339 time in `value`, as UNIX seconds.
fn rfc3339(value: &serde_json::Value) -> u64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    let time = chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    u64::try_from(time.timestamp()).unwrap()
}

/// Why bullet: `status --json` printed `"next": "Wait(1803376000)"`.
#[test]
fn status_json_next_is_an_object_not_debug_text() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    // Nothing yet: the next step is generating the first key, due now.
    let out = mailauth_at(dir.path(), START)
        .args(["--json", "status"])
        .run();
    out.assert_exit(0);
    let status = out.json();
    let next = &status[0]["next"];
    assert_eq!(status[0]["domain"], "rot.test", "{status}");
    assert_eq!(next["action"], "generate", "{status}");
    assert_eq!(next["algorithm"], "rsa-2048", "{status}");
    assert_eq!(next["selector"], "20261125-rsa", "{status}");
    assert_eq!(next["due_now"], true, "{status}");
    assert_eq!(rfc3339(&next["at"]), START, "{status}");
    // Generated and published: waiting out the propagation, then checking visibility.
    let out = mailauth_at(dir.path(), START)
        .args(["--json", "rotate"])
        .run();
    out.assert_exit(0);
    let run = out.json();
    let done: Vec<&str> = run[0]["done"]
        .as_array()
        .unwrap_or_else(|| panic!("done is a list: {run}"))
        .iter()
        .map(|a| a["action"].as_str().unwrap_or_else(|| panic!("{a}")))
        .collect();
    assert_eq!(
        done,
        ["generate", "publish", "generate", "publish"],
        "{run}"
    );
    assert_eq!(run[0]["stopped"]["reason"], "nothing_due", "{run}");
    assert_eq!(run[0]["next"]["action"], "check_visible", "{run}");
    let out = mailauth_at(dir.path(), START + 60)
        .args(["--json", "status"])
        .run();
    let status = out.json();
    let next = &status[0]["next"];
    assert_eq!(next["action"], "check_visible", "{status}");
    assert_eq!(next["due_now"], false, "{status}");
    assert_eq!(next["at_unix"], START + 3600, "{status}");
    assert_eq!(rfc3339(&next["at"]), START + 3600, "{status}");
    assert!(
        status[0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["state"] == "published"),
        "{status}"
    );
    // Both keys visible, the switch held back by a failing hook: it is the next step, with its
    // keys named.
    let config = std::fs::read_to_string(dir.path().join("mailauth.toml")).unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        config.replace("echo switched >> hook.log", "false"),
    )
    .unwrap();
    let out = mailauth_at(dir.path(), START + DAY / 2)
        .args(["--json", "rotate"])
        .run();
    out.assert_exit(0);
    let run = out.json();
    assert_eq!(run[0]["stopped"]["reason"], "hook_failed", "{run}");
    assert!(
        run[0]["stopped"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("\"false\" exited")),
        "{run}"
    );
    out.assert_exit(0);
    let out = mailauth_at(dir.path(), START + DAY / 2)
        .args(["--json", "status"])
        .run();
    let status = out.json();
    let next = &status[0]["next"];
    assert_eq!(next["action"], "switch", "{status}");
    assert_eq!(next["due_now"], true, "{status}");
    assert_eq!(
        next["activate"],
        serde_json::json!(["20261125-rsa", "20261125-ed25519"]),
        "{status}"
    );
    assert_eq!(next["retire"], serde_json::json!([]), "{status}");
    assert_no_debug_text(&status.to_string(), "status --json");
}

/// Why bullet: text output and `rotate --dry-run` showed `Generate { algorithm: "rsa-2048", ... }`.
#[test]
fn status_text_and_dry_run_show_no_debug_text() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    let out = mailauth_at(dir.path(), START)
        .args(["rotate", "--dry-run"])
        .run();
    out.assert_exit(0);
    let text = out.stdout_str();
    assert_no_debug_text(&text, "rotate --dry-run");
    assert!(
        text.contains(
            "rot.test: dry run, nothing changed; next: generate an rsa-2048 key as selector 20261125-rsa (due now)"
        ),
        "{text}"
    );
    assert!(
        !dir.path().join("keys/rot.test/rotation.json").exists(),
        "a dry run changed the state"
    );
    let out = mailauth_at(dir.path(), START).arg("rotate").run();
    let text = out.stdout_str();
    assert_no_debug_text(&text, "rotate");
    assert!(
        text.contains("rot.test: generated an ed25519 key as selector 20261125-ed25519"),
        "{text}"
    );
    assert!(text.contains("rot.test: published 20261125-rsa"), "{text}");
    assert!(
        text.contains("next: check that every authoritative server serves 20261125-rsa at 2026-11-25T10:46:40Z"),
        "{text}"
    );
    for now in [START + DAY / 2, START + DAY] {
        mailauth_at(dir.path(), now)
            .arg("rotate")
            .run()
            .assert_exit(0);
    }
    let out = mailauth_at(dir.path(), START + DAY).arg("status").run();
    out.assert_exit(0);
    let text = out.stdout_str();
    assert_no_debug_text(&text, "status");
    assert!(
        text.contains(
            "rot.test: next: generate an rsa-2048 key as selector 20270223-rsa at 2027-02-23T"
        ),
        "{text}"
    );
    assert!(
        text.contains("20261125-rsa             rsa-2048 active "),
        "{text}"
    );
    let out = mailauth_at(dir.path(), START + 91 * DAY)
        .args(["rotate", "--dry-run"])
        .run();
    let text = out.stdout_str();
    assert_no_debug_text(&text, "rotate --dry-run");
    assert!(
        text.contains("next: generate an rsa-2048 key as selector 20270224-rsa (due now)"),
        "{text}"
    );
}

/// Why bullet: `plan --domain Example.COM` normalised but `rotate --domain` did not.
#[test]
fn rotate_domain_flag_is_normalised_like_plan() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    let out = mailauth_at(dir.path(), START)
        .args(["plan", "--domain", "ROT.Test."])
        .run();
    out.assert_exit(0);
    let out = mailauth_at(dir.path(), START)
        .args(["rotate", "--domain", "ROT.Test."])
        .run();
    out.assert_exit(0);
    assert!(
        out.stdout_str()
            .contains("rot.test: published 20261125-rsa"),
        "{}",
        out.stdout_str()
    );
    let out = mailauth_at(dir.path(), START)
        .args(["--json", "status", "--domain", "Rot.TEST"])
        .run();
    out.assert_exit(0);
    assert_eq!(out.json()[0]["domain"], "rot.test");
    // An invalid name is bad input, with the reason.
    let out = mailauth_at(dir.path(), START)
        .args(["rotate", "--domain", "rot..test"])
        .run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(stderr.contains("empty label"), "{stderr}");
    // A domain not rotated by this configuration is named, not silently skipped.
    let out = mailauth_at(dir.path(), START)
        .args(["rotate", "--domain", "other.test"])
        .run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(stderr.contains("other.test has no"), "{stderr}");
}

/// State files written before the algorithm became a typed value (and before the switch moved
/// into the step module) load and carry on.
#[test]
fn a_state_file_in_the_existing_format_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    std::fs::create_dir_all(dir.path().join("keys/rot.test")).unwrap();
    std::fs::write(
        dir.path().join("keys/rot.test/rotation.json"),
        format!(
            r#"{{
  "keys": [
    {{"selector": "20261125-rsa", "algorithm": "rsa-2048", "state": "active",
     "since": {START}, "created": {START}, "activated": {START}}},
    {{"selector": "20261125-ed25519", "algorithm": "ed25519", "state": "active",
     "since": {START}, "created": {START}, "activated": {START}}}
  ],
  "journal": [
    {{"time": {START}, "selector": "20261125-rsa", "from": null, "to": "pending"}},
    {{"time": {START}, "selector": "20261125-rsa", "from": "visible", "to": "active"}}
  ]
}}"#
        ),
    )
    .unwrap();
    let out = mailauth_at(dir.path(), START + DAY)
        .args(["--json", "status"])
        .run();
    out.assert_exit(0);
    let status = out.json();
    assert_eq!(status[0]["keys"][0]["algorithm"], "rsa-2048", "{status}");
    assert_eq!(status[0]["keys"][1]["state"], "active", "{status}");
    assert_eq!(status[0]["next"]["action"], "generate", "{status}");
    assert_eq!(status[0]["next"]["at_unix"], START + 90 * DAY, "{status}");
}

/// A state file that is not rotation state is a local problem (exit 2) naming the file, not a
/// temporary one (exit 3).
#[test]
fn a_corrupt_state_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    std::fs::create_dir_all(dir.path().join("keys/rot.test")).unwrap();
    std::fs::write(
        dir.path().join("keys/rot.test/rotation.json"),
        "{\"keys\": 7}",
    )
    .unwrap();
    for command in ["rotate", "status"] {
        let out = mailauth_at(dir.path(), START).arg(command).run();
        out.assert_exit(2);
        let stderr = out.stderr_str();
        assert!(stderr.contains("rotation.json"), "{command}: {stderr}");
        assert!(!stderr.contains("temporary"), "{command}: {stderr}");
    }
}

/// `mailauth export KIND` takes the kinds by name and refuses others as usage errors.
#[test]
fn export_kind_is_one_of_the_named_signers() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    let out = mailauth_at(dir.path(), START)
        .args(["export", "postfix"])
        .run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(
        stderr.contains("opendkim") && stderr.contains("rspamd"),
        "{stderr}"
    );
    for now in [START, START + DAY / 2, START + DAY] {
        mailauth_at(dir.path(), now)
            .arg("rotate")
            .run()
            .assert_exit(0);
    }
    let out = mailauth_at(dir.path(), START + DAY)
        .args(["export", "rspamd", "--dir", "again"])
        .run();
    out.assert_exit(0);
    let map = std::fs::read_to_string(dir.path().join("again/dkim_selectors.map")).unwrap();
    assert!(map.contains("rot.test 20261125-rsa"), "{map}");
}

/// An export kind that is none of the signers is refused (exit 2, naming it), not skipped.
#[test]
fn an_unknown_export_kind_in_the_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "rot.test", ZONEFILE);
    let config = std::fs::read_to_string(dir.path().join("mailauth.toml")).unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        config.replace("\"exim\"]", "\"exin\"]"),
    )
    .unwrap();
    let out = mailauth_at(dir.path(), START).arg("rotate").run();
    out.assert_exit(2);
    let stderr = out.stderr_str();
    assert!(stderr.contains("exin"), "{stderr}");
    assert!(
        !dir.path().join("keys/rot.test/rotation.json").exists(),
        "rotation started with a bad configuration"
    );
}
