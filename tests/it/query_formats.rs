//! Every column the warehouse holds prints in every `query` format (issue 6 item 0): the real
//! binary builds a warehouse from the fake API, then every table and view is queried as a
//! table, CSV, JSON and Parquet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate};
use serde_json::Value;
use trendlake::fake_api::chart;
use trendlake::youtube::model::Video;
use unicode_normalization::UnicodeNormalization;

use crate::support::*;

const D1: &str = "2026-11-20";
const D2: &str = "2026-11-21";

/// A warehouse holding JP and US on D1 and D2, built by `trendlake run` against the fake.
async fn warehouse() -> Scratch {
    let api = fake(date(D1), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &s.run(&api.base_url(), D1, &["--regions", "JP,US"]).await,
        0,
    );
    api.set_date(date(D2));
    assert_exit(
        &s.run(&api.base_url(), D2, &["--regions", "JP,US"]).await,
        0,
    );
    s
}

fn query_args(warehouse: &Path, extra: &[&str]) -> Vec<String> {
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
    assert_eq!(views, "table_name\nchart\n");
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
        assert!(rows > 0, "{table} is empty");
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
        let text = query(&wh, &sql, "table").await;
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
fn empty_warehouse(s: &Scratch) -> std::path::PathBuf {
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
            err.contains(".csv, .json, .parquet") && err.contains("--format"),
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
