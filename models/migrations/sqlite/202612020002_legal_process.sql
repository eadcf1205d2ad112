-- 202612020002_legal_process on SQLite. Frozen: never edit a released step; a change is a new one.
--
-- Legal process as the policy describes it: who asked and how their
-- identity was checked, the review by the library's counsel, a second
-- staff member's approval, the scope the order names, the end of a
-- nondisclosure order, and every production with the SHA-256 of what it
-- gave. told_at is when a covered patron was told by email that the
-- request (or its nondisclosure order) ended.

ALTER TABLE legal_requests ADD COLUMN officer_name TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN officer_agency TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN identity_check TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN scope_categories TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN scope_from DATETIME;

ALTER TABLE legal_requests ADD COLUMN scope_to DATETIME;

ALTER TABLE legal_requests ADD COLUMN nondisclosure_until DATETIME;

ALTER TABLE legal_requests ADD COLUMN nondisclosure_lifted_at DATETIME;

ALTER TABLE legal_requests ADD COLUMN nondisclosure_lifted_by BIGINT;

ALTER TABLE legal_requests ADD COLUMN reviewer TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN reviewed_on DATETIME;

ALTER TABLE legal_requests ADD COLUMN review_outcome TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN review_notes TEXT NOT NULL DEFAULT '';

ALTER TABLE legal_requests ADD COLUMN review_recorded_by BIGINT;

ALTER TABLE legal_requests ADD COLUMN approved_by BIGINT;

ALTER TABLE legal_requests ADD COLUMN approved_at DATETIME;

ALTER TABLE legal_requests ADD COLUMN nondisclosure_ended_recorded_at DATETIME;

ALTER TABLE legal_request_patrons ADD COLUMN told_at DATETIME;

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

CREATE INDEX legal_productions_request ON legal_productions (request_id);

CREATE TABLE legal_production_patrons (
				production_id BIGINT NOT NULL REFERENCES legal_productions(id) ON DELETE CASCADE,
				patron_id BIGINT NOT NULL REFERENCES patrons(id) ON DELETE CASCADE,
				part TEXT NOT NULL,
				sha256 TEXT NOT NULL,
				PRIMARY KEY (production_id, patron_id));

CREATE INDEX legal_production_patrons_patron ON legal_production_patrons (patron_id);
