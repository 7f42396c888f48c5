//! Configuration and key store → the records mailauth wants published for a domain: the apex
//! `v=spf1` value, `_dmarc.DOMAIN`, and each configured selector's `_domainkey` record.

use mailauth_providers::{Desired, Ownership, RecordType};

use crate::config::DomainConfig;
use crate::dkim::build as dkim_build;
use crate::dmarc::{
    AlignmentMode, DmarcRecord, Policy, build as dmarc_build, parse as dmarc_parse,
};
use crate::keys::KeyStore;
use crate::spf::{Qualifier, build as spf_build};

/// The records for `domain` under `config`, reading DKIM public keys from `store`.
pub fn desired(
    domain: &str,
    config: &DomainConfig,
    store: &KeyStore,
) -> Result<Vec<Desired>, String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut out = Vec::new();
    if let Some(spf) = &config.spf {
        out.push(Desired {
            rtype: RecordType::Txt,
            name: domain.clone(),
            ttl: config.ttl,
            value: Some(spf_value(spf).map_err(|e| format!("domain {domain}: spf: {e}"))?),
            ownership: Ownership::SpfValue,
        });
    }
    if let Some(dmarc) = &config.dmarc {
        out.push(Desired {
            rtype: RecordType::Txt,
            name: format!("_dmarc.{domain}"),
            ttl: config.ttl,
            value: Some(dmarc_value(dmarc).map_err(|e| format!("domain {domain}: dmarc: {e}"))?),
            ownership: Ownership::WholeName,
        });
    }
    for dkim in &config.dkim {
        let key = store.load(&domain, &dkim.selector).map_err(|e| {
            format!(
                "domain {domain}: selector {}: {e} (create it with `mailauth keygen {domain} --selector {} --algorithm {}`)",
                dkim.selector, dkim.selector, dkim.algorithm
            )
        })?;
        out.push(Desired {
            rtype: RecordType::Txt,
            name: format!("{}._domainkey.{domain}", dkim.selector),
            ttl: config.ttl,
            value: Some(dkim_build::published_record(&key)),
            ownership: Ownership::WholeName,
        });
    }
    Ok(out)
}

fn spf_value(spf: &crate::config::SpfConfig) -> Result<String, String> {
    let all = match spf.all.as_str() {
        "~" => Qualifier::SoftFail,
        "?" => Qualifier::Neutral,
        _ => Qualifier::Fail,
    };
    let record = spf_build::from_policy(&spf_build::Policy {
        a: spf.a,
        mx: spf.mx,
        ip4: &spf.ip4,
        ip6: &spf.ip6,
        include: &spf.include,
        all: Some(all),
    })?;
    Ok(spf_build::record(&record))
}

fn dmarc_value(dmarc: &crate::config::DmarcConfig) -> Result<String, String> {
    let policy = |text: &str| {
        Policy::from_name(text).ok_or_else(|| format!("{text:?} is not none, quarantine or reject"))
    };
    let mode = |text: &str| match text {
        "r" => Ok(AlignmentMode::Relaxed),
        "s" => Ok(AlignmentMode::Strict),
        other => Err(format!("{other:?} is not r or s")),
    };
    let mut record = DmarcRecord::new(policy(&dmarc.policy)?);
    record.subdomain_policy = dmarc.subdomain_policy.as_deref().map(policy).transpose()?;
    record.adkim = dmarc.adkim.as_deref().map(mode).transpose()?;
    record.aspf = dmarc.aspf.as_deref().map(mode).transpose()?;
    record.pct = dmarc.pct;
    for uri in &dmarc.rua {
        record
            .rua
            .extend(dmarc_parse::uris("rua", uri).map_err(|e| e.to_string())?);
    }
    for uri in &dmarc.ruf {
        record
            .ruf
            .extend(dmarc_parse::uris("ruf", uri).map_err(|e| e.to_string())?);
    }
    let text = dmarc_build::record(&record);
    dmarc_parse::record(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(text)
}
