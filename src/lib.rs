//! mailauth: manage, check and verify a domain's email-authentication DNS records.
//!
//! The library holds everything except the command line: DNS lookups behind a [`dns::Resolver`]
//! trait, message parsing, DKIM keys, signing and verification. The binary (`src/main.rs` and `src/cli/`, behind the default `cli` feature) turns
//! flags into the plain option structs these modules take and renders their results. Nothing here
//! reads the clock: every check takes `now` as a parameter.

pub mod audit;
pub mod auth_results;
pub mod check;
pub mod config;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod error;
pub mod export;
pub mod keys;
pub mod mailbox;
pub mod message;
pub mod records;
pub mod report;
pub mod reports;
pub mod rotate;
pub mod smtp;
pub mod spf;
pub mod taglist;
pub mod transport;
pub mod verdict;

pub use error::{ErrorClass, classify};
