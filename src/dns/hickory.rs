//! Live DNS through hickory-resolver. OWNED BY THE DNS WORK (skeleton).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use async_trait::async_trait;

use super::{DnsError, MxRecord, Resolver, TxtRecord};

/// A resolver using the system configuration or explicit servers.
#[derive(Debug)]
pub struct HickoryResolver {}

/// Parse `IP`, `IP:PORT`, `[IPV6]` or `[IPV6]:PORT` (port 53 by default).
pub fn parse_server_addr(_text: &str) -> Result<SocketAddr, DnsError> {
    unimplemented!("dns work")
}

impl HickoryResolver {
    /// Use /etc/resolv.conf.
    pub fn system() -> Result<Self, DnsError> {
        unimplemented!("dns work")
    }
    /// Query exactly these servers (UDP, falling back to TCP on truncation).
    pub fn with_servers(_addrs: &[SocketAddr]) -> Result<Self, DnsError> {
        unimplemented!("dns work")
    }
}

#[async_trait]
impl Resolver for HickoryResolver {
    async fn txt(&self, _name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        unimplemented!("dns work")
    }
    async fn a(&self, _name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        unimplemented!("dns work")
    }
    async fn aaaa(&self, _name: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        unimplemented!("dns work")
    }
    async fn mx(&self, _name: &str) -> Result<Vec<MxRecord>, DnsError> {
        unimplemented!("dns work")
    }
    async fn ptr(&self, _ip: IpAddr) -> Result<Vec<String>, DnsError> {
        unimplemented!("dns work")
    }
    async fn ns(&self, _name: &str) -> Result<Vec<String>, DnsError> {
        unimplemented!("dns work")
    }
}
