-- After a replaced snapshot dropped chart entries: seen dates follow the entries that remain,
-- and videos with no entry left go.
DELETE FROM videos AS v
WHERE NOT EXISTS (SELECT 1 FROM all_chart_entries e WHERE e.video_id = v.video_id);

UPDATE videos
SET first_seen_date = s.first_seen, last_seen_date = s.last_seen
FROM (
    SELECT video_id, min(snapshot_date) AS first_seen, max(snapshot_date) AS last_seen
    FROM all_chart_entries
    GROUP BY video_id
) AS s
WHERE videos.video_id = s.video_id
  AND (videos.first_seen_date <> s.first_seen OR videos.last_seen_date <> s.last_seen);
