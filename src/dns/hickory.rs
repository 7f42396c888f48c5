//! Live DNS through hickory-resolver: the system configuration (`/etc/resolv.conf`) or explicit
//! servers given with `--resolver IP[:PORT]`. Queries go over UDP with TCP after truncation.
//! Names are always queried fully qualified (no search list). Each query is bounded by
//! [`QUERY_TIMEOUT`] per attempt and [`ATTEMPTS`] attempts.
//!
//! TLSA lookups are the exception: DANE needs the AD bit of the resolver's answer (RFC 7672
//! §2.2), which hickory-resolver does not expose unless it validates by itself. They are sent
//! with hickory-proto messages straight to the same servers ([`tlsa_exchange`]): RD and AD set
//! in the query (RFC 6840 §5.7) and EDNS DO, UDP with TCP after truncation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use mailauth_providers::Tlsa;

use super::{DnsError, MxRecord, Resolver, TlsaAnswer, TxtRecord, normalize_name};

/// How long one attempt waits for an answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// How many times a query is tried (per server).
pub const ATTEMPTS: usize = 2;

/// How queries reach explicit servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP, retried over TCP when the answer is truncated (the normal way).
    UdpThenTcp,
    /// TCP only.
    Tcp,
}

/// A resolver using the system configuration or explicit servers.
pub struct HickoryResolver {
    inner: TokioResolver,
    description: String,
    /// The servers, for the queries sent without hickory-resolver (TLSA).
    servers: Vec<SocketAddr>,
}

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HickoryResolver({})", self.description)
    }
}

/// Parse `IP`, `IP:PORT`, `[IPV6]` or `[IPV6]:PORT` (port 53 by default).
pub fn parse_server_addr(text: &str) -> Result<SocketAddr, DnsError> {
    let bad = || DnsError::Config {
        source_name: format!("--resolver {text}"),
        reason:
            "expected IP, IP:PORT, [IPV6] or [IPV6]:PORT (a name server's address, not its name)"
                .into(),
    };
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<Ipv6Addr>()
    {
        return Ok(SocketAddr::new(IpAddr::V6(ip), 53));
    }
    Err(bad())
}

fn options() -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.timeout = QUERY_TIMEOUT;
    opts.attempts = ATTEMPTS;
    opts.ndots = 0;
    // Each mailauth run asks few questions; a cache would only hide changes between runs of a
    // long-lived process such as `rotate` waiting for visibility.
    opts.cache_size = 0;
    opts.edns0 = true;
    opts
}

impl HickoryResolver {
    /// Use /etc/resolv.conf.
    pub fn system() -> Result<Self, DnsError> {
        let (config, _) =
            hickory_resolver::system_conf::read_system_conf().map_err(|e| DnsError::Config {
                source_name: "/etc/resolv.conf".into(),
                reason: e.to_string(),
            })?;
        let description = format!(
            "system: {}",
            config
                .name_servers
                .iter()
                .map(|ns| ns.ip.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let servers = config
            .name_servers
            .iter()
            .map(|ns| {
                let port = ns.connections.first().map_or(53, |c| c.port);
                SocketAddr::new(ns.ip, port)
            })
            .collect();
        Self::build(config, description, servers)
    }

    /// Query exactly these servers (UDP, falling back to TCP on truncation).
    pub fn with_servers(addrs: &[SocketAddr]) -> Result<Self, DnsError> {
        Self::with_servers_over(addrs, Transport::UdpThenTcp)
    }

    /// Query exactly these servers over the given transport.
    pub fn with_servers_over(addrs: &[SocketAddr], transport: Transport) -> Result<Self, DnsError> {
        if addrs.is_empty() {
            return Err(DnsError::Config {
                source_name: "--resolver".into(),
                reason: "no server given".into(),
            });
        }
        let name_servers = addrs
            .iter()
            .map(|addr| {
                let connection = |protocol| {
                    let mut c = ConnectionConfig::new(protocol);
                    c.port = addr.port();
                    c
                };
                NameServerConfig::new(
                    addr.ip(),
                    true,
                    match transport {
                        Transport::UdpThenTcp => vec![
                            connection(ProtocolConfig::Udp),
                            connection(ProtocolConfig::Tcp),
                        ],
                        Transport::Tcp => vec![connection(ProtocolConfig::Tcp)],
                    },
                )
            })
            .collect();
        let config = ResolverConfig::from_parts(None, Vec::new(), name_servers);
        let description = format!(
            "{} over {transport:?}",
            addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        Self::build(config, description, addrs.to_vec())
    }

    fn build(
        config: ResolverConfig,
        description: String,
        servers: Vec<SocketAddr>,
    ) -> Result<Self, DnsError> {
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = options();
        let inner = builder.build().map_err(|e| DnsError::Config {
            source_name: description.clone(),
            reason: e.to_string(),
        })?;
        Ok(HickoryResolver {
            inner,
            description,
            servers,
        })
    }

    /// The answers of `rtype` at `name` that `extract` takes.
    async fn answers<T>(
        &self,
        name: &str,
        rtype: RecordType,
        extract: impl Fn(RData) -> Option<T>,
    ) -> Result<Vec<T>, DnsError> {
        Ok(self
            .query(name, rtype)
            .await?
            .into_iter()
            .filter_map(extract)
            .collect())
    }

    /// The answer records' data for `name` and `rtype`, with errors mapped.
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, DnsError> {
        self.query_expiring(name, rtype).await.map(|(data, _)| data)
    }

    /// As [`Self::query`], with the instant the answer's TTL runs out.
    async fn query_expiring(
        &self,
        name: &str,
        rtype: RecordType,
    ) -> Result<(Vec<RData>, std::time::Instant), DnsError> {
        let (display, fqdn) = fqdn(name)?;
        let rtype_name = rtype_str(rtype);
        match self.inner.lookup(fqdn, rtype).await {
            Ok(lookup) => {
                let valid_until = lookup.valid_until();
                let data: Vec<RData> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == rtype)
                    .map(|r| r.data.clone())
                    .collect();
                if data.is_empty() {
                    Err(DnsError::NoData {
                        name: display,
                        rtype: rtype_name,
                    })
                } else {
                    Ok((data, valid_until))
                }
            }
            Err(err) => Err(map_error(err, display, rtype_name)),
        }
    }
}

/// A TXT record's character-strings, kept apart.
fn txt_of(data: RData) -> Option<TxtRecord> {
    match data {
        RData::TXT(txt) => Some(TxtRecord::new(
            txt.txt_data.iter().map(|s| s.to_vec()).collect(),
        )),
        _ => None,
    }
}

/// `name` as mailauth shows it (normalised) and as an absolute hickory `Name`.
fn fqdn(name: &str) -> Result<(String, Name), DnsError> {
    let display = normalize_name(name);
    let mut fqdn = Name::from_ascii(&display).map_err(|e| DnsError::Invalid {
        name: display.clone(),
        reason: e.to_string(),
    })?;
    fqdn.set_fqdn(true);
    Ok((display, fqdn))
}

fn rtype_str(rtype: RecordType) -> &'static str {
    match rtype {
        RecordType::A => "A",
        RecordType::AAAA => "AAAA",
        RecordType::MX => "MX",
        RecordType::TXT => "TXT",
        RecordType::NS => "NS",
        RecordType::PTR => "PTR",
        RecordType::Unknown(99) => "SPF",
        RecordType::TLSA => "TLSA",
        _ => "other",
    }
}

fn map_error(err: NetError, name: String, rtype: &'static str) -> DnsError {
    use hickory_resolver::net::DnsError as HDns;
    match &err {
        NetError::Dns(HDns::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain => DnsError::NxDomain { name },
            ResponseCode::NoError => DnsError::NoData { name, rtype },
            code => DnsError::Temporary {
                name,
                reason: format!("server answered {code}"),
            },
        },
        NetError::Dns(HDns::ResponseCode(code)) => DnsError::Temporary {
            name,
            reason: format!("server answered {code}"),
        },
        NetError::Timeout => DnsError::Temporary {
            name,
            reason: format!(
                "no answer (timed out after {ATTEMPTS} attempts of {}s)",
                QUERY_TIMEOUT.as_secs()
            ),
        },
        _ => DnsError::Temporary {
            name,
            reason: err.to_string(),
        },
    }
}

/// Largest DNS message read over UDP or TCP.
const MAX_MESSAGE_BYTES: usize = 65_535;
/// The EDNS UDP payload size offered (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// Why one exchange with one server failed (the caller tries the next attempt or server).
fn exchange_error(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// One TLSA query to `server`: RD, AD (RFC 6840 §5.7) and EDNS DO set; over UDP, again over
/// TCP when the answer is truncated. The whole exchange is bounded by [`QUERY_TIMEOUT`] per
/// transport. Returns the response, whose id and question match the query.
pub async fn tlsa_exchange(server: SocketAddr, name: &Name) -> Result<Message, String> {
    let mut query = Message::query();
    query.add_query(Query::query(name.clone(), RecordType::TLSA));
    query.metadata.recursion_desired = true;
    query.metadata.authentic_data = true;
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    edns.set_dnssec_ok(true);
    query.set_edns(edns);
    let bytes = query.to_vec().map_err(|e| exchange_error("encode", e))?;
    let id = query.metadata.id;
    let response = tokio::time::timeout(QUERY_TIMEOUT, udp_exchange(server, &bytes, id))
        .await
        .map_err(|_| "timed out over UDP".to_owned())??;
    let response = if response.metadata.truncation {
        tokio::time::timeout(QUERY_TIMEOUT, tcp_exchange(server, &bytes))
            .await
            .map_err(|_| "timed out over TCP".to_owned())??
    } else {
        response
    };
    let question_matches = response
        .queries
        .first()
        .is_some_and(|q| q.query_type() == RecordType::TLSA && q.name() == name);
    if response.metadata.id != id || !question_matches {
        return Err("the response does not answer the query".to_owned());
    }
    Ok(response)
}

async fn udp_exchange(server: SocketAddr, query: &[u8], id: u16) -> Result<Message, String> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(local)
        .await
        .map_err(|e| exchange_error("UDP socket", e))?;
    socket
        .connect(server)
        .await
        .map_err(|e| exchange_error("UDP connect", e))?;
    socket
        .send(query)
        .await
        .map_err(|e| exchange_error("UDP send", e))?;
    let mut buf = vec![0u8; MAX_MESSAGE_BYTES];
    // Datagrams that are not the answer (late answers to earlier queries) are skipped; the
    // caller's timeout bounds the loop.
    loop {
        let len = socket
            .recv(&mut buf)
            .await
            .map_err(|e| exchange_error("UDP receive", e))?;
        if let Ok(message) = Message::from_vec(&buf[..len])
            && message.metadata.id == id
            && message.metadata.message_type == MessageType::Response
        {
            return Ok(message);
        }
    }
}

async fn tcp_exchange(server: SocketAddr, query: &[u8]) -> Result<Message, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server)
        .await
        .map_err(|e| exchange_error("TCP connect", e))?;
    let len = u16::try_from(query.len()).map_err(|e| exchange_error("query length", e))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| exchange_error("TCP send", e))?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| exchange_error("TCP receive", e))?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| exchange_error("TCP receive", e))?;
    Message::from_vec(&buf).map_err(|e| exchange_error("bad response", e))
}

/// A TLSA response as a [`TlsaAnswer`] or the lookup error its RCODE means. SERVFAIL from a
/// validating resolver is how RFC 4035 §5.5 reports bogus data.
fn tlsa_answer(response: &Message, name: String) -> Result<TlsaAnswer, DnsError> {
    match response.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => return Err(DnsError::NxDomain { name }),
        ResponseCode::ServFail => {
            return Err(DnsError::Temporary {
                name,
                reason: "server answered SERVFAIL (a validating resolver answers so when DNSSEC \
                         validation fails: the data may be bogus)"
                    .to_owned(),
            });
        }
        code => {
            return Err(DnsError::Temporary {
                name,
                reason: format!("server answered {code}"),
            });
        }
    }
    let records: Vec<Tlsa> = response
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TLSA(t) => Some(Tlsa {
                usage: u8::from(t.cert_usage),
                selector: u8::from(t.selector),
                matching: u8::from(t.matching),
                data: t.cert_data.clone(),
            }),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        return Err(DnsError::NoData {
            name,
            rtype: "TLSA",
        });
    }
    Ok(TlsaAnswer {
        records,
        authenticated: response.metadata.authentic_data,
    })
}

/// Split RDATA into <character-string>s (length byte, then that many bytes).
fn character_strings(mut rdata: &[u8]) -> Vec<Vec<u8>> {
    let mut strings = Vec::new();
    while let Some((&len, rest)) = rdata.split_first() {
        let len = usize::from(len).min(rest.len());
        strings.push(rest[..len].to_vec());
        rdata = &rest[len..];
    }
    strings
}

fn name_string(name: &Name) -> String {
    normalize_name(&name.to_ascii())
}

#[async_trait]
impl Resolver for HickoryResolver {
    async fn txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        self.answers(name, RecordType::TXT, txt_of).await
    }
    async fn txt_with_ttl(
        &self,
        name: &str,
    ) -> Result<(Vec<TxtRecord>, Option<std::time::Duration>), DnsError> {
        let (data, valid_until) = self.query_expiring(name, RecordType::TXT).await?;
        let records = data.into_iter().filter_map(txt_of).collect();
        let ttl = valid_until.saturating_duration_since(std::time::Instant::now());
        Ok((records, Some(ttl)))
    }
    async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        self.answers(name, RecordType::A, |d| match d {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .await
    }
    async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        self.answers(name, RecordType::AAAA, |d| match d {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
        .await
    }
    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError> {
        self.answers(name, RecordType::MX, |d| match d {
            RData::MX(mx) => Some(MxRecord {
                preference: mx.preference,
                exchange: name_string(&mx.exchange),
            }),
            _ => None,
        })
        .await
    }
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        let reverse = Name::from(ip).to_ascii();
        self.answers(&reverse, RecordType::PTR, |d| match d {
            RData::PTR(p) => Some(name_string(&p.0)),
            _ => None,
        })
        .await
    }
    async fn spf_type(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        self.answers(name, RecordType::Unknown(99), |d| match d {
            RData::Unknown { rdata, .. } => {
                Some(TxtRecord::new(character_strings(&rdata.anything)))
            }
            _ => None,
        })
        .await
    }
    async fn ns(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.answers(name, RecordType::NS, |d| match d {
            RData::NS(ns) => Some(name_string(&ns.0)),
            _ => None,
        })
        .await
    }
    async fn tlsa(&self, name: &str) -> Result<TlsaAnswer, DnsError> {
        let (display, fqdn) = fqdn(name)?;
        let mut failures = Vec::new();
        for server in &self.servers {
            for _ in 0..ATTEMPTS {
                match tlsa_exchange(*server, &fqdn).await {
                    Ok(response) => return tlsa_answer(&response, display),
                    Err(why) => failures.push(format!("{server}: {why}")),
                }
            }
        }
        Err(DnsError::Temporary {
            name: display,
            reason: if failures.is_empty() {
                "no name server configured".to_owned()
            } else {
                failures.join("; ")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlsa_response(code: ResponseCode, ad: bool, with_record: bool) -> Message {
        use hickory_resolver::proto::rr::Record;
        use hickory_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector, TLSA};
        let name = Name::from_ascii("_25._tcp.mx.example.test.").unwrap();
        let mut m = Message::response(7, hickory_resolver::proto::op::OpCode::Query);
        m.add_query(Query::query(name.clone(), RecordType::TLSA));
        m.metadata.response_code = code;
        m.metadata.authentic_data = ad;
        if with_record {
            let rdata = TLSA::new(
                CertUsage::DaneEe,
                Selector::Spki,
                Matching::Sha256,
                vec![0xab; 32],
            );
            m.add_answer(Record::from_rdata(name, 300, RData::TLSA(rdata)));
        }
        m
    }

    /// RFC 4035 §3.2.3 / RFC 6840 §5.7: the AD bit of the answer is the authenticated flag;
    /// RFC 4035 §5.5: SERVFAIL (bogus at a validating resolver) is a temporary failure.
    #[test]
    fn rfc6840_5_7_tlsa_answer_reads_the_ad_bit_and_rcode() {
        let n = || "_25._tcp.mx.example.test".to_owned();
        let ok = tlsa_answer(&tlsa_response(ResponseCode::NoError, true, true), n()).unwrap();
        assert!(ok.authenticated);
        assert_eq!(
            ok.records[0].to_string(),
            format!("3 1 1 {}", "ab".repeat(32))
        );
        let plain = tlsa_answer(&tlsa_response(ResponseCode::NoError, false, true), n()).unwrap();
        assert!(!plain.authenticated);
        let bogus = tlsa_answer(&tlsa_response(ResponseCode::ServFail, false, false), n());
        assert!(bogus.unwrap_err().is_temporary());
        let none = tlsa_answer(&tlsa_response(ResponseCode::NoError, true, false), n());
        assert!(matches!(none, Err(DnsError::NoData { .. })));
        let nx = tlsa_answer(&tlsa_response(ResponseCode::NXDomain, true, false), n());
        assert!(matches!(nx, Err(DnsError::NxDomain { .. })));
    }

    #[test]
    fn server_addresses() {
        assert_eq!(
            parse_server_addr("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_server_addr("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(
            parse_server_addr("[::1]").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_server_addr("[::1]:54").unwrap(),
            "[::1]:54".parse().unwrap()
        );
        assert_eq!(
            parse_server_addr("::1").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        let err = parse_server_addr("ns1.example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--resolver ns1.example.com"), "{err}");
    }
}
