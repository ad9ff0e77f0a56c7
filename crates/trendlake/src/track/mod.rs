//! The tracking stage: after the charts, follow every video that left them.
//!
//! A night's run first fetches and commits the charts; then it looks up, by id, every video that
//! was on one of its regions' charts within the last `days` days and is on none of today's
//! (`videos.list?id=…`, 50 ids a call, one quota unit each, deduplicated: statistics are global).
//! The calls go through the run's [`Fetcher`], so the charts' concurrency bound, pacing, retries
//! and quota accounting apply, and a `quotaExceeded` stops them as it stops the charts. The
//! charts never wait for tracking, nor lose quota to it: it runs after their commit, within
//! what they left of `--quota-budget` (or `--track-budget`), most recent chart exits first.
//!
//! The pages are archived like the charts' (`raw/snapshot_date=D/tracked/run=<run id>/`, each
//! with the ids it asked for), and the rows become `tracked/snapshot_date=D/tracked.parquet`,
//! whose lineage names that run's manifest by digest (docs/lake.md, "tracked").

pub mod record;

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use serde::Serialize;
use tracing::{info, warn};

use crate::fetch::Fetcher;
use crate::lake::codec::{self, Lineage, Source};
use crate::lake::{ContentType, Lake, LakeError};
use crate::raw::{Asked, RawPage};
use crate::youtube::ErrorKind;
use crate::youtube::client::MAX_IDS;
use record::{TRACKED, TrackedRows};

/// The lineage key of a `tracked` file's one source.
pub const LINEAGE_KEY: &str = "tracked";

/// How the tracking stage runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackOptions {
    /// Follow videos that were on a chart within this many days before the run's date; 0 turns
    /// tracking off.
    pub days: u32,
    /// Units the stage may spend at most, retries included (`None`: what the charts left of
    /// `--quota-budget`, or no cap without one).
    pub budget: Option<u32>,
    /// The regions whose chart exits are followed: every region the run is configured for,
    /// also under `--only-missing` (which fetches only some of their charts).
    pub regions: Vec<String>,
    /// `--only-missing`: track only when the date has no `tracked` file yet.
    pub only_if_missing: bool,
}

impl TrackOptions {
    /// Follow the exits of `regions`' charts within the default 30 days, with no cap of its own.
    pub fn new(regions: &[String]) -> Self {
        Self {
            days: 30,
            budget: None,
            regions: regions.to_vec(),
            only_if_missing: false,
        }
    }
}

impl TrackOptions {
    /// Tracking turned off (`--track-days 0`).
    pub fn off() -> Self {
        Self {
            days: 0,
            ..Self::new(&[])
        }
    }
}

/// A video to follow: its id and the last date it was on one of the run's regions' charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub video_id: String,
    pub last_charted: NaiveDate,
}

/// How the stage ended (stable serde names: the run report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackStatus {
    /// `--track-days 0`, or the charts were not committed.
    Off,
    /// Every lookup sent was answered and its rows written (the budget may have left some
    /// videos out: see `skipped`).
    Ok,
    /// Some lookups failed (a fault, `quotaExceeded`); the others were written.
    Partial,
    /// Nothing was written: every lookup failed, or the lake could not be read or written.
    Failed,
}

impl std::fmt::Display for TrackStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrackStatus::Off => "off",
            TrackStatus::Ok => "ok",
            TrackStatus::Partial => "partial",
            TrackStatus::Failed => "failed",
        })
    }
}

/// The run report's `tracking` section (stable serde names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackReport {
    pub status: TrackStatus,
    /// `--track-days`.
    pub days: u32,
    /// Videos that left a chart within `days` and are on none today.
    pub candidates: usize,
    /// Videos asked for in lookups that were answered.
    pub tracked: usize,
    /// Of those, the ones the API returned.
    pub returned: usize,
    /// Of those, the ones the API left out: deleted, private or otherwise unavailable.
    pub vanished: usize,
    /// Videos not asked for because the budget could not cover them (the earliest exits).
    pub skipped: usize,
    /// Why videos were skipped, when some were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// Videos whose lookup failed.
    pub failed: usize,
    /// Lookups sent, retries included.
    pub requests: u32,
    pub quota_units: u32,
    pub retries: u32,
    /// The units the stage was allowed (`None`: no cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_units: Option<u32>,
    /// The `tracked` file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<TrackedFile>,
    /// The first failure, as the API or the lake gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of the first failed lookup (`quota_exceeded`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
}

/// The `tracked` file a run wrote, and where its rows came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackedFile {
    pub path: String,
    pub rows: usize,
    pub content_sha256: String,
    pub source: Source,
}

impl TrackReport {
    /// The report of a stage that did not run.
    pub fn off(days: u32) -> Self {
        Self {
            status: TrackStatus::Off,
            days,
            candidates: 0,
            tracked: 0,
            returned: 0,
            vanished: 0,
            skipped: 0,
            skipped_reason: None,
            failed: 0,
            requests: 0,
            quota_units: 0,
            retries: 0,
            budget_units: None,
            file: None,
            error: None,
            error_kind: None,
        }
    }

    fn failed_with(mut self, error: String) -> Self {
        self.status = TrackStatus::Failed;
        self.error = Some(error);
        self
    }

    /// One line for people: `tracked 1,234 videos (1,200 returned, 34 vanished), 25 units`.
    pub fn summary(&self) -> String {
        if self.status == TrackStatus::Off {
            return "tracking off".into();
        }
        let mut line = format!(
            "tracked {} of {} videos that left the charts ({} returned, {} vanished), {} quota units",
            self.tracked, self.candidates, self.returned, self.vanished, self.quota_units
        );
        if self.skipped > 0 {
            line.push_str(&format!(
                "; {} skipped ({})",
                self.skipped,
                self.skipped_reason.as_deref().unwrap_or("budget")
            ));
        }
        if self.failed > 0 {
            line.push_str(&format!("; {} not tracked: lookups failed", self.failed));
        }
        if let Some(e) = &self.error {
            line.push_str(&format!("; {e}"));
        }
        line
    }
}

/// `tracked/snapshot_date=D/tracked.parquet`, relative to the lake's root.
pub fn tracked_file(date: NaiveDate) -> String {
    format!("tracked/snapshot_date={date}/tracked.parquet")
}

/// The videos to follow on `date`: on a chart of one of `regions` within the `days` days before
/// it, and on none of `date`'s charts (any region the snapshot holds); the latest exits first,
/// then by id. A past snapshot that cannot be read is skipped with a warning (`check` names it).
pub async fn candidates(
    lake: &Lake,
    regions: &[String],
    date: NaiveDate,
    days: u32,
) -> Result<Vec<Candidate>, LakeError> {
    use futures::{StreamExt, TryStreamExt};
    let wanted: HashSet<&str> = regions.iter().map(String::as_str).collect();
    let mut last: HashMap<String, NaiveDate> = HashMap::new();
    let first = date - chrono::Duration::days(i64::from(days));
    let dates: Vec<NaiveDate> = lake
        .list_snapshots()
        .await?
        .into_iter()
        .map(|f| f.date)
        .filter(|d| *d >= first && *d <= date)
        .collect();
    // Two columns of each night, a few nights at a time.
    let nights: Vec<(NaiveDate, Vec<(String, String)>)> = futures::stream::iter(dates)
        .map(|d| async move {
            match lake.snapshot_ids(d).await {
                Ok(ids) => Ok((d, ids)),
                Err(e @ LakeError::Newer { .. }) => Err(e),
                Err(e) => {
                    warn!(date = %d, error = %e, "a snapshot cannot be read; its videos are not tracked");
                    Ok((d, Vec::new()))
                }
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let mut today: HashSet<String> = HashSet::new();
    for (night, ids) in nights {
        for (region, id) in ids {
            if night == date {
                today.insert(id);
            } else if wanted.contains(region.as_str()) {
                let day = last.entry(id).or_insert(night);
                *day = (*day).max(night);
            }
        }
    }
    let mut out: Vec<Candidate> = last
        .into_iter()
        .filter(|(id, _)| !today.contains(id))
        .map(|(video_id, last_charted)| Candidate {
            video_id,
            last_charted,
        })
        .collect();
    out.sort_by(|a, b| {
        b.last_charted
            .cmp(&a.last_charted)
            .then_with(|| a.video_id.cmp(&b.video_id))
    });
    Ok(out)
}

/// The tracking stage of `run_id` on `date` (see the module's header). Never fails the run: what
/// went wrong is in the report.
pub async fn track(
    fetcher: &Fetcher,
    lake: &Lake,
    date: NaiveDate,
    run_id: &str,
    options: &TrackOptions,
) -> TrackReport {
    let mut report = TrackReport::off(options.days);
    if options.days == 0 {
        return report;
    }
    if options.only_if_missing {
        match lake.get(&lake.path(&tracked_file(date))).await {
            Ok(Some(_)) => {
                info!(%date, "--only-missing: the date's videos were tracked already");
                return report;
            }
            Ok(None) => {}
            Err(e) => return report.failed_with(format!("the lake cannot be read: {e}")),
        }
    }
    report.status = TrackStatus::Ok;
    let candidates = match candidates(lake, &options.regions, date, options.days).await {
        Ok(c) => c,
        Err(e) => return report.failed_with(format!("the lake's snapshots cannot be read: {e}")),
    };
    report.candidates = candidates.len();
    if candidates.is_empty() {
        return report;
    }

    // What the stage may spend: its own budget, else what the charts left of the run's.
    let budget = match (options.budget, fetcher.units_left()) {
        (Some(own), Some(left)) => Some(own.min(left)),
        (own, left) => own.or(left),
    };
    report.budget_units = budget;
    let lookups_wanted = candidates.len().div_ceil(MAX_IDS);
    let lookups = match budget {
        Some(units) => lookups_wanted.min(units as usize),
        None => lookups_wanted,
    };
    let covered = (lookups * MAX_IDS).min(candidates.len());
    if let Some(kind) = fetcher.stopped() {
        report.skipped = candidates.len();
        report.skipped_reason = Some(format!(
            "not sent: the charts' calls were stopped by {}",
            kind.name()
        ));
        report.status = TrackStatus::Failed;
        report.error_kind = Some(kind);
        report.error = report.skipped_reason.clone();
        return report;
    }
    if covered < candidates.len() {
        report.skipped = candidates.len() - covered;
        report.skipped_reason = Some(format!(
            "the budget of {} unit(s) covers {covered} of {} videos at {MAX_IDS} a call; those that left the charts longest ago were left out",
            budget.unwrap_or_default(),
            candidates.len()
        ));
    }
    let chosen = &candidates[..covered];
    let last: HashMap<&str, NaiveDate> = chosen
        .iter()
        .map(|c| (c.video_id.as_str(), c.last_charted))
        .collect();
    let batches: Vec<Vec<String>> = chosen
        .chunks(MAX_IDS)
        .map(|chunk| chunk.iter().map(|c| c.video_id.clone()).collect())
        .collect();

    let answered = fetcher.lookups(batches, budget).await;
    let mut rows = TrackedRows::default();
    let mut pages: Vec<(RawPage, Vec<Asked>)> = Vec::new();
    for lookup in answered {
        report.requests += lookup.requests;
        report.quota_units += lookup.quota_units;
        report.retries += lookup.retries;
        let failure = match lookup.outcome {
            Ok((response, raw)) => {
                let last_charted = |id: &str| last.get(id).copied().unwrap_or(date);
                match rows.push(
                    lookup.batch,
                    &lookup.ids,
                    &last_charted,
                    &response,
                    raw.fetched_at,
                ) {
                    Ok(()) => {
                        let asked = lookup
                            .ids
                            .iter()
                            .map(|id| Asked {
                                video_id: id.clone(),
                                last_charted: last_charted(id),
                            })
                            .collect();
                        pages.push((raw, asked));
                        continue;
                    }
                    Err(e) => (ErrorKind::BadItem, e.to_string()),
                }
            }
            Err(e) => (e.kind, e.to_string()),
        };
        report.failed += lookup.ids.len();
        if report.error.is_none() {
            report.error_kind = Some(failure.0);
            report.error = Some(failure.1);
        }
    }
    report.tracked = rows.len();
    report.returned = rows.returned();
    report.vanished = rows.len() - rows.returned();
    if rows.unexpected > 0 {
        warn!(
            unexpected = rows.unexpected,
            "lookups returned videos not asked for; ignored"
        );
    }
    report.status = match (report.failed, rows.is_empty()) {
        (0, _) => TrackStatus::Ok,
        (_, false) => TrackStatus::Partial,
        (_, true) => TrackStatus::Failed,
    };
    if rows.is_empty() {
        return report;
    }
    match write(lake, date, run_id, &rows, &pages).await {
        Ok(file) => {
            info!(path = %file.path, rows = file.rows, returned = report.returned, vanished = report.vanished, "tracked videos written");
            report.file = Some(file);
        }
        Err(e) => {
            let error = format!("the tracked videos could not be written: {e}");
            warn!(error, "tracking failed");
            report.status = TrackStatus::Failed;
            report.error = Some(error);
            report.error_kind = None;
        }
    }
    report
}

/// The rows of the lookups `source` names, derived again from the archive exactly as the
/// tracking stage derived them: the same rows, so the same file.
pub async fn replay(lake: &Lake, source: &Source) -> Result<RecordBatch, crate::raw::RawError> {
    let mut rows = TrackedRows::default();
    for lookup in crate::raw::replay_lookups(lake, source).await? {
        let last: HashMap<&str, NaiveDate> = lookup
            .asked
            .iter()
            .map(|a| (a.video_id.as_str(), a.last_charted))
            .collect();
        let ids: Vec<String> = lookup.asked.iter().map(|a| a.video_id.clone()).collect();
        let last_charted = |id: &str| last[id];
        rows.push(
            lookup.page,
            &ids,
            &last_charted,
            &lookup.response,
            lookup.fetched_at,
        )
        .map_err(|e| crate::raw::RawError::Damaged {
            path: lake.display(&lake.path(&source.manifest)),
            problem: e.to_string(),
        })?;
    }
    crate::raw::check_rows(lake, source, rows.len())?;
    Ok(rows.finish())
}

/// `rebuild` of `date`'s `tracked` file: its rows derived again from exactly the lookups it
/// names, written again only when they differ. Returns its rows (`None`: the date has no file).
pub async fn rebuild(lake: &Lake, date: NaiveDate) -> Result<Option<usize>, crate::error::Error> {
    let Some(tracked) = read(lake, date).await? else {
        return Ok(None);
    };
    let Some(source) = tracked.source else {
        warn!(%date, "the tracked file names no lookups; left as it is");
        return Ok(Some(tracked.batch.num_rows()));
    };
    let batch = replay(lake, &source)
        .await
        .map_err(|e| crate::error::Error::Raw(Box::new(e)))?;
    let (path, encoded) = encode(lake, date, &batch, source)?;
    if encoded.content_sha256 != tracked.content_sha256 {
        let _lock = lake.lock(date).await?;
        lake.put(&path, encoded.bytes, ContentType::Parquet).await?;
        info!(%date, rows = batch.num_rows(), "tracked videos rebuilt from their lookups");
    }
    Ok(Some(batch.num_rows()))
}

/// Archive the pages, then write the `tracked` file that names them.
async fn write(
    lake: &Lake,
    date: NaiveDate,
    run_id: &str,
    rows: &TrackedRows,
    pages: &[(RawPage, Vec<Asked>)],
) -> Result<TrackedFile, LakeError> {
    let source = crate::raw::write_lookups(lake, date, run_id, rows.len(), pages).await?;
    let batch = rows.finish();
    let (path, encoded) = encode(lake, date, &batch, source.clone())?;
    // Under the date's lock, as the snapshot's commit: one writer of the date's files at a time.
    let _lock = lake.lock(date).await?;
    lake.put(&path, encoded.bytes.clone(), ContentType::Parquet)
        .await?;
    Ok(TrackedFile {
        path: lake.display(&path),
        rows: batch.num_rows(),
        content_sha256: encoded.content_sha256,
        source,
    })
}

/// `date`'s `tracked` file of `batch`, naming `source`: where it goes, and its bytes and identity.
fn encode(
    lake: &Lake,
    date: NaiveDate,
    batch: &RecordBatch,
    source: Source,
) -> Result<(object_store::path::Path, codec::Encoded), LakeError> {
    let path = lake.path(&tracked_file(date));
    let lineage: Lineage = BTreeMap::from([(LINEAGE_KEY.to_string(), source)]);
    match codec::encode_table(&TRACKED, [batch], &lineage) {
        Ok(encoded) => Ok((path, encoded)),
        Err(source) => Err(LakeError::Encode {
            path: lake.display(&path),
            source,
        }),
    }
}

/// The `tracked` file of `date`, if there is one: its rows and lineage, checked like a
/// snapshot's (version, columns, digest).
pub async fn read(lake: &Lake, date: NaiveDate) -> Result<Option<Tracked>, LakeError> {
    let path = lake.path(&tracked_file(date));
    let Some(bytes) = lake.get(&path).await? else {
        return Ok(None);
    };
    let (batch, lineage, content_sha256, _) =
        codec::decode_table(&TRACKED, bytes).map_err(|source| lake.unreadable(&path, source))?;
    Ok(Some(Tracked {
        date,
        batch,
        source: lineage.get(LINEAGE_KEY).cloned(),
        content_sha256,
    }))
}

/// A `tracked` file read back.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub date: NaiveDate,
    pub batch: RecordBatch,
    /// The run whose lookups it holds.
    pub source: Option<Source>,
    pub content_sha256: String,
}
