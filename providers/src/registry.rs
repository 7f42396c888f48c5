//! The provider registry: a provider's configuration as written in `mailauth.toml`
//! ([`ProviderConfig`], with its `kind` a [`ProviderKind`] so an unknown kind is a parse error
//! with its line and column), and [`open`], the one place that turns a configuration into a
//! backend: one explicit `match` over the kinds, credentials read there (from an environment
//! variable or from a file that group and others cannot read, never from the configuration
//! itself). Nothing here prints or keeps a secret beyond handing it to the backend.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cloudflare::Cloudflare;
use crate::powerdns::PowerDns;
use crate::rfc2136::{Rfc2136, TsigKey};
use crate::zonefile::ZoneFileProvider;
use crate::{Provider, ProviderError};

/// The kinds of provider, as written in `kind = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// A BIND master file edited in place.
    Zonefile,
    /// Cloudflare API v4.
    Cloudflare,
    /// PowerDNS Authoritative HTTP API.
    Powerdns,
    /// RFC 2136 dynamic update with TSIG (BIND, Knot).
    Rfc2136,
}

impl ProviderKind {
    /// Every kind, in the order they are listed to users.
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::Zonefile,
        ProviderKind::Cloudflare,
        ProviderKind::Powerdns,
        ProviderKind::Rfc2136,
    ];

    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Zonefile => "zonefile",
            ProviderKind::Cloudflare => "cloudflare",
            ProviderKind::Powerdns => "powerdns",
            ProviderKind::Rfc2136 => "rfc2136",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProviderKind {
    /// A known kind, or an error listing the kinds and the nearest one (the TOML parser adds
    /// the line and column).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(unknown_kind(&text)))
    }
}

fn unknown_kind(text: &str) -> String {
    let known: Vec<String> = ProviderKind::ALL.iter().map(|k| format!("`{k}`")).collect();
    let names: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
    let nearest = mailauth_base::suggest::did_you_mean(text, &names);
    format!(
        "unknown provider kind `{text}`, expected one of {}{nearest}",
        known.join(", ")
    )
}

/// One provider in `[providers.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `zonefile`, `cloudflare`, `powerdns` or `rfc2136`.
    pub kind: ProviderKind,
    /// zonefile: the master file (relative to the config file).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The environment variable holding the API token or key.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A file holding the API token or key (mode 0600 or stricter; relative to the config file).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// API base URL (cloudflare, powerdns) or server address (rfc2136).
    #[serde(default)]
    pub url: Option<String>,
    /// rfc2136: the BIND key file with the TSIG key (mode 0600 or stricter).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// cloudflare, powerdns: seconds each HTTP request may take (default 30).
    #[serde(default)]
    pub timeout: Option<u64>,
}

impl ProviderConfig {
    /// The HTTP request timeout: `timeout` seconds, else [`crate::DEFAULT_HTTP_TIMEOUT`].
    fn http_timeout(&self) -> std::time::Duration {
        self.timeout
            .map_or(crate::DEFAULT_HTTP_TIMEOUT, std::time::Duration::from_secs)
    }
}

/// A backend ready to use.
#[derive(Debug)]
pub struct Opened {
    /// The backend.
    pub provider: Box<dyn Provider>,
    /// For a zonefile provider, the file (so records can be confirmed from it directly).
    pub zone_file: Option<PathBuf>,
}

impl Opened {
    fn remote(provider: impl Provider + 'static) -> Opened {
        Opened {
            provider: Box::new(provider),
            zone_file: None,
        }
    }
}

/// Build the backend `name` configured as `config`; relative paths are taken from `config_dir`
/// (the directory of the configuration file). Credentials are read here.
pub fn open(
    name: &str,
    config: &ProviderConfig,
    config_dir: &Path,
) -> Result<Opened, ProviderError> {
    let needs = |what: &str| local(name, format!("kind {} needs {what}", config.kind));
    match config.kind {
        ProviderKind::Zonefile => {
            let path = config_dir.join(
                config
                    .path
                    .as_ref()
                    .ok_or_else(|| needs("path = \"FILE.zone\""))?,
            );
            Ok(Opened {
                provider: Box::new(ZoneFileProvider::new(&path)),
                zone_file: Some(path),
            })
        }
        ProviderKind::Powerdns => {
            let url = config
                .url
                .as_deref()
                .ok_or_else(|| needs("url = \"https://HOST:8081\""))?;
            let key = credential(name, config, config_dir)?;
            Ok(Opened::remote(
                PowerDns::new(url, key)?.with_timeout(config.http_timeout()),
            ))
        }
        ProviderKind::Cloudflare => {
            let token = credential(name, config, config_dir)?;
            Ok(Opened::remote(
                Cloudflare::new(config.url.as_deref(), token)?.with_timeout(config.http_timeout()),
            ))
        }
        ProviderKind::Rfc2136 => {
            let url = config
                .url
                .as_deref()
                .ok_or_else(|| needs("url = \"IP:PORT\" of the primary server"))?;
            let server = server_addr(url).ok_or_else(|| {
                local(
                    name,
                    format!("url {url:?}: expected IP, IP:PORT, [IPV6] or [IPV6]:PORT"),
                )
            })?;
            let key_file = config_dir.join(
                config
                    .key_file
                    .as_ref()
                    .ok_or_else(|| needs("key_file = \"tsig.key\" (a BIND key file)"))?,
            );
            private_file(&key_file).map_err(|reason| local(name, reason))?;
            let key = TsigKey::from_bind_file(&key_file)?;
            let state = config_dir
                .join(".mailauth")
                .join(format!("rfc2136-{name}.json"));
            Ok(Opened::remote(Rfc2136::new(server, key, state)))
        }
    }
}

fn local(name: &str, reason: String) -> ProviderError {
    ProviderError::Local {
        provider: name.to_owned(),
        reason,
    }
}

/// A name server address: `IP`, `IP:PORT`, `[IPV6]` or `[IPV6]:PORT` (port 53 by default).
fn server_addr(text: &str) -> Option<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let ip = inner.parse::<Ipv6Addr>().ok()?;
    Some(SocketAddr::new(IpAddr::V6(ip), 53))
}

/// A provider's credential: from its environment variable, or from its file, which must not be
/// readable by group or others.
pub fn credential(
    name: &str,
    config: &ProviderConfig,
    config_dir: &Path,
) -> Result<String, ProviderError> {
    let err = |reason: String| ProviderError::Credentials {
        provider: name.to_owned(),
        reason,
    };
    if let Some(var) = &config.token_env {
        return std::env::var(var)
            .map_err(|_| err(format!("the environment variable {var} is not set")));
    }
    if let Some(file) = &config.token_file {
        let file = config_dir.join(file);
        private_file(&file).map_err(err)?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| err(format!("cannot read {}: {e}", file.display())))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(err(format!("{} is empty", file.display())));
        }
        return Ok(token.to_owned());
    }
    Err(err(
        "no credential: set token_env = \"VARIABLE\" or token_file = \"PATH\"".into(),
    ))
}

/// Check that a secret file exists and is not readable by group or others; the reason names
/// the file and the `chmod` to run.
fn private_file(file: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{} is readable by others; run chmod 600 {}",
            file.display(),
            file.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: ProviderKind) -> ProviderConfig {
        ProviderConfig {
            kind,
            path: None,
            token_env: None,
            token_file: None,
            url: None,
            key_file: None,
            timeout: None,
        }
    }

    #[test]
    fn credential_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "secret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let provider = ProviderConfig {
            token_file: Some("token".into()),
            ..config(ProviderKind::Cloudflare)
        };
        let err = credential("cf", &provider, dir.path()).unwrap_err();
        assert!(matches!(err, ProviderError::Credentials { .. }));
        let err = err.to_string();
        assert!(
            err.contains("chmod 600") && !err.contains("secret"),
            "{err}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(credential("cf", &provider, dir.path()).unwrap(), "secret");
        let env = ProviderConfig {
            token_file: None,
            token_env: Some("MAILAUTH_TEST_UNSET_TOKEN".into()),
            ..provider
        };
        assert!(
            credential("cf", &env, dir.path())
                .unwrap_err()
                .to_string()
                .contains("MAILAUTH_TEST_UNSET_TOKEN")
        );
    }

    #[test]
    fn unknown_kind_is_a_parse_error_with_a_suggestion() {
        #[derive(Debug, Deserialize)]
        struct Wrapper {
            #[allow(dead_code)]
            kind: ProviderKind,
        }
        let err = serde_json::from_str::<Wrapper>(r#"{"kind": "zonfile"}"#).unwrap_err();
        assert!(
            err.to_string().contains("did you mean `zonefile`?"),
            "{err}"
        );
        let ok: Wrapper = serde_json::from_str(r#"{"kind": "rfc2136"}"#).unwrap();
        assert_eq!(ok.kind, ProviderKind::Rfc2136);
    }

    #[test]
    fn missing_settings_are_local_errors_naming_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, fix) in [
            (ProviderKind::Zonefile, "path ="),
            (ProviderKind::Powerdns, "url ="),
            (ProviderKind::Rfc2136, "url ="),
        ] {
            let err = open("p", &config(kind), dir.path()).unwrap_err();
            assert!(matches!(err, ProviderError::Local { .. }), "{err}");
            assert!(err.to_string().contains(fix), "{err}");
        }
        assert_eq!(server_addr("192.0.2.1"), "192.0.2.1:53".parse().ok());
        assert_eq!(server_addr("[::1]:5353"), "[::1]:5353".parse().ok());
        assert_eq!(server_addr("ns1.example.com"), None);
    }
}
