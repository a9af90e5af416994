-- Export to the books (issue 18): batches of reviewed documents, each delivered once.
-- A batch's ZIP file is kept under <data_dir>/exports/<id>.zip, so it downloads again byte for
-- byte; its documents carry the batch in their own rows (the domain's export mark).
CREATE TABLE export_batches (
    id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    company_id TEXT NOT NULL,
    -- 1, 2, … within the company, as people name batches.
    number INTEGER NOT NULL,
    period_from TEXT,
    period_to TEXT,
    -- building | ready | cancelled | failed
    status TEXT NOT NULL,
    documents INTEGER NOT NULL,
    bytes INTEGER,
    sha256 TEXT,
    created_by TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    cancelled_by_name TEXT,
    error TEXT,
    UNIQUE (company_id, number)
);
-- The documents of a batch in their order (`line` makes the voucher number `number-line`).
CREATE TABLE export_items (
    batch_id TEXT NOT NULL REFERENCES export_batches(id),
    line INTEGER NOT NULL,
    expense_id TEXT NOT NULL,
    PRIMARY KEY (batch_id, line)
) WITHOUT ROWID;
CREATE INDEX export_items_by_expense ON export_items(expense_id);
-- How a company's documents are booked and exported (kvits_protocol::ExportSettings as JSON).
CREATE TABLE export_settings (
    company_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL
) WITHOUT ROWID;
-- The journal's separator and decimal mark, per firm.
ALTER TABLE firms ADD COLUMN csv_separator TEXT NOT NULL DEFAULT 'comma';
ALTER TABLE firms ADD COLUMN decimal_mark TEXT NOT NULL DEFAULT 'point';
