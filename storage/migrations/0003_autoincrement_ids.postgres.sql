-- Nothing to do on PostgreSQL: 0001's integer keys are already identity
-- columns (postgresDDL), whose sequences never hand out an id twice, which
-- is what this step gives SQLite's tables.
SELECT 1;
