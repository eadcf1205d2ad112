package models_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestHistoryKeepIsAppliedByThePurge: a patron's choice to keep only the
// last months of their reading history is a ledger entry in the change's
// transaction, hides older entries from their pages at once, and the
// regular purge deletes them; a patron who keeps all of it, and one under
// a legal hold, lose nothing. A choice the form does not offer is refused.
func TestHistoryKeepIsAppliedByThePurge(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, d.Gorm, modeltest.NewFakeClock(testTime))
			ctx := t.Context()
			keeper := createPatron(t, s, "21000000000201", "1111")
			all := createPatron(t, s, "21000000000202", "2222")
			held := createPatron(t, s, "21000000000203", "3333")
			now := s.Now()
			for _, p := range []models.Patron{keeper, all, held} {
				// Returned 1, 5, 7 and 30 months ago.
				for _, months := range []int{1, 5, 7, 30} {
					at := now.AddDate(0, -months, 0)
					e := models.HistoryEntry{PatronID: p.ID, Title: "Returned " + time.Month(months%12+1).String(), CheckedOutAt: at.AddDate(0, 0, -14), ReturnedAt: at}
					if err := s.DB.Create(&e).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.DB.Create(&models.LegalHold{PatronID: held.ID, PlacedAt: now.Add(-time.Hour)}).Error; err != nil {
				t.Fatal(err)
			}

			if _, err := s.SetHistoryKeep(ctx, keeper.ID, 5, models.Actor{Channel: models.ChannelWeb}); !errors.Is(err, models.ErrHistoryKeepChoice) {
				t.Fatalf("keeping 5 months: %v, want ErrHistoryKeepChoice", err)
			}
			for _, p := range []models.Patron{keeper, held} {
				changed, err := s.SetHistoryKeep(ctx, p.ID, 6, models.Actor{Channel: models.ChannelWeb})
				if err != nil || !changed {
					t.Fatalf("keep 6 months: changed %v, %v", changed, err)
				}
			}
			if changed, err := s.SetHistoryKeep(ctx, keeper.ID, 6, models.Actor{Channel: models.ChannelWeb}); err != nil || changed {
				t.Fatalf("the same choice again: changed %v, %v; want nothing written", changed, err)
			}
			if n := rowsWhere(t, s.DB, "consent_entries", "patron_id = ? AND subject = ? AND old_value = 'all' AND new_value = '6'", keeper.ID, models.ConsentHistoryKeep); n != 1 {
				t.Errorf("%d ledger entries for keeping 6 months, want 1", n)
			}
			if got := models.DescribeConsent(models.ConsentHistoryKeep, "6"); got != "chose to keep only the last 6 months of your reading history" {
				t.Errorf("DescribeConsent = %q", got)
			}

			// The patron's pages leave out what the purge will delete.
			view, err := s.PatronView(ctx, keeper.ID)
			if err != nil {
				t.Fatal(err)
			}
			pg, err := s.History(ctx, keeper.ID, models.PageRequest{Hide: view.Hide("reading_history")})
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Rows) != 2 {
				t.Errorf("the page shows %d entries after choosing 6 months, want the 2 returned since", len(pg.Rows))
			}

			if _, err := s.Purge(ctx, false, 0, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				p    models.Patron
				want int64
			}{{"6 months", keeper, 2}, {"all of it", all, 4}, {"under a legal hold", held, 4}} {
				if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", tc.p.ID); n != tc.want {
					t.Errorf("%s: %d entries after the purge, want %d", tc.name, n, tc.want)
				}
			}
			if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ? AND returned_at < ?", keeper.ID, now.AddDate(0, -6, 0)); n != 0 {
				t.Errorf("%d entries older than 6 months left", n)
			}

			// Back to all of it: nothing more goes.
			if _, err := s.SetHistoryKeep(ctx, keeper.ID, 0, models.Actor{Channel: models.ChannelWeb}); err != nil {
				t.Fatal(err)
			}
			s.DB.Create(&models.HistoryEntry{PatronID: keeper.ID, Title: "Old again", CheckedOutAt: now.AddDate(-3, 0, 0), ReturnedAt: now.AddDate(-3, 0, 0)})
			if _, err := s.Purge(ctx, false, 0, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", keeper.ID); n != 3 {
				t.Errorf("keeping all of it again: %d entries after the purge, want 3", n)
			}
		})
	}
}

// TestHistorySearch: the reading history's search matches title or author
// in any case, takes % and _ literally, and its count and place agree with
// the pages.
func TestHistorySearch(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, d.Gorm, modeltest.NewFakeClock(testTime))
			ctx := t.Context()
			p := createPatron(t, s, "21000000000301", "1111")
			now := s.Now()
			var rows []models.HistoryEntry
			for i := range 120 {
				e := models.HistoryEntry{PatronID: p.ID, Title: "Book", Author: "Someone", CheckedOutAt: now.AddDate(0, 0, -i-14), ReturnedAt: now.AddDate(0, 0, -i)}
				if i%10 == 0 {
					e.Author = "Octavia E. Butler"
				}
				if i == 3 {
					e.Title = "100% Cotton_Wool"
				}
				rows = append(rows, e)
			}
			if err := s.DB.CreateInBatches(rows, 50).Error; err != nil {
				t.Fatal(err)
			}
			from, to := now.AddDate(0, 0, -29), now.AddDate(0, 0, -9) // returned 10 to 29 days ago
			for _, tc := range []struct {
				name string
				f    models.HistoryFilter
				want int64
			}{
				{"everything", models.HistoryFilter{}, 120},
				{"an author in another case", models.HistoryFilter{Text: "BUTLER"}, 12},
				{"a percent sign, literally", models.HistoryFilter{Text: "0%"}, 1},
				{"an underscore, literally", models.HistoryFilter{Text: "n_w"}, 1},
				{"a wildcard matches nothing", models.HistoryFilter{Text: "B%k"}, 0},
				{"dates", models.HistoryFilter{From: &from, To: &to}, 20},
				{"dates and words", models.HistoryFilter{Text: "butler", From: &from, To: &to}, 2},
			} {
				total, _, err := s.HistoryPlace(ctx, p.ID, tc.f, models.PageRequest{}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if total != tc.want {
					t.Errorf("%s: %d found, want %d", tc.name, total, tc.want)
				}
			}
			pg, err := s.HistoryMatching(ctx, p.ID, models.HistoryFilter{}, models.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			pg, err = s.HistoryMatching(ctx, p.ID, models.HistoryFilter{}, models.PageRequest{After: pg.Older})
			if err != nil {
				t.Fatal(err)
			}
			_, before, err := s.HistoryPlace(ctx, p.ID, models.HistoryFilter{}, models.PageRequest{}, pg.Newer)
			if err != nil {
				t.Fatal(err)
			}
			if before != models.DefaultPageSize {
				t.Errorf("%d entries before the second page, want %d", before, models.DefaultPageSize)
			}
		})
	}
}
