//! `mailauth.toml`: which domains mailauth manages, their SPF and DMARC policies, DKIM selectors,
//! and the providers that publish them. Credentials are never written in the file: a provider
//! names an environment variable or a file (which must not be readable by others).
//!
//! Errors give `file:line:col` and, for a misspelt key, the nearest known one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// Domains by name.
    #[serde(default)]
    pub domains: BTreeMap<String, DomainConfig>,
}

pub use mailauth_providers::registry::{ProviderConfig, ProviderKind};

/// One domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// The provider's name in `[providers]`.
    pub provider: String,
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
}

/// The rotation policy of a domain. Durations are seconds or BIND units ("90d", "12h").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationConfig {
    /// Key kinds signed side by side, each rotated on its own (default rsa-2048 and ed25519).
    #[serde(default = "default_rotation_algorithms")]
    pub algorithms: Vec<String>,
    /// Replace a key this long after it became active (default 90d).
    #[serde(default = "default_rotate_every")]
    pub rotate_every: String,
    /// Wait at least this long after publishing before switching (default: the TTL).
    #[serde(default)]
    pub propagation: Option<String>,
    /// Keep the old key published this long after the switch (default 7d).
    #[serde(default = "default_overlap")]
    pub overlap: String,
    /// Publish the revoked (empty p=) record this long before deleting it (default 7d).
    #[serde(default = "default_overlap")]
    pub revoked_for: String,
    /// Signer configurations to write on each switch: opendkim, rspamd, exim.
    #[serde(default)]
    pub exports: Vec<String>,
    /// Where the exports go (relative to the config file; default "exports").
    #[serde(default)]
    pub export_dir: Option<PathBuf>,
    /// A command run after the exports are written (e.g. "systemctl reload opendkim").
    #[serde(default)]
    pub on_switch: Option<String>,
}

fn default_rotation_algorithms() -> Vec<String> {
    vec!["rsa-2048".into(), "ed25519".into()]
}

fn default_rotate_every() -> String {
    "90d".into()
}

fn default_overlap() -> String {
    "7d".into()
}

/// A duration in seconds from "3600", "90d", "1h30m".
pub fn duration(text: &str) -> Option<u64> {
    mailauth_base::zone::parse_ttl(text).map(u64::from)
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
    #[serde(default = "default_all")]
    pub all: String,
}

fn default_all() -> String {
    "-".into()
}

/// DMARC policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmarcConfig {
    /// none, quarantine or reject.
    pub policy: String,
    /// Subdomain policy.
    #[serde(default)]
    pub subdomain_policy: Option<String>,
    /// Aggregate report URIs.
    #[serde(default)]
    pub rua: Vec<String>,
    /// Failure report URIs.
    #[serde(default)]
    pub ruf: Vec<String>,
    /// Percentage of failing mail the policy applies to.
    #[serde(default)]
    pub pct: Option<u8>,
    /// DKIM alignment, "r" or "s".
    #[serde(default)]
    pub adkim: Option<String>,
    /// SPF alignment, "r" or "s".
    #[serde(default)]
    pub aspf: Option<String>,
}

/// One DKIM selector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// The selector.
    pub selector: String,
    /// rsa-2048 (default), rsa-3072, rsa-4096 or ed25519.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
}

fn default_algorithm() -> String {
    "rsa-2048".into()
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
        let config: Config = toml::from_str(text).map_err(|e| {
            let location = match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
                    format!("{source}:{line}:{col}")
                }
                None => source.to_owned(),
            };
            ConfigError {
                location,
                reason: with_suggestion(e.message()),
            }
        })?;
        config.validate(source)?;
        Ok(config)
    }

    fn validate(&self, source: &str) -> Result<(), ConfigError> {
        let err = |reason: String| ConfigError {
            location: source.to_owned(),
            reason,
        };
        for (name, provider) in &self.providers {
            if provider.kind == ProviderKind::Zonefile && provider.path.is_none() {
                return Err(err(format!(
                    "provider {name}: kind zonefile needs path = \"FILE.zone\""
                )));
            }
        }
        for (domain, config) in &self.domains {
            if !self.providers.contains_key(&config.provider) {
                let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
                return Err(err(format!(
                    "domain {domain}: provider {:?} is not defined under [providers]{}",
                    config.provider,
                    suggest(&config.provider, &known)
                )));
            }
            if let Some(spf) = &config.spf
                && !["-", "~", "?"].contains(&spf.all.as_str())
            {
                return Err(err(format!(
                    "domain {domain}: spf.all must be \"-\", \"~\" or \"?\""
                )));
            }
            if let Some(rotation) = &config.rotation {
                for text in [
                    &rotation.rotate_every,
                    &rotation.overlap,
                    &rotation.revoked_for,
                ]
                .into_iter()
                .chain(rotation.propagation.as_ref())
                {
                    if duration(text).is_none() {
                        return Err(err(format!(
                            "domain {domain}: rotation: {text:?} is not a duration (e.g. 90d, 12h, 3600)"
                        )));
                    }
                }
                for algorithm in &rotation.algorithms {
                    if crate::keys::KeySpec::from_name(algorithm).is_none() {
                        return Err(err(format!(
                            "domain {domain}: rotation: algorithm {algorithm:?} is not rsa-2048, rsa-3072, rsa-4096 or ed25519"
                        )));
                    }
                }
                for export in &rotation.exports {
                    if !["opendkim", "rspamd", "exim"].contains(&export.as_str()) {
                        return Err(err(format!(
                            "domain {domain}: rotation: export {export:?} is not opendkim, rspamd or exim"
                        )));
                    }
                }
            }
            for dkim in &config.dkim {
                if crate::keys::KeySpec::from_name(&dkim.algorithm).is_none() {
                    return Err(err(format!(
                        "domain {domain}: selector {}: algorithm {:?} is not rsa-2048, rsa-3072, rsa-4096 or ed25519",
                        dkim.selector, dkim.algorithm
                    )));
                }
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

/// serde's "unknown field `x`, expected one of `a`, `b`" plus "did you mean `a`?".
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    format!("{message}{}", suggest(field, &known))
}

/// "; did you mean `x`?" for the nearest of `known` within edit distance 3.
fn suggest(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
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
        assert_eq!(domain.dkim[0].algorithm, "rsa-2048");
    }

    #[test]
    fn errors_locate_and_suggest() {
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
