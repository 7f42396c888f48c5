//! Message split (src/message.rs): any bytes give a message or a `MessageError`, never a panic;
//! a message read back from its own bytes is the same message (fields and body kept exactly);
//! author extraction (mail-parser) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::message::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    let again = Message::parse(&message.to_bytes()).expect("a parsed message's bytes parse");
    assert_eq!(again, message, "split is not stable over to_bytes");
    let _ = message.authors();
});
