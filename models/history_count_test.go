package models_test

import (
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestHistoryCountIsKeptByEveryPath checks the count the overview and the
// history pages show against the rows themselves, after each way rows
// come and go: single and bulk inserts, deleting one, clearing, turning
// history off, and another patron's changes, on both engines.
func TestHistoryCountIsKeptByEveryPath(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, d.Gorm, modeltest.NewFakeClock(testTime))
			ctx := t.Context()
			a := createPatron(t, s, "21000000000101", "1111")
			b := createPatron(t, s, "21000000000102", "2222")
			check := func(step string, p models.Patron) {
				t.Helper()
				want := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", p.ID)
				got, err := s.CountRecords(ctx, p.ID, "reading-history", testSessionLimits)
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := s.Patron(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				sums, err := s.Overview(ctx, fresh, testSessionLimits)
				if err != nil {
					t.Fatal(err)
				}
				var shown int64 = -1
				for _, sum := range sums {
					if sum.Slug == "reading-history" {
						shown = sum.Count
					}
				}
				if got != want || shown != want {
					t.Fatalf("%s: %d rows, but CountRecords says %d and the overview %d", step, want, got, shown)
				}
			}
			entry := func(p models.Patron, i int) models.HistoryEntry {
				at := testTime.Add(-time.Duration(i) * time.Hour)
				return models.HistoryEntry{PatronID: p.ID, Title: "Book", Author: "Someone", Format: "Book",
					CheckedOutAt: at.Add(-72 * time.Hour), ReturnedAt: at}
			}
			check("empty", a)

			one := entry(a, 1)
			if err := s.DB.Create(&one).Error; err != nil {
				t.Fatal(err)
			}
			check("one insert", a)

			var bulk []models.HistoryEntry
			for i := 2; i < 302; i++ {
				bulk = append(bulk, entry(a, i))
				if i%3 == 0 {
					bulk = append(bulk, entry(b, i))
				}
			}
			if err := s.DB.CreateInBatches(bulk, 50).Error; err != nil {
				t.Fatal(err)
			}
			check("bulk insert, patron a", a)
			check("bulk insert, patron b", b)

			if err := s.DeleteHistoryEntry(ctx, a.ID, one.ID); err != nil {
				t.Fatal(err)
			}
			check("delete one", a)

			if _, err := s.ClearHistory(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			check("clear b", b)
			check("a untouched by clearing b", a)

			if _, _, err := s.SetReadingHistory(ctx, a.ID, false, models.Actor{Channel: models.ChannelWeb}); err != nil {
				t.Fatal(err)
			}
			check("history turned off", a)

			// Deleting a patron cascades to their history; the trigger must
			// not stand in the way of the patron row going.
			for i := 0; i < 5; i++ {
				e := entry(b, i)
				if err := s.DB.Create(&e).Error; err != nil {
					t.Fatal(err)
				}
			}
			check("b again", b)
			if err := s.DB.Exec("DELETE FROM patrons WHERE id = ?", b.ID).Error; err != nil {
				t.Fatalf("delete a patron with history: %v", err)
			}
			if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", b.ID); n != 0 {
				t.Fatalf("%d history rows outlived their patron", n)
			}
			check("a untouched by deleting b", a)
		})
	}
}
