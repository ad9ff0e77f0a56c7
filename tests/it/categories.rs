//! Category charts against the fake API. The client's calls (issue 20's first part): a region's
//! `videoCategories.list` as the fake's oracle has it, a category chart paged to its end equal to
//! the oracle's chart of that category, and a chart that does not exist answered as
//! `ChartNotFound`, whether the API says 400 `videoChartNotFound` or 404 `notFound`. Then the
//! release binary's nights with `--categories`: the file holds exactly the charts the oracle has,
//! a missing chart is `no_chart` (asked once, not again before `--recheck-days`), `check` and
//! `coverage` tell it from a missing snapshot, every named query answers for the chart its
//! `category` names, and `--quota-budget` leaves the last charts out unasked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::Int32Type;
use trendlake::youtube::{Client, ErrorKind};
use trendlake_fake_api::{
    FakeApi, LoggedRequest, VIDEO_CATEGORIES_PATH, categories, category_chart,
    category_chart_exists,
};

use crate::pipeline::run_report;
use crate::support::*;

const DAY: &str = "2026-11-25";

fn client(api: &trendlake_fake_api::FakeApi) -> Client {
    Client::new(&api.base_url(), None, Duration::from_secs(10)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regions_categories_are_the_fakes_in_its_language() {
    let api = fake(date(DAY), |_| {}).await;
    let c = client(&api);
    for (region, hl) in [
        ("JP", None),
        ("JP", Some("ja")),
        ("KR", Some("ko")),
        ("US", None),
    ] {
        let (got, body) = c.video_categories(region, hl).await.unwrap();
        let want = categories(region, hl).unwrap();
        assert_eq!(got.items, want, "{region} {hl:?}");
        assert!(!body.is_empty());
        assert!(
            got.items
                .iter()
                .any(|c| c.snippet.as_ref().unwrap().assignable)
        );
        assert!(
            got.items
                .iter()
                .any(|c| !c.snippet.as_ref().unwrap().assignable)
        );
    }
    // Localised: Music is not called "Music" in Japanese.
    let (ja, _) = c.video_categories("JP", Some("ja")).await.unwrap();
    let music = ja.items.iter().find(|c| c.id == "10").unwrap();
    assert_ne!(music.snippet.as_ref().unwrap().title, "Music");
    let e = c.video_categories("XX", None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRegion, "{e}");
    assert_eq!(api.requests(), 6, "one call each, no retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_category_chart_pages_to_its_end_and_a_missing_one_is_chart_not_found() {
    for not_found_404 in [false, true] {
        let api = fake(date(DAY), |c| c.chart_not_found_404 = not_found_404).await;
        let c = client(&api);
        // Music in JP exists; some assignable category of JP has no chart.
        let want = category_chart(SEED, "JP", 10, date(DAY)).expect("JP has a Music chart");
        assert!(!want.is_empty() && want.len() < 200, "{}", want.len());
        let mut got = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = c
                .category_chart_page("JP", 10, 50, token.as_deref())
                .await
                .unwrap();
            got.extend(page.response.items.into_iter().map(|v| v.id));
            token = page.response.next_page_token;
            if token.is_none() {
                break;
            }
        }
        let want: Vec<String> = want.into_iter().map(|v| v.id).collect();
        assert_eq!(got, want);
        let missing = categories("JP", None)
            .unwrap()
            .into_iter()
            .map(|c| c.id.parse::<u32>().unwrap())
            .find(|id| category_chart(SEED, "JP", *id, date(DAY)).is_none())
            .expect("a category without a chart");
        let e = c
            .category_chart_page("JP", missing, 50, None)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::ChartNotFound, "{e}");
        assert_eq!(e.status, Some(if not_found_404 { 404 } else { 400 }), "{e}");
        // The general chart is asked without videoCategoryId, as before.
        let general = c.chart_page("JP", 50, None).await.unwrap();
        assert_eq!(general.response.items.len(), 50);
        let log = api.log();
        assert_eq!(log.last().unwrap().category, None);
    }
}

// ---------------------------------------------------------------------------------------------
// The night's category charts on the release binary against the fake API (seed 42). The truth is
// the fake's own oracle (`categories`, `category_chart`, `chart`) and its request log, never
// trendlake's code.

/// The fake's seed of these tests (the demo's and the docs' numbers are of seed 42).
const SEED42: u64 = 42;

/// `run`'s regions when none are named.
const DEFAULT_REGIONS: [&str; 9] = ["JP", "KR", "TW", "SG", "VN", "TH", "HK", "US", "GB"];

/// Four nights in a row, the first one `DAY`.
const NIGHTS: [&str; 4] = ["2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28"];

/// The category charts of the recheck, `check` and `coverage` tests.
const FIVE: &str = "10,17,20,24,25";
const FIVE_IDS: [u32; 5] = [10, 17, 20, 24, 25];
const THREE_REGIONS: [&str; 3] = ["JP", "KR", "US"];

/// A night with every assignable category chart of the nine default regions: the file holds
/// exactly the charts the fake has, each as the fake ranks it, one row group each; every missing
/// one is `no_chart`, asked once (never retried), 1 unit; the run report's units are the fake's
/// requests; the chart catalogue says the same. The fake answers a missing chart with the
/// documented 400 `videoChartNotFound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_night_of_assignable_charts_holds_what_the_api_has_400() {
    assignable_night(false).await;
}

/// The same night with the fake answering a missing chart with the 404 `notFound` seen live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_night_of_assignable_charts_holds_what_the_api_has_404() {
    assignable_night(true).await;
}

async fn assignable_night(not_found_404: bool) {
    let api = fake42(DAY, |c| c.chart_not_found_404 = not_found_404).await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            DAY,
            &["--categories", "assignable", "--track-days", "0"],
        )
        .await;
    assert_exit(&out, 0);

    // The oracle: each region's assignable categories, and which of their charts exist tonight.
    let mut existing: Vec<(String, u32, Vec<String>)> = Vec::new();
    let mut missing: Vec<(String, u32)> = Vec::new();
    let mut order: Vec<String> = DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect();
    for region in DEFAULT_REGIONS {
        for c in categories(region, None).unwrap() {
            if !c.snippet.as_ref().unwrap().assignable {
                continue;
            }
            let id: u32 = c.id.parse().unwrap();
            order.push(format!("{region}/{id}"));
            match oracle_ids(region, id, DAY) {
                Some(ids) => existing.push((region.to_string(), id, ids)),
                None => missing.push((region.to_string(), id)),
            }
        }
    }
    let pages: usize = existing.iter().map(|(_, _, ids)| pages_of(ids.len())).sum();
    // The numbers docs/operations.md gives for this night.
    assert_eq!(
        (existing.len(), missing.len(), pages),
        (74, 45, 112),
        "charts that exist, charts that do not, their pages"
    );
    let units = 9 * 4 + 9 + pages + missing.len();
    assert_eq!(units, 202);

    // The file: exactly the general charts and the existing category charts, one row group each,
    // each as the oracle ranks it.
    let file = charts_in_file(&s.snapshot_file(DAY));
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for region in DEFAULT_REGIONS {
        want.insert(region.to_string(), oracle_ids(region, 0, DAY).unwrap());
    }
    for (region, id, ids) in &existing {
        want.insert(format!("{region}/{id}"), ids.clone());
    }
    assert_eq!(file.len(), 9 + 74);
    assert_eq!(
        file.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (key, rows) in &file {
        let ids: Vec<String> = rows.iter().map(|r| r.video_id.clone()).collect();
        assert_eq!(&ids, &want[key], "{key}: the oracle's chart, in rank order");
        let ranks: Vec<i32> = rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, (1..=ids.len() as i32).collect::<Vec<_>>(), "{key}");
        let (_, category) = trendlake::chart::split(key);
        assert!(rows.iter().all(|r| r.chart_category == category), "{key}");
        if category != "all" {
            // A category chart holds videos of that category only.
            let id: i32 = category.parse().unwrap();
            assert!(rows.iter().all(|r| r.category_id == Some(id)), "{key}");
        }
    }

    // The run report: every chart, general ones first, then each region's assignable
    // categories in id order.
    let report = run_report(&s, DAY);
    assert_eq!(report["outcome"], "complete");
    assert_eq!(report["exit_code"], 0);
    let charts = report["regions"].as_array().unwrap();
    let keys: Vec<String> = charts.iter().map(chart_key).collect();
    assert_eq!(keys, order);
    let by_key: BTreeMap<String, &serde_json::Value> =
        charts.iter().map(|c| (chart_key(c), c)).collect();
    for region in DEFAULT_REGIONS {
        let c = by_key[region];
        assert_eq!(
            (&c["status"], &c["rows"], &c["requests"], &c["quota_units"]),
            (&"ok".into(), &200.into(), &4.into(), &4.into()),
            "{c}"
        );
    }
    for (region, id, ids) in &existing {
        let c = by_key[&format!("{region}/{id}")];
        let n = pages_of(ids.len());
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["rows"], ids.len(), "{c}");
        assert_eq!(c["requests"], n, "{c}");
        assert_eq!(c["quota_units"], n, "{c}");
        assert_eq!(c["retries"], 0, "{c}");
        assert!(c.get("error").is_none(), "{c}");
    }
    let status = if not_found_404 { 404 } else { 400 };
    let log = api.log();
    for (region, id) in &missing {
        let c = by_key[&format!("{region}/{id}")];
        assert_eq!(
            (&c["status"], &c["rows"], &c["requests"], &c["quota_units"]),
            (&"no_chart".into(), &0.into(), &1.into(), &1.into()),
            "{c}"
        );
        assert_eq!(c["retries"], 0, "{c}");
        assert!(c.get("error").is_none(), "not a failure: {c}");
        assert!(c.get("last_asked").is_none(), "{c}");
        // Asked once, refused, never retried.
        let asked = chart_requests(&log, region, Some(*id));
        assert_eq!(asked.len(), 1, "{region}/{id}: {asked:?}");
        assert_eq!((asked[0].status, asked[0].page), (status, 0));
    }
    for (region, id, ids) in &existing {
        let asked = chart_requests(&log, region, Some(*id));
        assert_eq!(asked.len(), pages_of(ids.len()), "{region}/{id}");
        assert!(asked.iter().all(|r| r.status == 200 && r.fault.is_none()));
    }
    for region in DEFAULT_REGIONS {
        let asked = chart_requests(&log, region, None);
        assert_eq!(asked.len(), 4, "{region}");
        assert!(asked.iter().all(|r| r.status == 200));
    }

    // The categories section: one listing a region, 1 unit each, as the oracle lists them.
    let listed = report["categories"].as_array().unwrap();
    assert_eq!(listed.len(), 9);
    for (entry, region) in listed.iter().zip(DEFAULT_REGIONS) {
        let oracle = categories(region, None).unwrap();
        let assignable = oracle
            .iter()
            .filter(|c| c.snippet.as_ref().unwrap().assignable)
            .count();
        assert_eq!(entry["region"], region);
        assert_eq!(entry["status"], "ok");
        assert_eq!(
            (
                &entry["categories"],
                &entry["assignable"],
                &entry["requests"],
                &entry["quota_units"],
                &entry["retries"]
            ),
            (
                &oracle.len().into(),
                &assignable.into(),
                &1.into(),
                &1.into(),
                &0.into()
            ),
            "{entry}"
        );
        let calls: Vec<_> = log
            .iter()
            .filter(|r| r.path == VIDEO_CATEGORIES_PATH && r.region == region)
            .collect();
        assert_eq!(calls.len(), 1, "{region}");
        assert_eq!(calls[0].status, 200);
    }

    // Every unit is a request the fake saw, and the other way round.
    assert_eq!(log.len(), units);
    assert_eq!(api.requests(), units as u64);
    assert_eq!(report["quota_units"], units);
    let summed: u64 = charts
        .iter()
        .chain(listed)
        .map(|c| c["quota_units"].as_u64().unwrap())
        .sum();
    assert_eq!(summed, units as u64);
    let rows = 9 * 200 + existing.iter().map(|(_, _, i)| i.len()).sum::<usize>();
    assert_eq!(report["rows_committed"], rows);
    let err = stderr(&out);
    let line = format!(
        "{DAY}: 83/83 charts ok (45 category charts the API does not have), {rows} rows committed, 202 quota units"
    );
    assert!(err.contains(&line), "{line}\n{err}");

    // The chart catalogue: the listings as the oracle has them, every chart with its status.
    let (path, catalogue) = catalogue_of(&s, DAY);
    let named_path = report["catalogue"].as_str().unwrap();
    assert!(named_path.ends_with(path.to_str().unwrap()), "{named_path}");
    assert_eq!(catalogue["format"], 1);
    assert_eq!(catalogue["snapshot_date"], DAY);
    assert_eq!(catalogue["run_id"], report["run_id"]);
    let want_listings: serde_json::Map<String, serde_json::Value> = DEFAULT_REGIONS
        .iter()
        .map(|region| {
            let list: Vec<serde_json::Value> = categories(region, None)
                .unwrap()
                .into_iter()
                .map(|c| {
                    let snippet = c.snippet.unwrap();
                    serde_json::json!({
                        "id": c.id.parse::<u32>().unwrap(),
                        "title": snippet.title,
                        "assignable": snippet.assignable,
                    })
                })
                .collect();
            (region.to_string(), serde_json::Value::Array(list))
        })
        .collect();
    assert_eq!(
        catalogue["categories"],
        serde_json::Value::Object(want_listings)
    );
    let mut said: Vec<(String, u64, String)> = catalogue["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(c.get("last_asked").is_none(), "{c}");
            (
                c["region"].as_str().unwrap().to_string(),
                c["category"].as_u64().unwrap(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    said.sort();
    let mut want_said: Vec<(String, u64, String)> = existing
        .iter()
        .map(|(r, id, _)| (r.clone(), u64::from(*id), "ok".to_string()))
        .chain(
            missing
                .iter()
                .map(|(r, id)| (r.clone(), u64::from(*id), "no_chart".to_string())),
        )
        .collect();
    want_said.sort();
    assert_eq!(said, want_said);

    // A second run of the night asks none of the missing charts (recheck within the night) and
    // changes nothing of the charts held.
    let before = api.log().len();
    let out = s
        .run(
            &api.base_url(),
            DAY,
            &["--categories", "assignable", "--track-days", "0"],
        )
        .await;
    assert_exit(&out, 0);
    let again = &api.log()[before..];
    assert!(
        missing
            .iter()
            .all(|(r, id)| chart_requests(again, r, Some(*id)).is_empty()),
        "a chart the API said it does not have was asked again the same night"
    );
    assert_eq!(again.len(), 9 * 4 + 9 + pages);
    assert_eq!(charts_in_file(&s.snapshot_file(DAY)), file);
}

/// The run report names each chart's own raw pages: a category chart's manifest is under its
/// `category=C` directory, as the file's lineage has it, and a chart the API does not have names
/// none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_report_names_each_charts_own_raw_pages() {
    let api = fake42(DAY, |_| {}).await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            DAY,
            &[
                "--regions",
                "JP,KR",
                "--categories",
                "10,17",
                "--track-days",
                "0",
            ],
        )
        .await;
    assert_exit(&out, 0);
    let report = run_report(&s, DAY);
    let run_id = report["run_id"].as_str().unwrap();
    let bytes = bytes::Bytes::from(std::fs::read(s.snapshot_file(DAY)).unwrap());
    let lineage = trendlake::lake::codec::decode_snapshot(bytes)
        .unwrap()
        .lineage;
    // JP/10 and KR/17 exist, JP/17 and KR/10 do not.
    assert_eq!(
        lineage.keys().collect::<Vec<_>>(),
        ["JP", "JP/10", "KR", "KR/17"]
    );
    for entry in report["regions"].as_array().unwrap() {
        let key = chart_key(entry);
        let (region, category) = trendlake::chart::split(&key);
        if entry["status"] == "no_chart" {
            assert!(entry.get("source").is_none(), "{key}: {entry}");
            continue;
        }
        let dir = match category {
            "all" => format!("region={region}"),
            id => format!("region={region}/category={id}"),
        };
        let manifest = format!("raw/snapshot_date={DAY}/{dir}/run={run_id}/manifest.json");
        assert_eq!(entry["source"]["manifest"], manifest.as_str(), "{key}");
        assert_eq!(entry["source"]["rows"], entry["rows"], "{key}");
        assert_eq!(lineage[&key].manifest, manifest, "{key}");
        assert_eq!(
            entry["source"]["manifest_sha256"],
            lineage[&key].manifest_sha256.as_str(),
            "{key}"
        );
    }
}

/// `--recheck-days 3`: a chart the API does not have is asked on the first night, not on the
/// next two (`known_no_chart`, `last_asked` the first night), and asked again on the fourth;
/// with `--recheck-days 0` it is asked every night. Counted from the fake's request log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_chart_is_asked_again_only_after_recheck_days() {
    // The oracle: a chart of these that the API never has (not even possibly).
    let never = never_chart();
    let (region, id) = (never.0.as_str(), never.1);

    let (api, s) = (fake42(DAY, |_| {}).await, Scratch::new());
    let logs = nights(&s, &api, &NIGHTS, &["--recheck-days", "3"]).await;
    let asked: Vec<usize> = logs
        .iter()
        .map(|night| chart_requests(night, region, Some(id)).len())
        .collect();
    assert_eq!(asked, [1, 0, 0, 1], "{region}/{id} asked per night");
    for (night, log) in NIGHTS.iter().zip(&logs) {
        let report = run_report(&s, night);
        let entry = chart_entry(&report, region, id);
        match *night {
            "2026-11-25" | "2026-11-28" => {
                assert_eq!(entry["status"], "no_chart", "{night}: {entry}");
                assert!(entry.get("last_asked").is_none());
                let refused = chart_requests(log, region, Some(id));
                assert_eq!((refused[0].status, refused[0].page), (400, 0));
            }
            _ => {
                assert_eq!(entry["status"], "known_no_chart", "{night}: {entry}");
                assert_eq!(entry["last_asked"], NIGHTS[0]);
                assert_eq!(
                    (&entry["requests"], &entry["quota_units"]),
                    (&0.into(), &0.into())
                );
            }
        }
        assert_eq!(report["exit_code"], 0, "{night}");
    }
    // Every chart of the night as the rule says, request by request.
    assert_nights_follow_the_rule(&s, &logs, &NIGHTS, 3);

    // 0: every night.
    let (api, s) = (fake42(DAY, |_| {}).await, Scratch::new());
    let logs = nights(&s, &api, &NIGHTS[..3], &["--recheck-days", "0"]).await;
    let asked: Vec<usize> = logs
        .iter()
        .map(|night| chart_requests(night, region, Some(id)).len())
        .collect();
    assert_eq!(asked, [1, 1, 1], "{region}/{id} asked per night");
    assert_nights_follow_the_rule(&s, &logs, &NIGHTS[..3], 0);
    for night in &NIGHTS[..3] {
        let report = run_report(&s, night);
        assert!(
            report["regions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] != "known_no_chart"),
            "{night}"
        );
    }
}

/// `check` lists the charts the API did not have apart from problems; a catalogue saying a chart
/// was held that the snapshot lacks is `chart_missing`. `coverage --param category=C` counts a
/// chart's nights without a chart as `no_chart_days`, not missing; a night run without
/// categories is a missing day of a category chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_coverage_tell_no_chart_from_a_missing_snapshot() {
    let never = never_chart();
    let (never_region, never_id) = (never.0.as_str(), never.1);
    // A chart that exists on each of the six nights.
    let later = ["2026-11-29", "2026-11-30"];
    let (held_region, held_id) = THREE_REGIONS
        .iter()
        .flat_map(|r| FIVE_IDS.iter().map(move |c| (*r, *c)))
        .find(|(r, c)| {
            NIGHTS
                .iter()
                .chain(&later)
                .all(|d| oracle_ids(r, *c, d).is_some())
        })
        .expect("a category chart that exists every night");

    let (api, s) = (fake42(DAY, |_| {}).await, Scratch::new());
    nights(&s, &api, &NIGHTS, &["--recheck-days", "3"]).await;
    let model = expected_nights(&NIGHTS, 3);

    // `check`: no problem; the charts the API did not have, each with its nights.
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "", "no problem listed");
    let listing = no_chart_listing(&model);
    assert!(
        listing.contains(&format!("{never_region}/{never_id} (4 night(s))")),
        "{listing}"
    );
    assert!(
        stderr(&out).contains(&listing),
        "{listing}\n{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("the lake and the warehouse agree; no problems"));

    // A catalogue that says a chart was held that the snapshot lacks: `chart_missing`, exit 1.
    let night = NIGHTS[1];
    let bogus = s
        .lake()
        .join(format!("_charts/snapshot_date={night}/test-bogus.json"));
    let catalogue = serde_json::json!({
        "format": 1,
        "snapshot_date": night,
        "run_id": "test-bogus",
        "written_at": format!("{night}T23:00:00Z"),
        "categories": {},
        "charts": [{"region": "KR", "category": 1, "status": "ok"}],
    });
    std::fs::write(&bogus, serde_json::to_vec_pretty(&catalogue).unwrap()).unwrap();
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 1);
    let text = stdout(&out);
    let problems: Vec<&str> = text.lines().collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!("chart_missing {night} KR/1: ")),
        "{problems:?}"
    );
    assert!(stderr(&out).contains("1 problem(s)"), "{}", stderr(&out));
    // JSON lines say the same, by kind.
    let out = s.cmd("check", &["--log-format", "json"]).await;
    assert_exit(&out, 1);
    let problem: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(problem["kind"], "chart_missing");
    assert_eq!(problem["subject"], format!("{night} KR/1"));
    std::fs::remove_file(&bogus).unwrap();
    assert_exit(&s.cmd("check", &[]).await, 0);

    // coverage: the chart that never existed has no missing day, every night a no-chart night.
    let rows = coverage(&s, never_region, &never_id.to_string()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["region"], never_region);
    assert_eq!(
        (
            &r["snapshots"],
            &r["calendar_days"],
            &r["missing_days"],
            &r["no_chart_days"]
        ),
        (&0.into(), &4.into(), &0.into(), &4.into()),
        "{r}"
    );
    assert_eq!(r["no_chart_dates"], serde_json::json!(NIGHTS));
    assert_eq!(r["missing_dates"], serde_json::json!([]));
    assert_eq!(r["gaps"], "");
    assert!(r["first_date"].is_null(), "{r}");
    assert_eq!(
        (&r["checked_from"], &r["checked_to"]),
        (&NIGHTS[0].into(), &NIGHTS[3].into())
    );

    // A night without categories, then one with: the held chart misses that night, and so does
    // the chart that never existed (nobody asked).
    api.set_date(date(later[0]));
    let out = s
        .run(
            &api.base_url(),
            later[0],
            &["--regions", "JP,KR,US", "--track-days", "0"],
        )
        .await;
    assert_exit(&out, 0);
    let _ = nights(&s, &api, &later[1..], &["--recheck-days", "3"]).await;

    let rows = coverage(&s, held_region, &held_id.to_string()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        (
            &r["snapshots"],
            &r["calendar_days"],
            &r["missing_days"],
            &r["no_chart_days"],
            &r["longest_gap_days"]
        ),
        (&5.into(), &6.into(), &1.into(), &0.into(), &1.into()),
        "{held_region}/{held_id}: {r}"
    );
    assert_eq!(r["missing_dates"], serde_json::json!([later[0]]));
    assert_eq!(r["gaps"], later[0]);
    assert_eq!(
        (&r["first_date"], &r["last_date"]),
        (&NIGHTS[0].into(), &later[1].into())
    );

    let rows = coverage(&s, never_region, &never_id.to_string()).await;
    let r = &rows[0];
    assert_eq!(
        (
            &r["snapshots"],
            &r["calendar_days"],
            &r["missing_days"],
            &r["no_chart_days"]
        ),
        (&0.into(), &6.into(), &1.into(), &5.into()),
        "{r}"
    );
    assert_eq!(r["missing_dates"], serde_json::json!([later[0]]));
    assert_eq!(
        r["no_chart_dates"],
        serde_json::json!([NIGHTS[0], NIGHTS[1], NIGHTS[2], NIGHTS[3], later[1]])
    );
    // The region's general chart misses nothing.
    let rows = coverage(&s, held_region, "all").await;
    assert_eq!(
        (&rows[0]["snapshots"], &rows[0]["missing_days"]),
        (&6.into(), &0.into())
    );
    assert_exit(&s.cmd("check", &[]).await, 0);
}

/// Every named query answers for the general chart without `category` and with `category=all`
/// alike, and with `category=10` exactly as it answers on a lake whose general charts are those
/// charts of category 10; `new_entries`, `rank_climbers` and `category_charts` of category 10
/// are the oracle's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn named_queries_answer_for_the_chart_category_names() {
    // Three regions whose chart of 10 exists every night; of 20, JP's does, HK's and TH's never.
    let regions = ["JP", "TH", "HK"];
    for region in regions {
        assert!(NIGHTS.iter().all(|d| oracle_ids(region, 10, d).is_some()));
        let twenty = region == "JP";
        assert!(
            NIGHTS
                .iter()
                .all(|d| oracle_ids(region, 20, d).is_some() == twenty)
        );
    }
    let (api, s) = (fake42(DAY, |_| {}).await, Scratch::new());
    let list = regions.join(",");
    for night in NIGHTS {
        api.set_date(date(night));
        let out = s
            .run(
                &api.base_url(),
                night,
                &[
                    "--regions",
                    &list,
                    "--categories",
                    "10,20",
                    "--track-days",
                    "0",
                ],
            )
            .await;
        assert_exit(&out, 0);
    }

    // The second lake: each region's chart of 10 stored as its general chart.
    let s2 = Scratch::new();
    let lake2 = trendlake::lake::Lake::open(&s2.lake().display().to_string()).unwrap();
    for night in NIGHTS {
        let bytes = bytes::Bytes::from(std::fs::read(s.snapshot_file(night)).unwrap());
        let decoded = trendlake::lake::codec::decode_snapshot(bytes).unwrap();
        let mut batches = BTreeMap::new();
        for (key, batch) in decoded.regions {
            if let Some((region, "10")) = key.split_once('/') {
                batches.insert(region.to_string(), as_general_chart(&batch));
            }
        }
        assert_eq!(batches.len(), 3, "{night}");
        trendlake::commit::commit(
            &lake2,
            date(night),
            trendlake::commit::unsourced(batches),
            "test",
        )
        .await
        .unwrap();
    }
    assert_exit(&s2.cmd("merge", &[]).await, 0);

    // A video on the first region's chart of 10 on the last night, on its general chart too if
    // one is.
    let last = NIGHTS[3];
    let music = oracle_ids(regions[0], 10, last).unwrap();
    let general: BTreeSet<String> = oracle_ids(regions[0], 0, last)
        .unwrap()
        .into_iter()
        .collect();
    let video = music
        .iter()
        .find(|v| general.contains(*v))
        .unwrap_or(&music[0])
        .clone();

    let (wh1, wh2) = (s.warehouse(), s2.warehouse());
    let mut differ = Vec::new();
    for q in trendlake::queries::NAMED_QUERIES {
        let params = q.params().unwrap();
        let category = params
            .iter()
            .find(|p| p.name == "category")
            .unwrap_or_else(|| panic!("{} takes no category", q.name));
        let base: Vec<String> = params
            .iter()
            .filter(|p| p.required())
            .map(|p| match p.name {
                "video" => format!("video={video}"),
                other => panic!("{}: no value for required {other}", q.name),
            })
            .collect();
        let with = |extra: &str| {
            let mut p = base.clone();
            p.push(extra.to_string());
            p
        };
        let (with_all, with_ten) = (with("category=all"), with("category=10"));
        let (plain, all, ten, general_of_two) = futures::join!(
            named(&wh1, q.name, &base),
            named(&wh1, q.name, &with_all),
            named(&wh1, q.name, &with_ten),
            named(&wh2, q.name, &base),
        );
        if category.default.starts_with("all") {
            // A query of one chart a region.
            assert_eq!(
                plain, all,
                "{}: without category and with category=all",
                q.name
            );
            assert_eq!(
                ten, general_of_two,
                "{}: category=10, and the same charts as general charts",
                q.name
            );
            if ten != plain {
                differ.push(q.name);
            }
        } else {
            // A query of the category charts (every one by default): `category` keeps one.
            let every: Vec<serde_json::Value> = serde_json::from_str(&plain).unwrap();
            let kept: Vec<serde_json::Value> = every
                .into_iter()
                .filter(|row| row["category_id"] == 10)
                .collect();
            assert!(!kept.is_empty(), "{}: {plain}", q.name);
            let got: Vec<serde_json::Value> = serde_json::from_str(&ten).unwrap();
            assert_eq!(got, kept, "{}: category=10", q.name);
            assert_eq!(
                all.trim(),
                "[]",
                "{}: the general chart is no category chart",
                q.name
            );
            assert_eq!(general_of_two.trim(), "[]", "{}: no category chart", q.name);
        }
    }
    // The queries that list videos answer differently for the chart of 10.
    for name in [
        "new_entries",
        "rank_climbers",
        "top_movers",
        "dropouts",
        "video_history",
    ] {
        assert!(differ.contains(&name), "{name}: {differ:?}");
    }

    // Against the oracle: new entries and climbers of the first region's chart of 10.
    let region = regions[0];
    let (today, yesterday) = (
        oracle_ids(region, 10, last).unwrap(),
        oracle_ids(region, 10, NIGHTS[2]).unwrap(),
    );
    let earlier: BTreeMap<String, &str> = NIGHTS[..2]
        .iter()
        .flat_map(|d| {
            oracle_ids(region, 10, d)
                .unwrap()
                .into_iter()
                .map(move |v| (v, *d))
        })
        .collect();
    let rank_of = |ids: &[String], v: &str| ids.iter().position(|x| x == v).map(|p| p as i64 + 1);
    let entries: Vec<serde_json::Value> = today
        .iter()
        .filter(|v| rank_of(&yesterday, v).is_none())
        .map(|v| {
            // The latest earlier stay (nights are in order, so the map keeps the last).
            let before = earlier.get(v);
            serde_json::json!({
                "rank": rank_of(&today, v),
                "video_id": v,
                "previous_date": NIGHTS[2],
                "days_since_previous": 1,
                "reentry": before.is_some(),
                "last_seen_before": before,
            })
        })
        .collect();
    assert!(!entries.is_empty());
    let got = named(
        &wh1,
        "new_entries",
        &[
            format!("region={region}"),
            "category=10".into(),
            "limit=500".into(),
        ],
    )
    .await;
    let got: Vec<serde_json::Value> = serde_json::from_str(&got).unwrap();
    let picked: Vec<serde_json::Value> = got
        .iter()
        .map(|r| {
            assert_eq!(
                (&r["snapshot_date"], &r["region"]),
                (&last.into(), &region.into())
            );
            assert_eq!(r["region_new_entries"], entries.len());
            pick(
                r,
                &[
                    "rank",
                    "video_id",
                    "previous_date",
                    "days_since_previous",
                    "reentry",
                    "last_seen_before",
                ],
            )
        })
        .collect();
    assert_eq!(picked, entries, "new_entries of {region}/10 on {last}");

    let mut climbs: Vec<(i64, i64, i64, String)> = today
        .iter()
        .filter_map(|v| {
            let (now, before) = (rank_of(&today, v)?, rank_of(&yesterday, v)?);
            (before > now).then(|| (before - now, now, before, v.clone()))
        })
        .collect();
    climbs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.3.cmp(&b.3)));
    assert!(!climbs.is_empty());
    let want: Vec<serde_json::Value> = climbs
        .iter()
        .enumerate()
        .map(|(i, (climb, rank, previous, v))| {
            serde_json::json!({"climber": i + 1, "video_id": v, "rank": rank,
                "previous_rank": previous, "climb": climb, "previous_date": NIGHTS[2],
                "days_since_previous": 1})
        })
        .collect();
    let got = named(
        &wh1,
        "rank_climbers",
        &[
            format!("region={region}"),
            "category=10".into(),
            "limit=500".into(),
        ],
    )
    .await;
    let got: Vec<serde_json::Value> = serde_json::from_str(&got).unwrap();
    let got: Vec<serde_json::Value> = got
        .iter()
        .map(|r| {
            pick(
                r,
                &[
                    "climber",
                    "video_id",
                    "rank",
                    "previous_rank",
                    "climb",
                    "previous_date",
                    "days_since_previous",
                ],
            )
        })
        .collect();
    assert_eq!(got, want, "rank_climbers of {region}/10 on {last}");

    // category_charts: every chart of 10 and 20, as the oracle and the recheck rule have them
    // (the default --recheck-days 7: a chart missing on the first night is not asked again).
    let got = named(&wh1, "category_charts", &[]).await;
    let got: Vec<serde_json::Value> = serde_json::from_str(&got).unwrap();
    let mut want = Vec::new();
    let mut shares = Vec::new();
    let mut sorted = regions;
    sorted.sort();
    for region in &sorted {
        let titles = categories(region, None).unwrap();
        for id in [10u32, 20] {
            let fates = chart_fates(region, id, &NIGHTS, 7);
            let held: Vec<&str> = NIGHTS
                .iter()
                .zip(&fates)
                .filter(|(_, f)| matches!(f, Fate::Held(_)))
                .map(|(d, _)| *d)
                .collect();
            let answered: Vec<&str> = NIGHTS
                .iter()
                .zip(&fates)
                .filter(|(_, f)| matches!(f, Fate::Held(_) | Fate::NoChart))
                .map(|(d, _)| *d)
                .collect();
            let no_chart_nights = fates
                .iter()
                .filter(|f| matches!(f, Fate::NoChart | Fate::Known(_)))
                .count();
            let (status, entries, on_general, share) = match &fates[3] {
                Fate::Held(ids) => {
                    let general: BTreeSet<String> =
                        oracle_ids(region, 0, last).unwrap().into_iter().collect();
                    let on = ids.iter().filter(|v| general.contains(*v)).count();
                    let share = (on as f64 / ids.len() as f64 * 10_000.0).round() / 10_000.0;
                    ("held", ids.len(), on, Some(share))
                }
                Fate::NoChart | Fate::Known(_) => ("no_chart", 0, 0, None),
            };
            let title = titles
                .iter()
                .find(|c| c.id == id.to_string())
                .unwrap()
                .snippet
                .as_ref()
                .unwrap()
                .title
                .clone();
            want.push(serde_json::json!({
                "region": region, "category_id": id, "title": title, "status": status,
                "first_held": held.first(), "last_held": held.last(), "snapshots": held.len(),
                "no_chart_nights": no_chart_nights, "last_asked": answered.last(),
                "entries": entries, "on_general_chart": on_general,
            }));
            shares.push(share);
        }
    }
    // The share apart: a double, compared as one.
    let got_shares: Vec<Option<f64>> = got.iter().map(|r| r["overlap_share"].as_f64()).collect();
    assert_eq!(got_shares, shares);
    let got: Vec<serde_json::Value> = got
        .into_iter()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("overlap_share");
            r
        })
        .collect();
    assert_eq!(got, want);
    // Both kinds are there: a chart held, and one the API does not have.
    assert!(
        got.iter()
            .any(|r| r["status"] == "held" && r["on_general_chart"] != 0)
    );
    assert!(got.iter().any(|r| r["status"] == "no_chart"));
}

/// `--quota-budget` that covers the listings, the general charts and one category chart: the
/// others are left out before any request (`failed`, `budget_exhausted`, no page), exit 3, and
/// the fake never saw a request for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_budget_leaves_the_last_category_charts_out() {
    let api = fake42(DAY, |_| {}).await;
    let s = Scratch::new();
    // 2 listings + 2 general charts at 4 + one chart at 4 = 14; the other three do not fit.
    let out = s
        .run(
            &api.base_url(),
            DAY,
            &[
                "--regions",
                "JP,US",
                "--categories",
                "10,20",
                "--quota-budget",
                "14",
                "--track-days",
                "0",
            ],
        )
        .await;
    assert_exit(&out, 3);
    let log = api.log();
    let first = oracle_ids("JP", 10, DAY);
    let first_units = first.as_ref().map_or(1, |ids| pages_of(ids.len()));
    assert_eq!(log.len(), 2 + 8 + first_units);
    assert_eq!(api.requests(), log.len() as u64);
    for (region, id) in [("JP", 20), ("US", 10), ("US", 20)] {
        assert!(
            chart_requests(&log, region, Some(id)).is_empty(),
            "{region}/{id} was asked"
        );
    }
    let report = run_report(&s, DAY);
    assert_eq!(report["outcome"], "partial");
    assert_eq!(report["exit_code"], 3);
    assert_eq!(report["quota_units"], log.len());
    let keys: Vec<String> = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(chart_key)
        .collect();
    assert_eq!(keys, ["JP", "US", "JP/10", "JP/20", "US/10", "US/20"]);
    let entry = chart_entry(&report, "JP", 10);
    match &first {
        Some(ids) => {
            assert_eq!(
                (&entry["status"], &entry["rows"]),
                (&"ok".into(), &ids.len().into())
            );
        }
        None => assert_eq!(entry["status"], "no_chart"),
    }
    assert_eq!(entry["quota_units"], first_units);
    for (region, id) in [("JP", 20), ("US", 10), ("US", 20)] {
        let entry = chart_entry(&report, region, id);
        assert_eq!(entry["status"], "failed", "{entry}");
        assert_eq!(
            (&entry["requests"], &entry["quota_units"]),
            (&0.into(), &0.into())
        );
        let error = &entry["error"];
        assert_eq!(error["kind"], "budget_exhausted", "{entry}");
        assert!(error.get("page").is_none(), "{entry}");
        assert_eq!(
            error["message"],
            "left out: --quota-budget 14 covers 3 of 6 charts at 4 units each"
        );
    }
    let err = stderr(&out);
    assert!(
        err.contains("failed: JP/20 not fetched: quota budget (left out: --quota-budget 14 covers 3 of 6 charts at 4 units each;"),
        "{err}"
    );
    // The left-out charts are failures in the catalogue (asked again the next night), not
    // charts the API does not have.
    let (_, catalogue) = catalogue_of(&s, DAY);
    let statuses: Vec<(String, u64, String)> = catalogue["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["region"].as_str().unwrap().to_string(),
                c["category"].as_u64().unwrap(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let jp10 = if first.is_some() { "ok" } else { "no_chart" };
    assert_eq!(
        statuses,
        [
            ("JP".to_string(), 10, jp10.to_string()),
            ("JP".into(), 20, "failed".into()),
            ("US".into(), 10, "failed".into()),
            ("US".into(), 20, "failed".into()),
        ]
    );
    // The file holds the general charts and the one category chart fetched.
    let file = charts_in_file(&s.snapshot_file(DAY));
    let mut want = vec!["JP".to_string(), "US".into()];
    if first.is_some() {
        want.push("JP/10".into());
    }
    want.sort();
    assert_eq!(file.keys().cloned().collect::<Vec<_>>(), want);
}

// ---------------------------------------------------------------------------------------------
// Helpers of the tests above.

async fn fake42(day: &str, tweak: impl FnOnce(&mut trendlake_fake_api::FakeConfig)) -> FakeApi {
    fake(date(day), |c| {
        c.seed = SEED42;
        tweak(c)
    })
    .await
}

/// The ids of `region`'s chart of `category` (0: the general chart) on `day`, in rank order, as
/// the fake's oracle has it; `None` when the API has no such chart that day.
fn oracle_ids(region: &str, category: u32, day: &str) -> Option<Vec<String>> {
    let videos = match category {
        0 => trendlake_fake_api::chart(SEED42, region, date(day)),
        c => category_chart(SEED42, region, c, date(day))?,
    };
    Some(videos.into_iter().map(|v| v.id).collect())
}

/// Requests a chart of `items` costs: pages of 50.
fn pages_of(items: usize) -> usize {
    items.div_ceil(50)
}

/// A chart of [`FIVE_IDS`] in [`THREE_REGIONS`] the API can never have (the oracle's
/// `category_chart_exists` says no).
fn never_chart() -> (String, u32) {
    THREE_REGIONS
        .iter()
        .flat_map(|r| FIVE_IDS.iter().map(move |c| (r.to_string(), *c)))
        .find(|(r, c)| !category_chart_exists(SEED42, r, *c))
        .expect("a category chart the API never has")
}

/// One row of a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    rank: i32,
    video_id: String,
    chart_category: String,
    category_id: Option<i32>,
}

/// Each chart of a snapshot file by key (`JP`, `JP/10`), read row group by row group: a row
/// group holds one chart, and no chart spans two.
fn charts_in_file(path: &Path) -> BTreeMap<String, Vec<Row>> {
    let (meta, rows) = read_parquet(path);
    let region = rows.column_by_name("region").unwrap().as_string::<i32>();
    let category = rows
        .column_by_name("chart_category")
        .unwrap()
        .as_string::<i32>();
    let rank = rows
        .column_by_name("rank")
        .unwrap()
        .as_primitive::<Int32Type>();
    let id = rows.column_by_name("video_id").unwrap().as_string::<i32>();
    let category_id = rows
        .column_by_name("category_id")
        .unwrap()
        .as_primitive::<Int32Type>();
    let mut out = BTreeMap::new();
    let mut at = 0;
    for group in meta.row_groups() {
        let n = group.num_rows() as usize;
        let key = trendlake::chart::key(region.value(at), category.value(at));
        let chart: Vec<Row> = (at..at + n)
            .map(|i| {
                assert_eq!(
                    trendlake::chart::key(region.value(i), category.value(i)),
                    key,
                    "a row group holds one chart"
                );
                Row {
                    rank: rank.value(i),
                    video_id: id.value(i).to_string(),
                    chart_category: category.value(i).to_string(),
                    category_id: category_id.is_valid(i).then(|| category_id.value(i)),
                }
            })
            .collect();
        assert!(
            out.insert(key.clone(), chart).is_none(),
            "{key} in two row groups"
        );
        at += n;
    }
    assert_eq!(at, rows.num_rows());
    out
}

/// The key of a run report's chart entry.
fn chart_key(entry: &serde_json::Value) -> String {
    trendlake::chart::key(
        entry["region"].as_str().unwrap(),
        entry["category"].as_str().unwrap(),
    )
}

/// The run report's entry of `region`'s chart of `category`.
fn chart_entry(report: &serde_json::Value, region: &str, category: u32) -> serde_json::Value {
    let key = format!("{region}/{category}");
    report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| chart_key(c) == key)
        .unwrap_or_else(|| panic!("no {key} in the run report"))
        .clone()
}

/// The fake's `videos.list` chart requests of `region`'s chart of `category` (`None`: the
/// general chart, asked without `videoCategoryId`).
fn chart_requests<'a>(
    log: &'a [LoggedRequest],
    region: &str,
    category: Option<u32>,
) -> Vec<&'a LoggedRequest> {
    let category = category.map(|c| c.to_string());
    log.iter()
        .filter(|r| r.path == "/youtube/v3/videos" && r.region == region && r.category == category)
        .collect()
}

/// The one chart catalogue of `day`: its path relative to the lake, and what it says.
fn catalogue_of(s: &Scratch, day: &str) -> (PathBuf, serde_json::Value) {
    let dir = s.lake().join(format!("_charts/snapshot_date={day}"));
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let json = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let relative = files[0].strip_prefix(s.lake()).unwrap().to_path_buf();
    (relative, json)
}

/// Run each of `days` in order over [`THREE_REGIONS`] with [`FIVE`] and `extra`, the fake serving
/// that day; each night's requests as the fake logged them.
async fn nights(
    s: &Scratch,
    api: &FakeApi,
    days: &[&str],
    extra: &[&str],
) -> Vec<Vec<LoggedRequest>> {
    let mut out = Vec::new();
    for day in days {
        api.set_date(date(day));
        let before = api.log().len();
        let mut args = vec![
            "--regions",
            "JP,KR,US",
            "--categories",
            FIVE,
            "--track-days",
            "0",
        ];
        args.extend(extra);
        let run = s.run(&api.base_url(), day, &args).await;
        assert_exit(&run, 0);
        out.push(api.log()[before..].to_vec());
    }
    out
}

/// What became of a category chart on a night, by the oracle and the recheck rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// Asked, and the API had it: these ids.
    Held(Vec<String>),
    /// Asked, and the API had none.
    NoChart,
    /// Not asked: the API had none on this night, less than `--recheck-days` ago.
    Known(String),
}

/// The fate of `region`'s chart of `category` on each of `days` (consecutive), by the rule of
/// docs/operations.md: a chart the API did not have is asked again once `recheck` nights have
/// passed since it said so (0: every night).
fn chart_fates(region: &str, category: u32, days: &[&str], recheck: i64) -> Vec<Fate> {
    let mut last_missing: Option<&str> = None;
    days.iter()
        .map(|day| {
            if let Some(asked) = last_missing
                && (date(day) - date(asked)).num_days() < recheck
            {
                return Fate::Known(asked.to_string());
            }
            match oracle_ids(region, category, day) {
                Some(ids) => {
                    last_missing = None;
                    Fate::Held(ids)
                }
                None => {
                    last_missing = Some(day);
                    Fate::NoChart
                }
            }
        })
        .collect()
}

/// [`chart_fates`] of every chart of [`THREE_REGIONS`] and [`FIVE_IDS`].
fn expected_nights(days: &[&str], recheck: i64) -> BTreeMap<(String, u32), Vec<Fate>> {
    THREE_REGIONS
        .iter()
        .flat_map(|r| FIVE_IDS.iter().map(move |c| (r.to_string(), *c)))
        .map(|(r, c)| {
            let fates = chart_fates(&r, c, days, recheck);
            ((r, c), fates)
        })
        .collect()
}

/// Each night's requests, run report and catalogue are as [`chart_fates`] says, chart by chart.
fn assert_nights_follow_the_rule(
    s: &Scratch,
    logs: &[Vec<LoggedRequest>],
    days: &[&str],
    recheck: i64,
) {
    let model = expected_nights(days, recheck);
    let mut kinds = BTreeSet::new();
    for (i, (day, log)) in days.iter().zip(logs).enumerate() {
        let report = run_report(s, day);
        let (_, catalogue) = catalogue_of(s, day);
        let mut units = THREE_REGIONS.len() * (1 + 4);
        for ((region, id), fates) in &model {
            let what = format!("{day} {region}/{id}");
            let asked = chart_requests(log, region, Some(*id));
            let entry = chart_entry(&report, region, *id);
            let said = catalogue["charts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["region"] == region.as_str() && c["category"] == *id)
                .unwrap_or_else(|| panic!("{what}: not in the catalogue"))
                .clone();
            match &fates[i] {
                Fate::Held(ids) => {
                    kinds.insert("held");
                    assert_eq!(asked.len(), pages_of(ids.len()), "{what}");
                    assert_eq!(
                        (&entry["status"], &said["status"]),
                        (&"ok".into(), &"ok".into()),
                        "{what}"
                    );
                    assert_eq!(entry["rows"], ids.len(), "{what}");
                    units += asked.len();
                }
                Fate::NoChart => {
                    kinds.insert("no_chart");
                    assert_eq!(asked.len(), 1, "{what}");
                    assert_eq!(asked[0].status, 400, "{what}");
                    assert_eq!(
                        (&entry["status"], &said["status"]),
                        (&"no_chart".into(), &"no_chart".into()),
                        "{what}"
                    );
                    units += 1;
                }
                Fate::Known(night) => {
                    kinds.insert("known");
                    assert!(asked.is_empty(), "{what}: asked");
                    assert_eq!(
                        (&entry["status"], &said["status"]),
                        (&"known_no_chart".into(), &"known_no_chart".into()),
                        "{what}"
                    );
                    assert_eq!(
                        (&entry["last_asked"], &said["last_asked"]),
                        (&night.as_str().into(), &night.as_str().into()),
                        "{what}"
                    );
                }
            }
        }
        assert_eq!(log.len(), units, "{day}: requests");
        assert_eq!(report["quota_units"], units, "{day}");
    }
    let want: &[&str] = if recheck > 1 {
        &["held", "known", "no_chart"]
    } else {
        &["held", "no_chart"]
    };
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), want);
}

/// The line `check` prints of the charts the API did not have, by the model.
fn no_chart_listing(model: &BTreeMap<(String, u32), Vec<Fate>>) -> String {
    let charts: BTreeMap<String, usize> = model
        .iter()
        .map(|((r, c), fates)| {
            let nights = fates.iter().filter(|f| !matches!(f, Fate::Held(_))).count();
            (format!("{r}/{c}"), nights)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let listed: Vec<String> = charts
        .iter()
        .map(|(chart, n)| format!("{chart} ({n} night(s))"))
        .collect();
    format!(
        "category charts the API did not have (not missing snapshots, not a problem): {}",
        listed.join(", ")
    )
}

/// `query --name coverage` of `region`'s chart of `category`, as JSON rows.
async fn coverage(s: &Scratch, region: &str, category: &str) -> Vec<serde_json::Value> {
    let text = named(
        &s.warehouse(),
        "coverage",
        &[format!("region={region}"), format!("category={category}")],
    )
    .await;
    serde_json::from_str(&text).unwrap()
}

/// `trendlake query --name NAME --format json` with `params` (`K=V`): its stdout, exit 0.
async fn named(warehouse: &Path, name: &str, params: &[String]) -> String {
    let mut args = vec![
        "query".to_string(),
        "--warehouse".into(),
        warehouse.display().to_string(),
        "--name".into(),
        name.into(),
        "--format".into(),
        "json".into(),
    ];
    for p in params {
        args.push("--param".into());
        args.push(p.clone());
    }
    let out = trendlake(args).await;
    assert_exit(&out, 0);
    stdout(&out)
}

/// `batch` with its `chart_category` column set to `all`: the chart stored as the general chart.
fn as_general_chart(batch: &RecordBatch) -> RecordBatch {
    let index = batch.schema().index_of("chart_category").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(StringArray::from(vec!["all"; batch.num_rows()]));
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// The fields `names` of a JSON row.
fn pick(row: &serde_json::Value, names: &[&str]) -> serde_json::Value {
    serde_json::Value::Object(
        names
            .iter()
            .map(|n| (n.to_string(), row[*n].clone()))
            .collect(),
    )
}

/// Only a category chart's first page can say the API has no such chart: one that fetched its
/// first page and is refused on its second went away while it was paged, a failure (exit 3, its
/// error on page 2), never `no_chart`, and the catalogue says `failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_category_chart_refused_after_its_first_page_is_a_failure() {
    let plan = r#"{"faults": [{"region": "JP", "category": "10", "page": 2, "kind": "chart_not_found_400"}]}"#;
    let faults = trendlake_fake_api::parse_faults(plan).unwrap();
    let api = fake42(DAY, |c| c.faults = faults).await;
    // JP's Music chart is longer than one page, so its second page is asked.
    assert!(oracle_ids("JP", 10, DAY).unwrap().len() > 50);
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            DAY,
            &["--regions", "JP", "--categories", "10", "--track-days", "0"],
        )
        .await;
    assert_exit(&out, 3);
    let report = run_report(&s, DAY);
    let entry = chart_entry(&report, "JP", 10);
    assert_eq!(entry["status"], "failed");
    assert_eq!(entry["error"]["page"], 2);
    assert_eq!(entry["error"]["kind"], "chart_not_found");
    let catalogue = std::fs::read_dir(s.lake().join(format!("_charts/snapshot_date={DAY}")))
        .unwrap()
        .map(|e| {
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(e.unwrap().path()).unwrap())
                .unwrap()
        })
        .next()
        .unwrap();
    assert_eq!(
        catalogue["charts"],
        serde_json::json!([{"region": "JP", "category": 10, "status": "failed"}])
    );
}
