//! An in-memory provider for tests: records per zone, changes applied in order, every record
//! type held.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Capabilities, Change, Provider, ProviderError, Record, RecordType};

/// Records held in memory.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    zones: Mutex<HashMap<String, Vec<Record>>>,
}

impl MemoryProvider {
    /// Put a TXT record in place directly (as another tool or person would have).
    pub fn seed(&self, zone: &str, name: &str, ttl: u32, value: &str, managed: bool) {
        self.seed_record(
            zone,
            Record {
                name: name.to_owned(),
                rtype: RecordType::Txt,
                ttl,
                value: value.to_owned(),
                managed,
            },
        );
    }

    /// Put any record in place directly.
    pub fn seed_record(&self, zone: &str, record: Record) {
        if let Ok(mut zones) = self.zones.lock() {
            zones.entry(zone.to_owned()).or_default().push(record);
        }
    }
}

fn poisoned() -> ProviderError {
    ProviderError::Local {
        provider: "memory".into(),
        reason: "lock poisoned by a panic in another thread".into(),
    }
}

fn same(a: &Record, b: &Record) -> bool {
    a.name == b.name && a.rtype == b.rtype && a.value == b.value
}

impl Provider for MemoryProvider {
    fn records(
        &self,
        zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        let zones = self.zones.lock().map_err(|_| poisoned())?;
        Ok(zones
            .get(zone)
            .map(|records| {
                records
                    .iter()
                    .filter(|r| r.name == name && r.rtype == rtype)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let mut zones = self.zones.lock().map_err(|_| poisoned())?;
        let records = zones.entry(zone.to_owned()).or_default();
        for change in changes {
            match change {
                Change::Create(r) => records.push(Record {
                    managed: true,
                    ..r.clone()
                }),
                Change::Update { from, to } => {
                    let i = records.iter().position(|r| same(r, from)).ok_or_else(|| {
                        ProviderError::Conflict {
                            name: from.name.clone(),
                            reason: "record to update not found".into(),
                        }
                    })?;
                    records[i] = Record {
                        managed: true,
                        ..to.clone()
                    };
                }
                Change::Delete(old) => records.retain(|r| !same(r, old)),
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_prerequisites: true,
            record_types: &RecordType::ALL,
        }
    }
}
