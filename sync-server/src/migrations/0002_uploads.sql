-- Resumable uploads in progress (docs/design.md §3 point 4). The bytes received so far live in
-- `<data_dir>/uploads/<id>.part`; `offset` is how many of them are durable (the file is
-- fsynced before `offset` moves). A row disappears when its blob is stored, when the upload
-- fails its final checks, or when it is older than the upload TTL.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    -- lower-case hex SHA-256 the whole blob must hash to
    sha256 TEXT NOT NULL,
    length INTEGER NOT NULL CHECK (length > 0),
    "offset" INTEGER NOT NULL DEFAULT 0 CHECK ("offset" >= 0 AND "offset" < length),
    -- RFC 3339 UTC with microseconds and `Z` (fixed width, so text order is time order)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- One upload of a blob per firm at a time: a restarted app resumes the same one.
CREATE UNIQUE INDEX uploads_by_blob ON uploads(firm_id, sha256);
CREATE INDEX uploads_by_age ON uploads(updated_at);
