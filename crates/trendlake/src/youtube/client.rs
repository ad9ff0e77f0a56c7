//! HTTP client for one chart page at a time; the caller (`fetch`) decides order and concurrency.
//!
//! The key travels in the `X-Goog-Api-Key` header, never in the URL, so it cannot leak through
//! reqwest's URL-quoting error messages, proxies' logs or our own tracing.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use super::model::{ErrorResponse, VideoCategoryListResponse, VideoListResponse};

/// Items per page: the API's maximum, so a full chart costs 4 quota units.
pub const MAX_RESULTS: u32 = 50;
/// Ids per `videos.list?id=…` call at most; more is a 400.
pub const MAX_IDS: usize = 50;
/// The parts a lookup by id asks for: counts, what the video is, and whether it is still up.
pub const LOOKUP_PARTS: &str = "snippet,contentDetails,statistics,status";

/// An API key whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The secret itself; call sites are few and reviewed (the header and redaction).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Replace every occurrence of the key in `text` (belt and braces for foreign error texts).
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "[REDACTED]")
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// What kind of failure a request met; decides retry and the user-facing advice.
///
/// Serialised (run reports) under the explicit snake_case names below, which are a stable
/// interface: renaming a variant must not change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    #[serde(rename = "quota_exceeded")]
    QuotaExceeded,
    #[serde(rename = "rate_limited")]
    RateLimited,
    #[serde(rename = "bad_key")]
    BadKey,
    #[serde(rename = "missing_key")]
    MissingKey,
    #[serde(rename = "access_not_configured")]
    AccessNotConfigured,
    #[serde(rename = "invalid_region")]
    InvalidRegion,
    #[serde(rename = "chart_not_found")]
    ChartNotFound,
    #[serde(rename = "invalid_page_token")]
    InvalidPageToken,
    #[serde(rename = "backend")]
    Backend,
    /// Any other HTTP error status.
    #[serde(rename = "http")]
    Http,
    /// A 404 without Google's JSON error body: the base URL does not point at the API root, so
    /// every request of the run would fail the same way.
    #[serde(rename = "wrong_base_url")]
    WrongBaseUrl,
    /// The request was sent and no answer came in time.
    #[serde(rename = "timeout")]
    Timeout,
    /// No connection: refused, DNS failure or connect timeout. The request never reached the
    /// API, so it cost no quota.
    #[serde(rename = "connect")]
    Connect,
    /// The connection broke after the request was sent, or the body stopped early.
    #[serde(rename = "transport")]
    Transport,
    /// A 200 whose JSON is cut short or malformed (a connection that died mid-body).
    #[serde(rename = "decode")]
    Decode,
    /// A 200 that is not JSON at all: an HTML page from a captive portal or proxy.
    #[serde(rename = "not_json")]
    NotJson,
    /// Not sent: the run's `--quota-budget` is spent.
    #[serde(rename = "budget_exhausted")]
    BudgetExhausted,
    /// Valid JSON of the wrong shape: the API (or something posing as it) changed.
    #[serde(rename = "unexpected_shape")]
    UnexpectedShape,
    /// The chart ended before the number of items it announced.
    #[serde(rename = "incomplete_chart")]
    IncompleteChart,
    /// A well-formed response with an item that breaks the API's own contract (a count that is
    /// not a number, a date that is not RFC 3339): fetching it again would not help.
    #[serde(rename = "bad_item")]
    BadItem,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 20] = [
        Self::QuotaExceeded,
        Self::RateLimited,
        Self::BadKey,
        Self::MissingKey,
        Self::AccessNotConfigured,
        Self::InvalidRegion,
        Self::ChartNotFound,
        Self::InvalidPageToken,
        Self::Backend,
        Self::Http,
        Self::WrongBaseUrl,
        Self::Timeout,
        Self::Connect,
        Self::Transport,
        Self::Decode,
        Self::NotJson,
        Self::BudgetExhausted,
        Self::UnexpectedShape,
        Self::IncompleteChart,
        Self::BadItem,
    ];

    /// The stable name used in run reports (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Self::QuotaExceeded => "quota_exceeded",
            Self::RateLimited => "rate_limited",
            Self::BadKey => "bad_key",
            Self::MissingKey => "missing_key",
            Self::AccessNotConfigured => "access_not_configured",
            Self::InvalidRegion => "invalid_region",
            Self::ChartNotFound => "chart_not_found",
            Self::InvalidPageToken => "invalid_page_token",
            Self::Backend => "backend",
            Self::Http => "http",
            Self::WrongBaseUrl => "wrong_base_url",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Transport => "transport",
            Self::Decode => "decode",
            Self::NotJson => "not_json",
            Self::BudgetExhausted => "budget_exhausted",
            Self::UnexpectedShape => "unexpected_shape",
            Self::IncompleteChart => "incomplete_chart",
            Self::BadItem => "bad_item",
        }
    }

    /// Whether trying the same request again can succeed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::RateLimited
                | Self::Backend
                | Self::Timeout
                | Self::Connect
                | Self::Transport
                | Self::Decode
        )
    }

    /// Whether one such answer means every other request of the run would get it too, so
    /// none should be sent: the day's quota is spent, or the base URL is not the API.
    pub fn stops_run(self) -> bool {
        matches!(self, Self::QuotaExceeded | Self::WrongBaseUrl)
    }

    /// What the user should do about it.
    pub fn advice(self) -> String {
        match self {
            Self::QuotaExceeded => format!(
                "daily quota exhausted; it resets at midnight Pacific time (in {}); run again with --only-missing after that",
                until_quota_reset(chrono::Utc::now())
            ),
            other => other.static_advice().to_string(),
        }
    }

    fn static_advice(self) -> &'static str {
        match self {
            Self::QuotaExceeded => "run again after the daily quota resets",
            Self::BudgetExhausted => {
                "raise --quota-budget, or run again with --only-missing to fetch the regions left out"
            }
            Self::NotJson => {
                "the API answered with an HTML page, not JSON (a captive portal or proxy?); check the network and --api-base-url"
            }
            Self::RateLimited => "the API is rate-limiting this key; lower --concurrency",
            Self::BadKey => {
                "the API key is not valid; set YOUTUBE_API_KEY (or --api-key) to a valid key"
            }
            Self::MissingKey => "no API key was sent; set YOUTUBE_API_KEY (or --api-key)",
            Self::AccessNotConfigured => {
                "the YouTube Data API v3 is not enabled for this key's project; enable it in the Google Cloud console"
            }
            Self::InvalidRegion => {
                "the API does not support this region code; remove it from --regions"
            }
            Self::ChartNotFound => {
                "the API has no trending chart for this region; remove it from --regions"
            }
            Self::InvalidPageToken => "the API rejected a page token; run the region again",
            Self::Backend => "the API had an internal error; run again later",
            Self::Http => "the API refused the request; check --api-base-url",
            Self::WrongBaseUrl => {
                "the base URL looks wrong: --api-base-url should be the API root, ending in /youtube/v3 (e.g. https://www.googleapis.com/youtube/v3)"
            }
            Self::Timeout => "the API did not answer in time; run again later",
            Self::Connect => {
                "could not connect to the API (connection refused, DNS failure or connect timeout); check the network and --api-base-url"
            }
            Self::Transport => {
                "the connection to the API failed; check the network and --api-base-url"
            }
            Self::Decode => "the API's answer was cut short or malformed; run again later",
            Self::UnexpectedShape => {
                "the answer is JSON but not a videoListResponse; check --api-base-url points at the YouTube Data API v3"
            }
            Self::IncompleteChart => {
                "the API sent a shorter chart than it announced, twice; the region keeps its earlier data; run again with --only-missing"
            }
            Self::BadItem => {
                "the API sent an item trendlake cannot store; report it with the run report attached"
            }
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Time until the API's daily quota resets: midnight in America/Los_Angeles, as `5h12m`.
pub fn until_quota_reset(now: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::TimeZone;
    let pacific = now.with_timezone(&chrono_tz::America::Los_Angeles);
    let tomorrow = pacific
        .date_naive()
        .succ_opt()
        .expect("not the end of time");
    let reset = chrono_tz::America::Los_Angeles
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .earliest()
        .expect("midnight exists in Los Angeles");
    let minutes = (reset.with_timezone(&chrono::Utc) - now)
        .num_minutes()
        .max(0);
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

/// A failed `videos.list` request, with the API's own reason where it gave one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{}: {message}", kind.name(), status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct ApiError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// The API's `reason` (`quotaExceeded`, …) when the body had one.
    pub reason: Option<String>,
    /// Human-readable, key-free description.
    pub message: String,
    /// `Retry-After`, when the server sent one (seconds or an HTTP date, already converted).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error decided on this side (no HTTP status): a request not sent, or an answer rejected.
    pub fn local(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            reason: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// Why a [`Client`] could not be built: bad configuration, found before any request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error(
        "--api-base-url {url:?} {why}; give the API root, e.g. https://www.googleapis.com/youtube/v3"
    )]
    BaseUrl { url: String, why: &'static str },
    #[error(
        "the API key contains characters that cannot be sent in an HTTP header; check YOUTUBE_API_KEY (or --api-key)"
    )]
    KeyNotAHeader,
    /// A key would cross the network in clear text: anyone on the path could read it. `url`
    /// is the base URL as given, with the key (should it be in there) redacted.
    #[error(
        "--api-base-url {url:?} is plain http:// to a host that is not this machine, so the API key would cross the network unencrypted; use an https:// URL, or a loopback one (http://127.0.0.1:PORT/youtube/v3) for a local fake"
    )]
    PlainHttp { url: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or ::1. Plain HTTP there never
/// crosses a network, so a key may travel over it (to the fake API), and the API's current chart
/// may be stored under any date.
pub fn is_loopback_url(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// One answered page: what it says, and the bytes it said it in.
#[derive(Debug, Clone)]
pub struct ChartPage {
    pub response: VideoListResponse,
    pub body: bytes::Bytes,
}

/// Client for `GET {base}/videos?chart=mostPopular`.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    videos_url: reqwest::Url,
    /// `{base}/videoCategories`.
    categories_url: reqwest::Url,
    key: Option<ApiKey>,
}

impl Client {
    /// `base_url` is the API root (`https://www.googleapis.com/youtube/v3`); `timeout` bounds each request.
    pub fn new(
        base_url: &str,
        key: Option<ApiKey>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let bad_url = |why: &'static str| ClientError::BaseUrl {
            url: base_url.to_string(),
            why,
        };
        let mut base = reqwest::Url::parse(base_url.trim_end_matches('/'))
            .map_err(|_| bad_url("is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad_url("must be http:// or https://"));
        }
        // Checked here rather than by the command line, so a library user cannot send the key
        // in clear text either. Loopback never leaves the machine (the fake API lives there).
        if let Some(key) = &key
            && base.scheme() == "http"
            && !is_loopback_url(&base)
        {
            return Err(ClientError::PlainHttp {
                url: key.redact(base_url),
            });
        }
        let mut categories_url = base.clone();
        categories_url
            .path_segments_mut()
            .map_err(|_| bad_url("cannot be a base URL"))?
            .push("videoCategories");
        base.path_segments_mut()
            .map_err(|_| bad_url("cannot be a base URL"))?
            .push("videos");
        let mut headers = HeaderMap::new();
        if let Some(key) = &key {
            let mut value =
                HeaderValue::from_str(key.expose()).map_err(|_| ClientError::KeyNotAHeader)?;
            value.set_sensitive(true);
            headers.insert("x-goog-api-key", value);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .default_headers(headers)
            .user_agent(concat!("trendlake/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Build(e.without_url().to_string()))?;
        Ok(Self {
            http,
            videos_url: base,
            categories_url,
            key,
        })
    }

    /// One page of a region's chart, parsed, with the body exactly as received (for the raw
    /// archive, so the page can be parsed again later without the API).
    pub async fn chart_page(
        &self,
        region: &str,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<ChartPage, ApiError> {
        self.category_chart_page(region, 0, max_results, page_token)
            .await
    }

    /// One page of a region's chart of `category` (`videoCategoryId`; 0 is the general chart,
    /// asked without the parameter). A category chart that does not exist is
    /// [`ErrorKind::ChartNotFound`] (`videoChartNotFound`, 400; or a 404 `notFound`).
    pub async fn category_chart_page(
        &self,
        region: &str,
        category: u32,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<ChartPage, ApiError> {
        let mut url = self.videos_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("part", "snippet,contentDetails,statistics")
                .append_pair("chart", "mostPopular")
                .append_pair("regionCode", region);
            if category != 0 {
                q.append_pair("videoCategoryId", &category.to_string());
            }
            q.append_pair("maxResults", &max_results.to_string());
            if let Some(token) = page_token {
                q.append_pair("pageToken", token);
            }
        }
        self.list(url).await
    }

    /// The video categories of `region` (`videoCategories.list?part=snippet&regionCode=R`,
    /// titles in the language `hl` names), with the body as received. One quota unit.
    pub async fn video_categories(
        &self,
        region: &str,
        hl: Option<&str>,
    ) -> Result<(VideoCategoryListResponse, bytes::Bytes), ApiError> {
        let mut url = self.categories_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("part", "snippet")
                .append_pair("regionCode", region);
            if let Some(hl) = hl {
                q.append_pair("hl", hl);
            }
        }
        self.get_json(url, "videoCategoryListResponse").await
    }

    /// Up to [`MAX_IDS`] videos by id (`videos.list?id=…`), with the parts tracking needs. The
    /// API leaves out a video that is deleted, private or otherwise unavailable, sends the others
    /// in any order and each once: match the items by `id`, never by position. One quota unit.
    pub async fn videos_by_id(&self, ids: &[String]) -> Result<ChartPage, ApiError> {
        if ids.is_empty() || ids.len() > MAX_IDS {
            return Err(ApiError::local(
                ErrorKind::Http,
                format!(
                    "a lookup asks for 1 to {MAX_IDS} ids, not {} (a bug: the caller batches)",
                    ids.len()
                ),
            ));
        }
        let mut url = self.videos_url.clone();
        url.query_pairs_mut()
            .append_pair("part", LOOKUP_PARTS)
            .append_pair("id", &ids.join(","));
        self.list(url).await
    }

    /// Send a `videos.list` request; the page parsed, with its body exactly as received.
    async fn list(&self, url: reqwest::Url) -> Result<ChartPage, ApiError> {
        let (response, body) = self.get_json(url, "videoListResponse").await?;
        Ok(ChartPage { response, body })
    }

    /// Send a request whose answer is JSON of type `T` (`kind` names it in errors); `T` parsed,
    /// with the body exactly as received.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: reqwest::Url,
        kind: &str,
    ) -> Result<(T, bytes::Bytes), ApiError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        if status.is_success() {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            let response = serde_json::from_slice::<T>(&body).map_err(|e| ApiError {
                // Cut-short JSON is a dropped connection (worth another try); an HTML page or
                // well-formed JSON of another shape will be the same next time.
                kind: if first == Some(&b'<') {
                    ErrorKind::NotJson
                } else if e.is_data() {
                    ErrorKind::UnexpectedShape
                } else {
                    ErrorKind::Decode
                },
                status: Some(status.as_u16()),
                reason: None,
                message: format!(
                    "the response is not a {kind} ({e}); it starts with {:?}",
                    self.snippet(&body)
                ),
                retry_after,
            })?;
            Ok((response, body))
        } else {
            Err(self.status_error(status, &body, retry_after))
        }
    }

    fn snippet(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(80)]);
        self.redact(&text)
    }

    fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(key) => key.redact(text),
            None => text.to_string(),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> ApiError {
        // A connect error (refused, DNS, connect timeout) means the request never left: it
        // costs no quota, which `fetch` relies on. Checked first: a connect timeout is both.
        let kind = if e.is_connect() {
            ErrorKind::Connect
        } else if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Transport
        };
        // reqwest quotes the URL; the key is never in it, but strip the URL anyway so a future
        // change to how the key is sent cannot leak it here.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        ApiError {
            kind,
            status: None,
            reason: None,
            message: self.redact(&message),
            retry_after: None,
        }
    }

    fn status_error(
        &self,
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> ApiError {
        let parsed = serde_json::from_slice::<ErrorResponse>(body).ok();
        let reason = parsed
            .as_ref()
            .and_then(|e| e.error.reason().map(str::to_string));
        let api_message = parsed.as_ref().and_then(|e| e.error.message.clone());
        let kind = match classify(status, reason.as_deref(), api_message.as_deref()) {
            // The API's "no such chart" 404 comes in Google's error envelope; a 404 without it
            // comes from a server, proxy or path that is not the API: a wrong base URL.
            ErrorKind::ChartNotFound if status == StatusCode::NOT_FOUND && parsed.is_none() => {
                ErrorKind::WrongBaseUrl
            }
            kind => kind,
        };
        let message = match api_message {
            Some(m) => strip_html(&m),
            None if kind == ErrorKind::WrongBaseUrl => format!(
                "{}{} answered HTTP {status} without the API's error body (it starts with {:?})",
                self.videos_url.origin().ascii_serialization(),
                self.videos_url.path(),
                self.snippet(body)
            ),
            None if parsed.is_some() => format!("HTTP {status} with no message"),
            None => format!("HTTP {status}; body starts with {:?}", self.snippet(body)),
        };
        ApiError {
            kind,
            status: Some(status.as_u16()),
            reason,
            message: self.redact(&message),
            retry_after,
        }
    }
}

/// Map status + reason to a kind, following the error catalogue of `docs/youtube_api.md`.
pub fn classify(status: StatusCode, reason: Option<&str>, message: Option<&str>) -> ErrorKind {
    match (status.as_u16(), reason) {
        (_, Some("quotaExceeded" | "dailyLimitExceeded")) => ErrorKind::QuotaExceeded,
        (_, Some("rateLimitExceeded" | "userRateLimitExceeded")) | (429, _) => {
            ErrorKind::RateLimited
        }
        (_, Some("keyInvalid")) => ErrorKind::BadKey,
        (_, Some("accessNotConfigured")) => ErrorKind::AccessNotConfigured,
        (_, Some("invalidRegionCode")) => ErrorKind::InvalidRegion,
        (_, Some("videoChartNotFound")) | (404, _) => ErrorKind::ChartNotFound,
        (_, Some("invalidPageToken")) => ErrorKind::InvalidPageToken,
        (400, _) if message.is_some_and(|m| m.contains("API key not valid")) => ErrorKind::BadKey,
        (403, _) if message.is_some_and(|m| m.contains("missing a valid API key")) => {
            ErrorKind::MissingKey
        }
        (500..=599, _) => ErrorKind::Backend,
        _ => ErrorKind::Http,
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    // Capped: a header from the network must not make a wait that overflows a deadline.
    const CAP: Duration = Duration::from_secs(86_400);
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(CAP));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO).min(CAP))
}

/// The quota message embeds an HTML link; keep its text only.
fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `{:?}` and `{:#?}` of `value` show where a key is (`[REDACTED]`), never `secret`: for the tests
/// of every struct that holds a key.
/// For the tests of every crate whose structs hold a key (the binary's settings, the fake API's).
#[doc(hidden)]
#[track_caller]
pub fn assert_debug_hides_key(value: &impl fmt::Debug, secret: &str) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(!text.contains(secret), "{text}");
        // The key is there, shown as hidden: the test looks at the right thing.
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_never_formats() {
        let key = ApiKey::new("AIzaSecret123");
        assert!(!format!("{key:?}").contains("Secret"));
        assert_eq!(key.redact("x AIzaSecret123 y"), "x [REDACTED] y");
    }

    const SECRET: &str = "AIzaSECRET-client-0123456789";

    fn with_key(base: &str) -> Result<Client, ClientError> {
        Client::new(base, Some(ApiKey::new(SECRET)), Duration::from_secs(1))
    }

    #[test]
    fn a_key_is_never_sent_over_plain_http_to_another_host() {
        for base in [
            "http://192.0.2.1:9/youtube/v3",
            "http://www.googleapis.com/youtube/v3",
            "HTTP://10.0.0.1/youtube/v3",
            "http://[2001:db8::1]/youtube/v3",
            // Not loopback, although it looks like it.
            "http://localhost.example.com/youtube/v3",
            "http://[::ffff:127.0.0.1]/youtube/v3",
        ] {
            let err = with_key(base).unwrap_err();
            assert!(
                matches!(err, ClientError::PlainHttp { .. }),
                "{base}: {err}"
            );
            let msg = err.to_string();
            assert!(msg.contains(&format!("{base:?}")), "names the URL: {msg}");
            assert!(
                msg.contains("https://") && msg.contains("loopback"),
                "{msg}"
            );
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(crate::Error::from(err).is_usage(), "exit 2: {base}");
        }
        // The URL is named, but never the key, even where a careless URL holds it.
        let err = with_key(&format!("http://192.0.2.1/youtube/v3?key={SECRET}")).unwrap_err();
        assert!(!err.to_string().contains(SECRET), "{err}");
        assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
        assert!(err.to_string().contains("key=[REDACTED]"), "{err}");
    }

    #[test]
    fn https_loopback_and_no_key_are_accepted() {
        for base in [
            "https://www.googleapis.com/youtube/v3",
            "https://192.0.2.1:9/youtube/v3",
            "http://127.0.0.1:8787/youtube/v3",
            "http://127.3.2.1/youtube/v3",
            "http://localhost:8787/youtube/v3",
            "http://LOCALHOST/youtube/v3",
            "http://[::1]:8787/youtube/v3",
        ] {
            assert!(with_key(base).is_ok(), "{base}");
        }
        // Without a key nothing secret travels (the command line asks for a key elsewhere).
        assert!(
            Client::new(
                "http://192.0.2.1:9/youtube/v3",
                None,
                Duration::from_secs(1)
            )
            .is_ok()
        );
    }

    #[test]
    fn client_debug_hides_the_key() {
        let client = with_key("https://www.googleapis.com/youtube/v3").unwrap();
        assert_debug_hides_key(&client, SECRET);
        assert!(format!("{client:?}").contains("googleapis"));
    }

    #[test]
    fn classifies_the_catalogue() {
        let s = |c| StatusCode::from_u16(c).unwrap();
        assert_eq!(
            classify(s(403), Some("quotaExceeded"), None),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(
            classify(s(403), Some("rateLimitExceeded"), None),
            ErrorKind::RateLimited
        );
        assert_eq!(classify(s(429), None, None), ErrorKind::RateLimited);
        assert_eq!(
            classify(
                s(400),
                Some("badRequest"),
                Some("API key not valid. Please pass a valid API key.")
            ),
            ErrorKind::BadKey
        );
        assert_eq!(
            classify(s(400), Some("invalidRegionCode"), None),
            ErrorKind::InvalidRegion
        );
        assert_eq!(
            classify(s(400), Some("videoChartNotFound"), None),
            ErrorKind::ChartNotFound
        );
        assert_eq!(
            classify(s(404), Some("notFound"), None),
            ErrorKind::ChartNotFound
        );
        assert_eq!(classify(s(500), None, None), ErrorKind::Backend);
        assert_eq!(
            classify(s(503), Some("backendError"), None),
            ErrorKind::Backend
        );
    }

    #[test]
    fn error_kinds_serialise_under_their_stable_names() {
        for kind in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.name())
            );
        }
        let names: std::collections::HashSet<_> = ErrorKind::ALL.map(ErrorKind::name).into();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        assert_eq!(ErrorKind::QuotaExceeded.name(), "quota_exceeded");
        assert_eq!(ErrorKind::RateLimited.to_string(), "rate_limited");
        assert_eq!(ErrorKind::WrongBaseUrl.name(), "wrong_base_url");
    }

    #[test]
    fn a_404_without_the_error_envelope_is_a_wrong_base_url() {
        let client = Client::new("http://127.0.0.1:9", None, Duration::from_secs(1)).unwrap();
        let not_found = StatusCode::NOT_FOUND;
        let e = client.status_error(not_found, b"<html>Not Found</html>", None);
        assert_eq!(e.kind, ErrorKind::WrongBaseUrl);
        assert!(
            e.message
                .contains("http://127.0.0.1:9/videos answered HTTP 404"),
            "{}",
            e.message
        );
        assert!(e.kind.advice().contains("/youtube/v3"));
        assert!(e.kind.stops_run() && !e.kind.is_transient());
        // The API's own 404 for a chart it does not have keeps its meaning.
        let body = br#"{"error": {"code": 404, "message": "Requested entity was not found.",
            "errors": [{"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}]}}"#;
        let e = client.status_error(not_found, body, None);
        assert_eq!(e.kind, ErrorKind::ChartNotFound);
        // Another status without the envelope stays a plain HTTP error.
        let e = client.status_error(StatusCode::BAD_GATEWAY, b"bad gateway", None);
        assert_eq!(e.kind, ErrorKind::Backend);
        let e = client.status_error(StatusCode::GONE, b"gone", None);
        assert_eq!(e.kind, ErrorKind::Http);
    }

    #[test]
    fn quota_resets_at_pacific_midnight() {
        use chrono::TimeZone;
        // 2026-11-26 03:00 UTC is 19:00 PST (UTC−8) on the 25th: 5 hours to go.
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        assert_eq!(until_quota_reset(now), "5h00m");
        // In summer (PDT, UTC−7): 2026-07-01 06:48 UTC is 23:48 PDT on June 30.
        let now = chrono::Utc.with_ymd_and_hms(2026, 7, 1, 6, 48, 0).unwrap();
        assert_eq!(until_quota_reset(now), "0h12m");
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn quota_message_loses_its_link() {
        let m = "exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";
        assert_eq!(strip_html(m), "exceeded your quota.");
    }
}
