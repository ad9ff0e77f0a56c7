-- Version 3 → 4: no table changes. sql/views.sql gains the `region_snapshots` view (each
-- region's held snapshots, numbered, with the previous one), which the named queries of
-- sql/queries/ read; views are created in every merge session, and the new version makes the
-- next merge open a version-3 warehouse for writing even when it has nothing new to merge, so the
-- view is there before the queries need it.
DROP VIEW IF EXISTS region_snapshots;
