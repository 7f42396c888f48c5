//! Audit of exim's configuration.
