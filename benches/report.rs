//! `trendlake report` for the last date of 3 years of 9-region history (docs/benchmarks.md):
//! target under 2 s. Run with `cargo bench --bench report`.
//!
//! The history is the other benches' (`common`: the fake's generator and
//! `commit::commit`, no HTTP): 1,095 nights × 9 regions × 200 videos ending 2026-11-25,
//! merged once into the warehouse the queries bench uses (`common::history`: `q1095/` under
//! `TRENDLAKE_BENCH_DIR`, kept for later runs and rebuilt when the schema or views change). Timed: the binary, process start
//! included (`trendlake report --date 2026-11-25 --output F`), median of [`RUNS`]; then the same
//! in-process, split into the queries (`report::load`) and the rendering (`report::render`).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use trendlake::report::{self, Placement, annotations::source_changes};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NIGHTS: usize = 1095;
const RUNS: usize = 7;
const TARGET: Duration = Duration::from_secs(2);
const BINARY: &str = env!("CARGO_BIN_EXE_trendlake");

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let work = common::work();
    let work = work.dir.as_path();
    let last = common::last_night();
    let all = common::shared_lake(&rt, work, NIGHTS, "report", "");
    let warehouse = common::history(&rt, work, &all, NIGHTS, last).warehouse;

    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("report.html");
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let status = Command::new(BINARY)
            .args(["report", "--date", &last.to_string(), "--output"])
            .arg(&output)
            .arg("--warehouse")
            .arg(&warehouse)
            .env_remove("TRENDLAKE_CONFIG")
            .status()
            .unwrap();
        times.push(t.elapsed());
        assert!(status.success(), "trendlake report failed");
    }
    times.sort();
    let median = times[RUNS / 2];
    let bytes = std::fs::metadata(&output).unwrap().len();

    // In-process: the queries and the rendering apart.
    let (mut loads, mut renders) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let data = report::load(&warehouse, Some(last)).unwrap();
        loads.push(t.elapsed());
        let t = Instant::now();
        let html = report::render(&data, source_changes(), Placement::Standalone).unwrap();
        renders.push(t.elapsed());
        assert_eq!(
            html.len() as u64,
            bytes,
            "the binary and the library render alike"
        );
    }
    loads.sort();
    renders.sort();
    let same = report::generate(&warehouse, Some(last), Placement::Standalone).unwrap();
    println!(
        "\n| history | `trendlake report` (binary, process start included), median of {RUNS} | min–max | queries (in-process, median) | rendering (median) | page | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    println!(
        "| {NIGHTS} nights × 9 regions, {last} | **{}** | {}–{} | {} | {} | {:.0} KiB ({} bytes) | {} (< 2 s) |",
        ms(median),
        ms(times[0]),
        ms(times[RUNS - 1]),
        ms(loads[RUNS / 2]),
        ms(renders[RUNS / 2]),
        bytes as f64 / 1024.0,
        same.html.len(),
        if median < TARGET { "PASS" } else { "MISS" }
    );
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
