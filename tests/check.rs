//! `mailauth check`: every finding code has a zone that triggers it, and the good zone (and
//! every other case) shows it is not reported where it does not apply: each case must produce
//! exactly its expected codes. The cases run through zone files, over UDP from the in-process
//! hickory-server, and over UDP from a real BIND `named` started here on a loopback port.

use mailauth_base::DomainName;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use mailauth::check::{CheckOptions, check_domain};
use mailauth::dns::Resolver;
use mailauth::dns::hickory::HickoryResolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth::keys::{KeySpec, KeyStore, PrivateKey};

use crate::dkim::runtime;
use crate::support::cmd::mailauth;
use crate::support::dns_server::TestDnsServer;
use crate::support::named::{Named, checkzone};
use crate::support::{in_ci, testdata};

struct Case {
    name: &'static str,
    /// Records besides the baseline's, relative to the case's origin.
    records: String,
    /// Baseline parts to leave out: "mx", "spf", "dmarc", "dkim".
    without: &'static [&'static str],
    expected: &'static [&'static str],
}

fn public_key(file: &str) -> String {
    let pem = std::fs::read(testdata().join("keys").join(file)).unwrap();
    let key = PrivateKey::from_pem(&pem, file).unwrap();
    base64::engine::general_purpose::STANDARD.encode(key.public_key_bytes())
}

/// A TXT record line with the value split into 255-byte strings on one line.
fn txt(owner: &str, value: &str) -> String {
    let strings: Vec<String> = mailauth::dns::split_txt(value.as_bytes())
        .iter()
        .map(|s| mailauth::dns::quote_string(s))
        .collect();
    format!("{owner} IN TXT {}\n", strings.join(" "))
}

/// What the 18-destination case gives: the 16 destinations checked are unauthorized, and the
/// other two are named as unchecked in one finding.
const SIXTEEN_UNAUTHORIZED_AND_UNCHECKED: [&str; 17] = {
    let mut codes = ["dmarc.external_unauthorized"; 17];
    codes[16] = "dmarc.external_unchecked";
    codes
};

fn cases() -> Vec<Case> {
    let rsa = public_key("rsa2048.pem");
    let many_ip4: String = (0..40).map(|i| format!(" ip4:198.51.{i}.0/24")).collect();
    let case = |name, records: String, without, expected| Case {
        name,
        records,
        without,
        expected,
    };
    vec![
        case("good", String::new(), &[], &[]),
        case("spf-none", String::new(), &["spf"], &["spf.none"]),
        case(
            "spf-multiple",
            txt("@", "v=spf1 a -all"),
            &[],
            &["spf.multiple"],
        ),
        case(
            "spf-syntax",
            txt("@", "v=spf1 ip4:192.0.2.1/33 -all"),
            &["spf"],
            &["spf.syntax"],
        ),
        case(
            "spf-lookups",
            txt(
                "@",
                "v=spf1 mx include:inc.spf-lookups.test include:inc.spf-lookups.test -all",
            ) + &txt("inc", "v=spf1 a a a a a -all")
                + "inc IN A 192.0.2.7\n",
            &["spf"],
            &["spf.too_many_lookups"],
        ),
        case(
            "spf-voids",
            txt(
                "@",
                "v=spf1 a:n1.spf-voids.test a:n2.spf-voids.test a:n3.spf-voids.test mx -all",
            ),
            &["spf"],
            &["spf.void_lookups"],
        ),
        case(
            "spf-pass-all",
            txt("@", "v=spf1 mx +all"),
            &["spf"],
            &["spf.pass_all"],
        ),
        case(
            "spf-neutral-all",
            txt("@", "v=spf1 mx ?all"),
            &["spf"],
            &["spf.neutral_all"],
        ),
        case(
            "spf-no-all",
            txt("@", "v=spf1 mx"),
            &["spf"],
            &["spf.no_all"],
        ),
        case(
            "spf-ptr",
            txt("@", "v=spf1 mx ptr -all"),
            &["spf"],
            &["spf.ptr"],
        ),
        case(
            "spf-type99",
            "@ IN SPF \"v=spf1 mx -all\"\n".into(),
            &[],
            &["spf.type99"],
        ),
        case(
            "spf-big",
            txt("@", &format!("v=spf1 mx{many_ip4} -all")),
            &["spf"],
            &["spf.answer_too_big"],
        ),
        case(
            "spf-include-missing",
            txt(
                "@",
                "v=spf1 mx include:nothere.spf-include-missing.test -all",
            ),
            &["spf"],
            &["spf.include_missing"],
        ),
        case("dmarc-none", String::new(), &["dmarc"], &["dmarc.none"]),
        case(
            "dmarc-multiple",
            txt("_dmarc", "v=DMARC1; p=none"),
            &[],
            &["dmarc.multiple"],
        ),
        case(
            "dmarc-syntax",
            txt("_dmarc", "v=DMARC1; p=bogus"),
            &["dmarc"],
            &["dmarc.syntax"],
        ),
        case(
            "dmarc-p-none",
            txt(
                "_dmarc",
                "v=DMARC1; p=none; rua=mailto:dmarc@dmarc-p-none.test",
            ),
            &["dmarc"],
            &["dmarc.p_none"],
        ),
        case(
            "dmarc-pct",
            txt(
                "_dmarc",
                "v=DMARC1; p=reject; pct=50; rua=mailto:dmarc@dmarc-pct.test",
            ),
            &["dmarc"],
            // pct= is also one of the tags RFC 9989 removed (Appendix C.5.2).
            &["dmarc.pct", "dmarc.legacy_tags"],
        ),
        case(
            "dmarc-legacy-tags",
            txt(
                "_dmarc",
                "v=DMARC1; p=reject; pct=100; rua=mailto:dmarc@dmarc-legacy-tags.test; rf=afrf; ri=86400",
            ),
            &["dmarc"],
            &["dmarc.legacy_tags"],
        ),
        case(
            "dmarc-no-rua",
            txt("_dmarc", "v=DMARC1; p=reject"),
            &["dmarc"],
            &["dmarc.no_rua"],
        ),
        case(
            "dmarc-bad-uri",
            txt("_dmarc", "v=DMARC1; p=reject; rua=https://reports.example"),
            &["dmarc"],
            // RFC 7489 receivers cannot use the record at all; RFC 9989 receivers drop the bad
            // URI and apply p=reject (RFC 9989 §4.7), so the standards differ too.
            &["dmarc.bad_uri", "dmarc.standards_differ"],
        ),
        case(
            "dmarc-external",
            txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:d@good.test"),
            &["dmarc"],
            &["dmarc.external_unauthorized"],
        ),
        // RFC 7489 §7.1 authorization is looked up for at most 16 destination domains; the
        // 17th and 18th are named as not checked, not passed over in silence.
        case(
            "dmarc-many-destinations",
            txt(
                "_dmarc",
                &format!(
                    "v=DMARC1; p=reject; rua={}",
                    (1..=18)
                        .map(|n| format!("mailto:d@r{n}.test"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            &["dmarc"],
            &SIXTEEN_UNAUTHORIZED_AND_UNCHECKED,
        ),
        // The same, authorized by good.test: no finding.
        case(
            "dmarc-external-ok",
            txt("_dmarc", "v=DMARC1; p=reject; rua=mailto:d@good.test"),
            &["dmarc"],
            &[],
        ),
        case(
            "dmarc-sp-weaker",
            txt(
                "_dmarc",
                "v=DMARC1; p=reject; sp=none; rua=mailto:d@dmarc-sp-weaker.test",
            ),
            &["dmarc"],
            &["dmarc.sp_weaker"],
        ),
        case(
            "mx-none",
            txt("@", "v=spf1 a -all") + "@ IN A 192.0.2.30\n",
            &["mx", "spf"],
            &["mx.none"],
        ),
        case(
            "mx-null",
            txt("@", "v=spf1 -all") + "@ IN MX 0 .\n",
            &["mx", "spf"],
            &["mx.null"],
        ),
        case("dkim-missing", String::new(), &["dkim"], &["dkim.missing"]),
        case(
            "dkim-revoked",
            txt("sel._domainkey", "v=DKIM1; k=rsa; p="),
            &["dkim"],
            &["dkim.revoked"],
        ),
        case(
            "dkim-testing",
            txt("sel._domainkey", &format!("v=DKIM1; k=rsa; t=y; p={rsa}")),
            &["dkim"],
            &["dkim.testing"],
        ),
        case(
            "dkim-weak1024",
            txt(
                "sel._domainkey",
                &format!("v=DKIM1; k=rsa; p={}", public_key("rsa1024.pem")),
            ),
            &["dkim"],
            &["dkim.weak_key"],
        ),
        case(
            "dkim-weak512",
            txt(
                "sel._domainkey",
                &format!("v=DKIM1; k=rsa; p={}", public_key("rsa512.pem")),
            ),
            &["dkim"],
            &["dkim.weak_key"],
        ),
        case(
            "dkim-unknown",
            txt("sel._domainkey", &format!("v=DKIM1; k=dsa; p={rsa}")),
            &["dkim"],
            &["dkim.unknown_key_type"],
        ),
        case(
            "dkim-sha1",
            txt(
                "sel._domainkey",
                &format!("v=DKIM1; k=rsa; h=sha1; p={rsa}"),
            ),
            &["dkim"],
            &["dkim.sha1_only"],
        ),
        case(
            "dkim-syntax",
            txt("sel._domainkey", "v=DKIM1; k=rsa; p=!!!"),
            &["dkim"],
            &["dkim.syntax"],
        ),
        // Published: the test RSA key; in the key store: another key.
        case("dkim-mismatch", String::new(), &[], &["dkim.key_mismatch"]),
        // MTA-STS and TLS-RPT records (RFC 8461 §3.1, RFC 8460 §3). The policy faults need the
        // HTTPS server: tests/mta_sts.rs.
        case(
            "sts-record-syntax",
            txt("_mta-sts", "v=STSv1; id=not-alnum!")
                + &txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:tls@example.test"),
            &[],
            &["mta_sts.record_syntax"],
        ),
        case(
            "sts-multiple",
            txt("_mta-sts", "v=STSv1; id=1")
                + &txt("_mta-sts", "v=STSv1; id=2")
                + &txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:tls@example.test"),
            &[],
            &["mta_sts.multiple_records"],
        ),
        // The record points to a policy host that does not exist (RFC 8461 §3.3).
        case(
            "sts-no-policy",
            txt("_mta-sts", "v=STSv1; id=20261129")
                + &txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:tls@example.test"),
            &[],
            &["mta_sts.record_without_policy"],
        ),
        // MTA-STS without TLS-RPT: nobody hears of failures.
        case(
            "tls-rpt-none",
            txt("_mta-sts", "v=STSv1; id=20261129"),
            &[],
            &["mta_sts.record_without_policy", "tls_rpt.none"],
        ),
        case(
            "tls-rpt-syntax",
            txt("_smtp._tls", "v=TLSRPTv1; ruf=mailto:tls@example.test"),
            &[],
            &["tls_rpt.syntax"],
        ),
        case(
            "tls-rpt-multiple",
            txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:a@example.test")
                + &txt("_smtp._tls", "v=TLSRPTv1; rua=mailto:b@example.test"),
            &[],
            &["tls_rpt.multiple"],
        ),
        case(
            "tls-rpt-bad-uri",
            txt("_smtp._tls", "v=TLSRPTv1; rua=http://example.test/reports"),
            &[],
            &["tls_rpt.bad_uri"],
        ),
    ]
}

/// Write each case's zone (baseline plus its records) into `dir`.
fn write_zones(dir: &Path, cases: &[Case]) -> Vec<(String, PathBuf)> {
    let rsa = public_key("rsa2048.pem");
    cases
        .iter()
        .map(|case| {
            let origin = format!("{}.test", case.name);
            let mut zone = format!(
                "$ORIGIN {origin}.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n"
            );
            let has = |part: &str| !case.without.contains(&part);
            if has("mx") {
                zone.push_str("@ IN MX 10 mx\nmx IN A 192.0.2.25\n");
            }
            if has("spf") {
                zone.push_str(&txt("@", "v=spf1 mx -all"));
            }
            if has("dmarc") {
                zone.push_str(&txt("_dmarc", &format!("v=DMARC1; p=reject; rua=mailto:dmarc@{origin}")));
            }
            if has("dkim") {
                zone.push_str(&txt("sel._domainkey", &format!("v=DKIM1; k=rsa; p={rsa}")));
            }
            if case.name == "good" {
                // A subdomain without its own DMARC record, and a report authorization.
                zone.push_str("sub IN MX 10 mx\n");
                zone.push_str(&txt("sub", "v=spf1 mx -all"));
                zone.push_str(&txt("dmarc-external-ok.test._report._dmarc", "v=DMARC1"));
            }
            zone.push_str(&case.records);
            let path = dir.join(format!("{origin}.zone"));
            std::fs::write(&path, zone).unwrap();
            (origin, path)
        })
        .collect()
}

/// A key store with the published key for some cases, and another key for dkim-mismatch.
fn key_store(dir: &Path, cases: &[Case]) -> KeyStore {
    let store = KeyStore::new(dir.join("keys"));
    let pem = std::fs::read(testdata().join("keys/rsa2048.pem")).unwrap();
    for case in cases {
        let key = if case.name == "dkim-mismatch" {
            mailauth::keys::generate(KeySpec::Rsa2048).unwrap()
        } else {
            PrivateKey::from_pem(&pem, "rsa2048.pem").unwrap()
        };
        // Keys for the cases whose published key is the test RSA key (and the mismatch).
        if [
            "good",
            "dkim-mismatch",
            "dkim-testing",
            "dkim-sha1",
            "dkim-unknown",
        ]
        .contains(&case.name)
        {
            store
                .write(&format!("{}.test", case.name), "sel", &key)
                .unwrap();
        }
    }
    store
}

fn run_cases(
    path_name: &str,
    resolver: &dyn Resolver,
    cases: &[Case],
    store: &KeyStore,
    skip: &[&str],
) {
    let options = CheckOptions {
        selectors: vec!["sel".into()],
        key_store: Some(store.clone()),
        now: 1_795_600_000,
        ..CheckOptions::default()
    };
    let mut failures = Vec::new();
    for case in cases.iter().filter(|c| !skip.contains(&c.name)) {
        let report = runtime().block_on(check_domain(
            resolver,
            &DomainName::parse(&format!("{}.test", case.name)).unwrap(),
            &options,
        ));
        let mut codes = report.codes();
        codes.sort_unstable();
        let mut expected = case.expected.to_vec();
        expected.sort_unstable();
        if codes != expected || report.dns_failed {
            failures.push(format!(
                "{}: got {codes:?}, expected {expected:?}: {:#?}",
                case.name, report.findings
            ));
        }
    }
    // The subdomain inherits good.test's policy.
    let report = runtime().block_on(check_domain(
        resolver,
        &DomainName::parse("sub.good.test").unwrap(),
        &CheckOptions::default(),
    ));
    if report.codes() != ["dmarc.inherited"] {
        failures.push(format!("sub.good.test: {:?}", report.codes()));
    }
    assert!(failures.is_empty(), "{path_name}:\n{}", failures.join("\n"));
}

#[test]
fn check_codes_through_zone_files() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let zones = write_zones(dir.path(), &cases);
    let store = key_store(dir.path(), &cases);
    let files: Vec<PathBuf> = zones.iter().map(|(_, p)| p.clone()).collect();
    let resolver = ZoneResolver::from_files(&files).unwrap();
    run_cases("zone files", &resolver, &cases, &store, &[]);
}

#[test]
fn check_codes_through_the_in_process_server() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    // hickory-server 0.26 cannot load the type-99 SPF record: that case runs through the zone
    // files and BIND only.
    let served: Vec<Case> = cases
        .into_iter()
        .filter(|c| c.name != "spf-type99")
        .collect();
    let zones = write_zones(dir.path(), &served);
    let store = key_store(dir.path(), &served);
    let mut files: Vec<PathBuf> = zones.iter().map(|(_, p)| p.clone()).collect();
    files.push(parent_zone(dir.path()));
    let server = TestDnsServer::start(&files);
    let resolver = HickoryResolver::with_servers(&[server.udp_addr()]).unwrap();
    run_cases("in-process hickory-server", &resolver, &served, &store, &[]);
}

/// The `test.` zone above the cases. A server refuses names outside its zones, and the RFC 9989
/// tree walk asks `_dmarc.test` above each case (where a recursive resolver would answer: no
/// such name).
fn parent_zone(dir: &std::path::Path) -> PathBuf {
    let parent = dir.join("test.zone");
    std::fs::write(
        &parent,
        "$ORIGIN test.\n$TTL 300\n@ IN SOA ns1.test. hostmaster.test. 1 3600 600 86400 300\n\
         @ IN NS ns1.test.\nns1 IN A 127.0.0.1\n",
    )
    .unwrap();
    parent
}

#[test]
fn check_codes_through_bind() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let zones = write_zones(dir.path(), &cases);
    if which("named-checkzone") {
        for (origin, path) in &zones {
            checkzone(origin, path).unwrap_or_else(|e| panic!("{origin}: {e}"));
        }
    }
    let mut zones = zones;
    zones.push(("test".to_owned(), parent_zone(dir.path())));
    let store = key_store(dir.path(), &cases);
    let Some(named) = Named::start(&zones) else {
        return;
    };
    let resolver = HickoryResolver::with_servers(&[named.addr()]).unwrap();
    run_cases("BIND named", &resolver, &cases, &store, &[]);
}

fn which(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && in_ci() {
        panic!("{tool} is required in CI");
    }
    found
}

#[test]
fn check_command_text_json_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| ["good", "spf-none", "dmarc-p-none"].contains(&c.name))
        .collect();
    let zones = write_zones(dir.path(), &cases);
    let mut args: Vec<String> = Vec::new();
    for (_, path) in &zones {
        args.extend(["--zone".into(), path.display().to_string()]);
    }
    let base = mailauth().current_dir(dir.path()).args(&args);
    let run = |extra: &[&str]| base.clone().args(extra).run();
    let out = run(&["check", "good.test"]);
    out.assert_exit(0);
    assert_eq!(out.stdout_str(), "good.test: no problems found\n");
    let out = run(&["check", "spf-none.test"]);
    out.assert_exit(1);
    let text = out.stdout_str();
    assert!(
        text.contains("error spf.none") && text.contains("fix: publish spf-none.test. IN TXT"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    let out = run(&["--json", "check", "dmarc-p-none.test"]);
    out.assert_exit(0);
    let json = out.json();
    assert_eq!(json["domain"], "dmarc-p-none.test");
    let finding = &json["findings"][0];
    assert_eq!(finding["code"], "dmarc.p_none");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["rfc"], "RFC 7489 §6.3");
    assert!(finding["fix"].as_str().unwrap().contains("p=quarantine"));
    // Bulk: JSON Lines, one per domain, and a summary on stderr.
    let list = dir.path().join("domains.txt");
    std::fs::write(
        &list,
        "good.test\n\n# comment\nspf-none.test\ndmarc-p-none.test\n",
    )
    .unwrap();
    let out = run(&[
        "--json",
        "check",
        "--domains-file",
        list.to_str().unwrap(),
        "--concurrency",
        "2",
    ]);
    out.assert_exit(1);
    let lines = out.json_lines();
    let mut domains: Vec<&str> = lines
        .iter()
        .map(|l| l["domain"].as_str().unwrap())
        .collect();
    domains.sort_unstable();
    assert_eq!(domains, ["dmarc-p-none.test", "good.test", "spf-none.test"]);
    assert!(
        out.stderr_str()
            .contains("checked 3 domains: 1 with errors")
    );
    // A refusing server: DNS failure, exit 3.
    let server = TestDnsServer::start(&[testdata().join("dns/empty.test.zone")]);
    mailauth()
        .args([
            "--resolver",
            &server.udp_addr().to_string(),
            "check",
            "good.test",
        ])
        .run()
        .assert_exit(3);
}

/// The rows of the "## Finding codes" table in docs/ARCHITECTURE.md: (code, severity).
fn documented_codes() -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let section = doc
        .split("\n## Finding codes\n")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has a \"## Finding codes\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .split('|')
                .map(str::trim)
                .collect();
            let code = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((
                code.to_owned(),
                cells.get(1).copied().unwrap_or("").to_owned(),
            ))
        })
        .collect()
}

/// The map's table of finding codes and `mailauth::report::CODE_TABLES` list the same codes, each
/// once, with a severity word the code uses.
#[test]
fn architecture_codes_table_matches_code() {
    use std::collections::BTreeSet;
    let documented = documented_codes();
    let in_doc: BTreeSet<&str> = documented.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(in_doc.len(), documented.len(), "a code is documented twice");
    let in_code: BTreeSet<&str> = mailauth::report::all_codes().into_iter().collect();
    let undocumented: Vec<_> = in_code.difference(&in_doc).collect();
    let stale: Vec<_> = in_doc.difference(&in_code).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "docs/ARCHITECTURE.md \"Finding codes\" is out of date:\n  in the code, not in the doc: {undocumented:?}\n  in the doc, not in the code: {stale:?}"
    );
    for (code, severity) in &documented {
        let valid = severity
            .split('/')
            .all(|s| ["error", "warning", "info"].contains(&s));
        assert!(
            valid,
            "{code}: severity {severity:?} is not error, warning or info"
        );
    }
}

/// Why the MTA-STS policy codes have no case here: they need the policy served over HTTPS;
/// tests/mta_sts.rs runs each through `mailauth check` against its in-process HTTPS server.
const SERVED: &str = "needs the policy served over HTTPS: rfc8461_3_3_each_policy_fault_gives_its_code_through_check in tests/mta_sts.rs";

/// Why the `--smtp` MTA-STS codes have no case here: they need a live STARTTLS server.
const SMTP: &str = "needs check --smtp against a live server: tests/mta_sts.rs";

/// Codes `check` can report that no case above produces, each with the reason.
const CODES_WITHOUT_A_CASE: &[(&str, &str)] = &[
    ("mta_sts.policy_redirect", SERVED),
    ("mta_sts.policy_status", SERVED),
    ("mta_sts.policy_content_type", SERVED),
    ("mta_sts.policy_too_large", SERVED),
    ("mta_sts.policy_cert", SERVED),
    ("mta_sts.policy_syntax", SERVED),
    ("mta_sts.max_age_range", SERVED),
    ("mta_sts.mx_not_covered", SERVED),
    ("mta_sts.testing", SERVED),
    ("mta_sts.none_mode", SERVED),
    ("mta_sts.short_max_age", SERVED),
    ("mta_sts.policy_without_record", SERVED),
    ("mta_sts.mx_cert", SMTP),
    ("mta_sts.mx_no_starttls", SMTP),
    (
        "dns.temporary",
        "a temporary DNS failure, not a record: check_command_text_json_and_exit_codes gets it \
         from a refusing server (exit 3)",
    ),
];

/// Every code `check` can report about DNS records has a case here that produces it (so the
/// finding is shown to fire, through zone files, hickory-server and BIND).
#[test]
fn check_cases_cover_every_dns_code() {
    use std::collections::BTreeSet;
    let produced: BTreeSet<&str> = cases()
        .iter()
        .flat_map(|c| c.expected.iter().copied())
        .chain(["dmarc.inherited"]) // sub.good.test, checked in run_cases
        .collect();
    let excepted: BTreeSet<&str> = CODES_WITHOUT_A_CASE.iter().map(|(c, _)| *c).collect();
    let missing: Vec<&str> = mailauth::report::dns_codes()
        .into_iter()
        .filter(|c| !produced.contains(c) && !excepted.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "no case in tests/check.rs produces {missing:?}"
    );
    // And the other way: every code a case expects is declared in some module's CODES.
    let declared: BTreeSet<&str> = mailauth::report::dns_codes().into_iter().collect();
    let undeclared: Vec<&&str> = produced.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "expected by a case but in no CODES: {undeclared:?}"
    );
    for code in &excepted {
        assert!(
            !produced.contains(code),
            "{code} has a case now: remove it from CODES_WITHOUT_A_CASE"
        );
    }
}
