//! Full DKIM verification (src/dkim/verify.rs) of a fuzzed message against a fixed zone
//! (testdata/dns/rfc8463.zone and dkim-checks.zone through the zone-file resolver) at a fixed
//! `now`: every signature gets an outcome in RFC 8601 words, one per DKIM-Signature field up to
//! the cap, and rendering them as Authentication-Results never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dkim::verify::{VerifyOptions, verify};
use mailauth::message::Message;
use mailauth_fuzz::{NOW, block_on, dkim_zone};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    let options = VerifyOptions::new(NOW);
    let outcomes = block_on(verify(&message, dkim_zone(), &options));
    assert_eq!(outcomes.len(), message.fields("dkim-signature").count());
    let _ = mailauth::auth_results::header("mx.example", &outcomes);
});
