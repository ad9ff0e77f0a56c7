-- Version 5 → 6: the tables `tracked_videos` and `merged_tracked` (the videos the tracking stage
-- followed after they left the charts), which sql/schema.sql creates, and the views over them
-- (sql/views.sql). Nothing to change in the other tables; the record table is dropped so that the
-- schema creates it fresh.
DROP TABLE IF EXISTS merged_tracked;
