//! The report source reader (src/reports/source.rs): one input told by its content (gzip, zip,
//! mail with MIME attachments, mbox, XML, JSON) and opened to the reports inside, with small
//! limits so a bomb is cut short. Every input yields at least one item (a report or why not),
//! and decompressed sizes stay within `max_decompressed`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailauth::reports::model::Limits;
use mailauth::reports::source::read_bytes;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_input: 1 << 20,
        max_decompressed: 1 << 20,
        max_zip_members: 4,
        max_records: 1000,
        max_xml_depth: 16,
    };
    let mut items = 0usize;
    read_bytes(data, "fuzz", &limits, &mut |item| {
        assert!(!item.origin.is_empty());
        items += 1;
    });
    assert!(items >= 1, "an input vanished without an item");
});
