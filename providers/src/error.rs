//! What can go wrong talking to a provider, split by *kind* so callers decide by variant, never by
//! message text: only [`ProviderError::Unreachable`] (a network or server failure) and
//! [`ProviderError::NotApplied`] (a change the provider reported, or may have made, that is not
//! there when read back) are temporary, worth running again as it is; a local file or setting,
//! a rejected credential, a refusal, a conflict with a change made since the plan, and a record
//! the provider cannot hold each have their own variant.

use crate::RecordType;

/// Errors a provider reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// A network or server failure: connection refused or reset, timeout, HTTP 5xx or 429,
    /// DNS SERVFAIL. Running again later is safe.
    #[error("provider {provider} unreachable: {reason}")]
    Unreachable {
        /// Backend name.
        provider: String,
        /// What went wrong.
        reason: String,
    },
    /// The provider answered that a change was made (or its answer was lost), but reading the
    /// records back shows it was not: a server failure, temporary; running again is safe (the
    /// next plan sees the records as they are).
    #[error(
        "provider {provider}: {name} {reason} when read back after the apply; nothing else was changed for it, run again"
    )]
    NotApplied {
        /// Backend.
        provider: String,
        /// The owner name and type of the record set.
        name: String,
        /// What is missing or still there, and what the provider had answered.
        reason: String,
    },
    /// A problem on this side: the provider's configuration, or a local file (zone file, key
    /// file, state file) missing, unreadable, malformed or unwritable.
    #[error("provider {provider}: {reason}")]
    Local {
        /// Backend name (and file, when there is one).
        provider: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The credential is missing, or the provider rejected it (HTTP 401/403, TSIG BADKEY or
    /// BADSIG, an update policy that does not cover the key).
    #[error("provider {provider}: {reason}")]
    Credentials {
        /// Backend name.
        provider: String,
        /// What was rejected and what to check (never the secret itself).
        reason: String,
    },
    /// The provider understood the request and refused it (e.g. HTTP 422, an invalid record).
    #[error("provider {provider} refused the change: {reason}")]
    Refused {
        /// Backend name.
        provider: String,
        /// What the provider said.
        reason: String,
    },
    /// Records changed between the plan and the apply.
    #[error("{name} changed since the plan was made ({reason}); plan again")]
    Conflict {
        /// The owner name.
        name: String,
        /// What differs.
        reason: String,
    },
    /// A desired record is of a type this provider cannot hold; found by `plan` before any
    /// request is made.
    #[error(
        "{name}: this provider cannot hold {rtype} records (it holds {supported}); use a provider that can, or remove the record"
    )]
    UnsupportedType {
        /// The owner name of the record refused.
        name: String,
        /// Its type.
        rtype: RecordType,
        /// The types the provider holds, e.g. "TXT, MX".
        supported: String,
    },
    /// A value that is not valid for its record type (e.g. an MX without a preference).
    #[error("{rtype} value {value:?} is not valid: {reason}")]
    InvalidValue {
        /// The record type.
        rtype: RecordType,
        /// The value as given.
        value: String,
        /// What is expected.
        reason: String,
    },
}

impl ProviderError {
    /// A network or server failure: running the same command again later is safe.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ProviderError::Unreachable { .. } | ProviderError::NotApplied { .. }
        )
    }

    /// The same error with `what` (the request or record it concerns) in front of its reason,
    /// for the kinds that carry a provider's answer.
    pub fn context(self, what: &str) -> ProviderError {
        match self {
            ProviderError::Unreachable { provider, reason } => ProviderError::Unreachable {
                provider,
                reason: format!("{what}: {reason}"),
            },
            ProviderError::Refused { provider, reason } => ProviderError::Refused {
                provider,
                reason: format!("{what}: {reason}"),
            },
            other => other,
        }
    }

    /// The provider (or the records it holds) said no: a refusal or a conflict with a change
    /// made since the plan. The work ran and the answer is bad, as opposed to bad input.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ProviderError::Refused { .. } | ProviderError::Conflict { .. }
        )
    }
}
