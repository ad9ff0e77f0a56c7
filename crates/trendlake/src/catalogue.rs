//! The chart catalogue: what a night learned about its regions' category charts, kept in the lake
//! at `_charts/snapshot_date=D/<run id>.json` (docs/lake.md). It holds each region's categories as
//! `videoCategories.list` answered them (ids, titles, assignable), and every category chart the run
//! considered with what became of it: held, `no_chart` (the API answered `videoChartNotFound`),
//! `known_no_chart` (not asked: the API had none when last asked, less than `--recheck-days` ago)
//! or failed. The next nights read it to ask for a missing chart only once every
//! `--recheck-days` (and fetch their longest charts first); `check` reads it to tell "no such chart" from a missing snapshot; the merge
//! copies it into the warehouse (`region_categories`, `chart_status`).

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::lake::{ContentType, Lake, LakeError};

/// The catalogue format this trendlake writes and reads.
pub const FORMAT: u32 = 1;

/// One run's catalogue (stable serde names: other tools may read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub format: u32,
    pub snapshot_date: NaiveDate,
    pub run_id: String,
    pub written_at: DateTime<Utc>,
    /// Per region, its categories as `videoCategories.list` answered them this night (regions
    /// whose call failed are absent).
    pub categories: BTreeMap<String, Vec<CategoryEntry>>,
    /// Every category chart the run considered.
    pub charts: Vec<ChartEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryEntry {
    pub id: u32,
    pub title: String,
    pub assignable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartEntry {
    pub region: String,
    pub category: u32,
    pub status: ChartStatus,
    /// `known_no_chart`: the night the API last answered that it has no such chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_asked: Option<NaiveDate>,
    /// `ok`: the chart's length that night (the next night fetches its longest charts first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

impl ChartEntry {
    /// The chart's key (see [`crate::chart`]).
    pub fn key(&self) -> String {
        crate::chart::key(&self.region, &self.category.to_string())
    }
}

/// What became of a category chart in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartStatus {
    /// Fetched complete (committed unless the commit failed: the run report says).
    Ok,
    /// The API answered that it has no such chart (`videoChartNotFound`, 400 or 404).
    NoChart,
    /// Not asked: the API had no such chart when last asked, less than `--recheck-days` ago.
    KnownNoChart,
    /// Asked, and failed (the run report says why).
    Failed,
}

impl ChartStatus {
    /// Which of two runs' words on a chart stands for their night, whatever order they ran in:
    /// a chart held by one run is in the snapshot (a commit keeps what a later run could not
    /// fetch), an answer of "no such chart" outweighs not asking, and not asking outweighs a
    /// failure.
    fn weight(self) -> u8 {
        match self {
            Self::Ok => 3,
            Self::NoChart => 2,
            Self::KnownNoChart => 1,
            Self::Failed => 0,
        }
    }

    /// The stable name, as serialised (and as the warehouse's `chart_status` keeps it).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NoChart => "no_chart",
            Self::KnownNoChart => "known_no_chart",
            Self::Failed => "failed",
        }
    }
}

/// Why a catalogue cannot be read or written, naming it.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("{path}: not a trendlake chart catalogue ({source}); move it aside")]
    Unreadable {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path}: chart catalogue format {found}, newer than {FORMAT}, the newest this trendlake reads: upgrade trendlake; nothing was changed"
    )]
    Newer { path: String, found: u32 },
}

/// Where `date`'s catalogues live, relative to the lake's root.
pub fn dir(date: NaiveDate) -> String {
    format!("_charts/snapshot_date={date}")
}

/// Write `catalogue` as its run's own object (no other run writes it); returns its path.
pub async fn write(lake: &Lake, catalogue: &Catalogue) -> Result<String, LakeError> {
    let json = serde_json::to_vec_pretty(catalogue).expect("a catalogue serialises");
    let path = lake.path(&format!(
        "{}/{}.json",
        dir(catalogue.snapshot_date),
        catalogue.run_id
    ));
    lake.put(&path, Bytes::from(json), ContentType::Json)
        .await?;
    Ok(lake.display(&path))
}

/// A catalogue as stored: where, its identity, what it says.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Relative to the lake's root.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    pub catalogue: Catalogue,
}

/// Every catalogue of `date`, oldest written first.
pub async fn read_date(lake: &Lake, date: NaiveDate) -> Result<Vec<Stored>, CatalogueError> {
    let mut out = Vec::new();
    for listed in lake.list_under(&dir(date)).await? {
        if !listed.parts.last().is_some_and(|f| f.ends_with(".json")) {
            continue;
        }
        let path = &listed.meta.location;
        let Some(bytes) = lake.get(path).await? else {
            continue;
        };
        out.push(Stored {
            path: listed.parts.join("/"),
            sha256: crate::lake::codec::sha256_hex(&bytes),
            catalogue: parse(&lake.display(path), &bytes)?,
        });
    }
    out.sort_by_key(|s| s.catalogue.written_at);
    Ok(out)
}

/// A catalogue's bytes, read from `shown`.
pub fn parse(shown: &str, bytes: &[u8]) -> Result<Catalogue, CatalogueError> {
    let unreadable = |source| CatalogueError::Unreadable {
        path: shown.to_string(),
        source,
    };
    let found = crate::lake::codec::json_format(bytes).map_err(unreadable)?;
    if found > FORMAT {
        return Err(CatalogueError::Newer {
            path: shown.to_string(),
            found,
        });
    }
    serde_json::from_slice(bytes).map_err(unreadable)
}

/// What the recent nights' catalogues tell a run of `date` about its category charts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    /// The charts the API had none of when last asked within `--recheck-days` nights up to the
    /// date (that night's earlier runs included), by key, with the night it was asked: the charts
    /// the run does not ask again. A chart answered since is not in it; 0 days: none.
    pub missing: BTreeMap<String, NaiveDate>,
    /// Each chart's length the latest night that held it (of the nights read), by key: the run
    /// fetches its longest charts first, so that no long chart starts last.
    pub rows: BTreeMap<String, usize>,
}

/// [`Recent`] for a run of `date`: the catalogues of the `recheck_days` nights up to it, and at
/// least of the date and the night before (for the charts' lengths).
pub async fn recent(
    lake: &Lake,
    date: NaiveDate,
    recheck_days: u32,
) -> Result<Recent, CatalogueError> {
    let mut nights = Vec::new();
    for back in 0..recheck_days.max(2) {
        let Some(night) = date.checked_sub_days(chrono::Days::new(back.into())) else {
            break;
        };
        let stored = read_date(lake, night).await?;
        nights.push((
            night,
            stored.into_iter().map(|s| s.catalogue).collect::<Vec<_>>(),
        ));
    }
    let mut rows = BTreeMap::new();
    // Newest night first: the first length met per chart is its latest.
    for (_, catalogues) in &nights {
        for entry in catalogues.iter().flat_map(|c| &c.charts) {
            if let Some(n) = entry.rows {
                rows.entry(entry.key()).or_insert(n);
            }
        }
    }
    let within = |night: &NaiveDate| (date - *night).num_days() < i64::from(recheck_days);
    let missing = missing_from(nights.into_iter().filter(|(n, _)| within(n)).collect());
    Ok(Recent { missing, rows })
}

/// What one night's catalogues (its runs') say of each category chart, by (region, category):
/// the weightiest word ([`ChartStatus::weight`]), so the order the runs ran in does not matter.
pub fn night_word<'a>(
    catalogues: impl IntoIterator<Item = &'a Catalogue>,
) -> BTreeMap<(String, u32), ChartStatus> {
    let mut word: BTreeMap<(String, u32), ChartStatus> = BTreeMap::new();
    for c in catalogues {
        for entry in &c.charts {
            let slot = word
                .entry((entry.region.clone(), entry.category))
                .or_insert(entry.status);
            if entry.status.weight() > slot.weight() {
                *slot = entry.status;
            }
        }
    }
    word
}

/// [`known_missing`] of the catalogues read, per night.
fn missing_from(nights: Vec<(NaiveDate, Vec<Catalogue>)>) -> BTreeMap<String, NaiveDate> {
    // The latest night that answered, per chart, and whether the answer was "no chart".
    let mut latest: BTreeMap<String, (NaiveDate, bool)> = BTreeMap::new();
    for (night, catalogues) in nights {
        for ((region, category), status) in night_word(&catalogues) {
            let missing = match status {
                ChartStatus::NoChart => true,
                ChartStatus::Ok => false,
                // Not an answer about the chart's existence.
                ChartStatus::KnownNoChart | ChartStatus::Failed => continue,
            };
            let key = crate::chart::key(&region, &category.to_string());
            let slot = latest.entry(key).or_insert((night, missing));
            if night > slot.0 {
                *slot = (night, missing);
            }
        }
    }
    latest
        .into_iter()
        .filter(|(_, (_, missing))| *missing)
        .map(|(key, (night, _))| (key, night))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(night: &str, at: &str, charts: &[(&str, u32, ChartStatus)]) -> Catalogue {
        Catalogue {
            format: FORMAT,
            snapshot_date: night.parse().unwrap(),
            run_id: at.into(),
            written_at: at.parse().unwrap(),
            categories: BTreeMap::new(),
            charts: charts
                .iter()
                .map(|(region, category, status)| ChartEntry {
                    region: region.to_string(),
                    category: *category,
                    status: *status,
                    last_asked: None,
                    rows: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_chart_is_known_missing_only_while_its_latest_answer_says_so() {
        use ChartStatus::*;
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let nights = vec![
            (
                d("2026-11-25"),
                vec![catalogue(
                    "2026-11-25",
                    "2026-11-25T03:00:00Z",
                    &[("JP", 25, NoChart), ("JP", 10, Ok), ("KR", 17, NoChart)],
                )],
            ),
            (
                d("2026-11-22"),
                vec![catalogue(
                    "2026-11-22",
                    "2026-11-22T03:00:00Z",
                    &[("JP", 10, NoChart), ("KR", 17, Ok), ("US", 1, NoChart)],
                )],
            ),
            (
                d("2026-11-24"),
                vec![catalogue(
                    "2026-11-24",
                    "2026-11-24T03:00:00Z",
                    // Neither an answer: the older NoChart of US/1 stands.
                    &[("US", 1, KnownNoChart), ("FR", 20, Failed)],
                )],
            ),
        ];
        let missing = missing_from(nights);
        // Two runs of one night, whatever order: one asked and was answered "no chart", the
        // other did not ask (it read the first's catalogue); another night's run held JP/10.
        let night = |order: [&str; 2]| {
            let c = |at: &str, status| catalogue("2026-11-26", at, &[("JP", 10, status)]);
            vec![c(order[0], NoChart), c(order[1], KnownNoChart)]
        };
        for order in [
            ["2026-11-26T03:00:00Z", "2026-11-26T04:00:00Z"],
            ["2026-11-26T04:00:00Z", "2026-11-26T03:00:00Z"],
        ] {
            assert_eq!(
                night_word(&night(order)),
                BTreeMap::from([(("JP".to_string(), 10), NoChart)])
            );
        }
        assert_eq!(
            missing,
            BTreeMap::from([
                ("JP/25".to_string(), d("2026-11-25")),
                ("KR/17".to_string(), d("2026-11-25")),
                ("US/1".to_string(), d("2026-11-22")),
            ])
        );
    }

    #[tokio::test]
    async fn recent_nights_give_the_missing_charts_within_the_window_and_the_latest_lengths() {
        use ChartStatus::*;
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&dir.path().display().to_string()).unwrap();
        let with_rows = |night: &str, charts: &[(&str, u32, ChartStatus, Option<usize>)]| {
            let mut c = catalogue(night, &format!("{night}T03:00:00Z"), &[]);
            c.run_id = format!("run-{night}");
            c.charts = charts
                .iter()
                .map(|(region, category, status, rows)| ChartEntry {
                    region: region.to_string(),
                    category: *category,
                    status: *status,
                    last_asked: None,
                    rows: *rows,
                })
                .collect();
            c
        };
        for c in [
            // Four nights back: outside a 3-night window, inside none of the lengths' either.
            with_rows(
                "2026-11-21",
                &[("JP", 17, NoChart, None), ("JP", 20, Ok, Some(9))],
            ),
            with_rows(
                "2026-11-23",
                &[("KR", 25, NoChart, None), ("JP", 10, Ok, Some(120))],
            ),
            with_rows(
                "2026-11-24",
                &[("JP", 10, Ok, Some(150)), ("KR", 25, KnownNoChart, None)],
            ),
        ] {
            write(&lake, &c).await.unwrap();
        }
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let recent = recent(&lake, d("2026-11-25"), 3).await.unwrap();
        assert_eq!(
            recent.missing,
            BTreeMap::from([("KR/25".to_string(), d("2026-11-23"))])
        );
        // The latest length per chart; the nights read are the window's (3 back, the date included).
        assert_eq!(recent.rows, BTreeMap::from([("JP/10".to_string(), 150)]));
        // With no window, the date and the night before are read all the same, for the lengths.
        let none = super::recent(&lake, d("2026-11-25"), 0).await.unwrap();
        assert!(none.missing.is_empty());
        assert_eq!(none.rows, BTreeMap::from([("JP/10".to_string(), 150)]));
    }

    #[test]
    fn the_catalogue_keeps_its_field_names() {
        let mut c = catalogue("2026-11-25", "2026-11-25T03:00:00Z", &[]);
        c.categories.insert(
            "JP".into(),
            vec![CategoryEntry {
                id: 10,
                title: "Music".into(),
                assignable: true,
            }],
        );
        c.charts.push(ChartEntry {
            region: "JP".into(),
            category: 25,
            status: ChartStatus::KnownNoChart,
            last_asked: Some("2026-11-24".parse().unwrap()),
            rows: None,
        });
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "format": 1,
                "snapshot_date": "2026-11-25",
                "run_id": "2026-11-25T03:00:00Z",
                "written_at": "2026-11-25T03:00:00Z",
                "categories": {"JP": [{"id": 10, "title": "Music", "assignable": true}]},
                "charts": [{"region": "JP", "category": 25, "status": "known_no_chart", "last_asked": "2026-11-24"}]
            })
        );
        assert_eq!(parse("x", &serde_json::to_vec(&c).unwrap()).unwrap(), c);
        for status in [
            ChartStatus::Ok,
            ChartStatus::NoChart,
            ChartStatus::KnownNoChart,
            ChartStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.name());
        }
        let newer = br#"{"format": 2}"#;
        assert!(matches!(
            parse("x", newer),
            Err(CatalogueError::Newer { found: 2, .. })
        ));
    }
}
