//! Fetch every region's chart concurrently: regions run in parallel, each region's pages in
//! order, and a shared semaphore keeps at most `concurrency` requests in flight overall
//! (optionally paced to `max_rps` with `governor`).
//!
//! Each page is normalised into the region's Arrow builder as soon as it arrives (on the runtime's
//! worker threads, so regions normalise in parallel) and then dropped: a region holds one page of
//! parsed JSON at a time. One region's failure never cancels another: each ends with its own
//! outcome. Transient faults are retried (`backon`: exponential backoff with jitter, `Retry-After`
//! honoured with a floor), bounded by attempts per request and by total time per region; a
//! `quotaExceeded` answer, or a 404 that shows the base URL is not the API, stops every further
//! request of the run at once.
//!
//! Quota: a request costs a unit once the API has it, answered or not (any HTTP response, an
//! error included, or a timeout after sending); one that never connected (refused, DNS failure,
//! connect timeout) costs nothing and is not charged to `--quota-budget`.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::raw::RawPage;
use crate::record::ChartAssembler;
use crate::youtube::client::MAX_RESULTS;
use crate::youtube::model::VideoCategoryListResponse;
use crate::youtube::{ApiError, Client, ErrorKind};

/// A whole chart's length: what the API serves at most, and what a chart of unknown length is
/// taken to be.
pub const FULL_CHART: usize = 200;

/// How transient faults are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: usize,
    /// First backoff delay; doubles each retry, with jitter.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Total time one region may take, retries and waits included.
    pub region_budget: Duration,
    /// The least wait after a `Retry-After`, so `Retry-After: 0` cannot make a tight loop.
    pub retry_after_floor: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            region_budget: Duration::from_secs(300),
            retry_after_floor: Duration::from_millis(500),
        }
    }
}

/// How much to fetch and how hard to push.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Requests in flight at most, across all regions.
    pub concurrency: usize,
    /// Items per region (the whole chart is 200).
    pub per_region: usize,
    pub retry: RetryPolicy,
    /// Quota units this run may spend at most (one per `videos.list` call that reaches the API,
    /// failed ones too).
    pub quota_budget: Option<u32>,
    /// Requests per second at most, across all regions.
    pub max_rps: Option<f64>,
}

impl FetchOptions {
    pub fn new(concurrency: usize, per_region: usize) -> Self {
        Self {
            concurrency,
            per_region,
            retry: RetryPolicy::default(),
            quota_budget: None,
            max_rps: None,
        }
    }

    /// Requests a complete region costs when nothing fails.
    pub fn pages_per_region(&self) -> u32 {
        self.per_region.div_ceil(MAX_RESULTS as usize) as u32
    }
}

/// The result of one region.
#[derive(Debug)]
pub struct RegionFetch {
    pub region: String,
    /// The region's rows in chart order, in the lake schema.
    pub outcome: Result<RecordBatch, RegionError>,
    /// `videos.list` calls sent, retries included.
    pub requests: u32,
    /// Quota units the region spent: its calls that reached the API (failed ones too); a call
    /// that never connected costs none.
    pub quota_units: u32,
    /// Calls that were retries of a transient fault.
    pub retries: u32,
    pub elapsed: Duration,
    /// Items dropped because the API repeated an id already seen on an earlier page.
    pub duplicates_dropped: usize,
    /// The pages of the complete chart as received (empty when the region failed), for the
    /// raw archive.
    pub raw: Vec<RawPage>,
}

/// One region's categories (`videoCategories.list`), as answered.
#[derive(Debug)]
pub struct CategoriesFetch {
    pub region: String,
    /// The answer and its body as received (for the raw archive), or why there is none.
    pub outcome: Result<(VideoCategoryListResponse, RawPage), ApiError>,
    pub requests: u32,
    pub quota_units: u32,
    pub retries: u32,
}

/// Why a region failed, with the page it failed on (1-based; 0 when it never started).
#[derive(Debug, Clone, thiserror::Error)]
#[error("region {region}, page {page}: {error}")]
pub struct RegionError {
    pub region: String,
    pub page: usize,
    pub error: ApiError,
}

/// What all regions of one run share.
struct Shared {
    client: Client,
    options: FetchOptions,
    clock: Clock,
    permits: Semaphore,
    pacer: Option<DefaultDirectRateLimiter>,
    /// Units reserved by requests about to be sent plus units spent; a request that never
    /// connected gives its unit back.
    units_spent: AtomicU32,
    /// Set by the first answer that every later request would get too (`quotaExceeded`, a
    /// wrong base URL): the kind, and how the first one was answered.
    stopped: OnceLock<(ErrorKind, String)>,
}

/// The request counters of a region or a lookup.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU32,
    retries: AtomicU32,
    quota_units: AtomicU32,
    /// A stage's own cap (`--track-budget`), shared by its calls, on top of the run's.
    cap: Option<Arc<StageCap>>,
}

/// Units a stage may spend, and how many it has (reserved or spent).
#[derive(Debug)]
struct StageCap {
    units: u32,
    spent: AtomicU32,
}

impl Shared {
    /// One call, retried while the fault is transient, within the policy's attempts and the
    /// `deadline`; `Retry-After` is honoured with a floor. `what` names it in logs (`JP` page 2,
    /// `lookup` batch 3).
    async fn request_with_retries<T, F, Fut>(
        &self,
        counters: &Counters,
        what: &str,
        page_no: usize,
        deadline: Instant,
        call: F,
    ) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let policy = self.options.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_attempts.saturating_sub(1))
            .with_jitter();
        (|| self.request(counters, what, &call))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &ApiError| e.kind.is_transient())
            .adjust(|e: &ApiError, backoff: Option<Duration>| {
                // `None` means the attempts are used up; a Retry-After never extends them.
                let wait = match (backoff, e.retry_after) {
                    (None, _) => return None,
                    (Some(_), Some(after)) => after.max(policy.retry_after_floor),
                    (Some(delay), None) => delay,
                };
                (wait <= deadline.saturating_duration_since(Instant::now())).then_some(wait)
            })
            .notify(|e: &ApiError, wait: Duration| {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                let wait_ms = wait.as_millis() as u64;
                warn!(region = what, page = page_no, error = %e, wait_ms, "retrying");
            })
            .await
    }

    /// One call, within the run's quota, concurrency and pace.
    async fn request<T, F, Fut>(
        &self,
        counters: &Counters,
        what: &str,
        call: &F,
    ) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        if let Some(pacer) = &self.pacer {
            pacer.until_ready().await;
        }
        // Checked after the wait for a slot: requests queued behind the one that stopped the
        // run must not go out either.
        if let Some((kind, first)) = self.stopped.get() {
            return Err(ApiError::local(
                *kind,
                format!("not sent: an earlier request of this run failed the same way ({first})"),
            ));
        }
        // Reserved only now, right before sending: a request that waited and was dropped (the
        // region's budget ran out) or refused costs nothing.
        if let Some(stage) = &counters.cap {
            let spent = stage.spent.fetch_add(1, Ordering::SeqCst);
            if spent >= stage.units {
                stage.spent.fetch_sub(1, Ordering::SeqCst);
                return Err(ApiError::local(
                    ErrorKind::BudgetExhausted,
                    format!("not sent: the stage's {} units are spent", stage.units),
                ));
            }
        }
        let give_back_stage = || {
            if let Some(stage) = &counters.cap {
                stage.spent.fetch_sub(1, Ordering::SeqCst);
            }
        };
        if let Some(budget) = self.options.quota_budget {
            let spent = self.units_spent.fetch_add(1, Ordering::SeqCst);
            if spent >= budget {
                self.units_spent.fetch_sub(1, Ordering::SeqCst);
                give_back_stage();
                return Err(ApiError::local(
                    ErrorKind::BudgetExhausted,
                    format!("not sent: --quota-budget {budget} units are spent"),
                ));
            }
        } else {
            self.units_spent.fetch_add(1, Ordering::SeqCst);
        }
        counters.sent.fetch_add(1, Ordering::Relaxed);
        let result = call().await;
        match &result {
            // Never reached the API: the reserved unit goes back.
            Err(e) if e.kind == ErrorKind::Connect => {
                self.units_spent.fetch_sub(1, Ordering::SeqCst);
                give_back_stage();
            }
            _ => {
                counters.quota_units.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Err(e) = &result
            && e.kind.stops_run()
        {
            let _ = self.stopped.set((e.kind, format!("{what}: {}", e.message)));
        }
        result
    }
}

fn pacer(max_rps: Option<f64>) -> Option<DefaultDirectRateLimiter> {
    let rps = max_rps.filter(|r| *r > 0.0)?;
    let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rps))?
        .allow_burst(NonZeroU32::new(1).expect("1 is not zero"));
    Some(RateLimiter::direct(quota))
}

/// Fetch all `regions`; the result is in the order of `regions`. With a quota budget, regions
/// whose complete fetch would not fit are left out before any request is sent.
pub async fn fetch_all(
    client: &Client,
    regions: &[String],
    options: FetchOptions,
    clock: Clock,
) -> Vec<RegionFetch> {
    Fetcher::new(client, options, clock).charts(regions).await
}

/// One run's access to the API: every call of the run, the charts' and the tracking stage's,
/// goes through the same concurrency bound, pacing, retries and quota accounting, and a
/// `quotaExceeded` answered to one stops them all.
#[derive(Clone)]
pub struct Fetcher {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("units_spent", &self.units_spent())
            .finish_non_exhaustive()
    }
}

/// One lookup by id (`videos.list?id=…`, at most 50 ids), as answered.
#[derive(Debug)]
pub struct LookupFetch {
    /// 1-based, in the order the batches were made.
    pub batch: usize,
    /// The ids asked for, in the order asked.
    pub ids: Vec<String>,
    /// The answer and when it came, or why there is none.
    pub outcome: Result<(crate::youtube::model::VideoListResponse, RawPage), ApiError>,
    pub requests: u32,
    pub quota_units: u32,
    pub retries: u32,
}

impl Fetcher {
    pub fn new(client: &Client, options: FetchOptions, clock: Clock) -> Self {
        let shared = Arc::new(Shared {
            client: client.clone(),
            options,
            clock,
            permits: Semaphore::new(options.concurrency.max(1)),
            pacer: pacer(options.max_rps),
            units_spent: AtomicU32::new(0),
            stopped: OnceLock::new(),
        });
        Self { shared }
    }

    /// Units spent (or reserved by calls in flight) so far by every stage of the run.
    pub fn units_spent(&self) -> u32 {
        self.shared.units_spent.load(Ordering::SeqCst)
    }

    /// Units the run may still spend under `--quota-budget` (`None`: no budget).
    pub fn units_left(&self) -> Option<u32> {
        self.shared
            .options
            .quota_budget
            .map(|budget| budget.saturating_sub(self.units_spent()))
    }

    /// The kind of answer that stopped every further request of the run, if one did.
    pub fn stopped(&self) -> Option<ErrorKind> {
        self.shared.stopped.get().map(|(kind, _)| *kind)
    }

    /// Look `batches` of ids up (each at most [`MAX_IDS`](crate::youtube::client::MAX_IDS)),
    /// concurrently under the run's bound, spending at most `cap` units (retries included). The
    /// result is in the order of `batches`; a failed batch says why, and never stops the others
    /// (but a `quotaExceeded` stops every call still to be sent, as in the charts).
    pub async fn lookups(&self, batches: Vec<Vec<String>>, cap: Option<u32>) -> Vec<LookupFetch> {
        use futures::StreamExt;
        let cap = cap.map(|units| {
            Arc::new(StageCap {
                units,
                spent: AtomicU32::new(0),
            })
        });
        let shared = &self.shared;
        let mut done: Vec<LookupFetch> = futures::stream::iter(batches.into_iter().enumerate())
            .map(|(index, ids)| {
                let cap = cap.clone();
                async move {
                    let batch = index + 1;
                    let counters = Counters {
                        cap,
                        ..Counters::default()
                    };
                    let deadline = Instant::now() + shared.options.retry.region_budget;
                    let call = || shared.client.videos_by_id(&ids);
                    let answered = shared
                        .request_with_retries(&counters, "lookup", batch, deadline, call)
                        .await;
                    let outcome = answered.map(|page| {
                        let fetched_at = shared.clock.now();
                        let raw =
                            RawPage::new(batch, fetched_at, page.response.items.len(), &page.body);
                        (page.response, raw)
                    });
                    if let Err(e) = &outcome {
                        warn!(batch, ids = ids.len(), error = %e, "lookup failed");
                    }
                    LookupFetch {
                        batch,
                        ids,
                        outcome,
                        requests: counters.sent.into_inner(),
                        quota_units: counters.quota_units.into_inner(),
                        retries: counters.retries.into_inner(),
                    }
                }
            })
            // No more lookups pending than calls may be in flight: the semaphore still bounds
            // the calls themselves, shared with anything else the run sends.
            .buffer_unordered(shared.options.concurrency.max(1))
            .collect()
            .await;
        done.sort_by_key(|l| l.batch);
        done
    }

    /// The categories of each of `regions` (`videoCategories.list`, one unit a region), with
    /// titles in `hl`, concurrently under the run's bound; in the order of `regions`. A region
    /// whose call failed says why and never stops the others.
    pub async fn categories(&self, regions: &[String], hl: Option<&str>) -> Vec<CategoriesFetch> {
        use futures::StreamExt;
        let shared = &self.shared;
        futures::stream::iter(regions)
            .map(|region| async move {
                let counters = Counters::default();
                let deadline = Instant::now() + shared.options.retry.region_budget;
                let what = format!("{region} categories");
                let call = || shared.client.video_categories(region, hl);
                let answered = shared
                    .request_with_retries(&counters, &what, 1, deadline, call)
                    .await;
                let outcome = answered.map(|(response, body)| {
                    let raw = RawPage::new(1, shared.clock.now(), response.items.len(), &body);
                    (response, raw)
                });
                if let Err(e) = &outcome {
                    warn!(region = %region, error = %e, "the region's categories could not be fetched");
                }
                CategoriesFetch {
                    region: region.clone(),
                    outcome,
                    requests: counters.sent.into_inner(),
                    quota_units: counters.quota_units.into_inner(),
                    retries: counters.retries.into_inner(),
                }
            })
            .buffered(shared.options.concurrency.max(1))
            .collect()
            .await
    }

    /// Fetch all `charts` (keys: a region code for its general chart, `JP/25` for a category
    /// chart; see [`crate::chart`]); the result is in the order of `charts`. With a quota
    /// budget, charts whose complete fetch would not fit in what the run has left are left out
    /// before any of their requests is sent, the first ones given first.
    pub async fn charts(&self, regions: &[String]) -> Vec<RegionFetch> {
        let options = self.shared.options;
        let shared = self.shared.clone();
        let admitted = match self.units_left() {
            Some(left) => (left / options.pages_per_region().max(1)) as usize,
            None => regions.len(),
        };
        let what = match regions
            .iter()
            .any(|k| crate::chart::api_category(k).is_some())
        {
            true => "charts",
            false => "regions",
        };
        let mut results: Vec<Option<RegionFetch>> = regions.iter().map(|_| None).collect();
        // Regions in progress at most: as many as requests may be in flight, so a region's time
        // budget starts when it can actually make progress, not while it waits behind others.
        // Slots are taken here, in the order given, so regions start in that order.
        let region_slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for (index, region) in regions.iter().enumerate() {
            if index >= admitted {
                let budget = options.quota_budget.unwrap_or_default();
                results[index] = Some(RegionFetch {
                    region: region.clone(),
                    outcome: Err(RegionError {
                        region: region.clone(),
                        page: 0,
                        error: ApiError::local(
                            ErrorKind::BudgetExhausted,
                            format!(
                                "left out: --quota-budget {budget} covers {admitted} of {} {what} at {} units each",
                                regions.len(),
                                options.pages_per_region()
                            ),
                        ),
                    }),
                    requests: 0,
                    quota_units: 0,
                    retries: 0,
                    elapsed: Duration::ZERO,
                    duplicates_dropped: 0,
                    raw: Vec::new(),
                });
                continue;
            }
            let shared = shared.clone();
            let region = region.clone();
            let slot = region_slots
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            tasks.spawn(async move {
                let fetched = fetch_region(&shared, region).await;
                drop(slot);
                (index, fetched)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, fetched)) => results[index] = Some(fetched),
                // A panic in a region task is a bug: re-raise it rather than report a fake outcome.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => unreachable!("region task cancelled: {e}"),
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every region reports"))
            .collect()
    }
}

/// A region's progress through its chart; reset when the API rejects a page token.
struct Progress {
    chart: ChartAssembler,
    /// The pages as received, compressed, for the raw archive.
    raw: Vec<RawPage>,
    token: Option<String>,
    /// Items the chart should hold: `per_region`, or fewer when the API announces fewer.
    expected: usize,
    page_no: usize,
}

impl Progress {
    fn new(region: &str, per_region: usize) -> Self {
        Self {
            chart: ChartAssembler::new(region, per_region),
            raw: Vec::new(),
            token: None,
            expected: per_region,
            page_no: 0,
        }
    }
}

async fn fetch_region(shared: &Shared, region: String) -> RegionFetch {
    let started = Instant::now();
    let deadline = started + shared.options.retry.region_budget;
    let per_region = shared.options.per_region;
    let policy = shared.options.retry;
    let counters = Counters::default();
    let (code, _) = crate::chart::split(&region);
    // Keys are made from the API's numeric ids (chart::Categories), so this parses.
    let category: u32 = crate::chart::api_category(&region)
        .map_or(0, |c| c.parse().expect("a category key is numeric"));
    let mut progress = Progress::new(&region, per_region);
    let mut restarted = false;
    let page_reached = std::sync::atomic::AtomicUsize::new(0);
    let fail = |page: usize, error: ApiError| RegionError {
        region: region.clone(),
        page,
        error,
    };
    // The region's time budget bounds everything it does: slow successes as well as retries.
    let fetch = async {
        loop {
            progress.page_no += 1;
            let page_no = progress.page_no;
            page_reached.store(page_no, Ordering::Relaxed);
            let wanted = (per_region - progress.chart.received()).min(MAX_RESULTS as usize) as u32;
            let token = progress.token.as_deref();
            let response = shared
                .request_with_retries(&counters, &region, page_no, deadline, || {
                    shared
                        .client
                        .category_chart_page(code, category, wanted, token)
                })
                .await;
            let response = match response {
                Ok(r) => r,
                // A category chart the API does not have is an answer, not a failure: the
                // caller records it as such.
                Err(e) if e.kind == ErrorKind::ChartNotFound && category != 0 && page_no == 1 => {
                    info!(chart = %region, "the API has no such chart");
                    break Err(fail(page_no, e));
                }
                Err(e) if e.kind == ErrorKind::InvalidPageToken && !restarted => {
                    // The chart may have been rebuilt under us; start it over, once.
                    warn!(region = %region, page = page_no, "page token rejected; restarting the region from page 1");
                    restarted = true;
                    progress = Progress::new(&region, per_region);
                    continue;
                }
                Err(error) => {
                    warn!(region = %region, page = page_no, error = %error, "region failed");
                    break Err(fail(page_no, error));
                }
            };
            let fetched_at = shared.clock.now();
            let crate::youtube::ChartPage { response, body } = response;
            let received = response.items.len();
            debug!(region = %region, page = page_no, items = received, "page received");
            if let Err(e) = progress.chart.push(response.items, fetched_at) {
                warn!(region = %region, page = page_no, error = %e, "item cannot be stored");
                break Err(fail(
                    page_no,
                    ApiError::local(ErrorKind::BadItem, e.to_string()),
                ));
            }
            progress
                .raw
                .push(RawPage::new(page_no, fetched_at, received, &body));
            progress.token = response.next_page_token;
            // The first page's announcement is the chart's size; a later page that announces
            // less must not lower the bar (that is how a chart cut short looks).
            if let Some(info) = response.page_info
                && page_no == 1
            {
                progress.expected = (info.total_results as usize).min(per_region);
            }
            if progress.token.is_none() || progress.chart.received() >= per_region || received == 0
            {
                // A chart that ends early (an empty page, no next token before its announced
                // total) or that moved while we paged (an id repeated, so another one missed) is
                // not a success: committing it would erase an earlier good copy of the region.
                let kept = progress.chart.len();
                if kept < progress.expected || kept == 0 {
                    let problem = if progress.chart.duplicates_dropped() > 0 {
                        format!(
                            "the chart moved while paging: {kept} distinct of {} items",
                            progress.expected
                        )
                    } else {
                        format!(
                            "the chart ended after {kept} of {} items",
                            progress.expected
                        )
                    };
                    if !restarted {
                        warn!(region = %region, page = page_no, problem, "restarting the region from page 1");
                        restarted = true;
                        progress = Progress::new(&region, per_region);
                        continue;
                    }
                    break Err(fail(
                        page_no,
                        ApiError::local(ErrorKind::IncompleteChart, problem),
                    ));
                }
                let Progress { chart, raw, .. } = progress;
                let duplicates_dropped = chart.duplicates_dropped();
                if duplicates_dropped > 0 {
                    warn!(region = %region, duplicates_dropped, "the API repeated ids across pages");
                }
                break Ok((chart.finish(), raw, duplicates_dropped));
            }
        }
    };
    let outcome = match tokio::time::timeout_at(deadline.into(), fetch).await {
        Ok(outcome) => outcome,
        Err(_) => Err(RegionError {
            region: region.clone(),
            page: page_reached.load(Ordering::Relaxed),
            error: ApiError::local(
                ErrorKind::Timeout,
                format!(
                    "the region took longer than its budget of {} s (--region-budget-secs)",
                    policy.region_budget.as_secs()
                ),
            ),
        }),
    };
    let (outcome, raw, duplicates_dropped) = match outcome {
        Ok((batch, raw, dups)) => (Ok(batch), raw, dups),
        Err(e) => (Err(e), Vec::new(), 0),
    };
    RegionFetch {
        region,
        outcome,
        requests: counters.sent.into_inner(),
        quota_units: counters.quota_units.into_inner(),
        retries: counters.retries.into_inner(),
        elapsed: started.elapsed(),
        duplicates_dropped,
        raw,
    }
}
