-- The audit log (audit/list): every write through the APIs and the
-- command line, and every failed login. A write's row is inserted in the
-- write's own transaction, so it exists exactly when the write committed;
-- failed logins are appended as run-time state (no revision move). time is
-- unix seconds. changes is a JSON object of the parameters written, with
-- secrets recorded as "(changed)", never their value. customer is the
-- acting user's (0 for a failed login): audit/list shows a user the rows
-- of its customer tree. Rows older than audit.retention_days are deleted
-- by the daemon.
CREATE TABLE audit (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  time      INTEGER NOT NULL,
  username  TEXT NOT NULL DEFAULT '',
  customer  INTEGER NOT NULL DEFAULT 0,
  address   TEXT NOT NULL DEFAULT '',
  via       TEXT NOT NULL DEFAULT '',
  function  TEXT NOT NULL,
  object    TEXT NOT NULL DEFAULT '',
  changes   TEXT NOT NULL DEFAULT '{}',
  result    TEXT NOT NULL DEFAULT 'ok'
);
CREATE INDEX audit_time ON audit(time);
CREATE INDEX audit_customer_time ON audit(customer, time);
