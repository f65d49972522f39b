-- Emergency calls (issue 29). A peer's emergency_location (a sipswitch
-- addition): 1 sends the caller's civic address (PIDF-LO) on emergency
-- calls. A call record's emergency: 1 for a call to an emergency number.
ALTER TABLE peers ADD COLUMN emergency_location INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN emergency INTEGER NOT NULL DEFAULT 0;
