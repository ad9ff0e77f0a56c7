//! The trend SQL library: the named queries of `sql/queries/`, the parameters each one's header
//! declares, and `--param K=V` values checked, normalised and typed against them.
//!
//! A query file starts with a header of `--` comments:
//!
//! ```text
//! -- top_movers: the largest view gains since each region's previous snapshot
//! --
//! -- Free text: what it answers, how gaps and censoring are handled, its columns.
//! --
//! -- @param date date (default: the latest snapshot date) the chart date
//! -- @param limit integer (default: 5) movers per region
//! ```
//!
//! The first line names the query and gives the summary `query --list` prints; each `@param`
//! line gives a name, a type (see [`ParamKind`]), the default in words and a description. The
//! SQL reads a parameter with `getvariable('name')`, which is NULL when it was not given, so the
//! default lives in the SQL (`coalesce(getvariable('limit'), 5)`) and the header describes it.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;

use crate::regions::region;

/// A named query shipped in `sql/queries/`.
#[derive(Debug, Clone, Copy)]
pub struct NamedQuery {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! library {
    ($($name:literal),* $(,)?) => {
        &[$(NamedQuery {
            name: $name,
            sql: include_str!(concat!("../../../sql/queries/", $name, ".sql")),
        }),*]
    };
}

/// Every named query, in name order.
pub const NAMED_QUERIES: &[NamedQuery] = library![
    "afterlife",
    "afterlife_videos",
    "category_charts",
    "category_leaders",
    "category_mix",
    "channel_leaderboard",
    "coverage",
    "cross_region",
    "days_on_chart",
    "dropouts",
    "engagement",
    "half_life",
    "new_entries",
    "publish_hour",
    "rank_climbers",
    "rank_trajectory",
    "streaks",
    "survival",
    "time_to_trend",
    "top_movers",
    "vanished",
    "video_history",
];

/// The parameter every named query takes: the chart, by category (`all`: the general chart).
pub const CATEGORY_PARAM: &str = "category";

/// The warehouse's views that read the chart the session's `category` variable names
/// (sql/views.sql): a query reading entries through them answers for that chart.
pub const CATEGORY_VIEWS: &[&str] = &[
    "chart_entries",
    "region_snapshots",
    "chart",
    "video_days",
    "chart_exits",
    "exit_gains",
    "chart_exits_between",
    "exit_gains_between",
    "vanished_videos",
];

/// The named query called `name`.
pub fn named_query(name: &str) -> Result<&'static NamedQuery, QueryError> {
    NAMED_QUERIES
        .iter()
        .find(|q| q.name == name)
        .ok_or_else(|| QueryError::UnknownQuery {
            name: name.to_string(),
            known: NAMED_QUERIES
                .iter()
                .map(|q| q.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The type of a declared parameter, which says how a `--param` value is checked and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `YYYY-MM-DD`, bound as a `DATE`.
    Date,
    /// A whole number ≥ 0, bound as a `BIGINT`.
    Integer,
    /// A region code, case-insensitive like `--regions` (`kr` → `KR`), one `trendlake regions`
    /// lists; bound as a `VARCHAR`.
    Region,
    /// A YouTube video id (11 of `A-Z a-z 0-9 - _`), bound as a `VARCHAR`.
    Video,
    /// Any text, trimmed, bound as a `VARCHAR`.
    Text,
    /// A chart: `all` (the general chart) or a category id such as `25`, bound as a `VARCHAR`
    /// (`chart_category` in the tables).
    Category,
}

impl ParamKind {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "date" => Self::Date,
            "integer" => Self::Integer,
            "region" => Self::Region,
            "video" => Self::Video,
            "text" => Self::Text,
            "category" => Self::Category,
            _ => return None,
        })
    }

    /// The name a header uses, and `query --list` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::Integer => "integer",
            Self::Region => "region",
            Self::Video => "video",
            Self::Text => "text",
            Self::Category => "category",
        }
    }
}

/// A parameter a named query's header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    /// The default in words, as the header gives it ("the latest snapshot date", "5").
    pub default: &'static str,
    pub description: &'static str,
}

impl Param {
    /// A parameter without a default: its header says `(default: required)`.
    pub fn required(&self) -> bool {
        self.default == "required"
    }
}

/// A parameter's value, typed, ready to be set as a DuckDB variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Date(NaiveDate),
    Integer(i64),
    Text(String),
}

impl Value {
    /// The SQL type the variable gets (`SET VARIABLE name = CAST(? AS type)`).
    pub fn sql_type(&self) -> &'static str {
        match self {
            Self::Date(_) => "DATE",
            Self::Integer(_) => "BIGINT",
            Self::Text(_) => "VARCHAR",
        }
    }

    /// The value as the text bound to the `?` of [`Value::sql_type`]'s cast.
    pub fn to_sql_text(&self) -> String {
        match self {
            Self::Date(d) => d.format("%Y-%m-%d").to_string(),
            Self::Integer(n) => n.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

/// A parameter's name and value, as `Warehouse::query` sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub value: Value,
}

/// Why a named query or its parameters cannot be used; all usage errors (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no named query {name:?}; the named queries are {known} (`trendlake query --list`)")]
    UnknownQuery { name: String, known: String },
    #[error("--param {given:?} is not NAME=VALUE")]
    NotAPair { given: String },
    #[error("--param name {name:?} must be letters, digits and underscores")]
    BadName { name: String },
    #[error("query {query} needs --param {name}=<{kind}>; its parameters are {declared}")]
    MissingParam {
        query: &'static str,
        name: &'static str,
        kind: &'static str,
        declared: String,
    },
    #[error("--param {name} is given twice")]
    Repeated { name: String },
    #[error("query {query} takes no parameter {name:?}; its parameters are {declared}")]
    UnknownParam {
        query: &'static str,
        name: String,
        declared: String,
    },
    #[error(
        "--param {name}={value:?} is not a {kind} ({expected}); query {query}'s parameters are {declared}"
    )]
    BadValue {
        query: &'static str,
        name: String,
        value: String,
        kind: &'static str,
        expected: &'static str,
        declared: String,
    },
    /// The query's `date` is one the warehouse holds no snapshot of (or it holds none).
    #[error(transparent)]
    NotHeld(#[from] NotHeld),
    /// A header that does not parse; a unit test keeps every shipped file from reaching a user.
    #[error(
        "sql/queries/{query}.sql: header line {line:?} is not `-- @param NAME TYPE (default: …) DESCRIPTION`"
    )]
    BadHeader {
        query: &'static str,
        line: &'static str,
    },
}

impl NamedQuery {
    /// The summary on the header's first line (after `-- name:`).
    pub fn summary(&self) -> &'static str {
        let first = self.sql.lines().next().unwrap_or("");
        let text = first.strip_prefix("--").unwrap_or(first).trim();
        text.strip_prefix(self.name)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(text)
            .trim()
    }

    /// The header's comment lines, without their `--`.
    fn header(&self) -> impl Iterator<Item = &'static str> {
        self.sql
            .lines()
            .map_while(|l| l.trim_start().strip_prefix("--"))
            .map(str::trim)
    }

    /// The header's free text: every comment line but the first and the `@param` lines.
    pub fn description(&self) -> String {
        let lines: Vec<&str> = self
            .header()
            .skip(1)
            .filter(|l| !l.starts_with("@param"))
            .collect();
        lines.join("\n").trim().to_string()
    }

    /// The parameters the header declares, in its order.
    pub fn params(&self) -> Result<Vec<Param>, QueryError> {
        self.header()
            .filter_map(|l| l.strip_prefix("@param"))
            .map(|rest| {
                parse_param(rest).ok_or(QueryError::BadHeader {
                    query: self.name,
                    line: rest,
                })
            })
            .collect()
    }

    /// Whether it takes a `date` of kind date (see [`bound_date`]), which is checked against the
    /// dates the warehouse holds before it runs.
    pub fn takes_date(&self) -> Result<bool, QueryError> {
        Ok(self
            .params()?
            .iter()
            .any(|p| p.name == DATE_PARAM && p.kind == ParamKind::Date))
    }

    /// `--param NAME=VALUE` pairs checked against the declared parameters, each value normalised
    /// and typed by its kind. Anything the query does not declare is an error naming the ones it
    /// does, since an ignored typo would silently widen the result.
    pub fn bind(&self, given: &[String]) -> Result<Vec<Binding>, QueryError> {
        let declared = self.params()?;
        let listing = || describe_params(&declared);
        let mut bindings: Vec<Binding> = Vec::new();
        for (name, raw) in pairs(given)? {
            let Some(param) = declared.iter().find(|p| p.name == name) else {
                return Err(QueryError::UnknownParam {
                    query: self.name,
                    name,
                    declared: listing(),
                });
            };
            let value = parse_value(param.kind, &raw).map_err(|expected| QueryError::BadValue {
                query: self.name,
                name: name.clone(),
                value: raw.clone(),
                kind: param.kind.name(),
                expected,
                declared: listing(),
            })?;
            bindings.push(Binding { name, value });
        }
        if let Some(missing) = declared
            .iter()
            .find(|p| p.required() && !bindings.iter().any(|b| b.name == p.name))
        {
            return Err(QueryError::MissingParam {
                query: self.name,
                name: missing.name,
                kind: missing.kind.name(),
                declared: listing(),
            });
        }
        Ok(bindings)
    }
}

/// A date the warehouse holds no snapshot of, named with the nearest dates it does hold: what
/// `query --name` says of a query's `date` and `report` of its `--date`, in the same words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotHeld {
    #[error(
        "the warehouse {warehouse} holds no snapshot of {date}; {nearest} (`trendlake query --name coverage` lists every date held)",
        nearest = nearest(*before, *after)
    )]
    Date {
        date: NaiveDate,
        warehouse: String,
        before: Option<NaiveDate>,
        after: Option<NaiveDate>,
    },
    /// No snapshot at all: there is no latest date to default to, nor a nearest one to name.
    #[error(
        "the warehouse {warehouse} holds no snapshots yet; run `trendlake run` (or `trendlake merge` for a lake that has some) first"
    )]
    Empty { warehouse: String },
}

fn nearest(before: Option<NaiveDate>, after: Option<NaiveDate>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("the nearest dates it holds are {b} and {a}"),
        (Some(b), None) => format!("the latest date it holds is {b}"),
        (None, Some(a)) => format!("the first date it holds is {a}"),
        (None, None) => "it holds no dates".into(),
    }
}

/// The date to answer for: `date` if the warehouse at `warehouse` holds a snapshot of it
/// (`held`: every date it holds, `Warehouse::held_dates`), or without one its latest snapshot.
/// `query --name` and `report` both check their date here.
pub fn held_date(
    held: &BTreeSet<NaiveDate>,
    date: Option<NaiveDate>,
    warehouse: &Path,
) -> Result<NaiveDate, NotHeld> {
    let warehouse = || warehouse.display().to_string();
    let Some(&latest) = held.last() else {
        return Err(NotHeld::Empty {
            warehouse: warehouse(),
        });
    };
    match date {
        None => Ok(latest),
        Some(d) if held.contains(&d) => Ok(d),
        Some(d) => Err(NotHeld::Date {
            date: d,
            warehouse: warehouse(),
            before: held.range(..d).next_back().copied(),
            after: held.range(d..).next().copied(),
        }),
    }
}

/// What a named query does about a `date` the warehouse holds no snapshot of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingDate {
    /// Refuse it (exit 2), naming the nearest dates held, as `report` does: an empty chart is
    /// far more often a typo or a missed night than an answer.
    Refuse,
    /// Run the query all the same (`query --allow-empty`): what its SQL answers for that date,
    /// nothing for a chart date.
    Answer,
}

/// The `date` among a named query's bindings, if one was given.
pub fn bound_date(bindings: &[Binding]) -> Option<NaiveDate> {
    bindings
        .iter()
        .find(|b| b.name == DATE_PARAM)
        .and_then(|b| match b.value {
            Value::Date(d) => Some(d),
            _ => None,
        })
}

/// The parameter that names the chart date a query answers for (or, for `cross_region` and
/// `survival`, the date it answers as of; for `engagement`, the last one it considers): the one
/// checked against the dates held. A period's bounds (`from`, `to`, `since`) are not: a period
/// may well begin or end on a day without a snapshot (`from=2026-01-01`), and the query counts
/// the snapshots inside it.
const DATE_PARAM: &str = "date";

/// `--param` pairs of SQL that declares no parameters: every value is text, as given.
pub fn bind_free(given: &[String]) -> Result<Vec<Binding>, QueryError> {
    Ok(pairs(given)?
        .into_iter()
        .map(|(name, value)| Binding {
            name,
            value: Value::Text(value),
        })
        .collect())
}

/// `NAME=VALUE` pairs with checked, unrepeated names.
fn pairs(given: &[String]) -> Result<Vec<(String, String)>, QueryError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for p in given {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| QueryError::NotAPair { given: p.clone() })?;
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(QueryError::BadName { name: k.into() });
        }
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(QueryError::Repeated { name: k.into() });
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `date (date), limit (integer)`, or `none` — how errors list a query's parameters.
fn describe_params(params: &[Param]) -> String {
    if params.is_empty() {
        return "none".into();
    }
    params
        .iter()
        .map(|p| format!("{} ({})", p.name, p.kind.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One `@param` line after the marker: `NAME TYPE (default: TEXT) DESCRIPTION`.
fn parse_param(rest: &'static str) -> Option<Param> {
    let rest = rest.trim_start();
    let (name, rest) = rest.split_once(char::is_whitespace)?;
    let (kind, rest) = rest.trim_start().split_once(char::is_whitespace)?;
    let rest = rest.trim_start().strip_prefix("(default:")?;
    let (default, description) = rest.split_once(')')?;
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (valid_name && !description.trim().is_empty()).then_some(())?;
    Some(Param {
        name,
        kind: ParamKind::parse(kind)?,
        default: default.trim(),
        description: description.trim(),
    })
}

/// `raw` as a value of `kind`, or what was expected.
fn parse_value(kind: ParamKind, raw: &str) -> Result<Value, &'static str> {
    let v = raw.trim();
    match kind {
        ParamKind::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| "a date YYYY-MM-DD"),
        ParamKind::Integer => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Value::Integer)
            .ok_or("a whole number, 0 or more"),
        ParamKind::Region => {
            let code = v.to_ascii_uppercase();
            if region(&code).is_some() {
                Ok(Value::Text(code))
            } else {
                Err("a region code that `trendlake regions` lists, such as JP or kr")
            }
        }
        ParamKind::Video => {
            let ok = v.len() == 11
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if ok {
                Ok(Value::Text(v.to_string()))
            } else {
                Err("a YouTube video id: 11 letters, digits, - or _")
            }
        }
        ParamKind::Text => Ok(Value::Text(v.to_string())),
        ParamKind::Category => {
            if v.eq_ignore_ascii_case(crate::chart::GENERAL) {
                return Ok(Value::Text(crate::chart::GENERAL.to_string()));
            }
            match v.parse::<u32>() {
                Ok(id) if id > 0 => Ok(Value::Text(id.to_string())),
                _ => Err("`all` (the general chart) or a category id such as 25"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_shipped_query_has_a_summary_a_description_and_parsing_params() {
        assert!(NAMED_QUERIES.windows(2).all(|w| w[0].name < w[1].name));
        for q in NAMED_QUERIES {
            assert!(
                q.sql.starts_with(&format!("-- {}: ", q.name)),
                "{}: the header's first line is `-- {0}: summary`",
                q.name
            );
            assert!(!q.summary().is_empty(), "{}", q.name);
            assert!(!q.description().is_empty(), "{}: no description", q.name);
            let params = q.params().unwrap_or_else(|e| panic!("{e}"));
            for p in &params {
                // `category` may be read through the views that pick one chart a region.
                let through_views = p.name == CATEGORY_PARAM
                    && CATEGORY_VIEWS.iter().any(|v| {
                        q.sql.contains(&format!(" {v} ")) || q.sql.contains(&format!(" {v}("))
                    });
                assert!(
                    q.sql.contains(&format!("getvariable('{}')", p.name)) || through_views,
                    "{}: declares {} but never reads it",
                    q.name,
                    p.name
                );
            }
            assert!(
                params
                    .iter()
                    .any(|p| p.name == CATEGORY_PARAM && p.kind == ParamKind::Category),
                "{}: every named query takes `category`",
                q.name
            );
            // Every variable the SQL reads is declared, so no parameter goes unlisted.
            for (i, _) in q.sql.match_indices("getvariable('") {
                let name = &q.sql[i + 13..];
                let name = &name[..name.find('\'').unwrap()];
                assert!(
                    params.iter().any(|p| p.name == name),
                    "{}: reads {name} without declaring it",
                    q.name
                );
            }
        }
    }

    const SAMPLE: NamedQuery = NamedQuery {
        name: "sample",
        sql: "-- sample: a sample\n--\n-- What it does.\n--\n\
              -- @param date date (default: the latest snapshot date) the chart date\n\
              -- @param region region (default: every region) only this region\n\
              -- @param limit integer (default: 5) rows per region\n\
              -- @param video video (default: required) the video\n\
              SELECT 1",
    };

    #[test]
    fn a_header_gives_summary_description_and_params() {
        assert_eq!(SAMPLE.summary(), "a sample");
        assert_eq!(SAMPLE.description(), "What it does.");
        let params = SAMPLE.params().unwrap();
        assert_eq!(params.len(), 4);
        assert_eq!(
            params[0],
            Param {
                name: "date",
                kind: ParamKind::Date,
                default: "the latest snapshot date",
                description: "the chart date",
            }
        );
        assert_eq!(
            describe_params(&params),
            "date (date), region (region), limit (integer), video (video)"
        );
    }

    #[test]
    fn values_are_normalised_and_typed() {
        let b = SAMPLE
            .bind(&strings(&[
                "region= kr ",
                "date=2026-11-20",
                "limit=7",
                "video=dQw4w9WgXcQ",
            ]))
            .unwrap();
        assert_eq!(b[0].value, Value::Text("KR".into()));
        assert_eq!(
            b[1].value,
            Value::Date(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
        );
        assert_eq!(b[1].value.sql_type(), "DATE");
        assert_eq!(b[2].value, Value::Integer(7));
        assert_eq!(b[3].value.to_sql_text(), "dQw4w9WgXcQ");
    }

    #[test]
    fn unknown_params_and_bad_values_name_the_declared_params() {
        let e = SAMPLE.bind(&strings(&["limit=1"])).unwrap_err().to_string();
        assert_eq!(
            e,
            "query sample needs --param video=<video>; its parameters are date (date), \
             region (region), limit (integer), video (video)"
        );
        let e = SAMPLE
            .bind(&strings(&["regoin=KR", "video=dQw4w9WgXcQ"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "query sample takes no parameter \"regoin\"; its parameters are date (date), \
             region (region), limit (integer), video (video)"
        );
        for (given, expected) in [
            ("date=2026-13-01", "a date YYYY-MM-DD"),
            ("date=yesterday", "a date YYYY-MM-DD"),
            ("limit=-1", "a whole number"),
            ("limit=five", "a whole number"),
            ("region=XX", "`trendlake regions`"),
            ("region=Korea", "`trendlake regions`"),
            ("video=abc", "11 letters"),
        ] {
            let e = SAMPLE.bind(&strings(&[given])).unwrap_err().to_string();
            assert!(e.contains(expected), "{given}: {e}");
            assert!(e.contains("limit (integer)"), "{given}: {e}");
        }
        assert!(matches!(
            SAMPLE.bind(&strings(&["limit=1", "limit=2"])),
            Err(QueryError::Repeated { .. })
        ));
        assert!(matches!(
            SAMPLE.bind(&strings(&["limit"])),
            Err(QueryError::NotAPair { .. })
        ));
        assert!(matches!(
            bind_free(&strings(&["a b=1"])),
            Err(QueryError::BadName { .. })
        ));
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_date_is_held_or_named_with_the_nearest_dates_held() {
        let held: BTreeSet<NaiveDate> = ["2026-11-20", "2026-11-22", "2026-11-25"].map(day).into();
        let wh = Path::new("/data/wh.duckdb");
        assert_eq!(held_date(&held, None, wh), Ok(day("2026-11-25")));
        assert_eq!(
            held_date(&held, Some(day("2026-11-22")), wh),
            Ok(day("2026-11-22"))
        );
        for (asked, before, after, nearest) in [
            (
                "2026-11-21",
                Some("2026-11-20"),
                Some("2026-11-22"),
                "the nearest dates it holds are 2026-11-20 and 2026-11-22",
            ),
            (
                "2026-11-24",
                Some("2026-11-22"),
                Some("2026-11-25"),
                "the nearest dates it holds are 2026-11-22 and 2026-11-25",
            ),
            (
                "2026-11-01",
                None,
                Some("2026-11-20"),
                "the first date it holds is 2026-11-20",
            ),
            (
                "2027-01-01",
                Some("2026-11-25"),
                None,
                "the latest date it holds is 2026-11-25",
            ),
        ] {
            let e = held_date(&held, Some(day(asked)), wh).unwrap_err();
            assert_eq!(
                e,
                NotHeld::Date {
                    date: day(asked),
                    warehouse: "/data/wh.duckdb".into(),
                    before: before.map(day),
                    after: after.map(day),
                }
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "the warehouse /data/wh.duckdb holds no snapshot of {asked}; {nearest} \
                     (`trendlake query --name coverage` lists every date held)"
                )
            );
        }
        let none = BTreeSet::new();
        for asked in [None, Some(day("2026-11-21"))] {
            assert_eq!(
                held_date(&none, asked, wh),
                Err(NotHeld::Empty {
                    warehouse: "/data/wh.duckdb".into()
                })
            );
        }
        assert_eq!(
            NotHeld::Empty {
                warehouse: "w".into()
            }
            .to_string(),
            "the warehouse w holds no snapshots yet; run `trendlake run` (or `trendlake merge` \
             for a lake that has some) first"
        );
    }

    #[test]
    fn the_queries_taking_a_date_and_the_date_they_are_given() {
        let taking: Vec<&str> = NAMED_QUERIES
            .iter()
            .filter(|q| q.takes_date().unwrap())
            .map(|q| q.name)
            .collect();
        assert_eq!(
            taking,
            [
                "afterlife",
                "category_charts",
                "category_leaders",
                "cross_region",
                "dropouts",
                "engagement",
                "new_entries",
                "rank_climbers",
                "rank_trajectory",
                "survival",
                "top_movers",
            ]
        );
        let b = SAMPLE
            .bind(&strings(&["video=dQw4w9WgXcQ", "date=2026-11-21"]))
            .unwrap();
        assert_eq!(bound_date(&b), Some(day("2026-11-21")));
        let b = SAMPLE.bind(&strings(&["video=dQw4w9WgXcQ"])).unwrap();
        assert_eq!(bound_date(&b), None);
        // Free SQL's `--param date=…` is text, not a query's chart date.
        assert_eq!(
            bound_date(&bind_free(&strings(&["date=2026-11-21"])).unwrap()),
            None
        );
    }

    #[test]
    fn unknown_query_lists_the_library() {
        let e = named_query("top_mover").unwrap_err().to_string();
        assert!(e.contains("top_movers"), "{e}");
        assert!(e.contains("--list"), "{e}");
    }

    #[test]
    fn malformed_param_lines_are_refused() {
        for line in [
            "-- q: x\n-- @param date (default: x) no type\nSELECT 1",
            "-- q: x\n-- @param date weird (default: x) bad type\nSELECT 1",
            "-- q: x\n-- @param date date no default\nSELECT 1",
            "-- q: x\n-- @param date date (default: x)\nSELECT 1",
        ] {
            let q = NamedQuery {
                name: "q",
                sql: line,
            };
            assert!(q.params().is_err(), "{line}");
        }
    }
}
