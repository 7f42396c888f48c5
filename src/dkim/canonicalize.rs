//! DKIM canonicalize. (skeleton)
