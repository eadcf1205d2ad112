CREATE INDEX arrival_terms_match ON arrival_terms (kind, normalized);

CREATE INDEX arrivals_unmatched ON arrivals (matched_at, id);

CREATE INDEX audit_entries_created ON audit_entries (created_at);

CREATE INDEX audit_entries_patron_created ON audit_entries (patron_id, created_at, id);

CREATE INDEX computer_sessions_patron_started ON computer_sessions (patron_id, started_at, id);

CREATE INDEX computer_sessions_started ON computer_sessions (started_at);

CREATE INDEX consent_entries_patron_created ON consent_entries (patron_id, created_at, id);

CREATE INDEX consent_outbox_consent ON consent_outbox (consent_id);

CREATE INDEX consent_outbox_due ON consent_outbox (status, next_attempt_at);

CREATE INDEX consent_outbox_patron ON consent_outbox (patron_id, target, id);

CREATE INDEX digests_due ON digests (status, next_attempt_at);

CREATE INDEX digests_patron ON digests (patron_id, created_at, id);

CREATE INDEX favorites_match ON favorites (kind, normalized);

CREATE INDEX fines_patron_assessed ON fines (patron_id, assessed_at, id);

CREATE INDEX fines_settled ON fines (settled_at);

CREATE INDEX handoff_tokens_expires ON handoff_tokens (expires_at);

CREATE INDEX holds_closed ON holds (closed_at);

CREATE INDEX holds_patron_placed ON holds (patron_id, placed_at, id);

CREATE INDEX ill_requests_completed ON ill_requests (completed_at);

CREATE INDEX ill_requests_patron_requested ON ill_requests (patron_id, requested_at, id);

CREATE INDEX legal_holds_patron ON legal_holds (patron_id, released_at);

CREATE INDEX legal_production_patrons_patron ON legal_production_patrons (patron_id);

CREATE INDEX legal_productions_request ON legal_productions (request_id);

CREATE INDEX loans_patron_due ON loans (patron_id, due_at, id);

CREATE INDEX notifications_digest ON notifications (digest_id) WHERE digest_id IS NOT NULL;

CREATE UNIQUE INDEX notifications_patron_arrival ON notifications (patron_id, arrival_id);

CREATE INDEX notifications_patron_created ON notifications (patron_id, created_at, id);

CREATE INDEX opac_keys_opac ON opac_keys (opac_id);

CREATE INDEX patrons_history_keep ON patrons (history_keep_months) WHERE history_keep_months > 0;

CREATE UNIQUE INDEX reading_history_ils_id ON reading_history (ils_id);

CREATE INDEX reading_history_patron_returned ON reading_history (patron_id, returned_at, id);

CREATE INDEX reference_questions_asked ON reference_questions (asked_at);

CREATE INDEX reference_questions_patron_asked ON reference_questions (patron_id, asked_at, id);

CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

CREATE INDEX sessions_patron ON sessions (patron_id);

CREATE INDEX sessions_staff ON sessions (staff_id);

CREATE UNIQUE INDEX staff_oidc_identity ON staff (oidc_issuer, oidc_subject);

CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes (staff_id);

CREATE INDEX subscriptions_list ON subscriptions (list_id);

CREATE TABLE api_keys (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				name TEXT NOT NULL UNIQUE,
				prefix TEXT NOT NULL UNIQUE,
				secret_hash TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				last_used_at DATETIME,
				revoked_at DATETIME);

CREATE TABLE arrival_terms (
				arrival_id BIGINT NOT NULL REFERENCES arrivals(id) ON DELETE CASCADE,
				kind TEXT NOT NULL,
				normalized TEXT NOT NULL,
				display TEXT NOT NULL,
				PRIMARY KEY (arrival_id, kind, normalized));

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
				hash TEXT NOT NULL, key_id TEXT NOT NULL DEFAULT '');

CREATE TABLE computer_sessions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				branch TEXT NOT NULL DEFAULT '',
				station TEXT NOT NULL DEFAULT '',
				started_at DATETIME NOT NULL,
				ended_at DATETIME);

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

CREATE TABLE consent_outbox (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				consent_id BIGINT NOT NULL REFERENCES consent_entries(id) ON DELETE CASCADE,
				target TEXT NOT NULL,
				status TEXT NOT NULL DEFAULT 'pending',
				payload TEXT NOT NULL DEFAULT '',
				attempts INTEGER NOT NULL DEFAULT 0,
				next_attempt_at DATETIME NOT NULL,
				claimed_by TEXT,
				lease_until DATETIME,
				last_error TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				sent_at DATETIME);

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

CREATE TABLE favorites (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				kind TEXT NOT NULL,
				display TEXT NOT NULL,
				normalized TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				UNIQUE (patron_id, kind, normalized));

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

CREATE TABLE handoff_tokens (
				jti TEXT PRIMARY KEY,
				opac_id TEXT NOT NULL,
				expires_at DATETIME NOT NULL);

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

CREATE TABLE legal_holds (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				request_id BIGINT REFERENCES legal_requests(id) ON DELETE SET NULL,
				placed_by BIGINT,
				placed_at DATETIME NOT NULL,
				released_at DATETIME);

CREATE TABLE legal_production_patrons (
				production_id BIGINT NOT NULL REFERENCES legal_productions(id) ON DELETE CASCADE,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				part TEXT NOT NULL,
				sha256 TEXT NOT NULL,
				PRIMARY KEY (production_id, patron_id));

CREATE TABLE legal_productions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				request_id BIGINT NOT NULL REFERENCES legal_requests(id) ON DELETE CASCADE,
				categories TEXT NOT NULL,
				scope_from DATETIME,
				scope_to DATETIME,
				manifest TEXT NOT NULL,
				package_sha256 TEXT NOT NULL,
				produced_by BIGINT,
				approved_by BIGINT,
				produced_at DATETIME NOT NULL);

CREATE TABLE legal_request_patrons (
				request_id BIGINT NOT NULL REFERENCES legal_requests(id) ON DELETE CASCADE,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				produced_at DATETIME, told_at DATETIME,
				PRIMARY KEY (request_id, patron_id));

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
				closed_at DATETIME, officer_name TEXT NOT NULL DEFAULT '', officer_agency TEXT NOT NULL DEFAULT '', identity_check TEXT NOT NULL DEFAULT '', scope_categories TEXT NOT NULL DEFAULT '', scope_from DATETIME, scope_to DATETIME, nondisclosure_until DATETIME, nondisclosure_lifted_at DATETIME, nondisclosure_lifted_by BIGINT, reviewer TEXT NOT NULL DEFAULT '', reviewed_on DATETIME, review_outcome TEXT NOT NULL DEFAULT '', review_notes TEXT NOT NULL DEFAULT '', review_recorded_by BIGINT, approved_by BIGINT, approved_at DATETIME, nondisclosure_ended_recorded_at DATETIME);

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

CREATE TABLE `migrations` (`id` text,PRIMARY KEY (`id`));

CREATE TABLE notifications (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				catalog_url TEXT NOT NULL DEFAULT '',
				reason TEXT NOT NULL DEFAULT '',
				created_at DATETIME NOT NULL,
				sent_at DATETIME, arrival_id BIGINT REFERENCES arrivals(id) ON DELETE SET NULL, digest_id BIGINT REFERENCES digests(id) ON DELETE SET NULL);

CREATE TABLE opac_keys (
				kid TEXT PRIMARY KEY,
				opac_id TEXT NOT NULL REFERENCES opacs(id) ON DELETE CASCADE,
				sealed_secret TEXT NOT NULL,
				created_at DATETIME NOT NULL,
				retired_at DATETIME);

CREATE TABLE opacs (
				id TEXT PRIMARY KEY,
				origin TEXT NOT NULL,
				created_at DATETIME NOT NULL);

CREATE TABLE patron_summaries (
			patron_id BIGINT NOT NULL,
			slug TEXT NOT NULL,
			n BIGINT NOT NULL,
			newest_at DATETIME NOT NULL,
			newest_id BIGINT NOT NULL,
			newest_label TEXT,
			oldest_at DATETIME,
			PRIMARY KEY (patron_id, slug));

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
				updated_at DATETIME NOT NULL, assist_seen_at DATETIME, history_count BIGINT NOT NULL DEFAULT 0, ils_link TEXT NOT NULL DEFAULT '', ils_privacy INTEGER, history_keep_months INTEGER NOT NULL DEFAULT 0, language TEXT NOT NULL DEFAULT '');

CREATE TABLE reading_history (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				title TEXT NOT NULL,
				author TEXT NOT NULL DEFAULT '',
				format TEXT NOT NULL DEFAULT '',
				checked_out_at DATETIME NOT NULL,
				returned_at DATETIME NOT NULL, ils_id TEXT);

CREATE TABLE reference_questions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				ils_id TEXT UNIQUE,
				subject TEXT NOT NULL DEFAULT '',
				question TEXT NOT NULL,
				answer TEXT NOT NULL DEFAULT '',
				asked_at DATETIME NOT NULL,
				answered_at DATETIME);

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

CREATE TABLE settings (
				name TEXT PRIMARY KEY,
				value TEXT NOT NULL,
				updated_at DATETIME NOT NULL);

CREATE TABLE signin_failure_buckets (
				minute DATETIME PRIMARY KEY,
				failures INTEGER NOT NULL);

CREATE TABLE signin_throttles (
				key_hash TEXT PRIMARY KEY,
				failures INTEGER NOT NULL,
				window_started_at DATETIME NOT NULL,
				locked_until DATETIME);

CREATE TABLE sqlite_sequence(name,seq);

CREATE TABLE staff (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				username TEXT NOT NULL UNIQUE,
				display_name TEXT NOT NULL,
				role TEXT NOT NULL,
				password_hash TEXT NOT NULL,
				disabled_at DATETIME,
				created_at DATETIME NOT NULL,
				updated_at DATETIME NOT NULL, oidc_issuer TEXT, oidc_subject TEXT, totp_secret TEXT NOT NULL DEFAULT '', totp_enrolled_at DATETIME, totp_last_step BIGINT NOT NULL DEFAULT 0);

CREATE TABLE staff_oidc_states (
				state_hash TEXT PRIMARY KEY,
				nonce TEXT NOT NULL,
				code_verifier TEXT NOT NULL,
				next_path TEXT NOT NULL DEFAULT '',
				expires_at DATETIME NOT NULL);

CREATE TABLE staff_recovery_codes (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
				code_hash TEXT NOT NULL,
				used_at DATETIME,
				created_at DATETIME NOT NULL);

CREATE TABLE subscriptions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				list_id BIGINT NOT NULL REFERENCES mailing_lists(id) ON DELETE CASCADE,
				subscribed_at DATETIME NOT NULL,
				UNIQUE (patron_id, list_id));

CREATE TABLE usage_counters (
				day TEXT NOT NULL,
				name TEXT NOT NULL,
				count BIGINT NOT NULL,
				PRIMARY KEY (day, name));

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
					BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed'); END;

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

CREATE TRIGGER audit_entries_summary_removed AFTER DELETE ON audit_entries BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.action FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons) ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM audit_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL AND r.restricted = FALSE AND r.patron_id IN (SELECT id FROM patrons)) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'staff-access' AND OLD.patron_id IS NOT NULL AND OLD.restricted = FALSE AND OLD.patron_id IN (SELECT id FROM patrons); END;

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

CREATE TRIGGER computer_sessions_summary_removed AFTER DELETE ON computer_sessions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.started_at FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.station FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.started_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.started_at) FROM computer_sessions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.started_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'computer-sessions' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER consent_entries_summary_removed AFTER DELETE ON consent_entries BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.subject FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM consent_entries r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'consents' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER favorites_summary_removed AFTER DELETE ON favorites BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.created_at FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.display FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.created_at) FROM favorites r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.created_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'favorites' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER fines_summary_removed AFTER DELETE ON fines BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.assessed_at FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.description FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.settled_at) FROM fines r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.settled_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'fines' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER holds_summary_removed AFTER DELETE ON holds BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.placed_at FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.placed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.closed_at) FROM holds r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.closed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'holds' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER ill_requests_summary_removed AFTER DELETE ON ill_requests BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.requested_at FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.requested_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.completed_at) FROM ill_requests r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.completed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'ill' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER loans_summary_removed AFTER DELETE ON loans BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.checked_out_at FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.checked_out_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.checked_out_at) FROM loans r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.checked_out_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'loans' AND OLD.patron_id IS NOT NULL; END;

CREATE TRIGGER mailing_lists_summaries_renamed AFTER UPDATE OF name ON mailing_lists BEGIN
			UPDATE patron_summaries SET newest_label = NEW.name WHERE slug = 'mailing-lists'
				AND newest_id IN (SELECT id FROM subscriptions WHERE list_id = NEW.id); END;

CREATE TRIGGER patrons_summaries_removed AFTER DELETE ON patrons BEGIN
			DELETE FROM patron_summaries WHERE patron_id = OLD.id; END;

CREATE TRIGGER reading_history_added AFTER INSERT ON reading_history BEGIN
						UPDATE patrons SET history_count = history_count + 1 WHERE id = NEW.patron_id; END;

CREATE TRIGGER reading_history_removed AFTER DELETE ON reading_history BEGIN
						UPDATE patrons SET history_count = history_count - 1 WHERE id = OLD.patron_id; END;

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

CREATE TRIGGER reading_history_summary_removed AFTER DELETE ON reading_history BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.returned_at FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.title FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.returned_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.returned_at) FROM reading_history r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.returned_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'reading-history' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER reference_questions_summary_removed AFTER DELETE ON reference_questions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.asked_at FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT r.subject FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.asked_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.asked_at) FROM reference_questions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.asked_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'reference' AND OLD.patron_id IS NOT NULL; END;

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

CREATE TRIGGER subscriptions_summary_removed AFTER DELETE ON subscriptions BEGIN UPDATE patron_summaries SET n = n - 1 WHERE patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; DELETE FROM patron_summaries WHERE n <= 0 AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET newest_at = (SELECT r.subscribed_at FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1), newest_id = (SELECT r.id FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1), newest_label = (SELECT (SELECT name FROM mailing_lists WHERE mailing_lists.id = r.list_id) FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL ORDER BY r.subscribed_at DESC, r.id DESC LIMIT 1)
			WHERE newest_id = OLD.id AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; UPDATE patron_summaries SET oldest_at = (SELECT MIN(r.subscribed_at) FROM subscriptions r WHERE r.patron_id = OLD.patron_id AND r.patron_id IS NOT NULL) WHERE OLD.subscribed_at <= oldest_at AND patron_id = OLD.patron_id AND slug = 'mailing-lists' AND OLD.patron_id IS NOT NULL; END;

