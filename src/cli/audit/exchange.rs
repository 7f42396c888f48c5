//! `mailauth audit exchange`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::GlobalArgs;
use mailauth::audit::{AuditReport, exchange};

/// Arguments of `mailauth audit exchange`.
#[derive(Debug, Args)]
// The PowerShell lines must stay whole to be copied: no wrapping for this help.
#[command(
    term_width = 0,
    after_help = "\
Reads the receive connectors exported from the Exchange Management Shell and reports: anonymous \
relay open to every address (exchange.open_relay), anonymous relay from ranges wider than a /16 \
(exchange.anonymous_relay_unscoped), BasicAuth without BasicAuthRequireTLS \
(exchange.basic_auth_without_tls), a port 587 / Client connector without RequireTLS \
(exchange.tls_not_required), the version in the banner (exchange.banner_version), and \
AuthMechanism without Tls (exchange.tls_disabled).

Produce the input files in the Exchange Management Shell:
  Get-ReceiveConnector | ConvertTo-Json -Depth 4 | Set-Content -Encoding UTF8 receive-connectors.json
  Get-ReceiveConnector | Get-ADPermission | Where-Object { $_.ExtendedRights -like \"ms-Exch-SMTP-Accept-Any-Recipient\" } | Select-Object @{n='Identity';e={\"$($_.Identity)\"}}, @{n='User';e={\"$($_.User)\"}}, @{n='ExtendedRights';e={\"$($_.ExtendedRights)\"}}, Deny, IsInherited | ConvertTo-Json -Depth 4 | Set-Content -Encoding UTF8 permissions.json
Files from Out-File (UTF-16) are read too. Without --permissions the anonymous relay grant \
(ms-Exch-SMTP-Accept-Any-Recipient for NT AUTHORITY\\ANONYMOUS LOGON) cannot be seen; only \
ExternalAuthoritative connectors are then checked for relay.

Exit status: 0 no errors, 1 some error finding, 2 bad input (unreadable or truncated JSON, \
with file:line).

Examples:
  mailauth audit exchange --receive-connectors receive-connectors.json
  mailauth audit exchange --receive-connectors receive-connectors.json --permissions permissions.json --json"
)]
pub struct ExchangeArgs {
    /// JSON of `Get-ReceiveConnector | ConvertTo-Json -Depth 4`.
    #[arg(long, value_name = "FILE")]
    pub receive_connectors: PathBuf,
    /// JSON of the ms-Exch-SMTP-Accept-Any-Recipient entries of `Get-ADPermission`.
    #[arg(long, value_name = "FILE")]
    pub permissions: Option<PathBuf>,
}

pub fn run(_global: &GlobalArgs, args: ExchangeArgs) -> Result<AuditReport> {
    exchange::audit_files(&args.receive_connectors, args.permissions.as_deref())
        .context("cannot audit the Exchange receive connectors")
}
