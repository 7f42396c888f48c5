//! The DNS layer: every question is asked of the zone files through `ZoneResolver` and of an
//! in-process hickory-server serving the same files, over UDP and over TCP, and all three must
//! give the same answer, which must also be the expected one. hickory-server reads the files
//! with its own parser, so agreement also cross-checks mailauth's zone-file reader.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::OnceLock;

use mailauth::dns::hickory::{HickoryResolver, Transport};
use mailauth::dns::zone::ZoneResolver;
use mailauth::dns::{DnsError, MxRecord, Resolver};

use crate::dkim::runtime;
use crate::support::dns_server::TestDnsServer;
use crate::support::testdata;

fn zone_files() -> Vec<PathBuf> {
    vec![
        testdata().join("dns/local.test.zone"),
        testdata().join("dns/2.0.192.in-addr.arpa.zone"),
    ]
}

fn server() -> &'static TestDnsServer {
    static SERVER: OnceLock<TestDnsServer> = OnceLock::new();
    SERVER.get_or_init(|| TestDnsServer::start(&zone_files()))
}

fn paths() -> Vec<(&'static str, Box<dyn Resolver>)> {
    vec![
        (
            "zone file",
            Box::new(ZoneResolver::from_files(&zone_files()).expect("zone files load")),
        ),
        (
            "UDP",
            Box::new(HickoryResolver::with_servers(&[server().udp_addr()]).expect("resolver")),
        ),
        (
            "TCP",
            Box::new(
                HickoryResolver::with_servers_over(&[server().tcp_addr()], Transport::Tcp)
                    .expect("resolver"),
            ),
        ),
    ]
}

/// Ask every path the same question; assert they agree and return the answer.
fn ask<T, F>(question: F) -> Result<T, DnsError>
where
    T: PartialEq + std::fmt::Debug,
    F: for<'a> Fn(
        &'a dyn Resolver,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<T, DnsError>> + 'a>>,
{
    let rt = runtime();
    let mut answers = Vec::new();
    for (name, resolver) in paths() {
        let answer = rt.block_on(question(resolver.as_ref()));
        answers.push((name, answer));
    }
    let (first_name, first) = answers.remove(0);
    for (name, answer) in answers {
        assert_eq!(
            normalize(&answer),
            normalize(&first),
            "{name} disagrees with {first_name}"
        );
    }
    first
}

/// Errors compare by kind and name (reasons differ between paths); answers sort.
fn normalize<T: std::fmt::Debug>(answer: &Result<T, DnsError>) -> String {
    match answer {
        Ok(value) => {
            let mut text = format!("{value:?}");
            // Record order within an RRset is not significant.
            if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                let mut parts: Vec<&str> = inner.split(", ").collect();
                parts.sort_unstable();
                text = parts.join(", ");
            }
            text
        }
        Err(DnsError::NxDomain { name }) => format!("NXDOMAIN {name}"),
        Err(DnsError::NoData { name, rtype }) => format!("NODATA {name} {rtype}"),
        Err(DnsError::Temporary { name, .. }) => format!("TEMPORARY {name}"),
        Err(other) => format!("{other:?}"),
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn rfc1035_txt_records_keep_their_strings() {
    let txt = ask(|r| Box::pin(r.txt("local.test"))).expect("apex TXT");
    let mut values: Vec<Vec<Vec<u8>>> = txt.into_iter().map(|t| t.strings).collect();
    values.sort();
    assert_eq!(
        values,
        vec![
            vec![b"second".to_vec(), b"record".to_vec()],
            vec![b"v=spf1 mx -all".to_vec()],
        ]
    );
    let long = ask(|r| Box::pin(r.txt("LONG.local.test."))).expect("long TXT");
    assert_eq!(long[0].strings.len(), 2, "parentheses join two strings");
    assert_eq!(long[0].joined().len(), 126);
}

#[test]
fn rfc1035_addresses_mx_ns_and_ptr() {
    assert_eq!(
        ask(|r| Box::pin(r.a("mx1.local.test"))).unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 25)]
    );
    assert_eq!(
        ask(|r| Box::pin(r.aaaa("mx1.local.test"))).unwrap(),
        vec!["2001:db8::25".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(
        sorted(ask(|r| Box::pin(r.mx("local.test"))).unwrap()),
        vec![
            MxRecord {
                preference: 10,
                exchange: "mx1.local.test".into()
            },
            MxRecord {
                preference: 20,
                exchange: "mx2.local.test".into()
            },
        ]
    );
    assert_eq!(
        sorted(ask(|r| Box::pin(r.ns("local.test"))).unwrap()),
        vec!["ns1.local.test".to_owned(), "ns2.local.test".to_owned()]
    );
    let ip: IpAddr = "192.0.2.25".parse().unwrap();
    assert_eq!(
        ask(move |r| Box::pin(r.ptr(ip))).unwrap(),
        vec!["mx1.local.test".to_owned()]
    );
}

#[test]
fn rfc7505_null_mx() {
    assert_eq!(
        ask(|r| Box::pin(r.mx("nullmx.local.test"))).unwrap(),
        vec![MxRecord {
            preference: 0,
            exchange: String::new()
        }]
    );
}

#[test]
fn rfc1034_cname_chains_are_followed() {
    assert_eq!(
        ask(|r| Box::pin(r.a("alias2.local.test"))).unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 25)]
    );
    assert!(matches!(
        ask(|r| Box::pin(r.txt("www.local.test"))),
        Err(DnsError::NoData { .. })
    ));
}

#[test]
fn rfc2308_nxdomain_and_nodata_are_told_apart() {
    assert!(matches!(
        ask(|r| Box::pin(r.txt("missing.local.test"))),
        Err(DnsError::NxDomain { .. })
    ));
    assert!(matches!(
        ask(|r| Box::pin(r.txt("ns1.local.test"))),
        Err(DnsError::NoData { .. })
    ));
    // An empty non-terminal exists (RFC 8020): NODATA, not NXDOMAIN.
    assert!(matches!(
        ask(|r| Box::pin(r.a("b.deep.local.test"))),
        Err(DnsError::NoData { .. })
    ));
    let err = ask(|r| Box::pin(r.txt("missing.local.test"))).unwrap_err();
    assert!(err.is_void() && !err.is_temporary());
}

#[test]
fn rfc4592_wildcards() {
    assert_eq!(
        ask(|r| Box::pin(r.txt("anything.wild.local.test"))).unwrap()[0].joined(),
        b"from the wildcard"
    );
    assert_eq!(
        ask(|r| Box::pin(r.txt("exact.wild.local.test"))).unwrap()[0].joined(),
        b"exact"
    );
    // The wildcard does not reach below an existing name: the closest encloser of
    // x.exact.wild is exact.wild, and *.exact.wild does not exist (RFC 4592 §3.3.1). Asked of
    // the zone file only: hickory-server 0.26 answers from *.wild here.
    let zone = ZoneResolver::from_files(&zone_files()).unwrap();
    assert!(matches!(
        runtime().block_on(zone.txt("x.exact.wild.local.test")),
        Err(DnsError::NxDomain { .. })
    ));
}

#[test]
fn unreachable_or_refusing_servers_are_temporary_failures() {
    let rt = runtime();
    // Nothing listens on this port: the query fails fast (ICMP port unreachable) or times out.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = closed.local_addr().unwrap();
    drop(closed);
    let resolver = HickoryResolver::with_servers(&[addr]).unwrap();
    let err = rt.block_on(resolver.txt("local.test")).unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    // A server that is not authoritative for the name refuses: temporary, not NXDOMAIN.
    let resolver = HickoryResolver::with_servers(&[server().udp_addr()]).unwrap();
    let err = rt.block_on(resolver.txt("example.org")).unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    assert!(err.to_string().contains("example.org"), "{err}");
}

#[test]
fn invalid_names_are_errors_not_panics() {
    let rt = runtime();
    let long_label = format!("{}.local.test", "a".repeat(64));
    for (_, resolver) in paths() {
        let err = rt.block_on(resolver.txt(&long_label)).unwrap_err();
        assert!(
            matches!(err, DnsError::Invalid { .. } | DnsError::NxDomain { .. }),
            "{err:?}"
        );
    }
}
