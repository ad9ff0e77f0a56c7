//! `trendlake query` scripts and dates without a snapshot, black-box:
//! several statements from `--file`, stdin or the argument run in order, each result printed
//! (or the last alone with `--last`); a script that would write is refused whole before anything
//! runs; an error names its statement; and a named query asked about a date the warehouse holds
//! no snapshot of is exit 2 naming the nearest dates held, unless `--allow-empty`.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::support::*;

/// The script of three results the tests run: comments, a statement over two lines, a `;`
/// inside a string.
const SCRIPT: &str = "-- three results\n\
                      SELECT 1 AS a, 'x' AS b;\n\
                      SELECT n FROM range(3) t(n)\n  ORDER BY n;\n\
                      VALUES ('p; q'), ('r') ;\n";

/// [`SCRIPT`]'s results in CSV: each with its header, a blank line between them.
const SCRIPT_CSV: &str = "a,b\n1,x\n\nn\n0\n1\n2\n\ncol0\np; q\nr\n";

/// An empty DuckDB file: enough for SQL that reads no table.
fn empty_warehouse(s: &Scratch) -> PathBuf {
    let path = s.warehouse();
    drop(duckdb::Connection::open(&path).unwrap());
    path
}

fn args(warehouse: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "query".to_string(),
        "--warehouse".into(),
        warehouse.display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

async fn query(warehouse: &Path, extra: &[&str]) -> Output {
    trendlake(args(warehouse, extra)).await
}

/// `trendlake query EXTRA…` with `sql` piped on stdin.
fn piped(warehouse: &Path, extra: &[&str], sql: &str) -> Output {
    use std::io::Write;
    let mut child = command(&args(warehouse, extra), &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `sql` written to `name` in the scratch directory.
fn script_file(s: &Scratch, name: &str, sql: &str) -> String {
    let path = s.dir.path().join(name);
    std::fs::write(&path, sql).unwrap();
    path.display().to_string()
}

#[track_caller]
fn assert_output(out: &Output, code: i32, stdout_text: &str, stderr_text: &str) {
    assert_exit(out, code);
    assert_eq!(stdout(out), stdout_text, "stdout");
    assert_eq!(stderr(out), stderr_text, "stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_prints_each_result_in_order_from_a_file_stdin_or_the_argument() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let file = script_file(&s, "three.sql", SCRIPT);
    let out = query(&wh, &["--file", &file, "--format", "csv"]).await;
    assert_output(&out, 0, SCRIPT_CSV, "");
    // Not a terminal: CSV by default.
    assert_output(&piped(&wh, &[], SCRIPT), 0, SCRIPT_CSV, "");
    assert_output(&query(&wh, &["--", SCRIPT]).await, 0, SCRIPT_CSV, "");

    // JSON: one array a line, one per result; JSON lines: every record of every result.
    let out = query(&wh, &["--file", &file, "--format", "json"]).await;
    assert_output(
        &out,
        0,
        "[{\"a\":1,\"b\":\"x\"}]\n[{\"n\":0},{\"n\":1},{\"n\":2}]\n\
         [{\"col0\":\"p; q\"},{\"col0\":\"r\"}]\n",
        "",
    );
    let out = query(&wh, &["--file", &file, "--format", "jsonl"]).await;
    assert_output(
        &out,
        0,
        "{\"a\":1,\"b\":\"x\"}\n{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n\
         {\"col0\":\"p; q\"}\n{\"col0\":\"r\"}\n",
        "",
    );
    // Tables, a blank line between them, each cut at --max-rows.
    let out = query(
        &wh,
        &["--file", &file, "--format", "table", "--max-rows", "2"],
    )
    .await;
    assert_output(
        &out,
        0,
        "+---+---+\n| a | b |\n+---+---+\n| 1 | x |\n+---+---+\n\
         \n\
         +---+\n| n |\n+---+\n| 0 |\n| 1 |\n+---+\n\
         (2 of 3 rows shown; --max-rows 0 shows all, or --format csv)\n\
         \n\
         +------+\n| col0 |\n+------+\n| p; q |\n| r    |\n+------+\n",
        "",
    );
    // An empty result keeps its header; `--param`s are set for every statement.
    let out = query(
        &wh,
        &[
            "SELECT getvariable('who') AS who; SELECT 1 AS none WHERE false; \
             SELECT getvariable('who') || '!' AS again",
            "--param",
            "who=me",
            "--format",
            "csv",
        ],
    )
    .await;
    assert_output(&out, 0, "who\nme\n\nnone\n\nagain\nme!\n", "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_prints_only_the_last_result_and_the_others_still_run() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let file = script_file(&s, "three.sql", SCRIPT);
    let out = query(&wh, &["--file", &file, "--last", "--format", "csv"]).await;
    assert_output(&out, 0, "col0\np; q\nr\n", "");
    assert_output(&piped(&wh, &["--last"], SCRIPT), 0, "col0\np; q\nr\n", "");
    // The first statement runs, unprinted: its error (past the first batches) stops the script.
    let failing = script_file(
        &s,
        "failing.sql",
        "SELECT CASE WHEN range > 100000 THEN 'x'::INTEGER ELSE range END AS n \
         FROM range(200000);\nSELECT 2 AS b;\n",
    );
    let out = query(&wh, &["--file", &failing, "--last", "--format", "csv"]).await;
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).starts_with(&format!(
            "trendlake: error: statement 1 of 2 (line 1): warehouse {}: run the query: \
             Conversion Error",
            wh.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_would_write_is_refused_whole_before_anything_runs() {
    let s = Scratch::new();
    let wh = s.warehouse();
    {
        let conn = duckdb::Connection::open(&wh).unwrap();
        conn.execute_batch("CREATE TABLE t AS SELECT 1 AS a")
            .unwrap();
    }
    let before = std::fs::read(&wh).unwrap();
    // The first statement would print a number no one could predict: none is printed, so it
    // never ran.
    let sql = "SELECT random() AS r;\n\nINSERT INTO t VALUES (2);\nSELECT 3 AS c;\n";
    let refusal = "trendlake: error: statement 2 of 3 (line 3): trendlake query is read-only: \
                   INSERT would change rows; the warehouse is written only by `trendlake merge` \
                   (or `run`); nothing of the script ran\n";
    let file = script_file(&s, "writes.sql", sql);
    assert_output(&query(&wh, &["--file", &file]).await, 2, "", refusal);
    assert_output(&piped(&wh, &[], sql), 2, "", refusal);
    assert_output(&query(&wh, &[sql, "--last"]).await, 2, "", refusal);
    let out = query(&wh, &["SELECT random() AS r; GRANT ALL ON t TO me"]).await;
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).starts_with(
            "trendlake: error: statement 2 of 2 (line 1): trendlake query runs only statements \
             that read"
        ) && stderr(&out).contains("GRANT is not one; nothing of the script ran"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(&wh).unwrap(),
        before,
        "the warehouse is unchanged"
    );

    // SQL DuckDB cannot prepare anywhere in the script is found before the first statement runs.
    let out = query(
        &wh,
        &["SELECT random() AS r;\nSELECT 2;\nFROM no_such_table"],
    )
    .await;
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).starts_with(&format!(
            "trendlake: error: statement 3 of 3 (line 3): the query cannot run on warehouse {}: \
             Catalog Error: Table with name no_such_table does not exist!",
            wh.display()
        )),
        "{}",
        stderr(&out)
    );
    // A script of one statement reads as one statement always has.
    let out = query(&wh, &["FROM no_such_table;"]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).starts_with(&format!(
            "trendlake: error: the query cannot run on warehouse {}: Catalog Error",
            wh.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_in_the_second_statement_names_it_after_the_first_result() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let sql = "SELECT 1 AS a;\n\
               SELECT CASE WHEN range > 100000 THEN 'x'::INTEGER ELSE range END AS n \
               FROM range(200000);\n\
               SELECT 3 AS c;\n";
    let file = script_file(&s, "failing.sql", sql);
    for out in [
        query(&wh, &["--file", &file, "--format", "csv"]).await,
        piped(&wh, &["--format", "csv"], sql),
    ] {
        assert_exit(&out, 1);
        let printed = stdout(&out);
        // The first result whole, then whatever of the second came before the row that failed
        // (DuckDB's threads decide how much); never the third.
        assert!(printed.starts_with("a\n1\n\n"), "{printed}");
        assert!(
            printed == "a\n1\n\n" || printed.starts_with("a\n1\n\nn\n0\n1\n"),
            "{printed}"
        );
        assert!(!printed.contains("\nc\n"), "{printed}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "trendlake: error: statement 2 of 3 (line 2): warehouse {}: run the query: \
                 Conversion Error: Could not convert string 'x' to INT32",
                wh.display()
            )),
            "{err}"
        );
        // DuckDB's own context follows, its LINE counted within the statement.
        assert_eq!(err.matches("error:").count(), 1, "{err}");
        assert!(err.contains("\nLINE 1: SELECT CASE WHEN"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_results_go_into_one_file_only_with_last() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let sql = "SELECT random() AS r; SELECT 2 AS b";
    let csv = s.dir.path().join("out.csv");
    let out = query(&wh, &[sql, "--output", &csv.display().to_string()]).await;
    let refusal = format!(
        "trendlake: error: this SQL holds 2 statements, so 2 results, and --output {} takes one: \
         add --last to write only the last statement's result (the others still run first), or \
         run them one at a time\n",
        csv.display()
    );
    assert_output(&out, 2, "", &refusal);
    assert!(!csv.exists());
    let out = query(&wh, &[sql, "--format", "parquet"]).await;
    assert_output(
        &out,
        2,
        "",
        "trendlake: error: this SQL holds 2 statements, so 2 results, and --format parquet takes \
         one: add --last to write only the last statement's result (the others still run first), \
         or run them one at a time\n",
    );
    let out = query(
        &wh,
        &[sql, "--output", &csv.display().to_string(), "--last"],
    )
    .await;
    assert_output(&out, 0, "", "");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "b\n2\n");
    let parquet = s.dir.path().join("out.parquet");
    let out = query(
        &wh,
        &[sql, "--output", &parquet.display().to_string(), "--last"],
    )
    .await;
    assert_exit(&out, 0);
    let (_, batch) = read_parquet(&parquet);
    assert_eq!(batch.schema().field(0).name(), "b");
    assert_eq!(batch.num_rows(), 1);
    // One statement (comments and empty statements aside) is one result: no --last needed.
    let out = query(
        &wh,
        &[
            "SELECT 3 AS c;; -- end",
            "--output",
            &csv.display().to_string(),
        ],
    )
    .await;
    assert_output(&out, 0, "", "");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "c\n3\n");
}

const D1: &str = "2026-11-20";
const GAP: &str = "2026-11-21";
const D3: &str = "2026-11-22";

/// A warehouse holding JP and US on D1 and D3, nothing on GAP between them.
async fn gap_warehouse(s: &Scratch) -> PathBuf {
    let api = fake(date(D1), |_| {}).await;
    assert_exit(
        &s.run(&api.base_url(), D1, &["--regions", "JP,US"]).await,
        0,
    );
    api.set_date(date(D3));
    assert_exit(
        &s.run(&api.base_url(), D3, &["--regions", "JP,US"]).await,
        0,
    );
    s.warehouse()
}

/// `top_movers`'s CSV header: the columns of an empty answer.
const TOP_MOVERS_HEADER: &str = "snapshot_date,region,mover,video_id,title,rank,previous_rank,\
                                 previous_date,days_since_previous,view_count,view_gain,\
                                 gain_per_day\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_query_on_a_date_without_a_snapshot_names_the_nearest_dates_held() {
    let s = Scratch::new();
    let wh = gap_warehouse(&s).await;
    let named = |name: &'static str, params: &[&str], extra: &[&str]| {
        let mut a = vec!["--name", name, "--format", "csv"];
        for p in params {
            a.extend(["--param", p]);
        }
        a.extend(extra);
        let a: Vec<String> = a.into_iter().map(str::to_string).collect();
        let wh = wh.clone();
        async move {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            query(&wh, &refs).await
        }
    };
    let not_held = |day: &str, nearest: &str| {
        format!(
            "trendlake: error: the warehouse {} holds no snapshot of {day}; {nearest} \
             (`trendlake query --name coverage` lists every date held)\n",
            wh.display()
        )
    };
    let between = not_held(
        GAP,
        &format!("the nearest dates it holds are {D1} and {D3}"),
    );
    let out = named("top_movers", &["date=2026-11-21"], &[]).await;
    assert_output(&out, 2, "", &between);
    // The same words as `report`'s, from the same function.
    let out = trendlake(vec![
        "report".into(),
        "--warehouse".into(),
        wh.display().to_string(),
        "--date".into(),
        GAP.into(),
        "--output".into(),
        s.dir.path().join("r.html").display().to_string(),
    ])
    .await;
    assert_output(&out, 2, "", &between);
    // Every named query taking a `date`, its other parameters as given.
    for name in [
        "cross_region",
        "dropouts",
        "engagement",
        "new_entries",
        "rank_climbers",
        "rank_trajectory",
        "survival",
    ] {
        let out = named(name, &["date=2026-11-21"], &[]).await;
        assert_output(&out, 2, "", &between);
    }
    let out = named(
        "top_movers",
        &["region=jp", "date=2026-11-21", "limit=1"],
        &[],
    )
    .await;
    assert_output(&out, 2, "", &between);
    let out = named("top_movers", &["date=2026-11-19"], &[]).await;
    assert_output(
        &out,
        2,
        "",
        &not_held("2026-11-19", &format!("the first date it holds is {D1}")),
    );
    let out = named("top_movers", &["date=2026-12-01"], &[]).await;
    assert_output(
        &out,
        2,
        "",
        &not_held("2026-12-01", &format!("the latest date it holds is {D3}")),
    );

    // --allow-empty: the query's own answer, here none (the header alone), exit 0.
    let out = named("top_movers", &["date=2026-11-21"], &["--allow-empty"]).await;
    assert_output(&out, 0, TOP_MOVERS_HEADER, "");
    // A held date and the default (the latest) run as ever.
    for params in [&["date=2026-11-22"][..], &[]] {
        let out = named("top_movers", params, &[]).await;
        assert_exit(&out, 0);
        let text = stdout(&out);
        assert!(text.starts_with(TOP_MOVERS_HEADER), "{text}");
        // Five movers in each of JP and US, against D1, two days before.
        assert_eq!(text.lines().count(), 11, "{text}");
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.contains(&format!(",{D1},2,"))),
            "{text}"
        );
    }
    let out = named("top_movers", &["date=2026-11-20"], &[]).await;
    assert_output(&out, 0, TOP_MOVERS_HEADER, "");
    // A period's bounds are not chart dates: they are not checked.
    let out = named("cross_region", &["since=2026-11-21"], &[]).await;
    assert_exit(&out, 0);
    let out = named("coverage", &["from=2026-11-21", "to=2026-11-21"], &[]).await;
    assert_exit(&out, 0);
    let out = named("engagement", &["from=2026-11-21"], &[]).await;
    assert_exit(&out, 0);
    // --allow-empty is a named query's.
    let refused = "trendlake: error: --allow-empty is for a named query (--name N) asked about a \
                   date without a snapshot; SQL of your own is never refused for its dates\n";
    let out = query(&wh, &["SELECT 1", "--allow-empty"]).await;
    assert_output(&out, 2, "", refused);
    assert_output(&piped(&wh, &["--allow-empty"], "SELECT 1"), 2, "", refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_without_snapshots_says_so_for_a_query_taking_a_date() {
    let s = Scratch::new();
    let wh = empty_warehouse(&s);
    let out = query(&wh, &["--name", "top_movers", "--param", "date=2026-11-21"]).await;
    let empty = format!(
        "trendlake: error: the warehouse {} holds no snapshots yet; run `trendlake run` (or \
         `trendlake merge` for a lake that has some) first\n",
        wh.display()
    );
    assert_output(&out, 2, "", &empty);
    // Without a date too: there is no latest snapshot to answer for.
    let out = query(&wh, &["--name", "survival"]).await;
    assert_output(&out, 2, "", &empty);
}
