//! The provider conformance battery against every backend: one test per step per backend
//! (`conformance_battery!`, each on a freshly seeded zone: memory, zonefile, powerdns against a
//! real pdns_server, rfc2136 against real BIND and Knot, cloudflare against the API fake), then
//! the whole battery in one run per backend with the checks only a real server gives: the
//! zone-file backend's result must also satisfy BIND's `named-checkzone` and serve the same
//! answers through mailauth's zone-file resolver, and rejected credentials are explained.

use mailauth::dns::Resolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth_providers::conformance::{FOREIGN, Harness, UNMANAGED, run};
use mailauth_providers::conformance_battery;
use mailauth_providers::memory::MemoryProvider;
use mailauth_providers::zonefile::ZoneFileProvider;
use mailauth_providers::{ProviderError, RecordType};

use crate::dkim::runtime;
use crate::support::cmd::mailauth;
use crate::support::named::checkzone;
use crate::support::tool;

#[test]
fn zonefile_backend_passes_the_battery_and_named_checkzone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("battery.test.zone");
    std::fs::write(
        &path,
        format!(
            "; kept as written\n$ORIGIN battery.test.\n$TTL 300\n@ IN SOA ns1 hostmaster ( 2026112501 ; serial\n 3600 600 86400 300 )\n@ IN NS ns1\nns1 IN A 192.0.2.1\n@ IN TXT \"{FOREIGN}\"\nold._domainkey IN TXT \"{UNMANAGED}\"\n"
        ),
    )
    .unwrap();
    run(&ZoneFileProvider::new(&path), "battery.test").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("; kept as written\n"), "{text}");
    assert!(!text.contains("2026112501 ;"), "serial bumped: {text}");
    if tool("named-checkzone").is_some() {
        checkzone("battery.test", &path).unwrap();
    }
    let zone = ZoneResolver::from_files(&[path]).unwrap();
    let dkim = runtime()
        .block_on(zone.txt("rsa2048._domainkey.battery.test"))
        .unwrap();
    assert!(dkim[0].strings.len() >= 2 && dkim[0].strings.iter().all(|s| s.len() <= 255));
}

#[test]
fn powerdns_backend_passes_the_battery_against_a_real_pdns_server() {
    use mailauth_providers::powerdns::PowerDns;
    let Some(pdns) = crate::support::pdns::Pdns::start() else {
        return;
    };
    pdns.create_zone("battery.test");
    // The foreign apex record and the unmanaged selector, as another tool would have written them.
    let seed = serde_json::json!({"rrsets": [
        {"name": "battery.test.", "type": "TXT", "ttl": 300, "changetype": "REPLACE",
         "records": [{"content": format!("\"{FOREIGN}\""), "disabled": false}]},
        {"name": "old._domainkey.battery.test.", "type": "TXT", "ttl": 300, "changetype": "REPLACE",
         "records": [{"content": format!("\"{UNMANAGED}\""), "disabled": false}]},
    ]});
    let (status, body) = pdns
        .request(
            "PATCH",
            "/api/v1/servers/localhost/zones/battery.test.",
            Some(seed),
        )
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let provider = PowerDns::new(&pdns.api, pdns.key.clone()).unwrap();
    run(&provider, "battery.test").unwrap();
    // A wrong key is explained, and the key is not in the message.
    let wrong = PowerDns::new(&pdns.api, "not-the-key".into()).unwrap();
    let err = mailauth_providers::Provider::records(
        &wrong,
        "battery.test",
        "battery.test",
        RecordType::Txt,
    )
    .unwrap_err();
    assert!(matches!(err, ProviderError::Credentials { .. }), "{err}");
    let err = err.to_string();
    assert!(
        err.contains("API key was rejected") && !err.contains("not-the-key"),
        "{err}"
    );
}

#[test]
fn cloudflare_backend_passes_the_battery_against_the_api_fake() {
    use crate::support::cloudflare_fake::{CloudflareFake, TOKEN, ZONE};
    use mailauth_providers::cloudflare::Cloudflare;
    let fake = CloudflareFake::start();
    fake.seed(ZONE, &format!("\"{FOREIGN}\""));
    // A second foreign apex record: with the SPF value, the apex takes two pages of two.
    fake.seed(ZONE, "\"another-service=1\"");
    fake.seed(
        &format!("old._domainkey.{ZONE}"),
        &format!("\"{UNMANAGED}\""),
    );
    let provider = Cloudflare::new(Some(&fake.base()), TOKEN.into()).unwrap();
    run(&provider, ZONE).unwrap();
    // The long DKIM value is stored as quoted 255-byte strings and read back whole.
    let state = fake.state.lock().unwrap();
    let long = state
        .records
        .iter()
        .find(|r| r.1 == format!("rsa2048._domainkey.{ZONE}"))
        .unwrap();
    assert!(
        long.2.starts_with('"') && long.2.contains("\" \""),
        "{}",
        long.2
    );
    assert_eq!(
        long.4.as_deref(),
        Some(mailauth_providers::cloudflare::COMMENT)
    );
    assert!(state.records.iter().any(|r| r.2 == "\"another-service=1\""));
    drop(state);
    // A wrong token is explained without showing it.
    let wrong = Cloudflare::new(Some(&fake.base()), "wrong-token".into()).unwrap();
    let err =
        mailauth_providers::Provider::records(&wrong, ZONE, ZONE, RecordType::Txt).unwrap_err();
    assert!(matches!(err, ProviderError::Credentials { .. }), "{err}");
    let err = err.to_string();
    assert!(
        err.contains("authentication failed")
            && err.contains("10000")
            && !err.contains("wrong-token"),
        "{err}"
    );
    // Plain HTTP to a non-loopback host is refused before any request.
    assert!(Cloudflare::new(Some("http://api.example.com/client/v4"), TOKEN.into()).is_err());
}

#[test]
fn rfc2136_backend_passes_the_battery_against_bind_with_tsig() {
    use mailauth_providers::rfc2136::{Rfc2136, TsigKey};
    let Some(keygen) = tool("tsig-keygen") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("tsig.key");
    let out = std::process::Command::new(keygen)
        .args(["-a", "hmac-sha256", "mailauth-key"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&key_file, &out.stdout).unwrap();
    let zone = dir.path().join("battery.test.zone");
    std::fs::write(
        &zone,
        format!("$ORIGIN battery.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN TXT \"{FOREIGN}\"\nold._domainkey IN TXT \"{UNMANAGED}\"\n"),
    )
    .unwrap();
    let Some(named) = crate::support::named::Named::start_with_update_key(
        &[("battery.test".into(), zone)],
        Some(("mailauth-key", &key_file)),
    ) else {
        return;
    };
    let key = TsigKey::from_bind_file(&key_file).unwrap();
    assert!(!format!("{key:?}").contains("secret"));
    let provider = Rfc2136::new(named.addr(), key, dir.path().join("state.json"));
    run(&provider, "battery.test").unwrap();
    // A wrong secret is explained as a rejected key.
    let wrong_file = dir.path().join("wrong.key");
    std::fs::write(
        &wrong_file,
        "key \"mailauth-key\" { algorithm hmac-sha256; secret \"d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyBzZWNyZXQ=\"; };\n",
    )
    .unwrap();
    let wrong = Rfc2136::new(
        named.addr(),
        TsigKey::from_bind_file(&wrong_file).unwrap(),
        dir.path().join("state2.json"),
    );
    let record = mailauth_providers::Record {
        name: "x.battery.test".into(),
        rtype: RecordType::Txt,
        ttl: 300,
        value: "v=spf1 -all".into(),
        managed: true,
    };
    let err = mailauth_providers::Provider::apply(
        &wrong,
        "battery.test",
        &[mailauth_providers::Change::Create(record)],
    )
    .unwrap_err();
    assert!(matches!(err, ProviderError::Credentials { .. }), "{err}");
    let err = err.to_string();
    assert!(err.contains("TSIG key mailauth-key was rejected"), "{err}");
}

#[test]
fn rfc2136_backend_passes_the_battery_against_knot_with_tsig() {
    use mailauth_providers::rfc2136::{Rfc2136, TsigKey};
    let dir = tempfile::tempdir().unwrap();
    let secret = "bWFpbGF1dGgta25vdC10ZXN0LXNlY3JldC0zMi1ieXRlcyE=";
    let key_file = dir.path().join("tsig.key");
    std::fs::write(
        &key_file,
        format!("key \"mailauth-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n"),
    )
    .unwrap();
    let zone = dir.path().join("battery.test.zone");
    std::fs::write(
        &zone,
        format!("$ORIGIN battery.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN TXT \"{FOREIGN}\"\nold._domainkey IN TXT \"{UNMANAGED}\"\n"),
    )
    .unwrap();
    let Some(knot) = crate::support::knot::Knot::start(
        &[("battery.test".into(), zone)],
        ("mailauth-key", secret),
    ) else {
        return;
    };
    let provider = Rfc2136::new(
        knot.addr,
        TsigKey::from_bind_file(&key_file).unwrap(),
        dir.path().join("state.json"),
    );
    run(&provider, "battery.test").unwrap();
}

const ZONE_TEXT: &str = "$ORIGIN battery.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n";

/// The battery zone as a file: SOA, NS, the foreign apex record and the unmanaged selector.
fn battery_zone(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("battery.test.zone");
    std::fs::write(
        &path,
        format!("{ZONE_TEXT}@ IN TXT \"{FOREIGN}\"\nold._domainkey IN TXT \"{UNMANAGED}\"\n"),
    )
    .unwrap();
    path
}

fn harness(
    provider: impl mailauth_providers::Provider + 'static,
    guard: impl std::any::Any,
) -> Option<Harness> {
    Some(Harness {
        provider: Box::new(provider),
        zone: "battery.test".into(),
        guard: Box::new(guard),
    })
}

fn memory_harness() -> Option<Harness> {
    let provider = MemoryProvider::default();
    provider.seed("battery.test", "battery.test", 300, FOREIGN, false);
    provider.seed(
        "battery.test",
        "old._domainkey.battery.test",
        300,
        UNMANAGED,
        false,
    );
    harness(provider, ())
}

pub(crate) fn zonefile_harness() -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let provider = ZoneFileProvider::new(battery_zone(dir.path()));
    harness(provider, dir)
}

pub(crate) fn powerdns_harness() -> Option<Harness> {
    let pdns = crate::support::pdns::Pdns::start()?;
    pdns.create_zone("battery.test");
    let seed = serde_json::json!({"rrsets": [
        {"name": "battery.test.", "type": "TXT", "ttl": 300, "changetype": "REPLACE",
         "records": [{"content": format!("\"{FOREIGN}\""), "disabled": false}]},
        {"name": "old._domainkey.battery.test.", "type": "TXT", "ttl": 300, "changetype": "REPLACE",
         "records": [{"content": format!("\"{UNMANAGED}\""), "disabled": false}]},
    ]});
    let (status, body) = pdns
        .request(
            "PATCH",
            "/api/v1/servers/localhost/zones/battery.test.",
            Some(seed),
        )
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let provider =
        mailauth_providers::powerdns::PowerDns::new(&pdns.api, pdns.key.clone()).unwrap();
    harness(provider, pdns)
}

const KNOT_SECRET: &str = "bWFpbGF1dGgta25vdC10ZXN0LXNlY3JldC0zMi1ieXRlcyE=";

fn write_key(dir: &std::path::Path) -> std::path::PathBuf {
    let key_file = dir.join("tsig.key");
    std::fs::write(
        &key_file,
        format!(
            "key \"mailauth-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{KNOT_SECRET}\";\n}};\n"
        ),
    )
    .unwrap();
    key_file
}

fn rfc2136(
    server: std::net::SocketAddr,
    key_file: &std::path::Path,
    dir: &std::path::Path,
) -> mailauth_providers::rfc2136::Rfc2136 {
    use mailauth_providers::rfc2136::{Rfc2136, TsigKey};
    Rfc2136::new(
        server,
        TsigKey::from_bind_file(key_file).unwrap(),
        dir.join("state.json"),
    )
}

pub(crate) fn bind_harness() -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let key_file = write_key(dir.path());
    let zone = battery_zone(dir.path());
    let named = crate::support::named::Named::start_with_update_key(
        &[("battery.test".into(), zone)],
        Some(("mailauth-key", &key_file)),
    )?;
    let provider = rfc2136(named.addr(), &key_file, dir.path());
    harness(provider, (named, dir))
}

pub(crate) fn knot_harness() -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let key_file = write_key(dir.path());
    let zone = battery_zone(dir.path());
    let knot = crate::support::knot::Knot::start(
        &[("battery.test".into(), zone)],
        ("mailauth-key", KNOT_SECRET),
    )?;
    let provider = rfc2136(knot.addr, &key_file, dir.path());
    harness(provider, (knot, dir))
}

pub(crate) fn cloudflare_harness() -> Option<Harness> {
    use crate::support::cloudflare_fake::{CloudflareFake, TOKEN, ZONE};
    let fake = CloudflareFake::start();
    fake.seed(ZONE, &format!("\"{FOREIGN}\""));
    fake.seed(
        &format!("old._domainkey.{ZONE}"),
        &format!("\"{UNMANAGED}\""),
    );
    let provider =
        mailauth_providers::cloudflare::Cloudflare::new(Some(&fake.base()), TOKEN.into()).unwrap();
    harness(provider, fake)
}

conformance_battery!(memory, memory_harness);
conformance_battery!(zonefile, zonefile_harness);
conformance_battery!(powerdns, powerdns_harness);
conformance_battery!(rfc2136_bind, bind_harness);
conformance_battery!(rfc2136_knot, knot_harness);
conformance_battery!(cloudflare, cloudflare_harness);

#[test]
fn cloudflare_already_exists_is_decided_by_the_error_code() {
    use crate::support::cloudflare_fake::{CloudflareFake, TOKEN, ZONE};
    use mailauth_providers::{Change, Provider, Record};
    let fake = CloudflareFake::start();
    let provider =
        mailauth_providers::cloudflare::Cloudflare::new(Some(&fake.base()), TOKEN.into()).unwrap();
    let record = Record {
        name: format!("_dmarc.{ZONE}"),
        rtype: RecordType::Txt,
        ttl: 300,
        value: "v=DMARC1; p=none".into(),
        managed: true,
    };
    let create = [Change::Create(record)];
    provider.apply(ZONE, &create).unwrap();
    // The fake answers 81058 with a message that does not say "exists": the code decides.
    provider.apply(ZONE, &create).unwrap();
    assert_eq!(fake.state.lock().unwrap().records.len(), 1);
}

#[test]
fn zonefile_reads_relative_cname_and_mx_targets() {
    use mailauth_providers::Provider;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("battery.test.zone");
    std::fs::write(
        &path,
        format!("{ZONE_TEXT}s1._domainkey IN CNAME s1.dkim\n@ IN MX 10 Mail\n@ IN MX 0 .\n_25._tcp.mail IN TLSA 3 1 1 ( ABCD\n ef01 )\n"),
    )
    .unwrap();
    let provider = ZoneFileProvider::new(&path);
    let values = |name: &str, rtype| -> Vec<String> {
        provider
            .records("battery.test", name, rtype)
            .unwrap()
            .into_iter()
            .map(|r| r.value)
            .collect()
    };
    assert_eq!(
        values("s1._domainkey.battery.test", RecordType::Cname),
        ["s1.dkim.battery.test"]
    );
    assert_eq!(
        values("battery.test", RecordType::Mx),
        ["10 mail.battery.test", "0 ."]
    );
    assert_eq!(
        values("_25._tcp.mail.battery.test", RecordType::Tlsa),
        ["3 1 1 abcdef01"]
    );
}

/// The CNAME, MX and TLSA lines the zone-file backend writes are accepted by BIND's
/// `named-checkzone` and served by mailauth's zone-file resolver.
#[test]
fn zonefile_writes_cname_mx_and_tlsa_lines_named_accepts() {
    use mailauth_providers::{Desired, Ownership, apply_plan, plan};
    let dir = tempfile::tempdir().unwrap();
    let path = battery_zone(dir.path());
    let provider = ZoneFileProvider::new(&path);
    let want = |name: &str, rtype, value: &str| Desired {
        name: format!("{name}battery.test"),
        rtype,
        ttl: 300,
        value: Some(value.into()),
        ownership: Ownership::WholeName,
    };
    let desired = [
        want("s1._domainkey.", RecordType::Cname, "s1.dkim.example.net"),
        want("", RecordType::Mx, "10 mx1.example.net"),
        want("", RecordType::Mx, "20 mx2.example.net."),
        want(
            "_25._tcp.mx1.",
            RecordType::Tlsa,
            "3 1 1 8D02536C887482BC34FF54E41D2BA659BF85B341A0A20AFADB5813DCFBCF286D",
        ),
    ];
    let changes = plan(&provider, "battery.test", &desired, false).unwrap();
    apply_plan(&provider, "battery.test", &changes).unwrap();
    if tool("named-checkzone").is_some() {
        checkzone("battery.test", &path).unwrap();
    }
    let zone = ZoneResolver::from_files(&[path]).unwrap();
    let mut hosts: Vec<String> = runtime()
        .block_on(zone.mx("battery.test"))
        .unwrap()
        .into_iter()
        .map(|mx| format!("{} {}", mx.preference, mx.exchange))
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["10 mx1.example.net", "20 mx2.example.net"]);
}

/// Why (exit codes): a token the provider rejects is bad input (exit 2), not temporary.
#[test]
fn cloudflare_rejected_token_exits_2_not_3() {
    use crate::support::cloudflare_fake::{CloudflareFake, ZONE};
    let fake = CloudflareFake::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mailauth.toml"),
        format!(
            "[providers.cf]\nkind = \"cloudflare\"\nurl = \"{}\"\ntoken_env = \"CF_WRONG_TOKEN\"\n\n[domains.\"{ZONE}\"]\nprovider = \"cf\"\nspf = {{ mx = true }}\n",
            fake.base()
        ),
    )
    .unwrap();
    let out = mailauth()
        .arg("plan")
        .current_dir(dir.path())
        .env("CF_WRONG_TOKEN", "not-the-token")
        .run();
    let err = out.stderr_str();
    out.assert_exit(2);
    assert!(
        err.contains("authentication failed") && !err.contains("not-the-token"),
        "{err}"
    );
}
