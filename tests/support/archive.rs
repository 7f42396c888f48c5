//! gzip and zip containers built at test time (flate2 and the zip crate), for the report
//! readers' tests: plain containers of given members, and bombs of zeros whose compressed size
//! is a tiny fraction of what they expand to. Nothing large is ever committed as a fixture.

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use zip::write::SimpleFileOptions;

/// `data` as one gzip member (RFC 1952).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A zip archive of these members, each deflated.
pub fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        w.start_file(*name, deflated()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A gzip stream of `mib` MiB of zeros, compressed as hard as flate2 can (about 1000:1).
pub fn gzip_of_zeros(mib: usize) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    write_zeros(&mut enc, mib);
    enc.finish().unwrap()
}

/// A zip archive with one member `name` of `mib` MiB of zeros.
pub fn zip_of_zeros(name: &str, mib: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(name, deflated()).unwrap();
    write_zeros(&mut w, mib);
    w.finish().unwrap().into_inner()
}

fn write_zeros(out: &mut impl Write, mib: usize) {
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        out.write_all(&zeros).unwrap();
    }
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true)
}
