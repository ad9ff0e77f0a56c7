-- coverage: which dates each region's history holds, and the missing days inside it
--
-- One row per region: which of the days between `from` and `to` (inclusive) its history holds a
-- snapshot of, and the days it has none (a night with no run, or with the region failing), as a
-- list of dates and as gap ranges. The days checked are those of the period inside the region's
-- whole history (from its first snapshot ever to its last): a region added later or dropped is
-- not missing the days before or after it (compare first_date and last_date across the rows, and
-- with warehouse_first_date and warehouse_last_date, the first and last snapshot of any region in
-- the period). A region whose history does not meet the period has no row; one with no snapshot
-- in the period but history on both sides has a row with snapshots 0.
--
-- With `category`, the region's chart of that category: a day the API had no such chart
-- (`no_chart`, or not asked because it had none when last asked: the lake's chart catalogues) is
-- not missing; it is counted in no_chart_days and listed in no_chart_dates, and a chart that
-- never existed has a row with snapshots 0 and every day in no_chart_days.
--
-- Read from region_snapshots and chart_status (tiny tables), so this is instant on any history.
--
-- Columns: region, first_date, last_date (its first and last snapshot in the period),
-- checked_from, checked_to (the days checked), calendar_days (checked_to - checked_from + 1),
-- snapshots, missing_days (calendar_days - snapshots - no_chart_days), missing_dates (a list, in
-- order), gaps
-- (text: each run of consecutive missing days as `2026-11-15` or `2026-11-15..2026-11-17 (3
-- days)`, comma separated; empty with no gap), longest_gap_days, warehouse_first_date,
-- warehouse_last_date, no_chart_days, no_chart_dates (days the API had no such chart; 0 and
-- empty for the general chart).
--
-- @param region region (default: every region) only this region
-- @param from date (default: the first snapshot date) the period's first day
-- @param to date (default: the latest snapshot date) the period's last day
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('from') AS DATE),
                    (SELECT min(snapshot_date) FROM merged_snapshots)) AS from_date,
           coalesce(CAST(getvariable('to') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS to_date
),
-- The chart's held snapshots per region (region_snapshots: a row a held snapshot).
held_ever AS (
    SELECT r.region, r.snapshot_date
    FROM region_snapshots r, chosen
    WHERE chosen.only_region IS NULL OR r.region = chosen.only_region
),
-- The nights the API had no such chart (category charts only).
no_chart_ever AS (
    SELECT s.region, s.snapshot_date
    FROM chart_status s, chosen
    WHERE s.chart_category = coalesce(CAST(getvariable('category') AS VARCHAR), 'all')
      AND s.status IN ('no_chart', 'known_no_chart')
      AND (chosen.only_region IS NULL OR s.region = chosen.only_region)
),
-- The period inside each region's whole history of the chart, answered nights included.
windows AS (
    SELECT h.region, greatest(min(h.snapshot_date), any_value(c.from_date)) AS checked_from,
           least(max(h.snapshot_date), any_value(c.to_date)) AS checked_to
    FROM (SELECT * FROM held_ever UNION ALL SELECT * FROM no_chart_ever) h, chosen c
    GROUP BY h.region
    HAVING checked_from <= checked_to
),
no_chart AS (
    SELECT n.region, n.snapshot_date
    FROM no_chart_ever n
    JOIN windows w ON w.region = n.region
                  AND n.snapshot_date BETWEEN w.checked_from AND w.checked_to
    ANTI JOIN held_ever h ON h.region = n.region AND h.snapshot_date = n.snapshot_date
),
per_region_no_chart AS (
    SELECT region, count(DISTINCT snapshot_date) AS no_chart_days,
           list(DISTINCT snapshot_date ORDER BY snapshot_date) AS no_chart_dates
    FROM no_chart
    GROUP BY region
),
held AS (
    SELECT h.region, h.snapshot_date
    FROM held_ever h
    JOIN windows w ON w.region = h.region
                  AND h.snapshot_date BETWEEN w.checked_from AND w.checked_to
),
warehouse_span AS (
    SELECT min(m.snapshot_date) AS warehouse_first_date, max(m.snapshot_date) AS warehouse_last_date
    FROM merged_snapshots m, chosen
    WHERE m.snapshot_date BETWEEN chosen.from_date AND chosen.to_date
),
spans AS (
    SELECT w.region, w.checked_from, w.checked_to, min(h.snapshot_date) AS first_date,
           max(h.snapshot_date) AS last_date, count(h.snapshot_date) AS snapshots
    FROM windows w
    LEFT JOIN held h USING (region)
    GROUP BY w.region, w.checked_from, w.checked_to
),
calendar AS (
    SELECT s.region, CAST(d.day AS DATE) AS day
    FROM spans s, generate_series(s.checked_from, s.checked_to, INTERVAL 1 DAY) AS d(day)
),
missing AS (
    SELECT c.region, c.day
    FROM calendar c
    ANTI JOIN held h ON h.region = c.region AND h.snapshot_date = c.day
    ANTI JOIN no_chart n ON n.region = c.region AND n.snapshot_date = c.day
),
-- Consecutive missing days share day - their row number: one island a gap.
gaps AS (
    SELECT region, min(day) AS gap_first, max(day) AS gap_last, count(*) AS days
    FROM (SELECT region, day,
                 day - CAST(row_number() OVER (PARTITION BY region ORDER BY day) AS INTEGER)
                     AS island
          FROM missing)
    GROUP BY region, island
),
per_region_gaps AS (
    SELECT region,
           string_agg(CASE WHEN days = 1 THEN strftime(gap_first, '%Y-%m-%d')
                           ELSE strftime(gap_first, '%Y-%m-%d') || '..'
                                || strftime(gap_last, '%Y-%m-%d') || ' (' || days || ' days)'
                      END, ', ' ORDER BY gap_first) AS gaps,
           max(days) AS longest_gap_days
    FROM gaps
    GROUP BY region
),
per_region_missing AS (
    SELECT region, list(day ORDER BY day) AS missing_dates
    FROM missing
    GROUP BY region
)
SELECT s.region, s.first_date, s.last_date, s.checked_from, s.checked_to,
       datediff('day', s.checked_from, s.checked_to) + 1 AS calendar_days, s.snapshots,
       datediff('day', s.checked_from, s.checked_to) + 1 - s.snapshots
           - coalesce(nc.no_chart_days, 0) AS missing_days,
       coalesce(m.missing_dates, []::DATE[]) AS missing_dates, coalesce(g.gaps, '') AS gaps,
       coalesce(g.longest_gap_days, 0) AS longest_gap_days, w.warehouse_first_date,
       w.warehouse_last_date,
       coalesce(nc.no_chart_days, 0) AS no_chart_days,
       coalesce(nc.no_chart_dates, []::DATE[]) AS no_chart_dates
FROM spans s
LEFT JOIN per_region_missing m USING (region)
LEFT JOIN per_region_gaps g USING (region)
LEFT JOIN per_region_no_chart nc USING (region)
CROSS JOIN warehouse_span w
ORDER BY s.region;
