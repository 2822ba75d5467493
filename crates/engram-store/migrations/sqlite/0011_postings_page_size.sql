-- engram on SQLite, schema 11: the postings tables write leaf pages of 1,000 bytes instead of
-- FTS5's 4,050.
--
-- A packet reads each term's newest postings (`ORDER BY rowid DESC LIMIT k`). To walk a doclist
-- backwards, FTS5 first decodes the whole of its last leaf page, up to ~2,000 postings of a
-- common term at the default size, to return the newest 64. Smaller pages hold a quarter of that:
-- the planner packet over 100k events went from 13.7M to 12.2M instructions (README, "Postings
-- pages"). Segments written from now on use the new size (each write's merge step rewrites the
-- old ones over time); postings and packets are the same.
INSERT INTO event_postings(event_postings, rank) VALUES ('pgsz', 1000);
INSERT INTO fact_postings(fact_postings, rank) VALUES ('pgsz', 1000);
INSERT INTO episode_postings(episode_postings, rank) VALUES ('pgsz', 1000);
INSERT INTO procedure_postings(procedure_postings, rank) VALUES ('pgsz', 1000);
INSERT INTO insight_postings(insight_postings, rank) VALUES ('pgsz', 1000);
