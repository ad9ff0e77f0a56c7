//! The warehouse's schema versions and the migrations between them (`sql/migrations/`).

use super::*;

/// One step of the schema's history: the SQL that takes a warehouse from version `to - 1` to `to`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    pub(super) to: u32,
    pub(super) file: &'static str,
    pub(super) sql: &'static str,
}

/// Every migration, in order; the last one's `to` is [`SCHEMA_VERSION`].
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        to: 2,
        file: "sql/migrations/002_metadata_date_no_big_keys.sql",
        sql: include_str!("../../../../sql/migrations/002_metadata_date_no_big_keys.sql"),
    },
    Migration {
        to: 3,
        file: "sql/migrations/003_region_time_zones.sql",
        sql: include_str!("../../../../sql/migrations/003_region_time_zones.sql"),
    },
    Migration {
        to: 4,
        file: "sql/migrations/004_region_snapshots.sql",
        sql: include_str!("../../../../sql/migrations/004_region_snapshots.sql"),
    },
    Migration {
        to: 5,
        file: "sql/migrations/005_lineage.sql",
        sql: include_str!("../../../../sql/migrations/005_lineage.sql"),
    },
    Migration {
        to: 6,
        file: "sql/migrations/006_tracked.sql",
        sql: include_str!("../../../../sql/migrations/006_tracked.sql"),
    },
    Migration {
        to: 7,
        file: "sql/migrations/007_charts.sql",
        sql: include_str!("../../../../sql/migrations/007_charts.sql"),
    },
];

/// The schema version recorded in the file (`None`: none of trendlake's tables; 1: the tables
/// without the version table).
pub(super) fn read_version(conn: &Connection, path: &Path) -> Result<Option<u32>, WarehouseError> {
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
pub(super) fn unreadable(path: &Path, problem: String) -> WarehouseError {
    WarehouseError::Other {
        path: path.display().to_string(),
        problem: format!(
            "{problem}; build a fresh warehouse from the lake with `trendlake merge --warehouse NEW_PATH`"
        ),
    }
}

/// The schema version from the rows of `trendlake_warehouse` (`None`: no such table) and whether
/// trendlake's tables exist.
pub(super) fn version_of(
    recorded: Option<&[Option<i64>]>,
    has_tables: bool,
) -> Result<Option<u32>, String> {
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
pub(super) enum Upgrade {
    /// No tables yet: create them.
    Create,
    /// Run the migrations after `from`.
    Migrate {
        from: u32,
    },
    Current,
}

pub(super) fn upgrade_plan(path: &Path, found: Option<u32>) -> Result<Upgrade, WarehouseError> {
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
pub(super) fn migrations_after(from: u32) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |m| m.to > from)
}
