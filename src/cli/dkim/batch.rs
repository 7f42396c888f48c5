//! `mailauth verify` over many messages: several files, directories, mbox files, Maildirs.
//!
//! Messages come from [`mailauth::mailbox::Messages`] on a reader thread, one at a time, through a
//! bounded channel. Up to `--jobs` worker threads (a multi-thread tokio runtime of that size)
//! verify them with one shared parsed-key cache (`dkim::verify::KeyCache`) and one shared DNS
//! cache (`dns::CachingResolver`, for DMARC), and results are written in input order as soon as the
//! oldest one is done. At most a window of `4 × jobs` messages is in flight (plus as many waiting
//! in the channel), so memory stays flat however large the mbox or Maildir is: neither messages
//! nor results are ever collected, only the summary's counters.

use std::collections::{BTreeMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::task::JoinHandle;

use super::{Lookups, VerifyArgs, VerifySettings, verify_parsed};
use crate::cli::{GlobalArgs, Outcome};
use mailauth::dkim::DkimResult;
use mailauth::dkim::verify::KeyCache;
use mailauth::dmarc::DmarcResult;
use mailauth::dns::{CachingResolver, Resolver};
use mailauth::mailbox::{Format, Item, Messages, is_mbox_file};
use mailauth::message::{MAX_MESSAGE_BYTES, Message};

/// Messages in flight per job (verifying, or done and waiting for an older one).
const WINDOW_PER_JOB: usize = 4;
/// DNS answers kept by the shared cache (DMARC records and the tree walk's names).
const DNS_CACHE: usize = 100_000;
/// Parsed DKIM public keys kept by the shared key cache.
const KEY_CACHE: usize = 10_000;
/// Refused inputs listed by name in the summary (all are counted, and each has its own line).
const REFUSED_LISTED: usize = 100;
/// The DKIM words the summary counts per signing domain.
const DKIM_WORDS: [&str; 6] = ["pass", "fail", "temperror", "permerror", "neutral", "none"];

/// Whether this run is a batch: several paths, a directory, `--mbox`/`--maildir`, or an mbox.
pub(super) fn is_batch(args: &VerifyArgs) -> bool {
    if args.files.len() != 1 || args.mbox || args.maildir {
        return true;
    }
    let path = &args.files[0];
    path != Path::new("-") && (path.is_dir() || is_mbox_file(path))
}

/// The one path of a single-message run.
pub(super) fn single_file(args: &VerifyArgs) -> Result<&Path> {
    match args.files.as_slice() {
        [file] => Ok(file),
        _ => bail!("give exactly one message to verify"),
    }
}

fn check_batch_args(args: &VerifyArgs) -> Result<()> {
    if args.files.iter().any(|f| f == Path::new("-")) {
        bail!("`-` (stdin) is read alone: give it as the only path, without --mbox or --maildir");
    }
    if args.ip.is_some() || args.helo.is_some() || args.mail_from.is_some() {
        bail!(
            "--ip, --helo and --mail-from describe one SMTP session, so they cannot apply to a \
             batch of messages: verify that message alone (one file), or drop the SPF flags"
        );
    }
    Ok(())
}

/// Verify every message under the paths; see the module documentation.
pub(super) fn verify_batch(global: &GlobalArgs, args: VerifyArgs) -> Result<Outcome> {
    check_batch_args(&args)?;
    let settings = VerifySettings::new(global, &args)?;
    let format = if args.mbox {
        Format::Mbox
    } else if args.maildir {
        Format::Maildir
    } else {
        Format::Detect
    };
    let messages = Messages::new(&args.files, format, MAX_MESSAGE_BYTES as u64)?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    // The command's own runtime has one thread; the batch gets a runtime of `jobs` threads,
    // on a thread of its own because runtimes do not nest. The resolver is built inside it, so
    // its connections live where its queries run.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(jobs)
                    .enable_all()
                    .build()
                    .context("cannot start the batch runtime")?;
                runtime.block_on(run(global, settings, messages, jobs))
            })
            .join()
            .unwrap_or_else(|_| bail!("a batch worker stopped unexpectedly"))
    })
}

/// One message done: its output line and what the summary counts.
enum Done {
    Verified {
        line: String,
        outcome: Outcome,
        signatures: Vec<(String, DkimResult)>,
        dmarc: DmarcResult,
    },
    Refused {
        line: String,
        origin: String,
        reason: String,
    },
}

async fn run(
    global: &GlobalArgs,
    settings: VerifySettings,
    messages: Messages,
    jobs: usize,
) -> Result<Outcome> {
    let dns = global.resolver()?;
    let shared = Arc::new(Shared {
        dkim: dns.clone(),
        keys: KeyCache::new(KEY_CACHE),
        other: Arc::new(CachingResolver::new(dns, DNS_CACHE)),
        settings,
    });
    let window = jobs.saturating_mul(WINDOW_PER_JOB).max(1);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Item>(window);
    let reader = std::thread::spawn(move || {
        for item in messages {
            if sender.blocking_send(item).is_err() {
                break;
            }
        }
    });
    let progress = progress_bar(global.json);
    let mut summary = Summary::default();
    let mut in_flight: VecDeque<JoinHandle<Result<Done>>> = VecDeque::with_capacity(window);
    let mut reading = true;
    let result = loop {
        if !reading && in_flight.is_empty() {
            break Ok(());
        }
        let can_read = reading && in_flight.len() < window;
        let step = tokio::select! {
            biased;
            done = oldest(&mut in_flight) => Step::Done(done),
            item = receiver.recv(), if can_read => Step::Read(item),
        };
        match step {
            Step::Read(Some(item)) => {
                let task = verify_item(item, shared.clone(), global.json);
                in_flight.push_back(tokio::spawn(task));
            }
            Step::Read(None) => reading = false,
            Step::Done(done) => {
                in_flight.pop_front();
                let written = done
                    .context("a verification task stopped unexpectedly")
                    .and_then(|done| done)
                    .and_then(|done| summary.write(done));
                if let Err(err) = written {
                    break Err(err);
                }
                progress.inc(1);
            }
        }
    };
    progress.finish_and_clear();
    // On an early stop (stdout closed), the reader sees the channel gone and ends.
    drop(receiver);
    let _ = reader.join();
    result?;
    summary.print(global.json)?;
    if summary.refused_count > 0 {
        bail!(
            "{} of {} inputs refused (listed in the summary); the others were verified",
            summary.refused_count,
            summary.messages
        );
    }
    Ok(summary.worst)
}

enum Step {
    Read(Option<Item>),
    Done(Result<Result<Done>, tokio::task::JoinError>),
}

/// The oldest task's result (never ready when none is in flight).
async fn oldest(
    in_flight: &mut VecDeque<JoinHandle<Result<Done>>>,
) -> Result<Result<Done>, tokio::task::JoinError> {
    match in_flight.front_mut() {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

fn progress_bar(json: bool) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} messages verified ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    if json {
        bar.set_message("JSON lines on stdout");
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// What every worker shares: the resolver for DKIM key records with the parsed-key cache over
/// it (the key cache keeps each record's TTL), one caching resolver for every other lookup
/// (DMARC records, the tree walk), and the run's settings.
struct Shared {
    dkim: Arc<dyn Resolver>,
    keys: KeyCache,
    other: Arc<dyn Resolver>,
    settings: VerifySettings,
}

/// Parse and verify one message, and render its output line.
async fn verify_item(item: Item, shared: Arc<Shared>, json: bool) -> Result<Done> {
    let Item { origin, outcome } = item;
    let parsed = outcome.map_err(|why| why.to_string()).and_then(|bytes| {
        Message::parse(&bytes).map_err(|e| format!("not a readable email message: {e}"))
    });
    let message = match parsed {
        Ok(message) => message,
        Err(reason) => return refused(origin, reason, json),
    };
    let lookups = Lookups {
        dkim: shared.dkim.as_ref(),
        keys: &shared.keys,
        other: shared.other.as_ref(),
    };
    let verified = verify_parsed(&message, &lookups, &shared.settings).await;
    let line = if json {
        let mut object = verified.json()?;
        if let Some(map) = object.as_object_mut() {
            map.insert("origin".into(), origin.clone().into());
        }
        serde_json::to_string(&object)?
    } else {
        // The field unfolded (RFC 5322 §2.2.3) so each message is one line.
        format!("{origin}: {}", verified.header.replace("\r\n", ""))
    };
    Ok(Done::Verified {
        line,
        outcome: verified.outcome(),
        signatures: verified
            .outcomes
            .iter()
            .map(|o| (o.domain.clone(), o.result))
            .collect(),
        dmarc: verified.dmarc.result,
    })
}

fn refused(origin: String, reason: String, json: bool) -> Result<Done> {
    let line = if json {
        serde_json::to_string(&serde_json::json!({"origin": origin, "error": reason}))?
    } else {
        format!("{origin}: not verified: {reason}")
    };
    Ok(Done::Refused {
        line,
        origin,
        reason,
    })
}

/// What the run ends with: counters only, so its size does not grow with the input (except one
/// entry per signing domain, and at most [`REFUSED_LISTED`] refusals by name).
struct Summary {
    messages: u64,
    verified: u64,
    unsigned: u64,
    dkim: BTreeMap<String, BTreeMap<&'static str, u64>>,
    dmarc: BTreeMap<&'static str, u64>,
    refused: Vec<(String, String)>,
    refused_count: u64,
    worst: Outcome,
}

impl Default for Summary {
    fn default() -> Summary {
        Summary {
            messages: 0,
            verified: 0,
            unsigned: 0,
            dkim: BTreeMap::new(),
            dmarc: BTreeMap::new(),
            refused: Vec::new(),
            refused_count: 0,
            worst: Outcome::Success,
        }
    }
}

impl Summary {
    /// Write one message's line and count it.
    fn write(&mut self, done: Done) -> Result<()> {
        self.messages += 1;
        let line = match done {
            Done::Verified {
                line,
                outcome,
                signatures,
                dmarc,
            } => {
                self.verified += 1;
                self.worst = worse(self.worst, outcome);
                if signatures.is_empty() {
                    self.unsigned += 1;
                }
                for (domain, result) in signatures {
                    let counts = self
                        .dkim
                        .entry(domain)
                        .or_insert_with(|| DKIM_WORDS.iter().map(|word| (*word, 0)).collect());
                    *counts.entry(result.as_str()).or_default() += 1;
                }
                *self.dmarc.entry(dmarc.as_str()).or_default() += 1;
                line
            }
            Done::Refused {
                line,
                origin,
                reason,
            } => {
                self.refused_count += 1;
                if self.refused.len() < REFUSED_LISTED {
                    self.refused.push((origin, reason));
                }
                line
            }
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    }

    fn print(&self, json: bool) -> Result<()> {
        if json {
            let refused: Vec<_> = self
                .refused
                .iter()
                .map(|(origin, reason)| serde_json::json!({"origin": origin, "reason": reason}))
                .collect();
            let line = serde_json::json!({"summary": {
                "messages": self.messages,
                "verified": self.verified,
                "refused_count": self.refused_count,
                "refused": refused,
                "unsigned": self.unsigned,
                "dkim": self.dkim,
                "dmarc": self.dmarc,
            }});
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
            out.flush()?;
            return Ok(());
        }
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "mailauth: {} messages: {} verified, {} refused, {} unsigned",
            self.messages, self.verified, self.refused_count, self.unsigned
        )?;
        for (domain, counts) in &self.dkim {
            let counts: Vec<_> = counts.iter().map(|(w, n)| format!("{w} {n}")).collect();
            writeln!(err, "  dkim d={domain}: {}", counts.join(", "))?;
        }
        let dmarc: Vec<_> = self.dmarc.iter().map(|(w, n)| format!("{w} {n}")).collect();
        if !dmarc.is_empty() {
            writeln!(err, "  dmarc: {}", dmarc.join(", "))?;
        }
        for (origin, reason) in &self.refused {
            writeln!(err, "  refused {origin}: {reason}")?;
        }
        if self.refused_count > self.refused.len() as u64 {
            writeln!(
                err,
                "  ... and {} more refused (each has its line on stdout)",
                self.refused_count - self.refused.len() as u64
            )?;
        }
        Ok(())
    }
}

/// "Worst of all": a failed message makes the batch fail (1); otherwise a temporary failure
/// makes it temporary (3); 0 only when every message passed as single-file verify counts it.
fn worse(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Failed, _) | (_, Outcome::Failed) => Outcome::Failed,
        (Outcome::TempFail, _) | (_, Outcome::TempFail) => Outcome::TempFail,
        _ => Outcome::Success,
    }
}
