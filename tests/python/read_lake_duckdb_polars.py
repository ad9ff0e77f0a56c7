"""Read one table of a trendlake lake (`LAKE/videos` or `LAKE/tracked`) with DuckDB and with
Polars, as docs/notebooks.md shows; print what each sees.

    read_lake_duckdb_polars.py LAKE/TABLE

Both read files of schema version 1 and 2 side by side with the same columns: DuckDB by name
(`union_by_name = true`), Polars in the newest file's columns (`missing_columns="insert"`); a
version-1 file's rows have `chart_category` null, i.e. the general chart. The row counts are the
general charts' (`coalesce(chart_category, 'all') = 'all'`), as the warehouse's `chart_entries`; a
table without `chart_category` (`tracked`) is read whole.

Stdout's last line is one JSON object: for `duckdb` and `polars`, the columns (in order), the row
count, the type of `snapshot_date` and of the three counts, the rows and nulls of the counts per
snapshot_date, and (`charts`; null without the column) every row per snapshot_date and
chart_category (`"null"` for a version-1 file's rows).
"""

import json
import sys
from pathlib import Path

import duckdb
import polars as pl

COUNTS = ["view_count", "like_count", "comment_count"]
table = sys.argv[1]


def per_date(rows):
    return {
        str(date): {"rows": n, **{f"{c}_nulls": n - k for c, k in zip(COUNTS, counts)}}
        for date, n, *counts in rows
    }


def charts(rows):
    out = {}
    for date, category, n in rows:
        out.setdefault(str(date), {})["null" if category is None else category] = n
    return out


con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
rel = con.read_parquet(f"{table}/*/*.parquet", hive_partitioning=True, union_by_name=True)
types = dict(zip(rel.columns, (str(t) for t in rel.types)))
has_charts = "chart_category" in rel.columns
LAKE = f"read_parquet('{table}/*/*.parquet', hive_partitioning = true, union_by_name = true)"
general = "WHERE coalesce(chart_category, 'all') = 'all'" if has_charts else ""
by_date = con.execute(
    f"SELECT snapshot_date, count(*), {', '.join(f'count({c})' for c in COUNTS)} "
    f"FROM {LAKE} {general} GROUP BY ALL ORDER BY 1"
).fetchall()
out = {
    "duckdb": {
        "columns": rel.columns,
        "rows": sum(r[1] for r in by_date),
        "types": {c: types[c] for c in ["snapshot_date", *COUNTS]},
        "per_date": per_date(by_date),
        "charts": None,
    }
}
if has_charts:
    out["duckdb"]["charts"] = charts(
        con.execute(f"SELECT snapshot_date, chart_category, count(*) FROM {LAKE} GROUP BY ALL")
        .fetchall()
    )

# The newest file has every column; older ones lack what was added since (a version-1 snapshot:
# chart_category), which Polars inserts as null.
newest = max(Path(table).glob("*/*.parquet"))
frame = pl.scan_parquet(
    f"{table}/*/*.parquet",
    hive_partitioning=True,
    schema=pl.read_parquet_schema(newest),
    missing_columns="insert",
)
schema = frame.collect_schema()
if has_charts:
    rows = frame.filter(pl.col("chart_category").fill_null("all") == "all")
else:
    rows = frame
grouped = (
    rows.group_by("snapshot_date")
    .agg(pl.len().alias("n"), *[pl.col(c).count().alias(c) for c in COUNTS])
    .sort("snapshot_date")
    .collect()
)
out["polars"] = {
    "columns": schema.names(),
    "rows": int(grouped["n"].sum()),
    "types": {c: str(schema[c]) for c in ["snapshot_date", *COUNTS]},
    "per_date": per_date(grouped.select("snapshot_date", "n", *COUNTS).rows()),
    "charts": None,
}
if has_charts:
    out["polars"]["charts"] = charts(
        frame.group_by("snapshot_date", "chart_category").len().collect().rows()
    )
print(json.dumps(out))
