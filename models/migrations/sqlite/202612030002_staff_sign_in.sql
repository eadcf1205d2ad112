-- 202612030002_staff_sign_in on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- Staff sign-in (issue 20). A staff record made by single sign-on is
-- keyed by its identity provider's issuer and subject. A local account's
-- second factor: its TOTP secret sealed under the server key (never in
-- clear), when it was enrolled, and the last time step accepted (a code
-- is never accepted twice); ten single-use recovery codes, hashed.
-- staff_oidc_states holds a sign-in through the identity provider while
-- it is under way (state, nonce, PKCE verifier): short-lived, single-use.

ALTER TABLE staff ADD COLUMN oidc_issuer TEXT;

ALTER TABLE staff ADD COLUMN oidc_subject TEXT;

CREATE UNIQUE INDEX staff_oidc_identity ON staff (oidc_issuer, oidc_subject);

ALTER TABLE staff ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';

ALTER TABLE staff ADD COLUMN totp_enrolled_at DATETIME;

ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE staff_recovery_codes (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
				code_hash TEXT NOT NULL,
				used_at DATETIME,
				created_at DATETIME NOT NULL);

CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes (staff_id);

CREATE TABLE staff_oidc_states (
				state_hash TEXT PRIMARY KEY,
				nonce TEXT NOT NULL,
				code_verifier TEXT NOT NULL,
				next_path TEXT NOT NULL DEFAULT '',
				expires_at DATETIME NOT NULL);
