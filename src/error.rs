//! What kind of failure an error is, for whoever must decide what happens next: the command line
//! maps it to an exit code (README, "Exit codes"), a daemon would decide whether to retry. Each
//! module keeps its own error enum; this module only reads their *variants* (never their text)
//! and sorts them into three classes. Errors the library does not know (a plain I/O error from
//! the caller, a message) are left to the caller.

use mailauth_providers::ProviderError;

use crate::{config, dkim, dns, keys, message, records, rotate};

/// The three ways work can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The work ran and the answer is bad: the provider refused the change, or records changed
    /// since the plan. Exit 1.
    Failure,
    /// Something the user must fix: input, usage, configuration, a local file, credentials.
    /// Exit 2.
    BadInput,
    /// A network or server failure that may pass: running again is safe. Exit 3.
    Temporary,
}

impl ErrorClass {
    /// The documented exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::Failure => 1,
            ErrorClass::BadInput => 2,
            ErrorClass::Temporary => 3,
        }
    }
}

/// The class of `error` when it is one of the library's error types (or wraps one), by variant.
pub fn classify(error: &(dyn std::error::Error + 'static)) -> Option<ErrorClass> {
    if let Some(e) = error.downcast_ref::<dns::DnsError>() {
        return Some(if e.is_temporary() {
            ErrorClass::Temporary
        } else {
            ErrorClass::BadInput
        });
    }
    if let Some(e) = error.downcast_ref::<ProviderError>() {
        return Some(provider_class(e));
    }
    if let Some(e) = error.downcast_ref::<rotate::executor::RotateError>() {
        return Some(match e {
            rotate::executor::RotateError::Provider(p) => provider_class(p),
            // Another run holds the lock: this run did nothing, the next one will.
            rotate::executor::RotateError::Locked { .. } => ErrorClass::Temporary,
            // Finding the servers that answer for the zone failed: as the lookup failed.
            rotate::executor::RotateError::Servers(inner) => {
                classify(inner.as_ref()).unwrap_or(ErrorClass::BadInput)
            }
            rotate::executor::RotateError::Tlsa(t) => t.class(),
            _ => ErrorClass::BadInput,
        });
    }
    if let Some(e) = error.downcast_ref::<rotate::dane::TlsaRotateError>() {
        return Some(e.class());
    }
    if let Some(e) = error.downcast_ref::<crate::transport::dane::DaneError>() {
        // A certificate or key file the user gave (BadInput), or a server out of reach.
        return Some(if e.is_temporary() {
            ErrorClass::Temporary
        } else {
            ErrorClass::BadInput
        });
    }
    let input = error.is::<config::ConfigError>()
        || error.is::<keys::KeyError>()
        || error.is::<message::MessageError>()
        || error.is::<dkim::DkimError>()
        || error.is::<records::RecordsError>()
        || error.is::<mailauth_base::NameError>();
    input.then_some(ErrorClass::BadInput)
}

fn provider_class(error: &ProviderError) -> ErrorClass {
    if error.is_temporary() {
        ErrorClass::Temporary
    } else if error.is_refusal() {
        ErrorClass::Failure
    } else {
        // Local files, configuration, credentials, a record type or value the backend cannot hold.
        ErrorClass::BadInput
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_variants() {
        let temporary = dns::DnsError::Temporary {
            name: "example.com".into(),
            reason: "SERVFAIL".into(),
        };
        assert_eq!(classify(&temporary), Some(ErrorClass::Temporary));
        let conflict = ProviderError::Conflict {
            name: "example.com".into(),
            reason: "changed".into(),
        };
        assert_eq!(classify(&conflict), Some(ErrorClass::Failure));
        let unreachable = ProviderError::Unreachable {
            provider: "cf".into(),
            reason: "timeout".into(),
        };
        assert_eq!(classify(&unreachable), Some(ErrorClass::Temporary));
        let name = mailauth_base::DomainName::parse("../..").unwrap_err();
        assert_eq!(classify(&name), Some(ErrorClass::BadInput));
        let io = std::io::Error::other("x");
        assert_eq!(classify(&io), None, "not the library's to judge");
        assert_eq!(ErrorClass::Temporary.exit_code(), 3);
    }
}
