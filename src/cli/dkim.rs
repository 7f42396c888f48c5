//! `mailauth sign` and `mailauth verify`. (skeleton)

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{GlobalArgs, Outcome};

/// Arguments of `mailauth sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The message to sign (`-` for stdin).
    pub file: PathBuf,
}

/// Arguments of `mailauth verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The message to verify (`-` for stdin).
    pub file: PathBuf,
}

pub fn sign(_global: &GlobalArgs, _args: SignArgs) -> Result<Outcome> {
    anyhow::bail!("sign: not yet built")
}

pub async fn verify(_global: &GlobalArgs, _args: VerifyArgs) -> Result<Outcome> {
    anyhow::bail!("verify: not yet built")
}
