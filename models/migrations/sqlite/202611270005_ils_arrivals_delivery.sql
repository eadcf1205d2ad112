-- 202611270005_ils_arrivals_delivery on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- ILS imports of returned loans, API keys, new arrivals with their terms,
-- the digest outbox, and notifications naming their arrival and digest.

-- Returned loans imported from the ILS carry the ILS's own ID, so
-- importing the same file twice adds nothing.
ALTER TABLE reading_history ADD COLUMN ils_id TEXT;

CREATE UNIQUE INDEX reading_history_ils_id ON reading_history (ils_id);

-- Keys the ILS uses to post new arrivals. Only a keyed hash of the secret
-- is kept; the prefix finds the row.
CREATE TABLE api_keys (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				name TEXT NOT NULL UNIQUE,
				prefix TEXT NOT NULL UNIQUE,
				secret_hash TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				last_used_at DATETIME,
				revoked_at DATETIME);

-- New materials. The catalog link identifies an item: posting it again
-- updates it rather than adding a twin.
CREATE TABLE arrivals (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				title TEXT NOT NULL,
				authors TEXT NOT NULL DEFAULT '',
				subjects TEXT NOT NULL DEFAULT '',
				format TEXT NOT NULL DEFAULT '',
				arrived_on DATETIME NOT NULL,
				catalog_url TEXT NOT NULL UNIQUE,
				staff_id BIGINT,
				api_key_id BIGINT,
				created_at DATETIME NOT NULL,
				matched_at DATETIME);

CREATE INDEX arrivals_unmatched ON arrivals (matched_at, id);

-- Each author and subject of an arrival, normalised as favorites are, so
-- matching is one join on favorites_match.
CREATE TABLE arrival_terms (
				arrival_id BIGINT NOT NULL REFERENCES arrivals(id) ON DELETE CASCADE,
				kind TEXT NOT NULL,
				normalized TEXT NOT NULL,
				display TEXT NOT NULL,
				PRIMARY KEY (arrival_id, kind, normalized));

CREATE INDEX arrival_terms_match ON arrival_terms (kind, normalized);

-- The outbox: one digest email per patron per period. Its key is unique,
-- so the same digest is never assembled twice, and it is the email's
-- Message-ID.
CREATE TABLE digests (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				idempotency_key TEXT NOT NULL UNIQUE,
				status TEXT NOT NULL DEFAULT 'pending',
				attempts INTEGER NOT NULL DEFAULT 0,
				next_attempt_at DATETIME NOT NULL,
				claimed_by TEXT NOT NULL DEFAULT '',
				claimed_until DATETIME,
				last_error TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				sent_at DATETIME);

CREATE INDEX digests_due ON digests (status, next_attempt_at);

CREATE INDEX digests_patron ON digests (patron_id, created_at, id);

-- A notification names the arrival it is about (at most one per patron
-- per item) and the digest that carries it.
ALTER TABLE notifications ADD COLUMN arrival_id BIGINT REFERENCES arrivals(id) ON DELETE SET NULL;

ALTER TABLE notifications ADD COLUMN digest_id BIGINT REFERENCES digests(id) ON DELETE SET NULL;

CREATE UNIQUE INDEX notifications_patron_arrival ON notifications (patron_id, arrival_id);

CREATE INDEX notifications_digest ON notifications (digest_id);
