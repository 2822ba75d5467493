-- engram on mysql, schema 8: an event keeps the token count of its packet line's text.
--
-- * `events.line_tokens`: tokens (o200k_base) of the text that ends the event's full line in a
--   packet (a space, the text on one line, the newline), counted at write, so a packet counts
--   only the line's short head instead of the whole text. NULL for events written before this
--   migration: a packet counts those lines whole, to the same total.
ALTER TABLE events ADD COLUMN line_tokens BIGINT NULL;
