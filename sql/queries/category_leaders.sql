-- category_leaders: the top of each category chart held on a date, per region
--
-- For `date`, per region, each category chart held that night (`run --categories`) with its
-- first `top` videos in rank order: the category's title (the region's own, from its latest
-- videoCategories.list, else the compiled-in name), the video's title and channel, its views, and
-- whether it is on the region's general chart that night too (since 2025-07-21 the general chart
-- mixes only Music, Movies and Gaming, so most category leaders are on no other chart). A region
-- without category charts that night has no rows; the general chart itself is not listed
-- (`top_movers`, `rank_trajectory` show it).
--
-- Columns: snapshot_date, region, category_id, category (its title), chart_entries (the chart's
-- length that night), rank, video_id, title, channel_id, channel_title, view_count,
-- on_general_chart.
--
-- @param date date (default: the latest snapshot date) the chart date
-- @param region region (default: every region) only this region
-- @param top integer (default: 3) videos per chart
-- @param category category (default: every category chart) only this category's chart
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS chart_date,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('top') AS BIGINT), 3) AS top,
           CAST(getvariable('category') AS VARCHAR) AS only_category
),
-- The night's entries of every chart, read once (one date's row groups).
night AS (
    SELECT e.region, e.chart_category, e.video_id, e.rank, e.view_count, e.snapshot_date
    FROM all_chart_entries e, chosen c
    WHERE e.snapshot_date = c.chart_date
      AND (c.only_region IS NULL OR e.region = c.only_region)
),
leaders AS (
    SELECT n.*, count(*) OVER (PARTITION BY n.region, n.chart_category) AS chart_entries
    FROM night n, chosen c
    WHERE n.chart_category <> 'all'
      AND (c.only_category IS NULL OR n.chart_category = c.only_category)
    QUALIFY n.rank <= c.top
)
SELECT l.snapshot_date, l.region, CAST(l.chart_category AS INTEGER) AS category_id,
       coalesce(rc.title, cat.name) AS category, l.chart_entries, l.rank, l.video_id, v.title,
       v.channel_id, v.channel_title, l.view_count,
       EXISTS (SELECT 1 FROM night g
               WHERE g.chart_category = 'all' AND g.region = l.region
                 AND g.video_id = l.video_id) AS on_general_chart
FROM leaders l
JOIN videos v USING (video_id)
LEFT JOIN region_categories rc
       ON rc.region = l.region AND rc.category_id = CAST(l.chart_category AS INTEGER)
LEFT JOIN categories cat ON cat.category_id = CAST(l.chart_category AS INTEGER)
ORDER BY l.region, category_id, l.rank;
