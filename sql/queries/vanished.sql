-- vanished: videos that became unavailable after charting, when, and how long after their exit
--
-- A video vanishes on the first day the tracking stage asked for it and the API did not return it
-- (deleted, made private, or otherwise unavailable: the API leaves such videos out, with no
-- error). `last_charted` is its last day on one of the tracked regions' charts before that,
-- `days_after_exit` the days between, `regions` every region whose chart it was ever on, and
-- `returned_since` whether a later lookup found it again (a private video made public).
-- Only videos the tracking stage followed can vanish here: a video never looked up after it left
-- is not known to be gone.
--
-- Columns: video_id, title, channel_id, channel_title (the latest metadata), regions,
-- last_charted, vanished_date, days_after_exit, returned_since.
--
-- @param region region (default: every region) only videos that were on this region's chart
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT CAST(getvariable('region') AS VARCHAR) AS only_region
),
charted AS (
    SELECT video_id, list(DISTINCT region ORDER BY region) AS regions
    FROM chart_entries
    WHERE video_id IN (SELECT video_id FROM vanished_videos)
    GROUP BY video_id
)
SELECT x.video_id, v.title, v.channel_id, v.channel_title, c.regions, x.last_charted,
       x.vanished_date, x.days_after_exit,
       EXISTS (SELECT 1 FROM tracked_videos t
               WHERE t.video_id = x.video_id AND t.returned
                 AND t.snapshot_date > x.vanished_date) AS returned_since
FROM vanished_videos x
JOIN videos v USING (video_id)
JOIN charted c USING (video_id)
CROSS JOIN chosen
WHERE chosen.only_region IS NULL OR list_contains(c.regions, chosen.only_region)
ORDER BY x.vanished_date, x.video_id;
