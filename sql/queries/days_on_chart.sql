-- days_on_chart: how many days each video has spent on each region's chart, longest first
--
-- The total over all of a video's runs on one region's chart, counted in held snapshots: a missing
-- day (no snapshot for the region) is neither a day on nor a day off the chart. `days_on_chart`
-- is the sum of the `days_on_chart` of the video's rows in streaks, `runs` how many runs that is
-- (more than one: it left and came back) and `longest_run` the longest of them, in held snapshots.
-- `first_date` and `last_date` are its first and last held snapshots on the chart.
--
-- Censoring: `left_censored` means it was on the region's first held snapshot (it was on the
-- chart before the warehouse's history of the region began), `right_censored` that it is on the
-- region's latest held snapshot (still on the chart). Either makes the total a lower bound.
--
-- Columns: region, video_id, title, channel_id, channel_title (the latest metadata; channel_id is
-- the key), days_on_chart, runs, longest_run, first_date, last_date, best_rank, left_censored,
-- right_censored. Ties: the better best rank, then region, video_id.
--
-- @param region region (default: every region) only this region
-- @param video video (default: every video) only this video
-- @param limit integer (default: 20) rows
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('limit') AS BIGINT), 20) AS row_limit
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
-- The totals. A stay is one unbroken run when it has as many snapshots as its first to last
-- snapshot numbers span: true of most, found without sorting every entry.
stays AS (
    SELECT region, video_id, count(*) AS days_on_chart, min(snapshot_date) AS first_date,
           max(snapshot_date) AS last_date, min(rank) AS best_rank,
           count(*) < max(snapshot_no) - min(snapshot_no) + 1 AS broken
    FROM numbered_entries
    GROUP BY region, video_id
),
-- The others left and came back: gaps and islands over their entries only, as in streaks.
-- snapshot_no minus the video's own count of snapshots so far is constant along a run.
broken_entries AS (
    SELECT n.region, n.video_id,
           n.snapshot_no - row_number() OVER (PARTITION BY n.region, n.video_id
                                              ORDER BY n.snapshot_no) AS island
    FROM numbered_entries n
    SEMI JOIN stays s ON s.region = n.region AND s.video_id = n.video_id AND s.broken
),
broken_runs AS (
    SELECT region, video_id, count(*) AS runs, max(run_length) AS longest_run
    FROM (SELECT region, video_id, count(*) AS run_length
          FROM broken_entries
          GROUP BY region, video_id, island)
    GROUP BY region, video_id
),
longest AS (
    SELECT s.*, coalesce(b.runs, 1) AS runs, coalesce(b.longest_run, s.days_on_chart) AS longest_run
    FROM stays s
    LEFT JOIN broken_runs b USING (region, video_id)
    ORDER BY s.days_on_chart DESC, s.best_rank, s.region, s.video_id
    LIMIT (SELECT row_limit FROM chosen)
)
-- Titles only for the rows shown: joining every stay to videos costs more than the ranking.
SELECT l.region, l.video_id, v.title, v.channel_id, v.channel_title, l.days_on_chart, l.runs,
       l.longest_run, l.first_date, l.last_date, l.best_rank,
       l.first_date = c.first_date AS left_censored,
       l.last_date = c.last_date AS right_censored
FROM longest l
JOIN videos v USING (video_id)
JOIN region_snapshots c ON c.region = l.region AND c.snapshot_date = l.first_date
-- Each video shown was first seen by its first day here and last seen on its last day here or
-- later: bounds that let the scan of videos skip the row groups of videos seen only before or
-- after them.
WHERE v.first_seen_date <= (SELECT max(first_date) FROM longest)
  AND v.last_seen_date >= (SELECT min(last_date) FROM longest)
ORDER BY l.days_on_chart DESC, l.best_rank, l.region, l.video_id;
