-- A date the lake no longer holds: its record goes with its entries. $1: the date.
DELETE FROM merged_snapshots WHERE snapshot_date = $1::DATE;
