//! `--metrics-file`. The real binary runs nights against the fake API (a
//! complete one, a partial one, one whose commit fails, one with the quota spent, one whose merge
//! fails, one with nothing to fetch, one that stops before its report); each leaves
//! the metrics file, which is parsed by the Prometheus project's own Python client
//! (`prometheus_client.parser`, from the project's virtualenv) and linted by `promtool check
//! metrics`, and whose values are checked exactly against what happened and against the run
//! report. The alert rules in `deploy/prometheus/` go through `promtool check rules` and their
//! unit tests through `promtool test rules`.
//!
//! Nothing is skipped: without promtool (Debian's `prometheus` package, which `.ci/run`
//! installs) or the virtualenv (`.ci/venv`) these tests fail and say what to install.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use trendlake_fake_api::{FakeApi, parse_faults};

use crate::support::*;

const DAY1: &str = "2026-11-19";
const DAY2: &str = "2026-11-20";
const REGIONS: &str = "JP,KR,US";
const SECRET: &str = "AIzaSECRET-metrics-0123456789";

/// A metrics file as the Prometheus client's parser reads it: each family's type and help, and
/// every sample by name and labels.
#[derive(Debug)]
struct Metrics {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
}

impl Metrics {
    /// The value of the sample `name` with exactly `labels`; panics if there is none.
    #[track_caller]
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        *self
            .samples
            .get(&(name.to_string(), labels.clone()))
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {:#?}", self.samples))
    }

    fn has(&self, name: &str) -> bool {
        self.samples.keys().any(|(n, _)| n == name)
    }

    /// `trendlake_last_run_regions` by status.
    #[track_caller]
    fn regions(&self) -> [(&'static str, f64); 3] {
        ["ok", "failed", "not_committed"]
            .map(|s| (s, self.get("trendlake_last_run_regions", &[("status", s)])))
    }

    /// The status whose `trendlake_last_run_merge_status` is 1; the others must be 0.
    #[track_caller]
    fn merge_status(&self) -> String {
        let all = ["merged", "up_to_date", "failed", "skipped", "pending"];
        let on: Vec<&str> = all
            .into_iter()
            .filter(|s| self.get("trendlake_last_run_merge_status", &[("status", s)]) == 1.0)
            .collect();
        for s in all {
            let v = self.get("trendlake_last_run_merge_status", &[("status", s)]);
            assert!(v == 0.0 || v == 1.0, "{s}: {v}");
        }
        assert_eq!(on.len(), 1, "one merge status is 1: {on:?}");
        on[0].to_string()
    }
}

const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
families = [
    {"name": fam.name, "type": fam.type, "help": fam.documentation,
     "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in fam.samples]}
    for fam in text_string_to_metric_families(text)
]
print(json.dumps(families))
"#;

/// The metrics file at `path`, parsed by `prometheus_client` and linted by promtool.
#[track_caller]
fn read_metrics(path: &Path) -> Metrics {
    let python = venv().join("bin/python");
    assert!(
        python.is_file(),
        "{} not found: parsing the metrics needs prometheus_client from the project's \
         virtualenv; run .ci/venv (it creates or completes {})",
        python.display(),
        venv().display()
    );
    let out = Command::new(&python)
        .args(["-c", PARSE])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse {}: {}\n(run .ci/venv if prometheus_client is \
         missing)\n{}",
        path.display(),
        stderr(&out),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    let families: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut metrics = Metrics {
        types: BTreeMap::new(),
        helps: BTreeMap::new(),
        samples: BTreeMap::new(),
    };
    for family in families.as_array().unwrap() {
        let name = family["name"].as_str().unwrap().to_string();
        metrics
            .types
            .insert(name.clone(), family["type"].as_str().unwrap().into());
        metrics
            .helps
            .insert(name.clone(), family["help"].as_str().unwrap().into());
        for s in family["samples"].as_array().unwrap() {
            let labels = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let key = (s["name"].as_str().unwrap().to_string(), labels);
            let fresh = metrics
                .samples
                .insert(key.clone(), s["value"].as_f64().unwrap());
            assert!(fresh.is_none(), "{key:?} twice");
        }
    }
    promtool(&["check", "metrics"], Some(path));
    metrics
}

/// `promtool ARGS` (with `stdin` on its standard input), which must succeed with nothing to
/// say but its verdict.
#[track_caller]
fn promtool(args: &[&str], stdin: Option<&Path>) -> String {
    let mut cmd = Command::new("promtool");
    cmd.args(args);
    if let Some(path) = stdin {
        cmd.stdin(std::fs::File::open(path).unwrap());
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "promtool: {e}; these tests need promtool, from Debian's `prometheus` package \
             (`apt-get install --no-install-recommends prometheus`; .ci/run installs it)"
        )
    });
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        out.status.success(),
        "promtool {args:?} failed ({:?}):\n{said}",
        out.status
    );
    said
}

/// The date's run reports, oldest first (run ids are UUIDv7s, which sort by time).
fn run_reports(s: &Scratch, day: &str) -> Vec<serde_json::Value> {
    let dir = s.lake().join(format!("_runs/snapshot_date={day}"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// Seconds since the epoch of an RFC 3339 time in a run report.
fn unix(value: &serde_json::Value) -> f64 {
    let t: chrono::DateTime<chrono::Utc> = value.as_str().unwrap().parse().unwrap();
    t.timestamp_millis() as f64 / 1000.0
}

/// The metrics agree with the run report they come from, and with the families promised.
#[track_caller]
fn assert_agrees_with_report(m: &Metrics, report: &serde_json::Value) {
    assert_eq!(
        m.get("trendlake_last_run_exit_code", &[]),
        report["exit_code"].as_f64().unwrap()
    );
    assert_eq!(
        m.get("trendlake_last_run_timestamp_seconds", &[]),
        unix(&report["finished_at"])
    );
    assert_eq!(
        m.get("trendlake_last_run_rows_committed", &[]),
        report["rows_committed"].as_f64().unwrap()
    );
    assert_eq!(
        m.get("trendlake_last_run_quota_units", &[]),
        report["quota_units"].as_f64().unwrap()
    );
    assert_eq!(
        m.merge_status(),
        report["merge"]["status"].as_str().unwrap()
    );
    for (status, n) in m.regions() {
        let in_report = report["regions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == status)
            .count();
        assert_eq!(n, in_report as f64, "regions {status}");
    }
    for (stage, key) in [
        ("fetch", "fetch_ms"),
        ("write", "write_ms"),
        ("track", "track_ms"),
        ("merge", "merge_ms"),
    ] {
        assert_eq!(
            m.get(
                "trendlake_last_run_stage_duration_seconds",
                &[("stage", stage)]
            ),
            report[key].as_f64().unwrap() / 1000.0,
            "{stage}"
        );
    }
    for outcome in ["returned", "vanished", "skipped", "failed"] {
        assert_eq!(
            m.get("trendlake_last_run_tracked_videos", &[("outcome", outcome)]),
            report["tracking"][outcome].as_f64().unwrap(),
            "tracked {outcome}"
        );
    }
    let took = unix(&report["finished_at"]) - unix(&report["started_at"]);
    let duration = m.get("trendlake_last_run_duration_seconds", &[]);
    assert!((duration - took).abs() < 0.002, "{duration} vs {took}");
    // Every family is a gauge with its help, named by Prometheus' conventions (the budget's
    // only with a budget, which each test checks).
    let mut families = vec![
        "trendlake_last_run_timestamp_seconds",
        "trendlake_last_success_timestamp_seconds",
        "trendlake_last_run_exit_code",
        "trendlake_last_run_duration_seconds",
        "trendlake_last_run_stage_duration_seconds",
        "trendlake_last_run_regions",
        "trendlake_last_run_rows_committed",
        "trendlake_last_run_tracked_videos",
        "trendlake_last_run_quota_units",
        "trendlake_last_run_merge_status",
    ];
    if m.has("trendlake_quota_budget_units") {
        families.push("trendlake_quota_budget_units");
    }
    let mut sorted = families.clone();
    sorted.sort();
    assert_eq!(m.types.keys().collect::<Vec<_>>(), sorted, "the families");
    for family in families {
        assert_eq!(m.types[family], "gauge", "{family}");
        assert!(!m.helps[family].is_empty(), "{family} has HELP");
    }
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

async fn faulty(day: &str, plan: &str) -> FakeApi {
    let faults = parse_faults(plan).expect("fault plan parses");
    fake(date(day), |c| c.faults = faults).await
}

/// KR's chart is gone for good (404 on its first page).
const KR_GONE: &str =
    r#"{"faults": [{"region": "KR", "page": 1, "times": 0, "kind": "chart_not_found_404"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_night_then_a_partial_one_keeps_the_last_success() {
    let s = Scratch::new();
    let prom = s.dir.path().join("trendlake.prom");
    let prom_arg = prom.display().to_string();

    // Night 1, complete; the file named by the flag (and the key given, which goes nowhere).
    let api = fake(date(DAY1), |_| {}).await;
    let before = now();
    let out = s
        .run(
            &api.base_url(),
            DAY1,
            &[
                "--regions",
                REGIONS,
                "--quota-budget",
                "200",
                "--api-key",
                SECRET,
                "--metrics-file",
                &prom_arg,
            ],
        )
        .await;
    assert_exit(&out, 0);
    let after = now();
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(!text.contains(SECRET), "the key is in the metrics");
    let m = read_metrics(&prom);
    let report = run_reports(&s, DAY1).pop().unwrap();
    assert_agrees_with_report(&m, &report);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 0.0);
    assert_eq!(
        m.regions(),
        [("ok", 3.0), ("failed", 0.0), ("not_committed", 0.0)]
    );
    assert_eq!(m.get("trendlake_last_run_rows_committed", &[]), 600.0);
    assert_eq!(m.get("trendlake_last_run_quota_units", &[]), 12.0);
    assert_eq!(m.get("trendlake_quota_budget_units", &[]), 200.0);
    assert_eq!(m.merge_status(), "merged");
    let ran = m.get("trendlake_last_run_timestamp_seconds", &[]);
    assert!(
        before - 1.0 <= ran && ran <= after + 1.0,
        "{before} {ran} {after}"
    );
    let success = m.get("trendlake_last_success_timestamp_seconds", &[]);
    assert_eq!(success, ran, "a complete run is the last success");
    let mode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&prom).unwrap().mode() & 0o777
    };
    assert_eq!(mode, 0o644, "node_exporter, another user, reads it");

    // Night 2, KR fails: exit 3; the file named by the variable this time.
    let api = faulty(DAY2, KR_GONE).await;
    let out = trendlake_env(
        vec![
            "run".into(),
            "--api-base-url".into(),
            api.base_url(),
            "--date".into(),
            DAY2.into(),
            "--lake".into(),
            s.lake().display().to_string(),
            "--warehouse".into(),
            s.warehouse().display().to_string(),
            "--regions".into(),
            REGIONS.into(),
            "--quota-budget".into(),
            "200".into(),
        ],
        &[("TRENDLAKE_METRICS_FILE", prom_arg.as_str())],
    )
    .await;
    assert_exit(&out, 3);
    let m = read_metrics(&prom);
    let report = run_reports(&s, DAY2).pop().unwrap();
    assert_eq!(report["outcome"], "partial");
    assert_agrees_with_report(&m, &report);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 3.0);
    assert_eq!(
        m.regions(),
        [("ok", 2.0), ("failed", 1.0), ("not_committed", 0.0)]
    );
    assert_eq!(m.get("trendlake_last_run_rows_committed", &[]), 400.0);
    // Two full charts and KR's one refused call, then the tracking stage's lookups of the
    // videos that left DAY1's charts.
    let tracking = report["tracking"]["quota_units"].as_u64().unwrap();
    assert!(tracking > 0, "{}", report["tracking"]);
    assert_eq!(
        m.get("trendlake_last_run_quota_units", &[]),
        9.0 + tracking as f64
    );
    assert_eq!(m.merge_status(), "merged");
    assert!(m.get("trendlake_last_run_timestamp_seconds", &[]) > ran);
    assert_eq!(
        m.get("trendlake_last_success_timestamp_seconds", &[]),
        success,
        "the last success is kept from night 1"
    );
}

/// Put a regular file where the date's snapshot directory goes, once the run has fetched and
/// archived everything: the commit cannot write, so nothing is committed (exit 1).
fn run_with_a_failing_commit(args: Vec<String>, lake: &Path, day: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("go");
    let env = vec![
        ("TRENDLAKE_PAUSE_AT".to_string(), "raw_written".to_string()),
        (
            "TRENDLAKE_PAUSE_RELEASE".to_string(),
            release.display().to_string(),
        ),
    ];
    let mut child = command(&args, &env)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("paused at raw_written") => break,
            Some(Ok(line)) => seen.push(line),
            _ => panic!(
                "the run ended before writing its raw pages: {:?}\n{}",
                child.wait(),
                seen.join("\n")
            ),
        }
    }
    let partition = lake.join(format!("videos/snapshot_date={day}"));
    std::fs::create_dir_all(partition.parent().unwrap()).unwrap();
    std::fs::write(&partition, b"in the way").unwrap();
    std::fs::write(&release, b"").unwrap();
    seen.extend(lines.map(|l| l.unwrap()));
    let mut out = child.wait_with_output().unwrap();
    out.stderr = seen.join("\n").into_bytes();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_is_exit_1_with_every_region_not_committed_and_the_success_kept() {
    let s = Scratch::new();
    let prom = s.dir.path().join("trendlake.prom");
    // The file named in the config file, as deploy/trendlake.toml does.
    let config = s.dir.path().join("trendlake.toml");
    std::fs::write(
        &config,
        format!(
            "regions = [\"JP\", \"KR\", \"US\"]\nmetrics_file = \"{}\"\n",
            prom.display()
        ),
    )
    .unwrap();
    let config_arg = config.display().to_string();

    let api = fake(date(DAY1), |_| {}).await;
    let out = s
        .run(&api.base_url(), DAY1, &["--config", &config_arg])
        .await;
    assert_exit(&out, 0);
    let success = read_metrics(&prom).get("trendlake_last_success_timestamp_seconds", &[]);
    assert!(success > 0.0);

    api.set_date(date(DAY2));
    let args: Vec<String> = [
        "run",
        "--config",
        &config_arg,
        "--api-base-url",
        &api.base_url(),
        "--date",
        DAY2,
        "--lake",
        &s.lake().display().to_string(),
        "--warehouse",
        &s.warehouse().display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let lake = s.lake();
    let out = tokio::task::spawn_blocking(move || run_with_a_failing_commit(args, &lake, DAY2))
        .await
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("nothing committed"),
        "{}",
        stderr(&out)
    );

    let m = read_metrics(&prom);
    let report = run_reports(&s, DAY2).pop().unwrap();
    assert_eq!(report["outcome"], "failed");
    assert_agrees_with_report(&m, &report);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 1.0);
    assert_eq!(
        m.regions(),
        [("ok", 0.0), ("failed", 0.0), ("not_committed", 3.0)]
    );
    assert_eq!(m.get("trendlake_last_run_rows_committed", &[]), 0.0);
    // Fetched in full, so spent in full.
    assert_eq!(m.get("trendlake_last_run_quota_units", &[]), 12.0);
    assert_eq!(m.merge_status(), "up_to_date");
    assert!(
        !m.has("trendlake_quota_budget_units"),
        "no budget, no gauge"
    );
    assert!(m.get("trendlake_last_run_timestamp_seconds", &[]) > success);
    assert_eq!(
        m.get("trendlake_last_success_timestamp_seconds", &[]),
        success,
        "the last success is kept"
    );
}

/// A run killed right after its commit leaves no report of its own, so the date's newest report
/// is an earlier run's. The `--only-missing` run after it finds nothing to fetch and must still
/// leave a report (and metrics) of its outcome, not let the stale one stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_missing_with_nothing_to_fetch_leaves_a_report_and_metrics() {
    let s = Scratch::new();
    let prom = s.dir.path().join("trendlake.prom");
    let prom_arg = prom.display().to_string();
    let faulty_api = faulty(DAY2, KR_GONE).await;
    let out = s
        .run(&faulty_api.base_url(), DAY2, &["--regions", REGIONS])
        .await;
    assert_exit(&out, 3);
    assert_eq!(run_reports(&s, DAY2)[0]["outcome"], "partial");

    // KR again, committed, and the run killed before its report and its merge.
    let api = fake(date(DAY2), |_| {}).await;
    let args: Vec<String> = [
        "run",
        "--api-base-url",
        &api.base_url(),
        "--date",
        DAY2,
        "--lake",
        &s.lake().display().to_string(),
        "--warehouse",
        &s.warehouse().display().to_string(),
        "--regions",
        REGIONS,
        "--only-missing",
    ]
    .map(String::from)
    .to_vec();
    tokio::task::spawn_blocking(move || {
        let env = [("TRENDLAKE_PAUSE_AT".to_string(), "committed".to_string())];
        let mut child = command(&args, &env)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let mut paused = false;
        for line in lines {
            let line = line.unwrap();
            if line.contains("paused at committed") {
                paused = true;
                child.kill().unwrap(); // SIGKILL
                break;
            }
            seen.push(line);
        }
        let status = child.wait().unwrap();
        assert!(
            paused,
            "the run ended ({status}) before its commit:\n{}",
            seen.join("\n")
        );
    })
    .await
    .unwrap();
    assert_complete_snapshot(&s.snapshot_file(DAY2), &["JP", "KR", "US"]);
    let reports = run_reports(&s, DAY2);
    assert_eq!(reports.len(), 1, "the killed run left no report");
    assert_eq!(reports[0]["outcome"], "partial", "the stale report");

    let requests = api.requests();
    let out = s
        .run(
            &api.base_url(),
            DAY2,
            &[
                "--regions",
                REGIONS,
                "--only-missing",
                "--metrics-file",
                &prom_arg,
            ],
        )
        .await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("nothing to fetch"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing fetched; the snapshot holds 3 region(s) (JP,KR,US)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(api.requests(), requests, "nothing fetched");
    let reports = run_reports(&s, DAY2);
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let newest = &reports[1];
    assert_eq!(newest["outcome"], "complete");
    assert_eq!(newest["exit_code"], 0);
    assert_eq!(newest["regions"], serde_json::json!([]));
    assert_eq!(
        newest["regions_kept"],
        serde_json::json!(["JP", "KR", "US"])
    );
    assert_eq!(newest["rows_committed"], 0);
    // The killed run's commit is merged now.
    assert_eq!(newest["merge"]["status"], "merged");
    assert_eq!(
        warehouse_rows(
            &s.warehouse(),
            "SELECT count(DISTINCT region) FROM chart_entries"
        ),
        vec![vec!["BigInt(3)".to_string()]]
    );

    let m = read_metrics(&prom);
    assert_agrees_with_report(&m, newest);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 0.0);
    assert_eq!(
        m.regions(),
        [("ok", 0.0), ("failed", 0.0), ("not_committed", 0.0)]
    );
    assert_eq!(m.get("trendlake_last_run_quota_units", &[]), 0.0);
    assert_eq!(
        m.get("trendlake_last_success_timestamp_seconds", &[]),
        m.get("trendlake_last_run_timestamp_seconds", &[])
    );

    // `snapshot --only-missing` too: its report says so, with no merge asked for.
    let out = trendlake(vec![
        "snapshot".into(),
        "--api-base-url".into(),
        api.base_url(),
        "--date".into(),
        DAY2.into(),
        "--lake".into(),
        s.lake().display().to_string(),
        "--regions".into(),
        "JP".into(),
        "--only-missing".into(),
        "--metrics-file".into(),
        prom_arg.clone(),
    ])
    .await;
    assert_exit(&out, 0);
    let reports = run_reports(&s, DAY2);
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[2]["outcome"], "complete");
    assert_eq!(
        reports[2]["regions_kept"],
        serde_json::json!(["JP", "KR", "US"])
    );
    let m = read_metrics(&prom);
    assert_eq!(m.merge_status(), "skipped");
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 0.0);
}

#[test]
fn a_metrics_file_not_named_prom_is_refused_naming_the_setting() {
    let s = Scratch::new();
    let dir = s.dir.path();
    let base = |extra: &[&str]| -> Vec<String> {
        ["run", "--api-base-url", "http://127.0.0.1:9/youtube/v3"]
            .iter()
            .chain(extra)
            .map(|a| a.to_string())
            .collect()
    };
    let txt = dir.join("trendlake.txt").display().to_string();
    let refused = |out: &std::process::Output, named: &str| {
        assert_exit(out, 2);
        let err = stderr(out);
        assert!(
            err.contains(&format!("{named} {txt}")) && err.contains("*.prom"),
            "{err}"
        );
    };
    let out = trendlake_blocking(&base(&["--metrics-file", &txt]));
    refused(&out, "--metrics-file");
    let out = command(
        &base(&[]),
        &[("TRENDLAKE_METRICS_FILE".into(), txt.clone())],
    )
    .output()
    .unwrap();
    refused(&out, "TRENDLAKE_METRICS_FILE");
    let config = dir.join("t.toml");
    std::fs::write(&config, format!("\nmetrics_file = \"{txt}\"\n")).unwrap();
    let out = trendlake_blocking(&base(&["--config", &config.display().to_string()]));
    refused(&out, &format!("metrics_file ({} line 2)", config.display()));
    // `config` refuses what `run` would, and `snapshot` takes the flag too.
    let mut args = base(&["--metrics-file", &txt]);
    args[0] = "config".into();
    refused(&trendlake_blocking(&args), "--metrics-file");
    let mut args = base(&["--metrics-file", &txt]);
    args[0] = "snapshot".into();
    refused(&trendlake_blocking(&args), "--metrics-file");
    // Nothing was written anywhere.
    assert!(!dir.join("trendlake.txt").exists());
}

/// A metrics directory that does not exist is warned about at the start and at the end; the
/// night's chart is not given up for its metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_metrics_directory_is_warned_about_and_the_night_still_runs() {
    let s = Scratch::new();
    let gone = s.dir.path().join("gone/trendlake.prom");
    let api = fake(date(DAY1), |_| {}).await;
    let out = s
        .run(
            &api.base_url(),
            DAY1,
            &[
                "--regions",
                "JP",
                "--metrics-file",
                &gone.display().to_string(),
            ],
        )
        .await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("trendlake: warning: ") && l.contains("gone"))
        .collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(warnings[0].contains("does not exist"), "{err}");
    assert!(
        warnings[1].contains("cannot write the metrics file"),
        "{err}"
    );
    assert_complete_snapshot(&s.snapshot_file(DAY1), &["JP"]);
    assert!(!gone.exists());
}

/// A run that stops before it has a report (the lake cannot be opened: a configuration error,
/// exit 2) still writes its exit code and time, and keeps the last success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_stops_before_its_report_still_writes_its_exit_code() {
    let s = Scratch::new();
    let prom = s.dir.path().join("trendlake.prom");
    std::fs::write(
        &prom,
        "# HELP trendlake_last_success_timestamp_seconds x\n\
         # TYPE trendlake_last_success_timestamp_seconds gauge\n\
         trendlake_last_success_timestamp_seconds 1795000000.5\n",
    )
    .unwrap();
    // The lake's place is taken by a file: it cannot be read.
    std::fs::write(s.lake(), b"not a lake").unwrap();
    let api = fake(date(DAY1), |_| {}).await;
    let out = s
        .run(
            &api.base_url(),
            DAY1,
            &[
                "--regions",
                "JP",
                "--metrics-file",
                &prom.display().to_string(),
            ],
        )
        .await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("cannot create the directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(api.requests(), 0);
    let m = read_metrics(&prom);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 2.0);
    assert_eq!(
        m.get("trendlake_last_success_timestamp_seconds", &[]),
        1_795_000_000.5
    );
    assert!(m.get("trendlake_last_run_timestamp_seconds", &[]) > 1_795_000_000.5);
    assert_eq!(
        m.regions(),
        [("ok", 0.0), ("failed", 0.0), ("not_committed", 0.0)]
    );
    assert!(!m.has("trendlake_last_run_merge_status"));
}

#[test]
fn the_alert_rules_are_valid_and_fire_when_they_should() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    let rules = dir.join("trendlake.rules.yml");
    let said = promtool(&["check", "rules", &rules.display().to_string()], None);
    assert!(said.contains("SUCCESS: 6 rules found"), "{said}");
    let tests = dir.join("trendlake.rules.test.yml");
    let said = promtool(&["test", "rules", &tests.display().to_string()], None);
    assert!(said.contains("SUCCESS"), "{said}");
}

/// The quota spent (every region refused) and a failed merge leave their metrics too; with no
/// success ever, the last success is 0, which `TrendlakeRunStale` sees as long ago.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_quota_and_a_failed_merge_leave_metrics_too() {
    let s = Scratch::new();
    let prom = s.dir.path().join("trendlake.prom");
    let prom_arg = prom.display().to_string();

    // No quota left: the first call is refused, and one at a time nothing more is sent.
    let api = fake(date(DAY1), |c| c.quota = Some(0)).await;
    let out = s
        .run(
            &api.base_url(),
            DAY1,
            &[
                "--regions",
                REGIONS,
                "--concurrency",
                "1",
                "--metrics-file",
                &prom_arg,
            ],
        )
        .await;
    assert_exit(&out, 1);
    let m = read_metrics(&prom);
    let report = run_reports(&s, DAY1).pop().unwrap();
    assert_agrees_with_report(&m, &report);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 1.0);
    assert_eq!(
        m.regions(),
        [("ok", 0.0), ("failed", 3.0), ("not_committed", 0.0)]
    );
    assert_eq!(m.get("trendlake_last_run_quota_units", &[]), 1.0);
    assert_eq!(m.get("trendlake_last_run_rows_committed", &[]), 0.0);
    assert_eq!(m.get("trendlake_last_success_timestamp_seconds", &[]), 0.0);

    // Committed, then the merge fails (the warehouse's place is a directory): exit 4.
    std::fs::create_dir(s.warehouse()).unwrap();
    let api = fake(date(DAY1), |_| {}).await;
    let out = s
        .run(
            &api.base_url(),
            DAY1,
            &["--regions", "JP", "--metrics-file", &prom_arg],
        )
        .await;
    assert_exit(&out, 4);
    let m = read_metrics(&prom);
    let report = run_reports(&s, DAY1).pop().unwrap();
    assert_eq!(report["outcome"], "merge_failed");
    assert_agrees_with_report(&m, &report);
    assert_eq!(m.get("trendlake_last_run_exit_code", &[]), 4.0);
    assert_eq!(m.merge_status(), "failed");
    assert_eq!(
        m.regions(),
        [("ok", 1.0), ("failed", 0.0), ("not_committed", 0.0)]
    );
    assert_eq!(m.get("trendlake_last_run_rows_committed", &[]), 200.0);
    assert_eq!(m.get("trendlake_last_success_timestamp_seconds", &[]), 0.0);
}
