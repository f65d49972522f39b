-- Call recording (issue 29). A record group (recordgroups/*) says which
-- calls of the lines that name it (phones' recordgroup) are recorded:
-- calls all, inbound or outbound; retention the days a recording is
-- kept (0: for ever); directory where its files go, relative to the
-- switch's recordings directory (media.recordings_dir) or Asterisk's
-- monitor directory. A call record's recording is the path of its file
-- ('' when not recorded).
CREATE TABLE recordgroups (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL,
  customer    INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT '',
  calls       TEXT NOT NULL DEFAULT 'all',
  retention   INTEGER NOT NULL DEFAULT 0,
  directory   TEXT NOT NULL DEFAULT ''
);
ALTER TABLE calls ADD COLUMN recording TEXT NOT NULL DEFAULT '';
