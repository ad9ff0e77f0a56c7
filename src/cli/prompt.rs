//! `trendlake query` on a terminal without SQL: an interactive prompt (rustyline), with the
//! dot commands of DuckDB's CLI.
//!
//! A line is one of:
//! - SQL, run when a line ends it with `;` (lines accumulate until then; several statements on
//!   a line run in turn; a line of comments only is dropped);
//! - a named query with `name=value` words: `top_movers region=kr limit=3` (a value with spaces
//!   in quotes: `video_history video="…"`), bound and checked as `--param` would be;
//! - a dot command ([`COMMANDS`], listed by `.help`): `.tables`, `.schema [NAME]`,
//!   `.mode table|csv|json|jsonl|line`, `.maxrows N`, `.output [FILE]`, `.timer on|off`,
//!   `.read FILE`, `.list`, `.help`, `.quit` (or Ctrl-D). Ctrl-C drops the lines typed so far.
//!
//! Results print in the mode (`--format` at first): a table fitted to the terminal's width (see
//! `output::write_table`) showing at most `.maxrows` rows (`--max-rows` at first), whose note
//! names the dot commands that show the rest; CSV, JSON, JSON lines; or `line`, DuckDB's
//! `column = value` lines. `.output FILE` empties FILE and appends each following result to it,
//! whole ([`Appended`]): every row, never fitted. `.tables` and `.schema` answer like results
//! (to the `.output` file too, so `.output schema.sql` then `.schema` saves the DDL); `.timer`
//! prints `Run Time: 0.012 s` on the screen after each statement that finishes.
//!
//! An error prints and the prompt goes on; in a `.read` file it stops that file (and the files
//! reading it), naming the file and line. Tab completes named queries, their parameters, dot
//! commands and their words, and the warehouse's tables, views and columns. History is kept in
//! `$XDG_STATE_HOME/trendlake/query_history` (default `~/.local/state/trendlake/…`), the
//! directory made 0700 and the file 0600 when missing, appended after every entry; a history
//! that cannot be read or saved is a warning.
//!
//! The line logic ([`Input`], [`complete`]) is pure and tested here; the terminal is tested
//! black-box under a pseudo-terminal (`tests/it/prompt.rs`, `tests/it/query_formats.rs`).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor};
use unicode_width::UnicodeWidthStr;

use crate::error::{Error, Result};
use crate::output::{
    Format, Hints, OutputError, TableLook, Written, printable, terminal_width, thousands,
    write_stream, write_table,
};
use trendlake::queries::{Binding, MissingDate, NAMED_QUERIES, Value, named_query};
use trendlake::warehouse::statement::{ends_statement, statements};
use trendlake::warehouse::{Batches, Warehouse, WarehouseError};

const PROMPT: &str = "trendlake> ";
const MORE: &str = "       ..> ";

/// A dot command: its name, how it is written and what it does, as `.help` lists it.
pub struct Command {
    pub name: &'static str,
    pub usage: &'static str,
    pub does: &'static str,
}

/// The dot commands, in `.help`'s order.
pub const COMMANDS: &[Command] = &[
    Command {
        name: ".tables",
        usage: ".tables",
        does: "the warehouse's tables and views",
    },
    Command {
        name: ".schema",
        usage: ".schema [NAME]",
        does: "the CREATE statements of every table and view, or NAME's",
    },
    Command {
        name: ".mode",
        usage: ".mode table|csv|json|jsonl|line",
        does: "how the results that follow print (line: a `column = value` line each)",
    },
    Command {
        name: ".maxrows",
        usage: ".maxrows N",
        does: "rows a table shows at most, the rest only counted (0: every row)",
    },
    Command {
        name: ".output",
        usage: ".output [FILE]",
        does: "the results that follow go to FILE (emptied first), one after another, \
               every row; alone: back to the screen",
    },
    Command {
        name: ".timer",
        usage: ".timer on|off",
        does: "print each statement's run time",
    },
    Command {
        name: ".read",
        usage: ".read FILE",
        does: "run FILE's lines as if typed; an error stops it",
    },
    Command {
        name: ".list",
        usage: ".list",
        does: "the named queries and their parameters",
    },
    Command {
        name: ".help",
        usage: ".help",
        does: "this text",
    },
    Command {
        name: ".quit",
        usage: ".quit, .exit",
        does: "leave (or Ctrl-D); Ctrl-C drops the lines typed so far",
    },
];

/// What `.help` prints.
pub fn help() -> String {
    let width = COMMANDS.iter().map(|c| c.usage.len()).max().unwrap_or(0);
    let mut text = String::from(
        "SQL ends with `;` and may span lines; it runs read-only, one statement at a time \
         (several on a line in turn).\nA named query runs with name=value words:  \
         top_movers region=kr limit=3\n",
    );
    for c in COMMANDS {
        text.push_str(&format!("  {:<width$}  {}\n", c.usage, c.does));
    }
    text.push_str("Tab completes names of queries, parameters, tables, views and columns.");
    text
}

/// How results print (`.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Table,
    Csv,
    Json,
    Jsonl,
    /// One `column = value` line per column, a blank line between rows (DuckDB's CLI's
    /// `.mode line`).
    Line,
}

impl Mode {
    const NAMED: [(&'static str, Mode); 5] = [
        ("table", Mode::Table),
        ("csv", Mode::Csv),
        ("json", Mode::Json),
        ("jsonl", Mode::Jsonl),
        ("line", Mode::Line),
    ];

    fn named(name: &str) -> Option<Self> {
        Self::NAMED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, m)| m)
    }

    /// The mode `--format` starts the prompt in; Parquet has none, being binary.
    pub fn of(format: Format) -> Option<Self> {
        match format {
            Format::Table => Some(Mode::Table),
            Format::Csv => Some(Mode::Csv),
            Format::Json => Some(Mode::Json),
            Format::Jsonl => Some(Mode::Jsonl),
            Format::Parquet => None,
        }
    }
}

/// What a line typed at the prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing to do: an empty line, or comments only.
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
    /// `.schema`: every table's and view's CREATE statement, or one's.
    Schema(Option<String>),
    Mode(Mode),
    /// `.maxrows N`: 0 for every row.
    MaxRows(usize),
    /// `.output FILE`, or `.output` alone (`None`: the screen).
    Output(Option<PathBuf>),
    Timer(bool),
    Read(PathBuf),
    Quit,
    /// A line the prompt cannot take, and why.
    Invalid(EntryError),
}

/// Why a line cannot be taken; each says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("no command {given}; .help lists the commands")]
    Unknown { given: String },
    #[error("{command} takes nothing after it")]
    TakesNothing { command: &'static str },
    #[error("{command} needs an argument; usage: {usage}")]
    Missing {
        command: &'static str,
        usage: &'static str,
    },
    #[error("{command} takes one argument, not {count} (quote one with spaces); usage: {usage}")]
    TooMany {
        command: &'static str,
        count: usize,
        usage: &'static str,
    },
    #[error("{command} cannot take {given:?}; usage: {usage}")]
    Bad {
        command: &'static str,
        given: String,
        usage: &'static str,
    },
    #[error("a {quote} is not closed")]
    Unclosed { quote: char },
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
        } else if only_comments(&self.pending) {
            // A comment line (a `.read` file's heading) does not hold the next line as SQL: a
            // dot command or a named query may follow it.
            self.pending.clear();
            Entry::Nothing
        } else {
            Entry::More
        }
    }
}

/// Whether `sql` holds comments and whitespace only, none left open: no statement yet. (A `;`
/// after it on a line of its own would end it, unless a string or comment is still open.)
fn only_comments(sql: &str) -> bool {
    statements(sql).is_empty() && ends_statement(&format!("{sql}\n;"))
}

fn command(name: &str) -> &'static Command {
    COMMANDS
        .iter()
        .find(|c| c.name == name)
        .expect("a command of COMMANDS")
}

fn dot_command(line: &str) -> Entry {
    // `.schema chart;`: the `;` is SQL's habit, not part of the argument.
    let line = line.trim_end_matches(';').trim_end();
    let (name, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    match parse_dot_command(name, rest) {
        Ok(entry) => entry,
        Err(e) => Entry::Invalid(e),
    }
}

fn parse_dot_command(name: &str, rest: &str) -> Result<Entry, EntryError> {
    let args = words(rest)?;
    let none = |c: &'static str, entry: Entry| {
        if args.is_empty() {
            Ok(entry)
        } else {
            Err(EntryError::TakesNothing { command: c })
        }
    };
    // The one argument of `c`, if given.
    let optional = |c: &'static str| -> Result<Option<String>, EntryError> {
        match args.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            more => Err(EntryError::TooMany {
                command: c,
                count: more.len(),
                usage: command(c).usage,
            }),
        }
    };
    let needed = |c: &'static str| -> Result<String, EntryError> {
        optional(c)?.ok_or(EntryError::Missing {
            command: c,
            usage: command(c).usage,
        })
    };
    let bad = |c: &'static str, given: String| EntryError::Bad {
        command: c,
        given,
        usage: command(c).usage,
    };
    match name {
        ".help" | ".h" | ".?" => none(".help", Entry::Help),
        ".list" => none(".list", Entry::List),
        ".tables" => none(".tables", Entry::Tables),
        ".quit" | ".exit" | ".q" => none(".quit", Entry::Quit),
        ".schema" => Ok(Entry::Schema(optional(".schema")?)),
        ".mode" => {
            let given = needed(".mode")?;
            Mode::named(&given)
                .map(Entry::Mode)
                .ok_or_else(|| bad(".mode", given))
        }
        ".maxrows" => {
            let given = needed(".maxrows")?;
            given
                .parse::<usize>()
                .map(Entry::MaxRows)
                .map_err(|_| bad(".maxrows", given))
        }
        ".output" => Ok(Entry::Output(optional(".output")?.map(PathBuf::from))),
        ".timer" => {
            let given = needed(".timer")?;
            match ON_OFF.iter().position(|w| w.eq_ignore_ascii_case(&given)) {
                Some(0) => Ok(Entry::Timer(true)),
                Some(_) => Ok(Entry::Timer(false)),
                None => Err(bad(".timer", given)),
            }
        }
        ".read" => Ok(Entry::Read(PathBuf::from(needed(".read")?))),
        other => Err(EntryError::Unknown {
            given: other.to_string(),
        }),
    }
}

/// A named query's words, or a dot command's arguments: separated by whitespace, `"…"` or
/// `'…'` keeping spaces in one word (`video="a b"` is `video=a b`).
fn words(text: &str) -> Result<Vec<String>, EntryError> {
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
    if let Some(quote) = quote {
        return Err(EntryError::Unclosed { quote });
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
        let listed = |sql: &str| -> Vec<String> {
            warehouse
                .query(sql, &[])
                .map(|batches| strings(&batches))
                .unwrap_or_default()
        };
        Self {
            queries,
            tables: listed(
                "SELECT DISTINCT table_name FROM information_schema.tables \
                 WHERE table_schema = 'main' ORDER BY 1",
            ),
            columns: listed(
                "SELECT DISTINCT column_name FROM information_schema.columns \
                 WHERE table_schema = 'main' ORDER BY 1",
            ),
        }
    }
}

/// What `.timer` takes (and completes to).
const ON_OFF: &[&str] = &["on", "off"];
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
            let mut commands = COMMANDS.iter().map(|c| c.name).chain([".exit"]);
            let mut out = prefixed(&mut commands, false);
            out.sort();
            return (start, out);
        }
        let mut out = prefixed(&mut names.queries.iter().map(|(q, _)| q.as_str()), false);
        out.extend(prefixed(&mut STARTERS.iter().copied(), true));
        return (start, out);
    }
    let first = before.split_whitespace().next().unwrap_or_default();
    if !continuing && first.starts_with('.') {
        // A dot command's one argument: what it can be.
        if before != first {
            return (start, Vec::new());
        }
        let candidates: &mut dyn Iterator<Item = &str> = match first {
            ".schema" => &mut names.tables.iter().map(String::as_str),
            ".mode" => &mut Mode::NAMED.iter().map(|&(name, _)| name),
            ".timer" => &mut ON_OFF.iter().copied(),
            _ => return (start, Vec::new()),
        };
        return (start, prefixed(candidates, false));
    }
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

/// Make the history's directory (0700, as the XDG spec asks of state) and its file (0600: it
/// holds every query typed, and whatever they name) when missing, and make a file others can
/// read private.
fn private_history(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    if file.metadata()?.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Run the prompt until `.quit` or Ctrl-D. `format` and `max_rows` are the mode and row limit it
/// starts with; `free` are `--param` values, set for the SQL typed.
pub fn run(warehouse: &Warehouse, format: Format, max_rows: usize, free: &[Binding]) -> Result<()> {
    let mode = Mode::of(format).ok_or_else(|| {
        Error::Usage(
            "the prompt prints results as text; --format parquet needs SQL and --output F".into(),
        )
    })?;
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
    let history = match history_path() {
        Some(path) => match private_history(&path) {
            Ok(()) => {
                if let Err(e) = editor.load_history(&path) {
                    tracing::warn!("cannot read the query history {}: {e}", path.display());
                }
                Some(path)
            }
            Err(e) => {
                tracing::warn!(
                    "cannot create the query history {}: {e}; it is not kept",
                    path.display()
                );
                None
            }
        },
        None => {
            tracing::warn!("no $XDG_STATE_HOME or $HOME: the query history is not kept");
            None
        }
    };
    println!(
        "trendlake query on {} (read-only). End SQL with `;`; .help for more, .quit or Ctrl-D \
         to leave.",
        warehouse.path().display()
    );
    let mut session = Session {
        warehouse,
        free,
        mode,
        max_rows,
        timer: false,
        output: None,
        reading: 0,
    };
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
        match session.entry(entry) {
            Ok(Next::Go) => {}
            Ok(Next::Quit) => break,
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Ok(())
}

/// Why an entry failed; the prompt prints it and goes on.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The query, the named query's parameters, or writing the result (boxed: the crate's
    /// error is large, and every entry returns this).
    #[error(transparent)]
    Run(Box<Error>),
    #[error(
        "cannot open .output {path}: {source}; results print on the screen until .output names \
         a file whose directory exists and is writable"
    )]
    OpenOutput {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot make a scratch directory beside .output {path} or in the temporary directory \
         to write the result in: {source}; check either is writable"
    )]
    Scratch {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot append the result to .output {path}: {source}; it holds the results before \
         this one (check the disk has room)"
    )]
    Append {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read .read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: {source}")]
    InFile {
        path: String,
        line: usize,
        source: Box<PromptError>,
    },
    #[error("{path} ends inside the statement begun on line {line}; end it with `;`")]
    Unfinished { path: String, line: usize },
    #[error(
        ".read {path}: files read one another more than {MAX_READ_DEPTH} deep; does one read itself?"
    )]
    TooDeep { path: String },
    #[error("no table or view {name:?} in the warehouse; .tables lists them")]
    NoSuchTable { name: String },
    #[error(
        ".output {path} is the warehouse itself, which it would empty; results print on the \
         screen until .output names another file"
    )]
    OutputIsWarehouse { path: String },
}

/// Whether `a` and `b` name one existing file (through links, or by other relative paths).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl From<Error> for PromptError {
    fn from(e: Error) -> Self {
        Self::Run(Box::new(e))
    }
}

impl From<WarehouseError> for PromptError {
    fn from(e: WarehouseError) -> Self {
        Self::Run(Box::new(e.into()))
    }
}

/// `.read` files reading `.read` files: beyond this, one surely reads itself.
const MAX_READ_DEPTH: usize = 16;

/// What the prompt does after an entry.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Go,
    Quit,
}

/// The prompt's state: how results print, and where.
struct Session<'a> {
    warehouse: &'a Warehouse,
    /// `--param` values, set for the SQL typed.
    free: &'a [Binding],
    mode: Mode,
    /// A table's row limit (0: none); files get every row.
    max_rows: usize,
    timer: bool,
    /// `.output`'s file; `None`: the screen.
    output: Option<Appended>,
    /// `.read` files open, one inside another.
    reading: usize,
}

const TABLES: &str = "SELECT table_name AS name, lower(table_type) AS kind \
                      FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1";

/// The CREATE statements of the warehouse's tables, then its views, by name; only NAME's when
/// the variable `schema_name` is set (any case, as DuckDB's names are).
const SCHEMA: &str = "SELECT sql FROM ( \
       SELECT 0 AS kind, table_name AS name, sql FROM duckdb_tables() \
       WHERE database_name = current_database() AND schema_name = 'main' \
         AND NOT internal AND NOT temporary \
       UNION ALL \
       SELECT 1, view_name, sql FROM duckdb_views() \
       WHERE database_name = current_database() AND schema_name = 'main' \
         AND NOT internal AND NOT temporary \
     ) WHERE getvariable('schema_name') IS NULL \
         OR lower(name) = lower(getvariable('schema_name')) \
     ORDER BY kind, name";

impl Session<'_> {
    fn entry(&mut self, entry: Entry) -> Result<Next, PromptError> {
        match entry {
            Entry::Nothing | Entry::More => {}
            Entry::Quit => return Ok(Next::Quit),
            Entry::Help => println!("{}", help()),
            Entry::List => super::write_named_queries(&mut std::io::stdout().lock(), "  ")?,
            Entry::Tables => self.result(TABLES, &[])?,
            Entry::Schema(name) => self.schema(name)?,
            Entry::Mode(mode) => self.mode = mode,
            Entry::MaxRows(rows) => self.max_rows = rows,
            Entry::Output(None) => self.output = None,
            Entry::Output(Some(path)) => {
                // As in DuckDB's CLI: the file before is closed even if this one cannot be
                // opened, so results then print on the screen, as the error says.
                self.output = None;
                if same_file(&path, self.warehouse.path()) {
                    return Err(PromptError::OutputIsWarehouse {
                        path: path.display().to_string(),
                    });
                }
                self.output = Some(Appended::open(&path)?);
            }
            Entry::Timer(on) => self.timer = on,
            Entry::Read(path) => return self.read(&path),
            Entry::Invalid(e) => return Err(e.into()),
            Entry::Named { name, params } => {
                let query = named_query(&name).map_err(Error::from)?;
                let bound = query.bind(&params).map_err(Error::from)?;
                self.warehouse
                    .ready_for::<Error>(query, &bound, MissingDate::Refuse)?;
                self.timed(|s| s.result(query.sql, &bound))?;
            }
            Entry::Sql(sql) => {
                for one in statements(&sql) {
                    self.timed(|s| s.result(one, s.free))?;
                }
            }
        }
        Ok(Next::Go)
    }

    /// Run `statement`, then say how long it took if `.timer` is on.
    fn timed(
        &mut self,
        statement: impl FnOnce(&mut Self) -> Result<(), PromptError>,
    ) -> Result<(), PromptError> {
        let started = Instant::now();
        statement(self)?;
        if self.timer {
            println!("Run Time: {:.3} s", started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// One statement's result in the current mode: on the screen, or appended to `.output`'s
    /// file.
    fn result(&mut self, sql: &str, bindings: &[Binding]) -> Result<(), PromptError> {
        let (mode, max_rows, warehouse) = (self.mode, self.max_rows, self.warehouse);
        match &mut self.output {
            None => {
                warehouse
                    .query_each(sql, bindings, |batches| to_screen(batches, mode, max_rows))?;
            }
            Some(file) => {
                let written = file.append(|path| {
                    warehouse.query_each(sql, bindings, |batches| to_file(batches, mode, path))
                })?;
                println!(
                    "({} written to {})",
                    rows(written.rows),
                    file.path.display()
                );
            }
        }
        Ok(())
    }

    /// `.schema [NAME]`: the CREATE statements, one a line, where results go.
    fn schema(&mut self, name: Option<String>) -> Result<(), PromptError> {
        let bindings: Vec<Binding> = name
            .iter()
            .map(|n| Binding {
                name: "schema_name".into(),
                value: Value::Text(n.clone()),
            })
            .collect();
        let text: String = strings(&self.warehouse.query(SCHEMA, &bindings)?)
            .into_iter()
            .map(|sql| format!("{sql}\n"))
            .collect();
        if let Some(name) = name
            && text.is_empty()
        {
            return Err(PromptError::NoSuchTable { name });
        }
        match &mut self.output {
            None => {
                print!("{text}");
                std::io::stdout().flush().map_err(screen_error)?;
            }
            Some(file) => file.append(|path| {
                std::fs::write(path, &text).map_err(|source| Error::Io {
                    context: format!("cannot write {}", path.display()),
                    source,
                })
            })?,
        }
        Ok(())
    }

    /// `.read FILE`: its lines as if typed, until one fails.
    fn read(&mut self, path: &Path) -> Result<Next, PromptError> {
        let shown = || path.display().to_string();
        if self.reading >= MAX_READ_DEPTH {
            return Err(PromptError::TooDeep { path: shown() });
        }
        let text = std::fs::read_to_string(path).map_err(|source| PromptError::Read {
            path: shown(),
            source,
        })?;
        self.reading += 1;
        let next = self.lines(&shown(), &text);
        self.reading -= 1;
        next
    }

    fn lines(&mut self, path: &str, text: &str) -> Result<Next, PromptError> {
        let mut input = Input::default();
        // The line the entry under way began on, which an error names.
        let mut begun = 1;
        for (i, line) in text.lines().enumerate() {
            if !input.continuing() {
                begun = i + 1;
            }
            match self.entry(input.feed(line)) {
                Ok(Next::Go) => {}
                Ok(Next::Quit) => return Ok(Next::Quit),
                Err(e) => {
                    return Err(PromptError::InFile {
                        path: path.to_string(),
                        line: begun,
                        source: Box::new(e),
                    });
                }
            }
        }
        if input.continuing() {
            return Err(PromptError::Unfinished {
                path: path.to_string(),
                line: begun,
            });
        }
        Ok(Next::Go)
    }
}

/// A count of rows as the prompt says it: `1 row`, `1,234 rows`.
fn rows(n: u64) -> String {
    format!("{} row{}", thousands(n), if n == 1 { "" } else { "s" })
}

fn screen_error(e: std::io::Error) -> Error {
    OutputError::Io(e).into()
}

/// A result on the screen: a table fitted to the terminal, at most `max_rows` rows, and its
/// row count when all are shown; every row in the other modes.
fn to_screen(batches: Batches<'_>, mode: Mode, max_rows: usize) -> Result<(), Error> {
    let schema = batches.schema();
    match mode {
        Mode::Table => {
            let look = TableLook {
                max_rows,
                width: terminal_width(),
                hints: Hints::Prompt,
            };
            let mut out = std::io::stdout().lock();
            let written = write_table(&mut out, schema, batches, look)?;
            if written.shown == written.rows {
                writeln!(out, "({})", rows(written.rows)).map_err(screen_error)?;
            }
        }
        Mode::Line => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            write_lines(&mut out, schema, batches)?;
            out.flush().map_err(screen_error)?;
        }
        Mode::Csv => drop(write_stream(schema, batches, Format::Csv, 0, None)?),
        Mode::Json => drop(write_stream(schema, batches, Format::Json, 0, None)?),
        Mode::Jsonl => drop(write_stream(schema, batches, Format::Jsonl, 0, None)?),
    }
    std::io::stdout().flush().map_err(screen_error)
}

/// A result for `.output`, written whole to the scratch file `path`: every row, never fitted.
fn to_file(batches: Batches<'_>, mode: Mode, path: &Path) -> Result<Written, Error> {
    let schema = batches.schema();
    let create = || {
        File::create(path)
            .map(BufWriter::new)
            .map_err(|source| Error::Io {
                context: format!("cannot create {}", path.display()),
                source,
            })
    };
    let finish =
        |mut out: BufWriter<File>| out.flush().map_err(|e| Error::from(OutputError::Io(e)));
    match mode {
        Mode::Table => {
            let mut out = create()?;
            let look = TableLook {
                max_rows: 0,
                width: None,
                hints: Hints::Prompt,
            };
            let written = write_table(&mut out, schema, batches, look)?;
            finish(out)?;
            Ok(written)
        }
        Mode::Line => {
            let mut out = create()?;
            let written = write_lines(&mut out, schema, batches)?;
            finish(out)?;
            Ok(written)
        }
        Mode::Csv => write_stream(schema, batches, Format::Csv, 0, Some(path)),
        Mode::Json => write_stream(schema, batches, Format::Json, 0, Some(path)),
        Mode::Jsonl => write_stream(schema, batches, Format::Jsonl, 0, Some(path)),
    }
}

/// `.mode line`, as DuckDB's CLI prints it: one `column = value` line per column, the names
/// right-aligned, a blank line between rows; values as the table prints them (nulls empty).
pub fn write_lines<E>(
    out: &mut impl Write,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, E>>,
) -> Result<Written>
where
    Error: From<E>,
{
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let width = names.iter().map(|n| n.width()).max().unwrap_or(0);
    let options = FormatOptions::default();
    let mut count = 0u64;
    for batch in batches {
        let batch = printable(&batch?).map_err(OutputError::from)?;
        let values = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(OutputError::from)?;
        for row in 0..batch.num_rows() {
            if count > 0 {
                writeln!(out).map_err(OutputError::from)?;
            }
            for (name, value) in names.iter().zip(&values) {
                let pad = width - name.width();
                writeln!(out, "{:pad$}{name} = {}", "", value.value(row))
                    .map_err(OutputError::from)?;
            }
            count += 1;
        }
    }
    Ok(Written {
        rows: count,
        shown: count,
    })
}

/// `.output`'s file: emptied when named, then each result appended to it whole. A result is
/// rendered into a scratch file first and only then appended, so one that fails midway (an
/// error from DuckDB) leaves the file as it was; an append that fails midway (a full disk) is
/// cut back off. Each appended result is synced to disk.
struct Appended {
    path: PathBuf,
    file: File,
    /// A regular file, whose length can be cut back; not a FIFO or a terminal.
    regular: bool,
}

impl Appended {
    fn open(path: &Path) -> Result<Self, PromptError> {
        let file = File::create(path).map_err(|source| PromptError::OpenOutput {
            path: path.display().to_string(),
            source,
        })?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        Ok(Self {
            path: path.to_path_buf(),
            file,
            regular,
        })
    }

    /// Render one result with `render`, into the scratch file it is given, then append it.
    fn append<T>(
        &mut self,
        render: impl FnOnce(&Path) -> Result<T, Error>,
    ) -> Result<T, PromptError> {
        let scratch = self.scratch()?;
        let rendered = scratch.path().join("result");
        let value = render(&rendered)?;
        let failed = |source| PromptError::Append {
            path: self.path.display().to_string(),
            source,
        };
        if !self.regular {
            let mut from = File::open(&rendered).map_err(failed)?;
            std::io::copy(&mut from, &mut self.file).map_err(failed)?;
            return Ok(value);
        }
        let start = self.file.seek(SeekFrom::End(0)).map_err(failed)?;
        let appended = File::open(&rendered)
            .and_then(|mut from| std::io::copy(&mut from, &mut self.file))
            .and_then(|_| self.file.sync_data());
        if let Err(source) = appended {
            // Best effort: the error says what happened, whether or not the cut succeeds.
            let _ = self
                .file
                .set_len(start)
                .and_then(|()| self.file.seek(SeekFrom::Start(start)));
            return Err(failed(source));
        }
        Ok(value)
    }

    /// Where a result is rendered: beside the file, on the disk that must hold it anyway (a
    /// large result could fill a temporary directory in memory), else in the temporary
    /// directory (the file is a device, or its directory is not writable).
    fn scratch(&self) -> Result<tempfile::TempDir, PromptError> {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let beside = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let prefix = format!(".{}.", name.chars().take(100).collect::<String>());
        let builder = {
            let mut b = tempfile::Builder::new();
            b.prefix(&prefix);
            b
        };
        if self.regular
            && let Ok(dir) = builder.tempdir_in(beside)
        {
            return Ok(dir);
        }
        builder.tempdir().map_err(|source| PromptError::Scratch {
            path: self.path.display().to_string(),
            source,
        })
    }
}

/// The first column of `batches` as text (nulls left out).
fn strings(batches: &[RecordBatch]) -> Vec<String> {
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
        assert_eq!(
            input.feed("top_movers region=\"kr"),
            Entry::Invalid(EntryError::Unclosed { quote: '"' })
        );
        assert!(!input.continuing());
        // Not a named query: SQL.
        assert_eq!(input.feed("top_mover region=kr"), Entry::More);
    }

    #[test]
    fn dot_commands_with_good_arguments() {
        let mut input = Input::default();
        for (line, entry) in [
            (".help", Entry::Help),
            (".h", Entry::Help),
            (" .list ", Entry::List),
            (".tables", Entry::Tables),
            (".tables;", Entry::Tables),
            (".quit", Entry::Quit),
            (".exit", Entry::Quit),
            (".schema", Entry::Schema(None)),
            (".schema chart", Entry::Schema(Some("chart".into()))),
            (".schema chart;", Entry::Schema(Some("chart".into()))),
            (".schema \"My View\"", Entry::Schema(Some("My View".into()))),
            (".mode table", Entry::Mode(Mode::Table)),
            (".mode csv", Entry::Mode(Mode::Csv)),
            (".mode JSON", Entry::Mode(Mode::Json)),
            (".mode jsonl", Entry::Mode(Mode::Jsonl)),
            (".mode line", Entry::Mode(Mode::Line)),
            (".maxrows 2", Entry::MaxRows(2)),
            (".maxrows 0", Entry::MaxRows(0)),
            (".output", Entry::Output(None)),
            (".output out.csv", Entry::Output(Some("out.csv".into()))),
            (
                ".output '/tmp/my results.csv'",
                Entry::Output(Some("/tmp/my results.csv".into())),
            ),
            (".timer on", Entry::Timer(true)),
            (".timer OFF", Entry::Timer(false)),
            (".read q.sql", Entry::Read("q.sql".into())),
        ] {
            assert_eq!(input.feed(line), entry, "{line}");
            assert!(!input.continuing(), "{line}");
        }
    }

    #[test]
    fn dot_commands_with_bad_arguments_say_what_to_type() {
        let mut input = Input::default();
        for (line, error) in [
            (".drop", "no command .drop; .help lists the commands"),
            (".quit now", ".quit takes nothing after it"),
            (".tables chart", ".tables takes nothing after it"),
            (".help me", ".help takes nothing after it"),
            (
                ".schema chart videos",
                ".schema takes one argument, not 2 (quote one with spaces); usage: \
                 .schema [NAME]",
            ),
            (
                ".mode",
                ".mode needs an argument; usage: .mode table|csv|json|jsonl|line",
            ),
            (
                ".mode parquet",
                ".mode cannot take \"parquet\"; usage: .mode table|csv|json|jsonl|line",
            ),
            (".maxrows", ".maxrows needs an argument; usage: .maxrows N"),
            (
                ".maxrows -1",
                ".maxrows cannot take \"-1\"; usage: .maxrows N",
            ),
            (
                ".maxrows ten",
                ".maxrows cannot take \"ten\"; usage: .maxrows N",
            ),
            (
                ".output a b",
                ".output takes one argument, not 2 (quote one with spaces); usage: \
                 .output [FILE]",
            ),
            (".output \"a", "a \" is not closed"),
            (".timer", ".timer needs an argument; usage: .timer on|off"),
            (
                ".timer yes",
                ".timer cannot take \"yes\"; usage: .timer on|off",
            ),
            (".read", ".read needs an argument; usage: .read FILE"),
        ] {
            match input.feed(line) {
                Entry::Invalid(e) => assert_eq!(e.to_string(), error, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
            assert!(!input.continuing(), "{line}");
        }
    }

    #[test]
    fn a_comment_line_holds_nothing_back() {
        let mut input = Input::default();
        assert_eq!(input.feed("-- the day's movers"), Entry::Nothing);
        assert!(!input.continuing());
        assert_eq!(input.feed(".mode csv"), Entry::Mode(Mode::Csv));
        // An open block comment or string goes on to the next line.
        assert_eq!(input.feed("/* a"), Entry::More);
        assert_eq!(input.feed(".mode csv */"), Entry::Nothing);
        assert_eq!(input.feed("SELECT '-- no"), Entry::More);
        assert_eq!(input.feed("';"), Entry::Sql("SELECT '-- no\n';".into()));
        assert_eq!(input.feed("SELECT 1 -- one"), Entry::More);
        assert_eq!(input.feed(";"), Entry::Sql("SELECT 1 -- one\n;".into()));
    }

    #[test]
    fn help_lists_every_command() {
        let text = help();
        for c in COMMANDS {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(c.usage) && l.ends_with(c.does)),
                "{}: {text}",
                c.name
            );
        }
        assert!(text.contains(".exit"), "{text}");
        // Every command `.help` lists is one the prompt takes.
        let mut input = Input::default();
        for c in COMMANDS {
            assert!(
                !matches!(
                    input.feed(c.name),
                    Entry::Invalid(EntryError::Unknown { .. })
                ),
                "{}",
                c.name
            );
        }
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
            complete(".", false, &n).1,
            [
                ".exit", ".help", ".list", ".maxrows", ".mode", ".output", ".quit", ".read",
                ".schema", ".tables", ".timer"
            ]
        );
        assert_eq!(
            complete(".m", false, &n).1,
            [".maxrows".to_string(), ".mode".into()]
        );
        // A dot command's argument.
        assert_eq!(
            complete(".schema cha", false, &n),
            (8, vec!["chart".to_string(), "chart_entries".into()])
        );
        assert_eq!(
            complete(".mode js", false, &n),
            (6, vec!["json".to_string(), "jsonl".into()])
        );
        assert_eq!(complete(".timer o", false, &n).1, ["on", "off"]);
        assert_eq!(complete(".timer on ", false, &n).1, Vec::<String>::new());
        assert_eq!(complete(".read q", false, &n).1, Vec::<String>::new());
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
    fn line_mode_is_one_column_a_line_names_aligned_rows_apart() {
        use arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
        use std::sync::Arc;
        let batch = RecordBatch::try_from_iter([
            (
                "region",
                Arc::new(StringArray::from(vec!["JP", "KR"])) as ArrayRef,
            ),
            (
                "view_count",
                Arc::new(Int64Array::from(vec![Some(1234), None])) as ArrayRef,
            ),
            (
                "snapshot_date",
                Arc::new(Date32Array::from(vec![20_417, 20_418])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut out = Vec::new();
        let written = write_lines(
            &mut out,
            batch.schema(),
            [Ok::<_, Error>(batch.slice(0, 1)), Ok(batch.slice(1, 1))],
        )
        .unwrap();
        assert_eq!(written, Written { rows: 2, shown: 2 });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "       region = JP\n   view_count = 1234\nsnapshot_date = 2025-11-25\n\n\
             \x20      region = KR\n   view_count = \nsnapshot_date = 2025-11-26\n"
        );
        let mut out = Vec::new();
        let empty = RecordBatch::new_empty(batch.schema());
        write_lines(&mut out, batch.schema(), [Ok::<_, Error>(empty)]).unwrap();
        assert!(out.is_empty(), "no rows, no lines");
    }

    #[test]
    fn output_appends_whole_results_and_keeps_the_file_as_it_was_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "an old file\n").unwrap();
        let mut out = Appended::open(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "emptied");
        let write = |text: &'static str| {
            move |p: &Path| {
                std::fs::write(p, text).unwrap();
                Ok::<_, Error>(text.len())
            }
        };
        assert_eq!(out.append(write("a\n1\n")).unwrap(), 4);
        out.append(write("b\n2\n")).unwrap();
        // A result that fails midway: what it had written is not appended.
        let err = out
            .append(|p: &Path| -> Result<(), Error> {
                std::fs::write(p, "c\n3\n").unwrap();
                Err(Error::Usage("the query failed midway".into()))
            })
            .unwrap_err();
        assert!(err.to_string().contains("midway"), "{err}");
        out.append(write("d\n4\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a\n1\nb\n2\nd\n4\n"
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["out.csv"], "no scratch directory left beside it");
        // A file that cannot be created: the error names it and what to check.
        let bad = dir.path().join("no/such/dir/out.csv");
        let err = Appended::open(&bad).err().unwrap().to_string();
        assert!(
            err.contains(&bad.display().to_string()) && err.contains("results print on the screen"),
            "{err}"
        );
    }

    #[test]
    fn the_history_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let path = dir.path().join("state/trendlake/query_history");
        private_history(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        // One others could read is made private; its entries are kept.
        std::fs::write(&path, "SELECT 1;\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_history(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "SELECT 1;\n");
    }

    #[test]
    fn history_lives_under_xdg_state_home_or_home() {
        // Only the shape: the environment is the test runner's.
        if let Some(p) = history_path() {
            assert!(p.ends_with("trendlake/query_history"), "{}", p.display());
        }
    }
}
