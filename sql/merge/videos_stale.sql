-- The dates whose snapshots hold the current metadata of videos whose metadata is stale: a
-- replaced snapshot dropped their entries on the date the metadata came from, and their
-- last_seen_date moved back (videos_reseen.sql). The merge reads those dates' snapshots again.
SELECT DISTINCT strftime(last_seen_date, '%Y-%m-%d') AS d
FROM videos
WHERE metadata_date <> last_seen_date
ORDER BY d;
