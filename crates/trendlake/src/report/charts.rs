//! The report's charts as geometry: every line, point, cell, tick and label with its position
//! and the numbers it stands for, ready for the templates to write out as SVG elements. Positions
//! come from `scale`; values come from the query rows unchanged.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::annotations::{SourceChange, within};
use super::data::{Coverage, SurvivalPoint, TrajectoryPoint};
use super::format::{percent, short_date, thousands, truncate};
use super::scale::{Linear, RankScale, bin_size, date_ticks, day_bins, nice_ticks, px};

/// Ten colours a reader can tell apart (Tableau 10), one per leader.
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#7f7f7f",
];

/// An axis label at a position.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// A chart's drawing: the SVG's size and the plot area's edges inside it (flattened into the
/// chart, so templates read `c.width`, `c.left`, …).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// The plot area's edges: `(left, right, top, bottom)`.
    fn edges(&self) -> (f64, f64, f64, f64) {
        (self.left, self.right, self.top, self.bottom)
    }
}

/// A bump chart's frame: the plot on the left, the leaders' labels to its right.
const BUMP_FRAME: Frame = Frame {
    width: 660.0,
    height: 340.0,
    left: 40.0,
    right: 448.0,
    top: 26.0,
    bottom: 300.0,
};

/// A survival chart's frame (five to a row).
const SURVIVAL_FRAME: Frame = Frame {
    width: 300.0,
    height: 212.0,
    left: 44.0,
    right: 292.0,
    top: 26.0,
    bottom: 172.0,
};

/// A line between two points; `off` when one end is off the chart (drawn dashed).
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub off: bool,
    pub from: String,
    pub to: String,
}

/// A dated change in the source marked on a time axis.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub x: f64,
    pub date: String,
    pub title: String,
    /// Its number in the report's list of source changes.
    pub number: usize,
}

/// One calendar day of a bump chart.
#[derive(Debug, Clone, Serialize)]
pub struct DayColumn {
    pub x: f64,
    pub w: f64,
    pub date: String,
    /// `held`, `missing` (no snapshot inside the region's history: a gap) or `outside` (before
    /// the region's first snapshot).
    pub state: &'static str,
}

/// A leader's point on one held snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct BumpPoint {
    pub x: f64,
    pub y: f64,
    pub date: String,
    /// `None`: off the chart that day.
    pub rank: Option<i64>,
    pub tooltip: String,
}

/// One leader's line.
#[derive(Debug, Clone, Serialize)]
pub struct BumpSeries {
    pub color: &'static str,
    pub video_id: String,
    pub title: String,
    pub label: String,
    pub rank_on_date: i64,
    pub label_y: f64,
    pub segments: Vec<Segment>,
    pub points: Vec<BumpPoint>,
}

/// A region's rank trajectories of the date's leaders (a bump chart).
#[derive(Debug, Clone, Serialize)]
pub struct BumpChart {
    #[serde(flatten)]
    pub frame: Frame,
    pub days: Vec<DayColumn>,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub boundary_y: f64,
    pub off_y: f64,
    pub series: Vec<BumpSeries>,
    pub marks: Vec<Mark>,
    /// Days of the window without a snapshot of the region inside its history.
    pub missing: Vec<String>,
}

/// The days `date - (days - 1) ..= date`.
pub fn window(date: NaiveDate, days: i64) -> Vec<NaiveDate> {
    let first = date - chrono::Duration::days(days - 1);
    first.iter_days().take_while(|d| *d <= date).collect()
}

/// Where each of `changes` falls on an axis of `days`, numbered as in `all`.
fn marks(all: &[SourceChange], days: &[NaiveDate], x: impl Fn(NaiveDate) -> f64) -> Vec<Mark> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Vec::new();
    };
    within(all, *first, *last)
        .into_iter()
        .map(|c| Mark {
            x: px(x(c.date)),
            date: c.date.to_string(),
            title: c.title.clone(),
            number: all.iter().position(|a| a == c).map_or(0, |i| i + 1),
        })
        .collect()
}

/// The bump chart of one region: `points` are its `rank_trajectory` rows, `coverage` its
/// coverage row (to tell a gap from the days before its history), `changes` the source changes
/// listed in the report.
pub fn bump(
    date: NaiveDate,
    days: i64,
    points: &[&TrajectoryPoint],
    coverage: Option<&Coverage>,
    changes: &[SourceChange],
) -> BumpChart {
    let frame = BUMP_FRAME;
    let (left, right, top, bottom) = frame.edges();
    let days_in = window(date, days);
    let step = (right - left) / days_in.len() as f64;
    let index: BTreeMap<NaiveDate, usize> =
        days_in.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let x = |d: NaiveDate| left + (index[&d] as f64 + 0.5) * step;
    let held: BTreeSet<NaiveDate> = points.iter().map(|p| p.snapshot_date).collect();
    let first_held = coverage.map(|c| c.checked_from);
    let day_columns: Vec<DayColumn> = days_in
        .iter()
        .map(|d| DayColumn {
            x: px(left + index[d] as f64 * step),
            w: px(step),
            date: d.to_string(),
            state: if held.contains(d) {
                "held"
            } else if first_held.is_some_and(|f| *d < f) {
                "outside"
            } else {
                "missing"
            },
        })
        .collect();
    let missing = day_columns
        .iter()
        .filter(|c| c.state == "missing")
        .map(|c| c.date.clone())
        .collect();
    let scale = RankScale::new(super::data::TOP, 200, top + 6.0, bottom - 8.0);
    let y = |rank: Option<i64>| match rank {
        Some(r) => scale.y(u32::try_from(r).unwrap_or(u32::MAX)),
        None => scale.off(),
    };

    let mut by_video: BTreeMap<(i64, &str), Vec<&TrajectoryPoint>> = BTreeMap::new();
    for p in points {
        by_video
            .entry((p.rank_on_date, p.video_id.as_str()))
            .or_default()
            .push(p);
    }
    let series = by_video
        .into_iter()
        .enumerate()
        .map(|(i, ((rank_on_date, video_id), mut pts))| {
            pts.sort_by_key(|p| p.snapshot_date);
            let title = pts[0].title.clone();
            let segments = pts
                .windows(2)
                // A day without a snapshot between two points is a gap, not a line.
                .filter(|w| (w[1].snapshot_date - w[0].snapshot_date).num_days() == 1)
                .filter(|w| w[0].rank.is_some() || w[1].rank.is_some())
                .map(|w| Segment {
                    x1: px(x(w[0].snapshot_date)),
                    y1: px(y(w[0].rank)),
                    x2: px(x(w[1].snapshot_date)),
                    y2: px(y(w[1].rank)),
                    off: w[0].rank.is_none() || w[1].rank.is_none(),
                    from: w[0].snapshot_date.to_string(),
                    to: w[1].snapshot_date.to_string(),
                })
                .collect();
            let points = pts
                .iter()
                .map(|p| BumpPoint {
                    x: px(x(p.snapshot_date)),
                    y: px(y(p.rank)),
                    date: p.snapshot_date.to_string(),
                    rank: p.rank,
                    tooltip: match (p.rank, p.view_count) {
                        (Some(r), Some(v)) => format!(
                            "{title} — rank {r} on {} ({} views)",
                            p.snapshot_date,
                            thousands(v)
                        ),
                        (Some(r), None) => format!("{title} — rank {r} on {}", p.snapshot_date),
                        (None, _) => format!("{title} — off the chart on {}", p.snapshot_date),
                    },
                })
                .collect();
            BumpSeries {
                color: PALETTE[i % PALETTE.len()],
                video_id: video_id.to_string(),
                label: truncate(&title, 30),
                title,
                rank_on_date,
                label_y: px(y(Some(rank_on_date))),
                segments,
                points,
            }
        })
        .collect();
    BumpChart {
        frame,
        x_ticks: date_ticks(&days_in, 7)
            .into_iter()
            .map(|d| Tick {
                pos: px(x(d)),
                label: short_date(d),
            })
            .collect(),
        y_ticks: scale
            .ticks()
            .into_iter()
            .filter(|r| *r <= 10 || [20, 50, 100, 200].contains(r))
            .map(|r| Tick {
                pos: px(scale.y(r)),
                label: r.to_string(),
            })
            .collect(),
        boundary_y: px(scale.top_boundary()),
        off_y: px(scale.off()),
        marks: marks(changes, &days_in, x),
        days: day_columns,
        series,
        missing,
    }
}

/// A point of a survival curve.
#[derive(Debug, Clone, Serialize)]
pub struct SurvivalDot {
    pub x: f64,
    pub y: f64,
    pub day_n: i64,
    pub share: f64,
    pub at_risk: i64,
    pub still_on: i64,
    pub tooltip: String,
}

/// One region's survival curve.
#[derive(Debug, Clone, Serialize)]
pub struct SurvivalChart {
    pub region: String,
    #[serde(flatten)]
    pub frame: Frame,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub dots: Vec<SurvivalDot>,
    pub segments: Vec<Segment>,
    /// Entrants counted (day 1's `entered`).
    pub entered: i64,
    /// N with nobody at risk yet (all censored or unknown): no point drawn.
    pub unknown_days: Vec<i64>,
}

/// A region's survival curve from its `survival` rows (N = 1..max_days).
pub fn survival(region: &str, rows: &[&SurvivalPoint], max_days: i64) -> SurvivalChart {
    let frame = SURVIVAL_FRAME;
    let (left, right, top, bottom) = frame.edges();
    let xs = Linear::new((1.0, max_days.max(2) as f64), (left + 6.0, right - 6.0));
    let ys = Linear::new((0.0, 1.0), (bottom, top));
    let mut dots: Vec<SurvivalDot> = Vec::new();
    let mut unknown_days = Vec::new();
    for r in rows {
        match r.share {
            Some(share) => dots.push(SurvivalDot {
                x: px(xs.at(r.day_n as f64)),
                y: px(ys.at(share)),
                day_n: r.day_n,
                share,
                at_risk: r.at_risk,
                still_on: r.still_on,
                tooltip: format!(
                    "{region}, {} after entering: {} still on the chart ({} of {} at risk; {} censored, {} unknown)",
                    super::format::days(r.day_n),
                    percent(share),
                    thousands(r.still_on),
                    thousands(r.at_risk),
                    thousands(r.censored),
                    thousands(r.unknown)
                ),
            }),
            None => unknown_days.push(r.day_n),
        }
    }
    let segments = dots
        .windows(2)
        // No one at risk on a day between: the curve has a hole there.
        .filter(|w| w[1].day_n - w[0].day_n == 1)
        .map(|w| Segment {
            x1: w[0].x,
            y1: w[0].y,
            x2: w[1].x,
            y2: w[1].y,
            off: false,
            from: w[0].day_n.to_string(),
            to: w[1].day_n.to_string(),
        })
        .collect();
    SurvivalChart {
        region: region.to_string(),
        frame,
        x_ticks: (1..=max_days)
            .filter(|n| *n == 1 || n % 7 == 0 || (max_days <= 10 && n % 2 == 1))
            .map(|n| Tick {
                pos: px(xs.at(n as f64)),
                label: n.to_string(),
            })
            .collect(),
        y_ticks: nice_ticks(0.0, 1.0, 4)
            .into_iter()
            .map(|v| Tick {
                pos: px(ys.at(v)),
                label: format!("{}%", (v * 100.0).round() as i64),
            })
            .collect(),
        entered: rows.first().map_or(0, |r| r.entered),
        dots,
        segments,
        unknown_days,
    }
}

/// One bin of one region's coverage strip.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageCell {
    pub x: f64,
    pub w: f64,
    pub from: String,
    pub to: String,
    pub held: i64,
    pub missing: i64,
    /// `held`, `missing`, `partial` (some of both) or `outside` (not in the region's history).
    pub state: &'static str,
    pub tooltip: String,
}

/// One region's strip.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub region: String,
    pub y: f64,
    pub cells: Vec<CoverageCell>,
}

/// Which days every region holds, from the first snapshot to the report's date, in bins small
/// enough to fit (one day each up to [`MAX_BINS`] days).
#[derive(Debug, Clone, Serialize)]
pub struct CoverageChart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub row_h: f64,
    pub bin_days: u32,
    pub rows: Vec<CoverageRow>,
    pub x_ticks: Vec<Tick>,
    pub marks: Vec<Mark>,
    pub first: String,
    pub last: String,
}

/// The most bins a strip has.
pub const MAX_BINS: i64 = 120;

/// The coverage chart of the `coverage` rows (one a region) up to `date`.
pub fn coverage(rows: &[Coverage], date: NaiveDate, changes: &[SourceChange]) -> CoverageChart {
    let first = rows
        .iter()
        .map(|r| r.checked_from)
        .min()
        .unwrap_or(date)
        .min(date);
    let span = (date - first).num_days() + 1;
    let size = bin_size(span, MAX_BINS);
    let bins = day_bins(first, date, size);
    let (left, right, top, row_h) = (48.0, 1180.0, 30.0, 18.0);
    let step = (right - left) / bins.len().max(1) as f64;
    let bin_x = |i: usize| left + i as f64 * step;
    let day_x = |d: NaiveDate| {
        let i = bins
            .iter()
            .position(|(a, b)| d >= *a && d <= *b)
            .unwrap_or(0);
        let (a, b) = bins[i];
        let within = (d - a).num_days() as f64 + 0.5;
        bin_x(i) + within / ((b - a).num_days() as f64 + 1.0) * step
    };
    let out_rows: Vec<CoverageRow> = rows
        .iter()
        .enumerate()
        .map(|(r, c)| CoverageRow {
            region: c.region.clone(),
            y: px(top + r as f64 * row_h),
            cells: bins
                .iter()
                .enumerate()
                .map(|(i, (a, b))| {
                    let (mut held, mut missing) = (0, 0);
                    for d in a.iter_days().take_while(|d| d <= b) {
                        if c.holds(d) {
                            held += 1;
                        } else if d >= c.checked_from && d <= c.checked_to {
                            missing += 1;
                        }
                    }
                    let state = match (held, missing) {
                        (0, 0) => "outside",
                        (_, 0) => "held",
                        (0, _) => "missing",
                        _ => "partial",
                    };
                    let when = if a == b {
                        a.to_string()
                    } else {
                        format!("{a}..{b}")
                    };
                    CoverageCell {
                        x: px(bin_x(i)),
                        w: px(step),
                        from: a.to_string(),
                        to: b.to_string(),
                        held,
                        missing,
                        state,
                        tooltip: match state {
                            "outside" => format!("{} {when}: outside its history", c.region),
                            "held" if a == b => format!("{} {when}: snapshot held", c.region),
                            "missing" if a == b => {
                                format!("{} {when}: no snapshot (a gap)", c.region)
                            }
                            _ => format!(
                                "{} {when}: {held} snapshot(s) held, {missing} missing",
                                c.region
                            ),
                        },
                    }
                })
                .collect(),
        })
        .collect();
    let all_days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= date).collect();
    CoverageChart {
        width: 1200.0,
        height: px(top + rows.len() as f64 * row_h + 34.0),
        left,
        right,
        top,
        row_h,
        bin_days: size,
        x_ticks: date_ticks(&all_days, 10)
            .into_iter()
            .map(|d| Tick {
                pos: px(day_x(d)),
                label: if span > 400 {
                    d.format("%b %Y").to_string()
                } else {
                    short_date(d)
                },
            })
            .collect(),
        marks: marks(changes, &all_days, day_x),
        rows: out_rows,
        first: first.to_string(),
        last: date.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn point(video: &str, rank_on_date: i64, date: &str, rank: Option<i64>) -> TrajectoryPoint {
        TrajectoryPoint {
            region: "JP".into(),
            rank_on_date,
            video_id: video.into(),
            title: format!("title of {video}"),
            snapshot_date: day(date),
            rank,
            view_count: rank.map(|r| 1000 * r),
        }
    }

    fn cov(from: &str, to: &str, missing: &[&str]) -> Coverage {
        Coverage {
            region: "JP".into(),
            first_date: Some(day(from)),
            last_date: Some(day(to)),
            checked_from: day(from),
            checked_to: day(to),
            calendar_days: 0,
            snapshots: 0,
            missing_days: missing.len() as i64,
            missing_dates: missing.iter().map(|d| day(d)).collect(),
            gaps: String::new(),
            longest_gap_days: 0,
            warehouse_first_date: Some(day(from)),
            warehouse_last_date: Some(day(to)),
        }
    }

    #[test]
    fn a_missing_day_is_a_gap_and_a_day_off_the_chart_is_a_dashed_drop() {
        // Held 11-12, 11-13, (11-14 missing), 11-15; the video is off the chart on 11-13.
        let pts = [
            point("a", 1, "2026-11-12", Some(4)),
            point("a", 1, "2026-11-13", None),
            point("a", 1, "2026-11-15", Some(1)),
        ];
        let refs: Vec<&TrajectoryPoint> = pts.iter().collect();
        let c = cov("2026-11-11", "2026-11-15", &["2026-11-14"]);
        let chart = bump(day("2026-11-15"), 6, &refs, Some(&c), &[]);
        let states: Vec<(&str, &str)> = chart
            .days
            .iter()
            .map(|d| (d.date.as_str(), d.state))
            .collect();
        assert_eq!(
            states,
            [
                ("2026-11-10", "outside"),
                ("2026-11-11", "missing"),
                ("2026-11-12", "held"),
                ("2026-11-13", "held"),
                ("2026-11-14", "missing"),
                ("2026-11-15", "held"),
            ]
        );
        // 11-11 has no rows here because the toy history holds no point there; a real region
        // would have rows for every held day.
        assert_eq!(chart.missing, ["2026-11-11", "2026-11-14"]);
        let s = &chart.series[0];
        assert_eq!(
            s.segments.len(),
            1,
            "only 11-12 → 11-13; nothing across 11-14"
        );
        assert_eq!(
            (s.segments[0].from.as_str(), s.segments[0].to.as_str()),
            ("2026-11-12", "2026-11-13")
        );
        assert!(s.segments[0].off);
        assert_eq!(s.segments[0].y2, chart.off_y);
        assert_eq!(s.points[1].rank, None);
        assert_eq!(
            s.points[1].tooltip,
            "title of a — off the chart on 2026-11-13"
        );
        assert_eq!(
            s.points[2].tooltip,
            "title of a — rank 1 on 2026-11-15 (1,000 views)"
        );
        assert_eq!(s.label_y, s.points[2].y);
        assert_eq!(chart.x_ticks.last().unwrap().label, "Nov 15");
    }

    #[test]
    fn changes_inside_the_window_are_marked_with_their_number() {
        let changes = super::super::annotations::source_changes();
        let pts = [point("a", 1, "2025-07-21", Some(1))];
        let refs: Vec<&TrajectoryPoint> = pts.iter().collect();
        let chart = bump(day("2025-07-23"), 14, &refs, None, changes);
        assert_eq!(chart.marks.len(), 1);
        assert_eq!(chart.marks[0].date, "2025-07-21");
        assert_eq!(chart.marks[0].number, 3);
        assert_eq!(chart.marks[0].x, chart.series[0].points[0].x);
        let none = bump(day("2026-11-21"), 14, &refs[..0], None, changes);
        assert!(none.marks.is_empty());
    }

    #[test]
    fn survival_curves_skip_days_nobody_was_at_risk() {
        let row = |n: i64, share: Option<f64>| SurvivalPoint {
            region: "JP".into(),
            day_n: n,
            entered: 40,
            at_risk: if share.is_some() { 20 } else { 0 },
            still_on: share.map_or(0, |s| (s * 20.0) as i64),
            share,
            censored: 0,
            unknown: 0,
        };
        let rows = [
            row(1, Some(0.8)),
            row(2, None),
            row(3, Some(0.5)),
            row(4, Some(0.25)),
        ];
        let refs: Vec<&SurvivalPoint> = rows.iter().collect();
        let c = survival("JP", &refs, 4);
        assert_eq!(c.dots.len(), 3);
        assert_eq!(c.unknown_days, [2]);
        assert_eq!(c.segments.len(), 1, "3 → 4 only");
        assert_eq!(c.entered, 40);
        assert_eq!(
            c.y_ticks
                .iter()
                .map(|t| t.label.as_str())
                .collect::<Vec<_>>(),
            ["0%", "25%", "50%", "75%", "100%"]
        );
        assert_eq!(
            c.dots[0].y,
            c.y_ticks[3].pos + (c.y_ticks[4].pos - c.y_ticks[3].pos) * 0.2
        );
    }

    #[test]
    fn coverage_cells_are_days_or_bins() {
        let rows = [cov("2026-11-10", "2026-11-21", &["2026-11-15"])];
        let chart = coverage(&rows, day("2026-11-21"), &[]);
        assert_eq!(chart.bin_days, 1);
        let cells = &chart.rows[0].cells;
        assert_eq!(cells.len(), 12);
        let gap = cells.iter().find(|c| c.state == "missing").unwrap();
        assert_eq!(gap.from, "2026-11-15");
        assert_eq!(gap.tooltip, "JP 2026-11-15: no snapshot (a gap)");
        assert_eq!(cells.iter().filter(|c| c.state == "held").count(), 11);
        // Three years: ten-day bins, the gap's bin partial.
        let long = [cov("2023-11-27", "2026-11-25", &["2025-07-21"])];
        let chart = coverage(
            &long,
            day("2026-11-25"),
            super::super::annotations::source_changes(),
        );
        assert_eq!(chart.bin_days, 10);
        assert!(chart.rows[0].cells.len() <= MAX_BINS as usize);
        let partial: Vec<&CoverageCell> = chart.rows[0]
            .cells
            .iter()
            .filter(|c| c.state == "partial")
            .collect();
        assert_eq!(partial.len(), 1);
        assert_eq!((partial[0].held, partial[0].missing), (9, 1));
        assert_eq!(chart.marks.len(), 2, "2025-03-31 and 2025-07-21");
    }
}
