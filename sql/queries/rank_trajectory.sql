-- rank_trajectory: the rank of each region's top videos of a date on every held snapshot of the days before
--
-- For the chart of `date`, per region, the videos ranked 1..`top` on it (its leaders), and for
-- each of them one row per snapshot the region holds in the `days` calendar days ending on
-- `date` (`date` included): its rank on that snapshot, or NULL when that snapshot does not have
-- it (off the chart that day). This is the data of a bump chart.
--
-- Gaps: a day the region holds no snapshot of (a night with no run, the region failing, or a day
-- before the region's history began) has no row at all, for any video: it is unknown, not "off
-- the chart", and a chart drawn from these rows shows a gap there, not a drop. So every leader of
-- a region has the same dates (the region's held snapshots in the window), and `rank` is NULL only
-- on a held snapshot without the video. A region with no snapshot on `date` gives no rows.
--
-- Censoring: the window is cut at the region's first held snapshot; a leader may have been on
-- the chart before the window (or before the history) began, so the rows say nothing about how
-- it got there.
--
-- Columns: chart_date (`date`), region, rank_on_date (the leader's rank on `date`, 1..top),
-- video_id, title (the latest metadata), snapshot_date (a held snapshot in the window),
-- days_before (chart_date - snapshot_date, 0 on `date`), rank (NULL: off that snapshot's chart),
-- view_count (NULL when off the chart, or hidden). Order: region, rank_on_date, snapshot_date.
--
-- @param date date (default: the latest snapshot date) the chart date
-- @param region region (default: every region) only this region
-- @param top integer (default: 10) leaders per region: the videos ranked 1..top on the date
-- @param days integer (default: 14) calendar days of history, the date included (0: no rows)
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('top') AS BIGINT), 10) AS top_n,
           coalesce(CAST(getvariable('days') AS BIGINT), 14) AS window_days
),
bounds AS (
    SELECT chart_date, only_region, top_n,
           chart_date - CAST(window_days - 1 AS INTEGER) AS window_start
    FROM chosen
),
-- Each region's held snapshots in the window (region_snapshots answers this without touching
-- chart_entries).
held AS (
    SELECT s.region, s.snapshot_date
    FROM region_snapshots s, bounds b
    WHERE s.snapshot_date BETWEEN b.window_start AND b.chart_date
      AND (b.only_region IS NULL OR s.region = b.only_region)
),
leaders AS (
    SELECT e.region, e.video_id, e.rank AS rank_on_date
    FROM chart_entries e, bounds b
    WHERE e.snapshot_date = b.chart_date
      AND e.rank <= b.top_n
      AND (b.only_region IS NULL OR e.region = b.only_region)
),
-- The leaders' entries in the window; filtering on the window's dates lets the scan skip every
-- other date's row groups.
stays AS (
    SELECT e.region, e.video_id, e.snapshot_date, e.rank, e.view_count
    FROM chart_entries e
    JOIN leaders l USING (region, video_id)
    WHERE e.snapshot_date BETWEEN (SELECT window_start FROM bounds)
                              AND (SELECT chart_date FROM bounds)
),
-- Every video on the chart date was first seen on or before it and last seen on or after it:
-- bounds that let the scan of videos skip the row groups of the others (see top_movers).
titled AS (
    SELECT l.*, v.title
    FROM leaders l
    JOIN videos v USING (video_id), bounds b
    WHERE v.first_seen_date <= b.chart_date AND v.last_seen_date >= b.chart_date
)
SELECT b.chart_date, t.region, t.rank_on_date, t.video_id, t.title, h.snapshot_date,
       datediff('day', h.snapshot_date, b.chart_date) AS days_before, s.rank, s.view_count
FROM titled t
JOIN held h ON h.region = t.region
LEFT JOIN stays s ON s.region = t.region AND s.video_id = t.video_id
                 AND s.snapshot_date = h.snapshot_date
CROSS JOIN bounds b
ORDER BY t.region, t.rank_on_date, h.snapshot_date;
