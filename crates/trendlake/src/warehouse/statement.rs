//! What `trendlake query` will run: statements that only read, one at a time or as a script.
//!
//! SQL is split and classified by a small lexer that knows what DuckDB's parser knows about
//! where a statement ends: whitespace, `--` and (nested) `/* */` comments, `'…'` strings (`''`
//! inside), `E'…'` strings (backslash escapes), `"…"` identifiers and `$tag$…$tag$` strings. A
//! statement is classified by its first keyword, after any opening parentheses:
//!
//! - reading: `SELECT`, `FROM …` (FROM-first), `VALUES`, `TABLE`, `DESCRIBE`, `SHOW`,
//!   `SUMMARIZE`, `PIVOT`, `UNPIVOT`; `WITH …` when every CTE body and the statement after the
//!   CTEs read (DuckDB accepts `WITH x AS (INSERT … RETURNING *) SELECT …`); `EXPLAIN …` of a
//!   statement that reads (`EXPLAIN ANALYZE` runs it; DuckDB will not even plan a write on a
//!   read-only warehouse);
//! - writing (refused, named): `INSERT`, `UPDATE`, `DELETE`, `CREATE`, `COPY`, `ATTACH`, `SET`,
//!   `PRAGMA`, `CALL`, `BEGIN` and the rest of DuckDB's statements;
//! - anything else is refused as not a reading statement.
//!
//! This is the first of three guards: the connection `trendlake query` runs on is also
//! read-only and has no access to files or the network (see `Warehouse::open_read_only`), so
//! a statement the lexer misjudged still could not change the warehouse or write a file.
//!
//! DuckDB never sees more than one statement at a time: the duckdb crate's `prepare` *executes*
//! every statement but the last. So [`check_read_only`] refuses several, and a script
//! ([`Script::check`]) is split here and every statement checked before the first runs, then each
//! is handed to DuckDB alone.

/// Why SQL was not run: exit 2, nothing touched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no SQL to run: the text holds nothing but whitespace and comments")]
    Empty,
    /// Several statements where one is run (`Warehouse::query_each`; `trendlake query` runs
    /// several as a script, and the prompt splits them).
    #[error(
        "a query here runs one statement, and this SQL holds {count} (separated by `;`); run it \
         as a script (`Warehouse::query_script`, as `trendlake query` does)"
    )]
    Several { count: usize },
    #[error(
        "trendlake query is read-only: {statement} would {effect}; the warehouse is written only \
         by `trendlake merge` (or `run`)"
    )]
    Writes {
        /// The statement as named in the message: `INSERT`, `WITH … DELETE`, `EXPLAIN ANALYZE
        /// INSERT`.
        statement: String,
        effect: &'static str,
    },
    #[error(
        "trendlake query runs only statements that read (SELECT, WITH … SELECT, FROM …, VALUES, \
         TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PIVOT, UNPIVOT); {word} is not one"
    )]
    NotReading { word: String },
    /// One statement of a script is refused, so the whole script is: none of it ran.
    #[error("{at}: {refusal}; nothing of the script ran")]
    InScript { at: Position, refusal: Box<Refusal> },
}

/// Where a statement stands in a script, as errors name it: `statement 2 of 3 (line 4)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1 for the first statement.
    pub index: usize,
    /// Statements in the script.
    pub count: usize,
    /// The line of the script the statement starts on, from 1.
    pub line: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statement {} of {} (line {})",
            self.index, self.count, self.line
        )
    }
}

/// One statement of a [`Script`]: its text (without its `;`) and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    pub text: &'a str,
    pub at: Position,
}

impl Statement<'_> {
    /// Where it stands, for an error to name: `None` in a script of one statement, whose errors
    /// read as they always have.
    pub fn position(&self) -> Option<Position> {
        (self.at.count > 1).then_some(self.at)
    }
}

/// SQL of one or more statements, each of which only reads: what `trendlake query` runs from an
/// argument, `--file` or stdin. Only [`Script::check`] makes one, so holding a script means every
/// statement in it was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script<'a> {
    statements: Vec<Statement<'a>>,
}

impl<'a> Script<'a> {
    /// Split `sql` into statements (empty ones, `;;` or comments only, left out) and check each
    /// reads. A script with any statement that would write, or is not a reading kind, is refused
    /// whole, naming that statement when there are several: nothing may run before the refusal.
    pub fn check(sql: &'a str) -> Result<Self, Refusal> {
        let lexed = lex(sql);
        let split = split(&lexed.tokens);
        let count = split.len();
        if count == 0 {
            return Err(Refusal::Empty);
        }
        let mut statements = Vec::with_capacity(count);
        for (i, toks) in split.into_iter().enumerate() {
            let (start, end) = (toks[0].start, toks[toks.len() - 1].end);
            let at = Position {
                index: i + 1,
                count,
                line: 1 + memchr::memchr_iter(b'\n', &sql.as_bytes()[..start]).count(),
            };
            let refused = match verdict(sql, toks) {
                Verdict::Reads => None,
                Verdict::Writes { statement, effect } => {
                    Some(Refusal::Writes { statement, effect })
                }
                Verdict::Other { word } => Some(Refusal::NotReading { word }),
            };
            if let Some(refusal) = refused {
                return Err(if count == 1 {
                    refusal
                } else {
                    Refusal::InScript {
                        at,
                        refusal: Box::new(refusal),
                    }
                });
            }
            statements.push(Statement {
                text: &sql[start..end],
                at,
            });
        }
        Ok(Self { statements })
    }

    /// The statements, in order.
    pub fn statements(&self) -> &[Statement<'a>] {
        &self.statements
    }

    /// How many statements, so how many results.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Never: a script holds at least one statement.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// Check that `sql` holds exactly one statement (a trailing `;` and comments are fine) and that
/// it only reads.
pub fn check_read_only(sql: &str) -> Result<(), Refusal> {
    let lexed = lex(sql);
    let statements = split(&lexed.tokens);
    match statements.len() {
        0 => Err(Refusal::Empty),
        1 => match verdict(sql, statements[0]) {
            Verdict::Reads => Ok(()),
            Verdict::Writes { statement, effect } => Err(Refusal::Writes { statement, effect }),
            Verdict::Other { word } => Err(Refusal::NotReading { word }),
        },
        count => Err(Refusal::Several { count }),
    }
}

/// The statements of `sql`, each without its `;`, empty ones (`;;`, comments only) left out.
/// A string or comment left open runs to the end, in the last statement.
pub fn statements(sql: &str) -> Vec<&str> {
    let lexed = lex(sql);
    split(&lexed.tokens)
        .into_iter()
        .map(|toks| {
            let start = toks.first().map_or(0, |t| t.start);
            let end = toks.last().map_or(0, |t| t.end);
            &sql[start..end]
        })
        .collect()
}

/// Whether `sql` is finished as a prompt reads it: it ends (comments and whitespace aside) with
/// a `;` that is not inside a string, identifier or comment.
pub fn ends_statement(sql: &str) -> bool {
    let lexed = lex(sql);
    !lexed.open
        && lexed
            .tokens
            .last()
            .is_some_and(|t| t.kind == Kind::Semicolon)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A keyword or identifier, a number or a `$1` parameter.
    Word,
    /// A `"quoted identifier"`.
    Quoted,
    /// A string literal of any kind.
    Str,
    Open,
    Close,
    Comma,
    Semicolon,
    /// Any other character.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

struct Lexed {
    tokens: Vec<Token>,
    /// A string, identifier or comment runs to the end of the text.
    open: bool,
}

fn lex(sql: &str) -> Lexed {
    let b = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut open = false;
    let mut i = 0;
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n + 1);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // DuckDB's block comments nest.
                let mut depth = 0usize;
                loop {
                    if i >= b.len() {
                        open = true;
                        break;
                    }
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => {
                (i, open) = quoted(b, i, b'\'', false);
                Kind::Str
            }
            b'"' => {
                (i, open) = quoted(b, i, b'"', false);
                Kind::Quoted
            }
            b'$' => match dollar_tag(b, i) {
                Some(tag) => {
                    let body = i + tag.len();
                    match memchr::memmem::find(&b[body..], tag) {
                        Some(n) => i = body + n + tag.len(),
                        None => {
                            i = b.len();
                            open = true;
                        }
                    }
                    Kind::Str
                }
                None => {
                    i += 1;
                    while i < b.len() && word_byte(b[i]) {
                        i += 1;
                    }
                    Kind::Word
                }
            },
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b';' => {
                i += 1;
                Kind::Semicolon
            }
            _ if word_byte(c) => {
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                // E'…': a string with backslash escapes.
                if i - start == 1 && matches!(c, b'E' | b'e') && b.get(i) == Some(&b'\'') {
                    (i, open) = quoted(b, i, b'\'', true);
                    Kind::Str
                } else {
                    Kind::Word
                }
            }
            _ => {
                // One character (all of it, when it is not ASCII: `i` stays on a boundary).
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Other
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
        if open {
            break;
        }
    }
    Lexed { tokens, open }
}

/// The end of a string or identifier opened by `quote` at `at` (a doubled quote stays inside;
/// with `backslash`, so does a backslash-escaped character), and whether it runs to the end.
fn quoted(b: &[u8], at: usize, quote: u8, backslash: bool) -> (usize, bool) {
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            q if q == quote => {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return (i + 1, false);
                }
            }
            _ => i += 1,
        }
    }
    (b.len(), true)
}

/// `$$` or `$tag$` at `at` (a tag is a letter or `_`, then letters, digits, `_`).
fn dollar_tag(b: &[u8], at: usize) -> Option<&[u8]> {
    let mut i = at + 1;
    if b.get(i).is_some_and(|c| c.is_ascii_digit()) {
        return None; // a `$1` parameter
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    (b.get(i) == Some(&b'$')).then(|| &b[at..=i])
}

/// The tokens of each non-empty statement.
fn split(tokens: &[Token]) -> Vec<&[Token]> {
    tokens
        .split(|t| t.kind == Kind::Semicolon)
        .filter(|s| !s.is_empty())
        .collect()
}

enum Verdict {
    Reads,
    Writes {
        statement: String,
        effect: &'static str,
    },
    Other {
        word: String,
    },
}

/// What a statement that starts with `word` (upper case) would do, if it writes.
fn write_effect(word: &str) -> Option<&'static str> {
    Some(match word {
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" | "UPSERT" => "change rows",
        "CREATE" | "DROP" | "ALTER" | "COMMENT" => "change the catalog",
        "COPY" | "EXPORT" => "copy data to or from files",
        "IMPORT" => "load a database from files",
        "ATTACH" | "DETACH" | "USE" => "change the attached databases",
        "INSTALL" | "UNINSTALL" | "LOAD" | "FORCE" => "install or load an extension",
        "SET" | "RESET" | "PRAGMA" => "change a setting (SELECT current_setting('name') reads one)",
        "CALL" => "call a function for its effect (SELECT * FROM f(…) reads a table function)",
        "CHECKPOINT" | "VACUUM" | "ANALYZE" => "write to the database file",
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "TRANSACTION" => {
            "control a transaction"
        }
        "PREPARE" | "EXECUTE" | "DEALLOCATE" => "prepare or run another statement",
        _ => return None,
    })
}

const READING: &[&str] = &[
    "SELECT",
    "FROM",
    "VALUES",
    "TABLE",
    "DESCRIBE",
    "DESC",
    "SHOW",
    "SUMMARIZE",
    "PIVOT",
    "UNPIVOT",
    "PIVOT_WIDER",
    "PIVOT_LONGER",
];

fn upper(sql: &str, t: &Token) -> String {
    sql[t.start..t.end].to_ascii_uppercase()
}

fn is_word(sql: &str, t: Option<&Token>, word: &str) -> bool {
    t.is_some_and(|t| t.kind == Kind::Word && sql[t.start..t.end].eq_ignore_ascii_case(word))
}

/// The index just past the group that opens at `toks[at]` (a `(`), if it closes.
fn close_of(toks: &[Token], at: usize) -> Option<usize> {
    if toks.get(at)?.kind != Kind::Open {
        return None;
    }
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(at) {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn verdict(sql: &str, toks: &[Token]) -> Verdict {
    let toks = {
        let skip = toks.iter().take_while(|t| t.kind == Kind::Open).count();
        &toks[skip..]
    };
    let Some(first) = toks.first() else {
        return Verdict::Other {
            word: "`()`".into(),
        };
    };
    if first.kind != Kind::Word {
        let text: String = sql[first.start..first.end].chars().take(20).collect();
        return Verdict::Other { word: text };
    }
    let word = upper(sql, first);
    if READING.contains(&word.as_str()) {
        return Verdict::Reads;
    }
    match word.as_str() {
        "WITH" => with(sql, &toks[1..]),
        "EXPLAIN" => explain(sql, &toks[1..]),
        _ => match write_effect(&word) {
            Some(effect) => Verdict::Writes {
                statement: word,
                effect,
            },
            None => Verdict::Other { word },
        },
    }
}

/// `WITH [RECURSIVE] name [(columns)] [USING KEY (…)] AS [NOT] [MATERIALIZED] (body), … main`:
/// every body and the main statement must read.
fn with(sql: &str, toks: &[Token]) -> Verdict {
    let written = |v: Verdict| match v {
        Verdict::Writes { statement, effect } => Verdict::Writes {
            statement: format!("WITH … {statement}"),
            effect,
        },
        other => other,
    };
    let mut i = usize::from(is_word(sql, toks.first(), "RECURSIVE"));
    loop {
        // The CTE's name.
        match toks.get(i) {
            Some(t) if matches!(t.kind, Kind::Word | Kind::Quoted) => i += 1,
            _ => return malformed(sql, toks),
        }
        if toks.get(i).is_some_and(|t| t.kind == Kind::Open) {
            match close_of(toks, i) {
                Some(next) => i = next,
                None => return malformed(sql, toks),
            }
        }
        if is_word(sql, toks.get(i), "USING") && is_word(sql, toks.get(i + 1), "KEY") {
            let Some(next) = close_of(toks, i + 2) else {
                return malformed(sql, toks);
            };
            i = next;
        }
        if !is_word(sql, toks.get(i), "AS") {
            return malformed(sql, toks);
        }
        i += 1;
        if is_word(sql, toks.get(i), "NOT") {
            i += 1;
        }
        if is_word(sql, toks.get(i), "MATERIALIZED") {
            i += 1;
        }
        let Some(next) = close_of(toks, i) else {
            return malformed(sql, toks);
        };
        match verdict(sql, &toks[i + 1..next - 1]) {
            Verdict::Reads => {}
            other => return written(other),
        }
        i = next;
        if toks.get(i).is_some_and(|t| t.kind == Kind::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    written(verdict(sql, &toks[i..]))
}

/// A `WITH` the lexer cannot follow (DuckDB will most likely reject it too): refused if any
/// word in it starts a writing statement, else left to DuckDB.
fn malformed(sql: &str, toks: &[Token]) -> Verdict {
    for t in toks.iter().filter(|t| t.kind == Kind::Word) {
        let word = upper(sql, t);
        if let Some(effect) = write_effect(&word) {
            return Verdict::Writes {
                statement: format!("WITH … {word}"),
                effect,
            };
        }
    }
    Verdict::Reads
}

/// `EXPLAIN [ANALYZE] [(options)] statement`: `EXPLAIN ANALYZE` runs the statement, so it must
/// read; plain `EXPLAIN` only plans it, but DuckDB refuses even to plan a write on a read-only
/// warehouse, so that is refused here too, with a clearer message.
fn explain(sql: &str, toks: &[Token]) -> Verdict {
    let mut i = 0;
    let mut analyze = false;
    if is_word(sql, toks.first(), "ANALYZE") || is_word(sql, toks.first(), "ANALYSE") {
        analyze = true;
        i = 1;
    }
    // `EXPLAIN (FORMAT json, ANALYZE) …`: options, unless the group is a parenthesised query.
    if let Some(next) = close_of(toks, i) {
        let inner = &toks[i + 1..next - 1];
        let starts_query = inner.first().is_some_and(|t| {
            t.kind == Kind::Open
                || (t.kind == Kind::Word && {
                    let w = upper(sql, t);
                    // `ANALYZE` starts a statement too, but here it is an option.
                    READING.contains(&w.as_str())
                        || w == "WITH"
                        || (write_effect(&w).is_some()
                            && !matches!(w.as_str(), "ANALYZE" | "ANALYSE"))
                })
        });
        if !starts_query {
            analyze |= inner
                .iter()
                .any(|t| is_word(sql, Some(t), "ANALYZE") || is_word(sql, Some(t), "ANALYSE"));
            i = next;
        }
    }
    match (analyze, verdict(sql, &toks[i..])) {
        (true, Verdict::Writes { statement, effect }) => Verdict::Writes {
            statement: format!("EXPLAIN ANALYZE {statement}"),
            effect,
        },
        (false, Verdict::Writes { statement, .. }) => Verdict::Writes {
            statement: format!("EXPLAIN {statement}"),
            effect: "plan a write, which DuckDB refuses on a read-only warehouse",
        },
        (true, other) => other,
        // Plain EXPLAIN of anything else: DuckDB says what it makes of it.
        (false, _) => Verdict::Reads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn reads(sql: &str) {
        assert_eq!(check_read_only(sql), Ok(()), "{sql}");
    }

    #[track_caller]
    fn writes(sql: &str, statement: &str) {
        match check_read_only(sql) {
            Err(Refusal::Writes { statement: s, .. }) => assert_eq!(s, statement, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn reading_statements_pass() {
        for sql in [
            "SELECT 1",
            "select 1;",
            "  \n\tSELECT 1 ; -- done\n",
            "-- a comment\nSELECT 1",
            "/* a /* nested */ comment */ SELECT 1",
            "((SELECT 1)) UNION (SELECT 2)",
            "FROM chart SELECT region",
            "FROM chart",
            "VALUES (1), (2)",
            "TABLE chart",
            "DESCRIBE chart",
            "DESCRIBE SELECT 1",
            "SHOW TABLES",
            "SHOW ALL TABLES",
            "SUMMARIZE chart",
            "PIVOT chart ON region USING count(*)",
            "UNPIVOT t ON a, b INTO NAME k VALUE v",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "WITH RECURSIVE r(n) USING KEY (n) AS (SELECT 1 UNION SELECT n + 1 FROM r) SELECT * FROM r",
            "WITH a AS MATERIALIZED (SELECT 1), \"b c\" AS NOT MATERIALIZED (FROM a) FROM \"b c\"",
            "WITH x AS (SELECT 1) (SELECT * FROM x)",
            "EXPLAIN SELECT 1",
            "EXPLAIN ANALYZE SELECT 1",
            "EXPLAIN (FORMAT json) SELECT 1",
            "EXPLAIN (SELECT 1)",
            "EXPLAIN ANALYZE WITH x AS (SELECT 1) SELECT * FROM x",
            "SELECT 'a; DROP TABLE t' AS s",
            "SELECT E'it\\'s; DROP TABLE t' AS s",
            "SELECT $$ ; DROP TABLE t $$, $tag$ $$ ; $tag$",
            "SELECT 1 AS \"; DROP TABLE t\"",
            "SELECT $1, a$b FROM t",
            "SELECT 'δ' AS ü; ",
            "SELECT 1 -- ; DROP TABLE t",
        ] {
            reads(sql);
        }
    }

    #[test]
    fn writing_statements_are_refused_and_named() {
        for (sql, statement) in [
            ("INSERT INTO t VALUES (1)", "INSERT"),
            ("insert into t values (1)", "INSERT"),
            ("UPDATE t SET a = 1", "UPDATE"),
            ("DELETE FROM t", "DELETE"),
            ("CREATE TEMP TABLE x AS SELECT 1", "CREATE"),
            ("DROP TABLE chart_entries", "DROP"),
            ("ALTER TABLE t ADD COLUMN b INT", "ALTER"),
            ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
            ("COPY t FROM '/tmp/x.csv'", "COPY"),
            ("ATTACH '/tmp/x.duckdb' AS x", "ATTACH"),
            ("DETACH x", "DETACH"),
            ("INSTALL httpfs", "INSTALL"),
            ("LOAD httpfs", "LOAD"),
            ("SET threads = 1", "SET"),
            ("RESET threads", "RESET"),
            ("PRAGMA table_info('chart')", "PRAGMA"),
            ("CALL pragma_version()", "CALL"),
            ("EXPORT DATABASE '/tmp/x'", "EXPORT"),
            ("IMPORT DATABASE '/tmp/x'", "IMPORT"),
            ("CHECKPOINT", "CHECKPOINT"),
            ("VACUUM", "VACUUM"),
            ("USE memory", "USE"),
            ("BEGIN TRANSACTION", "BEGIN"),
            ("COMMIT", "COMMIT"),
            (
                "/* SELECT */ -- SELECT\n  INSERT INTO t VALUES (1)",
                "INSERT",
            ),
            ("(INSERT INTO t VALUES (1))", "INSERT"),
            (
                "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                "WITH … INSERT",
            ),
            (
                "WITH x AS (SELECT 1), y AS (SELECT 2) DELETE FROM t",
                "WITH … DELETE",
            ),
            (
                "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x",
                "WITH … INSERT",
            ),
            (
                "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
                "EXPLAIN ANALYZE INSERT",
            ),
            ("EXPLAIN INSERT INTO t VALUES (1)", "EXPLAIN INSERT"),
            (
                "EXPLAIN (ANALYZE, FORMAT json) DELETE FROM t",
                "EXPLAIN ANALYZE DELETE",
            ),
            ("WITH x AS SELECT 1 INSERT INTO t", "WITH … INSERT"),
        ] {
            writes(sql, statement);
        }
    }

    #[test]
    fn other_statements_are_refused_as_not_reading() {
        for (sql, word) in [
            ("SELEC 1", "SELEC"),
            ("'SELECT 1'", "'SELECT 1'"),
            ("GRANT ALL ON t TO u", "GRANT"),
            ("EXPLAIN ANALYZE FOO", "FOO"),
        ] {
            assert_eq!(
                check_read_only(sql),
                Err(Refusal::NotReading { word: word.into() }),
                "{sql}"
            );
        }
    }

    #[test]
    fn one_statement_only() {
        for (sql, count) in [
            ("SELECT 1; SELECT 2", 2),
            ("SELECT 1;\nDROP TABLE t;", 2),
            ("SET threads = 1; SELECT 1; SELECT 2", 3),
        ] {
            assert_eq!(
                check_read_only(sql),
                Err(Refusal::Several { count }),
                "{sql}"
            );
        }
        for sql in ["", "  ", ";", " ; ;", "-- nothing\n", "/* x */ ;"] {
            assert_eq!(check_read_only(sql), Err(Refusal::Empty), "{sql:?}");
        }
        // Empty statements between and after do not count.
        reads("SELECT 1;;  ; -- end");
    }

    #[test]
    fn messages_say_what_and_why() {
        let e = check_read_only("INSERT INTO t VALUES (1)")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "trendlake query is read-only: INSERT would change rows; the warehouse is written \
             only by `trendlake merge` (or `run`)"
        );
        let e = check_read_only("SELECT 1; SELECT 2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one statement"), "{e}");
    }

    #[test]
    fn statements_split_where_duckdb_does() {
        assert_eq!(
            statements("SELECT 1; SELECT ';' -- x;\n ; /* ; */ FROM t;"),
            ["SELECT 1", "SELECT ';'", "FROM t"]
        );
        assert_eq!(statements("SELECT 'open;"), ["SELECT 'open;"]);
        assert!(statements(" -- \n").is_empty());
    }

    #[test]
    fn a_script_is_its_reading_statements_each_with_its_position() {
        let sql = "-- a script\nSELECT 1;\n\nFROM t\n  WHERE a = ';';; /* ; */\nVALUES (1) -- end";
        let script = Script::check(sql).unwrap();
        let at = |index, line| Position {
            index,
            count: 3,
            line,
        };
        assert_eq!(
            script.statements(),
            [
                Statement {
                    text: "SELECT 1",
                    at: at(1, 2)
                },
                Statement {
                    text: "FROM t\n  WHERE a = ';'",
                    at: at(2, 4)
                },
                Statement {
                    text: "VALUES (1)",
                    at: at(3, 6)
                },
            ]
        );
        assert_eq!(script.len(), 3);
        assert_eq!(script.statements()[1].position(), Some(at(2, 4)));
        assert_eq!(at(2, 4).to_string(), "statement 2 of 3 (line 4)");
        // One statement: no position for errors to name.
        let one = Script::check("  SELECT 1; -- done").unwrap();
        assert_eq!(one.statements()[0].text, "SELECT 1");
        assert_eq!(one.statements()[0].position(), None);
        for sql in ["", " ; ;", "-- nothing\n"] {
            assert_eq!(Script::check(sql), Err(Refusal::Empty), "{sql:?}");
        }
    }

    #[test]
    fn a_script_with_a_statement_that_does_not_read_is_refused_naming_it() {
        let e =
            Script::check("SELECT random();\n\nINSERT INTO t VALUES (1);\nSELECT 2").unwrap_err();
        assert_eq!(
            e,
            Refusal::InScript {
                at: Position {
                    index: 2,
                    count: 3,
                    line: 3
                },
                refusal: Box::new(Refusal::Writes {
                    statement: "INSERT".into(),
                    effect: "change rows"
                }),
            }
        );
        assert_eq!(
            e.to_string(),
            "statement 2 of 3 (line 3): trendlake query is read-only: INSERT would change rows; \
             the warehouse is written only by `trendlake merge` (or `run`); nothing of the script \
             ran"
        );
        // The first refused statement is the one named.
        assert!(matches!(
            Script::check("SELECT 1; GRANT x; DROP TABLE t"),
            Err(Refusal::InScript { at: Position { index: 2, .. }, refusal })
                if *refusal == Refusal::NotReading { word: "GRANT".into() }
        ));
        // A script of one statement is refused as the statement always was.
        assert_eq!(
            Script::check("DELETE FROM t;"),
            Err(Refusal::Writes {
                statement: "DELETE".into(),
                effect: "change rows"
            })
        );
    }

    #[test]
    fn a_statement_ends_with_a_semicolon_outside_strings_and_comments() {
        for (sql, done) in [
            ("SELECT 1;", true),
            ("SELECT 1; -- trailing comment", true),
            ("SELECT 1;  \n", true),
            ("SELECT 1", false),
            ("SELECT ';'", false),
            ("SELECT 'a;", false),
            ("SELECT 1 /* ; */", false),
            ("SELECT 1 /* open ;", false),
            ("SELECT $$ ; ", false),
            ("SELECT \"a;", false),
            ("SELECT 1 -- ;", false),
            ("", false),
        ] {
            assert_eq!(ends_statement(sql), done, "{sql:?}");
        }
    }

    /// The second and third guards, with the first one bypassed: what a misjudged statement
    /// could do on the connection `trendlake query` runs on.
    #[test]
    fn the_query_connection_cannot_write_even_unchecked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wh.duckdb");
        {
            let conn = duckdb::Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE t AS SELECT 1 AS a")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let conn = super::super::open_sealed(&path, "UTC").unwrap();
        let out = dir.path().join("out.csv");
        let other = dir.path().join("other.duckdb");
        for sql in [
            "INSERT INTO t VALUES (2)".to_string(),
            "CREATE TABLE u (a INT)".into(),
            "DROP TABLE t".into(),
            format!("COPY (SELECT 1) TO '{}'", out.display()),
            format!("ATTACH '{}' AS o", other.display()),
            "SET threads = 1".into(),
            "SET TimeZone = 'Asia/Tokyo'".into(),
            "SET GLOBAL TimeZone = 'Asia/Tokyo'".into(),
            "SET enable_external_access = true".into(),
            "SELECT * FROM read_csv('/etc/hostname')".into(),
            format!("EXPORT DATABASE '{}'", dir.path().join("export").display()),
            "INSTALL httpfs".into(),
        ] {
            assert!(conn.execute_batch(&sql).is_err(), "{sql} ran");
        }
        // Reading works, and so do the variables parameters are set as.
        conn.execute_batch("SET VARIABLE v = 1").unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) + getvariable('v') FROM t", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 2);
        drop(conn);
        assert!(!out.exists() && !other.exists());
        assert!(!dir.path().join("export").exists());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file is unchanged"
        );
    }
}
