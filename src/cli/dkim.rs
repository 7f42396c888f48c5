//! `mailauth sign` and `mailauth verify`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{GlobalArgs, Outcome, print_json};
use crate::dkim::sign::{SignOptions, sign as sign_message, signed_message};
use crate::dkim::verify::{VerifyOptions, verify as verify_message};
use crate::dkim::{Canonicalization, DkimOutcome, DkimResult, SigningAlgorithm};
use crate::keys::store::load_file;
use crate::keys::{KeyStore, PrivateKey};
use crate::message::Message;

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
    pub domain: String,
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
#[command(
    after_help = "Exit status: 0 when a signature passes, 1 when none does (or there is \
none), 2 on bad input, 3 when a temporary DNS failure left no signature passing. Use --zone \
FILE to answer key lookups from a zone file instead of DNS."
)]
pub struct VerifyArgs {
    /// The message to verify (`-` for stdin).
    pub file: PathBuf,
    /// The authserv-id naming this verifier in Authentication-Results (default: the host name).
    #[arg(long, value_name = "ID")]
    pub authserv_id: Option<String>,
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    let limit = crate::message::MAX_MESSAGE_BYTES as u64 + 1;
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

/// 0 when a signature passes, 3 when none passes and one met a temporary failure, else 1.
fn verify_outcome(outcomes: &[DkimOutcome]) -> Outcome {
    if outcomes.iter().any(|o| o.result == DkimResult::Pass) {
        Outcome::Success
    } else if outcomes.iter().any(|o| o.result == DkimResult::TempError) {
        Outcome::TempFail
    } else {
        Outcome::Failed
    }
}

pub async fn verify(global: &GlobalArgs, args: VerifyArgs) -> Result<Outcome> {
    let message = read_message(&args.file)?;
    let now = global.now()?;
    let resolver = global.resolver()?;
    let outcomes = verify_message(&message, resolver.as_ref(), &VerifyOptions::new(now)).await;
    for (i, o) in outcomes.iter().enumerate() {
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
    let authserv_id = args.authserv_id.unwrap_or_else(default_authserv_id);
    let header = crate::auth_results::header(&authserv_id, &outcomes);
    if global.json {
        print_json(&serde_json::json!({
            "dkim": outcomes,
            "authentication_results": header,
        }))?;
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", header.replace("\r\n", "\n"))?;
    }
    Ok(verify_outcome(&outcomes))
}
