//! `mailauth keygen`. OWNED BY THE KEYS WORK (skeleton).

use anyhow::Result;
use clap::Args;

use super::{GlobalArgs, Outcome};

/// Arguments of `mailauth keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The domain the key signs for (the `d=` of signatures).
    pub domain: String,
}

pub fn run(_global: &GlobalArgs, _args: KeygenArgs) -> Result<Outcome> {
    anyhow::bail!("keygen: not yet built")
}
