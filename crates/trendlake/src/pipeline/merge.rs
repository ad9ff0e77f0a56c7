//! The merge stage: the warehouse made to follow the lake. Every lake snapshot not merged yet (or
//! of other content since) is merged, and every date whose snapshot the lake no longer holds is
//! removed.
//!
//! A snapshot is identified by its content (the SHA-256 of its rows, see `lake::codec`), not by
//! the store's ETag: a lake copied, restored or synced to S3 merges nothing new. The ETag and size
//! recorded with it only spare reading a file's footer while the store still lists it so.
//!
//! All of a merge happens in one [`MergeSession`]: on a copy of the warehouse (or its standby,
//! when that is exactly the published file's parent generation), published with an atomic rename
//! once every snapshot is merged and every video's metadata follows the lake, so readers never
//! wait for a merge and never see half of one. A failed merge publishes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::lake::{Lake, Snapshot, SnapshotFile};
use crate::warehouse::{
    MergeSession, MergedSnapshot, SCHEMA_VERSION, Staged, Warehouse, WarehouseError,
};

/// What a merge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MergeReport {
    /// (date, rows) of each snapshot merged.
    pub merged: Vec<(NaiveDate, usize)>,
    /// Snapshots already merged and unchanged since.
    pub up_to_date: usize,
    /// Dates removed from the warehouse because the lake no longer holds their snapshot, with
    /// the chart entries removed.
    pub removed: Vec<(NaiveDate, usize)>,
    /// (date, rows) of each `tracked` file merged (new, or of other content since).
    pub tracked: Vec<(NaiveDate, usize)>,
    /// Dates whose tracked videos were removed: the lake no longer holds their file.
    pub tracked_removed: Vec<NaiveDate>,
}

/// Snapshot files read ahead of the merge.
const READS_IN_FLIGHT: usize = 4;

/// Chart entries merged per transaction at most (about 60 nights of 9 regions): enough that a
/// long history is merged in a few dozen joins, few enough that the staged rows stay small.
const BATCH_ROWS: usize = 100_000;

/// Snapshots a standby may lack of the published warehouse and still serve (see `catch_up`).
const MAX_CATCH_UP: usize = 8;

/// Rounds of metadata refresh before giving up on a lake that keeps changing under the merge.
const MAX_REFRESH_ROUNDS: usize = 20;

/// Footers read at once when telling files apart by content.
const FOOTERS_IN_FLIGHT: usize = 16;

/// Merge into the warehouse every lake snapshot not merged yet or of other content since, and
/// remove every date the lake no longer holds; with `only`, merge that date alone, whether or not
/// it changed (and remove nothing). Videos whose last entries a replaced or removed snapshot
/// dropped get their metadata back from the snapshot they are now last seen in.
pub async fn merge(
    lake: &Lake,
    warehouse: &Path,
    only: Option<NaiveDate>,
    clock: Clock,
) -> Result<MergeReport> {
    // A listing that fails is an error here: a partial one must never read as dates removed.
    let files = lake.list_snapshots().await?;
    if let Some(date) = only
        && !files.iter().any(|f| f.date == date)
    {
        return Err(Error::Usage(format!(
            "the lake {} has no snapshot for {date}: `trendlake rebuild --date {date}` restores \
             one from its raw pages if a run archived them (the API serves only today's chart), \
             and `trendlake merge` without --date merges every snapshot the lake holds",
            lake.url()
        )));
    }
    // Which snapshots need merging is decided read-only, so an up-to-date warehouse is not
    // even copied (its file stays byte-identical). An older schema is migrated all the same.
    let path: PathBuf = warehouse.to_path_buf();
    let (merged, merged_tracked, merged_catalogues, upgrade) =
        tokio::task::spawn_blocking(move || match path.exists() {
            true => {
                let wh = Warehouse::open_read_only(&path)?;
                Ok::<_, WarehouseError>((
                    wh.merged_snapshots()?,
                    wh.merged_tracked()?,
                    wh.merged_catalogues()?,
                    wh.needs_upgrade(),
                ))
            }
            false => Ok((Vec::new(), BTreeMap::new(), BTreeMap::new(), false)),
        })
        .await
        .expect("reading merged snapshots does not panic")?;
    let mut identities = Identities::default();
    let first = plan(lake, warehouse, &files, &merged, only, &mut identities).await?;
    let tracked = tracked_files(lake, only).await?;
    let tracked_first = plan_tracked(lake, &tracked, &merged_tracked, only).await?;
    let catalogues = catalogue_files(lake).await?;
    if first.pending.is_empty()
        && first.removed.is_empty()
        && tracked_first.is_empty()
        && catalogue_dates(&catalogues, &merged_catalogues).is_empty()
        && !upgrade
    {
        // Files found under new names (a copied lake) are recorded so by the next merge that
        // publishes; until then their footers are read again, not their rows.
        return Ok(MergeReport {
            up_to_date: first.up_to_date,
            ..MergeReport::default()
        });
    }

    let mut session = begin(warehouse, true).await?;
    if session.get().from_standby() && !catch_up(lake, &files, &mut session).await? {
        info!("the standby cannot catch up with the published warehouse from this lake; copying");
        drop(session);
        session = begin(warehouse, false).await?;
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
    let published = session.get().published().to_vec();
    let todo = plan(lake, warehouse, &files, &published, only, &mut identities).await?;
    let mut report = MergeReport {
        up_to_date: todo.up_to_date,
        ..MergeReport::default()
    };
    for date in todo.removed {
        let rows = session.run(move |s| s.forget_snapshot(date)).await?;
        warn!(%date, rows, "removed from the warehouse: the lake no longer holds its snapshot");
        report.removed.push((date, rows));
    }
    for record in todo.reidentified {
        session.run(move |s| s.set_record(&record)).await?;
    }
    // Read a few files ahead, and merge many snapshots per transaction (up to BATCH_ROWS
    // chart entries): each MERGE then joins the tables once per batch, not once per date.
    let mut reads = futures::stream::iter(todo.pending)
        .map(|file| async move { lake.read_snapshot(file.date).await })
        .buffered(READS_IN_FLIGHT);
    let mut batch: Vec<Staged> = Vec::new();
    loop {
        // `None` (deleted between listing and reading) is skipped.
        let next = reads.try_next().await?;
        let full = batch.iter().map(Staged::rows).sum::<usize>() >= BATCH_ROWS;
        if (next.is_none() || full) && !batch.is_empty() {
            let merging = std::mem::take(&mut batch);
            let dates: Vec<NaiveDate> = merging.iter().map(|s| s.date).collect();
            let rows = session.run(move |s| s.merge_snapshots(merging)).await?;
            for (date, rows) in dates.into_iter().zip(rows) {
                info!(%date, rows, "snapshot merged");
                report.merged.push((date, rows));
            }
        }
        match next {
            Some(Some(snapshot)) => batch.push(staged(snapshot, clock)),
            Some(None) => {}
            None => break,
        }
    }
    refresh_stale_metadata(lake, &mut session, &mut report, clock).await?;
    merge_tracked(lake, &tracked, only, &mut session, &mut report).await?;
    merge_catalogues(lake, &catalogues, &mut session).await?;
    // Merged into the copy, not published yet: the crash tests stop here.
    crate::pause::at("merge").await;
    let session = session.0.take().expect("session open");
    tokio::task::spawn_blocking(move || session.publish())
        .await
        .expect("publishing does not panic")?;
    Ok(report)
}

/// The lake's chart catalogues (`_charts/snapshot_date=D/<run id>.json`): path relative to the
/// lake's root → its date.
async fn catalogue_files(lake: &Lake) -> Result<BTreeMap<String, NaiveDate>> {
    Ok(lake
        .list_under("_charts")
        .await?
        .into_iter()
        .filter_map(|listed| match listed.parts().as_slice() {
            ["_charts", dir, file] if file.ends_with(".json") => {
                Some((listed.parts.join("/"), crate::lake::partition_date(dir)?))
            }
            _ => None,
        })
        .collect())
}

/// The dates whose catalogues differ between the lake (`files`) and the warehouse (`merged`):
/// a catalogue added or removed. Catalogues are written once, under their run's id, so a path
/// names one content.
fn catalogue_dates(
    files: &BTreeMap<String, NaiveDate>,
    merged: &BTreeMap<String, String>,
) -> std::collections::BTreeSet<NaiveDate> {
    let added = files
        .iter()
        .filter(|(path, _)| !merged.contains_key(*path))
        .map(|(_, date)| *date);
    // A merged catalogue the lake no longer has: its date is read from its path.
    let removed = merged
        .keys()
        .filter(|path| !files.contains_key(*path))
        .filter_map(|path| path.split('/').nth(1).and_then(crate::lake::partition_date));
    added.chain(removed).collect()
}

/// Bring the session's chart catalogue tables to the lake's catalogues, date by date: each date
/// whose catalogues changed is read again whole: each chart's status is the night's weightiest
/// word (`catalogue::night_word`), each region's listing the latest run's. Planned against the work file, as the tracked files.
async fn merge_catalogues(
    lake: &Lake,
    files: &BTreeMap<String, NaiveDate>,
    session: &mut Session,
) -> Result<()> {
    use crate::warehouse::NightCatalogue;
    let merged = session.run(|s| s.merged_catalogues()).await?;
    let dates: Vec<NaiveDate> = catalogue_dates(files, &merged).into_iter().collect();
    if dates.is_empty() {
        return Ok(());
    }
    let mut nights = Vec::new();
    for date in &dates {
        let mut night = NightCatalogue {
            date: *date,
            ..NightCatalogue::default()
        };
        let mut listed = BTreeMap::new();
        // Oldest written first: a later run's listing replaces an earlier one's.
        let stored = crate::catalogue::read_date(lake, *date).await?;
        let charts = crate::catalogue::night_word(stored.iter().map(|s| &s.catalogue));
        for s in stored {
            for (region, categories) in s.catalogue.categories {
                listed.insert(region, categories);
            }
            night.files.push((s.path, s.sha256));
        }
        night.charts = charts
            .into_iter()
            .map(|((region, category), status)| {
                (region, category.to_string(), status.name().to_string())
            })
            .collect();
        night.categories = listed
            .into_iter()
            .flat_map(|(region, categories)| {
                categories
                    .into_iter()
                    .map(move |c| (region.clone(), c.id, c.title, c.assignable))
            })
            .collect();
        nights.push(night);
    }
    info!(dates = dates.len(), "chart catalogues merged");
    session
        .run(move |s| s.merge_catalogues(&dates, &nights))
        .await?;
    Ok(())
}

/// The lake's `tracked` files (with `only`, that date's), oldest first.
async fn tracked_files(lake: &Lake, only: Option<NaiveDate>) -> Result<Vec<SnapshotFile>> {
    let mut files: Vec<SnapshotFile> = lake
        .list_under("tracked")
        .await?
        .into_iter()
        .filter_map(|listed| match listed.parts().as_slice() {
            ["tracked", dir, "tracked.parquet"] => Some(SnapshotFile {
                date: crate::lake::partition_date(dir)?,
                meta: listed.meta,
            }),
            _ => None,
        })
        .filter(|f| only.is_none_or(|d| d == f.date))
        .collect();
    files.sort_by_key(|f| f.date);
    Ok(files)
}

/// Which `tracked` files to merge, and which dates to take out, against `held` (each merged
/// date's content digest).
#[derive(Debug, Default)]
struct TrackedPlan {
    pending: Vec<NaiveDate>,
    removed: Vec<NaiveDate>,
}

impl TrackedPlan {
    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.removed.is_empty()
    }
}

/// Files are told apart by the content digest in their footers (one ranged read each), as
/// snapshots are: a copied lake merges nothing again.
async fn plan_tracked(
    lake: &Lake,
    files: &[SnapshotFile],
    held: &BTreeMap<NaiveDate, String>,
    only: Option<NaiveDate>,
) -> Result<TrackedPlan> {
    let digests: Vec<(NaiveDate, Option<String>)> = futures::stream::iter(files)
        .map(|file| async move {
            let footer = lake
                .read_footer_as(&crate::track::record::TRACKED, file)
                .await?;
            Ok::<_, Error>((file.date, footer.content_sha256))
        })
        .buffered(FOOTERS_IN_FLIGHT)
        .try_collect()
        .await?;
    let pending = digests
        .iter()
        .filter(|(date, digest)| digest.is_none() || held.get(date) != digest.as_ref())
        .map(|(date, _)| *date)
        .collect();
    let listed: BTreeSet<NaiveDate> = files.iter().map(|f| f.date).collect();
    let removed = match only {
        Some(_) => Vec::new(),
        None => held
            .keys()
            .filter(|d| !listed.contains(d))
            .copied()
            .collect(),
    };
    Ok(TrackedPlan { pending, removed })
}

/// Bring the session's tracked videos to the lake's `tracked` files. Planned against the work
/// file itself (a standby one publish behind included), so whatever it lacks is merged.
async fn merge_tracked(
    lake: &Lake,
    files: &[SnapshotFile],
    only: Option<NaiveDate>,
    session: &mut Session,
    report: &mut MergeReport,
) -> Result<()> {
    let held = session.run(|s| s.merged_tracked()).await?;
    let todo = plan_tracked(lake, files, &held, only).await?;
    for date in todo.removed {
        let rows = session.run(move |s| s.forget_tracked(date)).await?;
        warn!(%date, rows, "tracked videos removed from the warehouse: the lake no longer holds their file");
        report.tracked_removed.push(date);
    }
    for date in todo.pending {
        let Some(tracked) = crate::track::read(lake, date).await? else {
            continue; // deleted since the listing
        };
        let rows = session
            .run(move |s| s.merge_tracked(date, &tracked.content_sha256, tracked.batch))
            .await?;
        info!(%date, rows, "tracked videos merged");
        report.tracked.push((date, rows));
    }
    Ok(())
}

/// The content digests read from listed files' footers, by date, with the listing they were read
/// under: a merge reads each footer once.
#[derive(Debug, Default)]
struct Identities(BTreeMap<NaiveDate, (Option<String>, u64, String)>);

impl Identities {
    fn get(&self, file: &SnapshotFile) -> Option<&str> {
        let (etag, size, digest) = self.0.get(&file.date)?;
        (*etag == file.meta.e_tag && *size == file.meta.size).then_some(digest.as_str())
    }

    fn insert(&mut self, file: &SnapshotFile, digest: String) {
        self.0
            .insert(file.date, (file.meta.e_tag.clone(), file.meta.size, digest));
    }
}

/// The content digest of a listed file: recorded in its footer, or (a file written before digests
/// were recorded) of its whole bytes. Empty when the file is gone since the listing.
async fn content_digest(lake: &Lake, file: &SnapshotFile) -> Result<String> {
    if let Some(digest) = lake.read_footer(file).await?.content_sha256 {
        return Ok(digest);
    }
    Ok(lake
        .read_snapshot(file.date)
        .await?
        .map(|s| s.content_sha256)
        .unwrap_or_default())
}

/// What a merge has to do, against what a warehouse merged.
struct Plan<'a> {
    pending: Vec<&'a SnapshotFile>,
    /// Records of files whose content the warehouse holds under another name, etag or size.
    reidentified: Vec<MergedSnapshot>,
    up_to_date: usize,
    /// Dates merged whose snapshot the lake no longer holds.
    removed: Vec<NaiveDate>,
}

async fn plan<'a>(
    lake: &Lake,
    warehouse: &Path,
    files: &'a [SnapshotFile],
    merged: &[MergedSnapshot],
    only: Option<NaiveDate>,
    identities: &mut Identities,
) -> Result<Plan<'a>> {
    let mut plan = Plan {
        pending: Vec::new(),
        reidentified: Vec::new(),
        up_to_date: 0,
        removed: Vec::new(),
    };
    let recorded: BTreeMap<NaiveDate, &MergedSnapshot> =
        merged.iter().map(|m| (m.date, m)).collect();
    let mut to_identify = Vec::new();
    for file in files {
        if only.is_some_and(|d| d != file.date) {
            continue;
        }
        match recorded.get(&file.date) {
            _ if only.is_some() => plan.pending.push(file),
            None => plan.pending.push(file),
            Some(m) if m.same_listing(file.meta.e_tag.as_deref(), file.meta.size) => {
                plan.up_to_date += 1
            }
            Some(m) if m.content_sha256.is_some() => to_identify.push((file, *m)),
            Some(_) => plan.pending.push(file),
        }
    }
    // Listed under another etag or size: the same rows (a copy), or new ones? The footers say.
    let unknown = to_identify
        .iter()
        .map(|(file, _)| *file)
        .filter(|file| identities.get(file).is_none());
    let read: Vec<(&SnapshotFile, String)> = futures::stream::iter(unknown)
        .map(|file| async move { Ok::<_, Error>((file, content_digest(lake, file).await?)) })
        .buffered(FOOTERS_IN_FLIGHT)
        .try_collect()
        .await?;
    for (file, digest) in read {
        identities.insert(file, digest);
    }
    for (file, m) in to_identify {
        let digest = identities.get(file).expect("read above");
        if m.content_sha256.as_deref() == Some(digest) {
            plan.up_to_date += 1;
            plan.reidentified.push(MergedSnapshot {
                path: file.meta.location.to_string(),
                etag: file.meta.e_tag.clone(),
                size: file.meta.size,
                ..m.clone()
            });
        } else {
            plan.pending.push(file);
        }
    }
    plan.pending.sort_by_key(|f| f.date);
    if only.is_none() {
        let listed: BTreeSet<NaiveDate> = files.iter().map(|f| f.date).collect();
        plan.removed = merged
            .iter()
            .map(|m| m.date)
            .filter(|d| !listed.contains(d))
            .collect();
        // A lake holding none of the warehouse's dates is more likely the wrong lake than a lake
        // every date was forgotten from: remove nothing, say so.
        if !plan.removed.is_empty() && plan.removed.len() == merged.len() {
            return Err(Error::Usage(format!(
                "the lake {} holds none of the {} snapshot date(s) the warehouse {} merged \
                 ({} to {}); nothing was removed. Check --lake, or build a warehouse for this lake \
                 with `trendlake merge --warehouse NEW_PATH`",
                lake.url(),
                merged.len(),
                warehouse.display(),
                plan.removed[0],
                plan.removed[plan.removed.len() - 1]
            )));
        }
    }
    Ok(plan)
}

/// Bring the standby (the published warehouse's parent, one publish behind) to what the
/// published warehouse holds: remove the dates the last publish removed, merge again from the
/// lake what it merged (with the same `merged_at`), and take its records. The result is what a
/// copy would give; `false` when the lake no longer holds the content the published warehouse
/// merged (or the records still differ), and the caller copies instead.
async fn catch_up(lake: &Lake, files: &[SnapshotFile], session: &mut Session) -> Result<bool> {
    let published = session.get().published().to_vec();
    let work = session.run(|s| s.merged_snapshots()).await?;
    let held: BTreeMap<NaiveDate, &MergedSnapshot> = work.iter().map(|m| (m.date, m)).collect();
    let wanted: BTreeSet<NaiveDate> = published.iter().map(|p| p.date).collect();
    let same_content =
        |w: &MergedSnapshot, p: &MergedSnapshot| match (&w.content_sha256, &p.content_sha256) {
            (Some(a), Some(b)) => a == b,
            (None, None) => w.same_listing(p.etag.as_deref(), p.size),
            _ => false,
        };
    let lagging: Vec<&MergedSnapshot> = published
        .iter()
        .filter(|p| !held.get(&p.date).is_some_and(|w| same_content(w, p)))
        .collect();
    // The standby is one publish behind: a night or a few. After a publish that merged much
    // more (a first merge of a long history, a rebuild), copying the file costs less than
    // merging it all again.
    if lagging.len() > MAX_CATCH_UP {
        return Ok(false);
    }
    let mut changed = 0;
    for date in held.keys().filter(|d| !wanted.contains(d)).copied() {
        session.run(move |s| s.forget_snapshot(date)).await?;
        changed += 1;
    }
    let mut again = Vec::new();
    for p in &lagging {
        let Some(file) = files.iter().find(|f| f.date == p.date) else {
            return Ok(false);
        };
        let Some(snapshot) = lake.read_snapshot(file.date).await? else {
            return Ok(false);
        };
        let same = match &p.content_sha256 {
            Some(digest) => *digest == snapshot.content_sha256,
            None => p.same_listing(file.meta.e_tag.as_deref(), file.meta.size),
        };
        if !same {
            return Ok(false);
        }
        again.push(staged(snapshot, Clock::Fixed(p.merged_at)));
    }
    if !again.is_empty() {
        session.run(move |s| s.merge_snapshots(again)).await?;
    }
    for p in published.iter().filter(|p| held.get(&p.date) != Some(p)) {
        let record = p.clone();
        session.run(move |s| s.set_record(&record)).await?;
        changed += 1;
    }
    if changed > 0 {
        info!(
            snapshots = changed,
            "brought the standby copy to the published warehouse"
        );
    }
    Ok(session.run(|s| s.merged_snapshots()).await? == published)
}

/// After a replaced or removed snapshot dropped the entries a video's metadata came from, its
/// metadata must come from the snapshot of its new last seen date: read those dates' snapshots and
/// refresh just those videos. A snapshot of other content since it was merged is merged again
/// instead (which may leave other videos stale, hence the rounds).
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
                m.date == date && m.content_sha256.as_deref() == Some(&snapshot.content_sha256)
            });
            if unchanged {
                let videos = session
                    .run(move |s| s.refresh_metadata(date, snapshot.regions.into_values()))
                    .await?;
                info!(%date, videos, "stale video metadata refreshed");
                done.insert(date);
            } else {
                let rows = session.merge(snapshot, clock).await?;
                info!(%date, rows, "snapshot changed since merged; merged again");
                report.merged.push((date, rows));
            }
        }
    }
    unreachable!("the loop returns")
}

/// A snapshot read from the lake, ready to merge at `clock`'s time.
fn staged(snapshot: Snapshot, clock: Clock) -> Staged {
    Staged {
        date: snapshot.date,
        path: snapshot.meta.location.to_string(),
        etag: snapshot.meta.e_tag,
        size: snapshot.meta.size,
        content_sha256: snapshot.content_sha256,
        merged_at: clock.now(),
        batches: snapshot.regions.into_values().collect(),
    }
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
    async fn merge(&mut self, snapshot: Snapshot, clock: Clock) -> Result<usize> {
        let staged = staged(snapshot, clock);
        Ok(self.run(move |s| s.merge_snapshots(vec![staged])).await?[0])
    }
}
