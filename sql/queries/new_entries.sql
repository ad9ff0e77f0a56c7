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
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('limit') AS BIGINT), 20) AS per_region
),
-- Each region's previous held snapshot; a region whose first snapshot is the chart date has none,
-- and so no entries. merged_snapshots (one row a date, listing the regions its snapshot holds)
-- answers this without touching chart_entries.
previous_snapshots AS (
    SELECT r.region, max(m.snapshot_date) AS previous_date
    FROM merged_snapshots m, unnest(m.regions) AS r(region), chosen
    WHERE m.snapshot_date < chosen.chart_date
      AND (chosen.only_region IS NULL OR r.region = chosen.only_region)
    GROUP BY r.region
),
on_chart_date AS (
    SELECT e.region, e.video_id, e.rank, e.snapshot_date, p.previous_date
    FROM chart_entries e
    JOIN previous_snapshots p USING (region)
    WHERE e.snapshot_date = (SELECT chart_date FROM chosen)
),
-- Filtering on the previous dates themselves lets the scan skip every other date's row groups.
on_previous AS (
    SELECT e.region, e.video_id
    FROM chart_entries e
    JOIN previous_snapshots p ON p.region = e.region AND p.previous_date = e.snapshot_date
    WHERE e.snapshot_date IN (SELECT previous_date FROM previous_snapshots)
),
-- With their metadata now: videos is read once, for the titles and for first_seen_date.
entered AS (
    SELECT cur.*, v.title, v.channel_id, v.channel_title, v.first_seen_date
    FROM on_chart_date cur
    ANTI JOIN on_previous prev USING (region, video_id)
    JOIN videos v USING (video_id)
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
