-- The staging table holds the snapshot of date $1: keep only the rows of videos whose metadata is
-- stale and whose last_seen_date is $1, so that videos.sql, run next with the same date, rewrites
-- their metadata (and metadata_date) and leaves every other video alone.
DELETE FROM trendlake_staging AS s
WHERE s.video_id NOT IN (
    SELECT v.video_id FROM videos v
    WHERE v.last_seen_date = $1::DATE AND v.metadata_date <> v.last_seen_date
);
