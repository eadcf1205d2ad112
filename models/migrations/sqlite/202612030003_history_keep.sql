-- 202612030003_history_keep on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- The patron's choice to keep only the last months of their reading
-- history (issue 21): 0 keeps all of it; 3, 6, 12 or 24 have the purge
-- delete entries returned longer ago than that. The purge finds these
-- patrons by the partial index, and their entries by
-- reading_history_patron_returned.

ALTER TABLE patrons ADD COLUMN history_keep_months INTEGER NOT NULL DEFAULT 0;

CREATE INDEX patrons_history_keep ON patrons (history_keep_months) WHERE history_keep_months > 0;
