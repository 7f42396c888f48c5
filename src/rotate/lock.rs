//! The per-domain lock that keeps two runs (`rotate`, `publish`, `dane next`; a cron run
//! overlapping a slow one) from advancing one domain at the same time: `DOMAIN/rotation.lock`
//! beside the rotation state, held with `flock` for as long as the [`DomainLock`] lives.
//!
//! The kernel's flock is the only thing that decides who holds the lock: it is released when its
//! holder exits, however it exits. The file's *contents* only describe the holder ([`LockHolder`]:
//! PID, host name, when it took the lock), written after the flock is taken and cleared when the
//! lock is dropped, so that a run that finds the lock taken can say who holds it, and a run that
//! takes a lock whose file still names a holder knows that holder died while holding it (killed,
//! crashed) and says that it recovered the lock. Recovery needs nothing more: every rotation step
//! is safe to repeat (see [`super::executor`]).
//!
//! The module does not decide what a held lock means for a command (skip the domain, or stop):
//! that is the caller's.

use std::fmt;
use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use mailauth_base::DomainName;
use serde::{Deserialize, Serialize};

use super::executor::RotateError;
use super::{Moment, RotationState};
use crate::keys::KeyStore;

/// Who holds (or held) a domain's lock, as written into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The holder's process ID.
    pub pid: u32,
    /// The host it runs on (a PID means nothing on another host sharing the key store).
    pub host: String,
    /// When it took the lock (UNIX seconds, the real clock: not `--now`).
    pub since: u64,
}

impl LockHolder {
    /// The holder for people and programs: the time in RFC 3339.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"pid": self.pid, "host": self.host, "since": Moment(self.since)})
    }
}

impl LockHolder {
    /// This process, now.
    pub fn current() -> LockHolder {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        LockHolder {
            pid: std::process::id(),
            host: host_name(),
            since,
        }
    }

    /// Whether the holder is known to be gone: on this host, with no such process. `false` when
    /// it cannot be told (another host).
    pub fn is_gone(&self) -> bool {
        self.host == host_name() && !Path::new("/proc").join(self.pid.to_string()).exists()
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PID {} on {}, since {}",
            self.pid,
            self.host,
            Moment(self.since)
        )
    }
}

/// The host name as the kernel has it; `unknown` where it cannot be read (the library does not
/// depend on a host-name crate: the command line's is optional).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A held domain lock; dropping it clears the holder and releases the flock.
#[derive(Debug)]
pub struct DomainLock {
    domain: DomainName,
    path: PathBuf,
    file: File,
    /// The holder the lock file still named when this run took it: a run that died holding it.
    recovered: Option<LockHolder>,
}

impl DomainLock {
    /// The domain this lock is for.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The holder of a lock left behind by a run that died holding it, if this run found one.
    pub fn recovered(&self) -> Option<&LockHolder> {
        self.recovered.as_ref()
    }
}

impl Drop for DomainLock {
    fn drop(&mut self) {
        // Cleared before the flock goes (with the file): a lock file that still names a holder
        // after its flock is free was left by a run that did not get here. Failing to clear it
        // only makes the next run report a recovery that was not needed.
        let _ = self.file.set_len(0);
    }
}

/// Take `domain`'s lock in `store`, or fail with [`RotateError::Locked`] naming the holder when
/// another run has it. Never waits.
pub fn lock_domain(store: &KeyStore, domain: &DomainName) -> Result<DomainLock, RotateError> {
    let path = RotationState::path(store, domain)?.with_file_name("rotation.lock");
    let lock_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RotateError::Lock { path, source }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(lock_error(&path))?;
    }
    // Not truncated on open: the holder's description is only replaced once the flock is ours.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(lock_error(&path))?;
    if file.try_lock().is_err() {
        return Err(RotateError::Locked {
            domain: domain.clone(),
            holder: read_holder(&mut file),
            lock: path,
        });
    }
    let recovered = read_holder(&mut file);
    // The description is for people; the flock alone is the lock. A description that cannot be
    // written (a full disk) leaves the file empty, "holder unknown" to another run, rather than
    // refusing work that needs no space (a publish) or that will report the full disk itself.
    if write_holder(&mut file, &LockHolder::current()).is_err() {
        let _ = file.set_len(0);
    }
    Ok(DomainLock {
        domain: domain.clone(),
        path,
        file,
        recovered,
    })
}

/// The holder the lock file names; `None` for an empty file (free, or from a version that wrote
/// none) or one being rewritten at this moment.
fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.rewind().ok()?;
    // A holder description is one short line; more is not ours.
    file.take(4096).read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(file: &mut File, holder: &LockHolder) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(holder).map_err(std::io::Error::other)?;
    line.push(b'\n');
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(&line)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, KeyStore, DomainName) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = KeyStore::new(dir.path().join("keys"));
        let domain = DomainName::parse("lock.test").expect("a name");
        (dir, store, domain)
    }

    #[test]
    fn a_second_taker_is_refused_naming_the_holder_and_the_lock_is_cleared_on_drop() {
        let (_dir, store, domain) = store();
        let held = lock_domain(&store, &domain).expect("free");
        assert!(held.recovered().is_none());
        match lock_domain(&store, &domain) {
            Err(RotateError::Locked { holder, .. }) => {
                let holder = holder.expect("the holder is named");
                assert_eq!(holder.pid, std::process::id());
                assert!(!holder.is_gone());
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        let path = held.path().to_path_buf();
        drop(held);
        assert_eq!(std::fs::read(&path).expect("kept").len(), 0, "cleared");
        let again = lock_domain(&store, &domain).expect("free again");
        assert!(
            again.recovered().is_none(),
            "a clean release is no recovery"
        );
    }

    #[test]
    fn a_lock_file_naming_a_holder_whose_flock_is_gone_is_recovered() {
        let (_dir, store, domain) = store();
        let path = lock_domain(&store, &domain)
            .expect("free")
            .path()
            .to_path_buf();
        // What a run killed while holding the lock leaves: its description, no flock.
        let dead = LockHolder {
            pid: u32::MAX,
            host: host_name(),
            since: 1_795_600_000,
        };
        std::fs::write(&path, serde_json::to_vec(&dead).expect("json")).expect("written");
        let lock = lock_domain(&store, &domain).expect("the flock is free");
        assert_eq!(lock.recovered(), Some(&dead));
        assert!(dead.is_gone());
        assert!(dead.to_string().contains("PID 4294967295 on "), "{dead}");
        let now: LockHolder =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("a holder");
        assert_eq!(now.pid, std::process::id(), "the new holder is written");
    }
}
