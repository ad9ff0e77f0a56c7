//! Command line: clap flags (docs/commands.md), layered with the environment and an optional
//! TOML file (`layering`), validated into settings before any I/O (`validate`), then dispatched.
//! A usage error touches nothing.

mod ddl;
mod help;
mod layering;
pub mod metrics;
mod prompt;
mod validate;

use std::io::Write;
#[cfg(feature = "fake-api")]
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::logging::{self, LogFormat};
use crate::output::{Format, output_format, write_stream};
use trendlake::clock::Clock;
use trendlake::lake::Lake;
use trendlake::pipeline::{self, Outcome};
use trendlake::queries::{Binding, MissingDate, NAMED_QUERIES, bind_free, named_query};
use trendlake::regions::regions;
use trendlake::warehouse::statement::Script;
use trendlake::warehouse::{Warehouse, WarehouseError};
use trendlake::youtube::ApiKey;

use layering::name_of;
pub use layering::{ConfigError, Origin, ParseError, Parsed, Setting, known_keys, parse};
pub use validate::{is_loopback, parse_date, parse_regions};

pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com/youtube/v3";

#[derive(Debug, Parser)]
#[command(
    name = "trendlake",
    version,
    about = "Snapshot YouTube's trending chart into a Parquet lake and a DuckDB warehouse",
    after_help = help::TOP,
    max_term_width = 100
)]
pub struct Cli {
    /// A TOML file of settings, read by run, snapshot, merge, rebuild, forget, check, query, report,
    /// ddl and config (no other command reads it); precedence: flag > env > file > default.
    #[arg(long, global = true, env = "TRENDLAKE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines on stderr: `text` for people, `json` (one JSON object per line) for schedulers.
    #[arg(
        long,
        global = true,
        env = "TRENDLAKE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The API key given on the command line, in `YOUTUBE_API_KEY` or in the config file.
    pub fn api_key(&self) -> Option<ApiKey> {
        let key = match &self.command {
            Command::Run(a) => a.fetch.api_key.as_ref(),
            Command::Snapshot(a) => a.fetch.api_key.as_ref(),
            Command::Config(a) => a.fetch.api_key.as_ref(),
            #[cfg(feature = "fake-api")]
            Command::FakeApi(a) => a.api_key.as_ref(),
            _ => None,
        };
        validate::api_key(key)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The nightly job: snapshot, then merge; idempotent for a date.
    #[command(after_help = help::RUN)]
    Run(RunArgs),
    /// Fetch every region concurrently and write the date's Parquet snapshot (no merge).
    #[command(after_help = help::SNAPSHOT)]
    Snapshot(SnapshotArgs),
    /// Merge every snapshot not yet merged or changed since (or --date D) into the warehouse.
    #[command(after_help = help::MERGE)]
    Merge(MergeArgs),
    /// Re-derive snapshots from the raw pages in the lake (no API calls), then merge them.
    #[command(after_help = help::REBUILD)]
    Rebuild(RebuildArgs),
    /// Take dates out of the lake and the warehouse, recoverably: their snapshot, raw pages, run
    /// reports and report page move under _trash/ (emptied by `check --prune`), the reports index
    /// is rewritten, and the merge removes them from the warehouse.
    #[command(after_help = help::FORGET)]
    Forget(ForgetArgs),
    /// Verify the lineage: raw pages, snapshots and the warehouse against each other; exit 0, 1
    /// with every problem, or 6 when it could not finish.
    #[command(after_help = help::CHECK)]
    Check(CheckArgs),
    /// Run SQL (an argument, --file, --name or stdin) against the warehouse, read-only; with
    /// none on a terminal, an interactive prompt.
    #[command(after_help = help::READS)]
    Query(QueryArgs),
    /// Write a date's trend report: one self-contained HTML page (inline SVG charts, nothing
    /// loaded from anywhere) from the warehouse's named queries.
    #[command(after_help = help::READS)]
    Report(ReportArgs),
    /// Print the DDL that registers the lake's tables in Spark, Trino, Athena or BigQuery, typed
    /// as its Parquet files and partitioned by snapshot_date (see docs/engines.md).
    #[command(after_help = help::READS)]
    Ddl(ddl::DdlArgs),
    /// The no-setup main job: serve the fake API in-process and build --days of history.
    #[cfg(feature = "fake-api")]
    #[command(after_help = help::DEMO)]
    Demo(DemoArgs),
    /// Serve the fake YouTube API (for tests and trials; no key, no network).
    #[cfg(feature = "fake-api")]
    #[command(after_help = help::FAKE_API)]
    FakeApi(FakeApiArgs),
    /// Print the effective settings of `run` and where each came from (key redacted).
    #[command(after_help = help::READS)]
    Config(RunArgs),
    /// Print shell completions for bash, zsh, fish or powershell.
    #[command(after_help = help::PRINTS)]
    Completions(CompletionsArgs),
    /// Print the man page (or write one page per command into --dir).
    #[command(after_help = help::PRINTS)]
    Man(ManArgs),
    /// List the supported region codes, their names and time zones.
    #[command(after_help = help::PRINTS)]
    Regions,
}

/// `--api-key`'s value as an [`ApiKey`], whose `Debug` never shows it.
fn api_key_parser() -> impl clap::builder::TypedValueParser<Value = ApiKey> {
    use clap::builder::TypedValueParser as _;
    clap::builder::StringValueParser::new().map(ApiKey::new)
}

/// How to reach the API and how hard to push it.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// API key; required unless the base URL is loopback. Never printed, logged or written.
    // An `ApiKey`, not a `String`, so `{:?}` of these arguments (and of all that holds them)
    // shows `[REDACTED]`.
    #[arg(
        long,
        env = "YOUTUBE_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        value_parser = api_key_parser()
    )]
    pub api_key: Option<ApiKey>,
    /// Root of the YouTube Data API v3 (or a compatible server, such as `trendlake fake-api`).
    #[arg(long, env = "YOUTUBE_API_BASE_URL", default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub api_base_url: String,
    /// Region codes to fetch, comma-separated (`trendlake regions` lists them).
    #[arg(
        long,
        env = "TRENDLAKE_REGIONS",
        value_delimiter = ',',
        default_value = "JP,KR,TW,SG,VN,TH,HK,US,GB",
        value_name = "JP,KR,…"
    )]
    pub regions: Vec<String>,
    /// Requests in flight at most, across all regions (and as many regions in progress).
    #[arg(
        long,
        env = "TRENDLAKE_CONCURRENCY",
        default_value_t = 5,
        value_name = "N"
    )]
    pub concurrency: usize,
    /// Items per region (the whole chart is 200).
    #[arg(
        long,
        env = "TRENDLAKE_PER_REGION",
        default_value_t = 200,
        value_name = "N"
    )]
    pub per_region: usize,
    /// Timeout of one request, in seconds.
    #[arg(
        long,
        env = "TRENDLAKE_TIMEOUT_SECS",
        default_value_t = 30.0,
        value_name = "S"
    )]
    pub timeout_secs: f64,
    /// Attempts per request when the API fails transiently (429, 5xx, timeouts, resets).
    #[arg(
        long,
        env = "TRENDLAKE_MAX_ATTEMPTS",
        default_value_t = 6,
        value_name = "N"
    )]
    pub max_attempts: usize,
    /// First retry delay in milliseconds; doubles per retry, with jitter, up to 30 s.
    #[arg(
        long,
        env = "TRENDLAKE_RETRY_MIN_DELAY_MS",
        default_value_t = 500,
        value_name = "MS"
    )]
    pub retry_min_delay_ms: u64,
    /// Total seconds one region may take from its first request, retries included.
    #[arg(
        long,
        env = "TRENDLAKE_REGION_BUDGET_SECS",
        default_value_t = 300,
        value_name = "S"
    )]
    pub region_budget_secs: u64,
    /// Quota units this run may spend at most; regions that would not fit are left out.
    #[arg(long, env = "TRENDLAKE_QUOTA_BUDGET", value_name = "N")]
    pub quota_budget: Option<u32>,
    /// Requests per second at most, across all regions.
    #[arg(long, env = "TRENDLAKE_MAX_RPS", value_name = "R")]
    pub max_rps: Option<f64>,
    /// After the charts, follow the videos that left them within this many days (one call per
    /// 50 videos); 0 turns tracking off.
    #[arg(
        long,
        env = "TRENDLAKE_TRACK_DAYS",
        default_value_t = 30,
        value_name = "DAYS"
    )]
    pub track_days: u32,
    /// Quota units tracking may spend at most (default: what the charts left of --quota-budget).
    #[arg(long, env = "TRENDLAKE_TRACK_BUDGET", value_name = "N")]
    pub track_budget: Option<u32>,
    /// Category charts besides each region's general chart: none, assignable (every category
    /// videoCategories.list marks assignable, 1 unit a region to list), or ids such as
    /// 10,17,20,24,25.
    #[arg(
        long,
        env = "TRENDLAKE_CATEGORIES",
        default_value = "none",
        value_name = "WHICH"
    )]
    pub categories: trendlake::chart::Categories,
    /// A category chart the API did not have is asked for again after this many days (0: every
    /// night).
    #[arg(
        long,
        env = "TRENDLAKE_RECHECK_DAYS",
        default_value_t = 7,
        value_name = "DAYS"
    )]
    pub recheck_days: u32,
}

/// Where the lake is.
#[derive(Debug, Args)]
pub struct LakeArg {
    /// The lake: a path, file://… or s3://bucket/prefix (S3 credentials from AWS_* variables).
    #[arg(
        long,
        env = "TRENDLAKE_LAKE",
        default_value = "./data/lake",
        value_name = "URL"
    )]
    pub lake: String,
}

/// Where the warehouse is.
#[derive(Debug, Args)]
pub struct WarehouseArg {
    /// The DuckDB warehouse file.
    #[arg(
        long,
        env = "TRENDLAKE_WAREHOUSE",
        default_value = "./data/warehouse.duckdb",
        value_name = "PATH"
    )]
    pub warehouse: PathBuf,
}

/// Which date a snapshot is for.
#[derive(Debug, Args)]
pub struct SnapshotDateArgs {
    /// The snapshot's partition, YYYY-MM-DD (default: today, UTC).
    #[arg(long, env = "TRENDLAKE_DATE", value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Store the chart under a --date other than today although the API serves today's chart.
    #[arg(long, env = "TRENDLAKE_DATE_ANYWAY")]
    pub date_anyway: bool,
    /// Fetch only the regions the date's snapshot lacks (after a partial run).
    #[arg(long, env = "TRENDLAKE_ONLY_MISSING")]
    pub only_missing: bool,
}

/// Where the run's metrics go.
#[derive(Debug, Args)]
pub struct MetricsArg {
    /// At the end of every run, whatever its outcome, write its metrics to this file in
    /// Prometheus' text format, for node_exporter's textfile collector (the name must end in
    /// .prom); replaced whole, and the last success kept from the file in place when the run
    /// fails (see docs/metrics.md).
    #[arg(long, env = "TRENDLAKE_METRICS_FILE", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub fetch: FetchArgs,
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub date: SnapshotDateArgs,
    #[command(flatten)]
    pub metrics: MetricsArg,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub fetch: FetchArgs,
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub date: SnapshotDateArgs,
    /// After the merge, write the date's HTML report into the lake
    /// (_reports/snapshot_date=D/report.html) and refresh _reports/index.html, a static site
    /// linking every date. A failed report leaves the data committed and merged (exit code 5).
    #[arg(long, env = "TRENDLAKE_REPORT")]
    pub report: bool,
    #[command(flatten)]
    pub metrics: MetricsArg,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("destination").required(true).args(["output", "publish"]))]
pub struct ReportArgs {
    /// The chart date to report, YYYY-MM-DD (default: the warehouse's latest snapshot).
    #[arg(long, env = "TRENDLAKE_DATE", value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Write the page to this file (it appears only when complete), or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Put the page into the lake (_reports/snapshot_date=D/report.html) and rewrite
    /// _reports/index.html, as `run --report` does: what makes a report that failed after a run.
    #[arg(long)]
    pub publish: bool,
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Merge this date only, even if it was merged before.
    #[arg(long, env = "TRENDLAKE_DATE", value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Rebuild this date.
    #[arg(long, env = "TRENDLAKE_DATE", value_name = "YYYY-MM-DD", conflicts_with_all = ["from", "to"])]
    pub date: Option<String>,
    /// Rebuild every date with raw pages from this one on (with --to, up to that one).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,
    /// Rebuild every date with raw pages up to this one.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Forget this date. (Not a setting a config file or TRENDLAKE_DATE can give: forgetting is
    /// asked for, date by date, on the command line.)
    #[arg(
        long = "date",
        id = "forget_date",
        value_name = "YYYY-MM-DD",
        conflicts_with_all = ["from", "to"],
        required_unless_present_any = ["from", "to"]
    )]
    pub date: Option<String>,
    /// Forget every date from this one on (with --to, up to that one).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "to")]
    pub from: Option<String>,
    /// Forget every date up to this one.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub lake: LakeArg,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Then remove what no commit names (raw pages of runs that died, lost their commit or were
    /// re-run; commit records of replaced files; `forget`'s trash) once older than --grace-hours.
    #[arg(long)]
    pub prune: bool,
    /// How old what --prune removes must be, in hours: a run in flight, or a forgotten date
    /// someone may want back, is younger.
    #[arg(
        long,
        env = "TRENDLAKE_GRACE_HOURS",
        default_value_t = 168,
        value_name = "H"
    )]
    pub grace_hours: u64,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// SQL to run: statements that read (SELECT, WITH … SELECT, FROM …, DESCRIBE, …); several,
    /// separated by `;`, run in order, each result printed. Without SQL, --file or --name: SQL
    /// piped on stdin, or on a terminal an interactive prompt.
    pub sql: Option<String>,
    /// Read the SQL from a file: a script of one statement or several, run in order.
    #[arg(long, conflicts_with = "sql", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A named query from sql/queries/ (see --list).
    #[arg(long, conflicts_with_all = ["sql", "file"], value_name = "NAME")]
    pub name: Option<String>,
    /// List the named queries and their parameters.
    #[arg(long)]
    pub list: bool,
    /// Set a variable the SQL reads with getvariable('K'); repeatable. A named query takes only
    /// the parameters it declares, checked by type (see --list).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Output format (default: from --output's extension, else table on a terminal, else csv).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the result to this file instead of stdout (.csv, .json, .jsonl or .ndjson,
    /// .parquet); it appears only when complete, so a failed query leaves none.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows the table format shows at most, followed by a count of all of them (0: no limit).
    /// Only the table: csv, json, jsonl and parquet always hold every row.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub max_rows: usize,
    /// Of several statements, print (or write to --output) only the last one's result; the
    /// others still run first, and an error in any of them still stops the script.
    #[arg(long)]
    pub last: bool,
    /// With --name: a `date` the warehouse holds no snapshot of is answered anyway (with
    /// nothing, for a chart date; exit 0) instead of exit 2 naming the nearest dates held.
    #[arg(long)]
    pub allow_empty: bool,
    /// The session's time zone, as DuckDB's `SET TimeZone`: what hour(), date_trunc, ::DATE
    /// and the printing of the warehouse's TIMESTAMPTZ columns follow (an IANA name). The named
    /// queries answer the same in any.
    #[arg(
        long,
        env = "TRENDLAKE_TIME_ZONE",
        default_value = trendlake::warehouse::DEFAULT_TIME_ZONE,
        value_name = "ZONE"
    )]
    pub time_zone: String,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
}

#[cfg(feature = "fake-api")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Days of history to build.
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub days: u32,
    /// The last day (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Where the demo's lake and warehouse go.
    #[arg(long, default_value = "./data/demo", value_name = "DIR")]
    pub dir: PathBuf,
    /// The demo's lake instead of DIR/lake: a path, file://… or s3://bucket/prefix (the
    /// warehouse stays in DIR).
    #[arg(long, value_name = "URL")]
    pub lake: Option<String>,
    /// Region codes, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "JP,KR,TW,SG,VN,TH,HK,US,GB",
        value_name = "JP,KR,…"
    )]
    pub regions: Vec<String>,
    /// Seed of the fake's synthetic charts.
    #[arg(long, default_value_t = 42, value_name = "N")]
    pub seed: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 9, value_name = "N")]
    pub concurrency: usize,
    /// Category charts besides each region's general chart, as `run --categories` takes them
    /// (none, assignable, or ids).
    #[arg(long, default_value = "10,17,20,24,25", value_name = "WHICH")]
    pub categories: trendlake::chart::Categories,
}

#[cfg(feature = "fake-api")]
#[derive(Debug, Args)]
pub struct FakeApiArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// Serve this day's chart, whatever the date (default: the current UTC date at each
    /// request, so a fake left running serves each day's chart on that day).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Seed of the synthetic charts.
    #[arg(long, default_value_t = 42, value_name = "N")]
    pub seed: u64,
    /// Delay before every response, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// The only key accepted (default: any key, or none).
    #[arg(long, value_name = "KEY", value_parser = api_key_parser())]
    pub api_key: Option<ApiKey>,
    /// Quota units before quotaExceeded.
    #[arg(long, value_name = "N")]
    pub quota: Option<u64>,
    /// A JSON plan of injected faults (see docs/fake_api.md).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// Answer a category chart that does not exist with 404 notFound (as seen live) instead of
    /// the documented 400 videoChartNotFound.
    #[arg(long)]
    pub chart_not_found_404: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write trendlake.1 and one trendlake-COMMAND.1 per command into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `snapshot`, and for `run` the merge after it; then, with `--metrics-file`, the run's metrics,
/// whatever its outcome (a metrics file that cannot be written is a warning: the run's outcome
/// and exit code stand).
async fn snapshot_then_merge(job: validate::Job) -> Result<Outcome> {
    let metrics_file = job.metrics_file.clone();
    let quota_budget = job.snapshot.fetch.quota_budget;
    let mut report = None;
    let outcome = night(job, &mut report).await;
    if let Some(path) = metrics_file {
        let night = match (&report, &outcome) {
            (Some(report), _) => metrics::Night::of_report(report, quota_budget),
            (None, Ok(outcome)) => metrics::Night::without_report(
                outcome.exit_code(),
                chrono::Utc::now(),
                quota_budget,
            ),
            (None, Err(e)) => {
                metrics::Night::without_report(e.exit_code(), chrono::Utc::now(), quota_budget)
            }
        };
        if let Err(e) = metrics::write(&path, &night) {
            logging::warning(&e.to_string());
        }
    }
    outcome
}

/// The run itself, leaving its report in `report`. Every run that gets as far as the lake leaves
/// a run report, `--only-missing` with nothing missing too (it says what the snapshot holds and
/// what the merge did): the date's newest report is always the last run's. The merge runs
/// whenever anything is in the lake, even when nothing was fetched: an earlier run may have
/// committed and stopped before its merge.
async fn night(
    mut job: validate::Job,
    report: &mut Option<pipeline::RunReport>,
) -> Result<Outcome> {
    let lake = Lake::open(&job.lake)?;
    if job.only_missing {
        // The run leaves out every chart the snapshot holds (category charts are known only
        // once the regions' categories are listed, so the pipeline does the leaving out).
        job.snapshot.present = pipeline::present_regions(&lake, job.snapshot.date).await?;
        job.snapshot.track.only_if_missing = true;
        let missing: Vec<&str> = job
            .snapshot
            .regions
            .iter()
            .filter(|r| !job.snapshot.present.contains(r))
            .map(String::as_str)
            .collect();
        if job.snapshot.categories.any() {
            logging::notice(&format!(
                "{}: fetching the charts the snapshot lacks ({} held already)",
                job.snapshot.date,
                job.snapshot.present.len()
            ));
        } else if missing.is_empty() {
            logging::notice(&format!(
                "{}: every requested region is already in the snapshot; nothing to fetch",
                job.snapshot.date
            ));
        } else {
            logging::notice(&format!(
                "{}: fetching the missing regions {}",
                job.snapshot.date,
                missing.join(",")
            ));
        }
    }
    let made = report.insert(
        pipeline::run(
            &job.snapshot,
            &lake,
            job.warehouse.as_deref(),
            logging::run_report,
        )
        .await?,
    );
    if let Some(warehouse) = &job.warehouse {
        logging::merge_result(made);
        if job.report {
            pipeline::report(&job.snapshot, &lake, warehouse, made).await;
            logging::report_result(made);
        }
    }
    Ok(made.outcome())
}

pub async fn execute(parsed: Parsed) -> Result<Outcome> {
    let Parsed { cli, settings } = parsed;
    match cli.command {
        Command::Snapshot(args) => {
            snapshot_then_merge(validate::snapshot_job(&args, &settings)?).await
        }
        Command::Run(args) => snapshot_then_merge(validate::run_job(&args, &settings)?).await,
        Command::Merge(args) => {
            let only = args
                .date
                .as_deref()
                .map(|d| parse_date(Some(d), &name_of(&settings, "date")))
                .transpose()?;
            let lake = Lake::open_existing(&args.lake.lake).await?;
            merge_and_say(&lake, &args.warehouse.warehouse, only).await?;
            Ok(Outcome::Complete)
        }
        Command::Rebuild(args) => rebuild(args, &settings).await,
        Command::Forget(args) => forget(args).await,
        Command::Check(args) => {
            let lake = Lake::open_existing(&args.lake.lake)
                .await
                .map_err(|e| trendlake::Error::from(e).unchecked())?;
            let report = trendlake::check::check(&lake, &args.warehouse.warehouse)
                .await
                .map_err(trendlake::Error::unchecked)?;
            let grace = chrono::Duration::hours(args.grace_hours as i64);
            let pruned = match args.prune {
                true => Some(
                    trendlake::check::prune(&lake, &report.orphans, grace, chrono::Utc::now())
                        .await
                        .map_err(trendlake::Error::unchecked)?,
                ),
                false => None,
            };
            logging::check_result(&lake, &report, args.grace_hours, pruned.as_ref());
            Ok(if report.problems.is_empty() {
                Outcome::Complete
            } else {
                Outcome::Failed
            })
        }
        Command::Query(args) => query(args).await.map_err(demo_hint),
        Command::Report(args) => report(args, &settings).await.map_err(demo_hint),
        Command::Ddl(args) => ddl::ddl(args, &settings).await,
        #[cfg(feature = "fake-api")]
        Command::Demo(args) => crate::demo::demo(validate::demo_settings(args)?).await,
        #[cfg(feature = "fake-api")]
        Command::FakeApi(args) => fake_api(args).await,
        Command::Config(args) => {
            print!("{}", layering::describe(&settings));
            std::io::stdout().flush().map_err(stdout_error)?;
            // Then validate as `run` would: a setting `run` would refuse is exit 2 here too.
            validate::run_job(&args, &settings)?;
            Ok(Outcome::Complete)
        }
        Command::Completions(args) => {
            let shell = match args.shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
                Shell::Powershell => clap_complete::Shell::PowerShell,
            };
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "trendlake", &mut script);
            write_stdout(&script)?;
            Ok(Outcome::Complete)
        }
        Command::Man(args) => man(args.dir),
        Command::Regions => {
            let mut out = std::io::stdout().lock();
            for r in regions() {
                writeln!(out, "{}  {:<32}  {}", r.code, r.name, r.time_zone)
                    .map_err(stdout_error)?;
            }
            Ok(Outcome::Complete)
        }
    }
}

/// `report`: the page of one date from the warehouse, written whole to `--output` (or stdout),
/// or with `--publish` into the lake's `_reports/` as `run --report` does.
async fn report(args: ReportArgs, settings: &[Setting]) -> Result<Outcome> {
    use trendlake::report::{Placement, generate, write_file};
    let date = args
        .date
        .as_deref()
        .map(|d| parse_date(Some(d), &name_of(settings, "date")))
        .transpose()?;
    let Some(output) = args.output.clone() else {
        let lake = Lake::open_existing(&args.lake.lake).await?;
        let published =
            trendlake::report::make_and_publish(&lake, &args.warehouse.warehouse, date).await?;
        logging::notice(&format!(
            "report written: {} (index: {})",
            published.path, published.index
        ));
        return Ok(Outcome::Complete);
    };
    let warehouse = args.warehouse.warehouse.clone();
    let to_stdout = output.as_os_str() == "-";
    let shown = output.display().to_string();
    let made = tokio::task::spawn_blocking(move || -> Result<trendlake::report::Report> {
        let made = generate(&warehouse, date, Placement::Standalone)?;
        if to_stdout {
            write_stdout(made.html.as_bytes())?;
        } else {
            write_file(&output, &made.html)?;
        }
        Ok(made)
    })
    .await
    .expect("the report does not panic")?;
    if !to_stdout {
        logging::notice(&format!(
            "report of {} written to {shown} ({} KiB)",
            made.date,
            made.html.len().div_ceil(1024)
        ));
    }
    Ok(Outcome::Complete)
}

/// Where the demo leaves its warehouse (`demo`'s default `--dir`).
const DEMO_WAREHOUSE: &str = "data/demo/warehouse.duckdb";

/// A missing warehouse named with the one the demo built, when there is one here: what a demo
/// user's next `query` or `report` needs.
fn demo_hint(e: Error) -> Error {
    use trendlake::report::ReportError;
    let named = |path, hint: String| {
        let hint = match hint.is_empty() && std::path::Path::new(DEMO_WAREHOUSE).is_file() {
            true => format!("; the demo's is --warehouse {DEMO_WAREHOUSE}"),
            false => hint,
        };
        WarehouseError::Missing { path, hint }
    };
    match e {
        Error::Run(e) => match *e {
            trendlake::Error::Warehouse(WarehouseError::Missing { path, hint }) => {
                named(path, hint).into()
            }
            trendlake::Error::Report(ReportError::Warehouse(WarehouseError::Missing {
                path,
                hint,
            })) => ReportError::Warehouse(named(path, hint)).into(),
            e => e.into(),
        },
        e => e,
    }
}

/// Write `bytes` to stdout. A reader that stopped reading (`| head`) ends the output quietly:
/// what it wanted it has.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.map_err(stdout_error),
    }
}

/// `forget`: the dates asked for moved out of the lake into its trash, then the merge that
/// removes them from the warehouse.
async fn forget(args: ForgetArgs) -> Result<Outcome> {
    // Flags only: no variable or config file names a date to forget.
    let day = |v: &Option<String>, flag: &str| {
        v.as_deref().map(|d| parse_date(Some(d), flag)).transpose()
    };
    let (from, to) = match day(&args.date, "--date")? {
        Some(d) => (d, d),
        None => (
            day(&args.from, "--from")?.expect("clap requires --from"),
            day(&args.to, "--to")?.expect("clap requires --to"),
        ),
    };
    let lake = Lake::open_existing(&args.lake.lake).await?;
    let forgotten = pipeline::forget(&lake, from, to).await?;
    let asked = if from == to {
        from.to_string()
    } else {
        format!("{from} to {to}")
    };
    if forgotten.dates.is_empty() {
        logging::notice(&format!("the lake {} holds nothing of {asked}", lake.url()));
    } else {
        let dates: Vec<String> = forgotten.dates.iter().map(|d| d.to_string()).collect();
        logging::notice(&format!(
            "moved {} object(s) of {} into {} (move them back to restore; `trendlake check --prune` \
             empties it after the grace period){}",
            forgotten.objects,
            dates.join(", "),
            forgotten.trash,
            forgotten
                .index
                .as_deref()
                .map(|i| format!("; reports index rewritten: {i}"))
                .unwrap_or_default()
        ));
    }
    // The warehouse follows the lake: the merge removes what the lake no longer holds.
    merge_and_say(&lake, &args.warehouse.warehouse, None).await?;
    Ok(Outcome::Complete)
}

/// `rebuild`: the dates asked for, re-derived from raw pages, then merged.
async fn rebuild(args: RebuildArgs, settings: &[Setting]) -> Result<Outcome> {
    let day = |v: &Option<String>, key: &str| {
        v.as_deref()
            .map(|d| parse_date(Some(d), &name_of(settings, key)))
            .transpose()
    };
    let (date, from, to) = (
        day(&args.date, "date")?,
        day(&args.from, "from")?,
        day(&args.to, "to")?,
    );
    if date.is_none() && from.is_none() && to.is_none() {
        return Err(Error::Usage(
            "rebuild needs --date D, or --from D1 (and/or --to D2)".into(),
        ));
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(Error::Usage(format!(
            "--from {from} is after --to {to}; give the earlier date first"
        )));
    }
    let range = match date {
        Some(d) => (Some(d), Some(d)),
        None => (from, to),
    };
    let lake = Lake::open_existing(&args.lake.lake).await?;
    let report = pipeline::rebuild(&lake, range).await?;
    for d in &report.dates {
        // A date with category charts counts charts (`JP/10` is one), else regions as ever.
        let what = match d
            .regions
            .iter()
            .any(|k| trendlake::chart::api_category(k).is_some())
        {
            true => "chart(s)",
            false => "region(s)",
        };
        logging::notice(&format!(
            "{}: rebuilt {} {what}, {} rows from raw pages{}",
            d.date,
            d.regions.len(),
            d.rows,
            if d.unchanged {
                "; identical to the snapshot in place"
            } else {
                ""
            }
        ));
    }
    merge_and_say(&lake, &args.warehouse.warehouse, None).await?;
    Ok(Outcome::Complete)
}

/// The merge a command ends with (or is): the warehouse made to follow the lake, and one line
/// saying what it did. A failure is the merge's own (exit 4: the lake is safe).
async fn merge_and_say(
    lake: &Lake,
    warehouse: &std::path::Path,
    only: Option<chrono::NaiveDate>,
) -> Result<()> {
    let report = pipeline::merge(lake, warehouse, only, Clock::System)
        .await
        .map_err(trendlake::Error::merge_failed)?;
    let rows: usize = report.merged.iter().map(|m| m.1).sum();
    let removed: Vec<chrono::NaiveDate> = report.removed.iter().map(|(d, _)| *d).collect();
    logging::notice(&format!(
        "merged {} snapshot(s), {rows} chart entries; {} already up to date{}",
        report.merged.len(),
        report.up_to_date,
        pipeline::removed_note(&removed)
    ));
    Ok(())
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write to stdout".into(),
        source: e,
    }
}

/// The man page of trendlake, or with `dir` one page per command (`trendlake-run.1`, …).
fn man(dir: Option<PathBuf>) -> Result<Outcome> {
    let mut cmd = Cli::command();
    // Built, so each command's page lists the global flags too.
    cmd.build();
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .map_err(stdout_error)?;
        write_stdout(&page)?;
        return Ok(Outcome::Complete);
    };
    let io = |path: &std::path::Path| {
        let context = format!("cannot write the man page {}", path.display());
        move |source| Error::Io { context, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut pages = vec![("trendlake".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("trendlake-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut buf)
            .map_err(io(&path))?;
        std::fs::write(&path, buf).map_err(io(&path))?;
    }
    Ok(Outcome::Complete)
}

#[cfg(feature = "fake-api")]
async fn fake_api(args: FakeApiArgs) -> Result<Outcome> {
    use trendlake_fake_api::FakeApi;
    let config = validate::fake_api_config(&args)?;
    let api = FakeApi::start(config, args.addr)
        .await
        .map_err(|e| Error::Io {
            context: format!("cannot listen on {}", args.addr),
            source: e,
        })?;
    println!("fake YouTube API listening on {}", api.base_url());
    std::io::stdout().flush().ok();
    tokio::signal::ctrl_c().await.map_err(|e| Error::Io {
        context: "waiting for Ctrl-C".into(),
        source: e,
    })?;
    Ok(Outcome::Complete)
}

async fn query(args: QueryArgs) -> Result<Outcome> {
    use std::io::IsTerminal;
    if args.list {
        write_named_queries(&mut std::io::stdout().lock(), "")?;
        return Ok(Outcome::Complete);
    }
    // Checked here, not by clap's `requires`: clap lets a requirement go when it conflicts with
    // an argument given (`--name` with SQL or `--file`), and a flag doing nothing would mislead.
    if args.allow_empty && args.name.is_none() {
        return Err(Error::Usage(
            "--allow-empty is for a named query (--name N) asked about a date without a \
             snapshot; SQL of your own is never refused for its dates"
                .into(),
        ));
    }
    /// Where the SQL comes from.
    enum Source {
        Text(String, Vec<Binding>),
        Named(&'static trendlake::queries::NamedQuery, Vec<Binding>),
        Stdin(Vec<Binding>),
        Prompt(Vec<Binding>),
    }
    let source = match (&args.sql, &args.file, &args.name) {
        (Some(sql), _, _) => Source::Text(sql.clone(), bind_free(&args.params)?),
        (_, Some(file), _) => Source::Text(
            std::fs::read_to_string(file).map_err(|e| Error::Io {
                context: format!("cannot read --file {}", file.display()),
                source: e,
            })?,
            bind_free(&args.params)?,
        ),
        (_, _, Some(name)) => {
            let q = named_query(name)?;
            Source::Named(q, q.bind(&args.params)?)
        }
        _ if !std::io::stdin().is_terminal() => Source::Stdin(bind_free(&args.params)?),
        _ if std::io::stdout().is_terminal() => {
            if args.output.is_some() {
                return Err(Error::Usage(
                    "--output needs SQL, --file F or --name N; the interactive prompt prints \
                     to the terminal"
                        .into(),
                ));
            }
            Source::Prompt(bind_free(&args.params)?)
        }
        _ => {
            return Err(Error::Usage(
                "give SQL, --file F or --name N (see --list), or pipe SQL on stdin; on a \
                 terminal, `trendlake query` alone opens a prompt"
                    .into(),
            ));
        }
    };
    let format = output_format(args.format, args.output.as_deref())?;
    let warehouse = args.warehouse.warehouse.clone();
    let output = args.output.clone();
    let max_rows = args.max_rows;
    let missing = if args.allow_empty {
        MissingDate::Answer
    } else {
        MissingDate::Refuse
    };
    let last = args.last;
    let zone = args.time_zone.clone();
    let open = move || Warehouse::open_read_only_in(&warehouse, &zone);
    tokio::task::spawn_blocking(move || -> Result<()> {
        let (sql, params) = match source {
            Source::Named(q, params) => {
                let wh = open()?;
                wh.ready_for::<Error>(q, &params, missing)?;
                return wh
                    .query_each(q.sql, &params, |batches| {
                        write_stream(
                            batches.schema(),
                            batches,
                            format,
                            max_rows,
                            output.as_deref(),
                        )
                    })
                    .map(drop);
            }
            Source::Prompt(params) => {
                let wh = open()?;
                return prompt::run(&wh, format, max_rows, &params);
            }
            Source::Text(sql, params) => (sql, params),
            Source::Stdin(params) => {
                let sql = std::io::read_to_string(std::io::stdin()).map_err(|e| Error::Io {
                    context: "cannot read SQL from stdin".into(),
                    source: e,
                })?;
                if sql.trim().is_empty() {
                    return Err(Error::Usage(
                        "no SQL on stdin; give SQL, --file F or --name N (see --list)".into(),
                    ));
                }
                (sql, params)
            }
        };
        // The whole script is checked, and what it will print, before the warehouse is opened.
        let script = Script::check(&sql).map_err(WarehouseError::from)?;
        one_result_fits(script.len(), last, format, output.as_deref())?;
        let wh = open()?;
        let shown = if last { script.len() } else { 1 };
        wh.query_script(&script, &params, |s, batches| -> Result<()> {
            if s.at.index < shown {
                // Run all the same, to the end, unprinted: its errors stop the script.
                for batch in batches {
                    batch?;
                }
                return Ok(());
            }
            if s.at.index > shown {
                separate_results(format)?;
            }
            write_stream(
                batches.schema(),
                batches,
                format,
                max_rows,
                output.as_deref(),
            )
            .map(drop)
            .map_err(|e| match (e, s.position()) {
                // The output's own refusals (a type Parquet cannot hold) name the statement.
                (Error::Usage(why), Some(at)) => Error::Usage(format!("{at}: {why}")),
                (e, _) => e,
            })
        })
    })
    .await
    .expect("query does not panic")?;
    Ok(Outcome::Complete)
}

/// Several results do not go into one file: `--output` and Parquet (to a pipe) hold one, so a
/// script of several statements needs `--last` there. Checked before anything runs.
fn one_result_fits(
    statements: usize,
    last: bool,
    format: Format,
    output: Option<&std::path::Path>,
) -> Result<()> {
    if statements < 2 || last {
        return Ok(());
    }
    let holder = match (output, format) {
        (Some(path), _) => format!("--output {}", path.display()),
        (None, Format::Parquet) => "--format parquet".into(),
        (None, _) => return Ok(()),
    };
    Err(Error::Usage(format!(
        "this SQL holds {statements} statements, so {statements} results, and {holder} takes \
         one: add --last to write only the last statement's result (the others still run \
         first), or run them one at a time"
    )))
}

/// Between two results on stdout: a blank line after a table or a CSV result (so each CSV
/// result keeps its header, and a reader can split them), nothing between JSON arrays (one a
/// line already) or JSON lines (one stream of records). A reader that went away is not an
/// error, as within a result.
fn separate_results(format: Format) -> Result<()> {
    if !matches!(format, Format::Table | Format::Csv) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(b"\n").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.map_err(stdout_error),
    }
}

/// The named queries, each with its summary and parameters (`query --list`, `.list`).
fn write_named_queries(out: &mut impl Write, indent: &str) -> Result<()> {
    for q in NAMED_QUERIES {
        writeln!(out, "{indent}{:<20} {}", q.name, q.summary()).map_err(stdout_error)?;
        for p in q.params()? {
            writeln!(
                out,
                "{indent}    --param {}=<{}>  {} (default: {})",
                p.name,
                p.kind.name(),
                p.description,
                p.default
            )
            .map_err(stdout_error)?;
        }
    }
    Ok(())
}
