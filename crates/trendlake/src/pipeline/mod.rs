//! The nightly job's stages wired together: snapshot (fetch → records → lake) and merge
//! (lake → warehouse), with the run report that says what happened to every region.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::{info, warn};

use crate::catalogue::{Catalogue, CategoryEntry, ChartEntry, ChartStatus};
use crate::chart::Categories;
use crate::clock::Clock;
use crate::error::Result;
use crate::fetch::{FetchOptions, Fetcher};
use crate::lake::Lake;
use crate::track::{TrackOptions, TrackReport, TrackStatus};
use crate::youtube::{Client, ErrorKind};

mod forget;
mod merge;
mod rebuild;
pub use forget::{Forgotten, forget};
pub use merge::{MergeReport, merge};
pub use rebuild::{RebuildReport, RebuiltDate, rebuild};

/// Everything `snapshot` needs.
#[derive(Debug, Clone)]
pub struct SnapshotJob {
    pub client: Client,
    pub regions: Vec<String>,
    pub fetch: FetchOptions,
    pub date: NaiveDate,
    pub clock: Clock,
    /// The tracking stage after the charts (`--track-days`, `--track-budget`).
    pub track: TrackOptions,
    /// The category charts asked for besides each region's general chart (`--categories`).
    pub categories: Categories,
    /// A category chart the API had none of is asked again after this many nights
    /// (`--recheck-days`; 0: every night).
    pub recheck_days: u32,
    /// Charts the date's snapshot holds already, by key, which the run does not fetch
    /// (`--only-missing`).
    pub present: Vec<String>,
}

/// A region's status in the run report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionStatus {
    /// Fetched complete and committed.
    Ok,
    /// Not fetched; see its `error`. Whatever an earlier run committed for it stays.
    Failed,
    /// Fetched complete, but the commit failed, so nothing of it was written.
    NotCommitted,
    /// A category chart the API does not have (`videoChartNotFound`): an answer, not a failure.
    NoChart,
    /// A category chart not asked for: the API had none when last asked (`last_asked`), less
    /// than `--recheck-days` ago.
    KnownNoChart,
}

impl RegionStatus {
    /// Whether the entry is a chart the API does not have (asked tonight or not).
    pub fn is_no_chart(self) -> bool {
        matches!(self, RegionStatus::NoChart | RegionStatus::KnownNoChart)
    }
}

impl std::fmt::Display for RegionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegionStatus::Ok => "ok",
            RegionStatus::Failed => "failed",
            RegionStatus::NotCommitted => "not_committed",
            RegionStatus::NoChart => "no_chart",
            RegionStatus::KnownNoChart => "known_no_chart",
        })
    }
}

/// One chart's line in the run report: a region's general chart, or one of its category charts.
#[derive(Debug, Clone, Serialize)]
pub struct RegionReport {
    pub region: String,
    /// The chart's category: `all` for the region's general chart, else the category id.
    pub category: String,
    pub status: RegionStatus,
    /// `known_no_chart`: the night the API last answered that it has no such chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_asked: Option<NaiveDate>,
    pub rows: usize,
    /// `videos.list` calls sent, retries included.
    pub requests: u32,
    /// Quota units spent: calls that reached the API, failed ones included (a call that never
    /// connected costs none).
    pub quota_units: u32,
    /// Requests that were retries of a transient fault.
    pub retries: u32,
    /// Items dropped because the API repeated an id across pages.
    pub duplicates_dropped: usize,
    pub elapsed_ms: u128,
    /// The raw pages this run archived for the region (what its commit names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::lake::Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

impl RegionReport {
    /// The chart's key (see [`crate::chart`]).
    pub fn chart(&self) -> String {
        crate::chart::key(&self.region, &self.category)
    }
}

/// A region's `videoCategories.list` call in the run report (`--categories` other than `none`).
#[derive(Debug, Clone, Serialize)]
pub struct CategoriesReport {
    pub region: String,
    /// `ok` or `failed`.
    pub status: RegionStatus,
    /// Categories the API listed, and how many of them are assignable.
    pub categories: usize,
    pub assignable: usize,
    pub requests: u32,
    pub quota_units: u32,
    pub retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionFailure {
    /// The page it failed on (1-based); absent when no page was requested: a region left out
    /// by `--quota-budget`, or one whose time ran out before its first request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
    /// The stable name of the failure's kind (`quota_exceeded`, `rate_limited`, …).
    pub kind: ErrorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The API's own reason (`quotaExceeded`, …) when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub message: String,
    pub advice: String,
}

impl RegionFailure {
    /// The report of `error`, met on `page` (`None`: before any request).
    pub fn of(error: &crate::youtube::ApiError, page: Option<usize>) -> Self {
        Self {
            page,
            kind: error.kind,
            http_status: error.status,
            reason: error.reason.clone(),
            message: error.message.clone(),
            advice: error.kind.advice(),
        }
    }

    /// Where the region failed, for people: `page 2`; `not fetched: quota budget` for a region
    /// `--quota-budget` left out; `not fetched: KIND` for one that never sent a request.
    pub fn whereabouts(&self) -> String {
        match self.page {
            Some(page) => format!("page {page}"),
            None if self.kind == ErrorKind::BudgetExhausted => "not fetched: quota budget".into(),
            None => format!(
                "not fetched: {}",
                self.reason.as_deref().unwrap_or(self.kind.name())
            ),
        }
    }
}

/// What the merge after the snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeStatus {
    /// At least one snapshot was merged.
    Merged,
    /// Every snapshot in the lake was merged already and is unchanged since.
    UpToDate,
    /// The merge failed; see `error`. The lake keeps the snapshot, so the next run merges it.
    Failed,
    /// No merge was asked for (`trendlake snapshot`).
    Skipped,
    /// Not finished when the report was written: the report is first written right after the
    /// commit, before the merge starts, and rewritten when the merge ends. A report left saying
    /// `pending` belongs to a run that stopped during its merge; `trendlake merge` finishes it.
    Pending,
}

/// The run report's `merge` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeSummary {
    pub status: MergeStatus,
    /// Snapshots merged.
    pub snapshots: usize,
    /// Chart entries merged.
    pub rows: usize,
    /// Tracked videos merged (rows of the lake's `tracked` files).
    pub tracked_rows: usize,
    /// Dates removed from the warehouse because the lake no longer holds their snapshot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl std::fmt::Display for MergeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MergeStatus::Merged => "merged",
            MergeStatus::UpToDate => "up_to_date",
            MergeStatus::Failed => "failed",
            MergeStatus::Skipped => "skipped",
            MergeStatus::Pending => "pending",
        })
    }
}

impl MergeSummary {
    pub fn skipped() -> Self {
        Self {
            status: MergeStatus::Skipped,
            snapshots: 0,
            rows: 0,
            tracked_rows: 0,
            removed: Vec::new(),
            error: None,
        }
    }

    pub fn pending() -> Self {
        Self {
            status: MergeStatus::Pending,
            ..Self::skipped()
        }
    }

    fn failed(self) -> Self {
        Self {
            status: MergeStatus::Failed,
            ..self
        }
    }

    fn of(result: &Result<MergeReport>) -> Self {
        match result {
            Ok(m) => Self {
                status: if m.merged.is_empty()
                    && m.removed.is_empty()
                    && m.tracked.is_empty()
                    && m.tracked_removed.is_empty()
                {
                    MergeStatus::UpToDate
                } else {
                    MergeStatus::Merged
                },
                snapshots: m.merged.len(),
                rows: m.merged.iter().map(|(_, rows)| rows).sum(),
                tracked_rows: m.tracked.iter().map(|(_, rows)| rows).sum(),
                removed: m.removed.iter().map(|(d, _)| *d).collect(),
                error: None,
            },
            Err(e) => Self {
                error: Some(e.to_string()),
                ..Self::skipped()
            }
            .failed(),
        }
    }
}

/// The run report written to `_runs/snapshot_date=D/<run-id>.json`, once, when the run is over.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub snapshot_date: NaiveDate,
    /// The lake as an absolute URL (`file:///…` or `s3://bucket/prefix`).
    pub lake: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// [`RunReport::outcome`] and [`RunReport::exit_code`], recorded when the report is written.
    outcome: Outcome,
    exit_code: u8,
    /// Quota units spent: the regions' `quota_units`, and the tracking stage's.
    pub quota_units: u32,
    pub rows_committed: usize,
    /// Every chart of the run: each region's general chart, then the category charts.
    pub regions: Vec<RegionReport>,
    /// `--categories`: each region's `videoCategories.list` call (absent with `none`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoriesReport>,
    /// The chart catalogue this run wrote (`_charts/…`; absent with `--categories none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<String>,
    /// Charts (by key) of an earlier run of this date that this run left as they were.
    pub regions_kept: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileReport>,
    /// The tracking stage: the videos followed after they left the charts.
    pub tracking: TrackReport,
    /// Why nothing was committed although regions were fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_error: Option<String>,
    pub merge: MergeSummary,
    /// `run --report`: what became of the date's HTML report (absent without `--report`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportSummary>,
    pub fetch_ms: u128,
    pub write_ms: u128,
    /// The tracking stage's time (0 when it did not run).
    pub track_ms: u128,
    pub merge_ms: u128,
    /// Where this report was written (not part of the report itself).
    #[serde(skip)]
    pub run_report_path: Option<String>,
    /// Why the report could not be written (not part of the report itself).
    #[serde(skip)]
    pub report_error: Option<String>,
}

/// What `run --report` did with the date's HTML report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub status: ReportStatus,
    /// The page in the lake (`…/_reports/snapshot_date=D/report.html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `_reports/index.html`, rewritten with every date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Why it failed, or why it was not made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether `run --report` wrote the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Written,
    /// Making or publishing it failed; the data is committed and merged all the same.
    Failed,
    /// Not made: the merge failed, or the warehouse holds no snapshot of the date.
    Skipped,
}

impl std::fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReportStatus::Written => "written",
            ReportStatus::Failed => "failed",
            ReportStatus::Skipped => "skipped",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub bytes: usize,
    /// Identical to the file already there, so not rewritten.
    pub unchanged: bool,
    /// The file's identity: the SHA-256 of its rows as encoded.
    pub content_sha256: String,
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every region fetched and committed (and merged, when a merge was asked for).
    Complete,
    /// Some regions failed; the others were committed (and merged).
    Partial,
    /// Nothing new was committed: every region failed, or the commit did.
    Failed,
    /// The snapshot was committed to the lake (completely or partly), then the warehouse merge
    /// failed. The lake is safe; `trendlake merge` finishes the job.
    MergeFailed,
    /// Every region was committed and merged, then `run --report` could not write the date's
    /// report. The data is safe; `trendlake report` (or the next `run --report`) makes it.
    ReportFailed,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Complete => "complete",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
            Outcome::MergeFailed => "merge_failed",
            Outcome::ReportFailed => "report_failed",
        })
    }
}

impl Outcome {
    /// The run's process exit code (docs/operations.md, "Exit codes").
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Complete => 0,
            Outcome::Partial => 3,
            Outcome::Failed => 1,
            Outcome::MergeFailed => 4,
            Outcome::ReportFailed => 5,
        }
    }
}

impl RunReport {
    pub fn failed_regions(&self) -> impl Iterator<Item = &RegionReport> {
        self.regions.iter().filter(|r| r.error.is_some())
    }

    /// The charts the run fetched or tried to (a chart the API does not have is not one).
    pub fn charts_asked(&self) -> usize {
        self.regions
            .iter()
            .filter(|r| !r.status.is_no_chart())
            .count()
    }

    /// Category charts the API does not have (asked tonight or known from an earlier night).
    pub fn no_charts(&self) -> usize {
        self.regions.len() - self.charts_asked()
    }

    /// How the run ended. The data's outcome (regions, commit, merge) comes first: a failed
    /// report turns only a complete run into [`Outcome::ReportFailed`], since a partial run or a
    /// failed merge already needs attention and says so with its own code.
    pub fn outcome(&self) -> Outcome {
        let data = self.data_outcome();
        // Tracking never fails the night's charts, but a complete night whose tracking failed
        // (a fault, `quotaExceeded`) is partial: the exit code says something needs a look.
        let tracking_failed = matches!(
            self.tracking.status,
            TrackStatus::Partial | TrackStatus::Failed
        );
        // Likewise a region whose categories could not be listed: its charts were not asked.
        let categories_failed = self.categories.iter().any(|c| c.error.is_some());
        let data = if data == Outcome::Complete && (tracking_failed || categories_failed) {
            Outcome::Partial
        } else {
            data
        };
        let report_failed = self
            .report
            .as_ref()
            .is_some_and(|r| r.status == ReportStatus::Failed);
        if data == Outcome::Complete && report_failed {
            Outcome::ReportFailed
        } else {
            data
        }
    }

    /// How the run ended for the data: from the regions, the commit and the merge alone.
    fn data_outcome(&self) -> Outcome {
        let failed = self.failed_regions().count();
        let asked = self.charts_asked();
        let committed = self.commit_error.is_none() && failed < asked;
        // No chart asked for (`--only-missing` with nothing missing): the lake already holds
        // the date, so a failed merge leaves it as safe as after a commit.
        let nothing_asked = asked == 0 && self.commit_error.is_none();
        if self.merge.status == MergeStatus::Failed {
            if committed || nothing_asked {
                Outcome::MergeFailed
            } else {
                Outcome::Failed
            }
        } else if self.commit_error.is_some() {
            Outcome::Failed
        } else if failed == 0 {
            Outcome::Complete
        } else if failed < asked {
            Outcome::Partial
        } else {
            Outcome::Failed
        }
    }

    /// The exit code of [`RunReport::outcome`].
    pub fn exit_code(&self) -> u8 {
        self.outcome().exit_code()
    }

    /// One line for stderr: `2026-11-25: 8/9 regions ok, 1600 rows; failed: JP (quotaExceeded: …)`.
    pub fn summary(&self) -> String {
        if self.charts_asked() == 0 && self.commit_error.is_none() {
            let what = match self
                .regions_kept
                .iter()
                .any(|k| crate::chart::api_category(k).is_some())
            {
                true => "chart(s)",
                false => "region(s)",
            };
            return format!(
                "{}: nothing fetched; the snapshot holds {} {what}{}",
                self.snapshot_date,
                self.regions_kept.len(),
                match self.regions_kept.is_empty() {
                    true => String::new(),
                    false => format!(" ({})", self.regions_kept.join(",")),
                }
            );
        }
        let asked = self.charts_asked();
        let ok = asked - self.failed_regions().count();
        let categories = self
            .regions
            .iter()
            .any(|r| r.category != crate::chart::GENERAL);
        let mut line = if categories {
            format!(
                "{}: {ok}/{asked} charts ok ({} category charts the API does not have), {} rows committed, {} quota units",
                self.snapshot_date,
                self.no_charts(),
                self.rows_committed,
                self.quota_units
            )
        } else {
            format!(
                "{}: {ok}/{asked} regions ok, {} rows committed, {} quota units",
                self.snapshot_date, self.rows_committed, self.quota_units
            )
        };
        let categories_failed: Vec<&str> = self
            .categories
            .iter()
            .filter(|c| c.error.is_some())
            .map(|c| c.region.as_str())
            .collect();
        if !categories_failed.is_empty() {
            line.push_str(&format!(
                "; categories not listed for {} (their assignable charts were not asked)",
                categories_failed.join(",")
            ));
        }
        let failures: Vec<String> = self
            .failed_regions()
            .map(|r| {
                let e = r.error.as_ref().expect("failed region has an error");
                match e.page {
                    // Left out before any request: why, then what to do.
                    None => format!(
                        "{} {} ({}; {})",
                        r.chart(),
                        e.whereabouts(),
                        e.message,
                        e.advice
                    ),
                    Some(_) => format!(
                        "{} {} ({}: {}; {})",
                        r.chart(),
                        e.whereabouts(),
                        e.reason.as_deref().unwrap_or(e.kind.name()),
                        e.message,
                        e.advice
                    ),
                }
            })
            .collect();
        if !failures.is_empty() {
            line.push_str("; failed: ");
            line.push_str(&failures.join(", "));
        }
        if let Some(e) = &self.commit_error {
            line.push_str("; nothing committed: ");
            line.push_str(e);
        }
        if self.tracking.status != TrackStatus::Off {
            line.push_str("; ");
            line.push_str(&self.tracking.summary());
        }
        if let Some(e) = &self.merge.error {
            line.push_str("; merge failed: ");
            line.push_str(e);
        }
        line
    }

    /// The merge's line for stderr, once it is over.
    pub fn merge_summary(&self) -> String {
        let m = &self.merge;
        match m.status {
            MergeStatus::Merged => format!(
                "merged {} snapshot(s), {} chart entries{} into the warehouse{}",
                m.snapshots,
                m.rows,
                match m.tracked_rows {
                    0 => String::new(),
                    n => format!(", {n} tracked videos"),
                },
                removed_note(&m.removed)
            ),
            MergeStatus::UpToDate => "the warehouse was up to date".to_string(),
            MergeStatus::Failed if self.outcome() == Outcome::MergeFailed => format!(
                "merge failed: {}. The snapshot of {} is committed and safe in the lake; finish with `trendlake merge` (exit code 4)",
                m.error.as_deref().unwrap_or("unknown error"),
                self.snapshot_date
            ),
            MergeStatus::Failed => format!(
                "merge failed: {}; `trendlake merge` retries it",
                m.error.as_deref().unwrap_or("unknown error")
            ),
            MergeStatus::Skipped | MergeStatus::Pending => format!("merge {}", m.status),
        }
    }
}

/// `; removed 2 date(s) the lake no longer holds: 2026-11-20, 2026-11-21`, or nothing.
pub fn removed_note(removed: &[NaiveDate]) -> String {
    if removed.is_empty() {
        return String::new();
    }
    let dates: Vec<String> = removed.iter().map(NaiveDate::to_string).collect();
    format!(
        "; removed {} date(s) the lake no longer holds: {}",
        removed.len(),
        dates.join(", ")
    )
}

/// The run's id: a UUIDv7 from the run's clock and 74 random bits, so two runs started in the
/// same second on two hosts (PID 1 in both containers) never share one, nor a raw directory, nor a
/// run report; a replayed night (fixed clock) gets a new one too, since its pages are new.
fn run_id(clock: Clock) -> String {
    let now = clock.now();
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        now.timestamp().max(0) as u64,
        now.timestamp_subsec_nanos(),
    );
    uuid::Uuid::new_v7(ts).to_string()
}

/// The nightly job: fetch every region, archive the raw pages of the ones that succeeded and
/// commit them to the lake, then, with a `warehouse`, merge every snapshot not merged yet. Failed
/// regions never touch the lake: the previous file's data for them stays. The merge runs whatever
/// the snapshot's outcome, so a snapshot committed by an earlier run that stopped before its merge
/// is merged now.
///
/// The run report is written as soon as the commit is over, and `committed` is called with it
/// (the CLI prints the summary), before the merge, which can fail or be interrupted: whatever
/// happens after, the report and the summary say what is safe in the lake. The report is written
/// again when the merge ends. A failed commit or merge is recorded in the report, not returned as
/// an error.
pub async fn run(
    job: &SnapshotJob,
    lake: &Lake,
    warehouse: Option<&Path>,
    committed: impl FnOnce(&RunReport),
) -> Result<RunReport> {
    // A date whose files a newer trendlake wrote is refused before a request is spent.
    crate::commit::preflight(lake, job.date).await?;
    let fetcher = Fetcher::new(&job.client, job.fetch, job.clock);
    let mut report = fetch_and_commit(job, lake, &fetcher).await;
    // After the charts' commit, never before: tracking spends only what they left.
    let charts_in_lake =
        report.commit_error.is_none() && (report.file.is_some() || !report.regions_kept.is_empty());
    if job.track.days > 0 && charts_in_lake {
        let started = Instant::now();
        report.tracking =
            crate::track::track(&fetcher, lake, job.date, &report.run_id, &job.track).await;
        report.quota_units += report.tracking.quota_units;
        report.track_ms = started.elapsed().as_millis();
    }
    if warehouse.is_some() {
        report.merge = MergeSummary::pending();
    }
    write_report(job, lake, &mut report).await;
    committed(&report);
    if let Some(warehouse) = warehouse {
        let started = Instant::now();
        let merged = merge(lake, warehouse, None, job.clock).await;
        if let Err(e) = &merged {
            warn!(error = %e, "merge failed; the next run (or `trendlake merge`) merges what this one committed");
        }
        report.merge = MergeSummary::of(&merged);
        report.merge_ms = started.elapsed().as_millis();
        write_report(job, lake, &mut report).await;
    }
    Ok(report)
}

/// Write (or rewrite) the run report with the outcome so far. A report that cannot be written
/// (the store is down) is logged, not fatal: what was committed stays committed.
async fn write_report(job: &SnapshotJob, lake: &Lake, report: &mut RunReport) {
    report.finished_at = job.clock.now();
    report.outcome = report.outcome();
    report.exit_code = report.exit_code();
    let json = serde_json::to_vec_pretty(&*report).expect("report serialises");
    match lake.write_run_report(job.date, &report.run_id, json).await {
        Ok(path) => report.run_report_path = Some(path),
        Err(e) => {
            warn!(error = %e, "the run report could not be written");
            report.report_error = Some(e.to_string());
        }
    }
}

/// `run --report`: make the date's report from `warehouse` and publish it into the lake
/// (`_reports/`), record what happened in the run report and rewrite it. The data is committed
/// and merged by now; nothing here changes it. Not made when the merge failed (the warehouse
/// lacks the night) or the warehouse holds no snapshot of the date at all.
pub async fn report(job: &SnapshotJob, lake: &Lake, warehouse: &Path, run: &mut RunReport) {
    use crate::report::{ReportError, make_and_publish};
    let summary = |status, error: Option<String>| ReportSummary {
        status,
        path: None,
        index: None,
        error,
    };
    let made = if run.merge.status == MergeStatus::Failed {
        summary(
            ReportStatus::Skipped,
            Some("the merge failed, so the warehouse lacks this night".into()),
        )
    } else {
        match make_and_publish(lake, warehouse, Some(job.date)).await {
            Ok(p) => ReportSummary {
                status: ReportStatus::Written,
                path: Some(p.path),
                index: Some(p.index),
                error: None,
            },
            Err(e @ ReportError::NoSnapshot { .. }) => {
                summary(ReportStatus::Skipped, Some(e.to_string()))
            }
            Err(e) => summary(ReportStatus::Failed, Some(e.to_string())),
        }
    };
    if made.status == ReportStatus::Failed {
        warn!(
            error = made.error.as_deref(),
            "the report failed; the snapshot is committed and merged"
        );
    }
    run.report = Some(made);
    write_report(job, lake, run).await;
}

/// The regions `date`'s snapshot holds, for `--only-missing`. A snapshot that cannot be read is
/// first repaired as a run's commit would: moved aside, and its regions restored from the raw
/// pages its commit named; what cannot be restored is then missing, and fetched.
pub async fn present_regions(lake: &Lake, date: NaiveDate) -> Result<Vec<String>> {
    crate::commit::preflight(lake, date).await?;
    match lake.snapshot_regions(date).await {
        Err(crate::lake::LakeError::Corrupt { path, source }) => {
            let repaired = crate::commit::commit(lake, date, BTreeMap::new(), "repair").await?;
            warn!(
                %path, problem = %source, quarantined = repaired.quarantined.as_deref(),
                restored = ?repaired.regions_restored,
                "the snapshot in place cannot be read; moved it aside and restored its regions from raw pages"
            );
            Ok(lake.snapshot_regions(date).await?)
        }
        present => Ok(present?),
    }
}

/// [`run`] without a merge: fetch, commit, write the run report.
pub async fn snapshot(job: &SnapshotJob, lake: &Lake) -> Result<RunReport> {
    run(job, lake, None, |_| ()).await
}

/// Fetch and commit; the report of both, not written yet.
async fn fetch_and_commit(job: &SnapshotJob, lake: &Lake, fetcher: &Fetcher) -> RunReport {
    let started_at = job.clock.now();
    let started = Instant::now();
    let run_id = run_id(job.clock);
    // The general charts (less those `--only-missing` found in the snapshot).
    let general: Vec<String> = job
        .regions
        .iter()
        .filter(|r| !job.present.contains(r))
        .cloned()
        .collect();
    let (plan, mut fetched) = if job.fetch.quota_budget.is_some() || !job.categories.any() {
        // A budget admits charts in order, the general ones first: one list, after the plan.
        let plan = plan_charts(job, lake, fetcher).await;
        let charts: Vec<String> = general.iter().chain(&plan.charts).cloned().collect();
        let fetched = fetcher.charts(&charts).await;
        (plan, fetched)
    } else {
        // The general charts need no listing: they start with the regions' listings, under the
        // same bound, and the category charts follow as soon as their listing is in.
        let (general, (plan, categories)) = tokio::join!(fetcher.charts(&general), async {
            let plan = plan_charts(job, lake, fetcher).await;
            let fetched = fetcher.charts(&plan.charts).await;
            (plan, fetched)
        });
        (plan, general.into_iter().chain(categories).collect())
    };
    // Reported in one order whatever the order they were fetched in: every general chart in
    // the order of --regions, then the category charts, region by region, by id.
    fetched.sort_by_cached_key(|f| {
        let (region, category) = crate::chart::split(&f.region);
        let order = job.regions.iter().position(|r| r == region);
        match category.parse::<u32>() {
            Ok(id) => (1, order, id),
            // The general chart (`all`).
            Err(_) => (0, order, 0),
        }
    });
    let asked = fetched.len();
    let fetch_ms = started.elapsed().as_millis();

    let mut regions = Vec::with_capacity(fetched.len() + plan.known_missing.len());
    let mut batches = BTreeMap::new();
    let mut raw_pages = BTreeMap::new();
    let mut catalogue_charts = Vec::new();
    for f in fetched {
        let (region, category) = crate::chart::split(&f.region);
        let mut report = RegionReport {
            region: region.to_string(),
            category: category.to_string(),
            status: RegionStatus::Ok,
            last_asked: None,
            rows: 0,
            requests: f.requests,
            quota_units: f.quota_units,
            retries: f.retries,
            duplicates_dropped: f.duplicates_dropped,
            elapsed_ms: f.elapsed.as_millis(),
            source: None,
            error: None,
        };
        match f.outcome {
            Ok(batch) => {
                report.rows = batch.num_rows();
                raw_pages.insert(f.region.clone(), f.raw);
                batches.insert(f.region.clone(), batch);
            }
            // A category chart the API does not have: recorded, never a failure. Only its first
            // page says so; a chart refused after its first pages went away while it was paged.
            Err(e)
                if e.error.kind == ErrorKind::ChartNotFound
                    && e.page == 1
                    && report.category != crate::chart::GENERAL =>
            {
                report.status = RegionStatus::NoChart;
            }
            Err(e) => {
                report.status = RegionStatus::Failed;
                report.error = Some(RegionFailure::of(&e.error, (e.page > 0).then_some(e.page)));
            }
        }
        if let Some(category) = crate::chart::api_category(&f.region) {
            catalogue_charts.push(ChartEntry {
                region: region.to_string(),
                category: category.parse().expect("a category key is numeric"),
                status: match report.status {
                    RegionStatus::Ok => ChartStatus::Ok,
                    RegionStatus::NoChart => ChartStatus::NoChart,
                    _ => ChartStatus::Failed,
                },
                last_asked: None,
                rows: (report.status == RegionStatus::Ok).then_some(report.rows),
            });
        }
        regions.push(report);
    }
    for (key, last_asked) in &plan.known_missing {
        let (region, category) = crate::chart::split(key);
        regions.push(RegionReport {
            region: region.to_string(),
            category: category.to_string(),
            status: RegionStatus::KnownNoChart,
            last_asked: Some(*last_asked),
            rows: 0,
            requests: 0,
            quota_units: 0,
            retries: 0,
            duplicates_dropped: 0,
            elapsed_ms: 0,
            source: None,
            error: None,
        });
        catalogue_charts.push(ChartEntry {
            region: region.to_string(),
            category: category.parse().expect("a category key is numeric"),
            status: ChartStatus::KnownNoChart,
            last_asked: Some(*last_asked),
            rows: None,
        });
    }
    // What the night learned of its charts, before the commit: a chart the API does not have is
    // remembered even when the commit fails.
    let catalogue = if job.categories.any() {
        let catalogue = Catalogue {
            format: crate::catalogue::FORMAT,
            snapshot_date: job.date,
            run_id: run_id.clone(),
            written_at: job.clock.now(),
            categories: plan.listed,
            charts: catalogue_charts,
        };
        match crate::catalogue::write(lake, &catalogue).await {
            Ok(path) => Some(path),
            Err(e) => {
                warn!(error = %e, "the chart catalogue could not be written; the next night asks again for the charts the API does not have");
                None
            }
        }
    } else {
        None
    };

    let write_started = Instant::now();
    let mut commit_error = None;
    let (file, rows_committed, regions_kept) = if asked == 0 {
        // Nothing asked for (`--only-missing` found every region in the snapshot): the report
        // names what the snapshot already holds, which this run left as it was.
        (None, 0, regions_in_place(lake, job.date).await)
    } else if batches.is_empty() {
        (None, 0, Vec::new())
    } else {
        crate::pause::at("fetched").await;
        let rows: usize = batches.values().map(|b| b.num_rows()).sum();
        // The raw pages first, in this run's own directories: a committed region always has the
        // pages it came from, and a run that stops here changes nothing another commit names.
        let committed = match archive_raw(job, lake, &run_id, &batches, raw_pages).await {
            Ok(sources) => {
                crate::pause::at("raw_written").await;
                for report in regions.iter_mut() {
                    report.source = sources.get(&report.chart()).cloned();
                }
                let fetched = batches
                    .into_iter()
                    .map(|(region, batch)| {
                        let source = sources.get(&region).cloned();
                        (region, crate::commit::Region { batch, source })
                    })
                    .collect();
                crate::commit::commit(lake, job.date, fetched, &run_id).await
            }
            Err(e) => Err(e.into()),
        };
        match committed {
            Ok(commit) => {
                info!(path = %commit.path, rows = commit.rows, unchanged = commit.unchanged, "snapshot committed");
                crate::pause::at("committed").await;
                let file = FileReport {
                    path: commit.path,
                    bytes: commit.bytes,
                    unchanged: commit.unchanged,
                    content_sha256: commit.content_sha256,
                };
                (Some(file), rows, commit.regions_kept)
            }
            // The quota is spent: still write the report saying what was fetched and why
            // nothing was committed, then fail.
            Err(e) => {
                commit_error = Some(e.to_string());
                (None, 0, Vec::new())
            }
        }
    };
    // Regions fetched but not committed say so; the outcome is then a failure (exit 1).
    if commit_error.is_some() {
        for region in regions
            .iter_mut()
            .filter(|r| r.error.is_none() && !r.status.is_no_chart())
        {
            region.status = RegionStatus::NotCommitted;
        }
    }
    RunReport {
        run_id,
        snapshot_date: job.date,
        lake: lake.url().to_string(),
        started_at,
        finished_at: started_at,
        outcome: Outcome::Failed,
        exit_code: Outcome::Failed.exit_code(),
        quota_units: regions.iter().map(|r| r.quota_units).sum::<u32>()
            + plan.reports.iter().map(|c| c.quota_units).sum::<u32>(),
        rows_committed,
        regions,
        categories: plan.reports,
        catalogue,
        regions_kept,
        file,
        tracking: TrackReport::off(job.track.days),
        commit_error,
        merge: MergeSummary::skipped(),
        report: None,
        fetch_ms,
        write_ms: write_started.elapsed().as_millis(),
        track_ms: 0,
        merge_ms: 0,
        run_report_path: None,
        report_error: None,
    }
}

/// The category charts a night fetches, and what it learned deciding them.
struct ChartPlan {
    /// Keys to fetch, the longest charts (by their latest length) first, charts of unknown
    /// length before all: a long chart started last would keep the night waiting on its pages.
    charts: Vec<String>,
    /// Category charts not asked: the API had none when last asked (key → that night).
    known_missing: BTreeMap<String, NaiveDate>,
    /// Each region's categories as listed this night.
    listed: BTreeMap<String, Vec<CategoryEntry>>,
    reports: Vec<CategoriesReport>,
}

/// Decide the night's category charts: with `--categories`, list each region's categories (one
/// unit a region), then take the category charts asked for, less those the API had none of when
/// last asked within `--recheck-days` and those `--only-missing` found in the snapshot.
async fn plan_charts(job: &SnapshotJob, lake: &Lake, fetcher: &Fetcher) -> ChartPlan {
    let mut plan = ChartPlan {
        charts: Vec::new(),
        known_missing: BTreeMap::new(),
        listed: BTreeMap::new(),
        reports: Vec::new(),
    };
    if !job.categories.any() {
        return plan;
    }
    let recent = crate::catalogue::recent(lake, job.date, job.recheck_days)
        .await
        .unwrap_or_else(|e| {
            warn!(error = %e, "the chart catalogues could not be read; asking again for every category chart");
            crate::catalogue::Recent::default()
        });
    let known = &recent.missing;
    for fetched in fetcher.categories(&job.regions, None).await {
        let mut report = CategoriesReport {
            region: fetched.region.clone(),
            status: RegionStatus::Ok,
            categories: 0,
            assignable: 0,
            requests: fetched.requests,
            quota_units: fetched.quota_units,
            retries: fetched.retries,
            error: None,
        };
        let listed: Option<Vec<CategoryEntry>> = match fetched.outcome {
            Ok((response, _)) => Some(
                response
                    .items
                    .into_iter()
                    .filter_map(|c| {
                        let snippet = c.snippet?;
                        Some(CategoryEntry {
                            id: c.id.parse().ok()?,
                            title: crate::record::nfc(&snippet.title).into_owned(),
                            assignable: snippet.assignable,
                        })
                    })
                    .collect(),
            ),
            Err(e) => {
                report.status = RegionStatus::Failed;
                report.error = Some(RegionFailure::of(&e, None));
                None
            }
        };
        let wanted: Vec<u32> = match (&job.categories, &listed) {
            (Categories::List(ids), _) => ids.iter().copied().collect(),
            (Categories::Assignable, Some(listed)) => listed
                .iter()
                .filter(|c| c.assignable)
                .map(|c| c.id)
                .collect(),
            (Categories::Assignable, None) | (Categories::None, _) => Vec::new(),
        };
        if let Some(listed) = listed {
            report.categories = listed.len();
            report.assignable = listed.iter().filter(|c| c.assignable).count();
            plan.listed.insert(fetched.region.clone(), listed);
        }
        for id in wanted {
            let key = crate::chart::key(&fetched.region, &id.to_string());
            if job.present.contains(&key) {
                continue;
            }
            match known.get(&key) {
                Some(night) => {
                    plan.known_missing.insert(key, *night);
                }
                None => plan.charts.push(key),
            }
        }
        plan.reports.push(report);
    }
    // Stable: charts of one length keep their region-by-region order.
    plan.charts.sort_by_key(|key| {
        std::cmp::Reverse(
            recent
                .rows
                .get(key)
                .copied()
                .unwrap_or(crate::fetch::FULL_CHART),
        )
    });
    plan
}

/// The regions `date`'s snapshot holds, for the report of a run that fetched none; a snapshot
/// that cannot be read now is logged and listed as none (the run changed nothing of it).
async fn regions_in_place(lake: &Lake, date: NaiveDate) -> Vec<String> {
    lake.snapshot_regions(date).await.unwrap_or_else(|e| {
        warn!(error = %e, "the snapshot's regions could not be read for the run report");
        Vec::new()
    })
}

/// Archive the raw pages of every fetched region, a few regions at a time.
async fn archive_raw(
    job: &SnapshotJob,
    lake: &Lake,
    run_id: &str,
    batches: &BTreeMap<String, arrow::array::RecordBatch>,
    pages: BTreeMap<String, Vec<crate::raw::RawPage>>,
) -> std::result::Result<BTreeMap<String, crate::lake::Source>, crate::lake::LakeError> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(pages)
        .map(|(region, pages)| async move {
            let rows = batches.get(&region).map_or(0, |b| b.num_rows());
            let source = crate::raw::write_region(
                lake,
                job.date,
                run_id,
                &region,
                job.fetch.per_region,
                rows,
                &pages,
            )
            .await?;
            Ok::<_, crate::lake::LakeError>((region, source))
        })
        .buffer_unordered(4)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn region(name: &str, failed: bool) -> RegionReport {
        RegionReport {
            region: name.to_string(),
            category: crate::chart::GENERAL.into(),
            last_asked: None,
            status: if failed {
                RegionStatus::Failed
            } else {
                RegionStatus::Ok
            },
            rows: if failed { 0 } else { 200 },
            requests: 4,
            quota_units: 4,
            retries: 0,
            duplicates_dropped: 0,
            elapsed_ms: 10,
            source: None,
            error: failed.then(|| RegionFailure {
                page: Some(2),
                kind: ErrorKind::ChartNotFound,
                http_status: Some(404),
                reason: Some("notFound".into()),
                message: "Requested entity was not found.".into(),
                advice: ErrorKind::ChartNotFound.advice(),
            }),
        }
    }

    /// A report of `regions` (name, failed), with or without a commit and a merge error.
    fn report(regions: &[(&str, bool)], commit_error: bool, merge_error: bool) -> RunReport {
        let at = "2026-11-20T03:00:00Z".parse().unwrap();
        RunReport {
            run_id: "20261120T030000Z".into(),
            snapshot_date: "2026-11-20".parse().unwrap(),
            lake: "file:///lake".into(),
            started_at: at,
            finished_at: at,
            outcome: Outcome::Failed,
            exit_code: 1,
            quota_units: 0,
            rows_committed: 0,
            regions: regions.iter().map(|(r, f)| region(r, *f)).collect(),
            categories: Vec::new(),
            catalogue: None,
            regions_kept: Vec::new(),
            file: None,
            tracking: TrackReport::off(0),
            commit_error: commit_error.then(|| "lake object /lake/x: disk full".to_string()),
            report: None,
            merge: if merge_error {
                MergeSummary::of(&Err(Error::Usage("warehouse locked".into())))
            } else {
                MergeSummary::of(&Ok(MergeReport {
                    merged: vec![("2026-11-20".parse().unwrap(), 400)],
                    ..MergeReport::default()
                }))
            },
            fetch_ms: 0,
            write_ms: 0,
            track_ms: 0,
            merge_ms: 0,
            run_report_path: None,
            report_error: None,
        }
    }

    #[test]
    fn outcome_table() {
        use Outcome::*;
        let ok = [("JP", false), ("US", false)];
        let some = [("JP", false), ("US", true)];
        let all = [("JP", true), ("US", true)];
        for (regions, commit_error, merge_error, outcome, code) in [
            (&ok, false, false, Complete, 0),
            (&some, false, false, Partial, 3),
            (&all, false, false, Failed, 1),
            (&ok, true, false, Failed, 1),
            (&some, true, false, Failed, 1),
            // Committed, then the merge failed: the lake is safe, the exit code says so.
            (&ok, false, true, MergeFailed, 4),
            (&some, false, true, MergeFailed, 4),
            // Nothing committed and the merge failed too.
            (&all, false, true, Failed, 1),
            (&ok, true, true, Failed, 1),
        ] {
            let r = report(regions, commit_error, merge_error);
            let case =
                format!("{regions:?}, commit error {commit_error}, merge error {merge_error}");
            assert_eq!(r.outcome(), outcome, "{case}");
            assert_eq!(r.exit_code(), code, "{case}");
        }
        // No region asked for (nothing failed) is complete; its failed merge is exit 4, since
        // the lake holds the date already.
        assert_eq!(report(&[], false, false).outcome(), Complete);
        assert_eq!(report(&[], false, true).outcome(), MergeFailed);
        let mut kept = report(&[], false, false);
        kept.regions_kept = vec!["JP".into(), "US".into()];
        assert_eq!(
            kept.summary(),
            "2026-11-20: nothing fetched; the snapshot holds 2 region(s) (JP,US)"
        );

        // `run --report`: a failed report turns only a complete run into exit 5; a run that
        // already needs attention keeps its own code, and a skipped report changes nothing.
        let with_report = |regions: &[(&str, bool)], merge_error, status| {
            let mut r = report(regions, false, merge_error);
            r.report = Some(ReportSummary {
                status,
                path: None,
                index: None,
                error: Some("disk full".into()),
            });
            (r.outcome(), r.exit_code())
        };
        assert_eq!(
            with_report(&ok, false, ReportStatus::Failed),
            (ReportFailed, 5)
        );
        assert_eq!(
            with_report(&some, false, ReportStatus::Failed),
            (Partial, 3)
        );
        assert_eq!(
            with_report(&ok, true, ReportStatus::Skipped),
            (MergeFailed, 4)
        );
        assert_eq!(
            with_report(&ok, false, ReportStatus::Skipped),
            (Complete, 0)
        );
        assert_eq!(
            with_report(&ok, false, ReportStatus::Written),
            (Complete, 0)
        );
    }

    #[test]
    fn run_ids_never_collide_even_on_one_clock() {
        // Two containers started in the same second (PID 1 in both) share a clock; a replayed
        // night shares a fixed one. The ids differ all the same, and sort by time.
        let clock = Clock::Fixed("2026-11-20T03:00:00Z".parse().unwrap());
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(|_| run_id(clock)).collect();
        assert_eq!(ids.len(), 10_000);
        let id = uuid::Uuid::parse_str(ids.iter().next().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        let (secs, _) = id.get_timestamp().unwrap().to_unix();
        assert_eq!(secs, 1_795_143_600, "the clock's time is in the id");
        let later = run_id(Clock::Fixed("2026-11-21T03:00:00Z".parse().unwrap()));
        assert!(ids.iter().all(|id| *id < later), "ids sort by time");
    }

    #[test]
    fn merge_summaries() {
        let merged = MergeSummary::of(&Ok(MergeReport {
            merged: vec![
                ("2026-11-19".parse().unwrap(), 400),
                ("2026-11-20".parse().unwrap(), 600),
            ],
            up_to_date: 3,
            removed: Vec::new(),
            tracked: vec![("2026-11-20".parse().unwrap(), 120)],
            tracked_removed: Vec::new(),
        }));
        assert_eq!(
            (
                merged.status,
                merged.snapshots,
                merged.rows,
                merged.tracked_rows
            ),
            (MergeStatus::Merged, 2, 1000, 120)
        );
        // Tracked videos alone change the warehouse: merged, not up to date.
        let tracked_only = MergeSummary::of(&Ok(MergeReport {
            up_to_date: 3,
            tracked: vec![("2026-11-20".parse().unwrap(), 120)],
            ..MergeReport::default()
        }));
        assert_eq!(tracked_only.status, MergeStatus::Merged);
        let none = MergeSummary::of(&Ok(MergeReport {
            up_to_date: 3,
            ..MergeReport::default()
        }));
        assert_eq!(none.status, MergeStatus::UpToDate);
        assert_eq!(
            serde_json::to_value(MergeSummary::skipped()).unwrap(),
            serde_json::json!({"status": "skipped", "snapshots": 0, "rows": 0, "tracked_rows": 0})
        );
        let failed = MergeSummary::of(&Err(Error::Usage("boom".into())));
        assert_eq!(
            serde_json::to_value(failed).unwrap(),
            serde_json::json!({"status": "failed", "snapshots": 0, "rows": 0, "tracked_rows": 0, "error": "boom"})
        );
    }

    #[test]
    fn the_summary_names_failures_and_a_failed_merge() {
        let r = report(&[("JP", false), ("US", true)], false, true);
        assert_eq!(
            r.summary(),
            "2026-11-20: 1/2 regions ok, 0 rows committed, 0 quota units; \
             failed: US page 2 (notFound: Requested entity was not found.; \
             the API has no trending chart for this region; remove it from --regions); \
             merge failed: warehouse locked"
        );
    }

    #[test]
    fn a_region_left_out_by_the_quota_budget_is_not_fetched_not_page_0() {
        let mut r = report(&[("JP", false), ("US", true)], false, false);
        r.regions[1].error = Some(RegionFailure {
            page: None,
            kind: ErrorKind::BudgetExhausted,
            http_status: None,
            reason: None,
            message: "left out: --quota-budget 4 covers 1 of 2 regions at 4 units each".into(),
            advice: ErrorKind::BudgetExhausted.advice(),
        });
        assert_eq!(
            r.summary(),
            "2026-11-20: 1/2 regions ok, 0 rows committed, 0 quota units; \
             failed: US not fetched: quota budget (left out: --quota-budget 4 covers 1 of 2 \
             regions at 4 units each; raise --quota-budget, or run again with --only-missing to \
             fetch the regions left out)"
        );
        // The run report leaves the page out rather than saying 0.
        let json = serde_json::to_value(&r.regions[1]).unwrap();
        assert!(json["error"].get("page").is_none(), "{json}");
        assert_eq!(json["error"]["kind"], "budget_exhausted");
        assert_eq!(
            serde_json::to_value(&r.regions[0]).unwrap().get("error"),
            None
        );
    }

    #[test]
    fn statuses_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_value([
                RegionStatus::Ok,
                RegionStatus::Failed,
                RegionStatus::NotCommitted
            ])
            .unwrap(),
            serde_json::json!(["ok", "failed", "not_committed"])
        );
        assert_eq!(
            serde_json::to_value([
                Outcome::Complete,
                Outcome::Partial,
                Outcome::Failed,
                Outcome::MergeFailed
            ])
            .unwrap(),
            serde_json::json!(["complete", "partial", "failed", "merge_failed"])
        );
        // Display (logs) says what the report says.
        let same = |value: serde_json::Value, shown: String| assert_eq!(value, shown.as_str());
        for s in [
            RegionStatus::Ok,
            RegionStatus::Failed,
            RegionStatus::NotCommitted,
        ] {
            same(serde_json::to_value(s).unwrap(), s.to_string());
        }
        for o in [
            Outcome::Complete,
            Outcome::Partial,
            Outcome::Failed,
            Outcome::MergeFailed,
        ] {
            same(serde_json::to_value(o).unwrap(), o.to_string());
        }
        for m in [
            MergeStatus::Merged,
            MergeStatus::UpToDate,
            MergeStatus::Failed,
            MergeStatus::Skipped,
            MergeStatus::Pending,
        ] {
            same(serde_json::to_value(m).unwrap(), m.to_string());
        }
    }
}
