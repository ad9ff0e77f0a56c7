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
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('limit') AS BIGINT), 5) AS per_region
),
-- Each region's previous held snapshot. merged_snapshots (one row a date, listing the regions its
-- snapshot holds) answers this without touching chart_entries.
previous_snapshots AS (
    SELECT r.region, max(m.snapshot_date) AS previous_date
    FROM merged_snapshots m, unnest(m.regions) AS r(region), chosen
    WHERE m.snapshot_date < chosen.chart_date
      AND (chosen.only_region IS NULL OR r.region = chosen.only_region)
    GROUP BY r.region
),
on_chart_date AS (
    SELECT e.region, e.video_id, e.rank, e.snapshot_date
    FROM chart_entries e, chosen
    WHERE e.snapshot_date = chosen.chart_date
      AND (chosen.only_region IS NULL OR e.region = chosen.only_region)
),
-- Filtering on the previous dates themselves lets the scan skip every other date's row groups.
on_previous AS (
    SELECT e.region, e.video_id, e.rank, e.snapshot_date
    FROM chart_entries e
    JOIN previous_snapshots p ON p.region = e.region AND p.previous_date = e.snapshot_date
    WHERE e.snapshot_date IN (SELECT previous_date FROM previous_snapshots)
),
climbs AS (
    SELECT cur.snapshot_date, cur.region, cur.video_id, cur.rank, prev.rank AS previous_rank,
           prev.rank - cur.rank AS climb, prev.snapshot_date AS previous_date,
           datediff('day', prev.snapshot_date, cur.snapshot_date) AS days_since_previous,
           row_number() OVER (PARTITION BY cur.region
                              ORDER BY prev.rank - cur.rank DESC, cur.rank, cur.video_id) AS climber
    FROM on_chart_date cur
    JOIN on_previous prev USING (region, video_id)
    WHERE prev.rank > cur.rank
)
SELECT c.snapshot_date, c.region, c.climber, c.video_id, v.title, c.rank, c.previous_rank,
       c.climb, c.previous_date, c.days_since_previous
FROM climbs c
JOIN videos v USING (video_id)
WHERE c.climber <= (SELECT per_region FROM chosen)
ORDER BY c.region, c.climber;
