//! A real, private Postfix instance for the SMTP tests: its own configuration, queue, log,
//! certificate authority and SASL database under a fresh `/var/tmp/mailauth-postfix-XXXX`, with one
//! `smtpd` listener on 127.0.0.1 per [`Listener`] profile (a secure MX, submission, implicit TLS and
//! one listener per misconfiguration the probe must notice). It follows the recipe in RECIPES.md
//! ("A real Postfix on 127.0.0.1:PORT"). It never touches /etc/postfix or the system instance, and
//! it owns only the servers: what a client concludes about them belongs to the tests.
//!
//! Postfix needs root (`postfix -c DIR start`); without root or without the tools the instance is
//! unavailable, which fails the test in CI and skips it elsewhere (see `super::skip_or_fail`).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::mail_tls::{self, chown, greeting, running_as_root, tls_client_config};

/// The profiles of the instance's `smtpd` listeners: each is one `master.cf` line with `-o`
/// overrides of the hardened `main.cf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Listener {
    /// Port-25 role done right: STARTTLS offered (TLS 1.2+), no AUTH, relay refused, VRFY
    /// disabled, HELO required, banner without a version.
    Hardened,
    /// Port-587 role: STARTTLS required before anything (`smtpd_tls_security_level=encrypt`),
    /// AUTH after TLS, relay only after AUTH.
    Submission,
    /// Port-465 role: implicit TLS (`smtpd_tls_wrappermode=yes`), AUTH, relay only after AUTH.
    Smtps,
    /// An open relay: every client is inside `mynetworks`.
    OpenRelay,
    /// AUTH PLAIN/LOGIN offered before STARTTLS (`smtpd_tls_auth_only=no`).
    AuthBeforeTls,
    /// STARTTLS that still accepts TLS 1.0 and 1.1 (`smtpd_tls_protocols=>=TLSv1`, Debian's stock
    /// setting).
    LegacyTls,
    /// No STARTTLS at all (`smtpd_tls_security_level=none`).
    NoStarttls,
    /// VRFY answered (`disable_vrfy_command=no`).
    VrfyOpen,
}

impl Listener {
    /// Every profile, in the order of `master.cf`.
    pub const ALL: [Listener; 8] = [
        Listener::Hardened,
        Listener::Submission,
        Listener::Smtps,
        Listener::OpenRelay,
        Listener::AuthBeforeTls,
        Listener::LegacyTls,
        Listener::NoStarttls,
        Listener::VrfyOpen,
    ];

    /// The `-o name=value` overrides of this listener's `master.cf` entry.
    pub fn overrides(self) -> &'static [&'static str] {
        // Submission and smtps restrict relaying to authenticated clients the way Debian's
        // commented master.cf entries do (permit_sasl_authenticated,reject).
        const SASL_ONLY: &str = "smtpd_relay_restrictions=permit_sasl_authenticated,reject";
        match self {
            Listener::Hardened => &[],
            Listener::Submission => &[
                "smtpd_tls_security_level=encrypt",
                "smtpd_sasl_auth_enable=yes",
                SASL_ONLY,
            ],
            Listener::Smtps => &[
                "smtpd_tls_wrappermode=yes",
                "smtpd_sasl_auth_enable=yes",
                SASL_ONLY,
            ],
            Listener::OpenRelay => &["mynetworks=0.0.0.0/0"],
            Listener::AuthBeforeTls => &["smtpd_sasl_auth_enable=yes", "smtpd_tls_auth_only=no"],
            Listener::LegacyTls => &["smtpd_tls_protocols=>=TLSv1"],
            Listener::NoStarttls => &["smtpd_tls_security_level=none"],
            Listener::VrfyOpen => &["disable_vrfy_command=no"],
        }
    }

    /// True when the listener speaks TLS from the first byte (no STARTTLS).
    pub fn implicit_tls(self) -> bool {
        self == Listener::Smtps
    }

    /// True when an unauthenticated client outside `mynetworks` (127.0.0.2) may relay through it.
    pub fn relays_for_strangers(self) -> bool {
        self == Listener::OpenRelay
    }
}

/// A running private Postfix; dropping it stops it and removes its directory.
#[derive(Debug)]
pub struct Postfix {
    dir: tempfile::TempDir,
    ports: BTreeMap<Listener, u16>,
    conf: PathBuf,
    ca_cert: PathBuf,
    password: PathBuf,
    zone: PathBuf,
}

impl Postfix {
    /// The instance's `myhostname`, and the DNS name of its certificate.
    pub const HOSTNAME: &'static str = "mx.example.test";
    /// The SASL user in the instance's sasldb (its password is in [`Postfix::password_file`]).
    pub const USER: &'static str = "alice@mx.example.test";

    /// Start an instance with every [`Listener`] answering. `None` only outside CI when Postfix,
    /// its tools or root are unavailable; a Postfix that is installed but fails to start panics
    /// with its log.
    pub fn start() -> Option<Postfix> {
        for tool in ["postfix", "postconf", "saslpasswd2", "openssl"] {
            super::tool(tool)?;
        }
        if !running_as_root() {
            super::skip_or_fail("a private Postfix instance needs root (`postfix -c DIR start`)");
            return None;
        }
        let dir = instance_dir();
        mail_tls::write_certificates(&dir.path().join("ca"), &dir.path().join("conf"));
        write_sasl(dir.path());
        std::fs::write(dir.path().join("example.test.zone"), zone_text())
            .expect("write the zone file");
        let mut postfix = Postfix {
            conf: dir.path().join("conf"),
            ca_cert: dir.path().join("ca/ca.pem"),
            password: dir.path().join("password"),
            zone: dir.path().join("example.test.zone"),
            dir,
            ports: BTreeMap::new(),
        };
        postfix.start_on_free_ports();
        Some(postfix)
    }

    /// `127.0.0.1:PORT` of `listener`.
    pub fn addr(&self, listener: Listener) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports[&listener]))
    }

    /// The instance's configuration directory (`main.cf`, `master.cf`): for `postconf -c`.
    pub fn conf_dir(&self) -> &Path {
        &self.conf
    }

    /// The PEM certificate of the CA that issued the server certificate (for `--ca`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_cert
    }

    /// A file (mode 0600) holding [`Postfix::USER`]'s SASL password, without a newline.
    pub fn password_file(&self) -> &Path {
        &self.password
    }

    /// A zone file for `example.test`: `MX 10 mx.example.test.` and `mx.example.test. A 127.0.0.1`.
    pub fn zone_file(&self) -> &Path {
        &self.zone
    }

    /// The instance's log (`maillog_file`), empty if not written yet.
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// The SASL password itself, for tests that drive a client needing it (swaks).
    pub fn password(&self) -> String {
        std::fs::read_to_string(self.password_file()).expect("read the password file")
    }

    /// Pick free ports, write the configuration and start; a port taken between picking and
    /// binding (another test's server) is retried with fresh ports.
    fn start_on_free_ports(&mut self) {
        let _ports = mail_tls::lock_ports();
        for attempt in 1..=3 {
            self.ports = Listener::ALL
                .into_iter()
                .zip(mail_tls::free_ports(Listener::ALL.len()))
                .collect();
            write_main_cf(self.dir.path());
            write_master_cf(self.dir.path(), &self.ports);
            std::fs::write(self.dir.path().join("maillog"), "").expect("reset the maillog");
            match self.try_start() {
                Ok(()) => return,
                Err(log) if attempt < 3 && log.contains("Address already in use") => {
                    self.stop();
                }
                Err(log) => panic!(
                    "Postfix in {} did not start: {log}",
                    self.dir.path().display()
                ),
            }
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let out = Command::new("postfix")
            .arg("-c")
            .arg(self.conf_dir())
            .arg("start")
            .output()
            .map_err(|e| format!("cannot run postfix: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`postfix -c {} start` failed: {}{}\nmaillog:\n{}",
                self.conf_dir().display(),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                self.maillog()
            ));
        }
        self.wait_until_ready()
    }

    /// Wait until every listener greets with 220 (through TLS for implicit TLS), failing at
    /// once on a `fatal:` or `panic:` in the log: a bad `-o` kills smtpd and clients would hang.
    fn wait_until_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let tls = tls_client_config(self.ca_file());
        let mut waiting: Vec<Listener> = Listener::ALL.to_vec();
        while !waiting.is_empty() {
            self.check_log()?;
            waiting.retain(|&l| greeting(self.addr(l), l.implicit_tls().then_some(&tls)).is_err());
            if Instant::now() > deadline {
                let why: Vec<String> = waiting
                    .iter()
                    .map(|&l| {
                        let tls = l.implicit_tls().then_some(&tls);
                        let err = greeting(self.addr(l), tls).err().unwrap_or_default();
                        format!("{l:?} {}: {err}", self.addr(l))
                    })
                    .collect();
                return Err(format!(
                    "listeners not answering 220 after 30 s: {}\nmaillog:\n{}",
                    why.join("; "),
                    self.maillog()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.check_log()?;
        self.check_master_alive()
    }

    /// The 220s above must come from this instance: its master must still be running (a master
    /// that failed to bind a port exits, and another server may hold that port).
    fn check_master_alive(&self) -> Result<(), String> {
        match self.master_pid() {
            Some(pid) if process_alive(pid) => Ok(()),
            pid => Err(format!(
                "the Postfix master ({pid:?}) is not running after start-up\nmaillog:\n{}",
                self.maillog()
            )),
        }
    }

    fn check_log(&self) -> Result<(), String> {
        let log = self.maillog();
        if log.contains("fatal:") || log.contains("panic:") {
            return Err(format!("Postfix logged a fatal error:\n{log}"));
        }
        Ok(())
    }

    /// `postfix stop`, then SIGKILL the master by PID if it is still there.
    fn stop(&self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(self.conf_dir())
            .arg("stop")
            .output();
        let Some(pid) = self.master_pid() else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if process_alive(pid) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    fn master_pid(&self) -> Option<u32> {
        let pid_file = self.dir.path().join("queue/pid/master.pid");
        std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A fresh `/var/tmp/mailauth-postfix-XXXX` (Postfix only logs under /var by default), readable
/// by the `postfix` user, with the directories the recipe needs.
fn instance_dir() -> tempfile::TempDir {
    // The master opens data/master.lock as the postfix user, which must traverse the dir.
    let dir = mail_tls::var_tmp_instance_dir("mailauth-postfix-");
    for sub in ["conf/sasl", "queue", "data", "ca", "sasldb"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("create instance subdirectory");
    }
    chown("postfix", &dir.path().join("data"));
    dir
}

/// sasldb with alice and a random password (written 0600 to `password`), and the smtpd SASL
/// application config pointing at it.
fn write_sasl(dir: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let password = random_password();
    let sasldb = dir.join("sasldb/sasldb2");
    let conf = format!(
        "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: {}\n",
        sasldb.display()
    );
    std::fs::write(dir.join("conf/sasl/smtpd.conf"), conf).expect("write smtpd.conf");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("password"))
        .expect("create the password file");
    file.write_all(password.as_bytes())
        .expect("write the password file");
    let (user, realm) = Postfix::USER.split_once('@').expect("USER has a realm");
    // -p reads the password from stdin, so it never appears in argv.
    super::run(
        Command::new("saslpasswd2")
            .args(["-c", "-p", "-f"])
            .arg(&sasldb)
            .args(["-u", realm, user]),
        password.as_bytes(),
    );
    // Outside conf/ so `postfix check` does not warn that conf holds a file root does not own.
    chown("postfix", &sasldb);
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// main.cf: the hardened defaults every listener starts from.
fn write_main_cf(dir: &Path) {
    let d = dir.display();
    let main_cf = format!(
        "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
myhostname = {host}
mydestination = $myhostname, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
alias_maps =
alias_database =
maillog_file = {d}/maillog
smtpd_peername_lookup = no
default_transport = discard
smtpd_banner = $myhostname ESMTP
smtpd_helo_required = yes
disable_vrfy_command = yes
smtpd_tls_chain_files = {d}/conf/key.pem, {d}/conf/cert.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_sasl_auth_enable = no
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {d}/conf/sasl
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
",
        host = Postfix::HOSTNAME
    );
    std::fs::write(dir.join("conf/main.cf"), main_cf).expect("write main.cf");
}

/// master.cf: one smtpd per listener, then the internal services, none chrooted (the instance
/// has no chroot tree).
fn write_master_cf(dir: &Path, ports: &BTreeMap<Listener, u16>) {
    let mut master = String::new();
    for (listener, port) in ports {
        master.push_str(&format!("127.0.0.1:{port} inet n - n - - smtpd\n"));
        for o in listener.overrides() {
            master.push_str(&format!("  -o {o}\n"));
        }
    }
    master.push_str(INTERNAL_SERVICES);
    std::fs::write(dir.join("conf/master.cf"), master).expect("write master.cf");
}

/// The internal services of Debian's master.cf.dist, chroot column `n`.
const INTERNAL_SERVICES: &str = "\
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
local      unix  - n n -     - local
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
";

/// The test zone: example.test's MX is mx.example.test at 127.0.0.1.
fn zone_text() -> String {
    format!(
        "; The zone the SMTP tests resolve through: the private Postfix answers for example.test.
$ORIGIN example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
@ IN MX 10 {host}.
ns1 IN A 127.0.0.1
{host}. IN A 127.0.0.1
",
        host = Postfix::HOSTNAME
    )
}
