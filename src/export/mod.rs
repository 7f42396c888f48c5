//! Signer configurations for the active DKIM keys: OpenDKIM (KeyTable and SigningTable, what
//! Postfix and Sendmail sites use), rspamd (`dkim_signing` maps) and Exim (macros). Files are
//! written atomically, so a signer reloading at any moment sees either the old set or the new.
//! [`ExportKind`] names the signers once, for the configuration, JSON and the command line.

pub mod exim;
pub mod opendkim;
pub mod rspamd;

use std::fmt;
use std::path::{Path, PathBuf};

use mailauth_base::atomic;
use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, KeySpec, KeyStore};

/// A signer whose configuration mailauth writes. In `mailauth.toml` and JSON it is its lower-case
/// name; on the command line `mailauth export KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ExportKind {
    /// OpenDKIM's KeyTable and SigningTable (also what Postfix and Sendmail sites use).
    Opendkim,
    /// rspamd's `dkim_signing` maps and snippet.
    Rspamd,
    /// Exim macros for the SMTP transport.
    Exim,
}

impl ExportKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [ExportKind; 3] = [ExportKind::Opendkim, ExportKind::Rspamd, ExportKind::Exim];

    /// The lower-case name: `opendkim`, `rspamd`, `exim`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Opendkim => "opendkim",
            ExportKind::Rspamd => "rspamd",
            ExportKind::Exim => "exim",
        }
    }

    /// The kind with this name (as [`ExportKind::as_str`] gives it).
    pub fn from_name(name: &str) -> Option<ExportKind> {
        ExportKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for ExportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why exports could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The export directory could not be created.
    #[error("cannot create the export directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One active key as the signers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportKey {
    /// The signing domain.
    pub domain: String,
    /// The selector.
    pub selector: String,
    /// What kind of key it is.
    pub algorithm: KeySpec,
    /// Absolute path of the PKCS#8 private key.
    pub key_path: PathBuf,
}

impl ExportKey {
    /// The entry for a key in `store`, its path made absolute for the signer.
    pub fn from_store(
        store: &KeyStore,
        domain: &str,
        selector: &str,
        algorithm: KeySpec,
    ) -> Result<ExportKey, KeyError> {
        let path = store.key_path(domain, selector)?;
        Ok(ExportKey {
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            algorithm,
            key_path: std::path::absolute(&path).unwrap_or(path),
        })
    }

    /// Whether this is an Ed25519 key (which some signers cannot use).
    pub fn is_ed25519(&self) -> bool {
        self.algorithm == KeySpec::Ed25519
    }
}

/// The files of one export kind: (file name, contents). `dir` is where they will be written,
/// for files that name each other.
pub fn render(kind: ExportKind, keys: &[ExportKey], dir: &Path) -> Vec<(String, String)> {
    match kind {
        ExportKind::Opendkim => opendkim::render(keys),
        ExportKind::Rspamd => rspamd::render(keys, dir),
        ExportKind::Exim => exim::render(keys),
    }
}

/// Write `files` into `dir` (created 0755 if missing), each atomically.
pub fn write(dir: &Path, files: &[(String, String)]) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        atomic::write(&path, contents.as_bytes(), atomic::WriteOptions::PUBLIC).map_err(
            |source| ExportError::Write {
                path: path.clone(),
                source,
            },
        )?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_kinds_use_their_lower_case_names_in_config_and_json() {
        for kind in ExportKind::ALL {
            let json = serde_json::to_value(kind).expect("serialises");
            assert_eq!(json, serde_json::json!(kind.as_str()));
            assert_eq!(
                serde_json::from_value::<ExportKind>(json).expect("reads back"),
                kind
            );
            assert_eq!(ExportKind::from_name(kind.as_str()), Some(kind));
        }
        assert!(serde_json::from_value::<ExportKind>(serde_json::json!("postfix")).is_err());
    }
}
