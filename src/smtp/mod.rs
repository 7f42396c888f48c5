//! The SMTP side seen from outside: a probe that connects to a mail server as any client on the
//! internet would and reports what it allows (relaying, AUTH before TLS, legacy TLS, weak
//! certificates, VRFY/EXPN), as [`Finding`](crate::report::Finding)s in the same model as
//! `check`.
//!
//! The probe never sends DATA unless the caller names a mailbox it owns, and never prints a
//! password: transcripts mask credentials. [`client`] speaks SMTP, [`relay`] runs the relay
//! battery, [`checks`] turns what was seen into findings and [`probe`] runs one target's groups of
//! tests over a bounded number of connections. Certificates and raw legacy ClientHellos live in
//! `cert` and `legacy_tls`. Resolving targets and rendering belong to the command line.

pub mod cert;
pub mod checks;
pub mod client;
pub mod legacy_tls;
pub mod probe;
pub mod relay;

use std::net::IpAddr;

/// Every finding code the probe can produce.
pub const CODES: &[&str] = &[
    "smtp.connect_failed",
    "smtp.service_unavailable",
    "smtp.open_relay",
    "smtp.relay_routing_accepted",
    "smtp.auth_before_tls",
    "smtp.auth_cleartext_accepted",
    "smtp.auth_anonymous",
    "smtp.auth_relay_ok",
    "smtp.auth_relay_refused",
    "smtp.starttls_missing",
    "smtp.starttls_required_missing",
    "smtp.starttls_injection",
    "smtp.tls_protocol_legacy",
    "smtp.vrfy_enabled",
    "smtp.expn_enabled",
    "smtp.banner_software",
    "smtp.ptr_mismatch",
];

/// What a port is for, which decides what is required of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Port 25: receives mail from the internet; STARTTLS offered, no relaying.
    Mx,
    /// Port 587: submission, STARTTLS required before anything else (RFC 6409, RFC 3207).
    Submission,
    /// Port 465: submission with implicit TLS (RFC 8314 §3.3).
    Smtps,
}

impl Role {
    /// The role a port number implies: 587 submission, 465 smtps, anything else mx.
    pub fn for_port(port: u16) -> Role {
        match port {
            587 => Role::Submission,
            465 => Role::Smtps,
            _ => Role::Mx,
        }
    }

    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mx => "mx",
            Role::Submission => "submission",
            Role::Smtps => "smtps",
        }
    }
}

/// Why an SMTP session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpError {
    /// No TCP connection could be made.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// Address and port.
        target: String,
        /// The system's reason.
        reason: String,
    },
    /// The local source address could not be bound.
    #[error(
        "cannot bind the source address {source_ip}: {reason} (give an address of this machine with --source-ip)"
    )]
    SourceAddress {
        /// The address asked for.
        source_ip: IpAddr,
        /// The system's reason.
        reason: String,
    },
    /// The server sent nothing in time.
    #[error("{target}: no answer within the timeout while waiting for {waiting_for}")]
    Timeout {
        /// Host and port.
        target: String,
        /// What the probe was waiting for.
        waiting_for: String,
    },
    /// The server closed the connection.
    #[error("{target}: the server closed the connection while the probe waited for {waiting_for}")]
    Closed {
        /// Host and port.
        target: String,
        /// What the probe was waiting for.
        waiting_for: String,
    },
    /// A 421 reply: the server is ending the session (RFC 5321 §3.8).
    #[error("{target}: the server closed the session: {reply}")]
    Closing {
        /// Host and port.
        target: String,
        /// The reply.
        reply: String,
    },
    /// The greeting or EHLO/HELO was refused (554 greeting, RFC 5321 §3.1).
    #[error("{target}: the server refused the session: {reply}")]
    Refused {
        /// Host and port.
        target: String,
        /// The reply.
        reply: String,
    },
    /// The server sent something that is not SMTP, or too much of it.
    #[error("{target}: protocol error: {reason}")]
    Protocol {
        /// Host and port.
        target: String,
        /// What was wrong.
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("{target}: TLS handshake failed: {reason}")]
    Tls {
        /// Host and port.
        target: String,
        /// rustls' reason.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{target}: {reason}")]
    Io {
        /// Host and port.
        target: String,
        /// The system's reason.
        reason: String,
    },
}

impl SmtpError {
    /// True when the server is out of reach or closing (exit 3): trying later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            SmtpError::Connect { .. } | SmtpError::Closing { .. } | SmtpError::Timeout { .. }
        )
    }

    /// True when the connection itself is lost (a bounded reconnect may continue the work).
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, SmtpError::Closed { .. } | SmtpError::Io { .. })
    }
}
