//! The conformance battery: the same steps against every backend. Before a step runs, the zone
//! must hold one foreign TXT record at its apex ([`FOREIGN`]), which every step must leave alone,
//! and one TXT record at `old._domainkey.ZONE` ([`UNMANAGED`]) that mailauth did not create.
//!
//! Each step is a function of its own, so [`conformance_battery!`](crate::conformance_battery)
//! can make one test per step per backend, each on a freshly seeded zone; [`run`] runs them all
//! in order on one zone. Every step that writes plans, applies, plans again and expects nothing
//! (the idempotence dnscontrol's suite checks), and reads the values back in canonical form.
//! [`survives_fault`] is the fault step: a change applied while a fault injector (outside this
//! crate: a proxy, a read-only mount) fails it leaves every record fully old or fully new, and
//! the next run converges.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{
    Capabilities, Change, Desired, Ownership, Provider, ProviderError, Record, RecordType,
    apply_plan, owned, plan,
};

/// The foreign apex value the harness puts in place first.
pub const FOREIGN: &str = "foreign-verification=keep-me";
/// The value the harness puts at `old._domainkey.ZONE`, not marked as mailauth's.
pub const UNMANAGED: &str = "v=DKIM1; k=rsa; p=";

/// A backend set up for one step: the provider, its zone (seeded as the module says), and
/// whatever must live as long as the test (a server process, a temporary directory).
pub struct Harness {
    /// The backend.
    pub provider: Box<dyn Provider>,
    /// The zone, seeded.
    pub zone: String,
    /// Kept alive until the step ends (dropped after the provider).
    pub guard: Box<dyn std::any::Any>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Harness({:?}, {})", self.provider, self.zone)
    }
}

/// One test per step for one backend: `conformance_battery!(NAME, SETUP)` makes `mod NAME` with a
/// `#[test] fn STEP()` for each step, where `SETUP: fn() -> Option<Harness>` builds a freshly
/// seeded zone (`None`: the backend is not available here and the test returns; a CI harness
/// fails instead of returning `None`).
#[macro_export]
macro_rules! conformance_battery {
    ($backend:ident, $setup:path) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_battery!(@steps $setup;
                create, idempotent_replan, update_ttl, update_value, delete_owned,
                refuse_foreign_delete, long_txt_round_trip, cname, mx, tlsa,
                unsupported_type_refused_in_plan, conflict_detected);
        }
    };
    (@steps $setup:path; $($step:ident),*) => {
        $(
            #[test]
            fn $step() {
                let Some(harness) = $setup() else { return };
                if let Err(e) = $crate::conformance::$step(harness.provider.as_ref(), &harness.zone) {
                    panic!("{e}");
                }
            }
        )*
    };
}

/// A step: `Err` says what went wrong.
pub type Step = fn(&dyn Provider, &str) -> Result<(), String>;

/// Every step, in the order [`run`] takes them.
pub const STEPS: [(&str, Step); 12] = [
    ("create", create),
    ("idempotent_replan", idempotent_replan),
    ("update_ttl", update_ttl),
    ("update_value", update_value),
    ("delete_owned", delete_owned),
    ("long_txt_round_trip", long_txt_round_trip),
    ("cname", cname),
    ("mx", mx),
    ("tlsa", tlsa),
    (
        "unsupported_type_refused_in_plan",
        unsupported_type_refused_in_plan,
    ),
    ("conflict_detected", conflict_detected),
    ("refuse_foreign_delete", refuse_foreign_delete),
];

/// Run every step in order against `provider` for `zone`.
pub fn run(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    check_foreign(provider, zone, "precondition")?;
    for (_, step) in STEPS {
        step(provider, zone)?;
    }
    Ok(())
}

fn fail(step: &str, what: impl std::fmt::Display) -> String {
    format!("conformance step \"{step}\": {what}")
}

fn txt(name: String, ttl: u32, value: Option<String>, ownership: Ownership) -> Desired {
    Desired {
        name,
        rtype: RecordType::Txt,
        ttl,
        value,
        ownership,
    }
}

fn mail_records(zone: &str, spf: &str, ttl: u32) -> Vec<Desired> {
    vec![
        txt(
            zone.to_owned(),
            ttl,
            Some(spf.to_owned()),
            Ownership::SpfValue,
        ),
        txt(
            format!("_dmarc.{zone}"),
            ttl,
            Some(format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{zone}")),
            Ownership::WholeName,
        ),
    ]
}

fn selector(zone: &str, name: &str, value: Option<String>) -> Desired {
    txt(
        format!("{name}._domainkey.{zone}"),
        300,
        value,
        Ownership::WholeName,
    )
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
    let apex = provider
        .records(zone, zone, RecordType::Txt)
        .map_err(|e| fail(step, e))?;
    if apex.iter().any(|r| r.value == FOREIGN) {
        Ok(())
    } else {
        Err(fail(
            step,
            format!("the foreign apex record is gone: {apex:?}"),
        ))
    }
}

/// The owned values (and TTLs) of `d`'s type at `d`'s name, sorted.
fn read_back(
    provider: &dyn Provider,
    zone: &str,
    d: &Desired,
) -> Result<Vec<(String, u32)>, ProviderError> {
    let mut values: Vec<(String, u32)> = provider
        .records(zone, &d.name, d.rtype)?
        .into_iter()
        .filter(|r| owned(d.ownership, &r.value))
        .map(|r| (r.value, r.ttl))
        .collect();
    values.sort();
    Ok(values)
}

/// What `want` says should be at each of its (name, type) sets, canonical and sorted.
fn expected(want: &[Desired], d: &Desired) -> Result<Vec<(String, u32)>, ProviderError> {
    let mut out = Vec::new();
    for w in want
        .iter()
        .filter(|w| w.name == d.name && w.rtype == d.rtype)
    {
        if let Some(v) = &w.value {
            out.push((w.rtype.canonical(v)?, w.ttl));
        }
    }
    out.sort();
    Ok(out)
}

/// Plan, apply, plan again (expecting nothing), and read every desired set back.
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
    reads_back(provider, zone, want, step)
}

/// Every desired set reads back from `provider` exactly as `want` says, and the foreign apex
/// record is still there.
fn reads_back(
    provider: &dyn Provider,
    zone: &str,
    want: &[Desired],
    step: &str,
) -> Result<(), String> {
    for d in want {
        let values = read_back(provider, zone, d).map_err(|e| fail(step, e))?;
        let expected = expected(want, d).map_err(|e| fail(step, e))?;
        if values != expected {
            return Err(fail(
                step,
                format!(
                    "{} {} reads back {values:?}, expected {expected:?}",
                    d.name, d.rtype
                ),
            ));
        }
    }
    check_foreign(provider, zone, step)
}

/// Expect `plan` for `want` to hold exactly `count` changes matching `shape`.
fn expect_plan(
    provider: &dyn Provider,
    zone: &str,
    want: &[Desired],
    step: &str,
    shape: fn(&Change) -> bool,
) -> Result<(), String> {
    let p = plan(provider, zone, want, false).map_err(|e| fail(step, e))?;
    if p.changes.len() == 1 && shape(&p.changes[0]) {
        Ok(())
    } else {
        Err(fail(
            step,
            format!("expected one change of the right kind, got {:?}", p.changes),
        ))
    }
}

/// Create SPF, DMARC and a DKIM selector.
pub fn create(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let mut want = mail_records(zone, "v=spf1 mx -all", 300);
    want.push(selector(
        zone,
        "create",
        Some("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".into()),
    ));
    converge(provider, zone, &want, "create")
}

/// After an apply, planning the same records again gives nothing, twice over.
pub fn idempotent_replan(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let want = mail_records(zone, "v=spf1 mx -all", 300);
    converge(provider, zone, &want, "idempotent_replan")?;
    converge(provider, zone, &want, "idempotent_replan (again)")
}

/// A new TTL alone is one update.
pub fn update_ttl(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    converge(
        provider,
        zone,
        &mail_records(zone, "v=spf1 mx -all", 300),
        "update_ttl",
    )?;
    let longer = mail_records(zone, "v=spf1 mx -all", 600);
    let p = plan(provider, zone, &longer, false).map_err(|e| fail("update_ttl", e))?;
    let ttl_only = p.changes.iter().all(
        |c| matches!(c, Change::Update { from, to } if from.value == to.value && to.ttl == 600),
    );
    if p.changes.len() != 2 || !ttl_only {
        return Err(fail(
            "update_ttl",
            format!("expected two TTL updates, got {:?}", p.changes),
        ));
    }
    converge(provider, zone, &longer, "update_ttl")
}

/// A new SPF value replaces the old one, leaving the foreign apex value alone.
pub fn update_value(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    converge(
        provider,
        zone,
        &mail_records(zone, "v=spf1 mx -all", 300),
        "update_value",
    )?;
    let want = mail_records(zone, "v=spf1 mx ip4:192.0.2.0/24 -all", 300);
    expect_plan(
        provider,
        zone,
        &want[..1],
        "update_value",
        |c| matches!(c, Change::Update { from, to } if from.value != to.value),
    )?;
    converge(provider, zone, &want, "update_value")
}

/// A selector mailauth created is deleted when no longer wanted.
pub fn delete_owned(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let value = Some("v=DKIM1; k=rsa; p=MIIBdeleteme".to_owned());
    converge(
        provider,
        zone,
        &[selector(zone, "gone", value)],
        "delete_owned",
    )?;
    let none = [selector(zone, "gone", None)];
    expect_plan(
        provider,
        zone,
        &none,
        "delete_owned",
        |c| matches!(c, Change::Delete(r) if r.managed),
    )?;
    converge(provider, zone, &none, "delete_owned")
}

/// A record at an owned name that mailauth did not create is kept without force, deleted with.
pub fn refuse_foreign_delete(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let step = "refuse_foreign_delete";
    let old = [selector(zone, "old", None)];
    let refused = plan(provider, zone, &old, false).map_err(|e| fail(step, e))?;
    if !refused.changes.is_empty() || refused.refused.len() != 1 {
        return Err(fail(
            step,
            format!("expected one refused delete, got {refused:?}"),
        ));
    }
    let forced = plan(provider, zone, &old, true).map_err(|e| fail(step, e))?;
    if !matches!(forced.changes.as_slice(), [Change::Delete(r)] if r.value == UNMANAGED) {
        return Err(fail(step, format!("expected one delete, got {forced:?}")));
    }
    apply_plan(provider, zone, &forced).map_err(|e| fail(step, e))?;
    converge(provider, zone, &old, step)
}

/// TXT values longer than one 255-byte string (2048- and 4096-bit keys), and one with `"`, `\`
/// and `;`, read back whole whatever chunking the backend uses.
pub fn long_txt_round_trip(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let quoted =
        "v=DKIM1; k=ed25519; n=say \"hi\" \\ then; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let want = [
        selector(zone, "rsa2048", Some(long_value(392))),
        selector(zone, "rsa4096", Some(long_value(736))),
        selector(zone, "quoted", Some(quoted.into())),
    ];
    converge(provider, zone, &want, "long_txt_round_trip")
}

/// Create, re-spell (no change), update the value, update the TTL, delete: one type at one name.
fn type_round_trip(
    provider: &dyn Provider,
    zone: &str,
    rtype: RecordType,
    name: String,
    values: [&[&str]; 3],
) -> Result<(), String> {
    let step = rtype.as_str();
    let set = |values: &[&str], ttl: u32| -> Vec<Desired> {
        values
            .iter()
            .map(|v| Desired {
                name: name.clone(),
                rtype,
                ttl,
                value: Some((*v).to_owned()),
                ownership: Ownership::WholeName,
            })
            .collect()
    };
    let [first, respelt, second] = values;
    converge(provider, zone, &set(first, 300), step)?;
    let same = plan(provider, zone, &set(respelt, 300), false).map_err(|e| fail(step, e))?;
    if !same.is_empty() {
        return Err(fail(
            step,
            format!(
                "another spelling of the same value plans {:?}",
                same.changes
            ),
        ));
    }
    converge(provider, zone, &set(second, 300), step)?;
    converge(provider, zone, &set(second, 900), step)?;
    let none = [Desired {
        name: name.clone(),
        rtype,
        ttl: 300,
        value: None,
        ownership: Ownership::WholeName,
    }];
    converge(provider, zone, &none, step)
}

/// A CNAME (a DKIM selector delegated to a mail service).
pub fn cname(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    type_round_trip(
        provider,
        zone,
        RecordType::Cname,
        format!("delegated._domainkey.{zone}"),
        [
            &["s1.dkim.mailer.example.net."],
            &["S1.DKIM.Mailer.Example.NET"],
            &["s2.dkim.mailer.example.net"],
        ],
    )
}

/// An MX set of two hosts, then a changed preference.
pub fn mx(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    type_round_trip(
        provider,
        zone,
        RecordType::Mx,
        format!("mx.{zone}"),
        [
            &["10 mx1.example.net.", "20 mx2.example.net."],
            &["10 MX1.example.net", "20  mx2.example.net."],
            &["5 mx1.example.net", "20 mx2.example.net"],
        ],
    )
}

/// A TLSA record (DANE-EE, SPKI, SHA-256).
pub fn tlsa(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let a = "8D02536C887482BC34FF54E41D2BA659BF85B341A0A20AFADB5813DCFBCF286D";
    let b = "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";
    let first = format!("3 1 1 {a}");
    let respelt = format!("3 1 1 {} {}", &a[..32].to_ascii_lowercase(), &a[32..]);
    let second = format!("3 1 1 {b}");
    type_round_trip(
        provider,
        zone,
        RecordType::Tlsa,
        format!("_25._tcp.mail.{zone}"),
        [&[&first], &[&respelt], &[&second]],
    )
}

/// A provider narrowed to TXT that counts every call reaching the real one: what a test uses to
/// check that a record type the provider cannot hold is refused before any request.
#[derive(Debug)]
pub struct TxtOnly<'a> {
    inner: &'a dyn Provider,
    calls: AtomicUsize,
}

impl<'a> TxtOnly<'a> {
    /// `inner`, claiming to hold TXT records only.
    pub fn new(inner: &'a dyn Provider) -> Self {
        TxtOnly {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    /// Calls that reached `inner`.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Provider for TxtOnly<'_> {
    fn records(
        &self,
        zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.records(zone, name, rtype)
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.apply(zone, changes)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            record_types: &[RecordType::Txt],
            ..self.inner.capabilities()
        }
    }
}

/// A record of a type the provider cannot hold is refused by `plan`, before any request; so is
/// a value that is not valid for its type.
pub fn unsupported_type_refused_in_plan(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let step = "unsupported_type_refused_in_plan";
    let narrowed = TxtOnly::new(provider);
    let mut want = mail_records(zone, "v=spf1 mx -all", 300);
    want.push(Desired {
        name: format!("mx.{zone}"),
        rtype: RecordType::Mx,
        ttl: 300,
        value: Some("10 mx1.example.net".into()),
        ownership: Ownership::WholeName,
    });
    match plan(&narrowed, zone, &want, false) {
        Err(ProviderError::UnsupportedType {
            rtype: RecordType::Mx,
            ..
        }) => {}
        other => {
            return Err(fail(
                step,
                format!("expected UnsupportedType, got {other:?}"),
            ));
        }
    }
    let bad = [Desired {
        value: Some("mx1.example.net".into()),
        ..want[2].clone()
    }];
    match plan(provider, zone, &bad, false) {
        Err(ProviderError::InvalidValue { .. }) => {}
        other => return Err(fail(step, format!("expected InvalidValue, got {other:?}"))),
    }
    match narrowed.calls() {
        0 => check_foreign(provider, zone, step),
        n => Err(fail(step, format!("{n} requests reached the provider"))),
    }
}

/// A change made behind the plan's back is detected at apply time, and planning again
/// converges.
pub fn conflict_detected(provider: &dyn Provider, zone: &str) -> Result<(), String> {
    let step = "conflict_detected";
    converge(
        provider,
        zone,
        &mail_records(zone, "v=spf1 mx ip4:192.0.2.0/24 -all", 300),
        step,
    )?;
    let want = mail_records(zone, "v=spf1 mx -all", 300);
    let stale = plan(provider, zone, &want, false).map_err(|e| fail(step, e))?;
    let current = provider
        .records(zone, zone, RecordType::Txt)
        .map_err(|e| fail(step, e))?
        .into_iter()
        .find(|r| owned(Ownership::SpfValue, &r.value))
        .ok_or_else(|| fail(step, "no SPF record"))?;
    let behind = Record {
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
        .map_err(|e| fail(step, e))?;
    match apply_plan(provider, zone, &stale) {
        Err(ProviderError::Conflict { .. }) => {}
        other => {
            return Err(fail(step, format!("a stale plan was applied: {other:?}")));
        }
    }
    converge(provider, zone, &want, step)
}

/// The records a fault step starts from (`new == false`) and moves to: the SPF value and the
/// DMARC record updated, selector `fa` deleted and `fb` created, so a fault can meet an update,
/// a delete and a create.
fn fault_records(zone: &str, new: bool) -> Vec<Desired> {
    let key = |n: &str| format!("v=DKIM1; k=rsa; p=MIIB{n}faultstep");
    if new {
        let mut want = mail_records(zone, "v=spf1 mx a -all", 300);
        want[1].value = Some(format!("v=DMARC1; p=reject; rua=mailto:dmarc@{zone}"));
        want.push(selector(zone, "fa", None));
        want.push(selector(zone, "fb", Some(key("b"))));
        want
    } else {
        let mut want = mail_records(zone, "v=spf1 mx -all", 300);
        want.push(selector(zone, "fa", Some(key("a"))));
        want.push(selector(zone, "fb", None));
        want
    }
}

/// Check that every set of the fault records reads back (through `direct`) either exactly as
/// the old records say or exactly as the new ones do; `Err` names the first set that is half
/// way.
pub fn fully_old_or_new(direct: &dyn Provider, zone: &str, step: &str) -> Result<(), String> {
    let (old, new) = (fault_records(zone, false), fault_records(zone, true));
    for d in &new {
        let now = read_back(direct, zone, d).map_err(|e| fail(step, e))?;
        let was = expected(&old, d).map_err(|e| fail(step, e))?;
        let will = expected(&new, d).map_err(|e| fail(step, e))?;
        if now != was && now != will {
            return Err(fail(
                step,
                format!(
                    "{} {} is half way: {now:?}, neither the old {was:?} nor the new {will:?}",
                    d.name, d.rtype
                ),
            ));
        }
    }
    check_foreign(direct, zone, step)
}

/// The fault step. `faulty` reaches the backend through a fault injector, `direct` reads the
/// backend itself; `arm` turns the fault on, `disarm` off. It converges on the old fault
/// records, arms the fault, plans and applies the new ones through `faulty`, and checks right
/// after that every set is fully old or fully new (read through `direct`); then, disarmed, it
/// converges on the new records (plan, apply, an empty second plan, values read back) and
/// reads them through `direct` too. `Ok` holds what the faulted plan-and-apply returned (an
/// error, or `Ok` when the change went through despite the fault, e.g. a lost answer whose
/// change was made and found by the re-read) for the caller to judge its kind and message.
pub fn survives_fault(
    faulty: &dyn Provider,
    direct: &dyn Provider,
    zone: &str,
    arm: &dyn Fn(),
    disarm: &dyn Fn(),
) -> Result<Result<(), ProviderError>, String> {
    converge(
        faulty,
        zone,
        &fault_records(zone, false),
        "survives_fault (before)",
    )?;
    let new = fault_records(zone, true);
    arm();
    let faulted = plan(faulty, zone, &new, false).and_then(|p| apply_plan(faulty, zone, &p));
    disarm();
    fully_old_or_new(direct, zone, "survives_fault (right after the fault)")?;
    converge(faulty, zone, &new, "survives_fault (rerun)")?;
    reads_back(direct, zone, &new, "survives_fault (rerun, read directly)")?;
    Ok(faulted)
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

    /// Applies an update as "add the new value" only, then fails: the SPF set holds both.
    #[derive(Debug)]
    struct HalfWay(MemoryProvider);

    impl Provider for HalfWay {
        fn records(&self, z: &str, n: &str, t: RecordType) -> Result<Vec<Record>, ProviderError> {
            self.0.records(z, n, t)
        }
        fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
            for change in changes {
                if let Change::Update { to, .. } = change {
                    self.0.apply(zone, &[Change::Create(to.clone())])?;
                }
            }
            Err(ProviderError::Unreachable {
                provider: "half-way".into(),
                reason: "reset".into(),
            })
        }
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities()
        }
    }

    fn seeded() -> MemoryProvider {
        let provider = MemoryProvider::default();
        provider.seed("example.test", "example.test", 300, FOREIGN, false);
        provider
    }

    #[test]
    fn the_fault_step_passes_a_fault_that_changes_nothing_and_fails_a_half_way_one() {
        let memory = seeded();
        let armed = std::cell::Cell::new(false);
        let outcome = survives_fault(
            &memory,
            &memory,
            "example.test",
            &|| armed.set(true),
            &|| armed.set(false),
        )
        .unwrap();
        assert!(outcome.is_ok() && !armed.get());
        let half = HalfWay(seeded());
        // The old records first, for real.
        converge(
            &half.0,
            "example.test",
            &fault_records("example.test", false),
            "seed",
        )
        .unwrap();
        let p = plan(
            &half,
            "example.test",
            &fault_records("example.test", true),
            false,
        )
        .unwrap();
        assert!(apply_plan(&half, "example.test", &p).is_err());
        let err = fully_old_or_new(&half, "example.test", "half").unwrap_err();
        assert!(err.contains("half way"), "{err}");
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
