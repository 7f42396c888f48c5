//! Zone files. OWNED BY THE DNS WORK (skeleton).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;

use super::{DnsError, MxRecord, Resolver, TxtRecord};

/// Answers from BIND master files.
#[derive(Debug)]
pub struct ZoneResolver {}

impl ZoneResolver {
    /// Load and merge these zone files.
    pub fn from_files(_paths: &[std::path::PathBuf]) -> Result<Self, DnsError> {
        unimplemented!("dns work")
    }
}

#[async_trait]
impl Resolver for ZoneResolver {
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
