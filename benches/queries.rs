//! The named queries on 3 years of 9-region history (docs/benchmarks.md). Run with
//! `cargo bench --bench queries`; `-- latency` times the warehouse only, `-- lake` the warehouse
//! and the raw lake, `-- memory` the memory part only.
//!
//! The history is the merge bench's (`common`: the fake's generator and `commit::commit`,
//! no HTTP): 1,095 nights × 9 regions × 200 videos ending 2026-11-25, merged once into a warehouse
//! with `pipeline::merge`. With `TRENDLAKE_BENCH_DIR` the lake and the warehouses are kept and
//! reused by later runs (a warehouse is rebuilt when sql/schema.sql or sql/views.sql changed).
//!
//! - **Latency**: every query of `NAMED_QUERIES`, with parameters chosen by their declared kind
//!   from the data (a date: the last snapshot date; a video: the video on the most regions' charts
//!   that date; a region: JP; integers and text: their defaults), run 9 times, each on a fresh
//!   read-only connection as `trendlake query` opens it (`Warehouse::open_read_only`, then
//!   `query_each` fetching every row), process start excluded. A query run with a date or video
//!   set is "one date / one video" (target: median under 100 ms), any other "whole history"
//!   (under 1 s); a query that reads the whole history but also takes a date or video is
//!   run both ways. Beside it, the same SQL on the raw lake through DuckDB's Python client
//!   (`benches/queries_on_lake.py`, 3 runs), and the binary's wall time for
//!   `query --name top_movers`, process start included.
//! - **Memory**: `trendlake query "SELECT * FROM chart" --output X.parquet` (the binary) on
//!   histories of 30, 365 and 1,095 nights, and three times the 1,095-night result from the same
//!   warehouse: rows written, file size, wall time and the child's peak RSS (`wait4`).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, StringArray};
use common::{History, history};
use trendlake::queries::{Binding, NAMED_QUERIES, NamedQuery, Param, ParamKind};
use trendlake::warehouse::{Warehouse, WarehouseError};

// The same allocator as the `trendlake` binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The history the latencies are measured on.
const NIGHTS: usize = 1095;
/// The histories `SELECT * FROM chart` is written out from.
const MEMORY_HISTORIES: [usize; 3] = [30, 365, 1095];
/// Timed runs per query on the warehouse.
const RUNS: usize = 9;
/// Timed runs per query on the raw lake, where each takes seconds.
const LAKE_RUNS: usize = 3;
/// Runs of the binary (top_movers; each memory history).
const BINARY_RUNS: usize = 5;
const MEMORY_RUNS: usize = 3;
const ONE_TARGET: Duration = Duration::from_millis(100);
const WHOLE_TARGET: Duration = Duration::from_secs(1);
/// The queries that read the whole history though they take a date or video: run with their
/// date and video parameters at the defaults (and, when they declare some, also with them set).
const ALSO_WHOLE_HISTORY: [&str; 9] = [
    "streaks",
    "survival",
    "channel_leaderboard",
    "category_mix",
    "coverage",
    "cross_region",
    "time_to_trend",
    "publish_hour",
    "days_on_chart",
];
/// Date parameters that do not narrow the read: an as-of date (or `since`) still reads the whole
/// history up to it, so the bench leaves them at their defaults, the whole history.
const AS_OF: [(&str, &str); 3] = [
    ("cross_region", "date"),
    ("cross_region", "since"),
    ("survival", "date"),
];
/// What a warehouse was built with: a change to either file means a rebuild.
const LAKE_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/queries_on_lake.py");
const VIEWS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/views.sql");
const BINARY: &str = env!("CARGO_BIN_EXE_trendlake");
/// The first argument that makes this binary the launcher of [`measure_child`].
const MEASURE: &str = "__measure";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MEASURE) {
        return measure_child(&args[2..]);
    }
    // `cargo bench` passes `--bench`; any other word picks parts.
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let part = |p: &str| asked.is_empty() || asked.iter().any(|a| a == p);
    let (latency, memory) = (part("latency") || part("lake"), part("memory"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let work = common::work();
    let work = work.dir.as_path();
    let last = common::last_night();
    // The merge bench's lake (one night more than the longest history), so either bench reuses
    // the other's.
    let all = common::shared_lake(&rt, work, NIGHTS, "queries", &format!("; {}", machine()));
    let mut histories: Vec<usize> = Vec::new();
    if latency {
        histories.push(NIGHTS);
    }
    if memory {
        histories.extend(MEMORY_HISTORIES);
    }
    histories.sort();
    histories.dedup();
    let warehouses: BTreeMap<usize, History> = histories
        .iter()
        .map(|&n| (n, history(&rt, work, &all, n, last)))
        .collect();

    if latency {
        latencies(&warehouses[&NIGHTS], part("lake"));
    }
    if memory {
        memory_table(&warehouses);
    }
}

/// Whether a query reads one date or one video, or the whole history, and its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    OneDateOrVideo,
    WholeHistory,
}

impl Class {
    fn target(self) -> Duration {
        match self {
            Self::OneDateOrVideo => ONE_TARGET,
            Self::WholeHistory => WHOLE_TARGET,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::OneDateOrVideo => "one date/video (< 100 ms)",
            Self::WholeHistory => "whole history (< 1 s)",
        }
    }
}

/// One named query as the bench runs it.
struct Planned {
    query: &'static NamedQuery,
    /// `--param` values, as a user would give them.
    params: Vec<String>,
    bindings: Vec<Binding>,
    class: Class,
}

/// The timings of one query on one side.
enum Timed {
    Ran { times: Vec<Duration>, rows: usize },
    Failed(String),
}

impl Timed {
    fn from_times(mut times: Vec<Duration>, rows: usize) -> Self {
        times.sort();
        Self::Ran { times, rows }
    }

    fn median(&self) -> Option<Duration> {
        match self {
            Self::Ran { times, .. } => Some(times[times.len() / 2]),
            Self::Failed(_) => None,
        }
    }

    /// `median / max`, or n/a.
    fn cell(&self) -> String {
        match self {
            Self::Ran { times, .. } => format!(
                "{} / {}",
                fmt_ms(times[times.len() / 2]),
                fmt_ms(*times.last().unwrap())
            ),
            Self::Failed(_) => "n/a".into(),
        }
    }
}

fn latencies(h: &History, with_lake: bool) {
    let (date, video, video_regions) = chosen_values(&h.warehouse);
    println!(
        "\nparameters by kind: date = {date} (the last snapshot), video = {video} (on \
         {video_regions} regions' charts that date), region = JP, integers and text: their \
         defaults"
    );
    let planned: Vec<Planned> = NAMED_QUERIES
        .iter()
        .flat_map(|q| plans(q, &date, &video))
        .collect();
    let baseline = time_on_warehouse(&h.warehouse, "SELECT 1", &[]);
    println!(
        "a fresh read-only open of the warehouse plus `SELECT 1` (every query below pays it): {} \
         (median / max of {RUNS})",
        baseline.cell()
    );

    println!(
        "\ntiming {} queries x {RUNS} runs on the warehouse...",
        planned.len()
    );
    let on_warehouse: Vec<Timed> = planned
        .iter()
        .map(|p| {
            let timed = time_on_warehouse(&h.warehouse, p.query.sql, &p.bindings);
            eprintln!(
                "  warehouse: {} {}: {}",
                p.query.name,
                p.params.join(" "),
                timed.cell()
            );
            timed
        })
        .collect();
    let on_lake: Option<Vec<Timed>> = with_lake.then(|| {
        println!(
            "timing the same on the raw lake (DuckDB's Python client), {LAKE_RUNS} runs each..."
        );
        time_on_lake(h, &planned)
    });

    println!(
        "\n#### Latency of each named query: {} nights x 9 regions ({} chart entries), median / \
         max of {RUNS} runs on the warehouse, {LAKE_RUNS} on the lake\n",
        h.nights,
        thousands((h.nights * 9 * 200) as u64)
    );
    println!(
        "| query | params set | class (target) | rows | warehouse | raw lake (Python DuckDB) \
         | lake / warehouse | target |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---|");
    let mut notes = Vec::new();
    let (mut passed, mut missed) = (0, 0);
    for (i, (p, w)) in planned.iter().zip(&on_warehouse).enumerate() {
        let l = on_lake.as_ref().map(|l| &l[i]);
        let verdict = match w.median() {
            Some(m) if m < p.class.target() => {
                passed += 1;
                "PASS"
            }
            Some(_) => {
                missed += 1;
                "**MISS**"
            }
            None => "error",
        };
        let rows = match w {
            Timed::Ran { rows, .. } => rows.to_string(),
            Timed::Failed(_) => "–".into(),
        };
        let ratio = match (w.median(), l.and_then(Timed::median)) {
            (Some(w), Some(l)) => format!("{:.1}×", l.as_secs_f64() / w.as_secs_f64()),
            _ => "–".into(),
        };
        let placeholder = if p.query.sql.contains("PLACEHOLDER") {
            " (placeholder)"
        } else {
            ""
        };
        println!(
            "| `{}`{placeholder} | {} | {} | {rows} | {} | {} | {ratio} | {verdict} |",
            p.query.name,
            if p.params.is_empty() {
                "–".to_string()
            } else {
                p.params.join(", ")
            },
            p.class.label(),
            w.cell(),
            l.map_or("not run".into(), Timed::cell),
        );
        let which = if p.params.is_empty() {
            format!("`{}`", p.query.name)
        } else {
            format!("`{}` ({})", p.query.name, p.params.join(", "))
        };
        if let Timed::Failed(e) = w {
            notes.push(format!("- {which} failed on the warehouse: {e}"));
        }
        match (w, l) {
            (_, Some(Timed::Failed(e))) => notes.push(format!("- {which} on the lake: n/a, {e}")),
            (Timed::Ran { rows: a, .. }, Some(Timed::Ran { rows: b, .. })) if a != b => notes.push(
                format!("- {which}: {a} rows on the warehouse, {b} on the lake"),
            ),
            _ => {}
        }
    }
    println!(
        "\n{passed} PASS, {missed} MISS (verdict on the warehouse median; a fresh read-only \
         connection per run, process start excluded)"
    );
    for n in &notes {
        println!("{n}");
    }
    binary_wall_time(&h.warehouse);
}

/// The last snapshot date; the video on the most regions' charts that date (ties: best summed
/// rank, then id) and on how many.
fn chosen_values(warehouse: &Path) -> (String, String, String) {
    let wh = Warehouse::open_read_only(warehouse).unwrap();
    let batches = wh
        .query(
            "WITH last AS (SELECT max(snapshot_date) AS d FROM chart_entries)
             SELECT strftime(last.d, '%Y-%m-%d'), e.video_id, count(*)::VARCHAR
             FROM chart_entries e JOIN last ON e.snapshot_date = last.d
             GROUP BY last.d, e.video_id
             ORDER BY count(*) DESC, sum(e.rank), e.video_id
             LIMIT 1",
            &[],
        )
        .unwrap();
    let b = &batches[0];
    let text = |i: usize| {
        let a = b.column(i).as_any().downcast_ref::<StringArray>().unwrap();
        assert!(!a.is_empty(), "the warehouse has chart entries");
        a.value(0).to_string()
    };
    (text(0), text(1), text(2))
}

/// How the bench runs a query: with its date and video parameters set (one date or one video)
/// if it declares any, and with them left at their defaults (the whole history) if it declares
/// none or is one of [`ALSO_WHOLE_HISTORY`]. Regions are set to JP either way.
fn plans(query: &'static NamedQuery, date: &str, video: &str) -> Vec<Planned> {
    let declared: Vec<Param> = query
        .params()
        .unwrap()
        .into_iter()
        .filter(|p| !AS_OF.contains(&(query.name, p.name)))
        .collect();
    let narrows = declared
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Date | ParamKind::Video));
    let mut out = Vec::new();
    if !narrows || ALSO_WHOLE_HISTORY.contains(&query.name) {
        out.push(plan(query, &declared, None));
    }
    if narrows {
        out.push(plan(query, &declared, Some((date, video))));
    }
    out
}

/// The query's parameters chosen by kind (dates and videos only when `narrow` gives them),
/// bound as `--param` would bind them.
fn plan(query: &'static NamedQuery, declared: &[Param], narrow: Option<(&str, &str)>) -> Planned {
    let params: Vec<String> = declared
        .iter()
        .filter_map(|p| {
            let value = match (p.kind, narrow) {
                (ParamKind::Date, Some((date, _))) => date,
                (ParamKind::Video, Some((_, video))) => video,
                (ParamKind::Region, _) => "JP",
                _ => return None,
            };
            Some(format!("{}={value}", p.name))
        })
        .collect();
    let bindings = query.bind(&params).unwrap();
    Planned {
        query,
        params,
        bindings,
        class: if narrow.is_some() {
            Class::OneDateOrVideo
        } else {
            Class::WholeHistory
        },
    }
}

/// `sql` on a fresh read-only connection per run, as `trendlake query` opens it, every row
/// fetched.
fn time_on_warehouse(warehouse: &Path, sql: &str, bindings: &[Binding]) -> Timed {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let result = Warehouse::open_read_only(warehouse).and_then(|wh| {
            wh.query_each(sql, bindings, |batches| {
                let mut n = 0;
                for b in batches {
                    n += b?.num_rows();
                }
                Ok::<_, WarehouseError>(n)
            })
        });
        let elapsed = t.elapsed();
        match result {
            Ok(n) => rows = n,
            Err(e) => return Timed::Failed(e.to_string()),
        }
        times.push(elapsed);
    }
    Timed::from_times(times, rows)
}

/// The queries on the raw lake, by `benches/queries_on_lake.py` with the project's virtualenv.
fn time_on_lake(h: &History, planned: &[Planned]) -> Vec<Timed> {
    let venv = std::env::var_os("TRENDLAKE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/trendlake-venv")
        });
    let python = venv.join("bin/python");
    let skip = |why: String| planned.iter().map(|_| Timed::Failed(why.clone())).collect();
    if !python.exists() {
        return skip(format!("no {} (run .ci/venv)", python.display()));
    }
    let job = serde_json::json!({
        "lake": h.lake,
        "warehouse": h.warehouse,
        "views_sql": VIEWS_FILE,
        "runs": LAKE_RUNS,
        "queries": planned.iter().enumerate().map(|(id, p)| serde_json::json!({
            "id": id,
            "name": p.query.name,
            "sql": p.query.sql,
            "variables": p.bindings.iter().map(|Binding { name, value }| serde_json::json!({
                "name": name,
                "type": value.sql_type(),
                "value": value.to_sql_text(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(&python)
        .arg(LAKE_SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let mut by_id: BTreeMap<u64, Timed> = BTreeMap::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Some(setup) = v["setup_ms"].as_f64() {
            println!("lake database set up (views, reference tables copied) in {setup:.0} ms");
            continue;
        }
        let id = v["id"].as_u64().unwrap();
        let timed = match v["error"].as_str() {
            Some(e) => Timed::Failed(e.to_string()),
            None => Timed::from_times(
                v["times_ms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| Duration::from_secs_f64(t.as_f64().unwrap() / 1000.0))
                    .collect(),
                v["rows"].as_u64().unwrap() as usize,
            ),
        };
        by_id.insert(id, timed);
    }
    let status = child.wait().unwrap();
    if !status.success() {
        return skip(format!("{} failed: {status}", LAKE_SCRIPT));
    }
    (0..planned.len() as u64)
        .map(|id| {
            by_id
                .remove(&id)
                .unwrap_or_else(|| Timed::Failed("no result from the script".into()))
        })
        .collect()
}

/// `trendlake query --name top_movers` as a user runs it: process start included.
fn binary_wall_time(warehouse: &Path) {
    let mut times = Vec::new();
    for _ in 0..BINARY_RUNS {
        let (elapsed, _, status) = run_binary(
            &["query", "--name", "top_movers", "--warehouse"],
            warehouse,
            &[],
        );
        assert!(
            status.success(),
            "trendlake query --name top_movers: {status}"
        );
        times.push(elapsed);
    }
    times.sort();
    println!(
        "\nthe binary: `trendlake query --name top_movers` (defaults: the latest date), process \
         start included, output to /dev/null: median {} (max {}) of {BINARY_RUNS}",
        fmt_ms(times[BINARY_RUNS / 2]),
        fmt_ms(times[BINARY_RUNS - 1])
    );
}

/// `trendlake ARGS WAREHOUSE REST`, stdout to /dev/null: its wall time, its peak RSS in KiB
/// and its exit status. It is started by this bench binary run again as a launcher
/// ([`measure_child`]): a child's `ru_maxrss` counts the image it was forked from (Linux keeps
/// the high-water mark across exec), which here would be this process with its lakes built.
fn run_binary(
    args: &[&str],
    warehouse: &Path,
    rest: &[&str],
) -> (Duration, i64, std::process::ExitStatus) {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg(MEASURE)
        .arg(BINARY)
        .args(args)
        .arg(warehouse)
        .args(rest)
        .env_remove("TRENDLAKE_CONFIG")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the launcher: {}", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<i64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    let [nanos, rss, status] = fields[..] else {
        panic!("the launcher printed {text:?}");
    };
    (
        Duration::from_nanos(nanos as u64),
        rss,
        std::process::ExitStatus::from_raw(status as i32),
    )
}

/// The launcher (`queries __measure PROGRAM ARGS…`): runs PROGRAM with stdout to /dev/null and
/// prints its wall time (ns), its peak RSS (KiB, `wait4`'s `ru_maxrss`) and its raw wait status.
/// This process is small when it forks, so the child's peak is the child's own.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, not Child::wait"
)]
fn measure_child(command: &[String]) {
    let t = Instant::now();
    let child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's, not yet reaped (std reaps a child only in its wait
    // methods, never called on this one); both pointers are to live locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = t.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    println!("{} {} {status}", elapsed.as_nanos(), usage.ru_maxrss);
}

/// `SELECT * FROM chart` written to Parquet by the binary, from each history.
fn memory_table(warehouses: &BTreeMap<usize, History>) {
    println!(
        "\n#### `trendlake query \"SELECT * FROM chart\" --output chart.parquet`: median wall time \
         and the highest peak RSS of {MEMORY_RUNS} runs\n"
    );
    println!("| history | query | warehouse | rows written | output | wall time | peak RSS |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    // The last row writes three times the longest history's result from the same warehouse: what
    // the result alone does to memory.
    let runs = MEMORY_HISTORIES
        .iter()
        .map(|&n| (n, "SELECT * FROM chart"))
        .chain([(NIGHTS, "SELECT c.* FROM chart c, range(3)")]);
    for (nights, sql) in runs {
        let Some(h) = warehouses.get(&nights) else {
            continue;
        };
        let out = h.warehouse.with_file_name("chart.parquet");
        let (mut times, mut peak) = (Vec::new(), 0);
        for _ in 0..MEMORY_RUNS {
            let _ = std::fs::remove_file(&out);
            let (elapsed, rss, status) = run_binary(
                &["query", sql, "--warehouse"],
                &h.warehouse,
                &["--output", out.to_str().unwrap()],
            );
            assert!(
                status.success(),
                "trendlake query {sql:?} --output: {status}"
            );
            times.push(elapsed);
            peak = peak.max(rss);
        }
        times.sort();
        let reader =
            parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&out).unwrap())
                .unwrap();
        let rows = parquet::file::reader::FileReader::metadata(&reader)
            .file_metadata()
            .num_rows();
        println!(
            "| {} nights | `{sql}` | {:.1} MiB | {} | {:.1} MiB | {} | {:.0} MiB |",
            thousands(nights as u64),
            mib(std::fs::metadata(&h.warehouse).unwrap().len()),
            thousands(rows as u64),
            mib(std::fs::metadata(&out).unwrap().len()),
            fmt_ms(times[MEMORY_RUNS / 2]),
            peak as f64 / 1024.0
        );
        std::fs::remove_file(&out).unwrap();
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{cores} cores, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
