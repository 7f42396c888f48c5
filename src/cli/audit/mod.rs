//! `mailauth audit postfix|exim|sendmail|exchange`: read an MTA's configuration and report what it
//! would allow. One file per MTA turns its flags into the library's audit call; rendering and exit
//! codes are shared here.

mod exchange;
mod exim;
mod postfix;
mod sendmail;

use anyhow::Result;
use clap::Subcommand;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::audit::AuditReport;
use mailauth::report::Report;

/// `mailauth audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit Postfix through postconf (main.cf, master.cf and every listener's -o overrides).
    Postfix(postfix::PostfixArgs),
    /// Audit Exim (exim -bP or its configuration file).
    Exim(exim::EximArgs),
    /// Audit Sendmail (sendmail.mc or sendmail.cf).
    Sendmail(sendmail::SendmailArgs),
    /// Audit Microsoft Exchange receive connectors (JSON from Get-ReceiveConnector).
    Exchange(exchange::ExchangeArgs),
}

pub fn audit(global: &GlobalArgs, command: AuditCommand) -> Result<Outcome> {
    let report = match command {
        AuditCommand::Postfix(args) => postfix::run(global, args)?,
        AuditCommand::Exim(args) => exim::run(global, args)?,
        AuditCommand::Sendmail(args) => sendmail::run(global, args)?,
        AuditCommand::Exchange(args) => exchange::run(global, args)?,
    };
    render(global, &report)?;
    Ok(if report.has_errors() {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// Print an audit report: JSON with `--json`, else the same text layout as `check`.
fn render(global: &GlobalArgs, report: &AuditReport) -> Result<()> {
    if global.json {
        return print_json(&serde_json::to_value(report)?);
    }
    let as_report = Report {
        domain: report.source.clone(),
        findings: report.findings.clone(),
        dns_failed: false,
    };
    super::check::write_text(&mut std::io::stdout().lock(), &as_report)
}
