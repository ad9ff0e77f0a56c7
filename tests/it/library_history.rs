//! The history queries of the trend library (channel_leaderboard, category_mix, engagement,
//! survival, publish_hour, video_history, coverage) on the shared history, against what this
//! module computes itself from the lake's rows (`History::entries`), never from SQL.
//!
//! The history has no snapshot on [`MISSING`]: a gain across it spans two days, a survival check
//! landing on it is unknown, and coverage reports it. [`FIRST`] is every region's first snapshot
//! (left-censored: nothing enters there) and [`LAST`] its latest (right-censored).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone, Timelike};

use crate::history::{Entry, FIRST, History, LAST, MISSING, Model, REGIONS, Table, history};
use crate::support::{assert_exit, date, stderr, trendlake};

impl Table {
    /// A column of numbers; an empty cell (NULL) is None.
    fn floats(&self, name: &str) -> Vec<Option<f64>> {
        self.column(name)
            .into_iter()
            .map(|v| (!v.is_empty()).then(|| v.parse().unwrap()))
            .collect()
    }
}

async fn query(h: &History, name: &str, params: &[&str]) -> Table {
    h.query(name, params).await
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// `got` is `want` rounded to `places` decimals (however the rounding of a half goes).
#[track_caller]
fn assert_rounded(got: Option<f64>, want: Option<f64>, places: i32, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 0.5 * 10f64.powi(-places) + 1e-12,
            "{what}: {g} is not {w} to {places} places"
        ),
        _ => panic!("{what}: {got:?} but expected {want:?}"),
    }
}

impl<'a> Model<'a> {
    /// The entries of `region` (all regions with None) between `from` and `to`.
    fn entries_in(
        &self,
        region: &'a str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = &'a Entry> + '_ {
        self.charts
            .range((region, from)..=(region, to))
            .flat_map(|(_, c)| c.values().copied())
    }
}

fn day_after(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap()
}

// ---------------------------------------------------------------------------------------------
// channel_leaderboard

const LEADER_COLS: [&str; 10] = [
    "region",
    "position",
    "channel_id",
    "channel_title",
    "entries",
    "videos",
    "snapshots",
    "best_rank",
    "first_date",
    "last_date",
];

/// Expected leaders (LEADER_COLS) and each row's entries per snapshot.
fn leaders(
    m: &Model,
    region: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
) -> (Vec<Vec<String>>, Vec<f64>) {
    // The latest title of a channel: that of its video refreshed last (video_id breaks a tie).
    let mut titles: BTreeMap<&str, (NaiveDate, &str, &str)> = BTreeMap::new();
    for (video, e) in &m.latest {
        let slot = titles
            .entry(&e.channel_id)
            .or_insert((e.date, video, &e.channel_title));
        if (e.date, *video) > (slot.0, slot.1) {
            *slot = (e.date, video, &e.channel_title);
        }
    }
    let (mut rows, mut per_snapshot) = (Vec::new(), Vec::new());
    for r in REGIONS
        .into_iter()
        .filter(|r| region.is_none_or(|x| x == *r))
    {
        let snapshots = m.calendar[r]
            .iter()
            .filter(|d| (from..=to).contains(*d))
            .count();
        if snapshots == 0 {
            continue;
        }
        struct Stats<'a> {
            entries: usize,
            videos: BTreeSet<&'a str>,
            best: i32,
            first: NaiveDate,
            last: NaiveDate,
        }
        let mut channels: BTreeMap<&str, Stats> = BTreeMap::new();
        for e in m.entries_in(r, from, to) {
            // The channel of the video's latest metadata, as the warehouse keys it.
            let channel = m.latest[e.video_id.as_str()].channel_id.as_str();
            let st = channels.entry(channel).or_insert(Stats {
                entries: 0,
                videos: BTreeSet::new(),
                best: i32::MAX,
                first: e.date,
                last: e.date,
            });
            st.entries += 1;
            st.videos.insert(&e.video_id);
            st.best = st.best.min(e.rank);
            st.first = st.first.min(e.date);
            st.last = st.last.max(e.date);
        }
        let mut ranked: Vec<(&str, Stats)> = channels.into_iter().collect();
        ranked.sort_by(|(ca, a), (cb, b)| {
            b.entries
                .cmp(&a.entries)
                .then(b.videos.len().cmp(&a.videos.len()))
                .then(a.best.cmp(&b.best))
                .then(ca.cmp(cb))
        });
        for (i, (channel, st)) in ranked.into_iter().take(limit).enumerate() {
            rows.push(vec![
                s(r),
                s(i + 1),
                s(channel),
                s(titles[channel].2),
                s(st.entries),
                s(st.videos.len()),
                s(snapshots),
                s(st.best),
                s(st.first),
                s(st.last),
            ]);
            per_snapshot.push(st.entries as f64 / snapshots as f64);
        }
    }
    (rows, per_snapshot)
}

async fn check_leaders(
    h: &History,
    m: &Model<'_>,
    params: &[&str],
    region: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
) -> Table {
    let t = query(h, "channel_leaderboard", params).await;
    let (rows, per_snapshot) = leaders(m, region, from, to, limit);
    assert_eq!(t.project(&LEADER_COLS), rows, "{params:?}");
    for (got, want) in t
        .floats("entries_per_snapshot")
        .into_iter()
        .zip(per_snapshot)
    {
        assert_rounded(got, Some(want), 2, "entries_per_snapshot");
    }
    t
}

#[tokio::test]
async fn channel_leaderboard_counts_chart_days_and_videos_per_channel_id() {
    let h = history();
    let m = Model::new(h);
    let (first, last) = (date(FIRST), date(LAST));
    // The whole history of one region, given in lower case.
    let t = check_leaders(h, &m, &["region=kr", "limit=5"], Some("KR"), first, last, 5).await;
    assert_eq!(t.rows.len(), 5);
    assert!(t.column("snapshots").iter().all(|n| *n == "11"));
    // A period holding the missing day: one snapshot, the one after it.
    let gap = date(MISSING);
    let t = check_leaders(
        h,
        &m,
        &[
            &format!("from={gap}"),
            &format!("to={}", day_after(gap)),
            "limit=3",
        ],
        None,
        gap,
        day_after(gap),
        3,
    )
    .await;
    assert_eq!(t.rows.len(), 3 * REGIONS.len());
    assert!(t.column("snapshots").iter().all(|n| *n == "1"));
    // The first and the last day alone.
    for day in [first, last] {
        let p = [
            format!("from={day}"),
            format!("to={day}"),
            "region=US".into(),
        ];
        let p: Vec<&str> = p.iter().map(String::as_str).collect();
        check_leaders(h, &m, &p, Some("US"), day, day, 10).await;
    }

    // Channels are keyed by id: where two channels share a title on one chart, both are rows.
    let mut shared = None;
    'regions: for r in REGIONS {
        let mut by_title: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for e in m.entries_in(r, first, last) {
            by_title
                .entry(&e.channel_title)
                .or_default()
                .insert(&e.channel_id);
        }
        for (title, ids) in by_title {
            if ids.len() > 1 {
                shared = Some((r, title, ids));
                break 'regions;
            }
        }
    }
    let (region, title, ids) = shared.expect("the fake has channels sharing a title on a chart");
    let t = query(
        h,
        "channel_leaderboard",
        &[&format!("region={region}"), "limit=100000"],
    )
    .await;
    let listed: BTreeSet<&str> = t
        .rows
        .iter()
        .filter(|r| r[t.col("channel_title")] == title)
        .map(|r| r[t.col("channel_id")].as_str())
        .collect();
    assert_eq!(listed, ids, "{region}: {title}");
}

// ---------------------------------------------------------------------------------------------
// category_mix

const MIX_COLS: [&str; 8] = [
    "region",
    "iso_week",
    "week_start",
    "calendar_days",
    "snapshots",
    "week_entries",
    "category_id",
    "entries",
];

/// Expected mix rows (MIX_COLS) and each row's share.
fn category_mix(
    m: &Model,
    region: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> (Vec<Vec<String>>, Vec<f64>) {
    let monday = |d: NaiveDate| {
        d - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ))
    };
    let (mut rows, mut shares) = (Vec::new(), Vec::new());
    for r in REGIONS
        .into_iter()
        .filter(|r| region.is_none_or(|x| x == *r))
    {
        // week -> (snapshots, category -> entries)
        let mut weeks: BTreeMap<NaiveDate, (usize, BTreeMap<Option<i32>, usize>)> = BTreeMap::new();
        for d in m.calendar[r].iter().filter(|d| (from..=to).contains(*d)) {
            weeks.entry(monday(*d)).or_default().0 += 1;
        }
        for e in m.entries_in(r, from, to) {
            let category = m.latest[e.video_id.as_str()].category_id;
            *weeks
                .get_mut(&monday(e.date))
                .unwrap()
                .1
                .entry(category)
                .or_default() += 1;
        }
        for (week, (snapshots, categories)) in weeks {
            let total: usize = categories.values().sum();
            let first_day = week.max(from);
            let last_day = (week + chrono::Duration::days(6)).min(to);
            let calendar_days = (last_day - first_day).num_days() + 1;
            let mut cats: Vec<(Option<i32>, usize)> = categories.into_iter().collect();
            // The largest first; NULL category last among equals.
            cats.sort_by(|a, b| {
                b.1.cmp(&a.1)
                    .then(a.0.is_none().cmp(&b.0.is_none()))
                    .then(a.0.cmp(&b.0))
            });
            for (category, n) in cats {
                rows.push(vec![
                    s(r),
                    week.format("%G-W%V").to_string(),
                    s(week),
                    s(calendar_days),
                    s(snapshots),
                    s(total),
                    opt(category),
                    s(n),
                ]);
                shares.push(n as f64 / total as f64);
            }
        }
    }
    (rows, shares)
}

async fn check_mix(
    h: &History,
    m: &Model<'_>,
    params: &[&str],
    region: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Table {
    let t = query(h, "category_mix", params).await;
    let (rows, shares) = category_mix(m, region, from, to);
    assert_eq!(t.project(&MIX_COLS), rows, "{params:?}");
    for (got, want) in t.floats("share").into_iter().zip(shares) {
        assert_rounded(got, Some(want), 4, "share");
    }
    t
}

#[tokio::test]
async fn category_mix_shares_entries_per_iso_week_with_the_snapshots_held() {
    let h = history();
    let m = Model::new(h);
    let (first, last) = (date(FIRST), date(LAST));
    let t = check_mix(h, &m, &["region=kr"], Some("KR"), first, last).await;
    // 2026-11-10 is a Tuesday: the first ISO week (from Monday 11-09) has 6 days in the history
    // and 5 snapshots (11-15, its Sunday, is missing); the second 6 days (to Saturday 11-21).
    let weeks: BTreeSet<Vec<String>> = t
        .project(&[
            "iso_week",
            "week_start",
            "calendar_days",
            "snapshots",
            "week_entries",
        ])
        .into_iter()
        .collect();
    assert_eq!(
        weeks,
        BTreeSet::from([
            vec![s("2026-W46"), s("2026-11-09"), s(6), s(5), s(1000)],
            vec![s("2026-W47"), s("2026-11-16"), s(6), s(6), s(1200)],
        ])
    );
    let music = t
        .rows
        .iter()
        .find(|r| r[t.col("category_id")] == "10")
        .unwrap();
    assert_eq!(music[t.col("category")], "Music");

    // A period cutting both weeks, every region.
    let (from, to) = (date("2026-11-12"), date("2026-11-17"));
    let t = check_mix(h, &m, &["from=2026-11-12", "to=2026-11-17"], None, from, to).await;
    let weeks: BTreeSet<Vec<String>> = t
        .project(&["week_start", "calendar_days", "snapshots"])
        .into_iter()
        .collect();
    assert_eq!(
        weeks,
        BTreeSet::from([
            vec![s("2026-11-09"), s(4), s(3)],
            vec![s("2026-11-16"), s(2), s(2)],
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// engagement

const ENGAGEMENT_COLS: [&str; 11] = [
    "region",
    "position",
    "video_id",
    "title",
    "channel_id",
    "last_date",
    "rank",
    "view_count",
    "like_count",
    "comment_count",
    "channel_title",
];

/// Expected rows (ENGAGEMENT_COLS) and each row's (likes, comments) per view.
#[allow(clippy::type_complexity)]
fn engagement(
    m: &Model,
    from: NaiveDate,
    as_of: NaiveDate,
    region: Option<&str>,
    limit: usize,
) -> (Vec<Vec<String>>, Vec<(Option<f64>, Option<f64>)>) {
    let ratio = |n: Option<i64>, views: Option<i64>| match (n, views) {
        (Some(n), Some(v)) if v > 0 => Some(n as f64 / v as f64),
        _ => None,
    };
    let (mut rows, mut ratios) = (Vec::new(), Vec::new());
    for r in REGIONS
        .into_iter()
        .filter(|r| region.is_none_or(|x| x == *r))
    {
        let mut latest: Vec<(&Entry, Option<f64>, Option<f64>)> = m
            .by_region_video
            .range((r, "")..)
            .take_while(|((region, _), _)| *region == r)
            .filter_map(|(_, entries)| {
                entries
                    .iter()
                    .rev()
                    .find(|e| e.date <= as_of)
                    .filter(|e| e.date >= from)
            })
            .map(|e| {
                (
                    *e,
                    ratio(e.like_count, e.view_count),
                    ratio(e.comment_count, e.view_count),
                )
            })
            .collect();
        // Larger ratios first, NULLs last, then video_id.
        let desc = |a: Option<f64>, b: Option<f64>| {
            a.is_none()
                .cmp(&b.is_none())
                .then(b.unwrap_or(0.0).partial_cmp(&a.unwrap_or(0.0)).unwrap())
        };
        latest.sort_by(|a, b| {
            desc(a.1, b.1)
                .then(desc(a.2, b.2))
                .then(a.0.video_id.cmp(&b.0.video_id))
        });
        for (i, (e, likes, comments)) in latest.into_iter().take(limit).enumerate() {
            let meta = m.latest[e.video_id.as_str()];
            rows.push(vec![
                s(r),
                s(i + 1),
                s(&e.video_id),
                s(&meta.title),
                s(&meta.channel_id),
                s(e.date),
                s(e.rank),
                opt(e.view_count),
                opt(e.like_count),
                opt(e.comment_count),
                s(&meta.channel_title),
            ]);
            ratios.push((likes, comments));
        }
    }
    (rows, ratios)
}

async fn check_engagement(
    h: &History,
    m: &Model<'_>,
    params: &[&str],
    (from, as_of): (NaiveDate, NaiveDate),
    region: Option<&str>,
    limit: usize,
) -> Table {
    let t = query(h, "engagement", params).await;
    let (rows, ratios) = engagement(m, from, as_of, region, limit);
    assert_eq!(t.project(&ENGAGEMENT_COLS), rows, "{params:?}");
    let got = t
        .floats("likes_per_view")
        .into_iter()
        .zip(t.floats("comments_per_view"));
    for ((likes, comments), (want_likes, want_comments)) in got.zip(ratios) {
        // The same IEEE division on both sides, printed to round-trip.
        assert_rounded(likes, want_likes, 15, "likes_per_view");
        assert_rounded(comments, want_comments, 15, "comments_per_view");
    }
    t
}

#[tokio::test]
async fn engagement_ranks_latest_entries_with_hidden_counts_null_and_last() {
    let h = history();
    let m = Model::new(h);
    let (first, last) = (date(FIRST), date(LAST));
    // Every KR video of the history: the order of the whole list, hidden counts included.
    let t = check_engagement(
        h,
        &m,
        &["region=kr", "limit=100000", &format!("from={FIRST}")],
        (first, last),
        Some("KR"),
        usize::MAX,
    )
    .await;
    let likes = t.floats("likes_per_view");
    let hidden = t
        .column("like_count")
        .iter()
        .filter(|v| v.is_empty())
        .count();
    assert!(hidden > 0, "the fake hides some videos' likes");
    // NULL where hidden, and never above a ratio.
    for (row, ratio) in t.rows.iter().zip(&likes) {
        assert_eq!(row[t.col("like_count")].is_empty(), ratio.is_none());
    }
    assert!(likes[..likes.len() - hidden].iter().all(Option::is_some));
    assert!(likes[likes.len() - hidden..].iter().all(Option::is_none));
    // Comments disabled: NULL, not 0; a real 0 comments is a ratio of 0.
    assert!(t.column("comment_count").contains(&""));
    assert!(t.column("comment_count").contains(&"0"));
    for row in &t.rows {
        let comments = &row[t.col("comment_count")];
        let ratio = &row[t.col("comments_per_view")];
        assert_eq!(comments.is_empty(), ratio.is_empty(), "{row:?}");
        if comments == "0" {
            assert_eq!(ratio.parse::<f64>().unwrap(), 0.0);
        }
    }
    // Videos that left: their latest entry is before the last date.
    assert!(t.column("last_date").iter().any(|d| *d != LAST));

    // By default the window is the chart of `date` alone: every row's entry is on it.
    let t = check_engagement(
        h,
        &m,
        &["region=KR", "limit=100000"],
        (last, last),
        Some("KR"),
        usize::MAX,
    )
    .await;
    let on_last = m
        .by_region_video
        .iter()
        .filter(|((region, _), entries)| *region == "KR" && entries.iter().any(|e| e.date == last))
        .count();
    assert!(on_last > 0);
    assert_eq!(t.rows.len(), on_last, "KR's chart of the last date");
    assert!(t.column("last_date").iter().all(|d| *d == LAST));

    // Windows ending on the missing day (the latest entries are on the day before it), the first
    // day and the last, every region.
    for day in [date(MISSING), first, last] {
        let p = format!("date={day}");
        let from = format!("from={FIRST}");
        let t = check_engagement(h, &m, &[&p, &from, "limit=3"], (first, day), None, 3).await;
        assert_eq!(t.rows.len(), 3 * REGIONS.len());
    }
    let t = check_engagement(
        h,
        &m,
        &[
            "date=2026-11-15",
            "from=2026-11-12",
            "region=JP",
            "limit=100000",
        ],
        (date("2026-11-12"), date(MISSING)),
        Some("JP"),
        usize::MAX,
    )
    .await;
    assert!(t.column("last_date").iter().all(|d| *d <= "2026-11-14"));
    assert!(t.column("last_date").iter().all(|d| *d >= "2026-11-12"));
    // The missing day alone holds no snapshot: no rows, not a chart of zeros.
    let t = query(h, "engagement", &["date=2026-11-15"]).await;
    assert!(t.rows.is_empty(), "{:?}", t.rows);
}

// ---------------------------------------------------------------------------------------------
// survival

const SURVIVAL_COLS: [&str; 8] = [
    "region",
    "category_id",
    "day_n",
    "entered",
    "at_risk",
    "still_on",
    "censored",
    "unknown",
];

/// Expected survival rows (SURVIVAL_COLS) and each row's share (None with no one at risk).
fn survival(
    m: &Model,
    region: Option<&str>,
    category: Option<i32>,
    max_days: i64,
) -> (Vec<Vec<String>>, Vec<Option<f64>>) {
    let (mut rows, mut shares) = (Vec::new(), Vec::new());
    for r in REGIONS
        .into_iter()
        .filter(|r| region.is_none_or(|x| x == *r))
    {
        let (first, last) = (m.first_date(r), m.last_date(r));
        // Entrants: first appearances after the region's first snapshot.
        let entrants: Vec<(&str, NaiveDate)> = m
            .by_region_video
            .range((r, "")..)
            .take_while(|((region, _), _)| *region == r)
            .filter(|((_, v), _)| category.is_none() || m.latest[v].category_id == category)
            .map(|((_, v), entries)| (*v, entries[0].date))
            .filter(|(_, entered)| *entered > first)
            .collect();
        if entrants.is_empty() {
            continue;
        }
        for n in 1..=max_days {
            let (mut at_risk, mut still_on, mut censored, mut unknown) = (0, 0, 0, 0);
            for (video, entered) in &entrants {
                let target = *entered + chrono::Duration::days(n);
                if target > last {
                    censored += 1;
                } else if !m.held(r, target) {
                    unknown += 1;
                } else {
                    at_risk += 1;
                    if m.on_chart(r, target, video) {
                        still_on += 1;
                    }
                }
            }
            rows.push(vec![
                s(r),
                opt(category),
                s(n),
                s(entrants.len()),
                s(at_risk),
                s(still_on),
                s(censored),
                s(unknown),
            ]);
            shares.push((at_risk > 0).then(|| still_on as f64 / at_risk as f64));
        }
    }
    (rows, shares)
}

async fn check_survival(
    h: &History,
    m: &Model<'_>,
    params: &[&str],
    region: Option<&str>,
    category: Option<i32>,
    max_days: i64,
) -> Table {
    let t = query(h, "survival", params).await;
    let (rows, shares) = survival(m, region, category, max_days);
    assert_eq!(t.project(&SURVIVAL_COLS), rows, "{params:?}");
    for (got, want) in t.floats("share").into_iter().zip(shares) {
        assert_rounded(got, want, 4, "share");
    }
    t
}

#[tokio::test]
async fn survival_leaves_out_censored_entries_and_unknown_days() {
    let h = history();
    let m = Model::new(h);
    // Past the history's end: every N from 11 on is censored for everyone.
    let t = check_survival(h, &m, &["region=kr", "max_days=12"], Some("KR"), None, 12).await;
    let row = |n: usize| &t.rows[n - 1];
    let (at_risk, censored, unknown) = (t.col("at_risk"), t.col("censored"), t.col("unknown"));
    assert_eq!(row(11)[at_risk], "0");
    assert_eq!(row(11)[t.col("share")], "");
    assert_eq!(row(11)[censored], row(11)[t.col("entered")]);
    // Entrants of the day before the missing one are unknown at N = 1.
    let before_gap = date(MISSING).pred_opt().unwrap();
    let on_eve = m
        .by_region_video
        .iter()
        .filter(|((r, _), e)| *r == "KR" && e[0].date == before_gap)
        .count();
    assert!(on_eve > 0);
    assert_eq!(row(1)[unknown], s(on_eve));
    // KR has videos first seen on the first day: left-censored, they are no entrants above.
    assert!(
        m.by_region_video
            .iter()
            .any(|((r, _), e)| *r == "KR" && e[0].date == date(FIRST))
    );

    // Every region at the default max_days, and one category.
    check_survival(h, &m, &[], None, None, 7).await;
    check_survival(
        h,
        &m,
        &["region=KR", "video_category=10", "max_days=4"],
        Some("KR"),
        Some(10),
        4,
    )
    .await;
    // A category no video has gives no rows.
    let t = query(h, "survival", &["video_category=44"]).await;
    assert!(t.rows.is_empty());
    // `category` names a chart: this history holds general charts only, so a category chart's
    // survival has no rows, and `category=all` is the default's answer.
    assert!(query(h, "survival", &["category=10"]).await.rows.is_empty());
    assert_eq!(
        query(h, "survival", &["category=all"]).await.rows,
        query(h, "survival", &[]).await.rows
    );
}

#[tokio::test]
async fn survival_as_of_a_date_censors_what_came_after_it() {
    let h = history();
    let day = date("2026-11-17");
    let then = Model::as_of(h, day);
    let as_of = format!("date={day}");
    let t = check_survival(h, &then, &[&as_of, "max_days=5"], None, None, 5).await;
    // The videos that entered KR on the date itself: not known yet for any N.
    let kr = t.project(&["region", "day_n", "censored"]);
    let entered_on_day = then
        .by_region_video
        .iter()
        .filter(|((r, _), e)| *r == "KR" && e[0].date == day)
        .count();
    assert!(entered_on_day > 0);
    assert!(
        kr.contains(&vec![s("KR"), s(1), s(entered_on_day)]),
        "{kr:?}"
    );
    // The later nights answer some of those Ns: the whole history's curves differ.
    let now = query(h, "survival", &["max_days=5"]).await;
    assert_ne!(now.project(&SURVIVAL_COLS), t.project(&SURVIVAL_COLS));
}

// ---------------------------------------------------------------------------------------------
// publish_hour

#[tokio::test]
async fn publish_hour_counts_each_charted_video_once_in_local_time() {
    let h = history();
    let m = Model::new(h);
    for (params, from, to) in [
        (vec!["region=us"], date(FIRST), date(LAST)),
        (
            vec!["from=2026-11-21", "to=2026-11-21"],
            date(LAST),
            date(LAST),
        ),
        (
            vec!["region=JP", "from=2026-11-15", "to=2026-11-16"],
            date(MISSING),
            day_after(date(MISSING)),
        ),
    ] {
        let only = params
            .iter()
            .find_map(|p| p.strip_prefix("region="))
            .map(|r| r.to_uppercase());
        let t = query(h, "publish_hour", &params).await;
        let mut want = Vec::new();
        let mut shares = Vec::new();
        for r in REGIONS
            .into_iter()
            .filter(|r| only.as_deref().is_none_or(|x| x == *r))
        {
            let region = trendlake::regions::region(r).unwrap();
            let tz = region.tz();
            let videos: BTreeMap<&str, &Entry> = m
                .entries_in(r, from, to)
                .map(|e| (e.video_id.as_str(), m.latest[e.video_id.as_str()]))
                .collect();
            let mut hours = [0usize; 24];
            for e in videos.values() {
                let local = tz.from_utc_datetime(&e.published_at.naive_utc());
                hours[local.hour() as usize] += 1;
            }
            for (hour, n) in hours.iter().enumerate() {
                want.push(vec![s(r), s(&region.time_zone), s(hour), s(n)]);
                shares.push(*n as f64 / videos.len() as f64);
            }
        }
        assert_eq!(
            t.project(&["region", "time_zone", "local_hour", "videos"]),
            want,
            "{params:?}"
        );
        for (got, want) in t.floats("share").into_iter().zip(shares) {
            assert_rounded(got, Some(want), 4, "share");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// video_history

const HISTORY_COLS: [&str; 14] = [
    "region",
    "snapshot_date",
    "rank",
    "previous_date",
    "days_between",
    "previous_rank",
    "rank_change",
    "view_count",
    "view_gain",
    "like_count",
    "comment_count",
    "arrival",
    "still_on_chart",
    "view_gain_per_day",
];

/// Expected rows of one video's history (HISTORY_COLS, the per-day gain as f64 apart).
fn video_history(m: &Model, video: &str) -> (Vec<Vec<String>>, Vec<Option<f64>>) {
    let (mut rows, mut per_day) = (Vec::new(), Vec::new());
    for r in REGIONS {
        let Some(entries) = m.by_region_video.get(&(r, video)) else {
            continue;
        };
        for (i, e) in entries.iter().enumerate() {
            let previous_date = m.previous(r, e.date);
            let previous = previous_date
                .and_then(|d| m.charts[&(r, d)].get(video))
                .copied();
            let days = previous_date.map(|d| (e.date - d).num_days());
            let gain = previous.and_then(|p| Some(e.view_count? - p.view_count?));
            let arrival = match (previous_date, previous) {
                (None, _) => "censored",
                (Some(_), Some(_)) => "stayed",
                (Some(_), None) if i == 0 => "entered",
                _ => "re-entered",
            };
            rows.push(vec![
                s(r),
                s(e.date),
                s(e.rank),
                opt(previous_date),
                opt(days),
                opt(previous.map(|p| p.rank)),
                opt(previous.map(|p| p.rank - e.rank)),
                opt(e.view_count),
                opt(gain),
                opt(e.like_count),
                opt(e.comment_count),
                s(arrival),
                s(e.date == m.last_date(r)),
            ]);
            per_day.push(gain.map(|g| g as f64 / days.unwrap() as f64));
        }
    }
    (rows, per_day)
}

#[tokio::test]
async fn video_history_gives_gains_over_the_days_between_held_snapshots() {
    let h = history();
    let m = Model::new(h);
    let gap = date(MISSING);
    let (before, after) = (gap.pred_opt().unwrap(), day_after(gap));
    // Videos showing each case: on the chart on both sides of the gap; entering after the first
    // day; leaving and coming back; on the first day (censored) and still on the last.
    let mut picks: BTreeSet<&str> = BTreeSet::new();
    let find = |test: &dyn Fn(&[&Entry]) -> bool| {
        m.by_region_video
            .iter()
            .find(|(_, e)| test(e))
            .map(|((_, v), _)| *v)
    };
    let across_gap =
        |e: &[&Entry]| e.iter().any(|x| x.date == before) && e.iter().any(|x| x.date == after);
    let re_entry = |e: &[&Entry]| {
        e.windows(2)
            .any(|w| m.previous(&w[1].region, w[1].date) != Some(w[0].date))
    };
    let whole = |e: &[&Entry]| e[0].date == date(FIRST) && e.last().unwrap().date == date(LAST);
    let entered = |e: &[&Entry]| e[0].date > date(FIRST) && e.len() > 2;
    for test in [
        &across_gap as &dyn Fn(&[&Entry]) -> bool,
        &re_entry,
        &whole,
        &entered,
    ] {
        picks.insert(find(test).expect("the fake's history has each case"));
    }
    // The hidden-likes case, if the fake has one on a chart.
    if let Some(v) = find(&|e: &[&Entry]| e[0].like_count.is_none() && e.len() > 1) {
        picks.insert(v);
    }
    let mut arrivals = BTreeSet::new();
    let mut saw_gap = false;
    for video in picks {
        let mut t = query(h, "video_history", &[&format!("video={video}")]).await;
        // The days the tracking stage followed the video off every chart come last, with no
        // region (tests/it/tracking.rs checks their values); the chart rows are the model's.
        let region = t.col("region");
        let off_chart: Vec<Vec<String>> = t
            .rows
            .iter()
            .filter(|r| r[region].is_empty())
            .cloned()
            .collect();
        t.rows.retain(|r| !r[region].is_empty());
        for row in &off_chart {
            let arrival = row[t.col("arrival")].as_str();
            assert!(["tracked", "vanished"].contains(&arrival), "{row:?}");
            let day = &row[t.col("snapshot_date")];
            assert!(
                !t.rows.iter().any(|r| &r[t.col("snapshot_date")] == day),
                "{video}: tracked on {day}, a day it was on a chart"
            );
        }
        let (rows, per_day) = video_history(&m, video);
        let cols = &HISTORY_COLS[..HISTORY_COLS.len() - 1];
        let want: Vec<Vec<String>> = rows.iter().map(|r| r[..cols.len()].to_vec()).collect();
        assert_eq!(t.project(cols), want, "{video}");
        for (got, want) in t.floats("view_gain_per_day").into_iter().zip(&per_day) {
            assert_rounded(got, *want, 9, "view_gain_per_day");
        }
        arrivals.extend(t.column("arrival").into_iter().map(str::to_string));
        // Across the gap: a gain over two days, and half of it per day.
        for (row, per_day) in t.rows.iter().zip(&per_day) {
            if row[t.col("snapshot_date")] == after.to_string() {
                assert_eq!(row[t.col("previous_date")], before.to_string());
                assert_eq!(row[t.col("days_between")], "2");
                if let Ok(gain) = row[t.col("view_gain")].parse::<f64>() {
                    assert_eq!(per_day.unwrap(), gain / 2.0);
                    saw_gap = true;
                }
            }
        }
    }
    assert!(saw_gap);
    assert_eq!(
        arrivals,
        ["censored", "entered", "re-entered", "stayed"]
            .map(String::from)
            .into()
    );

    // A video the warehouse does not hold: no rows.
    let t = query(h, "video_history", &["video=AAAAAAAAAAA"]).await;
    assert!(t.rows.is_empty());
    // No video: a usage error (exit 2) that says how to give one, before the warehouse is read.
    let out = trendlake(vec![
        "query".into(),
        "--warehouse".into(),
        h.warehouse.display().to_string(),
        "--name".into(),
        "video_history".into(),
    ])
    .await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(
            "query video_history needs --param video=<video>; its parameters are video (video)"
        ),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// coverage

#[tokio::test]
async fn coverage_lists_each_regions_missing_days() {
    let h = history();
    let (first, last) = (date(FIRST), date(LAST));
    let missing: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !h.dates.contains(d))
        .collect();
    assert_eq!(missing, [date(MISSING)]);
    let cols = [
        "region",
        "first_date",
        "last_date",
        "checked_from",
        "checked_to",
        "calendar_days",
        "snapshots",
        "missing_days",
        "missing_dates",
        "gaps",
        "longest_gap_days",
        "warehouse_first_date",
        "warehouse_last_date",
    ];
    let t = query(h, "coverage", &[]).await;
    let want: Vec<Vec<String>> = REGIONS
        .iter()
        .map(|r| {
            vec![
                s(r),
                s(FIRST),
                s(LAST),
                s(FIRST),
                s(LAST),
                s(12),
                s(h.dates.len()),
                s(1),
                format!("[\"{MISSING}\"]"),
                s(MISSING),
                s(1),
                s(FIRST),
                s(LAST),
            ]
        })
        .collect();
    assert_eq!(t.project(&cols), want);

    // The missing day alone, for one region in lower case: no snapshot, one missing day.
    let p = [
        format!("from={MISSING}"),
        format!("to={MISSING}"),
        "region=kr".into(),
    ];
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let t = query(h, "coverage", &p).await;
    assert_eq!(
        t.project(&cols),
        [vec![
            s("KR"),
            s(""),
            s(""),
            s(MISSING),
            s(MISSING),
            s(1),
            s(0),
            s(1),
            format!("[\"{MISSING}\"]"),
            s(MISSING),
            s(1),
            s(""),
            s(""),
        ]]
    );
    // From the day after the gap: nothing missing.
    let t = query(h, "coverage", &["from=2026-11-16", "region=GB"]).await;
    assert_eq!(
        t.project(&[
            "first_date",
            "snapshots",
            "missing_days",
            "missing_dates",
            "gaps"
        ]),
        [vec![s("2026-11-16"), s(6), s(0), s("[]"), s("")]]
    );
    // A period the history does not meet: no rows.
    let t = query(h, "coverage", &["from=2027-01-01", "to=2027-01-31"]).await;
    assert!(t.rows.is_empty());
}
