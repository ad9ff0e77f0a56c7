-- A replaced snapshot may have lost entries (a chart re-fetched): drop the entries of the
-- staged dates that the staged snapshots no longer hold.
DELETE FROM all_chart_entries AS t
WHERE t.snapshot_date IN (SELECT DISTINCT snapshot_date FROM trendlake_staging)
  AND NOT EXISTS (
      SELECT 1 FROM trendlake_staging s
      WHERE s.snapshot_date = t.snapshot_date AND s.region = t.region
        AND s.chart_category = t.chart_category AND s.video_id = t.video_id
  );
