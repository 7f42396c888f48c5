//! Configuration and key store → the records mailauth wants published for a domain: the apex
//! `v=spf1` value, `_dmarc.DOMAIN` (with RFC 9989's `np=`, `psd=`, `t=` when configured), each
//! configured selector's `_domainkey` record, and the transport-security records (issue 16):
//! `_mta-sts.DOMAIN` (RFC 8461 §3.1, its id from the state `mailauth mta-sts policy` keeps),
//! `_smtp._tls.DOMAIN` (RFC 8460 §3) and the TLSA sets at `_PORT._tcp.MX` (RFC 7672 §2.2).
//!
//! Nothing here reads DNS: where a section defaults to the domain's MX hosts, the caller looks
//! them up and passes them in [`TransportInputs`].

use std::path::{Path, PathBuf};

use mailauth_providers::{Desired, Ownership, RecordType};
use serde::{Deserialize, Serialize};

use mailauth_base::DomainName;

use crate::config::{DaneConfig, DomainConfig, MtaStsConfig, StsMode};
use crate::dkim::build as dkim_build;
use crate::dmarc::{
    AlignmentMode, DmarcRecord, DmarcSyntaxError, build as dmarc_build, parse as dmarc_parse,
};
use crate::keys::{KeyError, KeySpec, KeyStore};
use crate::spf::build as spf_build;
use crate::transport::{dane, mta_sts, tls_rpt};

/// Why the records of a domain cannot be composed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The SPF policy does not make a valid record.
    #[error("domain {domain}: spf: {source}")]
    Spf {
        /// The domain.
        domain: String,
        /// What the SPF builder refused.
        source: crate::spf::build::BadTerm,
    },
    /// The DMARC policy does not make a valid record.
    #[error("domain {domain}: dmarc: {source}")]
    Dmarc {
        /// The domain.
        domain: String,
        /// What the DMARC parser refused in the built record.
        source: crate::dmarc::DmarcSyntaxError,
    },
    /// A configured selector has no key in the key store.
    #[error(
        "domain {domain}: selector {selector}: {source} (create it with `mailauth keygen {domain} --selector {selector} --algorithm {algorithm}`)"
    )]
    MissingKey {
        /// The domain.
        domain: String,
        /// The selector.
        selector: String,
        /// The configured key kind.
        algorithm: KeySpec,
        /// Why it could not be read.
        source: KeyError,
    },
    /// A section defaults to the domain's MX hosts, and the domain has none.
    #[error(
        "domain {domain}: {section}: the domain has no MX hosts to default to; list them in the section ({field} = [...])"
    )]
    NoMxHosts {
        /// The domain.
        domain: String,
        /// `mta_sts` or `dane`.
        section: &'static str,
        /// The field that lists them instead: `mx` or `hosts`.
        field: &'static str,
    },
    /// A TLSA name lies outside the domain's zone, so the domain's provider cannot hold it.
    #[error(
        "domain {domain}: dane: the TLSA record {name} for MX host {host} is outside the zone {domain}: it cannot be published through this domain's provider; configure it under the [domains.\"ZONE\".dane] of the zone that holds {host} (hosts = [\"{host}\"])"
    )]
    TlsaOutsideZone {
        /// The domain.
        domain: String,
        /// The MX host.
        host: String,
        /// The TLSA owner name.
        name: String,
    },
    /// A certificate or key file of the dane section cannot be used.
    #[error("domain {domain}: dane: {}: {source}", path.display())]
    DaneFile {
        /// The domain.
        domain: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: dane::DaneError,
    },
    /// A certificate file holds no certificate.
    #[error("domain {domain}: dane: {}: no certificate in the file", path.display())]
    NoCertificate {
        /// The domain.
        domain: String,
        /// The file.
        path: PathBuf,
    },
    /// The TLS-RPT section does not make a valid record.
    #[error("domain {domain}: tls_rpt: {source}")]
    TlsRpt {
        /// The domain.
        domain: String,
        /// What the TLS-RPT builder refused.
        source: tls_rpt::TlsRptError,
    },
    /// `mailauth mta-sts policy` has not been run: there is no policy id to publish.
    #[error(
        "domain {domain}: mta_sts: no policy id yet ({} is missing): run `mailauth mta-sts policy --domain {domain}`, deploy the policy file, then plan again", state.display()
    )]
    NoStsPolicy {
        /// The domain.
        domain: String,
        /// The id state file looked for.
        state: PathBuf,
    },
    /// The MTA-STS id state file cannot be read or written.
    #[error("{}: {reason}", path.display())]
    StsState {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The policy the configuration gives now is not the one `mailauth mta-sts policy` wrote:
    /// publishing the old id would leave senders on a policy that is no longer meant.
    #[error(
        "domain {domain}: mta_sts: the policy from the configuration differs from the one written with id {id}: run `mailauth mta-sts policy --domain {domain}` (it gives a new id), deploy the policy file, then plan again"
    )]
    StsPolicyChanged {
        /// The domain.
        domain: String,
        /// The id of the policy last written.
        id: String,
    },
}

/// What the transport-security records need besides the domain's configuration.
#[derive(Debug, Clone, Default)]
pub struct TransportInputs {
    /// The configuration file's directory: relative paths in the sections, and the MTA-STS id
    /// state (see [`sts_state_path`]), are taken from it.
    pub config_dir: PathBuf,
    /// The domain's MX hosts (lower case, no trailing dot), looked up by the caller when
    /// [`needs_mx_hosts`] says a section defaults to them; `None` when not looked up.
    pub mx_hosts: Option<Vec<String>>,
    /// TLSA sets a rollover in progress owns (`mailauth rotate`, RFC 7671 §8.1): owner name →
    /// canonical values (current, next and retiring digests). At these names they replace what
    /// the `dane` section gives, so `publish` never removes a next or retiring digest that
    /// `rotate` published, nor puts back one it retired.
    pub tlsa_rollovers: std::collections::BTreeMap<String, Vec<String>>,
}

/// Does a section of `config` default to the domain's MX hosts (`mta_sts` without `mx`, `dane`
/// without `hosts`)? Then the caller looks them up for [`TransportInputs::mx_hosts`].
pub fn needs_mx_hosts(config: &DomainConfig) -> bool {
    config.mta_sts.as_ref().is_some_and(|s| s.mx.is_none())
        || config.dane.as_ref().is_some_and(|d| d.hosts.is_none())
}

/// The MTA-STS id state kept beside the configuration file: `mailauth-mta-sts.DOMAIN.json`. It is
/// not put in the web root, where it would be served beside the policy.
pub fn sts_state_path(config_dir: &Path, domain: &str) -> PathBuf {
    config_dir.join(format!("mailauth-mta-sts.{domain}.json"))
}

/// What `mailauth mta-sts policy` last wrote for a domain: the id and the exact policy text, so
/// the id changes exactly when the text does (RFC 8461 §3.1) and `publish` can compare the
/// served file with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsPolicyState {
    /// The policy id (1–32 letters and digits).
    pub id: String,
    /// The policy file's text, as written.
    pub policy: String,
    /// When it was written (UNIX seconds).
    pub written: u64,
}

impl StsPolicyState {
    /// Read the state at `path`; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<StsPolicyState>, RecordsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(RecordsError::StsState {
                    path: path.to_owned(),
                    reason: format!("cannot read the MTA-STS id state: {e}"),
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RecordsError::StsState {
                path: path.to_owned(),
                reason: format!(
                    "not an MTA-STS id state ({e}); remove it and run `mailauth mta-sts policy` again"
                ),
            })
    }

    /// Write the state to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), RecordsError> {
        let failed = |reason: String| RecordsError::StsState {
            path: path.to_owned(),
            reason,
        };
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| failed(format!("cannot encode: {e}")))?;
        text.push('\n');
        mailauth_base::atomic::write(
            path,
            text.as_bytes(),
            mailauth_base::atomic::WriteOptions::PUBLIC,
        )
        .map_err(|e| failed(format!("cannot write the MTA-STS id state: {e}")))
    }
}

/// The MTA-STS policy `[domains."D".mta_sts]` describes (RFC 8461 §3.2): its mode, its `mx`
/// patterns (or the domain's MX hosts) and `max_age`.
pub fn sts_policy(
    domain: &str,
    sts: &MtaStsConfig,
    mx_hosts: Option<&[String]>,
) -> Result<mta_sts::Policy, RecordsError> {
    let mx = match (&sts.mx, mx_hosts) {
        (Some(patterns), _) => patterns.clone(),
        (None, Some(hosts)) if !hosts.is_empty() => hosts.to_vec(),
        (None, _) => {
            return Err(RecordsError::NoMxHosts {
                domain: domain.to_owned(),
                section: "mta_sts",
                field: "mx",
            });
        }
    };
    Ok(mta_sts::Policy {
        mode: match sts.mode {
            StsMode::Enforce => mta_sts::Mode::Enforce,
            StsMode::Testing => mta_sts::Mode::Testing,
            StsMode::None => mta_sts::Mode::None,
        },
        mx,
        max_age: sts.max_age.get(),
        extensions: Vec::new(),
    })
}

/// The transport-security records of `domain`: `_mta-sts`, `_smtp._tls` and TLSA.
pub fn transport_desired(
    domain: &DomainName,
    config: &DomainConfig,
    inputs: &TransportInputs,
) -> Result<Vec<Desired>, RecordsError> {
    let mut out = Vec::new();
    if let Some(sts) = &config.mta_sts {
        let id = current_sts_id(domain, sts, inputs)?;
        out.push(Desired::txt(
            &format!("_mta-sts.{domain}"),
            config.ttl,
            Some(mta_sts::build_record(&id)),
            Ownership::WholeName,
        ));
    }
    if let Some(rpt) = &config.tls_rpt {
        let value = tls_rpt::build_record(&rpt.rua).map_err(|source| RecordsError::TlsRpt {
            domain: domain.to_string(),
            source,
        })?;
        out.push(Desired::txt(
            &format!("_smtp._tls.{domain}"),
            config.ttl,
            Some(value),
            Ownership::WholeName,
        ));
    }
    if let Some(section) = &config.dane {
        out.extend(tlsa_desired(domain, config.ttl, section, inputs)?);
    }
    let ttl = config
        .dane
        .as_ref()
        .and_then(|d| d.ttl)
        .unwrap_or(config.ttl);
    for (name, values) in inputs.tlsa_rollovers.iter().filter(|(_, v)| !v.is_empty()) {
        out.retain(|d| !(d.rtype == RecordType::Tlsa && d.name == *name));
        out.extend(values.iter().map(|value| Desired {
            name: name.clone(),
            rtype: RecordType::Tlsa,
            ttl,
            value: Some(value.clone()),
            ownership: Ownership::WholeName,
        }));
    }
    Ok(out)
}

/// The id of the policy last written, checked against the policy the configuration gives now.
fn current_sts_id(
    domain: &DomainName,
    sts: &MtaStsConfig,
    inputs: &TransportInputs,
) -> Result<String, RecordsError> {
    let path = sts_state_path(&inputs.config_dir, domain);
    let state = StsPolicyState::load(&path)?.ok_or_else(|| RecordsError::NoStsPolicy {
        domain: domain.to_string(),
        state: path.clone(),
    })?;
    let wanted = mta_sts::build_policy(&sts_policy(domain, sts, inputs.mx_hosts.as_deref())?);
    if wanted != state.policy {
        return Err(RecordsError::StsPolicyChanged {
            domain: domain.to_string(),
            id: state.id,
        });
    }
    Ok(state.id)
}

/// One TLSA set per MX host at `_PORT._tcp.HOST` (RFC 7672 §2.2), one value per certificate or
/// key file. Every name must be in the domain's zone.
fn tlsa_desired(
    domain: &DomainName,
    default_ttl: u32,
    section: &DaneConfig,
    inputs: &TransportInputs,
) -> Result<Vec<Desired>, RecordsError> {
    let hosts: Vec<String> = match (&section.hosts, &inputs.mx_hosts) {
        (Some(hosts), _) => hosts.iter().map(|h| h.to_string()).collect(),
        (None, Some(hosts)) if !hosts.is_empty() => hosts.clone(),
        (None, _) => {
            return Err(RecordsError::NoMxHosts {
                domain: domain.to_string(),
                section: "dane",
                field: "hosts",
            });
        }
    };
    let values = tlsa_values(domain, section, &inputs.config_dir)?;
    let mut out = Vec::new();
    for host in hosts {
        let name = dane::tlsa_name(&host, section.port);
        if !mailauth_base::name::is_within(&host, domain) {
            return Err(RecordsError::TlsaOutsideZone {
                domain: domain.to_string(),
                host,
                name,
            });
        }
        for value in &values {
            out.push(Desired {
                name: name.clone(),
                rtype: RecordType::Tlsa,
                ttl: section.ttl.unwrap_or(default_ttl),
                value: Some(value.clone()),
                ownership: Ownership::WholeName,
            });
        }
    }
    Ok(out)
}

/// The TLSA values (canonical `U S M hex`) from the section's certificate and key files, in the
/// order given, without repeats.
fn tlsa_values(
    domain: &DomainName,
    section: &DaneConfig,
    config_dir: &Path,
) -> Result<Vec<String>, RecordsError> {
    let file_error = |path: &Path| {
        let path = path.to_owned();
        move |source: dane::DaneError| RecordsError::DaneFile {
            domain: domain.to_string(),
            path,
            source,
        }
    };
    let mut values = Vec::new();
    for file in &section.certs {
        let path = config_dir.join(file);
        let chain = dane::read_cert_file(&path).map_err(file_error(&path))?;
        // DANE-EE names the server's own certificate (the first); DANE-TA the trust anchor,
        // the top of the chain given (the last).
        let cert = if section.usage == 2 {
            chain.last()
        } else {
            chain.first()
        };
        let cert = cert.ok_or_else(|| RecordsError::NoCertificate {
            domain: domain.to_string(),
            path: path.clone(),
        })?;
        let tlsa = dane::tlsa_for_cert(cert, section.usage, section.selector, section.matching)
            .map_err(file_error(&path))?;
        values.push(tlsa.to_string());
    }
    for file in &section.keys {
        let path = config_dir.join(file);
        let spki = dane::spki_of_key_file(&path).map_err(file_error(&path))?;
        values.push(dane::tlsa_for_spki(&spki, section.matching).to_string());
    }
    let mut seen = std::collections::HashSet::new();
    values.retain(|v| seen.insert(v.clone()));
    Ok(values)
}

/// The records for `domain` under `config`, reading DKIM public keys from `store`; the
/// transport-security records (see [`transport_desired`]) with what `transport` gives.
pub fn desired(
    domain: &DomainName,
    config: &DomainConfig,
    store: &KeyStore,
    transport: &TransportInputs,
) -> Result<Vec<Desired>, RecordsError> {
    let mut out = Vec::new();
    if let Some(spf) = &config.spf {
        let value = spf_value(spf).map_err(|source| RecordsError::Spf {
            domain: domain.to_string(),
            source,
        })?;
        out.push(Desired {
            rtype: RecordType::Txt,
            name: domain.to_string(),
            ttl: config.ttl,
            value: Some(value),
            ownership: Ownership::SpfValue,
        });
    }
    if let Some(dmarc) = &config.dmarc {
        let value = dmarc_value(dmarc).map_err(|source| RecordsError::Dmarc {
            domain: domain.to_string(),
            source,
        })?;
        out.push(Desired {
            rtype: RecordType::Txt,
            name: format!("_dmarc.{domain}"),
            ttl: config.ttl,
            value: Some(value),
            ownership: Ownership::WholeName,
        });
    }
    for dkim in &config.dkim {
        let key =
            store
                .load(domain, &dkim.selector)
                .map_err(|source| RecordsError::MissingKey {
                    domain: domain.to_string(),
                    selector: dkim.selector.clone(),
                    algorithm: dkim.algorithm,
                    source,
                })?;
        out.push(Desired {
            rtype: RecordType::Txt,
            name: format!("{}._domainkey.{domain}", dkim.selector),
            ttl: config.ttl,
            value: Some(dkim_build::published_record(&key)),
            ownership: Ownership::WholeName,
        });
    }
    out.extend(transport_desired(domain, config, transport)?);
    Ok(out)
}

fn spf_value(spf: &crate::config::SpfConfig) -> Result<String, crate::spf::build::BadTerm> {
    let record = spf_build::from_policy(&spf_build::Policy {
        a: spf.a,
        mx: spf.mx,
        ip4: &spf.ip4,
        ip6: &spf.ip6,
        include: &spf.include,
        all: Some(spf.all.qualifier()),
    })?;
    Ok(spf_build::record(&record))
}

fn dmarc_value(dmarc: &crate::config::DmarcConfig) -> Result<String, DmarcSyntaxError> {
    let mut record = DmarcRecord::new(dmarc.policy);
    record.subdomain_policy = dmarc.subdomain_policy;
    record.adkim = dmarc.adkim.map(AlignmentMode::from);
    record.aspf = dmarc.aspf.map(AlignmentMode::from);
    record.pct = dmarc.pct;
    record.rua = dmarc.rua.clone();
    record.ruf = dmarc.ruf.clone();
    let added = dmarc_build::Rfc9989Tags {
        np: dmarc.np,
        psd: dmarc.psd,
        testing: dmarc.testing,
    };
    let text = dmarc_build::record_with(&record, &added);
    // The builder's output must read back: a guard against a record receivers would reject.
    dmarc_parse::record(text.as_bytes())?;
    Ok(text)
}
