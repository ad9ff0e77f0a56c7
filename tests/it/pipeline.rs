//! The whole nightly path, black-box: the real binary against the in-process fake API.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use trendlake::record::{normalize_title, schema};
use trendlake_fake_api::chart;
use unicode_normalization::UnicodeNormalization;

use crate::support::*;

const NINE: &str = "JP,KR,TW,SG,VN,TH,HK,US,GB";

/// Warehouse contents that must not depend on when the run happened.
const STABLE_ENTRIES: &str = "SELECT snapshot_date, region, video_id, rank, view_count, like_count, comment_count \
     FROM chart_entries ORDER BY ALL";
const STABLE_VIDEOS: &str = "SELECT * FROM videos ORDER BY video_id";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_regions_end_to_end() {
    let d1 = date("2026-11-20");
    let api = fake(d1, |_| {}).await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            "2026-11-20",
            &["--regions", NINE, "--concurrency", "9"],
        )
        .await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("9/9 regions ok, 1800 rows"),
        "{}",
        stderr(&out)
    );

    // The lake file: the lake's schema, 9 × 200 rows, one row group per region, sorted.
    let (meta, rows) = read_parquet(&s.snapshot_file("2026-11-20"));
    assert_eq!(rows.schema().fields(), schema().fields());
    assert!(
        rows.column_by_name("snapshot_date").is_none(),
        "the date lives in the path only"
    );
    assert_eq!(rows.num_rows(), 1800);
    assert_eq!(meta.num_row_groups(), 9);
    assert!(meta.row_groups().iter().all(|rg| rg.num_rows() == 200));
    let kv = meta.file_metadata().key_value_metadata().unwrap();
    assert!(
        kv.iter()
            .any(|k| k.key == "trendlake.schema_version" && k.value.as_deref() == Some("2"))
    );
    let mut expected_regions: Vec<&str> = NINE.split(',').collect();
    expected_regions.sort();
    assert_complete_snapshot(&s.snapshot_file("2026-11-20"), &expected_regions);
    let id = rows.column_by_name("video_id").unwrap().as_string::<i32>();

    // Rows match the fake's chart, normalised.
    let title = rows.column_by_name("title").unwrap().as_string::<i32>();
    let likes = rows
        .column_by_name("like_count")
        .unwrap()
        .as_primitive::<Int64Type>();
    let views = rows
        .column_by_name("view_count")
        .unwrap()
        .as_primitive::<Int64Type>();
    let (mut nfd_seen, mut control_seen, mut hidden_likes) = (0, 0, 0);
    for (ri, r) in expected_regions.iter().enumerate() {
        for (k, v) in chart(SEED, r, d1).iter().enumerate() {
            let i = ri * 200 + k;
            assert_eq!(id.value(i), v.id);
            let raw = &v.snippet.as_ref().unwrap().title;
            let stored = title.value(i);
            assert_eq!(stored, stored.nfc().collect::<String>(), "NFC title");
            assert!(
                !stored.chars().any(char::is_control),
                "control char in {stored:?}"
            );
            assert_eq!(stored, normalize_title(raw));
            if *raw != raw.nfc().collect::<String>() {
                nfd_seen += 1;
                assert_ne!(stored, raw.as_str());
            }
            if raw.chars().any(char::is_control) {
                control_seen += 1;
            }
            let stats = v.statistics.as_ref().unwrap();
            match &stats.like_count {
                None => {
                    hidden_likes += 1;
                    assert!(likes.is_null(i), "hidden likes must be null, not 0");
                }
                Some(n) => assert_eq!(likes.value(i), n.parse::<i64>().unwrap()),
            }
            assert_eq!(
                views.value(i),
                stats.view_count.as_ref().unwrap().parse::<i64>().unwrap()
            );
        }
    }
    assert!(nfd_seen > 0, "the fake sends some NFD titles");
    assert!(
        control_seen > 0,
        "the fake sends some titles with control characters"
    );
    assert!(hidden_likes > 0, "the fake hides some like counts");

    // The warehouse holds the same 1800 entries.
    let n = warehouse_rows(
        &s.warehouse(),
        "SELECT count(*), count(DISTINCT (region, video_id)) FROM chart_entries",
    );
    assert_eq!(
        n,
        vec![vec!["BigInt(1800)".to_string(), "BigInt(1800)".to_string()]]
    );
    let cats = warehouse_rows(
        &s.warehouse(),
        "SELECT name FROM categories WHERE category_id = 10",
    );
    assert_eq!(cats, vec![vec!["Text(\"Music\")".to_string()]]);

    // A second run of the same date leaves the warehouse as it was.
    let entries = warehouse_rows(&s.warehouse(), STABLE_ENTRIES);
    let videos = warehouse_rows(&s.warehouse(), STABLE_VIDEOS);
    let out = s
        .run(&api.base_url(), "2026-11-20", &["--regions", NINE])
        .await;
    assert_exit(&out, 0);
    assert_eq!(warehouse_rows(&s.warehouse(), STABLE_ENTRIES), entries);
    assert_eq!(warehouse_rows(&s.warehouse(), STABLE_VIDEOS), videos);
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT count(*) FROM merged_snapshots"),
        vec![vec!["BigInt(1)".to_string()]]
    );

    // The next day adds history, and top_movers returns the gains computed here from the fake.
    let d2 = d1.succ_opt().unwrap();
    api.set_date(d2);
    let out = s
        .run(&api.base_url(), "2026-11-21", &["--regions", NINE])
        .await;
    assert_exit(&out, 0);
    let n = warehouse_rows(
        &s.warehouse(),
        "SELECT count(*), count(DISTINCT snapshot_date) FROM chart_entries",
    );
    assert_eq!(
        n,
        vec![vec!["BigInt(3600)".to_string(), "BigInt(2)".to_string()]]
    );

    let out = trendlake(vec![
        "query".into(),
        "--warehouse".into(),
        s.warehouse().display().to_string(),
        "--name".into(),
        "top_movers".into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert_exit(&out, 0);
    let got: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let got: Vec<(String, String, i64)> = got
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_string(),
                r["video_id"].as_str().unwrap().to_string(),
                r["view_gain"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for r in &expected_regions {
        let before: BTreeMap<String, i64> = chart(SEED, r, d1)
            .into_iter()
            .filter_map(|v| Some((v.id.clone(), v.statistics?.view_count?.parse().ok()?)))
            .collect();
        let mut gains: Vec<(i64, String)> = chart(SEED, r, d2)
            .into_iter()
            .filter_map(|v| {
                let now: i64 = v.statistics.as_ref()?.view_count.as_ref()?.parse().ok()?;
                Some((now - before.get(&v.id)?, v.id))
            })
            .collect();
        gains.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        expected.extend(
            gains
                .into_iter()
                .take(5)
                .map(|(g, id)| (r.to_string(), id, g)),
        );
    }
    assert_eq!(got.len(), 45, "5 movers for each of 9 regions");
    assert_eq!(got, expected);
    assert!(
        got.iter().all(|(_, _, g)| *g > 0),
        "views grow day over day"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_region_never_overwrites_an_earlier_good_one() {
    let d = date("2026-11-20");
    let good = fake(d, |_| {}).await;
    let s = Scratch::new();
    let out = s
        .run(&good.base_url(), "2026-11-20", &["--regions", "JP,KR,US"])
        .await;
    assert_exit(&out, 0);
    let (_, before) = read_parquet(&s.snapshot_file("2026-11-20"));
    assert_eq!(before.num_rows(), 600);

    // 10 units: with one request in flight one region runs at a time, so JP and KR take 4
    // units each and US fails on its page 3.
    let starved = fake(d, |c| c.quota = Some(10)).await;
    let out = s
        .run(
            &starved.base_url(),
            "2026-11-20",
            &["--regions", "JP,KR,US", "--concurrency", "1"],
        )
        .await;
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("2/3 regions ok"), "{err}");
    assert!(err.contains("US page 3 (quotaExceeded"), "{err}");
    assert!(err.contains("quotaExceeded"), "{err}");
    let (_, after) = read_parquet(&s.snapshot_file("2026-11-20"));
    // Every column but fetched_at (JP was fetched again, so its pages' times moved on).
    let stable: Vec<usize> = (0..schema().fields().len())
        .filter(|i| schema().field(*i).name() != "fetched_at")
        .collect();
    assert_eq!(stable.len(), schema().fields().len() - 1);
    assert_eq!(
        after.project(&stable).unwrap(),
        before.project(&stable).unwrap(),
        "failed regions keep their earlier rows"
    );
    let reports = std::fs::read_dir(s.lake().join("_runs/snapshot_date=2026-11-20"))
        .unwrap()
        .count();
    assert_eq!(reports, 2, "one run report per run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_where_every_region_fails_exits_1_and_writes_no_snapshot() {
    let d = date("2026-11-20");
    let api = fake(d, |c| c.api_key = Some("right-key".into())).await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            "2026-11-20",
            &["--regions", "JP,KR", "--api-key", "wrong-key-4242"],
        )
        .await;
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("YOUTUBE_API_KEY"),
        "bad key advice names the variable: {err}"
    );
    assert!(!err.contains("wrong-key-4242"));
    assert!(!s.snapshot_file("2026-11-20").exists());
    assert!(!s.warehouse().exists(), "nothing merged");
}

/// A fake and a scratch lake and warehouse holding JP and US on 2026-11-20 and -21.
async fn two_nights_of_jp_and_us() -> (trendlake_fake_api::FakeApi, Scratch) {
    let d = date("2026-11-20");
    let api = fake(d, |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &s.run(&api.base_url(), "2026-11-20", &["--regions", "JP,US"])
            .await,
        0,
    );
    api.set_date(d.succ_opt().unwrap());
    assert_exit(
        &s.run(&api.base_url(), "2026-11-21", &["--regions", "JP,US"])
            .await,
        0,
    );
    (api, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_formats_and_named_queries() {
    let (_api, s) = two_nights_of_jp_and_us().await;
    let wh = s.warehouse().display().to_string();
    let q = |extra: &[&str]| {
        let mut a = vec!["query".to_string(), "--warehouse".into(), wh.clone()];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };

    let out = trendlake(q(&["--list"])).await;
    assert_exit(&out, 0);
    // Every named query, each with its parameters and their types and defaults.
    assert_eq!(trendlake::queries::NAMED_QUERIES.len(), 22);
    for q in trendlake::queries::NAMED_QUERIES {
        assert!(stdout(&out).contains(q.name), "{}", q.name);
    }
    assert!(
        stdout(&out).contains("--param region=<region>"),
        "{}",
        stdout(&out)
    );

    // No rows: the header still names the columns, and Parquet still gets a schema.
    let out = trendlake(q(&[
        "SELECT region, rank FROM chart_entries WHERE false",
        "--format",
        "csv",
    ]))
    .await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "region,rank\n");
    let empty = s.dir.path().join("empty.parquet");
    let out = trendlake(q(&[
        "SELECT region, rank FROM chart_entries WHERE false",
        "--output",
        &empty.display().to_string(),
    ]))
    .await;
    assert_exit(&out, 0);
    let (_, rows) = read_parquet(&empty);
    assert_eq!((rows.num_rows(), rows.num_columns()), (0, 2));

    let out = trendlake(q(&[
        "SELECT region, count(*) AS n FROM chart_entries GROUP BY 1 ORDER BY 1",
        "--format",
        "csv",
    ]))
    .await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "region,n\nJP,400\nUS,400\n");

    let out = trendlake(q(&[
        "SELECT count(*) AS n FROM chart_entries WHERE region = getvariable('r')",
        "--param",
        "r=JP",
        "--format",
        "json",
    ]))
    .await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), r#"[{"n":400}]"#);

    let file = s.dir.path().join("days.parquet");
    let out = trendlake(q(&[
        "--name",
        "days_on_chart",
        "--param",
        "limit=7",
        "--output",
        &file.display().to_string(),
    ]))
    .await;
    assert_exit(&out, 0);
    let (_, days) = read_parquet(&file);
    assert_eq!(days.num_rows(), 7);
    let d = days
        .column_by_name("days_on_chart")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert!(d.values().iter().all(|&n| (1..=2).contains(&n)));

    let out = trendlake(q(&["--name", "cross_region", "--format", "csv"])).await;
    assert_exit(&out, 0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "video_id,title,channel_id,channel_title,regions_reached,origin_known,first_date,\
         first_regions,max_lag_days,arrivals,censored_regions,still_on_chart,matching_videos"
    );
    assert!(
        lines.len() > 1,
        "the fake's global hits trend in both JP and US"
    );

    // Merging is incremental: both snapshots are merged already and unchanged, so none is read.
    let merge = |extra: &[&str]| {
        let mut a = vec![
            "merge".to_string(),
            "--lake".into(),
            s.lake().display().to_string(),
            "--warehouse".into(),
            wh.clone(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = trendlake(merge(&[])).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("merged 0 snapshot(s), 0 chart entries; 2 already up to date"),
        "{}",
        stderr(&out)
    );
    // --date forces one date; merging it again changes nothing.
    let before = warehouse_rows(&s.warehouse(), "SELECT * FROM chart_entries ORDER BY ALL");
    let out = trendlake(merge(&["--date", "2026-11-21"])).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("merged 1 snapshot(s), 400 chart entries"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT * FROM chart_entries ORDER BY ALL"),
        before
    );
    let out = trendlake(merge(&["--date", "2026-11-22"])).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no snapshot for 2026-11-22"),
        "{}",
        stderr(&out)
    );

    // The warehouse is opened read-only: writes are refused before they run (a usage error).
    let out = trendlake(q(&["DELETE FROM chart_entries"])).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).to_lowercase().contains("read-only"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT count(*) FROM chart_entries"),
        vec![vec!["BigInt(800)".to_string()]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_builds_history_and_is_repeatable() {
    let s = Scratch::new();
    let dir = s.dir.path().join("demo");
    let args = || {
        vec![
            "demo".to_string(),
            "--days".into(),
            "3".into(),
            "--date".into(),
            "2026-11-20".into(),
            "--dir".into(),
            dir.display().to_string(),
        ]
    };
    let first = trendlake(args()).await;
    assert_exit(&first, 0);
    let out = stdout(&first);
    assert!(out.contains("top_movers for 2026-11-20"), "{out}");
    assert!(out.contains("view_gain"), "{out}");
    // The demo tracks by default: the videos that left the charts were followed, and it says
    // what they gained after.
    assert!(out.contains("afterlife: median views gained"), "{out}");
    assert!(out.contains("median_gain_1d"), "{out}");
    let wh = dir.join("warehouse.duckdb");
    let tracked = warehouse_rows(
        &wh,
        "SELECT count(DISTINCT snapshot_date), count(*) > 100, bool_and(returned OR view_count IS NULL) \
         FROM tracked_videos",
    );
    assert_eq!(
        tracked,
        vec![vec![
            "BigInt(2)".to_string(),
            "Boolean(true)".to_string(),
            "Boolean(true)".to_string()
        ]]
    );
    let counts = warehouse_rows(
        &wh,
        "SELECT count(*), count(DISTINCT snapshot_date) FROM chart_entries",
    );
    assert_eq!(
        counts,
        vec![vec!["BigInt(5400)".to_string(), "BigInt(3)".to_string()]]
    );
    let all_tables = |p: &std::path::Path| {
        [
            "SELECT * FROM chart_entries ORDER BY ALL",
            "SELECT * FROM videos ORDER BY video_id",
            "SELECT * FROM merged_snapshots ORDER BY ALL",
        ]
        .map(|q| warehouse_rows(p, q))
    };
    let before = all_tables(&wh);
    let lake_before = tree(&dir.join("lake/videos"));

    // Again, with the warehouse gone: every snapshot is merged anew from the lake.
    std::fs::remove_file(&wh).unwrap();
    let second = trendlake(args()).await;
    assert_exit(&second, 0);
    assert_eq!(stdout(&second), out, "same top movers");
    assert_eq!(
        all_tables(&wh),
        before,
        "same warehouse, to the last timestamp"
    );
    assert_eq!(
        tree(&dir.join("lake/videos")),
        lake_before,
        "same lake files"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("lake/_runs")).unwrap().count(),
        3,
        "one report folder per night"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_snapshot_that_lost_entries_keeps_the_warehouse_consistent() {
    let (api, s) = two_nights_of_jp_and_us().await;
    // Re-run the 21st for JP with only the top 50: JP's chart on that date shrinks.
    let out = s
        .run(
            &api.base_url(),
            "2026-11-21",
            &["--regions", "JP", "--per-region", "50"],
        )
        .await;
    assert_exit(&out, 0);
    let count = |sql: &str| warehouse_rows(&s.warehouse(), sql)[0][0].clone();
    assert_eq!(
        count(
            "SELECT count(*) FROM chart_entries WHERE snapshot_date = DATE '2026-11-21' AND region = 'JP'"
        ),
        "BigInt(50)"
    );
    assert_eq!(
        count("SELECT count(*) FROM chart_entries WHERE snapshot_date = DATE '2026-11-21'"),
        "BigInt(250)"
    );
    // Every video has an entry, and its seen dates are those of its entries.
    assert_eq!(
        count(
            "SELECT count(*) FROM videos v WHERE NOT EXISTS (SELECT 1 FROM chart_entries e WHERE e.video_id = v.video_id)"
        ),
        "BigInt(0)"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM videos v JOIN (SELECT video_id, min(snapshot_date) f, max(snapshot_date) l \
             FROM chart_entries GROUP BY video_id) e USING (video_id) \
             WHERE v.first_seen_date <> e.f OR v.last_seen_date <> e.l"
        ),
        "BigInt(0)"
    );
    assert_eq!(
        count("SELECT count(*) FROM videos"),
        count("SELECT count(DISTINCT video_id) FROM chart_entries")
    );
}

/// The run report of `date` in the scratch lake (there must be exactly one).
pub fn run_report(s: &Scratch, date: &str) -> serde_json::Value {
    let dir = s.lake().join(format!("_runs/snapshot_date={date}"));
    let reports: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    serde_json::from_slice(&std::fs::read(&reports[0]).unwrap()).unwrap()
}

/// `\`-escapes every ASCII punctuation character, so `text` matches itself as a regex.
fn regex_literal(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// Snapshot a run report, with what changes from run to run (the scratch directory, the run id,
/// timestamps, timings, the file's size) replaced by placeholders.
#[track_caller]
fn assert_report_snapshot(name: &str, s: &Scratch, report: &serde_json::Value) {
    let scratch = std::fs::canonicalize(s.dir.path()).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_literal(&scratch.display().to_string()), "[scratch]");
    settings.add_filter(r#""run_id": "[^"]+""#, r#""run_id": "[run_id]""#);
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z",
        "[timestamp]",
    );
    settings.add_filter(
        r#""(elapsed_ms|fetch_ms|write_ms|track_ms|merge_ms)": \d+"#,
        r#""$1": "[ms]""#,
    );
    settings.add_filter(r#""bytes": \d+"#, r#""bytes": "[bytes]""#);
    // Digests of what was fetched (its times change every run) and the run's directory.
    settings.add_filter(r#"_sha256": "[0-9a-f]{64}""#, r#"_sha256": "[sha256]""#);
    settings.add_filter(r"/run=[0-9a-f-]+/", "/run=[run_id]/");
    // Every region names the raw pages of this run: its id, its directory.
    let run_id = report["run_id"].as_str().unwrap();
    for region in report["regions"].as_array().unwrap() {
        if region["status"] == "ok" {
            assert_eq!(region["source"]["run_id"], run_id);
            let manifest = region["source"]["manifest"].as_str().unwrap();
            assert!(
                manifest.ends_with(&format!("/run={run_id}/manifest.json")),
                "{manifest}"
            );
        }
    }
    settings.bind(|| insta::assert_json_snapshot!(name, report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_report_of_a_complete_run() {
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    let out = s
        .run(&api.base_url(), "2026-11-20", &["--regions", "JP,US"])
        .await;
    assert_exit(&out, 0);
    let report = run_report(&s, "2026-11-20");
    // The lake is named by an absolute URL whatever form it was given in.
    let lake = report["lake"].as_str().unwrap();
    assert!(lake.starts_with("file:///"), "{lake}");
    assert!(lake.ends_with("/lake"), "{lake}");
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(report[field].as_str().unwrap()).unwrap()
    };
    assert!(at("finished_at") >= at("started_at"));
    assert_report_snapshot("run_report_complete", &s, &report);
    // The date's lock is gone once the commit is over.
    let locks = s.lake().join("_locks");
    assert!(
        !locks.exists() || std::fs::read_dir(&locks).unwrap().next().is_none(),
        "a lock file was left in {}",
        locks.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_report_of_a_run_with_a_failed_region() {
    let faults = trendlake_fake_api::parse_faults(
        r#"{"faults": [{"region": "KR", "page": 2, "times": 0, "kind": "chart_not_found_404"}]}"#,
    )
    .unwrap();
    let api = fake(date("2026-11-20"), |c| c.faults = faults).await;
    let s = Scratch::new();
    let out = s
        .run(&api.base_url(), "2026-11-20", &["--regions", "JP,KR,US"])
        .await;
    assert_exit(&out, 3);
    let report = run_report(&s, "2026-11-20");
    assert_report_snapshot("run_report_failed_region", &s, &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_failing_after_the_commit_is_in_the_run_report_and_exits_4() {
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    // A directory where the warehouse file should be: the merge cannot open it.
    std::fs::create_dir_all(s.warehouse()).unwrap();
    let out = s
        .run(&api.base_url(), "2026-11-20", &["--regions", "JP"])
        .await;
    assert_exit(&out, 4);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    // The commit's summary comes first, written before the merge could fail.
    let committed = lines
        .iter()
        .position(|l| l.starts_with("2026-11-20: 1/1 regions ok, 200 rows committed"))
        .unwrap_or_else(|| panic!("{err}"));
    let failed = lines
        .iter()
        .position(|l| l.starts_with("merge failed: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(committed < failed, "{err}");
    assert!(
        lines[failed].contains("The snapshot of 2026-11-20 is committed and safe in the lake")
            && lines[failed].contains("`trendlake merge`"),
        "{err}"
    );
    let report = run_report(&s, "2026-11-20");
    assert_eq!(report["merge"]["status"], "failed");
    assert!(report["merge"]["error"].as_str().is_some());
    assert_eq!(
        (report["outcome"].as_str(), report["exit_code"].as_u64()),
        (Some("merge_failed"), Some(4))
    );
    // The snapshot is committed all the same, for the next run to merge.
    assert_complete_snapshot(&s.snapshot_file("2026-11-20"), &["JP"]);
    std::fs::remove_dir(s.warehouse()).unwrap();
    let out = s
        .run(
            &api.base_url(),
            "2026-11-20",
            &["--regions", "JP", "--only-missing"],
        )
        .await;
    assert_exit(&out, 0);
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT count(*) FROM chart_entries"),
        vec![vec!["BigInt(200)".to_string()]]
    );
}
