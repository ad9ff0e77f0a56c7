-- Take one date's tracked videos out of the warehouse: before its file's rows are merged again
-- (a date's rows are replaced whole), or when the lake no longer holds the file. $1: the date.
DELETE FROM tracked_videos WHERE snapshot_date = CAST($1 AS DATE);
