package models_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestHistoryKeepIsAppliedByThePurge: a patron's choice to keep only the
// last months of their reading history is a ledger entry in the
// transaction that erases what is older; then the regular purge deletes
// entries as they grow older than that, except under a legal hold, and
// never for a patron who keeps all of it. A choice the form does not
// offer is refused.
func TestHistoryKeepIsAppliedByThePurge(t *testing.T) {
	for _, d := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(d.Name, func(t *testing.T) {
			clock := modeltest.NewFakeClock(testTime)
			s := modeltest.NewStore(t, d.Gorm, clock)
			ctx := t.Context()
			keeper := createPatron(t, s, "21000000000201", "1111")
			all := createPatron(t, s, "21000000000202", "2222")
			held := createPatron(t, s, "21000000000203", "3333")
			now := s.Now()
			for _, p := range []models.Patron{keeper, all, held} {
				// Returned 1, 5, 7 and 30 months ago.
				for _, months := range []int{1, 5, 7, 30} {
					at := now.AddDate(0, -months, 0)
					e := models.HistoryEntry{PatronID: p.ID, Title: "Returned " + strconv.Itoa(months) + " months ago", CheckedOutAt: at.AddDate(0, 0, -14), ReturnedAt: at}
					if err := s.DB.Create(&e).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			web := models.Actor{Channel: models.ChannelWeb}
			if _, _, err := s.SetHistoryKeep(ctx, keeper.ID, 5, web); !errors.Is(err, models.ErrHistoryKeepChoice) {
				t.Fatalf("keeping 5 months: %v, want ErrHistoryKeepChoice", err)
			}
			for _, p := range []models.Patron{keeper, held} {
				erased, changed, err := s.SetHistoryKeep(ctx, p.ID, 6, web)
				if err != nil || !changed || erased != 2 {
					t.Fatalf("keep 6 months: erased %d, changed %v, %v; want the 2 older entries erased", erased, changed, err)
				}
			}
			if _, changed, err := s.SetHistoryKeep(ctx, keeper.ID, 6, web); err != nil || changed {
				t.Fatalf("the same choice again: changed %v, %v; want nothing written", changed, err)
			}
			if n := rowsWhere(t, s.DB, "consent_entries", "patron_id = ? AND subject = ? AND old_value = 'all' AND new_value = '6'", keeper.ID, models.ConsentHistoryKeep); n != 1 {
				t.Errorf("%d ledger entries for keeping 6 months, want 1", n)
			}
			if got := models.DescribeConsent(models.ConsentHistoryKeep, "6"); got != "chose to keep only the last 6 months of your reading history" {
				t.Errorf("DescribeConsent = %q", got)
			}
			if err := s.DB.Create(&models.LegalHold{PatronID: held.ID, PlacedAt: now.Add(-time.Hour)}).Error; err != nil {
				t.Fatal(err)
			}

			// Two months on, the entry returned 5 months ago is 7 months
			// old: the patron's pages leave it out at once, and the purge
			// deletes it.
			clock.Advance(61 * 24 * time.Hour)
			view, err := s.PatronView(ctx, keeper.ID)
			if err != nil {
				t.Fatal(err)
			}
			pg, err := s.History(ctx, keeper.ID, models.PageRequest{Hide: view.Hide("reading_history")})
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Rows) != 1 {
				t.Errorf("the page shows %d entries once one grew older than 6 months, want 1", len(pg.Rows))
			}
			if _, err := s.Purge(ctx, false, 0, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				p    models.Patron
				want int64
			}{{"6 months", keeper, 1}, {"all of it", all, 4}, {"6 months, under a legal hold", held, 2}} {
				if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", tc.p.ID); n != tc.want {
					t.Errorf("%s: %d entries after the purge, want %d", tc.name, n, tc.want)
				}
			}

			// Back to all of it: nothing more goes.
			if _, _, err := s.SetHistoryKeep(ctx, keeper.ID, 0, web); err != nil {
				t.Fatal(err)
			}
			clock.Advance(365 * 24 * time.Hour)
			if _, err := s.Purge(ctx, false, 0, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", keeper.ID); n != 1 {
				t.Errorf("keeping all of it again: %d entries after the purge, want 1", n)
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

// TestHistoryKeepGoesToWebhooksNotKoha: the choice of months is sent to
// the webhooks, as every consent change is, but not to Koha, whose patron
// privacy setting has no such value.
func TestHistoryKeepGoesToWebhooksNotKoha(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			if _, _, err := f.s.SetHistoryKeep(t.Context(), f.linked.ID, 12, models.Actor{Channel: models.ChannelWeb}); err != nil {
				t.Fatal(err)
			}
			rows := outboxRows(t, f.s, f.linked.ID)
			if got := strings.Join(targetsOf(rows), " "); got != hookA+" "+hookB {
				t.Fatalf("targets of a change of months kept = %q, want the two webhooks", got)
			}
			if !strings.Contains(rows[0].Payload, `"subject":"reading_history_keep"`) || !strings.Contains(rows[0].Payload, `"new_value":"12"`) {
				t.Errorf("payload %s", rows[0].Payload)
			}
		})
	}
}
