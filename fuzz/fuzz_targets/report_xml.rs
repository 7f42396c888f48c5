//! DMARC aggregate report XML (src/reports/xml.rs; RFC 9990 §3, RFC 7489 Appendix C): any
//! bytes give a report or a `ParseError` with its position; no DTD, no entity expansion; the
//! record count stays within `Limits`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::reports::model::Limits;
use mailauth::reports::xml::parse_aggregate;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(report) = parse_aggregate(data, &limits) {
        assert!(report.records.len() <= limits.max_records);
    }
});
