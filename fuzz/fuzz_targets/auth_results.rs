//! Authentication-Results rendering (src/auth_results.rs, RFC 8601 §2.2): outcomes with fuzzed
//! text (reasons quoting hostile input, odd domains, selectors) render as one well-formed
//! header field: ASCII only (RFC 5322 §2.2), the only line breaks CRLF followed by a tab (a
//! fold), and read back by the message splitter as exactly one `Authentication-Results` field
//! whose value holds each result word. The module has no parser, so the round trip is through
//! `Message::parse`.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use mailauth::auth_results::{DmarcResinfo, SpfResinfo, full_header};
use mailauth::dkim::{DkimOutcome, DkimResult};
use mailauth::dmarc::{DmarcResult, Policy};
use mailauth::message::Message;
use mailauth::spf::SpfResult;
use mailauth::spf::eval::SpfOutput;

#[derive(Debug, Arbitrary)]
struct Dkim {
    result: u8,
    domain: String,
    selector: String,
    algorithm: String,
    reason: Option<String>,
    identity: String,
    signature_prefix: String,
}

#[derive(Debug, Arbitrary)]
struct Input {
    authserv_id: String,
    spf: Option<(u8, String, Option<String>, bool)>,
    dkim: Vec<Dkim>,
    dmarc: Option<(u8, Option<u8>, u8, Option<String>, Option<String>)>,
}

fn pick<T: Copy>(all: &[T], n: u8) -> T {
    all[usize::from(n) % all.len()]
}

const DKIM: [DkimResult; 7] = [
    DkimResult::Pass,
    DkimResult::Fail,
    DkimResult::Neutral,
    DkimResult::Policy,
    DkimResult::None,
    DkimResult::TempError,
    DkimResult::PermError,
];
const SPF: [SpfResult; 7] = [
    SpfResult::None,
    SpfResult::Neutral,
    SpfResult::Pass,
    SpfResult::Fail,
    SpfResult::SoftFail,
    SpfResult::TempError,
    SpfResult::PermError,
];
const DMARC: [DmarcResult; 5] = [
    DmarcResult::None,
    DmarcResult::Pass,
    DmarcResult::Fail,
    DmarcResult::TempError,
    DmarcResult::PermError,
];
const POLICY: [Policy; 3] = [Policy::None, Policy::Quarantine, Policy::Reject];

fuzz_target!(|input: Input| {
    let dkim: Vec<DkimOutcome> = input
        .dkim
        .into_iter()
        .take(64)
        .map(|d| DkimOutcome {
            result: pick(&DKIM, d.result),
            domain: d.domain,
            selector: d.selector,
            algorithm: d.algorithm,
            reason: d.reason,
            identity: d.identity,
            signature_prefix: d.signature_prefix,
        })
        .collect();
    let helo = input.spf.as_ref().is_some_and(|s| s.3);
    let spf = input.spf.map(|(result, domain, reason, _)| SpfOutput {
        result: pick(&SPF, result),
        domain,
        explanation: None,
        reason,
        dns_mechanisms: 0,
        void_lookups: 0,
        trace: Vec::new(),
    });
    let dmarc = input
        .dmarc
        .as_ref()
        .map(|(result, policy, disposition, reason, from)| DmarcResinfo {
            result: pick(&DMARC, *result),
            policy: policy.map(|p| pick(&POLICY, p)),
            disposition: pick(&POLICY, *disposition),
            reason: reason.as_deref(),
            header_from: from.as_deref(),
        });
    let field = full_header(
        &input.authserv_id,
        spf.as_ref().map(|output| SpfResinfo { output, helo }),
        &dkim,
        dmarc,
    );
    assert!(field.is_ascii(), "not ASCII: {field:?}");
    for (i, line) in field.split("\r\n").enumerate() {
        assert!(
            i == 0 || line.starts_with('\t'),
            "a break that is not a fold: {field:?}"
        );
        assert!(
            !line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
            "bare CR/LF/NUL: {field:?}"
        );
    }
    let message = Message::parse(format!("{field}\r\n\r\n").as_bytes())
        .unwrap_or_else(|e| panic!("the field does not split: {e}: {field:?}"));
    assert_eq!(message.headers.len(), 1, "not one field: {field:?}");
    assert!(message.headers[0].is("authentication-results"));
    let value = String::from_utf8_lossy(message.headers[0].value()).into_owned();
    let expected =
        dkim.len().max(1) + usize::from(spf.is_some()) + usize::from(input.dmarc.is_some());
    assert!(
        value.matches("dkim=").count()
            + value.matches("spf=").count()
            + value.matches("dmarc=").count()
            >= expected,
        "a result word is missing: {field:?}"
    );
});
