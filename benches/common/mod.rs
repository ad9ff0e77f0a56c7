//! The 9-region history both the merge and the queries benches build: each night's charts come
//! from the fake's generator (`fake_api::chart`, what the fake API serves) and are committed with
//! `Lake::commit_snapshot`, as a fetch's are (the library, no HTTP). One lake of every night is
//! built once (and kept under `TRENDLAKE_BENCH_DIR` for later runs); a history is a lake of hard
//! links to its last N nights.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use chrono::{NaiveDate, NaiveTime};
use rayon::prelude::*;
use trendlake::clock::Clock;
use trendlake::fake_api::chart;
use trendlake::lake::Lake;
use trendlake::record::{Page, region_batch};

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

/// The lake at `dir` with every night of `first..=last`, built unless it is complete already.
/// Returns whether it was built.
pub fn ensure_lake(
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
        let commits = built
            .into_iter()
            .map(|(night, regions)| lake.commit_snapshot(night, regions));
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
