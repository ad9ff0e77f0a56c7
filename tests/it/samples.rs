//! The real captured responses in `tests/fixtures/youtube/` parse and normalise as docs/lake.md says.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, TimestampMicrosecondType};
use chrono::Utc;
use trendlake::record::{Page, region_batch, schema};
use trendlake::youtube::model::{Video, VideoListResponse};
use unicode_normalization::UnicodeNormalization;

use crate::support::samples_dir;

fn load(name: &str) -> VideoListResponse {
    let text = std::fs::read_to_string(samples_dir().join(name)).expect("sample readable");
    serde_json::from_str(&text).expect("sample parses as videoListResponse")
}

fn batch(region: &str, items: Vec<Video>) -> RecordBatch {
    let page = Page {
        offset: 0,
        fetched_at: Utc::now(),
        items,
    };
    region_batch(region, &[page]).expect("items convert to rows")
}

fn strings<'a>(b: &'a RecordBatch, col: &str) -> Vec<Option<&'a str>> {
    b.column_by_name(col)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .collect()
}

fn ints(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    b.column_by_name(col)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

fn assert_all_nfc(b: &RecordBatch, col: &str) {
    for s in strings(b, col).into_iter().flatten() {
        assert_eq!(s, s.nfc().collect::<String>(), "{col} not NFC: {s:?}");
        assert!(!s.contains('\r'), "{col} kept a \\r: {s:?}");
    }
}

#[test]
fn chile_page_with_all_three_parts() {
    let r = load("cl_mostPopular_snippet_contentDetails_statistics_25items.json");
    assert_eq!(r.items.len(), 25);
    assert_eq!(r.next_page_token.as_deref(), Some("CBkQAA"));
    let info = r.page_info.unwrap();
    assert_eq!((info.total_results, info.results_per_page), (200, 25));
    assert_eq!(r.kind, None, "the committer removed kind");

    let b = batch("CL", r.items);
    assert_eq!(b.schema(), schema());
    assert_eq!(b.num_rows(), 25);
    let ranks: Vec<i32> = b
        .column_by_name("rank")
        .unwrap()
        .as_primitive::<Int32Type>()
        .values()
        .to_vec();
    assert_eq!(ranks, (1..=25).collect::<Vec<_>>());
    assert_eq!(strings(&b, "video_id")[0], Some("gQlMMD8auMs"));
    assert_eq!(
        strings(&b, "title")[0],
        Some("BLACKPINK - ‘Pink Venom’ M/V")
    );
    assert_eq!(ints(&b, "view_count")[0], Some(79_343_907));
    assert_eq!(ints(&b, "like_count")[0], Some(5_701_049));
    // A "- Topic" upload with commentCount "0": zero, not null.
    assert_eq!(ints(&b, "comment_count")[3], Some(0));
    // Durations: PT3M14S, and the 23-second Short.
    assert_eq!(ints(&b, "duration_s")[0], Some(194));
    assert_eq!(ints(&b, "duration_s")[9], Some(23));
    assert_eq!(ints(&b, "duration_s")[24], Some(37 * 60 + 22));
    // caption arrives as the string "true"/"false".
    let caption = b.column_by_name("caption").unwrap().as_boolean();
    assert!(caption.value(0));
    assert!(!caption.value(1));
    assert_eq!(caption.null_count(), 0);
    let category = b
        .column_by_name("category_id")
        .unwrap()
        .as_primitive::<Int32Type>();
    assert_eq!(category.value(0), 10);
    assert_eq!(category.value(5), 20);
    // Best thumbnail: high when only three sizes exist, maxres when five.
    let thumbs = strings(&b, "thumbnail_url");
    assert_eq!(
        thumbs[0],
        Some("https://i.ytimg.com/vi/gQlMMD8auMs/hqdefault.jpg")
    );
    assert!(thumbs[1].unwrap().ends_with("/maxresdefault.jpg"));
    // Tags: absent on item 1 → null list, present on item 0 with Hangul kept.
    let tags = b.column_by_name("tags").unwrap().as_list::<i32>();
    assert!(tags.is_null(1));
    assert!(!tags.is_null(0));
    let audio = strings(&b, "default_audio_language");
    assert_eq!(audio[1], Some("es-419"));
    assert_eq!(audio[3], None);
    assert_eq!(strings(&b, "definition")[0], Some("hd"));
    assert_eq!(
        b.column_by_name("licensed_content").unwrap().null_count(),
        0
    );
    // Descriptions with \r\n come back with \n only.
    assert_all_nfc(&b, "description");
    assert!(strings(&b, "description")[6].unwrap().contains('\n'));
    assert_all_nfc(&b, "title");
    let published = b
        .column_by_name("published_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    // 2022-08-19T04:00:13Z
    assert_eq!(published.value(0), 1_660_881_613_000_000);
}

#[test]
fn india_page_with_default_max_results() {
    let r = load("in_mostPopular_snippet_statistics_5items.json");
    assert_eq!(r.items.len(), 5);
    assert_eq!(r.next_page_token.as_deref(), Some("CAUQAA"));
    assert_eq!(r.etag.as_deref(), Some("Wk9jiFfuS_n0gU6tPEvmyWtCrBQ"));
    let b = batch("IN", r.items);
    // No contentDetails part requested: duration, definition, caption are null, not defaults.
    assert_eq!(b.column_by_name("duration_s").unwrap().null_count(), 5);
    assert_eq!(b.column_by_name("caption").unwrap().null_count(), 5);
    assert_eq!(b.column_by_name("definition").unwrap().null_count(), 5);
    assert_eq!(ints(&b, "view_count")[1], Some(31_186_256));
    // An empty description stays an empty string.
    assert_eq!(strings(&b, "description")[3], Some(""));
    // Emoji and regional-indicator flags survive intact.
    assert!(strings(&b, "title")[2].unwrap().contains("🇮🇳🇧🇩🇵🇰"));
    assert_eq!(strings(&b, "default_audio_language")[3], None);
    assert_eq!(strings(&b, "default_audio_language")[4], Some("or"));
    assert!(!strings(&b, "description")[4].unwrap().contains('\r'));
    assert_all_nfc(&b, "description");
}

#[test]
fn us_page_with_snippet_only() {
    let r = load("us_mostPopular_snippet_only_25items.json");
    assert_eq!(r.kind.as_deref(), Some("youtube#videoListResponse"));
    assert_eq!(r.items.len(), 25);
    let b = batch("US", r.items);
    // No statistics part: every count is null, never 0.
    for col in ["view_count", "like_count", "comment_count"] {
        assert_eq!(b.column_by_name(col).unwrap().null_count(), 25, "{col}");
    }
    assert_eq!(b.column_by_name("tags").unwrap().null_count(), 7);
    assert_eq!(
        b.column_by_name("default_language").unwrap().null_count(),
        25 - 6
    );
    assert_eq!(strings(&b, "default_audio_language")[0], Some("en-US"));
    assert_eq!(
        strings(&b, "live_broadcast_content")
            .iter()
            .filter(|s| **s == Some("none"))
            .count(),
        25
    );
}

#[test]
fn live_video_resource_from_2018() {
    let text = std::fs::read_to_string(
        samples_dir().join("live_video_resource_liveStreamingDetails_2018.json"),
    )
    .unwrap();
    let video: Video = serde_json::from_str(&text).expect("a single youtube#video parses");
    assert_eq!(video.id, "9ywjjWAkeL0");
    // The pre-2020 quoted etag with a slash is kept verbatim.
    assert!(
        video
            .etag
            .as_deref()
            .unwrap()
            .starts_with("\"XI7nbFXulYBIpL0ayR_gDh3eu1k/")
    );
    let live = video.live_streaming_details.clone().unwrap();
    assert_eq!(live.concurrent_viewers.as_deref(), Some("5290"));
    let b = batch("US", vec![video]);
    assert_eq!(strings(&b, "live_broadcast_content"), vec![Some("live")]);
    assert!(
        strings(&b, "thumbnail_url")[0]
            .unwrap()
            .contains("_live.jpg")
    );
    assert_eq!(ints(&b, "view_count"), vec![None]);
    assert_eq!(ints(&b, "duration_s"), vec![None]);
    // publishedAt with milliseconds.
    let published = b
        .column_by_name("published_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(published.value(0) % 1_000_000, 0);
}
