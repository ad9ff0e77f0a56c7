//! Charts: a region's general chart (`chart=mostPopular`) and its category charts
//! (`…&videoCategoryId=C`, since the API's 2025-07-21 change the only way to see what trends in
//! news, sport or comedy). A chart is named by a key: the region's code for the general chart
//! (`JP`, as every lake before category charts named it), `JP/25` for a category chart. The key is
//! what the lake's lineage, commit records and raw archive are keyed by; the rows carry the
//! category in their `chart_category` column (`all` for the general chart).

use std::collections::BTreeSet;

/// The `chart_category` of the general chart.
pub const GENERAL: &str = "all";

/// The key of `region`'s chart of `category` ([`GENERAL`] or a category id).
pub fn key(region: &str, category: &str) -> String {
    if category == GENERAL {
        region.to_string()
    } else {
        format!("{region}/{category}")
    }
}

/// The region and category of a chart key (`JP` → `("JP", "all")`, `JP/25` → `("JP", "25")`).
pub fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or((key, GENERAL))
}

/// The category id to send as `videoCategoryId` (`None` for the general chart).
pub fn api_category(key: &str) -> Option<&str> {
    match split(key).1 {
        GENERAL => None,
        id => Some(id),
    }
}

/// Which category charts a night asks for besides each region's general chart (`--categories`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Categories {
    /// The general chart alone (the default: one chart per region, as before category charts).
    #[default]
    None,
    /// These category ids in every region, whatever `videoCategories.list` says of them.
    List(BTreeSet<u32>),
    /// Every category `videoCategories.list` marks assignable in the region.
    Assignable,
}

/// A `--categories` value that is none of the three forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--categories {given:?}: {problem}; give `none`, `assignable` or category ids such as `10,17,20,24,25`"
)]
pub struct CategoriesError {
    pub given: String,
    pub problem: String,
}

impl std::str::FromStr for Categories {
    type Err = CategoriesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| CategoriesError {
            given: s.to_string(),
            problem,
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "" => Err(fail("empty".into())),
            "none" => Ok(Self::None),
            "assignable" => Ok(Self::Assignable),
            list => {
                let mut ids = BTreeSet::new();
                for word in list.split(',').map(str::trim) {
                    match word.parse::<u32>() {
                        Ok(0) => {
                            return Err(fail(
                                "0 is no category (the general chart is always fetched)".into(),
                            ));
                        }
                        Ok(id) => {
                            ids.insert(id);
                        }
                        Err(_) => return Err(fail(format!("{word:?} is not a category id"))),
                    }
                }
                Ok(Self::List(ids))
            }
        }
    }
}

impl std::fmt::Display for Categories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Assignable => f.write_str("assignable"),
            Self::List(ids) => {
                let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
                f.write_str(&ids.join(","))
            }
        }
    }
}

impl Categories {
    /// Whether the night asks for category charts at all (and so for the regions' categories).
    pub fn any(&self) -> bool {
        *self != Self::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_the_general_chart_keeps_the_region_code() {
        assert_eq!(key("JP", GENERAL), "JP");
        assert_eq!(key("KR", "25"), "KR/25");
        assert_eq!(split("JP"), ("JP", "all"));
        assert_eq!(split("KR/25"), ("KR", "25"));
        assert_eq!(api_category("JP"), None);
        assert_eq!(api_category("KR/25"), Some("25"));
    }

    #[test]
    fn categories_parse_the_three_forms_and_name_bad_input() {
        assert_eq!("none".parse::<Categories>().unwrap(), Categories::None);
        assert_eq!(
            " Assignable ".parse::<Categories>().unwrap(),
            Categories::Assignable
        );
        let list: Categories = "25, 10,17,10".parse().unwrap();
        assert_eq!(list, Categories::List([10, 17, 25].into()));
        assert_eq!(list.to_string(), "10,17,25");
        let e = "10,news".parse::<Categories>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "--categories \"10,news\": \"news\" is not a category id; give `none`, `assignable` or category ids such as `10,17,20,24,25`"
        );
        assert!("0".parse::<Categories>().is_err());
        assert!("".parse::<Categories>().is_err());
    }
}
