-- 202611270006_history_count on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- Counting a heavy reader's history on every overview and history page
-- cost milliseconds (an index scan of every row). The count is kept on the
-- patron's row instead, by triggers, so that every way a row comes or goes
-- (the portal, an ILS import, a cascade) keeps it true without any code
-- having to remember.

ALTER TABLE patrons ADD COLUMN history_count BIGINT NOT NULL DEFAULT 0;

UPDATE patrons SET history_count = (SELECT COUNT(*) FROM reading_history WHERE reading_history.patron_id = patrons.id);

CREATE TRIGGER reading_history_added AFTER INSERT ON reading_history BEGIN
						UPDATE patrons SET history_count = history_count + 1 WHERE id = NEW.patron_id; END;

CREATE TRIGGER reading_history_removed AFTER DELETE ON reading_history BEGIN
						UPDATE patrons SET history_count = history_count - 1 WHERE id = OLD.patron_id; END;
