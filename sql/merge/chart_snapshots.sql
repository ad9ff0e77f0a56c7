-- Rewrite chart_snapshots from merged_snapshots (one row a date, listing the charts its snapshot
-- holds by key: `JP`, `JP/25`), before every publish: whatever the session merged, replaced or
-- removed, the table follows. In date order, so that a scan for one date skips the other row groups.
DELETE FROM chart_snapshots;
INSERT INTO chart_snapshots
    (region, snapshot_date, snapshot_no, previous_date, first_date, last_date, chart_category)
SELECT h.region, h.snapshot_date,
       row_number() OVER held AS snapshot_no,
       lag(h.snapshot_date) OVER held AS previous_date,
       min(h.snapshot_date) OVER (PARTITION BY h.region, h.chart_category) AS first_date,
       max(h.snapshot_date) OVER (PARTITION BY h.region, h.chart_category) AS last_date,
       h.chart_category
FROM (
    SELECT m.snapshot_date,
           split_part(k.chart, '/', 1) AS region,
           coalesce(nullif(split_part(k.chart, '/', 2), ''), 'all') AS chart_category
    FROM merged_snapshots m, unnest(coalesce(m.charts, m.regions)) AS k(chart)
) h
WINDOW held AS (PARTITION BY h.region, h.chart_category ORDER BY h.snapshot_date)
ORDER BY h.snapshot_date, h.region, h.chart_category;
