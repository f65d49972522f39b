-- Media quality of relayed calls (sip/media): per leg, from what that
-- party sent to the relay on its first audio stream. relayed 0 and zeros
-- for calls whose media went end to end.
ALTER TABLE calls ADD COLUMN relayed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN caller_packets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN caller_loss REAL NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN caller_jitter REAL NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN caller_mos REAL NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN callee_packets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN callee_loss REAL NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN callee_jitter REAL NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN callee_mos REAL NOT NULL DEFAULT 0;
