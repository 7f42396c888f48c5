//! PowerDNS Authoritative through its HTTP API: rrsets read with `GET .../zones/ZONE` and written
//! with `PATCH` (`changetype` REPLACE or DELETE), TXT content quoted in 255-byte strings. An
//! rrset mailauth writes carries the comment "managed by mailauth". The API key comes from the
//! caller (an environment variable or a private file, never the command line).

use serde::Deserialize;

use crate::{Capabilities, Change, Provider, ProviderError, Record};

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

    fn url(&self, zone: &str) -> String {
        format!(
            "{}/api/v1/servers/{}/zones/{}.",
            self.base,
            self.server,
            zone.trim_end_matches('.')
        )
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Unreachable {
            provider: format!("powerdns {}", self.base),
            reason: e.to_string(),
        }
    }

    /// Turn an error status into a message that says what to do.
    fn status_error(&self, status: u16, body: &str) -> ProviderError {
        let detail = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| body.chars().take(300).collect());
        let reason = match status {
            401 | 403 => format!("HTTP {status}: the API key was rejected ({detail})"),
            404 => format!("HTTP 404: no such zone on this server ({detail})"),
            422 => format!("HTTP 422: PowerDNS refused the records as invalid: {detail}"),
            _ => format!("HTTP {status}: {detail}"),
        };
        if status >= 500 {
            return self.unreachable(reason);
        }
        ProviderError::Refused {
            provider: format!("powerdns {}", self.base),
            reason,
        }
    }

    fn zone(&self, zone: &str) -> Result<Zone, ProviderError> {
        let mut response = crate::with_retries(|| {
            self.agent
                .get(&self.url(zone))
                .header("X-API-Key", &self.key)
                .call()
        })
        .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.unreachable(e))?;
        if status != 200 {
            return Err(self.status_error(status, &body));
        }
        serde_json::from_str(&body)
            .map_err(|e| self.unreachable(format!("unreadable zone JSON: {e}")))
    }

    fn txt_at(&self, zone: &Zone, name: &str) -> Vec<Record> {
        let fqdn = format!("{name}.");
        zone.rrsets
            .iter()
            .filter(|r| r.rtype == "TXT" && r.name.eq_ignore_ascii_case(&fqdn))
            .flat_map(|r| {
                let managed = r.comments.iter().any(|c| c.content == COMMENT);
                r.records.iter().map(move |c| Record {
                    name: name.to_owned(),
                    ttl: r.ttl,
                    value: mailauth_base::txt::unquote(&c.content),
                    managed,
                })
            })
            .collect()
    }
}

impl Provider for PowerDns {
    fn records(&self, zone: &str, name: &str) -> Result<Vec<Record>, ProviderError> {
        let zone = self.zone(zone)?;
        Ok(self.txt_at(&zone, &name.to_ascii_lowercase()))
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let current = self.zone(zone)?;
        // The whole TXT rrset of each touched name after the changes, foreign values kept.
        let mut names: Vec<String> = changes.iter().map(|c| c.name().to_owned()).collect();
        names.sort();
        names.dedup();
        let mut rrsets = Vec::new();
        for name in names {
            let mut values: Vec<(String, u32)> = self
                .txt_at(&current, &name)
                .into_iter()
                .map(|r| (r.value, r.ttl))
                .collect();
            let mut ttl = values.first().map_or(3600, |v| v.1);
            for change in changes.iter().filter(|c| c.name() == name) {
                match change {
                    Change::Create(r) => {
                        values.push((r.value.clone(), r.ttl));
                        ttl = r.ttl;
                    }
                    Change::Update { from, to } => {
                        values.retain(|v| v.0 != from.value);
                        values.push((to.value.clone(), to.ttl));
                        ttl = to.ttl;
                    }
                    Change::Delete(r) => values.retain(|v| v.0 != r.value),
                }
            }
            let fqdn = format!("{name}.");
            if values.is_empty() {
                rrsets
                    .push(serde_json::json!({"name": fqdn, "type": "TXT", "changetype": "DELETE"}));
            } else {
                rrsets.push(serde_json::json!({
                    "name": fqdn, "type": "TXT", "ttl": ttl, "changetype": "REPLACE",
                    "records": values.iter().map(|v| serde_json::json!({"content": mailauth_base::txt::quote_all(&v.0), "disabled": false})).collect::<Vec<_>>(),
                    "comments": [{"content": COMMENT, "account": "mailauth"}],
                }));
            }
        }
        let body = serde_json::json!({ "rrsets": rrsets });
        let mut response = crate::with_retries(|| {
            self.agent
                .patch(&self.url(zone))
                .header("X-API-Key", &self.key)
                .send_json(&body)
        })
        .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        if status != 204 && status != 200 {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            return Err(self.status_error(status, &body));
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
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
