//! The pipeline's benchmarks, reported in docs/benchmarks.md: fetch wall time against the fake with 250 ms
//! latency, transform throughput (JSON pages → Parquet bytes) against a Python peer, the peak
//! memory of `demo` and of a 9-region `run`, a night that tracks 5,000 videos after the
//! charts, and a night of 9 regions × 15 category charts. Run with `cargo bench`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use trendlake::clock::Clock;
use trendlake::fetch::{FetchOptions, fetch_all};
use trendlake::lake::{Lineage, codec::encode_snapshot};
use trendlake::raw::RawPage;
use trendlake::record::ChartAssembler;
use trendlake::youtube::Client;
use trendlake::youtube::model::VideoListResponse;
use trendlake_fake_api::{FakeApi, FakeConfig};

// The same allocator as the `trendlake` binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NINE: [&str; 9] = ["JP", "KR", "TW", "SG", "VN", "TH", "HK", "US", "GB"];

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if wants("fetch") {
        rt.block_on(fetch_bench());
    }
    if wants("faults") {
        rt.block_on(faults_bench());
    }
    if wants("transform") {
        transform_bench();
    }
    if wants("memory") {
        rt.block_on(memory_bench());
    }
    if wants("tracking") {
        rt.block_on(tracking_bench());
    }
    if wants("categories") {
        rt.block_on(categories_bench());
    }
}

/// A night of 9 regions that then tracks 5,000 videos (100 lookups of 50, `--track-budget 100`)
/// at 250 ms per response, after 30 nights of history: tracking must take at most 1.2× the
/// critical path the concurrency bound sets (⌈lookups / concurrency⌉ × 250 ms), and the whole
/// run, charts, tracking and merge, under 3 s.
async fn tracking_bench() {
    use trendlake::pipeline::{SnapshotJob, run};
    use trendlake::track::TrackOptions;
    const CONCURRENCY: usize = 20;
    const LOOKUPS: u32 = 100;
    let dir = tempfile::tempdir().unwrap();
    let lake = trendlake::lake::Lake::open(&dir.path().join("lake").display().to_string()).unwrap();
    let warehouse = dir.path().join("warehouse.duckdb");
    let regions: Vec<String> = NINE.iter().map(|s| s.to_string()).collect();
    let night = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    // The history: 30 nights without latency (and without tracking, which is measured below).
    let history = fake(0).await;
    let client = Client::new(&history.base_url(), None, Duration::from_secs(30)).unwrap();
    for back in (1..=30).rev() {
        let date = night - chrono::Duration::days(back);
        history.set_date(date);
        let job = SnapshotJob {
            client: client.clone(),
            regions: regions.clone(),
            fetch: FetchOptions::new(CONCURRENCY, 200),
            date,
            clock: Clock::Fixed(date.and_hms_opt(3, 0, 0).unwrap().and_utc()),
            track: TrackOptions::off(),
            categories: trendlake::chart::Categories::None,
            recheck_days: 7,
            present: Vec::new(),
        };
        let report = run(&job, &lake, None, |_| ()).await.unwrap();
        assert_eq!(report.exit_code(), 0);
    }
    trendlake::pipeline::merge(&lake, &warehouse, None, Clock::System)
        .await
        .unwrap();

    let api = fake(250).await;
    let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
    let job = SnapshotJob {
        client,
        regions: regions.clone(),
        fetch: FetchOptions::new(CONCURRENCY, 200),
        date: night,
        clock: Clock::System,
        track: TrackOptions {
            budget: Some(LOOKUPS),
            ..TrackOptions::new(&regions)
        },
        categories: trendlake::chart::Categories::None,
        recheck_days: 7,
        present: Vec::new(),
    };
    let started = Instant::now();
    let report = run(&job, &lake, Some(&warehouse), |_| ()).await.unwrap();
    let whole = started.elapsed();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    let t = &report.tracking;
    assert_eq!(t.tracked, 5_000, "{}", t.summary());
    assert_eq!(t.requests, LOOKUPS);
    let critical = LOOKUPS.div_ceil(CONCURRENCY as u32) as f64 * 0.250;
    let tracking = report.track_ms as f64 / 1000.0;
    println!(
        "tracking: 9 regions, {} candidates, {} tracked in {} lookups at 250 ms, --concurrency {CONCURRENCY}: \
         tracking {tracking:.3} s against a critical path of {critical:.3} s ({:.2}x, target <= 1.2x); \
         the whole run {:.3} s (fetch {} ms, write {} ms, track {} ms, merge {} ms; target < 3 s)",
        t.candidates,
        t.tracked,
        t.requests,
        tracking / critical,
        whole.as_secs_f64(),
        report.fetch_ms,
        report.write_ms,
        report.track_ms,
        report.merge_ms,
    );
}

/// The 15 categories `data/categories.csv` marks assignable (1, 2, 10, 15, 17, 19, 20, 22–29):
/// every category the fake may have a chart of. Each region takes a few of them away, and about
/// 30% of the rest have no chart: the run asks them all and gets `videoChartNotFound` for those.
const FIFTEEN: [u32; 15] = [1, 2, 10, 15, 17, 19, 20, 22, 23, 24, 25, 26, 27, 28, 29];

/// One response, as the fake answers with its latency.
const ROUND_MS: u64 = 250;

/// Calls in flight at most (`--concurrency 16`).
const CATEGORY_CONCURRENCY: usize = 16;

/// A night of the nine regions with `categories`, tracking off, `--concurrency 16`.
fn categories_job(
    client: &Client,
    categories: trendlake::chart::Categories,
    date: NaiveDate,
    clock: Clock,
    recheck_days: u32,
) -> trendlake::pipeline::SnapshotJob {
    trendlake::pipeline::SnapshotJob {
        client: client.clone(),
        regions: NINE.iter().map(|s| s.to_string()).collect(),
        fetch: FetchOptions::new(CATEGORY_CONCURRENCY, 200),
        date,
        clock,
        track: trendlake::track::TrackOptions::off(),
        categories,
        recheck_days,
        present: Vec::new(),
    }
}

/// What a night requested, from its run report: each region's `videoCategories.list` calls,
/// and each chart's calls (its pages, one for a chart the API does not have) in the order the
/// run asked for them (every general chart, then the category charts region by region).
struct Asked {
    listings: BTreeMap<String, u32>,
    /// (chart key, calls), charts not asked tonight (`known_no_chart`) left out.
    charts: Vec<(String, u32)>,
}

impl Asked {
    fn of(report: &trendlake::pipeline::RunReport) -> Self {
        Self {
            listings: report
                .categories
                .iter()
                .map(|c| (c.region.clone(), c.requests))
                .collect(),
            charts: report
                .regions
                .iter()
                .filter(|r| r.requests > 0)
                .map(|r| (r.chart(), r.requests))
                .collect(),
        }
    }

    fn total(&self) -> u32 {
        self.listings.values().sum::<u32>() + self.charts.iter().map(|c| c.1).sum::<u32>()
    }

    /// The longest dependency chain, in responses: a chart's pages one after another, and a
    /// region's category charts after its listing (the general chart does not need it).
    fn chain(&self) -> u32 {
        let mut chain = 0;
        for (key, calls) in &self.charts {
            let (region, category) = trendlake::chart::split(key);
            let after = match category {
                trendlake::chart::GENERAL => 0,
                _ => self.listings.get(region).copied().unwrap_or(0),
            };
            chain = chain.max(after + calls);
        }
        chain.max(self.listings.values().copied().max().unwrap_or(0))
    }

    /// The critical path the concurrency bound sets, in responses:
    /// max(longest chain, ⌈all calls / concurrency⌉).
    fn critical_rounds(&self, concurrency: usize) -> u32 {
        self.chain().max(self.total().div_ceil(concurrency as u32))
    }

    /// The night's length in responses when its calls are scheduled as `order` says, each chart
    /// holding one of `concurrency` slots from its first page to its last (as
    /// `Fetcher::charts` does), charts taking the first free slot in the order given.
    fn scheduled_rounds(&self, concurrency: usize, order: Order) -> u32 {
        let listing = |region: &str| self.listings.get(region).copied().unwrap_or(0);
        // (released at, length), in the order they take slots.
        let mut tasks: Vec<(u32, u32)> = Vec::new();
        let listed = self.listings.values().copied().max().unwrap_or(0);
        let general = |key: &String| trendlake::chart::api_category(key).is_none();
        tasks.extend(self.listings.values().map(|&n| (0, n)));
        let mut categories: Vec<(u32, u32)> = Vec::new();
        for (key, calls) in &self.charts {
            let release = match (order, general(key)) {
                // The library lists every region's categories, then fetches every chart.
                (Order::Library | Order::LibraryLongestFirst, _) => listed,
                (_, true) => 0,
                (_, false) => listing(trendlake::chart::split(key).0),
            };
            if general(key) {
                tasks.push((release, *calls));
            } else {
                categories.push((release, *calls));
            }
        }
        if matches!(order, Order::LongestFirst | Order::LibraryLongestFirst) {
            categories.sort_by_key(|&(release, calls)| (release, std::cmp::Reverse(calls)));
        }
        tasks.extend(categories);
        let mut free = vec![0u32; concurrency];
        let mut end = 0;
        for (release, calls) in tasks {
            let slot = (0..free.len()).min_by_key(|&i| free[i]).unwrap();
            let start = free[slot].max(release);
            free[slot] = start + calls;
            end = end.max(free[slot]);
        }
        end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// What the library does: every listing first, then the charts in plan order (the general
    /// charts, then the category charts region by region, by category id).
    Library,
    /// That, with the category charts longest first (tonight's sizes, as if known beforehand).
    LibraryLongestFirst,
    /// The general charts not waiting for the listings, each region's category charts after its
    /// own listing; otherwise the library's order.
    GeneralAtOnce,
    /// That, and the category charts longest first.
    LongestFirst,
}

/// The fake's log of one night, as offsets from its first request.
struct Timeline {
    /// (offset, what, key): `list` for a listing (key: the region), `general` or `category`
    /// for a chart's call (key: the chart's).
    calls: Vec<(Duration, &'static str, String)>,
}

impl Timeline {
    fn of(api: &FakeApi) -> Self {
        let log = api.log();
        let t0 = log.first().map(|r| r.at).unwrap_or_else(Instant::now);
        let calls = log
            .iter()
            .map(|r| {
                let what = match r.category.as_deref() {
                    _ if r.path == trendlake_fake_api::categories::VIDEO_CATEGORIES_PATH => "list",
                    None | Some("0") => "general",
                    Some(_) => "category",
                };
                let key = match r.category.as_deref() {
                    Some(c) if c != "0" => format!("{}/{c}", r.region),
                    _ => r.region.clone(),
                };
                (r.at - t0, what, key)
            })
            .collect();
        Self { calls }
    }

    /// Calls sent in each 250 ms window from the first.
    fn per_round(&self) -> Vec<usize> {
        let mut rounds = Vec::new();
        for (at, _, _) in &self.calls {
            let i = (at.as_millis() as u64 / ROUND_MS) as usize;
            if rounds.len() <= i {
                rounds.resize(i + 1, 0);
            }
            rounds[i] += 1;
        }
        rounds
    }

    fn first(&self, what: &str) -> Duration {
        self.calls
            .iter()
            .find(|c| c.1 == what)
            .map_or(Duration::ZERO, |c| c.0)
    }

    /// The chart whose last call came last: its key, calls, and its first and last call.
    fn last_finished(&self) -> (String, usize, Duration, Duration) {
        let mut charts: BTreeMap<&str, (Duration, Duration, usize)> = BTreeMap::new();
        for (at, what, key) in &self.calls {
            if *what != "list" {
                let e = charts.entry(key).or_insert((*at, *at, 0));
                e.1 = *at;
                e.2 += 1;
            }
        }
        let (key, (first, last, calls)) = charts
            .into_iter()
            .max_by_key(|(_, (first, last, _))| (*last, std::cmp::Reverse(*first)))
            .unwrap();
        (key.to_string(), calls, first, last)
    }
}

/// The previous night (2026-11-24) of `lake`, fetched without latency and merged, as a
/// nightly run finds its lake and warehouse.
async fn previous_night(
    lake: &trendlake::lake::Lake,
    warehouse: Option<&Path>,
    categories: trendlake::chart::Categories,
) -> trendlake::pipeline::RunReport {
    let night = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let api = fake(0).await;
    api.set_date(night);
    let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
    let clock = Clock::Fixed(night.and_hms_opt(3, 0, 0).unwrap().and_utc());
    let job = categories_job(&client, categories, night, clock, 7);
    let report = trendlake::pipeline::run(&job, lake, warehouse, |_| ())
        .await
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    report
}

/// One measured night (2026-11-25, 250 ms per response) after [`previous_night`], merged into
/// the warehouse: the report, the whole run's time, the fake's log, and the previous night's report.
async fn categories_night(recheck_days: u32) -> Night {
    let categories = trendlake::chart::Categories::List(FIFTEEN.into());
    let dir = tempfile::tempdir().unwrap();
    let lake = trendlake::lake::Lake::open(&dir.path().join("lake").display().to_string()).unwrap();
    let warehouse = dir.path().join("warehouse.duckdb");
    let previous = previous_night(&lake, Some(&warehouse), categories.clone()).await;
    let api = fake(ROUND_MS).await;
    let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
    let night = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let job = categories_job(&client, categories, night, Clock::System, recheck_days);
    let started = Instant::now();
    let report = trendlake::pipeline::run(&job, &lake, Some(&warehouse), |_| ())
        .await
        .unwrap();
    let whole = started.elapsed();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert!(report.regions.iter().all(|r| r.retries == 0));
    assert_eq!(api.requests(), u64::from(Asked::of(&report).total()));
    Night {
        report,
        whole,
        timeline: Timeline::of(&api),
        previous,
    }
}

struct Night {
    report: trendlake::pipeline::RunReport,
    whole: Duration,
    timeline: Timeline,
    previous: trendlake::pipeline::RunReport,
}

/// Min, median and max.
fn spread(mut times: Vec<f64>) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], times[times.len() - 1])
}

/// What-if, with no change to the library: the measured night's calls made through the
/// library's `Fetcher` in another order. Each region's categories are listed and the charts
/// fetched as the library does, but the category charts longest first by the previous night's
/// size (pages of 50; one for a chart the API had none of); with `general_at_once`, the general
/// charts are fetched alongside the listings (a second `charts` on the same fetcher, sharing
/// its 16 calls in flight) instead of after them. The fetch's time and calls per window.
async fn what_if(
    asked: &Asked,
    previous: &trendlake::pipeline::RunReport,
    general_at_once: bool,
) -> (Duration, Vec<usize>) {
    use trendlake::fetch::Fetcher;
    let api = fake(ROUND_MS).await;
    let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
    let options = FetchOptions::new(CATEGORY_CONCURRENCY, 200);
    let fetcher = Fetcher::new(&client, options, Clock::System);
    let regions: Vec<String> = NINE.iter().map(|s| s.to_string()).collect();
    let yesterday: BTreeMap<String, usize> = previous
        .regions
        .iter()
        .map(|r| (r.chart(), r.rows.div_ceil(50).max(1)))
        .collect();
    let (general, mut categories): (Vec<String>, Vec<String>) = asked
        .charts
        .iter()
        .map(|c| c.0.clone())
        .partition(|k| trendlake::chart::api_category(k).is_none());
    categories.sort_by_key(|k| std::cmp::Reverse(yesterday.get(k).copied().unwrap_or(1)));
    let started = Instant::now();
    let fetched = if general_at_once {
        // The listings polled first, so they are first in the queue for the 16 calls in
        // flight: a general chart's page taken before one would hold every category chart of
        // that region back by a round.
        let (categories, general) = tokio::join!(
            async {
                fetcher.categories(&regions, None).await;
                fetcher.charts(&categories).await
            },
            fetcher.charts(&general)
        );
        general.into_iter().chain(categories).collect::<Vec<_>>()
    } else {
        fetcher.categories(&regions, None).await;
        let keys: Vec<String> = general.into_iter().chain(categories).collect();
        fetcher.charts(&keys).await
    };
    let took = started.elapsed();
    assert_eq!(fetched.len(), asked.charts.len());
    assert_eq!(api.requests(), u64::from(asked.total()));
    (took, Timeline::of(&api).per_round())
}

fn windows(per_round: &[usize]) -> String {
    let v: Vec<String> = per_round.iter().map(|n| n.to_string()).collect();
    v.join(" ")
}

/// 9 regions × the 15 assignable categories at 250 ms per response, `--concurrency 16`,
/// tracking off: the fetch stage (each region's `videoCategories.list`, then every chart) must
/// take at most 1.2× the critical path the concurrency bound sets on what was requested,
/// max(longest chain, ⌈calls / 16⌉) × 250 ms. First a night that asks every chart (the first
/// night, or one that rechecks: `--recheck-days 0`), then a night after one whose catalogue
/// says which charts the API has none of (`--recheck-days 7`), each after a night (2026-11-24,
/// no latency) merged into the warehouse; what another order of the same calls would take;
/// then the quota of a night.
async fn categories_bench() {
    use trendlake::pipeline::RegionStatus;
    for (recheck_days, runs, what) in [
        (
            0,
            5,
            "every chart asked (a first night, or --recheck-days 0)",
        ),
        (
            7,
            5,
            "a night after one that found the missing charts (--recheck-days 7)",
        ),
    ] {
        let mut nights = Vec::new();
        for _ in 0..runs {
            nights.push(categories_night(recheck_days).await);
        }
        let last = &nights[nights.len() - 1];
        let report = &last.report;
        let asked = Asked::of(report);
        for n in &nights {
            assert_eq!(
                Asked::of(&n.report).charts,
                asked.charts,
                "the same calls every run"
            );
        }
        let category_charts = || {
            report
                .regions
                .iter()
                .filter(|r| r.category != trendlake::chart::GENERAL)
        };
        let count = |status: RegionStatus| category_charts().filter(|r| r.status == status).count();
        let (ok, no_chart, known) = (
            count(RegionStatus::Ok),
            count(RegionStatus::NoChart),
            count(RegionStatus::KnownNoChart),
        );
        let mut by_pages = [0usize; 5];
        for r in category_charts().filter(|r| r.status == RegionStatus::Ok) {
            by_pages[(r.requests as usize).min(4)] += 1;
        }
        let listings: u32 = asked.listings.values().sum();
        let general: u32 = report
            .regions
            .iter()
            .filter(|r| r.category == trendlake::chart::GENERAL)
            .map(|r| r.requests)
            .sum();
        let category_pages: u32 = category_charts()
            .filter(|r| r.status == RegionStatus::Ok)
            .map(|r| r.requests)
            .sum();
        let total = asked.total();
        let chain = asked.chain();
        let rounds = asked.critical_rounds(CATEGORY_CONCURRENCY);
        let critical = rounds as f64 * ROUND_MS as f64 / 1000.0;
        let seconds = |f: &dyn Fn(&Night) -> f64| spread(nights.iter().map(f).collect());
        let (fmin, fmed, fmax) = seconds(&|n| n.report.fetch_ms as f64 / 1000.0);
        let (wmin, wmed, wmax) = seconds(&|n| n.whole.as_secs_f64());
        let (_, write_med, _) = seconds(&|n| n.report.write_ms as f64);
        let (_, merge_med, _) = seconds(&|n| n.report.merge_ms as f64);
        println!(
            "categories: {what}: 9 regions x {} categories, {ROUND_MS} ms per response, --concurrency {CATEGORY_CONCURRENCY}, \
             tracking off: {} charts asked (9 general, {} category charts: {ok} exist, all under 200 videos: {} of 4 pages, \
             {} of 3, {} of 2, {} of 1; {no_chart} no_chart), {known} known_no_chart not asked; {total} calls = {listings} \
             listings + {general} general chart pages + {category_pages} category chart pages + {no_chart} refused; \
             {} quota units; {} rows committed",
            FIFTEEN.len(),
            asked.charts.len(),
            ok + no_chart,
            by_pages[4],
            by_pages[3],
            by_pages[2],
            by_pages[1],
            report.quota_units,
            report.rows_committed,
        );
        assert_eq!(report.quota_units, total);
        println!(
            "categories: critical path max(longest chain {chain}, ceil({total} / {CATEGORY_CONCURRENCY}) = {}) x {ROUND_MS} ms = {critical:.3} s; \
             fetch median {fmed:.3} s = {:.2}x (min {fmin:.3} s = {:.2}x, max {fmax:.3} s; {} runs; target <= 1.2x); \
             the whole run (fetch, catalogue, raw pages, commit, merge into a 1-night warehouse) median {wmed:.3} s \
             (min {wmin:.3} s, max {wmax:.3} s; write {write_med:.0} ms, merge {merge_med:.0} ms)",
            total.div_ceil(CATEGORY_CONCURRENCY as u32),
            fmed / critical,
            fmin / critical,
            nights.len(),
        );
        let (key, calls, first, end) = last.timeline.last_finished();
        println!(
            "categories: scheduling, in responses of {ROUND_MS} ms, modelled: the library's order (every listing, then the \
             charts in plan order, each holding one of the {CATEGORY_CONCURRENCY} slots to its last page) {} rounds; \
             with the category charts longest first (tonight's sizes) {}; the general charts also not waiting for the listings {}, \
             in the library's order {}; the critical path {rounds}. Measured (last run): calls sent per {ROUND_MS} ms \
             window [{}]; first listing at +{} ms, first general chart page at +{} ms, first category chart page at +{} ms; \
             the last chart to end, {key} ({calls} calls), started at +{} ms and sent its last call at +{} ms",
            asked.scheduled_rounds(CATEGORY_CONCURRENCY, Order::Library),
            asked.scheduled_rounds(CATEGORY_CONCURRENCY, Order::LibraryLongestFirst),
            asked.scheduled_rounds(CATEGORY_CONCURRENCY, Order::LongestFirst),
            asked.scheduled_rounds(CATEGORY_CONCURRENCY, Order::GeneralAtOnce),
            windows(&last.timeline.per_round()),
            last.timeline.first("list").as_millis(),
            last.timeline.first("general").as_millis(),
            last.timeline.first("category").as_millis(),
            first.as_millis(),
            end.as_millis(),
        );
        for (general_at_once, how) in [
            (
                false,
                "category charts longest first by the previous night's size",
            ),
            (
                true,
                "that, and the general charts alongside the listings (a second Fetcher::charts)",
            ),
        ] {
            let mut times = Vec::new();
            let mut per_round = Vec::new();
            for _ in 0..3 {
                let (took, windows) = what_if(&asked, &last.previous, general_at_once).await;
                times.push(took.as_secs_f64());
                per_round = windows;
            }
            let (min, med, max) = spread(times);
            println!(
                "categories: what-if, the same {total} calls through the library's Fetcher, {how}: fetch median {med:.3} s \
                 = {:.2}x (min {min:.3} s, max {max:.3} s; 3 runs); calls per window [{}]",
                med / critical,
                windows(&per_round),
            );
        }
    }
    categories_quota().await;
}

/// Quota units a night spends with `--categories none`, the 15 categories and `assignable`, on
/// the fake (seed 42, 2026-11-25, no latency): a first night, and one after a night
/// (2026-11-24) whose catalogue names the charts the API has none of (`--recheck-days 7`).
async fn categories_quota() {
    use trendlake::chart::Categories;
    let night = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let clock = Clock::Fixed(night.and_hms_opt(3, 0, 0).unwrap().and_utc());
    for categories in [
        Categories::None,
        Categories::List(FIFTEEN.into()),
        Categories::Assignable,
    ] {
        let mut line = Vec::new();
        for after_a_night in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let lake = trendlake::lake::Lake::open(&dir.path().join("lake").display().to_string())
                .unwrap();
            if after_a_night {
                previous_night(&lake, None, categories.clone()).await;
            }
            let api = fake(0).await;
            let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
            let job = categories_job(&client, categories.clone(), night, clock, 7);
            let report = trendlake::pipeline::run(&job, &lake, None, |_| ())
                .await
                .unwrap();
            assert_eq!(report.exit_code(), 0, "{}", report.summary());
            assert_eq!(u64::from(report.quota_units), api.requests());
            let listings: u32 = report.categories.iter().map(|c| c.quota_units).sum();
            let status = |s: trendlake::pipeline::RegionStatus| {
                report.regions.iter().filter(|r| r.status == s).count()
            };
            line.push(format!(
                "{}: {} units ({listings} listings, {} chart pages, {} no_chart; {} charts ok, {} known_no_chart not asked)",
                if after_a_night { "after a night" } else { "first night" },
                report.quota_units,
                report.quota_units - listings - status(trendlake::pipeline::RegionStatus::NoChart) as u32,
                status(trendlake::pipeline::RegionStatus::NoChart),
                status(trendlake::pipeline::RegionStatus::Ok),
                status(trendlake::pipeline::RegionStatus::KnownNoChart),
            ));
        }
        println!(
            "categories quota: --categories {categories}: {}",
            line.join("; ")
        );
    }
}

async fn fake(latency_ms: u64) -> FakeApi {
    fake_with_faults(latency_ms, Vec::new()).await
}

async fn fake_with_faults(latency_ms: u64, faults: Vec<trendlake_fake_api::Fault>) -> FakeApi {
    FakeApi::start(
        FakeConfig {
            seed: 42,
            date: NaiveDate::from_ymd_opt(2026, 11, 25),
            latency: Duration::from_millis(latency_ms),
            faults,
            ..FakeConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap()
}

async fn fetch_bench() {
    let api = fake(250).await;
    let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
    let regions: Vec<String> = NINE.iter().map(|s| s.to_string()).collect();
    for concurrency in [9, 1] {
        let runs = if concurrency == 9 { 5 } else { 1 };
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let got = fetch_all(
                &client,
                &regions,
                FetchOptions::new(concurrency, 200),
                Clock::System,
            )
            .await;
            times.push(started.elapsed());
            let rows: usize = got
                .iter()
                .map(|r| r.outcome.as_ref().unwrap().num_rows())
                .sum();
            assert_eq!(rows, 1800);
        }
        times.sort();
        println!(
            "fetch: 9 regions x 200 videos, 250 ms latency, --concurrency {concurrency}: median {:.3} s (min {:.3} s, max {:.3} s, {runs} runs)",
            times[times.len() / 2].as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64()
        );
    }
}

/// Faults: 10% of responses fail transiently (503) at 250 ms latency; all 1,800 rows must
/// still arrive, with the production retry policy (500 ms first backoff, jittered).
async fn faults_bench() {
    // 4 of the 40 responses a run then gets (36 pages + 4 retries) are 503s, spread over regions and pages.
    let plan = r#"{"faults": [
        {"region": "JP", "page": 2, "kind": "backend_503"},
        {"region": "KR", "page": 1, "kind": "backend_503"},
        {"region": "US", "page": 3, "kind": "backend_503"},
        {"region": "GB", "page": 4, "kind": "backend_503"}
    ]}"#;
    let regions: Vec<String> = NINE.iter().map(|s| s.to_string()).collect();
    let mut times = Vec::new();
    for _ in 0..5 {
        // A fresh server per run: each fault fires once.
        let api = fake_with_faults(250, trendlake_fake_api::parse_faults(plan).unwrap()).await;
        let client = Client::new(&api.base_url(), None, Duration::from_secs(30)).unwrap();
        let started = Instant::now();
        let got = fetch_all(&client, &regions, FetchOptions::new(9, 200), Clock::System).await;
        times.push(started.elapsed());
        let rows: usize = got
            .iter()
            .map(|r| r.outcome.as_ref().unwrap().num_rows())
            .sum();
        let retries: u32 = got.iter().map(|r| r.retries).sum();
        assert_eq!((rows, retries), (1800, 4));
        assert_eq!(api.requests(), 40);
    }
    times.sort();
    println!(
        "faults: 9 regions x 200 videos, 250 ms latency, 10% of responses 503: all 1800 rows, median {:.3} s (min {:.3} s, max {:.3} s, 5 runs)",
        times[2].as_secs_f64(),
        times[0].as_secs_f64(),
        times[4].as_secs_f64()
    );
}

/// Nine regions of four 50-item pages each, cut from the Chile sample's 25 realistic items as
/// received (raw JSON, `localized` copies included; ids made unique per position so nothing
/// collapses in a dictionary by accident).
fn chile_pages() -> BTreeMap<String, Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/fixtures/youtube/cl_mostPopular_snippet_contentDetails_statistics_25items.json",
    );
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let items = sample["items"].as_array().unwrap();
    let mut out = BTreeMap::new();
    for region in NINE {
        let pages = (0..4)
            .map(|p| {
                let page_items: Vec<serde_json::Value> = (0..50)
                    .map(|i| {
                        let mut v = items[(p * 50 + i) % 25].clone();
                        v["id"] = format!("{region}{p}{i:03}xxxxx").into();
                        v
                    })
                    .collect();
                serde_json::json!({
                    "kind": "youtube#videoListResponse",
                    "etag": "Wk9jiFfuS_n0gU6tPEvmyWtCrBQ",
                    "items": page_items,
                    "pageInfo": {"totalResults": 200, "resultsPerPage": 50}
                })
                .to_string()
            })
            .collect();
        out.insert(region.to_string(), pages);
    }
    out
}

/// The pipeline's CPU path as `fetch` runs it on each page it receives (regions in parallel, as on
/// the runtime's worker threads): the body parsed as the client parses it, its items through the
/// region's `ChartAssembler` (cut, repeats dropped, normalised into Arrow), the body compressed
/// for the raw archive (`RawPage`: gzip, CRC-32, SHA-256); then the date's Parquet file encoded.
fn transform(pages: &BTreeMap<String, Vec<String>>) -> (usize, usize) {
    use rayon::prelude::*;
    let batches: Vec<_> = pages
        .par_iter()
        .map(|(region, texts)| {
            let mut chart = ChartAssembler::new(region, 200);
            let mut raw = Vec::with_capacity(texts.len());
            for (i, text) in texts.iter().enumerate() {
                let body = text.as_bytes();
                let response: VideoListResponse = serde_json::from_slice(body).unwrap();
                let received = response.items.len();
                let fetched_at = Utc::now();
                chart.push(response.items, fetched_at).unwrap();
                raw.push(RawPage::new(i + 1, fetched_at, received, body));
            }
            std::hint::black_box(raw);
            chart.finish()
        })
        .collect();
    let encoded = encode_snapshot(&batches, &Lineage::new()).unwrap();
    (
        batches.iter().map(|b| b.num_rows()).sum(),
        encoded.bytes.len(),
    )
}

fn transform_bench() {
    let pages = chile_pages();
    let json_bytes: usize = pages.values().flatten().map(String::len).sum();
    transform(&pages); // warm up
    let rounds = 30;
    let started = Instant::now();
    let mut videos = 0;
    let mut parquet_bytes = 0;
    for _ in 0..rounds {
        let (n, b) = transform(&pages);
        videos += n;
        parquet_bytes = b;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = videos as f64 / secs;
    stage_breakdown(&pages, rounds);
    println!(
        "transform: trendlake {rate:.0} videos/s ({:.0} MB/s of JSON; {videos} videos, {json_bytes} JSON bytes -> {parquet_bytes} Parquet bytes per round)",
        json_bytes as f64 * rounds as f64 / secs / 1e6
    );
    let python = python();
    let file = std::env::temp_dir().join("trendlake-bench-pages.json");
    std::fs::write(&file, serde_json::to_vec(&pages).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer_transform.py");
    match Command::new(&python)
        .arg(&script)
        .arg(&file)
        .arg("5")
        .output()
    {
        Ok(out) if out.status.success() => {
            let peer: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            println!(
                "transform: python peer (json + unicodedata + pyarrow, {}) {peer:.0} videos/s; trendlake is {:.1}x",
                python.display(),
                rate / peer
            );
        }
        Ok(out) => println!(
            "transform: python peer failed ({}): install pyarrow in {} (.ci/run does)",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or(""),
            python.display()
        ),
        Err(e) => println!("transform: python peer not run: {e}"),
    }
}

/// Where the time goes: JSON parsing, the chart assembler (normalising into Arrow), the raw
/// pages' compression, Parquet encoding; one thread, stage by stage.
fn stage_breakdown(pages: &BTreeMap<String, Vec<String>>, rounds: usize) {
    let mut spent = [Duration::ZERO; 4];
    for _ in 0..rounds {
        let t = Instant::now();
        let parsed: Vec<(&String, Vec<VideoListResponse>)> = pages
            .iter()
            .map(|(r, texts)| {
                let responses = texts
                    .iter()
                    .map(|t| serde_json::from_slice(t.as_bytes()).unwrap())
                    .collect();
                (r, responses)
            })
            .collect();
        spent[0] += t.elapsed();
        let t = Instant::now();
        let batches: Vec<_> = parsed
            .into_iter()
            .map(|(region, responses)| {
                let mut chart = ChartAssembler::new(region, 200);
                for r in responses {
                    chart.push(r.items, Utc::now()).unwrap();
                }
                chart.finish()
            })
            .collect();
        spent[1] += t.elapsed();
        let t = Instant::now();
        for texts in pages.values() {
            for (i, text) in texts.iter().enumerate() {
                std::hint::black_box(RawPage::new(i + 1, Utc::now(), 50, text.as_bytes()));
            }
        }
        spent[2] += t.elapsed();
        let t = Instant::now();
        encode_snapshot(&batches, &Lineage::new()).unwrap();
        spent[3] += t.elapsed();
    }
    let total: f64 = spent.iter().map(Duration::as_secs_f64).sum();
    let share = |d: Duration| 100.0 * d.as_secs_f64() / total;
    println!(
        "transform stages: JSON parse {:.0}%, chart assembler (normalise + Arrow) {:.0}%, raw pages' compression {:.0}%, Parquet encode {:.0}%",
        share(spent[0]),
        share(spent[1]),
        share(spent[2]),
        share(spent[3])
    );
}

/// The project's Python tools live in one virtualenv that `.ci/run` creates.
fn python() -> PathBuf {
    let venv = std::env::var_os("TRENDLAKE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/trendlake-venv")
        });
    let p = venv.join("bin/python");
    if p.exists() {
        p
    } else {
        PathBuf::from("python3")
    }
}

/// Peak resident memory of one run of the real binary (wait4's ru_maxrss, in KiB on Linux).
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also reports its rusage"
)]
fn peak_rss_kib(args: &[String]) -> (i64, Duration) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_trendlake"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting on our own child with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args:?} failed"
    );
    (usage.ru_maxrss, started.elapsed())
}

async fn memory_bench() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let args: Vec<String> = ["demo", "--days", "30", "--date", "2026-11-25", "--dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([demo_dir.display().to_string()])
        .collect();
    let (kib, took) = tokio::task::spawn_blocking(move || peak_rss_kib(&args))
        .await
        .unwrap();
    println!(
        "memory: demo (30 days x 9 regions, 54,000 rows) peak RSS {:.1} MiB, {:.1} s",
        kib as f64 / 1024.0,
        took.as_secs_f64()
    );

    let api = fake(0).await;
    let args: Vec<String> = vec![
        "run".into(),
        "--api-base-url".into(),
        api.base_url(),
        "--date".into(),
        "2026-11-25".into(),
        "--concurrency".into(),
        "9".into(),
        "--lake".into(),
        dir.path().join("lake").display().to_string(),
        "--warehouse".into(),
        dir.path().join("wh.duckdb").display().to_string(),
    ];
    let (kib, took) = tokio::task::spawn_blocking(move || peak_rss_kib(&args))
        .await
        .unwrap();
    println!(
        "memory: run (9 regions x 200, snapshot + merge) peak RSS {:.1} MiB, {:.2} s",
        kib as f64 / 1024.0,
        took.as_secs_f64()
    );
}
