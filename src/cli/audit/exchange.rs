//! `mailauth audit exchange`.

use anyhow::{Result, bail};
use clap::Args;

use crate::audit::AuditReport;
use crate::cli::GlobalArgs;

/// Arguments of `mailauth audit exchange`.
#[derive(Debug, Args)]
pub struct ExchangeArgs {}

pub fn run(_global: &GlobalArgs, _args: ExchangeArgs) -> Result<AuditReport> {
    bail!("mailauth audit exchange is not built yet")
}
