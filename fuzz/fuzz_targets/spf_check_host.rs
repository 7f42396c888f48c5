//! SPF check_host (RFC 7208 §4) against a fuzzed zone: the input is zone-file text for
//! `example.com.` read by the zone-file resolver; the query is fixed (client 192.0.2.1 or
//! 2001:db8::1, MAIL FROM user@example.com). Every evaluation ends with a result; the DNS-term
//! and void-lookup limits (RFC 7208 §4.6.4) keep it bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dns::zone::ZoneResolver;
use mailauth::spf::eval::{SpfOptions, SpfQuery, check_host};
use mailauth_fuzz::{NOW, block_on};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(zone) = ZoneResolver::parse_str(text, "fuzz.zone", Some("example.com")) else {
        return;
    };
    let ip = if data.len() % 2 == 0 {
        "192.0.2.1"
    } else {
        "2001:db8::1"
    };
    let query = SpfQuery::for_mail(
        ip.parse().expect("a literal address"),
        "mx.example.com",
        "user@example.com",
    );
    let output = block_on(check_host(&zone, &query, &SpfOptions::new(NOW)));
    // RFC 7208 §4.6.4: at most 10 DNS-querying terms; one over the limit is what stops it.
    assert!(
        output.dns_mechanisms <= 11,
        "{} DNS terms",
        output.dns_mechanisms
    );
});
