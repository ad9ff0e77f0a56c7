"""Read a trendlake lake with PySpark in local mode, as an analyst on a cluster would; print what
Spark sees.

    read_lake_spark.py LAKE/videos

The lake is read with `mergeSchema`: files of schema version 1 and 2 side by side, in the union of
their columns (a version-1 file's rows have `chart_category` null, i.e. the general chart). The
row counts are the general charts' (`coalesce(chart_category, 'all') = 'all'`), as the
warehouse's `chart_entries`; a table without `chart_category` (`tracked`) is read whole.

One SparkSession (local[1], no UI, 512 MB, bound to loopback: set SPARK_LOCAL_IP=127.0.0.1 too).
Stdout's last line is one JSON object: Spark's version, the columns (in order) and the type of
every column (class names: `DateType`, `LongType`, ...), which columns came from the directories,
the row count and rows and nulls of the three counts per snapshot_date, every row per
snapshot_date and chart_category (`charts`, `"null"` for a version-1 file's rows; null without the
column); and snapshot_date's type when partition type inference is off (a cluster may turn it
off), read as is and with an explicit schema.
"""

import json
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

COUNTS = ["view_count", "like_count", "comment_count"]
videos = sys.argv[1]

spark = (
    SparkSession.builder.master("local[1]")
    .appName("trendlake-lake-check")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.memory", "512m")
    # C1 only and the serial collector: a JVM this short-lived starts in half the time.
    .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.sql.shuffle.partitions", "1")
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
try:
    # The analyst's line: the videos/ directory, not the lake's root, and every file's columns
    # (mergeSchema), not one file's: a version-1 snapshot has no chart_category. Spark finds the
    # snapshot_date=YYYY-MM-DD directories and infers a DateType column from them.
    lake = spark.read.option("mergeSchema", "true").parquet(videos)
    file_columns = set(
        spark.read.option("mergeSchema", "true").parquet(f"{videos}/snapshot_date=*/").columns
    )
    has_charts = "chart_category" in lake.columns
    general = F.coalesce("chart_category", F.lit("all")) == "all" if has_charts else F.lit(True)
    per_date = {}
    for row in (
        lake.where(general)
        .groupBy("snapshot_date")
        .agg(F.count(F.lit(1)).alias("rows"), *[F.count(c).alias(c) for c in COUNTS])
        .orderBy("snapshot_date")
        .collect()
    ):
        per_date[str(row["snapshot_date"])] = {
            "rows": row["rows"],
            **{f"{c}_nulls": row["rows"] - row[c] for c in COUNTS},
        }

    charts = None
    if has_charts:
        charts = {}
        for row in lake.groupBy("snapshot_date", "chart_category").count().collect():
            category = "null" if row["chart_category"] is None else row["chart_category"]
            charts.setdefault(str(row["snapshot_date"]), {})[category] = row["count"]

    # With inference off, the key is a string; an explicit schema makes it a date again.
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    uninferred = spark.read.option("mergeSchema", "true").parquet(videos)
    uninferred = uninferred.schema["snapshot_date"].dataType
    with_schema = spark.read.schema(
        T.StructType(
            [f for f in lake.schema.fields if f.name != "snapshot_date"]
            + [T.StructField("snapshot_date", T.DateType())]
        )
    ).parquet(videos)
    out = {
        "version": spark.version,
        "columns": lake.columns,
        "types": {f.name: type(f.dataType).__name__ for f in lake.schema.fields},
        "partition_columns": [c for c in lake.columns if c not in file_columns],
        "rows": sum(d["rows"] for d in per_date.values()),
        "per_date": per_date,
        "charts": charts,
        "uninferred_type": type(uninferred).__name__,
        "with_schema_type": type(with_schema.schema["snapshot_date"].dataType).__name__,
        "with_schema_rows": with_schema.where(general).count(),
    }
finally:
    spark.stop()
print(json.dumps(out))
