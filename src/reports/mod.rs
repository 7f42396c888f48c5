//! Report ingestion: DMARC aggregate reports (RFC 9990 XML, and the legacy RFC 7489 format) and
//! SMTP TLS reports (RFC 8460 JSON), read from files, directories, gzip and zip attachments, mbox
//! files and Maildirs, stored in an embedded SQLite database, summarised per sending source with
//! the record change that fixes each failing one, and rendered as one self-contained HTML page.
//!
//! The data flow: `source` (bytes from disk, bounded by [`Limits`]) → `xml` / `tlsrpt` (parsed
//! into [`model`] types) → `store` (SQLite, deduplicated by organisation and report id) →
//! `summary` (per source, per day, per receiver, with fixes and policy advice) → text, JSON or
//! `html`. The store never imports a provider; nothing here reads the clock.

pub mod model;
pub mod source;
pub mod store;
pub mod summary;
pub mod tlsrpt;
pub mod xml;

pub use model::{AggregateReport, Limits, Report, TlsReport};
