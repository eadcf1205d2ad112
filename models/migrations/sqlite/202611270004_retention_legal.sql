-- 202611270004_retention_legal on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- Library-wide settings (the retention schedule, the audit chain's anchor),
-- legal requests, the patrons they name, and legal holds.

-- Library-wide settings that privacy officers change at run time (the
-- retention schedule, the audit chain's anchor).
CREATE TABLE settings (
				name TEXT PRIMARY KEY,
				value TEXT NOT NULL,
				updated_at DATETIME NOT NULL);

CREATE TABLE legal_requests (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				kind TEXT NOT NULL,
				issuer TEXT NOT NULL,
				reference TEXT NOT NULL,
				received_on DATETIME NOT NULL,
				attorney_reviewed BOOLEAN NOT NULL DEFAULT FALSE,
				nondisclosure BOOLEAN NOT NULL DEFAULT FALSE,
				notes TEXT NOT NULL DEFAULT '',
				created_by BIGINT,
				created_at DATETIME NOT NULL,
				closed_at DATETIME);

CREATE TABLE legal_request_patrons (
				request_id BIGINT NOT NULL REFERENCES legal_requests(id) ON DELETE CASCADE,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				produced_at DATETIME,
				PRIMARY KEY (request_id, patron_id));

CREATE TABLE legal_holds (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				request_id BIGINT REFERENCES legal_requests(id) ON DELETE SET NULL,
				placed_by BIGINT,
				placed_at DATETIME NOT NULL,
				released_at DATETIME);

CREATE INDEX legal_holds_patron ON legal_holds (patron_id, released_at);
