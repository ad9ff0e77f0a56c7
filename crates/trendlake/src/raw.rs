//! The raw archive: the API's pages of every region a run fetched, kept as received (gzip), so
//! that history can be re-derived when a parser is fixed (`trendlake rebuild`), without the API.
//!
//! Layout: every run writes under a directory no other run writes,
//! `raw/snapshot_date=D/region=R/run=<run id>/` for a region's general chart and
//! `raw/snapshot_date=D/region=R/category=C/run=<run id>/` for its chart of category `C`: its `page-N.json.gz`, then `manifest.json` last
//! (which pages make the chart, when each was received, each page's size, CRC-32 and SHA-256).
//! A directory without a manifest is a write a crash cut short. A committed snapshot names, per
//! region, the run whose pages it came from and the SHA-256 of that run's manifest (`lake::Source`);
//! replay reads exactly those pages and checks every digest on the way, so pages of a run that
//! died or lost its commit can never stand in for the committed ones.
//!
//! Lakes written before runs had directories of their own keep their pages in the region's
//! directory itself (manifest format 1): read and replayed as before, never written.
//!
//! Replay goes through the same [`ChartAssembler`] as the fetch, so it gives the same rows.

use std::io::{Read, Write};

use arrow::array::RecordBatch;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::lake::codec::sha256_hex;
use crate::lake::{ContentType, Lake, LakeError, Source};
use crate::record::{ChartAssembler, RecordError};
use crate::youtube::model::VideoListResponse;

/// The manifest format this trendlake writes (2: in a run's own directory, with SHA-256s); it
/// reads 1 and 2.
const MANIFEST_FORMAT: u32 = 2;

/// One page as received, compressed, ready for the archive.
#[derive(Debug, Clone)]
pub struct RawPage {
    /// 1-based page number within the region's chart.
    pub page: usize,
    pub fetched_at: DateTime<Utc>,
    /// Items the page held (before any cut or repeat was dropped).
    pub items: usize,
    /// The body's size, CRC-32 and SHA-256, uncompressed.
    pub bytes: usize,
    pub crc32: u32,
    pub sha256: String,
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
            sha256: sha256_hex(body),
            gz: Bytes::from(gz.finish().expect("writing to memory cannot fail")),
        }
    }
}

/// `manifest.json` of one region fetched by one run (stable serde names: other tools may read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub snapshot_date: NaiveDate,
    pub region: String,
    /// The chart's category (absent: the region's general chart, as in every manifest written
    /// before category charts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
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
    /// The body's SHA-256 (format 2; format 1 has the CRC-32 alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Why raw pages cannot be replayed, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(
        "{path}: not a trendlake raw manifest ({source}); move it aside (`rebuild` cannot use it)"
    )]
    Manifest {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// Written by a newer trendlake: refused, never rewritten (exit 2).
    #[error(
        "{path}: raw manifest format {found}, newer than {MANIFEST_FORMAT}, the newest this trendlake reads: upgrade trendlake; nothing was changed"
    )]
    Newer { path: String, found: u32 },
    #[error(
        "{path}: {problem}; the region's raw pages cannot be replayed (the API serves only today's chart, so only today's date can be fetched again)"
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

impl RawError {
    pub fn is_usage(&self) -> bool {
        match self {
            RawError::Newer { .. } => true,
            RawError::Lake(e) => e.is_usage(),
            _ => false,
        }
    }
}

/// Where one object of the raw archive sits in the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKey {
    pub date: NaiveDate,
    /// The chart's key (`JP`, `JP/25`: see [`crate::chart`]).
    pub region: String,
    /// The run's directory (`None`: the region's directory itself, format 1).
    pub run: Option<String>,
    /// `manifest.json` or `page-N.json.gz`.
    pub file: String,
}

impl RawKey {
    /// The raw object at `parts` (a path relative to the lake's root), if it is one of the layout.
    pub fn parse(parts: &[&str]) -> Option<Self> {
        let (date, region, category, run, file) = match parts {
            ["raw", d, r, file] => (d, r, None, None, file),
            ["raw", d, r, run, file] => (d, r, None, Some(run.strip_prefix("run=")?), file),
            ["raw", d, r, c, run, file] => (
                d,
                r,
                Some(c.strip_prefix("category=")?),
                Some(run.strip_prefix("run=")?),
                file,
            ),
            _ => return None,
        };
        let date =
            NaiveDate::parse_from_str(date.strip_prefix("snapshot_date=")?, "%Y-%m-%d").ok()?;
        let region = region.strip_prefix("region=")?;
        let is_page = file.starts_with("page-") && file.ends_with(".json.gz");
        let bad_category =
            category.is_some_and(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()));
        if region.is_empty()
            || bad_category
            || run == Some("")
            || !(*file == "manifest.json" || is_page)
        {
            return None;
        }
        Some(Self {
            date,
            region: crate::chart::key(region, category.unwrap_or(crate::chart::GENERAL)),
            run: run.map(str::to_string),
            file: file.to_string(),
        })
    }

    /// The directory holding the object, relative to the lake's root.
    pub fn dir(&self) -> String {
        match &self.run {
            Some(run) => run_dir(self.date, &self.region, run),
            None => region_dir(self.date, &self.region),
        }
    }
}

/// The directory of one chart's raw pages (`chart` a key: see [`crate::chart`]).
fn region_dir(date: NaiveDate, chart: &str) -> String {
    match crate::chart::split(chart) {
        (region, crate::chart::GENERAL) => format!("raw/snapshot_date={date}/region={region}"),
        (region, category) => {
            format!("raw/snapshot_date={date}/region={region}/category={category}")
        }
    }
}

/// A run's directory of one chart, relative to the lake's root.
pub fn run_dir(date: NaiveDate, chart: &str, run_id: &str) -> String {
    format!("{}/run={run_id}", region_dir(date, chart))
}

/// The manifest a lake written before runs had their own directories keeps for a region.
pub fn legacy_manifest(date: NaiveDate, region: &str) -> String {
    format!("{}/manifest.json", region_dir(date, region))
}

/// Archive a region's pages under the run's own directory, manifest last, and return the
/// [`Source`] that binds a commit to them. Nothing another run wrote is touched.
pub async fn write_region(
    lake: &Lake,
    date: NaiveDate,
    run_id: &str,
    region: &str,
    per_region: usize,
    rows: usize,
    pages: &[RawPage],
) -> Result<Source, LakeError> {
    let dir = run_dir(date, region, run_id);
    let (code, category) = crate::chart::split(region);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        snapshot_date: date,
        region: code.to_string(),
        category: crate::chart::api_category(region).map(|_| category.to_string()),
        run_id: run_id.to_string(),
        per_region,
        rows,
        pages: pages.iter().map(ManifestPage::of).collect(),
    };
    put_pages(lake, &dir, pages).await?;
    put_manifest(lake, &dir, run_id, rows, &manifest).await
}

impl ManifestPage {
    /// The manifest's entry for `page`.
    fn of(page: &RawPage) -> Self {
        Self {
            page: page.page,
            file: format!("page-{}.json.gz", page.page),
            fetched_at: page.fetched_at,
            items: page.items,
            bytes: page.bytes,
            crc32: page.crc32,
            sha256: Some(page.sha256.clone()),
        }
    }
}

/// Put `pages` into `dir` (`page-N.json.gz`), the manifest not yet.
async fn put_pages(lake: &Lake, dir: &str, pages: &[RawPage]) -> Result<(), LakeError> {
    use futures::{StreamExt, TryStreamExt};
    let Some((first, rest)) = pages.split_first() else {
        return Ok(());
    };
    let put = |page: &RawPage| {
        let path = lake.path(&format!("{dir}/page-{}.json.gz", page.page));
        let gz = page.gz.clone();
        async move { lake.put(&path, gz, ContentType::Gzip).await }
    };
    put(first).await?;
    crate::pause::at("raw").await;
    // The rest a few at a time: a night's hundred lookups are a hundred puts on S3.
    futures::stream::iter(rest)
        .map(put)
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Put `manifest` into `dir`, last, and return the [`Source`] that binds a file to it.
async fn put_manifest(
    lake: &Lake,
    dir: &str,
    run_id: &str,
    rows: usize,
    manifest: &impl Serialize,
) -> Result<Source, LakeError> {
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    let source = Source {
        run_id: run_id.to_string(),
        manifest: format!("{dir}/manifest.json"),
        manifest_sha256: sha256_hex(&json),
        rows,
    };
    lake.put(
        &lake.path(&source.manifest),
        Bytes::from(json),
        ContentType::Json,
    )
    .await?;
    Ok(source)
}

/// The directory of one run's lookups by id (the tracking stage) of `date`, relative to the
/// lake's root.
pub fn lookups_dir(date: NaiveDate, run_id: &str) -> String {
    format!("raw/snapshot_date={date}/tracked/run={run_id}")
}

/// The format of a lookups manifest this trendlake writes and reads.
const LOOKUPS_FORMAT: u32 = 1;

/// `manifest.json` of one run's lookups by id (stable serde names): each page with the ids it
/// asked for, since the answer leaves out the videos that are gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupsManifest {
    pub format: u32,
    pub snapshot_date: NaiveDate,
    pub run_id: String,
    /// Rows the pages gave: one per id asked for.
    pub rows: usize,
    pub pages: Vec<LookupPage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupPage {
    #[serde(flatten)]
    pub page: ManifestPage,
    /// The videos the lookup asked for, in the order asked.
    pub asked: Vec<Asked>,
}

/// A video a lookup asked for, with what the tracking stage knew of it: the last date it was on
/// one of the run's regions' charts (so a replay needs no snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asked {
    pub video_id: String,
    pub last_charted: NaiveDate,
}

/// Archive a run's lookups (each page with the ids it asked for) under the run's own
/// directory, manifest last, and return the [`Source`] that binds the `tracked` file to them.
pub async fn write_lookups(
    lake: &Lake,
    date: NaiveDate,
    run_id: &str,
    rows: usize,
    pages: &[(RawPage, Vec<Asked>)],
) -> Result<Source, LakeError> {
    let dir = lookups_dir(date, run_id);
    let manifest = LookupsManifest {
        format: LOOKUPS_FORMAT,
        snapshot_date: date,
        run_id: run_id.to_string(),
        rows,
        pages: pages
            .iter()
            .map(|(page, asked)| LookupPage {
                page: ManifestPage::of(page),
                asked: asked.clone(),
            })
            .collect(),
    };
    let raw: Vec<RawPage> = pages.iter().map(|(page, _)| page.clone()).collect();
    put_pages(lake, &dir, &raw).await?;
    put_manifest(lake, &dir, run_id, rows, &manifest).await
}

/// The manifest at `manifest` (relative to the lake's root) and its SHA-256, or `None` when
/// there is none.
pub async fn read_manifest(
    lake: &Lake,
    manifest: &str,
) -> Result<Option<(Manifest, String)>, RawError> {
    let path = lake.path(manifest);
    let Some(bytes) = lake.get(&path).await? else {
        return Ok(None);
    };
    let shown = || lake.display(&path);
    let unreadable = |source| RawError::Manifest {
        path: shown(),
        source,
    };
    let found = crate::lake::codec::json_format(&bytes).map_err(unreadable)?;
    if found > MANIFEST_FORMAT {
        return Err(RawError::Newer {
            path: shown(),
            found,
        });
    }
    let parsed: Manifest = serde_json::from_slice(&bytes).map_err(unreadable)?;
    Ok(Some((parsed, sha256_hex(&bytes))))
}

/// The source a lake written before lineage was recorded has for `region` of `date`: its
/// format-1 manifest, bound by the digest it has now. `None` when there is none.
pub async fn legacy_source(
    lake: &Lake,
    date: NaiveDate,
    region: &str,
) -> Result<Option<Source>, RawError> {
    let manifest = legacy_manifest(date, region);
    Ok(read_manifest(lake, &manifest)
        .await?
        .map(|(m, sha)| Source {
            run_id: m.run_id,
            manifest,
            manifest_sha256: sha,
            rows: m.rows,
        }))
}

/// Re-derive a region's rows from exactly the pages `source` names: its manifest must have the
/// recorded digest and every page its recorded size and digests.
pub async fn replay(lake: &Lake, source: &Source) -> Result<RecordBatch, RawError> {
    let manifest: Manifest = verified_manifest(lake, source, MANIFEST_FORMAT).await?;
    let key = crate::chart::key(
        &manifest.region,
        manifest
            .category
            .as_deref()
            .unwrap_or(crate::chart::GENERAL),
    );
    let mut chart = ChartAssembler::new(&key, manifest.per_region);
    for entry in &manifest.pages {
        let response = verified_page(lake, source, entry).await?;
        chart.push(response.items, entry.fetched_at)?;
    }
    let batch = chart.finish();
    rows_as_recorded(lake, source, batch.num_rows())?;
    Ok(batch)
}

/// The manifest `source` names, if it has the digest `source` recorded.
async fn verified_manifest<M: serde::de::DeserializeOwned>(
    lake: &Lake,
    source: &Source,
    newest: u32,
) -> Result<M, RawError> {
    let path = lake.path(&source.manifest);
    let shown = lake.display(&path);
    let Some(bytes) = lake.get(&path).await? else {
        return Err(RawError::Damaged {
            path: shown,
            problem: "the manifest the file names is missing".into(),
        });
    };
    let unreadable = |source| RawError::Manifest {
        path: shown.clone(),
        source,
    };
    // A newer trendlake's manifest is named as such (exit 2), whatever its digest.
    let found = crate::lake::codec::json_format(&bytes).map_err(unreadable)?;
    if found > newest {
        return Err(RawError::Newer {
            path: shown.clone(),
            found,
        });
    }
    let sha = sha256_hex(&bytes);
    if sha != source.manifest_sha256 {
        return Err(RawError::Damaged {
            path: shown,
            problem: format!(
                "its SHA-256 is {sha}, the file recorded {} (the manifest was replaced or damaged)",
                source.manifest_sha256
            ),
        });
    }
    serde_json::from_slice(&bytes).map_err(unreadable)
}

/// One page a manifest names, checked against the size and digests it records, parsed.
async fn verified_page(
    lake: &Lake,
    source: &Source,
    entry: &ManifestPage,
) -> Result<VideoListResponse, RawError> {
    let damaged = |path: String, problem: String| RawError::Damaged { path, problem };
    let dir = source
        .manifest
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir)
        .to_string();
    let path = lake.path(&format!("{dir}/{}", entry.file));
    let shown = lake.display(&path);
    let gz = lake.get(&path).await?.ok_or_else(|| {
        damaged(
            shown.clone(),
            "the manifest names it, but it is missing".into(),
        )
    })?;
    let mut body = Vec::with_capacity(entry.bytes);
    GzDecoder::new(&gz[..])
        .read_to_end(&mut body)
        .map_err(|e| damaged(shown.clone(), format!("not gzip, or cut short ({e})")))?;
    let sha_ok = entry
        .sha256
        .as_ref()
        .is_none_or(|s| *s == sha256_hex(&body));
    if body.len() != entry.bytes || crc32fast::hash(&body) != entry.crc32 || !sha_ok {
        return Err(damaged(
            shown,
            format!(
                "{} bytes with CRC-32 {:08x}, the manifest says {} bytes with {:08x}{} (replaced or damaged)",
                body.len(),
                crc32fast::hash(&body),
                entry.bytes,
                entry.crc32,
                if sha_ok { "" } else { " and another SHA-256" }
            ),
        ));
    }
    serde_json::from_slice(&body).map_err(|source| RawError::Json {
        path: shown,
        source,
    })
}

/// The pages gave the rows `source` recorded, or the manifest is damaged.
fn rows_as_recorded(lake: &Lake, source: &Source, rows: usize) -> Result<(), RawError> {
    if rows != source.rows {
        return Err(RawError::Damaged {
            path: lake.display(&lake.path(&source.manifest)),
            problem: format!(
                "its pages give {rows} rows, the file recorded {}",
                source.rows
            ),
        });
    }
    Ok(())
}

/// One lookup replayed from the archive: the videos it asked for and the answer.
#[derive(Debug, Clone)]
pub struct ReplayedLookup {
    pub page: usize,
    pub fetched_at: DateTime<Utc>,
    pub asked: Vec<Asked>,
    pub response: VideoListResponse,
}

/// Re-read exactly the lookups `source` names (a `tracked` file's lineage), every digest
/// checked; the caller derives the rows, and checks their number with [`check_rows`].
pub async fn replay_lookups(lake: &Lake, source: &Source) -> Result<Vec<ReplayedLookup>, RawError> {
    let manifest: LookupsManifest = verified_manifest(lake, source, LOOKUPS_FORMAT).await?;
    let mut out = Vec::with_capacity(manifest.pages.len());
    for entry in manifest.pages {
        let response = verified_page(lake, source, &entry.page).await?;
        out.push(ReplayedLookup {
            page: entry.page.page,
            fetched_at: entry.page.fetched_at,
            asked: entry.asked,
            response,
        });
    }
    Ok(out)
}

/// The rows derived from replayed pages are as many as `source` recorded.
pub fn check_rows(lake: &Lake, source: &Source, rows: usize) -> Result<(), RawError> {
    rows_as_recorded(lake, source, rows)
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
        assert_eq!(page.sha256, sha256_hex(body));
    }

    #[test]
    fn the_manifest_keeps_its_field_names_and_nanoseconds() {
        let at: DateTime<Utc> = "2026-11-25T03:00:01.123456789Z".parse().unwrap();
        let manifest = Manifest {
            format: 2,
            snapshot_date: "2026-11-25".parse().unwrap(),
            region: "JP".into(),
            category: None,
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
                sha256: Some("ab".repeat(32)),
            }],
        };
        let json = serde_json::to_value(&manifest).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "format": 2, "snapshot_date": "2026-11-25", "region": "JP", "run_id": "r",
                "per_region": 200, "rows": 1,
                "pages": [{"page": 1, "file": "page-1.json.gz",
                           "fetched_at": "2026-11-25T03:00:01.123456789Z",
                           "items": 1, "bytes": 10, "crc32": 7, "sha256": "ab".repeat(32)}]
            })
        );
        let back: Manifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, manifest);
        // Format 1 (no SHA-256) still reads.
        let old: Manifest = serde_json::from_value(serde_json::json!({
            "format": 1, "snapshot_date": "2026-11-25", "region": "JP", "run_id": "r",
            "per_region": 200, "rows": 1,
            "pages": [{"page": 1, "file": "page-1.json.gz",
                       "fetched_at": "2026-11-25T03:00:01Z", "items": 1, "bytes": 10, "crc32": 7}]
        }))
        .unwrap();
        assert_eq!(old.pages[0].sha256, None);
    }

    #[test]
    fn raw_keys_follow_the_layout() {
        let key = |p: &str| RawKey::parse(&p.split('/').collect::<Vec<_>>());
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        assert_eq!(
            key("raw/snapshot_date=2026-11-20/region=JP/run=abc/page-1.json.gz"),
            Some(RawKey {
                date: day,
                region: "JP".into(),
                run: Some("abc".into()),
                file: "page-1.json.gz".into()
            })
        );
        assert_eq!(
            key("raw/snapshot_date=2026-11-20/region=JP/manifest.json")
                .unwrap()
                .dir(),
            "raw/snapshot_date=2026-11-20/region=JP"
        );
        assert_eq!(
            key("raw/snapshot_date=2026-11-20/region=JP/run=abc/manifest.json")
                .unwrap()
                .dir(),
            run_dir(day, "JP", "abc")
        );
        for stray in [
            "raw/snapshot_date=2026-11-20/region=JP/notes.txt",
            "raw/snapshot_date=2026-11-20/region=JP/run=/manifest.json",
            "raw/snapshot_date=2026-11-20/region=JP/x/manifest.json",
            "raw/snapshot_date=20261120/region=JP/manifest.json",
            "raw/snapshot_date=2026-11-20/manifest.json",
        ] {
            assert_eq!(key(stray), None, "{stray}");
        }
    }

    #[tokio::test]
    async fn replay_reads_exactly_the_pages_the_source_names() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().display().to_string()).unwrap();
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        let body = |id: &str| {
            format!(
                r#"{{"kind":"youtube#videoListResponse","items":[{{"id":"{id}","snippet":{{"publishedAt":"2026-11-19T00:00:00Z","title":"t","channelId":"c","channelTitle":"ct","categoryId":"10","liveBroadcastContent":"none"}}}}],"pageInfo":{{"totalResults":1,"resultsPerPage":1}}}}"#
            )
        };
        let at = Utc::now();
        let first = write_region(
            &lake,
            day,
            "run-a",
            "JP",
            200,
            1,
            &[RawPage::new(1, at, 1, body("a").as_bytes())],
        )
        .await
        .unwrap();
        // A second run of the date writes beside it, never over it.
        let second = write_region(
            &lake,
            day,
            "run-b",
            "JP",
            200,
            1,
            &[RawPage::new(1, at, 1, body("b").as_bytes())],
        )
        .await
        .unwrap();
        assert_ne!(first.manifest, second.manifest);
        let id = |batch: &RecordBatch| {
            use arrow::array::AsArray;
            batch.column(2).as_string::<i32>().value(0).to_string()
        };
        assert_eq!(id(&replay(&lake, &first).await.unwrap()), "a");
        assert_eq!(id(&replay(&lake, &second).await.unwrap()), "b");

        // A manifest that is not the one recorded is refused, whatever it says.
        let forged = Source {
            manifest_sha256: second.manifest_sha256.clone(),
            ..first.clone()
        };
        let error = replay(&lake, &forged).await.unwrap_err();
        assert!(error.to_string().contains("replaced or damaged"), "{error}");
        // So is a page replaced under its manifest.
        let page = lake.path(&format!("{}/page-1.json.gz", run_dir(day, "JP", "run-a")));
        lake.put(
            &page,
            RawPage::new(1, at, 1, body("x").as_bytes()).gz,
            ContentType::Gzip,
        )
        .await
        .unwrap();
        assert!(matches!(
            replay(&lake, &first).await,
            Err(RawError::Damaged { .. })
        ));
        // A manifest of a newer format is named as such.
        let newer = "raw/snapshot_date=2026-11-20/region=KR/run=z/manifest.json";
        lake.put(
            &lake.path(newer),
            Bytes::from_static(br#"{"format": 3}"#),
            ContentType::Json,
        )
        .await
        .unwrap();
        let error = read_manifest(&lake, newer).await.unwrap_err();
        assert!(error.is_usage(), "{error:?}");
        assert!(error.to_string().contains("upgrade trendlake"), "{error}");
    }
}
