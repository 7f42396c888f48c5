//! The library's top-level error: one variant per module, each wrapping that module's own enum.

use crate::{dkim, dns, keys, message};

/// Any error a library entry point can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A DNS lookup failed in a way the caller could not absorb.
    #[error(transparent)]
    Dns(#[from] dns::DnsError),
    /// A message could not be read.
    #[error(transparent)]
    Message(#[from] message::MessageError),
    /// A key could not be generated, read, written or used.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// DKIM signing could not be attempted.
    #[error(transparent)]
    Dkim(#[from] dkim::DkimError),
}
