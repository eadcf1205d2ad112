-- 202611270007_notification_references on PostgreSQL. Frozen: never edit a released step; a change is a new one.
--
-- Making notifications for a large batch of arrivals spent about a third
-- of its time checking the foreign keys of arrival_id and digest_id on
-- every new row (a look-up and a row lock each, even for a NULL
-- digest_id). Nothing needs those checks: the one statement that sets
-- arrival_id joins arrivals for it, and the one that sets digest_id has
-- just made the digest. What the keys did when an arrival or a digest is
-- deleted (set the reference to NULL) is done on PostgreSQL by a trigger
-- per statement instead. SQLite keeps its foreign keys, which do the same
-- there (it cannot drop one without rebuilding the table). The digest
-- index now holds only notifications in a digest.

DROP INDEX notifications_digest;

CREATE INDEX notifications_digest ON notifications (digest_id) WHERE digest_id IS NOT NULL;

-- The foreign keys go; triggers per statement set the references to NULL
-- when arrivals or digests are deleted.
ALTER TABLE notifications DROP CONSTRAINT notifications_arrival_id_fkey,
					DROP CONSTRAINT notifications_digest_id_fkey;

CREATE FUNCTION carrel_arrivals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					UPDATE notifications SET arrival_id = NULL WHERE arrival_id IN (SELECT id FROM gone);
					RETURN NULL;
				END $$;

CREATE FUNCTION carrel_digests_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					UPDATE notifications SET digest_id = NULL WHERE digest_id IN (SELECT id FROM gone);
					RETURN NULL;
				END $$;

CREATE TRIGGER arrivals_deleted AFTER DELETE ON arrivals
					REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION carrel_arrivals_deleted();

CREATE TRIGGER digests_deleted AFTER DELETE ON digests
					REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION carrel_digests_deleted();
