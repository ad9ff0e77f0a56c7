//! The DuckDB warehouse: schema from `sql/`, incremental merge of lake snapshots, read-only queries.
//!
//! DuckDB's `Connection` is not `Sync`; callers run these methods on a blocking thread
//! (`spawn_blocking`) and never share a connection across tasks. Each snapshot merges in one
//! transaction, so an interrupted merge leaves the warehouse as it was.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use duckdb::{AccessMode, Config, Connection, params};

use crate::regions::{categories, regions};

const SCHEMA_SQL: &str = include_str!("../sql/schema.sql");
const VIEWS_SQL: &str = include_str!("../sql/views.sql");
const STAGING_SQL: &str = include_str!("../sql/staging.sql");
const MERGE_CHART_ENTRIES: &str = include_str!("../sql/merge/chart_entries.sql");
const MERGE_STALE_ENTRIES: &str = include_str!("../sql/merge/chart_entries_stale.sql");
const MERGE_VIDEOS: &str = include_str!("../sql/merge/videos.sql");
const MERGE_RESEEN: &str = include_str!("../sql/merge/videos_reseen.sql");
const MERGE_RECORD: &str = include_str!("../sql/merge/merged_snapshots.sql");

/// A named query shipped in `sql/queries/`.
#[derive(Debug, Clone, Copy)]
pub struct NamedQuery {
    pub name: &'static str,
    pub sql: &'static str,
}

impl NamedQuery {
    /// The first comment line of the file.
    pub fn description(&self) -> &'static str {
        self.sql
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("--"))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// Every named query, in name order.
pub const NAMED_QUERIES: &[NamedQuery] = &[
    NamedQuery {
        name: "cross_region",
        sql: include_str!("../sql/queries/cross_region.sql"),
    },
    NamedQuery {
        name: "days_on_chart",
        sql: include_str!("../sql/queries/days_on_chart.sql"),
    },
    NamedQuery {
        name: "top_movers",
        sql: include_str!("../sql/queries/top_movers.sql"),
    },
];

pub fn named_query(name: &str) -> Option<&'static NamedQuery> {
    NAMED_QUERIES.iter().find(|q| q.name == name)
}

/// Errors of the warehouse, naming the file and the step.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("warehouse {path}: {step}: {source}")]
    Db {
        path: String,
        step: String,
        #[source]
        source: duckdb::Error,
    },
    #[error("warehouse {path} does not exist; run `trendlake merge` (or `run`) first")]
    Missing { path: String },
    #[error("warehouse {path}: {problem}")]
    Other { path: String, problem: String },
}

/// What the warehouse records about one merged snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedSnapshot {
    pub date: NaiveDate,
    pub etag: Option<String>,
    pub size: u64,
}

/// The file a snapshot came from, as recorded in `merged_snapshots`.
#[derive(Debug, Clone)]
pub struct SourceFile<'a> {
    pub path: &'a str,
    pub etag: Option<&'a str>,
    pub size: u64,
}

pub struct Warehouse {
    conn: Connection,
    path: PathBuf,
}

/// DuckDB as trendlake uses it: never downloading an extension (a query such as `'1'::JSON`
/// would otherwise make DuckDB fetch one from the internet, unasked, from a nightly job).
fn offline_config(path: &Path) -> Result<Config, WarehouseError> {
    Config::default()
        .enable_autoload_extension(false)
        .and_then(|c| c.with("autoinstall_known_extensions", "false"))
        .map_err(db_err(path, "configure"))
}

impl Warehouse {
    /// Open (creating if needed) for writing: tables, views and reference data are brought up to date.
    pub fn open(path: &Path) -> Result<Self, WarehouseError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| WarehouseError::Other {
                path: path.display().to_string(),
                problem: format!("cannot create its directory ({e})"),
            })?;
        }
        let conn = Connection::open_with_flags(path, offline_config(path)?)
            .map_err(db_err(path, "open (is another trendlake writing to it?)"))?;
        let mut wh = Self {
            conn,
            path: path.to_path_buf(),
        };
        wh.init()?;
        Ok(wh)
    }

    /// Open an existing warehouse read-only (analysts' queries).
    pub fn open_read_only(path: &Path) -> Result<Self, WarehouseError> {
        if !path.exists() {
            return Err(WarehouseError::Missing {
                path: path.display().to_string(),
            });
        }
        let config = offline_config(path)?
            .access_mode(AccessMode::ReadOnly)
            .map_err(db_err(path, "configure"))?;
        let conn = Connection::open_with_flags(path, config)
            .map_err(db_err(path, "open read-only (is a merge running?)"))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn init(&mut self) -> Result<(), WarehouseError> {
        let tx = self
            .conn
            .transaction()
            .map_err(db_err(&self.path, "begin"))?;
        tx.execute_batch(SCHEMA_SQL)
            .map_err(db_err(&self.path, "create tables (sql/schema.sql)"))?;
        tx.execute_batch(VIEWS_SQL)
            .map_err(db_err(&self.path, "create views (sql/views.sql)"))?;
        // Reference data comes from data/*.csv compiled into the binary; reload it so the
        // warehouse follows the binary, in the same transaction as the schema.
        tx.execute_batch("DELETE FROM regions; DELETE FROM categories;")
            .map_err(db_err(&self.path, "clear reference data"))?;
        {
            let mut ins = tx
                .prepare("INSERT INTO regions (code, name) VALUES (?, ?)")
                .map_err(db_err(&self.path, "load regions"))?;
            for r in regions() {
                ins.execute(params![r.code, r.name])
                    .map_err(db_err(&self.path, "load regions"))?;
            }
            let mut ins = tx
                .prepare("INSERT INTO categories (category_id, name, assignable) VALUES (?, ?, ?)")
                .map_err(db_err(&self.path, "load categories"))?;
            for c in categories() {
                ins.execute(params![c.id, c.name, c.assignable])
                    .map_err(db_err(&self.path, "load categories"))?;
            }
        }
        tx.commit().map_err(db_err(&self.path, "commit schema"))?;
        Ok(())
    }

    /// Snapshots already merged, with the file identity they were merged from.
    pub fn merged_snapshots(&self) -> Result<Vec<MergedSnapshot>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT strftime(snapshot_date, '%Y-%m-%d'), etag, size FROM merged_snapshots ORDER BY snapshot_date",
            )
            .map_err(db_err(&self.path, "read merged_snapshots"))?;
        let rows = stmt
            .query_map([], |row| {
                let date: String = row.get(0)?;
                Ok(MergedSnapshot {
                    date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                        .expect("DuckDB formats dates"),
                    etag: row.get(1)?,
                    size: row.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(db_err(&self.path, "read merged_snapshots"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db_err(&self.path, "read merged_snapshots"))
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
        let path = self.path.clone();
        let e = |step: &str| db_err(&path, &format!("merge {date}: {step}"));
        let date_s = date.format("%Y-%m-%d").to_string();
        let tx = self.conn.transaction().map_err(e("begin"))?;
        tx.execute_batch(STAGING_SQL).map_err(e("create staging"))?;
        let mut rows = 0usize;
        {
            let mut appender = tx.appender("trendlake_staging").map_err(e("appender"))?;
            for batch in batches {
                rows += batch.num_rows();
                appender
                    .append_record_batch(batch)
                    .map_err(e("append batch"))?;
            }
            appender.flush().map_err(e("flush appender"))?;
        }
        tx.execute(MERGE_CHART_ENTRIES, params![date_s])
            .map_err(e("sql/merge/chart_entries.sql"))?;
        let dropped = tx
            .execute(MERGE_STALE_ENTRIES, params![date_s])
            .map_err(e("sql/merge/chart_entries_stale.sql"))?;
        tx.execute(MERGE_VIDEOS, params![date_s])
            .map_err(e("sql/merge/videos.sql"))?;
        if dropped > 0 {
            // A replaced snapshot lost entries: seen dates may have narrowed, and a video may
            // have no entry left.
            tx.execute_batch(MERGE_RESEEN)
                .map_err(e("sql/merge/videos_reseen.sql"))?;
        }
        tx.execute(
            MERGE_RECORD,
            params![
                date_s,
                source.path,
                source.etag,
                source.size as i64,
                merged_at.to_rfc3339()
            ],
        )
        .map_err(e("sql/merge/merged_snapshots.sql"))?;
        tx.execute_batch("DROP TABLE trendlake_staging")
            .map_err(e("drop staging"))?;
        tx.commit().map_err(e("commit"))?;
        Ok(rows)
    }

    /// Run one SQL statement and return its result as Arrow batches. `variables` are set first
    /// (`SET VARIABLE name = 'value'`) so queries read them with `getvariable('name')`.
    pub fn query(
        &self,
        sql: &str,
        variables: &[(String, String)],
    ) -> Result<Vec<RecordBatch>, WarehouseError> {
        for (name, value) in variables {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(WarehouseError::Other {
                    path: self.path.display().to_string(),
                    problem: format!(
                        "parameter name {name:?} must be letters, digits and underscores"
                    ),
                });
            }
            // The name is validated above; the value is bound, never spliced into SQL.
            self.conn
                .execute(&format!("SET VARIABLE \"{name}\" = ?"), params![value])
                .map_err(db_err(&self.path, &format!("set parameter {name}")))?;
        }
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(db_err(&self.path, "prepare the query"))?;
        let result = stmt
            .query_arrow([])
            .map_err(db_err(&self.path, "run the query"))?;
        let schema = result.get_schema();
        let mut batches: Vec<RecordBatch> = result.collect();
        // An empty result still has columns: writers print the header, Parquet gets its schema.
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema));
        }
        Ok(batches)
    }
}

/// Wrap a DuckDB error with the warehouse file and the step that failed.
fn db_err(path: &Path, step: &str) -> impl FnOnce(duckdb::Error) -> WarehouseError + use<> {
    let path = path.display().to_string();
    let step = step.to_string();
    move |source| WarehouseError::Db { path, step, source }
}
