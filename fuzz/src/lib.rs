//! Helpers shared by the fuzz targets in `fuzz_targets/`: running the library's async checks to
//! completion without a server, and the fixed zone the DKIM verify target resolves against.
//! Nothing here is fuzzed itself.

use std::future::Future;
use std::sync::OnceLock;

use mailauth::dns::zone::ZoneResolver;

/// The fixed `now` every target passes (2026-01-01T00:00:00Z): verification never reads the
/// clock, so a crash found replays the same.
pub const NOW: u64 = 1_767_225_600;

/// Run `future` on one current-thread runtime kept for the process; the resolvers fuzzed here
/// answer from memory, so nothing waits on I/O.
pub fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime without I/O or timers always builds");
    }
    RUNTIME.with(|rt| rt.block_on(future))
}

/// The zone of the RFC 8463 Appendix A example keys (testdata/dns/rfc8463.zone) and the test
/// zones under testdata/dns that publish DKIM keys, parsed once.
pub fn dkim_zone() -> &'static ZoneResolver {
    static ZONE: OnceLock<ZoneResolver> = OnceLock::new();
    ZONE.get_or_init(|| {
        let text = [
            include_str!("../../testdata/dns/rfc8463.zone"),
            include_str!("../../testdata/dns/dkim-checks.zone"),
        ]
        .join("\n");
        ZoneResolver::parse_str(&text, "testdata/dns", None)
            .expect("the testdata zones parse (tests/local_dns.rs reads them too)")
    })
}

/// Cut `data` at the first NUL byte: the head picks options, the tail is the fuzzed input.
pub fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[], data),
    }
}

/// The record types the provider targets ask for, picked by the first byte of the input: the
/// type and the rest of the input, or `None` for an empty input.
pub fn pick_record_type(data: &[u8]) -> Option<(mailauth_providers::RecordType, &[u8])> {
    use mailauth_providers::RecordType;
    const TYPES: [RecordType; 4] = [
        RecordType::Txt,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Tlsa,
    ];
    let (&pick, rest) = data.split_first()?;
    Some((TYPES[usize::from(pick) % TYPES.len()], rest))
}

/// The differential check of the record targets: `built`, the text a builder made from
/// `parsed`, must parse (with `parse`, the parser that gave `parsed`) to the same value.
pub fn assert_round_trip<T, E>(parsed: &T, built: &str, parse: impl Fn(&[u8]) -> Result<T, E>)
where
    T: PartialEq + std::fmt::Debug,
    E: std::fmt::Display,
{
    let again =
        parse(built.as_bytes()).unwrap_or_else(|e| panic!("built {built:?} does not parse: {e}"));
    assert_eq!(&again, parsed, "parse(build(x)) != x for {built:?}");
}
