//! Answers from BIND master files (RFC 1035 §5): `$ORIGIN`, `$TTL`, `$INCLUDE`, parentheses
//! across lines, `;` comments, quoted and unquoted character-strings with `\X` and `\DDD`
//! escapes, owner inheritance, TTL and class in either order. Record types A, AAAA, MX, TXT,
//! CNAME, NS and PTR are kept; others (SOA, CAA, ...) are accepted and make their name exist.
//!
//! Lookups follow DNS semantics: a name with records of other types gives NODATA, as does an
//! empty non-terminal (a name that only exists because names below it do); a missing name gives
//! NXDOMAIN unless a wildcard `*.` at its closest encloser matches (RFC 4592); CNAMEs are followed
//! up to [`MAX_CNAME_CHAIN`] links.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use mailauth_base::zone::{Entry, NameContext, Token, lex, parse_ttl, record_head};

use super::{DnsError, MAX_STRING_BYTES, MxRecord, Resolver, TxtRecord, normalize_name};

/// The largest zone file read.
pub const MAX_ZONE_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// How deep `$INCLUDE` may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// The most RDATA one record can have (RFC 1035 §3.2.1: RDLENGTH is a 16-bit count).
pub const MAX_RDATA_BYTES: usize = 65535;
/// How many CNAME links a lookup follows.
pub const MAX_CNAME_CHAIN: usize = 8;

/// One record held by a [`ZoneResolver`]; names are absolute, without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZoneData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A mail exchanger.
    Mx(MxRecord),
    /// A TXT record's strings.
    Txt(TxtRecord),
    /// An alias.
    Cname(String),
    /// A name server.
    Ns(String),
    /// A reverse pointer.
    Ptr(String),
    /// A type-99 SPF record (obsolete since RFC 7208 §3.1).
    Spf(TxtRecord),
    /// A TLSA record (RFC 6698 §2.2).
    Tlsa(mailauth_providers::Tlsa),
    /// A record of a type mailauth does not query; it makes its name exist.
    Other,
}

impl ZoneData {
    fn rtype(&self) -> &'static str {
        match self {
            ZoneData::A(_) => "A",
            ZoneData::Aaaa(_) => "AAAA",
            ZoneData::Mx(_) => "MX",
            ZoneData::Txt(_) => "TXT",
            ZoneData::Cname(_) => "CNAME",
            ZoneData::Ns(_) => "NS",
            ZoneData::Ptr(_) => "PTR",
            ZoneData::Spf(_) => "SPF",
            ZoneData::Tlsa(_) => "TLSA",
            ZoneData::Other => "other",
        }
    }
}

/// Answers from BIND master files.
#[derive(Debug, Default, Clone)]
pub struct ZoneResolver {
    records: BTreeMap<String, Vec<ZoneData>>,
    /// Every owner name and all its ancestors (so empty non-terminals exist).
    existing: HashSet<String>,
    temporary: HashSet<String>,
}

impl ZoneResolver {
    /// Load and merge these zone files.
    pub fn from_files(paths: &[PathBuf]) -> Result<Self, DnsError> {
        let mut zone = ZoneResolver::default();
        for path in paths {
            let text = read_zone(path)?;
            let chain = [Included::of(path)];
            zone.load(
                &text,
                &path.display().to_string(),
                path.parent(),
                None,
                &chain,
            )?;
        }
        Ok(zone)
    }

    /// Parse zone-file text; `source_name` names it in errors. Relative names need `$ORIGIN`
    /// in the text or `origin`.
    pub fn parse_str(
        text: &str,
        source_name: &str,
        origin: Option<&str>,
    ) -> Result<Self, DnsError> {
        let mut zone = ZoneResolver::default();
        zone.load(text, source_name, None, origin.map(normalize_name), &[])?;
        Ok(zone)
    }

    /// Make every lookup of `name` fail as a temporary error (SERVFAIL), for tests and dry runs.
    pub fn set_temporary_failure(&mut self, name: &str) {
        self.temporary.insert(normalize_name(name));
    }

    /// How many records were loaded.
    pub fn len(&self) -> usize {
        self.records.values().map(Vec::len).sum()
    }

    /// True when no record was loaded.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn load(
        &mut self,
        text: &str,
        source: &str,
        dir: Option<&Path>,
        origin: Option<String>,
        chain: &[Included],
    ) -> Result<(), DnsError> {
        let mut state = NameContext {
            origin,
            owner: None,
            default_ttl: None,
        };
        let entries = lex(text).map_err(|e| DnsError::Config {
            source_name: format!("{source}:{}", e.line),
            reason: e.reason,
        })?;
        for entry in entries {
            let at = |reason: String| DnsError::Config {
                source_name: format!("{source}:{}", entry.line),
                reason,
            };
            let Some(first) = entry.tokens.first() else {
                continue;
            };
            if !entry.indented && first.text.starts_with(b"$") && !first.quoted {
                self.directive(&entry, &mut state, dir, chain).map_err(at)?;
                continue;
            }
            let (owner, data) = parse_record(&entry, &mut state).map_err(at)?;
            self.add(owner, data);
        }
        Ok(())
    }

    fn directive(
        &mut self,
        entry: &Entry,
        state: &mut NameContext,
        dir: Option<&Path>,
        chain: &[Included],
    ) -> Result<(), String> {
        let name = entry.tokens[0].as_str()?.to_ascii_uppercase();
        let args = &entry.tokens[1..];
        match name.as_str() {
            "$ORIGIN" => {
                let [arg] = args else {
                    return Err("$ORIGIN takes one domain name".into());
                };
                state.origin = Some(state.name(arg)?);
                Ok(())
            }
            "$TTL" => {
                let [arg] = args else {
                    return Err("$TTL takes one TTL".into());
                };
                state.default_ttl = Some(
                    parse_ttl(arg.as_str()?)
                        .ok_or_else(|| format!("bad $TTL {:?}", arg.lossy()))?,
                );
                Ok(())
            }
            "$INCLUDE" => {
                if chain.len() > MAX_INCLUDE_DEPTH {
                    return Err(format!("$INCLUDE nested deeper than {MAX_INCLUDE_DEPTH}"));
                }
                let (file, origin) = match args {
                    [file] => (file, state.origin.clone()),
                    [file, origin] => (file, Some(state.name(origin)?)),
                    _ => return Err("$INCLUDE takes a file name and an optional origin".into()),
                };
                let file = Path::new(file.as_str()?);
                let path = match dir {
                    Some(dir) if file.is_relative() => dir.join(file),
                    _ => file.to_path_buf(),
                };
                let included = Included::of(&path);
                include_loop(chain, &included)?;
                let text = read_zone(&path).map_err(|e| e.to_string())?;
                let chain = [chain, std::slice::from_ref(&included)].concat();
                self.load(
                    &text,
                    &path.display().to_string(),
                    path.parent(),
                    origin,
                    &chain,
                )
                .map_err(|e| format!("in $INCLUDE: {e}"))?;
                Ok(())
            }
            other => Err(format!(
                "unsupported directive {other} (known: $ORIGIN, $TTL, $INCLUDE)"
            )),
        }
    }

    /// Add a record at `name` (absolute; a trailing dot and case do not matter).
    pub fn insert(&mut self, name: &str, data: ZoneData) {
        self.add(normalize_name(name), data);
    }

    fn add(&mut self, owner: String, data: ZoneData) {
        let mut name = owner.as_str();
        loop {
            if !self.existing.insert(name.to_string()) {
                break;
            }
            match name.split_once('.') {
                Some((_, parent)) => name = parent,
                None => break,
            }
        }
        let set = self.records.entry(owner).or_default();
        if !set.contains(&data) {
            set.push(data);
        }
    }

    /// Records of `rtype` at `name` (CNAMEs followed unless CNAME is asked for). Errors name
    /// the name asked for, as a resolver would, not the end of a CNAME chain.
    fn lookup(
        &self,
        name: &str,
        rtype: &'static str,
        pick: impl Fn(&ZoneData) -> bool,
    ) -> Result<Vec<&ZoneData>, DnsError> {
        let mut current = normalize_name(name);
        for _ in 0..=MAX_CNAME_CHAIN {
            if self.temporary.contains(&current) {
                return Err(DnsError::Temporary {
                    name: current,
                    reason: "SERVFAIL (simulated)".into(),
                });
            }
            let Some(set) = self.owner_records(&current) else {
                return Err(DnsError::NxDomain {
                    name: normalize_name(name),
                });
            };
            let found: Vec<&ZoneData> = set.iter().filter(|d| pick(d)).collect();
            if !found.is_empty() {
                return Ok(found);
            }
            match set.iter().find_map(|d| match d {
                ZoneData::Cname(target) if rtype != "CNAME" => Some(target.clone()),
                _ => None,
            }) {
                Some(target) => current = target,
                None => {
                    return Err(DnsError::NoData {
                        name: normalize_name(name),
                        rtype,
                    });
                }
            }
        }
        Err(DnsError::Invalid {
            name: normalize_name(name),
            reason: format!("CNAME chain longer than {MAX_CNAME_CHAIN} (loop?)"),
        })
    }

    /// The records owned by `name`: its own, none for an empty non-terminal, or a wildcard's
    /// at the closest encloser. `None` means NXDOMAIN.
    fn owner_records(&self, name: &str) -> Option<&[ZoneData]> {
        static EMPTY: Vec<ZoneData> = Vec::new();
        if let Some(set) = self.records.get(name) {
            return Some(set);
        }
        if self.existing.contains(name) {
            return Some(&EMPTY);
        }
        let mut encloser = name;
        while let Some((_, parent)) = encloser.split_once('.') {
            encloser = parent;
            if self.existing.contains(encloser) {
                return self
                    .records
                    .get(&format!("*.{encloser}"))
                    .map(Vec::as_slice);
            }
        }
        None
    }
}

/// A zone file being read, for `$INCLUDE` loop detection: the file itself (its canonical path,
/// so `./a.zone` and `a.zone` are one file) and its name as written, for the message.
#[derive(Debug, Clone)]
struct Included {
    file: PathBuf,
    shown: String,
}

impl Included {
    fn of(path: &Path) -> Included {
        Included {
            file: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            shown: path.display().to_string(),
        }
    }
}

/// An error when `next` is already being read further up `chain`: a file that includes itself,
/// directly or through others, would be read until the depth limit, so the loop is named instead.
fn include_loop(chain: &[Included], next: &Included) -> Result<(), String> {
    let Some(start) = chain.iter().position(|c| c.file == next.file) else {
        return Ok(());
    };
    if start == chain.len() - 1 {
        return Err(format!("$INCLUDE loop: {} includes itself", next.shown));
    }
    let names: Vec<&str> = chain[start..]
        .iter()
        .chain([next])
        .map(|c| c.shown.as_str())
        .collect();
    Err(format!("$INCLUDE loop: {}", names.join(" -> ")))
}

fn read_zone(path: &Path) -> Result<String, DnsError> {
    let err = |reason: String| DnsError::Config {
        source_name: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read zone file: {e}")))?;
    if meta.len() > MAX_ZONE_FILE_BYTES {
        return Err(err(format!(
            "zone file is {} bytes; the limit is {MAX_ZONE_FILE_BYTES}",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read zone file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "not UTF-8 text at byte {} (write other bytes as \\DDD escapes)",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn parse_record(entry: &Entry, state: &mut NameContext) -> Result<(String, ZoneData), String> {
    let head = record_head(entry, state)?;
    let (owner, rtype) = (head.owner, head.rtype);
    let rdata: Vec<&Token> = head.rdata.iter().collect();
    let one = |what: &str| -> Result<&Token, String> {
        match rdata.as_slice() {
            [token] => Ok(token),
            _ => Err(format!(
                "{rtype} takes one {what}, found {} items",
                rdata.len()
            )),
        }
    };
    let data = match rtype.as_str() {
        "A" => {
            let text = one("IPv4 address")?.as_str()?;
            ZoneData::A(
                text.parse()
                    .map_err(|_| format!("bad IPv4 address {text:?}"))?,
            )
        }
        "AAAA" => {
            let text = one("IPv6 address")?.as_str()?;
            ZoneData::Aaaa(
                text.parse()
                    .map_err(|_| format!("bad IPv6 address {text:?}"))?,
            )
        }
        "MX" => {
            let [pref, exchange] = rdata.as_slice() else {
                return Err(format!(
                    "MX takes a preference and a host, found {} items",
                    rdata.len()
                ));
            };
            let pref_text = pref.as_str()?;
            ZoneData::Mx(MxRecord {
                preference: pref_text
                    .parse()
                    .map_err(|_| format!("bad MX preference {pref_text:?}"))?,
                exchange: state.name(exchange)?,
            })
        }
        "TXT" | "SPF" => {
            if rdata.is_empty() {
                return Err("TXT record with no strings".into());
            }
            let mut strings = Vec::with_capacity(rdata.len());
            for token in rdata {
                if token.text.len() > MAX_STRING_BYTES {
                    return Err(format!(
                        "a TXT string is {} bytes; the limit is {MAX_STRING_BYTES} (split it into several quoted strings)",
                        token.text.len()
                    ));
                }
                strings.push(token.text.clone());
            }
            // RFC 1035 §3.2.1: RDLENGTH is 16 bits; each string costs its length octet too.
            let rdata_len: usize = strings.iter().map(|s| s.len() + 1).sum();
            if rdata_len > MAX_RDATA_BYTES {
                return Err(format!(
                    "the {rtype} record's data is {rdata_len} bytes ({} strings), over {MAX_RDATA_BYTES} bytes: no DNS answer can carry it (RFC 1035 §3.2.1)",
                    strings.len()
                ));
            }
            if rtype == "SPF" {
                ZoneData::Spf(TxtRecord::new(strings))
            } else {
                ZoneData::Txt(TxtRecord::new(strings))
            }
        }
        "CNAME" => ZoneData::Cname(state.name(one("target name")?)?),
        "NS" => ZoneData::Ns(state.name(one("server name")?)?),
        "PTR" => ZoneData::Ptr(state.name(one("target name")?)?),
        "TLSA" => ZoneData::Tlsa(tlsa_rdata(&rdata)?),
        other => {
            if !other.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("unknown record type {other:?}"));
            }
            ZoneData::Other
        }
    };
    Ok((owner, data))
}

/// RFC 6698 §2.2: `USAGE SELECTOR MATCHING HEX`, the hex possibly split by blanks (or over
/// lines inside parentheses).
fn tlsa_rdata(rdata: &[&Token]) -> Result<mailauth_providers::Tlsa, String> {
    let words = rdata
        .iter()
        .map(|t| t.as_str())
        .collect::<Result<Vec<_>, _>>()?;
    let text = words.join(" ");
    mailauth_providers::Tlsa::parse(&text).ok_or_else(|| {
        format!(
            "bad TLSA data {text:?}: expected usage, selector, matching type (numbers 0-255) and hex data"
        )
    })
}

fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut labels = Vec::with_capacity(34);
            for byte in v6.octets().iter().rev() {
                labels.push(format!("{:x}", byte & 0x0f));
                labels.push(format!("{:x}", byte >> 4));
            }
            labels.push("ip6.arpa".into());
            labels.join(".")
        }
    }
}

impl ZoneResolver {
    /// The records at `name` that `extract` takes, CNAMEs followed.
    fn answers<T>(
        &self,
        name: &str,
        rtype: &'static str,
        extract: impl Fn(&ZoneData) -> Option<T>,
    ) -> Result<Vec<T>, DnsError> {
        Ok(self
            .lookup(name, rtype, |d| d.rtype() == rtype)?
            .into_iter()
            .filter_map(extract)
            .collect())
    }
}

#[async_trait]
impl Resolver for ZoneResolver {
    async fn txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        self.answers(name, "TXT", |d| match d {
            ZoneData::Txt(t) => Some(t.clone()),
            _ => None,
        })
    }
    async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        self.answers(name, "A", |d| match d {
            ZoneData::A(a) => Some(*a),
            _ => None,
        })
    }
    async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        self.answers(name, "AAAA", |d| match d {
            ZoneData::Aaaa(a) => Some(*a),
            _ => None,
        })
    }
    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError> {
        self.answers(name, "MX", |d| match d {
            ZoneData::Mx(mx) => Some(mx.clone()),
            _ => None,
        })
    }
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        self.answers(&reverse_name(ip), "PTR", |d| match d {
            ZoneData::Ptr(p) => Some(p.clone()),
            _ => None,
        })
    }
    async fn ns(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.answers(name, "NS", |d| match d {
            ZoneData::Ns(n) => Some(n.clone()),
            _ => None,
        })
    }
    async fn spf_type(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        self.answers(name, "SPF", |d| match d {
            ZoneData::Spf(t) => Some(t.clone()),
            _ => None,
        })
    }
    async fn tlsa(&self, name: &str) -> Result<super::TlsaAnswer, DnsError> {
        let records = self.answers(name, "TLSA", |d| match d {
            ZoneData::Tlsa(t) => Some(t.clone()),
            _ => None,
        })?;
        // A zone file carries no DNSSEC validation.
        Ok(super::TlsaAnswer {
            records,
            authenticated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = r#"
$ORIGIN example.com.
$TTL 1h
@ IN SOA ns1 hostmaster ( 1 ; serial
        3600 600 86400 300 )
  IN NS ns1
  3600 IN MX 10 mx1
  IN TXT "v=spf1 mx -all"
ns1 IN A 192.0.2.1
mx1 A 192.0.2.2
mx1 IN 300 AAAA 2001:db8::2
long IN TXT ( "first part; "
              "second \"quoted\" part\059" ) ; trailing comment
bin TXT "\000\255" unquoted
alias CNAME mx1
loop1 CNAME loop2
loop2 CNAME loop1.example.com.
*.wild TXT "wildcard"
exact.wild TXT "exact"
a.b.c.deep A 192.0.2.9
1.2.0.192.in-addr.arpa. PTR mx1
"#;

    fn zone() -> ZoneResolver {
        ZoneResolver::parse_str(ZONE, "test.zone", None).unwrap()
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn parses_directives_parentheses_and_strings() {
        let z = zone();
        block(async {
            let txt = z.txt("LONG.example.com.").await.unwrap();
            assert_eq!(
                txt[0].strings,
                vec![
                    b"first part; ".to_vec(),
                    b"second \"quoted\" part;".to_vec()
                ]
            );
            let bin = z.txt("bin.example.com").await.unwrap();
            assert_eq!(bin[0].strings, vec![vec![0u8, 255], b"unquoted".to_vec()]);
            assert_eq!(
                z.mx("example.com").await.unwrap(),
                vec![MxRecord {
                    preference: 10,
                    exchange: "mx1.example.com".into()
                }]
            );
            assert_eq!(
                z.aaaa("mx1.example.com").await.unwrap(),
                vec!["2001:db8::2".parse::<Ipv6Addr>().unwrap()]
            );
            assert_eq!(z.ns("example.com").await.unwrap(), vec!["ns1.example.com"]);
            assert_eq!(
                z.ptr("192.0.2.1".parse().unwrap()).await.unwrap(),
                vec!["mx1.example.com"]
            );
        });
    }

    #[test]
    fn nxdomain_nodata_empty_non_terminal_and_wildcards() {
        let z = zone();
        block(async {
            assert!(matches!(
                z.txt("nope.example.com").await,
                Err(DnsError::NxDomain { .. })
            ));
            assert!(matches!(
                z.txt("ns1.example.com").await,
                Err(DnsError::NoData { .. })
            ));
            // c.deep.example.com exists only because a.b.c.deep does.
            assert!(matches!(
                z.a("c.deep.example.com").await,
                Err(DnsError::NoData { .. })
            ));
            assert_eq!(
                z.txt("x.wild.example.com").await.unwrap()[0].joined(),
                b"wildcard"
            );
            assert_eq!(
                z.txt("exact.wild.example.com").await.unwrap()[0].joined(),
                b"exact"
            );
            // A wildcard does not match below an existing name (RFC 4592 §2.2.1).
            assert!(matches!(
                z.txt("x.exact.wild.example.com").await,
                Err(DnsError::NxDomain { .. })
            ));
            assert_eq!(
                z.a("alias.example.com").await.unwrap(),
                vec![Ipv4Addr::new(192, 0, 2, 2)]
            );
            assert!(matches!(
                z.a("loop1.example.com").await,
                Err(DnsError::Invalid { .. })
            ));
        });
    }

    #[test]
    fn temporary_failures_can_be_injected() {
        let mut z = zone();
        z.set_temporary_failure("ns1.example.com.");
        assert!(block(z.a("ns1.example.com")).unwrap_err().is_temporary());
    }

    #[test]
    fn errors_name_file_and_line() {
        for (text, line, needle) in [
            ("$ORIGIN example.com.\nfoo IN A 300.1.1.1\n", 2, "bad IPv4"),
            ("foo IN A 192.0.2.1\n", 1, "no $ORIGIN"),
            ("$ORIGIN x.\n\nfoo TXT \"abc\n", 3, "quoted string"),
            ("$ORIGIN x.\nfoo TXT ( \"abc\"\n", 2, "never closed"),
            (
                "$ORIGIN x.\n$GENERATE 1-2 a A 1.2.3.4\n",
                2,
                "unsupported directive",
            ),
            ("$ORIGIN x.\nfoo TXT\n", 2, "no strings"),
            ("$ORIGIN x.\nfoo MX ten mx\n", 2, "preference"),
        ] {
            let err = ZoneResolver::parse_str(text, "z.zone", None)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(&format!("z.zone:{line}: ")), "{err}");
            assert!(err.contains(needle), "{err}");
        }
        let long = format!("$ORIGIN x.\nfoo TXT \"{}\"\n", "a".repeat(256));
        let err = ZoneResolver::parse_str(&long, "z", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("limit is 255"), "{err}");
    }

    /// RFC 1035 §3.2.1: RDLENGTH is 16 bits, so 256 strings of 255 bytes (65,536 octets with
    /// their length bytes) cannot be one record; 255 of them and one of 254 (65,535) can.
    #[test]
    fn rfc1035_3_2_1_txt_rdata_at_most_65535_bytes() {
        let record = |last: usize| {
            let full = format!("\"{}\" ", "a".repeat(255)).repeat(255);
            format!("$ORIGIN x.\nfoo TXT {full}\"{}\"\n", "a".repeat(last))
        };
        assert!(ZoneResolver::parse_str(&record(254), "z", None).is_ok());
        let err = ZoneResolver::parse_str(&record(255), "z", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("z:2: the TXT record's data is 65536 bytes (256 strings), over 65535"),
            "{err}"
        );
    }

    /// `$INCLUDE` (RFC 1035 §5.1) loops are named with their chain; a chain of distinct files
    /// stops at the depth limit.
    #[test]
    fn rfc1035_5_1_include_loops_named_and_depth_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write("a.zone", "$ORIGIN x.\n$INCLUDE b.zone\n".into());
        write("b.zone", "$INCLUDE c.zone\n".into());
        write("c.zone", "$INCLUDE ./b.zone\n".into());
        let err = ZoneResolver::from_files(&[dir.path().join("a.zone")])
            .unwrap_err()
            .to_string();
        let shown = |name: &str| dir.path().join(name).display().to_string();
        let chain = format!(
            "{} -> {} -> {}",
            shown("b.zone"),
            shown("c.zone"),
            shown("./b.zone")
        );
        assert!(err.ends_with(&format!("$INCLUDE loop: {chain}")), "{err}");

        for i in 0..12 {
            write(&format!("d{i}.zone"), format!("$INCLUDE d{}.zone\n", i + 1));
        }
        write("d12.zone", "$ORIGIN x.\n".into());
        let err = ZoneResolver::from_files(&[dir.path().join("d0.zone")])
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("$INCLUDE nested deeper than 8"), "{err}");
    }

    #[test]
    fn rfc6698_2_2_tlsa_rdata_with_split_hex_is_not_authenticated() {
        let text = "$ORIGIN example.com.\n_25._tcp.mx IN TLSA 3 1 1 ( 0a0B\n 0c0d )\n\
                    _25._tcp.mx IN TLSA 2 0 1 ff\n";
        let z = ZoneResolver::parse_str(text, "z", None).unwrap();
        let answer = block(z.tlsa("_25._TCP.mx.example.com.")).unwrap();
        assert!(!answer.authenticated, "zone files carry no DNSSEC status");
        let shown: Vec<String> = answer.records.iter().map(|t| t.to_string()).collect();
        assert_eq!(shown, ["3 1 1 0a0b0c0d", "2 0 1 ff"]);
        assert!(block(z.tlsa("_25._tcp.example.com")).unwrap_err().is_void());
        let err = ZoneResolver::parse_str("$ORIGIN x.\nt TLSA 3 1 1 abc\n", "z", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad TLSA data"), "{err}");
    }

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("300"), Some(300));
        assert_eq!(parse_ttl("1h30m"), Some(5400));
        assert_eq!(parse_ttl("1W"), Some(604_800));
        assert_eq!(parse_ttl("h"), None);
        assert_eq!(parse_ttl("99999999999"), None);
    }

    proptest::proptest! {
        #[test]
        fn lexer_never_panics(text in "[ -~\t\n\"();\\\\$]{0,200}") {
            let _ = ZoneResolver::parse_str(&text, "fuzz", Some("example.com"));
        }

        #[test]
        fn quoted_strings_round_trip(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..255)) {
            let zone_text = format!("$ORIGIN x.\nt TXT {}\n", super::super::quote_string(&bytes));
            let z = ZoneResolver::parse_str(&zone_text, "rt", None).unwrap();
            let got = block(z.txt("t.x")).unwrap();
            proptest::prop_assert_eq!(&got[0].strings[0], &bytes);
        }
    }
}
