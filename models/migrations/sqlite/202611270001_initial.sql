-- 202611270001_initial on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- The first schema: patrons and their records, mailing lists, favorites,
-- notifications, consents, staff, the audit log, sessions and sign-in
-- throttling.

CREATE TABLE patrons (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				ils_id TEXT UNIQUE,
				card_number TEXT NOT NULL UNIQUE,
				pin_hash TEXT NOT NULL,
				given_name TEXT NOT NULL DEFAULT '',
				family_name TEXT NOT NULL,
				email TEXT NOT NULL DEFAULT '',
				phone TEXT NOT NULL DEFAULT '',
				postal_address TEXT NOT NULL DEFAULT '',
				home_branch TEXT NOT NULL DEFAULT '',
				card_expires_on DATETIME NOT NULL,
				borrowing_status TEXT NOT NULL DEFAULT 'active',
				reading_history_enabled BOOLEAN NOT NULL DEFAULT FALSE,
				favorites_linked BOOLEAN NOT NULL DEFAULT FALSE,
				favorites_notice TEXT NOT NULL DEFAULT 'none',
				last_sign_in_at DATETIME,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL);

CREATE TABLE loans (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				format TEXT NOT NULL DEFAULT '',
				barcode TEXT NOT NULL DEFAULT '',
				checked_out_at DATETIME NOT NULL,
				due_at DATETIME NOT NULL,
				renewals INTEGER NOT NULL DEFAULT 0,
				branch TEXT NOT NULL DEFAULT '');

CREATE INDEX loans_patron_due ON loans (patron_id, due_at, id);

CREATE TABLE reading_history (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				format TEXT NOT NULL DEFAULT '',
				checked_out_at DATETIME NOT NULL,
				returned_at DATETIME NOT NULL);

CREATE INDEX reading_history_patron_returned ON reading_history (patron_id, returned_at, id);

CREATE TABLE holds (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				pickup_branch TEXT NOT NULL DEFAULT '',
				status TEXT NOT NULL,
				placed_at DATETIME NOT NULL,
				ready_until DATETIME,
				closed_at DATETIME);

CREATE INDEX holds_patron_placed ON holds (patron_id, placed_at, id);

CREATE INDEX holds_closed ON holds (closed_at);

CREATE TABLE fines (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				description TEXT NOT NULL,
				title TEXT NOT NULL DEFAULT '',
				amount_cents BIGINT NOT NULL,
				status TEXT NOT NULL,
				assessed_at DATETIME NOT NULL,
				settled_at DATETIME);

CREATE INDEX fines_patron_assessed ON fines (patron_id, assessed_at, id);

CREATE INDEX fines_settled ON fines (settled_at);

CREATE TABLE ill_requests (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				lending_library TEXT NOT NULL DEFAULT '',
				status TEXT NOT NULL,
				requested_at DATETIME NOT NULL,
				completed_at DATETIME);

CREATE INDEX ill_requests_patron_requested ON ill_requests (patron_id, requested_at, id);

CREATE INDEX ill_requests_completed ON ill_requests (completed_at);

CREATE TABLE reference_questions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				subject TEXT NOT NULL DEFAULT '',
				question TEXT NOT NULL,
				answer TEXT NOT NULL DEFAULT '',
				asked_at DATETIME NOT NULL,
				answered_at DATETIME);

CREATE INDEX reference_questions_patron_asked ON reference_questions (patron_id, asked_at, id);

CREATE INDEX reference_questions_asked ON reference_questions (asked_at);

CREATE TABLE computer_sessions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				branch TEXT NOT NULL DEFAULT '',
				station TEXT NOT NULL DEFAULT '',
				started_at DATETIME NOT NULL,
				ended_at DATETIME);

CREATE INDEX computer_sessions_patron_started ON computer_sessions (patron_id, started_at, id);

CREATE INDEX computer_sessions_started ON computer_sessions (started_at);

CREATE TABLE mailing_lists (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				slug TEXT NOT NULL UNIQUE,
				name TEXT NOT NULL,
				description TEXT NOT NULL DEFAULT '',
				frequency TEXT NOT NULL DEFAULT '',
				sender TEXT NOT NULL DEFAULT '',
				consent_text TEXT NOT NULL,
				consent_version INTEGER NOT NULL DEFAULT 1,
				retired_at DATETIME,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL);

CREATE TABLE subscriptions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				list_id BIGINT NOT NULL REFERENCES mailing_lists(id) ON DELETE CASCADE,
				subscribed_at DATETIME NOT NULL,
				UNIQUE (patron_id, list_id));

CREATE INDEX subscriptions_list ON subscriptions (list_id);

CREATE TABLE favorites (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				kind TEXT NOT NULL,
				display TEXT NOT NULL,
				normalized TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				UNIQUE (patron_id, kind, normalized));

CREATE INDEX favorites_match ON favorites (kind, normalized);

CREATE TABLE notifications (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				catalog_url TEXT NOT NULL DEFAULT '',
				reason TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				sent_at DATETIME);

CREATE INDEX notifications_patron_created ON notifications (patron_id, created_at, id);

CREATE TABLE consent_entries (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				subject TEXT NOT NULL,
				old_value TEXT NOT NULL,
				new_value TEXT NOT NULL,
				actor TEXT NOT NULL,
				staff_id BIGINT,
				channel TEXT NOT NULL,
				text_version TEXT NOT NULL,
				created_at DATETIME NOT NULL);

CREATE INDEX consent_entries_patron_created ON consent_entries (patron_id, created_at, id);

CREATE TABLE staff (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				username TEXT NOT NULL UNIQUE,
				display_name TEXT NOT NULL,
				role TEXT NOT NULL,
				password_hash TEXT NOT NULL,
				disabled_at DATETIME,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL);

-- Audit entries outlive the patron and staff rows they name, so they
-- carry plain identifiers, not foreign keys.
CREATE TABLE audit_entries (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				created_at DATETIME NOT NULL,
				staff_id BIGINT,
				patron_id BIGINT,
				action TEXT NOT NULL,
				reason TEXT NOT NULL DEFAULT '',
				detail TEXT NOT NULL DEFAULT '',
				restricted BOOLEAN NOT NULL DEFAULT FALSE,
				prev_hash TEXT NOT NULL,
				hash TEXT NOT NULL);

CREATE INDEX audit_entries_patron_created ON audit_entries (patron_id, created_at, id);

CREATE INDEX audit_entries_created ON audit_entries (created_at);

CREATE TABLE sessions (
				token_hash TEXT PRIMARY KEY,
				patron_id BIGINT REFERENCES patrons(id) ON DELETE CASCADE,
				staff_id BIGINT REFERENCES staff(id) ON DELETE CASCADE,
				assist_patron_id BIGINT REFERENCES patrons(id) ON DELETE CASCADE,
				channel TEXT NOT NULL DEFAULT '',
				csrf_token TEXT NOT NULL,
				data TEXT NOT NULL DEFAULT '{}',
				created_at DATETIME NOT NULL,
				last_seen_at DATETIME NOT NULL);

CREATE INDEX sessions_patron ON sessions (patron_id);

CREATE INDEX sessions_staff ON sessions (staff_id);

CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE signin_throttles (
				key_hash TEXT PRIMARY KEY,
				failures INTEGER NOT NULL,
				window_started_at DATETIME NOT NULL,
				locked_until DATETIME);

CREATE TABLE signin_failure_buckets (
				minute DATETIME PRIMARY KEY,
				failures INTEGER NOT NULL);

CREATE TABLE usage_counters (
				day TEXT NOT NULL,
				name TEXT NOT NULL,
				count BIGINT NOT NULL,
				PRIMARY KEY (day, name));
