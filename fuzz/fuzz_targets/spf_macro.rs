//! SPF macro-strings (RFC 7208 §7): parse any text, and expand what parses in both usages
//! (domain-spec and explanation) for an IPv4 and an IPv6 client. Expansion is bounded: each
//! macro yields at most its letter's value, so the output stays within a fixed multiple of the
//! input.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use mailauth::spf::macros::{MacroContext, Usage, expand, parse};
use mailauth_fuzz::NOW;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = mailauth::spf::parse::check_macro_string("fuzz", text);
    let Ok(pieces) = parse(text) else {
        return;
    };
    for ip in ["192.0.2.3", "2001:db8::cb01"] {
        let ctx = MacroContext {
            sender: "strong-bad@email.example.com",
            domain: "email.example.com",
            ip: ip.parse::<IpAddr>().expect("a literal address"),
            helo: "mx.example.org",
            validated_name: None,
            receiver: "receiver.example",
            now: NOW,
        };
        for usage in [Usage::Domain, Usage::Explanation] {
            if let Ok(out) = expand(&pieces, &ctx, usage) {
                // The longest letter value (an IPv6 `%{i}`, 63 bytes) URL-escaped is 3x that.
                assert!(out.len() <= text.len() * 200 + 200, "expansion blew up");
            }
        }
    }
});
