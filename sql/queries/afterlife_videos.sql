-- afterlife_videos: every exit from a region's chart, with the views gained 1, 7 and 30 days after
--
-- One row per exit (chart_exits_between): the region, the video, its last day on the region's
-- chart and its views then, and for 1, 7 and 30 days after it the gain and what is known of it
-- (exit_gains_between): `observed`, `censored` (too recent: the warehouse's last day is earlier),
-- `vanished` (deleted or made private by then) or `not_observed` (nothing saw it that day). A gain
-- is NULL unless observed: a censored exit is never counted as a stall. `afterlife` gives the
-- medians per region.
--
-- Columns: region, video_id, title (latest metadata), last_on_chart, views_at_exit, gain_1d,
-- status_1d, gain_7d, status_7d, gain_30d, status_30d.
--
-- @param region region (default: every region) only this region
-- @param video video (default: every video) only this video
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
SELECT g.region, g.video_id, v.title, g.last_on_chart, g.views_at_exit,
       max(g.gain) FILTER (WHERE g.days = 1) AS gain_1d,
       max(g.status) FILTER (WHERE g.days = 1) AS status_1d,
       max(g.gain) FILTER (WHERE g.days = 7) AS gain_7d,
       max(g.status) FILTER (WHERE g.days = 7) AS status_7d,
       max(g.gain) FILTER (WHERE g.days = 30) AS gain_30d,
       max(g.status) FILTER (WHERE g.days = 30) AS status_30d
FROM exit_gains_between(
    DATE '0001-01-01',
    greatest((SELECT max(snapshot_date) FROM merged_snapshots),
             (SELECT max(snapshot_date) FROM merged_tracked)),
    CAST(getvariable('region') AS VARCHAR),
    CAST(getvariable('video') AS VARCHAR)) g
JOIN videos v USING (video_id)
GROUP BY ALL
ORDER BY g.region, g.last_on_chart, g.video_id;
