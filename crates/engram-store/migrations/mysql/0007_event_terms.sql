-- engram on mysql, schema 7: an event keeps the terms it was indexed with.
--
-- * `events.lexical_terms`: the event's index terms and their frequencies (JSON object), as the
--   other record tables keep theirs, so a packet scores a recalled event from them instead of
--   analyzing its text again. NULL for events written before this migration: those are analyzed
--   when fetched, which gives the same terms.
ALTER TABLE events ADD COLUMN lexical_terms MEDIUMTEXT NULL;
