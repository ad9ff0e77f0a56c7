-- new_entries: the videos on each region's chart on a date that were not on its previous snapshot
--
-- For the chart of `date`, per region, the videos that were not on that region's previous held
-- snapshot, best rank first. "Previous" is the region's previous snapshot in the warehouse, not
-- yesterday: after a missing day the video entered at some point in the `days_since_previous`
-- days between the two (it may even have come and gone on the missing day).
--
-- Censoring: a region's first held snapshot has no entries at all, since what was on it may have
-- been there for days (left-censored); a date that is a region's first gives no rows for it.
-- `reentry` says the video was on this region's chart before, on an earlier held snapshot
-- (`last_seen_before`, the latest such date); false only says it was not within the warehouse's
-- history of the region, which may have started after an earlier stay.
--
-- Columns: snapshot_date, region, rank, video_id, title, channel_id, channel_title (the latest
-- metadata; channel_id is the key), previous_date, days_since_previous, reentry,
-- last_seen_before, region_new_entries (how many new entries the region has on the date, before
-- the limit).
--
-- @param date date (default: the latest snapshot date) the chart date
-- @param region region (default: every region) only this region
-- @param limit integer (default: 20) entries per region, best rank first
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('limit') AS BIGINT), 20) AS per_region
),
-- The regions holding a snapshot on the chart date and one before it; a region whose first
-- snapshot is the chart date has no previous one, and so no entries. region_snapshots, a table
-- derived from merged_snapshots, answers this without touching chart_entries.
compared AS (
    SELECT s.region, s.snapshot_date, s.previous_date
    FROM region_snapshots s, chosen
    WHERE s.snapshot_date = chosen.chart_date AND s.previous_date IS NOT NULL
      AND (chosen.only_region IS NULL OR s.region = chosen.only_region)
),
-- Joined on the dates, so that each scan skips every other date's row groups.
on_chart_date AS (
    SELECT e.region, e.video_id, e.rank, e.snapshot_date, c.previous_date
    FROM chart_entries e
    JOIN compared c USING (region, snapshot_date)
),
on_previous AS (
    SELECT e.region, e.video_id
    FROM chart_entries e
    JOIN compared c ON c.region = e.region AND c.previous_date = e.snapshot_date
),
-- With their metadata now: videos is read once, for the titles and for first_seen_date. Every
-- video on the chart date was first seen on or before it and last seen on or after it, which
-- lets the scan of videos skip the row groups of the others (see top_movers).
entered AS (
    SELECT cur.*, v.title, v.channel_id, v.channel_title, v.first_seen_date
    FROM on_chart_date cur
    ANTI JOIN on_previous prev USING (region, video_id)
    JOIN videos v USING (video_id), chosen
    WHERE v.first_seen_date <= chosen.chart_date AND v.last_seen_date >= chosen.chart_date
),
-- Earlier stays of the entering videos only: a join on their few ids, not a scan per video.
earlier_stays AS (
    SELECT e.region, e.video_id, max(e.snapshot_date) AS last_seen_before
    FROM chart_entries e
    JOIN entered n USING (region, video_id)
    WHERE e.snapshot_date < n.previous_date
      -- None before the video's first day on any chart: reading from the earliest of them
      -- spares a long history's years of row groups.
      AND e.snapshot_date >= (SELECT min(first_seen_date) FROM entered)
    GROUP BY e.region, e.video_id
),
numbered AS (
    SELECT n.*, s.last_seen_before,
           row_number() OVER (PARTITION BY n.region ORDER BY n.rank, n.video_id) AS position,
           count(*) OVER (PARTITION BY n.region) AS region_new_entries
    FROM entered n
    LEFT JOIN earlier_stays s USING (region, video_id)
)
SELECT n.snapshot_date, n.region, n.rank, n.video_id, n.title, n.channel_id, n.channel_title,
       n.previous_date, datediff('day', n.previous_date, n.snapshot_date) AS days_since_previous,
       n.last_seen_before IS NOT NULL AS reentry, n.last_seen_before, n.region_new_entries
FROM numbered n
WHERE n.position <= (SELECT per_region FROM chosen)
ORDER BY n.region, n.rank, n.video_id;
