//! Reference data compiled into the binary: supported region codes and YouTube's video categories.
//!
//! Both lists live as CSV in `data/` so the warehouse loads the same rows the CLI validates with,
//! and nothing is hard-coded in SQL.

use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub const REGIONS_CSV: &str = include_str!("../data/regions.csv");
pub const CATEGORIES_CSV: &str = include_str!("../data/categories.csv");

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

/// The default regions of SPEC: `JP,KR,TW,SG,VN,TH,HK,US,GB`.
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
        use chrono::{Offset, TimeZone};
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
}
