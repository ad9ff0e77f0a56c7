-- afterlife: per region, the median views videos gained 1, 7 and 30 days after leaving its chart
--
-- Every exit from the region's chart (chart_exits_between: the last entry of a video's run, not on
-- the region's next held snapshot), followed through every observation: another region's chart or the
-- tracking stage, which looks videos up by id after they leave, so the gain runs across the
-- exit. A gain is the views `days` after `last_on_chart` minus the views on it.
--
-- Censoring is explicit, never a stall: only `observed` gains count in the medians; `censored`
-- exits are too recent for that many days (the warehouse's last day is earlier), `vanished`
-- ones were deleted or made private by then, and the rest were not seen that day
-- (`exits - observed - censored - vanished`: no snapshot, tracking off or cut by its budget).
-- `afterlife_videos` gives the same per exit.
--
-- As of `date`: only exits seen by then (the region's next snapshot after the video's last day on
-- its chart is on or before `date`), and a gain whose day is after `date` is censored, so the
-- report of a past date shows what that night's report showed.
--
-- Columns: region, exits, then for 1, 7 and 30 days: observed_Nd, median_gain_Nd, p25_gain_Nd
-- and p75_gain_Nd (the spread), censored_Nd, vanished_Nd.
--
-- @param date date (default: the latest snapshot date) as of this date
-- @param since date (default: the first date) only exits whose last day on the chart is on or after it
-- @param region region (default: every region) only this region
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH gains AS (
    SELECT * FROM exit_gains_between(
        coalesce(CAST(getvariable('since') AS DATE), DATE '0001-01-01'),
        coalesce(CAST(getvariable('date') AS DATE),
                 (SELECT max(snapshot_date) FROM merged_snapshots)),
        CAST(getvariable('region') AS VARCHAR),
        NULL)
)
SELECT region,
       count(*) FILTER (WHERE days = 1) AS exits,
       count(gain) FILTER (WHERE days = 1 AND status = 'observed') AS observed_1d,
       median(gain) FILTER (WHERE days = 1 AND status = 'observed') AS median_gain_1d,
       quantile_cont(gain, 0.25) FILTER (WHERE days = 1 AND status = 'observed') AS p25_gain_1d,
       quantile_cont(gain, 0.75) FILTER (WHERE days = 1 AND status = 'observed') AS p75_gain_1d,
       count(*) FILTER (WHERE days = 1 AND status = 'censored') AS censored_1d,
       count(*) FILTER (WHERE days = 1 AND status = 'vanished') AS vanished_1d,
       count(gain) FILTER (WHERE days = 7 AND status = 'observed') AS observed_7d,
       median(gain) FILTER (WHERE days = 7 AND status = 'observed') AS median_gain_7d,
       quantile_cont(gain, 0.25) FILTER (WHERE days = 7 AND status = 'observed') AS p25_gain_7d,
       quantile_cont(gain, 0.75) FILTER (WHERE days = 7 AND status = 'observed') AS p75_gain_7d,
       count(*) FILTER (WHERE days = 7 AND status = 'censored') AS censored_7d,
       count(*) FILTER (WHERE days = 7 AND status = 'vanished') AS vanished_7d,
       count(gain) FILTER (WHERE days = 30 AND status = 'observed') AS observed_30d,
       median(gain) FILTER (WHERE days = 30 AND status = 'observed') AS median_gain_30d,
       quantile_cont(gain, 0.25) FILTER (WHERE days = 30 AND status = 'observed') AS p25_gain_30d,
       quantile_cont(gain, 0.75) FILTER (WHERE days = 30 AND status = 'observed') AS p75_gain_30d,
       count(*) FILTER (WHERE days = 30 AND status = 'censored') AS censored_30d,
       count(*) FILTER (WHERE days = 30 AND status = 'vanished') AS vanished_30d
FROM gains
GROUP BY region
ORDER BY region;
