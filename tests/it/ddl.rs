//! `trendlake ddl`: each engine's DDL pinned for a fixed location, the location taken from the
//! lake's settings, usage errors that name their flag, and Spark in local mode registering a
//! lake the real binary built with the printed DDL and answering as the warehouse does.

use std::path::Path;

use serde_json::Value;

use crate::notebooks::{assert_java, python, query, run_json, script};
use crate::support::*;

/// `trendlake ARGS` in `dir` (so a default `./data/lake` would land there), with `env`.
fn ddl_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    command(&args, &env).current_dir(dir).output().unwrap()
}

/// An exit 2 with nothing on stdout, whose message holds every one of `needles`.
#[track_caller]
fn assert_refused(out: &std::process::Output, needles: &[&str]) {
    assert_exit(out, 2);
    assert_eq!(stdout(out), "", "no DDL printed");
    let err = stderr(out);
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} in: {err}");
    }
}

/// A directory `open_existing` takes for a lake: one snapshot directory with a file in it.
fn fake_lake(dir: &Path) {
    let date_dir = dir.join("videos/snapshot_date=2026-11-20");
    std::fs::create_dir_all(&date_dir).unwrap();
    std::fs::write(date_dir.join("videos.parquet"), b"not read").unwrap();
}

#[test]
fn ddl_of_each_engine_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        (
            "spark",
            &[
                "--engine",
                "spark",
                "--table",
                "lake.videos",
                "--location",
                "s3a://trendlake-lake/nightly/",
            ][..],
        ),
        (
            "trino",
            &[
                "--engine",
                "trino",
                "--table",
                "hive.lake.videos",
                "--location",
                "s3://trendlake-lake/nightly",
            ],
        ),
        (
            "athena",
            &[
                "--engine",
                "athena",
                "--table",
                "lake.videos",
                "--location",
                "s3://trendlake-lake/nightly",
            ],
        ),
        (
            "bigquery",
            &[
                "--engine",
                "bigquery",
                "--table",
                "my-project.lake.videos",
                "--location",
                "gs://trendlake-lake/nightly",
            ],
        ),
        (
            "bigquery_s3",
            &[
                "--engine",
                "bigquery",
                "--table",
                "lake.videos",
                "--location",
                "s3://trendlake-lake/nightly",
                "--connection",
                "aws-us-east-1.trendlake",
            ],
        ),
    ] {
        let args: Vec<&str> = ["ddl"].into_iter().chain(args.iter().copied()).collect();
        let out = ddl_in(dir.path(), &args, &[]);
        assert_exit(&out, 0);
        assert_eq!(stderr(&out), "", "{name}: nothing on stderr");
        insta::assert_snapshot!(format!("ddl_{name}"), stdout(&out));
    }
    // --location given, the lake is neither read nor created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_location_defaults_to_the_lake_s_url() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    fake_lake(&lake);
    let canonical = std::fs::canonicalize(&lake).unwrap();
    let location = format!("LOCATION 'file://{}/videos'", canonical.display());
    let lake_arg = lake.display().to_string();
    // --lake, TRENDLAKE_LAKE, the config file's `lake`, and a relative path.
    let config = dir.path().join("trendlake.toml");
    std::fs::write(&config, format!("lake = {:?}\n", lake_arg)).unwrap();
    let config_arg = config.display().to_string();
    for (args, env) in [
        (
            vec!["ddl", "--engine", "spark", "--lake", &lake_arg],
            vec![],
        ),
        (
            vec!["ddl", "--engine", "spark"],
            vec![("TRENDLAKE_LAKE", lake_arg.as_str())],
        ),
        (
            vec!["ddl", "--engine", "spark", "--config", &config_arg],
            vec![],
        ),
        (vec!["ddl", "--engine", "spark", "--lake", "lake"], vec![]),
    ] {
        let out = ddl_in(dir.path(), &args, &env);
        assert_exit(&out, 0);
        assert!(
            stdout(&out).contains(&location),
            "{args:?} {env:?}: {}",
            stdout(&out)
        );
        assert!(stdout(&out).contains("CREATE TABLE IF NOT EXISTS `videos` ("));
    }
    // An S3 lake is taken as it is, without a request (no credentials here).
    let out = ddl_in(
        dir.path(),
        &["ddl", "--engine", "athena", "--lake", "s3://bucket/lake/"],
        &[],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("LOCATION 's3://bucket/lake/videos/'"));
    // --location wins over the lake.
    let out = ddl_in(
        dir.path(),
        &[
            "ddl",
            "--engine",
            "spark",
            "--lake",
            &lake_arg,
            "--location",
            "s3a://b/p",
        ],
        &[],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("LOCATION 's3a://b/p/videos'"));
    // A local lake Athena cannot read names the setting it came from and --location.
    let out = ddl_in(
        dir.path(),
        &["ddl", "--engine", "athena"],
        &[("TRENDLAKE_LAKE", &lake_arg)],
    );
    assert_refused(
        &out,
        &["TRENDLAKE_LAKE", "Athena reads S3 only", "--location"],
    );
    let out = ddl_in(
        dir.path(),
        &[
            "ddl", "--engine", "bigquery", "--table", "d.t", "--lake", &lake_arg,
        ],
        &[],
    );
    assert_refused(&out, &["--lake", "Cloud Storage", "--location"]);
    // No lake at the default path: exit 2, nothing created.
    let empty = tempfile::tempdir().unwrap();
    let out = ddl_in(empty.path(), &["ddl", "--engine", "spark"], &[]);
    assert_refused(&out, &["there is no lake at", "data/lake"]);
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn an_invalid_table_is_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let loc = ["--location", "s3://bucket/lake"];
    for (engine, table, why) in [
        ("spark", "vid eos", "not a plain identifier"),
        ("spark", "videos;DROP TABLE x", "not a plain identifier"),
        ("spark", "vid`eos", "not a plain identifier"),
        ("athena", "2026videos", "not a plain identifier"),
        ("athena", "a.b.c", "TABLE or DATABASE.TABLE"),
        ("spark", "lake..videos", "an empty part"),
        ("trino", "videos", "SCHEMA.TABLE"),
        ("trino", "\"lake\".\"videos\"", "not a plain identifier"),
        ("bigquery", "videos", "DATASET.TABLE"),
        ("bigquery", "my-lake.videos", "not a plain identifier"),
    ] {
        let out = ddl_in(
            dir.path(),
            &["ddl", "--engine", engine, "--table", table, loc[0], loc[1]],
            &[],
        );
        assert_refused(&out, &["--table", why]);
    }
    // Without --table, the default name is too short for Trino and BigQuery: said so.
    for (engine, hint) in [("trino", "SCHEMA.TABLE"), ("bigquery", "DATASET.TABLE")] {
        let out = ddl_in(
            dir.path(),
            &["ddl", "--engine", engine, loc[0], loc[1]],
            &[],
        );
        assert_refused(&out, &["--table (not given: videos)", hint]);
    }
    let out = ddl_in(
        dir.path(),
        &["ddl", "--engine", "oracle", loc[0], loc[1]],
        &[],
    );
    assert_refused(&out, &["--engine", "spark, trino, athena, bigquery"]);
}

#[test]
fn bad_locations_and_connections_are_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, location, why) in [
        ("spark", "/srv/lake", "not a URL"),
        ("spark", "s3://bucket/it's", "'\\''"),
        ("trino", "s3://", "no bucket"),
        ("athena", "gs://bucket/lake", "Athena reads S3 only"),
        ("bigquery", "file:///srv/lake", "Cloud Storage"),
    ] {
        let out = ddl_in(
            dir.path(),
            &[
                "ddl",
                "--engine",
                engine,
                "--table",
                "lake.videos",
                "--location",
                location,
            ],
            &[],
        );
        assert_refused(&out, &["--location", why]);
    }
    let table = ["--table", "lake.videos"];
    let out = ddl_in(
        dir.path(),
        &[
            "ddl",
            "--engine",
            "bigquery",
            table[0],
            table[1],
            "--location",
            "s3://b/lake",
        ],
        &[],
    );
    assert_refused(&out, &["--connection", "BigQuery Omni"]);
    let out = ddl_in(
        dir.path(),
        &[
            "ddl",
            "--engine",
            "athena",
            table[0],
            table[1],
            "--location",
            "s3://b/lake",
            "--connection",
            "us.c",
        ],
        &[],
    );
    assert_refused(&out, &["--connection", "BigQuery's"]);
    let out = ddl_in(
        dir.path(),
        &[
            "ddl",
            "--engine",
            "bigquery",
            table[0],
            table[1],
            "--location",
            "gs://b/lake",
            "--connection",
            "trendlake",
        ],
        &[],
    );
    assert_refused(&out, &["--connection", "LOCATION.CONNECTION_ID"]);
}

/// Rows, summed views, shown likes and the latest fetch per date and region: the question Spark
/// answers from the registered table (tests/python/ddl_spark.py) and the warehouse from its own.
const GROUPS: &str = "
    SELECT snapshot_date, region,
           count(*) AS rows,
           sum(view_count) AS view_count,
           count(like_count) AS likes_shown,
           epoch_us(max(fetched_at)) AS last_fetched_us
    FROM chart_entries
    GROUP BY ALL
    ORDER BY ALL";

/// The lake of three nights (a missed night and a region missing from one) registered in Spark
/// with `ddl --engine spark`'s own statements: Spark's answer equals the warehouse's; the table's
/// declared types are the ones Spark reads from the files; nothing is visible before the partition
/// sync, and a date moved away (as `forget` does) is gone after the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_registers_the_lake_with_the_ddl_and_answers_as_the_warehouse() {
    let python = python(&["pyspark"]);
    assert_java();
    let api = fake(date("2026-11-16"), |_| {}).await;
    let s = Scratch::new();
    for (day, regions) in [
        ("2026-11-16", "JP,US"),
        ("2026-11-17", "JP,KR,US"),
        ("2026-11-19", "KR"),
    ] {
        api.set_date(date(day));
        assert_exit(
            &s.run(&api.base_url(), day, &["--regions", regions]).await,
            0,
        );
    }
    let lake = s.lake();
    let out = trendlake(vec![
        "ddl".into(),
        "--engine".into(),
        "spark".into(),
        "--table".into(),
        "trending".into(),
        "--lake".into(),
        lake.display().to_string(),
    ])
    .await;
    assert_exit(&out, 0);
    let ddl = stdout(&out);
    let videos = std::fs::canonicalize(lake.join("videos")).unwrap();
    assert!(
        ddl.contains(&format!("LOCATION 'file://{}'", videos.display())),
        "{ddl}"
    );
    let ddl_file = s.dir.path().join("spark.sql");
    std::fs::write(&ddl_file, &ddl).unwrap();
    let trash = s.dir.path().join("trash");
    std::fs::create_dir(&trash).unwrap();
    let warehouse = s.warehouse();
    let (got, expected) = tokio::task::spawn_blocking(move || {
        let expected = query(&warehouse, GROUPS);
        let got = run_json(
            &python,
            &[
                script("ddl_spark.py").as_os_str(),
                ddl_file.as_os_str(),
                "trending".as_ref(),
                videos.as_os_str(),
                "2026-11-17".as_ref(),
                trash.as_os_str(),
            ],
            &[("SPARK_LOCAL_IP", Path::new("127.0.0.1"))],
        );
        (got, expected)
    })
    .await
    .unwrap();

    assert_eq!(got["statements"], 2, "CREATE TABLE, then MSCK REPAIR TABLE");
    assert_eq!(
        got["before_sync"], 0,
        "the table shows no partition before the DDL's sync statement"
    );
    let dates = ["2026-11-16", "2026-11-17", "2026-11-19"];
    let partitions: Vec<String> = dates.iter().map(|d| format!("snapshot_date={d}")).collect();
    assert_eq!(got["partitions"], serde_json::json!(partitions));
    // Six (date, region) groups, each with its rows, views and a fetch time.
    assert_eq!(expected.len(), 6, "{expected:?}");
    assert!(
        expected
            .iter()
            .all(|g| g["rows"] == 200 && g["view_count"].as_i64() > Some(0))
    );
    assert_eq!(
        got["groups"],
        Value::Array(expected.clone()),
        "Spark vs the warehouse"
    );

    // The declared columns are the files' own, in the files' order, the date last.
    assert_eq!(got["declared"], got["inferred"]);
    let declared: Vec<(String, String)> = serde_json::from_value(got["declared"].clone()).unwrap();
    let schema = trendlake::record::schema();
    assert_eq!(declared.len(), schema.fields().len() + 1);
    for (f, (name, _)) in schema.fields().iter().zip(&declared) {
        assert_eq!(f.name(), name);
    }
    for (column, ty) in [
        ("rank", "int"),
        ("view_count", "bigint"),
        ("tags", "array<string>"),
        ("published_at", "timestamp"),
        ("caption", "boolean"),
        ("snapshot_date", "date"),
    ] {
        assert!(
            declared.contains(&(column.to_string(), ty.to_string())),
            "{column} {ty}: {declared:?}"
        );
    }

    // A date taken away, the DDL run again: the sync drops its partition, the rest is unchanged.
    let kept: Vec<Value> = expected
        .into_iter()
        .filter(|g| g["snapshot_date"] != "2026-11-17")
        .collect();
    assert_eq!(kept.len(), 3);
    assert_eq!(
        got["partitions_after"],
        serde_json::json!([&partitions[0], &partitions[2]])
    );
    assert_eq!(got["groups_after"], Value::Array(kept));
}

/// docs/engines.md's table of types says what the code maps: a row for every Arrow type of the
/// lake's files and of the partition key, each engine's cell the type `ddl` declares.
#[test]
fn the_types_table_of_the_docs_is_the_mapping() {
    use trendlake::ddl::{Engine, column_type, partition_field};
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/engines.md"))
            .unwrap();
    let start = text
        .lines()
        .position(|l| l == "### Types")
        .expect("docs/engines.md has ### Types");
    let code = |cell: &str| cell.split('`').nth(1).unwrap_or_default().to_string();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.trim_matches('|').split('|').map(code).collect())
        .collect();
    let mut types: Vec<arrow::datatypes::DataType> = trendlake::record::schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    types.push(partition_field().data_type().clone());
    types.dedup_by(|a, b| a == b);
    let mut documented = std::collections::BTreeSet::new();
    for row in &rows {
        assert_eq!(row.len(), 5, "{row:?}");
        let t = types
            .iter()
            .find(|t| t.to_string() == row[0])
            .unwrap_or_else(|| {
                panic!("docs/engines.md lists {:?}, not a type of the lake", row[0])
            });
        for (engine, cell) in Engine::ALL.into_iter().zip(&row[1..]) {
            assert_eq!(
                column_type(engine, t).as_deref(),
                Some(cell.as_str()),
                "{engine} {t}"
            );
        }
        documented.insert(row[0].clone());
    }
    for t in &types {
        assert!(
            documented.contains(&t.to_string()),
            "docs/engines.md lists {t}"
        );
    }
}
