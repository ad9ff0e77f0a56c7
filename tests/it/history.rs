//! A history of the fake's charts for the trend-library tests, built once per test process by the
//! real binary, and its rows read back from the lake's Parquet with the parquet crate alone, so
//! the tests compute what each named query should answer without the warehouse's SQL.
//!
//! Nine regions (the default regions) from [`FIRST`] to [`LAST`], with no snapshot on [`MISSING`]:
//! the gap a "daily" gain must not hide, and a day a streak does not break for want of data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int32Type, Int64Type, TimestampMicrosecondType};
use chrono::{DateTime, NaiveDate, Utc};

use crate::support::{Scratch, assert_exit, date, fake, read_parquet, stderr, trendlake};

pub const FIRST: &str = "2026-11-10";
pub const LAST: &str = "2026-11-21";
pub const MISSING: &str = "2026-11-15";
pub const REGIONS: [&str; 9] = ["GB", "HK", "JP", "KR", "SG", "TH", "TW", "US", "VN"];

/// One chart entry as the lake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub date: NaiveDate,
    pub region: String,
    pub rank: i32,
    pub video_id: String,
    pub title: String,
    pub channel_id: String,
    pub channel_title: String,
    pub category_id: Option<i32>,
    pub published_at: DateTime<Utc>,
    pub view_count: Option<i64>,
    pub like_count: Option<i64>,
    pub comment_count: Option<i64>,
}

/// A query's CSV output: the header and the rows.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    /// Every row's values of `cols`, in order.
    pub fn project(&self, cols: &[&str]) -> Vec<Vec<String>> {
        let idx: Vec<usize> = cols.iter().map(|c| self.col(c)).collect();
        self.rows
            .iter()
            .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
            .collect()
    }

    pub fn column(&self, name: &str) -> Vec<&str> {
        let i = self.col(name);
        self.rows.iter().map(|r| r[i].as_str()).collect()
    }
}

/// `trendlake query --warehouse W --format F --name NAME --param …`'s arguments.
pub fn query_args(
    warehouse: &Path,
    format: &str,
    name: &str,
    params: &[impl AsRef<str>],
) -> Vec<String> {
    let mut args: Vec<String> = ["query", "--warehouse"].map(String::from).to_vec();
    args.push(warehouse.display().to_string());
    args.extend(["--format", format, "--name", name].map(String::from));
    for p in params {
        args.push("--param".into());
        args.push(p.as_ref().to_string());
    }
    args
}

/// Kept for the process's life, under `CARGO_TARGET_TMPDIR/history-<pid>`; a later process
/// removes it.
pub struct History {
    pub lake: PathBuf,
    pub warehouse: PathBuf,
    /// The snapshot dates held, in order ([`MISSING`] is not among them).
    pub dates: Vec<NaiveDate>,
    /// Every entry of every snapshot, by date, region, rank.
    pub entries: Vec<Entry>,
}

impl History {
    /// `trendlake query --name NAME --param …` on this history, read back from CSV. A `date`
    /// the history does not hold is asked on purpose, for the SQL's answer there: with
    /// `--allow-empty`, as `query` refuses it otherwise (tests/it/scripts.rs tests that).
    pub async fn query(&self, name: &str, params: &[&str]) -> Table {
        let mut args = query_args(&self.warehouse, "csv", name, params);
        let unheld = params.iter().any(|p| {
            p.strip_prefix("date=")
                .is_some_and(|d| !self.dates.contains(&date(d)))
        });
        if unheld {
            args.push("--allow-empty".into());
        }
        let out = trendlake(args).await;
        assert_exit(&out, 0);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.stdout.as_slice());
        let mut rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        let header = rows.remove(0);
        Table { header, rows }
    }

    /// The entries of one date, by region and rank.
    pub fn on(&self, day: NaiveDate) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.date == day)
    }
}

/// The history rearranged for computing what a query should answer: charts by region and date,
/// each region's held dates, and each video's latest metadata (the `videos` row: its entry on its
/// latest date, first region by code).
pub struct Model<'a> {
    pub charts: BTreeMap<(&'a str, NaiveDate), BTreeMap<&'a str, &'a Entry>>,
    pub calendar: BTreeMap<&'a str, Vec<NaiveDate>>,
    pub latest: BTreeMap<&'a str, &'a Entry>,
    pub by_region_video: BTreeMap<(&'a str, &'a str), Vec<&'a Entry>>,
}

impl<'a> Model<'a> {
    pub fn new(h: &'a History) -> Self {
        Self::as_of(h, NaiveDate::MAX)
    }

    /// The history as the warehouse knew it on `day`: the snapshots up to it only. Each video's
    /// metadata stays its latest, as the `videos` table keeps it.
    pub fn as_of(h: &'a History, day: NaiveDate) -> Self {
        let mut charts: BTreeMap<_, BTreeMap<_, _>> = BTreeMap::new();
        let mut calendar: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
        let mut latest: BTreeMap<&str, &Entry> = BTreeMap::new();
        let mut by_region_video: BTreeMap<(&str, &str), Vec<&Entry>> = BTreeMap::new();
        for e in &h.entries {
            let slot = latest.entry(&e.video_id).or_insert(e);
            if (e.date, std::cmp::Reverse(&e.region)) > (slot.date, std::cmp::Reverse(&slot.region))
            {
                *slot = e;
            }
            if e.date > day {
                continue;
            }
            charts
                .entry((e.region.as_str(), e.date))
                .or_default()
                .insert(e.video_id.as_str(), e);
            calendar.entry(&e.region).or_default().insert(e.date);
            by_region_video
                .entry((&e.region, &e.video_id))
                .or_default()
                .push(e);
        }
        Model {
            charts,
            calendar: calendar
                .into_iter()
                .map(|(r, d)| (r, d.into_iter().collect()))
                .collect(),
            latest,
            by_region_video,
        }
    }

    pub fn on_chart(&self, region: &str, day: NaiveDate, video: &str) -> bool {
        self.charts
            .get(&(region, day))
            .is_some_and(|c| c.contains_key(video))
    }

    pub fn held(&self, region: &str, day: NaiveDate) -> bool {
        self.calendar[region].binary_search(&day).is_ok()
    }

    /// The region's held snapshot before `day`.
    pub fn previous(&self, region: &str, day: NaiveDate) -> Option<NaiveDate> {
        self.calendar[region]
            .iter()
            .rev()
            .find(|d| **d < day)
            .copied()
    }

    pub fn first_date(&self, region: &str) -> NaiveDate {
        self.calendar[region][0]
    }

    pub fn last_date(&self, region: &str) -> NaiveDate {
        *self.calendar[region].last().unwrap()
    }

    pub fn chart(&self, region: &'a str, day: NaiveDate) -> Option<&BTreeMap<&'a str, &'a Entry>> {
        self.charts.get(&(region, day))
    }
}

/// The shared history, built on first use (about 20 s: twelve nightly `trendlake run`s).
pub fn history() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    once_per_process(&HISTORY, build)
}

/// `build` run once per test process, on a thread and runtime of its own: the fake API it
/// starts then keeps serving whichever test's runtime gets here first.
pub fn once_per_process<T: Send + Sync, F: Future<Output = T> + 'static>(
    cell: &'static OnceLock<T>,
    build: fn() -> F,
) -> &'static T {
    cell.get_or_init(|| {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(build())
        })
        .join()
        .expect("the history builds")
    })
}

/// `trendlake run` against the fake for every night of `first..=last` but `missing`, each
/// fetching every region, in `<target tmp>/<name>-<pid>` (the directories of test processes that
/// have ended are removed first). The scratch and the nights run.
pub async fn run_nights(
    name: &str,
    first: NaiveDate,
    last: NaiveDate,
    missing: NaiveDate,
    extra: &[&str],
) -> (Scratch, Vec<NaiveDate>) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    remove_stale(&root, name);
    let dir = root.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch {
        dir: tempfile::Builder::new().tempdir_in(&dir).unwrap(),
    };
    let mut dates = Vec::new();
    for day in first.iter_days().take_while(|d| *d <= last) {
        if day == missing {
            continue;
        }
        let api = fake(day, |_| {}).await;
        let out = scratch.run(&api.base_url(), &day.to_string(), extra).await;
        assert_exit(&out, 0);
        let err = stderr(&out);
        assert!(
            err.contains("9/9 regions ok") || (!extra.is_empty() && err.contains(" charts ok")),
            "{err}"
        );
        dates.push(day);
    }
    (scratch, dates)
}

async fn build() -> History {
    let (scratch, dates) = run_nights("history", date(FIRST), date(LAST), date(MISSING), &[]).await;
    let mut entries = Vec::new();
    for day in &dates {
        entries.extend(read_entries(&scratch.snapshot_file(&day.to_string()), *day));
    }
    // The scratch's TempDir would remove the files when dropped; the history outlives it.
    let kept = scratch.dir.keep();
    History {
        lake: kept.join("lake"),
        warehouse: kept.join("wh.duckdb"),
        dates,
        entries,
    }
}

/// Remove the `<prefix>-<pid>` histories of test processes that have ended.
fn remove_stale(root: &Path, prefix: &str) {
    let Ok(read) = std::fs::read_dir(root) else {
        return;
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn read_entries(path: &Path, day: NaiveDate) -> Vec<Entry> {
    let (_, rows) = read_parquet(path);
    let text = |name: &str| {
        rows.column_by_name(name)
            .unwrap()
            .as_string::<i32>()
            .clone()
    };
    let int64 = |name: &str| {
        rows.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone()
    };
    let int32 = |name: &str| {
        rows.column_by_name(name)
            .unwrap()
            .as_primitive::<Int32Type>()
            .clone()
    };
    let (region, id, title, channel, channel_title) = (
        text("region"),
        text("video_id"),
        text("title"),
        text("channel_id"),
        text("channel_title"),
    );
    let (rank, category) = (int32("rank"), int32("category_id"));
    let (views, likes, comments) = (
        int64("view_count"),
        int64("like_count"),
        int64("comment_count"),
    );
    let published = rows
        .column_by_name("published_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>()
        .clone();
    let opt64 = |a: &arrow::array::Int64Array, i: usize| a.is_valid(i).then(|| a.value(i));
    (0..rows.num_rows())
        .map(|i| Entry {
            date: day,
            region: region.value(i).into(),
            rank: rank.value(i),
            video_id: id.value(i).into(),
            title: title.value(i).into(),
            channel_id: channel.value(i).into(),
            channel_title: channel_title.value(i).into(),
            category_id: category.is_valid(i).then(|| category.value(i)),
            published_at: DateTime::from_timestamp_micros(published.value(i)).unwrap(),
            view_count: opt64(&views, i),
            like_count: opt64(&likes, i),
            comment_count: opt64(&comments, i),
        })
        .collect()
}

#[tokio::test]
async fn the_history_has_its_gap_and_every_region_every_day() {
    let h = history();
    assert_eq!(h.dates.len(), 11);
    assert!(!h.dates.contains(&date(MISSING)));
    assert!(
        !h.lake
            .join(format!("videos/snapshot_date={MISSING}"))
            .exists()
    );
    assert_eq!(h.entries.len(), 11 * 9 * 200);
    for day in &h.dates {
        let regions: std::collections::BTreeSet<&str> =
            h.on(*day).map(|e| e.region.as_str()).collect();
        assert_eq!(regions.into_iter().collect::<Vec<_>>(), REGIONS);
    }
    // The fake's charts change from day to day: some entries come and go.
    let first: std::collections::BTreeSet<_> = h.on(h.dates[0]).map(|e| &e.video_id).collect();
    let last: std::collections::BTreeSet<_> = h.on(h.dates[10]).map(|e| &e.video_id).collect();
    assert!(first.difference(&last).count() > 0 && last.difference(&first).count() > 0);
}
