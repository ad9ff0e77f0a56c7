//! `trendlake check`: the lake verified on its own (every snapshot readable and of a known schema
//! version, row counts equal to the run reports, raw pages for every committed region, no stray
//! objects) and the warehouse against it (every lake date merged from the current file, row
//! counts equal, no date whose lake file is gone). Reads only; writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use chrono::NaiveDate;
use serde::Serialize;

use crate::error::Result;
use crate::lake::{Lake, LakeError};
use crate::warehouse::Warehouse;

const ENTRIES_PER_DATE: &str = include_str!("../sql/check/entries_per_date.sql");

/// What is wrong (stable serde names: scripts may match on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A snapshot file that cannot be read, or of a schema version this trendlake does not know.
    UnreadableSnapshot,
    /// A region's rows differ from what the newest run report committing it says.
    RowCountMismatch,
    /// A committed region with no complete raw pages (no manifest, or a page it names missing).
    RawMissing,
    /// Raw pages with no manifest: a write that was interrupted.
    RawIncomplete,
    /// Complete raw pages of a region the date's snapshot does not hold: a run stopped between
    /// archiving and committing.
    RawUncommitted,
    /// An object that is not part of the lake's layout (a staged file left by a crash, …).
    StrayObject,
    /// A file moved aside by a commit because it could not be read.
    Quarantined,
    /// No warehouse file while the lake has snapshots.
    WarehouseMissing,
    /// The warehouse cannot be opened or read.
    WarehouseUnreadable,
    /// A lake date the warehouse has not merged, or merged from an older file.
    NotMerged,
    /// The warehouse's chart entries of a date differ in number from the lake's rows.
    WarehouseRowCountMismatch,
    /// A warehouse date whose lake file is gone.
    OrphanDate,
}

impl ProblemKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::UnreadableSnapshot => "unreadable_snapshot",
            Self::RowCountMismatch => "row_count_mismatch",
            Self::RawMissing => "raw_missing",
            Self::RawIncomplete => "raw_incomplete",
            Self::RawUncommitted => "raw_uncommitted",
            Self::StrayObject => "stray_object",
            Self::Quarantined => "quarantined",
            Self::WarehouseMissing => "warehouse_missing",
            Self::WarehouseUnreadable => "warehouse_unreadable",
            Self::NotMerged => "not_merged",
            Self::WarehouseRowCountMismatch => "warehouse_row_count_mismatch",
            Self::OrphanDate => "orphan_date",
        }
    }
}

/// One problem: its kind, what it concerns (a path, or a date and region) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub subject: String,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.kind.name(), self.subject, self.detail)
    }
}

/// A region's line in a run report, as far as check needs it.
#[derive(Debug, serde::Deserialize)]
struct ReportedRegion {
    region: String,
    status: String,
    rows: usize,
}

#[derive(Debug, serde::Deserialize)]
struct Reported {
    started_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    commit_error: Option<String>,
    regions: Vec<ReportedRegion>,
}

/// Check the lake and the warehouse at `warehouse`; the problems found, in order.
pub async fn check(lake: &Lake, warehouse: &Path) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let objects = lake.list(&lake.path("")).await?;

    // Sort the objects into the layout.
    let mut snapshots = Vec::new();
    let mut reports: BTreeMap<NaiveDate, Vec<object_store::path::Path>> = BTreeMap::new();
    // (date, region) -> file names under raw/.
    let mut raw: BTreeMap<(NaiveDate, String), BTreeSet<String>> = BTreeMap::new();
    for meta in &objects {
        let shown = lake.display(&meta.location);
        let parts: Vec<String> = lake
            .relative(&meta.location)
            .unwrap_or_default()
            .iter()
            .map(|p| p.as_ref().to_string())
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let date = |p: &str| {
            p.strip_prefix("snapshot_date=")
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        match parts.as_slice() {
            ["videos", d, "videos.parquet"] if date(d).is_some() => {
                snapshots.push(date(d).expect("checked"));
            }
            ["raw", d, r, file]
                if date(d).is_some()
                    && r.starts_with("region=")
                    && (*file == "manifest.json"
                        || (file.starts_with("page-") && file.ends_with(".json.gz"))) =>
            {
                let region = r.trim_start_matches("region=").to_string();
                raw.entry((date(d).expect("checked"), region))
                    .or_default()
                    .insert(file.to_string());
            }
            ["_runs", d, file] if date(d).is_some() && file.ends_with(".json") => {
                reports
                    .entry(date(d).expect("checked"))
                    .or_default()
                    .push(meta.location.clone());
            }
            ["_quarantine", ..] => problems.push(Problem {
                kind: ProblemKind::Quarantined,
                subject: shown,
                detail:
                    "an unreadable snapshot moved aside by a commit; inspect it, then delete it"
                        .into(),
            }),
            // Local lock files come and go with commits.
            ["_locks", ..] => {}
            // `run --report`'s static site: each date's page and the index of them.
            ["_reports", "index.html"] => {}
            ["_reports", d, "report.html"] if date(d).is_some() => {}
            _ => problems.push(Problem {
                kind: ProblemKind::StrayObject,
                subject: shown,
                detail: "not part of the lake's layout; move it out of the lake".into(),
            }),
        }
    }
    if let Some(dir) = lake.local_dir() {
        staged_files(dir, dir, &mut problems);
    }

    // Each snapshot: readable, its regions' rows as reported, raw pages behind every region.
    let mut lake_rows: BTreeMap<NaiveDate, (usize, Option<String>, u64)> = BTreeMap::new();
    // (date, region) of every region a readable snapshot holds; an unreadable one's are unknown.
    let mut committed_owned: BTreeSet<(NaiveDate, String)> = BTreeSet::new();
    for date in snapshots {
        let path = lake.display(&lake.snapshot_path(date));
        let snapshot = match lake.read_snapshot(date).await {
            Ok(Some(s)) => s,
            Ok(None) => continue, // replaced between the listing and the read
            Err(LakeError::Corrupt { source, .. }) => {
                for ((d, region), _) in raw.range((date, String::new())..) {
                    if *d != date {
                        break;
                    }
                    committed_owned.insert((date, region.clone()));
                }
                problems.push(Problem {
                    kind: ProblemKind::UnreadableSnapshot,
                    subject: path,
                    detail: format!(
                        "{source}; the next run of {date} moves it aside and restores its regions from raw pages (or `trendlake rebuild --date {date}`)"
                    ),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let reported = reported_rows(lake, reports.get(&date)).await?;
        for (region, batch) in &snapshot.regions {
            committed_owned.insert((date, region.clone()));
            match reported.get(region) {
                Some(&rows) if rows != batch.num_rows() => problems.push(Problem {
                    kind: ProblemKind::RowCountMismatch,
                    subject: format!("{date} {region}"),
                    detail: format!(
                        "{} rows in {path}, the newest run report committing it says {rows}",
                        batch.num_rows()
                    ),
                }),
                Some(_) => {}
                None => problems.push(Problem {
                    kind: ProblemKind::RowCountMismatch,
                    subject: format!("{date} {region}"),
                    detail: format!(
                        "{} rows in {path}, but no run report under _runs/ says it was committed",
                        batch.num_rows()
                    ),
                }),
            }
            match raw.get(&(date, region.clone())) {
                Some(files) if files.contains("manifest.json") => {
                    let manifest = crate::raw::manifest(lake, date, region)
                        .await
                        .map_err(|e| crate::Error::Raw(Box::new(e)))?;
                    let missing: Vec<&str> = manifest
                        .iter()
                        .flat_map(|m| &m.pages)
                        .map(|p| p.file.as_str())
                        .filter(|f| !files.contains(*f))
                        .collect();
                    if !missing.is_empty() {
                        problems.push(Problem {
                            kind: ProblemKind::RawMissing,
                            subject: format!("{date} {region}"),
                            detail: format!(
                                "the raw manifest names {} that are not there; re-run the date to archive them again",
                                missing.join(", ")
                            ),
                        });
                    }
                }
                _ => problems.push(Problem {
                    kind: ProblemKind::RawMissing,
                    subject: format!("{date} {region}"),
                    detail: format!(
                        "no complete raw pages under raw/snapshot_date={date}/region={region}/; `rebuild` cannot restore it until a run of {date} archives them"
                    ),
                }),
            }
        }
        let rows = snapshot.regions.values().map(RecordBatch::num_rows).sum();
        lake_rows.insert(
            date,
            (rows, snapshot.meta.e_tag.clone(), snapshot.meta.size),
        );
    }
    let committed: BTreeSet<(NaiveDate, &str)> = committed_owned
        .iter()
        .map(|(d, r)| (*d, r.as_str()))
        .collect();
    for ((date, region), files) in &raw {
        if files.contains("manifest.json") {
            if !committed.contains(&(*date, region.as_str())) {
                problems.push(Problem {
                    kind: ProblemKind::RawUncommitted,
                    subject: format!("{date} {region}"),
                    detail: format!(
                        "complete raw pages, but the snapshot of {date} does not hold {region} (a run stopped before its commit); re-run the date, or `trendlake rebuild --date {date}`"
                    ),
                });
            }
        } else {
            problems.push(Problem {
                kind: ProblemKind::RawIncomplete,
                subject: format!("{date} {region}"),
                detail: format!(
                    "{} raw page(s) without a manifest (a run stopped while archiving); the next run of {date} for {region} replaces them",
                    files.len()
                ),
            });
        }
    }

    check_warehouse(warehouse, &lake_rows, &mut problems).await?;
    problems.sort();
    Ok(problems)
}

/// For each region, the rows of the newest run report (by start) that committed it.
async fn reported_rows(
    lake: &Lake,
    reports: Option<&Vec<object_store::path::Path>>,
) -> Result<BTreeMap<String, usize>> {
    let mut newest: BTreeMap<String, (chrono::DateTime<chrono::Utc>, usize)> = BTreeMap::new();
    for path in reports.into_iter().flatten() {
        let Some(bytes) = lake.get(path).await? else {
            continue;
        };
        // A report of another shape (a future version, a hand-written file) says nothing here.
        let Ok(report) = serde_json::from_slice::<Reported>(&bytes) else {
            continue;
        };
        if report.commit_error.is_some() {
            continue;
        }
        for r in report.regions.into_iter().filter(|r| r.status == "ok") {
            let entry = newest
                .entry(r.region)
                .or_insert((report.started_at, r.rows));
            if report.started_at >= entry.0 {
                *entry = (report.started_at, r.rows);
            }
        }
    }
    Ok(newest.into_iter().map(|(k, (_, rows))| (k, rows)).collect())
}

/// Files LocalFileSystem stages before renaming them into place (`name#123`): one left behind
/// means a process died mid-write. They are invisible to object_store's listing.
fn staged_files(root: &Path, dir: &Path, problems: &mut Vec<Problem>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            staged_files(root, &path, problems);
            continue;
        }
        if crate::lake::is_staged(&entry.file_name().to_string_lossy()) {
            problems.push(Problem {
                kind: ProblemKind::StrayObject,
                subject: path.display().to_string(),
                detail: format!(
                    "a staged write left by a process that stopped before renaming it into place (under {}); the next run of its date removes it, or delete it",
                    root.display()
                ),
            });
        }
    }
}

/// The warehouse against the lake's dates: (rows, etag, size) per date.
async fn check_warehouse(
    path: &Path,
    lake_rows: &BTreeMap<NaiveDate, (usize, Option<String>, u64)>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let shown = path.display().to_string();
    if !path.exists() {
        if !lake_rows.is_empty() {
            problems.push(Problem {
                kind: ProblemKind::WarehouseMissing,
                subject: shown,
                detail: format!(
                    "the lake has {} snapshot(s) and there is no warehouse; run `trendlake merge`",
                    lake_rows.len()
                ),
            });
        }
        return Ok(());
    }
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || {
        let wh = Warehouse::open_read_only(&owned)?;
        let merged = wh.merged_snapshots()?;
        let counts = wh.query(ENTRIES_PER_DATE, &[])?;
        Ok::<_, crate::warehouse::WarehouseError>((merged, counts))
    })
    .await
    .expect("reading the warehouse does not panic");
    let (merged, counts) = match read {
        Ok(read) => read,
        Err(e) => {
            problems.push(Problem {
                kind: ProblemKind::WarehouseUnreadable,
                subject: shown,
                detail: e.to_string(),
            });
            return Ok(());
        }
    };
    let mut entries: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for batch in &counts {
        let dates = batch.column(0).as_string::<i32>();
        let n = batch
            .column(1)
            .as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..batch.num_rows() {
            if let Ok(d) = NaiveDate::parse_from_str(dates.value(i), "%Y-%m-%d") {
                entries.insert(d, n.value(i));
            }
        }
    }
    for (date, (rows, etag, size)) in lake_rows {
        match merged.iter().find(|m| m.date == *date) {
            None => problems.push(Problem {
                kind: ProblemKind::NotMerged,
                subject: date.to_string(),
                detail: "in the lake, not in the warehouse; run `trendlake merge`".into(),
            }),
            Some(m) if &m.etag != etag || m.size != *size => problems.push(Problem {
                kind: ProblemKind::NotMerged,
                subject: date.to_string(),
                detail: "the lake file changed since it was merged; run `trendlake merge`".into(),
            }),
            Some(_) => {
                let held = entries.get(date).copied().unwrap_or(0);
                if held != *rows as i64 {
                    problems.push(Problem {
                        kind: ProblemKind::WarehouseRowCountMismatch,
                        subject: date.to_string(),
                        detail: format!(
                            "{held} chart entries in the warehouse, {rows} rows in the lake; run `trendlake merge --date {date}`"
                        ),
                    });
                }
            }
        }
    }
    let lake_dates: BTreeSet<&NaiveDate> = lake_rows.keys().collect();
    let wh_dates: BTreeSet<NaiveDate> = merged
        .iter()
        .map(|m| m.date)
        .chain(entries.keys().copied())
        .collect();
    for date in wh_dates.iter().filter(|d| !lake_dates.contains(d)) {
        problems.push(Problem {
            kind: ProblemKind::OrphanDate,
            subject: date.to_string(),
            detail: "in the warehouse, but the lake has no snapshot of it; restore the lake file (or `trendlake rebuild --date D`), or build a fresh warehouse from the lake".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_kinds_keep_their_names() {
        for kind in [
            ProblemKind::UnreadableSnapshot,
            ProblemKind::RowCountMismatch,
            ProblemKind::RawMissing,
            ProblemKind::RawIncomplete,
            ProblemKind::RawUncommitted,
            ProblemKind::StrayObject,
            ProblemKind::Quarantined,
            ProblemKind::WarehouseMissing,
            ProblemKind::WarehouseUnreadable,
            ProblemKind::NotMerged,
            ProblemKind::WarehouseRowCountMismatch,
            ProblemKind::OrphanDate,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }

    #[test]
    fn staged_files_are_found_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("videos/snapshot_date=2026-11-20");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("videos.parquet#17"), b"x").unwrap();
        std::fs::write(sub.join("videos.parquet"), b"x").unwrap();
        std::fs::write(sub.join("notes#draft"), b"x").unwrap();
        let mut problems = Vec::new();
        staged_files(dir.path(), dir.path(), &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].subject.ends_with("videos.parquet#17"));
        assert_eq!(problems[0].kind, ProblemKind::StrayObject);
    }
}
