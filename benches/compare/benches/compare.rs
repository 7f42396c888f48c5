//! Side-by-side benchmarks of `mailauth` and Stalwart's `mail-auth` 0.15.1 on the same messages
//! and the same keys: DKIM verify (warm and cold key paths, with the hardware floor measured in
//! the same group), DKIM sign, and key generation.
//!
//! Run: `cargo bench --ignore-rust-version --manifest-path benches/compare/Cargo.toml`

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use mail_auth::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::dkim::{DkimSigner, DomainKey};
use mail_auth::dns::TxtRecordParser;
use mail_auth::headers::HeaderWriter;
use mail_auth::{AuthenticatedMessage, MessageAuthenticator, Parameters, ResolverCache, TxtRecord};
use mailauth::dkim::DkimResult;
use mailauth::dkim::sign::SignOptions;
use mailauth::dkim::verify::{KeyCache, VerifyOptions};
use mailauth::dns::zone::ZoneResolver;
use mailauth::keys::{KeySpec, PrivateKey};
use mailauth::message::Message;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

const DOMAIN: &str = "mailauth.test";
/// Fixed `t=` so signatures are reproducible across runs.
const TIMESTAMP: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
/// The header fields both signers sign (mailauth's default From oversigning is turned off so
/// both produce the same `h=` list).
const SIGNED_HEADERS: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
];
const SIZES: [(&str, usize); 3] = [("1KB", 1024), ("10KB", 10 * 1024), ("100KB", 100 * 1024)];

// ---------------------------------------------------------------------------------------------
// Test data

fn testdata(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys/").to_owned() + name;
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// An unsigned message whose body is exactly `body_len` bytes of CRLF-terminated text lines with
/// runs of spaces, tabs, trailing whitespace and trailing empty lines, so relaxed body
/// canonicalization has work to do.
fn build_message(body_len: usize) -> Vec<u8> {
    let mut msg = String::new();
    msg.push_str("From: Alice Example <alice@mailauth.test>\r\n");
    msg.push_str("To: Bob  Example <bob@example.org>\r\n");
    msg.push_str("Subject:   Benchmark message of   several sizes \r\n");
    msg.push_str("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n");
    msg.push_str("Message-ID: <bench.0001@mailauth.test>\r\n");
    msg.push_str("MIME-Version: 1.0\r\n");
    msg.push_str("Content-Type: text/plain;\r\n\tcharset=\"utf-8\"\r\n");
    msg.push_str("\r\n");

    const WORDS: [&str; 12] = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet,",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
    ];
    let tail = "\r\n\r\n"; // trailing empty line, removed by canonicalization
    let mut body = String::with_capacity(body_len + 128);
    let mut i = 0usize;
    while body.len() + tail.len() < body_len {
        let mut line = format!("{i:05}");
        for w in 0..(6 + i % 7) {
            // Alternate single spaces, runs of spaces and tabs between words.
            line.push_str(match (i + w) % 5 {
                0 => "   ",
                1 => "\t",
                2 => " \t ",
                _ => " ",
            });
            line.push_str(WORDS[(i * 7 + w) % WORDS.len()]);
        }
        // Trailing whitespace on some lines.
        line.push_str(match i % 4 {
            0 => "  ",
            1 => "\t",
            _ => "",
        });
        line.push_str("\r\n");
        body.push_str(&line);
        i += 1;
    }
    // Cut to size on a line boundary then pad the last line so the length is exact.
    while body.len() + tail.len() > body_len {
        let cut = body[..body.len() - 2].rfind("\r\n").map_or(0, |p| p + 2);
        body.truncate(cut);
    }
    let pad = body_len - tail.len() - body.len();
    if pad >= 2 {
        body.push_str(&"x".repeat(pad - 2));
        body.push_str("\r\n");
    } else {
        body.push_str(&" ".repeat(pad));
    }
    body.push_str(tail);
    assert_eq!(body.len(), body_len);
    msg.push_str(&body);
    msg.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// mail-auth offline DNS: a prefilled cache, and a resolver that points at a closed port.

#[path = "../src/offline.rs"]
mod offline;
use offline::{OfflineCache, offline_authenticator};

// ---------------------------------------------------------------------------------------------
// Keys

struct Keys {
    /// mailauth's keys.
    rsa: PrivateKey,
    ed: PrivateKey,
    /// mail-auth's keys, loaded from the same PEM files.
    ma_rsa: RsaKey<Sha256>,
    ma_ed: Ed25519Key,
    /// Key records (`v=DKIM1; k=...; p=...`) as mailauth builds them.
    rsa_record: String,
    ed_record: String,
}

fn key_record(key: &PrivateKey) -> String {
    mailauth::dkim::build::published_record(key)
}

fn load_keys() -> Keys {
    let rsa_pem = testdata("rsa2048.pem");
    let ed_pem = testdata("ed25519.pem");
    let rsa = PrivateKey::from_pem(&rsa_pem, "rsa2048.pem").expect("mailauth: load RSA key");
    let ed = PrivateKey::from_pem(&ed_pem, "ed25519.pem").expect("mailauth: load Ed25519 key");

    let ma_rsa = RsaKey::<Sha256>::from_key_der(
        PrivateKeyDer::from_pem_slice(&rsa_pem).expect("mail-auth: RSA PEM"),
    )
    .expect("mail-auth: load RSA key");
    // The Ed25519 file is PKCS#8 v1 (no public key); mail-auth builds the key pair from the
    // 32-byte seed (the last 32 bytes of the DER) plus the public key.
    let ed_der = match PrivateKeyDer::from_pem_slice(&ed_pem).expect("mail-auth: Ed25519 PEM") {
        PrivateKeyDer::Pkcs8(der) => der.secret_pkcs8_der().to_vec(),
        other => panic!("unexpected Ed25519 key encoding: {other:?}"),
    };
    let seed = &ed_der[ed_der.len() - 32..];
    let ma_ed = Ed25519Key::from_seed_and_public_key(seed, &ed.public_key_bytes())
        .expect("mail-auth: load Ed25519 key");

    let rsa_record = key_record(&rsa);
    let ed_record = key_record(&ed);
    Keys {
        rsa,
        ed,
        ma_rsa,
        ma_ed,
        rsa_record,
        ed_record,
    }
}

// ---------------------------------------------------------------------------------------------
// Signing and verifying, one call each, used both for the correctness checks and in the loops.

fn mailauth_options(selector: &str) -> SignOptions {
    let mut options = SignOptions::new(DOMAIN, selector, TIMESTAMP);
    options.headers = Some(SIGNED_HEADERS.iter().map(|h| h.to_string()).collect());
    options.oversign = Vec::new();
    options
}

/// mailauth: parse + sign; returns the DKIM-Signature field (no final CRLF).
fn mailauth_sign(raw: &[u8], key: &PrivateKey, options: &SignOptions) -> String {
    let message = Message::parse(raw).expect("mailauth: parse");
    mailauth::dkim::sign::sign(&message, key, options).expect("mailauth: sign")
}

/// mail-auth: sign (it parses the raw bytes itself); returns the header with final CRLF.
fn mail_auth_sign<K: SigningKey<Hasher = Sha256>>(
    raw: &[u8],
    signer: &DkimSigner<K, mail_auth::signer::Ready>,
) -> String {
    signer.sign(raw).expect("mail-auth: sign").to_header()
}

fn prepend(field_with_crlf: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field_with_crlf.len() + raw.len());
    out.extend_from_slice(field_with_crlf.as_bytes());
    out.extend_from_slice(raw);
    out
}

/// mailauth: parse + verify; true when every signature passes. With `keys`, the parsed key is
/// taken from (and left in) that cache: the warm path. Without, the key record is looked up in
/// the zone, decoded and set up for this message alone: the cold path.
async fn mailauth_verify(
    raw: &[u8],
    zone: &ZoneResolver,
    options: &VerifyOptions,
    keys: Option<&KeyCache>,
) -> bool {
    let message = Message::parse(raw).expect("mailauth: parse");
    let outcomes = match keys {
        Some(keys) => mailauth::dkim::verify::verify_cached(&message, zone, options, keys).await,
        None => mailauth::dkim::verify::verify(&message, zone, options).await,
    };
    !outcomes.is_empty() && outcomes.iter().all(|o| o.result == DkimResult::Pass)
}

/// mail-auth's cold path: a new cache holding the key record as text is parsed by mail-auth's
/// own record parser (what it does after fetching it), then the message is verified.
async fn mail_auth_verify_cold(
    raw: &[u8],
    authenticator: &MessageAuthenticator,
    records: &[(String, String)],
) -> bool {
    let cache = OfflineCache::default();
    let far = Instant::now() + Duration::from_secs(3600);
    for (name, record) in records {
        let parsed = DomainKey::parse(record.as_bytes()).expect("mail-auth: parse key record");
        cache.txt.insert(
            format!("{name}.").into_boxed_str(),
            TxtRecord::DomainKey(Arc::new(parsed)),
            far,
        );
    }
    mail_auth_verify(raw, authenticator, &cache).await
}

/// The work no verifier can skip, measured with aws-lc in the same run: SHA-256 over the body
/// bytes and one signature verification (over a header-sized input; Ed25519 over its SHA-256,
/// RFC 8463 §3). No parsing, no canonicalization, no key decoding.
struct Floor {
    key: aws_lc_rs::signature::ParsedPublicKey,
    data: Vec<u8>,
    signature: Vec<u8>,
    ed25519: bool,
}

impl Floor {
    fn new(alg: &str, pem: &[u8]) -> Floor {
        use aws_lc_rs::signature::{self as lc, KeyPair as _};
        let der = match PrivateKeyDer::from_pem_slice(pem).expect("floor: PEM") {
            PrivateKeyDer::Pkcs8(der) => der.secret_pkcs8_der().to_vec(),
            other => panic!("floor: unexpected key encoding {other:?}"),
        };
        // About the size of a DKIM header hash input: seven fields and the signature field.
        let data = vec![b'h'; 600];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        if alg == "rsa2048" {
            let pair = lc::RsaKeyPair::from_pkcs8(&der).expect("floor: RSA key");
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(&lc::RSA_PKCS1_SHA256, &rng, &data, &mut signature)
                .expect("floor: RSA sign");
            let key = lc::ParsedPublicKey::new(
                &lc::RSA_PKCS1_2048_8192_SHA256,
                pair.public_key().as_ref(),
            )
            .expect("floor: RSA public key");
            Floor {
                key,
                data,
                signature,
                ed25519: false,
            }
        } else {
            let pair =
                lc::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("floor: Ed25519");
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &data);
            let signature = pair.sign(hash.as_ref()).as_ref().to_vec();
            let key = lc::ParsedPublicKey::new(&lc::ED25519, pair.public_key().as_ref())
                .expect("floor: Ed25519 public key");
            Floor {
                key,
                data,
                signature,
                ed25519: true,
            }
        }
    }

    fn run(&self, body: &[u8]) -> bool {
        let body_hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
        black_box(body_hash);
        if self.ed25519 {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.data);
            self.key.verify_sig(hash.as_ref(), &self.signature).is_ok()
        } else {
            self.key.verify_sig(&self.data, &self.signature).is_ok()
        }
    }
}

/// mail-auth: parse + verify; true when every signature passes.
async fn mail_auth_verify(
    raw: &[u8],
    authenticator: &MessageAuthenticator,
    cache: &OfflineCache,
) -> bool {
    let message = AuthenticatedMessage::parse(raw).expect("mail-auth: parse");
    let outputs = authenticator
        .verify_dkim(Parameters::new(&message).with_cache(cache))
        .await;
    !outputs.is_empty()
        && outputs
            .iter()
            .all(|o| o.result() == &mail_auth::DkimResult::Pass)
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

struct Fixture {
    keys: Keys,
    rt: tokio::runtime::Runtime,
    zone: ZoneResolver,
    authenticator: MessageAuthenticator,
    cache: OfflineCache,
    verify_options: VerifyOptions,
}

fn fixture() -> Fixture {
    let keys = load_keys();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let rsa_name = format!("rsa._domainkey.{DOMAIN}");
    let ed_name = format!("ed._domainkey.{DOMAIN}");

    // mailauth: an in-memory zone.
    let zone_text = format!(
        "{}\n{}\n",
        mailauth::dns::zone_txt_line(&rsa_name, Some(300), keys.rsa_record.as_bytes()),
        mailauth::dns::zone_txt_line(&ed_name, Some(300), keys.ed_record.as_bytes()),
    );
    let zone = ZoneResolver::parse_str(&zone_text, "bench-zone", Some(DOMAIN)).expect("zone");

    // mail-auth: a prefilled cache, keys parsed by mail-auth's own record parser.
    let cache = OfflineCache::default();
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    for (name, record) in [(&rsa_name, &keys.rsa_record), (&ed_name, &keys.ed_record)] {
        let parsed = DomainKey::parse(record.as_bytes()).expect("mail-auth: parse key record");
        cache.txt.insert(
            format!("{name}.").into_boxed_str(),
            TxtRecord::DomainKey(Arc::new(parsed)),
            far,
        );
    }
    let authenticator = {
        let _guard = rt.enter();
        offline_authenticator()
    };

    Fixture {
        keys,
        rt,
        zone,
        authenticator,
        cache,
        verify_options: VerifyOptions::new(TIMESTAMP + 60),
    }
}

fn bench_dkim(c: &mut Criterion) {
    let Fixture {
        keys,
        rt,
        zone,
        authenticator,
        cache,
        verify_options,
    } = fixture();
    let Keys {
        rsa,
        ed,
        ma_rsa,
        ma_ed,
        rsa_record,
        ed_record,
    } = keys;
    let ma_rsa_signer = DkimSigner::from_key(ma_rsa)
        .domain(DOMAIN)
        .selector("rsa")
        .headers(SIGNED_HEADERS);
    let ma_ed_signer = DkimSigner::from_key(ma_ed)
        .domain(DOMAIN)
        .selector("ed")
        .headers(SIGNED_HEADERS);

    for (size_name, body_len) in SIZES {
        let raw = build_message(body_len);

        for alg in ["rsa2048", "ed25519"] {
            let (key, selector) = match alg {
                "rsa2048" => (&rsa, "rsa"),
                _ => (&ed, "ed"),
            };
            let options = mailauth_options(selector);
            let record = if alg == "rsa2048" {
                &rsa_record
            } else {
                &ed_record
            };
            let records = [(format!("{selector}._domainkey.{DOMAIN}"), record.clone())];

            // ---- correctness, outside the timed loops ----
            let by_mailauth = prepend(&(mailauth_sign(&raw, key, &options) + "\r\n"), &raw);
            let by_mail_auth = prepend(
                &match alg {
                    "rsa2048" => mail_auth_sign(&raw, &ma_rsa_signer),
                    _ => mail_auth_sign(&raw, &ma_ed_signer),
                },
                &raw,
            );
            if std::env::var_os("COMPARE_PRINT_SIGNATURES").is_some() {
                for (signer, signed) in [("mailauth", &by_mailauth), ("mail-auth", &by_mail_auth)] {
                    let end = signed.len() - raw.len();
                    eprintln!(
                        "{alg}/{size_name} signed by {signer}:\n{}",
                        String::from_utf8_lossy(&signed[..end])
                    );
                }
            }
            for (signer, signed) in [("mailauth", &by_mailauth), ("mail-auth", &by_mail_auth)] {
                let a = rt.block_on(mailauth_verify(signed, &zone, &verify_options, None));
                let b = rt.block_on(mail_auth_verify(signed, &authenticator, &cache));
                assert!(
                    a,
                    "mailauth does not pass {alg}/{size_name} signed by {signer}"
                );
                assert!(
                    b,
                    "mail-auth does not pass {alg}/{size_name} signed by {signer}"
                );
            }

            // ---- verify: the same signed bytes (signed by mailauth) for both ----
            // warm: the parsed key is already in each library's cache; cold: the key record is
            // read and the key decoded and set up for every message; floor: aws-lc alone.
            let keys = KeyCache::new(16);
            assert!(rt.block_on(mailauth_verify(
                &by_mailauth,
                &zone,
                &verify_options,
                Some(&keys)
            )));
            let floor = Floor::new(
                alg,
                &testdata(if alg == "rsa2048" {
                    "rsa2048.pem"
                } else {
                    "ed25519.pem"
                }),
            );
            assert!(floor.run(&raw), "floor: signature does not verify");
            let mut group = c.benchmark_group(format!("verify/{alg}/{size_name}"));
            group.throughput(Throughput::Bytes(by_mailauth.len() as u64));
            group.bench_function("mailauth-warm", |b| {
                b.iter(|| {
                    let ok = rt.block_on(mailauth_verify(
                        black_box(&by_mailauth),
                        &zone,
                        &verify_options,
                        Some(&keys),
                    ));
                    assert!(ok);
                })
            });
            group.bench_function("mail-auth-warm", |b| {
                b.iter(|| {
                    let ok = rt.block_on(mail_auth_verify(
                        black_box(&by_mailauth),
                        &authenticator,
                        &cache,
                    ));
                    assert!(ok);
                })
            });
            group.bench_function("mailauth-cold", |b| {
                b.iter(|| {
                    let ok = rt.block_on(mailauth_verify(
                        black_box(&by_mailauth),
                        &zone,
                        &verify_options,
                        None,
                    ));
                    assert!(ok);
                })
            });
            group.bench_function("mail-auth-cold", |b| {
                b.iter(|| {
                    let ok = rt.block_on(mail_auth_verify_cold(
                        black_box(&by_mailauth),
                        &authenticator,
                        &records,
                    ));
                    assert!(ok);
                })
            });
            group.bench_function("floor", |b| {
                b.iter(|| assert!(floor.run(black_box(&raw[raw.len() - body_len..]))))
            });
            group.finish();

            // ---- sign: parse + sign, returning the header text ----
            let mut group = c.benchmark_group(format!("sign/{alg}/{size_name}"));
            group.throughput(Throughput::Bytes(raw.len() as u64));
            group.bench_function("mailauth", |b| {
                b.iter(|| black_box(mailauth_sign(black_box(&raw), key, &options)))
            });
            group.bench_function("mail-auth", |b| match alg {
                "rsa2048" => b.iter(|| black_box(mail_auth_sign(black_box(&raw), &ma_rsa_signer))),
                _ => b.iter(|| black_box(mail_auth_sign(black_box(&raw), &ma_ed_signer))),
            });
            group.finish();
        }
    }
}

fn bench_keygen(c: &mut Criterion) {
    let openssl_ok = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);

    let mut group = c.benchmark_group("keygen/rsa2048");
    group.sample_size(10);
    group.bench_function("mailauth", |b| {
        b.iter(|| black_box(mailauth::keys::generate(KeySpec::Rsa2048).expect("keygen")))
    });
    if openssl_ok {
        group.bench_function("openssl-genrsa", |b| {
            b.iter(|| {
                let status = Command::new("openssl")
                    .args(["genrsa", "2048"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("run openssl");
                assert!(status.success());
            })
        });
    } else {
        eprintln!("openssl not found; skipping keygen/rsa2048/openssl-genrsa");
    }
    group.finish();

    let mut group = c.benchmark_group("keygen/ed25519");
    group.bench_function("mailauth", |b| {
        b.iter(|| black_box(mailauth::keys::generate(KeySpec::Ed25519).expect("keygen")))
    });
    group.finish();
}

criterion_group!(benches, bench_dkim, bench_keygen);
criterion_main!(benches);
