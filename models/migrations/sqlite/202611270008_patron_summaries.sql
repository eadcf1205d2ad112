-- 202611270008_patron_summaries on SQLite. Frozen: never edit a released step; a change is a new one.
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
			newest_at DATETIME NOT NULL,
			newest_id BIGINT NOT NULL,
			newest_label TEXT,
			oldest_at DATETIME,
			PRIMARY KEY (patron_id, slug));

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'loans', g.n, r.checked_out_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.checked_out_at) AS oldest FROM loans r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN loans r ON r.id = (SELECT r2.id FROM loans r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.checked_out_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER loans_summary_added AFTER INSERT ON loans BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'loans', 1, NEW.checked_out_at, NEW.id, NEW.title, NEW.checked_out_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER loans_summary_removed AFTER DELETE ON loans BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.checked_out_at FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.checked_out_at) FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.checked_out_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER loans_summary_changed AFTER UPDATE ON loans BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.checked_out_at FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.checked_out_at) FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.checked_out_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'loans', 1, NEW.checked_out_at, NEW.id, NEW.title, NEW.checked_out_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'reading-history', g.n, r.returned_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.returned_at) AS oldest FROM reading_history r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN reading_history r ON r.id = (SELECT r2.id FROM reading_history r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.returned_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER reading_history_summary_added AFTER INSERT ON reading_history BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'reading-history', 1, NEW.returned_at, NEW.id, NEW.title, NEW.returned_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER reading_history_summary_removed AFTER DELETE ON reading_history BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.returned_at FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.returned_at) FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.returned_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER reading_history_summary_changed AFTER UPDATE ON reading_history BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.returned_at FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.returned_at) FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.returned_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'reading-history', 1, NEW.returned_at, NEW.id, NEW.title, NEW.returned_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'holds', g.n, r.placed_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.closed_at) AS oldest FROM holds r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN holds r ON r.id = (SELECT r2.id FROM holds r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.placed_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER holds_summary_added AFTER INSERT ON holds BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'holds', 1, NEW.placed_at, NEW.id, NEW.title, NEW.closed_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER holds_summary_removed AFTER DELETE ON holds BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.placed_at FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.closed_at) FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.closed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER holds_summary_changed AFTER UPDATE ON holds BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.placed_at FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.closed_at) FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.closed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'holds', 1, NEW.placed_at, NEW.id, NEW.title, NEW.closed_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'fines', g.n, r.assessed_at, r.id, r.description, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.settled_at) AS oldest FROM fines r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN fines r ON r.id = (SELECT r2.id FROM fines r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.assessed_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER fines_summary_added AFTER INSERT ON fines BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'fines', 1, NEW.assessed_at, NEW.id, NEW.description, NEW.settled_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER fines_summary_removed AFTER DELETE ON fines BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.assessed_at FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.description FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.settled_at) FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.settled_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER fines_summary_changed AFTER UPDATE ON fines BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.assessed_at FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.description FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.settled_at) FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.settled_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'fines', 1, NEW.assessed_at, NEW.id, NEW.description, NEW.settled_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'ill', g.n, r.requested_at, r.id, r.title, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.completed_at) AS oldest FROM ill_requests r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN ill_requests r ON r.id = (SELECT r2.id FROM ill_requests r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.requested_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER ill_requests_summary_added AFTER INSERT ON ill_requests BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'ill', 1, NEW.requested_at, NEW.id, NEW.title, NEW.completed_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER ill_requests_summary_removed AFTER DELETE ON ill_requests BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.requested_at FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.completed_at) FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.completed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER ill_requests_summary_changed AFTER UPDATE ON ill_requests BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.requested_at FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.completed_at) FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.completed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'ill', 1, NEW.requested_at, NEW.id, NEW.title, NEW.completed_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'reference', g.n, r.asked_at, r.id, r.subject, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.asked_at) AS oldest FROM reference_questions r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN reference_questions r ON r.id = (SELECT r2.id FROM reference_questions r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.asked_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER reference_questions_summary_added AFTER INSERT ON reference_questions BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'reference', 1, NEW.asked_at, NEW.id, NEW.subject, NEW.asked_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER reference_questions_summary_removed AFTER DELETE ON reference_questions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.asked_at FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.subject FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.asked_at) FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.asked_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER reference_questions_summary_changed AFTER UPDATE ON reference_questions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.asked_at FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.subject FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.asked_at) FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.asked_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'reference', 1, NEW.asked_at, NEW.id, NEW.subject, NEW.asked_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'computer-sessions', g.n, r.started_at, r.id, r.station, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.started_at) AS oldest FROM computer_sessions r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN computer_sessions r ON r.id = (SELECT r2.id FROM computer_sessions r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER computer_sessions_summary_added AFTER INSERT ON computer_sessions BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'computer-sessions', 1, NEW.started_at, NEW.id, NEW.station, NEW.started_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER computer_sessions_summary_removed AFTER DELETE ON computer_sessions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.started_at FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.station FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.started_at) FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.started_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER computer_sessions_summary_changed AFTER UPDATE ON computer_sessions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.started_at FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.station FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.started_at) FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.started_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'computer-sessions', 1, NEW.started_at, NEW.id, NEW.station, NEW.started_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'mailing-lists', g.n, r.subscribed_at, r.id, (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id), g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.subscribed_at) AS oldest FROM subscriptions r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN subscriptions r ON r.id = (SELECT r2.id FROM subscriptions r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.subscribed_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER subscriptions_summary_added AFTER INSERT ON subscriptions BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'mailing-lists', 1, NEW.subscribed_at, NEW.id, (SELECT name FROM mailing_lists WHERE mailing_lists.id = NEW.list_id), NEW.subscribed_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER subscriptions_summary_removed AFTER DELETE ON subscriptions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.subscribed_at FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id) FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.subscribed_at) FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.subscribed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER subscriptions_summary_changed AFTER UPDATE ON subscriptions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.subscribed_at FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id) FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.subscribed_at) FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.subscribed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'mailing-lists', 1, NEW.subscribed_at, NEW.id, (SELECT name FROM mailing_lists WHERE mailing_lists.id = NEW.list_id), NEW.subscribed_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'favorites', g.n, r.created_at, r.id, r.display, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS oldest FROM favorites r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN favorites r ON r.id = (SELECT r2.id FROM favorites r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER favorites_summary_added AFTER INSERT ON favorites BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'favorites', 1, NEW.created_at, NEW.id, NEW.display, NEW.created_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER favorites_summary_removed AFTER DELETE ON favorites BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.display FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER favorites_summary_changed AFTER UPDATE ON favorites BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.display FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'favorites', 1, NEW.created_at, NEW.id, NEW.display, NEW.created_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'consents', g.n, r.created_at, r.id, r.subject, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS oldest FROM consent_entries r WHERE r.patron_id IS NOT NULL GROUP BY r.patron_id) g
		JOIN consent_entries r ON r.id = (SELECT r2.id FROM consent_entries r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL
			ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER consent_entries_summary_added AFTER INSERT ON consent_entries BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'consents', 1, NEW.created_at, NEW.id, NEW.subject, NEW.created_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER consent_entries_summary_removed AFTER DELETE ON consent_entries BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.subject FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER consent_entries_summary_changed AFTER UPDATE ON consent_entries BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.subject FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'consents', 1, NEW.created_at, NEW.id, NEW.subject, NEW.created_at WHERE NEW.patron_id IS NOT NULL
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT g.patron_id, 'staff-access', g.n, r.created_at, r.id, r.action, g.oldest
		FROM (SELECT r.patron_id, COUNT(*) AS n, MIN(r.created_at) AS oldest FROM audit_entries r WHERE r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) GROUP BY r.patron_id) g
		JOIN audit_entries r ON r.id = (SELECT r2.id FROM audit_entries r2 WHERE r2.patron_id = g.patron_id AND r2.patron_id IS NOT NULL AND r2.restricted = FALSE AND r2.patron_id IN (SELECT id FROM patrons)
			ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1);

CREATE TRIGGER audit_entries_summary_added AFTER INSERT ON audit_entries BEGIN INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'staff-access', 1, NEW.created_at, NEW.id, NEW.action, NEW.created_at WHERE NEW.patron_id IS NOT NULL AND NEW.restricted = FALSE AND NEW.patron_id IN (SELECT id FROM patrons)
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

CREATE TRIGGER audit_entries_summary_removed AFTER DELETE ON audit_entries BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.action FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); END;

CREATE TRIGGER audit_entries_summary_changed AFTER UPDATE ON audit_entries BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.action FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); INSERT INTO patron_summaries (patron_id, slug, n, newest_at, newest_id, newest_label, oldest_at)
		SELECT NEW.patron_id, 'staff-access', 1, NEW.created_at, NEW.id, NEW.action, NEW.created_at WHERE NEW.patron_id IS NOT NULL AND NEW.restricted = FALSE AND NEW.patron_id IN (SELECT id FROM patrons)
		ON CONFLICT (patron_id, slug) DO UPDATE SET
	n = patron_summaries.n + excluded.n,
	newest_label = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_label ELSE patron_summaries.newest_label END,
	newest_id = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_id ELSE patron_summaries.newest_id END,
	newest_at = CASE WHEN (excluded.newest_at, excluded.newest_id) > (patron_summaries.newest_at, patron_summaries.newest_id)
		THEN excluded.newest_at ELSE patron_summaries.newest_at END,
	oldest_at = CASE WHEN patron_summaries.oldest_at IS NULL OR excluded.oldest_at < patron_summaries.oldest_at
		THEN excluded.oldest_at ELSE patron_summaries.oldest_at END; END;

-- A deleted patron's summaries go with them (audit entries, which have no
-- foreign key, would otherwise leave one behind).
CREATE TRIGGER patrons_summaries_removed AFTER DELETE ON patrons BEGIN
			DELETE FROM patron_summaries WHERE patron_id = OLD.id; END;

-- A renamed mailing list renames the summaries it names.
CREATE TRIGGER mailing_lists_summaries_renamed AFTER UPDATE OF name ON mailing_lists BEGIN
			UPDATE patron_summaries SET newest_label = NEW.name WHERE slug = 'mailing-lists'
				AND newest_id IN (SELECT id FROM subscriptions WHERE list_id = NEW.id); END;
