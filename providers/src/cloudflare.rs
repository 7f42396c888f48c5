//! Cloudflare through API v4: the zone found by name, TXT records listed page by page, created,
//! updated and deleted by record id. Values are sent as quoted 255-byte strings and read back in
//! canonical form, whatever chunking Cloudflare returns. Records mailauth writes carry the comment
//! "managed by mailauth". HTTP 429 is retried after `retry-after`; authentication errors
//! (codes 10000, 6003) and "already exists" on create (81057, 81058: the change is done) are
//! recognised. The token comes from the caller (environment variable or private file).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Capabilities, Change, Provider, ProviderError, Record};
use mailauth_base::txt::{quote_all, unquote};

/// The comment on records mailauth writes.
pub const COMMENT: &str = "managed by mailauth";
/// The public API.
pub const DEFAULT_BASE: &str = "https://api.cloudflare.com/client/v4";
/// How many times one request is retried after HTTP 429.
const MAX_RETRIES: u32 = 5;

/// A Cloudflare account's API.
pub struct Cloudflare {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Cloudflare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cloudflare({})", self.base)
    }
}

struct Listed {
    id: String,
    record: Record,
}

impl Cloudflare {
    /// The API at `base` (default [`DEFAULT_BASE`]) with `token`. Plain HTTP only to loopback.
    pub fn new(base: Option<&str>, token: String) -> Result<Cloudflare, ProviderError> {
        let (base, agent) = crate::http_client("cloudflare", base.unwrap_or(DEFAULT_BASE))?;
        Ok(Cloudflare { base, token, agent })
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> ProviderError {
        ProviderError::Unreachable {
            provider: format!("cloudflare {}", self.base),
            reason: reason.to_string(),
        }
    }

    fn refused(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Refused {
            provider: format!("cloudflare {}", self.base),
            reason: reason.into(),
        }
    }

    /// One API call; returns the parsed body when `success` is true. Retries HTTP 429.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ProviderError> {
        if matches!(method, "POST" | "PUT") && body.is_none() {
            return Err(self.refused(format!("internal: {method} without a body")));
        }
        let url = format!("{}{path}", self.base);
        for attempt in 0..=MAX_RETRIES {
            let auth = format!("Bearer {}", self.token);
            let response = crate::with_retries(|| match (method, body) {
                ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
                ("DELETE", _) => self
                    .agent
                    .delete(&url)
                    .header("Authorization", &auth)
                    .call(),
                ("POST", Some(b)) => self
                    .agent
                    .post(&url)
                    .header("Authorization", &auth)
                    .send_json(b),
                ("PUT", Some(b)) => self
                    .agent
                    .put(&url)
                    .header("Authorization", &auth)
                    .send_json(b),
                _ => self.agent.get(&url).header("Authorization", &auth).call(),
            });
            let mut response = response.map_err(|e| self.unreachable(e))?;
            let status = response.status().as_u16();
            if status == 429 && attempt < MAX_RETRIES {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .min(60);
                std::thread::sleep(Duration::from_secs(wait));
                continue;
            }
            let text = response
                .body_mut()
                .read_to_string()
                .map_err(|e| self.unreachable(e))?;
            let value: Value = serde_json::from_str(&text).map_err(|_| {
                self.unreachable(format!(
                    "HTTP {status}: not JSON: {}",
                    text.chars().take(200).collect::<String>()
                ))
            })?;
            if value["success"] == Value::Bool(true) {
                return Ok(value);
            }
            return Err(self.explain(status, &value));
        }
        Err(self.unreachable("still rate limited (HTTP 429) after retries"))
    }

    fn explain(&self, status: u16, body: &Value) -> ProviderError {
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        let codes: Vec<i64> = errors.iter().filter_map(|e| e["code"].as_i64()).collect();
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{} {}", e["code"], e["message"].as_str().unwrap_or("")))
            .collect();
        if codes.iter().any(|c| *c == 10000 || *c == 6003) || status == 401 || status == 403 {
            return self.refused(format!(
                "authentication failed ({}): check the API token and that it has Zone.DNS edit permission for this zone",
                messages.join("; ")
            ));
        }
        if status >= 500 {
            return self.unreachable(format!("HTTP {status}: {}", messages.join("; ")));
        }
        self.refused(format!("HTTP {status}: {}", messages.join("; ")))
    }

    fn zone_id(&self, zone: &str) -> Result<String, ProviderError> {
        let body = self.call(
            "GET",
            &format!("/zones?name={}", zone.trim_end_matches('.')),
            None,
        )?;
        body["result"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.refused(format!("no zone named {zone} in this account")))
    }

    fn list(&self, zone_id: &str, name: &str) -> Result<Vec<Listed>, ProviderError> {
        let mut out = Vec::new();
        let mut page = 1u64;
        loop {
            let body = self.call(
                "GET",
                &format!(
                    "/zones/{zone_id}/dns_records?type=TXT&name={name}&page={page}&per_page=100"
                ),
                None,
            )?;
            for item in body["result"].as_array().cloned().unwrap_or_default() {
                if !item["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                out.push(Listed {
                    id: item["id"].as_str().unwrap_or_default().to_owned(),
                    record: Record {
                        name: name.to_owned(),
                        ttl: item["ttl"]
                            .as_u64()
                            .and_then(|t| u32::try_from(t).ok())
                            .unwrap_or(1),
                        value: unquote_or_plain(item["content"].as_str().unwrap_or_default()),
                        managed: item["comment"].as_str() == Some(COMMENT),
                    },
                });
            }
            let total = body["result_info"]["total_pages"].as_u64().unwrap_or(1);
            if page >= total {
                return Ok(out);
            }
            page += 1;
        }
    }

    fn body(record: &Record) -> Value {
        json!({"type": "TXT", "name": record.name, "content": quote_all(&record.value), "ttl": record.ttl, "comment": COMMENT})
    }
}

/// Cloudflare may return TXT content quoted (in any chunking) or as a bare string.
fn unquote_or_plain(content: &str) -> String {
    if content.starts_with('"') {
        unquote(content)
    } else {
        content.to_owned()
    }
}

impl Provider for Cloudflare {
    fn records(&self, zone: &str, name: &str) -> Result<Vec<Record>, ProviderError> {
        let id = self.zone_id(zone)?;
        Ok(self
            .list(&id, &name.to_ascii_lowercase())?
            .into_iter()
            .map(|l| l.record)
            .collect())
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let zone_id = self.zone_id(zone)?;
        for change in changes {
            let find = |record: &Record| -> Result<String, ProviderError> {
                self.list(&zone_id, &record.name)?
                    .into_iter()
                    .find(|l| l.record.value == record.value)
                    .map(|l| l.id)
                    .ok_or_else(|| ProviderError::Conflict {
                        name: record.name.clone(),
                        reason: format!("\"{}\" is no longer there", record.value),
                    })
            };
            match change {
                Change::Create(record) => match self.call(
                    "POST",
                    &format!("/zones/{zone_id}/dns_records"),
                    Some(&Self::body(record)),
                ) {
                    Ok(_) => {}
                    // 81057/81058: an identical record exists: the change is already done.
                    Err(ProviderError::Refused { reason, .. })
                        if reason.contains("81057") || reason.contains("81058") => {}
                    Err(e) => return Err(e),
                },
                Change::Update { from, to } => {
                    let id = find(from)?;
                    self.call(
                        "PUT",
                        &format!("/zones/{zone_id}/dns_records/{id}"),
                        Some(&Self::body(to)),
                    )?;
                }
                Change::Delete(record) => {
                    let id = find(record)?;
                    self.call(
                        "DELETE",
                        &format!("/zones/{zone_id}/dns_records/{id}"),
                        None,
                    )?;
                }
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}
