//! The hostile corpus (issue 13, item 3): inputs an attacker controls, each run through the built
//! binary under a memory meter and a coarse watchdog (`TestCommand::run_bounded`), and each
//! answered with the specific error, finding or RFC 8601 result it must get, not merely "did
//! not crash". Messages (huge, many, deeply folded or binary header fields; thousands of
//! signatures), SPF records (loops, macro blow-ups, the RFC 7208 §4.6.4 limits, huge TXT
//! answers), zone files (`$INCLUDE` loops, unclosed parentheses) and report archives (zip and
//! gzip bombs, nested archives, XML entity expansion). Every large input is generated here, in
//! a temporary directory; nothing large is committed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::archive::{gzip_of_zeros, zip_of, zip_of_zeros};
use crate::support::cmd::{BoundedOutput, TestCommand, mailauth};
use crate::support::dns_server::TestDnsServer;
use crate::support::testdata;

const NOW: &str = "1764000000";
const DOMAIN: &str = "mailauth.test";
/// The memory bound for inputs up to a few MB: the program's own footprint is about 20 MiB,
/// so this is generous; what it rules out is a copy of the input per field or per signature.
const BOUND_KIB: u64 = 256 * 1024;

/// A test's directory: a zone (the DKIM checks zone plus what the test adds) and its inputs.
struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    /// The DKIM checks zone (`mailauth.test`, keys `rsa` and `ed`) with `extra` appended.
    fn new(extra: &str) -> Corpus {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = std::fs::read_to_string(testdata().join("dns/dkim-checks.zone")).unwrap();
        zone.push('\n');
        zone.push_str(extra);
        std::fs::write(dir.path().join("zone"), zone).unwrap();
        Corpus { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `mailauth --zone ZONE --now NOW` in the directory.
    fn base(&self) -> TestCommand {
        mailauth()
            .current_dir(self.dir.path())
            .args(["--zone", "zone", "--now", NOW])
    }

    /// `mailauth sign` with the Ed25519 test key (selector `ed`).
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.sign_as(message, "ed", "ed25519.pem")
    }

    /// `mailauth sign` as `selector` with a key from testdata/keys.
    fn sign_as(&self, message: &[u8], selector: &str, key: &str) -> Vec<u8> {
        let unsigned = self.write("unsigned.eml", message);
        let out = self
            .base()
            .args(["sign", "--domain", DOMAIN, "--selector", selector, "--key"])
            .arg(testdata().join("keys").join(key))
            .arg(&unsigned)
            .run_bounded();
        out.out.assert_exit(0);
        out.out.stdout().to_vec()
    }

    /// `mailauth --json verify FILE` on `message`, bounded.
    fn verify(&self, message: &[u8]) -> BoundedOutput {
        let file = self.write("message.eml", message);
        self.base()
            .args(["--json", "verify", "--authserv-id", "mx.test"])
            .arg(file)
            .run_bounded()
    }

    /// Sign `message` and verify it: exit 0, one passing signature, in bounded memory. The
    /// signed message.
    fn signed_and_passing(&self, message: &[u8]) -> Vec<u8> {
        let signed = self.sign(message);
        let run = self.verify(&signed);
        run.out.assert_exit(0);
        assert_eq!(dkim_results(&run), ["pass"]);
        run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
        signed
    }

    /// `signed` with the byte at `at` made `by` fails its signature (exit 1); the run.
    fn tampered_fails(&self, signed: &[u8], at: usize, by: u8) -> BoundedOutput {
        let mut tampered = signed.to_vec();
        tampered[at] = by;
        let run = self.verify(&tampered);
        run.out.assert_exit(1);
        assert_eq!(dkim_results(&run), ["fail"]);
        run
    }

    /// `mailauth --json spf DOMAIN --ip IP --mail-from FROM`, bounded; the JSON output.
    fn spf(&self, domain: &str, ip: &str, mail_from: &str) -> (BoundedOutput, Value) {
        let run = self
            .base()
            .args([
                "--json",
                "spf",
                domain,
                "--ip",
                ip,
                "--mail-from",
                mail_from,
            ])
            .run_bounded();
        let json = run.out.json();
        (run, json)
    }
}

/// A plain message from `alice@mailauth.test` with these extra header lines (CRLF-terminated
/// each) and body.
fn message(extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@mailauth.test>\r\nTo: Bob <bob@example.net>\r\n{extra_headers}\
         Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <hostile@mailauth.test>\r\n\r\n{body}"
    )
    .into_bytes()
}

/// The DKIM results of a `verify --json` run, in header order.
fn dkim_results(run: &BoundedOutput) -> Vec<String> {
    run.out.json()["dkim"]
        .as_array()
        .unwrap_or_else(|| panic!("no dkim array\n{}", run.out.dump()))
        .iter()
        .map(|o| o["result"].as_str().unwrap().to_owned())
        .collect()
}

/// Exit 2 with stderr naming what is wrong, under the memory bound.
fn assert_refused(run: &BoundedOutput, expected: &str) {
    run.out.assert_exit(2);
    let stderr = run.out.stderr_str();
    assert!(
        stderr.contains(expected),
        "stderr does not say {expected:?}\n{}",
        run.out.dump()
    );
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
}

/// A 10 MB header field is refused with its line and name (the limit is 1 MiB per field:
/// RFC 5322 §2.1.1 allows 998 characters per line), and the input is not copied per line.
#[test]
fn hostile_10_mb_header_field_refused_naming_line_and_field() {
    let corpus = Corpus::new("");
    let huge = format!("Subject: {}\r\n", "a".repeat(10 << 20));
    let run = corpus.verify(&message(&huge, "body\r\n"));
    assert_refused(
        &run,
        "line 3: header field \"Subject\" is over 1048576 bytes",
    );
}

/// 100,000 header fields (the limit) verify: the signature passes, in bounded memory; one field
/// more is refused as such.
#[test]
fn hostile_100k_header_fields_verify_and_one_more_is_refused() {
    let corpus = Corpus::new("");
    let pad: String = (0..100_000 - 6)
        .map(|i| format!("X-Pad-{i}: {i}\r\n"))
        .collect();
    let signed =
        corpus.signed_and_passing(&message(&format!("Subject: many\r\n{pad}"), "body\r\n"));
    // The signature adds the 100,000th field.
    let fields = signed
        .split(|b| *b == b'\n')
        .take_while(|l| *l != b"\r")
        .filter(|l| !l.starts_with(b" ") && !l.starts_with(b"\t"))
        .count();
    assert_eq!(fields, 100_000);

    let mut more = b"X-One-More: 1\r\n".to_vec();
    more.extend_from_slice(&signed);
    assert_refused(&corpus.verify(&more), "more than 100000 header fields");
}

/// 5,000 DKIM-Signature fields: the first 16 are verified (here each passes), every later one
/// is reported as `policy` (RFC 8601 §2.7.1: not accepted for a local reason), unverified, and
/// Authentication-Results gives that reason for each.
#[test]
fn hostile_5000_dkim_signatures_first_16_verified_rest_policy() {
    let corpus = Corpus::new("");
    let signed = corpus.sign(&message("Subject: signatures\r\n", "body\r\n"));
    // The signature field ends at the first line break not followed by folding whitespace.
    let end = signed
        .windows(2)
        .position(|w| w[0] == b'\n' && w[1] != b' ' && w[1] != b'\t')
        .unwrap()
        + 1;
    assert!(signed.starts_with(b"DKIM-Signature:"));
    let field = &signed[..end];
    let mut many = field.repeat(4_999);
    many.extend_from_slice(&signed);
    let run = corpus.verify(&many);
    run.out.assert_exit(0);
    let results = dkim_results(&run);
    assert_eq!(results.len(), 5_000);
    assert!(results[..16].iter().all(|r| r == "pass"), "{results:?}");
    assert!(results[16..].iter().all(|r| r == "policy"));
    let json = run.out.json();
    assert_eq!(
        json["dkim"][16]["reason"],
        "not verified: only the first 16 signatures of a message are"
    );
    let header = json["authentication_results"].as_str().unwrap();
    let capped =
        "dkim=policy reason=\"not verified: only the first 16 signatures of a message are\"";
    assert_eq!(header.matches(capped).count(), 4_984);
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
}

/// The top-level `;`-separated parts of an Authentication-Results value (RFC 8601 §2.2), with
/// quoted-strings (RFC 5322 §3.2.4, backslash escapes) and comments (§3.2.2) skipped over.
fn resinfo_parts(field: &str) -> Vec<String> {
    let (mut parts, mut current) = (Vec::new(), String::new());
    let (mut quoted, mut escaped, mut comment) = (false, false, 0usize);
    for ch in field.chars() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            ';' if !quoted && comment == 0 => {
                parts.push(std::mem::take(&mut current).trim().to_owned());
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    parts.push(current.trim().to_owned());
    parts
}

/// Hostile identifiers in DKIM-Signature fields (quotes, parentheses, a `;dkim=pass` forgery
/// attempt, backslashes, a control byte, non-ASCII) are quoted in Authentication-Results (RFC
/// 8601 §2.2 `pvalue`, RFC 2045 quoted-string): the field splits into exactly one resinfo per
/// signature plus DMARC, none of them forged, and stays ASCII (RFC 5322 §2.2).
#[test]
fn hostile_identifiers_cannot_forge_authentication_results() {
    let corpus = Corpus::new("");
    let mut hostile = b"DKIM-Signature: v=1; a=rsa-sha256; d=x\");dkim=pass header.d=good.test; \
                        s=se\"l(ec; h=from; bh=AAAA; b=(evil)\r\n\
                        DKIM-Signature: v=1; a=rsa-sha256; d=\xc3\xa9vil.test\x01; s=a\\b); \
                        h=from; bh=!!; b=AA\r\n"
        .to_vec();
    hostile.extend_from_slice(&message("Subject: forged\r\n", "body\r\n"));
    let run = corpus.verify(&hostile);
    run.out.assert_exit(1);
    assert_eq!(dkim_results(&run), ["permerror", "permerror"]);
    let field = run.out.json()["authentication_results"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(field.is_ascii(), "{field}");
    let parts = resinfo_parts(field.trim_start_matches("Authentication-Results:"));
    let methods: Vec<&str> = parts
        .iter()
        .map(|p| p.split_once('=').map_or(p.as_str(), |(m, _)| m))
        .collect();
    assert_eq!(methods, ["mx.test", "dkim", "dkim", "dmarc"], "{field}");
    assert!(parts.iter().all(|p| !p.starts_with("dkim=pass")), "{field}");
}

/// A From field naming 60,000 author domains (under the 1 MiB field limit): at most 8 are
/// judged (RFC 9989 §11.5), the verdict is permerror, and the reason counts the rest instead of
/// naming each, so Authentication-Results stays a few hundred bytes, not megabytes.
#[test]
fn hostile_60000_author_domains_judged_8_and_counted() {
    let corpus = Corpus::new("");
    let from: Vec<String> = (0..60_000).map(|i| format!("a@d{i}.test")).collect();
    let mut many = format!("From: {}\r\n", from.join(", ")).into_bytes();
    many.extend_from_slice(b"To: b@example.net\r\nSubject: authors\r\n\r\nbody\r\n");
    let run = corpus.verify(&many);
    run.out.assert_exit(1);
    let json = run.out.json();
    assert_eq!(json["dmarc"]["result"], "permerror");
    assert_eq!(json["dmarc"]["evaluations"].as_array().unwrap().len(), 8);
    assert_eq!(
        json["dmarc"]["reason"],
        "1 From field, 60000 author domains (not evaluated: more than 8 author domains: 59992 \
         addresses): DMARC applies to exactly one (RFC 9989 §5.3.1); each domain judged and the \
         strictest outcome kept (RFC 9989 §11.5)"
    );
    let header = json["authentication_results"].as_str().unwrap();
    assert!(header.len() < 1024, "{} bytes: {header}", header.len());
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
}

/// Deep folding: a Subject folded over 200,000 lines (just under the 1 MiB field limit) is
/// signed and verified with relaxed canonicalization (RFC 6376 §3.4.2 unfolds it); folded past
/// the limit it is refused with the line it starts on.
#[test]
fn hostile_deep_folding_verifies_under_the_limit_refused_over_it() {
    let corpus = Corpus::new("");
    let folded = format!("Subject: deep{}\r\n", "\r\n x".repeat(200_000));
    corpus.signed_and_passing(&message(&folded, "body\r\n"));

    let deeper = format!("Subject: deep{}\r\n", "\r\n x".repeat(400_000));
    assert_refused(
        &corpus.verify(&message(&deeper, "body\r\n")),
        "line 3: header field \"Subject\" is over 1048576 bytes",
    );
}

/// NUL bytes in a header value and in the body are data to DKIM (RFC 6376 §3.4 canonicalizes
/// octets): signed, they verify, and changing one of them fails the body hash. A NUL in a field
/// name is not a field (RFC 5322 §3.6.8: printable US-ASCII): refused, naming the line.
#[test]
fn hostile_nul_bytes_in_headers_and_body() {
    let corpus = Corpus::new("");
    let signed = corpus.signed_and_passing(&message(
        "Subject: nul\0inside\r\n",
        "line with \0 a nul\r\n\0\0\0\r\n",
    ));
    let last_nul = signed.iter().rposition(|b| *b == 0).unwrap();
    let run = corpus.tampered_fails(&signed, last_nul, b'0');
    let reason = run.out.json()["dkim"][0]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("body hash"), "{reason}");

    assert_refused(
        &corpus.verify(&message("X-Bad\0Name: v\r\n", "body\r\n")),
        "line 3: not a header field (expected `Name: value`): X-Bad\\x00Name: v",
    );
}

/// A bare CR is not a line ending (RFC 5322 §2.3: CR and LF appear only together): a header
/// value and a body holding bare CRs keep them as data (were the CR a line break, `cr` would be
/// a line that is no field, and the message refused), the signature verifies, and changing a
/// bare CR into a space fails it.
#[test]
fn hostile_bare_cr_is_data_not_a_line_break() {
    let corpus = Corpus::new("");
    let signed = corpus.signed_and_passing(&message(
        "Subject: bare\rcr\r\n",
        "one\rtwo\r\n\r\r\nend\r\n",
    ));
    let cr = signed
        .windows(2)
        .rposition(|w| w[0] == b'\r' && w[1] != b'\n')
        .unwrap();
    corpus.tampered_fails(&signed, cr, b' ');
}

/// The SPF test zone `spf.hostile.` with these records.
fn spf_corpus(records: &str) -> Corpus {
    Corpus::new(&format!(
        "$ORIGIN spf.hostile.\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n{records}\n"
    ))
}

/// The reason of an SPF JSON output.
fn spf_reason(json: &Value) -> String {
    json["reason"].as_str().unwrap_or_default().to_owned()
}

/// An include loop (a includes b includes a) ends at the 10 DNS-querying terms of RFC 7208
/// §4.6.4 with permerror, not in a stack overflow or a hang; `check` reports the loop as
/// `spf.too_many_lookups` with its chain.
#[test]
fn hostile_spf_include_loop_permerror_at_ten_lookups() {
    let corpus = spf_corpus(
        "a IN TXT \"v=spf1 include:b.spf.hostile -all\"\n\
         b IN TXT \"v=spf1 include:a.spf.hostile -all\"",
    );
    let (run, json) = corpus.spf("a.spf.hostile", "192.0.2.1", "x@a.spf.hostile");
    run.out.assert_exit(1);
    assert_eq!(json["result"], "permerror");
    assert_eq!(
        spf_reason(&json),
        "more than 10 DNS-querying terms (RFC 7208 §4.6.4)"
    );
    assert_eq!(json["dns_mechanisms"], 11);
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");

    // `check` names the loop (it used to say nothing: the walk skipped the repeated record).
    let check = corpus
        .base()
        .args(["--json", "check", "a.spf.hostile"])
        .run_bounded();
    let findings = check.out.json()["findings"].clone();
    let finding = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "spf.too_many_lookups")
        .unwrap_or_else(|| panic!("no spf.too_many_lookups\n{}", check.out.dump()))
        .clone();
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .starts_with("include/redirect loop a.spf.hostile -> b.spf.hostile -> a.spf.hostile"),
        "{finding}"
    );
}

/// Macro blow-ups: a record of 40 `%{l}` macros, each expanding to a 64-byte local part, makes
/// a 2,600-byte name, cut to its rightmost 253 bytes (RFC 7208 §7.3) and looked up once; a
/// 60 KB record of `%{s}` macros expanding past any name is refused as permerror naming the
/// limit, not expanded to megabytes; as an explanation it is dropped.
#[test]
fn hostile_spf_macro_blowup_truncated_or_refused() {
    let local = "l".repeat(64);
    let repeated = "%{l}.".repeat(40);
    let huge: String = (0..60_000 / 255)
        .map(|_| format!("\"{}\"", "%{s}.".repeat(51)))
        .collect::<Vec<_>>()
        .join(" ");
    let corpus = spf_corpus(&format!(
        "long IN TXT \"v=spf1 exists:{repeated}spf.hostile -all\"\n\
         huge IN TXT \"v=spf1 exists:\" {huge} \"x -all\"\n\
         explained IN TXT \"v=spf1 -all exp=why.spf.hostile\"\n\
         why IN TXT {huge}\n\
         short IN TXT \"v=spf1 -all exp=shortwhy.spf.hostile\"\n\
         shortwhy IN TXT \"%{{l}} may not send\""
    ));
    let (run, json) = corpus.spf(
        "long.spf.hostile",
        "192.0.2.1",
        &format!("{local}@long.spf.hostile"),
    );
    run.out.assert_exit(1);
    assert_eq!(json["result"], "fail");
    assert_eq!(json["void_lookups"], 1);
    let looked_up = json["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["term"].as_str().unwrap().starts_with("exists:"))
        .unwrap()["outcome"]
        .to_string();
    assert!(looked_up.contains("no match"), "{looked_up}");

    let sender = format!("{}@huge.spf.hostile", "s".repeat(200));
    let (run, json) = corpus.spf("huge.spf.hostile", "192.0.2.1", &sender);
    run.out.assert_exit(1);
    assert_eq!(json["result"], "permerror");
    assert!(
        spf_reason(&json).contains("macro expansion is over 8192 bytes"),
        "{json}"
    );
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");

    // An exp= text (RFC 7208 §6.2) of the same macros: the fail stands, with no explanation
    // (§6.2: any problem with it means none); a short one is expanded as usual.
    let sender = format!("{}@explained.spf.hostile", "s".repeat(200));
    let (run, json) = corpus.spf("explained.spf.hostile", "192.0.2.1", &sender);
    run.out.assert_exit(1);
    assert_eq!(json["result"], "fail");
    assert_eq!(json["explanation"], Value::Null);
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
    let (_, json) = corpus.spf("short.spf.hostile", "192.0.2.1", "joe@short.spf.hostile");
    assert_eq!(json["explanation"], "joe may not send");
}

/// RFC 7208 §4.6.4: the eleventh DNS-querying term is a permerror, and so is the third void
/// lookup, each named.
#[test]
fn hostile_spf_ten_lookup_and_two_void_limits() {
    let eleven: String = (0..11).map(|i| format!(" a:h{i}.spf.hostile")).collect();
    let hosts: String = (0..11)
        .map(|i| format!("h{i} IN A 198.51.100.1\n"))
        .collect();
    let corpus = spf_corpus(&format!(
        "eleven IN TXT \"v=spf1{eleven} -all\"\n{hosts}\
         void IN TXT \"v=spf1 exists:n1.spf.hostile exists:n2.spf.hostile exists:n3.spf.hostile -all\""
    ));
    let (run, json) = corpus.spf("eleven.spf.hostile", "192.0.2.1", "x@eleven.spf.hostile");
    run.out.assert_exit(1);
    assert_eq!(json["result"], "permerror");
    assert_eq!(
        spf_reason(&json),
        "more than 10 DNS-querying terms (RFC 7208 §4.6.4)"
    );
    let (run, json) = corpus.spf("void.spf.hostile", "192.0.2.1", "x@void.spf.hostile");
    run.out.assert_exit(1);
    assert_eq!(json["result"], "permerror");
    assert_eq!(
        spf_reason(&json),
        "more than 2 void lookups (RFC 7208 §4.6.4)"
    );
    assert_eq!(json["void_lookups"], 3);
}

/// RFC 7208 §4.6.4: an `mx` whose name has 40 MX records is a permerror (more than 10 MX names
/// may not be looked up), before any of their addresses is asked for.
#[test]
fn hostile_spf_40_mx_records_permerror() {
    let mx: String = (0..40)
        .map(|i| format!("many IN MX {i} mx{i}.spf.hostile.\nmx{i} IN A 192.0.2.{i}\n"))
        .collect();
    let corpus = spf_corpus(&format!("{mx}many IN TXT \"v=spf1 mx -all\""));
    let (run, json) = corpus.spf("many.spf.hostile", "192.0.2.1", "x@many.spf.hostile");
    run.out.assert_exit(1);
    assert_eq!(json["result"], "permerror");
    assert_eq!(
        spf_reason(&json),
        "mx:many.spf.hostile has 40 MX records; at most 10 may be looked up (RFC 7208 §4.6.4)"
    );
}

/// The finding codes of a `check --json` run.
fn finding_codes(run: &BoundedOutput) -> Vec<String> {
    let codes: Vec<String> = run.out.json()["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings\n{}", run.out.dump()))
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    eprintln!("finding codes: {codes:?}");
    codes
}

/// `count` TXT character-strings of `len` bytes each, quoted, as one zone-file line's data.
fn strings(count: usize, len: usize, fill: char) -> String {
    (0..count)
        .map(|_| format!("\"{}\"", fill.to_string().repeat(len)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An SPF record of 255-byte strings: `v=spf1` and `ip4:198.51.100.1` terms (which match
/// nothing), `full` strings of spaces, then one of `last` bytes ending in the term that matches
/// 192.0.2.1. Its RDATA is 256 × (`full` + 1) + `last` + 1 bytes.
fn padded_spf_record(full: usize, last: usize) -> String {
    let first = format!("v=spf1{}", " ip4:198.51.100.1".repeat(14));
    let tail = " ip4:192.0.2.1 -all";
    format!(
        "\"{first}{}\" {} \"{}{tail}\"",
        " ".repeat(255 - first.len()),
        strings(full, 255, ' '),
        " ".repeat(last - tail.len())
    )
}

/// TXT answers at the size limit: an SPF record of 256 strings making 65,535 bytes of RDATA
/// (RFC 1035 §3.2.1: RDLENGTH is 16 bits) is read and evaluated (its `ip4` terms query nothing;
/// the last one matches), and `check` warns it cannot fit a 512-byte UDP answer; one string
/// more, over 65,535 bytes, is refused in the zone file, naming the line.
#[test]
fn hostile_txt_at_the_65535_byte_rdata_limit() {
    let record = padded_spf_record(254, 254);
    let corpus = spf_corpus(&format!("big IN TXT {record}"));
    let (run, json) = corpus.spf("big.spf.hostile", "192.0.2.1", "x@big.spf.hostile");
    run.out.assert_exit(0);
    assert_eq!(json["result"], "pass");
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");

    let check = corpus
        .base()
        .args(["--json", "check", "big.spf.hostile"])
        .run_bounded();
    assert!(finding_codes(&check).contains(&"spf.answer_too_big".to_owned()));

    let over = spf_corpus(&format!("big IN TXT {record} \"x\""));
    let run = over
        .base()
        .args(["spf", "big.spf.hostile", "--ip", "192.0.2.1"])
        .run_bounded();
    assert_refused(&run, "over 65535 bytes");
}

/// A TXT answer of 250 full 255-byte strings (64,000 bytes of RDATA) through a real DNS server
/// on loopback: too big for UDP, so the answer comes truncated and the resolver asks again over
/// TCP (RFC 7766 §6.2.1); the record is read whole and its last term decides. One of 65,535
/// bytes cannot be sent at all.
#[test]
fn hostile_txt_of_250_full_strings_read_over_loopback_tcp() {
    let corpus = Corpus::new("");
    let record = padded_spf_record(248, 255);
    let max = padded_spf_record(254, 254);
    let zone = corpus.write(
        "loopback.zone",
        format!(
            "$ORIGIN spf.hostile.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n\
             @ IN NS ns\nns IN A 127.0.0.1\nbig IN TXT {record}\nmax IN TXT {max}\n"
        ),
    );
    let server = TestDnsServer::start(&[zone]);
    let run = mailauth()
        .args(["--json", "--resolver", &server.udp_addr().to_string()])
        .args(["spf", "big.spf.hostile", "--ip", "192.0.2.1"])
        .run_bounded();
    run.out.assert_exit(0);
    assert_eq!(run.out.json()["result"], "pass");
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");

    // 65,535 bytes of RDATA plus the header, question and record head do not fit the 65,535
    // bytes a DNS message may have (RFC 1035 §4.2.2): the server cannot answer, which is a
    // temperror (exit 3), not a hang or a partial record.
    let run = mailauth()
        .args(["--json", "--resolver", &server.udp_addr().to_string()])
        .args(["spf", "max.spf.hostile", "--ip", "192.0.2.1"])
        .run_bounded();
    run.out.assert_exit(3);
    let json = run.out.json();
    assert_eq!(json["result"], "temperror");
    let reason = spf_reason(&json);
    assert!(
        reason.starts_with("max.spf.hostile: temporary DNS failure")
            && reason.contains("truncated"),
        "{reason}"
    );
}

/// A DKIM key record at the size limit (65,535 bytes of RDATA, a `p=` of 64 KB of base64): the
/// signature is a permerror naming the key, and `check` reports `dkim.syntax`, both in bounded
/// memory; nothing tries to use a 390,000-bit "key".
#[test]
fn hostile_dkim_key_record_at_the_rdata_limit() {
    // 65,260 base64 characters (a multiple of 4) in 65,535 bytes of RDATA.
    let head = "v=DKIM1; k=rsa;  p=";
    let record = format!(
        "\"{head}{}\" {} \"{}\"",
        "A".repeat(255 - head.len()),
        strings(254, 255, 'A'),
        "A".repeat(254)
    );
    let corpus = Corpus::new(&format!("huge._domainkey IN TXT {record}"));
    let signed = corpus.sign_as(
        &message("Subject: huge key\r\n", "body\r\n"),
        "huge",
        "rsa2048.pem",
    );
    let run = corpus.verify(&signed);
    run.out.assert_exit(1);
    assert_eq!(dkim_results(&run), ["permerror"]);
    assert_eq!(
        run.out.json()["dkim"][0]["reason"],
        "huge._domainkey.mailauth.test: p= is not an RSA public key (SubjectPublicKeyInfo or PKCS#1)"
    );
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");

    let check = corpus
        .base()
        .args(["--json", "check", DOMAIN, "--selector", "huge"])
        .run_bounded();
    assert!(finding_codes(&check).contains(&"dkim.syntax".to_owned()));
    check.assert_peak_rss_below(BOUND_KIB, "256 MiB");
}

/// `record` as quoted 255-byte strings, one zone-file line's data.
fn split_strings(record: &str) -> String {
    record
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A 60 KB DMARC record with 2,500 `rua` URIs: each external destination's authorization (RFC
/// 7489 §7.1) is looked up once, and at most 16 of them, so `check` gives one finding for 2,500
/// URIs to one domain and 16 for 2,500 domains, plus one `dmarc.external_unchecked` naming the
/// other 2,484. Before, it gave a finding (each quoting the
/// whole record) per URI: 154 MB of JSON and 320 MB of memory from a 60 KB record.
#[test]
fn hostile_dmarc_record_of_2500_report_uris_checked_once_each() {
    let same: Vec<String> = (0..2500)
        .map(|i| format!("mailto:r{i}@ext.example"))
        .collect();
    let many: Vec<String> = (0..2500)
        .map(|i| format!("mailto:r@e{i}.example"))
        .collect();
    let record =
        |uris: &[String]| split_strings(&format!("v=DMARC1; p=reject; rua={}", uris.join(",")));
    let corpus = Corpus::new(&format!(
        "$ORIGIN dmarc.hostile.\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n\
         same IN TXT \"v=spf1 -all\"\n_dmarc.same IN TXT {}\n\
         many IN TXT \"v=spf1 -all\"\n_dmarc.many IN TXT {}\n",
        record(&same),
        record(&many)
    ));
    for (domain, expected) in [("same.dmarc.hostile", 1), ("many.dmarc.hostile", 16)] {
        let check = corpus
            .base()
            .args(["--json", "check", domain])
            .run_bounded();
        check.out.assert_exit(1);
        let unauthorized = finding_codes(&check)
            .iter()
            .filter(|c| *c == "dmarc.external_unauthorized")
            .count();
        assert_eq!(unauthorized, expected, "{domain}");
        // The destinations past the 16th are named as unchecked, not passed over in silence.
        let unchecked = finding_codes(&check)
            .iter()
            .filter(|c| *c == "dmarc.external_unchecked")
            .count();
        assert_eq!(unchecked, usize::from(expected == 16), "{domain}");
        if expected == 16 {
            assert!(
                check
                    .out
                    .stdout_str()
                    .contains("2484 more external report destinations"),
                "{}",
                check.out.dump()
            );
        }
        assert!(
            check.out.stdout().len() < 2 << 20,
            "{} bytes",
            check.out.stdout().len()
        );
        check.assert_peak_rss_below(BOUND_KIB / 4, "64 MiB");
    }
}

/// `$INCLUDE` loops (RFC 1035 §5.1): a file including itself, and two files including each
/// other, are refused with the chain that loops, not read until a depth limit.
#[test]
fn hostile_zone_include_loops_refused_naming_the_chain() {
    let corpus = Corpus::new("");
    corpus.write("self.zone", "$ORIGIN loop.test.\n$INCLUDE self.zone\n");
    let run = corpus
        .base()
        .args([
            "--zone",
            "self.zone",
            "spf",
            "loop.test",
            "--ip",
            "192.0.2.1",
        ])
        .run_bounded();
    assert_refused(&run, "$INCLUDE loop: self.zone includes itself");

    corpus.write("a.zone", "$ORIGIN loop.test.\n$INCLUDE b.zone\n");
    corpus.write("b.zone", "x IN TXT \"b\"\n$INCLUDE a.zone\n");
    let run = corpus
        .base()
        .args(["--zone", "a.zone", "spf", "loop.test", "--ip", "192.0.2.1"])
        .run_bounded();
    assert_refused(&run, "$INCLUDE loop: a.zone -> b.zone -> a.zone");
}

/// An unclosed parenthesis (RFC 1035 §5.1: parentheses group lines) is refused naming the line
/// it opens on, not read to the end of the file as one record.
#[test]
fn hostile_zone_unclosed_parenthesis_refused_naming_its_line() {
    let corpus = Corpus::new("");
    let mut text =
        String::from("$ORIGIN paren.test.\n@ IN TXT \"v=spf1 -all\"\nx IN TXT ( \"a\"\n");
    text.push_str(&"\"more\"\n".repeat(100_000));
    corpus.write("paren.zone", text);
    let run = corpus
        .base()
        .args([
            "--zone",
            "paren.zone",
            "spf",
            "paren.test",
            "--ip",
            "192.0.2.1",
        ])
        .run_bounded();
    assert_refused(&run, "paren.zone:3: \"(\" is never closed");
}

/// `mailauth --json reports ingest --db DB PATH`, bounded; the `rejected` reasons by origin.
fn ingest(corpus: &Corpus, path: &Path) -> (BoundedOutput, Vec<(String, String)>) {
    let run = corpus
        .base()
        .args(["--json", "reports", "ingest", "--db"])
        .arg(corpus.path("reports.sqlite"))
        .arg(path)
        .run_bounded();
    let json = run.out.json();
    let rejected = json["rejected"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", run.out.dump()))
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap().to_owned();
            (text("origin"), text("reason"))
        })
        .collect();
    (run, rejected)
}

/// One input refused with exactly this reason: exit 1, in bounded memory.
fn assert_one_rejected(corpus: &Corpus, path: &Path, origin_suffix: &str, reason: &str) {
    let (run, rejected) = ingest(corpus, path);
    run.out.assert_exit(1);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0].0.ends_with(origin_suffix),
        "{rejected:?} vs {origin_suffix}"
    );
    assert_eq!(rejected[0].1, reason);
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
}

const DECOMPRESSED_CAP: &str = "33554432";

/// A gzip bomb (1 GiB of zeros in about 1 MB) stops at the 32 MiB decompression cap.
#[test]
fn hostile_gzip_bomb_ingest_refused_at_the_cap() {
    let corpus = Corpus::new("");
    let bomb = corpus.write("bomb.xml.gz", gzip_of_zeros(1024));
    assert_one_rejected(
        &corpus,
        &bomb,
        "bomb.xml.gz",
        &format!("gzip: decompressed size exceeds {DECOMPRESSED_CAP} bytes (max_decompressed)"),
    );
}

/// A zip bomb with a high ratio (one 1 GiB member of zeros) stops at the cap.
#[test]
fn hostile_zip_bomb_high_ratio_ingest_refused_at_the_cap() {
    let corpus = Corpus::new("");
    let bomb = corpus.write("bomb.zip", zip_of_zeros("report.xml", 1024));
    assert_one_rejected(
        &corpus,
        &bomb,
        "bomb.zip!report.xml",
        &format!(
            "zip member: decompressed size exceeds {DECOMPRESSED_CAP} bytes (max_decompressed)"
        ),
    );
}

/// A zip of 10,000 members is refused from its directory, without reading a member.
#[test]
fn hostile_zip_with_10000_members_ingest_refused() {
    let corpus = Corpus::new("");
    let names: Vec<String> = (0..10_000).map(|i| format!("m{i}.xml")).collect();
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"<x/>"[..])).collect();
    let many = corpus.write("many.zip", zip_of(&members));
    assert_one_rejected(
        &corpus,
        &many,
        "many.zip",
        "zip has 10000 members, over the limit of 16 (max_zip_members): not read",
    );
}

/// A nested zip bomb (a zip of 16 zips, each of 16 zips holding one 32 MiB member of zeros:
/// 8 GiB from a file of about 12 KB) stops at one decompression budget for the whole input (twice
/// `max_decompressed`), not 32 MiB per member.
#[test]
fn hostile_nested_zip_bomb_ingest_stops_at_one_budget() {
    let corpus = Corpus::new("");
    let inner_member = zip_of_zeros("r.xml", 32);
    let names: Vec<String> = (0..16).map(|i| format!("z{i}.zip")).collect();
    let inner_members: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), inner_member.as_slice()))
        .collect();
    let inner = zip_of(&inner_members);
    let outer_members: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), inner.as_slice()))
        .collect();
    let nested = corpus.write("nested.zip", zip_of(&outer_members));
    let size = std::fs::metadata(&nested).unwrap().len();
    assert!(size < 64 << 10, "{size}");
    let (run, rejected) = ingest(&corpus, &nested);
    run.out.assert_exit(1);
    // The first innermost member is read (and is no report); with what the zips in between
    // took, the second would pass the budget, so it and everything after it is left unread:
    // the other 14 of the first inner zip's members, then the other 15 inner zips, each named.
    let budget = "zip member: not read, the input's decompression budget of 67108864 bytes is \
                  used up (nested archives)";
    assert_eq!(rejected.len(), 1 + 15 + 15, "{rejected:?}");
    assert!(rejected[0].0.ends_with("nested.zip!z0.zip!z0.zip!r.xml"));
    assert_eq!(rejected[0].1, "not a report: binary data");
    assert!(
        rejected[1..].iter().all(|(_, why)| why == budget),
        "{rejected:?}"
    );
    assert!(rejected[30].0.ends_with("nested.zip!z15.zip"));
    run.assert_peak_rss_below(BOUND_KIB, "256 MiB");
}

/// What every document with a DTD is told (each of these has its DOCTYPE on line 2).
const DTD_REFUSED: &str = "aggregate report XML: DTD not allowed (<!DOCTYPE at line 2 (byte 22)): \
                           entity declarations are never expanded";

/// XML entity expansion: "billion laughs" (nested internal entities), an external entity
/// (`SYSTEM "file:///etc/passwd"`) and a bare DTD are all refused at the DTD, before any entity
/// is expanded or any file opened (RFC 9990 §8.1).
#[test]
fn hostile_xml_entity_expansion_and_dtd_refused() {
    let corpus = Corpus::new("");
    for name in ["billion-laughs.xml", "external-entity.xml"] {
        let path = testdata().join("reports-hostile").join(name);
        assert_one_rejected(&corpus, &path, name, DTD_REFUSED);
    }
    let dtd = corpus.write(
        "dtd.xml",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE feedback SYSTEM \"http://example.test/x.dtd\">\n<feedback/>\n",
    );
    assert_one_rejected(&corpus, &dtd, "dtd.xml", DTD_REFUSED);
}
