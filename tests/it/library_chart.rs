//! The chart-movement queries of the trend library (top_movers, rank_climbers, new_entries,
//! dropouts, streaks, days_on_chart, cross_region, time_to_trend) on the shared history, against
//! what this module computes itself from the lake's rows (`History::entries`), never from SQL.
//!
//! The history has no snapshot on [`MISSING`], so the date after it is two days after its
//! previous snapshot; [`FIRST`] is every region's first snapshot (left-censored: nothing enters
//! or appears first there) and [`LAST`] its latest (right-censored: nothing has left).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::history::{Entry, FIRST, History, LAST, MISSING, Model, REGIONS, Table, history};
use crate::support::date;

async fn query(h: &History, name: &str, params: &[&str]) -> Table {
    h.query(name, params).await
}

/// A run: consecutive held snapshots of one region with the video on its chart.
#[derive(Debug, Clone)]
struct Run<'a> {
    region: &'a str,
    video: &'a str,
    run_no: usize,
    start: NaiveDate,
    end: NaiveDate,
    snapshots: usize,
    best_rank: i32,
}

impl<'a> Model<'a> {
    fn title(&self, video: &str) -> String {
        self.latest[video].title.clone()
    }

    /// Every run of every video on every region's chart, by (region, video, start).
    fn runs(&self) -> Vec<Run<'a>> {
        let mut out = Vec::new();
        for (&(region, video), entries) in &self.by_region_video {
            let days = &self.calendar[region];
            let index = |d: NaiveDate| days.binary_search(&d).unwrap();
            let mut run_no = 0;
            let mut i = 0;
            while i < entries.len() {
                let mut j = i;
                while j + 1 < entries.len()
                    && index(entries[j + 1].date) == index(entries[j].date) + 1
                {
                    j += 1;
                }
                run_no += 1;
                out.push(Run {
                    region,
                    video,
                    run_no,
                    start: entries[i].date,
                    end: entries[j].date,
                    snapshots: j - i + 1,
                    best_rank: entries[i..=j].iter().map(|e| e.rank).min().unwrap(),
                });
                i = j + 1;
            }
        }
        out
    }
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The day after the missing one: its previous snapshot is two days before it.
fn after_gap() -> NaiveDate {
    date(MISSING).succ_opt().unwrap()
}

// ---------------------------------------------------------------------------------------------
// top_movers

const MOVER_COLS: [&str; 11] = [
    "snapshot_date",
    "region",
    "mover",
    "video_id",
    "title",
    "rank",
    "previous_rank",
    "previous_date",
    "days_since_previous",
    "view_count",
    "view_gain",
];

/// Expected movers (MOVER_COLS) and each row's gain per day.
fn movers(
    m: &Model,
    day: NaiveDate,
    region: Option<&str>,
    limit: usize,
) -> (Vec<Vec<String>>, Vec<f64>) {
    let (mut rows, mut per_day) = (Vec::new(), Vec::new());
    for r in REGIONS.iter().filter(|r| region.is_none_or(|x| x == **r)) {
        let Some(prev) = m.previous(r, day) else {
            continue;
        };
        let (now, before) = (m.chart(r, day).unwrap(), m.chart(r, prev).unwrap());
        let days = (day - prev).num_days();
        let mut gains: Vec<(i64, &Entry, &Entry)> = now
            .values()
            .filter_map(|e| {
                let b = before.get(e.video_id.as_str())?;
                Some((e.view_count? - b.view_count?, *e, *b))
            })
            .collect();
        // Within a region every gain spans the same days: per day orders as the gain does.
        gains.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.video_id.cmp(&b.1.video_id)));
        for (i, (gain, e, b)) in gains.into_iter().take(limit).enumerate() {
            rows.push(vec![
                s(day),
                s(r),
                s(i + 1),
                e.video_id.clone(),
                m.title(&e.video_id),
                s(e.rank),
                s(b.rank),
                s(prev),
                s(days),
                opt(e.view_count),
                s(gain),
            ]);
            per_day.push((gain as f64 / days as f64 * 10.0).round() / 10.0);
        }
    }
    (rows, per_day)
}

fn floats(t: &Table, col: &str) -> Vec<f64> {
    t.column(col).iter().map(|v| v.parse().unwrap()).collect()
}

#[tokio::test]
async fn top_movers_across_the_missing_day_report_the_two_day_gain_and_half_of_it_per_day() {
    let h = history();
    let m = Model::new(h);
    let day = after_gap();
    let t = query(h, "top_movers", &[&format!("date={day}"), "limit=3"]).await;
    let (rows, per_day) = movers(&m, day, None, 3);
    assert_eq!(t.project(&MOVER_COLS), rows);
    assert_eq!(rows.len(), 3 * REGIONS.len());
    assert!(t.column("previous_date").iter().all(|d| *d == "2026-11-14"));
    assert!(t.column("days_since_previous").iter().all(|d| *d == "2"));
    assert_eq!(floats(&t, "gain_per_day"), per_day);
    // The per-day gain is half the gain, not the gain.
    for (gain, per) in t.column("view_gain").iter().zip(floats(&t, "gain_per_day")) {
        let gain: f64 = gain.parse().unwrap();
        assert_eq!(per, (gain / 2.0 * 10.0).round() / 10.0);
        assert!(per < gain);
    }
}

#[tokio::test]
async fn top_movers_of_a_day_after_a_day_gain_that_day_in_a_lower_case_region() {
    let h = history();
    let m = Model::new(h);
    let day = date("2026-11-17");
    let t = query(h, "top_movers", &["date=2026-11-17", "region=kr"]).await;
    let (rows, per_day) = movers(&m, day, Some("KR"), 5);
    assert_eq!(t.project(&MOVER_COLS), rows);
    assert_eq!(rows.len(), 5);
    assert_eq!(floats(&t, "gain_per_day"), per_day);
    assert_eq!(
        t.column("view_gain"),
        t.column("gain_per_day")
            .iter()
            .map(|v| v.strip_suffix(".0").unwrap())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn top_movers_default_to_the_latest_date_and_have_none_on_the_first() {
    let h = history();
    let m = Model::new(h);
    let t = query(h, "top_movers", &["limit=2"]).await;
    assert_eq!(t.project(&MOVER_COLS), movers(&m, date(LAST), None, 2).0);
    let first = query(h, "top_movers", &[&format!("date={FIRST}")]).await;
    assert!(first.rows.is_empty(), "{:?}", first.rows);
    assert_eq!(first.header.len(), MOVER_COLS.len() + 1);
    // The fake always sends view counts, so a hidden one (left out, not a gain of 0) cannot
    // happen here.
    assert!(h.entries.iter().all(|e| e.view_count.is_some()));
}

// ---------------------------------------------------------------------------------------------
// rank_climbers

const CLIMBER_COLS: [&str; 10] = [
    "snapshot_date",
    "region",
    "climber",
    "video_id",
    "title",
    "rank",
    "previous_rank",
    "climb",
    "previous_date",
    "days_since_previous",
];

fn climbers(m: &Model, day: NaiveDate, region: Option<&str>, limit: usize) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in REGIONS.iter().filter(|r| region.is_none_or(|x| x == **r)) {
        let Some(prev) = m.previous(r, day) else {
            continue;
        };
        let (now, before) = (m.chart(r, day).unwrap(), m.chart(r, prev).unwrap());
        let mut up: Vec<(i32, &Entry, &Entry)> = now
            .values()
            .filter_map(|e| {
                let b = before.get(e.video_id.as_str())?;
                (b.rank > e.rank).then_some((b.rank - e.rank, *e, *b))
            })
            .collect();
        up.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.rank.cmp(&b.1.rank))
                .then(a.1.video_id.cmp(&b.1.video_id))
        });
        for (i, (climb, e, b)) in up.into_iter().take(limit).enumerate() {
            rows.push(vec![
                s(day),
                s(r),
                s(i + 1),
                e.video_id.clone(),
                m.title(&e.video_id),
                s(e.rank),
                s(b.rank),
                s(climb),
                s(prev),
                s((day - prev).num_days()),
            ]);
        }
    }
    rows
}

#[tokio::test]
async fn rank_climbers_compare_with_the_previous_held_snapshot() {
    let h = history();
    let m = Model::new(h);
    let day = after_gap();
    let t = query(h, "rank_climbers", &[&format!("date={day}"), "limit=4"]).await;
    let rows = climbers(&m, day, None, 4);
    assert_eq!(rows.len(), 4 * REGIONS.len());
    assert_eq!(t.project(&CLIMBER_COLS), rows);
    assert!(t.column("days_since_previous").iter().all(|d| *d == "2"));

    let t = query(h, "rank_climbers", &["region=kr"]).await;
    assert_eq!(
        t.project(&CLIMBER_COLS),
        climbers(&m, date(LAST), Some("KR"), 5)
    );
    assert_eq!(t.rows.len(), 5);

    let t = query(h, "rank_climbers", &[&format!("date={FIRST}")]).await;
    assert!(t.rows.is_empty(), "{:?}", t.rows);
}

// ---------------------------------------------------------------------------------------------
// new_entries and dropouts

const ENTRY_COLS: [&str; 12] = [
    "snapshot_date",
    "region",
    "rank",
    "video_id",
    "title",
    "channel_id",
    "previous_date",
    "days_since_previous",
    "reentry",
    "last_seen_before",
    "region_new_entries",
    "channel_title",
];

fn new_entries(m: &Model, day: NaiveDate, region: Option<&str>, limit: usize) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in REGIONS.iter().filter(|r| region.is_none_or(|x| x == **r)) {
        // A region's first snapshot has no entries: what is on it may have been there for days.
        let Some(prev) = m.previous(r, day) else {
            continue;
        };
        let (now, before) = (m.chart(r, day).unwrap(), m.chart(r, prev).unwrap());
        let mut entered: Vec<&Entry> = now
            .values()
            .filter(|e| !before.contains_key(e.video_id.as_str()))
            .copied()
            .collect();
        entered.sort_by_key(|e| (e.rank, e.video_id.clone()));
        let count = entered.len();
        for e in entered.into_iter().take(limit) {
            let earlier = m.by_region_video[&(*r, e.video_id.as_str())]
                .iter()
                .map(|x| x.date)
                .filter(|d| *d < prev)
                .max();
            let latest = &m.latest[e.video_id.as_str()];
            rows.push(vec![
                s(day),
                s(r),
                s(e.rank),
                e.video_id.clone(),
                latest.title.clone(),
                latest.channel_id.clone(),
                s(prev),
                s((day - prev).num_days()),
                s(earlier.is_some()),
                opt(earlier),
                s(count),
                latest.channel_title.clone(),
            ]);
        }
    }
    rows
}

#[tokio::test]
async fn new_entries_of_every_date_are_the_videos_not_on_the_previous_held_snapshot() {
    let h = history();
    let m = Model::new(h);
    let mut reentries = 0;
    for day in &h.dates {
        let t = query(h, "new_entries", &[&format!("date={day}"), "limit=200"]).await;
        let rows = new_entries(&m, *day, None, 200);
        assert_eq!(t.project(&ENTRY_COLS), rows, "{day}");
        if *day == date(FIRST) {
            assert!(rows.is_empty(), "the first snapshot has no entries");
        } else {
            assert!(!rows.is_empty(), "{day}");
        }
        if *day == after_gap() {
            assert!(t.column("days_since_previous").iter().all(|d| *d == "2"));
        }
        reentries += t.column("reentry").iter().filter(|r| **r == "true").count();
    }
    // The fake's charts have videos that leave and come back.
    assert!(reentries > 0);

    let t = query(h, "new_entries", &["region=kr"]).await;
    assert_eq!(
        t.project(&ENTRY_COLS),
        new_entries(&m, date(LAST), Some("KR"), 20)
    );
    assert_eq!(t.rows.len(), 20);
}

const DROPOUT_COLS: [&str; 14] = [
    "snapshot_date",
    "region",
    "last_rank",
    "video_id",
    "title",
    "channel_id",
    "previous_date",
    "days_since_previous",
    "run_start",
    "run_snapshots",
    "run_calendar_days",
    "run_left_censored",
    "region_dropouts",
    "channel_title",
];

fn dropouts(
    m: &Model,
    runs: &[Run],
    day: NaiveDate,
    region: Option<&str>,
    limit: usize,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in REGIONS.iter().filter(|r| region.is_none_or(|x| x == **r)) {
        let Some(prev) = m.previous(r, day) else {
            continue;
        };
        let (now, before) = (m.chart(r, day).unwrap(), m.chart(r, prev).unwrap());
        let mut left: Vec<&Entry> = before
            .values()
            .filter(|e| !now.contains_key(e.video_id.as_str()))
            .copied()
            .collect();
        left.sort_by_key(|e| (e.rank, e.video_id.clone()));
        let count = left.len();
        for e in left.into_iter().take(limit) {
            let run = runs
                .iter()
                .find(|x| x.region == *r && x.video == e.video_id && x.end == prev)
                .unwrap();
            let latest = &m.latest[e.video_id.as_str()];
            rows.push(vec![
                s(day),
                s(r),
                s(e.rank),
                e.video_id.clone(),
                latest.title.clone(),
                latest.channel_id.clone(),
                s(prev),
                s((day - prev).num_days()),
                s(run.start),
                s(run.snapshots),
                s((prev - run.start).num_days() + 1),
                s(run.start == m.first_date(r)),
                s(count),
                latest.channel_title.clone(),
            ]);
        }
    }
    rows
}

#[tokio::test]
async fn dropouts_of_every_date_carry_the_run_that_ended() {
    let h = history();
    let m = Model::new(h);
    let runs = m.runs();
    let (mut censored, mut across_gap) = (0, 0);
    for day in &h.dates {
        let t = query(h, "dropouts", &[&format!("date={day}"), "limit=200"]).await;
        let rows = dropouts(&m, &runs, *day, None, 200);
        assert_eq!(t.project(&DROPOUT_COLS), rows, "{day}");
        assert_eq!(rows.is_empty(), *day == date(FIRST), "{day}");
        censored += t
            .column("run_left_censored")
            .iter()
            .filter(|c| **c == "true")
            .count();
        across_gap += t
            .project(&["run_snapshots", "run_calendar_days"])
            .iter()
            .filter(|r| r[0] != r[1])
            .count();
    }
    // Runs from the first snapshot are flagged, and runs across the missing day count it in the
    // calendar span but not in the snapshots.
    assert!(censored > 0 && across_gap > 0, "{censored} {across_gap}");

    let t = query(
        h,
        "dropouts",
        &[&format!("date={}", after_gap()), "region=kr", "limit=2"],
    )
    .await;
    assert_eq!(
        t.project(&DROPOUT_COLS),
        dropouts(&m, &runs, after_gap(), Some("KR"), 2)
    );
    assert!(t.column("days_since_previous").iter().all(|d| *d == "2"));
}

// ---------------------------------------------------------------------------------------------
// streaks and days_on_chart

const STREAK_COLS: [&str; 13] = [
    "region",
    "video_id",
    "title",
    "channel_id",
    "channel_title",
    "run_no",
    "start_date",
    "end_date",
    "days_on_chart",
    "calendar_days",
    "best_rank",
    "left_censored",
    "right_censored",
];

fn streaks(m: &Model, runs: &[Run], keep: impl Fn(&Run) -> bool) -> Vec<Vec<String>> {
    let mut kept: Vec<&Run> = runs.iter().filter(|r| keep(r)).collect();
    let span = |r: &Run| (r.end - r.start).num_days() + 1;
    kept.sort_by(|a, b| {
        b.snapshots
            .cmp(&a.snapshots)
            .then(span(b).cmp(&span(a)))
            .then(a.region.cmp(b.region))
            .then(a.video.cmp(b.video))
            .then(a.start.cmp(&b.start))
    });
    kept.into_iter()
        .map(|r| {
            let latest = &m.latest[r.video];
            vec![
                s(r.region),
                s(r.video),
                latest.title.clone(),
                latest.channel_id.clone(),
                latest.channel_title.clone(),
                s(r.run_no),
                s(r.start),
                s(r.end),
                s(r.snapshots),
                s(span(r)),
                s(r.best_rank),
                s(r.start == m.first_date(r.region)),
                s(r.end == m.last_date(r.region)),
            ]
        })
        .collect()
}

#[tokio::test]
async fn streaks_are_runs_over_held_snapshots_that_a_missing_day_does_not_break() {
    let h = history();
    let m = Model::new(h);
    let runs = m.runs();
    let t = query(h, "streaks", &["limit=1000000"]).await;
    let all = streaks(&m, &runs, |_| true);
    assert_eq!(t.project(&STREAK_COLS), all);
    // What the data must hold for this to prove anything: a video that left and came back, a
    // run across the missing day (one snapshot fewer than its calendar days), both censorings.
    let missing = date(MISSING);
    assert!(runs.iter().any(|r| r.run_no > 1));
    assert!(
        runs.iter()
            .any(|r| r.start < missing && r.end > missing && r.start > date(FIRST))
    );
    assert!(t.rows.iter().any(|r| r[8] != r[9]));
    assert!(t.column("left_censored").contains(&"true"));
    assert!(t.column("right_censored").contains(&"true"));
    assert!(t.column("right_censored").contains(&"false"));
    // The longest run covers every held snapshot: 11 snapshots over 12 calendar days.
    assert_eq!(t.rows[0][8..10], ["11".to_string(), "12".to_string()]);

    let t = query(h, "streaks", &["region=kr", "min_days=5", "limit=7"]).await;
    let kr: Vec<_> = streaks(&m, &runs, |r| r.region == "KR" && r.snapshots >= 5)
        .into_iter()
        .take(7)
        .collect();
    assert_eq!(t.project(&STREAK_COLS), kr);

    let back = runs.iter().find(|r| r.run_no == 2).unwrap();
    let t = query(h, "streaks", &[&format!("video={}", back.video)]).await;
    assert_eq!(
        t.project(&STREAK_COLS),
        streaks(&m, &runs, |r| r.video == back.video)
    );
    assert!(t.column("run_no").contains(&"2"));

    let t = query(h, "streaks", &[]).await;
    assert_eq!(t.project(&STREAK_COLS), all[..20].to_vec());
}

const DAYS_COLS: [&str; 13] = [
    "region",
    "video_id",
    "title",
    "channel_id",
    "channel_title",
    "days_on_chart",
    "runs",
    "longest_run",
    "first_date",
    "last_date",
    "best_rank",
    "left_censored",
    "right_censored",
];

fn days_on_chart(m: &Model, runs: &[Run], keep: impl Fn(&str, &str) -> bool) -> Vec<Vec<String>> {
    let mut per: BTreeMap<(&str, &str), Vec<&Run>> = BTreeMap::new();
    for r in runs.iter().filter(|r| keep(r.region, r.video)) {
        per.entry((r.region, r.video)).or_default().push(r);
    }
    let mut rows: Vec<(usize, i32, &str, &str, Vec<String>)> = per
        .into_iter()
        .map(|((region, video), rs)| {
            let days: usize = rs.iter().map(|r| r.snapshots).sum();
            let best = rs.iter().map(|r| r.best_rank).min().unwrap();
            let (first, last) = (rs[0].start, rs.last().unwrap().end);
            let latest = &m.latest[video];
            let row = vec![
                s(region),
                s(video),
                latest.title.clone(),
                latest.channel_id.clone(),
                latest.channel_title.clone(),
                s(days),
                s(rs.len()),
                s(rs.iter().map(|r| r.snapshots).max().unwrap()),
                s(first),
                s(last),
                s(best),
                s(first == m.first_date(region)),
                s(last == m.last_date(region)),
            ];
            (days, best, region, video, row)
        })
        .collect();
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(b.2))
            .then(a.3.cmp(b.3))
    });
    rows.into_iter().map(|r| r.4).collect()
}

#[tokio::test]
async fn days_on_chart_is_the_total_of_a_videos_streaks() {
    let h = history();
    let m = Model::new(h);
    let runs = m.runs();
    let t = query(h, "days_on_chart", &["limit=1000000"]).await;
    let all = days_on_chart(&m, &runs, |_, _| true);
    assert_eq!(t.project(&DAYS_COLS), all);
    // The total counts held snapshots, never more than the region holds.
    assert!(
        t.column("days_on_chart")
            .iter()
            .all(|d| d.parse::<usize>().unwrap() <= 11)
    );
    assert!(t.column("runs").iter().any(|r| *r != "1"));

    let t = query(h, "days_on_chart", &["region=kr", "limit=5"]).await;
    let kr: Vec<_> = days_on_chart(&m, &runs, |r, _| r == "KR")
        .into_iter()
        .take(5)
        .collect();
    assert_eq!(t.project(&DAYS_COLS), kr);

    let back = runs.iter().find(|r| r.run_no == 2).unwrap();
    let t = query(h, "days_on_chart", &[&format!("video={}", back.video)]).await;
    assert_eq!(
        t.project(&DAYS_COLS),
        days_on_chart(&m, &runs, |_, v| v == back.video)
    );
}

// ---------------------------------------------------------------------------------------------
// cross_region and time_to_trend

/// Each video's first appearance per region, and whether it is left-censored.
fn first_appearances<'a>(m: &Model<'a>) -> BTreeMap<&'a str, Vec<(&'a str, NaiveDate, bool)>> {
    let mut out: BTreeMap<&str, Vec<(&str, NaiveDate, bool)>> = BTreeMap::new();
    for (&(region, video), entries) in &m.by_region_video {
        let first = entries[0].date;
        out.entry(video)
            .or_default()
            .push((region, first, first == m.first_date(region)));
    }
    out
}

const CROSS_COLS: [&str; 13] = [
    "video_id",
    "title",
    "channel_id",
    "channel_title",
    "regions_reached",
    "origin_known",
    "first_date",
    "first_regions",
    "max_lag_days",
    "arrivals",
    "censored_regions",
    "still_on_chart",
    "matching_videos",
];

/// A video's first appearance in each region: (region, date, left-censored).
type Arrivals<'a> = [(&'a str, NaiveDate, bool)];

/// Expected `cross_region` rows (CROSS_COLS) of the videos `keep` passes, every one of them.
fn cross_region(m: &Model, keep: impl Fn(&str, &Arrivals) -> bool) -> Vec<Vec<String>> {
    let mut rows: Vec<(usize, bool, NaiveDate, &str, Vec<String>)> = Vec::new();
    for (video, mut arrivals) in first_appearances(m) {
        if !keep(video, &arrivals) {
            continue;
        }
        arrivals.sort_by_key(|a| (a.1, a.0));
        let earliest = arrivals[0].1;
        let known = arrivals.iter().all(|a| !a.2);
        let first_regions: Vec<&str> = arrivals
            .iter()
            .filter(|a| a.1 == earliest)
            .map(|a| a.0)
            .collect();
        let text: Vec<String> = arrivals
            .iter()
            .map(|(region, first, censored)| {
                let mark = if *censored { "≤" } else { "" };
                let lag = if known {
                    format!(" +{}d", (*first - earliest).num_days())
                } else {
                    String::new()
                };
                format!("{region} {mark}{first}{lag}")
            })
            .collect();
        let censored: Vec<&str> = {
            let mut c: Vec<&str> = arrivals.iter().filter(|a| a.2).map(|a| a.0).collect();
            c.sort();
            c
        };
        let still = arrivals.iter().any(|(region, _, _)| {
            m.by_region_video[&(*region, video)].last().unwrap().date == m.last_date(region)
        });
        let latest = &m.latest[video];
        let row = vec![
            s(video),
            latest.title.clone(),
            latest.channel_id.clone(),
            latest.channel_title.clone(),
            s(arrivals.len()),
            s(known),
            if known { s(earliest) } else { String::new() },
            if known {
                first_regions.join(",")
            } else {
                String::new()
            },
            if known {
                s((arrivals.last().unwrap().1 - earliest).num_days())
            } else {
                String::new()
            },
            text.join(", "),
            censored.join(","),
            s(still),
        ];
        rows.push((arrivals.len(), known, earliest, video, row));
    }
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(b.3))
    });
    let matching = rows.len();
    rows.into_iter()
        .map(|mut r| {
            r.4.push(s(matching));
            r.4
        })
        .collect()
}

#[tokio::test]
async fn cross_region_never_presents_a_censored_origin_or_lag_as_known() {
    let h = history();
    let m = Model::new(h);
    let t = query(h, "cross_region", &["min_regions=1", "limit=1000000"]).await;
    let all = cross_region(&m, |_, _| true);
    assert!(
        t.column("matching_videos")
            .iter()
            .all(|n| *n == s(all.len()))
    );
    assert_eq!(t.project(&CROSS_COLS), all);

    // Every video on a region's first snapshot has an unknown origin; the known ones all
    // appeared first after it, and some spread with a lag.
    let p = t.project(&["origin_known", "first_date", "max_lag_days", "arrivals"]);
    assert!(
        p.iter()
            .any(|r| r[0] == "false" && r[1].is_empty() && r[2].is_empty())
    );
    assert!(
        p.iter()
            .filter(|r| r[0] == "false")
            .all(|r| r[3].contains('≤'))
    );
    assert!(
        p.iter()
            .filter(|r| r[0] == "true")
            .all(|r| r[1].as_str() > FIRST)
    );
    assert!(
        p.iter()
            .any(|r| r[0] == "true" && r[2].parse::<i64>().unwrap() > 0)
    );

    let t = query(h, "cross_region", &[]).await;
    let several: Vec<_> = cross_region(&m, |_, a| a.len() >= 2)
        .into_iter()
        .take(20)
        .collect();
    assert_eq!(t.project(&CROSS_COLS), several);

    let t = query(h, "cross_region", &["min_regions=9", "limit=3"]).await;
    let nine: Vec<_> = cross_region(&m, |_, a| a.len() >= 9)
        .into_iter()
        .take(3)
        .collect();
    assert_eq!(t.project(&CROSS_COLS), nine);

    // One video, even one that reached a single region.
    let firsts = first_appearances(&m);
    let (lone, _) = firsts.iter().find(|(_, a)| a.len() == 1).unwrap();
    let (spread, _) = firsts
        .iter()
        .find(|(_, a)| a.len() > 2 && a.iter().all(|x| !x.2) && a.iter().any(|x| x.1 != a[0].1))
        .unwrap();
    for video in [lone, spread] {
        let t = query(h, "cross_region", &[&format!("video={video}")]).await;
        assert_eq!(t.project(&CROSS_COLS), cross_region(&m, |v, _| v == *video));
        assert_eq!(t.rows.len(), 1);
    }
}

#[tokio::test]
async fn cross_region_as_of_a_date_ignores_later_snapshots_and_since_keeps_recent_arrivals() {
    let h = history();
    // As the warehouse knew it on the day after the gap: the later nights bring more regions,
    // later arrivals and other videos still on the chart.
    let day = after_gap();
    let then = Model::as_of(h, day);
    let t = query(
        h,
        "cross_region",
        &[&format!("date={day}"), "min_regions=1", "limit=1000000"],
    )
    .await;
    let expected = cross_region(&then, |_, _| true);
    assert_eq!(t.project(&CROSS_COLS), expected);
    let now = query(h, "cross_region", &["min_regions=1", "limit=1000000"]).await;
    assert_ne!(
        now.project(&CROSS_COLS),
        expected,
        "the later nights change the answer"
    );
    let latest_arrival = t
        .column("arrivals")
        .iter()
        .flat_map(|a| a.split(", "))
        .map(|a| date(a.split(' ').nth(1).unwrap().trim_start_matches('≤')))
        .max();
    assert_eq!(latest_arrival, Some(day));

    // Since the missing day: only videos that arrived somewhere on or after it (an arrival, not
    // a censored presence), counted in full though only three rows are shown.
    let since = date(MISSING);
    let t = query(
        h,
        "cross_region",
        &[&format!("date={day}"), &format!("since={since}"), "limit=3"],
    )
    .await;
    let recent = cross_region(&then, |_, a| {
        a.len() >= 2
            && a.iter()
                .any(|(_, first, censored)| !censored && *first >= since)
    });
    assert!(recent.len() > 3, "{}", recent.len());
    assert_eq!(
        t.project(&CROSS_COLS),
        recent.into_iter().take(3).collect::<Vec<_>>()
    );
}

const TREND_COLS: [&str; 10] = [
    "region",
    "video_id",
    "videos",
    "censored",
    "min_days",
    "p25_days",
    "median_days",
    "p75_days",
    "p90_days",
    "max_days",
];

/// The nearest-rank quantile: the value at rank ceil(q·n) of the sorted values.
fn nearest_rank(sorted: &[i64], percent: usize) -> i64 {
    let rank = (sorted.len() * percent).div_ceil(100);
    sorted[rank.max(1) - 1]
}

fn time_to_trend(m: &Model, region: Option<&str>, video: Option<&str>) -> Vec<Vec<String>> {
    let mut per: BTreeMap<&str, (Vec<i64>, usize)> = BTreeMap::new();
    for (v, arrivals) in first_appearances(m) {
        if video.is_some_and(|x| x != v) {
            continue;
        }
        for (r, first, censored) in arrivals {
            if region.is_some_and(|x| x != r) {
                continue;
            }
            let slot = per.entry(r).or_default();
            if censored {
                slot.1 += 1;
            } else {
                let published = m.latest[v].published_at.date_naive();
                slot.0.push((first - published).num_days());
            }
        }
    }
    per.into_iter()
        .map(|(r, (mut days, censored))| {
            days.sort();
            let stat = |p: usize| {
                if days.is_empty() {
                    String::new()
                } else {
                    s(nearest_rank(&days, p))
                }
            };
            vec![
                s(r),
                opt(video),
                s(days.len()),
                s(censored),
                opt(days.first()),
                stat(25),
                stat(50),
                stat(75),
                stat(90),
                opt(days.last()),
            ]
        })
        .collect()
}

#[tokio::test]
async fn time_to_trend_leaves_censored_first_appearances_out_of_the_distribution() {
    let h = history();
    let m = Model::new(h);
    let t = query(h, "time_to_trend", &[]).await;
    let all = time_to_trend(&m, None, None);
    assert_eq!(t.project(&TREND_COLS), all);
    assert_eq!(all.len(), REGIONS.len());
    // Every region's first snapshot holds 200 first appearances, all left out.
    assert!(t.column("censored").iter().all(|c| *c == "200"));
    // The spread is real: some chart on their upload day, some (live streams) weeks later.
    assert!(t.column("min_days").iter().all(|d| *d == "0"));
    assert!(
        t.column("max_days")
            .iter()
            .any(|d| d.parse::<i64>().unwrap() > 7)
    );

    let t = query(h, "time_to_trend", &["region=kr"]).await;
    assert_eq!(t.project(&TREND_COLS), time_to_trend(&m, Some("KR"), None));

    let firsts = first_appearances(&m);
    let (known, _) = firsts
        .iter()
        .find(|(_, a)| a.len() > 2 && a.iter().all(|x| !x.2))
        .unwrap();
    let (censored, _) = firsts
        .iter()
        .find(|(_, a)| a.len() > 2 && a.iter().any(|x| x.2) && a.iter().any(|x| !x.2))
        .unwrap();
    for video in [known, censored] {
        let t = query(h, "time_to_trend", &[&format!("video={video}")]).await;
        let rows = time_to_trend(&m, None, Some(*video));
        assert_eq!(t.project(&TREND_COLS), rows);
        assert_eq!(rows.len(), firsts[video].len());
    }
    // A censored region's row shows no days at all.
    let t = query(h, "time_to_trend", &[&format!("video={censored}")]).await;
    let p = t.project(&["censored", "median_days"]);
    assert!(p.iter().any(|r| r[0] == "1" && r[1].is_empty()));
}
