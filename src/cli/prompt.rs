//! `trendlake query` on a terminal without SQL: an interactive prompt (rustyline).
//!
//! A line is one of:
//! - SQL, run when a line ends it with `;` (lines accumulate until then; several statements on
//!   a line run in turn), its result printed in the chosen format (a table by default, at most
//!   `--max-rows` rows);
//! - a named query with `name=value` words: `top_movers region=kr limit=3` (a value with spaces
//!   in quotes: `video_history video="…"`), bound and checked as `--param` would be;
//! - `.help`, `.list` (the named queries and their parameters), `.tables` (tables and views),
//!   `.quit` (or Ctrl-D). Ctrl-C drops the lines typed so far.
//!
//! An error prints and the prompt goes on. Tab completes named queries, their parameters, dot
//! commands and the warehouse's tables, views and columns. History is kept in
//! `$XDG_STATE_HOME/trendlake/query_history` (default `~/.local/state/trendlake/…`), appended
//! after every entry; a history that cannot be read or saved is a warning.
//!
//! The line logic ([`Input`], [`complete`]) is pure and tested here; the terminal is tested
//! black-box under a pseudo-terminal (`tests/it/query_formats.rs`).

use std::io::Write;
use std::path::PathBuf;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor};

use crate::error::{Error, Result};
use crate::output::{Format, thousands, write_stream};
use crate::queries::{Binding, MissingDate, NAMED_QUERIES, named_query};
use crate::warehouse::Warehouse;
use crate::warehouse::statement::{ends_statement, statements};

const PROMPT: &str = "trendlake> ";
const MORE: &str = "       ..> ";

const HELP: &str = "\
SQL ends with `;` and may span lines; it runs read-only (one statement at a time, several per
line in turn). A named query runs with name=value words:  top_movers region=kr limit=3
  .list     the named queries and their parameters
  .tables   the warehouse's tables and views
  .help     this text
  .quit     leave (or Ctrl-D); Ctrl-C drops the lines typed so far
Tab completes names of queries, parameters, tables, views and columns.";

/// What a line typed at the prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing to do: an empty line.
    Nothing,
    /// A statement was begun and not yet ended by `;`.
    More,
    /// SQL ended by `;`: one statement or several.
    Sql(String),
    /// A named query and its `name=value` words.
    Named {
        name: String,
        params: Vec<String>,
    },
    Help,
    List,
    Tables,
    Quit,
    /// A line the prompt cannot take, and why.
    Invalid(String),
}

/// The lines of a statement not yet ended by `;`.
#[derive(Debug, Default)]
pub struct Input {
    pending: String,
}

impl Input {
    /// Whether a statement is under way (the prompt shows it continues).
    pub fn continuing(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Drop the lines typed so far (Ctrl-C).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Take one line typed at the prompt.
    pub fn feed(&mut self, line: &str) -> Entry {
        if self.pending.is_empty() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                return Entry::Nothing;
            }
            if trimmed.starts_with('.') {
                return dot_command(trimmed);
            }
            let first = trimmed.split_whitespace().next().unwrap_or_default();
            let first = first.trim_end_matches(';');
            if NAMED_QUERIES.iter().any(|q| q.name == first) {
                let rest = trimmed[first.len()..].trim().trim_end_matches(';');
                return match words(rest) {
                    Ok(params) => Entry::Named {
                        name: first.to_string(),
                        params,
                    },
                    Err(e) => Entry::Invalid(e),
                };
            }
            self.pending.push_str(line);
        } else {
            self.pending.push('\n');
            self.pending.push_str(line);
        }
        if ends_statement(&self.pending) {
            Entry::Sql(std::mem::take(&mut self.pending))
        } else {
            Entry::More
        }
    }
}

fn dot_command(line: &str) -> Entry {
    let mut parts = line.split_whitespace();
    let command = parts.next().unwrap_or_default();
    if parts.next().is_some() {
        return Entry::Invalid(format!("{command} takes nothing after it"));
    }
    match command {
        ".help" | ".h" | ".?" => Entry::Help,
        ".list" => Entry::List,
        ".tables" => Entry::Tables,
        ".quit" | ".exit" | ".q" => Entry::Quit,
        other => Entry::Invalid(format!(
            "no command {other}; the commands are .help, .list, .tables, .quit"
        )),
    }
}

/// A named query's words: separated by whitespace, `"…"` or `'…'` keeping spaces in one word
/// (`video="a b"` is `video=a b`).
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => out.extend(word.take()),
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("a {q} is not closed"));
    }
    out.extend(word);
    Ok(out)
}

/// What tab completes from: the named queries and their parameters, the warehouse's tables,
/// views and columns.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub queries: Vec<(String, Vec<String>)>,
    pub tables: Vec<String>,
    pub columns: Vec<String>,
}

impl Names {
    fn of(warehouse: &Warehouse) -> Self {
        let queries = NAMED_QUERIES
            .iter()
            .map(|q| {
                let params = q
                    .params()
                    .map(|ps| ps.iter().map(|p| p.name.to_string()).collect())
                    .unwrap_or_default();
                (q.name.to_string(), params)
            })
            .collect();
        let strings = |sql: &str| -> Vec<String> {
            let Ok(batches) = warehouse.query(sql, &[]) else {
                return Vec::new();
            };
            batches
                .iter()
                .flat_map(|b| {
                    let column = arrow::array::AsArray::as_string::<i32>(b.column(0));
                    column
                        .iter()
                        .flatten()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        Self {
            queries,
            tables: strings(
                "SELECT DISTINCT table_name FROM information_schema.tables \
                 WHERE table_schema = 'main' ORDER BY 1",
            ),
            columns: strings(
                "SELECT DISTINCT column_name FROM information_schema.columns \
                 WHERE table_schema = 'main' ORDER BY 1",
            ),
        }
    }
}

const DOT_COMMANDS: &[&str] = &[".help", ".list", ".tables", ".quit"];
const STARTERS: &[&str] = &[
    "SELECT",
    "FROM",
    "WITH",
    "VALUES",
    "TABLE",
    "DESCRIBE",
    "SHOW",
    "SUMMARIZE",
    "EXPLAIN",
    "PIVOT",
    "UNPIVOT",
];

/// Completions of the word before the cursor (`line` is the text up to it): where the word
/// starts and what it may become. The first word of an entry completes to a named query, a dot
/// command or a statement's first keyword; a named query's next words to its `param=`; words in
/// SQL to tables, views and columns.
pub fn complete(line: &str, continuing: bool, names: &Names) -> (usize, Vec<String>) {
    let start = line
        .rfind(|c: char| c.is_whitespace() || "(),;=<>+-*/|'\"".contains(c))
        .map_or(0, |i| i + 1);
    let word = &line[start..];
    let before = line[..start].trim();
    let prefixed = |candidates: &mut dyn Iterator<Item = &str>, any_case: bool| {
        candidates
            .filter(|c| {
                c.starts_with(word)
                    || (any_case
                        && c.to_ascii_lowercase()
                            .starts_with(&word.to_ascii_lowercase()))
            })
            .map(|c| {
                // A keyword completes in the case it was begun in.
                if any_case && word.chars().any(|ch| ch.is_ascii_lowercase()) {
                    c.to_ascii_lowercase()
                } else {
                    c.to_string()
                }
            })
            .collect::<Vec<_>>()
    };
    if !continuing && before.is_empty() {
        if word.starts_with('.') {
            return (start, prefixed(&mut DOT_COMMANDS.iter().copied(), false));
        }
        let mut out = prefixed(&mut names.queries.iter().map(|(q, _)| q.as_str()), false);
        out.extend(prefixed(&mut STARTERS.iter().copied(), true));
        return (start, out);
    }
    let first = before.split_whitespace().next().unwrap_or_default();
    if !continuing && let Some((_, params)) = names.queries.iter().find(|(q, _)| q == first) {
        // `name=value` is one word to the prompt: nothing completes after the `=`.
        if line[start.saturating_sub(1)..].starts_with('=') {
            return (start, Vec::new());
        }
        let given: Vec<&str> = before
            .split_whitespace()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k))
            .collect();
        let open: Vec<String> = params
            .iter()
            .filter(|p| !given.contains(&p.as_str()))
            .map(|p| format!("{p}="))
            .collect();
        return (start, prefixed(&mut open.iter().map(String::as_str), false));
    }
    if word.is_empty() {
        return (start, Vec::new());
    }
    let mut out = prefixed(&mut names.tables.iter().map(String::as_str), false);
    out.extend(prefixed(
        &mut names.columns.iter().map(String::as_str),
        false,
    ));
    out.dedup();
    (start, out)
}

/// rustyline's view of [`complete`].
struct Helper {
    names: Names,
    continuing: bool,
}

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = complete(&line[..pos], self.continuing, &self.names);
        let pairs = words
            .into_iter()
            .map(|w| Pair {
                display: w.clone(),
                replacement: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Helper {
    type Hint = String;
}
impl Highlighter for Helper {}
impl Validator for Helper {}
impl rustyline::Helper for Helper {}

/// Where the prompt's history lives: `$XDG_STATE_HOME/trendlake/query_history`, else
/// `$HOME/.local/state/trendlake/query_history`.
pub fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("trendlake/query_history"))
}

/// Run the prompt until `.quit` or Ctrl-D. `free` are `--param` values, set for the SQL typed.
pub fn run(warehouse: &Warehouse, format: Format, max_rows: usize, free: &[Binding]) -> Result<()> {
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(10_000)
        .map_err(prompt_error)?
        .build();
    let mut editor: Editor<Helper, DefaultHistory> =
        Editor::with_config(config).map_err(prompt_error)?;
    editor.set_helper(Some(Helper {
        names: Names::of(warehouse),
        continuing: false,
    }));
    let history = history_path();
    match &history {
        Some(path) => {
            if let Some(dir) = path.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                tracing::warn!("cannot create {} for the query history: {e}", dir.display());
            }
            match editor.load_history(path) {
                Ok(()) => {}
                Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot read the query history {}: {e}", path.display()),
            }
        }
        None => tracing::warn!("no $XDG_STATE_HOME or $HOME: the query history is not kept"),
    }
    println!(
        "trendlake query on {} (read-only). End SQL with `;`; .help for more, .quit or Ctrl-D \
         to leave.",
        warehouse.path().display()
    );
    let mut input = Input::default();
    let mut history_warned = false;
    loop {
        let continuing = input.continuing();
        if let Some(h) = editor.helper_mut() {
            h.continuing = continuing;
        }
        let line = match editor.readline(if continuing { MORE } else { PROMPT }) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                input.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(prompt_error(e)),
        };
        let entry = input.feed(&line);
        let remembered = match &entry {
            Entry::Nothing | Entry::More => None,
            Entry::Sql(sql) => Some(sql.clone()),
            _ => Some(line.trim().to_string()),
        };
        if let Some(text) = remembered {
            let _ = editor.add_history_entry(text);
            if let Some(path) = &history
                && let Err(e) = editor.append_history(path)
                && !history_warned
            {
                tracing::warn!("cannot save the query history to {}: {e}", path.display());
                history_warned = true;
            }
        }
        let outcome = match entry {
            Entry::Nothing | Entry::More => Ok(()),
            Entry::Quit => break,
            Entry::Help => {
                println!("{HELP}");
                Ok(())
            }
            Entry::List => super::write_named_queries(&mut std::io::stdout().lock(), "  "),
            Entry::Tables => run_sql(
                warehouse,
                "SELECT table_name AS name, lower(table_type) AS kind \
                 FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1",
                &[],
                Format::Table,
                0,
            ),
            Entry::Invalid(why) => Err(Error::Usage(why)),
            Entry::Named { name, params } => named_query(&name)
                .and_then(|q| Ok((q, q.bind(&params)?)))
                .map_err(Error::from)
                .and_then(|(q, bound)| {
                    warehouse.ready_for::<Error>(q, &bound, MissingDate::Refuse)?;
                    run_sql(warehouse, q.sql, &bound, format, max_rows)
                }),
            Entry::Sql(sql) => statements(&sql)
                .into_iter()
                .try_for_each(|one| run_sql(warehouse, one, free, format, max_rows)),
        };
        if let Err(e) = outcome {
            eprintln!("error: {e}");
        }
    }
    Ok(())
}

/// One statement's result on stdout; a table says how many rows it has.
fn run_sql(
    warehouse: &Warehouse,
    sql: &str,
    bindings: &[Binding],
    format: Format,
    max_rows: usize,
) -> Result<()> {
    let written = warehouse.query_each(sql, bindings, |batches| {
        write_stream(batches.schema(), batches, format, max_rows, None)
    })?;
    if format == Format::Table && written.shown == written.rows {
        let rows = written.rows;
        println!(
            "({} row{})",
            thousands(rows),
            if rows == 1 { "" } else { "s" }
        );
    }
    std::io::stdout().flush().ok();
    Ok(())
}

fn prompt_error(e: ReadlineError) -> Error {
    Error::Io {
        context: "the interactive prompt".into(),
        source: match e {
            ReadlineError::Io(e) => e,
            other => std::io::Error::other(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, params: &[&str]) -> Entry {
        Entry::Named {
            name: name.into(),
            params: params.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn sql_accumulates_until_a_semicolon_ends_it() {
        let mut input = Input::default();
        assert_eq!(input.feed("SELECT region,"), Entry::More);
        assert!(input.continuing());
        assert_eq!(input.feed("  count(*) -- a ; in a comment"), Entry::More);
        assert_eq!(input.feed("FROM chart GROUP BY 1 ';"), Entry::More);
        assert_eq!(
            input.feed("';"),
            Entry::Sql(
                "SELECT region,\n  count(*) -- a ; in a comment\nFROM chart GROUP BY 1 ';\n';"
                    .into()
            )
        );
        assert!(!input.continuing());
        assert_eq!(
            input.feed("SELECT 1; SELECT 2;"),
            Entry::Sql("SELECT 1; SELECT 2;".into())
        );
        // Inside a statement, even a named query's name or a dot is SQL.
        assert_eq!(input.feed("SELECT"), Entry::More);
        assert_eq!(input.feed(".quit"), Entry::More);
        assert_eq!(
            input.feed("top_movers;"),
            Entry::Sql("SELECT\n.quit\ntop_movers;".into())
        );
        input.feed("SELECT");
        input.clear();
        assert!(!input.continuing());
        assert_eq!(input.feed("   "), Entry::Nothing);
    }

    #[test]
    fn a_named_query_takes_name_value_words() {
        let mut input = Input::default();
        assert_eq!(
            input.feed("top_movers region=kr limit=3"),
            named("top_movers", &["region=kr", "limit=3"])
        );
        assert_eq!(
            input.feed("  days_on_chart  ;"),
            named("days_on_chart", &[])
        );
        assert_eq!(
            input.feed("video_history video=\"a b\" x='c d';"),
            named("video_history", &["video=a b", "x=c d"])
        );
        assert!(
            matches!(input.feed("top_movers region=\"kr"), Entry::Invalid(e) if e.contains('"'))
        );
        assert!(!input.continuing());
        // Not a named query: SQL.
        assert_eq!(input.feed("top_mover region=kr"), Entry::More);
    }

    #[test]
    fn dot_commands() {
        let mut input = Input::default();
        for (line, entry) in [
            (".help", Entry::Help),
            (" .list ", Entry::List),
            (".tables", Entry::Tables),
            (".quit", Entry::Quit),
            (".exit", Entry::Quit),
        ] {
            assert_eq!(input.feed(line), entry, "{line}");
        }
        assert!(matches!(input.feed(".drop"), Entry::Invalid(e) if e.contains(".help")));
        assert!(matches!(input.feed(".quit now"), Entry::Invalid(_)));
    }

    fn names() -> Names {
        Names {
            queries: vec![
                (
                    "top_movers".into(),
                    vec!["date".into(), "region".into(), "limit".into()],
                ),
                (
                    "days_on_chart".into(),
                    vec!["region".into(), "limit".into()],
                ),
            ],
            tables: vec!["chart".into(), "chart_entries".into(), "videos".into()],
            columns: vec!["region".into(), "video_id".into()],
        }
    }

    #[test]
    fn tab_completes_queries_params_and_tables() {
        let n = names();
        assert_eq!(
            complete("top", false, &n),
            (0, vec!["top_movers".to_string()])
        );
        assert_eq!(complete("sel", false, &n), (0, vec!["select".to_string()]));
        assert_eq!(complete("SEL", false, &n), (0, vec!["SELECT".to_string()]));
        assert_eq!(complete(".q", false, &n), (0, vec![".quit".to_string()]));
        assert_eq!(
            complete("top_movers ", false, &n),
            (11, vec!["date=".into(), "region=".into(), "limit=".into()])
        );
        assert_eq!(
            complete("top_movers region=kr l", false, &n),
            (21, vec!["limit=".to_string()])
        );
        assert_eq!(
            complete("top_movers region=", false, &n).1,
            Vec::<String>::new()
        );
        assert_eq!(
            complete("SELECT * FROM cha", false, &n),
            (14, vec!["chart".to_string(), "chart_entries".into()])
        );
        assert_eq!(
            complete("FROM videos SELECT vi", false, &n).1,
            ["videos", "video_id"]
        );
        // Continuing a statement: the first word is SQL, not a query name.
        assert_eq!(
            complete("cha", true, &n),
            (0, vec!["chart".to_string(), "chart_entries".into()])
        );
        assert_eq!(complete("SELECT ", false, &n).1, Vec::<String>::new());
    }

    #[test]
    fn history_lives_under_xdg_state_home_or_home() {
        // Only the shape: the environment is the test runner's.
        if let Some(p) = history_path() {
            assert!(p.ends_with("trendlake/query_history"), "{}", p.display());
        }
    }
}
