//! The lake as analysts read it: the example notebook (`examples/trends.ipynb`) executed top to
//! bottom, pyarrow and pandas, DuckDB and Polars, and PySpark in local mode, each against a lake
//! the real binary built, and each compared with what trendlake itself reports; also against a
//! lake of both snapshot schema versions (version-1 files, without `chart_category`, beside
//! version-2 ones). The Python side runs in the project's virtualenv (`.ci/venv`, found by
//! [`venv`]); a missing package, or a missing Java for Spark, fails the test with what to do,
//! never skips it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use arrow::array::RecordBatch;
use serde_json::Value;
use trendlake::commit::CommitRecord;
use trendlake::lake::Lineage;
use trendlake::lake::codec::{TableFormat, decode_snapshot, encode_table, footer};
use trendlake::record::schema_v1;

use crate::support::*;

/// The demo's last night; ten nights keep the demo at about two seconds.
const DEMO_DATE: &str = "2026-11-20";
const DEMO_DAYS: &str = "10";
const DEMO_REGIONS: usize = 9;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn notebook() -> PathBuf {
    repo().join("examples/trends.ipynb")
}

pub(crate) fn script(name: &str) -> PathBuf {
    repo().join("tests/python").join(name)
}

/// The virtualenv's python, able to import every one of `modules`, or a panic saying how to get
/// them.
pub(crate) fn python(modules: &[&str]) -> PathBuf {
    let python = venv().join("bin/python");
    let out = Command::new(&python)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output();
    let why = match &out {
        Ok(o) if o.status.success() => return python,
        Ok(o) => stderr(o),
        Err(e) => e.to_string(),
    };
    panic!(
        "{} cannot import {}: the notebook tests need the project's virtualenv; run .ci/venv (it \
         creates or completes {}; set TRENDLAKE_VENV to use another)\n{why}",
        python.display(),
        modules.join(", "),
        venv().display()
    );
}

/// A demo lake and warehouse, built by the real binary in a temp dir.
struct Demo {
    dir: tempfile::TempDir,
}

impl Demo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = trendlake_blocking(&[
            "demo".into(),
            "--days".into(),
            DEMO_DAYS.into(),
            "--date".into(),
            DEMO_DATE.into(),
            "--dir".into(),
            dir.path().display().to_string(),
        ]);
        assert_exit(&out, 0);
        Demo { dir }
    }
    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }
    fn warehouse(&self) -> PathBuf {
        self.dir.path().join("warehouse.duckdb")
    }
}

/// `trendlake query --format json SQL` on `warehouse`, through the real binary.
pub(crate) fn query(warehouse: &Path, sql: &str) -> Vec<Value> {
    let out = trendlake_blocking(&[
        "query".into(),
        "--warehouse".into(),
        warehouse.display().to_string(),
        "--format".into(),
        "json".into(),
        sql.into(),
    ]);
    assert_exit(&out, 0);
    match serde_json::from_str(&stdout(&out)).unwrap() {
        Value::Array(rows) => rows,
        other => panic!("query {sql}: not an array: {other}"),
    }
}

/// Rows and NULL view, like and comment counts per snapshot date, as trendlake's warehouse has
/// them, keyed and named as the Python scripts print them.
fn nights(warehouse: &Path) -> BTreeMap<String, Value> {
    nights_of(warehouse, "chart_entries")
}

/// [`nights`] of a warehouse table holding one lake table's rows (`chart_entries`: `videos`;
/// `tracked_videos`: `tracked`).
fn nights_of(warehouse: &Path, table: &str) -> BTreeMap<String, Value> {
    let total = query(warehouse, &format!("SELECT count(*) AS n FROM {table}"));
    let rows = query(
        warehouse,
        &format!(
            "SELECT snapshot_date, count(*) AS rows, \
                    count(*) - count(view_count) AS view_count_nulls, \
                    count(*) - count(like_count) AS like_count_nulls, \
                    count(*) - count(comment_count) AS comment_count_nulls \
             FROM {table} GROUP BY snapshot_date ORDER BY snapshot_date"
        ),
    );
    let nights: BTreeMap<String, Value> = rows
        .into_iter()
        .map(|mut row| {
            let date = row["snapshot_date"].as_str().unwrap().to_string();
            row.as_object_mut().unwrap().remove("snapshot_date");
            (date, row)
        })
        .collect();
    let sum: i64 = nights.values().map(|n| n["rows"].as_i64().unwrap()).sum();
    assert_eq!(total[0]["n"].as_i64(), Some(sum));
    nights
}

/// Run a script of tests/python (or any `args`) with the virtualenv's python; it must exit 0, and
/// its stdout's last line is JSON.
pub(crate) fn run_json(python: &Path, args: &[&std::ffi::OsStr], env: &[(&str, &Path)]) -> Value {
    let started = Instant::now();
    let mut cmd = Command::new(python);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("TRENDLAKE_") && k != "TRENDLAKE_VENV" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().expect("python runs");
    assert!(
        out.status.success(),
        "{args:?} failed ({}):\nstderr:\n{}\nstdout:\n{}",
        out.status,
        stderr(&out),
        stdout(&out)
    );
    let text = stdout(&out);
    let last = text.lines().last().unwrap_or_default();
    let value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{args:?}: last line of stdout is not JSON ({e}):\n{text}"));
    eprintln!("{args:?}: {:.1} s", started.elapsed().as_secs_f64());
    value
}

/// What the check cell appended to the notebook prints: the notebook's own results, by name.
const CHECK_CELL: &str = r#"
import json
print("TRENDLAKE-CHECK " + json.dumps({
    "nights": {
        str(n["snapshot_date"]): {"rows": n["rows"], "like_count_nulls": n["likes_hidden"]}
        for n in nights.to_dicts()
    },
    "duckdb_nights": {
        str(n["snapshot_date"]): {"rows": n["rows"], "like_count_nulls": n["likes_hidden"]}
        for n in duckdb_nights.to_dicts()
    },
    "gaps": [str(d) for d in gaps],
    "top_videos": top_videos["video_id"].to_list(),
    "movers": [
        {**m, "previous_date": str(m["previous_date"])}
        for m in movers.select(
            "region", "video_id", "previous_date", "days", "view_gain", "gain_per_day"
        ).to_dicts()
    ],
    "warehouse_agrees": movers.select(same).equals(wh_movers.select(same)),
}))
"#;

/// Execute the notebook against `lake` and `warehouse` (through its environment variables), with
/// [`CHECK_CELL`] appended; the summary tests/python/run_notebook.py prints.
fn execute_notebook(lake: &Path, warehouse: &Path) -> Value {
    let python = python(&[
        "nbclient",
        "nbformat",
        "ipykernel",
        "polars",
        "duckdb",
        "matplotlib",
    ]);
    let scratch = tempfile::tempdir().unwrap();
    let check = scratch.path().join("check.py");
    std::fs::write(&check, CHECK_CELL).unwrap();
    let executed = scratch.path().join("trends.executed.ipynb");
    let summary = run_json(
        &python,
        &[
            script("run_notebook.py").as_os_str(),
            notebook().as_os_str(),
            executed.as_os_str(),
            check.as_os_str(),
        ],
        &[
            ("TRENDLAKE_LAKE", lake),
            ("TRENDLAKE_WAREHOUSE", warehouse),
            // matplotlib's font cache, away from $HOME and from other tests.
            ("MPLCONFIGDIR", scratch.path()),
        ],
    );
    assert!(
        summary["png"].as_u64().unwrap() >= 2,
        "the notebook draws its two charts: {summary}"
    );
    assert_eq!(
        summary["stderr"],
        serde_json::json!([]),
        "the notebook runs without warnings"
    );
    summary["check"].clone()
}

/// The notebook's nights (rows and hidden likes), from Polars and from DuckDB, equal the
/// warehouse's.
#[track_caller]
fn assert_nights(check: &Value, expected: &BTreeMap<String, Value>) {
    let expected: BTreeMap<&String, Value> = expected
        .iter()
        .map(|(d, n)| {
            let n =
                serde_json::json!({"rows": n["rows"], "like_count_nulls": n["like_count_nulls"]});
            (d, n)
        })
        .collect();
    for engine in ["nights", "duckdb_nights"] {
        let got: BTreeMap<&String, Value> = check[engine]
            .as_object()
            .unwrap()
            .iter()
            .map(|(d, n)| (d, n.clone()))
            .collect();
        assert_eq!(got, expected, "{engine}");
    }
}

/// Each region's five largest view gains on the latest night since the region's previous
/// snapshot, from the warehouse's entries (the definition the notebook's chart follows).
const TOP_MOVERS: &str = "
    WITH latest AS (SELECT max(snapshot_date) AS d FROM chart_entries),
    previous AS (
        SELECT region, max(snapshot_date) AS previous_date
        FROM chart_entries, latest WHERE snapshot_date < latest.d GROUP BY region
    )
    SELECT cur.region, cur.video_id, cur.snapshot_date, p.previous_date,
           cur.view_count - old.view_count AS view_gain
    FROM chart_entries cur
    JOIN latest ON cur.snapshot_date = latest.d
    JOIN previous p ON p.region = cur.region
    JOIN chart_entries old ON old.region = cur.region AND old.video_id = cur.video_id
                          AND old.snapshot_date = p.previous_date
    WHERE cur.view_count IS NOT NULL AND old.view_count IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY cur.region ORDER BY view_gain DESC, cur.video_id) <= 5
    ORDER BY cur.region, view_gain DESC, cur.video_id";

/// The notebook's top movers (from the lake, with Polars) are the warehouse's, video for video,
/// with the gain divided by the days since the region's previous snapshot. Returns each region's
/// days.
#[track_caller]
fn assert_movers(check: &Value, warehouse: &Path) -> BTreeMap<String, i64> {
    let expected = query(warehouse, TOP_MOVERS);
    let got = check["movers"].as_array().unwrap();
    assert!(!expected.is_empty());
    assert_eq!(got.len(), expected.len(), "{got:?}\n{expected:?}");
    let mut days = BTreeMap::new();
    for (g, e) in got.iter().zip(&expected) {
        for key in ["region", "video_id", "previous_date", "view_gain"] {
            assert_eq!(g[key], e[key], "{key}: notebook {g}, trendlake {e}");
        }
        let previous = date(e["previous_date"].as_str().unwrap());
        let latest = date(e["snapshot_date"].as_str().unwrap());
        let d = (latest - previous).num_days();
        assert_eq!(g["days"].as_i64(), Some(d), "{g}");
        let per_day = e["view_gain"].as_i64().unwrap() as f64 / d as f64;
        let got_per_day = g["gain_per_day"].as_f64().unwrap();
        assert!(
            (got_per_day - per_day).abs() <= 1e-9 * per_day.abs().max(1.0),
            "gain per day {got_per_day}, expected {per_day}: {g}"
        );
        days.insert(g["region"].as_str().unwrap().to_string(), d);
    }
    assert_eq!(check["warehouse_agrees"], true, "the notebook's own check");
    days
}

#[test]
fn notebook_is_saved_without_outputs() {
    let text = std::fs::read_to_string(notebook()).unwrap();
    let nb: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(nb["nbformat"], 4);
    assert_eq!(nb["metadata"]["kernelspec"]["name"], "python3");
    let cells = nb["cells"].as_array().unwrap();
    let code: Vec<&Value> = cells.iter().filter(|c| c["cell_type"] == "code").collect();
    assert!(code.len() >= 10, "{} code cells", code.len());
    for cell in &code {
        assert_eq!(
            cell["outputs"],
            serde_json::json!([]),
            "outputs saved: {cell}"
        );
        assert!(
            cell["execution_count"].is_null(),
            "execution count saved: {cell}"
        );
    }
    assert!(text.len() < 40_000, "{} bytes", text.len());
    for needle in [
        "TRENDLAKE_LAKE",
        "TRENDLAKE_WAREHOUSE",
        "hive_partitioning=True",
        "hive_partitioning = true",
        "read_only=True",
        "channel_id",
    ] {
        assert!(text.contains(needle), "the notebook uses {needle}");
    }
}

#[test]
fn notebook_runs_top_to_bottom_on_a_demo_lake_and_draws_its_two_charts() {
    let demo = Demo::new();
    let check = execute_notebook(&demo.lake(), &demo.warehouse());
    let expected = nights(&demo.warehouse());
    assert_eq!(expected.len(), 10);
    assert_nights(&check, &expected);
    assert_eq!(check["gaps"], serde_json::json!([]));
    assert_eq!(check["top_videos"].as_array().unwrap().len(), 5);
    let days = assert_movers(&check, &demo.warehouse());
    assert_eq!(days.len(), DEMO_REGIONS);
    assert!(days.values().all(|&d| d == 1), "{days:?}");
}

/// A missed night (11-18) and a region missing from a night (US on 11-19): the notebook compares
/// each region with its own previous snapshot and divides the gain by the days between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notebook_divides_a_gain_over_a_gap_by_its_days() {
    let api = fake(date("2026-11-16"), |_| {}).await;
    let s = Scratch::new();
    for (day, regions) in [
        ("2026-11-16", "JP,US"),
        ("2026-11-17", "JP,US"),
        ("2026-11-19", "JP"),
        ("2026-11-20", "JP,US"),
    ] {
        api.set_date(date(day));
        assert_exit(
            &s.run(&api.base_url(), day, &["--regions", regions]).await,
            0,
        );
    }
    let (lake, warehouse) = (s.lake(), s.warehouse());
    let check = tokio::task::spawn_blocking(move || execute_notebook(&lake, &warehouse))
        .await
        .unwrap();
    let expected = nights(&s.warehouse());
    assert_eq!(expected["2026-11-19"]["rows"], 200);
    assert_nights(&check, &expected);
    assert_eq!(check["gaps"], serde_json::json!(["2026-11-19"]));
    let days = assert_movers(&check, &s.warehouse());
    assert_eq!(
        days,
        BTreeMap::from([("JP".to_string(), 1), ("US".to_string(), 3)])
    );
}

#[test]
fn pyarrow_and_pandas_read_the_lake_with_a_date_and_nullable_counts() {
    let python = python(&["pyarrow", "pandas"]);
    let demo = Demo::new();
    let expected = nights(&demo.warehouse());
    let rows: i64 = expected.values().map(|n| n["rows"].as_i64().unwrap()).sum();
    assert_eq!(rows, 10 * DEMO_REGIONS as i64 * 200);
    let likes_hidden: i64 = expected
        .values()
        .map(|n| n["like_count_nulls"].as_i64().unwrap())
        .sum();
    assert!(likes_hidden > 0, "the demo hides some likes");
    let got = run_json(
        &python,
        &[
            script("read_lake_pandas.py").as_os_str(),
            demo.lake().join("videos").as_os_str(),
        ],
        &[],
    );
    let expected = serde_json::to_value(&expected).unwrap();
    for reader in ["pyarrow_hive", "pyarrow", "pandas", "pandas_default"] {
        assert_eq!(got[reader]["rows"], rows, "{reader}");
        assert_eq!(got[reader]["per_date"], expected, "{reader}");
    }
    // `partitioning="hive"` alone leaves the key a string; typed, it is a date, and the counts
    // stay int64 with their NULLs.
    let types = |reader: &str| got[reader]["types"].clone();
    assert_eq!(types("pyarrow_hive")["snapshot_date"], "string");
    assert_eq!(
        types("pyarrow"),
        serde_json::json!({"snapshot_date": "date32[day]", "view_count": "int64",
                           "like_count": "int64", "comment_count": "int64"})
    );
    // docs/notebooks.md's pandas line: a date (not a category), and nullable int64 (not float64).
    assert_eq!(
        types("pandas"),
        serde_json::json!({"snapshot_date": "date32[day][pyarrow]", "view_count": "int64[pyarrow]",
                           "like_count": "int64[pyarrow]", "comment_count": "int64[pyarrow]"})
    );
    assert_eq!(got["pandas"]["first_date_type"], "date");
    assert_ne!(
        types("pandas_default")["snapshot_date"],
        "date32[day][pyarrow]"
    );
}

/// The lake's `tracked` table (the videos followed after they left the charts) reads like
/// `videos` in pyarrow, pandas, DuckDB and Polars: a date partition, nullable int64 counts, every
/// row the warehouse merged from it.
#[test]
fn the_tracked_table_reads_like_the_snapshots() {
    let python = python(&["pyarrow", "pandas", "duckdb", "polars"]);
    let demo = Demo::new();
    let expected = nights_of(&demo.warehouse(), "tracked_videos");
    assert_eq!(
        expected.len(),
        DEMO_DAYS.parse::<usize>().unwrap() - 1,
        "tracked every night but the first"
    );
    let rows: i64 = expected.values().map(|n| n["rows"].as_i64().unwrap()).sum();
    let hidden: i64 = expected
        .values()
        .map(|n| n["like_count_nulls"].as_i64().unwrap())
        .sum();
    assert!(
        hidden > 0,
        "some tracked videos hide their likes: NULL, never 0"
    );
    let tracked = demo.lake().join("tracked");
    let expected = serde_json::to_value(&expected).unwrap();
    let got = run_json(
        &python,
        &[
            script("read_lake_pandas.py").as_os_str(),
            tracked.as_os_str(),
        ],
        &[],
    );
    for reader in ["pyarrow_hive", "pyarrow", "pandas", "pandas_default"] {
        assert_eq!(got[reader]["rows"], rows, "{reader}");
        assert_eq!(got[reader]["per_date"], expected, "{reader}");
    }
    assert_eq!(
        got["pyarrow"]["types"],
        serde_json::json!({"snapshot_date": "date32[day]", "view_count": "int64",
                           "like_count": "int64", "comment_count": "int64"})
    );
    let got = run_json(
        &python,
        &[
            script("read_lake_duckdb_polars.py").as_os_str(),
            tracked.as_os_str(),
        ],
        &[],
    );
    for reader in ["duckdb", "polars"] {
        assert_eq!(got[reader]["rows"], rows, "{reader}");
        assert_eq!(got[reader]["per_date"], expected, "{reader}");
    }
    assert_eq!(
        got["duckdb"]["types"],
        serde_json::json!({"snapshot_date": "DATE", "view_count": "BIGINT",
                           "like_count": "BIGINT", "comment_count": "BIGINT"})
    );
    assert_eq!(
        got["polars"]["types"],
        serde_json::json!({"snapshot_date": "Date", "view_count": "Int64",
                           "like_count": "Int64", "comment_count": "Int64"})
    );
}

/// A Java runtime for Spark, or a panic saying how to get one.
pub(crate) fn assert_java() {
    let java = match std::env::var_os("JAVA_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home).join("bin/java"),
        _ => PathBuf::from("java"),
    };
    let version = Command::new(&java).arg("-version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "{} -version failed ({version:?}): Spark needs a Java runtime (17 or later); .ci/run \
         installs Debian's default-jre-headless when there is no java, or set JAVA_HOME",
        java.display()
    );
}

#[test]
fn spark_reads_the_lake_with_a_date_partition_and_long_counts() {
    let python = python(&["pyspark"]);
    assert_java();
    let demo = Demo::new();
    let expected = nights(&demo.warehouse());
    let rows: i64 = expected.values().map(|n| n["rows"].as_i64().unwrap()).sum();
    let got = run_json(
        &python,
        &[
            script("read_lake_spark.py").as_os_str(),
            demo.lake().join("videos").as_os_str(),
        ],
        &[("SPARK_LOCAL_IP", Path::new("127.0.0.1"))],
    );
    assert_eq!(got["rows"], rows);
    assert_eq!(got["per_date"], serde_json::to_value(&expected).unwrap());
    let types = &got["types"];
    assert_eq!(types["snapshot_date"], "DateType", "{types}");
    for count in ["view_count", "like_count", "comment_count"] {
        assert_eq!(types[count], "LongType", "{count}: {types}");
    }
    assert_eq!(types["published_at"], "TimestampType");
    assert_eq!(
        got["partition_columns"],
        serde_json::json!(["snapshot_date"])
    );
    // With partition type inference off, the key is a string; a schema makes it a date again.
    assert_eq!(got["uninferred_type"], "StringType");
    assert_eq!(got["with_schema_type"], "DateType");
    assert_eq!(got["with_schema_rows"], rows);

    // The tracked table, the same way.
    let tracked = nights_of(&demo.warehouse(), "tracked_videos");
    let got = run_json(
        &python,
        &[
            script("read_lake_spark.py").as_os_str(),
            demo.lake().join("tracked").as_os_str(),
        ],
        &[("SPARK_LOCAL_IP", Path::new("127.0.0.1"))],
    );
    let tracked_rows: i64 = tracked.values().map(|n| n["rows"].as_i64().unwrap()).sum();
    assert!(tracked_rows > 0);
    assert_eq!(got["rows"], tracked_rows);
    assert_eq!(got["per_date"], serde_json::to_value(&tracked).unwrap());
    assert_eq!(got["types"]["snapshot_date"], "DateType");
    assert_eq!(got["types"]["view_count"], "LongType");
}

/// Under `TZ=America/New_York`, DuckDB's session opened as docs/notebooks.md and the notebook
/// open it (`SET TimeZone = 'UTC'`) hands the warehouse's `fetched_at` to Polars and pandas in UTC, as the
/// lake's: they join and concatenate, every joined row agrees, and `hour()` is the UTC hour.
#[test]
fn a_warehouse_timestamp_and_a_lake_timestamp_join_and_concatenate_in_any_time_zone() {
    let python = python(&["duckdb", "polars", "pandas"]);
    let demo = Demo::new();
    let entries = query(&demo.warehouse(), "SELECT count(*) AS n FROM chart_entries")[0]["n"]
        .as_i64()
        .unwrap();
    let got = run_json(
        &python,
        &[
            script("join_warehouse_lake.py").as_os_str(),
            demo.lake().join("videos").as_os_str(),
            demo.warehouse().as_os_str(),
        ],
        &[("TZ", Path::new("America/New_York"))],
    );
    assert_eq!(
        got["zones"],
        serde_json::json!({
            "duckdb_polars": "UTC", "lake_polars": "UTC",
            "duckdb_pandas": "datetime64[us, UTC]", "lake_pandas": "datetime64[us, UTC]"
        })
    );
    assert_eq!(got["entries"], entries);
    for (joined, agree) in [("joined", "agree"), ("pandas_joined", "pandas_agree")] {
        assert_eq!(got[joined], entries, "{joined}");
        assert_eq!(got[agree], entries, "{agree}");
    }
    assert_eq!(got["concatenated"], 2 * entries);
    assert_eq!(got["pandas_concatenated"], 2 * entries);
    assert_eq!(got["pandas_concatenated_dtype"], "datetime64[us, UTC]");
    // The demo's nights are fetched at 03:00 UTC: 22:00 or 23:00 in New York.
    assert_eq!(
        got["hours"],
        serde_json::json!({"duckdb": 3, "lake": 3, "utc": 3})
    );
}

/// The nights the mixed lake has as schema version 1 ([`rewrite_as_version_1`]): the demo's first
/// two.
const V1_DATES: [&str; 2] = ["2026-11-11", "2026-11-12"];

/// The snapshot format as trendlake wrote it before category charts: schema version 1, every
/// column but `chart_category`.
const VERSION_1: TableFormat = TableFormat {
    schema: schema_v1,
    version: 1,
    small_columns: &[],
    older: &[],
};

/// Rewrite `date`'s snapshot in `lake` as a trendlake before category charts wrote it: its general
/// charts only (keys without `/`), without `chart_category`, in a version-1 file naming their
/// sources; the date's commit record replaced by the new file's, and what such a night never had
/// (its chart catalogue, the category charts' raw pages) removed. Returns the general charts as
/// the version-2 file held them, by key.
fn rewrite_as_version_1(lake: &Path, date: &str) -> BTreeMap<String, RecordBatch> {
    let file = lake.join(format!("videos/snapshot_date={date}/videos.parquet"));
    let decoded = decode_snapshot(std::fs::read(&file).unwrap().into()).unwrap();
    assert!(
        decoded.regions.keys().any(|k| k.contains('/')),
        "{date} has category charts to drop: {:?}",
        decoded.regions.keys()
    );
    let general: BTreeMap<String, RecordBatch> = decoded
        .regions
        .into_iter()
        .filter(|(key, _)| !key.contains('/'))
        .collect();
    let v1: Vec<RecordBatch> = general
        .values()
        .map(|batch| {
            let n = batch.num_columns();
            assert_eq!(batch.schema().field(n - 1).name(), "chart_category");
            RecordBatch::try_new(schema_v1(), batch.columns()[..n - 1].to_vec()).unwrap()
        })
        .collect();
    let lineage: Lineage = decoded
        .lineage
        .into_iter()
        .filter(|(key, _)| general.contains_key(key))
        .collect();
    assert_eq!(
        lineage.len(),
        general.len(),
        "every general chart has its source"
    );
    let encoded = encode_table(&VERSION_1, &v1, &lineage).unwrap();
    std::fs::write(&file, &encoded.bytes).unwrap();

    let records = lake.join(format!("_commits/snapshot_date={date}"));
    let old = records.join(format!("{}.json", decoded.content_sha256));
    let mut record: CommitRecord = serde_json::from_slice(&std::fs::read(&old).unwrap()).unwrap();
    std::fs::remove_dir_all(&records).unwrap();
    std::fs::create_dir(&records).unwrap();
    record.regions.retain(|key, _| general.contains_key(key));
    record.rows = v1.iter().map(RecordBatch::num_rows).sum();
    record.content_sha256 = encoded.content_sha256.clone();
    std::fs::write(
        records.join(format!("{}.json", encoded.content_sha256)),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();

    std::fs::remove_dir_all(lake.join(format!("_charts/snapshot_date={date}"))).unwrap();
    let raw = lake.join(format!("raw/snapshot_date={date}"));
    for region in std::fs::read_dir(&raw).unwrap() {
        let region = region.unwrap().path();
        for chart in std::fs::read_dir(&region).unwrap() {
            let chart = chart.unwrap().path();
            let name = chart.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("category=") {
                std::fs::remove_dir_all(&chart).unwrap();
            }
        }
    }
    general
}

/// The schema version a snapshot's footer names, and the file decoded.
fn snapshot_version(file: &Path) -> (u32, trendlake::lake::Decoded) {
    let (meta, _) = read_parquet(file);
    let version = footer(&meta).unwrap().schema_version;
    let decoded = decode_snapshot(std::fs::read(file).unwrap().into()).unwrap();
    (version, decoded)
}

/// Every chart's rows per snapshot date and `chart_category` in `warehouse`'s `all_chart_entries`.
fn charts(warehouse: &Path) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for row in query(
        warehouse,
        "SELECT snapshot_date, chart_category, count(*) AS n FROM all_chart_entries GROUP BY ALL",
    ) {
        out.entry(row["snapshot_date"].as_str().unwrap().to_string())
            .or_default()
            .insert(
                row["chart_category"].as_str().unwrap().to_string(),
                row["n"].as_i64().unwrap(),
            );
    }
    out
}

/// `trendlake COMMAND --lake LAKE --warehouse WAREHOUSE EXTRA…`; must exit 0. Returns stderr.
fn lake_cmd(command: &str, lake: &Path, warehouse: &Path, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec![
        command.into(),
        "--lake".into(),
        lake.display().to_string(),
        "--warehouse".into(),
        warehouse.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = trendlake_blocking(&args);
    assert_exit(&out, 0);
    stderr(&out)
}

/// A lake of both schema versions, as one written before category charts and run on since: the
/// demo's first two nights rewritten as version-1 files (general charts, no `chart_category`), the
/// eight after them version 2 with category charts. pyarrow, pandas, DuckDB, Polars, Spark and the
/// notebook read it in one set of columns, `chart_category` null on exactly the version-1 nights'
/// rows, and their general charts are what trendlake merged; `check` passes, and `rebuild`
/// rewrites a version-1 night as version 2 with the same rows.
#[test]
fn version_1_and_version_2_snapshots_read_side_by_side_in_every_reader() {
    let python = python(&["pyarrow", "pandas", "duckdb", "polars", "pyspark"]);
    assert_java();
    let demo = Demo::new();
    let lake = demo.lake();
    let mut general = BTreeMap::new();
    for date in V1_DATES {
        general.insert(date, rewrite_as_version_1(&lake, date));
        let file = lake.join(format!("videos/snapshot_date={date}/videos.parquet"));
        // trendlake reads the version-1 file as the general charts it held.
        let (version, decoded) = snapshot_version(&file);
        assert_eq!(version, 1);
        assert_eq!(decoded.regions, general[date], "{date}");
        assert_eq!(decoded.regions.len(), DEMO_REGIONS);
    }

    // A warehouse merged from the mixed lake, which check finds consistent with it.
    let warehouse = demo.dir.path().join("mixed.duckdb");
    let merged = lake_cmd("merge", &lake, &warehouse, &[]);
    assert!(
        merged.contains("merged 10 snapshot(s), 38754 chart entries"),
        "{merged}"
    );
    let agree = "the lake and the warehouse agree; no problems";
    let checked = lake_cmd("check", &lake, &warehouse, &[]);
    assert!(checked.contains(agree), "{checked}");
    let expected = nights(&warehouse);
    assert_eq!(expected.len(), 10);
    assert!(
        expected.values().all(|n| n["rows"] == 1800),
        "nine general charts of 200 a night: {expected:?}"
    );
    let mut expected_charts = charts(&warehouse);
    assert_eq!(expected_charts.len(), 10);
    for (date, by_category) in expected_charts.iter_mut() {
        assert_eq!(by_category.get("all"), Some(&1800), "{date}");
        if V1_DATES.contains(&date.as_str()) {
            // A version-1 night is its general charts, which the lake leaves without a category.
            assert_eq!(by_category.len(), 1, "{date}: {by_category:?}");
            let rows = by_category.remove("all").unwrap();
            by_category.insert("null".into(), rows);
        } else {
            // A version-2 night of the demo: the general charts and the five categories'.
            let categories: Vec<&str> = by_category.keys().map(String::as_str).collect();
            assert_eq!(categories, ["10", "17", "20", "24", "25", "all"], "{date}");
        }
    }
    let (mut v1_rows, mut general_rows, mut category_rows) = (0, 0, 0);
    for (category, n) in expected_charts.values().flatten() {
        match category.as_str() {
            "null" => v1_rows += n,
            "all" => general_rows += n,
            _ => category_rows += n,
        }
    }
    assert_eq!(
        (v1_rows, general_rows, category_rows),
        (2 * 1800, 8 * 1800, 20754),
        "rows of the version-1 nights, of the version-2 nights' general charts, of category charts"
    );
    let expected_charts = serde_json::to_value(&expected_charts).unwrap();
    let expected_nights = serde_json::to_value(&expected).unwrap();
    let mut columns: Vec<String> = trendlake::record::schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(columns.last().map(String::as_str), Some("chart_category"));
    columns.push("snapshot_date".into());
    let columns = serde_json::to_value(&columns).unwrap();

    let videos = lake.join("videos");
    let pandas = run_json(
        &python,
        &[
            script("read_lake_pandas.py").as_os_str(),
            videos.as_os_str(),
        ],
        &[],
    );
    let engines = run_json(
        &python,
        &[
            script("read_lake_duckdb_polars.py").as_os_str(),
            videos.as_os_str(),
        ],
        &[],
    );
    let spark = run_json(
        &python,
        &[script("read_lake_spark.py").as_os_str(), videos.as_os_str()],
        &[("SPARK_LOCAL_IP", Path::new("127.0.0.1"))],
    );
    let readers = [
        ("pyarrow_hive", &pandas["pyarrow_hive"]),
        ("pyarrow", &pandas["pyarrow"]),
        ("pandas", &pandas["pandas"]),
        ("pandas_default", &pandas["pandas_default"]),
        ("duckdb", &engines["duckdb"]),
        ("polars", &engines["polars"]),
        ("spark", &spark),
    ];
    for (reader, got) in readers {
        assert_eq!(got["columns"], columns, "{reader}: the columns");
        assert_eq!(got["rows"], 10 * 1800, "{reader}: the general charts' rows");
        assert_eq!(got["per_date"], expected_nights, "{reader}: per date");
        assert_eq!(got["charts"], expected_charts, "{reader}: every chart");
    }
    assert_eq!(spark["with_schema_rows"], 10 * 1800);
    assert_eq!(spark["types"]["chart_category"], "StringType");

    // The notebook, on the same lake and warehouse.
    let check = execute_notebook(&lake, &warehouse);
    assert_nights(&check, &expected);
    assert_eq!(check["gaps"], serde_json::json!([]));
    let days = assert_movers(&check, &warehouse);
    assert_eq!(days.len(), DEMO_REGIONS);

    // rebuild replays a version-1 night's general charts from the raw pages its file names and
    // writes it as version 2: the same rows, on the general charts.
    let date = V1_DATES[0];
    let out = lake_cmd("rebuild", &lake, &warehouse, &["--date", date]);
    assert!(
        out.contains(&format!(
            "{date}: rebuilt {DEMO_REGIONS} region(s), 1800 rows"
        )),
        "{out}"
    );
    let file = lake.join(format!("videos/snapshot_date={date}/videos.parquet"));
    let (version, rebuilt) = snapshot_version(&file);
    assert_eq!(version, 2);
    assert_eq!(rebuilt.regions, general[date]);
    assert_eq!(
        rebuilt.lineage.keys().collect::<Vec<_>>(),
        general[date].keys().collect::<Vec<_>>()
    );
    let checked = lake_cmd("check", &lake, &warehouse, &[]);
    assert!(checked.contains(agree), "{checked}");
    assert_eq!(nights(&warehouse), expected);
    let after = run_json(
        &python,
        &[
            script("read_lake_duckdb_polars.py").as_os_str(),
            videos.as_os_str(),
        ],
        &[],
    );
    for reader in ["duckdb", "polars"] {
        assert_eq!(
            after[reader]["charts"][date],
            serde_json::json!({"all": 1800})
        );
        assert_eq!(
            after[reader]["charts"][V1_DATES[1]],
            serde_json::json!({"null": 1800})
        );
        assert_eq!(after[reader]["per_date"], expected_nights, "{reader}");
    }
}
