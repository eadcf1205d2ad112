package models_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestUpgradeFromTheFirstSchema builds a database as the first schema left
// it, fills every one of its tables, migrates it to the head, and checks
// that every row is still there as it was, that the new columns hold
// their defaults, and that what later steps derive from the rows (each
// patron's history_count, the kept summaries) agrees with the rows. Then
// it changes rows, to check the triggers the upgrade added keep working,
// and the audit chain written before the upgrade still verifies and goes
// on.
//
// There is no tagged release yet, so the oldest schema a library can have
// is the first step's, 202611270001_initial.
func TestUpgradeFromTheFirstSchema(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			head, err := models.AppliedMigrations(ctx, db.Gorm)
			if err != nil {
				t.Fatal(err)
			}
			g := emptyDatabase(t, db, clock).WithContext(ctx)
			if err := models.MigrateTo(ctx, g, "202611270001_initial"); err != nil {
				t.Fatalf("migrate to the first step: %v", err)
			}
			if got, _ := models.AppliedMigrations(ctx, g); !slices.Equal(got, []string{"202611270001_initial"}) {
				t.Fatalf("applied %v, want the first step only", got)
			}

			fillFirstSchema(t, g)
			tables, err := g.Migrator().GetTables()
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]tableSnapshot{}
			for _, table := range tables {
				if table == "migrations" || table == "sqlite_sequence" {
					continue
				}
				before[table] = tableRows(t, g, table, nil)
				if len(before[table].rows) == 0 {
					t.Errorf("table %s of the first schema holds no row: the test must fill every table", table)
				}
			}

			// The legal-process tables come with step 004 and gain columns
			// in 202612020002: a library that recorded a request in
			// between must keep it as it was.
			if err := models.MigrateTo(ctx, g, "202611270004_retention_legal"); err != nil {
				t.Fatalf("migrate to 202611270004_retention_legal: %v", err)
			}
			fillLegalTables(t, g)
			for _, table := range []string{"legal_requests", "legal_request_patrons", "legal_holds"} {
				before[table] = tableRows(t, g, table, nil)
				if len(before[table].rows) == 0 {
					t.Errorf("table %s holds no row before the legal-process step", table)
				}
			}

			if err := models.Migrate(ctx, g); err != nil {
				t.Fatalf("migrate to the head: %v", err)
			}
			if got, _ := models.AppliedMigrations(ctx, g); !slices.Equal(got, head) {
				t.Fatalf("applied after the upgrade %v, want %v", got, head)
			}

			// Every row as it was, column by column.
			for _, table := range slices.Sorted(maps.Keys(before)) {
				was := before[table]
				now := tableRows(t, g, table, was.columns)
				if !slices.Equal(was.rows, now.rows) {
					t.Errorf("%s changed in the upgrade:\n was %q\n now %q", table, was.rows, now.rows)
				}
			}

			// The columns later steps added hold their defaults.
			for table, where := range map[string]string{
				"audit_entries": "key_id <> ''",
				"notifications": "arrival_id IS NOT NULL OR digest_id IS NOT NULL",
				"patrons":       "assist_seen_at IS NOT NULL",
				"legal_requests": "officer_name <> '' OR identity_check <> '' OR scope_categories <> '' OR " +
					"nondisclosure_until IS NOT NULL OR approved_at IS NOT NULL OR review_outcome <> ''",
				"legal_request_patrons": "told_at IS NOT NULL",
			} {
				if n := rowsWhere(t, g, table, where); n != 0 {
					t.Errorf("%s: %d rows where %s, want none after the upgrade", table, n, where)
				}
			}

			s := modeltest.NewStore(t, g, clock)
			checkDerived(t, g, "after the upgrade")
			res, err := s.VerifyAudit(ctx, nil, "test")
			if err != nil || !res.Intact() || res.Checked != 5 || res.Legacy != 5 {
				t.Errorf("VerifyAudit after the upgrade = %+v, %v; want intact, 5 checked, all 5 legacy", res, err)
			}

			// The new triggers run: a patron's first history, a renamed
			// list, a deleted newest loan, and a keyed audit entry after
			// the unkeyed ones.
			var patron3 int64
			if err := g.Raw("SELECT id FROM patrons WHERE card_number = '21000000000303'").Scan(&patron3).Error; err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{"INSERT INTO reading_history (patron_id, title, checked_out_at, returned_at) VALUES (?, 'Lilith''s Brood', ?, ?)",
					[]any{patron3, testTime.AddDate(0, 0, -9), testTime.AddDate(0, 0, -2)}},
				{"UPDATE mailing_lists SET name = 'Branch news' WHERE slug = 'news'", nil},
				{"DELETE FROM loans WHERE title = 'Kindred'", nil},
			} {
				if err := g.Exec(q.sql, q.args...).Error; err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			if p, err := s.Patron(ctx, patron3); err != nil || p.CardNumber != "21000000000303" {
				t.Errorf("patron 3 after the upgrade = %+v, %v", p, err)
			}
			if n := rowsWhere(t, g, "patrons", "id = ? AND history_count = 1", patron3); n != 1 {
				t.Errorf("patron 3 after a first history row: history_count is not 1")
			}
			checkDerived(t, g, "after rows changed")
			if err := g.Transaction(func(tx *gorm.DB) error {
				return s.AppendAudit(tx, &models.AuditEntry{PatronID: &patron3, Action: models.AuditPatronLookup, Reason: "at the desk"})
			}); err != nil {
				t.Fatalf("AppendAudit after the upgrade: %v", err)
			}
			res, err = s.VerifyAudit(ctx, nil, "test")
			if err != nil || !res.Intact() || res.Checked != 6 || res.Legacy != 5 {
				t.Errorf("VerifyAudit after a keyed entry = %+v, %v; want intact, 6 checked, 5 legacy", res, err)
			}
		})
	}
}

// fillLegalTables records a court order for patron 3 of the first
// schema, as the legal-process pages of step 004 did: the request, the
// patron named in it (records produced), and a hold.
func fillLegalTables(t *testing.T, g *gorm.DB) {
	t.Helper()
	var patron3 int64
	if err := g.Raw("SELECT id FROM patrons WHERE card_number = '21000000000303'").Scan(&patron3).Error; err != nil || patron3 == 0 {
		t.Fatalf("patron 3: %v", err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO legal_requests (kind, issuer, reference, received_on, attorney_reviewed, nondisclosure, notes, created_at) VALUES ('court_order', 'Superior Court', 'CV-2026-0042', ?, TRUE, TRUE, 'served at the front desk', ?)",
			[]any{testTime.AddDate(0, 0, -3), testTime.AddDate(0, 0, -3)}},
		{"INSERT INTO legal_request_patrons (request_id, patron_id, produced_at) SELECT id, ?, ? FROM legal_requests WHERE reference = 'CV-2026-0042'",
			[]any{patron3, testTime.AddDate(0, 0, -1)}},
		{"INSERT INTO legal_holds (patron_id, request_id, placed_at) SELECT ?, id, ? FROM legal_requests WHERE reference = 'CV-2026-0042'",
			[]any{patron3, testTime.AddDate(0, 0, -3)}},
	} {
		if err := g.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}

// emptyDatabase gives an empty database on db's engine: a new SQLite file,
// or db itself on PostgreSQL with everything dropped.
func emptyDatabase(t *testing.T, db modeltest.DB, clock models.Clock) *gorm.DB {
	t.Helper()
	if db.Name == string(models.SQLite) {
		g, err := models.Open(t.Context(), filepath.Join(t.TempDir(), "first.db"), clock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if sqlDB, err := g.DB(); err == nil {
				sqlDB.Close()
			}
		})
		return g
	}
	for _, q := range []string{"DROP SCHEMA public CASCADE", "CREATE SCHEMA public"} {
		if err := db.Gorm.WithContext(t.Context()).Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db.Gorm
}

// fillFirstSchema writes rows into every table of the first schema, with
// that schema's columns only, as the first release would have.
func fillFirstSchema(t *testing.T, g *gorm.DB) {
	t.Helper()
	at := func(days int) time.Time { return testTime.AddDate(0, 0, days) }
	insert := func(table string, row map[string]any) int64 {
		t.Helper()
		cols := slices.Sorted(maps.Keys(row))
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = row[c]
		}
		q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(cols, ", "),
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
		switch table {
		case "sessions", "signin_throttles", "signin_failure_buckets", "usage_counters":
			if err := g.Exec(q, args...).Error; err != nil {
				t.Fatalf("insert into %s: %v", table, err)
			}
			return 0
		}
		var id int64
		if err := g.Raw(q+" RETURNING id", args...).Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("insert into %s: id %d, %v", table, id, err)
		}
		return id
	}
	patron := func(card, family string, history bool) int64 {
		return insert("patrons", map[string]any{"card_number": card, "pin_hash": "v1$salt$hash", "given_name": "Test",
			"family_name": family, "email": family + "@example.org", "card_expires_on": at(700),
			"reading_history_enabled": history, "created_at": at(-400), "updated_at": at(-30)})
	}
	p1 := patron("21000000000301", "Butler", true)
	p2 := patron("21000000000302", "Le Guin", true)
	patron("21000000000303", "Delany", false) // no records at all
	ils := func(s string) *string { return &s }

	for _, r := range []struct {
		p        int64
		title    string
		out, due int
		ilsID    *string
		renewals int
		branch   string
	}{
		{p: p1, title: "Kindred", out: -10, due: 11, ilsID: ils("L-1"), branch: "Central"},
		{p: p1, title: "Dawn", out: -3, due: 18, ilsID: ils("L-2"), renewals: 1},
		{p: p2, title: "The Dispossessed", out: -5, due: 16},
	} {
		insert("loans", map[string]any{"patron_id": r.p, "title": r.title, "checked_out_at": at(r.out), "due_at": at(r.due),
			"ils_id": r.ilsID, "renewals": r.renewals, "branch": r.branch})
	}
	// Two rows of patron 1 returned at the same time: the higher id is
	// the newest.
	for _, r := range []struct {
		p        int64
		title    string
		returned int
	}{{p1, "Wild Seed", -60}, {p1, "Fledgling", -20}, {p1, "Parable of the Sower", -20}, {p2, "The Lathe of Heaven", -90}} {
		insert("reading_history", map[string]any{"patron_id": r.p, "title": r.title, "checked_out_at": at(r.returned - 14),
			"returned_at": at(r.returned)})
	}
	closed := at(-1)
	insert("holds", map[string]any{"patron_id": p1, "title": "Imago", "status": "waiting", "placed_at": at(-4), "ready_until": at(3)})
	insert("holds", map[string]any{"patron_id": p1, "title": "Adulthood Rites", "status": "collected", "placed_at": at(-30), "closed_at": closed})
	insert("holds", map[string]any{"patron_id": p2, "title": "Always Coming Home", "status": "in transit", "placed_at": at(-2), "ils_id": ils("H-9")})
	insert("fines", map[string]any{"patron_id": p1, "description": "Overdue", "title": "Kindred", "amount_cents": 25, "status": "paid",
		"assessed_at": at(-50), "settled_at": at(-45)})
	insert("fines", map[string]any{"patron_id": p2, "description": "Lost item", "amount_cents": 2500, "status": "outstanding", "assessed_at": at(-8)})
	insert("ill_requests", map[string]any{"patron_id": p1, "title": "Survivor", "lending_library": "State Library", "status": "received",
		"requested_at": at(-40), "completed_at": at(-25)})
	insert("reference_questions", map[string]any{"patron_id": p1, "subject": "Maps", "question": "Do you hold local maps?",
		"answer": "Yes, in the local studies room.", "asked_at": at(-12), "answered_at": at(-11)})
	insert("reference_questions", map[string]any{"patron_id": p2, "question": "When are you open?", "asked_at": at(-1)})
	insert("computer_sessions", map[string]any{"patron_id": p2, "branch": "Central", "station": "PC-3", "started_at": at(-6), "ended_at": at(-6).Add(time.Hour)})
	news := insert("mailing_lists", map[string]any{"slug": "news", "name": "News", "consent_text": "Send me the news.",
		"created_at": at(-300), "updated_at": at(-300)})
	events := insert("mailing_lists", map[string]any{"slug": "events", "name": "Events", "consent_text": "Tell me about events.",
		"consent_version": 2, "created_at": at(-300), "updated_at": at(-100)})
	insert("subscriptions", map[string]any{"patron_id": p1, "list_id": news, "subscribed_at": at(-200)})
	insert("subscriptions", map[string]any{"patron_id": p1, "list_id": events, "subscribed_at": at(-100)})
	insert("subscriptions", map[string]any{"patron_id": p2, "list_id": news, "subscribed_at": at(-150)})
	insert("favorites", map[string]any{"patron_id": p1, "kind": "author", "display": "Butler, Octavia E.", "normalized": "butler octavia e",
		"created_at": at(-90)})
	insert("favorites", map[string]any{"patron_id": p1, "kind": "subject", "display": "Science fiction", "normalized": "science fiction",
		"created_at": at(-80)})
	insert("notifications", map[string]any{"patron_id": p1, "title": "Bloodchild", "author": "Butler, Octavia E.",
		"catalog_url": modeltest.CatalogOrigin + "/items/1", "reason": "author", "created_at": at(-7), "sent_at": at(-6)})
	for i, v := range []string{"on", "off"} {
		insert("consent_entries", map[string]any{"patron_id": p1, "subject": "reading_history", "old_value": map[string]string{"on": "off", "off": "on"}[v],
			"new_value": v, "actor": "patron", "channel": "web", "text_version": "1", "created_at": at(-100 + 50*i)})
	}
	staff := insert("staff", map[string]any{"username": "desk", "display_name": "Desk Assistant", "role": "assistant",
		"password_hash": "v1$salt$hash", "created_at": at(-365), "updated_at": at(-365)})

	// An unkeyed audit chain, as entries were written before the chain was
	// keyed: about patron 1, patron 2 under a nondisclosure order, no
	// patron, and a patron since deleted.
	gone := int64(999999)
	prev := strings.Repeat("0", 64)
	for i, e := range []models.AuditEntry{
		{StaffID: &staff, PatronID: &p1, Action: "patron.lookup", Reason: "at the desk"},
		{StaffID: &staff, PatronID: &p1, Action: "patron.lookup", Reason: "on the phone", Detail: "loans"},
		{StaffID: &staff, PatronID: &p2, Action: "legal.produce", Restricted: true},
		{Action: "purge.run", Detail: "loans 0"},
		{StaffID: &staff, PatronID: &gone, Action: "patron.lookup", Reason: "at the desk"},
	} {
		e.CreatedAt = at(-50 + i)
		e.PrevHash = prev
		e.Hash = models.AuditHashForTest(e)
		prev = e.Hash
		insert("audit_entries", map[string]any{"created_at": e.CreatedAt, "staff_id": e.StaffID, "patron_id": e.PatronID,
			"action": e.Action, "reason": e.Reason, "detail": e.Detail, "restricted": e.Restricted, "prev_hash": e.PrevHash, "hash": e.Hash})
	}

	insert("sessions", map[string]any{"token_hash": "patron-session", "patron_id": p1, "channel": "web", "csrf_token": "csrf-1",
		"data": `{"flash":"Saved."}`, "created_at": at(0), "last_seen_at": at(0)})
	insert("sessions", map[string]any{"token_hash": "assist-session", "staff_id": staff, "assist_patron_id": p2, "channel": "desk",
		"csrf_token": "csrf-2", "created_at": at(0), "last_seen_at": at(0)})
	insert("signin_throttles", map[string]any{"key_hash": "card:21000000000302", "failures": 3, "window_started_at": at(0),
		"locked_until": at(0).Add(15 * time.Minute)})
	insert("signin_failure_buckets", map[string]any{"minute": at(0).Truncate(time.Minute), "failures": 7})
	insert("usage_counters", map[string]any{"day": "2026-04-07", "name": "overview", "count": 42})
}

// tableSnapshot is every row of a table, each spelled as one string.
type tableSnapshot struct {
	columns []string
	rows    []string
}

// tableRows reads columns of table (all when nil), in key order.
func tableRows(t *testing.T, g *gorm.DB, table string, columns []string) tableSnapshot {
	t.Helper()
	sel := "*"
	if columns != nil {
		sel = strings.Join(columns, ", ")
	}
	rows, err := g.Raw(fmt.Sprintf("SELECT %s FROM %s ORDER BY 1, 2", sel, table)).Rows()
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	snap := tableSnapshot{columns: columns}
	if snap.columns == nil {
		if snap.columns, err = rows.Columns(); err != nil {
			t.Fatal(err)
		}
	}
	for rows.Next() {
		vals := make([]any, len(snap.columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		var b strings.Builder
		for i, v := range vals {
			if raw, ok := v.([]byte); ok {
				v = string(raw)
			}
			fmt.Fprintf(&b, "%s=%v; ", snap.columns[i], v)
		}
		snap.rows = append(snap.rows, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return snap
}

// checkDerived compares what triggers keep with what the rows say: each
// patron's history_count, and every kept summary.
func checkDerived(t *testing.T, g *gorm.DB, step string) {
	t.Helper()
	var counts []struct{ ID, Kept, Rows int64 }
	err := g.Raw(`SELECT id, history_count AS kept,
		(SELECT COUNT(*) FROM reading_history WHERE reading_history.patron_id = patrons.id) AS "rows"
		FROM patrons ORDER BY id`).Scan(&counts).Error
	if err != nil {
		t.Fatal(err)
	}
	var patrons []int64
	for _, c := range counts {
		patrons = append(patrons, c.ID)
		if c.Kept != c.Rows {
			t.Errorf("%s: patron %d: history_count %d, the rows say %d", step, c.ID, c.Kept, c.Rows)
		}
	}
	kept := summaryTables(t, nil)
	want := map[string]string{}
	for _, c := range models.Categories() {
		if _, ok := kept[c.Slug]; !ok {
			continue
		}
		for _, p := range patrons {
			if line := summaryFromRows(t, g, c, p); line != "" {
				want[fmt.Sprintf("%d %s", p, c.Slug)] = line
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s: no summary to compare", step)
	}
	got := keptSummaryLines(t, g)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s: patron %s: kept %q, the rows say %q", step, k, got[k], want[k])
		}
	}
	for k, line := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: patron %s: kept %q for no rows", step, k, line)
		}
	}
}
