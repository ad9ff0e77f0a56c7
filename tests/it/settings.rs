//! Settings from flags, the environment and a TOML file; `trendlake config`; JSON logs; the date
//! guard; completions, man page and `regions`. Black-box, through the real binary.

use std::path::Path;

use crate::support::*;

/// The real binary with a clean environment (no inherited key or trendlake settings), run in
/// `dir` so relative defaults land in a scratch directory.
fn tl(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(command(&[], &[]));
    cmd.current_dir(dir);
    cmd
}

/// `trendlake ARGS` in `dir`, which must exit with `code`.
fn run_in(dir: &Path, args: &[&str], code: i32) -> std::process::Output {
    tl(dir).args(args).assert().code(code).get_output().clone()
}

fn out_str(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `config` line of `key`: (value, origin).
fn setting(config_output: &str, key: &str) -> (String, String) {
    let line = config_output
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} in\n{config_output}"));
    let mut parts = line.split_whitespace().skip(1);
    let value = parts.next().unwrap().to_string();
    let origin = parts.collect::<Vec<_>>().join(" ");
    (value, origin)
}

const FILE: &str = "\
# trendlake settings
concurrency = 7
lake = \"/srv/lake-from-file\"
regions = [\"JP\", \"KR\"]
log_format = \"text\"
max_attempts = 4
";

/// `trendlake config ARGS` with `env` (and a key, so validation passes): its stdout.
fn config(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = tl(dir);
    cmd.env("YOUTUBE_API_KEY", "k").arg("config").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    out_str(&cmd.assert().success().get_output().stdout)
}

/// Each (key, value, origin) is what `config` reports.
#[track_caller]
fn assert_settings(text: &str, expected: &[(&str, &str, &str)]) {
    for (key, value, origin) in expected {
        assert_eq!(
            setting(text, key),
            (value.to_string(), origin.to_string()),
            "{key} in\n{text}"
        );
    }
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let s = Scratch::new();
    let file = s.dir.path().join("trendlake.toml");
    std::fs::write(&file, FILE).unwrap();
    let file_s = file.display().to_string();
    let at = |line: usize| format!("file {file_s}:{line}");

    // File over default.
    let text = config(s.dir.path(), &["--config", &file_s], &[]);
    assert_settings(
        &text,
        &[
            ("concurrency", "7", &at(2)),
            ("lake", "/srv/lake-from-file", &at(3)),
            ("regions", "JP,KR", &at(4)),
            ("per_region", "200", "default"),
            ("quota_budget", "(none)", "unset"),
            ("only_missing", "false", "default"),
        ],
    );

    // Env over file (the file named by TRENDLAKE_CONFIG this time).
    let env = [
        ("TRENDLAKE_CONFIG", file_s.as_str()),
        ("TRENDLAKE_CONCURRENCY", "3"),
        ("TRENDLAKE_LAKE", "/srv/lake-from-env"),
        ("TRENDLAKE_REGIONS", "US"),
        ("TRENDLAKE_MAX_ATTEMPTS", "2"),
    ];
    let text = config(s.dir.path(), &[], &env);
    assert_settings(
        &text,
        &[
            ("concurrency", "3", "env TRENDLAKE_CONCURRENCY"),
            ("lake", "/srv/lake-from-env", "env TRENDLAKE_LAKE"),
            ("regions", "US", "env TRENDLAKE_REGIONS"),
            ("max_attempts", "2", "env TRENDLAKE_MAX_ATTEMPTS"),
        ],
    );

    // Flag over env over file; what neither flag nor env gives still comes from the file.
    let flags = [
        "--concurrency",
        "11",
        "--lake",
        "/srv/lake-from-flag",
        "--regions",
        "GB,TW",
    ];
    let text = config(s.dir.path(), &flags, &env[..3]);
    assert_settings(
        &text,
        &[
            ("concurrency", "11", "flag"),
            ("lake", "/srv/lake-from-flag", "flag"),
            ("regions", "GB,TW", "flag"),
            ("max_attempts", "4", &at(6)),
        ],
    );
}

#[test]
fn every_fetch_setting_has_a_variable() {
    let s = Scratch::new();
    let vars = [
        ("TRENDLAKE_TIMEOUT_SECS", "timeout_secs", "12.5"),
        ("TRENDLAKE_MAX_ATTEMPTS", "max_attempts", "3"),
        ("TRENDLAKE_RETRY_MIN_DELAY_MS", "retry_min_delay_ms", "250"),
        ("TRENDLAKE_REGION_BUDGET_SECS", "region_budget_secs", "60"),
        ("TRENDLAKE_PER_REGION", "per_region", "50"),
        ("TRENDLAKE_QUOTA_BUDGET", "quota_budget", "100"),
        ("TRENDLAKE_MAX_RPS", "max_rps", "2"),
        ("TRENDLAKE_WAREHOUSE", "warehouse", "/srv/wh.duckdb"),
        (
            "YOUTUBE_API_BASE_URL",
            "api_base_url",
            "http://127.0.0.1:9/youtube/v3",
        ),
    ];
    let env: Vec<(&str, &str)> = vars.iter().map(|(var, _, v)| (*var, *v)).collect();
    let text = config(s.dir.path(), &[], &env);
    let expected: Vec<(&str, &str, String)> = vars
        .iter()
        .map(|(var, key, v)| (*key, *v, format!("env {var}")))
        .collect();
    let expected: Vec<(&str, &str, &str)> = expected
        .iter()
        .map(|(k, v, o)| (*k, *v, o.as_str()))
        .collect();
    assert_settings(&text, &expected);
}

#[test]
fn config_output_shape_and_the_key_stays_secret() {
    let s = Scratch::new();
    let file = s.dir.path().join("trendlake.toml");
    std::fs::write(&file, FILE).unwrap();
    let out = tl(s.dir.path())
        .args(["config", "--config", &file.display().to_string()])
        .env("YOUTUBE_API_KEY", "AIzaSECRET-never-shown")
        .env("TRENDLAKE_MAX_RPS", "4")
        .args(["--per-region", "100"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = out_str(&out.stdout);
    assert!(!text.contains("AIzaSECRET"), "{text}");
    assert!(!out_str(&out.stderr).contains("AIzaSECRET"));
    assert_eq!(
        setting(&text, "api_key"),
        ("[REDACTED]".into(), "env YOUTUBE_API_KEY".into())
    );
    // An unset date is the snapshot's date: today's, in UTC.
    let (date, origin) = setting(&text, "date");
    let today = [
        chrono::Utc::now(),
        chrono::Utc::now() - chrono::Duration::seconds(5),
    ]
    .map(|t| t.date_naive().to_string());
    assert!(today.contains(&date), "{date}");
    assert_eq!(origin, "default (today, UTC)");
    let dir = s.dir.path().display().to_string();
    insta::with_settings!({filters => vec![(dir.as_str(), "[DIR]"), (date.as_str(), "YYYY-MM-DD")]}, {
        insta::assert_snapshot!("config_output", text);
    });
}

#[test]
fn config_shows_the_settings_then_refuses_what_run_would_refuse() {
    let s = Scratch::new();
    let out = run_in(s.dir.path(), &["config"], 2);
    assert_eq!(
        setting(&out_str(&out.stdout), "api_key"),
        ("(none)".into(), "unset".into())
    );
    assert!(out_str(&out.stderr).contains("no API key"));
}

#[test]
fn a_bad_config_file_names_the_file_line_and_key() {
    let s = Scratch::new();
    let file = s.dir.path().join("bad.toml");
    let file_s = file.display().to_string();
    let cases = [
        // Malformed TOML: the line of the syntax error.
        (
            "concurrency = 5\nregions = [\"JP\",\nlake = 3 3\n",
            vec!["line 3"],
        ),
        // A value of the wrong kind.
        (
            "lake = \"x\"\n\nconcurrency = \"many\"\n",
            vec!["line 3", "key `concurrency`", "many"],
        ),
        // A key trendlake does not know (a typo).
        (
            "concurency = 5\n",
            vec!["line 1", "key `concurency`", "unknown setting"],
        ),
        // A flag that takes no value.
        (
            "only_missing = \"yes\"\n",
            vec!["line 1", "key `only_missing`"],
        ),
    ];
    for (body, needles) in cases {
        std::fs::write(&file, body).unwrap();
        let out = run_in(s.dir.path(), &["run", "--config", &file_s], 2);
        let err = out_str(&out.stderr);
        assert!(err.contains(&file_s), "{body:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{body:?}: {needle:?} in {err}");
        }
        assert!(
            !s.dir.path().join("data").exists(),
            "nothing written for {body:?}"
        );
    }
    // A value of the right kind that validation refuses names where it came from.
    std::fs::write(&file, "regions = [\"JP\"]\nconcurrency = 0\n").unwrap();
    let out = run_in(s.dir.path(), &["run", "--config", &file_s], 2);
    let err = out_str(&out.stderr);
    assert!(
        err.contains(&format!("concurrency ({file_s} line 2) must be at least 1")),
        "{err}"
    );
    // A file that is not there.
    let out = run_in(s.dir.path(), &["run", "--config", "missing.toml"], 2);
    assert!(out_str(&out.stderr).contains("missing.toml"));
    assert!(!s.dir.path().join("data").exists());
}

#[test]
fn another_date_against_the_real_api_is_refused_and_writes_nothing() {
    let s = Scratch::new();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let out = run_in(
        s.dir.path(),
        &[
            "run",
            "--date",
            &yesterday,
            "--api-key",
            "k",
            "--lake",
            &s.lake().display().to_string(),
            "--warehouse",
            &s.warehouse().display().to_string(),
        ],
        2,
    );
    let err = out_str(&out.stderr);
    assert!(
        err.contains(&format!(
            "the API serves the current chart; it would be stored as {yesterday}"
        )),
        "{err}"
    );
    assert!(err.contains("--date-anyway"), "{err}");
    assert!(!s.lake().exists());
    assert!(!s.warehouse().exists());
    assert!(tree(s.dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_an_event_per_region() {
    let api = fake(date("2026-11-20"), |c| {
        c.faults = trendlake_fake_api::parse_faults(
            r#"{"faults": [{"region": "KR", "kind": "bad_key", "times": 0}]}"#,
        )
        .unwrap();
    })
    .await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            "2026-11-20",
            &["--regions", "JP,KR,US", "--log-format", "json"],
        )
        .await;
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(!err.contains('\x1b'), "no ANSI codes in a pipe");
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{err}")))
        .collect();
    let regions: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "trendlake::region")
        .collect();
    let mut names: Vec<&str> = regions
        .iter()
        .map(|e| e["region"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["JP", "KR", "US"]);
    let kr = regions.iter().find(|e| e["region"] == "KR").unwrap();
    assert_eq!(kr["status"], "failed");
    assert_eq!(kr["error_http_status"], 400);
    let summaries: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "trendlake::run")
        .collect();
    assert_eq!(summaries.len(), 1, "{err}");
    let mut summary = summaries[0].clone();
    // Written before the merge, so a merge that fails or is killed cannot take it with it.
    assert_eq!(summary["merge_status"], "pending");
    // The merge's event follows, with the fields the merge settles.
    let merges: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "trendlake::merge")
        .collect();
    assert_eq!(merges.len(), 1, "{err}");
    assert_eq!(merges[0]["merge_status"], "merged");
    for key in [
        "merge_status",
        "merge_snapshots",
        "merge_rows",
        "merge_tracked_rows",
        "merge_ms",
        "outcome",
        "exit_code",
    ] {
        summary[key] = merges[0][key].clone();
    }
    // The report was rewritten when the merge ended.
    summary["finished_at"] = serde_json::Value::Null;

    // The summary (with the merge's fields) carries the run report's fields, with the same values.
    let path = summary["run_report_path"]
        .as_str()
        .expect("run report path logged");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for (key, value) in report.as_object().unwrap() {
        match value {
            serde_json::Value::Array(items) if key == "regions" => {
                assert_eq!(items.len(), regions.len())
            }
            serde_json::Value::Array(items) => {
                let joined: Vec<&str> = items.iter().map(|v| v.as_str().unwrap()).collect();
                assert_eq!(summary[key], joined.join(","), "{key}");
            }
            serde_json::Value::Object(fields) => {
                for (sub, v) in fields {
                    assert_eq!(&summary[format!("{key}_{sub}")], v, "{key}.{sub}");
                }
            }
            _ if key == "finished_at" => assert!(summary[key].is_null()),
            _ if key.ends_with("_at") => {
                let logged = chrono::DateTime::parse_from_rfc3339(summary[key].as_str().unwrap());
                let written = chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap());
                assert_eq!(logged.unwrap(), written.unwrap(), "{key}");
            }
            _ => assert_eq!(&summary[key], value, "{key}"),
        }
    }
    assert_eq!(summary["regions_ok"], 2);
    assert_eq!(summary["regions_failed"], 1);
}

/// A field name means one thing in every JSON event of a run: the run report's JSON is
/// `run_report_path` in the run's, the merge's and the report's events alike, the HTML page
/// `report_html_path` and its index `report_index_path`; no event has a bare `report_path`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_paths_name_what_they_point_at() {
    let day = "2026-11-20";
    let api = fake(date(day), |_| {}).await;
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            day,
            &["--regions", "JP", "--report", "--log-format", "json"],
        )
        .await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    let event = |target: &str| {
        let found: Vec<&serde_json::Value> =
            events.iter().filter(|e| e["target"] == target).collect();
        assert_eq!(found.len(), 1, "one {target} event in\n{err}");
        found[0]
    };
    let file = |v: &serde_json::Value| {
        let path = v.as_str().unwrap_or_else(|| panic!("a path: {v}"));
        std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let runs: Vec<std::path::PathBuf> =
        std::fs::read_dir(s.lake().join(format!("_runs/snapshot_date={day}")))
            .unwrap()
            .map(|e| e.unwrap().path().canonicalize().unwrap())
            .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    for target in ["trendlake::run", "trendlake::merge", "trendlake::report"] {
        let e = event(target);
        assert_eq!(file(&e["run_report_path"]), runs[0], "{target}: {e}");
        assert!(e.get("report_path").is_none(), "{target}: {e}");
    }
    let report = event("trendlake::report");
    assert_eq!(report["report_status"], "written");
    let reports = s.lake().join("_reports").canonicalize().unwrap();
    assert_eq!(
        file(&report["report_html_path"]),
        reports.join(format!("snapshot_date={day}/report.html"))
    );
    assert_eq!(
        file(&report["report_index_path"]),
        reports.join("index.html")
    );
    // Whatever event a `*_path` field is in, it names the same file.
    let mut seen: std::collections::BTreeMap<&str, &serde_json::Value> = Default::default();
    for e in &events {
        for (key, value) in e.as_object().unwrap() {
            if key.ends_with("_path") && !value.is_null() {
                let first = *seen.entry(key).or_insert(value);
                assert_eq!(first, value, "{key} names two things:\n{err}");
            }
        }
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        [
            "file_path",
            "report_html_path",
            "report_index_path",
            "run_report_path"
        ]
    );
}

#[test]
fn json_mode_reports_usage_errors_as_json() {
    let s = Scratch::new();
    let out = run_in(
        s.dir.path(),
        &["run", "--regions", "XX", "--log-format", "json"],
        2,
    );
    let err = out_str(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let event: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["exit_code"], 2);
    assert!(event["message"].as_str().unwrap().contains("XX"));
}

#[test]
fn json_mode_reports_a_bad_config_file_as_json() {
    let s = Scratch::new();
    let file = s.dir.path().join("bad.toml");
    std::fs::write(&file, "concurrency = \"many\"\n").unwrap();
    let file = file.display().to_string();
    let out = run_in(
        s.dir.path(),
        &["run", "--config", &file, "--log-format", "json"],
        2,
    );
    let err = out_str(&out.stderr);
    let event: serde_json::Value = serde_json::from_str(err.trim()).expect("one JSON line");
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["exit_code"], 2);
    let message = event["message"].as_str().unwrap();
    assert!(
        message.contains(&file) && message.contains("line 1"),
        "{message}"
    );
}

/// A config file that sets `log_format = "json"` gets its own errors as one JSON line too, even
/// one that does not parse; a flag or a variable still wins over it.
#[test]
fn a_config_file_that_asks_for_json_logs_gets_its_errors_as_json() {
    let s = Scratch::new();
    let file = s.dir.path().join("trendlake.toml");
    let file_s = file.display().to_string();
    for (body, at) in [
        // A bad value, an unknown key, a syntax error: each on line 2.
        (
            "log_format = \"json\"\nconcurrency = \"many\"\n",
            "line 2, key `concurrency`",
        ),
        (
            "log_format = \"json\"\nconcurency = 5\n",
            "line 2, key `concurency`",
        ),
        ("log_format = \"json\"\nlake = 3 3\n", "line 2: "),
    ] {
        std::fs::write(&file, body).unwrap();
        let expected = format!("config file {file_s}, {at}");
        let out = run_in(s.dir.path(), &["run", "--config", &file_s], 2);
        let err = out_str(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{body:?}: {err}");
        let event: serde_json::Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("{body:?}: not JSON ({e}): {err}"));
        assert_eq!(event["level"], "ERROR", "{event}");
        assert_eq!(event["exit_code"], 2, "{event}");
        let message = event["message"].as_str().unwrap();
        assert!(message.starts_with(&expected), "{body:?}: {message}");
        // The command line's format, or the environment's, wins over the file's.
        let flag = run_in(
            s.dir.path(),
            &["run", "--config", &file_s, "--log-format", "text"],
            2,
        );
        let env = tl(s.dir.path())
            .args(["run", "--config", &file_s])
            .env("TRENDLAKE_LOG_FORMAT", "text")
            .assert()
            .code(2)
            .get_output()
            .clone();
        for out in [flag, env] {
            let err = out_str(&out.stderr);
            assert!(
                err.starts_with(&format!("trendlake: error: {expected}")),
                "{body:?}: {err}"
            );
        }
    }
}

/// `demo` (and `fake-api`) read no config file: a file's regions, lake and log format are all
/// ignored, with a warning, however the file is named; a broken one does not stop them.
#[test]
fn demo_ignores_the_config_file_and_says_so() {
    let s = Scratch::new();
    let file = s.dir.path().join("trendlake.toml");
    let file_lake = s.dir.path().join("lake-from-file");
    std::fs::write(
        &file,
        format!(
            "regions = [\"KR\"]\nlake = \"{}\"\nlog_format = \"json\"\n",
            file_lake.display()
        ),
    )
    .unwrap();
    let file_s = file.display().to_string();
    let dir = s.dir.path().join("demo");
    let dir_s = dir.display().to_string();
    let demo = ["demo", "--days", "1", "--regions", "JP", "--dir", &dir_s];
    let warning = format!(
        "trendlake: warning: demo reads no config file, so {file_s} is ignored (log_format \
         included): its settings are its own flags alone"
    );
    let by_flag = run_in(
        s.dir.path(),
        &[&demo[..], &["--config", &file_s]].concat(),
        0,
    );
    let by_env = tl(s.dir.path())
        .args(demo)
        .env("TRENDLAKE_CONFIG", &file_s)
        .assert()
        .code(0)
        .get_output()
        .clone();
    for out in [by_flag, by_env] {
        let err = out_str(&out.stderr);
        // Text, not the file's JSON; the warning first, once.
        assert_eq!(err.lines().next(), Some(warning.as_str()), "{err}");
        assert_eq!(err.matches("demo reads no config file").count(), 1, "{err}");
        assert!(!err.contains('{'), "{err}");
    }
    // The demo's own lake, with the demo's own regions; nothing where the file points.
    assert!(!file_lake.exists());
    let snapshot = dir.join("lake/videos");
    let day = std::fs::read_dir(&snapshot)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_complete_snapshot(&day.join("videos.parquet"), &["JP"]);
    // A broken file does not stop what does not read it.
    std::fs::write(&file, "regions = [\n").unwrap();
    let out = run_in(
        s.dir.path(),
        &[&demo[..], &["--config", &file_s]].concat(),
        0,
    );
    assert_eq!(out_str(&out.stderr).lines().next(), Some(warning.as_str()));
    let out = run_in(s.dir.path(), &["regions", "--config", &file_s], 0);
    assert_eq!(out_str(&out.stderr), "");
}

/// `forget` reads the lake and the warehouse from the config file, as every command with them
/// does.
#[test]
fn forget_takes_the_lake_from_the_config_file() {
    let s = Scratch::new();
    let file = s.dir.path().join("trendlake.toml");
    let lake = s.dir.path().join("lake-from-file");
    std::fs::write(&file, format!("lake = \"{}\"\n", lake.display())).unwrap();
    let file_s = file.display().to_string();
    let out = run_in(
        s.dir.path(),
        &["forget", "--config", &file_s, "--date", "2026-11-20"],
        2,
    );
    let err = out_str(&out.stderr);
    assert!(err.contains(&lake.display().to_string()), "{err}");
    assert!(!err.contains("data/lake"), "{err}");
}

#[test]
fn completions_for_every_shell() {
    let s = Scratch::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run_in(s.dir.path(), &["completions", shell], 0);
        let text = out_str(&out.stdout);
        assert!(text.contains("trendlake"), "{shell}");
        assert!(text.contains("concurrency"), "{shell} completes flags");
        assert!(text.contains("snapshot"), "{shell} completes commands");
    }
    tl(s.dir.path())
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}

#[test]
fn man_pages() {
    let s = Scratch::new();
    let out = run_in(s.dir.path(), &["man"], 0);
    let page = out_str(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH trendlake"),
        "{page}"
    );
    assert!(page.contains("snapshot"));
    let dir = s.dir.path().join("man");
    tl(s.dir.path())
        .args(["man", "--dir", &dir.display().to_string()])
        .assert()
        .success();
    let run = std::fs::read_to_string(dir.join("trendlake-run.1")).unwrap();
    assert!(run.contains("concurrency"), "{run}");
    assert!(dir.join("trendlake.1").exists());
    assert!(dir.join("trendlake-config.1").exists());
}

#[test]
fn regions_lists_every_supported_code_with_its_name_and_time_zone() {
    let s = Scratch::new();
    let out = run_in(s.dir.path(), &["regions"], 0);
    let text = out_str(&out.stdout);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(lines.len(), trendlake::regions::regions().len());
    assert!(lines.iter().all(|l| l.len() == 3), "{text}");
    assert!(lines.contains(&vec!["JP", "Japan", "Asia/Tokyo"]), "{text}");
    assert!(
        lines.contains(&vec!["US", "United States", "America/New_York"]),
        "{text}"
    );
    assert!(
        lines.contains(&vec!["VN", "Vietnam", "Asia/Ho_Chi_Minh"]),
        "{text}"
    );
}

#[test]
fn help_of_every_command() {
    let s = Scratch::new();
    let commands = [
        vec![],
        vec!["run"],
        vec!["snapshot"],
        vec!["merge"],
        vec!["rebuild"],
        vec!["forget"],
        vec!["check"],
        vec!["query"],
        vec!["report"],
        vec!["ddl"],
        vec!["demo"],
        vec!["fake-api"],
        vec!["config"],
        vec!["completions"],
        vec!["man"],
        vec!["regions"],
    ];
    for command in commands {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let out = run_in(s.dir.path(), &args, 0);
        let text = out_str(&out.stdout);
        let name = if command.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", command[0].replace('-', "_"))
        };
        // Every command's own exit codes (tests/it/readme.rs holds them to docs/operations.md).
        assert!(text.contains("Exit codes"), "{text}");
        if matches!(command.first(), None | Some(&"run") | Some(&"snapshot")) {
            assert!(text.contains("TRENDLAKE_LOG"), "{text}");
        }
        if command.first() == Some(&"rebuild") {
            assert!(
                !text.contains("--report") && !text.contains(" 3 "),
                "{text}"
            );
        }
        if command.first() == Some(&"run") {
            assert!(
                text.contains("[default: JP,KR,TW,SG,VN,TH,HK,US,GB]"),
                "lists print as typed: {text}"
            );
            assert!(text.contains("TRENDLAKE_TIMEOUT_SECS"), "{text}");
        }
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn snapshot_takes_no_warehouse() {
    let s = Scratch::new();
    let out = run_in(s.dir.path(), &["snapshot", "--warehouse", "x.duckdb"], 2);
    assert!(out_str(&out.stderr).contains("--warehouse"));
}

#[test]
fn no_progress_bar_or_colour_reaches_a_pipe() {
    let s = Scratch::new();
    let dir = s.dir.path().join("demo");
    let dir = dir.display().to_string();
    let args = ["demo", "--days", "2", "--regions", "JP", "--dir", &dir];
    let out = run_in(s.dir.path(), &args, 0);
    let err = out_str(&out.stderr);
    assert!(
        err.contains("2/2") || err.contains("1/1 regions ok") || err.contains("charts ok"),
        "{err}"
    );
    assert!(!err.contains("nights"), "no progress bar in a pipe: {err}");
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    assert!(!out_str(&out.stdout).contains('\x1b'));
}

#[test]
fn the_example_config_file_is_valid() {
    let s = Scratch::new();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/trendlake.toml");
    let example = example.display().to_string();
    let text = config(s.dir.path(), &["--config", &example], &[]);
    let from_file: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("file {example}:")))
        .collect();
    assert_eq!(
        from_file.len(),
        11,
        "every key of the example is used:\n{text}"
    );
    let line = std::fs::read_to_string(&example)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("quota_budget = 200"))
        .expect("the example sets quota_budget")
        + 1;
    assert_settings(
        &text,
        &[("quota_budget", "200", &format!("file {example}:{line}"))],
    );
}
