-- survival: the share of videos still on a region's chart N days after entering it
--
-- For each region and N = 1..`max_days` calendar days: of the videos that entered the region's
-- chart, the share on its chart on the day entry + N (on it that day, whether or not it left
-- and came back in between).
--
-- Entering: a video's first held snapshot on the region's chart, unless that is the region's
-- first held snapshot (left-censored: it was there before the history began, its entry is
-- unknown; those videos are left out entirely). A first appearance right after a missing day is
-- dated by that snapshot, though the video may have entered on the missing day. Only the first
-- entry counts: a re-entry is not a new entry.
--
-- Who counts for a given N (`at_risk`): the entered videos whose day entry + N is a held snapshot
-- of the region. Those whose entry + N lies after the region's last held snapshot are
-- right-censored (`censored`: not known yet), and those whose entry + N is a missing day (no
-- snapshot for the region, inside its history) are unknown for that N (`unknown`): both are out
-- of the denominator for that N only, never counted as off the chart. So entered = at_risk +
-- censored + unknown on every row, and a missing day lowers the counts of the N that land on it.
--
-- As of `date`: only the snapshots up to that date count (the region's last held snapshot is its
-- last one up to the date, and what lies after it is censored), so the curves for a past date are
-- what the warehouse would have drawn that night.
--
-- With `category`, only the videos of that category (their latest metadata's category_id).
--
-- Columns: region, category_id (the one given, or NULL for every category), day_n, entered,
-- at_risk, still_on, share (still_on / at_risk, rounded to 4 places; NULL with no one at risk),
-- censored, unknown.
--
-- @param date date (default: the latest snapshot date) count the snapshots up to this date only
-- @param region region (default: every region) only this region
-- @param video_category integer (default: every category) only videos of this category_id
-- @param max_days integer (default: 7) the largest N
-- @param category category (default: all, the general chart) the chart: a category id such as 25 for the region's chart of that category
WITH chosen AS (
    SELECT CAST(getvariable('region') AS VARCHAR) AS only_region,
           CAST(getvariable('video_category') AS BIGINT) AS only_category,
           coalesce(CAST(getvariable('max_days') AS BIGINT), 7) AS max_days
),
-- Every region's held snapshots of the chart (region_snapshots: a row a held snapshot).
held AS (
    SELECT r.region, r.snapshot_date
    FROM region_snapshots r, chosen
    WHERE (chosen.only_region IS NULL OR r.region = chosen.only_region)
      AND (getvariable('date') IS NULL OR r.snapshot_date <= CAST(getvariable('date') AS DATE))
),
region_spans AS (
    SELECT region, min(snapshot_date) AS first_date, max(snapshot_date) AS last_date
    FROM held
    GROUP BY region
),
-- Each video's dates on the region's chart gathered in the same pass as its first one: the
-- numerators below come from this list, which on a long history is cheaper than joining the
-- entries back to the entrants.
first_appearances AS (
    SELECT e.region, e.video_id, min(e.snapshot_date) AS entry_date,
           list(e.snapshot_date) AS dates
    FROM chart_entries e, chosen
    -- getvariable() itself, not a column of chosen: a constant that the scan filters on.
    WHERE (chosen.only_region IS NULL OR e.region = chosen.only_region)
      AND (getvariable('date') IS NULL OR e.snapshot_date <= CAST(getvariable('date') AS DATE))
    GROUP BY e.region, e.video_id
),
-- Left-censored first appearances are not entries.
entrants AS (
    SELECT f.region, f.video_id, f.entry_date, f.dates, s.last_date
    FROM first_appearances f
    JOIN region_spans s USING (region)
    JOIN videos v USING (video_id)
    CROSS JOIN chosen
    WHERE f.entry_date > s.first_date
      AND (chosen.only_category IS NULL OR v.category_id = chosen.only_category)
),
days AS (
    SELECT n AS day_n FROM range(1, (SELECT max_days FROM chosen) + 1) AS t(n)
),
-- Entrants of one region and entry date share what is known of entry + N, so the checks are
-- per cohort (a few hundred rows a region) rather than per video.
cohorts AS (
    SELECT region, entry_date, any_value(last_date) AS last_date, count(*) AS videos
    FROM entrants
    GROUP BY region, entry_date
),
checks AS (
    SELECT c.region, d.day_n, c.videos,
           c.entry_date + CAST(d.day_n AS INTEGER) > c.last_date AS censored,
           h.snapshot_date IS NOT NULL AS known
    FROM cohorts c
    CROSS JOIN days d
    LEFT JOIN held h
      ON h.region = c.region AND h.snapshot_date = c.entry_date + CAST(d.day_n AS INTEGER)
),
denominators AS (
    SELECT region, day_n, CAST(sum(videos) AS BIGINT) AS entered,
           CAST(coalesce(sum(videos) FILTER (WHERE known), 0) AS BIGINT) AS at_risk,
           CAST(coalesce(sum(videos) FILTER (WHERE censored), 0) AS BIGINT) AS censored,
           CAST(coalesce(sum(videos) FILTER (WHERE NOT known AND NOT censored), 0) AS BIGINT)
               AS unknown
    FROM checks
    GROUP BY region, day_n
),
-- The numerators: each entrant's days on the chart as offsets from its entry, kept for
-- N = 1..max_days. An entry N days after the entry date is on a held snapshot by construction,
-- so it is one of that N's at_risk.
offsets AS (
    SELECT region,
           unnest(list_filter(list_transform(dates, lambda d: datediff('day', entry_date, d)),
                              lambda n: n BETWEEN 1 AND chosen.max_days)) AS day_n
    FROM entrants, chosen
),
still_on AS (
    SELECT region, day_n, count(*) AS still_on
    FROM offsets
    GROUP BY region, day_n
)
SELECT d.region, chosen.only_category AS category_id, d.day_n, d.entered, d.at_risk,
       coalesce(s.still_on, 0) AS still_on,
       round(coalesce(s.still_on, 0) / nullif(d.at_risk, 0), 4) AS share, d.censored, d.unknown
FROM denominators d
LEFT JOIN still_on s USING (region, day_n)
CROSS JOIN chosen
ORDER BY d.region, d.day_n;
