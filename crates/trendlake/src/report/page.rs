//! The report's page: the query rows arranged per panel and per region, and rendered through the
//! templates in `templates/` (minijinja, HTML auto-escaping on, undefined names an error).
//! Every number a panel shows is also in a `data-*` attribute, exactly as the query gave it, so
//! tests (and scrapers) read the page's numbers without parsing its text.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::annotations::{SourceChange, in_effect};
use super::charts::{self, BumpChart, CoverageChart, SurvivalChart};
use super::data::{Arrival, Coverage, ReportData, SURVIVAL_DAYS, WINDOW_DAYS, runs, window_first};
use super::format::{days, decimal, long_date, short_date, thousands, truncate};
use super::{Placement, ReportError};
use crate::regions::region;

const REPORT_TEMPLATE: &str = include_str!("templates/report.html");
const INDEX_TEMPLATE: &str = include_str!("templates/index.html");
const STYLE: &str = include_str!("templates/style.css");

/// Title width in table cells and chart labels (terminal columns: CJK counts two).
const TITLE_COLUMNS: usize = 46;

#[derive(Serialize)]
struct Page {
    date: String,
    date_long: String,
    style: &'static str,
    in_lake: bool,
    warehouse_last_date: String,
    /// The date is older than the warehouse's latest (the page says that it leaves the later
    /// snapshots out).
    later_data: bool,
    region_count: usize,
    held_regions: usize,
    notes: Vec<Note>,
    coverage: CoverageChart,
    coverage_rows: Vec<CoverageSummary>,
    window_first: String,
    date_short: String,
    spread: Vec<SpreadView>,
    spread_total: i64,
    survival: Vec<SurvivalChart>,
    survival_days: u32,
    afterlife_days: i64,
    regions: Vec<RegionView>,
    commands: Vec<String>,
}

#[derive(Serialize)]
struct Note {
    number: usize,
    date: String,
    title: String,
    detail: String,
    source: String,
}

#[derive(Serialize)]
struct CoverageSummary {
    region: String,
    name: String,
    first_date: String,
    last_date: String,
    snapshots: i64,
    calendar_days: i64,
    missing_days: i64,
    gaps: String,
    holds_date: bool,
}

/// A video as a row names it: its id, its whole title (the tooltip) and the title cut to fit.
#[derive(Serialize)]
struct VideoLabel {
    video_id: String,
    title: String,
    label: String,
}

impl VideoLabel {
    fn new(video_id: &str, title: &str) -> Self {
        Self {
            video_id: video_id.to_string(),
            title: title.to_string(),
            label: truncate(title, TITLE_COLUMNS),
        }
    }
}

#[derive(Serialize)]
struct ArrivalView {
    region: String,
    date: String,
    /// As the query wrote it (`+1d`, or empty when the origin is unknown).
    lag: String,
    lag_days: Option<i64>,
    censored: bool,
}

#[derive(Serialize)]
struct SpreadView {
    #[serde(flatten)]
    video: VideoLabel,
    channel_title: String,
    regions_reached: i64,
    origin_known: bool,
    first_date: String,
    first_regions: String,
    max_lag_days: Option<i64>,
    arrivals: Vec<ArrivalView>,
}

#[derive(Serialize)]
struct MoverView {
    #[serde(flatten)]
    video: VideoLabel,
    rank: i64,
    previous_rank: i64,
    previous_date: String,
    days_since_previous: i64,
    view_count: i64,
    view_gain: i64,
    gain_per_day: f64,
    gain_text: String,
    per_day_text: String,
    span_text: String,
}

#[derive(Serialize)]
struct ClimberView {
    #[serde(flatten)]
    video: VideoLabel,
    rank: i64,
    previous_rank: i64,
    climb: i64,
    days_since_previous: i64,
}

#[derive(Serialize)]
struct EntryView {
    #[serde(flatten)]
    video: VideoLabel,
    channel_title: String,
    rank: i64,
    reentry: bool,
    last_seen_before: String,
}

#[derive(Serialize)]
struct DropoutView {
    #[serde(flatten)]
    video: VideoLabel,
    last_rank: i64,
    run_snapshots: i64,
    run_calendar_days: i64,
    run_left_censored: bool,
    run_text: String,
}

/// The "after the chart" panel of a region: per N days after an exit, the observed gains'
/// median and quartiles, and what could not be observed.
#[derive(Serialize)]
struct AfterView {
    exits: i64,
    rows: Vec<AfterRow>,
}

#[derive(Serialize)]
struct AfterRow {
    days: i64,
    observed: i64,
    /// The median as stored (for the tests), and as shown.
    median: Option<f64>,
    median_text: String,
    spread_text: String,
    censored: i64,
    vanished: i64,
}

impl AfterView {
    fn of(a: &super::data::Afterlife) -> Self {
        let views = |v: f64| format!("+{}", thousands(v.round() as i64));
        Self {
            exits: a.exits,
            rows: a
                .after
                .iter()
                .map(|d| AfterRow {
                    days: d.days,
                    observed: d.observed,
                    median: d.median,
                    median_text: d.median.map_or_else(|| "–".to_string(), views),
                    spread_text: match (d.p25, d.p75) {
                        (Some(lo), Some(hi)) => format!("{} to {}", views(lo), views(hi)),
                        _ => String::new(),
                    },
                    censored: d.censored,
                    vanished: d.vanished,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct RegionView {
    code: String,
    name: String,
    holds_date: bool,
    last_date: String,
    bump: Option<BumpChart>,
    previous_date: String,
    days_since_previous: i64,
    movers: Vec<MoverView>,
    climbers: Vec<ClimberView>,
    entries: Vec<EntryView>,
    new_entries: i64,
    dropouts: Vec<DropoutView>,
    dropout_count: i64,
    first_snapshot: bool,
    /// What the region's chart exits of the last days gained after (none without exits).
    after: Option<AfterView>,
    /// The region's category charts held on the date, each with its first videos (none
    /// without `--categories`).
    category_charts: Vec<CategoryChartView>,
}

/// One category chart of a region in the "category charts" panel: its title and length, and its
/// first videos.
#[derive(Serialize)]
struct CategoryChartView {
    category_id: i64,
    name: String,
    entries: i64,
    leaders: Vec<LeaderView>,
}

#[derive(Serialize)]
struct LeaderView {
    #[serde(flatten)]
    video: VideoLabel,
    rank: i64,
    view_count: Option<i64>,
    views_text: String,
    on_general_chart: bool,
}

/// `region`'s category charts from the `category_leaders` rows (in category order).
fn category_charts(data: &ReportData, region: &str) -> Vec<CategoryChartView> {
    let mut charts: Vec<CategoryChartView> = Vec::new();
    for l in data.category_leaders.iter().filter(|l| l.region == region) {
        if charts.last().is_none_or(|c| c.category_id != l.category_id) {
            charts.push(CategoryChartView {
                category_id: l.category_id,
                name: l
                    .category
                    .clone()
                    .unwrap_or_else(|| format!("category {}", l.category_id)),
                entries: l.chart_entries,
                leaders: Vec::new(),
            });
        }
        let chart = charts.last_mut().expect("pushed above");
        chart.leaders.push(LeaderView {
            video: VideoLabel::new(&l.video_id, &l.title),
            rank: l.rank,
            view_count: l.view_count,
            views_text: l.view_count.map(thousands).unwrap_or_default(),
            on_general_chart: l.on_general_chart,
        });
    }
    charts
}

fn region_name(code: &str) -> String {
    region(code).map_or_else(|| code.to_string(), |r| r.name.clone())
}

/// The report page of `data`, noting the source `changes` in effect on its date.
pub fn render(
    data: &ReportData,
    changes: &[SourceChange],
    placement: Placement,
) -> Result<String, ReportError> {
    let date = data.date;
    let noted = in_effect(changes, date);
    let coverage_by_region: BTreeMap<&str, &Coverage> = data
        .coverage
        .iter()
        .map(|c| (c.region.as_str(), c))
        .collect();
    // Every region with history up to the date, in code order (as the queries order them).
    let codes: BTreeSet<&str> = coverage_by_region.keys().copied().collect();
    let window_first = window_first(date);

    let mut regions = Vec::new();
    for code in &codes {
        let cov = coverage_by_region.get(code).copied();
        let holds_date = cov.is_some_and(|c| c.holds(date));
        // A region whose history stopped weeks ago (no longer fetched) stays in the coverage
        // panel; a section of its own is for regions on the date, or missing it only lately.
        if !holds_date
            && cov
                .and_then(|c| c.last_date)
                .is_none_or(|d| d < window_first)
        {
            continue;
        }
        let points: Vec<_> = data
            .trajectory
            .iter()
            .filter(|p| p.region == *code)
            .collect();
        let movers: Vec<_> = data.movers.iter().filter(|m| m.region == *code).collect();
        let entries: Vec<_> = data.entries.iter().filter(|e| e.region == *code).collect();
        let dropouts: Vec<_> = data.dropouts.iter().filter(|e| e.region == *code).collect();
        let previous = movers
            .first()
            .map(|m| (m.previous_date, m.days_since_previous))
            .or_else(|| {
                entries
                    .first()
                    .map(|e| (e.previous_date, e.days_since_previous))
            })
            .or_else(|| {
                dropouts
                    .first()
                    .map(|e| (e.previous_date, e.days_since_previous))
            });
        regions.push(RegionView {
            code: code.to_string(),
            name: region_name(code),
            holds_date,
            last_date: cov
                .and_then(|c| c.last_date)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            bump: (!points.is_empty())
                .then(|| charts::bump(date, WINDOW_DAYS, &points, cov, &noted)),
            previous_date: previous.map(|p| p.0.to_string()).unwrap_or_default(),
            days_since_previous: previous.map_or(0, |p| p.1),
            first_snapshot: holds_date && cov.is_some_and(|c| c.checked_from == date),
            movers: movers
                .iter()
                .map(|m| MoverView {
                    video: VideoLabel::new(&m.video_id, &m.title),
                    rank: m.rank,
                    previous_rank: m.previous_rank,
                    previous_date: m.previous_date.to_string(),
                    days_since_previous: m.days_since_previous,
                    view_count: m.view_count,
                    view_gain: m.view_gain,
                    gain_per_day: m.gain_per_day,
                    gain_text: format!("+{}", thousands(m.view_gain)),
                    per_day_text: decimal(m.gain_per_day),
                    span_text: days(m.days_since_previous),
                })
                .collect(),
            climbers: data
                .climbers
                .iter()
                .filter(|c| c.region == *code)
                .map(|c| ClimberView {
                    video: VideoLabel::new(&c.video_id, &c.title),
                    rank: c.rank,
                    previous_rank: c.previous_rank,
                    climb: c.climb,
                    days_since_previous: c.days_since_previous,
                })
                .collect(),
            new_entries: entries.first().map_or(0, |e| e.region_new_entries),
            entries: entries
                .iter()
                .map(|e| EntryView {
                    video: VideoLabel::new(&e.video_id, &e.title),
                    channel_title: e.channel_title.clone(),
                    rank: e.rank,
                    reentry: e.reentry,
                    last_seen_before: e
                        .last_seen_before
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            after: data
                .afterlife
                .iter()
                .find(|a| a.region == *code && a.exits > 0)
                .map(AfterView::of),
            category_charts: category_charts(data, code),
            dropout_count: dropouts.first().map_or(0, |d| d.region_dropouts),
            dropouts: dropouts
                .iter()
                .map(|d| DropoutView {
                    video: VideoLabel::new(&d.video_id, &d.title),
                    last_rank: d.last_rank,
                    run_snapshots: d.run_snapshots,
                    run_calendar_days: d.run_calendar_days,
                    run_left_censored: d.run_left_censored,
                    run_text: format!(
                        "{}{} snapshot{} over {}",
                        if d.run_left_censored { "≥" } else { "" },
                        d.run_snapshots,
                        if d.run_snapshots == 1 { "" } else { "s" },
                        days(d.run_calendar_days)
                    ),
                })
                .collect(),
        });
    }

    let spread = data
        .spread
        .iter()
        .map(|s| SpreadView {
            video: VideoLabel::new(&s.video_id, &s.title),
            channel_title: s.channel_title.clone(),
            regions_reached: s.regions_reached,
            origin_known: s.origin_known,
            first_date: s.first_date.map(|d| d.to_string()).unwrap_or_default(),
            first_regions: s.first_regions.clone().unwrap_or_default(),
            max_lag_days: s.max_lag_days,
            arrivals: s.arrivals.iter().map(arrival).collect(),
        })
        .collect();

    let mut survival_rows: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for p in &data.survival {
        survival_rows.entry(p.region.as_str()).or_default().push(p);
    }
    let survival = survival_rows
        .iter()
        .map(|(r, rows)| charts::survival(r, rows, i64::from(SURVIVAL_DAYS)))
        .collect();

    let page = Page {
        date: date.to_string(),
        date_long: long_date(date),
        style: STYLE,
        in_lake: placement == Placement::Lake,
        warehouse_last_date: data.warehouse_last_date.to_string(),
        later_data: data.warehouse_last_date > date,
        region_count: regions.len(),
        held_regions: regions.iter().filter(|r| r.holds_date).count(),
        notes: noted
            .iter()
            .enumerate()
            .map(|(i, c)| Note {
                number: i + 1,
                date: c.date.to_string(),
                title: c.title.clone(),
                detail: c.detail.clone(),
                source: c.source.clone(),
            })
            .collect(),
        coverage: charts::coverage(&data.coverage, date, &noted),
        coverage_rows: data
            .coverage
            .iter()
            .map(|c| CoverageSummary {
                region: c.region.clone(),
                name: region_name(&c.region),
                first_date: c.first_date.map(|d| d.to_string()).unwrap_or_default(),
                last_date: c.last_date.map(|d| d.to_string()).unwrap_or_default(),
                snapshots: c.snapshots,
                calendar_days: c.calendar_days,
                missing_days: c.missing_days,
                gaps: c.gaps.clone(),
                holds_date: c.holds(date),
            })
            .collect(),
        window_first: short_date(window_first),
        date_short: short_date(date),
        spread_total: data.spread.first().map_or(0, |s| s.matching_videos),
        spread,
        survival,
        survival_days: SURVIVAL_DAYS,
        afterlife_days: super::data::AFTERLIFE_DAYS,
        regions,
        commands: runs(date).iter().map(|r| r.command()).collect(),
    };
    render_template("report.html", REPORT_TEMPLATE, &page)
}

fn arrival(a: &Arrival) -> ArrivalView {
    ArrivalView {
        region: a.region.clone(),
        date: a.date.to_string(),
        lag: a.lag_days.map(|l| format!("+{l}d")).unwrap_or_default(),
        lag_days: a.lag_days,
        censored: a.censored,
    }
}

#[derive(Serialize)]
struct Index {
    style: &'static str,
    reports: Vec<IndexEntry>,
}

#[derive(Serialize)]
struct IndexEntry {
    date: String,
    date_long: String,
    href: String,
}

/// `_reports/index.html`: a link to every date's report, newest first.
pub fn render_index(dates: &[NaiveDate]) -> Result<String, ReportError> {
    let mut reports: Vec<IndexEntry> = dates
        .iter()
        .map(|d| IndexEntry {
            date: d.to_string(),
            date_long: long_date(*d),
            href: format!("snapshot_date={d}/report.html"),
        })
        .collect();
    reports.reverse();
    render_template(
        "index.html",
        INDEX_TEMPLATE,
        &Index {
            style: STYLE,
            reports,
        },
    )
}

fn render_template(name: &str, source: &str, ctx: &impl Serialize) -> Result<String, ReportError> {
    let fail = |e: minijinja::Error| ReportError::Template {
        template: format!("src/report/templates/{name}"),
        message: format!("{e:#}"),
    };
    let mut env = Environment::new();
    // A name the template uses but the page lacks is a bug, not an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // `.html` templates are HTML-escaped by minijinja's default callback.
    env.add_template(name, source).map_err(fail)?;
    env.get_template(name)
        .map_err(fail)?
        .render(ctx)
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn titles_reach_the_page_as_text_never_as_markup() {
        use crate::report::data::{Coverage, Mover};
        let hostile = r#"</title><script>alert("x")</script> & 'quoted' <b onmouseover=x>"#;
        let date = day("2026-11-21");
        let data = ReportData {
            date,
            warehouse_last_date: date,
            coverage: vec![Coverage {
                region: "JP".into(),
                first_date: Some(day("2026-11-20")),
                last_date: Some(date),
                checked_from: day("2026-11-20"),
                checked_to: date,
                calendar_days: 2,
                snapshots: 2,
                missing_days: 0,
                missing_dates: Vec::new(),
                gaps: String::new(),
                longest_gap_days: 0,
                warehouse_first_date: Some(day("2026-11-20")),
                warehouse_last_date: Some(date),
            }],
            spread: Vec::new(),
            survival: Vec::new(),
            trajectory: Vec::new(),
            movers: vec![Mover {
                region: "JP".into(),
                mover: 1,
                video_id: "vid\"1".into(),
                title: hostile.into(),
                rank: 3,
                previous_rank: 5,
                previous_date: day("2026-11-20"),
                days_since_previous: 1,
                view_count: 2_000,
                view_gain: 1_000,
                gain_per_day: 1_000.0,
            }],
            climbers: Vec::new(),
            entries: Vec::new(),
            dropouts: Vec::new(),
            afterlife: Vec::new(),
            category_leaders: Vec::new(),
        };
        let html = render(&data, &[], Placement::Standalone).unwrap();
        assert!(!html.contains("<script"), "a title became markup");
        assert!(!html.contains("<b onmouseover"), "a title became markup");
        assert!(!html.contains("vid\""), "an id broke out of its attribute");
        // In the cell and in its tooltip attribute, escaped.
        assert!(
            html.contains("&lt;&#x2f;title&gt;&lt;script&gt;alert(&quot;x&quot;)"),
            "{html}"
        );
        assert!(html.contains("&amp; &#x27;quoted&#x27;"));
    }

    #[test]
    fn the_index_links_every_date_newest_first_and_escapes_nothing_it_should_not() {
        let dates: Vec<NaiveDate> = ["2026-11-20", "2026-11-21"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        let html = render_index(&dates).unwrap();
        // minijinja escapes `/` in attribute values too; a browser reads `&#x2f;` as `/`.
        let first = html
            .find("href=\"snapshot_date=2026-11-21&#x2f;report.html\"")
            .unwrap();
        let second = html
            .find("href=\"snapshot_date=2026-11-20&#x2f;report.html\"")
            .unwrap();
        assert!(first < second, "newest first");
        assert!(html.contains("Sat 21 Nov 2026"), "{html}");
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
