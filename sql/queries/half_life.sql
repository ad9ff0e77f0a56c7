-- half_life: days after a video left a region's chart until its daily growth fell below half
--
-- For every exit from the region's chart (view chart_exits), the growth of its last charting day
-- (views on `last_on_chart` minus views the day before, from video_days: any chart, or the
-- tracking stage) is the reference; its half-life is the first day after the exit whose growth
-- (views that day minus the day before, both observed) is below half of it. Censoring is
-- explicit: `censored` when every observed day after the exit still grew at least half as fast
-- (the half-life is longer than what the warehouse holds, `observed_days` says how long). An exit
-- without a reference (the day before it unobserved, or no growth that day) is left out.
--
-- Columns: region, video_id, title (latest metadata), last_on_chart, growth_at_exit (views/day),
-- half_life_days, observed_days (consecutive observed days after the exit), censored.
--
-- @param region region (default: every region) only this region
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT CAST(getvariable('region') AS VARCHAR) AS only_region
),
exits AS (
    SELECT x.* FROM chart_exits x, chosen
    WHERE chosen.only_region IS NULL OR x.region = chosen.only_region
),
daily AS (
    -- Each observed day's growth over the day before, where both days were observed.
    SELECT video_id, snapshot_date,
           view_count - lag(view_count) OVER w AS growth,
           lag(snapshot_date) OVER w = snapshot_date - 1 AS consecutive
    FROM video_days
    WHERE returned AND view_count IS NOT NULL
      AND video_id IN (SELECT video_id FROM exits)
    WINDOW w AS (PARTITION BY video_id ORDER BY snapshot_date)
),
reference AS (
    SELECT x.region, x.video_id, x.last_on_chart, d.growth AS growth_at_exit
    FROM exits x
    LEFT JOIN daily d
        ON d.video_id = x.video_id AND d.snapshot_date = x.last_on_chart AND d.consecutive
),
after AS (
    -- The days after the exit while every day in between was observed.
    SELECT r.region, r.video_id, d.snapshot_date, d.growth, r.growth_at_exit,
           d.snapshot_date - r.last_on_chart AS day_no,
           row_number() OVER (PARTITION BY r.region, r.video_id, r.last_on_chart
                              ORDER BY d.snapshot_date) AS seq,
           r.last_on_chart
    FROM reference r
    JOIN daily d ON d.video_id = r.video_id AND d.snapshot_date > r.last_on_chart AND d.consecutive
),
followed AS (
    SELECT * FROM after WHERE day_no = seq
)
SELECT r.region, r.video_id, v.title, r.last_on_chart, r.growth_at_exit,
       min(f.day_no) FILTER (WHERE f.growth < r.growth_at_exit / 2.0) AS half_life_days,
       coalesce(max(f.day_no), 0) AS observed_days,
       r.growth_at_exit > 0
           AND min(f.day_no) FILTER (WHERE f.growth < r.growth_at_exit / 2.0) IS NULL AS censored
FROM reference r
JOIN videos v USING (video_id)
LEFT JOIN followed f
    ON f.region = r.region AND f.video_id = r.video_id AND f.last_on_chart = r.last_on_chart
WHERE r.growth_at_exit IS NOT NULL AND r.growth_at_exit > 0
GROUP BY r.region, r.video_id, v.title, r.last_on_chart, r.growth_at_exit
ORDER BY r.region, r.last_on_chart, r.video_id;
