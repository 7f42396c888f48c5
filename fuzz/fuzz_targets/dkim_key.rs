//! The DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4): any TXT value gives a record or a
//! `DkimError`. Differential: `parse(build(record)) == record` (dkim::build::key_record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dkim::{build, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = parse::key_record(data) else {
        return;
    };
    let built = build::key_record(&record);
    let again = parse::key_record(built.as_bytes())
        .unwrap_or_else(|e| panic!("built key record {built:?} does not parse: {e}"));
    assert_eq!(
        again, record,
        "parse(build(record)) != record for {built:?}"
    );
});
