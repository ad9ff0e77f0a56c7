//! The merge session: a private copy of the warehouse (or its standby), brought to the current
//! schema, into which snapshots are staged and merged in batches.

use super::*;

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
    pub(super) conn: Option<Connection>,
    /// The published warehouse.
    pub(super) path: PathBuf,
    /// The copy: `<warehouse>.merging`.
    pub(super) work: PathBuf,
    /// The warehouse's schema version when the session began (`None`: created by the session).
    pub(super) found_version: Option<u32>,
    /// What the published warehouse had merged when the session began (under the lock).
    pub(super) published: Vec<MergedSnapshot>,
    /// This session's generation, recorded in the copy: the warehouse's once published.
    pub(super) generation: String,
    /// The published warehouse's generation when the session began (`None`: a new warehouse, or
    /// one published before version 5): the new generation's parent.
    pub(super) parent: Option<String>,
    /// Whether the work file is the standby (one publish behind) rather than a copy.
    pub(super) from_standby: bool,
    /// Released after the copy is removed: fields drop after `Drop::drop`.
    pub(super) _lock: FileLock,
}

impl MergeSession {
    pub(super) fn begin(path: &Path, standby: bool) -> Result<Self, WarehouseError> {
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

    pub(super) fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("open until published")
    }

    pub(super) fn conn_mut(&mut self) -> &mut Connection {
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
    pub(super) fn prepare(&mut self) -> Result<Option<u32>, WarehouseError> {
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

    /// The `tracked` files merged so far: each date's content SHA-256.
    pub fn merged_tracked(&self) -> Result<BTreeMap<NaiveDate, String>, WarehouseError> {
        merged_tracked(self.conn(), &self.path)
    }

    /// The chart catalogues merged so far: path → content SHA-256.
    pub fn merged_catalogues(&self) -> Result<BTreeMap<String, String>, WarehouseError> {
        merged_catalogues(self.conn(), &self.path)
    }

    /// Replace what the warehouse holds of the chart catalogues of `dates` (`chart_status`,
    /// `category_listings`, `merged_catalogues`) with `nights`, the catalogues now in the lake
    /// for those dates (a date with none is only removed), in one transaction.
    pub fn merge_catalogues(
        &mut self,
        dates: &[NaiveDate],
        nights: &[NightCatalogue],
    ) -> Result<(), WarehouseError> {
        let path = self.path.clone();
        let e = |step: &str| db_err(&path, &format!("merge the chart catalogues: {step}"));
        let tx = self.conn_mut().transaction().map_err(e("begin"))?;
        for date in dates {
            let date_s = date.format("%Y-%m-%d").to_string();
            for table in ["chart_status", "category_listings", "merged_catalogues"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE snapshot_date = CAST(? AS DATE)"),
                    params![date_s],
                )
                .map_err(e(table))?;
            }
        }
        {
            let mut status = tx.appender("chart_status").map_err(e("chart_status"))?;
            let mut listings = tx
                .appender("category_listings")
                .map_err(e("category_listings"))?;
            let mut merged = tx
                .appender("merged_catalogues")
                .map_err(e("merged_catalogues"))?;
            for night in nights {
                let date_s = night.date.format("%Y-%m-%d").to_string();
                for (region, category, state) in &night.charts {
                    status
                        .append_row(params![date_s, region, category, state])
                        .map_err(e("chart_status"))?;
                }
                for (region, id, title, assignable) in &night.categories {
                    listings
                        .append_row(params![date_s, region, id, title, assignable])
                        .map_err(e("category_listings"))?;
                }
                for (file, sha) in &night.files {
                    merged
                        .append_row(params![file, date_s, sha])
                        .map_err(e("merged_catalogues"))?;
                }
            }
            status.flush().map_err(e("chart_status"))?;
            listings.flush().map_err(e("category_listings"))?;
            merged.flush().map_err(e("merged_catalogues"))?;
        }
        tx.commit().map_err(e("commit"))
    }

    /// Replace `date`'s tracked videos with `batch` (rows of the lake's `tracked` table) from the
    /// file of content `content_sha256`, in one transaction. Returns the rows merged.
    pub fn merge_tracked(
        &mut self,
        date: NaiveDate,
        content_sha256: &str,
        batch: RecordBatch,
    ) -> Result<usize, WarehouseError> {
        use arrow::array::{ArrayRef, Date32Array};
        use arrow::datatypes::{DataType, Field, Schema};
        let path = self.path.clone();
        let e = |step: &str| {
            db_err(
                &path,
                &format!("merge the tracked videos of {date}: {step}"),
            )
        };
        let date_s = date.format("%Y-%m-%d").to_string();
        let rows = batch.num_rows();
        let days = (date - DateTime::UNIX_EPOCH.date_naive()).num_days() as i32;
        let mut fields = vec![std::sync::Arc::new(Field::new(
            "snapshot_date",
            DataType::Date32,
            false,
        ))];
        fields.extend(batch.schema().fields().iter().cloned());
        let mut columns: Vec<ArrayRef> =
            vec![std::sync::Arc::new(Date32Array::from_value(days, rows))];
        columns.extend(batch.columns().iter().cloned());
        let dated = RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
            .map_err(|source| WarehouseError::Other {
                path: path.display().to_string(),
                problem: format!("the tracked videos of {date} cannot be staged: {source}"),
            })?;
        let tx = self.conn_mut().transaction().map_err(e("begin"))?;
        tx.execute(FORGET_TRACKED, params![date_s])
            .map_err(e("sql/merge/tracked_videos_forget.sql"))?;
        {
            let mut appender = tx.appender("tracked_videos").map_err(e("append"))?;
            appender.append_record_batch(dated).map_err(e("append"))?;
            appender.flush().map_err(e("append"))?;
        }
        tx.execute(TRACKED_RECORD, params![date_s, content_sha256, rows as i64])
            .map_err(e("sql/merge/merged_tracked.sql"))?;
        tx.commit().map_err(e("commit"))?;
        Ok(rows)
    }

    /// Remove `date`'s tracked videos and their record (the lake no longer holds the file).
    /// Returns the rows removed.
    pub fn forget_tracked(&mut self, date: NaiveDate) -> Result<usize, WarehouseError> {
        let path = self.path.clone();
        let e = |step: &str| {
            db_err(
                &path,
                &format!("remove the tracked videos of {date}: {step}"),
            )
        };
        let date_s = date.format("%Y-%m-%d").to_string();
        let tx = self.conn_mut().transaction().map_err(e("begin"))?;
        let removed = tx
            .execute(FORGET_TRACKED, params![date_s])
            .map_err(e("sql/merge/tracked_videos_forget.sql"))?;
        tx.execute(FORGET_TRACKED_RECORD, params![date_s])
            .map_err(e("sql/merge/merged_tracked_forget.sql"))?;
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
}

/// Append the snapshots' batches to fresh staging tables (sql/staging.sql) in `tx`, each row with
/// its date, and their files to `trendlake_staging_sources`; returns each snapshot's rows.
pub(super) fn stage(
    tx: &duckdb::Transaction<'_>,
    snapshots: &[Staged],
) -> duckdb::Result<Vec<usize>> {
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

/// What one night's chart catalogues say, as the warehouse keeps it: the latest run's word on each
/// chart and each region's listing.
#[derive(Debug, Clone, Default)]
pub struct NightCatalogue {
    pub date: NaiveDate,
    /// (region, chart_category, status).
    pub charts: Vec<(String, String, String)>,
    /// (region, category_id, title, assignable).
    pub categories: Vec<(String, u32, String, bool)>,
    /// The catalogue files (path relative to the lake's root, content SHA-256).
    pub files: Vec<(String, String)>,
}
