//! Header and body canonicalization (RFC 6376 §3.4): pure functions over bytes.
//!
//! Input is already CRLF-normalised by [`crate::message`]. Nothing here hashes or allocates more
//! than one output buffer; the signer and verifier decide what to feed a digest.

use std::borrow::Cow;

use super::Canonicalization;

fn is_wsp(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Append one canonicalized header field, with its final CRLF, to `out`.
/// `raw` is the whole field without its final CRLF (name, colon, value, folding).
pub fn header(canon: Canonicalization, raw: &[u8], out: &mut Vec<u8>) {
    match canon {
        Canonicalization::Simple => out.extend_from_slice(raw),
        Canonicalization::Relaxed => relaxed_header(raw, out),
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 6376 §3.4.2: lower-case the name, unfold, compress WSP runs to one SP, delete WSP at the
/// end of the value and around the colon.
fn relaxed_header(raw: &[u8], out: &mut Vec<u8>) {
    let colon = raw.iter().position(|b| *b == b':').unwrap_or(raw.len());
    let name = raw[..colon].trim_ascii_end();
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let value = raw.get(colon + 1..).unwrap_or_default();
    let mut pending_space = false;
    let mut started = false;
    for &byte in value {
        match byte {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = started,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(byte);
                started = true;
            }
        }
    }
}

/// The canonicalized body (RFC 6376 §3.4.3 and §3.4.4).
pub fn body(canon: Canonicalization, body: &[u8]) -> Cow<'_, [u8]> {
    if canon == Canonicalization::Simple {
        let (trimmed, add_crlf) = simple_body(body);
        if !add_crlf {
            return Cow::Borrowed(trimmed);
        }
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    body_into(canon, body, &mut |piece| out.extend_from_slice(piece));
    Cow::Owned(out)
}

/// Feed the canonicalized body to `sink` in pieces, without building it in memory: what body
/// hashing uses.
pub fn body_into(canon: Canonicalization, body: &[u8], sink: &mut dyn FnMut(&[u8])) {
    match canon {
        Canonicalization::Simple => {
            let (trimmed, add_crlf) = simple_body(body);
            sink(trimmed);
            if add_crlf {
                sink(b"\r\n");
            }
        }
        Canonicalization::Relaxed => relaxed_body(body, sink),
    }
}

/// §3.4.3: remove empty lines at the end; an empty body becomes a single CRLF; a last line
/// without CRLF gets one. Returns the kept bytes and whether a CRLF must follow them.
fn simple_body(body: &[u8]) -> (&[u8], bool) {
    let mut end = body.len();
    while body[..end].ends_with(b"\r\n\r\n") {
        end -= 2;
    }
    let trimmed = &body[..end];
    if trimmed == b"\r\n" || trimmed.is_empty() {
        return (b"\r\n", false);
    }
    (trimmed, !trimmed.ends_with(b"\r\n"))
}

/// §3.4.4: compress WSP runs to one SP, delete WSP at line ends, remove empty lines at the end;
/// an empty body stays empty; a non-empty last line without CRLF gets one.
///
/// Most bodies are mostly canonical already, so the body is not walked line by line: three SIMD
/// searches find the only places relaxed canonicalization changes anything (a tab, two spaces in
/// a row, a space before a CR) and everything before them goes to `sink` as one slice of the
/// input. From such a place on, lines are rewritten in one branch-free pass each into a staging
/// buffer handed to `sink` in large pieces, until a few lines in a row need no change and the
/// searches take over again. A base64 attachment or plain prose is fed to the digest in a handful
/// of slices; a body where every line has WSP runs costs one pass over its bytes.
fn relaxed_body(body: &[u8], sink: &mut dyn FnMut(&[u8])) {
    let body = &body[..content_end(body)];
    if body.is_empty() {
        return;
    }
    let mut edits = EditFinder::new(body);
    let mut out = Staging::new(sink);
    // Bytes of `body` already given to `out`; always the start of a line.
    let mut done = 0;
    while let Some(at) = edits.next_from(done) {
        let start = line_start(body, done, at);
        out.pass(&body[done..start]);
        done = rewrite_lines(body, start, &mut out);
    }
    out.pass(&body[done..]);
    // `content_end` cut the body after its last non-WSP byte, so its last line has no CRLF yet.
    out.pass(b"\r\n");
    out.flush();
}

/// Clean lines in a row after which [`rewrite_lines`] hands back to the searches.
const CLEAN_RUN: usize = 4;

/// Rewrite lines from `start` (a line start) into `out` until [`CLEAN_RUN`] lines in a row were
/// already canonical, or the body ends; returns where it stopped (a line start or the end).
fn rewrite_lines(body: &[u8], mut start: usize, out: &mut Staging<'_>) -> usize {
    let mut clean = 0;
    while start < body.len() {
        let (stop, has_crlf) = line_end(body, start);
        let changed = out.relaxed_line(&body[start..stop]);
        if has_crlf {
            out.pass(b"\r\n");
            start = stop + 2;
        } else {
            start = stop;
        }
        clean = if changed { 0 } else { clean + 1 };
        if clean >= CLEAN_RUN {
            break;
        }
    }
    start
}

/// Canonical bytes on their way to a digest: small pieces are gathered, large ones passed on
/// as they are.
struct Staging<'s> {
    buffer: Vec<u8>,
    sink: &'s mut dyn FnMut(&[u8]),
}

impl<'s> Staging<'s> {
    const CAPACITY: usize = 16 * 1024;
    /// Slices at least this long go straight to the sink.
    const DIRECT: usize = 512;

    fn new(sink: &'s mut dyn FnMut(&[u8])) -> Self {
        Staging {
            buffer: Vec::with_capacity(Self::CAPACITY),
            sink,
        }
    }

    fn flush(&mut self) {
        if !self.buffer.is_empty() {
            (self.sink)(&self.buffer);
            self.buffer.clear();
        }
    }

    /// Bytes that are canonical as they are.
    fn pass(&mut self, bytes: &[u8]) {
        if bytes.len() >= Self::DIRECT {
            self.flush();
            (self.sink)(bytes);
        } else {
            if self.buffer.len() + bytes.len() > Self::CAPACITY {
                self.flush();
            }
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// One line (without its CRLF) canonicalized: WSP runs become one SP, WSP at the end goes.
    /// Returns whether that made it shorter.
    fn relaxed_line(&mut self, line: &[u8]) -> bool {
        let end = line.iter().rposition(|b| !is_wsp(*b)).map_or(0, |p| p + 1);
        if self.buffer.len() + end > Self::CAPACITY {
            self.flush();
        }
        let base = self.buffer.len();
        self.buffer.resize(base + end, 0);
        let written = compress_wsp(&line[..end], &mut self.buffer[base..]);
        self.buffer.truncate(base + written);
        // A line whose only change is a tab made a space counts as unchanged here: the edit
        // search finds its tab at once, so the cost of that is one search.
        written < line.len()
    }
}

/// 1 for WSP (SP and HTAB), 0 for any other byte: read from a table so that the loop in
/// [`compress_bytes`] has no branch on the data.
static IS_WSP: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b' ' as usize] = 1;
    table[b'\t' as usize] = 1;
    table
};

/// Each byte as relaxed canonicalization writes it: HTAB becomes SP, everything else stays.
static AS_WRITTEN: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte as u8;
        byte += 1;
    }
    table[b'\t' as usize] = b' ';
    table
};

/// `line` with every WSP run made one SP, written to `out` (at least as long); returns the
/// length written. Eight bytes at a time: a word with no tab and no two WSP in a row (counting
/// the byte before it) is copied whole, which is most words of most text even on a line that
/// needs rewriting; any other word goes through [`compress_bytes`].
fn compress_wsp(line: &[u8], out: &mut [u8]) -> usize {
    let mut written = 0;
    let mut previous_wsp = 0u8;
    let mut words = line.chunks_exact(8);
    for chunk in &mut words {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            continue;
        };
        let word = u64::from_le_bytes(bytes);
        let tabs = zero_bytes(word ^ u64::from_ne_bytes([b'\t'; 8]));
        let wsp = tabs | zero_bytes(word ^ u64::from_ne_bytes([b' '; 8]));
        // Each byte's flag moved onto the next byte; the first byte gets the previous word's last.
        let after_wsp = (wsp << 8) | (u64::from(previous_wsp) << 7);
        if tabs | (wsp & after_wsp) == 0 {
            // `written` never passes the read position, so the eight slots exist.
            if let Some(slots) = out.get_mut(written..written + 8) {
                slots.copy_from_slice(chunk);
            }
            written += 8;
            previous_wsp = u8::from(wsp >> 63 != 0);
        } else {
            (written, previous_wsp) = compress_bytes(chunk, out, written, previous_wsp);
        }
    }
    compress_bytes(words.remainder(), out, written, previous_wsp).0
}

/// Bit 7 of each byte of the result is set exactly where that byte of `x` is zero (the exact
/// form of the "has zero byte" test: no borrow crosses between bytes).
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// [`compress_wsp`] one byte at a time from write position `written`, without branches on the
/// data (mail has a space every few bytes, which a branch predictor cannot follow): every byte
/// is written (a WSP as SP) and the write position only moves past a byte that is not the
/// second WSP of a run. Returns the new write position and whether the last byte was WSP.
fn compress_bytes(
    bytes: &[u8],
    out: &mut [u8],
    mut written: usize,
    mut previous_wsp: u8,
) -> (usize, u8) {
    for &byte in bytes {
        let wsp = IS_WSP[usize::from(byte)];
        if let Some(slot) = out.get_mut(written) {
            *slot = AS_WRITTEN[usize::from(byte)];
        }
        written += usize::from(1 - (wsp & previous_wsp));
        previous_wsp = wsp;
    }
    (written, previous_wsp)
}

/// Where the body's content ends: after its last byte that is neither WSP nor part of a CRLF.
/// What follows is trailing WSP of the last line and lines that are empty once canonicalized,
/// all of which relaxed canonicalization removes (RFC 6376 §3.4.4). A CR or LF that is not part
/// of a CRLF is content.
fn content_end(body: &[u8]) -> usize {
    let mut end = body.len();
    loop {
        if end >= 2 && &body[end - 2..end] == b"\r\n" {
            end -= 2;
        } else if end >= 1 && is_wsp(body[end - 1]) {
            end -= 1;
        } else {
            return end;
        }
    }
}

/// The next place at or after a position where relaxed body canonicalization changes the input:
/// a tab (becomes a space, or goes at a line end), two spaces (a run to compress) or a space
/// before a CR (WSP at a line end; a false alarm before a bare CR, which the line rewrite then
/// leaves as it is). Each search result is kept until the scan passes it, so the body is searched
/// once for each of the three however the edits are spread.
struct EditFinder<'b> {
    body: &'b [u8],
    /// Next tab, double space, space-CR at or after where last searched; `None`: no more.
    next: [Option<usize>; 3],
}

/// The searchers of [`EditFinder`], built once: building one costs more than a short search.
static DOUBLE_SPACE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));
static SPACE_CR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" \r"));

impl<'b> EditFinder<'b> {
    fn new(body: &'b [u8]) -> Self {
        let mut finder = EditFinder {
            body,
            next: [None; 3],
        };
        for kind in 0..3 {
            finder.next[kind] = finder.search(kind, 0);
        }
        finder
    }

    fn search(&self, kind: usize, from: usize) -> Option<usize> {
        let rest = &self.body[from..];
        let found = match kind {
            0 => memchr::memchr(b'\t', rest),
            1 => DOUBLE_SPACE.find(rest),
            _ => SPACE_CR.find(rest),
        };
        found.map(|at| at + from)
    }

    fn next_from(&mut self, from: usize) -> Option<usize> {
        for kind in 0..3 {
            if self.next[kind].is_some_and(|at| at < from) {
                self.next[kind] = self.search(kind, from);
            }
        }
        self.next.iter().flatten().copied().min()
    }
}

/// The start of the line holding `at`, searching back no further than `from` (a line start).
fn line_start(body: &[u8], from: usize, at: usize) -> usize {
    let mut end = at;
    while let Some(lf) = memchr::memrchr(b'\n', &body[from..end]) {
        let lf = from + lf;
        if lf > from && body[lf - 1] == b'\r' {
            return lf + 1;
        }
        end = lf;
    }
    from
}

/// The end of the line holding `at` (the index of its CRLF, or the body's end) and whether a
/// CRLF is there.
fn line_end(body: &[u8], at: usize) -> (usize, bool) {
    let mut from = at;
    while let Some(lf) = memchr::memchr(b'\n', &body[from..]) {
        let lf = from + lf;
        if lf > at && body[lf - 1] == b'\r' {
            return (lf - 1, true);
        }
        from = lf + 1;
    }
    (body.len(), false)
}

/// A DKIM-Signature field with the value of its `b=` tag removed, "including all surrounding
/// whitespace" (RFC 6376 §3.5), as the signature's own hash input needs it.
pub fn without_b_value(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|b| *b == b':').map_or(0, |c| c + 1);
    let mut out = raw[..colon].to_vec();
    let mut first = true;
    for element in raw[colon..].split(|b| *b == b';') {
        if !first {
            out.push(b';');
        }
        first = false;
        out.extend_from_slice(&strip_b_value(element));
    }
    out
}

/// If `element` is the `b` tag, everything after its `=`; otherwise the element unchanged.
fn strip_b_value(element: &[u8]) -> Cow<'_, [u8]> {
    let Some(eq) = element.iter().position(|b| *b == b'=') else {
        return Cow::Borrowed(element);
    };
    let name = element[..eq].trim_ascii();
    if name == b"b" {
        Cow::Owned(element[..=eq].to_vec())
    } else {
        Cow::Borrowed(element)
    }
}

/// Index of header fields by lower-cased name, listing positions bottom-up, built once per
/// message so that selecting fields for many signatures stays linear.
#[derive(Debug)]
pub struct HeaderIndex<'m> {
    fields: &'m [crate::message::HeaderField],
    by_name: std::collections::HashMap<Vec<u8>, Vec<usize>>,
}

impl<'m> HeaderIndex<'m> {
    /// Index `fields`.
    pub fn new(fields: &'m [crate::message::HeaderField]) -> Self {
        let mut by_name: std::collections::HashMap<Vec<u8>, Vec<usize>> = Default::default();
        for (index, field) in fields.iter().enumerate().rev() {
            let name = field.name().trim_ascii_end().to_ascii_lowercase();
            by_name.entry(name).or_default().push(index);
        }
        HeaderIndex { fields, by_name }
    }

    /// The hash input for the header part of a signature (RFC 6376 §3.7, §5.4.2): for each name
    /// in `signed`, the last not-yet-used field of that name (a name with no field left adds
    /// nothing), each canonicalized; then `signature_field` (the DKIM-Signature field with its
    /// `b=` value removed) canonicalized without its final CRLF.
    pub fn hash_input(
        &self,
        canon: Canonicalization,
        signed: &[String],
        signature_field: &[u8],
    ) -> Vec<u8> {
        let mut used: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let mut out = Vec::with_capacity(1024);
        for name in signed {
            let key = name.as_bytes().to_ascii_lowercase();
            let Some(positions) = self.by_name.get(&key) else {
                continue;
            };
            let next = used.entry(key).or_insert(0);
            if let Some(&index) = positions.get(*next) {
                header(canon, self.fields[index].raw(), &mut out);
                *next += 1;
            }
        }
        header(canon, signature_field, &mut out);
        out.truncate(out.len() - 2);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Canonicalization::{Relaxed, Simple};

    fn head(canon: Canonicalization, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        header(canon, raw, &mut out);
        out
    }

    /// RFC 6376 §3.4.5 example, headers.
    #[test]
    fn rfc6376_3_4_5_example_headers() {
        assert_eq!(head(Relaxed, b"A: X"), b"a:X\r\n");
        assert_eq!(head(Relaxed, b"B : Y\t\r\n\tZ  "), b"b:Y Z\r\n");
        assert_eq!(head(Simple, b"B : Y\t\r\n\tZ  "), b"B : Y\t\r\n\tZ  \r\n");
    }

    /// RFC 6376 §3.4.5 example, body.
    #[test]
    fn rfc6376_3_4_5_example_body() {
        let input = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(&*body(Relaxed, input), b" C\r\nD E\r\n");
        assert_eq!(&*body(Simple, input), b" C \r\nD \t E\r\n");
    }

    #[test]
    fn rfc6376_3_4_3_simple_empty_body_is_crlf() {
        assert_eq!(&*body(Simple, b""), b"\r\n");
        assert_eq!(&*body(Simple, b"\r\n\r\n"), b"\r\n");
    }

    #[test]
    fn rfc6376_3_4_4_relaxed_empty_body_is_empty() {
        assert_eq!(&*body(Relaxed, b""), b"");
        assert_eq!(&*body(Relaxed, b"\r\n \r\n\t\r\n"), b"");
    }

    #[test]
    fn rfc6376_3_4_4_relaxed_body_trailing_whitespace() {
        assert_eq!(&*body(Relaxed, b"a  \t\r\n  b\t\r\n"), b"a\r\n b\r\n");
    }

    #[test]
    fn rfc6376_3_4_4_relaxed_keeps_inner_empty_lines() {
        assert_eq!(
            &*body(Relaxed, b"a\r\n\r\n \r\nb\r\n \r\n"),
            b"a\r\n\r\n\r\nb\r\n"
        );
    }

    #[test]
    fn missing_final_crlf_is_added() {
        assert_eq!(&*body(Simple, b"a\r\nb"), b"a\r\nb\r\n");
        assert_eq!(&*body(Relaxed, b"a\r\nb "), b"a\r\nb\r\n");
    }

    #[test]
    fn rfc6376_3_4_2_relaxed_header_unfolds_and_trims() {
        assert_eq!(
            head(Relaxed, b"Subject:\t  hello \r\n  world \t"),
            b"subject:hello world\r\n"
        );
        assert_eq!(head(Relaxed, b"X-Empty:  "), b"x-empty:\r\n");
    }

    #[test]
    fn rfc6376_3_5_b_value_removed_with_surrounding_space() {
        let raw = b"DKIM-Signature: v=1; bh=abc=; b=AAAA\r\n\tBBBB ; d=x";
        assert_eq!(
            without_b_value(raw),
            b"DKIM-Signature: v=1; bh=abc=; b=; d=x"
        );
        let last = b"DKIM-Signature: v=1; b = AAAA\r\n BB";
        assert_eq!(without_b_value(last), b"DKIM-Signature: v=1; b =");
    }

    /// RFC 6376 §3.4.4 read literally, one byte at a time: the model the streaming code must
    /// match.
    fn relaxed_model(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(body).into_owned();
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        if text.ends_with("\r\n") {
            lines.pop();
        }
        let mut out: Vec<String> = lines
            .iter()
            .map(|line| {
                let mut collapsed = String::new();
                let mut in_run = false;
                for c in line.chars() {
                    if c == ' ' || c == '\t' {
                        if !in_run {
                            collapsed.push(' ');
                        }
                        in_run = true;
                    } else {
                        collapsed.push(c);
                        in_run = false;
                    }
                }
                collapsed.trim_end_matches(' ').to_owned()
            })
            .collect();
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out.iter()
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    /// The same model over bytes: lines split at CRLF only (a bare CR or LF is content), so any
    /// byte sequence can be compared, not only UTF-8.
    fn relaxed_model_bytes(body: &[u8]) -> Vec<u8> {
        let mut lines: Vec<&[u8]> = Vec::new();
        let mut rest = body;
        while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
            lines.push(&rest[..at]);
            rest = &rest[at + 2..];
        }
        if !rest.is_empty() {
            lines.push(rest);
        }
        let mut out: Vec<Vec<u8>> = lines
            .iter()
            .map(|line| {
                let mut collapsed = Vec::new();
                for (i, &b) in line.iter().enumerate() {
                    if b == b' ' || b == b'\t' {
                        if i == 0 || !(line[i - 1] == b' ' || line[i - 1] == b'\t') {
                            collapsed.push(b' ');
                        }
                    } else {
                        collapsed.push(b);
                    }
                }
                while collapsed.last() == Some(&b' ') {
                    collapsed.pop();
                }
                collapsed
            })
            .collect();
        while out.last().is_some_and(Vec::is_empty) {
            out.pop();
        }
        out.into_iter()
            .flat_map(|l| [l, b"\r\n".to_vec()])
            .flatten()
            .collect()
    }

    /// Pieces that stress the edit search: long WSP runs, WSP before CR, bare CR and LF, CRLF
    /// runs, long lines, and plain text between them.
    fn hostile_body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => "[a-z.,=+/]{1,12}".prop_map(String::into_bytes),
            2 => Just(b" ".to_vec()),
            1 => " {2,300}".prop_map(String::into_bytes),
            1 => "[ \t]{1,40}".prop_map(String::into_bytes),
            1 => "\t{1,5}".prop_map(String::into_bytes),
            3 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(b" \r".to_vec()),
            1 => "(\r\n[ \t]*){1,6}".prop_map(String::into_bytes),
            1 => (1usize..20_000).prop_map(|n| vec![b'x'; n]),
            1 => proptest::collection::vec(any::<u8>(), 0..16),
        ];
        proptest::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        /// The fast relaxed canonicalizer (slices between edit points) equals the RFC 6376
        /// §3.4.4 model on hostile bodies, byte for byte, fed whole and in the pieces the digest
        /// gets.
        #[test]
        fn fast_relaxed_body_matches_the_byte_model(body in hostile_body()) {
            proptest::prop_assert_eq!(body_of(Relaxed, &body), relaxed_model_bytes(&body));
        }

        /// The body hash streams the canonical body into the digest in pieces (slices of the
        /// input, rewritten lines, buffered small pieces): it must equal the hash of the whole
        /// canonical body, with and without `l=` (RFC 6376 §3.7 step 2, §3.5).
        #[test]
        fn streamed_body_hash_equals_hash_of_the_canonical_body(body in hostile_body(), cut in 0u64..100_000) {
            use crate::dkim::SigningAlgorithm::RsaSha256;
            for canon in [Simple, Relaxed] {
                let whole = body_of(canon, &body);
                let limit = (cut as usize).min(whole.len());
                let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &whole);
                let streamed = crate::dkim::sign::body_hash(RsaSha256, canon, &body, None);
                proptest::prop_assert_eq!(streamed.as_slice(), expected.as_ref());
                let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &whole[..limit]);
                let streamed = crate::dkim::sign::body_hash(RsaSha256, canon, &body, Some(limit as u64));
                proptest::prop_assert_eq!(streamed.as_slice(), expected.as_ref());
            }
        }

        /// The byte model agrees with the text model where both apply.
        #[test]
        fn byte_model_matches_the_text_model(body in "([ \ta-z]{0,12}\r\n){0,8}[ \ta-z]{0,5}") {
            proptest::prop_assert_eq!(relaxed_model_bytes(body.as_bytes()), relaxed_model(body.as_bytes()));
        }

        #[test]
        fn relaxed_body_matches_the_rfc_model(body in "([ \ta-z]{0,12}\r\n){0,8}[ \ta-z]{0,5}") {
            proptest::prop_assert_eq!(body_of(Relaxed, body.as_bytes()), relaxed_model(body.as_bytes()));
        }

        /// Canonicalizing a canonical body changes nothing (both algorithms).
        #[test]
        fn body_canonicalization_is_idempotent(body in "([ \ta-z]{0,12}\r\n){0,8}[ a-z]{0,5}") {
            for canon in [Simple, Relaxed] {
                let once = body_of(canon, body.as_bytes());
                proptest::prop_assert_eq!(body_of(canon, &once), once);
            }
        }

        /// RFC 6376 §3.4.4: whitespace at line ends and empty lines at the end do not matter.
        #[test]
        fn relaxed_body_ignores_trailing_whitespace(lines in proptest::collection::vec("[a-z ]{0,10}", 0..6)) {
            let plain: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            let padded: String = lines.iter().map(|l| format!("{l} \t\r\n")).collect::<String>() + "\r\n \r\n";
            proptest::prop_assert_eq!(body_of(Relaxed, plain.as_bytes()), body_of(Relaxed, padded.as_bytes()));
        }
    }

    fn body_of(canon: Canonicalization, input: &[u8]) -> Vec<u8> {
        body(canon, input).into_owned()
    }
}
