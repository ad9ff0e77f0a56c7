-- How many days each video has spent on each region's chart, longest first. Params: region (default: all), limit (default 20).
WITH stays AS (
    SELECT e.region, e.video_id, count(*) AS days_on_chart,
           min(e.snapshot_date) AS first_date, max(e.snapshot_date) AS last_date,
           min(e.rank) AS best_rank
    FROM chart_entries e
    WHERE getvariable('region') IS NULL OR e.region = CAST(getvariable('region') AS VARCHAR)
    GROUP BY e.region, e.video_id
)
SELECT s.region, s.video_id, v.title, c.name AS category, s.days_on_chart, s.first_date, s.last_date, s.best_rank
FROM stays s
JOIN videos v USING (video_id)
LEFT JOIN categories c ON c.category_id = v.category_id
QUALIFY row_number() OVER (ORDER BY s.days_on_chart DESC, s.best_rank, s.region, s.video_id)
        <= coalesce(CAST(getvariable('limit') AS BIGINT), 20)
ORDER BY s.days_on_chart DESC, s.best_rank, s.region, s.video_id;
