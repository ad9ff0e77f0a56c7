//! The merge stage: every lake snapshot not merged yet (or changed since) into the warehouse.
//!
//! All of a merge happens in one [`MergeSession`]: on a copy of the warehouse, published with an
//! atomic rename once every snapshot is merged and every video's metadata follows the lake, so
//! readers never wait for a merge and never see half of one. A failed merge publishes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::lake::{Lake, Snapshot, SnapshotFile};
use crate::warehouse::{
    MergeSession, MergedSnapshot, SCHEMA_VERSION, SourceFile, Warehouse, WarehouseError,
};

/// What a merge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MergeReport {
    /// (date, rows) of each snapshot merged.
    pub merged: Vec<(NaiveDate, usize)>,
    /// Snapshots already merged and unchanged since.
    pub up_to_date: usize,
}

/// Rounds of metadata refresh before giving up on a lake that keeps changing under the merge.
const MAX_REFRESH_ROUNDS: usize = 20;

/// Merge into the warehouse every lake snapshot not merged yet or changed since it was merged;
/// with `only`, that date alone, whether or not it changed. Videos whose last entries a replaced
/// snapshot dropped get their metadata back from the snapshot they are now last seen in.
pub async fn merge(
    lake: &Lake,
    warehouse: &Path,
    only: Option<NaiveDate>,
    clock: Clock,
) -> Result<MergeReport> {
    let files = lake.list_snapshots().await?;
    if let Some(date) = only
        && !files.iter().any(|f| f.date == date)
    {
        return Err(Error::Usage(format!(
            "the lake {} has no snapshot for {date}; run `trendlake snapshot --date {date}` first",
            lake.url()
        )));
    }
    // Which snapshots need merging is decided read-only, so an up-to-date warehouse is not
    // even copied (its file stays byte-identical). An older schema is migrated all the same.
    let path: PathBuf = warehouse.to_path_buf();
    let (merged, upgrade) = tokio::task::spawn_blocking(move || match path.exists() {
        true => {
            let wh = Warehouse::open_read_only(&path)?;
            Ok::<_, WarehouseError>((wh.merged_snapshots()?, wh.needs_upgrade()))
        }
        false => Ok((Vec::new(), false)),
    })
    .await
    .expect("reading merged snapshots does not panic")?;
    let (pending, up_to_date) = to_merge(&files, &merged, only);
    if pending.is_empty() && !upgrade {
        return Ok(MergeReport {
            merged: Vec::new(),
            up_to_date,
        });
    }

    let mut session = begin(warehouse, true).await?;
    // The work file is a copy of the published warehouse, or its standby, one merge behind: what
    // the standby lacks of the published warehouse is merged into it again, from the same lake
    // files and with the same `merged_at`, so the result is what a copy would give. Should the
    // lake no longer hold a file the published warehouse merged, the standby cannot catch up:
    // copy instead.
    let published = session.get().published().to_vec();
    let work = session.run(|s| s.merged_snapshots()).await?;
    let lagging: Vec<&MergedSnapshot> = published.iter().filter(|p| !work.contains(p)).collect();
    let unreachable = lagging.iter().any(|p| {
        !files
            .iter()
            .any(|f| f.date == p.date && f.meta.e_tag == p.etag && f.meta.size == p.size)
    });
    if unreachable {
        drop(session);
        session = begin(warehouse, false).await?;
    }
    let catch_up: Vec<(&SnapshotFile, DateTime<Utc>)> = if unreachable {
        Vec::new()
    } else {
        lagging
            .iter()
            .filter_map(|p| {
                let file = files.iter().find(|f| f.date == p.date)?;
                Some((file, p.merged_at))
            })
            .collect()
    };
    if !catch_up.is_empty() {
        info!(
            snapshots = catch_up.len(),
            "merging into the standby copy what it lacks of the published warehouse"
        );
    }
    for (file, merged_at) in catch_up {
        let Some(snapshot) = lake.read_snapshot(file.date).await? else {
            continue;
        };
        session
            .merge(snapshot, file.date, Clock::Fixed(merged_at))
            .await?;
    }
    if let Some(found) = session.get().found_version()
        && found < SCHEMA_VERSION
    {
        info!(
            from = found,
            to = SCHEMA_VERSION,
            "warehouse schema migrated (published with this merge)"
        );
    }
    // Decided again under the writer lock (another trendlake may have merged meanwhile), against
    // the published warehouse, which the work file now equals.
    let (pending, up_to_date) = to_merge(&files, &published, only);
    let mut report = MergeReport {
        merged: Vec::new(),
        up_to_date,
    };
    for file in pending {
        let Some(snapshot) = lake.read_snapshot(file.date).await? else {
            continue; // deleted between listing and reading
        };
        let rows = session.merge(snapshot, file.date, clock).await?;
        info!(date = %file.date, rows, "snapshot merged");
        report.merged.push((file.date, rows));
    }
    refresh_stale_metadata(lake, &mut session, &mut report, clock).await?;
    // Merged into the copy, not published yet: the crash tests stop here.
    crate::pause::at("merge").await;
    let session = session.0.take().expect("session open");
    tokio::task::spawn_blocking(move || session.publish())
        .await
        .expect("publishing does not panic")?;
    Ok(report)
}

/// The snapshots to merge, and how many are merged already and unchanged.
fn to_merge<'a>(
    files: &'a [SnapshotFile],
    merged: &[MergedSnapshot],
    only: Option<NaiveDate>,
) -> (Vec<&'a SnapshotFile>, usize) {
    let mut up_to_date = 0;
    let mut pending = Vec::new();
    for file in files {
        if only.is_some_and(|d| d != file.date) {
            continue;
        }
        let done = merged
            .iter()
            .any(|m| m.date == file.date && m.etag == file.meta.e_tag && m.size == file.meta.size);
        if done && only.is_none() {
            up_to_date += 1;
        } else {
            pending.push(file);
        }
    }
    (pending, up_to_date)
}

/// After a replaced snapshot dropped the entries a video's metadata came from, its metadata must
/// come from the snapshot of its new last seen date: read those dates' snapshots and refresh
/// just those videos. A snapshot that changed since it was merged is merged again instead (which
/// may leave other videos stale, hence the rounds).
async fn refresh_stale_metadata(
    lake: &Lake,
    session: &mut Session,
    report: &mut MergeReport,
    clock: Clock,
) -> Result<()> {
    // Dates refreshed, or missing from the lake: not read twice.
    let mut done = BTreeSet::new();
    for round in 0.. {
        let stale = session.run(|s| s.stale_metadata_dates()).await?;
        let todo: Vec<NaiveDate> = stale
            .iter()
            .filter(|d| !done.contains(*d))
            .copied()
            .collect();
        if todo.is_empty() {
            if !stale.is_empty() {
                warn!(
                    dates = ?stale,
                    "some videos keep metadata of a snapshot that no longer has them; rebuild the warehouse from the lake with `trendlake merge --warehouse NEW_PATH`"
                );
            }
            return Ok(());
        }
        if round == MAX_REFRESH_ROUNDS {
            return Err(WarehouseError::Other {
                path: session.get().path().display().to_string(),
                problem: format!(
                    "the lake {} kept changing while the merge refreshed video metadata; nothing was published, merge again",
                    lake.url()
                ),
            }
            .into());
        }
        let merged = session.run(|s| s.merged_snapshots()).await?;
        for date in todo {
            let Some(snapshot) = lake.read_snapshot(date).await? else {
                warn!(%date, "videos last seen on this date keep later metadata: the lake has no snapshot of the date any more");
                done.insert(date);
                continue;
            };
            let unchanged = merged.iter().any(|m| {
                m.date == date && m.etag == snapshot.meta.e_tag && m.size == snapshot.meta.size
            });
            if unchanged {
                let videos = session
                    .run(move |s| s.refresh_metadata(date, snapshot.regions.into_values()))
                    .await?;
                info!(%date, videos, "stale video metadata refreshed");
                done.insert(date);
            } else {
                let rows = session.merge(snapshot, date, clock).await?;
                info!(%date, rows, "snapshot changed since merged; merged again");
                report.merged.push((date, rows));
            }
        }
    }
    unreachable!("the loop returns")
}

/// Begin a merge session on a blocking thread; `standby`: may start from the standby copy.
async fn begin(warehouse: &Path, standby: bool) -> Result<Session> {
    let path: PathBuf = warehouse.to_path_buf();
    let session = tokio::task::spawn_blocking(move || match standby {
        true => Warehouse::begin(&path),
        false => Warehouse::begin_copy(&path),
    })
    .await
    .expect("beginning a merge does not panic")?;
    Ok(Session(Some(session)))
}

/// The merge session, moved to a blocking thread for each DuckDB call (they block).
struct Session(Option<MergeSession>);

impl Session {
    fn get(&self) -> &MergeSession {
        self.0.as_ref().expect("session open")
    }

    async fn run<T, F>(&mut self, f: F) -> Result<T>
    where
        F: FnOnce(&mut MergeSession) -> std::result::Result<T, WarehouseError> + Send + 'static,
        T: Send + 'static,
    {
        let mut session = self.0.take().expect("session open");
        let (session, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut session);
            (session, out)
        })
        .await
        .expect("warehouse calls do not panic");
        self.0 = Some(session);
        Ok(out?)
    }

    /// Merge a snapshot read from the lake; returns its rows.
    async fn merge(&mut self, snapshot: Snapshot, date: NaiveDate, clock: Clock) -> Result<usize> {
        let merged_at = clock.now();
        self.run(move |s| {
            let path = snapshot.meta.location.to_string();
            let source = SourceFile {
                path: &path,
                etag: snapshot.meta.e_tag.as_deref(),
                size: snapshot.meta.size,
            };
            s.merge_snapshot(date, source, snapshot.regions.into_values(), merged_at)
        })
        .await
    }
}
