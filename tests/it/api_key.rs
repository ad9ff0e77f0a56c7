//! The API key never leaks: it is not sent over plain HTTP to another host (refused with exit 2
//! before any request), and a config file holding it that other users can read draws a warning.
//! Black-box, through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::*;

const SECRET: &str = "AIzaSECRET-api-key-test-0123456789";

/// TEST-NET-1 (RFC 5737): routed nowhere, so a request sent there would never be answered.
const PLAIN: &str = "http://192.0.2.1:9/youtube/v3";

/// `trendlake ARGS` in `dir` with `env` and nothing of the caller's settings.
fn tl(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    command(&args, &env)
        .current_dir(dir)
        .output()
        .expect("binary runs")
}

#[track_caller]
fn assert_key_not_shown(o: &Output) {
    assert!(
        !stdout(o).contains(SECRET) && !stderr(o).contains(SECRET),
        "the key was printed; stderr:\n{}\nstdout:\n{}",
        stderr(o),
        stdout(o)
    );
}

/// A config file `body` at `dir/name` with permissions `mode`.
fn config_file(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A command, its arguments and its environment.
type Case<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)]);

#[test]
fn a_key_over_plain_http_to_another_host_is_refused_before_any_request() {
    let s = Scratch::new();
    let dir = s.dir.path();
    let lake = s.lake().display().to_string();
    let warehouse = s.warehouse().display().to_string();
    let file = config_file(
        dir,
        "plain.toml",
        &format!("api_key = \"{SECRET}\"\napi_base_url = \"{PLAIN}\"\n"),
        0o600,
    );
    let file = file.display().to_string();
    // Should a request go out after all, it fails fast (exit 1 or 3, a lake written) rather
    // than hang.
    let quick = [
        "--regions",
        "JP",
        "--lake",
        &lake,
        "--timeout-secs",
        "1",
        "--max-attempts",
        "1",
        "--region-budget-secs",
        "2",
    ];
    let key_env = [("YOUTUBE_API_KEY", SECRET)];
    let both_env = [("YOUTUBE_API_KEY", SECRET), ("YOUTUBE_API_BASE_URL", PLAIN)];
    let cases: [Case; 5] = [
        (
            "run",
            vec![
                "--api-key",
                SECRET,
                "--api-base-url",
                PLAIN,
                "--warehouse",
                &warehouse,
            ],
            &[],
        ),
        ("run", vec!["--api-base-url", PLAIN], &key_env),
        ("snapshot", vec![], &both_env),
        ("snapshot", vec!["--config", &file], &[]),
        ("config", vec!["--api-base-url", PLAIN], &key_env),
    ];
    for (command, args, env) in cases {
        let argv: Vec<&str> = [command].into_iter().chain(args).chain(quick).collect();
        let started = std::time::Instant::now();
        let out = tl(dir, &argv, env);
        assert_exit(&out, 2);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{argv:?} took {:?}",
            started.elapsed()
        );
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(&format!("{PLAIN:?}")), "names the URL: {err}");
        assert!(
            err.contains("use an https:// URL, or a loopback one"),
            "says what to do: {err}"
        );
        assert_key_not_shown(&out);
        assert!(!s.lake().exists(), "{argv:?} made the lake");
        assert!(!s.warehouse().exists(), "{argv:?} made the warehouse");
        let left: Vec<PathBuf> = tree(dir).into_keys().collect();
        assert_eq!(left, [dir.join("plain.toml")], "{argv:?} wrote something");
    }
    // In JSON mode, the refusal is the one ERROR event, with its exit code.
    let argv: Vec<&str> = ["run", "--api-base-url", PLAIN, "--log-format", "json"]
        .into_iter()
        .chain(quick)
        .collect();
    let out = tl(dir, &argv, &key_env);
    assert_exit(&out, 2);
    assert_key_not_shown(&out);
    let event: serde_json::Value =
        serde_json::from_str(stderr(&out).trim()).expect("one JSON line");
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["exit_code"], 2);
    assert!(
        event["message"].as_str().unwrap().contains(PLAIN),
        "{event}"
    );
    assert!(!s.lake().exists());
}

#[test]
fn a_key_over_https_to_another_host_passes_validation() {
    // `config` validates as `run` would, and never connects.
    let s = Scratch::new();
    let https = "https://192.0.2.1:9/youtube/v3";
    let out = tl(
        s.dir.path(),
        &["config", "--api-base-url", https],
        &[("YOUTUBE_API_KEY", SECRET)],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(https), "{}", stdout(&out));
    assert_eq!(stderr(&out), "");
    assert_key_not_shown(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_plain_http_to_loopback_works() {
    // The fake takes this key only: a complete run proves it was sent.
    let api = fake(date("2026-11-20"), |c| c.api_key = Some(SECRET.to_string())).await;
    assert!(api.base_url().starts_with("http://127.0.0.1:"));
    let s = Scratch::new();
    let out = s
        .run(
            &api.base_url(),
            "2026-11-20",
            &["--regions", "JP", "--api-key", SECRET],
        )
        .await;
    assert_exit(&out, 0);
    assert_key_not_shown(&out);
    assert_complete_snapshot(&s.snapshot_file("2026-11-20"), &["JP"]);
    assert!(api.requests() >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_with_the_key_open_to_others_draws_a_warning_and_the_run_goes_on() {
    let api = fake(date("2026-11-20"), |c| c.api_key = Some(SECRET.to_string())).await;
    let s = Scratch::new();
    let file = config_file(
        s.dir.path(),
        "shared.toml",
        &format!("regions = [\"JP\"]\napi_key = \"{SECRET}\"\n"),
        0o644,
    );
    let path = file.display().to_string();
    let out = s
        .run(&api.base_url(), "2026-11-20", &["--config", &path])
        .await;
    // The key from the file was used: the fake accepts no other.
    assert_exit(&out, 0);
    assert_complete_snapshot(&s.snapshot_file("2026-11-20"), &["JP"]);
    assert_key_not_shown(&out);
    let err = stderr(&out);
    let warning = err
        .lines()
        .find(|l| l.starts_with("trendlake: warning:"))
        .unwrap_or_else(|| panic!("no warning in\n{err}"));
    assert!(warning.contains(&path), "names the file: {warning}");
    assert!(warning.contains("mode 0644"), "{warning}");
    assert!(
        warning.contains(&format!("`chmod 600 {path}`")),
        "says what to do: {warning}"
    );
}

#[test]
fn the_warning_is_a_json_event_in_json_mode() {
    let s = Scratch::new();
    // The file itself asks for JSON: the warning, found while reading it, waits for the format.
    let file = config_file(
        s.dir.path(),
        "group.toml",
        &format!("log_format = \"json\"\napi_key = \"{SECRET}\"\n"),
        0o640,
    );
    let path = file.display().to_string();
    let out = tl(s.dir.path(), &["config", "--config", &path], &[]);
    assert_exit(&out, 0);
    assert_key_not_shown(&out);
    let err = stderr(&out);
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    assert_eq!(events.len(), 1, "{err}");
    assert_eq!(events[0]["level"], "WARN");
    let message = events[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`chmod 600 {path}`")),
        "{message}"
    );
    assert!(message.contains("mode 0640"), "{message}");
}

#[test]
fn no_warning_for_a_private_file_or_one_without_the_key() {
    let s = Scratch::new();
    let dir = s.dir.path();
    let with_key = format!("regions = [\"JP\"]\napi_key = \"{SECRET}\"\n");
    for (name, body, mode, env) in [
        ("private.toml", with_key.as_str(), 0o600, None),
        ("read-only.toml", with_key.as_str(), 0o400, None),
        (
            "no-key.toml",
            "regions = [\"JP\"]\n",
            0o644,
            Some(("YOUTUBE_API_KEY", SECRET)),
        ),
    ] {
        let file = config_file(dir, name, body, mode).display().to_string();
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let out = tl(dir, &["config", "--config", &file], &env);
        assert_exit(&out, 0);
        assert_eq!(stderr(&out), "", "{name} at {mode:o}");
        assert_key_not_shown(&out);
    }
    // The file is open to others whichever key wins: a flag's or the environment's key does
    // not make the one in the file safe.
    let file = config_file(dir, "overridden.toml", &with_key, 0o604)
        .display()
        .to_string();
    let out = tl(
        dir,
        &["config", "--config", &file, "--api-key", "another-key"],
        &[],
    );
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains(&format!("`chmod 600 {file}`")),
        "{}",
        stderr(&out)
    );
    assert_key_not_shown(&out);
}
