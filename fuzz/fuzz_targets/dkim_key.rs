//! The DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4): any TXT value gives a record or a
//! `DkimError`. Differential: `parse(build(record)) == record` (dkim::build::key_record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dkim::{build, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = parse::key_record(data) else {
        return;
    };
    mailauth_fuzz::assert_round_trip(&record, &build::key_record(&record), parse::key_record);
});
