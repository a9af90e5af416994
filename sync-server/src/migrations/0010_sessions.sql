-- Access that can be taken away. A person can be turned off (`disabled_at`): their sessions
-- end and signing in is refused. A session (a token) ends after a time without use and after
-- a longest lifetime, counted from `last_used_at` and `created_at`; it has an id of its own
-- (`session_id`) so the person can list and end their sessions without ever seeing a token or
-- its hash again.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
ALTER TABLE tokens ADD COLUMN session_id TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE tokens ADD COLUMN device_name TEXT;
UPDATE tokens SET session_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX tokens_by_session ON tokens(session_id);

-- Sign-in attempts, counted before the password is checked, per account and client address
-- and per address; kept in the database so the count holds across restarts and instances.
-- `window_start` is in Unix seconds; rows older than the window are deleted as attempts come.
CREATE TABLE sign_in_attempts (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL
);
