-- Who holds a blob's bytes: the people who uploaded them. Storage stays deduplicated per
-- firm, but only a holder may skip an upload, use the blob in their rows, or lend it (through
-- a row others may see) to readers. Knowing a hash is not enough.
CREATE TABLE blob_owners (
    firm_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (firm_id, sha256, user_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO blob_owners (firm_id, sha256, user_id)
    SELECT firm_id, sha256, uploaded_by FROM blobs;

-- Each person uploads their own copy: one partial upload per firm, blob and person.
DROP INDEX uploads_by_blob;
CREATE UNIQUE INDEX uploads_by_blob_and_user ON uploads(firm_id, sha256, user_id);
