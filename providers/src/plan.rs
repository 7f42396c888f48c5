//! Planning: what mailauth wants ([`Desired`]) compared with what a provider holds, giving the
//! [`Change`]s that close the gap, touching only what mailauth owns. A plan is refused whole,
//! before any request to the provider, when a desired record is of a type the provider cannot
//! hold ([`ProviderError::UnsupportedType`]) or its value is not valid for its type.
//! [`apply_plan`] re-reads every touched RRset and refuses when it changed since the plan, then
//! reads them again after the apply: a success whose change is not there is
//! [`ProviderError::NotApplied`], and a temporary failure whose change is there (its answer
//! was lost) is a success.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::{Capabilities, Change, Provider, ProviderError, Record, RecordType};

/// Which values of a type at a name mailauth owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Only the `v=spf1` TXT value (the zone apex, where other services keep their own TXT
    /// records).
    SpfValue,
    /// Every value of the record's type at the name (`_dmarc.DOMAIN`,
    /// `SELECTOR._domainkey.DOMAIN`, a CNAME, MX or TLSA set mailauth manages).
    WholeName,
}

/// A record mailauth wants (or, with `value: None`, wants gone). Several `Desired` with the same
/// name and type form one set of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Owner name, lower case, no trailing dot.
    pub name: String,
    /// The type.
    pub rtype: RecordType,
    /// TTL.
    pub ttl: u32,
    /// The value (any spelling [`RecordType::canonical`] accepts), or `None` when the owned
    /// records of this type at `name` should be removed.
    pub value: Option<String>,
    /// What mailauth owns at `name`.
    pub ownership: Ownership,
}

impl Desired {
    /// A TXT record.
    pub fn txt(name: &str, ttl: u32, value: Option<String>, ownership: Ownership) -> Desired {
        Desired {
            name: name.to_owned(),
            rtype: RecordType::Txt,
            ttl,
            value,
            ownership,
        }
    }
}

/// The changes that bring a zone to the desired records, and what was not done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// Deletions left out because mailauth did not create the record (use `force`).
    pub refused: Vec<Record>,
}

impl Plan {
    /// True when nothing needs doing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Does `value` belong to mailauth under `ownership`?
pub fn owned(ownership: Ownership, value: &str) -> bool {
    match ownership {
        Ownership::WholeName => true,
        Ownership::SpfValue => {
            value.len() >= 6
                && value.is_char_boundary(6)
                && value[..6].eq_ignore_ascii_case("v=spf1")
                && (value.len() == 6 || value.as_bytes()[6] == b' ')
        }
    }
}

/// Refuse a desired record the provider cannot hold, before any request.
pub fn check_supported(
    capabilities: &Capabilities,
    desired: &[Desired],
) -> Result<(), ProviderError> {
    match desired.iter().find(|d| !capabilities.supports(d.rtype)) {
        None => Ok(()),
        Some(d) => Err(ProviderError::UnsupportedType {
            name: d.name.clone(),
            rtype: d.rtype,
            supported: capabilities
                .record_types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// One name and type with the values wanted there.
struct Group {
    name: String,
    rtype: RecordType,
    ownership: Ownership,
    wanted: Vec<(String, u32)>,
}

/// The desired records grouped by (name, type), first-seen order, values made canonical.
fn groups(desired: &[Desired]) -> Result<Vec<Group>, ProviderError> {
    let mut out: Vec<Group> = Vec::new();
    for want in desired {
        let index = match out
            .iter()
            .position(|g| g.name == want.name && g.rtype == want.rtype)
        {
            Some(i) => i,
            None => {
                out.push(Group {
                    name: want.name.clone(),
                    rtype: want.rtype,
                    ownership: want.ownership,
                    wanted: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(value) = &want.value {
            let value = want.rtype.canonical(value)?;
            out[index].wanted.push((value, want.ttl));
        }
    }
    Ok(out)
}

/// The changes for one group, given what the provider holds there (owned values only).
fn plan_group(group: &Group, mut extra: Vec<Record>, force: bool, result: &mut Plan) {
    let mut missing = Vec::new();
    for (value, ttl) in &group.wanted {
        let record = Record {
            name: group.name.clone(),
            rtype: group.rtype,
            ttl: *ttl,
            value: value.clone(),
            managed: true,
        };
        match extra.iter().position(|r| &r.value == value) {
            Some(i) => {
                let current = extra.remove(i);
                if current.ttl != *ttl {
                    result.changes.push(Change::Update {
                        from: current,
                        to: record,
                    });
                }
            }
            None => missing.push(record),
        }
    }
    // A value that is not there replaces one that is no longer wanted, else it is created.
    for record in missing {
        if extra.is_empty() {
            result.changes.push(Change::Create(record));
        } else {
            let from = extra.remove(0);
            result.changes.push(Change::Update { from, to: record });
        }
    }
    for record in extra {
        if record.managed || force {
            result.changes.push(Change::Delete(record));
        } else {
            result.refused.push(record);
        }
    }
}

/// Compare `desired` with what `provider` holds in `zone`. Only owned values of the desired types
/// at the desired names are touched; records mailauth did not create are deleted only when
/// `force` is set. Unsupported types and invalid values are refused before any request.
pub fn plan(
    provider: &dyn Provider,
    zone: &str,
    desired: &[Desired],
    force: bool,
) -> Result<Plan, ProviderError> {
    check_supported(&provider.capabilities(), desired)?;
    let groups = groups(desired)?;
    let mut result = Plan::default();
    for group in &groups {
        let actual: Vec<Record> = provider
            .records(zone, &group.name, group.rtype)?
            .into_iter()
            .filter(|r| owned(group.ownership, &r.value))
            .collect();
        plan_group(group, actual, force, &mut result);
    }
    Ok(result)
}

/// Apply `plan` after checking that every record it changes is still as it was read, and
/// confirm it by reading the records back.
pub fn apply_plan(provider: &dyn Provider, zone: &str, plan: &Plan) -> Result<(), ProviderError> {
    // Each name and type is read once, however many changes it has.
    let mut read: HashMap<(&str, RecordType), Vec<Record>> = HashMap::new();
    for change in &plan.changes {
        let key = (change.name(), change.rtype());
        let now = match read.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(provider.records(zone, key.0, key.1)?),
        };
        check_unchanged(change, now)?;
    }
    match provider.apply(zone, &plan.changes) {
        Ok(()) => confirm_applied(
            provider,
            zone,
            &plan.changes,
            "the provider answered success",
        ),
        // A temporary failure may come after the change was made (an answer lost to a timeout
        // or a reset): the records as they are now decide. When they cannot be read, or do
        // not hold the change, the original error stands.
        Err(e) if e.is_temporary() => {
            match confirm_applied(provider, zone, &plan.changes, "after a failure") {
                Ok(()) => Ok(()),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Read back every set `changes` touch and check that it holds what they made: each created or
/// updated value there with its TTL, each deleted or replaced value gone (unless another change
/// wants it). [`ProviderError::NotApplied`] names the first set that does not.
fn confirm_applied(
    provider: &dyn Provider,
    zone: &str,
    changes: &[Change],
    answered: &str,
) -> Result<(), ProviderError> {
    let mut sets: Vec<(&str, RecordType)> = changes.iter().map(|c| (c.name(), c.rtype())).collect();
    sets.sort();
    sets.dedup();
    for (name, rtype) in sets {
        let now = provider.records(zone, name, rtype)?;
        let here: Vec<&Change> = changes
            .iter()
            .filter(|c| c.name() == name && c.rtype() == rtype)
            .collect();
        let not_applied = |what: String| ProviderError::NotApplied {
            provider: format!("{provider:?}"),
            name: format!("{name} {rtype}"),
            reason: format!("{what} ({answered})"),
        };
        match not_in_effect(&here, &now) {
            Some(NotInEffect::Missing(r)) => {
                return Err(not_applied(format!(
                    "{} (TTL {}) is missing",
                    r.shown_value(),
                    r.ttl
                )));
            }
            Some(NotInEffect::StillThere(r)) => {
                return Err(not_applied(format!("{} is still there", r.shown_value())));
            }
            None => {}
        }
    }
    Ok(())
}

/// Why the changes of one record set are not in effect.
#[derive(Debug)]
pub(crate) enum NotInEffect<'a> {
    /// A value created or updated to is not there with its TTL.
    Missing(&'a Record),
    /// A value deleted or replaced is still there, and no other change of the set wants it.
    StillThere(&'a Record),
}

/// Whether `changes` (all of one name and type) are in effect in `now`, that set's records as
/// read back: each created or updated value there with its TTL, each deleted or replaced value
/// gone (unless another change wants it). The first missing value is named before the first
/// value still there.
pub(crate) fn not_in_effect<'a>(changes: &[&'a Change], now: &[Record]) -> Option<NotInEffect<'a>> {
    let wanted: Vec<&Record> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Create(r) | Change::Update { to: r, .. } => Some(r),
            Change::Delete(_) => None,
        })
        .collect();
    if let Some(r) = wanted
        .iter()
        .find(|r| !now.iter().any(|n| n.value == r.value && n.ttl == r.ttl))
    {
        return Some(NotInEffect::Missing(r));
    }
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Delete(r) | Change::Update { from: r, .. } => Some(r),
            Change::Create(_) => None,
        })
        .find(|r| {
            let kept = wanted.iter().any(|w| w.value == r.value);
            !kept && now.iter().any(|n| n.value == r.value)
        })
        .map(NotInEffect::StillThere)
}

fn check_unchanged(change: &Change, now: &[Record]) -> Result<(), ProviderError> {
    let present = |r: &Record| now.iter().any(|n| n.value == r.value && n.ttl == r.ttl);
    let conflict = |reason: String| ProviderError::Conflict {
        name: change.name().to_owned(),
        reason,
    };
    match change {
        Change::Create(r) if now.iter().any(|n| n.value == r.value) => {
            Err(conflict("the record to create is already there".to_owned()))
        }
        Change::Update { from, .. } | Change::Delete(from) if !present(from) => Err(conflict(
            format!("{} {} is no longer there", from.rtype, from.shown_value()),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryProvider;

    #[test]
    fn plan_touches_only_owned_values_and_refuses_foreign_deletes() {
        let provider = MemoryProvider::default();
        provider.seed(
            "example.com",
            "example.com",
            300,
            "google-site-verification=x",
            false,
        );
        provider.seed("example.com", "example.com", 300, "v=spf1 -all", false);
        provider.seed(
            "example.com",
            "old._domainkey.example.com",
            300,
            "v=DKIM1; p=",
            false,
        );
        let desired = [
            Desired::txt(
                "example.com",
                300,
                Some("v=spf1 mx -all".into()),
                Ownership::SpfValue,
            ),
            Desired::txt(
                "old._domainkey.example.com",
                300,
                None,
                Ownership::WholeName,
            ),
        ];
        let p = plan(&provider, "example.com", &desired, false).unwrap();
        assert_eq!(p.changes.len(), 1, "{p:?}");
        assert!(
            matches!(&p.changes[0], Change::Update { from, to } if from.value == "v=spf1 -all" && to.value == "v=spf1 mx -all")
        );
        assert_eq!(p.refused.len(), 1);
        let forced = plan(&provider, "example.com", &desired, true).unwrap();
        assert_eq!(forced.changes.len(), 2);
    }

    /// A backend whose apply does `effect` to the memory provider, then answers `answer`.
    #[derive(Debug)]
    struct Faulty {
        inner: MemoryProvider,
        apply_for_real: bool,
        answer: fn() -> Result<(), ProviderError>,
    }

    impl Provider for Faulty {
        fn records(&self, z: &str, n: &str, t: RecordType) -> Result<Vec<Record>, ProviderError> {
            self.inner.records(z, n, t)
        }
        fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
            if self.apply_for_real {
                self.inner.apply(zone, changes)?;
            }
            (self.answer)()
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
    }

    fn lost() -> Result<(), ProviderError> {
        Err(ProviderError::Unreachable {
            provider: "faulty".into(),
            reason: "timed out".into(),
        })
    }

    fn dmarc() -> [Desired; 1] {
        [Desired::txt(
            "_dmarc.example.com",
            300,
            Some("v=DMARC1; p=none".into()),
            Ownership::WholeName,
        )]
    }

    #[test]
    fn a_success_whose_change_is_not_there_is_not_applied() {
        let faulty = Faulty {
            inner: MemoryProvider::default(),
            apply_for_real: false,
            answer: || Ok(()),
        };
        let p = plan(&faulty, "example.com", &dmarc(), false).unwrap();
        let err = apply_plan(&faulty, "example.com", &p).unwrap_err();
        assert!(matches!(err, ProviderError::NotApplied { .. }), "{err}");
        assert!(err.is_temporary());
        let text = err.to_string();
        assert!(
            text.contains("_dmarc.example.com TXT") && text.contains("is missing"),
            "{text}"
        );
    }

    #[test]
    fn a_lost_answer_whose_change_is_there_is_a_success_and_one_that_is_not_stays_an_error() {
        let made = Faulty {
            inner: MemoryProvider::default(),
            apply_for_real: true,
            answer: lost,
        };
        let p = plan(&made, "example.com", &dmarc(), false).unwrap();
        apply_plan(&made, "example.com", &p).unwrap();
        let not_made = Faulty {
            apply_for_real: false,
            ..made
        };
        let p = plan(&not_made, "example.com", &dmarc(), false).unwrap();
        assert!(p.is_empty());
        let p = Plan {
            changes: vec![Change::Create(Record {
                name: "x.example.com".into(),
                rtype: RecordType::Txt,
                ttl: 300,
                value: "v=spf1 -all".into(),
                managed: true,
            })],
            refused: Vec::new(),
        };
        let err = apply_plan(&not_made, "example.com", &p).unwrap_err();
        assert!(matches!(err, ProviderError::Unreachable { .. }), "{err}");
    }

    #[test]
    fn several_values_at_one_name_form_one_set() {
        let provider = MemoryProvider::default();
        let mx = |value: &str| Desired {
            name: "example.com".into(),
            rtype: RecordType::Mx,
            ttl: 300,
            value: Some(value.into()),
            ownership: Ownership::WholeName,
        };
        let want = [mx("10 a.example.com."), mx("20 B.example.com")];
        let first = plan(&provider, "example.com", &want, false).unwrap();
        assert_eq!(first.changes.len(), 2);
        apply_plan(&provider, "example.com", &first).unwrap();
        assert!(
            plan(&provider, "example.com", &want, false)
                .unwrap()
                .is_empty()
        );
    }
}
