//! MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file, its HTTPS fetch, and which MX
//! hosts a policy covers.

/// The finding codes this module reports.
pub const CODES: &[&str] = &[];
