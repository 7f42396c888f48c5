//! `mailauth audit postfix`.

use anyhow::{Result, bail};
use clap::Args;

use crate::audit::AuditReport;
use crate::cli::GlobalArgs;

/// Arguments of `mailauth audit postfix`.
#[derive(Debug, Args)]
pub struct PostfixArgs {}

pub fn run(_global: &GlobalArgs, _args: PostfixArgs) -> Result<AuditReport> {
    bail!("mailauth audit postfix is not built yet")
}
