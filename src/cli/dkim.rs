//! `mailauth sign` and `mailauth verify`.

use mailauth_base::DomainName;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod batch;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::auth_results::{SpfResinfo, full_header};
use mailauth::dkim::sign::{SignOptions, sign as sign_message, signed_message};
use mailauth::dkim::verify::{KeyCache, VerifyOptions, verify_cached};
use mailauth::dkim::{Canonicalization, DkimOutcome, DkimResult, SigningAlgorithm};
use mailauth::dmarc::DmarcResult;
use mailauth::dmarc::eval::DmarcOptions;
use mailauth::dns::Resolver;
use mailauth::keys::store::load_file;
use mailauth::keys::{KeyStore, PrivateKey};
use mailauth::message::Message;
use mailauth::spf::SpfResult;
use mailauth::spf::eval::{SpfOptions, SpfOutput, SpfQuery, check_host};
// Every author domain is judged by `dmarc::eval::evaluate` inside `evaluate_message`.
use mailauth::verdict::{
    MessageInput as DmarcInput, MessageVerdict, evaluate_message as evaluate_dmarc,
};

/// Arguments of `mailauth sign`.
#[derive(Debug, Args)]
#[command(
    after_help = "The signed message (the new DKIM-Signature field, then the message \
with CRLF line endings) is written to stdout. Publish the key's record first: `mailauth keygen` \
prints it."
)]
pub struct SignArgs {
    /// The message to sign (`-` for stdin).
    pub file: PathBuf,
    /// The signing domain, `d=` (the domain whose DNS holds the key record).
    #[arg(long, short = 'd')]
    pub domain: DomainName,
    /// The selector, `s=` (the key record lives at SELECTOR._domainkey.DOMAIN).
    #[arg(long, short = 's')]
    pub selector: String,
    /// Private key file (PKCS#8 or PKCS#1 PEM, or dkimpy's base64 Ed25519 seed). Default: the
    /// key store's KEY_DIR/DOMAIN/SELECTOR.pem.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The key store directory, used when --key is not given.
    #[arg(long, value_name = "DIR", default_value = "keys")]
    pub key_dir: PathBuf,
    /// Signing algorithm; by default rsa-sha256 for RSA keys, ed25519-sha256 for Ed25519 keys.
    #[arg(long, value_name = "ALG", value_parser = ["rsa-sha256", "ed25519-sha256"])]
    pub algorithm: Option<String>,
    /// Header and body canonicalization, `c=` (simple or relaxed for each).
    #[arg(
        long,
        short = 'c',
        value_name = "HEADER/BODY",
        default_value = "relaxed/relaxed"
    )]
    pub canonicalization: String,
    /// Header fields to sign, colon-separated (default: RFC 6376 §5.4.1's recommended set).
    /// From is always signed and oversigned.
    #[arg(long, value_name = "NAME:NAME...")]
    pub headers: Option<String>,
    /// Make the signature expire this many seconds after signing (`x=`).
    #[arg(long, value_name = "SECONDS")]
    pub expire_after: Option<u64>,
    /// The agent or user identifier, `i=` (an address at DOMAIN or a subdomain).
    #[arg(long, value_name = "ADDR")]
    pub identity: Option<String>,
}

/// Arguments of `mailauth verify`.
#[derive(Debug, Args)]
#[command(after_help = "\
Checks every DKIM signature, SPF when --ip is given (MAIL FROM's domain, or the HELO name when \
MAIL FROM is empty or absent), and DMARC for the From domain, and prints one \
Authentication-Results field (spf, dkim, dmarc). Without --ip, SPF is none and DMARC rests on \
DKIM alone.

A message with several From fields or several author domains still gets every result: each \
author domain is judged and the strictest outcome kept (RFC 9989 §11.5); one without a usable \
From domain gets dmarc=permerror. U-label domains (From, --helo, --mail-from) are converted to \
A-labels first.

Exit status: 0 when DMARC passes (with no DMARC record: when SPF or DKIM passes) for a message \
with one From field and one author domain, 1 otherwise, 2 when the input is not an email \
message, 3 when a temporary DNS failure decided the outcome.

Batch: several paths, a directory, an mbox (a file starting `From `) or a Maildir (cur/ and \
new/; tmp/ is skipped), or --mbox / --maildir, verify every message on --jobs threads with one \
shared DNS cache. One line per message, in input order: `ORIGIN: Authentication-Results: ...` \
(unfolded), or with --json the single-message object plus \"origin\" (`path`, or `path#N` for the \
Nth mbox message); an input that cannot be read gets its reason and the others carry on. A \
summary ends the run (stderr; with --json a last line {\"summary\": ...}): messages, DKIM results \
per signing domain, DMARC results, refused inputs. --ip, --helo and --mail-from are refused in a \
batch (they describe one SMTP session). Batch exit status, worst of all: 1 if any message alone \
would exit 1, else 3 if any would exit 3, else 0; 2 if an input was refused (after all others \
were printed) or a path does not exist (before anything is read).

Examples:
  mailauth verify msg.eml
  mailauth verify msg.eml --ip 192.0.2.1 --helo mx.example.net --mail-from bounce@example.com
  mailauth --zone example.com.zone --json verify msg.eml --ip 192.0.2.1 --mail-from a@example.com
  mailauth --json verify --maildir ~/Maildir --jobs 2
  mailauth verify archive.mbox inbox/ more.eml")]
pub struct VerifyArgs {
    /// The messages to verify: files, directories, mbox files or Maildirs (`-` alone for stdin).
    /// More than one path, a directory or an mbox makes a batch (see below).
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Read every file as an mbox (RFC 4155), whatever it starts with.
    #[arg(long, conflicts_with = "maildir")]
    pub mbox: bool,
    /// Read every path as a Maildir (cur/ and new/; tmp/ is skipped).
    #[arg(long)]
    pub maildir: bool,
    /// Messages verified at the same time in a batch (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// The authserv-id naming this verifier in Authentication-Results (default: the host name).
    #[arg(long, value_name = "ID")]
    pub authserv_id: Option<String>,
    /// The SMTP client's IP address: enables the SPF check.
    #[arg(long)]
    pub ip: Option<std::net::IpAddr>,
    /// The HELO/EHLO name the client gave.
    #[arg(long, value_name = "HOST")]
    pub helo: Option<String>,
    /// The envelope sender (MAIL FROM); empty or absent means a bounce, checked by HELO.
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,
    /// The pct= sampling draw, 0-99 (default: random). For reproducible dispositions.
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u8).range(0..100))]
    pub dmarc_sample: Option<u8>,
    /// The DMARC specification to evaluate by: 9989 (tree walk, the default) or 7489 (PSL, pct).
    #[arg(long, value_name = "RFC", default_value = "9989")]
    pub dmarc_standard: mailauth::dmarc::Standard,
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    let limit = mailauth::message::MAX_MESSAGE_BYTES as u64 + 1;
    let mut data = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut data)
            .context("reading stdin")?;
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        file.take(limit)
            .read_to_end(&mut data)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(data)
}

fn read_message(path: &Path) -> Result<Message> {
    let data = read_input(path)?;
    Message::parse(&data)
        .with_context(|| format!("{} is not a readable email message", path.display()))
}

fn canonicalizations(text: &str) -> Result<(Canonicalization, Canonicalization)> {
    let (header, body) = text.split_once('/').unwrap_or((text, "simple"));
    match (
        Canonicalization::from_name(header),
        Canonicalization::from_name(body),
    ) {
        (Some(h), Some(b)) => Ok((h, b)),
        _ => bail!("--canonicalization {text:?}: expected HEADER/BODY, each simple or relaxed"),
    }
}

fn load_key(args: &SignArgs) -> Result<PrivateKey> {
    let path = match &args.key {
        Some(path) => path.clone(),
        None => KeyStore::new(&args.key_dir).key_path(&args.domain, &args.selector)?,
    };
    if !path.exists() {
        bail!(
            "cannot read the private key {}: no such file (give --key FILE, or create it with `mailauth keygen {} --selector {}`)",
            path.display(),
            args.domain,
            args.selector
        );
    }
    Ok(load_file(&path)?)
}

pub fn sign(global: &GlobalArgs, args: SignArgs) -> Result<Outcome> {
    let message = read_message(&args.file)?;
    let key = load_key(&args)?;
    global.note(format_args!("signing with {key:?}"));
    let now = global.now()?;
    let (header_canon, body_canon) = canonicalizations(&args.canonicalization)?;
    let mut options = SignOptions::new(&args.domain, &args.selector, now);
    options.algorithm = match args.algorithm.as_deref() {
        Some("ed25519-sha256") => Some(SigningAlgorithm::Ed25519Sha256),
        Some(_) => Some(SigningAlgorithm::RsaSha256),
        None => None,
    };
    options.header_canon = header_canon;
    options.body_canon = body_canon;
    options.headers = args
        .headers
        .map(|h| h.split(':').map(|n| n.trim().to_owned()).collect());
    options.expiration = args.expire_after.map(|secs| now.saturating_add(secs));
    options.identity = args.identity;
    let field = sign_message(&message, &key, &options)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&signed_message(&message, &field))?;
    out.flush()?;
    Ok(Outcome::Success)
}

fn default_authserv_id() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The exit outcome: a message without exactly one From field and one author domain → 1
/// (RFC 9989 §5.3.1: DMARC cannot pass it); DMARC pass → 0; no DMARC record → 0 when SPF or
/// DKIM passes; a temporary failure that left nothing passing → 3; else 1.
fn verify_outcome(
    outcomes: &[DkimOutcome],
    spf: Option<&SpfOutput>,
    dmarc: &MessageVerdict,
) -> Outcome {
    let dkim_pass = outcomes.iter().any(|o| o.result == DkimResult::Pass);
    let spf_pass = spf.is_some_and(|s| s.result == SpfResult::Pass);
    let temporary = dmarc.result == DmarcResult::TempError
        || outcomes.iter().any(|o| o.result == DkimResult::TempError)
        || spf.is_some_and(|s| s.result == SpfResult::TempError);
    if !dmarc.single_author {
        return Outcome::Failed;
    }
    match dmarc.result {
        DmarcResult::Pass => Outcome::Success,
        DmarcResult::None if dkim_pass || spf_pass => Outcome::Success,
        DmarcResult::TempError => Outcome::TempFail,
        DmarcResult::None if temporary => Outcome::TempFail,
        _ => Outcome::Failed,
    }
}

/// A HELO name with U-labels in A-labels (RFC 5890 §2.3); other text as given.
fn helo_a_labels(helo: &str) -> Result<String> {
    if helo.is_ascii() {
        return Ok(helo.to_owned());
    }
    let name = DomainName::parse(helo).with_context(|| format!("--helo {helo:?}"))?;
    Ok(name.to_string())
}

/// MAIL FROM with its domain's U-labels in A-labels (RFC 5890 §2.3); the local part as given.
fn mail_from_a_labels(mail_from: &str) -> Result<String> {
    let Some((local, domain)) = mail_from.rsplit_once('@') else {
        return Ok(mail_from.to_owned());
    };
    let (domain, close) = match domain.strip_suffix('>') {
        Some(inner) => (inner, ">"),
        None => (domain, ""),
    };
    if domain.is_ascii() {
        return Ok(mail_from.to_owned());
    }
    let name = DomainName::parse(domain).with_context(|| format!("--mail-from {mail_from:?}"))?;
    Ok(format!("{local}@{name}{close}"))
}

/// The `dmarc` member of `--json`: the deciding evaluation as one domain's result always looked
/// (result, policy, disposition, domain, alignment...) with the combined result and reason, plus
/// every author and every evaluation.
fn dmarc_json(verdict: &MessageVerdict) -> Result<serde_json::Value> {
    let mut json = match verdict.deciding_output() {
        Some(output) => serde_json::to_value(output)?,
        None => serde_json::json!({
            "policy": null,
            "disposition": "none",
            "domain": null,
            "policy_domain": null,
            "alignment": {"spf": false, "dkim": false},
            "record": null,
            "reason": null,
        }),
    };
    if let Some(object) = json.as_object_mut() {
        object.insert("result".into(), serde_json::to_value(verdict.result)?);
        if let Some(reason) = &verdict.reason {
            object.insert("reason".into(), reason.as_str().into());
        }
        object.insert("single_author".into(), verdict.single_author.into());
        object.insert("authors".into(), serde_json::to_value(&verdict.authors)?);
        object.insert(
            "evaluations".into(),
            serde_json::to_value(&verdict.evaluations)?,
        );
    }
    Ok(json)
}

/// What verifying one message gives: every result and the Authentication-Results field.
pub(crate) struct Verified {
    pub outcomes: Vec<DkimOutcome>,
    pub spf: Option<SpfOutput>,
    pub dmarc: MessageVerdict,
    pub header: String,
}

/// The settings that are the same for every message of one `verify` run.
pub(crate) struct VerifySettings {
    pub now: u64,
    pub authserv_id: String,
    /// `Some` when --ip was given: the SPF query's IP, HELO (A-labels) and MAIL FROM (A-labels).
    pub spf: Option<(std::net::IpAddr, String, String)>,
    pub dmarc_sample: Option<u8>,
    pub dmarc_standard: mailauth::dmarc::Standard,
}

impl VerifySettings {
    pub(crate) fn new(global: &GlobalArgs, args: &VerifyArgs) -> Result<VerifySettings> {
        let mail_from = mail_from_a_labels(args.mail_from.as_deref().unwrap_or_default())?;
        let helo = helo_a_labels(args.helo.as_deref().unwrap_or_default())?;
        Ok(VerifySettings {
            now: global.now()?,
            authserv_id: args.authserv_id.clone().unwrap_or_else(default_authserv_id),
            spf: args.ip.map(|ip| (ip, helo, mail_from)),
            dmarc_sample: args.dmarc_sample,
            dmarc_standard: args.dmarc_standard,
        })
    }
}

/// Where one message's lookups go: DKIM keys through `keys` (parsed keys kept across messages)
/// over `dkim`, everything else (SPF, DMARC) through `other`.
pub(crate) struct Lookups<'a> {
    pub dkim: &'a dyn Resolver,
    pub keys: &'a KeyCache,
    pub other: &'a dyn Resolver,
}

/// DKIM, SPF (when asked) and DMARC for one message.
pub(crate) async fn verify_parsed(
    message: &Message,
    lookups: &Lookups<'_>,
    settings: &VerifySettings,
) -> Verified {
    let resolver = lookups.other;
    let options = VerifyOptions::new(settings.now);
    let outcomes = verify_cached(message, lookups.dkim, &options, lookups.keys).await;
    let spf = match &settings.spf {
        Some((ip, helo, mail_from)) => {
            let query = SpfQuery::for_mail(*ip, helo, mail_from);
            Some(check_host(resolver, &query, &SpfOptions::new(settings.now)).await)
        }
        None => None,
    };
    let authors = message.authors();
    let sample = settings
        .dmarc_sample
        .unwrap_or_else(|| (rand_u32() % 100) as u8);
    let dmarc_input = DmarcInput {
        authors: authors.as_ref(),
        spf: spf.as_ref().map(|s| (s.result, s.domain.as_str())),
        dkim: &outcomes,
    };
    let options = DmarcOptions {
        sample,
        standard: settings.dmarc_standard,
    };
    let dmarc = evaluate_dmarc(resolver, &dmarc_input, options).await;
    let helo_only = settings
        .spf
        .as_ref()
        .is_none_or(|(_, _, mail_from)| mail_from.trim().trim_matches(['<', '>']).is_empty());
    let spf_info = spf.as_ref().map(|output| SpfResinfo {
        output,
        helo: helo_only,
    });
    let header = full_header(
        &settings.authserv_id,
        spf_info,
        &outcomes,
        Some(dmarc.resinfo()),
    );
    Verified {
        outcomes,
        spf,
        dmarc,
        header,
    }
}

impl Verified {
    /// The `--json` object of one message.
    pub(crate) fn json(&self) -> Result<serde_json::Value> {
        let spf_json = match &self.spf {
            Some(s) => serde_json::json!({
                "result": s.result,
                "domain": s.domain,
                "explanation": s.explanation,
                "reason": s.reason,
            }),
            None => serde_json::json!({"result": "none", "domain": null, "explanation": null}),
        };
        Ok(serde_json::json!({
            "spf": spf_json,
            "dkim": self.outcomes,
            "dmarc": dmarc_json(&self.dmarc)?,
            "authentication_results": self.header,
        }))
    }

    /// The exit outcome of this message alone.
    pub(crate) fn outcome(&self) -> Outcome {
        verify_outcome(&self.outcomes, self.spf.as_ref(), &self.dmarc)
    }
}

pub async fn verify(global: &GlobalArgs, args: VerifyArgs) -> Result<Outcome> {
    if batch::is_batch(&args) {
        return batch::verify_batch(global, args);
    }
    let file = batch::single_file(&args)?;
    let message = read_message(file)?;
    let settings = VerifySettings::new(global, &args)?;
    let resolver = global.resolver()?;
    // One message: a cache of its own, which is what `dkim::verify::verify` does.
    let keys = KeyCache::new(16);
    let lookups = Lookups {
        dkim: resolver.as_ref(),
        keys: &keys,
        other: resolver.as_ref(),
    };
    let verified = verify_parsed(&message, &lookups, &settings).await;
    for (i, o) in verified.outcomes.iter().enumerate() {
        global.note(format_args!(
            "signature {}: d={} s={} a={}: {}{}",
            i + 1,
            o.domain,
            o.selector,
            o.algorithm,
            o.result.as_str(),
            o.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    // RFC 9989 §4.10 DNS Tree Walk: the names asked, per author domain, for -v.
    for evaluation in &verified.dmarc.evaluations {
        if evaluation.queried.is_empty() {
            continue;
        }
        global.note(format_args!(
            "DMARC tree walk for {}: queried {}",
            evaluation.domain,
            evaluation.queried.join(", ")
        ));
    }
    if global.json {
        print_json(&verified.json()?)?;
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", verified.header.replace("\r\n", "\n"))?;
    }
    Ok(verified.outcome())
}

/// A random number for pct= sampling.
fn rand_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Sampling only needs to be unpredictable enough to spread load; on failure apply the policy.
    if getrandom::fill(&mut bytes).is_err() {
        return 0;
    }
    u32::from_le_bytes(bytes)
}
