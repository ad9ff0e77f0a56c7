"""Read a table of a trendlake lake (`LAKE/videos` or `LAKE/tracked`) with pyarrow and pandas, the
way docs/notebooks.md shows; print what they see.

    read_lake_pandas.py LAKE/TABLE

Every reader is given the union of the files' columns (`every_column`): a snapshot of schema
version 1 has no `chart_category`, which then reads as null (a version-1 file holds general charts
only), while a version-2 one holds category charts too. The row counts are the general charts'
(`coalesce(chart_category, 'all') = 'all'`), as the warehouse's `chart_entries`; a table without
`chart_category` (`tracked`) is read whole.

Stdout is one JSON object: for pyarrow's dataset (with `partitioning="hive"` as is, and with the
partition typed as a date), pandas' read_parquet (the date typed, pyarrow dtypes) and pandas'
defaults: the columns read (in order), the row count, rows and NULLs of the three counts per
snapshot_date, the types of snapshot_date and the counts, and (`charts`; null without the column)
every row per snapshot_date and chart_category (`"null"` for a version-1 file's rows).
"""

import json
import sys
from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

COUNTS = ["view_count", "like_count", "comment_count"]
table = sys.argv[1]

# A general chart's rows: "all", or null in a version-1 file (which has no chart_category).
GENERAL = pc.coalesce(pc.field("chart_category"), "all") == "all"


def every_column(partitioning) -> pa.Schema:
    """Every file's columns, the partition key last, all nullable (a version-1 file's
    chart_category is null)."""
    found = ds.dataset(table, format="parquet", partitioning=partitioning)
    schema = pa.unify_schemas([*map(pq.read_schema, found.files), found.partitioning.schema])
    return pa.schema([f.with_nullable(True) for f in schema])


def per_date(dates, counts: dict) -> dict:
    """Rows, and NULLs of each count, per snapshot_date (as YYYY-MM-DD)."""
    out = {}
    for i, day in enumerate(dates):
        night = out.setdefault(str(day), {"rows": 0, **{f"{c}_nulls": 0 for c in COUNTS}})
        night["rows"] += 1
        for c in COUNTS:
            night[f"{c}_nulls"] += counts[c][i] is None
    return dict(sorted(out.items()))


def charts(dates, categories) -> dict:
    """Rows per snapshot_date and chart_category ("null" for none)."""
    out = {}
    for (day, category), n in Counter(zip(map(str, dates), categories)).items():
        out.setdefault(day, {})["null" if category is None else category] = n
    return dict(sorted(out.items()))


def arrow_summary(partitioning) -> dict:
    schema = every_column(partitioning)
    dataset = ds.dataset(table, format="parquet", partitioning=partitioning, schema=schema)
    has_charts = "chart_category" in schema.names
    rows = dataset.to_table(filter=GENERAL if has_charts else None)
    by_chart = None
    if has_charts:
        every = dataset.to_table(columns=["snapshot_date", "chart_category"])
        by_chart = charts(every["snapshot_date"].to_pylist(), every["chart_category"].to_pylist())
    return {
        "columns": rows.column_names,
        "rows": rows.num_rows,
        "per_date": per_date(
            rows["snapshot_date"].to_pylist(), {c: rows[c].to_pylist() for c in COUNTS}
        ),
        "types": {c: str(rows.schema.field(c).type) for c in ["snapshot_date", *COUNTS]},
        "charts": by_chart,
    }


def nulls(values) -> list:
    """pandas' missing values (None, NaN, NA) as None."""
    return [None if pd.isna(v) else v for v in values]


def pandas_summary(**read) -> dict:
    has_charts = "chart_category" in read["schema"].names
    frame = pd.read_parquet(table, filters=GENERAL if has_charts else None, **read)
    by_chart = None
    if has_charts:
        every = pd.read_parquet(table, columns=["snapshot_date", "chart_category"], **read)
        by_chart = charts(every["snapshot_date"].tolist(), nulls(every["chart_category"].tolist()))
    return {
        "columns": list(frame.columns),
        "rows": len(frame),
        "per_date": per_date(
            frame["snapshot_date"].tolist(), {c: nulls(frame[c].tolist()) for c in COUNTS}
        ),
        "types": {c: str(frame[c].dtype) for c in ["snapshot_date", *COUNTS]},
        "first_date_type": type(frame["snapshot_date"].iloc[0]).__name__,
        "charts": by_chart,
    }


# docs/notebooks.md's lines: the partition key typed as a date, not left to inference.
by_date = ds.partitioning(pa.schema([("snapshot_date", pa.date32())]), flavor="hive")
out = {
    # As is, pyarrow infers a string (or an int32) from a Hive key, never a date.
    "pyarrow_hive": arrow_summary("hive"),
    "pyarrow": arrow_summary(by_date),
    "pandas": pandas_summary(
        partitioning=by_date, schema=every_column(by_date), dtype_backend="pyarrow"
    ),
    # pandas' defaults, for contrast: the key left a string, counts with a NULL become float64.
    "pandas_default": pandas_summary(schema=every_column("hive")),
}
print(json.dumps(out))
