//! DANE for SMTP (RFC 7672): TLSA records (RFC 6698) at `_PORT._tcp.MX`, computed from
//! certificates, looked up with their DNSSEC status, and matched against a server's chain.

/// The finding codes this module reports.
pub const CODES: &[&str] = &[];
