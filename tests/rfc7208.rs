//! The OpenSPF RFC 7208 test suite (release 2014.05, 16 scenarios, 203 tests), run against
//! `spf::eval::check_host`. Each scenario's `zonedata` becomes a `ZoneResolver`; `TIMEOUT`
//! makes lookups at that name that find nothing fail as temporary errors; `SPF`-type records
//! stand in as TXT where a name has no TXT entry (the suite's convention), and `TXT: NONE` means
//! no TXT records. Where a test lists several acceptable results, any of them passes.
//!
//! Explanations are compared without regard to ASCII case: the suite writes `%{ir}` nibbles of
//! IPv6 addresses in upper case, where RFC 7208 §7.4's own example has lower case.
//!
//! The suite is read from `../shared/testdata/rfc7208/`, or from `target/upstream/rfc7208/` where
//! `.ci/install-deps` fetches it from upstream when `../shared` is absent.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use async_trait::async_trait;
use mailauth::dns::zone::{ZoneData, ZoneResolver};
use mailauth::dns::{DnsError, MxRecord, Resolver, TxtRecord, normalize_name};
use mailauth::spf::eval::{SpfOptions, SpfQuery, check_host};
use serde_yaml::Value;

use crate::dkim::runtime;
use crate::support::skip_or_fail;

fn suite_path() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/testdata/rfc7208/rfc7208-tests.yml"),
        root.join("target/upstream/rfc7208/rfc7208-tests.yml"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Zone data with the suite's TIMEOUT rule on top.
#[derive(Debug)]
struct SuiteResolver {
    zone: ZoneResolver,
    timeouts: HashSet<String>,
}

impl SuiteResolver {
    fn timeout<T>(&self, name: &str, answer: Result<T, DnsError>) -> Result<T, DnsError> {
        match answer {
            Err(e) if e.is_void() && self.timeouts.contains(&normalize_name(name)) => {
                Err(DnsError::Temporary {
                    name: normalize_name(name),
                    reason: "TIMEOUT (test suite)".into(),
                })
            }
            other => other,
        }
    }
}

#[async_trait]
impl Resolver for SuiteResolver {
    async fn txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        self.timeout(name, self.zone.txt(name).await)
    }
    async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        self.timeout(name, self.zone.a(name).await)
    }
    async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        self.timeout(name, self.zone.aaaa(name).await)
    }
    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError> {
        self.timeout(name, self.zone.mx(name).await)
    }
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        self.zone.ptr(ip).await
    }
    async fn ns(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.timeout(name, self.zone.ns(name).await)
    }
}

/// YAML strings carry the suite's `\xNN` bytes as code points below 256: turn them back.
fn bytes(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| match u8::try_from(u32::from(c)) {
            Ok(b) => vec![b],
            Err(_) => c.to_string().into_bytes(),
        })
        .collect()
}

fn strings(value: &Value) -> Option<Vec<Vec<u8>>> {
    match value {
        Value::String(s) if s == "NONE" => None,
        Value::String(s) => Some(vec![bytes(s)]),
        Value::Sequence(items) => Some(
            items
                .iter()
                .map(|i| bytes(i.as_str().unwrap_or_default()))
                .collect(),
        ),
        other => Some(vec![bytes(&scalar(other))]),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("unexpected YAML value {other:?}"),
    }
}

fn resolver(zonedata: &Value) -> SuiteResolver {
    let mut zone = ZoneResolver::default();
    let mut timeouts = HashSet::new();
    let Some(map) = zonedata.as_mapping() else {
        return SuiteResolver { zone, timeouts };
    };
    for (name, records) in map {
        let name = scalar(name);
        let records = records.as_sequence().cloned().unwrap_or_default();
        let mut txt = Vec::new();
        let mut spf = Vec::new();
        let mut txt_entry = false;
        for record in &records {
            if record.as_str() == Some("TIMEOUT") {
                timeouts.insert(normalize_name(&name));
                continue;
            }
            let Some(entry) = record.as_mapping() else {
                panic!("{name}: unexpected record {record:?}");
            };
            for (rtype, value) in entry {
                let data = match scalar(rtype).as_str() {
                    "TXT" => {
                        txt_entry = true;
                        txt.extend(strings(value));
                        continue;
                    }
                    "SPF" => {
                        spf.extend(strings(value));
                        continue;
                    }
                    "A" => ZoneData::A(scalar(value).parse().expect("A")),
                    "AAAA" => ZoneData::Aaaa(scalar(value).parse().expect("AAAA")),
                    "MX" => {
                        let pair = value.as_sequence().expect("MX pair");
                        ZoneData::Mx(MxRecord {
                            preference: scalar(&pair[0]).parse().expect("MX preference"),
                            exchange: normalize_name(&scalar(&pair[1])),
                        })
                    }
                    "PTR" => ZoneData::Ptr(normalize_name(&scalar(value))),
                    "CNAME" => ZoneData::Cname(normalize_name(&scalar(value))),
                    other => panic!("{name}: record type {other} not handled"),
                };
                zone.insert(&name, data);
            }
        }
        let txt = if txt_entry { txt } else { spf };
        for strings in txt {
            zone.insert(&name, ZoneData::Txt(TxtRecord::new(strings)));
        }
        if records.iter().all(|r| r.as_str() == Some("TIMEOUT")) {
            // Only TIMEOUT: the name itself must not exist as a record owner, so every lookup
            // finds nothing and times out.
        }
    }
    SuiteResolver { zone, timeouts }
}

#[test]
fn rfc7208_openspf_suite_passes_completely() {
    let Some(path) = suite_path() else {
        skip_or_fail("the RFC 7208 test suite (../shared/testdata/rfc7208 or target/upstream)");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("suite readable");
    let rt = runtime();
    let mut run = 0;
    let mut failures = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let scenario = Value::deserialize(document).expect("YAML document");
        let description = scenario["description"].as_str().unwrap_or("?").to_owned();
        let resolver = resolver(&scenario["zonedata"]);
        let tests = scenario["tests"].as_mapping().expect("tests");
        for (name, test) in tests {
            let name = scalar(name);
            let ip: IpAddr = scalar(&test["host"]).parse().expect("host IP");
            let helo = scalar(&test["helo"]);
            let mail_from = test["mailfrom"].as_str().unwrap_or("").to_owned();
            let query = if mail_from.is_empty() {
                SpfQuery::for_helo(ip, &helo)
            } else {
                SpfQuery::for_mail(ip, &helo, &mail_from)
            };
            let accepted: Vec<String> = match &test["result"] {
                Value::Sequence(list) => list.iter().map(scalar).collect(),
                one => vec![scalar(one)],
            };
            let output = rt.block_on(check_host(&resolver, &query, &SpfOptions::new(0)));
            run += 1;
            let got = output.result.as_str();
            let mut problems = Vec::new();
            if !accepted.iter().any(|a| a == got) {
                problems.push(format!(
                    "result {got}, expected {accepted:?} ({:?})",
                    output.reason
                ));
            }
            if let Some(expected) = test["explanation"].as_str()
                && expected != "DEFAULT"
                && !output
                    .explanation
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(expected))
            {
                problems.push(format!(
                    "explanation {:?}, expected {expected:?}",
                    output.explanation
                ));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{description} / {name} (spec {}): {}",
                    scalar(&test["spec"]),
                    problems.join("; ")
                ));
            }
        }
    }
    assert_eq!(run, 203, "the suite has 203 tests");
    assert!(
        failures.is_empty(),
        "{} of {run} RFC 7208 suite tests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

use serde::Deserialize as _;
