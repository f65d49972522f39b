-- A call record's own key (record_key), given by the switch host that
-- wrote it: unique, so that a record written twice (a batch retried after
-- a commit whose outcome was unknown, a journal replayed after a crash)
-- is stored once. NULL for the records written before it: NULLs are
-- distinct in a unique index, in SQLite and PostgreSQL alike.
ALTER TABLE calls ADD COLUMN record_key TEXT;
CREATE UNIQUE INDEX calls_record_key ON calls(record_key);
