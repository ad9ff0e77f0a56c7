-- rank_climbers: the largest rank improvements on a date since each region's previous snapshot
--
-- For the chart of `date`, the videos of each region that were also on that region's previous
-- held snapshot and now rank higher (a smaller rank), the largest climb first. "Previous" is the
-- region's previous snapshot in the warehouse, not yesterday: after a missing day the climb spans
-- `days_since_previous` days, and is shown as such (ranks are positions, not counts: a climb is
-- not divided per day).
--
-- Not climbers: a video that was not on the previous snapshot (it entered from off the chart, see
-- new_entries), one that kept or lost rank, and every video of a region's first held snapshot
-- (there is no previous one). A date with no snapshot for a region gives no rows for it.
--
-- Columns: snapshot_date, region, climber (1 = the largest climb), video_id, title (the latest),
-- rank, previous_rank, climb (previous_rank - rank, > 0), previous_date, days_since_previous.
-- Equal climbs go to the better rank now.
--
-- @param date date (default: the latest snapshot date) the chart date
-- @param region region (default: every region) only this region
-- @param limit integer (default: 5) climbers per region
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
    SELECT e.region, e.video_id, e.rank, e.snapshot_date, c.previous_date
    FROM chart_entries e
    JOIN compared c USING (region, snapshot_date)
),
on_previous AS (
    SELECT e.region, e.video_id, e.rank
    FROM chart_entries e
    JOIN compared c ON c.region = e.region AND c.previous_date = e.snapshot_date
),
climbs AS (
    SELECT cur.snapshot_date, cur.region, cur.video_id, cur.rank, prev.rank AS previous_rank,
           prev.rank - cur.rank AS climb, cur.previous_date,
           datediff('day', cur.previous_date, cur.snapshot_date) AS days_since_previous,
           row_number() OVER (PARTITION BY cur.region
                              ORDER BY prev.rank - cur.rank DESC, cur.rank, cur.video_id) AS climber
    FROM on_chart_date cur
    JOIN on_previous prev USING (region, video_id)
    WHERE prev.rank > cur.rank
)
SELECT c.snapshot_date, c.region, c.climber, c.video_id, v.title, c.rank, c.previous_rank,
       c.climb, c.previous_date, c.days_since_previous
FROM climbs c
JOIN videos v USING (video_id), chosen
WHERE c.climber <= chosen.per_region
  -- Every video on a date's chart was first seen on or before it and last seen on or after it:
  -- the scan of videos skips the row groups of the others (see top_movers).
  AND v.first_seen_date <= chosen.chart_date AND v.last_seen_date >= chosen.chart_date
ORDER BY c.region, c.climber;
