//! PowerDNS API responses (providers/src/powerdns.rs): a zone answer's body, any bytes, gives
//! canonical records or a `ProviderError`, never a panic. The first byte picks the record type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth_providers::powerdns::parse_zone_answer;

fuzz_target!(|data: &[u8]| {
    let Some((rtype, body)) = mailauth_fuzz::pick_record_type(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    if let Ok(records) = parse_zone_answer(text, "example.com", rtype) {
        for record in records {
            assert_eq!(record.rtype, rtype);
        }
    }
});
