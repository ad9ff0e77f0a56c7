-- time_to_trend: days from upload to a video's first day on each region's chart, per region
--
-- For each region, the distribution over videos of the days from upload to the video's first
-- held snapshot on the region's chart: days = first snapshot date - the UTC calendar date of
-- published_at, in whole days (0: on the chart of its upload day). Snapshots are daily, so this
-- is the resolution; a first appearance right after a missing day is counted to the snapshot
-- after it, so it may be a day or more late.
--
-- Censoring: a video already on the chart on the region's first held snapshot was there on that
-- date or earlier, so its time to trend is unknown: it is left out of the distribution and
-- counted in `censored` instead. (A video that has not reached a region yet is simply absent.)
--
-- With `video`, the rows are that one video's, per region it reached: videos is 1 and every
-- statistic is its own days (or videos 0, censored 1 and no days where it was left-censored).
--
-- Quantiles are nearest-rank (quantile_disc): the smallest value with at least that share of
-- the videos at or below it.
--
-- Columns: region, video_id (the video given, or NULL for every video), videos (first
-- appearances measured), censored (left out), min_days, p25_days, median_days, p75_days,
-- p90_days, max_days.
--
-- @param region region (default: every region) only this region
-- @param video video (default: every video) per-region rows of this one video
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH
-- Each region's first held snapshot.
region_starts AS (
    SELECT DISTINCT region, first_date AS region_first_date
    FROM region_snapshots
),
-- With one video asked for, its entries lie between its first and last day on any chart: the
-- scan of chart_entries then reads those dates' row groups only, not two million video ids.
video_span AS (
    SELECT min(first_seen_date) AS since, max(last_seen_date) AS until
    FROM videos
    WHERE getvariable('video') IS NOT NULL
      AND video_id = CAST(getvariable('video') AS VARCHAR)
),
first_appearances AS (
    SELECT e.region, e.video_id, min(e.snapshot_date) AS first_date
    FROM chart_entries e, video_span
    -- getvariable() in the scan's own WHERE: a constant that the scan filters on.
    WHERE (getvariable('region') IS NULL OR e.region = CAST(getvariable('region') AS VARCHAR))
      AND (getvariable('video') IS NULL
           OR (e.video_id = CAST(getvariable('video') AS VARCHAR)
               AND e.snapshot_date BETWEEN video_span.since AND video_span.until))
    GROUP BY e.region, e.video_id
),
measured AS (
    SELECT f.region, f.first_date = s.region_first_date AS left_censored,
           -- The UTC upload date, whatever the session's time zone (`query --time-zone`).
           datediff('day', CAST(v.published_at AT TIME ZONE 'UTC' AS DATE), f.first_date)
               AS days_to_trend
    FROM first_appearances f
    JOIN region_starts s USING (region)
    JOIN videos v USING (video_id)
)
SELECT m.region, CAST(getvariable('video') AS VARCHAR) AS video_id,
       count(*) FILTER (WHERE NOT m.left_censored) AS videos,
       count(*) FILTER (WHERE m.left_censored) AS censored,
       min(m.days_to_trend) FILTER (WHERE NOT m.left_censored) AS min_days,
       quantile_disc(m.days_to_trend, 0.25) FILTER (WHERE NOT m.left_censored) AS p25_days,
       quantile_disc(m.days_to_trend, 0.5) FILTER (WHERE NOT m.left_censored) AS median_days,
       quantile_disc(m.days_to_trend, 0.75) FILTER (WHERE NOT m.left_censored) AS p75_days,
       quantile_disc(m.days_to_trend, 0.9) FILTER (WHERE NOT m.left_censored) AS p90_days,
       max(m.days_to_trend) FILTER (WHERE NOT m.left_censored) AS max_days
FROM measured m
GROUP BY m.region
ORDER BY m.region;
