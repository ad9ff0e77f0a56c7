//! Fetch every region's chart concurrently: regions run in parallel, each region's pages in
//! order, and a shared semaphore keeps at most `concurrency` requests in flight overall.
//!
//! Each page is normalised into the region's Arrow builder as soon as it arrives (on the runtime's
//! worker threads, so regions normalise in parallel) and then dropped: a region holds one page of
//! parsed JSON at a time. One region's failure never cancels another: each ends with its own outcome.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::clock::Clock;
use arrow::array::RecordBatch;

use crate::record::{Page, RegionBatchBuilder};
use crate::youtube::client::MAX_RESULTS;
use crate::youtube::{ApiError, Client, ErrorKind};

/// How much to fetch and how hard to push.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Requests in flight at most, across all regions.
    pub concurrency: usize,
    /// Items per region (the whole chart is 200).
    pub per_region: usize,
}

/// The result of one region.
#[derive(Debug)]
pub struct RegionFetch {
    pub region: String,
    /// The region's rows in chart order, in the lake schema.
    pub outcome: Result<RecordBatch, RegionError>,
    /// `videos.list` calls made (each costs one quota unit, failed ones too).
    pub requests: u32,
    pub elapsed: Duration,
    /// Items dropped because the API repeated an id already seen on an earlier page.
    pub duplicates_dropped: usize,
}

/// Why a region failed, with the page it failed on (1-based).
#[derive(Debug, Clone, thiserror::Error)]
#[error("region {region}, page {page}: {error}")]
pub struct RegionError {
    pub region: String,
    pub page: usize,
    pub error: ApiError,
}

/// Fetch all `regions`; the result is in the order of `regions`.
pub async fn fetch_all(
    client: &Client,
    regions: &[String],
    options: FetchOptions,
    clock: Clock,
) -> Vec<RegionFetch> {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, region) in regions.iter().enumerate() {
        let client = client.clone();
        let region = region.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            (
                index,
                fetch_region(&client, region, options.per_region, &permits, clock).await,
            )
        });
    }
    let mut results: Vec<Option<RegionFetch>> = regions.iter().map(|_| None).collect();
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

async fn fetch_region(
    client: &Client,
    region: String,
    per_region: usize,
    permits: &Semaphore,
    clock: Clock,
) -> RegionFetch {
    let started = Instant::now();
    let mut builder = RegionBatchBuilder::new(&region);
    let mut page_no = 0usize;
    let mut seen: HashSet<String> = HashSet::with_capacity(per_region);
    let mut token: Option<String> = None;
    let mut offset = 0usize;
    let mut requests = 0u32;
    let mut duplicates_dropped = 0usize;
    let outcome = loop {
        page_no += 1;
        let wanted = (per_region - offset).min(MAX_RESULTS as usize) as u32;
        let response = {
            let _permit = permits.acquire().await.expect("semaphore never closed");
            requests += 1;
            client.chart_page(&region, wanted, token.as_deref()).await
        };
        let response = match response {
            Ok(r) => r,
            Err(error) => {
                warn!(region = %region, page = page_no, error = %error, "region failed");
                break Err(RegionError {
                    region: region.clone(),
                    page: page_no,
                    error,
                });
            }
        };
        let fetched_at = clock.now();
        let received = response.items.len();
        let mut items = response.items;
        items.truncate(per_region - offset);
        // Ranks come from positions, so an id repeated across pages (the chart moved while we
        // paged) would claim two ranks; keep its first, better one.
        let before = items.len();
        items.retain(|v| seen.insert(v.id.clone()));
        duplicates_dropped += before - items.len();
        debug!(region = %region, page = page_no, items = received, "page received");
        // Ranks stay dense (1..=n) even when a duplicate was dropped.
        let page = Page {
            offset: builder.len(),
            fetched_at,
            items,
        };
        if let Err(e) = builder.push_page(&page) {
            warn!(region = %region, page = page_no, error = %e, "item cannot be stored");
            break Err(RegionError {
                region: region.clone(),
                page: page_no,
                error: ApiError {
                    kind: ErrorKind::BadItem,
                    status: None,
                    reason: None,
                    message: e.to_string(),
                    retry_after: None,
                },
            });
        }
        offset += received;
        token = response.next_page_token;
        if token.is_none() || offset >= per_region || received == 0 {
            break Ok(builder.finish());
        }
    };
    if duplicates_dropped > 0 {
        warn!(region = %region, duplicates_dropped, "the API repeated ids across pages");
    }
    RegionFetch {
        region,
        outcome,
        requests,
        elapsed: started.elapsed(),
        duplicates_dropped,
    }
}
