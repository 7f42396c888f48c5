//! Does a mail server still speak SSLv3, TLS 1.0 or TLS 1.1? This module owns the raw
//! ClientHello for one of those versions (built by hand: rustls cannot speak them, by design),
//! the reading of the server's first answer, and one attempt over a stream the caller hands in.
//!
//! It does not connect, send EHLO or STARTTLS, or turn outcomes into findings: the probe does
//! that, with one fresh stream per version. It never completes a legacy handshake either: the
//! ServerHello alone says whether the server would have agreed, so no legacy cryptography runs.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A protocol version older than TLS 1.2 that a server should no longer accept (RFC 8996 §2-§5,
/// RFC 7568 for SSLv3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LegacyVersion {
    /// SSL 3.0 (RFC 6101), wire version 3.0.
    #[serde(rename = "SSLv3")]
    Ssl3,
    /// TLS 1.0 (RFC 2246), wire version 3.1.
    #[serde(rename = "TLSv1.0")]
    Tls10,
    /// TLS 1.1 (RFC 4346), wire version 3.2.
    #[serde(rename = "TLSv1.1")]
    Tls11,
}

impl LegacyVersion {
    /// Every legacy version, oldest first (the order the probe tries them).
    pub const ALL: [LegacyVersion; 3] = [
        LegacyVersion::Ssl3,
        LegacyVersion::Tls10,
        LegacyVersion::Tls11,
    ];

    /// The two version bytes on the wire (major, minor).
    pub fn wire(self) -> [u8; 2] {
        match self {
            LegacyVersion::Ssl3 => [3, 0],
            LegacyVersion::Tls10 => [3, 1],
            LegacyVersion::Tls11 => [3, 2],
        }
    }

    /// The name used in output: "SSLv3", "TLSv1.0", "TLSv1.1".
    pub fn as_str(self) -> &'static str {
        match self {
            LegacyVersion::Ssl3 => "SSLv3",
            LegacyVersion::Tls10 => "TLSv1.0",
            LegacyVersion::Tls11 => "TLSv1.1",
        }
    }
}

impl fmt::Display for LegacyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server answered to a ClientHello offering only one legacy version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyOutcome {
    /// The server answered a ServerHello with the version offered: it would speak it.
    Accepted,
    /// The server declined: with a TLS alert (`alert` holds its description code, e.g. 40
    /// handshake_failure or 70 protocol_version), or, when `alert` is `None`, with a ServerHello
    /// for a version other than the one offered (see [`Display`](fmt::Display)).
    Refused {
        /// The alert description code (RFC 5246 §7.2), when the server sent an alert.
        alert: Option<u8>,
    },
    /// The answer says neither: the connection closed or timed out without one, or the bytes
    /// were not TLS (for example an SMTP reply). `reason` says which, for the report.
    Inconclusive {
        /// What was seen instead of an answer.
        reason: String,
    },
}

impl LegacyOutcome {
    /// The word used in JSON output: "accepted", "refused" or "inconclusive".
    pub fn as_str(&self) -> &'static str {
        match self {
            LegacyOutcome::Accepted => "accepted",
            LegacyOutcome::Refused { .. } => "refused",
            LegacyOutcome::Inconclusive { .. } => "inconclusive",
        }
    }
}

/// JSON output is the bare word (contract of `mailauth probe --json`); the detail is in
/// [`Display`](fmt::Display), for `seen` in findings.
impl Serialize for LegacyOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for LegacyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LegacyOutcome::Accepted => f.write_str("accepted (server answered a ServerHello)"),
            LegacyOutcome::Refused { alert: Some(code) } => {
                write!(f, "refused (alert {code} {})", alert_name(*code))
            }
            LegacyOutcome::Refused { alert: None } => {
                f.write_str("refused (server answered a ServerHello for another version)")
            }
            LegacyOutcome::Inconclusive { reason } => write!(f, "inconclusive ({reason})"),
        }
    }
}

/// The RFC 5246 §7.2 / RFC 8446 §6 name of an alert description, for messages.
pub fn alert_name(code: u8) -> &'static str {
    match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        _ => "unknown alert",
    }
}

/// TLS record content types (RFC 5246 §6.2.1; heartbeat RFC 6520): the range a record's
/// first byte must fall in.
const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_HEARTBEAT: u8 = 24;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake message types (RFC 5246 §7.4).
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
/// The most the reader takes before deciding: a ServerHello's version sits in its first bytes,
/// so anything beyond a few KB is not an answer worth waiting for.
const MAX_ANSWER: usize = 8 * 1024;

/// Cipher suites offered with every legacy hello: broad enough that any server still speaking
/// these versions finds one it has (ECDHE and RSA key exchange, AES-CBC, Camellia, 3DES, RC4).
/// The order is a client's preference, strongest first; the server picks.
const LEGACY_SUITES: &[u16] = &[
    0xC00A, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xC014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xC009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xC013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0x0039, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
    0x0033, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x002F, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x0084, // TLS_RSA_WITH_CAMELLIA_256_CBC_SHA
    0x0041, // TLS_RSA_WITH_CAMELLIA_128_CBC_SHA
    0xC008, // TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
    0xC012, // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x0016, // TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x000A, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    0xC007, // TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
    0xC011, // TLS_ECDHE_RSA_WITH_RC4_128_SHA
    0x0005, // TLS_RSA_WITH_RC4_128_SHA
    0x0004, // TLS_RSA_WITH_RC4_128_MD5
];

/// RFC 5746 §3.3: SSLv3 has no extensions, so secure renegotiation is signalled by this suite.
const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00FF;

/// Extension types (RFC 6066 §3, RFC 8422 §5.1, RFC 5746 §3.2).
const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000A;
const EXT_EC_POINT_FORMATS: u16 = 0x000B;
const EXT_RENEGOTIATION_INFO: u16 = 0xFF01;
/// secp256r1, secp384r1, secp521r1, x25519 (RFC 8422 §5.1.1).
const GROUPS: &[u16] = &[23, 24, 25, 29];

/// One whole TLS record holding a ClientHello that offers only `version` (RFC 5246 §7.4.1.2,
/// RFC 2246 §7.4.1.2, RFC 6101 §5.6.1.2): the record version and client_version are both
/// `version`, so a server that picks anything else has refused it.
///
/// `server_name` goes into a server_name extension (RFC 6066 §3) for TLS versions, unless it is
/// an IP literal (which RFC 6066 §3 forbids there). SSLv3 hellos carry no extensions.
pub fn client_hello(version: LegacyVersion, server_name: Option<&str>) -> Vec<u8> {
    let body = client_hello_body(version, server_name);
    let mut handshake = vec![HANDSHAKE_CLIENT_HELLO];
    push_u24_len(&mut handshake, &body);
    let mut record = vec![CONTENT_HANDSHAKE];
    record.extend_from_slice(&version.wire());
    push_u16_len(&mut record, &handshake);
    record
}

/// The ClientHello body: client_version, random, empty session id, suites, null compression,
/// extensions.
fn client_hello_body(version: LegacyVersion, server_name: Option<&str>) -> Vec<u8> {
    let mut body = version.wire().to_vec();
    body.extend_from_slice(&hello_random());
    body.push(0); // session_id: empty, no resumption
    push_u16_len(&mut body, &suites(version));
    body.extend_from_slice(&[1, 0]); // compression_methods: null only (RFC 5246 §6.2.2)
    if version != LegacyVersion::Ssl3 {
        push_u16_len(&mut body, &extensions(server_name));
    }
    body
}

/// The cipher suite list as bytes; SSLv3 adds the renegotiation SCSV in place of the extension.
fn suites(version: LegacyVersion) -> Vec<u8> {
    let mut suites: Vec<u8> = LEGACY_SUITES.iter().flat_map(|s| s.to_be_bytes()).collect();
    if version == LegacyVersion::Ssl3 {
        suites.extend_from_slice(&EMPTY_RENEGOTIATION_INFO_SCSV.to_be_bytes());
    }
    suites
}

/// The extensions a TLS 1.0/1.1 server needs to answer: without supported_groups and
/// ec_point_formats it may not pick an ECDHE suite, and some servers refuse a client that does
/// not signal secure renegotiation. No signature_algorithms: RFC 5246 §7.4.1.4.1 reserves it
/// for TLS 1.2 clients.
fn extensions(server_name: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(name) = server_name.filter(|n| is_sni_name(n)) {
        push_extension(&mut out, EXT_SERVER_NAME, &server_name_list(name));
    }
    let groups: Vec<u8> = GROUPS.iter().flat_map(|g| g.to_be_bytes()).collect();
    let mut group_list = Vec::new();
    push_u16_len(&mut group_list, &groups);
    push_extension(&mut out, EXT_SUPPORTED_GROUPS, &group_list);
    push_extension(&mut out, EXT_EC_POINT_FORMATS, &[1, 0]); // one format: uncompressed
    push_extension(&mut out, EXT_RENEGOTIATION_INFO, &[0]); // empty renegotiated_connection
    out
}

/// RFC 6066 §3: a HostName, never an IP literal, without the root's trailing dot.
fn is_sni_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty() && name.parse::<std::net::IpAddr>().is_err() && name.len() <= 255
}

/// ServerNameList with one host_name entry (RFC 6066 §3).
fn server_name_list(name: &str) -> Vec<u8> {
    let name = name.trim_end_matches('.');
    let mut entry = vec![0]; // name_type host_name
    push_u16_len(&mut entry, name.as_bytes());
    let mut list = Vec::new();
    push_u16_len(&mut list, &entry);
    list
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16_len(out, data);
}

/// Append `data` preceded by its length in two bytes. Every caller's data is bounded far below
/// 64 KiB (a hello is a few hundred bytes), so the cast cannot truncate.
fn push_u16_len(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn push_u24_len(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(data);
}

/// The 32-byte client random. It protects nothing here (the handshake never goes past the
/// ServerHello), but it should not look the same on every probe, so the system RNG fills it and
/// a clock-derived pattern stands in if that fails.
fn hello_random() -> [u8; 32] {
    let mut random = [0u8; 32];
    if getrandom::fill(&mut random).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, byte) in random.iter_mut().enumerate() {
            *byte = (nanos >> ((i % 16) * 8)) as u8 ^ i as u8;
        }
    }
    random
}

/// Read the server's first answer to a legacy hello, without knowing which version was offered:
/// a ServerHello for SSLv3, TLS 1.0 or TLS 1.1 is `Accepted`, one for TLS 1.2 or later is
/// `Refused` (the server wanted a newer version), an alert is `Refused` with its code, and
/// anything else is `Inconclusive` with what was seen. Pure; reads at most the first records.
///
/// When the offered version is known, prefer [`classify_for`]: a server asked for TLS 1.1 that
/// answers TLS 1.0 has refused TLS 1.1, which only `classify_for` can tell.
pub fn classify(first_bytes: &[u8]) -> LegacyOutcome {
    match answer(first_bytes) {
        Some(Answer::ServerHello(version)) if legacy_from_wire(version).is_some() => {
            LegacyOutcome::Accepted
        }
        Some(Answer::ServerHello(_)) => LegacyOutcome::Refused { alert: None },
        other => verdict_without_hello(other, first_bytes),
    }
}

/// Read the server's first answer to a hello that offered only `version`: a ServerHello with
/// that server_version is `Accepted`; one with any other version, or an alert, is `Refused`;
/// anything else is `Inconclusive` with what was seen (RFC 5246 §7.4.1.3, §7.2; RFC 6101 §5.6.1.3).
pub fn classify_for(version: LegacyVersion, first_bytes: &[u8]) -> LegacyOutcome {
    match answer(first_bytes) {
        Some(Answer::ServerHello(wire)) if wire == version.wire() => LegacyOutcome::Accepted,
        Some(Answer::ServerHello(_)) => LegacyOutcome::Refused { alert: None },
        other => verdict_without_hello(other, first_bytes),
    }
}

fn legacy_from_wire(wire: [u8; 2]) -> Option<LegacyVersion> {
    LegacyVersion::ALL.into_iter().find(|v| v.wire() == wire)
}

/// The outcome for every answer that is not a ServerHello.
fn verdict_without_hello(answer: Option<Answer>, bytes: &[u8]) -> LegacyOutcome {
    match answer {
        Some(Answer::Alert(code)) => LegacyOutcome::Refused { alert: Some(code) },
        Some(Answer::NotTls(reason)) => LegacyOutcome::Inconclusive { reason },
        Some(Answer::ServerHello(_)) | None => LegacyOutcome::Inconclusive {
            reason: incomplete_reason(bytes),
        },
    }
}

fn incomplete_reason(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "the server closed the connection without answering the ClientHello".to_string()
    } else {
        format!(
            "the answer ended after {} bytes, inside a TLS record",
            bytes.len()
        )
    }
}

/// What the first records say, once they say enough.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// A ServerHello with this server_version.
    ServerHello([u8; 2]),
    /// An alert with this description code.
    Alert(u8),
    /// Not a TLS answer; why.
    NotTls(String),
}

/// Decide from the bytes so far, or `None` when more bytes are needed. Handshake records are
/// joined first, because a server may split even the ServerHello's first bytes over records
/// (RFC 5246 §6.2.1 allows fragmenting handshake messages).
fn answer(bytes: &[u8]) -> Option<Answer> {
    let mut handshake = Vec::new();
    let mut rest = bytes;
    loop {
        let (kind, version, fragment, after) = match split_record(rest)? {
            Ok(record) => record,
            Err(reason) => return Some(Answer::NotTls(reason)),
        };
        match kind {
            CONTENT_ALERT => return alert(fragment, version),
            CONTENT_HANDSHAKE => handshake.extend_from_slice(fragment),
            other => {
                return Some(Answer::NotTls(format!(
                    "a TLS record of content type {other} before any handshake"
                )));
            }
        }
        if let Some(found) = server_hello(&handshake) {
            return Some(found);
        }
        rest = after;
    }
}

/// One record: (content type, version, fragment, the bytes after it); `None` if incomplete;
/// `Err` when the header cannot be a TLS record.
type Record<'a> = (u8, [u8; 2], &'a [u8], &'a [u8]);

fn split_record(bytes: &[u8]) -> Option<Result<Record<'_>, String>> {
    if let Some(&first) = bytes.first()
        && !(CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_HEARTBEAT).contains(&first)
    {
        return Some(Err(not_tls(bytes)));
    }
    let header = bytes.get(..5)?;
    if header[1] != 3 {
        return Some(Err(not_tls(bytes)));
    }
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if length > 16384 + 2048 {
        return Some(Err(format!("a TLS record claiming {length} bytes")));
    }
    let fragment = bytes.get(5..5 + length)?;
    Some(Ok((
        header[0],
        [header[1], header[2]],
        fragment,
        &bytes[5 + length..],
    )))
}

/// Say what came instead of TLS: an SMTP reply is quoted, since it usually means STARTTLS was
/// not accepted before the hello was sent.
fn not_tls(bytes: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if bytes.first().is_some_and(u8::is_ascii_digit) {
        format!("the server answered with text, not TLS: {shown:?}")
    } else {
        format!(
            "the answer is not a TLS record (first byte 0x{:02x})",
            bytes[0]
        )
    }
}

/// An alert record: level then description (RFC 5246 §7.2). An SSLv3 server answers with
/// record version 3.0, so any version is taken.
fn alert(fragment: &[u8], _version: [u8; 2]) -> Option<Answer> {
    match fragment {
        [_level, description, ..] => Some(Answer::Alert(*description)),
        _ => Some(Answer::NotTls(
            "an alert record too short to hold a description".to_string(),
        )),
    }
}

/// The ServerHello's server_version from the joined handshake bytes: type (1), length (3),
/// then the version (2). `None` until those six bytes are there.
fn server_hello(handshake: &[u8]) -> Option<Answer> {
    let kind = *handshake.first()?;
    if kind != HANDSHAKE_SERVER_HELLO {
        return Some(Answer::NotTls(format!(
            "a handshake message of type {kind} where a ServerHello belongs"
        )));
    }
    let version = handshake.get(4..6)?;
    Some(Answer::ServerHello([version[0], version[1]]))
}

/// Send a ClientHello offering only `version` on `stream` and classify the answer (see
/// [`classify_for`]). `stream` is fresh: a socket on which `STARTTLS` was just answered 220, or
/// a raw socket for implicit TLS; it is useless afterwards, so the caller drops it.
///
/// Reads at most 8 KB, stopping as soon as the answer is clear, and waits at most `timeout`
/// for all of it. A silent server, a closed connection and a reset are all `Inconclusive` (with
/// the reason): a server may drop a hello it dislikes, but so may a broken network. Only a
/// failure to send the hello is an `Err`.
pub async fn try_version<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    version: LegacyVersion,
    server_name: Option<&str>,
    timeout: Duration,
) -> std::io::Result<LegacyOutcome> {
    stream
        .write_all(&client_hello(version, server_name))
        .await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    let outcome = tokio::time::timeout(timeout, read_answer(stream, version, &mut answer)).await;
    Ok(match outcome {
        Ok(outcome) => outcome,
        Err(_elapsed) if answer.is_empty() => LegacyOutcome::Inconclusive {
            reason: format!("no answer to the ClientHello within {timeout:?}"),
        },
        Err(_elapsed) => LegacyOutcome::Inconclusive {
            reason: format!(
                "the answer stopped after {} bytes, inside a TLS record (waited {timeout:?})",
                answer.len()
            ),
        },
    })
}

/// Read until the answer decides, the server closes, or `MAX_ANSWER` bytes have come.
async fn read_answer<S: AsyncRead + Unpin>(
    stream: &mut S,
    version: LegacyVersion,
    answer: &mut Vec<u8>,
) -> LegacyOutcome {
    let mut buffer = [0u8; 2048];
    loop {
        let read = match stream.read(&mut buffer).await {
            Ok(read) => read,
            Err(error) => {
                return LegacyOutcome::Inconclusive {
                    reason: format!("reading the answer failed: {error}"),
                };
            }
        };
        answer.extend_from_slice(&buffer[..read]);
        if read == 0 || answer.len() >= MAX_ANSWER || self::answer(answer).is_some() {
            return classify_for(version, answer);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Walk a hello: (record header, handshake header, body) with every length checked.
    fn parts(hello: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(hello[0], CONTENT_HANDSHAKE, "record type handshake");
        let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(record_len, hello.len() - 5, "record length covers the rest");
        let handshake = &hello[5..];
        assert_eq!(handshake[0], HANDSHAKE_CLIENT_HELLO);
        let hs_len = u32::from_be_bytes([0, handshake[1], handshake[2], handshake[3]]) as usize;
        assert_eq!(
            hs_len,
            handshake.len() - 4,
            "handshake length covers the rest"
        );
        (&hello[..5], &handshake[4..])
    }

    /// The body's fields after client_version and random: (suites, extensions or None).
    /// (type, data) of each extension, in order.
    type Extensions = Vec<(u16, Vec<u8>)>;

    fn body_fields(body: &[u8]) -> (Vec<u16>, Option<Extensions>) {
        let mut at = 2 + 32;
        let session_len = usize::from(body[at]);
        at += 1 + session_len;
        let suites_len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
        let suites = body[at + 2..at + 2 + suites_len]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        at += 2 + suites_len;
        assert_eq!(&body[at..at + 2], &[1, 0], "compression: null only");
        at += 2;
        if at == body.len() {
            return (suites, None);
        }
        let ext_len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
        assert_eq!(
            ext_len,
            body.len() - at - 2,
            "extensions length covers the rest"
        );
        let mut extensions = Vec::new();
        let mut rest = &body[at + 2..];
        while !rest.is_empty() {
            let kind = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            extensions.push((kind, rest[4..4 + len].to_vec()));
            rest = &rest[4 + len..];
        }
        (suites, Some(extensions))
    }

    #[test]
    fn rfc5246_7_4_1_2_record_and_client_version_are_the_version_tested() {
        for version in LegacyVersion::ALL {
            let hello = client_hello(version, Some("mx.example.test"));
            let (header, body) = parts(&hello);
            assert_eq!(&header[1..3], &version.wire(), "{version} record version");
            assert_eq!(&body[..2], &version.wire(), "{version} client_version");
        }
    }

    #[test]
    fn rfc5246_7_4_1_2_tls_hello_offers_legacy_suites_and_needed_extensions() {
        let hello = client_hello(LegacyVersion::Tls10, Some("mx.example.test."));
        let (_, body) = parts(&hello);
        let (suites, extensions) = body_fields(body);
        for suite in [0x002F, 0xC013, 0x000A, 0x0005] {
            assert!(suites.contains(&suite), "suite {suite:04x} offered");
        }
        let extensions = extensions.expect("TLS 1.0 hello carries extensions");
        let kinds: Vec<u16> = extensions.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                EXT_SERVER_NAME,
                EXT_SUPPORTED_GROUPS,
                EXT_EC_POINT_FORMATS,
                EXT_RENEGOTIATION_INFO
            ]
        );
        let mut sni = vec![0, 18, 0, 0, 15];
        sni.extend_from_slice(b"mx.example.test");
        assert_eq!(
            extensions[0].1, sni,
            "RFC 6066 §3 ServerNameList, no trailing dot"
        );
        assert_eq!(
            extensions[3].1,
            [0],
            "RFC 5746 §3.2 empty renegotiation_info"
        );
    }

    #[test]
    fn rfc6066_3_no_server_name_for_an_ip_literal() {
        let hello = client_hello(LegacyVersion::Tls11, Some("127.0.0.1"));
        let (_, body) = parts(&hello);
        let extensions = body_fields(body).1.unwrap();
        assert!(extensions.iter().all(|(k, _)| *k != EXT_SERVER_NAME));
    }

    #[test]
    fn rfc6101_sslv3_hello_has_no_extensions_and_signals_renegotiation_by_scsv() {
        let hello = client_hello(LegacyVersion::Ssl3, Some("mx.example.test"));
        let (_, body) = parts(&hello);
        let (suites, extensions) = body_fields(body);
        assert!(extensions.is_none(), "SSLv3 hello ends after compression");
        assert!(
            suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV),
            "RFC 5746 §3.3"
        );
    }

    #[test]
    fn hello_random_differs_between_hellos() {
        let a = client_hello(LegacyVersion::Tls10, None);
        let b = client_hello(LegacyVersion::Tls10, None);
        assert_eq!(a.len(), b.len());
        assert_ne!(a[11..43], b[11..43], "32-byte random at the same offset");
    }

    /// A record of `kind` with record version `version` around `fragment`.
    fn record(kind: u8, version: [u8; 2], fragment: &[u8]) -> Vec<u8> {
        let mut out = vec![kind, version[0], version[1]];
        push_u16_len(&mut out, fragment);
        out
    }

    /// The start of a ServerHello with `version`, as far as the classifier reads it and a bit.
    fn server_hello_record(version: [u8; 2]) -> Vec<u8> {
        let mut message = vec![HANDSHAKE_SERVER_HELLO, 0, 0, 38, version[0], version[1]];
        message.extend_from_slice(&[7u8; 32]);
        message.extend_from_slice(&[0, 0x00, 0x2F, 0]);
        record(CONTENT_HANDSHAKE, version, &message)
    }

    #[test]
    fn rfc5246_7_4_1_3_server_hello_with_the_offered_version_is_accepted() {
        let answer = server_hello_record([3, 1]);
        assert_eq!(
            classify_for(LegacyVersion::Tls10, &answer),
            LegacyOutcome::Accepted
        );
        assert_eq!(classify(&answer), LegacyOutcome::Accepted);
    }

    #[test]
    fn rfc5246_7_4_1_3_server_hello_with_another_version_is_refused() {
        let tls12 = server_hello_record([3, 3]);
        assert_eq!(
            classify_for(LegacyVersion::Tls11, &tls12),
            LegacyOutcome::Refused { alert: None }
        );
        assert_eq!(classify(&tls12), LegacyOutcome::Refused { alert: None });
        let tls10 = server_hello_record([3, 1]);
        assert_eq!(
            classify_for(LegacyVersion::Tls11, &tls10),
            LegacyOutcome::Refused { alert: None },
            "asked for 1.1, answered 1.0: 1.1 refused"
        );
    }

    #[test]
    fn rfc5246_7_2_alerts_are_refusals_with_their_code() {
        for code in [40u8, 70, 80] {
            let answer = record(CONTENT_ALERT, [3, 1], &[2, code]);
            assert_eq!(
                classify(&answer),
                LegacyOutcome::Refused { alert: Some(code) }
            );
        }
        let sslv3 = record(CONTENT_ALERT, [3, 0], &[2, 40]);
        assert_eq!(
            classify_for(LegacyVersion::Ssl3, &sslv3),
            LegacyOutcome::Refused { alert: Some(40) }
        );
    }

    #[test]
    fn server_hello_split_over_two_records_is_read_whole() {
        let whole = server_hello_record([3, 2]);
        let message = &whole[5..];
        let mut answer = record(CONTENT_HANDSHAKE, [3, 2], &message[..3]);
        answer.extend(record(CONTENT_HANDSHAKE, [3, 2], &message[3..]));
        assert_eq!(
            classify_for(LegacyVersion::Tls11, &answer),
            LegacyOutcome::Accepted
        );
        assert!(
            answer_so_far_is_undecided(&answer[..5 + 3]),
            "three handshake bytes decide nothing"
        );
    }

    fn answer_so_far_is_undecided(bytes: &[u8]) -> bool {
        answer(bytes).is_none()
    }

    #[test]
    fn eof_truncation_and_text_are_inconclusive_with_a_reason() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "closed the connection"),
            (&[22, 3, 1, 0, 40, 2, 0], "ended after 7 bytes"),
            (
                b"454 4.7.0 TLS not available\r\n",
                "454 4.7.0 TLS not available",
            ),
            (&[0x80, 0x2e, 0x04, 0x00], "first byte 0x80"),
        ];
        for (bytes, expected) in cases {
            match classify(bytes) {
                LegacyOutcome::Inconclusive { reason } => {
                    assert!(reason.contains(expected), "{reason:?} for {bytes:?}")
                }
                other => panic!("{other:?} for {bytes:?}"),
            }
        }
    }

    #[test]
    fn outcome_serialises_as_the_bare_word_and_version_as_its_name() {
        let json = serde_json::to_string(&LegacyOutcome::Refused { alert: Some(70) }).unwrap();
        assert_eq!(json, "\"refused\"");
        let json = serde_json::to_string(&LegacyVersion::Tls10).unwrap();
        assert_eq!(json, "\"TLSv1.0\"");
        assert_eq!(LegacyVersion::Ssl3.to_string(), "SSLv3");
        assert_eq!(
            LegacyOutcome::Refused { alert: Some(70) }.to_string(),
            "refused (alert 70 protocol_version)"
        );
    }

    #[tokio::test]
    async fn try_version_reads_the_answer_from_a_stream() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let server_task = tokio::spawn(async move {
            let mut hello = vec![0u8; 5];
            server.read_exact(&mut hello).await.unwrap();
            let len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
            let mut rest = vec![0u8; len];
            server.read_exact(&mut rest).await.unwrap();
            server
                .write_all(&record(CONTENT_ALERT, [3, 3], &[2, 70]))
                .await
                .unwrap();
            // Keep the stream open: the reader must decide without waiting for EOF.
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let outcome = try_version(
            &mut client,
            LegacyVersion::Tls11,
            None,
            Duration::from_secs(3),
        )
        .await
        .unwrap();
        assert_eq!(outcome, LegacyOutcome::Refused { alert: Some(70) });
        server_task.abort();
    }

    #[tokio::test]
    async fn try_version_is_inconclusive_when_the_server_stays_silent() {
        let (mut client, _server) = tokio::io::duplex(4096);
        let outcome = try_version(
            &mut client,
            LegacyVersion::Tls10,
            None,
            Duration::from_millis(200),
        )
        .await
        .unwrap();
        assert!(
            matches!(outcome, LegacyOutcome::Inconclusive { reason } if reason.contains("no answer"))
        );
    }
}
