//! Mail messages out of paths, one at a time: single files, directories, Maildirs and mbox files.
//!
//! This module owns the two pieces every "many messages" reader in mailauth shares: the mbox
//! splitter ([`MboxReader`], RFC 4155) and the directory listing rules ([`list_directory`]: sorted
//! order, dot files and mail-server files skipped, a Maildir read through `cur/` and `new/` only).
//! [`Messages`] builds on both to stream raw messages for `mailauth verify`; the report reader
//! (`reports::source`) uses the same two pieces for its own, content-sniffing walk.
//!
//! Memory is bounded whatever the input: an mbox is read in line chunks of at most
//! [`MBOX_CHUNK`] bytes and one message at a time, and a message over the caller's limit is
//! counted, not kept. Nothing here parses a message or looks inside it beyond the mbox `From `
//! separator lines; what cannot be read becomes an [`Item`] with a [`Refused`] reason, never a
//! panic and never a silent skip.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Piece of an mbox line read at a time, so one endless line costs bounded memory.
pub const MBOX_CHUNK: u64 = 64 << 10;

/// How to read the paths given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Tell by content and layout: a file starting `From ` is an mbox, any other file one
    /// message; a directory with `cur/` or `new/` is a Maildir, any other is walked.
    #[default]
    Detect,
    /// Every file is an mbox (RFC 4155); one that does not start with `From ` is refused.
    Mbox,
    /// Every path is a Maildir; a path that is not a directory with `cur/` or `new/` is refused.
    Maildir,
}

/// One message read, or one piece of input refused.
#[derive(Debug)]
pub struct Item {
    /// Where it came from: `path`, or `path#N` for the Nth message of an mbox (1-based).
    pub origin: String,
    /// The message's raw bytes, or why it was not read.
    pub outcome: Result<Vec<u8>, Refused>,
}

/// Why a path or an mbox message yields no message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// Larger than the limit: not read (or, in an mbox, read past and dropped).
    #[error("{size} bytes, over the limit of {limit} bytes: not read")]
    TooLarge {
        /// Its size (at least; an mbox message is counted to its end).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a regular file (a FIFO, a device, a socket), or a symbolic link to a directory
    /// (which could loop): not opened.
    #[error("not read: {what}")]
    NotAFile {
        /// What it is.
        what: &'static str,
    },
    /// `--mbox` was asked for and the file does not start with an RFC 4155 `From ` line.
    #[error("not an mbox: the file does not start with a `From ` line (RFC 4155)")]
    NotMbox,
    /// `--maildir` was asked for and the path is not a directory with `cur/` or `new/`.
    #[error("not a Maildir: no cur/ or new/ directory")]
    NotMaildir,
    /// Reading failed.
    #[error("cannot read: {message}")]
    Io {
        /// The system's description.
        message: String,
    },
}

impl Refused {
    fn io(e: &io::Error) -> Refused {
        Refused::Io {
            message: e.to_string(),
        }
    }
}

/// Why reading could not even start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxError {
    /// A path given does not exist (or cannot be looked at).
    #[error("{}: {source}", path.display())]
    Missing {
        /// The path as given.
        path: PathBuf,
        /// The system's description.
        source: io::Error,
    },
}

/// Whether `dir` is laid out as a Maildir: it has a `cur/` or a `new/` directory.
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// Whether the file starts as an mbox does (`From `, RFC 4155). Unreadable files say no.
pub fn is_mbox_file(path: &Path) -> bool {
    let mut head = [0u8; 5];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .is_ok_and(|()| &head == b"From ")
}

/// One entry of a directory listing, as [`list_directory`] hands it on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// A path to read (a file, a directory, or something the reader will refuse).
    Path(PathBuf),
    /// A symbolic link to a directory: not followed, since it could loop.
    LinkedDirectory(PathBuf),
}

/// The entries of `dir` to read, sorted by name so every run reads in the same order.
///
/// Dot files and the mail server's own files (`dovecot*`) are skipped; of a Maildir (see
/// [`is_maildir`]) only `cur/` and `new/` are listed: never `tmp/`, where messages are still
/// being written, nor `maildirfolder`, `courierimap*` or index files beside them.
pub fn list_directory(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let maildir = is_maildir(dir);
    let mut listed = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with("dovecot") {
            continue;
        }
        if maildir && name != "cur" && name != "new" {
            continue;
        }
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_symlink()) && path.is_dir() {
            listed.push(Entry::LinkedDirectory(path));
        } else {
            listed.push(Entry::Path(path));
        }
    }
    Ok(listed)
}

/// One message of an mbox.
#[derive(Debug)]
pub struct MboxMessage {
    /// Its position in the mbox, from 1.
    pub index: usize,
    /// Its bytes (separator line removed, `>From ` unquoted), or why not.
    pub outcome: Result<Vec<u8>, MboxRefusal>,
}

/// Why an mbox message is not handed on.
#[derive(Debug)]
#[non_exhaustive]
pub enum MboxRefusal {
    /// The message is larger than the reader's limit; it was read past, not kept.
    TooLarge {
        /// Its size (after unquoting).
        size: u64,
    },
    /// Reading failed; the mbox is not read further.
    Io(io::Error),
}

/// An RFC 4155 mbox split into messages, one at a time.
///
/// A message starts after each line beginning `From ` (the separator, dropped) and ends before
/// the next one; lines before the first separator are not a message. A body line quoted as
/// `>From `, `>>From `, ... loses one `>` (mboxrd, and mboxo's `>From `). The empty line a writer
/// puts before the next separator (RFC 4155 §2) is dropped. Lines are read in chunks of at most
/// [`MBOX_CHUNK`] bytes and a message over `limit` is counted, not kept, so memory stays bounded
/// by `limit` plus one chunk.
#[derive(Debug)]
pub struct MboxReader<R> {
    reader: R,
    limit: u64,
    /// The message being read: its number (0 before the first separator) and bytes so far.
    index: usize,
    message: Vec<u8>,
    /// `Some(size)` once the current message has passed the limit.
    oversize: Option<u64>,
    chunk: Vec<u8>,
    at_line_start: bool,
    /// The rest of an over-long separator line is still to be skipped.
    in_separator: bool,
    done: bool,
}

impl<R: BufRead> MboxReader<R> {
    /// Split `reader`, refusing messages over `limit` bytes.
    pub fn new(reader: R, limit: u64) -> MboxReader<R> {
        MboxReader {
            reader,
            limit,
            index: 0,
            message: Vec::new(),
            oversize: None,
            chunk: Vec::new(),
            at_line_start: true,
            in_separator: false,
            done: false,
        }
    }

    /// The message just completed, with the reader ready for the next.
    fn finish(&mut self) -> MboxMessage {
        let outcome = match self.oversize.take() {
            Some(size) => Err(MboxRefusal::TooLarge { size }),
            None => {
                let mut bytes = std::mem::take(&mut self.message);
                drop_separator_blank_line(&mut bytes);
                Ok(bytes)
            }
        };
        self.message = Vec::new();
        MboxMessage {
            index: self.index,
            outcome,
        }
    }

    fn append(&mut self, line_start: bool) {
        // mboxrd quoting: `>From ` (with any number of `>`) loses one `>`.
        let line = if line_start && is_quoted_from(&self.chunk) {
            &self.chunk[1..]
        } else {
            &self.chunk[..]
        };
        if let Some(size) = self.oversize.as_mut() {
            *size += line.len() as u64;
        } else if (self.message.len() + line.len()) as u64 > self.limit {
            self.oversize = Some((self.message.len() + line.len()) as u64);
            self.message = Vec::new();
        } else {
            self.message.extend_from_slice(line);
        }
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = MboxMessage;

    fn next(&mut self) -> Option<MboxMessage> {
        while !self.done {
            self.chunk.clear();
            let line_start = self.at_line_start;
            match (&mut self.reader)
                .take(MBOX_CHUNK)
                .read_until(b'\n', &mut self.chunk)
            {
                Ok(0) => {
                    self.done = true;
                    return (self.index > 0).then(|| self.finish());
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(MboxMessage {
                        index: self.index.max(1),
                        outcome: Err(MboxRefusal::Io(e)),
                    });
                }
            }
            self.at_line_start = self.chunk.ends_with(b"\n");
            if self.in_separator {
                self.in_separator = !self.at_line_start;
                continue;
            }
            if line_start && self.chunk.starts_with(b"From ") {
                self.in_separator = !self.at_line_start;
                let finished = (self.index > 0).then(|| self.finish());
                self.index += 1;
                if finished.is_some() {
                    return finished;
                }
                continue;
            }
            if self.index > 0 {
                self.append(line_start);
            }
        }
        None
    }
}

/// RFC 4155 §2: a writer ends each message with an empty line before the next `From `; it belongs
/// to the mbox, not to the message.
fn drop_separator_blank_line(bytes: &mut Vec<u8>) {
    if bytes.ends_with(b"\r\n\r\n") {
        bytes.truncate(bytes.len() - 2);
    } else if bytes.ends_with(b"\n\n") {
        bytes.truncate(bytes.len() - 1);
    }
}

fn is_quoted_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|b| **b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

/// Work still to do, innermost last.
#[derive(Debug)]
enum Pending {
    /// A path to look at; `top` when given by the caller (where `--maildir` applies).
    Path { path: PathBuf, top: bool },
    /// A refusal found while listing, handed on in its turn.
    Refusal { origin: String, why: Refused },
    /// An mbox being split.
    Mbox {
        origin: String,
        reader: Box<MboxReader<BufReader<File>>>,
    },
}

/// Every message under a list of paths, in a stable order, one at a time (an `Iterator` of
/// [`Item`]s). Directories are walked in sorted order ([`list_directory`]); an mbox is split as it
/// is read. At most one message, plus one mbox chunk and the pending directory listings, is held
/// at a time.
#[derive(Debug)]
pub struct Messages {
    format: Format,
    limit: u64,
    stack: Vec<Pending>,
}

impl Messages {
    /// Messages under `paths`, read as `format` says, each at most `limit` bytes. Every path must
    /// exist: a missing one is an error before anything is read.
    pub fn new(paths: &[PathBuf], format: Format, limit: u64) -> Result<Messages, MailboxError> {
        for path in paths {
            std::fs::metadata(path).map_err(|source| MailboxError::Missing {
                path: path.clone(),
                source,
            })?;
        }
        let stack = paths
            .iter()
            .rev()
            .map(|path| Pending::Path {
                path: path.clone(),
                top: true,
            })
            .collect();
        Ok(Messages {
            format,
            limit,
            stack,
        })
    }

    /// Look at one path: push what it holds, or return its one item.
    fn path(&mut self, path: PathBuf, top: bool) -> Option<Item> {
        let origin = path.display().to_string();
        let refuse = |why| {
            Some(Item {
                origin: origin.clone(),
                outcome: Err(why),
            })
        };
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) => return refuse(Refused::io(&e)),
        };
        if top && self.format == Format::Maildir && !(meta.is_dir() && is_maildir(&path)) {
            return refuse(Refused::NotMaildir);
        }
        if meta.is_dir() {
            self.directory(&path);
            return None;
        }
        if !meta.is_file() {
            return refuse(Refused::NotAFile {
                what: "not a regular file (a FIFO, device or socket)",
            });
        }
        self.file(path, origin, meta.len())
    }

    fn directory(&mut self, dir: &Path) {
        let entries = match list_directory(dir) {
            Ok(entries) => entries,
            Err(e) => {
                return self.stack.push(Pending::Refusal {
                    origin: dir.display().to_string(),
                    why: Refused::io(&e),
                });
            }
        };
        for entry in entries.into_iter().rev() {
            self.stack.push(match entry {
                Entry::Path(path) => Pending::Path { path, top: false },
                Entry::LinkedDirectory(path) => Pending::Refusal {
                    origin: path.display().to_string(),
                    why: Refused::NotAFile {
                        what: "a symbolic link to a directory (not followed: it could loop)",
                    },
                },
            });
        }
    }

    /// A regular file: an mbox is queued for splitting, any other file is one message.
    fn file(&mut self, path: PathBuf, origin: String, size: u64) -> Option<Item> {
        let refuse = |why| {
            Some(Item {
                origin: origin.clone(),
                outcome: Err(why),
            })
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => return refuse(Refused::io(&e)),
        };
        let mut reader = BufReader::new(file);
        let mbox = match reader.fill_buf() {
            Ok(head) => head.starts_with(b"From "),
            Err(e) => return refuse(Refused::io(&e)),
        };
        if mbox {
            let reader = Box::new(MboxReader::new(reader, self.limit));
            self.stack.push(Pending::Mbox { origin, reader });
            return None;
        }
        if self.format == Format::Mbox {
            return refuse(Refused::NotMbox);
        }
        if size > self.limit {
            return refuse(Refused::TooLarge {
                size,
                limit: self.limit,
            });
        }
        let mut bytes = Vec::new();
        // The file may have grown since its size was read: never read past the limit.
        match reader.take(self.limit + 1).read_to_end(&mut bytes) {
            Ok(_) if bytes.len() as u64 > self.limit => refuse(Refused::TooLarge {
                size: bytes.len() as u64,
                limit: self.limit,
            }),
            Ok(_) => Some(Item {
                origin,
                outcome: Ok(bytes),
            }),
            Err(e) => refuse(Refused::io(&e)),
        }
    }
}

impl Iterator for Messages {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while let Some(pending) = self.stack.pop() {
            match pending {
                Pending::Path { path, top } => {
                    if let Some(item) = self.path(path, top) {
                        return Some(item);
                    }
                }
                Pending::Refusal { origin, why } => {
                    return Some(Item {
                        origin,
                        outcome: Err(why),
                    });
                }
                Pending::Mbox { origin, mut reader } => {
                    let Some(message) = reader.next() else {
                        continue;
                    };
                    let item = Item {
                        origin: format!("{origin}#{}", message.index),
                        outcome: message.outcome.map_err(|why| match why {
                            MboxRefusal::TooLarge { size } => Refused::TooLarge {
                                size,
                                limit: self.limit,
                            },
                            MboxRefusal::Io(e) => Refused::io(&e),
                        }),
                    };
                    self.stack.push(Pending::Mbox { origin, reader });
                    return Some(item);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mbox: &[u8], limit: u64) -> Vec<Result<Vec<u8>, u64>> {
        MboxReader::new(mbox, limit)
            .map(|m| {
                m.outcome.map_err(|why| match why {
                    MboxRefusal::TooLarge { size } => size,
                    MboxRefusal::Io(_) => u64::MAX,
                })
            })
            .collect()
    }

    /// RFC 4155 §2: each message begins with a `From ` line; the blank line before the next
    /// separator belongs to the mbox.
    #[test]
    fn rfc4155_2_split_at_from_lines_and_drop_separator_blank_line() {
        let mbox = b"From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n\nFrom b@y Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody2\n";
        let messages = split(mbox, 1000);
        assert_eq!(
            messages,
            vec![
                Ok(b"Subject: one\n\nbody\n".to_vec()),
                Ok(b"Subject: two\n\nbody2\n".to_vec())
            ]
        );
    }

    /// mboxrd: `>From ` and `>>From ` lose one `>`; a `From` not at a line start is kept.
    #[test]
    fn rfc4155_mboxrd_quoted_from_lines_are_unquoted_once() {
        let mbox = b"From a@x\nS: 1\n\n>From here\n>>From there\nnot From x\n";
        assert_eq!(
            split(mbox, 1000),
            vec![Ok(b"S: 1\n\nFrom here\n>From there\nnot From x\n".to_vec())]
        );
    }

    #[test]
    fn mbox_message_over_limit_is_counted_not_kept() {
        let mbox = b"From a\n0123456789\n0123456789\nFrom b\nS: 2\n";
        let messages = split(mbox, 15);
        assert_eq!(messages, vec![Err(22), Ok(b"S: 2\n".to_vec())]);
    }

    #[test]
    fn mbox_text_before_first_separator_is_not_a_message() {
        assert_eq!(
            split(b"junk\nFrom a\nS: 1\n", 100),
            vec![Ok(b"S: 1\n".to_vec())]
        );
        assert!(split(b"no separator\n", 100).is_empty());
    }

    #[test]
    fn mbox_overlong_separator_line_is_skipped_whole() {
        let mut mbox = b"From ".to_vec();
        mbox.extend(std::iter::repeat_n(b'x', (MBOX_CHUNK * 2) as usize));
        mbox.extend_from_slice(b"\nS: 1\n");
        assert_eq!(split(&mbox, 100), vec![Ok(b"S: 1\n".to_vec())]);
    }

    #[test]
    fn maildir_lists_cur_and_new_only_skipping_dot_and_dovecot_files() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("dovecot-uidlist"), "x").unwrap();
        std::fs::write(dir.path().join("new/2"), "A: 2\n").unwrap();
        std::fs::write(dir.path().join("new/.hidden"), "A: 3\n").unwrap();
        std::fs::write(dir.path().join("cur/1"), "A: 1\n").unwrap();
        std::fs::write(dir.path().join("tmp/9"), "A: 9\n").unwrap();
        let items: Vec<_> = Messages::new(&[dir.path().to_owned()], Format::Maildir, 100)
            .unwrap()
            .map(|i| i.outcome.unwrap())
            .collect();
        assert_eq!(items, vec![b"A: 1\n".to_vec(), b"A: 2\n".to_vec()]);
    }

    #[test]
    fn forced_formats_refuse_what_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.eml");
        std::fs::write(&file, "A: 1\n").unwrap();
        let first = |format| {
            Messages::new(std::slice::from_ref(&file), format, 100)
                .unwrap()
                .next()
                .unwrap()
                .outcome
        };
        assert_eq!(first(Format::Mbox), Err(Refused::NotMbox));
        assert_eq!(first(Format::Maildir), Err(Refused::NotMaildir));
        assert_eq!(first(Format::Detect), Ok(b"A: 1\n".to_vec()));
    }

    #[test]
    fn missing_path_is_an_error_before_reading() {
        let missing = PathBuf::from("/nonexistent/mailauth-mailbox-test");
        assert!(matches!(
            Messages::new(&[missing], Format::Detect, 100),
            Err(MailboxError::Missing { .. })
        ));
    }
}
