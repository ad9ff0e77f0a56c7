//! Typed serde model of `videos.list` responses and API errors, shared by the client and the fake API.
//!
//! The model is faithful to the wire format: counts stay strings, `caption` stays a string, absent
//! fields stay `None`, so the fake serialises exactly what the real API sends and the client parses
//! real captures unchanged. Interpretation (numbers, NFC, durations) happens in `record`.

use serde::{Deserialize, Serialize};

/// `youtube#videoListResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoListResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default)]
    pub items: Vec<Video>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_info: Option<PageInfo>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub total_results: u32,
    pub results_per_page: u32,
}

/// `youtube#video`. Every part is optional because only the requested parts are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Video {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_details: Option<ContentDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_streaming_details: Option<LiveStreamingDetails>,
    /// Sent only with `part=status` (the tracking stage asks for it; charts do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snippet {
    /// RFC 3339 UTC, with or without milliseconds.
    pub published_at: String,
    pub channel_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub thumbnails: Thumbnails,
    #[serde(default)]
    pub channel_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A string on the wire (`"10"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_broadcast_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_audio_language: Option<String>,
    /// Sent by the API (and the fake) but not read: in the default language it repeats the title
    /// and the often multi-kilobyte description, and skipping it halves the text to unescape.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub localized: Option<Localized>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Localized {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thumbnails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Thumbnail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<Thumbnail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Thumbnail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<Thumbnail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxres: Option<Thumbnail>,
}

impl Thumbnails {
    /// The best available size: maxres, standard, high, medium, default.
    pub fn best(&self) -> Option<&Thumbnail> {
        [
            &self.maxres,
            &self.standard,
            &self.high,
            &self.medium,
            &self.default,
        ]
        .into_iter()
        .find_map(Option::as_ref)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentDetails {
    /// ISO 8601 duration (`PT3M14S`; `P0D` for live and upcoming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// The string `"true"` or `"false"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensed_content: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_restriction: Option<RegionRestriction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_rating: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionRestriction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Vec<String>>,
}

/// All values are strings of unsigned integers; an absent count is hidden or disabled, not zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like_count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favorite_count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_count: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveStreamingDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_viewers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_live_chat_id: Option<String>,
}

/// `status`: whether the video is still up, and who may see it. A video that is deleted, private
/// or otherwise unavailable to an API key is not sent at all (absent from `items`), so a returned
/// item is `public` or `unlisted`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `processed`, `uploaded`, `failed`, `rejected` or `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_status: Option<String>,
    /// `public`, `unlisted` or `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_status: Option<String>,
    /// `youtube` or `creativeCommon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_stats_viewable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_for_kids: Option<bool>,
}

/// `youtube#videoCategoryListResponse`: `videoCategories.list?regionCode=R&part=snippet`, the
/// categories of a region (titles in the language `hl` asks for).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoCategoryListResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default)]
    pub items: Vec<VideoCategory>,
}

/// `youtube#videoCategory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoCategory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// A string on the wire (`"10"`).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<VideoCategorySnippet>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoCategorySnippet {
    #[serde(default)]
    pub title: String,
    /// Whether videos can be given this category (a chart may exist only for those).
    #[serde(default)]
    pub assignable: bool,
    #[serde(default)]
    pub channel_id: String,
}

/// The error envelope: `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub code: u16,
    /// `null` in some 500 responses.
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(
        default,
        rename = "locationType",
        skip_serializing_if = "Option::is_none"
    )]
    pub location_type: Option<String>,
}

impl ApiErrorBody {
    /// The first `reason`, the field clients branch on.
    pub fn reason(&self) -> Option<&str> {
        self.errors.iter().find_map(|e| e.reason.as_deref())
    }
}
