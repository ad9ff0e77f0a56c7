-- Record which file was merged. $1 date, $2 path, $3 etag, $4 size, $5 merged_at.
MERGE INTO merged_snapshots AS t
USING (
    SELECT $1::DATE AS snapshot_date, $2::VARCHAR AS path, $3::VARCHAR AS etag, $4::BIGINT AS size,
           (SELECT count(*) FROM trendlake_staging) AS row_count,
           (SELECT coalesce(list(DISTINCT region ORDER BY region), []::VARCHAR[]) FROM trendlake_staging) AS regions,
           $5::TIMESTAMPTZ AS merged_at
) AS s
ON t.snapshot_date = s.snapshot_date
WHEN MATCHED THEN
    UPDATE SET path = s.path, etag = s.etag, size = s.size, row_count = s.row_count,
               regions = s.regions, merged_at = s.merged_at
WHEN NOT MATCHED THEN
    INSERT (snapshot_date, path, etag, size, row_count, regions, merged_at)
    VALUES (s.snapshot_date, s.path, s.etag, s.size, s.row_count, s.regions, s.merged_at);
