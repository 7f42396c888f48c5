//! Commands about the command line itself: shell completion scripts (`mailauth completions`) and
//! the manual page (`mailauth man`), both generated from the same clap definition the parser
//! uses, so they cannot drift from the real flags. Installing them is left to the user or the
//! package; these commands only print.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Outcome};

/// `mailauth completions SHELL`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailauth completions bash > /etc/bash_completion.d/mailauth
  mailauth completions zsh > \"${fpath[1]}/_mailauth\"
  mailauth completions fish > ~/.config/fish/completions/mailauth.fish
  mailauth completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `mailauth man [COMMAND]`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mailauth man | man -l -                  # read it now
  mailauth man > /usr/local/share/man/man1/mailauth.1
  mailauth man check > mailauth-check.1    # one command's page")]
pub struct ManArgs {
    /// Write this command's own page (e.g. `check`) instead of the top-level page, which lists
    /// every command.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// Print the completion script for `args.shell` on stdout.
pub fn completions(args: CompletionsArgs) -> Result<Outcome> {
    let mut command = Cli::command();
    // Into a buffer first: clap_complete panics on a failed write (e.g. a closed pipe), while
    // our own write reports it, and a broken pipe then exits 0 like every other command.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mailauth", &mut script);
    print(&script).context("writing the completion script")?;
    Ok(Outcome::Success)
}

/// Print the manual page (roff) on stdout.
pub fn man(args: ManArgs) -> Result<Outcome> {
    let mut command = Cli::command();
    command.build();
    let page = match &args.command {
        None => clap_mangen::Man::new(command).title("MAILAUTH"),
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                bail!("mailauth man {name}: no such command; `mailauth --help` lists them");
            };
            let full = format!("mailauth-{}", sub.get_name());
            let sub = sub.clone().display_name(full.clone());
            clap_mangen::Man::new(sub).title(full.to_ascii_uppercase())
        }
    };
    let page = page.source(format!("mailauth {}", env!("CARGO_PKG_VERSION")));
    let mut roff = Vec::new();
    page.render(&mut roff)
        .context("rendering the manual page")?;
    print(&roff).context("writing the manual page")?;
    Ok(Outcome::Success)
}

fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}
