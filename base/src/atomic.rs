//! The one way mailauth writes a file it must not half-write: private keys, zone files, rotation
//! state, provider ownership records and signer exports. The data goes to a temporary file in the
//! same directory, which gets its mode before any byte is written, is flushed to disk (fsync),
//! renamed over the target (or linked without replacing, for keys), and then the directory itself
//! is flushed so the rename survives a crash. A reader sees the old file or the new one, never a
//! mix; a crash leaves at most a stray temporary file, never a truncated target.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The file's permission bits (e.g. 0o600 for a key).
    pub mode: u32,
    /// Refuse to replace an existing file: the write fails with `ErrorKind::AlreadyExists`.
    pub no_clobber: bool,
}

impl WriteOptions {
    /// Private to the owner (0600), replacing an existing file.
    pub const PRIVATE: WriteOptions = WriteOptions {
        mode: 0o600,
        no_clobber: false,
    };
    /// Private to the owner (0600), never replacing an existing file: keys.
    pub const PRIVATE_NEW: WriteOptions = WriteOptions {
        mode: 0o600,
        no_clobber: true,
    };
    /// Readable by everyone (0644), replacing: exports a signer reads, zone files a server reads.
    pub const PUBLIC: WriteOptions = WriteOptions {
        mode: 0o644,
        no_clobber: false,
    };
}

/// Write `contents` to `path` atomically. The directory must exist.
pub fn write(path: &Path, contents: &[u8], options: WriteOptions) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".mailauth-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(options.mode))?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    if options.no_clobber {
        temp.persist_noclobber(path).map_err(|e| e.error)?;
    } else {
        temp.persist(path).map_err(|e| e.error)?;
    }
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_the_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write(&path, b"one", WriteOptions::PRIVATE_NEW).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn no_clobber_refuses_and_keeps_the_old_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write(&path, b"one", WriteOptions::PRIVATE_NEW).unwrap();
        let err = write(&path, b"two", WriteOptions::PRIVATE_NEW).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "temp removed");
        write(&path, b"three", WriteOptions::PUBLIC).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
}
