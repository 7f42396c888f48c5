//! The SPF record parse (RFC 7208 §4.6, §12): any TXT value gives a record or an
//! `SpfSyntaxError`. Differential: `parse(build(record)) == record` (spf::build::record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::spf::{build, parse};

fuzz_target!(|data: &[u8]| {
    let _ = parse::is_spf_record(data);
    let Ok(record) = parse::record(data) else {
        return;
    };
    let _ = record.dns_term_count();
    mailauth_fuzz::assert_round_trip(&record, &build::record(&record), parse::record);
});
