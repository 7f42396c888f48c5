//! `mailauth audit postfix`: what a Postfix server would allow, read from its configuration.
//!
//! The configuration is read either through `postconf` ([`postconf`]: `-n` for main.cf, `-d` for
//! the defaults, `-F` for master.cf's services and `-P` for their `-o` overrides) or, where
//! postconf is absent or the user names the files, by parsing main.cf and master.cf here
//! ([`files`]) against a built-in table of Postfix 3.7 defaults ([`defaults`]). Both give a
//! [`PostfixConfig`]; every check then runs once per smtpd listener (an `inet` service, or the
//! `pass` service behind postscreen) on that listener's effective parameters: its `-o`
//! overrides, then main.cf, then the defaults, with `$name` expansion ([`expand`]). This module
//! never changes the configuration and never talks to the server (that is `mailauth probe`).

mod checks;
pub mod defaults;
pub mod dkim;
pub mod expand;
pub mod files;
pub mod postconf;

use std::collections::BTreeMap;

pub use checks::audit;
pub use dkim::DkimExpectation;

/// Every finding code this audit can produce.
pub const CODES: &[&str] = &[
    "postfix.relay_permit_before_reject",
    "postfix.relay_no_reject_unauth_destination",
    "postfix.mynetworks_too_wide",
    "postfix.tls_auth_only_off",
    "postfix.sasl_anonymous_allowed",
    "postfix.sasl_plaintext_without_tls",
    "postfix.sasl_on_port25",
    "postfix.submission_tls_not_required",
    "postfix.tls_protocols_legacy",
    "postfix.tls_mandatory_protocols_legacy",
    "postfix.tls_cert_missing",
    "postfix.tls_disabled",
    "postfix.rate_limits_missing",
    "postfix.recipient_limit_high",
    "postfix.vrfy_enabled",
    "postfix.helo_not_required",
    "postfix.banner_version",
    "postfix.client_sasl_confusion",
    "postfix.no_smtpd_listener",
    "postfix.milter_missing",
    "postfix.keytable_selector_missing",
];

/// A Postfix configuration as read: main.cf, the defaults, and master.cf's services.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostfixConfig {
    /// Where it came from, e.g. `postconf -c /etc/postfix`.
    pub source: String,
    /// Parameters set in main.cf, unexpanded (what `postconf -n` prints).
    pub explicit: BTreeMap<String, String>,
    /// Default values, unexpanded (what `postconf -d` prints).
    pub defaults: BTreeMap<String, String>,
    /// master.cf's services in file order.
    pub services: Vec<Service>,
}

/// One master.cf service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// The service column: `smtp`, `submission`, `127.0.0.1:2525`.
    pub name: String,
    /// The type column: `inet`, `unix`, `pass`, ...
    pub kind: String,
    /// The command (first word of the command column): `smtpd`, `postscreen`, ...
    pub command: String,
    /// Its `-o name=value` overrides, unexpanded.
    pub overrides: BTreeMap<String, String>,
}

impl PostfixConfig {
    /// The smtpd services that accept SMTP from the network.
    pub fn listeners(&self) -> Vec<Listener<'_>> {
        self.services
            .iter()
            .filter(|s| s.command == "smtpd" && (s.kind == "inet" || s.kind == "pass"))
            .map(|service| Listener {
                config: self,
                service,
            })
            .collect()
    }

    /// A main.cf-level value (explicit, else default), unexpanded.
    fn main_raw(&self, name: &str) -> Option<String> {
        self.explicit
            .get(name)
            .or_else(|| self.defaults.get(name))
            .cloned()
    }

    /// A main.cf-level value, expanded.
    pub fn main_value(&self, name: &str) -> String {
        let raw = self.main_raw(name).unwrap_or_default();
        expand::expand(&raw, &|n| self.main_raw(n))
    }
}

/// Which kind of traffic a listener takes, from its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Port 25 (`smtp`, or the `pass` service behind postscreen): mail from other servers.
    Mx,
    /// Port 587 (`submission`): clients with STARTTLS.
    Submission,
    /// Port 465 (`submissions`/`smtps`): clients with implicit TLS.
    Smtps,
    /// Any other port, e.g. `127.0.0.1:10025` for a content filter's return.
    Other,
}

/// One smtpd listener and the configuration it sees.
#[derive(Debug, Clone, Copy)]
pub struct Listener<'a> {
    config: &'a PostfixConfig,
    service: &'a Service,
}

impl<'a> Listener<'a> {
    /// `smtp/inet`, `submission/inet`: how postconf -M/-P name a service.
    pub fn label(&self) -> String {
        format!("{}/{}", self.service.name, self.service.kind)
    }

    /// The port the name stands for, by the usual /etc/services names.
    pub fn role(&self) -> Role {
        if self.service.kind == "pass" {
            return Role::Mx;
        }
        let port = self
            .service
            .name
            .rsplit_once(':')
            .map_or(self.service.name.as_str(), |(_, port)| port);
        match port {
            "smtp" | "25" => Role::Mx,
            "submission" | "587" => Role::Submission,
            "submissions" | "smtps" | "465" => Role::Smtps,
            _ => Role::Other,
        }
    }

    /// The value this listener runs with, unexpanded: `-o`, else main.cf, else the default.
    pub fn raw(&self, name: &str) -> Option<String> {
        self.service
            .overrides
            .get(name)
            .cloned()
            .or_else(|| self.config.main_raw(name))
    }

    /// The value this listener runs with, expanded in the listener's own context.
    pub fn value(&self, name: &str) -> String {
        let raw = self.raw(name).unwrap_or_default();
        expand::expand(&raw, &|n| self.raw(n))
    }

    /// A yes/no parameter.
    pub fn flag(&self, name: &str) -> bool {
        self.value(name).trim().eq_ignore_ascii_case("yes")
    }

    /// True when `name` is set by this listener's `-o`.
    pub fn overrides(&self, name: &str) -> bool {
        self.service.overrides.contains_key(name)
    }

    /// True when main.cf or this listener's `-o` sets `name` (not left at its default).
    pub fn is_set(&self, name: &str) -> bool {
        self.overrides(name) || self.config.explicit.contains_key(name)
    }

    /// The whole configuration.
    pub fn config(&self) -> &'a PostfixConfig {
        self.config
    }
}

/// Split a list-valued parameter (commas and/or whitespace) into its words.
pub fn words(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}
