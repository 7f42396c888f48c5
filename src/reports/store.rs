//! The report store: an embedded SQLite database (one file, WAL) holding every parsed report,
//! deduplicated by (organisation, report id), and the queries `reports list`, `summary` and
//! `html` read from it.
//!
//! A report is stored whole or not at all: a batch is one transaction (ingesting thousands of
//! reports costs one fsync per batch, not one per report), and when one report of a batch fails
//! the batch is written again with a savepoint per report, so the failure rolls back that report
//! only. A record's reasons and DKIM and SPF results are JSON arrays in the record's row. The schema carries SQLite's
//! `application_id` and a `user_version` migration number, so a file that is not a mailauth
//! report database, or one written by a newer mailauth, is refused by name before anything is
//! written to it. This module reads no clock and no DNS; it knows nothing of summaries.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use mailauth_base::zone::normalize_name;
use rusqlite::{Connection, OptionalExtension, params};

use super::model::{
    AggregateFormat, AggregateReport, PolicyPublished, Record, Report, TlsFailure, TlsPolicy,
    TlsReport,
};

/// `PRAGMA application_id` of a mailauth report database: "MAR1" in ASCII.
const APPLICATION_ID: i64 = 0x4d41_5231;
/// The schema version this build writes and reads (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but is not a mailauth report database (another SQLite file, or no SQLite
    /// file at all).
    #[error("{path}: not a mailauth report database (give another --db, or move this file away)")]
    NotReportsDb {
        /// The file.
        path: PathBuf,
    },
    /// The database was written by a newer mailauth with a schema this build does not know.
    #[error(
        "{path}: report database schema {found} is newer than this mailauth ({SCHEMA_VERSION}): upgrade mailauth"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The `user_version` found.
        found: i64,
    },
    /// SQLite failed (I/O, a full disk, a locked file).
    #[error("{path}: report database: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back as what it should be (a damaged database).
    #[error("{path}: report database holds an unreadable value: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The value.
        what: String,
    },
}

/// What [`Store::insert`] did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The report was new and is stored.
    New,
    /// A report with the same organisation and report id was already stored; nothing changed.
    Duplicate,
}

/// Which reports a query returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Aggregate reports whose `policy_published` domain, or a record's `header_from`, is this
    /// domain or under it (only those records are returned); TLS reports whose policy domain is.
    pub domain: Option<String>,
    /// Reports whose range ends at or after this time (seconds since the epoch).
    pub since: Option<i64>,
}

impl Filter {
    /// True when `name` is the filter's domain or a name under it (or there is no filter).
    pub fn covers(&self, name: &str) -> bool {
        match &self.domain {
            None => true,
            Some(domain) => is_under(name, domain),
        }
    }
}

/// `name` equals `domain` or is a subdomain of it (ASCII case-insensitive, no trailing dots).
pub fn is_under(name: &str, domain: &str) -> bool {
    mailauth_base::name::is_within(&normalize_name(name), &normalize_name(domain))
}

/// A stored aggregate report and where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAggregate {
    /// Where the report came from (`path`, `path!member.xml`, `path#3`).
    pub origin: String,
    pub report: AggregateReport,
}

/// A stored TLS report and where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTls {
    /// Where the report came from.
    pub origin: String,
    pub report: TlsReport,
}

/// An open report database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE report (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    org_name TEXT NOT NULL,
    report_id TEXT NOT NULL,
    begin_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    origin TEXT NOT NULL,
    format TEXT,
    email TEXT,
    extra_contact_info TEXT,
    generator TEXT,
    errors TEXT NOT NULL DEFAULT '[]',
    domain TEXT,
    p TEXT, sp TEXT, np TEXT, adkim TEXT, aspf TEXT, pct INTEGER, fo TEXT, testing TEXT,
    discovery_method TEXT,
    contact_info TEXT,
    UNIQUE (org_name, report_id)
);
CREATE INDEX report_end ON report (end_ts);
CREATE TABLE record (
    id INTEGER PRIMARY KEY,
    report INTEGER NOT NULL REFERENCES report (id),
    source_ip TEXT NOT NULL,
    count INTEGER NOT NULL,
    disposition TEXT NOT NULL,
    dkim_aligned TEXT NOT NULL,
    spf_aligned TEXT NOT NULL,
    header_from TEXT NOT NULL,
    envelope_from TEXT,
    envelope_to TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    dkim TEXT NOT NULL DEFAULT '[]',
    spf TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX record_report ON record (report);
CREATE TABLE tls_policy (
    id INTEGER PRIMARY KEY,
    report INTEGER NOT NULL REFERENCES report (id),
    policy_type TEXT NOT NULL,
    policy_string TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    mx_host TEXT NOT NULL,
    successful INTEGER NOT NULL,
    failed INTEGER NOT NULL
);
CREATE INDEX tls_policy_report ON tls_policy (report);
CREATE TABLE tls_failure (
    policy INTEGER NOT NULL REFERENCES tls_policy (id),
    result_type TEXT NOT NULL,
    sending_mta_ip TEXT,
    receiving_mx_hostname TEXT,
    receiving_ip TEXT,
    sessions INTEGER NOT NULL,
    additional_information TEXT,
    failure_reason_code TEXT
);
CREATE INDEX tls_failure_policy ON tls_failure (policy);
";

impl Store {
    /// Open the database at `path`, creating it (and its schema) when the file does not exist or
    /// is empty. A file that is not a mailauth report database is refused and left unchanged.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| sqlite(path, source))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// A database in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| sqlite(&path, source))?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let not_ours = |_| StoreError::NotReportsDb { path: path.clone() };
        // Reading the header is the first access: a file that is not SQLite fails here.
        let app_id: i64 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(not_ours)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(not_ours)?;
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(not_ours)?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables != 0) {
            return Err(StoreError::NotReportsDb { path });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path,
                found: version,
            });
        }
        if !self.path.as_os_str().eq(":memory:") {
            // WAL: readers (summary, html) never block an ingest, and a crash loses no commit.
            self.conn
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(|e| sqlite(&self.path, e))?;
        }
        // temp_store in memory: the per-report savepoints' statement journals never touch disk.
        self.conn
            .execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
            )
            .map_err(|e| sqlite(&self.path, e))?;
        if version == 0 {
            let tx = self.conn.transaction().map_err(|e| sqlite(&path, e))?;
            tx.execute_batch(SCHEMA).map_err(|e| sqlite(&path, e))?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            ))
            .map_err(|e| sqlite(&path, e))?;
            tx.commit().map_err(|e| sqlite(&path, e))?;
        }
        Ok(())
    }

    /// Store one report in its own transaction.
    pub fn insert(&mut self, report: &Report, origin: &str) -> Result<Inserted, StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sqlite(&path, e))?;
        let inserted = insert_report(&tx, report, origin).map_err(|e| sqlite(&path, e))?;
        tx.commit().map_err(|e| sqlite(&path, e))?;
        Ok(inserted)
    }

    /// Store many reports in one transaction: the result per report, in order. A report that
    /// fails is rolled back alone; the others are kept. The batch is first written straight
    /// through; only when a report fails is it rolled back and written again with a savepoint
    /// per report, so the common case pays no savepoint.
    pub fn insert_batch<'r>(
        &mut self,
        reports: impl IntoIterator<Item = (&'r Report, &'r str)>,
    ) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
        let reports: Vec<(&Report, &str)> = reports.into_iter().collect();
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sqlite(&path, e))?;
        let mut results = Vec::with_capacity(reports.len());
        let mut failed = false;
        for &(report, origin) in &reports {
            match insert_report(&tx, report, origin) {
                Ok(inserted) => results.push(Ok(inserted)),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            tx.commit().map_err(|e| sqlite(&path, e))?;
            return Ok(results);
        }
        drop(tx);
        self.insert_batch_isolated(&reports)
    }

    /// [`Store::insert_batch`] with each report inside its own savepoint.
    fn insert_batch_isolated(
        &mut self,
        reports: &[(&Report, &str)],
    ) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
        let path = self.path.clone();
        let mut tx = self.conn.transaction().map_err(|e| sqlite(&path, e))?;
        let mut results = Vec::with_capacity(reports.len());
        for &(report, origin) in reports {
            let mut sp = tx.savepoint().map_err(|e| sqlite(&path, e))?;
            match insert_report(&sp, report, origin) {
                Ok(inserted) => {
                    sp.commit().map_err(|e| sqlite(&path, e))?;
                    results.push(Ok(inserted));
                }
                Err(e) => {
                    sp.rollback().map_err(|e| sqlite(&path, e))?;
                    drop(sp);
                    results.push(Err(sqlite(&path, e)));
                }
            }
        }
        tx.commit().map_err(|e| sqlite(&path, e))?;
        Ok(results)
    }

    /// Aggregate reports matching `filter`, oldest first (by begin, then organisation and id).
    /// With a domain filter, each report keeps only the records for that domain.
    pub fn aggregate(&self, filter: &Filter) -> Result<Vec<StoredAggregate>, StoreError> {
        self.read_aggregate(filter).map_err(|e| self.read_error(e))
    }

    /// TLS reports matching `filter`, oldest first. With a domain filter, each report keeps only
    /// the policies for that domain, and reports with none are left out.
    pub fn tls(&self, filter: &Filter) -> Result<Vec<StoredTls>, StoreError> {
        self.read_tls(filter).map_err(|e| self.read_error(e))
    }

    fn read_error(&self, e: ReadError) -> StoreError {
        match e {
            ReadError::Sqlite(source) => sqlite(&self.path, source),
            ReadError::Corrupt(what) => StoreError::Corrupt {
                path: self.path.clone(),
                what,
            },
        }
    }

    fn read_aggregate(&self, filter: &Filter) -> Result<Vec<StoredAggregate>, ReadError> {
        let mut reports = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, org_name, report_id, begin_ts, end_ts, origin, format, email,
                    extra_contact_info, generator, errors, domain, p, sp, np, adkim, aspf, pct,
                    fo, testing, discovery_method
             FROM report WHERE kind = 'aggregate' AND end_ts >= ?1
             ORDER BY begin_ts, org_name, report_id",
        )?;
        let mut rows = stmt.query(params![filter.since.unwrap_or(i64::MIN)])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let errors: String = row.get(10)?;
            let format: Option<String> = row.get(6)?;
            let policy = PolicyPublished {
                domain: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
                p: row.get(12)?,
                sp: row.get(13)?,
                np: row.get(14)?,
                adkim: row.get(15)?,
                aspf: row.get(16)?,
                pct: row.get(17)?,
                fo: row.get(18)?,
                testing: row.get(19)?,
                discovery_method: row.get(20)?,
            };
            let policy_matches = filter.covers(&policy.domain);
            let mut records = self.read_records(id)?;
            if !policy_matches {
                records.retain(|r| filter.covers(&r.header_from));
                if records.is_empty() {
                    continue;
                }
            }
            reports.push(StoredAggregate {
                origin: row.get(5)?,
                report: AggregateReport {
                    format: match format.as_deref() {
                        Some("rfc7489") => AggregateFormat::Rfc7489,
                        _ => AggregateFormat::Rfc9990,
                    },
                    org_name: row.get(1)?,
                    email: row.get(7)?,
                    extra_contact_info: row.get(8)?,
                    report_id: row.get(2)?,
                    begin: row.get(3)?,
                    end: row.get(4)?,
                    errors: serde_json::from_str(&errors)
                        .map_err(|_| ReadError::Corrupt(format!("errors of report {id}")))?,
                    generator: row.get(9)?,
                    policy,
                    records,
                },
            });
        }
        Ok(reports)
    }

    fn read_records(&self, report: i64) -> Result<Vec<Record>, ReadError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, source_ip, count, disposition, dkim_aligned, spf_aligned, header_from,
                    envelope_from, envelope_to, reasons, dkim, spf
             FROM record WHERE report = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![report])?;
        let mut records = Vec::new();
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let ip: String = row.get(1)?;
            let count: i64 = row.get(2)?;
            let json = |column: usize| -> Result<String, ReadError> { Ok(row.get(column)?) };
            records.push(Record {
                source_ip: ip
                    .parse::<IpAddr>()
                    .map_err(|_| ReadError::Corrupt(format!("source_ip {ip:?}")))?,
                count: u64::try_from(count)
                    .map_err(|_| ReadError::Corrupt(format!("count {count}")))?,
                disposition: row.get(3)?,
                dkim_aligned: row.get(4)?,
                spf_aligned: row.get(5)?,
                reasons: from_json(&json(9)?, id, "reasons")?,
                header_from: row.get(6)?,
                envelope_from: row.get(7)?,
                envelope_to: row.get(8)?,
                dkim: from_json(&json(10)?, id, "dkim")?,
                spf: from_json(&json(11)?, id, "spf")?,
            });
        }
        Ok(records)
    }

    fn read_tls(&self, filter: &Filter) -> Result<Vec<StoredTls>, ReadError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, org_name, report_id, begin_ts, end_ts, origin, contact_info
             FROM report WHERE kind = 'tls' AND end_ts >= ?1
             ORDER BY begin_ts, org_name, report_id",
        )?;
        let mut rows = stmt.query(params![filter.since.unwrap_or(i64::MIN)])?;
        let mut reports = Vec::new();
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let mut policies = self.read_tls_policies(id)?;
            if filter.domain.is_some() {
                policies.retain(|p| filter.covers(&p.policy_domain));
                if policies.is_empty() {
                    continue;
                }
            }
            reports.push(StoredTls {
                origin: row.get(5)?,
                report: TlsReport {
                    org_name: row.get(1)?,
                    contact_info: row.get(6)?,
                    report_id: row.get(2)?,
                    begin: row.get(3)?,
                    end: row.get(4)?,
                    policies,
                },
            });
        }
        Ok(reports)
    }

    fn read_tls_policies(&self, report: i64) -> Result<Vec<TlsPolicy>, ReadError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, policy_type, policy_string, policy_domain, mx_host, successful, failed
             FROM tls_policy WHERE report = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![report])?;
        let mut policies = Vec::new();
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let strings: String = row.get(2)?;
            let mx: String = row.get(4)?;
            policies.push(TlsPolicy {
                policy_type: row.get(1)?,
                policy_string: serde_json::from_str(&strings)
                    .map_err(|_| ReadError::Corrupt(format!("policy_string of policy {id}")))?,
                policy_domain: row.get(3)?,
                mx_host: serde_json::from_str(&mx)
                    .map_err(|_| ReadError::Corrupt(format!("mx_host of policy {id}")))?,
                successful: to_u64(row.get(5)?)?,
                failed: to_u64(row.get(6)?)?,
                failures: self.read_tls_failures(id)?,
            });
        }
        Ok(policies)
    }

    fn read_tls_failures(&self, policy: i64) -> Result<Vec<TlsFailure>, ReadError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip, sessions,
                    additional_information, failure_reason_code
             FROM tls_failure WHERE policy = ?1 ORDER BY rowid",
        )?;
        let mut rows = stmt.query(params![policy])?;
        let mut failures = Vec::new();
        while let Some(row) = rows.next()? {
            failures.push(TlsFailure {
                result_type: row.get(0)?,
                sending_mta_ip: parse_ip(row.get(1)?)?,
                receiving_mx_hostname: row.get(2)?,
                receiving_ip: parse_ip(row.get(3)?)?,
                sessions: to_u64(row.get(4)?)?,
                additional_information: row.get(5)?,
                failure_reason_code: row.get(6)?,
            });
        }
        Ok(failures)
    }
}

enum ReadError {
    Sqlite(rusqlite::Error),
    Corrupt(String),
}

impl From<rusqlite::Error> for ReadError {
    fn from(e: rusqlite::Error) -> Self {
        ReadError::Sqlite(e)
    }
}

fn to_u64(n: i64) -> Result<u64, ReadError> {
    u64::try_from(n).map_err(|_| ReadError::Corrupt(format!("negative count {n}")))
}

fn parse_ip(text: Option<String>) -> Result<Option<IpAddr>, ReadError> {
    text.map(|t| {
        t.parse()
            .map_err(|_| ReadError::Corrupt(format!("IP address {t:?}")))
    })
    .transpose()
}

fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// SQLite integers are signed: counts beyond `i64::MAX` are refused rather than wrapped.
fn count(n: u64) -> Result<i64, rusqlite::Error> {
    i64::try_from(n).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn insert_report(
    tx: &Connection,
    report: &Report,
    origin: &str,
) -> Result<Inserted, rusqlite::Error> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM report WHERE org_name = ?1 AND report_id = ?2")?
        .query_row(params![report.org_name(), report.report_id()], |_| Ok(()))
        .optional()?;
    if exists.is_some() {
        return Ok(Inserted::Duplicate);
    }
    match report {
        Report::Aggregate(r) => insert_aggregate(tx, r, origin)?,
        Report::Tls(r) => insert_tls(tx, r, origin)?,
    }
    Ok(Inserted::New)
}

fn insert_aggregate(
    tx: &Connection,
    r: &AggregateReport,
    origin: &str,
) -> Result<(), rusqlite::Error> {
    let format = match r.format {
        AggregateFormat::Rfc9990 => "rfc9990",
        AggregateFormat::Rfc7489 => "rfc7489",
    };
    let errors = serde_json::to_string(&r.errors)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let p = &r.policy;
    tx.prepare_cached(
        "INSERT INTO report (kind, org_name, report_id, begin_ts, end_ts, origin, format, email,
             extra_contact_info, generator, errors, domain, p, sp, np, adkim, aspf, pct, fo,
             testing, discovery_method)
         VALUES ('aggregate', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
             ?16, ?17, ?18, ?19, ?20)",
    )?
    .execute(params![
        r.org_name,
        r.report_id,
        r.begin,
        r.end,
        origin,
        format,
        r.email,
        r.extra_contact_info,
        r.generator,
        errors,
        p.domain,
        p.p,
        p.sp,
        p.np,
        p.adkim,
        p.aspf,
        p.pct,
        p.fo,
        p.testing,
        p.discovery_method,
    ])?;
    let report = tx.last_insert_rowid();
    let mut insert_record = tx.prepare_cached(
        "INSERT INTO record (report, source_ip, count, disposition, dkim_aligned, spf_aligned,
             header_from, envelope_from, envelope_to, reasons, dkim, spf)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for rec in &r.records {
        insert_record.execute(params![
            report,
            rec.source_ip.to_string(),
            count(rec.count)?,
            rec.disposition,
            rec.dkim_aligned,
            rec.spf_aligned,
            rec.header_from,
            rec.envelope_from,
            rec.envelope_to,
            to_json(&rec.reasons)?,
            to_json(&rec.dkim)?,
            to_json(&rec.spf)?,
        ])?;
    }
    Ok(())
}

/// A record's lists (reasons, DKIM and SPF results) are kept as JSON arrays in the record's own
/// row: one statement per record instead of one per list entry, and one read per record.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, rusqlite::Error> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    record: i64,
    what: &str,
) -> Result<T, ReadError> {
    serde_json::from_str(text).map_err(|_| ReadError::Corrupt(format!("{what} of record {record}")))
}

fn insert_tls(tx: &Connection, r: &TlsReport, origin: &str) -> Result<(), rusqlite::Error> {
    tx.prepare_cached(
        "INSERT INTO report (kind, org_name, report_id, begin_ts, end_ts, origin, contact_info)
         VALUES ('tls', ?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        r.org_name,
        r.report_id,
        r.begin,
        r.end,
        origin,
        r.contact_info
    ])?;
    let report = tx.last_insert_rowid();
    let mut insert_policy = tx.prepare_cached(
        "INSERT INTO tls_policy (report, policy_type, policy_string, policy_domain, mx_host,
             successful, failed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut insert_failure = tx.prepare_cached(
        "INSERT INTO tls_failure (policy, result_type, sending_mta_ip, receiving_mx_hostname,
             receiving_ip, sessions, additional_information, failure_reason_code)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let json = |v: &Vec<String>| {
        serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    };
    for p in &r.policies {
        insert_policy.execute(params![
            report,
            p.policy_type,
            json(&p.policy_string)?,
            p.policy_domain,
            json(&p.mx_host)?,
            count(p.successful)?,
            count(p.failed)?,
        ])?;
        let id = tx.last_insert_rowid();
        for f in &p.failures {
            insert_failure.execute(params![
                id,
                f.result_type,
                f.sending_mta_ip.map(|ip| ip.to_string()),
                f.receiving_mx_hostname,
                f.receiving_ip.map(|ip| ip.to_string()),
                count(f.sessions)?,
                f.additional_information,
                f.failure_reason_code,
            ])?;
        }
    }
    Ok(())
}
