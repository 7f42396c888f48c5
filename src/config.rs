//! `mailauth.toml`: which domains mailauth manages, their SPF and DMARC policies, DKIM selectors,
//! and the providers that publish them. Credentials are never written in the file: a provider
//! names an environment variable or a file (which must not be readable by others).
//!
//! Errors give `file:line:col` and, for a misspelt key, the nearest known one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mailauth_base::DomainName;
use mailauth_base::suggest::did_you_mean;
use serde::Deserialize;
use toml::Spanned;

use crate::dmarc::build::Psd;
use crate::dmarc::{AlignmentMode, Policy, ReportUri};
use crate::keys::KeySpec;
use crate::spf::Qualifier;

/// Why the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct ConfigError {
    /// `file:line:col`, or the file.
    pub location: String,
    /// What is wrong, and the suggestion when there is one.
    pub reason: String,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The key store directory (default `keys`, relative to the file).
    #[serde(default)]
    pub key_dir: Option<PathBuf>,
    /// Providers by name.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Domains by name (checked and normalised: A-labels, lower case, no trailing dot).
    #[serde(default)]
    pub domains: BTreeMap<DomainName, DomainConfig>,
}

pub use mailauth_providers::registry::{ProviderConfig, ProviderKind};

/// One domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// The provider's name in `[providers]` (with its place in the file, for errors).
    pub provider: Spanned<String>,
    /// TTL of the records mailauth publishes.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The SPF policy.
    #[serde(default)]
    pub spf: Option<SpfConfig>,
    /// The DMARC policy.
    #[serde(default)]
    pub dmarc: Option<DmarcConfig>,
    /// DKIM selectors.
    #[serde(default)]
    pub dkim: Vec<DkimConfig>,
    /// Scheduled DKIM key rotation (`mailauth rotate`).
    #[serde(default)]
    pub rotation: Option<RotationConfig>,
    /// MTA-STS (RFC 8461): the policy file and the `_mta-sts` TXT record.
    #[serde(default)]
    pub mta_sts: Option<MtaStsConfig>,
    /// SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record.
    #[serde(default)]
    pub tls_rpt: Option<TlsRptConfig>,
    /// DANE for SMTP (RFC 7672): TLSA records at `_PORT._tcp.MX`.
    #[serde(default)]
    pub dane: Option<DaneConfig>,
}

/// The rotation policy of a domain. Durations are seconds or BIND units ("90d", "12h").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationConfig {
    /// Key kinds signed side by side, each rotated on its own (default rsa-2048 and ed25519).
    #[serde(default = "default_rotation_algorithms")]
    pub algorithms: Vec<KeySpec>,
    /// Replace a key this long after it became active (default 90d).
    #[serde(default = "default_rotate_every")]
    pub rotate_every: Seconds,
    /// Wait at least this long after publishing before switching (default: the TTL).
    #[serde(default)]
    pub propagation: Option<Seconds>,
    /// Keep the old key published this long after the switch (default 7d).
    #[serde(default = "default_overlap")]
    pub overlap: Seconds,
    /// Publish the revoked (empty p=) record this long before deleting it (default 7d).
    #[serde(default = "default_overlap")]
    pub revoked_for: Seconds,
    /// Signer configurations to write on each switch: opendkim, rspamd, exim.
    #[serde(default)]
    pub exports: Vec<crate::export::ExportKind>,
    /// Where the exports go (relative to the config file; default "exports").
    #[serde(default)]
    pub export_dir: Option<PathBuf>,
    /// A command run after the exports are written (e.g. "systemctl reload opendkim").
    #[serde(default)]
    pub on_switch: Option<String>,
}

fn default_rotation_algorithms() -> Vec<KeySpec> {
    vec![KeySpec::Rsa2048, KeySpec::Ed25519]
}

fn default_rotate_every() -> Seconds {
    Seconds(90 * 86_400)
}

fn default_overlap() -> Seconds {
    Seconds(7 * 86_400)
}

/// A duration, written in the file as seconds (`3600`, `"3600"`) or BIND units (`"90d"`,
/// `"1h30m"`, `"2w"`), parsed when the file is read so a bad value is reported at its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(u64);

impl Seconds {
    /// The duration in seconds.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Seconds, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Seconds(n)),
            Raw::Text(text) => mailauth_base::zone::parse_ttl(&text)
                .map(|n| Seconds(u64::from(n)))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{text:?} is not a duration (e.g. 90d, 12h, 1h30m, 3600)"
                    ))
                }),
        }
    }
}

fn default_ttl() -> u32 {
    3600
}

/// SPF policy: what may send.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SpfConfig {
    /// The domain's MX hosts may send.
    #[serde(default)]
    pub mx: bool,
    /// The domain's A/AAAA addresses may send.
    #[serde(default)]
    pub a: bool,
    /// IPv4 addresses or networks.
    #[serde(default)]
    pub ip4: Vec<String>,
    /// IPv6 addresses or networks.
    #[serde(default)]
    pub ip6: Vec<String>,
    /// Domains whose SPF records are included.
    #[serde(default)]
    pub include: Vec<String>,
    /// For everyone else: "-" (fail), "~" (softfail) or "?" (neutral).
    #[serde(default)]
    pub all: SpfAll,
}

/// The qualifier of the closing `all` (RFC 7208 §5.1): who else may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum SpfAll {
    /// `-all`: everyone else fails (the default).
    #[default]
    #[serde(rename = "-")]
    Fail,
    /// `~all`: everyone else soft-fails.
    #[serde(rename = "~")]
    SoftFail,
    /// `?all`: no statement about everyone else.
    #[serde(rename = "?")]
    Neutral,
}

impl SpfAll {
    /// The SPF qualifier.
    pub fn qualifier(self) -> Qualifier {
        match self {
            SpfAll::Fail => Qualifier::Fail,
            SpfAll::SoftFail => Qualifier::SoftFail,
            SpfAll::Neutral => Qualifier::Neutral,
        }
    }
}

/// An alignment mode as written in the file: `"r"` (relaxed) or `"s"` (strict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Alignment {
    /// `r`.
    #[serde(rename = "r")]
    Relaxed,
    /// `s`.
    #[serde(rename = "s")]
    Strict,
}

impl From<Alignment> for AlignmentMode {
    fn from(mode: Alignment) -> AlignmentMode {
        match mode {
            Alignment::Relaxed => AlignmentMode::Relaxed,
            Alignment::Strict => AlignmentMode::Strict,
        }
    }
}

fn report_uris<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    tag: &'static str,
) -> Result<Vec<ReportUri>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    let mut uris = Vec::new();
    for text in texts {
        uris.extend(crate::dmarc::parse::uris(tag, &text).map_err(serde::de::Error::custom)?);
    }
    Ok(uris)
}

fn rua<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ReportUri>, D::Error> {
    report_uris(d, "rua")
}

fn ruf<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ReportUri>, D::Error> {
    report_uris(d, "ruf")
}

/// DMARC policy, written as an RFC 9989 record (§4.7).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmarcConfig {
    /// none, quarantine or reject.
    pub policy: Policy,
    /// Subdomain policy.
    #[serde(default)]
    pub subdomain_policy: Option<Policy>,
    /// Policy for non-existent subdomains (`np=`): none, quarantine or reject.
    #[serde(default)]
    pub np: Option<Policy>,
    /// Whether the domain is a public suffix domain (`psd=`): "y", "n" or "u".
    #[serde(default)]
    pub psd: Option<Psd>,
    /// Testing (`t=`): true asks receivers to apply one level below the policy.
    #[serde(default)]
    pub testing: Option<bool>,
    /// Aggregate report URIs (`mailto:` with an optional `!SIZE`).
    #[serde(default, deserialize_with = "rua")]
    pub rua: Vec<ReportUri>,
    /// Failure report URIs.
    #[serde(default, deserialize_with = "ruf")]
    pub ruf: Vec<ReportUri>,
    /// Percentage of failing mail the policy applies to (0 to 100). RFC 9989 removed `pct=`;
    /// only receivers still following RFC 7489 read it.
    #[serde(default, deserialize_with = "percent")]
    pub pct: Option<u8>,
    /// DKIM alignment, "r" or "s".
    #[serde(default)]
    pub adkim: Option<Alignment>,
    /// SPF alignment, "r" or "s".
    #[serde(default)]
    pub aspf: Option<Alignment>,
}

fn percent<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u8>, D::Error> {
    let n = u64::deserialize(deserializer)?;
    match u8::try_from(n) {
        Ok(p) if p <= 100 => Ok(Some(p)),
        _ => Err(serde::de::Error::custom(format!(
            "pct = {n}: a percentage is 0 to 100"
        ))),
    }
}

/// One DKIM selector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// The selector (one or more DNS labels, RFC 6376 §3.1).
    #[serde(deserialize_with = "selector")]
    pub selector: String,
    /// rsa-2048 (default), rsa-3072, rsa-4096 or ed25519.
    #[serde(default = "default_algorithm")]
    pub algorithm: KeySpec,
}

fn default_algorithm() -> KeySpec {
    KeySpec::Rsa2048
}

fn selector<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    // A selector is a sub-domain (RFC 6376 §3.1): the same label rules as a domain name, without
    // the top-level-label rule (`2026` is a fine selector).
    DomainName::parse(&format!("{text}.selector"))
        .map(|_| text.to_ascii_lowercase())
        .map_err(|_| {
            serde::de::Error::custom(format!(
                "selector {text:?} is not a DNS name: letters, digits, '-' and '_' in labels of 1 to 63 octets"
            ))
        })
}

/// The MTA-STS policy mode of `[domains."D".mta_sts]` (RFC 8461 §5): `enforce`, `testing` or
/// `none`. The default is `testing`: senders report failures (with TLS-RPT) but still deliver,
/// the safe first step before `enforce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StsMode {
    /// Senders refuse to deliver when TLS to a listed MX cannot be verified.
    Enforce,
    /// Senders deliver anyway and report the failure (the default).
    #[default]
    Testing,
    /// The domain withdraws its policy.
    None,
}

impl StsMode {
    /// The word in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        }
    }
}

/// The largest `max_age` RFC 8461 §3.2 allows: 31557600 seconds (about a year).
pub const MTA_STS_MAX_AGE_LIMIT: u64 = 31_557_600;

/// `[domains."D".mta_sts]`: the policy `mailauth mta-sts policy` writes and the `_mta-sts` TXT
/// record `plan`/`publish` keep in step with it.
///
/// The policy's `id` is kept in `mailauth-mta-sts.D.json` beside the configuration file (not in
/// the web root, where it would be served); `publish` reads it for the TXT record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtaStsConfig {
    /// enforce, testing (default) or none.
    #[serde(default)]
    pub mode: StsMode,
    /// How long senders may cache the policy (default 1 week; at most 31557600 s, RFC 8461 §3.2).
    #[serde(default = "default_sts_max_age", deserialize_with = "sts_max_age")]
    pub max_age: Seconds,
    /// MX patterns the policy lists (`mail.example.com`, `*.example.net`: a `*.` matches one
    /// label, RFC 8461 §4.1). Default: the domain's MX hosts, read through DNS when the policy
    /// is built.
    #[serde(default, deserialize_with = "mx_patterns")]
    pub mx: Option<Vec<String>>,
    /// The web root of `https://mta-sts.D/`: the policy is written to
    /// `POLICY_DIR/.well-known/mta-sts.txt` (relative to the configuration file).
    #[serde(default)]
    pub policy_dir: Option<PathBuf>,
    /// The HTTPS port `publish` fetches the served policy from (default 443; another port only
    /// for private deployments and tests).
    #[serde(default = "default_https_port")]
    pub https_port: u16,
    /// A PEM file of extra trusted roots for that fetch (private deployments and tests; the
    /// system's WebPKI roots stay trusted). Relative to the configuration file.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

fn default_sts_max_age() -> Seconds {
    Seconds(7 * 86_400)
}

fn default_https_port() -> u16 {
    443
}

fn sts_max_age<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Seconds, D::Error> {
    let age = Seconds::deserialize(deserializer)?;
    if age.get() > MTA_STS_MAX_AGE_LIMIT {
        return Err(serde::de::Error::custom(format!(
            "max_age = {}: at most {MTA_STS_MAX_AGE_LIMIT} seconds (RFC 8461 §3.2)",
            age.get()
        )));
    }
    Ok(age)
}

fn mx_patterns<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    if texts.is_empty() {
        return Err(serde::de::Error::custom(
            "mx = []: list at least one MX host or pattern, or leave mx out to use the domain's MX hosts",
        ));
    }
    texts
        .iter()
        .map(|text| mx_pattern(text).map_err(serde::de::Error::custom))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An MTA-STS `mx` pattern (RFC 8461 §3.2): a host name, optionally starting with `*.`;
/// returned lower case without a trailing dot.
pub fn mx_pattern(text: &str) -> Result<String, String> {
    let (wildcard, host) = match text.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", text),
    };
    match DomainName::parse(host) {
        Ok(name) if !host.contains('*') && name.label_count() >= 2 => {
            Ok(format!("{wildcard}{name}"))
        }
        _ => Err(format!(
            "mx pattern {text:?} is not a host name (a leading \"*.\" may stand for exactly one label, RFC 8461 §4.1)"
        )),
    }
}

/// `[domains."D".tls_rpt]`: where sending servers send their TLS reports (RFC 8460 §3).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsRptConfig {
    /// Report URIs, `mailto:ADDRESS` or `https://...` (RFC 8460 §3: no other schemes).
    #[serde(deserialize_with = "tls_rpt_rua")]
    pub rua: Vec<String>,
}

fn tls_rpt_rua<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    if texts.is_empty() {
        return Err(serde::de::Error::custom(
            "rua = []: give at least one mailto: or https: URI (RFC 8460 §3)",
        ));
    }
    for text in &texts {
        tls_rpt_uri(text).map_err(serde::de::Error::custom)?;
    }
    Ok(texts)
}

/// Check one TLS-RPT `rua` URI (RFC 8460 §3): `mailto:` with an address, or `https://` with a
/// host; no blanks, commas or semicolons, which would split the record.
pub fn tls_rpt_uri(text: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("rua {text:?}: {why} (RFC 8460 §3)"));
    if text.is_empty()
        || text
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b',' || b == b';')
    {
        return bad("a URI with no blanks, commas or semicolons is needed");
    }
    let lower = text.to_ascii_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:") {
        return match address.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
            _ => bad("mailto: needs an address, e.g. mailto:tlsrpt@example.com"),
        };
    }
    if let Some(rest) = lower.strip_prefix("https://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        return if host.is_empty() {
            bad("https: needs a host, e.g. https://reports.example.com/tlsrpt")
        } else {
            Ok(())
        };
    }
    bad("only mailto: and https: report URIs are allowed")
}

/// `[domains."D".dane]`: TLSA records (RFC 6698) at `_PORT._tcp.HOST` for the domain's MX hosts,
/// from certificate files or key files (one per current and next key, for a rollover).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "DaneFields")]
pub struct DaneConfig {
    /// The MX hosts (default: the domain's MX hosts, read through DNS at plan time). TLSA names
    /// must lie in the domain's own zone.
    pub hosts: Option<Vec<DomainName>>,
    /// The SMTP port (default 25).
    pub port: u16,
    /// Certificate usage: 3 DANE-EE (default) or 2 DANE-TA (RFC 7672 §3.1; 0 and 1 are not
    /// used for SMTP, §3.1.3).
    pub usage: u8,
    /// Selector: 1 SubjectPublicKeyInfo (default) or 0 the whole certificate.
    pub selector: u8,
    /// Matching type: 1 SHA-256 (default), 2 SHA-512 or 0 the full data.
    pub matching: u8,
    /// Certificate files (PEM chain or DER), relative to the configuration file. Usage 3 takes
    /// each file's first (end-entity) certificate, usage 2 its last (the trust anchor).
    pub certs: Vec<PathBuf>,
    /// Key files (PEM, private or public): their SubjectPublicKeyInfo (usage 3, selector 1).
    pub keys: Vec<PathBuf>,
    /// TTL of the TLSA records (default: the domain's `ttl`).
    pub ttl: Option<u32>,
}

/// The fields of `[domains."D".dane]` as written, before the rules across them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DaneFields {
    #[serde(default)]
    hosts: Option<Vec<DomainName>>,
    #[serde(default = "default_smtp_port")]
    port: u16,
    #[serde(default = "default_usage")]
    usage: u8,
    #[serde(default = "default_selector")]
    selector: u8,
    #[serde(default = "default_matching")]
    matching: u8,
    #[serde(default)]
    certs: Vec<PathBuf>,
    #[serde(default)]
    keys: Vec<PathBuf>,
    #[serde(default)]
    ttl: Option<u32>,
}

fn default_smtp_port() -> u16 {
    25
}

fn default_usage() -> u8 {
    3
}

fn default_selector() -> u8 {
    1
}

fn default_matching() -> u8 {
    1
}

impl TryFrom<DaneFields> for DaneConfig {
    type Error = String;

    fn try_from(f: DaneFields) -> Result<DaneConfig, String> {
        match f.usage {
            2 | 3 => {}
            0 | 1 => {
                return Err(format!(
                    "dane: usage = {}: SMTP clients ignore PKIX-TA (0) and PKIX-EE (1) (RFC 7672 §3.1.3); use 3 (DANE-EE) or 2 (DANE-TA)",
                    f.usage
                ));
            }
            u => return Err(format!("dane: usage = {u}: 3 (DANE-EE) or 2 (DANE-TA)")),
        }
        if f.selector > 1 {
            return Err(format!(
                "dane: selector = {}: 1 (public key) or 0 (whole certificate) (RFC 6698 §2.1.2)",
                f.selector
            ));
        }
        if f.matching > 2 {
            return Err(format!(
                "dane: matching = {}: 1 (SHA-256), 2 (SHA-512) or 0 (full) (RFC 6698 §2.1.3)",
                f.matching
            ));
        }
        if f.certs.is_empty() && f.keys.is_empty() {
            return Err(
                "dane: give certs = [\"cert.pem\", ...] or keys = [\"key.pem\", ...] (the current key, and the next one for a rollover)"
                    .to_owned(),
            );
        }
        if !f.keys.is_empty() && (f.usage, f.selector) != (3, 1) {
            return Err(format!(
                "dane: keys give a public key, which makes usage 3 selector 1 records; usage = {}, selector = {} need certs",
                f.usage, f.selector
            ));
        }
        if f.port == 0 {
            return Err("dane: port = 0 is not a port".to_owned());
        }
        Ok(DaneConfig {
            hosts: f.hosts,
            port: f.port,
            usage: f.usage,
            selector: f.selector,
            matching: f.matching,
            certs: f.certs,
            keys: f.keys,
            ttl: f.ttl,
        })
    }
}

impl Config {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            location: path.display().to_string(),
            reason: format!(
                "cannot read the configuration: {e} (create one with `mailauth init DOMAIN`)"
            ),
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parse configuration text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            location: location(text, source, e.span()),
            reason: with_suggestion(e.message()),
        })?;
        config.validate(text, source)?;
        Ok(config)
    }

    /// The rules across fields that serde cannot state; each field's own syntax was checked while
    /// parsing, with its place in the file.
    fn validate(&self, text: &str, source: &str) -> Result<(), ConfigError> {
        for (name, provider) in &self.providers {
            if provider.kind == ProviderKind::Zonefile && provider.path.is_none() {
                return Err(ConfigError {
                    location: source.to_owned(),
                    reason: format!("provider {name}: kind zonefile needs path = \"FILE.zone\""),
                });
            }
        }
        for (domain, config) in &self.domains {
            let provider = config.provider.get_ref();
            if !self.providers.contains_key(provider) {
                let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
                return Err(ConfigError {
                    location: location(text, source, Some(config.provider.span())),
                    reason: format!(
                        "domain {domain}: provider {provider:?} is not defined under [providers]{}",
                        did_you_mean(provider, &known)
                    ),
                });
            }
        }
        Ok(())
    }

    /// The key store directory, relative to `config_dir`.
    pub fn key_dir(&self, config_dir: &Path) -> PathBuf {
        config_dir.join(
            self.key_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("keys")),
        )
    }
}

/// `source:line:col` where `span` starts (columns count characters), or `source` alone.
fn location(text: &str, source: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return source.to_owned();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = before[line_start..].chars().count() + 1;
    format!("{source}:{line}:{col}")
}

/// serde's "unknown field `x`, expected one of `a`, `b`" plus "did you mean `a`?".
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    format!("{message}{}", did_you_mean(field, &known))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[providers.local]
kind = "zonefile"
path = "example.com.zone"

[domains."example.com"]
provider = "local"
spf = { mx = true, all = "-" }
dmarc = { policy = "quarantine", rua = ["mailto:dmarc@example.com"] }
dkim = [{ selector = "s1" }, { selector = "s2", algorithm = "ed25519" }]
"#;

    #[test]
    fn parses_and_defaults() {
        let config = Config::parse(GOOD, "m.toml").unwrap();
        let domain = &config.domains["example.com"];
        assert_eq!(domain.ttl, 3600);
        assert_eq!(domain.dkim[0].algorithm, KeySpec::Rsa2048);
        assert_eq!(domain.spf.as_ref().unwrap().all, SpfAll::Fail);
    }

    /// Why: errors found after parsing (bad `all`, algorithm, duration) lost their file:line:col.
    #[test]
    fn config_errors_after_parsing_keep_their_line_and_column() {
        let cases = [
            ("all = \"-\"", "all = \"+\"", "m.toml:8:"),
            (
                "algorithm = \"ed25519\"",
                "algorithm = \"ed448\"",
                "m.toml:10:",
            ),
            (
                "provider = \"local\"",
                "provider = \"nowhere\"",
                "m.toml:7:",
            ),
            ("policy = \"quarantine\"", "policy = \"block\"", "m.toml:9:"),
            (
                "policy = \"quarantine\"",
                "policy = \"quarantine\", psd = \"yes\"",
                "m.toml:9:",
            ),
            (
                "policy = \"quarantine\"",
                "policy = \"quarantine\", np = \"deny\"",
                "m.toml:9:",
            ),
            (
                "policy = \"quarantine\"",
                "policy = \"quarantine\", testing = \"y\"",
                "m.toml:9:",
            ),
            (
                "rua = [\"mailto:dmarc@example.com\"]",
                "rua = [\"https://x\"]",
                "m.toml:9:",
            ),
        ];
        for (from, to, at) in cases {
            let bad = GOOD.replace(from, to);
            assert_ne!(bad, GOOD, "{from}");
            let err = Config::parse(&bad, "m.toml").unwrap_err();
            assert!(err.location.starts_with(at), "{to}: {err}");
        }
        let rotation = format!("{GOOD}rotation = {{ rotate_every = \"90 days\" }}\n");
        let err = Config::parse(&rotation, "m.toml").unwrap_err();
        assert!(err.location.starts_with("m.toml:11:"), "{err}");
        assert!(err.reason.contains("not a duration"), "{err}");
        let ok = format!("{GOOD}rotation = {{ rotate_every = \"30d\", overlap = 3600 }}\n");
        let config = Config::parse(&ok, "m.toml").unwrap();
        let rotation = config.domains["example.com"].rotation.clone().unwrap();
        assert_eq!(rotation.rotate_every.get(), 30 * 86_400);
        assert_eq!(rotation.overlap.get(), 3600);
    }

    /// RFC 9989 §4.7's np=, psd= and t= are typed settings of `[domains."D".dmarc]`.
    #[test]
    fn rfc9989_4_7_dmarc_np_psd_testing_settings() {
        let text = GOOD.replace(
            "policy = \"quarantine\"",
            "policy = \"quarantine\", np = \"reject\", psd = \"n\", testing = true",
        );
        let config = Config::parse(&text, "m.toml").unwrap();
        let dmarc = config.domains["example.com"].dmarc.clone().unwrap();
        assert_eq!(dmarc.np, Some(Policy::Reject));
        assert_eq!(dmarc.psd, Some(Psd::No));
        assert_eq!(dmarc.testing, Some(true));
        let plain = Config::parse(GOOD, "m.toml").unwrap();
        let dmarc = plain.domains["example.com"].dmarc.clone().unwrap();
        assert_eq!((dmarc.np, dmarc.psd, dmarc.testing), (None, None, None));
    }

    #[test]
    fn domain_names_in_the_file_are_normalised_and_checked() {
        let upper = GOOD.replace("[domains.\"example.com\"]", "[domains.\"Example.COM.\"]");
        let config = Config::parse(&upper, "m.toml").unwrap();
        assert!(config.domains.contains_key("example.com"));
        let bad = GOOD.replace("[domains.\"example.com\"]", "[domains.\"../..\"]");
        let err = Config::parse(&bad, "m.toml").unwrap_err().to_string();
        assert!(err.contains("invalid domain name"), "{err}");
    }

    #[test]
    fn errors_locate_and_did_you_mean() {
        let bad = GOOD.replace("policy = \"quarantine\"", "polcy = \"quarantine\"");
        let err = Config::parse(&bad, "m.toml").unwrap_err();
        assert!(err.location.starts_with("m.toml:9:"), "{err}");
        assert!(err.reason.contains("did you mean `policy`?"), "{err}");
        let bad = GOOD.replace("provider = \"local\"", "provider = \"locl\"");
        let err = Config::parse(&bad, "m.toml").unwrap_err().to_string();
        assert!(err.contains("did you mean `local`?"), "{err}");
        let bad = GOOD.replace("kind = \"zonefile\"", "kind = \"zonfile\"");
        assert!(
            Config::parse(&bad, "m.toml")
                .unwrap_err()
                .to_string()
                .contains("did you mean `zonefile`?")
        );
    }
}
