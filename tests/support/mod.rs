//! Shared test helpers: paths to test data, running the built binary, CI-aware skipping.

#![allow(dead_code)]

pub mod dns_server;

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
