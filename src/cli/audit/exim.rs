//! `mailauth audit exim`.

use anyhow::{Result, bail};
use clap::Args;

use crate::audit::AuditReport;
use crate::cli::GlobalArgs;

/// Arguments of `mailauth audit exim`.
#[derive(Debug, Args)]
pub struct EximArgs {}

pub fn run(_global: &GlobalArgs, _args: EximArgs) -> Result<AuditReport> {
    bail!("mailauth audit exim is not built yet")
}
