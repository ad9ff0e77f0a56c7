-- The record of one date's merged `tracked` file. $1: the date.
DELETE FROM merged_tracked WHERE snapshot_date = CAST($1 AS DATE);
