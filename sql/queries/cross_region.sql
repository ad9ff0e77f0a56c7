-- cross_region: videos on several regions' charts: where each appeared first, the lag to the rest
--
-- Per video: how many regions' charts it reached, the region(s) it appeared in first, the date,
-- and for every region the date of its first appearance there and the lag in calendar days from
-- the first date. Dates are snapshot dates; a lag is measured between held snapshots, so an
-- arrival right after a missing day may have happened on that day.
--
-- As of `date`: only the snapshots up to that date count, so the answer for a past date is what
-- the warehouse would have said that night (titles excepted: they are the latest metadata).
--
-- Censoring: a video already on a region's chart on that region's first held snapshot arrived
-- there on that date or earlier (left-censored, written `≤date` in `arrivals` and listed in
-- `censored_regions`). Its origin is then unknown, since that region may have had it first:
-- `origin_known` is false and first_date, first_regions, max_lag_days and the lags are NULL or
-- left out rather than guessed (otherwise every video on the first date would look as if it
-- appeared everywhere at once). `still_on_chart` means it is on some region's latest held
-- snapshot (as of `date`): it may yet reach more regions.
--
-- With `since`, only the videos that arrived on some region's chart on or after that date: a
-- first appearance there, not a left-censored one ("what is spreading lately").
--
-- Columns: video_id, title, channel_id, channel_title (the latest metadata; channel_id is the
-- key), regions_reached, origin_known, first_date, first_regions (comma-separated, by code),
-- max_lag_days (the last region's lag), arrivals (`KR 2026-11-12 +0d, JP 2026-11-13 +1d`: every
-- region by first appearance; without lags when the origin is unknown), censored_regions,
-- still_on_chart, matching_videos (how many videos pass min_regions, video and since: all of
-- them, not only the rows shown). Order: most regions first, known origins before unknown ones,
-- then the earliest first appearance, then video_id.
--
-- @param date date (default: the latest snapshot date) count the snapshots up to this date only
-- @param since date (default: any date) only videos arriving on some region's chart from this date
-- @param min_regions integer (default: 2, or 1 with video) the fewest regions a video must reach
-- @param video video (default: every video) only this video
-- @param limit integer (default: 20) rows
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('min_regions') AS BIGINT),
                    CASE WHEN getvariable('video') IS NULL THEN 2 ELSE 1 END) AS min_regions,
           coalesce(CAST(getvariable('limit') AS BIGINT), 20) AS row_limit
),
-- Each region's first and latest held snapshot, as of the date.
region_spans AS (
    SELECT region, min(first_date) AS region_first_date, max(snapshot_date) AS region_last_date
    FROM region_snapshots
    WHERE getvariable('date') IS NULL OR snapshot_date <= CAST(getvariable('date') AS DATE)
    GROUP BY region
),
-- With one video asked for, its entries lie between its first and last day on any chart: the
-- scan of chart_entries then reads those dates' row groups only, not two million video ids.
video_span AS (
    SELECT min(first_seen_date) AS since, max(last_seen_date) AS until
    FROM videos
    WHERE getvariable('video') IS NOT NULL
      AND video_id = CAST(getvariable('video') AS VARCHAR)
),
-- With `since`, the videos on some chart from that date on: any video that arrived since is
-- among them, and gathering only their stays below (all their dates, to tell an arrival from a
-- censored one) costs a fraction of gathering every video's.
recent AS (
    SELECT DISTINCT video_id
    FROM chart_entries
    WHERE snapshot_date >= CAST(getvariable('since') AS DATE)
      AND (getvariable('date') IS NULL OR snapshot_date <= CAST(getvariable('date') AS DATE))
),
stays AS (
    SELECT e.region, e.video_id, min(e.snapshot_date) AS first_date,
           max(e.snapshot_date) AS last_date
    FROM chart_entries e, video_span
    -- getvariable() itself, not a column of chosen: a constant that the scan filters on.
    WHERE (getvariable('video') IS NULL
           OR (e.video_id = CAST(getvariable('video') AS VARCHAR)
               AND e.snapshot_date BETWEEN video_span.since AND video_span.until))
      AND (getvariable('date') IS NULL OR e.snapshot_date <= CAST(getvariable('date') AS DATE))
      AND (getvariable('since') IS NULL OR e.video_id IN (SELECT video_id FROM recent))
    GROUP BY e.region, e.video_id
),
arrivals AS (
    SELECT s.video_id, s.region, s.first_date,
           s.first_date = r.region_first_date AS left_censored,
           s.last_date = r.region_last_date AS still_on_chart
    FROM stays s
    JOIN region_spans r USING (region)
),
spread AS (
    SELECT video_id, count(*) AS regions_reached,
           NOT bool_or(left_censored) AS origin_known,
           -- Shown only when the origin is known; orders the rows either way.
           min(first_date) AS earliest_seen,
           max(first_date) AS last_arrival,
           bool_or(still_on_chart) AS still_on_chart,
           string_agg(region, ',' ORDER BY region) FILTER (WHERE left_censored) AS censored_regions
    FROM arrivals
    GROUP BY video_id
    HAVING count(*) >= (SELECT min_regions FROM chosen)
       AND (getvariable('since') IS NULL
            OR bool_or(NOT left_censored
                       AND first_date >= CAST(getvariable('since') AS DATE)))
),
-- The rows shown, before spelling out their arrivals and joining titles: both cost more than the
-- ranking when done for every video.
shown AS (
    SELECT *, count(*) OVER () AS matching_videos
    FROM spread
    ORDER BY regions_reached DESC, origin_known DESC, earliest_seen, video_id
    LIMIT (SELECT row_limit FROM chosen)
),
described AS (
    SELECT s.video_id,
           string_agg(a.region, ',' ORDER BY a.region)
               FILTER (WHERE a.first_date = s.earliest_seen) AS earliest_regions,
           string_agg(a.region || ' '
                      || CASE WHEN a.left_censored THEN '≤' ELSE '' END
                      || strftime(a.first_date, '%Y-%m-%d')
                      || CASE WHEN s.origin_known
                              THEN ' +' || datediff('day', s.earliest_seen, a.first_date) || 'd'
                              ELSE '' END,
                      ', ' ORDER BY a.first_date, a.region) AS arrivals
    FROM shown s
    JOIN arrivals a USING (video_id)
    GROUP BY s.video_id
)
SELECT s.video_id, v.title, v.channel_id, v.channel_title, s.regions_reached, s.origin_known,
       CASE WHEN s.origin_known THEN s.earliest_seen END AS first_date,
       CASE WHEN s.origin_known THEN d.earliest_regions END AS first_regions,
       CASE WHEN s.origin_known THEN datediff('day', s.earliest_seen, s.last_arrival) END
           AS max_lag_days,
       d.arrivals, s.censored_regions, s.still_on_chart, s.matching_videos
FROM shown s
JOIN described d USING (video_id)
JOIN videos v USING (video_id)
-- Each video shown was first seen by its earliest arrival and last seen at its last arrival or
-- later: bounds that let the scan of videos skip the row groups of videos seen only before or
-- after them.
WHERE v.first_seen_date <= (SELECT max(earliest_seen) FROM shown)
  AND v.last_seen_date >= (SELECT min(last_arrival) FROM shown)
ORDER BY s.regions_reached DESC, s.origin_known DESC, s.earliest_seen, s.video_id;
