-- A replaced snapshot may have lost entries (a region's chart re-fetched): drop them. $1: the date.
DELETE FROM chart_entries AS t
WHERE t.snapshot_date = $1::DATE
  AND NOT EXISTS (
      SELECT 1 FROM trendlake_staging s WHERE s.region = t.region AND s.video_id = t.video_id
  );
