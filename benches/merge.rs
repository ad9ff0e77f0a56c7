//! Merging one new night into warehouses of 1, 365 and 1,095 nights of 9-region history: how the
//! nightly merge's cost grows with the warehouse. Then, on the longest history: a new warehouse
//! merged from the whole lake, and a copy of the lake (new inodes and times: other etags, the same
//! content) merged into the warehouse that holds it, which must merge nothing. Run with `cargo bench --bench merge` (`-- 1 365` runs those histories only).
//!
//! The lake history is built with the library, not through HTTP (`common`, shared with the queries
//! bench): each night's charts come from the fake's generator (`fake_api::chart`, what the fake API
//! serves) and are committed with `commit::commit`, as a fetch's are. One lake of 1,096
//! nights is built once; each history gets a lake of hard links to its last N nights, merged into
//! a warehouse in one session. Each timed merge is `pipeline::merge` (what `trendlake run` does
//! after its snapshot) of the new night into a fresh copy of that warehouse.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::{clock, link_night};
use trendlake::lake::Lake;
use trendlake::pipeline;
use trendlake::warehouse::{SourceFile, Warehouse};

// The same allocator as the `trendlake` binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HISTORIES: [usize; 3] = [1, 365, 1095];
/// Timed merges per history, each into a fresh copy of its warehouse.
const RUNS: usize = 7;
/// The 1,095-night merge may take at most this many times the 1-night one.
const TARGET_RATIO: f64 = 1.5;
/// A new warehouse from the 1,095-night lake, at most (seconds).
const TARGET_FRESH_S: f64 = 30.0;
/// A copied 1,095-night lake merged into its warehouse (nothing to merge), at most (seconds).
const TARGET_COPIED_S: f64 = 2.0;
/// Timed runs of each of those.
const LAKE_RUNS: usize = 3;

fn main() {
    // `cargo bench --bench merge -- 1 365` runs those histories only.
    let asked: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let histories: Vec<usize> = HISTORIES
        .into_iter()
        .filter(|n| asked.is_empty() || asked.contains(n))
        .collect();
    if histories.is_empty() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let work = common::work();
    let work = work.dir.as_path();
    let new_night = common::last_night();
    let longest = *histories.iter().max().unwrap();
    let all = common::shared_lake(&rt, work, longest, "merge", "");

    let mut medians = BTreeMap::new();
    println!(
        "{:>8} {:>12} {:>11} {:>10} {:>16} {:>10} {:>10} {:>10}",
        "history", "chart rows", "build (s)", "file MiB", "1-night median", "min", "max", "runs"
    );
    for &nights in &histories {
        let dir = work.join(format!("h{nights}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let lake_dir = dir.join("lake");
        let history: Vec<NaiveDate> = (1..=nights as i64)
            .rev()
            .map(|k| new_night - chrono::Duration::days(k))
            .collect();
        // As a warehouse stands after a night's run: published with the whole history, and the
        // standby (the file that night's merge replaced) one night behind. So: an empty
        // warehouse, every night but the last merged at once, then the last night.
        let (last, earlier) = history.split_last().unwrap();
        for d in earlier {
            link_night(&all, &lake_dir, *d);
        }
        let lake = Lake::open(&lake_dir.display().to_string()).unwrap();
        let base = dir.join("base.duckdb");
        let base_standby = dir.join("base.duckdb.standby");
        let t = Instant::now();
        Warehouse::begin(&base).unwrap().publish().unwrap();
        let mut built = rt
            .block_on(pipeline::merge(&lake, &base, None, clock(new_night)))
            .unwrap();
        link_night(&all, &lake_dir, *last);
        let night = rt
            .block_on(pipeline::merge(&lake, &base, None, clock(new_night)))
            .unwrap();
        built.merged.extend(night.merged);
        let build_secs = t.elapsed().as_secs_f64();
        assert_eq!(built.merged.len(), nights);
        assert!(
            base_standby.exists(),
            "the last night's merge left a standby"
        );
        let rows: usize = built.merged.iter().map(|m| m.1).sum();
        let size = std::fs::metadata(&base).unwrap().len();

        link_night(&all, &lake_dir, new_night);
        let mut times = Vec::new();
        for run in 0..RUNS {
            let wh = dir.join(format!("run{run}.duckdb"));
            let standby = dir.join(format!("run{run}.duckdb.standby"));
            std::fs::copy(&base, &wh).unwrap();
            std::fs::copy(&base_standby, &standby).unwrap();
            // On disk before the clock starts, as a published warehouse is: no write-back of the
            // bench's own copy competes with the merge.
            std::fs::File::open(&wh).unwrap().sync_all().unwrap();
            std::fs::File::open(&standby).unwrap().sync_all().unwrap();
            settle();
            let t = Instant::now();
            let report = rt
                .block_on(pipeline::merge(&lake, &wh, None, clock(new_night)))
                .unwrap();
            times.push(t.elapsed());
            assert_eq!(report.merged.len(), 1, "one new night merged");
            assert_eq!(report.up_to_date, nights);
            std::fs::remove_file(&wh).unwrap();
            std::fs::remove_file(&standby).unwrap();
        }
        times.sort();
        let median = times[RUNS / 2];
        medians.insert(nights, median);
        println!(
            "{:>8} {:>12} {:>11.1} {:>10.1} {:>14.0}ms {:>8.0}ms {:>8.0}ms {:>10}",
            nights,
            rows,
            build_secs,
            size as f64 / (1024.0 * 1024.0),
            ms(median),
            ms(times[0]),
            ms(times[RUNS - 1]),
            RUNS
        );
        phases(&rt, &lake, &base, &dir, new_night);
        if nights == 1095 {
            whole_lake(&rt, &lake_dir, &base, &dir);
        }
    }
    if let (Some(one), Some(most)) = (medians.get(&1), medians.get(&1095)) {
        let ratio = most.as_secs_f64() / one.as_secs_f64();
        println!(
            "ratio 1095-night / 1-night: {ratio:.2}x (target at most {TARGET_RATIO}x: {})",
            if ratio <= TARGET_RATIO {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}

/// The whole 1,096-night lake at `lake_dir`: merged into a new warehouse, and copied (every file
/// written anew: other inodes and times, so other etags) then merged into `base`, the warehouse
/// that holds it all but its last night. That night is merged into a copy of `base` first, so the
/// timed merge has nothing to merge: it must read footers, not rows, and publish nothing.
fn whole_lake(rt: &tokio::runtime::Runtime, lake_dir: &Path, base: &Path, dir: &Path) {
    let lake = Lake::open(&lake_dir.display().to_string()).unwrap();
    let night = common::last_night();
    let mut fresh = Vec::new();
    for run in 0..LAKE_RUNS {
        let wh = dir.join(format!("fresh{run}.duckdb"));
        settle();
        let t = Instant::now();
        let report = rt
            .block_on(pipeline::merge(&lake, &wh, None, clock(night)))
            .unwrap();
        fresh.push(t.elapsed());
        assert_eq!(report.merged.len(), 1096);
        std::fs::remove_file(&wh).unwrap();
    }
    fresh.sort();
    let copy = dir.join("copy");
    for entry in walk(lake_dir) {
        let to = copy.join(entry.strip_prefix(lake_dir).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    let copied_lake = Lake::open(&copy.display().to_string()).unwrap();
    let holding = dir.join("holding.duckdb");
    std::fs::copy(base, &holding).unwrap();
    rt.block_on(pipeline::merge(&lake, &holding, None, clock(night)))
        .unwrap();
    let published = std::fs::read(&holding).unwrap();
    let mut copied = Vec::new();
    for _ in 0..LAKE_RUNS {
        settle();
        let t = Instant::now();
        let report = rt
            .block_on(pipeline::merge(&copied_lake, &holding, None, clock(night)))
            .unwrap();
        copied.push(t.elapsed());
        assert!(report.merged.is_empty(), "a copied lake merges nothing");
        assert_eq!(report.up_to_date, 1096);
        assert!(
            std::fs::read(&holding).unwrap() == published,
            "nothing published"
        );
    }
    copied.sort();
    let verdict = |d: Duration, target: f64| match d.as_secs_f64() <= target {
        true => "met",
        false => "NOT met",
    };
    println!(
        "{:>8}   a new warehouse from the whole lake (1,096 snapshots): median {:.1} s of {LAKE_RUNS} \
         ({:.1}-{:.1} s; target at most {TARGET_FRESH_S} s: {})",
        "",
        fresh[LAKE_RUNS / 2].as_secs_f64(),
        fresh[0].as_secs_f64(),
        fresh[LAKE_RUNS - 1].as_secs_f64(),
        verdict(fresh[LAKE_RUNS / 2], TARGET_FRESH_S)
    );
    println!(
        "{:>8}   the copied lake into its warehouse (nothing to merge): median {:.0} ms of \
         {LAKE_RUNS} ({:.0}-{:.0} ms; target at most {TARGET_COPIED_S} s: {})",
        "",
        ms(copied[LAKE_RUNS / 2]),
        ms(copied[0]),
        ms(copied[LAKE_RUNS - 1]),
        verdict(copied[LAKE_RUNS / 2], TARGET_COPIED_S)
    );
    std::fs::remove_dir_all(&copy).unwrap();
    std::fs::remove_file(&holding).unwrap();
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            match path.is_dir() {
                true => stack.push(path),
                false => out.push(path),
            }
        }
    }
    out
}

/// Let the write-back of the bench's own files (history builds, copies) finish before a timed
/// merge, so that each merge pays for its own writes only.
fn settle() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Where one merge's time goes when it has to copy the warehouse (no standby: a first merge, or a
/// standby a reader holds), with the warehouse API directly: begin (lock, copy, schema),
/// merge the night, publish (checkpoint, fsync, rename).
fn phases(rt: &tokio::runtime::Runtime, lake: &Lake, base: &Path, dir: &Path, night: NaiveDate) {
    let wh = dir.join("phases.duckdb");
    std::fs::copy(base, &wh).unwrap();
    std::fs::File::open(&wh).unwrap().sync_all().unwrap();
    settle();
    let snapshot = rt.block_on(lake.read_snapshot(night)).unwrap().unwrap();
    let t = Instant::now();
    let mut session = Warehouse::begin(&wh).unwrap();
    let begin = t.elapsed();
    let t = Instant::now();
    let path = snapshot.meta.location.to_string();
    session
        .merge_snapshot(
            night,
            SourceFile {
                path: &path,
                etag: snapshot.meta.e_tag.as_deref(),
                size: snapshot.meta.size,
                content_sha256: &snapshot.content_sha256,
            },
            snapshot.regions.into_values(),
            clock(night).now(),
        )
        .unwrap();
    assert!(session.stale_metadata_dates().unwrap().is_empty());
    let merge = t.elapsed();
    let t = Instant::now();
    session.publish().unwrap();
    let publish = t.elapsed();
    println!(
        "{:>8}   phases of one merge: begin (lock, copy, schema) {:.0} ms, merge {:.0} ms, \
         publish (checkpoint, fsync, rename) {:.0} ms",
        "",
        ms(begin),
        ms(merge),
        ms(publish)
    );
    std::fs::remove_file(&wh).unwrap();
}
