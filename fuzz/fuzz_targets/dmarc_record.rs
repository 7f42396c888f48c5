//! The DMARC record (RFC 7489 §6.3 strict, RFC 9989 lenient): any TXT value gives a record or
//! a `DmarcSyntaxError`. Differential: a record the strict parser accepts, built again
//! (dmarc::build::record), parses to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dmarc::{build, parse};

fuzz_target!(|data: &[u8]| {
    let _ = parse::is_dmarc_record(data);
    let _ = parse::record_rfc9989(data);
    let Ok(record) = parse::record(data) else {
        return;
    };
    mailauth_fuzz::assert_round_trip(&record, &build::record(&record), parse::record);
});
