//! `mailauth audit postfix`: flags to a [`PostfixConfig`] (through postconf, or the files), then
//! the library's audit.

use mailauth_base::DomainName;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::GlobalArgs;
use mailauth::audit::AuditReport;
use mailauth::audit::postfix::{self, DkimExpectation, PostfixConfig};
use mailauth::keys::KeyStore;

/// Arguments of `mailauth audit postfix`.
#[derive(Debug, Args)]
#[command(after_help = "\
Reads Postfix's effective configuration and reports what the server would allow: relaying \
(smtpd_relay_restrictions, smtpd_recipient_restrictions, mynetworks), SMTP AUTH \
(smtpd_tls_auth_only, smtpd_sasl_security_options, AUTH on port 25), TLS per listener \
(security level, smtpd_tls_protocols / smtpd_tls_mandatory_protocols, certificate files), \
client rate limits, VRFY, HELO and the banner. Every smtpd listener of master.cf is checked \
with its own -o overrides, which can undo a hardened main.cf; each finding names main.cf or the \
master.cf listener, the value found, the secure value and its postconf(5) entry.

The configuration is read with `postconf -c DIR -n`, `-d`, `-F` and `-P`; where postconf is not \
installed, or with --main-cf and --master-cf, the files are parsed directly against the \
defaults of Postfix 3.7. With --domain, the DKIM path is checked too: smtpd_milters and \
non_smtpd_milters must hand mail to a signer, and with --keytable the OpenDKIM KeyTable must \
list the selectors active in the key store (its rotation state, else its keys).

Exit status: 0 no error finding, 1 some error finding, 2 the configuration could not be read.

Examples:
  mailauth audit postfix
  mailauth audit postfix --config-dir /etc/postfix --json
  mailauth audit postfix --main-cf main.cf --master-cf master.cf
  mailauth audit postfix --domain example.com --key-dir keys --keytable /etc/opendkim/KeyTable")]
pub struct PostfixArgs {
    /// Postfix configuration directory, read through `postconf -c DIR`.
    #[arg(long, value_name = "DIR", default_value = "/etc/postfix")]
    pub config_dir: PathBuf,
    /// Parse this main.cf directly instead of asking postconf (needs --master-cf).
    #[arg(long, value_name = "FILE", requires = "master_cf")]
    pub main_cf: Option<PathBuf>,
    /// Parse this master.cf directly instead of asking postconf (needs --main-cf).
    #[arg(long, value_name = "FILE", requires = "main_cf")]
    pub master_cf: Option<PathBuf>,
    /// Also check the DKIM signing path for this domain.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<DomainName>,
    /// Key store holding the domain's keys and rotation state.
    #[arg(long, value_name = "DIR", default_value = "keys", requires = "domain")]
    pub key_dir: PathBuf,
    /// OpenDKIM KeyTable to compare with the active selectors.
    #[arg(long, value_name = "FILE", requires = "domain")]
    pub keytable: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: PostfixArgs) -> Result<AuditReport> {
    let config = read(global, &args)?;
    let dkim = match &args.domain {
        Some(domain) => Some(expectation(domain, &args)?),
        None => None,
    };
    Ok(postfix::audit(&config, dkim.as_ref())?)
}

/// The files when named, else postconf, else the files in --config-dir.
fn read(global: &GlobalArgs, args: &PostfixArgs) -> Result<PostfixConfig> {
    if let (Some(main_cf), Some(master_cf)) = (&args.main_cf, &args.master_cf) {
        return Ok(postfix::files::read(main_cf, master_cf)?);
    }
    match postfix::postconf::find() {
        Some(postconf) => {
            global.note(format_args!(
                "reading the configuration with {}",
                postconf.display()
            ));
            Ok(postfix::postconf::read(&postconf, &args.config_dir)
                .context("run as a user who may read the Postfix configuration, or use --main-cf FILE --master-cf FILE")?)
        }
        None => {
            eprintln!(
                "mailauth: postconf is not installed; parsing {}/main.cf and master.cf against \
                 Postfix 3.7 defaults",
                args.config_dir.display()
            );
            Ok(postfix::files::read(
                &args.config_dir.join("main.cf"),
                &args.config_dir.join("master.cf"),
            )?)
        }
    }
}

fn expectation(domain: &str, args: &PostfixArgs) -> Result<DkimExpectation> {
    let store = KeyStore::new(&args.key_dir);
    let active_selectors = postfix::dkim::active_selectors(&store, domain)
        .with_context(|| format!("reading {domain}'s keys in {}", args.key_dir.display()))?;
    Ok(DkimExpectation {
        domain: domain.to_owned(),
        active_selectors,
        keytable: args.keytable.clone(),
    })
}
