-- Version 1 → 2, in one transaction:
-- * videos.metadata_date: the snapshot date a video's metadata was taken from, so that a replaced
--   snapshot dropping a video's last entries is followed by a refresh of its metadata from its new
--   last date. Version 1 took the metadata from the last date merged, which is last_seen_date
--   except after such a drop (which version 1 could not tell).
-- * chart_entries and videos lose their PRIMARY KEYs (see sql/schema.sql for why).
-- DuckDB can drop neither a key nor (after an UPDATE, in one transaction) add a NOT NULL column
-- in place, so both tables are rebuilt, column for column as sql/schema.sql has them.

CREATE TABLE trendlake_migrating_chart_entries (
    snapshot_date DATE NOT NULL,
    region VARCHAR NOT NULL,
    video_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    view_count BIGINT,
    like_count BIGINT,
    comment_count BIGINT,
    fetched_at TIMESTAMPTZ NOT NULL
);
INSERT INTO trendlake_migrating_chart_entries
SELECT snapshot_date, region, video_id, rank, view_count, like_count, comment_count, fetched_at
FROM chart_entries
ORDER BY snapshot_date, region, rank;
DROP TABLE chart_entries;
ALTER TABLE trendlake_migrating_chart_entries RENAME TO chart_entries;

CREATE TABLE trendlake_migrating_videos (
    video_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    channel_id VARCHAR NOT NULL,
    channel_title VARCHAR NOT NULL,
    category_id INTEGER,
    published_at TIMESTAMPTZ NOT NULL,
    duration_s BIGINT,
    live_broadcast_content VARCHAR NOT NULL,
    tags VARCHAR[],
    default_language VARCHAR,
    default_audio_language VARCHAR,
    thumbnail_url VARCHAR,
    definition VARCHAR,
    caption BOOLEAN,
    licensed_content BOOLEAN,
    first_seen_date DATE NOT NULL,
    last_seen_date DATE NOT NULL,
    metadata_date DATE NOT NULL
);
INSERT INTO trendlake_migrating_videos
SELECT video_id, title, description, channel_id, channel_title, category_id, published_at,
       duration_s, live_broadcast_content, tags, default_language, default_audio_language,
       thumbnail_url, definition, caption, licensed_content, first_seen_date, last_seen_date,
       last_seen_date
FROM videos
ORDER BY first_seen_date, video_id;
DROP TABLE videos;
ALTER TABLE trendlake_migrating_videos RENAME TO videos;
