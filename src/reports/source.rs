//! Where reports come from: files, directories (a Maildir's `cur/` and `new/` included), mbox
//! files, mail messages and their MIME attachments, gzip and zip containers. Each report found,
//! or each piece of input that is not one, becomes an [`Item`] handed to the caller's sink, with
//! an origin that says where it was (`path`, `path!member.xml`, `path#3!rua.zip!member.xml`).
//!
//! Formats are told by content, never by name: gzip (RFC 1952 §2.3.1 magic `1f 8b`), zip
//! (`PK\3\4`), XML (an aggregate report, RFC 9990 §3.1.1 or RFC 7489 Appendix C), JSON (an SMTP
//! TLS report, RFC 8460 §4), an mbox (RFC 4155: first line `From `), a mail message (RFC 5322
//! §2.2 header fields first). A mail's parts (RFC 2045/2046 MIME) are read as RFC 9990 §3.5.2
//! "Email" and RFC 8460 §5.3 describe report mail: the parts whose media type or file name say
//! XML, gzip, zip or JSON (`application/tlsrpt+gzip`, `application/tlsrpt+json`). Nothing is
//! dropped silently: what is not a report is an `Item` with a [`Rejected`] reason.
//!
//! Memory stays bounded by [`Limits`] (RFC 9990 §8.1 "Report Contents as an Attack"): a file over
//! `max_input` is refused from its size alone, an mbox is read one message at a time, a
//! decompression stops at `max_decompressed` bytes actually produced (never trusting a header's
//! size), all decompression for one input (nested archives) at twice that, and a zip with more than `max_zip_members` members is not read. Parsing is
//! [`super::xml`] and [`super::tlsrpt`]; storing is not done here.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders, PartType};

use super::model::{Limits, Report};
use super::tlsrpt::parse_tls;
use super::xml::{ParseError, parse_aggregate};
use crate::mailbox::{Entry, MboxReader, MboxRefusal, is_mbox_file, list_directory};

/// Containers nested deeper than this (a zip in a gzip in a mail in a zip ...) are refused.
const MAX_NESTING: usize = 4;
/// All decompression for one input (a file, or one mbox message) stops at this many times
/// `max_decompressed`: each member is capped on its own, but a zip of zips of bombs would
/// otherwise cost members × members × the cap from one small file.
const DECOMPRESSED_PER_INPUT: u64 = 2;

/// One report read, or one piece of input refused.
#[derive(Debug)]
pub struct Item {
    /// Where it came from: `path`, `path!member`, `path#N` (the Nth mbox message), chained.
    pub origin: String,
    /// The report, or why this input is not one.
    pub outcome: Result<Report, Rejected>,
}

/// Why a file, message, attachment or member is not a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// It looked like a report but did not parse.
    #[error("{kind}: {error}")]
    Parse {
        /// `aggregate report XML` or `TLS report JSON`.
        kind: &'static str,
        /// What was wrong, and where.
        error: ParseError,
    },
    /// Larger than `max_input`: not read.
    #[error("{size} bytes, over the limit of {limit} bytes (max_input): not read")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Decompressed past `max_decompressed`: a compression bomb, or simply too big.
    #[error("{format}: decompressed size exceeds {limit} bytes (max_decompressed)")]
    DecompressedTooLarge {
        /// `gzip` or `zip member`.
        format: &'static str,
        /// The limit.
        limit: u64,
    },
    /// This input's containers together decompressed past `DECOMPRESSED_PER_INPUT` times
    /// `max_decompressed` (nested archives): the rest is not read.
    #[error(
        "{format}: not read, the input's decompression budget of {limit} bytes is used up (nested archives)"
    )]
    BudgetExhausted {
        /// `gzip` or `zip member`.
        format: &'static str,
        /// The budget for the whole input.
        limit: u64,
    },
    /// A gzip stream that is truncated or corrupt.
    #[error("truncated or corrupt gzip: {message}")]
    Gzip {
        /// The decoder's description.
        message: String,
    },
    /// A zip archive (or member) that cannot be read.
    #[error("unreadable zip: {message}")]
    Zip {
        /// The archive reader's description.
        message: String,
    },
    /// A zip archive with no file in it (no member, or only directories): nothing to read, said
    /// rather than skipped.
    #[error("zip archive without a file (no members, or only directories)")]
    EmptyZip,
    /// More members than `max_zip_members`.
    #[error("zip has {members} members, over the limit of {limit} (max_zip_members): not read")]
    TooManyMembers {
        /// Members in the archive.
        members: usize,
        /// The limit.
        limit: usize,
    },
    /// Containers nested too deeply.
    #[error("containers nested more than {MAX_NESTING} deep")]
    TooDeep,
    /// A mail message none of whose parts is a report.
    #[error("mail message without a report attachment (no XML, JSON, gzip or zip part)")]
    NoReportInMail,
    /// Not a format reports come in.
    #[error("not a report: {what}")]
    Unrecognized {
        /// What it seems to be (`empty file`, `binary data`, `text`).
        what: &'static str,
    },
    /// Not a regular file (a FIFO, a device, a socket), or a symbolic link to a directory
    /// (which could loop): not opened.
    #[error("not read: {what}")]
    NotAFile {
        /// What it is.
        what: &'static str,
    },
    /// Reading failed.
    #[error("cannot read: {message}")]
    Io {
        /// The system's description.
        message: String,
    },
}

/// Why reading could not even start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A path given does not exist (or cannot be looked at).
    #[error("{}: {source}", path.display())]
    Missing {
        /// The path as given.
        path: PathBuf,
        /// The system's description.
        source: io::Error,
    },
}

/// Read every report under `paths`, handing each report (or each refusal) to `sink` as it is
/// read. A missing path is an error before anything is read; everything else is an [`Item`].
pub fn read_sources(
    paths: &[PathBuf],
    limits: &Limits,
    sink: &mut dyn FnMut(Item),
) -> Result<(), SourceError> {
    read_all(paths, limits, None, sink)
}

/// Read one input already in memory (a file's content, named `origin`) as [`read_sources`]
/// reads a file: containers opened, every report or refusal handed to `sink`. Inputs over
/// `max_input` are refused unread.
pub fn read_bytes(bytes: &[u8], origin: &str, limits: &Limits, sink: &mut dyn FnMut(Item)) {
    let mut reader = SourceReader {
        limits,
        sink,
        deferred: None,
        budget: 0,
    };
    // One input, one decompression budget, as for a file.
    reader.budget = reader.per_input_budget();
    if bytes.len() as u64 > limits.max_input {
        let size = bytes.len() as u64;
        let limit = limits.max_input;
        return reader.reject(origin.to_owned(), Rejected::TooLarge { size, limit });
    }
    reader.bytes(bytes, origin.to_owned(), 0);
}

/// Files parsed side by side in one round of [`read_sources_parallel`].
const ROUND: usize = 64;

/// As [`read_sources`], with up to `threads` threads reading and parsing files side by side.
/// Items reach `sink` in exactly the order [`read_sources`] gives them. An mbox is still
/// streamed one message at a time on the calling thread, and at most [`ROUND`] files are in
/// flight, so memory stays bounded as it does there.
pub fn read_sources_parallel(
    paths: &[PathBuf],
    limits: &Limits,
    threads: usize,
    sink: &mut dyn FnMut(Item),
) -> Result<(), SourceError> {
    let deferred = (threads > 1).then(|| Deferred {
        threads,
        files: Vec::with_capacity(ROUND),
    });
    read_all(paths, limits, deferred, sink)
}

/// Check that every path exists, then read them all, sequentially or (with `deferred`) in
/// parallel rounds.
fn read_all(
    paths: &[PathBuf],
    limits: &Limits,
    deferred: Option<Deferred>,
    sink: &mut dyn FnMut(Item),
) -> Result<(), SourceError> {
    for path in paths {
        std::fs::metadata(path).map_err(|source| SourceError::Missing {
            path: path.clone(),
            source,
        })?;
    }
    let mut reader = SourceReader {
        limits,
        sink,
        deferred,
        budget: 0,
    };
    for path in paths {
        reader.path(path);
    }
    reader.flush();
    Ok(())
}

/// Regular files waiting to be read in parallel: (path, size, origin), in order.
struct Deferred {
    threads: usize,
    files: Vec<(PathBuf, u64, String)>,
}

struct SourceReader<'a> {
    limits: &'a Limits,
    sink: &'a mut dyn FnMut(Item),
    /// `Some` when files are collected and read in parallel rounds.
    deferred: Option<Deferred>,
    /// Bytes the current input may still decompress to, all containers together.
    budget: u64,
}

impl SourceReader<'_> {
    /// Read the files collected so far, side by side, and hand their items to the sink in order.
    fn flush(&mut self) {
        let Some(deferred) = self.deferred.as_mut() else {
            return;
        };
        if deferred.files.is_empty() {
            return;
        }
        let files = std::mem::take(&mut deferred.files);
        let per_thread = files.len().div_ceil(deferred.threads);
        let limits = self.limits;
        let mut results: Vec<Vec<Item>> = files.iter().map(|_| Vec::new()).collect();
        std::thread::scope(|scope| {
            for (tasks, outs) in files.chunks(per_thread).zip(results.chunks_mut(per_thread)) {
                scope.spawn(move || {
                    for ((path, size, origin), out) in tasks.iter().zip(outs) {
                        let mut collect = |item: Item| out.push(item);
                        let mut reader = SourceReader {
                            limits,
                            sink: &mut collect,
                            deferred: None,
                            budget: 0,
                        };
                        reader.file(path, *size, origin.clone());
                    }
                });
            }
        });
        for item in results.into_iter().flatten() {
            (self.sink)(item);
        }
    }

    /// A regular file: read now (sequential mode, or an mbox, which is streamed), or collected
    /// for the next parallel round.
    fn regular(&mut self, path: &Path, size: u64, origin: String) {
        let Some(deferred) = self.deferred.as_mut() else {
            return self.file(path, size, origin);
        };
        // An mbox is streamed, never collected; unreadable files say no here and are refused
        // when read.
        if is_mbox_file(path) {
            self.flush();
            return self.file(path, size, origin);
        }
        deferred.files.push((path.to_owned(), size, origin));
        if deferred.files.len() >= ROUND {
            self.flush();
        }
    }

    fn reject(&mut self, origin: String, why: Rejected) {
        // Files collected before this refusal come first, as in sequential reading.
        self.flush();
        (self.sink)(Item {
            origin,
            outcome: Err(why),
        });
    }

    fn path(&mut self, path: &Path) {
        let origin = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => self.directory(path),
            Ok(meta) if meta.is_file() => self.regular(path, meta.len(), origin),
            Ok(_) => self.reject(
                origin,
                Rejected::NotAFile {
                    what: "not a regular file (a FIFO, device or socket)",
                },
            ),
            Err(e) => self.reject(origin, io_error(&e)),
        }
    }

    /// The directory's entries in [`list_directory`]'s order and by its rules (a Maildir through
    /// `cur/` and `new/` only); a symbolic link to a directory is listed as not followed.
    fn directory(&mut self, dir: &Path) {
        let entries = match list_directory(dir) {
            Ok(entries) => entries,
            Err(e) => return self.reject(dir.display().to_string(), io_error(&e)),
        };
        for entry in entries {
            match entry {
                Entry::LinkedDirectory(path) => self.reject(
                    path.display().to_string(),
                    Rejected::NotAFile {
                        what: "a symbolic link to a directory (not followed: it could loop)",
                    },
                ),
                Entry::Path(path) => self.path(&path),
            }
        }
    }

    /// A file: an mbox is streamed whatever its size (each message is bounded instead); any
    /// other file over `max_input` is refused from its size, unread.
    fn file(&mut self, path: &Path, size: u64, origin: String) {
        self.budget = self.per_input_budget();
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => return self.reject(origin, io_error(&e)),
        };
        let mut reader = BufReader::new(file);
        match reader.fill_buf() {
            Ok(head) if head.starts_with(b"From ") => return self.mbox(reader, &origin),
            Ok(_) => {}
            Err(e) => return self.reject(origin, io_error(&e)),
        }
        if size > self.limits.max_input {
            return self.reject(
                origin,
                Rejected::TooLarge {
                    size,
                    limit: self.limits.max_input,
                },
            );
        }
        let mut bytes = Vec::new();
        // The file may have grown since its size was read: never read past the limit.
        match reader
            .take(self.limits.max_input + 1)
            .read_to_end(&mut bytes)
        {
            Ok(_) if bytes.len() as u64 > self.limits.max_input => self.reject(
                origin,
                Rejected::TooLarge {
                    size: bytes.len() as u64,
                    limit: self.limits.max_input,
                },
            ),
            Ok(_) => self.bytes(&bytes, origin, 0),
            Err(e) => self.reject(origin, io_error(&e)),
        }
    }

    /// One report or container, told by its content.
    fn bytes(&mut self, bytes: &[u8], origin: String, depth: usize) {
        if depth > MAX_NESTING {
            return self.reject(origin, Rejected::TooDeep);
        }
        match sniff(bytes) {
            Kind::Gzip => {
                match self.decompress(flate2::read::MultiGzDecoder::new(bytes), Container::Gzip) {
                    Ok(inner) => self.bytes(&inner, origin, depth + 1),
                    Err(why) => self.reject(origin, why),
                }
            }
            Kind::Zip => self.zip(bytes, &origin, depth),
            Kind::Xml => {
                let outcome = parse_aggregate(bytes, self.limits)
                    .map(Report::Aggregate)
                    .map_err(|error| Rejected::Parse {
                        kind: "aggregate report XML",
                        error,
                    });
                (self.sink)(Item { origin, outcome });
            }
            Kind::Json => {
                let outcome = parse_tls(bytes, self.limits)
                    .map(Report::Tls)
                    .map_err(|error| Rejected::Parse {
                        kind: "TLS report JSON",
                        error,
                    });
                (self.sink)(Item { origin, outcome });
            }
            Kind::Mbox => self.mbox(BufReader::new(bytes), &origin),
            Kind::Mail => self.mail(bytes, &origin, depth),
            Kind::Other(what) => self.reject(origin, Rejected::Unrecognized { what }),
        }
    }

    fn zip(&mut self, bytes: &[u8], origin: &str, depth: usize) {
        let mut archive = match zip::ZipArchive::new(io::Cursor::new(bytes)) {
            Ok(archive) => archive,
            Err(e) => {
                return self.reject(
                    origin.to_owned(),
                    Rejected::Zip {
                        message: e.to_string(),
                    },
                );
            }
        };
        if archive.len() > self.limits.max_zip_members {
            return self.reject(
                origin.to_owned(),
                Rejected::TooManyMembers {
                    members: archive.len(),
                    limit: self.limits.max_zip_members,
                },
            );
        }
        let mut files = 0usize;
        for i in 0..archive.len() {
            let (name, contents) = match archive.by_index(i) {
                Ok(member) if member.is_dir() => continue,
                Ok(member) => {
                    let name = member
                        .name()
                        .map(|n| n.into_owned())
                        .unwrap_or_else(|_| format!("member{}", i + 1));
                    let contents = self.decompress(member, Container::ZipMember);
                    (name, contents)
                }
                Err(e) => (
                    format!("member{}", i + 1),
                    Err(Rejected::Zip {
                        message: e.to_string(),
                    }),
                ),
            };
            files += 1;
            let member_origin = format!("{origin}!{name}");
            match contents {
                Ok(inner) => self.bytes(&inner, member_origin, depth + 1),
                Err(why) => self.reject(member_origin, why),
            }
        }
        if files == 0 {
            self.reject(origin.to_owned(), Rejected::EmptyZip);
        }
    }

    /// A mail message: each part whose type or file name says it holds a report is read.
    fn mail(&mut self, bytes: &[u8], origin: &str, depth: usize) {
        if depth > MAX_NESTING {
            return self.reject(origin.to_owned(), Rejected::TooDeep);
        }
        let Some(message) = MessageParser::default().parse(bytes) else {
            return self.reject(
                origin.to_owned(),
                Rejected::Unrecognized {
                    what: "a mail message without parsable headers",
                },
            );
        };
        let mut found = 0;
        for (i, part) in message.parts.iter().enumerate() {
            let name = part.attachment_name().map(str::to_owned);
            match part.body {
                PartType::Multipart(_) => continue,
                // A forwarded report mail (message/rfc822): its own parts are read.
                PartType::Message(_) => {
                    found += 1;
                    let inner = format!(
                        "{origin}!{}",
                        name.unwrap_or_else(|| format!("part{}", i + 1))
                    );
                    self.mail(part.contents(), &inner, depth + 1);
                    continue;
                }
                _ => {}
            }
            let ctype = part
                .content_type()
                .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !holds_report(&ctype, name.as_deref()) {
                continue;
            }
            found += 1;
            let part_origin = format!(
                "{origin}!{}",
                name.unwrap_or_else(|| format!("part{}", i + 1))
            );
            let contents = part.contents();
            if contents.len() as u64 > self.limits.max_input {
                self.reject(
                    part_origin,
                    Rejected::TooLarge {
                        size: contents.len() as u64,
                        limit: self.limits.max_input,
                    },
                );
                continue;
            }
            self.bytes(contents, part_origin, depth + 1);
        }
        if found == 0 {
            self.reject(origin.to_owned(), Rejected::NoReportInMail);
        }
    }

    /// An mbox (RFC 4155), split by [`MboxReader`] one message at a time; a message over
    /// `max_input` is skipped (not held) and refused with its size.
    fn mbox<R: BufRead>(&mut self, reader: R, origin: &str) {
        for message in MboxReader::new(reader, self.limits.max_input) {
            let origin = format!("{origin}#{}", message.index);
            self.budget = self.per_input_budget();
            match message.outcome {
                Ok(bytes) => self.mail(&bytes, &origin, 1),
                Err(MboxRefusal::TooLarge { size }) => self.reject(
                    origin,
                    Rejected::TooLarge {
                        size,
                        limit: self.limits.max_input,
                    },
                ),
                Err(MboxRefusal::Io(e)) => self.reject(origin, io_error(&e)),
            }
        }
    }
}

impl SourceReader<'_> {
    fn per_input_budget(&self) -> u64 {
        self.limits
            .max_decompressed
            .saturating_mul(DECOMPRESSED_PER_INPUT)
    }

    /// Everything `reader` (a gzip stream, RFC 1952 §2.2 members all read, or a zip member)
    /// produces, but never more than `max_decompressed` bytes, nor more than the input's
    /// remaining budget, which this takes from.
    fn decompress(&mut self, reader: impl Read, kind: Container) -> Result<Vec<u8>, Rejected> {
        let format = match kind {
            Container::Gzip => "gzip",
            Container::ZipMember => "zip member",
        };
        let cap = self.limits.max_decompressed.min(self.budget);
        let mut out = Vec::new();
        reader
            .take(cap + 1)
            .read_to_end(&mut out)
            .map_err(|e| match kind {
                Container::Gzip => Rejected::Gzip {
                    message: e.to_string(),
                },
                Container::ZipMember => Rejected::Zip {
                    message: e.to_string(),
                },
            })?;
        let produced = out.len() as u64;
        if produced > self.limits.max_decompressed {
            return Err(Rejected::DecompressedTooLarge {
                format,
                limit: self.limits.max_decompressed,
            });
        }
        if produced > self.budget {
            self.budget = 0;
            return Err(Rejected::BudgetExhausted {
                format,
                limit: self.per_input_budget(),
            });
        }
        self.budget -= produced;
        Ok(out)
    }
}

/// What is being decompressed, for errors.
#[derive(Debug, Clone, Copy)]
enum Container {
    Gzip,
    ZipMember,
}

fn io_error(e: &io::Error) -> Rejected {
    Rejected::Io {
        message: e.to_string(),
    }
}

/// Whether a MIME part's type or file name says it holds a report.
fn holds_report(ctype: &str, name: Option<&str>) -> bool {
    let by_type = ctype.ends_with("/xml")
        || ctype.ends_with("+xml")
        || ctype.ends_with("/json")
        || ctype.ends_with("+json")
        || ctype.contains("gzip")
        || ctype.contains("zip");
    let by_name = name.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        [".xml", ".gz", ".gzip", ".zip", ".json"]
            .iter()
            .any(|ext| n.ends_with(ext))
    });
    by_type || by_name
}

/// What a piece of input is, by content.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Gzip,
    Zip,
    Xml,
    Json,
    Mbox,
    Mail,
    Other(&'static str),
}

fn sniff(bytes: &[u8]) -> Kind {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if bytes.starts_with(b"From ") {
        return Kind::Mbox;
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| text[i]) {
        None => Kind::Other(if bytes.is_empty() {
            "empty file"
        } else {
            "only whitespace"
        }),
        Some(b'<') => Kind::Xml,
        Some(b'{') => Kind::Json,
        Some(_) if starts_with_header_field(bytes) => Kind::Mail,
        Some(_) if bytes.iter().take(512).any(|b| *b == 0 || *b >= 0x80) => {
            Kind::Other("binary data")
        }
        Some(_) => Kind::Other("text that is neither XML, JSON nor a mail message"),
    }
}

/// RFC 5322 §2.2: a field name (printable ASCII but `:`) then `:`.
fn starts_with_header_field(bytes: &[u8]) -> bool {
    let name_len = bytes
        .iter()
        .take(128)
        .take_while(|b| (33..=126).contains(*b) && **b != b':')
        .count();
    name_len > 0 && bytes.get(name_len) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn items_of(bytes: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        read_bytes(bytes, "input", &Limits::default(), &mut |item| {
            items.push(item)
        });
        items
    }

    /// Found by fuzz/report_source: a zip archive holding no file gave no item at all, a silent
    /// skip (RFC 9990 §8.1; the module's contract: every input is a report or a refusal). The
    /// fuzzer's input is kept as found in testdata/fuzz-regressions/.
    #[test]
    fn fuzz_regression_zip_without_a_file_is_refused_not_skipped() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/fuzz-regressions/report_source-zip-without-file.zip"
        );
        let found = std::fs::read(path).expect("the regression input is in testdata");
        let items = items_of(&found);
        assert!(
            !items.is_empty(),
            "the fuzzer's zip vanished without an item"
        );

        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .add_directory("reports/", zip::write::SimpleFileOptions::default())
            .expect("a directory entry");
        let only_a_directory = writer.finish().expect("the archive").into_inner();
        let items = items_of(&only_a_directory);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].origin, "input");
        assert_eq!(items[0].outcome.as_ref().err(), Some(&Rejected::EmptyZip));
        assert_eq!(
            Rejected::EmptyZip.to_string(),
            "zip archive without a file (no members, or only directories)"
        );
    }

    /// `read_bytes` refuses what is over `max_input` unread, as a file of that size is.
    #[test]
    fn read_bytes_refuses_input_over_max_input() {
        let limits = Limits {
            max_input: 4,
            ..Limits::default()
        };
        let mut items = Vec::new();
        read_bytes(b"<feedback/>", "big", &limits, &mut |item| items.push(item));
        assert_eq!(items.len(), 1);
        assert!(matches!(
            items[0].outcome,
            Err(Rejected::TooLarge { size: 11, limit: 4 })
        ));
    }
}
