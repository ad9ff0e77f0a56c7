-- A date the lake no longer holds (`trendlake forget`, or its file deleted): its entries go
-- (sql/merge/videos_reseen.sql then narrows the videos' seen dates). $1: the date.
DELETE FROM all_chart_entries WHERE snapshot_date = $1::DATE;
