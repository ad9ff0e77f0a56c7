//! The commit step: what a night writes into the lake's `videos/`, and the lineage that binds it
//! to the raw pages it came from.
//!
//! A commit is a read-merge-write of the date's snapshot: the regions given replace theirs, every
//! other region of the file in place is kept with its source, and the whole file is published in
//! one put — locally under the date's lock, on S3 by a conditional put retried from the read when
//! another run committed the date meanwhile. The file records each region's [`Source`] (the run
//! whose raw pages it came from and the digest of that run's manifest). Right after the put, a
//! commit record `_commits/snapshot_date=D/<content sha256>.json` says the same beside the file,
//! named by the file's identity: it is what restores the date when the file in place cannot be read
//! (torn, or deleted), since the file's own lineage goes with it.
//!
//! A file in place that cannot be read is copied once to `_quarantine/` (named by its digest, so
//! a retry or a second commit does not copy it again) and its regions restored from exactly the
//! pages the newest commit record names. A file of a newer trendlake stops the commit before
//! anything is written.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::lake::codec::{encode_snapshot, sha256_hex};
use crate::lake::{ContentType, Lake, LakeError, Lineage, PutIf, Source};
use crate::raw::{self, RawError};

/// Read-merge-write rounds a commit tries before it gives up on a date other runs keep
/// committing.
pub const MAX_COMMIT_ATTEMPTS: u32 = 20;

/// The commit record format this trendlake writes and reads.
const RECORD_FORMAT: u32 = 1;

/// Why a commit wrote nothing, naming the object concerned.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("raw archive: {0}")]
    Raw(#[from] RawError),
    #[error("encoding Parquet: {0}")]
    Encode(#[from] parquet::errors::ParquetError),
    #[error(
        "{path}: {attempts} other runs committed this date while this one tried to; nothing of this run was written, run it again"
    )]
    Contended { path: String, attempts: u32 },
    #[error("{path}: not a trendlake commit record ({source}); move it aside")]
    Record {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path}: commit record format {found}, newer than {RECORD_FORMAT}, the newest this trendlake reads: upgrade trendlake; nothing was changed"
    )]
    NewerRecord { path: String, found: u32 },
}

impl CommitError {
    /// Bad input (exit 2): a file or record of a newer trendlake.
    pub fn is_usage(&self) -> bool {
        match self {
            CommitError::Lake(e) => e.is_usage(),
            CommitError::Raw(e) => e.is_usage(),
            CommitError::NewerRecord { .. } => true,
            _ => false,
        }
    }
}

/// One region to commit: its rows and the raw pages they came from (`None`: committed without
/// raw pages, as a library user may).
#[derive(Debug, Clone)]
pub struct Region {
    pub batch: RecordBatch,
    pub source: Option<Source>,
}

/// Regions committed without raw pages (as the benches and library users without an archive do).
pub fn unsourced(batches: BTreeMap<String, RecordBatch>) -> BTreeMap<String, Region> {
    batches
        .into_iter()
        .map(|(name, batch)| {
            let source = None;
            (name, Region { batch, source })
        })
        .collect()
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
    /// The file's identity (see `lake::codec`).
    pub content_sha256: String,
    /// The file in place could not be read: where it was moved aside.
    pub quarantined: Option<String>,
    /// Regions of the unreadable file re-derived from their raw pages and kept.
    pub regions_restored: Vec<String>,
    /// Times the commit started over because another run committed the date meanwhile (S3).
    pub conflicts: u32,
}

/// `_commits/snapshot_date=D/<content sha256>.json`: one committed file's lineage (stable serde
/// names: other tools may read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub format: u32,
    pub snapshot_date: NaiveDate,
    /// The committed file's identity.
    pub content_sha256: String,
    /// When the file was published, by the system clock (records of a date are ordered by it).
    pub committed_at: DateTime<Utc>,
    /// What committed it: a run id, `rebuild` or `repair`.
    pub committed_by: String,
    pub rows: usize,
    /// Every region the file holds; those with a source name it.
    pub regions: BTreeMap<String, Option<Source>>,
}

impl CommitRecord {
    /// The regions' sources (regions without one left out).
    pub fn lineage(&self) -> Lineage {
        self.regions
            .iter()
            .filter_map(|(r, s)| Some((r.clone(), s.clone()?)))
            .collect()
    }
}

/// Where `date`'s commit records live, relative to the lake's root.
pub fn records_dir(date: NaiveDate) -> String {
    format!("_commits/snapshot_date={date}")
}

/// Replace the regions in `fetched` in `date`'s snapshot, keep every other region already there
/// with its source, and publish the whole file atomically; then record the commit. An identical
/// file is not rewritten. `by` names the committer in the record.
pub async fn commit(
    lake: &Lake,
    date: NaiveDate,
    fetched: BTreeMap<String, Region>,
    by: &str,
) -> Result<Commit, CommitError> {
    let path = lake.snapshot_path(date);
    // Locally one writer at a time (a lock file); on S3 a conditional put that fails when
    // another run committed the date since we read it, and then we start over from the read.
    let _lock = lake.lock(date).await?;
    lake.remove_staged(&lake.path(&format!("videos/snapshot_date={date}")))?;
    let mut conflicts = 0;
    loop {
        match try_commit(lake, date, fetched.clone(), by).await? {
            Some(mut commit) => {
                commit.conflicts = conflicts;
                return Ok(commit);
            }
            None => {
                conflicts += 1;
                if conflicts >= MAX_COMMIT_ATTEMPTS {
                    return Err(CommitError::Contended {
                        path: lake.display(&path),
                        attempts: conflicts,
                    });
                }
                warn!(path = %lake.display(&path), conflicts, "another run committed this date meanwhile; merging with its file");
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
    lake: &Lake,
    date: NaiveDate,
    mut regions: BTreeMap<String, Region>,
    by: &str,
) -> Result<Option<Commit>, CommitError> {
    let path = lake.snapshot_path(date);
    let previous = lake.get_with_meta(&path).await?;
    let mut regions_kept = Vec::new();
    let mut regions_restored = Vec::new();
    let mut quarantined = None;
    let mut previous_bytes = None;
    if let Some((_, bytes)) = &previous {
        match lake.decode(&path, bytes.clone()) {
            Ok(held) => {
                previous_bytes = Some(bytes.clone());
                // A region fetched again with exactly the rows committed (a replayed simulated
                // night) keeps the pages its commit named: they give these rows too, and the
                // file stays byte-identical, so nothing downstream sees a change.
                for (region, fetched) in regions.iter_mut() {
                    if held.regions.get(region) == Some(&fetched.batch)
                        && let Some(source) = held.lineage.get(region)
                    {
                        fetched.source = Some(source.clone());
                    }
                }
                for (region, batch) in held.regions {
                    if let std::collections::btree_map::Entry::Vacant(slot) = regions.entry(region)
                    {
                        regions_kept.push(slot.key().clone());
                        let source = held.lineage.get(slot.key()).cloned();
                        slot.insert(Region { batch, source });
                    }
                }
            }
            Err(e @ LakeError::Newer { .. }) => return Err(e.into()),
            Err(problem) => {
                let aside = quarantine(lake, date, bytes.clone()).await?;
                warn!(
                    path = %lake.display(&path), %problem, quarantined = %aside,
                    "the snapshot in place cannot be read; moved it aside and restoring its regions from the raw pages its commit named"
                );
                quarantined = Some(aside);
                for (region, restored) in restore(lake, date).await? {
                    if let std::collections::btree_map::Entry::Vacant(slot) = regions.entry(region)
                    {
                        regions_restored.push(slot.key().clone());
                        slot.insert(restored);
                    }
                }
            }
        }
    }
    let rows = regions.values().map(|r| r.batch.num_rows()).sum();
    if regions.values().all(|r| r.batch.num_rows() == 0) {
        // Nothing to write: only an unreadable file (moved aside above) with nothing restorable.
        // No snapshot is truer than an empty one, which no reader could tell from a lost night.
        if let Some((meta, _)) = &previous {
            lake.delete(&meta.location).await?;
        }
        return Ok(Some(Commit {
            path: lake.display(&path),
            rows: 0,
            regions_kept,
            unchanged: previous.is_none(),
            bytes: 0,
            content_sha256: String::new(),
            quarantined,
            regions_restored,
            conflicts: 0,
        }));
    }
    let lineage: Lineage = regions
        .iter()
        .filter_map(|(r, region)| Some((r.clone(), region.source.clone()?)))
        .collect();
    let encoded = encode_snapshot(regions.values().map(|r| &r.batch), &lineage)?;
    let unchanged = previous_bytes.is_some_and(|p| p == encoded.bytes);
    let commit = Commit {
        path: lake.display(&path),
        rows,
        regions_kept,
        unchanged,
        bytes: encoded.bytes.len(),
        content_sha256: encoded.content_sha256.clone(),
        quarantined,
        regions_restored,
        conflicts: 0,
    };
    let record = CommitRecord {
        format: RECORD_FORMAT,
        snapshot_date: date,
        content_sha256: encoded.content_sha256.clone(),
        committed_at: Utc::now(),
        committed_by: by.to_string(),
        rows,
        regions: regions
            .into_iter()
            .map(|(r, region)| (r, region.source))
            .collect(),
    };
    if !unchanged {
        crate::pause::at("commit").await;
        let read = previous.as_ref().map(|(meta, _)| meta);
        if lake
            .put_if(&path, encoded.bytes, ContentType::Parquet, read)
            .await?
            == PutIf::Lost
        {
            return Ok(None);
        }
    }
    // After the put (a record written before it could name a file that never landed), and for
    // an unchanged file too when a run that committed it stopped before recording it.
    write_record(lake, &record, unchanged).await?;
    Ok(Some(commit))
}

/// Write `record` under its file's identity; with `if_missing`, only when there is none yet.
async fn write_record(
    lake: &Lake,
    record: &CommitRecord,
    if_missing: bool,
) -> Result<(), CommitError> {
    let path = lake.path(&format!(
        "{}/{}.json",
        records_dir(record.snapshot_date),
        record.content_sha256
    ));
    if if_missing && lake.exists(&path).await? {
        return Ok(());
    }
    let json = serde_json::to_vec_pretty(record).expect("a commit record serialises");
    lake.put(&path, Bytes::from(json), ContentType::Json)
        .await?;
    Ok(())
}

/// Copy an unreadable file to `_quarantine/snapshot_date=D/<sha256>-videos.parquet`, unless a
/// copy of the same bytes is there already; returns where it is. Copied, not renamed: the commit
/// that follows replaces the original, and on S3 the conditional put must still see the version
/// it read.
async fn quarantine(lake: &Lake, date: NaiveDate, bytes: Bytes) -> Result<String, CommitError> {
    let to = lake.path(&format!(
        "_quarantine/snapshot_date={date}/{}-videos.parquet",
        sha256_hex(&bytes)
    ));
    if !lake.exists(&to).await? {
        lake.put(&to, bytes, ContentType::Parquet).await?;
    }
    Ok(lake.display(&to))
}

/// Every commit record of `date`, oldest first (by `committed_at`).
pub async fn records(lake: &Lake, date: NaiveDate) -> Result<Vec<CommitRecord>, CommitError> {
    let mut out = Vec::new();
    for meta in lake.list(&lake.path(&records_dir(date))).await? {
        if !meta.location.as_ref().ends_with(".json") {
            continue;
        }
        let Some(bytes) = lake.get(&meta.location).await? else {
            continue;
        };
        let shown = || lake.display(&meta.location);
        let unreadable = |source| CommitError::Record {
            path: shown(),
            source,
        };
        let found = crate::lake::codec::json_format(&bytes).map_err(unreadable)?;
        if found > RECORD_FORMAT {
            return Err(CommitError::NewerRecord {
                path: shown(),
                found,
            });
        }
        out.push(serde_json::from_slice(&bytes).map_err(unreadable)?);
    }
    out.sort_by_key(|r: &CommitRecord| r.committed_at);
    Ok(out)
}

/// Where a date's lineage was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineageOrigin {
    /// The snapshot file in place.
    Snapshot,
    /// The newest commit record (the file cannot be read, or is gone).
    Record,
    /// The regions' format-1 manifests: a lake written before lineage was recorded.
    Legacy,
}

/// The sources of `date`'s committed regions: what `rebuild` and a quarantine restore replay.
///
/// The snapshot's own lineage when it can be read (a region without one: its format-1 manifest,
/// if any); when it cannot be read or is gone, the newest commit record's; with no record either
/// (a lake written before lineage), every format-1 manifest of the date. Pages no commit named are
/// never used. A file of a newer trendlake is an error.
pub async fn lineage_of(
    lake: &Lake,
    date: NaiveDate,
) -> Result<(Lineage, LineageOrigin), CommitError> {
    match lake.read_snapshot(date).await {
        Ok(Some(snapshot)) => {
            let mut lineage = snapshot.lineage;
            for region in snapshot.regions.keys() {
                if !lineage.contains_key(region)
                    && let Some(source) = raw::legacy_source(lake, date, region).await?
                {
                    lineage.insert(region.clone(), source);
                }
            }
            return Ok((lineage, LineageOrigin::Snapshot));
        }
        Ok(None) | Err(LakeError::Corrupt { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some(newest) = records(lake, date).await?.pop() {
        return Ok((newest.lineage(), LineageOrigin::Record));
    }
    let mut lineage = Lineage::new();
    for region in legacy_regions(lake, date).await? {
        if let Some(source) = raw::legacy_source(lake, date, &region).await? {
            lineage.insert(region, source);
        }
    }
    Ok((lineage, LineageOrigin::Legacy))
}

/// The regions of `date` with a format-1 manifest in their own directory.
async fn legacy_regions(lake: &Lake, date: NaiveDate) -> Result<Vec<String>, CommitError> {
    let mut regions: Vec<String> = lake
        .list_under(&format!("raw/snapshot_date={date}"))
        .await?
        .iter()
        .filter_map(|listed| {
            raw::RawKey::parse(&listed.parts())
                .filter(|k| k.run.is_none() && k.file == "manifest.json")
                .map(|k| k.region)
        })
        .collect();
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// The regions of an unreadable (or missing) snapshot of `date`, re-derived from the pages its
/// commit named; a region whose pages cannot be replayed is left out, with a warning.
async fn restore(lake: &Lake, date: NaiveDate) -> Result<BTreeMap<String, Region>, CommitError> {
    let (lineage, _) = lineage_of(lake, date).await?;
    let mut out = BTreeMap::new();
    for (region, source) in lineage {
        match raw::replay(lake, &source).await {
            Ok(batch) => {
                out.insert(
                    region,
                    Region {
                        batch,
                        source: Some(source),
                    },
                );
            }
            Err(e) if e.is_usage() => return Err(e.into()),
            Err(e) => warn!(%region, error = %e, "cannot restore this region from its raw pages"),
        }
    }
    Ok(out)
}

/// Before a run fetches anything: refuse a date whose snapshot, commit record or named raw
/// manifests were written by a newer trendlake (their data must not be rewritten by this one).
pub async fn preflight(lake: &Lake, date: NaiveDate) -> Result<(), CommitError> {
    let (lineage, _) = lineage_of(lake, date).await?;
    for source in lineage.values() {
        raw::read_manifest(lake, &source.manifest).await?;
    }
    Ok(())
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

    fn region(name: &str) -> BTreeMap<String, Region> {
        BTreeMap::from([(
            name.to_string(),
            Region {
                batch: batch(name),
                source: None,
            },
        )])
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
            for name in regions {
                let lake = lake.clone();
                commits
                    .spawn(async move { commit(&lake, day(), region(name), "t").await.unwrap() });
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

    #[tokio::test]
    async fn every_committed_file_has_a_record_and_a_torn_one_is_quarantined_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().display().to_string()).unwrap();
        let first = commit(&lake, day(), region("JP"), "run-1").await.unwrap();
        let second = commit(&lake, day(), region("US"), "run-2").await.unwrap();
        assert_eq!(second.regions_kept, ["JP"]);
        let recorded = records(&lake, day()).await.unwrap();
        assert_eq!(
            recorded
                .iter()
                .map(|r| (r.content_sha256.as_str(), r.committed_by.as_str()))
                .collect::<Vec<_>>(),
            [
                (first.content_sha256.as_str(), "run-1"),
                (second.content_sha256.as_str(), "run-2")
            ]
        );
        assert_eq!(recorded[1].regions.keys().collect::<Vec<_>>(), ["JP", "US"]);

        // Torn: moved aside once, however many commits meet it.
        let file = dir
            .path()
            .join("videos/snapshot_date=2026-11-20/videos.parquet");
        std::fs::write(&file, b"PAR1 torn").unwrap();
        for _ in 0..2 {
            // Nothing restorable (no raw pages): the torn file is moved aside and not replaced
            // by an empty one.
            let repaired = commit(&lake, day(), BTreeMap::new(), "repair")
                .await
                .unwrap();
            assert!(repaired.quarantined.is_some());
            assert!(!file.exists());
            // (Deleting the file removed its empty directory too.)
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, b"PAR1 torn").unwrap();
        }
        let aside: Vec<_> =
            std::fs::read_dir(dir.path().join("_quarantine/snapshot_date=2026-11-20"))
                .unwrap()
                .collect();
        assert_eq!(aside.len(), 1, "one copy of one corrupt file");

        // A newer trendlake's file stops the commit, untouched.
        let newer = {
            use parquet::file::metadata::KeyValue;
            use parquet::file::properties::WriterProperties;
            let props = WriterProperties::builder()
                .set_key_value_metadata(Some(vec![KeyValue::new(
                    "trendlake.schema_version".into(),
                    "9".to_string(),
                )]))
                .build();
            let mut out = Vec::new();
            let mut writer = parquet::arrow::ArrowWriter::try_new(
                &mut out,
                crate::record::schema(),
                Some(props),
            )
            .unwrap();
            writer.write(&batch("JP")).unwrap();
            writer.close().unwrap();
            out
        };
        std::fs::write(&file, &newer).unwrap();
        let error = commit(&lake, day(), region("KR"), "run-3")
            .await
            .unwrap_err();
        assert!(error.is_usage(), "{error:?}");
        assert!(error.to_string().contains("upgrade trendlake"), "{error}");
        assert_eq!(std::fs::read(&file).unwrap(), newer);
        assert!(preflight(&lake, day()).await.unwrap_err().is_usage());
    }
}
