-- 202611270003_opac_handoff on PostgreSQL. Frozen: never edit a released step; a change is a new one.
--
-- Hand-off from the library catalog (OPAC): the catalogs, their signing
-- keys, and the hand-off tokens already used.

CREATE TABLE opacs (
				id TEXT PRIMARY KEY,
				origin TEXT NOT NULL,
				created_at TIMESTAMPTZ NOT NULL);

-- Secrets are stored sealed under a key derived from the server secret:
-- a copy of the database cannot mint hand-off tokens.
CREATE TABLE opac_keys (
				kid TEXT PRIMARY KEY,
				opac_id TEXT NOT NULL REFERENCES opacs(id) ON DELETE CASCADE,
				sealed_secret TEXT NOT NULL,
				created_at TIMESTAMPTZ NOT NULL,
				retired_at TIMESTAMPTZ);

CREATE INDEX opac_keys_opac ON opac_keys (opac_id);

-- Each hand-off token's ID, kept until the token expires, so a token is
-- honoured once even across several portal instances.
CREATE TABLE handoff_tokens (
				jti TEXT PRIMARY KEY,
				opac_id TEXT NOT NULL,
				expires_at TIMESTAMPTZ NOT NULL);

CREATE INDEX handoff_tokens_expires ON handoff_tokens (expires_at);
