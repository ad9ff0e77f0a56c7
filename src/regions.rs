//! Reference data compiled into the binary: supported region codes and YouTube's video categories.
//!
//! Both lists live as CSV in `data/` so the warehouse loads the same rows the CLI validates with,
//! and nothing is hard-coded in SQL.

use std::sync::LazyLock;

pub const REGIONS_CSV: &str = include_str!("../data/regions.csv");
pub const CATEGORIES_CSV: &str = include_str!("../data/categories.csv");

/// A region from `i18nRegions.list` that has a trending chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub code: &'static str,
    pub name: &'static str,
}

/// A YouTube video category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub id: i32,
    pub name: &'static str,
    pub assignable: bool,
}

fn csv_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
}

static REGIONS: LazyLock<Vec<Region>> = LazyLock::new(|| {
    csv_rows(REGIONS_CSV)
        .map(|f| Region {
            code: f[0],
            name: f[1],
        })
        .collect()
});

static CATEGORIES: LazyLock<Vec<Category>> = LazyLock::new(|| {
    csv_rows(CATEGORIES_CSV)
        .map(|f| Category {
            id: f[0].parse().expect("data/categories.csv: numeric id"),
            name: f[1],
            assignable: f[2] == "true",
        })
        .collect()
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
    fn reference_data_parses() {
        assert!(regions().len() > 100);
        assert_eq!(region("JP").unwrap().name, "Japan");
        assert!(region("XX").is_none());
        assert!(DEFAULT_REGIONS.iter().all(|c| region(c).is_some()));
        let music = categories().iter().find(|c| c.id == 10).unwrap();
        assert_eq!(music.name, "Music");
        assert!(regions().windows(2).all(|w| w[0].code < w[1].code));
    }
}
