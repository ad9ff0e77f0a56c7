-- streaks: continuous runs of videos on a region's chart, longest first
--
-- A run (streak) is a video's consecutive held snapshots on one region's chart. Runs are counted
-- over the snapshots the warehouse holds for the region: a missing day (no snapshot for the
-- region) does not break a run, a held snapshot without the video does. A video that leaves and
-- comes back has one row per run (`run_no` numbers them in order).
--
-- Lengths: `days_on_chart` is the number of held snapshots in the run (what the ranking and
-- min_days use; days_on_chart sums it over a video's runs); `calendar_days` is the span from
-- start_date to end_date inclusive, so a missing day inside a run counts (the video is taken to
-- have stayed through it).
--
-- Censoring: `left_censored` means the run starts on the region's first held snapshot (it began
-- then or earlier); `right_censored` means it ends on the region's latest held snapshot (it has
-- not ended). Both make the lengths lower bounds; they are shown, never dropped.
--
-- Columns: region, video_id, title, channel_id, channel_title (the latest metadata; channel_id is
-- the key), run_no, start_date, end_date, days_on_chart, calendar_days, best_rank, left_censored,
-- right_censored. Ties: the longer calendar span, then region, video_id, start_date.
--
-- @param region region (default: every region) only this region
-- @param video video (default: every video) only this video
-- @param min_days integer (default: 1) the fewest held snapshots a run must have
-- @param limit integer (default: 20) rows
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('min_days') AS BIGINT), 1) AS min_days,
           coalesce(CAST(getvariable('limit') AS BIGINT), 20) AS row_limit
),
-- With one video asked for, its entries lie between its first and last day on any chart: the
-- scans of chart_entries then read those dates' row groups only, not two million video ids.
video_span AS (
    SELECT min(first_seen_date) AS since, max(last_seen_date) AS until
    FROM videos
    WHERE getvariable('video') IS NOT NULL
      AND video_id = CAST(getvariable('video') AS VARCHAR)
),
-- Read twice, by stays and by broken_entries: scanning and joining again is cheaper than
-- materialising two million rows.
numbered_entries AS NOT MATERIALIZED (
    SELECT e.region, e.video_id, e.snapshot_date, e.rank, c.snapshot_no
    FROM chart_entries e
    JOIN region_snapshots c USING (region, snapshot_date), video_span
    -- getvariable() itself, not a column of chosen: a constant that the scan filters on as it
    -- reads, where a join to chosen would filter only after the calendar join of every row.
    WHERE (getvariable('region') IS NULL OR e.region = CAST(getvariable('region') AS VARCHAR))
      AND (getvariable('video') IS NULL
           OR (e.video_id = CAST(getvariable('video') AS VARCHAR)
               AND e.snapshot_date BETWEEN video_span.since AND video_span.until))
),
-- A video's stay on a region's chart is one unbroken run when it has as many snapshots as its
-- first to last snapshot numbers span. That holds for most, and a GROUP BY finds them without
-- the sort that a window over every entry needs (the bulk of the cost on a long history).
stays AS (
    SELECT region, video_id, count(*) AS snapshots, min(snapshot_date) AS first_date,
           max(snapshot_date) AS last_date, min(rank) AS best_rank,
           count(*) < max(snapshot_no) - min(snapshot_no) + 1 AS broken
    FROM numbered_entries
    GROUP BY region, video_id
),
-- The others left and came back: gaps and islands over their entries only. snapshot_no minus
-- the video's own count of snapshots so far is constant along a run, and grows at every held
-- snapshot the video missed.
broken_entries AS (
    SELECT n.region, n.video_id, n.snapshot_date, n.rank,
           n.snapshot_no - row_number() OVER (PARTITION BY n.region, n.video_id
                                              ORDER BY n.snapshot_no) AS island
    FROM numbered_entries n
    SEMI JOIN stays s ON s.region = n.region AND s.video_id = n.video_id AND s.broken
),
broken_runs AS (
    SELECT region, video_id, min(snapshot_date) AS start_date, max(snapshot_date) AS end_date,
           count(*) AS days_on_chart, min(rank) AS best_rank
    FROM broken_entries
    GROUP BY region, video_id, island
),
runs AS (
    SELECT region, video_id, 1 AS run_no, first_date AS start_date, last_date AS end_date,
           snapshots AS days_on_chart, best_rank
    FROM stays
    WHERE NOT broken
    UNION ALL
    SELECT region, video_id,
           row_number() OVER (PARTITION BY region, video_id ORDER BY start_date) AS run_no,
           start_date, end_date, days_on_chart, best_rank
    FROM broken_runs
),
longest AS (
    SELECT r.*, datediff('day', r.start_date, r.end_date) + 1 AS calendar_days
    FROM runs r, chosen
    WHERE r.days_on_chart >= chosen.min_days
    ORDER BY r.days_on_chart DESC, calendar_days DESC, r.region, r.video_id, r.start_date
    LIMIT (SELECT row_limit FROM chosen)
)
-- Titles only for the rows shown: joining every run to videos costs more than the ranking.
SELECT l.region, l.video_id, v.title, v.channel_id, v.channel_title, l.run_no, l.start_date,
       l.end_date, l.days_on_chart, l.calendar_days, l.best_rank,
       l.start_date = c.first_date AS left_censored,
       l.end_date = c.last_date AS right_censored
FROM longest l
JOIN videos v USING (video_id)
JOIN region_snapshots c ON c.region = l.region AND c.snapshot_date = l.start_date
-- Each video shown was first seen by its run's start and last seen at its end or later: bounds
-- that let the scan of videos skip the row groups of videos seen only before or after them.
WHERE v.first_seen_date <= (SELECT max(start_date) FROM longest)
  AND v.last_seen_date >= (SELECT min(end_date) FROM longest)
ORDER BY l.days_on_chart DESC, l.calendar_days DESC, l.region, l.video_id, l.start_date;
