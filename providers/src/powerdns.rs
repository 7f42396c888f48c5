//! PowerDNS Authoritative through its HTTP API: rrsets read with `GET .../zones/ZONE` and written
//! with `PATCH` (`changetype` REPLACE or DELETE), TXT content quoted in 255-byte strings, CNAME
//! and MX hosts absolute, TLSA as `USAGE SELECTOR MATCHING HEX`. An rrset mailauth writes carries
//! the comment "managed by mailauth". HTTP 401/403 is a rejected key, 404 a zone this server
//! does not have (configuration), 429 (waited out after `Retry-After`) and 5xx a temporary
//! failure; a PATCH whose answer was lost is not sent again (the plan's re-read decides). The API key comes from the
//! caller (an environment variable or a private file, never the command line).

use serde::Deserialize;

use crate::{Capabilities, Change, Mx, Provider, ProviderError, Record, RecordType, absolute_host};

/// The comment on rrsets mailauth writes.
pub const COMMENT: &str = "managed by mailauth";

/// A PowerDNS server's API.
pub struct PowerDns {
    base: String,
    server: String,
    key: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for PowerDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "PowerDns({})", self.base)
    }
}

#[derive(Debug, Deserialize)]
struct Zone {
    rrsets: Vec<RrSet>,
}

#[derive(Debug, Deserialize)]
struct RrSet {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    ttl: u32,
    records: Vec<Content>,
    #[serde(default)]
    comments: Vec<Comment>,
}

#[derive(Debug, Deserialize)]
struct Content {
    content: String,
}

#[derive(Debug, Deserialize)]
struct Comment {
    content: String,
}

impl PowerDns {
    /// The API at `base` (e.g. `http://127.0.0.1:8081`), server id `localhost`, with `key`.
    /// Plain HTTP is accepted only for loopback addresses.
    pub fn new(base: &str, key: String) -> Result<PowerDns, ProviderError> {
        let (base, agent) = crate::http_client("powerdns", base)?;
        Ok(PowerDns {
            base,
            server: "localhost".into(),
            key,
            agent,
        })
    }

    /// The same API with `timeout` for each request instead of
    /// [`crate::DEFAULT_HTTP_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> PowerDns {
        self.agent = crate::http_agent(timeout);
        self
    }

    fn url(&self, zone: &str) -> String {
        format!(
            "{}/api/v1/servers/{}/zones/{}.",
            self.base,
            self.server,
            zone.trim_end_matches('.')
        )
    }

    fn provider(&self) -> String {
        format!("powerdns {}", self.base)
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Unreachable {
            provider: self.provider(),
            reason: e.to_string(),
        }
    }

    /// Turn an error status into an error of the right kind that says what to do.
    fn status_error(&self, status: u16, body: &str) -> ProviderError {
        let detail = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| body.chars().take(300).collect());
        let provider = format!("powerdns {}", self.base);
        match status {
            404 => ProviderError::Local {
                provider,
                reason: format!(
                    "HTTP 404: no such zone on this server ({detail}); check the domain and url"
                ),
            },
            401 | 403 => ProviderError::Credentials {
                provider,
                reason: format!("HTTP {status}: the API key was rejected ({detail})"),
            },
            422 => ProviderError::Refused {
                provider,
                reason: format!("HTTP 422: PowerDNS refused the records as invalid: {detail}"),
            },
            _ => crate::http_status_error(provider, status, format!("HTTP {status}: {detail}")),
        }
    }

    fn zone(&self, zone: &str) -> Result<Zone, ProviderError> {
        let answer = crate::http_exchange(&self.provider(), crate::Repeat::Idempotent, || {
            self.agent
                .get(&self.url(zone))
                .header("X-API-Key", &self.key)
                .call()
        })
        .map_err(|e| e.context(&format!("GET zone {zone}")))?;
        if answer.status != 200 {
            return Err(self
                .status_error(answer.status, &answer.body)
                .context(&format!("GET zone {zone}")));
        }
        serde_json::from_str(&answer.body).map_err(|e| {
            self.unreachable(format!(
                "GET zone {zone}: HTTP 200 with unreadable zone JSON ({e})"
            ))
        })
    }

    fn records_at(
        &self,
        zone: &Zone,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        zone_records(zone, name, rtype)
    }

    /// The rrset of `name`/`rtype` after `changes`, as a PATCH entry (foreign values kept).
    fn rrset_patch(
        &self,
        current: &Zone,
        name: &str,
        rtype: RecordType,
        changes: &[Change],
    ) -> Result<serde_json::Value, ProviderError> {
        let mut values: Vec<String> = self
            .records_at(current, name, rtype)?
            .into_iter()
            .map(|r| r.value)
            .collect();
        let mut ttl = current
            .rrsets
            .iter()
            .find(|r| r.rtype == rtype.as_str() && r.name.eq_ignore_ascii_case(&format!("{name}.")))
            .map_or(3600, |r| r.ttl);
        for change in changes
            .iter()
            .filter(|c| c.name() == name && c.rtype() == rtype)
        {
            match change {
                Change::Create(r) => {
                    values.push(r.value.clone());
                    ttl = r.ttl;
                }
                Change::Update { from, to } => {
                    values.retain(|v| *v != from.value);
                    values.push(to.value.clone());
                    ttl = to.ttl;
                }
                Change::Delete(r) => values.retain(|v| *v != r.value),
            }
        }
        let fqdn = format!("{name}.");
        if values.is_empty() {
            return Ok(
                serde_json::json!({"name": fqdn, "type": rtype.as_str(), "changetype": "DELETE"}),
            );
        }
        let records: Vec<serde_json::Value> = values
            .iter()
            .map(|v| serde_json::json!({"content": write_content(rtype, v), "disabled": false}))
            .collect();
        Ok(serde_json::json!({
            "name": fqdn, "type": rtype.as_str(), "ttl": ttl, "changetype": "REPLACE",
            "records": records,
            "comments": [{"content": COMMENT, "account": "mailauth"}],
        }))
    }
}

/// The records of `name`/`rtype` in a zone answer (`GET .../zones/ZONE`), canonical.
fn zone_records(zone: &Zone, name: &str, rtype: RecordType) -> Result<Vec<Record>, ProviderError> {
    let fqdn = format!("{name}.");
    let mut out = Vec::new();
    for set in zone
        .rrsets
        .iter()
        .filter(|r| r.rtype == rtype.as_str() && r.name.eq_ignore_ascii_case(&fqdn))
    {
        let managed = set.comments.iter().any(|c| c.content == COMMENT);
        for content in &set.records {
            out.push(Record {
                name: name.to_owned(),
                rtype,
                ttl: set.ttl,
                value: read_content(rtype, &content.content)?,
                managed,
            });
        }
    }
    Ok(out)
}

/// A zone answer's body read as [`PowerDns`] reads it: the JSON, then the records of
/// `name`/`rtype`. For the fuzz targets (fuzz/), which have no server.
#[doc(hidden)]
pub fn parse_zone_answer(
    body: &str,
    name: &str,
    rtype: RecordType,
) -> Result<Vec<Record>, ProviderError> {
    let zone: Zone = serde_json::from_str(body).map_err(|e| ProviderError::Unreachable {
        provider: "powerdns".into(),
        reason: format!("unreadable zone JSON: {e}"),
    })?;
    zone_records(&zone, name, rtype)
}

/// A record's content from the API, canonical.
fn read_content(rtype: RecordType, content: &str) -> Result<String, ProviderError> {
    match rtype {
        RecordType::Txt => Ok(mailauth_base::txt::unquote(content)),
        _ => rtype.canonical(content),
    }
}

/// A canonical value as API content.
fn write_content(rtype: RecordType, value: &str) -> String {
    match rtype {
        RecordType::Txt => mailauth_base::txt::quote_all(value),
        RecordType::Cname => absolute_host(value),
        RecordType::Mx => Mx::parse(value).map_or_else(
            || value.to_owned(),
            |mx| format!("{} {}", mx.preference, absolute_host(&mx.host)),
        ),
        _ => value.to_owned(),
    }
}

impl Provider for PowerDns {
    fn records(
        &self,
        zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        let zone = self.zone(zone)?;
        self.records_at(&zone, &name.to_ascii_lowercase(), rtype)
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let current = self.zone(zone)?;
        // The whole rrset of each touched name and type after the changes.
        let mut sets: Vec<(String, RecordType)> = changes
            .iter()
            .map(|c| (c.name().to_owned(), c.rtype()))
            .collect();
        sets.sort();
        sets.dedup();
        let rrsets = sets
            .iter()
            .map(|(name, rtype)| self.rrset_patch(&current, name, *rtype, changes))
            .collect::<Result<Vec<_>, _>>()?;
        let body = serde_json::json!({ "rrsets": rrsets });
        // Not sent again after a failure once it may have arrived: the plan's re-read decides
        // whether it took effect.
        let answer = crate::http_exchange(&self.provider(), crate::Repeat::Once, || {
            self.agent
                .patch(&self.url(zone))
                .header("X-API-Key", &self.key)
                .send_json(&body)
        })
        .map_err(|e| e.context(&format!("PATCH zone {zone}")))?;
        if answer.status != 204 && answer.status != 200 {
            return Err(self
                .status_error(answer.status, &answer.body)
                .context(&format!("PATCH zone {zone}")));
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_prerequisites: false,
            record_types: &RecordType::ALL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(PowerDns::new("http://127.0.0.1:8081", "k".into()).is_ok());
        assert!(PowerDns::new("http://dns.example.com", "k".into()).is_err());
        assert!(
            format!(
                "{:?}",
                PowerDns::new("https://dns.example.com", "secret".into()).unwrap()
            )
            .find("secret")
            .is_none()
        );
    }
}
