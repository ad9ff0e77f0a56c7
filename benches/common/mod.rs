//! The 9-region history the merge, queries and report benches share: each night's charts come
//! from the fake's generator (`fake_api::chart`, what the fake API serves) and are committed with
//! `commit::commit`, as a fetch's are (the library, no HTTP). One lake of every night is
//! built once (and kept under `TRENDLAKE_BENCH_DIR` for later runs); a history is a lake of hard
//! links to its last N nights.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use chrono::{NaiveDate, NaiveTime};
use rayon::prelude::*;
use std::hash::{Hash, Hasher};
use std::time::Instant;
use trendlake::clock::Clock;
use trendlake::lake::Lake;
use trendlake::pipeline;
use trendlake::record::{Page, region_batch};
use trendlake::warehouse::SCHEMA_VERSION;
use trendlake_fake_api::chart;

const NINE: [&str; 9] = ["JP", "KR", "TW", "SG", "VN", "TH", "HK", "US", "GB"];
const SEED: u64 = 42;

/// The night both benches' histories end with (the merge bench's new night).
pub fn last_night() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// A clock fixed at 03:00 UTC on `night`, when the nightly run commits.
pub fn clock(night: NaiveDate) -> Clock {
    Clock::Fixed(
        night
            .and_time(NaiveTime::from_hms_opt(3, 0, 0).unwrap())
            .and_utc(),
    )
}

/// Where a bench works: `TRENDLAKE_BENCH_DIR` (kept for later runs, its lake and warehouses
/// reused), or a temporary directory removed when this is dropped.
pub struct Work {
    pub dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

pub fn work() -> Work {
    match std::env::var_os("TRENDLAKE_BENCH_DIR") {
        Some(dir) => Work {
            dir: PathBuf::from(dir),
            _temporary: None,
        },
        None => {
            let tmp = tempfile::tempdir().unwrap();
            Work {
                dir: tmp.path().to_path_buf(),
                _temporary: Some(tmp),
            }
        }
    }
}

/// The lake every bench shares, `all/` under `work`: the `nights + 1` nights up to
/// [`last_night`] (a history of `nights` and the merge bench's new night), built unless complete.
/// Says so as `bench`, with `detail` after it.
pub fn shared_lake(
    rt: &tokio::runtime::Runtime,
    work: &Path,
    nights: usize,
    bench: &str,
    detail: &str,
) -> PathBuf {
    let started = Instant::now();
    let all = work.join("all");
    let last = last_night();
    let built = ensure_lake(rt, &all, last - chrono::Duration::days(nights as i64), last);
    println!(
        "{bench} bench: lake of {} nights x 9 regions x 200 videos {} in {:.1} s with the library \
         (fake_api::chart + commit::commit, no HTTP){detail}",
        nights + 1,
        if built { "built" } else { "found" },
        started.elapsed().as_secs_f64()
    );
    all
}

/// The lake at `dir` with every night of `first..=last`, built unless it is complete already.
/// Returns whether it was built.
fn ensure_lake(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    first: NaiveDate,
    last: NaiveDate,
) -> bool {
    let complete = first
        .iter_days()
        .take_while(|d| *d <= last)
        .all(|d| snapshot_file(dir, d).exists());
    if !complete {
        rt.block_on(build_lake(dir, first, last));
    }
    !complete
}

/// The snapshot of every night in `first..=last`, committed to a lake at `dir`, built in
/// parallel a few weeks at a time (to bound memory).
async fn build_lake(dir: &Path, first: NaiveDate, last: NaiveDate) {
    let lake = Lake::open(&dir.display().to_string()).unwrap();
    let nights: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    for chunk in nights.chunks(64) {
        let built: Vec<(NaiveDate, BTreeMap<String, RecordBatch>)> = chunk
            .par_iter()
            .map(|&night| {
                let fetched_at = clock(night).now();
                let regions = NINE
                    .iter()
                    .map(|r| {
                        let page = Page {
                            offset: 0,
                            fetched_at,
                            items: chart(SEED, r, night),
                        };
                        (r.to_string(), region_batch(r, &[page]).unwrap())
                    })
                    .collect();
                (night, regions)
            })
            .collect();
        let commits = built.into_iter().map(|(night, regions)| {
            let regions = trendlake::commit::unsourced(regions);
            trendlake::commit::commit(&lake, night, regions, "bench")
        });
        for commit in futures::future::join_all(commits).await {
            commit.unwrap();
        }
    }
}

/// Where the lake at `lake` keeps `night`'s snapshot.
pub fn snapshot_file(lake: &Path, night: NaiveDate) -> PathBuf {
    lake.join(format!("videos/snapshot_date={night}/videos.parquet"))
}

/// Put `night`'s snapshot of the lake `all` into the lake `to`, as a hard link (same bytes, same
/// etag).
pub fn link_night(all: &Path, to: &Path, night: NaiveDate) {
    let target = snapshot_file(to, night);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::hard_link(snapshot_file(all, night), target).unwrap();
}

// Not every bench merges a history of its own (the merge bench times merges instead).
#[allow(dead_code)]
mod merged {
    use super::*;

    const SCHEMA_SQL: &str = include_str!("../../sql/schema.sql");
    const VIEWS_SQL: &str = include_str!("../../sql/views.sql");

    /// A history of the last N nights: its lake (hard links) and its warehouse.
    pub struct History {
        pub nights: usize,
        pub lake: PathBuf,
        pub warehouse: PathBuf,
    }

    /// The history of the last `nights` nights up to `last` (`q<nights>/` under `work`), its
    /// warehouse merged, or found merged by an earlier run of any bench with the same schema.
    pub fn history(
        rt: &tokio::runtime::Runtime,
        work: &Path,
        all: &Path,
        nights: usize,
        last: NaiveDate,
    ) -> History {
        let dir = work.join(format!("q{nights}"));
        let lake = dir.join("lake");
        let warehouse = dir.join("warehouse.duckdb");
        let stamp = dir.join("built-with");
        let fingerprint = fingerprint();
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(fingerprint.as_str())
            && dir.exists()
        {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        for k in 0..nights as i64 {
            let night = last - chrono::Duration::days(k);
            if !snapshot_file(&lake, night).exists() {
                link_night(all, &lake, night);
            }
        }
        // A warehouse found up to date is left as it is (`merge` does not even open it for writing).
        let t = Instant::now();
        let report = rt
            .block_on(pipeline::merge(
                &Lake::open(&lake.display().to_string()).unwrap(),
                &warehouse,
                None,
                clock(last),
            ))
            .unwrap();
        assert_eq!(report.merged.len() + report.up_to_date, nights);
        std::fs::write(&stamp, &fingerprint).unwrap();
        if !report.merged.is_empty() {
            println!(
                "history of {nights} nights: {} merged into {} in {:.1} s ({:.1} MiB)",
                report.merged.len(),
                warehouse.display(),
                t.elapsed().as_secs_f64(),
                std::fs::metadata(&warehouse).unwrap().len() as f64 / (1024.0 * 1024.0)
            );
        }
        History {
            nights,
            lake,
            warehouse,
        }
    }

    /// The schema version and the schema and views a warehouse is built with.
    fn fingerprint() -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (SCHEMA_SQL, VIEWS_SQL).hash(&mut h);
        format!("schema version {SCHEMA_VERSION}, sql {:016x}\n", h.finish())
    }
}
#[allow(unused_imports)]
pub use merged::{History, history};
