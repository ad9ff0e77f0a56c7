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
//! One file per concern: `schema` (versions and migrations), `connection` (how DuckDB is opened:
//! offline, read-only, sealed, in UTC), `read` ([`Warehouse`]: what analysts and a merge read),
//! `session` (the merge session), `publish` (publishing, the standby and generations), `lock`
//! (the writer lock), `statement` (what an analyst's SQL may be).
//!
//! DuckDB's `Connection` is not `Sync`; callers run these methods on a blocking thread
//! (`spawn_blocking`) and never share a connection across tasks.

use std::collections::{BTreeMap, BTreeSet};
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
pub const SCHEMA_VERSION: u32 = 7;

/// Who wrote a warehouse, recorded in `trendlake_warehouse.written_by`.
const WRITTEN_BY: &str = concat!("trendlake ", env!("CARGO_PKG_VERSION"));

const SCHEMA_SQL: &str = include_str!("../../../../sql/schema.sql");
const VIEWS_SQL: &str = include_str!("../../../../sql/views.sql");
const STAGING_SQL: &str = include_str!("../../../../sql/staging.sql");
const MERGE_CHART_ENTRIES: &str = include_str!("../../../../sql/merge/chart_entries.sql");
const MERGE_STALE_ENTRIES: &str = include_str!("../../../../sql/merge/chart_entries_stale.sql");
const MERGE_VIDEOS: &str = include_str!("../../../../sql/merge/videos.sql");
const MERGE_RESEEN: &str = include_str!("../../../../sql/merge/videos_reseen.sql");
const MERGE_RECORD: &str = include_str!("../../../../sql/merge/merged_snapshots.sql");
const STALE_VIDEOS: &str = include_str!("../../../../sql/merge/videos_stale.sql");
const REFRESH_VIDEOS: &str = include_str!("../../../../sql/merge/videos_refresh.sql");
const STAGING_DUPLICATES: &str = include_str!("../../../../sql/merge/staging_duplicates.sql");
const CHART_SNAPSHOTS: &str = include_str!("../../../../sql/merge/chart_snapshots.sql");
const FORGET_ENTRIES: &str = include_str!("../../../../sql/merge/chart_entries_forget.sql");
const FORGET_RECORD: &str = include_str!("../../../../sql/merge/merged_snapshots_forget.sql");
const FORGET_TRACKED: &str = include_str!("../../../../sql/merge/tracked_videos_forget.sql");
const FORGET_TRACKED_RECORD: &str = include_str!("../../../../sql/merge/merged_tracked_forget.sql");
const TRACKED_RECORD: &str = include_str!("../../../../sql/merge/merged_tracked.sql");
const SET_IDENTITY: &str = include_str!("../../../../sql/merge/merged_snapshots_identity.sql");

mod connection;
mod lock;
mod publish;
mod read;
mod schema;
mod session;
pub mod statement;
#[cfg(test)]
mod tests;

use connection::*;
use lock::*;
use publish::*;
use read::*;
use schema::*;
use statement::{Position, Script, Statement};

pub use connection::DEFAULT_TIME_ZONE;
pub use read::Batches;
pub use session::{MergeSession, NightCatalogue};

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

/// `<path><suffix>`: `wh.duckdb` → `wh.duckdb.merging`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
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
