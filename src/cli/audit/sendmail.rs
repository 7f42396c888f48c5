//! `mailauth audit sendmail`.

use anyhow::{Result, bail};
use clap::Args;

use crate::audit::AuditReport;
use crate::cli::GlobalArgs;

/// Arguments of `mailauth audit sendmail`.
#[derive(Debug, Args)]
pub struct SendmailArgs {}

pub fn run(_global: &GlobalArgs, _args: SendmailArgs) -> Result<AuditReport> {
    bail!("mailauth audit sendmail is not built yet")
}
