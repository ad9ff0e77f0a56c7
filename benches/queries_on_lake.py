"""The named queries on the raw lake, through DuckDB's Python client: the comparison column of
`cargo bench --bench queries` (benches/queries.rs runs this with the project's virtualenv python).

An in-memory DuckDB stands in for the warehouse:

- `chart_entries` is a view over the lake's Parquet files
  (`read_parquet('<lake>/videos/*/*.parquet', hive_partitioning = true)`), with the warehouse
  table's columns;
- `videos` is a view deriving each video's latest metadata from the lake (`arg_max` by
  `snapshot_date`) and the first and last dates it was seen, with the warehouse table's columns
  (`metadata_date` is the last seen date, as it is in a warehouse between merges);
- the small reference tables (`regions`, `region_utc_offsets`, `categories`, `region_snapshots`,
  `merged_snapshots`) are copied from the warehouse, attached read-only;
- the `chart` view is created by sql/views.sql itself.

The bench sends a JSON job on stdin:

    {"lake": DIR, "warehouse": FILE, "views_sql": FILE, "runs": N,
     "queries": [{"id": ..., "name": ..., "sql": ..., "variables": [{"name", "type", "value"}]}]}

and reads one JSON object per line on stdout: first {"setup_ms": ...}, then per query
{"id", "name", "times_ms": [...], "rows"} or {"id", "name", "error"} when the query cannot run
on the lake.
Each run takes a fresh connection to the in-memory database (`cursor()`), sets the variables
(`SET VARIABLE name = CAST(? AS type)`, as `trendlake query` does), runs the query and fetches
every row as Arrow; the clock covers those three steps.
"""

import json
import statistics
import sys
import time

import duckdb

# The warehouse's chart_entries and videos columns, in its order (sql/schema.sql).
ENTRY_COLUMNS = [
    "snapshot_date", "region", "video_id", "rank", "view_count", "like_count",
    "comment_count", "fetched_at",
]
METADATA_COLUMNS = [
    "title", "description", "channel_id", "channel_title", "category_id", "published_at",
    "duration_s", "live_broadcast_content", "tags", "default_language",
    "default_audio_language", "thumbnail_url", "definition", "caption", "licensed_content",
]
REFERENCE_TABLES = [
    "regions",
    "region_utc_offsets",
    "categories",
    "merged_snapshots",
    "region_snapshots",
]


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def lake_database(lake, warehouse, views_sql):
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    files = quote(f"{lake}/videos/*/*.parquet")
    con.execute(f"""
        CREATE VIEW lake AS
        SELECT * FROM read_parquet({files}, hive_partitioning = true,
                                   hive_types = {{'snapshot_date': DATE}})
    """)
    con.execute(f"CREATE VIEW chart_entries AS SELECT {', '.join(ENTRY_COLUMNS)} FROM lake")
    latest = ",\n".join(f"m.{c} AS {c}" for c in METADATA_COLUMNS)
    packed = ", ".join(f"'{c}': {c}" for c in METADATA_COLUMNS)
    con.execute(f"""
        CREATE VIEW videos AS
        SELECT video_id,
               {latest},
               first_seen_date, last_seen_date, last_seen_date AS metadata_date
        FROM (
            SELECT video_id,
                   arg_max({{{packed}}}, snapshot_date) AS m,
                   min(snapshot_date) AS first_seen_date,
                   max(snapshot_date) AS last_seen_date
            FROM lake
            GROUP BY video_id
        )
    """)
    con.execute(f"ATTACH {quote(warehouse)} AS wh (READ_ONLY)")
    held = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh'"
        ).fetchall()
    }
    for table in REFERENCE_TABLES:
        if table in held:
            con.execute(f"CREATE TABLE {table} AS FROM wh.main.{table}")
    con.execute("DETACH wh")
    with open(views_sql, encoding="utf-8") as f:
        con.execute(f.read())
    return con


def run_once(con, query):
    cur = con.cursor()
    try:
        started = time.perf_counter()
        for v in query["variables"]:
            cur.execute(
                f'SET VARIABLE "{v["name"]}" = CAST(? AS {v["type"]})', [v["value"]]
            )
        reader = cur.sql(query["sql"]).to_arrow_reader()
        rows = sum(batch.num_rows for batch in reader)
        return (time.perf_counter() - started) * 1000.0, rows
    finally:
        cur.close()


def main():
    job = json.load(sys.stdin)
    started = time.perf_counter()
    con = lake_database(job["lake"], job["warehouse"], job["views_sql"])
    print(json.dumps({"setup_ms": (time.perf_counter() - started) * 1000.0}), flush=True)
    for query in job["queries"]:
        out = {"id": query["id"], "name": query["name"]}
        given = [f'{v["name"]}={v["value"]}' for v in query["variables"]]
        label = " ".join([query["name"], *given])
        try:
            times, rows = [], None
            for _ in range(job["runs"]):
                ms, rows = run_once(con, query)
                times.append(ms)
            out.update(times_ms=times, rows=rows)
            print(f"  lake: {label}: median {statistics.median(times):.0f} ms",
                  file=sys.stderr, flush=True)
        except duckdb.Error as e:
            # The first line names the problem (e.g. a column the lake does not have).
            out["error"] = str(e).strip().splitlines()[0]
            print(f"  lake: {label}: {out['error']}", file=sys.stderr, flush=True)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
