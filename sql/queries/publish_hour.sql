-- publish_hour: at what local hour the videos on each region's chart were uploaded
--
-- For each region, the videos on its chart at least once between `from` and `to` (inclusive),
-- each counted once however many days it stayed, by the hour of its upload (published_at) in
-- the region's own time zone (regions.time_zone), daylight saving included (DuckDB's `AT TIME
-- ZONE`, whatever the session's zone). A video on several regions' charts counts in each, in each
-- one's local time. All 24 hours are listed, with
-- 0 where no video was uploaded. Appearances are counted, not arrivals: a video already on the
-- chart on the first day of the period or of the history counts like any other (no censoring).
--
-- Columns: region, time_zone, local_hour (0-23), videos, share (videos / all the region's videos
-- in the period, rounded to 4 places).
--
-- @param region region (default: every region) only this region
-- @param from date (default: the first snapshot date) the period's first day
-- @param to date (default: the latest snapshot date) the period's last day
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('from') AS DATE),
                    (SELECT min(snapshot_date) FROM merged_snapshots)) AS from_date,
           coalesce(CAST(getvariable('to') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS to_date
),
charted AS (
    SELECT DISTINCT e.region, e.video_id
    FROM chart_entries e, chosen
    WHERE e.snapshot_date BETWEEN chosen.from_date AND chosen.to_date
      AND (chosen.only_region IS NULL OR e.region = chosen.only_region)
),
local_uploads AS (
    SELECT c.region, hour(v.published_at AT TIME ZONE g.time_zone) AS local_hour
    FROM charted c
    JOIN videos v USING (video_id)
    JOIN regions g ON g.code = c.region, chosen
    -- Every video with an entry in the period was first seen by its end and last seen at its
    -- start or later: bounds that let the scan of videos skip the row groups of the others.
    WHERE v.first_seen_date <= chosen.to_date AND v.last_seen_date >= chosen.from_date
),
per_hour AS (
    SELECT region, local_hour, count(*) AS videos
    FROM local_uploads
    GROUP BY region, local_hour
),
-- Every hour of every region with videos, so an empty hour shows as 0 rather than missing.
region_hours AS (
    SELECT r.region, h.local_hour
    FROM (SELECT DISTINCT region FROM charted) r, range(24) AS h(local_hour)
)
SELECT rh.region, g.time_zone, rh.local_hour, coalesce(p.videos, 0) AS videos,
       round(coalesce(p.videos, 0) / sum(coalesce(p.videos, 0)) OVER (PARTITION BY rh.region), 4)
           AS share
FROM region_hours rh
LEFT JOIN per_hour p USING (region, local_hour)
LEFT JOIN regions g ON g.code = rh.region
ORDER BY rh.region, rh.local_hour;
