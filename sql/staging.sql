-- The Arrow batches of the snapshots one transaction merges are appended here, each with its
-- date, then column for column in the lake's schema; merged into the tables and dropped before the
-- transaction commits. A long history is merged many snapshots at a time: each MERGE then joins
-- the tables once per batch instead of once per date.
CREATE OR REPLACE TABLE trendlake_staging (
    snapshot_date DATE NOT NULL,
    region VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    video_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    channel_id VARCHAR NOT NULL,
    channel_title VARCHAR NOT NULL,
    category_id INTEGER,
    published_at TIMESTAMPTZ NOT NULL,
    duration_s BIGINT,
    live_broadcast_content VARCHAR NOT NULL,
    view_count BIGINT,
    like_count BIGINT,
    comment_count BIGINT,
    tags VARCHAR[],
    default_language VARCHAR,
    default_audio_language VARCHAR,
    thumbnail_url VARCHAR,
    definition VARCHAR,
    caption BOOLEAN,
    licensed_content BOOLEAN,
    fetched_at TIMESTAMPTZ NOT NULL,
    chart_category VARCHAR NOT NULL
);

-- The file each staged snapshot came from (sql/merge/merged_snapshots.sql records it).
CREATE OR REPLACE TABLE trendlake_staging_sources (
    snapshot_date VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    etag VARCHAR,
    size BIGINT NOT NULL,
    merged_at VARCHAR NOT NULL,          -- RFC 3339
    content_sha256 VARCHAR NOT NULL
);
