//! Transport security for mail: the DNS records and files that tell sending servers to use TLS
//! for a domain, and the checks that they are right.
//!
//! - [`mta_sts`]: MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file served at
//!   `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, its fetch and the MX coverage rules.
//! - [`tls_rpt`]: SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record.
//! - [`dane`]: DANE for SMTP (RFC 7672): TLSA records at `_PORT._tcp.MX`, computed from
//!   certificates and matched against the chain a server presents.
//!
//! Like every check, these take a [`crate::dns::Resolver`] and `now` as parameters.

pub mod dane;
pub mod mta_sts;
pub mod tls_rpt;
