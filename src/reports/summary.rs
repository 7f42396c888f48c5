//! The summary of stored reports: per source IP, per day, per receiver, failures by reason, TLS
//! failure types, the record change that fixes each failing source, and the policy advice.
//!
//! [`Summary`] is the one shape every output reads: `reports summary` as text and `--json`, and
//! `reports html`. Its numbers are message counts (each record's `count`), never record counts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

/// Everything `reports summary` says, for one domain or all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The `--domain` filter (the `policy_published` domain or a `header_from` under it), if any.
    pub domain: Option<String>,
    /// Start of the window (`--since`), seconds since the epoch; reports whose range ends before
    /// it are left out.
    pub since: Option<i64>,
    /// The time the summary was made (`now`), seconds since the epoch.
    pub until: i64,
    /// Aggregate reports counted.
    pub reports: u64,
    /// Messages in them.
    pub messages: u64,
    /// Messages that passed DMARC (aligned SPF or aligned DKIM).
    pub dmarc_pass: u64,
    /// Messages with aligned SPF pass.
    pub spf_aligned_pass: u64,
    /// Messages with aligned DKIM pass.
    pub dkim_aligned_pass: u64,
    /// Messages by the disposition receivers applied (`none`, `pass`, `quarantine`, `reject`).
    pub dispositions: BTreeMap<String, u64>,
    /// Per UTC day of each report's `begin`, oldest first.
    pub days: Vec<Day>,
    /// Per source IP, most messages first.
    pub sources: Vec<Source>,
    /// Sources grouped by the `include:` of the domain's SPF record that covers them (or by PTR
    /// organisational domain, or "other"), most messages first.
    pub groups: Vec<Group>,
    /// Per reporting organisation, most messages first.
    pub receivers: Vec<Receiver>,
    /// Messages that failed DMARC, by why: most messages first.
    pub failures: Vec<Failure>,
    /// What the next policy step would do, and whether it is safe yet.
    pub policy: PolicyAdvice,
    /// SMTP TLS reports (RFC 8460).
    pub tls: TlsSummary,
}

/// One UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// One sending IP address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub ip: IpAddr,
    /// Its PTR name, when one resolves.
    pub ptr: Option<String>,
    /// The group it belongs to (see [`Summary::groups`]), e.g. `include:_spf.google.com`.
    pub group: String,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub spf_aligned_pass: u64,
    pub dkim_aligned_pass: u64,
    /// Messages by applied disposition.
    pub dispositions: BTreeMap<String, u64>,
    /// The `header_from` domains it sent as.
    pub header_from: Vec<String>,
    /// The `d=` domains it signed with, and the raw DKIM results: `example.com=pass`.
    pub dkim: Vec<String>,
    /// The SPF domains checked, and the raw results: `bounce.example.com=fail`.
    pub spf: Vec<String>,
    /// For a source whose mail fails DMARC: the change that fixes it.
    pub fix: Option<Fix>,
}

/// A source group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub sources: u64,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// One reporting organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receiver {
    pub org_name: String,
    pub reports: u64,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// Why messages failed DMARC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// `spf_and_dkim_unaligned`, `spf_unaligned_dkim_fail`, ... or an override reason the
    /// receiver gave (`forwarded`, `mailing_list`, ...): a stable word.
    pub reason: String,
    pub messages: u64,
}

/// The change that makes a failing source pass, in mailauth's own terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// Stable word: `spf_include`, `dkim_configure`, `dkim_align`, `forwarder`, `unknown`.
    pub kind: String,
    /// What to do, in a sentence, e.g. "add `include:_spf.example.net` to spf".
    pub message: String,
}

/// The next DMARC policy step and its cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyAdvice {
    /// The policy receivers reported as published (`policy_published/p` of the newest report).
    pub current: Option<String>,
    /// The next step: `quarantine` after `none`, `reject` after `quarantine`; none at `reject`.
    pub next: Option<String>,
    /// Messages in the window that would be quarantined or rejected under `next` (they failed
    /// DMARC and no override reason applied).
    pub affected: u64,
    /// `affected` as a share of all messages, 0.0..=1.0.
    pub affected_share: f64,
    /// Consecutive days, counted back from the newest, with no DMARC failure other than
    /// forwarding.
    pub clean_days: u32,
    /// Days needed before the step is advised.
    pub required_clean_days: u32,
    /// Whether the step is advised now.
    pub safe: bool,
    /// The `mailauth.toml` change, when safe, e.g. `[domains."example.com".dmarc] policy = "quarantine"`.
    pub suggestion: Option<String>,
}

/// SMTP TLS reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsSummary {
    pub reports: u64,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
    /// Failed sessions by `result-type`, most first.
    pub failure_types: Vec<TlsFailureType>,
    /// Per policy (type and domain).
    pub policies: Vec<TlsPolicySummary>,
}

/// Failed TLS sessions of one `result-type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsFailureType {
    pub result_type: String,
    pub sessions: u64,
}

/// One TLS policy's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsPolicySummary {
    pub policy_type: String,
    pub policy_domain: String,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
}
