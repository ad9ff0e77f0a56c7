-- Version 3 → 4: the `region_snapshots` table (sql/schema.sql creates it, and every publish
-- rewrites it from merged_snapshots), each region's held snapshots numbered with the previous
-- one, which the named queries of sql/queries/ read. Nothing to change in the other tables.
DROP TABLE IF EXISTS region_snapshots;
