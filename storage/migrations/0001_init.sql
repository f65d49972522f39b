-- sipswitch schema. Column names are the API parameter names.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO meta(key, value) VALUES ('revision', 0);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE customers (
  id     INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL DEFAULT 0,
  name   TEXT NOT NULL,
  plan   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX customers_parent ON customers(parent);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL,
  customer      INTEGER NOT NULL REFERENCES customers(id)
);

CREATE TABLE timegroups (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  customer    INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE timeperiods (
  id          INTEGER PRIMARY KEY,
  timegroup   INTEGER NOT NULL REFERENCES timegroups(id) ON DELETE CASCADE,
  days        TEXT NOT NULL DEFAULT '1234567',
  starthour   INTEGER NOT NULL DEFAULT 0,
  startminute INTEGER NOT NULL DEFAULT 0,
  endhour     INTEGER NOT NULL DEFAULT 23,
  endminute   INTEGER NOT NULL DEFAULT 59,
  startdate   TEXT NOT NULL DEFAULT '',
  enddate     TEXT NOT NULL DEFAULT '',
  timezone    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timeperiods_timegroup ON timeperiods(timegroup);

CREATE TABLE plans (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  customer      INTEGER NOT NULL DEFAULT 0,
  cos_timegroup INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE plan_routes (
  id            INTEGER PRIMARY KEY,
  plan          INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
  called_prefix TEXT NOT NULL,
  caller_prefix TEXT NOT NULL DEFAULT '',
  allow         INTEGER NOT NULL DEFAULT 1,
  description   TEXT NOT NULL DEFAULT '',
  media         TEXT NOT NULL DEFAULT 'voice_fax',
  peer1         INTEGER NOT NULL DEFAULT 0,
  peer2         INTEGER NOT NULL DEFAULT 0,
  peer3         INTEGER NOT NULL DEFAULT 0,
  timegroup     INTEGER NOT NULL DEFAULT 0,
  UNIQUE (plan, called_prefix, caller_prefix, media)
);

CREATE TABLE peers (
  id                     INTEGER PRIMARY KEY,
  name                   TEXT NOT NULL UNIQUE COLLATE NOCASE,
  type                   TEXT NOT NULL,
  called_prefix          TEXT NOT NULL DEFAULT '',
  called_strip_hash      INTEGER NOT NULL DEFAULT 0,
  callerid               TEXT NOT NULL DEFAULT '',
  callerid_unknown       TEXT NOT NULL DEFAULT 'Anonymous',
  callerid_withheld      TEXT NOT NULL DEFAULT 'Anonymous',
  channel_group          INTEGER NOT NULL DEFAULT 1,
  charge                 INTEGER NOT NULL DEFAULT 1,
  codecs                 TEXT NOT NULL DEFAULT 'alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw',
  context                TEXT NOT NULL DEFAULT '',
  costs                  INTEGER NOT NULL DEFAULT 0,
  currency               TEXT NOT NULL DEFAULT '',
  customer               INTEGER NOT NULL DEFAULT 0,
  description            TEXT NOT NULL DEFAULT '',
  destination            TEXT NOT NULL DEFAULT '',
  dialplan_called        TEXT NOT NULL DEFAULT '',
  dialplan_caller        TEXT NOT NULL DEFAULT '',
  dtmfmode               TEXT NOT NULL DEFAULT 'rfc2833',
  fail_percent           INTEGER NOT NULL DEFAULT 0,
  outmaximum             INTEGER NOT NULL DEFAULT -1,
  password               TEXT NOT NULL DEFAULT '',
  plan_customer          INTEGER NOT NULL DEFAULT -1,
  proxy                  TEXT NOT NULL DEFAULT '',
  send_asserted_identity INTEGER NOT NULL DEFAULT 0,
  send_privacy           INTEGER NOT NULL DEFAULT 0,
  send_rpid              INTEGER NOT NULL DEFAULT 0,
  url_costs              TEXT NOT NULL DEFAULT '',
  username               TEXT NOT NULL DEFAULT ''
);

CREATE TABLE peer_costs (
  id            INTEGER PRIMARY KEY,
  peer          INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,
  called_max    INTEGER NOT NULL DEFAULT 100,
  called_min    INTEGER NOT NULL DEFAULT 1,
  called_prefix TEXT NOT NULL DEFAULT '',
  caller_type   TEXT NOT NULL DEFAULT 'prefix',
  caller_prefix TEXT NOT NULL DEFAULT '',
  connectfee    REAL NOT NULL DEFAULT 0,
  cost          REAL NOT NULL DEFAULT 0,
  days          TEXT NOT NULL DEFAULT '1234567',
  description   TEXT NOT NULL DEFAULT '',
  "end"         INTEGER NOT NULL DEFAULT -1,
  endhour       INTEGER NOT NULL DEFAULT 23,
  endminute     INTEGER NOT NULL DEFAULT 59,
  included      INTEGER NOT NULL DEFAULT 0,
  increment     INTEGER NOT NULL DEFAULT 1,
  least_cost    INTEGER NOT NULL DEFAULT 1,
  media         TEXT NOT NULL DEFAULT 'voice_fax',
  message       REAL NOT NULL DEFAULT 0,
  minimum       REAL NOT NULL DEFAULT 0,
  priority      INTEGER NOT NULL DEFAULT 1,
  start         INTEGER NOT NULL DEFAULT -1,
  starthour     INTEGER NOT NULL DEFAULT 0,
  startminute   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX peer_costs_peer_prefix ON peer_costs(peer, called_prefix);

CREATE TABLE phones (
  id                      INTEGER PRIMARY KEY,
  name                    TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password                TEXT NOT NULL,
  acr                     INTEGER NOT NULL DEFAULT 0,
  allowed_ua              TEXT NOT NULL DEFAULT '',
  aoc                     INTEGER NOT NULL DEFAULT 0,
  btype                   TEXT NOT NULL DEFAULT 'hangup',
  bnumber                 TEXT NOT NULL DEFAULT '',
  call_maximum            REAL NOT NULL DEFAULT -1,
  callerid_external       TEXT NOT NULL DEFAULT 'default',
  callerid_internal       TEXT NOT NULL DEFAULT 'default',
  callerid_location       TEXT NOT NULL DEFAULT '',
  callername_external     TEXT NOT NULL DEFAULT '',
  callername_internal     TEXT NOT NULL DEFAULT '',
  codec                   TEXT NOT NULL DEFAULT '',
  cos                     INTEGER NOT NULL DEFAULT 0,
  customer                INTEGER NOT NULL REFERENCES customers(id),
  description             TEXT NOT NULL DEFAULT '',
  delivery                TEXT NOT NULL DEFAULT 'register',
  dialplan                TEXT NOT NULL DEFAULT '',
  direct                  INTEGER NOT NULL DEFAULT 1,
  dnd                     INTEGER NOT NULL DEFAULT 0,
  dtype                   TEXT NOT NULL DEFAULT 'hangup',
  dnumber                 TEXT NOT NULL DEFAULT '',
  emergency_address1      TEXT NOT NULL DEFAULT '',
  emergency_address2      TEXT NOT NULL DEFAULT '',
  emergency_address3      TEXT NOT NULL DEFAULT '',
  emergency_address_city  TEXT NOT NULL DEFAULT '',
  emergency_address_state TEXT NOT NULL DEFAULT '',
  emergency_address_code  TEXT NOT NULL DEFAULT '',
  emergency_address_other TEXT NOT NULL DEFAULT '',
  emergency_country       TEXT NOT NULL DEFAULT '',
  emergency_location_code TEXT NOT NULL DEFAULT '',
  expect_registered       INTEGER NOT NULL DEFAULT 1,
  forwarding              TEXT NOT NULL DEFAULT '',
  use_forwarding          INTEGER NOT NULL DEFAULT 1,
  hardware_address        TEXT NOT NULL DEFAULT '',
  language                TEXT NOT NULL DEFAULT '',
  ltype                   TEXT NOT NULL DEFAULT '',
  lnumber                 TEXT NOT NULL DEFAULT '',
  mailbox                 TEXT NOT NULL DEFAULT '',
  media                   TEXT NOT NULL DEFAULT 'voice',
  missedemail             INTEGER NOT NULL DEFAULT 0,
  music                   INTEGER NOT NULL DEFAULT 0,
  music_ringing           INTEGER NOT NULL DEFAULT 0,
  owner                   INTEGER NOT NULL DEFAULT 0,
  panel                   INTEGER NOT NULL DEFAULT 0,
  pin                     TEXT NOT NULL DEFAULT '',
  ping                    INTEGER NOT NULL DEFAULT 0,
  plan                    INTEGER NOT NULL DEFAULT 0,
  presentation_external   INTEGER NOT NULL DEFAULT 1,
  presentation_internal   INTEGER NOT NULL DEFAULT 1,
  provision1              TEXT NOT NULL DEFAULT '',
  provisioning            INTEGER NOT NULL DEFAULT 0,
  recordgroup             INTEGER NOT NULL DEFAULT 0,
  registrar               TEXT NOT NULL DEFAULT '',
  ringtime                INTEGER NOT NULL DEFAULT 15,
  screen                  INTEGER NOT NULL DEFAULT 0,
  source                  TEXT NOT NULL DEFAULT '',
  totalmaximum            INTEGER NOT NULL DEFAULT -1,
  utype                   TEXT NOT NULL DEFAULT 'hangup',
  unumber                 TEXT NOT NULL DEFAULT '',
  unumber_group           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX phones_customer ON phones(customer);

-- Registrations survive a daemon restart.
CREATE TABLE registrations (
  phone       TEXT NOT NULL,
  contact     TEXT NOT NULL,
  data        TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (phone, contact)
);
