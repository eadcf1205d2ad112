-- 202611270006_history_count on PostgreSQL. Frozen: never edit a released step; a change is a new one.
--
-- Counting a heavy reader's history on every overview and history page
-- cost milliseconds (an index scan of every row). The count is kept on the
-- patron's row instead, by triggers, so that every way a row comes or goes
-- (the portal, an ILS import, a cascade) keeps it true without any code
-- having to remember.

ALTER TABLE patrons ADD COLUMN history_count BIGINT NOT NULL DEFAULT 0;

UPDATE patrons SET history_count = (SELECT COUNT(*) FROM reading_history WHERE reading_history.patron_id = patrons.id);

-- Once per statement over its transition table, so a bulk insert of a
-- million rows updates each patron once.
CREATE FUNCTION carrel_history_added() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					UPDATE patrons SET history_count = patrons.history_count + d.n
					FROM (SELECT patron_id, COUNT(*) AS n FROM added GROUP BY patron_id) d
					WHERE patrons.id = d.patron_id;
					RETURN NULL;
				END $$;

CREATE FUNCTION carrel_history_removed() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					UPDATE patrons SET history_count = patrons.history_count - d.n
					FROM (SELECT patron_id, COUNT(*) AS n FROM removed GROUP BY patron_id) d
					WHERE patrons.id = d.patron_id;
					RETURN NULL;
				END $$;

CREATE TRIGGER reading_history_added AFTER INSERT ON reading_history
					REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_history_added();

CREATE TRIGGER reading_history_removed AFTER DELETE ON reading_history
					REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_history_removed();
