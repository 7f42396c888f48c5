//! Shared test helpers: paths to test data, running the built binary, CI-aware skipping.

#![allow(dead_code)]

pub mod archive;
pub mod chromium;
pub mod cloudflare_fake;
pub mod cmd;
pub mod dns_faults;
pub mod dns_server;
pub mod dnssec;
pub mod exim;
pub mod fake_smtp;
pub mod fault_fs;
pub mod fault_proxy;
pub mod https_server;
pub mod knot;
pub mod mail_tls;
pub mod named;
pub mod pdns;
pub mod peers;
pub mod postfix;
pub mod smtp_sink;

use std::path::PathBuf;

/// The repository's `testdata/` directory.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// True when running under CI (`CI=true`): tests that need a peer or server must then fail
/// instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Report that a test cannot run here. In CI this fails the test; elsewhere it prints why and
/// lets the caller return early.
pub fn skip_or_fail(why: &str) {
    if in_ci() {
        panic!("required for CI but unavailable: {why}");
    }
    eprintln!("SKIPPED (not in CI): {why}");
}

/// The Python interpreter of the repository's venv (`.venv`, made by `.ci/install-deps`) if it
/// can import dkimpy; `None` after reporting why (which fails the test in CI).
pub fn dkimpy_python() -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import dkim, nacl"])
        .output()
        .is_ok_and(|out| out.status.success());
    if ok {
        Some(python)
    } else {
        skip_or_fail(&format!(
            "dkimpy with Ed25519 support in {} (run `bash .ci/install-deps`)",
            python.display()
        ));
        None
    }
}

/// `tool` if it is on PATH; `None` after reporting why (which fails the test in CI).
pub fn tool(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        skip_or_fail(&format!(
            "{tool} is not installed (run `bash .ci/install-deps`)"
        ));
    }
    found
}

/// Run a command with `stdin`, panicking with its stderr if it fails.
pub fn run(command: &mut std::process::Command, stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::Stdio;
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {description}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "{description} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
