//! Audit of postfix's configuration.
