//! `mailauth verify` on messages that do not name exactly one author: every message gets
//! DKIM, SPF and DMARC results and an Authentication-Results field (RFC 9989 §5.3.1 Extract
//! Author Domain, §11.5 Denial of DMARC Processing Attacks), and U-label author domains are
//! looked up as A-labels (RFC 5890 §2.3). DNS comes from zone files, and once from the
//! in-process DNS server.

use std::path::{Path, PathBuf};

use crate::support::cmd::{CmdOutput, mailauth};
use crate::support::dns_server::TestDnsServer;
use crate::support::testdata;

fn eml(name: &str) -> String {
    testdata().join("eml").join(name).display().to_string()
}

fn zones() -> Vec<String> {
    [
        "dns/dkim-checks.zone",
        "dns/dmarc.test.zone",
        "dns/verify-from.zone",
        "dns/xn--bcher-kva.example.zone",
    ]
    .iter()
    .map(|z| testdata().join(z).display().to_string())
    .collect()
}

/// The fixture signed by mailauth.test's test key (d=mailauth.test, s=rsa).
fn signed(dir: &Path, fixture: &str) -> String {
    let out = mailauth()
        .args([
            "sign",
            &eml(fixture),
            "-d",
            "mailauth.test",
            "-s",
            "rsa",
            "--key",
        ])
        .arg(testdata().join("keys/rsa2048.pem"))
        .run();
    out.assert_exit(0);
    let path: PathBuf = dir.join(fixture);
    std::fs::write(&path, out.stdout()).unwrap();
    path.display().to_string()
}

/// `verify --json` through the zone files, with extra arguments after the file.
fn verify_json(file: &str, extra: &[&str]) -> CmdOutput {
    let mut args: Vec<String> = Vec::new();
    for zone in zones() {
        args.extend(["--zone".to_owned(), zone]);
    }
    args.extend(["--json", "verify", file, "--authserv-id", "mx.test"].map(str::to_owned));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    mailauth().args(&args).run()
}

fn header(json: &serde_json::Value) -> String {
    json["authentication_results"].as_str().unwrap().to_owned()
}

/// RFC 9989 §5.3.1 and §11.5: two From fields (RFC 5322 §3.6 allows one). DKIM and SPF are
/// still evaluated and printed; each author domain is judged and the strictest failing policy
/// applies; the verdict is a failure (exit 1), never bad input.
#[test]
fn rfc9989_11_5_two_from_fields_strictest_outcome_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let message = signed(dir.path(), "from-two-fields.eml");
    let out = verify_json(
        &message,
        &["--ip", "192.0.2.9", "--mail-from", "bounce@mailauth.test"],
    );
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dkim"][0]["result"], "pass");
    assert_eq!(json["spf"]["result"], "pass");
    let dmarc = &json["dmarc"];
    assert_eq!(dmarc["result"], "fail");
    assert_eq!(dmarc["disposition"], "reject");
    assert_eq!(dmarc["domain"], "reject.verify.test");
    assert_eq!(dmarc["single_author"], false);
    assert_eq!(dmarc["evaluations"][0]["domain"], "mailauth.test");
    assert_eq!(dmarc["evaluations"][0]["result"], "pass");
    assert_eq!(dmarc["evaluations"][1]["result"], "fail");
    assert!(dmarc["reason"].as_str().unwrap().contains("2 From fields"));
    let header = header(&json);
    for needle in [
        "spf=pass smtp.mailfrom=mailauth.test",
        "dkim=pass header.d=mailauth.test",
        "dmarc=fail (p=reject dis=reject)",
        "header.from=reject.verify.test",
    ] {
        assert!(header.contains(needle), "{needle} in {header}");
    }
    // Without --json the header is printed too.
    let text = mailauth()
        .args([
            "--zone",
            &zones()[0],
            "--zone",
            &zones()[1],
            "--zone",
            &zones()[2],
        ])
        .args(["verify", &message, "--authserv-id", "mx.test"])
        .run();
    text.assert_exit(1);
    assert!(
        text.stdout_str()
            .starts_with("Authentication-Results: mx.test;"),
        "{}",
        text.dump()
    );
}

/// RFC 9989 §11.5: several addresses in one From with two author domains, the stricter policy
/// second: reject (the strictest among the failing checks) applies, not the first one found.
#[test]
fn rfc9989_11_5_two_author_domains_in_one_from_strictest_policy() {
    let out = verify_json(&eml("from-two-domains.eml"), &[]);
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dkim"], serde_json::json!([]));
    let dmarc = &json["dmarc"];
    assert_eq!(dmarc["result"], "fail");
    assert_eq!(dmarc["policy"], "reject");
    assert_eq!(dmarc["disposition"], "reject");
    assert_eq!(dmarc["domain"], "reject.verify.test");
    assert_eq!(dmarc["authors"].as_array().unwrap().len(), 3);
    assert_eq!(dmarc["evaluations"].as_array().unwrap().len(), 2);
    assert!(header(&json).contains("dmarc=fail (p=reject dis=reject)"));
}

/// RFC 9989 §5.3.1 extracts author *domains*: several addresses at one domain are one author
/// domain, evaluated as DMARC says (a DKIM pass aligned with it: exit 0).
#[test]
fn rfc9989_5_3_1_several_addresses_one_domain_is_one_author_domain() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify_json(&signed(dir.path(), "from-one-domain.eml"), &[]);
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "pass");
    assert_eq!(json["dmarc"]["single_author"], true);
    assert_eq!(json["dmarc"]["domain"], "mailauth.test");
    assert_eq!(json["dmarc"]["reason"], serde_json::Value::Null);
}

/// RFC 5322 §3.4 groups: the members are authors; two member domains are judged each.
#[test]
fn rfc5322_3_4_group_members_are_authors() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify_json(&signed(dir.path(), "from-group.eml"), &[]);
    out.assert_exit(1);
    let json = out.json();
    let authors: Vec<&str> = json["dmarc"]["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["domain"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["mailauth.test", "reject.verify.test"]);
    assert_eq!(json["dkim"][0]["result"], "pass");
    assert_eq!(json["dmarc"]["result"], "fail");
    assert_eq!(json["dmarc"]["domain"], "reject.verify.test");
}

/// RFC 5322 §3.2.2 and §3.4.1: a comment (holding another address) and a quoted local part
/// do not add authors; the one author domain passes on its DKIM signature.
#[test]
fn rfc5322_3_2_2_comment_and_quoted_local_part() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify_json(&signed(dir.path(), "from-comment-quoted.eml"), &[]);
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "pass");
    assert_eq!(
        json["dmarc"]["authors"][0]["address"],
        "\"joe smith\"@mailauth.test"
    );
    assert_eq!(json["dmarc"]["authors"].as_array().unwrap().len(), 1);
}

/// RFC 2047 §5: an encoded word in the display name (holding a comma) is one name.
#[test]
fn rfc2047_5_encoded_word_display_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify_json(&signed(dir.path(), "from-encoded-word.eml"), &[]);
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "pass");
    assert_eq!(json["dmarc"]["authors"].as_array().unwrap().len(), 1);
}

/// RFC 9989 §5.3.1 and RFC 5890 §2.3: the U-label author domain `bücher.example` is looked up
/// as `_dmarc.xn--bcher-kva.example`; MAIL FROM and HELO with U-labels are checked as A-labels,
/// and an aligned SPF pass for them passes DMARC.
#[test]
fn rfc9989_5_3_1_u_label_author_domain_uses_a_labels() {
    let idn = eml("from-idn.eml");
    let out = verify_json(&idn, &[]);
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "fail");
    assert_eq!(json["dmarc"]["domain"], "xn--bcher-kva.example");
    assert_eq!(json["dmarc"]["policy_domain"], "xn--bcher-kva.example");
    assert_eq!(json["dmarc"]["policy"], "reject");
    assert!(header(&json).contains("header.from=xn--bcher-kva.example"));

    let out = verify_json(
        &idn,
        &[
            "--ip",
            "192.0.2.9",
            "--mail-from",
            "bounce@b\u{fc}cher.example",
        ],
    );
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["spf"]["result"], "pass");
    assert_eq!(json["spf"]["domain"], "xn--bcher-kva.example");
    assert_eq!(json["dmarc"]["result"], "pass");

    let out = verify_json(
        &idn,
        &[
            "--ip",
            "192.0.2.9",
            "--mail-from",
            "",
            "--helo",
            "mx.b\u{fc}cher.example",
        ],
    );
    let json = out.json();
    assert_eq!(json["spf"]["result"], "pass");
    assert!(
        header(&json).contains("smtp.helo=mx.xn--bcher-kva.example"),
        "{}",
        out.dump()
    );
}

/// The same U-label lookup over the wire: the in-process DNS server knows only the A-label zone
/// (and its empty parent, for the tree walk).
#[test]
fn rfc5890_2_3_u_label_author_domain_through_dns_server() {
    let server = TestDnsServer::start(&[
        testdata().join("dns/example.zone"),
        testdata().join("dns/xn--bcher-kva.example.zone"),
    ]);
    let out = mailauth()
        .args([
            "--resolver",
            &server.udp_addr().to_string(),
            "--json",
            "verify",
        ])
        .args([eml("from-idn.eml").as_str(), "--authserv-id", "mx.test"])
        .run();
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "fail", "{}", out.dump());
    assert_eq!(json["dmarc"]["policy_domain"], "xn--bcher-kva.example");
}

/// RFC 5891 §5.4: a From domain that is not a valid IDN cannot be evaluated: permerror with the
/// reason, the header still printed, exit 1.
#[test]
fn rfc5891_invalid_idn_author_domain_is_permerror() {
    let out = verify_json(&eml("from-invalid-idn.eml"), &[]);
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "permerror");
    let reason = json["dmarc"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("not a valid internationalized name"),
        "{reason}"
    );
    assert!(header(&json).contains("dmarc=permerror reason="));
    assert_eq!(json["dkim"], serde_json::json!([]));
}

/// RFC 9989 §5.3.1: no From field, or a From without a domain: no author domain, so DMARC is
/// permerror; DKIM results and the header are still printed, exit 1.
#[test]
fn rfc9989_5_3_1_no_author_domain_is_permerror_exit_1() {
    for (fixture, needle) in [
        ("from-missing.eml", "no From field"),
        ("from-no-domain.eml", "has no domain"),
    ] {
        let out = verify_json(&eml(fixture), &[]);
        out.assert_exit(1);
        let json = out.json();
        assert_eq!(json["dmarc"]["result"], "permerror", "{fixture}");
        let reason = json["dmarc"]["reason"].as_str().unwrap();
        assert!(reason.contains(needle), "{fixture}: {reason}");
        let header = header(&json);
        assert!(header.contains("dkim=none"), "{header}");
        assert!(header.contains("dmarc=permerror"), "{header}");
    }
}

/// Input that is not a message at all stays bad input: exit 2, nothing on stdout.
#[test]
fn not_a_message_is_bad_input_exit_2() {
    let out = verify_json(&eml("not-a-message.eml"), &[]);
    out.assert_exit(2);
    assert!(out.stdout().is_empty(), "{}", out.dump());
    assert!(out.stderr_str().contains("not a readable email message"));
}

/// RFC 9989 §11.5: judging many author domains is a denial-of-service risk, so at most
/// `MAX_AUTHOR_DOMAINS` (8) are judged; with more, the evaluation is incomplete: permerror,
/// the unjudged addresses named.
#[test]
fn rfc9989_11_5_author_domains_past_the_cap_are_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    let from: Vec<String> = (1..=9).map(|n| format!("a@d{n}.verify.test")).collect();
    let path = dir.path().join("many.eml");
    std::fs::write(
        &path,
        format!("From: {}\r\nSubject: x\r\n\r\nbody\r\n", from.join(", ")),
    )
    .unwrap();
    let out = verify_json(path.to_str().unwrap(), &[]);
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dmarc"]["result"], "permerror");
    assert_eq!(json["dmarc"]["evaluations"].as_array().unwrap().len(), 8);
    let last = &json["dmarc"]["authors"][8];
    assert_eq!(last["domain"], "d9.verify.test");
    assert!(
        last["error"].as_str().unwrap().contains("not evaluated"),
        "{last}"
    );
    assert!(
        json["dmarc"]["reason"]
            .as_str()
            .unwrap()
            .contains("9 author domains")
    );
}

/// RFC 5891: an invalid IDN given on the command line (--mail-from, --helo) is bad input named
/// by its flag, exit 2: the operator, not the message, got it wrong.
#[test]
fn rfc5891_invalid_idn_envelope_flag_is_bad_input() {
    for flag in ["--mail-from", "--helo"] {
        let value = if flag == "--helo" {
            "\u{301}b.example"
        } else {
            "x@\u{301}b.example"
        };
        let out = verify_json(&eml("from-idn.eml"), &["--ip", "192.0.2.9", flag, value]);
        out.assert_exit(2);
        let err = out.stderr_str();
        assert!(
            err.contains(flag) && err.contains("not a valid internationalized name"),
            "{err}"
        );
    }
}

/// RFC 5890 §2.3 for `d=`: a DKIM pass whose signing domain is written as a U-label aligns with
/// the same author domain read from From (both compared as A-labels).
#[test]
fn rfc5890_2_3_u_label_dkim_domain_aligns_with_u_label_author() {
    use mailauth::dkim::{DkimOutcome, DkimResult};
    use mailauth::dmarc::eval::DmarcOptions;
    use mailauth::dmarc::{DmarcResult, Standard};
    use mailauth::dns::zone::ZoneResolver;
    use mailauth::message::Message;
    use mailauth::verdict::{MessageInput, evaluate_message};

    let resolver =
        ZoneResolver::from_files(&[testdata().join("dns/xn--bcher-kva.example.zone")]).unwrap();
    let message = Message::parse(&std::fs::read(eml("from-idn.eml")).unwrap()).unwrap();
    let authors = message.authors();
    let dkim = [DkimOutcome {
        result: DkimResult::Pass,
        domain: "b\u{fc}cher.example".into(),
        selector: "s".into(),
        algorithm: "ed25519-sha256".into(),
        reason: None,
        identity: "@b\u{fc}cher.example".into(),
        signature_prefix: "AAAA".into(),
    }];
    let input = MessageInput {
        authors: authors.as_ref(),
        spf: None,
        dkim: &dkim,
    };
    for standard in [Standard::Rfc9989, Standard::Rfc7489] {
        let options = DmarcOptions {
            sample: 0,
            standard,
        };
        let verdict = crate::dkim::runtime().block_on(evaluate_message(&resolver, &input, options));
        assert_eq!(
            verdict.result,
            DmarcResult::Pass,
            "{standard:?}: {verdict:?}"
        );
        assert!(verdict.single_author);
    }
}

/// The ed25519 test key's record (testdata/keys/ed25519.pem, as in dns/dkim-checks.zone).
const ED25519_KEY_RECORD: &str =
    "\"v=DKIM1; k=ed25519; p=5QRXey0Qr5gCXZnuu2yW4apAcnRslNNK6KUe4Pth8rA=\"";

/// from-idn.eml signed through the library API with `d=` exactly as given (no A-label
/// conversion: the CLI's `sign --domain` converts), selector `ed`.
fn signed_with_raw_d(dir: &Path, domain: &str) -> String {
    use mailauth::dkim::sign::{SignOptions, sign, signed_message};
    use mailauth::keys::PrivateKey;
    use mailauth::message::Message;

    let pem = std::fs::read(testdata().join("keys/ed25519.pem")).unwrap();
    let key = PrivateKey::from_pem(&pem, "ed25519.pem").unwrap();
    let message = Message::parse(&std::fs::read(eml("from-idn.eml")).unwrap()).unwrap();
    let options = SignOptions::new(domain, "ed", 1_700_000_000);
    let field = sign(&message, &key, &options).unwrap();
    let path = dir.join("signed-idn.eml");
    std::fs::write(&path, signed_message(&message, &field)).unwrap();
    path.display().to_string()
}

/// The A-label zone plus the `ed` key at `ed._domainkey.xn--bcher-kva.example`.
fn idn_zone_with_key(dir: &Path) -> String {
    let base = std::fs::read_to_string(testdata().join("dns/xn--bcher-kva.example.zone")).unwrap();
    let path = dir.join("idn-with-key.zone");
    std::fs::write(
        &path,
        format!("{base}ed._domainkey IN TXT {ED25519_KEY_RECORD}\n"),
    )
    .unwrap();
    path.display().to_string()
}

/// RFC 8616 §4 (with RFC 6376 §3.5): a signer may write `d=` as U-labels
/// (`d=bücher.example`); the key is looked up at the A-label name
/// `ed._domainkey.xn--bcher-kva.example`, so the signature passes, and it aligns with the
/// U-label author domain, so DMARC passes (RFC 9989 §4.4 Identifier Alignment Explained).
#[test]
fn rfc8616_4_u_label_d_key_looked_up_at_a_label_name() {
    let dir = tempfile::tempdir().unwrap();
    let message = signed_with_raw_d(dir.path(), "b\u{fc}cher.example");
    let raw = std::fs::read_to_string(&message).unwrap();
    assert!(raw.contains("d=b\u{fc}cher.example;"), "{raw}");
    let zone = idn_zone_with_key(dir.path());
    let out = mailauth()
        .args(["--zone", &zone, "--now", "1700000100", "--json", "verify"])
        .args([message.as_str(), "--authserv-id", "mx.test"])
        .run();
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["dkim"][0]["result"], "pass", "{}", out.dump());
    assert_eq!(json["dkim"][0]["domain"], "xn--bcher-kva.example");
    assert_eq!(json["dmarc"]["result"], "pass", "{}", out.dump());
    assert_eq!(json["dmarc"]["alignment"]["dkim"], true);
}

/// RFC 6376 §3.5 and RFC 5891: a `d=` that is not a valid domain name (here a U-label that
/// starts with a combining mark) cannot name a key: permerror with the reason, no lookup.
#[test]
fn rfc6376_3_5_invalid_d_name_is_permerror() {
    let dir = tempfile::tempdir().unwrap();
    let message = signed_with_raw_d(dir.path(), "\u{301}b.example");
    let zone = idn_zone_with_key(dir.path());
    let out = mailauth()
        .args(["--zone", &zone, "--now", "1700000100", "--json", "verify"])
        .args([message.as_str(), "--authserv-id", "mx.test"])
        .run();
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["dkim"][0]["result"], "permerror", "{}", out.dump());
    let reason = json["dkim"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("d= is not a valid domain name"), "{reason}");
    assert!(
        reason.contains("not a valid internationalized name"),
        "{reason}"
    );
}

/// RFC 9989 §4.10 DNS Tree Walk: `-v verify` names on stderr the `_dmarc` names the walk
/// queried for each author domain, in order, as `dmarc.queried` in the JSON does; stdout is
/// still the header alone.
#[test]
fn rfc9989_4_10_verbose_verify_prints_tree_walk_names() {
    let out = mailauth()
        .args(["-v", "--zone", &zones()[1], "--zone", &zones()[2]])
        .args([
            "verify",
            &eml("from-two-domains.eml"),
            "--authserv-id",
            "mx.test",
        ])
        .run();
    out.assert_exit(1);
    let err = out.stderr_str();
    let json_out = verify_json(&eml("from-two-domains.eml"), &[]);
    let json = json_out.json();
    let evaluations = json["dmarc"]["evaluations"].as_array().unwrap();
    assert_eq!(evaluations.len(), 2);
    for evaluation in evaluations {
        let queried: Vec<&str> = evaluation["queried"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q.as_str().unwrap())
            .collect();
        assert!(!queried.is_empty(), "{evaluation}");
        let line = format!(
            "DMARC tree walk for {}: queried {}",
            evaluation["domain"].as_str().unwrap(),
            queried.join(", ")
        );
        assert!(err.contains(&line), "{line} in {}", out.dump());
    }
    assert!(
        out.stdout_str()
            .starts_with("Authentication-Results: mx.test;"),
        "{}",
        out.dump()
    );
}
