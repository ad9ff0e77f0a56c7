"""Read one table of a trendlake lake (`LAKE/videos` or `LAKE/tracked`) with DuckDB and with
Polars, as docs/notebooks.md shows; print what each sees.

    read_lake_duckdb_polars.py LAKE/TABLE

Stdout's last line is one JSON object: for `duckdb` and `polars`, the row count, the type of
`snapshot_date` and of the three counts, and the rows and nulls of the counts per snapshot_date.
"""

import json
import sys

import duckdb
import polars as pl

COUNTS = ["view_count", "like_count", "comment_count"]
table = sys.argv[1]


def per_date(rows):
    return {
        str(date): {"rows": n, **{f"{c}_nulls": n - k for c, k in zip(COUNTS, counts)}}
        for date, n, *counts in rows
    }


con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
rel = con.read_parquet(f"{table}/**/*.parquet", hive_partitioning=True)
types = dict(zip(rel.columns, (str(t) for t in rel.types)))
by_date = con.execute(
    f"SELECT snapshot_date, count(*), {', '.join(f'count({c})' for c in COUNTS)} "
    f"FROM read_parquet('{table}/**/*.parquet', hive_partitioning = true) "
    "GROUP BY ALL ORDER BY 1"
).fetchall()
out = {
    "duckdb": {
        "rows": sum(r[1] for r in by_date),
        "types": {c: types[c] for c in ["snapshot_date", *COUNTS]},
        "per_date": per_date(by_date),
    }
}

frame = pl.scan_parquet(f"{table}/**/*.parquet", hive_partitioning=True)
schema = frame.collect_schema()
grouped = (
    frame.group_by("snapshot_date")
    .agg(pl.len().alias("n"), *[pl.col(c).count().alias(c) for c in COUNTS])
    .sort("snapshot_date")
    .collect()
)
out["polars"] = {
    "rows": int(grouped["n"].sum()),
    "types": {c: str(schema[c]) for c in ["snapshot_date", *COUNTS]},
    "per_date": per_date(grouped.select("snapshot_date", "n", *COUNTS).rows()),
}
print(json.dumps(out))
