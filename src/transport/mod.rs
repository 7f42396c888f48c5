//! Transport security for mail: the DNS records and files that tell sending servers to use TLS
//! for a domain, and the checks that they are right.
//!
//! - [`mta_sts`]: MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file served at
//!   `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, its fetch and the MX coverage rules.
//! - [`tls_rpt`]: SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record.
//! - [`https`]: the small HTTPS client that fetches MTA-STS policies.
//! - [`dane`]: DANE for SMTP (RFC 7672): TLSA records at `_PORT._tcp.MX`, computed from
//!   certificates and matched against the chain a server presents.
//!
//! Like every check, these take a [`crate::dns::Resolver`] and `now` as parameters.

pub mod dane;
pub mod https;
pub mod mta_sts;
pub mod tls_rpt;

use std::time::Duration;

use rustls_pki_types::CertificateDer;

/// How `check` reaches servers for the transport checks: the MTA-STS policy fetch and, with
/// `--smtp`, the STARTTLS certificates.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Roots trusted besides webpki-roots (`--ca`): only add trust, never replace it.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The HTTPS port of `mta-sts.DOMAIN`: 443 except in private deployments and tests.
    pub https_port: u16,
    /// Limit for one policy fetch.
    pub timeout: Duration,
    /// With `check --smtp`: the port on which each MX address's STARTTLS chain is matched
    /// against its TLSA records (DANE, RFC 7672 §3). `None`: the DNS part only.
    pub smtp_port: Option<u16>,
}

impl Default for TransportOptions {
    fn default() -> TransportOptions {
        TransportOptions {
            extra_roots: Vec::new(),
            https_port: 443,
            timeout: Duration::from_secs(10),
            smtp_port: None,
        }
    }
}

impl TransportOptions {
    /// The MTA-STS fetch options these imply.
    pub fn fetch_options(&self) -> mta_sts::FetchOptions {
        mta_sts::FetchOptions {
            extra_roots: self.extra_roots.clone(),
            port: self.https_port,
            timeout: self.timeout,
        }
    }
}
