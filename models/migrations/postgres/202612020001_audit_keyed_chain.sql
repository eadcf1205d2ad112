-- 202612020001_audit_keyed_chain on PostgreSQL. Frozen: never edit a released step; a change is a new one.
--
-- The audit chain is keyed: each entry names the server key whose subkey
-- made its chain value (empty for the entries before this step, which keep
-- their SHA-256 values; see VerifyAudit). And the database refuses to
-- change an entry: none is ever updated (the restricted flag is set when an
-- entry is written, and entries name patrons and staff by plain
-- identifiers, so deleting those rows touches no entry); only the
-- retention purge deletes them.

ALTER TABLE audit_entries ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

CREATE FUNCTION carrel_audit_entries_no_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
						RAISE EXCEPTION 'audit entries cannot be changed'; END $$;

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
						FOR EACH ROW EXECUTE FUNCTION carrel_audit_entries_no_update();
