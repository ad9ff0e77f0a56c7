//! Dated changes in what the source's numbers mean (`data/source_changes.csv`), which the report
//! lists and marks on its time axes. Reference data, not code: a new change is a new line there.

use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The compiled-in file.
pub const SOURCE_CHANGES_CSV: &str = include_str!("../../../../data/source_changes.csv");

/// One change: from `date` on, `title` (`detail` says what it means for the numbers).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SourceChange {
    pub date: NaiveDate,
    pub title: String,
    pub detail: String,
    /// Where the change was announced (shown as text: the report loads nothing from outside).
    pub source: String,
}

/// Why the file cannot be used; a unit test keeps a bad file from being shipped.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    #[error("data/source_changes.csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("data/source_changes.csv: {0}")]
    Invalid(String),
}

/// Parse the CSV text: `date,title,detail,source`, in date order, every field non-empty.
pub fn parse(text: &str) -> Result<Vec<SourceChange>, AnnotationError> {
    let rows: Vec<SourceChange> = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()?;
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        if r.title.is_empty() || r.detail.is_empty() {
            return Err(AnnotationError::Invalid(format!(
                "line {line} ({}): title and detail must not be empty",
                r.date
            )));
        }
        if !r.source.starts_with("https://") {
            return Err(AnnotationError::Invalid(format!(
                "line {line} ({}): source must be an https:// address",
                r.date
            )));
        }
    }
    if let Some(w) = rows.windows(2).find(|w| w[0].date > w[1].date) {
        return Err(AnnotationError::Invalid(format!(
            "{} comes after {}: keep the lines in date order",
            w[0].date, w[1].date
        )));
    }
    Ok(rows)
}

static CHANGES: LazyLock<Vec<SourceChange>> = LazyLock::new(|| {
    parse(SOURCE_CHANGES_CSV).expect("data/source_changes.csv parses (a unit test checks)")
});

/// Every change, in date order.
pub fn source_changes() -> &'static [SourceChange] {
    &CHANGES
}

/// The changes a report on `date` mentions: every one in effect by then (a change from before
/// the history still qualifies every number in it), none from after it.
pub fn in_effect(changes: &[SourceChange], date: NaiveDate) -> Vec<SourceChange> {
    changes.iter().filter(|c| c.date <= date).cloned().collect()
}

/// The changes dated inside `first..=last`, to mark on an axis spanning those days.
pub fn within(changes: &[SourceChange], first: NaiveDate, last: NaiveDate) -> Vec<&SourceChange> {
    changes
        .iter()
        .filter(|c| c.date >= first && c.date <= last)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_shipped_file_parses_and_holds_the_known_changes() {
        let all = parse(SOURCE_CHANGES_CSV).unwrap();
        assert_eq!(source_changes(), all.as_slice());
        let dates: Vec<String> = all.iter().map(|c| c.date.to_string()).collect();
        assert_eq!(dates, ["2021-12-13", "2025-03-31", "2025-07-21"]);
        assert_eq!(all[1].title, "Shorts count every play");
        assert_eq!(all[2].title, "Trending page retired");
        assert!(all[2].detail.contains("mostPopular"), "{}", all[2].detail);
    }

    #[test]
    fn a_report_mentions_what_was_in_effect_and_marks_what_is_on_its_axis() {
        let all = source_changes();
        let names = |v: &[SourceChange]| v.iter().map(|c| c.date.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(&in_effect(all, day("2025-07-20"))),
            ["2021-12-13", "2025-03-31"]
        );
        assert_eq!(in_effect(all, day("2025-07-21")).len(), 3);
        assert!(in_effect(all, day("2020-01-01")).is_empty());
        let marked = within(all, day("2025-07-08"), day("2025-07-21"));
        assert_eq!(marked.len(), 1);
        assert_eq!(marked[0].date, day("2025-07-21"));
        assert!(within(all, day("2025-07-22"), day("2025-08-04")).is_empty());
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        let e = parse("date,title,detail,source\n2025-13-01,x,y,https://a\n").unwrap_err();
        assert!(e.to_string().contains("source_changes.csv"), "{e}");
        let e = parse("date,title,detail,source\n2025-01-01,,y,https://a\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse("date,title,detail,source\n2025-01-01,x,y,ftp://a\n").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        let e =
            parse("date,title,detail,source\n2025-02-01,x,y,https://a\n2025-01-01,x,y,https://a\n")
                .unwrap_err();
        assert!(e.to_string().contains("date order"), "{e}");
    }
}
