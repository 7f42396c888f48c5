//! `mailauth audit sendmail`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::GlobalArgs;
use mailauth::audit::{AuditReport, sendmail};

/// Arguments of `mailauth audit sendmail`.
#[derive(Debug, Args)]
#[command(after_help = "\
Reads sendmail.mc (m4: define(`confAUTH_OPTIONS', `A p y')dnl, FEATURE(...), dnl comments) or \
the generated sendmail.cf (O AuthOptions=..., O PrivacyOptions=..., O ServerSSLOptions=...) and \
reports: AuthOptions without p (sendmail.auth_options_missing_p) or y \
(sendmail.auth_options_missing_y), relay FEATUREs such as promiscuous_relay, relay_local_from, \
loose_relay_check, relay_based_on_MX (sendmail.promiscuous_relay), ServerSSLOptions leaving \
SSLv3/TLS 1.0/1.1 on (sendmail.tls_srv_options_legacy), PrivacyOptions without goaway or \
noexpn+novrfy (sendmail.privacy_options_weak), and no server certificate \
(sendmail.tls_cert_missing).

FEATUREs exist only in the .mc; a .cf shows them only through m4's $Id comments, and the \
report says when those are missing. Prefer the .mc.

Exit status: 0 no errors, 1 some error finding, 2 bad input (unreadable file, unterminated m4 \
quote, with file:line).

Examples:
  mailauth audit sendmail --config /etc/mail/sendmail.mc
  mailauth audit sendmail --config /etc/mail/sendmail.cf --json")]
pub struct SendmailArgs {
    /// sendmail.mc or sendmail.cf (default: /etc/mail/sendmail.mc, else /etc/mail/sendmail.cf).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(_global: &GlobalArgs, args: SendmailArgs) -> Result<AuditReport> {
    let path = args.config.unwrap_or_else(sendmail::default_path);
    sendmail::audit_file(&path).with_context(|| format!("cannot audit {}", path.display()))
}
