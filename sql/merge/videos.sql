-- Upsert video metadata from the staged snapshots. The newest snapshot's metadata wins, whatever
-- order dates are merged in (of the staged ones, the newest date's; of the warehouse's, the last
-- seen one's); first/last seen dates only widen (videos_reseen.sql narrows them after a replaced
-- snapshot lost entries). Also the refresh of stale metadata (videos_refresh.sql first keeps only
-- the stale videos' rows in the staging table).
MERGE INTO videos AS t
USING (
    SELECT snapshot_date AS seen_date,
           min(snapshot_date) OVER (PARTITION BY video_id) AS first_date,
           video_id, title, description, channel_id, channel_title, category_id,
           published_at, duration_s, live_broadcast_content, tags, default_language,
           default_audio_language, thumbnail_url, definition, caption, licensed_content
    FROM trendlake_staging
    -- A video on several regions' charts appears once per region with the same metadata.
    -- The general chart's entry first, then category charts' in id order.
    QUALIFY row_number() OVER (PARTITION BY video_id
                               ORDER BY snapshot_date DESC, region, chart_category <> 'all',
                                        chart_category) = 1
) AS s
ON t.video_id = s.video_id
-- Two clauses for one update, with and without `tags`: DuckDB updates a LIST column by deleting the
-- row and appending it anew, and the deleted rows pile up (and get vacuumed at checkpoints) if every
-- video seen again is moved so; tags rarely change, everything else is updated in place.
WHEN MATCHED AND s.seen_date >= t.last_seen_date AND t.tags IS DISTINCT FROM s.tags THEN
    UPDATE SET title = s.title, description = s.description, channel_id = s.channel_id,
               channel_title = s.channel_title, category_id = s.category_id,
               published_at = s.published_at, duration_s = s.duration_s,
               live_broadcast_content = s.live_broadcast_content, tags = s.tags,
               default_language = s.default_language, default_audio_language = s.default_audio_language,
               thumbnail_url = s.thumbnail_url, definition = s.definition, caption = s.caption,
               licensed_content = s.licensed_content,
               first_seen_date = least(t.first_seen_date, s.first_date),
               last_seen_date = s.seen_date,
               metadata_date = s.seen_date
WHEN MATCHED AND s.seen_date >= t.last_seen_date THEN
    UPDATE SET title = s.title, description = s.description, channel_id = s.channel_id,
               channel_title = s.channel_title, category_id = s.category_id,
               published_at = s.published_at, duration_s = s.duration_s,
               live_broadcast_content = s.live_broadcast_content,
               default_language = s.default_language, default_audio_language = s.default_audio_language,
               thumbnail_url = s.thumbnail_url, definition = s.definition, caption = s.caption,
               licensed_content = s.licensed_content,
               first_seen_date = least(t.first_seen_date, s.first_date),
               last_seen_date = s.seen_date,
               metadata_date = s.seen_date
WHEN MATCHED AND s.first_date < t.first_seen_date THEN
    UPDATE SET first_seen_date = s.first_date
WHEN NOT MATCHED THEN
    INSERT (video_id, title, description, channel_id, channel_title, category_id, published_at,
            duration_s, live_broadcast_content, tags, default_language, default_audio_language,
            thumbnail_url, definition, caption, licensed_content, first_seen_date, last_seen_date,
            metadata_date)
    VALUES (s.video_id, s.title, s.description, s.channel_id, s.channel_title, s.category_id,
            s.published_at, s.duration_s, s.live_broadcast_content, s.tags, s.default_language,
            s.default_audio_language, s.thumbnail_url, s.definition, s.caption, s.licensed_content,
            s.first_date, s.seen_date, s.seen_date);
