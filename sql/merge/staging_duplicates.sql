-- The first staged date whose snapshot repeats a (region, chart_category, video_id), and how often: a trendlake
-- snapshot has none (the fetch drops repeats), and chart_entries, which has no key constraint,
-- must not get any.
SELECT strftime(snapshot_date, '%Y-%m-%d'), count(*) - count(DISTINCT (region, chart_category, video_id))
FROM trendlake_staging
GROUP BY snapshot_date
HAVING count(*) > count(DISTINCT (region, chart_category, video_id))
ORDER BY snapshot_date
LIMIT 1;
