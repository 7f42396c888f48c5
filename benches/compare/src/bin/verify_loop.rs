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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mail_auth::dkim::DomainKey;
use mail_auth::dns::TxtRecordParser;
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{AuthenticatedMessage, DkimResult, DnsError, Parameters, TxtRecord};

#[path = "../offline.rs"]
mod offline;
use offline::{MapCache, OfflineCache, offline_authenticator};

/// The DKIM key records of the zone file (names containing `._domainkey.`), each parsed by
/// mail-auth, keyed by the absolute name (with the final dot, as mail-auth looks it up).
fn read_zone(path: &Path) -> OfflineCache {
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
    OfflineCache {
        txt: MapCache::with(txt, Some(TxtRecord::Error(nxdomain))),
        ..OfflineCache::default()
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
    dns: &OfflineCache,
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
