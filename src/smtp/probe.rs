//! One target's probe: the groups of tests, each on its own connection, with a bounded number of
//! connections per target, the per-command timeout, and a stop at the first `421`.
//!
//! Groups: (1) plaintext session (greeting, EHLO, VRFY/EXPN, STARTTLS-required, relay battery,
//! cleartext AUTH), (2) TLS session (certificate, EHLO after TLS, AUTH and the authenticated relay
//! test), (3) STARTTLS command injection, (4) one connection per legacy TLS version, plus the
//! PTR lookup. What replies mean is decided in [`super::checks`]; resolving targets and printing
//! belong to the command line.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

use super::cert::{self, CertificateInfo};
use super::checks;
use super::client::{Endpoint, Reply, Session, TlsDetails, Transcript, auth_mechanisms};
use super::legacy_tls::{self, LegacyOutcome, LegacyVersion};
use super::relay::{self, RelayAttempt};
use super::{Role, SmtpError};
use crate::dns::Resolver;
use crate::report::{Finding, Severity};

/// Reconnects allowed during the relay battery when the server drops the connection.
const RELAY_RECONNECTS: usize = 2;
/// How long to wait for an unasked reply after the STARTTLS handshake.
const INJECTION_WAIT: Duration = Duration::from_secs(2);

/// An SMTP AUTH user and password. The password never appears in Debug output.
#[derive(Clone)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    password: String,
}

impl Credentials {
    /// Credentials from a user name and password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The name to give in EHLO/HELO.
    pub helo: String,
    /// Local address the connections come from.
    pub source_ip: Option<IpAddr>,
    /// Connect and per-command timeout.
    pub timeout: Duration,
    /// Run the relay battery.
    pub relay: bool,
    /// AUTH credentials for the cleartext and authenticated-relay tests.
    pub credentials: Option<Credentials>,
    /// With credentials: a mailbox of the user's that gets one small test message (DATA) in the
    /// authenticated test instead of a RCPT-only test to a foreign domain.
    pub data_to: Option<String>,
    /// Extra trusted roots for the certificate check (`--ca FILE`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The time certificates are judged at, UNIX seconds.
    pub now: i64,
    /// Most connections opened to one target.
    pub max_connections: usize,
}

/// One server address and port to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name given (or the address, written as text).
    pub host: String,
    /// The address connected to.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// What the port is for.
    pub role: Role,
}

impl Target {
    /// `host:port`, with IPv6 addresses in brackets.
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The negotiated TLS parameters and the certificate.
#[derive(Debug, Serialize)]
pub struct TlsReport {
    /// "TLSv1.3" or "TLSv1.2".
    pub version: String,
    /// The cipher suite.
    pub cipher: String,
    /// The certificate as examined; `None` when it could not be read.
    pub certificate: Option<CertificateInfo>,
}

/// The AUTH part of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthReport {
    /// Mechanisms offered (before TLS, then after it).
    pub mechanisms: Vec<String>,
    /// The reply to AUTH sent before TLS, when it was tried.
    pub cleartext_result: Option<String>,
    /// The reply to AUTH sent over TLS, when it was tried.
    pub tls_result: Option<String>,
    /// MAIL/RCPT after AUTH over TLS.
    pub relay_after_auth: Option<RelayAttempt>,
}

/// Everything learnt about one target (the `probe --json` shape).
#[derive(Debug, Serialize)]
pub struct TargetReport {
    /// `host:port`.
    pub target: String,
    /// The host name given.
    pub host: String,
    /// The address connected to.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// The role the port was probed as.
    pub role: Role,
    /// The greeting.
    pub banner: Option<String>,
    /// EHLO extensions before TLS.
    pub ehlo: Vec<String>,
    /// EHLO extensions after TLS.
    pub ehlo_tls: Option<Vec<String>>,
    /// The TLS session of a normal handshake.
    pub tls: Option<TlsReport>,
    /// What each legacy version got.
    pub legacy_tls: Option<BTreeMap<String, LegacyOutcome>>,
    /// Every relay pair tried.
    pub relay: Vec<RelayAttempt>,
    /// AUTH results, when AUTH was offered or tried.
    pub auth: Option<AuthReport>,
    /// The findings.
    pub findings: Vec<Finding>,
    /// What failed, when something did.
    pub error: Option<String>,
    /// The dialogue, when asked for; AUTH payloads masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<String>>,
    /// The target was unreachable or closed the session with 421 (exit 3).
    #[serde(skip)]
    pub temporary_failure: bool,
}

impl TargetReport {
    fn new(target: &Target) -> TargetReport {
        TargetReport {
            target: target.label(),
            host: target.host.clone(),
            address: target.address,
            port: target.port,
            role: target.role,
            banner: None,
            ehlo: Vec::new(),
            ehlo_tls: None,
            tls: None,
            legacy_tls: None,
            relay: Vec::new(),
            auth: None,
            findings: Vec::new(),
            error: None,
            transcript: None,
            temporary_failure: false,
        }
    }

    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

struct Prober<'a> {
    target: &'a Target,
    options: &'a ProbeOptions,
    endpoint: Endpoint,
    report: TargetReport,
    transcript: Transcript,
    connections: usize,
    /// The name the server gives itself (greeting), for the relay battery and the PTR check.
    own_name: Option<String>,
    ehlo_name: Option<String>,
}

/// Probe one target. Never fails: what went wrong is in `error` and the findings.
pub async fn probe(
    resolver: &dyn Resolver,
    target: &Target,
    options: &ProbeOptions,
) -> TargetReport {
    let mut prober = Prober {
        target,
        options,
        endpoint: Endpoint {
            addr: std::net::SocketAddr::new(target.address, target.port),
            host: target.host.clone(),
            source_ip: options.source_ip,
            timeout: options.timeout,
        },
        report: TargetReport::new(target),
        transcript: Transcript::default(),
        connections: 0,
        own_name: None,
        ehlo_name: None,
    };
    prober.run().await;
    prober.ptr(resolver).await;
    prober.finish()
}

/// How a group's failure affects the rest.
enum Stop {
    /// Go on with the next group.
    Continue,
    /// The target is unreachable or closing: stop.
    All,
}

impl Prober<'_> {
    fn record(&self) -> String {
        self.report.target.clone()
    }

    async fn run(&mut self) {
        let first = self.plain_group().await;
        if let Err(e) = first
            && matches!(self.fail(e, true), Stop::All)
        {
            return;
        }
        let starttls = super::client::has_extension(&self.report.ehlo, "STARTTLS");
        let tls_capable = starttls || self.target.role == Role::Smtps;
        if tls_capable {
            let result = self.tls_group().await;
            self.anonymous();
            if let Err(e) = result
                && matches!(self.fail(e, false), Stop::All)
            {
                return;
            }
        } else {
            self.anonymous();
        }
        if starttls && self.target.role != Role::Smtps {
            let result = self.injection_group().await;
            if let Err(e) = result
                && matches!(self.fail(e, false), Stop::All)
            {
                return;
            }
        }
        if tls_capable && let Err(e) = self.legacy_group().await {
            self.fail(e, false);
        }
    }

    fn anonymous(&mut self) {
        let record = self.record();
        let finding =
            checks::auth_anonymous(&record, &self.report.ehlo, self.report.ehlo_tls.as_deref());
        self.report.findings.extend(finding);
    }

    /// Record a group's failure; `first` is the first connection, whose failure to connect
    /// means the target is unreachable.
    fn fail(&mut self, error: SmtpError, first: bool) -> Stop {
        if self.report.error.is_none() {
            self.report.error = Some(error.to_string());
        }
        let record = self.record();
        match &error {
            SmtpError::Connect { .. } | SmtpError::Timeout { .. } if first => {
                self.report
                    .findings
                    .push(checks::connect_failed(&record, &error));
                self.report.temporary_failure = true;
                Stop::All
            }
            SmtpError::SourceAddress { .. } => Stop::All,
            SmtpError::Closing { .. } | SmtpError::Refused { .. } => {
                self.report
                    .findings
                    .push(checks::service_unavailable(&record, &error));
                self.report.temporary_failure = true;
                Stop::All
            }
            _ => Stop::Continue,
        }
    }

    /// A new connection, within the budget: plaintext, or implicit TLS for smtps.
    async fn connect(&mut self) -> Result<(Session, Option<TlsDetails>), SmtpError> {
        if self.connections >= self.options.max_connections {
            return Err(SmtpError::Protocol {
                target: self.endpoint.label(),
                reason: format!(
                    "the probe's limit of {} connections to this target is reached",
                    self.options.max_connections
                ),
            });
        }
        self.connections += 1;
        if self.target.role == Role::Smtps {
            let (session, details) = Session::connect_tls(&self.endpoint).await?;
            Ok((session, Some(details)))
        } else {
            Ok((Session::connect(&self.endpoint).await?, None))
        }
    }

    /// Greeting and EHLO; returns the extensions.
    async fn open(&mut self, session: &mut Session) -> Result<Vec<String>, SmtpError> {
        let banner = session.greeting().await?;
        if self.report.banner.is_none() {
            self.own_name = banner.first_word().map(str::to_owned);
            if let Some(f) = checks::banner_software(&self.record(), &banner) {
                self.report.findings.push(f);
            }
            self.report.banner = Some(banner.text());
        }
        let (reply, extensions) = session.ehlo(&self.options.helo).await?;
        if self.ehlo_name.is_none() {
            self.ehlo_name = reply.first_word().map(str::to_owned);
        }
        Ok(extensions)
    }

    /// Keep a finished session's transcript; QUIT if it is still usable.
    async fn close(&mut self, session: Session, ok: bool) {
        let transcript = if ok {
            session.quit().await
        } else {
            session.transcript
        };
        self.transcript.lines.extend(transcript.lines);
    }

    async fn plain_group(&mut self) -> Result<(), SmtpError> {
        let (mut session, _) = self.connect().await?;
        let result = self.plain_checks(&mut session).await;
        let ok = result.is_ok();
        self.close(session, ok).await;
        result
    }

    async fn plain_checks(&mut self, session: &mut Session) -> Result<(), SmtpError> {
        let extensions = self.open(session).await?;
        let record = self.record();
        if self.target.role == Role::Smtps {
            self.report.ehlo_tls = Some(extensions.clone());
        } else {
            self.report.ehlo = extensions.clone();
            self.report.findings.extend(checks::starttls_missing(
                &record,
                self.target.role,
                &extensions,
            ));
            self.report
                .findings
                .extend(checks::auth_before_tls(&record, &extensions));
        }
        self.vrfy_expn(session).await?;
        if self.target.role == Role::Submission {
            let mail = session
                .command(&format!("MAIL FROM:<{}>", relay::FOREIGN_SENDER))
                .await?;
            self.report
                .findings
                .extend(checks::starttls_required_missing(&record, &mail));
            session.command("RSET").await?;
            if mail.code == 530 {
                // Everything is refused until STARTTLS; a battery would only run the server's
                // error counter into a 421.
                session
                    .transcript
                    .note("relay battery skipped: the port requires STARTTLS first (530)");
                return self.cleartext_auth(session, &extensions).await;
            }
        }
        if self.options.relay {
            self.relay_battery(session).await?;
        }
        if self.target.role != Role::Smtps {
            self.cleartext_auth(session, &extensions).await?;
        }
        Ok(())
    }

    async fn vrfy_expn(&mut self, session: &mut Session) -> Result<(), SmtpError> {
        let record = self.record();
        let vrfy = session.command("VRFY postmaster").await?;
        self.report
            .findings
            .extend(checks::vrfy_enabled(&record, "postmaster", &vrfy));
        let expn = session.command("EXPN postmaster").await?;
        self.report
            .findings
            .extend(checks::expn_enabled(&record, "postmaster", &expn));
        Ok(())
    }

    async fn relay_battery(&mut self, session: &mut Session) -> Result<(), SmtpError> {
        let own = self
            .own_name
            .clone()
            .filter(|n| n.contains('.'))
            .unwrap_or_else(|| match self.target.host.parse::<IpAddr>() {
                // A bare address is not a domain: use the address literal (RFC 5321 §4.1.3).
                Ok(ip) => relay::address_literal(ip),
                Err(_) => self.target.host.clone(),
            });
        let pairs = relay::battery(&own, self.target.address);
        let mut next = 0;
        let mut reconnects = 0;
        while let Some(pair) = pairs.get(next) {
            match relay::try_pair(session, pair).await {
                Ok(attempt) => {
                    self.report.relay.push(attempt);
                    next += 1;
                }
                Err(e) if e.is_connection_lost() && reconnects < RELAY_RECONNECTS => {
                    reconnects += 1;
                    let (mut fresh, _) = self.connect().await?;
                    fresh
                        .transcript
                        .note("reconnected after the server dropped the connection");
                    std::mem::swap(session, &mut fresh);
                    self.transcript.lines.extend(fresh.transcript.lines);
                    self.open(session).await?;
                }
                Err(e) => return Err(e),
            }
        }
        let record = self.record();
        self.report
            .findings
            .extend(relay::findings(&self.report.relay, &record));
        Ok(())
    }

    /// With credentials and PLAIN/LOGIN offered before TLS: does the server take a password in
    /// clear text? Last on the plaintext session, since a success changes what it may do.
    async fn cleartext_auth(
        &mut self,
        session: &mut Session,
        extensions: &[String],
    ) -> Result<(), SmtpError> {
        let mechanisms = auth_mechanisms(extensions);
        if !mechanisms.is_empty() {
            self.auth_report()
                .mechanisms
                .extend(mechanisms.iter().cloned());
        }
        let cleartext: Vec<String> = mechanisms
            .into_iter()
            .filter(|m| m == "PLAIN" || m == "LOGIN")
            .collect();
        let Some(credentials) = self.options.credentials.clone() else {
            return Ok(());
        };
        if cleartext.is_empty() {
            return Ok(());
        }
        // AUTH is refused inside a mail transaction (RFC 4954 §4): end the battery's last one.
        session.command("RSET").await?;
        let reply = session
            .auth(&cleartext, &credentials.user, &credentials.password)
            .await?;
        self.auth_report().cleartext_result = Some(reply.text());
        let record = self.record();
        self.report
            .findings
            .extend(checks::auth_cleartext_accepted(&record, &reply));
        Ok(())
    }

    fn auth_report(&mut self) -> &mut AuthReport {
        self.report.auth.get_or_insert_with(AuthReport::default)
    }

    async fn tls_group(&mut self) -> Result<(), SmtpError> {
        let (mut session, implicit) = self.connect().await?;
        let result = self.tls_checks(&mut session, implicit).await;
        let ok = result.is_ok();
        self.close(session, ok).await;
        result
    }

    async fn tls_checks(
        &mut self,
        session: &mut Session,
        implicit: Option<TlsDetails>,
    ) -> Result<(), SmtpError> {
        let mut extensions = self.open(session).await?;
        let details = match implicit {
            Some(details) => details,
            None => match session.starttls().await? {
                Ok(details) => {
                    let (_, after) = session.ehlo(&self.options.helo).await?;
                    extensions = after;
                    details
                }
                Err(reply) => {
                    return Err(SmtpError::Protocol {
                        target: self.endpoint.label(),
                        reason: format!("STARTTLS was offered but refused: {}", reply.text()),
                    });
                }
            },
        };
        self.certificate(&details);
        self.report.ehlo_tls = Some(extensions.clone());
        let mechanisms = auth_mechanisms(&extensions);
        if !mechanisms.is_empty() {
            let auth = self.auth_report();
            for m in mechanisms {
                if !auth.mechanisms.contains(&m) {
                    auth.mechanisms.push(m);
                }
            }
        }
        if self.options.credentials.is_some() {
            self.authenticated_relay(session, &extensions).await?;
        }
        Ok(())
    }

    fn certificate(&mut self, details: &TlsDetails) {
        let record = self.record();
        let info = cert::examine(
            &details.chain,
            &self.target.host,
            &self.options.extra_roots,
            self.options.now,
        );
        let certificate = match info {
            Ok(info) => {
                self.report.findings.extend(cert::findings(
                    &info,
                    &self.target.host,
                    &record,
                    self.options.now,
                ));
                Some(info)
            }
            Err(e) => {
                self.transcript
                    .note(&format!("certificate not examined: {e}"));
                None
            }
        };
        self.report.tls = Some(TlsReport {
            version: details.version.clone(),
            cipher: details.cipher.clone(),
            certificate,
        });
    }

    /// The guides' positive test: AUTH over TLS, then MAIL and RCPT to a foreign domain (or
    /// `--data TO` with one small message).
    async fn authenticated_relay(
        &mut self,
        session: &mut Session,
        extensions: &[String],
    ) -> Result<(), SmtpError> {
        let Some(credentials) = self.options.credentials.clone() else {
            return Ok(());
        };
        let record = self.record();
        let mechanisms = auth_mechanisms(extensions);
        if !mechanisms.iter().any(|m| m == "PLAIN" || m == "LOGIN") {
            self.report.findings.push(
                Finding::new(
                    "smtp.auth_relay_refused",
                    Severity::Error,
                    &record,
                    "AUTH PLAIN/LOGIN is not offered after STARTTLS: users cannot authenticate to send mail",
                    "RFC 4954 §3",
                )
                .seen(format!("EHLO after TLS: {}", extensions.join(", ")))
                .fix("enable SASL on this port (Postfix: smtpd_sasl_auth_enable = yes)"),
            );
            return Ok(());
        }
        let auth = session
            .auth(&mechanisms, &credentials.user, &credentials.password)
            .await?;
        self.auth_report().tls_result = Some(auth.text());
        if auth.code != 235 {
            self.report
                .findings
                .push(checks::auth_relay(&record, &auth, None));
            return Ok(());
        }
        let sender = if credentials.user.contains('@') {
            credentials.user.clone()
        } else {
            format!("{}@{}", credentials.user, self.target.host)
        };
        let recipient = self
            .options
            .data_to
            .clone()
            .unwrap_or_else(|| relay::FOREIGN_RECIPIENT.to_owned());
        let pair = relay::RelayPair {
            mail_from: sender.clone(),
            rcpt_to: recipient.clone(),
            kind: relay::PairKind::Foreign,
        };
        let mail = session.command(&format!("MAIL FROM:<{sender}>")).await?;
        let rcpt = if mail.is_positive() {
            session.command(&format!("RCPT TO:<{recipient}>")).await?
        } else {
            mail
        };
        self.auth_report().relay_after_auth = Some(RelayAttempt {
            mail_from: pair.mail_from,
            rcpt_to: pair.rcpt_to,
            reply: rcpt.text(),
            accepted: rcpt.is_positive(),
            kind: pair.kind,
        });
        self.report
            .findings
            .push(checks::auth_relay(&record, &auth, Some(&rcpt)));
        if rcpt.is_positive() && self.options.data_to.is_some() {
            send_test_message(session, &sender, &recipient).await?;
        }
        Ok(())
    }

    /// CVE-2011-0411: STARTTLS and NOOP in one write; a reply arriving inside TLS without a
    /// command means the server kept the plaintext NOOP across the handshake.
    async fn injection_group(&mut self) -> Result<(), SmtpError> {
        let (mut session, _) = self.connect().await?;
        let result = self.injection_check(&mut session).await;
        self.close(session, result.is_ok()).await;
        result
    }

    async fn injection_check(&mut self, session: &mut Session) -> Result<(), SmtpError> {
        self.open(session).await?;
        session.record_sent("STARTTLS");
        session.record_sent("NOOP");
        session.write_raw(b"STARTTLS\r\nNOOP\r\n").await?;
        let reply = session.read_reply("the reply to STARTTLS").await?;
        if reply.code != 220 || session.pending_input() > 0 {
            // The NOOP was answered in plaintext or STARTTLS refused: nothing was injected.
            return Ok(());
        }
        match session.upgrade().await {
            Ok(_) => {}
            Err(SmtpError::Tls { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
        let wait = INJECTION_WAIT.min(self.options.timeout);
        match session.unsolicited_reply(wait).await {
            Ok(Some(unasked)) => {
                let record = self.record();
                self.report
                    .findings
                    .push(checks::starttls_injection(&record, &unasked));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) if e.is_connection_lost() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One fresh connection per legacy version: STARTTLS (or nothing on 465), then a raw
    /// ClientHello of that version.
    async fn legacy_group(&mut self) -> Result<(), SmtpError> {
        let mut results = Vec::new();
        for version in [
            LegacyVersion::Ssl3,
            LegacyVersion::Tls10,
            LegacyVersion::Tls11,
        ] {
            let outcome = self.legacy_version(version).await?;
            self.transcript
                .note(&format!("legacy ClientHello {version}: {outcome:?}"));
            results.push((version, outcome));
        }
        let record = self.record();
        self.report
            .findings
            .extend(checks::tls_protocol_legacy(&record, &results));
        self.report.legacy_tls = Some(
            results
                .into_iter()
                .map(|(v, o)| (v.to_string(), o))
                .collect(),
        );
        Ok(())
    }

    async fn legacy_version(&mut self, version: LegacyVersion) -> Result<LegacyOutcome, SmtpError> {
        if self.connections >= self.options.max_connections {
            return Ok(LegacyOutcome::Inconclusive {
                reason: "connection limit reached".into(),
            });
        }
        self.connections += 1;
        let mut tcp = if self.target.role == Role::Smtps {
            super::client::connect_tcp(&self.endpoint).await?
        } else {
            let mut session = Session::connect(&self.endpoint).await?;
            let reply = match self.open(&mut session).await {
                Ok(_) => session.command("STARTTLS").await,
                Err(e) => Err(e),
            };
            self.transcript
                .lines
                .extend(session.transcript.lines.clone());
            let reply: Reply = reply?;
            if reply.code != 220 {
                return Ok(LegacyOutcome::Inconclusive {
                    reason: format!("STARTTLS refused: {}", reply.text()),
                });
            }
            match session.into_tcp() {
                Some(tcp) => tcp,
                None => {
                    return Ok(LegacyOutcome::Inconclusive {
                        reason: "the server sent more after 220".into(),
                    });
                }
            }
        };
        let host = Some(self.target.host.as_str()).filter(|h| h.parse::<IpAddr>().is_err());
        legacy_tls::try_version(&mut tcp, version, host, self.options.timeout)
            .await
            .map_err(|e| SmtpError::Io {
                target: self.endpoint.label(),
                reason: format!("{version} ClientHello: {e}"),
            })
    }

    async fn ptr(&mut self, resolver: &dyn Resolver) {
        if self.report.temporary_failure && self.report.banner.is_none() {
            return;
        }
        let mut announced: Vec<&str> = Vec::new();
        if let Some(name) = &self.own_name {
            announced.push(name);
        }
        if let Some(name) = &self.ehlo_name
            && !announced.iter().any(|a| a.eq_ignore_ascii_case(name))
        {
            announced.push(name);
        }
        let record = self.record();
        if let Some(f) =
            checks::ptr_mismatch(resolver, &record, self.target.address, &announced).await
        {
            self.report.findings.push(f);
        }
    }

    fn finish(mut self) -> TargetReport {
        self.report.transcript = Some(self.transcript.lines);
        self.report
    }
}

/// DATA with a short message that says what it is; only to the user's own mailbox.
async fn send_test_message(session: &mut Session, from: &str, to: &str) -> Result<(), SmtpError> {
    let reply = session.command("DATA").await?;
    if reply.code != 354 {
        return Ok(());
    }
    let date = chrono::Utc::now().to_rfc2822();
    let body = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: mailauth probe test message\r\nDate: {date}\r\n\r\nThis message was sent by `mailauth probe --data` to check authenticated submission.\r\n.\r\n"
    );
    for line in body.lines() {
        session.record_sent(line);
    }
    session.write_raw(body.as_bytes()).await?;
    session.read_reply("the reply to the message").await?;
    Ok(())
}
