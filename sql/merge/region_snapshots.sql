-- Rewrite region_snapshots from merged_snapshots (one row a date, listing the regions its snapshot
-- holds), before every publish: whatever the session merged, replaced or removed, the table
-- follows. In date order, so that a scan for one date skips the other row groups.
DELETE FROM region_snapshots;
INSERT INTO region_snapshots
SELECT r.region, m.snapshot_date,
       row_number() OVER held AS snapshot_no,
       lag(m.snapshot_date) OVER held AS previous_date,
       min(m.snapshot_date) OVER (PARTITION BY r.region) AS first_date,
       max(m.snapshot_date) OVER (PARTITION BY r.region) AS last_date
FROM merged_snapshots m, unnest(m.regions) AS r(region)
WINDOW held AS (PARTITION BY r.region ORDER BY m.snapshot_date)
ORDER BY m.snapshot_date, r.region;
