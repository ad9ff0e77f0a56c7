//! Typed API items → normalised rows → Arrow `RecordBatch`es in the lake's schema (docs/lake.md).
//!
//! Normalisation is the contract analysts rely on: NFC (never NFKC, which would fold full-width
//! CJK and ligatures), Unicode control characters removed, absent counts as null, never 0.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::youtube::model::Video;

/// Bumped whenever a column changes; written into every file's key-value metadata. Version 2
/// added `chart_category` (last, so a version-1 file's columns are a prefix of it); version-1
/// files are read as ever, their rows taking `chart_category = 'all'` ([`upgrade_v1`]).
pub const SCHEMA_VERSION: u32 = 2;

/// The columns of schema version 1: every column but `chart_category`.
static SCHEMA_V1: LazyLock<SchemaRef> = LazyLock::new(|| {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("region", DataType::Utf8, false),
        Field::new("rank", DataType::Int32, false),
        Field::new("video_id", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new("channel_id", DataType::Utf8, false),
        Field::new("channel_title", DataType::Utf8, false),
        Field::new("category_id", DataType::Int32, true),
        Field::new("published_at", ts(), false),
        Field::new("duration_s", DataType::Int64, true),
        Field::new("live_broadcast_content", DataType::Utf8, false),
        Field::new("view_count", DataType::Int64, true),
        Field::new("like_count", DataType::Int64, true),
        Field::new("comment_count", DataType::Int64, true),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
        Field::new("default_language", DataType::Utf8, true),
        Field::new("default_audio_language", DataType::Utf8, true),
        Field::new("thumbnail_url", DataType::Utf8, true),
        Field::new("definition", DataType::Utf8, true),
        Field::new("caption", DataType::Boolean, true),
        Field::new("licensed_content", DataType::Boolean, true),
        Field::new("fetched_at", ts(), false),
    ]))
});

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields: Vec<Field> = SCHEMA_V1
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    // The chart the row is on: `all` for the region's general chart, else the category id.
    fields.push(Field::new("chart_category", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
});

/// The Arrow schema of the lake's `videos` files, built once.
pub fn schema() -> SchemaRef {
    SCHEMA.clone()
}

/// The columns of a version-1 file.
pub fn schema_v1() -> SchemaRef {
    SCHEMA_V1.clone()
}

/// A version-1 file's rows in the current schema: every row was on its region's general chart.
pub fn upgrade_v1(batch: RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let general = arrow::array::StringArray::from_iter_values(std::iter::repeat_n(
        crate::chart::GENERAL,
        batch.num_rows(),
    ));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(general));
    RecordBatch::try_new(schema(), columns)
}

/// One received page of a region's chart.
#[derive(Debug, Clone)]
pub struct Page {
    /// 0-based offset of the page's first item in the chart.
    pub offset: usize,
    pub fetched_at: DateTime<Utc>,
    pub items: Vec<Video>,
}

/// An item that cannot become a row, named by region, rank and id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("region {region}, rank {rank}, video {video_id:?}: {problem}")]
pub struct RecordError {
    pub region: String,
    pub rank: usize,
    pub video_id: String,
    pub problem: ItemError,
}

/// What is wrong with an item: the API field (as the API spells it) and the value received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("the item has no snippet (request part=snippet)")]
    NoSnippet,
    #[error("{field} {value:?} is not an integer")]
    NotACount { field: &'static str, value: String },
    #[error("{field} {value:?} is not RFC 3339 ({reason})")]
    NotATimestamp {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("categoryId {value:?} is not a number")]
    NotACategory { value: String },
    #[error("duration {value:?} is not ISO 8601")]
    NotADuration { value: String },
    #[error("caption {value:?} is neither \"true\" nor \"false\"")]
    NotACaptionFlag { value: String },
    #[error("rank {rank} is out of range")]
    RankOutOfRange { rank: usize },
}

impl ItemError {
    /// The API field at fault (`statistics.viewCount`, …), if one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ItemError::NoSnippet => Some("snippet"),
            ItemError::NotACount { field, .. } | ItemError::NotATimestamp { field, .. } => {
                Some(field)
            }
            ItemError::NotACategory { .. } => Some("snippet.categoryId"),
            ItemError::NotADuration { .. } => Some("contentDetails.duration"),
            ItemError::NotACaptionFlag { .. } => Some("contentDetails.caption"),
            ItemError::RankOutOfRange { .. } => None,
        }
    }
}

/// NFC, with fast paths: most strings are already NFC and need no copy.
pub fn nfc(s: &str) -> Cow<'_, str> {
    // Every character below U+0300 is NFC-stable (the first combining mark is U+0300, UTF-8
    // `CC 80`), so text whose bytes are all below 0xCC — ASCII, Latin accents, Greek — is NFC
    // without decoding a single character.
    if s.bytes().all(|b| b < 0xCC) || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// Whether `s` holds a Unicode control character (Cc: C0, DEL, C1) that `keep` does not allow.
/// Works on bytes: C0 and DEL are single bytes, found by a branch-free scan the compiler
/// vectorises; C1 (U+0080–U+009F) is `C2 80`–`C2 9F`, found by memchr on its lead byte.
fn has_control(s: &str, keep: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let c0 = b.iter().fold(false, |found, &c| {
        found | ((c < 0x20) & !keep(c)) | (c == 0x7F)
    });
    c0 || memchr::memchr_iter(0xC2, b).any(|i| b.get(i + 1).is_some_and(|&n| n < 0xA0))
}

/// `title` / `channel_title`: NFC, every Unicode Cc removed, outer whitespace trimmed.
pub fn normalize_title(s: &str) -> Cow<'_, str> {
    if !has_control(s, |_| false) {
        return match nfc(s) {
            Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
            Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
        };
    }
    let stripped: String = s.chars().filter(|c| !c.is_control()).collect();
    Cow::Owned(nfc(&stripped).trim().to_string())
}

/// `description`: NFC; `\r\n` → `\n`; every Cc other than `\n` and `\t` removed.
pub fn normalize_description(s: &str) -> Cow<'_, str> {
    if !has_control(s, |c| c == b'\n' || c == b'\t') {
        return nfc(s);
    }
    // A lone `\r` is dropped like any other control character, so `\r\n` becomes `\n`.
    let stripped: String = s
        .chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect();
    Cow::Owned(nfc(&stripped).into_owned())
}

/// ISO 8601 duration → whole seconds (`P0D` → 0). `None` for text that is not a duration.
pub fn duration_seconds(iso: &str) -> Option<i64> {
    let d: std::time::Duration = iso8601::duration(iso).ok()?.into();
    i64::try_from(d.as_secs()).ok()
}

/// A count (`field`) sent as a decimal string; absent stays absent.
pub(crate) fn count(field: &'static str, s: Option<&str>) -> Result<Option<i64>, ItemError> {
    s.map(|v| {
        v.trim().parse::<i64>().map_err(|_| ItemError::NotACount {
            field,
            value: v.to_string(),
        })
    })
    .transpose()
}

fn timestamp_micros(field: &'static str, s: &str) -> Result<i64, ItemError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .map_err(|e| ItemError::NotATimestamp {
            field,
            value: s.to_string(),
            reason: e.to_string(),
        })
}

/// Builds one chart's rows, in chart order, as a batch in [`schema`].
pub struct RegionBatchBuilder {
    /// The chart's key (`JP`, `JP/25`: see [`crate::chart`]), which errors name.
    region: String,
    rows: usize,
    chart_category: StringBuilder,
    region_col: StringBuilder,
    rank: Int32Builder,
    video_id: StringBuilder,
    title: StringBuilder,
    description: StringBuilder,
    channel_id: StringBuilder,
    channel_title: StringBuilder,
    category_id: Int32Builder,
    published_at: TimestampMicrosecondBuilder,
    duration_s: Int64Builder,
    live: StringBuilder,
    view_count: Int64Builder,
    like_count: Int64Builder,
    comment_count: Int64Builder,
    tags: ListBuilder<StringBuilder>,
    default_language: StringBuilder,
    default_audio_language: StringBuilder,
    thumbnail_url: StringBuilder,
    definition: StringBuilder,
    caption: BooleanBuilder,
    licensed_content: BooleanBuilder,
    fetched_at: TimestampMicrosecondBuilder,
}

impl RegionBatchBuilder {
    /// The rows of the chart keyed `chart` (a region code for its general chart).
    pub fn new(chart: &str) -> Self {
        Self {
            region: chart.to_string(),
            rows: 0,
            chart_category: StringBuilder::new(),
            region_col: StringBuilder::new(),
            rank: Int32Builder::new(),
            video_id: StringBuilder::new(),
            title: StringBuilder::new(),
            description: StringBuilder::new(),
            channel_id: StringBuilder::new(),
            channel_title: StringBuilder::new(),
            category_id: Int32Builder::new(),
            published_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            duration_s: Int64Builder::new(),
            live: StringBuilder::new(),
            view_count: Int64Builder::new(),
            like_count: Int64Builder::new(),
            comment_count: Int64Builder::new(),
            tags: ListBuilder::new(StringBuilder::new()),
            default_language: StringBuilder::new(),
            default_audio_language: StringBuilder::new(),
            thumbnail_url: StringBuilder::new(),
            definition: StringBuilder::new(),
            caption: BooleanBuilder::new(),
            licensed_content: BooleanBuilder::new(),
            fetched_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
        }
    }

    /// Rows appended so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Append a page's items; rank = page offset + index + 1.
    pub fn push_page(&mut self, page: &Page) -> Result<(), RecordError> {
        for (i, video) in page.items.iter().enumerate() {
            let rank = page.offset + i + 1;
            self.push(rank, video, page.fetched_at)
                .map_err(|problem| RecordError {
                    region: self.region.clone(),
                    rank,
                    video_id: video.id.clone(),
                    problem,
                })?;
        }
        Ok(())
    }

    fn push(&mut self, rank: usize, v: &Video, fetched_at: DateTime<Utc>) -> Result<(), ItemError> {
        let snippet = v.snippet.as_ref().ok_or(ItemError::NoSnippet)?;
        // Validate everything fallible first, so a bad item never leaves columns of unequal length.
        let published_at = timestamp_micros("snippet.publishedAt", &snippet.published_at)?;
        let category_id = snippet
            .category_id
            .as_deref()
            .map(|c| {
                c.parse::<i32>().map_err(|_| ItemError::NotACategory {
                    value: c.to_string(),
                })
            })
            .transpose()?;
        let stats = v.statistics.as_ref();
        let views = count(
            "statistics.viewCount",
            stats.and_then(|s| s.view_count.as_deref()),
        )?;
        let likes = count(
            "statistics.likeCount",
            stats.and_then(|s| s.like_count.as_deref()),
        )?;
        let comments = count(
            "statistics.commentCount",
            stats.and_then(|s| s.comment_count.as_deref()),
        )?;
        let details = v.content_details.as_ref();
        let duration = match details.and_then(|d| d.duration.as_deref()) {
            Some(d) => Some(duration_seconds(d).ok_or_else(|| ItemError::NotADuration {
                value: d.to_string(),
            })?),
            None => None,
        };
        let caption = match details.and_then(|d| d.caption.as_deref()) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ItemError::NotACaptionFlag {
                    value: other.to_string(),
                });
            }
            None => None,
        };
        let rank = i32::try_from(rank).map_err(|_| ItemError::RankOutOfRange { rank })?;

        let (region, category) = crate::chart::split(&self.region);
        self.region_col.append_value(region);
        self.chart_category.append_value(category);
        self.rank.append_value(rank);
        self.video_id.append_value(&v.id);
        self.title.append_value(normalize_title(&snippet.title));
        self.description
            .append_value(normalize_description(&snippet.description));
        self.channel_id.append_value(&snippet.channel_id);
        self.channel_title
            .append_value(normalize_title(&snippet.channel_title));
        self.category_id.append_option(category_id);
        self.published_at.append_value(published_at);
        self.duration_s.append_option(duration);
        self.live
            .append_value(snippet.live_broadcast_content.as_deref().unwrap_or("none"));
        self.view_count.append_option(views);
        self.like_count.append_option(likes);
        self.comment_count.append_option(comments);
        match &snippet.tags {
            Some(tags) => {
                for t in tags {
                    self.tags.values().append_value(nfc(t));
                }
                self.tags.append(true);
            }
            None => self.tags.append(false),
        }
        self.default_language
            .append_option(snippet.default_language.as_deref());
        self.default_audio_language
            .append_option(snippet.default_audio_language.as_deref());
        self.thumbnail_url
            .append_option(snippet.thumbnails.best().map(|t| t.url.as_str()));
        self.definition
            .append_option(details.and_then(|d| d.definition.as_deref()));
        self.caption.append_option(caption);
        self.licensed_content
            .append_option(details.and_then(|d| d.licensed_content));
        self.fetched_at.append_value(fetched_at.timestamp_micros());
        self.rows += 1;
        Ok(())
    }

    /// The rows as one batch in [`schema`].
    pub fn finish(mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.region_col.finish()),
            Arc::new(self.rank.finish()),
            Arc::new(self.video_id.finish()),
            Arc::new(self.title.finish()),
            Arc::new(self.description.finish()),
            Arc::new(self.channel_id.finish()),
            Arc::new(self.channel_title.finish()),
            Arc::new(self.category_id.finish()),
            Arc::new(self.published_at.finish()),
            Arc::new(self.duration_s.finish()),
            Arc::new(self.live.finish()),
            Arc::new(self.view_count.finish()),
            Arc::new(self.like_count.finish()),
            Arc::new(self.comment_count.finish()),
            Arc::new(self.tags.finish()),
            Arc::new(self.default_language.finish()),
            Arc::new(self.default_audio_language.finish()),
            Arc::new(self.thumbnail_url.finish()),
            Arc::new(self.definition.finish()),
            Arc::new(self.caption.finish()),
            Arc::new(self.licensed_content.finish()),
            Arc::new(self.fetched_at.finish()),
            Arc::new(self.chart_category.finish()),
        ];
        RecordBatch::try_new(schema(), columns).expect("builders match the schema")
    }
}

/// A region's chart assembled from its pages, in order: the one rule that both the fetch and the
/// replay from raw pages (`rebuild`) follow, so the two give identical rows.
pub struct ChartAssembler {
    builder: RegionBatchBuilder,
    seen: HashSet<String>,
    per_region: usize,
    received: usize,
    duplicates_dropped: usize,
}

impl ChartAssembler {
    pub fn new(region: &str, per_region: usize) -> Self {
        Self {
            builder: RegionBatchBuilder::new(region),
            seen: HashSet::with_capacity(per_region),
            per_region,
            received: 0,
            duplicates_dropped: 0,
        }
    }

    /// Add the next page's items. Items past `per_region` are cut; an id already seen on an
    /// earlier page is dropped, since ranks come from positions and it would claim two (the chart
    /// moved while it was paged): it keeps its first, better rank, and ranks stay dense.
    pub fn push(
        &mut self,
        mut items: Vec<Video>,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        let received = items.len();
        items.truncate(self.per_region.saturating_sub(self.received));
        let before = items.len();
        items.retain(|v| self.seen.insert(v.id.clone()));
        self.duplicates_dropped += before - items.len();
        self.received += received;
        self.builder.push_page(&Page {
            offset: self.builder.len(),
            fetched_at,
            items,
        })
    }

    /// Items received so far, cut and repeated ones included.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Rows kept so far.
    pub fn len(&self) -> usize {
        self.builder.len()
    }

    pub fn is_empty(&self) -> bool {
        self.builder.is_empty()
    }

    pub fn duplicates_dropped(&self) -> usize {
        self.duplicates_dropped
    }

    pub fn finish(self) -> RecordBatch {
        self.builder.finish()
    }
}

/// One region's pages → one batch.
pub fn region_batch(region: &str, pages: &[Page]) -> Result<RecordBatch, RecordError> {
    let mut builder = RegionBatchBuilder::new(region);
    for page in pages {
        builder.push_page(page)?;
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_rules() {
        // "Việt" with the accents decomposed (NFD) comes back composed.
        let nfd: String = "Việt Nam".nfd().collect();
        assert_ne!(nfd, "Việt Nam");
        assert_eq!(normalize_title(&nfd), "Việt Nam");
        assert_eq!(normalize_title("  a\u{7}b\tc\r\n "), "abc");
        // NFC, not NFKC: full-width letters and ligatures survive.
        assert_eq!(normalize_title("ＡＢＣ ﬁ"), "ＡＢＣ ﬁ");
        // ZWJ (a format character, not a control) keeps the family emoji whole.
        assert_eq!(
            normalize_title("👨\u{200d}👩\u{200d}👧 مرحبا"),
            "👨\u{200d}👩\u{200d}👧 مرحبا"
        );
    }

    #[test]
    fn description_rules() {
        assert_eq!(
            normalize_description("a\r\nb\tc\u{0}\u{1b}d\re"),
            "a\nb\tcde"
        );
        assert_eq!(normalize_description(""), "");
        // C1 controls (U+0080–U+009F) and DEL go too; U+00A0 (no-break space) stays.
        assert_eq!(
            normalize_description("a\u{85}b\u{9f}c\u{7f}d\u{a0}e"),
            "abcd\u{a0}e"
        );
        assert_eq!(normalize_title("\u{80}x\u{a0}"), "x");
    }

    #[test]
    fn byte_fast_paths_agree_with_char_rules() {
        // Every code point below U+0300, alone and after a base letter, is left as it is.
        for c in (0u32..0x300).filter_map(char::from_u32) {
            let s = format!("e{c}");
            assert_eq!(nfc(&s), s.nfc().collect::<String>(), "U+{:04X}", c as u32);
            assert_eq!(
                has_control(&s, |_| false),
                c.is_control(),
                "U+{:04X}",
                c as u32
            );
        }
        // A combining acute after e composes, which the byte check must not skip.
        assert_eq!(nfc("e\u{301}"), "é");
        assert_eq!(nfc("한국어"), "한국어");
        assert!(matches!(nfc("plain ascii"), Cow::Borrowed(_)));
    }

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("PT23S"), Some(23));
        assert_eq!(duration_seconds("PT3M14S"), Some(194));
        assert_eq!(duration_seconds("PT1H2M3S"), Some(3723));
        assert_eq!(duration_seconds("P1DT2H3M4S"), Some(93_784));
        assert_eq!(duration_seconds("P0D"), Some(0));
        assert_eq!(duration_seconds("soon"), None);
    }

    #[test]
    fn counts() {
        assert_eq!(count("statistics.viewCount", Some("12")), Ok(Some(12)));
        assert_eq!(count("statistics.viewCount", Some(" 7 ")), Ok(Some(7)));
        assert_eq!(count("statistics.viewCount", None), Ok(None));
        let e = count("statistics.likeCount", Some("1e3")).unwrap_err();
        assert_eq!(
            e,
            ItemError::NotACount {
                field: "statistics.likeCount",
                value: "1e3".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "statistics.likeCount \"1e3\" is not an integer"
        );
        assert_eq!(e.field(), Some("statistics.likeCount"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            timestamp_micros("snippet.publishedAt", "2026-11-20T03:00:00Z"),
            Ok(1_795_143_600_000_000)
        );
        let e = timestamp_micros("snippet.publishedAt", "yesterday").unwrap_err();
        assert!(matches!(
            &e,
            ItemError::NotATimestamp { field: "snippet.publishedAt", value, .. } if value == "yesterday"
        ));
        assert!(
            e.to_string()
                .starts_with("snippet.publishedAt \"yesterday\" is not RFC 3339")
        );
    }

    #[test]
    fn a_bad_item_is_named_by_region_rank_id_field_and_value() {
        use crate::youtube::model::{Snippet, Statistics};
        let good = Video {
            id: "good".into(),
            snippet: Some(Snippet {
                published_at: "2026-11-20T03:00:00Z".into(),
                title: "t".into(),
                ..Snippet::default()
            }),
            ..Video::default()
        };
        let mut bad = good.clone();
        bad.id = "bad".into();
        bad.statistics = Some(Statistics {
            view_count: Some("lots".into()),
            ..Statistics::default()
        });
        let page = Page {
            offset: 50,
            fetched_at: Utc::now(),
            items: vec![good, bad],
        };
        let e = region_batch("JP", &[page]).unwrap_err();
        assert_eq!(
            (e.region.as_str(), e.rank, e.video_id.as_str()),
            ("JP", 52, "bad")
        );
        assert_eq!(e.problem.field(), Some("statistics.viewCount"));
        assert_eq!(
            e.to_string(),
            "region JP, rank 52, video \"bad\": statistics.viewCount \"lots\" is not an integer"
        );
    }
}
