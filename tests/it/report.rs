//! `trendlake report` and `run --report`, black-box: the real binary on a history of the fake
//! with a missing day, around the source change of 2025-07-21 (the Trending page's retirement),
//! so the report's gap marks, per-day gains and dated annotations all have something to show.
//! The numbers in the page are compared with `trendlake query` on the same warehouse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::history::{once_per_process, query_args, run_nights};
use crate::query_formats::{mode, names, under_umask};
use crate::support::{
    Moto, Scratch, assert_exit, date, fake, stderr, stdout, trendlake, trendlake_env,
};

pub const FIRST: &str = "2025-07-10";
pub const LAST: &str = "2025-07-23";
/// No snapshot of any region on this day.
pub const MISSING: &str = "2025-07-16";
/// The day after the gap: every region's previous snapshot is two days before it.
pub const AFTER_GAP: &str = "2025-07-17";
pub const REGIONS: [&str; 9] = ["GB", "HK", "JP", "KR", "SG", "TH", "TW", "US", "VN"];

/// The report tests' history: nine regions, every night of [`FIRST`]..=[`LAST`] but
/// [`MISSING`], built once per test process by `trendlake run` against the fake.
pub struct ReportHistory {
    pub warehouse: PathBuf,
}

pub fn report_history() -> &'static ReportHistory {
    static HISTORY: OnceLock<ReportHistory> = OnceLock::new();
    once_per_process(&HISTORY, build)
}

async fn build() -> ReportHistory {
    // With two category charts a night, for the report's "category charts" panel.
    let (scratch, _) = run_nights(
        "report-history",
        date(FIRST),
        date(LAST),
        date(MISSING),
        &["--categories", "10,25"],
    )
    .await;
    // The scratch's TempDir would remove the files when dropped; the history outlives it.
    let kept = scratch.dir.keep();
    ReportHistory {
        warehouse: kept.join("wh.duckdb"),
    }
}

/// `trendlake report --warehouse W --date D --output F`'s arguments.
fn report_args(warehouse: &Path, day: &str, output: &Path) -> Vec<String> {
    [
        "report",
        "--warehouse",
        &warehouse.display().to_string(),
        "--date",
        day,
        "--output",
        &output.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// `trendlake report --date D --output <dir>/report-D.html` on `warehouse`; the page.
pub async fn report_page(warehouse: &Path, day: &str, dir: &Path) -> String {
    let out_file = dir.join(format!("report-{day}.html"));
    let out = trendlake(report_args(warehouse, day, &out_file)).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains(&format!("report of {day} written to")),
        "{}",
        stderr(&out)
    );
    std::fs::read_to_string(&out_file).unwrap()
}

/// `trendlake query --name NAME --param … --format json` on `warehouse`, as JSON records.
pub async fn query_json(warehouse: &Path, name: &str, params: &[String]) -> Vec<Value> {
    let out = trendlake(query_args(warehouse, "json", name, params)).await;
    assert_exit(&out, 0);
    match serde_json::from_slice(&out.stdout).unwrap() {
        Value::Array(rows) => rows,
        other => panic!("not an array: {other}"),
    }
}

/// The attributes of every start tag that carries `marker` (e.g. `data-panel="top_movers"`).
pub fn tags(html: &str, marker: &str) -> Vec<BTreeMap<String, String>> {
    html.match_indices(marker)
        .map(|(i, _)| {
            let start = html[..i].rfind('<').unwrap();
            let end = i + html[i..].find('>').unwrap();
            attributes(&html[start + 1..end])
        })
        .collect()
}

fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag.split_once(char::is_whitespace).map_or("", |(_, r)| r);
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq]
            .trim()
            .rsplit(char::is_whitespace)
            .next()
            .unwrap();
        let after = &rest[eq + 2..];
        let close = after.find('"').unwrap();
        out.insert(name.to_string(), unescape(&after[..close]));
        rest = &after[close + 1..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The dates an `_reports/index.html` links to, in its order (each link checked to be the
/// date's page, relative to the index).
fn index_links(index: &str) -> Vec<String> {
    tags(index, "href=\"")
        .iter()
        .map(|t| {
            let href = &t["href"];
            href.strip_prefix("snapshot_date=")
                .and_then(|h| h.strip_suffix("/report.html"))
                .unwrap_or_else(|| panic!("not a report's link: {href}"))
                .to_string()
        })
        .collect()
}

/// The values of `names` in each of `tags`.
fn attrs(tags: &[BTreeMap<String, String>], names: &[&str]) -> Vec<Vec<String>> {
    tags.iter()
        .map(|t| names.iter().map(|n| t[*n].clone()).collect())
        .collect()
}

/// The values of `names` in each JSON row, as the page writes them.
fn fields(rows: &[Value], names: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| names.iter().map(|n| num(&r[*n])).collect())
        .collect()
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn the_day_after_a_gap_has_every_region_gains_per_day_and_the_gap_marked() {
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    let html = report_page(&h.warehouse, AFTER_GAP, dir.path()).await;
    for region in REGIONS {
        assert!(
            html.contains(&format!("id=\"region-{region}\"")),
            "{region}"
        );
        // The gap: a "no data" column in every bump chart, a missing coverage cell, and no line
        // across it.
        let gap_cells: Vec<_> = tags(
            &html,
            &format!("data-region=\"{region}\" data-from=\"{MISSING}\""),
        );
        assert_eq!(gap_cells.len(), 1, "{region}");
        assert_eq!(gap_cells[0]["data-state"], "missing");
    }
    assert_eq!(
        html.matches(&format!("data-missing-date=\"{MISSING}\""))
            .count(),
        REGIONS.len()
    );
    let charts: Vec<String> = tags(&html, "class=\"chart bump\"")
        .iter()
        .map(|t| t["data-region"].clone())
        .collect();
    assert_eq!(charts, REGIONS, "one bump chart a region");
    assert!(!html.contains("data-from=\"2025-07-15\" data-to=\"2025-07-17\""));

    // Top movers: the page's numbers are the query's, the gain spans two days and the per-day
    // gain is half of it.
    let rows = query_json(
        &h.warehouse,
        "top_movers",
        &[format!("date={AFTER_GAP}"), "limit=5".into()],
    )
    .await;
    let shown = tags(&html, "data-panel=\"top_movers\"");
    assert_eq!(shown.len(), rows.len());
    assert_eq!(rows.len(), 5 * REGIONS.len());
    for (tag, row) in shown.iter().zip(&rows) {
        assert_eq!(tag["data-region"], row["region"].as_str().unwrap());
        assert_eq!(tag["data-video-id"], row["video_id"].as_str().unwrap());
        assert_eq!(tag["data-rank"], num(&row["rank"]));
        assert_eq!(tag["data-view-gain"], num(&row["view_gain"]));
        assert_eq!(tag["data-days-since-previous"], "2");
        let gain: f64 = tag["data-view-gain"].parse().unwrap();
        let per_day: f64 = tag["data-gain-per-day"].parse().unwrap();
        assert_eq!(per_day, row["gain_per_day"].as_f64().unwrap());
        assert_eq!(per_day, (gain / 2.0 * 10.0).round() / 10.0);
    }
    // Each region says its previous snapshot is two days back, a gap.
    assert_eq!(html.matches("2 days earlier: a gap").count(), REGIONS.len());
}

#[tokio::test]
async fn the_page_is_self_contained_and_escapes_what_it_shows() {
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    let html = report_page(&h.warehouse, LAST, dir.path()).await;
    for banned in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        " src=",
        "url(",
        "@import",
        "href=\"http",
        "href=\"//",
    ] {
        assert!(!html.contains(banned), "the page contains {banned:?}");
    }
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
    ));
    // Every link stays on the page.
    for (i, _) in html.match_indices("href=\"") {
        assert!(html[i + 6..].starts_with('#'), "{}", &html[i..i + 40]);
    }
    // The fake's titles in CJK, Thai and Arabic reach the page as text (escaped, not mangled).
    assert!(
        html.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)),
        "Japanese kana"
    );
    assert!(
        html.chars().any(|c| ('\u{0e00}'..='\u{0e7f}').contains(&c)),
        "Thai"
    );
    assert!(
        html.chars().any(|c| ('\u{0600}'..='\u{06ff}').contains(&c)),
        "Arabic"
    );
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
}

#[tokio::test]
async fn the_retirement_of_the_trending_page_is_noted_and_marked_on_the_axes() {
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    let html = report_page(&h.warehouse, LAST, dir.path()).await;
    let notes: Vec<String> = tags(&html, "data-annotation=\"")
        .iter()
        .map(|t| t["data-annotation"].clone())
        .collect();
    assert_eq!(notes, ["2021-12-13", "2025-03-31", "2025-07-21"]);
    assert!(html.contains("Trending page retired"));
    // Marked on every region's bump chart and on the coverage strip.
    assert_eq!(
        html.matches("data-annotation-date=\"2025-07-21\"").count(),
        REGIONS.len() + 1
    );
    // A report from before the change neither lists nor marks it.
    let before = report_page(&h.warehouse, "2025-07-20", dir.path()).await;
    assert!(
        !before.contains("data-annotation=\"2025-07-21\""),
        "a later change is listed"
    );
    assert!(
        !before.contains("data-annotation-date=\"2025-07-21\""),
        "a later change is marked"
    );
    assert!(!before.contains("Trending page retired"));
    assert!(before.contains("data-annotation=\"2025-03-31\""));
    // An older date than the warehouse's latest says that the later snapshots are left out.
    assert!(before.contains(&format!("data-later-data=\"{LAST}\"")));
    assert!(!html.contains("data-later-data"));
}

#[tokio::test]
async fn an_older_date_spreads_and_survives_as_that_night_saw_it() {
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    let html = report_page(&h.warehouse, AFTER_GAP, dir.path()).await;
    let as_of = format!("date={AFTER_GAP}");

    // The spread panel: cross_region as of the date, arrivals since the window's first day.
    let since = date(AFTER_GAP) - chrono::Duration::days(13);
    let rows = query_json(
        &h.warehouse,
        "cross_region",
        &[as_of.clone(), format!("since={since}"), "limit=10".into()],
    )
    .await;
    assert_eq!(rows.len(), 10);
    let shown = attrs(
        &tags(&html, "data-spread data-video-id"),
        &["data-video-id", "data-regions-reached", "data-max-lag-days"],
    );
    let expected = fields(&rows, &["video_id", "regions_reached", "max_lag_days"]);
    assert_eq!(shown, expected);
    let total = num(&rows[0]["matching_videos"]);
    assert!(html.contains(&format!("({total} of them;")), "{total}");
    let arrivals = tags(&html, "data-arrival data-region");
    assert!(!arrivals.is_empty());
    assert!(
        arrivals
            .iter()
            .all(|a| a["data-date"].as_str() <= AFTER_GAP),
        "an arrival after {AFTER_GAP}"
    );

    // The survival curves: as of the date, which the later nights would change.
    let dots = attrs(
        &tags(&html, "data-day-n="),
        &["data-region", "data-day-n", "data-at-risk", "data-still-on"],
    );
    let curve = |rows: &[Value]| {
        let drawn: Vec<Value> = rows
            .iter()
            .filter(|r| !r["share"].is_null())
            .cloned()
            .collect();
        fields(&drawn, &["region", "day_n", "at_risk", "still_on"])
    };
    let then = query_json(
        &h.warehouse,
        "survival",
        &[as_of.clone(), "max_days=14".into()],
    )
    .await;
    assert!(!dots.is_empty());
    assert_eq!(dots, curve(&then));
    let now = query_json(&h.warehouse, "survival", &["max_days=14".into()]).await;
    assert_ne!(dots, curve(&now), "the later nights change the curves");
}

#[tokio::test]
async fn bad_dates_are_usage_errors_naming_the_nearest_dates() {
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("r.html");
    let run = |day: &str, warehouse: &Path| trendlake(report_args(warehouse, day, &out_file));
    let out = run(MISSING, &h.warehouse).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(&format!(
            "the warehouse {} holds no snapshot of {MISSING}; the nearest dates it holds are \
             2025-07-15 and {AFTER_GAP}",
            h.warehouse.display()
        )),
        "{}",
        stderr(&out)
    );
    let out = run("2026-01-01", &h.warehouse).await;
    assert_exit(&out, 2);
    assert!(stderr(&out).contains(&format!("the latest date it holds is {LAST}")));
    let out = run("2025-07-32", &h.warehouse).await;
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--date \"2025-07-32\" is not a date; write YYYY-MM-DD"));
    let out = run(LAST, &dir.path().join("nowhere.duckdb")).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("nowhere.duckdb does not exist: name yours with --warehouse"),
        "{}",
        stderr(&out)
    );
    assert!(!out_file.exists(), "nothing is written on an error");
    // No --output: clap says so.
    let out = trendlake(vec!["report".into()]).await;
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--output <FILE>"), "{}", stderr(&out));
}

/// The page is written whole (a temporary file beside it, renamed into place) with the
/// permissions a plain create gives under the umask, and nothing else is left in the directory;
/// a replaced page keeps its permissions; a directory that does not exist is an error naming the
/// page and what to do.
#[test]
fn the_report_file_has_the_umasks_permissions_and_nothing_is_left_beside_it() {
    use std::os::unix::fs::PermissionsExt;
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    for (umask, expected) in [(0o022, 0o644), (0o027, 0o640)] {
        let _ = std::fs::remove_file(&file);
        assert_exit(
            &under_umask(&report_args(&h.warehouse, LAST, &file), umask),
            0,
        );
        assert_eq!(
            mode(&file),
            expected,
            "under umask {umask:03o}: {:o}",
            mode(&file)
        );
    }
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"), "the whole page");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).unwrap();
    assert_exit(
        &under_umask(&report_args(&h.warehouse, AFTER_GAP, &file), 0o077),
        0,
    );
    assert_eq!(mode(&file), 0o604, "{:o}", mode(&file));
    assert!(std::fs::read_to_string(&file).unwrap().contains(AFTER_GAP));
    assert_eq!(names(dir.path()), ["report.html"], "no temporary file left");

    let nowhere = dir.path().join("no-such-dir").join("report.html");
    let out = under_umask(&report_args(&h.warehouse, LAST, &nowhere), 0o022);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot write the report: cannot create a temporary file in {}",
            dir.path().join("no-such-dir").display()
        )) && err.contains(&format!("to write {}", nowhere.display()))
            && err.contains("check the directory exists and is writable"),
        "{err}"
    );
    assert_eq!(names(dir.path()), ["report.html"]);
}

/// A report's second connection is a clone of its first (`Warehouse::try_clone`), so the page
/// reads one version of the warehouse: after a merge has renamed a new file over the path, the
/// clone still reads the file the first connection opened, where opening the path again (as the
/// report once did for its second connection) reads the new one.
#[test]
fn a_cloned_warehouse_reads_the_version_it_was_opened_on() {
    use arrow::array::AsArray;
    use trendlake::warehouse::Warehouse;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wh.duckdb");
    let write = |p: &Path, v: &str| {
        duckdb::Connection::open(p)
            .unwrap()
            .execute_batch(&format!("CREATE TABLE t AS SELECT '{v}' AS v"))
            .unwrap();
    };
    let value = |wh: &Warehouse| {
        let batches = wh.query("SELECT v FROM t", &[]).unwrap();
        batches[0].column(0).as_string::<i32>().value(0).to_string()
    };
    write(&path, "old");
    let opened = Warehouse::open_read_only(&path).unwrap();
    // A merge publishes by renaming the new file over the path.
    let merged = dir.path().join("merged.duckdb");
    write(&merged, "new");
    std::fs::rename(&merged, &path).unwrap();
    let clone = opened.try_clone().unwrap();
    // Queried on another thread, as the report queries it.
    let seen = std::thread::spawn(move || value(&clone)).join().unwrap();
    assert_eq!(seen, "old");
    assert_eq!(value(&opened), "old");
    assert_eq!(
        value(&Warehouse::open_read_only(&path).unwrap()),
        "new",
        "a second open reads the merged file"
    );
}

#[tokio::test]
async fn report_to_stdout_and_to_the_latest_date_by_default() {
    let h = report_history();
    let out = trendlake(vec![
        "report".into(),
        "--warehouse".into(),
        h.warehouse.display().to_string(),
        "--output".into(),
        "-".into(),
    ])
    .await;
    assert_exit(&out, 0);
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(&format!("<title>YouTube trending report · {LAST}</title>")));
}

/// Two nights of three regions through `run --report` (once by flag, once by variable) into
/// `lake`; returns the run reports' `report` sections.
async fn two_reported_nights(scratch: &Scratch, lake: &str, env: &[(&str, &str)]) -> Vec<Value> {
    let mut sections = Vec::new();
    for (i, day) in ["2025-07-20", "2025-07-21"].into_iter().enumerate() {
        let api = fake(date(day), |_| {}).await;
        let mut args = vec![
            "run".to_string(),
            "--api-base-url".into(),
            api.base_url(),
            "--date".into(),
            day.into(),
            "--lake".into(),
            lake.into(),
            "--warehouse".into(),
            scratch.warehouse().display().to_string(),
            "--regions".into(),
            "JP,KR,US".into(),
            "--log-format".into(),
            "json".into(),
        ];
        let mut env: Vec<(&str, &str)> = env.to_vec();
        if i == 0 {
            args.push("--report".into());
        } else {
            env.push(("TRENDLAKE_REPORT", "true"));
        }
        let out = trendlake_env(args, &env).await;
        assert_exit(&out, 0);
        let event = stderr(&out)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["target"] == "trendlake::report")
            .unwrap_or_else(|| panic!("no report event: {}", stderr(&out)));
        // JSON log lines carry the event's fields at the top level.
        assert_eq!(event["report_status"], "written", "{event}");
        assert_eq!(event["exit_code"], 0);
        sections.push(event);
    }
    sections
}

#[tokio::test]
async fn run_report_publishes_the_page_and_an_index_of_every_date_in_a_local_lake() {
    let s = Scratch::new();
    let lake = s.lake().display().to_string();
    let sections = two_reported_nights(&s, &lake, &[]).await;
    let page = s
        .lake()
        .join("_reports/snapshot_date=2025-07-21/report.html");
    assert_eq!(
        sections[1]["report_html_path"].as_str().unwrap(),
        page.canonicalize().unwrap().display().to_string()
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<a href=\"../index.html\">all reports</a>"));
    assert!(html.contains("data-annotation-date=\"2025-07-21\""));
    assert!(
        s.lake()
            .join("_reports/snapshot_date=2025-07-20/report.html")
            .is_file()
    );
    let index = std::fs::read_to_string(s.lake().join("_reports/index.html")).unwrap();
    let listed: Vec<String> = tags(&index, "data-date=\"")
        .iter()
        .map(|t| t["data-date"].clone())
        .collect();
    assert_eq!(listed, ["2025-07-21", "2025-07-20"]);
    assert_eq!(index_links(&index), ["2025-07-21", "2025-07-20"]);
    // The run report records it.
    let runs = s.lake().join("_runs/snapshot_date=2025-07-21");
    let report: Value = serde_json::from_slice(
        &std::fs::read(
            std::fs::read_dir(&runs)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(report["report"]["status"], "written");
    assert_eq!(report["outcome"], "complete");
    // A re-run with nothing left to fetch still (re)makes the date's report.
    std::fs::remove_file(&page).unwrap();
    let api = fake(date("2025-07-21"), |_| {}).await;
    let out = s
        .run(
            &api.base_url(),
            "2025-07-21",
            &["--regions", "JP,KR,US", "--only-missing", "--report"],
        )
        .await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("nothing to fetch"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("report written: "),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&page).unwrap(), html);
    // `check` knows the reports are part of the lake.
    let out = trendlake(vec![
        "check".into(),
        "--lake".into(),
        lake,
        "--warehouse".into(),
        s.warehouse().display().to_string(),
    ])
    .await;
    assert_exit(&out, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_report_publishes_the_page_and_the_index_on_s3() {
    let moto = Moto::start().await;
    let s = Scratch::new();
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let lake = moto.lake_url("lake");
    let sections = two_reported_nights(&s, &lake, &env).await;
    assert_eq!(
        sections[0]["report_html_path"],
        "s3://trendlake/lake/_reports/snapshot_date=2025-07-20/report.html"
    );
    assert_eq!(
        sections[1]["report_index_path"],
        "s3://trendlake/lake/_reports/index.html"
    );
    let keys: Vec<String> = moto
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("lake/_reports/"))
        .collect();
    assert_eq!(
        keys,
        [
            "lake/_reports/index.html",
            "lake/_reports/snapshot_date=2025-07-20/report.html",
            "lake/_reports/snapshot_date=2025-07-21/report.html",
        ]
    );
    let index = String::from_utf8(moto.get("lake/_reports/index.html").await.to_vec()).unwrap();
    assert_eq!(index_links(&index), ["2025-07-21", "2025-07-20"]);
    let page = String::from_utf8(
        moto.get("lake/_reports/snapshot_date=2025-07-21/report.html")
            .await
            .to_vec(),
    )
    .unwrap();
    assert!(page.contains("id=\"region-KR\""));
    let out = crate::support::trendlake_env(
        vec![
            "check".into(),
            "--lake".into(),
            lake,
            "--warehouse".into(),
            s.warehouse().display().to_string(),
        ],
        &env,
    )
    .await;
    assert_exit(&out, 0);
}

#[tokio::test]
async fn a_report_that_cannot_be_written_leaves_the_night_committed_and_exits_5() {
    let s = Scratch::new();
    // `_reports` is a file, so nothing can be put under it.
    std::fs::create_dir_all(s.lake()).unwrap();
    std::fs::write(s.lake().join("_reports"), "in the way").unwrap();
    let api = fake(date("2025-07-21"), |_| {}).await;
    let out = s
        .run(
            &api.base_url(),
            "2025-07-21",
            &["--regions", "JP", "--report"],
        )
        .await;
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(err.contains("1/1 regions ok, 200 rows committed"), "{err}");
    assert!(
        err.contains("merged 1 snapshot(s), 200 chart entries"),
        "{err}"
    );
    assert!(
        err.contains("report failed: publishing the report into the lake"),
        "{err}"
    );
    assert!(
        err.contains(
            "The snapshot of 2025-07-21 is committed and merged; make the report into the lake \
             with `trendlake report --date 2025-07-21 --publish` (with the run's --lake and \
             --warehouse), or the next `trendlake run --report` makes it (exit code 5)"
        ),
        "{err}"
    );
    // The data is there.
    let rows = query_json(&s.warehouse(), "coverage", &[]).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["snapshots"], 1);
    // A run without --report is unaffected by the same obstacle.
    let out = s
        .run(&api.base_url(), "2025-07-21", &["--regions", "JP"])
        .await;
    assert_exit(&out, 0);
    // The command the hint names puts the page where `run --report` would have.
    std::fs::remove_file(s.lake().join("_reports")).unwrap();
    let out = s
        .cmd("report", &["--date", "2025-07-21", "--publish"])
        .await;
    assert_exit(&out, 0);
    let page = s
        .lake()
        .join("_reports/snapshot_date=2025-07-21/report.html");
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .contains("id=\"region-JP\"")
    );
    let index = std::fs::read_to_string(s.lake().join("_reports/index.html")).unwrap();
    assert_eq!(index_links(&index), ["2025-07-21"]);
    assert!(stderr(&out).contains(&format!("report written: {}", page.display())));
}
