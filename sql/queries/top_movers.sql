-- The largest view gains since each region's previous snapshot. Params: date (default: latest), limit (default 5 per region).
WITH params AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE), (SELECT max(snapshot_date) FROM chart_entries)) AS d,
           coalesce(CAST(getvariable('limit') AS BIGINT), 5) AS n
),
previous AS (
    SELECT e.region, max(e.snapshot_date) AS p
    FROM chart_entries e, params
    WHERE e.snapshot_date < params.d
    GROUP BY e.region
),
gains AS (
    SELECT cur.snapshot_date, cur.region, cur.video_id, cur.rank, old.rank AS previous_rank,
           previous.p AS previous_date, cur.view_count,
           cur.view_count - old.view_count AS view_gain
    FROM chart_entries cur
    JOIN params ON cur.snapshot_date = params.d
    JOIN previous ON previous.region = cur.region
    JOIN chart_entries old
      ON old.region = cur.region AND old.snapshot_date = previous.p AND old.video_id = cur.video_id
    WHERE cur.view_count IS NOT NULL AND old.view_count IS NOT NULL
)
SELECT g.snapshot_date, g.region,
       row_number() OVER (PARTITION BY g.region ORDER BY g.view_gain DESC, g.video_id) AS mover,
       g.video_id, v.title, g.rank, g.previous_rank, g.view_gain, g.view_count, g.previous_date
FROM gains g
JOIN videos v USING (video_id)
QUALIFY mover <= (SELECT n FROM params)
ORDER BY g.region, mover;
