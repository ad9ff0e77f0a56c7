//! The Parquet lake on `object_store` (local directory or S3): layout, encoding, atomic commit.
//!
//! Layout (SPEC): `videos/snapshot_date=D/videos.parquet` — one file per date, all regions,
//! sorted by region then rank, one row group per region; `raw/…` (see `raw`);
//! `_runs/snapshot_date=D/<run-id>.json`; `_quarantine/` for files that could not be read.
//! A commit is one `put` of the whole file: `LocalFileSystem` stages and renames, S3 publishes a
//! PUT atomically, so readers see the old file or the new one, never half of one. Commits are a
//! read-merge-write of the date's file, so concurrent runs of a date are serialised: locally by a
//! lock file, on S3 by conditional puts (`If-Match` the version read, `If-None-Match` for the
//! first file), retried from the read when another run got there first.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::StringArray;
use arrow::array::{AsArray, RecordBatch};
use arrow::compute::kernels::cmp::eq;
use arrow::compute::{concat_batches, filter_record_batch};
use bytes::Bytes;
use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    ObjectMeta, ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode, PutOptions, PutPayload,
    UpdateVersion,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use tracing::warn;

use crate::record::{SCHEMA_VERSION, schema};

/// Read-merge-write rounds a commit tries before it gives up on a date other runs keep
/// committing.
const MAX_COMMIT_ATTEMPTS: u32 = 20;

/// S3 requests: retried with backoff, but bounded, so a dead endpoint is reported in seconds, not
/// minutes (object_store's default keeps trying for three).
fn s3_retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig::default(),
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(30),
    }
}

/// Errors of the lake, each naming the path or URL concerned.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake {url:?}: {problem}")]
    Config { url: String, problem: String },
    #[error("lake object {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: object_store::Error,
    },
    #[error("lake file {path} is not a readable trendlake snapshot: {source}")]
    Corrupt {
        path: String,
        #[source]
        source: DecodeError,
    },
    #[error("cannot lock {path} for this date's commit: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding Parquet: {0}")]
    Encode(#[from] parquet::errors::ParquetError),
    #[error(
        "there is no lake at {url}: {problem}; check --lake (TRENDLAKE_LAKE), or create it with `trendlake run`"
    )]
    Missing { url: String, problem: String },
    #[error(
        "{path}: {attempts} other runs committed this date while this one tried to; nothing of this run was written, run it again"
    )]
    Contended { path: String, attempts: u32 },
    #[error("raw archive: {0}")]
    Raw(#[from] Box<crate::raw::RawError>),
}

/// Why bytes are not a snapshot this trendlake can read ([`decode_snapshot`]); the lake wraps it
/// in [`LakeError::Corrupt`] with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not Parquet, or damaged: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(
        "schema version {found:?}, this trendlake writes {expected:?}; move the file aside or use a matching trendlake"
    )]
    SchemaVersion {
        found: Option<String>,
        expected: &'static str,
    },
    #[error("its columns differ from the videos schema")]
    Columns,
    #[error("its rows cannot be split by region: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// A lake rooted at a directory or an S3 prefix.
#[derive(Debug, Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The lake as an absolute URL: `file:///abs/dir` or `s3://bucket/prefix`.
    url: String,
    /// Where store paths start, for messages: `s3://bucket` or the local directory.
    base: String,
    /// Local lakes: the directory, where per-date lock files serialise commits.
    local_dir: Option<std::path::PathBuf>,
}

/// One snapshot file as listed in the lake.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    pub date: NaiveDate,
    pub meta: ObjectMeta,
}

/// A snapshot read back: one batch per region, in region order.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub meta: ObjectMeta,
    /// The file as stored.
    pub bytes: Bytes,
    pub regions: BTreeMap<String, RecordBatch>,
}

/// What a commit did.
#[derive(Debug, Clone)]
pub struct Commit {
    pub path: String,
    pub rows: usize,
    /// Regions carried over unchanged from the previous file of that date.
    pub regions_kept: Vec<String>,
    /// The new file was byte-identical to the one in place, so nothing was written.
    pub unchanged: bool,
    pub bytes: usize,
    /// The file in place could not be read: where it was moved aside.
    pub quarantined: Option<String>,
    /// Regions of the unreadable file re-derived from their raw pages and kept.
    pub regions_restored: Vec<String>,
    /// Times the commit started over because another run committed the date meanwhile (S3).
    pub conflicts: u32,
}

impl Lake {
    /// Open `spec` for writing: a path, `file:///abs/path`, or `s3://bucket/prefix` (credentials,
    /// region and endpoint from the standard `AWS_*` variables). A local lake's directory is
    /// created if missing.
    pub fn open(spec: &str) -> Result<Self, LakeError> {
        Self::open_with(spec, &[])
    }

    /// [`Lake::open`] with object_store options (`aws_endpoint`, `aws_allow_http`, …) that take
    /// precedence over the environment.
    pub fn open_with(spec: &str, options: &[(String, String)]) -> Result<Self, LakeError> {
        Self::open_inner(spec, options, true)
    }

    /// Open a lake that must already exist (`merge`, `check`, `rebuild`): a directory or prefix
    /// holding trendlake's folders. Nothing is created.
    pub async fn open_existing(spec: &str) -> Result<Self, LakeError> {
        Self::open_existing_with(spec, &[]).await
    }

    pub async fn open_existing_with(
        spec: &str,
        options: &[(String, String)],
    ) -> Result<Self, LakeError> {
        let lake = Self::open_inner(spec, options, false)?;
        let mut found = false;
        for top in ["videos", "raw", "_runs"] {
            let prefix = lake.path(top);
            let first = lake.store.list(Some(&prefix)).try_next().await;
            match first {
                Ok(Some(_)) => {
                    found = true;
                    break;
                }
                Ok(None) => {}
                Err(e) => return Err(lake.store_err(&prefix)(e)),
            }
        }
        if !found {
            return Err(LakeError::Missing {
                url: lake.url.clone(),
                problem: "it holds no snapshots, raw pages or run reports".into(),
            });
        }
        Ok(lake)
    }

    fn open_inner(
        spec: &str,
        options: &[(String, String)],
        create: bool,
    ) -> Result<Self, LakeError> {
        let config = |problem: String| LakeError::Config {
            url: spec.to_string(),
            problem,
        };
        if spec.contains("://") && !spec.starts_with("file://") {
            let url = url::Url::parse(spec).map_err(|e| config(format!("not a URL ({e})")))?;
            let (scheme, prefix) = ObjectStoreScheme::parse(&url).map_err(|_| {
                config("unsupported scheme; use a path, file://… or s3://bucket/prefix".into())
            })?;
            if scheme != ObjectStoreScheme::AmazonS3 {
                return Err(config(
                    "unsupported scheme; use a path, file://… or s3://bucket/prefix".into(),
                ));
            }
            let bucket = url.host_str().unwrap_or_default().to_string();
            if bucket.is_empty() {
                return Err(config("no bucket; write s3://bucket/prefix".into()));
            }
            let mut builder = object_store::aws::AmazonS3Builder::from_env()
                .with_url(spec)
                .with_retry(s3_retry());
            for (key, value) in options {
                // As `from_env` reads them: `AWS_ENDPOINT_URL` is `aws_endpoint_url`.
                let key = key
                    .to_ascii_lowercase()
                    .parse()
                    .map_err(|e| config(format!("option {key:?}: {e}")))?;
                builder = builder.with_config(key, value);
            }
            let store = builder.build().map_err(|e| {
                config(format!(
                    "{e}; set AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL, AWS_ALLOW_HTTP=true for an S3-compatible server)"
                ))
            })?;
            let prefix = prefix.as_ref().trim_matches('/').to_string();
            return Ok(Self {
                store: Arc::new(store),
                root: Path::from(prefix.as_str()),
                url: match prefix.as_str() {
                    "" => format!("s3://{bucket}"),
                    prefix => format!("s3://{bucket}/{prefix}"),
                },
                base: format!("s3://{bucket}"),
                local_dir: None,
            });
        }
        let dir = match spec.strip_prefix("file://") {
            // A proper file URL (percent-decoded); else, as before, the rest taken as a path.
            Some(path) => url::Url::parse(spec)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .unwrap_or_else(|| std::path::PathBuf::from(path)),
            None => std::path::PathBuf::from(spec),
        };
        if create {
            std::fs::create_dir_all(&dir)
                .map_err(|e| config(format!("cannot create the directory ({e})")))?;
        } else if !dir.is_dir() {
            return Err(LakeError::Missing {
                url: std::path::absolute(&dir)
                    .unwrap_or(dir)
                    .display()
                    .to_string(),
                problem: "no such directory".into(),
            });
        }
        // Absolute, so reports and messages say where the lake is whatever the working directory.
        let dir = std::fs::canonicalize(&dir)
            .map_err(|e| config(format!("cannot resolve the directory ({e})")))?;
        let url = url::Url::from_file_path(&dir)
            .map_err(|()| config("cannot be written as a file:// URL".into()))?
            .to_string();
        let store = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| config(e.to_string()))?
            // Deleting a file also removes the directories it leaves empty.
            .with_automatic_cleanup(true)
            // The staged file reaches the disk before the rename publishes it, so a power cut
            // cannot leave a torn snapshot in place of a good one.
            .with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            root: Path::default(),
            url,
            base: dir.display().to_string().trim_end_matches('/').to_string(),
            local_dir: Some(dir),
        })
    }

    /// The local directory of a lake on disk.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        self.local_dir.as_deref()
    }

    /// The lake as an absolute URL, whatever form it was opened with: `file:///abs/path/lake`
    /// for a local lake (percent-encoded where a path needs it), `s3://bucket/prefix` for S3.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn path(&self, rel: &str) -> Path {
        if self.root.as_ref().is_empty() {
            Path::from(rel)
        } else {
            Path::from(format!("{}/{rel}", self.root))
        }
    }

    /// `videos/snapshot_date=D/videos.parquet` under the lake's root.
    pub fn snapshot_path(&self, date: NaiveDate) -> Path {
        self.path(&format!("videos/snapshot_date={date}/videos.parquet"))
    }

    /// A store path as the user can find it: `s3://bucket/prefix/…` or `/dir/…`.
    pub fn display(&self, path: &Path) -> String {
        format!("{}/{path}", self.base)
    }

    pub(crate) fn store_err(
        &self,
        path: &Path,
    ) -> impl FnOnce(object_store::Error) -> LakeError + use<> {
        let path = self.display(path);
        move |source| LakeError::Store { path, source }
    }

    /// Every object under `prefix` (a store path), in no particular order.
    pub(crate) async fn list(&self, prefix: &Path) -> Result<Vec<ObjectMeta>, LakeError> {
        self.store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(self.store_err(prefix))
    }

    /// An object's bytes, or `None` when there is no such object.
    pub(crate) async fn get(&self, path: &Path) -> Result<Option<Bytes>, LakeError> {
        Ok(self.get_with_meta(path).await?.map(|(_, bytes)| bytes))
    }

    /// An object's metadata (its version, for a conditional put) and bytes, or `None`.
    async fn get_with_meta(&self, path: &Path) -> Result<Option<(ObjectMeta, Bytes)>, LakeError> {
        match self.store.get(path).await {
            Ok(got) => {
                let meta = got.meta.clone();
                let bytes = got.bytes().await.map_err(self.store_err(path))?;
                Ok(Some((meta, bytes)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.store_err(path)(e)),
        }
    }

    /// Write an object whole (atomically: staged and renamed locally, one PUT on S3).
    pub(crate) async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), LakeError> {
        self.store
            .put(path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(self.store_err(path))
    }

    /// Delete an object; one that is not there is not an error.
    pub(crate) async fn delete(&self, path: &Path) -> Result<(), LakeError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.store_err(path)(e)),
        }
    }

    /// Remove what a killed process left staged in `dir` (a store path) of a local lake:
    /// `LocalFileSystem` writes `name#N` and renames it into place, so a kill in between leaves
    /// the `#N` file behind, invisible to listings and never reused. Called only for a directory
    /// this run is about to write (a region's raw pages, under the date's lock for the snapshot),
    /// so it cannot take another writer's file in flight unless two runs write the same region
    /// of the same date at once. S3 has nothing staged: a PUT is one request.
    pub(crate) fn remove_staged(&self, dir: &Path) -> Result<(), LakeError> {
        let Some(root) = &self.local_dir else {
            return Ok(());
        };
        let local = dir
            .parts()
            .fold(root.clone(), |p, part| p.join(part.as_ref()));
        let entries = match std::fs::read_dir(&local) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(LakeError::Lock {
                    path: local.display().to_string(),
                    source,
                });
            }
        };
        for entry in entries.flatten() {
            if is_staged(&entry.file_name().to_string_lossy()) {
                let path = entry.path();
                warn!(path = %path.display(), "removing a staged file left by an interrupted write");
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// A store path relative to the lake's root (`videos/snapshot_date=…/videos.parquet`).
    pub fn relative<'a>(&self, path: &'a Path) -> Option<Vec<object_store::path::PathPart<'a>>> {
        path.prefix_match(&self.root).map(Iterator::collect)
    }

    /// Every snapshot file in the lake, oldest date first.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotFile>, LakeError> {
        let metas = self.list(&self.path("videos")).await?;
        let mut files: Vec<SnapshotFile> = metas
            .into_iter()
            .filter_map(|meta| {
                let parts: Vec<_> = meta.location.parts().collect();
                let n = parts.len();
                if n < 2 || parts[n - 1].as_ref() != "videos.parquet" {
                    return None;
                }
                let date = parts[n - 2].as_ref().strip_prefix("snapshot_date=")?;
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
                Some(SnapshotFile { date, meta })
            })
            .collect();
        files.sort_by_key(|f| f.date);
        Ok(files)
    }

    /// Read the snapshot of `date`, if there is one.
    pub async fn read_snapshot(&self, date: NaiveDate) -> Result<Option<Snapshot>, LakeError> {
        let path = self.snapshot_path(date);
        let Some((meta, bytes)) = self.get_with_meta(&path).await? else {
            return Ok(None);
        };
        let regions = decode_snapshot(bytes.clone()).map_err(|source| LakeError::Corrupt {
            path: self.display(&path),
            source,
        })?;
        Ok(Some(Snapshot {
            meta,
            bytes,
            regions,
        }))
    }

    /// The regions `date`'s snapshot holds (empty when there is no snapshot).
    pub async fn snapshot_regions(&self, date: NaiveDate) -> Result<Vec<String>, LakeError> {
        Ok(self
            .read_snapshot(date)
            .await?
            .map(|s| s.regions.into_keys().collect())
            .unwrap_or_default())
    }

    /// Replace the regions in `fetched` in `date`'s snapshot, keep every other region already
    /// there, and publish the whole file atomically. An identical file is not rewritten.
    ///
    /// A file in place that cannot be read (torn, foreign, of an unknown schema version) does not
    /// block the commit: it is moved aside under `_quarantine/`, and the regions it held are
    /// re-derived from their raw pages where those exist.
    pub async fn commit_snapshot(
        &self,
        date: NaiveDate,
        fetched: BTreeMap<String, RecordBatch>,
    ) -> Result<Commit, LakeError> {
        let path = self.snapshot_path(date);
        // Locally one writer at a time (a lock file); on S3 a conditional put that fails when
        // another run committed the date since we read it, and then we start over from the read.
        let _lock = self.lock(date).await?;
        self.remove_staged(&self.path(&format!("videos/snapshot_date={date}")))?;
        let mut conflicts = 0;
        loop {
            let attempt = self.try_commit(date, &path, fetched.clone()).await?;
            match attempt {
                Some(mut commit) => {
                    commit.conflicts = conflicts;
                    return Ok(commit);
                }
                None => {
                    conflicts += 1;
                    if conflicts >= MAX_COMMIT_ATTEMPTS {
                        return Err(LakeError::Contended {
                            path: self.display(&path),
                            attempts: conflicts,
                        });
                    }
                    warn!(path = %self.display(&path), conflicts, "another run committed this date meanwhile; merging with its file");
                    // Jittered, so two contenders do not collide again in step.
                    let jitter = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos() % 50)
                        .unwrap_or(0);
                    tokio::time::sleep(std::time::Duration::from_millis(
                        10 * u64::from(conflicts) + u64::from(jitter),
                    ))
                    .await;
                }
            }
        }
    }

    /// One read-merge-write; `None` when the conditional put lost to another writer.
    async fn try_commit(
        &self,
        date: NaiveDate,
        path: &Path,
        fetched: BTreeMap<String, RecordBatch>,
    ) -> Result<Option<Commit>, LakeError> {
        let previous = self.get_with_meta(path).await?;
        let version = previous.as_ref().map(|(meta, _)| UpdateVersion {
            e_tag: meta.e_tag.clone(),
            version: meta.version.clone(),
        });
        let mut regions = fetched;
        let mut regions_kept = Vec::new();
        let mut regions_restored = Vec::new();
        let mut quarantined = None;
        let mut previous_bytes = None;
        if let Some((meta, bytes)) = previous {
            let held = match decode_snapshot(bytes.clone()) {
                Ok(held) => {
                    previous_bytes = Some(bytes);
                    held
                }
                Err(problem) => {
                    let aside = self.quarantine(date, &meta.location, bytes).await?;
                    warn!(
                        path = %self.display(path), %problem, quarantined = %aside,
                        "the snapshot in place cannot be read; moved it aside and restoring its regions from raw pages"
                    );
                    quarantined = Some(aside);
                    let restored = crate::raw::replay_date(self, date)
                        .await
                        .map_err(|e| LakeError::Raw(Box::new(e)))?;
                    regions_restored = restored
                        .keys()
                        .filter(|r| !regions.contains_key(*r))
                        .cloned()
                        .collect();
                    restored
                }
            };
            for (region, batch) in held {
                if let std::collections::btree_map::Entry::Vacant(slot) = regions.entry(region) {
                    if quarantined.is_none() {
                        regions_kept.push(slot.key().clone());
                    }
                    slot.insert(batch);
                }
            }
        }
        let rows = regions.values().map(RecordBatch::num_rows).sum();
        let encoded = encode_snapshot(regions.values())?;
        let unchanged = previous_bytes.is_some_and(|p| p == encoded);
        let bytes = encoded.len();
        let commit = Commit {
            path: self.display(path),
            rows,
            regions_kept,
            unchanged,
            bytes,
            quarantined,
            regions_restored,
            conflicts: 0,
        };
        if unchanged {
            return Ok(Some(commit));
        }
        crate::pause::at("commit").await;
        let mode = match (&self.local_dir, version) {
            // The local lock already excludes other writers (and LocalFileSystem has no
            // conditional update).
            (Some(_), _) => PutMode::Overwrite,
            (None, Some(version)) => PutMode::Update(version),
            (None, None) => PutMode::Create,
        };
        let put = self
            .store
            .put_opts(path, PutPayload::from(encoded), PutOptions::from(mode))
            .await;
        match put {
            Ok(_) => Ok(Some(commit)),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::AlreadyExists { .. }) => Ok(None),
            Err(e) => Err(self.store_err(path)(e)),
        }
    }

    /// Move an unreadable file to `_quarantine/snapshot_date=D/<time>-<name>`; returns where.
    async fn quarantine(
        &self,
        date: NaiveDate,
        from: &Path,
        bytes: Bytes,
    ) -> Result<String, LakeError> {
        let name = from.filename().unwrap_or("videos.parquet");
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        let to = self.path(&format!("_quarantine/snapshot_date={date}/{stamp}-{name}"));
        // Copied, not renamed: the commit that follows replaces the original, and on S3 the
        // conditional put must still see the version it read.
        self.put(&to, bytes).await?;
        Ok(self.display(&to))
    }

    /// An exclusive lock on `date`'s snapshot, held until dropped. Local lakes lock a file under
    /// `_locks/`; on S3 there is none (commits are conditional puts instead).
    async fn lock(&self, date: NaiveDate) -> Result<Option<DateLock>, LakeError> {
        let Some(dir) = &self.local_dir else {
            return Ok(None);
        };
        let path = dir
            .join("_locks")
            .join(format!("snapshot_date={date}.lock"));
        let fail = |source| LakeError::Lock {
            path: path.display().to_string(),
            source,
        };
        let mut announced = false;
        let mut vanished = 0;
        loop {
            let file = match open_lock_file(&path) {
                Ok(file) => file,
                // `_locks/` was removed by a run releasing its lock just now: make it again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && vanished < 100 => {
                    vanished += 1;
                    continue;
                }
                Err(e) => return Err(fail(e)),
            };
            let file = match file.try_lock() {
                Ok(()) => file,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !announced {
                        eprintln!(
                            "another trendlake is committing {date} to this lake; waiting for it ({})",
                            path.display()
                        );
                        announced = true;
                    }
                    // Off the async workers: the wait may be long.
                    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                        .await
                        .expect("locking does not panic")
                        .map_err(fail)?
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
            };
            // The run we waited for removed the file as it released it, and a third may have
            // made a new one since: only a lock on the file at `path` now counts.
            if is_current(&file, &path).map_err(fail)? {
                return Ok(Some(DateLock { _file: file, path }));
            }
        }
    }

    /// Write a run report to `_runs/snapshot_date=D/<run_id>.json`.
    pub async fn write_run_report(
        &self,
        date: NaiveDate,
        run_id: &str,
        json: Vec<u8>,
    ) -> Result<String, LakeError> {
        let path = self.path(&format!("_runs/snapshot_date={date}/{run_id}.json"));
        self.store
            .put(&path, PutPayload::from(json))
            .await
            .map_err(self.store_err(&path))?;
        Ok(self.display(&path))
    }

    /// Write a date's HTML report to `_reports/snapshot_date=D/report.html` (a whole-object put:
    /// staged and renamed locally, one PUT on S3, so a web server never serves half a page).
    pub async fn write_report(&self, date: NaiveDate, html: String) -> Result<String, LakeError> {
        let path = self.path(&format!("_reports/snapshot_date={date}/report.html"));
        self.put(&path, Bytes::from(html)).await?;
        Ok(self.display(&path))
    }

    /// Write `_reports/index.html`.
    pub async fn write_report_index(&self, html: String) -> Result<String, LakeError> {
        let path = self.path("_reports/index.html");
        self.put(&path, Bytes::from(html)).await?;
        Ok(self.display(&path))
    }

    /// The dates with a report under `_reports/`, in order.
    pub async fn report_dates(&self) -> Result<Vec<NaiveDate>, LakeError> {
        let prefix = self.path("_reports");
        let mut dates: Vec<NaiveDate> = self
            .list(&prefix)
            .await?
            .iter()
            .filter_map(|meta| {
                let parts = self.relative(&meta.location)?;
                match parts.as_slice() {
                    [top, dir, file]
                        if top.as_ref() == "_reports" && file.as_ref() == "report.html" =>
                    {
                        dir.as_ref()
                            .strip_prefix("snapshot_date=")
                            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    }
                    _ => None,
                }
            })
            .collect();
        dates.sort();
        dates.dedup();
        Ok(dates)
    }
}

/// A held lock on one date of a local lake: `_locks/snapshot_date=D.lock`, locked with the
/// operating system's advisory file lock (`flock` on Unix).
///
/// Released on drop, and on Unix the file is removed first, while still locked, so lakes do not
/// collect one lock file per date. Removing a locked file is safe because every locker checks,
/// once it holds the lock, that the file it locked is still the one at the path
/// ([`Lake::lock`] retries otherwise): a run that waited on the removed file cannot share the lock
/// with one that created the next. Elsewhere the file stays; an unlocked lock file is harmless.
#[derive(Debug)]
struct DateLock {
    /// Held for its lock: closing it releases the lock.
    _file: std::fs::File,
    path: std::path::PathBuf,
}

impl Drop for DateLock {
    fn drop(&mut self) {
        if cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
            // `_locks/` too, once empty (it fails, harmlessly, while other dates hold locks).
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
        // The lock itself goes when `_file` is closed, right after this.
    }
}

fn open_lock_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Whether `file` is (still) the file at `path`.
#[cfg(unix)]
fn is_current(file: &std::fs::File, path: &std::path::Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lock files are never removed off Unix, so the file locked is the one at the path.
#[cfg(not(unix))]
fn is_current(_file: &std::fs::File, _path: &std::path::Path) -> std::io::Result<bool> {
    Ok(true)
}

/// Whether a file name is one `LocalFileSystem` stages a write under (`name#123`).
pub fn is_staged(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Columns written uncompressed (see [`encode_snapshot`]).
const SMALL_COLUMNS: &[&str] = &[
    "region",
    "rank",
    "category_id",
    "published_at",
    "duration_s",
    "live_broadcast_content",
    "view_count",
    "like_count",
    "comment_count",
    "default_language",
    "default_audio_language",
    "definition",
    "caption",
    "licensed_content",
    "fetched_at",
];

/// Encode region batches (already in region order, each in rank order) as one Parquet file:
/// zstd, page statistics, one row group per region, schema version in the metadata.
pub fn encode_snapshot<'a>(
    regions: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<Bytes, parquet::errors::ParquetError> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        // Row groups end only where we flush: at region boundaries.
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(None)
        .set_created_by(concat!("trendlake ", env!("CARGO_PKG_VERSION")).to_string())
        .set_key_value_metadata(Some(vec![
            KeyValue::new(
                "trendlake.schema_version".into(),
                SCHEMA_VERSION.to_string(),
            ),
            KeyValue::new(
                "trendlake.writer".into(),
                concat!("trendlake ", env!("CARGO_PKG_VERSION")).to_string(),
            ),
        ]));
    // A region's numbers, flags and codes are a few hundred bytes per column: zstd saves next to
    // nothing on them, while each compressed column chunk costs a fresh zstd context (about 10%
    // of encoding time in the transform benchmark). Text columns, where the bytes are, stay zstd.
    for column in SMALL_COLUMNS {
        props = props.set_column_compression(ColumnPath::from(*column), Compression::UNCOMPRESSED);
    }
    let props = props.build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema(), Some(props))?;
    for batch in regions {
        if batch.num_rows() > 0 {
            writer.write(batch)?;
            writer.flush()?;
        }
    }
    writer.close()?;
    Ok(Bytes::from(out))
}

/// Decode a snapshot file into one batch per region; checks the schema is the current one.
pub fn decode_snapshot(bytes: Bytes) -> Result<BTreeMap<String, RecordBatch>, DecodeError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let version = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "trendlake.schema_version"))
        .and_then(|k| k.value.clone());
    if version.as_deref() != Some(SCHEMA_VERSION) {
        return Err(DecodeError::SchemaVersion {
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    let reader = builder.with_batch_size(64 * 1024).build()?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    if batches
        .first()
        .is_some_and(|b| b.schema().fields() != schema().fields())
    {
        return Err(DecodeError::Columns);
    }
    let all = concat_batches(&schema(), &batches)?;
    Ok(split_by_region(&all)?)
}

/// Split a batch into one batch per distinct `region` value.
pub fn split_by_region(
    batch: &RecordBatch,
) -> Result<BTreeMap<String, RecordBatch>, arrow::error::ArrowError> {
    let region = batch.column(0).as_string::<i32>();
    let mut names: Vec<&str> = region.iter().flatten().collect();
    names.sort_unstable();
    names.dedup();
    let mut out = BTreeMap::new();
    for name in names {
        let mask = eq(region, &StringArray::new_scalar(name))?;
        out.insert(name.to_string(), filter_record_batch(batch, &mask)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Page, region_batch};
    use crate::youtube::model::{Snippet, Video};

    fn batch(region: &str) -> RecordBatch {
        let video = Video {
            id: format!("{region}-1"),
            snippet: Some(Snippet {
                published_at: "2026-11-20T03:00:00Z".into(),
                title: "t".into(),
                ..Snippet::default()
            }),
            ..Video::default()
        };
        let page = Page {
            offset: 0,
            fetched_at: "2026-11-20T03:00:00Z".parse().unwrap(),
            items: vec![video],
        };
        region_batch(region, &[page]).unwrap()
    }

    fn day() -> NaiveDate {
        "2026-11-20".parse().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_commits_of_a_date_keep_every_region_and_leave_no_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().join("lake").display().to_string()).unwrap();
        let regions = ["GB", "HK", "JP", "KR", "SG", "TH", "TW", "US"];
        // Each commit is a read-modify-write of the same file: without the lock, one would drop
        // another's region; with a lock file removed unsafely, two could hold "the" lock.
        for _ in 0..3 {
            let mut commits = tokio::task::JoinSet::new();
            for region in regions {
                let lake = lake.clone();
                commits.spawn(async move {
                    let fetched = BTreeMap::from([(region.to_string(), batch(region))]);
                    lake.commit_snapshot(day(), fetched).await.unwrap()
                });
            }
            while let Some(commit) = commits.join_next().await {
                commit.unwrap();
            }
            assert_eq!(lake.snapshot_regions(day()).await.unwrap(), regions);
        }
        assert!(
            !dir.path().join("lake/_locks").exists(),
            "the lock file and its directory are removed on release"
        );
    }

    #[test]
    fn a_local_lake_is_named_by_an_absolute_file_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my lake");
        let lake = Lake::open(&path.display().to_string()).unwrap();
        let canonical = std::fs::canonicalize(&path).unwrap();
        let expected = url::Url::from_file_path(&canonical).unwrap().to_string();
        assert_eq!(lake.url(), expected);
        assert!(lake.url().starts_with("file:///"), "{}", lake.url());
        assert!(lake.url().ends_with("/my%20lake"), "{}", lake.url());
        // Opening the URL opens the same directory.
        assert_eq!(Lake::open(lake.url()).unwrap().url(), lake.url());
        let s3 = Lake::open("s3://bucket/some/prefix/");
        if let Ok(s3) = s3 {
            assert_eq!(s3.url(), "s3://bucket/some/prefix");
        }
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_snapshot_is_named_with_its_problem() {
        assert!(matches!(
            decode_snapshot(Bytes::from_static(b"not parquet")),
            Err(DecodeError::Parquet(_))
        ));
        let foreign = {
            let mut out = Vec::new();
            let mut writer = ArrowWriter::try_new(&mut out, schema(), None).unwrap();
            writer.write(&batch("JP")).unwrap();
            writer.close().unwrap();
            Bytes::from(out)
        };
        assert!(matches!(
            decode_snapshot(foreign),
            Err(DecodeError::SchemaVersion {
                found: None,
                expected: "1"
            })
        ));

        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().display().to_string()).unwrap();
        let path = dir.path().join("videos/snapshot_date=2026-11-20");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("videos.parquet"), b"PAR1 but not really").unwrap();
        let error = lake.read_snapshot(day()).await.unwrap_err();
        let LakeError::Corrupt { path: named, .. } = &error else {
            panic!("{error:?}");
        };
        assert!(
            named.ends_with("videos/snapshot_date=2026-11-20/videos.parquet"),
            "{named}"
        );
        assert!(error.to_string().contains("not Parquet"), "{error}");
    }
}
