//! The `mailauth` command: parse, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    mailauth::cli::main()
}
