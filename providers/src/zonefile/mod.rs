//! The zone-file backend (the syntax lives in `mailauth_base::zone`, shared with the resolver),
//! which edits a file in place: records it writes carry a `; mailauth` comment, every other line
//! (foreign records, comments, directives) stays byte for byte, the SOA serial goes up by one,
//! and the file is replaced atomically (`mailauth_base::atomic`). It holds TXT, CNAME, MX and
//! TLSA records; names in CNAME and MX data may be relative to `$ORIGIN` when read and are
//! written absolute. Every failure here is local (the file is missing, unreadable, malformed or
//! unwritable): never a temporary one.

use std::path::{Path, PathBuf};

use mailauth_base::atomic;
use mailauth_base::zone::{
    Entry, NameContext, RecordHead, lex, normalize_name, parse_ttl, record_head,
};

use crate::{
    Capabilities, Change, Mx, Provider, ProviderError, Record, RecordType, Tlsa, absolute_host,
};

/// The comment that marks a line mailauth wrote.
pub const MARKER: &str = "; mailauth";

/// A zone kept in one BIND master file.
#[derive(Debug, Clone)]
pub struct ZoneFileProvider {
    path: PathBuf,
}

/// One record found in the file, with the index of its entry.
struct Found {
    record: Record,
    entry: usize,
}

/// What a scan of the file found: the records mailauth handles and the SOA entry.
struct Scan {
    found: Vec<Found>,
    soa: Option<usize>,
}

impl ZoneFileProvider {
    /// The zone in `path` (which must exist; `mailauth init` creates it).
    pub fn new(path: impl Into<PathBuf>) -> ZoneFileProvider {
        ZoneFileProvider { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A problem with the file itself: always local, never temporary.
    fn error(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Local {
            provider: format!("zonefile {}", self.path.display()),
            reason: reason.into(),
        }
    }

    fn read(&self) -> Result<String, ProviderError> {
        std::fs::read_to_string(&self.path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (check `path` under this provider in the configuration; `mailauth init` creates a zone file)"
            } else {
                ""
            };
            self.error(format!("cannot read the zone file: {e}{hint}"))
        })
    }

    fn lex(&self, text: &str) -> Result<Vec<Entry>, ProviderError> {
        lex(text).map_err(|e| self.error(format!("line {}: {}", e.line, e.reason)))
    }

    /// Every record of a type mailauth handles in `text`, and the SOA entry.
    fn scan(&self, text: &str, entries: &[Entry]) -> Result<Scan, ProviderError> {
        let mut context = NameContext::default();
        let mut scan = Scan {
            found: Vec::new(),
            soa: None,
        };
        for (index, entry) in entries.iter().enumerate() {
            let at = |reason: String| self.error(format!("line {}: {reason}", entry.line));
            let first = &entry.tokens[0];
            if !entry.indented && !first.quoted && first.text.starts_with(b"$") {
                directive(entry, &mut context).map_err(at)?;
                continue;
            }
            let head = record_head(entry, &mut context).map_err(|e| at(e.to_string()))?;
            if head.rtype == "SOA" {
                scan.soa = Some(index);
                continue;
            }
            let Ok(rtype) = head.rtype.parse::<RecordType>() else {
                continue;
            };
            let value = rdata_value(rtype, &head, &context).map_err(at)?;
            scan.found.push(Found {
                record: Record {
                    name: head.owner.clone(),
                    rtype,
                    ttl: head.ttl.or(context.default_ttl).unwrap_or(3600),
                    value,
                    managed: text[entry.start..entry.end].contains(MARKER),
                },
                entry: index,
            });
        }
        Ok(scan)
    }

    fn load(&self) -> Result<(String, Vec<Entry>, Scan), ProviderError> {
        let text = self.read()?;
        let entries = self.lex(&text)?;
        let scan = self.scan(&text, &entries)?;
        Ok((text, entries, scan))
    }
}

/// Apply a `$ORIGIN` or `$TTL` directive; any other is refused (mailauth would not know how
/// to keep the file's meaning while editing it).
fn directive(entry: &Entry, context: &mut NameContext) -> Result<(), String> {
    let directive = entry.tokens[0].lossy().to_ascii_uppercase();
    let arg = entry
        .tokens
        .get(1)
        .ok_or_else(|| format!("{directive} needs a value"))?;
    match directive.as_str() {
        "$ORIGIN" => context.origin = Some(context.name(arg)?),
        "$TTL" => context.default_ttl = parse_ttl(&arg.lossy()),
        other => return Err(format!("{other} is not supported in a zone mailauth edits")),
    }
    Ok(())
}

/// A host name in record data, absolute (relative names against `$ORIGIN`), canonical.
fn rdata_host(token: &mailauth_base::zone::Token, context: &NameContext) -> Result<String, String> {
    if token.text == b"." {
        return Ok(".".into());
    }
    Ok(context.name(token)?)
}

/// The canonical value of a record's data.
fn rdata_value(
    rtype: RecordType,
    head: &RecordHead<'_>,
    context: &NameContext,
) -> Result<String, String> {
    let missing = || format!("{rtype} record without data");
    let text = match rtype {
        RecordType::Txt => {
            let bytes: Vec<u8> = head
                .rdata
                .iter()
                .flat_map(|t| t.text.iter().copied())
                .collect();
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        RecordType::Cname => rdata_host(head.rdata.first().ok_or_else(missing)?, context)?,
        RecordType::Mx => {
            let preference = head.rdata.first().ok_or_else(missing)?.lossy();
            let host = rdata_host(head.rdata.get(1).ok_or_else(missing)?, context)?;
            format!("{preference} {host}")
        }
        _ => head
            .rdata
            .iter()
            .map(mailauth_base::zone::Token::lossy)
            .collect::<Vec<_>>()
            .join(" "),
    };
    rtype.canonical(&text).map_err(|e| e.to_string())
}

/// A record as one line: absolute owner, TTL, type, the data in presentation form.
pub fn record_line(record: &Record) -> String {
    let data = match record.rtype {
        RecordType::Txt => mailauth_base::txt::quote_all(&record.value),
        RecordType::Cname => absolute_host(&record.value),
        RecordType::Mx => match Mx::parse(&record.value) {
            Some(mx) => format!("{} {}", mx.preference, absolute_host(&mx.host)),
            None => record.value.clone(),
        },
        _ => Tlsa::parse(&record.value).map_or_else(|| record.value.clone(), |t| t.to_string()),
    };
    format!(
        "{}. {} IN {} {data} {MARKER}\n",
        record.name, record.ttl, record.rtype
    )
}

/// A TXT record as one line (see [`record_line`]).
pub fn txt_line(record: &Record) -> String {
    record_line(record)
}

impl Provider for ZoneFileProvider {
    fn records(
        &self,
        _zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        let (_, _, scan) = self.load()?;
        let name = normalize_name(name);
        Ok(scan
            .found
            .into_iter()
            .map(|f| f.record)
            .filter(|r| r.name == name && r.rtype == rtype)
            .collect())
    }

    fn apply(&self, _zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let (text, entries, scan) = self.load()?;
        // Edits as (start, end, replacement), applied from the end of the file backwards.
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        let mut appended = String::new();
        let locate = |record: &Record| {
            scan.found
                .iter()
                .find(|f| {
                    f.record.name == record.name
                        && f.record.rtype == record.rtype
                        && f.record.value == record.value
                })
                .map(|f| f.entry)
                .ok_or_else(|| ProviderError::Conflict {
                    name: record.name.clone(),
                    reason: format!(
                        "{} {} is not in the file",
                        record.rtype,
                        record.shown_value()
                    ),
                })
        };
        for change in changes {
            match change {
                Change::Create(record) => appended.push_str(&record_line(record)),
                Change::Update { from, to } => {
                    let entry = &entries[locate(from)?];
                    edits.push((entry.start, entry.end, record_line(to)));
                }
                Change::Delete(record) => {
                    delete_edits(&entries, locate(record)?, &record.name, &mut edits);
                }
            }
        }
        if let Some(soa) = scan.soa {
            edits.push(self.serial_edit(&entries[soa])?);
        }
        edits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let mut out = text;
        for (start, end, replacement) in edits {
            out.replace_range(start..end, &replacement);
        }
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&appended);
        self.write(&out)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_prerequisites: false,
            record_types: &RecordType::ALL,
        }
    }
}

/// Remove entry `index`; a following record that inherits its owner keeps it, written out.
fn delete_edits(
    entries: &[Entry],
    index: usize,
    owner: &str,
    edits: &mut Vec<(usize, usize, String)>,
) {
    let entry = &entries[index];
    edits.push((entry.start, entry.end, String::new()));
    if let Some(next) = entries.get(index + 1)
        && next.indented
        && !entry.indented
    {
        edits.push((next.start, next.start, format!("{owner}.")));
    }
}

impl ZoneFileProvider {
    /// The edit that raises the SOA serial by one.
    fn serial_edit(&self, soa: &Entry) -> Result<(usize, usize, String), ProviderError> {
        let serial = soa
            .tokens
            .iter()
            .skip_while(|t| !t.lossy().eq_ignore_ascii_case("SOA"))
            .nth(3)
            .ok_or_else(|| {
                self.error(format!("line {}: the SOA record has no serial", soa.line))
            })?;
        let value: u32 = serial.lossy().parse().map_err(|_| {
            self.error(format!("line {}: the SOA serial is not a number", soa.line))
        })?;
        Ok((
            serial.start,
            serial.end,
            value.wrapping_add(1).max(1).to_string(),
        ))
    }

    /// Replace the file atomically, keeping its permissions.
    fn write(&self, text: &str) -> Result<(), ProviderError> {
        use std::os::unix::fs::PermissionsExt as _;
        // The zone keeps its mode (a name server may need to read it).
        let mode = std::fs::metadata(&self.path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        let options = atomic::WriteOptions {
            mode,
            no_clobber: false,
        };
        atomic::write(&self.path, text.as_bytes(), options)
            .map_err(|e| self.error(format!("cannot write the zone file: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "; customer zone\n$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster ( 41 3600 600 86400 300 )\n  IN NS ns1\n@ IN TXT \"google-site-verification=abc\"\n  IN TXT \"v=spf1 -all\" ; by hand\nns1 IN A 192.0.2.1\n";

    #[test]
    fn edits_in_place_keeping_foreign_lines_and_bumping_the_serial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.com.zone");
        std::fs::write(&path, ZONE).unwrap();
        let provider = ZoneFileProvider::new(&path);
        let apex = provider
            .records("example.com", "example.com", RecordType::Txt)
            .unwrap();
        assert_eq!(apex.len(), 2);
        assert!(!apex[1].managed && apex[1].ttl == 300);
        let spf = apex[1].clone();
        provider
            .apply(
                "example.com",
                &[
                    Change::Update {
                        from: spf,
                        to: Record {
                            name: "example.com".into(),
                            rtype: RecordType::Txt,
                            ttl: 600,
                            value: "v=spf1 mx -all".into(),
                            managed: true,
                        },
                    },
                    Change::Create(Record {
                        name: "_dmarc.example.com".into(),
                        rtype: RecordType::Txt,
                        ttl: 300,
                        value: "v=DMARC1; p=none; n=\"q\\\"".into(),
                        managed: true,
                    }),
                ],
            )
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "; customer zone\n$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster ( 42 3600"
            ),
            "{text}"
        );
        assert!(text.contains("@ IN TXT \"google-site-verification=abc\"\n"));
        assert!(
            text.contains("example.com. 600 IN TXT \"v=spf1 mx -all\" ; mailauth\n"),
            "{text}"
        );
        let dmarc = provider
            .records("example.com", "_dmarc.example.com", RecordType::Txt)
            .unwrap();
        assert_eq!(dmarc[0].value, "v=DMARC1; p=none; n=\"q\\\"");
        assert!(dmarc[0].managed);
        // Deleting a record that owns the next (indented) line keeps that line's owner.
        let google = provider
            .records("example.com", "example.com", RecordType::Txt)
            .unwrap()[0]
            .clone();
        provider
            .apply("example.com", &[Change::Delete(google)])
            .unwrap();
        let apex = provider
            .records("example.com", "example.com", RecordType::Txt)
            .unwrap();
        assert_eq!(
            apex.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(),
            ["v=spf1 mx -all"]
        );
        assert_eq!(
            provider
                .records("example.com", "ns1.example.com", RecordType::Txt)
                .unwrap()
                .len(),
            0
        );
    }
}
