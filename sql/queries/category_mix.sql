-- category_mix: each category's share of the chart entries per region per ISO week
--
-- For each region and week between `from` and `to` (inclusive), how the chart entries held that
-- week split over categories: entries (one per video per held snapshot) of the category divided
-- by all the region's entries that week. Weeks are ISO weeks, Monday to Sunday, labelled
-- `2026-W47` (ISO year and week number) and by their Monday (`week_start`).
--
-- A share is of the entries held, so a week with missing days (no snapshot for the region) or
-- cut by `from`/`to` still sums to 1, over fewer snapshots: `snapshots` says how many held
-- snapshots the week has and `calendar_days` how many of its 7 days lie in the period, so a
-- partial week (snapshots < 7) is visible and can be left out. Entries are observations, not
-- arrivals: censoring does not apply. A video is counted under its latest category; a video
-- without one is under category_id NULL (category "(none)").
--
-- Columns: region, iso_week, week_start, calendar_days, snapshots, week_entries (all the region's
-- entries that week), category_id, category, entries, share (entries / week_entries, rounded to
-- 4 places). Order: region, week, the largest category first (ties: category_id).
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
-- Held snapshots of the chart per region and week (region_snapshots: a row a held snapshot).
-- date_trunc('week') is ISO: weeks start on Monday.
region_weeks AS (
    SELECT r.region, CAST(date_trunc('week', r.snapshot_date) AS DATE) AS week_start,
           count(*) AS snapshots
    FROM region_snapshots r, chosen
    WHERE r.snapshot_date BETWEEN chosen.from_date AND chosen.to_date
      AND (chosen.only_region IS NULL OR r.region = chosen.only_region)
    GROUP BY ALL
),
-- Counted per video first, so the join to videos meets one row a video and week, not one a
-- chart-day.
video_weeks AS (
    SELECT e.region, CAST(date_trunc('week', e.snapshot_date) AS DATE) AS week_start,
           e.video_id, count(*) AS entries
    FROM chart_entries e, chosen
    WHERE e.snapshot_date BETWEEN chosen.from_date AND chosen.to_date
      AND (chosen.only_region IS NULL OR e.region = chosen.only_region)
    GROUP BY ALL
),
category_weeks AS (
    SELECT w.region, w.week_start, v.category_id, CAST(sum(w.entries) AS BIGINT) AS entries
    FROM video_weeks w
    JOIN videos v USING (video_id), chosen
    -- Every video with an entry in the period was first seen by its end and last seen at its
    -- start or later: bounds that let the scan of videos skip the row groups of the others.
    WHERE v.first_seen_date <= chosen.to_date AND v.last_seen_date >= chosen.from_date
    GROUP BY ALL
),
week_totals AS (
    SELECT region, week_start, CAST(sum(entries) AS BIGINT) AS week_entries
    FROM category_weeks
    GROUP BY ALL
)
SELECT c.region, strftime(c.week_start, '%G-W%V') AS iso_week, c.week_start,
       -- The days of the week inside the period: 7 but where from/to cut the week.
       datediff('day', greatest(c.week_start, chosen.from_date),
                least(c.week_start + 6, chosen.to_date)) + 1 AS calendar_days,
       w.snapshots, t.week_entries, c.category_id, CASE WHEN c.category_id IS NULL THEN '(none)' ELSE k.name END AS category,
       c.entries, round(c.entries / t.week_entries, 4) AS share
FROM category_weeks c
JOIN week_totals t USING (region, week_start)
JOIN region_weeks w USING (region, week_start)
LEFT JOIN categories k ON k.category_id = c.category_id
CROSS JOIN chosen
ORDER BY c.region, c.week_start, c.entries DESC, c.category_id NULLS LAST;
