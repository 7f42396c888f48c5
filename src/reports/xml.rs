//! DMARC aggregate report XML → [`AggregateReport`]: RFC 9990 §3.1 "Aggregate Reports" and its
//! §3.1.1 "Description of the content XML file" (the `urn:ietf:params:xml:ns:dmarc-2.0` schema,
//! with `np`, `testing`, `discovery_method`, `generator`), and the legacy RFC 7489 Appendix C
//! "DMARC XML Schema" (no namespace; `pct`, `fo`, SPF `scope`, the `forwarded` and `sampled_out`
//! override reasons; RFC 9990 §3.1.6 "Policy Override Reason" has the current list).
//!
//! The reader is lenient where real receivers deviate and the meaning is still clear: surrounding
//! whitespace, upper-case words, element order, a missing `envelope_from` or `version`, unknown
//! elements (`extension`, vendor additions) skipped. It is strict where the data would be wrong:
//! a required field missing (report metadata `org_name`, `report_id`, `date_range`; the
//! `policy_published` domain; each record's `source_ip`, `count`, `header_from`), a `source_ip`
//! that is not an address, a `count` that is not an unsigned integer. It is hostile-safe (RFC
//! 9990 §8.1 "Report Contents as an Attack"): a DTD is refused, so no entity is ever declared;
//! only the five predefined entities and numeric character references are read (there is no
//! entity expansion at all); nesting depth and record count are bounded by [`Limits`].
//!
//! This module only parses; it does not read files ([`super::source`]) or judge the results.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::model::{
    AggregateFormat, AggregateReport, DkimResult, Limits, PolicyPublished, Reason, Record,
    SpfResult,
};

/// The RFC 9990 namespace.
const NS_RFC9990: &str = "urn:ietf:params:xml:ns:dmarc-2.0";

/// Longest piece of offending input quoted in an error.
const QUOTE_MAX: usize = 64;

/// Where in the input a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset from the start of the (decompressed) report.
    pub offset: u64,
    /// 1-based line number.
    pub line: u64,
}

impl Position {
    /// The position of byte `offset` in `input`.
    pub fn at(input: &[u8], offset: u64) -> Position {
        let end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let line = 1 + memchr::memchr_iter(b'\n', &input[..end]).count() as u64;
        Position { offset, line }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (byte {})", self.line, self.offset)
    }
}

/// Why a report (XML or JSON) was refused. Each variant names what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing to parse.
    #[error("empty report")]
    Empty,
    /// The bytes are not UTF-8 text.
    #[error("not UTF-8 text at byte {offset}")]
    NotUtf8 {
        /// The first invalid byte.
        offset: u64,
    },
    /// The XML is not well-formed (truncated, a mismatched tag, ...).
    #[error("malformed XML at {at}{}: {message}", if path.is_empty() { String::new() } else { format!(" in {path}") })]
    Xml {
        /// Where the reader stopped.
        at: Position,
        /// The elements open there (`feedback/record/identifiers`).
        path: String,
        /// The XML reader's description.
        message: String,
    },
    /// A `<!DOCTYPE` (and so possibly entity declarations): never read, so never expanded.
    #[error("DTD not allowed (<!DOCTYPE at {at}): entity declarations are never expanded")]
    Dtd {
        /// Where the DOCTYPE starts.
        at: Position,
    },
    /// A reference to an entity other than the five XML predefines or a character reference.
    #[error(
        "entity reference &{name}; at {at} not allowed: only &lt; &gt; &amp; &apos; &quot; \
         and numeric character references are read"
    )]
    Entity {
        /// The entity's name.
        name: String,
        /// Where the reference is.
        at: Position,
    },
    /// Elements nested deeper than [`Limits::max_xml_depth`].
    #[error("XML nesting deeper than {limit} elements at {at} ({path})")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// The element path reached.
        path: String,
        /// Where the element that went too deep starts.
        at: Position,
    },
    /// More records (or TLS failure details) than [`Limits::max_records`].
    #[error("more than {limit} records (limit max_records){}", at.map(|a| format!(" at {a}")).unwrap_or_default())]
    TooManyRecords {
        /// The limit.
        limit: usize,
        /// Where the record over the limit starts, when known (XML).
        at: Option<Position>,
    },
    /// The document is XML but not a DMARC aggregate report.
    #[error("root element is <{found}>, not <feedback>: not a DMARC aggregate report")]
    NotFeedback {
        /// The root element's name.
        found: String,
    },
    /// A required element or field is absent (or empty).
    #[error("missing required {path}{}", at.map(|a| format!(" (in the element at {a})")).unwrap_or_default())]
    Missing {
        /// The element path (`feedback/record[2]/row/source_ip`) or JSON field.
        path: String,
        /// Where the enclosing element starts, when known.
        at: Option<Position>,
    },
    /// A field's value is not what its type requires.
    #[error("{path}{}: {value:?} is not {expected}", at.map(|a| format!(" at {a}")).unwrap_or_default())]
    Invalid {
        /// The element path or JSON field.
        path: String,
        /// The offending value (shortened).
        value: String,
        /// What it should be.
        expected: &'static str,
        /// Where the element ends, when known.
        at: Option<Position>,
    },
    /// The JSON is not well-formed.
    #[error("malformed JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The JSON reader's description.
        message: String,
    },
}

impl ParseError {
    /// The error with its position filled in, where it has a place for one and none yet.
    fn located(self, here: Position) -> ParseError {
        match self {
            ParseError::Missing { path, at: None } => ParseError::Missing {
                path,
                at: Some(here),
            },
            ParseError::Invalid {
                path,
                value,
                expected,
                at: None,
            } => ParseError::Invalid {
                path,
                value,
                expected,
                at: Some(here),
            },
            other => other,
        }
    }
}

/// `value`, cut to [`QUOTE_MAX`] characters for an error message.
pub(crate) fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// `bytes` as text, without a leading byte-order mark.
pub(crate) fn utf8_text(bytes: &[u8]) -> Result<&str, ParseError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| ParseError::NotUtf8 {
        offset: e.valid_up_to() as u64,
    })
}

/// Parse one aggregate report (RFC 9990 §3.1.1, or RFC 7489 Appendix C).
pub fn parse_aggregate(input: &[u8], limits: &Limits) -> Result<AggregateReport, ParseError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let text = if declares_latin1(input) {
        Cow::Owned(input.iter().map(|&b| char::from(b)).collect())
    } else {
        Cow::Borrowed(utf8_text(input)?)
    };
    let text = text.as_ref();
    let mut parser = Parser {
        input: text.as_bytes(),
        limits,
        stack: Vec::new(),
        text: String::new(),
        report: Draft::default(),
        record: None,
        record_at: 0,
        pos: 0,
    };
    parser.run(text)?;
    parser.report.finish()
}

/// Whether the XML declaration names ISO-8859-1 (or its Windows superset): some receivers
/// write reports so, and every byte is then one character. Anything else must be UTF-8.
fn declares_latin1(input: &[u8]) -> bool {
    let head = &input[..input.len().min(128)];
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return false;
    };
    let decl = head[..end].to_ascii_lowercase();
    decl.starts_with(b"<?xml")
        && [
            "iso-8859-1",
            "iso8859-1",
            "latin1",
            "latin-1",
            "windows-1252",
        ]
        .iter()
        .any(|name| {
            decl.windows(name.len() + 1)
                .any(|w| &w[1..] == name.as_bytes() && (w[0] == b'"' || w[0] == b'\''))
        })
}

/// The report as read so far.
#[derive(Default)]
struct Draft {
    format: Option<AggregateFormat>,
    org_name: Option<String>,
    email: Option<String>,
    extra_contact_info: Option<String>,
    report_id: Option<String>,
    begin: Option<i64>,
    end: Option<i64>,
    errors: Vec<String>,
    generator: Option<String>,
    policy: PolicyPublished,
    records: Vec<Record>,
}

impl Draft {
    fn finish(self) -> Result<AggregateReport, ParseError> {
        let missing = |path: &str| ParseError::Missing {
            path: path.to_owned(),
            at: None,
        };
        if self.policy.domain.is_empty() {
            return Err(missing("feedback/policy_published/domain"));
        }
        Ok(AggregateReport {
            format: self.format.unwrap_or(AggregateFormat::Rfc7489),
            org_name: self
                .org_name
                .ok_or_else(|| missing("feedback/report_metadata/org_name"))?,
            email: self.email,
            extra_contact_info: self.extra_contact_info,
            report_id: self
                .report_id
                .ok_or_else(|| missing("feedback/report_metadata/report_id"))?,
            begin: self
                .begin
                .ok_or_else(|| missing("feedback/report_metadata/date_range/begin"))?,
            end: self
                .end
                .ok_or_else(|| missing("feedback/report_metadata/date_range/end"))?,
            errors: self.errors,
            generator: self.generator,
            policy: self.policy,
            records: self.records,
        })
    }
}

/// One `record` as read so far.
#[derive(Default)]
struct RecordDraft {
    source_ip: Option<IpAddr>,
    count: Option<u64>,
    disposition: String,
    dkim_aligned: String,
    spf_aligned: String,
    reasons: Vec<Reason>,
    header_from: Option<String>,
    envelope_from: Option<String>,
    envelope_to: Option<String>,
    dkim: Vec<DkimResult>,
    spf: Vec<SpfResult>,
}

impl RecordDraft {
    fn finish(self, index: usize) -> Result<Record, ParseError> {
        let missing = |field: &str| ParseError::Missing {
            path: format!("feedback/record[{index}]/{field}"),
            at: None,
        };
        Ok(Record {
            source_ip: self.source_ip.ok_or_else(|| missing("row/source_ip"))?,
            count: self.count.ok_or_else(|| missing("row/count"))?,
            disposition: self.disposition,
            dkim_aligned: self.dkim_aligned,
            spf_aligned: self.spf_aligned,
            reasons: self.reasons,
            header_from: self
                .header_from
                .ok_or_else(|| missing("identifiers/header_from"))?,
            envelope_from: self.envelope_from,
            envelope_to: self.envelope_to,
            dkim: self.dkim,
            spf: self.spf,
        })
    }
}

struct Parser<'a> {
    input: &'a [u8],
    limits: &'a Limits,
    /// Local names of the open elements, lower case.
    stack: Vec<String>,
    /// Character data of the innermost open element since its last child.
    text: String,
    report: Draft,
    record: Option<RecordDraft>,
    /// Byte offset where the open record starts.
    record_at: u64,
    /// Byte offset of the event being handled.
    pos: u64,
}

impl<'a> Parser<'a> {
    fn run(&mut self, text: &'a str) -> Result<(), ParseError> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        loop {
            self.pos = reader.buffer_position();
            let event = reader.read_event().map_err(|e| ParseError::Xml {
                at: self.at(reader.error_position()),
                path: self.stack.join("/"),
                message: e.to_string(),
            })?;
            match event {
                Event::Start(e) => self.start(&e)?,
                Event::Empty(e) => {
                    self.start(&e)?;
                    self.end()?;
                }
                Event::End(_) => self.end()?,
                Event::Text(t) => self.text.push_str(&t.xml10_content()),
                Event::CData(t) => self.text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => self.reference(&r)?,
                Event::DocType(_) => {
                    return Err(ParseError::Dtd {
                        at: self.at(self.pos),
                    });
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if self.stack.is_empty() && self.report.format.is_some() {
            Ok(())
        } else {
            Err(ParseError::Xml {
                at: self.at(self.input.len() as u64),
                path: self.stack.join("/"),
                message: if self.report.format.is_none() {
                    "no root element".to_owned()
                } else {
                    format!("truncated: <{}> not closed", self.stack.join("/"))
                },
            })
        }
    }

    fn at(&self, offset: u64) -> Position {
        Position::at(self.input, offset)
    }

    fn reference(&mut self, r: &quick_xml::events::BytesRef<'_>) -> Result<(), ParseError> {
        let name = r.xml10_content();
        let resolved = match name.as_ref() {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => r.resolve_char_ref().ok().flatten(),
        };
        match resolved {
            Some(c) => {
                self.text.push(c);
                Ok(())
            }
            None => Err(ParseError::Entity {
                name: quote(&name),
                at: self.at(self.pos),
            }),
        }
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(), ParseError> {
        let name = e.local_name().as_ref().to_ascii_lowercase();
        if self.stack.len() >= self.limits.max_xml_depth {
            return Err(ParseError::TooDeep {
                limit: self.limits.max_xml_depth,
                path: format!("{}/{name}", self.stack.join("/")),
                at: self.at(self.pos),
            });
        }
        if self.stack.is_empty() {
            if self.report.format.is_some() {
                return Err(ParseError::Xml {
                    at: self.at(self.pos),
                    path: String::new(),
                    message: "a second root element".to_owned(),
                });
            }
            if name != "feedback" {
                return Err(ParseError::NotFeedback {
                    found: quote(&name),
                });
            }
            self.report.format = Some(format_of(e));
        }
        self.stack.push(name);
        self.text.clear();
        let path: Vec<&str> = self.stack.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["feedback", "record"] => {
                if self.report.records.len() >= self.limits.max_records {
                    return Err(ParseError::TooManyRecords {
                        limit: self.limits.max_records,
                        at: Some(self.at(self.pos)),
                    });
                }
                self.record = Some(RecordDraft::default());
                self.record_at = self.pos;
            }
            ["feedback", "record", rest @ ..] => {
                if let Some(record) = self.record.as_mut() {
                    open_in_record(record, rest);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), ParseError> {
        let value = std::mem::take(&mut self.text);
        let mut stack = std::mem::take(&mut self.stack);
        let closed = self.close(&stack, value.trim());
        stack.pop();
        self.stack = stack;
        closed
    }

    /// The innermost element of `stack` closed, its text `value`.
    fn close(&mut self, stack: &[String], value: &str) -> Result<(), ParseError> {
        let path: Vec<&str> = stack.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["feedback", "report_metadata", rest @ ..] => self.metadata(rest, value)?,
            ["feedback", "policy_published", field] => self.policy(field, value),
            ["feedback", "record"] => {
                let index = self.report.records.len() + 1;
                if let Some(record) = self.record.take() {
                    let at = self.record_at;
                    let record = record.finish(index).map_err(|e| e.located(self.at(at)))?;
                    self.report.records.push(record);
                }
            }
            ["feedback", "record", rest @ ..] => {
                let index = self.report.records.len() + 1;
                let at = self.pos;
                if let Some(record) = self.record.as_mut() {
                    record_field(record, rest, value, index)
                        .map_err(|e| e.located(Position::at(self.input, at)))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn metadata(&mut self, rest: &[&str], value: &str) -> Result<(), ParseError> {
        let r = &mut self.report;
        let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        match rest {
            ["org_name"] => r.org_name = some(value),
            ["email"] => r.email = some(value),
            ["extra_contact_info"] => r.extra_contact_info = some(value),
            ["report_id"] => r.report_id = some(value),
            ["generator"] => r.generator = some(value),
            ["error"] => r.errors.push(value.to_owned()),
            ["date_range", which @ ("begin" | "end")] => {
                let seconds = if value.is_empty() {
                    None
                } else {
                    Some(value.parse::<i64>().map_err(|_| ParseError::Invalid {
                        path: format!("feedback/report_metadata/date_range/{which}"),
                        value: quote(value),
                        expected: "an integer (seconds since the epoch)",
                        at: Some(Position::at(self.input, self.pos)),
                    })?)
                };
                if *which == "begin" {
                    r.begin = seconds;
                } else {
                    r.end = seconds;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn policy(&mut self, field: &str, value: &str) {
        let p = &mut self.report.policy;
        let word = || (!value.is_empty()).then(|| value.to_ascii_lowercase());
        match field {
            "domain" => p.domain = value.trim_end_matches('.').to_ascii_lowercase(),
            "p" => p.p = word(),
            "sp" => p.sp = word(),
            "np" => p.np = word(),
            "adkim" => p.adkim = word(),
            "aspf" => p.aspf = word(),
            // A `pct` that is not a percentage is not used: RFC 9989 dropped it anyway.
            "pct" => p.pct = value.parse::<u8>().ok().filter(|v| *v <= 100),
            "fo" => p.fo = (!value.is_empty()).then(|| value.to_owned()),
            "testing" => p.testing = word(),
            "discovery_method" => p.discovery_method = word(),
            _ => {}
        }
    }
}

/// RFC 9990 when the root is in its namespace, otherwise RFC 7489.
fn format_of(e: &BytesStart<'_>) -> AggregateFormat {
    let in_9990 = e.attributes().flatten().any(|a| {
        let key = a.key.as_ref();
        (key == "xmlns" || key.starts_with("xmlns:")) && a.value.as_ref() == NS_RFC9990
    });
    if in_9990 {
        AggregateFormat::Rfc9990
    } else {
        AggregateFormat::Rfc7489
    }
}

/// A new repeated child inside a record: a reason, a DKIM or an SPF result.
fn open_in_record(record: &mut RecordDraft, rest: &[&str]) {
    match rest {
        ["row", "policy_evaluated", "reason"] => record.reasons.push(Reason {
            kind: String::new(),
            comment: None,
        }),
        ["auth_results", "dkim"] => record.dkim.push(DkimResult {
            domain: String::new(),
            selector: None,
            result: String::new(),
            human_result: None,
        }),
        ["auth_results", "spf"] => record.spf.push(SpfResult {
            domain: String::new(),
            scope: None,
            result: String::new(),
        }),
        _ => {}
    }
}

/// A leaf inside `record` closed with `value` (trimmed).
fn record_field(
    record: &mut RecordDraft,
    rest: &[&str],
    value: &str,
    index: usize,
) -> Result<(), ParseError> {
    let word = value.to_ascii_lowercase();
    let domain = || value.trim_end_matches('.').to_ascii_lowercase();
    let text = || (!value.is_empty()).then(|| value.to_owned());
    let invalid = |field: &str, expected| ParseError::Invalid {
        path: format!("feedback/record[{index}]/{field}"),
        value: quote(value),
        expected,
        at: None,
    };
    match rest {
        ["row", "source_ip"] => {
            record.source_ip = Some(
                value
                    .parse::<IpAddr>()
                    .map_err(|_| invalid("row/source_ip", "an IP address"))?,
            );
        }
        ["row", "count"] => {
            record.count = Some(
                value
                    .parse::<u64>()
                    .map_err(|_| invalid("row/count", "a non-negative integer (u64)"))?,
            );
        }
        ["row", "policy_evaluated", "disposition"] => record.disposition = word,
        ["row", "policy_evaluated", "dkim"] => record.dkim_aligned = word,
        ["row", "policy_evaluated", "spf"] => record.spf_aligned = word,
        ["row", "policy_evaluated", "reason", field] => {
            if let Some(reason) = record.reasons.last_mut() {
                match *field {
                    "type" => reason.kind = word,
                    "comment" => reason.comment = text(),
                    _ => {}
                }
            }
        }
        ["identifiers", "header_from"] => {
            record.header_from = Some(domain()).filter(|d| !d.is_empty());
        }
        ["identifiers", "envelope_from"] => {
            record.envelope_from = Some(domain()).filter(|d| !d.is_empty());
        }
        ["identifiers", "envelope_to"] => {
            record.envelope_to = Some(domain()).filter(|d| !d.is_empty());
        }
        ["auth_results", "dkim", field] => {
            if let Some(dkim) = record.dkim.last_mut() {
                match *field {
                    "domain" => dkim.domain = domain(),
                    "selector" => dkim.selector = text(),
                    "result" => dkim.result = word,
                    "human_result" => dkim.human_result = text(),
                    _ => {}
                }
            }
        }
        ["auth_results", "spf", field] => {
            if let Some(spf) = record.spf.last_mut() {
                match *field {
                    "domain" => spf.domain = domain(),
                    "scope" => spf.scope = Some(word).filter(|w| !w.is_empty()),
                    "result" => spf.result = word,
                    _ => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}
