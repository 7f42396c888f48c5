//! Static audits of a mail server's configuration: what the server *would* allow, read from its
//! configuration rather than by talking to it. One file per MTA: Postfix (through `postconf`, or
//! main.cf/master.cf when postconf is absent), Exim, Sendmail and Microsoft Exchange (receive
//! connectors as JSON). Findings use the common [`Finding`] model; each names the listener, the
//! setting, the value found (`seen`) and the secure value (`fix`), with the MTA's documentation as
//! reference.
//!
//! This module only reads: it never changes a configuration or talks to a server.

pub mod exchange;
pub mod exim;
pub mod postfix;
pub mod sendmail;

use std::path::PathBuf;

use serde::Serialize;

use crate::report::{Finding, Severity};

/// The result of auditing one MTA's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Which MTA and where its configuration came from, e.g. `postfix (postconf -c /etc/postfix)`.
    pub source: String,
    /// Findings in the order checked.
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The codes found, in order (for tests and summaries).
    pub fn codes(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.code).collect()
    }
}

/// Why an audit could not be attempted (a finding is not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A configuration file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A helper program (postconf, exim -bP) could not be run or failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line, as the user would type it.
        command: String,
        /// Its error output or why it could not start.
        detail: String,
    },
    /// A configuration file is not in the syntax expected.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the whole file is at fault).
        line: usize,
        /// What is wrong.
        message: String,
    },
}
