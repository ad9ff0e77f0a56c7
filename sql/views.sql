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

-- Each region's held snapshots in order: the calendar the named queries count in. A region's
-- previous snapshot is its previous held one, which after a missed night is not yesterday;
-- snapshot_no numbers them, so consecutive held snapshots have consecutive numbers whatever the
-- calendar gaps. first_date and last_date are the region's first and latest held snapshots
-- (what the queries' censoring is judged by). Computed from merged_snapshots (one row a date,
-- listing the regions its snapshot holds), so it never reads chart_entries.
CREATE OR REPLACE VIEW region_snapshots AS
SELECT r.region, m.snapshot_date,
       row_number() OVER held AS snapshot_no,
       lag(m.snapshot_date) OVER held AS previous_date,
       min(m.snapshot_date) OVER (PARTITION BY r.region) AS first_date,
       max(m.snapshot_date) OVER (PARTITION BY r.region) AS last_date
FROM merged_snapshots m, unnest(m.regions) AS r(region)
WINDOW held AS (PARTITION BY r.region ORDER BY m.snapshot_date);
