//! A real, private Exim daemon for the SMTP tests, run from the Debian packages unpacked into
//! /opt/mailauth-exim by `.ci/install-deps` (exim4-daemon-light conflicts with postfix, so it is
//! not installed system-wide). Each instance has its own configuration (`-C`), spool, log,
//! certificate and password under a fresh temp dir, listens on 127.0.0.1 on a free port, runs in
//! the foreground (`-bdf`) and is killed by PID on drop. Two profiles: [`EximProfile::Hardened`]
//! and [`EximProfile::Open`]; what a probe concludes about them belongs to the tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mail_tls::{self, chown, greeting, running_as_root};

/// The Exim binary of the private prefix.
pub const BINARY: &str = "/opt/mailauth-exim/usr/sbin/exim4";
/// The user the Debian build of Exim runs as (compiled in).
const EXIM_USER: &str = "Debian-exim";

/// How the instance is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EximProfile {
    /// Relay only for authenticated clients, AUTH advertised only after STARTTLS, TLS 1.2+
    /// (`tls_require_ciphers`), banner without a version.
    Hardened,
    /// An open relay: `relay_from_hosts = *`, every recipient accepted, AUTH offered in clear.
    Open,
}

/// A running private Exim.
#[derive(Debug)]
pub struct Exim {
    child: Child,
    addr: SocketAddr,
    ca: PathBuf,
    password: PathBuf,
    dir: tempfile::TempDir,
}

impl Exim {
    /// The SASL user the PLAIN authenticator accepts (password in [`Exim::password_file`]).
    pub const USER: &'static str = "alice@mx.example.test";

    /// Start an instance; `None` only outside CI when the private Exim or root is missing.
    pub fn start(profile: EximProfile) -> Option<Exim> {
        if !Path::new(BINARY).is_file() {
            super::skip_or_fail(&format!(
                "{BINARY} is missing (run `bash .ci/install-deps`)"
            ));
            return None;
        }
        super::tool("openssl")?;
        if !running_as_root() {
            super::skip_or_fail("a private Exim daemon needs root (it switches to Debian-exim)");
            return None;
        }
        let dir = instance_dir();
        let certs = mail_tls::write_certificates(dir.path(), dir.path());
        chown(EXIM_USER, &certs.key);
        let password = write_password(dir.path());
        let _ports = mail_tls::lock_ports();
        let port = mail_tls::free_ports(1)[0];
        let conf = dir.path().join("exim.conf");
        std::fs::write(&conf, config(profile, dir.path(), &password)).expect("write exim.conf");
        let child = spawn(&conf, port, dir.path());
        let mut exim = Exim {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ca: certs.ca,
            password,
            dir,
        };
        exim.wait_until_ready();
        Some(exim)
    }

    /// Where it listens (127.0.0.1:PORT).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM CA that issued the server certificate (for `--ca`).
    pub fn ca_file(&self) -> &Path {
        &self.ca
    }

    /// A file (mode 0600) holding [`Exim::USER`]'s password, without a newline.
    pub fn password_file(&self) -> &Path {
        &self.password
    }

    /// The main and reject logs, concatenated.
    pub fn log(&self) -> String {
        let logs = self.dir.path().join("log");
        ["mainlog", "rejectlog", "paniclog"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(logs.join(name)).ok())
            .collect::<Vec<_>>()
            .join("")
            + &std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Exim on {} exited ({status}):\n{}", self.addr, self.log());
            }
            match greeting(self.addr, None) {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!(
                        "Exim on {} did not greet in 15 s: {e}\n{}",
                        self.addr,
                        self.log()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh /var/tmp/mailauth-exim-XXXX with spool and log dirs the Exim user owns.
fn instance_dir() -> tempfile::TempDir {
    // Exim's connection processes run as Debian-exim and must reach spool/ and log/.
    let dir = mail_tls::var_tmp_instance_dir("mailauth-exim-");
    for sub in ["spool", "log"] {
        let path = dir.path().join(sub);
        std::fs::create_dir(&path).expect("create instance subdirectory");
        chown(EXIM_USER, &path);
    }
    dir
}

/// A random password in a 0600 file only the Exim user can read (the authenticator reads it
/// with `${readfile}`, so it is never in the configuration or argv).
fn write_password(dir: &Path) -> PathBuf {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("random bytes");
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join("password");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .expect("create the password file");
    file.write_all(password.as_bytes())
        .expect("write the password file");
    chown(EXIM_USER, &path);
    path
}

/// `exim4 -C CONF -bdf -oX PORT`: a foreground daemon on 127.0.0.1:PORT only
/// (`local_interfaces` in the configuration), no queue runner.
fn spawn(conf: &Path, port: u16, dir: &Path) -> Child {
    let stderr = std::fs::File::create(dir.join("stderr")).expect("create the stderr log");
    Command::new(BINARY)
        .arg("-C")
        .arg(conf)
        .args(["-bdf", "-oX", &port.to_string(), "-oP"])
        .arg(dir.join("exim.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start exim")
}

/// The whole configuration for `profile`.
fn config(profile: EximProfile, dir: &Path, password: &Path) -> String {
    let d = dir.display();
    let (relay_hosts, auth_hosts, rcpt_acl) = match profile {
        // AUTH only once TLS is up; relay only after AUTH.
        EximProfile::Hardened => (
            "",
            "${if eq{$tls_in_cipher}{}{}{*}}",
            "  accept authenticated = *\n  accept domains = +local_domains\n  \
             deny message = relay not permitted\n",
        ),
        EximProfile::Open => ("*", "*", "  accept\n"),
    };
    format!(
        "primary_hostname = {host}
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
local_interfaces = 127.0.0.1
keep_environment =
smtp_banner = $primary_hostname ESMTP
host_lookup =
rfc1413_hosts =
domainlist local_domains = {host}
hostlist relay_from_hosts = {relay_hosts}
tls_advertise_hosts = *
tls_certificate = {d}/cert.pem
tls_privatekey = {d}/key.pem
tls_require_ciphers = {tls_floor}
auth_advertise_hosts = {auth_hosts}
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
{rcpt_acl}
begin routers
blackhole:
  driver = redirect
  data = :blackhole:

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = {condition}
  server_set_id = $auth2
",
        host = mail_tls::SERVER_NAME,
        tls_floor = TLS_FLOOR,
        condition = plain_condition(password),
    )
}

/// The PLAIN authenticator's test: the user is [`Exim::USER`] and the password is the content
/// of the password file (`$auth2` is the authentication id, `$auth3` the password).
fn plain_condition(password: &Path) -> String {
    let file = password.display().to_string();
    [
        "${if and{{eq{$auth2}{",
        Exim::USER,
        "}}{eq{$auth3}{${readfile{",
        &file,
        "}}}}}}",
    ]
    .concat()
}

/// GnuTLS priority string (Debian's Exim uses GnuTLS): TLS 1.2 and 1.3 only.
const TLS_FLOOR: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
