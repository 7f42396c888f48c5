//! Cloudflare through API v4: the zone found by name, records of one type listed page by page,
//! created, updated and deleted by record id. TXT values are sent as quoted 255-byte strings and
//! read back in canonical form, whatever chunking Cloudflare returns; CNAME and MX hosts go in
//! `content` (MX with `priority`), TLSA in `data`. Records mailauth writes carry the comment
//! "managed by mailauth". HTTP 429 is retried after `retry-after`; a create or delete whose
//! answer was lost is not sent again (the plan's re-read decides whether it took effect). Failures are told apart by the
//! HTTP status and the numeric error codes in the JSON body, never by message text:
//! authentication (10000, 6003, HTTP 401/403), "already exists" on create (81057, 81058: the
//! change is done), 429/5xx temporary. The token comes from the caller (see the registry).

use serde_json::{Value, json};

use crate::{Capabilities, Change, Mx, Provider, ProviderError, Record, RecordType, Tlsa};
use mailauth_base::txt::{quote_all, unquote};

/// The comment on records mailauth writes.
pub const COMMENT: &str = "managed by mailauth";
/// The public API.
pub const DEFAULT_BASE: &str = "https://api.cloudflare.com/client/v4";
/// Error codes meaning the token is not valid or lacks permission.
const AUTH_CODES: [i64; 2] = [10000, 6003];
/// Error codes meaning an identical record already exists.
const EXISTS_CODES: [i64; 2] = [81057, 81058];

/// An answer with `success: false`: the HTTP status and the API's errors.
#[derive(Debug)]
struct ApiFailure {
    status: u16,
    codes: Vec<i64>,
    messages: String,
}

impl ApiFailure {
    fn from_body(status: u16, body: &Value) -> ApiFailure {
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        ApiFailure {
            status,
            codes: errors.iter().filter_map(|e| e["code"].as_i64()).collect(),
            messages: errors
                .iter()
                .map(|e| format!("{} {}", e["code"], e["message"].as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    fn has_code(&self, codes: &[i64]) -> bool {
        self.codes.iter().any(|c| codes.contains(c))
    }
}

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

    /// The same API with `timeout` for each request instead of
    /// [`crate::DEFAULT_HTTP_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Cloudflare {
        self.agent = crate::http_agent(timeout);
        self
    }

    fn provider(&self) -> String {
        format!("cloudflare {}", self.base)
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let auth = format!("Bearer {}", self.token);
        match (method, body) {
            ("DELETE", _) => self.agent.delete(url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => self
                .agent
                .post(url)
                .header("Authorization", &auth)
                .send_json(b),
            ("PUT", Some(b)) => self
                .agent
                .put(url)
                .header("Authorization", &auth)
                .send_json(b),
            _ => self.agent.get(url).header("Authorization", &auth).call(),
        }
    }

    /// One API call: the parsed body when `success` is true, else the API's failure. Reads and
    /// updates by id are repeated after a transport failure, creates and deletes are not (the
    /// caller re-reads: [`crate::apply_plan`]); HTTP 429 is waited out (see
    /// [`crate::http_exchange`]); an answer that is not JSON is an error of its status's kind.
    fn call_api(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Result<Value, ApiFailure>, ProviderError> {
        let url = format!("{}{path}", self.base);
        let repeat = match method {
            "GET" | "PUT" => crate::Repeat::Idempotent,
            _ => crate::Repeat::Once,
        };
        let answer =
            crate::http_exchange(&self.provider(), repeat, || self.send(method, &url, body))
                .map_err(|e| e.context(&format!("{method} {path}")))?;
        let status = answer.status;
        let Ok(value) = serde_json::from_str::<Value>(&answer.body) else {
            let shown: String = answer.body.chars().take(200).collect();
            // A success status with a body that is not JSON is a broken server (treated as
            // 502); an error status keeps its own kind.
            let kind = if status < 400 { 502 } else { status };
            return Err(crate::http_status_error(
                self.provider(),
                kind,
                format!("{method} {path}: HTTP {status}: not JSON: {shown}"),
            ));
        };
        if value["success"] == Value::Bool(true) {
            return Ok(Ok(value));
        }
        Ok(Err(ApiFailure::from_body(status, &value)))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ProviderError> {
        self.call_api(method, path, body)?
            .map_err(|failure| self.explain(&failure))
    }

    /// The error for an API failure, by status and error code.
    fn explain(&self, failure: &ApiFailure) -> ProviderError {
        let status = failure.status;
        if failure.has_code(&AUTH_CODES) || status == 401 || status == 403 {
            return ProviderError::Credentials {
                provider: self.provider(),
                reason: format!(
                    "authentication failed ({}): check the API token and that it has Zone.DNS edit permission for this zone",
                    failure.messages
                ),
            };
        }
        crate::http_status_error(
            self.provider(),
            status,
            format!("HTTP {status}: {}", failure.messages),
        )
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
            .ok_or_else(|| ProviderError::Local {
                provider: self.provider(),
                reason: format!(
                    "no zone named {zone} in this account: check the domain and the token's account"
                ),
            })
    }

    fn list(
        &self,
        zone_id: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Listed>, ProviderError> {
        let mut out = Vec::new();
        let mut page = 1u64;
        loop {
            let body = self.call(
                "GET",
                &format!(
                    "/zones/{zone_id}/dns_records?type={rtype}&name={name}&page={page}&per_page=100"
                ),
                None,
            )?;
            out.extend(listed_page(&body, name, rtype)?);
            let total = body["result_info"]["total_pages"].as_u64().unwrap_or(1);
            if page >= total {
                return Ok(out);
            }
            page += 1;
        }
    }

    fn body(record: &Record) -> Value {
        let mut body = json!({"type": record.rtype.as_str(), "name": record.name, "ttl": record.ttl, "comment": COMMENT});
        match record.rtype {
            RecordType::Txt => body["content"] = json!(quote_all(&record.value)),
            RecordType::Cname => {
                body["content"] = json!(record.value);
                body["proxied"] = json!(false);
            }
            RecordType::Mx => {
                if let Some(mx) = Mx::parse(&record.value) {
                    body["content"] = json!(mx.host);
                    body["priority"] = json!(mx.preference);
                }
            }
            _ => {
                if let Some(tlsa) = Tlsa::parse(&record.value) {
                    body["data"] = json!({"usage": tlsa.usage, "selector": tlsa.selector,
                        "matching_type": tlsa.matching, "certificate": tlsa.hex()});
                }
            }
        }
        body
    }

    fn create(&self, zone_id: &str, record: &Record) -> Result<(), ProviderError> {
        let path = format!("/zones/{zone_id}/dns_records");
        match self.call_api("POST", &path, Some(&Self::body(record)))? {
            Ok(_) => Ok(()),
            // An identical record exists: the change is already done.
            Err(failure) if failure.has_code(&EXISTS_CODES) => Ok(()),
            Err(failure) => Err(self.explain(&failure)),
        }
    }

    fn find(&self, zone_id: &str, record: &Record) -> Result<String, ProviderError> {
        self.list(zone_id, &record.name, record.rtype)?
            .into_iter()
            .find(|l| l.record.value == record.value)
            .map(|l| l.id)
            .ok_or_else(|| ProviderError::Conflict {
                name: record.name.clone(),
                reason: format!(
                    "{} {} is no longer there",
                    record.rtype,
                    record.shown_value()
                ),
            })
    }
}

/// The records of `name`/`rtype` in one page of a `dns_records` listing (its `result` array);
/// items of other names or types are skipped.
fn listed_page(body: &Value, name: &str, rtype: RecordType) -> Result<Vec<Listed>, ProviderError> {
    let mut out = Vec::new();
    for item in body["result"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let same_name = item["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name));
        if !same_name || item["type"].as_str() != Some(rtype.as_str()) {
            continue;
        }
        out.push(Listed {
            id: item["id"].as_str().unwrap_or_default().to_owned(),
            record: Record {
                name: name.to_owned(),
                rtype,
                ttl: item["ttl"]
                    .as_u64()
                    .and_then(|t| u32::try_from(t).ok())
                    .unwrap_or(1),
                value: read_value(rtype, item)?,
                managed: item["comment"].as_str() == Some(COMMENT),
            },
        });
    }
    Ok(out)
}

/// A listing page's body read as [`Cloudflare`] reads it: JSON, then `success`, then the
/// records of `name`/`rtype`. For the fuzz targets (fuzz/), which have no server.
#[doc(hidden)]
pub fn parse_list_page(
    text: &str,
    name: &str,
    rtype: RecordType,
) -> Result<Vec<Record>, ProviderError> {
    let body = serde_json::from_str::<Value>(text).map_err(|e| {
        crate::http_status_error("cloudflare".into(), 502, format!("not JSON: {e}"))
    })?;
    if body["success"] != Value::Bool(true) {
        let failure = ApiFailure::from_body(200, &body);
        return Err(crate::http_status_error(
            "cloudflare".into(),
            failure.status,
            failure.messages,
        ));
    }
    Ok(listed_page(&body, name, rtype)?
        .into_iter()
        .map(|l| l.record)
        .collect())
}

/// A listed record's value, canonical.
fn read_value(rtype: RecordType, item: &Value) -> Result<String, ProviderError> {
    let content = item["content"].as_str().unwrap_or_default();
    match rtype {
        RecordType::Txt => Ok(unquote_or_plain(content)),
        RecordType::Mx => rtype.canonical(&format!("{} {content}", item["priority"])),
        RecordType::Tlsa if item["data"].is_object() => {
            let data = &item["data"];
            rtype.canonical(&format!(
                "{} {} {} {}",
                data["usage"],
                data["selector"],
                data["matching_type"],
                data["certificate"].as_str().unwrap_or_default()
            ))
        }
        _ => rtype.canonical(content),
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
    fn records(
        &self,
        zone: &str,
        name: &str,
        rtype: RecordType,
    ) -> Result<Vec<Record>, ProviderError> {
        let id = self.zone_id(zone)?;
        Ok(self
            .list(&id, &name.to_ascii_lowercase(), rtype)?
            .into_iter()
            .map(|l| l.record)
            .collect())
    }

    fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), ProviderError> {
        let zone_id = self.zone_id(zone)?;
        for change in changes {
            match self.apply_one(&zone_id, change) {
                Ok(()) => {}
                // The answer was lost (or a 5xx came) after the request may have arrived: the
                // record as it is now decides whether to go on with the next change.
                Err(e) if e.is_temporary() && self.took_effect(&zone_id, change) => {}
                Err(e) => return Err(e.context(&format!("{} {}", change.name(), change.rtype()))),
            }
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

impl Cloudflare {
    /// Whether `change` is in effect now (read back, judged as [`crate::apply_plan`] judges a
    /// whole plan; a failed read says no).
    fn took_effect(&self, zone_id: &str, change: &Change) -> bool {
        let Ok(listed) = self.list(zone_id, change.name(), change.rtype()) else {
            return false;
        };
        let now: Vec<Record> = listed.into_iter().map(|l| l.record).collect();
        crate::plan::not_in_effect(&[change], &now).is_none()
    }

    /// One change, by record id.
    fn apply_one(&self, zone_id: &str, change: &Change) -> Result<(), ProviderError> {
        match change {
            Change::Create(record) => self.create(zone_id, record),
            Change::Update { from, to } => {
                let id = self.find(zone_id, from)?;
                let path = format!("/zones/{zone_id}/dns_records/{id}");
                self.call("PUT", &path, Some(&Self::body(to))).map(drop)
            }
            Change::Delete(record) => {
                let id = self.find(zone_id, record)?;
                let path = format!("/zones/{zone_id}/dns_records/{id}");
                self.call("DELETE", &path, None).map(drop)
            }
        }
    }
}
