//! `mailauth probe`: connect to mail servers as an outsider and report what they allow.

use anyhow::{Result, bail};
use clap::Args;

use super::{GlobalArgs, Outcome};

/// Arguments of `mailauth probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Servers to probe, HOST[:PORT] (port 25 by default).
    pub targets: Vec<String>,
}

pub async fn probe(_global: &GlobalArgs, _args: ProbeArgs) -> Result<Outcome> {
    bail!("mailauth probe is not built yet")
}
