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
            parse_csv("code,name\nBQ,\"Bonaire, Sint Eustatius and Saba\"\n\nJP , Japan\n")
                .unwrap();
        assert_eq!(
            rows,
            [
                Region {
                    code: "BQ".into(),
                    name: "Bonaire, Sint Eustatius and Saba".into()
                },
                Region {
                    code: "JP".into(),
                    name: "Japan".into()
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
}
