//! A DNSSEC test bed on loopback for DANE (RFC 7672): a BIND authoritative server for
//! `example.test` whose zone is signed at test time (ECDSA P-256 KSK and ZSK), a second BIND
//! as a validating recursive resolver that trusts only that zone's KSK and forwards
//! `example.test` to the authoritative server (it never leaves loopback), and helpers to swap a
//! Postfix listener's certificate and to ask an independent DANE verifier (`ldns-dane`).
//!
//! Each server runs from its own temporary directory, is started as a child process and is
//! killed by PID when dropped. In CI a server that cannot start fails the test; elsewhere the
//! constructors return `None` after saying why.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mail_tls;
use super::named::free_port;

/// The zone the bed signs and serves.
pub const ZONE: &str = "example.test";
/// The MX host of the zone (the private Postfix's name and certificate name).
pub const MX_HOST: &str = "mx.example.test";
/// TTL of every record: short, so a resolver's cache forgets within seconds.
pub const TTL: u32 = 2;

/// How the next signing of the zone is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// Signed correctly: a validating resolver answers with AD.
    Valid,
    /// The TLSA data changed after signing, so its RRSIG no longer verifies: a validating
    /// resolver answers SERVFAIL (bogus, RFC 4035 §5.5).
    BrokenTlsa,
}

/// `named` as a child process, killed on drop.
#[derive(Debug)]
struct NamedProcess {
    child: Child,
    conf: PathBuf,
    log: PathBuf,
    port: u16,
}

impl NamedProcess {
    fn spawn(conf: &Path, log: &Path, port: u16) -> NamedProcess {
        let log_file = std::fs::File::create(log).expect("named log file");
        let child = Command::new("named")
            .arg("-c")
            .arg(conf)
            .arg("-g")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start named");
        NamedProcess {
            child,
            conf: conf.to_path_buf(),
            log: log.to_path_buf(),
            port,
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until `dig` gets an answer with status `NOERROR` for `name`/`rtype`.
    fn wait_answering(&mut self, name: &str, rtype: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("named exited ({status}):\n{}", self.log_text());
            }
            if dig(self.addr(), name, rtype, &[]).is_some_and(|a| a.status == "NOERROR") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "named on {} did not answer {name} {rtype} within 20 s:\n{}",
                self.addr(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop and start again on the same port with the same configuration (zones and caches are
    /// read afresh).
    fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let fresh = NamedProcess::spawn(&self.conf, &self.log, self.port);
            *self = fresh;
            std::thread::sleep(Duration::from_millis(300));
            match self.child.try_wait() {
                Ok(None) => return,
                _ if Instant::now() < deadline => continue,
                _ => panic!("named did not restart:\n{}", self.log_text()),
            }
        }
    }
}

impl Drop for NamedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What `dig` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigAnswer {
    /// The RCODE name ("NOERROR", "SERVFAIL", "NXDOMAIN").
    pub status: String,
    /// The header flags ("qr", "aa", "rd", "ra", "ad").
    pub flags: Vec<String>,
    /// The answer section's records of the type asked for, each as "RDATA" words.
    pub records: Vec<String>,
}

/// Ask `server` with dig (`+dnssec` `+adflag` `+tries=2` `+time=2`); `None` when dig got no
/// answer at all.
pub fn dig(server: SocketAddr, name: &str, rtype: &str, extra: &[&str]) -> Option<DigAnswer> {
    let out = Command::new("dig")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args(["+dnssec", "+adflag", "+tries=2", "+time=2"])
        .args(extra)
        .args([name, rtype])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let status = text
        .split("status: ")
        .nth(1)?
        .split(',')
        .next()?
        .trim()
        .to_owned();
    let flags = text
        .split("flags: ")
        .nth(1)?
        .split(';')
        .next()?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let records = text
        .split(";; ANSWER SECTION:")
        .nth(1)
        .map(|answer| {
            answer
                .lines()
                .skip(1)
                .take_while(|l| !l.trim().is_empty())
                .filter_map(|l| {
                    let words: Vec<&str> = l.split_whitespace().collect();
                    (words.get(3) == Some(&rtype)).then(|| words[4..].join(" "))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(DigAnswer {
        status,
        flags,
        records,
    })
}

/// A BIND authoritative server for [`ZONE`], signed with its own KSK and ZSK.
#[derive(Debug)]
pub struct SignedZone {
    named: NamedProcess,
    dir: tempfile::TempDir,
    serial: u32,
    mx_addr: String,
}

impl SignedZone {
    /// Sign and serve a zone where [`MX_HOST`] (the zone's MX) has address `mx_addr` and the
    /// TLSA records `tlsa` (values "U S M HEX") at `_25._tcp.MX_HOST`. `None` outside CI when
    /// BIND's tools are missing.
    pub fn start(mx_addr: &str, tlsa: &[String]) -> Option<SignedZone> {
        for tool in ["named", "dnssec-keygen", "dnssec-signzone", "dig"] {
            super::tool(tool)?;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        for flags in [&["-f", "KSK"][..], &[]] {
            let out = Command::new("dnssec-keygen")
                .arg("-K")
                .arg(dir.path())
                .args(["-a", "ECDSAP256SHA256", "-n", "ZONE"])
                .args(flags)
                .arg(ZONE)
                .output()
                .expect("run dnssec-keygen");
            assert!(
                out.status.success(),
                "dnssec-keygen: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ports = mail_tls::lock_ports();
        let port = free_port();
        let d = dir.path().display();
        let conf = format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }};\n\
             listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; allow-query {{ 127.0.0.0/8; }}; }};\n\
             controls {{ }};\n\
             zone \"{ZONE}\" {{ type primary; file \"{d}/{ZONE}.zone.signed\"; }};\n"
        );
        std::fs::write(dir.path().join("named.conf"), conf).expect("write named.conf");
        let mut zone = SignedZone {
            named: NamedProcess {
                // Replaced below once the zone is signed.
                child: Command::new("true").spawn().expect("spawn true"),
                conf: dir.path().join("named.conf"),
                log: dir.path().join("named.log"),
                port,
            },
            dir,
            serial: 0,
            mx_addr: mx_addr.to_owned(),
        };
        zone.write_and_sign(tlsa, Signing::Valid);
        zone.named = NamedProcess::spawn(&zone.named.conf, &zone.named.log, port);
        zone.named.wait_answering(ZONE, "SOA");
        Some(zone)
    }

    /// Where the server answers (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.named.addr()
    }

    /// The zone's KSK as a `trust-anchors` entry: `example.test. static-key 257 3 13 "..."`.
    pub fn trust_anchor(&self) -> String {
        let dnskey = self.ksk_record();
        let words: Vec<&str> = dnskey.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| *w == "DNSKEY")
            .expect("DNSKEY in the key file");
        format!(
            "{ZONE}. static-key {} {} {} \"{}\";",
            words[at + 1],
            words[at + 2],
            words[at + 3],
            words[at + 4..].concat()
        )
    }

    /// The KSK's DNSKEY record line (as `dnssec-keygen` wrote it), for tools taking a key file
    /// (`ldns-dane -k`, `delv -a`).
    pub fn ksk_record(&self) -> String {
        for entry in std::fs::read_dir(self.dir.path()).expect("read key dir") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "key") {
                let text = std::fs::read_to_string(&path).expect("read key file");
                if let Some(line) = text
                    .lines()
                    .find(|l| !l.starts_with(';') && l.contains("DNSKEY 257 "))
                {
                    return line.to_owned();
                }
            }
        }
        panic!("no KSK in {}", self.dir.path().display());
    }

    /// Replace the TLSA set at `_25._tcp.MX_HOST`, sign as `signing` says, and have named load
    /// it (SIGHUP would race with the file write's mtime granularity, so named is restarted on
    /// the same port).
    pub fn set_tlsa(&mut self, tlsa: &[String], signing: Signing) {
        self.write_and_sign(tlsa, signing);
        self.named.restart();
        self.named.wait_answering(ZONE, "SOA");
    }

    fn write_and_sign(&mut self, tlsa: &[String], signing: Signing) {
        self.serial += 1;
        let mut text = format!(
            "$ORIGIN {ZONE}.\n$TTL {TTL}\n\
             @ IN SOA ns1 hostmaster {serial} 3600 600 86400 {TTL}\n\
             @ IN NS ns1\n@ IN MX 10 {MX_HOST}.\n\
             ns1 IN A 127.0.0.1\n{MX_HOST}. IN A {addr}\n",
            serial = self.serial,
            addr = self.mx_addr
        );
        for record in tlsa {
            text.push_str(&format!("_25._tcp.{MX_HOST}. IN TLSA {record}\n"));
        }
        let zone_file = self.dir.path().join(format!("{ZONE}.zone"));
        std::fs::write(&zone_file, text).expect("write the zone");
        let signed = self.dir.path().join(format!("{ZONE}.zone.signed"));
        let out = Command::new("dnssec-signzone")
            .current_dir(self.dir.path())
            .args(["-S", "-K"])
            .arg(self.dir.path())
            .args(["-O", "full", "-o", ZONE, "-f"])
            .arg(&signed)
            .arg(&zone_file)
            .output()
            .expect("run dnssec-signzone");
        assert!(
            out.status.success(),
            "dnssec-signzone: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        if signing == Signing::BrokenTlsa {
            break_tlsa_signatures(&signed);
        }
    }
}

/// Flip the last hex digit of every TLSA record in a signed zone (one record per line, as
/// `dnssec-signzone -O full` writes), leaving the RRSIGs as they were.
fn break_tlsa_signatures(signed: &Path) {
    let text = std::fs::read_to_string(signed).expect("read the signed zone");
    let mut changed = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.get(3) != Some(&"TLSA") {
                return line.to_owned();
            }
            changed += 1;
            let mut out = line.trim_end().to_owned();
            let last = out.pop().expect("TLSA data");
            out.push(if last == '0' { '1' } else { '0' });
            out
        })
        .collect();
    assert!(
        changed > 0,
        "no TLSA record to break in {}",
        signed.display()
    );
    std::fs::write(signed, lines.join("\n") + "\n").expect("write the broken zone");
}

/// A BIND validating recursive resolver trusting only [`ZONE`]'s KSK, forwarding [`ZONE`] to
/// the authoritative server and authoritative itself for a tiny unsigned root (which delegates
/// [`ZONE`], so the query is recursed and the forward zone applies), so no query leaves
/// loopback.
#[derive(Debug)]
pub struct ValidatingResolver {
    named: NamedProcess,
    _dir: tempfile::TempDir,
}

impl ValidatingResolver {
    /// Start a resolver for `zone`'s data.
    pub fn start(zone: &SignedZone) -> ValidatingResolver {
        let dir = tempfile::tempdir().expect("temp dir");
        let _ports = mail_tls::lock_ports();
        let port = free_port();
        let d = dir.path().display();
        let auth = zone.addr();
        let conf = format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; listen-on port {port} {{ 127.0.0.1; }};\n\
             listen-on-v6 {{ none; }}; recursion yes; allow-query {{ 127.0.0.0/8; }}; allow-recursion {{ 127.0.0.0/8; }};\n\
             dnssec-validation yes; max-cache-ttl {TTL}; max-ncache-ttl {TTL}; empty-zones-enable no;\n\
             querylog yes; }};\n\
             controls {{ }};\n\
             trust-anchors {{ {anchor} }};\n\
             zone \".\" {{ type primary; file \"{d}/root.zone\"; }};\n\
             zone \"{ZONE}\" {{ type forward; forward only; forwarders {{ {ip} port {p}; }}; }};\n",
            anchor = zone.trust_anchor(),
            ip = auth.ip(),
            p = auth.port()
        );
        std::fs::write(dir.path().join("named.conf"), conf).expect("write named.conf");
        let root = format!(
            "$TTL {TTL}\n. IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 {TTL}\n\
             . IN NS localhost.\nlocalhost. IN A 127.0.0.1\n\
             {ZONE}. IN NS ns1.{ZONE}.\nns1.{ZONE}. IN A 127.0.0.1\n"
        );
        std::fs::write(dir.path().join("root.zone"), root).expect("write root.zone");
        let mut named = NamedProcess::spawn(
            &dir.path().join("named.conf"),
            &dir.path().join("named.log"),
            port,
        );
        named.wait_answering(ZONE, "SOA");
        ValidatingResolver { named, _dir: dir }
    }

    /// Where the resolver answers.
    pub fn addr(&self) -> SocketAddr {
        self.named.addr()
    }

    /// Forget every cached answer (restart on the same port).
    pub fn flush(&mut self) {
        self.named.restart();
        self.named.wait_answering(ZONE, "SOA");
    }

    /// The resolver's log (validation failures show here).
    pub fn log(&self) -> String {
        self.named.log_text()
    }
}

/// Give the private Postfix a new certificate chain and key (PEM files) and `postfix reload`,
/// then wait until its STARTTLS listener at `addr` presents the new leaf.
pub fn swap_postfix_cert(conf_dir: &Path, addr: SocketAddr, cert: &Path, key: &Path) {
    std::fs::copy(key, conf_dir.join("key.pem")).expect("copy the key");
    std::fs::copy(cert, conf_dir.join("cert.pem")).expect("copy the certificate");
    let out = Command::new("postfix")
        .arg("-c")
        .arg(conf_dir)
        .arg("reload")
        .output()
        .expect("run postfix reload");
    assert!(
        out.status.success(),
        "postfix reload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = pem_leaf_der(cert);
    let deadline = Instant::now() + Duration::from_secs(20);
    while served_leaf_der(addr).as_deref() != Some(&want[..]) {
        assert!(
            Instant::now() < deadline,
            "Postfix at {addr} still presents the old certificate 20 s after reload"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pem_leaf_der(cert: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(cert)
        .output()
        .expect("run openssl x509");
    assert!(out.status.success(), "openssl x509 on {}", cert.display());
    out.stdout
}

/// The leaf certificate (DER) an SMTP server presents after STARTTLS, read with the openssl CLI.
pub fn served_leaf_der(addr: SocketAddr) -> Option<Vec<u8>> {
    let script = format!(
        "openssl s_client -starttls smtp -connect {addr} -servername {MX_HOST} </dev/null 2>/dev/null \
         | openssl x509 -outform DER"
    );
    let out = Command::new("timeout")
        .args(["10", "sh", "-c", &script])
        .output()
        .ok()?;
    (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
}

/// Ask an independent DANE verifier whether the TLSA records at `_25._tcp.HOST`, as the
/// validating resolver at `resolver` returns them with AD set, authenticate the certificate a
/// TLS server presents at `tls_addr` (RFC 7672 §3): `dig` fetches the records and checks the
/// AD bit, `ldns-dane verify` (from ldnsutils) matches them against the live chain, with name
/// checks off (`-n`; DANE-EE ignores names, RFC 7672 §3.1.1). ldns-dane cannot STARTTLS, so
/// `tls_addr` must be an implicit-TLS listener with the same certificate (the private Postfix's
/// smtps listener). Returns `None` (after reporting, which fails in CI) when ldns-dane is missing.
pub fn independent_dane_verify(
    resolver: SocketAddr,
    host: &str,
    tls_addr: SocketAddr,
) -> Option<bool> {
    super::tool("ldns-dane")?;
    let owner = format!("_25._tcp.{host}");
    let Some(answer) = dig(resolver, &owner, "TLSA", &[]) else {
        eprintln!("independent_dane_verify: no answer from dig @{resolver}");
        return Some(false);
    };
    eprintln!("independent_dane_verify: dig @{resolver} {owner} TLSA: {answer:?}");
    if answer.status != "NOERROR" || !answer.flags.iter().any(|f| f == "ad") {
        return Some(false);
    }
    if answer.records.is_empty() {
        return Some(false);
    }
    // ldns-dane reads the port from the owner name: give the records the listener's port.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tlsa.txt");
    let lines: String = answer
        .records
        .iter()
        .map(|r| format!("_{}._tcp.{host}. 60 IN TLSA {r}\n", tls_addr.port()))
        .collect();
    std::fs::write(&file, lines).expect("write the TLSA file");
    let out = Command::new("timeout")
        .args(["20", "ldns-dane", "-n", "-d", "-a"])
        .arg(tls_addr.ip().to_string())
        .arg("-t")
        .arg(&file)
        .arg("verify")
        .output()
        .expect("run ldns-dane");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("ldns-dane verify: {text}");
    Some(out.status.success() && text.contains("dane-validated successfully"))
}
