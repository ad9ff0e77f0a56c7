//! Every fault of the API's error catalogue, injected by the fake, meets the right
//! response — transient ones are retried to a complete chart, permanent ones are reported with
//! exit 1 or 3 and leave earlier snapshots byte-identical — and the key never leaks.

use std::process::Output;
use std::time::Duration;

use trendlake_fake_api::{FakeApi, parse_faults};

use crate::pipeline::run_report;
use crate::support::*;

const DAY: &str = "2026-11-20";
/// Quick retries so the suite stays fast; the policy is the same as in production.
const FAST_RETRY: [&str; 4] = ["--retry-min-delay-ms", "50", "--timeout-secs", "1"];

async fn faulty(plan: &str) -> FakeApi {
    let faults = parse_faults(plan).expect("fault plan parses");
    fake(date(DAY), |c| c.faults = faults).await
}

async fn run_with(s: &Scratch, api: &FakeApi, regions: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--regions", regions];
    args.extend(FAST_RETRY);
    args.extend(extra);
    s.run(&api.base_url(), DAY, &args).await
}

#[track_caller]
fn assert_complete(s: &Scratch, regions: &[&str]) {
    assert_complete_snapshot(&s.snapshot_file(DAY), regions);
}

async fn transient(kind: &str, extra_fields: &str) {
    let plan = format!(
        r#"{{"faults": [{{"region": "JP", "page": 2, "times": 2, "kind": "{kind}"{extra_fields}}},
                        {{"region": "US", "page": 1, "times": 1, "kind": "{kind}"{extra_fields}}}]}}"#
    );
    let api = faulty(&plan).await;
    let s = Scratch::new();
    let out = run_with(&s, &api, "JP,KR,US", &[]).await;
    assert_exit(&out, 0);
    assert_complete(&s, &["JP", "KR", "US"]);
    let log = api.log();
    let faulted = log
        .iter()
        .filter(|r| r.fault.as_deref() == Some(kind))
        .count();
    assert_eq!(faulted, 3, "{kind}: every planned fault fired");
    // 12 pages + 3 retries.
    assert_eq!(log.len(), 15, "{kind}: one retry per fault, no more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_is_retried() {
    transient("rate_limit_429", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_403_is_retried() {
    transient("rate_limit_403", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_rate_limit_403_is_retried() {
    transient("user_rate_limit_403", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_500_is_retried() {
    transient("backend_500", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_503_is_retried() {
    transient("backend_503", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_500_with_null_message_is_retried() {
    transient("backend_500_null_message", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_past_the_timeout_is_retried() {
    transient("hang", r#", "hang_ms": 4000"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_mid_body_is_retried() {
    transient("reset", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_body_is_retried() {
    transient("truncated", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_with_an_http_date_retry_after_is_retried() {
    transient("rate_limit_403", r#", "retry_after_http_date_in": 1"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_2_makes_the_client_wait_2_seconds() {
    let api = faulty(r#"{"faults": [{"region": "JP", "page": 3, "kind": "rate_limit_429", "retry_after": "2"}]}"#).await;
    let s = Scratch::new();
    assert_exit(&run_with(&s, &api, "JP", &[]).await, 0);
    assert_complete(&s, &["JP"]);
    let page3: Vec<_> = api.log().into_iter().filter(|r| r.page == 3).collect();
    assert_eq!(page3.len(), 2);
    let waited = page3[1].at - page3[0].at;
    assert!(
        waited >= Duration::from_secs(2),
        "waited only {waited:?} on the fake's clock"
    );
    // Loose on purpose (a gap on the fake's clock, not a timing guess): it catches a Retry-After
    // misread as minutes or a 30 s backoff, without flaking on a loaded machine.
    assert!(
        waited < Duration::from_secs(10),
        "waited {waited:?}: Retry-After, not a long backoff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_0_cannot_make_a_tight_loop() {
    // JP's first page is rate-limited forever with Retry-After: 0.
    let api = faulty(r#"{"faults": [{"region": "JP", "page": 1, "times": 0, "kind": "rate_limit_429", "retry_after": "0"}]}"#).await;
    let s = Scratch::new();
    let out = run_with(&s, &api, "JP,KR", &["--max-attempts", "4"]).await;
    assert_exit(&out, 3);
    let jp: Vec<_> = api.log().into_iter().filter(|r| r.region == "JP").collect();
    assert_eq!(jp.len(), 4, "bounded by --max-attempts");
    for pair in jp.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(450),
            "Retry-After: 0 waited only {gap:?}"
        );
    }
    assert!(
        stderr(&out).contains("JP page 1 (rateLimitExceeded"),
        "{}",
        stderr(&out)
    );
    assert_complete(&s, &["KR"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_budget_bounds_slow_successes_too() {
    // Page 2 answers, correctly, after 4 s: within the 10 s request timeout, past the budget.
    let api =
        faulty(r#"{"faults": [{"region": "JP", "page": 2, "kind": "hang", "hang_ms": 4000}]}"#)
            .await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            DAY,
            &[
                "--regions",
                "JP",
                "--timeout-secs",
                "10",
                "--region-budget-secs",
                "2",
            ],
        )
        .await;
    assert_exit(&out, 1);
    // Had the slow page been waited for, pages 3 and 4 would have followed it.
    let pages: Vec<usize> = api.log().iter().map(|r| r.page).collect();
    assert_eq!(pages, [1, 2], "the region gave up during the slow page");
    assert!(
        stderr(&out).contains("longer than its budget of 2 s"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_by_total_time_per_region() {
    let api = faulty(r#"{"faults": [{"region": "JP", "page": 1, "times": 0, "kind": "backend_503", "retry_after": "3"}]}"#).await;
    let s = Scratch::new();
    let out = run_with(&s, &api, "JP", &["--region-budget-secs", "2"]).await;
    assert_exit(&out, 1);
    // One attempt: waiting 3 s would break the 2 s budget, so the region gives up at once.
    assert_eq!(api.log().len(), 1);
    assert!(
        stderr(&out).contains("JP page 1 (backendError"),
        "{}",
        stderr(&out)
    );
}

/// A permanent fault: not retried, reported with what to do; alone it exits 1 and leaves the
/// lake and warehouse byte-identical; beside a good region it exits 3 and the faulty region keeps
/// its earlier rows exactly.
async fn permanent(kind: &str, page: usize, expect_in_stderr: &[&str]) {
    let s = Scratch::new();
    let good = fake(date(DAY), |_| {}).await;
    assert_exit(
        &s.run(&good.base_url(), DAY, &["--regions", "JP,KR"]).await,
        0,
    );
    let before = tree(&s.lake().join("videos"));
    let warehouse_before = std::fs::read(s.warehouse()).unwrap();
    let jp_before = assert_complete_snapshot(&s.snapshot_file(DAY), &["JP", "KR"]).slice(0, 200);

    let api = faulty(&format!(
        r#"{{"faults": [{{"region": "JP", "page": {page}, "times": 0, "kind": "{kind}"}}]}}"#
    ))
    .await;
    let out = run_with(&s, &api, "JP", &[]).await;
    assert_exit(&out, 1);
    let err = stderr(&out);
    for needle in expect_in_stderr {
        assert!(err.contains(needle), "{kind}: {needle:?} not in {err}");
    }
    assert_eq!(
        tree(&s.lake().join("videos")),
        before,
        "{kind}: the earlier snapshot is byte-identical"
    );
    assert_eq!(
        std::fs::read(s.warehouse()).unwrap(),
        warehouse_before,
        "{kind}: warehouse untouched"
    );
    // Not retried: one request at the failing page (two for a page token: one restart).
    let failing = api.log().iter().filter(|r| r.fault.is_some()).count();
    // A rejected page token and a chart cut short restart the region once; nothing else repeats.
    let per_run = match kind {
        "invalid_page_token" | "empty_page" => 2,
        // A page shifted back one item hands out a token that lands on the same page number
        // again (offset 99 at 50 a page is page 2), so each pass meets the fault twice.
        "shift" => 4,
        _ => 1,
    };
    assert_eq!(failing, per_run, "{kind}: permanent faults are not retried");

    // quotaExceeded stops the whole run, so KR fails too (exit 1); any other fault is JP's alone.
    // One request at a time, JP first: with KR in parallel, KR could finish all its pages
    // before JP's page 2 is answered quotaExceeded, and the run would be partial.
    let out = run_with(&s, &api, "JP,KR", &["--concurrency", "1"]).await;
    assert_exit(&out, if kind == "quota_exceeded" { 1 } else { 3 });
    let rows = assert_complete_snapshot(&s.snapshot_file(DAY), &["JP", "KR"]);
    assert_eq!(
        rows.slice(0, 200),
        jp_before,
        "{kind}: JP keeps its earlier rows exactly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_cut_short_never_replaces_a_complete_one() {
    permanent(
        "empty_page",
        3,
        &["ended after 100 of 200 items", "keeps its earlier data"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_cut_short_once_is_fetched_again() {
    let api = faulty(r#"{"faults": [{"region": "JP", "page": 2, "kind": "empty_page"}]}"#).await;
    let s = Scratch::new();
    assert_exit(&run_with(&s, &api, "JP", &[]).await, 0);
    assert_complete(&s, &["JP"]);
    let pages: Vec<usize> = api.log().iter().map(|r| r.page).collect();
    assert_eq!(
        pages,
        vec![1, 2, 1, 2, 3, 4],
        "started over from page 1 once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_that_moved_while_paging_is_fetched_again() {
    // Page 3 starts one item early once: an id repeats and one is missed; the region restarts.
    let api = faulty(r#"{"faults": [{"region": "JP", "page": 3, "kind": "shift"}]}"#).await;
    let s = Scratch::new();
    assert_exit(&run_with(&s, &api, "JP", &[]).await, 0);
    assert_complete(&s, &["JP"]);
    let pages: Vec<usize> = api.log().iter().map(|r| r.page).collect();
    // The shifted page's next token continues from where that page ended (offset 149, still
    // page 3 at 50 a page); then the region starts over from page 1, once.
    assert_eq!(pages, vec![1, 2, 3, 3, 1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_that_keeps_moving_never_replaces_a_complete_one() {
    permanent(
        "shift",
        2,
        &["the chart moved while paging", "distinct of 200 items"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_chart_never_replaces_a_complete_one() {
    permanent("empty_page", 1, &["ended after 0 of 200 items"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_is_reported_with_the_reset_time() {
    permanent(
        "quota_exceeded",
        2,
        &[
            "quotaExceeded",
            "midnight Pacific time (in ",
            "--only-missing",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_names_the_variable() {
    permanent("bad_key", 1, &["API key not valid", "YOUTUBE_API_KEY"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_region_is_reported() {
    permanent(
        "invalid_region",
        1,
        &["invalidRegionCode", "remove it from --regions"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_not_found_400_is_reported() {
    permanent(
        "chart_not_found_400",
        1,
        &["videoChartNotFound", "no trending chart"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_not_found_404_is_reported() {
    permanent("chart_not_found_404", 1, &["notFound", "no trending chart"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_from_a_proxy_is_reported() {
    permanent("html", 1, &["HTML page", "captive portal"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_token_rejected_twice_fails_the_region() {
    permanent("invalid_page_token", 2, &["invalidPageToken"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_page_token_restarts_the_region_once() {
    let api =
        faulty(r#"{"faults": [{"region": "JP", "page": 3, "kind": "invalid_page_token"}]}"#).await;
    let s = Scratch::new();
    assert_exit(&run_with(&s, &api, "JP", &[]).await, 0);
    assert_complete(&s, &["JP"]);
    let pages: Vec<usize> = api.log().iter().map(|r| r.page).collect();
    assert_eq!(
        pages,
        vec![1, 2, 3, 1, 2, 3, 4],
        "started over from page 1 once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_stops_every_further_request_and_only_missing_finishes_later() {
    // One request in flight at a time, and the 5th call is answered quotaExceeded.
    let api =
        faulty(r#"{"faults": [{"region": "*", "page": 2, "times": 1, "kind": "quota_exceeded"}]}"#)
            .await;
    let s = Scratch::new();
    let out = run_with(&s, &api, "JP,KR,US", &["--concurrency", "1"]).await;
    let log = api.log();
    let at = log
        .iter()
        .position(|r| r.fault.is_some())
        .expect("quota fault fired");
    assert_eq!(log.len(), at + 1, "no request after quotaExceeded: {log:?}");
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("0/3 regions ok"), "{err}");
    assert!(!s.snapshot_file(DAY).exists());

    // After the reset, --only-missing fetches what the date lacks: here, everything.
    let good = fake(date(DAY), |_| {}).await;
    let out = s
        .run(
            &good.base_url(),
            DAY,
            &["--regions", "JP,KR,US", "--only-missing"],
        )
        .await;
    assert_exit(&out, 0);
    assert_complete(&s, &["JP", "KR", "US"]);
    // And once nothing is missing, nothing is fetched.
    let before = good.requests();
    let out = s
        .run(
            &good.base_url(),
            DAY,
            &["--regions", "JP,KR,US", "--only-missing"],
        )
        .await;
    assert_exit(&out, 0);
    assert_eq!(good.requests(), before);
    assert!(stderr(&out).contains("nothing to fetch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_run_commits_the_good_regions_and_only_missing_fetches_the_rest() {
    let api = faulty(
        r#"{"faults": [{"region": "KR", "page": 1, "times": 0, "kind": "chart_not_found_404"}]}"#,
    )
    .await;
    let s = Scratch::new();
    let out = run_with(&s, &api, "JP,KR,US", &[]).await;
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("2/3 regions ok"), "{}", stderr(&out));
    assert_complete(&s, &["JP", "US"]);
    let report_dir = s.lake().join(format!("_runs/snapshot_date={DAY}"));
    let report = std::fs::read_dir(&report_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let kr = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "KR")
        .unwrap();
    assert_eq!(kr["status"], "failed");
    assert_eq!(kr["error"]["reason"], "notFound");
    assert_eq!(kr["error"]["http_status"], 404);
    // The warehouse has the two good regions.
    assert_eq!(
        warehouse_rows(
            &s.warehouse(),
            "SELECT count(DISTINCT region) FROM chart_entries"
        ),
        vec![vec!["BigInt(2)".to_string()]]
    );

    let good = fake(date(DAY), |_| {}).await;
    let out = s
        .run(
            &good.base_url(),
            DAY,
            &["--regions", "JP,KR,US", "--only-missing"],
        )
        .await;
    assert_exit(&out, 0);
    assert!(
        good.log().iter().all(|r| r.region == "KR"),
        "only KR was fetched"
    );
    assert_complete(&s, &["JP", "KR", "US"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_budget_leaves_regions_out_before_sending_anything() {
    let api = fake(date(DAY), |_| {}).await;
    let s = Scratch::new();
    // 9 units cover two complete regions (4 units each), not three.
    let out = run_with(&s, &api, "JP,KR,US", &["--quota-budget", "9"]).await;
    assert_exit(&out, 3);
    assert_eq!(api.requests(), 8);
    let err = stderr(&out);
    // It never got a page, so no "page 0": it was not fetched, for the budget.
    assert!(
        err.contains(
            "; failed: US not fetched: quota budget (left out: --quota-budget 9 covers 2 of 3 \
             regions at 4 units each; raise --quota-budget, or run again with --only-missing to \
             fetch the regions left out)"
        ),
        "{err}"
    );
    assert!(!err.contains("page 0"), "{err}");
    assert_complete(&s, &["JP", "KR"]);

    // The JSON log and the run report say the same: a failure without a page.
    let s = Scratch::new();
    let out = run_with(
        &s,
        &api,
        "JP,KR,US",
        &["--quota-budget", "9", "--log-format", "json"],
    )
    .await;
    assert_exit(&out, 3);
    let err = stderr(&out);
    let us = err
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["target"] == "trendlake::region" && e["region"] == "US")
        .unwrap_or_else(|| panic!("no event of US: {err}"));
    assert_eq!(us["message"], "region US failed: not fetched: quota budget");
    assert_eq!(us["error_kind"], "budget_exhausted");
    assert!(us.get("error_page").is_none(), "{us}");
    let runs = s.lake().join(format!("_runs/snapshot_date={DAY}"));
    let report = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let us = &report["regions"][2];
    assert_eq!(
        (&us["region"], &us["status"]),
        (&"US".into(), &"failed".into())
    );
    assert_eq!(us["error"]["kind"], "budget_exhausted");
    assert!(us["error"].get("page").is_none(), "{us}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rps_paces_requests() {
    let api = fake(date(DAY), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &run_with(
            &s,
            &api,
            "JP,KR",
            &["--max-rps", "10", "--concurrency", "8"],
        )
        .await,
        0,
    );
    let log = api.log();
    assert_eq!(log.len(), 8);
    let span = log[7].at - log[0].at;
    // 8 requests at 10 per second: at least 7 intervals of 100 ms.
    assert!(span >= Duration::from_millis(650), "8 requests in {span:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_appears_nowhere() {
    const KEY: &str = "AIzaSyTEST-key-that-must-never-leak-0123";
    let plan = r#"{"faults": [
        {"region": "JP", "page": 1, "kind": "rate_limit_429", "retry_after": "0"},
        {"region": "JP", "page": 2, "kind": "backend_500_null_message"},
        {"region": "JP", "page": 3, "kind": "reset"},
        {"region": "JP", "page": 4, "kind": "truncated"},
        {"region": "KR", "page": 1, "kind": "hang", "hang_ms": 3000},
        {"region": "KR", "page": 2, "kind": "backend_503"},
        {"region": "US", "page": 1, "times": 0, "kind": "html"},
        {"region": "GB", "page": 1, "times": 0, "kind": "invalid_region"},
        {"region": "TW", "page": 2, "times": 0, "kind": "invalid_page_token"},
        {"region": "HK", "page": 1, "times": 0, "kind": "chart_not_found_404"}
    ]}"#;
    let faults = parse_faults(plan).unwrap();
    let api = fake(date(DAY), |c| {
        c.faults = faults;
        c.api_key = Some(KEY.into());
    })
    .await;
    // quotaExceeded stops a whole run, so it gets a server of its own.
    let quota =
        parse_faults(r#"{"faults": [{"region": "*", "page": 3, "kind": "quota_exceeded"}]}"#)
            .unwrap();
    let quota_api = fake(date(DAY), |c| {
        c.faults = quota;
        c.api_key = Some(KEY.into());
    })
    .await;
    let s = Scratch::new();
    let mut outputs = Vec::new();
    for (key, api) in [
        (KEY, &api),
        ("AIzaSyWRONG-key-that-must-never-leak-99", &api),
        (KEY, &quota_api),
    ] {
        // Trace level: every library's logging, reqwest's and hyper's included.
        let out = trendlake_env(
            [
                "run",
                "--api-key",
                key,
                "--regions",
                "JP,KR,US,GB,TW,HK,SG",
                "--api-base-url",
                &api.base_url(),
                "--date",
                DAY,
                "--lake",
                &s.lake().display().to_string(),
                "--warehouse",
                &s.warehouse().display().to_string(),
                "--retry-min-delay-ms",
                "50",
                "--timeout-secs",
                "1",
                "--concurrency",
                "2",
            ]
            .iter()
            .map(|a| a.to_string())
            .collect(),
            &[("TRENDLAKE_LOG", "trace")],
        )
        .await;
        outputs.push(out);
    }
    let mut bytes: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        bytes.push((format!("stdout {i}"), o.stdout.clone()));
        bytes.push((format!("stderr {i}"), o.stderr.clone()));
    }
    assert!(
        stderr(&outputs[0]).contains("3/7 regions ok"),
        "{}",
        stderr(&outputs[0])
    );
    assert!(
        stderr(&outputs[0]).contains("hyper"),
        "trace logging was on"
    );
    assert!(
        stderr(&outputs[1]).contains("API key not valid"),
        "{}",
        stderr(&outputs[1])
    );
    assert!(
        stderr(&outputs[2]).contains("quotaExceeded"),
        "{}",
        stderr(&outputs[2])
    );
    for (path, content) in tree(s.dir.path()) {
        bytes.push((path.display().to_string(), content));
    }
    assert!(bytes.len() > 6, "the run wrote files");
    // The warehouse's text as SQL sees it (the file itself may store strings compressed).
    for table in [
        "chart_entries",
        "videos",
        "merged_snapshots",
        "regions",
        "categories",
    ] {
        let rows = warehouse_rows(&s.warehouse(), &format!("SELECT * FROM {table}"));
        bytes.push((format!("table {table}"), format!("{rows:?}").into_bytes()));
    }
    for secret in [KEY, "AIzaSyWRONG-key-that-must-never-leak-99"] {
        for (what, content) in &bytes {
            let hit = content
                .windows(secret.len())
                .any(|w| w == secret.as_bytes());
            assert!(!hit, "the API key leaked into {what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_without_youtube_v3_is_named_and_stops_the_run() {
    let api = fake(date(DAY), |_| {}).await;
    let s = Scratch::new();
    // The fake's root, not its API root: `/videos` is answered with a bare 404.
    let base = format!("http://{}", api.addr());
    let out = s
        .run(&base, DAY, &["--regions", "JP,KR,US", "--concurrency", "1"])
        .await;
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("0/3 regions ok"), "{err}");
    assert!(err.contains("the base URL looks wrong"), "{err}");
    assert!(err.contains("ending in /youtube/v3"), "{err}");
    assert!(!err.contains("remove it from --regions"), "{err}");
    // Every request would fail the same way: after the first, none is sent.
    let log = api.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].path.as_str(), log[0].status), ("/videos", 404));
    let report = run_report(&s, DAY);
    let kinds: Vec<&str> = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["wrong_base_url"; 3]);
    assert_eq!(report["regions"][0]["error"]["http_status"], 404);
    // The 404 was an answer, so it counts; the requests never sent do not.
    assert_eq!(report["quota_units"], 1);
    assert_eq!(report["exit_code"], 1);
    assert!(!s.snapshot_file(DAY).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_never_connect_spend_no_quota() {
    let s = Scratch::new();
    // Port 9 (discard) on loopback: nothing listens, so every connection is refused.
    let out = s
        .run(
            "http://127.0.0.1:9/youtube/v3",
            DAY,
            &[
                "--regions",
                "JP,KR",
                "--max-attempts",
                "3",
                "--retry-min-delay-ms",
                "10",
            ],
        )
        .await;
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("0/2 regions ok"), "{err}");
    assert!(err.contains(", 0 quota units"), "{err}");
    assert!(err.contains("could not connect to the API"), "{err}");
    let report = run_report(&s, DAY);
    assert_eq!(report["quota_units"], 0);
    for region in report["regions"].as_array().unwrap() {
        assert_eq!(
            region["requests"], 3,
            "{region}: retried up to --max-attempts"
        );
        assert_eq!(region["retries"], 2, "{region}");
        assert_eq!(region["quota_units"], 0, "{region}");
        assert_eq!(region["error"]["kind"], "connect", "{region}");
    }
}
