//! The zone-file backend (the syntax lives in `mailauth_base::zone`, shared with the resolver),
//! which edits a file in place: records it writes carry a `; mailauth` comment, every other line
//! (foreign records, comments, directives) stays byte for byte, the SOA serial goes up by one,
//! and the file is replaced atomically (`mailauth_base::atomic`).

use std::path::{Path, PathBuf};

use mailauth_base::atomic;
use mailauth_base::zone::{Entry, NameContext, lex, normalize_name, parse_ttl, record_head};

use crate::{Capabilities, Change, Provider, ProviderError, Record};

/// The comment that marks a line mailauth wrote.
pub const MARKER: &str = "; mailauth";

/// A zone kept in one BIND master file.
#[derive(Debug, Clone)]
pub struct ZoneFileProvider {
    path: PathBuf,
}

/// One TXT record found in the file, with the entries around it.
struct Found {
    record: Record,
    /// Index of its entry.
    entry: usize,
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

    fn error(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Refused {
            provider: format!("zonefile {}", self.path.display()),
            reason: reason.into(),
        }
    }

    fn read(&self) -> Result<String, ProviderError> {
        std::fs::read_to_string(&self.path).map_err(|e| ProviderError::Unreachable {
            provider: format!("zonefile {}", self.path.display()),
            reason: e.to_string(),
        })
    }

    /// Every TXT record in `text`, with its entry index, and the SOA entry index.
    fn scan(
        &self,
        text: &str,
        entries: &[Entry],
    ) -> Result<(Vec<Found>, Option<usize>), ProviderError> {
        let mut context = NameContext::default();
        let mut found = Vec::new();
        let mut soa = None;
        for (index, entry) in entries.iter().enumerate() {
            let at = |reason: String| self.error(format!("line {}: {reason}", entry.line));
            let first = &entry.tokens[0];
            if !entry.indented && !first.quoted && first.text.starts_with(b"$") {
                let directive = first.lossy().to_ascii_uppercase();
                let arg = entry
                    .tokens
                    .get(1)
                    .ok_or_else(|| at(format!("{directive} needs a value")))?;
                match directive.as_str() {
                    "$ORIGIN" => context.origin = Some(context.name(arg).map_err(at)?),
                    "$TTL" => context.default_ttl = parse_ttl(&arg.lossy()),
                    other => {
                        return Err(at(format!(
                            "{other} is not supported in a zone mailauth edits"
                        )));
                    }
                }
                continue;
            }
            let head = record_head(entry, &mut context).map_err(at)?;
            match head.rtype.as_str() {
                "SOA" => soa = Some(index),
                "TXT" => {
                    let value: Vec<u8> = head
                        .rdata
                        .iter()
                        .flat_map(|t| t.text.iter().copied())
                        .collect();
                    found.push(Found {
                        record: Record {
                            name: head.owner,
                            ttl: head.ttl.or(context.default_ttl).unwrap_or(3600),
                            value: String::from_utf8_lossy(&value).into_owned(),
                            managed: text[entry.start..entry.end].contains(MARKER),
                        },
                        entry: index,
                    });
                }
                _ => {}
            }
        }
        Ok((found, soa))
    }
}

/// A TXT record as one line: absolute owner, TTL, the value as quoted 255-byte strings.
pub fn txt_line(record: &Record) -> String {
    format!(
        "{}. {} IN TXT {} {MARKER}\n",
        record.name,
        record.ttl,
        mailauth_base::txt::quote_all(&record.value)
    )
}

impl Provider for ZoneFileProvider {
    fn records(&self, _zone: &str, name: &str) -> Result<Vec<Record>, ProviderError> {
        let text = self.read()?;
        let entries =
            lex(&text).map_err(|e| self.error(format!("line {}: {}", e.line, e.reason)))?;
        let (found, _) = self.scan(&text, &entries)?;
        let name = normalize_name(name);
        Ok(found
            .into_iter()
            .map(|f| f.record)
            .filter(|r| r.name == name)
            .collect())
    }

    fn apply(&self, _zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let text = self.read()?;
        let entries =
            lex(&text).map_err(|e| self.error(format!("line {}: {}", e.line, e.reason)))?;
        let (found, soa) = self.scan(&text, &entries)?;
        // Edits as (start, end, replacement), applied from the end of the file backwards.
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        let mut appended = String::new();
        let locate = |record: &Record| {
            found
                .iter()
                .find(|f| f.record.name == record.name && f.record.value == record.value)
                .ok_or_else(|| ProviderError::Conflict {
                    name: record.name.clone(),
                    reason: format!("\"{}\" is not in the file", record.value),
                })
        };
        for change in changes {
            match change {
                Change::Create(record) => appended.push_str(&txt_line(record)),
                Change::Update { from, to } => {
                    let entry = &entries[locate(from)?.entry];
                    edits.push((entry.start, entry.end, txt_line(to)));
                }
                Change::Delete(record) => {
                    let index = locate(record)?.entry;
                    let entry = &entries[index];
                    edits.push((entry.start, entry.end, String::new()));
                    // A following record that inherits this owner keeps it, written out.
                    if let Some(next) = entries.get(index + 1)
                        && next.indented
                        && !entry.indented
                    {
                        edits.push((next.start, next.start, format!("{}.", record.name)));
                    }
                }
            }
        }
        if let Some(soa) = soa {
            let serial = entries[soa]
                .tokens
                .iter()
                .skip_while(|t| !t.lossy().eq_ignore_ascii_case("SOA"))
                .nth(3)
                .ok_or_else(|| self.error("the SOA record has no serial"))?;
            let value: u32 = serial
                .lossy()
                .parse()
                .map_err(|_| self.error("the SOA serial is not a number"))?;
            edits.push((
                serial.start,
                serial.end,
                value.wrapping_add(1).max(1).to_string(),
            ));
        }
        edits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let mut out = text.clone();
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
        }
    }
}

impl ZoneFileProvider {
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
            .map_err(|e| self.error(format!("cannot write: {e}")))
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
        let apex = provider.records("example.com", "example.com").unwrap();
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
                            ttl: 600,
                            value: "v=spf1 mx -all".into(),
                            managed: true,
                        },
                    },
                    Change::Create(Record {
                        name: "_dmarc.example.com".into(),
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
            .records("example.com", "_dmarc.example.com")
            .unwrap();
        assert_eq!(dmarc[0].value, "v=DMARC1; p=none; n=\"q\\\"");
        assert!(dmarc[0].managed);
        // Deleting a record that owns the next (indented) line keeps that line's owner.
        let google = provider.records("example.com", "example.com").unwrap()[0].clone();
        provider
            .apply("example.com", &[Change::Delete(google)])
            .unwrap();
        let apex = provider.records("example.com", "example.com").unwrap();
        assert_eq!(
            apex.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(),
            ["v=spf1 mx -all"]
        );
        assert_eq!(
            provider
                .records("example.com", "ns1.example.com")
                .unwrap()
                .len(),
            0
        );
    }
}
