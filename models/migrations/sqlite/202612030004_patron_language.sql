-- 202612030004_patron_language on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- The language the patron chose with the portal's language switch (issue
-- 22): '' until they choose; 'en' or 'es' after. It decides the language
-- of the emails the portal sends them; a page otherwise follows the
-- browser.

ALTER TABLE patrons ADD COLUMN language TEXT NOT NULL DEFAULT '';
