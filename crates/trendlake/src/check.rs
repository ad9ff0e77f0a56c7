//! `trendlake check`: the lineage verified link by link. The lake on its own: every snapshot
//! readable, each region's rows as its run report says, each region bound to the raw pages its
//! commit names (manifest present with the recorded SHA-256 and row count, every page it lists
//! there), every committed file recorded under `_commits/`, no stray objects. The warehouse
//! against it: every lake date merged from the same content, row counts equal, no date whose
//! snapshot is gone. Reads only, unless asked to prune.
//!
//! Besides problems, it finds what no commit names any more (a run's pages that died or lost its
//! commit, or were superseded by a re-run; commit records of replaced files; `forget`'s trash):
//! not a fault, so not a problem, but `check --prune` removes them once older than a grace
//! period, so that a run in flight is never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::AsArray;
use chrono::{DateTime, NaiveDate, Utc};
use object_store::ObjectMeta;
use object_store::path::Path as StorePath;
use serde::Serialize;

use crate::commit::{self, CommitRecord};
use crate::error::Result;
use crate::lake::{Lake, LakeError, Listed, Source, partition_date};
use crate::raw::RawKey;
use crate::warehouse::Warehouse;

const ENTRIES_PER_DATE: &str = include_str!("../../../sql/check/entries_per_date.sql");

/// What is wrong (stable serde names: scripts may match on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A snapshot file that cannot be read (torn, foreign, damaged rows).
    UnreadableSnapshot,
    /// A region's rows differ from what the newest run report committing it says.
    RowCountMismatch,
    /// A committed region with no complete raw pages (no manifest, or a page it names missing).
    RawMissing,
    /// A committed region whose named manifest is not the one its commit recorded (another
    /// SHA-256, or another row count): its raw pages were replaced or damaged.
    LineageMismatch,
    /// A committed file with no commit record (a run stopped right after its put).
    CommitUnrecorded,
    /// Raw pages of a region with no manifest: a write that was interrupted.
    RawIncomplete,
    /// Complete raw pages of a date nothing was ever committed for: a run stopped between
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
    /// A lake date the warehouse has not merged, or merged from other content.
    NotMerged,
    /// The warehouse's chart entries of a date differ in number from the lake's rows.
    WarehouseRowCountMismatch,
    /// A warehouse date whose lake file is gone.
    OrphanDate,
    /// A category chart the night's chart catalogue says was fetched and committed, which the
    /// date's snapshot lacks (not a chart the API does not have: those are listed apart).
    ChartMissing,
    /// A chart catalogue (`_charts/`) that cannot be read.
    UnreadableCatalogue,
}

impl ProblemKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::UnreadableSnapshot => "unreadable_snapshot",
            Self::RowCountMismatch => "row_count_mismatch",
            Self::RawMissing => "raw_missing",
            Self::LineageMismatch => "lineage_mismatch",
            Self::CommitUnrecorded => "commit_unrecorded",
            Self::RawIncomplete => "raw_incomplete",
            Self::RawUncommitted => "raw_uncommitted",
            Self::StrayObject => "stray_object",
            Self::Quarantined => "quarantined",
            Self::WarehouseMissing => "warehouse_missing",
            Self::WarehouseUnreadable => "warehouse_unreadable",
            Self::NotMerged => "not_merged",
            Self::WarehouseRowCountMismatch => "warehouse_row_count_mismatch",
            Self::OrphanDate => "orphan_date",
            Self::ChartMissing => "chart_missing",
            Self::UnreadableCatalogue => "unreadable_catalogue",
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

/// What no commit names any more (stable serde names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanKind {
    /// A run's raw pages of a region that the date's commit does not name.
    RawRun,
    /// The commit record of a file since replaced.
    CommitRecord,
    /// A folder `forget` moved aside.
    Trash,
}

/// Objects no commit names, removable by `check --prune` once all are older than the grace.
#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub kind: OrphanKind,
    /// Where it is (a folder or an object, as the user can find it).
    pub subject: String,
    pub bytes: u64,
    /// When its newest object was written (trash: when it was moved aside).
    pub newest: DateTime<Utc>,
    #[serde(skip)]
    objects: Vec<StorePath>,
    /// Files a killed run left staged in a local lake's orphaned directory.
    #[serde(skip)]
    staged: Vec<std::path::PathBuf>,
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub orphans: Vec<Orphan>,
    /// Category charts the API did not have on a night (by the night's latest chart catalogue):
    /// not missing snapshots, so not problems.
    pub no_chart: Vec<NoChart>,
}

/// A category chart the API did not have on a night (stable serde names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NoChart {
    pub snapshot_date: NaiveDate,
    pub region: String,
    pub category: u32,
    /// `no_chart` (asked that night) or `known_no_chart` (not asked: none when last asked).
    pub status: crate::catalogue::ChartStatus,
}

/// What `check --prune` removed and kept.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub bytes: u64,
    /// Orphans younger than the grace period, left for a later prune.
    pub kept: usize,
}

/// A region's line in a run report, as far as check needs it.
#[derive(Debug, serde::Deserialize)]
struct ReportedRegion {
    region: String,
    /// Absent in reports written before category charts: the general chart.
    #[serde(default)]
    category: Option<String>,
    status: String,
    rows: usize,
}

#[derive(Debug, serde::Deserialize)]
struct Reported {
    started_at: DateTime<Utc>,
    #[serde(default)]
    commit_error: Option<String>,
    regions: Vec<ReportedRegion>,
}

/// The raw objects of one date and region: the legacy files in the region's own directory, and
/// each run's files.
#[derive(Debug, Default)]
struct RawRegion {
    legacy: BTreeMap<String, ObjectMeta>,
    runs: BTreeMap<String, BTreeMap<String, ObjectMeta>>,
    /// Files a killed run left staged (`page-2.json.gz#123`, a local lake), by run (`None`: the
    /// region's own directory): invisible to listings, removed with their run's pages.
    staged: BTreeMap<Option<String>, Vec<std::path::PathBuf>>,
}

/// Check the lake and the warehouse at `warehouse`.
pub async fn check(lake: &Lake, warehouse: &Path) -> Result<Report> {
    let mut report = Report::default();
    let problems = &mut report.problems;
    let objects = lake.list_under("").await?;

    // Sort the objects into the layout.
    let mut snapshots = Vec::new();
    let mut reports: BTreeMap<NaiveDate, Vec<StorePath>> = BTreeMap::new();
    let mut raw: BTreeMap<(NaiveDate, String), RawRegion> = BTreeMap::new();
    let mut records: BTreeMap<NaiveDate, Vec<ObjectMeta>> = BTreeMap::new();
    let mut trash: BTreeMap<String, Vec<ObjectMeta>> = BTreeMap::new();
    // The tracking stage's files: each date's `tracked` file, and each run's lookups.
    let mut tracked_dates = Vec::new();
    let mut lookups: BTreeMap<(NaiveDate, String), Vec<ObjectMeta>> = BTreeMap::new();
    let mut catalogue_dates = BTreeSet::new();
    for Listed { parts, meta } in &objects {
        let shown = lake.display(&meta.location);
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        if let Some(key) = RawKey::parse(&parts) {
            let region = raw.entry((key.date, key.region)).or_default();
            let files = match key.run {
                Some(run) => region.runs.entry(run).or_default(),
                None => &mut region.legacy,
            };
            files.insert(key.file, meta.clone());
            continue;
        }
        match parts.as_slice() {
            ["videos", d, "videos.parquet"] if partition_date(d).is_some() => {
                snapshots.push(partition_date(d).expect("checked"));
            }
            ["tracked", d, "tracked.parquet"] if partition_date(d).is_some() => {
                tracked_dates.push(partition_date(d).expect("checked"));
            }
            ["raw", d, "tracked", run, _]
                if partition_date(d).is_some() && run.starts_with("run=") =>
            {
                lookups
                    .entry((partition_date(d).expect("checked"), run[4..].to_string()))
                    .or_default()
                    .push(meta.clone());
            }
            ["_commits", d, file] if partition_date(d).is_some() && file.ends_with(".json") => {
                records
                    .entry(partition_date(d).expect("checked"))
                    .or_default()
                    .push(meta.clone());
            }
            ["_charts", d, file] if partition_date(d).is_some() && file.ends_with(".json") => {
                catalogue_dates.insert(partition_date(d).expect("checked"));
            }
            ["_runs", d, file] if partition_date(d).is_some() && file.ends_with(".json") => {
                reports
                    .entry(partition_date(d).expect("checked"))
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
            ["_trash", folder, _, ..] => {
                trash
                    .entry(folder.to_string())
                    .or_default()
                    .push(meta.clone());
            }
            // Local lock files come and go with commits.
            ["_locks", ..] => {}
            // `run --report`'s static site: each date's page and the index of them.
            ["_reports", "index.html"] => {}
            ["_reports", d, "report.html"] if partition_date(d).is_some() => {}
            _ => problems.push(Problem {
                kind: ProblemKind::StrayObject,
                subject: shown,
                detail: "not part of the lake's layout; move it out of the lake".into(),
            }),
        }
    }
    if let Some(dir) = lake.local_dir() {
        // A staged file in a run's raw directory belongs to that run (an orphan, since a commit
        // names only complete pages); anywhere else it is stray.
        let mut staged = Vec::new();
        staged_files(dir, &mut staged);
        for path in staged {
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if let Some(name) = parts.last_mut()
                && let Some((unstaged, _)) = name.rsplit_once('#')
            {
                *name = unstaged.to_string();
            }
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            match RawKey::parse(&parts) {
                Some(key) => raw
                    .entry((key.date, key.region))
                    .or_default()
                    .staged
                    .entry(key.run)
                    .or_default()
                    .push(path),
                None => problems.push(Problem {
                    kind: ProblemKind::StrayObject,
                    subject: path.display().to_string(),
                    detail: format!(
                        "a staged write left by a process that stopped before renaming it into place (under {}); the next run of its date removes it, or delete it",
                        dir.display()
                    ),
                }),
            }
        }
    }

    // Each snapshot: readable, its regions' rows as reported, bound to the pages it names.
    let mut lake_rows: BTreeMap<NaiveDate, (usize, String)> = BTreeMap::new();
    // Per date, the sources its commit names (from the file, else its newest record).
    // (region → manifest, relative to the lake's root).
    let mut named: BTreeMap<NaiveDate, BTreeMap<String, String>> = BTreeMap::new();
    // Per date, the record of the file in place (its content digest).
    let mut current_record: BTreeMap<NaiveDate, String> = BTreeMap::new();
    for date in snapshots {
        let path = lake.display(&lake.snapshot_path(date));
        let snapshot = match lake.read_snapshot(date).await {
            Ok(Some(s)) => s,
            Ok(None) => continue, // replaced between the listing and the read
            Err(LakeError::Corrupt { source, .. }) => {
                problems.push(Problem {
                    kind: ProblemKind::UnreadableSnapshot,
                    subject: path,
                    detail: format!(
                        "{source}; `trendlake rebuild --date {date}` moves it aside and restores its regions from the raw pages its commit named"
                    ),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let reported = reported_rows(lake, reports.get(&date)).await?;
        if catalogue_dates.contains(&date) {
            check_charts(
                lake,
                date,
                &snapshot.regions,
                &mut report.no_chart,
                problems,
            )
            .await?;
        }
        for (region, batch) in &snapshot.regions {
            let rows = batch.num_rows();
            let subject = format!("{date} {region}");
            match reported.get(region) {
                Some(&said) if said != rows => problems.push(Problem {
                    kind: ProblemKind::RowCountMismatch,
                    subject: subject.clone(),
                    detail: format!(
                        "{rows} rows in {path}, the newest run report committing it says {said}"
                    ),
                }),
                Some(_) => {}
                None => problems.push(Problem {
                    kind: ProblemKind::RowCountMismatch,
                    subject: subject.clone(),
                    detail: format!(
                        "{rows} rows in {path}, but no run report under _runs/ says it was committed"
                    ),
                }),
            }
            let files = raw.get(&(date, region.clone()));
            match snapshot.lineage.get(region) {
                Some(source) => {
                    verify_source(lake, date, region, source, rows, files, problems).await?
                }
                None => verify_legacy(date, region, files, problems),
            }
        }
        current_record.insert(date, snapshot.content_sha256.clone());
        let recorded = records.get(&date).is_some_and(|metas| {
            metas.iter().any(|m| {
                m.location.filename() == Some(&format!("{}.json", snapshot.content_sha256))
            })
        });
        // (A file written before commits were recorded has none, and needs none: its regions'
        // own manifests are its sources.)
        if snapshot.recorded && !recorded {
            problems.push(Problem {
                kind: ProblemKind::CommitUnrecorded,
                subject: path.clone(),
                detail: format!(
                    "no commit record _commits/snapshot_date={date}/{}.json (a run stopped right after its commit); `trendlake rebuild --date {date}` or the next run of the date records it",
                    snapshot.content_sha256
                ),
            });
        }
        // A region without a recorded source (a file written before lineage) is named by its
        // region's own manifest.
        let names = snapshot
            .regions
            .keys()
            .map(|region| {
                let manifest = match snapshot.lineage.get(region) {
                    Some(source) => source.manifest.clone(),
                    None => crate::raw::legacy_manifest(date, region),
                };
                (region.clone(), manifest)
            })
            .collect();
        named.insert(date, names);
        let rows = snapshot.regions.values().map(|b| b.num_rows()).sum();
        lake_rows.insert(date, (rows, snapshot.content_sha256));
    }

    // Dates whose file cannot be read or is gone: their newest record names their pages.
    let unnamed: BTreeSet<NaiveDate> = records
        .keys()
        .chain(raw.keys().map(|(d, _)| d))
        .filter(|d| !named.contains_key(d))
        .copied()
        .collect();
    for date in unnamed {
        let (lineage, _) = commit::lineage_of(lake, date).await?;
        let names = lineage.into_iter().map(|(r, s)| (r, s.manifest)).collect();
        named.insert(date, names);
    }
    let committed: BTreeSet<NaiveDate> = records.keys().chain(lake_rows.keys()).copied().collect();

    // Raw pages: a run's directory without a manifest, pages of a date nothing was committed
    // for, and what no commit names.
    for ((date, region), files) in &raw {
        let names: BTreeSet<&str> = named
            .get(date)
            .and_then(|l| l.get(region))
            .map(String::as_str)
            .into_iter()
            .collect();
        let subject = format!("{date} {region}");
        let legacy_staged = files.staged.get(&None).cloned().unwrap_or_default();
        if !files.legacy.is_empty() || !legacy_staged.is_empty() {
            let manifest = crate::raw::legacy_manifest(*date, region);
            let complete = files.legacy.contains_key("manifest.json");
            if !complete {
                problems.push(Problem {
                    kind: ProblemKind::RawIncomplete,
                    subject: subject.clone(),
                    detail: format!(
                        "{} raw page(s) without a manifest (a run stopped while archiving); `trendlake check --prune` removes them",
                        files.legacy.len()
                    ),
                });
            }
            if !complete || (committed.contains(date) && !names.contains(manifest.as_str())) {
                let dir = format!("raw/snapshot_date={date}/region={region}");
                let mut found = orphan(lake, OrphanKind::RawRun, &dir, files.legacy.values());
                found.add_staged(legacy_staged);
                report.orphans.push(found);
            }
        }
        let no_files = BTreeMap::new();
        let runs: BTreeSet<&String> = files
            .runs
            .keys()
            .chain(files.staged.keys().flatten())
            .collect();
        for run in runs {
            let run_files = files.runs.get(run).unwrap_or(&no_files);
            let dir = crate::raw::run_dir(*date, region, run);
            if names.contains(format!("{dir}/manifest.json").as_str()) {
                continue;
            }
            if !committed.contains(date) {
                let (kind, detail) = if run_files.contains_key("manifest.json") {
                    (
                        ProblemKind::RawUncommitted,
                        format!(
                            "complete raw pages of run {run}, but nothing of {date} was committed (a run stopped before its commit); rebuild never uses them, and `trendlake check --prune` removes them after the grace period"
                        ),
                    )
                } else {
                    (
                        ProblemKind::RawIncomplete,
                        format!(
                            "{} raw page(s) of run {run} without a manifest (a run stopped while archiving); `trendlake check --prune` removes them after the grace period",
                            run_files.len()
                        ),
                    )
                };
                problems.push(Problem {
                    kind,
                    subject: subject.clone(),
                    detail,
                });
            }
            let mut found = orphan(lake, OrphanKind::RawRun, &dir, run_files.values());
            found.add_staged(
                files
                    .staged
                    .get(&Some(run.clone()))
                    .cloned()
                    .unwrap_or_default(),
            );
            report.orphans.push(found);
        }
    }
    // Commit records of files since replaced (the current one, or for an unreadable or deleted
    // file the newest, is kept).
    for (date, metas) in &records {
        let keep = match current_record.get(date) {
            Some(digest) => format!("{digest}.json"),
            None => newest_record(lake, metas).await?,
        };
        for meta in metas {
            let name = meta.location.filename().unwrap_or_default();
            if name != keep {
                let at = format!("{}/{name}", commit::records_dir(*date));
                report
                    .orphans
                    .push(orphan(lake, OrphanKind::CommitRecord, &at, [meta]));
            }
        }
    }
    for (folder, metas) in &trash {
        let stamp = folder
            .split_once('-')
            .and_then(|(t, _)| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ").ok())
            .map(|t| t.and_utc());
        let mut found = orphan(lake, OrphanKind::Trash, &format!("_trash/{folder}"), metas);
        // When it was moved aside, as its name says (the objects keep their own times on S3).
        found.newest = stamp.unwrap_or(found.newest);
        report.orphans.push(found);
    }

    // Each `tracked` file: readable, and bound to the lookups it names; lookups no file names
    // (a tracking stage that stopped before its file) are orphans.
    let mut lookups_named = BTreeSet::new();
    for date in tracked_dates {
        let path = lake.display(&lake.path(&crate::track::tracked_file(date)));
        let tracked = match crate::track::read(lake, date).await {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(LakeError::Corrupt { source, .. }) => {
                problems.push(Problem {
                    kind: ProblemKind::UnreadableSnapshot,
                    subject: path,
                    detail: format!(
                        "{source}; move it aside: the lookups it was made from stay under raw/snapshot_date={date}/tracked/"
                    ),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Some(source) = tracked.source else {
            problems.push(Problem {
                kind: ProblemKind::LineageMismatch,
                subject: path,
                detail: "it names no lookups it came from, which no trendlake writes".into(),
            });
            continue;
        };
        lookups_named.insert((date, source.run_id.clone()));
        let rows = tracked.batch.num_rows();
        match lake.get(&lake.path(&source.manifest)).await? {
            None => problems.push(Problem {
                kind: ProblemKind::RawMissing,
                subject: format!("{date} tracked"),
                detail: format!(
                    "{path} names {}, which is gone: the lookups it came from are lost",
                    source.manifest
                ),
            }),
            Some(bytes) => {
                let found = crate::lake::codec::sha256_hex(&bytes);
                if found != source.manifest_sha256 || source.rows != rows {
                    problems.push(Problem {
                        kind: ProblemKind::LineageMismatch,
                        subject: format!("{date} tracked"),
                        detail: format!(
                            "{path} ({rows} rows) names {} with SHA-256 {} and {} rows, but it has SHA-256 {found}: the lookups were replaced or damaged",
                            source.manifest, source.manifest_sha256, source.rows
                        ),
                    });
                }
            }
        }
    }
    for ((date, run), metas) in &lookups {
        if !lookups_named.contains(&(*date, run.clone())) {
            let dir = crate::raw::lookups_dir(*date, run);
            report
                .orphans
                .push(orphan(lake, OrphanKind::RawRun, &dir, metas));
        }
    }

    check_warehouse(warehouse, &lake_rows, problems).await?;
    report.problems.sort();
    report
        .orphans
        .sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    Ok(report)
}

/// An orphan made of `metas`, at `dir` (relative to the lake's root).
fn orphan<'a>(
    lake: &Lake,
    kind: OrphanKind,
    dir: &str,
    metas: impl IntoIterator<Item = &'a ObjectMeta>,
) -> Orphan {
    let metas: Vec<&ObjectMeta> = metas.into_iter().collect();
    Orphan {
        kind,
        subject: lake.display(&lake.path(dir)),
        bytes: metas.iter().map(|m| m.size).sum(),
        newest: metas
            .iter()
            .map(|m| m.last_modified)
            .max()
            .unwrap_or_default(),
        objects: metas.iter().map(|m| m.location.clone()).collect(),
        staged: Vec::new(),
    }
}

impl Orphan {
    /// Count in the files a killed run left staged in it (a local lake).
    fn add_staged(&mut self, staged: Vec<std::path::PathBuf>) {
        for path in staged {
            if let Ok(meta) = std::fs::metadata(&path) {
                self.bytes += meta.len();
                if let Ok(modified) = meta.modified() {
                    self.newest = self.newest.max(DateTime::<Utc>::from(modified));
                }
            }
            self.staged.push(path);
        }
    }
}

/// The file name of the newest of a date's commit records.
async fn newest_record(lake: &Lake, metas: &[ObjectMeta]) -> Result<String> {
    let mut newest: Option<(DateTime<Utc>, String)> = None;
    for meta in metas {
        let Some(bytes) = lake.get(&meta.location).await? else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<CommitRecord>(&bytes) else {
            continue;
        };
        let name = meta.location.filename().unwrap_or_default().to_string();
        if newest
            .as_ref()
            .is_none_or(|(at, _)| record.committed_at > *at)
        {
            newest = Some((record.committed_at, name));
        }
    }
    Ok(newest.map(|(_, name)| name).unwrap_or_default())
}

/// A region's recorded source: its manifest there with the recorded SHA-256 and rows, and every
/// page it lists beside it.
async fn verify_source(
    lake: &Lake,
    date: NaiveDate,
    region: &str,
    source: &Source,
    rows: usize,
    files: Option<&RawRegion>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let subject = format!("{date} {region}");
    let shown = lake.display(&lake.path(&source.manifest));
    let manifest = match crate::raw::read_manifest(lake, &source.manifest).await {
        Ok(manifest) => manifest,
        Err(e) if e.is_usage() => return Err(crate::Error::Raw(Box::new(e))),
        Err(e) => {
            problems.push(Problem {
                kind: ProblemKind::LineageMismatch,
                subject,
                detail: format!(
                    "{e}; the commit recorded {shown} with SHA-256 {}",
                    source.manifest_sha256
                ),
            });
            return Ok(());
        }
    };
    let Some((manifest, sha)) = manifest else {
        problems.push(Problem {
            kind: ProblemKind::RawMissing,
            subject,
            detail: format!(
                "the commit names {shown}, which is not there; `rebuild` cannot restore the region from raw pages (the API serves only today's chart, so only today's date can be fetched again)"
            ),
        });
        return Ok(());
    };
    if sha != source.manifest_sha256 || manifest.rows != rows || source.rows != rows {
        problems.push(Problem {
            kind: ProblemKind::LineageMismatch,
            subject,
            detail: format!(
                "{shown} has SHA-256 {sha} and {} rows; the commit recorded {} and {rows} rows: its raw pages were replaced or damaged, and `rebuild` refuses them",
                manifest.rows, source.manifest_sha256
            ),
        });
        return Ok(());
    }
    let run = source
        .manifest
        .rsplit_once('/')
        .and_then(|(dir, _)| dir.rsplit_once("run="))
        .map(|(_, run)| run.to_string());
    let present = files.and_then(|f| match &run {
        Some(run) => f.runs.get(run),
        None => Some(&f.legacy),
    });
    let missing: Vec<&str> = manifest
        .pages
        .iter()
        .map(|p| p.file.as_str())
        .filter(|f| !present.is_some_and(|p| p.contains_key(*f)))
        .collect();
    if !missing.is_empty() {
        problems.push(Problem {
            kind: ProblemKind::RawMissing,
            subject,
            detail: format!(
                "{shown} names {} that are not there; `rebuild` cannot restore the region from raw pages",
                missing.join(", ")
            ),
        });
    }
    Ok(())
}

/// A region committed before lineage was recorded: the pages of its own directory, complete.
fn verify_legacy(
    date: NaiveDate,
    region: &str,
    files: Option<&RawRegion>,
    problems: &mut Vec<Problem>,
) {
    if files.is_some_and(|f| f.legacy.contains_key("manifest.json")) {
        return;
    }
    problems.push(Problem {
        kind: ProblemKind::RawMissing,
        subject: format!("{date} {region}"),
        detail: format!(
            "the snapshot names no raw pages for {region}, and raw/snapshot_date={date}/region={region}/ has no manifest; `rebuild` cannot restore it until a run of {date} archives them"
        ),
    });
}

/// The category charts of `date` against its chart catalogues: each the night's latest word says
/// was held must be in the snapshot (`charts`, by key); those the API did not have are listed.
async fn check_charts(
    lake: &Lake,
    date: NaiveDate,
    charts: &BTreeMap<String, arrow::array::RecordBatch>,
    no_chart: &mut Vec<NoChart>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    use crate::catalogue::{CatalogueError, ChartStatus};
    let stored = match crate::catalogue::read_date(lake, date).await {
        Ok(stored) => stored,
        Err(CatalogueError::Lake(e)) => return Err(e.into()),
        Err(e) => {
            problems.push(Problem {
                kind: ProblemKind::UnreadableCatalogue,
                subject: crate::catalogue::dir(date),
                detail: e.to_string(),
            });
            return Ok(());
        }
    };
    let word = crate::catalogue::night_word(stored.iter().map(|s| &s.catalogue));
    for ((region, category), status) in word {
        let key = crate::chart::key(&region, &category.to_string());
        match status {
            ChartStatus::Ok if !charts.contains_key(&key) => problems.push(Problem {
                kind: ProblemKind::ChartMissing,
                subject: format!("{date} {key}"),
                detail: format!(
                    "the chart catalogue says the chart was fetched, but the snapshot lacks it (its commit failed, or the file was replaced); `trendlake rebuild --date {date}` restores it if its raw pages were committed, else run the date again with --only-missing"
                ),
            }),
            ChartStatus::NoChart | ChartStatus::KnownNoChart => no_chart.push(NoChart {
                snapshot_date: date,
                region,
                category,
                status,
            }),
            _ => {}
        }
    }
    Ok(())
}

/// For each region, the rows of the newest run report (by start) that committed it.
async fn reported_rows(
    lake: &Lake,
    reports: Option<&Vec<StorePath>>,
) -> Result<BTreeMap<String, usize>> {
    let mut newest: BTreeMap<String, (DateTime<Utc>, usize)> = BTreeMap::new();
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
            let key = crate::chart::key(
                &r.region,
                r.category.as_deref().unwrap_or(crate::chart::GENERAL),
            );
            let entry = newest.entry(key).or_insert((report.started_at, r.rows));
            if report.started_at >= entry.0 {
                *entry = (report.started_at, r.rows);
            }
        }
    }
    Ok(newest.into_iter().map(|(k, (_, rows))| (k, rows)).collect())
}

/// Remove the orphans whose every object is older than `grace` (a run in flight writes its pages
/// minutes before it commits; a record's file may land just after `check` read the date).
pub async fn prune(
    lake: &Lake,
    orphans: &[Orphan],
    grace: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    for orphan in orphans {
        if orphan.newest + grace > now {
            pruned.kept += 1;
            continue;
        }
        for object in &orphan.objects {
            lake.delete(object).await?;
        }
        for path in &orphan.staged {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(crate::Error::Io {
                        context: format!("cannot remove {}", path.display()),
                        source: e,
                    });
                }
                _ => {}
            }
        }
        pruned.removed.push(orphan.subject.clone());
        pruned.bytes += orphan.bytes;
    }
    Ok(pruned)
}

/// Files LocalFileSystem stages before renaming them into place (`name#123`) under `dir`: one
/// left behind means a process died mid-write. They are invisible to object_store's listing.
fn staged_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            staged_files(&path, found);
        } else if crate::lake::is_staged(&entry.file_name().to_string_lossy()) {
            found.push(path);
        }
    }
}

/// The warehouse against the lake's dates: (rows, content digest) per date.
async fn check_warehouse(
    path: &Path,
    lake_rows: &BTreeMap<NaiveDate, (usize, String)>,
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
    for (date, (rows, digest)) in lake_rows {
        match merged.iter().find(|m| m.date == *date) {
            None => problems.push(Problem {
                kind: ProblemKind::NotMerged,
                subject: date.to_string(),
                detail: "in the lake, not in the warehouse; run `trendlake merge`".into(),
            }),
            // Merged before content digests were recorded: its record has none to compare, and
            // the next merge of the date records one.
            Some(m) if m.content_sha256.as_ref().is_some_and(|d| d != digest) => {
                problems.push(Problem {
                    kind: ProblemKind::NotMerged,
                    subject: date.to_string(),
                    detail:
                        "the lake file's rows changed since it was merged; run `trendlake merge`"
                            .into(),
                })
            }
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
    let wh_dates: BTreeSet<NaiveDate> = merged
        .iter()
        .map(|m| m.date)
        .chain(entries.keys().copied())
        .collect();
    for date in wh_dates.iter().filter(|d| !lake_rows.contains_key(d)) {
        problems.push(Problem {
            kind: ProblemKind::OrphanDate,
            subject: date.to_string(),
            detail: "in the warehouse, but the lake has no snapshot of it; `trendlake merge` removes it (or restore the lake file: `trendlake rebuild --date D`)".into(),
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
            ProblemKind::LineageMismatch,
            ProblemKind::CommitUnrecorded,
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
        assert_eq!(
            serde_json::to_value([
                OrphanKind::RawRun,
                OrphanKind::CommitRecord,
                OrphanKind::Trash
            ])
            .unwrap(),
            serde_json::json!(["raw_run", "commit_record", "trash"])
        );
    }

    #[test]
    fn staged_files_are_found_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("videos/snapshot_date=2026-11-20");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("videos.parquet#17"), b"x").unwrap();
        std::fs::write(sub.join("videos.parquet"), b"x").unwrap();
        std::fs::write(sub.join("notes#draft"), b"x").unwrap();
        let mut found = Vec::new();
        staged_files(dir.path(), &mut found);
        assert_eq!(found, [sub.join("videos.parquet#17")]);
    }
}
