//! Issue 16, the publishing side of transport security: the `[domains."D".mta_sts]`, `tls_rpt`
//! and `dane` configuration sections, the `record mta-sts|tls-rpt|tlsa` builders, `mta-sts
//! policy` (the policy file and its id), and `plan`/`publish` writing `_mta-sts`, `_smtp._tls`
//! and TLSA records, with RFC 8461's order: the new policy is served before the id changes.

use mailauth::config::{Config, StsMode};

/// A configuration with a zone-file provider and every transport section.
const TRANSPORT: &str = r#"[providers.local]
kind = "zonefile"
path = "example.com.zone"

[domains."example.com"]
provider = "local"

[domains."example.com".mta_sts]
mode = "enforce"
max_age = "30d"
mx = ["mx1.example.com", "*.mail.example.com"]
policy_dir = "www"

[domains."example.com".tls_rpt]
rua = ["mailto:tlsrpt@example.com", "https://reports.example.com/v1"]

[domains."example.com".dane]
hosts = ["mx1.example.com"]
certs = ["cert.pem"]
"#;

#[test]
fn config_transport_sections_parse_with_their_defaults() {
    let config = Config::parse(TRANSPORT, "m.toml").unwrap();
    let domain = &config.domains["example.com"];
    let sts = domain.mta_sts.as_ref().unwrap();
    assert_eq!(sts.mode, StsMode::Enforce);
    assert_eq!(sts.max_age.get(), 30 * 86_400);
    assert_eq!(
        sts.mx.as_deref().unwrap(),
        ["mx1.example.com", "*.mail.example.com"]
    );
    assert_eq!(sts.https_port, 443);
    let rpt = domain.tls_rpt.as_ref().unwrap();
    assert_eq!(rpt.rua.len(), 2);
    let dane = domain.dane.as_ref().unwrap();
    assert_eq!((dane.usage, dane.selector, dane.matching), (3, 1, 1));
    assert_eq!(dane.port, 25);

    // Only what is given: mode testing (the safe first step), one week, the MX hosts from DNS.
    let minimal = TRANSPORT
        .replace("mode = \"enforce\"\n", "")
        .replace("max_age = \"30d\"\n", "")
        .replace("mx = [\"mx1.example.com\", \"*.mail.example.com\"]\n", "");
    let config = Config::parse(&minimal, "m.toml").unwrap();
    let sts = config.domains["example.com"].mta_sts.clone().unwrap();
    assert_eq!(sts.mode, StsMode::Testing);
    assert_eq!(sts.max_age.get(), 7 * 86_400);
    assert!(sts.mx.is_none());
}

/// Every bad value is refused when the file is read, at its line (RFC 8461 §3.2 for max_age
/// and mx, RFC 8460 §3 for rua, RFC 7672 §3.1.3 and RFC 6698 §2.1 for the TLSA parameters).
#[test]
fn config_transport_values_are_refused_at_their_line() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "mode = \"enforce\"",
            "mode = \"enforcing\"",
            "m.toml:9:",
            "enforce",
        ),
        (
            "max_age = \"30d\"",
            "max_age = 31557601",
            "m.toml:10:",
            "31557600",
        ),
        (
            "max_age = \"30d\"",
            "max_age = \"1 year\"",
            "m.toml:10:",
            "not a duration",
        ),
        (
            "\"*.mail.example.com\"",
            "\"*.*.example.com\"",
            "m.toml:11:",
            "exactly one label",
        ),
        (
            "\"*.mail.example.com\"",
            "\"mail..example.com\"",
            "m.toml:11:",
            "not a host name",
        ),
        (
            "mx = [\"mx1.example.com\", \"*.mail.example.com\"]",
            "mx = []",
            "m.toml:11:",
            "at least one",
        ),
        (
            "policy_dir = \"www\"",
            "policy_dirr = \"www\"",
            "m.toml:12:",
            "did you mean `policy_dir`?",
        ),
        (
            "\"https://reports.example.com/v1\"",
            "\"http://reports.example.com/v1\"",
            "m.toml:15:",
            "only mailto: and https:",
        ),
        (
            "\"mailto:tlsrpt@example.com\"",
            "\"mailto:\"",
            "m.toml:15:",
            "mailto: needs one address",
        ),
        (
            "\"mailto:tlsrpt@example.com\"",
            "\"mailto:a@example.com,mailto:b@example.com\"",
            "m.toml:15:",
            "commas",
        ),
        (
            "certs = [\"cert.pem\"]",
            "certs = [\"cert.pem\"]\nusage = 1",
            "m.toml:17:",
            "RFC 7672 §3.1.3",
        ),
        (
            "certs = [\"cert.pem\"]",
            "certs = [\"cert.pem\"]\nselector = 2",
            "m.toml:17:",
            "selector = 2",
        ),
        (
            "certs = [\"cert.pem\"]",
            "certs = [\"cert.pem\"]\nmatching = 3",
            "m.toml:17:",
            "matching = 3",
        ),
        (
            "certs = [\"cert.pem\"]",
            "port = 25",
            "m.toml:17:",
            "certs =",
        ),
        (
            "certs = [\"cert.pem\"]",
            "keys = [\"k.pem\"]\nselector = 0",
            "m.toml:17:",
            "need certs",
        ),
        (
            "hosts = [\"mx1.example.com\"]",
            "hosts = [\"mx1..example.com\"]",
            "m.toml:18:",
            "",
        ),
        (
            "certs = [\"cert.pem\"]",
            "cert = [\"cert.pem\"]",
            "m.toml:19:",
            "did you mean `certs`?",
        ),
    ];
    for (from, to, at, says) in cases {
        let bad = TRANSPORT.replace(from, to);
        assert_ne!(bad, TRANSPORT, "{from}");
        let err = Config::parse(&bad, "m.toml").unwrap_err();
        assert!(err.location.starts_with(at), "{to}: {err}");
        assert!(err.reason.contains(says), "{to}: {err}");
    }
}

use std::path::{Path, PathBuf};
use std::process::Command;

use mailauth::records::{TransportInputs, desired, sts_state_path};
use mailauth_providers::conformance::TxtOnly;
use mailauth_providers::memory::MemoryProvider;
use mailauth_providers::{ProviderError, RecordType, plan};

use crate::support::cmd::mailauth;
use crate::support::tool;

/// A certificate and key for `host`, made by the openssl CLI in `dir` (`cert.pem`, `key.pem`);
/// `None` (after saying why) where openssl is missing.
fn openssl_cert(dir: &Path, host: &str, stem: &str) -> Option<(PathBuf, PathBuf)> {
    tool("openssl")?;
    let (key_pem, cert_pem) = crate::support::fake_smtp::self_signed(dir, host);
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    Some((cert, key))
}

/// The openssl CLI's digest of a certificate's SubjectPublicKeyInfo (selector 1) or whole DER
/// certificate (selector 0): the oracle for TLSA data (RFC 6698 §2.1.2, §2.1.3).
fn openssl_digest(cert: &Path, selector: u8, digest: &str) -> String {
    let script = if selector == 1 {
        format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -{digest} -r",
            cert.display()
        )
    } else {
        format!(
            "openssl x509 -in '{}' -outform DER | openssl dgst -{digest} -r",
            cert.display()
        )
    };
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// RFC 8461 §3.1: `v=STSv1; id=ID`, the name relative or absolute; ids are 1–32 alphanumerics.
#[test]
fn rfc8461_3_1_record_mta_sts_prints_the_txt_record() {
    let out = mailauth()
        .args(["record", "mta-sts", "--id", "20261129T1200Z1a2b"])
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.stdout_str(),
        "_mta-sts IN TXT \"v=STSv1; id=20261129T1200Z1a2b\"\n"
    );
    let out = mailauth()
        .args([
            "--json",
            "record",
            "mta-sts",
            "--id",
            "abc123",
            "--domain",
            "Example.COM",
        ])
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.json(),
        serde_json::json!({"name": "_mta-sts.example.com", "type": "TXT", "value": "v=STSv1; id=abc123"})
    );
    for bad in ["", "has-dash", "x".repeat(33).as_str()] {
        mailauth()
            .args(["record", "mta-sts", "--id", bad])
            .run()
            .assert_exit(2);
    }
}

/// RFC 8460 §3: `v=TLSRPTv1; rua=` with mailto: and https: URIs only.
#[test]
fn rfc8460_3_record_tls_rpt_prints_the_txt_record_and_refuses_other_schemes() {
    let out = mailauth()
        .args(["record", "tls-rpt", "--domain", "example.com", "--rua"])
        .args([
            "mailto:tlsrpt@example.com",
            "https://reports.example.com/v1",
        ])
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.stdout_str(),
        "_smtp._tls.example.com. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/v1\"\n"
    );
    let out = mailauth()
        .args([
            "record",
            "tls-rpt",
            "--rua",
            "http://reports.example.com/v1",
        ])
        .run();
    out.assert_exit(2);
    assert!(
        out.stderr_str()
            .contains("is not a mailto: address or an https: URL"),
        "{}",
        out.dump()
    );
}

/// RFC 6698 §2.1 and RFC 7672 §3.1: the TLSA data for a generated certificate equals the openssl
/// CLI's SHA-256 / SHA-512 of its SubjectPublicKeyInfo, and of the whole certificate.
#[test]
fn rfc6698_2_1_record_tlsa_matches_openssl_digests() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, _)) = openssl_cert(dir.path(), "mx1.example.com", "cert") else {
        return;
    };
    let out = mailauth()
        .args(["record", "tlsa", "--host", "MX1.example.com", "--cert"])
        .arg(&cert)
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.stdout_str(),
        format!(
            "_25._tcp.mx1.example.com. IN TLSA 3 1 1 {}\n",
            openssl_digest(&cert, 1, "sha256")
        )
    );
    for (selector, matching, digest) in [("0", "1", "sha256"), ("1", "2", "sha512")] {
        let out = mailauth()
            .args([
                "--json",
                "record",
                "tlsa",
                "--host",
                "mx1.example.com",
                "--port",
                "465",
            ])
            .args(["--selector", selector, "--matching", matching, "--cert"])
            .arg(&cert)
            .run();
        out.assert_exit(0);
        let hex = openssl_digest(&cert, selector.parse().unwrap(), digest);
        assert_eq!(
            out.json(),
            serde_json::json!({
                "name": "_465._tcp.mx1.example.com",
                "type": "TLSA",
                "value": format!("3 {selector} {matching} {hex}"),
            })
        );
    }
    let out = mailauth()
        .args(["record", "tlsa", "--host", "mx1.example.com", "--cert"])
        .arg(dir.path().join("missing.pem"))
        .run();
    out.assert_exit(2);
}

/// A zone for example.com with two MX hosts, one outside the zone when `foreign` is set.
fn zone_text(foreign: bool) -> String {
    let second = if foreign { "mx.other.test." } else { "mx2" };
    format!(
        "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n\
         @ IN NS ns1\nns1 IN A 192.0.2.53\n@ IN MX 10 mx1\n@ IN MX 20 {second}\n\
         mx1 IN A 192.0.2.25\nmx2 IN A 192.0.2.26\nmta-sts IN A 127.0.0.1\n"
    )
}

/// A working directory with `mailauth.toml` (`config`), the zone file and a certificate.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(config: &str, foreign_mx: bool) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mailauth.toml"), config).unwrap();
        std::fs::write(dir.path().join("example.com.zone"), zone_text(foreign_mx)).unwrap();
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `mailauth` in the workspace, DNS answered from its zone file, the clock fixed.
    fn run(&self, now: &str, args: &[&str]) -> crate::support::cmd::CmdOutput {
        mailauth()
            .current_dir(self.dir.path())
            .arg("--zone")
            .arg(self.path("example.com.zone"))
            .args(["--now", now])
            .args(args)
            .run()
    }

    fn zone(&self) -> String {
        std::fs::read_to_string(self.path("example.com.zone")).unwrap()
    }
}

const STS_ONLY: &str = r#"[providers.local]
kind = "zonefile"
path = "example.com.zone"

[domains."example.com"]
provider = "local"

[domains."example.com".mta_sts]
mode = "testing"
policy_dir = "www"
"#;

/// RFC 8461 §3.1: the id changes when the policy text changes, and only then; the policy
/// (§3.2) lists the domain's MX hosts when `mx` is not given, and the id state stays out of the
/// web root.
#[test]
fn rfc8461_3_1_mta_sts_policy_id_stable_until_the_text_changes() {
    let ws = Workspace::new(STS_ONLY, false);
    let first = ws.run("2026-11-29T12:00:00Z", &["--json", "mta-sts", "policy"]);
    first.assert_exit(0);
    let first = first.json();
    let policy_file = ws.path("www/.well-known/mta-sts.txt");
    let text = std::fs::read_to_string(&policy_file).unwrap();
    assert_eq!(
        text,
        "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\nmax_age: 604800\r\n"
    );
    assert_eq!(first["policy"], text.as_str());
    assert_eq!(first["changed"], true);
    let id = first["id"].as_str().unwrap().to_owned();
    assert!(
        !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{id}"
    );
    assert_eq!(
        first["record"],
        serde_json::json!({"name": "_mta-sts.example.com", "type": "TXT", "value": format!("v=STSv1; id={id}")})
    );
    assert!(sts_state_path(ws.dir.path(), "example.com").is_file());
    let served: Vec<_> = std::fs::read_dir(ws.path("www/.well-known"))
        .unwrap()
        .collect();
    assert_eq!(served.len(), 1, "only the policy is in the web root");

    // A day later, nothing changed: the same id.
    let again = ws.run("2026-11-30T12:00:00Z", &["mta-sts", "policy"]);
    again.assert_exit(0);
    assert!(
        again.stdout_str().starts_with(&format!("id {id}\n")),
        "{}",
        again.dump()
    );
    assert!(
        again.stdout_str().contains(&format!(
            "_mta-sts.example.com. IN TXT \"v=STSv1; id={id}\""
        )),
        "{}",
        again.dump()
    );

    // The mode changes: a new id, and the file says enforce.
    std::fs::write(
        ws.path("mailauth.toml"),
        STS_ONLY.replace("mode = \"testing\"", "mode = \"enforce\""),
    )
    .unwrap();
    let changed = ws.run(
        "2026-12-01T12:00:00Z",
        &["--json", "mta-sts", "policy", "--out", "elsewhere"],
    );
    changed.assert_exit(0);
    let changed = changed.json();
    assert_eq!(changed["changed"], true);
    assert_ne!(changed["id"], id.as_str());
    let text = std::fs::read_to_string(ws.path("elsewhere/.well-known/mta-sts.txt")).unwrap();
    assert!(text.contains("mode: enforce\r\n"), "{text}");
}

/// Without `mx`, the policy needs the domain's MX hosts: none is a clear error naming the field.
#[test]
fn mta_sts_policy_without_mx_hosts_says_which_field_to_set() {
    let ws = Workspace::new(STS_ONLY, false);
    std::fs::write(
        ws.path("example.com.zone"),
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300\n",
    )
    .unwrap();
    let out = ws.run("2026-11-29T12:00:00Z", &["mta-sts", "policy"]);
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("no MX hosts") && out.stderr_str().contains("mx = [...]"),
        "{}",
        out.dump()
    );
}

const TLS_RPT_AND_DANE: &str = r#"[providers.local]
kind = "zonefile"
path = "example.com.zone"

[domains."example.com"]
provider = "local"
ttl = 600

[domains."example.com".tls_rpt]
rua = ["mailto:tlsrpt@example.com"]

[domains."example.com".dane]
certs = ["cert.pem", "next.pem"]
"#;

/// `plan` and `publish` through the zone-file provider write `_smtp._tls` (RFC 8460 §3) and a
/// TLSA set per MX host at `_25._tcp.HOST` (RFC 7672 §2.2, one value per certificate: current
/// and next), and a second plan is empty.
#[test]
fn rfc7672_2_2_publish_writes_tls_rpt_and_tlsa_sets_per_mx_host() {
    let ws = Workspace::new(TLS_RPT_AND_DANE, false);
    let Some((cert, _)) = openssl_cert(ws.dir.path(), "mx1.example.com", "cert") else {
        return;
    };
    let (next, _) = openssl_cert(ws.dir.path(), "mx1.example.com", "next").unwrap();
    let (current, upcoming) = (
        openssl_digest(&cert, 1, "sha256"),
        openssl_digest(&next, 1, "sha256"),
    );
    let plan = ws.run("2026-11-29T12:00:00Z", &["plan"]);
    plan.assert_exit(0);
    let text = plan.stdout_str();
    for line in [
        "+ _smtp._tls.example.com 600 TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\"".to_owned(),
        format!("+ _25._tcp.mx1.example.com 600 TLSA 3 1 1 {current}"),
        format!("+ _25._tcp.mx1.example.com 600 TLSA 3 1 1 {upcoming}"),
        format!("+ _25._tcp.mx2.example.com 600 TLSA 3 1 1 {current}"),
    ] {
        assert!(text.contains(&line), "{line}\n{}", plan.dump());
    }
    let published = ws.run("2026-11-29T12:00:00Z", &["--json", "publish", "--yes"]);
    published.assert_exit(0);
    // Publish confirms each TLSA set as a whole, as it does each TXT record.
    let confirmed = published.json()["domains"][0]["confirmed"].clone();
    for name in [
        "_25._tcp.mx1.example.com TLSA",
        "_25._tcp.mx2.example.com TLSA",
    ] {
        assert!(
            confirmed
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c.as_str() == Some(name)),
            "{name} not confirmed: {confirmed}"
        );
    }
    // The zone file serves them: the zone resolver reads the records back.
    let zone = ws.zone();
    assert!(zone.contains("TLSA"), "{zone}");
    let resolver =
        mailauth::dns::zone::ZoneResolver::from_files(&[ws.path("example.com.zone")]).unwrap();
    let txt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(mailauth::dns::Resolver::txt(
            &resolver,
            "_smtp._tls.example.com",
        ))
        .unwrap();
    assert_eq!(
        txt[0].joined(),
        b"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
    );
    let again = ws.run("2026-11-29T12:00:00Z", &["--json", "plan"]);
    assert_eq!(
        again.json()[0]["changes"],
        serde_json::json!([]),
        "{}",
        again.dump()
    );
    if tool("named-checkzone").is_some() {
        crate::support::named::checkzone("example.com", &ws.path("example.com.zone")).unwrap();
    }
}

/// A TLSA name outside the domain's zone cannot go through its provider: the plan says so.
#[test]
fn tlsa_for_an_mx_outside_the_zone_is_refused_in_the_plan() {
    let ws = Workspace::new(TLS_RPT_AND_DANE, true);
    if openssl_cert(ws.dir.path(), "mx1.example.com", "cert").is_none() {
        return;
    }
    openssl_cert(ws.dir.path(), "mx1.example.com", "next").unwrap();
    let out = ws.run("2026-11-29T12:00:00Z", &["plan"]);
    out.assert_exit(2);
    let err = out.stderr_str();
    assert!(
        err.contains("_25._tcp.mx.other.test") && err.contains("outside the zone example.com"),
        "{}",
        out.dump()
    );
}

#[test]
fn plan_refuses_tlsa_on_a_txt_only_provider_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_) = openssl_cert(dir.path(), "mx1.example.com", "cert") else {
        return;
    };
    let text = TLS_RPT_AND_DANE.replace(
        "certs = [\"cert.pem\", \"next.pem\"]",
        "certs = [\"cert.pem\"]\nhosts = [\"mx1.example.com\"]",
    );
    let config = Config::parse(&text, "m.toml").unwrap();
    let domain = config.domains.keys().next().unwrap();
    let store = mailauth::keys::KeyStore::new(dir.path().join("keys"));
    let inputs = TransportInputs {
        config_dir: dir.path().to_owned(),
        mx_hosts: None,
        tlsa_rollovers: Default::default(),
    };
    let want = desired(domain, &config.domains[domain], &store, &inputs).unwrap();
    assert!(want.iter().any(|d| d.rtype == RecordType::Tlsa));
    // A provider that holds TXT only (RFC 6698 records need TLSA): the plan refuses before any
    // request and names the record.
    let memory = MemoryProvider::default();
    let txt_only = TxtOnly::new(&memory);
    let err = plan(&txt_only, "example.com", &want, false).unwrap_err();
    match &err {
        ProviderError::UnsupportedType { name, rtype, .. } => {
            assert_eq!(
                (name.as_str(), *rtype),
                ("_25._tcp.mx1.example.com", RecordType::Tlsa)
            );
        }
        other => panic!("expected UnsupportedType, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("TLSA") && shown.contains("_25._tcp.mx1.example.com"),
        "{shown}"
    );
}

/// RFC 8461 §8.1: publish does not change the `_mta-sts` id before the new policy is served;
/// the refusal (exit 1) says what to do, touches nothing of that domain, and other domains
/// carry on.
#[test]
fn rfc8461_8_1_publish_refuses_a_new_id_while_the_policy_is_not_served() {
    let config = format!(
        "{STS_ONLY}https_port = {}\n\n[providers.other]\nkind = \"zonefile\"\npath = \"example.org.zone\"\n\n[domains.\"example.org\"]\nprovider = \"other\"\ntls_rpt = {{ rua = [\"mailto:tlsrpt@example.org\"] }}\n",
        crate::support::named::free_port()
    );
    let ws = Workspace::new(&config, false);
    std::fs::write(
        ws.path("example.org.zone"),
        "$ORIGIN example.org.\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300\n",
    )
    .unwrap();
    // Before any policy: plan says to write one.
    let out = ws.run("2026-11-29T12:00:00Z", &["plan"]);
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("mailauth mta-sts policy"),
        "{}",
        out.dump()
    );
    ws.run("2026-11-29T12:00:00Z", &["mta-sts", "policy"])
        .assert_exit(0);
    let before = ws.zone();
    // Nothing listens on the policy port: refused for example.com, example.org published.
    let out = ws.run("2026-11-29T12:00:00Z", &["--json", "publish", "--yes"]);
    out.assert_exit(1);
    let json = out.json();
    let domains = json["domains"].as_array().unwrap();
    let status = |d: &str| {
        domains
            .iter()
            .find(|o| o["domain"] == d)
            .unwrap_or_else(|| panic!("{d}: {}", out.dump()))
            .clone()
    };
    let com = status("example.com");
    assert_eq!(com["status"], "policy_not_served", "{}", out.dump());
    let error = com["error"].as_str().unwrap();
    assert!(
        error.contains("https://mta-sts.example.com:") && error.contains("serve the policy file"),
        "{error}"
    );
    assert_eq!(
        status("example.org")["status"],
        "confirmed",
        "{}",
        out.dump()
    );
    assert_eq!(ws.zone(), before, "nothing of example.com was applied");
    // The plan still wants the new id: the refusal changed nothing.
    let plan = ws.run("2026-11-29T12:00:00Z", &["plan", "--domain", "example.com"]);
    assert!(
        plan.stdout_str()
            .contains("+ _mta-sts.example.com 3600 TXT \"v=STSv1; id="),
        "{}",
        plan.dump()
    );
}

/// The `_mta-sts` id follows the state `mta-sts policy` keeps: a configuration changed since
/// then is refused in the plan until the policy is written again (RFC 8461 §3.1: a new policy
/// needs a new id).
#[test]
fn rfc8461_3_1_plan_refuses_a_policy_changed_since_it_was_written() {
    let ws = Workspace::new(STS_ONLY, false);
    ws.run("2026-11-29T12:00:00Z", &["mta-sts", "policy"])
        .assert_exit(0);
    std::fs::write(
        ws.path("mailauth.toml"),
        STS_ONLY.replace("mode = \"testing\"", "mode = \"enforce\""),
    )
    .unwrap();
    let out = ws.run("2026-11-29T12:00:00Z", &["plan"]);
    out.assert_exit(2);
    assert!(
        out.stderr_str().contains("differs from the one written"),
        "{}",
        out.dump()
    );
}

/// RFC 8461 §8.1 with a real HTTPS server on loopback (a test CA passed as the section's `ca`):
/// publish refuses while an older policy is served, and changes the id once the new one is.
#[test]
fn rfc8461_8_1_publish_changes_the_id_after_the_new_policy_is_served() {
    use crate::support::https_server::{HttpsServer, Reply, TestCa};
    use std::collections::HashMap;
    if tool("openssl").is_none() {
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    let ca = TestCa::new(pki.path(), "test-ca");
    let cert = ca.issue("mta-sts", &["mta-sts.example.com"], 30);
    let serve = |body: &str| {
        let mut replies = HashMap::new();
        replies.insert("mta-sts.example.com".to_owned(), Reply::policy(body));
        HttpsServer::start(&cert, replies)
    };
    // An old policy is served first.
    let old = "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n";
    let server = serve(old);
    let config = format!(
        "{STS_ONLY}https_port = {}\nca = \"{}\"\n",
        server.port,
        ca.cert.display()
    );
    let ws = Workspace::new(&config, false);
    // The test CA's certificates are valid from the moment openssl made them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let now = now.as_str();
    let written = ws.run(now, &["--json", "mta-sts", "policy"]);
    written.assert_exit(0);
    let written = written.json();
    let id = written["id"].as_str().unwrap().to_owned();
    let policy = written["policy"].as_str().unwrap().to_owned();
    let out = ws.run(now, &["publish", "--yes"]);
    out.assert_exit(1);
    let err = out.stderr_str();
    assert!(
        err.contains("serves another policy")
            && err.contains("line 2: served \"mode: none\", expected \"mode: testing\""),
        "{}",
        out.dump()
    );
    assert!(!ws.zone().contains("_mta-sts"), "{}", ws.zone());
    drop(server);

    // The new policy is served (with LF line ends: the same policy, RFC 8461 §3.2): published.
    let server = serve(&policy.replace("\r\n", "\n"));
    let config = format!(
        "{STS_ONLY}https_port = {}\nca = \"{}\"\n",
        server.port,
        ca.cert.display()
    );
    std::fs::write(ws.path("mailauth.toml"), config).unwrap();
    let out = ws.run(now, &["publish", "--yes"]);
    out.assert_exit(0);
    let resolver =
        mailauth::dns::zone::ZoneResolver::from_files(&[ws.path("example.com.zone")]).unwrap();
    let txt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(mailauth::dns::Resolver::txt(
            &resolver,
            "_mta-sts.example.com",
        ))
        .unwrap();
    assert_eq!(txt[0].joined(), format!("v=STSv1; id={id}").as_bytes());
    // Nothing changes the id now: a second publish has nothing to do and fetches nothing.
    drop(server);
    ws.run(now, &["publish", "--yes"]).assert_exit(0);
}

/// `keys` in the dane section give `3 1 1` records from the key's SubjectPublicKeyInfo (RFC 7672
/// §3.1.1 with RFC 6698 §2.1.2 selector 1): the same digest openssl computes from the
/// certificate made with that key, so the next key's record can be published before its
/// certificate exists.
#[test]
fn rfc7672_3_1_1_dane_keys_give_the_certificates_spki_digest() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = openssl_cert(dir.path(), "mx1.example.com", "cert") else {
        return;
    };
    let text = TLS_RPT_AND_DANE.replace(
        "certs = [\"cert.pem\", \"next.pem\"]",
        &format!(
            "keys = [\"{}\"]\nhosts = [\"mx1.example.com\"]",
            key.file_name().unwrap().to_str().unwrap()
        ),
    );
    let config = Config::parse(&text, "m.toml").unwrap();
    let domain = config.domains.keys().next().unwrap();
    let store = mailauth::keys::KeyStore::new(dir.path().join("keys"));
    let inputs = TransportInputs {
        config_dir: dir.path().to_owned(),
        mx_hosts: None,
        tlsa_rollovers: Default::default(),
    };
    let want = desired(domain, &config.domains[domain], &store, &inputs).unwrap();
    let tlsa: Vec<_> = want
        .iter()
        .filter(|d| d.rtype == RecordType::Tlsa)
        .collect();
    assert_eq!(tlsa.len(), 1, "{want:?}");
    assert_eq!(tlsa[0].name, "_25._tcp.mx1.example.com");
    assert_eq!(
        tlsa[0].value.as_deref(),
        Some(format!("3 1 1 {}", openssl_digest(&cert, 1, "sha256")).as_str())
    );
}
