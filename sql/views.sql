-- Analyst views over the tables; replaced on every writable open so they follow the binary.

-- Every chart entry with the video's metadata and readable region and category names.
CREATE OR REPLACE VIEW chart AS
SELECT
    e.snapshot_date,
    e.region,
    r.name AS region_name,
    e.rank,
    e.video_id,
    v.title,
    v.channel_id,                       -- the channel's key: titles change and are shared
    v.channel_title,
    v.category_id,
    c.name AS category,
    e.view_count,
    e.like_count,
    e.comment_count,
    v.published_at,
    v.duration_s,
    e.fetched_at
FROM chart_entries e
JOIN videos v USING (video_id)
LEFT JOIN regions r ON r.code = e.region
LEFT JOIN categories c ON c.category_id = v.category_id;
