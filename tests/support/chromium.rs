//! Headless Chromium as the browser that reads mailauth's HTML report the way a person's would:
//! a screenshot of the page as drawn, and the DOM after the page's scripts ran (`--dump-dom`).
//!
//! Each run gets its own temporary profile (`--user-data-dir`), is its own process group, and is
//! killed by that group's id when it outlives [`TIMEOUT`]. Background networking, component
//! updates and DNS are switched off: the only page is a `file:` URL. Without Chromium a test
//! fails in CI and skips elsewhere, saying why (RECIPES.md "Headless Chromium" installs it).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single Chromium run may take before it is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The Chromium executable on PATH (`chromium`, or `chromium-browser` as some systems name it);
/// `None` after reporting why (which fails the test in CI).
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        super::skip_or_fail(
            "chromium is not installed (apt-get install chromium fonts-dejavu-core, or run `bash .ci/install-deps`)",
        );
    }
    found
}

/// The `file:` URL of `path` (absolute), with an optional `#fragment`.
pub fn file_url(path: &Path, fragment: &str) -> String {
    let path = std::fs::canonicalize(path).expect("canonical path of the page");
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(char::from(byte));
            }
            _ => url.push_str(&format!("%{byte:02X}")),
        }
    }
    if !fragment.is_empty() {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

/// Screenshot `html` into `out_png` in a 1280×`height` window. `None` when Chromium is missing
/// outside CI; panics when Chromium fails or writes no file.
pub fn screenshot(html: &Path, out_png: &Path, height: u32) -> Option<()> {
    let chromium = chromium()?;
    let screenshot = format!("--screenshot={}", out_png.display());
    let window = format!("--window-size=1280,{height}");
    let url = file_url(html, "");
    run(
        &chromium,
        &[&screenshot, &window, "--hide-scrollbars", &url],
    );
    assert!(
        out_png.is_file(),
        "chromium wrote no screenshot at {}",
        out_png.display()
    );
    Some(())
}

/// The DOM of `html` after its scripts ran, serialised by Chromium.
pub fn dump_dom(html: &Path) -> Option<String> {
    dump_dom_at(html, "")
}

/// As [`dump_dom`], with the page opened at `#fragment` (for pages that read `location.hash`).
pub fn dump_dom_at(html: &Path, fragment: &str) -> Option<String> {
    let chromium = chromium()?;
    let url = file_url(html, fragment);
    let out = run(&chromium, &["--dump-dom", &url]);
    let dom = String::from_utf8(out).expect("chromium's DOM dump is UTF-8");
    assert!(
        dom.contains("</html>"),
        "chromium printed no document for {url}:\n{dom}"
    );
    Some(dom)
}

/// Run Chromium headless with `args` and a fresh profile; its stdout, or a panic with stderr.
fn run(chromium: &Path, args: &[&str]) -> Vec<u8> {
    let profile = tempfile::tempdir().expect("temporary Chromium profile");
    let output = tempfile::tempdir().expect("temporary directory for Chromium's output");
    let stdout_path = output.path().join("stdout");
    let stderr_path = output.path().join("stderr");
    let mut command = Command::new(chromium);
    command
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args([
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-dev-shm-usage",
            "--mute-audio",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .process_group(0);
    let description = format!("{command:?}");
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {description}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            kill_group(child.id());
            let _ = child.wait();
            panic!(
                "{description} did not finish in {TIMEOUT:?}; killed. stderr:\n{}",
                read(&stderr_path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Chromium's helper processes (zygote, renderer) share the group; none may outlive the run.
    kill_group(child.id());
    assert!(
        status.success(),
        "{description} failed ({status}):\n{}",
        read(&stderr_path)
    );
    std::fs::read(&stdout_path).expect("read chromium's stdout")
}

/// SIGKILL to the process group `pgid` (the Chromium run started above, and only it).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
        "not a PNG file ({} bytes)",
        png.len()
    );
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (be(16), be(20))
}
