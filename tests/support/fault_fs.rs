//! Local file-system faults for the mailauth processes a test runs: a directory made read-only
//! for one run ([`read_only`]), or a directory on a small tmpfs that a test fills and empties
//! ([`SmallDisk`]). Both live in a private mount namespace (`unshare --mount`), so nothing
//! outside the test's processes sees them and nothing outlives the test; they need root (CI
//! runs as root) and util-linux's `unshare` and `nsenter`. Mounting is the only way to make a
//! directory unwritable for root, which ignores permission bits.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::cmd::TestCommand;

/// Whether this process can make mount namespaces (root with unshare and nsenter); otherwise
/// reports why, which fails the test in CI.
pub fn available() -> bool {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    if !root {
        super::skip_or_fail("mount namespaces for file-system faults need root");
        return false;
    }
    super::tool("unshare").is_some() && super::tool("nsenter").is_some()
}

/// `command` run with `dir` bind-mounted read-only over itself, in a mount namespace of its
/// own: every write under `dir` fails with EROFS, even for root.
pub fn read_only(command: TestCommand, dir: &Path) -> TestCommand {
    // `cd "$PWD"` again after mounting: a working directory inside `dir` still points below
    // the new mount until it is looked up afresh.
    command.wrapped(
        "unshare",
        [
            "--mount".as_ref(),
            "--propagation".as_ref(),
            "private".as_ref(),
            "sh".as_ref(),
            "-c".as_ref(),
            "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && cd \"$PWD\" && shift && exec \"$@\"".as_ref(),
            "sh".as_ref(),
            dir.as_os_str(),
        ],
    )
}

/// A tmpfs of [`SmallDisk::SIZE`] over a directory, in a mount namespace kept by a process that
/// lives as long as this value: what the test's commands write there persists across runs, and
/// vanishes with the namespace when the test ends (however it ends).
#[derive(Debug)]
pub struct SmallDisk {
    holder: Child,
    dir: PathBuf,
}

/// The file that fills the disk.
const FILLER: &str = ".filler";

impl SmallDisk {
    /// The tmpfs size.
    pub const SIZE: usize = 1 << 20;

    /// Mount a fresh tmpfs (mode 0700) over `dir`, which must be an absolute path.
    pub fn mount(dir: &Path) -> SmallDisk {
        assert!(dir.is_absolute(), "{}", dir.display());
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o size={},mode=0700 tmpfs \"$1\" && echo ready && exec cat >/dev/null",
                Self::SIZE
            ))
            .arg("sh")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start unshare");
        let mut ready = String::new();
        let stdout = holder.stdout.take().expect("piped");
        let _ = BufReader::new(stdout).read_line(&mut ready);
        assert_eq!(
            ready.trim(),
            "ready",
            "the tmpfs over {} was not mounted",
            dir.display()
        );
        let disk = SmallDisk {
            holder,
            dir: dir.to_owned(),
        };
        assert!(disk.is_tmpfs(), "{} is not the small tmpfs", dir.display());
        disk
    }

    /// `path` (absolute) as the namespace sees it, for the test to read and write.
    pub fn view(&self, path: &Path) -> PathBuf {
        let relative = path.strip_prefix("/").expect("an absolute path");
        PathBuf::from(format!("/proc/{}/root", self.holder.id())).join(relative)
    }

    /// `command` run inside the namespace, in the command's own directory.
    pub fn run(&self, command: TestCommand) -> TestCommand {
        let dir = command
            .dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| std::env::current_dir().expect("the test's directory"));
        let ns = format!("--mount=/proc/{}/ns/mnt", self.holder.id());
        // The directory is entered after joining the namespace (nsenter's own --wd would
        // resolve it outside, below the tmpfs).
        command.wrapped(
            "nsenter",
            [
                ns.as_ref(),
                "--".as_ref(),
                "sh".as_ref(),
                "-c".as_ref(),
                "cd \"$1\" && shift && exec \"$@\"".as_ref(),
                "sh".as_ref(),
                dir.as_os_str(),
            ],
        )
    }

    /// Run `command` inside the namespace to the end, with the disk full when `full` (and
    /// emptied again after).
    pub fn run_full(&self, command: TestCommand, full: bool) -> super::cmd::CmdOutput {
        if full {
            self.fill();
        }
        let out = self.run(command).run();
        if full {
            self.empty();
        }
        out
    }

    /// Whether the directory is this tmpfs in the namespace: the mount table the namespace
    /// has lists it. Checked before filling, so a filler never lands on a real disk.
    fn is_tmpfs(&self) -> bool {
        let table = std::fs::read_to_string(format!("/proc/{}/mountinfo", self.holder.id()))
            .unwrap_or_default();
        let dir = self.dir.to_string_lossy();
        table.lines().any(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let fstype = line.split(" - ").nth(1).and_then(|t| t.split(' ').next());
            fields.get(4) == Some(&&*dir) && fstype == Some("tmpfs")
        })
    }

    /// Fill the tmpfs: every later write to it fails with ENOSPC. Bounded by its size.
    pub fn fill(&self) {
        assert!(
            self.is_tmpfs(),
            "refusing to fill {}: not the tmpfs",
            self.dir.display()
        );
        let mut filler = std::fs::File::create(self.view(&self.dir.join(FILLER))).expect("filler");
        let chunk = vec![0u8; 64 << 10];
        for _ in 0..=Self::SIZE / chunk.len() {
            if filler.write_all(&chunk).is_err() {
                return;
            }
        }
        panic!("a {} byte tmpfs took more than its size", Self::SIZE);
    }

    /// Make room again.
    pub fn empty(&self) {
        std::fs::remove_file(self.view(&self.dir.join(FILLER))).expect("remove the filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Its stdin closes, `cat` ends, and the namespace with its tmpfs goes.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
