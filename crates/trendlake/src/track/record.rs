//! Lookups by id → rows of the lake's `tracked` table (docs/lake.md, "tracked"): one row per
//! video asked for, whether the API returned it or not.
//!
//! The API leaves out a video that is deleted, private or otherwise unavailable, and sends the
//! rest in any order: rows are matched to the request by `id`, never by position, and an id asked
//! for but not sent is a row with `returned = false` and null counts.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};

use crate::lake::codec::TableFormat;
use crate::record::{ItemError, count};
use crate::youtube::model::VideoListResponse;

/// Bumped whenever a column of the `tracked` table changes; written into every file.
pub const TRACKED_VERSION: u32 = 1;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("video_id", DataType::Utf8, false),
        Field::new("returned", DataType::Boolean, false),
        Field::new("last_charted", DataType::Date32, false),
        Field::new("view_count", DataType::Int64, true),
        Field::new("like_count", DataType::Int64, true),
        Field::new("comment_count", DataType::Int64, true),
        Field::new("privacy_status", DataType::Utf8, true),
        Field::new("upload_status", DataType::Utf8, true),
        Field::new("fetched_at", ts, false),
    ]))
});

/// The Arrow schema of the lake's `tracked` files.
pub fn schema() -> SchemaRef {
    SCHEMA.clone()
}

/// The `tracked` table's file format.
pub const TRACKED: TableFormat = TableFormat {
    schema,
    version: TRACKED_VERSION,
    small_columns: &[
        "returned",
        "last_charted",
        "view_count",
        "like_count",
        "comment_count",
        "privacy_status",
        "upload_status",
        "fetched_at",
    ],
    older: &[],
};

/// One tracked video as looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedRow {
    pub video_id: String,
    pub returned: bool,
    pub last_charted: NaiveDate,
    pub view_count: Option<i64>,
    pub like_count: Option<i64>,
    pub comment_count: Option<i64>,
    pub privacy_status: Option<String>,
    pub upload_status: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

/// An item of a lookup that cannot become a row, named by its id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("video {video_id} of lookup {batch}: {problem}")]
pub struct LookupItemError {
    pub batch: usize,
    pub video_id: String,
    pub problem: ItemError,
}

/// The rows of one date's lookups, keyed (and so sorted) by id: the file's bytes do not depend
/// on the order the API sent the items in, nor on the order the lookups came back.
#[derive(Debug, Default)]
pub struct TrackedRows {
    rows: BTreeMap<String, TrackedRow>,
    /// Items the API sent that no request of their lookup asked for (never seen; counted).
    pub unexpected: usize,
}

impl TrackedRows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows whose video the API returned.
    pub fn returned(&self) -> usize {
        self.rows.values().filter(|r| r.returned).count()
    }

    /// Add lookup `batch`'s answer: a row for every id in `ids`, matched by id.
    /// `last_charted` gives each id's last chart date.
    pub fn push(
        &mut self,
        batch: usize,
        ids: &[String],
        last_charted: &dyn Fn(&str) -> NaiveDate,
        response: &VideoListResponse,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), LookupItemError> {
        let asked: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut sent = BTreeMap::new();
        for video in &response.items {
            if !asked.contains(video.id.as_str()) {
                self.unexpected += 1;
                continue;
            }
            let fail = |problem| LookupItemError {
                batch,
                video_id: video.id.clone(),
                problem,
            };
            let stats = video.statistics.as_ref();
            let field = |f: fn(&crate::youtube::model::Statistics) -> Option<&String>| {
                stats.and_then(f).map(String::as_str)
            };
            let row = TrackedRow {
                video_id: video.id.clone(),
                returned: true,
                last_charted: last_charted(&video.id),
                view_count: count("statistics.viewCount", field(|s| s.view_count.as_ref()))
                    .map_err(fail)?,
                like_count: count("statistics.likeCount", field(|s| s.like_count.as_ref()))
                    .map_err(fail)?,
                comment_count: count(
                    "statistics.commentCount",
                    field(|s| s.comment_count.as_ref()),
                )
                .map_err(fail)?,
                privacy_status: video.status.as_ref().and_then(|s| s.privacy_status.clone()),
                upload_status: video.status.as_ref().and_then(|s| s.upload_status.clone()),
                fetched_at,
            };
            sent.insert(video.id.clone(), row);
        }
        for id in ids {
            let row = sent.remove(id).unwrap_or_else(|| TrackedRow {
                video_id: id.clone(),
                returned: false,
                last_charted: last_charted(id),
                view_count: None,
                like_count: None,
                comment_count: None,
                privacy_status: None,
                upload_status: None,
                fetched_at,
            });
            self.rows.insert(id.clone(), row);
        }
        Ok(())
    }

    /// The rows as a batch in [`schema`], sorted by id.
    pub fn finish(&self) -> RecordBatch {
        let rows: Vec<&TrackedRow> = self.rows.values().collect();
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch");
        let days = |d: NaiveDate| (d - epoch).num_days() as i32;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.video_id.as_str()),
            )),
            Arc::new(BooleanArray::from_iter(
                rows.iter().map(|r| Some(r.returned)),
            )),
            Arc::new(Date32Array::from_iter_values(
                rows.iter().map(|r| days(r.last_charted)),
            )),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.view_count))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.like_count))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.comment_count))),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.privacy_status.as_deref()),
            )),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| r.upload_status.as_deref()),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    rows.iter().map(|r| r.fetched_at.timestamp_micros()),
                )
                .with_timezone("UTC"),
            ),
        ];
        RecordBatch::try_new(schema(), columns).expect("columns match the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::youtube::model::{Statistics, Status, Video};

    fn video(id: &str, views: &str, likes: Option<&str>) -> Video {
        Video {
            id: id.into(),
            statistics: Some(Statistics {
                view_count: Some(views.into()),
                like_count: likes.map(Into::into),
                ..Statistics::default()
            }),
            status: Some(Status {
                privacy_status: Some("public".into()),
                upload_status: Some("processed".into()),
                ..Status::default()
            }),
            ..Video::default()
        }
    }

    #[test]
    fn rows_match_by_id_and_absent_ids_are_not_returned() {
        let ids: Vec<String> = ["c", "a", "b"].map(String::from).to_vec();
        // Shuffled, one left out, one never asked for.
        let response = VideoListResponse {
            items: vec![
                video("b", "20", None),
                video("zz", "1", Some("1")),
                video("c", "30", Some("3")),
            ],
            ..VideoListResponse::default()
        };
        let at: DateTime<Utc> = "2026-12-04T03:00:00Z".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let mut rows = TrackedRows::default();
        rows.push(1, &ids, &|_| day, &response, at).unwrap();
        assert_eq!((rows.len(), rows.returned(), rows.unexpected), (3, 2, 1));
        let batch = rows.finish();
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(ids.iter().flatten().collect::<Vec<_>>(), ["a", "b", "c"]);
        let returned = batch
            .column(1)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        assert_eq!(
            returned.iter().collect::<Vec<_>>(),
            [Some(false), Some(true), Some(true)]
        );
        let views = batch
            .column(3)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(views.iter().collect::<Vec<_>>(), [None, Some(20), Some(30)]);
        // A hidden like count stays null, never 0.
        let likes = batch
            .column(4)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(likes.iter().collect::<Vec<_>>(), [None, None, Some(3)]);
        let privacy = batch
            .column(6)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(
            privacy.iter().collect::<Vec<_>>(),
            [None, Some("public"), Some("public")]
        );
    }

    #[test]
    fn a_count_that_is_not_a_number_names_the_video() {
        let ids = vec!["a".to_string()];
        let response = VideoListResponse {
            items: vec![video("a", "many", None)],
            ..VideoListResponse::default()
        };
        let at: DateTime<Utc> = "2026-12-04T03:00:00Z".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let e = TrackedRows::default()
            .push(4, &ids, &|_| day, &response, at)
            .unwrap_err();
        assert_eq!(e.batch, 4);
        assert_eq!(e.video_id, "a");
        assert!(e.to_string().contains("statistics.viewCount"), "{e}");
    }

    #[test]
    fn the_schema_is_pinned() {
        let names: Vec<String> = schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(
            names,
            [
                "video_id",
                "returned",
                "last_charted",
                "view_count",
                "like_count",
                "comment_count",
                "privacy_status",
                "upload_status",
                "fetched_at"
            ]
        );
        assert_eq!(TRACKED_VERSION, 1);
    }
}
