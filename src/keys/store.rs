//! The key store. OWNED BY THE KEYS WORK.
