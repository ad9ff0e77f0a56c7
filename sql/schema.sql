-- The warehouse's tables (docs/warehouse.md) at the current schema version, which
-- `SCHEMA_VERSION` in src/warehouse.rs names. Idempotent: run in every merge session, after the
-- migrations (sql/migrations/NNN_*.sql) have brought an older warehouse to this version.

-- The schema version and the trendlake that last published the warehouse; one row. Every publish
-- is a new generation naming its parent (the file it replaced), so a merge knows whether the
-- standby beside the warehouse is that parent (since version 5).
CREATE TABLE IF NOT EXISTS trendlake_warehouse (
    schema_version INTEGER NOT NULL,
    written_by VARCHAR NOT NULL,         -- "trendlake 0.1.0"
    generation VARCHAR,                  -- a UUIDv7, new at every publish
    parent_generation VARCHAR            -- the generation this one was merged from; NULL: none
);

CREATE TABLE IF NOT EXISTS regions (
    code VARCHAR PRIMARY KEY,            -- ISO 3166-1 alpha-2, as in the lake's `region`
    name VARCHAR NOT NULL,
    time_zone VARCHAR NOT NULL           -- IANA zone of most of its audience; since version 3
);

-- Each region's UTC offset over time, from its time zone (chrono-tz, compiled in): the bundled
-- DuckDB has no ICU, so SQL turns a UTC time into local time by adding the offset of the span
-- holding it. `valid_from`/`valid_until` are UTC wall-clock times (TIMESTAMP: comparable with
-- `published_at::TIMESTAMP`), tiling 1970..2100 per region; since version 3.
CREATE TABLE IF NOT EXISTS region_utc_offsets (
    region VARCHAR NOT NULL,
    valid_from TIMESTAMP NOT NULL,       -- inclusive
    valid_until TIMESTAMP NOT NULL,      -- exclusive
    utc_offset_s INTEGER NOT NULL        -- local time = UTC + utc_offset_s seconds
);

CREATE TABLE IF NOT EXISTS categories (
    category_id INTEGER PRIMARY KEY,     -- YouTube's videoCategory id
    name VARCHAR NOT NULL,
    assignable BOOLEAN NOT NULL
);

-- The two big tables have no PRIMARY KEY (version 2 dropped them): DuckDB keeps a key's ART
-- index in the file, where it was three quarters of a long history's bytes, and every merge
-- copies and fsyncs the whole file. Their keys hold by construction instead: a snapshot's rows are
-- checked unique before merging (merge/staging_duplicates.sql), chart_entries.sql upserts on the
-- key, and videos.sql takes one row per video.

-- One row per video per chart per day; key (snapshot_date, region, chart_category, video_id).
-- Every chart's entries: the view `chart_entries` (sql/views.sql) shows one chart per region.
CREATE TABLE IF NOT EXISTS all_chart_entries (
    snapshot_date DATE NOT NULL,
    region VARCHAR NOT NULL,
    video_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    view_count BIGINT,                   -- NULL when the API did not send it, never 0 for "unknown"
    like_count BIGINT,                   -- NULL: the owner hides likes
    comment_count BIGINT,                -- NULL: comments are disabled
    fetched_at TIMESTAMPTZ NOT NULL,
    chart_category VARCHAR DEFAULT 'all' -- 'all': the region's general chart; else the category
                                         -- id of a category chart (since version 7)
);

-- Latest metadata per video, with the span of days it was seen on any chart. The metadata is that
-- of the video's entry on `last_seen_date` (the first region in code order on that date);
-- `metadata_date` says which date it came from, and differs from `last_seen_date` only inside a
-- merge session, between a replaced snapshot dropping the video's last entries and the refresh
-- from the snapshot of its new last date.
CREATE TABLE IF NOT EXISTS videos (
    video_id VARCHAR NOT NULL,           -- the key
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
    metadata_date DATE NOT NULL          -- since schema version 2
);

-- Each chart's held snapshots in order: the calendar the named queries (sql/queries/) count in.
-- Derived from merged_snapshots, and rewritten from it before every publish
-- (sql/merge/region_snapshots.sql): a table rather than a view, because the queries of one date
-- read one date of it, which a view would compute over the whole history each time (10-15 ms on a
-- fresh connection, against 2). Since version 4.
CREATE TABLE IF NOT EXISTS chart_snapshots (
    region VARCHAR NOT NULL,
    snapshot_date DATE NOT NULL,
    snapshot_no BIGINT NOT NULL,         -- 1 = the chart's first held snapshot; consecutive held
                                         -- snapshots have consecutive numbers, gaps or not
    previous_date DATE,                  -- the chart's previous held snapshot; NULL on its first
    first_date DATE NOT NULL,            -- the chart's first held snapshot
    last_date DATE NOT NULL,             -- the chart's latest held snapshot
    chart_category VARCHAR DEFAULT 'all' -- as in all_chart_entries (since version 7; the table
                                         -- was `region_snapshots`, now a view of one chart)
);

-- Which lake file was merged for each date, identified by its content: a file of other content is
-- merged again; one of the same content under another etag (a copied lake) is not. `etag` and
-- `size` only spare reading a footer when they still match.
CREATE TABLE IF NOT EXISTS merged_snapshots (
    snapshot_date DATE PRIMARY KEY,
    path VARCHAR NOT NULL,
    etag VARCHAR,
    size BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    regions VARCHAR[] NOT NULL,
    merged_at TIMESTAMPTZ NOT NULL,
    content_sha256 VARCHAR,              -- SHA-256 of the file's rows; since version 5
    charts VARCHAR[]                     -- every chart the file holds, by key: `JP` for a region's
                                         -- general chart (as in `regions`), `JP/25` for its chart
                                         -- of category 25; since version 7
);

-- One row per video per date the tracking stage looked it up by id after it left the charts: the
-- lake's `tracked/` files (docs/lake.md). Key (snapshot_date, video_id), held by construction:
-- a date's rows are replaced whole (sql/merge/tracked_videos_forget.sql, then the file's rows).
-- Since version 6.
CREATE TABLE IF NOT EXISTS tracked_videos (
    snapshot_date DATE NOT NULL,
    video_id VARCHAR NOT NULL,
    returned BOOLEAN NOT NULL,           -- false: the API left it out (deleted, private, …)
    last_charted DATE NOT NULL,          -- its last date on one of the run's regions' charts
    view_count BIGINT,                   -- NULL when not returned, or the count is hidden
    like_count BIGINT,
    comment_count BIGINT,
    privacy_status VARCHAR,              -- public, unlisted; NULL when not returned
    upload_status VARCHAR,
    fetched_at TIMESTAMPTZ NOT NULL
);

-- Which lake `tracked` file was merged for each date, identified by its content (the SHA-256 of
-- its rows, as merged_snapshots.content_sha256). Since version 6.
CREATE TABLE IF NOT EXISTS merged_tracked (
    snapshot_date DATE PRIMARY KEY,
    content_sha256 VARCHAR NOT NULL,
    row_count BIGINT NOT NULL
);

-- Each region's video categories as each night's videoCategories.list listed them (the lake's
-- chart catalogues, `_charts/`: docs/lake.md), with their titles; the latest run of a night wins.
-- The view `region_categories` (sql/views.sql) keeps each region's latest listing; the table
-- `categories` stays the region-less list compiled in. Since version 7.
CREATE TABLE IF NOT EXISTS category_listings (
    snapshot_date DATE NOT NULL,
    region VARCHAR NOT NULL,
    category_id INTEGER NOT NULL,
    title VARCHAR NOT NULL,
    assignable BOOLEAN NOT NULL
);

-- What each night's catalogues say of each category chart the night considered: 'ok' (held),
-- 'no_chart' (the API has none), 'known_no_chart' (not asked: none when last asked), 'failed';
-- of a night's runs, the weightiest word stands, in that order (a chart one run held is in the
-- snapshot whatever a later run met). Since version 7.
CREATE TABLE IF NOT EXISTS chart_status (
    snapshot_date DATE NOT NULL,
    region VARCHAR NOT NULL,
    chart_category VARCHAR NOT NULL,
    status VARCHAR NOT NULL
);

-- Which chart catalogues the two tables above hold, by path (relative to the lake's root; a run
-- writes its catalogue once, named by its run id) and content. Since version 7.
CREATE TABLE IF NOT EXISTS merged_catalogues (
    path VARCHAR PRIMARY KEY,
    snapshot_date DATE NOT NULL,
    content_sha256 VARCHAR NOT NULL
);
