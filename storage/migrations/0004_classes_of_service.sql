-- Classes of service (phones/create "cos"): an ordered list of
-- called-number prefix rules, each allowing or barring, the first match
-- deciding; a rule with a time group matches only while it is active.
-- Class 1 is built in: the system class that allows every call (the
-- Enswitch page's "1 for system COS that allows all calls"); class ids
-- therefore start at 2 for the classes operators create.
CREATE TABLE cos (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  customer    INTEGER NOT NULL DEFAULT 0,
  otherwise   TEXT NOT NULL DEFAULT 'deny'
);
INSERT INTO cos (id, name, description, customer, otherwise)
  VALUES (1, 'System: all calls', 'Built in: allows every call', 0, 'allow');

CREATE TABLE cos_rules (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  cos         INTEGER NOT NULL REFERENCES cos(id) ON DELETE CASCADE,
  position    INTEGER NOT NULL DEFAULT 0,
  prefix      TEXT NOT NULL DEFAULT '',
  allow       INTEGER NOT NULL DEFAULT 0,
  timegroup   INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cos_rules_cos ON cos_rules(cos);
