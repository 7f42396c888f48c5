//! The key store: `DIR/DOMAIN/SELECTOR.pem`, directories 0700, key files 0600, written through a
//! temporary file in the same directory, fsynced, then linked into place without replacing an
//! existing file, and the directory fsynced. A key is never overwritten.

use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use mailauth_base::atomic;

use super::{KeyError, PrivateKey};

/// A key store rooted at a directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    root: PathBuf,
}

impl KeyStore {
    /// A store at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> KeyStore {
        KeyStore { root: root.into() }
    }

    /// Where the key for `domain` and `selector` lives. Both names are checked, so neither can
    /// reach outside the store.
    pub fn key_path(&self, domain: &str, selector: &str) -> Result<PathBuf, KeyError> {
        check_name("domain", domain)?;
        check_name("selector", selector)?;
        Ok(self
            .root
            .join(domain.to_ascii_lowercase())
            .join(format!("{selector}.pem")))
    }

    /// Fail early with [`KeyError::Exists`] if the key is already there.
    pub fn check_absent(&self, domain: &str, selector: &str) -> Result<PathBuf, KeyError> {
        let path = self.key_path(domain, selector)?;
        match fs::symlink_metadata(&path) {
            Ok(_) => Err(KeyError::Exists(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path),
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    /// Write `key` as PKCS#8 PEM; returns the file's path. Refuses to replace an existing file.
    pub fn write(
        &self,
        domain: &str,
        selector: &str,
        key: &PrivateKey,
    ) -> Result<PathBuf, KeyError> {
        let path = self.check_absent(domain, selector)?;
        let pem = key.to_pkcs8_pem()?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        private_dir(&self.root)?;
        private_dir(&dir)?;
        let written = atomic::write(&path, pem.as_bytes(), atomic::WriteOptions::PRIVATE_NEW);
        match written {
            Ok(()) => Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(KeyError::Exists(path)),
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    /// The selectors with a key for `domain`, sorted (none when the directory is missing).
    pub fn selectors(&self, domain: &str) -> Vec<String> {
        let Ok(dir) = self
            .key_path(domain, "x")
            .map(|p| p.parent().map(Path::to_path_buf))
        else {
            return Vec::new();
        };
        let Some(entries) = dir.and_then(|d| fs::read_dir(d).ok()) else {
            return Vec::new();
        };
        let mut selectors: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let selector = name.strip_suffix(".pem")?;
                check_name("selector", selector).ok()?;
                Some(selector.to_owned())
            })
            .collect();
        selectors.sort();
        selectors
    }

    /// Read the key for `domain` and `selector`.
    pub fn load(&self, domain: &str, selector: &str) -> Result<PrivateKey, KeyError> {
        let path = self.key_path(domain, selector)?;
        load_file(&path)
    }
}

/// Read a key file in any format [`PrivateKey::from_pem`] accepts.
pub fn load_file(path: &Path) -> Result<PrivateKey, KeyError> {
    let text = fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    PrivateKey::from_pem(&text, &path.display().to_string())
}

/// Create `dir` (and parents) with mode 0700, or tighten an existing one to 0700.
fn private_dir(dir: &Path) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: dir.to_path_buf(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    let mode = fs::metadata(dir).map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Domains and selectors are DNS names: dot-separated labels of letters, digits, `-` and `_`.
/// A domain or selector names a directory or file in the store: it must be a domain name by the
/// one rule set (`DomainName`), which has no `/`, no `..` and no empty label, so it cannot reach
/// outside the store. A selector is checked as a name under a placeholder parent, since it need
/// not have a valid top-level label of its own (`2026` is a fine selector).
fn check_name(what: &'static str, value: &str) -> Result<(), KeyError> {
    let candidate = match what {
        "selector" => format!("{value}.selector"),
        _ => value.to_owned(),
    };
    match mailauth_base::DomainName::parse(&candidate) {
        // A trailing dot would name the same directory twice.
        Ok(_) if !value.ends_with('.') => Ok(()),
        Ok(_) => Err(KeyError::InvalidName {
            what,
            value: value.to_owned(),
            reason: "ends with a dot".into(),
        }),
        Err(e) => Err(KeyError::InvalidName {
            what,
            value: value.to_owned(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeySpec, generate};

    #[test]
    fn writes_private_files_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path().join("keys"));
        let key = generate(KeySpec::Ed25519).unwrap();
        let path = store.write("Example.com", "s1", &key).unwrap();
        assert_eq!(path, dir.path().join("keys/example.com/s1.pem"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
        assert_eq!(mode(&dir.path().join("keys/example.com")), 0o700);
        let before = fs::read(&path).unwrap();
        let other = generate(KeySpec::Ed25519).unwrap();
        assert!(matches!(
            store.write("example.com", "s1", &other),
            Err(KeyError::Exists(_))
        ));
        assert_eq!(fs::read(&path).unwrap(), before, "existing key unchanged");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("keys/example.com"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
        assert_eq!(
            store.load("example.com", "s1").unwrap().public_key_bytes(),
            key.public_key_bytes()
        );
    }

    #[test]
    fn names_cannot_escape_the_store() {
        let store = KeyStore::new("/nonexistent");
        for (domain, selector) in [
            ("../etc", "s1"),
            ("example.com", "../../x"),
            ("example.com", "a/b"),
            ("", "s1"),
            ("example.com", ""),
            ("exa mple.com", "s1"),
            (".example.com", "s1"),
        ] {
            assert!(
                matches!(
                    store.key_path(domain, selector),
                    Err(KeyError::InvalidName { .. })
                ),
                "{domain:?} {selector:?}"
            );
        }
        assert!(store.key_path("example.com", "2026-11.rsa_a").is_ok());
    }
}
