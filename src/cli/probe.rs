//! `mailauth probe`: connect to mail servers as an outsider and report what they allow.
//! Turns flags into targets and [`ProbeOptions`], runs [`mailauth::smtp::probe::probe`] on each
//! target and renders the reports; the SMTP work is in `mailauth::smtp`.

use mailauth_base::DomainName;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{GlobalArgs, Outcome, print_json};
use mailauth::dns::Resolver;
use mailauth::report::Report;
use mailauth::smtp::Role;
use mailauth::smtp::probe::{
    Credentials, ProbeOptions, Target, TargetReport, probe as probe_target,
};

/// Arguments of `mailauth probe`.
#[derive(Debug, Args)]
#[command(after_help = "\
Connects to each server as any client on the internet would and reports what it allows: a \
relay battery of 16 MAIL FROM/RCPT TO pairs (foreign to foreign, null sender, the server's own \
name and address literal, % hack, ! bang paths, quoted local parts, source routes), AUTH \
offered or accepted before TLS, ANONYMOUS, STARTTLS missing or not required on submission, \
STARTTLS command injection (CVE-2011-0411), SSLv3/TLS 1.0/TLS 1.1 still accepted, the \
certificate (trust, name, expiry, key), VRFY/EXPN, the software named in the banner, and \
forward-confirmed reverse DNS. Port 25 is probed as an MX, 587 as submission (STARTTLS \
required), 465 with implicit TLS.

Probe from outside the server's trusted networks: a client inside `mynetworks` (Postfix) or \
`relay_from_hosts` (Exim) may relay by design, so a relay test from the server itself proves \
nothing. Run the probe from another machine, or bind another local address with --source-ip.

No DATA is ever sent: each relay pair stops after RCPT TO and is reset with RSET. The only \
exception is --data TO (with credentials): one small test message to that mailbox of yours.

Credentials are for the authenticated tests (AUTH over TLS, then RCPT to a foreign domain must \
be accepted; and whether the server accepts a password before TLS, which uses it in clear \
text). The password comes from an environment variable (--auth-password-env) or a file \
(--auth-password-file), never from the command line, and is masked in transcripts.

Exit status: 0 no error finding, 1 some error finding, 2 bad input, 3 a server could not be \
reached (or closed the session with 421).

Examples:
  mailauth probe mx.example.com
  mailauth probe --mx example.com --submission --json
  mailauth probe 192.0.2.25:2525 --role mx --source-ip 192.0.2.99 --transcript
  SMTP_PASSWORD=... mailauth probe mail.example.com:587 --auth-user alice@example.com \\
      --auth-password-env SMTP_PASSWORD")]
pub struct ProbeArgs {
    /// Servers to probe, HOST[:PORT] or [IPV6]:PORT (port 25 by default).
    pub targets: Vec<String>,
    /// Probe every MX host of this domain (each of its A and AAAA addresses).
    #[arg(long, value_name = "DOMAIN")]
    pub mx: Option<DomainName>,
    /// Port for targets given without one and for --mx hosts.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub port: u16,
    /// Also probe ports 587 (submission) and 465 (implicit TLS) of each host.
    #[arg(long)]
    pub submission: bool,
    /// Probe explicitly given targets in this role instead of the one their port implies.
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Local address to connect from (outside the server's trusted networks).
    #[arg(long, value_name = "ADDR")]
    pub source_ip: Option<IpAddr>,
    /// Connect and per-command timeout, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Skip the relay battery.
    #[arg(long)]
    pub no_relay: bool,
    /// With credentials: send one small test message to this mailbox of yours in the
    /// authenticated test (the only DATA the probe ever sends).
    #[arg(long, value_name = "TO", requires = "auth_user")]
    pub data: Option<String>,
    /// Print the dialogue (credentials masked) on stderr, or in the JSON with --json.
    #[arg(long)]
    pub transcript: bool,
    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// SMTP AUTH user for the authenticated tests.
    #[arg(long, value_name = "USER")]
    pub auth_user: Option<String>,
    /// Environment variable holding the AUTH password.
    #[arg(long, value_name = "VAR", conflicts_with = "auth_password_file")]
    pub auth_password_env: Option<String>,
    /// File holding the AUTH password (first line).
    #[arg(long, value_name = "FILE")]
    pub auth_password_file: Option<PathBuf>,
    /// Name to give in EHLO.
    #[arg(long, value_name = "NAME", default_value = "probe.mailauth.invalid")]
    pub helo: String,
}

/// `--role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Port 25 rules: STARTTLS offered, no relaying.
    Mx,
    /// Port 587 rules: STARTTLS required.
    Submission,
    /// Port 465: implicit TLS.
    Smtps,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Mx => Role::Mx,
            RoleArg::Submission => Role::Submission,
            RoleArg::Smtps => Role::Smtps,
        }
    }
}

pub async fn probe(global: &GlobalArgs, args: ProbeArgs) -> Result<Outcome> {
    if args.targets.is_empty() && args.mx.is_none() {
        bail!("give a server (HOST[:PORT]) or --mx DOMAIN");
    }
    let options = options(global, &args)?;
    let resolver = global.resolver()?;
    let targets = targets(resolver.as_ref(), &args).await?;
    let mut reports = Vec::new();
    for target in &targets {
        global.note(format_args!(
            "probing {} ({})",
            target.label(),
            target.address
        ));
        reports.push(probe_target(resolver.as_ref(), target, &options).await);
    }
    render(global, &args, &mut reports)?;
    Ok(outcome(&reports))
}

/// Exit status: unreachable outranks error findings, as for DNS failures in `check`.
pub(super) fn outcome(reports: &[TargetReport]) -> Outcome {
    if reports.iter().any(|r| r.temporary_failure) {
        Outcome::TempFail
    } else if reports.iter().any(TargetReport::has_errors) {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

fn options(global: &GlobalArgs, args: &ProbeArgs) -> Result<ProbeOptions> {
    Ok(ProbeOptions {
        helo: args.helo.clone(),
        source_ip: args.source_ip,
        timeout: Duration::from_secs(args.timeout),
        relay: !args.no_relay,
        credentials: credentials(args)?,
        data_to: args.data.clone(),
        extra_roots: extra_roots(&args.ca)?,
        now: i64::try_from(global.now()?).unwrap_or(i64::MAX),
        max_connections: 8,
    })
}

fn credentials(args: &ProbeArgs) -> Result<Option<Credentials>> {
    let Some(user) = &args.auth_user else {
        if args.auth_password_env.is_some() || args.auth_password_file.is_some() {
            bail!("--auth-password-env/--auth-password-file need --auth-user");
        }
        return Ok(None);
    };
    let password = if let Some(var) = &args.auth_password_env {
        std::env::var(var).with_context(|| {
            format!("--auth-password-env {var}: the environment variable is not set (or not UTF-8)")
        })?
    } else if let Some(file) = &args.auth_password_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--auth-password-file {}: cannot read it", file.display()))?;
        text.lines().next().unwrap_or("").to_owned()
    } else {
        bail!(
            "--auth-user needs --auth-password-env VAR or --auth-password-file FILE (never the password itself on the command line)"
        );
    };
    if password.is_empty() {
        bail!("the AUTH password for {user} is empty");
    }
    Ok(Some(Credentials::new(user.clone(), password)))
}

pub(super) fn extra_roots(files: &[PathBuf]) -> Result<Vec<CertificateDer<'static>>> {
    let mut roots = Vec::new();
    for file in files {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
            .and_then(|iter| iter.collect::<Result<_, _>>())
            .with_context(|| {
                format!(
                    "--ca {}: not a readable PEM certificate file",
                    file.display()
                )
            })?;
        if certs.is_empty() {
            bail!("--ca {}: no CERTIFICATE in the file", file.display());
        }
        roots.extend(certs);
    }
    Ok(roots)
}

/// Split `HOST[:PORT]` / `[V6]:PORT` / bare IPv6.
fn split_target(text: &str, default_port: u16) -> Result<(String, u16)> {
    let bad = || anyhow::anyhow!("{text:?}: expected HOST, HOST:PORT or [IPV6]:PORT");
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    if text.parse::<IpAddr>().is_ok() {
        return Ok((text.to_owned(), default_port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => {
            Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
        }
        Some(_) => Err(bad()),
        None if text.is_empty() => Err(bad()),
        None => Ok((text.to_owned(), default_port)),
    }
}

async fn targets(resolver: &dyn Resolver, args: &ProbeArgs) -> Result<Vec<Target>> {
    let mut hosts: Vec<(String, u16, Option<Role>)> = Vec::new();
    for text in &args.targets {
        let (host, port) = split_target(text, args.port)?;
        hosts.push((host, port, args.role.map(Role::from)));
    }
    if let Some(domain) = &args.mx {
        for host in mx_hosts(resolver, domain).await? {
            hosts.push((host, args.port, None));
        }
    }
    let mut out = Vec::new();
    for (host, port, role) in hosts {
        let mut ports = vec![(port, role.unwrap_or_else(|| Role::for_port(port)))];
        if args.submission {
            ports.push((587, Role::Submission));
            ports.push((465, Role::Smtps));
        }
        for address in addresses(resolver, &host).await? {
            for &(port, role) in &ports {
                out.push(Target {
                    host: host.clone(),
                    address,
                    port,
                    role,
                });
            }
        }
    }
    Ok(out)
}

/// The MX hosts of `domain`, most preferred first.
async fn mx_hosts(resolver: &dyn Resolver, domain: &str) -> Result<Vec<String>> {
    let mut mx = resolver
        .mx(domain)
        .await
        .with_context(|| format!("{domain}: cannot read its MX records"))?;
    mx.sort();
    if mx.iter().all(|m| m.exchange.is_empty()) {
        bail!("{domain}: the domain publishes a null MX (it accepts no mail)");
    }
    Ok(mx
        .into_iter()
        .filter(|m| !m.exchange.is_empty())
        .map(|m| m.exchange)
        .collect())
}

/// Every address of every MX host of `domain` on `port`, for `check --smtp`.
pub(super) async fn mx_targets(
    resolver: &dyn Resolver,
    domain: &str,
    port: u16,
) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    for host in mx_hosts(resolver, domain).await? {
        for address in addresses(resolver, &host).await? {
            out.push(Target {
                host: host.clone(),
                address,
                port,
                role: Role::for_port(port),
            });
        }
    }
    Ok(out)
}

/// The addresses of `host`: itself when it is an IP literal, else its A and AAAA records.
async fn addresses(resolver: &dyn Resolver, host: &str) -> Result<Vec<IpAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let mut out: Vec<IpAddr> = Vec::new();
    let v4 = resolver.a(host).await;
    let v6 = resolver.aaaa(host).await;
    for result in [&v4.as_ref().err(), &v6.as_ref().err()] {
        if let Some(e) = result
            && e.is_temporary()
        {
            return Err(anyhow::Error::new((*e).clone()).context(format!("resolving {host}")));
        }
    }
    out.extend(v4.unwrap_or_default().into_iter().map(IpAddr::V4));
    out.extend(v6.unwrap_or_default().into_iter().map(IpAddr::V6));
    if out.is_empty() {
        bail!("{host}: no A or AAAA record (check the name, or give an address)");
    }
    Ok(out)
}

fn render(global: &GlobalArgs, args: &ProbeArgs, reports: &mut [TargetReport]) -> Result<()> {
    if !args.transcript {
        for report in reports.iter_mut() {
            report.transcript = None;
        }
    }
    if global.json {
        return print_json(&serde_json::json!({ "targets": reports }));
    }
    if args.transcript {
        let mut err = std::io::stderr().lock();
        for report in reports.iter() {
            writeln!(err, "== {} ({})", report.target, report.address)?;
            for line in report.transcript.iter().flatten() {
                writeln!(err, "{line}")?;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for report in reports.iter() {
        write_target(&mut out, report)?;
    }
    Ok(())
}

/// A header with what was negotiated, then the findings in `check`'s layout.
pub(super) fn write_target(out: &mut impl Write, report: &TargetReport) -> Result<()> {
    writeln!(
        out,
        "{} ({}, {})",
        report.target,
        report.address,
        report.role.as_str()
    )?;
    if let Some(banner) = &report.banner {
        writeln!(out, "  banner: {banner}")?;
    }
    if let Some(tls) = &report.tls {
        writeln!(out, "  TLS: {} {}", tls.version, tls.cipher)?;
    }
    if let Some(legacy) = &report.legacy_tls {
        let list: Vec<String> = legacy
            .iter()
            .map(|(version, outcome)| {
                let word = serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("{version} {word}")
            })
            .collect();
        writeln!(out, "  legacy TLS: {}", list.join(", "))?;
    }
    if !report.relay.is_empty() {
        let accepted = report.relay.iter().filter(|a| a.accepted).count();
        writeln!(
            out,
            "  relay: {accepted} of {} pairs accepted",
            report.relay.len()
        )?;
    }
    if let Some(error) = &report.error {
        writeln!(out, "  error: {error}")?;
    }
    let as_report = Report {
        domain: report.target.clone(),
        findings: report.findings.clone(),
        dns_failed: false,
    };
    if report.findings.is_empty() {
        writeln!(out, "  no problems found")?;
        return Ok(());
    }
    let mut body = Vec::new();
    super::check::write_text(&mut body, &as_report)?;
    // Every finding's record is the target, already the header: keep check's finding lines.
    for line in String::from_utf8_lossy(&body).lines().skip(2) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_host_port_and_ipv6() {
        assert_eq!(
            split_target("mx.example.com", 25).unwrap(),
            ("mx.example.com".into(), 25)
        );
        assert_eq!(
            split_target("mx.example.com:2525", 25).unwrap(),
            ("mx.example.com".into(), 2525)
        );
        assert_eq!(
            split_target("[2001:db8::1]:587", 25).unwrap(),
            ("2001:db8::1".into(), 587)
        );
        assert_eq!(
            split_target("2001:db8::1", 25).unwrap(),
            ("2001:db8::1".into(), 25)
        );
        assert!(split_target("mx:notaport", 25).is_err());
        assert!(split_target(":25", 25).is_err());
    }
}
