//! The `mailauth` executable's contract for keygen, sign and verify: exit codes (0 pass, 1 no pass,
//! 2 bad input, 3 temporary DNS failure), JSON shape, global options on either side of the
//! command, and clear errors for bad input.

use std::path::{Path, PathBuf};

use crate::support::cmd::mailauth;
use crate::support::dns_server::TestDnsServer;
use crate::support::testdata;

const MESSAGE: &str = "From: Alice <alice@mailauth.test>\nTo: bob@example.net\nSubject: hello\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\n\nHello Bob.\n";

fn zone() -> String {
    testdata()
        .join("dns/dkim-checks.zone")
        .display()
        .to_string()
}

fn key(name: &str) -> String {
    testdata().join("keys").join(name).display().to_string()
}

/// Write MESSAGE signed by the test RSA key with selector `rsa` into `dir`; returns its path.
fn signed_message(dir: &Path) -> PathBuf {
    let plain = dir.join("plain.eml");
    std::fs::write(&plain, MESSAGE).unwrap();
    let out = mailauth()
        .current_dir(dir)
        .args([
            "sign",
            "plain.eml",
            "--domain",
            "mailauth.test",
            "--selector",
            "rsa",
            "--key",
            &key("rsa2048.pem"),
        ])
        .run();
    out.assert_exit(0);
    let signed = dir.join("signed.eml");
    std::fs::write(&signed, out.stdout()).unwrap();
    signed
}

#[test]
fn verify_pass_exits_0_with_rfc8601_header() {
    let dir = tempfile::tempdir().unwrap();
    signed_message(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone(),
            "verify",
            "signed.eml",
            "--authserv-id",
            "mx.test",
        ])
        .run();
    out.assert_exit(0);
    let text = out.stdout_str();
    assert!(
        text.starts_with("Authentication-Results: mx.test;"),
        "{text}"
    );
    assert!(text.contains("dkim=pass header.d=mailauth.test header.i=@mailauth.test header.s=rsa header.a=rsa-sha256"), "{text}");
}

#[test]
fn verify_json_has_one_entry_per_signature_and_global_flags_after_command() {
    let dir = tempfile::tempdir().unwrap();
    signed_message(dir.path());
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "verify",
            "signed.eml",
            "--zone",
            &zone(),
            "--json",
            "--authserv-id",
            "mx",
        ])
        .run();
    out.assert_exit(0);
    let doc = out.json();
    let dkim = doc["dkim"].as_array().unwrap();
    assert_eq!(dkim.len(), 1);
    assert_eq!(dkim[0]["result"], "pass");
    assert_eq!(dkim[0]["domain"], "mailauth.test");
    assert_eq!(dkim[0]["selector"], "rsa");
    assert_eq!(dkim[0]["algorithm"], "rsa-sha256");
    assert!(dkim[0]["reason"].is_null());
    assert!(
        doc["authentication_results"]
            .as_str()
            .unwrap()
            .contains("dkim=pass")
    );
}

#[test]
fn verify_fail_and_unsigned_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let signed = signed_message(dir.path());
    let tampered = std::fs::read_to_string(&signed)
        .unwrap()
        .replace("Hello Bob.", "Hello Eve.");
    std::fs::write(dir.path().join("tampered.eml"), tampered).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", &zone(), "--json", "verify", "tampered.eml"])
        .run();
    out.assert_exit(1);
    let doc = out.json();
    assert_eq!(doc["dkim"][0]["result"], "fail");
    assert!(
        doc["dkim"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("body hash mismatch")
    );

    std::fs::write(dir.path().join("plain.eml"), MESSAGE).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", &zone(), "verify", "plain.eml"])
        .run();
    out.assert_exit(1);
    assert!(
        out.stdout_str().contains("dkim=none"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn verify_temporary_dns_failure_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    signed_message(dir.path());
    // This server serves another zone only, so it refuses the key query: a temporary failure.
    let server = TestDnsServer::start(&[testdata().join("dns/empty.test.zone")]);
    let addr = server.udp_addr().to_string();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--resolver", &addr, "--json", "verify", "signed.eml"])
        .run();
    out.assert_exit(3);
    let doc = out.json();
    assert_eq!(doc["dkim"][0]["result"], "temperror");
}

#[test]
fn verify_stdin_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let signed = signed_message(dir.path());
    let out = mailauth()
        .args(["--zone", &zone(), "verify", "-"])
        .stdin(std::fs::read(signed).unwrap())
        .run();
    out.assert_exit(0);
}

/// Bad input: each case exits 2 and the error names what and where.
#[test]
fn bad_input_exits_2_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut huge = b"Subject: ".to_vec();
    huge.resize(10 * 1024 * 1024, b'x');
    huge.extend_from_slice(b"\r\n\r\nbody\r\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "picture.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0".to_vec(),
            "line 1: not a header field",
        ),
        (
            "nocolon.eml",
            b"From: a@b.test\nthis line has no colon\n\nbody\n".to_vec(),
            "line 2: not a header field",
        ),
        ("huge.eml", huge, "over 1048576 bytes"),
        ("empty.eml", Vec::new(), "empty input"),
        (
            "indented.eml",
            b" From: a@b.test\n\nbody\n".to_vec(),
            "continuation line",
        ),
    ];
    for (name, content, expected) in cases {
        std::fs::write(dir.path().join(name), content).unwrap();
        let out = mailauth()
            .current_dir(dir.path())
            .args(["--zone", &zone(), "verify", name])
            .run();
        out.assert_exit(2);
        let err = out.stderr_str();
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = mailauth()
        .current_dir(dir.path())
        .args(["--zone", &zone(), "verify", "missing.eml"])
        .run();
    out.assert_exit(2);
    assert!(out.stderr_str().contains("missing.eml"));
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--now",
            "yesterday",
            "--zone",
            &zone(),
            "verify",
            "empty.eml",
        ])
        .run();
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("--now \"yesterday\""),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn sign_without_a_key_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.eml"), MESSAGE).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "sign",
            "plain.eml",
            "--domain",
            "mailauth.test",
            "--selector",
            "s1",
        ])
        .run();
    out.assert_exit(2);
    let err = out.stderr_str();
    assert!(
        err.contains("keys/mailauth.test/s1.pem") && err.contains("mailauth keygen"),
        "{err}"
    );
}

#[test]
fn sign_refuses_verify_only_1024_bit_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.eml"), MESSAGE).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "sign",
            "plain.eml",
            "-d",
            "mailauth.test",
            "-s",
            "weak1024",
            "--key",
            &key("rsa1024.pem"),
        ])
        .run();
    out.assert_exit(2);
    assert!(out.stderr_str().contains("1024"), "{}", out.stderr_str());
    assert!(out.stdout().is_empty());
}

#[test]
fn sign_then_verify_with_dated_expiry_and_now() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.eml"), MESSAGE).unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "--now",
            "2026-11-25T00:00:00Z",
            "sign",
            "plain.eml",
            "-d",
            "mailauth.test",
            "-s",
            "ed",
            "--key",
            &key("ed25519.pem"),
            "--expire-after",
            "3600",
        ])
        .run();
    out.assert_exit(0);
    std::fs::write(dir.path().join("signed.eml"), out.stdout()).unwrap();
    let fresh = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone(),
            "--now",
            "2026-11-25T00:30:00Z",
            "verify",
            "signed.eml",
        ])
        .run();
    fresh.assert_exit(0);
    let late = mailauth()
        .current_dir(dir.path())
        .args([
            "--zone",
            &zone(),
            "--now",
            "1795572000",
            "verify",
            "signed.eml",
        ])
        .run();
    late.assert_exit(1);
    assert!(
        late.stdout_str().contains("expired"),
        "{}",
        late.stdout_str()
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_a_private_pkcs8_key_and_prints_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args(["keygen", "Example.TEST", "--now", "2026-11-25T10:00:00Z"])
        .run();
    out.assert_exit(0);
    let path = dir.path().join("keys/example.test/20261125-rsa.pem");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("keys")), 0o700);
    assert_eq!(mode(&dir.path().join("keys/example.test")), 0o700);
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    // The record is a zone-file line that mailauth's own zone reader takes back, with the value
    // in strings of at most 255 bytes; the private key is never printed.
    let line = out.stdout_str();
    assert!(
        line.starts_with("20261125-rsa._domainkey.example.test. IN TXT ( \""),
        "{line}"
    );
    assert!(!line.contains("PRIVATE") && !out.stderr_str().contains("PRIVATE"));
    let zone = mailauth::dns::zone::ZoneResolver::parse_str(&line, "stdout", None).unwrap();
    let txt = crate::dkim::runtime()
        .block_on(mailauth::dns::Resolver::txt(
            &zone,
            "20261125-rsa._domainkey.example.test",
        ))
        .unwrap();
    assert!(txt[0].strings.len() >= 2 && txt[0].strings.iter().all(|s| s.len() <= 255));
    let record = mailauth::dkim::parse::key_record(&txt[0].joined()).unwrap();
    let key = mailauth::keys::PrivateKey::from_pem(pem.as_bytes(), "key").unwrap();
    assert_eq!(record.public_key, key.public_key_bytes());
    assert_eq!(record.hashes, Some(vec!["sha256".to_owned()]));
    assert!(out.stderr_str().contains("20261125-rsa.pem"));
}

#[test]
fn keygen_json_and_ed25519() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "keygen",
            "example.test",
            "--algorithm",
            "ed25519",
            "--key-dir",
            "store",
            "--now",
            "1795600000",
            "--json",
        ])
        .run();
    out.assert_exit(0);
    let json = out.json();
    let selector = json["selector"].as_str().unwrap();
    assert_eq!(selector, "20261125-ed25519");
    assert_eq!(json["domain"], "example.test");
    assert_eq!(json["algorithm"], "ed25519");
    assert_eq!(
        json["record_name"],
        "20261125-ed25519._domainkey.example.test"
    );
    let value = json["record_value"].as_str().unwrap();
    assert!(value.starts_with("v=DKIM1; k=ed25519; p="), "{value}");
    // RFC 8463 §4.2: the raw 32-byte key, 44 base64 characters.
    assert_eq!(value.len() - "v=DKIM1; k=ed25519; p=".len(), 44);
    let path = PathBuf::from(json["private_key_path"].as_str().unwrap());
    assert_eq!(path, Path::new("store/example.test/20261125-ed25519.pem"));
    assert_eq!(mode(&dir.path().join(&path)), 0o600);
    let object = json.as_object().unwrap();
    assert_eq!(object.len(), 6, "{json}");
}

#[test]
fn keygen_refuses_to_overwrite_and_to_escape_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["keygen", "example.test", "-a", "ed25519", "-s", "s1"];
    mailauth()
        .current_dir(dir.path())
        .args(args)
        .run()
        .assert_exit(0);
    let path = dir.path().join("keys/example.test/s1.pem");
    let before = std::fs::read(&path).unwrap();
    let out = mailauth().current_dir(dir.path()).args(args).run();
    out.assert_exit(2);
    assert!(
        out.stderr_str()
            .contains("already exists; refusing to overwrite"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    for (domain, selector) in [("example.test", "../../etc/x"), ("../x", "s1")] {
        let out = mailauth()
            .current_dir(dir.path())
            .args(["keygen", domain, "-s", selector])
            .run();
        out.assert_exit(2);
        assert!(out.stderr_str().contains("invalid"), "{}", out.stderr_str());
    }
    let out = mailauth()
        .current_dir(dir.path())
        .args(["keygen", "example.test", "-a", "rsa-1024"])
        .run();
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("rsa-2048"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn keygen_rsa_4096_record_splits_into_strings() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailauth()
        .current_dir(dir.path())
        .args([
            "keygen",
            "example.test",
            "-a",
            "rsa-4096",
            "-s",
            "big",
            "--json",
        ])
        .run();
    out.assert_exit(0);
    let json = out.json();
    let key = std::fs::read(dir.path().join("keys/example.test/big.pem")).unwrap();
    let key = mailauth::keys::PrivateKey::from_pem(&key, "big.pem").unwrap();
    assert_eq!(key.bits(), 4096);
    let value = json["record_value"].as_str().unwrap();
    assert!(value.len() > 700, "{}", value.len());
    let line = mailauth::dns::zone_txt_line("big._domainkey.example.test", None, value.as_bytes());
    assert_eq!(line.matches('"').count(), 2 * value.len().div_ceil(255));
}

#[test]
fn completions_bash_lists_subcommands_and_parses() {
    let out = mailauth().args(["completions", "bash"]).run();
    out.assert_exit(0);
    let script = out.stdout_str();
    for word in [
        "keygen",
        "verify",
        "check",
        "publish",
        "rotate",
        "completions",
        "man",
        "--json",
    ] {
        assert!(
            script.contains(word),
            "{word} missing from the bash completion"
        );
    }
    let Some(bash) = crate::support::tool("bash") else {
        return;
    };
    crate::support::cmd::TestCommand::new(bash)
        .arg("-n")
        .stdin(out.stdout())
        .run()
        .assert_exit(0);
}

#[test]
fn completions_for_every_shell_name_the_command() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = mailauth().args(["completions", shell]).run();
        out.assert_exit(0);
        let script = out.stdout_str();
        assert!(
            script.contains("mailauth") && script.contains("keygen"),
            "{shell}: {script}"
        );
    }
    mailauth()
        .args(["completions", "tcsh"])
        .run()
        .assert_exit(2);
    let help = mailauth().args(["completions", "--help"]).run();
    assert!(
        help.assert_exit(0)
            .stdout_str()
            .contains("bash_completion.d")
    );
}

#[test]
fn man_page_has_a_title_and_lists_every_command() {
    let out = mailauth().arg("man").run();
    out.assert_exit(0);
    let page = out.stdout_str();
    assert!(page.contains(".TH MAILAUTH 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for command in [
        "keygen",
        "sign",
        "verify",
        "spf",
        "check",
        "plan",
        "publish",
        "rotate",
        "status",
        "export",
        "record",
        "probe",
        "audit",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("mailauth\\-{command}(1)"))
                || page.contains(&format!("\\fB{command}\\fR")),
            "{command} missing from the man page"
        );
    }
    let check = mailauth().args(["man", "check"]).run();
    assert!(
        check
            .assert_exit(0)
            .stdout_str()
            .contains(".TH MAILAUTH-CHECK 1")
    );
    let err = mailauth().args(["man", "nope"]).run();
    assert!(err.assert_exit(2).stderr_str().contains("no such command"));
    assert!(
        mailauth()
            .args(["man", "--help"])
            .run()
            .assert_exit(0)
            .stdout_str()
            .contains("man -l -")
    );
    let Some(man) = crate::support::tool("man") else {
        return;
    };
    // man renders it without complaint (warnings from groff go to stderr).
    let rendered = crate::support::cmd::TestCommand::new(man)
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .stdin(out.stdout())
        .run();
    let text = rendered.assert_exit(0).stdout_str();
    assert!(
        text.contains("SUBCOMMANDS") && text.contains("completions"),
        "{text}"
    );
    assert!(
        !rendered.stderr_str().contains("warning"),
        "{}",
        rendered.stderr_str()
    );
}

/// `NO_COLOR` (no-color.org) turns colour off even on a terminal: `script` gives the command a
/// pseudo-terminal, where `check` and clap's errors would otherwise be coloured.
#[test]
fn no_color_output_has_no_escape_byte() {
    let Some(script) = crate::support::tool("script") else {
        return;
    };
    let zone = testdata().join("dns/empty.test.zone");
    let on_a_terminal = |command: &str, no_color: bool| {
        let line = format!("{} {command}", env!("CARGO_BIN_EXE_mailauth"));
        let mut run = crate::support::cmd::TestCommand::new(&script)
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            run = run.env("NO_COLOR", "1");
        }
        run.run()
    };
    for command in [
        format!("--zone {} check nosuch.test", zone.display()),
        "--bogus".to_owned(),
    ] {
        let coloured = on_a_terminal(&command, false);
        assert!(
            coloured.stdout().contains(&0x1b),
            "without NO_COLOR the terminal should see colour, else this test proves nothing:\n{}",
            coloured.dump()
        );
        let plain = on_a_terminal(&command, true);
        assert!(!plain.stdout().contains(&0x1b), "{}", plain.dump());
        assert!(!plain.stderr_str().contains('\x1b'), "{}", plain.dump());
    }
}
