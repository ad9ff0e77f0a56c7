//! Usage errors: exit 2, a message naming the problem, and nothing written.

use crate::support::*;

#[test]
fn bad_region_is_a_usage_error_and_writes_nothing() {
    let s = Scratch::new();
    for bad in ["../etc", "JPN", "XX", ""] {
        let out = trendlake_blocking(&[
            "run".into(),
            "--api-base-url".into(),
            "http://127.0.0.1:9/youtube/v3".into(),
            "--regions".into(),
            bad.into(),
            "--lake".into(),
            s.lake().display().to_string(),
            "--warehouse".into(),
            s.warehouse().display().to_string(),
        ]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("region") || err.contains("regions"),
            "{bad}: {err}"
        );
        if !bad.is_empty() {
            assert!(err.contains(bad), "the message names {bad:?}: {err}");
        }
        assert!(!s.lake().exists(), "no lake created for {bad:?}");
        assert!(!s.warehouse().exists());
    }
}

#[test]
fn a_real_api_url_needs_a_key() {
    let s = Scratch::new();
    let out = trendlake_blocking(&[
        "snapshot".into(),
        "--api-base-url".into(),
        "https://www.googleapis.com/youtube/v3".into(),
        "--lake".into(),
        s.lake().display().to_string(),
    ]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("YOUTUBE_API_KEY"));
    assert!(!s.lake().exists());
}

#[test]
fn bad_dates_and_numbers_are_usage_errors() {
    for args in [
        vec!["run", "--date", "2026-13-01"],
        vec!["run", "--concurrency", "0"],
        vec!["merge", "--date", "yesterday"],
        vec!["query", "--name", "no_such_query"],
        vec!["demo", "--days", "0"],
    ] {
        let out = trendlake_blocking(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_exit(&out, 2);
        assert!(
            stderr(&out).starts_with("trendlake: error: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn query_without_a_warehouse_says_what_to_run() {
    let s = Scratch::new();
    let out = trendlake_blocking(&[
        "query".into(),
        "SELECT 1".into(),
        "--warehouse".into(),
        s.warehouse().display().to_string(),
    ]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("name yours with --warehouse"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("trendlake merge"), "{}", stderr(&out));
    assert!(!s.warehouse().exists(), "a read-only query creates nothing");
}

#[test]
fn a_bad_fault_plan_names_the_file_and_entry() {
    let s = Scratch::new();
    let plan = s.dir.path().join("plan.json");
    std::fs::write(&plan, r#"{"faults": [{"kind": "rate_limit"}]}"#).unwrap();
    let out = trendlake_blocking(&[
        "fake-api".into(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--faults".into(),
        plan.display().to_string(),
    ]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains(&plan.display().to_string()), "{err}");
    assert!(err.contains("unknown fault kind \"rate_limit\""), "{err}");
}

#[test]
fn duckdb_never_downloads_an_extension() {
    let s = Scratch::new();
    duckdb::Connection::open(s.warehouse()).unwrap();
    let out = trendlake_blocking(&[
        "query".into(),
        "SELECT '{\"a\": 1}'::JSON AS j".into(),
        "--warehouse".into(),
        s.warehouse().display().to_string(),
    ]);
    // A type DuckDB lacks is the query's fault, found before anything runs: exit 2.
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(!err.contains("http"), "no download attempted: {err}");
    assert!(err.to_lowercase().contains("json"), "{err}");
}
