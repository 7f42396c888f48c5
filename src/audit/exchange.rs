//! Audit of exchange's configuration.
