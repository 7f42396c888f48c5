//! `mailauth init`, `mailauth plan` and `mailauth publish`: the declarative workflow.
//!
//! Providers are built through the provider registry (`mailauth_providers::registry::open`).
//! `publish` applies each domain's plan, then confirms the records are served, and always says
//! per domain what was applied and what was confirmed (text on stderr; with `--json` one
//! document `{"plans": [...], "domains": [{domain, provider, status, applied, confirmed,
//! servers, error}]}`). Exit: 0 all confirmed or nothing to do; 1 the provider refused or a
//! conflict with a change made since the plan, or a new MTA-STS policy is not served yet; 2 bad
//! input or credentials; 3 the provider was unreachable, or a change was applied but could not be
//! confirmed yet.
//!
//! MTA-STS order (RFC 8461 §8.1): a plan that creates or changes `_mta-sts.DOMAIN` (a new policy
//! id) is applied only after the policy file `mailauth mta-sts policy` wrote is served at
//! `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, fetched and compared (CRLF and LF alike);
//! otherwise that domain is refused, and the other domains carry on.
//!
//! `publish` holds each domain's lock (the one `rotate` takes, `mailauth::rotate::lock`) from
//! its plan to its confirmation; a domain another run holds is skipped with the holder named
//! (status `skipped_locked`, `holder`), the others carry on, and the skip alone does not change
//! the exit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use mailauth_providers::{Change, Plan, Provider, ProviderError, RecordType, apply_plan, plan};

use super::rotate::{SkippedLocked, Taken};
use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::Config;
use mailauth::dns::Resolver;
use mailauth::keys::{KeySpec, KeyStore, generate};
use mailauth::rotate::lock::DomainLock;
use mailauth_base::DomainName;

/// Arguments of `mailauth init`.
#[derive(Debug, Args)]
#[command(after_help = "\
Writes a commented mailauth.toml for DOMAIN that publishes through a local zone file (no DNS \
account needed), creates that zone file if it is missing, and generates an RSA-2048 and an \
Ed25519 DKIM key. Then: `mailauth plan`, `mailauth publish`.")]
pub struct InitArgs {
    /// The domain to manage.
    pub domain: String,
    /// The configuration file to write.
    #[arg(long, default_value = "mailauth.toml")]
    pub config: PathBuf,
}

/// Arguments of `mailauth plan` and `mailauth publish`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The configuration file.
    #[arg(long, default_value = "mailauth.toml")]
    pub config: PathBuf,
    /// Only these domains (default: every domain in the configuration).
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<DomainName>,
    /// Only domains published through this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Also delete records at mailauth's names that mailauth did not create.
    #[arg(long)]
    pub force: bool,
    /// publish: apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// publish: how long to wait for the name servers to serve the new records, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
}

const STARTER: &str = r#"# mailauth configuration for DOMAIN. Edit, then run `mailauth plan` and `mailauth publish`.
# Private keys live in key_dir (directories 0700, files 0600) and are never printed.
key_dir = "keys"

# The zone-file provider edits a BIND master file in place: no DNS account needed. Serve the
# file with BIND or Knot, or check it directly: mailauth --zone ZONEFILE check DOMAIN
# API providers take their credential from the environment or a file, never inline, e.g.
#   [providers.cloudflare]
#   kind = "cloudflare"
#   token_env = "CLOUDFLARE_API_TOKEN"
[providers.local]
kind = "zonefile"
path = "ZONEFILE"

[domains."DOMAIN"]
provider = "local"
ttl = 3600
# Who may send: the domain's MX hosts; everyone else fails (-all).
# Add ip4 = ["192.0.2.0/24"] or include = ["_spf.mailer.example"] as needed (at most 10 lookups).
spf = { mx = true, all = "-" }
# Start with p=none and aggregate reports; move to quarantine, then reject, once reports are clean.
dmarc = { policy = "none", rua = ["mailto:dmarc@DOMAIN"] }
# RSA and Ed25519 keys side by side (RFC 8463): sign with both.
dkim = [
  { selector = "RSA_SELECTOR", algorithm = "rsa-2048" },
  { selector = "ED_SELECTOR", algorithm = "ed25519" },
]
"#;

pub fn init(global: &GlobalArgs, args: InitArgs) -> Result<Outcome> {
    let domain = mailauth::dns::normalize_name(&args.domain);
    if args.config.exists() {
        bail!(
            "{} already exists; refusing to overwrite it",
            args.config.display()
        );
    }
    let dir = args
        .config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let zone_name = format!("{domain}.zone");
    let zone_path = dir.join(&zone_name);
    if !zone_path.exists() {
        std::fs::write(
            &zone_path,
            format!(
                "; Zone for {domain}, managed with mailauth (records it writes end in \"; mailauth\").\n\
                 $ORIGIN {domain}.\n$TTL 3600\n\
                 @ IN SOA ns1 hostmaster 1 3600 600 86400 300\n\
                 @ IN NS ns1\nns1 IN A 192.0.2.53 ; replace with your name server\n\
                 @ IN MX 10 mail\nmail IN A 192.0.2.25 ; replace with your mail server\n"
            ),
        )
        .with_context(|| format!("writing {}", zone_path.display()))?;
        eprintln!("mailauth: wrote {}", zone_path.display());
    }
    let now = global.now()?;
    let store = KeyStore::new(dir.join("keys"));
    let mut selectors = Vec::new();
    for spec in [KeySpec::Rsa2048, KeySpec::Ed25519] {
        let selector = super::keygen::default_selector(now, spec);
        if store.check_absent(&domain, &selector).is_ok() {
            let path = store.write(&domain, &selector, &generate(spec)?)?;
            eprintln!("mailauth: generated {} key {}", spec, path.display());
        }
        selectors.push(selector);
    }
    let text = STARTER
        .replace("DOMAIN", &domain)
        .replace("ZONEFILE", &zone_name)
        .replace("RSA_SELECTOR", &selectors[0])
        .replace("ED_SELECTOR", &selectors[1]);
    Config::parse(&text, "starter")
        .context("internal error: the starter configuration does not parse")?;
    std::fs::write(&args.config, text)
        .with_context(|| format!("writing {}", args.config.display()))?;
    println!(
        "wrote {}; next: mailauth plan, then mailauth publish",
        args.config.display()
    );
    Ok(Outcome::Success)
}

struct DomainPlan {
    domain: String,
    provider_name: String,
    provider: Box<dyn Provider>,
    desired: Vec<mailauth_providers::Desired>,
    plan: Plan,
    zone_file: Option<PathBuf>,
    /// Set when the plan changes the `_mta-sts` id: the policy that must be served first.
    sts_served: Option<StsServedCheck>,
    /// `publish` holds the domain's lock (the rotation's) from planning to confirming, so it
    /// never plans or applies while a `rotate` changes the same records or keys.
    _lock: Option<DomainLock>,
}

/// The plans made, and (for `publish`) the domains skipped because another run holds them.
struct Plans {
    plans: Vec<DomainPlan>,
    skipped: Vec<SkippedLocked>,
}

/// The policy file that must be served before a domain's `_mta-sts` id changes.
#[derive(Debug, Clone)]
struct StsServedCheck {
    /// The id the plan publishes.
    id: String,
    /// The policy text `mailauth mta-sts policy` wrote with that id.
    policy: String,
    /// The HTTPS port to fetch from (the section's `https_port`).
    port: u16,
    /// Extra trusted roots (the section's `ca`, relative paths resolved).
    ca: Option<PathBuf>,
}

/// The backend `name` of `config` (through the provider registry), and its zone file when it
/// is a zonefile provider.
pub(super) fn build_provider(
    name: &str,
    config: &Config,
    dir: &Path,
) -> Result<(Box<dyn Provider>, Option<PathBuf>)> {
    let provider = config
        .providers
        .get(name)
        .with_context(|| format!("provider {name} is not defined under [providers]"))?;
    let opened = mailauth_providers::registry::open(name, provider, dir)?;
    Ok((opened.provider, opened.zone_file))
}

/// Plan every selected domain; with `lock` (publish), only those whose lock this run gets.
async fn make_plans(global: &GlobalArgs, args: &PlanArgs, lock: bool) -> Result<Plans> {
    let config = Config::load(&args.config)?;
    let dir = super::transport::config_dir(&args.config);
    let store = KeyStore::new(config.key_dir(&dir));
    for wanted in &args.domains {
        if !config.domains.contains_key(wanted) {
            bail!("{wanted} is not configured in {}", args.config.display());
        }
    }
    let mut plans = Vec::new();
    let mut skipped = Vec::new();
    for (domain, domain_config) in &config.domains {
        if !args.domains.is_empty() && !args.domains.contains(domain) {
            continue;
        }
        if args
            .provider
            .as_ref()
            .is_some_and(|p| p != domain_config.provider.get_ref())
        {
            continue;
        }
        let held = if lock {
            match SkippedLocked::lock(&store, domain)
                .with_context(|| format!("publishing {domain}"))?
            {
                Taken::Held(held) => Some(held),
                Taken::Skipped(locked) => {
                    skipped.push(locked);
                    continue;
                }
            }
        } else {
            None
        };
        let transport = mailauth::records::TransportInputs {
            config_dir: dir.clone(),
            mx_hosts: super::transport::mx_hosts_if_needed(global, domain, domain_config).await?,
            tlsa_rollovers: mailauth::rotate::RotationState::load(&store, domain)?
                .map(|state| {
                    state
                        .tlsa
                        .iter()
                        .map(|r| (r.name.clone(), r.wanted()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        // The typed error is kept as the source, so its class decides the exit.
        let desired = mailauth::records::desired(domain, domain_config, &store, &transport)?;
        let (provider, zone_file) =
            build_provider(domain_config.provider.get_ref(), &config, &dir)?;
        let plan = plan(provider.as_ref(), domain, &desired, args.force)?;
        let sts_served = sts_served_check(domain, domain_config, &dir, &plan)?;
        plans.push(DomainPlan {
            domain: domain.to_string(),
            provider_name: domain_config.provider.get_ref().clone(),
            provider,
            desired,
            plan,
            zone_file,
            sts_served,
            _lock: held,
        });
    }
    Ok(Plans { plans, skipped })
}

/// When `plan` creates or changes `_mta-sts.DOMAIN`, the policy that must be served first.
fn sts_served_check(
    domain: &DomainName,
    config: &mailauth::config::DomainConfig,
    dir: &Path,
    plan: &Plan,
) -> Result<Option<StsServedCheck>> {
    let Some(sts) = &config.mta_sts else {
        return Ok(None);
    };
    let name = format!("_mta-sts.{domain}");
    let changes_id = plan.changes.iter().any(|c| {
        c.name() == name
            && c.rtype() == RecordType::Txt
            && matches!(c, Change::Create(_) | Change::Update { .. })
    });
    if !changes_id {
        return Ok(None);
    }
    let state_path = mailauth::records::sts_state_path(dir, domain);
    let state = mailauth::records::StsPolicyState::load(&state_path)?
        .with_context(|| format!("{} disappeared while planning", state_path.display()))?;
    Ok(Some(StsServedCheck {
        id: state.id,
        policy: state.policy,
        port: sts.https_port,
        ca: sts.ca.as_ref().map(|ca| dir.join(ca)),
    }))
}

/// Fetch `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (through the global resolver) and
/// compare it with the policy written for the new id, line endings aside. `Err` says what is
/// served instead and what to do.
async fn policy_served(
    global: &GlobalArgs,
    domain: &str,
    check: &StsServedCheck,
) -> std::result::Result<(), String> {
    let port = if check.port == 443 {
        String::new()
    } else {
        format!(":{}", check.port)
    };
    let url = format!("https://mta-sts.{domain}{port}/.well-known/mta-sts.txt");
    let todo = format!(
        "serve the policy file `mailauth mta-sts policy` wrote (id {}) at {url} first, then publish again (RFC 8461 §8.1: the policy before its id)",
        check.id
    );
    let fetched = async {
        let resolver = global.resolver()?;
        let extra_roots = match &check.ca {
            Some(ca) => super::probe::extra_roots(std::slice::from_ref(ca))?,
            None => Vec::new(),
        };
        let options = mailauth::transport::mta_sts::FetchOptions {
            extra_roots,
            port: check.port,
            timeout: std::time::Duration::from_secs(30),
        };
        let now = i64::try_from(global.now()?).unwrap_or(i64::MAX);
        let fetched =
            mailauth::transport::mta_sts::fetch_policy(domain, resolver.as_ref(), &options, now)
                .await?;
        anyhow::Ok(fetched.text)
    }
    .await;
    let served = match fetched {
        Ok(text) => text,
        Err(e) => {
            return Err(format!(
                "the _mta-sts id was not changed: fetching {url} failed: {e:#}; {todo}"
            ));
        }
    };
    match first_difference(&served, &check.policy) {
        None => Ok(()),
        Some(difference) => Err(format!(
            "the _mta-sts id was not changed: {url} serves another policy ({difference}); {todo}"
        )),
    }
}

/// Where two policy texts differ, line endings aside (RFC 8461 §3.2 allows CRLF or LF): `None`
/// when they do not.
fn first_difference(served: &str, wanted: &str) -> Option<String> {
    let served: Vec<&str> = served.lines().collect();
    let wanted: Vec<&str> = wanted.lines().collect();
    if served == wanted {
        return None;
    }
    let at = served
        .iter()
        .zip(&wanted)
        .position(|(a, b)| a != b)
        .unwrap_or(served.len().min(wanted.len()));
    let line = |lines: &[&str]| {
        lines
            .get(at)
            .map_or("end of file".to_owned(), |l| format!("{l:?}"))
    };
    Some(format!(
        "line {}: served {}, expected {}",
        at + 1,
        line(&served),
        line(&wanted)
    ))
}

fn plans_json(plans: &[DomainPlan]) -> serde_json::Value {
    plans
        .iter()
        .map(|p| {
            serde_json::json!({
                "domain": p.domain,
                "provider": p.provider_name,
                "changes": p.plan.changes.iter().map(change_json).collect::<Vec<_>>(),
                "refused": p.plan.refused.iter().map(|r| serde_json::json!({"name": r.name, "type": r.rtype.as_str(), "value": r.value})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn print_plans(plans: &[DomainPlan]) {
    for p in plans {
        if p.plan.is_empty() && p.plan.refused.is_empty() {
            println!("{} ({}): no changes", p.domain, p.provider_name);
            continue;
        }
        println!("{} ({}):", p.domain, p.provider_name);
        for change in &p.plan.changes {
            println!("  {change}");
        }
        for r in &p.plan.refused {
            println!(
                "  ! {} {} {} was not created by mailauth: kept (use --force to delete)",
                r.name,
                r.rtype,
                r.shown_value()
            );
        }
    }
}

fn change_json(change: &Change) -> serde_json::Value {
    let record = |op: &str, r: &mailauth_providers::Record| serde_json::json!({"op": op, "name": r.name, "type": r.rtype.as_str(), "ttl": r.ttl, "value": r.value});
    match change {
        Change::Create(r) => record("create", r),
        Change::Delete(r) => record("delete", r),
        Change::Update { from, to } => {
            let mut value = record("update", to);
            value["from"] = serde_json::json!(from.value);
            value["from_ttl"] = serde_json::json!(from.ttl);
            value
        }
    }
}

pub async fn plan_command(global: &GlobalArgs, args: PlanArgs) -> Result<Outcome> {
    let Plans { plans, .. } = make_plans(global, &args, false).await?;
    if global.json {
        print_json(&plans_json(&plans))?;
    } else {
        print_plans(&plans);
    }
    Ok(Outcome::Success)
}

/// What became of one domain in `publish`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Its plan was empty.
    Unchanged,
    /// Applied, and every record is served.
    Confirmed,
    /// Applied, but whether the records are served could not be confirmed (yet).
    Unconfirmed,
    /// The provider did not apply it.
    NotApplied,
    /// Not applied: the plan changes the `_mta-sts` id and the new policy is not served.
    PolicyNotServed,
    /// Not tried: an earlier domain failed.
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Unchanged => "unchanged",
            Status::Confirmed => "confirmed",
            Status::Unconfirmed => "applied_unconfirmed",
            Status::NotApplied => "not_applied",
            Status::PolicyNotServed => "policy_not_served",
            Status::Skipped => "skipped",
        }
    }
}

/// One domain's outcome: what was applied, what was confirmed, and at which servers.
struct DomainOutcome<'a> {
    plan: &'a DomainPlan,
    status: Status,
    /// Records (name and type) seen at every answering server.
    confirmed: Vec<String>,
    /// The servers (or zone file) asked.
    servers: Vec<String>,
    error: Option<String>,
}

impl<'a> DomainOutcome<'a> {
    fn new(plan: &'a DomainPlan, status: Status) -> DomainOutcome<'a> {
        DomainOutcome {
            plan,
            status,
            confirmed: Vec::new(),
            servers: Vec::new(),
            error: None,
        }
    }

    fn applied(&self) -> &[Change] {
        match self.status {
            Status::Confirmed | Status::Unconfirmed => &self.plan.plan.changes,
            _ => &[],
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "domain": self.plan.domain,
            "provider": self.plan.provider_name,
            "status": self.status.as_str(),
            "applied": self.applied().iter().map(change_json).collect::<Vec<_>>(),
            "confirmed": self.confirmed,
            "servers": self.servers,
            "error": self.error,
        })
    }

    /// The per-domain line on stderr.
    fn line(&self) -> String {
        let (domain, provider) = (&self.plan.domain, &self.plan.provider_name);
        let error = self.error.as_deref().unwrap_or("");
        match self.status {
            Status::Unchanged => format!("{domain}: no changes"),
            Status::Confirmed => format!(
                "{domain}: published and confirmed at {} ({} changes applied at {provider})",
                self.servers.join(", "),
                self.applied().len()
            ),
            Status::Unconfirmed => format!(
                "{domain}: applied at {provider}, not yet confirmed: {error} (run `mailauth plan` later to check)"
            ),
            Status::NotApplied => format!("{domain}: not applied at {provider}: {error}"),
            Status::PolicyNotServed => format!("{domain}: not applied: {error}"),
            Status::Skipped => {
                format!("{domain}: not applied (stopped after an earlier failure)")
            }
        }
    }
}

fn ask(total: usize) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("not asking on a non-terminal: pass --yes to apply these {total} changes");
    }
    eprint!("Apply {total} changes? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub async fn publish(global: &GlobalArgs, args: PlanArgs) -> Result<Outcome> {
    let Plans { plans, skipped } = make_plans(global, &args, true).await?;
    if !global.json {
        print_plans(&plans);
    }
    let total: usize = plans.iter().map(|p| p.plan.changes.len()).sum();
    if total == 0 {
        eprintln!("mailauth: nothing to publish");
    } else if !args.yes && !ask(total)? {
        eprintln!("mailauth: nothing applied");
        return Ok(Outcome::Failed);
    }
    let mut outcomes = Vec::new();
    let mut failure: Option<ProviderError> = None;
    for p in &plans {
        let outcome = if failure.is_some() {
            DomainOutcome::new(p, Status::Skipped)
        } else if p.plan.is_empty() {
            DomainOutcome::new(p, Status::Unchanged)
        } else if let Some(check) = &p.sts_served
            && let Err(reason) = policy_served(global, &p.domain, check).await
        {
            let mut outcome = DomainOutcome::new(p, Status::PolicyNotServed);
            outcome.error = Some(reason);
            outcome
        } else {
            match apply_plan(p.provider.as_ref(), &p.domain, &p.plan) {
                Ok(()) => confirm(global, &args, p).await,
                Err(e) => {
                    let mut outcome = DomainOutcome::new(p, Status::NotApplied);
                    outcome.error = Some(e.to_string());
                    failure = Some(e);
                    outcome
                }
            }
        };
        outcomes.push(outcome);
    }
    report(global, &plans, &outcomes, &skipped)?;
    // A domain another run holds is that run's to publish: skipping it is no failure.
    exit_outcome(failure, &outcomes)
}

fn report(
    global: &GlobalArgs,
    plans: &[DomainPlan],
    outcomes: &[DomainOutcome<'_>],
    skipped: &[SkippedLocked],
) -> Result<()> {
    if global.json {
        let domains = outcomes.iter().map(DomainOutcome::json);
        return print_json(&serde_json::json!({
            "plans": plans_json(plans),
            "domains": domains.chain(skipped.iter().map(SkippedLocked::json)).collect::<Vec<_>>(),
        }));
    }
    for outcome in outcomes {
        eprintln!("mailauth: {}", outcome.line());
    }
    for skip in skipped {
        eprintln!("mailauth: {}", skip.line());
    }
    Ok(())
}

/// The exit: a provider failure by its kind (temporary 3, refused or conflict 1, otherwise 2);
/// applied but not confirmed 3; else success.
fn exit_outcome(failure: Option<ProviderError>, outcomes: &[DomainOutcome<'_>]) -> Result<Outcome> {
    if let Some(e) = failure {
        if e.is_refusal() {
            return Ok(Outcome::Failed);
        }
        return Err(anyhow::Error::new(e).context("publishing stopped"));
    }
    if outcomes.iter().any(|o| o.status == Status::PolicyNotServed) {
        return Ok(Outcome::Failed);
    }
    if outcomes.iter().any(|o| o.status == Status::Unconfirmed) {
        return Ok(Outcome::TempFail);
    }
    Ok(Outcome::Success)
}

/// Check that every desired record is now served: from the zone file itself; through
/// `--resolver`; or else by each of the zone's authoritative name servers, asked directly.
/// Servers are polled for up to `--wait` seconds while the change propagates. A confirmation
/// that cannot run (the name servers cannot be found, a server does not answer) leaves the
/// domain applied but unconfirmed, with the reason.
async fn confirm<'a>(global: &GlobalArgs, args: &PlanArgs, p: &'a DomainPlan) -> DomainOutcome<'a> {
    let mut outcome = DomainOutcome::new(p, Status::Unconfirmed);
    let servers = match Answerers::find(global, p.zone_file.as_deref(), &p.domain).await {
        Ok(answerers) => answerers.open().map_err(anyhow::Error::new),
        Err(e) => Err(e),
    };
    let servers = match servers {
        Ok(servers) => servers,
        Err(e) => {
            outcome.error = Some(format!("{e:#}"));
            return outcome;
        }
    };
    outcome.servers = servers.iter().map(|(s, _)| s.clone()).collect();
    let progress = if std::io::stderr().is_terminal() && !global.json {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.wait);
    // TXT records are confirmed one value at a time; a TLSA set as a whole (RFC 7671 §8.1: the
    // old and the new digest must both be served). Other types are applied without a check here.
    let mut wanted: Vec<(&str, Served)> = p
        .desired
        .iter()
        .filter(|d| d.rtype == RecordType::Txt)
        .filter_map(|d| Some((d.name.as_str(), Served::Txt(d.value.as_deref()?))))
        .collect();
    let mut tlsa: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for d in p.desired.iter().filter(|d| d.rtype == RecordType::Tlsa) {
        if let Some(value) = d.value.as_deref().and_then(mailauth_providers::Tlsa::parse) {
            tlsa.entry(d.name.as_str())
                .or_default()
                .push(value.to_string());
        }
    }
    wanted.extend(tlsa.into_iter().map(|(name, mut set)| {
        set.sort();
        set.dedup();
        (name, Served::Tlsa(set))
    }));
    for (name, want) in &wanted {
        for (server, resolver) in &servers {
            progress.set_message(format!("waiting for {name} at {server}"));
            if let Err(reason) =
                wait_served(resolver.as_ref(), name, want, deadline, &progress).await
            {
                progress.finish_and_clear();
                outcome.error = Some(format!("{server}: {reason} after {}s", args.wait));
                return outcome;
            }
        }
        outcome.confirmed.push(format!("{name} {}", want.rtype()));
    }
    progress.finish_and_clear();
    outcome.status = Status::Confirmed;
    outcome
}

/// What publish waits to see served at a name.
enum Served<'a> {
    /// This TXT value among the name's TXT records.
    Txt(&'a str),
    /// Exactly this TLSA set (canonical values, sorted).
    Tlsa(Vec<String>),
}

impl Served<'_> {
    fn rtype(&self) -> &'static str {
        match self {
            Served::Txt(_) => "TXT",
            Served::Tlsa(_) => "TLSA",
        }
    }

    /// `Ok(true)` when `resolver` serves it at `name`.
    async fn is_served(
        &self,
        resolver: &dyn Resolver,
        name: &str,
    ) -> Result<bool, mailauth::dns::DnsError> {
        match self {
            Served::Txt(value) => Ok(resolver
                .txt(name)
                .await?
                .iter()
                .any(|r| r.joined() == value.as_bytes())),
            Served::Tlsa(set) => {
                let mut served: Vec<String> = match resolver.tlsa(name).await {
                    Ok(answer) => answer.records.iter().map(|t| t.to_string()).collect(),
                    Err(e) if e.is_void() => Vec::new(),
                    Err(e) => return Err(e),
                };
                served.sort();
                served.dedup();
                Ok(served == *set)
            }
        }
    }
}

/// Poll `resolver` until it serves `want` at `name` or `deadline` passes; the reason names the
/// last DNS error when there was one.
async fn wait_served(
    resolver: &dyn Resolver,
    name: &str,
    want: &Served<'_>,
    deadline: std::time::Instant,
    progress: &indicatif::ProgressBar,
) -> std::result::Result<(), String> {
    loop {
        let reason = match want.is_served(resolver, name).await {
            Ok(true) => return Ok(()),
            Ok(false) => format!("does not serve the new {name} {} yet", want.rtype()),
            Err(e) => format!("cannot be asked for {name}: {e}"),
        };
        if std::time::Instant::now() >= deadline {
            return Err(reason);
        }
        progress.tick();
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Who is asked whether a record is served: the `--resolver` servers, the zone file itself,
/// or each of the zone's authoritative servers (NS lookup, then each server's address).
#[derive(Debug, Clone)]
pub(super) enum Answerers {
    /// The zone file a zonefile provider writes.
    ZoneFile(PathBuf),
    /// Servers asked one by one.
    Servers(Vec<(String, std::net::SocketAddr)>),
}

impl Answerers {
    /// Decide who answers for `zone`.
    pub(super) async fn find(
        global: &GlobalArgs,
        zone_file: Option<&Path>,
        zone: &str,
    ) -> Result<Answerers> {
        if !global.resolvers.is_empty() {
            let servers = global
                .resolvers
                .iter()
                .map(|s| mailauth::dns::hickory::parse_server_addr(s).map(|a| (a.to_string(), a)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Answerers::Servers(servers));
        }
        if let Some(file) = zone_file {
            return Ok(Answerers::ZoneFile(file.to_path_buf()));
        }
        let resolver = global.resolver()?;
        let names = resolver
            .ns(zone)
            .await
            .with_context(|| format!("finding the name servers of {zone}"))?;
        let mut servers = Vec::new();
        for name in names {
            if let Some(ip) = resolver.a(&name).await.unwrap_or_default().first() {
                servers.push((
                    name,
                    std::net::SocketAddr::new(std::net::IpAddr::V4(*ip), 53),
                ));
            }
        }
        if servers.is_empty() {
            bail!(
                "no address for any name server of {zone}: cannot tell whether records are served"
            );
        }
        Ok(Answerers::Servers(servers))
    }

    /// A resolver per answerer, made afresh (so a zone file is read as it is now).
    pub(super) fn open(
        &self,
    ) -> Result<mailauth::rotate::executor::Servers, mailauth::dns::DnsError> {
        match self {
            Answerers::ZoneFile(file) => {
                let zone =
                    mailauth::dns::zone::ZoneResolver::from_files(std::slice::from_ref(file))?;
                Ok(vec![(
                    file.display().to_string(),
                    Box::new(zone) as Box<dyn Resolver>,
                )])
            }
            Answerers::Servers(servers) => servers
                .iter()
                .map(|(name, addr)| {
                    let resolver = mailauth::dns::hickory::HickoryResolver::with_servers(&[*addr])?;
                    Ok((name.clone(), Box::new(resolver) as Box<dyn Resolver>))
                })
                .collect(),
        }
    }
}
