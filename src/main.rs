//! The `mailauth` command: parse, run, map the outcome to an exit code. The command line lives in
//! the binary (module `cli`), so the library builds without clap, anyhow or indicatif.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
