-- Version 6 → 7: chart entries keyed by chart. Every chart's entries (a region's general chart and
-- its category charts) live in `all_chart_entries`, with the chart's `chart_category` ('all' for
-- the general chart: every entry merged before version 7); `chart_entries` becomes a view of one
-- chart per region (sql/views.sql), the general chart unless the session sets the variable
-- `category`, so every query written against it answers as before. Likewise `region_snapshots`
-- becomes a view of the table `chart_snapshots`. merged_snapshots gains `charts`, the keys of
-- every chart a snapshot holds. The chart catalogue tables are new (sql/schema.sql).
ALTER TABLE chart_entries RENAME TO all_chart_entries;
ALTER TABLE all_chart_entries ADD COLUMN chart_category VARCHAR DEFAULT 'all';
-- (A warehouse migrated from before version 4 has no region_snapshots yet: sql/schema.sql then
-- creates chart_snapshots.)
ALTER TABLE IF EXISTS region_snapshots RENAME TO chart_snapshots;
ALTER TABLE IF EXISTS chart_snapshots ADD COLUMN chart_category VARCHAR DEFAULT 'all';
ALTER TABLE merged_snapshots ADD COLUMN charts VARCHAR[];
UPDATE merged_snapshots SET charts = regions;
