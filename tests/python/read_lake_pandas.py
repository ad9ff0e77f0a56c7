"""Read a trendlake lake with pyarrow and pandas, the way docs/notebooks.md shows; print what
they see.

    read_lake_pandas.py LAKE/videos

Stdout is one JSON object: for pyarrow's dataset (with `partitioning="hive"` as is, and with the
partition typed as a date), pandas' read_parquet (the date typed, pyarrow dtypes) and pandas'
defaults: the row count, rows and NULLs of the three counts per snapshot_date, and the types of
snapshot_date and the counts.
"""

import json
import sys
from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

COUNTS = ["view_count", "like_count", "comment_count"]
videos = sys.argv[1]


def per_date(dates, counts: dict) -> dict:
    """Rows, and NULLs of each count, per snapshot_date (as YYYY-MM-DD)."""
    out = {}
    for i, day in enumerate(dates):
        night = out.setdefault(str(day), {"rows": 0, **{f"{c}_nulls": 0 for c in COUNTS}})
        night["rows"] += 1
        for c in COUNTS:
            night[f"{c}_nulls"] += counts[c][i] is None
    return dict(sorted(out.items()))


def arrow_summary(table: pa.Table) -> dict:
    return {
        "rows": table.num_rows,
        "per_date": per_date(
            table["snapshot_date"].to_pylist(), {c: table[c].to_pylist() for c in COUNTS}
        ),
        "types": {c: str(table.schema.field(c).type) for c in ["snapshot_date", *COUNTS]},
    }


def pandas_summary(frame: pd.DataFrame) -> dict:
    return {
        "rows": len(frame),
        "per_date": per_date(
            frame["snapshot_date"].tolist(),
            {c: [None if pd.isna(v) else v for v in frame[c].tolist()] for c in COUNTS},
        ),
        "types": {c: str(frame[c].dtype) for c in ["snapshot_date", *COUNTS]},
        "first_date_type": type(frame["snapshot_date"].iloc[0]).__name__,
    }


columns = ["snapshot_date", *COUNTS]
# docs/notebooks.md's lines: the partition key typed as a date, not left to inference.
by_date = ds.partitioning(pa.schema([("snapshot_date", pa.date32())]), flavor="hive")
out = {
    # As is, pyarrow infers a string (or an int32) from a Hive key, never a date.
    "pyarrow_hive": arrow_summary(
        ds.dataset(videos, format="parquet", partitioning="hive").to_table(columns=columns)
    ),
    "pyarrow": arrow_summary(
        ds.dataset(videos, format="parquet", partitioning=by_date).to_table(columns=columns)
    ),
    "pandas": pandas_summary(
        pd.read_parquet(videos, columns=columns, partitioning=by_date, dtype_backend="pyarrow")
    ),
    # pandas' defaults, for contrast: the date a category, counts with a NULL become float64.
    "pandas_default": pandas_summary(pd.read_parquet(videos, columns=columns)),
}
print(json.dumps(out))
