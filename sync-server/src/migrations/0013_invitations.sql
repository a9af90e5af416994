-- An invitation no longer makes an account: it keeps what the inviter typed, and the account
-- is made (or, for an e-mail that has one, given the roles) when the invitation is accepted.
-- So the answer to the inviter is the same whether or not the e-mail has an account.
CREATE TABLE invitations_v2 (
    token_hash TEXT PRIMARY KEY,
    -- names it in lists and to cancel it (a UUID)
    id TEXT NOT NULL UNIQUE,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    email TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL,
    -- into a company: the roles (a JSON array of role words) given there
    company_id TEXT,
    roles TEXT NOT NULL DEFAULT '[]',
    -- into the firm's staff: 'accountant' or 'firm_admin', and the assigned companies (JSON)
    staff_role TEXT,
    assigned TEXT NOT NULL DEFAULT '[]',
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- Invitations made by earlier versions: their account exists without a password and already
-- has its roles; accepting sets the password and gives nothing more.
INSERT INTO invitations_v2 (token_hash, id, firm_id, email, name, created_by, created_at,
                            expires_at, used_at)
SELECT i.token_hash,
       lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
           substr(lower(hex(randomblob(2))), 2) || '-8' || substr(lower(hex(randomblob(2))), 2) ||
           '-' || lower(hex(randomblob(6))),
       u.firm_id, u.email, u.name, i.created_by, u.created_at, i.expires_at, i.used_at
FROM invitations i JOIN users u ON u.id = i.user_id;

DROP TABLE invitations;
ALTER TABLE invitations_v2 RENAME TO invitations;
CREATE INDEX invitations_open_by_company ON invitations(company_id) WHERE used_at IS NULL;
CREATE INDEX invitations_open_by_firm ON invitations(firm_id) WHERE used_at IS NULL;
