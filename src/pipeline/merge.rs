//! The merge stage: every lake snapshot not merged yet (or changed since) into the warehouse.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use tracing::info;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::warehouse::{SourceFile, Warehouse};

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
