//! SPF evaluation beyond the RFC 7208 suite: the same questions through the zone file, UDP and
//! TCP; a differential check against pyspf on generated SPF trees; and the `spf` and
//! `record spf` commands.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use mailauth::dns::Resolver;
use mailauth::dns::hickory::{HickoryResolver, Transport};
use mailauth::dns::zone::ZoneResolver;
use mailauth::spf::SpfResult;
use mailauth::spf::eval::{SpfOptions, SpfQuery, check_host};

use crate::dkim::runtime;
use crate::support::cmd::mailauth;
use crate::support::dns_server::TestDnsServer;
use crate::support::{dkimpy_python, run, testdata};

fn fixture() -> PathBuf {
    testdata().join("dns/spf.test.zone")
}

fn evaluate(resolver: &dyn Resolver, ip: &str, mail_from: &str) -> mailauth::spf::eval::SpfOutput {
    let query = SpfQuery::for_mail(ip.parse().unwrap(), "client.example", mail_from);
    runtime().block_on(check_host(resolver, &query, &SpfOptions::new(0)))
}

const FIXTURE_CASES: [(&str, &str, SpfResult); 13] = [
    ("192.0.2.25", "joe@spf.test", SpfResult::Pass),
    ("2001:db8:25::1", "joe@spf.test", SpfResult::Pass),
    ("203.0.113.200", "joe@spf.test", SpfResult::Pass),
    ("2001:db8:1234::1", "joe@spf.test", SpfResult::Pass),
    ("192.0.2.77", "joe@spf.test", SpfResult::Pass),
    ("192.0.2.1", "joe@spf.test", SpfResult::Fail),
    ("192.0.2.77", "x@sub.spf.test", SpfResult::Pass),
    ("192.0.2.99", "x@soft.spf.test", SpfResult::Pass),
    ("192.0.2.98", "x@soft.spf.test", SpfResult::SoftFail),
    ("192.0.2.1", "x@toomany.spf.test", SpfResult::PermError),
    ("192.0.2.1", "x@broken.spf.test", SpfResult::PermError),
    ("192.0.2.1", "x@two.spf.test", SpfResult::PermError),
    // An include loop ends at the limit of 10 DNS-querying terms.
    ("192.0.2.1", "x@loop1.spf.test", SpfResult::PermError),
];

#[test]
fn rfc7208_fixture_answers_agree_over_zone_udp_and_tcp() {
    let server = TestDnsServer::start(&[fixture()]);
    let zone = ZoneResolver::from_files(&[fixture()]).unwrap();
    let udp = HickoryResolver::with_servers(&[server.udp_addr()]).unwrap();
    let tcp = HickoryResolver::with_servers_over(&[server.tcp_addr()], Transport::Tcp).unwrap();
    for (ip, from, expected) in FIXTURE_CASES {
        let answers: Vec<_> = [&zone as &dyn Resolver, &udp, &tcp]
            .into_iter()
            .map(|r| evaluate(r, ip, from))
            .collect();
        assert_eq!(answers[0].result, expected, "{ip} {from}: {:?}", answers[0]);
        for other in &answers[1..] {
            assert_eq!(other.result, answers[0].result, "{ip} {from}");
            assert_eq!(
                other.dns_mechanisms, answers[0].dns_mechanisms,
                "{ip} {from}"
            );
        }
    }
    let fail = evaluate(&zone, "192.0.2.1", "joe@spf.test");
    assert_eq!(
        fail.explanation.as_deref(),
        Some("192.0.2.1 is not allowed to send for spf.test; see https://spf.test/why?joe")
    );
    assert_eq!(fail.dns_mechanisms, 6);
}

#[test]
fn rfc7208_4_6_4_void_lookup_limit() {
    let zone = ZoneResolver::from_files(&[fixture()]).unwrap();
    let out = evaluate(&zone, "192.0.2.1", "x@voids.spf.test");
    assert_eq!(out.result, SpfResult::PermError, "{out:?}");
    assert_eq!(out.void_lookups, 3);
    assert!(out.reason.unwrap().contains("void lookups"));
}

/// A deterministic generator (no seed from the clock: every run checks the same trees).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const DOMAINS: usize = 40;

/// A zone of generated SPF trees under gen.test, and client addresses to try.
fn generated_zone(seed: u64) -> (String, Vec<String>) {
    let mut rng = Lcg(seed);
    let mut zone = String::from(
        "$ORIGIN gen.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n",
    );
    let mut ips = vec!["192.0.2.1".to_owned(), "2001:db8::1".to_owned()];
    for i in 0..DOMAINS {
        let name = format!("d{i}");
        let mut terms = Vec::new();
        for _ in 0..1 + rng.next(4) {
            let qualifier = ["", "", "-", "~", "?"][rng.next(5) as usize];
            let term = match rng.next(8) {
                0 | 1 => {
                    let (net, len) = (rng.next(256), [24, 25, 28, 32][rng.next(4) as usize]);
                    ips.push(format!("198.51.{net}.{}", rng.next(256)));
                    format!("ip4:198.51.{net}.0/{len}")
                }
                2 => {
                    let net = rng.next(4096);
                    ips.push(format!("2001:db8:{net:x}::{:x}", rng.next(65536)));
                    format!(
                        "ip6:2001:db8:{net:x}::/{}",
                        [48, 64, 128][rng.next(3) as usize]
                    )
                }
                3 => {
                    let host = rng.next(200);
                    let _ = writeln!(zone, "h{i}-{host} IN A 203.0.113.{host}");
                    ips.push(format!("203.0.113.{host}"));
                    format!(
                        "a:h{i}-{host}.gen.test/{}",
                        [32, 30, 24][rng.next(3) as usize]
                    )
                }
                4 => {
                    let host = rng.next(200);
                    let _ = writeln!(zone, "{name} IN MX 10 m{i}\nm{i} IN A 192.0.2.{host}");
                    ips.push(format!("192.0.2.{host}"));
                    "mx".to_owned()
                }
                5 if i % 3 == 0 && i + 3 < DOMAINS => {
                    format!("include:d{}.gen.test", i + 1 + rng.next(3) as usize)
                }
                6 => {
                    let octet = rng.next(256);
                    let _ = writeln!(zone, "198.51.7.{octet}.ex IN A 127.0.0.2");
                    ips.push(format!("198.51.7.{octet}"));
                    "exists:%{i}.ex.gen.test".to_owned()
                }
                _ => "a".to_owned(),
            };
            terms.push(format!("{qualifier}{term}"));
        }
        if rng.next(4) == 0 && i % 3 == 1 && i + 3 < DOMAINS {
            terms.push(format!("redirect=d{}.gen.test", i + 2));
        } else {
            terms.push(format!("{}all", ["-", "~", "?", ""][rng.next(4) as usize]));
        }
        if rng.next(3) == 0 {
            let _ = writeln!(zone, "{name} IN A 192.0.2.{}", 100 + i);
            ips.push(format!("192.0.2.{}", 100 + i));
        }
        let _ = writeln!(zone, "{name} IN TXT \"v=spf1 {}\"", terms.join(" "));
    }
    ips.sort();
    ips.dedup();
    (zone, ips)
}

#[test]
fn spf_agrees_with_pyspf_on_generated_trees() {
    let Some(python) = dkimpy_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut disagreements = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for seed in [1, 2, 3] {
        let (zone_text, ips) = generated_zone(seed);
        let zone_path = dir.path().join(format!("gen{seed}.zone"));
        std::fs::write(&zone_path, &zone_text).unwrap();
        let zone = ZoneResolver::from_files(std::slice::from_ref(&zone_path)).unwrap();
        let mut queries = Vec::new();
        let mut ours = Vec::new();
        for i in 0..DOMAINS {
            for ip in ips.iter().step_by(1 + i % 5).take(6) {
                let sender = format!("user@d{i}.gen.test");
                queries.push(
                    serde_json::json!({"ip": ip, "sender": sender, "helo": "client.example"}),
                );
                ours.push((ip.clone(), sender.clone(), evaluate(&zone, ip, &sender)));
            }
        }
        let theirs = pyspf(&python, &zone_path, &serde_json::Value::Array(queries));
        for ((ip, sender, ours), theirs) in ours.iter().zip(theirs) {
            compared += 1;
            kinds.insert(ours.result.as_str());
            if ours.result.as_str() != theirs {
                disagreements.push(format!(
                    "seed {seed}: {sender} from {ip}: mailauth {} ({:?}), pyspf {theirs}",
                    ours.result, ours.reason
                ));
            }
        }
    }
    assert!(compared >= 600, "{compared}");
    // The trees must exercise the verdicts, not only one of them.
    assert!(kinds.len() >= 4, "{kinds:?}");
    assert!(
        disagreements.is_empty(),
        "{} of {compared} disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

fn pyspf(python: &Path, zone: &Path, queries: &serde_json::Value) -> Vec<String> {
    let out = run(
        Command::new(python)
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pyspf_peer.py"))
            .arg(zone),
        queries.to_string().as_bytes(),
    );
    let results: Vec<(String, String)> = serde_json::from_slice(&out).expect("pyspf JSON");
    results.into_iter().map(|(r, _)| r).collect()
}

#[test]
fn spf_command_exit_codes_trace_and_json() {
    let zone = fixture().display().to_string();
    let out = mailauth()
        .args(["--zone", &zone, "spf", "spf.test", "--ip", "192.0.2.25"])
        .run();
    out.assert_exit(0);
    let text = out.stdout_str();
    assert!(text.starts_with("spf=pass"), "{text}");
    assert!(text.contains("mx  -> match: pass"), "{text}");
    let out = mailauth()
        .args([
            "spf",
            "spf.test",
            "--ip",
            "192.0.2.1",
            "--mail-from",
            "joe@spf.test",
            "--zone",
            &zone,
            "--json",
        ])
        .run();
    out.assert_exit(1);
    let json = out.json();
    assert_eq!(json["result"], "fail");
    assert_eq!(json["dns_mechanisms"], 6);
    assert!(
        json["explanation"]
            .as_str()
            .unwrap()
            .contains("see https://spf.test/why?joe")
    );
    assert!(json["trace"].as_array().unwrap().len() > 10);
    // A server that refuses: temperror, exit 3.
    let server = TestDnsServer::start(&[testdata().join("dns/empty.test.zone")]);
    let addr = server.udp_addr().to_string();
    let out = mailauth()
        .args(["--resolver", &addr, "spf", "spf.test", "--ip", "192.0.2.1"])
        .run();
    out.assert_exit(3);
    let out = mailauth()
        .args(["--zone", &zone, "spf", "spf.test", "--ip", "not-an-ip"])
        .run();
    out.assert_exit(2);
}

#[test]
fn record_spf_builds_splits_and_counts_lookups() {
    let zone = fixture().display().to_string();
    let out = mailauth()
        .args([
            "--zone",
            &zone,
            "record",
            "spf",
            "--mx",
            "--include",
            "_spf.mailer.spf.test",
            "--ip4",
            "198.51.100.0/24",
            "--ip6",
            "2001:db8::/32",
            "--all",
            "-",
            "--domain",
            "spf.test",
        ])
        .run();
    out.assert_exit(0);
    assert_eq!(
        out.stdout_str(),
        "spf.test. IN TXT \"v=spf1 mx ip4:198.51.100.0/24 ip6:2001:db8::/32 include:_spf.mailer.spf.test -all\"\n"
    );
    assert!(out.stderr_str().contains("DNS lookups: 4 of 10"));
    // A loop is named as one.
    let out = mailauth()
        .args([
            "--zone",
            &zone,
            "record",
            "spf",
            "--include",
            "loop1.spf.test",
        ])
        .run();
    assert!(
        out.stderr_str().contains("includes itself"),
        "{}",
        out.stderr_str()
    );
    // Over the budget: exit 1 and say so.
    let out = mailauth()
        .args([
            "--zone",
            &zone,
            "record",
            "spf",
            "--include",
            "toomany.spf.test",
        ])
        .run();
    out.assert_exit(1);
    assert!(out.stderr_str().contains("over the limit"));
    // Many networks: strings of at most 255 bytes.
    let mut args: Vec<String> = ["--zone", &zone, "--json", "record", "spf", "--all", "-"]
        .map(String::from)
        .to_vec();
    for i in 0..40 {
        args.extend(["--ip4".into(), format!("198.51.{i}.0/24")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = mailauth().args(&args).run();
    let json = out.json();
    let strings = json["strings"].as_array().unwrap();
    assert!(strings.len() >= 3, "{json}");
    assert!(strings.iter().all(|s| s.as_str().unwrap().len() <= 255));
    assert_eq!(json["lookups"]["total"], 0);
    for bad in [["--ip4", "300.1.1.1"], ["--all", "+"]] {
        let mut args = vec!["--zone", zone.as_str(), "record", "spf"];
        args.extend(bad);
        mailauth().args(&args).run().assert_exit(2);
    }
}

#[test]
fn ipv4_mapped_ipv6_clients_are_checked_as_ipv4() {
    let zone = ZoneResolver::from_files(&[fixture()]).unwrap();
    let mapped: IpAddr = "::ffff:192.0.2.25".parse().unwrap();
    let query = SpfQuery::for_mail(mapped, "x", "joe@spf.test");
    let out = runtime().block_on(check_host(&zone, &query, &SpfOptions::new(0)));
    assert_eq!(out.result, SpfResult::Pass);
}
