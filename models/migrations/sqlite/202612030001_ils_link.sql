-- 202612030001_ils_link on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- Sign-in through the library's system (issue 19). ils_link names the
-- connector (sip2 or koha) that made or last confirmed a patron at
-- sign-in, so that the next import may adopt a patron it made without an
-- ILS id by card number; ils_privacy is the Koha privacy value last
-- written to or read from Koha. consent_outbox holds, for each consent
-- change, one row per system that must hear of it (Koha, webhooks),
-- written in the change's transaction and sent in order per patron and
-- target.

ALTER TABLE patrons ADD COLUMN ils_link TEXT NOT NULL DEFAULT '';

ALTER TABLE patrons ADD COLUMN ils_privacy INTEGER;

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

CREATE INDEX consent_outbox_due ON consent_outbox (status, next_attempt_at);

CREATE INDEX consent_outbox_patron ON consent_outbox (patron_id, target, id);

CREATE INDEX consent_outbox_consent ON consent_outbox (consent_id);
