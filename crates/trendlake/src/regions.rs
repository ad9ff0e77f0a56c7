//! Reference data compiled into the binary: supported region codes and YouTube's video categories.
//!
//! Both lists live as CSV in `data/` so the warehouse loads the same rows the CLI validates with,
//! and nothing is hard-coded in SQL.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone};

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub const REGIONS_CSV: &str = include_str!("../../../data/regions.csv");
pub const CATEGORIES_CSV: &str = include_str!("../../../data/categories.csv");

/// A region from `i18nRegions.list` that has a trending chart (a row of `data/regions.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// The IANA time zone most of the region's audience lives in (for a country with several,
    /// its most populous: `America/New_York` for US, `Europe/Moscow` for RU), for questions in
    /// local time such as the hour videos are published.
    pub time_zone: String,
}

impl Region {
    /// [`Region::time_zone`] as a chrono-tz zone (a unit test checks every row has one).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone
            .parse()
            .expect("data/regions.csv names IANA zones (a unit test checks)")
    }
}

/// One span of a region's UTC offset: from `from` (inclusive) to `until` (exclusive), both UTC
/// wall-clock times, local time is UTC + `offset_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSpan {
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
    pub offset_s: i32,
}

/// The first and last year [`Region::offset_spans`] looks for a change of offset in (YouTube
/// began in 2005); the first span reaches back to 1970 and the last on to 2100 at the offset
/// it starts with.
const OFFSET_YEARS: (i32, i32) = (2005, 2040);

/// How often [`Region::offset_spans`] looks for a change of offset.
const OFFSET_SCAN_STEP: TimeDelta = TimeDelta::days(7);

impl Region {
    /// The region's UTC offsets over time, from its IANA zone, for the warehouse's
    /// `region_utc_offsets` table: the bundled DuckDB has no ICU, so SQL cannot convert time zones
    /// itself, but it can add a span's offset to a UTC time.
    pub fn offset_spans(&self) -> Vec<OffsetSpan> {
        self.offset_spans_scanning(OFFSET_SCAN_STEP)
    }

    /// [`Region::offset_spans`], looking for changes every `step`: an offset that changes and
    /// changes back within one step would be missed, so the step must be shorter than any span
    /// (a unit test compares a week's step with a day's for every region).
    fn offset_spans_scanning(&self, step: TimeDelta) -> Vec<OffsetSpan> {
        let tz = self.tz();
        let offset = |t: NaiveDateTime| tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
        let at = |y: i32| {
            NaiveDate::from_ymd_opt(y, 1, 1)
                .expect("1 January exists")
                .and_time(NaiveTime::MIN)
        };
        let (first, last) = OFFSET_YEARS;
        let mut spans = vec![OffsetSpan {
            from: at(1970),
            until: at(2100),
            offset_s: offset(at(first)),
        }];
        // Offsets change a few times a year at most, so a scan finds every change and a
        // bisection (to the second) its instant. Every merge session reloads the table, and a
        // weekly scan of every region takes 16 ms where a daily one took 80 ms.
        let mut day = at(first);
        while day < at(last + 1) {
            let next = day + step;
            let current = spans.last().expect("one span at least").offset_s;
            if offset(next) != current {
                let (mut lo, mut hi) = (day, next);
                while hi - lo > TimeDelta::seconds(1) {
                    let mid = lo + TimeDelta::seconds((hi - lo).num_seconds() / 2);
                    if offset(mid) == current {
                        lo = mid
                    } else {
                        hi = mid
                    }
                }
                let open = spans.last_mut().expect("one span at least");
                open.until = hi;
                spans.push(OffsetSpan {
                    from: hi,
                    until: at(2100),
                    offset_s: offset(hi),
                });
            }
            day = next;
        }
        spans
    }
}

/// A YouTube video category (a row of `data/categories.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Category {
    #[serde(rename = "category_id")]
    pub id: i32,
    pub name: String,
    pub assignable: bool,
}

/// The rows of a compiled-in CSV file by its header's names (fields trimmed, quoting as in CSV).
fn parse_csv<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, csv::Error> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

static REGIONS: LazyLock<Vec<Region>> =
    LazyLock::new(|| parse_csv(REGIONS_CSV).expect("data/regions.csv parses (a unit test checks)"));

static CATEGORIES: LazyLock<Vec<Category>> = LazyLock::new(|| {
    parse_csv(CATEGORIES_CSV).expect("data/categories.csv parses (a unit test checks)")
});

/// Every supported region, in code order.
pub fn regions() -> &'static [Region] {
    &REGIONS
}

/// Every category, in id order.
pub fn categories() -> &'static [Category] {
    &CATEGORIES
}

/// The supported region with this code (exact, upper case), if any.
pub fn region(code: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.code == code)
}

/// The default regions: `JP,KR,TW,SG,VN,TH,HK,US,GB`.
pub const DEFAULT_REGIONS: &[&str] = &["JP", "KR", "TW", "SG", "VN", "TH", "HK", "US", "GB"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_read_as_csv() {
        // Quoted fields may hold commas, which a split on ',' would break.
        let rows: Vec<Region> =
            parse_csv("code,name,time_zone\nBQ,\"Bonaire, Sint Eustatius and Saba\",America/Kralendijk\n\nJP , Japan,Asia/Tokyo\n")
                .unwrap();
        assert_eq!(
            rows,
            [
                Region {
                    code: "BQ".into(),
                    name: "Bonaire, Sint Eustatius and Saba".into(),
                    time_zone: "America/Kralendijk".into()
                },
                Region {
                    code: "JP".into(),
                    name: "Japan".into(),
                    time_zone: "Asia/Tokyo".into()
                }
            ]
        );
        let bad = parse_csv::<Category>("category_id,name,assignable\nx,Music,true\n");
        assert!(bad.is_err());
    }

    #[test]
    fn reference_data_parses() {
        assert!(parse_csv::<Region>(REGIONS_CSV).is_ok());
        assert!(parse_csv::<Category>(CATEGORIES_CSV).is_ok());
        assert!(regions().len() > 100);
        assert_eq!(region("JP").unwrap().name, "Japan");
        assert!(region("XX").is_none());
        assert!(DEFAULT_REGIONS.iter().all(|c| region(c).is_some()));
        let music = categories().iter().find(|c| c.id == 10).unwrap();
        assert_eq!(music.name, "Music");
        assert!(regions().windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn every_region_has_an_iana_time_zone() {
        for r in regions() {
            assert!(
                r.time_zone.parse::<chrono_tz::Tz>().is_ok(),
                "{}: {:?} is not an IANA zone",
                r.code,
                r.time_zone
            );
        }
        assert_eq!(region("JP").unwrap().tz(), chrono_tz::Asia::Tokyo);
        assert_eq!(region("VN").unwrap().tz(), chrono_tz::Asia::Ho_Chi_Minh);
        assert_eq!(region("US").unwrap().tz(), chrono_tz::America::New_York);
        // A zone's offset is the country's: Kathmandu is UTC+5:45, Kolkata UTC+5:30.
        let noon = chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let offset = |code: &str| {
            region(code)
                .unwrap()
                .tz()
                .offset_from_utc_datetime(&noon)
                .fix()
                .local_minus_utc()
        };
        assert_eq!(offset("NP"), 5 * 3600 + 45 * 60);
        assert_eq!(offset("IN"), 5 * 3600 + 30 * 60);
        assert_eq!(offset("BR"), -3 * 3600);
    }

    #[test]
    fn offset_spans_follow_daylight_saving_time() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let us = region("US").unwrap().offset_spans();
        // New York: EST (UTC-5) until 2026-03-08 07:00 UTC (02:00 local), then EDT (UTC-4)
        // until 2026-11-01 06:00 UTC.
        let span = |spans: &[OffsetSpan], at: &str| {
            *spans
                .iter()
                .find(|s| s.from <= t(at) && t(at) < s.until)
                .unwrap()
        };
        let summer = span(&us, "2026-07-01 00:00:00");
        assert_eq!(summer.offset_s, -4 * 3600);
        assert_eq!(summer.from, t("2026-03-08 07:00:00"));
        assert_eq!(summer.until, t("2026-11-01 06:00:00"));
        assert_eq!(span(&us, "2026-12-01 00:00:00").offset_s, -5 * 3600);
        // Spans tile 1970..2100 without gaps or overlaps, and change offset at each boundary.
        for code in ["US", "JP", "GB", "NP", "BR"] {
            let spans = region(code).unwrap().offset_spans();
            assert_eq!(spans[0].from, t("1970-01-01 00:00:00"), "{code}");
            assert_eq!(
                spans.last().unwrap().until,
                t("2100-01-01 00:00:00"),
                "{code}"
            );
            for w in spans.windows(2) {
                assert_eq!(w[0].until, w[1].from, "{code}");
                assert_ne!(w[0].offset_s, w[1].offset_s, "{code}");
            }
        }
        // A weekly scan misses no change: no zone changes and changes back within a week.
        for r in regions() {
            assert_eq!(
                r.offset_spans(),
                r.offset_spans_scanning(TimeDelta::days(1)),
                "{}",
                r.code
            );
        }
        // Tokyo has had no daylight saving time since 1951.
        assert_eq!(region("JP").unwrap().offset_spans().len(), 1);
        // Brazil dropped it in 2019: the last change is in February 2019.
        let br = region("BR").unwrap().offset_spans();
        assert_eq!(br.last().unwrap().from.date().to_string(), "2019-02-17");
        assert_eq!(br.last().unwrap().offset_s, -3 * 3600);
    }
}
