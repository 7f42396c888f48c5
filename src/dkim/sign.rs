//! DKIM sign. (skeleton)
