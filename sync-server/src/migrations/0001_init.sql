-- Kvits sync server, schema 1. Ids are UUID text; times RFC 3339 UTC text.

-- An accounting firm: the tenant. `change_counter` numbers every row change in the tenant and
-- is the sync cursor.
CREATE TABLE firms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    change_counter INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    -- argon2id PHC string; NULL until an invitation is accepted
    password_hash TEXT,
    -- staff of the firm: sees every client company
    accountant INTEGER NOT NULL DEFAULT 0,
    -- the firm's change counter when this user's access last changed: older cursors reset
    access_version INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- Roles of a user in a client company (several rows for several roles).
CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id),
    company_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, company_id, role)
) WITHOUT ROWID;
CREATE INDEX memberships_by_company ON memberships(company_id);

-- Bearer tokens, stored as SHA-256 of the random token.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    client_id TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_by_user ON tokens(user_id);

CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- One app install, bound to the user who first used it; `last_seq` is the exactly-once mark.
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    device_name TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0,
    -- set when the user's access changed: a pull with an older non-zero cursor must start
    -- over (reset); cleared by the client's next pull from 0
    reset_before INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- The stored outcome of every mutation, answered again for duplicates.
CREATE TABLE mutation_results (
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    result TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;

-- Every synced row: the current JSON of a protocol Entity, or a tombstone.
-- `version` is the firm's change counter at the row's last change (unique per firm).
-- `parent_id` is the thread of a message, for thread lookups.
CREATE TABLE entities (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    company_id TEXT NOT NULL,
    parent_id TEXT,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    body TEXT,
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX entities_by_version ON entities(firm_id, version);
CREATE INDEX entities_by_company ON entities(company_id, kind);
CREATE INDEX entities_by_parent ON entities(parent_id, kind) WHERE parent_id IS NOT NULL;

-- Stored blobs, content-addressed per firm.
CREATE TABLE blobs (
    firm_id TEXT NOT NULL REFERENCES firms(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (firm_id, sha256)
) WITHOUT ROWID;

-- Which rows name which blob: a user may download a blob a visible row names.
CREATE TABLE blob_refs (
    firm_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (firm_id, sha256, kind, entity_id)
) WITHOUT ROWID;
CREATE INDEX blob_refs_by_entity ON blob_refs(kind, entity_id);
