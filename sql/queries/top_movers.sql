-- top_movers: the largest view gains per day since each region's previous snapshot
--
-- For the chart of `date`, the videos of each region that were also on that region's previous
-- held snapshot, ranked by views gained per day since then. "Previous" is the region's previous
-- snapshot in the warehouse, not yesterday: after a missing day the gain spans two or more days,
-- so `view_gain` is the gain over `days_since_previous` days and `gain_per_day` is that gain
-- divided by the days (the same number when the previous snapshot is the day before). View counts
-- are cumulative: a gain is the difference of two counts, never a sum.
--
-- Not movers (no count to start from, or none to end at): a video that was not on the previous
-- snapshot (an entry or re-entry, see new_entries), a video whose view count is hidden (NULL) on
-- either snapshot, and every video of a region's first held snapshot (there is no previous one).
-- A date with no snapshot for a region gives no rows for it.
--
-- Columns: snapshot_date, region, mover (1 = the largest gain per day), video_id, title (the
-- latest), rank, previous_rank, previous_date, days_since_previous, view_count, view_gain (over
-- days_since_previous days), gain_per_day (rounded to 0.1 view). Ties go to the lower video_id.
--
-- @param date date (default: the latest snapshot date) the chart date
-- @param region region (default: every region) only this region
-- @param limit integer (default: 5) movers per region
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('limit') AS BIGINT), 5) AS per_region
),
-- The regions holding a snapshot on the chart date and one before it (region_snapshots, a table
-- derived from merged_snapshots, answers this without touching chart_entries).
compared AS (
    SELECT s.region, s.snapshot_date, s.previous_date
    FROM region_snapshots s, chosen
    WHERE s.snapshot_date = chosen.chart_date AND s.previous_date IS NOT NULL
      AND (chosen.only_region IS NULL OR s.region = chosen.only_region)
),
-- Joined on the dates, so that each scan skips every other date's row groups.
on_chart_date AS (
    SELECT e.region, e.video_id, e.rank, e.view_count, e.snapshot_date, c.previous_date
    FROM chart_entries e
    JOIN compared c USING (region, snapshot_date)
),
on_previous AS (
    SELECT e.region, e.video_id, e.rank, e.view_count
    FROM chart_entries e
    JOIN compared c ON c.region = e.region AND c.previous_date = e.snapshot_date
),
gains AS (
    SELECT cur.snapshot_date, cur.region, cur.video_id, cur.rank, prev.rank AS previous_rank,
           cur.previous_date,
           datediff('day', cur.previous_date, cur.snapshot_date) AS days_since_previous,
           cur.view_count, cur.view_count - prev.view_count AS view_gain
    FROM on_chart_date cur
    JOIN on_previous prev USING (region, video_id)
    -- Hidden on either side: the gain is unknown, not zero.
    WHERE cur.view_count IS NOT NULL AND prev.view_count IS NOT NULL
),
ranked AS (
    SELECT g.*,
           row_number() OVER (
               PARTITION BY g.region
               ORDER BY g.view_gain / g.days_since_previous DESC, g.video_id
           ) AS mover
    FROM gains g
)
SELECT r.snapshot_date, r.region, r.mover, r.video_id, v.title, r.rank, r.previous_rank,
       r.previous_date, r.days_since_previous, r.view_count, r.view_gain,
       round(r.view_gain / r.days_since_previous, 1) AS gain_per_day
FROM ranked r
JOIN videos v USING (video_id), chosen
WHERE r.mover <= chosen.per_region
  -- Every video on a date's chart was first seen on or before it and last seen on or after it.
  -- Saying so lets the scan of videos skip the row groups of videos seen only long before or
  -- after, instead of reading every video's id for a handful of titles.
  AND v.first_seen_date <= chosen.chart_date AND v.last_seen_date >= chosen.chart_date
ORDER BY r.region, r.mover;
