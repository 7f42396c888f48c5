//! Differential: the relaxed body canonicalizer (src/dkim/canonicalize.rs, which feeds the
//! digest slices between SIMD-found edit points) against RFC 6376 §3.4.4 read literally, one
//! byte at a time (the model below, written afresh; the proptest model lives in that module's
//! tests and is not part of the library). Lines are split at CRLF only; a bare CR or LF is
//! content. Also checked: the streamed form (`body_into`) concatenates to the same bytes, and
//! simple canonicalization (§3.4.3) never ends in more than one CRLF.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::dkim::Canonicalization;
use mailauth::dkim::canonicalize::{body, body_into};

/// RFC 6376 §3.4.4: reduce each run of WSP inside a line to one SP, drop WSP at line ends,
/// drop empty lines at the end of the body; a non-empty body ends in CRLF.
fn model(input: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut line = Vec::new();
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
            lines.push(std::mem::take(&mut line));
            i += 2;
            continue;
        }
        let wsp = input[i] == b' ' || input[i] == b'\t';
        let after_wsp =
            line.last() == Some(&b' ') && i > 0 && (input[i - 1] == b' ' || input[i - 1] == b'\t');
        if !(wsp && after_wsp) {
            line.push(if wsp { b' ' } else { input[i] });
        }
        i += 1;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    let mut out = Vec::new();
    let kept = lines
        .iter()
        .rposition(|l| l.iter().any(|&b| b != b' '))
        .map_or(0, |p| p + 1);
    for mut l in lines.into_iter().take(kept) {
        while l.last() == Some(&b' ') {
            l.pop();
        }
        out.extend_from_slice(&l);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let fast = body(Canonicalization::Relaxed, data);
    assert_eq!(
        &*fast,
        &model(data)[..],
        "relaxed body differs from the RFC 6376 model"
    );
    let mut streamed = Vec::new();
    body_into(Canonicalization::Relaxed, data, &mut |piece| {
        streamed.extend_from_slice(piece)
    });
    assert_eq!(
        streamed, &*fast,
        "streamed relaxed body differs from the whole one"
    );
    let simple = body(Canonicalization::Simple, data);
    assert!(simple.ends_with(b"\r\n") && !simple.ends_with(b"\r\n\r\n") || &*simple == b"\r\n");
});
