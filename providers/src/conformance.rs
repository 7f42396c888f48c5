//! The conformance battery: the same steps against every backend. Before it runs, the zone must
//! hold one foreign TXT record at its apex ([`FOREIGN`]), which every step must leave alone, and
//! one TXT record at `old._domainkey.ZONE` ([`UNMANAGED`]) that mailauth did not create.
//!
//! Steps: create SPF, DMARC and DKIM records (2048- and 4096-bit-sized values, and a value with
//! `"`, `\` and `;`); plan again and expect nothing; replace the SPF value; delete a selector;
//! refuse to delete a record mailauth did not create; detect a change made behind the plan.

use crate::{Change, Desired, Ownership, Provider, apply_plan, plan};

/// The foreign apex value the harness puts in place first.
pub const FOREIGN: &str = "foreign-verification=keep-me";
/// The value the harness puts at `old._domainkey.ZONE`, not marked as mailauth's.
pub const UNMANAGED: &str = "v=DKIM1; k=rsa; p=";

fn fail(step: &str, what: impl std::fmt::Display) -> String {
    format!("conformance step \"{step}\": {what}")
}

fn desired(zone: &str, spf: &str, selectors: &[(&str, Option<String>)]) -> Vec<Desired> {
    let mut out = vec![
        Desired {
            name: zone.to_owned(),
            ttl: 300,
            value: Some(spf.to_owned()),
            ownership: Ownership::SpfValue,
        },
        Desired {
            name: format!("_dmarc.{zone}"),
            ttl: 300,
            value: Some(format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{zone}")),
            ownership: Ownership::WholeName,
        },
    ];
    for (selector, value) in selectors {
        out.push(Desired {
            name: format!("{selector}._domainkey.{zone}"),
            ttl: 300,
            value: value.clone(),
            ownership: Ownership::WholeName,
        });
    }
    out
}

/// A DKIM-record-shaped value of about `len` bytes.
fn long_value(len: usize) -> String {
    let body: String = (0..len)
        .map(|i| {
            char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64])
        })
        .collect();
    format!("v=DKIM1; k=rsa; p={body}")
}

fn check_foreign(provider: &dyn Provider, zone: &str, step: &str) -> Result<(), String> {
    let apex = provider.records(zone, zone).map_err(|e| fail(step, e))?;
    if apex.iter().any(|r| r.value == FOREIGN) {
        Ok(())
    } else {
        Err(fail(
            step,
            format!("the foreign apex record is gone: {apex:?}"),
        ))
    }
}

fn converge(
    provider: &dyn Provider,
    zone: &str,
    want: &[Desired],
    step: &str,
) -> Result<(), String> {
    let first = plan(provider, zone, want, false).map_err(|e| fail(step, e))?;
    apply_plan(provider, zone, &first).map_err(|e| fail(step, e))?;
    let second = plan(provider, zone, want, false).map_err(|e| fail(step, e))?;
    if !second.is_empty() {
        return Err(fail(
            step,
            format!("a second plan is not empty: {:?}", second.changes),
        ));
    }
    for d in want {
        let values: Vec<String> = provider
            .records(zone, &d.name)
            .map_err(|e| fail(step, e))?
            .into_iter()
            .filter(|r| crate::owned(d.ownership, &r.value))
            .map(|r| r.value)
            .collect();
        let expected: Vec<String> = d.value.iter().cloned().collect();
        if values != expected {
            return Err(fail(
                step,
                format!("{} reads back {values:?}, expected {expected:?}", d.name),
            ));
        }
    }
    check_foreign(provider, zone, step)
}

/// Run the battery against `provider` for `zone`.
pub fn run(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    check_foreign(provider, zone, "precondition")?;
    let quoted = Some(
        "v=DKIM1; k=ed25519; n=say \"hi\" \\ then; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
            .to_owned(),
    );
    let selectors = [
        ("rsa2048", Some(long_value(392))),
        ("rsa4096", Some(long_value(736))),
        ("quoted", quoted.clone()),
    ];
    converge(
        provider,
        zone,
        &desired(zone, "v=spf1 mx -all", &selectors),
        "create",
    )?;
    converge(
        provider,
        zone,
        &desired(zone, "v=spf1 mx ip4:192.0.2.0/24 -all", &selectors),
        "replace",
    )?;
    let fewer = [
        ("rsa2048", Some(long_value(392))),
        ("rsa4096", None),
        ("quoted", quoted),
    ];
    converge(
        provider,
        zone,
        &desired(zone, "v=spf1 mx ip4:192.0.2.0/24 -all", &fewer),
        "delete",
    )?;
    // A record at an owned name that mailauth did not create is not deleted without force.
    let old = [Desired {
        name: format!("old._domainkey.{zone}"),
        ttl: 300,
        value: None,
        ownership: Ownership::WholeName,
    }];
    let refused = plan(provider, zone, &old, false).map_err(|e| fail("refuse", e))?;
    if !refused.changes.is_empty() || refused.refused.len() != 1 {
        return Err(fail(
            "refuse",
            format!("expected one refused delete, got {refused:?}"),
        ));
    }
    let forced = plan(provider, zone, &old, true).map_err(|e| fail("force", e))?;
    if !matches!(forced.changes.as_slice(), [Change::Delete(r)] if r.value == UNMANAGED) {
        return Err(fail(
            "force",
            format!("expected one delete, got {forced:?}"),
        ));
    }
    // A change behind the plan's back is detected at apply time.
    let want = desired(zone, "v=spf1 mx -all", &fewer);
    let stale = plan(provider, zone, &want, false).map_err(|e| fail("conflict", e))?;
    let current = provider
        .records(zone, zone)
        .map_err(|e| fail("conflict", e))?
        .into_iter()
        .find(|r| crate::owned(Ownership::SpfValue, &r.value))
        .ok_or_else(|| fail("conflict", "no SPF record"))?;
    let behind = crate::Record {
        value: "v=spf1 a -all".into(),
        ..current.clone()
    };
    provider
        .apply(
            zone,
            &[Change::Update {
                from: current,
                to: behind,
            }],
        )
        .map_err(|e| fail("conflict", e))?;
    match apply_plan(provider, zone, &stale) {
        Err(crate::ProviderError::Conflict { .. }) => {}
        other => {
            return Err(fail(
                "conflict",
                format!("a stale plan was applied: {other:?}"),
            ));
        }
    }
    converge(provider, zone, &want, "converge after conflict")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryProvider;

    #[test]
    fn memory_backend_passes() {
        let provider = MemoryProvider::default();
        provider.seed("example.test", "example.test", 300, FOREIGN, false);
        provider.seed(
            "example.test",
            "old._domainkey.example.test",
            300,
            UNMANAGED,
            false,
        );
        run(&provider, "example.test").unwrap();
    }

    #[test]
    fn zonefile_backend_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.test.zone");
        std::fs::write(
            &path,
            format!("$ORIGIN example.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n@ IN TXT \"{FOREIGN}\"\nold._domainkey IN TXT \"{UNMANAGED}\"\n"),
        )
        .unwrap();
        run(
            &crate::zonefile::ZoneFileProvider::new(&path),
            "example.test",
        )
        .unwrap();
    }
}
