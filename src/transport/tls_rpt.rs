//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record that says where sending servers
//! send their TLS reports.

/// The finding codes this module reports.
pub const CODES: &[&str] = &[];
