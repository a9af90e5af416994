-- Storage quotas and collecting unreferenced blobs (uploads/storage.rs).

-- A person's stored bytes: their blobs, found by owner.
CREATE INDEX blob_owners_by_user ON blob_owners(user_id, firm_id);
-- Their uploads in progress, counted before a new one starts.
CREATE INDEX uploads_by_user ON uploads(user_id);
-- Blobs old enough to be collected when nothing names them.
CREATE INDEX blobs_by_age ON blobs(created_at);
