//! One way to run a command in the CLI tests: a builder for the program, its arguments,
//! environment, stdin and working directory, and an output whose assertions print the whole
//! command line, stdout and stderr when they fail, so a failing exit code explains itself.
//!
//! ```ignore
//! let out = mailauth().current_dir(dir).args(["--json", "check", "good.test"]).run();
//! out.assert_exit(0);
//! assert_eq!(out.json()["domain"], "good.test");
//! ```

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The built `mailauth` executable, ready for arguments (run in the test's own directory unless
/// `current_dir` says otherwise).
pub fn mailauth() -> TestCommand {
    TestCommand::new(env!("CARGO_BIN_EXE_mailauth"))
}

/// A command to run once or many times (it is `Clone`, so a base command can be extended).
#[derive(Debug, Clone)]
pub struct TestCommand {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
}

impl TestCommand {
    /// Run `program` (a path, or a name looked up on PATH).
    pub fn new(program: impl Into<PathBuf>) -> TestCommand {
        TestCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            dir: None,
        }
    }

    /// Add one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> TestCommand {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Add arguments.
    pub fn args<I, S>(mut self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Set an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> TestCommand {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Remove an environment variable the test process has.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> TestCommand {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Feed these bytes on stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> TestCommand {
        self.stdin = Some(bytes.into());
        self
    }

    /// Run in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> TestCommand {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// The directory it runs in, when set.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The same command run by `program` with `args` before it (`unshare ... sh -c ...`): the
    /// environment and directory are kept.
    pub fn wrapped<I, S>(mut self, program: impl Into<PathBuf>, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        all.push(self.program.into_os_string());
        all.append(&mut self.args);
        self.program = program.into();
        self.args = all;
        self
    }

    /// The command as a shell-like line, for failure messages.
    pub fn describe(&self) -> String {
        let mut line = String::new();
        if let Some(dir) = &self.dir {
            line.push_str(&format!("(cd {} && ", dir.display()));
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => line.push_str(&format!(
                    "{}={} ",
                    key.to_string_lossy(),
                    value.to_string_lossy()
                )),
                None => line.push_str(&format!("-u {} ", key.to_string_lossy())),
            }
        }
        line.push_str(&self.program.display().to_string());
        for arg in &self.args {
            line.push_str(&format!(" {:?}", arg.to_string_lossy()));
        }
        if self.dir.is_some() {
            line.push(')');
        }
        line
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Run to completion and collect its output. Panics only when it cannot be started.
    pub fn run(&self) -> CmdOutput {
        let description = self.describe();
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {description}: {e}"));
        let mut input = child.stdin.take().expect("stdin is piped");
        let bytes = self.stdin.clone().unwrap_or_default();
        // A writer thread: a child that fills its stdout pipe before reading all of stdin
        // would otherwise deadlock against us.
        let writer = std::thread::spawn(move || input.write_all(&bytes));
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("cannot wait for {description}: {e}"));
        let _ = writer.join();
        CmdOutput {
            description,
            output,
        }
    }

    /// Start it in the background with an empty stdin, for tests that run two at once; its
    /// output is collected by [`Running::wait`] (so it must print less than a pipe holds before
    /// then, as a command's report does).
    pub fn spawn(&self) -> Running {
        let description = self.describe();
        let mut command = self.command();
        command.stdin(Stdio::null());
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {description}: {e}"));
        Running { description, child }
    }
}

/// A command started with [`TestCommand::spawn`]. Dropping it kills the process, so a failing
/// test leaves nothing running.
#[derive(Debug)]
pub struct Running {
    description: String,
    child: std::process::Child,
}

impl Running {
    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited already.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|status| status.is_some())
    }

    /// Kill it with SIGKILL, as `kill -9` does, and reap it; [`Running::wait`] then collects
    /// what it printed (once the children it left, which share its output, have exited).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for it to exit and collect its output.
    pub fn wait(mut self) -> CmdOutput {
        self.finish()
    }

    fn finish(&mut self) -> CmdOutput {
        let mut output = Output {
            status: self
                .child
                .wait()
                .unwrap_or_else(|e| panic!("cannot wait for {}: {e}", self.description)),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        use std::io::Read as _;
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_end(&mut output.stdout);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_end(&mut output.stderr);
        }
        CmdOutput {
            description: self.description.clone(),
            output,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already reaped when waited for; otherwise a test failed with it running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The watchdog of [`TestCommand::run_bounded`], in seconds: coarse and generous (a debug build
/// on a loaded machine), so it only ever fires on a hang, never on a slow run.
pub const WATCHDOG_SECS: u64 = 120;

impl TestCommand {
    /// Run to completion under a memory meter and a watchdog: GNU `time` reads the peak RSS
    /// from the rusage `wait4` returns (which covers the program, the only large process under
    /// it), and `timeout` ends the program after [`WATCHDOG_SECS`], which fails the test as a
    /// hang. The program's own stdout, stderr and exit code are kept as they are.
    pub fn run_bounded(&self) -> BoundedOutput {
        let meter = tempfile::NamedTempFile::new().expect("a temporary file for time's report");
        let mut wrapped = self.clone();
        wrapped.program = PathBuf::from("/usr/bin/time");
        wrapped.args = ["-q", "-f", "maxrss_kib=%M", "-o"]
            .iter()
            .map(OsString::from)
            .chain([meter.path().as_os_str().to_owned()])
            .chain(["timeout", "-k", "10"].iter().map(OsString::from))
            .chain([
                OsString::from(WATCHDOG_SECS.to_string()),
                self.program.clone().into_os_string(),
            ])
            .chain(self.args.iter().cloned())
            .collect();
        let out = wrapped.run();
        // `timeout` exits 124 when it had to stop the program (137 when TERM was not enough).
        if matches!(out.code(), Some(124 | 137)) {
            panic!(
                "watchdog: still running after {WATCHDOG_SECS} s, killed (a hang)\n{}",
                out.dump()
            );
        }
        let report = std::fs::read_to_string(meter.path()).unwrap_or_default();
        let peak_rss_kib = report
            .lines()
            .find_map(|l| l.strip_prefix("maxrss_kib="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no peak RSS from time ({report:?})\n{}", out.dump()));
        // Shown with --nocapture: the numbers a bound was checked against.
        eprintln!("peak RSS {peak_rss_kib} KiB: {}", self.describe());
        BoundedOutput { out, peak_rss_kib }
    }
}

/// A [`TestCommand::run_bounded`] run: its output and the program's peak resident memory.
#[derive(Debug)]
pub struct BoundedOutput {
    /// What the program printed and how it exited.
    pub out: CmdOutput,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

impl BoundedOutput {
    /// Panic, with the whole run, unless the peak RSS stayed below `bound_kib`; `why` says what
    /// the bound stands for.
    pub fn assert_peak_rss_below(&self, bound_kib: u64, why: &str) -> &BoundedOutput {
        assert!(
            self.peak_rss_kib < bound_kib,
            "peak RSS {} KiB is not below {bound_kib} KiB ({why})\n{}",
            self.peak_rss_kib,
            self.out.dump()
        );
        self
    }
}

/// What a finished command produced.
#[derive(Debug)]
pub struct CmdOutput {
    description: String,
    /// The raw output.
    pub output: Output,
}

impl CmdOutput {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// stdout as bytes.
    pub fn stdout(&self) -> &[u8] {
        &self.output.stdout
    }

    /// stdout as text (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// stderr as bytes.
    pub fn stderr(&self) -> &[u8] {
        &self.output.stderr
    }

    /// stderr as text (lossy).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// stdout as one JSON document; panics with the whole run if it is not one.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.dump()))
    }

    /// stdout as JSON Lines, one value per non-empty line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout_str()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{l:?} is not JSON ({e}):\n{}", self.dump()))
            })
            .collect()
    }

    /// Panic, showing the command, its exit status, stdout and stderr, unless it exited `code`.
    pub fn assert_exit(&self, code: i32) -> &CmdOutput {
        if self.code() != Some(code) {
            panic!(
                "expected exit {code}, got {:?}\n{}",
                self.code(),
                self.dump()
            );
        }
        self
    }

    /// The command line, exit status, stdout and stderr, for a failure message.
    pub fn dump(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.description,
            self.output.status,
            self.stdout_str(),
            self.stderr_str()
        )
    }
}
