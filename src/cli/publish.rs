//! `mailauth init`, `mailauth plan` and `mailauth publish`: the declarative workflow.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use mailauth_providers::zonefile::ZoneFileProvider;
use mailauth_providers::{Change, Plan, Provider, apply_plan, plan};

use super::{GlobalArgs, Outcome, print_json};
use mailauth::config::Config;
use mailauth::dns::Resolver;
use mailauth::keys::{KeySpec, KeyStore, generate};
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
}

pub(super) fn build_provider(
    name: &str,
    config: &Config,
    dir: &Path,
) -> Result<(Box<dyn Provider>, Option<PathBuf>)> {
    let provider = &config.providers[name];
    match provider.kind.as_str() {
        "zonefile" => {
            let path = dir.join(provider.path.clone().unwrap_or_default());
            Ok((Box::new(ZoneFileProvider::new(&path)), Some(path)))
        }
        "powerdns" => {
            let url = provider.url.as_deref().with_context(|| {
                format!("provider {name}: kind powerdns needs url = \"https://HOST:8081\"")
            })?;
            let key = mailauth::config::credential(name, provider)?;
            Ok((
                Box::new(mailauth_providers::powerdns::PowerDns::new(url, key)?),
                None,
            ))
        }
        "cloudflare" => {
            let token = mailauth::config::credential(name, provider)?;
            Ok((
                Box::new(mailauth_providers::cloudflare::Cloudflare::new(
                    provider.url.as_deref(),
                    token,
                )?),
                None,
            ))
        }
        "rfc2136" => {
            let server = provider.url.as_deref().with_context(|| {
                format!(
                    "provider {name}: kind rfc2136 needs url = \"IP:PORT\" of the primary server"
                )
            })?;
            let server = mailauth::dns::hickory::parse_server_addr(server)?;
            let key_file = dir.join(provider.key_file.clone().with_context(|| {
                format!(
                    "provider {name}: kind rfc2136 needs key_file = \"tsig.key\" (a BIND key file)"
                )
            })?);
            mailauth::config::private_file(name, &key_file)?;
            let key = mailauth_providers::rfc2136::TsigKey::from_bind_file(&key_file)?;
            let state = dir.join(".mailauth").join(format!("rfc2136-{name}.json"));
            Ok((
                Box::new(mailauth_providers::rfc2136::Rfc2136::new(
                    server, key, state,
                )),
                None,
            ))
        }
        other => bail!("provider {name}: unknown kind {other}"),
    }
}

fn make_plans(args: &PlanArgs) -> Result<Vec<DomainPlan>> {
    let config = Config::load(&args.config)?;
    let dir = args
        .config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let store = KeyStore::new(config.key_dir(&dir));
    for wanted in &args.domains {
        if !config.domains.contains_key(wanted) {
            bail!("{wanted} is not configured in {}", args.config.display());
        }
    }
    let mut plans = Vec::new();
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
        let desired = mailauth::records::desired(domain, domain_config, &store)
            .map_err(anyhow::Error::msg)?;
        let (provider, zone_file) =
            build_provider(domain_config.provider.get_ref(), &config, &dir)?;
        let plan = plan(provider.as_ref(), domain, &desired, args.force)?;
        plans.push(DomainPlan {
            domain: domain.to_string(),
            provider_name: domain_config.provider.get_ref().clone(),
            provider,
            desired,
            plan,
            zone_file,
        });
    }
    Ok(plans)
}

fn print_plans(global: &GlobalArgs, plans: &[DomainPlan]) -> Result<()> {
    if global.json {
        let value: Vec<serde_json::Value> = plans
            .iter()
            .map(|p| {
                serde_json::json!({
                    "domain": p.domain,
                    "provider": p.provider_name,
                    "changes": p.plan.changes.iter().map(change_json).collect::<Vec<_>>(),
                    "refused": p.plan.refused.iter().map(|r| serde_json::json!({"name": r.name, "value": r.value})).collect::<Vec<_>>(),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(value));
    }
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
                "  ! {} TXT \"{}\" was not created by mailauth: kept (use --force to delete)",
                r.name, r.value
            );
        }
    }
    Ok(())
}

fn change_json(change: &Change) -> serde_json::Value {
    match change {
        Change::Create(r) => {
            serde_json::json!({"op": "create", "name": r.name, "ttl": r.ttl, "value": r.value})
        }
        Change::Delete(r) => {
            serde_json::json!({"op": "delete", "name": r.name, "ttl": r.ttl, "value": r.value})
        }
        Change::Update { from, to } => {
            serde_json::json!({"op": "update", "name": to.name, "ttl": to.ttl, "value": to.value, "from": from.value, "from_ttl": from.ttl})
        }
    }
}

pub fn plan_command(global: &GlobalArgs, args: PlanArgs) -> Result<Outcome> {
    let plans = make_plans(&args)?;
    print_plans(global, &plans)?;
    Ok(Outcome::Success)
}

pub async fn publish(global: &GlobalArgs, args: PlanArgs) -> Result<Outcome> {
    let plans = make_plans(&args)?;
    print_plans(global, &plans)?;
    let total: usize = plans.iter().map(|p| p.plan.changes.len()).sum();
    if total == 0 {
        eprintln!("mailauth: nothing to publish");
        return Ok(Outcome::Success);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!("not asking on a non-terminal: pass --yes to apply these {total} changes");
        }
        eprint!("Apply {total} changes? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("mailauth: nothing applied");
            return Ok(Outcome::Failed);
        }
    }
    let mut applied = Vec::new();
    for p in &plans {
        if p.plan.is_empty() {
            continue;
        }
        if let Err(e) = apply_plan(p.provider.as_ref(), &p.domain, &p.plan) {
            let pending: Vec<&str> = plans
                .iter()
                .filter(|q| !q.plan.is_empty() && !applied.contains(&q.domain))
                .map(|q| q.domain.as_str())
                .collect();
            eprintln!("mailauth: not applied: {}", pending.join(", "));
            eprintln!(
                "mailauth: applied: {}",
                if applied.is_empty() {
                    "nothing".to_owned()
                } else {
                    applied.join(", ")
                }
            );
            return Err(anyhow::Error::new(e).context(format!("publishing {}", p.domain)));
        }
        applied.push(p.domain.clone());
        confirm(global, &args, p).await?;
    }
    Ok(Outcome::Success)
}

/// Check that every desired record is now served: from the zone file itself; through
/// `--resolver`; or else by each of the zone's authoritative name servers, asked directly.
/// Servers are polled for up to `--wait` seconds while the change propagates.
async fn confirm(global: &GlobalArgs, args: &PlanArgs, p: &DomainPlan) -> Result<()> {
    let servers = Answerers::find(global, p.zone_file.as_deref(), &p.domain)
        .await?
        .open()
        .map_err(anyhow::Error::msg)?;
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.wait);
    for (server, resolver) in &servers {
        for want in &p.desired {
            let Some(value) = &want.value else { continue };
            progress.set_message(format!("waiting for {} at {server}", want.name));
            loop {
                let served = resolver.txt(&want.name).await.unwrap_or_default();
                if served.iter().any(|r| r.joined() == value.as_bytes()) {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    progress.finish_and_clear();
                    bail!(
                        "{server} does not serve the new {} record after {}s; the change is applied at the provider, run `mailauth plan` later to confirm",
                        want.name,
                        args.wait
                    );
                }
                progress.tick();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
    progress.finish_and_clear();
    let names: Vec<&str> = servers.iter().map(|(s, _)| s.as_str()).collect();
    eprintln!(
        "mailauth: {}: published and confirmed at {}",
        p.domain,
        names.join(", ")
    );
    Ok(())
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
    pub(super) fn open(&self) -> Result<mailauth::rotate::executor::Servers, String> {
        match self {
            Answerers::ZoneFile(file) => {
                let zone =
                    mailauth::dns::zone::ZoneResolver::from_files(std::slice::from_ref(file))
                        .map_err(|e| e.to_string())?;
                Ok(vec![(
                    file.display().to_string(),
                    Box::new(zone) as Box<dyn Resolver>,
                )])
            }
            Answerers::Servers(servers) => servers
                .iter()
                .map(|(name, addr)| {
                    let resolver = mailauth::dns::hickory::HickoryResolver::with_servers(&[*addr])
                        .map_err(|e| e.to_string())?;
                    Ok((name.clone(), Box::new(resolver) as Box<dyn Resolver>))
                })
                .collect(),
        }
    }
}
