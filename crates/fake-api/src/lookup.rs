//! Lookups by id: `GET /youtube/v3/videos?id=ID1,ID2,…&part=…`, answered as the real API answers
//! them (docs/youtube_api.md, "Looking videos up by id"): at most [`MAX_IDS`] ids a call, absent
//! items for unknown, deleted and private videos, a repeated id answered once, and the items in
//! an order of their own, so that a client must match them by id.
//!
//! A video id is a hash of the video's key and cannot be inverted, so the fake keeps an index
//! from id to identity (`data::Identity`): one sorted shard per identity day, holding every
//! video of every pool (each supported region's and the global one) published that day, built
//! the first time a lookup needs it and then kept. A lookup on day D searches the shards of D and
//! of the [`LOOKUP_HORIZON_DAYS`] days before; a video is then exactly what D's charts show of it
//! (`data::video_on`), unless its [`Fate`] has removed it by D.
//!
//! [`lookup`] and [`fate`] are oracles for tests: what the fake serves, computed without HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike, NaiveDate};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use trendlake::youtube::model::{PageInfo, Video, VideoListResponse};

use crate::data::{self, Fate, Identity, LOOKUP_HORIZON_DAYS};
use crate::{ApiError, Parts, ServerState, VideosRequest, json_response, select_parts, to_json};

/// The most ids one call may ask for; more is `400 invalidFilters`.
pub const MAX_IDS: usize = 50;

/// What a lookup by id is called where a chart request has its region: in
/// [`crate::LoggedRequest::region`], in [`crate::VideosRequest::region`], and in fault plans
/// (`"region": "ids"`).
pub const LOOKUP_REGION: &str = "ids";

/// The video `id` as a lookup on `date` finds it, with every part (`snippet`, `contentDetails`,
/// `statistics`, `liveStreamingDetails` for a live stream, and `status`): to lookups what
/// [`crate::chart`] is to charts, and equal to the video in any chart of `date`. As with
/// `chart`, the etag is the whole video's (a served item's etag is that of the parts sent) and
/// `snippet.localized`, which the fake sends, is filled in (the client's model does not read it).
/// `None` when a lookup on `date` leaves it out: an id the fake never made, a video published
/// after `date` or more than [`LOOKUP_HORIZON_DAYS`] days before it, or one deleted or made
/// private by then (see [`fate`]).
pub fn lookup(seed: u64, id: &str, date: NaiveDate) -> Option<Video> {
    let identity = shared_index(seed).find(id, date)?;
    found(seed, identity, date)
}

/// The fate of the video `id`: when lookups find it, and whether and when it is deleted, made
/// private or unlisted. `seen_on` is a day the video exists on (the day a chart or a lookup
/// showed it: any day from its publication to [`LOOKUP_HORIZON_DAYS`] days after); `None` for
/// an id the fake never made or that is not published on `seen_on`.
pub fn fate(seed: u64, id: &str, seen_on: NaiveDate) -> Option<Fate> {
    let identity = shared_index(seed).find(id, seen_on)?;
    Some(data::fate(seed, identity))
}

/// The video of `identity` on `date`, if a lookup on `date` returns it.
fn found(seed: u64, identity: Identity, date: NaiveDate) -> Option<Video> {
    data::fate(seed, identity)
        .found_on(date)
        .then(|| data::video_on(seed, identity, date))
}

/// The 64 bits that `id` encodes, if it is an id the fake could have made (11 characters of
/// canonical unpadded base64url).
fn id_hash_of(id: &str) -> Option<u64> {
    if id.len() != 11 {
        return None;
    }
    let bytes: [u8; 8] = URL_SAFE_NO_PAD.decode(id).ok()?.try_into().ok()?;
    let hash = u64::from_be_bytes(bytes);
    (data::id_of_hash(hash) == id).then_some(hash)
}

// ---------------------------------------------------------------------------------------------
// The index.

/// Every video published on one day, by id hash.
struct Shard {
    day: i64,
    /// Sorted by `id_hash`.
    entries: Vec<Entry>,
}

/// One video of a shard, in 16 bytes: its id hash and the rest of its identity.
#[derive(Clone, Copy)]
struct Entry {
    id_hash: u64,
    /// [`Identity::pool_u16`].
    pool: u16,
    index: u16,
}

impl Shard {
    fn build(seed: u64, day: i64) -> Shard {
        let date = data::date_of(day);
        let mut entries: Vec<Entry> = data::identities(date..=date)
            .map(|identity| Entry {
                id_hash: data::id_hash(identity.key(seed)),
                pool: identity.pool_u16(),
                index: u16::try_from(identity.index).expect("a pool publishes few videos a day"),
            })
            .collect();
        entries.sort_unstable_by_key(|e| e.id_hash);
        Shard { day, entries }
    }

    fn find(&self, id_hash: u64) -> Option<Identity> {
        let at = self
            .entries
            .binary_search_by_key(&id_hash, |e| e.id_hash)
            .ok()?;
        let entry = self.entries[at];
        Some(Identity {
            pool: Identity::pool_from_u16(entry.pool),
            day: self.day,
            index: u32::from(entry.index),
        })
    }
}

/// Shards kept at most: two horizons' worth, so a fake moving forwards a day at a time only ever
/// builds the new day's shard.
const MAX_SHARDS: usize = 2 * (LOOKUP_HORIZON_DAYS as usize + 1);

/// The id → identity index of one seed, filled a day at a time as lookups need it.
pub(crate) struct Index {
    seed: u64,
    shards: Mutex<HashMap<i64, Arc<Shard>>>,
}

/// By hand: the shards are megabytes of numbers.
impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("seed", &self.seed)
            .field("shards", &lock(&self.shards).len())
            .finish()
    }
}

impl Index {
    fn new(seed: u64) -> Self {
        Index {
            seed,
            shards: Mutex::new(HashMap::new()),
        }
    }

    /// The shards a lookup on `date` searches, newest first; missing ones are built.
    fn window(&self, date: NaiveDate) -> Vec<Arc<Shard>> {
        let today = data::day_number(date);
        let days = today - LOOKUP_HORIZON_DAYS..=today;
        let mut shards = lock(&self.shards);
        let window = days
            .clone()
            .rev()
            .map(|day| {
                let shard = shards
                    .entry(day)
                    .or_insert_with(|| Arc::new(Shard::build(self.seed, day)));
                Arc::clone(shard)
            })
            .collect();
        if shards.len() > MAX_SHARDS {
            shards.retain(|day, _| days.contains(day));
        }
        window
    }

    /// The identity of each of `ids` among the videos a lookup on `date` can find, if any.
    fn resolve<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        date: NaiveDate,
    ) -> Vec<(&'a str, Option<Identity>)> {
        let window = self.window(date);
        ids.into_iter()
            .map(|id| {
                let identity =
                    id_hash_of(id).and_then(|hash| window.iter().find_map(|s| s.find(hash)));
                (id, identity)
            })
            .collect()
    }

    fn find(&self, id: &str, date: NaiveDate) -> Option<Identity> {
        self.resolve([id], date).pop()?.1
    }
}

/// The index of `seed`, shared by every server and oracle call of the process (a handful of
/// seeds at most are kept; a server holds on to its own).
pub(crate) fn shared_index(seed: u64) -> Arc<Index> {
    static INDEXES: OnceLock<Mutex<HashMap<u64, Arc<Index>>>> = OnceLock::new();
    let mut indexes = lock(INDEXES.get_or_init(Mutex::default));
    if !indexes.contains_key(&seed) && indexes.len() >= 4 {
        indexes.clear();
    }
    Arc::clone(
        indexes
            .entry(seed)
            .or_insert_with(|| Arc::new(Index::new(seed))),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps inconsistent; keep serving.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// The 1-based numbers that fault plans know lookups by (`page` of region `"ids"`): for each
/// served day, the distinct id lists in the order they were first asked for. Asking the same
/// list again (a retry) gets the same number, as a retried chart page keeps its page.
#[derive(Debug, Default)]
pub(crate) struct Ordinals(Mutex<HashMap<NaiveDate, HashMap<String, usize>>>);

/// Days whose numbering is remembered.
const ORDINAL_DAYS: usize = 8;

impl Ordinals {
    fn number(&self, date: NaiveDate, ids: &[String]) -> usize {
        let mut days = lock(&self.0);
        if !days.contains_key(&date)
            && days.len() >= ORDINAL_DAYS
            && let Some(oldest) = days.keys().min().copied()
        {
            days.remove(&oldest);
        }
        let lists = days.entry(date).or_default();
        let next = lists.len() + 1;
        *lists.entry(ids.join(",")).or_insert(next)
    }
}

/// The ids of an `id` parameter: split at commas, spaces trimmed, blanks dropped; in order, with
/// repeats.
pub(crate) fn split_ids(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Validates a lookup by id (the `id` filter, alone), after the key, the quota and `part`.
pub(crate) fn parse<'p>(
    state: &ServerState,
    param: impl Fn(&str) -> Option<&'p str>,
    parts: Parts,
) -> Result<VideosRequest, ApiError> {
    let ids = split_ids(param("id").unwrap_or_default());
    if ids.is_empty() {
        return Err(ApiError::no_filter());
    }
    // Paging belongs to charts; `regionCode`, `videoCategoryId`, `hl` … are accepted and ignored.
    let paging: Vec<&str> = ["maxResults", "pageToken"]
        .into_iter()
        .filter(|p| param(p).is_some())
        .collect();
    if !paging.is_empty() {
        let mut names = vec!["id"];
        names.extend(paging);
        return Err(ApiError::incompatible(&names));
    }
    if ids.len() > MAX_IDS {
        return Err(invalid_filters());
    }
    let date = state.date();
    Ok(VideosRequest {
        region: LOOKUP_REGION.to_owned(),
        parts,
        max_results: ids.len() as u32,
        start: 0,
        page: state.inner.ordinals.number(date, &ids) as u32,
        date,
        ids,
        category: 0,
    })
}

/// More than [`MAX_IDS`] ids, as users report the real API answers it.
fn invalid_filters() -> ApiError {
    let mut error = ApiError::new(
        StatusCode::BAD_REQUEST,
        "The request specifies an invalid filter parameter.",
        "youtube.parameter",
        "invalidFilters",
    );
    for item in &mut error.body.error.errors {
        item.location = Some("parameters.".to_owned());
        item.location_type = Some("other".to_owned());
    }
    error
}

/// The normal answer to a lookup: every video asked for that the day still has, once each, in
/// an order that is not the one asked for.
pub(crate) fn respond(state: &ServerState, request: &VideosRequest) -> Response {
    let seed = state.inner.seed;
    let mut seen = HashSet::new();
    let distinct = request
        .ids
        .iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id));
    let mut items: Vec<Video> = state
        .inner
        .index
        .resolve(distinct, request.date)
        .into_iter()
        .filter_map(|(_, identity)| found(seed, identity?, request.date))
        .map(|video| select_parts(&video, request.parts))
        .collect();
    shuffle(&mut items, seed, request.date, &request.ids);
    let n = items.len() as u32;
    list(
        items,
        PageInfo {
            total_results: n,
            results_per_page: n,
        },
    )
}

/// A lookup's answer that went missing (fault `empty_page`): a well-formed list of nothing.
pub(crate) fn empty() -> Response {
    list(
        Vec::new(),
        PageInfo {
            total_results: 0,
            results_per_page: 0,
        },
    )
}

fn list(items: Vec<Video>, page_info: PageInfo) -> Response {
    let mut list = VideoListResponse {
        kind: Some("youtube#videoListResponse".to_owned()),
        etag: None,
        items,
        next_page_token: None,
        prev_page_token: None,
        page_info: Some(page_info),
    };
    list.etag = Some(data::etag_of(&to_json(&list)));
    json_response(StatusCode::OK, to_json(&list))
}

/// Reorders `items` deterministically for (seed, date, the ids as asked), never leaving two or
/// more in the order asked: a client that pairs answers with questions by position fails at once.
fn shuffle(items: &mut [Video], seed: u64, date: NaiveDate, ids: &[String]) {
    let asked: Vec<String> = items.iter().map(|v| v.id.clone()).collect();
    let mut h = data::hash(&[seed, date.num_days_from_ce() as u64, 0x1D5]);
    for id in ids {
        h = data::hash(&[h, fnv1a(id.as_bytes())]);
    }
    items.shuffle(&mut ChaCha8Rng::seed_from_u64(h));
    if items.len() >= 2 && items.iter().map(|v| &v.id).eq(asked.iter()) {
        items.rotate_left(1);
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Change;
    use crate::{FakeApi, FakeConfig, Fault, FaultKind, chart, parse_faults};
    use std::time::{Duration, Instant};
    use trendlake::youtube::model::Statistics;

    const SEED: u64 = 42;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn days(n: i64) -> chrono::Duration {
        chrono::Duration::days(n)
    }

    /// The date the tests' fakes serve.
    fn today() -> NaiveDate {
        day("2026-11-25")
    }

    fn config() -> FakeConfig {
        FakeConfig {
            date: Some(today()),
            ..FakeConfig::default()
        }
    }

    use crate::tests::{get, reason, start};

    /// A lookup of `ids` with `part`.
    async fn look_up(api: &FakeApi, part: &str, ids: &[&str]) -> (u16, serde_json::Value) {
        get(api, &[("part", part), ("id", &ids.join(","))]).await
    }

    fn items(body: &serde_json::Value) -> Vec<Video> {
        serde_json::from_value(body["items"].clone()).unwrap()
    }

    fn item_ids(body: &serde_json::Value) -> Vec<String> {
        items(body).into_iter().map(|v| v.id).collect()
    }

    fn views(v: &Video) -> u64 {
        let stats = v.statistics.as_ref().unwrap();
        stats.view_count.as_ref().unwrap().parse().unwrap()
    }

    fn privacy(v: &Video) -> &str {
        let status = v.status.as_ref().unwrap();
        status.privacy_status.as_deref().unwrap()
    }

    const ALL_PARTS: &str = "snippet,contentDetails,statistics,liveStreamingDetails,status";
    const ALL: Parts = Parts {
        snippet: true,
        content_details: true,
        statistics: true,
        live_streaming_details: true,
        status: true,
    };

    /// `video` as the client reads it when served with `parts`: `localized` is not read.
    fn as_served(video: &Video, parts: Parts) -> Video {
        let mut served = select_parts(video, parts);
        if let Some(snippet) = &mut served.snippet {
            snippet.localized = None;
        }
        served
    }

    /// Charted videos of the default regions on `date` (each once), with their fates.
    fn charted(date: NaiveDate) -> Vec<(Video, Fate)> {
        let mut seen = HashSet::new();
        trendlake::regions::DEFAULT_REGIONS
            .iter()
            .flat_map(|r| chart(SEED, r, date))
            .filter(|v| seen.insert(v.id.clone()))
            .map(|v| {
                let fate = fate(SEED, &v.id, date).expect("a charted video has a fate");
                (v, fate)
            })
            .collect()
    }

    /// A charted video of `date` whose fate is `change`.
    fn with_change(date: NaiveDate, change: Option<Change>) -> (Video, Fate) {
        charted(date)
            .into_iter()
            .find(|(_, f)| f.change.map(|c| c.0) == change)
            .expect("the default regions' charts hold every fate")
    }

    #[test]
    fn a_lookup_is_what_the_days_chart_shows() {
        for date in [today(), day("2027-02-03")] {
            for region in ["JP", "US", "SA", "BR"] {
                for v in chart(SEED, region, date) {
                    // Byte for byte, statistics, status and etag included.
                    assert_eq!(lookup(SEED, &v.id, date).as_ref(), Some(&v), "{}", v.id);
                    assert_eq!(privacy(&v), "public");
                }
            }
        }
    }

    #[test]
    fn fates_are_rare_and_come_only_after_the_last_chart_day() {
        let date = today();
        let all = charted(date);
        let count = |c: Change| {
            all.iter()
                .filter(|(_, f)| f.change.map(|x| x.0) == Some(c))
                .count()
        };
        let n = all.len() as f64;
        let (deleted, private, unlisted) = (
            count(Change::Deleted) as f64 / n,
            count(Change::Private) as f64 / n,
            count(Change::Unlisted) as f64 / n,
        );
        assert!(all.len() > 1_200, "{}", all.len());
        assert!((0.025..0.06).contains(&deleted), "{deleted}");
        assert!((0.015..0.05).contains(&private), "{private}");
        assert!((0.008..0.035).contains(&unlisted), "{unlisted}");
        for (v, f) in &all {
            assert!(f.first_day <= date && date <= f.last_chart_day, "{}", v.id);
            let published = &v.snippet.as_ref().unwrap().published_at[..10];
            let live = v
                .snippet
                .as_ref()
                .unwrap()
                .live_broadcast_content
                .as_deref()
                == Some("live");
            assert!(live || published == f.first_day.to_string(), "{}", v.id);
            assert_eq!(
                f.forgotten_from,
                f.first_day + days(LOOKUP_HORIZON_DAYS + 1)
            );
            let global = f.last_chart_day - f.first_day == days(23);
            assert!(
                global || f.last_chart_day - f.first_day == days(20),
                "{f:?}"
            );
            if let Some((_, from)) = f.change {
                assert!(from > f.last_chart_day, "{f:?}");
                assert!(from <= f.first_day + days(50), "{f:?}");
            }
        }
    }

    #[test]
    fn no_chart_ever_holds_a_vanished_or_unlisted_video() {
        for offset in (0..60).step_by(7) {
            let date = today() + days(offset);
            for (v, f) in charted(date) {
                assert!(date <= f.last_chart_day, "{} on {date}", v.id);
                assert!(f.found_on(date), "{} on {date}", v.id);
                assert_eq!(f.privacy_status(date), "public");
                assert_eq!(privacy(&v), "public");
            }
        }
    }

    #[test]
    fn vanished_videos_are_absent_from_their_day_on() {
        for change in [Change::Deleted, Change::Private] {
            let (v, f) = with_change(today(), Some(change));
            let (_, from) = f.change.unwrap();
            assert!(lookup(SEED, &v.id, from - days(1)).is_some(), "{change:?}");
            assert!(!f.found_on(from));
            for later in [0, 1, 30] {
                assert_eq!(lookup(SEED, &v.id, from + days(later)), None, "{change:?}");
            }
        }
        let (v, f) = with_change(today(), Some(Change::Unlisted));
        let (_, from) = f.change.unwrap();
        let before = lookup(SEED, &v.id, from - days(1)).unwrap();
        let after = lookup(SEED, &v.id, from).unwrap();
        assert_eq!((privacy(&before), privacy(&after)), ("public", "unlisted"));
        assert!(views(&after) > views(&before));
    }

    #[test]
    fn before_publication_beyond_the_horizon_and_unknown_ids_are_absent() {
        let (v, f) = with_change(today(), None);
        assert!(lookup(SEED, &v.id, f.first_day).is_some());
        assert_eq!(lookup(SEED, &v.id, f.first_day - days(1)), None);
        assert_eq!(fate(SEED, &v.id, f.first_day - days(1)), None);
        let last = f.forgotten_from - days(1);
        assert!(lookup(SEED, &v.id, last).is_some());
        assert_eq!(lookup(SEED, &v.id, f.forgotten_from), None);
        // Another seed's videos, and ids that are not ids.
        assert_eq!(lookup(SEED + 1, &v.id, today()), None);
        for bad in [
            "",
            "dQw4w9WgXcQ",
            "AAAAAAAAAAA",
            "AAAAAAAAAAB",
            "short",
            "😀😀😀",
            &v.id[..10],
        ] {
            assert_eq!(lookup(SEED, bad, today()), None, "{bad:?}");
        }
        // An id differing only in the unused low bits of its last character is not the same id.
        let mut twin = v.id.clone();
        let last = twin.pop().unwrap();
        twin.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(lookup(SEED, &twin, today()), None);
    }

    #[test]
    fn views_keep_growing_more_slowly_after_the_charts() {
        let date = today();
        let mut checked = 0;
        for (v, f) in charted(date).into_iter().step_by(40) {
            let mut previous = views(&v);
            let mut gains = Vec::new();
            let mut likes = v.statistics.as_ref().unwrap().like_count.clone();
            for offset in 1..=100 {
                let later = date + days(offset);
                let Some(seen) = lookup(SEED, &v.id, later) else {
                    assert!(!f.found_on(later));
                    break;
                };
                let now = views(&seen);
                assert!(now > previous, "{} on {later}: {previous} then {now}", v.id);
                gains.push(now - previous);
                previous = now;
                let stats: &Statistics = seen.statistics.as_ref().unwrap();
                // Hidden likes stay hidden; shown ones never fall.
                assert_eq!(stats.like_count.is_some(), likes.is_some());
                if let (Some(a), Some(b)) = (&likes, &stats.like_count) {
                    assert!(a.parse::<u64>().unwrap() <= b.parse::<u64>().unwrap());
                }
                likes = stats.like_count.clone();
                // Metadata never changes.
                assert_eq!(seen.snippet, v.snippet);
            }
            if gains.len() >= 60 {
                checked += 1;
                let early: u64 = gains[..10].iter().sum();
                let late: u64 = gains[gains.len() - 10..].iter().sum();
                assert!(late <= early, "{}: gains {early} then {late}", v.id);
            }
        }
        assert!(checked > 20, "{checked}");
    }

    #[test]
    fn the_index_is_cheap() {
        let index = Index::new(4242);
        let started = Instant::now();
        let shards = index.window(today());
        let first = started.elapsed();
        assert_eq!(shards.len(), LOOKUP_HORIZON_DAYS as usize + 1);
        let videos: usize = shards.iter().map(|s| s.entries.len()).sum();
        let pools = trendlake::regions::regions().len();
        assert_eq!(videos, shards.len() * (pools * 24 + 10));
        let started = Instant::now();
        index.window(today() + days(1));
        let next_day = started.elapsed();
        // Measured at about 12 ms and 0.1 ms (release); the bounds only catch a blunder.
        assert!(first < Duration::from_secs(2), "{first:?}");
        assert!(next_day < Duration::from_millis(200), "{next_day:?}");
        assert!(format!("{index:?}").len() < 100);
        // Moving far away drops what is out of reach instead of growing forever.
        index.window(today() + days(1_000));
        assert!(lock(&index.shards).len() <= MAX_SHARDS);
    }

    // ------------------------------------------------------------------------------------------
    // Through HTTP.

    #[tokio::test]
    async fn a_lookup_answers_the_available_ids_once_each_in_another_order() {
        let api = start(config()).await;
        let date = today();
        let mut asked: Vec<String> = chart(SEED, "KR", date)
            .into_iter()
            .take(20)
            .map(|v| v.id)
            .collect();
        // A video already deleted, one from an older chart still up, unknown and malformed ids,
        // one not yet published, and repeats.
        let gone = with_change(date - days(60), Some(Change::Deleted));
        assert!(!gone.1.found_on(date), "{:?}", gone.1);
        let old = charted(date - days(60))
            .into_iter()
            .find(|(_, f)| f.found_on(date))
            .unwrap();
        let future = chart(SEED, "KR", date + days(3))
            .into_iter()
            .find(|v| fate(SEED, &v.id, date).is_none())
            .unwrap();
        let extra = [
            gone.0.id.clone(),
            old.0.id.clone(),
            "dQw4w9WgXcQ".to_owned(),
            "not an id".to_owned(),
            future.id.clone(),
            asked[3].clone(),
            asked[0].clone(),
        ];
        asked.extend(extra);
        let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
        let (status, body) = look_up(&api, ALL_PARTS, &refs).await;
        assert_eq!(status, 200, "{body}");
        let got = items(&body);
        let expected: Vec<String> = asked[..20]
            .iter()
            .cloned()
            .chain([old.0.id.clone()])
            .collect();
        let ids: Vec<String> = got.iter().map(|v| v.id.clone()).collect();
        assert_eq!(ids.len(), 21, "each once: {ids:?}");
        assert_ne!(ids, expected, "not in the order asked");
        let mut sorted = ids.clone();
        sorted.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(sorted, want);
        for v in &got {
            let full = lookup(SEED, &v.id, date).unwrap();
            assert_eq!(*v, as_served(&full, ALL));
        }
        assert_eq!(body["kind"], "youtube#videoListResponse");
        assert_eq!(body["etag"].as_str().unwrap().len(), 27);
        assert_eq!(body["pageInfo"]["totalResults"], 21);
        assert_eq!(body["pageInfo"]["resultsPerPage"], 21);
        assert!(body.get("nextPageToken").is_none() && body.get("prevPageToken").is_none());
        // The same question gets the same answer, byte for byte.
        assert_eq!(look_up(&api, ALL_PARTS, &refs).await.1, body);
        // Even two ids never come back in the order asked.
        for pair in asked[..20].chunks(2) {
            let pair: Vec<&str> = pair.iter().map(String::as_str).collect();
            let (_, body) = look_up(&api, "id", &pair).await;
            assert_eq!(item_ids(&body), [pair[1], pair[0]]);
        }
        // A single id, repeated, comes once.
        let one = asked[5].as_str();
        let (_, body) = look_up(&api, "id", &[one, one, one]).await;
        assert_eq!(item_ids(&body), [one]);
        assert_eq!(body["pageInfo"]["totalResults"], 1);
        // Nothing found is an empty list, not an error.
        let (status, body) = look_up(&api, "statistics", &[&gone.0.id, "dQw4w9WgXcQ"]).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"], serde_json::json!([]));
        assert_eq!(body["pageInfo"]["totalResults"], 0);
    }

    #[tokio::test]
    async fn statistics_match_the_days_chart_and_likes_stay_hidden() {
        let api = start(config()).await;
        let (_, page) = get(
            &api,
            &[
                ("part", "statistics"),
                ("chart", "mostPopular"),
                ("regionCode", "VN"),
                ("maxResults", "50"),
            ],
        )
        .await;
        let on_chart = items(&page);
        let ids: Vec<&str> = on_chart.iter().map(|v| v.id.as_str()).collect();
        let (status, body) = look_up(&api, "statistics", &ids).await;
        assert_eq!(status, 200);
        let looked_up: HashMap<String, Video> = items(&body)
            .into_iter()
            .map(|v| (v.id.clone(), v))
            .collect();
        assert_eq!(looked_up.len(), 50);
        let mut hidden = 0;
        for v in &on_chart {
            let same = &looked_up[&v.id];
            assert_eq!(same.statistics, v.statistics, "{}", v.id);
            assert!(same.snippet.is_none() && same.status.is_none());
            // Same parts, same etag.
            assert_eq!(same.etag, v.etag);
            if v.statistics.as_ref().unwrap().like_count.is_none() {
                hidden += 1;
            }
        }
        assert!(hidden > 0, "no hidden likes among 50");
        // A day later, each has more views (none has vanished while still charting).
        api.set_date(today() + days(1));
        let (_, body) = look_up(&api, "statistics", &ids).await;
        let next: Vec<Video> = items(&body);
        assert_eq!(next.len(), 50);
        for v in next {
            assert!(views(&v) > views(&looked_up[&v.id]), "{}", v.id);
            let hides = looked_up[&v.id]
                .statistics
                .as_ref()
                .unwrap()
                .like_count
                .is_none();
            assert_eq!(v.statistics.unwrap().like_count.is_none(), hides);
        }
    }

    #[tokio::test]
    async fn the_status_part_comes_only_when_asked() {
        let api = start(config()).await;
        let ids: Vec<String> = chart(SEED, "JP", today())
            .into_iter()
            .take(10)
            .map(|v| v.id)
            .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (_, without) = look_up(&api, "snippet,statistics", &refs).await;
        for v in items(&without) {
            assert!(v.status.is_none() && v.snippet.is_some() && v.content_details.is_none());
        }
        let (_, with) = look_up(&api, "status", &refs).await;
        for v in items(&with) {
            let status = v.status.as_ref().unwrap();
            assert_eq!(status.upload_status.as_deref(), Some("processed"));
            assert_eq!(status.privacy_status.as_deref(), Some("public"));
            assert!(matches!(
                status.license.as_deref(),
                Some("youtube" | "creativeCommon")
            ));
            assert!(status.embeddable.is_some() && status.made_for_kids.is_some());
            assert!(status.public_stats_viewable.is_some());
            assert!(v.snippet.is_none() && v.statistics.is_none());
        }
        // Charts send it when asked too.
        let (_, page) = get(
            &api,
            &[
                ("part", "status"),
                ("chart", "mostPopular"),
                ("regionCode", "JP"),
            ],
        )
        .await;
        assert_eq!(page["items"][0]["status"]["privacyStatus"], "public");
        assert_eq!(page["items"][0]["status"]["uploadStatus"], "processed");
        // An unlisted video says so once it is.
        let (v, f) = with_change(today() - days(30), Some(Change::Unlisted));
        let from = f.change.unwrap().1;
        api.set_date(from);
        let (_, body) = look_up(&api, "status", &[&v.id]).await;
        assert_eq!(body["items"][0]["status"]["privacyStatus"], "unlisted");
        api.set_date(from - days(1));
        let (_, body) = look_up(&api, "status", &[&v.id]).await;
        assert_eq!(body["items"][0]["status"]["privacyStatus"], "public");
    }

    #[tokio::test]
    async fn a_deleted_video_is_absent_from_its_day_on() {
        let api = start(config()).await;
        let (v, f) = with_change(today(), Some(Change::Deleted));
        let from = f.change.unwrap().1;
        let other = chart(SEED, "TW", today())[0].id.clone();
        api.set_date(from - days(1));
        let (_, body) = look_up(&api, "id", &[&v.id, &other]).await;
        assert_eq!(item_ids(&body).len(), 2);
        api.set_date(from);
        let (status, body) = look_up(&api, "id", &[&v.id, &other]).await;
        assert_eq!((status, item_ids(&body)), (200, vec![other]));
    }

    #[tokio::test]
    async fn refusals_have_the_real_shape() {
        let api = start(config()).await;
        let ids: Vec<String> = (0..51).map(|i| format!("id{i:09}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (status, body) = look_up(&api, "id", &refs).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["error"],
            serde_json::json!({
                "code": 400,
                "message": "The request specifies an invalid filter parameter.",
                "errors": [{
                    "message": "The request specifies an invalid filter parameter.",
                    "domain": "youtube.parameter",
                    "reason": "invalidFilters",
                    "location": "parameters.",
                    "locationType": "other",
                }],
            })
        );
        // Fifty is fine, and blanks around or between them are no ids; a repeat counts.
        assert_eq!(look_up(&api, "id", &refs[..50]).await.0, 200);
        let padded = format!(" {} ,, ", refs[..50].join(" , "));
        assert_eq!(get(&api, &[("part", "id"), ("id", &padded)]).await.0, 200);
        let repeated = format!("{},{}", refs[..50].join(","), refs[0]);
        let (status, body) = get(&api, &[("part", "id"), ("id", &repeated)]).await;
        assert_eq!((status, reason(&body)), (400, "invalidFilters"));

        let id = chart(SEED, "JP", today())[0].id.clone();
        for (extra, names) in [
            (vec![("maxResults", "5")], "id, maxResults"),
            (vec![("pageToken", "CAUQAA")], "id, pageToken"),
            (
                vec![("pageToken", "CAUQAA"), ("maxResults", "50")],
                "id, maxResults, pageToken",
            ),
        ] {
            let mut query = vec![("part", "snippet"), ("id", id.as_str())];
            query.extend(extra);
            let (status, body) = get(&api, &query).await;
            assert_eq!((status, reason(&body)), (400, "incompatibleParameters"));
            assert_eq!(
                body["error"]["message"],
                format!("Incompatible parameters specified in the request: {names}")
            );
            assert_eq!(body["error"]["errors"][0]["domain"], "youtube.parameter");
        }
        for empty in ["", " ,, "] {
            let (status, body) = get(&api, &[("part", "id"), ("id", empty)]).await;
            assert_eq!((status, reason(&body)), (400, "missingRequiredParameter"));
        }
        let (status, body) = get(&api, &[("part", "id"), ("id", &id), CHART]).await;
        assert_eq!((status, reason(&body)), (400, "incompatibleParameters"));
        let (status, body) = get(&api, &[("part", "bogus"), ("id", &id)]).await;
        assert_eq!((status, reason(&body)), (400, "unknownPart"));
        let (status, body) = get(&api, &[("id", &id)]).await;
        assert_eq!((status, reason(&body)), (400, "required"));
        // `regionCode` and `videoCategoryId` are ignored, even invalid ones.
        let (_, plain) = get(&api, &[("part", "statistics"), ("id", &id)]).await;
        let (status, with_region) = get(
            &api,
            &[
                ("part", "statistics"),
                ("id", &id),
                ("regionCode", "XX"),
                ("videoCategoryId", "10"),
            ],
        )
        .await;
        assert_eq!((status, &with_region), (200, &plain));

        // The log names lookups and their ids, refused ones included.
        let log = api.log();
        assert_eq!(log[0].region, LOOKUP_REGION);
        assert_eq!(log[0].ids, ids);
        assert_eq!((log[0].page, log[0].status), (0, 400));
        assert_eq!((log[1].page, log[1].status, log[1].ids.len()), (1, 200, 50));
        assert_eq!(log[2].ids, log[1].ids, "blanks are dropped");
        assert_eq!(log[2].page, 1, "the same list keeps its number");
        assert_eq!(
            (log[3].status, log[3].ids.len()),
            (400, 51),
            "repeats are logged"
        );
        assert_eq!(log[4].page, 0, "refused before it had a number");
        let n = log.len();
        // Another list gets the next number; asked again, it keeps it.
        assert_eq!((log[n - 2].page, log[n - 1].page), (2, 2));
        assert!(
            log.iter()
                .all(|r| r.region == LOOKUP_REGION || r.ids.is_empty())
        );
    }

    const CHART: (&str, &str) = ("chart", "mostPopular");

    #[tokio::test]
    async fn quota_and_latency_apply_to_lookups() {
        let api = start(FakeConfig {
            quota: Some(3),
            latency: Duration::from_millis(120),
            ..config()
        })
        .await;
        let id = chart(SEED, "GB", today())[0].id.clone();
        let started = Instant::now();
        assert_eq!(look_up(&api, "id", &[&id]).await.0, 200);
        assert!(started.elapsed() >= Duration::from_millis(120));
        let chart_query = [("part", "id"), CHART, ("regionCode", "GB")];
        assert_eq!(get(&api, &chart_query).await.0, 200);
        // A refused lookup costs its unit too.
        assert_eq!(get(&api, &[("part", "id"), ("id", "")]).await.0, 400);
        let (status, body) = look_up(&api, "id", &[&id]).await;
        assert_eq!((status, reason(&body)), (403, "quotaExceeded"));
        assert_eq!(get(&api, &chart_query).await.0, 403);
        let log = api.log();
        let summary: Vec<_> = log
            .iter()
            .map(|r| (r.region.as_str(), r.page, r.status, r.ids.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("ids", 1, 200, 1),
                ("GB", 1, 200, 0),
                ("ids", 0, 400, 0),
                ("ids", 0, 403, 1),
                ("GB", 0, 403, 0),
            ]
        );
        assert_eq!(api.requests(), 5);
    }

    #[tokio::test]
    async fn faults_aimed_at_lookups_answer_them() {
        let plan = parse_faults(
            r#"{"faults": [
              {"region": "*", "kind": "invalid_page_token"},
              {"region": "ids", "page": 1, "times": 2, "kind": "backend_503", "retry_after": "1"},
              {"region": "ids", "page": 2, "kind": "empty_page"},
              {"region": "ids", "page": 3, "kind": "truncated"},
              {"region": "*", "page": 4, "kind": "rate_limit_429"}
            ]}"#,
        )
        .unwrap();
        let api = start(FakeConfig {
            faults: plan,
            ..config()
        })
        .await;
        let ids: Vec<String> = chart(SEED, "HK", today())
            .into_iter()
            .take(8)
            .map(|v| v.id)
            .collect();
        let lists: Vec<Vec<&str>> = ids
            .chunks(2)
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        // List 1 fails twice, then its retry (the same list, so still number 1) succeeds.
        for _ in 0..2 {
            let response = reqwest::Client::new()
                .get(format!("{}/videos", api.base_url()))
                .query(&[("part", "id"), ("id", &lists[0].join(","))])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 503);
            assert_eq!(response.headers()["retry-after"], "1");
        }
        let (status, body) = look_up(&api, "id", &lists[0]).await;
        assert_eq!((status, item_ids(&body).len()), (200, 2));
        // List 2 gets an empty answer.
        let (status, body) = look_up(&api, "id", &lists[1]).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"], serde_json::json!([]));
        assert_eq!(body["pageInfo"]["totalResults"], 0);
        assert!(body.get("nextPageToken").is_none());
        // List 3 is cut in half.
        let response = reqwest::Client::new()
            .get(format!("{}/videos", api.base_url()))
            .query(&[("part", "snippet"), ("id", &lists[2].join(","))])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let cut = response.bytes().await.unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
        // A `"*"` fault of a kind that suits lookups reaches them.
        let (status, body) = look_up(&api, "id", &lists[3]).await;
        assert_eq!((status, reason(&body)), (429, "rateLimitExceeded"));
        // The chart-only `"*"` fault let every lookup through; the first chart request meets it.
        let (status, body) = get(&api, &[("part", "id"), CHART, ("regionCode", "HK")]).await;
        assert_eq!((status, reason(&body)), (400, "invalidPageToken"));
        let faults: Vec<_> = api
            .log()
            .iter()
            .map(|r| (r.region.clone(), r.page, r.fault.clone()))
            .collect();
        let f = |s: &str| Some(s.to_owned());
        assert_eq!(
            faults,
            [
                ("ids".to_owned(), 1, f("backend_503")),
                ("ids".to_owned(), 1, f("backend_503")),
                ("ids".to_owned(), 1, None),
                ("ids".to_owned(), 2, f("empty_page")),
                ("ids".to_owned(), 3, f("truncated")),
                ("ids".to_owned(), 4, f("rate_limit_429")),
                ("HK".to_owned(), 1, f("invalid_page_token")),
            ]
        );
    }

    #[test]
    fn plans_refuse_chart_only_kinds_aimed_at_lookups() {
        for kind in FaultKind::ALL {
            let plan = format!(r#"{{"faults": [{{"region": "ids", "kind": "{kind}"}}]}}"#);
            match parse_faults(&plan) {
                Ok(faults) => {
                    assert!(kind.applies_to_lookups(), "{kind}");
                    assert_eq!(faults, [Fault::new(kind).region(LOOKUP_REGION)]);
                }
                Err(error) => {
                    assert!(!kind.applies_to_lookups(), "{kind}: {error}");
                    assert_eq!(error.field(), Some("kind"));
                    assert!(
                        error.to_string().contains(&format!(
                            "kind \"{kind}\" cannot answer a lookup by id (region \"ids\")"
                        )),
                        "{error}"
                    );
                }
            }
        }
        let refused: Vec<_> = FaultKind::ALL
            .into_iter()
            .filter(|k| !k.applies_to_lookups())
            .map(FaultKind::name)
            .collect();
        assert_eq!(
            refused,
            [
                "invalid_region",
                "chart_not_found_400",
                "chart_not_found_404",
                "invalid_page_token",
                "shift"
            ]
        );
    }
}
