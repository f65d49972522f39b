-- A line's codecs (phones/create codecs, a sipswitch addition): the codecs
-- it may use, in its order of preference; '' for any, as before.
ALTER TABLE phones ADD COLUMN codecs TEXT NOT NULL DEFAULT '';
