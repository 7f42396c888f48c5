//! Independent SMTP clients as oracles: swaks (does a relay attempt from 127.0.0.2 get past
//! RCPT?) and testssl.sh (which TLS protocol versions does a STARTTLS server offer?). The
//! agreement tables in tests/smtp_servers.rs compare these verdicts with what each test server
//! is configured to do, and the probe's tests compare `mailauth probe --json` with the same
//! helpers. Only the clients' own verdicts are read here; nothing is inferred from mailauth.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

/// How swaks reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwaksTls {
    /// Plain SMTP, no TLS.
    None,
    /// `-tls`: STARTTLS required before MAIL.
    StartTls,
    /// `--tls-on-connect`: implicit TLS (port 465 style).
    OnConnect,
}

/// The classic relay attempt of RECIPES.md.
pub const RELAY_FROM: &str = "a@foreign.example";
/// The foreign recipient of the relay attempt.
pub const RELAY_TO: &str = "b@other.example";

/// Whether `swaks --server ADDR -li 127.0.0.2 --from a@foreign.example --to b@other.example
/// --quit-after RCPT` gets its RCPT accepted (exit 0) rather than refused at RCPT (exit 24) or
/// at MAIL (exit 23). `None` outside CI when swaks is missing; any other exit (cannot connect,
/// TLS failure) panics with swaks's transcript.
pub fn swaks_relay_accepted(addr: SocketAddr, tls: SwaksTls) -> Option<bool> {
    let out = swaks(addr, tls, &[], &[])?;
    Some(relay_verdict(addr, &out))
}

/// As [`swaks_relay_accepted`], after `AUTH PLAIN` as `user` with the password read from
/// `password_file`. The password reaches swaks through its environment
/// (`SWAKS_OPT_auth_password`), never argv.
pub fn swaks_relay_after_auth(
    addr: SocketAddr,
    tls: SwaksTls,
    user: &str,
    password_file: &Path,
) -> Option<bool> {
    let password = std::fs::read_to_string(password_file).expect("read the password file");
    let args = ["--auth", "PLAIN", "--auth-user", user];
    let out = swaks(addr, tls, &args, &[("SWAKS_OPT_auth_password", &password)])?;
    Some(relay_verdict(addr, &out))
}

fn swaks(addr: SocketAddr, tls: SwaksTls, extra: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    let swaks = super::tool("swaks")?;
    let mut command = Command::new(swaks);
    command
        .args(["--server", &addr.to_string(), "-li", "127.0.0.2"])
        .args(["--from", RELAY_FROM, "--to", RELAY_TO])
        .args(["--quit-after", "RCPT", "--timeout", "10"])
        .args(match tls {
            SwaksTls::None => &[][..],
            SwaksTls::StartTls => &["-tls"][..],
            SwaksTls::OnConnect => &["--tls-on-connect"][..],
        })
        .args(extra);
    for (name, value) in env {
        command.env(name, value);
    }
    Some(command.output().expect("run swaks"))
}

/// swaks exit status: 0 all accepted, 23 MAIL refused, 24 RCPT refused (swaks(1) "EXIT CODES");
/// 28 is a refused AUTH, which the auth tests must see as a failure, not a verdict.
fn relay_verdict(addr: SocketAddr, out: &Output) -> bool {
    match out.status.code() {
        Some(0) => true,
        Some(23 | 24) => false,
        other => panic!(
            "swaks against {addr} ended with {other:?}, not a relay verdict:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The protocol versions testssl.sh finds offered on the STARTTLS SMTP server at `addr`, keyed
/// like `mailauth probe`'s `legacy_tls`: "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2",
/// "TLSv1.3" -> offered. `None` outside CI when testssl is missing. Takes about 10 s.
pub fn testssl_protocols(addr: SocketAddr) -> Option<BTreeMap<String, bool>> {
    let testssl = super::tool("testssl")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("testssl.json");
    let out = Command::new(testssl)
        .args([
            "--starttls",
            "smtp",
            "--protocols",
            "--warnings",
            "off",
            "--quiet",
        ])
        .args(["--color", "0", "--nodns", "none", "--connect-timeout", "10"])
        .args(["--openssl-timeout", "10", "--jsonfile"])
        .arg(&json)
        .arg(addr.to_string())
        .output()
        .expect("run testssl");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "testssl wrote no JSON for {addr} ({e}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Some(protocols_from_json(&text))
}

/// testssl's JSON is an array of `{ "id": "TLS1_1", "finding": "offered (deprecated)" }`;
/// "not offered" (or any finding not starting with "offered") counts as not offered.
fn protocols_from_json(text: &str) -> BTreeMap<String, bool> {
    const IDS: [(&str, &str); 6] = [
        ("SSLv2", "SSLv2"),
        ("SSLv3", "SSLv3"),
        ("TLS1", "TLSv1.0"),
        ("TLS1_1", "TLSv1.1"),
        ("TLS1_2", "TLSv1.2"),
        ("TLS1_3", "TLSv1.3"),
    ];
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(text).expect("testssl JSON is an array");
    let mut protocols = BTreeMap::new();
    for entry in &entries {
        let id = entry["id"].as_str().unwrap_or_default();
        if let Some((_, name)) = IDS.iter().find(|(testssl_id, _)| *testssl_id == id) {
            let finding = entry["finding"].as_str().unwrap_or_default();
            protocols.insert(name.to_string(), finding.starts_with("offered"));
        }
    }
    assert_eq!(
        protocols.len(),
        IDS.len(),
        "testssl did not report every protocol: {text}"
    );
    protocols
}
