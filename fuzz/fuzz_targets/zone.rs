//! The zone-file lexer and reader: mailauth-base's lexer and record heads (RFC 1035 §5.1:
//! parentheses, quotes, `\DDD` escapes, TTL units) and the zone-file resolver built on them
//! (src/dns/zone.rs: `$ORIGIN`, `$TTL`, owners, CNAME chains, wildcards). Any text gives entries
//! or a `SyntaxError`; entry offsets stay inside the text; lookups in a zone that loaded end
//! with an answer or a `DnsError`. `$INCLUDE` reads nothing here (parse_str has no directory).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dns::Resolver;
use mailauth::dns::zone::ZoneResolver;
use mailauth_base::zone::{NameContext, lex, parse_ttl, record_head};
use mailauth_fuzz::block_on;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entries) = lex(text) {
        let mut context = NameContext {
            origin: Some("example.com".into()),
            ..NameContext::default()
        };
        for entry in &entries {
            assert!(entry.start <= entry.end && entry.end <= text.len());
            for token in &entry.tokens {
                let _ = token.lossy();
                if let Ok(word) = token.as_str() {
                    let _ = parse_ttl(word);
                }
            }
            let _ = record_head(entry, &mut context);
        }
    }
    let Ok(zone) = ZoneResolver::parse_str(text, "fuzz.zone", Some("example.com")) else {
        return;
    };
    block_on(async {
        for name in [
            "example.com",
            "www.example.com",
            "a.b.example.com",
            "_dmarc.example.com",
        ] {
            let _ = zone.txt(name).await;
            let _ = zone.a(name).await;
            let _ = zone.aaaa(name).await;
            let _ = zone.mx(name).await;
            let _ = zone.ns(name).await;
            let _ = zone.tlsa(name).await;
        }
        let _ = zone
            .ptr("192.0.2.1".parse().expect("a literal address"))
            .await;
    });
});
