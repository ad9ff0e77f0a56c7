//! The fake YouTube Data API: `GET /youtube/v3/videos?chart=mostPopular`, faithful to the real
//! envelope, page tokens and error catalogue, serving the synthetic charts of [`data`]; and
//! `GET /youtube/v3/videos?id=…`, lookups by id of the same videos ([`mod@lookup`]); category
//! charts (`videoCategoryId=C`, [`data::category_chart`]); and `GET /youtube/v3/videoCategories`
//! ([`mod@categories`]).
//!
//! Request handling is split in two steps so that fault injection can slot in between: [`parse`]
//! checks the key, charges quota and validates the parameters into a [`VideosRequest`] (which
//! knows its region and page number; a lookup's "region" is [`LOOKUP_REGION`]), then the first
//! matching fault of the plan ([`faults`]) answers instead, or [`respond`] builds the normal
//! answer.

pub mod categories;
pub mod data;
pub mod faults;
pub mod lookup;
pub mod page_token;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use categories::{
    CATEGORIES_TARGET, CATEGORY_CHANNEL_ID, CategoriesRequest, VIDEO_CATEGORIES_PATH, categories,
    categories_by_id,
};
use data::{CHART_LEN, etag_of};
pub use data::{Change, Fate, LOOKUP_HORIZON_DAYS, category_chart, category_chart_exists, chart};
use faults::FaultPlan;
pub use faults::{Fault, FaultError, FaultKind, FaultPlanError, load_faults, parse_faults};
pub use lookup::{LOOKUP_REGION, MAX_IDS, fate, lookup};
use page_token::{Direction, PageToken};
use trendlake::youtube::ApiKey;
use trendlake::youtube::model::{
    ApiErrorBody, ErrorItem, ErrorResponse, PageInfo, Video, VideoListResponse,
};

/// The fake's clock: what "now" is when it serves the current day's chart. The system's, or for
/// tests any function of their own (a time they move past midnight), so no test has to sleep.
#[derive(Clone)]
pub struct FakeClock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl FakeClock {
    /// The system's clock.
    pub fn system() -> Self {
        FakeClock(Arc::new(Utc::now))
    }

    /// A clock that reads `now` whenever it is asked.
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        FakeClock(Arc::new(now))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        FakeClock::system()
    }
}

impl std::fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FakeClock(now: {})", self.now().to_rfc3339())
    }
}

/// How the fake behaves; every field but the clock maps to a `trendlake fake-api` option.
#[derive(Clone)]
pub struct FakeConfig {
    /// Seed of the synthetic data.
    pub seed: u64,
    /// Which day's chart is served: this date, whatever the clock says (changeable later with
    /// [`FakeApi::set_date`]); or, with `None`, the current UTC date of [`FakeConfig::clock`],
    /// read at every request, so a fake left running serves each day's chart on that day, as
    /// the real API does.
    pub date: Option<NaiveDate>,
    /// What "now" is for a fake that follows the days (`date: None`).
    pub clock: FakeClock,
    /// Delay before every response, errors included.
    pub latency: Duration,
    /// The only key accepted; `None` accepts any key, or none.
    pub api_key: Option<String>,
    /// Units (one per `videos.list` call, chart page or lookup by id) before every call answers
    /// `quotaExceeded`.
    pub quota: Option<u64>,
    /// Faults injected after validation, in plan order (see [`faults`]).
    pub faults: Vec<Fault>,
    /// Answer a missing category chart with the 404 `global`/`notFound` seen live instead of
    /// the documented 400 `youtube.video`/`videoChartNotFound`.
    pub chart_not_found_404: bool,
}

/// By hand, so the accepted key never reaches a log or a panic message through `{:?}`.
impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so a new field cannot be forgotten here.
        let FakeConfig {
            seed,
            date,
            clock,
            latency,
            api_key,
            quota,
            faults,
            chart_not_found_404,
        } = self;
        f.debug_struct("FakeConfig")
            .field("seed", seed)
            .field("date", date)
            .field("clock", clock)
            .field("latency", latency)
            .field("api_key", &api_key.as_ref().map(|_| "[REDACTED]"))
            .field("quota", quota)
            .field("faults", faults)
            .field("chart_not_found_404", chart_not_found_404)
            .finish()
    }
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            seed: 42,
            date: None,
            clock: FakeClock::system(),
            latency: Duration::ZERO,
            api_key: None,
            quota: None,
            faults: Vec::new(),
            chart_not_found_404: false,
        }
    }
}

/// One request as the fake saw it, for tests that check what a client sent and when (e.g. that
/// it waited out a `Retry-After`), on the fake's own clock rather than the test's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The URL path: `/youtube/v3/videos`, [`VIDEO_CATEGORIES_PATH`]
    /// (`/youtube/v3/videoCategories`), or another one the fake answered 404.
    pub path: String,
    /// The `regionCode` as sent (`""` if absent); [`LOOKUP_REGION`] (`"ids"`) for a lookup by id
    /// (a request with `id` and without `chart`), valid or not.
    pub region: String,
    /// The `videoCategoryId` of a `videos.list` call, as sent (`None` if absent, so the general
    /// chart is `None` or `Some("0")`), also when the call was refused (`videoChartNotFound`).
    /// `None` for other paths.
    pub category: Option<String>,
    /// 1-based page, or 0 when the request was rejected before its page was known (a missing
    /// category chart, say); always 1 for an accepted `videoCategories.list` call. For a lookup
    /// by id, its number among the distinct id lists looked up that day (what fault plans aim
    /// at, see [`faults`]).
    pub page: usize,
    /// The ids a lookup by id asked for, as sent: split at commas, blanks dropped, in order,
    /// repeats kept, and also when the request was refused (over [`MAX_IDS`] of them, say).
    /// Empty for chart requests and for other paths; for `videoCategories.list`, its `id`s.
    pub ids: Vec<String>,
    /// When the request arrived, before the configured latency.
    pub at: Instant,
    /// The status sent (or, for `hang`, to be sent once the hang is over).
    pub status: u16,
    /// The name of the injected fault, if one fired.
    pub fault: Option<String>,
}

/// Charts kept in memory; a day of the demo needs one per region.
const CACHE_CHARTS: usize = 64;

/// Category charts kept in memory: a night of every category of nine regions needs about 100.
const CACHE_CATEGORY_CHARTS: usize = 512;

/// Generated charts by (region, date).
type ChartCache = HashMap<(String, NaiveDate), Arc<Vec<Video>>>;

/// Category charts by (region, category, date); `None` when the chart does not exist.
type CategoryCache = HashMap<(String, u32, NaiveDate), Option<Arc<Vec<Video>>>>;

/// `Inner::date` when no date is fixed: the clock's current UTC date is served.
const FOLLOW_CLOCK: i32 = i32::MIN;

/// Shared state of a fake server; cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    latency: Duration,
    /// An `ApiKey`, whose `Debug` hides it (the state is `Debug`).
    api_key: Option<ApiKey>,
    quota: Option<u64>,
    /// The fixed date as days from the common era, so it can change without a lock; or
    /// [`FOLLOW_CLOCK`]: the clock's current UTC date.
    date: AtomicI32,
    clock: FakeClock,
    requests: AtomicU64,
    units: AtomicU64,
    cache: Mutex<ChartCache>,
    category_cache: Mutex<CategoryCache>,
    chart_not_found_404: bool,
    /// Id → identity, for lookups by id (shared with the oracles of [`lookup`]).
    index: Arc<lookup::Index>,
    ordinals: lookup::Ordinals,
    faults: FaultPlan,
    log: Mutex<Vec<LoggedRequest>>,
}

impl ServerState {
    pub fn new(config: FakeConfig) -> Self {
        ServerState {
            inner: Arc::new(Inner {
                seed: config.seed,
                latency: config.latency,
                api_key: config.api_key.map(ApiKey::new),
                quota: config.quota,
                date: AtomicI32::new(config.date.map_or(FOLLOW_CLOCK, |d| d.num_days_from_ce())),
                clock: config.clock,
                requests: AtomicU64::new(0),
                units: AtomicU64::new(0),
                cache: Mutex::new(HashMap::new()),
                category_cache: Mutex::new(HashMap::new()),
                chart_not_found_404: config.chart_not_found_404,
                index: lookup::shared_index(config.seed),
                ordinals: lookup::Ordinals::default(),
                faults: FaultPlan::new(config.faults),
                log: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The day whose chart a request arriving now gets: the fixed date, or the clock's UTC date.
    pub fn date(&self) -> NaiveDate {
        match self.inner.date.load(Ordering::Relaxed) {
            FOLLOW_CLOCK => self.inner.clock.now().date_naive(),
            days => NaiveDate::from_num_days_from_ce_opt(days).expect("stored from a valid date"),
        }
    }

    /// Serve `date`'s chart from now on, whatever the clock says.
    pub fn set_date(&self, date: NaiveDate) {
        self.inner
            .date
            .store(date.num_days_from_ce(), Ordering::Relaxed);
    }

    /// API calls received (`videos.list`: chart pages and lookups by id; `videoCategories.list`),
    /// whatever their outcome.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    fn count_request(&self) {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn latency(&self) -> Duration {
        self.inner.latency
    }

    /// The fault that answers a valid request of `region`, page `page` and `target` (a chart's
    /// category id, `"0"` for the general chart, [`CATEGORIES_TARGET`], or `None` for a lookup).
    fn take_fault(&self, region: &str, page: usize, target: Option<&str>) -> Option<Fault> {
        self.inner.faults.take(region, page, target)
    }

    /// How this fake says "no such chart": the documented 400 or, if configured, the live 404.
    pub fn chart_not_found(&self) -> ApiError {
        if self.inner.chart_not_found_404 {
            ApiError::not_found()
        } else {
            ApiError::chart_not_found()
        }
    }

    /// Every request so far, in arrival order: `videos.list` calls, and requests for any other
    /// path (answered 404).
    pub fn log(&self) -> Vec<LoggedRequest> {
        let mut log = self
            .inner
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // Entries are written when the answer is decided, after the latency; arrival order is
        // what tests reason about.
        log.sort_by_key(|r| r.at);
        log
    }

    fn record(&self, entry: LoggedRequest) {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }

    /// The chart, generated once per (region, date) while it stays in the small cache.
    fn chart(&self, region: &str, date: NaiveDate) -> Arc<Vec<Video>> {
        let key = (region.to_owned(), date);
        if let Some(hit) = self.lock_cache().get(&key) {
            return Arc::clone(hit);
        }
        // Generated outside the lock: two racing requests may both build it, which is harmless.
        let fresh = Arc::new(data::chart(self.inner.seed, region, date));
        let mut cache = self.lock_cache();
        if cache.len() >= CACHE_CHARTS {
            // The demo only moves forwards in time, so the oldest date is the one to drop.
            if let Some(oldest) = cache.keys().map(|k| k.1).min() {
                cache.retain(|k, _| k.1 != oldest);
            }
        }
        Arc::clone(cache.entry(key).or_insert(fresh))
    }

    /// The chart of `category` (`0`: the general chart), `None` if the region has no such chart
    /// that day; generated once per (region, category, date) while it stays in the cache.
    fn category_chart(
        &self,
        region: &str,
        category: u32,
        date: NaiveDate,
    ) -> Option<Arc<Vec<Video>>> {
        if category == 0 {
            return Some(self.chart(region, date));
        }
        let key = (region.to_owned(), category, date);
        let lock = || {
            self.inner
                .category_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if let Some(hit) = lock().get(&key) {
            return hit.clone();
        }
        let fresh = data::category_chart(self.inner.seed, region, category, date).map(Arc::new);
        let mut cache = lock();
        if cache.len() >= CACHE_CATEGORY_CHARTS
            && let Some(oldest) = cache.keys().map(|k| k.2).min()
        {
            cache.retain(|k, _| k.2 != oldest);
        }
        cache.entry(key).or_insert(fresh).clone()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, ChartCache> {
        // A panic while holding the lock cannot leave the map inconsistent; keep serving.
        self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running in-process fake server; dropping it shuts the server down.
#[derive(Debug)]
pub struct FakeApi {
    addr: SocketAddr,
    state: ServerState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl FakeApi {
    /// Binds `addr` (port 0 picks a free port) and serves in a task owned by the returned value.
    pub async fn start(config: FakeConfig, addr: SocketAddr) -> std::io::Result<FakeApi> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = ServerState::new(config);
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender is a shutdown too.
                    let _ = signal.await;
                })
                .await
        });
        Ok(FakeApi {
            addr,
            state,
            shutdown: Some(shutdown),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/youtube/v3`, ready to be used as the client's base URL.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}/youtube/v3")
    }

    pub fn set_date(&self, date: NaiveDate) {
        self.state.set_date(date);
    }

    pub fn requests(&self) -> u64 {
        self.state.requests()
    }

    /// Every request so far, in arrival order (see [`ServerState::log`]).
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.state.log()
    }

    pub fn state(&self) -> &ServerState {
        &self.state
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        // The signal lets open connections finish gracefully in their own tasks; aborting the
        // accept loop frees the port now instead of waiting for slow clients.
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

/// The fake's routes: `/youtube/v3/videos`, `/youtube/v3/videoCategories`, and a 404 for everything else: the API's JSON error
/// under `/youtube/v3/`, a bare one (as Google's front end sends) outside it.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route(VIDEOS_PATH, get(videos).fallback(method_not_allowed))
        .route(
            VIDEO_CATEGORIES_PATH,
            get(categories::handler).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(state)
}

async fn videos(
    State(state): State<ServerState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let at = Instant::now();
    state.count_request();
    tokio::time::sleep(state.inner.latency).await;
    let rejected = |params: &[(String, String)], error: ApiError| {
        let (region, ids) = logged_as(params);
        state.record(LoggedRequest {
            path: VIDEOS_PATH.to_owned(),
            region,
            category: category_sent(params),
            page: 0,
            at,
            status: error.status.as_u16(),
            fault: None,
            ids,
        });
        error.into_response()
    };
    let params = match query {
        Ok(Query(params)) => params,
        Err(e) => {
            let error = ApiError::new(
                StatusCode::BAD_REQUEST,
                &e.body_text(),
                "global",
                "badRequest",
            );
            return rejected(&[], error);
        }
    };
    let request = match parse(&state, &headers, &params) {
        Ok(request) => request,
        Err(e) => return rejected(&params, e),
    };
    let page = request.page as usize;
    let target = (!request.is_lookup()).then(|| request.category.to_string());
    let fault = state.take_fault(&request.region, page, target.as_deref());
    // Logged before answering, so a hanging request shows up while it hangs.
    state.record(LoggedRequest {
        path: VIDEOS_PATH.to_owned(),
        region: request.region.clone(),
        category: category_sent(&params),
        page,
        at,
        status: fault.as_ref().map_or(200, |f| f.kind.status().as_u16()),
        fault: fault.as_ref().map(|f| f.kind.name().to_owned()),
        ids: request.ids.clone(),
    });
    match fault {
        Some(fault) => faults::answer(&state, &request, &fault).await,
        None => respond(&state, &request),
    }
}

const VIDEOS_PATH: &str = "/youtube/v3/videos";

/// The region and ids a request is logged under: a lookup by id (`id` without `chart`) is
/// [`LOOKUP_REGION`] with its ids, anything else its `regionCode` as sent.
fn logged_as(params: &[(String, String)]) -> (String, Vec<String>) {
    match (param(params, "id"), param(params, "chart")) {
        (Some(ids), None) => (LOOKUP_REGION.to_owned(), lookup::split_ids(ids)),
        _ => (
            param(params, "regionCode").unwrap_or_default().to_owned(),
            Vec::new(),
        ),
    }
}

/// The first value of the query parameter `name`, as sent.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The `videoCategoryId` as sent.
fn category_sent(params: &[(String, String)]) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == "videoCategoryId")
        .map(|(_, v)| v.clone())
}

/// Any other path. Under `/youtube/v3/` the API answers an unknown method with its JSON error;
/// outside it (a client whose base URL lacks `/youtube/v3`) Google's front end answers a bare
/// HTML 404 without the API's error envelope, and so does the fake.
async fn not_found(
    State(state): State<ServerState>,
    uri: Uri,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let at = Instant::now();
    tokio::time::sleep(state.inner.latency).await;
    let region = query
        .ok()
        .and_then(|Query(params)| params.into_iter().find(|(k, _)| k == "regionCode"))
        .map_or(String::new(), |(_, v)| v);
    state.record(LoggedRequest {
        path: uri.path().to_owned(),
        region,
        category: None,
        page: 0,
        at,
        status: StatusCode::NOT_FOUND.as_u16(),
        fault: None,
        ids: Vec::new(),
    });
    if uri.path().starts_with("/youtube/v3/") {
        return ApiError::new(StatusCode::NOT_FOUND, "Not Found", "global", "notFound")
            .into_response();
    }
    let mut response = (StatusCode::NOT_FOUND, "Not Found").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    response
}

async fn method_not_allowed(State(state): State<ServerState>) -> Response {
    tokio::time::sleep(state.inner.latency).await;
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "global",
        "httpMethodNotAllowed",
    )
    .into_response()
}

/// The parts the fake fills in (others that the API knows are accepted and left out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    pub snippet: bool,
    pub content_details: bool,
    pub statistics: bool,
    pub live_streaming_details: bool,
    pub status: bool,
}

/// Parts that exist in the real API but that the fake has no data for.
const OTHER_REAL_PARTS: &[&str] = &[
    "id",
    "fileDetails",
    "localizations",
    "paidProductPlacementDetails",
    "player",
    "processingDetails",
    "recordingDetails",
    "suggestions",
    "topicDetails",
];

/// A validated `videos.list` request: a page of a chart, or a lookup by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideosRequest {
    /// The chart's region, or [`LOOKUP_REGION`] for a lookup by id.
    pub region: String,
    pub parts: Parts,
    /// The page size; for a lookup, how many ids it asks for.
    pub max_results: u32,
    /// Offset of the first item of the page (0 for a lookup).
    pub start: u32,
    /// 1-based page number at this page size (for per-page fault plans); for a lookup, its
    /// number among the distinct id lists looked up that day.
    pub page: u32,
    /// The chart's (or the lookup's) day: the server's date when the request arrived.
    pub date: NaiveDate,
    /// A lookup's ids as sent (split at commas, blanks dropped, repeats kept); empty for a chart.
    pub ids: Vec<String>,
    /// The chart's category (`videoCategoryId`), `0` for the general chart and for lookups.
    pub category: u32,
}

impl VideosRequest {
    /// Whether this is a lookup by id rather than a page of a chart.
    pub fn is_lookup(&self) -> bool {
        !self.ids.is_empty()
    }
}

/// Checks the key, charges a quota unit, then validates parameters, in the real API's order:
/// a bad key is rejected before it costs quota, and an invalid request still costs a unit.
pub fn parse(
    state: &ServerState,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<VideosRequest, ApiError> {
    let param = |name: &str| crate::param(params, name);
    authorize(state, headers, &param)?;
    parse_after_quota(state, &param)
}

/// The key check and the quota unit every call starts with (`videos.list` and
/// `videoCategories.list` alike).
fn authorize<'a>(
    state: &ServerState,
    headers: &'a HeaderMap,
    param: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<(), ApiError> {
    if let Some(expected) = &state.inner.api_key {
        let given = headers
            .get("x-goog-api-key")
            .and_then(|v| v.to_str().ok())
            .or_else(|| param("key"));
        match given {
            None | Some("") => return Err(ApiError::missing_key()),
            Some(key) if key != expected.expose() => return Err(ApiError::bad_key()),
            Some(_) => {}
        }
    }

    let used = state.inner.units.fetch_add(1, Ordering::Relaxed);
    if state.inner.quota.is_some_and(|quota| used >= quota) {
        return Err(ApiError::quota_exceeded());
    }
    Ok(())
}

fn parse_after_quota<'a>(
    state: &ServerState,
    param: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<VideosRequest, ApiError> {
    let part = param("part").ok_or_else(|| ApiError::required("part"))?;
    let mut parts = Parts::default();
    for name in part.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match name {
            "snippet" => parts.snippet = true,
            "contentDetails" => parts.content_details = true,
            "statistics" => parts.statistics = true,
            "liveStreamingDetails" => parts.live_streaming_details = true,
            "status" => parts.status = true,
            other if OTHER_REAL_PARTS.contains(&other) => {}
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    &format!("'{other}'"),
                    "youtube.part",
                    "unknownPart",
                )
                .at("part"));
            }
        }
    }

    let filters: Vec<&str> = ["chart", "id", "myRating"]
        .into_iter()
        .filter(|f| param(f).is_some())
        .collect();
    match filters.as_slice() {
        [] => return Err(ApiError::no_filter()),
        ["chart"] => {}
        ["id"] => return lookup::parse(state, param, parts),
        [_] => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "The fake API serves only chart=mostPopular and id.",
                "global",
                "invalidParameter",
            ));
        }
        many => return Err(ApiError::incompatible(many)),
    }
    let chart = param("chart").unwrap_or_default();
    if chart != "mostPopular" {
        return Err(ApiError::invalid_value(
            "chart",
            &format!(
                "Invalid value '{chart}'. Values must match the following regular expression: '(?:chartUnspecified|mostPopular)'"
            ),
        ));
    }

    let region = param("regionCode").ok_or_else(|| ApiError::required("regionCode"))?;
    if trendlake::regions::region(region).is_none() {
        return Err(ApiError::invalid_region());
    }
    let date = state.date();
    // An id that is not a number is no category the region has: no such chart either.
    let category = match param("videoCategoryId") {
        None | Some("") => 0,
        Some(raw) => raw.parse::<u32>().unwrap_or(u32::MAX),
    };
    let chart_len = if category == 0 {
        CHART_LEN
    } else {
        state
            .category_chart(region, category, date)
            .ok_or_else(|| state.chart_not_found())?
            .len()
    };

    let max_results = match param("maxResults") {
        None => 5,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n @ 1..=50) => n,
            Ok(_) => {
                return Err(ApiError::invalid_value(
                    "maxResults",
                    &format!("Invalid value '{raw}'. Values must be within the range: [1, 50]"),
                ));
            }
            Err(_) => {
                return Err(ApiError::invalid_value(
                    "maxResults",
                    &format!("Invalid value '{raw}'. Values must be of type integer."),
                ));
            }
        },
    };

    let total = chart_len as u32;
    let start = match param("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match PageToken::decode(token) {
            Some(PageToken {
                offset,
                direction: Direction::Next,
            }) if offset < total => offset,
            Some(PageToken {
                offset,
                direction: Direction::Prev,
            }) if (1..=total).contains(&offset) => offset.saturating_sub(max_results),
            _ => return Err(ApiError::invalid_page_token()),
        },
    };

    Ok(VideosRequest {
        region: region.to_owned(),
        parts,
        max_results,
        start,
        page: start / max_results + 1,
        date,
        ids: Vec::new(),
        category,
    })
}

/// The normal answer to a valid request: one page of the chart, or the videos looked up.
pub fn respond(state: &ServerState, request: &VideosRequest) -> Response {
    if request.is_lookup() {
        return lookup::respond(state, request);
    }
    let Some(chart) = state.category_chart(&request.region, request.category, request.date) else {
        // A chart that existed when the request was parsed is gone only if the day changed in
        // between: no such chart that day.
        return state.chart_not_found().into_response();
    };
    let start = request.start as usize;
    let end = (start + request.max_results as usize).min(chart.len());
    let items: Vec<Video> = chart[start..end]
        .iter()
        .map(|v| select_parts(v, request.parts))
        .collect();
    let mut page = VideoListResponse {
        kind: Some("youtube#videoListResponse".to_owned()),
        etag: None,
        items,
        next_page_token: (end < chart.len()).then(|| PageToken::next(end as u32).encode()),
        prev_page_token: (start > 0).then(|| PageToken::prev(start as u32).encode()),
        page_info: Some(PageInfo {
            total_results: chart.len() as u32,
            // The requested size, even on a short last page, as the real API reports it.
            results_per_page: request.max_results,
        }),
    };
    page.etag = Some(etag_of(&to_json(&page)));
    json_response(StatusCode::OK, to_json(&page))
}

/// Only the requested parts, with an etag of what is actually sent (as the API's etags vary
/// with the parts).
pub(crate) fn select_parts(video: &Video, parts: Parts) -> Video {
    let mut out = Video {
        kind: video.kind.clone(),
        etag: None,
        id: video.id.clone(),
        snippet: video.snippet.clone().filter(|_| parts.snippet),
        content_details: video
            .content_details
            .clone()
            .filter(|_| parts.content_details),
        statistics: video.statistics.clone().filter(|_| parts.statistics),
        live_streaming_details: video
            .live_streaming_details
            .clone()
            .filter(|_| parts.live_streaming_details),
        status: video.status.clone().filter(|_| parts.status),
    };
    out.etag = Some(etag_of(&to_json(&out)));
    out
}

/// Pretty-printed, as the API answers by default (`prettyPrint=true`).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("model types always serialise")
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// An error answer in the API's shape: `{"error": {"code", "message", "errors": [..]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorResponse,
}

const QUOTA_MESSAGE: &str = "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";

impl ApiError {
    pub fn new(status: StatusCode, message: &str, domain: &str, reason: &str) -> Self {
        ApiError {
            status,
            body: ErrorResponse {
                error: ApiErrorBody {
                    code: status.as_u16(),
                    message: Some(message.to_owned()),
                    errors: vec![ErrorItem {
                        message: Some(message.to_owned()),
                        domain: Some(domain.to_owned()),
                        reason: Some(reason.to_owned()),
                        location: None,
                        location_type: None,
                    }],
                    status: None,
                },
            },
        }
    }

    /// Names the offending query parameter, as the API does for parameter errors.
    pub fn at(mut self, parameter: &str) -> Self {
        for item in &mut self.body.error.errors {
            item.location = Some(parameter.to_owned());
            item.location_type = Some("parameter".to_owned());
        }
        self
    }

    /// Adds the newer `status` field (`"INVALID_ARGUMENT"`, …).
    pub fn with_status(mut self, status: &str) -> Self {
        self.body.error.status = Some(status.to_owned());
        self
    }

    pub fn bad_key() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "API key not valid. Please pass a valid API key.",
            "global",
            "badRequest",
        )
        .with_status("INVALID_ARGUMENT")
    }

    pub fn missing_key() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The request is missing a valid API key.",
            "global",
            "forbidden",
        )
        .with_status("PERMISSION_DENIED")
    }

    pub fn quota_exceeded() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            QUOTA_MESSAGE,
            "youtube.quota",
            "quotaExceeded",
        )
    }

    pub fn invalid_region() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The <code>regionCode</code> parameter specifies an invalid region code.",
            "youtube.parameter",
            "invalidRegionCode",
        )
        .at("regionCode")
    }

    pub fn invalid_page_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The request specifies an invalid page token.",
            "youtube.parameter",
            "invalidPageToken",
        )
        .at("pageToken")
    }

    /// The documented form of "no such chart"; [`ApiError::not_found`] is the form seen live.
    pub fn chart_not_found() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The requested video chart is not supported or is not available.",
            "youtube.video",
            "videoChartNotFound",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Requested entity was not found.",
            "global",
            "notFound",
        )
        .with_status("NOT_FOUND")
    }

    /// No `chart`, `id` or `myRating` (or an empty `id`: no id at all).
    fn no_filter() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "No filter selected. Expected one of: myRating, id, chart",
            "youtube.parameter",
            "missingRequiredParameter",
        )
        .at("parameters.")
    }

    /// Parameters that cannot go together, named in the order given.
    pub(crate) fn incompatible(names: &[&str]) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            &format!(
                "Incompatible parameters specified in the request: {}",
                names.join(", ")
            ),
            "youtube.parameter",
            "incompatibleParameters",
        )
        .at("parameters.")
    }

    pub(crate) fn required(parameter: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            &format!("Required parameter: {parameter}"),
            "global",
            "required",
        )
        .at(parameter)
    }

    fn invalid_value(parameter: &str, message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            message,
            "global",
            "invalidParameter",
        )
        .at(parameter)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Google's JSON escapes HTML-significant characters inside strings (`\u003c`); outside
        // strings they cannot occur, so a byte replacement is exact.
        let json = String::from_utf8(to_json(&self.body)).expect("serde_json writes UTF-8");
        let json = json.replace('<', "\\u003c").replace('>', "\\u003e");
        json_response(self.status, json.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Instant;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn config() -> FakeConfig {
        FakeConfig {
            date: Some(day("2026-11-25")),
            ..FakeConfig::default()
        }
    }

    /// The fake on a loopback port (the lookup tests use it too).
    pub(crate) async fn start(config: FakeConfig) -> FakeApi {
        FakeApi::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    /// `GET /videos?QUERY`: the status and the JSON body.
    pub(crate) async fn get(api: &FakeApi, query: &[(&str, &str)]) -> (u16, serde_json::Value) {
        get_at(api, "videos", query).await
    }

    /// `GET /RESOURCE?QUERY` (`videos`, `videoCategories`): the status and the JSON body.
    pub(crate) async fn get_at(
        api: &FakeApi,
        resource: &str,
        query: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}/{resource}", api.base_url()))
            .query(query)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// The API's own reason of an error body (`quotaExceeded`, …).
    pub(crate) fn reason(body: &serde_json::Value) -> &str {
        body["error"]["errors"][0]["reason"].as_str().unwrap_or("")
    }

    const FULL: (&str, &str) = ("part", "snippet,contentDetails,statistics");
    const CHART: (&str, &str) = ("chart", "mostPopular");

    #[tokio::test]
    async fn four_pages_of_fifty_are_the_whole_chart() {
        let api = start(config()).await;
        assert!(api.base_url().starts_with("http://127.0.0.1:"));
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        for page in 1..=4 {
            let mut query = vec![FULL, CHART, ("regionCode", "JP"), ("maxResults", "50")];
            if let Some(t) = &token {
                query.push(("pageToken", t));
            }
            let (status, body) = get(&api, &query).await;
            assert_eq!(status, 200);
            let list: VideoListResponse = serde_json::from_value(body).unwrap();
            assert_eq!(list.kind.as_deref(), Some("youtube#videoListResponse"));
            assert_eq!(list.etag.as_ref().unwrap().len(), 27);
            assert_eq!(
                list.page_info,
                Some(PageInfo {
                    total_results: 200,
                    results_per_page: 50
                })
            );
            assert_eq!(list.items.len(), 50);
            assert_eq!(
                list.prev_page_token.as_deref(),
                [None, Some("CDIQAQ"), Some("CGQQAQ"), Some("CJYBEAE")][page - 1]
            );
            assert_eq!(
                list.next_page_token.as_deref(),
                [Some("CDIQAA"), Some("CGQQAA"), Some("CJYBEAA"), None][page - 1]
            );
            ids.extend(list.items.iter().map(|v| v.id.clone()));
            token = list.next_page_token;
        }
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 200);
        let expected: Vec<String> = chart(42, "JP", day("2026-11-25"))
            .into_iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(api.requests(), 4);
    }

    #[tokio::test]
    async fn defaults_to_five_items_and_only_the_requested_parts() {
        let api = start(config()).await;
        let (status, body) = get(
            &api,
            &[("part", "snippet, statistics"), CHART, ("regionCode", "US")],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["nextPageToken"], "CAUQAA");
        assert!(body.get("prevPageToken").is_none());
        assert_eq!(body["pageInfo"]["totalResults"], 200);
        assert_eq!(body["pageInfo"]["resultsPerPage"], 5);
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        let expected = chart(42, "US", day("2026-11-25"));
        for (item, full) in items.iter().zip(&expected) {
            assert_eq!(item["kind"], "youtube#video");
            assert!(item.get("snippet").is_some() && item.get("statistics").is_some());
            assert!(item.get("contentDetails").is_none());
            let stats: trendlake::youtube::model::Statistics =
                serde_json::from_value(item["statistics"].clone()).unwrap();
            assert_eq!(Some(&stats), full.statistics.as_ref());
            assert_eq!(item["etag"].as_str().unwrap().len(), 27);
            assert_ne!(item["etag"].as_str(), full.etag.as_deref());
        }
    }

    /// Chart pages that do not ask for `status` are byte for byte what they were before the
    /// fake had a `status` part or lookups by id (values taken from that version).
    #[tokio::test]
    async fn chart_pages_without_status_are_unchanged() {
        let api = start(config()).await;
        for (query, page_etag, first_etag, len) in [
            (
                vec![FULL, CHART, ("regionCode", "JP"), ("maxResults", "50")],
                "tPAa5087id6HSeH0dCGmTrjKKxc",
                "gE7vw_0Ox7FP69tDf_jqAtkU9NA",
                103_101,
            ),
            (
                vec![
                    (
                        "part",
                        "snippet,contentDetails,statistics,liveStreamingDetails",
                    ),
                    CHART,
                    ("regionCode", "VN"),
                    ("maxResults", "50"),
                    ("pageToken", "CDIQAA"),
                ],
                "6F-xEFqRqMIafFhM5EUViaoSeJM",
                "Zxcs79uilCkKhHuKR-ZgLXBdst8",
                101_651,
            ),
        ] {
            let response = reqwest::Client::new()
                .get(format!("{}/videos", api.base_url()))
                .query(&query)
                .send()
                .await
                .unwrap();
            let bytes = response.bytes().await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                (
                    body["etag"].as_str(),
                    body["items"][0]["etag"].as_str(),
                    bytes.len()
                ),
                (Some(page_etag), Some(first_etag), len),
                "{query:?}"
            );
            assert!(body["items"][0].get("status").is_none());
        }
    }

    #[tokio::test]
    async fn previous_page_tokens_go_back() {
        let api = start(config()).await;
        let base = [FULL, CHART, ("regionCode", "KR"), ("maxResults", "50")];
        let (_, first) = get(&api, &base).await;
        let mut query = base.to_vec();
        query.push(("pageToken", "CDIQAQ"));
        let (status, back) = get(&api, &query).await;
        assert_eq!(status, 200);
        assert_eq!(first["items"], back["items"]);
        assert!(back.get("prevPageToken").is_none());
    }

    #[tokio::test]
    async fn parameter_errors_have_the_real_shape() {
        let api = start(config()).await;
        let (status, body) = get(&api, &[FULL, CHART, ("regionCode", "XX")]).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], 400);
        assert_eq!(reason(&body), "invalidRegionCode");
        assert_eq!(body["error"]["errors"][0]["domain"], "youtube.parameter");
        assert_eq!(body["error"]["errors"][0]["location"], "regionCode");

        for (name, value, expected) in [
            ("pageToken", "CMgBEAA", "invalidPageToken"), // offset 200
            ("pageToken", "not-a-token", "invalidPageToken"),
            ("maxResults", "51", "invalidParameter"),
            ("maxResults", "0", "invalidParameter"),
            ("maxResults", "many", "invalidParameter"),
        ] {
            let (status, body) =
                get(&api, &[FULL, CHART, ("regionCode", "JP"), (name, value)]).await;
            assert_eq!((status, reason(&body)), (400, expected), "{name}={value}");
        }
        let (status, body) = get(
            &api,
            &[("part", "snippet,bogus"), CHART, ("regionCode", "JP")],
        )
        .await;
        assert_eq!((status, reason(&body)), (400, "unknownPart"));
        assert_eq!(body["error"]["message"], "'bogus'");
        let (status, body) = get(
            &api,
            &[FULL, ("chart", "leastPopular"), ("regionCode", "JP")],
        )
        .await;
        assert_eq!((status, reason(&body)), (400, "invalidParameter"));
        let (status, body) = get(&api, &[FULL, ("regionCode", "JP")]).await;
        assert_eq!((status, reason(&body)), (400, "missingRequiredParameter"));
        assert_eq!(api.requests(), 9);

        let response = reqwest::get(format!("http://{}/youtube/v3/search", api.addr()))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(reason(&body), "notFound");
        assert_eq!(api.requests(), 9, "only videos.list calls count");
    }

    const SECRET: &str = "AIzaSECRET-fake-0123456789";

    /// `{:?}` and `{:#?}` of `value` show the key's place, never the key.
    #[track_caller]
    fn assert_debug_hides_key(value: &impl std::fmt::Debug) {
        trendlake::youtube::client::assert_debug_hides_key(value, SECRET);
    }

    #[test]
    fn fake_config_debug_hides_the_key() {
        let config = FakeConfig {
            api_key: Some(SECRET.to_owned()),
            ..config()
        };
        assert_debug_hides_key(&config);
        assert!(format!("{config:?}").contains("seed: 42"), "{config:?}");
    }

    #[tokio::test]
    async fn running_fake_debug_hides_the_key() {
        let api = start(FakeConfig {
            api_key: Some(SECRET.to_owned()),
            ..config()
        })
        .await;
        assert_debug_hides_key(&api);
        assert_debug_hides_key(api.state());
    }

    #[tokio::test]
    async fn api_key_is_checked_in_query_or_header() {
        let api = start(FakeConfig {
            api_key: Some("right".to_owned()),
            ..config()
        })
        .await;
        let base = [FULL, CHART, ("regionCode", "GB")];
        let with = |key: &'static str| {
            let mut q = base.to_vec();
            q.push(("key", key));
            q
        };
        let (status, body) = get(&api, &with("wrong")).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            "API key not valid. Please pass a valid API key."
        );
        assert_eq!(reason(&body), "badRequest");
        let (status, body) = get(&api, &base).await;
        assert_eq!(status, 403);
        assert_eq!(
            body["error"]["message"],
            "The request is missing a valid API key."
        );
        assert_eq!(get(&api, &with("right")).await.0, 200);

        let response = reqwest::Client::new()
            .get(format!("{}/videos", api.base_url()))
            .query(&base)
            .header("X-Goog-Api-Key", "right")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }

    #[tokio::test]
    async fn quota_runs_out() {
        let api = start(FakeConfig {
            quota: Some(3),
            ..config()
        })
        .await;
        let query = [FULL, CHART, ("regionCode", "TH")];
        for _ in 0..3 {
            assert_eq!(get(&api, &query).await.0, 200);
        }
        let response = reqwest::Client::new()
            .get(format!("{}/videos", api.base_url()))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let raw = response.text().await.unwrap();
        assert!(
            raw.contains(
                r#"\u003ca href=\"/youtube/v3/getting-started#quota\"\u003equota\u003c/a\u003e"#
            ),
            "{raw}"
        );
        let body: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(reason(&body), "quotaExceeded");
        assert_eq!(body["error"]["errors"][0]["domain"], "youtube.quota");
        assert_eq!(body["error"]["message"], QUOTA_MESSAGE);
        assert_eq!(api.requests(), 4);
    }

    #[tokio::test]
    async fn latency_delays_every_response() {
        let api = start(FakeConfig {
            latency: Duration::from_millis(150),
            ..config()
        })
        .await;
        let started = Instant::now();
        assert_eq!(get(&api, &[FULL, CHART, ("regionCode", "ZZ")]).await.0, 400);
        assert!(started.elapsed() >= Duration::from_millis(150));
        let started = Instant::now();
        let response = reqwest::get(format!("http://{}/nope", api.addr()))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert!(started.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn the_date_can_move_and_views_grow() {
        let api = start(config()).await;
        let query = [
            ("part", "statistics"),
            CHART,
            ("regionCode", "VN"),
            ("maxResults", "50"),
        ];
        let views = |body: &serde_json::Value| -> HashMap<String, u64> {
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let n = v["statistics"]["viewCount"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    (v["id"].as_str().unwrap().to_owned(), n)
                })
                .collect()
        };
        let before = views(&get(&api, &query).await.1);
        api.set_date(day("2026-11-26"));
        let after = views(&get(&api, &query).await.1);
        let shared: Vec<_> = before.keys().filter(|id| after.contains_key(*id)).collect();
        assert!(!shared.is_empty());
        for id in shared {
            assert!(before[id] < after[id], "{id}");
        }
    }

    /// A clock the test moves, and the fake that reads it.
    fn moved_clock(start: &str) -> (Arc<Mutex<DateTime<Utc>>>, FakeClock) {
        let now = Arc::new(Mutex::new(
            DateTime::parse_from_rfc3339(start).unwrap().to_utc(),
        ));
        let read = Arc::clone(&now);
        (now, FakeClock::from_fn(move || *read.lock().unwrap()))
    }

    /// The first page's ids of JP's chart as served, and as generated for `date`.
    async fn first_page(api: &FakeApi) -> Vec<String> {
        let query = [
            ("part", "id"),
            CHART,
            ("regionCode", "JP"),
            ("maxResults", "50"),
        ];
        let (status, body) = get(api, &query).await;
        assert_eq!(status, 200, "{body}");
        let ids = body["items"].as_array().unwrap().iter();
        ids.map(|v| v["id"].as_str().unwrap().to_owned()).collect()
    }

    fn generated(date: &str) -> Vec<String> {
        chart(42, "JP", day(date))
            .into_iter()
            .take(50)
            .map(|v| v.id)
            .collect()
    }

    #[tokio::test]
    async fn without_a_date_each_request_gets_the_current_utc_days_chart() {
        let (now, clock) = moved_clock("2026-11-25T23:59:59Z");
        let api = start(FakeConfig {
            date: None,
            clock,
            ..FakeConfig::default()
        })
        .await;
        assert_eq!(api.state().date(), day("2026-11-25"));
        assert_eq!(first_page(&api).await, generated("2026-11-25"));
        // Past midnight UTC, the same server serves the new day's chart.
        *now.lock().unwrap() = DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(api.state().date(), day("2026-11-26"));
        assert_eq!(first_page(&api).await, generated("2026-11-26"));
        assert_ne!(generated("2026-11-25"), generated("2026-11-26"));
        // The UTC date, not a local one: 20:00 in New York on the 26th is the 27th in UTC.
        *now.lock().unwrap() = DateTime::parse_from_rfc3339("2026-11-26T20:00:00-05:00")
            .unwrap()
            .to_utc();
        assert_eq!(first_page(&api).await, generated("2026-11-27"));
        // `set_date` fixes it from then on.
        api.set_date(day("2026-11-20"));
        assert_eq!(first_page(&api).await, generated("2026-11-20"));
    }

    #[tokio::test]
    async fn a_fixed_date_is_served_whatever_the_clock_says() {
        let (now, clock) = moved_clock("2026-11-25T12:00:00Z");
        let api = start(FakeConfig {
            date: Some(day("2026-11-25")),
            clock,
            ..FakeConfig::default()
        })
        .await;
        assert_eq!(first_page(&api).await, generated("2026-11-25"));
        *now.lock().unwrap() = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(api.state().date(), day("2026-11-25"));
        assert_eq!(first_page(&api).await, generated("2026-11-25"));
    }

    #[test]
    fn the_default_config_follows_the_system_clock() {
        let config = FakeConfig::default();
        assert_eq!(config.date, None);
        let state = ServerState::new(config);
        let before = Utc::now().date_naive();
        let served = state.date();
        let after = Utc::now().date_naive();
        assert!(served == before || served == after, "{served}");
    }

    #[tokio::test]
    async fn a_path_outside_the_api_is_a_bare_404_and_is_logged() {
        let api = start(config()).await;
        let response = reqwest::get(format!(
            "http://{}/videos?part=snippet&chart=mostPopular&regionCode=JP",
            api.addr()
        ))
        .await
        .unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=UTF-8"
        );
        let body = response.text().await.unwrap();
        assert!(
            serde_json::from_str::<ErrorResponse>(&body).is_err(),
            "{body}"
        );
        let log = api.log();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].path.as_str(), log[0].region.as_str(), log[0].status),
            ("/videos", "JP", 404)
        );
        assert_eq!(api.requests(), 0, "only videos.list calls count");
    }

    /// Every page of `query`'s chart at `max` a page: the ids, and the pages' `pageInfo` and
    /// tokens as (totalResults, items, prev, next).
    async fn every_page(
        api: &FakeApi,
        query: &[(&str, &str)],
        max: &str,
    ) -> (
        Vec<String>,
        Vec<(u64, usize, Option<String>, Option<String>)>,
    ) {
        let (mut ids, mut pages) = (Vec::new(), Vec::new());
        let mut token: Option<String> = None;
        loop {
            let mut q = query.to_vec();
            q.push(("maxResults", max));
            if let Some(t) = &token {
                q.push(("pageToken", t));
            }
            let (status, body) = get(api, &q).await;
            assert_eq!(status, 200, "{body}");
            let items = body["items"].as_array().unwrap();
            ids.extend(items.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
            token = body["nextPageToken"].as_str().map(str::to_owned);
            pages.push((
                body["pageInfo"]["totalResults"].as_u64().unwrap(),
                items.len(),
                body["prevPageToken"].as_str().map(str::to_owned),
                token.clone(),
            ));
            if token.is_none() {
                return (ids, pages);
            }
        }
    }

    const JP_TRAVEL: [(&str, &str); 4] =
        [FULL, CHART, ("regionCode", "JP"), ("videoCategoryId", "19")];

    #[tokio::test]
    async fn a_category_chart_is_served_and_paged_like_the_general_one() {
        let api = start(config()).await;
        let date = day("2026-11-25");
        // Music in JP: 168 videos, 4 pages of 50, the last one short.
        let music = [FULL, CHART, ("regionCode", "JP"), ("videoCategoryId", "10")];
        let (ids, pages) = every_page(&api, &music, "50").await;
        let expected = category_chart(42, "JP", 10, date).unwrap();
        assert_eq!(
            ids,
            expected.iter().map(|v| v.id.clone()).collect::<Vec<_>>()
        );
        let tokens = |p: &[(u64, usize, Option<String>, Option<String>)]| -> Vec<_> {
            p.iter()
                .map(|(t, n, prev, next)| (*t, *n, prev.clone(), next.clone()))
                .collect()
        };
        let s = |t: &str| Some(t.to_owned());
        assert_eq!(
            tokens(&pages),
            [
                (168, 50, None, s("CDIQAA")),
                (168, 50, s("CDIQAQ"), s("CGQQAA")),
                (168, 50, s("CGQQAQ"), s("CJYBEAA")),
                (168, 18, s("CJYBEAE"), None),
            ]
        );
        // The items as on the general chart: same statistics, same order among themselves.
        let (_, first) = get(
            &api,
            &[FULL, CHART, ("regionCode", "JP"), ("maxResults", "50")],
        )
        .await;
        let general: Vec<&serde_json::Value> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["snippet"]["categoryId"] == "10")
            .collect();
        let (_, page) = get(
            &api,
            &[
                FULL,
                CHART,
                ("regionCode", "JP"),
                ("videoCategoryId", "10"),
                ("maxResults", "50"),
            ],
        )
        .await;
        assert!(general.len() >= 10, "{}", general.len());
        for (a, b) in general.iter().zip(page["items"].as_array().unwrap()) {
            assert_eq!(
                (&a["id"], &a["statistics"], &a["etag"]),
                (&b["id"], &b["statistics"], &b["etag"])
            );
        }

        // Travel in JP: 5 videos, one page; a token past its end is refused.
        let (ids, pages) = every_page(&api, &JP_TRAVEL, "2").await;
        assert_eq!(ids.len(), 5);
        assert_eq!(
            pages.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            [(5, 2), (5, 2), (5, 1)]
        );
        let mut past = JP_TRAVEL.to_vec();
        past.push(("pageToken", "CAUQAA")); // offset 5
        let (status, body) = get(&api, &past).await;
        assert_eq!((status, reason(&body)), (400, "invalidPageToken"));
        let (status, body) = get(&api, &JP_TRAVEL).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["pageInfo"],
            serde_json::json!({"totalResults": 5, "resultsPerPage": 5})
        );
        assert!(body.get("nextPageToken").is_none());

        // `videoCategoryId=0` is the general chart, byte for byte.
        let bytes = |q: Vec<(&'static str, &'static str)>| {
            let url = format!("{}/videos", api.base_url());
            async move {
                reqwest::Client::new()
                    .get(url)
                    .query(&q)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
            }
        };
        let plain = bytes(vec![FULL, CHART, ("regionCode", "US")]).await;
        let zero = bytes(vec![
            FULL,
            CHART,
            ("regionCode", "US"),
            ("videoCategoryId", "0"),
        ])
        .await;
        assert_eq!(plain, zero);
        let log = api.log();
        assert_eq!(log.last().unwrap().category.as_deref(), Some("0"));
        assert_eq!(log[log.len() - 2].category, None);
        assert_eq!(log[0].category.as_deref(), Some("10"));
    }

    #[tokio::test]
    async fn a_missing_chart_is_video_chart_not_found_and_costs_a_unit() {
        let api = start(FakeConfig {
            quota: Some(6),
            ..config()
        })
        .await;
        // 22 is assignable in JP but has no chart, 18 is not assignable, 99 is no category.
        for category in ["22", "18", "99", "abc"] {
            let query = [
                FULL,
                CHART,
                ("regionCode", "JP"),
                ("videoCategoryId", category),
            ];
            let (status, body) = get(&api, &query).await;
            assert_eq!(status, 400, "{category}");
            assert_eq!(
                body,
                serde_json::json!({"error": {
                    "code": 400,
                    "message": "The requested video chart is not supported or is not available.",
                    "errors": [{
                        "message": "The requested video chart is not supported or is not available.",
                        "domain": "youtube.video",
                        "reason": "videoChartNotFound",
                    }],
                }})
            );
        }
        assert_eq!(get(&api, &JP_TRAVEL).await.0, 200);
        let log = api.log();
        assert_eq!(
            log.iter()
                .map(|r| (r.path.as_str(), r.category.as_deref(), r.page, r.status))
                .collect::<Vec<_>>(),
            [
                (VIDEOS_PATH, Some("22"), 0, 400),
                (VIDEOS_PATH, Some("18"), 0, 400),
                (VIDEOS_PATH, Some("99"), 0, 400),
                (VIDEOS_PATH, Some("abc"), 0, 400),
                (VIDEOS_PATH, Some("19"), 1, 200),
            ]
        );
        // One more unit, then the quota of 6 is spent.
        assert_eq!(
            get(&api, &[("part", "id"), CHART, ("regionCode", "JP")])
                .await
                .0,
            200
        );
        let (status, body) = get(&api, &JP_TRAVEL).await;
        assert_eq!((status, reason(&body)), (403, "quotaExceeded"));
    }

    #[tokio::test]
    async fn a_missing_chart_can_be_the_404_seen_live() {
        let api = start(FakeConfig {
            chart_not_found_404: true,
            ..config()
        })
        .await;
        let (status, body) = get(
            &api,
            &[FULL, CHART, ("regionCode", "JP"), ("videoCategoryId", "22")],
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": 404,
                "message": "Requested entity was not found.",
                "errors": [{
                    "message": "Requested entity was not found.",
                    "domain": "global",
                    "reason": "notFound",
                }],
                "status": "NOT_FOUND",
            }})
        );
        assert_eq!(get(&api, &JP_TRAVEL).await.0, 200);
        assert_eq!(get(&api, &[FULL, CHART, ("regionCode", "JP")]).await.0, 200);
    }

    #[tokio::test]
    async fn a_fault_aimed_at_a_category_chart_fires_only_there() {
        let api = start(FakeConfig {
            faults: vec![
                Fault::new(FaultKind::Backend503)
                    .region("JP")
                    .category("19")
                    .times(0),
                Fault::new(FaultKind::RateLimit429).category("0"),
                Fault::new(FaultKind::Backend500).region("KR"),
            ],
            ..config()
        })
        .await;
        let jp_music = [FULL, CHART, ("regionCode", "JP"), ("videoCategoryId", "10")];
        let kr_sports = [FULL, CHART, ("regionCode", "KR"), ("videoCategoryId", "17")];
        let us_general = [FULL, CHART, ("regionCode", "US")];
        assert_eq!(get(&api, &jp_music).await.0, 200);
        assert_eq!(get(&api, &JP_TRAVEL).await.0, 503);
        assert_eq!(get(&api, &JP_TRAVEL).await.0, 503);
        // Without a category, a fault hits any chart of its region, category charts included.
        assert_eq!(get(&api, &kr_sports).await.0, 500);
        assert_eq!(get(&api, &kr_sports).await.0, 200);
        assert_eq!(get(&api, &us_general).await.0, 429);
        assert_eq!(get(&api, &us_general).await.0, 200);
        let fired: Vec<_> = api
            .log()
            .into_iter()
            .map(|r| (r.region, r.category, r.fault))
            .collect();
        let s = |t: &str| Some(t.to_owned());
        assert_eq!(
            fired,
            [
                ("JP".to_owned(), s("10"), None),
                ("JP".to_owned(), s("19"), s("backend_503")),
                ("JP".to_owned(), s("19"), s("backend_503")),
                ("KR".to_owned(), s("17"), s("backend_500")),
                ("KR".to_owned(), s("17"), None),
                ("US".to_owned(), None, s("rate_limit_429")),
                ("US".to_owned(), None, None),
            ]
        );
    }

    #[tokio::test]
    async fn dropping_the_server_closes_the_port() {
        let api = start(config()).await;
        let addr = api.addr();
        drop(api);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
