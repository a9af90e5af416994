-- The companies whose documents an install of the firm's staff holds (issue 17's sync scope):
-- staff devices always get every client's company row, catalog and conversations, but a
-- client's documents only once the device has opened that client.
CREATE TABLE client_scope (
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    company_id TEXT NOT NULL,
    PRIMARY KEY (client_id, company_id)
) WITHOUT ROWID;
