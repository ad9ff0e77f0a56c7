//! `rank_trajectory` (the report's bump charts) on the shared history, against ranks this module
//! reads from the lake's rows (`History::entries`), never from SQL.
//!
//! The history has no snapshot on [`MISSING`]: a window over it has no row for that day (unknown,
//! not off the chart), and a leader absent from a held snapshot has a row with a NULL rank.

use chrono::NaiveDate;

use crate::history::{FIRST, History, LAST, MISSING, Model, REGIONS, Table, history};
use crate::support::date;

const COLS: [&str; 9] = [
    "chart_date",
    "region",
    "rank_on_date",
    "video_id",
    "title",
    "snapshot_date",
    "days_before",
    "rank",
    "view_count",
];

/// What `rank_trajectory` should answer, in its order: each region's videos ranked 1..=top on
/// `day`, on each snapshot the region holds in the `days` days ending on `day`.
fn expected(
    m: &Model,
    day: NaiveDate,
    region: Option<&str>,
    top: i32,
    days: i64,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in REGIONS.iter().filter(|r| region.is_none_or(|x| x == **r)) {
        let Some(chart) = m.chart(r, day) else {
            continue;
        };
        let mut leaders: Vec<_> = chart.values().filter(|e| e.rank <= top).collect();
        leaders.sort_by_key(|e| e.rank);
        let window: Vec<NaiveDate> = m.calendar[r]
            .iter()
            .copied()
            .filter(|d| *d <= day && (day - *d).num_days() < days)
            .collect();
        for leader in leaders {
            for d in &window {
                let there = m.chart(r, *d).and_then(|c| c.get(leader.video_id.as_str()));
                rows.push(vec![
                    day.to_string(),
                    r.to_string(),
                    leader.rank.to_string(),
                    leader.video_id.clone(),
                    m.latest[leader.video_id.as_str()].title.clone(),
                    d.to_string(),
                    (day - *d).num_days().to_string(),
                    there.map(|e| e.rank.to_string()).unwrap_or_default(),
                    there
                        .and_then(|e| e.view_count)
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                ]);
            }
        }
    }
    rows
}

async fn query(h: &History, params: &[&str]) -> Table {
    h.query("rank_trajectory", params).await
}

#[tokio::test]
async fn the_latest_top_ten_over_fourteen_days_skip_the_missing_day_and_mark_days_off_the_chart() {
    let h = history();
    let m = Model::new(h);
    let t = query(h, &[]).await;
    assert_eq!(t.header, COLS);
    let rows = expected(&m, date(LAST), None, 10, 14);
    assert_eq!(t.rows, rows);
    // 14 days ending on LAST hold the whole history: 11 snapshots, the missing day not among them.
    assert_eq!(rows.len(), REGIONS.len() * 10 * 11);
    assert!(!t.column("snapshot_date").contains(&MISSING));
    // Leaders are on the chart on the date itself, at their rank_on_date.
    for row in t.rows.iter().filter(|r| r[5] == LAST) {
        assert_eq!(row[7], row[2], "{row:?}");
        assert_eq!(row[6], "0");
    }
    // Some leaders were off the chart on a held day: a NULL rank, not a missing row.
    let off = t.column("rank").iter().filter(|r| r.is_empty()).count();
    assert!(off > 0, "no leader was ever off the chart");
    assert_eq!(
        off,
        t.column("view_count")
            .iter()
            .filter(|v| v.is_empty())
            .count(),
        "the fake always sends view counts, so only days off the chart lack one"
    );
}

#[tokio::test]
async fn a_short_window_across_the_gap_holds_the_days_either_side_in_a_lower_case_region() {
    let h = history();
    let m = Model::new(h);
    let day = date(MISSING).succ_opt().unwrap();
    let t = query(h, &[&format!("date={day}"), "region=kr", "top=3", "days=3"]).await;
    assert_eq!(t.rows, expected(&m, day, Some("KR"), 3, 3));
    // Three leaders on 11-14 and 11-16 (11-15 is not held): six rows, days_before 2 and 0.
    assert_eq!(t.rows.len(), 6);
    assert_eq!(
        t.project(&["rank_on_date", "snapshot_date", "days_before"]),
        [
            ["1", "2026-11-14", "2"],
            ["1", "2026-11-16", "0"],
            ["2", "2026-11-14", "2"],
            ["2", "2026-11-16", "0"],
            ["3", "2026-11-14", "2"],
            ["3", "2026-11-16", "0"],
        ]
    );
    assert!(t.column("region").iter().all(|r| *r == "KR"));
}

#[tokio::test]
async fn the_first_date_has_one_point_and_a_missing_date_or_no_days_has_none() {
    let h = history();
    let m = Model::new(h);
    let first = query(h, &[&format!("date={FIRST}"), "top=5"]).await;
    assert_eq!(first.rows, expected(&m, date(FIRST), None, 5, 14));
    assert_eq!(first.rows.len(), REGIONS.len() * 5);
    assert!(first.column("days_before").iter().all(|d| *d == "0"));

    let missing = query(h, &[&format!("date={MISSING}")]).await;
    assert!(missing.rows.is_empty(), "{:?}", missing.rows);
    assert_eq!(missing.header, COLS);

    let none = query(h, &["days=0"]).await;
    assert!(none.rows.is_empty(), "{:?}", none.rows);

    // A window of one day is the date's own top.
    let one = query(h, &["days=1", "top=200", "region=US"]).await;
    assert_eq!(one.rows, expected(&m, date(LAST), Some("US"), 200, 1));
    assert_eq!(one.rows.len(), 200);
}
