//! Audit of a Sendmail configuration, from its m4 source (`sendmail.mc`: `define(...)`,
//! `FEATURE(...)`, `dnl` comments, nested `` `quotes' ``) or from the generated `sendmail.cf`
//! (`O Name=value` lines). Both are reduced to the same option names (`AuthOptions`,
//! `PrivacyOptions`, `ServerSSLOptions`, `ServerCertFile`, ...) before the checks run.
//!
//! It does not run m4 or evaluate rulesets. FEATUREs exist only in the .mc; in a .cf they are
//! seen only through the `$Id: FEATURE.m4` comments m4 leaves behind, and the report says when
//! those comments are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::exim::Origin;
use super::{AuditError, AuditReport};
use crate::report::{Finding, Severity};

/// Every code this module can produce.
pub const CODES: &[&str] = &[
    "sendmail.auth_options_missing_p",
    "sendmail.auth_options_missing_y",
    "sendmail.promiscuous_relay",
    "sendmail.tls_srv_options_legacy",
    "sendmail.privacy_options_weak",
    "sendmail.tls_cert_missing",
];

/// Longest physical line accepted.
const MAX_LINE: usize = 64 * 1024;

/// m4 configuration macros and the sendmail.cf options they set (cf/README).
const MC_TO_CF: &[(&str, &str)] = &[
    ("confAUTH_OPTIONS", "AuthOptions"),
    ("confAUTH_MECHANISMS", "AuthMechanisms"),
    ("confPRIVACY_FLAGS", "PrivacyOptions"),
    ("confSERVER_SSL_OPTIONS", "ServerSSLOptions"),
    ("confTLS_SRV_OPTIONS", "TLSSrvOptions"),
    ("confSERVER_CERT", "ServerCertFile"),
    ("confSERVER_KEY", "ServerKeyFile"),
    ("confCIPHER_LIST", "CipherList"),
];

/// Relay FEATUREs: name, severity, why.
const RELAY_FEATURES: &[(&str, Severity, &str)] = &[
    (
        "promiscuous_relay",
        Severity::Error,
        "relays mail from any client to any domain: an open relay",
    ),
    (
        "relay_local_from",
        Severity::Warning,
        "relays whenever MAIL FROM names a local domain, which any client can forge",
    ),
    (
        "relay_mail_from",
        Severity::Warning,
        "relays whenever MAIL FROM is listed RELAY in the access map, which any client can forge",
    ),
    (
        "loose_relay_check",
        Severity::Warning,
        "accepts `user%other@local` and relays it on: the classic % hack",
    ),
    (
        "relay_based_on_MX",
        Severity::Warning,
        "relays for any domain that points its MX at this host, without your consent",
    ),
];

/// Which source the configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// m4 source (sendmail.mc).
    Mc,
    /// Generated configuration (sendmail.cf).
    Cf,
}

/// An option's value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The name as written (`confAUTH_OPTIONS` in a .mc, `AuthOptions` in a .cf).
    pub written_as: String,
    /// The value, one level of quotes removed.
    pub value: String,
    /// Where.
    pub origin: Origin,
}

/// A parsed Sendmail configuration.
#[derive(Debug, Clone)]
pub struct SendmailConfig {
    /// .mc or .cf.
    pub format: Format,
    options: BTreeMap<String, Setting>,
    features: Vec<(String, Origin)>,
    /// In a .cf: whether m4's `$Id:` comments are present, so FEATUREs can be seen at all.
    features_visible: bool,
}

impl SendmailConfig {
    /// A sendmail.cf option (by its .cf name, e.g. `AuthOptions`).
    pub fn option(&self, cf_name: &str) -> Option<&Setting> {
        self.options.get(cf_name)
    }

    /// The FEATUREs used, in order.
    pub fn features(&self) -> impl Iterator<Item = &str> {
        self.features.iter().map(|(name, _)| name.as_str())
    }
}

/// Where Sendmail's configuration usually is: the .mc when present, else the .cf.
pub fn default_path() -> PathBuf {
    let mc = PathBuf::from("/etc/mail/sendmail.mc");
    if mc.exists() {
        mc
    } else {
        PathBuf::from("/etc/mail/sendmail.cf")
    }
}

/// Read and parse `path` as .mc or .cf (by extension, else by content).
pub fn parse_file(path: &Path) -> Result<SendmailConfig, AuditError> {
    let bytes = std::fs::read(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    check_line_lengths(path, &text)?;
    match detect_format(path, &text) {
        Format::Mc => parse_mc(path, &text),
        Format::Cf => Ok(parse_cf(path, &text)),
    }
}

/// Audit the configuration at `path`.
pub fn audit_file(path: &Path) -> Result<AuditReport, AuditError> {
    let config = parse_file(path)?;
    let note = match (config.format, config.features_visible) {
        (Format::Mc, _) => "sendmail.mc",
        (Format::Cf, true) => "sendmail.cf; FEATUREs seen through their $Id comments",
        (Format::Cf, false) => {
            "sendmail.cf without m4 $Id comments: relay FEATUREs cannot be seen; audit the .mc"
        }
    };
    Ok(AuditReport {
        source: format!("sendmail ({}, {note})", path.display()),
        findings: audit(&config),
    })
}

/// Every check, in the order reported.
pub fn audit(config: &SendmailConfig) -> Vec<Finding> {
    let mut findings = auth_findings(config);
    findings.extend(relay_findings(config));
    findings.extend(tls_findings(config));
    findings.extend(privacy_findings(config));
    findings
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

fn check_line_lengths(path: &Path, text: &str) -> Result<(), AuditError> {
    match text.lines().position(|line| line.len() > MAX_LINE) {
        Some(index) => Err(syntax(
            path,
            index + 1,
            format!("line longer than {MAX_LINE} bytes; is this a Sendmail configuration?"),
        )),
        None => Ok(()),
    }
}

fn detect_format(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("mc" | "m4") => Format::Mc,
        Some("cf") => Format::Cf,
        _ if text
            .lines()
            .any(|l| l.starts_with("O ") || l.starts_with("V10")) =>
        {
            Format::Cf
        }
        _ => Format::Mc,
    }
}

fn parse_cf(path: &Path, text: &str) -> SendmailConfig {
    let mut config = SendmailConfig {
        format: Format::Cf,
        options: BTreeMap::new(),
        features: Vec::new(),
        features_visible: false,
    };
    for (index, line) in text.lines().enumerate() {
        let origin = Origin {
            file: path.to_path_buf(),
            line: index + 1,
        };
        if let Some(feature) = id_comment_feature(line) {
            config.features_visible = true;
            config.features.push((feature.to_string(), origin));
            continue;
        }
        let Some(rest) = line.strip_prefix("O ") else {
            continue;
        };
        let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
        let name = name.trim().to_string();
        config.options.insert(
            name.clone(),
            Setting {
                written_as: name,
                value: value.trim().to_string(),
                origin,
            },
        );
    }
    config
}

/// `#####  $Id: promiscuous_relay.m4,v 8.13 ... $  #####` names the m4 file a .cf was built from.
fn id_comment_feature(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?;
    let after = &rest[rest.find("$Id: ")? + 5..];
    let name = after.split(".m4").next()?;
    (!name.contains(char::is_whitespace) && after.contains(".m4")).then_some(name)
}

/// A minimal m4 reader: enough to see `define`, `undefine` and `FEATURE` calls.
#[derive(Debug)]
struct M4<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

/// One macro call: name, arguments (one quote level removed), line of the name.
type Call = (String, Vec<String>, usize);

impl<'a> M4<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        if byte == b'\n' {
            self.line += 1;
        }
        Some(byte)
    }

    fn skip_line(&mut self) {
        while let Some(byte) = self.bump() {
            if byte == b'\n' {
                break;
            }
        }
    }

    /// Read a `` `quoted' `` string whose opening quote is next; returns its inner text.
    fn quoted(&mut self) -> Result<Vec<u8>, AuditError> {
        let start = self.line;
        self.bump();
        let mut depth = 1;
        let mut out = Vec::new();
        while let Some(byte) = self.bump() {
            match byte {
                b'`' => depth += 1,
                b'\'' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                }
                _ => {}
            }
            out.push(byte);
        }
        Err(syntax(
            self.path,
            start,
            "unterminated m4 quote: the ` opened here is never closed by '",
        ))
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned()
    }

    /// The arguments of a call whose `(` is next.
    fn arguments(&mut self, name: &str) -> Result<Vec<String>, AuditError> {
        let start = self.line;
        self.bump();
        let mut args = Vec::new();
        let mut current: Vec<u8> = Vec::new();
        let mut depth = 0;
        loop {
            let Some(byte) = self.peek() else {
                return Err(syntax(
                    self.path,
                    start,
                    format!("unterminated m4 call: {name}( is never closed by )"),
                ));
            };
            match byte {
                b'`' => current.extend(self.quoted()?),
                b'(' => {
                    depth += 1;
                    current.push(byte);
                    self.bump();
                }
                b')' if depth == 0 => {
                    self.bump();
                    args.push(finish_argument(&current));
                    return Ok(args);
                }
                b')' => {
                    depth -= 1;
                    current.push(byte);
                    self.bump();
                }
                b',' if depth == 0 => {
                    self.bump();
                    args.push(finish_argument(&current));
                    current.clear();
                }
                _ => {
                    current.push(byte);
                    self.bump();
                }
            }
        }
    }

    /// The next macro call with arguments, skipping text, comments and quoted strings.
    fn next_call(&mut self) -> Result<Option<Call>, AuditError> {
        while let Some(byte) = self.peek() {
            match byte {
                b'`' => {
                    self.quoted()?;
                }
                b'#' => self.skip_line(),
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    let line = self.line;
                    let name = self.identifier();
                    if name == "dnl" {
                        self.skip_line();
                    } else if self.peek() == Some(b'(') {
                        let args = self.arguments(&name)?;
                        return Ok(Some((name, args, line)));
                    }
                }
                _ => {
                    self.bump();
                }
            }
        }
        Ok(None)
    }
}

fn finish_argument(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).trim().to_string()
}

fn parse_mc(path: &Path, text: &str) -> Result<SendmailConfig, AuditError> {
    let mut config = SendmailConfig {
        format: Format::Mc,
        options: BTreeMap::new(),
        features: Vec::new(),
        features_visible: true,
    };
    let mut m4 = M4 {
        path,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    while let Some((name, args, line)) = m4.next_call()? {
        let origin = Origin {
            file: path.to_path_buf(),
            line,
        };
        apply_call(&mut config, &name, &args, origin);
    }
    Ok(config)
}

fn apply_call(config: &mut SendmailConfig, name: &str, args: &[String], origin: Origin) {
    let first = args.first().map(String::as_str).unwrap_or_default();
    let cf_name = MC_TO_CF
        .iter()
        .find(|(mc, _)| *mc == first)
        .map(|(_, cf)| (*cf).to_string());
    match (name, cf_name) {
        ("define", Some(cf)) => {
            let value = args.get(1).cloned().unwrap_or_default();
            let written_as = first.to_string();
            config.options.insert(
                cf,
                Setting {
                    written_as,
                    value,
                    origin,
                },
            );
        }
        ("undefine", Some(cf)) => {
            config.options.remove(&cf);
        }
        ("FEATURE", _) => config.features.push((first.to_string(), origin)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// How an option is named in this kind of file.
fn name_in(config: &SendmailConfig, cf_name: &str) -> String {
    match config.format {
        Format::Cf => format!("O {cf_name}"),
        Format::Mc => MC_TO_CF
            .iter()
            .find(|(_, cf)| *cf == cf_name)
            .map_or(cf_name.to_string(), |(mc, _)| (*mc).to_string()),
    }
}

fn record(config: &SendmailConfig, cf_name: &str) -> String {
    match config.option(cf_name) {
        Some(s) => format!("{} {}", s.origin, s.written_as),
        None => format!("{} (not set)", name_in(config, cf_name)),
    }
}

fn seen(config: &SendmailConfig, cf_name: &str) -> String {
    match config.option(cf_name) {
        Some(s) => format!("{} = {}", s.written_as, s.value),
        None => format!("{} not set", name_in(config, cf_name)),
    }
}

/// Flags of a list written with spaces and/or commas, `+` prefixes removed.
fn flags(value: &str) -> BTreeSet<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|f| !f.is_empty() && !f.starts_with('-'))
        .map(|f| f.trim_start_matches('+').to_string())
        .collect()
}

fn auth_fix(config: &SendmailConfig) -> String {
    match config.format {
        Format::Mc => "define(`confAUTH_OPTIONS', `A p y')dnl".to_string(),
        Format::Cf => "O AuthOptions=A,p,y".to_string(),
    }
}

fn auth_findings(config: &SendmailConfig) -> Vec<Finding> {
    let present = config
        .option("AuthOptions")
        .map(|s| flags(&s.value))
        .unwrap_or_default();
    let mut findings = Vec::new();
    if !present.contains("p") {
        findings.push(
            Finding::new(
                "sendmail.auth_options_missing_p",
                Severity::Error,
                record(config, "AuthOptions"),
                "AuthOptions lacks `p`: PLAIN and LOGIN are offered before STARTTLS, so \
                 passwords can cross the network in clear",
                "sendmail cf/README confAUTH_OPTIONS",
            )
            .seen(seen(config, "AuthOptions"))
            .fix(auth_fix(config)),
        );
    }
    if !present.contains("y") {
        findings.push(
            Finding::new(
                "sendmail.auth_options_missing_y",
                Severity::Warning,
                record(config, "AuthOptions"),
                "AuthOptions lacks `y`: anonymous SASL mechanisms are allowed",
                "sendmail cf/README confAUTH_OPTIONS",
            )
            .seen(seen(config, "AuthOptions"))
            .fix(auth_fix(config)),
        );
    }
    findings
}

fn relay_findings(config: &SendmailConfig) -> Vec<Finding> {
    config
        .features
        .iter()
        .filter_map(|(name, origin)| {
            let (_, severity, why) = RELAY_FEATURES.iter().find(|(f, _, _)| *f == name.as_str())?;
            Some(
                Finding::new(
                    "sendmail.promiscuous_relay",
                    *severity,
                    format!("{origin} FEATURE(`{name}')"),
                    format!("FEATURE(`{name}') {why}"),
                    "sendmail cf/README FEATURE(promiscuous_relay), anti-spam configuration control",
                )
                .seen(format!("FEATURE(`{name}')"))
                .fix(format!(
                    "remove FEATURE(`{name}'); list relay clients in the access map (Connect:10.0.0 RELAY) \
                     and let authenticated users relay (TRUST_AUTH_MECH)"
                )),
            )
        })
        .collect()
}

fn tls_findings(config: &SendmailConfig) -> Vec<Finding> {
    if config.option("ServerCertFile").is_none() {
        return vec![
            Finding::new(
                "sendmail.tls_cert_missing",
                Severity::Error,
                record(config, "ServerCertFile"),
                "no server certificate: sendmail does not offer STARTTLS, so mail and AUTH \
                 travel in clear",
                "sendmail cf/README confSERVER_CERT",
            )
            .seen(seen(config, "ServerCertFile"))
            .fix(match config.format {
                Format::Mc => "define(`confSERVER_CERT', `/etc/mail/tls/server.crt')dnl and define(`confSERVER_KEY', `/etc/mail/tls/server.key')dnl",
                Format::Cf => "O ServerCertFile=/etc/mail/tls/server.crt and O ServerKeyFile=/etc/mail/tls/server.key",
            }),
        ];
    }
    protocol_findings(config).into_iter().collect()
}

const REQUIRED_SSL_OPTIONS: &[&str] = &["SSL_OP_NO_SSLv3", "SSL_OP_NO_TLSv1", "SSL_OP_NO_TLSv1_1"];

fn protocol_findings(config: &SendmailConfig) -> Option<Finding> {
    let present = config
        .option("ServerSSLOptions")
        .map(|s| flags(&s.value))
        .unwrap_or_default();
    let missing: Vec<&str> = REQUIRED_SSL_OPTIONS
        .iter()
        .copied()
        .filter(|flag| !present.contains(*flag))
        .collect();
    if missing.is_empty() {
        return None;
    }
    // A common slip: confTLS_SRV_OPTIONS takes letters (V, C) about client certificates, not
    // protocol versions; the versions go in confSERVER_SSL_OPTIONS.
    let slip = if config.option("TLSSrvOptions").is_some() {
        " (confTLS_SRV_OPTIONS/TLSSrvOptions only controls client-certificate requests; protocol \
         versions are set by confSERVER_SSL_OPTIONS/ServerSSLOptions)"
    } else {
        ""
    };
    Some(
        Finding::new(
            "sendmail.tls_srv_options_legacy",
            Severity::Warning,
            record(config, "ServerSSLOptions"),
            format!(
                "ServerSSLOptions does not switch off {}: clients may negotiate legacy TLS{slip}",
                missing.join(", ")
            ),
            "sendmail cf/README confSERVER_SSL_OPTIONS",
        )
        .seen(seen(config, "ServerSSLOptions"))
        .fix(match config.format {
            Format::Mc => "define(`confSERVER_SSL_OPTIONS', `+SSL_OP_NO_SSLv2 +SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1')dnl",
            Format::Cf => "O ServerSSLOptions=+SSL_OP_NO_SSLv2 +SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1",
        }),
    )
}

fn privacy_findings(config: &SendmailConfig) -> Vec<Finding> {
    let present = config
        .option("PrivacyOptions")
        .map(|s| flags(&s.value))
        .unwrap_or_default();
    let hides =
        present.contains("goaway") || (present.contains("noexpn") && present.contains("novrfy"));
    if hides {
        return Vec::new();
    }
    vec![
        Finding::new(
            "sendmail.privacy_options_weak",
            Severity::Warning,
            record(config, "PrivacyOptions"),
            "PrivacyOptions has neither `goaway` nor both `noexpn` and `novrfy`: EXPN and VRFY \
             tell anyone which addresses exist and where aliases point",
            "sendmail cf/README confPRIVACY_FLAGS",
        )
        .seen(seen(config, "PrivacyOptions"))
        .fix(match config.format {
            Format::Mc => {
                "define(`confPRIVACY_FLAGS', `authwarnings,goaway,noreceipts,restrictqrun')dnl"
            }
            Format::Cf => "O PrivacyOptions=authwarnings,goaway,noreceipts,restrictqrun",
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m4_nested_quotes_and_dnl() {
        let text = "dnl # comment define(`confAUTH_OPTIONS', `x')\n\
                    define(`confAUTH_OPTIONS', ``A p'' `y')dnl\nFEATURE(`promiscuous_relay')dnl\n";
        let config = parse_mc(Path::new("t.mc"), text).unwrap();
        assert_eq!(config.option("AuthOptions").unwrap().value, "`A p' y");
        assert_eq!(config.option("AuthOptions").unwrap().origin.line, 2);
        assert_eq!(
            config.features().collect::<Vec<_>>(),
            vec!["promiscuous_relay"]
        );
    }

    #[test]
    fn cf_id_comment_names_feature() {
        let line = "#####  $Id: promiscuous_relay.m4,v 8.13 2013-11-22 20:51:11 ca Exp $  #####";
        assert_eq!(id_comment_feature(line), Some("promiscuous_relay"));
        assert_eq!(id_comment_feature("# plain comment"), None);
    }
}
