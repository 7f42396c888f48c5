//! DKIM build. (skeleton)
