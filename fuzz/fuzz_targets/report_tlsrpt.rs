//! SMTP TLS report JSON (src/reports/tlsrpt.rs; RFC 8460 §4): any bytes give a report or a
//! `ParseError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::reports::model::Limits;
use mailauth::reports::tlsrpt::parse_tls;

fuzz_target!(|data: &[u8]| {
    let _ = parse_tls(data, &Limits::default());
});
