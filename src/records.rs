//! Configuration and key store → the records mailauth wants published for a domain: the apex
//! `v=spf1` value, `_dmarc.DOMAIN`, and each configured selector's `_domainkey` record.

use mailauth_providers::{Desired, Ownership};

use crate::config::DomainConfig;
use crate::dkim::{DkimKeyRecord, build as dkim_build};
use crate::dmarc::{
    AlignmentMode, DmarcRecord, Policy, build as dmarc_build, parse as dmarc_parse,
};
use crate::keys::KeyStore;
use crate::spf::{
    MacroString, Mechanism, Qualifier, SpfRecord, Term, build as spf_build, parse as spf_parse,
};

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
            name: domain.clone(),
            ttl: config.ttl,
            value: Some(spf_value(spf).map_err(|e| format!("domain {domain}: spf: {e}"))?),
            ownership: Ownership::SpfValue,
        });
    }
    if let Some(dmarc) = &config.dmarc {
        out.push(Desired {
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
        let record = DkimKeyRecord::for_public_key(key.key_type(), key.public_key_bytes());
        out.push(Desired {
            name: format!("{}._domainkey.{domain}", dkim.selector),
            ttl: config.ttl,
            value: Some(dkim_build::key_record(&record)),
            ownership: Ownership::WholeName,
        });
    }
    Ok(out)
}

fn spf_value(spf: &crate::config::SpfConfig) -> Result<String, String> {
    let mut terms = Vec::new();
    let plain = |m| Term::Directive(Qualifier::Pass, m);
    if spf.a {
        terms.push(plain(Mechanism::A {
            domain: None,
            cidr4: None,
            cidr6: None,
        }));
    }
    if spf.mx {
        terms.push(plain(Mechanism::Mx {
            domain: None,
            cidr4: None,
            cidr6: None,
        }));
    }
    for (kind, values) in [("ip4", &spf.ip4), ("ip6", &spf.ip6)] {
        for value in values {
            let parsed = spf_parse::record(format!("v=spf1 {kind}:{value}").as_bytes())
                .map_err(|e| e.to_string())?;
            terms.extend(parsed.terms);
        }
    }
    for include in &spf.include {
        spf_parse::record(format!("v=spf1 include:{include}").as_bytes())
            .map_err(|e| e.to_string())?;
        terms.push(plain(Mechanism::Include(MacroString(include.clone()))));
    }
    let all = match spf.all.as_str() {
        "~" => Qualifier::SoftFail,
        "?" => Qualifier::Neutral,
        _ => Qualifier::Fail,
    };
    terms.push(Term::Directive(all, Mechanism::All));
    Ok(spf_build::record(&SpfRecord { terms }))
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
