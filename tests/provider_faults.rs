//! Provider faults (issue 13 item 4): each fault a backend can see, injected by the fault proxy
//! (`support::fault_proxy`, HTTP) or the DNS fault server (`support::dns_faults`, RFC 2136),
//! through the conformance battery's fault step and through `mailauth publish`. For each: the
//! exit code (README "Exit codes"), a message naming what failed, and the invariant that every
//! record is fully old or fully new right after the fault (read from the backend directly) and
//! that a rerun without the fault converges.

use std::time::Duration;

use crate::support::cloudflare_fake::CloudflareFake;
use crate::support::fault_proxy::{Fault, FaultProxy};

/// A raw request through the proxy: (status, body), or the transport error's text.
fn raw(agent: &ureq::Agent, url: &str) -> Result<(u16, String), String> {
    let mut response = agent
        .get(url)
        .header("Authorization", "Bearer fake-token-123")
        .call()
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// The proxy itself: each fault fires on the request its rule names, and only there.
#[test]
fn fault_proxy_injects_each_fault_on_the_scripted_request() {
    let fake = CloudflareFake::start();
    let proxy = FaultProxy::in_front_of(&fake.base());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let zones = proxy.url("/client/v4/zones?name=battery.test");
    // The fake rate-limits its first request; through the proxy that is forwarded as it is.
    assert_eq!(raw(&agent, &zones).unwrap().0, 429);
    let (status, body) = raw(&agent, &zones).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("zone-0001"), "{body}");
    let cases = [
        (
            Fault::TooManyRequests {
                retry_after: Some(7),
            },
            "429",
        ),
        (Fault::TooManyRequests { retry_after: None }, "429"),
        (Fault::ServerError(503), "503"),
        (Fault::NotJson, "<html>"),
        (
            Fault::FakeSuccess {
                status: 200,
                body: r#"{"success":true,"result":{"id":"x"}}"#.into(),
            },
            "\"id\":\"x\"",
        ),
        (Fault::TruncatedBody, "error"),
        (Fault::ResetMidBody, "error"),
        (Fault::NoAnswer, "error"),
        (Fault::LoseAnswer, "error"),
    ];
    for (fault, expect) in cases {
        // The second GET of /client/v4/zones gets the fault; the first goes through.
        proxy.inject("GET", "/client/v4/zones", 2, fault.clone());
        assert!(raw(&agent, &zones).is_ok(), "{fault:?}: first request");
        let got = raw(&agent, &zones);
        let shown = match &got {
            Ok((status, body)) => format!("{status} {body}"),
            Err(e) => format!("error {e}"),
        };
        assert!(shown.contains(expect), "{fault:?}: {shown}");
        proxy.clear();
        let seen = proxy.seen();
        assert_eq!(
            seen.last().unwrap().fault.as_ref(),
            Some(&fault),
            "{seen:?}"
        );
    }
    assert_eq!(proxy.faults_fired(), 9);
    // Rules match the method and the path prefix only.
    proxy.inject_every("POST", "/client/v4/zones", Fault::ServerError(500));
    let (status, _) = raw(&agent, &zones).unwrap();
    assert!(
        status == 200 || status == 429,
        "a GET is not a POST: {status}"
    );
}

// ---- The fault step through the conformance battery, per backend and fault ----

use mailauth_providers::conformance::{Harness, survives_fault};
use mailauth_providers::{Provider, ProviderError};

use crate::support::cmd::{CmdOutput, mailauth};
use crate::support::dns_faults::{Applies, DnsFault, DnsFaultProxy, NOTAUTH, REFUSED, SERVFAIL};

/// The client timeout in these tests (seconds): short, so a fault that never answers ends fast.
const TIMEOUT: u64 = 2;

/// What a fault must end in.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The change goes through anyway (retried, or its lost answer found applied on re-read).
    Survives,
    /// A temporary error (exit 3) whose message holds each of these.
    Temporary(&'static [&'static str]),
    /// A rejected credential (exit 2) whose message holds each of these.
    Credentials(&'static [&'static str]),
    /// A local problem (exit 2) whose message holds each of these.
    Local(&'static [&'static str]),
}

impl Expect {
    /// The exit code of `mailauth publish` (README "Exit codes").
    fn exit(self) -> i32 {
        match self {
            Expect::Survives => 0,
            Expect::Temporary(_) => 3,
            Expect::Credentials(_) | Expect::Local(_) => 2,
        }
    }

    fn words(self) -> &'static [&'static str] {
        match self {
            Expect::Survives => &[],
            Expect::Temporary(w) | Expect::Credentials(w) | Expect::Local(w) => w,
        }
    }

    /// Check what the faulted plan-and-apply returned.
    fn check(self, outcome: &Result<(), ProviderError>) {
        let kind_ok = match (self, outcome) {
            (Expect::Survives, Ok(())) => true,
            (Expect::Temporary(_), Err(e)) => e.is_temporary(),
            (Expect::Credentials(_), Err(e)) => matches!(e, ProviderError::Credentials { .. }),
            (Expect::Local(_), Err(e)) => matches!(e, ProviderError::Local { .. }),
            _ => false,
        };
        assert!(kind_ok, "expected {self:?}, got {outcome:?}");
        if let Err(e) = outcome {
            let text = e.to_string();
            for word in self.words() {
                assert!(text.contains(word), "{word:?} not in: {text}");
            }
        }
    }
}

/// One scripted HTTP fault: the Nth request (0: every request) with `method` whose path
/// starts with `path` gets `fault`.
#[derive(Debug, Clone)]
struct HttpFault {
    method: &'static str,
    path: &'static str,
    nth: usize,
    fault: Fault,
    expect: Expect,
}

impl HttpFault {
    fn arm(&self, proxy: &FaultProxy) {
        match self.nth {
            0 => proxy.inject_every(self.method, self.path, self.fault.clone()),
            n => proxy.inject(self.method, self.path, n, self.fault.clone()),
        }
    }
}

/// An HTTP backend under test: its kind, where it listens, the credential, and what keeps it
/// running.
struct HttpBackend {
    kind: &'static str,
    /// The API base as the provider takes it (`http://IP:PORT[/client/v4]`).
    base: String,
    /// The path part of `base` (`/client/v4` or nothing), kept when going through the proxy.
    prefix: &'static str,
    token: String,
    /// Where the backend answers DNS, when it does (publish confirms there).
    dns: Option<std::net::SocketAddr>,
    harness: Harness,
}

impl HttpBackend {
    fn provider(&self, base: &str) -> Box<dyn Provider> {
        let timeout = Duration::from_secs(TIMEOUT);
        match self.kind {
            "cloudflare" => Box::new(
                mailauth_providers::cloudflare::Cloudflare::new(Some(base), self.token.clone())
                    .unwrap()
                    .with_timeout(timeout),
            ),
            _ => Box::new(
                mailauth_providers::powerdns::PowerDns::new(base, self.token.clone())
                    .unwrap()
                    .with_timeout(timeout),
            ),
        }
    }
}

fn cloudflare() -> Option<HttpBackend> {
    use crate::support::cloudflare_fake::TOKEN;
    let harness = crate::providers::cloudflare_harness()?;
    let fake = harness.guard.downcast_ref::<CloudflareFake>().unwrap();
    // The faults come from the proxy, which must be able to deliver a change it forwards.
    fake.stop_rate_limiting();
    Some(HttpBackend {
        kind: "cloudflare",
        base: fake.base(),
        prefix: "/client/v4",
        token: TOKEN.into(),
        dns: None,
        harness,
    })
}

fn powerdns() -> Option<HttpBackend> {
    let harness = crate::providers::powerdns_harness()?;
    let pdns = harness
        .guard
        .downcast_ref::<crate::support::pdns::Pdns>()
        .unwrap();
    Some(HttpBackend {
        kind: "powerdns",
        base: pdns.api.clone(),
        prefix: "",
        token: pdns.key.clone(),
        dns: Some(pdns.dns),
        harness,
    })
}

/// The fault step of the conformance battery with `fault` injected by the proxy.
fn http_battery(setup: fn() -> Option<HttpBackend>, fault: &HttpFault) {
    let Some(backend) = setup() else { return };
    let proxy = FaultProxy::in_front_of(&backend.base);
    let faulty = backend.provider(&proxy.url(backend.prefix));
    let zone = &backend.harness.zone;
    let outcome = survives_fault(
        faulty.as_ref(),
        backend.harness.provider.as_ref(),
        zone,
        &|| fault.arm(&proxy),
        &|| proxy.clear(),
    )
    .unwrap_or_else(|e| panic!("{e}\nrequests: {:#?}", proxy.seen()));
    assert!(
        proxy.faults_fired() > 0,
        "the fault never fired: {:#?}",
        proxy.seen()
    );
    fault.expect.check(&outcome);
}

// ---- The same faults through `mailauth publish` ----

/// A directory with a mailauth.toml publishing `battery.test` through `url` (`kind`), with the
/// old records (`new == false`: SPF, DMARC) or the new ones (both updated, TLS-RPT created).
fn write_config(dir: &std::path::Path, kind: &str, url: &str, extra: &str, new: bool) {
    let (spf, policy, tls_rpt) = if new {
        (
            "{ mx = true, ip4 = [\"192.0.2.0/24\"] }",
            "reject",
            "tls_rpt = { rua = [\"mailto:tlsrpt@battery.test\"] }\n",
        )
    } else {
        ("{ mx = true }", "none", "")
    };
    let url = if url.is_empty() {
        String::new()
    } else {
        format!("url = \"{url}\"\n")
    };
    std::fs::write(
        dir.join("mailauth.toml"),
        format!(
            "[providers.p]\nkind = \"{kind}\"\n{url}{extra}\n[domains.\"battery.test\"]\nprovider = \"p\"\nttl = 300\nspf = {spf}\ndmarc = {{ policy = \"{policy}\", rua = [\"mailto:dmarc@battery.test\"] }}\n{tls_rpt}"
        ),
    )
    .unwrap();
}

/// The values a publish's JSON plan sets at each name (none when it printed no plan).
fn planned(out: &CmdOutput) -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap_or_default();
    let mut values: Vec<(String, String)> = json["plans"][0]["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
                    (s("name"), s("value"))
                })
                .collect()
        })
        .unwrap_or_default();
    values.sort();
    values
}

/// The owned TXT values at each of `names` read straight from the backend (not through mailauth).
fn read_direct(direct: &dyn Provider, names: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, _) in names {
        let ownership = if name == "battery.test" {
            mailauth_providers::Ownership::SpfValue
        } else {
            mailauth_providers::Ownership::WholeName
        };
        for r in direct
            .records("battery.test", name, mailauth_providers::RecordType::Txt)
            .unwrap()
        {
            if mailauth_providers::owned(ownership, &r.value) {
                out.push((name.clone(), r.value));
            }
        }
    }
    out.sort();
    out
}

/// Right after a fault: each name holds exactly its old value or exactly its new one.
fn assert_each_old_or_new(
    now: &[(String, String)],
    old: &[(String, String)],
    new: &[(String, String)],
) {
    let mut names: Vec<&String> = old.iter().chain(new).map(|(n, _)| n).collect();
    names.dedup();
    for name in names {
        let at = |set: &[(String, String)]| -> Vec<String> {
            set.iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (now, was, will) = (at(now), at(old), at(new));
        assert!(
            now == was || (!will.is_empty() && now == will),
            "{name} is half way after the fault: {now:?} (old {was:?}, new {will:?})"
        );
    }
}

/// Where `mailauth publish` confirms what it applied.
#[derive(Debug, Clone, Copy)]
enum Confirm {
    /// At this DNS server (`--resolver`): exit 0 once served.
    Resolver(std::net::SocketAddr),
    /// In the zone file the zonefile provider writes: exit 0.
    ZoneFile,
    /// Nowhere: a zone file that does not hold the domain is given, so publish says "applied,
    /// not confirmed" (exit 3) without asking the system's resolver.
    Nowhere,
}

impl Confirm {
    fn args(self, dir: &std::path::Path) -> Vec<String> {
        match self {
            Confirm::Resolver(addr) => vec!["--resolver".into(), addr.to_string()],
            Confirm::ZoneFile => Vec::new(),
            Confirm::Nowhere => {
                let other = dir.join("other.zone");
                std::fs::write(
                    &other,
                    "$ORIGIN other.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n",
                )
                .unwrap();
                vec!["--zone".into(), other.display().to_string()]
            }
        }
    }

    /// The exit of a publish that applied everything.
    fn applied_exit(self) -> i32 {
        match self {
            Confirm::Nowhere => 3,
            _ => 0,
        }
    }
}

/// A provider as `mailauth publish` reaches it: its configuration lines, its credential in the
/// environment, where publish confirms, and the command prefix the faulted run goes under
/// (empty, or a mount namespace: [`MOUNT_READ_ONLY`], [`MOUNT_FULL_DISK`]).
struct Published<'a> {
    kind: &'a str,
    url: String,
    extra: String,
    env: (&'a str, String),
    confirm: Confirm,
    wrap: &'a [&'a str],
    /// A secret besides the environment's credential that must never be shown (a TSIG key).
    secret: String,
}

/// The mailauth binary, under `wrap` (a command prefix) when it is not empty.
fn mailauth_under(wrap: &[&str]) -> crate::support::cmd::TestCommand {
    match wrap.split_first() {
        None => mailauth(),
        Some((program, args)) => mailauth().wrapped(program, args),
    }
}

/// `mailauth publish` in `dir` through a faulty provider: the exit code, the message, each
/// record fully old or fully new read directly from the backend, then a rerun without the
/// fault that converges (publish applies, a plan is empty).
fn publish_through_fault(
    dir: &std::path::Path,
    target: &Published<'_>,
    direct: &dyn Provider,
    expect: Expect,
    arm: &dyn Fn(),
    disarm: &dyn Fn(),
) {
    let confirm = target.confirm.args(dir);
    let publish = |wrap: &[&str]| {
        mailauth_under(wrap)
            .current_dir(dir)
            .env(target.env.0, &target.env.1)
            .args(&confirm)
            .args(["--json", "publish", "--yes", "--wait", "5"])
            .run()
    };
    let applied_exit = target.confirm.applied_exit();
    let config = |new| write_config(dir, target.kind, &target.url, &target.extra, new);
    config(false);
    let first = publish(&[]);
    first.assert_exit(applied_exit);
    let old = planned(&first);
    assert_eq!(old.len(), 2, "{}", first.stdout_str());
    config(true);
    arm();
    let faulted = publish(target.wrap);
    disarm();
    let text = format!("{}{}", faulted.stdout_str(), faulted.stderr_str());
    // No credential is ever shown, whatever failed.
    for secret in [&target.env.1, &target.secret] {
        assert!(
            secret.is_empty() || !text.contains(secret.as_str()),
            "a secret is shown: {text}"
        );
    }
    let new = planned(&faulted);
    match expect {
        Expect::Survives => {
            faulted.assert_exit(applied_exit);
            assert_eq!(read_direct(direct, &new), new, "{text}");
        }
        _ => {
            faulted.assert_exit(expect.exit());
            for word in expect.words() {
                assert!(text.contains(word), "{word:?} not in: {text}");
            }
            assert!(text.contains("battery.test"), "the domain is named: {text}");
            assert_each_old_or_new(&read_direct(direct, &old), &old, &new);
        }
    }
    // The rerun applies what the fault left undone (nothing, when the change went through).
    let rerun = publish(&[]);
    let status = rerun.json()["domains"][0]["status"].clone();
    rerun.assert_exit(if status == "unchanged" {
        0
    } else {
        applied_exit
    });
    let expected = match (expect, target.confirm) {
        (Expect::Survives, _) => "unchanged",
        (_, Confirm::Nowhere) => "applied_unconfirmed",
        _ => "confirmed",
    };
    assert_eq!(status, expected, "{}", rerun.stdout_str());
    let plan = mailauth()
        .current_dir(dir)
        .env(target.env.0, &target.env.1)
        .arg("plan")
        .run();
    plan.assert_exit(0);
    assert_eq!(plan.stdout_str(), "battery.test (p): no changes\n");
}

fn http_publish(setup: fn() -> Option<HttpBackend>, fault: &HttpFault) {
    let Some(backend) = setup() else { return };
    let proxy = FaultProxy::in_front_of(&backend.base);
    let target = Published {
        kind: backend.kind,
        url: proxy.url(backend.prefix),
        extra: format!("token_env = \"FAULT_TOKEN\"\ntimeout = {TIMEOUT}\n"),
        env: ("FAULT_TOKEN", backend.token.clone()),
        confirm: backend.dns.map_or(Confirm::Nowhere, Confirm::Resolver),
        wrap: &[],
        secret: String::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    publish_through_fault(
        dir.path(),
        &target,
        backend.harness.provider.as_ref(),
        fault.expect,
        &|| fault.arm(&proxy),
        &|| proxy.clear(),
    );
    assert!(
        proxy.faults_fired() > 0,
        "the fault never fired: {:#?}",
        proxy.seen()
    );
}

/// For each backend and fault, a module with `battery` (the conformance fault step) and
/// `publish` (the binary).
macro_rules! http_faults {
    ($backend:ident, $setup:path, $($name:ident: $fault:expr),* $(,)?) => {
        mod $backend {
            use super::*;
            $(
                mod $name {
                    use super::*;
                    #[test]
                    fn battery() {
                        http_battery($setup, &$fault);
                    }
                    #[test]
                    fn publish() {
                        http_publish($setup, &$fault);
                    }
                }
            )*
        }
    };
}

const CF_RECORDS: &str = "/client/v4/zones/zone-0001/dns_records";
const PDNS_ZONE: &str = "/api/v1/servers/localhost/zones/battery.test.";

fn fault(
    method: &'static str,
    path: &'static str,
    nth: usize,
    fault: Fault,
    expect: Expect,
) -> HttpFault {
    HttpFault {
        method,
        path,
        nth,
        fault,
        expect,
    }
}

http_faults!(cloudflare_http, cloudflare,
    // Retry-After is obeyed until the API gives up rate limiting; five in a row end the run.
    rate_limited_with_retry_after: fault("PUT", CF_RECORDS, 0,
        Fault::TooManyRequests { retry_after: Some(1) },
        Expect::Temporary(&["cloudflare", "HTTP 429", "battery.test TXT"])),
    // Without Retry-After the request is repeated after a second.
    rate_limited_without_retry_after: fault("POST", CF_RECORDS, 1,
        Fault::TooManyRequests { retry_after: None }, Expect::Survives),
    server_error: fault("POST", CF_RECORDS, 0, Fault::ServerError(503),
        Expect::Temporary(&["cloudflare", "HTTP 503", "battery.test TXT"])),
    // A create that was sent and never answered is not sent again; the re-read finds it absent.
    timeout_after_send: fault("POST", CF_RECORDS, 1, Fault::NoAnswer,
        Expect::Temporary(&["cloudflare", "timeout", "POST"])),
    // A create that was made but whose answer was lost is found by the re-read.
    answer_lost_after_the_change: fault("POST", CF_RECORDS, 1, Fault::LoseAnswer, Expect::Survives),
    // A create made whose answer was reset half way is found by the re-read.
    reset_mid_body: fault("POST", CF_RECORDS, 1, Fault::ResetMidBody, Expect::Survives),
    truncated_body: fault("GET", CF_RECORDS, 0, Fault::TruncatedBody,
        Expect::Temporary(&["cloudflare", "GET"])),
    not_json: fault("GET", "/client/v4/zones?", 0, Fault::NotJson,
        Expect::Temporary(&["cloudflare", "not JSON"])),
    success_but_not_created: fault("POST", CF_RECORDS, 0,
        Fault::FakeSuccess { status: 200, body: r#"{"success":true,"errors":[],"result":{"id":"rec-fake"}}"#.into() },
        Expect::Temporary(&["Cloudflare", "is missing", "when read back"])),
);

http_faults!(powerdns_http, powerdns,
    rate_limited_with_retry_after: fault("PATCH", PDNS_ZONE, 0,
        Fault::TooManyRequests { retry_after: Some(1) },
        Expect::Temporary(&["powerdns", "HTTP 429", "battery.test"])),
    rate_limited_without_retry_after: fault("PATCH", PDNS_ZONE, 1,
        Fault::TooManyRequests { retry_after: None }, Expect::Survives),
    server_error: fault("PATCH", PDNS_ZONE, 0, Fault::ServerError(500),
        Expect::Temporary(&["powerdns", "HTTP 500", "battery.test"])),
    timeout_after_send: fault("PATCH", PDNS_ZONE, 1, Fault::NoAnswer,
        Expect::Temporary(&["powerdns", "timeout", "PATCH zone battery.test"])),
    answer_lost_after_the_change: fault("PATCH", PDNS_ZONE, 1, Fault::LoseAnswer, Expect::Survives),
    reset_mid_body: fault("GET", PDNS_ZONE, 0, Fault::ResetMidBody,
        Expect::Temporary(&["powerdns", "GET zone battery.test"])),
    truncated_body: fault("GET", PDNS_ZONE, 0, Fault::TruncatedBody,
        Expect::Temporary(&["powerdns", "GET zone battery.test"])),
    not_json: fault("GET", PDNS_ZONE, 0, Fault::NotJson,
        Expect::Temporary(&["powerdns", "unreadable zone JSON"])),
    success_but_not_created: fault("PATCH", PDNS_ZONE, 0,
        Fault::FakeSuccess { status: 204, body: String::new() },
        Expect::Temporary(&["PowerDns", "when read back"])),
);

// ---- RFC 2136: DNS RCODEs and TSIG BADTIME, BIND and Knot ----

/// An RFC 2136 primary under test: the battery harness (its provider reads the server
/// directly), the server's address and the TSIG key file.
struct DnsBackend {
    harness: Harness,
    server: std::net::SocketAddr,
    dir: std::path::PathBuf,
}

fn bind() -> Option<DnsBackend> {
    let harness = crate::providers::bind_harness()?;
    let (named, dir) = harness
        .guard
        .downcast_ref::<(crate::support::named::Named, tempfile::TempDir)>()
        .unwrap();
    let (server, dir) = (named.addr(), dir.path().to_owned());
    Some(DnsBackend {
        harness,
        server,
        dir,
    })
}

fn knot() -> Option<DnsBackend> {
    let harness = crate::providers::knot_harness()?;
    let (knot, dir) = harness
        .guard
        .downcast_ref::<(crate::support::knot::Knot, tempfile::TempDir)>()
        .unwrap();
    let (server, dir) = (knot.addr, dir.path().to_owned());
    Some(DnsBackend {
        harness,
        server,
        dir,
    })
}

impl DnsBackend {
    /// The TSIG secret (base64) in the key file.
    fn secret(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("tsig.key")).unwrap();
        let secret = text.split("secret \"").nth(1).unwrap();
        secret.split('"').next().unwrap().to_owned()
    }

    fn key_file(&self) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let key = self.dir.join("tsig.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        key
    }
}

fn dns_battery(
    setup: fn() -> Option<DnsBackend>,
    (fault, applies): (DnsFault, Applies),
    expect: Expect,
) {
    use mailauth_providers::rfc2136::{Rfc2136, TsigKey};
    let Some(backend) = setup() else { return };
    let proxy = DnsFaultProxy::start(backend.server);
    let key = TsigKey::from_bind_file(&backend.key_file()).unwrap();
    let faulty = Rfc2136::new(proxy.addr(), key, backend.dir.join("state.json"));
    let outcome = survives_fault(
        &faulty,
        backend.harness.provider.as_ref(),
        &backend.harness.zone,
        &|| proxy.set(fault, applies),
        &|| proxy.clear(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(proxy.fired() > 0, "the fault never fired");
    expect.check(&outcome);
}

fn dns_publish(
    setup: fn() -> Option<DnsBackend>,
    (fault, applies): (DnsFault, Applies),
    expect: Expect,
) {
    let Some(backend) = setup() else { return };
    let proxy = DnsFaultProxy::start(backend.server);
    let target = Published {
        kind: "rfc2136",
        url: proxy.addr().to_string(),
        extra: format!("key_file = \"{}\"\n", backend.key_file().display()),
        env: ("MAILAUTH_UNUSED", String::new()),
        // Confirmed at the server itself, not through the proxy.
        confirm: Confirm::Resolver(backend.server),
        wrap: &[],
        secret: backend.secret(),
    };
    let dir = tempfile::tempdir().unwrap();
    publish_through_fault(
        dir.path(),
        &target,
        backend.harness.provider.as_ref(),
        expect,
        &|| proxy.set(fault, applies),
        &|| proxy.clear(),
    );
    assert!(proxy.fired() > 0, "the fault never fired");
}

macro_rules! dns_faults {
    ($backend:ident, $setup:path, $($name:ident: $fault:expr => $expect:expr),* $(,)?) => {
        mod $backend {
            use super::*;
            $(
                mod $name {
                    use super::*;
                    #[test]
                    fn battery() {
                        dns_battery($setup, $fault, $expect);
                    }
                    #[test]
                    fn publish() {
                        dns_publish($setup, $fault, $expect);
                    }
                }
            )*
        }
    };
}

/// RFC 2136 §2.2 RCODEs and RFC 8945 §5.2.3 BADTIME on the UPDATE, and SERVFAIL on every
/// query too (the plan cannot read), the same for both servers.
macro_rules! rfc2136_faults {
    ($backend:ident, $setup:path) => {
        dns_faults!($backend, $setup,
            servfail: (DnsFault::Rcode(SERVFAIL), Applies::Updates)
                => Expect::Temporary(&["rfc2136", "SERVFAIL", "battery.test"]),
            servfail_on_reads: (DnsFault::Rcode(SERVFAIL), Applies::All)
                => Expect::Temporary(&["rfc2136", "SERVFAIL for", "battery.test"]),
            notauth: (DnsFault::Rcode(NOTAUTH), Applies::Updates)
                => Expect::Credentials(&["rfc2136", "NOTAUTH", "mailauth-key", "battery.test"]),
            refused: (DnsFault::Rcode(REFUSED), Applies::Updates)
                => Expect::Credentials(&["rfc2136", "REFUSED", "mailauth-key", "battery.test"]),
            tsig_badtime: (DnsFault::BadTime, Applies::Updates)
                => Expect::Local(&["rfc2136", "BADTIME", "clock", "s ahead of ours", "battery.test"]),
        );
    };
}

rfc2136_faults!(rfc2136_bind, bind);
rfc2136_faults!(rfc2136_knot, knot);

// ---- Local files: a read-only zone file, a full disk, a key store the user cannot write ----

/// Run the command given after it with `disk/` (in the working directory) mounted read-only,
/// in a mount namespace of its own (so the mount ends with it; file modes do not stop root).
const MOUNT_READ_ONLY: &[&str] = &[
    "unshare",
    "--mount",
    "--",
    "sh",
    "-euc",
    "mount --bind -o ro disk disk; exec \"$@\"",
    "sh",
];

/// Run the command given after it with `disk/` on a full 256 KiB tmpfs (its files copied in,
/// the rest filled), in a mount namespace of its own; afterwards `disk/` holds what the command
/// left there, the filler removed.
const MOUNT_FULL_DISK: &[&str] = &[
    "unshare",
    "--mount",
    "--",
    "sh",
    "-euc",
    "cp -a disk .stage; mount -t tmpfs -o size=256k tmpfs disk; cp -a .stage/. disk/; \
     dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null || true; \
     set +e; \"$@\"; rc=$?; set -e; rm -f disk/filler; cp -a disk .after; umount disk; \
     rm -rf .stage disk/* disk/.[!.]*; cp -a .after/. disk/; rm -rf .after; exit $rc",
    "sh",
];

/// True when this process can make mount namespaces with tmpfs and read-only bind mounts
/// (root with util-linux `unshare`); otherwise reports why (failing the test in CI).
fn mount_namespaces() -> bool {
    let probe = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("unshare")
        .args(["--mount", "--", "sh", "-euc"])
        .arg("mount -t tmpfs -o size=16k tmpfs \"$1\"; mount --bind -o ro \"$1\" \"$1\"")
        .arg("sh")
        .arg(probe.path())
        .output()
        .is_ok_and(|out| out.status.success());
    if !ok {
        crate::support::skip_or_fail(
            "mount namespaces (`unshare --mount` as root, util-linux) for read-only and full-disk faults",
        );
    }
    ok
}

/// A directory with `disk/battery.test.zone` (SOA, NS, a foreign apex record) and the provider
/// that reads that file directly.
fn zone_dir() -> (
    tempfile::TempDir,
    mailauth_providers::zonefile::ZoneFileProvider,
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("disk")).unwrap();
    let path = dir.path().join("disk/battery.test.zone");
    std::fs::write(
        &path,
        "$ORIGIN battery.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n@ IN TXT \"foreign-verification=keep-me\"\n",
    )
    .unwrap();
    (
        dir,
        mailauth_providers::zonefile::ZoneFileProvider::new(path),
    )
}

fn zonefile_publish(wrap: &[&str], words: &'static [&'static str]) {
    if !mount_namespaces() {
        return;
    }
    let (dir, direct) = zone_dir();
    let target = Published {
        kind: "zonefile",
        url: String::new(),
        extra: "path = \"disk/battery.test.zone\"\n".into(),
        env: ("MAILAUTH_UNUSED", String::new()),
        confirm: Confirm::ZoneFile,
        wrap,
        secret: String::new(),
    };
    publish_through_fault(
        dir.path(),
        &target,
        &direct,
        Expect::Local(words),
        &|| {},
        &|| {},
    );
    // Nothing was left behind by the failed write (no temporary file beside the zone).
    let names: Vec<String> = std::fs::read_dir(dir.path().join("disk"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["battery.test.zone"], "left in disk/: {names:?}");
}

/// A zone file on a read-only file system: exit 2 naming the file and the reason; the file is
/// unchanged; the rerun on a writable one converges.
#[test]
fn zonefile_read_only_mount() {
    zonefile_publish(
        MOUNT_READ_ONLY,
        &[
            "zonefile",
            "disk/battery.test.zone",
            "Read-only file system",
        ],
    );
}

/// A zone file on a full disk: exit 2 naming the file and the reason; the file is unchanged
/// (the atomic write's temporary file is gone); the rerun with space converges.
#[test]
fn zonefile_full_disk() {
    zonefile_publish(
        MOUNT_FULL_DISK,
        &[
            "zonefile",
            "disk/battery.test.zone",
            "No space left on device",
        ],
    );
}

/// The files (not directories) of the key store under `dir/disk/keys`: (relative path, mode),
/// sorted.
fn key_files(dir: &std::path::Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    let mut stack = vec![dir.join("disk/keys")];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            out.push((path.strip_prefix(dir).unwrap().display().to_string(), mode));
        }
    }
    out.sort();
    out
}

/// `mailauth keygen` into `disk/keys` under `wrap` fails with exit 2 naming the key file and
/// `reason`, leaves no key and no temporary file, prints no key; run again without the fault it
/// writes the key (0600 in 0700 directories) and a second run refuses to overwrite it.
fn keygen_fault(wrap: &[&str], prepare: &dyn Fn(&std::path::Path), reason: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    if !mount_namespaces() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("disk")).unwrap();
    prepare(dir.path());
    let keygen = |wrap: &[&str]| {
        mailauth_under(wrap)
            .current_dir(dir.path())
            .args(["keygen", "battery.test", "-s", "s1", "-a", "ed25519"])
            .args(["--key-dir", "disk/keys"])
            .run()
    };
    let before = key_files(dir.path());
    let out = keygen(wrap);
    let text = format!("{}{}", out.stdout_str(), out.stderr_str());
    out.assert_exit(2);
    assert!(
        text.contains(reason) && text.contains("disk/keys"),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert_eq!(
        key_files(dir.path()),
        before,
        "the failed keygen left files: {text}"
    );
    let out = keygen(&[]);
    out.assert_exit(0);
    assert!(!out.stdout_str().contains("PRIVATE KEY"));
    assert_eq!(
        key_files(dir.path()),
        [("disk/keys/battery.test/s1.pem".to_owned(), 0o600)]
    );
    let mode = std::fs::metadata(dir.path().join("disk/keys/battery.test"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    keygen(&[]).assert_exit(2);
}

/// A key store on a full disk.
#[test]
fn key_store_full_disk() {
    keygen_fault(MOUNT_FULL_DISK, &|_| {}, "No space left on device");
}

/// A key store owned by another user than the one running mailauth (root's 0700 directory,
/// mailauth run as `nobody` through util-linux `setpriv`).
#[test]
fn key_store_wrong_ownership() {
    use std::os::unix::fs::PermissionsExt as _;
    let prepare = |dir: &std::path::Path| {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join("disk"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.join("disk/keys")).unwrap();
        std::fs::set_permissions(
            dir.join("disk/keys"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    };
    keygen_fault(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ],
        &prepare,
        "Permission denied",
    );
}

/// `chattr` on `dir` (`+i` makes it immutable, even for root); false when the file system
/// cannot (after reporting why, which fails the test in CI).
fn chattr(flag: &str, dir: &std::path::Path) -> bool {
    let ok = std::process::Command::new("chattr")
        .arg(flag)
        .arg(dir)
        .output()
        .is_ok_and(|out| out.status.success());
    if !ok {
        crate::support::skip_or_fail(&format!(
            "chattr {flag} {} (e2fsprogs, a file system with the immutable flag)",
            dir.display()
        ));
    }
    ok
}

/// The zone-file backend through the conformance battery's fault step: the zone's directory
/// made immutable (no file can be created or renamed there, even by root) while the change is
/// applied. A local error naming the file, the zone file unchanged, and the rerun converges.
#[test]
fn zonefile_unwritable_directory_battery() {
    let harness = crate::providers::zonefile_harness().unwrap();
    let dir = harness
        .guard
        .downcast_ref::<tempfile::TempDir>()
        .unwrap()
        .path()
        .to_owned();
    if !chattr("+i", &dir) || !chattr("-i", &dir) {
        return;
    }
    let outcome = survives_fault(
        harness.provider.as_ref(),
        harness.provider.as_ref(),
        &harness.zone,
        &|| assert!(chattr("+i", &dir)),
        &|| assert!(chattr("-i", &dir)),
    );
    // Never leave the directory immutable, whatever happened.
    chattr("-i", &dir);
    Expect::Local(&["zonefile", "battery.test.zone", "Operation not permitted"])
        .check(&outcome.unwrap());
}

/// Why: a DELETE whose answer was lost (the record deleted, the client timed out) was sent
/// again and answered "Record does not exist" (81044), a refusal: exit 1 for a change that was
/// made. Now it is not resent, and the re-read finds the record gone.
#[test]
fn cloudflare_delete_whose_answer_was_lost_is_not_resent() {
    let fault = HttpFault {
        method: "DELETE",
        path: CF_RECORDS,
        nth: 1,
        fault: Fault::LoseAnswer,
        expect: Expect::Survives,
    };
    http_battery(cloudflare, &fault);
}
