-- Version 2 → 3: regions gain their IANA `time_zone`, and `region_utc_offsets` (sql/schema.sql)
-- holds each region's UTC offset over time. Both are reference data that every merge session
-- reloads from the binary, so `regions` is dropped here and sql/schema.sql creates it with the
-- new column; `region_utc_offsets` is created by sql/schema.sql. The `chart` view (sql/views.sql,
-- replaced in every session) gains `channel_id`.
DROP VIEW IF EXISTS chart;
DROP TABLE regions;
