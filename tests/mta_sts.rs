//! MTA-STS (RFC 8461): record and policy parsing and building, the one-label wildcard rule, the
//! policy fetch over HTTPS against an in-process server with a test CA, and `mailauth check`'s
//! findings for each policy fault.

use mailauth::transport::mta_sts::{
    Mode, Policy, PolicyError, StsError, build_policy, build_record, mx_matches, parse_policy,
    parse_record, policy_id, valid_id,
};
use proptest::prelude::*;

/// RFC 8461 §4.1: a `*.` pattern matches exactly one leftmost label, and only a whole-label
/// suffix. The rows marked "peer" are ones well-known checkers get wrong (matching several labels,
/// the bare parent, or an unanchored suffix).
#[test]
fn rfc8461_4_1_wildcard_matches_exactly_one_leftmost_label() {
    let table: &[(&str, &str, bool)] = &[
        ("mx1.example.com", "mx1.example.com", true),
        ("mx1.example.com", "MX1.Example.COM.", true),
        ("mx1.example.com.", "mx1.example.com", true),
        ("mx1.example.com", "mx2.example.com", false),
        ("mx1.example.com", "a.mx1.example.com", false),
        ("*.example.com", "mx.example.com", true),
        ("*.example.com", "MX.EXAMPLE.COM", true),
        ("*.Example.com", "mx.example.com.", true),
        ("*.example.com", "a.b.example.com", false), // peer: more than one label
        ("*.example.com", "example.com", false),     // peer: the parent itself
        ("*.example.com", "badexample.com", false),  // peer: unanchored suffix
        ("*.example.com", "mx.badexample.com", false), // peer: unanchored suffix
        ("*.example.com", ".example.com", false),
        ("*.example.com", "mx.example.com.evil", false),
        ("*.mail.example.com", "mx.mail.example.com", true),
        ("*.mail.example.com", "mail.example.com", false),
        ("*", "example", false),
        ("*.", "mx.", false),
        ("mx.*.example.com", "mx.a.example.com", false),
        ("", "", false),
    ];
    for (pattern, host, expected) in table {
        assert_eq!(
            mx_matches(pattern, host),
            *expected,
            "mx_matches({pattern:?}, {host:?})"
        );
    }
}

/// RFC 8461 §3.1: `v=STSv1` first, `id` of 1–32 letters and digits, extensions kept.
#[test]
fn rfc8461_3_1_record_parses_id_and_extensions() {
    let r = parse_record("v=STSv1; id=20160831085700Z;").unwrap();
    assert_eq!(r.id, "20160831085700Z");
    assert!(r.extensions.is_empty());
    let r = parse_record("v=STSv1;id=abc123; ext-1=value.x").unwrap();
    assert_eq!(r.id, "abc123");
    assert_eq!(r.extensions, vec![("ext-1".into(), "value.x".into())]);
}

/// A fault case: the input and the error it must give.
type Case<I, E> = (I, fn(&E) -> bool);

/// RFC 8461 §3.1 failures: version not first or wrong case, id missing, too long, with symbols.
#[test]
fn rfc8461_3_1_record_faults_are_rejected() {
    let cases: &[Case<&str, StsError>] = &[
        ("id=abc; v=STSv1", |e| matches!(e, StsError::Version(_))),
        ("v=stsv1; id=abc", |e| matches!(e, StsError::Version(_))),
        ("V=STSv1; id=abc", |e| matches!(e, StsError::Version(_))),
        ("", |e| matches!(e, StsError::Version(_))),
        ("v=STSv1", |e| matches!(e, StsError::MissingId)),
        ("v=STSv1;", |e| matches!(e, StsError::MissingId)),
        ("v=STSv1; id=", |e| matches!(e, StsError::BadId(_))),
        ("v=STSv1; id=abc-1", |e| matches!(e, StsError::BadId(_))),
        ("v=STSv1; id=123456789012345678901234567890123", |e| {
            matches!(e, StsError::BadId(_))
        }),
        ("v=STSv1; id=a; id=b", |e| {
            matches!(e, StsError::Duplicate(_))
        }),
        ("v=STSv1; id=a; junk", |e| {
            matches!(e, StsError::BadField(_))
        }),
    ];
    for (txt, is_expected) in cases {
        let err = parse_record(txt).expect_err(txt);
        assert!(is_expected(&err), "{txt:?} gave {err:?}");
    }
    assert!(parse_record("v=STSv1; id=12345678901234567890123456789012").is_ok());
}

#[test]
fn rfc8461_3_1_build_record_is_the_canonical_form() {
    assert_eq!(build_record("abc123"), "v=STSv1; id=abc123");
}

const POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

/// RFC 8461 §3.2: the example policy, with CRLF or LF line ends, parses to its fields.
#[test]
fn rfc8461_3_2_policy_parses_with_crlf_or_lf() {
    for text in [POLICY.to_string(), POLICY.replace("\r\n", "\n")] {
        let p = parse_policy(&text).unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604800);
        assert_eq!(
            p.mx,
            vec!["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
    }
    // The last line may lack its terminator; extensions are kept.
    let p = parse_policy("version: STSv1\nmode: none\nmax_age: 0\nfoo_bar: baz qux").unwrap();
    assert_eq!(p.mode, Mode::None);
    assert!(p.mx.is_empty());
    assert_eq!(p.extensions, vec![("foo_bar".into(), "baz qux".into())]);
}

/// RFC 8461 §3.2 faults, each named with its line.
#[test]
fn rfc8461_3_2_policy_faults_are_rejected_with_their_line() {
    let with = |body: &str| format!("version: STSv1\nmode: enforce\nmax_age: 86400\n{body}");
    let cases: Vec<Case<String, PolicyError>> = vec![
        ("<html>garbage</html>".into(), |e| {
            matches!(e, PolicyError::NotKeyValue { line: 1, .. })
        }),
        ("mode: enforce\nmx: a.example\nmax_age: 1".into(), |e| {
            matches!(e, PolicyError::MissingVersion)
        }),
        (
            "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1".into(),
            |e| matches!(e, PolicyError::BadVersion { line: 1, .. }),
        ),
        (with(""), |e| matches!(e, PolicyError::MissingMx)),
        (with("nmx: mx.example.com"), |e| {
            matches!(
                e,
                PolicyError::KeyTypo {
                    line: 4,
                    meant: "mx",
                    ..
                }
            )
        }),
        (
            "version: STSv1\nmode: enforcing\nmx: a.example\nmax_age: 1".into(),
            |e| matches!(e, PolicyError::BadMode { line: 2, .. }),
        ),
        (
            "version: STSv1\nMode: enforce\nmx: a.example\nmax_age: 1".into(),
            |e| {
                matches!(
                    e,
                    PolicyError::KeyTypo {
                        line: 2,
                        meant: "mode",
                        ..
                    }
                )
            },
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601".into(),
            |e| {
                matches!(
                    e,
                    PolicyError::MaxAgeRange {
                        line: 4,
                        value: 31557601
                    }
                )
            },
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1".into(),
            |e| matches!(e, PolicyError::BadMaxAge { line: 4, .. }),
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 99999999999".into(),
            |e| matches!(e, PolicyError::BadMaxAge { line: 4, .. }),
        ),
        (with("mx: a.example\nmode: testing"), |e| {
            matches!(e, PolicyError::DuplicateKey { line: 5, .. })
        }),
        (with("mx: bad host"), |e| {
            matches!(e, PolicyError::BadMx { line: 4, .. })
        }),
        (with("mx: a..example"), |e| {
            matches!(e, PolicyError::BadMx { line: 4, .. })
        }),
        ("version: STSv1\nmx: a.example\nmax_age: 1".into(), |e| {
            matches!(e, PolicyError::MissingMode)
        }),
        ("version: STSv1\nmode: none\n".into(), |e| {
            matches!(e, PolicyError::MissingMaxAge)
        }),
    ];
    for (text, is_expected) in &cases {
        let err = parse_policy(text).expect_err(text);
        assert!(is_expected(&err), "{text:?} gave {err:?}");
    }
    assert!(parse_policy(&with("mx: a.example")).is_ok());
    assert!(
        parse_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600").is_ok(),
        "31557600 is the upper bound, inclusive"
    );
}

/// RFC 8461 §3.2: a built policy has `version: STSv1` first and CRLF line ends.
#[test]
fn rfc8461_3_2_build_policy_starts_with_version_and_uses_crlf() {
    let p = Policy {
        mode: Mode::Testing,
        mx: vec!["mx.example.com".into(), "*.example.net".into()],
        max_age: 86400,
        extensions: vec![],
    };
    let text = build_policy(&p);
    assert_eq!(
        text,
        "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\n"
    );
    assert_eq!(parse_policy(&text).unwrap(), p);
}

/// RFC 8461 §3.1: the id changes when the policy changes and only then.
#[test]
fn rfc8461_3_1_policy_id_changes_with_the_text_only() {
    let now = 1_780_000_000;
    let first = policy_id(POLICY, None, now);
    assert!(valid_id(&first), "{first}");
    assert_eq!(policy_id(POLICY, Some((&first, POLICY)), now + 9999), first);
    let edited = POLICY.replace("604800", "86400");
    let second = policy_id(&edited, Some((&first, POLICY)), now + 60);
    assert!(valid_id(&second));
    assert_ne!(second, first);
    // Same second, different text: still different ids (the hash part).
    assert_ne!(policy_id(&edited, None, now), policy_id(POLICY, None, now));
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
}

fn host() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 2..4).prop_map(|l| l.join("."))
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop_oneof![Just(Mode::Enforce), Just(Mode::Testing), Just(Mode::None)],
        prop::collection::vec((any::<bool>(), host()), 1..4),
        0u64..=31_557_600,
        prop::collection::vec(
            // Extension keys starting "xq" are never one edit away from a known key (mx,
            // mode, max_age, version), which the parser reports as a typo instead.
            ("xq[a-z0-9_]{1,8}", "[a-z0-9][a-z0-9 .]{0,10}[a-z0-9]"),
            0..2,
        ),
    )
        .prop_map(|(mode, mx, max_age, ext)| Policy {
            mode,
            mx: mx
                .into_iter()
                .map(|(wild, h)| if wild { format!("*.{h}") } else { h })
                .collect(),
            max_age,
            extensions: dedup(ext),
        })
}

fn dedup(ext: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in ext {
        if !out.iter().any(|(o, _)| *o == k) {
            out.push((k, v));
        }
    }
    out
}

proptest! {
    /// Parse and build are inverses for policies (RFC 8461 §3.2).
    #[test]
    fn rfc8461_3_2_parse_build_policy_round_trip(p in policy()) {
        prop_assert_eq!(parse_policy(&build_policy(&p)).unwrap(), p);
    }

    /// Parse and build are inverses for records (RFC 8461 §3.1).
    #[test]
    fn rfc8461_3_1_parse_build_record_round_trip(id in "[A-Za-z0-9]{1,32}") {
        prop_assert_eq!(parse_record(&build_record(&id)).unwrap().id, id);
    }

    /// A `*.` pattern built from a host matches that host with one label added, never two.
    #[test]
    fn rfc8461_4_1_wildcard_one_label_property(h in host(), a in label(), b in label()) {
        let pattern = format!("*.{h}");
        let one = format!("{a}.{h}");
        let two = format!("{a}.{b}.{h}");
        prop_assert!(mx_matches(&pattern, &one));
        prop_assert!(!mx_matches(&pattern, &two));
        prop_assert!(!mx_matches(&pattern, &h));
    }

    /// Parsing never panics on arbitrary input.
    #[test]
    fn parse_policy_and_record_never_panic(s in "\\PC{0,200}") {
        let _ = parse_policy(&s);
        let _ = parse_record(&s);
    }
}

// ---------------------------------------------------------------------------------------------
// The fetch and `mailauth check`, against the in-process HTTPS server with a test CA.

mod served {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use mailauth::dns::zone::ZoneResolver;
    use mailauth::transport::https::{CertProblem, HttpsError};
    use mailauth::transport::mta_sts::{FetchError, FetchOptions, fetch_policy};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use crate::support::cmd::mailauth;
    use crate::support::https_server::{HttpsServer, Reply, ServerCert, TestCa};

    const PARENT: &str = "sts.test";

    fn good_policy(case: &str) -> String {
        format!("version: STSv1\r\nmode: enforce\r\nmx: mx.{case}.{PARENT}\r\nmax_age: 604800\r\n")
    }

    fn text(body: String) -> Reply {
        Reply::policy(&body)
    }

    /// The served cases: (name, reply, codes expected from check among mta_sts.*/tls_rpt.*).
    fn cases() -> Vec<(&'static str, Reply, &'static [&'static str])> {
        let big = "version: STSv1\nmode: enforce\nmx: mx.big.sts.test\nmax_age: 604800\n"
            .to_string()
            + &"x_pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                .repeat(1100);
        let mut big_chunked = Reply::policy(&big.replace("mx.big.", "mx.big-chunked."));
        big_chunked.chunked = true;
        let mut chunked_good = text(good_policy("chunked"));
        chunked_good.chunked = true;
        vec![
            ("good", text(good_policy("good")), &[]),
            ("chunked", chunked_good, &[]),
            (
                "charset",
                Reply {
                    headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
                    ..text(good_policy("charset"))
                },
                &[],
            ),
            (
                "garbage",
                text("<html><body>hello</body></html>\n".into()),
                &["mta_sts.policy_syntax"],
            ),
            (
                "no-mx",
                text("version: STSv1\nmode: enforce\nmax_age: 604800\n".into()),
                &["mta_sts.policy_syntax"],
            ),
            (
                "not-found",
                Reply::status(404, &[("Content-Type", "text/plain")]),
                &["mta_sts.policy_status"],
            ),
            (
                "redirect",
                Reply::status(301, &[("Location", "https://www.example.test/mta-sts.txt")]),
                &["mta_sts.policy_redirect"],
            ),
            (
                "content-type",
                Reply {
                    headers: vec![("Content-Type".into(), "text/html".into())],
                    ..text(good_policy("content-type"))
                },
                &["mta_sts.policy_content_type"],
            ),
            (
                "max-age",
                text(good_policy("max-age").replace("604800", "31557601")),
                &["mta_sts.max_age_range"],
            ),
            (
                "mode-typo",
                text(good_policy("mode-typo").replace("mode: enforce", "mode: enforcing")),
                &["mta_sts.policy_syntax"],
            ),
            (
                "key-typo",
                text(good_policy("key-typo").replace("mx:", "nmx:")),
                &["mta_sts.policy_syntax"],
            ),
            ("big", text(big), &["mta_sts.policy_too_large"]),
            ("big-chunked", big_chunked, &["mta_sts.policy_too_large"]),
            (
                "uncovered",
                text(good_policy("uncovered").replace("mx.uncovered.", "other.")),
                &["mta_sts.mx_not_covered"],
            ),
            (
                "wildcard",
                text(good_policy("wildcard").replace("mx.wildcard.", "*.wildcard.")),
                &[],
            ),
            (
                "testing",
                text(good_policy("testing").replace("enforce", "testing")),
                &["mta_sts.testing"],
            ),
            (
                "none",
                text("version: STSv1\nmode: none\nmax_age: 86400\n".into()),
                &["mta_sts.none_mode"],
            ),
            (
                "short",
                text(good_policy("short").replace("604800", "3600")),
                &["mta_sts.short_max_age"],
            ),
            (
                "no-record",
                text(good_policy("no-record")),
                &["mta_sts.policy_without_record"],
            ),
            (
                "no-tlsrpt",
                text(good_policy("no-tlsrpt")),
                &["tls_rpt.none"],
            ),
            // MX at 127.0.0.1 for the --smtp test; clean without --smtp.
            ("smtp-good", text(good_policy("smtp-good")), &[]),
            ("smtp-untrusted", text(good_policy("smtp-untrusted")), &[]),
            ("smtp-plain", text(good_policy("smtp-plain")), &[]),
        ]
    }

    /// One zone for every case: `CASE.sts.test` with its MX, `_mta-sts` record (except
    /// no-record), `mta-sts.CASE` at 127.0.0.1 and a TLS-RPT record (except no-tlsrpt).
    fn zone(names: &[&str]) -> String {
        let mut zone = format!(
            "$ORIGIN {PARENT}.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n"
        );
        for name in names {
            let mx_ip = if name.starts_with("smtp-") {
                "127.0.0.1"
            } else {
                "192.0.2.25"
            };
            zone.push_str(&format!(
                "{name} IN MX 10 mx.{name}\nmx.{name} IN A {mx_ip}\nmta-sts.{name} IN A 127.0.0.1\n"
            ));
            if *name != "no-record" {
                zone.push_str(&format!(
                    "_mta-sts.{name} IN TXT \"v=STSv1; id=20261129a\"\n"
                ));
            }
            if *name != "no-tlsrpt" {
                zone.push_str(&format!(
                    "_smtp._tls.{name} IN TXT \"v=TLSRPTv1; rua=mailto:tls@{PARENT}\"\n"
                ));
            }
        }
        zone
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        zone: PathBuf,
        ca: TestCa,
        main: HttpsServer,
        wrong_name: HttpsServer,
        untrusted: HttpsServer,
        cases: Vec<(&'static str, Reply, &'static [&'static str])>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cases = cases();
        let mut names: Vec<&str> = cases.iter().map(|c| c.0).collect();
        names.extend(["wrong-name", "untrusted"]);
        let zone = dir.path().join("sts.test.zone");
        std::fs::write(&zone, self::zone(&names)).unwrap();
        let ca = TestCa::new(&dir.path().join("ca"), "mailauth-test-ca");
        let hosts: Vec<String> = cases
            .iter()
            .map(|c| format!("mta-sts.{}.{PARENT}", c.0))
            .collect();
        let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let cert = ca.issue("mta-sts", &host_refs, 30);
        let replies: HashMap<String, Reply> = cases
            .iter()
            .map(|(name, reply, _)| (format!("mta-sts.{name}.{PARENT}"), reply.clone()))
            .collect();
        let main = HttpsServer::start(&cert, replies);
        let wrong_host = format!("mta-sts.wrong-name.{PARENT}");
        let wrong = ca.issue("wrong", &[format!("www.wrong-name.{PARENT}").as_str()], 30);
        let wrong_name = HttpsServer::start(&wrong, one(&wrong_host, "wrong-name"));
        let other_ca = TestCa::new(&dir.path().join("other"), "someone-else-ca");
        let untrusted_host = format!("mta-sts.untrusted.{PARENT}");
        let stranger: ServerCert = other_ca.issue("stranger", &[untrusted_host.as_str()], 30);
        let untrusted = HttpsServer::start(&stranger, one(&untrusted_host, "untrusted"));
        Fixture {
            _dir: dir,
            zone,
            ca,
            main,
            wrong_name,
            untrusted,
            cases,
        }
    }

    fn one(host: &str, case: &str) -> HashMap<String, Reply> {
        HashMap::from([(host.to_string(), text(good_policy(case)))])
    }

    /// `mailauth check CASE.sts.test --zone Z --ca CA --https-port P --json`: the mta_sts.* and
    /// tls_rpt.* codes, sorted.
    fn check_codes(zone: &Path, ca: &Path, port: u16, case: &str, extra: &[&str]) -> Vec<String> {
        let out = mailauth()
            .arg("--zone")
            .arg(zone)
            .args(extra)
            .args(["--json", "check", &format!("{case}.{PARENT}"), "--ca"])
            .arg(ca)
            .args(["--https-port", &port.to_string()])
            .run();
        assert!(
            matches!(out.code(), Some(0 | 1)),
            "{case}: unexpected exit\n{}",
            out.dump()
        );
        let json = out.json();
        let mut codes: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .filter(|c| c.starts_with("mta_sts.") || c.starts_with("tls_rpt."))
            .collect();
        codes.sort();
        codes
    }

    /// RFC 8461 §3.2/§3.3 and RFC 8460 §3: every served fault gives its code through `mailauth
    /// check`, and the clean cases (plain, chunked, with a charset, a wildcard mx) give none.
    #[test]
    fn rfc8461_3_3_each_policy_fault_gives_its_code_through_check() {
        let f = fixture();
        let mut failures = Vec::new();
        for (name, _, expected) in &f.cases {
            let codes = check_codes(&f.zone, &f.ca.cert, f.main.port, name, &[]);
            if codes != *expected {
                failures.push(format!("{name}: expected {expected:?}, got {codes:?}"));
            }
        }
        for (name, server) in [("wrong-name", &f.wrong_name), ("untrusted", &f.untrusted)] {
            let codes = check_codes(&f.zone, &f.ca.cert, server.port, name, &[]);
            if codes != ["mta_sts.policy_cert"] {
                failures.push(format!(
                    "{name}: expected [mta_sts.policy_cert], got {codes:?}"
                ));
            }
        }
        // A certificate used after its end (30 days): `--now` two months ahead.
        let later = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 60 * 86400)
            .to_string();
        let codes = check_codes(&f.zone, &f.ca.cert, f.main.port, "good", &["--now", &later]);
        if codes != ["mta_sts.policy_cert"] {
            failures.push(format!(
                "expired: expected [mta_sts.policy_cert], got {codes:?}"
            ));
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// RFC 8461 §4.2 with `check --smtp`: each MX the policy covers must offer STARTTLS with a
    /// certificate valid for its MX name and trusted (here: issued by the `--ca` test CA).
    #[test]
    fn rfc8461_4_2_smtp_mx_needs_starttls_and_a_valid_certificate() {
        use crate::support::fake_smtp::{FakeSmtp, Script, self_signed};
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        let issued =
            f.ca.issue("mx-good", &[format!("mx.smtp-good.{PARENT}").as_str()], 30);
        let good_tls = (
            std::fs::read(&issued.key).unwrap(),
            std::fs::read(&issued.cert).unwrap(),
        );
        let untrusted_tls = self_signed(dir.path(), &format!("mx.smtp-untrusted.{PARENT}"));
        let mut failures = Vec::new();
        for (case, tls, expected) in [
            ("smtp-good", Some(good_tls), &[][..]),
            (
                "smtp-untrusted",
                Some(untrusted_tls),
                &["mta_sts.mx_cert"][..],
            ),
            ("smtp-plain", None, &["mta_sts.mx_no_starttls"][..]),
        ] {
            let fake = FakeSmtp::start(Script {
                tls,
                ..Script::default()
            });
            let port = fake.addr().port().to_string();
            let out = mailauth()
                .arg("--zone")
                .arg(&f.zone)
                .args(["--json", "check", &format!("{case}.{PARENT}"), "--ca"])
                .arg(&f.ca.cert)
                .args(["--https-port", &f.main.port.to_string()])
                .args(["--smtp", "--smtp-port", &port])
                .run();
            let json = out.json();
            let codes: Vec<&str> = json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["code"].as_str())
                .filter(|c| c.starts_with("mta_sts."))
                .collect();
            if codes != expected {
                failures.push(format!(
                    "{case}: expected {expected:?}, got {codes:?}\n{}",
                    out.dump()
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// RFC 8461 §3.3: without `--ca` the test CA is not trusted: WebPKI roots only.
    #[test]
    fn rfc8461_3_3_without_ca_the_test_certificate_is_untrusted() {
        let f = fixture();
        let out = mailauth()
            .arg("--zone")
            .arg(&f.zone)
            .args(["--json", "check", &format!("good.{PARENT}")])
            .args(["--https-port", &f.main.port.to_string()])
            .run();
        let json = out.json();
        let finding = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "mta_sts.policy_cert")
            .unwrap_or_else(|| panic!("no mta_sts.policy_cert\n{}", out.dump()));
        assert!(
            finding["message"].as_str().unwrap().contains("trusted"),
            "{finding}"
        );
    }

    fn roots(ca: &Path) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(ca)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn now() -> i64 {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    /// The library fetch names each failure: the certificate problem kind, the redirect's
    /// location, the status, and a timeout on a server that answers too slowly.
    #[test]
    fn rfc8461_3_3_fetch_errors_name_the_cause() {
        let f = fixture();
        let zone_text = std::fs::read_to_string(&f.zone).unwrap();
        let resolver = ZoneResolver::parse_str(&zone_text, "sts.test.zone", None).unwrap();
        let opts = |port| FetchOptions {
            extra_roots: roots(&f.ca.cert),
            port,
            timeout: Duration::from_secs(5),
        };
        let rt = crate::dkim::runtime();
        let fetch = |case: &str, port| {
            rt.block_on(fetch_policy(
                &format!("{case}.{PARENT}"),
                &resolver,
                &opts(port),
                now(),
            ))
        };
        let good = fetch("good", f.main.port).unwrap();
        assert_eq!(good.text, good_policy("good"));
        assert_eq!(good.content_type, "text/plain");
        assert!(good.policy.is_ok());
        assert!(matches!(
            fetch("redirect", f.main.port),
            Err(FetchError::Redirect { status: 301, location: Some(l) }) if l.ends_with("/mta-sts.txt")
        ));
        assert!(matches!(
            fetch("not-found", f.main.port),
            Err(FetchError::Status { status: 404 })
        ));
        assert!(matches!(
            fetch("wrong-name", f.wrong_name.port),
            Err(FetchError::Https(HttpsError::Certificate {
                problem: CertProblem::NameMismatch,
                ..
            }))
        ));
        assert!(matches!(
            fetch("untrusted", f.untrusted.port),
            Err(FetchError::Https(HttpsError::Certificate {
                problem: CertProblem::Untrusted,
                ..
            }))
        ));
        let expired = rt.block_on(fetch_policy(
            &format!("good.{PARENT}"),
            &resolver,
            &opts(f.main.port),
            now() + 60 * 86400,
        ));
        assert!(
            matches!(
                expired,
                Err(FetchError::Https(HttpsError::Certificate {
                    problem: CertProblem::Expired,
                    ..
                }))
            ),
            "{expired:?}"
        );
        assert!(matches!(
            fetch("big", f.main.port),
            Err(FetchError::Https(HttpsError::TooLarge { limit: 65536, .. }))
        ));
        assert!(matches!(
            fetch("nowhere", f.main.port),
            Err(FetchError::Resolve { .. })
        ));
    }

    /// A server that does not answer within the timeout gives `HttpsError::Timeout`.
    #[test]
    fn fetch_times_out_on_a_slow_server() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path(), "slow-ca");
        let host = format!("mta-sts.slow.{PARENT}");
        let cert = ca.issue("slow", &[host.as_str()], 30);
        let mut reply = text(good_policy("slow"));
        reply.delay = Some(Duration::from_secs(5));
        let server = HttpsServer::start(&cert, HashMap::from([(host, reply)]));
        let resolver = ZoneResolver::parse_str(&zone(&["slow"]), "z", None).unwrap();
        let opts = FetchOptions {
            extra_roots: roots(&ca.cert),
            port: server.port,
            timeout: Duration::from_millis(700),
        };
        let started = std::time::Instant::now();
        let result = crate::dkim::runtime().block_on(fetch_policy(
            &format!("slow.{PARENT}"),
            &resolver,
            &opts,
            now(),
        ));
        assert!(
            matches!(result, Err(FetchError::Https(HttpsError::Timeout { .. }))),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
