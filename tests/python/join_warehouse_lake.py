"""A warehouse timestamp and a lake timestamp, side by side in Polars and pandas, the way the
docs/notebooks.md and the notebook open DuckDB (session time zone UTC) and read the lake (its
general charts, as `chart_entries` holds them); run under any TZ.

    join_warehouse_lake.py LAKE/videos WAREHOUSE

Stdout is one JSON object: the time zones each reader gives `fetched_at`, the rows joined on
(snapshot_date, region, video_id) and how many of them agree, the rows concatenated, and the hours
of the first entry's `fetched_at` from DuckDB, from the lake and in UTC.
"""

import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

videos, warehouse = sys.argv[1], sys.argv[2]
KEY = ["snapshot_date", "region", "video_id"]

wh = duckdb.connect(warehouse, read_only=True)
wh.execute("SET TimeZone = 'UTC'")
entries = wh.sql(
    "SELECT snapshot_date, region, video_id, fetched_at, hour(fetched_at) AS h FROM chart_entries"
).pl()
# As docs/notebooks.md reads the lake: files of schema version 1 and 2 in the newest file's columns
# (a version-1 file's chart_category null), the general charts only, as chart_entries holds.
lake = (
    pl.scan_parquet(
        f"{videos}/**/*.parquet",
        hive_partitioning=True,
        schema=pl.read_parquet_schema(max(Path(videos).glob("*/*.parquet"))),
        missing_columns="insert",
    )
    .filter(pl.col("chart_category").fill_null("all") == "all")
    .select(*KEY, "fetched_at")
    .collect()
)

joined = entries.join(lake, on=KEY, suffix="_lake")
both = pl.concat([entries.select("fetched_at"), lake.select("fetched_at")])

pd_entries = wh.sql("SELECT region, video_id, snapshot_date, fetched_at FROM chart_entries").df()
pd_lake = lake.to_pandas()
pd_lake["snapshot_date"] = pd.to_datetime(pd_lake["snapshot_date"])
pd_entries["snapshot_date"] = pd.to_datetime(pd_entries["snapshot_date"])
pd_joined = pd_entries.merge(pd_lake, on=KEY, suffixes=("", "_lake"))
pd_both = pd.concat([pd_entries["fetched_at"], pd_lake["fetched_at"]])

first = joined.sort(KEY).row(0, named=True)
print(json.dumps({
    "zones": {
        "duckdb_polars": entries.schema["fetched_at"].time_zone,
        "lake_polars": lake.schema["fetched_at"].time_zone,
        "duckdb_pandas": str(pd_entries["fetched_at"].dtype),
        "lake_pandas": str(pd_lake["fetched_at"].dtype),
    },
    "entries": entries.height,
    "joined": joined.height,
    "agree": joined.filter(pl.col("fetched_at") == pl.col("fetched_at_lake")).height,
    "concatenated": both.height,
    "pandas_joined": len(pd_joined),
    "pandas_agree": int((pd_joined["fetched_at"] == pd_joined["fetched_at_lake"]).sum()),
    "pandas_concatenated": len(pd_both),
    "pandas_concatenated_dtype": str(pd_both.dtype),
    "hours": {"duckdb": first["h"], "lake": first["fetched_at_lake"].hour,
              "utc": first["fetched_at"].astimezone(__import__("datetime").timezone.utc).hour},
}))
