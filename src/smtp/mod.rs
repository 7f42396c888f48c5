//! The SMTP side seen from outside: a probe that connects to a mail server as any client on the
//! internet would and reports what it allows (relaying, AUTH before TLS, legacy TLS, weak
//! certificates, VRFY/EXPN), as [`Finding`](crate::report::Finding)s in the same model as
//! `check`.
//!
//! The probe never sends DATA unless the caller names a mailbox it owns, and never prints a
//! password: transcripts mask credentials.

pub mod cert;
pub mod legacy_tls;
