-- video_history: one video's rank and views on every region's chart over time, with the gains between snapshots
--
-- Every entry of `video` (required), per region in date order: its rank and counts, and the
-- change since the region's previous held snapshot (`previous_date`), which is not always
-- yesterday: after a missing day (no snapshot for the region) the gain spans `days_between`
-- days, so `view_gain` is a gain over that many days and `view_gain_per_day` is it divided by
-- them (never a daily gain over a gap). Counts are cumulative: gains are differences, never sums.
--
-- Where the video was not on the previous snapshot's chart, previous_rank, rank_change and the
-- gains are NULL and `arrival` says why: `censored` on the region's first held snapshot (it may
-- have been on the chart before the history began: its entry is unknown), `entered` at its first
-- appearance in the region, `re-entered` when it comes back after a held snapshot without it;
-- `stayed` when it was on the previous snapshot too. `still_on_chart` marks its entry on the
-- region's latest held snapshot (its stay is not over: right-censored). A gain is NULL where
-- either view count is NULL.
--
-- Past the chart: the days the tracking stage looked the video up while it was on no chart
-- follow, with `region` NULL, `arrival` `tracked` (and its counts, the gain since the video's
-- previous observed day on any chart or lookup) or `vanished` (the API no longer returned it:
-- deleted or private; no counts). So a view curve runs on after the video leaves every chart.
--
-- Columns: region, snapshot_date, rank, previous_date, days_between, previous_rank, rank_change
-- (previous_rank - rank: > 0 climbed), view_count, view_gain, view_gain_per_day, like_count,
-- comment_count, arrival, still_on_chart.
--
-- @param video video (default: required) the video's id
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('video') AS VARCHAR),
                    error('video_history needs a video: --param video=ID (an 11-character id)'))
               AS video_id
),
-- The video's entries lie between its first and last day on any chart: the scan of
-- chart_entries reads those dates' row groups only, not two million video ids.
video_span AS (
    SELECT min(v.first_seen_date) AS since, max(v.last_seen_date) AS until
    FROM videos v, chosen
    WHERE v.video_id = chosen.video_id
),
video_entries AS (
    SELECT e.region, e.snapshot_date, e.rank, e.view_count, e.like_count, e.comment_count,
           -- The previous entry of this video in the region, whatever its date: tells an entry
           -- from a re-entry.
           lag(e.snapshot_date) OVER (PARTITION BY e.region ORDER BY e.snapshot_date)
               AS previous_entry_date
    FROM chart_entries e, chosen, video_span
    WHERE e.video_id = chosen.video_id
      AND e.snapshot_date BETWEEN video_span.since AND video_span.until
),
observed AS (
    -- Every day the video was observed: on a chart (counts are global: any region's entry), or
    -- looked up by the tracking stage (never on a day it was on a chart). Lookups come after its
    -- first chart day, so the scan of tracked_videos starts there.
    SELECT snapshot_date, 'chart' AS source, true AS returned, max(view_count) AS view_count,
           max(like_count) AS like_count, max(comment_count) AS comment_count
    FROM video_entries
    GROUP BY snapshot_date
    UNION ALL
    SELECT t.snapshot_date, 'tracking', t.returned, t.view_count, t.like_count, t.comment_count
    FROM tracked_videos t, chosen, video_span
    WHERE t.video_id = chosen.video_id AND t.snapshot_date > video_span.since
),
tracked AS (
    SELECT *,
           lag(snapshot_date) OVER (ORDER BY snapshot_date) AS previous_date,
           lag(view_count) OVER (ORDER BY snapshot_date) AS previous_views
    FROM observed
)
SELECT e.region, e.snapshot_date, e.rank, c.previous_date,
       datediff('day', c.previous_date, e.snapshot_date) AS days_between,
       p.rank AS previous_rank, p.rank - e.rank AS rank_change, e.view_count,
       e.view_count - p.view_count AS view_gain,
       (e.view_count - p.view_count) / datediff('day', c.previous_date, e.snapshot_date)
           AS view_gain_per_day,
       e.like_count, e.comment_count,
       CASE WHEN c.previous_date IS NULL THEN 'censored'
            WHEN p.snapshot_date IS NOT NULL THEN 'stayed'
            WHEN e.previous_entry_date IS NULL THEN 'entered'
            ELSE 're-entered' END AS arrival,
       e.snapshot_date = c.last_date AS still_on_chart
FROM video_entries e
JOIN region_snapshots c USING (region, snapshot_date)
LEFT JOIN video_entries p ON p.region = e.region AND p.snapshot_date = c.previous_date
UNION ALL
SELECT NULL, t.snapshot_date, NULL, t.previous_date,
       datediff('day', t.previous_date, t.snapshot_date), NULL, NULL, t.view_count,
       t.view_count - t.previous_views,
       (t.view_count - t.previous_views) / datediff('day', t.previous_date, t.snapshot_date),
       t.like_count, t.comment_count,
       CASE WHEN t.returned THEN 'tracked' ELSE 'vanished' END, false
FROM tracked t
WHERE t.source = 'tracking'
ORDER BY region NULLS LAST, snapshot_date;
