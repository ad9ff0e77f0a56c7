//! The snapshot file's format: Parquet in the `videos` schema, plus trendlake's key-value
//! metadata, which makes a file say what it is and where it came from:
//!
//! - `trendlake.schema_version`: the columns' version ([`SCHEMA_VERSION`]); a newer one is
//!   refused, never rewritten ([`DecodeError::Newer`]).
//! - `trendlake.content_sha256`: the SHA-256 of the file's bytes up to the end of its last row
//!   group, i.e. of every row as encoded. The file's identity: a copy of the file (another inode,
//!   mtime or ETag) has the same one, a changed row gives another. Checked on every read, so a
//!   damaged data page is caught even where Parquet itself has no checksum.
//! - `trendlake.lineage`: per region, the run whose raw pages the rows were derived from and the
//!   digest of that run's manifest ([`Lineage`]).
//!
//! Files written before the digest and the lineage were recorded stay readable: their identity is
//! the SHA-256 of the whole file, and their regions have no recorded source.

use std::collections::BTreeMap;
use std::io::Write;

use arrow::array::{AsArray, RecordBatch, StringArray};
use arrow::compute::kernels::cmp::eq;
use arrow::compute::{concat_batches, filter_record_batch};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, ParquetMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::record::{SCHEMA_VERSION, schema};

const KEY_VERSION: &str = "trendlake.schema_version";
const KEY_WRITER: &str = "trendlake.writer";
const KEY_CONTENT: &str = "trendlake.content_sha256";
const KEY_LINEAGE: &str = "trendlake.lineage";

/// The lineage format this trendlake writes and reads.
const LINEAGE_FORMAT: u32 = 1;

const WRITER: &str = concat!("trendlake ", env!("CARGO_PKG_VERSION"));

/// Where one region's rows came from: a run's raw pages, named by the run's manifest and bound
/// to it by the manifest's digest (stable serde names: other tools may read them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The run that fetched the pages.
    pub run_id: String,
    /// The manifest, relative to the lake's root
    /// (`raw/snapshot_date=D/region=R/run=<run id>/manifest.json`).
    pub manifest: String,
    /// SHA-256 of the manifest's bytes as stored, in hex.
    pub manifest_sha256: String,
    /// Rows the pages gave: the region's rows in the snapshot.
    pub rows: usize,
}

/// Every region's [`Source`] (a region without one was committed without raw pages, or before
/// lineage was recorded).
pub type Lineage = BTreeMap<String, Source>;

/// The `trendlake.lineage` value.
#[derive(Debug, Serialize, Deserialize)]
struct LineageRecord {
    format: u32,
    regions: Lineage,
}

/// Why bytes are not a snapshot this trendlake can read ([`decode_snapshot`]); the lake wraps it
/// with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not Parquet, or damaged: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(
        "not a trendlake snapshot (schema version {found:?}, this trendlake writes {SCHEMA_VERSION})"
    )]
    SchemaVersion { found: Option<String> },
    /// Written by a newer trendlake: never quarantined or rewritten by this one.
    #[error(
        "schema version {found}, newer than {SCHEMA_VERSION}, the newest this trendlake ({WRITER}) reads"
    )]
    Newer { found: String },
    #[error("its columns differ from the videos schema")]
    Columns,
    #[error("it holds no rows, which no trendlake commit writes")]
    Empty,
    #[error("{0} row(s) have no region, which no trendlake commit writes")]
    NullRegion(usize),
    #[error("its recorded lineage cannot be read ({0})")]
    Lineage(String),
    #[error(
        "its rows do not match the digest recorded when it was written (SHA-256 {found}, recorded {recorded}): damaged after it was written"
    )]
    Digest { found: String, recorded: String },
    #[error("its rows cannot be split by region: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl DecodeError {
    /// A file of a newer trendlake: refused, never moved aside or replaced.
    pub fn is_newer(&self) -> bool {
        matches!(self, DecodeError::Newer { .. })
    }
}

/// A snapshot file as encoded: its bytes and its identity.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Bytes,
    pub content_sha256: String,
}

/// A snapshot file decoded: one batch per region (in region order), their sources, and the
/// file's identity.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub regions: BTreeMap<String, RecordBatch>,
    pub lineage: Lineage,
    pub content_sha256: String,
    /// The file recorded its digest (and lineage) when written; `false` for one written before
    /// they were, whose identity is its bytes' digest.
    pub recorded: bool,
}

/// A table of the lake stored in this format: its columns, their version, and the columns
/// written uncompressed (numbers, flags and codes: see [`encode_snapshot`]).
#[derive(Debug, Clone, Copy)]
pub struct TableFormat {
    pub schema: fn() -> arrow::datatypes::SchemaRef,
    pub version: u32,
    pub small_columns: &'static [&'static str],
    /// Older versions still read, each turned into the current columns as it is decoded.
    pub older: &'static [OlderFormat],
}

/// A version of a table's columns that files in the lake may still have.
#[derive(Debug, Clone, Copy)]
pub struct OlderFormat {
    pub version: u32,
    pub schema: fn() -> arrow::datatypes::SchemaRef,
    /// Its rows in the current columns.
    pub upgrade: fn(RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError>,
}

impl TableFormat {
    /// The columns of files of `version`, and how their rows become current ones (`None` for the
    /// current version).
    fn columns_of(&self, version: u32) -> Option<&OlderFormat> {
        self.older.iter().find(|o| o.version == version)
    }
}

/// The chart snapshots: `videos/snapshot_date=D/videos.parquet`.
pub const VIDEOS: TableFormat = TableFormat {
    schema,
    version: SCHEMA_VERSION,
    small_columns: SMALL_COLUMNS,
    older: &[OlderFormat {
        version: 1,
        schema: crate::record::schema_v1,
        upgrade: crate::record::upgrade_v1,
    }],
};

/// Columns written uncompressed (see [`encode_snapshot`]).
const SMALL_COLUMNS: &[&str] = &[
    "region",
    "chart_category",
    "rank",
    "category_id",
    "published_at",
    "duration_s",
    "live_broadcast_content",
    "view_count",
    "like_count",
    "comment_count",
    "default_language",
    "default_audio_language",
    "definition",
    "caption",
    "licensed_content",
    "fetched_at",
];

/// Bytes written, and their SHA-256 so far.
struct Hashing {
    out: Vec<u8>,
    sha: Sha256,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sha.update(buf);
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encode region batches (already in region order, each in rank order) as one Parquet file:
/// zstd, page statistics, one row group per region, and the key-value metadata above, with
/// `lineage` (the sources of the regions that have one).
pub fn encode_snapshot<'a>(
    regions: impl IntoIterator<Item = &'a RecordBatch>,
    lineage: &Lineage,
) -> Result<Encoded, parquet::errors::ParquetError> {
    encode_table(&VIDEOS, regions, lineage)
}

/// Encode `groups` (one row group each; empty ones skipped) as a file of `format`, with the
/// key-value metadata above.
pub fn encode_table<'a>(
    format: &TableFormat,
    groups: impl IntoIterator<Item = &'a RecordBatch>,
    lineage: &Lineage,
) -> Result<Encoded, parquet::errors::ParquetError> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        // Row groups end only where we flush: at region boundaries.
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(None)
        .set_created_by(WRITER.to_string())
        .set_key_value_metadata(Some(vec![
            KeyValue::new(KEY_VERSION.into(), format.version.to_string()),
            KeyValue::new(KEY_WRITER.into(), WRITER.to_string()),
        ]));
    // A region's numbers, flags and codes are a few hundred bytes per column: zstd saves next to
    // nothing on them, while each compressed column chunk costs a fresh zstd context (about 10%
    // of encoding time in the transform benchmark). Text columns, where the bytes are, stay zstd.
    for column in format.small_columns {
        props = props.set_column_compression(ColumnPath::from(*column), Compression::UNCOMPRESSED);
    }
    let sink = Hashing {
        out: Vec::new(),
        sha: Sha256::new(),
    };
    let mut writer = ArrowWriter::try_new(sink, (format.schema)(), Some(props.build()))?;
    for batch in groups {
        if batch.num_rows() > 0 {
            writer.write(batch)?;
            writer.flush()?;
        }
    }
    // Every row group is in the sink now (past the writer's buffer); what follows (page indexes,
    // the footer) is derived from them, and the footer will hold the digest itself.
    writer.sync()?;
    let content_sha256 = hex(&writer.inner().sha.clone().finalize());
    writer.append_key_value_metadata(KeyValue::new(KEY_CONTENT.into(), content_sha256.clone()));
    let record = LineageRecord {
        format: LINEAGE_FORMAT,
        regions: lineage.clone(),
    };
    writer.append_key_value_metadata(KeyValue::new(
        KEY_LINEAGE.into(),
        serde_json::to_string(&record).expect("lineage serialises"),
    ));
    let sink = writer.into_inner()?;
    Ok(Encoded {
        bytes: Bytes::from(sink.out),
        content_sha256,
    })
}

/// What a file's footer says about it, read without its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// The recorded content digest (`None`: written before digests were recorded).
    pub content_sha256: Option<String>,
    /// The version of the file's columns: the format's, or an older one it still reads.
    pub schema_version: u32,
}

/// The trendlake key-value metadata of a file: checks its schema version (the format's, or an
/// older one the format still reads).
fn read_footer(
    meta: &ParquetMetaData,
    format: &TableFormat,
) -> Result<(Footer, Option<String>), DecodeError> {
    let expected = format.version;
    let kv = meta.file_metadata().key_value_metadata();
    let get = |key: &str| {
        kv.and_then(|kv| kv.iter().find(|k| k.key == key))
            .and_then(|k| k.value.clone())
    };
    let version = get(KEY_VERSION);
    let schema_version = match version.as_deref().map(str::parse::<u32>) {
        Some(Ok(v)) if v == expected || format.columns_of(v).is_some() => v,
        Some(Ok(v)) if v > expected => {
            return Err(DecodeError::Newer {
                found: v.to_string(),
            });
        }
        _ => return Err(DecodeError::SchemaVersion { found: version }),
    };
    Ok((
        Footer {
            content_sha256: get(KEY_CONTENT),
            schema_version,
        },
        get(KEY_LINEAGE),
    ))
}

/// The footer of a file from its metadata alone (a ranged read), for telling whether a file is
/// the one a warehouse merged without reading its rows.
pub fn footer(meta: &ParquetMetaData) -> Result<Footer, DecodeError> {
    footer_as(&VIDEOS, meta)
}

/// [`footer`] of a file of `format`.
pub fn footer_as(format: &TableFormat, meta: &ParquetMetaData) -> Result<Footer, DecodeError> {
    Ok(read_footer(meta, format)?.0)
}

/// Decode a snapshot file into one batch per region, with its lineage and identity. Refuses
/// anything no trendlake commit writes: a foreign or newer schema version, other columns, no rows,
/// a row without a region, a lineage it cannot parse, rows that do not match their digest.
pub fn decode_snapshot(bytes: Bytes) -> Result<Decoded, DecodeError> {
    let (all, lineage, content_sha256, recorded) = decode_table(&VIDEOS, bytes)?;
    if all.num_rows() == 0 {
        return Err(DecodeError::Empty);
    }
    let nulls = all.column(0).null_count();
    if nulls > 0 {
        return Err(DecodeError::NullRegion(nulls));
    }
    Ok(Decoded {
        regions: split_by_chart(&all)?,
        lineage,
        content_sha256,
        recorded,
    })
}

/// Decode a file of `format`: its rows in one batch, its lineage, its identity and whether it
/// recorded that identity. Checks the version, the columns, the lineage and the digest.
pub fn decode_table(
    format: &TableFormat,
    bytes: Bytes,
) -> Result<(RecordBatch, Lineage, String, bool), DecodeError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
    let (footer, lineage) = read_footer(builder.metadata(), format)?;
    let older = format.columns_of(footer.schema_version);
    let recorded = footer.content_sha256.is_some();
    let content_sha256 = match footer.content_sha256 {
        Some(recorded) => {
            let end = data_end(builder.metadata()).min(bytes.len());
            let found = sha256_hex(&bytes[..end]);
            if found != recorded {
                return Err(DecodeError::Digest { found, recorded });
            }
            recorded
        }
        // Written before digests were recorded: the whole file is its identity.
        None => sha256_hex(&bytes),
    };
    let lineage = match lineage {
        Some(json) => {
            let record: LineageRecord =
                serde_json::from_str(&json).map_err(|e| DecodeError::Lineage(e.to_string()))?;
            if record.format > LINEAGE_FORMAT {
                return Err(DecodeError::Newer {
                    found: format!("{} (lineage format {})", format.version, record.format),
                });
            }
            record.regions
        }
        None => Lineage::new(),
    };
    let schema = older.map_or(format.schema, |o| o.schema)();
    if builder.schema().fields() != schema.fields() {
        return Err(DecodeError::Columns);
    }
    let reader = builder.with_batch_size(64 * 1024).build()?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let all = concat_batches(&schema, &batches)?;
    let all = match older {
        Some(o) => (o.upgrade)(all)?,
        None => all,
    };
    Ok((all, lineage, content_sha256, recorded))
}

/// Where the row groups end: the byte after the last column chunk. The content digest covers
/// the file up to here.
fn data_end(meta: &ParquetMetaData) -> usize {
    meta.row_groups()
        .iter()
        .flat_map(|rg| rg.columns())
        .map(|c| {
            let (start, len) = c.byte_range();
            (start + len) as usize
        })
        .max()
        // No row group: only the leading magic.
        .unwrap_or(4)
}

/// Split a batch in the current columns into one batch per chart, keyed by the chart's key
/// (`JP`, `JP/25`: see [`crate::chart`]).
pub fn split_by_chart(
    batch: &RecordBatch,
) -> Result<BTreeMap<String, RecordBatch>, arrow::error::ArrowError> {
    use arrow::compute::kernels::boolean::and;
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .map(|c| c.as_string::<i32>())
            .ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("no column {name}")))
    };
    let (region, category) = (column("region")?, column("chart_category")?);
    let mut charts: Vec<(&str, &str)> = region
        .iter()
        .flatten()
        .zip(category.iter().flatten())
        .collect();
    charts.sort_unstable();
    charts.dedup();
    let mut out = BTreeMap::new();
    for (r, c) in charts {
        let mask = and(
            &eq(region, &StringArray::new_scalar(r))?,
            &eq(category, &StringArray::new_scalar(c))?,
        )?;
        out.insert(crate::chart::key(r, c), filter_record_batch(batch, &mask)?);
    }
    Ok(out)
}

/// The `format` of a JSON document trendlake writes (a manifest, a commit record), read alone so
/// that one of a newer format is named as such even if its other fields changed.
pub fn json_format(bytes: &[u8]) -> Result<u32, serde_json::Error> {
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    Ok(serde_json::from_slice::<Format>(bytes)?.format)
}

/// SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Page, region_batch};
    use crate::youtube::model::{Snippet, Video};

    fn batch(region: &str, ids: &[&str]) -> RecordBatch {
        let items = ids
            .iter()
            .map(|id| Video {
                id: id.to_string(),
                snippet: Some(Snippet {
                    published_at: "2026-11-20T03:00:00Z".into(),
                    title: "t".into(),
                    ..Snippet::default()
                }),
                ..Video::default()
            })
            .collect();
        let page = Page {
            offset: 0,
            fetched_at: "2026-11-20T03:00:00Z".parse().unwrap(),
            items,
        };
        region_batch(region, &[page]).unwrap()
    }

    fn source(run: &str) -> Source {
        Source {
            run_id: run.into(),
            manifest: format!("raw/snapshot_date=2026-11-20/region=JP/run={run}/manifest.json"),
            manifest_sha256: "ab".repeat(32),
            rows: 2,
        }
    }

    /// Plain Parquet in the videos schema with the given key-value metadata.
    fn foreign(kv: Vec<KeyValue>, batch: &RecordBatch) -> Bytes {
        let props = WriterProperties::builder()
            .set_key_value_metadata(Some(kv))
            .build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, schema(), Some(props)).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
        Bytes::from(out)
    }

    #[test]
    fn a_snapshot_round_trips_with_its_lineage_and_identity() {
        let (jp, us) = (batch("JP", &["a", "b"]), batch("US", &["c"]));
        let lineage = Lineage::from([("JP".to_string(), source("r1"))]);
        let encoded = encode_snapshot([&jp, &us], &lineage).unwrap();
        assert_eq!(encoded.content_sha256.len(), 64);
        let decoded = decode_snapshot(encoded.bytes.clone()).unwrap();
        assert_eq!(decoded.regions.keys().collect::<Vec<_>>(), ["JP", "US"]);
        assert_eq!(decoded.regions["JP"], jp);
        assert_eq!(decoded.lineage, lineage);
        assert_eq!(decoded.content_sha256, encoded.content_sha256);
        assert!(decoded.recorded);

        // The identity is the rows': other lineage, same digest; another row, another digest.
        let relinked = encode_snapshot([&jp, &us], &Lineage::new()).unwrap();
        assert_ne!(relinked.bytes, encoded.bytes);
        assert_eq!(relinked.content_sha256, encoded.content_sha256);
        let other = encode_snapshot([&jp, &batch("US", &["d"])], &lineage).unwrap();
        assert_ne!(other.content_sha256, encoded.content_sha256);
        // Encoding is deterministic, so an untouched date re-derived is byte-identical.
        assert_eq!(
            encode_snapshot([&jp, &us], &lineage).unwrap().bytes,
            encoded.bytes
        );
    }

    #[test]
    fn a_version_1_file_reads_as_general_charts_and_encodes_as_it_was() {
        use crate::record::{schema_v1, upgrade_v1};
        // A version-1 file as trendlake wrote it before category charts: the same columns but
        // `chart_category`, and version 1 in its footer.
        let v1 = TableFormat {
            schema: schema_v1,
            version: 1,
            small_columns: SMALL_COLUMNS,
            older: &[],
        };
        let strip = |b: &RecordBatch| {
            RecordBatch::try_new(schema_v1(), b.columns()[..b.num_columns() - 1].to_vec()).unwrap()
        };
        let (jp, us) = (batch("JP", &["a", "b"]), batch("US", &["c"]));
        let old = encode_table(&v1, [&strip(&jp), &strip(&us)], &Lineage::new()).unwrap();
        let decoded = decode_snapshot(old.bytes.clone()).unwrap();
        assert_eq!(decoded.content_sha256, old.content_sha256);
        // Read in the current columns, every row on its region's general chart: equal to the
        // rows a version-2 file of the same charts holds.
        assert_eq!(decoded.regions.keys().collect::<Vec<_>>(), ["JP", "US"]);
        assert_eq!(decoded.regions["JP"], jp);
        assert_eq!(decoded.regions["US"], us);
        assert_eq!(upgrade_v1(strip(&jp)).unwrap(), jp);
        let meta = ParquetRecordBatchReaderBuilder::try_new(old.bytes)
            .unwrap()
            .metadata()
            .clone();
        assert_eq!(footer(&meta).unwrap().schema_version, 1);
    }

    #[test]
    fn a_category_chart_is_its_own_row_group_and_key() {
        let jp = batch("JP", &["a", "b"]);
        // A chart key makes a category chart's rows (see crate::chart).
        let music = batch("JP/10", &["b", "z"]);
        let encoded = encode_snapshot([&jp, &music], &Lineage::new()).unwrap();
        let meta = ParquetRecordBatchReaderBuilder::try_new(encoded.bytes.clone())
            .unwrap()
            .metadata()
            .clone();
        assert_eq!(meta.num_row_groups(), 2);
        let decoded = decode_snapshot(encoded.bytes).unwrap();
        assert_eq!(decoded.regions.keys().collect::<Vec<_>>(), ["JP", "JP/10"]);
        let categories = |b: &RecordBatch| -> Vec<String> {
            b.column_by_name("chart_category")
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect()
        };
        assert_eq!(categories(&decoded.regions["JP"]), ["all", "all"]);
        assert_eq!(categories(&decoded.regions["JP/10"]), ["10", "10"]);
        assert_eq!(
            decoded.regions["JP/10"]
                .column(0)
                .as_string::<i32>()
                .value(1),
            "JP"
        );
    }

    #[test]
    fn a_damaged_data_page_is_caught_by_the_digest() {
        let jp = batch("JP", &["a", "b"]);
        let encoded = encode_snapshot([&jp], &Lineage::new()).unwrap();
        let decoded = decode_snapshot(encoded.bytes.clone()).unwrap();
        // Any byte of the row groups flipped (a page header, a value): the footer still reads,
        // and the digest refuses the rows, which Parquet alone might have decoded wrong.
        for i in [4, 20, 40] {
            let mut bytes = encoded.bytes.to_vec();
            bytes[i] ^= 0x01;
            match decode_snapshot(Bytes::from(bytes)) {
                Err(DecodeError::Digest { recorded, .. }) => {
                    assert_eq!(recorded, decoded.content_sha256)
                }
                other => panic!("byte {i} flipped: {other:?}"),
            }
        }
    }

    #[test]
    fn files_no_commit_writes_are_named_with_their_problem() {
        let jp = batch("JP", &["a"]);
        let version = |v: &str| KeyValue::new(KEY_VERSION.into(), v.to_string());
        assert!(matches!(
            decode_snapshot(Bytes::from_static(b"not parquet")),
            Err(DecodeError::Parquet(_))
        ));
        assert!(matches!(
            decode_snapshot(foreign(vec![], &jp)),
            Err(DecodeError::SchemaVersion { found: None })
        ));
        let newer = decode_snapshot(foreign(vec![version("3")], &jp)).unwrap_err();
        assert!(newer.is_newer(), "{newer:?}");
        assert!(newer.to_string().contains("schema version 3, newer than 2"));
        assert!(matches!(
            decode_snapshot(foreign(vec![version("0")], &jp)),
            Err(DecodeError::SchemaVersion { .. })
        ));
        // Written before digests and lineage were recorded: readable, identified by its bytes.
        let old = foreign(vec![version("2")], &jp);
        let decoded = decode_snapshot(old.clone()).unwrap();
        assert_eq!(decoded.content_sha256, sha256_hex(&old));
        assert!(decoded.lineage.is_empty());
        assert!(!decoded.recorded);
        // No rows.
        assert!(matches!(
            decode_snapshot(foreign(vec![version("2")], &batch("JP", &[]))),
            Err(DecodeError::Empty)
        ));
        // A null region.
        let mut columns = jp.columns().to_vec();
        columns[0] = std::sync::Arc::new(StringArray::from(vec![None::<&str>]));
        let nameless =
            RecordBatch::try_new(std::sync::Arc::new(nullable_region()), columns).unwrap();
        let bytes = {
            let props = WriterProperties::builder()
                .set_key_value_metadata(Some(vec![version("2")]))
                .build();
            let mut out = Vec::new();
            let mut writer =
                ArrowWriter::try_new(&mut out, nameless.schema(), Some(props)).unwrap();
            writer.write(&nameless).unwrap();
            writer.close().unwrap();
            Bytes::from(out)
        };
        // Its schema differs in nullability only; either check refuses it.
        let refused = decode_snapshot(bytes).unwrap_err();
        assert!(
            matches!(refused, DecodeError::NullRegion(1) | DecodeError::Columns),
            "{refused:?}"
        );
        // A lineage from a newer trendlake.
        let lineage = KeyValue::new(
            KEY_LINEAGE.into(),
            r#"{"format": 2, "regions": {}}"#.to_string(),
        );
        assert!(
            decode_snapshot(foreign(vec![version("2"), lineage], &jp))
                .unwrap_err()
                .is_newer()
        );
    }

    /// The videos schema with a nullable `region`, for writing a file no commit would.
    fn nullable_region() -> arrow::datatypes::Schema {
        let fields: Vec<arrow::datatypes::Field> = schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = f.as_ref().clone();
                if i == 0 { f.with_nullable(true) } else { f }
            })
            .collect();
        arrow::datatypes::Schema::new(fields)
    }

    #[test]
    fn the_lineage_keeps_its_field_names() {
        let record = LineageRecord {
            format: 1,
            regions: Lineage::from([("JP".to_string(), source("r1"))]),
        };
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::json!({"format": 1, "regions": {"JP": {
                "run_id": "r1",
                "manifest": "raw/snapshot_date=2026-11-20/region=JP/run=r1/manifest.json",
                "manifest_sha256": "ab".repeat(32),
                "rows": 2
            }}})
        );
    }
}
