-- Version 4 → 5: a merged snapshot is identified by the SHA-256 of its rows
-- (`content_sha256`, NULL for those merged before: they are told apart by etag and size until
-- merged again), and every publish by a generation naming its parent, so a merge starts from the
-- standby only when the standby is exactly the published file's parent.
-- (A version-1 warehouse has no trendlake_warehouse yet: sql/schema.sql creates it whole.)
ALTER TABLE merged_snapshots ADD COLUMN IF NOT EXISTS content_sha256 VARCHAR;
ALTER TABLE IF EXISTS trendlake_warehouse ADD COLUMN IF NOT EXISTS generation VARCHAR;
ALTER TABLE IF EXISTS trendlake_warehouse ADD COLUMN IF NOT EXISTS parent_generation VARCHAR;
