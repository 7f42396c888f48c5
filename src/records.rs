//! Configuration and key store → the records mailauth wants published for a domain: the apex
//! `v=spf1` value, `_dmarc.DOMAIN` (with RFC 9989's `np=`, `psd=`, `t=` when configured), and each
//! configured selector's `_domainkey` record.

use mailauth_providers::{Desired, Ownership, RecordType};

use mailauth_base::DomainName;

use crate::config::DomainConfig;
use crate::dkim::build as dkim_build;
use crate::dmarc::{
    AlignmentMode, DmarcRecord, DmarcSyntaxError, build as dmarc_build, parse as dmarc_parse,
};
use crate::keys::{KeyError, KeySpec, KeyStore};
use crate::spf::build as spf_build;

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
}

/// The records for `domain` under `config`, reading DKIM public keys from `store`.
pub fn desired(
    domain: &DomainName,
    config: &DomainConfig,
    store: &KeyStore,
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
