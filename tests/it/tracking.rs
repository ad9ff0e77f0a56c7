//! The tracking stage on the release binary against the fake API: after the charts, every video
//! that left one of the run's regions' charts within `--track-days` is looked up by id, 50 at a
//! time, never twice a night; what the API leaves out is recorded as vanished; the budget keeps
//! the latest exits; and a `quotaExceeded` during tracking leaves the night's charts committed.
//! Expected values come from the fake's own oracle (`lookup`), never from trendlake's code.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Int64Type};
use chrono::NaiveDate;
use trendlake_fake_api::{FakeApi, LOOKUP_REGION, lookup};

use crate::pipeline::run_report;
use crate::support::*;

const REGIONS: &str = "JP,US";

async fn night(s: &Scratch, api: &FakeApi, day: &str, extra: &[&str]) -> std::process::Output {
    api.set_date(date(day));
    let mut args = vec!["--regions", REGIONS, "--retry-min-delay-ms", "50"];
    args.extend(extra);
    s.run(&api.base_url(), day, &args).await
}

/// Every video id on `day`'s chart of each region in the lake.
fn chart_ids(s: &Scratch, day: &str) -> BTreeMap<String, BTreeSet<String>> {
    let (_, rows) = read_parquet(&s.snapshot_file(day));
    let region = rows.column_by_name("region").unwrap().as_string::<i32>();
    let id = rows.column_by_name("video_id").unwrap().as_string::<i32>();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in 0..rows.num_rows() {
        out.entry(region.value(i).to_string())
            .or_default()
            .insert(id.value(i).to_string());
    }
    out
}

fn tracked(s: &Scratch, day: &str) -> RecordBatch {
    read_parquet(
        &s.lake()
            .join(format!("tracked/snapshot_date={day}/tracked.parquet")),
    )
    .1
}

/// The ids each lookup of the fake's log asked for, in order.
fn lookups(api: &FakeApi) -> Vec<Vec<String>> {
    api.log()
        .into_iter()
        .filter(|r| r.region == LOOKUP_REGION)
        .map(|r| r.ids)
        .collect()
}

fn day_of(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(i64::from(days))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_that_left_the_chart_are_followed_by_id() {
    let s = Scratch::new();
    let api = fake(date("2026-11-01"), |_| {}).await;
    // A first night, then one 24 days later: by then nearly all of the first night's videos
    // have left both charts, and some are gone from YouTube.
    assert_exit(&night(&s, &api, "2026-11-01", &[]).await, 0);
    assert!(
        lookups(&api).is_empty(),
        "nothing to track on the first night"
    );
    let first = api.log().len();
    assert_exit(&night(&s, &api, "2026-11-25", &[]).await, 0);

    let before = chart_ids(&s, "2026-11-01");
    let today: HashSet<String> = chart_ids(&s, "2026-11-25")
        .into_values()
        .flatten()
        .collect();
    let expected: BTreeSet<String> = before
        .into_values()
        .flatten()
        .filter(|id| !today.contains(id))
        .collect();
    assert!(expected.len() > 300, "{} candidates", expected.len());

    // Batches of at most 50, no id twice in the night, exactly the videos that left.
    let asked = lookups(&api);
    assert_eq!(
        api.log().len() - first,
        8 + asked.len(),
        "8 chart pages, then lookups"
    );
    assert_eq!(asked.len(), expected.len().div_ceil(50));
    assert!(asked.iter().all(|ids| !ids.is_empty() && ids.len() <= 50));
    let all: Vec<&String> = asked.iter().flatten().collect();
    let distinct: BTreeSet<String> = all.iter().map(|s| s.to_string()).collect();
    assert_eq!(all.len(), distinct.len(), "an id asked twice in one night");
    assert_eq!(distinct, expected);

    // One row per video asked for; counts exactly as the fake served them on that date,
    // matched by id although the fake shuffles the items; null where it sent no count.
    let rows = tracked(&s, "2026-11-25");
    assert_eq!(rows.num_rows(), expected.len());
    let id = rows.column_by_name("video_id").unwrap().as_string::<i32>();
    let returned = rows.column_by_name("returned").unwrap().as_boolean();
    let views = rows
        .column_by_name("view_count")
        .unwrap()
        .as_primitive::<Int64Type>();
    let likes = rows
        .column_by_name("like_count")
        .unwrap()
        .as_primitive::<Int64Type>();
    let privacy = rows
        .column_by_name("privacy_status")
        .unwrap()
        .as_string::<i32>();
    let last = rows
        .column_by_name("last_charted")
        .unwrap()
        .as_primitive::<Date32Type>();
    let (mut vanished, mut hidden_likes) = (0, 0);
    for i in 0..rows.num_rows() {
        let oracle = lookup(SEED, id.value(i), date("2026-11-25"));
        assert_eq!(returned.value(i), oracle.is_some(), "{}", id.value(i));
        assert_eq!(day_of(last.value(i)), date("2026-11-01"));
        match oracle {
            None => {
                vanished += 1;
                assert!(views.is_null(i) && likes.is_null(i) && privacy.is_null(i));
            }
            Some(video) => {
                let stats = video.statistics.unwrap();
                let want = |c: Option<String>| c.map(|c| c.parse::<i64>().unwrap());
                assert_eq!(
                    views.is_valid(i).then(|| views.value(i)),
                    want(stats.view_count)
                );
                assert_eq!(
                    likes.is_valid(i).then(|| likes.value(i)),
                    want(stats.like_count.clone())
                );
                hidden_likes += usize::from(stats.like_count.is_none());
                assert_eq!(
                    Some(privacy.value(i).to_string()),
                    video.status.unwrap().privacy_status
                );
            }
        }
    }
    assert!(vanished > 0, "some videos vanished within 24 days");
    assert!(hidden_likes > 0, "some videos hide their likes");

    // The run report says the same.
    let report = run_report(&s, "2026-11-25");
    let t = &report["tracking"];
    assert_eq!(t["status"], "ok");
    assert_eq!(t["candidates"], expected.len());
    assert_eq!(t["tracked"], expected.len());
    assert_eq!(t["vanished"], vanished);
    assert_eq!(t["returned"], expected.len() - vanished);
    assert_eq!(t["skipped"], 0);
    assert_eq!(t["quota_units"], asked.len());
    assert_eq!(report["quota_units"], 8 + asked.len());
    let source = &t["file"]["source"];
    assert!(
        source["manifest"]
            .as_str()
            .unwrap()
            .starts_with("raw/snapshot_date=2026-11-25/tracked/run="),
        "{source}"
    );

    // `check` knows the new files: no stray object, the lookups named by the file.
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_keeps_the_latest_exits_and_says_what_it_skipped() {
    let s = Scratch::new();
    let api = fake(date("2026-11-01"), |_| {}).await;
    for day in ["2026-11-01", "2026-11-19"] {
        assert_exit(&night(&s, &api, day, &["--track-days", "0"]).await, 0);
    }
    assert!(
        lookups(&api).is_empty(),
        "--track-days 0 turns tracking off"
    );
    let out = night(&s, &api, "2026-11-20", &["--track-budget", "3"]).await;
    assert_exit(&out, 0);

    let today: HashSet<String> = chart_ids(&s, "2026-11-20")
        .into_values()
        .flatten()
        .collect();
    let left = |day: &str| -> BTreeSet<String> {
        chart_ids(&s, day)
            .into_values()
            .flatten()
            .filter(|id| !today.contains(id))
            .collect()
    };
    let recent = left("2026-11-19");
    let older: BTreeSet<String> = left("2026-11-01").difference(&recent).cloned().collect();
    assert!(
        recent.len() < 150,
        "the test needs the budget to cut into the older exits"
    );

    let asked: BTreeSet<String> = lookups(&api).into_iter().flatten().collect();
    assert_eq!(lookups(&api).len(), 3, "3 units: 3 lookups");
    assert_eq!(asked.len(), 150);
    assert!(
        recent.is_subset(&asked),
        "every latest exit is followed first"
    );
    assert_eq!(asked.difference(&recent).count(), 150 - recent.len());
    assert!(asked.difference(&recent).all(|id| older.contains(id)));

    let t = &run_report(&s, "2026-11-20")["tracking"];
    assert_eq!(t["candidates"], recent.len() + older.len());
    assert_eq!(t["skipped"], recent.len() + older.len() - 150);
    assert_eq!(t["budget_units"], 3);
    assert!(
        t["skipped_reason"]
            .as_str()
            .unwrap()
            .contains("left the charts longest ago"),
        "{t}"
    );
    assert!(stderr(&out).contains("skipped"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_during_tracking_keeps_the_charts_and_exits_partial() {
    let s = Scratch::new();
    // Two nights of 8 pages each, and one lookup more: the second lookup is refused.
    let api = fake(date("2026-11-01"), |c| c.quota = Some(8 + 8 + 1)).await;
    assert_exit(&night(&s, &api, "2026-11-01", &[]).await, 0);
    let out = night(&s, &api, "2026-11-12", &["--concurrency", "1"]).await;
    assert_exit(&out, 3);
    assert_complete_snapshot(&s.snapshot_file("2026-11-12"), &["JP", "US"]);

    let t = &run_report(&s, "2026-11-12")["tracking"];
    assert_eq!(t["status"], "partial", "{t}");
    assert_eq!(t["error_kind"], "quota_exceeded", "{t}");
    assert_eq!(t["tracked"], 50, "{t}");
    let candidates = t["candidates"].as_u64().unwrap() as usize;
    assert_eq!(t["failed"], candidates - 50, "{t}");
    // The one answered lookup is in the lake; no lookup was sent after the refusal.
    assert_eq!(tracked(&s, "2026-11-12").num_rows(), 50);
    let refused = api
        .log()
        .iter()
        .filter(|r| r.region == LOOKUP_REGION && r.status == 403)
        .count();
    assert_eq!(refused, 1, "one refusal stops every later lookup");
    assert!(stderr(&out).contains("quota"), "{}", stderr(&out));
}

/// Three consecutive nights of JP and US, tracking on.
async fn three_nights(s: &Scratch, api: &FakeApi) {
    for day in ["2026-11-20", "2026-11-21", "2026-11-22"] {
        assert_exit(&night(s, api, day, &[]).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_during_tracking_are_retried_like_the_charts() {
    let s = Scratch::new();
    let plan = r#"{"faults": [
        {"region": "ids", "page": 1, "times": 2, "kind": "backend_500"},
        {"region": "ids", "page": 2, "times": 1, "kind": "rate_limit_429", "retry_after": "0"},
        {"region": "ids", "page": 2, "times": 1, "kind": "truncated"}]}"#;
    let faults = trendlake_fake_api::parse_faults(plan).unwrap();
    let api = fake(date("2026-11-20"), |c| c.faults = faults).await;
    assert_exit(&night(&s, &api, "2026-11-20", &[]).await, 0);
    assert_exit(&night(&s, &api, "2026-11-21", &[]).await, 0);
    let faulted = api
        .log()
        .iter()
        .filter(|r| r.region == LOOKUP_REGION && r.fault.is_some())
        .count();
    assert_eq!(faulted, 4, "every planned fault fired");
    let t = &run_report(&s, "2026-11-21")["tracking"];
    assert_eq!(t["status"], "ok", "{t}");
    assert_eq!(t["retries"], 4, "{t}");
    assert_eq!(t["requests"], t["quota_units"], "{t}");
    let lookups = lookups(&api).len();
    assert_eq!(t["requests"], lookups, "{t}");
    assert_eq!(t["tracked"], t["candidates"], "{t}");
    assert_eq!(
        tracked(&s, "2026-11-21").num_rows(),
        t["candidates"].as_u64().unwrap() as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_rebuilds_from_raw_and_merges_like_a_fresh_warehouse() {
    let s = Scratch::new();
    let api = fake(date("2026-11-20"), |_| {}).await;
    three_nights(&s, &api).await;
    let files: Vec<(String, Vec<u8>)> = ["2026-11-21", "2026-11-22"]
        .iter()
        .map(|d| {
            let path = s
                .lake()
                .join(format!("tracked/snapshot_date={d}/tracked.parquet"));
            (d.to_string(), std::fs::read(path).unwrap())
        })
        .collect();
    assert!(
        !s.lake().join("tracked/snapshot_date=2026-11-20").exists(),
        "nothing to track on the first night"
    );

    // A tracked file damaged in place is re-derived from exactly the lookups it names.
    let damaged = s
        .lake()
        .join("tracked/snapshot_date=2026-11-22/tracked.parquet");
    let out = s.cmd("rebuild", &["--from", "2026-11-20"]).await;
    assert_exit(&out, 0);
    for (day, bytes) in &files {
        let path = s
            .lake()
            .join(format!("tracked/snapshot_date={day}/tracked.parquet"));
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{day}: rebuilt equal");
    }
    // Rows taken out of the file are put back.
    let (_, rows) = read_parquet(&damaged);
    let fewer = rows.slice(0, rows.num_rows() - 1);
    let lineage = trendlake::lake::codec::decode_table(
        &trendlake::track::record::TRACKED,
        bytes::Bytes::from(files[1].1.clone()),
    )
    .unwrap()
    .1;
    let encoded = trendlake::lake::codec::encode_table(
        &trendlake::track::record::TRACKED,
        [&fewer],
        &lineage,
    )
    .unwrap();
    std::fs::write(&damaged, &encoded.bytes).unwrap();
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("lineage_mismatch"),
        "{}",
        stdout(&out)
    );
    assert_exit(&s.cmd("rebuild", &["--date", "2026-11-22"]).await, 0);
    assert_eq!(std::fs::read(&damaged).unwrap(), files[1].1);

    // Merged night by night (by each run) = built fresh from the lake, every table.
    let fresh = s.dir.path().join("fresh.duckdb");
    let lake = s.lake().display().to_string();
    assert_exit(&lake_command(&lake, &fresh, "merge", &[], &[]).await, 0);
    let nightly = all_tables(&s.warehouse());
    assert_eq!(nightly, all_tables(&fresh));
    let tracked_rows = &nightly["tracked_videos"];
    let in_files: usize = files.iter().map(|(d, _)| tracked(&s, d).num_rows()).sum();
    assert_eq!(tracked_rows.len(), in_files);
}

/// `trendlake query --format json ARGS` on the scratch's warehouse: the rows.
async fn query(s: &Scratch, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec![
        "query".to_string(),
        "--warehouse".into(),
        s.warehouse().display().to_string(),
        "--format".into(),
        "json".into(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let out = trendlake(all).await;
    assert_exit(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// Named query `name` with `params` (`K=V`).
async fn named(s: &Scratch, name: &str, params: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--name", name];
    for p in params {
        args.extend(["--param", p]);
    }
    query(s, &args).await
}

fn views_on(id: &str, day: NaiveDate) -> Option<i64> {
    lookup(SEED, id, day).map(|v| v.statistics.unwrap().view_count.unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn afterlife_and_video_days_follow_videos_past_the_chart() {
    let s = Scratch::new();
    let api = fake(date("2026-11-20"), |_| {}).await;
    three_nights(&s, &api).await;
    let days = ["2026-11-20", "2026-11-21", "2026-11-22"].map(date);
    let charts: Vec<BTreeMap<String, BTreeSet<String>>> =
        ["2026-11-20", "2026-11-21", "2026-11-22"]
            .iter()
            .map(|d| chart_ids(&s, d))
            .collect();

    // Expected, from the charts and the fake's oracle alone: every (region, video) on a chart of
    // night i and not on the region's chart of night i+1; its gain a day later.
    let mut expected: BTreeMap<(String, String), Exit> = BTreeMap::new();
    for i in 0..2 {
        for (region, ids) in &charts[i] {
            for id in ids.difference(&charts[i + 1][region]) {
                let at_exit = views_on(id, days[i]).unwrap();
                let (gain, status) = match views_on(id, days[i + 1]) {
                    Some(v) => (Some(v - at_exit), "observed"),
                    None => (None, "vanished"),
                };
                expected.insert(
                    (region.clone(), id.clone()),
                    (days[i], at_exit, gain, status),
                );
            }
        }
    }
    assert!(expected.len() > 100, "{} exits", expected.len());

    let rows = named(&s, "afterlife_videos", &[]).await;
    assert_eq!(rows.len(), expected.len());
    for row in &rows {
        let key = (
            row["region"].as_str().unwrap().to_string(),
            row["video_id"].as_str().unwrap().to_string(),
        );
        let (last, at_exit, gain, status) = expected[&key];
        assert_eq!(row["last_on_chart"], last.to_string(), "{row}");
        assert_eq!(row["views_at_exit"], at_exit, "{row}");
        assert_eq!(row["gain_1d"].as_i64(), gain, "{row}");
        assert_eq!(row["status_1d"], status, "{row}");
        // A week and a month have not happened yet: censored, never a stall.
        assert_eq!(row["status_7d"], "censored", "{row}");
        assert!(
            row["gain_7d"].is_null() && row["gain_30d"].is_null(),
            "{row}"
        );
    }

    // The medians per region, from the same expected gains.
    let medians = named(&s, "afterlife", &[]).await;
    assert_eq!(medians.len(), 2);
    for row in &medians {
        let region = row["region"].as_str().unwrap();
        let mut gains: Vec<i64> = expected
            .iter()
            .filter(|((r, _), e)| r == region && e.3 == "observed")
            .map(|(_, e)| e.2.unwrap())
            .collect();
        gains.sort_unstable();
        let n = gains.len();
        let median = if n % 2 == 1 {
            gains[n / 2] as f64
        } else {
            (gains[n / 2 - 1] + gains[n / 2]) as f64 / 2.0
        };
        let exits = expected.keys().filter(|(r, _)| r == region).count();
        assert_eq!(row["exits"], exits, "{row}");
        assert_eq!(row["observed_1d"], n, "{row}");
        assert_eq!(row["median_gain_1d"].as_f64().unwrap(), median, "{row}");
        assert_eq!(row["censored_7d"], exits, "{row}");
        assert_eq!(row["censored_30d"], exits, "{row}");
    }

    // A video that left both charts on the first night: its days run on without a seam.
    let (left, _) = expected
        .iter()
        .find(|((_, id), e)| {
            e.0 == days[0]
                && e.3 == "observed"
                && views_on(id, days[2]).is_some()
                && !charts[1]
                    .values()
                    .chain(charts[2].values())
                    .any(|c| c.contains(id))
        })
        .expect("a video followed on both later nights");
    let id = &left.1;
    let sql = format!(
        "SELECT snapshot_date, source, view_count FROM video_days \
         WHERE video_id = '{id}' ORDER BY snapshot_date"
    );
    let days_seen = query(&s, &[&sql]).await;
    let got: Vec<(String, String, i64)> = days_seen
        .iter()
        .map(|r| {
            (
                r["snapshot_date"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
                r["view_count"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, i64)> = days
        .iter()
        .zip(["chart", "tracking", "tracking"])
        .map(|(d, source)| (d.to_string(), source.to_string(), views_on(id, *d).unwrap()))
        .collect();
    assert_eq!(got, want);

    // video_history goes on past the chart: its tracked days, each with the gain since the
    // day before.
    let history = named(&s, "video_history", &[&format!("video={id}")]).await;
    let tracked_days: Vec<(String, String, i64)> = history
        .iter()
        .filter(|r| r["region"].is_null())
        .map(|r| {
            (
                r["snapshot_date"].as_str().unwrap().to_string(),
                r["arrival"].as_str().unwrap().to_string(),
                r["view_gain"].as_i64().unwrap(),
            )
        })
        .collect();
    let gain = |a: usize, b: usize| views_on(id, days[b]).unwrap() - views_on(id, days[a]).unwrap();
    assert_eq!(
        tracked_days,
        [
            (days[1].to_string(), "tracked".to_string(), gain(0, 1)),
            (days[2].to_string(), "tracked".to_string(), gain(1, 2)),
        ]
    );
    assert!(
        history.iter().any(|r| r["region"].is_string()),
        "its chart rows come first"
    );

    // half_life: the exits of the middle night have a reference (the day before was observed)
    // and one day after it; computed here from the oracle alone.
    let on_any = |i: usize, id: &str| charts[i].values().any(|c| c.contains(id));
    let mut want_half: BTreeMap<(String, String), (Option<i64>, i64, bool)> = BTreeMap::new();
    for (region, ids) in &charts[1] {
        for id in ids.difference(&charts[2][region]) {
            if !on_any(0, id) {
                continue; // no reference: the day before the exit was not observed
            }
            let reference = gain_of(id, days[0], days[1]);
            let row = match views_on(id, days[2]) {
                None => (None, 0, true),
                Some(_) => {
                    let after = gain_of(id, days[1], days[2]);
                    if (after as f64) < reference as f64 / 2.0 {
                        (Some(1), 1, false)
                    } else {
                        (None, 1, true)
                    }
                }
            };
            want_half.insert((region.clone(), id.clone()), row);
        }
    }
    assert!(want_half.values().any(|r| r.0.is_some()) || want_half.values().any(|r| r.2));
    let half = named(&s, "half_life", &[]).await;
    let got_half: BTreeMap<(String, String), (Option<i64>, i64, bool)> = half
        .iter()
        .map(|r| {
            (
                (
                    r["region"].as_str().unwrap().to_string(),
                    r["video_id"].as_str().unwrap().to_string(),
                ),
                (
                    r["half_life_days"].as_i64(),
                    r["observed_days"].as_i64().unwrap(),
                    r["censored"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(got_half, want_half);
}

/// An exit as the oracle sees it: last day on the chart, views then, the gain a day later (none
/// when the video vanished) and its status.
type Exit = (NaiveDate, i64, Option<i64>, &'static str);

fn gain_of(id: &str, from: NaiveDate, to: NaiveDate) -> i64 {
    views_on(id, to).unwrap() - views_on(id, from).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_names_the_videos_gone_after_charting() {
    let s = Scratch::new();
    let api = fake(date("2026-11-01"), |_| {}).await;
    assert_exit(&night(&s, &api, "2026-11-01", &[]).await, 0);
    assert_exit(&night(&s, &api, "2026-11-25", &[]).await, 0);
    let today: HashSet<String> = chart_ids(&s, "2026-11-25")
        .into_values()
        .flatten()
        .collect();
    let expected: BTreeSet<String> = chart_ids(&s, "2026-11-01")
        .into_values()
        .flatten()
        .filter(|id| !today.contains(id) && lookup(SEED, id, date("2026-11-25")).is_none())
        .collect();
    assert!(!expected.is_empty());
    let rows = named(&s, "vanished", &[]).await;
    let got: BTreeSet<String> = rows
        .iter()
        .map(|r| r["video_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, expected);
    for row in &rows {
        assert_eq!(row["vanished_date"], "2026-11-25", "{row}");
        assert_eq!(row["last_charted"], "2026-11-01", "{row}");
        assert_eq!(row["days_after_exit"], 24, "{row}");
        assert_eq!(row["returned_since"], false, "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_missing_leaves_a_tracked_date_alone_and_forget_takes_it_out() {
    let s = Scratch::new();
    let api = fake(date("2026-11-20"), |_| {}).await;
    assert_exit(&night(&s, &api, "2026-11-20", &[]).await, 0);
    assert_exit(&night(&s, &api, "2026-11-21", &[]).await, 0);
    let file = s
        .lake()
        .join("tracked/snapshot_date=2026-11-21/tracked.parquet");
    let bytes = std::fs::read(&file).unwrap();
    let asked = lookups(&api).len();
    assert!(asked > 0);

    // Nothing missing, and the date tracked already: not a lookup more, the file as it was.
    let out = night(&s, &api, "2026-11-21", &["--only-missing"]).await;
    assert_exit(&out, 0);
    assert_eq!(lookups(&api).len(), asked, "no lookup sent again");
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // `forget` takes the tracked file out with the date, and the merge its rows.
    let in_warehouse = |s: &Scratch| {
        warehouse_rows(
            &s.warehouse(),
            "SELECT count(*) FROM tracked_videos WHERE snapshot_date = DATE '2026-11-21'",
        )
    };
    assert_ne!(in_warehouse(&s), vec![vec!["BigInt(0)".to_string()]]);
    let out = s.cmd("forget", &["--date", "2026-11-21"]).await;
    assert_exit(&out, 0);
    assert!(!file.exists(), "the tracked file went to the trash");
    assert_eq!(in_warehouse(&s), vec![vec!["BigInt(0)".to_string()]]);
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT count(*) FROM merged_tracked"),
        vec![vec!["BigInt(0)".to_string()]]
    );
}
