-- Videos trending in several regions, and where each appeared first. Params: min_regions (default 2), limit (default 20).
WITH firsts AS (
    SELECT video_id, region, min(snapshot_date) AS first_date
    FROM chart_entries
    GROUP BY video_id, region
),
spread AS (
    SELECT video_id, count(*) AS region_count, min(first_date) AS first_date,
           string_agg(region || ' ' || strftime(first_date, '%Y-%m-%d'), ', ' ORDER BY first_date, region) AS arrivals
    FROM firsts
    GROUP BY video_id
    HAVING count(*) >= coalesce(CAST(getvariable('min_regions') AS BIGINT), 2)
)
SELECT s.video_id, v.title, c.name AS category, s.region_count, s.first_date,
       (SELECT string_agg(f.region, ',' ORDER BY f.region)
          FROM firsts f
         WHERE f.video_id = s.video_id AND f.first_date = s.first_date) AS first_regions,
       s.arrivals
FROM spread s
JOIN videos v USING (video_id)
LEFT JOIN categories c ON c.category_id = v.category_id
QUALIFY row_number() OVER (ORDER BY s.region_count DESC, s.first_date, s.video_id)
        <= coalesce(CAST(getvariable('limit') AS BIGINT), 20)
ORDER BY s.region_count DESC, s.first_date, s.video_id;
