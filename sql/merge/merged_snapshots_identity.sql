-- A merged snapshot's record set to what another file of the same content says: the same rows
-- found under another name, etag or size (a copied or restored lake), or a standby brought to
-- its published warehouse's record. $1 date, $2 path, $3 etag, $4 size, $5 merged_at,
-- $6 content_sha256.
UPDATE merged_snapshots
SET path = $2::VARCHAR, etag = $3::VARCHAR, size = $4::BIGINT, merged_at = $5::TIMESTAMPTZ,
    content_sha256 = $6::VARCHAR
WHERE snapshot_date = $1::DATE;
