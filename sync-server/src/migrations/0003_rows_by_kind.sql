-- A tenant's rows of one kind (its companies, for an accountant's roles) without reading the
-- whole tenant: `cargo xtask bench sync` showed every pull and push paying for a full scan.
CREATE INDEX entities_by_firm_kind ON entities(firm_id, kind);
