"""Register a trendlake lake in Spark with the statements `trendlake ddl --engine spark` printed,
then ask the registered table what the tests ask the warehouse.

    ddl_spark.py DDL_FILE TABLE VIDEOS_DIR FORGET_DATE TRASH_DIR

One SparkSession (local[1], in-memory catalog, no UI, bound to loopback: set
SPARK_LOCAL_IP=127.0.0.1 too). The DDL file's statements (each ending with `;` at the end of a
line) run one by one through spark.sql, exactly as printed. Then:

- `before_sync`: the table's row count right after its CREATE, before the partitions are synced;
- `partitions`: SHOW PARTITIONS after the whole script;
- `groups`: rows, summed view_count, shown like counts and the latest fetched_at (in epoch
  microseconds) per snapshot_date and region of the general charts (`chart_category` `all`, or
  null in a file of schema version 1), from the table;
- `declared` and `inferred`: the table's columns and types as the DDL declared them, and as Spark
  infers them from the Parquet files under VIDEOS_DIR (nullability aside);
- then FORGET_DATE's directory is moved into TRASH_DIR (as `trendlake forget` moves it), the whole
  script runs again, and `partitions_after` and `groups_after` say what the table holds then.

Stdout's last line is one JSON object.
"""

import json
import shutil
import sys
import tempfile

from pyspark.sql import SparkSession

ddl_file, table, videos, forget_date, trash = sys.argv[1:6]
with open(ddl_file, encoding="utf-8") as f:
    script = f.read()
statements = [s.strip() for s in script.split(";\n") if s.strip()]

spark = (
    SparkSession.builder.master("local[1]")
    .appName("trendlake-ddl-check")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.memory", "512m")
    # C1 only and the serial collector: a JVM this short-lived starts in half the time.
    .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.sql.shuffle.partitions", "1")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="spark-warehouse-"))
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")

GROUPS = f"""
    SELECT CAST(snapshot_date AS STRING) AS snapshot_date, region,
           count(*) AS rows,
           sum(view_count) AS view_count,
           count(like_count) AS likes_shown,
           unix_micros(max(fetched_at)) AS last_fetched_us
    FROM {table}
    WHERE coalesce(chart_category, 'all') = 'all'
    GROUP BY snapshot_date, region
    ORDER BY snapshot_date, region
"""


def groups():
    return [row.asDict() for row in spark.sql(GROUPS).collect()]


def partitions():
    return [row[0] for row in spark.sql(f"SHOW PARTITIONS {table}").collect()]


def columns(schema):
    return [[f.name, f.dataType.simpleString()] for f in schema.fields]


try:
    before_sync = None
    for i, statement in enumerate(statements):
        spark.sql(statement)
        if i == 0:
            before_sync = spark.sql(f"SELECT count(*) FROM {table}").collect()[0][0]
    out = {
        "version": spark.version,
        "statements": len(statements),
        "before_sync": before_sync,
        "partitions": partitions(),
        "groups": groups(),
        "declared": columns(spark.table(table).schema),
        "inferred": columns(spark.read.parquet(videos).schema),
    }
    shutil.move(f"{videos}/snapshot_date={forget_date}", trash)
    for statement in statements:
        spark.sql(statement)
    out["partitions_after"] = partitions()
    out["groups_after"] = groups()
finally:
    spark.stop()
print(json.dumps(out))
