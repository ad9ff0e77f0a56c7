//! Fault injection for the fake API: a JSON plan of faults, each aimed at a region and page, that
//! reproduce the real API's error answers (and the failures of the network and proxies in front
//! of it) so that a client's retry and reporting can be tested against every one of them.
//!
//! A plan file looks like
//! `{"faults": [{"region": "JP", "page": 2, "times": 1, "kind": "rate_limit_429", "retry_after": "2"}]}`.
//! Faults are tried in plan order; the first that matches the request and has occurrences left
//! is consumed and answers instead of the normal page.
//!
//! Lookups by id meet the same plan as region [`LOOKUP_REGION`] (`"ids"`), their `page` being
//! their number among the distinct id lists looked up that day (a retry keeps its number). The
//! kinds that only make sense for a chart ([`FaultKind::applies_to_lookups`]) are refused in a
//! plan that aims them at `"ids"`, and a `"*"` entry of such a kind lets lookups through.
//!
//! An entry may also name a `category`: without one it matches every chart of its region (the
//! general chart and the category charts) and lookups, as plans did before category charts;
//! `"0"` matches the general chart only, `"25"` the region's chart of category 25 only, and
//! [`CATEGORIES_TARGET`] (`"categories"`) the region's `videoCategories.list` calls (always
//! page 1), which no entry without a category touches.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{
    ApiError, CATEGORIES_TARGET, LOOKUP_REGION, ServerState, VideosRequest, json_response, lookup,
    respond,
};

/// One way for a `videos.list` call to go wrong. Plans name them by the explicit serde names
/// below, which are a stable interface (docs/fake_api.md, plan files): renaming a variant keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    /// 429 `usageLimits` / `rateLimitExceeded`.
    #[serde(rename = "rate_limit_429")]
    RateLimit429,
    /// 403 `usageLimits` / `rateLimitExceeded`.
    #[serde(rename = "rate_limit_403")]
    RateLimit403,
    /// 403 `usageLimits` / `userRateLimitExceeded`.
    #[serde(rename = "user_rate_limit_403")]
    UserRateLimit403,
    /// 500 `global` / `backendError`.
    #[serde(rename = "backend_500")]
    Backend500,
    /// 503 `global` / `backendError`.
    #[serde(rename = "backend_503")]
    Backend503,
    /// 500 with the bare body `{"error":{"code":500,"message":null}}`.
    #[serde(rename = "backend_500_null_message")]
    Backend500NullMessage,
    /// 403 `youtube.quota` / `quotaExceeded`, as when the daily quota is spent.
    #[serde(rename = "quota_exceeded")]
    QuotaExceeded,
    /// 400 "API key not valid. Please pass a valid API key."
    #[serde(rename = "bad_key")]
    BadKey,
    /// 400 `youtube.parameter` / `invalidRegionCode`.
    #[serde(rename = "invalid_region")]
    InvalidRegion,
    /// 400 `youtube.video` / `videoChartNotFound`, the documented "no such chart".
    #[serde(rename = "chart_not_found_400")]
    ChartNotFound400,
    /// 404 `global` / `notFound`, the "no such chart" seen live.
    #[serde(rename = "chart_not_found_404")]
    ChartNotFound404,
    /// 400 `youtube.parameter` / `invalidPageToken`.
    #[serde(rename = "invalid_page_token")]
    InvalidPageToken,
    /// The normal answer, but only after `hang_ms` (longer than any client timeout).
    #[serde(rename = "hang")]
    Hang,
    /// Status and headers of the normal answer, a few bytes of its body, then the connection drops.
    #[serde(rename = "reset")]
    Reset,
    /// A complete 200 whose JSON body is cut in half (Content-Length matches the cut body).
    #[serde(rename = "truncated")]
    Truncated,
    /// A 200 `text/html` page, as a captive portal or a misconfigured proxy answers.
    #[serde(rename = "html")]
    Html,
    /// A well-formed 200 with no items and no `nextPageToken`, though `pageInfo` announces 200:
    /// a chart cut short (seen while YouTube rebuilds a chart).
    #[serde(rename = "empty_page")]
    EmptyPage,
    /// The page starts one item early, as when a video climbs into the chart while a client
    /// pages: the previous page's last item comes again and one item is never seen.
    #[serde(rename = "shift")]
    Shift,
}

impl FaultKind {
    pub const ALL: [FaultKind; 18] = [
        FaultKind::RateLimit429,
        FaultKind::RateLimit403,
        FaultKind::UserRateLimit403,
        FaultKind::Backend500,
        FaultKind::Backend503,
        FaultKind::Backend500NullMessage,
        FaultKind::QuotaExceeded,
        FaultKind::BadKey,
        FaultKind::InvalidRegion,
        FaultKind::ChartNotFound400,
        FaultKind::ChartNotFound404,
        FaultKind::InvalidPageToken,
        FaultKind::Hang,
        FaultKind::Reset,
        FaultKind::Truncated,
        FaultKind::Html,
        FaultKind::EmptyPage,
        FaultKind::Shift,
    ];

    /// The name used in plans and in the request log (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RateLimit429 => "rate_limit_429",
            FaultKind::RateLimit403 => "rate_limit_403",
            FaultKind::UserRateLimit403 => "user_rate_limit_403",
            FaultKind::Backend500 => "backend_500",
            FaultKind::Backend503 => "backend_503",
            FaultKind::Backend500NullMessage => "backend_500_null_message",
            FaultKind::QuotaExceeded => "quota_exceeded",
            FaultKind::BadKey => "bad_key",
            FaultKind::InvalidRegion => "invalid_region",
            FaultKind::ChartNotFound400 => "chart_not_found_400",
            FaultKind::ChartNotFound404 => "chart_not_found_404",
            FaultKind::InvalidPageToken => "invalid_page_token",
            FaultKind::Hang => "hang",
            FaultKind::Reset => "reset",
            FaultKind::Truncated => "truncated",
            FaultKind::Html => "html",
            FaultKind::EmptyPage => "empty_page",
            FaultKind::Shift => "shift",
        }
    }

    /// Whether the kind can answer a lookup by id: not the ones about a region, a chart or a page
    /// token (`invalid_region`, `chart_not_found_400`, `chart_not_found_404`,
    /// `invalid_page_token`, `shift`), which a lookup cannot get from the real API.
    pub fn applies_to_lookups(self) -> bool {
        !matches!(
            self,
            FaultKind::InvalidRegion
                | FaultKind::ChartNotFound400
                | FaultKind::ChartNotFound404
                | FaultKind::InvalidPageToken
                | FaultKind::Shift
        )
    }

    /// Whether the kind can answer a `videoCategories.list` call: not the ones about a chart or
    /// a page token (`chart_not_found_400`, `chart_not_found_404`, `invalid_page_token`,
    /// `shift`).
    pub fn applies_to_categories(self) -> bool {
        !matches!(
            self,
            FaultKind::ChartNotFound400
                | FaultKind::ChartNotFound404
                | FaultKind::InvalidPageToken
                | FaultKind::Shift
        )
    }

    /// The status line the client receives (if it waits long enough, for `hang`).
    pub fn status(self) -> StatusCode {
        match self.api_error() {
            Some(e) => e.status,
            None if self == FaultKind::Backend500NullMessage => StatusCode::INTERNAL_SERVER_ERROR,
            None => StatusCode::OK,
        }
    }

    /// The API's own error answer for the kinds that are one.
    fn api_error(self) -> Option<ApiError> {
        let error = match self {
            FaultKind::RateLimit429 => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate Limit Exceeded",
                "usageLimits",
                "rateLimitExceeded",
            )
            // Google's 429s are the newer style and carry the gRPC status.
            .with_status("RESOURCE_EXHAUSTED"),
            FaultKind::RateLimit403 => ApiError::new(
                StatusCode::FORBIDDEN,
                "Rate Limit Exceeded",
                "usageLimits",
                "rateLimitExceeded",
            ),
            FaultKind::UserRateLimit403 => ApiError::new(
                StatusCode::FORBIDDEN,
                "User Rate Limit Exceeded",
                "usageLimits",
                "userRateLimitExceeded",
            ),
            FaultKind::Backend500 => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Backend Error",
                "global",
                "backendError",
            ),
            FaultKind::Backend503 => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Backend Error",
                "global",
                "backendError",
            ),
            FaultKind::QuotaExceeded => ApiError::quota_exceeded(),
            FaultKind::BadKey => ApiError::bad_key(),
            FaultKind::InvalidRegion => ApiError::invalid_region(),
            FaultKind::ChartNotFound400 => ApiError::chart_not_found(),
            FaultKind::ChartNotFound404 => ApiError::not_found(),
            FaultKind::InvalidPageToken => ApiError::invalid_page_token(),
            FaultKind::Backend500NullMessage
            | FaultKind::Hang
            | FaultKind::Reset
            | FaultKind::Truncated
            | FaultKind::Html
            | FaultKind::EmptyPage
            | FaultKind::Shift => return None,
        };
        Some(error)
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How long a `hang` lasts by default: longer than any sensible client timeout.
pub const DEFAULT_HANG: Duration = Duration::from_millis(120_000);

/// One entry of a fault plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A region code, `"ids"` ([`LOOKUP_REGION`]) for lookups by id, or `"*"` for every region
    /// and lookups too (those of its kind can answer, [`FaultKind::applies_to_lookups`]).
    #[serde(default = "any_region")]
    pub region: String,
    /// 1-based page of the region's chart at the request's page size; for lookups, the number of
    /// the lookup's id list among the distinct lists looked up that day; `None` for any page.
    #[serde(default)]
    pub page: Option<usize>,
    /// How many matching requests get the fault; `0` means all of them, forever.
    #[serde(default = "once")]
    pub times: u32,
    pub kind: FaultKind,
    /// The literal `Retry-After` value to send (`"2"`, `"0"`, an HTTP date, …).
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Send `Retry-After` as the HTTP date this many seconds after the answer.
    #[serde(default)]
    pub retry_after_http_date_in: Option<u64>,
    /// How long a `hang` lasts, in milliseconds (default 120000).
    #[serde(default)]
    pub hang_ms: Option<u64>,
    /// Which of the region's requests: `None` for every chart (general and category charts,
    /// and lookups for `"ids"`/`"*"`); a category id (`"0"` the general chart only, `"25"` the
    /// chart of category 25); or [`CATEGORIES_TARGET`] for `videoCategories.list` calls.
    #[serde(default)]
    pub category: Option<String>,
}

fn any_region() -> String {
    "*".to_owned()
}

fn once() -> u32 {
    1
}

impl Fault {
    /// One occurrence of `kind` on any region and page; refine with the builder methods.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            region: any_region(),
            page: None,
            times: once(),
            kind,
            retry_after: None,
            retry_after_http_date_in: None,
            hang_ms: None,
            category: None,
        }
    }

    /// Aims the fault at one chart (`"0"`, `"25"`) or at `videoCategories.list`
    /// ([`CATEGORIES_TARGET`]).
    pub fn category(mut self, category: &str) -> Self {
        self.category = Some(category.to_owned());
        self
    }

    pub fn region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.region);
        self
    }

    pub fn page(mut self, page: usize) -> Self {
        self.page = Some(page);
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    pub fn retry_after(mut self, value: &str) -> Self {
        self.retry_after = Some(value.to_owned());
        self
    }

    pub fn retry_after_http_date_in(mut self, secs: u64) -> Self {
        self.retry_after_http_date_in = Some(secs);
        self
    }

    pub fn hang_ms(mut self, ms: u64) -> Self {
        self.hang_ms = Some(ms);
        self
    }

    /// Rejects entries that could never fire or that contradict themselves, so a typo in a plan
    /// fails loudly instead of silently testing nothing.
    pub fn validate(&self) -> Result<(), FaultError> {
        if self.region != "*"
            && self.region != LOOKUP_REGION
            && trendlake::regions::region(&self.region).is_none()
        {
            return Err(FaultError::Region(self.region.clone()));
        }
        if self.region == LOOKUP_REGION && !self.kind.applies_to_lookups() {
            return Err(FaultError::NotForLookups(self.kind));
        }
        if self.page == Some(0) {
            return Err(FaultError::PageZero);
        }
        if self.retry_after.is_some() && self.retry_after_http_date_in.is_some() {
            return Err(FaultError::TwoRetryAfters);
        }
        if let Some(value) = &self.retry_after
            && (value.is_empty() || HeaderValue::from_str(value).is_err())
        {
            return Err(FaultError::RetryAfterValue(value.clone()));
        }
        if self.hang_ms.is_some() && self.kind != FaultKind::Hang {
            return Err(FaultError::HangMsWithoutHang(self.kind));
        }
        if let Some(category) = &self.category {
            let is_id = !category.is_empty()
                && category.len() <= 9
                && category.bytes().all(|b| b.is_ascii_digit())
                && (category == "0" || !category.starts_with('0'));
            if !is_id && category != CATEGORIES_TARGET {
                return Err(FaultError::Category(category.clone()));
            }
            if self.region == LOOKUP_REGION {
                return Err(FaultError::CategoryForLookups);
            }
            if category == CATEGORIES_TARGET && !self.kind.applies_to_categories() {
                return Err(FaultError::NotForCategories(self.kind));
            }
        }
        Ok(())
    }

    /// Whether the fault answers a valid request of `region`, `page` and `target`: the chart's
    /// category id (`"0"` for the general chart), [`CATEGORIES_TARGET`], or `None` for a lookup.
    fn matches(&self, region: &str, page: usize, target: Option<&str>) -> bool {
        let lookup = region == LOOKUP_REGION;
        let aimed = match (&self.category, target) {
            (None, target) => target != Some(CATEGORIES_TARGET),
            (Some(wanted), Some(target)) => wanted == target,
            (Some(_), None) => false,
        };
        (self.region == region
            || (self.region == "*" && (!lookup || self.kind.applies_to_lookups())))
            && self.page.is_none_or(|p| p == page)
            && aimed
    }

    /// The `Retry-After` value, computed when the answer is sent.
    fn retry_after_header(&self) -> Option<HeaderValue> {
        if let Some(value) = &self.retry_after {
            return HeaderValue::from_str(value).ok();
        }
        let secs = self.retry_after_http_date_in?;
        HeaderValue::from_str(&http_date_in(secs)).ok()
    }
}

/// The IMF-fixdate `secs` seconds from now, rounded up to the next whole second: an HTTP date
/// has no fractions, and truncating would let a client honouring it wait less than `secs`.
pub fn http_date_in(secs: u64) -> String {
    let now = chrono::Utc::now();
    let whole = now.timestamp()
        + i64::try_from(secs).unwrap_or(i64::MAX / 2)
        + i64::from(now.timestamp_subsec_nanos() > 0);
    chrono::DateTime::from_timestamp(whole, 0)
        .unwrap_or(now)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// What is wrong with one fault of a plan.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// Not a fault's shape: an unknown kind or field, a missing `kind`, a value of the wrong
    /// type (serde's message, which names the kind or field).
    #[error("{0}")]
    Shape(serde_json::Error),
    #[error("unknown fault kind {0:?}; expected one of {names}", names = FaultKind::ALL.map(FaultKind::name).join(", "))]
    UnknownKind(String),
    #[error(
        "region {0:?} is not a supported region code (upper case, e.g. \"JP\"), \"ids\" nor \"*\""
    )]
    Region(String),
    #[error("kind \"{0}\" cannot answer a lookup by id (region \"ids\"): it is about a chart")]
    NotForLookups(FaultKind),
    #[error("page is 1-based; 0 never matches")]
    PageZero,
    #[error("give retry_after or retry_after_http_date_in, not both")]
    TwoRetryAfters,
    #[error("retry_after {0:?} is not a valid header value")]
    RetryAfterValue(String),
    #[error("hang_ms applies only to kind \"hang\", not \"{0}\"")]
    HangMsWithoutHang(FaultKind),
    #[error("category {0:?} is neither a category id (\"0\", \"25\") nor \"categories\"")]
    Category(String),
    #[error("a lookup by id (region \"ids\") has no category")]
    CategoryForLookups,
    #[error(
        "kind \"{0}\" cannot answer videoCategories.list (category \"categories\"): it is about a chart"
    )]
    NotForCategories(FaultKind),
}

/// Why a fault plan was rejected: names the file (when read from one), the fault (1-based, as
/// it appears in the plan) and the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum FaultPlanError {
    #[error("cannot read fault plan {}: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}expected {{\"faults\": [...]}}: {source}", in_file(file.as_deref()))]
    NotAPlan {
        file: Option<PathBuf>,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}fault #{index}{} {entry}: {problem}", in_file(file.as_deref()), field.as_deref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Fault {
        file: Option<PathBuf>,
        /// 1-based position in the plan.
        index: usize,
        /// The field at fault, when one is (`kind`, `region`, `times`, …).
        field: Option<String>,
        /// The entry as written.
        entry: String,
        problem: FaultError,
    },
}

fn in_file(file: Option<&Path>) -> String {
    file.map(|f| format!("fault plan {}: ", f.display()))
        .unwrap_or_default()
}

impl FaultPlanError {
    fn in_file(mut self, path: &Path) -> Self {
        if let FaultPlanError::NotAPlan { file, .. } | FaultPlanError::Fault { file, .. } =
            &mut self
        {
            *file = Some(path.to_path_buf());
        }
        self
    }

    /// The field at fault, if the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            FaultPlanError::Fault { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    faults: Vec<serde_json::Value>,
}

/// Reads a fault plan file (`{"faults": [...]}`); errors name the file, the fault and the field.
pub fn load_faults(path: impl AsRef<Path>) -> Result<Vec<Fault>, FaultPlanError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| FaultPlanError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    parse_faults(&text).map_err(|e| e.in_file(path))
}

/// Parses the text of a fault plan (see [`load_faults`]).
pub fn parse_faults(text: &str) -> Result<Vec<Fault>, FaultPlanError> {
    let plan: PlanFile = serde_json::from_str(text)
        .map_err(|source| FaultPlanError::NotAPlan { file: None, source })?;
    plan.faults
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            // Entries are parsed one by one so the error can quote the entry at fault.
            let fault = |field: Option<String>, problem| FaultPlanError::Fault {
                file: None,
                index: i + 1,
                field,
                entry: entry.to_string(),
                problem,
            };
            if let Some(kind) = entry.get("kind").and_then(serde_json::Value::as_str)
                && !FaultKind::ALL.iter().any(|k| k.name() == kind)
            {
                let problem = FaultError::UnknownKind(kind.to_owned());
                return Err(fault(problem.field().map(str::to_owned), problem));
            }
            let parsed: Fault = serde_path_to_error::deserialize(&entry).map_err(|e| {
                let path = e.path().to_string();
                let field = (path != ".")
                    .then_some(path)
                    .or_else(|| named_field(e.inner()));
                fault(field, FaultError::Shape(e.into_inner()))
            })?;
            match parsed.validate() {
                Ok(()) => Ok(parsed),
                Err(problem) => Err(fault(problem.field().map(str::to_owned), problem)),
            }
        })
        .collect()
}

/// The field serde names in "unknown field `x`" and "missing field `x`", which it reports
/// against the entry as a whole.
fn named_field(e: &serde_json::Error) -> Option<String> {
    let message = e.to_string();
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    Some(rest.split('`').next()?.to_owned())
}

impl FaultError {
    /// The field this problem is about (for [`FaultError::Shape`], see [`parse_faults`]).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            FaultError::Shape(_) => None,
            FaultError::UnknownKind(_) | FaultError::NotForLookups(_) => Some("kind"),
            FaultError::Region(_) => Some("region"),
            FaultError::PageZero => Some("page"),
            FaultError::TwoRetryAfters | FaultError::RetryAfterValue(_) => Some("retry_after"),
            FaultError::HangMsWithoutHang(_) => Some("hang_ms"),
            FaultError::Category(_) | FaultError::CategoryForLookups => Some("category"),
            FaultError::NotForCategories(_) => Some("kind"),
        }
    }
}

/// A plan being consumed by a running server.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    /// Each fault with the occurrences it has used.
    slots: Mutex<Vec<(Fault, u32)>>,
}

impl FaultPlan {
    pub(crate) fn new(faults: Vec<Fault>) -> Self {
        FaultPlan {
            slots: Mutex::new(faults.into_iter().map(|f| (f, 0)).collect()),
        }
    }

    /// Consumes one occurrence of the first fault that matches and has occurrences left; under
    /// one lock, so concurrent requests never share the last occurrence.
    pub(crate) fn take(&self, region: &str, page: usize, target: Option<&str>) -> Option<Fault> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let (fault, used) = slots.iter_mut().find(|(f, used)| {
            f.matches(region, page, target) && (f.times == 0 || *used < f.times)
        })?;
        *used = used.saturating_add(1);
        Some(fault.clone())
    }
}

/// The answer to `request` when `fault` fires.
pub(crate) async fn answer(
    state: &ServerState,
    request: &VideosRequest,
    fault: &Fault,
) -> Response {
    answer_with(
        fault,
        || respond(state, request),
        || {
            if request.is_lookup() {
                lookup::empty()
            } else {
                empty_page(request)
            }
        },
        || {
            // Never aimed at a lookup (refused in a plan, skipped by `"*"`); a lookup would be
            // answered normally.
            let mut shifted = request.clone();
            if !request.is_lookup() {
                shifted.start = request.start.saturating_sub(1);
            }
            respond(state, &shifted)
        },
    )
    .await
}

/// `fault`'s answer, given the normal answer, an empty one and a shifted one.
pub(crate) async fn answer_with(
    fault: &Fault,
    normal: impl Fn() -> Response,
    empty: impl Fn() -> Response,
    shifted: impl Fn() -> Response,
) -> Response {
    let mut response = match fault.kind {
        FaultKind::Backend500NullMessage => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":{"code":500,"message":null}}"#.to_vec(),
        ),
        FaultKind::Hang => {
            // Only this request's task sleeps; the server keeps answering the others.
            tokio::time::sleep(fault.hang_ms.map_or(DEFAULT_HANG, Duration::from_millis)).await;
            normal()
        }
        FaultKind::Reset => reset(normal()).await,
        FaultKind::Truncated => truncated(normal()).await,
        FaultKind::Html => html(),
        FaultKind::EmptyPage => empty(),
        FaultKind::Shift => shifted(),
        kind => kind
            .api_error()
            .expect("every other kind is an API error")
            .into_response(),
    };
    if let Some(value) = fault.retry_after_header() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// How many bytes of the real body a reset lets through before dropping the connection.
const RESET_AFTER: usize = 64;

/// Headers (with the full Content-Length) and the start of the body, then an error from the body
/// stream, which makes hyper abort the connection mid-body as a reset or a dying proxy would.
async fn reset(normal: Response) -> Response {
    let (mut parts, body) = normal.into_parts();
    let full = body_bytes(body).await;
    let head = full.slice(..RESET_AFTER.min(full.len() / 2));
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures::stream::once(async {
            // A pause lets hyper flush the first bytes, so the client really sees a partial body
            // rather than a connection closed before any of it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fault injection: connection reset mid-body",
            ))
        }),
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The first half of the normal body as a complete message: the client gets a clean 200 and
/// a Content-Length it can trust, and only the JSON parser can tell that anything is wrong.
async fn truncated(normal: Response) -> Response {
    let (mut parts, body) = normal.into_parts();
    let full = body_bytes(body).await;
    let cut = full.slice(..full.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(cut.len()));
    Response::from_parts(parts, Body::from(cut))
}

async fn body_bytes(body: Body) -> Bytes {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the fake's own bodies are in memory")
}

/// A chart page with nothing on it, in the real envelope.
fn empty_page(request: &VideosRequest) -> Response {
    let body = serde_json::json!({
        "kind": "youtube#videoListResponse",
        "etag": "Fz1qkk3YkgRrP0TQPR6rn8HqsbE",
        "items": [],
        "pageInfo": {"totalResults": 200, "resultsPerPage": request.max_results},
    });
    json_response(
        StatusCode::OK,
        serde_json::to_vec_pretty(&body).expect("JSON"),
    )
}

/// A captive portal's sign-in page: what a client gets from hotel or train Wi-Fi.
const CAPTIVE_PORTAL: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5; url=http://portal.hotspot.example/login">
<title>Sign in to the network</title>
</head>
<body>
<h1>Welcome to Guest Wi-Fi</h1>
<p>You must accept the terms of use before you can access the Internet.</p>
<form method="post" action="http://portal.hotspot.example/accept">
<button type="submit">Accept and connect</button>
</form>
</body>
</html>
"#;

fn html() -> Response {
    let mut response = (StatusCode::OK, CAPTIVE_PORTAL).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FakeApi, FakeConfig};

    async fn start(faults: Vec<Fault>) -> FakeApi {
        start_with(FakeConfig { faults, ..config() }).await
    }

    fn config() -> FakeConfig {
        FakeConfig {
            date: Some("2026-11-25".parse().unwrap()),
            ..FakeConfig::default()
        }
    }

    async fn start_with(config: FakeConfig) -> FakeApi {
        FakeApi::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    /// Page `page` (1-based, 50 a page) of `region`'s chart.
    fn request(
        api: &FakeApi,
        client: &reqwest::Client,
        region: &str,
        page: u32,
    ) -> reqwest::RequestBuilder {
        let mut query = vec![
            ("part", "snippet,contentDetails,statistics".to_owned()),
            ("chart", "mostPopular".to_owned()),
            ("regionCode", region.to_owned()),
            ("maxResults", "50".to_owned()),
        ];
        if page > 1 {
            query.push((
                "pageToken",
                crate::page_token::PageToken::next((page - 1) * 50).encode(),
            ));
        }
        client
            .get(format!("{}/videos", api.base_url()))
            .query(&query)
    }

    async fn get(api: &FakeApi, region: &str, page: u32) -> reqwest::Response {
        request(api, &reqwest::Client::new(), region, page)
            .send()
            .await
            .unwrap()
    }

    async fn status_of(api: &FakeApi, region: &str, page: u32) -> u16 {
        let response = get(api, region, page).await;
        let status = response.status().as_u16();
        // Read the body so that a 200 is known to be a whole, valid page.
        let body: serde_json::Value = response.json().await.unwrap();
        if status == 200 {
            assert_eq!(body["items"].as_array().unwrap().len(), 50);
        }
        status
    }

    #[tokio::test]
    async fn each_error_kind_is_the_apis_own_answer() {
        use FaultKind::*;
        let quota = "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";
        for (kind, status, domain, reason, message) in [
            (
                RateLimit429,
                429,
                "usageLimits",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
            (
                RateLimit403,
                403,
                "usageLimits",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
            (
                UserRateLimit403,
                403,
                "usageLimits",
                "userRateLimitExceeded",
                "User Rate Limit Exceeded",
            ),
            (Backend500, 500, "global", "backendError", "Backend Error"),
            (Backend503, 503, "global", "backendError", "Backend Error"),
            (QuotaExceeded, 403, "youtube.quota", "quotaExceeded", quota),
            (
                BadKey,
                400,
                "global",
                "badRequest",
                "API key not valid. Please pass a valid API key.",
            ),
            (
                InvalidRegion,
                400,
                "youtube.parameter",
                "invalidRegionCode",
                "The <code>regionCode</code> parameter specifies an invalid region code.",
            ),
            (
                ChartNotFound400,
                400,
                "youtube.video",
                "videoChartNotFound",
                "The requested video chart is not supported or is not available.",
            ),
            (
                ChartNotFound404,
                404,
                "global",
                "notFound",
                "Requested entity was not found.",
            ),
            (
                InvalidPageToken,
                400,
                "youtube.parameter",
                "invalidPageToken",
                "The request specifies an invalid page token.",
            ),
        ] {
            let api = start(vec![Fault::new(kind).region("JP")]).await;
            let response = get(&api, "JP", 1).await;
            assert_eq!(response.status().as_u16(), status, "{kind}");
            assert_eq!(kind.status().as_u16(), status, "{kind}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/json; charset=UTF-8"
            );
            assert!(response.headers().get(header::RETRY_AFTER).is_none());
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], status, "{kind}");
            assert_eq!(body["error"]["message"], message, "{kind}");
            let item = &body["error"]["errors"][0];
            assert_eq!(
                (
                    item["domain"].as_str(),
                    item["reason"].as_str(),
                    item["message"].as_str()
                ),
                (Some(domain), Some(reason), Some(message)),
                "{kind}"
            );
            // The fault was used up: the same request now gets its page.
            assert_eq!(status_of(&api, "JP", 1).await, 200, "{kind}");
        }
    }

    #[tokio::test]
    async fn null_message_backend_error_is_the_bare_body() {
        let api = start(vec![Fault::new(FaultKind::Backend500NullMessage)]).await;
        let response = get(&api, "US", 1).await;
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"error":{"code":500,"message":null}}"#
        );
    }

    #[tokio::test]
    async fn retry_after_is_sent_as_given_or_as_an_http_date() {
        let api = start(vec![
            Fault::new(FaultKind::RateLimit429).page(1).retry_after("2"),
            Fault::new(FaultKind::Backend503).page(1).retry_after("0"),
            Fault::new(FaultKind::RateLimit403)
                .page(1)
                .retry_after_http_date_in(2),
        ])
        .await;
        let retry_after = |r: &reqwest::Response| {
            r.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .to_owned()
        };
        let first = get(&api, "JP", 1).await;
        assert_eq!(
            (first.status().as_u16(), retry_after(&first).as_str()),
            (429, "2")
        );
        let second = get(&api, "JP", 1).await;
        assert_eq!(
            (second.status().as_u16(), retry_after(&second).as_str()),
            (503, "0")
        );
        let before = chrono::Utc::now();
        let third = get(&api, "JP", 1).await;
        let after = chrono::Utc::now();
        assert_eq!(third.status().as_u16(), 403);
        let date = retry_after(&third);
        // IMF-fixdate: `Wed, 21 Oct 2015 07:28:00 GMT`.
        assert_eq!(date.len(), 29, "{date}");
        assert!(date.ends_with(" GMT"), "{date}");
        let when = chrono::DateTime::parse_from_rfc2822(&date).unwrap();
        // Made between `before` and `after`, 2 s ahead, rounded up to a whole second.
        assert!(
            when >= before + chrono::TimeDelta::seconds(2)
                && when <= after + chrono::TimeDelta::seconds(3),
            "{date}: not 2 s after the request ({before} … {after})"
        );
        assert_eq!(status_of(&api, "JP", 1).await, 200);
    }

    #[test]
    fn http_dates_round_up_so_a_client_never_waits_less() {
        for _ in 0..3 {
            let before = chrono::Utc::now();
            let date = chrono::DateTime::parse_from_rfc2822(&http_date_in(2)).unwrap();
            let after = chrono::Utc::now();
            assert!(date >= before + chrono::TimeDelta::seconds(2), "{date}");
            assert!(date <= after + chrono::TimeDelta::seconds(3), "{date}");
        }
    }

    #[tokio::test]
    async fn faults_match_region_and_page_and_are_consumed_in_plan_order() {
        let api = start(vec![
            Fault::new(FaultKind::RateLimit429).region("JP").page(2),
            Fault::new(FaultKind::Backend503).times(2),
            Fault::new(FaultKind::BadKey).region("KR").times(0),
        ])
        .await;
        // JP page 1 skips the page-2 fault and takes the wildcard one.
        assert_eq!(status_of(&api, "JP", 1).await, 503);
        assert_eq!(status_of(&api, "JP", 2).await, 429);
        assert_eq!(status_of(&api, "US", 3).await, 503, "wildcard region");
        assert_eq!(status_of(&api, "JP", 2).await, 200, "times 1 is used up");
        assert_eq!(status_of(&api, "US", 3).await, 200, "times 2 is used up");
        for _ in 0..5 {
            assert_eq!(status_of(&api, "KR", 4).await, 400, "times 0 is forever");
        }
        assert_eq!(status_of(&api, "JP", 1).await, 200);
        assert_eq!(api.requests(), 11);
    }

    #[tokio::test]
    async fn faults_come_after_validation_and_still_cost_quota() {
        let api = start_with(FakeConfig {
            quota: Some(3),
            faults: vec![Fault::new(FaultKind::Backend503).times(2)],
            ..config()
        })
        .await;
        // A request the API rejects anyway leaves the fault for the next valid one.
        let response = get(&api, "XX", 1).await;
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(status_of(&api, "JP", 1).await, 503);
        assert_eq!(status_of(&api, "JP", 1).await, 503);
        // Four units spent (the rejected request too): quota answers, not the plan.
        let response = get(&api, "JP", 1).await;
        assert_eq!(response.status().as_u16(), 403);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["errors"][0]["reason"], "quotaExceeded");

        let log = api.log();
        let summary: Vec<_> = log
            .iter()
            .map(|r| (r.region.as_str(), r.page, r.status, r.fault.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("XX", 0, 400, None),
                ("JP", 1, 503, Some("backend_503")),
                ("JP", 1, 503, Some("backend_503")),
                ("JP", 0, 403, None),
            ]
        );
        assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[tokio::test]
    async fn reset_drops_the_connection_mid_body() {
        let api = start(vec![Fault::new(FaultKind::Reset)]).await;
        let response = get(&api, "TW", 1).await;
        assert_eq!(response.status().as_u16(), 200);
        let promised: usize = response.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(promised > 1000);
        let mut response = response;
        let head = response.chunk().await.unwrap().unwrap();
        assert_eq!(head.len(), RESET_AFTER);
        let whole = get(&api, "TW", 1).await.bytes().await.unwrap();
        assert_eq!(whole.len(), promised);
        assert!(whole.starts_with(&head));
        let error = response.chunk().await.unwrap_err();
        assert!(error.is_body() || error.is_decode(), "{error:?}");
    }

    #[tokio::test]
    async fn truncated_is_a_clean_200_with_half_a_json_body() {
        let api = start(vec![Fault::new(FaultKind::Truncated).page(3)]).await;
        let response = get(&api, "SG", 3).await;
        assert_eq!(response.status().as_u16(), 200);
        let length: usize = response.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let cut = response.bytes().await.unwrap();
        assert_eq!(cut.len(), length);
        assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
        let whole = get(&api, "SG", 3).await.bytes().await.unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&whole).is_ok());
        assert_eq!(cut.len(), whole.len() / 2);
        assert!(whole.starts_with(&cut));
    }

    #[tokio::test]
    async fn html_is_a_captive_portal_page() {
        let api = start(vec![Fault::new(FaultKind::Html).retry_after("1")]).await;
        let response = get(&api, "HK", 1).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let text = response.text().await.unwrap();
        assert!(text.starts_with("<!DOCTYPE html>"), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    }

    #[tokio::test]
    async fn a_hang_outlasts_the_client_without_stalling_other_requests() {
        // The hang outlasts the whole test: KR can only be answered if it does not wait for it.
        let api = start(vec![
            Fault::new(FaultKind::Hang).region("JP").hang_ms(600_000),
        ])
        .await;
        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        // A bound that only a stalled server reaches: a tenth of the hang.
        let patient = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let hung = request(&api, &impatient, "JP", 1).send();
        let other = async {
            // Sent once the fake has the hanging request (its log says so).
            while api.log().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let response = request(&api, &patient, "KR", 1).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.bytes().await.unwrap();
        };
        let (hung, ()) = tokio::join!(hung, other);
        let error = hung.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
        let log = api.log();
        assert_eq!(log[0].fault.as_deref(), Some("hang"));
        assert_eq!((log[0].region.as_str(), log[0].status), ("JP", 200));
        assert_eq!(
            (log[1].region.as_str(), log[1].fault.as_deref()),
            ("KR", None)
        );
    }

    #[test]
    fn the_example_plan_parses_with_defaults() {
        let plan = parse_faults(
            r#"{"faults": [
              {"region": "JP", "page": 2, "times": 1, "kind": "rate_limit_429", "retry_after": "2"},
              {"region": "*", "kind": "backend_503", "times": 3},
              {"region": "KR", "page": 1, "kind": "rate_limit_403", "retry_after_http_date_in": 2},
              {"kind": "hang", "hang_ms": 500},
              {"kind": "backend_500_null_message", "times": 0}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            plan,
            [
                Fault::new(FaultKind::RateLimit429)
                    .region("JP")
                    .page(2)
                    .retry_after("2"),
                Fault::new(FaultKind::Backend503).times(3),
                Fault::new(FaultKind::RateLimit403)
                    .region("KR")
                    .page(1)
                    .retry_after_http_date_in(2),
                Fault::new(FaultKind::Hang).hang_ms(500),
                Fault::new(FaultKind::Backend500NullMessage).times(0),
            ]
        );
        for kind in FaultKind::ALL {
            let plan = parse_faults(&format!(r#"{{"faults": [{{"kind": "{kind}"}}]}}"#)).unwrap();
            assert_eq!(plan[0].kind, kind);
        }
    }

    #[test]
    fn plans_may_aim_at_a_category_chart_or_at_video_categories() {
        let plan = parse_faults(
            r#"{"faults": [
                {"region": "JP", "category": "25", "kind": "backend_503"},
                {"region": "JP", "category": "0", "page": 2, "kind": "shift"},
                {"region": "*", "category": "categories", "kind": "rate_limit_429"},
                {"region": "KR", "kind": "backend_500"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            plan.iter()
                .map(|f| f.category.as_deref())
                .collect::<Vec<_>>(),
            [Some("25"), Some("0"), Some(CATEGORIES_TARGET), None]
        );
        let [news, general, categories, any] = &plan[..] else {
            panic!("four faults")
        };
        assert!(news.matches("JP", 1, Some("25")) && !news.matches("JP", 1, Some("0")));
        assert!(!news.matches("JP", 1, Some(CATEGORIES_TARGET)));
        assert!(general.matches("JP", 2, Some("0")) && !general.matches("JP", 2, Some("25")));
        assert!(categories.matches("VN", 1, Some(CATEGORIES_TARGET)));
        assert!(!categories.matches("VN", 1, Some("0")) && !categories.matches("ids", 1, None));
        // As before category charts: every chart of the region, never videoCategories.list.
        assert!(any.matches("KR", 1, Some("0")) && any.matches("KR", 3, Some("17")));
        assert!(!any.matches("KR", 1, Some(CATEGORIES_TARGET)));

        for (entry, field, message) in [
            (
                r#"{"category": "music", "kind": "backend_503"}"#,
                "category",
                "category \"music\" is neither",
            ),
            (
                r#"{"category": "010", "kind": "backend_503"}"#,
                "category",
                "category \"010\" is neither",
            ),
            (
                r#"{"region": "ids", "category": "10", "kind": "backend_503"}"#,
                "category",
                "has no category",
            ),
            (
                r#"{"category": "categories", "kind": "chart_not_found_400"}"#,
                "kind",
                "cannot answer videoCategories.list",
            ),
        ] {
            let error = parse_faults(&format!(r#"{{"faults": [{entry}]}}"#)).unwrap_err();
            assert_eq!(error.field(), Some(field), "{entry}");
            assert!(error.to_string().contains(message), "{error}");
        }
    }

    #[test]
    fn bad_plans_name_the_file_the_fault_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        for (entry, field, expected) in [
            (
                r#"{"kind": "rate_limit"}"#,
                Some("kind"),
                "unknown fault kind \"rate_limit\"; expected one of rate_limit_429, rate_limit_403,",
            ),
            (
                r#"{"kind": "hang", "hang": 5}"#,
                Some("hang"),
                "unknown field `hang`",
            ),
            (
                r#"{"region": "jp", "kind": "reset"}"#,
                Some("region"),
                "region \"jp\"",
            ),
            (r#"{"page": 0, "kind": "reset"}"#, Some("page"), "1-based"),
            (
                r#"{"kind": "reset", "times": -1}"#,
                Some("times"),
                "invalid value",
            ),
            (
                r#"{"kind": "html", "retry_after": "1", "retry_after_http_date_in": 1}"#,
                Some("retry_after"),
                "not both",
            ),
            (
                r#"{"kind": "html", "retry_after": "a\nb"}"#,
                Some("retry_after"),
                "not a valid header value",
            ),
            (
                r#"{"kind": "backend_503", "hang_ms": 10}"#,
                Some("hang_ms"),
                "only to kind \"hang\", not \"backend_503\"",
            ),
            (r#"{"region": "JP"}"#, Some("kind"), "missing field `kind`"),
        ] {
            let text = format!(r#"{{"faults": [{{"kind": "html"}}, {entry}]}}"#);
            std::fs::write(&path, text).unwrap();
            let error = load_faults(&path).unwrap_err();
            assert!(
                matches!(&error, FaultPlanError::Fault { file: Some(f), index: 2, .. } if *f == path),
                "{error:?}"
            );
            assert_eq!(error.field(), field, "{error}");
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("fault #2"), "{message}");
            assert!(message.contains(expected), "{message}");
        }
        std::fs::write(&path, r#"[{"kind": "html"}]"#).unwrap();
        let error = load_faults(&path).unwrap_err();
        assert!(
            matches!(error, FaultPlanError::NotAPlan { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(r#"expected {"faults": [...]}"#),
            "{error}"
        );
        let error = load_faults(dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(error, FaultPlanError::Read { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("cannot read fault plan"), "{message}");
        assert!(message.contains("missing.json"), "{message}");
        // Without a file, the error names the fault alone.
        let error = parse_faults(r#"{"faults": [{"kind": "hang", "page": 0}]}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"fault #1, field page {"kind":"hang","page":0}: page is 1-based; 0 never matches"#
        );
    }

    #[test]
    fn fault_kinds_serialise_under_their_plan_names() {
        for kind in FaultKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, serde_json::Value::from(kind.name()));
            assert_eq!(serde_json::from_value::<FaultKind>(json).unwrap(), kind);
        }
    }
}
