//! mail-auth's side of the batch verification benchmark (benches/verify/run.sh): every message
//! of a Maildir verified with Stalwart `mail-auth` 0.15.1's `verify_dkim`, in one process.
//!
//! Usage: `verify_loop ZONE_FILE MAILDIR [THREADS (2)]`
//!
//! DNS is answered from ZONE_FILE, the one-record-per-line file benches/verify/generate.py writes
//! (`NAME TTL IN TXT "string" "string"...`): every DKIM key record in it is parsed once by
//! mail-auth's own `DomainKey::parse` into a prefilled cache, and a name the zone does not hold is
//! answered from that cache as NXDOMAIN (as a server for the zone would), so no query ever leaves
//! the process; the authenticator's only name server is 127.0.0.1:9 anyway. Parsing the cached
//! keys once is what mail-auth does with its own DNS cache, so it is not an advantage given to it.
//!
//! Messages are the files in MAILDIR/cur and MAILDIR/new in sorted order (tmp/ holds deliveries in
//! progress and is skipped). mail-auth's verifier is an `async fn` over shared references, so the
//! batch runs on THREADS OS threads, each with its own single-threaded tokio runtime and
//! authenticator, sharing the cache; thread `t` takes messages `t, t + THREADS, ...`.
//!
//! Prints one JSON line: messages, pass (first signature passes), fail (anything else), threads,
//! and the count of each mail-auth result.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mail_auth::dkim::DomainKey;
use mail_auth::dns::TxtRecordParser;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{
    AuthenticatedMessage, DkimResult, DnsCache, DnsError, MessageAuthenticator, Mx, Negative,
    Parameters, RecordSet, ResolverCache, TxtRecord,
};

/// A read-only map answering from the zone; inserts are dropped (nothing new can be learnt
/// offline). With `miss` set, a name not in the map gets that answer (NXDOMAIN for TXT).
struct ZoneCache<K, V> {
    map: HashMap<K, V>,
    miss: Option<V>,
}

impl<K, V> ZoneCache<K, V> {
    fn empty() -> Self {
        ZoneCache {
            map: HashMap::new(),
            miss: None,
        }
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for ZoneCache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(name).or(self.miss.as_ref()).cloned()
    }

    fn remove<Q>(&self, _name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _key: K, _value: V, _valid_until: Instant) {}
}

type Answer<T> = Result<RecordSet<T>, Negative>;

struct ZoneDns {
    txt: ZoneCache<Box<str>, TxtRecord>,
    mx: ZoneCache<Box<str>, Answer<Mx>>,
    ipv4: ZoneCache<Box<str>, Answer<Ipv4Addr>>,
    ipv6: ZoneCache<Box<str>, Answer<Ipv6Addr>>,
    ptr: ZoneCache<IpAddr, Answer<Box<str>>>,
}

impl DnsCache for ZoneDns {
    type Txt = ZoneCache<Box<str>, TxtRecord>;
    type Mx = ZoneCache<Box<str>, Answer<Mx>>;
    type Ipv4 = ZoneCache<Box<str>, Answer<Ipv4Addr>>;
    type Ipv6 = ZoneCache<Box<str>, Answer<Ipv6Addr>>;
    type Ptr = ZoneCache<IpAddr, Answer<Box<str>>>;

    fn txt(&self) -> Option<&Self::Txt> {
        Some(&self.txt)
    }
    fn mx(&self) -> Option<&Self::Mx> {
        Some(&self.mx)
    }
    fn ipv4(&self) -> Option<&Self::Ipv4> {
        Some(&self.ipv4)
    }
    fn ipv6(&self) -> Option<&Self::Ipv6> {
        Some(&self.ipv6)
    }
    fn ptr(&self) -> Option<&Self::Ptr> {
        Some(&self.ptr)
    }
}

/// The DKIM key records of the zone file (names containing `._domainkey.`), each parsed by
/// mail-auth, keyed by the absolute name (with the final dot, as mail-auth looks it up).
fn read_zone(path: &Path) -> ZoneDns {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read zone {}: {e}", path.display()));
    let mut txt = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with(';')) {
        let (Some(name), Some((_, strings))) =
            (line.split_whitespace().next(), line.split_once(" TXT "))
        else {
            continue;
        };
        if !name.contains("._domainkey.") {
            continue;
        }
        // The quoted character-strings of one record, concatenated (RFC 6376 §3.6.2.2).
        let value: String = strings.split('"').skip(1).step_by(2).collect();
        let key = DomainKey::parse(value.as_bytes())
            .unwrap_or_else(|e| panic!("mail-auth cannot parse the key record at {name}: {e:?}"));
        let name = format!("{}.", name.trim_end_matches('.').to_ascii_lowercase());
        txt.insert(name.into_boxed_str(), TxtRecord::DomainKey(Arc::new(key)));
    }
    let nxdomain = mail_auth::Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain));
    ZoneDns {
        txt: ZoneCache {
            map: txt,
            miss: Some(TxtRecord::Error(nxdomain)),
        },
        mx: ZoneCache::empty(),
        ipv4: ZoneCache::empty(),
        ipv6: ZoneCache::empty(),
        ptr: ZoneCache::empty(),
    }
}

/// The delivered messages of a Maildir: cur/ and new/, dot files skipped, sorted.
fn maildir_files(maildir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let dir = maildir.join(sub);
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
            if !entry.file_name().to_string_lossy().starts_with('.') {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

/// An authenticator whose only name server is 127.0.0.1:9 (nothing listens there): a lookup
/// that got past the cache would fail rather than reach the network.
fn offline_authenticator() -> MessageAuthenticator {
    let mut conn = ConnectionConfig::udp();
    conn.port = 9;
    let server = NameServerConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST), true, vec![conn]);
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_millis(100);
    opts.attempts = 0;
    MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), opts)
        .expect("build mail-auth authenticator")
}

fn result_name(result: &DkimResult) -> &'static str {
    match result {
        DkimResult::Pass => "pass",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

/// Verifies messages `first, first + step, ...`; returns the count of each first-signature
/// result ("unparsed" when mail-auth cannot parse the message, "none" when it has no signature).
fn verify_share(
    files: &[PathBuf],
    first: usize,
    step: usize,
    dns: &ZoneDns,
) -> BTreeMap<&'static str, usize> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let authenticator = {
        let _guard = rt.enter();
        offline_authenticator()
    };
    let mut counts = BTreeMap::new();
    for path in files.iter().skip(first).step_by(step) {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let name = match AuthenticatedMessage::parse(&raw) {
            None => "unparsed",
            Some(message) => {
                let outputs = rt
                    .block_on(authenticator.verify_dkim(Parameters::new(&message).with_cache(dns)));
                outputs.first().map_or("none", |o| result_name(o.result()))
            }
        };
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: verify_loop ZONE_FILE MAILDIR [THREADS (2)]");
        std::process::exit(2);
    }
    let threads: usize = args
        .get(3)
        .map_or(2, |t| t.parse().expect("THREADS: a number"));
    let dns = read_zone(Path::new(&args[1]));
    let files = maildir_files(Path::new(&args[2]));
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let (files, dns) = (&files, &dns);
                scope.spawn(move || verify_share(files, t, threads.max(1), dns))
            })
            .collect();
        for worker in workers {
            for (name, n) in worker.join().expect("worker thread") {
                *counts.entry(name).or_insert(0) += n;
            }
        }
    });
    let pass = counts.get("pass").copied().unwrap_or(0);
    let results: Vec<String> = counts
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    println!(
        "{{\"messages\": {}, \"pass\": {pass}, \"fail\": {}, \"threads\": {threads}, \"results\": {{{}}}}}",
        files.len(),
        files.len() - pass,
        results.join(", ")
    );
}
