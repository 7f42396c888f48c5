//! Reading a Postfix configuration through the installed `postconf`: `-n` (main.cf as set),
//! `-d` (the defaults of this Postfix build), `-F` (master.cf's columns per service) and `-P`
//! (each service's `-o` overrides). Values stay unexpanded; the audit expands them per listener.
//! This module only runs postconf and parses its `name = value` output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{PostfixConfig, Service};
use crate::audit::AuditError;

/// `postconf` on PATH, else in /usr/sbin (often not on a non-root PATH).
pub fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("postconf"))
            .find(|path| path.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/postconf");
        sbin.is_file().then_some(sbin)
    })
}

/// Read the configuration in `config_dir` (made absolute: postconf -c requires it).
pub fn read(postconf: &Path, config_dir: &Path) -> Result<PostfixConfig, AuditError> {
    let dir = std::path::absolute(config_dir).map_err(|source| AuditError::Read {
        path: config_dir.to_path_buf(),
        source,
    })?;
    let explicit = pairs(&run(postconf, &dir, "-n")?);
    let defaults = pairs(&run(postconf, &dir, "-d")?);
    let fields = pairs(&run(postconf, &dir, "-F")?);
    let overrides = pairs(&run(postconf, &dir, "-P")?);
    Ok(PostfixConfig {
        source: format!("postconf -c {}", dir.display()),
        explicit: explicit.into_iter().collect(),
        defaults: defaults.into_iter().collect(),
        services: services(&fields, &overrides),
    })
}

/// Run `postconf -c DIR FLAG`, returning its standard output.
fn run(postconf: &Path, dir: &Path, flag: &str) -> Result<String, AuditError> {
    let command = format!("{} -c {} {flag}", postconf.display(), dir.display());
    let output = Command::new(postconf)
        .arg("-c")
        .arg(dir)
        .arg(flag)
        .output()
        .map_err(|err| AuditError::Command {
            command: command.clone(),
            detail: format!("cannot run it: {err}"),
        })?;
    if !output.status.success() {
        return Err(AuditError::Command {
            command,
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `name = value` lines, in order.
fn pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// Split `service/type/rest` (service names never hold `/`; the type never does either).
fn split_key(key: &str) -> Option<(&str, &str, &str)> {
    let mut parts = key.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// Services from `-F` (`smtp/inet/command = smtpd ...`) with their `-P` overrides.
fn services(fields: &[(String, String)], overrides: &[(String, String)]) -> Vec<Service> {
    let mut services: Vec<Service> = Vec::new();
    for (key, value) in fields {
        let Some((name, kind, "command")) = split_key(key) else {
            continue;
        };
        services.push(Service {
            name: name.to_owned(),
            kind: kind.to_owned(),
            command: value
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
            overrides: BTreeMap::new(),
        });
    }
    for (key, value) in overrides {
        let Some((name, kind, param)) = split_key(key) else {
            continue;
        };
        if let Some(service) = services
            .iter_mut()
            .find(|s| s.name == name && s.kind == kind)
        {
            service.overrides.insert(param.to_owned(), value.clone());
        }
    }
    services
}
