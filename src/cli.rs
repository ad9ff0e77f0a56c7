//! Command line: clap flags (SPEC "Command line") parsed into low-level args, then validated into
//! high-level settings before any I/O, so a usage error touches nothing.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow::array::RecordBatch;
use chrono::{NaiveDate, NaiveTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::fake_api::{FakeApi, FakeConfig};
use crate::fetch::FetchOptions;
use crate::lake::Lake;
use crate::pipeline::{self, Outcome, RunReport, SnapshotJob};
use crate::regions::{DEFAULT_REGIONS, region};
use crate::warehouse::{NAMED_QUERIES, Warehouse, named_query};
use crate::youtube::{ApiKey, Client};

pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com/youtube/v3";

#[derive(Debug, Parser)]
#[command(
    name = "trendlake",
    version,
    about = "Snapshot YouTube's trending chart into a Parquet lake and a DuckDB warehouse"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The API key given on the command line or in `YOUTUBE_API_KEY`, if any.
    pub fn api_key(&self) -> Option<ApiKey> {
        let key = match &self.command {
            Command::Run(a) | Command::Snapshot(a) => a.fetch.api_key.as_deref(),
            Command::FakeApi(a) => a.api_key.as_deref(),
            _ => None,
        };
        api_key(key)
    }
}

/// An empty key is no key.
fn api_key(key: Option<&str>) -> Option<ApiKey> {
    key.filter(|k| !k.is_empty()).map(ApiKey::new)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The nightly job: snapshot, then merge; idempotent for a date.
    Run(RunArgs),
    /// Fetch every region concurrently and write the date's Parquet snapshot.
    Snapshot(RunArgs),
    /// Merge every snapshot not yet merged (or --date D) into the warehouse.
    Merge(MergeArgs),
    /// Run SQL against the warehouse, read-only.
    Query(QueryArgs),
    /// Serve the built-in fake API in-process and build --days of history through the real pipeline.
    Demo(DemoArgs),
    /// Serve the fake YouTube API.
    FakeApi(FakeApiArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// API key (required unless the base URL is loopback).
    #[arg(long, env = "YOUTUBE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    #[arg(long, env = "YOUTUBE_API_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub api_base_url: String,
    /// Comma-separated ISO 3166-1 alpha-2 codes.
    #[arg(long, env = "TRENDLAKE_REGIONS", value_delimiter = ',', default_values_t = DEFAULT_REGIONS.iter().map(|s| s.to_string()).collect::<Vec<_>>())]
    pub regions: Vec<String>,
    /// Requests in flight at most.
    #[arg(long, env = "TRENDLAKE_CONCURRENCY", default_value_t = 5)]
    pub concurrency: usize,
    /// Items per region (the whole chart is 200).
    #[arg(long, default_value_t = 200)]
    pub per_region: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout_secs: f64,
    /// Attempts per request when the API fails transiently (429, 5xx, timeouts, resets).
    #[arg(long, default_value_t = 6)]
    pub max_attempts: usize,
    /// First retry delay in milliseconds; doubles per retry, with jitter.
    #[arg(long, default_value_t = 500)]
    pub retry_min_delay_ms: u64,
    /// Total seconds one region may take, retries included.
    #[arg(long, default_value_t = 300)]
    pub region_budget_secs: u64,
    /// Quota units this run may spend at most; regions that would not fit are left out.
    #[arg(long, env = "TRENDLAKE_QUOTA_BUDGET")]
    pub quota_budget: Option<u32>,
    /// Requests per second at most, across all regions.
    #[arg(long, env = "TRENDLAKE_MAX_RPS")]
    pub max_rps: Option<f64>,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// A path, file://… or s3://bucket/prefix.
    #[arg(long, env = "TRENDLAKE_LAKE", default_value = "./data/lake")]
    pub lake: String,
    #[arg(
        long,
        env = "TRENDLAKE_WAREHOUSE",
        default_value = "./data/warehouse.duckdb"
    )]
    pub warehouse: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub fetch: FetchArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The snapshot's partition (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// Fetch only the regions the date's snapshot lacks (after a partial run).
    #[arg(long)]
    pub only_missing: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Merge this date only, even if it was merged before.
    #[arg(long)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// SQL to run (one statement).
    pub sql: Option<String>,
    /// Read the SQL from a file.
    #[arg(long, conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// A named query from sql/queries/ (see --list).
    #[arg(long, conflicts_with_all = ["sql", "file"])]
    pub name: Option<String>,
    /// List the named queries.
    #[arg(long)]
    pub list: bool,
    /// k=v: sets a variable the SQL reads with getvariable('k').
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Output format (default: table on a terminal, else csv; or from --output's extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[arg(
        long,
        env = "TRENDLAKE_WAREHOUSE",
        default_value = "./data/warehouse.duckdb"
    )]
    pub warehouse: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Days of history to build.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// The last day (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// Where the demo's lake and warehouse go.
    #[arg(long, default_value = "./data/demo")]
    pub dir: PathBuf,
    #[arg(long, env = "TRENDLAKE_REGIONS", value_delimiter = ',', default_values_t = DEFAULT_REGIONS.iter().map(|s| s.to_string()).collect::<Vec<_>>())]
    pub regions: Vec<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 9)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct FakeApiArgs {
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Which day's chart to serve (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Delay before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// The only key accepted (default: any).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Quota units before quotaExceeded.
    #[arg(long)]
    pub quota: Option<u64>,
    /// A JSON plan of injected faults (see the README).
    #[arg(long)]
    pub faults: Option<PathBuf>,
}

/// What `main` turns into an exit code.
pub enum Finished {
    Ok,
    Partial,
    Failed,
}

impl From<Outcome> for Finished {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Complete => Finished::Ok,
            Outcome::Partial => Finished::Partial,
            Outcome::Failed => Finished::Failed,
        }
    }
}

pub fn parse_date(s: Option<&str>, flag: &str) -> Result<NaiveDate> {
    match s {
        None => Ok(Utc::now().date_naive()),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Error::Usage(format!("{flag} {s:?} is not a date; write YYYY-MM-DD"))),
    }
}

/// Validate region codes: two ASCII letters (case-insensitive) of a region YouTube supports.
pub fn parse_regions(codes: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in codes {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::Usage(format!(
                "region {raw:?} is not an ISO 3166-1 alpha-2 code; use two letters such as JP or US (see data/regions.csv)"
            )));
        }
        if region(&code).is_none() {
            return Err(Error::Usage(format!(
                "region {code} has no YouTube trending chart; use one listed in data/regions.csv"
            )));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "--regions is empty; name at least one region".into(),
        ));
    }
    Ok(out)
}

fn is_loopback(base: &str) -> bool {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
        .is_some_and(|h| match h {
            url::Host::Domain(d) => d == "localhost",
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        })
}

fn fetch_options(args: &FetchArgs) -> Result<FetchOptions> {
    if args.concurrency == 0 {
        return Err(Error::Usage("--concurrency must be at least 1".into()));
    }
    if args.per_region == 0 {
        return Err(Error::Usage("--per-region must be at least 1".into()));
    }
    if args.max_attempts == 0 {
        return Err(Error::Usage("--max-attempts must be at least 1".into()));
    }
    if args.retry_min_delay_ms == 0 {
        return Err(Error::Usage(
            "--retry-min-delay-ms must be at least 1 (0 would retry in a tight loop)".into(),
        ));
    }
    if args.region_budget_secs == 0 {
        return Err(Error::Usage(
            "--region-budget-secs must be at least 1".into(),
        ));
    }
    if args.max_rps.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(Error::Usage("--max-rps must be a positive number".into()));
    }
    let mut options = FetchOptions::new(args.concurrency, args.per_region);
    options.retry.max_attempts = args.max_attempts;
    options.retry.min_delay = Duration::from_millis(args.retry_min_delay_ms);
    options.retry.region_budget = Duration::from_secs(args.region_budget_secs);
    options.quota_budget = args.quota_budget;
    options.max_rps = args.max_rps;
    Ok(options)
}

fn client(args: &FetchArgs) -> Result<Client> {
    let key = args
        .api_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(ApiKey::new);
    if key.is_none() && !is_loopback(&args.api_base_url) {
        return Err(Error::Usage(
            "no API key: set YOUTUBE_API_KEY (or --api-key); only a loopback --api-base-url works without one".into(),
        ));
    }
    if !(args.timeout_secs > 0.0 && args.timeout_secs.is_finite()) {
        return Err(Error::Usage(
            "--timeout-secs must be a positive number".into(),
        ));
    }
    Client::new(
        &args.api_base_url,
        key,
        Duration::from_secs_f64(args.timeout_secs),
    )
    .map_err(Error::Usage)
}

/// Validated settings of `run` / `snapshot`.
struct Job {
    snapshot: SnapshotJob,
    lake: String,
    warehouse: PathBuf,
    only_missing: bool,
}

fn job(args: &RunArgs) -> Result<Job> {
    Ok(Job {
        snapshot: SnapshotJob {
            regions: parse_regions(&args.fetch.regions)?,
            fetch: fetch_options(&args.fetch)?,
            date: parse_date(args.date.as_deref(), "--date")?,
            client: client(&args.fetch)?,
            clock: Clock::System,
        },
        lake: args.store.lake.clone(),
        warehouse: args.store.warehouse.clone(),
        only_missing: args.only_missing,
    })
}

/// `snapshot`, and for `run` the merge after it. The merge runs whenever anything is in the
/// lake, even when `--only-missing` found nothing to fetch: an earlier run may have committed
/// and stopped before its merge.
async fn snapshot_then_merge(args: &RunArgs, merge: bool) -> Result<Finished> {
    let mut job = job(args)?;
    let lake = Lake::open(&job.lake)?;
    let mut outcome = Outcome::Complete;
    if job.only_missing {
        let present = lake.snapshot_regions(job.snapshot.date).await?;
        job.snapshot.regions.retain(|r| !present.contains(r));
    }
    if job.snapshot.regions.is_empty() {
        eprintln!(
            "{}: every requested region is already in the snapshot; nothing to fetch",
            job.snapshot.date
        );
    } else {
        if job.only_missing {
            eprintln!(
                "{}: fetching the missing regions {}",
                job.snapshot.date,
                job.snapshot.regions.join(",")
            );
        }
        let report = pipeline::snapshot(&job.snapshot, &lake).await?;
        print_report(&report);
        outcome = report.outcome();
    }
    if merge {
        pipeline::merge(&lake, &job.warehouse, None, Clock::System).await?;
    }
    Ok(outcome.into())
}

fn print_report(report: &RunReport) {
    eprintln!("{}", report.summary());
}

pub async fn execute(cli: Cli) -> Result<Finished> {
    match cli.command {
        Command::Snapshot(args) => snapshot_then_merge(&args, false).await,
        Command::Run(args) => snapshot_then_merge(&args, true).await,
        Command::Merge(args) => {
            let only = args
                .date
                .as_deref()
                .map(|d| parse_date(Some(d), "--date"))
                .transpose()?;
            let lake = Lake::open(&args.store.lake)?;
            let report = pipeline::merge(&lake, &args.store.warehouse, only, Clock::System).await?;
            let rows: usize = report.merged.iter().map(|m| m.1).sum();
            eprintln!(
                "merged {} snapshot(s), {rows} chart entries; {} already up to date",
                report.merged.len(),
                report.up_to_date
            );
            Ok(Finished::Ok)
        }
        Command::Query(args) => query(args).await,
        Command::Demo(args) => demo(args).await,
        Command::FakeApi(args) => {
            let config = FakeConfig {
                seed: args.seed,
                date: parse_date(args.date.as_deref(), "--date")?,
                latency: Duration::from_millis(args.latency_ms),
                api_key: args.api_key,
                quota: args.quota,
                faults: match &args.faults {
                    Some(path) => crate::fake_api::load_faults(path).map_err(Error::Usage)?,
                    None => Vec::new(),
                },
            };
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
            Ok(Finished::Ok)
        }
    }
}

fn parse_params(params: &[String]) -> Result<Vec<(String, String)>> {
    params
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--param {p:?} is not K=V")))?;
            let k = k.trim();
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::Usage(format!(
                    "--param name {k:?} must be letters, digits and underscores"
                )));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

async fn query(args: QueryArgs) -> Result<Finished> {
    if args.list {
        for q in NAMED_QUERIES {
            println!("{:<16} {}", q.name, q.description());
        }
        return Ok(Finished::Ok);
    }
    let sql = match (&args.sql, &args.file, &args.name) {
        (Some(sql), _, _) => sql.clone(),
        (_, Some(file), _) => std::fs::read_to_string(file).map_err(|e| Error::Io {
            context: format!("cannot read --file {}", file.display()),
            source: e,
        })?,
        (_, _, Some(name)) => named_query(name)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no named query {name:?}; `trendlake query --list` shows them"
                ))
            })?
            .sql
            .to_string(),
        _ => {
            return Err(Error::Usage(
                "give SQL, --file F or --name N (see --list)".into(),
            ));
        }
    };
    let params = parse_params(&args.params)?;
    let format = output_format(args.format, args.output.as_deref());
    let warehouse = args.warehouse.clone();
    let batches = tokio::task::spawn_blocking(move || {
        Warehouse::open_read_only(&warehouse)?.query(&sql, &params)
    })
    .await
    .expect("query does not panic")?;
    write_batches(&batches, format, args.output.as_deref())?;
    Ok(Finished::Ok)
}

fn output_format(explicit: Option<Format>, output: Option<&Path>) -> Format {
    if let Some(f) = explicit {
        return f;
    }
    match output.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        Some("parquet") => Format::Parquet,
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => Format::Csv,
        None if output.is_none() && std::io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    }
}

/// Render query results in `format` to `output` (or stdout).
pub fn write_batches(batches: &[RecordBatch], format: Format, output: Option<&Path>) -> Result<()> {
    let mut sink: Box<dyn Write + Send> = match output {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| Error::Io {
            context: format!("cannot create --output {}", path.display()),
            source: e,
        })?),
        None => Box::new(std::io::stdout()),
    };
    let render = |e: &dyn std::fmt::Display| Error::Other(format!("writing the result: {e}"));
    match format {
        Format::Table => {
            let table =
                arrow::util::pretty::pretty_format_batches(batches).map_err(|e| render(&e))?;
            writeln!(sink, "{table}").map_err(|e| render(&e))?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut sink);
            for b in batches {
                w.write(b).map_err(|e| render(&e))?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut sink);
            for b in batches {
                w.write(b).map_err(|e| render(&e))?;
            }
            w.finish().map_err(|e| render(&e))?;
            drop(w);
            writeln!(sink).map_err(|e| render(&e))?;
        }
        Format::Parquet => {
            if output.is_none() && std::io::stdout().is_terminal() {
                return Err(Error::Usage(
                    "--format parquet writes binary; give --output F or redirect stdout".into(),
                ));
            }
            let Some(first) = batches.first() else {
                return Err(Error::Other(
                    "the query returned no batches to write as Parquet".into(),
                ));
            };
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut sink, first.schema(), None)
                .map_err(|e| render(&e))?;
            for b in batches {
                w.write(b).map_err(|e| render(&e))?;
            }
            w.close().map_err(|e| render(&e))?;
        }
    }
    sink.flush().map_err(|e| render(&e))?;
    Ok(())
}

/// The no-setup main job: the fake API in-process, `days` nightly runs through the real
/// pipeline, then `top_movers` for the last day. Each simulated night's clock is fixed at
/// 03:00 UTC of its date, so running the demo twice yields the same lake and warehouse.
async fn demo(args: DemoArgs) -> Result<Finished> {
    if args.days == 0 {
        return Err(Error::Usage("--days must be at least 1".into()));
    }
    let regions = parse_regions(&args.regions)?;
    let last = parse_date(args.date.as_deref(), "--date")?;
    let first = last - chrono::Duration::days(i64::from(args.days) - 1);
    let fake = FakeApi::start(
        FakeConfig {
            seed: args.seed,
            date: first,
            ..FakeConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .map_err(|e| Error::Io {
        context: "cannot start the fake API on 127.0.0.1".into(),
        source: e,
    })?;
    let lake_dir = args.dir.join("lake");
    let lake = Lake::open(&lake_dir.display().to_string())?;
    let warehouse = args.dir.join("warehouse.duckdb");
    let client =
        Client::new(&fake.base_url(), None, Duration::from_secs(30)).map_err(Error::Other)?;
    eprintln!(
        "demo: {} days ({first} … {last}) × {} regions from the fake API at {}",
        args.days,
        regions.len(),
        fake.base_url()
    );
    let nightly = NaiveTime::from_hms_opt(3, 0, 0).expect("valid time");
    let mut worst = Outcome::Complete;
    for date in first.iter_days().take(args.days as usize) {
        fake.set_date(date);
        let job = SnapshotJob {
            client: client.clone(),
            regions: regions.clone(),
            fetch: FetchOptions::new(args.concurrency.max(1), 200),
            date,
            clock: Clock::Fixed(date.and_time(nightly).and_utc()),
        };
        let report = pipeline::snapshot(&job, &lake).await?;
        print_report(&report);
        if report.outcome() != Outcome::Complete {
            worst = Outcome::Partial;
        }
    }
    let merged = pipeline::merge(
        &lake,
        &warehouse,
        None,
        Clock::Fixed(last.and_time(nightly).and_utc()),
    )
    .await?;
    eprintln!(
        "demo: merged {} snapshot(s) into {} ({} already up to date)",
        merged.merged.len(),
        warehouse.display(),
        merged.up_to_date
    );
    let top = named_query("top_movers").expect("top_movers ships");
    let params = vec![("date".to_string(), last.to_string())];
    let batches = tokio::task::spawn_blocking(move || {
        Warehouse::open_read_only(&warehouse)?.query(top.sql, &params)
    })
    .await
    .expect("query does not panic")?;
    println!("top_movers for {last}:");
    write_batches(&batches, Format::Table, None)?;
    eprintln!(
        "demo: lake in {}, warehouse in {}; try `trendlake query --warehouse {} --name cross_region`",
        lake_dir.display(),
        args.dir.join("warehouse.duckdb").display(),
        args.dir.join("warehouse.duckdb").display()
    );
    Ok(worst.into())
}
