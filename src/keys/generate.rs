//! Key generation. OWNED BY THE KEYS WORK.
