//! Live DNS through hickory-resolver: the system configuration (`/etc/resolv.conf`) or explicit
//! servers given with `--resolver IP[:PORT]`. Queries go over UDP with TCP after truncation.
//! Names are always queried fully qualified (no search list). Each query is bounded by
//! [`QUERY_TIMEOUT`] per attempt and [`ATTEMPTS`] attempts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use super::{DnsError, MxRecord, Resolver, TxtRecord, normalize_name};

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
        Self::build(config, description)
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
        Self::build(config, description)
    }

    fn build(config: ResolverConfig, description: String) -> Result<Self, DnsError> {
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = options();
        let inner = builder.build().map_err(|e| DnsError::Config {
            source_name: description.clone(),
            reason: e.to_string(),
        })?;
        Ok(HickoryResolver { inner, description })
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
        let display = normalize_name(name);
        let mut fqdn = Name::from_ascii(&display).map_err(|e| DnsError::Invalid {
            name: display.clone(),
            reason: e.to_string(),
        })?;
        fqdn.set_fqdn(true);
        let rtype_name = rtype_str(rtype);
        match self.inner.lookup(fqdn, rtype).await {
            Ok(lookup) => {
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
                    Ok(data)
                }
            }
            Err(err) => Err(map_error(err, display, rtype_name)),
        }
    }
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
        self.answers(name, RecordType::TXT, |d| match d {
            RData::TXT(txt) => Some(TxtRecord::new(
                txt.txt_data.iter().map(|s| s.to_vec()).collect(),
            )),
            _ => None,
        })
        .await
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
