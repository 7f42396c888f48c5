//! The provider conformance battery against the backends that need no account, through the
//! root crate's test harness: the zone-file backend's result must also satisfy BIND's
//! `named-checkzone` and serve the same answers through mailauth's zone-file resolver.

use mailauth::dns::Resolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth_providers::conformance::{FOREIGN, UNMANAGED, run};
use mailauth_providers::zonefile::ZoneFileProvider;

use crate::dkim::runtime;
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
    let err = mailauth_providers::Provider::records(&wrong, "battery.test", "battery.test")
        .unwrap_err()
        .to_string();
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
    let err = mailauth_providers::Provider::records(&wrong, ZONE, ZONE)
        .unwrap_err()
        .to_string();
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
        ttl: 300,
        value: "v=spf1 -all".into(),
        managed: true,
    };
    let err = mailauth_providers::Provider::apply(
        &wrong,
        "battery.test",
        &[mailauth_providers::Change::Create(record)],
    )
    .unwrap_err()
    .to_string();
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
