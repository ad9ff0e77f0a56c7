-- Analyst views over the tables; replaced on every writable open so they follow the binary.

-- One chart per region: the general chart, or the chart of the category the session names with
-- `SET VARIABLE category = '25'` (a named query's `--param category=25` does the same). Every view
-- and named query below reads entries through it, so each answers for the chart chosen and, by
-- default, exactly as before category charts (since version 7; all_chart_entries has them all).
CREATE OR REPLACE VIEW chart_entries AS
SELECT snapshot_date, region, video_id, rank, view_count, like_count, comment_count, fetched_at
FROM all_chart_entries
WHERE chart_category = coalesce(CAST(getvariable('category') AS VARCHAR), 'all');

-- Each region's categories as its latest listing names them (videoCategories.list, kept in the
-- lake's chart catalogues), falling back to nothing: join `categories` for the region-less names.
CREATE OR REPLACE VIEW region_categories AS
SELECT region, category_id, title, assignable, snapshot_date AS listed_date
FROM category_listings
QUALIFY snapshot_date = max(snapshot_date) OVER (PARTITION BY region);

-- The chosen chart's held snapshots per region, in order (see chart_entries).
CREATE OR REPLACE VIEW region_snapshots AS
SELECT region, snapshot_date, snapshot_no, previous_date, first_date, last_date
FROM chart_snapshots
WHERE chart_category = coalesce(CAST(getvariable('category') AS VARCHAR), 'all');

-- Every chart entry with the video's metadata and readable region and category names.
CREATE OR REPLACE VIEW chart AS
SELECT
    e.snapshot_date,
    e.region,
    r.name AS region_name,
    e.rank,
    e.video_id,
    v.title,
    v.channel_id,                       -- the channel's key: titles change and are shared
    v.channel_title,
    v.category_id,
    c.name AS category,
    e.view_count,
    e.like_count,
    e.comment_count,
    v.published_at,
    v.duration_s,
    e.fetched_at
FROM chart_entries e
JOIN videos v USING (video_id)
LEFT JOIN regions r ON r.code = e.region
LEFT JOIN categories c ON c.category_id = v.category_id;

-- One row per video per day it was observed, on a chart or by the tracking stage after it left
-- them, so a view curve runs across the chart's exit without a seam: `source` says which, and
-- `charting_regions` where it was on the chart that day (empty once it left). Counts are global,
-- so a video's entries of one day agree across regions (the largest is kept). A video the
-- tracking stage asked for and the API did not return has `returned = false` and no counts.
CREATE OR REPLACE VIEW video_days AS
WITH charted AS (
    SELECT
        snapshot_date,
        video_id,
        max(view_count) AS view_count,
        max(like_count) AS like_count,
        max(comment_count) AS comment_count,
        list(region ORDER BY region) AS charting_regions,
        min(rank) AS best_rank
    FROM chart_entries
    GROUP BY snapshot_date, video_id
)
SELECT
    snapshot_date,
    video_id,
    CASE WHEN c.video_id IS NOT NULL THEN 'chart' ELSE 'tracking' END AS source,
    coalesce(c.view_count, t.view_count) AS view_count,
    coalesce(c.like_count, t.like_count) AS like_count,
    coalesce(c.comment_count, t.comment_count) AS comment_count,
    coalesce(c.charting_regions, []::VARCHAR[]) AS charting_regions,
    c.best_rank,
    c.video_id IS NOT NULL OR t.returned AS returned,
    t.privacy_status
FROM charted c
FULL JOIN tracked_videos t USING (snapshot_date, video_id);

-- Videos that became unavailable after charting: the first date the tracking stage asked for
-- one and the API did not return it, and how long after it left the charts.
CREATE OR REPLACE VIEW vanished_videos AS
SELECT
    video_id,
    min(snapshot_date) AS vanished_date,
    arg_min(last_charted, snapshot_date) AS last_charted,
    min(snapshot_date) - arg_min(last_charted, snapshot_date) AS days_after_exit
FROM tracked_videos
WHERE NOT returned
GROUP BY video_id;

-- Every exit from a region's chart: the last entry of a video's run on it, on a held snapshot of
-- the region (`last_on_chart`) that the video is not on the region's next held snapshot after
-- (`off_chart`). A video still on the region's latest snapshot has not left. A table macro, so
-- the named queries read only the dates, region or video they ask about: exits whose
-- `last_on_chart` is on or after `since` and whose `off_chart` is on or before `as_of`; NULL
-- `only_region` / `only_video` take every one.
CREATE OR REPLACE MACRO chart_exits_between(since, as_of, only_region, only_video) AS TABLE
SELECT e.region, e.video_id, e.snapshot_date AS last_on_chart, n.snapshot_date AS off_chart,
       e.view_count AS views_at_exit
FROM chart_entries e
-- The region's next held snapshot: the one whose previous is this entry's date.
JOIN region_snapshots n ON n.region = e.region AND n.previous_date = e.snapshot_date
WHERE e.snapshot_date >= since AND n.snapshot_date <= as_of
  AND (only_region IS NULL OR e.region = only_region)
  AND (only_video IS NULL OR e.video_id = only_video)
  AND NOT EXISTS (
      SELECT 1 FROM chart_entries a
      WHERE a.snapshot_date > since AND a.snapshot_date <= as_of
        AND a.region = e.region AND a.snapshot_date = n.snapshot_date AND a.video_id = e.video_id);

-- Each exit's views 1, 7 and 30 days after `last_on_chart`, from whichever source saw the video
-- that day (another region's chart, or the tracking stage), with what is known as of `as_of`:
-- `observed`; `censored` (the day is after `as_of`: not happened yet); `vanished` (the tracking
-- stage asked, the API no longer returned it); `not_observed` (nothing saw it that day: no
-- snapshot, tracking off, the budget). `gain` is NULL unless observed.
CREATE OR REPLACE MACRO exit_gains_between(since, as_of, only_region, only_video) AS TABLE
WITH exits AS (
    SELECT * FROM chart_exits_between(since, as_of, only_region, only_video)
),
seen AS (
    -- Every observation of those videos after `since`: counts are global, so a chart of any
    -- region, or a lookup (never both on one day: tracking skips the videos on today's charts).
    SELECT snapshot_date, video_id, max(view_count) AS view_count, bool_or(returned) AS returned
    FROM (
        SELECT snapshot_date, video_id, view_count, true AS returned
        FROM chart_entries
        WHERE snapshot_date > since AND snapshot_date <= as_of
          AND video_id IN (SELECT video_id FROM exits)
        UNION ALL
        SELECT snapshot_date, video_id, view_count, returned
        FROM tracked_videos
        WHERE snapshot_date > since AND snapshot_date <= as_of
          AND video_id IN (SELECT video_id FROM exits)
    )
    GROUP BY snapshot_date, video_id
)
SELECT x.region, x.video_id, x.last_on_chart, x.off_chart, x.views_at_exit, k.days,
       CASE WHEN x.last_on_chart + k.days > as_of THEN 'censored'
            WHEN s.video_id IS NULL THEN 'not_observed'
            WHEN NOT s.returned THEN 'vanished'
            WHEN s.view_count IS NULL OR x.views_at_exit IS NULL THEN 'not_observed'
            ELSE 'observed' END AS status,
       CASE WHEN s.returned THEN s.view_count - x.views_at_exit END AS gain
FROM exits x
CROSS JOIN (VALUES (1), (7), (30)) AS k(days)
LEFT JOIN seen s ON s.video_id = x.video_id AND s.snapshot_date = x.last_on_chart + k.days;

-- The two over the whole history, as of the last day the warehouse holds.
CREATE OR REPLACE VIEW chart_exits AS
SELECT * FROM chart_exits_between(DATE '0001-01-01', DATE '9999-12-31', NULL, NULL);

CREATE OR REPLACE VIEW exit_gains AS
SELECT * FROM exit_gains_between(
    DATE '0001-01-01',
    greatest((SELECT max(snapshot_date) FROM merged_snapshots),
             (SELECT max(snapshot_date) FROM merged_tracked)),
    NULL, NULL);
