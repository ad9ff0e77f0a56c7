//! The report in a real browser: Debian's Chromium, headless, driven over the DevTools protocol
//! (chromiumoxide). The page of the report history's last date is opened from its file; the
//! test records every console message, exception, log entry and network request, reads the
//! numbers out of the DOM (`data-*` attributes) and compares them with `trendlake query` on the
//! same warehouse, checks every region has its charts and the layout fits a laptop's width, and
//! takes a screenshot (`docs/report.png` with `TRENDLAKE_UPDATE_SCREENSHOT=1`, else a temp file).
//!
//! Nothing is skipped: without Chromium or fonts for the titles' writing systems, the test fails
//! and says what to install (`.ci/run` installs both).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::log::EventEntryAdded;
use chromiumoxide::cdp::browser_protocol::network::EventRequestWillBeSent;
use chromiumoxide::cdp::browser_protocol::page::{CaptureScreenshotFormat, Viewport};
use chromiumoxide::cdp::js_protocol::runtime::{EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::handler::viewport::Viewport as WindowViewport;
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use serde_json::Value;

use crate::report::{LAST, REGIONS, query_json, report_history, report_page};

/// A laptop's width, the width the report is designed for.
const WIDTH: u32 = 1366;
/// The screenshot: the top of the page (header, source notes, coverage, spread and survival,
/// the first regions).
const SHOT_HEIGHT: f64 = 2760.0;

/// Debian's Chromium, or `TRENDLAKE_CHROMIUM`.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("TRENDLAKE_CHROMIUM") {
        return PathBuf::from(p);
    }
    let debian = PathBuf::from("/usr/bin/chromium");
    assert!(
        debian.is_file(),
        "the browser test needs Chromium: install Debian's package (`apt-get install chromium`; \
         .ci/run does it when missing), or set TRENDLAKE_CHROMIUM to a Chrome or Chromium binary"
    );
    debian
}

/// The fonts the fake's titles need: without them Chromium draws boxes, and the screenshot
/// would show it.
fn assert_fonts() {
    for (lang, package) in [
        ("ja", "fonts-noto-cjk"),
        ("ko", "fonts-noto-cjk"),
        ("th", "fonts-thai-tlwg"),
        ("ar", "fonts-noto-core"),
    ] {
        let out = std::process::Command::new("fc-list")
            .arg(format!(":lang={lang}"))
            .arg("family")
            .output()
            .unwrap_or_else(|e| panic!("fc-list (fontconfig) cannot run: {e}"));
        assert!(
            !out.stdout.is_empty(),
            "no font for {lang}: install {package} (.ci/run installs the report's fonts)"
        );
    }
    let out = std::process::Command::new("fc-list").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Noto Color Emoji"),
        "no emoji font: install fonts-noto-color-emoji (.ci/run installs the report's fonts)"
    );
}

/// Everything the page did while it loaded.
#[derive(Default, Debug)]
struct Seen {
    console: Vec<String>,
    exceptions: Vec<String>,
    log: Vec<String>,
    requests: Vec<String>,
}

/// A headless Chromium with a fresh profile, and its protocol handler running.
struct Chromium {
    browser: Browser,
    _handler: tokio::task::JoinSet<()>,
    _profile: tempfile::TempDir,
}

async fn launch() -> Chromium {
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .disable_default_args()
        // Headless is the builder's default: `--headless`, plus hidden scrollbars and no audio.
        .no_sandbox()
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
            "disable-default-apps",
            "disable-extensions",
            "disable-dev-shm-usage",
            "force-color-profile=srgb",
            "lang=en-US",
        ])
        .user_data_dir(profile.path())
        .window_size(WIDTH, 900)
        .viewport(WindowViewport {
            width: WIDTH,
            height: 900,
            device_scale_factor: Some(1.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .build()
        .unwrap();
    let (browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("Chromium did not start ({}): {e}", chromium().display()));
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(async move { while handler.next().await.is_some() {} });
    Chromium {
        browser,
        _handler: tasks,
        _profile: profile,
    }
}

/// Open `file` in a new tab, recording what it does; returns the tab and the record, once the
/// page has loaded.
async fn open(
    chrome: &Chromium,
    file: &Path,
) -> (Page, Arc<Mutex<Seen>>, tokio::task::JoinSet<()>) {
    let page = chrome.browser.new_page("about:blank").await.unwrap();
    page.enable_log().await.unwrap();
    page.enable_runtime().await.unwrap();
    page.execute(chromiumoxide::cdp::browser_protocol::network::EnableParams::default())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let s = seen.clone();
    tasks.spawn(async move {
        while let Some(e) = console.next().await {
            let args: Vec<String> = e
                .args
                .iter()
                .map(|a| {
                    a.value
                        .as_ref()
                        .map_or_else(|| format!("{:?}", a.description), |v| v.to_string())
                })
                .collect();
            s.lock()
                .unwrap()
                .console
                .push(format!("{:?}: {}", e.r#type, args.join(" ")));
        }
    });
    let mut thrown = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let s = seen.clone();
    tasks.spawn(async move {
        while let Some(e) = thrown.next().await {
            s.lock()
                .unwrap()
                .exceptions
                .push(e.exception_details.text.clone());
        }
    });
    let mut log = page.event_listener::<EventEntryAdded>().await.unwrap();
    let s = seen.clone();
    tasks.spawn(async move {
        while let Some(e) = log.next().await {
            s.lock().unwrap().log.push(format!(
                "{:?} {:?}: {}",
                e.entry.level, e.entry.source, e.entry.text
            ));
        }
    });
    let mut requests = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .unwrap();
    let s = seen.clone();
    tasks.spawn(async move {
        while let Some(e) = requests.next().await {
            s.lock().unwrap().requests.push(e.request.url.clone());
        }
    });
    let url = url::Url::from_file_path(file).unwrap().to_string();
    page.goto(url).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    // Events of the load arrive on their own streams; give them a moment to be recorded.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    (page, seen, tasks)
}

/// What the test reads from the DOM, in one round trip.
const EXTRACT: &str = r#"(() => {
  const data = (sel, root) => [...(root || document).querySelectorAll(sel)].map(e => Object.assign({}, e.dataset));
  return JSON.stringify({
    regions: [...document.querySelectorAll('section.region')].map(s => ({
      region: s.dataset.region,
      holds: s.dataset.holdsDate,
      bump: s.querySelectorAll('svg.bump').length,
      series: s.querySelectorAll('svg.bump g.series').length,
      movers: s.querySelectorAll('tr[data-panel="top_movers"]').length,
      labelWidths: [...s.querySelectorAll('svg.bump text.label')].map(t => t.getComputedTextLength()),
    })),
    movers: data('tr[data-panel="top_movers"]'),
    climbers: data('tr[data-panel="rank_climbers"]'),
    entries: data('tr[data-panel="new_entries"]'),
    dropouts: data('tr[data-panel="dropouts"]'),
    afterlife: data('tr[data-panel="afterlife"]'),
    categories: data('tr[data-panel="category_leaders"]'),
    points: data('svg.bump [data-point]'),
    survival: data('svg.survival circle'),
    survivalCharts: document.querySelectorAll('svg.survival').length,
    coverage: data('#coverage tr[data-region]'),
    spread: [...document.querySelectorAll('tr[data-spread]')].map(r => Object.assign({}, r.dataset, {
      arrivals: data('[data-arrival]', r),
    })),
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    height: document.documentElement.scrollHeight,
  });
})()"#;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn f(v: &Value) -> f64 {
    match v {
        Value::String(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("{s:?} is not a number")),
        other => other.as_f64().unwrap(),
    }
}

/// `rows`' values of `cols`, as text (numbers as JSON prints them).
fn project(rows: &[Value], cols: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| cols.iter().map(|c| s(&r[*c])).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_in_chromium_shows_every_region_the_query_numbers_and_loads_nothing() {
    chromium();
    assert_fonts();
    let h = report_history();
    let dir = tempfile::tempdir().unwrap();
    report_page(&h.warehouse, LAST, dir.path()).await;
    let file = dir.path().join(format!("report-{LAST}.html"));
    let file = file.canonicalize().unwrap();

    let chrome = launch().await;
    let (page, seen, _listeners) = open(&chrome, &file).await;
    let dom: Value = serde_json::from_str(
        &page
            .evaluate(EXTRACT)
            .await
            .unwrap()
            .into_value::<String>()
            .unwrap(),
    )
    .unwrap();

    // Every region has its charts and its tables, and every chart label has rendered text.
    let regions = dom["regions"].as_array().unwrap();
    assert_eq!(
        regions.iter().map(|r| s(&r["region"])).collect::<Vec<_>>(),
        REGIONS
    );
    for r in regions {
        let name = s(&r["region"]);
        assert_eq!(r["holds"], "true", "{name}");
        assert_eq!(r["bump"], 1, "{name}: bump chart");
        assert_eq!(r["series"], 10, "{name}: ten leaders");
        assert_eq!(r["movers"], 5, "{name}: five movers");
        for w in r["labelWidths"].as_array().unwrap() {
            assert!(
                w.as_f64().unwrap() > 20.0,
                "{name}: a label drew nothing ({w})"
            );
        }
    }
    assert_eq!(dom["survivalCharts"], REGIONS.len());
    // Nothing is wider than a laptop's screen.
    assert!(
        dom["scrollWidth"].as_u64() <= dom["clientWidth"].as_u64(),
        "the page scrolls sideways at {WIDTH}px: {} > {}",
        dom["scrollWidth"],
        dom["clientWidth"]
    );

    // The numbers are `trendlake query`'s for the same date.
    let wh = &h.warehouse;
    let d = format!("date={LAST}");
    let movers = query_json(wh, "top_movers", &[d.clone(), "limit=5".into()]).await;
    let shown = dom["movers"].as_array().unwrap();
    assert_eq!(
        project(
            shown,
            &[
                "region",
                "videoId",
                "rank",
                "previousRank",
                "viewGain",
                "daysSincePrevious"
            ]
        ),
        project(
            &movers,
            &[
                "region",
                "video_id",
                "rank",
                "previous_rank",
                "view_gain",
                "days_since_previous"
            ]
        )
    );
    for (a, b) in shown.iter().zip(&movers) {
        assert_eq!(f(&a["gainPerDay"]), f(&b["gain_per_day"]));
    }
    let climbers = query_json(wh, "rank_climbers", &[d.clone(), "limit=5".into()]).await;
    assert_eq!(
        project(
            dom["climbers"].as_array().unwrap(),
            &["region", "videoId", "rank", "previousRank", "climb"]
        ),
        project(
            &climbers,
            &["region", "video_id", "rank", "previous_rank", "climb"]
        )
    );
    let entries = query_json(wh, "new_entries", &[d.clone(), "limit=10".into()]).await;
    assert_eq!(
        project(
            dom["entries"].as_array().unwrap(),
            &["region", "videoId", "rank", "reentry"]
        ),
        project(&entries, &["region", "video_id", "rank", "reentry"])
    );
    assert!(!entries.is_empty());
    let dropouts = query_json(wh, "dropouts", &[d.clone(), "limit=10".into()]).await;
    assert_eq!(
        project(
            dom["dropouts"].as_array().unwrap(),
            &["region", "videoId", "lastRank", "runSnapshots"]
        ),
        project(
            &dropouts,
            &["region", "video_id", "last_rank", "run_snapshots"]
        )
    );
    // After the chart: per region, the gains 1, 7 and 30 days after the exits of the last 60
    // days, as `afterlife` gives them as of the date.
    let since = (crate::support::date(LAST) - chrono::Duration::days(60)).to_string();
    let afterlife = query_json(wh, "afterlife", &[d.clone(), format!("since={since}")]).await;
    let mut want: Vec<Vec<String>> = Vec::new();
    for row in &afterlife {
        for n in [1, 7, 30] {
            let median = &row[format!("median_gain_{n}d")];
            want.push(vec![
                s(&row["region"]),
                n.to_string(),
                s(&row[format!("observed_{n}d")]),
                median.as_f64().map_or(String::new(), |m| format!("{m:.1}")),
                s(&row[format!("censored_{n}d")]),
                s(&row[format!("vanished_{n}d")]),
            ]);
        }
    }
    let got: Vec<Vec<String>> = dom["afterlife"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let median = s(&r["median"]);
            vec![
                s(&r["region"]),
                s(&r["days"]),
                s(&r["observed"]),
                median
                    .parse::<f64>()
                    .map_or(String::new(), |m| format!("{m:.1}")),
                s(&r["censored"]),
                s(&r["vanished"]),
            ]
        })
        .collect();
    assert_eq!(got, want);
    assert!(
        afterlife
            .iter()
            .any(|r| r["observed_1d"].as_i64().unwrap() > 0),
        "the history tracked videos after their exits: {afterlife:?}"
    );
    // Category charts: per region, each category chart held on the date with its first three
    // videos, as `category_leaders` gives them.
    let leaders = query_json(wh, "category_leaders", &[d.clone(), "top=3".into()]).await;
    let cols = [
        "region",
        "category_id",
        "rank",
        "video_id",
        "view_count",
        "on_general_chart",
    ];
    let want: Vec<Vec<String>> = project(&leaders, &cols);
    let got: Vec<Vec<String>> = project(
        dom["categories"].as_array().unwrap(),
        &[
            "region",
            "category",
            "rank",
            "videoId",
            "views",
            "onGeneral",
        ],
    );
    assert_eq!(got, want);
    assert!(
        leaders.len() >= 2 * 3,
        "the history holds category charts: {leaders:?}"
    );
    let trajectory = query_json(
        wh,
        "rank_trajectory",
        &[d.clone(), "top=10".into(), "days=14".into()],
    )
    .await;
    let points: BTreeSet<Vec<String>> = project(
        dom["points"].as_array().unwrap(),
        &["region", "videoId", "date", "rank"],
    )
    .into_iter()
    .collect();
    let expected: BTreeSet<Vec<String>> = project(
        &trajectory,
        &["region", "video_id", "snapshot_date", "rank"],
    )
    .into_iter()
    .collect();
    assert_eq!(points, expected);
    assert_eq!(points.len(), trajectory.len());
    // The missing day is in no one's trajectory.
    assert!(points.iter().all(|p| p[2] != crate::report::MISSING));

    let survival = query_json(wh, "survival", &[d.clone(), "max_days=14".into()]).await;
    let with_share: Vec<&Value> = survival.iter().filter(|r| !r["share"].is_null()).collect();
    let dots = dom["survival"].as_array().unwrap();
    assert_eq!(dots.len(), with_share.len());
    for (dot, row) in dots.iter().zip(&with_share) {
        assert_eq!(s(&dot["region"]), s(&row["region"]));
        assert_eq!(s(&dot["dayN"]), s(&row["day_n"]));
        assert_eq!(s(&dot["atRisk"]), s(&row["at_risk"]));
        assert_eq!(s(&dot["stillOn"]), s(&row["still_on"]));
        assert_eq!(f(&dot["share"]), f(&row["share"]));
    }

    let coverage = query_json(wh, "coverage", &[format!("to={LAST}")]).await;
    assert_eq!(
        project(
            dom["coverage"].as_array().unwrap(),
            &[
                "region",
                "snapshots",
                "missingDays",
                "firstDate",
                "lastDate"
            ]
        ),
        project(
            &coverage,
            &[
                "region",
                "snapshots",
                "missing_days",
                "first_date",
                "last_date"
            ]
        )
    );
    assert!(
        coverage.iter().all(|c| c["missing_days"] == 1),
        "{coverage:?}"
    );

    let since = format!(
        "since={}",
        crate::support::date(LAST) - chrono::Duration::days(13)
    );
    let spread_rows = query_json(wh, "cross_region", &[d.clone(), since, "limit=10".into()]).await;
    let spread = dom["spread"].as_array().unwrap();
    assert!(!spread.is_empty(), "no video spread in the last two weeks");
    assert_eq!(spread.len(), spread_rows.len());
    for (v, row) in spread.iter().zip(&spread_rows) {
        assert_eq!(s(&v["videoId"]), s(&row["video_id"]));
        assert_eq!(s(&v["regionsReached"]), s(&row["regions_reached"]));
        assert_eq!(s(&v["maxLagDays"]), s(&row["max_lag_days"]));
        // Each arrival chip says what the query's arrivals text says.
        let chips: Vec<String> = v["arrivals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let lag = s(&a["lagDays"]);
                let censored = s(&row["arrivals"]).contains(&format!(
                    "{} ≤{}",
                    s(&a["region"]),
                    s(&a["date"])
                ));
                match (lag.is_empty(), censored) {
                    (_, true) => format!("{} ≤{}", s(&a["region"]), s(&a["date"])),
                    (true, false) => format!("{} {}", s(&a["region"]), s(&a["date"])),
                    (false, false) => format!("{} {} +{lag}d", s(&a["region"]), s(&a["date"])),
                }
            })
            .collect();
        assert_eq!(chips.join(", "), s(&row["arrivals"]));
    }

    // No console message, exception or log entry; no request but the page itself.
    {
        let seen = seen.lock().unwrap();
        assert!(seen.console.is_empty(), "console: {:?}", seen.console);
        assert!(
            seen.exceptions.is_empty(),
            "exceptions: {:?}",
            seen.exceptions
        );
        assert!(seen.log.is_empty(), "log: {:?}", seen.log);
        let page_url = url::Url::from_file_path(&file).unwrap().to_string();
        assert!(
            !seen.requests.is_empty(),
            "the page's own load was not seen"
        );
        for r in &seen.requests {
            assert!(
                r == &page_url || r == "about:blank",
                "the page requested {r}"
            );
        }
    }

    // The screenshot: the top of the page at a laptop's width.
    let png = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .capture_beyond_viewport(true)
                .clip(Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: f64::from(WIDTH),
                    height: SHOT_HEIGHT.min(dom["height"].as_f64().unwrap()),
                    scale: 1.0,
                })
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let target = if std::env::var("TRENDLAKE_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.png")
    } else {
        dir.path().join("report.png")
    };
    std::fs::write(&target, &png).unwrap();
    assert!(png.len() > 50_000, "{} bytes: a blank page?", png.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_sees_a_request_and_a_console_error_when_a_page_makes_them() {
    // The control for the test above: a page that does load something and log an error is
    // caught, so an empty record there means the report did neither.
    chromium();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("control.html");
    std::fs::write(
        &file,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/probe.png\">\
         <script>console.error('probe')</script></body></html>",
    )
    .unwrap();
    let chrome = launch().await;
    let (_page, seen, _listeners) = open(&chrome, &file.canonicalize().unwrap()).await;
    let seen = seen.lock().unwrap();
    assert!(
        seen.requests
            .iter()
            .any(|r| r == "http://127.0.0.1:9/probe.png"),
        "{:?}",
        seen.requests
    );
    assert!(
        seen.console.iter().any(|c| c.contains("probe")),
        "{:?}",
        seen.console
    );
}
