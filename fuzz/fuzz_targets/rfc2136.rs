//! RFC 2136 wire replies (providers/src/rfc2136.rs): a reply to a query, any bytes, gives
//! (canonical value, TTL) pairs or a `ProviderError` by RCODE (RFC 1035 §4.1.1), never a panic.
//! The first byte picks the record type. The backend is built once from a throwaway TSIG key
//! file; nothing is sent.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mailauth_providers::rfc2136::{Rfc2136, TsigKey};

fn backend() -> &'static Rfc2136 {
    static BACKEND: OnceLock<Rfc2136> = OnceLock::new();
    BACKEND.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mailauth-fuzz-rfc2136-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path = dir.join("fuzz.key");
        std::fs::write(
            &path,
            "key \"fuzz\" { algorithm hmac-sha256; secret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"; };\n",
        )
        .expect("the key file is written");
        let key = TsigKey::from_bind_file(&path).expect("the key file reads");
        // Nothing is written to the state file (no update is sent), so the directory can go.
        let _ = std::fs::remove_dir_all(&dir);
        Rfc2136::new("127.0.0.1:53".parse().expect("an address"), key, dir.join("state.json"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((rtype, reply)) = mailauth_fuzz::pick_record_type(data) else {
        return;
    };
    let _ = backend().read_answer(reply, "example.com", rtype);
});
