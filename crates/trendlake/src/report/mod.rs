//! `trendlake report`: one self-contained HTML page of a date's trends, read from the warehouse
//! only through the named queries of `sql/queries/` (`data`), drawn as inline SVG (`charts`,
//! positions from `scale`) and rendered from templates kept in `templates/` (`page`). The page
//! loads nothing: no script, font, image or style from anywhere, and a Content-Security-Policy
//! that says so to the browser.
//!
//! `trendlake run --report` also publishes it into the lake (`publish`):
//! `_reports/snapshot_date=D/report.html` and `_reports/index.html`, a static site.

pub mod annotations;
pub mod charts;
pub mod data;
pub mod format;
mod page;
pub mod scale;

use std::path::Path;

use chrono::NaiveDate;

use crate::fsutil::{ReplaceError, write_whole};
use crate::lake::{Lake, LakeError};
use crate::queries::{NotHeld, QueryError};
use crate::warehouse::WarehouseError;

pub use data::{ReportData, load};
pub use page::{render, render_index};

/// Why a report could not be made; each names the thing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The date asked for has no snapshot in the warehouse (a usage error: nothing is written),
    /// said as `query --name` says it of a query's `date` ([`NotHeld::Date`]).
    #[error(transparent)]
    NoSnapshot(NotHeld),
    /// The warehouse holds no snapshot at all ([`NotHeld::Empty`]).
    #[error(transparent)]
    EmptyWarehouse(NotHeld),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("the report's query: {0}")]
    Query(#[from] QueryError),
    /// A named query's result lacks a column the report reads, or holds a value of another
    /// type: the SQL and this trendlake disagree.
    #[error(
        "query {query}: column {column} {problem}; the report reads the named queries as this trendlake ships them"
    )]
    Shape {
        query: &'static str,
        column: String,
        problem: String,
    },
    #[error("rendering the report's template {template}: {message}")]
    Template { template: String, message: String },
    #[error("cannot write the report: {0}")]
    Write(#[from] ReplaceError),
    #[error("publishing the report into the lake: {0}")]
    Lake(#[from] LakeError),
}

impl ReportError {
    /// Errors in what the user asked for (exit 2): nothing was written.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ReportError::NoSnapshot { .. } | ReportError::Warehouse(WarehouseError::Missing { .. })
        )
    }
}

/// Each kind of date not held to its variant: a missing date is the user's (exit 2, and `run
/// --report` skips the report), an empty warehouse is not.
impl From<NotHeld> for ReportError {
    fn from(e: NotHeld) -> Self {
        match e {
            NotHeld::Date { .. } => ReportError::NoSnapshot(e),
            NotHeld::Empty { .. } => ReportError::EmptyWarehouse(e),
        }
    }
}

/// A report ready to be written: its date and its page.
#[derive(Debug, Clone)]
pub struct Report {
    pub date: NaiveDate,
    pub html: String,
}

/// Where a report page is: standalone (`trendlake report --output`) or in the lake's
/// `_reports/` site, where it links back to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Standalone,
    Lake,
}

/// Make the report of `date` (default: the warehouse's latest snapshot) from the warehouse at
/// `warehouse`. Blocking (DuckDB): call it off the async runtime.
pub fn generate(
    warehouse: &Path,
    date: Option<NaiveDate>,
    placement: Placement,
) -> Result<Report, ReportError> {
    let data = load(warehouse, date)?;
    let html = render(&data, annotations::source_changes(), placement)?;
    Ok(Report {
        date: data.date,
        html,
    })
}

/// Write `html` to `path` whole (`fsutil::write_whole`): into a temporary file beside it,
/// fsynced and renamed over it once complete, so a reader (or a web server) never sees half a
/// page, nor a power cut an empty one.
pub fn write_file(path: &Path, html: &str) -> Result<(), ReportError> {
    Ok(write_whole(path, html.as_bytes())?)
}

/// What [`publish`] wrote.
#[derive(Debug, Clone)]
pub struct Published {
    /// The report page, as the user can find it (`s3://…/_reports/snapshot_date=D/report.html`).
    pub path: String,
    pub index: String,
    /// Every date the index lists.
    pub dates: Vec<NaiveDate>,
}

/// Put `report` into the lake as `_reports/snapshot_date=D/report.html`, then rewrite
/// `_reports/index.html` from the reports the lake holds (each write a whole-object put: atomic
/// locally and on S3).
///
/// Another run, of another date, may publish at the same moment, and an index written from a
/// listing taken before its page arrived would leave that date out. So the listing is taken
/// again after the index is written, and the index rewritten while it grows (a few rounds at
/// most: reports are only ever added). Whatever is left of that window, the next run's index
/// lists every date.
pub async fn publish(lake: &Lake, report: &Report) -> Result<Published, ReportError> {
    let path = lake.write_report(report.date, report.html.clone()).await?;
    let mut dates = listed_dates(lake, report.date).await?;
    let mut rounds = 0;
    let index = loop {
        let index = lake.write_report_index(render_index(&dates)?).await?;
        rounds += 1;
        let now = listed_dates(lake, report.date).await?;
        if now == dates || rounds == INDEX_ROUNDS {
            break index;
        }
        dates = now;
    };
    Ok(Published { path, index, dates })
}

/// Rewrite `_reports/index.html` from the reports the lake holds now (after `forget` moved some
/// aside); `None` when the lake has no index to rewrite. With no report left, the index is an
/// empty list.
pub async fn rewrite_index(lake: &Lake) -> Result<Option<String>, ReportError> {
    if lake.report_dates().await?.is_empty() && !lake.has_report_index().await? {
        return Ok(None);
    }
    let dates = lake.report_dates().await?;
    Ok(Some(lake.write_report_index(render_index(&dates)?).await?))
}

/// Make the report of `date` (default: the warehouse's latest snapshot) from `warehouse` and
/// publish it into the lake's `_reports/` ([`publish`]): what `run --report` and
/// `report --publish` do.
pub async fn make_and_publish(
    lake: &Lake,
    warehouse: &std::path::Path,
    date: Option<NaiveDate>,
) -> Result<Published, ReportError> {
    let path = warehouse.to_path_buf();
    let page = tokio::task::spawn_blocking(move || generate(&path, date, Placement::Lake))
        .await
        .expect("the report does not panic")?;
    publish(lake, &page).await
}

/// Index writes at most per publish: the first, and rewrites for dates that appeared meanwhile.
const INDEX_ROUNDS: usize = 3;

/// The dates with a report in the lake, `written` among them.
async fn listed_dates(lake: &Lake, written: NaiveDate) -> Result<Vec<NaiveDate>, ReportError> {
    let mut dates = lake.report_dates().await?;
    if !dates.contains(&written) {
        // A listing may lag a put on some stores; the page just written belongs in the index.
        dates.push(written);
        dates.sort();
    }
    Ok(dates)
}
