//! Where messages go. Text mode (the default) is for people: plain lines on stderr, colour only on
//! a terminal. JSON mode is for schedulers: every line on stderr is one JSON object from
//! `tracing-subscriber`'s JSON layer, with one event per region outcome and one summary event
//! carrying the run report's fields.

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use clap::ValueEnum;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

use trendlake::pipeline::RunReport;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Plain lines for people.
    Text,
    /// One JSON object per line, for schedulers and log collectors.
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Warnings raised before [`init`]: the config file is read (and can draw one) before the log
/// format is known, since the file may set it. Held under this lock while `FORMAT` is unset.
static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Install the subscriber for `format`. `TRENDLAKE_LOG` (a `tracing` filter) overrides the level:
/// text mode shows warnings, JSON mode also trendlake's own events.
pub fn init(format: LogFormat) {
    let default = match format {
        LogFormat::Text => "warn",
        LogFormat::Json => "warn,trendlake=info",
    };
    let filter =
        EnvFilter::try_from_env("TRENDLAKE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests, a library user with their own subscriber) keeps the first.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_ansi(false)
            .try_init(),
    };
    // The format is set once the subscriber is in place, under the lock: a warning either
    // waits in `PENDING` (and comes out here) or sees the format and goes out itself, so none
    // is lost and none printed twice.
    let pending = {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let _ = FORMAT.set(format);
        std::mem::take(&mut *pending)
    };
    for message in pending {
        emit_warning(&message);
    }
}

/// Whether stderr carries JSON lines (then nothing else may be printed there).
pub fn is_json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// A message for whoever watches the run: a plain line, or an `info` event in JSON mode.
pub fn notice(message: &str) {
    if is_json() {
        info!(target: "trendlake", "{message}");
    } else {
        eprintln!("{message}");
    }
}

/// Something to fix that does not stop the run: `trendlake: warning: …`, or a `WARN` event in
/// JSON mode. Before [`init`] it waits, and `init` emits it in the format chosen.
pub fn warning(message: &str) {
    {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        if FORMAT.get().is_none() {
            pending.push(message.to_string());
            return;
        }
    }
    emit_warning(message);
}

fn emit_warning(message: &str) {
    if is_json() {
        warn!(target: "trendlake", "{message}");
    } else {
        eprintln!("trendlake: warning: {message}");
    }
}

/// The error that ends the process, with the exit code it gets.
pub fn fatal(message: &str, exit_code: u8) {
    if is_json() {
        error!(target: "trendlake", exit_code, "{message}");
    } else {
        eprintln!("trendlake: error: {message}");
    }
}

/// One event per region outcome and one summary event with the run report's fields (nested ones
/// flattened: `file_path`, `merge_status`) and where the run report is (`run_report_path`); in
/// text mode the one-line summary and the run report's path.
///
/// A field name means one thing in every event: `run_report_path` is always the run report's
/// JSON, `report_html_path` and `report_index_path` (the `trendlake::report` event's) always the
/// HTML report's page and index.
pub fn run_report(report: &RunReport) {
    for r in &report.regions {
        let e = r.error.as_ref();
        info!(
            target: "trendlake::region",
            snapshot_date = %report.snapshot_date,
            run_id = %report.run_id,
            region = %r.region,
            category = %r.category,
            status = %r.status,
            rows = r.rows as u64,
            requests = r.requests,
            quota_units = r.quota_units,
            retries = r.retries,
            duplicates_dropped = r.duplicates_dropped as u64,
            elapsed_ms = r.elapsed_ms as u64,
            error_page = e.and_then(|e| e.page).map(|p| p as u64),
            error_kind = e.map(|e| e.kind.name()),
            error_http_status = e.and_then(|e| e.http_status),
            error_reason = e.and_then(|e| e.reason.as_deref()),
            error_message = e.map(|e| e.message.as_str()),
            error_advice = e.map(|e| e.advice.as_str()),
            raw_manifest = r.source.as_ref().map(|s| s.manifest.as_str()),
            "region {} {}{}",
            r.chart(),
            r.status,
            e.map(|e| format!(": {}", e.whereabouts()))
                .unwrap_or_default()
        );
    }
    let ok = report.regions.len() - report.failed_regions().count();
    let file = report.file.as_ref();
    let merge = &report.merge;
    let t = &report.tracking;
    info!(
        target: "trendlake::run",
        run_id = %report.run_id,
        snapshot_date = %report.snapshot_date,
        lake = %report.lake,
        started_at = %report.started_at.to_rfc3339(),
        finished_at = %report.finished_at.to_rfc3339(),
        outcome = %report.outcome(),
        exit_code = report.exit_code(),
        quota_units = report.quota_units,
        rows_committed = report.rows_committed as u64,
        regions_ok = ok as u64,
        regions_failed = (report.regions.len() - ok) as u64,
        regions_kept = %report.regions_kept.join(","),
        file_path = file.map(|f| f.path.as_str()),
        file_bytes = file.map(|f| f.bytes as u64),
        file_unchanged = file.map(|f| f.unchanged),
        file_content_sha256 = file.map(|f| f.content_sha256.as_str()),
        commit_error = report.commit_error.as_deref(),
        merge_status = %merge.status,
        merge_snapshots = merge.snapshots as u64,
        merge_rows = merge.rows as u64,
        merge_tracked_rows = merge.tracked_rows as u64,
        merge_error = merge.error.as_deref(),
        tracking_status = %t.status,
        tracking_days = t.days,
        tracking_candidates = t.candidates as u64,
        tracking_tracked = t.tracked as u64,
        tracking_returned = t.returned as u64,
        tracking_vanished = t.vanished as u64,
        tracking_skipped = t.skipped as u64,
        tracking_skipped_reason = t.skipped_reason.as_deref(),
        tracking_failed = t.failed as u64,
        tracking_requests = t.requests,
        tracking_quota_units = t.quota_units,
        tracking_retries = t.retries,
        tracking_budget_units = t.budget_units,
        tracking_file_path = t.file.as_ref().map(|f| f.path.as_str()),
        tracking_file_rows = t.file.as_ref().map(|f| f.rows as u64),
        tracking_error = t.error.as_deref(),
        tracking_error_kind = t.error_kind.map(|k| k.name()),
        fetch_ms = report.fetch_ms as u64,
        write_ms = report.write_ms as u64,
        track_ms = report.track_ms as u64,
        merge_ms = report.merge_ms as u64,
        run_report_path = report.run_report_path.as_deref(),
        "{}",
        report.summary()
    );
    if !is_json() {
        eprintln!("{}", report.summary());
        if let Some(path) = &report.run_report_path {
            eprintln!("run report: {path}");
        }
    }
}

/// A progress bar on stderr when a person watches it (a terminal, text mode); otherwise hidden,
/// so nothing of it reaches a pipe, a log file or the JSON lines.
pub fn progress(len: u64, unit: &str) -> indicatif::ProgressBar {
    if is_json() || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let template = format!("{{bar:40.cyan/blue}} {{pos}}/{{len}} {unit} {{msg}} ({{elapsed}})");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `notice`, printed above a progress bar rather than through it.
pub fn notice_above(bar: &indicatif::ProgressBar, message: &str) {
    bar.suspend(|| notice(message));
}

/// The merge after a run's commit: one `trendlake::merge` event; in text mode its line.
pub fn merge_result(report: &RunReport) {
    let merge = &report.merge;
    info!(
        target: "trendlake::merge",
        run_id = %report.run_id,
        snapshot_date = %report.snapshot_date,
        merge_status = %merge.status,
        merge_snapshots = merge.snapshots as u64,
        merge_rows = merge.rows as u64,
        merge_tracked_rows = merge.tracked_rows as u64,
        merge_error = merge.error.as_deref(),
        merge_removed = %merge.removed.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","),
        merge_ms = report.merge_ms as u64,
        outcome = %report.outcome(),
        exit_code = report.exit_code(),
        run_report_path = report.run_report_path.as_deref(),
        "{}",
        report.merge_summary()
    );
    if !is_json() {
        eprintln!("{}", report.merge_summary());
    }
}

/// `check`'s findings: one line per problem on stdout (one JSON object per line in JSON mode),
/// then on stderr what no commit names any more, what `--prune` removed, and a summary.
pub fn check_result(
    lake: &trendlake::lake::Lake,
    report: &trendlake::check::Report,
    grace_hours: u64,
    pruned: Option<&trendlake::check::Pruned>,
) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for p in &report.problems {
        let line = if is_json() {
            serde_json::to_string(p).expect("a problem serialises")
        } else {
            p.to_string()
        };
        // A closed pipe (`check | head`) ends the listing quietly.
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    if !report.orphans.is_empty() {
        let bytes: u64 = report.orphans.iter().map(|o| o.bytes).sum();
        let count = |kind| report.orphans.iter().filter(|o| o.kind == kind).count();
        use trendlake::check::OrphanKind::*;
        let line = format!(
            "not named by any commit (not a problem): {} raw run(s), {} superseded commit record(s), {} trash folder(s), {} KiB in all",
            count(RawRun),
            count(CommitRecord),
            count(Trash),
            bytes.div_ceil(1024)
        );
        match pruned {
            Some(_) => notice(&line),
            None => notice(&format!(
                "{line}; `trendlake check --prune` removes those older than {grace_hours} hours"
            )),
        }
    }
    if !report.no_chart.is_empty() {
        // Per chart, how many nights: a chart the API never had is one line, not one a night.
        let mut charts: std::collections::BTreeMap<String, usize> = Default::default();
        for n in &report.no_chart {
            *charts
                .entry(format!("{}/{}", n.region, n.category))
                .or_default() += 1;
        }
        let listed: Vec<String> = charts
            .iter()
            .map(|(chart, nights)| format!("{chart} ({nights} night(s))"))
            .collect();
        notice(&format!(
            "category charts the API did not have (not missing snapshots, not a problem): {}",
            listed.join(", ")
        ));
    }
    if let Some(p) = pruned {
        notice(&format!(
            "pruned {} item(s), {} KiB; kept {} younger than {grace_hours} hours",
            p.removed.len(),
            p.bytes.div_ceil(1024),
            p.kept
        ));
    }
    let summary = match report.problems.len() {
        0 => format!(
            "{}: the lake and the warehouse agree; no problems",
            lake.url()
        ),
        n => format!("{}: {n} problem(s)", lake.url()),
    };
    notice(&summary);
}

/// What makes a report that failed after a run, put where `run --report` puts it.
pub fn republish_hint(date: chrono::NaiveDate) -> String {
    format!(
        "make the report into the lake with `trendlake report --date {date} --publish` (with the \
         run's --lake and --warehouse), or the next `trendlake run --report` makes it"
    )
}

/// `run --report`'s report: one `trendlake::report` event; in text mode its line.
pub fn report_result(report: &RunReport) {
    let Some(made) = &report.report else { return };
    let line = match made.status {
        trendlake::pipeline::ReportStatus::Written => format!(
            "report written: {} (index: {})",
            made.path.as_deref().unwrap_or(""),
            made.index.as_deref().unwrap_or("")
        ),
        trendlake::pipeline::ReportStatus::Skipped => format!(
            "report not made: {}",
            made.error.as_deref().unwrap_or("nothing to report")
        ),
        trendlake::pipeline::ReportStatus::Failed => format!(
            "report failed: {}. The snapshot of {} is committed and merged; {} (exit code {})",
            made.error.as_deref().unwrap_or("unknown error"),
            report.snapshot_date,
            republish_hint(report.snapshot_date),
            report.exit_code()
        ),
    };
    info!(
        target: "trendlake::report",
        run_id = %report.run_id,
        snapshot_date = %report.snapshot_date,
        report_status = %made.status,
        report_html_path = made.path.as_deref(),
        report_index_path = made.index.as_deref(),
        report_error = made.error.as_deref(),
        outcome = %report.outcome(),
        exit_code = report.exit_code(),
        run_report_path = report.run_report_path.as_deref(),
        "{line}"
    );
    if !is_json() {
        eprintln!("{line}");
    }
}
