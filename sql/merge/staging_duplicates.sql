-- Rows of the staged snapshot that repeat a (region, video_id): a trendlake snapshot has none
-- (the fetch drops repeats), and chart_entries, which has no key constraint, must not get any.
SELECT count(*) - count(DISTINCT (region, video_id)) FROM trendlake_staging;
