//! An in-memory provider for tests: records per zone, changes applied in order.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Capabilities, Change, Provider, ProviderError, Record};

/// Records held in memory.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    zones: Mutex<HashMap<String, Vec<Record>>>,
}

impl MemoryProvider {
    /// Put a record in place directly (as another tool or person would have).
    pub fn seed(&self, zone: &str, name: &str, ttl: u32, value: &str, managed: bool) {
        if let Ok(mut zones) = self.zones.lock() {
            zones.entry(zone.to_owned()).or_default().push(Record {
                name: name.to_owned(),
                ttl,
                value: value.to_owned(),
                managed,
            });
        }
    }
}

fn poisoned() -> ProviderError {
    ProviderError::Unreachable {
        provider: "memory".into(),
        reason: "lock poisoned".into(),
    }
}

impl Provider for MemoryProvider {
    fn records(&self, zone: &str, name: &str) -> Result<Vec<Record>, ProviderError> {
        let zones = self.zones.lock().map_err(|_| poisoned())?;
        Ok(zones
            .get(zone)
            .map(|records| records.iter().filter(|r| r.name == name).cloned().collect())
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
                    let i = records
                        .iter()
                        .position(|r| r.name == from.name && r.value == from.value)
                        .ok_or_else(|| ProviderError::Conflict {
                            name: from.name.clone(),
                            reason: "record to update not found".into(),
                        })?;
                    records[i] = Record {
                        managed: true,
                        ..to.clone()
                    };
                }
                Change::Delete(old) => {
                    records.retain(|r| !(r.name == old.name && r.value == old.value));
                }
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_prerequisites: true,
        }
    }
}
