-- Card statements (issue 19): each import of a bank statement file, the firm's saved CSV
-- layouts of its banks, and what finds a card payment's candidate receipts quickly. The card
-- payments themselves are synced rows (`card_transaction` in `entities`); a matched payment's
-- `parent_id` is its expense, so "the payment of this receipt" is an index lookup.
CREATE TABLE statements (
    id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    company_id TEXT NOT NULL,
    -- camt.053, fidavista, mt940, csv, …
    format TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    period_from TEXT,
    period_to TEXT,
    transactions INTEGER NOT NULL,
    new INTEGER NOT NULL,
    imported_by TEXT NOT NULL,
    imported_by_name TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX statements_by_company ON statements(company_id, imported_at);

-- A bank's CSV layout (kvits_protocol::CsvProfile as JSON), saved once for the whole firm.
CREATE TABLE bank_profiles (
    id TEXT PRIMARY KEY,
    firm_id TEXT NOT NULL REFERENCES firms(id),
    name TEXT NOT NULL,
    profile TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (firm_id, name)
);

-- Candidates by amount: a company's card payments by their amount (and by the amount in the
-- currency the card was used in), and its expenses by theirs.
CREATE INDEX card_transactions_by_amount ON entities(
    company_id, json_extract(body, '$.amount.amount_minor')
) WHERE kind = 'card_transaction';
CREATE INDEX card_transactions_by_original_amount ON entities(
    company_id, json_extract(body, '$.original_amount.amount_minor')
) WHERE kind = 'card_transaction';
CREATE INDEX expenses_by_amount ON entities(
    company_id, json_extract(body, '$.fields.amount.amount_minor')
) WHERE kind = 'expense';
