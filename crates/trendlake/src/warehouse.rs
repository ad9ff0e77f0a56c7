//! The DuckDB warehouse: schema from `sql/`, incremental merge of lake snapshots, read-only queries.
//!
//! Readers never block and never see a half-merged state: a merge works on a copy. A
//! [`MergeSession`] ([`Warehouse::begin`]) takes the writer lock `<warehouse>.lock`, copies the
//! published file to `<warehouse>.merging` (while holding a read-only connection on it, so no other
//! DuckDB writer can be changing it), migrates the copy to [`SCHEMA_VERSION`], merges into it, and
//! [`MergeSession::publish`] checkpoints, fsyncs and renames it over `<warehouse>`. A reader that
//! opened the old file keeps reading it (its snapshot); the next reader opens the new one. A
//! session dropped without publishing removes its copy; a crashed one leaves a copy that the next
//! session removes.
//!
//! DuckDB's `Connection` is not `Sync`; callers run these methods on a blocking thread
//! (`spawn_blocking`) and never share a connection across tasks.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use chrono::{DateTime, NaiveDate, Utc};
use duckdb::{AccessMode, Config, Connection, OptionalExt, params};

use crate::fsutil::FileLock;
use crate::queries::{Binding, MissingDate, NamedQuery, QueryError, bound_date, held_date};
use crate::regions::{categories, regions};

/// The warehouse schema this trendlake writes (sql/schema.sql). A warehouse without the
/// `trendlake_warehouse` table but with the tables is version 1.
pub const SCHEMA_VERSION: u32 = 5;

/// Who wrote a warehouse, recorded in `trendlake_warehouse.written_by`.
const WRITTEN_BY: &str = concat!("trendlake ", env!("CARGO_PKG_VERSION"));

const SCHEMA_SQL: &str = include_str!("../../../sql/schema.sql");
const VIEWS_SQL: &str = include_str!("../../../sql/views.sql");
const STAGING_SQL: &str = include_str!("../../../sql/staging.sql");
const MERGE_CHART_ENTRIES: &str = include_str!("../../../sql/merge/chart_entries.sql");
const MERGE_STALE_ENTRIES: &str = include_str!("../../../sql/merge/chart_entries_stale.sql");
const MERGE_VIDEOS: &str = include_str!("../../../sql/merge/videos.sql");
const MERGE_RESEEN: &str = include_str!("../../../sql/merge/videos_reseen.sql");
const MERGE_RECORD: &str = include_str!("../../../sql/merge/merged_snapshots.sql");
const STALE_VIDEOS: &str = include_str!("../../../sql/merge/videos_stale.sql");
const REFRESH_VIDEOS: &str = include_str!("../../../sql/merge/videos_refresh.sql");
const STAGING_DUPLICATES: &str = include_str!("../../../sql/merge/staging_duplicates.sql");
const REGION_SNAPSHOTS: &str = include_str!("../../../sql/merge/region_snapshots.sql");
const FORGET_ENTRIES: &str = include_str!("../../../sql/merge/chart_entries_forget.sql");
const FORGET_RECORD: &str = include_str!("../../../sql/merge/merged_snapshots_forget.sql");
const SET_IDENTITY: &str = include_str!("../../../sql/merge/merged_snapshots_identity.sql");

/// One step of the schema's history: the SQL that takes a warehouse from version `to - 1` to `to`.
#[derive(Debug, Clone, Copy)]
struct Migration {
    to: u32,
    file: &'static str,
    sql: &'static str,
}

/// Every migration, in order; the last one's `to` is [`SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[
    Migration {
        to: 2,
        file: "sql/migrations/002_metadata_date_no_big_keys.sql",
        sql: include_str!("../../../sql/migrations/002_metadata_date_no_big_keys.sql"),
    },
    Migration {
        to: 3,
        file: "sql/migrations/003_region_time_zones.sql",
        sql: include_str!("../../../sql/migrations/003_region_time_zones.sql"),
    },
    Migration {
        to: 4,
        file: "sql/migrations/004_region_snapshots.sql",
        sql: include_str!("../../../sql/migrations/004_region_snapshots.sql"),
    },
    Migration {
        to: 5,
        file: "sql/migrations/005_lineage.sql",
        sql: include_str!("../../../sql/migrations/005_lineage.sql"),
    },
];

/// Errors of the warehouse, each naming the file, the step and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("warehouse {path}: {step}: {source}")]
    Db {
        path: String,
        step: String,
        #[source]
        source: Box<duckdb::Error>,
    },
    #[error("warehouse {path}: {step}: {source}")]
    Io {
        path: String,
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "warehouse {path} does not exist: name yours with --warehouse (or TRENDLAKE_WAREHOUSE){hint}, or build it from a lake with `trendlake merge`"
    )]
    Missing {
        path: String,
        /// Where a warehouse that exists is, when one is in sight (the demo's).
        hint: String,
    },
    #[error(
        "warehouse {path} is at schema version {found}, and the named queries need version \
         {needed}: run `trendlake merge` once to upgrade it (it keeps every row, and needs no new \
         snapshot)"
    )]
    Outdated {
        path: String,
        found: u32,
        needed: u32,
    },
    #[error(
        "warehouse {path} is open for writing in another process ({source}); analysts must open it \
         read-only (Python: duckdb.connect(path, read_only=True); duckdb CLI: -readonly; or \
         `trendlake query`), and then merges never disturb them: close that connection and retry"
    )]
    OpenForWriting {
        path: String,
        #[source]
        source: Box<duckdb::Error>,
    },
    #[error(
        "warehouse {path} has schema version {found}, newer than {supported}, the newest this \
         trendlake ({written_by}) knows; upgrade trendlake, or build a fresh warehouse from the \
         lake with `trendlake merge --warehouse NEW_PATH`",
        written_by = WRITTEN_BY
    )]
    NewerSchema {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("warehouse {path}: {problem}")]
    Other { path: String, problem: String },
    /// A session time zone DuckDB does not know (exit 2).
    #[error(
        "time zone {zone:?} is not one DuckDB knows ({message}); give an IANA name such as \
         UTC, Asia/Tokyo or America/New_York (warehouse {path})"
    )]
    TimeZone {
        path: String,
        zone: String,
        message: String,
    },
    /// SQL DuckDB cannot prepare against the warehouse: a syntax error, an unknown table,
    /// column, function or type. Nothing ran (of a script: every statement is prepared before
    /// the first runs); the query's fault (exit 2). `at`: which statement of a script of several.
    #[error(
        "{statement}the query cannot run on warehouse {path}: {message}",
        statement = at.map(|at| format!("{at}: ")).unwrap_or_default()
    )]
    BadQuery {
        path: String,
        message: String,
        at: Option<Position>,
    },
    /// SQL `trendlake query` does not run: not one statement, or one that would write.
    /// Nothing ran (exit 2).
    #[error(transparent)]
    Refused(#[from] statement::Refusal),
    /// An error while statement `at` of a script ran (exit 1, as any error while SQL runs): the
    /// statements before it ran, and their results were printed; none after it ran.
    #[error("{at}: {source}")]
    InScript {
        at: Position,
        #[source]
        source: Box<WarehouseError>,
    },
}

impl WarehouseError {
    /// This error, named as that of statement `at` of a script (`None`: a script of one
    /// statement, whose errors read as any query's). The position goes where the exit code stays
    /// what it was (`error::Error::exit_code` reads the variant): inside [`WarehouseError::BadQuery`]
    /// and [`statement::Refusal`] (exit 2: nothing ran), around anything else
    /// ([`WarehouseError::InScript`], exit 1).
    pub fn at(self, at: Option<Position>) -> Self {
        let Some(at) = at else { return self };
        match self {
            Self::BadQuery { path, message, .. } => Self::BadQuery {
                path,
                message,
                at: Some(at),
            },
            Self::Refused(refusal @ statement::Refusal::InScript { .. }) => Self::Refused(refusal),
            Self::Refused(refusal) => Self::Refused(statement::Refusal::InScript {
                at,
                refusal: Box::new(refusal),
            }),
            named @ Self::InScript { .. } => named,
            other => Self::InScript {
                at,
                source: Box::new(other),
            },
        }
    }
}

/// What the warehouse records about one merged snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedSnapshot {
    pub date: NaiveDate,
    pub path: String,
    pub etag: Option<String>,
    pub size: u64,
    pub merged_at: DateTime<Utc>,
    /// The file's identity, the SHA-256 of its rows (`None`: merged before version 5).
    pub content_sha256: Option<String>,
}

impl MergedSnapshot {
    /// Whether this record is of a file listed with `etag` and `size`: the cheap test, which
    /// spares reading the file's footer while the store still calls it what it did.
    pub fn same_listing(&self, etag: Option<&str>, size: u64) -> bool {
        self.etag.as_deref() == etag && self.size == size
    }
}

/// One snapshot to merge ([`MergeSession::merge_snapshots`]): its date, the file it came from
/// (recorded in `merged_snapshots`), when it is merged, and its region batches in the lake schema.
#[derive(Debug, Clone, Default)]
pub struct Staged {
    pub date: NaiveDate,
    pub path: String,
    pub etag: Option<String>,
    pub size: u64,
    pub content_sha256: String,
    pub merged_at: DateTime<Utc>,
    pub batches: Vec<RecordBatch>,
}

impl Staged {
    /// Its chart entries.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The file a snapshot came from, as recorded in `merged_snapshots`.
#[derive(Debug, Clone)]
pub struct SourceFile<'a> {
    pub path: &'a str,
    pub etag: Option<&'a str>,
    pub size: u64,
    pub content_sha256: &'a str,
}

/// A warehouse opened read-only: analysts' queries, and what a merge needs to know before it
/// decides whether to begin a [`MergeSession`].
pub struct Warehouse {
    conn: Connection,
    path: PathBuf,
    version: Option<u32>,
}

pub mod statement;

use statement::{Position, Script, Statement};

/// DuckDB as trendlake uses it: never downloading an extension (a query such as `'1'::JSON`
/// would otherwise make DuckDB fetch one from the internet, unasked, from a nightly job).
fn offline_config(path: &Path) -> Result<Config, WarehouseError> {
    Config::default()
        .enable_autoload_extension(false)
        .and_then(|c| c.with("autoinstall_known_extensions", "false"))
        .map_err(db_err(path, "configure"))
}

impl Warehouse {
    /// Open an existing warehouse read-only (analysts' queries), sealed: no file or network
    /// access beyond it and no settings changed (see `open_sealed`). A warehouse of a newer
    /// schema version than this trendlake knows is refused; an older one is readable as it is.
    pub fn open_read_only(path: &Path) -> Result<Self, WarehouseError> {
        Self::open_read_only_in(path, DEFAULT_TIME_ZONE)
    }

    /// [`Warehouse::open_read_only`] with the session's time zone `zone` (an IANA name, or
    /// `UTC`): what `hour()`, `date_trunc`, `::DATE` and the printing of a `TIMESTAMPTZ` follow,
    /// as `SET TimeZone` sets them in DuckDB. A zone DuckDB does not know is
    /// [`WarehouseError::TimeZone`].
    pub fn open_read_only_in(path: &Path, zone: &str) -> Result<Self, WarehouseError> {
        if !path.exists() {
            return Err(WarehouseError::Missing {
                path: path.display().to_string(),
                hint: String::new(),
            });
        }
        let conn = open_sealed(path, zone)?;
        let version = read_version(&conn, path)?;
        upgrade_plan(path, version)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            version,
        })
    }

    /// A second connection to the database this one opened, for another thread (a connection is
    /// `Send` but not `Sync`). It reads the same version of the file: opening the path again
    /// would read whatever a merge has renamed over it since.
    pub fn try_clone(&self) -> Result<Warehouse, WarehouseError> {
        let conn = self
            .conn
            .try_clone()
            .map_err(db_err(&self.path, "open a second connection"))?;
        Ok(Self {
            conn,
            path: self.path.clone(),
            version: self.version,
        })
    }

    /// Begin merging into the warehouse at `path` (created if missing): see [`MergeSession`].
    pub fn begin(path: &Path) -> Result<MergeSession, WarehouseError> {
        MergeSession::begin(path, true)
    }

    /// [`Warehouse::begin`] that copies the published file even when a standby could serve.
    pub fn begin_copy(path: &Path) -> Result<MergeSession, WarehouseError> {
        MergeSession::begin(path, false)
    }

    /// The warehouse file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file: `None` when it has none of trendlake's tables.
    pub fn schema_version(&self) -> Option<u32> {
        self.version
    }

    /// Refuse a warehouse older than the named queries of `sql/queries/` are written for (they
    /// read tables and views of the current schema); any other SQL may still read it as it is.
    pub fn require_current_schema(&self) -> Result<(), WarehouseError> {
        match self.version {
            Some(found) if found < SCHEMA_VERSION => Err(WarehouseError::Outdated {
                path: self.path.display().to_string(),
                found,
                needed: SCHEMA_VERSION,
            }),
            _ => Ok(()),
        }
    }

    /// Every date some region holds a snapshot of, in order; none in a file without trendlake's
    /// tables. What a named query's `date` and `report --date` are checked against
    /// ([`crate::queries::held_date`]).
    pub fn held_dates(&self) -> Result<BTreeSet<NaiveDate>, WarehouseError> {
        if self.version.is_none() {
            return Ok(BTreeSet::new());
        }
        let step = "read the dates it holds";
        // A date is held when its merged snapshot holds some region, as `coverage` counts them.
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT strftime(m.snapshot_date, '%Y-%m-%d') \
                 FROM merged_snapshots m, unnest(m.regions) AS r(region)",
            )
            .map_err(db_err(&self.path, step))?;
        let dates = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(db_err(&self.path, step))?;
        dates
            .map(|d| d.map(|d| parse_date(&d)))
            .collect::<Result<_, _>>()
            .map_err(db_err(&self.path, step))
    }

    /// What a named query needs before it runs, wherever it runs from (`query --name`, a named
    /// query at the prompt): the schema it reads ([`Warehouse::require_current_schema`]) and,
    /// when it takes a `date`, a snapshot of that date ([`crate::queries::held_date`], as
    /// `report` checks its `--date`), unless `missing` says to answer anyway. Without a `date`
    /// given the query answers for the latest snapshot, which is held — unless the warehouse
    /// holds none at all ([`crate::queries::NotHeld::Empty`]).
    pub fn ready_for<E>(
        &self,
        query: &NamedQuery,
        bindings: &[Binding],
        missing: MissingDate,
    ) -> Result<(), E>
    where
        E: From<WarehouseError> + From<QueryError>,
    {
        self.require_current_schema()?;
        if missing == MissingDate::Refuse && query.takes_date()? {
            held_date(&self.held_dates()?, bound_date(bindings), &self.path)
                .map_err(QueryError::from)?;
        }
        Ok(())
    }

    /// Whether a merge session would change the schema (a new or older warehouse).
    pub fn needs_upgrade(&self) -> bool {
        self.version != Some(SCHEMA_VERSION)
    }

    /// Snapshots already merged, with the file identity they were merged from.
    pub fn merged_snapshots(&self) -> Result<Vec<MergedSnapshot>, WarehouseError> {
        if self.version.is_none() {
            return Ok(Vec::new());
        }
        merged_snapshots(&self.conn, &self.path)
    }

    /// Run one statement that only reads and hand its result to `consume` as DuckDB streams it:
    /// the schema at once, then the batches as they are fetched (2,048 rows each), so a result
    /// larger than memory can be written out as it comes. `variables` are set first
    /// (`SET VARIABLE name = CAST(? AS type)`) so the SQL reads them, typed, with
    /// `getvariable('name')`.
    ///
    /// Each call runs on a connection of its own, so variables set for one query never reach
    /// the next (the interactive prompt runs many on one `Warehouse`).
    ///
    /// SQL that is not one reading statement ([`WarehouseError::Refused`], see [`statement`]) or
    /// that DuckDB cannot prepare ([`WarehouseError::BadQuery`]: a syntax error, an unknown
    /// table, column, function or type; also a result column of a type the duckdb crate cannot
    /// hand over as Arrow) runs nothing and is the query's fault (exit 2). An error
    /// while the statement runs (a cast failing on some row, memory) is [`WarehouseError::Db`]
    /// (exit 1): from DuckDB's start of execution here, or later as an item of the batches.
    pub fn query_each<T, E: From<WarehouseError>>(
        &self,
        sql: &str,
        variables: &[Binding],
        consume: impl FnOnce(Batches<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        statement::check_read_only(sql).map_err(WarehouseError::from)?;
        let conn = self.session(variables)?;
        let mut stmt = self.prepare(&conn, sql)?;
        consume(self.stream(&mut stmt, None)?)
    }

    /// Run a [`Script`] (statements that only read, checked whole) on one connection of its
    /// own, the statements in order, handing each one's result to `consume` with the statement,
    /// as [`Warehouse::query_each`] hands over one. `variables` are set once, for all of them.
    ///
    /// Every statement is prepared before the first runs: none can change what another sees (each
    /// only reads; `SET`, `CREATE TEMP` and the like are refused), so SQL that DuckDB cannot
    /// prepare anywhere in the script is [`WarehouseError::BadQuery`] with nothing run (exit 2).
    /// An error while a statement runs, or from `consume`, stops the script there: the results
    /// before it were handed over, nothing after it runs. In a script of several statements,
    /// the warehouse's errors name the statement ([`WarehouseError::at`]).
    pub fn query_script<E: From<WarehouseError>>(
        &self,
        script: &Script<'_>,
        variables: &[Binding],
        mut consume: impl FnMut(&Statement<'_>, Batches<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let conn = self.session(variables)?;
        let mut prepared = Vec::with_capacity(script.len());
        for s in script.statements() {
            prepared.push(
                self.prepare(&conn, s.text)
                    .map_err(|e| e.at(s.position()))?,
            );
        }
        for (s, stmt) in script.statements().iter().zip(&mut prepared) {
            let batches = self
                .stream(stmt, s.position())
                .map_err(|e| e.at(s.position()))?;
            consume(s, batches)?;
        }
        Ok(())
    }

    /// A connection of its own for one query or script, with `variables` set
    /// (`SET VARIABLE name = CAST(? AS type)`), so they never reach the next one.
    fn session(&self, variables: &[Binding]) -> Result<Connection, WarehouseError> {
        let conn = self
            .conn
            .try_clone()
            .map_err(db_err(&self.path, "connect for the query"))?;
        for Binding { name, value } in variables {
            // Names are identifiers (checked when bound); the value is bound, never spliced.
            conn.execute(
                &format!("SET VARIABLE \"{name}\" = CAST(? AS {})", value.sql_type()),
                params![value.to_sql_text()],
            )
            .map_err(db_err(&self.path, &format!("set parameter {name}")))?;
        }
        Ok(conn)
    }

    /// One statement, already checked, prepared on `conn`: what DuckDB cannot prepare is
    /// [`WarehouseError::BadQuery`].
    fn prepare<'c>(
        &self,
        conn: &'c Connection,
        sql: &str,
    ) -> Result<duckdb::Statement<'c>, WarehouseError> {
        conn.prepare(sql).map_err(|e| {
            let mut message = e.to_string();
            if message.contains("extension") {
                // DuckDB suggests INSTALL, LOAD and SET, all of which `query` refuses.
                message.push_str(
                    "\n(trendlake's DuckDB has no extensions beyond those built in, and never \
                     installs or loads one)",
                );
            }
            WarehouseError::BadQuery {
                path: self.path.display().to_string(),
                message,
                at: None,
            }
        })
    }

    /// A prepared statement run, its result streamed; `at` names the statement in the errors
    /// of its batches.
    fn stream<'s>(
        &'s self,
        stmt: &'s mut duckdb::Statement<'_>,
        at: Option<Position>,
    ) -> Result<Batches<'s>, WarehouseError> {
        let stream = stmt.stream_arrow([]).map_err(|e| match e {
            // A column of a type the duckdb crate cannot hand over as Arrow (VARIANT).
            duckdb::Error::FromSqlConversionFailure(..) => WarehouseError::BadQuery {
                path: self.path.display().to_string(),
                message: format!("{e}; cast that column in the query (e.g. to VARCHAR)"),
                at: None,
            },
            e => db_err(&self.path, "run the query")(e),
        })?;
        let schema = stream.get_schema();
        Ok(Batches {
            stream,
            schema,
            path: &self.path,
            at,
        })
    }

    /// [`Warehouse::query_each`] collected: the whole result in memory, at least one batch (an
    /// empty result is one empty batch, with its columns), for callers that want it all.
    pub fn query(
        &self,
        sql: &str,
        variables: &[Binding],
    ) -> Result<Vec<RecordBatch>, WarehouseError> {
        self.query_each(sql, variables, |batches| {
            let schema = batches.schema();
            let mut all = batches.collect::<Result<Vec<_>, _>>()?;
            if all.is_empty() {
                all.push(RecordBatch::new_empty(schema));
            }
            Ok(all)
        })
    }
}

/// The result of [`Warehouse::query_each`]: its schema, known before the first batch, and its
/// batches, fetched from DuckDB one at a time as the iterator is advanced. An error while the
/// statement runs ends the iterator.
pub struct Batches<'s> {
    stream: duckdb::ArrowStream<'s>,
    schema: SchemaRef,
    path: &'s Path,
    /// The statement of a script of several, named in errors.
    at: Option<Position>,
}

impl Batches<'_> {
    /// The result's columns, even when it has no rows.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<RecordBatch, WarehouseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.stream.next()?;
        Some(next.map_err(|e| db_err(self.path, "run the query")(e).at(self.at)))
    }
}

/// A read-only connection to `path`; a file some other process holds open for writing is
/// [`WarehouseError::OpenForWriting`].
fn open_read_only(path: &Path) -> Result<Connection, WarehouseError> {
    let conn = connect(path, read_only_config(path)?)?;
    set_time_zone(&conn, path, DEFAULT_TIME_ZONE)?;
    Ok(conn)
}

/// [`offline_config`], read-only.
fn read_only_config(path: &Path) -> Result<Config, WarehouseError> {
    offline_config(path)?
        .access_mode(AccessMode::ReadOnly)
        .map_err(db_err(path, "configure"))
}

/// [`open_read_only`] for any SQL an analyst types: besides being read-only, DuckDB reaches no
/// file or network beyond the warehouse itself (`enable_external_access = false`: no
/// `COPY … TO`, `ATTACH`, `read_csv('/etc/…')`, `INSTALL`) and its settings are locked
/// (`lock_configuration`: no `SET`), so a statement that [`statement`]'s check misjudged still
/// could not write anything.
fn open_sealed(path: &Path, zone: &str) -> Result<Connection, WarehouseError> {
    let config = read_only_config(path)?
        .with("enable_external_access", "false")
        .map_err(db_err(path, "configure"))?;
    let conn = connect(path, config)?;
    // The time zone is the ICU extension's setting, which exists only once the database is
    // open: set, then locked with the rest.
    set_time_zone(&conn, path, zone)?;
    conn.execute_batch("SET lock_configuration = true")
        .map_err(db_err(path, "lock the configuration"))?;
    Ok(conn)
}

/// The session time zone every connection starts in, whatever the machine's: UTC, so that a
/// `TIMESTAMPTZ` casts, truncates and prints alike on every machine, and as the lake's columns
/// (Arrow's `UTC`) do in a notebook.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// `SET GLOBAL TimeZone`: for the database, so that the connections cloned from this one (one per
/// query) have it too.
fn set_time_zone(conn: &Connection, path: &Path, zone: &str) -> Result<(), WarehouseError> {
    // A setting takes no bound parameter; the name is quoted as a string literal.
    let sql = format!("SET GLOBAL TimeZone = '{}'", zone.replace('\'', "''"));
    conn.execute_batch(&sql)
        .map_err(|e| WarehouseError::TimeZone {
            path: path.display().to_string(),
            zone: zone.to_string(),
            message: e.to_string(),
        })
}

fn connect(path: &Path, config: Config) -> Result<Connection, WarehouseError> {
    Connection::open_with_flags(path, config).map_err(|source| {
        let text = source.to_string();
        if text.contains("Could not set lock") || text.contains("Conflicting lock") {
            WarehouseError::OpenForWriting {
                path: path.display().to_string(),
                source: Box::new(source),
            }
        } else {
            db_err(path, "open read-only")(source)
        }
    })
}

/// The schema version recorded in the file (`None`: none of trendlake's tables; 1: the tables
/// without the version table).
fn read_version(conn: &Connection, path: &Path) -> Result<Option<u32>, WarehouseError> {
    let step = "read the schema version";
    let read_recorded = || -> duckdb::Result<Vec<Option<i64>>> {
        let mut stmt = conn.prepare("SELECT schema_version FROM trendlake_warehouse")?;
        let rows = stmt.query_map([], |row| row.get::<_, Option<i64>>(0))?;
        rows.collect()
    };
    // Every warehouse trendlake wrote since version 2 answers the direct read. Only when it fails
    // is the catalog asked which tables exist: `duckdb_tables()` costs about 17 ms on a fresh
    // connection to a large warehouse, a sixth of a named query's budget.
    let recorded = match read_recorded() {
        Ok(rows) => rows,
        Err(direct) => {
            let (has_version_table, has_tables): (bool, bool) = conn
                .query_row(
                    "SELECT count(*) FILTER (WHERE table_name = 'trendlake_warehouse') > 0, \
                            count(*) FILTER (WHERE table_name IN ('chart_entries', 'videos', 'merged_snapshots')) > 0 \
                     FROM duckdb_tables() \
                     WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(db_err(path, step))?;
            if has_version_table {
                // The table is there, so the read failed for another reason.
                return Err(db_err(path, step)(direct));
            }
            return version_of(None, has_tables).map_err(|problem| unreadable(path, problem));
        }
    };
    version_of(Some(&recorded), true).map_err(|problem| unreadable(path, problem))
}

/// A warehouse whose version record trendlake cannot read.
fn unreadable(path: &Path, problem: String) -> WarehouseError {
    WarehouseError::Other {
        path: path.display().to_string(),
        problem: format!(
            "{problem}; build a fresh warehouse from the lake with `trendlake merge --warehouse NEW_PATH`"
        ),
    }
}

/// The schema version from the rows of `trendlake_warehouse` (`None`: no such table) and whether
/// trendlake's tables exist.
fn version_of(recorded: Option<&[Option<i64>]>, has_tables: bool) -> Result<Option<u32>, String> {
    match recorded {
        None if has_tables => Ok(Some(1)),
        None => Ok(None),
        Some([Some(v)]) => match u32::try_from(*v) {
            Ok(v) if v >= 1 => Ok(Some(v)),
            _ => Err(format!(
                "its schema version {v} is not one trendlake writes"
            )),
        },
        Some(rows) => Err(format!(
            "its trendlake_warehouse table holds {} rows instead of one schema version",
            rows.len()
        )),
    }
}

/// What a merge session does to bring a warehouse of version `found` to [`SCHEMA_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    /// No tables yet: create them.
    Create,
    /// Run the migrations after `from`.
    Migrate {
        from: u32,
    },
    Current,
}

fn upgrade_plan(path: &Path, found: Option<u32>) -> Result<Upgrade, WarehouseError> {
    match found {
        None => Ok(Upgrade::Create),
        Some(v) if v == SCHEMA_VERSION => Ok(Upgrade::Current),
        Some(v) if v < SCHEMA_VERSION => Ok(Upgrade::Migrate { from: v }),
        Some(v) => Err(WarehouseError::NewerSchema {
            path: path.display().to_string(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
    }
}

/// The migrations that take a warehouse of version `from` to [`SCHEMA_VERSION`], in order.
fn migrations_after(from: u32) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |m| m.to > from)
}

/// Snapshots merged into the warehouse on `conn`.
fn merged_snapshots(conn: &Connection, path: &Path) -> Result<Vec<MergedSnapshot>, WarehouseError> {
    let step = "read merged_snapshots";
    let mut stmt = conn
        .prepare(
            "SELECT strftime(snapshot_date, '%Y-%m-%d'), path, etag, size, epoch_us(merged_at), \
                    content_sha256 \
             FROM merged_snapshots ORDER BY snapshot_date",
        )
        .or_else(|_| {
            // Before version 5 (no content_sha256): read as it is, for a read-only reader; a
            // merge session migrates before it reads.
            conn.prepare(
                "SELECT strftime(snapshot_date, '%Y-%m-%d'), path, etag, size, epoch_us(merged_at), \
                        NULL::VARCHAR \
                 FROM merged_snapshots ORDER BY snapshot_date",
            )
        })
        .map_err(db_err(path, step))?;
    let rows = stmt
        .query_map([], |row| {
            let date: String = row.get(0)?;
            Ok(MergedSnapshot {
                date: parse_date(&date),
                path: row.get(1)?,
                etag: row.get(2)?,
                size: row.get::<_, i64>(3)? as u64,
                merged_at: DateTime::from_timestamp_micros(row.get(4)?)
                    .expect("DuckDB timestamps are in chrono's range"),
                content_sha256: row.get(5)?,
            })
        })
        .map_err(db_err(path, step))?;
    rows.collect::<Result<_, _>>().map_err(db_err(path, step))
}

fn parse_date(date: &str) -> NaiveDate {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("DuckDB formats dates as %Y-%m-%d")
}

/// One merge into a warehouse, on a private copy that [`MergeSession::publish`] puts in place
/// atomically.
///
/// [`Warehouse::begin`] takes the writer lock `<warehouse>.lock` (waiting, with one line on
/// stderr, while another trendlake merges), removes any `<warehouse>.merging*` a crashed merge
/// left, copies the warehouse (and its `.wal`, if any) to `<warehouse>.merging` while holding a
/// read-only connection on it, opens the copy, and brings it to [`SCHEMA_VERSION`] (migrations,
/// tables, views, reference data). A new warehouse is built the same way, from nothing.
///
/// Dropping a session without publishing removes the copy; the warehouse stays as it was.
pub struct MergeSession {
    /// The copy; `None` once closed by `publish`.
    conn: Option<Connection>,
    /// The published warehouse.
    path: PathBuf,
    /// The copy: `<warehouse>.merging`.
    work: PathBuf,
    /// The warehouse's schema version when the session began (`None`: created by the session).
    found_version: Option<u32>,
    /// What the published warehouse had merged when the session began (under the lock).
    published: Vec<MergedSnapshot>,
    /// This session's generation, recorded in the copy: the warehouse's once published.
    generation: String,
    /// The published warehouse's generation when the session began (`None`: a new warehouse, or
    /// one published before version 5): the new generation's parent.
    parent: Option<String>,
    /// Whether the work file is the standby (one publish behind) rather than a copy.
    from_standby: bool,
    /// Released after the copy is removed: fields drop after `Drop::drop`.
    _lock: FileLock,
}

impl MergeSession {
    fn begin(path: &Path, standby: bool) -> Result<Self, WarehouseError> {
        if let Some(dir) = parent_dir(path) {
            std::fs::create_dir_all(dir).map_err(io_err(path, "create its directory"))?;
        }
        let lock = writer_lock(path)?;
        remove_leftovers(path).map_err(io_err(
            path,
            "remove the <warehouse>.merging* files a crashed merge left",
        ))?;
        let work = sibling(path, ".merging");
        // From here on, dropping the session removes the copy.
        let mut session = Self {
            conn: None,
            path: path.to_path_buf(),
            work,
            found_version: None,
            published: Vec::new(),
            generation: new_generation(),
            parent: None,
            from_standby: false,
            _lock: lock,
        };
        if path.exists() {
            // No DuckDB writer can be changing the file while this connection is open (DuckDB
            // locks it), so the copy is consistent: the file plus its write-ahead log, if any.
            let reader = open_read_only(path)?;
            // A newer warehouse is refused before anything is copied.
            upgrade_plan(path, read_version(&reader, path)?)?;
            session.published = merged_snapshots(&reader, path)?;
            let (generation, parent) = read_generation(&reader);
            session.parent = generation;
            // The standby serves only as the very file the published one was merged from.
            session.from_standby = standby && take_standby(path, &session.work, parent.as_deref());
            if !session.from_standby {
                copy_database(path, &session.work).map_err(io_err(
                    path,
                    &format!("copy it to {}", session.work.display()),
                ))?;
            }
            drop(reader);
        }
        let conn = Connection::open_with_flags(&session.work, offline_config(path)?).map_err(
            db_err(path, &format!("open the copy {}", session.work.display())),
        )?;
        // No checkpoint before `publish`: a session merging many snapshots then writes each
        // table once, compactly, instead of rewriting its last row groups at every automatic
        // checkpoint and leaving the freed blocks in the file (which every later merge copies).
        conn.execute_batch("SET checkpoint_threshold = '1TB'")
            .map_err(db_err(path, "configure the copy"))?;
        // The merge's SQL reads and writes TIMESTAMPTZ: in UTC, whatever the machine's zone.
        set_time_zone(&conn, path, DEFAULT_TIME_ZONE)?;
        session.conn = Some(conn);
        session.found_version = session.prepare()?;
        Ok(session)
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("open until published")
    }

    fn conn_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("open until published")
    }

    /// The published warehouse this session will replace.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the warehouse had when the session began (`None`: a new warehouse);
    /// the copy is at [`SCHEMA_VERSION`] now.
    pub fn found_version(&self) -> Option<u32> {
        self.found_version
    }

    /// Migrate the copy to [`SCHEMA_VERSION`], then (re)create tables and views, reload the
    /// reference data and record the version. Returns the version found.
    fn prepare(&mut self) -> Result<Option<u32>, WarehouseError> {
        let path = self.path.clone();
        let (generation, parent) = (self.generation.clone(), self.parent.clone());
        let found = read_version(self.conn(), &path)?;
        let tx = self
            .conn_mut()
            .transaction()
            .map_err(db_err(&path, "begin"))?;
        if let Upgrade::Migrate { from } = upgrade_plan(&path, found)? {
            for m in migrations_after(from) {
                tx.execute_batch(m.sql).map_err(db_err(
                    &path,
                    &format!("migrate to schema version {} ({})", m.to, m.file),
                ))?;
            }
        }
        tx.execute_batch(SCHEMA_SQL)
            .map_err(db_err(&path, "create tables (sql/schema.sql)"))?;
        tx.execute_batch(VIEWS_SQL)
            .map_err(db_err(&path, "create views (sql/views.sql)"))?;
        // Reference data comes from data/*.csv compiled into the binary; reload it so the
        // warehouse follows the binary.
        tx.execute_batch(
            "DELETE FROM regions; DELETE FROM region_utc_offsets; DELETE FROM categories;",
        )
        .map_err(db_err(&path, "clear reference data"))?;
        {
            let mut app = tx
                .appender("regions")
                .map_err(db_err(&path, "load regions"))?;
            for r in regions() {
                app.append_row(params![r.code, r.name, r.time_zone])
                    .map_err(db_err(&path, "load regions"))?;
            }
            app.flush().map_err(db_err(&path, "load regions"))?;
            let mut app = tx
                .appender("region_utc_offsets")
                .map_err(db_err(&path, "load region_utc_offsets"))?;
            for r in regions() {
                for span in r.offset_spans() {
                    let utc = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
                    app.append_row(params![
                        r.code,
                        utc(span.from),
                        utc(span.until),
                        span.offset_s
                    ])
                    .map_err(db_err(&path, "load region_utc_offsets"))?;
                }
            }
            app.flush()
                .map_err(db_err(&path, "load region_utc_offsets"))?;
            let mut app = tx
                .appender("categories")
                .map_err(db_err(&path, "load categories"))?;
            for c in categories() {
                app.append_row(params![c.id, c.name, c.assignable])
                    .map_err(db_err(&path, "load categories"))?;
            }
            app.flush().map_err(db_err(&path, "load categories"))?;
        }
        tx.execute_batch("DELETE FROM trendlake_warehouse")
            .map_err(db_err(&path, "record the schema version"))?;
        tx.execute(
            "INSERT INTO trendlake_warehouse (schema_version, written_by, generation, parent_generation) \
             VALUES (?, ?, ?, ?)",
            params![SCHEMA_VERSION, WRITTEN_BY, generation, parent],
        )
        .map_err(db_err(&path, "record the schema version"))?;
        tx.commit().map_err(db_err(&path, "commit the schema"))?;
        Ok(found)
    }

    /// What the published warehouse had merged when the session began. The work file may lack
    /// some of it: a standby is one merge behind.
    pub fn published(&self) -> &[MergedSnapshot] {
        &self.published
    }

    /// Whether the work file is the standby (the published file's parent), which lacks the last
    /// publish's changes, rather than a copy of the published file.
    pub fn from_standby(&self) -> bool {
        self.from_standby
    }

    /// This session's generation (the published warehouse's once published) and its parent.
    pub fn generation(&self) -> (&str, Option<&str>) {
        (&self.generation, self.parent.as_deref())
    }

    /// Remove a date the lake no longer holds: its chart entries and its record; videos seen
    /// only then go, and the others' seen dates narrow (their metadata may then be stale: see
    /// `stale_metadata_dates`). Returns the entries removed.
    pub fn forget_snapshot(&mut self, date: NaiveDate) -> Result<usize, WarehouseError> {
        let path = self.path.clone();
        let e = |step: &str| db_err(&path, &format!("remove {date}: {step}"));
        let date_s = date.format("%Y-%m-%d").to_string();
        let tx = self.conn_mut().transaction().map_err(e("begin"))?;
        let removed = tx
            .execute(FORGET_ENTRIES, params![date_s])
            .map_err(e("sql/merge/chart_entries_forget.sql"))?;
        tx.execute(FORGET_RECORD, params![date_s])
            .map_err(e("sql/merge/merged_snapshots_forget.sql"))?;
        tx.execute_batch(MERGE_RESEEN)
            .map_err(e("sql/merge/videos_reseen.sql"))?;
        tx.commit().map_err(e("commit"))?;
        Ok(removed)
    }

    /// Set a merged date's record to `record` (same content, another name, etag or size, or
    /// another `merged_at`): a file of a copied lake, or the standby brought to what its
    /// published warehouse recorded. The date's rows are not touched.
    pub fn set_record(&mut self, record: &MergedSnapshot) -> Result<(), WarehouseError> {
        let date_s = record.date.format("%Y-%m-%d").to_string();
        self.conn()
            .execute(
                SET_IDENTITY,
                params![
                    date_s,
                    record.path,
                    record.etag,
                    record.size as i64,
                    record.merged_at.to_rfc3339(),
                    record.content_sha256
                ],
            )
            .map_err(db_err(
                &self.path,
                &format!("sql/merge/merged_snapshots_identity.sql ({})", record.date),
            ))?;
        Ok(())
    }

    /// Snapshots merged so far (the warehouse's, then this session's).
    pub fn merged_snapshots(&self) -> Result<Vec<MergedSnapshot>, WarehouseError> {
        merged_snapshots(self.conn(), &self.path)
    }

    /// Merge one snapshot (its region batches in the lake schema) in a single transaction.
    /// Returns the number of chart entries merged.
    pub fn merge_snapshot(
        &mut self,
        date: NaiveDate,
        source: SourceFile<'_>,
        batches: impl IntoIterator<Item = RecordBatch>,
        merged_at: DateTime<Utc>,
    ) -> Result<usize, WarehouseError> {
        let staged = Staged {
            date,
            path: source.path.to_string(),
            etag: source.etag.map(str::to_string),
            size: source.size,
            content_sha256: source.content_sha256.to_string(),
            merged_at,
            batches: batches.into_iter().collect(),
        };
        Ok(self.merge_snapshots(vec![staged])?[0])
    }

    /// Merge snapshots (of distinct dates) in a single transaction, as merging each in turn would:
    /// each MERGE joins the tables once for all of them, which is what makes building a warehouse
    /// from a long history fast. Returns each snapshot's chart entries, in order.
    pub fn merge_snapshots(
        &mut self,
        snapshots: Vec<Staged>,
    ) -> Result<Vec<usize>, WarehouseError> {
        let path = self.path.clone();
        let dates = match (snapshots.first(), snapshots.last()) {
            (Some(first), Some(last)) if snapshots.len() > 1 => {
                format!(
                    "{} snapshots from {} to {}",
                    snapshots.len(),
                    first.date,
                    last.date
                )
            }
            (Some(only), _) => only.date.to_string(),
            _ => return Ok(Vec::new()),
        };
        let e = |step: &str| db_err(&path, &format!("merge {dates}: {step}"));
        let tx = self.conn_mut().transaction().map_err(e("begin"))?;
        let rows = stage(&tx, &snapshots).map_err(e("stage the snapshots"))?;
        let repeated: Option<(String, i64)> = tx
            .query_row(STAGING_DUPLICATES, [], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
            .map_err(e("sql/merge/staging_duplicates.sql"))?;
        if let Some((date, repeated)) = repeated {
            return Err(WarehouseError::Other {
                path: path.display().to_string(),
                problem: format!(
                    "merge {date}: the snapshot repeats a video within a region {repeated} time(s), \
                     which no trendlake snapshot does; nothing was merged. Derive it again from \
                     its raw pages (`trendlake rebuild --date {date}`), or take it out of the lake \
                     (`trendlake forget --date {date}`)"
                ),
            });
        }
        tx.execute_batch(MERGE_CHART_ENTRIES)
            .map_err(e("sql/merge/chart_entries.sql"))?;
        let dropped = tx
            .execute(MERGE_STALE_ENTRIES, [])
            .map_err(e("sql/merge/chart_entries_stale.sql"))?;
        tx.execute_batch(MERGE_VIDEOS)
            .map_err(e("sql/merge/videos.sql"))?;
        if dropped > 0 {
            // A replaced snapshot lost entries: seen dates may have narrowed (leaving metadata
            // stale: see `stale_metadata_dates`), and a video may have no entry left.
            tx.execute_batch(MERGE_RESEEN)
                .map_err(e("sql/merge/videos_reseen.sql"))?;
        }
        tx.execute_batch(MERGE_RECORD)
            .map_err(e("sql/merge/merged_snapshots.sql"))?;
        tx.execute_batch("DROP TABLE trendlake_staging; DROP TABLE trendlake_staging_sources;")
            .map_err(e("drop staging"))?;
        tx.commit().map_err(e("commit"))?;
        Ok(rows)
    }

    /// The dates whose snapshots hold the metadata of videos whose metadata is stale (it came
    /// from entries a replaced snapshot dropped), oldest first: refresh each with
    /// [`MergeSession::refresh_metadata`] before publishing.
    pub fn stale_metadata_dates(&self) -> Result<Vec<NaiveDate>, WarehouseError> {
        let step = "find videos with stale metadata (sql/merge/videos_stale.sql)";
        let mut stmt = self
            .conn()
            .prepare(STALE_VIDEOS)
            .map_err(db_err(&self.path, step))?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(db_err(&self.path, step))?;
        rows.map(|d| d.map(|d| parse_date(&d)))
            .collect::<Result<_, _>>()
            .map_err(db_err(&self.path, step))
    }

    /// Rewrite the metadata of the videos whose metadata is stale and whose last seen date is
    /// `date`, from `batches`, the snapshot of `date` (the one merged: the caller checks), with
    /// the same SQL as a merge. Returns how many videos were refreshed.
    pub fn refresh_metadata(
        &mut self,
        date: NaiveDate,
        batches: impl IntoIterator<Item = RecordBatch>,
    ) -> Result<usize, WarehouseError> {
        let path = self.path.clone();
        let e = |step: &str| db_err(&path, &format!("refresh metadata from {date}: {step}"));
        let date_s = date.format("%Y-%m-%d").to_string();
        let staged = Staged {
            date,
            batches: batches.into_iter().collect(),
            ..Staged::default()
        };
        let tx = self.conn_mut().transaction().map_err(e("begin"))?;
        stage(&tx, std::slice::from_ref(&staged)).map_err(e("stage the snapshot"))?;
        tx.execute(REFRESH_VIDEOS, params![date_s])
            .map_err(e("sql/merge/videos_refresh.sql"))?;
        let refreshed = tx
            .execute(MERGE_VIDEOS, [])
            .map_err(e("sql/merge/videos.sql"))?;
        tx.execute_batch("DROP TABLE trendlake_staging; DROP TABLE trendlake_staging_sources;")
            .map_err(e("drop staging"))?;
        tx.commit().map_err(e("commit"))?;
        Ok(refreshed)
    }

    /// Put the merged copy in place of the warehouse: checkpoint and close it, fsync it, rename it
    /// over `<warehouse>`, fsync the directory. Readers that opened the old file keep it.
    pub fn publish(mut self) -> Result<(), WarehouseError> {
        let path = self.path.clone();
        let conn = self.conn.take().expect("open until published");
        conn.execute_batch(REGION_SNAPSHOTS)
            .map_err(db_err(&path, "sql/merge/region_snapshots.sql"))?;
        conn.execute_batch("CHECKPOINT")
            .map_err(db_err(&path, "checkpoint the merged copy"))?;
        conn.close()
            .map_err(|(_, e)| db_err(&path, "close the merged copy")(e))?;
        // Everything is in the file after the checkpoint; a log left over would hold changes the
        // renamed file lacks.
        let wal = sibling(&self.work, ".wal");
        match std::fs::metadata(&wal) {
            Ok(m) if m.len() > 0 => {
                return Err(WarehouseError::Other {
                    path: path.display().to_string(),
                    problem: format!(
                        "DuckDB left a write-ahead log {} after checkpointing the merged copy; nothing was published, merge again",
                        wal.display()
                    ),
                });
            }
            Ok(_) => std::fs::remove_file(&wal).map_err(io_err(&path, "remove an empty log"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path, "look for the copy's log")(e)),
        }
        File::open(&self.work)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&path, &format!("fsync {}", self.work.display())))?;
        // The file being replaced becomes the next merge's standby (a hard link: readers that
        // hold it keep reading it). Should a crash come between the link and the rename, the two
        // names are one file, which `take_standby` notices and refuses.
        let standby = sibling(&path, ".standby");
        match std::fs::remove_file(&standby) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err(&path, "remove the previous standby copy")(e));
            }
            _ => {}
        }
        if path.exists() {
            // Without a standby the next merge copies the file, as the first one did.
            if let Err(e) = std::fs::hard_link(&path, &standby) {
                tracing::debug!(error = %e, "no standby copy kept");
            }
        }
        std::fs::rename(&self.work, &path).map_err(io_err(
            &path,
            &format!("rename {} over it", self.work.display()),
        ))?;
        // A log of the old file (a foreign writer crashed; the copy replayed it) must not be
        // replayed onto the new one.
        match std::fs::remove_file(sibling(&path, ".wal")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err(&path, "remove the old file's write-ahead log")(e));
            }
            _ => {}
        }
        // The rename itself reaches the disk with the directory.
        File::open(parent_dir(&path).unwrap_or(Path::new(".")))
            .and_then(|d| d.sync_all())
            .map_err(io_err(&path, "fsync its directory"))?;
        Ok(())
    }
}

impl Drop for MergeSession {
    fn drop(&mut self) {
        // Close the copy before removing it (a published copy is gone already). Still under the
        // writer lock, so only this session's files match.
        drop(self.conn.take());
        let _ = remove_leftovers(&self.path);
    }
}

/// Append the snapshots' batches to fresh staging tables (sql/staging.sql) in `tx`, each row with
/// its date, and their files to `trendlake_staging_sources`; returns each snapshot's rows.
fn stage(tx: &duckdb::Transaction<'_>, snapshots: &[Staged]) -> duckdb::Result<Vec<usize>> {
    use arrow::array::{ArrayRef, Date32Array};
    use arrow::datatypes::{DataType, Field, Schema};
    tx.execute_batch(STAGING_SQL)?;
    let mut rows = Vec::with_capacity(snapshots.len());
    let mut appender = tx.appender("trendlake_staging")?;
    for snapshot in snapshots {
        let days = (snapshot.date - DateTime::UNIX_EPOCH.date_naive()).num_days() as i32;
        let mut n = 0;
        for batch in &snapshot.batches {
            n += batch.num_rows();
            let mut fields = vec![std::sync::Arc::new(Field::new(
                "snapshot_date",
                DataType::Date32,
                false,
            ))];
            fields.extend(batch.schema().fields().iter().cloned());
            let mut columns: Vec<ArrayRef> = vec![std::sync::Arc::new(Date32Array::from_value(
                days,
                batch.num_rows(),
            ))];
            columns.extend(batch.columns().iter().cloned());
            let dated = RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
                .map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))?;
            appender.append_record_batch(dated)?;
        }
        rows.push(n);
    }
    appender.flush()?;
    let mut sources = tx.appender("trendlake_staging_sources")?;
    for s in snapshots {
        sources.append_row(params![
            s.date.format("%Y-%m-%d").to_string(),
            s.path,
            s.etag,
            s.size as i64,
            s.merged_at.to_rfc3339(),
            s.content_sha256
        ])?;
    }
    sources.flush()?;
    Ok(rows)
}

/// `<path><suffix>`: `wh.duckdb` → `wh.duckdb.merging`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
}

/// Turn the standby (`<warehouse>.standby`: the file the last merge replaced, one publish behind)
/// into this session's work file, instead of copying the whole warehouse; the session then merges
/// what the standby lacks (the last merge's snapshots) along with what is new.
///
/// Only the published file's parent can serve: the standby's generation must be `parent`, the
/// generation the published file records as the one it was merged from. A warehouse swapped in by
/// hand, restored from a backup or built elsewhere names another parent (or none), and its
/// standby is of another lineage: merging on top of it would bring back whatever it held.
/// Refused too, so that the caller copies instead, when it is the published file itself (a crash
/// between the link and the rename of `publish`), when the published file has a write-ahead log
/// (changes the standby never saw), or when any process still holds it open: an analyst who
/// opened the warehouse before the last merge is reading it, and it must not change under them
/// (DuckDB's lock tells: opening it for writing fails). A refused standby is deleted (a holder
/// keeps its open file).
fn take_standby(path: &Path, work: &Path, parent: Option<&str>) -> bool {
    let standby = sibling(path, ".standby");
    let usable = (|| {
        let parent = parent?;
        let held = std::fs::metadata(&standby).ok()?;
        let published = std::fs::metadata(path).ok()?;
        if same_file(&held, &published) || sibling(path, ".wal").exists() {
            return None;
        }
        let conn = Connection::open_with_flags(&standby, offline_config(path).ok()?).ok()?;
        let (generation, _) = read_generation(&conn);
        conn.close().ok()?;
        if generation.as_deref() != Some(parent) || sibling(&standby, ".wal").exists() {
            return None;
        }
        std::fs::rename(&standby, work).ok()
    })();
    if usable.is_none() {
        let _ = std::fs::remove_file(&standby);
        let _ = std::fs::remove_file(sibling(&standby, ".wal"));
    }
    usable.is_some()
}

/// A fresh generation id: a UUIDv7 (time-ordered, random beyond the millisecond).
fn new_generation() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The (generation, parent generation) a warehouse records; (`None`, `None`) for one published
/// before version 5, or unreadable.
fn read_generation(conn: &Connection) -> (Option<String>, Option<String>) {
    conn.query_row(
        "SELECT generation, parent_generation FROM trendlake_warehouse",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap_or((None, None))
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Without inode numbers, a standby is never trusted.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Remove `<warehouse>.merging` and whatever DuckDB made beside it (`.merging.wal`,
/// `.merging.tmp/`, …).
fn remove_leftovers(path: &Path) -> std::io::Result<()> {
    let Some(name) = path.file_name() else {
        return Ok(());
    };
    let mut prefix = name.to_os_string();
    prefix.push(".merging");
    let prefix = prefix.as_encoded_bytes();
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(prefix) {
            // DuckDB's spill directory (`.merging.tmp`) is a directory.
            let removed = match entry.file_type()?.is_dir() {
                true => std::fs::remove_dir_all(entry.path()),
                false => std::fs::remove_file(entry.path()),
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Copy the database file and its write-ahead log (if any) byte for byte, keeping the file's
/// permissions (the copy reaches the disk with the checkpoint's and `publish`'s fsyncs). Both
/// sources are opened before either is copied, and closed after both are: closing a descriptor of
/// a file drops the process's POSIX locks on it, DuckDB's read lock included.
fn copy_database(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut src = File::open(from)?;
    let mut src_wal = match File::open(sibling(from, ".wal")) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let create = |p: &Path| OpenOptions::new().write(true).create_new(true).open(p);
    let mut dst = create(to)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.set_permissions(src.metadata()?.permissions())?;
    if let Some(src_wal) = src_wal.as_mut() {
        let mut dst_wal = create(&sibling(to, ".wal"))?;
        std::io::copy(src_wal, &mut dst_wal)?;
    }
    Ok(())
}

/// Take the exclusive writer lock of a warehouse, `<warehouse>.lock` (see [`FileLock`]),
/// waiting for a session that holds it.
fn writer_lock(warehouse: &Path) -> Result<FileLock, WarehouseError> {
    let path = sibling(warehouse, ".lock");
    FileLock::acquire(&path, false, || {
        eprintln!(
            "another trendlake is merging into {}; waiting for it ({})",
            warehouse.display(),
            path.display()
        )
    })
    .map_err(|source| WarehouseError::Io {
        path: warehouse.display().to_string(),
        step: format!("take the writer lock {}", path.display()),
        source,
    })
}

/// Wrap a DuckDB error with the warehouse file and the step that failed.
fn db_err(path: &Path, step: &str) -> impl FnOnce(duckdb::Error) -> WarehouseError + use<> {
    let path = path.display().to_string();
    let step = step.to_string();
    move |source| WarehouseError::Db {
        path,
        step,
        source: Box::new(source),
    }
}

/// Wrap an I/O error with the warehouse file and the step that failed.
fn io_err(path: &Path, step: &str) -> impl FnOnce(std::io::Error) -> WarehouseError + use<> {
    let path = path.display().to_string();
    let step = step.to_string();
    move |source| WarehouseError::Io { path, step, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema of version 1 as shipped, frozen.
    const V1_SCHEMA: &str = include_str!("../../../sql/migrations/v1_schema.sql");

    fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let n = row.as_ref().column_count();
            out.push(
                (0..n)
                    .map(|i| format!("{:?}", row.get::<_, duckdb::types::Value>(i).unwrap()))
                    .collect(),
            );
        }
        out
    }

    /// Columns, constraints and views: what a migration must get right.
    fn shape(path: &Path) -> [Vec<Vec<String>>; 3] {
        let wh = Warehouse::open_read_only(path).unwrap();
        [
            "SELECT table_name, column_index, column_name, data_type, is_nullable, column_default \
             FROM duckdb_columns() WHERE NOT internal ORDER BY ALL",
            "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() \
             ORDER BY ALL",
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL",
        ]
        .map(|q| rows(&wh.conn, q))
    }

    fn files_beside(path: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn wh_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("wh.duckdb")
    }

    #[test]
    fn versions_are_read_and_planned() {
        let p = Path::new("wh.duckdb");
        assert_eq!(version_of(None, false), Ok(None), "an empty file");
        assert_eq!(
            version_of(None, true),
            Ok(Some(1)),
            "tables, no version table"
        );
        assert_eq!(version_of(Some(&[Some(2)]), true), Ok(Some(2)));
        assert_eq!(version_of(Some(&[Some(7)]), true), Ok(Some(7)));
        assert!(version_of(Some(&[]), true).unwrap_err().contains("0 rows"));
        assert!(version_of(Some(&[Some(2), Some(2)]), true).is_err());
        assert!(version_of(Some(&[None]), true).is_err());
        assert!(version_of(Some(&[Some(0)]), true).is_err());
        assert!(version_of(Some(&[Some(-3)]), true).is_err());

        assert_eq!(upgrade_plan(p, None).unwrap(), Upgrade::Create);
        assert_eq!(
            upgrade_plan(p, Some(1)).unwrap(),
            Upgrade::Migrate { from: 1 }
        );
        assert_eq!(
            upgrade_plan(p, Some(SCHEMA_VERSION)).unwrap(),
            Upgrade::Current
        );
        let newer = upgrade_plan(p, Some(SCHEMA_VERSION + 1)).unwrap_err();
        let text = newer.to_string();
        assert!(
            matches!(newer, WarehouseError::NewerSchema { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
            "{newer:?}"
        );
        for needle in [
            "wh.duckdb",
            &format!("schema version {}", SCHEMA_VERSION + 1),
            &format!("newer than {SCHEMA_VERSION}"),
            "upgrade trendlake",
            "trendlake merge --warehouse NEW_PATH",
        ] {
            assert!(text.contains(needle), "{needle:?} in {text}");
        }
    }

    #[test]
    fn migrations_lead_from_version_1_to_the_current_one() {
        let tos: Vec<u32> = MIGRATIONS.iter().map(|m| m.to).collect();
        assert_eq!(tos, (2..=SCHEMA_VERSION).collect::<Vec<_>>());
        for m in MIGRATIONS {
            assert!(m.file.starts_with(&format!("sql/migrations/{:03}_", m.to)));
        }
        assert_eq!(migrations_after(1).count(), MIGRATIONS.len());
        assert_eq!(migrations_after(SCHEMA_VERSION).count(), 0);
    }

    #[test]
    fn a_version_1_warehouse_is_migrated_to_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.duckdb");
        {
            let conn = Connection::open(&old).unwrap();
            conn.execute_batch(V1_SCHEMA).unwrap();
            conn.execute_batch(
                "INSERT INTO chart_entries VALUES
                     ('2026-11-20', 'JP', 'v1', 1, 10, 1, 1, '2026-11-20T03:00:00Z'),
                     ('2026-11-21', 'JP', 'v1', 2, 20, 2, 2, '2026-11-21T03:00:00Z');
                 INSERT INTO videos VALUES ('v1', 'title', 'd', 'c', 'ct', 10,
                     '2026-11-19T00:00:00Z', 60, 'none', ['a'], NULL, NULL, NULL, 'hd', false, true,
                     '2026-11-20', '2026-11-21');
                 INSERT INTO merged_snapshots VALUES ('2026-11-20', 'p', 'e', 1, 1, ['JP'], '2026-11-20T03:00:00Z'),
                     ('2026-11-21', 'p', 'e', 1, 1, ['JP'], '2026-11-21T03:00:00Z');",
            )
            .unwrap();
        }
        let ro = Warehouse::open_read_only(&old).unwrap();
        assert_eq!(ro.schema_version(), Some(1));
        assert!(ro.needs_upgrade());
        assert_eq!(
            ro.merged_snapshots().unwrap().len(),
            2,
            "version 1 is readable"
        );
        // ...but not by the named queries, which read the current schema's views.
        let outdated = ro.require_current_schema().unwrap_err();
        assert!(
            matches!(
                outdated,
                WarehouseError::Outdated {
                    found: 1,
                    needed: SCHEMA_VERSION,
                    ..
                }
            ),
            "{outdated:?}"
        );
        assert!(outdated.to_string().contains("run `trendlake merge` once"));
        drop(ro);

        let session = Warehouse::begin(&old).unwrap();
        assert_eq!(session.found_version(), Some(1));
        session.publish().unwrap();
        let wh = Warehouse::open_read_only(&old).unwrap();
        assert_eq!(wh.schema_version(), Some(SCHEMA_VERSION));
        assert!(!wh.needs_upgrade());
        wh.require_current_schema().unwrap();
        // Version 4's region_snapshots: the held snapshots numbered, with the previous one.
        assert_eq!(
            rows(
                &wh.conn,
                "SELECT region, snapshot_date::VARCHAR, snapshot_no, previous_date::VARCHAR, \
                        first_date::VARCHAR, last_date::VARCHAR \
                 FROM region_snapshots ORDER BY snapshot_date"
            ),
            vec![
                vec![
                    "Text(\"JP\")".to_string(),
                    "Text(\"2026-11-20\")".into(),
                    "BigInt(1)".into(),
                    "Null".into(),
                    "Text(\"2026-11-20\")".into(),
                    "Text(\"2026-11-21\")".into(),
                ],
                vec![
                    "Text(\"JP\")".to_string(),
                    "Text(\"2026-11-21\")".into(),
                    "BigInt(2)".into(),
                    "Text(\"2026-11-20\")".into(),
                    "Text(\"2026-11-20\")".into(),
                    "Text(\"2026-11-21\")".into(),
                ],
            ]
        );
        assert_eq!(
            rows(
                &wh.conn,
                "SELECT video_id, title, first_seen_date::VARCHAR, last_seen_date::VARCHAR, metadata_date::VARCHAR FROM videos"
            ),
            vec![vec![
                "Text(\"v1\")".to_string(),
                "Text(\"title\")".into(),
                "Text(\"2026-11-20\")".into(),
                "Text(\"2026-11-21\")".into(),
                "Text(\"2026-11-21\")".into(),
            ]]
        );
        assert_eq!(
            rows(&wh.conn, "SELECT count(*) FROM chart_entries"),
            vec![vec!["BigInt(2)".to_string()]]
        );
        assert_eq!(
            rows(
                &wh.conn,
                "SELECT schema_version, written_by, length(generation), parent_generation \
                 FROM trendlake_warehouse"
            ),
            vec![vec![
                format!("Int({SCHEMA_VERSION})"),
                format!("Text({WRITTEN_BY:?})"),
                "BigInt(36)".to_string(),
                // Published before version 5: no generation to name as its parent.
                "Null".to_string(),
            ]]
        );
        // Version 3's regions carry their zone, and SQL can turn UTC into local time with the
        // offsets table: New York is UTC-4 in July and UTC-5 in December.
        assert_eq!(
            rows(
                &wh.conn,
                "SELECT r.time_zone, strftime(t.utc + to_seconds(o.utc_offset_s), '%H:%M')
                 FROM regions r
                 JOIN (VALUES (TIMESTAMP '2026-07-01 12:00:00'), (TIMESTAMP '2026-12-01 12:00:00')) t(utc) ON true
                 JOIN region_utc_offsets o
                   ON o.region = r.code AND t.utc >= o.valid_from AND t.utc < o.valid_until
                 WHERE r.code = 'US' ORDER BY t.utc"
            ),
            [["Text(\"America/New_York\")", "Text(\"08:00\")"], [
                "Text(\"America/New_York\")",
                "Text(\"07:00\")"
            ]]
        );
        drop(wh);

        // The migrated schema is the one a new warehouse gets, column for column.
        let new = dir.path().join("new.duckdb");
        Warehouse::begin(&new).unwrap().publish().unwrap();
        assert_eq!(shape(&old), shape(&new));
        assert_eq!(
            files_beside(&old),
            ["new.duckdb", "old.duckdb", "old.duckdb.standby"],
            "no copy, log or lock left; the replaced file kept as the standby"
        );
    }

    #[test]
    fn a_newer_warehouse_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = wh_path(&dir);
        Warehouse::begin(&path).unwrap().publish().unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "UPDATE trendlake_warehouse SET schema_version = schema_version + 1",
            )
            .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        for error in [
            Warehouse::open_read_only(&path).err().unwrap(),
            Warehouse::begin(&path).err().unwrap(),
        ] {
            assert!(
                matches!(error, WarehouseError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
                "{error:?}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(files_beside(&path), ["wh.duckdb"]);
    }

    #[test]
    fn a_crashed_merges_copy_is_removed_and_an_abandoned_session_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = wh_path(&dir);
        Warehouse::begin(&path).unwrap().publish().unwrap();
        let before = std::fs::read(&path).unwrap();
        // What a merge killed mid-way leaves: a torn copy and its log.
        std::fs::write(sibling(&path, ".merging"), b"torn").unwrap();
        std::fs::write(sibling(&path, ".merging.wal"), b"torn log").unwrap();
        std::fs::create_dir(sibling(&path, ".merging.tmp")).unwrap();
        std::fs::write(sibling(&path, ".merging.tmp/spill"), b"spilled").unwrap();
        std::fs::write(dir.path().join("other.duckdb.merging"), b"not ours").unwrap();

        let mut session = Warehouse::begin(&path).unwrap();
        // The copy is a working warehouse, whatever was at its path before.
        assert_eq!(session.merged_snapshots().unwrap(), Vec::new());
        session
            .conn_mut()
            .execute_batch(
                "INSERT INTO chart_entries VALUES ('2026-11-20', 'JP', 'v', 1, 1, 1, 1, now())",
            )
            .unwrap();
        assert!(sibling(&path, ".lock").exists());
        drop(session);

        assert_eq!(std::fs::read(&path).unwrap(), before, "nothing published");
        assert_eq!(
            files_beside(&path),
            ["other.duckdb.merging", "wh.duckdb"],
            "copy and lock removed; another warehouse's files untouched"
        );
    }

    #[test]
    fn the_standby_serves_only_as_the_published_files_parent() {
        let dir = tempfile::tempdir().unwrap();
        let path = wh_path(&dir);
        let generation = |p: &Path| {
            let conn = open_read_only(p).unwrap();
            read_generation(&conn)
        };
        // A new warehouse: no parent. Its second publish names the first as its parent.
        let first = Warehouse::begin(&path).unwrap();
        assert!(!first.from_standby());
        let g1 = first.generation().0.to_string();
        assert_eq!(first.generation().1, None);
        first.publish().unwrap();
        let second = Warehouse::begin(&path).unwrap();
        assert!(!second.from_standby(), "the first publish left no standby");
        assert_eq!(second.generation().1, Some(g1.as_str()));
        let g2 = second.generation().0.to_string();
        second.publish().unwrap();
        assert_eq!(generation(&path), (Some(g2.clone()), Some(g1.clone())));
        let standby = sibling(&path, ".standby");
        assert_eq!(
            generation(&standby).0,
            Some(g1.clone()),
            "the replaced file"
        );
        // Steady state: the standby is the published file's parent, and serves.
        let third = Warehouse::begin(&path).unwrap();
        assert!(third.from_standby());
        assert_eq!(third.generation().1, Some(g2.as_str()));
        third.publish().unwrap();

        // A warehouse swapped in by hand has another lineage: its standby is refused, deleted.
        let other = dir.path().join("other.duckdb");
        Warehouse::begin(&other).unwrap().publish().unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(standby.exists());
        let swapped = Warehouse::begin(&path).unwrap();
        assert!(!swapped.from_standby());
        drop(swapped);
        assert!(!standby.exists(), "a standby of another lineage is removed");
    }

    #[test]
    fn a_second_session_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = wh_path(&dir);
        let first = Warehouse::begin(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let second = {
            let path = path.clone();
            std::thread::spawn(move || {
                let session = Warehouse::begin(&path).unwrap();
                tx.send(session.found_version()).unwrap();
                session.publish().unwrap();
            })
        };
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(500))
                .is_err(),
            "the second session began while the first held the lock"
        );
        first.publish().unwrap();
        // It then copies what the first published.
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap(),
            Some(SCHEMA_VERSION)
        );
        second.join().unwrap();
        assert_eq!(files_beside(&path), ["wh.duckdb", "wh.duckdb.standby"]);
    }

    /// A region's chart of `videos` (id, title) on `day`.
    fn batch(region: &str, day: &str, videos: &[(&str, &str)]) -> RecordBatch {
        use crate::record::{Page, region_batch};
        use crate::youtube::model::{Snippet, Video};
        let items = videos
            .iter()
            .map(|(id, title)| Video {
                id: id.to_string(),
                snippet: Some(Snippet {
                    published_at: "2026-11-01T00:00:00Z".into(),
                    title: title.to_string(),
                    ..Snippet::default()
                }),
                ..Video::default()
            })
            .collect();
        let page = Page {
            offset: 0,
            fetched_at: format!("{day}T03:00:00Z").parse().unwrap(),
            items,
        };
        region_batch(region, &[page]).unwrap()
    }

    fn merge(session: &mut MergeSession, day: &str, batches: Vec<RecordBatch>) -> usize {
        let source = SourceFile {
            path: "lake/videos.parquet",
            etag: Some(day),
            size: 1,
            content_sha256: day,
        };
        let at = format!("{day}T04:00:00Z").parse().unwrap();
        session
            .merge_snapshot(day.parse().unwrap(), source, batches, at)
            .unwrap()
    }

    fn title(session: &MergeSession, id: &str) -> Vec<Vec<String>> {
        rows(
            session.conn(),
            &format!(
                "SELECT title, last_seen_date::VARCHAR, metadata_date::VARCHAR FROM videos WHERE video_id = '{id}'"
            ),
        )
    }

    #[test]
    fn metadata_left_stale_by_a_replaced_snapshot_is_refreshed_from_the_new_last_date() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = Warehouse::begin(&wh_path(&dir)).unwrap();
        let day1 = || {
            vec![batch(
                "JP",
                "2026-11-20",
                &[("v", "first title"), ("w", "w")],
            )]
        };
        merge(&mut session, "2026-11-20", day1());
        merge(
            &mut session,
            "2026-11-21",
            vec![batch(
                "JP",
                "2026-11-21",
                &[("v", "second title"), ("w", "w")],
            )],
        );
        assert_eq!(session.stale_metadata_dates().unwrap(), Vec::new());
        // The 21st again, without v: its metadata came from there.
        merge(
            &mut session,
            "2026-11-21",
            vec![batch("JP", "2026-11-21", &[("w", "w")])],
        );
        assert_eq!(
            title(&session, "v"),
            [[
                "Text(\"second title\")",
                "Text(\"2026-11-20\")",
                "Text(\"2026-11-21\")"
            ]]
        );
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        assert_eq!(session.stale_metadata_dates().unwrap(), [day]);
        assert_eq!(session.refresh_metadata(day, day1()).unwrap(), 1, "v alone");
        assert_eq!(
            title(&session, "v"),
            [[
                "Text(\"first title\")",
                "Text(\"2026-11-20\")",
                "Text(\"2026-11-20\")"
            ]]
        );
        assert_eq!(session.stale_metadata_dates().unwrap(), Vec::new());
    }

    /// The check `query --name` and a named query at the prompt both make (`ready_for`): a
    /// `date` the warehouse holds, or exit 2 naming the nearest dates it holds.
    #[test]
    fn a_named_querys_date_is_checked_against_the_dates_held() {
        use crate::error::Error;
        use crate::queries::named_query;
        let dir = tempfile::tempdir().unwrap();
        let path = wh_path(&dir);
        let mut session = Warehouse::begin(&path).unwrap();
        for day in ["2026-11-20", "2026-11-22"] {
            merge(&mut session, day, vec![batch("JP", day, &[("v", "a")])]);
        }
        session.publish().unwrap();
        let wh = Warehouse::open_read_only(&path).unwrap();
        let day = |s: &str| -> NaiveDate { s.parse().unwrap() };
        assert_eq!(
            wh.held_dates().unwrap().into_iter().collect::<Vec<_>>(),
            [day("2026-11-20"), day("2026-11-22")]
        );
        let ready = |name: &str, params: &[&str], missing| {
            let q = named_query(name).unwrap();
            let given: Vec<String> = params.iter().map(|p| p.to_string()).collect();
            wh.ready_for::<Error>(q, &q.bind(&given).unwrap(), missing)
        };
        let e = ready("top_movers", &["date=2026-11-21"], MissingDate::Refuse).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            format!(
                "the warehouse {} holds no snapshot of 2026-11-21; the nearest dates it holds are \
                 2026-11-20 and 2026-11-22 (`trendlake query --name coverage` lists every date \
                 held)",
                path.display()
            )
        );
        ready("top_movers", &["date=2026-11-21"], MissingDate::Answer).unwrap();
        ready("top_movers", &["date=2026-11-22"], MissingDate::Refuse).unwrap();
        ready("survival", &[], MissingDate::Refuse).unwrap();
        // No `date` parameter: nothing to check (`from` and `to` are a period's bounds).
        ready("coverage", &["from=2026-11-21"], MissingDate::Refuse).unwrap();
    }

    /// Naming a script's statement never changes an error's exit code.
    #[test]
    fn a_statements_position_keeps_the_errors_exit_code() {
        use crate::error::Error;
        let at = Position {
            index: 2,
            count: 3,
            line: 4,
        };
        let path = Path::new("w.duckdb");
        let errors = || {
            [
                WarehouseError::BadQuery {
                    path: "w.duckdb".into(),
                    message: "Parser Error: syntax error".into(),
                    at: None,
                },
                WarehouseError::Refused(statement::Refusal::NotReading {
                    word: "GRANT".into(),
                }),
                db_err(path, "run the query")(duckdb::Error::QueryReturnedNoRows),
            ]
        };
        let expected = [
            (
                2,
                "statement 2 of 3 (line 4): the query cannot run on warehouse w.duckdb: Parser \
                 Error: syntax error",
            ),
            (
                2,
                "statement 2 of 3 (line 4): trendlake query runs only statements that read \
                 (SELECT, WITH … SELECT, FROM …, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, \
                 EXPLAIN, PIVOT, UNPIVOT); GRANT is not one; nothing of the script ran",
            ),
            (
                1,
                "statement 2 of 3 (line 4): warehouse w.duckdb: run the query: Query returned no \
                 rows",
            ),
        ];
        for ((plain, e), (code, text)) in errors().into_iter().zip(errors()).zip(expected) {
            let plain = Error::from(plain);
            assert_eq!(plain.exit_code(), code, "{plain}");
            let named = e.at(Some(at));
            assert_eq!(named.to_string(), text);
            // Named twice is named once.
            let named = Error::from(named.at(Some(at)));
            assert_eq!(named.exit_code(), code, "{named}");
            assert_eq!(named.to_string(), text);
        }
        for e in errors() {
            let text = e.to_string();
            assert_eq!(
                e.at(None).to_string(),
                text,
                "a script of one names nothing"
            );
        }
    }

    #[test]
    fn a_snapshot_repeating_a_video_in_a_region_is_not_merged() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = Warehouse::begin(&wh_path(&dir)).unwrap();
        let source = SourceFile {
            path: "p",
            etag: None,
            size: 1,
            content_sha256: "x",
        };
        let error = session
            .merge_snapshot(
                "2026-11-20".parse().unwrap(),
                source,
                vec![batch(
                    "JP",
                    "2026-11-20",
                    &[("v", "a"), ("w", "b"), ("v", "a")],
                )],
                Utc::now(),
            )
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("repeats a video within a region 1 time(s)"),
            "{error}"
        );
        assert_eq!(session.merged_snapshots().unwrap(), Vec::new());
        assert_eq!(
            rows(session.conn(), "SELECT count(*) FROM chart_entries"),
            [["BigInt(0)"]]
        );
    }
}
