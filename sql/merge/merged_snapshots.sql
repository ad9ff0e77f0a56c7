-- Record which file each staged snapshot came from (trendlake_staging_sources), with its row count
-- regions (those whose general chart it holds) and charts (every chart, by key); `content_sha256` is the file's identity, the SHA-256 of its rows as encoded.
MERGE INTO merged_snapshots AS t
USING (
    SELECT src.snapshot_date::DATE AS snapshot_date, src.path, src.etag, src.size,
           coalesce(staged.row_count, 0) AS row_count,
           coalesce(staged.regions, []::VARCHAR[]) AS regions,
           coalesce(staged.charts, []::VARCHAR[]) AS charts,
           src.merged_at::TIMESTAMPTZ AS merged_at, src.content_sha256
    FROM trendlake_staging_sources src
    LEFT JOIN (
        SELECT snapshot_date, count(*) AS row_count,
               list(DISTINCT region ORDER BY region) FILTER (WHERE chart_category = 'all') AS regions,
               list(DISTINCT chart ORDER BY chart) AS charts
        FROM (SELECT *, CASE chart_category WHEN 'all' THEN region
                                            ELSE region || '/' || chart_category END AS chart
              FROM trendlake_staging)
        GROUP BY snapshot_date
    ) AS staged ON staged.snapshot_date = src.snapshot_date::DATE
) AS s
ON t.snapshot_date = s.snapshot_date
WHEN MATCHED THEN
    UPDATE SET path = s.path, etag = s.etag, size = s.size, row_count = s.row_count,
               regions = s.regions, merged_at = s.merged_at, content_sha256 = s.content_sha256,
               charts = s.charts
WHEN NOT MATCHED THEN
    INSERT (snapshot_date, path, etag, size, row_count, regions, merged_at, content_sha256, charts)
    VALUES (s.snapshot_date, s.path, s.etag, s.size, s.row_count, s.regions, s.merged_at,
            s.content_sha256, s.charts);
