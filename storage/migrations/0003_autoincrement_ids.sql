-- Ids of deleted rows are never given again: every table whose integer id
-- the APIs expose becomes INTEGER PRIMARY KEY AUTOINCREMENT, so a client
-- still holding a deleted peer's id can never reach a new peer. SQLite
-- cannot add AUTOINCREMENT to a column, so each table is rebuilt as
-- https://sqlite.org/lang_altertable.html#otheralter says: create the new
-- table, copy the rows (ids kept; AUTOINCREMENT then records the highest id
-- in sqlite_sequence), drop the old one, rename the new one, recreate its
-- indexes. The migration runner turns foreign keys off around this (a DROP
-- of a parent table would otherwise cascade to its children) and runs
-- PRAGMA foreign_key_check before it commits.

CREATE TABLE customers_new (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  parent INTEGER NOT NULL DEFAULT 0,
  name   TEXT NOT NULL,
  plan   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO customers_new (id, parent, name, plan)
  SELECT id, parent, name, plan FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
CREATE INDEX customers_parent ON customers(parent);

CREATE TABLE users_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL,
  customer      INTEGER NOT NULL REFERENCES customers(id)
);
INSERT INTO users_new (id, username, password_hash, role, customer)
  SELECT id, username, password_hash, role, customer FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE timegroups_new (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL,
  customer    INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT ''
);
INSERT INTO timegroups_new (id, name, customer, description)
  SELECT id, name, customer, description FROM timegroups;
DROP TABLE timegroups;
ALTER TABLE timegroups_new RENAME TO timegroups;

CREATE TABLE timeperiods_new (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO timeperiods_new (id, timegroup, days, starthour, startminute, endhour, endminute, startdate, enddate, timezone)
  SELECT id, timegroup, days, starthour, startminute, endhour, endminute, startdate, enddate, timezone FROM timeperiods;
DROP TABLE timeperiods;
ALTER TABLE timeperiods_new RENAME TO timeperiods;
CREATE INDEX timeperiods_timegroup ON timeperiods(timegroup);

CREATE TABLE plans_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  customer      INTEGER NOT NULL DEFAULT 0,
  cos_timegroup INTEGER NOT NULL DEFAULT 0
);
INSERT INTO plans_new (id, name, description, customer, cos_timegroup)
  SELECT id, name, description, customer, cos_timegroup FROM plans;
DROP TABLE plans;
ALTER TABLE plans_new RENAME TO plans;

CREATE TABLE plan_routes_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO plan_routes_new (id, plan, called_prefix, caller_prefix, allow, description, media, peer1, peer2, peer3, timegroup)
  SELECT id, plan, called_prefix, caller_prefix, allow, description, media, peer1, peer2, peer3, timegroup FROM plan_routes;
DROP TABLE plan_routes;
ALTER TABLE plan_routes_new RENAME TO plan_routes;

CREATE TABLE peers_new (
  id                     INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO peers_new (id, name, type, called_prefix, called_strip_hash, callerid, callerid_unknown, callerid_withheld, channel_group, charge, codecs, context, costs, currency, customer, description, destination, dialplan_called, dialplan_caller, dtmfmode, fail_percent, outmaximum, password, plan_customer, proxy, send_asserted_identity, send_privacy, send_rpid, url_costs, username)
  SELECT id, name, type, called_prefix, called_strip_hash, callerid, callerid_unknown, callerid_withheld, channel_group, charge, codecs, context, costs, currency, customer, description, destination, dialplan_called, dialplan_caller, dtmfmode, fail_percent, outmaximum, password, plan_customer, proxy, send_asserted_identity, send_privacy, send_rpid, url_costs, username FROM peers;
DROP TABLE peers;
ALTER TABLE peers_new RENAME TO peers;

CREATE TABLE peer_costs_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO peer_costs_new (id, peer, called_max, called_min, called_prefix, caller_type, caller_prefix, connectfee, cost, days, description, "end", endhour, endminute, included, increment, least_cost, media, message, minimum, priority, start, starthour, startminute)
  SELECT id, peer, called_max, called_min, called_prefix, caller_type, caller_prefix, connectfee, cost, days, description, "end", endhour, endminute, included, increment, least_cost, media, message, minimum, priority, start, starthour, startminute FROM peer_costs;
DROP TABLE peer_costs;
ALTER TABLE peer_costs_new RENAME TO peer_costs;
CREATE INDEX peer_costs_peer_prefix ON peer_costs(peer, called_prefix);

CREATE TABLE phones_new (
  id                      INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO phones_new (id, name, password, acr, allowed_ua, aoc, btype, bnumber, call_maximum, callerid_external, callerid_internal, callerid_location, callername_external, callername_internal, codec, cos, customer, description, delivery, dialplan, direct, dnd, dtype, dnumber, emergency_address1, emergency_address2, emergency_address3, emergency_address_city, emergency_address_state, emergency_address_code, emergency_address_other, emergency_country, emergency_location_code, expect_registered, forwarding, use_forwarding, hardware_address, language, ltype, lnumber, mailbox, media, missedemail, music, music_ringing, owner, panel, pin, ping, plan, presentation_external, presentation_internal, provision1, provisioning, recordgroup, registrar, ringtime, screen, source, totalmaximum, utype, unumber, unumber_group)
  SELECT id, name, password, acr, allowed_ua, aoc, btype, bnumber, call_maximum, callerid_external, callerid_internal, callerid_location, callername_external, callername_internal, codec, cos, customer, description, delivery, dialplan, direct, dnd, dtype, dnumber, emergency_address1, emergency_address2, emergency_address3, emergency_address_city, emergency_address_state, emergency_address_code, emergency_address_other, emergency_country, emergency_location_code, expect_registered, forwarding, use_forwarding, hardware_address, language, ltype, lnumber, mailbox, media, missedemail, music, music_ringing, owner, panel, pin, ping, plan, presentation_external, presentation_internal, provision1, provisioning, recordgroup, registrar, ringtime, screen, source, totalmaximum, utype, unumber, unumber_group FROM phones;
DROP TABLE phones;
ALTER TABLE phones_new RENAME TO phones;
CREATE INDEX phones_customer ON phones(customer);

CREATE TABLE sip_endpoints_new (
  "object_id"              INTEGER PRIMARY KEY AUTOINCREMENT,
  "name"                   TEXT NOT NULL UNIQUE COLLATE NOCASE,
  "defaultuser"            TEXT NOT NULL DEFAULT '',
  "secret"                 TEXT NOT NULL DEFAULT '',
  "registration"           TEXT NOT NULL DEFAULT 'none',
  "host"                   TEXT NOT NULL DEFAULT '',
  "transport"              TEXT NOT NULL DEFAULT 'UDP',
  "nat"                    TEXT NOT NULL DEFAULT 'yes',
  "auth"                   TEXT NOT NULL DEFAULT '',
  "fromuser"               TEXT NOT NULL DEFAULT '',
  "fromdomain"             TEXT NOT NULL DEFAULT '',
  "remotesecret"           TEXT NOT NULL DEFAULT '',
  "port"                   INTEGER NOT NULL DEFAULT 0,
  "qualify"                INTEGER NOT NULL DEFAULT 0,
  "qualifyfreq"            INTEGER NOT NULL DEFAULT 60,
  "dtmfmode"               TEXT NOT NULL DEFAULT 'auto',
  "trustrpid"              INTEGER NOT NULL DEFAULT 0,
  "sendrpid"               INTEGER NOT NULL DEFAULT 0,
  "rpid_format"            TEXT NOT NULL DEFAULT 'pass',
  "callingpres"            TEXT NOT NULL DEFAULT 'allowed_not_screened',
  "progressinband"         TEXT NOT NULL DEFAULT 'never',
  "allowoverlap"           INTEGER NOT NULL DEFAULT 0,
  "usereqphone"            INTEGER NOT NULL DEFAULT 0,
  "use_q850_reason"        INTEGER NOT NULL DEFAULT 0,
  "honorsdpversion"        INTEGER NOT NULL DEFAULT 1,
  "max_forwards"           INTEGER NOT NULL DEFAULT 3,
  "registertrying"         INTEGER NOT NULL DEFAULT 0,
  "outboundproxy"          TEXT NOT NULL DEFAULT '',
  "timert1"                INTEGER NOT NULL DEFAULT 500,
  "timerb"                 INTEGER NOT NULL DEFAULT 32000,
  "session-timers"         TEXT NOT NULL DEFAULT 'accept',
  "session-minse"          INTEGER NOT NULL DEFAULT 90,
  "session-expires"        INTEGER NOT NULL DEFAULT 1800,
  "session-refresher"      TEXT NOT NULL DEFAULT 'uas',
  "audio_codecs"           TEXT NOT NULL DEFAULT 'ulaw,alaw,g722,g726,g729,gsm',
  "codec_order"            TEXT NOT NULL DEFAULT 'ulaw,alaw,g722,g726,g729,gsm',
  "alaw_pr"                INTEGER NOT NULL DEFAULT 20,
  "ulaw_pr"                INTEGER NOT NULL DEFAULT 20,
  "gsm_pr"                 INTEGER NOT NULL DEFAULT 20,
  "g722_pr"                INTEGER NOT NULL DEFAULT 20,
  "g726_pr"                INTEGER NOT NULL DEFAULT 20,
  "g726nonstandard"        INTEGER NOT NULL DEFAULT 0,
  "g729_pr"                INTEGER NOT NULL DEFAULT 20,
  "preferred_codec_only"   INTEGER NOT NULL DEFAULT 0,
  "t38pt_udptl"            TEXT NOT NULL DEFAULT 'yes,redundancy',
  "t1min"                  TEXT NOT NULL DEFAULT '500ms',
  "allowtransfer"          INTEGER NOT NULL DEFAULT 1,
  "promiscredir"           INTEGER NOT NULL DEFAULT 0,
  "rtptimeout"             INTEGER NOT NULL DEFAULT 0,
  "rtpholdtimeout"         INTEGER NOT NULL DEFAULT 0,
  "t38transport"           TEXT NOT NULL DEFAULT '',
  "insecure"               INTEGER NOT NULL DEFAULT 0,
  "enable_advanced"        INTEGER NOT NULL DEFAULT 0,
  "extension"              TEXT NOT NULL DEFAULT '',
  "rtpjittermode"          TEXT NOT NULL DEFAULT 'adaptive',
  "rtpjitterdelay"         INTEGER NOT NULL DEFAULT 50
);
INSERT INTO sip_endpoints_new ("object_id", "name", "defaultuser", "secret", "registration", "host", "transport", "nat", "auth", "fromuser", "fromdomain", "remotesecret", "port", "qualify", "qualifyfreq", "dtmfmode", "trustrpid", "sendrpid", "rpid_format", "callingpres", "progressinband", "allowoverlap", "usereqphone", "use_q850_reason", "honorsdpversion", "max_forwards", "registertrying", "outboundproxy", "timert1", "timerb", "session-timers", "session-minse", "session-expires", "session-refresher", "audio_codecs", "codec_order", "alaw_pr", "ulaw_pr", "gsm_pr", "g722_pr", "g726_pr", "g726nonstandard", "g729_pr", "preferred_codec_only", "t38pt_udptl", "t1min", "allowtransfer", "promiscredir", "rtptimeout", "rtpholdtimeout", "t38transport", "insecure", "enable_advanced", "extension", "rtpjittermode", "rtpjitterdelay")
  SELECT "object_id", "name", "defaultuser", "secret", "registration", "host", "transport", "nat", "auth", "fromuser", "fromdomain", "remotesecret", "port", "qualify", "qualifyfreq", "dtmfmode", "trustrpid", "sendrpid", "rpid_format", "callingpres", "progressinband", "allowoverlap", "usereqphone", "use_q850_reason", "honorsdpversion", "max_forwards", "registertrying", "outboundproxy", "timert1", "timerb", "session-timers", "session-minse", "session-expires", "session-refresher", "audio_codecs", "codec_order", "alaw_pr", "ulaw_pr", "gsm_pr", "g722_pr", "g726_pr", "g726nonstandard", "g729_pr", "preferred_codec_only", "t38pt_udptl", "t1min", "allowtransfer", "promiscredir", "rtptimeout", "rtpholdtimeout", "t38transport", "insecure", "enable_advanced", "extension", "rtpjittermode", "rtpjitterdelay" FROM sip_endpoints;
DROP TABLE sip_endpoints;
ALTER TABLE sip_endpoints_new RENAME TO sip_endpoints;
