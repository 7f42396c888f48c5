//! Foundations shared by the root crate (resolver, config, keys, check) and the provider backends,
//! kept here so that neither imports the other for them: the [`name::DomainName`] type every
//! domain passes through once, the BIND master-file syntax ([`zone`]), TXT character-strings
//! ([`txt`]) and the one atomic file write ([`atomic`]) used for keys, zone files, state and
//! exports. Nothing here knows about DKIM, SPF or DMARC.

pub mod atomic;
pub mod name;
pub mod suggest;
pub mod txt;
pub mod zone;

pub use name::{DomainName, NameError};
