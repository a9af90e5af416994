-- The clients overview counts each client's documents by status (issue 17): the status of an
-- expense row, read from its JSON, as an indexed column, so the counts of 300 clients with
-- 200,000 documents come from the index alone.
ALTER TABLE entities ADD COLUMN status TEXT
    GENERATED ALWAYS AS (CASE WHEN kind = 'expense' THEN json_extract(body, '$.status') END) VIRTUAL;
CREATE INDEX entities_by_company_status ON entities(company_id, status)
    WHERE kind = 'expense' AND deleted = 0;
