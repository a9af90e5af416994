-- Migration 1: the core's rows.
--
-- One row per (collection, key). `collection` is a stable text name ("meta", "outbox",
-- "mirror", "photos", "notices", "captures"), never the enum's position; `value` is a JSON
-- document the core wrote and only the core reads. STRICT keeps the columns the types declared.
--
-- Released migrations are never edited: a change to the schema is a new numbered file.
CREATE TABLE rows (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID, STRICT;
