//! mailauth.toml (src/config.rs): any text gives a `Config` or a `ConfigError` naming where
//! (file:line:col) and what; a configuration that loads also yields its key directory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "mailauth.toml") {
        Ok(config) => {
            let _ = config.key_dir(std::path::Path::new("/etc/mailauth"));
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(
                shown.starts_with("mailauth.toml"),
                "error without its place: {shown}"
            );
        }
    }
});
