//! DANE for SMTP (RFC 7672): TLSA records computed by mailauth compared with what independent
//! tools compute for the same certificate or key (the openssl CLI, `ldns-dane`, Postfix's
//! `posttls-finger`), and the DANE check run through a DNSSEC-signed zone served by BIND, a
//! validating BIND resolver and a real Postfix, all on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailauth::transport::dane;

use crate::support;

/// Run `script` with `sh -c` and return its trimmed stdout, panicking with stderr on failure.
fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The first word of `sha256sum`/`sha512sum` output.
fn digest_of(script: &str) -> String {
    sh(script)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A private key made by `openssl genpkey ARGS` in `dir/name`.
fn genpkey(dir: &Path, name: &str, args: &str) -> PathBuf {
    let path = dir.join(name);
    sh(&format!("openssl genpkey {args} -out {}", path.display()));
    path
}

/// A self-signed certificate for mx.example.test with `key`.
fn self_signed(dir: &Path, key: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    sh(&format!(
        "openssl req -x509 -new -key {} -subj /CN=mx.example.test -days 30 -out {}",
        key.display(),
        path.display()
    ));
    path
}

fn openssl_available() -> bool {
    support::tool("openssl").is_some() && support::tool("sha256sum").is_some()
}

/// RFC 6698 §2.1.2/§2.1.3 and RFC 7672 §3.1.1: `3 1 1` data is the SHA-256 of the certificate's
/// DER SubjectPublicKeyInfo, as `openssl x509 -pubkey | openssl pkey -pubin -outform DER |
/// sha256sum` computes it; `3 0 1` hashes the whole DER certificate and `3 1 2` uses SHA-512.
#[test]
fn rfc6698_2_1_tlsa_for_cert_equals_openssl_digests() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = genpkey(
        dir.path(),
        "rsa.pem",
        "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
    );
    let cert = self_signed(dir.path(), &key, "cert.pem");
    let c = cert.display();
    let spki_sha256 = digest_of(&format!(
        "openssl x509 -in {c} -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum"
    ));
    let spki_sha512 = digest_of(&format!(
        "openssl x509 -in {c} -pubkey -noout | openssl pkey -pubin -outform DER | sha512sum"
    ));
    let cert_sha256 = digest_of(&format!("openssl x509 -in {c} -outform DER | sha256sum"));
    let cert_der_hex = sh(&format!(
        "openssl x509 -in {c} -outform DER | od -An -v -tx1"
    ))
    .split_whitespace()
    .collect::<String>();

    let chain = dane::read_cert_file(&cert).unwrap();
    assert_eq!(chain.len(), 1);
    let t = |u, s, m| dane::tlsa_for_cert(&chain[0], u, s, m).unwrap();
    assert_eq!(t(3, 1, 1).to_string(), format!("3 1 1 {spki_sha256}"));
    assert_eq!(t(3, 1, 2).hex(), spki_sha512);
    assert_eq!(t(3, 0, 1).hex(), cert_sha256);
    assert_eq!(t(2, 0, 0).hex(), cert_der_hex);
    assert!(dane::record_matches_cert(&t(3, 1, 1), &chain[0]));

    // The same certificate as one DER file reads the same.
    let der = dir.path().join("cert.der");
    sh(&format!(
        "openssl x509 -in {c} -outform DER -out {}",
        der.display()
    ));
    assert_eq!(dane::read_cert_file(&der).unwrap(), chain);
}

/// A chain file (leaf first, then the issuer, as Postfix's `smtpd_tls_chain_files` and ACME
/// clients' fullchain.pem have it) reads as every certificate in order.
#[test]
fn read_cert_file_keeps_the_chain_order() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let k1 = genpkey(
        dir.path(),
        "k1.pem",
        "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
    );
    let k2 = genpkey(dir.path(), "k2.pem", "-algorithm ED25519");
    let c1 = self_signed(dir.path(), &k1, "c1.pem");
    let c2 = self_signed(dir.path(), &k2, "c2.pem");
    let full = dir.path().join("full.pem");
    let text = std::fs::read_to_string(&c1).unwrap() + &std::fs::read_to_string(&c2).unwrap();
    std::fs::write(&full, text).unwrap();
    let chain = dane::read_cert_file(&full).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0], dane::read_cert_file(&c1).unwrap()[0]);
    assert_eq!(chain[1], dane::read_cert_file(&c2).unwrap()[0]);
}

/// RFC 7671 §8.1 (publish the next key before it is used): the `3 1 1` record of a key file,
/// whatever its PEM shape, equals openssl's SHA-256 of the key's DER SubjectPublicKeyInfo.
#[test]
fn rfc7671_8_1_spki_of_key_file_equals_openssl_for_every_key_shape() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = [
        ("rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"),
        ("p256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"),
        ("p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"),
        ("ed25519", "-algorithm ED25519"),
    ];
    for (name, args) in keys {
        let pkcs8 = genpkey(d, &format!("{name}.pem"), args);
        let p = pkcs8.display();
        let expected = digest_of(&format!(
            "openssl pkey -in {p} -pubout -outform DER | sha256sum"
        ));
        let mut shapes = vec![pkcs8.clone()];
        // PKCS#1 "RSA PRIVATE KEY" / SEC1 "EC PRIVATE KEY".
        if name != "ed25519" {
            let traditional = d.join(format!("{name}-traditional.pem"));
            sh(&format!(
                "openssl pkey -in {p} -traditional -out {}",
                traditional.display()
            ));
            let label = std::fs::read_to_string(&traditional).unwrap();
            assert!(!label.starts_with("-----BEGIN PRIVATE KEY"), "{label}");
            shapes.push(traditional);
        }
        let public = d.join(format!("{name}-pub.pem"));
        sh(&format!(
            "openssl pkey -in {p} -pubout -out {}",
            public.display()
        ));
        shapes.push(public);
        shapes.push(self_signed(d, &pkcs8, &format!("{name}-cert.pem")));
        for shape in shapes {
            let spki = dane::spki_of_key_file(&shape)
                .unwrap_or_else(|e| panic!("{}: {e}", shape.display()));
            assert_eq!(
                dane::tlsa_for_spki(&spki, 1).hex(),
                expected,
                "{}",
                shape.display()
            );
        }
    }
}

/// An EC key file as `openssl ecparam -genkey` writes it, with an `EC PARAMETERS` block before
/// the key, is read by its key block.
#[test]
fn spki_of_key_file_skips_ec_parameters_blocks() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ec.pem");
    sh(&format!(
        "openssl ecparam -name prime256v1 -genkey -out {}",
        key.display()
    ));
    let expected = digest_of(&format!(
        "openssl pkey -in {} -pubout -outform DER | sha256sum",
        key.display()
    ));
    let spki = dane::spki_of_key_file(&key).unwrap();
    assert_eq!(dane::tlsa_for_spki(&spki, 1).hex(), expected);
}

/// `ldns-dane -c CERT create` (ldnsutils, an independent DANE implementation) makes the same
/// TLSA data as mailauth for the same certificate file, for `3 1 1`, `3 0 1` and `3 1 2`.
#[test]
fn rfc6698_2_1_tlsa_for_cert_equals_ldns_dane_create() {
    if !openssl_available() || support::tool("ldns-dane").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = genpkey(
        dir.path(),
        "k.pem",
        "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
    );
    let cert = self_signed(dir.path(), &key, "c.pem");
    let chain = dane::read_cert_file(&cert).unwrap();
    for (u, s, m) in [(3, 1, 1), (3, 0, 1), (3, 1, 2)] {
        let line = sh(&format!(
            "ldns-dane -c {} create mx.example.test 25 {u} {s} {m}",
            cert.display()
        ));
        // "_25._tcp.mx.example.test.\t3600\tIN\tTLSA\t3 1 1 HEX" (hex possibly split).
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "_25._tcp.mx.example.test.", "{line}");
        let theirs = mailauth_providers::Tlsa::parse(&words[4..].join(" ")).unwrap();
        assert_eq!(
            dane::tlsa_for_cert(&chain[0], u, s, m).unwrap(),
            theirs,
            "{line}"
        );
    }
}

/// A CA and a leaf it issues for mx.example.test, as DER, with the PEM files.
fn ca_and_leaf(
    dir: &Path,
) -> (
    Vec<CertificateDer<'static>>,
    support::mail_tls::CertificateFiles,
) {
    for sub in ["ca", "srv"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let files = support::mail_tls::write_certificates(&dir.join("ca"), &dir.join("srv"));
    let leaf = dane::read_cert_file(&files.cert).unwrap().remove(0);
    let ca = dane::read_cert_file(&files.ca).unwrap().remove(0);
    (
        vec![CertificateDer::from(leaf), CertificateDer::from(ca)],
        files,
    )
}

use rustls_pki_types::CertificateDer;

fn record(u: u8, s: u8, m: u8, cert: &[u8]) -> mailauth_providers::Tlsa {
    dane::tlsa_for_cert(cert, u, s, m).unwrap()
}

/// RFC 7672 §3.1.1: a DANE-EE record matches the leaf whatever its names and dates.
/// §3.1.2: a DANE-TA record matches an issuer in the chain, and the leaf must then chain to it,
/// carry the MX name and be within its dates. §3.1.3: PKIX-TA/PKIX-EE records are not used.
#[test]
fn rfc7672_3_1_chain_matching_by_usage() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = ca_and_leaf(dir.path());
    let (leaf, ca) = (chain[0].as_ref(), chain[1].as_ref());
    let now = chrono::Utc::now().timestamp();
    let far_future = now + 10 * 365 * 86_400;
    let host = "mx.example.test";
    let check = |records: &[mailauth_providers::Tlsa], host: &str, now: i64| {
        dane::chain_matches(records, &chain, host, now)
    };
    let ee = record(3, 1, 1, leaf);
    assert_eq!(
        check(std::slice::from_ref(&ee), host, now),
        dane::Match::Matched(ee.clone())
    );
    // §3.1.1: names and expiry are ignored for DANE-EE.
    assert!(matches!(
        check(std::slice::from_ref(&ee), "other.example", far_future),
        dane::Match::Matched(_)
    ));
    let ee_full = record(3, 0, 2, leaf);
    assert!(matches!(
        check(&[ee_full], host, now),
        dane::Match::Matched(_)
    ));
    // A DANE-EE record of the CA does not match: EE means the leaf.
    assert_eq!(
        check(&[record(3, 1, 1, ca)], host, now),
        dane::Match::NoMatch
    );
    // §3.1.2: DANE-TA of the CA, by certificate and by key.
    for ta in [record(2, 0, 1, ca), record(2, 1, 1, ca)] {
        assert_eq!(
            check(std::slice::from_ref(&ta), host, now),
            dane::Match::Matched(ta.clone())
        );
        assert_eq!(
            check(std::slice::from_ref(&ta), "other.example", now),
            dane::Match::NoMatch
        );
        assert_eq!(
            check(std::slice::from_ref(&ta), host, far_future),
            dane::Match::NoMatch
        );
    }
    // A DANE-TA record of the leaf itself is not an issuer.
    assert_eq!(
        check(&[record(2, 0, 1, leaf)], host, now),
        dane::Match::NoMatch
    );
    // §3.1.3: PKIX usages are not used, even when their data matches.
    let pkix = [record(1, 1, 1, leaf), record(0, 0, 1, ca)];
    assert_eq!(check(&pkix, host, now), dane::Match::NoUsableRecords);
    for r in &pkix {
        assert!(
            dane::unusable_reason(r)
                .unwrap()
                .contains("not used for SMTP")
        );
    }
    // A digest of the wrong length is unusable (RFC 6698 §2.1.3).
    let mut short = ee.clone();
    short.data.pop();
    assert!(dane::unusable_reason(&short).unwrap().contains("32 bytes"));
    assert_eq!(check(&[short], host, now), dane::Match::NoUsableRecords);
}

/// Postfix's own DANE code computes the `3 1 1` digest of the key it serves as
/// `pkey_fingerprint` (posttls-finger, RECIPES.md); mailauth's record for the same certificate
/// file equals it.
#[test]
fn rfc7672_3_1_1_tlsa_equals_posttls_finger_pkey_fingerprint() {
    let Some(postfix) = support::postfix::Postfix::start() else {
        return;
    };
    if support::tool("posttls-finger").is_none() {
        return;
    }
    let addr = postfix.addr(support::postfix::Listener::Hardened);
    let out = Command::new("timeout")
        // posttls-finger reads main.cf: the private instance's, not /etc/postfix's.
        .env("MAIL_CONFIG", postfix.conf_dir())
        .args(["30", "posttls-finger", "-c", "-l", "may"])
        .arg(format!("[{}]:{}", addr.ip(), addr.port()))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let fingerprint = text
        .split("pkey_fingerprint=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no pkey_fingerprint in posttls-finger output:\n{text}"))
        .replace(':', "")
        .to_ascii_lowercase();
    let chain = dane::read_cert_file(postfix.conf_dir().join("cert.pem")).unwrap();
    assert_eq!(
        dane::tlsa_for_cert(&chain[0], 3, 1, 1).unwrap().hex(),
        fingerprint,
        "{text}"
    );
}

/// The DNSSEC bed and the Postfix it points at; `None` when either cannot run here.
struct Bed {
    postfix: support::postfix::Postfix,
    zone: support::dnssec::SignedZone,
    resolver: support::dnssec::ValidatingResolver,
    /// `3 1 1` of the key Postfix serves.
    current: String,
}

impl Bed {
    fn start() -> Option<Bed> {
        let postfix = support::postfix::Postfix::start()?;
        let chain = dane::read_cert_file(postfix.conf_dir().join("cert.pem")).unwrap();
        let current = dane::tlsa_for_cert(&chain[0], 3, 1, 1).unwrap().to_string();
        let zone =
            support::dnssec::SignedZone::start("127.0.0.1", &[current.clone(), NEXT.into()])?;
        let resolver = support::dnssec::ValidatingResolver::start(&zone);
        Some(Bed {
            postfix,
            zone,
            resolver,
            current,
        })
    }

    /// Publish `tlsa` (signed as `signing` says) and empty the resolver's cache.
    fn publish(&mut self, tlsa: &[String], signing: support::dnssec::Signing) {
        self.zone.set_tlsa(tlsa, signing);
        self.resolver.flush();
    }

    fn smtp_port(&self) -> String {
        self.postfix
            .addr(support::postfix::Listener::Hardened)
            .port()
            .to_string()
    }

    /// The dane.* codes of `mailauth check example.test --smtp` through `server`.
    fn dane_codes(&self, server: SocketAddr) -> Vec<String> {
        let out = support::cmd::mailauth()
            .args([
                "--resolver",
                &server.to_string(),
                "--json",
                "check",
                "example.test",
                "--smtp",
                "--smtp-port",
                &self.smtp_port(),
            ])
            .run();
        let json = out.json();
        let mut codes: Vec<String> = json["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("no findings array: {json}"))
            .iter()
            .filter_map(|f| f["code"].as_str())
            .filter(|c| c.starts_with("dane."))
            .map(str::to_owned)
            .collect();
        codes.sort();
        codes
    }

    fn independent(&self) -> bool {
        let smtps = self.postfix.addr(support::postfix::Listener::Smtps);
        support::dnssec::independent_dane_verify(
            self.resolver.addr(),
            support::dnssec::MX_HOST,
            smtps,
        )
        .unwrap_or_else(|| panic!("ldns-dane is missing"))
    }
}

use std::net::SocketAddr;

/// A well-formed `3 1 1` that matches no key: the "next" record of a rollover pair.
const NEXT: &str = "3 1 1 0000000000000000000000000000000000000000000000000000000000000001";

/// RFC 7672 §2.2 and §3 end to end: BIND serves a signed example.test, a validating BIND
/// resolver trusts its KSK, Postfix serves the key the TLSA names. mailauth reads the AD bit
/// (RFC 6840 §5.7), matches every MX address's STARTTLS chain, and agrees with ldns-dane; then
/// each fault gives its code: a TLSA matching no key (`dane.no_match`), answers from the
/// authoritative server without AD (`dane.unsigned`), broken signatures (`dane.bogus`), a
/// PKIX-EE record (`dane.usage_ignored`), a lone record (`dane.single_record`).
#[test]
fn rfc7672_check_through_signed_zone_validating_resolver_and_postfix() {
    use support::dnssec::Signing;
    let Some(mut bed) = Bed::start() else {
        return;
    };
    let resolver = bed.resolver.addr();
    let authoritative = bed.zone.addr();

    // The library lookup: AD from the validating resolver, none from the authoritative server.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = dane::tlsa_name(support::dnssec::MX_HOST, 25);
    let lookup = |server: SocketAddr| {
        use mailauth::dns::Resolver;
        let r = mailauth::dns::hickory::HickoryResolver::with_servers(&[server]).unwrap();
        rt.block_on(r.tlsa(&name))
    };
    let validated = lookup(resolver).unwrap();
    assert!(validated.authenticated, "{validated:?}");
    let shown: Vec<String> = validated.records.iter().map(|t| t.to_string()).collect();
    assert_eq!(shown.len(), 2);
    assert!(shown.contains(&bed.current), "{shown:?}");
    assert!(!lookup(authoritative).unwrap().authenticated);

    // Clean: the current key matches at the only address; the next record is a spare.
    assert_eq!(bed.dane_codes(resolver), Vec::<String>::new());
    assert!(
        bed.independent(),
        "ldns-dane disagrees: the current key should verify"
    );

    // Through the authoritative server: records but no AD.
    assert_eq!(bed.dane_codes(authoritative), ["dane.unsigned"]);

    // The current key withdrawn: nothing matches the served key.
    let other = "3 1 1 00000000000000000000000000000000000000000000000000000000000000ff";
    bed.publish(&[NEXT.into(), other.into()], Signing::Valid);
    assert_eq!(bed.dane_codes(resolver), ["dane.no_match"]);
    assert!(
        !bed.independent(),
        "ldns-dane verified a TLSA set that matches no key"
    );

    // Broken signatures: the validating resolver answers SERVFAIL.
    bed.publish(&[bed.current.clone(), NEXT.into()], Signing::BrokenTlsa);
    assert!(lookup(resolver).unwrap_err().is_temporary());
    assert_eq!(bed.dane_codes(resolver), ["dane.bogus"]);

    // PKIX-EE beside the matching DANE-EE record: ignored (and then one usable record).
    let pkix = bed.current.replacen("3 1 1", "1 1 1", 1);
    bed.publish(&[bed.current.clone(), pkix], Signing::Valid);
    assert_eq!(
        bed.dane_codes(resolver),
        ["dane.single_record", "dane.usage_ignored"]
    );
    assert!(bed.independent());

    // RFC 7671 §8.1: the next key published beside the current one, then Postfix switched to
    // it (the harness helper the rollover tests use): still clean, before and after.
    let dir = tempfile::tempdir().unwrap();
    let key = genpkey(
        dir.path(),
        "next.pem",
        "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
    );
    let cert = self_signed(dir.path(), &key, "next-cert.pem");
    let next = dane::tlsa_for_spki(&dane::spki_of_key_file(&key).unwrap(), 1).to_string();
    bed.publish(&[bed.current.clone(), next.clone()], Signing::Valid);
    assert_eq!(bed.dane_codes(resolver), Vec::<String>::new());
    support::dnssec::swap_postfix_cert(
        bed.postfix.conf_dir(),
        bed.postfix.addr(support::postfix::Listener::Hardened),
        &cert,
        &key,
    );
    assert_eq!(bed.dane_codes(resolver), Vec::<String>::new());
    assert!(
        bed.independent(),
        "ldns-dane should verify the next key after the switch"
    );
    bed.publish(&[bed.current.clone(), NEXT.into()], Signing::Valid);
    assert_eq!(bed.dane_codes(resolver), ["dane.no_match"]);
}

/// RFC 7672 §2.2.1: TLSA at one MX and not at the other is `dane.partial`; bad parameters are
/// `dane.bad_params`; zone files carry no DNSSEC status (`dane.unsigned`); with live checking
/// asked for and no TLSA anywhere, `dane.none`.
#[test]
fn rfc7672_2_2_1_record_findings_through_zone_files() {
    let zone = "$ORIGIN example.test.\n@ IN MX 10 mx1\n@ IN MX 20 mx2\n\
                _25._tcp.mx1 IN TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000001\n\
                _25._tcp.mx1 IN TLSA 3 1 1 00ff\n\
                _25._tcp.mx1 IN TLSA 3 2 1 0000000000000000000000000000000000000000000000000000000000000001\n\
                none.test. IN MX 10 mx.none.test.\n";
    let resolver = mailauth::dns::zone::ZoneResolver::parse_str(zone, "z", None).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hosts = ["mx1.example.test".to_owned(), "mx2.example.test".to_owned()];
    let (findings, failed) = rt.block_on(dane::findings(
        &resolver,
        "example.test",
        &hosts,
        Some(25),
        0,
    ));
    assert!(!failed);
    let mut codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "dane.bad_params",
            "dane.bad_params",
            "dane.partial",
            "dane.single_record",
            "dane.unsigned"
        ],
        "{findings:#?}"
    );
    let none = |live: bool| {
        let hosts = ["mx.none.test".to_owned()];
        let (findings, _) = rt.block_on(dane::findings(
            &resolver,
            "none.test",
            &hosts,
            live.then_some(25),
            0,
        ));
        findings.iter().map(|f| f.code).collect::<Vec<_>>()
    };
    assert_eq!(none(true), ["dane.none"]);
    assert_eq!(none(false), Vec::<&str>::new());
    // A TLSA lookup failing while the host's own lookups work is this RRset's failure (bogus);
    // when the host's lookups fail too, the resolver is the problem (temporary, RFC 7672 §2.2).
    let failing = |extra: &[&str]| {
        let zone = "$ORIGIN f.test.\n@ IN MX 10 mx\nmx IN A 192.0.2.1\n";
        let mut resolver = mailauth::dns::zone::ZoneResolver::parse_str(zone, "f", None).unwrap();
        resolver.set_temporary_failure("_25._tcp.mx.f.test");
        for name in extra {
            resolver.set_temporary_failure(name);
        }
        let hosts = ["mx.f.test".to_owned()];
        let (findings, failed) = rt.block_on(dane::findings(&resolver, "f.test", &hosts, None, 0));
        (findings.iter().map(|f| f.code).collect::<Vec<_>>(), failed)
    };
    assert_eq!(failing(&[]), (vec!["dane.bogus"], false));
    assert_eq!(failing(&["mx.f.test"]), (vec!["dns.temporary"], true));
}
