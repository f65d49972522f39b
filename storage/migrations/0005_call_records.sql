-- Call records: one row per call the switch routed (calls/list). Written
-- in batches as run-time state: they do not move the store revision.
-- Times are unix seconds; duration and billsec whole seconds of talk.
CREATE TABLE calls (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id      TEXT NOT NULL,
  start        INTEGER NOT NULL,
  answer       INTEGER NOT NULL DEFAULT 0,
  "end"        INTEGER NOT NULL,
  direction    TEXT NOT NULL,
  line         TEXT NOT NULL DEFAULT '',
  customer     INTEGER NOT NULL DEFAULT 0,
  caller       TEXT NOT NULL DEFAULT '',
  called       TEXT NOT NULL DEFAULT '',
  called_sent  TEXT NOT NULL DEFAULT '',
  route        INTEGER NOT NULL DEFAULT 0,
  peers_tried  TEXT NOT NULL DEFAULT '',
  peer         TEXT NOT NULL DEFAULT '',
  cause        INTEGER NOT NULL DEFAULT 0,
  hangup       TEXT NOT NULL DEFAULT '',
  reason       TEXT NOT NULL DEFAULT '',
  duration     INTEGER NOT NULL DEFAULT 0,
  billsec      INTEGER NOT NULL DEFAULT 0,
  cost         REAL NOT NULL DEFAULT 0,
  cost_row     INTEGER NOT NULL DEFAULT 0,
  forwarded_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_start ON calls(start);
CREATE INDEX calls_line_start ON calls(line, start);
CREATE INDEX calls_customer_start ON calls(customer, start);
