//! [`Warehouse`], opened read-only: the dates held, merged snapshots, named queries, analysts'
//! SQL and scripts, streamed as Arrow batches.

use super::*;

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

    /// The `tracked` files already merged: each date's content SHA-256 (none before version 6).
    pub fn merged_tracked(&self) -> Result<BTreeMap<NaiveDate, String>, WarehouseError> {
        if self.version.is_none_or(|v| v < 6) {
            return Ok(BTreeMap::new());
        }
        merged_tracked(&self.conn, &self.path)
    }

    /// The chart catalogues already merged: path (relative to the lake's root) → content SHA-256
    /// (none before version 7).
    pub fn merged_catalogues(&self) -> Result<BTreeMap<String, String>, WarehouseError> {
        if self.version.is_none_or(|v| v < 7) {
            return Ok(BTreeMap::new());
        }
        merged_catalogues(&self.conn, &self.path)
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
    pub(super) fn session(&self, variables: &[Binding]) -> Result<Connection, WarehouseError> {
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
    pub(super) fn prepare<'c>(
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
    pub(super) fn stream<'s>(
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

/// Snapshots merged into the warehouse on `conn`.
pub(super) fn merged_snapshots(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<MergedSnapshot>, WarehouseError> {
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

pub(super) fn parse_date(date: &str) -> NaiveDate {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("DuckDB formats dates as %Y-%m-%d")
}

/// Each merged `tracked` file's date and content SHA-256 (since version 6).
pub(super) fn merged_tracked(
    conn: &Connection,
    path: &Path,
) -> Result<BTreeMap<NaiveDate, String>, WarehouseError> {
    let sql = "SELECT strftime(snapshot_date, '%Y-%m-%d'), content_sha256 FROM merged_tracked";
    Ok(identities(conn, path, "read merged_tracked", sql)?
        .into_iter()
        .map(|(date, sha)| (parse_date(&date), sha))
        .collect())
}

/// Each merged chart catalogue's path and content SHA-256 (since version 7).
pub(super) fn merged_catalogues(
    conn: &Connection,
    path: &Path,
) -> Result<BTreeMap<String, String>, WarehouseError> {
    let sql = "SELECT path, content_sha256 FROM merged_catalogues";
    identities(conn, path, "read merged_catalogues", sql)
}

/// The (name, content SHA-256) pairs `sql` selects: what a record table says was merged.
fn identities(
    conn: &Connection,
    path: &Path,
    step: &str,
    sql: &str,
) -> Result<BTreeMap<String, String>, WarehouseError> {
    let mut stmt = conn.prepare(sql).map_err(db_err(path, step))?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(db_err(path, step))?;
    rows.collect::<duckdb::Result<_>>()
        .map_err(db_err(path, step))
}
