//! DMARC (RFC 7489): the alignment matrix, policy discovery and the policy in force, `pct`
//! sampling, and `verify` reporting SPF, DKIM and DMARC together.

use std::path::PathBuf;

use mailauth::dkim::{DkimOutcome, DkimResult};
use mailauth::dmarc::eval::{DmarcInput, DmarcOptions, DmarcOutput, alignment, evaluate};
use mailauth::dmarc::{AlignmentMode, DmarcRecord, DmarcResult, Policy};
use mailauth::dns::zone::ZoneResolver;
use mailauth::spf::SpfResult;

use crate::dkim::runtime;
use crate::support::cmd::mailauth;
use crate::support::testdata;

fn zone_path() -> PathBuf {
    testdata().join("dns/dmarc.test.zone")
}

fn dkim_pass(domain: &str) -> DkimOutcome {
    DkimOutcome {
        result: DkimResult::Pass,
        domain: domain.into(),
        selector: "s".into(),
        algorithm: "rsa-sha256".into(),
        reason: None,
        identity: format!("@{domain}"),
        signature_prefix: "AAAA".into(),
    }
}

/// RFC 7489 §3.1: strict needs identical domains, relaxed the same organizational domain.
#[test]
fn rfc7489_3_1_alignment_matrix() {
    let from = "mail.example.com";
    let cases = [
        // (authenticated domain, aligned when relaxed, aligned when strict)
        ("mail.example.com", true, true),      // exact
        ("sub.mail.example.com", true, false), // subdomain of From
        ("example.com", true, false),          // organizational domain
        ("other.example.com", true, false),    // sibling under the same organization
        ("example.net", false, false),         // unrelated
        ("example.co.uk", false, false),       // unrelated, public suffix boundary
    ];
    for (domain, relaxed, strict) in cases {
        for (mode, expected) in [
            (AlignmentMode::Relaxed, relaxed),
            (AlignmentMode::Strict, strict),
        ] {
            let mut record = DmarcRecord::new(Policy::Reject);
            record.adkim = Some(mode);
            record.aspf = Some(mode);
            let dkim = [dkim_pass(domain)];
            let by_dkim = DmarcInput {
                from_domain: from,
                spf: None,
                dkim: &dkim,
            };
            assert_eq!(
                alignment(&record, &by_dkim).dkim,
                expected,
                "dkim {domain} {mode:?}"
            );
            let by_spf = DmarcInput {
                from_domain: from,
                spf: Some((SpfResult::Pass, domain)),
                dkim: &[],
            };
            assert_eq!(
                alignment(&record, &by_spf).spf,
                expected,
                "spf {domain} {mode:?}"
            );
            // Only a pass aligns.
            let failed = DmarcInput {
                from_domain: from,
                spf: Some((SpfResult::SoftFail, domain)),
                dkim: &[],
            };
            assert!(!alignment(&record, &failed).spf);
        }
    }
    // Public suffix list: two registrations under co.uk are different organizations.
    let record = DmarcRecord::new(Policy::Reject);
    let dkim = [dkim_pass("a.example.co.uk")];
    let input = DmarcInput {
        from_domain: "b.example.co.uk",
        spf: None,
        dkim: &dkim,
    };
    assert!(alignment(&record, &input).dkim);
    let input = DmarcInput {
        from_domain: "other.co.uk",
        spf: None,
        dkim: &dkim,
    };
    assert!(!alignment(&record, &input).dkim);
}

fn verdict(
    from: &str,
    spf: Option<(SpfResult, &str)>,
    dkim: &[DkimOutcome],
    sample: u8,
) -> DmarcOutput {
    let zone = ZoneResolver::from_files(&[zone_path()]).unwrap();
    let input = DmarcInput {
        from_domain: from,
        spf,
        dkim,
    };
    runtime().block_on(evaluate(&zone, &input, DmarcOptions { sample }))
}

#[test]
fn rfc7489_6_6_3_policy_discovery_and_subdomain_policy() {
    // Record at the From domain itself: p applies.
    let out = verdict("example.test", None, &[], 0);
    assert_eq!(
        (out.result, out.policy, out.disposition),
        (DmarcResult::Fail, Some(Policy::Reject), Policy::Reject)
    );
    // A subdomain without its own record: the organizational record's sp applies.
    let out = verdict("news.example.test", None, &[], 0);
    assert_eq!(out.policy, Some(Policy::Quarantine));
    assert_eq!(out.policy_domain.as_deref(), Some("example.test"));
    // A subdomain with its own record: that record's p.
    let out = verdict("own.example.test", None, &[], 0);
    assert_eq!(
        (out.policy, out.disposition),
        (Some(Policy::None), Policy::None)
    );
    // Aligned DKIM from the organizational domain passes a subdomain's mail (relaxed).
    let dkim = [dkim_pass("example.test")];
    let out = verdict("news.example.test", None, &dkim, 0);
    assert_eq!(
        (out.result, out.disposition),
        (DmarcResult::Pass, Policy::None)
    );
    assert!(out.alignment.dkim && !out.alignment.spf);
}

#[test]
fn rfc7489_strict_alignment_fails_where_only_organizations_match() {
    let dkim = [dkim_pass("strict.test")];
    let out = verdict(
        "mail.strict.test",
        Some((SpfResult::Pass, "strict.test")),
        &dkim,
        0,
    );
    assert_eq!(out.result, DmarcResult::Fail, "{out:?}");
    assert!(!out.alignment.spf && !out.alignment.dkim);
    let out = verdict(
        "mail.strict.test",
        Some((SpfResult::Pass, "mail.strict.test")),
        &[],
        0,
    );
    assert_eq!(out.result, DmarcResult::Pass);
}

#[test]
fn rfc7489_6_6_3_missing_broken_and_duplicate_records() {
    let out = verdict("none.test", None, &[], 0);
    assert_eq!((out.result, out.policy), (DmarcResult::None, None));
    let out = verdict("broken.test", None, &[], 0);
    assert_eq!(out.result, DmarcResult::PermError);
    assert!(out.reason.unwrap().contains("p=bogus"));
    let out = verdict("two.test", None, &[], 0);
    assert_eq!(out.result, DmarcResult::None);
    assert!(out.reason.unwrap().contains("2 DMARC records"));
    // rua but no valid p: act as p=none.
    let out = verdict("ruaonly.test", None, &[], 0);
    assert_eq!(
        (out.result, out.policy),
        (DmarcResult::Fail, Some(Policy::None))
    );
}

#[test]
fn rfc7489_6_6_4_pct_sampling_softens_the_disposition() {
    // pct=30: draws below 30 apply reject, others the next less strict policy.
    assert_eq!(
        verdict("pct.test", None, &[], 29).disposition,
        Policy::Reject
    );
    assert_eq!(
        verdict("pct.test", None, &[], 30).disposition,
        Policy::Quarantine
    );
    assert_eq!(
        verdict("pct.test", None, &[], 99).disposition,
        Policy::Quarantine
    );
}

/// A message from mailauth.test signed with the test RSA key (selector `rsa`).
fn signed(dir: &std::path::Path, from: &str) -> String {
    let plain = dir.join("plain.eml");
    std::fs::write(
        &plain,
        format!("{from}\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"),
    )
    .unwrap();
    let out = mailauth()
        .args([
            "sign",
            plain.to_str().unwrap(),
            "-d",
            "mailauth.test",
            "-s",
            "rsa",
            "--key",
            testdata().join("keys/rsa2048.pem").to_str().unwrap(),
        ])
        .run();
    out.assert_exit(0);
    let path = dir.join("signed.eml");
    std::fs::write(&path, out.stdout()).unwrap();
    path.display().to_string()
}

#[test]
fn verify_reports_spf_dkim_and_dmarc() {
    let dir = tempfile::tempdir().unwrap();
    let message = signed(dir.path(), "From: Alice <alice@mailauth.test>");
    let zones = [
        testdata()
            .join("dns/dkim-checks.zone")
            .display()
            .to_string(),
        zone_path().display().to_string(),
    ];
    let base = [
        "--zone",
        zones[0].as_str(),
        "--zone",
        zones[1].as_str(),
        "--json",
        "verify",
        message.as_str(),
        "--authserv-id",
        "mx.test",
    ];
    // SPF pass and DKIM pass, both aligned.
    let mut args = base.to_vec();
    args.extend([
        "--ip",
        "192.0.2.9",
        "--mail-from",
        "bounce@mailauth.test",
        "--helo",
        "mx.mailauth.test",
    ]);
    let out = mailauth().args(&args).run();
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["spf"]["result"], "pass");
    assert_eq!(json["spf"]["domain"], "mailauth.test");
    assert_eq!(json["dkim"][0]["result"], "pass");
    assert_eq!(json["dmarc"]["result"], "pass");
    assert_eq!(json["dmarc"]["policy"], "reject");
    assert_eq!(json["dmarc"]["disposition"], "none");
    assert_eq!(
        json["dmarc"]["alignment"],
        serde_json::json!({"spf": true, "dkim": true})
    );
    let header = json["authentication_results"].as_str().unwrap();
    assert!(
        header.contains("spf=pass smtp.mailfrom=mailauth.test"),
        "{header}"
    );
    assert!(
        header.contains("dmarc=pass (p=reject dis=none) header.from=mailauth.test"),
        "{header}"
    );
    // Without --ip: SPF none, DMARC rests on DKIM.
    let out = mailauth().args(base).run();
    let json = out.json();
    assert_eq!(json["spf"]["result"], "none");
    assert_eq!(
        (json["dmarc"]["result"].as_str(), out.code()),
        (Some("pass"), Some(0))
    );
    // A tampered message from an unauthorized IP: DMARC fail, disposition reject, exit 1.
    let tampered = std::fs::read_to_string(&message)
        .unwrap()
        .replace("Hello.", "Pay now.");
    std::fs::write(&message, tampered).unwrap();
    let mut args = base.to_vec();
    args.extend([
        "--ip",
        "203.0.113.9",
        "--mail-from",
        "bounce@mailauth.test",
        "--dmarc-sample",
        "0",
    ]);
    let out = mailauth().args(&args).run();
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["spf"]["result"], "fail");
    assert_eq!(json["dmarc"]["result"], "fail");
    assert_eq!(json["dmarc"]["disposition"], "reject");
}

/// RFC 9989 §5.3.1 and §11.5 replace the old refusal: a message without exactly one author
/// domain is judged (each domain, strictest outcome, or permerror) and exits 1, not 2.
#[test]
fn verify_judges_messages_without_one_author_domain() {
    let zone = zone_path().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    for (from, needle) in [
        (
            "From: a@mailauth.test\r\nFrom: b@mailauth.test",
            "2 From fields",
        ),
        ("From: a@mailauth.test, b@example.test", "2 author domains"),
        ("From: undisclosed-recipients", "has no domain"),
    ] {
        let path = dir.path().join("m.eml");
        std::fs::write(&path, format!("{from}\r\nSubject: x\r\n\r\nbody\r\n")).unwrap();
        let out = mailauth()
            .args(["--zone", &zone, "verify", path.to_str().unwrap()])
            .run();
        out.assert_exit(1);
        let header = out.stdout_str();
        assert!(header.contains(needle), "{header}");
    }
}

#[test]
fn record_dmarc_builds_and_reminds_about_external_reports() {
    let out = mailauth()
        .args([
            "record",
            "dmarc",
            "--policy",
            "quarantine",
            "--sp",
            "reject",
            "--rua",
            "mailto:agg@reports.example.net",
            "--pct",
            "50",
            "--adkim",
            "s",
            "--domain",
            "example.com",
        ])
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.stdout_str(),
        "_dmarc.example.com. IN TXT \"v=DMARC1; p=quarantine; sp=reject; adkim=s; pct=50; rua=mailto:agg@reports.example.net\"\n"
    );
    assert!(
        out.stderr_str()
            .contains("example.com._report._dmarc.reports.example.net")
    );
    for bad in [
        ["--policy", "bogus", "--pct", "5"],
        ["--policy", "none", "--pct", "101"],
        ["--policy", "none", "--rua", "https://x.example"],
    ] {
        let mut args = vec!["record", "dmarc"];
        args.extend(bad);
        mailauth().args(&args).run().assert_exit(2);
    }
}

/// The lint used to call a record `dmarc.bad_uri` when its error text contained "rua" or "ruf",
/// which the domain name alone can do (`_dmarc.truant.test: ... p=bogus ...`). It now decides by
/// the error's kind.
#[test]
fn dmarc_syntax_not_bad_uri_when_the_domain_name_contains_rua() {
    let zone = "$ORIGIN truant.test.\n$TTL 300\n\
        _dmarc IN TXT \"v=DMARC1; p=bogus\"\n\
        bad IN TXT \"v=spf1 -all\"\n\
        _dmarc.bad IN TXT \"v=DMARC1; p=reject; ruf=https://x.example\"\n";
    let resolver = ZoneResolver::parse_str(zone, "truant.zone", None).unwrap();
    let (findings, dns_failed) =
        runtime().block_on(mailauth::dmarc::lint::findings(&resolver, "truant.test"));
    assert!(!dns_failed);
    let codes: Vec<_> = findings.iter().map(|f| (f.code, f.rfc)).collect();
    assert_eq!(codes, [("dmarc.syntax", "RFC 7489 §6.3")], "{findings:#?}");
    assert!(findings[0].message.contains("p=bogus"), "{findings:#?}");
    let (findings, _) = runtime().block_on(mailauth::dmarc::lint::findings(
        &resolver,
        "bad.truant.test",
    ));
    let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["dmarc.bad_uri"], "{findings:#?}");
}

/// Each kind of unusable record maps to one error variant, so callers can match on it.
#[test]
fn rfc7489_6_3_syntax_errors_have_kinds() {
    use mailauth::dmarc::DmarcSyntaxError as E;
    use mailauth::dmarc::parse::record;
    let kind = |text: &str| record(text.as_bytes()).unwrap_err();
    assert_eq!(kind(""), E::Empty);
    assert_eq!(kind("p=none; v=DMARC1"), E::NotFirstVersion);
    assert_eq!(kind("v=DMARC1; p=none; V=DMARC1"), E::RepeatedVersion);
    assert!(matches!(kind("v=DMARC1; p=none; p=reject"), E::TagList(_)));
    assert_eq!(kind("v=DMARC1"), E::MissingPolicy);
    assert!(matches!(
        kind("v=DMARC1; p=x"),
        E::BadPolicy { tag: "p", .. }
    ));
    assert!(matches!(
        kind("v=DMARC1; p=none; sp=x"),
        E::BadPolicy { tag: "sp", .. }
    ));
    assert!(matches!(
        kind("v=DMARC1; p=none; aspf=x"),
        E::BadAlignment { tag: "aspf", .. }
    ));
    assert_eq!(
        kind("v=DMARC1; p=none; pct=101"),
        E::BadPercent("101".into())
    );
    assert!(matches!(
        kind("v=DMARC1; p=none; fo=2"),
        E::BadFailureOptions(_)
    ));
    assert!(matches!(
        kind("v=DMARC1; p=none; ri=soon"),
        E::BadInterval(_)
    ));
    for (text, uri) in [
        ("v=DMARC1; p=none; rua=https://x.example", true),
        ("v=DMARC1; p=none; rua=mailto:nobody", true),
        ("v=DMARC1; p=none; ruf=mailto:a@b.example!10x", true),
        ("v=DMARC1; p=none; pct=200", false),
    ] {
        assert_eq!(kind(text).is_report_uri(), uri, "{text}");
    }
    // The text keeps naming the record and the tag.
    assert_eq!(
        kind("v=DMARC1; p=none; rua=https://x.example").to_string(),
        "DMARC record: rua: \"https://x.example\" is not a mailto: URI"
    );
}
