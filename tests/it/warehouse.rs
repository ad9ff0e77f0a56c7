//! The warehouse follows the lake exactly, however and in whatever order it was merged, and
//! readers holding it open are never blocked by a merge nor see one half done.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use trendlake::lake::Lake;
use trendlake::record::{Page, region_batch};
use trendlake::youtube::model::Video;
use trendlake_fake_api::chart;

use crate::support::*;

/// A region's chart of `date` from the fake, as a fetch would have stored it, after `edit`.
fn chart_batch(region: &str, day: NaiveDate, edit: impl FnOnce(&mut Vec<Video>)) -> RecordBatch {
    let mut videos = chart(SEED, region, day);
    edit(&mut videos);
    let page = Page {
        offset: 0,
        fetched_at: day.and_hms_opt(3, 0, 0).unwrap().and_utc(),
        items: videos,
    };
    region_batch(region, &[page]).unwrap()
}

fn ids(region: &str, day: NaiveDate) -> Vec<String> {
    chart(SEED, region, day).into_iter().map(|v| v.id).collect()
}

fn set_title(videos: &mut [Video], id: &str, title: &str) {
    let v = videos
        .iter_mut()
        .find(|v| v.id == id)
        .expect("video on the chart");
    v.snippet.as_mut().unwrap().title = title.to_string();
}

fn drop_video(videos: &mut Vec<Video>, id: &str) {
    let before = videos.len();
    videos.retain(|v| v.id != id);
    assert_eq!(videos.len(), before - 1, "{id} was on the chart");
}

async fn commit(lake: &Lake, day: NaiveDate, regions: Vec<(&str, RecordBatch)>) {
    let regions: BTreeMap<String, RecordBatch> = regions
        .into_iter()
        .map(|(r, b)| (r.to_string(), b))
        .collect();
    trendlake::commit::commit(lake, day, trendlake::commit::unsourced(regions), "t")
        .await
        .unwrap();
}

/// `trendlake merge` of the scratch lake into `warehouse` (`--date` with `only`); must succeed.
async fn merge(s: &Scratch, warehouse: &Path, only: Option<NaiveDate>) -> String {
    let mut args = vec![
        "merge".to_string(),
        "--lake".into(),
        s.lake().display().to_string(),
        "--warehouse".into(),
        warehouse.display().to_string(),
    ];
    if let Some(d) = only {
        args.extend(["--date".to_string(), d.to_string()]);
    }
    let out = trendlake(args).await;
    assert_exit(&out, 0);
    stderr(&out)
}

/// (title, first_seen, last_seen) of a video, or `None` when the warehouse has no row for it.
fn video(path: &Path, id: &str) -> Option<(String, String, String)> {
    let rows = warehouse_rows(
        path,
        &format!(
            "SELECT title, first_seen_date::VARCHAR, last_seen_date::VARCHAR FROM videos WHERE video_id = '{id}'"
        ),
    );
    let text = |v: &String| {
        v.trim_start_matches("Text(\"")
            .trim_end_matches("\")")
            .to_string()
    };
    rows.first()
        .map(|r| (text(&r[0]), text(&r[1]), text(&r[2])))
}

/// What every video row must satisfy: seen dates are those of its entries, its metadata is from
/// its last seen date, and no video lacks entries.
#[track_caller]
fn assert_videos_follow_entries(path: &Path) {
    let broken = warehouse_rows(
        path,
        "SELECT count(*) FROM videos v LEFT JOIN (SELECT video_id, min(snapshot_date) f, \
         max(snapshot_date) l FROM chart_entries GROUP BY video_id) e USING (video_id) \
         WHERE e.f IS NULL OR v.first_seen_date <> e.f OR v.last_seen_date <> e.l \
            OR v.metadata_date <> v.last_seen_date",
    );
    assert_eq!(broken, vec![vec!["BigInt(0)".to_string()]]);
    assert_eq!(
        warehouse_rows(path, "SELECT count(*) FROM videos"),
        warehouse_rows(path, "SELECT count(DISTINCT video_id) FROM chart_entries")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_night_by_night_or_at_once_the_warehouse_is_the_same() {
    let s = Scratch::new();
    let lake = Lake::open(&s.lake().display().to_string()).unwrap();
    let nightly = s.warehouse();
    let [d0, d1, d2, d3] = ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"].map(date);
    let jp = |d| ids("JP", d);
    let us = |d| ids("US", d);
    let on = |list: &[String], id: &String| list.contains(id);
    // X: on JP's chart all four days, never on US's. Its title changes from day to day, and the
    // replaced snapshots of its last days drop it.
    let x = jp(d1)
        .into_iter()
        .find(|id| {
            [d0, d2, d3].iter().all(|d| on(&jp(*d), id))
                && [d0, d1, d2, d3].iter().all(|d| !on(&us(*d), id))
        })
        .expect("a video on JP's chart four days running");
    // Y: on JP's chart on d2 and d3; its title changes in the replaced d3.
    let y = jp(d3)
        .into_iter()
        .find(|id| *id != x && on(&jp(d2), id) && !on(&us(d3), id))
        .unwrap();
    // W: on JP's chart on d3 only (new that day): the replaced d3 drops it, so it goes.
    let w = jp(d3)
        .into_iter()
        .find(|id| {
            [d0, d1, d2]
                .iter()
                .all(|d| !on(&jp(*d), id) && !on(&us(*d), id))
                && !on(&us(d3), id)
        })
        .unwrap();
    // G: a global hit on both JP's and US's charts on d3, titled differently in each: the
    // replaced d3 drops it from JP, so its metadata must come from US's entry.
    let g = jp(d3)
        .into_iter()
        .find(|id| {
            on(&us(d3), id)
                && ![d0, d1, d2]
                    .iter()
                    .any(|d| on(&jp(*d), id) || on(&us(*d), id))
        })
        .unwrap_or_else(|| jp(d3).into_iter().find(|id| on(&us(d3), id)).unwrap());
    // V: first seen on d1 and seen again on d2; the replaced d1 drops it (first_seen narrows).
    let v = jp(d1)
        .into_iter()
        .find(|id| {
            *id != x && on(&jp(d2), id) && !on(&jp(d0), id) && !on(&us(d0), id) && !on(&us(d1), id)
        })
        .unwrap();
    let original_x_title = video_title(&x, d1);

    // Night 1 and 2, as the fake serves them (X retitled on d2).
    commit(
        &lake,
        d1,
        vec![
            ("JP", chart_batch("JP", d1, |_| {})),
            ("US", chart_batch("US", d1, |_| {})),
        ],
    )
    .await;
    merge(&s, &nightly, None).await;
    commit(
        &lake,
        d2,
        vec![
            (
                "JP",
                chart_batch("JP", d2, |c| set_title(c, &x, "X as of d2")),
            ),
            ("US", chart_batch("US", d2, |_| {})),
        ],
    )
    .await;
    merge(&s, &nightly, None).await;
    // Night 3: X retitled again; G titled per region.
    commit(
        &lake,
        d3,
        vec![
            (
                "JP",
                chart_batch("JP", d3, |c| {
                    set_title(c, &x, "X as of d3");
                    set_title(c, &g, "G in JP");
                }),
            ),
            ("US", chart_batch("US", d3, |c| set_title(c, &g, "G in US"))),
        ],
    )
    .await;
    merge(&s, &nightly, None).await;
    assert_eq!(video(&nightly, &x).unwrap().0, "X as of d3");
    assert_eq!(
        video(&nightly, &g).unwrap().0,
        "G in JP",
        "JP's entry comes first"
    );

    // JP's d3 is fetched again and its chart changed: X, W and G gone, Y retitled, a video of
    // another day's chart in.
    let newcomer = chart(SEED, "JP", d0 - chrono::Duration::days(30))
        .into_iter()
        .next()
        .unwrap();
    let newcomer_id = newcomer.id.clone();
    commit(
        &lake,
        d3,
        vec![(
            "JP",
            chart_batch("JP", d3, |c| {
                drop_video(c, &x);
                drop_video(c, &w);
                drop_video(c, &g);
                set_title(c, &y, "Y retitled on d3");
                c.insert(4, newcomer);
            }),
        )],
    )
    .await;
    merge(&s, &nightly, None).await;
    assert_eq!(
        video(&nightly, &x),
        Some(("X as of d2".into(), d1.to_string(), d2.to_string())),
        "X's metadata is that of its newest snapshot that still has it"
    );
    assert_eq!(video(&nightly, &w), None, "W has no entry left");
    assert_eq!(video(&nightly, &g).unwrap().0, "G in US");
    assert_eq!(video(&nightly, &y).unwrap().0, "Y retitled on d3");
    assert_eq!(video(&nightly, &newcomer_id).unwrap().2, d3.to_string());
    assert_videos_follow_entries(&nightly);

    // An older night arrives late, merged alone.
    commit(
        &lake,
        d0,
        vec![
            ("JP", chart_batch("JP", d0, |_| {})),
            ("US", chart_batch("US", d0, |_| {})),
        ],
    )
    .await;
    merge(&s, &nightly, Some(d0)).await;
    assert_eq!(
        video(&nightly, &x).unwrap().1,
        d0.to_string(),
        "first seen widens back"
    );
    assert_eq!(
        video(&nightly, &x).unwrap().0,
        "X as of d2",
        "an older night never wins"
    );

    // d1 replaced, merged alone after newer dates: V's first day goes.
    commit(
        &lake,
        d1,
        vec![("JP", chart_batch("JP", d1, |c| drop_video(c, &v)))],
    )
    .await;
    merge(&s, &nightly, Some(d1)).await;
    assert_eq!(video(&nightly, &v).unwrap().1, d2.to_string());

    // d2 replaced too, dropping X again: its metadata falls back to d1's (the fake's title).
    commit(
        &lake,
        d2,
        vec![("JP", chart_batch("JP", d2, |c| drop_video(c, &x)))],
    )
    .await;
    merge(&s, &nightly, None).await;
    assert_eq!(
        video(&nightly, &x),
        Some((original_x_title, d0.to_string(), d1.to_string()))
    );
    assert_videos_follow_entries(&nightly);

    // Nothing pending: the warehouse is not even rewritten.
    let bytes = std::fs::read(&nightly).unwrap();
    let err = merge(&s, &nightly, None).await;
    assert!(err.contains("merged 0 snapshot(s)"), "{err}");
    assert_eq!(std::fs::read(&nightly).unwrap(), bytes, "file untouched");

    // The same lake merged at once into a new warehouse gives the same tables.
    let at_once = s.dir.path().join("at_once.duckdb");
    merge(&s, &at_once, None).await;
    assert_videos_follow_entries(&at_once);
    let (a, b) = (all_tables(&nightly), all_tables(&at_once));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        [
            "all_chart_entries",
            "categories",
            "category_listings",
            "chart_snapshots",
            "chart_status",
            "merged_catalogues",
            "merged_snapshots",
            "merged_tracked",
            "region_utc_offsets",
            "regions",
            "tracked_videos",
            "trendlake_warehouse",
            "videos"
        ]
    );
    for (table, rows) in &a {
        // Nothing tracked: these nights were committed without a run (tests/it/tracking.rs
        // compares the tracked tables).
        let tracked = table.ends_with("tracked") || table == "tracked_videos";
        // Nor with --categories: no chart catalogue (tests/it/categories.rs has them).
        let catalogue =
            ["category_listings", "chart_status", "merged_catalogues"].contains(&table.as_str());
        assert!(!rows.is_empty() || tracked || catalogue, "{table} is empty");
        assert_eq!(rows, &b[table], "table {table}");
    }
}

/// The title of video `id` on JP's chart of `day`, as stored (normalised).
fn video_title(id: &str, day: NaiveDate) -> String {
    let batch = chart_batch("JP", day, |c| c.retain(|v| v.id == id));
    use arrow::array::AsArray;
    batch
        .column_by_name("title")
        .unwrap()
        .as_string::<i32>()
        .value(0)
        .to_string()
}

/// The project's Python with the `duckdb` module, or a panic saying how to get it.
fn python_with_duckdb() -> PathBuf {
    let venv = venv();
    let python = venv.join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} cannot import duckdb: the reader tests need the project's virtualenv; run .ci/venv \
         (it creates or completes {}; set TRENDLAKE_VENV to use another)",
        python.display(),
        venv.display()
    );
    python
}

/// A Python process holding the warehouse open with DuckDB: it prints the chart entries it
/// sees, waits for a line on stdin, prints them again on the same connection, and exits.
/// Killed on drop.
struct Reader {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

const READER: &str = r#"
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=(sys.argv[2] == "read_only"))
count = "SELECT count(*) FROM chart_entries"
print(con.execute(count).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute(count).fetchone()[0], flush=True)
"#;

impl Reader {
    fn start(python: &Path, warehouse: &Path, mode: &str) -> Self {
        let mut child = Command::new(python)
            .args(["-c", READER])
            .arg(warehouse)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the reader prints its count")
    }

    /// Let it count again; returns the count and waits for it to exit.
    fn finish(mut self) -> String {
        self.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let line = self.line();
        assert!(self.child.wait().unwrap().success());
        line
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_holding_the_warehouse_open_keeps_its_snapshot_while_run_merges() {
    let python = python_with_duckdb();
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &s.run(&api.base_url(), "2026-11-20", &["--regions", "JP"])
            .await,
        0,
    );
    let reader = Reader::start(&python, &s.warehouse(), "read_only");
    assert_eq!(reader.line(), "200");

    api.set_date(date("2026-11-21"));
    let out = s
        .run(&api.base_url(), "2026-11-21", &["--regions", "JP"])
        .await;
    assert_exit(&out, 0);
    let report = crate::pipeline::run_report(&s, "2026-11-21");
    assert_eq!(report["merge"]["status"], "merged", "{}", stderr(&out));

    assert_eq!(reader.finish(), "200", "the reader's snapshot did not move");
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT count(*) FROM chart_entries"),
        vec![vec!["BigInt(400)".to_string()]],
        "a new connection sees the merge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_refuses_a_warehouse_another_process_holds_open_for_writing() {
    let python = python_with_duckdb();
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    assert_exit(
        &s.run(&api.base_url(), "2026-11-20", &["--regions", "JP"])
            .await,
        0,
    );
    let writer = Reader::start(&python, &s.warehouse(), "read_write");
    assert_eq!(writer.line(), "200");
    api.set_date(date("2026-11-21"));
    let snapshot = trendlake(vec![
        "snapshot".into(),
        "--api-base-url".into(),
        api.base_url(),
        "--date".into(),
        "2026-11-21".into(),
        "--regions".into(),
        "JP".into(),
        "--lake".into(),
        s.lake().display().to_string(),
    ])
    .await;
    assert_exit(&snapshot, 0);
    let merge_args = vec![
        "merge".to_string(),
        "--lake".into(),
        s.lake().display().to_string(),
        "--warehouse".into(),
        s.warehouse().display().to_string(),
    ];
    let out = trendlake(merge_args.clone()).await;
    // A failed merge: exit 4 in every command, the lake untouched.
    assert_exit(&out, 4);
    let err = stderr(&out);
    for needle in [
        s.warehouse().display().to_string().as_str(),
        "open for writing in another process",
        "read_only=True",
    ] {
        assert!(err.contains(needle), "{needle:?} in {err}");
    }
    let left: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("wh.duckdb."))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "no copy or lock left behind");
    assert_eq!(writer.finish(), "200");
    let out = trendlake(merge_args).await;
    assert_exit(&out, 0);
    assert_eq!(
        warehouse_rows(&s.warehouse(), "SELECT count(*) FROM chart_entries"),
        vec![vec!["BigInt(400)".to_string()]]
    );
}

/// A nightly merge starts from the standby copy (the file the previous merge replaced) instead
/// of copying the whole warehouse, catches it up, and ends equal to a warehouse merged at once;
/// a standby that a reader still holds is left alone and the merge copies instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nightly_merges_start_from_the_standby_unless_a_reader_holds_it() {
    let api = fake(date("2026-11-20"), |_| {}).await;
    let s = Scratch::new();
    let standby = PathBuf::from(format!("{}.standby", s.warehouse().display()));
    let night = |d: &'static str| {
        let api = &api;
        let s = &s;
        async move {
            api.set_date(date(d));
            let mut args = vec![
                "run".to_string(),
                "--api-base-url".into(),
                api.base_url(),
                "--date".into(),
                d.into(),
                "--regions".into(),
                "JP,US".into(),
                "--lake".into(),
                s.lake().display().to_string(),
                "--warehouse".into(),
                s.warehouse().display().to_string(),
            ];
            args.push("--log-format".into());
            args.push("text".into());
            let out = trendlake_env(args, &[("TRENDLAKE_LOG", "info")]).await;
            assert_exit(&out, 0);
            stderr(&out)
        }
    };
    let caught_up = "brought the standby copy to the published warehouse";

    let first = night("2026-11-20").await;
    assert!(!first.contains(caught_up), "{first}");
    assert!(!standby.exists(), "a new warehouse replaces nothing");
    let second = night("2026-11-21").await;
    assert!(!second.contains(caught_up), "{second}");
    assert!(standby.exists(), "the replaced file is kept as the standby");
    let third = night("2026-11-22").await;
    assert!(third.contains(caught_up), "{third}");

    // A reader opened the warehouse before the last merge: it holds what is now the standby.
    let held = {
        let config = duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap();
        duckdb::Connection::open_with_flags(&standby, config).unwrap()
    };
    let count = |c: &duckdb::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM chart_entries", [], |r| r.get(0))
            .unwrap()
    };
    let before = count(&held);
    let fourth = night("2026-11-23").await;
    assert!(!fourth.contains(caught_up), "{fourth}");
    assert_eq!(count(&held), before, "the reader's file did not change");
    drop(held);
    let fifth = night("2026-11-24").await;
    assert!(fifth.contains(caught_up), "{fifth}");

    // Night by night through standbys, or at once: the same warehouse.
    let fresh = s.dir.path().join("fresh.duckdb");
    merge(&s, &fresh, None).await;
    assert_eq!(all_tables(&s.warehouse()), all_tables(&fresh));
    assert_eq!(
        warehouse_rows(
            &s.warehouse(),
            "SELECT count(DISTINCT snapshot_date) FROM chart_entries"
        ),
        [["BigInt(5)"]]
    );
}
