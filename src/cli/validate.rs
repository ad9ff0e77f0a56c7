//! Flags, variables and file values validated into the pipeline's settings before any I/O. An
//! error names the setting as the user gave it (flag, variable, or file and line) and says what
//! to write instead.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, Utc};

use super::layering::{Setting, name_of};
use super::{FetchArgs, MetricsArg, RunArgs, SnapshotArgs, SnapshotDateArgs};
use crate::error::{Error, Result};
use trendlake::clock::Clock;
use trendlake::fetch::FetchOptions;
use trendlake::pipeline::SnapshotJob;
use trendlake::regions::region;
use trendlake::track::TrackOptions;
use trendlake::youtube::{ApiKey, Client, is_loopback_url};

/// `s` as a date (`name` is how the user gave it), or today (UTC) when absent.
pub fn parse_date(s: Option<&str>, name: &str) -> Result<NaiveDate> {
    match s {
        None => Ok(Utc::now().date_naive()),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Error::Usage(format!("{name} {s:?} is not a date; write YYYY-MM-DD"))),
    }
}

/// Validate region codes: two ASCII letters (case-insensitive) of a region YouTube supports.
pub fn parse_regions(codes: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in codes {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::Usage(format!(
                "region {raw:?} is not an ISO 3166-1 alpha-2 code; use two letters such as JP or US (`trendlake regions` lists them)"
            )));
        }
        if region(&code).is_none() {
            return Err(Error::Usage(format!(
                "region {code} has no YouTube trending chart; use one that `trendlake regions` lists"
            )));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "--regions is empty; name at least one region (`trendlake regions` lists them)".into(),
        ));
    }
    Ok(out)
}

/// Whether `base` points at this machine (the fake API): no key needed, any date allowed, and a
/// key may go over plain HTTP (the client's own rule, [`is_loopback_url`]).
pub fn is_loopback(base: &str) -> bool {
    url::Url::parse(base).is_ok_and(|u| is_loopback_url(&u))
}

/// The date a snapshot is stored under. The API serves only the current chart, so storing it
/// under another date is a mistake unless the user says otherwise (or the API is the fake).
pub fn snapshot_date(
    given: Option<&str>,
    anyway: bool,
    base_url: &str,
    today: NaiveDate,
    name: &str,
) -> Result<NaiveDate> {
    let Some(s) = given else { return Ok(today) };
    let date = parse_date(Some(s), name)?;
    if date != today && !anyway && !is_loopback(base_url) {
        return Err(Error::Usage(format!(
            "{name} {date}: the API serves the current chart; it would be stored as {date} \
             although it is the chart of {today} (UTC); leave out --date, or pass --date-anyway"
        )));
    }
    Ok(date)
}

fn at_least_one(value: u64, key: &str, settings: &[Setting], why: &str) -> Result<()> {
    if value == 0 {
        return Err(Error::Usage(format!(
            "{} must be at least 1{why}",
            name_of(settings, key)
        )));
    }
    Ok(())
}

fn positive(value: Option<f64>, key: &str, settings: &[Setting]) -> Result<()> {
    if value.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(Error::Usage(format!(
            "{} must be a positive number",
            name_of(settings, key)
        )));
    }
    Ok(())
}

fn fetch_options(args: &FetchArgs, settings: &[Setting]) -> Result<FetchOptions> {
    at_least_one(args.concurrency as u64, "concurrency", settings, "")?;
    at_least_one(args.per_region as u64, "per_region", settings, "")?;
    at_least_one(args.max_attempts as u64, "max_attempts", settings, "")?;
    at_least_one(
        args.retry_min_delay_ms,
        "retry_min_delay_ms",
        settings,
        " (0 would retry in a tight loop)",
    )?;
    at_least_one(args.region_budget_secs, "region_budget_secs", settings, "")?;
    positive(args.max_rps, "max_rps", settings)?;
    positive(Some(args.timeout_secs), "timeout_secs", settings)?;
    let mut options = FetchOptions::new(args.concurrency, args.per_region);
    options.retry.max_attempts = args.max_attempts;
    options.retry.min_delay = Duration::from_millis(args.retry_min_delay_ms);
    options.retry.region_budget = Duration::from_secs(args.region_budget_secs);
    options.quota_budget = args.quota_budget;
    options.max_rps = args.max_rps;
    Ok(options)
}

/// The key as given; an empty one is no key.
pub fn api_key(given: Option<&ApiKey>) -> Option<ApiKey> {
    given.filter(|k| !k.expose().is_empty()).cloned()
}

/// The API client; `Client::new` refuses a key over plain HTTP to another host (exit 2).
fn client(args: &FetchArgs) -> Result<Client> {
    let key = api_key(args.api_key.as_ref());
    if key.is_none() && !is_loopback(&args.api_base_url) {
        return Err(Error::Usage(
            "no API key: set YOUTUBE_API_KEY (or --api-key); only a loopback --api-base-url works without one".into(),
        ));
    }
    Ok(Client::new(
        &args.api_base_url,
        key,
        Duration::from_secs_f64(args.timeout_secs),
    )?)
}

/// Validated settings of `run` / `snapshot`.
#[derive(Debug)]
pub struct Job {
    pub snapshot: SnapshotJob,
    pub lake: String,
    /// Where `run` merges afterwards; `None` for `snapshot`.
    pub warehouse: Option<PathBuf>,
    pub only_missing: bool,
    /// `run --report`: publish the date's report into the lake after the merge.
    pub report: bool,
    /// `--metrics-file`: where the run's metrics go, a `.prom` file in an existing directory.
    pub metrics_file: Option<PathBuf>,
}

/// `--metrics-file`: a name node_exporter's textfile collector reads (`*.prom`), or exit 2. A
/// directory that does not exist (yet) is only a warning: the night's chart is not given up for
/// its metrics, which are written at the end if the directory is there by then, and otherwise
/// the run warns again.
fn metrics_file(arg: &MetricsArg, settings: &[Setting]) -> Result<Option<PathBuf>> {
    let Some(path) = &arg.metrics_file else {
        return Ok(None);
    };
    let name = name_of(settings, "metrics_file");
    if !super::metrics::is_prom_name(path) {
        return Err(Error::Usage(format!(
            "{name} {}: node_exporter's textfile collector reads only files named *{}; name it \
             like trendlake{}",
            path.display(),
            super::metrics::EXTENSION,
            super::metrics::EXTENSION
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        crate::logging::warning(&format!(
            "{name} {}: the directory {} does not exist, so the run's metrics cannot be written \
             there; create it (node_exporter's --collector.textfile.directory)",
            path.display(),
            dir.display()
        ));
    }
    Ok(Some(path.clone()))
}

fn job(
    fetch: &FetchArgs,
    lake: &str,
    when: &SnapshotDateArgs,
    warehouse: Option<PathBuf>,
    settings: &[Setting],
) -> Result<Job> {
    let regions = parse_regions(&fetch.regions)?;
    let track = TrackOptions {
        days: fetch.track_days,
        budget: fetch.track_budget,
        ..TrackOptions::new(&regions)
    };
    let options = fetch_options(fetch, settings)?;
    let date = snapshot_date(
        when.date.as_deref(),
        when.date_anyway,
        &fetch.api_base_url,
        Utc::now().date_naive(),
        &name_of(settings, "date"),
    )?;
    Ok(Job {
        snapshot: SnapshotJob {
            regions,
            fetch: options,
            date,
            client: client(fetch)?,
            clock: Clock::System,
            track,
            categories: fetch.categories.clone(),
            recheck_days: fetch.recheck_days,
            present: Vec::new(),
        },
        lake: lake.to_string(),
        warehouse,
        only_missing: when.only_missing,
        report: false,
        metrics_file: None,
    })
}

pub fn run_job(args: &RunArgs, settings: &[Setting]) -> Result<Job> {
    let warehouse = Some(args.warehouse.warehouse.clone());
    let mut job = job(
        &args.fetch,
        &args.lake.lake,
        &args.date,
        warehouse,
        settings,
    )?;
    job.report = args.report;
    job.metrics_file = metrics_file(&args.metrics, settings)?;
    Ok(job)
}

pub fn snapshot_job(args: &SnapshotArgs, settings: &[Setting]) -> Result<Job> {
    let mut job = job(&args.fetch, &args.lake.lake, &args.date, None, settings)?;
    job.metrics_file = metrics_file(&args.metrics, settings)?;
    Ok(job)
}

#[cfg(feature = "fake-api")]
pub fn demo_settings(args: super::DemoArgs) -> Result<crate::demo::DemoSettings> {
    if args.days == 0 {
        return Err(Error::Usage("--days must be at least 1".into()));
    }
    Ok(crate::demo::DemoSettings {
        days: args.days,
        last: parse_date(args.date.as_deref(), "--date")?,
        lake: args
            .lake
            .unwrap_or_else(|| args.dir.join("lake").display().to_string()),
        dir: args.dir,
        regions: parse_regions(&args.regions)?,
        seed: args.seed,
        concurrency: args.concurrency.max(1),
        categories: args.categories,
    })
}

/// `fake-api`'s flags as the fake's configuration: without `--date` it follows the UTC day.
#[cfg(feature = "fake-api")]
pub fn fake_api_config(args: &super::FakeApiArgs) -> Result<trendlake_fake_api::FakeConfig> {
    Ok(trendlake_fake_api::FakeConfig {
        seed: args.seed,
        date: args
            .date
            .as_deref()
            .map(|d| parse_date(Some(d), "--date"))
            .transpose()?,
        latency: Duration::from_millis(args.latency_ms),
        api_key: args.api_key.as_ref().map(|k| k.expose().to_string()),
        quota: args.quota,
        faults: match &args.faults {
            Some(path) => trendlake_fake_api::load_faults(path)?,
            None => Vec::new(),
        },
        chart_not_found_404: args.chart_not_found_404,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn another_date_against_the_real_api_needs_date_anyway() {
        let today = day("2026-11-27");
        let real = "https://www.googleapis.com/youtube/v3";
        let err = snapshot_date(Some("2026-11-26"), false, real, today, "--date").unwrap_err();
        let msg = err.to_string();
        assert!(err.is_usage());
        assert!(
            msg.contains("the API serves the current chart; it would be stored as 2026-11-26"),
            "{msg}"
        );
        assert_eq!(
            snapshot_date(Some("2026-11-26"), true, real, today, "--date").unwrap(),
            day("2026-11-26")
        );
        assert_eq!(
            snapshot_date(Some("2026-11-27"), false, real, today, "--date").unwrap(),
            today
        );
        assert_eq!(
            snapshot_date(None, false, real, today, "--date").unwrap(),
            today
        );
        // The fake serves any day.
        assert_eq!(
            snapshot_date(
                Some("2020-01-01"),
                false,
                "http://127.0.0.1:8787/youtube/v3",
                today,
                "--date"
            )
            .unwrap(),
            day("2020-01-01")
        );
    }

    const SECRET: &str = "AIzaSECRET-job-0123456789";

    /// The `run` job of a command line, as `trendlake run ARGS` would validate it.
    fn run_job_of(args: &[&str]) -> Result<Job> {
        let argv: Vec<&str> = ["trendlake", "run", "--regions", "JP"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        let parsed = crate::cli::parse(argv).unwrap();
        let super::super::Command::Run(run) = &parsed.cli.command else {
            unreachable!("parsed `run`")
        };
        run_job(run, &parsed.settings)
    }

    #[test]
    fn job_debug_hides_the_key() {
        let base = "http://127.0.0.1:9/youtube/v3";
        let job = run_job_of(&["--api-key", SECRET, "--api-base-url", base]).unwrap();
        trendlake::youtube::client::assert_debug_hides_key(&job, SECRET);
        trendlake::youtube::client::assert_debug_hides_key(&job.snapshot, SECRET);
    }

    #[test]
    fn a_key_over_plain_http_to_another_host_is_a_usage_error() {
        let base = "http://192.0.2.1:9/youtube/v3";
        let err = run_job_of(&["--api-key", SECRET, "--api-base-url", base]).unwrap_err();
        assert!(err.is_usage(), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(base) && msg.contains("https://"), "{msg}");
        assert!(!msg.contains(SECRET) && !format!("{err:?}").contains(SECRET));
        // Over https the same host is fine.
        let https = "https://192.0.2.1:9/youtube/v3";
        assert!(run_job_of(&["--api-key", SECRET, "--api-base-url", https]).is_ok());
    }

    #[test]
    fn the_metrics_file_is_a_prom_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = ["--api-base-url", "http://127.0.0.1:9/youtube/v3"];
        let with = |path: &std::path::Path| {
            let path = path.display().to_string();
            run_job_of(&[base[0], base[1], "--metrics-file", &path])
        };
        let good = dir.path().join("trendlake.prom");
        assert_eq!(with(&good).unwrap().metrics_file, Some(good));
        let err = with(&dir.path().join("trendlake.txt")).unwrap_err();
        assert!(err.is_usage());
        let msg = err.to_string();
        assert!(
            msg.starts_with("--metrics-file ") && msg.contains("*.prom"),
            "{msg}"
        );
        // A directory not there (yet) is no reason to give up the night.
        let gone = dir.path().join("gone/trendlake.prom");
        assert_eq!(with(&gone).unwrap().metrics_file, Some(gone));
        // None asked for, none written.
        assert_eq!(run_job_of(&base).unwrap().metrics_file, None);
    }

    #[cfg(feature = "fake-api")]
    #[test]
    fn fake_api_follows_the_utc_day_unless_given_a_date() {
        let config = |args: &[&str]| {
            let argv: Vec<&str> = ["trendlake", "fake-api"]
                .iter()
                .chain(args)
                .copied()
                .collect();
            let parsed = crate::cli::parse(argv).unwrap();
            let super::super::Command::FakeApi(fake) = &parsed.cli.command else {
                unreachable!("parsed `fake-api`")
            };
            fake_api_config(fake)
        };
        assert_eq!(config(&[]).unwrap().date, None);
        assert_eq!(
            config(&["--date", "2026-11-25"]).unwrap().date,
            Some(day("2026-11-25"))
        );
        assert!(config(&["--date", "25/11/2026"]).unwrap_err().is_usage());
    }

    #[test]
    fn loopback_is_recognised() {
        assert!(is_loopback("http://127.0.0.1:8787/youtube/v3"));
        assert!(is_loopback("http://localhost/youtube/v3"));
        assert!(is_loopback("http://[::1]:80/"));
        assert!(!is_loopback("https://www.googleapis.com/youtube/v3"));
        assert!(!is_loopback("http://10.0.0.1/"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn regions_are_normalised_and_deduplicated() {
        let given: Vec<String> = ["jp", " KR", "JP"].iter().map(|s| s.to_string()).collect();
        assert_eq!(parse_regions(&given).unwrap(), ["JP", "KR"]);
        for bad in ["XX", "JPN", "../etc", ""] {
            let err = parse_regions(&[bad.to_string()]).unwrap_err().to_string();
            assert!(err.contains("trendlake regions"), "{bad}: {err}");
        }
    }
}
