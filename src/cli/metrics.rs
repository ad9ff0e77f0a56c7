//! `--metrics-file`: the outcome of a `run` (or `snapshot`) in Prometheus' text exposition
//! format, for node_exporter's textfile collector, written at the end of every run whatever its
//! outcome (see docs/metrics.md).
//!
//! Every figure comes from the run's report ([`RunReport`]), the one account of what the run
//! did; [`Night::of_report`] takes them out of it and [`render`] turns them into text, a pure
//! function pinned by the tests below. A run that stopped before it had a report (the lake could
//! not be opened, a file of a newer trendlake) still writes its exit code and time.
//!
//! `trendlake_last_success_timestamp_seconds` outlives failed runs: it is read back from the file
//! being replaced and written again unchanged, so an alert on its age fires however many nights
//! in a row fail. The file is replaced whole (a temporary file beside it, fsynced, renamed, the
//! directory fsynced), so the collector never reads half of it; its temporary name does not end
//! in `.prom`, so the collector never reads that either.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use trendlake::fsutil::{ReplaceError, write_whole_as};
use trendlake::pipeline::{MergeStatus, RegionStatus, RunReport};

/// The extension node_exporter's textfile collector reads (`*.prom`).
pub const EXTENSION: &str = ".prom";

/// Every region status, in the order written.
const REGION_STATUSES: [RegionStatus; 5] = [
    RegionStatus::Ok,
    RegionStatus::Failed,
    RegionStatus::NotCommitted,
    RegionStatus::NoChart,
    RegionStatus::KnownNoChart,
];

/// Every merge status, in the order written.
const MERGE_STATUSES: [MergeStatus; 5] = [
    MergeStatus::Merged,
    MergeStatus::UpToDate,
    MergeStatus::Failed,
    MergeStatus::Skipped,
    MergeStatus::Pending,
];

/// Exhaustive on purpose: a status added to the pipeline fails to compile here until it is added
/// to the lists above.
const _: fn(RegionStatus, MergeStatus) = |region, merge| {
    match region {
        RegionStatus::Ok
        | RegionStatus::Failed
        | RegionStatus::NotCommitted
        | RegionStatus::NoChart
        | RegionStatus::KnownNoChart => {}
    }
    match merge {
        MergeStatus::Merged
        | MergeStatus::UpToDate
        | MergeStatus::Failed
        | MergeStatus::Skipped
        | MergeStatus::Pending => {}
    }
};

/// Why the metrics file was not written. The run's own outcome (and exit code) stands: the data
/// is committed or not whatever happens here.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The file in place could not be read, so its last success could not be carried over;
    /// nothing was written, rather than a file that forgets it.
    #[error(
        "cannot read the metrics file {path} to carry its last success over: {source}; nothing was written"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the metrics file: {0}")]
    Write(#[from] ReplaceError),
}

/// One run, as its metrics show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Night {
    /// When the run ended (the report's `finished_at`).
    pub ended_at: DateTime<Utc>,
    pub exit_code: u8,
    /// `--quota-budget`, when one is set.
    pub quota_budget: Option<u32>,
    /// What the run report says; `None` for a run that stopped before it had a report (it
    /// fetched nothing).
    pub run: Option<Figures>,
}

/// The run report's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub started_at: DateTime<Utc>,
    /// Milliseconds spent fetching, writing (raw pages and the commit), tracking and merging.
    pub fetch_ms: u128,
    pub write_ms: u128,
    pub track_ms: u128,
    pub merge_ms: u128,
    /// Regions by status, in [`REGION_STATUSES`]' order.
    pub regions: [(RegionStatus, usize); 5],
    pub rows_committed: usize,
    /// The tracking stage's videos by outcome, in [`TRACKED_OUTCOMES`]' order.
    pub tracked: [(&'static str, usize); 4],
    pub quota_units: u32,
    pub merge: MergeStatus,
}

/// The outcomes of a tracked video, as `trendlake_last_run_tracked_videos` labels them.
pub const TRACKED_OUTCOMES: [&str; 4] = ["returned", "vanished", "skipped", "failed"];

impl Night {
    /// The metrics of a run that wrote its report: everything from the report.
    pub fn of_report(report: &RunReport, quota_budget: Option<u32>) -> Self {
        let count = |status| report.regions.iter().filter(|r| r.status == status).count();
        Self {
            ended_at: report.finished_at,
            exit_code: report.exit_code(),
            quota_budget,
            run: Some(Figures {
                started_at: report.started_at,
                fetch_ms: report.fetch_ms,
                write_ms: report.write_ms,
                track_ms: report.track_ms,
                merge_ms: report.merge_ms,
                regions: REGION_STATUSES.map(|s| (s, count(s))),
                rows_committed: report.rows_committed,
                tracked: {
                    let t = &report.tracking;
                    let counts = [t.returned, t.vanished, t.skipped, t.failed];
                    std::array::from_fn(|i| (TRACKED_OUTCOMES[i], counts[i]))
                },
                quota_units: report.quota_units,
                merge: report.merge.status,
            }),
        }
    }

    /// The metrics of a run that stopped, with `exit_code`, before it had a report.
    pub fn without_report(
        exit_code: u8,
        ended_at: DateTime<Utc>,
        quota_budget: Option<u32>,
    ) -> Self {
        Self {
            ended_at,
            exit_code,
            quota_budget,
            run: None,
        }
    }

    /// Whether this run counts as a success: exit code 0 (every region committed and merged).
    pub fn succeeded(&self) -> bool {
        self.exit_code == 0
    }
}

/// Seconds since the Unix epoch, to the millisecond.
fn unix_seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

fn seconds(ms: u128) -> f64 {
    ms as f64 / 1000.0
}

/// The exposition text: a family (HELP, TYPE, samples) at a time.
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, help: &str, samples: &[(Option<(&str, String)>, f64)]) {
        // HELP text escapes `\` and newlines; these are fixed sentences without either.
        debug_assert!(!help.contains(['\\', '\n']), "{help}");
        writeln!(self.0, "# HELP {name} {help}").expect("writing to a String");
        writeln!(self.0, "# TYPE {name} gauge").expect("writing to a String");
        for (label, value) in samples {
            match label {
                Some((key, value_of_label)) => {
                    // Label values are the report's snake_case names: nothing to escape.
                    debug_assert!(
                        value_of_label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b == b'_'),
                        "{value_of_label}"
                    );
                    writeln!(self.0, "{name}{{{key}=\"{value_of_label}\"}} {value}")
                }
                None => writeln!(self.0, "{name} {value}"),
            }
            .expect("writing to a String");
        }
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, help, &[(None, value)]);
    }
}

/// The metrics of `night`, with the last success: this run's end if it succeeded, else
/// `previous_success` (from the file it replaces; 0 when none is known).
pub fn render(night: &Night, previous_success: Option<f64>) -> String {
    let mut text = Text(String::new());
    let ended = unix_seconds(night.ended_at);
    text.gauge(
        "trendlake_last_run_timestamp_seconds",
        "When the last run ended, in seconds since the Unix epoch, whatever its outcome.",
        ended,
    );
    let success = match night.succeeded() {
        true => ended,
        false => previous_success.unwrap_or(0.0),
    };
    text.gauge(
        "trendlake_last_success_timestamp_seconds",
        "When the last run with exit code 0 ended, in seconds since the Unix epoch (0: none known). Kept from the previous file by a run that did not succeed.",
        success,
    );
    text.gauge(
        "trendlake_last_run_exit_code",
        "The last run's exit code: 0 complete, 3 partial, 1 nothing new committed, 4 merge failed, 5 report failed, 2 usage or configuration.",
        f64::from(night.exit_code),
    );
    let zero = Figures {
        started_at: night.ended_at,
        fetch_ms: 0,
        write_ms: 0,
        track_ms: 0,
        merge_ms: 0,
        regions: REGION_STATUSES.map(|s| (s, 0)),
        rows_committed: 0,
        tracked: TRACKED_OUTCOMES.map(|o| (o, 0)),
        quota_units: 0,
        merge: MergeStatus::Skipped,
    };
    let figures = night.run.as_ref();
    if let Some(f) = figures {
        text.gauge(
            "trendlake_last_run_duration_seconds",
            "How long the last run took, from its start to its report.",
            seconds((night.ended_at - f.started_at).num_milliseconds().max(0) as u128),
        );
        text.family(
            "trendlake_last_run_stage_duration_seconds",
            "Time the last run spent in each stage: fetch (the API), write (raw pages and the commit), track (videos after the charts), merge (the warehouse).",
            &[
                (Some(("stage", "fetch".into())), seconds(f.fetch_ms)),
                (Some(("stage", "write".into())), seconds(f.write_ms)),
                (Some(("stage", "track".into())), seconds(f.track_ms)),
                (Some(("stage", "merge".into())), seconds(f.merge_ms)),
            ],
        );
    }
    // A run without a report fetched nothing: no region, no row, no unit.
    let f = figures.unwrap_or(&zero);
    let regions: Vec<_> = f
        .regions
        .iter()
        .map(|(status, n)| (Some(("status", status.to_string())), *n as f64))
        .collect();
    text.family(
        "trendlake_last_run_regions",
        "Charts of the last run (each region's general chart, and its category charts with --categories) by status: ok (committed), failed (not fetched), not_committed (fetched, but the commit failed), no_chart (a category chart the API does not have), known_no_chart (not asked: the API had none when last asked).",
        &regions,
    );
    text.gauge(
        "trendlake_last_run_rows_committed",
        "Chart entries the last run committed to the lake.",
        f.rows_committed as f64,
    );
    let tracked: Vec<_> = f
        .tracked
        .iter()
        .map(|(outcome, n)| (Some(("outcome", outcome.to_string())), *n as f64))
        .collect();
    text.family(
        "trendlake_last_run_tracked_videos",
        "Videos the last run's tracking stage followed after they left the charts, by outcome: returned (looked up), vanished (asked for, no longer returned: deleted or private), skipped (left out by the budget), failed (their lookup failed).",
        &tracked,
    );
    text.gauge(
        "trendlake_last_run_quota_units",
        "YouTube Data API quota units the last run spent, failed calls included.",
        f64::from(f.quota_units),
    );
    if let Some(budget) = night.quota_budget {
        text.gauge(
            "trendlake_quota_budget_units",
            "Quota units a run may spend at most (--quota-budget).",
            f64::from(budget),
        );
    }
    if let Some(f) = figures {
        let merge: Vec<_> = MERGE_STATUSES
            .iter()
            .map(|s| {
                let on = if *s == f.merge { 1.0 } else { 0.0 };
                (Some(("status", s.to_string())), on)
            })
            .collect();
        text.family(
            "trendlake_last_run_merge_status",
            "The last run's merge into the warehouse: 1 for its status (merged, up_to_date, failed, skipped: no merge asked for, pending: stopped during it), 0 for the others.",
            &merge,
        );
    }
    text.0
}

/// The last success a metrics file holds, if it holds one (0 counts as none).
pub fn last_success(text: &str) -> Option<f64> {
    let name = "trendlake_last_success_timestamp_seconds";
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .find(|v| v.is_finite() && *v > 0.0)
}

/// Whether `path` is a name the textfile collector reads: `NAME.prom`.
pub fn is_prom_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(EXTENSION))
        .is_some_and(|stem| !stem.is_empty())
}

/// Write the metrics of `night` to `path`, replacing the file whole, readable by all (0644: the
/// collector runs as another user, and the file holds no secret). The last success is carried
/// over from the file in place unless this run succeeded.
pub fn write(path: &Path, night: &Night) -> Result<(), MetricsError> {
    let previous = match std::fs::read_to_string(path) {
        Ok(text) => last_success(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        // Not text: nothing of ours to carry over.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => None,
        Err(source) => {
            return Err(MetricsError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let text = render(night, previous);
    write_whole_as(path, text.as_bytes(), Some(0o644))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn partial() -> Night {
        Night {
            ended_at: at("2026-11-20T08:32:05.250Z"),
            exit_code: 3,
            quota_budget: Some(200),
            run: Some(Figures {
                started_at: at("2026-11-20T08:30:00Z"),
                fetch_ms: 110_500,
                write_ms: 4_250,
                track_ms: 2_750,
                merge_ms: 10_000,
                regions: [
                    (RegionStatus::Ok, 2),
                    (RegionStatus::Failed, 1),
                    (RegionStatus::NotCommitted, 0),
                    (RegionStatus::NoChart, 0),
                    (RegionStatus::KnownNoChart, 0),
                ],
                rows_committed: 400,
                tracked: [
                    ("returned", 480),
                    ("vanished", 12),
                    ("skipped", 0),
                    ("failed", 0),
                ],
                quota_units: 19,
                merge: MergeStatus::Merged,
            }),
        }
    }

    #[test]
    fn a_partial_run_keeps_the_last_success_and_says_everything_else() {
        let text = render(&partial(), Some(1_795_069_805.5));
        assert_eq!(
            text,
            "\
# HELP trendlake_last_run_timestamp_seconds When the last run ended, in seconds since the Unix epoch, whatever its outcome.
# TYPE trendlake_last_run_timestamp_seconds gauge
trendlake_last_run_timestamp_seconds 1795163525.25
# HELP trendlake_last_success_timestamp_seconds When the last run with exit code 0 ended, in seconds since the Unix epoch (0: none known). Kept from the previous file by a run that did not succeed.
# TYPE trendlake_last_success_timestamp_seconds gauge
trendlake_last_success_timestamp_seconds 1795069805.5
# HELP trendlake_last_run_exit_code The last run's exit code: 0 complete, 3 partial, 1 nothing new committed, 4 merge failed, 5 report failed, 2 usage or configuration.
# TYPE trendlake_last_run_exit_code gauge
trendlake_last_run_exit_code 3
# HELP trendlake_last_run_duration_seconds How long the last run took, from its start to its report.
# TYPE trendlake_last_run_duration_seconds gauge
trendlake_last_run_duration_seconds 125.25
# HELP trendlake_last_run_stage_duration_seconds Time the last run spent in each stage: fetch (the API), write (raw pages and the commit), track (videos after the charts), merge (the warehouse).
# TYPE trendlake_last_run_stage_duration_seconds gauge
trendlake_last_run_stage_duration_seconds{stage=\"fetch\"} 110.5
trendlake_last_run_stage_duration_seconds{stage=\"write\"} 4.25
trendlake_last_run_stage_duration_seconds{stage=\"track\"} 2.75
trendlake_last_run_stage_duration_seconds{stage=\"merge\"} 10
# HELP trendlake_last_run_regions Charts of the last run (each region's general chart, and its category charts with --categories) by status: ok (committed), failed (not fetched), not_committed (fetched, but the commit failed), no_chart (a category chart the API does not have), known_no_chart (not asked: the API had none when last asked).
# TYPE trendlake_last_run_regions gauge
trendlake_last_run_regions{status=\"ok\"} 2
trendlake_last_run_regions{status=\"failed\"} 1
trendlake_last_run_regions{status=\"not_committed\"} 0
trendlake_last_run_regions{status=\"no_chart\"} 0
trendlake_last_run_regions{status=\"known_no_chart\"} 0
# HELP trendlake_last_run_rows_committed Chart entries the last run committed to the lake.
# TYPE trendlake_last_run_rows_committed gauge
trendlake_last_run_rows_committed 400
# HELP trendlake_last_run_tracked_videos Videos the last run's tracking stage followed after they left the charts, by outcome: returned (looked up), vanished (asked for, no longer returned: deleted or private), skipped (left out by the budget), failed (their lookup failed).
# TYPE trendlake_last_run_tracked_videos gauge
trendlake_last_run_tracked_videos{outcome=\"returned\"} 480
trendlake_last_run_tracked_videos{outcome=\"vanished\"} 12
trendlake_last_run_tracked_videos{outcome=\"skipped\"} 0
trendlake_last_run_tracked_videos{outcome=\"failed\"} 0
# HELP trendlake_last_run_quota_units YouTube Data API quota units the last run spent, failed calls included.
# TYPE trendlake_last_run_quota_units gauge
trendlake_last_run_quota_units 19
# HELP trendlake_quota_budget_units Quota units a run may spend at most (--quota-budget).
# TYPE trendlake_quota_budget_units gauge
trendlake_quota_budget_units 200
# HELP trendlake_last_run_merge_status The last run's merge into the warehouse: 1 for its status (merged, up_to_date, failed, skipped: no merge asked for, pending: stopped during it), 0 for the others.
# TYPE trendlake_last_run_merge_status gauge
trendlake_last_run_merge_status{status=\"merged\"} 1
trendlake_last_run_merge_status{status=\"up_to_date\"} 0
trendlake_last_run_merge_status{status=\"failed\"} 0
trendlake_last_run_merge_status{status=\"skipped\"} 0
trendlake_last_run_merge_status{status=\"pending\"} 0
"
        );
        // What a later run reads back from it.
        assert_eq!(last_success(&text), Some(1_795_069_805.5));
    }

    #[test]
    fn success_is_this_run_and_never_known_is_zero() {
        let mut night = partial();
        night.exit_code = 0;
        let text = render(&night, Some(1.0));
        assert!(text.contains("\ntrendlake_last_success_timestamp_seconds 1795163525.25\n"));
        assert_eq!(last_success(&text), Some(1_795_163_525.25));
        // Failed, and no earlier success known: 0, which an alert on its age sees as ancient.
        night.exit_code = 1;
        let text = render(&night, None);
        assert!(text.contains("\ntrendlake_last_success_timestamp_seconds 0\n"));
        assert_eq!(last_success(&text), None);
    }

    #[test]
    fn a_run_without_a_report_says_its_exit_code_and_that_it_fetched_nothing() {
        let night = Night::without_report(2, at("2026-11-20T08:30:01Z"), None);
        assert_eq!(
            render(&night, Some(1_795_069_805.0))
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [
                "trendlake_last_run_timestamp_seconds 1795163401",
                "trendlake_last_success_timestamp_seconds 1795069805",
                "trendlake_last_run_exit_code 2",
                "trendlake_last_run_regions{status=\"ok\"} 0",
                "trendlake_last_run_regions{status=\"failed\"} 0",
                "trendlake_last_run_regions{status=\"not_committed\"} 0",
                "trendlake_last_run_regions{status=\"no_chart\"} 0",
                "trendlake_last_run_regions{status=\"known_no_chart\"} 0",
                "trendlake_last_run_rows_committed 0",
                "trendlake_last_run_tracked_videos{outcome=\"returned\"} 0",
                "trendlake_last_run_tracked_videos{outcome=\"vanished\"} 0",
                "trendlake_last_run_tracked_videos{outcome=\"skipped\"} 0",
                "trendlake_last_run_tracked_videos{outcome=\"failed\"} 0",
                "trendlake_last_run_quota_units 0",
            ]
        );
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let text = render(&partial(), None);
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                assert_eq!(rest, format!("{} gauge", declared.last().unwrap()));
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(Some(&name.to_string()), declared.last(), "{line}");
                assert!(name.starts_with("trendlake_") && !name.ends_with("_total"));
            }
        }
        assert_eq!(declared.len(), 11);
    }

    #[test]
    fn the_last_success_is_read_back_only_from_its_own_line() {
        assert_eq!(last_success(""), None);
        assert_eq!(last_success("garbage\n"), None);
        assert_eq!(
            last_success(
                "trendlake_last_success_timestamp_seconds_other 5\n\
                 trendlake_last_success_timestamp_seconds NaN\n\
                 trendlake_last_success_timestamp_seconds 42.5\n"
            ),
            Some(42.5)
        );
    }

    #[test]
    fn only_prom_names() {
        for good in ["trendlake.prom", "/var/lib/x/trendlake.prom", "a.b.prom"] {
            assert!(is_prom_name(Path::new(good)), "{good}");
        }
        for bad in [
            ".prom",
            "trendlake.txt",
            "trendlake.prom.tmp",
            "trendlake.PROM",
            "dir/",
        ] {
            assert!(!is_prom_name(Path::new(bad)), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn written_whole_world_readable_and_carried_over() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trendlake.prom");
        let mut night = partial();
        night.exit_code = 0;
        write(&path, &night).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        // A failed run later keeps that success.
        let mut failed = partial();
        failed.ended_at = at("2026-11-21T08:35:00Z");
        write(&path, &failed).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(last_success(&text), Some(1_795_163_525.25));
        assert!(text.contains("\ntrendlake_last_run_timestamp_seconds 1795250100\n"));
        // Nothing but the file is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["trendlake.prom"]);
        // A directory that is gone is an error naming the file.
        let gone = dir.path().join("gone/trendlake.prom");
        let err = write(&gone, &failed).unwrap_err().to_string();
        assert!(err.contains(&gone.display().to_string()), "{err}");
    }
}
