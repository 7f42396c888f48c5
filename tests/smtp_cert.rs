//! Certificate checks of `mailauth::smtp::cert` on certificates the openssl CLI makes in a temp
//! dir: a test CA, a good leaf for mx.example.test, an expired one (`openssl ca -startdate
//! -enddate`), one expiring in 10 days, a self-signed one, an RSA-1024 one, a wildcard one. Each
//! finding code comes from its certificate and none from the good one. Also a real handshake
//! with `openssl s_server` through `recording_verifier`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailauth::smtp::cert::{CODES, CertificateInfo, examine, findings, recording_verifier};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::legacy_tls::OpensslServer;
use crate::support;

const HOST: &str = "mx.example.test";

/// A test CA in a temp dir that issues leaves with the openssl CLI.
struct TestPki {
    openssl: PathBuf,
    dir: tempfile::TempDir,
}

const CA_CONFIG: &str = "\
[ca]
default_ca = test_ca
[test_ca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
";

impl TestPki {
    fn new() -> Option<TestPki> {
        let openssl = support::tool("openssl")?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::write(dir.path().join("index.txt"), "").unwrap();
        std::fs::write(dir.path().join("serial"), "1000\n").unwrap();
        let pki = TestPki { openssl, dir };
        pki.openssl(&[
            "req",
            "-x509",
            "-config",
            "ca.cnf",
            "-extensions",
            "ca_ext",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=mailauth test CA",
        ]);
        Some(pki)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self, args: &[&str]) -> Vec<u8> {
        support::run(
            Command::new(&self.openssl)
                .args(args)
                .env("OPENSSL_CONF", self.path("ca.cnf"))
                .current_dir(self.dir.path()),
            b"",
        )
    }

    /// A key (`rsa:BITS` or `ec` or `ed25519`) and a CSR for `name`, with the extension file
    /// naming `san`.
    fn request(&self, name: &str, key: &str, san: &str) {
        let rsa_bits = key
            .strip_prefix("rsa:")
            .map(|bits| format!("rsa_keygen_bits:{bits}"));
        let key_args: Vec<&str> = match (&rsa_bits, key) {
            (Some(bits), _) => vec!["-algorithm", "RSA", "-pkeyopt", bits],
            (None, "ec") => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            (None, _) => vec!["-algorithm", "ED25519"],
        };
        let key_file = format!("{name}.key");
        let mut args = vec!["genpkey", "-out", &key_file];
        args.extend(key_args);
        self.openssl(&args);
        let csr = format!("{name}.csr");
        self.openssl(&[
            "req",
            "-new",
            "-key",
            &key_file,
            "-subj",
            &format!("/CN={HOST}"),
            "-out",
            &csr,
        ]);
        let ext = format!(
            "subjectAltName = {san}\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
        );
        std::fs::write(self.path(&format!("{name}.ext")), ext).unwrap();
    }

    /// A leaf signed by the CA, valid from now for `days`.
    fn leaf(&self, name: &str, key: &str, san: &str, days: u32) -> Vec<CertificateDer<'static>> {
        self.request(name, key, san);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-days",
            &days.to_string(),
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
        self.chain(name)
    }

    /// A leaf signed by the CA with fixed validity dates (YYYYMMDDHHMMSSZ), via `openssl ca`.
    fn dated_leaf(&self, name: &str, start: &str, end: &str) -> Vec<CertificateDer<'static>> {
        self.request(name, "rsa:2048", &format!("DNS:{HOST}"));
        self.openssl(&[
            "ca",
            "-config",
            "ca.cnf",
            "-batch",
            "-notext",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-startdate",
            start,
            "-enddate",
            end,
            "-extfile",
            &format!("{name}.ext"),
            "-in",
            &format!("{name}.csr"),
            "-out",
            &format!("{name}.pem"),
        ]);
        self.chain(name)
    }

    /// A self-signed certificate for mx.example.test, naming it in its SAN.
    fn self_signed(&self, name: &str) -> Vec<CertificateDer<'static>> {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "90",
            "-subj",
            &format!("/CN={HOST}"),
            "-addext",
            &format!("subjectAltName=DNS:{HOST}"),
        ]);
        self.chain(name)
    }

    fn chain(&self, name: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(self.path(&format!("{name}.pem")))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn ca(&self) -> Vec<CertificateDer<'static>> {
        self.chain("ca")
    }

    /// `examine` then `findings` for `host`, now.
    fn check(
        &self,
        chain: &[CertificateDer<'_>],
        host: &str,
    ) -> (CertificateInfo, Vec<&'static str>) {
        let now = unix_now();
        let info = examine(chain, host, &self.ca(), now).unwrap();
        let codes = findings(&info, host, &format!("{host}:25"), now)
            .iter()
            .map(|f| f.code)
            .collect();
        (info, codes)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

#[test]
fn good_leaf_from_the_test_ca_has_no_findings_and_reads_its_fields() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("good", "rsa:2048", &format!("DNS:{HOST}"), 90);
    let (info, codes) = pki.check(&chain, HOST);
    assert_eq!(codes, Vec::<&str>::new(), "{info:?}");
    assert_eq!(info.subject, format!("CN={HOST}"));
    assert_eq!(info.issuer, "CN=mailauth test CA");
    assert_eq!(info.names, [HOST]);
    assert_eq!(info.key, "RSA 2048");
    assert_eq!(info.trusted, Ok(()));
    assert!(info.name_matches);
    let days = (info.not_after - info.not_before) / 86_400;
    assert_eq!(days, 90);
}

#[test]
fn rfc8461_4_2_self_signed_leaf_is_untrusted() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.self_signed("self");
    let (info, codes) = pki.check(&chain, HOST);
    assert_eq!(codes, ["smtp.cert_untrusted"]);
    assert!(
        info.trusted.as_ref().unwrap_err().contains("self-signed"),
        "{:?}",
        info.trusted
    );
}

#[test]
fn rfc8461_4_2_test_ca_leaf_is_untrusted_without_the_extra_root() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("good", "rsa:2048", &format!("DNS:{HOST}"), 90);
    let info = examine(&chain, HOST, &[], unix_now()).unwrap();
    let error = info.trusted.unwrap_err();
    assert!(error.contains("mailauth test CA"), "{error}");
}

#[test]
fn rfc7817_3_leaf_for_another_name_mismatches() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("good", "rsa:2048", &format!("DNS:{HOST}"), 90);
    let (_, codes) = pki.check(&chain, "mail.example.test");
    assert_eq!(codes, ["smtp.cert_name_mismatch"]);
}

#[test]
fn rfc7817_3_ip_target_is_checked_against_ip_entries() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("ip", "rsa:2048", &format!("DNS:{HOST}, IP:127.0.0.1"), 90);
    let (info, codes) = pki.check(&chain, "127.0.0.1");
    assert_eq!(codes, Vec::<&str>::new());
    assert_eq!(info.names, [HOST, "127.0.0.1"]);
    let (_, codes) = pki.check(&chain, "127.0.0.2");
    assert_eq!(codes, ["smtp.cert_name_mismatch"]);
}

#[test]
fn rfc6125_6_4_3_wildcard_leaf_matches_one_leftmost_label_only() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("wild", "rsa:2048", "DNS:*.example.test", 90);
    let (_, codes) = pki.check(&chain, HOST);
    assert_eq!(codes, Vec::<&str>::new());
    let (_, codes) = pki.check(&chain, "example.test");
    assert_eq!(codes, ["smtp.cert_name_mismatch"]);
    let (_, codes) = pki.check(&chain, "a.mx.example.test");
    assert_eq!(codes, ["smtp.cert_name_mismatch"]);
}

#[test]
fn rfc5280_4_1_2_5_expired_leaf_is_expired_but_not_also_untrusted() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.dated_leaf("expired", "20200101000000Z", "20200201000000Z");
    let (info, codes) = pki.check(&chain, HOST);
    assert_eq!(codes, ["smtp.cert_expired"], "{info:?}");
    assert_eq!(info.not_after, 1_580_515_200, "2020-02-01T00:00:00Z");
}

#[test]
fn rfc5280_4_1_2_5_leaf_expiring_in_10_days_is_expiring() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("soon", "rsa:2048", &format!("DNS:{HOST}"), 10);
    let (_, codes) = pki.check(&chain, HOST);
    assert_eq!(codes, ["smtp.cert_expiring"]);
}

#[test]
fn rfc9325_4_5_rsa_1024_leaf_is_weak() {
    let Some(pki) = TestPki::new() else { return };
    let chain = pki.leaf("weak", "rsa:1024", &format!("DNS:{HOST}"), 90);
    let (info, codes) = pki.check(&chain, HOST);
    assert_eq!(info.key, "RSA 1024");
    assert_eq!(codes, ["smtp.cert_weak_key"]);
}

#[test]
fn ec_and_ed25519_keys_are_described_and_not_weak() {
    let Some(pki) = TestPki::new() else { return };
    for (name, key, described) in [("ec", "ec", "EC P-256"), ("ed", "ed25519", "Ed25519")] {
        let chain = pki.leaf(name, key, &format!("DNS:{HOST}"), 90);
        let (info, codes) = pki.check(&chain, HOST);
        assert_eq!(info.key, described);
        assert_eq!(codes, Vec::<&str>::new(), "{name}");
    }
}

#[test]
fn every_code_comes_from_some_certificate() {
    let Some(pki) = TestPki::new() else { return };
    let san = format!("DNS:{HOST}");
    let fixtures = [
        (pki.self_signed("self"), HOST),
        (pki.leaf("good", "rsa:2048", &san, 90), "mail.example.test"),
        (
            pki.dated_leaf("expired", "20200101000000Z", "20200201000000Z"),
            HOST,
        ),
        (pki.leaf("soon", "rsa:2048", &san, 10), HOST),
        (pki.leaf("weak", "rsa:1024", &san, 90), HOST),
    ];
    let mut produced = Vec::new();
    for (chain, host) in &fixtures {
        produced.extend(pki.check(chain, host).1);
    }
    for code in CODES {
        assert!(produced.contains(code), "{code} produced by no fixture");
    }
}

/// The recording verifier lets a rustls client finish the handshake with a self-signed server
/// (TLS 1.2 and 1.3: the handshake signatures are verified), and the chain it got is then
/// judged by `examine`.
#[test]
fn recording_verifier_completes_handshakes_and_examine_judges_the_chain() {
    for flag in ["-tls1_2", "-tls1_3"] {
        let Some(server) = OpensslServer::start(&[flag]) else {
            return;
        };
        let chain = handshake(server.addr());
        let info = examine(&chain, HOST, &[], unix_now()).unwrap();
        assert!(info.trusted.is_err(), "{flag}: self-signed is untrusted");
        assert!(info.name_matches, "{flag}");
    }
}

fn handshake(addr: std::net::SocketAddr) -> Vec<CertificateDer<'static>> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(recording_verifier())
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
        let tls = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
            .await
            .expect("handshake within 10 s")
            .expect("handshake completes with the recording verifier");
        tls.get_ref().1.peer_certificates().unwrap().to_vec()
    })
}
