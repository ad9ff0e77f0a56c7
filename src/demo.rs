//! `trendlake demo`: the no-setup main job. Serves the fake API in-process and builds history
//! through the real pipeline, then prints a trend query.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};

use crate::error::{Error, Result};
use crate::logging;
use crate::output::{Format, write_batches};
use trendlake::clock::Clock;
use trendlake::fetch::FetchOptions;
use trendlake::lake::Lake;
use trendlake::pipeline::{self, Outcome, SnapshotJob};
use trendlake::queries::named_query;
use trendlake::warehouse::Warehouse;
use trendlake::youtube::Client;
use trendlake_fake_api::{FakeApi, FakeConfig};

/// Validated settings of `demo`.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    pub days: u32,
    pub last: NaiveDate,
    pub dir: PathBuf,
    /// The lake: `dir/lake` unless given (`--lake`, which may be S3).
    pub lake: String,
    pub regions: Vec<String>,
    pub seed: u64,
    pub concurrency: usize,
    /// The category charts each night fetches besides the general charts (`--categories`).
    pub categories: trendlake::chart::Categories,
}

/// The no-setup main job: the fake API in-process, `days` nightly runs through the real
/// pipeline, then `top_movers` for the last day. Each simulated night's clock is fixed at
/// 03:00 UTC of its date, so running the demo twice yields the same lake and warehouse.
pub async fn demo(settings: DemoSettings) -> Result<Outcome> {
    let DemoSettings {
        days,
        last,
        dir,
        lake: lake_url,
        regions,
        seed,
        concurrency,
        categories,
    } = settings;
    let first = last - chrono::Duration::days(i64::from(days) - 1);
    let fake = FakeApi::start(
        FakeConfig {
            seed,
            date: Some(first),
            ..FakeConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .map_err(|e| Error::Io {
        context: "cannot start the fake API on 127.0.0.1".into(),
        source: e,
    })?;
    let lake = Lake::open(&lake_url)?;
    let warehouse = dir.join("warehouse.duckdb");
    let client = Client::new(&fake.base_url(), None, Duration::from_secs(30))?;
    logging::notice(&format!(
        "demo: {days} days ({first} … {last}) × {} regions from the fake API at {}",
        regions.len(),
        fake.base_url()
    ));
    let bar = logging::progress(u64::from(days), "nights");
    let nightly = NaiveTime::from_hms_opt(3, 0, 0).expect("valid time");
    let mut worst = Outcome::Complete;
    for date in first.iter_days().take(days as usize) {
        fake.set_date(date);
        bar.set_message(date.to_string());
        let job = SnapshotJob {
            client: client.clone(),
            regions: regions.clone(),
            fetch: FetchOptions::new(concurrency, 200),
            date,
            clock: Clock::Fixed(date.and_time(nightly).and_utc()),
            // Tracking by default, so the first demo shows curves past the chart's edge.
            track: trendlake::track::TrackOptions::new(&regions),
            categories: categories.clone(),
            recheck_days: 7,
            present: Vec::new(),
        };
        let report = pipeline::snapshot(&job, &lake).await?;
        logging::notice_above(&bar, &report.summary());
        bar.inc(1);
        if report.outcome() != Outcome::Complete {
            worst = Outcome::Partial;
        }
    }
    bar.finish_and_clear();
    let merged = pipeline::merge(
        &lake,
        &warehouse,
        None,
        Clock::Fixed(last.and_time(nightly).and_utc()),
    )
    .await?;
    logging::notice(&format!(
        "demo: merged {} snapshot(s) into {} ({} already up to date)",
        merged.merged.len(),
        warehouse.display(),
        merged.up_to_date
    ));
    // The last night's movers, then what became of the videos after they left the charts
    // (the tracking stage followed them every night).
    for (name, params, title) in [
        (
            "top_movers",
            vec![format!("date={last}")],
            format!("top_movers for {last}:"),
        ),
        (
            "afterlife",
            Vec::new(),
            "afterlife: median views gained 1, 7 and 30 days after leaving each chart:".into(),
        ),
    ]
    .into_iter()
    .chain(
        // The first region's category charts: which exist, since when, how much each shares
        // with the general chart (`--name category_charts` without a region lists every one).
        regions.first().filter(|_| categories.any()).map(|first| {
            (
                "category_charts",
                vec![format!("date={last}"), format!("region={first}")],
                format!("category_charts for {first} on {last}:"),
            )
        }),
    ) {
        let query = named_query(name).expect("the named queries ship");
        let params = query.bind(&params)?;
        let read = warehouse.clone();
        let batches = tokio::task::spawn_blocking(move || {
            Warehouse::open_read_only(&read)?.query(query.sql, &params)
        })
        .await
        .expect("query does not panic")?;
        println!("{title}");
        write_batches(&batches, Format::Table, None)?;
    }
    logging::notice(&format!(
        "demo: lake in {}, warehouse in {}; try `trendlake query --warehouse {} --name cross_region` or `--name vanished`",
        lake.url(),
        warehouse.display(),
        warehouse.display()
    ));
    Ok(worst)
}
