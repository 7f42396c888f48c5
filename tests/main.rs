//! mailauth's integration tests, compiled into one binary. Each module drives the real
//! `mailauth` executable or the library against real DNS paths (zone files, an in-process
//! hickory server on loopback) and real peers (dkimpy, openssl, opendkim-genkey).

#![allow(clippy::unwrap_used)]

mod audit_mta;
mod audit_postfix;
mod check;
mod clean_core;
mod cli;
mod dane;
mod dane_rollover;
mod deps;
mod dkim;
mod dmarc;
mod hostile;
mod interop;
mod legacy_tls;
mod local_dns;
mod mta_sts;
mod probe;
mod provider_faults;
mod providers;
mod publish;
mod record_dmarc;
mod reports_cli;
mod reports_html;
mod reports_parse;
mod reports_peer;
mod reports_summary;
mod rfc7208;
mod rotate;
mod rotate_concurrent;
mod rotate_faults;
mod smtp_agreement;
mod smtp_cert;
mod smtp_servers;
mod spf;
mod support;
mod tls_rpt;
mod transport_publish;
mod verify_batch;
mod verify_from;
