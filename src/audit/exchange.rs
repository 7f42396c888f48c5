//! Audit of Microsoft Exchange receive connectors, from the JSON an administrator exports with
//! `Get-ReceiveConnector | ConvertTo-Json -Depth 4`, and optionally the anonymous relay grants
//! exported with `Get-ADPermission` (the right `ms-Exch-SMTP-Accept-Any-Recipient`).
//!
//! Exchange serialises the same property differently by PowerShell version and session (enum
//! flags as "Tls, BasicAuth" strings or as integers, bindings as strings or objects, files in
//! UTF-16 with a BOM from Windows PowerShell's `Out-File`); all of these are read. This module
//! never talks to Exchange, and cannot see transport rules, send connectors or firewalls.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

use super::{AuditError, AuditReport};
use crate::report::{Finding, Severity};

/// Every code this module can produce.
pub const CODES: &[&str] = &[
    "exchange.open_relay",
    "exchange.anonymous_relay_unscoped",
    "exchange.basic_auth_without_tls",
    "exchange.tls_not_required",
    "exchange.banner_version",
    "exchange.tls_disabled",
];

/// Largest export read: a big organisation's connectors are a few hundred kilobytes.
const MAX_FILE: usize = 32 * 1024 * 1024;

/// The PowerShell line that produces the `--receive-connectors` file.
pub const CONNECTORS_COMMAND: &str = "Get-ReceiveConnector | ConvertTo-Json -Depth 4 | Set-Content -Encoding UTF8 receive-connectors.json";

/// The PowerShell line that produces the `--permissions` file.
pub const PERMISSIONS_COMMAND: &str = "Get-ReceiveConnector | Get-ADPermission | Where-Object { $_.ExtendedRights -like \"ms-Exch-SMTP-Accept-Any-Recipient\" } | Select-Object @{n='Identity';e={\"$($_.Identity)\"}}, @{n='User';e={\"$($_.User)\"}}, @{n='ExtendedRights';e={\"$($_.ExtendedRights)\"}}, Deny, IsInherited | ConvertTo-Json -Depth 4 | Set-Content -Encoding UTF8 permissions.json";

/// Microsoft.Exchange.Data.PermissionGroups flag values.
const PERMISSION_GROUP_FLAGS: &[(u64, &str)] = &[
    (1, "AnonymousUsers"),
    (2, "ExchangeUsers"),
    (4, "ExchangeServers"),
    (8, "ExchangeLegacyServers"),
    (16, "Partners"),
    (32, "Custom"),
];

/// Microsoft.Exchange.Data.AuthMechanisms flag values.
const AUTH_MECHANISM_FLAGS: &[(u64, &str)] = &[
    (1, "Tls"),
    (2, "Integrated"),
    (4, "BasicAuth"),
    (8, "BasicAuthRequireTLS"),
    (16, "ExchangeServer"),
    (32, "ExternalAuthoritative"),
];

const ACCEPT_ANY_RECIPIENT: &str = "ms-exch-smtp-accept-any-recipient";

/// One receive connector, with flags lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// `Name`.
    pub name: String,
    /// `Identity` (`SERVER\Name`), or the name when absent.
    pub identity: String,
    /// `PermissionGroups`, lower-cased flag names.
    pub permission_groups: BTreeSet<String>,
    /// `AuthMechanism`, lower-cased flag names.
    pub auth_mechanisms: BTreeSet<String>,
    /// `RequireTLS`.
    pub require_tls: bool,
    /// Ports from `Bindings`.
    pub ports: Vec<u16>,
    /// `RemoteIPRanges` as written ("0.0.0.0-255.255.255.255", "10.0.0.0/24", ...).
    pub remote_ranges: Vec<String>,
    /// `Banner`, when set.
    pub banner: Option<String>,
    /// `Usage`, when the export has it (it is a creation parameter, often absent).
    pub usage: Option<String>,
}

impl Connector {
    fn label(&self) -> String {
        format!("receive connector {} ({})", self.name, self.identity)
    }

    fn has_auth(&self, flag: &str) -> bool {
        self.auth_mechanisms.contains(&flag.to_ascii_lowercase())
    }

    fn is_anonymous(&self) -> bool {
        self.permission_groups.contains("anonymoususers")
    }

    fn is_client(&self) -> bool {
        self.ports.contains(&587)
            || self
                .usage
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case("client"))
    }

    /// Accepts connections from every address (or the export does not say which).
    fn open_to_all(&self) -> bool {
        self.remote_ranges.is_empty() || self.remote_ranges.iter().any(|r| range_size(r) >= FULL)
    }
}

/// One `Get-ADPermission` entry about a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The connector it is on.
    pub identity: String,
    /// The account (`NT AUTHORITY\ANONYMOUS LOGON`).
    pub user: String,
    /// The extended rights, as text.
    pub rights: String,
    /// A deny entry.
    pub deny: bool,
}

impl Grant {
    fn is_anonymous_relay(&self) -> bool {
        self.user.to_ascii_uppercase().contains("ANONYMOUS LOGON")
            && self
                .rights
                .to_ascii_lowercase()
                .contains(ACCEPT_ANY_RECIPIENT)
    }

    fn applies_to(&self, connector: &Connector) -> bool {
        let id = self.identity.trim();
        id.eq_ignore_ascii_case(&connector.identity)
            || id.eq_ignore_ascii_case(&connector.name)
            || id
                .to_ascii_lowercase()
                .ends_with(&format!("\\{}", connector.name.to_ascii_lowercase()))
            || id.contains(&format!("CN={},", connector.name))
    }
}

/// Audit the connectors in `connectors` (and the grants in `permissions`, when given).
pub fn audit_files(
    connectors: &Path,
    permissions: Option<&Path>,
) -> Result<AuditReport, AuditError> {
    let list = parse_connectors(connectors)?;
    let grants = match permissions {
        Some(path) => Some(parse_grants(path)?),
        None => None,
    };
    let note = match permissions {
        Some(path) => format!("permissions {}", path.display()),
        None => "no --permissions: anonymous relay grants not checked".to_string(),
    };
    Ok(AuditReport {
        source: format!("exchange ({}; {note})", connectors.display()),
        findings: audit(&list, grants.as_deref()),
    })
}

/// Every check, connector by connector.
pub fn audit(connectors: &[Connector], grants: Option<&[Grant]>) -> Vec<Finding> {
    connectors
        .iter()
        .flat_map(|connector| {
            let mut findings = relay_findings(connector, grants.unwrap_or_default());
            findings.extend(auth_findings(connector));
            findings.extend(banner_findings(connector));
            findings
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading.

fn syntax(path: &Path, line: usize, message: impl Into<String>) -> AuditError {
    AuditError::Syntax {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// The file as text: UTF-8 (BOM or not) or UTF-16 with a BOM, as PowerShell writes.
fn read_text(path: &Path) -> Result<String, AuditError> {
    let bytes = std::fs::read(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() > MAX_FILE {
        return Err(syntax(
            path,
            0,
            "file larger than 32 MiB; is this a connector export?",
        ));
    }
    let utf16 = |le: bool| -> String {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|pair| {
                if le {
                    u16::from_le_bytes([pair[0], pair[1]])
                } else {
                    u16::from_be_bytes([pair[0], pair[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    Ok(match bytes.as_slice() {
        [0xFF, 0xFE, ..] => utf16(true),
        [0xFE, 0xFF, ..] => utf16(false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The JSON document's objects: one object or an array of them.
fn read_objects(
    path: &Path,
    what: &str,
) -> Result<Vec<serde_json::Map<String, Value>>, AuditError> {
    let text = read_text(path)?;
    if text.trim().is_empty() {
        return Err(syntax(
            path,
            0,
            format!("empty file; expected the JSON of {what}"),
        ));
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        syntax(
            path,
            e.line(),
            format!(
                "not valid JSON (column {}): {e}; expected the JSON of {what}",
                e.column()
            ),
        )
    })?;
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(map) => Ok(map),
            _ => Err(syntax(
                path,
                0,
                format!(
                    "element {} is not an object; expected the JSON of {what}",
                    index + 1
                ),
            )),
        })
        .collect()
}

/// A property by name, ignoring case (PowerShell does).
fn field<'v>(map: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v Value> {
    map.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// Any JSON value as text: strings joined, objects' values joined (serialised .NET objects).
fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => join_texts(items.iter()),
        Value::Object(map) => join_texts(map.values()),
    }
}

fn join_texts<'v>(values: impl Iterator<Item = &'v Value>) -> String {
    values
        .map(text_of)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Flag names from "A, B", an integer, an array of either, or `{ "value": ... }`.
fn flag_names(value: Option<&Value>, table: &[(u64, &str)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match value {
        Some(Value::String(s)) => out.extend(
            s.split([',', ' '])
                .filter(|f| !f.is_empty())
                .map(str::to_ascii_lowercase),
        ),
        Some(Value::Number(n)) => {
            let bits = n.as_u64().unwrap_or_default();
            out.extend(
                table
                    .iter()
                    .filter(|(bit, _)| bits & bit != 0)
                    .map(|(_, name)| name.to_ascii_lowercase()),
            );
        }
        Some(Value::Array(items)) => {
            for item in items {
                out.extend(flag_names(Some(item), table));
            }
        }
        Some(Value::Object(map)) => {
            out.extend(flag_names(field(map, "value"), table));
        }
        _ => {}
    }
    out
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
        _ => false,
    }
}

fn list_of(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// A binding's port: "0.0.0.0:587", "[::]:587" or `{ "Port": 587 }`.
fn binding_port(value: &Value) -> Option<u16> {
    match value {
        Value::Object(map) => field(map, "Port").and_then(|p| text_of(p).parse().ok()),
        other => text_of(other).rsplit(':').next()?.trim().parse().ok(),
    }
}

/// A range as text: a string, or an IPRange object's `Expression` or bounds.
fn range_text(value: &Value) -> String {
    let Value::Object(map) = value else {
        return text_of(value);
    };
    if let Some(expression) = field(map, "Expression") {
        return text_of(expression);
    }
    let bound = |name: &str| {
        field(map, name).map_or(String::new(), |v| match v {
            Value::Object(inner) => {
                field(inner, "IPAddressToString").map_or_else(|| text_of(v), text_of)
            }
            other => text_of(other),
        })
    };
    format!("{}-{}", bound("LowerBound"), bound("UpperBound"))
}

fn connector_from(
    path: &Path,
    index: usize,
    map: &serde_json::Map<String, Value>,
) -> Result<Connector, AuditError> {
    let name = field(map, "Name").map(text_of).unwrap_or_default();
    if name.is_empty() {
        return Err(syntax(
            path,
            0,
            format!(
                "connector {} has no Name; expected the output of `{CONNECTORS_COMMAND}`",
                index + 1
            ),
        ));
    }
    let identity = field(map, "Identity")
        .map(text_of)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| name.clone());
    Ok(Connector {
        identity,
        permission_groups: flag_names(field(map, "PermissionGroups"), PERMISSION_GROUP_FLAGS),
        auth_mechanisms: flag_names(field(map, "AuthMechanism"), AUTH_MECHANISM_FLAGS),
        require_tls: truthy(field(map, "RequireTLS")),
        ports: list_of(field(map, "Bindings"))
            .into_iter()
            .filter_map(binding_port)
            .collect(),
        remote_ranges: list_of(field(map, "RemoteIPRanges"))
            .into_iter()
            .map(range_text)
            .collect(),
        banner: field(map, "Banner").map(text_of).filter(|b| !b.is_empty()),
        usage: field(map, "Usage").map(text_of).filter(|u| !u.is_empty()),
        name,
    })
}

/// Read a `Get-ReceiveConnector | ConvertTo-Json` export.
pub fn parse_connectors(path: &Path) -> Result<Vec<Connector>, AuditError> {
    read_objects(path, "Get-ReceiveConnector")?
        .iter()
        .enumerate()
        .map(|(index, map)| connector_from(path, index, map))
        .collect()
}

/// Read a `Get-ADPermission | ConvertTo-Json` export.
pub fn parse_grants(path: &Path) -> Result<Vec<Grant>, AuditError> {
    Ok(read_objects(path, "Get-ADPermission")?
        .iter()
        .map(|map| Grant {
            identity: field(map, "Identity").map(text_of).unwrap_or_default(),
            user: field(map, "User").map(text_of).unwrap_or_default(),
            rights: field(map, "ExtendedRights")
                .map(text_of)
                .unwrap_or_default(),
            deny: truthy(field(map, "Deny")),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Address ranges.

/// The number of addresses a range covers (capped), or 0 when it cannot be read.
const FULL: u128 = u32::MAX as u128 + 1;

fn range_size(range: &str) -> u128 {
    let range = range.trim();
    if let Some((address, bits)) = range.split_once('/') {
        let (Ok(address), Ok(bits)) =
            (address.trim().parse::<IpAddr>(), bits.trim().parse::<u32>())
        else {
            return 0;
        };
        let width: u32 = if address.is_ipv4() { 32 } else { 128 };
        return scaled(address.is_ipv4(), width.saturating_sub(bits));
    }
    if let Some((low, high)) = range.split_once('-') {
        return match (low.trim().parse::<IpAddr>(), high.trim().parse::<IpAddr>()) {
            (Ok(IpAddr::V4(low)), Ok(IpAddr::V4(high))) => {
                u128::from(u32::from(high).saturating_sub(u32::from(low))) + 1
            }
            (Ok(IpAddr::V6(low)), Ok(IpAddr::V6(high))) => {
                let span = u128::from(high).saturating_sub(u128::from(low));
                // IPv6 spans are compared with IPv4 ones at /96 scale: the whole space is FULL.
                (span >> 96) + 1
            }
            _ => 0,
        };
    }
    u128::from(range.parse::<IpAddr>().is_ok())
}

/// Size of a prefix with `host_bits` free, on the IPv4 scale (IPv6 divided by 2^96).
fn scaled(ipv4: bool, host_bits: u32) -> u128 {
    let bits = if ipv4 {
        host_bits
    } else {
        host_bits.saturating_sub(96)
    };
    1u128 << bits.min(32)
}

/// More clients than an application-server list: wider than an IPv4 /16 (IPv6 /112 scaled).
const SCOPED_LIMIT: u128 = 1 << 16;

// ---------------------------------------------------------------------------------------------
// Checks.

const RELAY_REF: &str = "Microsoft Learn: Allow anonymous relay on Exchange servers (ms-Exch-SMTP-Accept-Any-Recipient)";

fn relay_findings(connector: &Connector, grants: &[Grant]) -> Vec<Finding> {
    let on_connector: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.is_anonymous_relay() && g.applies_to(connector))
        .collect();
    let granted = connector.is_anonymous()
        && on_connector.iter().any(|g| !g.deny)
        && !on_connector.iter().any(|g| g.deny);
    let externally_secured = connector.has_auth("ExternalAuthoritative");
    let ranges = connector.remote_ranges.join(", ");
    if (granted || externally_secured) && connector.open_to_all() {
        let how = if granted {
            "NT AUTHORITY\\ANONYMOUS LOGON holds ms-Exch-SMTP-Accept-Any-Recipient"
        } else {
            "AuthMechanism ExternalAuthoritative treats every client as an Exchange server"
        };
        return vec![
            Finding::new(
                "exchange.open_relay",
                Severity::Error,
                connector.label(),
                format!("{how} on a connector that accepts every address: an open relay"),
                RELAY_REF,
            )
            .seen(format!("RemoteIPRanges = {ranges}; PermissionGroups = {}", join(&connector.permission_groups)))
            .fix(format!(
                "Set-ReceiveConnector \"{}\" -RemoteIPRanges <application servers' addresses>; or remove the grant: \
                 Get-ReceiveConnector \"{}\" | Remove-ADPermission -User \"NT AUTHORITY\\ANONYMOUS LOGON\" -ExtendedRights ms-Exch-SMTP-Accept-Any-Recipient",
                connector.identity, connector.identity
            )),
        ];
    }
    let wide: Vec<&String> = connector
        .remote_ranges
        .iter()
        .filter(|r| range_size(r) > SCOPED_LIMIT)
        .collect();
    if (granted || externally_secured) && !wide.is_empty() {
        return vec![
            Finding::new(
                "exchange.anonymous_relay_unscoped",
                Severity::Warning,
                connector.label(),
                "anonymous relay is allowed from ranges wider than a /16: any host there, or anyone \
                 who compromises one, may relay; an anonymous relay connector should list the \
                 application servers' addresses",
                RELAY_REF,
            )
            .seen(format!("RemoteIPRanges = {ranges}"))
            .fix(format!(
                "Set-ReceiveConnector \"{}\" -RemoteIPRanges 192.0.2.10,192.0.2.11 (the servers that need to relay)",
                connector.identity
            )),
        ];
    }
    Vec::new()
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

const AUTH_REF: &str = "Microsoft Learn Set-ReceiveConnector -AuthMechanism";

fn auth_findings(connector: &Connector) -> Vec<Finding> {
    let mechanisms = format!("AuthMechanism = {}", join(&connector.auth_mechanisms));
    let mut findings = Vec::new();
    if !connector.has_auth("Tls") {
        findings.push(
            Finding::new(
                "exchange.tls_disabled",
                Severity::Error,
                connector.label(),
                "AuthMechanism lacks Tls: the connector does not offer STARTTLS, so mail and \
                 credentials travel in clear",
                AUTH_REF,
            )
            .seen(mechanisms.clone())
            .fix(format!(
                "Set-ReceiveConnector \"{}\" -AuthMechanism Tls,<the others>",
                connector.identity
            )),
        );
    }
    if connector.has_auth("BasicAuth") && !connector.has_auth("BasicAuthRequireTLS") {
        findings.push(
            Finding::new(
                "exchange.basic_auth_without_tls",
                Severity::Error,
                connector.label(),
                "BasicAuth without BasicAuthRequireTLS: AUTH PLAIN/LOGIN passwords are accepted \
                 before STARTTLS",
                AUTH_REF,
            )
            .seen(mechanisms.clone())
            .fix(format!(
                "Set-ReceiveConnector \"{}\" -AuthMechanism Tls,BasicAuth,BasicAuthRequireTLS",
                connector.identity
            )),
        );
    }
    if connector.is_client() && !connector.require_tls {
        findings.push(
            Finding::new(
                "exchange.tls_not_required",
                Severity::Warning,
                connector.label(),
                "a client submission connector (port 587 or Usage Client) that does not require \
                 TLS: messages and NTLM/Integrated logons may be sent in clear",
                "Microsoft Learn Set-ReceiveConnector -RequireTLS",
            )
            .seen(format!("RequireTLS = false; ports {:?}", connector.ports))
            .fix(format!(
                "Set-ReceiveConnector \"{}\" -RequireTLS $true",
                connector.identity
            )),
        );
    }
    findings
}

fn banner_findings(connector: &Connector) -> Vec<Finding> {
    let Some(banner) = &connector.banner else {
        return Vec::new();
    };
    let lower = banner.to_ascii_lowercase();
    let names_product = lower.contains("exchange") || lower.contains("microsoft");
    let has_version = banner
        .as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit());
    if !(names_product && has_version) {
        return Vec::new();
    }
    vec![
        Finding::new(
            "exchange.banner_version",
            Severity::Info,
            connector.label(),
            "the SMTP banner names Exchange and its version, which tells attackers which CVEs to try",
            "Microsoft Learn Set-ReceiveConnector -Banner",
        )
        .seen(format!("Banner = {banner}"))
        .fix(format!(
            "Set-ReceiveConnector \"{}\" -Banner \"220 mail.example.com ESMTP\"",
            connector.identity
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_grant_matches_its_connector() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/audit/exchange");
        let connectors = parse_connectors(&dir.join("open_relay.json")).unwrap();
        let grants = parse_grants(&dir.join("open_relay_permissions.json")).unwrap();
        assert!(connectors[0].is_anonymous(), "{connectors:?}");
        assert!(grants[0].is_anonymous_relay(), "{grants:?}");
        assert!(
            grants[0].applies_to(&connectors[0]),
            "{grants:?} {connectors:?}"
        );
        assert!(connectors[0].open_to_all(), "{connectors:?}");
    }

    #[test]
    fn range_sizes() {
        assert_eq!(range_size("0.0.0.0-255.255.255.255"), FULL);
        assert_eq!(
            range_size("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            FULL
        );
        assert_eq!(range_size("0.0.0.0/0"), FULL);
        assert_eq!(range_size("10.0.0.0/24"), 256);
        assert_eq!(range_size("192.0.2.10"), 1);
        assert_eq!(range_size("garbage"), 0);
    }

    #[test]
    fn flags_from_string_and_integer() {
        let s = Value::String("Tls, Integrated, BasicAuth".into());
        assert!(flag_names(Some(&s), AUTH_MECHANISM_FLAGS).contains("basicauth"));
        let n = Value::from(1 + 4);
        let names = flag_names(Some(&n), AUTH_MECHANISM_FLAGS);
        assert_eq!(
            names,
            ["basicauth", "tls"].iter().map(|s| s.to_string()).collect()
        );
    }
}
