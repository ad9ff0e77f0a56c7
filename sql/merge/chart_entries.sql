-- Upsert the staged snapshots' entries, every chart's: key (snapshot_date, region, chart_category,
-- video_id).
MERGE INTO all_chart_entries AS t
USING (
    SELECT snapshot_date, region, video_id, rank, view_count, like_count, comment_count, fetched_at,
           chart_category
    FROM trendlake_staging
) AS s
ON t.snapshot_date = s.snapshot_date AND t.region = s.region
   AND t.chart_category = s.chart_category AND t.video_id = s.video_id
WHEN MATCHED AND (t.rank, t.view_count, t.like_count, t.comment_count, t.fetched_at)
        IS DISTINCT FROM (s.rank, s.view_count, s.like_count, s.comment_count, s.fetched_at) THEN
    UPDATE SET rank = s.rank, view_count = s.view_count, like_count = s.like_count,
               comment_count = s.comment_count, fetched_at = s.fetched_at
WHEN NOT MATCHED THEN
    INSERT (snapshot_date, region, video_id, rank, view_count, like_count, comment_count, fetched_at,
            chart_category)
    VALUES (s.snapshot_date, s.region, s.video_id, s.rank, s.view_count, s.like_count,
            s.comment_count, s.fetched_at, s.chart_category);
