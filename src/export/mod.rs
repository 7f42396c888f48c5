//! Signer configurations for the active DKIM keys: OpenDKIM (KeyTable and SigningTable, what
//! Postfix and Sendmail sites use), rspamd (`dkim_signing` maps) and Exim (macros). Files are
//! written atomically, so a signer reloading at any moment sees either the old set or the new.

pub mod exim;
pub mod opendkim;
pub mod rspamd;

use std::path::{Path, PathBuf};

use mailauth_base::atomic;

/// One active key as the signers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportKey {
    /// The signing domain.
    pub domain: String,
    /// The selector.
    pub selector: String,
    /// rsa-2048, ed25519, ...
    pub algorithm: String,
    /// Absolute path of the PKCS#8 private key.
    pub key_path: PathBuf,
}

impl ExportKey {
    /// The entry for a key in `store`, its path made absolute for the signer.
    pub fn from_store(
        store: &crate::keys::KeyStore,
        domain: &str,
        selector: &str,
        algorithm: &str,
    ) -> Result<ExportKey, crate::keys::KeyError> {
        let path = store.key_path(domain, selector)?;
        Ok(ExportKey {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            algorithm: algorithm.to_owned(),
            key_path: std::path::absolute(&path).unwrap_or(path),
        })
    }
}

/// The files of one export kind: (file name, contents).
pub fn render(kind: &str, keys: &[ExportKey], dir: &Path) -> Vec<(String, String)> {
    match kind {
        "opendkim" => opendkim::render(keys),
        "rspamd" => rspamd::render(keys, dir),
        "exim" => exim::render(keys),
        _ => Vec::new(),
    }
}

/// Write `files` into `dir` (created 0755 if missing), each atomically.
pub fn write(dir: &Path, files: &[(String, String)]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        atomic::write(&path, contents.as_bytes(), atomic::WriteOptions::PUBLIC)?;
        written.push(path);
    }
    Ok(written)
}
