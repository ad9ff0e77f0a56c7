//! The Parquet lake on `object_store` (local directory or S3): storage only. Paths of the layout,
//! whole-object puts (atomic: `LocalFileSystem` stages and renames, S3 publishes a PUT at once),
//! conditional puts and per-date locks for the commit step (the `commit` module), listings, and the
//! snapshot file read back through its format (`codec`). Nothing here knows what a run or a raw
//! page is.
//!
//! Layout (docs/lake.md): `videos/snapshot_date=D/videos.parquet`, one
//! file per date, all regions, sorted by region then rank, one row group per region; `raw/…`
//! (see `raw`); `_commits/`, `_runs/`, `_quarantine/`, `_reports/`, `_trash/`.

pub mod codec;

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, ObjectMeta, ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode,
    PutOptions, PutPayload, UpdateVersion,
};
use tracing::warn;

use crate::fsutil::FileLock;

pub use codec::{DecodeError, Decoded, Footer, Lineage, Source};

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
    /// A file of a newer trendlake: refused before anything is written, never moved aside or
    /// rewritten (exit 2).
    #[error(
        "lake file {path} was written by a newer trendlake ({source}): upgrade trendlake; nothing was changed"
    )]
    Newer {
        path: String,
        #[source]
        source: DecodeError,
    },
    #[error("lake file {path} cannot be encoded as Parquet: {source}")]
    Encode {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("cannot lock {path} for this date's commit: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "there is no lake at {url}: {problem}; check --lake (TRENDLAKE_LAKE), or create it with `trendlake run`"
    )]
    Missing { url: String, problem: String },
}

impl LakeError {
    /// Bad input rather than a failure (exit 2): a bad URL, no lake there, a newer file.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            LakeError::Config { .. } | LakeError::Missing { .. } | LakeError::Newer { .. }
        )
    }
}

/// What an object is, for the `Content-Type` it is served with (S3 stores it with the object, so
/// a browser or a CDN in front of the bucket serves a report as a page and a page as gzip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Parquet,
    Json,
    Gzip,
    Html,
}

impl ContentType {
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::Parquet => "application/vnd.apache.parquet",
            ContentType::Json => "application/json",
            ContentType::Gzip => "application/gzip",
            ContentType::Html => "text/html; charset=utf-8",
        }
    }
}

/// Bytes of a file's tail read for its footer: a snapshot's footer (schema, statistics, lineage)
/// is a few KiB.
const FOOTER_READ: u64 = 64 * 1024;

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

/// A snapshot read back: its regions, their sources and its identity ([`Decoded`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub date: NaiveDate,
    pub meta: ObjectMeta,
    /// The file as stored.
    pub bytes: Bytes,
    pub regions: std::collections::BTreeMap<String, arrow::array::RecordBatch>,
    pub lineage: Lineage,
    /// The file's identity: the SHA-256 of its rows as encoded (see `codec`).
    pub content_sha256: String,
    /// Whether the file recorded its identity and lineage when written (see [`Decoded`]).
    pub recorded: bool,
}

/// An object listed by [`Lake::list_under`].
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its path's parts, relative to the lake's root (`["videos", "snapshot_date=…", …]`).
    pub parts: Vec<String>,
    pub meta: ObjectMeta,
}

impl Listed {
    /// The parts as `&str`s, for matching slice patterns.
    pub fn parts(&self) -> Vec<&str> {
        self.parts.iter().map(String::as_str).collect()
    }
}

/// The date of a `snapshot_date=YYYY-MM-DD` path part (Hive-style partition).
pub fn partition_date(part: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(part.strip_prefix("snapshot_date=")?, "%Y-%m-%d").ok()
}

/// The outcome of a conditional put ([`Lake::put_if`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutIf {
    Written,
    /// Another writer changed the object since the version given was read.
    Lost,
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
    pub async fn get(&self, path: &Path) -> Result<Option<Bytes>, LakeError> {
        Ok(self.get_with_meta(path).await?.map(|(_, bytes)| bytes))
    }

    /// An object's metadata (its version, for a conditional put) and bytes, or `None`.
    pub(crate) async fn get_with_meta(
        &self,
        path: &Path,
    ) -> Result<Option<(ObjectMeta, Bytes)>, LakeError> {
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

    /// Write an object whole (atomically: staged and renamed locally, one PUT on S3), with its
    /// content type where the store keeps one.
    pub(crate) async fn put(
        &self,
        path: &Path,
        bytes: Bytes,
        kind: ContentType,
    ) -> Result<(), LakeError> {
        self.store
            .put_opts(path, PutPayload::from(bytes), self.put_options(kind))
            .await
            .map(|_| ())
            .map_err(self.store_err(path))
    }

    /// Options of a put of `kind`: the `Content-Type` on S3 (`LocalFileSystem` keeps no
    /// attributes and refuses them).
    fn put_options(&self, kind: ContentType) -> PutOptions {
        let mut options = PutOptions::default();
        if self.local_dir.is_none() {
            options.attributes = Attributes::from_iter([(Attribute::ContentType, kind.mime())]);
        }
        options
    }

    /// Write an object whole only if it is still the version `read` (`None`: only if there is
    /// none). On S3 a conditional put (`If-Match` the ETag read, `If-None-Match: *` for a new
    /// object); a local lake has no conditional update, so the caller holds the date's lock
    /// ([`Lake::lock`]) and the put overwrites.
    pub(crate) async fn put_if(
        &self,
        path: &Path,
        bytes: Bytes,
        kind: ContentType,
        read: Option<&ObjectMeta>,
    ) -> Result<PutIf, LakeError> {
        let mut options = self.put_options(kind);
        options.mode = match (&self.local_dir, read) {
            (Some(_), _) => PutMode::Overwrite,
            (None, Some(meta)) => PutMode::Update(UpdateVersion {
                e_tag: meta.e_tag.clone(),
                version: meta.version.clone(),
            }),
            (None, None) => PutMode::Create,
        };
        match self
            .store
            .put_opts(path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(PutIf::Written),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::AlreadyExists { .. }) => Ok(PutIf::Lost),
            Err(e) => Err(self.store_err(path)(e)),
        }
    }

    /// Move an object (copy, then delete the original: S3 has no rename; a copy keeps the
    /// object's content type). One that is not there is not an error: `false`.
    pub(crate) async fn move_object(&self, from: &Path, to: &Path) -> Result<bool, LakeError> {
        match self.store.copy(from, to).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(self.store_err(from)(e)),
        }
        self.delete(from).await?;
        Ok(true)
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

    /// Every object under `top` (a folder of the layout, or `""` for the whole lake), each with
    /// its path's parts relative to the lake's root, for matching against the layout.
    pub async fn list_under(&self, top: &str) -> Result<Vec<Listed>, LakeError> {
        Ok(self
            .list(&self.path(top))
            .await?
            .into_iter()
            .map(|meta| Listed {
                parts: meta
                    .location
                    .prefix_match(&self.root)
                    .map(|parts| parts.map(|p| p.as_ref().to_string()).collect())
                    .unwrap_or_default(),
                meta,
            })
            .collect())
    }

    /// Every snapshot file in the lake, oldest date first.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotFile>, LakeError> {
        let mut files: Vec<SnapshotFile> = self
            .list_under("videos")
            .await?
            .into_iter()
            .filter_map(|listed| match listed.parts().as_slice() {
                ["videos", dir, "videos.parquet"] => Some(SnapshotFile {
                    date: partition_date(dir)?,
                    meta: listed.meta,
                }),
                _ => None,
            })
            .collect();
        files.sort_by_key(|f| f.date);
        Ok(files)
    }

    /// Read the snapshot of `date`, if there is one. A file of a newer trendlake is
    /// [`LakeError::Newer`]; any other that is not a trendlake snapshot, [`LakeError::Corrupt`].
    pub async fn read_snapshot(&self, date: NaiveDate) -> Result<Option<Snapshot>, LakeError> {
        let path = self.snapshot_path(date);
        let Some((meta, bytes)) = self.get_with_meta(&path).await? else {
            return Ok(None);
        };
        let decoded = self.decode(&path, bytes.clone())?;
        Ok(Some(Snapshot {
            date,
            meta,
            bytes,
            regions: decoded.regions,
            lineage: decoded.lineage,
            content_sha256: decoded.content_sha256,
            recorded: decoded.recorded,
        }))
    }

    /// Decode the snapshot file `bytes` read from `path`.
    pub(crate) fn decode(&self, path: &Path, bytes: Bytes) -> Result<Decoded, LakeError> {
        codec::decode_snapshot(bytes).map_err(|source| self.unreadable(path, source))
    }

    /// The error of a file at `path` that is not a snapshot (or `tracked` file) this trendlake
    /// reads: a newer one is refused as such, any other is corrupt.
    pub(crate) fn unreadable(&self, path: &Path, source: DecodeError) -> LakeError {
        let path = self.display(path);
        if source.is_newer() {
            LakeError::Newer { path, source }
        } else {
            LakeError::Corrupt { path, source }
        }
    }

    /// What the footer of a listed snapshot file says (its recorded identity), read without its
    /// rows: one ranged read of the file's tail (two when the footer is larger than it).
    pub async fn read_footer(&self, file: &SnapshotFile) -> Result<Footer, LakeError> {
        self.read_footer_as(&codec::VIDEOS, file).await
    }

    /// [`Lake::read_footer`] of a file of another table (`tracked`), listed as `file`.
    pub async fn read_footer_as(
        &self,
        format: &codec::TableFormat,
        file: &SnapshotFile,
    ) -> Result<Footer, LakeError> {
        use parquet::errors::ParquetError;
        use parquet::file::metadata::ParquetMetaDataReader;
        let path = &file.meta.location;
        let size = file.meta.size;
        let mut want = size.min(FOOTER_READ);
        loop {
            let tail = self
                .store
                .get_range(path, size - want..size)
                .await
                .map_err(self.store_err(path))?;
            let mut reader = ParquetMetaDataReader::new();
            match reader.try_parse_sized(&tail, size) {
                Ok(()) => {
                    let meta = reader
                        .finish()
                        .map_err(|e| self.unreadable(path, DecodeError::Parquet(e)))?;
                    return codec::footer_as(format, &meta)
                        .map_err(|source| self.unreadable(path, source));
                }
                Err(ParquetError::NeedMoreData(needed))
                    if needed as u64 > want && needed as u64 <= size =>
                {
                    want = needed as u64;
                }
                Err(e) => return Err(self.unreadable(path, DecodeError::Parquet(e))),
            }
        }
    }

    /// The `(region, video_id)` of every row of the general charts of `date`'s snapshot, read
    /// alone (two or three columns of the file; empty when there is no snapshot): what the
    /// tracking stage needs of a night.
    /// Unlike [`Lake::read_snapshot`] it does not check the rows' digest: `check` does.
    pub async fn snapshot_ids(&self, date: NaiveDate) -> Result<Vec<(String, String)>, LakeError> {
        use arrow::array::AsArray;
        use parquet::arrow::ProjectionMask;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let path = self.snapshot_path(date);
        let Some(bytes) = self.get(&path).await? else {
            return Ok(Vec::new());
        };
        let corrupt =
            |e: parquet::errors::ParquetError| self.unreadable(&path, DecodeError::Parquet(e));
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(corrupt)?;
        let footer =
            codec::footer(builder.metadata()).map_err(|source| self.unreadable(&path, source))?;
        // Version-1 files hold general charts alone; later ones say which chart a row is on.
        let mut columns = vec!["region", "video_id"];
        if footer.schema_version >= 2 {
            columns.push("chart_category");
        }
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns);
        let reader = builder.with_projection(mask).build().map_err(corrupt)?;
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| corrupt(e.into()))?;
            let (Some(region), Some(id)) = (
                batch.column_by_name("region"),
                batch.column_by_name("video_id"),
            ) else {
                return Err(self.unreadable(&path, DecodeError::Columns));
            };
            let (region, id) = (region.as_string::<i32>(), id.as_string::<i32>());
            let category = batch
                .column_by_name("chart_category")
                .map(|c| c.as_string::<i32>());
            for i in 0..batch.num_rows() {
                if category.is_some_and(|c| c.value(i) != crate::chart::GENERAL) {
                    continue;
                }
                out.push((region.value(i).to_string(), id.value(i).to_string()));
            }
        }
        Ok(out)
    }

    /// The charts `date`'s snapshot holds, by key (a region code for its general chart; empty
    /// when there is no snapshot).
    pub async fn snapshot_regions(&self, date: NaiveDate) -> Result<Vec<String>, LakeError> {
        Ok(self
            .read_snapshot(date)
            .await?
            .map(|s| s.regions.into_keys().collect())
            .unwrap_or_default())
    }

    /// An exclusive lock on `date`'s snapshot, held until dropped. Local lakes lock a file under
    /// `_locks/`; on S3 there is none (commits are conditional puts instead).
    pub(crate) async fn lock(&self, date: NaiveDate) -> Result<Option<FileLock>, LakeError> {
        let Some(dir) = &self.local_dir else {
            return Ok(None);
        };
        let path = dir
            .join("_locks")
            .join(format!("snapshot_date={date}.lock"));
        let shown = path.display().to_string();
        let fail = |source| LakeError::Lock {
            path: shown,
            source,
        };
        let waiting = format!(
            "another trendlake is committing {date} to this lake; waiting for it ({})",
            path.display()
        );
        // Off the async workers: the wait may be long.
        let lock = tokio::task::spawn_blocking(move || {
            FileLock::acquire(&path, true, || eprintln!("{waiting}"))
        })
        .await
        .expect("locking does not panic")
        .map_err(fail)?;
        Ok(Some(lock))
    }

    /// Write a run report to `_runs/snapshot_date=D/<run_id>.json`.
    pub async fn write_run_report(
        &self,
        date: NaiveDate,
        run_id: &str,
        json: Vec<u8>,
    ) -> Result<String, LakeError> {
        let path = self.path(&format!("_runs/snapshot_date={date}/{run_id}.json"));
        self.put(&path, Bytes::from(json), ContentType::Json)
            .await?;
        Ok(self.display(&path))
    }

    /// Write a date's HTML report to `_reports/snapshot_date=D/report.html` (a whole-object put:
    /// staged and renamed locally, one PUT on S3, so a web server never serves half a page).
    pub async fn write_report(&self, date: NaiveDate, html: String) -> Result<String, LakeError> {
        let path = self.path(&format!("_reports/snapshot_date={date}/report.html"));
        self.put(&path, Bytes::from(html), ContentType::Html)
            .await?;
        Ok(self.display(&path))
    }

    /// Write `_reports/index.html`.
    pub async fn write_report_index(&self, html: String) -> Result<String, LakeError> {
        let path = self.path("_reports/index.html");
        self.put(&path, Bytes::from(html), ContentType::Html)
            .await?;
        Ok(self.display(&path))
    }

    /// Whether `_reports/index.html` exists.
    pub async fn has_report_index(&self) -> Result<bool, LakeError> {
        self.exists(&self.path("_reports/index.html")).await
    }

    /// Whether an object exists (a `HEAD`, nothing read).
    pub(crate) async fn exists(&self, path: &Path) -> Result<bool, LakeError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.store_err(path)(e)),
        }
    }

    /// The dates with a report under `_reports/`, in order.
    pub async fn report_dates(&self) -> Result<Vec<NaiveDate>, LakeError> {
        let mut dates: Vec<NaiveDate> = self
            .list_under("_reports")
            .await?
            .iter()
            .filter_map(|listed| match listed.parts().as_slice() {
                ["_reports", dir, "report.html"] => partition_date(dir),
                _ => None,
            })
            .collect();
        dates.sort();
        dates.dedup();
        Ok(dates)
    }
}

/// Whether a file name is one `LocalFileSystem` stages a write under (`name#123`).
pub fn is_staged(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        "2026-11-20".parse().unwrap()
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
        assert!(!error.is_usage());
    }

    #[tokio::test]
    async fn local_puts_carry_no_attributes_and_moves_keep_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().display().to_string()).unwrap();
        let (from, to) = (lake.path("a/x.json"), lake.path("b/x.json"));
        lake.put(&from, Bytes::from_static(b"{}"), ContentType::Json)
            .await
            .unwrap();
        assert!(lake.move_object(&from, &to).await.unwrap());
        assert_eq!(lake.get(&to).await.unwrap().unwrap(), "{}");
        assert_eq!(lake.get(&from).await.unwrap(), None);
        assert!(
            !lake.move_object(&from, &to).await.unwrap(),
            "nothing to move"
        );
    }
}
