//! Audit of sendmail's configuration.
