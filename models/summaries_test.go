package models_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// summaryTable is a kept category's table as the test writes it: the
// category's table, time and retention columns, the column that names a
// row ("" when the name comes from elsewhere, as a list's does), and a row
// with the table's required columns.
type summaryTable struct {
	table, time, label, due string
	row                     func(patronID int64, i int, at time.Time) map[string]any
}

func summaryTables(t *testing.T, listIDs []int64) map[string]summaryTable {
	t.Helper()
	text := func(i int) string { return fmt.Sprintf("Row %d", i) }
	rows := map[string]func(p int64, i int, at time.Time) map[string]any{
		"loans": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "title": text(i), "checked_out_at": at, "due_at": at.AddDate(0, 0, 21)}
		},
		"reading-history": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "title": text(i), "checked_out_at": at.AddDate(0, 0, -7), "returned_at": at}
		},
		"holds": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "title": text(i), "status": "waiting", "placed_at": at}
		},
		"fines": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "description": text(i), "amount_cents": 100, "status": "owed", "assessed_at": at}
		},
		"ill": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "title": text(i), "status": "requested", "requested_at": at}
		},
		"reference": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "subject": text(i), "question": "Why?", "asked_at": at}
		},
		"computer-sessions": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "station": text(i), "started_at": at}
		},
		// A patron can be on each list once: row i takes list i.
		"mailing-lists": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "list_id": listIDs[i], "subscribed_at": at}
		},
		"favorites": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "kind": "author", "display": text(i), "normalized": fmt.Sprintf("row %d", i), "created_at": at}
		},
		"consents": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "subject": text(i), "old_value": "off", "new_value": "on", "actor": "patron",
				"channel": "web", "text_version": "1", "created_at": at}
		},
		"staff-access": func(p int64, i int, at time.Time) map[string]any {
			return map[string]any{"patron_id": p, "action": text(i), "restricted": false, "prev_hash": "x", "hash": "x", "created_at": at}
		},
	}
	out := map[string]summaryTable{}
	for _, c := range models.Categories() {
		if row, ok := rows[c.Slug]; ok {
			label := c.Label
			if strings.ContainsAny(label, " (") {
				label = ""
			}
			out[c.Slug] = summaryTable{table: c.Table, time: c.TimeColumn, label: label, due: c.DueFrom, row: row}
		}
	}
	if len(out) != len(rows) {
		t.Fatalf("the test writes rows for %d categories, %d of them known", len(rows), len(out))
	}
	return out
}

// TestKeptSummariesMatchTheRows changes every table the overview sums up
// in every way rows change (inserts one at a time and many per statement,
// ties in time, updates of the time, the label, the retention date and the
// restricted flag, a renamed list, deletes of the newest, the oldest and
// all, a deleted patron) and after each step compares every kept summary
// with one worked out from the rows themselves, on both engines.
func TestKeptSummariesMatchTheRows(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, d.Gorm, modeltest.NewFakeClock(testTime))
			g := s.DB.WithContext(t.Context())
			a := createPatron(t, s, "21000000000201", "1111")
			b := createPatron(t, s, "21000000000202", "2222")
			var lists []int64
			for i := range 8 {
				l := models.MailingList{Slug: fmt.Sprintf("list-%d", i), Name: fmt.Sprintf("List %d", i), ConsentText: "Send me the news."}
				if err := g.Create(&l).Error; err != nil {
					t.Fatal(err)
				}
				lists = append(lists, l.ID)
			}
			tables := summaryTables(t, lists)
			var kept []models.Category
			for _, c := range models.Categories() {
				if _, ok := tables[c.Slug]; ok {
					kept = append(kept, c)
				}
			}
			if len(kept) != len(tables) {
				t.Fatalf("the test writes %d tables, the categories name %d of them", len(tables), len(kept))
			}
			exec := func(sql string, args ...any) {
				t.Helper()
				if err := g.Exec(sql, args...).Error; err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			check := func(step string) {
				t.Helper()
				want := map[string]string{}
				for _, p := range []int64{a.ID, b.ID} {
					if rowsWhere(t, g, "patrons", "id = ?", p) == 0 {
						continue
					}
					for _, c := range kept {
						if line := summaryFromRows(t, g, c, p); line != "" {
							want[fmt.Sprintf("%d %s", p, c.Slug)] = line
						}
					}
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
				if t.Failed() {
					t.FailNow()
				}
			}
			check("empty")

			// The database refuses to change an audit entry; the summaries'
			// update triggers still cover audit_entries like every other
			// table, so the test lifts that refusal to check them.
			lift := "DROP TRIGGER audit_entries_no_update"
			if d.Name == string(models.Postgres) {
				lift += " ON audit_entries"
			}
			exec(lift)

			// Three rows each for both patrons, in one statement per table;
			// rows 1 and 2 share their time, so the higher ID is the newest.
			at := func(i int) time.Time { return testTime.Add(time.Duration(min(i, 2)) * time.Hour) }
			for _, c := range kept {
				tb := tables[c.Slug]
				var rows []map[string]any
				for _, p := range []int64{a.ID, b.ID} {
					for i := range 3 {
						rows = append(rows, tb.row(p, i, at(i)))
					}
				}
				if err := g.Table(tb.table).Create(rows).Error; err != nil {
					t.Fatalf("insert into %s: %v", tb.table, err)
				}
			}
			check("many rows per statement")

			for _, c := range kept {
				tb := tables[c.Slug]
				if err := g.Table(tb.table).Create(tb.row(a.ID, 3, testTime.Add(-time.Hour))).Error; err != nil {
					t.Fatal(err)
				}
				if err := g.Table(tb.table).Create(tb.row(a.ID, 4, testTime.Add(5*time.Hour))).Error; err != nil {
					t.Fatal(err)
				}
			}
			check("one older and one newer row")

			// Retention starts counting: all of a's rows at once, then one
			// of them earlier.
			for _, c := range kept {
				if tb := tables[c.Slug]; tb.due != "" {
					exec(fmt.Sprintf("UPDATE %s SET %s = ? WHERE patron_id = ?", tb.table, tb.due), testTime.Add(48*time.Hour), a.ID)
					exec(fmt.Sprintf("UPDATE %s SET %s = ? WHERE id = (SELECT MAX(id) FROM %s WHERE patron_id = ?)", tb.table, tb.due, tb.table),
						testTime.Add(24*time.Hour), a.ID)
				}
			}
			check("retention dates set")

			// The newest row renamed; the oldest row made the newest.
			for _, c := range kept {
				tb := tables[c.Slug]
				if tb.label != "" {
					exec(fmt.Sprintf("UPDATE %s SET %s = 'Renamed' WHERE patron_id = ? AND %s = ?", tb.table, tb.label, tb.time),
						a.ID, testTime.Add(5*time.Hour))
				}
				exec(fmt.Sprintf("UPDATE %s SET %s = ? WHERE id = (SELECT MIN(id) FROM %s WHERE patron_id = ?)", tb.table, tb.time, tb.table),
					testTime.Add(9*time.Hour), b.ID)
			}
			exec("UPDATE mailing_lists SET name = 'Renamed list' WHERE id = ?", lists[0])
			check("labels and times changed")

			// Staff access under a nondisclosure order is hidden, then shown.
			exec("UPDATE audit_entries SET restricted = TRUE WHERE patron_id = ? AND created_at = ?", a.ID, testTime.Add(5*time.Hour))
			check("an audit entry restricted")
			exec("UPDATE audit_entries SET restricted = TRUE WHERE patron_id = ?", b.ID)
			check("all of b's audit entries restricted")
			exec("UPDATE audit_entries SET restricted = FALSE")
			check("audit entries shown again")

			for _, c := range kept {
				tb := tables[c.Slug]
				exec(fmt.Sprintf("DELETE FROM %s WHERE id = (SELECT id FROM %s WHERE patron_id = ? ORDER BY %s DESC, id DESC LIMIT 1)",
					tb.table, tb.table, tb.time), a.ID)
				if tb.due != "" {
					exec(fmt.Sprintf("DELETE FROM %s WHERE id = (SELECT id FROM %s WHERE patron_id = ? ORDER BY %s, id LIMIT 1)",
						tb.table, tb.table, tb.due), a.ID)
				}
			}
			check("the newest and the oldest deleted")

			for _, c := range kept {
				exec(fmt.Sprintf("DELETE FROM %s WHERE patron_id = ?", tables[c.Slug].table), b.ID)
			}
			check("all of b's rows deleted")

			for _, c := range kept {
				tb := tables[c.Slug]
				if err := g.Table(tb.table).Create(tb.row(b.ID, 5, testTime)).Error; err != nil {
					t.Fatal(err)
				}
			}
			check("b starts again")

			// A deleted patron takes every summary along, even of the audit
			// entries that outlive them, and of entries written after.
			exec("DELETE FROM patrons WHERE id = ?", b.ID)
			if err := g.Table("audit_entries").Create(tables["staff-access"].row(b.ID, 6, testTime)).Error; err != nil {
				t.Fatal(err)
			}
			check("b deleted")
			if n := rowsWhere(t, g, "patron_summaries", "patron_id = ?", b.ID); n != 0 {
				t.Fatalf("%d summaries outlived their patron", n)
			}
		})
	}
}

// summaryFromRows works out what a category's kept summary must say from
// the category's own rows, as the detail page lists them: "" for none.
func summaryFromRows(t *testing.T, g *gorm.DB, c models.Category, patronID int64) string {
	t.Helper()
	where := "patron_id = ?"
	if c.Where != "" {
		where += " AND " + c.Where
	}
	var n int64
	if err := g.Table(c.Table).Where(where, patronID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return ""
	}
	var (
		newestID        int64
		newestAt, least any
		label           *string
	)
	err := g.Raw(fmt.Sprintf("SELECT id, %s, %s FROM %s WHERE %s ORDER BY %s DESC, id DESC LIMIT 1",
		c.TimeColumn, c.Label, c.Table, where, c.TimeColumn), patronID).Row().Scan(&newestID, &newestAt, &label)
	if err != nil {
		t.Fatal(err)
	}
	due := c.DueFrom
	if due == "" {
		due = c.TimeColumn
	}
	if err := g.Raw(fmt.Sprintf("SELECT MIN(%s) FROM %s WHERE %s", due, c.Table, where), patronID).Row().Scan(&least); err != nil {
		t.Fatal(err)
	}
	return summaryLine(n, newestID, newestAt, label, least)
}

// keptSummaryLines reads patron_summaries, keyed "patron slug".
func keptSummaryLines(t *testing.T, g *gorm.DB) map[string]string {
	t.Helper()
	rows, err := g.Raw("SELECT patron_id, slug, n, newest_id, newest_at, oldest_at, newest_label FROM patron_summaries").Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			patronID, n, newestID int64
			slug                  string
			newestAt, oldestAt    any
			label                 *string
		)
		if err := rows.Scan(&patronID, &slug, &n, &newestID, &newestAt, &oldestAt, &label); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%d %s", patronID, slug)] = summaryLine(n, newestID, newestAt, label, oldestAt)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func summaryLine(n, newestID int64, newestAt any, label *string, oldestAt any) string {
	l := "<nil>"
	if label != nil {
		l = *label
	}
	return fmt.Sprintf("%d rows; newest #%d at %s, %q; oldest %s", n, newestID, dbTime(newestAt), l, dbTime(oldestAt))
}

// dbTime spells a time the same whichever engine returned it and how.
func dbTime(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return dbTime(string(x))
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				return p.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	return fmt.Sprintf("unreadable %T %v", v, v)
}

// TestOverviewReportsATimeItCannotRead: a date the overview cannot read
// is an error, never a card quietly shown without its newest date (as it
// was before parseDBTime returned errors). SQLite keeps times as text, so
// a value written by hand can be anything.
func TestOverviewReportsATimeItCannotRead(t *testing.T) {
	db := modeltest.SQLite(t, modeltest.NewFakeClock(testTime))
	s := modeltest.NewStore(t, db, modeltest.NewFakeClock(testTime))
	g := s.DB.WithContext(t.Context())
	p := createPatron(t, s, "21000000000211", "1111")
	if err := g.Exec("INSERT INTO loans (patron_id, title, checked_out_at, due_at) VALUES (?, 'Dune', ?, ?)",
		p.ID, testTime, testTime.AddDate(0, 0, 21)).Error; err != nil {
		t.Fatal(err)
	}
	limits := models.SessionLimits{Idle: time.Hour, Absolute: time.Hour}
	sums, err := s.Overview(t.Context(), p, limits)
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range sums {
		if sum.Slug == "loans" && (sum.Newest == nil || sum.NewestLabel != "Dune") {
			t.Fatalf("loans before: %+v", sum)
		}
	}
	if err := g.Exec("UPDATE patron_summaries SET newest_at = 'last Tuesday' WHERE patron_id = ? AND slug = 'loans'", p.ID).Error; err != nil {
		t.Fatal(err)
	}
	sums, err = s.Overview(t.Context(), p, limits)
	if err == nil || !strings.Contains(err.Error(), "last Tuesday") {
		for _, sum := range sums {
			if sum.Slug == "loans" {
				t.Errorf("loans: newest %v, label %q", sum.Newest, sum.NewestLabel)
			}
		}
		t.Fatalf("an unreadable date: err %v, want an error naming it", err)
	}
}
