-- 202611270002_assist_notice on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- When a patron last saw the notice that staff assisted them.

ALTER TABLE patrons ADD COLUMN assist_seen_at DATETIME;
