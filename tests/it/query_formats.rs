//! Every column the warehouse holds prints in every `query` format: the real
//! binary builds a warehouse from the fake API, then every table and view is queried as a
//! table, CSV, JSON and Parquet.
//!
//! And `query` built for real use: results stream in every format, the table stops at
//! `--max-rows`, bad SQL and writes are refused with exit 2 and nothing touched, SQL comes on
//! stdin, and on a terminal an interactive prompt runs SQL and named queries (driven here under
//! a pseudo-terminal by util-linux's `script`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate};
use serde_json::Value;
use trendlake::youtube::model::Video;
use trendlake_fake_api::chart;
use unicode_normalization::UnicodeNormalization;

use crate::support::*;

const D1: &str = "2026-11-20";
const D2: &str = "2026-11-21";

/// A warehouse holding JP and US on D1 and D2, built by `trendlake run` against the fake.
async fn warehouse() -> Scratch {
    let api = fake(date(D1), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        // With category charts (one the fake has, one it may not), so every table has rows.
        &s.run(
            &api.base_url(),
            D1,
            &["--regions", "JP,US", "--categories", "10,19"],
        )
        .await,
        0,
    );
    api.set_date(date(D2));
    assert_exit(
        &s.run(
            &api.base_url(),
            D2,
            &["--regions", "JP,US", "--categories", "10,19"],
        )
        .await,
        0,
    );
    s
}

pub(crate) fn query_args(warehouse: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "query".to_string(),
        "--warehouse".into(),
        warehouse.display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// `trendlake query SQL --format F` (stdout): asserts exit 0.
async fn query(warehouse: &Path, sql: &str, format: &str) -> String {
    let out = trendlake(query_args(warehouse, &[sql, "--format", format])).await;
    assert_exit(&out, 0);
    stdout(&out)
}

/// CSV text as its header and records.
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// RFC 3339 in UTC, `Z`-suffixed, as trendlake prints `TIMESTAMPTZ`.
#[track_caller]
fn assert_rfc3339_utc(s: &str, what: &str) {
    assert!(
        s.ends_with('Z') && DateTime::parse_from_rfc3339(s).is_ok(),
        "{what}: {s:?} is not RFC 3339 UTC"
    );
}

#[track_caller]
fn assert_iso_date(s: &str, what: &str) {
    assert!(
        s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "{what}: {s:?} is not YYYY-MM-DD"
    );
}

/// What kind of check a DuckDB column type gets.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Timestamp,
    Date,
    List,
    Other,
}

fn kind(duckdb_type: &str) -> Kind {
    match duckdb_type {
        "TIMESTAMP WITH TIME ZONE" => Kind::Timestamp,
        "DATE" => Kind::Date,
        t if t.ends_with("[]") => Kind::List,
        _ => Kind::Other,
    }
}

/// Every table and view of the warehouse with its columns (name, DuckDB type), in order, as
/// `trendlake query` itself lists them.
async fn catalogue(warehouse: &Path) -> BTreeMap<String, Vec<(String, String)>> {
    let text = query(
        warehouse,
        "SELECT table_name, column_name, data_type FROM information_schema.columns \
         WHERE table_schema = 'main' ORDER BY table_name, ordinal_position",
        "csv",
    )
    .await;
    let (header, rows) = parse_csv(&text);
    assert_eq!(header, ["table_name", "column_name", "data_type"]);
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rows {
        tables
            .entry(r[0].clone())
            .or_default()
            .push((r[1].clone(), r[2].clone()));
    }
    tables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_and_view_prints_in_every_format() {
    let s = warehouse().await;
    let wh = s.warehouse();
    let tables = catalogue(&wh).await;
    let names: BTreeSet<&str> = tables.keys().map(String::as_str).collect();
    for t in [
        "categories",
        "chart",
        "chart_entries",
        "merged_snapshots",
        "regions",
        "videos",
    ] {
        assert!(names.contains(t), "{t} missing from {names:?}");
    }
    let views = query(
        &wh,
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' ORDER BY 1",
        "csv",
    )
    .await;
    assert_eq!(
        views,
        "table_name\nchart\nchart_entries\nchart_exits\nexit_gains\nregion_categories\nregion_snapshots\nvanished_videos\nvideo_days\n"
    );
    // The columns that failed before: TIMESTAMPTZ and lists are among them.
    let all_kinds: BTreeSet<String> = tables
        .values()
        .flatten()
        .map(|(_, t)| format!("{:?}", kind(t)))
        .collect();
    assert_eq!(all_kinds.len(), 4, "{all_kinds:?}");

    for (table, columns) in &tables {
        let sql = format!("SELECT * FROM {table}");
        let count = query(&wh, &format!("SELECT count(*) AS n FROM {table}"), "csv").await;
        let rows: usize = count.strip_prefix("n\n").unwrap().trim().parse().unwrap();
        // Two nights are too few for a tracked video to vanish.
        assert!(rows > 0 || table == "vanished_videos", "{table} is empty");
        let column_names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();

        // CSV: every row, every column, each type printed as documented.
        let (header, records) = parse_csv(&query(&wh, &sql, "csv").await);
        assert_eq!(header, column_names, "{table} CSV header");
        assert_eq!(records.len(), rows, "{table} CSV rows");
        for rec in &records {
            for ((name, ty), value) in columns.iter().zip(rec) {
                let what = format!("{table}.{name} (CSV)");
                if value.is_empty() {
                    continue; // null
                }
                match kind(ty) {
                    Kind::Timestamp => assert_rfc3339_utc(value, &what),
                    Kind::Date => assert_iso_date(value, &what),
                    Kind::List => assert!(
                        serde_json::from_str::<Value>(value).is_ok_and(|v| v.is_array()),
                        "{what}: {value:?} is not a JSON array"
                    ),
                    Kind::Other => {}
                }
            }
        }

        // JSON: one object per row with every key; typed as documented.
        let json: Value = serde_json::from_str(&query(&wh, &sql, "json").await)
            .unwrap_or_else(|e| panic!("{table} JSON: {e}"));
        let objects = json.as_array().expect("a JSON array");
        assert_eq!(objects.len(), rows, "{table} JSON records");
        for o in objects {
            let o = o.as_object().unwrap();
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            let mut expected = column_names.clone();
            expected.sort();
            let mut keys = keys;
            keys.sort();
            assert_eq!(keys, expected, "{table}: every key, nulls included");
            for (name, ty) in columns {
                let v = &o[name];
                let what = format!("{table}.{name} (JSON)");
                match (kind(ty), v) {
                    (_, Value::Null) => {}
                    (Kind::Timestamp, Value::String(s)) => assert_rfc3339_utc(s, &what),
                    (Kind::Date, Value::String(s)) => assert_iso_date(s, &what),
                    (Kind::List, Value::Array(items)) => {
                        assert!(items.iter().all(Value::is_string), "{what}: {v}")
                    }
                    (Kind::Timestamp | Kind::Date | Kind::List, other) => {
                        panic!("{what}: unexpected {other}")
                    }
                    (Kind::Other, _) => {}
                }
            }
        }

        // Table: the header names every column; no row is lost (a description may span lines).
        let (text, _) = query_exit(&wh, &[&sql, "--format", "table", "--max-rows", "0"], 0).await;
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.len() >= rows + 4,
            "{table} table: {} lines",
            lines.len()
        );
        for name in &column_names {
            assert!(
                lines[1].contains(&format!(" {name} ")),
                "{table} table header lacks {name}: {}",
                lines[1]
            );
        }
        assert!(
            lines.last().unwrap().starts_with("+-"),
            "{table} table ends"
        );

        // Parquet, by extension: the real Arrow types come back.
        let file = s.dir.path().join(format!("{table}.parquet"));
        let out = trendlake(query_args(
            &wh,
            &[&sql, "--output", &file.display().to_string()],
        ))
        .await;
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), "", "nothing on stdout with --output");
        let (_, batch) = read_parquet(&file);
        assert_eq!(batch.num_rows(), rows, "{table} Parquet rows");
        let schema = batch.schema();
        for (name, ty) in columns {
            let dt = schema.field_with_name(name).unwrap().data_type();
            match kind(ty) {
                Kind::Timestamp => assert!(
                    matches!(dt, DataType::Timestamp(TimeUnit::Microsecond, Some(_))),
                    "{table}.{name}: {dt}"
                ),
                Kind::Date => assert_eq!(dt, &DataType::Date32, "{table}.{name}"),
                Kind::List => assert!(matches!(dt, DataType::List(_)), "{table}.{name}: {dt}"),
                Kind::Other => {}
            }
        }
    }
}

/// The videos the fake sent on `day` in `region`.
fn sent(region: &str, day: &str) -> Vec<Video> {
    chart(SEED, region, date(day))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_values_print_exactly() {
    let s = warehouse().await;
    let wh = s.warehouse();

    // A tagged video sent once only, so its metadata in `videos` is what that chart sent.
    let all: Vec<Video> = [("JP", D1), ("US", D1), ("JP", D2), ("US", D2)]
        .iter()
        .flat_map(|(r, d)| sent(r, d))
        .collect();
    let once = |id: &str| all.iter().filter(|v| v.id == id).count() == 1;
    let tagged = all
        .iter()
        .find(|v| v.snippet.as_ref().unwrap().tags.is_some() && once(&v.id))
        .expect("the fake tags some videos");
    let snippet = tagged.snippet.as_ref().unwrap();
    let tags: Vec<String> = snippet
        .tags
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| t.nfc().collect())
        .collect();
    let tags_json = serde_json::to_string(&tags).unwrap();
    // The fake sends whole seconds with `Z`, exactly what trendlake prints.
    let published = &snippet.published_at;
    assert!(
        published.ends_with('Z') && published.len() == 20,
        "{published}"
    );

    let sql = format!(
        "SELECT video_id, tags, published_at FROM videos WHERE video_id = '{}'",
        tagged.id
    );
    let (_, rows) = parse_csv(&query(&wh, &sql, "csv").await);
    assert_eq!(
        rows,
        [[tagged.id.clone(), tags_json.clone(), published.clone()]]
    );
    let json: Value = serde_json::from_str(&query(&wh, &sql, "json").await).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"video_id": tagged.id, "tags": tags, "published_at": published}])
    );
    let table = query(&wh, &sql, "table").await;
    assert!(table.contains(&tags_json), "{table}");
    assert!(table.contains(&format!(" {published} ")), "{table}");

    // A like count the API omitted is null: `null` in JSON, empty in CSV and the table.
    let hidden = sent("JP", D1)
        .into_iter()
        .find(|v| v.statistics.as_ref().unwrap().like_count.is_none())
        .expect("the fake hides some like counts");
    let sql = format!(
        "SELECT video_id, like_count, snapshot_date FROM chart_entries \
         WHERE region = 'JP' AND snapshot_date = DATE '{D1}' AND video_id = '{}'",
        hidden.id
    );
    assert_eq!(
        query(&wh, &sql, "json").await.trim(),
        format!(
            r#"[{{"video_id":"{}","like_count":null,"snapshot_date":"{D1}"}}]"#,
            hidden.id
        )
    );
    assert_eq!(
        query(&wh, &sql, "csv").await,
        format!("video_id,like_count,snapshot_date\n{},,{D1}\n", hidden.id)
    );
    let table = query(&wh, &sql, "table").await;
    assert!(
        table.contains(&format!("| {} |            | {D1}    |", hidden.id)),
        "{table}"
    );

    // fetched_at is the run's wall clock (microseconds); it prints as that instant in UTC.
    let us = warehouse_rows(
        &wh,
        &format!(
            "SELECT epoch_us(fetched_at) FROM chart_entries \
             WHERE region = 'JP' AND snapshot_date = DATE '{D1}' AND rank = 1"
        ),
    );
    let us: i64 = us[0][0]
        .strip_prefix("BigInt(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap()
        .parse()
        .unwrap();
    let expected = DateTime::from_timestamp_micros(us)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let csv = query(
        &wh,
        &format!(
            "SELECT fetched_at FROM chart_entries \
             WHERE region = 'JP' AND snapshot_date = DATE '{D1}' AND rank = 1"
        ),
        "csv",
    )
    .await;
    assert_eq!(csv, format!("fetched_at\n{expected}\n"));

    // An empty result still has its columns in every format.
    let sql = "SELECT * FROM chart WHERE false";
    let columns = catalogue(&wh).await.remove("chart").unwrap();
    let header: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        query(&wh, sql, "csv").await,
        format!("{}\n", header.join(","))
    );
    assert_eq!(query(&wh, sql, "json").await, "[]\n");
    let table = query(&wh, sql, "table").await;
    assert!(
        table.contains("| snapshot_date |") && table.contains(" fetched_at "),
        "{table}"
    );
    let file = s.dir.path().join("empty.parquet");
    let out = trendlake(query_args(
        &wh,
        &[sql, "--output", &file.display().to_string()],
    ))
    .await;
    assert_exit(&out, 0);
    let (_, batch) = read_parquet(&file);
    assert_eq!((batch.num_rows(), batch.num_columns()), (0, header.len()));
    assert!(matches!(
        batch
            .schema()
            .field_with_name("fetched_at")
            .unwrap()
            .data_type(),
        DataType::Timestamp(_, Some(_))
    ));
}

/// An empty warehouse file: enough for queries that read no table.
pub(crate) fn empty_warehouse(s: &Scratch) -> std::path::PathBuf {
    let path = s.warehouse();
    drop(duckdb::Connection::open(&path).unwrap());
    path
}

/// DuckDB types beyond the warehouse's: the ones analysts' expressions produce.
const TYPES: &str = "SELECT \
    TIMESTAMPTZ '2026-11-25 03:00:00+00' AS tz, \
    TIMESTAMPTZ '2026-11-25 12:00:00.25+09' AS tz_frac, \
    TIMESTAMP '2026-11-25 03:00:00.000001' AS naive, \
    'infinity'::TIMESTAMPTZ AS inf, \
    DATE '2026-11-25' AS d, \
    '-infinity'::DATE AS d_inf, \
    TIME '03:04:05' AS t, \
    INTERVAL '1 day 2 hours' AS i, \
    (SELECT sum(x) FROM (VALUES (9223372036854775807::BIGINT), (1)) v(x)) AS big_sum, \
    12.50::DECIMAL(10, 2) AS dec, \
    ['a', 'say \"hi\", ok', NULL] AS list, \
    [TIMESTAMPTZ '2026-11-25 03:00:00+00'] AS ts_list, \
    {'k': 1, 'at': TIMESTAMPTZ '2026-11-25 03:00:00+00'} AS st, \
    MAP {'m': 2} AS m, \
    union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS u, \
    NULL::VARCHAR AS nul, \
    true AS b, \
    1.5::DOUBLE AS f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_duckdb_type_prints_in_every_format() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);

    let csv = query(&wh, TYPES, "csv").await;
    let (header, rows) = parse_csv(&csv);
    let row: BTreeMap<&str, &str> = header
        .iter()
        .map(String::as_str)
        .zip(rows[0].iter().map(String::as_str))
        .collect();
    for (column, value) in [
        ("tz", "2026-11-25T03:00:00Z"),
        ("tz_frac", "2026-11-25T03:00:00.250Z"),
        ("naive", "2026-11-25T03:00:00.000001"),
        ("inf", "infinity"),
        ("d", "2026-11-25"),
        ("d_inf", "-infinity"),
        ("t", "03:04:05"),
        ("i", "1 days 2 hours"),
        ("big_sum", "9223372036854775808"),
        ("dec", "12.50"),
        ("list", r#"["a","say \"hi\", ok",null]"#),
        ("ts_list", r#"["2026-11-25T03:00:00Z"]"#),
        ("st", r#"{"k":1,"at":"2026-11-25T03:00:00Z"}"#),
        ("m", r#"{"m":2}"#),
        ("u", "2"),
        ("nul", ""),
        ("b", "true"),
        ("f", "1.5"),
    ] {
        assert_eq!(row[column], value, "CSV {column}; {csv}");
    }

    let json: Value = serde_json::from_str(&query(&wh, TYPES, "json").await).unwrap();
    let o = &json[0];
    assert_eq!(o["tz"], "2026-11-25T03:00:00Z");
    assert_eq!(o["tz_frac"], "2026-11-25T03:00:00.250Z");
    assert_eq!(o["naive"], "2026-11-25T03:00:00.000001");
    assert_eq!(o["d"], "2026-11-25");
    assert_eq!(o["list"], serde_json::json!(["a", "say \"hi\", ok", null]));
    assert_eq!(o["ts_list"], serde_json::json!(["2026-11-25T03:00:00Z"]));
    assert_eq!(
        o["st"],
        serde_json::json!({"k": 1, "at": "2026-11-25T03:00:00Z"})
    );
    assert_eq!(o["nul"], Value::Null);
    assert_eq!(o["u"], 2);
    assert_eq!(o["i"], "1 days 2 hours");
    assert_eq!(o["big_sum"].to_string(), "9223372036854775808");
    assert_eq!(o.as_object().unwrap().len(), header.len());

    let table = query(&wh, TYPES, "table").await;
    for text in [
        "2026-11-25T03:00:00Z",
        "2026-11-25T03:00:00.250Z",
        "1 days 2 hours",
        r#"["a","say \"hi\", ok",null]"#,
        "9223372036854775808",
    ] {
        assert!(table.contains(text), "table lacks {text}: {table}");
    }

    // Parquet keeps Arrow's types; an INTERVAL (or UNION) it cannot hold is a usage error
    // naming the column, and no file is left.
    let file = s.dir.path().join("types.parquet");
    let out = trendlake(query_args(
        &wh,
        &[TYPES, "--output", &file.display().to_string()],
    ))
    .await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("column \"i\"") && stderr(&out).contains("i::VARCHAR"),
        "{}",
        stderr(&out)
    );
    assert!(!file.exists());
    let sql = format!("SELECT * EXCLUDE (i, u) FROM ({TYPES})");
    let out = trendlake(query_args(
        &wh,
        &[&sql, "--output", &file.display().to_string()],
    ))
    .await;
    assert_exit(&out, 0);
    let (_, batch) = read_parquet(&file);
    assert_eq!(batch.num_rows(), 1);
    let ty = |name: &str| {
        batch
            .schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(
        ty("tz"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("d"), DataType::Date32);
    assert_eq!(ty("big_sum"), DataType::Decimal128(38, 0));
    assert!(matches!(ty("list"), DataType::List(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_output_extension_is_a_usage_error_and_writes_nothing() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    for name in ["x.txt", "x.xlsx", "result"] {
        let file = s.dir.path().join(name);
        let out = trendlake(query_args(
            &wh,
            &["SELECT 1 AS one", "--output", &file.display().to_string()],
        ))
        .await;
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(
            err.contains(".csv, .json, .jsonl, .ndjson, .parquet") && err.contains("--format"),
            "{err}"
        );
        assert!(!file.exists(), "{name} must not be created");
    }
    // --format says what to write whatever the name.
    let file = s.dir.path().join("x.txt");
    let out = trendlake(query_args(
        &wh,
        &[
            "SELECT 1 AS one",
            "--format",
            "csv",
            "--output",
            &file.display().to_string(),
        ],
    ))
    .await;
    assert_exit(&out, 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "one\n1\n");
}

/// The table's shape, on the demo's fully deterministic warehouse (fake seed 7, clock fixed at
/// 03:00 UTC of each night).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_output_shape() {
    let s = Scratch::new();
    let dir = s.dir.path().join("demo");
    let out = trendlake(
        [
            "demo",
            "--days",
            "1",
            "--date",
            D1,
            "--regions",
            "JP,US",
            "--seed",
            "7",
            "--dir",
            &dir.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    )
    .await;
    assert_exit(&out, 0);
    let wh = dir.join("warehouse.duckdb");
    let table = query(
        &wh,
        "SELECT snapshot_date, region, rank, video_id, view_count, like_count, fetched_at \
         FROM chart ORDER BY region, rank LIMIT 3",
        "table",
    )
    .await;
    insta::assert_snapshot!("table_output_shape", table);
    let with_null = query(
        &wh,
        "SELECT rank, like_count, fetched_at FROM chart \
         WHERE like_count IS NULL ORDER BY region, rank LIMIT 1",
        "table",
    )
    .await;
    insta::assert_snapshot!("table_output_null", with_null);
}

/// `trendlake query … | head`: the reader closing the pipe early is not an error.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    // About 7 MB of CSV: far more than a pipe buffers, so writes go on after the close.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trendlake"))
        .args(query_args(
            &wh,
            &["SELECT range AS n FROM range(1000000)", "--format", "csv"],
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 4];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    assert_eq!(&head, b"n\n0\n");
    // The read end is dropped here: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "");
}

/// `trendlake demo` (fake seed 7, clock fixed): a deterministic warehouse of `days` nights
/// ending on D1, in `regions`.
pub(crate) async fn demo_warehouse(s: &Scratch, days: u32, regions: &str) -> std::path::PathBuf {
    let dir = s.dir.path().join("demo");
    let out = trendlake(
        [
            "demo",
            "--days",
            &days.to_string(),
            "--date",
            D1,
            "--regions",
            regions,
            "--seed",
            "7",
            "--dir",
            &dir.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    )
    .await;
    assert_exit(&out, 0);
    dir.join("warehouse.duckdb")
}

/// `trendlake query --warehouse W ARGS…`, asserting the exit code; (stdout, stderr).
async fn query_exit(warehouse: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = trendlake(query_args(warehouse, args)).await;
    assert_exit(&out, code);
    (stdout(&out), stderr(&out))
}

/// Far more rows than one batch (DuckDB hands over 2,048 at a time) and, for Parquet, more
/// than one row group: every row comes back, with its type.
const BIG: &str = "SELECT range AS n, (range % 1000)::INTEGER AS small, \
                   DATE '2026-01-01' + (range % 365)::INTEGER AS day, 'v' || range AS text \
                   FROM range(1200000)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_larger_than_a_batch_streams_in_every_format() {
    use arrow::array::AsArray;
    use arrow::datatypes::{Date32Type, Int32Type, Int64Type};
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let rows = 1_200_000usize;

    // Parquet: row groups of at most 500,000 rows, Arrow's types kept.
    let file = s.dir.path().join("big.parquet");
    query_exit(&wh, &[BIG, "--output", &file.display().to_string()], 0).await;
    let (meta, batch) = read_parquet(&file);
    assert_eq!(batch.num_rows(), rows);
    assert_eq!(meta.num_row_groups(), 3, "500,000 + 500,000 + 200,000 rows");
    assert!(meta.row_groups().iter().all(|g| g.num_rows() <= 500_000));
    let schema = batch.schema();
    let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(ty("n"), DataType::Int64);
    assert_eq!(ty("small"), DataType::Int32);
    assert_eq!(ty("day"), DataType::Date32);
    assert_eq!(ty("text"), DataType::Utf8);
    let n = batch.column(0).as_primitive::<Int64Type>();
    assert!(
        (0..rows).all(|i| n.value(i) == i as i64),
        "every row, in order"
    );
    assert_eq!(
        batch.column(1).as_primitive::<Int32Type>().value(rows - 1),
        999
    );
    assert_eq!(
        batch.column(2).as_primitive::<Date32Type>().value(365),
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
    );

    // CSV on stdout.
    let (text, _) = query_exit(&wh, &[BIG, "--format", "csv"], 0).await;
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("n,small,day,text"));
    assert_eq!(lines.next(), Some("0,0,2026-01-01,v0"));
    assert_eq!(text.lines().count(), rows + 1);
    assert_eq!(text.lines().last(), Some("1199999,999,2026-09-02,v1199999"));

    // JSON lines to a file, by its extension; JSON one array.
    let file = s.dir.path().join("big.ndjson");
    query_exit(&wh, &[BIG, "--output", &file.display().to_string()], 0).await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), rows);
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        last,
        serde_json::json!({"n": 1199999, "small": 999, "day": "2026-09-02", "text": "v1199999"})
    );
    let (text, _) = query_exit(&wh, &[BIG, "--format", "json"], 0).await;
    let all: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(all.as_array().unwrap().len(), rows);
    assert_eq!(all[rows - 1], last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_prints_what_json_prints_one_record_a_line() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let sql = format!("SELECT * EXCLUDE (i) FROM ({TYPES})");
    let (lines, _) = query_exit(&wh, &[&sql, "--format", "jsonl"], 0).await;
    let (array, _) = query_exit(&wh, &[&sql, "--format", "json"], 0).await;
    let records: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        Value::Array(records),
        serde_json::from_str::<Value>(&array).unwrap()
    );
    assert!(lines.ends_with("}\n"), "{lines}");
    let (empty, _) = query_exit(&wh, &["SELECT 1 AS a WHERE false", "--format", "jsonl"], 0).await;
    assert_eq!(empty, "", "no rows, no lines");
    let file = s.dir.path().join("x.JSONL");
    query_exit(
        &wh,
        &["SELECT 1 AS a", "--output", &file.display().to_string()],
        0,
    )
    .await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"a\":1}\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_stops_at_max_rows_and_counts_the_rest() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let sql = "SELECT range AS n FROM range(12345)";
    let (table, _) = query_exit(&wh, &[sql, "--format", "table"], 0).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3 + 40 + 1 + 1, "{table}");
    assert_eq!(lines[3], "| 0  |");
    assert_eq!(lines[42], "| 39 |");
    assert_eq!(
        lines[44],
        "(40 of 12,345 rows shown; --max-rows 0 shows all, or --format csv)"
    );
    let (table, _) = query_exit(&wh, &[sql, "--format", "table", "--max-rows", "3"], 0).await;
    assert!(
        table.ends_with(
            "| 2 |\n+---+\n(3 of 12,345 rows shown; --max-rows 0 shows all, or --format csv)\n"
        ),
        "{table}"
    );
    let (table, _) = query_exit(&wh, &[sql, "--format", "table", "--max-rows", "0"], 0).await;
    assert_eq!(table.lines().count(), 3 + 12345 + 1);
    assert!(!table.contains("rows shown"));
    // A result within the limit has no note.
    let (table, _) = query_exit(&wh, &["SELECT 1 AS n", "--format", "table"], 0).await;
    assert_eq!(table, "+---+\n| n |\n+---+\n| 1 |\n+---+\n");
    // --max-rows is the table's only: the other formats hold every row.
    let (csv, _) = query_exit(&wh, &[sql, "--format", "csv", "--max-rows", "3"], 0).await;
    assert_eq!(csv.lines().count(), 12346);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sql_is_exit_2_with_duckdbs_message_and_no_file() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let file = s.dir.path().join("out.csv");
    let output = file.display().to_string();
    for (sql, says) in [
        ("SELECT 1 +", "Parser Error"),
        (
            "SELECT * FROM no_such_table",
            "Catalog Error: Table with name no_such_table",
        ),
        ("SELECT no_such_column FROM range(3)", "Binder Error"),
        ("SELECT no_such_function(1)", "no_such_function"),
        ("SELECT '{}'::JSON", "JSON"),
    ] {
        let (out, err) = query_exit(&wh, &[sql, "--output", &output], 2).await;
        assert_eq!(out, "");
        assert!(err.contains(says), "{sql}: {err}");
        assert!(err.contains("the query cannot run"), "{sql}: {err}");
        assert!(!file.exists(), "{sql}: no --output file");
    }
    // An error while valid SQL runs (here a cast failing past the first batches) is exit 1,
    // and leaves no file either, not even a partial one.
    let sql = "SELECT CASE WHEN range > 100000 THEN 'x'::INTEGER ELSE range END AS n \
               FROM range(200000)";
    for name in ["out.csv", "out.parquet", "out.jsonl"] {
        let file = s.dir.path().join(name);
        let (_, err) = query_exit(&wh, &[sql, "--output", &file.display().to_string()], 1).await;
        assert!(err.contains("Conversion Error"), "{err}");
        assert!(!file.exists(), "{name}: no partial file");
    }
    let left: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("wh.duckdb"))
        .collect();
    assert!(left.is_empty(), "no temporary files left: {left:?}");
}

/// The real binary with `args` under `umask` (set in the child only: the tests' own umask is
/// shared by every test thread).
pub fn under_umask(args: &[String], umask: libc::mode_t) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = command(args, &[]);
    // SAFETY: umask(2) is async-signal-safe, and the closure touches nothing else.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask);
            Ok(())
        });
    }
    cmd.output().expect("binary runs")
}

/// A file's permission bits.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An `--output` file is created as a plain create would make it (0666 less the umask), though
/// it is written under a temporary name (which tempfile would make 0600); it is complete, an
/// existing file keeps its permissions, and nothing else is left in the directory.
#[test]
fn an_output_file_has_the_umasks_permissions_and_nothing_is_left_beside_it() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let out = s.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let sql = "SELECT range AS n FROM range(100000)";
    for (umask, expected) in [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)] {
        for name in ["n.csv", "n.parquet"] {
            let file = out.join(name);
            let _ = std::fs::remove_file(&file);
            let args = query_args(&wh, &[sql, "--output", &file.display().to_string()]);
            assert_exit(&under_umask(&args, umask), 0);
            assert_eq!(
                mode(&file),
                expected,
                "{name} under umask {umask:03o}: {:o}",
                mode(&file)
            );
        }
    }
    let text = std::fs::read_to_string(out.join("n.csv")).unwrap();
    assert_eq!(text.lines().count(), 100_001);
    assert_eq!(text.lines().last(), Some("99999"));
    assert_eq!(read_parquet(&out.join("n.parquet")).1.num_rows(), 100_000);
    // Replacing a file keeps its permissions: only the content is new.
    let file = out.join("n.csv");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).unwrap();
    let args = query_args(
        &wh,
        &["SELECT 1 AS n", "--output", &file.display().to_string()],
    );
    assert_exit(&under_umask(&args, 0o077), 0);
    assert_eq!(mode(&file), 0o604, "{:o}", mode(&file));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "n\n1\n");
    assert_eq!(
        names(&out),
        ["n.csv", "n.parquet"],
        "no temporary file left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_refused_before_they_run_and_the_warehouse_is_unchanged() {
    let s = Scratch::new();
    let wh = s.warehouse();
    {
        let conn = duckdb::Connection::open(&wh).unwrap();
        conn.execute_batch("CREATE TABLE t AS SELECT 1 AS a")
            .unwrap();
    }
    let before = std::fs::read(&wh).unwrap();
    let copied = s.dir.path().join("copied.csv");
    let attached = s.dir.path().join("attached.duckdb");
    let cases = [
        (
            "INSERT INTO t VALUES (2)".to_string(),
            "INSERT would change rows",
        ),
        ("update t set a = 3".into(), "UPDATE would change rows"),
        ("DELETE FROM t".into(), "DELETE would change rows"),
        (
            format!("COPY (SELECT 1) TO '{}'", copied.display()),
            "COPY would copy data to or from files",
        ),
        (
            format!("ATTACH '{}' AS x", attached.display()),
            "ATTACH would change the attached databases",
        ),
        (
            "CREATE TEMP TABLE x AS SELECT 1".into(),
            "CREATE would change the catalog",
        ),
        ("DROP TABLE t".into(), "DROP would"),
        ("SET threads = 1".into(), "SET would change a setting"),
        ("PRAGMA table_info('t')".into(), "PRAGMA would"),
        ("CALL pragma_version()".into(), "CALL would"),
        ("INSTALL httpfs".into(), "INSTALL would"),
        ("CHECKPOINT".into(), "CHECKPOINT would"),
        (
            "-- just a look\n/* SELECT * FROM t */\n  (INSERT INTO t VALUES (4))".into(),
            "INSERT would change rows",
        ),
        (
            "WITH x AS (SELECT 5) INSERT INTO t SELECT * FROM x".into(),
            "WITH … INSERT would change rows",
        ),
        (
            "EXPLAIN ANALYZE DELETE FROM t".into(),
            "EXPLAIN ANALYZE DELETE would change rows",
        ),
    ];
    for (sql, says) in &cases {
        let (out, err) = query_exit(&wh, &["--", sql], 2).await;
        assert_eq!(out, "", "{sql}");
        assert!(
            err.contains(&format!("trendlake query is read-only: {says}"))
                && err.contains("trendlake merge"),
            "{sql}: {err}"
        );
        assert_eq!(
            std::fs::read(&wh).unwrap(),
            before,
            "{sql}: the warehouse is unchanged"
        );
    }
    assert!(!copied.exists() && !attached.exists());
    // Statements that are not SQL's reading kind are refused too, naming the word.
    let (_, err) = query_exit(&wh, &["GRANT ALL ON t TO me"], 2).await;
    assert!(err.contains("GRANT is not one"), "{err}");
    // The table still reads as it was.
    let (out, _) = query_exit(&wh, &["FROM t", "--format", "csv"], 0).await;
    assert_eq!(out, "a\n1\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_statements_run_as_a_script() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    // Each statement runs, in order, its result printed (tests/it/scripts.rs has the rest).
    let (out, _) = query_exit(&wh, &["SELECT 1 AS a; SELECT 2 AS b", "--format", "csv"], 0).await;
    assert_eq!(out, "a\n1\n\nb\n2\n");
    // A statement that is not a read refuses the whole script, naming it.
    let (out, err) = query_exit(&wh, &["SET threads = 1; SELECT 1"], 2).await;
    assert_eq!(out, "");
    assert!(
        err.contains("statement 1 of 2 (line 1): trendlake query is read-only: SET would"),
        "{err}"
    );
    // A trailing `;`, comments and empty statements are one statement.
    let (out, _) = query_exit(&wh, &["SELECT 1 AS a; -- done\n;", "--format", "csv"], 0).await;
    assert_eq!(out, "a\n1\n");
    let (_, err) = query_exit(&wh, &[" -- nothing\n"], 2).await;
    assert!(err.contains("no SQL to run"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_query_parameters_are_checked() {
    let s = Scratch::new();
    let wh = demo_warehouse(&s, 2, "JP,KR").await;
    let (_, err) = query_exit(&wh, &["--name", "top_movers", "--param", "regoin=KR"], 2).await;
    assert!(
        err.contains("takes no parameter \"regoin\"") && err.contains("date (date)"),
        "{err}"
    );
    let (_, err) = query_exit(
        &wh,
        &["--name", "top_movers", "--param", "date=2026-02-30"],
        2,
    )
    .await;
    assert!(
        err.contains("2026-02-30") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
    let (_, err) = query_exit(&wh, &["--name", "top_movers", "--param", "limit=-1"], 2).await;
    assert!(err.contains("whole number"), "{err}");
    let (_, err) = query_exit(&wh, &["--name", "days_on_chart", "--param", "region=XX"], 2).await;
    assert!(err.contains("region"), "{err}");
    // A region in any case is the region; the named query declares it.
    let (csv, _) = query_exit(
        &wh,
        &[
            "--name",
            "days_on_chart",
            "--param",
            "region=kr",
            "--param",
            "limit=3",
            "--format",
            "csv",
        ],
        0,
    )
    .await;
    let (header, rows) = parse_csv(&csv);
    let region = header.iter().position(|h| h == "region").unwrap();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows.iter().all(|r| r[region] == "KR"), "{csv}");
    let (csv, _) = query_exit(&wh, &["--name", "days_on_chart", "--format", "csv"], 0).await;
    let (_, rows) = parse_csv(&csv);
    assert!(rows.iter().any(|r| r[region] == "JP"), "{csv}");
}

#[test]
fn sql_piped_on_stdin_runs() {
    use std::io::Write;
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let run = |sql: &str| {
        let mut child = command(&query_args(&wh, &["--format", "csv"]), &[])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("SELECT 42 AS answer\n");
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "answer\n42\n");
    let out = run("SELECT 1 AS one;\nSELECT 2 AS two;\n");
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "one\n1\n\ntwo\n2\n");
    let out = run("  \n");
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no SQL on stdin"), "{}", stderr(&out));
}

/// The binary on a pseudo-terminal: util-linux's `script` runs it, what is written to `script`'s
/// stdin is typed, and what the terminal shows is read back. Each line is typed only once the
/// prompt asks for it, as a person would: rustyline reads ahead and drops what it read beyond
/// one line.
pub(crate) struct Terminal {
    pub(crate) child: std::process::Child,
    pub(crate) stdin: std::process::ChildStdin,
    pub(crate) seen: std::sync::Arc<std::sync::Mutex<String>>,
    /// Where the next [`Terminal::expect`] starts looking.
    from: usize,
}

impl Terminal {
    pub(crate) fn start(args: &[String], env: &[(String, String)]) -> Self {
        use std::io::Read;
        let line = std::iter::once(env!("CARGO_BIN_EXE_trendlake").to_string())
            .chain(args.iter().cloned())
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = std::process::Command::new("script");
        for (k, _) in std::env::vars() {
            if k.starts_with("TRENDLAKE_") || k.starts_with("YOUTUBE_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["-qec", &line, "/dev/null"])
            .env("TERM", "xterm")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect(
                "util-linux's `script` runs the prompt on a pseudo-terminal; install util-linux",
            );
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self {
            child,
            stdin,
            seen,
            from: 0,
        }
    }

    /// Wait until the terminal shows `text` after what was already matched; what it showed in
    /// between.
    #[track_caller]
    pub(crate) fn expect(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some(i) = seen[self.from..].find(text) {
                    let shown = seen[self.from..self.from + i].to_string();
                    self.from += i + text.len();
                    return shown;
                }
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "the terminal never showed {text:?}; it showed:\n{}",
                    &self.seen.lock().unwrap()[self.from..]
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Type one line and wait for the prompt that follows it; what the terminal showed.
    #[track_caller]
    pub(crate) fn type_line(&mut self, line: &str, prompt: &str) -> String {
        use std::io::Write;
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.stdin.flush().unwrap();
        self.expect(prompt)
    }
}

pub(crate) const PROMPT: &str = "trendlake> ";
pub(crate) const MORE: &str = "..> ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interactive_prompt_runs_sql_and_named_queries() {
    let s = Scratch::new();
    let wh = demo_warehouse(&s, 2, "JP,KR").await;
    let state = s.dir.path().join("state");
    let env = [
        ("XDG_STATE_HOME".to_string(), state.display().to_string()),
        ("HOME".to_string(), s.dir.path().display().to_string()),
    ];
    let mut t = Terminal::start(&query_args(&wh, &["--max-rows", "5"]), &env);
    let greeting = t.expect(PROMPT);
    assert!(greeting.contains("read-only"), "{greeting}");

    // A named query with name=value words, bound and checked like --param.
    let shown = t.type_line("top_movers region=kr limit=2", PROMPT);
    assert!(shown.contains("| region "), "{shown}");
    assert_eq!(shown.matches("| KR ").count(), 2, "{shown}");
    assert!(shown.contains("(2 rows)"), "{shown}");

    // SQL over several lines, run at the `;`; the table cut at --max-rows.
    t.type_line("SELECT region, count(*) AS n", MORE);
    let shown = t.type_line("FROM chart_entries GROUP BY 1 ORDER BY 1;", PROMPT);
    assert!(
        shown.contains("| JP     | 400 |") && shown.contains("| KR     | 400 |"),
        "{shown}"
    );
    let shown = t.type_line("SELECT * FROM range(100);", PROMPT);
    assert!(shown.contains("(5 of 100 rows shown;"), "{shown}");

    // Errors print, and the prompt goes on.
    let shown = t.type_line("SELECT nope FROM chart;", PROMPT);
    assert!(
        shown.contains("error: ") && shown.contains("Binder Error"),
        "{shown}"
    );
    let shown = t.type_line("top_movers regoin=kr", PROMPT);
    assert!(shown.contains("takes no parameter \"regoin\""), "{shown}");
    // A date without a snapshot, as `query --name` and `report` say it (demo: two nights to D1).
    let shown = t.type_line("top_movers date=2026-11-01", PROMPT);
    assert!(
        shown.contains(&format!(
            "error: the warehouse {} holds no snapshot of 2026-11-01; the first date it holds is \
             2026-11-19 (`trendlake query --name coverage` lists every date held)",
            wh.display()
        )),
        "{shown}"
    );
    let shown = t.type_line("INSERT INTO regions SELECT * FROM regions;", PROMPT);
    assert!(
        shown.contains("trendlake query is read-only: INSERT"),
        "{shown}"
    );
    let shown = t.type_line(".list", PROMPT);
    assert!(
        shown.contains("days_on_chart") && shown.contains("--param region=<region>"),
        "{shown}"
    );
    let shown = t.type_line(".tables", PROMPT);
    assert!(
        shown.contains("chart_entries") && shown.contains("view"),
        "{shown}"
    );

    t.type_line(".quit", "\n");
    let status = t.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", t.seen.lock().unwrap());

    // History kept where XDG says, one entry per statement or command.
    let history = std::fs::read_to_string(state.join("trendlake/query_history")).unwrap();
    assert!(
        history.contains("top_movers region=kr limit=2"),
        "{history}"
    );
    assert!(
        history.contains("SELECT region, count(*) AS n"),
        "{history}"
    );
    assert!(history.contains(".quit"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_goes_on_without_a_history_file() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    // The history's directory cannot be created: a file is in the way.
    let state = s.dir.path().join("state");
    std::fs::write(&state, "not a directory").unwrap();
    let env = [("XDG_STATE_HOME".to_string(), state.display().to_string())];
    let mut t = Terminal::start(&query_args(&wh, &[]), &env);
    t.expect(PROMPT);
    let shown = t.type_line("SELECT 41 + 1 AS answer;", PROMPT);
    assert!(shown.contains("| 42     |"), "{shown}");
    drop(t.stdin); // Ctrl-D's equivalent: the terminal's input ends.
    let status = t.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let all = t.seen.lock().unwrap().clone();
    assert!(
        all.contains("history"),
        "a warning about the history: {all}"
    );
}
