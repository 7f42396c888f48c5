//! The DKIM-Signature tag list and signature parse (RFC 6376 §3.2, §3.5): any field value gives
//! a signature or a `DkimError`. Differential: a parsed signature built again
//! (`dkim::build::signature`) parses to the same signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dkim::{build, parse};

fuzz_target!(|data: &[u8]| {
    let _ = parse::tag_list("DKIM-Signature", data);
    let Ok(signature) = parse::signature(data) else {
        return;
    };
    mailauth_fuzz::assert_round_trip(&signature, &build::signature(&signature), parse::signature);
});
