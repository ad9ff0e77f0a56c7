-- engagement: likes and comments per view of each region's videos, at each video's latest chart entry
--
-- Per region: for every video on the region's chart between `from` and `date`, its counts on its
-- latest entry there (the last held snapshot of the window that has it), and likes per view and
-- comments per view from them. By default the window is the chart of `date` alone; `from` set
-- to the first date ranks every video of the history. Counts are cumulative, so the ratio of one
-- entry is meaningful and entries are never summed; the latest is the most settled. Rows are per
-- region, not overall: a video on several charts appears in each, with that region's latest entry
-- (the same video's counts on a date differ only by when each region's chart was fetched). A
-- window without a held snapshot of a region (say, only a missed night) gives no rows for it.
--
-- A ratio is NULL where its count is hidden (like_count NULL: likes hidden by the owner;
-- comment_count NULL: comments disabled) or where view_count is NULL or 0; a real 0 comments is
-- 0. Videos are ranked by likes per view, then comments per view, both with NULLs last, so hidden
-- counts never top the list; then video_id. Censoring does not apply: the ratio is of the counts
-- seen, whether or not the video is still on the chart (`last_date` < `date` means it left).
-- A window of one date reads that date's entries only; a long window reads the whole history.
--
-- Columns: region, position (1 = the most likes per view), video_id, title, channel_id,
-- channel_title (latest metadata), last_date (the entry's snapshot), rank (on it), view_count,
-- like_count, comment_count, likes_per_view, comments_per_view.
--
-- @param date date (default: the latest snapshot date) the last chart date considered
-- @param from date (default: the same as date) the first chart date considered
-- @param region region (default: every region) only this region
-- @param limit integer (default: 10) videos per region
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT coalesce(CAST(getvariable('date') AS DATE),
                    (SELECT max(snapshot_date) FROM merged_snapshots)) AS as_of,
           CAST(getvariable('from') AS DATE) AS window_start,
           CAST(getvariable('region') AS VARCHAR) AS only_region,
           coalesce(CAST(getvariable('limit') AS BIGINT), 10) AS per_region
),
-- One row per region and video: a hash aggregate of the entry's columns at its latest date is
-- cheaper on a long history than a window sorting every chart-day (and arg_max_null, unlike
-- arg_max, keeps a NULL count as the latest one instead of reaching back to an older entry).
latest_entries AS (
    SELECT e.region, e.video_id, max(e.snapshot_date) AS last_date,
           arg_max_null(e.rank, e.snapshot_date) AS rank,
           arg_max_null(e.view_count, e.snapshot_date) AS view_count,
           arg_max_null(e.like_count, e.snapshot_date) AS like_count,
           arg_max_null(e.comment_count, e.snapshot_date) AS comment_count
    FROM chart_entries e, chosen
    WHERE e.snapshot_date <= chosen.as_of
      AND e.snapshot_date >= coalesce(chosen.window_start, chosen.as_of)
      AND (chosen.only_region IS NULL OR e.region = chosen.only_region)
    GROUP BY e.region, e.video_id
),
ratios AS (
    SELECT *,
           CASE WHEN view_count > 0 THEN like_count / view_count END AS likes_per_view,
           CASE WHEN view_count > 0 THEN comment_count / view_count END AS comments_per_view
    FROM latest_entries
),
-- The top `limit` of each region by a hash aggregate keeping the n smallest keys, rather than a
-- window sorting every video of the history (several times slower on a long one). The key
-- sorts a missing ratio after any ratio, a larger ratio first, and video_id breaks ties.
-- min_by needs n >= 1, so limit=0 keeps one and the filter below drops it.
top_videos AS (
    SELECT region,
           min_by({'video_id': video_id, 'last_date': last_date, 'rank': rank,
                   'view_count': view_count, 'like_count': like_count,
                   'comment_count': comment_count, 'likes_per_view': likes_per_view,
                   'comments_per_view': comments_per_view},
                  {'likes_hidden': likes_per_view IS NULL, 'likes': -coalesce(likes_per_view, 0),
                   'comments_hidden': comments_per_view IS NULL,
                   'comments': -coalesce(comments_per_view, 0), 'video_id': video_id},
                  (SELECT greatest(per_region, 1) FROM chosen)) AS top
    FROM ratios
    GROUP BY region
),
ranked AS (
    SELECT region, generate_subscripts(top, 1) AS position, unnest(top) AS t
    FROM top_videos
)
SELECT r.region, r.position, r.t.video_id, v.title, v.channel_id, v.channel_title,
       r.t.last_date, r.t.rank, r.t.view_count, r.t.like_count, r.t.comment_count,
       r.t.likes_per_view, r.t.comments_per_view
FROM ranked r
JOIN videos v ON v.video_id = r.t.video_id, chosen
WHERE r.position <= chosen.per_region
  -- Each video shown was on a chart inside the window: first seen by its end, last seen at its
  -- start or later. Bounds that let the scan of videos skip the row groups of the others.
  AND v.first_seen_date <= chosen.as_of
  AND v.last_seen_date >= coalesce(chosen.window_start, chosen.as_of)
ORDER BY r.region, r.position;
