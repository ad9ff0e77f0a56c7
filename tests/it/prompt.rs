//! The interactive prompt as an analyst expects it, like DuckDB's CLI: dot
//! commands (`.schema`, `.mode`, `.maxrows`, `.output`, `.timer`, `.read`, `.help`), the row
//! note naming the dot commands, tables fitted to the terminal's width, a private history.
//! Driven on a pseudo-terminal by util-linux's `script` (see `query_formats::Terminal`), whose
//! terminal has no size: `COLUMNS` gives the width.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use unicode_width::UnicodeWidthStr;

use crate::query_formats::{MORE, PROMPT, Terminal, demo_warehouse, empty_warehouse, query_args};
use crate::support::*;

/// The terminal's text without its escape sequences (rustyline's bracketed paste and
/// synchronized output) and carriage returns.
fn plain(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                // Parameters and intermediates, up to the final byte (`@` to `~`).
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// What an entry printed: the terminal's text after the echo of the line typed.
fn printed(shown: &str) -> String {
    let text = plain(shown);
    text.split_once('\n')
        .map_or(String::new(), |(_, rest)| rest.to_string())
}

/// Start the prompt on `warehouse`, `COLUMNS` wide, its state (history) under `state`.
fn prompt(warehouse: &Path, state: &Path, columns: usize) -> Terminal {
    let env = [
        ("XDG_STATE_HOME".to_string(), state.display().to_string()),
        ("COLUMNS".to_string(), columns.to_string()),
    ];
    let mut t = Terminal::start(&query_args(warehouse, &[]), &env);
    t.expect(PROMPT);
    t
}

/// Type `line` and return what it printed.
#[track_caller]
fn run(t: &mut Terminal, line: &str) -> String {
    // rustyline takes `script`'s unsized terminal for 80 columns and redraws a longer line,
    // prompt and all, which would end the wait for the prompt early.
    assert!(
        PROMPT.len() + line.chars().count() < 80,
        "split {line:?} over lines of less than 69 characters"
    );
    printed(&t.type_line(line, PROMPT))
}

fn quit(mut t: Terminal) {
    t.type_line(".quit", "\n");
    let status = t.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", t.seen.lock().unwrap());
}

/// `SELECT sql FROM …` of the warehouse, read by DuckDB itself.
fn definitions(warehouse: &Path, sql: &str) -> Vec<String> {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let conn = duckdb::Connection::open_with_flags(warehouse, config).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_modes_row_limits_timer_help_and_a_private_history() {
    let s = Scratch::new();
    let wh = demo_warehouse(&s, 2, "JP,KR").await;
    let chart = definitions(
        &wh,
        "SELECT sql FROM duckdb_views() WHERE view_name = 'chart' AND NOT internal",
    );
    assert_eq!(chart.len(), 1);
    assert!(chart[0].starts_with("CREATE VIEW chart AS"), "{}", chart[0]);
    let tables = definitions(
        &wh,
        "SELECT sql FROM duckdb_tables() WHERE NOT internal ORDER BY table_name",
    );
    let views = definitions(
        &wh,
        "SELECT sql FROM duckdb_views() WHERE NOT internal ORDER BY view_name",
    );
    assert!(tables.len() >= 5 && !views.is_empty());
    let state = s.dir.path().join("state");
    let mut t = prompt(&wh, &state, 200);

    // `.schema chart`: the view's definition, as DuckDB holds it; in any case.
    assert_eq!(run(&mut t, ".schema chart"), format!("{}\n", chart[0]));
    assert_eq!(run(&mut t, ".schema CHART;"), format!("{}\n", chart[0]));
    // `.schema`: every table's, then every view's.
    let all: String = tables
        .iter()
        .chain(&views)
        .map(|d| format!("{d}\n"))
        .collect();
    assert_eq!(run(&mut t, ".schema"), all);
    assert_eq!(
        run(&mut t, ".schema nope"),
        "error: no table or view \"nope\" in the warehouse; .tables lists them\n"
    );
    // It goes where results go: `.output` saves the DDL.
    let ddl = s.dir.path().join("chart.sql");
    run(&mut t, &format!(".output {}", ddl.display()));
    run(&mut t, ".schema chart");
    run(&mut t, ".output");
    assert_eq!(
        std::fs::read_to_string(&ddl).unwrap(),
        format!("{}\n", chart[0])
    );

    // `.mode`: the results that follow.
    const COUNTS: &str = "SELECT region, count(*) n FROM chart_entries GROUP BY 1 ORDER BY 1;";
    assert_eq!(run(&mut t, ".mode csv"), "");
    assert_eq!(run(&mut t, COUNTS), "region,n\nJP,400\nKR,400\n");
    assert_eq!(run(&mut t, ".mode line"), "");
    assert_eq!(
        run(&mut t, COUNTS),
        "region = JP\n     n = 400\n\nregion = KR\n     n = 400\n"
    );
    run(&mut t, ".mode json");
    assert_eq!(
        run(&mut t, COUNTS),
        "[{\"region\":\"JP\",\"n\":400},{\"region\":\"KR\",\"n\":400}]\n"
    );
    run(&mut t, ".mode jsonl");
    assert_eq!(
        run(&mut t, COUNTS),
        "{\"region\":\"JP\",\"n\":400}\n{\"region\":\"KR\",\"n\":400}\n"
    );
    // A named query prints in the mode too.
    let movers = run(&mut t, "top_movers region=kr limit=2");
    assert_eq!(movers.lines().count(), 2, "{movers}");
    assert!(movers.lines().all(|l| l.starts_with('{')), "{movers}");
    assert_eq!(
        run(&mut t, ".mode xml"),
        "error: .mode cannot take \"xml\"; usage: .mode table|csv|json|jsonl|line\n"
    );
    run(&mut t, ".mode table");

    // `.maxrows`: the table's row limit, and the note names it (flags cannot change here).
    assert_eq!(run(&mut t, ".maxrows 2"), "");
    assert_eq!(
        run(&mut t, "SELECT * FROM range(5) t(n);"),
        "+---+\n| n |\n+---+\n| 0 |\n| 1 |\n+---+\n\
         (2 of 5 rows shown; .maxrows 0 shows all, or .mode csv, or .output FILE)\n"
    );
    run(&mut t, ".maxrows 0");
    assert_eq!(
        run(&mut t, "SELECT * FROM range(3) t(n);"),
        "+---+\n| n |\n+---+\n| 0 |\n| 1 |\n| 2 |\n+---+\n(3 rows)\n"
    );

    // `.timer on`: each statement's run time after its result.
    run(&mut t, ".timer on");
    let timed = run(&mut t, "SELECT 1 AS one; SELECT 2 AS two;");
    let times: Vec<&str> = timed
        .lines()
        .filter(|l| l.starts_with("Run Time: "))
        .collect();
    assert_eq!(times.len(), 2, "{timed}");
    for line in &times {
        let seconds = line
            .strip_prefix("Run Time: ")
            .and_then(|l| l.strip_suffix(" s"))
            .unwrap();
        assert_eq!(seconds.split_once('.').unwrap().1.len(), 3, "{line}");
        assert!(seconds.parse::<f64>().unwrap() < 30.0, "{line}");
    }
    assert!(
        timed.starts_with("+-----+\n| one |\n+-----+\n| 1   |\n+-----+\n(1 row)\nRun Time: "),
        "{timed}"
    );
    run(&mut t, ".timer off");
    assert!(!run(&mut t, "SELECT 1 AS one;").contains("Run Time"));

    // `.help` lists every command; an unknown one names `.help`.
    let help = run(&mut t, ".help");
    let listed: Vec<&str> = help
        .lines()
        .filter_map(|l| l.strip_prefix("  ."))
        .map(|l| l.split([' ', ',']).next().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "tables", "schema", "mode", "maxrows", "output", "timer", "read", "list", "help",
            "quit"
        ],
        "{help}"
    );
    assert!(help.contains(".quit, .exit"), "{help}");
    assert_eq!(
        run(&mut t, ".drop table chart"),
        "error: no command .drop; .help lists the commands\n"
    );
    quit(t);

    // The history: its directory made 0700, the file 0600, every entry in it.
    let history = state.join("trendlake/query_history");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&history), 0o600);
    assert_eq!(mode(history.parent().unwrap()), 0o700);
    assert_eq!(mode(&state), 0o700);
    let kept = std::fs::read_to_string(&history).unwrap();
    for entry in [
        ".schema chart",
        ".mode line",
        ".maxrows 2",
        ".timer on",
        ".quit",
    ] {
        assert!(kept.lines().any(|l| l == entry), "{entry}: {kept}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_sends_the_results_that_follow_to_a_file_and_back() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let mut t = prompt(&wh, &s.dir.path().join("state"), 200);
    let file = s.dir.path().join("results.csv");
    std::fs::write(&file, "what was there before\n").unwrap();
    let f = file.display().to_string();

    assert_eq!(run(&mut t, &format!(".output {f}")), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "", "emptied");
    run(&mut t, ".mode csv");
    assert_eq!(
        run(&mut t, "SELECT 1 AS a;"),
        format!("(1 row written to {f})\n")
    );
    assert_eq!(
        run(&mut t, "SELECT 2 AS b UNION ALL SELECT 3 ORDER BY 1;"),
        format!("(2 rows written to {f})\n")
    );
    // A query failing after its first batches were written: none of it reaches the file.
    t.type_line(
        "SELECT CAST(CASE WHEN range < 5000 THEN '1' ELSE 'x' END",
        MORE,
    );
    let failed = run(&mut t, "  AS INTEGER) AS c FROM range(10000);");
    assert!(failed.starts_with("error: "), "{failed}");
    assert!(!failed.contains("written to"), "{failed}");
    // The mode of each result, and every row of a table (the row limit is the screen's).
    run(&mut t, ".mode line");
    run(&mut t, "SELECT 4 AS d;");
    run(&mut t, ".mode table");
    run(&mut t, ".maxrows 1");
    assert_eq!(
        run(&mut t, "SELECT * FROM range(5, 7) t(e);"),
        format!("(2 rows written to {f})\n")
    );
    // `.output` alone: back to the screen.
    assert_eq!(run(&mut t, ".output"), "");
    assert_eq!(
        run(&mut t, "SELECT 6 AS f;"),
        "+---+\n| f |\n+---+\n| 6 |\n+---+\n(1 row)\n"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a\n1\nb\n2\n3\nd = 4\n+---+\n| e |\n+---+\n| 5 |\n| 6 |\n+---+\n"
    );
    // A file that cannot be opened: the screen, as the error says.
    let bad = s.dir.path().join("no/such/dir/x.csv");
    assert_eq!(
        run(&mut t, &format!(".output {}", bad.display())),
        format!(
            "error: cannot open .output {}: No such file or directory (os error 2); results \
             print on the screen until .output names a file whose directory exists and is \
             writable\n",
            bad.display()
        )
    );
    assert!(run(&mut t, "SELECT 7 AS g;").contains("| 7 |"));
    // Never the warehouse itself, which `.output` would empty.
    let size = std::fs::metadata(&wh).unwrap().len();
    assert_eq!(
        run(&mut t, &format!(".output {}", wh.display())),
        format!(
            "error: .output {} is the warehouse itself, which it would empty; results print \
             on the screen until .output names another file\n",
            wh.display()
        )
    );
    assert_eq!(std::fs::metadata(&wh).unwrap().len(), size);
    assert!(run(&mut t, "SELECT 8 AS h;").contains("| 8 |"));
    quit(t);
    let mut left: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    left.sort();
    assert!(left.is_empty(), "no scratch left beside the file: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_runs_a_file_of_statements_as_if_typed() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let mut t = prompt(&wh, &s.dir.path().join("state"), 200);
    let file = |name: &str, text: &str| {
        let path = s.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };

    let two = file(
        "two.sql",
        "-- two statements, in CSV\n.mode csv\nSELECT 'read' AS source;\nSELECT 41 + 1\n  AS answer;\n-- the end\n",
    );
    assert_eq!(
        run(&mut t, &format!(".read {two}")),
        "source\nread\nanswer\n42\n"
    );
    // An error stops the file, naming it and the line.
    let failing = file(
        "failing.sql",
        "SELECT 1 AS first;\nSELECT nope\n  FROM range(1);\nSELECT 3 AS third;\n",
    );
    let shown = run(&mut t, &format!(".read {failing}"));
    assert!(
        shown.starts_with(&format!("first\n1\nerror: {failing} line 2: "))
            && shown.contains("Binder Error: Referenced column \"nope\" not found"),
        "{shown}"
    );
    assert!(!shown.contains("third"), "{shown}");
    let unfinished = file("unfinished.sql", "SELECT 1 AS one;\nSELECT 2\n");
    assert_eq!(
        run(&mut t, &format!(".read {unfinished}")),
        format!(
            "one\n1\nerror: {unfinished} ends inside the statement begun on line 2; end it with `;`\n"
        )
    );
    let itself = file("itself.sql", "");
    std::fs::write(&itself, format!(".read {itself}\n")).unwrap();
    let shown = run(&mut t, &format!(".read {itself}"));
    assert!(
        shown.starts_with(&format!("error: {itself} line 1: {itself} line 1: "))
            && shown.ends_with(&format!(
                ".read {itself}: files read one another more than 16 deep; does one read itself?\n"
            )),
        "{shown}"
    );
    assert_eq!(
        run(&mut t, ".read /no/such/file.sql"),
        "error: cannot read .read /no/such/file.sql: No such file or directory (os error 2)\n"
    );
    // The prompt goes on, in the mode the file left.
    assert_eq!(run(&mut t, "SELECT 5 AS five;"), "five\n5\n");
    quit(t);
}

/// Six columns, four of them 20 wide: 101 terminal columns as a whole table.
const WIDE: [&str; 3] = [
    "SELECT 1 AS a, repeat('b', 20) AS b,",
    "repeat('c', 20) AS c, repeat('d', 20) AS d,",
    "repeat('e', 20) AS e, 2 AS f;",
];

/// `WIDE` fitted to 60 columns: the first two and the last two whole, a `…` column for the
/// middle ones.
const WIDE_AT_60: &str = "\
+---+----------------------+---+----------------------+---+
| a | b                    | … | e                    | f |
+---+----------------------+---+----------------------+---+
| 1 | bbbbbbbbbbbbbbbbbbbb | … | eeeeeeeeeeeeeeeeeeee | 2 |
+---+----------------------+---+----------------------+---+
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_table_is_fitted_to_the_terminal() {
    let s = Scratch::new();
    let wh = demo_warehouse(&s, 1, "JP").await;
    let mut t = prompt(&wh, &s.dir.path().join("state"), 60);

    t.type_line(WIDE[0], MORE);
    t.type_line(WIDE[1], MORE);
    assert_eq!(
        run(&mut t, WIDE[2]),
        format!("{WIDE_AT_60}(4 of 6 columns shown; .mode line shows all)\n(1 row)\n")
    );
    // The note's way to see them all.
    run(&mut t, ".mode line");
    t.type_line(WIDE[0], MORE);
    t.type_line(WIDE[1], MORE);
    assert_eq!(
        run(&mut t, WIDE[2]),
        format!(
            "a = 1\nb = {}\nc = {}\nd = {}\ne = {}\nf = 2\n",
            "b".repeat(20),
            "c".repeat(20),
            "d".repeat(20),
            "e".repeat(20)
        )
    );
    run(&mut t, ".mode table");

    // The chart, every column of it: no line wider than the terminal.
    let columns = definitions(&wh, "SELECT column_name FROM (DESCRIBE chart)");
    assert!(columns.len() > 10, "{columns:?}");
    let shown = run(&mut t, "SELECT * FROM chart ORDER BY rank LIMIT 3;");
    let table: Vec<&str> = shown
        .lines()
        .filter(|l| l.starts_with(['+', '|']))
        .collect();
    assert_eq!(table.len(), 3 + 3 + 1, "{shown}");
    for line in &table {
        assert!(line.width() <= 60, "{}: {line}\n{shown}", line.width());
    }
    assert!(table[1].contains("| … |"), "{shown}");
    assert!(
        table[1].starts_with(&format!("| {} ", columns[0])),
        "the first column kept: {shown}"
    );
    let note = shown
        .lines()
        .find(|l| l.contains("columns shown"))
        .unwrap_or_default();
    let kept = table[1].matches('|').count() - 2;
    assert_eq!(
        note,
        format!(
            "({kept} of {} columns shown; .mode line shows all)",
            columns.len()
        ),
        "{shown}"
    );
    quit(t);

    // `trendlake query SQL` on a terminal is fitted too, its note naming a flag.
    let env = [("COLUMNS".to_string(), "60".to_string())];
    let sql = WIDE.join(" ");
    let mut t = Terminal::start(&query_args(&wh, &[&sql]), &env);
    let status = t.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    t.expect("(4 of 6");
    assert_eq!(
        plain(&t.seen.lock().unwrap()),
        format!("{WIDE_AT_60}(4 of 6 columns shown; --format csv shows all)\n")
    );
}
