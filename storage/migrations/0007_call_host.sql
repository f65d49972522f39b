-- The switch host that routed each call (cluster.host): several hosts
-- write their records into one PostgreSQL store. '' for records written
-- before hosts were named.
ALTER TABLE calls ADD COLUMN host TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_host_start ON calls(host, start);
