-- The firm's staff and what they see (issue 17).
-- A firm admin manages the firm's staff and client companies, and sees every client.
ALTER TABLE users ADD COLUMN firm_admin INTEGER NOT NULL DEFAULT 0;
-- When set, accountants see only the client companies assigned to them.
ALTER TABLE firms ADD COLUMN assigned_clients_only INTEGER NOT NULL DEFAULT 0;
-- Which client companies a member of staff is assigned to.
CREATE TABLE assignments (
    user_id TEXT NOT NULL REFERENCES users(id),
    company_id TEXT NOT NULL,
    PRIMARY KEY (user_id, company_id)
) WITHOUT ROWID;
CREATE INDEX assignments_by_company ON assignments(company_id);
