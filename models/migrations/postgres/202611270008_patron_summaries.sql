-- 202611270008_patron_summaries on PostgreSQL. Frozen: never edit a released step; a change is a new one.
--
-- The overview ran a scan of every category's table, and PostgreSQL spent
-- more time setting up that plan than running it: about a third of a
-- millisecond of CPU per overview, the budget's largest part. What it
-- shows of most categories is now kept per patron in patron_summaries by
-- triggers (summaries.go explains what they keep), and it reads that.
--
-- This is the SQL that summaryDDL in summaries.go produced for this step,
-- written out when the step was frozen. This file, not that function, is
-- what migrates a database: a later change to the summaries is a new step.
-- For each kept category, in turn: the rows already there summed up, then
-- the triggers that keep the summary as rows are added, removed and
-- changed.

CREATE TABLE patron_summaries (
			patron_id BIGINT NOT NULL,
			slug TEXT NOT NULL,
			n BIGINT NOT NULL,
			newest_at TIMESTAMPTZ NOT NULL,
			newest_id BIGINT NOT NULL,
			newest_label TEXT,
			oldest_at TIMESTAMPTZ,
			PRIMARY KEY (patron_id, slug));

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'loans', g.n, r.checked_out_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.checked_out_at) AS oldest FROM loans r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN loans r ON r.id = (SELECT r2.id FROM loans r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.checked_out_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_loans_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'loans', COUNT(*) OVER w, r.checked_out_at, r.id, r.title, MIN(r.checked_out_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.checked_out_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_loans_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.checked_out_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'loans' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.checked_out_at FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.checked_out_at) FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'loans' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_loans_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.checked_out_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'loans' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.checked_out_at FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.checked_out_at) FROM loans r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'loans' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'loans', COUNT(*) OVER w, r.checked_out_at, r.id, r.title, MIN(r.checked_out_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.checked_out_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER loans_summary_added AFTER INSERT ON loans
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_loans_summary_added();

CREATE TRIGGER loans_summary_removed AFTER DELETE ON loans
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_loans_summary_removed();

CREATE TRIGGER loans_summary_changed AFTER UPDATE ON loans
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_loans_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'reading-history', g.n, r.returned_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.returned_at) AS oldest FROM reading_history r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN reading_history r ON r.id = (SELECT r2.id FROM reading_history r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.returned_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_reading_history_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'reading-history', COUNT(*) OVER w, r.returned_at, r.id, r.title, MIN(r.returned_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.returned_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_reading_history_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.returned_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'reading-history' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.returned_at FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.returned_at) FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'reading-history' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_reading_history_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.returned_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'reading-history' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.returned_at FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.returned_at) FROM reading_history r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'reading-history' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'reading-history', COUNT(*) OVER w, r.returned_at, r.id, r.title, MIN(r.returned_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.returned_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER reading_history_summary_added AFTER INSERT ON reading_history
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_reading_history_summary_added();

CREATE TRIGGER reading_history_summary_removed AFTER DELETE ON reading_history
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_reading_history_summary_removed();

CREATE TRIGGER reading_history_summary_changed AFTER UPDATE ON reading_history
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_reading_history_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'holds', g.n, r.placed_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.closed_at) AS oldest FROM holds r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN holds r ON r.id = (SELECT r2.id FROM holds r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.placed_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_holds_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'holds', COUNT(*) OVER w, r.placed_at, r.id, r.title, MIN(r.closed_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.placed_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_holds_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.closed_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'holds' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.placed_at FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.closed_at) FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'holds' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_holds_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.closed_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'holds' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.placed_at FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.closed_at) FROM holds r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'holds' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'holds', COUNT(*) OVER w, r.placed_at, r.id, r.title, MIN(r.closed_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.placed_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER holds_summary_added AFTER INSERT ON holds
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_holds_summary_added();

CREATE TRIGGER holds_summary_removed AFTER DELETE ON holds
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_holds_summary_removed();

CREATE TRIGGER holds_summary_changed AFTER UPDATE ON holds
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_holds_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'fines', g.n, r.assessed_at, r.id, r.description, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.settled_at) AS oldest FROM fines r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN fines r ON r.id = (SELECT r2.id FROM fines r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.assessed_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_fines_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'fines', COUNT(*) OVER w, r.assessed_at, r.id, r.description, MIN(r.settled_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.assessed_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_fines_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.settled_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'fines' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.assessed_at FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.description FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.settled_at) FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'fines' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_fines_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.settled_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'fines' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.assessed_at FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.description FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.settled_at) FROM fines r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'fines' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'fines', COUNT(*) OVER w, r.assessed_at, r.id, r.description, MIN(r.settled_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.assessed_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER fines_summary_added AFTER INSERT ON fines
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_fines_summary_added();

CREATE TRIGGER fines_summary_removed AFTER DELETE ON fines
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_fines_summary_removed();

CREATE TRIGGER fines_summary_changed AFTER UPDATE ON fines
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_fines_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'ill', g.n, r.requested_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.completed_at) AS oldest FROM ill_requests r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN ill_requests r ON r.id = (SELECT r2.id FROM ill_requests r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.requested_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_ill_requests_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'ill', COUNT(*) OVER w, r.requested_at, r.id, r.title, MIN(r.completed_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.requested_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_ill_requests_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.completed_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'ill' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.requested_at FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.completed_at) FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'ill' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_ill_requests_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.completed_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'ill' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.requested_at FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.title FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.completed_at) FROM ill_requests r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'ill' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'ill', COUNT(*) OVER w, r.requested_at, r.id, r.title, MIN(r.completed_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.requested_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER ill_requests_summary_added AFTER INSERT ON ill_requests
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_ill_requests_summary_added();

CREATE TRIGGER ill_requests_summary_removed AFTER DELETE ON ill_requests
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_ill_requests_summary_removed();

CREATE TRIGGER ill_requests_summary_changed AFTER UPDATE ON ill_requests
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_ill_requests_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'reference', g.n, r.asked_at, r.id, r.subject, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.asked_at) AS oldest FROM reference_questions r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN reference_questions r ON r.id = (SELECT r2.id FROM reference_questions r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.asked_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_reference_questions_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'reference', COUNT(*) OVER w, r.asked_at, r.id, r.subject, MIN(r.asked_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.asked_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_reference_questions_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.asked_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'reference' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.asked_at FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.subject FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.asked_at) FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'reference' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_reference_questions_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.asked_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'reference' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.asked_at FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.subject FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.asked_at) FROM reference_questions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'reference' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'reference', COUNT(*) OVER w, r.asked_at, r.id, r.subject, MIN(r.asked_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.asked_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER reference_questions_summary_added AFTER INSERT ON reference_questions
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_reference_questions_summary_added();

CREATE TRIGGER reference_questions_summary_removed AFTER DELETE ON reference_questions
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_reference_questions_summary_removed();

CREATE TRIGGER reference_questions_summary_changed AFTER UPDATE ON reference_questions
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_reference_questions_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'computer-sessions', g.n, r.started_at, r.id, r.station, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.started_at) AS oldest FROM computer_sessions r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN computer_sessions r ON r.id = (SELECT r2.id FROM computer_sessions r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_computer_sessions_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'computer-sessions', COUNT(*) OVER w, r.started_at, r.id, r.station, MIN(r.started_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.started_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_computer_sessions_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.started_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'computer-sessions' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.started_at FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.station FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.started_at) FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'computer-sessions' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_computer_sessions_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.started_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'computer-sessions' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.started_at FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.station FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.started_at) FROM computer_sessions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'computer-sessions' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'computer-sessions', COUNT(*) OVER w, r.started_at, r.id, r.station, MIN(r.started_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.started_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER computer_sessions_summary_added AFTER INSERT ON computer_sessions
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_computer_sessions_summary_added();

CREATE TRIGGER computer_sessions_summary_removed AFTER DELETE ON computer_sessions
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_computer_sessions_summary_removed();

CREATE TRIGGER computer_sessions_summary_changed AFTER UPDATE ON computer_sessions
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_computer_sessions_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'mailing-lists', g.n, r.subscribed_at, r.id, (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id), g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.subscribed_at) AS oldest FROM subscriptions r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN subscriptions r ON r.id = (SELECT r2.id FROM subscriptions r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.subscribed_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_subscriptions_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'mailing-lists', COUNT(*) OVER w, r.subscribed_at, r.id, (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id), MIN(r.subscribed_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.subscribed_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_subscriptions_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.subscribed_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'mailing-lists' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.subscribed_at FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id) FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.subscribed_at) FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'mailing-lists' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_subscriptions_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.subscribed_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'mailing-lists' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.subscribed_at FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id) FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.subscribed_at) FROM subscriptions r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'mailing-lists' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'mailing-lists', COUNT(*) OVER w, r.subscribed_at, r.id, (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id), MIN(r.subscribed_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.subscribed_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER subscriptions_summary_added AFTER INSERT ON subscriptions
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_subscriptions_summary_added();

CREATE TRIGGER subscriptions_summary_removed AFTER DELETE ON subscriptions
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_subscriptions_summary_removed();

CREATE TRIGGER subscriptions_summary_changed AFTER UPDATE ON subscriptions
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_subscriptions_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'favorites', g.n, r.created_at, r.id, r.display, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS oldest FROM favorites r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN favorites r ON r.id = (SELECT r2.id FROM favorites r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_favorites_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'favorites', COUNT(*) OVER w, r.created_at, r.id, r.display, MIN(r.created_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.created_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_favorites_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'favorites' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.created_at FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.display FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.created_at) FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'favorites' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_favorites_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'favorites' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.created_at FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.display FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.created_at) FROM favorites r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'favorites' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'favorites', COUNT(*) OVER w, r.created_at, r.id, r.display, MIN(r.created_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.created_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER favorites_summary_added AFTER INSERT ON favorites
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_favorites_summary_added();

CREATE TRIGGER favorites_summary_removed AFTER DELETE ON favorites
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_favorites_summary_removed();

CREATE TRIGGER favorites_summary_changed AFTER UPDATE ON favorites
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_favorites_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'consents', g.n, r.created_at, r.id, r.subject, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS oldest FROM consent_entries r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN consent_entries r ON r.id = (SELECT r2.id FROM consent_entries r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_consent_entries_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'consents', COUNT(*) OVER w, r.created_at, r.id, r.subject, MIN(r.created_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.created_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_consent_entries_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'consents' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.created_at FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.subject FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.created_at) FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'consents' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_consent_entries_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'consents' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.created_at FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.subject FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.created_at) FROM consent_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'consents' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'consents', COUNT(*) OVER w, r.created_at, r.id, r.subject, MIN(r.created_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.created_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER consent_entries_summary_added AFTER INSERT ON consent_entries
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_consent_entries_summary_added();

CREATE TRIGGER consent_entries_summary_removed AFTER DELETE ON consent_entries
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_consent_entries_summary_removed();

CREATE TRIGGER consent_entries_summary_changed AFTER UPDATE ON consent_entries
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_consent_entries_summary_changed();

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'staff-access', g.n, r.created_at, r.id, r.action, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS oldest FROM audit_entries r WHERE r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) GROUP BY r.patron_id) g
		JOIN audit_entries r ON r.id = (SELECT r2.id FROM audit_entries r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL AND r2.restricted = FALSE AND r2.patron_id IN (SELECT id FROM patrons)
			ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1);

CREATE FUNCTION carrel_audit_entries_summary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'staff-access', COUNT(*) OVER w, r.created_at, r.id, r.action, MIN(r.created_at) OVER w
		FROM added r WHERE r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.created_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE FUNCTION carrel_audit_entries_summary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS least, array_agg(r.id) AS ids
			FROM removed r WHERE r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'staff-access' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.created_at FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.action FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.created_at) FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'staff-access' AND patron_summaries.n > d.n; RETURN NULL; END $$;

CREATE FUNCTION carrel_audit_entries_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN WITH d AS (
			SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS least, array_agg(r.id) AS ids
			FROM before_change r WHERE r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) GROUP BY r.patron_id),
		emptied AS (DELETE FROM patron_summaries USING d WHERE patron_summaries.patron_id = d.patron_id
			AND patron_summaries.slug = 'staff-access' AND patron_summaries.n <= d.n)
		UPDATE patron_summaries SET n = patron_summaries.n - d.n, newest_at = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.created_at FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_at END, newest_id = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.id FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_id END, newest_label = CASE WHEN patron_summaries.newest_id = ANY (d.ids) THEN (SELECT r.action FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1) ELSE patron_summaries.newest_label END,
			oldest_at = CASE WHEN d.least <= patron_summaries.oldest_at THEN (SELECT MIN(r.created_at) FROM audit_entries r WHERE r.patron_id = patron_summaries.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)) ELSE patron_summaries.oldest_at END
		FROM d WHERE patron_summaries.patron_id = d.patron_id AND patron_summaries.slug = 'staff-access' AND patron_summaries.n > d.n; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT DISTINCT ON (r.patron_id) r.patron_id, 'staff-access', COUNT(*) OVER w, r.created_at, r.id, r.action, MIN(r.created_at) OVER w
		FROM after_change r WHERE r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)
		WINDOW w AS (PARTITION BY r.patron_id)
		ORDER BY r.patron_id, r.created_at DESC, r.id DESC
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; RETURN NULL; END $$;

CREATE TRIGGER audit_entries_summary_added AFTER INSERT ON audit_entries
				REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION carrel_audit_entries_summary_added();

CREATE TRIGGER audit_entries_summary_removed AFTER DELETE ON audit_entries
				REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_audit_entries_summary_removed();

CREATE TRIGGER audit_entries_summary_changed AFTER UPDATE ON audit_entries
				REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
				FOR EACH STATEMENT EXECUTE FUNCTION carrel_audit_entries_summary_changed();

-- A renamed mailing list renames the summaries it names.
CREATE FUNCTION carrel_mailing_lists_summaries_renamed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			UPDATE patron_summaries SET newest_label = a.name FROM subscriptions s JOIN after_change a ON a.id = s.list_id
				WHERE patron_summaries.slug = 'mailing-lists' AND patron_summaries.newest_id = s.id
				AND patron_summaries.newest_label IS DISTINCT FROM a.name;
			RETURN NULL; END $$;

CREATE TRIGGER mailing_lists_summaries_renamed AFTER UPDATE ON mailing_lists
			REFERENCING NEW TABLE AS after_change FOR EACH STATEMENT EXECUTE FUNCTION carrel_mailing_lists_summaries_renamed();

-- A deleted patron's summaries go with them (audit entries, which have no
-- foreign key, would otherwise leave one behind).
CREATE FUNCTION carrel_patrons_summaries_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			DELETE FROM patron_summaries WHERE patron_id IN (SELECT id FROM removed); RETURN NULL; END $$;

CREATE TRIGGER patrons_summaries_removed AFTER DELETE ON patrons
			REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION carrel_patrons_summaries_removed();
