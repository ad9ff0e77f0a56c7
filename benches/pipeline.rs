//! The pipeline's benchmarks, reported in docs/benchmarks.md: fetch wall time against the fake with 250 ms
//! latency, transform throughput (JSON pages → Parquet bytes) against a Python peer, the peak
//! memory of `demo` and of a 9-region `run`, and a night that tracks 5,000 videos after the
//! charts. Run with `cargo bench`.

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
