//! DKIM verify. (skeleton)
