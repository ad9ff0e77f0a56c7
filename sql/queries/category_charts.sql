-- category_charts: which category charts each region has, since when, and how much each shares with its general chart
--
-- One row per region and category chart the warehouse knows of by `date`: held at least once, or
-- answered by the API as "no such chart" (`videoChartNotFound`, kept in the lake's chart
-- catalogues by `run --categories`). `status` is `held` when the chart is held on `date`,
-- `no_chart` when the API's latest answer up to `date` was that it has no such chart, and
-- `not_held` otherwise (not asked that night, or its fetch failed). The overlap compares the
-- chart's videos on `date` with the region's general chart of the same night: how much of the
-- category chart the general chart already shows (since 2025-07-21 the general chart mixes only
-- Music, Movies and Gaming, so most category charts share little with it).
--
-- Columns: region, category_id, title (the region's own title from its latest
-- videoCategories.list, else the compiled-in name), status, first_held, last_held (its first and
-- latest held snapshot up to `date`), snapshots (held snapshots up to `date`), no_chart_nights
-- (nights the API had no such chart, asked or known), last_asked (the latest night the API
-- answered for it, chart or not), entries (on `date`), on_general_chart (of those, videos also on
-- the region's general chart that night), overlap_share (on_general_chart / entries, 4 places;
-- NULL when not held on `date`).
--
-- @param date date (default: the latest snapshot date) as of this date
-- @param region region (default: every region) only this region
-- @param category category (default: every category chart) only this category's chart
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS as_of,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           CAST(getvariable('category') AS VARCHAR) AS only_category
),
-- chart_snapshots: a row a held snapshot of each chart (tiny).
held AS (
    SELECT s.region, s.chart_category, min(s.snapshot_date) AS first_held,
           max(s.snapshot_date) AS last_held, count(*) AS snapshots
    FROM chart_snapshots s, chosen c
    WHERE s.chart_category <> 'all' AND s.snapshot_date <= c.as_of
      AND (c.only_region IS NULL OR s.region = c.only_region)
      AND (c.only_category IS NULL OR s.chart_category = c.only_category)
    GROUP BY s.region, s.chart_category
),
-- What the catalogues say night by night; `known_no_chart` was not asked, so it is no answer.
answers AS (
    SELECT st.region, st.chart_category,
           count(*) FILTER (WHERE st.status IN ('no_chart', 'known_no_chart')) AS no_chart_nights,
           arg_max(st.status, st.snapshot_date) FILTER (WHERE st.status IN ('ok', 'no_chart'))
               AS last_answer,
           max(st.snapshot_date) FILTER (WHERE st.status IN ('ok', 'no_chart')) AS last_asked
    FROM chart_status st, chosen c
    WHERE st.snapshot_date <= c.as_of
      AND (c.only_region IS NULL OR st.region = c.only_region)
      AND (c.only_category IS NULL OR st.chart_category = c.only_category)
    GROUP BY st.region, st.chart_category
),
charts AS (
    SELECT region, chart_category FROM held
    UNION
    SELECT region, chart_category FROM answers
),
-- The night's entries, read once: the category charts' and the general charts'.
on_date AS (
    SELECT e.region, e.chart_category, e.video_id
    FROM all_chart_entries e, chosen c
    WHERE e.snapshot_date = c.as_of
      AND (c.only_region IS NULL OR e.region = c.only_region)
),
overlap AS (
    SELECT d.region, d.chart_category, count(*) AS entries, count(g.video_id) AS on_general
    FROM on_date d
    LEFT JOIN on_date g ON g.chart_category = 'all' AND g.region = d.region
                       AND g.video_id = d.video_id
    WHERE d.chart_category <> 'all'
    GROUP BY d.region, d.chart_category
)
SELECT ch.region, CAST(ch.chart_category AS INTEGER) AS category_id,
       coalesce(rc.title, cat.name) AS title,
       CASE WHEN o.entries IS NOT NULL THEN 'held'
            WHEN a.last_answer = 'no_chart' THEN 'no_chart'
            ELSE 'not_held' END AS status,
       h.first_held, h.last_held, coalesce(h.snapshots, 0) AS snapshots,
       coalesce(a.no_chart_nights, 0) AS no_chart_nights, a.last_asked,
       coalesce(o.entries, 0) AS entries, coalesce(o.on_general, 0) AS on_general_chart,
       round(o.on_general / o.entries, 4) AS overlap_share
FROM charts ch
LEFT JOIN held h USING (region, chart_category)
LEFT JOIN answers a USING (region, chart_category)
LEFT JOIN overlap o USING (region, chart_category)
LEFT JOIN region_categories rc
       ON rc.region = ch.region AND rc.category_id = CAST(ch.chart_category AS INTEGER)
LEFT JOIN categories cat ON cat.category_id = CAST(ch.chart_category AS INTEGER)
ORDER BY ch.region, category_id;
