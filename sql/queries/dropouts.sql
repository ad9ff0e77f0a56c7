-- dropouts: the videos on each region's previous snapshot that are off its chart on a date
--
-- For the chart of `date`, per region, the videos that were on that region's previous held
-- snapshot and are not on this one, with the run on the chart that ended. "Previous" is the
-- region's previous snapshot in the warehouse, not yesterday: after a missing day the video left
-- at some point in the `days_since_previous` days between the two.
--
-- The run that ended: the video's consecutive held snapshots on the region's chart up to
-- `previous_date` (a missing day does not break a run; a held snapshot without the video does).
-- `run_snapshots` counts the snapshots in it (days on the chart), `run_calendar_days` the
-- calendar days from `run_start` to `previous_date`, missing days included. A run that reaches
-- back to the region's first held snapshot is left-censored (`run_left_censored`): it began on or
-- before `run_start`, so both lengths are lower bounds.
--
-- Censoring: a region's first held snapshot has no dropouts (there is no previous one); a date
-- that is a region's first gives no rows for it. Right censoring does not apply: every row is a
-- run that has ended.
--
-- Columns: snapshot_date, region, last_rank (on previous_date), video_id, title, channel_id,
-- channel_title (the latest metadata; channel_id is the key), previous_date,
-- days_since_previous, run_start, run_snapshots, run_calendar_days, run_left_censored,
-- region_dropouts (how many videos left the region's chart on the date, before the limit).
--
-- @param date date (default: the latest snapshot date) the chart date
-- @param region region (default: every region) only this region
-- @param limit integer (default: 20) dropouts per region, best last rank first
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('limit') AS BIGINT), 20) AS per_region
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
    SELECT e.region, e.video_id
    FROM chart_entries e
    JOIN compared c USING (region, snapshot_date)
),
on_previous AS (
    SELECT e.region, e.video_id, e.rank AS last_rank, e.snapshot_date AS previous_date
    FROM chart_entries e
    JOIN compared c ON c.region = e.region AND c.previous_date = e.snapshot_date
),
-- With their metadata now: videos is read once, for the titles and for first_seen_date. A
-- dropped video was on a previous snapshot, so it was first seen before the chart date and last
-- seen on or after the earliest previous date: the scan of videos skips the row groups of the
-- others (see top_movers).
dropped AS (
    SELECT prev.*, v.title, v.channel_id, v.channel_title, v.first_seen_date
    FROM on_previous prev
    ANTI JOIN on_chart_date cur USING (region, video_id)
    JOIN videos v USING (video_id), chosen
    WHERE v.first_seen_date < chosen.chart_date
      AND v.last_seen_date >= (SELECT min(previous_date) FROM compared)
),
-- The dropped videos' stays in their region, as islands: snapshot_no minus the video's own count
-- of snapshots is constant along a run of consecutive held snapshots.
dropped_history AS (
    SELECT e.region, e.video_id, e.snapshot_date, c.first_date AS region_first_date,
           c.snapshot_no - row_number() OVER (PARTITION BY e.region, e.video_id
                                              ORDER BY e.snapshot_date) AS island
    FROM chart_entries e
    JOIN dropped d ON d.region = e.region AND d.video_id = e.video_id
                  AND e.snapshot_date <= d.previous_date
    JOIN region_snapshots c ON c.region = e.region AND c.snapshot_date = e.snapshot_date
    -- No run began before its video's first day on any chart: reading from the earliest of
    -- them spares a long history's years of row groups.
    WHERE e.snapshot_date >= (SELECT min(first_seen_date) FROM dropped)
),
last_runs AS (
    SELECT region, video_id, min(snapshot_date) AS run_start, count(*) AS run_snapshots,
           any_value(region_first_date) AS region_first_date
    FROM dropped_history
    GROUP BY region, video_id, island
    -- The run that ended is the video's latest island: the one holding previous_date.
    QUALIFY island = max(island) OVER (PARTITION BY region, video_id)
),
numbered AS (
    SELECT d.*, r.run_start, r.run_snapshots, r.region_first_date,
           row_number() OVER (PARTITION BY d.region ORDER BY d.last_rank, d.video_id) AS position,
           count(*) OVER (PARTITION BY d.region) AS region_dropouts
    FROM dropped d
    JOIN last_runs r USING (region, video_id)
)
SELECT (SELECT chart_date FROM chosen) AS snapshot_date, n.region, n.last_rank, n.video_id,
       n.title, n.channel_id, n.channel_title, n.previous_date,
       datediff('day', n.previous_date, (SELECT chart_date FROM chosen)) AS days_since_previous,
       n.run_start, n.run_snapshots,
       datediff('day', n.run_start, n.previous_date) + 1 AS run_calendar_days,
       n.run_start = n.region_first_date AS run_left_censored,
       n.region_dropouts
FROM numbered n
WHERE n.position <= (SELECT per_region FROM chosen)
ORDER BY n.region, n.last_rank, n.video_id;
