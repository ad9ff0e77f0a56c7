//! The report's numbers: the named queries of `sql/queries/` run with the report's parameters
//! (bound exactly as `trendlake query --name N --param K=V` binds them), their Arrow batches
//! turned into typed rows. Nothing here computes a number the queries do not give; it only picks
//! rows and reads values.

use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use chrono::NaiveDate;

use super::ReportError;
use crate::queries::{held_date, named_query};
use crate::warehouse::Warehouse;

/// Leaders per region in the bump chart (`rank_trajectory`'s `top`).
pub const TOP: u32 = 10;
/// Calendar days of the bump charts and of the spread panel, the report's date included.
pub const WINDOW_DAYS: i64 = 14;
/// Rows of the movers and climbers tables (the queries' default `limit`).
pub const MOVERS: u32 = 5;
/// Rows of the new entries and dropouts tables.
pub const LISTED: u32 = 10;
/// The survival curves' last N (days after entering).
pub const SURVIVAL_DAYS: u32 = 14;
/// Videos the spread panel shows (`cross_region`'s `limit`).
pub const SPREAD_ROWS: u32 = 10;
/// Videos per category chart in the "category charts" panel (`category_leaders`' `top`).
pub const CATEGORY_TOP: u32 = 3;
/// The "after the chart" panel's exits: those of the last this many days (a 30-day gain needs
/// 30 days after its exit).
pub const AFTERLIFE_DAYS: i64 = 60;

/// One named query run of the report: its name and `--param` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub name: &'static str,
    pub params: Vec<String>,
}

impl Run {
    fn new(name: &'static str, params: &[String]) -> Self {
        Self {
            name,
            params: params.to_vec(),
        }
    }

    /// `trendlake query --name … --param …`, the command that gives the same rows.
    pub fn command(&self) -> String {
        let mut out = format!("trendlake query --name {}", self.name);
        for p in &self.params {
            out.push_str(" --param ");
            out.push_str(p);
        }
        out
    }
}

/// Every query the report on `date` runs, in the order a reader meets their panels.
///
/// Each counts the snapshots up to `date` only, so a report of a past date shows what that night's
/// report showed, whatever the warehouse has learnt since.
pub fn runs(date: NaiveDate) -> Vec<Run> {
    let d = format!("date={date}");
    vec![
        Run::new("coverage", &[format!("to={date}")]),
        Run::new(
            "cross_region",
            &[
                d.clone(),
                format!("since={}", window_first(date)),
                format!("limit={SPREAD_ROWS}"),
            ],
        ),
        Run::new(
            "survival",
            &[d.clone(), format!("max_days={SURVIVAL_DAYS}")],
        ),
        Run::new(
            "rank_trajectory",
            &[
                d.clone(),
                format!("top={TOP}"),
                format!("days={WINDOW_DAYS}"),
            ],
        ),
        Run::new("top_movers", &[d.clone(), format!("limit={MOVERS}")]),
        Run::new("rank_climbers", &[d.clone(), format!("limit={MOVERS}")]),
        Run::new("new_entries", &[d.clone(), format!("limit={LISTED}")]),
        Run::new("dropouts", &[d.clone(), format!("limit={LISTED}")]),
        Run::new(
            "afterlife",
            &[
                d.clone(),
                format!("since={}", date - chrono::Duration::days(AFTERLIFE_DAYS)),
            ],
        ),
        Run::new("category_leaders", &[d, format!("top={CATEGORY_TOP}")]),
    ]
}

/// The first day of the report's window (the bump charts, the spread panel's arrivals).
pub fn window_first(date: NaiveDate) -> NaiveDate {
    date - chrono::Duration::days(WINDOW_DAYS - 1)
}

/// `top_movers`: views gained since the region's previous snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    pub region: String,
    pub mover: i64,
    pub video_id: String,
    pub title: String,
    pub rank: i64,
    pub previous_rank: i64,
    pub previous_date: NaiveDate,
    pub days_since_previous: i64,
    pub view_count: i64,
    pub view_gain: i64,
    pub gain_per_day: f64,
}

/// `rank_climbers`: rank improvements since the region's previous snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Climber {
    pub region: String,
    pub climber: i64,
    pub video_id: String,
    pub title: String,
    pub rank: i64,
    pub previous_rank: i64,
    pub climb: i64,
    pub previous_date: NaiveDate,
    pub days_since_previous: i64,
}

/// `new_entries`: on the chart now, not on the previous snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub region: String,
    pub rank: i64,
    pub video_id: String,
    pub title: String,
    pub channel_title: String,
    pub previous_date: NaiveDate,
    pub days_since_previous: i64,
    pub reentry: bool,
    pub last_seen_before: Option<NaiveDate>,
    pub region_new_entries: i64,
}

/// `afterlife`: what a region's chart exits gained N days later (1, 7, 30).
#[derive(Debug, Clone, PartialEq)]
pub struct Afterlife {
    pub region: String,
    pub exits: i64,
    /// One per N of [`AFTER_DAYS`].
    pub after: Vec<AfterDays>,
}

/// The days after an exit the panel shows.
pub const AFTER_DAYS: [i64; 3] = [1, 7, 30];

/// The gains N days after the exits: observed ones' median and quartiles, censored, vanished.
#[derive(Debug, Clone, PartialEq)]
pub struct AfterDays {
    pub days: i64,
    pub observed: i64,
    pub median: Option<f64>,
    pub p25: Option<f64>,
    pub p75: Option<f64>,
    pub censored: i64,
    pub vanished: i64,
}

/// `category_leaders`: one of a category chart's first videos on the date.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryLeader {
    pub region: String,
    pub category_id: i64,
    /// The category's title (the region's own, else the compiled-in name).
    pub category: Option<String>,
    /// The chart's length that night.
    pub chart_entries: i64,
    pub rank: i64,
    pub video_id: String,
    pub title: String,
    pub channel_title: String,
    pub view_count: Option<i64>,
    pub on_general_chart: bool,
}

/// `dropouts`: on the previous snapshot, off the chart now.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout {
    pub region: String,
    pub last_rank: i64,
    pub video_id: String,
    pub title: String,
    pub channel_title: String,
    pub previous_date: NaiveDate,
    pub days_since_previous: i64,
    pub run_start: NaiveDate,
    pub run_snapshots: i64,
    pub run_calendar_days: i64,
    pub run_left_censored: bool,
    pub region_dropouts: i64,
}

/// `rank_trajectory`: a leader's rank on one held snapshot of the window (`None`: off the chart).
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPoint {
    pub region: String,
    pub rank_on_date: i64,
    pub video_id: String,
    pub title: String,
    pub snapshot_date: NaiveDate,
    pub rank: Option<i64>,
    pub view_count: Option<i64>,
}

/// One region's first appearance of a `cross_region` video, parsed from its `arrivals` text
/// (`KR 2026-11-12 +0d`, `JP ≤2026-11-10`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub region: String,
    pub date: NaiveDate,
    /// Already on the region's first held snapshot: it arrived then or earlier.
    pub censored: bool,
    /// Days after the video's first appearance anywhere; `None` when the origin is unknown.
    pub lag_days: Option<i64>,
}

/// `cross_region`: a video on several regions' charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub video_id: String,
    pub title: String,
    pub channel_title: String,
    pub regions_reached: i64,
    pub origin_known: bool,
    pub first_date: Option<NaiveDate>,
    pub first_regions: Option<String>,
    pub max_lag_days: Option<i64>,
    pub arrivals: Vec<Arrival>,
    pub still_on_chart: bool,
    /// The videos that arrived somewhere in the window: all of them, not only the rows read.
    pub matching_videos: i64,
}

/// `survival`: the share of a region's entrants still on its chart N days after entering.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalPoint {
    pub region: String,
    pub day_n: i64,
    pub entered: i64,
    pub at_risk: i64,
    pub still_on: i64,
    pub share: Option<f64>,
    pub censored: i64,
    pub unknown: i64,
}

/// `coverage`: the days a region's history holds, and its missing ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub region: String,
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
    pub checked_from: NaiveDate,
    pub checked_to: NaiveDate,
    pub calendar_days: i64,
    pub snapshots: i64,
    pub missing_days: i64,
    pub missing_dates: Vec<NaiveDate>,
    pub gaps: String,
    pub longest_gap_days: i64,
    pub warehouse_first_date: Option<NaiveDate>,
    pub warehouse_last_date: Option<NaiveDate>,
}

impl Coverage {
    /// Whether the region holds a snapshot of `day`.
    pub fn holds(&self, day: NaiveDate) -> bool {
        day >= self.checked_from
            && day <= self.checked_to
            && self.missing_dates.binary_search(&day).is_err()
    }
}

/// Every number of one report.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub date: NaiveDate,
    /// The warehouse's latest snapshot of any region (after `date` when an older day is
    /// reported).
    pub warehouse_last_date: NaiveDate,
    pub coverage: Vec<Coverage>,
    pub spread: Vec<Spread>,
    pub survival: Vec<SurvivalPoint>,
    pub trajectory: Vec<TrajectoryPoint>,
    pub movers: Vec<Mover>,
    pub climbers: Vec<Climber>,
    pub entries: Vec<NewEntry>,
    pub dropouts: Vec<Dropout>,
    pub afterlife: Vec<Afterlife>,
    /// Each region's category charts of the date, their first videos (empty without
    /// `--categories`).
    pub category_leaders: Vec<CategoryLeader>,
}

/// Run the report's queries on the warehouse at `path` for `date` (default: its latest
/// snapshot). Two read-only connections to one opened database share the work, since each query
/// runs mostly on one core; neither writes anything.
pub fn load(path: &Path, date: Option<NaiveDate>) -> Result<ReportData, ReportError> {
    let main = Warehouse::open_read_only(path)?;
    // The report is the named queries' output: they need the current schema.
    main.require_current_schema()?;
    // The date checked as `query --name` checks a query's `date`.
    let held = main.held_dates()?;
    let date = held_date(&held, date, path)?;
    let latest = *held
        .last()
        .expect("a warehouse holding the date holds a latest one");
    let all = runs(date);
    let find = |name: &str| all.iter().find(|r| r.name == name).expect("a report query");
    // A clone, not a second open of `path`: a merge that renames a new file over the path
    // between two opens would make one page of two versions of the warehouse.
    let second_wh = main.try_clone()?;
    std::thread::scope(|s| {
        // The heaviest query, the only one that reads the whole history up to the date, on the
        // second connection; the one-date and one-window queries take about as long together.
        let second = s.spawn(move || -> Result<_, ReportError> {
            let survival = survival(&run(&second_wh, find("survival"))?)?;
            let afterlife = afterlife(&run(&second_wh, find("afterlife"))?)?;
            Ok((survival, afterlife))
        });
        let spread = spreads(&run(&main, find("cross_region"))?)?;
        let coverage = coverage(&run(&main, find("coverage"))?)?;
        let trajectory = trajectory(&run(&main, find("rank_trajectory"))?)?;
        let movers = movers(&run(&main, find("top_movers"))?)?;
        let climbers = climbers(&run(&main, find("rank_climbers"))?)?;
        let entries = entries(&run(&main, find("new_entries"))?)?;
        let dropouts = dropouts(&run(&main, find("dropouts"))?)?;
        let category_leaders = category_leaders(&run(&main, find("category_leaders"))?)?;
        let (survival, afterlife) = second.join().expect("report queries do not panic")?;
        Ok(ReportData {
            date,
            warehouse_last_date: latest,
            coverage,
            spread,
            survival,
            trajectory,
            movers,
            climbers,
            entries,
            dropouts,
            afterlife,
            category_leaders,
        })
    })
}

/// A named query run as `trendlake query --name` runs it.
fn run(wh: &Warehouse, r: &Run) -> Result<Table, ReportError> {
    let q = named_query(r.name)?;
    let bindings = q.bind(&r.params)?;
    let started = std::time::Instant::now();
    let batches = wh.query(q.sql, &bindings)?;
    // `TRENDLAKE_LOG=trendlake=debug` shows where a slow report spends its time.
    tracing::debug!(
        query = %r.command(),
        ms = started.elapsed().as_millis() as u64,
        rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        "report query"
    );
    Ok(Table {
        query: r.name,
        batches,
    })
}

/// A query's result, read column by column into typed values.
struct Table {
    query: &'static str,
    batches: Vec<RecordBatch>,
}

impl Table {
    fn len(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Column `name` of every batch, cast to `to` (so `INTEGER` or `BIGINT` both read as i64).
    fn column(&self, name: &str, to: &DataType) -> Result<Vec<ArrayRef>, ReportError> {
        self.batches
            .iter()
            .map(|b| {
                let col = b
                    .column_by_name(name)
                    .ok_or_else(|| self.shape(name, "is missing"))?;
                cast(col, to).map_err(|e| self.shape(name, &format!("cannot be read: {e}")))
            })
            .collect()
    }

    fn shape(&self, column: &str, problem: &str) -> ReportError {
        ReportError::Shape {
            query: self.query,
            column: column.to_string(),
            problem: problem.to_string(),
        }
    }

    fn ints(&self, name: &str) -> Result<Vec<Option<i64>>, ReportError> {
        Ok(self
            .column(name, &DataType::Int64)?
            .iter()
            .flat_map(|a| a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>())
            .collect())
    }

    fn floats(&self, name: &str) -> Result<Vec<Option<f64>>, ReportError> {
        Ok(self
            .column(name, &DataType::Float64)?
            .iter()
            .flat_map(|a| a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>())
            .collect())
    }

    fn texts(&self, name: &str) -> Result<Vec<Option<String>>, ReportError> {
        Ok(self
            .column(name, &DataType::Utf8)?
            .iter()
            .flat_map(|a| {
                a.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    fn bools(&self, name: &str) -> Result<Vec<Option<bool>>, ReportError> {
        Ok(self
            .column(name, &DataType::Boolean)?
            .iter()
            .flat_map(|a| a.as_boolean().iter().collect::<Vec<_>>())
            .collect())
    }

    fn dates(&self, name: &str) -> Result<Vec<Option<NaiveDate>>, ReportError> {
        Ok(self
            .column(name, &DataType::Date32)?
            .iter()
            .flat_map(|a| {
                a.as_primitive::<Date32Type>()
                    .iter()
                    .map(|v| v.map(date32))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// A `DATE[]` column, each list in order.
    fn date_lists(&self, name: &str) -> Result<Vec<Vec<NaiveDate>>, ReportError> {
        let mut out = Vec::with_capacity(self.len());
        for b in &self.batches {
            let col = b
                .column_by_name(name)
                .ok_or_else(|| self.shape(name, "is missing"))?;
            let lists = col
                .as_list_opt::<i32>()
                .ok_or_else(|| self.shape(name, "is not a list of dates"))?;
            for i in 0..lists.len() {
                if lists.is_null(i) {
                    out.push(Vec::new());
                    continue;
                }
                let items = cast(&lists.value(i), &DataType::Date32)
                    .map_err(|e| self.shape(name, &format!("cannot be read: {e}")))?;
                out.push(
                    items
                        .as_primitive::<Date32Type>()
                        .iter()
                        .flatten()
                        .map(date32)
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}

fn date32(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163).expect("a DuckDB date within chrono's")
}

/// A value the query never leaves NULL, or an error naming the query, column and row.
fn req<T>(v: Option<T>, t: &Table, column: &str, row: usize) -> Result<T, ReportError> {
    v.ok_or_else(|| t.shape(column, &format!("is NULL on row {}", row + 1)))
}

/// Zip columns read from `t` into rows: `rows!(t, i => Struct { field: expr(i), … })`.
macro_rules! rows {
    ($t:expr, $i:ident => $make:expr) => {{
        let mut out = Vec::with_capacity($t.len());
        for $i in 0..$t.len() {
            out.push($make);
        }
        out
    }};
}

fn movers(t: &Table) -> Result<Vec<Mover>, ReportError> {
    let (region, mover, video, title) = (
        t.texts("region")?,
        t.ints("mover")?,
        t.texts("video_id")?,
        t.texts("title")?,
    );
    let (rank, prev_rank, prev_date, days) = (
        t.ints("rank")?,
        t.ints("previous_rank")?,
        t.dates("previous_date")?,
        t.ints("days_since_previous")?,
    );
    let (views, gain, per_day) = (
        t.ints("view_count")?,
        t.ints("view_gain")?,
        t.floats("gain_per_day")?,
    );
    Ok(rows!(t, i => Mover {
        region: req(region[i].clone(), t, "region", i)?,
        mover: req(mover[i], t, "mover", i)?,
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: title[i].clone().unwrap_or_default(),
        rank: req(rank[i], t, "rank", i)?,
        previous_rank: req(prev_rank[i], t, "previous_rank", i)?,
        previous_date: req(prev_date[i], t, "previous_date", i)?,
        days_since_previous: req(days[i], t, "days_since_previous", i)?,
        view_count: req(views[i], t, "view_count", i)?,
        view_gain: req(gain[i], t, "view_gain", i)?,
        gain_per_day: req(per_day[i], t, "gain_per_day", i)?,
    }))
}

fn climbers(t: &Table) -> Result<Vec<Climber>, ReportError> {
    let (region, climber, video, title) = (
        t.texts("region")?,
        t.ints("climber")?,
        t.texts("video_id")?,
        t.texts("title")?,
    );
    let (rank, prev_rank, climb, prev_date, days) = (
        t.ints("rank")?,
        t.ints("previous_rank")?,
        t.ints("climb")?,
        t.dates("previous_date")?,
        t.ints("days_since_previous")?,
    );
    Ok(rows!(t, i => Climber {
        region: req(region[i].clone(), t, "region", i)?,
        climber: req(climber[i], t, "climber", i)?,
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: title[i].clone().unwrap_or_default(),
        rank: req(rank[i], t, "rank", i)?,
        previous_rank: req(prev_rank[i], t, "previous_rank", i)?,
        climb: req(climb[i], t, "climb", i)?,
        previous_date: req(prev_date[i], t, "previous_date", i)?,
        days_since_previous: req(days[i], t, "days_since_previous", i)?,
    }))
}

fn entries(t: &Table) -> Result<Vec<NewEntry>, ReportError> {
    let (region, rank, video, title, channel) = (
        t.texts("region")?,
        t.ints("rank")?,
        t.texts("video_id")?,
        t.texts("title")?,
        t.texts("channel_title")?,
    );
    let (prev_date, days, reentry, last_seen, count) = (
        t.dates("previous_date")?,
        t.ints("days_since_previous")?,
        t.bools("reentry")?,
        t.dates("last_seen_before")?,
        t.ints("region_new_entries")?,
    );
    Ok(rows!(t, i => NewEntry {
        region: req(region[i].clone(), t, "region", i)?,
        rank: req(rank[i], t, "rank", i)?,
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: title[i].clone().unwrap_or_default(),
        channel_title: channel[i].clone().unwrap_or_default(),
        previous_date: req(prev_date[i], t, "previous_date", i)?,
        days_since_previous: req(days[i], t, "days_since_previous", i)?,
        reentry: req(reentry[i], t, "reentry", i)?,
        last_seen_before: last_seen[i],
        region_new_entries: req(count[i], t, "region_new_entries", i)?,
    }))
}

fn afterlife(t: &Table) -> Result<Vec<Afterlife>, ReportError> {
    let (region, exits) = (t.texts("region")?, t.ints("exits")?);
    let mut columns = Vec::new();
    for n in AFTER_DAYS {
        columns.push((
            n,
            t.ints(&format!("observed_{n}d"))?,
            t.floats(&format!("median_gain_{n}d"))?,
            t.floats(&format!("p25_gain_{n}d"))?,
            t.floats(&format!("p75_gain_{n}d"))?,
            t.ints(&format!("censored_{n}d"))?,
            t.ints(&format!("vanished_{n}d"))?,
        ));
    }
    Ok(rows!(t, i => Afterlife {
        region: req(region[i].clone(), t, "region", i)?,
        exits: req(exits[i], t, "exits", i)?,
        after: columns
            .iter()
            .map(|(n, observed, median, p25, p75, censored, vanished)| AfterDays {
                days: *n,
                observed: observed[i].unwrap_or(0),
                median: median[i],
                p25: p25[i],
                p75: p75[i],
                censored: censored[i].unwrap_or(0),
                vanished: vanished[i].unwrap_or(0),
            })
            .collect(),
    }))
}

fn category_leaders(t: &Table) -> Result<Vec<CategoryLeader>, ReportError> {
    let (region, category_id, category, entries) = (
        t.texts("region")?,
        t.ints("category_id")?,
        t.texts("category")?,
        t.ints("chart_entries")?,
    );
    let (rank, video, title, channel, views, on_general) = (
        t.ints("rank")?,
        t.texts("video_id")?,
        t.texts("title")?,
        t.texts("channel_title")?,
        t.ints("view_count")?,
        t.bools("on_general_chart")?,
    );
    Ok(rows!(t, i => CategoryLeader {
        region: req(region[i].clone(), t, "region", i)?,
        category_id: req(category_id[i], t, "category_id", i)?,
        category: category[i].clone(),
        chart_entries: req(entries[i], t, "chart_entries", i)?,
        rank: req(rank[i], t, "rank", i)?,
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: req(title[i].clone(), t, "title", i)?,
        channel_title: req(channel[i].clone(), t, "channel_title", i)?,
        view_count: views[i],
        on_general_chart: req(on_general[i], t, "on_general_chart", i)?,
    }))
}

fn dropouts(t: &Table) -> Result<Vec<Dropout>, ReportError> {
    let (region, last_rank, video, title, channel) = (
        t.texts("region")?,
        t.ints("last_rank")?,
        t.texts("video_id")?,
        t.texts("title")?,
        t.texts("channel_title")?,
    );
    let (prev_date, days, run_start, run_snapshots, run_days, censored, count) = (
        t.dates("previous_date")?,
        t.ints("days_since_previous")?,
        t.dates("run_start")?,
        t.ints("run_snapshots")?,
        t.ints("run_calendar_days")?,
        t.bools("run_left_censored")?,
        t.ints("region_dropouts")?,
    );
    Ok(rows!(t, i => Dropout {
        region: req(region[i].clone(), t, "region", i)?,
        last_rank: req(last_rank[i], t, "last_rank", i)?,
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: title[i].clone().unwrap_or_default(),
        channel_title: channel[i].clone().unwrap_or_default(),
        previous_date: req(prev_date[i], t, "previous_date", i)?,
        days_since_previous: req(days[i], t, "days_since_previous", i)?,
        run_start: req(run_start[i], t, "run_start", i)?,
        run_snapshots: req(run_snapshots[i], t, "run_snapshots", i)?,
        run_calendar_days: req(run_days[i], t, "run_calendar_days", i)?,
        run_left_censored: req(censored[i], t, "run_left_censored", i)?,
        region_dropouts: req(count[i], t, "region_dropouts", i)?,
    }))
}

fn trajectory(t: &Table) -> Result<Vec<TrajectoryPoint>, ReportError> {
    let (region, rank_on_date, video, title) = (
        t.texts("region")?,
        t.ints("rank_on_date")?,
        t.texts("video_id")?,
        t.texts("title")?,
    );
    let (date, rank, views) = (
        t.dates("snapshot_date")?,
        t.ints("rank")?,
        t.ints("view_count")?,
    );
    Ok(rows!(t, i => TrajectoryPoint {
        region: req(region[i].clone(), t, "region", i)?,
        rank_on_date: req(rank_on_date[i], t, "rank_on_date", i)?,
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: title[i].clone().unwrap_or_default(),
        snapshot_date: req(date[i], t, "snapshot_date", i)?,
        rank: rank[i],
        view_count: views[i],
    }))
}

fn spreads(t: &Table) -> Result<Vec<Spread>, ReportError> {
    let (video, title, channel, reached) = (
        t.texts("video_id")?,
        t.texts("title")?,
        t.texts("channel_title")?,
        t.ints("regions_reached")?,
    );
    let (origin_known, first_date, first_regions, max_lag, arrivals, still, matching) = (
        t.bools("origin_known")?,
        t.dates("first_date")?,
        t.texts("first_regions")?,
        t.ints("max_lag_days")?,
        t.texts("arrivals")?,
        t.bools("still_on_chart")?,
        t.ints("matching_videos")?,
    );
    Ok(rows!(t, i => Spread {
        video_id: req(video[i].clone(), t, "video_id", i)?,
        title: title[i].clone().unwrap_or_default(),
        channel_title: channel[i].clone().unwrap_or_default(),
        regions_reached: req(reached[i], t, "regions_reached", i)?,
        origin_known: req(origin_known[i], t, "origin_known", i)?,
        first_date: first_date[i],
        first_regions: first_regions[i].clone(),
        max_lag_days: max_lag[i],
        arrivals: parse_arrivals(&req(arrivals[i].clone(), t, "arrivals", i)?)
            .map_err(|e| t.shape("arrivals", &format!("{e} on row {}", i + 1)))?,
        still_on_chart: req(still[i], t, "still_on_chart", i)?,
        matching_videos: req(matching[i], t, "matching_videos", i)?,
    }))
}

/// `KR 2026-11-12 +0d, JP ≤2026-11-10, US 2026-11-14` as arrivals.
pub fn parse_arrivals(text: &str) -> Result<Vec<Arrival>, String> {
    text.split(", ")
        .filter(|s| !s.is_empty())
        .map(|part| {
            let bad = || format!("arrival {part:?} is not `REGION [≤]YYYY-MM-DD [+Nd]`");
            let mut words = part.split(' ');
            let region = words.next().filter(|r| r.len() == 2).ok_or_else(bad)?;
            let when = words.next().ok_or_else(bad)?;
            let (censored, when) = match when.strip_prefix('≤') {
                Some(rest) => (true, rest),
                None => (false, when),
            };
            let date = NaiveDate::parse_from_str(when, "%Y-%m-%d").map_err(|_| bad())?;
            let lag_days = match words.next() {
                None => None,
                Some(lag) => Some(
                    lag.strip_prefix('+')
                        .and_then(|l| l.strip_suffix('d'))
                        .and_then(|l| l.parse::<i64>().ok())
                        .ok_or_else(bad)?,
                ),
            };
            if words.next().is_some() {
                return Err(bad());
            }
            Ok(Arrival {
                region: region.to_string(),
                date,
                censored,
                lag_days,
            })
        })
        .collect()
}

fn survival(t: &Table) -> Result<Vec<SurvivalPoint>, ReportError> {
    let (region, day_n, entered, at_risk, still_on) = (
        t.texts("region")?,
        t.ints("day_n")?,
        t.ints("entered")?,
        t.ints("at_risk")?,
        t.ints("still_on")?,
    );
    let (share, censored, unknown) = (t.floats("share")?, t.ints("censored")?, t.ints("unknown")?);
    Ok(rows!(t, i => SurvivalPoint {
        region: req(region[i].clone(), t, "region", i)?,
        day_n: req(day_n[i], t, "day_n", i)?,
        entered: req(entered[i], t, "entered", i)?,
        at_risk: req(at_risk[i], t, "at_risk", i)?,
        still_on: req(still_on[i], t, "still_on", i)?,
        share: share[i],
        censored: req(censored[i], t, "censored", i)?,
        unknown: req(unknown[i], t, "unknown", i)?,
    }))
}

fn coverage(t: &Table) -> Result<Vec<Coverage>, ReportError> {
    let (region, first, last, from, to) = (
        t.texts("region")?,
        t.dates("first_date")?,
        t.dates("last_date")?,
        t.dates("checked_from")?,
        t.dates("checked_to")?,
    );
    let (calendar, snapshots, missing, missing_dates, gaps, longest) = (
        t.ints("calendar_days")?,
        t.ints("snapshots")?,
        t.ints("missing_days")?,
        t.date_lists("missing_dates")?,
        t.texts("gaps")?,
        t.ints("longest_gap_days")?,
    );
    let (wh_first, wh_last) = (
        t.dates("warehouse_first_date")?,
        t.dates("warehouse_last_date")?,
    );
    Ok(rows!(t, i => Coverage {
        region: req(region[i].clone(), t, "region", i)?,
        first_date: first[i],
        last_date: last[i],
        checked_from: req(from[i], t, "checked_from", i)?,
        checked_to: req(to[i], t, "checked_to", i)?,
        calendar_days: req(calendar[i], t, "calendar_days", i)?,
        snapshots: req(snapshots[i], t, "snapshots", i)?,
        missing_days: req(missing[i], t, "missing_days", i)?,
        missing_dates: {
            let mut d = missing_dates[i].clone();
            d.sort();
            d
        },
        gaps: gaps[i].clone().unwrap_or_default(),
        longest_gap_days: req(longest[i], t, "longest_gap_days", i)?,
        warehouse_first_date: wh_first[i],
        warehouse_last_date: wh_last[i],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn arrivals_parse_with_and_without_lags() {
        let a = parse_arrivals("KR 2026-11-12 +0d, JP 2026-11-13 +1d").unwrap();
        assert_eq!(
            a,
            vec![
                Arrival {
                    region: "KR".into(),
                    date: day("2026-11-12"),
                    censored: false,
                    lag_days: Some(0)
                },
                Arrival {
                    region: "JP".into(),
                    date: day("2026-11-13"),
                    censored: false,
                    lag_days: Some(1)
                },
            ]
        );
        let a = parse_arrivals("JP ≤2026-11-10, US 2026-11-14").unwrap();
        assert!(a[0].censored && a[0].lag_days.is_none());
        assert_eq!(a[1].date, day("2026-11-14"));
        for bad in [
            "Japan 2026-11-10",
            "JP 2026-13-10",
            "JP 2026-11-10 +xd",
            "JP",
        ] {
            assert!(parse_arrivals(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_report_query_binds_against_its_header() {
        for r in runs(day("2026-11-21")) {
            let q = named_query(r.name).unwrap();
            q.bind(&r.params)
                .unwrap_or_else(|e| panic!("{}: {e}", r.command()));
        }
        assert_eq!(
            runs(day("2026-11-21"))[3].command(),
            "trendlake query --name rank_trajectory --param date=2026-11-21 --param top=10 \
             --param days=14"
        );
    }

    #[test]
    fn coverage_holds_its_span_minus_the_missing_days() {
        let c = Coverage {
            region: "JP".into(),
            first_date: Some(day("2026-11-10")),
            last_date: Some(day("2026-11-21")),
            checked_from: day("2026-11-10"),
            checked_to: day("2026-11-21"),
            calendar_days: 12,
            snapshots: 11,
            missing_days: 1,
            missing_dates: vec![day("2026-11-15")],
            gaps: "2026-11-15".into(),
            longest_gap_days: 1,
            warehouse_first_date: Some(day("2026-11-10")),
            warehouse_last_date: Some(day("2026-11-21")),
        };
        assert!(c.holds(day("2026-11-14")));
        assert!(!c.holds(day("2026-11-15")));
        assert!(!c.holds(day("2026-11-09")));
        assert!(!c.holds(day("2026-11-22")));
    }
}
