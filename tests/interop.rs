//! Interoperability with real peers: dkimpy signs and mailauth verifies (through the zone file
//! and the in-process DNS server), mailauth signs and dkimpy verifies (answering DNS from the
//! same zone data), the RFC 8463 Appendix A example, tampered messages, and keys made by
//! openssl, opendkim-genkey and dkimpy's dknewkey.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailauth::dkim::build::published_record;
use mailauth::dkim::{Canonicalization, DkimResult};
use mailauth::dns::Resolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth::keys::PrivateKey;
use serde_json::Value;

use crate::dkim::{DOMAIN, MESSAGE, ed, replace, rsa, runtime, sign_with, verify_all, zone_file};
use crate::support::cmd::mailauth;
use crate::support::{dkimpy_python, run, testdata, tool};

const CANONICALIZATIONS: [&str; 4] = [
    "simple/simple",
    "simple/relaxed",
    "relaxed/simple",
    "relaxed/relaxed",
];

fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/dkimpy_peer.py")
}

fn dkimpy_sign(
    python: &Path,
    key_file: &Path,
    selector: &str,
    algorithm: &str,
    canonicalization: &str,
    message: &[u8],
) -> Vec<u8> {
    run(
        Command::new(python)
            .arg(peer_script())
            .args(["sign", "--domain", DOMAIN, "--selector", selector])
            .arg("--key")
            .arg(key_file)
            .args(["--algorithm", algorithm, "--canon", canonicalization]),
        message,
    )
}

/// The TXT values at `names` as `resolver` answers them, as the JSON map the peer script reads.
fn dns_records(resolver: &dyn Resolver, names: &[String]) -> tempfile::NamedTempFile {
    let mut map = serde_json::Map::new();
    for name in names {
        let records = runtime()
            .block_on(resolver.txt(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let joined = records[0].joined();
        // Latin-1 keeps every byte; the peer encodes it back the same way.
        let text: String = joined.iter().map(|&b| char::from(b)).collect();
        map.insert(name.clone(), Value::String(text));
    }
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), serde_json::to_vec(&map).expect("json")).expect("write");
    file
}

/// dkimpy's verdict on each signature, in header order: `Ok(())` or the error it gave.
fn dkimpy_verify(python: &Path, message: &[u8], records: &Path) -> Vec<Result<(), String>> {
    let out = run(
        Command::new(python)
            .arg(peer_script())
            .arg("verify")
            .arg("--dns")
            .arg(records),
        message,
    );
    let results: Vec<Value> = serde_json::from_slice(&out).expect("peer prints JSON");
    results
        .into_iter()
        .map(|r| {
            if r["pass"] == Value::Bool(true) {
                Ok(())
            } else {
                Err(r["error"]
                    .as_str()
                    .unwrap_or("signature did not verify")
                    .to_owned())
            }
        })
        .collect()
}

fn checks_zone() -> ZoneResolver {
    ZoneResolver::from_files(&[zone_file()]).expect("zone")
}

fn selector_names(selectors: &[&str]) -> Vec<String> {
    selectors
        .iter()
        .map(|s| format!("{s}._domainkey.{DOMAIN}"))
        .collect()
}

fn canonicalization(text: &str) -> (Canonicalization, Canonicalization) {
    let (h, b) = text.split_once('/').expect("h/b");
    (
        Canonicalization::from_name(h).expect("known"),
        Canonicalization::from_name(b).expect("known"),
    )
}

#[test]
fn dkimpy_signed_messages_pass_in_mailauth() {
    let Some(python) = dkimpy_python() else {
        return;
    };
    for (key_file, selector, algorithm) in [
        ("rsa2048.pem", "rsa", "rsa-sha256"),
        ("ed25519.pem", "ed", "ed25519-sha256"),
    ] {
        for canon in CANONICALIZATIONS {
            let signed = dkimpy_sign(
                &python,
                &testdata().join("keys").join(key_file),
                selector,
                algorithm,
                canon,
                MESSAGE,
            );
            let outcomes = verify_all(&signed);
            assert_eq!(outcomes.len(), 1);
            assert_eq!(
                outcomes[0].result,
                DkimResult::Pass,
                "dkimpy {algorithm} {canon}: {:?}",
                outcomes[0]
            );
            assert_eq!(outcomes[0].algorithm, algorithm);
        }
    }
}

#[test]
fn mailauth_signed_messages_pass_in_dkimpy() {
    let Some(python) = dkimpy_python() else {
        return;
    };
    let records = dns_records(&checks_zone(), &selector_names(&["rsa", "ed"]));
    for (key, selector) in [(rsa(), "rsa"), (ed(), "ed")] {
        for canon in CANONICALIZATIONS {
            let (header, body) = canonicalization(canon);
            let signed = sign_with(MESSAGE, &key, selector, |o| {
                o.header_canon = header;
                o.body_canon = body;
            });
            let verdicts = dkimpy_verify(&python, &signed, records.path());
            assert_eq!(verdicts, vec![Ok(())], "mailauth {selector} {canon}");
        }
    }
}

#[test]
fn tampered_messages_fail_in_both_with_the_right_reason() {
    let Some(python) = dkimpy_python() else {
        return;
    };
    let records = dns_records(&checks_zone(), &selector_names(&["rsa", "ed"]));
    for (key_file, selector, algorithm, key) in [
        ("rsa2048.pem", "rsa", "rsa-sha256", rsa()),
        ("ed25519.pem", "ed", "ed25519-sha256", ed()),
    ] {
        let by_dkimpy = dkimpy_sign(
            &python,
            &testdata().join("keys").join(key_file),
            selector,
            algorithm,
            "relaxed/relaxed",
            MESSAGE,
        );
        let by_mailauth = sign_with(MESSAGE, &key, selector, |_| {});
        for signed in [by_dkimpy, by_mailauth] {
            let body = replace(&signed, "Are you free", "Are you busy");
            let header = replace(&signed, "Subject: Lunch", "Subject: Dinner");
            let outcomes = verify_all(&body);
            assert_eq!(outcomes[0].result, DkimResult::Fail);
            assert!(
                outcomes[0]
                    .reason
                    .as_deref()
                    .unwrap_or("")
                    .contains("body hash"),
                "{outcomes:?}"
            );
            let outcomes = verify_all(&header);
            assert_eq!(outcomes[0].result, DkimResult::Fail);
            let reason = outcomes[0].reason.clone().unwrap_or_default();
            assert!(
                reason.contains("signature") && !reason.contains("body hash"),
                "{reason}"
            );
            for tampered in [&body, &header] {
                let verdicts = dkimpy_verify(&python, tampered, records.path());
                assert!(verdicts[0].is_err(), "dkimpy passed a tampered message");
            }
        }
    }
}

#[test]
fn rfc8463_appendix_a_example_passes_both_signatures() {
    let message = std::fs::read(testdata().join("eml/rfc8463-a3.eml")).expect("example");
    let zone = testdata().join("dns/rfc8463.zone");
    let server = crate::support::dns_server::TestDnsServer::start(std::slice::from_ref(&zone));
    let parsed = mailauth::message::Message::parse(&message).expect("parses");
    let options = mailauth::dkim::verify::VerifyOptions::new(1_528_637_909 + 3600);
    let zone_resolver = ZoneResolver::from_files(&[zone]).expect("zone");
    let udp = mailauth::dns::hickory::HickoryResolver::with_servers(&[server.udp_addr()])
        .expect("resolver");
    let resolvers: [&dyn Resolver; 2] = [&zone_resolver, &udp];
    for resolver in resolvers {
        let outcomes =
            runtime().block_on(mailauth::dkim::verify::verify(&parsed, resolver, &options));
        let summary: Vec<(&str, &str, DkimResult)> = outcomes
            .iter()
            .map(|o| (o.selector.as_str(), o.algorithm.as_str(), o.result))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("brisbane", "ed25519-sha256", DkimResult::Pass),
                ("test", "rsa-sha256", DkimResult::Pass),
            ],
            "{outcomes:?}"
        );
        // The RFC's RSA key has 1024 bits: it passes, and the reason says it is weak.
        assert!(outcomes[1].reason.as_deref().unwrap_or("").contains("1024"));
    }
    // dkimpy agrees on the same message and records.
    if let Some(python) = dkimpy_python() {
        let names = vec![
            "brisbane._domainkey.football.example.com".to_owned(),
            "test._domainkey.football.example.com".to_owned(),
        ];
        let records = dns_records(&zone_resolver, &names);
        let crlf = String::from_utf8(message)
            .expect("ascii")
            .replace('\n', "\r\n")
            .into_bytes();
        assert_eq!(
            dkimpy_verify(&python, &crlf, records.path()),
            vec![Ok(()), Ok(())]
        );
    }
}

/// Sign with `key` as `selector`, publish its record in a zone, and check that mailauth and
/// dkimpy both verify the signature.
fn assert_key_signs_verifiably(key: &PrivateKey, selector: &str, origin: &str) {
    let record = published_record(key);
    let name = format!("{selector}._domainkey.{DOMAIN}");
    let zone_text = format!(
        "$ORIGIN {DOMAIN}.\n{}\n",
        mailauth::dns::zone_txt_line(&name, Some(300), record.as_bytes())
    );
    let zone = ZoneResolver::parse_str(&zone_text, origin, None).expect("zone");
    let signed = sign_with(MESSAGE, key, selector, |_| {});
    let parsed = mailauth::message::Message::parse(&signed).expect("parses");
    let outcomes = runtime().block_on(mailauth::dkim::verify::verify(
        &parsed,
        &zone,
        &mailauth::dkim::verify::VerifyOptions::new(crate::dkim::NOW),
    ));
    assert_eq!(
        outcomes[0].result,
        DkimResult::Pass,
        "{origin}: {outcomes:?}"
    );
    if let Some(python) = dkimpy_python() {
        let records = dns_records(&zone, &[name]);
        assert_eq!(
            dkimpy_verify(&python, &signed, records.path()),
            vec![Ok(())],
            "{origin}"
        );
    }
}

#[test]
fn openssl_keys_load_and_sign() {
    let Some(openssl) = tool("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (file, args, expect_header) in [
        (
            "genrsa-traditional.pem",
            &["genrsa", "-traditional", "2048"][..],
            "-----BEGIN RSA PRIVATE KEY-----",
        ),
        (
            "genrsa.pem",
            &["genrsa", "2048"][..],
            "-----BEGIN PRIVATE KEY-----",
        ),
        (
            "genpkey-rsa.pem",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:3072",
            ][..],
            "-----BEGIN PRIVATE KEY-----",
        ),
        (
            "genpkey-ed25519.pem",
            &["genpkey", "-algorithm", "ed25519"][..],
            "-----BEGIN PRIVATE KEY-----",
        ),
    ] {
        let path = dir.path().join(file);
        let pem = run(Command::new(&openssl).args(args), b"");
        std::fs::write(&path, &pem).expect("write key");
        assert!(
            String::from_utf8_lossy(&pem).starts_with(expect_header),
            "{file}"
        );
        let key = PrivateKey::from_pem(&pem, file).expect("openssl key loads");
        assert_key_signs_verifiably(&key, "openssl", file);
    }
}

#[test]
fn opendkim_genkey_keys_load_sign_and_match_its_record() {
    let Some(genkey) = tool("opendkim-genkey") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    run(
        Command::new(genkey)
            .args(["-b", "2048", "-d", DOMAIN, "-s", "odk", "-D"])
            .arg(dir.path()),
        b"",
    );
    let pem = std::fs::read(dir.path().join("odk.private")).expect("opendkim key");
    let key = PrivateKey::from_pem(&pem, "odk.private").expect("opendkim-genkey key loads");
    assert_eq!(key.bits(), 2048);
    // Its record (a BIND line, value split into strings) carries the same public key.
    let txt = std::fs::read_to_string(dir.path().join("odk.txt")).expect("opendkim record");
    let theirs = ZoneResolver::parse_str(&txt, "odk.txt", Some(DOMAIN)).expect("record parses");
    let value = runtime()
        .block_on(theirs.txt(&format!("odk._domainkey.{DOMAIN}")))
        .expect("record")[0]
        .joined();
    let parsed = mailauth::dkim::parse::key_record(&value).expect("key record");
    assert_eq!(parsed.public_key, key.public_key_bytes());
    assert_key_signs_verifiably(&key, "odk", "odk.private");
}

#[test]
fn dknewkey_ed25519_seed_loads_and_matches_its_record() {
    let Some(python) = dkimpy_python() else {
        return;
    };
    let dknewkey = python.with_file_name("dknewkey");
    let dir = tempfile::tempdir().expect("temp dir");
    run(
        Command::new(&python)
            .arg(&dknewkey)
            .args(["--ktype", "ed25519"])
            .arg(dir.path().join("dk")),
        b"",
    );
    let seed = std::fs::read(dir.path().join("dk.key")).expect("dknewkey key");
    let key = PrivateKey::from_pem(&seed, "dk.key").expect("dkimpy seed loads");
    let record = std::fs::read(dir.path().join("dk.dns")).expect("dknewkey record");
    let parsed = mailauth::dkim::parse::key_record(record.trim_ascii()).expect("record parses");
    assert_eq!(parsed.public_key, key.public_key_bytes());
    assert_key_signs_verifiably(&key, "dk", "dk.key");
}

#[test]
fn keygen_sign_verify_round_trip_through_the_cli_and_dkimpy() {
    let Some(python) = dkimpy_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let message = dir.path().join("m.eml");
    std::fs::write(&message, MESSAGE).expect("write");
    let in_dir = mailauth().current_dir(dir.path());
    for (algorithm, selector) in [("rsa-2048", "k-rsa"), ("ed25519", "k-ed")] {
        let out = in_dir
            .clone()
            .args([
                "keygen",
                DOMAIN,
                "--json",
                "--algorithm",
                algorithm,
                "-s",
                selector,
            ])
            .run();
        let json = out.assert_exit(0).json();
        let zone_line = mailauth::dns::zone_txt_line(
            json["record_name"].as_str().expect("name"),
            None,
            json["record_value"].as_str().expect("value").as_bytes(),
        );
        let zone_path = dir.path().join(format!("{selector}.zone"));
        std::fs::write(&zone_path, format!("$TTL 300\n{zone_line}\n")).expect("zone");
        let signed = in_dir
            .clone()
            .args(["sign", "m.eml", "-d", DOMAIN, "-s", selector])
            .run();
        let signed = signed.assert_exit(0).stdout().to_vec();
        let verified = in_dir
            .clone()
            .arg("--zone")
            .arg(&zone_path)
            .args(["--json", "verify", "-"])
            .stdin(signed.clone())
            .run();
        let json = verified.assert_exit(0).json();
        assert_eq!(json["dkim"][0]["result"], "pass", "{json}");
        let zone = ZoneResolver::from_files(&[zone_path]).expect("zone");
        let records = dns_records(&zone, &[format!("{selector}._domainkey.{DOMAIN}")]);
        assert_eq!(
            dkimpy_verify(&python, &signed, records.path()),
            vec![Ok(())]
        );
    }
}
