-- SRTP policy of lines and peers (media_encryption, a sipswitch
-- addition, issue 26): none, optional or required; none as before.
ALTER TABLE phones ADD COLUMN media_encryption TEXT NOT NULL DEFAULT 'none';
ALTER TABLE peers ADD COLUMN media_encryption TEXT NOT NULL DEFAULT 'none';
