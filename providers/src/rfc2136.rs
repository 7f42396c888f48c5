//! RFC 2136 dynamic update, signed with TSIG (RFC 8945; hmac-sha256/384/512, the key read from
//! a BIND key file), sent over TCP to the zone's primary. TXT, CNAME, MX and TLSA are written as
//! hickory-proto rdata. Every update carries each touched RRset (name and type) exactly as it was
//! read as a value-dependent prerequisite, so a change made since the records were read fails
//! with NXRRSET instead of being overwritten. DNS has no place to mark who wrote a record, so the
//! values mailauth created are listed in a small state file (JSON) beside the configuration
//! (keyed by name for TXT, as before other types existed, and by "NAME TYPE" for the others).
//! Reads are plain queries to the same server. Only a failure to reach the server, or a SERVFAIL,
//! is temporary; a rejected key (NOTAUTH, REFUSED) is a credential error, a bad key or state file
//! a local one, and so is a TSIG BADTIME (this host's clock, RFC 8945 §5.2.3).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{CNAME, MX, TLSA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record as DnsRecord, RecordType as DnsType};

use crate::{Capabilities, Change, Mx, Provider, ProviderError, Record, RecordType, Tlsa};

/// A TSIG algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigAlgorithm {
    /// hmac-sha256
    Sha256,
    /// hmac-sha384
    Sha384,
    /// hmac-sha512
    Sha512,
}

impl TsigAlgorithm {
    fn name(self) -> &'static str {
        match self {
            TsigAlgorithm::Sha256 => "hmac-sha256",
            TsigAlgorithm::Sha384 => "hmac-sha384",
            TsigAlgorithm::Sha512 => "hmac-sha512",
        }
    }

    fn hmac(self) -> aws_lc_rs::hmac::Algorithm {
        match self {
            TsigAlgorithm::Sha256 => aws_lc_rs::hmac::HMAC_SHA256,
            TsigAlgorithm::Sha384 => aws_lc_rs::hmac::HMAC_SHA384,
            TsigAlgorithm::Sha512 => aws_lc_rs::hmac::HMAC_SHA512,
        }
    }
}

/// A TSIG key. `Debug` never shows the secret.
pub struct TsigKey {
    name: String,
    algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TsigKey({} {})", self.name, self.algorithm.name())
    }
}

impl TsigKey {
    /// Read a BIND key file: `key "NAME" { algorithm hmac-sha256; secret "BASE64"; };`.
    pub fn from_bind_file(path: &Path) -> Result<TsigKey, ProviderError> {
        let refused = |reason: String| ProviderError::Local {
            provider: "rfc2136".into(),
            reason: format!("key file {}: {reason}", path.display()),
        };
        let text = std::fs::read_to_string(path).map_err(|e| refused(e.to_string()))?;
        let name = text
            .split_once("key")
            .and_then(|(_, rest)| rest.split('"').nth(1))
            .ok_or_else(|| refused("no `key \"NAME\"` clause".into()))?
            .to_owned();
        let tokens: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || matches!(c, ';' | '{' | '}'))
            .filter(|t| !t.is_empty())
            .collect();
        let field = |label: &str| {
            tokens
                .windows(2)
                .find(|w| w[0] == label)
                .map(|w| w[1].trim_matches('"').to_owned())
        };
        let algorithm = match field("algorithm").as_deref() {
            Some("hmac-sha256") => TsigAlgorithm::Sha256,
            Some("hmac-sha384") => TsigAlgorithm::Sha384,
            Some("hmac-sha512") => TsigAlgorithm::Sha512,
            other => {
                return Err(refused(format!(
                    "algorithm {other:?} is not hmac-sha256, hmac-sha384 or hmac-sha512"
                )));
            }
        };
        let secret = base64::engine::general_purpose::STANDARD
            .decode(field("secret").ok_or_else(|| refused("no secret".into()))?)
            .map_err(|_| refused("the secret is not base64".into()))?;
        Ok(TsigKey {
            name,
            algorithm,
            secret,
        })
    }
}

/// Dynamic updates to one primary server.
#[derive(Debug)]
pub struct Rfc2136 {
    server: SocketAddr,
    key: TsigKey,
    state: PathBuf,
}

/// Names in wire format (uncompressed, lower case), as TSIG signs them.
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend(label.to_ascii_lowercase().bytes());
    }
    out.push(0);
    out
}

impl Rfc2136 {
    /// Updates to `server`, signed with `key`; `state` lists the values mailauth created.
    pub fn new(server: SocketAddr, key: TsigKey, state: PathBuf) -> Rfc2136 {
        Rfc2136 { server, key, state }
    }

    fn provider(&self) -> String {
        format!("rfc2136 {}", self.server)
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Unreachable {
            provider: self.provider(),
            reason: e.to_string(),
        }
    }

    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, ProviderError> {
        // Connecting is retried with backoff; a sent update is not (its prerequisites make a
        // repeat fail safely, and the next run plans again).
        let mut stream = {
            let mut delay = Duration::from_millis(500);
            let mut attempt = 0;
            loop {
                match TcpStream::connect_timeout(&self.server, Duration::from_secs(10)) {
                    Ok(stream) => break stream,
                    Err(e) if attempt == 3 => return Err(self.unreachable(e)),
                    Err(_) => {
                        attempt += 1;
                        std::thread::sleep(delay);
                        delay *= 2;
                    }
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| self.unreachable(e))?;
        let length = u16::try_from(request.len())
            .map_err(|_| self.local("the update is larger than 65535 bytes"))?;
        stream
            .write_all(&length.to_be_bytes())
            .and_then(|()| stream.write_all(request))
            .map_err(|e| self.unreachable(e))?;
        let mut prefix = [0u8; 2];
        stream
            .read_exact(&mut prefix)
            .map_err(|e| self.unreachable(e))?;
        let mut response = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        stream
            .read_exact(&mut response)
            .map_err(|e| self.unreachable(e))?;
        if response.len() < 12 {
            return Err(self.unreachable("short response"));
        }
        Ok(response)
    }

    /// Append a TSIG record to a serialised message (RFC 8945 §4.3).
    fn sign(&self, mut wire: Vec<u8>) -> Vec<u8> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let time = &now.to_be_bytes()[2..];
        let fudge = 300u16.to_be_bytes();
        let key_name = wire_name(&self.key.name);
        let algorithm = wire_name(self.key.algorithm.name());
        let mut signed = wire.clone();
        signed.extend(&key_name);
        signed.extend(255u16.to_be_bytes()); // class ANY
        signed.extend(0u32.to_be_bytes()); // TTL
        signed.extend(&algorithm);
        signed.extend(time);
        signed.extend(fudge);
        signed.extend(0u16.to_be_bytes()); // error
        signed.extend(0u16.to_be_bytes()); // other length
        let key = aws_lc_rs::hmac::Key::new(self.key.algorithm.hmac(), &self.key.secret);
        let mac = aws_lc_rs::hmac::sign(&key, &signed);
        let mut rdata = algorithm.clone();
        rdata.extend(time);
        rdata.extend(fudge);
        rdata.extend((mac.as_ref().len() as u16).to_be_bytes());
        rdata.extend(mac.as_ref());
        rdata.extend(&wire[0..2]); // original id
        rdata.extend(0u16.to_be_bytes());
        rdata.extend(0u16.to_be_bytes());
        let additional = u16::from_be_bytes([wire[10], wire[11]]) + 1;
        wire[10..12].copy_from_slice(&additional.to_be_bytes());
        wire.extend(key_name);
        wire.extend(250u16.to_be_bytes()); // TSIG
        wire.extend(255u16.to_be_bytes());
        wire.extend(0u32.to_be_bytes());
        wire.extend((rdata.len() as u16).to_be_bytes());
        wire.extend(rdata);
        wire
    }

    fn local(&self, reason: impl std::fmt::Display) -> ProviderError {
        ProviderError::Local {
            provider: self.provider(),
            reason: reason.to_string(),
        }
    }

    fn name(&self, name: &str) -> Result<Name, ProviderError> {
        Name::from_ascii(format!("{}.", name.trim_end_matches('.')))
            .map_err(|e| self.local(format!("{name}: {e}")))
    }

    /// A canonical value as hickory rdata.
    fn rdata(&self, rtype: RecordType, value: &str) -> Result<RData, ProviderError> {
        let invalid = || ProviderError::InvalidValue {
            rtype,
            value: value.to_owned(),
            reason: "not in canonical form".into(),
        };
        Ok(match rtype {
            RecordType::Txt => {
                RData::TXT(TXT::from_bytes(mailauth_base::txt::split(value.as_bytes())))
            }
            RecordType::Cname => RData::CNAME(CNAME(self.host(value)?)),
            RecordType::Mx => {
                let mx = Mx::parse(value).ok_or_else(invalid)?;
                RData::MX(MX::new(mx.preference, self.host(&mx.host)?))
            }
            _ => {
                let t = Tlsa::parse(value).ok_or_else(invalid)?;
                RData::TLSA(TLSA::new(
                    t.usage.into(),
                    t.selector.into(),
                    t.matching.into(),
                    t.data,
                ))
            }
        })
    }

    fn host(&self, host: &str) -> Result<Name, ProviderError> {
        if host == "." {
            Ok(Name::root())
        } else {
            self.name(host)
        }
    }

    fn record(
        &self,
        record: &Record,
        ttl: u32,
        class: DNSClass,
    ) -> Result<DnsRecord, ProviderError> {
        let mut out = DnsRecord::from_rdata(
            self.name(&record.name)?,
            ttl,
            self.rdata(record.rtype, &record.value)?,
        );
        out.dns_class = class;
        Ok(out)
    }

    /// The records of `rtype` at `name` as the server answers now: (canonical value, TTL).
    fn query(&self, name: &str, rtype: RecordType) -> Result<Vec<(String, u32)>, ProviderError> {
        let mut message = Message::new(rand_id(), MessageType::Query, OpCode::Query);
        message.add_query(Query::query(self.name(name)?, dns_type(rtype)));
        let wire = message.to_vec().map_err(|e| self.local(e))?;
        let bytes = self.exchange(&wire)?;
        self.read_answer(&bytes, name, rtype)
    }

    /// A query reply's wire bytes: its RCODE (RFC 1035 §4.1.1), then the answers of `rtype` as
    /// (canonical value, TTL). Public (hidden) for the fuzz targets (fuzz/), which have no server.
    #[doc(hidden)]
    pub fn read_answer(
        &self,
        bytes: &[u8],
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<(String, u32)>, ProviderError> {
        let Some(flags) = bytes.get(3) else {
            return Err(self.unreachable("short response"));
        };
        match flags & 0x0f {
            0 | 3 => {}
            2 => return Err(self.unreachable(format!("SERVFAIL for {name} {rtype}"))),
            rcode => return Err(self.explain(rcode, &[name.to_owned()])),
        }
        let response = Message::from_vec(bytes).map_err(|e| self.unreachable(e))?;
        response
            .answers
            .iter()
            .filter_map(|r| answer_value(&r.data, rtype).map(|v| (v, r.ttl)))
            .map(|(value, ttl)| Ok((rtype.canonical(&value)?, ttl)))
            .collect()
    }

    fn load_state(&self) -> BTreeMap<String, Vec<String>> {
        std::fs::read(&self.state)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_state(&self, state: &BTreeMap<String, Vec<String>>) -> Result<(), ProviderError> {
        let dir = self
            .state
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let io = |e: std::io::Error| {
            self.local(format!(
                "cannot write the state file {}: {e}",
                self.state.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(state).unwrap_or_default();
        mailauth_base::atomic::write(
            &self.state,
            &json,
            mailauth_base::atomic::WriteOptions::PRIVATE,
        )
        .map_err(io)
    }

    /// A NOTAUTH answer with a TSIG error: BADTIME is this host's clock (local), the others
    /// the key.
    fn explain_tsig(
        &self,
        (error, server_time): (u16, Option<u64>),
        names: &[String],
    ) -> ProviderError {
        if error != 18 {
            return self.explain(9, names);
        }
        let ours = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let theirs = server_time.map_or("unknown".to_owned(), |t| {
            format!(
                "{} s {} ours",
                t.abs_diff(ours),
                if t > ours { "ahead of" } else { "behind" }
            )
        });
        self.local(format!(
            "the update of {} was refused with TSIG BADTIME (RFC 8945 §5.2.3): the server's clock and this host's differ by more than the 300 s fudge (server time {theirs}); fix the clock (NTP) on one side, then run again",
            names.join(", ")
        ))
    }

    fn explain(&self, rcode: u8, names: &[String]) -> ProviderError {
        let name = names.join(", ");
        let provider = self.provider();
        match rcode {
            7 | 8 => ProviderError::Conflict {
                name,
                reason: "the records changed since they were read (YXRRSET/NXRRSET)".into(),
            },
            2 => ProviderError::Unreachable {
                provider,
                reason: format!("SERVFAIL for {name}"),
            },
            5 => ProviderError::Credentials {
                provider,
                reason: format!(
                    "REFUSED: the server does not allow key {} to update {name} (check its update-policy)",
                    self.key.name
                ),
            },
            9 => ProviderError::Credentials {
                provider,
                reason: format!(
                    "NOTAUTH for {name}: the TSIG key {} was rejected (wrong name, secret or algorithm: BADKEY/BADSIG), or the server is not authoritative",
                    self.key.name
                ),
            },
            other => ProviderError::Refused {
                provider,
                reason: format!("the update of {name} failed with RCODE {other}"),
            },
        }
    }
}

/// hickory's type for ours.
fn dns_type(rtype: RecordType) -> DnsType {
    match rtype {
        RecordType::Txt => DnsType::TXT,
        RecordType::Cname => DnsType::CNAME,
        RecordType::Mx => DnsType::MX,
        _ => DnsType::TLSA,
    }
}

/// An answer's data as presentation text, when it is of `rtype`.
fn answer_value(data: &RData, rtype: RecordType) -> Option<String> {
    match (data, rtype) {
        (RData::TXT(txt), RecordType::Txt) => {
            let bytes: Vec<u8> = txt
                .txt_data
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        (RData::CNAME(cname), RecordType::Cname) => Some(cname.0.to_ascii()),
        (RData::MX(mx), RecordType::Mx) => {
            Some(format!("{} {}", mx.preference, mx.exchange.to_ascii()))
        }
        (RData::TLSA(tlsa), RecordType::Tlsa) => Some(
            Tlsa {
                usage: tlsa.cert_usage.into(),
                selector: tlsa.selector.into(),
                matching: tlsa.matching.into(),
                data: tlsa.cert_data.clone(),
            }
            .to_string(),
        ),
        _ => None,
    }
}

/// The state file's key for a name and type (TXT keeps the bare name of earlier versions).
fn state_key(name: &str, rtype: RecordType) -> String {
    match rtype {
        RecordType::Txt => name.to_owned(),
        other => format!("{name} {other}"),
    }
}

/// The values mailauth created, after `changes`.
fn update_state(state: &mut BTreeMap<String, Vec<String>>, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Create(r) => {
                let values = state.entry(state_key(&r.name, r.rtype)).or_default();
                if !values.contains(&r.value) {
                    values.push(r.value.clone());
                }
            }
            Change::Update { from, to } => {
                let values = state.entry(state_key(&to.name, to.rtype)).or_default();
                values.retain(|v| v != &from.value);
                values.push(to.value.clone());
            }
            Change::Delete(r) => state
                .entry(state_key(&r.name, r.rtype))
                .or_default()
                .retain(|v| v != &r.value),
        }
    }
    state.retain(|_, v| !v.is_empty());
}

/// The additions of `changes` alone (an update as a create of its new value).
fn additions(changes: &[Change]) -> Vec<Change> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Create(r) | Change::Update { to: r, .. } => Some(Change::Create(r.clone())),
            Change::Delete(_) => None,
        })
        .collect()
}

/// The offset after the (possibly compressed) name at `at`.
fn skip_name(message: &[u8], mut at: usize) -> Option<usize> {
    loop {
        match *message.get(at)? {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

/// The TSIG error (RFC 8945 §4.2: BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22) of a
/// response's TSIG record, and for BADTIME the server's time from Other Data (§5.2.3).
fn tsig_error(message: &[u8]) -> Option<(u16, Option<u64>)> {
    let count = |i: usize| usize::from(u16::from_be_bytes([message[i], message[i + 1]]));
    let mut at = 12;
    for _ in 0..count(4) {
        at = skip_name(message, at)? + 4;
    }
    let mut found = None;
    for _ in 0..count(6) + count(8) + count(10) {
        let end = skip_name(message, at)?;
        let field = |o: usize| Some(u16::from_be_bytes([*message.get(o)?, *message.get(o + 1)?]));
        let (rtype, length) = (field(end)?, usize::from(field(end + 8)?));
        let rdata = message.get(end + 10..end + 10 + length)?;
        if rtype == 250 {
            // Algorithm name, time (6), fudge (2), MAC size and MAC, original id, error, other.
            let mac_at = skip_name(rdata, 0)? + 8;
            let mac_size = usize::from(u16::from_be_bytes([
                *rdata.get(mac_at)?,
                *rdata.get(mac_at + 1)?,
            ]));
            let error_at = mac_at + 2 + mac_size + 2;
            let error = u16::from_be_bytes([*rdata.get(error_at)?, *rdata.get(error_at + 1)?]);
            let other = rdata.get(error_at + 4..).filter(|o| o.len() == 6);
            let time = other.map(|o| o.iter().fold(0u64, |t, b| (t << 8) | u64::from(*b)));
            found = Some((error, time));
        }
        at = end + 10 + length;
    }
    found
}

fn rand_id() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ (nanos >> 16)) as u16
}

impl Rfc2136 {
    /// Prerequisites: each touched RRset exactly as it is now (or absent).
    fn add_prerequisites(
        &self,
        message: &mut Message,
        sets: &[(String, RecordType)],
    ) -> Result<(), ProviderError> {
        for (name, rtype) in sets {
            let current = self.query(name, *rtype)?;
            if current.is_empty() {
                let mut absent = DnsRecord::update0(self.name(name)?, 0, dns_type(*rtype));
                absent.dns_class = DNSClass::NONE;
                message.add_answer(absent);
            }
            for (value, _) in current {
                let mut record =
                    DnsRecord::from_rdata(self.name(name)?, 0, self.rdata(*rtype, &value)?);
                record.dns_class = DNSClass::IN;
                message.add_answer(record);
            }
        }
        Ok(())
    }

    fn add_updates(&self, message: &mut Message, changes: &[Change]) -> Result<(), ProviderError> {
        for change in changes {
            match change {
                Change::Create(r) => message.add_authority(self.record(r, r.ttl, DNSClass::IN)?),
                Change::Update { from, to } => {
                    message.add_authority(self.record(from, 0, DNSClass::NONE)?);
                    message.add_authority(self.record(to, to.ttl, DNSClass::IN)?)
                }
                Change::Delete(r) => message.add_authority(self.record(r, 0, DNSClass::NONE)?),
            };
        }
        Ok(())
    }
}

impl Provider for Rfc2136 {
    fn records(
        &self,
        _zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        let name = name.to_ascii_lowercase();
        let state = self.load_state();
        let ours = state
            .get(&state_key(&name, rtype))
            .cloned()
            .unwrap_or_default();
        Ok(self
            .query(&name, rtype)?
            .into_iter()
            .map(|(value, ttl)| Record {
                managed: ours.contains(&value),
                name: name.clone(),
                rtype,
                ttl,
                value,
            })
            .collect())
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut message = Message::new(rand_id(), MessageType::Query, OpCode::Update);
        message.add_query(Query::query(self.name(zone)?, DnsType::SOA));
        let mut sets: Vec<(String, RecordType)> = changes
            .iter()
            .map(|c| (c.name().to_owned(), c.rtype()))
            .collect();
        sets.sort();
        sets.dedup();
        self.add_prerequisites(&mut message, &sets)?;
        self.add_updates(&mut message, changes)?;
        let wire = message.to_vec().map_err(|e| self.local(e))?;
        // The values about to be written are listed as mailauth's first, so an update whose
        // answer is lost (and is found applied when read back) still counts as mailauth's;
        // the values removed leave the list only once the server has said yes.
        let mut state = self.load_state();
        update_state(&mut state, &additions(changes));
        self.save_state(&state)?;
        let response = self.exchange(&self.sign(wire))?;
        let rcode = response[3] & 0x0f;
        if rcode != 0 {
            let names: Vec<String> = sets.into_iter().map(|(n, _)| n).collect();
            return Err(match tsig_error(&response) {
                Some(error) if rcode == 9 => self.explain_tsig(error, &names),
                _ => self.explain(rcode, &names),
            });
        }
        update_state(&mut state, changes);
        self.save_state(&state)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_prerequisites: true,
            record_types: &RecordType::ALL,
        }
    }
}
