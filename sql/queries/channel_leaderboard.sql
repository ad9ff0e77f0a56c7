-- channel_leaderboard: the channels with the most chart entries per region over a period
--
-- For each region, the channels whose videos held the most places on its chart between `from`
-- and `to` (inclusive). A channel is its channel_id: titles change and different channels share
-- one, so the title is only shown, the latest one (that of the channel's most recently refreshed
-- video in the warehouse, whatever the period).
--
-- Counted in held snapshots, not calendar days: `entries` (chart-days) is one per video per held
-- snapshot it was on, so a missing day adds nothing, and two regions or periods with different
-- numbers of snapshots are compared on `entries_per_snapshot` rather than `entries`. Chart entries
-- are observations, not arrivals, so censoring does not apply: a video already on the chart at
-- the start of the period or of the history counts for the days it is seen.
--
-- Columns: region, position (1 = most entries), channel_id, channel_title (latest), entries,
-- videos (distinct videos that were on the chart), snapshots (the region's held snapshots in the
-- period), entries_per_snapshot (entries / snapshots, rounded to 2 places), best_rank,
-- first_date, last_date (its first and last snapshot on the chart in the period). Ties: more
-- videos, the better best rank, then channel_id.
--
-- @param region region (default: every region) only this region
-- @param from date (default: the first snapshot date) the period's first day
-- @param to date (default: the latest snapshot date) the period's last day
-- @param limit integer (default: 10) channels per region
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('from') AS DATE),
                    (SELECT min(snapshot_date) FROM merged_snapshots)) AS from_date,
           coalesce(CAST(getvariable('to') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS to_date,
           coalesce(CAST(getvariable('limit') AS BIGINT), 10) AS per_region
),
-- The denominator of entries_per_snapshot: the chart's held snapshots per region
-- (region_snapshots: a row a held snapshot).
period_snapshots AS (
    SELECT r.region, count(*) AS snapshots
    FROM region_snapshots r, chosen
    WHERE r.snapshot_date BETWEEN chosen.from_date AND chosen.to_date
      AND (chosen.only_region IS NULL OR r.region = chosen.only_region)
    GROUP BY r.region
),
-- Aggregated per video before the join to videos: the join then meets one row a video instead
-- of one a chart-day (on a long history, most of the query's time).
per_video AS (
    SELECT e.region, e.video_id, count(*) AS entries, min(e.rank) AS best_rank,
           min(e.snapshot_date) AS first_date, max(e.snapshot_date) AS last_date
    FROM chart_entries e, chosen
    WHERE e.snapshot_date BETWEEN chosen.from_date AND chosen.to_date
      AND (chosen.only_region IS NULL OR e.region = chosen.only_region)
    GROUP BY e.region, e.video_id
),
-- A video's channel never changes, so the latest metadata's channel_id is the entry's.
per_channel AS (
    SELECT p.region, v.channel_id, CAST(sum(p.entries) AS BIGINT) AS entries, count(*) AS videos,
           min(p.best_rank) AS best_rank, min(p.first_date) AS first_date,
           max(p.last_date) AS last_date
    FROM per_video p
    JOIN videos v USING (video_id), chosen
    -- Every video with an entry in the period was first seen by its end and last seen at its
    -- start or later: bounds that let the scan of videos skip the row groups of the others.
    WHERE v.first_seen_date <= chosen.to_date AND v.last_seen_date >= chosen.from_date
    GROUP BY p.region, v.channel_id
),
leaders AS (
    SELECT *,
           row_number() OVER (PARTITION BY region
                              ORDER BY entries DESC, videos DESC, best_rank, channel_id) AS position
    FROM per_channel
    QUALIFY position <= (SELECT per_region FROM chosen)
),
-- Only the leaders' titles: one per channel, from its video refreshed last (video_id breaks a tie
-- of dates, so the choice is the same on every run).
latest_titles AS (
    SELECT channel_id, channel_title
    FROM videos
    WHERE channel_id IN (SELECT channel_id FROM leaders)
      -- The channel's video refreshed last was seen last, at the period's start or later: a
      -- bound that lets the scan skip the row groups of videos seen only before.
      AND last_seen_date >= (SELECT from_date FROM chosen)
    QUALIFY row_number() OVER (PARTITION BY channel_id
                               ORDER BY metadata_date DESC, video_id DESC) = 1
)
SELECT l.region, l.position, l.channel_id, t.channel_title, l.entries, l.videos,
       s.snapshots, round(l.entries / s.snapshots, 2) AS entries_per_snapshot,
       l.best_rank, l.first_date, l.last_date
FROM leaders l
JOIN period_snapshots s USING (region)
JOIN latest_titles t USING (channel_id)
ORDER BY l.region, l.position;
