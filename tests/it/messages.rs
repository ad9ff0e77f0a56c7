//! Messages that name the next step that works, and output that ends quietly when its reader
//! stops reading.

use std::process::Stdio;

use crate::support::*;

/// `trendlake ARGS` with its stdout a pipe nobody reads: closed before the first write, as
/// `| head` closes it after the lines it wants.
fn into_a_closed_pipe(args: &[String]) -> std::process::Output {
    let mut child = command(args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_ends_every_output_quietly() {
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &s.run(&api.base_url(), "2026-11-20", &["--regions", "JP"])
            .await,
        0,
    );
    let warehouse = s.warehouse().display().to_string();
    for args in [
        vec!["completions", "bash"],
        vec!["man"],
        vec!["report", "--output", "-", "--warehouse", &warehouse],
        vec![
            "query",
            "--warehouse",
            &warehouse,
            "--format",
            "csv",
            "SELECT * FROM chart",
        ],
    ] {
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let out = tokio::task::spawn_blocking({
            let args = args.clone();
            move || into_a_closed_pipe(&args)
        })
        .await
        .unwrap();
        assert_exit(&out, 0);
        assert_eq!(stderr(&out), "", "{args:?}: nothing said about the pipe");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_warehouse_names_the_flag_and_the_demos_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let in_dir = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        command(&args, &[])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for args in [
        &["query", "SELECT 1"][..],
        &["report", "--output", "page.html"],
    ] {
        let out = in_dir(args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("data/warehouse.duckdb does not exist"),
            "{err}"
        );
        assert!(err.contains("name yours with --warehouse"), "{err}");
        assert!(!err.contains("demo"), "{err}");
    }
    // After `demo`, its warehouse is the one to name.
    std::fs::create_dir_all(dir.path().join("data/demo")).unwrap();
    std::fs::write(dir.path().join("data/demo/warehouse.duckdb"), b"").unwrap();
    let out = in_dir(&["query", "SELECT 1"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("the demo's is --warehouse data/demo/warehouse.duckdb"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_of_a_date_the_lake_lacks_suggests_nothing_the_real_api_refuses() {
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &s.run(&api.base_url(), "2026-11-20", &["--regions", "JP"])
            .await,
        0,
    );
    let out = s.cmd("merge", &["--date", "2026-11-19"]).await;
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("has no snapshot for 2026-11-19"), "{err}");
    assert!(
        err.contains("`trendlake rebuild --date 2026-11-19`"),
        "{err}"
    );
    assert!(!err.contains("snapshot --date"), "{err}");
}
