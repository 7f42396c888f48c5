//! TLSA rollover through the rotation engine (issue 16 item 4; RFC 7671 §8.1, RFC 7672 §3.1.1)
//! against a real Postfix whose certificate and key are swapped mid-way, publishing through the
//! zone-file provider. After every `mailauth rotate` run the published TLSA set must hold the
//! digest of the key the server presents, as computed independently by Postfix's own
//! `posttls-finger` (its `pkey_fingerprint` is the SHA-256 of the SubjectPublicKeyInfo, i.e. the
//! `3 1 1` data); the switch is recorded only after the swap, the old digest leaves only two
//! TTLs after the observed switch, every run is repeated at the same `--now` (a crash between
//! steps then a rerun must converge), and a key the rollover does not know stops everything.
//!
//! In the main rollover test every published set is also mirrored into a DNSSEC-signed zone
//! served by BIND, fetched through a validating BIND resolver, and matched against the live
//! Postfix certificate by an independent DANE verifier (`ldns-dane verify`, from ldnsutils):
//! DANE verification must pass at every step of the rollover (RFC 7671 §8.1), and fail for a
//! set that lacks the live key.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mailauth::rotate::RotationState;
use mailauth::rotate::dane::{TlsaRole, TlsaRollover};

use crate::support::cmd::{CmdOutput, mailauth};
use crate::support::dnssec::{self, SignedZone, Signing, ValidatingResolver};
use crate::support::postfix::{Listener, Postfix};

const TTL: u64 = 300;
const START: u64 = 1_795_600_000;

/// The rollover's world: Postfix, a config dir with a zone-file provider, and key files.
struct World {
    postfix: Postfix,
    dir: tempfile::TempDir,
    port: u16,
    /// The DNSSEC mirror and independent verifier, when the test asked for one.
    mirror: RefCell<Option<Mirror>>,
}

impl World {
    fn start() -> Option<World> {
        for tool in ["openssl", "posttls-finger"] {
            crate::support::tool(tool)?;
        }
        let postfix = Postfix::start()?;
        let port = postfix.addr(Listener::Hardened).port();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(postfix.zone_file(), dir.path().join("example.test.zone")).unwrap();
        std::fs::write(
            dir.path().join("mailauth.toml"),
            format!(
                "[providers.p]\nkind = \"zonefile\"\npath = \"example.test.zone\"\n\n[domains.\"example.test\"]\nprovider = \"p\"\nttl = {TTL}\n"
            ),
        )
        .unwrap();
        Some(World {
            postfix,
            dir,
            port,
            mirror: RefCell::new(None),
        })
    }

    /// Also check every published set with BIND and ldns-dane (see [`Mirror`]). `None` (after
    /// saying why, which fails in CI) when BIND or ldns-dane is missing.
    fn with_independent_verifier(self) -> Option<World> {
        let mirror = Mirror::start(self.postfix.addr(Listener::Smtps))?;
        *self.mirror.borrow_mut() = Some(mirror);
        Some(self)
    }

    /// The independent verifier's verdict on `set` (mirrored into the signed zone) against the
    /// certificate Postfix presents now, whose key must be `live`; panics unless it is `want`.
    fn independent(&self, set: &[String], live: &str, want: bool, step: &str) {
        let mut mirror = self.mirror.borrow_mut();
        let mirror = mirror
            .as_mut()
            .expect("the test started the independent verifier");
        mirror.publish(set, step);
        mirror.wait_smtps_presents(self.postfix.conf_dir(), live, step);
        mirror.verify(want, set, live, step);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tlsa_name(&self) -> String {
        format!("_{}._tcp.mx.example.test", self.port)
    }

    /// `mailauth --now NOW --zone ZONE ARGS` in the config dir (the zone gives mx.example.test's
    /// address, 127.0.0.1).
    fn run(&self, now: u64, args: &[&str]) -> CmdOutput {
        mailauth()
            .current_dir(self.dir.path())
            .arg("--now")
            .arg(now.to_string())
            .arg("--zone")
            .arg(self.path("example.test.zone"))
            .args(args)
            .env_remove("MAILAUTH_FAULT_AT")
            .run()
    }

    fn dane_next(&self, now: u64, key: &Path) -> CmdOutput {
        let port = self.port.to_string();
        let key = key.to_str().unwrap();
        self.run(
            now,
            &[
                "dane",
                "next",
                "--key",
                key,
                "--host",
                "mx.example.test",
                "--port",
                &port,
            ],
        )
    }

    /// `rotate` twice at the same `now` (the second run stands for the rerun after a crash
    /// between steps: it must succeed and change nothing more), checking after each that the
    /// published set holds the live key. Returns the first run's output.
    fn rotate(&self, now: u64, step: &str) -> CmdOutput {
        let first = self.run(now, &["rotate"]);
        first.assert_exit(0);
        let state = self.state();
        self.published_set_matches_live(&format!("{step}, first run"));
        let second = self.run(now, &["rotate"]);
        second.assert_exit(0);
        assert_eq!(
            self.state(),
            state,
            "{step}: a rerun at the same time changed the state:\n{}",
            second.dump()
        );
        self.published_set_matches_live(&format!("{step}, rerun"));
        first
    }

    fn state(&self) -> RotationState {
        let path = self.path("keys/example.test/rotation.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn rollover(&self) -> TlsaRollover {
        let name = self.tlsa_name();
        self.state()
            .tlsa
            .into_iter()
            .find(|r| r.name == name)
            .expect("a rollover for the TLSA name")
    }

    /// The TLSA values at the rollover's name, read from the zone file's text.
    fn published(&self) -> Vec<String> {
        let zone = std::fs::read_to_string(self.path("example.test.zone")).unwrap();
        let owner = format!("{}.", self.tlsa_name());
        let mut set: Vec<String> = zone
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(owner.as_str()))
            .filter_map(|l| {
                // The provider marks its records with a `;mailauth` comment.
                let l = l.split(';').next().unwrap_or_default();
                let words: Vec<&str> = l.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "TLSA")?;
                Some(format!(
                    "{} {} {} {}",
                    words[at + 1],
                    words[at + 2],
                    words[at + 3],
                    words[at + 4..].concat().to_ascii_lowercase()
                ))
            })
            .collect();
        set.sort();
        set
    }

    /// The `3 1 1` data of the key Postfix presents, from posttls-finger (the oracle).
    fn live(&self) -> String {
        posttls_finger_digest(self.postfix.conf_dir(), self.port, false)
    }

    fn published_set_matches_live(&self, step: &str) {
        let live = self.live();
        let published = self.published();
        assert!(
            published.contains(&live),
            "{step}: RFC 7672 §3.1.1: the published TLSA set {published:?} has no record for the live key {live}"
        );
        if self.mirror.borrow().is_some() {
            self.independent(&published, &live, true, step);
        }
    }

    /// Install `key`/`cert` as Postfix's chain and reload, waiting until posttls-finger sees it.
    fn swap(&self, pair: &KeyPair) {
        let conf = self.postfix.conf_dir();
        std::fs::copy(&pair.key, conf.join("key.pem")).unwrap();
        std::fs::copy(&pair.cert, conf.join("cert.pem")).unwrap();
        let out = Command::new("postfix")
            .arg("-c")
            .arg(conf)
            .arg("reload")
            .output()
            .unwrap();
        assert!(out.status.success(), "postfix reload: {out:?}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.live() != pair.digest {
            assert!(
                Instant::now() < deadline,
                "Postfix still presents {} after the swap to {}",
                self.live(),
                pair.digest
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn role(&self, digest: &str) -> Option<TlsaRole> {
        self.rollover().role_of(digest)
    }
}

/// The independent check (RFC 7672 §3.1.1, RFC 7671 §8.1) of each published set: a BIND
/// authoritative server for a DNSSEC-signed `example.test` (tests/support/dnssec.rs), a BIND
/// validating resolver trusting only that zone's KSK, and `ldns-dane verify` against Postfix.
///
/// Names: the rollover's TLSA owner is `_PORT._tcp.mx.example.test`, PORT being the test
/// Postfix's STARTTLS listener (`Listener::Hardened`). The signed zone holds the mirrored set
/// at `_25._tcp.mx.example.test`, the name `independent_dane_verify` asks the resolver for (the
/// SMTP port's TLSA name, RFC 7672 §2.2.3). ldns-dane cannot STARTTLS, so it verifies Postfix's
/// smtps listener (`Listener::Smtps`), which serves the same chain: `smtpd_tls_chain_files` is
/// set in main.cf and that listener only adds wrapper mode and SASL, and `World::swap` replaces
/// those files for every listener. `independent_dane_verify` writes the records the resolver
/// validated into ldns-dane's `-t` file at `_SMTPSPORT._tcp.mx.example.test`, the name from
/// which ldns-dane takes the host and port it connects to (with `-t` it does no DNS lookup of
/// its own). The record data is the same at all three names; only the port label differs.
struct Mirror {
    zone: SignedZone,
    resolver: ValidatingResolver,
    smtps: SocketAddr,
    /// The set the signed zone holds now (sorted).
    served: Vec<String>,
}

impl Mirror {
    /// `None` (after saying why, which fails in CI) when BIND's tools or ldns-dane are missing.
    fn start(smtps: SocketAddr) -> Option<Mirror> {
        crate::support::tool("ldns-dane")?;
        let zone = SignedZone::start("127.0.0.1", &[])?;
        let resolver = ValidatingResolver::start(&zone);
        Some(Mirror {
            zone,
            resolver,
            smtps,
            served: Vec::new(),
        })
    }

    /// Sign and serve `set` (re-signing only when it changed) and check that the validating
    /// resolver returns exactly it, authenticated (AD): a verdict below is then about the
    /// records, not about DNS.
    fn publish(&mut self, set: &[String], step: &str) {
        let mut set = set.to_vec();
        set.sort();
        if set != self.served {
            self.zone.set_tlsa(&set, Signing::Valid);
            self.resolver.flush();
            self.served = set.clone();
        }
        let owner = format!("_25._tcp.{}", dnssec::MX_HOST);
        let answer = dnssec::dig(self.resolver.addr(), &owner, "TLSA", &[])
            .unwrap_or_else(|| panic!("{step}: no answer from the validating resolver"));
        assert!(
            answer.status == "NOERROR" && answer.flags.iter().any(|f| f == "ad"),
            "{step}: the validating resolver did not authenticate {owner} TLSA: {answer:?}\n{}",
            self.resolver.log()
        );
        let mut got: Vec<String> = answer.records.iter().map(|r| normalize_tlsa(r)).collect();
        got.sort();
        assert_eq!(
            got, set,
            "{step}: the resolver's TLSA set is not the mirrored one"
        );
    }

    /// Wait until the smtps listener presents the key `live` (a reload reaches each listener's
    /// smtpd processes on their next connection), per posttls-finger in wrapper mode.
    fn wait_smtps_presents(&self, conf: &Path, live: &str, step: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let served = posttls_finger_digest(conf, self.smtps.port(), true);
            if served == live {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{step}: the smtps listener presents {served}, the STARTTLS listener {live}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// ldns-dane's verdict on the served set against the smtps listener must be `want`.
    fn verify(&self, want: bool, set: &[String], live: &str, step: &str) {
        let verdict =
            dnssec::independent_dane_verify(self.resolver.addr(), dnssec::MX_HOST, self.smtps)
                .expect("ldns-dane was found at start");
        assert_eq!(
            verdict,
            want,
            "{step}: ldns-dane verify {} the live key {live} against the DNSSEC-validated TLSA set {set:?} (RFC 7672 §3.1.1)",
            if verdict { "accepted" } else { "rejected" }
        );
    }
}

/// dig's TLSA RDATA ("3 1 1 ABCD EF..") as "3 1 1 abcdef..".
fn normalize_tlsa(rdata: &str) -> String {
    let words: Vec<&str> = rdata.split_whitespace().collect();
    assert!(words.len() >= 4, "not TLSA data: {rdata}");
    format!(
        "{} {} {} {}",
        words[0],
        words[1],
        words[2],
        words[3..].concat().to_ascii_lowercase()
    )
}

/// A key and its self-signed certificate for mx.example.test, made by openssl, with the digest
/// openssl itself computes (`openssl pkey -pubout -outform DER | sha256`).
struct KeyPair {
    key: PathBuf,
    cert: PathBuf,
    digest: String,
}

fn key_pair(dir: &Path, name: &str) -> KeyPair {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
    ok(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&key));
    ok(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-new",
            "-days",
            "30",
            "-subj",
            "/CN=mx.example.test",
            "-key",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    let der = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(der.status.success());
    let sha = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&der.stdout)?;
            child.wait_with_output()
        })
        .unwrap();
    let hex = String::from_utf8(sha.stdout).unwrap();
    let hex = hex.split_whitespace().next().unwrap().to_owned();
    KeyPair {
        key,
        cert,
        digest: format!("3 1 1 {hex}"),
    }
}

/// `posttls-finger -c -l may -d sha256 "[127.0.0.1]:PORT"`'s `pkey_fingerprint`, as `3 1 1 hex`
/// (`smtps`: implicit TLS, `-w`, instead of STARTTLS).
fn posttls_finger_digest(conf: &Path, port: u16, smtps: bool) -> String {
    let out = Command::new("posttls-finger")
        .env("MAIL_CONFIG", conf)
        .args(["-c", "-l", "may", "-d", "sha256"])
        .args(smtps.then_some("-w"))
        .arg(format!("[127.0.0.1]:{port}"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let fingerprint = text
        .split("pkey_fingerprint=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no pkey_fingerprint in posttls-finger's output:\n{text}"));
    format!(
        "3 1 1 {}",
        fingerprint.replace(':', "").to_ascii_lowercase()
    )
}

#[test]
fn rfc7671_8_1_tlsa_rollover_follows_the_observed_key_switch_through_postfix() {
    // Every `rotate` run below (first run and rerun) also has its published set mirrored into
    // the signed zone and verified by ldns-dane against the live certificate (`Mirror`).
    let Some(w) = World::start().and_then(World::with_independent_verifier) else {
        return;
    };
    let original = w.live();
    let next = key_pair(w.dir.path(), "next");
    assert_ne!(next.digest, original);

    // `dane next` adopts the key Postfix presents as current and records the next one.
    let out = w.dane_next(START, &next.key);
    out.assert_exit(0);
    assert!(out.stdout_str().contains(&next.digest), "{}", out.dump());
    assert_eq!(w.role(&original), Some(TlsaRole::Current));
    assert_eq!(w.role(&next.digest), Some(TlsaRole::Next));
    assert!(
        w.published().is_empty(),
        "dane next publishes nothing itself"
    );
    let private = std::fs::read_to_string(&next.key).unwrap();
    let state_text = std::fs::read_to_string(w.path("keys/example.test/rotation.json")).unwrap();
    assert!(
        !state_text.contains(private.lines().nth(1).unwrap()),
        "the private key never enters the state"
    );

    // The same key again is a no-op.
    w.dane_next(START, &next.key).assert_exit(0);

    // A dry run says what is next and changes nothing.
    let before = std::fs::read(w.path("keys/example.test/rotation.json")).unwrap();
    let out = w.run(START, &["rotate", "--dry-run"]);
    out.assert_exit(0);
    assert!(out.stdout_str().contains("publish TLSA"), "{}", out.dump());
    let out = w.run(START, &["--json", "rotate", "--dry-run"]);
    out.assert_exit(0);
    assert_eq!(
        out.json()[0]["tlsa"][0]["next"]["action"],
        "publish",
        "{}",
        out.dump()
    );
    assert_eq!(
        std::fs::read(w.path("keys/example.test/rotation.json")).unwrap(),
        before
    );
    assert!(w.published().is_empty());

    // t0: current + next published; visibility waits for the propagation time (one TTL).
    let t = START;
    w.rotate(t, "publish");
    let mut both = vec![original.clone(), next.digest.clone()];
    both.sort();
    assert_eq!(w.published(), both);
    assert_eq!(w.rollover().visible_at, None);

    // t0 + TTL: served; the server still presents the old key, so no switch is recorded.
    let t = START + TTL;
    let out = w.rotate(t, "before the swap");
    assert!(
        out.stdout_str().contains("still presents the current key"),
        "{}",
        out.dump()
    );
    assert_eq!(w.rollover().visible_at, Some(t));
    assert_eq!(w.role(&original), Some(TlsaRole::Current));
    assert!(w.rollover().with_role(TlsaRole::Retiring).is_none());

    // The administrator swaps the key; the next run observes it.
    w.swap(&next);
    let switch_at = START + TTL + 100;
    w.rotate(switch_at, "after the swap");
    let r = w.rollover();
    assert_eq!(r.with_role(TlsaRole::Current).unwrap().digest, next.digest);
    assert_eq!(
        r.with_role(TlsaRole::Current).unwrap().seen_live_at,
        Some(switch_at),
        "the switch is recorded at the run that saw it"
    );
    let retiring = r.with_role(TlsaRole::Retiring).unwrap();
    assert_eq!(retiring.digest, original);
    assert_eq!(retiring.retire_after, Some(switch_at + 2 * TTL));
    assert_eq!(w.published(), both, "nothing is removed at the switch");

    // The check can fail: had the next key not been published before the swap (RFC 7671
    // §8.1), the set would hold only the old digest, and the independent verifier rejects it
    // for the key Postfix presents now.
    w.independent(
        std::slice::from_ref(&original),
        &next.digest,
        false,
        "after the swap, the old digest alone",
    );

    // `publish` from a configuration whose dane section lists only the new key leaves the
    // rollover's set alone: the retiring digest stays until `rotate` retires it.
    let base = std::fs::read_to_string(w.path("mailauth.toml")).unwrap();
    std::fs::write(
        w.path("publish.toml"),
        format!(
            "{base}\n[domains.\"example.test\".dane]\nhosts = [\"mx.example.test\"]\nport = {}\nkeys = [\"next.key\"]\n",
            w.port
        ),
    )
    .unwrap();
    let out = w.run(
        switch_at + 1,
        &["publish", "--config", "publish.toml", "--yes"],
    );
    out.assert_exit(0);
    assert_eq!(
        w.published(),
        both,
        "publish keeps the rollover's retiring digest\n{}",
        out.dump()
    );
    w.published_set_matches_live("after publish");

    // One second before two TTLs have passed the old digest is still there.
    w.rotate(switch_at + 2 * TTL - 1, "just before retirement");
    assert_eq!(w.published(), both);

    // Two TTLs after the observed switch it goes.
    w.rotate(switch_at + 2 * TTL, "retirement");
    assert_eq!(w.published(), vec![next.digest.clone()]);
    assert_eq!(w.role(&original), None);
    w.rotate(switch_at + 3 * TTL, "settled");
    assert!(w.rollover().visible_at.is_some());

    // Status shows the name, the current key and the next step.
    let out = w.run(switch_at + 3 * TTL, &["status"]);
    out.assert_exit(0);
    let text = out.stdout_str();
    assert!(text.contains(&w.tlsa_name()), "{text}");
    assert!(
        text.contains(&format!("current  {}", next.digest)),
        "{text}"
    );
    assert!(text.contains("nothing to do"), "{text}");
}

#[test]
fn a_live_key_the_rollover_does_not_know_stops_rotate_and_dane_next() {
    let Some(w) = World::start() else { return };
    let original = w.live();
    let next = key_pair(w.dir.path(), "next");
    let stranger = key_pair(w.dir.path(), "stranger");
    let other = key_pair(w.dir.path(), "other");

    w.dane_next(START, &next.key).assert_exit(0);
    w.rotate(START, "publish");
    w.rotate(START + TTL, "visible");
    assert_eq!(w.role(&original), Some(TlsaRole::Current));

    // The server switches to a key nobody recorded: rotate exits 1, changes nothing.
    w.swap(&stranger);
    let before = std::fs::read(w.path("keys/example.test/rotation.json")).unwrap();
    let zone_before = w.published();
    // Exit 1 naming the unknown live key, with the rotation state left as it was.
    let refused_unchanged = |out: CmdOutput| {
        out.assert_exit(1);
        assert!(
            out.stderr_str().contains("dane.live_key_unknown"),
            "{}",
            out.dump()
        );
        assert_eq!(
            std::fs::read(w.path("keys/example.test/rotation.json")).unwrap(),
            before
        );
    };
    refused_unchanged(w.run(START + TTL + 10, &["rotate"]));
    assert_eq!(w.published(), zone_before);

    // `dane next` refuses too while the live key is unknown.
    refused_unchanged(w.dane_next(START + TTL + 20, &other.key));
}

#[test]
fn dane_next_refuses_the_current_key_and_a_file_that_is_no_key() {
    let Some(w) = World::start() else { return };
    let garbage = w.path("garbage.pem");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let out = w.dane_next(START, &garbage);
    out.assert_exit(2);
    assert!(!w.path("keys/example.test/rotation.json").exists());
    // Postfix's own key file: it is the current key, so it cannot be the next.
    let current_key = w.postfix.conf_dir().join("key.pem");
    let out = w.dane_next(START, &current_key);
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("already presents this key"),
        "{}",
        out.dump()
    );
}
