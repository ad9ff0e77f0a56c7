//! The nightly job's stages wired together: snapshot (fetch → records → lake) and merge
//! (lake → warehouse), with the run report that says what happened to every region.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::info;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::fetch::{FetchOptions, fetch_all};
use crate::lake::Lake;
use crate::warehouse::{SourceFile, Warehouse};
use crate::youtube::Client;

/// Everything `snapshot` needs.
#[derive(Debug, Clone)]
pub struct SnapshotJob {
    pub client: Client,
    pub regions: Vec<String>,
    pub fetch: FetchOptions,
    pub date: NaiveDate,
    pub clock: Clock,
}

/// One region's line in the run report.
#[derive(Debug, Clone, Serialize)]
pub struct RegionReport {
    pub region: String,
    /// `ok` or `failed`.
    pub status: &'static str,
    pub rows: usize,
    pub requests: u32,
    /// Requests that were retries of a transient fault.
    pub retries: u32,
    /// Items dropped because the API repeated an id across pages.
    pub duplicates_dropped: usize,
    pub elapsed_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionFailure {
    pub page: usize,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub message: String,
    pub advice: String,
}

/// The run report written to `_runs/snapshot_date=D/<run-id>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub snapshot_date: NaiveDate,
    pub started_at: DateTime<Utc>,
    pub lake: String,
    pub regions: Vec<RegionReport>,
    /// Quota units spent: one per `videos.list` call, failed calls included.
    pub quota_units: u32,
    pub rows_committed: usize,
    /// Regions of an earlier run of this date that this run left as they were.
    pub regions_kept: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileReport>,
    pub fetch_ms: u128,
    pub write_ms: u128,
    /// Why nothing was committed although regions were fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub bytes: usize,
    /// Identical to the file already there, so not rewritten.
    pub unchanged: bool,
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every region fetched and committed.
    Complete,
    /// Some regions failed; the others were committed.
    Partial,
    /// Nothing new was committed.
    Failed,
}

impl RunReport {
    pub fn failed_regions(&self) -> impl Iterator<Item = &RegionReport> {
        self.regions.iter().filter(|r| r.error.is_some())
    }

    pub fn outcome(&self) -> Outcome {
        let failed = self.failed_regions().count();
        if self.commit_error.is_some() {
            Outcome::Failed
        } else if failed == 0 {
            Outcome::Complete
        } else if failed < self.regions.len() {
            Outcome::Partial
        } else {
            Outcome::Failed
        }
    }

    /// One line for stderr: `2026-11-25: 8/9 regions ok, 1600 rows; failed: JP (quotaExceeded: …)`.
    pub fn summary(&self) -> String {
        let ok = self.regions.len() - self.failed_regions().count();
        let mut line = format!(
            "{}: {ok}/{} regions ok, {} rows committed, {} quota units",
            self.snapshot_date,
            self.regions.len(),
            self.rows_committed,
            self.quota_units
        );
        let failures: Vec<String> = self
            .failed_regions()
            .map(|r| {
                let e = r.error.as_ref().expect("failed region has an error");
                format!(
                    "{} page {} ({}: {}; {})",
                    r.region,
                    e.page,
                    e.reason.as_deref().unwrap_or(&e.kind),
                    e.message,
                    e.advice
                )
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
        line
    }
}

/// The run's id: its start time, plus the process id for real runs (two runs in one second
/// get two reports); a simulated night (fixed clock) has one id, so a replay rewrites its report.
fn run_id(clock: Clock) -> String {
    let time = clock.now().format("%Y%m%dT%H%M%SZ");
    match clock {
        Clock::System => format!("{time}-{}", std::process::id()),
        Clock::Fixed(_) => time.to_string(),
    }
}

/// Fetch every region, commit the ones that succeeded to the lake, write the run report.
/// Failed regions never touch the lake: the previous file's data for them stays.
pub async fn snapshot(job: &SnapshotJob, lake: &Lake) -> Result<RunReport> {
    let started_at = job.clock.now();
    let started = Instant::now();
    let fetched = fetch_all(&job.client, &job.regions, job.fetch, job.clock).await;
    let fetch_ms = started.elapsed().as_millis();

    let mut regions = Vec::with_capacity(fetched.len());
    let mut batches = BTreeMap::new();
    for f in fetched {
        let mut report = RegionReport {
            region: f.region.clone(),
            status: "ok",
            rows: 0,
            requests: f.requests,
            retries: f.retries,
            duplicates_dropped: f.duplicates_dropped,
            elapsed_ms: f.elapsed.as_millis(),
            error: None,
        };
        match f.outcome {
            Ok(batch) => {
                report.rows = batch.num_rows();
                batches.insert(f.region, batch);
            }
            Err(e) => {
                report.status = "failed";
                report.error = Some(RegionFailure {
                    page: e.page,
                    kind: format!("{:?}", e.error.kind),
                    http_status: e.error.status,
                    reason: e.error.reason.clone(),
                    message: e.error.message.clone(),
                    advice: e.error.kind.advice(),
                });
            }
        }
        regions.push(report);
    }

    let write_started = Instant::now();
    let mut commit_error = None;
    let (file, rows_committed, regions_kept) = if batches.is_empty() {
        (None, 0, Vec::new())
    } else {
        let rows: usize = batches.values().map(|b| b.num_rows()).sum();
        match lake.commit_snapshot(job.date, batches).await {
            Ok(commit) => {
                info!(path = %commit.path, rows = commit.rows, unchanged = commit.unchanged, "snapshot committed");
                let file = FileReport {
                    path: commit.path,
                    bytes: commit.bytes,
                    unchanged: commit.unchanged,
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
    let mut report = RunReport {
        run_id: run_id(job.clock),
        snapshot_date: job.date,
        started_at,
        lake: lake.url().to_string(),
        quota_units: regions.iter().map(|r| r.requests).sum(),
        regions,
        rows_committed,
        regions_kept,
        file,
        fetch_ms,
        write_ms: write_started.elapsed().as_millis(),
        report_path: None,
        commit_error,
    };
    // Regions fetched but not committed say so; the outcome is then a failure (exit 1).
    if report.commit_error.is_some() {
        for region in report.regions.iter_mut().filter(|r| r.error.is_none()) {
            region.status = "not_committed";
        }
    }
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    report.report_path = Some(
        lake.write_run_report(job.date, &report.run_id, json)
            .await?,
    );
    Ok(report)
}

/// What a merge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MergeReport {
    /// (date, rows) of each snapshot merged.
    pub merged: Vec<(NaiveDate, usize)>,
    /// Snapshots already merged and unchanged since.
    pub up_to_date: usize,
}

/// Merge into the warehouse every lake snapshot not merged yet or changed since it was merged;
/// with `only`, that date alone, whether or not it changed.
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
    // even opened for writing (its file stays byte-identical).
    let path: PathBuf = warehouse.to_path_buf();
    let merged = tokio::task::spawn_blocking(move || match path.exists() {
        true => Warehouse::open_read_only(&path)?.merged_snapshots(),
        false => Ok(Vec::new()),
    })
    .await
    .expect("reading merged snapshots does not panic")?;
    let mut report = MergeReport::default();
    let mut pending = Vec::new();
    for file in files {
        let done = merged
            .iter()
            .any(|m| m.date == file.date && m.etag == file.meta.e_tag && m.size == file.meta.size);
        if only.is_some_and(|d| d != file.date) {
            continue;
        }
        if done && only.is_none() {
            report.up_to_date += 1;
        } else {
            pending.push(file);
        }
    }
    if pending.is_empty() {
        return Ok(report);
    }
    let path: PathBuf = warehouse.to_path_buf();
    let mut wh = tokio::task::spawn_blocking(move || Warehouse::open(&path))
        .await
        .expect("warehouse open does not panic")?;
    for file in pending {
        let Some(snapshot) = lake.read_snapshot(file.date).await? else {
            continue; // deleted between listing and reading
        };
        let date = file.date;
        let path = format!("{}", snapshot.meta.location);
        let etag = snapshot.meta.e_tag.clone();
        let size = snapshot.meta.size;
        let merged_at = clock.now();
        let (returned, rows) = tokio::task::spawn_blocking(move || {
            let source = SourceFile {
                path: &path,
                etag: etag.as_deref(),
                size,
            };
            let rows = wh.merge_snapshot(date, source, snapshot.regions.into_values(), merged_at);
            (wh, rows)
        })
        .await
        .expect("merge does not panic");
        wh = returned;
        let rows = rows?;
        info!(%date, rows, "snapshot merged");
        report.merged.push((date, rows));
    }
    Ok(report)
}
