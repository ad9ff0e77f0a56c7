//! `rebuild`: the pipeline started from the raw archive instead of the API. Each date's committed
//! regions are replayed from exactly the raw pages their commit names (`commit::lineage_of`)
//! through the same record code as the fetch, and committed like a fetch's (other regions of the
//! date kept), so an untouched date comes out byte-identical. Pages no commit named (a run that
//! died, or lost its commit) are never read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use tracing::{info, warn};

use crate::commit::{self, Region};
use crate::error::{Error, Result};
use crate::lake::{Lake, partition_date};

/// One date rebuilt.
#[derive(Debug, Clone, Serialize)]
pub struct RebuiltDate {
    pub date: NaiveDate,
    /// Charts re-derived from raw pages, by key (a region code for its general chart).
    pub regions: Vec<String>,
    pub rows: usize,
    /// The rebuilt file equals the one in place, which was left as it was.
    pub unchanged: bool,
    /// The date's `tracked` file, re-derived from the lookups it names: its rows (absent when
    /// the date has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracked_rows: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildReport {
    pub dates: Vec<RebuiltDate>,
}

/// Rebuild every committed date within `from..=to` (either end open) from its raw pages.
pub async fn rebuild(
    lake: &Lake,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
) -> Result<RebuildReport> {
    let dates: Vec<NaiveDate> = committed_dates(lake)
        .await?
        .into_iter()
        .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
        .collect();
    let asked = match (from, to) {
        (Some(f), Some(t)) if f == t => f.to_string(),
        (f, t) => format!(
            "{} to {}",
            f.map_or("the first date".to_string(), |d| d.to_string()),
            t.map_or("the last date".to_string(), |d| d.to_string())
        ),
    };
    let mut report = RebuildReport::default();
    for date in dates {
        let (lineage, origin) = commit::lineage_of(lake, date).await?;
        if lineage.is_empty() {
            warn!(%date, "no committed region of this date has raw pages to rebuild from");
            continue;
        }
        let mut regions = BTreeMap::new();
        for (region, source) in lineage {
            let batch = crate::raw::replay(lake, &source)
                .await
                .map_err(|e| Error::Raw(Box::new(e)))?;
            let source = Some(source);
            regions.insert(region, Region { batch, source });
        }
        let names: Vec<String> = regions.keys().cloned().collect();
        let rows = regions.values().map(|r| r.batch.num_rows()).sum();
        let commit = commit::commit(lake, date, regions, "rebuild").await?;
        info!(%date, rows, unchanged = commit.unchanged, ?origin, "rebuilt from raw pages");
        let tracked = crate::track::rebuild(lake, date).await?;
        report.dates.push(RebuiltDate {
            date,
            regions: names,
            rows,
            unchanged: commit.unchanged,
            tracked_rows: tracked,
        });
    }
    if report.dates.is_empty() {
        return Err(Error::NoRawPages {
            lake: lake.url().to_string(),
            dates: asked,
        });
    }
    Ok(report)
}

/// Every date the lake has a commit of: a snapshot, a commit record, or (a lake written before
/// commit records) a region's own manifest.
async fn committed_dates(lake: &Lake) -> Result<BTreeSet<NaiveDate>> {
    let mut dates = BTreeSet::new();
    for top in ["videos", "_commits", "raw"] {
        for listed in lake.list_under(top).await? {
            let parts = listed.parts();
            let date = match parts.as_slice() {
                ["raw", ..] => crate::raw::RawKey::parse(&parts)
                    .filter(|k| k.run.is_none() && k.file == "manifest.json")
                    .map(|k| k.date),
                [_, dir, _] => partition_date(dir),
                _ => None,
            };
            dates.extend(date);
        }
    }
    Ok(dates)
}
