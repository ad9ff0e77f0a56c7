//! Synthetic trending charts: deterministic for (seed, region, date), continuous from day to day.
//!
//! Every video has an *identity* — its pool (one region, or the global pool of cross-region
//! hits), the day it was published and an index — and everything about it is derived from a hash
//! of the seed and that identity. Metadata (title, channel, duration, …) therefore comes out
//! identical on every date and in every region it appears; only the statistics depend on the
//! date, and they are non-decreasing functions of the video's age (views strictly increasing).
//!
//! A region's chart for day D is drawn from its candidates: local videos published in the last
//! [`WINDOW_DAYS`] days plus the global hits that reached the region (each after its own
//! per-region delay). Each candidate scores popularity × freshness × a little daily noise; the
//! top [`CHART_LEN`] are the chart. Because freshness decays smoothly and only about a fifth of
//! the candidates are new each day, most of D's chart was already on D−1's, in shuffled order.
//!
//! The same identities answer lookups by id (`videos.list?id=…`, see [`mod@crate::lookup`]): a video
//! looked up on day D is exactly what D's charts show of it, and its [`Fate`] says whether and
//! when it is deleted, made private or unlisted once it can no longer be on any chart.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, NaiveTime};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unicode_normalization::UnicodeNormalization;

use trendlake::youtube::model::{
    ContentDetails, LiveStreamingDetails, Localized, RegionRestriction, Snippet, Statistics,
    Status, Thumbnail, Thumbnails, Video,
};

/// Items in every region's chart, as the real unfiltered `mostPopular` chart.
pub const CHART_LEN: usize = 200;
/// How many days a video stays a candidate after it enters a region.
const WINDOW_DAYS: i64 = 20;
/// Local videos published per region per day.
const LOCAL_PER_DAY: u32 = 24;
/// Global hits published per day (each reaches only some regions).
const GLOBAL_PER_DAY: u32 = 10;
/// A global hit enters a region up to this many days after it was published.
const MAX_GLOBAL_DELAY: i64 = 3;
/// Channels per (pool, language): small enough that channels recur on a chart.
const CHANNELS_PER_POOL: u64 = 40;

/// Pool code of the global pool; local pools use the region's two ASCII bytes.
const GLOBAL_POOL: u64 = 0xFFFF_FFFF;

/// One chart candidate: which video, and how it scores in this region today.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// Pool code (region bytes or [`GLOBAL_POOL`]).
    pool: u64,
    /// Publication day, in days since 1970-01-01.
    day: i64,
    /// Hash of (seed, pool, day, index): the video's identity.
    key: u64,
    score: f64,
}

/// The full chart of `region` on `date`, in rank order, with every part filled in.
pub fn chart(seed: u64, region: &str, date: NaiveDate) -> Vec<Video> {
    let today = day_number(date);
    let mut candidates = ranked(seed, region, today);
    candidates.truncate(CHART_LEN);
    candidates
        .iter()
        .map(|c| build_video(seed, c, today))
        .collect()
}

/// Every candidate of `region` on day `today`, best first: the order of the general chart.
fn ranked(seed: u64, region: &str, today: i64) -> Vec<Candidate> {
    let mut candidates = candidates(seed, region, today);
    // Ties are broken by identity so the order never depends on iteration order.
    candidates.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
    candidates
}

/// Share of the assignable (region, category) pairs that have no chart, whatever the day.
const MISSING_CATEGORY_CHART_SHARE: f64 = 0.30;

/// Whether `region` may have a chart of `category` (an assignable category of the region, not
/// among the ~30 % of pairs that have none); it exists on a day only if some candidate of that
/// day has the category ([`category_chart`]). `0` is the general chart: always.
pub fn category_chart_exists(seed: u64, region: &str, category: u32) -> bool {
    if trendlake::regions::region(region).is_none() {
        return false;
    }
    if category == 0 {
        return true;
    }
    assignable_in(region, category)
        && unit(hash(&[
            seed,
            region_code(region),
            u64::from(category),
            0xCA7C,
        ])) >= MISSING_CATEGORY_CHART_SHARE
}

/// The chart of `category` in `region` on `date` (`videoCategoryId=category`): the region's
/// candidates of that category (`snippet.categoryId`), ranked as the general chart ranks them,
/// with the same statistics, at most [`CHART_LEN`] of them. `None` when there is no such chart:
/// an unsupported region, a category the region cannot assign, one of the ~30 % of assignable
/// (region, category) pairs without a chart, or no candidate of that category that day.
/// Category `0` is the general chart, [`chart`].
pub fn category_chart(
    seed: u64,
    region: &str,
    category: u32,
    date: NaiveDate,
) -> Option<Vec<Video>> {
    if !category_chart_exists(seed, region, category) {
        return None;
    }
    if category == 0 {
        return Some(chart(seed, region, date));
    }
    let today = day_number(date);
    let wanted = category.to_string();
    let videos: Vec<Video> = ranked(seed, region, today)
        .iter()
        .filter(|c| category_of(c.key) == wanted)
        .take(CHART_LEN)
        .map(|c| build_video(seed, c, today))
        .collect();
    (!videos.is_empty()).then_some(videos)
}

/// The first draws of a video's stream, in [`build_video`]'s order: its language roll, its
/// channel's index in the pool and its category id.
fn first_draws(rng: &mut ChaCha8Rng) -> (f64, u64, &'static str) {
    let lang_roll: f64 = rng.random();
    let channel_index = rng.random_range(0..CHANNELS_PER_POOL);
    let category = CATEGORIES.choose_weighted(rng, |c| c.1).expect("weights").0;
    (lang_roll, channel_index, category)
}

/// The `snippet.categoryId` of the video `key`, without building the video.
fn category_of(key: u64) -> &'static str {
    first_draws(&mut ChaCha8Rng::seed_from_u64(key)).2
}

pub(crate) fn day_number(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
}

pub(crate) fn date_of(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day)
}

fn region_code(region: &str) -> u64 {
    region
        .bytes()
        .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(b))
}

fn candidates(seed: u64, region: &str, today: i64) -> Vec<Candidate> {
    let code = region_code(region);
    let mut out = Vec::with_capacity(((WINDOW_DAYS + 1) as usize) * (LOCAL_PER_DAY as usize + 8));
    for day in today - WINDOW_DAYS..=today {
        for index in 0..LOCAL_PER_DAY {
            let key = identity_key(seed, code, day, index);
            let score = score(key, code, today, today - day, 1.0);
            out.push(Candidate {
                pool: code,
                day,
                key,
                score,
            });
        }
    }
    for day in today - WINDOW_DAYS - MAX_GLOBAL_DELAY..=today {
        for index in 0..GLOBAL_PER_DAY {
            let key = identity_key(seed, GLOBAL_POOL, day, index);
            // Superstar hits reach most regions, niche ones a few.
            let reach = 0.15 + 0.75 * unit(hash(&[key, 1]));
            if unit(hash(&[key, code, 2])) >= reach {
                continue;
            }
            let delay = (hash(&[key, code, 3]) % (MAX_GLOBAL_DELAY as u64 + 1)) as i64;
            let age = today - (day + delay);
            if !(0..=WINDOW_DAYS).contains(&age) {
                continue;
            }
            out.push(Candidate {
                pool: GLOBAL_POOL,
                day,
                key,
                score: score(key, code, today, age, 1.2),
            });
        }
    }
    out
}

/// The key of the video published `index`-th on `day` in `pool`: everything about it derives
/// from this hash.
fn identity_key(seed: u64, pool: u64, day: i64, index: u32) -> u64 {
    hash(&[seed, pool, day as u64, u64::from(index)])
}

/// Popularity (heavy-tailed, fixed per video) × freshness (decays with the days since the video
/// entered the region, at a per-video rate) × daily noise (per region and day, so ranks shuffle).
fn score(key: u64, region: u64, today: i64, age: i64, boost: f64) -> f64 {
    let fresh = (-(age as f64) / decay_days(key)).exp() * if age == 0 { 0.55 } else { 1.0 };
    let noise = (0.35 * (unit(hash(&[key, region, today as u64, 5])) - 0.5)).exp();
    popularity(key) * boost * fresh * noise
}

fn popularity(key: u64) -> f64 {
    unit(hash(&[key, 4])).max(1e-6).powf(-0.6).min(500.0)
}

fn decay_days(key: u64) -> f64 {
    3.0 + 6.0 * unit(hash(&[key, 6]))
}

/// Views `age` days after publication: a saturating curve plus a linear tail, so the count
/// rises strictly every day whatever the curve's rounding does.
fn views_at(key: u64, global: bool, age: i64) -> u64 {
    let total = 40_000.0
        * popularity(key)
        * (0.5 + 1.5 * unit(hash(&[key, 7])))
        * if global { 3.0 } else { 1.0 };
    let days = (age.max(0) + 1) as f64;
    let curve = (total * (1.0 - (-days / decay_days(key)).exp())) as u64;
    curve + (age.max(0) as u64 + 1) * (total as u64 / 800 + 11)
}

// ---------------------------------------------------------------------------------------------
// Identities and fates: what lookups by id need.

/// How far back a lookup by id searches: a video is found for this many days after its identity
/// day (its publication day), and answered as unknown (absent) after that. Every deletion, change
/// of privacy and unlisting happens long before (by 50 days after publication).
pub const LOOKUP_HORIZON_DAYS: i64 = 120;

/// The latest age (days after the identity day) at which a video's [`Change`] happens.
const LAST_CHANGE_AGE: i64 = 50;

/// Shares of the videos deleted, made private and unlisted after their chart days.
const DELETED_SHARE: f64 = 0.04;
const PRIVATE_SHARE: f64 = 0.03;
const UNLISTED_SHARE: f64 = 0.02;

/// A video's identity: its pool, the day it was published in that pool, and its index among that
/// day's videos of the pool. Everything about the video derives from it (through its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    /// Pool code: a region's two ASCII bytes, or the global pool's code.
    pub(crate) pool: u64,
    /// The identity day, in days since 1970-01-01.
    pub(crate) day: i64,
    pub(crate) index: u32,
}

impl Identity {
    pub(crate) fn key(self, seed: u64) -> u64 {
        identity_key(seed, self.pool, self.day, self.index)
    }

    /// Packs the pool in 16 bits: a region's two bytes, or `u16::MAX` for the global pool.
    pub(crate) fn pool_u16(self) -> u16 {
        if self.pool == GLOBAL_POOL {
            u16::MAX
        } else {
            self.pool as u16
        }
    }

    /// The inverse of [`Identity::pool_u16`].
    pub(crate) fn pool_from_u16(pool: u16) -> u64 {
        if pool == u16::MAX {
            GLOBAL_POOL
        } else {
            u64::from(pool)
        }
    }
}

/// Every pool a video comes from: each supported region's (`trendlake::regions`), then the global
/// pool.
fn pools() -> &'static [u64] {
    static POOLS: OnceLock<Vec<u64>> = OnceLock::new();
    POOLS.get_or_init(|| {
        trendlake::regions::regions()
            .iter()
            .map(|r| region_code(&r.code))
            .chain([GLOBAL_POOL])
            .collect()
    })
}

/// Every video identity published on the days of `days`, in every pool: each a candidate of
/// some chart (a region's own, or, for the global pool, of the regions it reaches).
pub(crate) fn identities(days: RangeInclusive<NaiveDate>) -> impl Iterator<Item = Identity> {
    let (first, last) = (day_number(*days.start()), day_number(*days.end()));
    (first..=last).flat_map(|day| {
        pools().iter().flat_map(move |&pool| {
            let per_day = if pool == GLOBAL_POOL {
                GLOBAL_PER_DAY
            } else {
                LOCAL_PER_DAY
            };
            (0..per_day).map(move |index| Identity { pool, day, index })
        })
    })
}

/// The video of `identity`, every part filled in, as it is on `date`: byte for byte what a chart
/// of `date` shows of it (statistics of that day's age, status of that day).
pub(crate) fn video_on(seed: u64, identity: Identity, date: NaiveDate) -> Video {
    let cand = Candidate {
        pool: identity.pool,
        day: identity.day,
        key: identity.key(seed),
        score: 0.0,
    };
    build_video(seed, &cand, day_number(date))
}

/// What becomes of a video once it can no longer be on any chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Deleted (by its owner, or taken down): absent from lookups from that day on.
    Deleted,
    /// Made private: absent from lookups from that day on.
    Private,
    /// Made unlisted: still found by id, with `status.privacyStatus` `"unlisted"`.
    Unlisted,
}

/// A video's life as lookups by id see it: when it can be found, and what happens to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fate {
    /// The first day a lookup finds it: its identity day, which is the day of its `publishedAt`
    /// (a live stream's `publishedAt`, the start of the stream, can be earlier).
    pub first_day: NaiveDate,
    /// The last day it can be a candidate of any region's chart (its identity day plus 20 days,
    /// plus 3 for a global hit, which can reach a region up to 3 days late).
    pub last_chart_day: NaiveDate,
    /// What happens to it and from which day, always after `last_chart_day`; `None` for the
    /// videos that stay public.
    pub change: Option<(Change, NaiveDate)>,
    /// The first day the fake no longer finds it, whatever its fate: `first_day` plus
    /// [`LOOKUP_HORIZON_DAYS`] plus one (lookups search that far back and no further).
    pub forgotten_from: NaiveDate,
}

impl Fate {
    /// Whether a lookup by id on `date` returns the video.
    pub fn found_on(&self, date: NaiveDate) -> bool {
        let gone = matches!(self.change,
            Some((Change::Deleted | Change::Private, from)) if date >= from);
        date >= self.first_day && date < self.forgotten_from && !gone
    }

    /// `status.privacyStatus` on `date`: `"public"`, then `"unlisted"` or `"private"` from the
    /// day of the change (a deleted video stays `"public"` to the end: it is never served after).
    pub fn privacy_status(&self, date: NaiveDate) -> &'static str {
        match self.change {
            Some((Change::Unlisted, from)) if date >= from => "unlisted",
            Some((Change::Private, from)) if date >= from => "private",
            _ => "public",
        }
    }
}

/// The fate of the video `key` of identity day `day` in `pool`: from hashes of its key only.
fn fate_of(pool: u64, day: i64, key: u64) -> Fate {
    let last_chart_day = day
        + WINDOW_DAYS
        + if pool == GLOBAL_POOL {
            MAX_GLOBAL_DELAY
        } else {
            0
        };
    let roll = unit(hash(&[key, 9]));
    let change = if roll < DELETED_SHARE {
        Some(Change::Deleted)
    } else if roll < DELETED_SHARE + PRIVATE_SHARE {
        Some(Change::Private)
    } else if roll < DELETED_SHARE + PRIVATE_SHARE + UNLISTED_SHARE {
        Some(Change::Unlisted)
    } else {
        None
    };
    // Strictly after the last chart day, so no chart ever holds a vanished video.
    let first_age = last_chart_day - day + 1;
    let span = (LAST_CHANGE_AGE - first_age + 1) as u64;
    let age = first_age + (hash(&[key, 10]) % span) as i64;
    Fate {
        first_day: date_of(day),
        last_chart_day: date_of(last_chart_day),
        change: change.map(|c| (c, date_of(day + age))),
        forgotten_from: date_of(day + LOOKUP_HORIZON_DAYS + 1),
    }
}

/// The fate of the video of `identity`.
pub(crate) fn fate(seed: u64, identity: Identity) -> Fate {
    fate_of(identity.pool, identity.day, identity.key(seed))
}

/// The `status` part on a day whose privacy is `privacy`: fixed per video otherwise.
fn status(key: u64, privacy: &str) -> Status {
    Status {
        upload_status: Some("processed".to_owned()),
        privacy_status: Some(privacy.to_owned()),
        license: Some(
            if unit(hash(&[key, 11])) < 0.03 {
                "creativeCommon"
            } else {
                "youtube"
            }
            .to_owned(),
        ),
        embeddable: Some(unit(hash(&[key, 12])) >= 0.05),
        public_stats_viewable: Some(unit(hash(&[key, 13])) >= 0.04),
        made_for_kids: Some(unit(hash(&[key, 14])) < 0.05),
    }
}

// ---------------------------------------------------------------------------------------------
// Hashing: splitmix64 steps, stable across Rust and crate versions (unlike `DefaultHasher`).

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |h, &p| {
        mix64(h.rotate_left(23) ^ p).wrapping_add(0x9e37_79b9_7f4a_7c15)
    })
}

/// Uniform in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A 27-character base64url tag of `bytes`, shaped like the API's (SHA-1-sized) etags.
pub(crate) fn etag_of(bytes: &[u8]) -> String {
    let mut lanes = [
        0x243f_6a88_85a3_08d3u64,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
    ];
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = mix64(lane.rotate_left(17 + i as u32) ^ w);
        }
    }
    let lanes = lanes.map(|l| mix64(l ^ bytes.len() as u64));
    let mut digest = [0u8; 20];
    digest[..8].copy_from_slice(&lanes[0].to_be_bytes());
    digest[8..16].copy_from_slice(&lanes[1].to_be_bytes());
    digest[16..].copy_from_slice(&lanes[2].to_be_bytes()[..4]);
    URL_SAFE_NO_PAD.encode(digest)
}

// ---------------------------------------------------------------------------------------------
// Languages and their word lists.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Es,
    Ja,
    Ko,
    ZhHant,
    ZhHans,
    Th,
    Vi,
    Ar,
}

struct Lexicon {
    /// Values for `defaultLanguage` / `defaultAudioLanguage`.
    codes: &'static [&'static str],
    /// `{s}` subject, `{h}` hook, `{c}` channel title, `{n}` a number.
    templates: &'static [&'static str],
    subjects: &'static [&'static str],
    hooks: &'static [&'static str],
    channel_a: &'static [&'static str],
    channel_b: &'static [&'static str],
    tags: &'static [&'static str],
    lines: &'static [&'static str],
    live: &'static str,
}

const EN: Lexicon = Lexicon {
    codes: &["en", "en-US", "en-GB"],
    templates: &["{s} {h}", "{s} #{n}", "{c} - {s}", "{s}", "{s} | {c}"],
    subjects: &[
        "I Tried Every Fast Food Burger",
        "Official Music Video",
        "Full Match Highlights",
        "100 Days in Hardcore Survival",
        "Building a Tiny House",
        "We Bought an Abandoned Castle",
        "Official Trailer",
        "The Truth About Smart Glasses",
        "World's Largest Pizza",
        "Reacting to Our Old Videos",
        "Speedrun World Record",
        "Ranking Every Airport Lounge",
        "Last to Leave the Circle Wins",
    ],
    hooks: &[
        "(Official Video)",
        "| Highlights",
        "(Not Clickbait)",
        "Part 2",
        "Gone Wrong",
        "ft. Friends",
        "[4K]",
        "Season Finale",
        "(Lyric Video)",
    ],
    channel_a: &[
        "Late Night",
        "Daily",
        "Pixel",
        "North Star",
        "The Real",
        "Golden",
        "Urban",
        "Midnight",
        "Lucky",
        "Blue Fox",
    ],
    channel_b: &[
        "Studios", "Gaming", "Official", "TV", "Kitchen", "Sports", "Records", "News", "Vlogs",
        "Lab",
    ],
    tags: &[
        "funny",
        "challenge",
        "music",
        "gaming",
        "vlog",
        "highlights",
        "trailer",
        "reaction",
        "tutorial",
        "official",
        "comedy",
        "sports",
    ],
    lines: &[
        "Subscribe for new videos every week!",
        "Thanks for watching!",
        "Follow us on Instagram: https://www.instagram.com/trendlake.example",
        "Listen on all platforms: https://example.com/listen",
        "Merch available now 👕",
        "0:00 Intro",
        "Business inquiries: hello@example.com",
    ],
    live: "🔴 LIVE",
};

const ES: Lexicon = Lexicon {
    codes: &["es", "es-419", "es-MX"],
    templates: &["{s} {h}", "{c} - {s}", "{s} #{n}", "{s}"],
    subjects: &[
        "Reaccionando a mis videos viejos",
        "Resumen y goles",
        "Video Oficial",
        "El reto más difícil",
        "Cocinando con mi abuela",
        "Probé la comida más picante",
        "Final de temporada",
        "Nuevo episodio",
        "Así es la vida en la montaña",
    ],
    hooks: &[
        "(En Vivo)",
        "| Resumen",
        "Parte 2",
        "¡Increíble!",
        "[Oficial]",
        "(Visualizer)",
    ],
    channel_a: &[
        "Canal",
        "Los Pibes",
        "Mundo",
        "Sabor",
        "Casa",
        "Fútbol",
        "Tío",
    ],
    channel_b: &["TV", "Oficial", "Deportes", "Música", "Gamer", "Latino"],
    tags: &[
        "música",
        "fútbol",
        "reggaetón",
        "humor",
        "receta",
        "español",
        "goles",
        "latino",
    ],
    lines: &[
        "¡Suscríbete y activa la campanita!",
        "Gracias por ver el video ❤️",
        "Sígueme en Instagram: https://www.instagram.com/trendlake.example",
        "Producción: Estudio Central",
    ],
    live: "🔴 EN VIVO",
};

const JA: Lexicon = Lexicon {
    codes: &["ja"],
    templates: &[
        "{h}{s}してみた結果…",
        "{h}{s}｜{c}",
        "{s} 第{n}話",
        "【{c}】{s}",
    ],
    subjects: &[
        "大食いチャレンジ",
        "新曲MV",
        "ゲーム実況",
        "ドッキリ企画",
        "歌ってみた",
        "料理対決",
        "アニメ最新話",
        "初めてのキャンプ",
        "東京散歩",
        "深夜のラーメン",
    ],
    hooks: &[
        "【公式】",
        "【神回】",
        "【検証】",
        "【切り抜き】",
        "【衝撃】",
        "",
    ],
    channel_a: &[
        "ゆうた",
        "さくら",
        "ひかり",
        "たけし",
        "ねこまる",
        "東海",
        "はじめ",
        "みなみ",
    ],
    channel_b: &[
        "チャンネル",
        "TV",
        "ゲームズ",
        "公式",
        "の日常",
        "ちゃんねる",
    ],
    tags: &[
        "ゲーム実況",
        "歌ってみた",
        "切り抜き",
        "アニメ",
        "料理",
        "vlog",
        "ドッキリ",
        "日本",
    ],
    lines: &[
        "チャンネル登録よろしくお願いします！",
        "ご視聴ありがとうございました。",
        "▼公式サイト https://example.jp/",
        "※この動画は撮影許可を得ています。",
        "BGM：フリー素材",
    ],
    live: "【生放送】",
};

const KO: Lexicon = Lexicon {
    codes: &["ko"],
    templates: &["{h} {s}", "{c} - {s} {h}", "{s} EP.{n}", "{s} | {c}"],
    subjects: &[
        "먹방 챌린지",
        "뮤직비디오",
        "게임 실황",
        "몰래카메라",
        "커버 노래",
        "요리 대결",
        "브이로그",
        "예능 하이라이트",
        "축구 하이라이트",
    ],
    hooks: &[
        "[MV]",
        "[풀버전]",
        "[하이라이트]",
        "(ENG SUB)",
        "레전드",
        "",
    ],
    channel_a: &["하루", "별빛", "도토리", "민지", "서울", "오늘의", "뚝딱"],
    channel_b: &["TV", "채널", "엔터테인먼트", "스튜디오", "뮤직", "게임즈"],
    tags: &[
        "먹방",
        "브이로그",
        "케이팝",
        "K-pop",
        "예능",
        "게임",
        "한국",
        "커버",
    ],
    lines: &[
        "구독과 좋아요 부탁드려요!",
        "시청해 주셔서 감사합니다.",
        "인스타그램: https://www.instagram.com/trendlake.example",
        "촬영 협조: 서울시",
    ],
    live: "[LIVE]",
};

const ZH_HANT: Lexicon = Lexicon {
    codes: &["zh-TW", "zh-HK", "zh-Hant"],
    templates: &["{h}{s}", "{s} {h}", "{c}｜{s}", "{s} 第{n}集"],
    subjects: &[
        "開箱最新手機",
        "挑戰吃到飽",
        "官方MV",
        "遊戲實況",
        "台北美食地圖",
        "香港街頭訪問",
        "新聞重點",
        "綜藝精華",
        "電影預告",
        "颱風最新消息",
    ],
    hooks: &["【完整版】", "【精華】", "【獨家】", "(中字)", ""],
    channel_a: &["阿滴", "小玉", "台灣", "香港", "好味", "阿翔", "美食"],
    channel_b: &["頻道", "電視台", "娛樂", "新聞", "日常", "遊戲"],
    tags: &[
        "台灣",
        "香港",
        "美食",
        "開箱",
        "綜藝",
        "新聞",
        "遊戲",
        "廣東話",
    ],
    lines: &[
        "記得訂閱並開啟小鈴鐺！",
        "感謝收看～",
        "合作邀約：hello@example.com",
        "本影片由觀眾投稿提供。",
    ],
    live: "【直播】",
};

const ZH_HANS: Lexicon = Lexicon {
    codes: &["zh-CN", "zh-Hans"],
    templates: &["{h}{s}", "{c}｜{s}", "{s} 第{n}集"],
    subjects: &[
        "新加坡美食探店",
        "官方MV",
        "游戏直播回放",
        "挑战一百小时",
        "新闻速报",
        "综艺精华",
    ],
    hooks: &["【完整版】", "(中英字幕)", ""],
    channel_a: &["狮城", "小明", "南洋", "好吃", "星洲"],
    channel_b: &["频道", "电视", "娱乐", "日常"],
    tags: &["新加坡", "美食", "华语", "综艺", "游戏"],
    lines: &["欢迎订阅！", "谢谢观看。", "商务合作：hello@example.com"],
    live: "【直播】",
};

const TH: Lexicon = Lexicon {
    codes: &["th"],
    templates: &["{s} {h}", "{c} | {s}", "{s} EP.{n}"],
    subjects: &[
        "ชาเลนจ์กินเผ็ด",
        "เพลงใหม่ล่าสุด",
        "ไฮไลท์ฟุตบอล",
        "รีวิวร้านอาหาร",
        "ละครตอนจบ",
        "เกมสนุกมาก",
        "ข่าวด่วน",
        "ทำอาหารง่ายๆ",
    ],
    hooks: &["[Official MV]", "(ตอนจบ)", "มาแรง", ""],
    channel_a: &["ไทย", "ครัว", "พี่", "น้อง", "บ้าน", "สนุก"],
    channel_b: &["ทีวี", "แชนแนล", "Official", "Studio", "เกมเมอร์"],
    tags: &["ไทย", "ตลก", "เพลง", "ละคร", "ฟุตบอล", "อาหาร"],
    lines: &[
        "กดติดตามและกดกระดิ่งด้วยนะครับ",
        "ขอบคุณที่รับชม",
        "ติดต่องาน: hello@example.com",
    ],
    live: "ถ่ายทอดสด",
};

const VI: Lexicon = Lexicon {
    codes: &["vi"],
    templates: &["{s} {h}", "{c} | {s}", "{s} - Tập {n}"],
    subjects: &[
        "Thử thách ăn cay",
        "Nhạc mới nhất",
        "Bóng đá Việt Nam",
        "Hướng dẫn nấu phở",
        "Đi chợ đêm Sài Gòn",
        "Trò chơi điện tử",
        "Tin tức nóng",
        "Người lạ ơi",
        "Cuộc sống ở quê",
    ],
    hooks: &[
        "[Official MV]",
        "(Trực tiếp)",
        "Phần 2",
        "Siêu hài hước",
        "",
    ],
    channel_a: &[
        "Bà Tân",
        "Ẩm thực",
        "Hà Nội",
        "Sài Gòn",
        "Chị Đẹp",
        "Thầy Giáo",
        "Đức",
    ],
    channel_b: &["TV", "Vlog", "Official", "Giải Trí", "Channel"],
    tags: &[
        "việt nam",
        "hài hước",
        "ẩm thực",
        "bóng đá",
        "nhạc việt",
        "tin tức",
    ],
    lines: &[
        "Đăng ký kênh để xem video mới nhất!",
        "Cảm ơn các bạn đã xem.",
        "Liên hệ quảng cáo: hello@example.com",
    ],
    live: "Trực tiếp",
};

const AR: Lexicon = Lexicon {
    codes: &["ar"],
    templates: &["{s} {h}", "{c} - {s}", "{s} #{n}"],
    subjects: &[
        "أقوى تحدي",
        "أغنية جديدة",
        "ملخص المباراة",
        "طبخ سهل وسريع",
        "مقلب في صديقي",
        "رحلة إلى دبي",
        "أخبار اليوم",
        "مسلسل الحلقة الأخيرة",
    ],
    hooks: &["[فيديو كليب]", "حصريًا", "الجزء الثاني", ""],
    channel_a: &["قناة", "عالم", "نجوم", "بيت", "أبو"],
    channel_b: &["الطبخ", "الرياضة", "الترفيه", "فهد", "الخليج"],
    tags: &["عربي", "تحدي", "مقالب", "طبخ", "كرة القدم", "أغاني"],
    lines: &[
        "لا تنسوا الاشتراك في القناة وتفعيل الجرس",
        "شكراً للمشاهدة",
        "للتواصل: hello@example.com",
    ],
    live: "بث مباشر",
};

fn lexicon(lang: Lang) -> &'static Lexicon {
    match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
        Lang::Ja => &JA,
        Lang::Ko => &KO,
        Lang::ZhHant => &ZH_HANT,
        Lang::ZhHans => &ZH_HANS,
        Lang::Th => &TH,
        Lang::Vi => &VI,
        Lang::Ar => &AR,
    }
}

const ARABIC_REGIONS: &[&str] = &[
    "AE", "BH", "DZ", "EG", "IQ", "JO", "KW", "LB", "LY", "MA", "OM", "QA", "SA", "TN", "YE",
];
const SPANISH_REGIONS: &[&str] = &[
    "AR", "BO", "CL", "CO", "CR", "DO", "EC", "ES", "GT", "HN", "MX", "NI", "PA", "PE", "PR", "PY",
    "SV", "UY", "VE",
];
const ENGLISH_REGIONS: &[&str] = &["US", "GB", "AU", "CA", "IE", "NZ", "JM", "ZA"];

/// The language of a local video, from the region's mix (`r` uniform in [0, 1); each table
/// entry's weight is a probability, the last entry takes whatever is left).
fn local_language(region: &str, r: f64) -> Lang {
    let pick = |table: &[(f64, Lang)]| {
        let mut acc = 0.0;
        for &(p, lang) in table {
            acc += p;
            if r < acc {
                return lang;
            }
        }
        table.last().expect("non-empty table").1
    };
    // A few guest titles in Arabic everywhere, so every chart carries some RTL text.
    if r >= 0.97 && !ARABIC_REGIONS.contains(&region) {
        return Lang::Ar;
    }
    match region {
        "JP" => pick(&[(0.9, Lang::Ja), (0.1, Lang::En)]),
        "KR" => pick(&[(0.9, Lang::Ko), (0.1, Lang::En)]),
        "TW" => pick(&[(0.9, Lang::ZhHant), (0.1, Lang::En)]),
        "HK" => pick(&[(0.75, Lang::ZhHant), (0.25, Lang::En)]),
        "TH" => pick(&[(0.88, Lang::Th), (0.12, Lang::En)]),
        "VN" => pick(&[(0.9, Lang::Vi), (0.1, Lang::En)]),
        "SG" => pick(&[(0.6, Lang::En), (0.4, Lang::ZhHans)]),
        r if ENGLISH_REGIONS.contains(&r) => Lang::En,
        r if ARABIC_REGIONS.contains(&r) => pick(&[(0.7, Lang::Ar), (0.3, Lang::En)]),
        r if SPANISH_REGIONS.contains(&r) => pick(&[(0.8, Lang::Es), (0.2, Lang::En)]),
        _ => pick(&[
            (0.5, Lang::En),
            (0.15, Lang::Es),
            (0.1, Lang::Ja),
            (0.1, Lang::Ko),
            (0.05, Lang::Ar),
            (0.05, Lang::Th),
            (0.05, Lang::Vi),
        ]),
    }
}

/// The language of a cross-region hit.
fn global_language(r: f64) -> Lang {
    match r {
        r if r < 0.45 => Lang::En,
        r if r < 0.70 => Lang::Ko,
        r if r < 0.82 => Lang::Ja,
        r if r < 0.94 => Lang::Es,
        _ => Lang::Ar,
    }
}

const EMOJI: &[&str] = &[
    "🔥",
    "😂",
    "✨",
    "👨‍👩‍👧",
    "👩‍💻",
    "🏳️‍🌈",
    "🧑🏽‍🍳",
    "❤️",
    "🎮",
    "⚽",
    "🇯🇵",
    "🇰🇷🇺🇸",
    "🇻🇳",
    "🇹🇭🇸🇬",
    "🇬🇧",
];

/// Real category ids, weighted roughly as trending charts are.
const CATEGORIES: &[(&str, u32)] = &[
    ("10", 30),
    ("24", 18),
    ("20", 14),
    ("22", 10),
    ("17", 8),
    ("23", 5),
    ("25", 5),
    ("1", 4),
    ("26", 2),
    ("28", 2),
    ("27", 1),
    ("2", 1),
    ("15", 1),
    ("19", 1),
];

// ---------------------------------------------------------------------------------------------
// Building one video.

struct Channel {
    id: String,
    title: String,
}

fn channel(seed: u64, pool: u64, lang: Lang, index: u64) -> Channel {
    let key = hash(&[seed, pool, lang as u64, index, 0xC4A7]);
    let mut rng = ChaCha8Rng::seed_from_u64(key);
    let lex = lexicon(lang);
    let a = lex.channel_a.choose(&mut rng).expect("non-empty");
    let b = lex.channel_b.choose(&mut rng).expect("non-empty");
    let joiner = if matches!(lang, Lang::Ja | Lang::ZhHant | Lang::ZhHans) {
        ""
    } else {
        " "
    };
    let mut title = format!("{a}{joiner}{b}");
    if rng.random_bool(0.2) {
        title = format!("{title} {}", rng.random_range(2..=99));
    }
    if lang == Lang::Vi && index.is_multiple_of(3) {
        // Some Vietnamese channels send decomposed accents; the pipeline must compose them.
        title = title.nfd().collect();
    }
    if rng.random_bool(0.04) {
        title.push(' ');
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hash(&[key, 1]).to_be_bytes());
    bytes[8..].copy_from_slice(&hash(&[key, 2]).to_be_bytes());
    Channel {
        id: format!("UC{}", URL_SAFE_NO_PAD.encode(bytes)),
        title,
    }
}

fn video_id(key: u64) -> String {
    id_of_hash(id_hash(key))
}

/// The 64 bits a video id encodes: a hash of the video's key, so not invertible.
pub(crate) fn id_hash(key: u64) -> u64 {
    hash(&[key, 0x1D])
}

/// The 11-character id that encodes `id_hash` (unpadded base64url of its big-endian bytes).
pub(crate) fn id_of_hash(id_hash: u64) -> String {
    URL_SAFE_NO_PAD.encode(id_hash.to_be_bytes())
}

/// ISO 8601 as the API writes it: `PT23S`, `PT3M`, `PT1H2M3S`, `P1DT2H3M4S`, `P0D`.
fn iso_duration(secs: u64) -> String {
    if secs == 0 {
        return "P0D".to_owned();
    }
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let mut out = String::from("P");
    if d > 0 {
        out += &format!("{d}D");
    }
    if h + m + s > 0 {
        out.push('T');
        for (v, unit) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if v > 0 {
                out += &format!("{v}{unit}");
            }
        }
    }
    out
}

fn thumbnails(id: &str, live: bool, standard: bool, maxres: bool) -> Thumbnails {
    let suffix = if live { "_live" } else { "" };
    let thumb = |name: &str, width: u32, height: u32| {
        Some(Thumbnail {
            url: format!("https://i.ytimg.com/vi/{id}/{name}{suffix}.jpg"),
            width: Some(width),
            height: Some(height),
        })
    };
    Thumbnails {
        default: thumb("default", 120, 90),
        medium: thumb("mqdefault", 320, 180),
        high: thumb("hqdefault", 480, 360),
        standard: if standard {
            thumb("sddefault", 640, 480)
        } else {
            None
        },
        maxres: if maxres {
            thumb("maxresdefault", 1280, 720)
        } else {
            None
        },
    }
}

/// Dirties a title the way real uploads sometimes are: stray control characters, line breaks
/// and padding that the normaliser must strip.
fn dirty(title: String, variant: u32) -> String {
    match variant {
        0 => format!("  {title}  "),
        1 => title.replacen(' ', " \u{0007}", 1) + "\u{0007}",
        2 => format!("\t{title}"),
        3 => format!("{title}\r\n"),
        _ => title.replacen(' ', "\u{0000B}\u{001B} ", 1),
    }
}

fn build_video(seed: u64, cand: &Candidate, today: i64) -> Video {
    let global = cand.pool == GLOBAL_POOL;
    // Every draw below comes from this stream in a fixed order that never depends on the date,
    // so a video's metadata is the same on every chart it appears in.
    let mut rng = ChaCha8Rng::seed_from_u64(cand.key);
    let (lang_roll, channel_index, category) = first_draws(&mut rng);
    let lang = if global {
        global_language(lang_roll)
    } else {
        let region_bytes = cand.pool.to_be_bytes();
        let region = std::str::from_utf8(&region_bytes[6..]).unwrap_or("");
        local_language(region, lang_roll)
    };
    let lex = lexicon(lang);
    let id = video_id(cand.key);
    let ch = channel(seed, cand.pool, lang, channel_index);

    let live = !global && rng.random_bool(0.025);
    let short = !live && rng.random_bool(0.08);
    let secs: u64 = if live {
        0
    } else if short {
        rng.random_range(8..=60)
    } else if category == "10" {
        rng.random_range(120..=330)
    } else {
        match rng.random_range(0..200) {
            0 => rng.random_range(86_400..=100_000),
            1..=10 => rng.random_range(3_600..=10_800),
            _ => rng.random_range(150..=2_400),
        }
    };

    // Title.
    let template = lex.templates.choose(&mut rng).expect("templates");
    let subject = lex.subjects.choose(&mut rng).expect("subjects");
    let hook = lex.hooks.choose(&mut rng).expect("hooks");
    let number = rng.random_range(1..=300).to_string();
    let mut title = template
        .replace("{s}", subject)
        .replace("{h}", hook)
        .replace("{c}", ch.title.trim())
        .replace("{n}", &number)
        .trim()
        .to_owned();
    if live {
        title = format!("{} {title}", lex.live);
    }
    if rng.random_bool(0.25) {
        let emoji = EMOJI.choose(&mut rng).expect("emoji");
        title = format!("{title} {emoji}");
    }
    let shorts_in_title = short && rng.random_bool(0.7);
    if shorts_in_title {
        title += " #shorts";
    }
    if lang == Lang::Vi && rng.random_bool(0.35) {
        title = title.nfd().collect();
    }
    let dirty_roll = rng.random_range(0..100u32);
    if dirty_roll < 5 {
        title = dirty(title, dirty_roll);
    }

    // Description.
    let description = if rng.random_bool(0.15) {
        String::new()
    } else {
        let n = rng.random_range(1..=5);
        let mut lines: Vec<String> = lex
            .lines
            .sample(&mut rng, n)
            .map(|l| (*l).to_owned())
            .collect();
        lines.insert(0, title.trim().to_owned());
        let newline = if rng.random_bool(0.4) { "\r\n" } else { "\n" };
        let mut text = lines.join(newline);
        if lang == Lang::Vi && rng.random_bool(0.3) {
            text = text.nfd().collect();
        }
        text
    };

    // Tags: absent on about a quarter, but a Short must say `#shorts` somewhere.
    let tags = if rng.random_bool(0.25) && (!short || shorts_in_title) {
        None
    } else {
        let n = rng.random_range(2..=8);
        let mut tags: Vec<String> = lex
            .tags
            .sample(&mut rng, n)
            .map(|t| (*t).to_owned())
            .collect();
        tags.push(ch.title.trim().to_owned());
        if short {
            tags.push("shorts".to_owned());
        }
        Some(tags)
    };

    let code = *lex.codes.choose(&mut rng).expect("codes");
    let default_language = rng.random_bool(0.3).then(|| code.to_owned());
    let default_audio_language = rng.random_bool(0.7).then(|| code.to_owned());

    let sizes = rng.random_range(0..100u32);
    let (standard, maxres) = match sizes {
        _ if short => (false, false),
        0..=49 => (true, true),
        50..=54 => (true, false),
        _ => (false, false),
    };

    // A live item is a long-running stream that started before it entered the chart.
    let publish_day = if live {
        cand.day - rng.random_range(0..60)
    } else {
        cand.day
    };
    let second_of_day = rng.random_range(0..86_400u32);
    let published_at = date_of(publish_day)
        .and_time(NaiveTime::MIN)
        .checked_add_signed(chrono::Duration::seconds(i64::from(second_of_day)))
        .expect("in range")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();

    let definition = if rng.random_bool(0.9) { "hd" } else { "sd" };
    let caption = if rng.random_bool(0.25) {
        "true"
    } else {
        "false"
    };
    let licensed = rng.random_bool(0.7);
    let mut rating = serde_json::Map::new();
    if rng.random_bool(0.02) {
        rating.insert("ytRating".to_owned(), "ytAgeRestricted".into());
    }
    // Only regions without a chart, so a video never appears where it is blocked.
    let region_restriction = rng.random_bool(0.05).then(|| RegionRestriction {
        allowed: None,
        blocked: Some(vec!["IO".to_owned(), "KP".to_owned(), "SS".to_owned()]),
    });

    let hidden_likes = rng.random_bool(0.10);
    let comments_off = rng.random_bool(0.08);
    let comments_zero = !comments_off && rng.random_bool(0.02);
    let like_ratio = rng.random_range(0.01..0.08);
    let comment_ratio = rng.random_range(0.0005..0.01);

    let age = (today - cand.day).max(0);
    let views = views_at(cand.key, global, age);
    let grow = age as u64 + 1;
    let statistics = Statistics {
        view_count: Some(views.to_string()),
        like_count: (!hidden_likes)
            .then(|| ((views as f64 * like_ratio) as u64 + grow).to_string()),
        favorite_count: Some("0".to_owned()),
        comment_count: (!comments_off).then(|| {
            if comments_zero {
                "0".to_owned()
            } else {
                ((views as f64 * comment_ratio) as u64 + grow).to_string()
            }
        }),
    };

    // Only sent when `part=liveStreamingDetails` is asked for; the audience varies by day.
    let live_streaming_details = live.then(|| LiveStreamingDetails {
        actual_start_time: Some(published_at.clone()),
        scheduled_start_time: Some(published_at.clone()),
        concurrent_viewers: Some((300 + hash(&[cand.key, today as u64, 8]) % 20_000).to_string()),
        active_live_chat_id: None,
    });
    let snippet = Snippet {
        published_at,
        channel_id: ch.id,
        title: title.clone(),
        description: description.clone(),
        thumbnails: thumbnails(&id, live, standard, maxres),
        channel_title: ch.title,
        tags,
        category_id: Some(category.to_owned()),
        live_broadcast_content: Some(if live { "live" } else { "none" }.to_owned()),
        default_language,
        default_audio_language,
        localized: Some(Localized { title, description }),
    };
    let content_details = ContentDetails {
        duration: Some(iso_duration(secs)),
        dimension: Some("2d".to_owned()),
        definition: Some(definition.to_owned()),
        caption: Some(caption.to_owned()),
        licensed_content: Some(licensed),
        region_restriction,
        content_rating: Some(rating),
        projection: Some("rectangular".to_owned()),
    };
    let mut video = Video {
        kind: Some("youtube#video".to_owned()),
        etag: None,
        id,
        snippet: Some(snippet),
        content_details: Some(content_details),
        statistics: Some(statistics),
        live_streaming_details,
        // From hashes of the key, not from `rng`, so the draws above are those of every chart.
        status: Some(status(
            cand.key,
            fate_of(cand.pool, cand.day, cand.key).privacy_status(date_of(today)),
        )),
    };
    video.etag = Some(etag_of(
        &serde_json::to_vec(&video).expect("a Video always serialises"),
    ));
    video
}

// ---------------------------------------------------------------------------------------------
// Which categories a region's videos can be given (videoCategories.list's `assignable`).

/// Assignable categories that never lose their assignability in a region.
pub(crate) const ALWAYS_ASSIGNABLE: &[i32] = &[10, 20, 22, 24];

/// Share of the other assignable categories that a region cannot assign.
const UNASSIGNABLE_SHARE: f64 = 0.12;

/// Whether videos of `region` can be given `category`: the CSV's `assignable`, unless the
/// region's fixed twist takes it away. `false` for unknown categories and regions.
pub fn assignable_in(region: &str, category: u32) -> bool {
    if trendlake::regions::region(region).is_none() {
        return false;
    }
    let Some(row) = trendlake::regions::categories()
        .iter()
        .find(|c| i64::from(c.id) == i64::from(category))
    else {
        return false;
    };
    row.assignable && !twisted(region, row.id)
}

/// Whether `region` takes away the assignability of `category` (seed-independent: the real
/// list does not change from night to night).
pub(crate) fn twisted(region: &str, category: i32) -> bool {
    if ALWAYS_ASSIGNABLE.contains(&category) {
        return false;
    }
    let code = region
        .bytes()
        .fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(b));
    let h = hash(&[code, category as u64, 0x7A15]);
    ((h >> 11) as f64 / (1u64 << 53) as f64) < UNASSIGNABLE_SHARE
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use unicode_normalization::is_nfc;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn views(v: &Video) -> u64 {
        v.statistics
            .as_ref()
            .unwrap()
            .view_count
            .as_ref()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn token_shapes_are_real() {
        let v = &chart(42, "JP", d("2026-11-25"))[0];
        assert_eq!(v.id.len(), 11);
        assert!(
            v.id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let s = v.snippet.as_ref().unwrap();
        assert_eq!(s.channel_id.len(), 24);
        assert!(s.channel_id.starts_with("UC"));
        assert_eq!(v.etag.as_ref().unwrap().len(), 27);
        assert_eq!(etag_of(b"x").len(), 27);
    }

    #[test]
    fn views_keep_rising_ever_more_slowly_long_after_the_charts() {
        // Ages 20 to 120: past the chart window (20, 23 for global hits) and up to the lookup
        // horizon, the count rises every day, by less and less (to within the rounding of 1).
        for i in 0..500u64 {
            let key = hash(&[7, i]);
            for global in [false, true] {
                let gains: Vec<u64> = (20..=120)
                    .map(|age| views_at(key, global, age) - views_at(key, global, age - 1))
                    .collect();
                assert!(gains.iter().all(|&g| g > 0), "{key} {gains:?}");
                assert!(
                    gains.windows(2).all(|w| w[1] <= w[0] + 1),
                    "{key} {gains:?}"
                );
                assert!(gains[100] <= gains[0], "{key} {gains:?}");
            }
        }
    }

    #[test]
    fn durations_are_formatted_like_the_api() {
        assert_eq!(iso_duration(0), "P0D");
        assert_eq!(iso_duration(23), "PT23S");
        assert_eq!(iso_duration(60), "PT1M");
        assert_eq!(iso_duration(194), "PT3M14S");
        assert_eq!(iso_duration(3_723), "PT1H2M3S");
        assert_eq!(iso_duration(3_600), "PT1H");
        assert_eq!(iso_duration(93_784), "P1DT2H3M4S");
        assert_eq!(iso_duration(86_400), "P1D");
    }

    #[test]
    fn chart_is_deterministic_and_distinct() {
        let a = chart(42, "KR", d("2026-11-25"));
        let b = chart(42, "KR", d("2026-11-25"));
        assert_eq!(a, b);
        assert_eq!(a.len(), CHART_LEN);
        let ids: HashSet<_> = a.iter().map(|v| &v.id).collect();
        assert_eq!(ids.len(), CHART_LEN);
        assert_ne!(a, chart(43, "KR", d("2026-11-25")));
    }

    #[test]
    fn consecutive_days_overlap_and_views_grow() {
        let mut min_share = 1.0f64;
        let mut compared = 0;
        for region in ["JP", "US", "VN", "AE", "FR"] {
            for day in 0..10 {
                let date = d("2026-11-01") + chrono::Duration::days(day);
                let yesterday = chart(7, region, date - chrono::Duration::days(1));
                let today = chart(7, region, date);
                let before: HashMap<_, _> = yesterday.iter().map(|v| (&v.id, v)).collect();
                let mut shared = 0;
                for v in &today {
                    if let Some(old) = before.get(&v.id) {
                        shared += 1;
                        compared += 1;
                        assert!(views(old) < views(v), "{region} {date} {}", v.id);
                        // Metadata never changes, only statistics.
                        assert_eq!(old.snippet, v.snippet);
                        assert_eq!(old.content_details, v.content_details);
                        let (o, n) = (
                            old.statistics.as_ref().unwrap(),
                            v.statistics.as_ref().unwrap(),
                        );
                        for (a, b) in [
                            (&o.like_count, &n.like_count),
                            (&o.comment_count, &n.comment_count),
                        ] {
                            assert_eq!(a.is_some(), b.is_some());
                            if let (Some(a), Some(b)) = (a, b) {
                                assert!(a.parse::<u64>().unwrap() <= b.parse::<u64>().unwrap());
                            }
                        }
                    }
                }
                min_share = min_share.min(f64::from(shared) / CHART_LEN as f64);
            }
        }
        assert!(compared > 0);
        assert!(min_share >= 0.4, "overlap {min_share}");
        // And not a frozen chart either.
        assert!(min_share < 0.97, "overlap {min_share}");
    }

    #[test]
    fn global_hits_trend_in_several_regions_with_identical_metadata() {
        let date = d("2026-11-25");
        let charts: Vec<Vec<Video>> = trendlake::regions::DEFAULT_REGIONS
            .iter()
            .map(|r| chart(42, r, date))
            .collect();
        let mut seen: HashMap<&str, Vec<&Video>> = HashMap::new();
        for c in &charts {
            for v in c {
                seen.entry(v.id.as_str()).or_default().push(v);
            }
        }
        let multi: Vec<_> = seen.values().filter(|vs| vs.len() >= 3).collect();
        assert!(multi.len() >= 10, "only {} cross-region hits", multi.len());
        for vs in multi {
            assert!(
                vs.iter()
                    .all(|v| v.snippet == vs[0].snippet && v.statistics == vs[0].statistics)
            );
        }
    }

    #[test]
    fn data_exercises_the_awkward_cases() {
        let date = d("2026-11-25");
        let all: Vec<(String, Video)> =
            ["JP", "KR", "TW", "HK", "TH", "VN", "US", "GB", "SG", "SA"]
                .iter()
                .flat_map(|r| chart(42, r, date).into_iter().map(|v| ((*r).to_owned(), v)))
                .collect();
        let count = |f: &dyn Fn(&Video) -> bool| all.iter().filter(|(_, v)| f(v)).count();
        let snip = |v: &Video| v.snippet.clone().unwrap();
        let stats = |v: &Video| v.statistics.clone().unwrap();
        let dur = |v: &Video| v.content_details.clone().unwrap().duration.unwrap();
        let n = all.len() as f64;

        let vn_nfd = all
            .iter()
            .filter(|(r, v)| r == "VN" && !is_nfc(&snip(v).title))
            .count();
        assert!(vn_nfd >= 5, "{vn_nfd} NFD titles in VN");
        assert!(
            all.iter()
                .any(|(r, v)| r == "VN" && !is_nfc(&snip(v).channel_title))
        );

        let script = |lo: char, hi: char| {
            move |v: &Video| snip(v).title.chars().any(|c| (lo..=hi).contains(&c))
        };
        assert!(count(&script('\u{3040}', '\u{30ff}')) > 50, "kana");
        assert!(count(&script('\u{ac00}', '\u{d7a3}')) > 50, "hangul");
        assert!(count(&script('\u{0e00}', '\u{0e7f}')) > 50, "thai");
        assert!(count(&script('\u{0600}', '\u{06ff}')) > 50, "arabic");
        assert!(count(&|v| snip(v).title.contains('\u{200d}')) > 3, "ZWJ");
        assert!(count(&|v| snip(v).title.chars().any(|c| c.is_control())) > 10);
        assert!(count(&|v| snip(v).title.starts_with(' ')) > 2);
        assert!(count(&|v| snip(v).description.is_empty()) > 50);
        assert!(count(&|v| snip(v).description.contains("\r\n")) > 50);

        let live = count(&|v| snip(v).live_broadcast_content.as_deref() == Some("live"));
        assert!(live > 5);
        for (_, v) in &all {
            let s = snip(v);
            let is_live = s.live_broadcast_content.as_deref() == Some("live");
            assert_eq!(is_live, dur(v) == "P0D");
            assert_eq!(
                is_live,
                s.thumbnails
                    .default
                    .as_ref()
                    .unwrap()
                    .url
                    .ends_with("_live.jpg")
            );
            assert!(s.published_at.as_str() < "2026-11-26");
        }
        let shorts = |v: &Video| {
            let secs = dur(v);
            (secs.starts_with("PT") && !secs.contains('H') && !secs.contains('M')) || secs == "PT1M"
        };
        assert!(count(&shorts) > 50);
        for (_, v) in all.iter().filter(|(_, v)| shorts(v)) {
            let s = snip(v);
            let tagged = s
                .tags
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "shorts"));
            assert!(s.title.contains("#shorts") || tagged, "{}", v.id);
        }

        let share = |k: usize| k as f64 / n;
        let no_tags = share(count(&|v| snip(v).tags.is_none()));
        assert!((0.15..0.35).contains(&no_tags), "{no_tags}");
        let hidden = share(count(&|v| stats(v).like_count.is_none()));
        assert!((0.05..0.15).contains(&hidden), "{hidden}");
        let off = share(count(&|v| stats(v).comment_count.is_none()));
        assert!((0.04..0.12).contains(&off), "{off}");
        assert!(count(&|v| stats(v).comment_count.as_deref() == Some("0")) > 0);
        assert!(count(&|v| snip(v).thumbnails.maxres.is_none()) > 100);
        assert!(count(&|v| snip(v).thumbnails.maxres.is_some()) > 100);
    }
}

#[cfg(test)]
mod category_tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn category_of_is_the_built_videos_category() {
        let date = d("2026-11-25");
        for region in ["JP", "US", "SA"] {
            let today = day_number(date);
            for c in ranked(42, region, today) {
                let video = build_video(42, &c, today);
                let built = video.snippet.unwrap().category_id.unwrap();
                assert_eq!(category_of(c.key), built, "{region} {}", video.id);
            }
        }
    }

    /// A category chart is the general ranking filtered: the general chart's videos of the
    /// category come first, in the same order and with the same statistics, then the
    /// candidates ranked below 200.
    #[test]
    fn a_category_chart_is_the_general_ranking_of_its_candidates() {
        let date = d("2026-11-25");
        let general = chart(42, "JP", date);
        let music = category_chart(42, "JP", 10, date).unwrap();
        assert_eq!(music.len(), 168);
        let on_general: Vec<&Video> = general
            .iter()
            .filter(|v| v.snippet.as_ref().unwrap().category_id.as_deref() == Some("10"))
            .collect();
        assert_eq!(on_general.len(), 67);
        for (a, b) in on_general.iter().zip(&music) {
            assert_eq!(*a, b, "same video, statistics and etag");
        }
        assert!(
            music
                .iter()
                .all(|v| v.snippet.as_ref().unwrap().category_id.as_deref() == Some("10"))
        );
        // The rest were candidates too: each ranks below the general chart's 200.
        let ids: std::collections::HashSet<_> = general.iter().map(|v| &v.id).collect();
        assert!(music[67..].iter().all(|v| !ids.contains(&v.id)));
        // The whole candidate list of the category, nothing left out.
        let today = day_number(date);
        let all_music = ranked(42, "JP", today)
            .iter()
            .filter(|c| category_of(c.key) == "10")
            .count();
        assert_eq!(all_music, 168);
        assert_eq!(category_chart(42, "JP", 10, date), Some(music));
        assert_eq!(category_chart(42, "JP", 0, date), Some(general));
    }

    #[test]
    fn missing_category_charts() {
        let date = d("2026-11-25");
        // Not assignable anywhere, unknown, and an assignable category JP has no chart of.
        for category in [18, 30, 44, 99, 22] {
            assert_eq!(category_chart(42, "JP", category, date), None, "{category}");
        }
        assert!(assignable_in("JP", 22));
        assert!(!category_chart_exists(42, "JP", 22));
        // No video is ever of category 29: no region has its chart, though some may.
        let may: Vec<_> = trendlake::regions::DEFAULT_REGIONS
            .iter()
            .filter(|r| category_chart_exists(42, r, 29))
            .collect();
        assert!(!may.is_empty());
        for region in may {
            assert_eq!(category_chart(42, region, 29, date), None, "{region}");
        }
        assert_eq!(category_chart(42, "XX", 10, date), None);
        assert_eq!(category_chart(42, "JP", 19, date).map(|c| c.len()), Some(5));
    }

    /// The facts docs/fake_api.md quotes: for seed 42 on 2026-11-25, the assignable (region,
    /// category) pairs of the nine default regions, the charts that exist, and the quota of a
    /// night that asks every one of them (a categories call per region, every page at 50, and
    /// one refused call per missing chart).
    #[test]
    fn a_night_of_every_assignable_category() {
        let date = d("2026-11-25");
        let (mut assignable, mut exist, mut short, mut pages) = (0, 0, 0, 0);
        for region in trendlake::regions::DEFAULT_REGIONS {
            for c in trendlake::regions::categories() {
                let id = c.id as u32;
                if !assignable_in(region, id) {
                    continue;
                }
                assignable += 1;
                if let Some(videos) = category_chart(42, region, id, date) {
                    exist += 1;
                    short += usize::from(videos.len() < CHART_LEN);
                    pages += videos.len().div_ceil(50);
                }
            }
        }
        assert_eq!((assignable, exist, short, pages), (119, 74, 74, 112));
        let regions = trendlake::regions::DEFAULT_REGIONS.len();
        assert_eq!(regions + pages + (assignable - exist), 166);
    }
}
