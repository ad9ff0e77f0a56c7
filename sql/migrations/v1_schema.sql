-- FROZEN: the warehouse's tables at schema version 1 (trendlake before the version table), as
-- shipped. Never run on a real warehouse; the tests build version-1 files from it to check that
-- the migrations bring them to the schema of sql/schema.sql.

CREATE TABLE IF NOT EXISTS regions (
    code VARCHAR PRIMARY KEY,            -- ISO 3166-1 alpha-2, as in the lake's `region`
    name VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS categories (
    category_id INTEGER PRIMARY KEY,     -- YouTube's videoCategory id
    name VARCHAR NOT NULL,
    assignable BOOLEAN NOT NULL
);

-- One row per video per region per day.
CREATE TABLE IF NOT EXISTS chart_entries (
    snapshot_date DATE NOT NULL,
    region VARCHAR NOT NULL,
    video_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    view_count BIGINT,                   -- NULL when the API did not send it, never 0 for "unknown"
    like_count BIGINT,                   -- NULL: the owner hides likes
    comment_count BIGINT,                -- NULL: comments are disabled
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (snapshot_date, region, video_id)
);

-- Latest metadata per video, with the span of days it was seen on any chart.
CREATE TABLE IF NOT EXISTS videos (
    video_id VARCHAR PRIMARY KEY,
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
    last_seen_date DATE NOT NULL
);

-- Which lake file was merged for each date; a file whose etag or size changed is merged again.
CREATE TABLE IF NOT EXISTS merged_snapshots (
    snapshot_date DATE PRIMARY KEY,
    path VARCHAR NOT NULL,
    etag VARCHAR,
    size BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    regions VARCHAR[] NOT NULL,
    merged_at TIMESTAMPTZ NOT NULL
);
