//! The raw archive: the API's pages of every committed region, kept as received (gzip) so that
//! history can be re-derived when a parser is fixed (`trendlake rebuild`), without the API.
//!
//! Layout: `raw/snapshot_date=D/region=R/page-N.json.gz`, and beside them `manifest.json`, written
//! last, which names the pages that make the region's chart, when each was received and its
//! size and CRC-32. A region's pages are written before the Parquet commit; the manifest is
//! removed before new pages replace old ones, so pages without a manifest are an incomplete
//! write (a crash), never mistaken for a chart. Replay goes through the same
//! [`ChartAssembler`] as the fetch, so it gives the same rows.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use arrow::array::RecordBatch;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError};
use crate::record::{ChartAssembler, RecordError};
use crate::youtube::model::VideoListResponse;

/// The manifest format this trendlake writes and reads.
const MANIFEST_FORMAT: u32 = 1;

/// One page as received, compressed, ready for the archive.
#[derive(Debug, Clone)]
pub struct RawPage {
    /// 1-based page number within the region's chart.
    pub page: usize,
    pub fetched_at: DateTime<Utc>,
    /// Items the page held (before any cut or repeat was dropped).
    pub items: usize,
    /// The body's size and CRC-32, uncompressed.
    pub bytes: usize,
    pub crc32: u32,
    /// The body, gzip-compressed.
    pub gz: Bytes,
}

impl RawPage {
    pub fn new(page: usize, fetched_at: DateTime<Utc>, items: usize, body: &[u8]) -> Self {
        let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
        gz.write_all(body).expect("writing to memory cannot fail");
        Self {
            page,
            fetched_at,
            items,
            bytes: body.len(),
            crc32: crc32fast::hash(body),
            gz: Bytes::from(gz.finish().expect("writing to memory cannot fail")),
        }
    }
}

/// `manifest.json` of one region of one date (stable serde names: other tools may read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub snapshot_date: NaiveDate,
    pub region: String,
    /// The run that fetched the pages.
    pub run_id: String,
    /// The chart length asked for (`--per-region`): replay cuts the chart where the fetch did.
    pub per_region: usize,
    /// Rows the pages gave.
    pub rows: usize,
    pub pages: Vec<ManifestPage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPage {
    pub page: usize,
    pub file: String,
    /// When the page was received, to the nanosecond: the rows' `fetched_at`.
    pub fetched_at: DateTime<Utc>,
    pub items: usize,
    pub bytes: usize,
    pub crc32: u32,
}

/// Why raw pages cannot be replayed, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("{path}: not a trendlake raw manifest ({source}); move it aside or re-run the date")]
    Manifest {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: manifest format {found}, this trendlake reads {MANIFEST_FORMAT}")]
    Format { path: String, found: u32 },
    #[error(
        "{path}: {problem}; the region's raw pages are incomplete, re-run the date to fetch them again"
    )]
    Damaged { path: String, problem: String },
    #[error("{path}: the page no longer parses as a videoListResponse ({source})")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
}

fn region_dir(date: NaiveDate, region: &str) -> String {
    format!("raw/snapshot_date={date}/region={region}")
}

/// Archive a region's pages, replacing whatever an earlier run kept for it.
pub async fn write_region(
    lake: &Lake,
    date: NaiveDate,
    run_id: &str,
    region: &str,
    per_region: usize,
    rows: usize,
    pages: &[RawPage],
) -> Result<(), LakeError> {
    let dir = region_dir(date, region);
    let manifest_path = lake.path(&format!("{dir}/manifest.json"));
    // First, so that from here until the new manifest is in place the pages read as incomplete.
    lake.delete(&manifest_path).await?;
    lake.remove_staged(&lake.path(&dir))?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        snapshot_date: date,
        region: region.to_string(),
        run_id: run_id.to_string(),
        per_region,
        rows,
        pages: pages
            .iter()
            .map(|p| ManifestPage {
                page: p.page,
                file: format!("page-{}.json.gz", p.page),
                fetched_at: p.fetched_at,
                items: p.items,
                bytes: p.bytes,
                crc32: p.crc32,
            })
            .collect(),
    };
    for (page, entry) in pages.iter().zip(&manifest.pages) {
        lake.put(
            &lake.path(&format!("{dir}/{}", entry.file)),
            page.gz.clone(),
        )
        .await?;
        if page.page == 1 {
            crate::pause::at("raw").await;
        }
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    lake.put(&manifest_path, Bytes::from(json)).await?;
    // Pages of an earlier, longer fetch that this one did not replace.
    let keep: Vec<&str> = manifest.pages.iter().map(|p| p.file.as_str()).collect();
    for meta in lake.list(&lake.path(&dir)).await? {
        let name = meta.location.filename().unwrap_or_default();
        if name != "manifest.json" && !keep.contains(&name) {
            lake.delete(&meta.location).await?;
        }
    }
    Ok(())
}

/// The regions of `date` whose raw pages are complete (have a manifest), in order.
pub async fn regions(lake: &Lake, date: NaiveDate) -> Result<Vec<String>, LakeError> {
    let prefix = lake.path(&format!("raw/snapshot_date={date}"));
    let mut regions: Vec<String> = lake
        .list(&prefix)
        .await?
        .iter()
        .filter(|m| m.location.filename() == Some("manifest.json"))
        .filter_map(|m| {
            m.location
                .parts()
                .find_map(|p| p.as_ref().strip_prefix("region=").map(str::to_string))
        })
        .collect();
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// Every date that has raw pages, in order.
pub async fn dates(lake: &Lake) -> Result<Vec<NaiveDate>, LakeError> {
    let mut dates: Vec<NaiveDate> = lake
        .list(&lake.path("raw"))
        .await?
        .iter()
        .filter_map(|m| {
            m.location.parts().find_map(|p| {
                let d = p.as_ref().strip_prefix("snapshot_date=")?;
                NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
            })
        })
        .collect();
    dates.sort();
    dates.dedup();
    Ok(dates)
}

/// A region's manifest, or `None` when it has none.
pub async fn manifest(
    lake: &Lake,
    date: NaiveDate,
    region: &str,
) -> Result<Option<Manifest>, RawError> {
    let path = lake.path(&format!("{}/manifest.json", region_dir(date, region)));
    let Some(bytes) = lake.get(&path).await? else {
        return Ok(None);
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|source| RawError::Manifest {
            path: lake.display(&path),
            source,
        })?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(RawError::Format {
            path: lake.display(&path),
            found: manifest.format,
        });
    }
    Ok(Some(manifest))
}

/// Re-derive a region's rows from its raw pages; `None` when it has no complete raw pages.
pub async fn replay_region(
    lake: &Lake,
    date: NaiveDate,
    region: &str,
) -> Result<Option<RecordBatch>, RawError> {
    let Some(manifest) = manifest(lake, date, region).await? else {
        return Ok(None);
    };
    let dir = region_dir(date, region);
    let mut chart = ChartAssembler::new(region, manifest.per_region);
    for entry in &manifest.pages {
        let path = lake.path(&format!("{dir}/{}", entry.file));
        let shown = lake.display(&path);
        let damaged = |problem: String| RawError::Damaged {
            path: shown.clone(),
            problem,
        };
        let gz = lake
            .get(&path)
            .await?
            .ok_or_else(|| damaged("the manifest names it, but it is missing".into()))?;
        let mut body = Vec::with_capacity(entry.bytes);
        GzDecoder::new(&gz[..])
            .read_to_end(&mut body)
            .map_err(|e| damaged(format!("not gzip, or cut short ({e})")))?;
        if body.len() != entry.bytes || crc32fast::hash(&body) != entry.crc32 {
            return Err(damaged(format!(
                "{} bytes with CRC-32 {:08x}, the manifest says {} bytes with {:08x} (another run replaced it)",
                body.len(),
                crc32fast::hash(&body),
                entry.bytes,
                entry.crc32
            )));
        }
        let response: VideoListResponse =
            serde_json::from_slice(&body).map_err(|source| RawError::Json {
                path: shown.clone(),
                source,
            })?;
        chart.push(response.items, entry.fetched_at)?;
    }
    Ok(Some(chart.finish()))
}

/// Every region of `date` with complete raw pages, replayed (a few regions at a time).
pub async fn replay_date(
    lake: &Lake,
    date: NaiveDate,
) -> Result<BTreeMap<String, RecordBatch>, RawError> {
    let regions = regions(lake, date).await?;
    futures::stream::iter(regions)
        .map(|region| async move {
            let batch = replay_region(lake, date, &region).await?;
            Ok::<_, RawError>(batch.map(|b| (region, b)))
        })
        .buffered(4)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_round_trips_through_gzip() {
        let body = br#"{"items":[]}"#;
        let page = RawPage::new(1, Utc::now(), 0, body);
        let mut out = Vec::new();
        GzDecoder::new(&page.gz[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, body);
        assert_eq!(page.bytes, body.len());
        assert_eq!(page.crc32, crc32fast::hash(body));
    }

    #[test]
    fn the_manifest_keeps_its_field_names_and_nanoseconds() {
        let at: DateTime<Utc> = "2026-11-25T03:00:01.123456789Z".parse().unwrap();
        let manifest = Manifest {
            format: 1,
            snapshot_date: "2026-11-25".parse().unwrap(),
            region: "JP".into(),
            run_id: "r".into(),
            per_region: 200,
            rows: 1,
            pages: vec![ManifestPage {
                page: 1,
                file: "page-1.json.gz".into(),
                fetched_at: at,
                items: 1,
                bytes: 10,
                crc32: 7,
            }],
        };
        let json = serde_json::to_value(&manifest).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "format": 1, "snapshot_date": "2026-11-25", "region": "JP", "run_id": "r",
                "per_region": 200, "rows": 1,
                "pages": [{"page": 1, "file": "page-1.json.gz",
                           "fetched_at": "2026-11-25T03:00:01.123456789Z",
                           "items": 1, "bytes": 10, "crc32": 7}]
            })
        );
        let back: Manifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, manifest);
    }
}
