package ilsimport_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ilsimport"
	"github.com/carrel-library/carrel/models/modeltest"
)

// sip2Desk is a library system that accepts every card with the PIN
// 1234 and, as SIP2 does, gives no ILS id of its own.
type sip2Desk struct{}

func (sip2Desk) Name() string { return "sip2" }

func (sip2Desk) CheckPatron(_ context.Context, card, pin string) (models.ILSPatron, error) {
	if pin != "1234" {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	return models.ILSPatron{Card: card, GivenName: "Signed", FamilyName: "In", Email: "desk@example.org"}, nil
}

// signInAtDesk makes a patron the way a first sign-in through SIP2 does.
func signInAtDesk(t *testing.T, s *models.Store, card string) models.Patron {
	t.Helper()
	s.PatronAuth = sip2Desk{}
	defer func() { s.PatronAuth = nil }()
	in, err := s.SignInPatron(t.Context(), card, "1234")
	if err != nil || !in.Created {
		t.Fatalf("sign in %s: %v (created %v)", card, err, in.Created)
	}
	return in.Patron
}

// addByHand stores a patron the portal made itself: no ILS id, no link.
func addByHand(t *testing.T, s *models.Store, card string) models.Patron {
	t.Helper()
	p := models.Patron{CardNumber: card, PINHash: models.UnusablePINHash, FamilyName: "ByHand",
		CardExpiresOn: testTime.AddDate(1, 0, 0), BorrowingStatus: models.StatusActive, FavoritesNotice: models.NoticeNone}
	if err := s.DB.WithContext(t.Context()).Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	return p
}

func patronByID(t *testing.T, s *models.Store, id int64) models.Patron {
	t.Helper()
	p, err := s.Patron(t.Context(), id)
	if err != nil {
		t.Fatalf("patron %d: %v", id, err)
	}
	return p
}

func TestImportAdoptsPatronsMadeAtSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, clock *modeltest.FakeClock) {
		ctx := t.Context()
		// Ada signed in through SIP2 before any import, and turned reading
		// history on; Cy's card was added by hand.
		ada := signInAtDesk(t, s, "21000000000101")
		if _, _, err := s.SetReadingHistory(ctx, ada.ID, true, models.Actor{Channel: "web"}); err != nil {
			t.Fatal(err)
		}
		cy := addByHand(t, s, "21000000000103")

		// The first import: the table has no ILS id yet (on PostgreSQL the
		// new rows go in by COPY).
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV)
		wantCounts(t, "first import", r, counts{read: 3, ins: 1, upd: 1, bad: 1})
		if r.res.Adopted != 1 || !strings.Contains(r.res.Summary(), "1 updated made at sign-in and matched by card number") {
			t.Errorf("adopted %d, summary %q; want 1 said", r.res.Adopted, r.res.Summary())
		}
		if r.badText() != "line 5: card 21000000000103: card_number: another patron already has this card number" {
			t.Errorf("bad lines:\n%s\nwant the hand-made card's line alone", r.badText())
		}
		got := patronByID(t, s, ada.ID)
		if got.ILSID == nil || *got.ILSID != "p1" || got.FamilyName != "Reader" || got.Phone != "555-0101" ||
			got.PostalAddress != "1 Main Street\nApt 2" || !got.CardExpiresOn.Equal(time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("the record made at sign-in, after the import: %+v; want ILS id p1 and the row's details", got)
		}
		if !got.ReadingHistoryEnabled || got.ILSLink != "sip2" {
			t.Errorf("history %v, ils_link %q; want the patron's choice and the link kept", got.ReadingHistoryEnabled, got.ILSLink)
		}
		if n := rowsWhere(t, s.DB, "patrons", "card_number = ?", "21000000000101"); n != 1 {
			t.Errorf("%d records for Ada's card, want 1", n)
		}
		if hand := patronByID(t, s, cy.ID); hand.ILSID != nil || hand.FamilyName != "ByHand" {
			t.Errorf("the hand-made record was touched: %+v", hand)
		}

		// Other kinds now find Ada by her ILS id.
		wantCounts(t, "loans", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV), counts{3, 3, 0, 0, 0})
		if n := rowsWhere(t, s.DB, "loans", "patron_id = ?", ada.ID); n != 2 {
			t.Errorf("Ada has %d loans, want 2", n)
		}

		// The same file again: Ada is matched by ILS id and unchanged.
		clock.Advance(time.Hour)
		again := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV)
		wantCounts(t, "the same file again", again, counts{read: 3, same: 2, bad: 1})
		if again.res.Adopted != 0 {
			t.Errorf("adopted %d on the second run, want 0", again.res.Adopted)
		}

		// A patron made at sign-in once the table has ILS ids (the upsert
		// path), beside new and known rows.
		di := signInAtDesk(t, s, "21000000000104")
		more := patronsCSV + "p4,2100-0000-0001-04,Di,New,,,,Main,2027-01-01,active,\n" +
			"p5,21000000000105,Ed,Newer,,,,Main,2027-01-01,active,\n"
		r = runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, more)
		wantCounts(t, "a later adoption", r, counts{read: 5, ins: 1, upd: 1, same: 2, bad: 1})
		if got := patronByID(t, s, di.ID); got.ILSID == nil || *got.ILSID != "p4" || got.GivenName != "Di" {
			t.Errorf("Di after the import: %+v", got)
		}
	})
}

func TestImportAdoptsOnlyWhatItMay(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		importPatrons(t, s) // p1 …101, p2 …102, p3 …103
		// A card made at sign-in that the file gives to a patron the portal
		// already knows by ILS id: that patron is not merged into the
		// other; the card stays a bad line.
		eve := signInAtDesk(t, s, "21000000000199")
		moved := strings.Replace(patronsCSV, "p3,21000000000103", "p3,21000000000199", 1)
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, moved)
		wantCounts(t, "a known ILS id with a card made at sign-in", r, counts{read: 3, same: 2, bad: 1})
		if got := patronByID(t, s, eve.ID); got.ILSID != nil {
			t.Errorf("the record made at sign-in took a known ILS id: %+v", got)
		}

		// Two rows with the card: the first adopts, the second is bad.
		twice := patronsCSV + "p6,21000000000199,Eve,Reader,,,,Main,2027-01-01,active,\n" +
			"p7,21000000000199,Eve,Again,,,,Main,2027-01-01,active,\n"
		r = runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, twice)
		wantCounts(t, "two rows with one card", r, counts{read: 5, upd: 1, same: 3, bad: 1})
		if got := patronByID(t, s, eve.ID); got.ILSID == nil || *got.ILSID != "p6" {
			t.Errorf("Eve after the import: ils_id %v, want p6", got.ILSID)
		}
		if !strings.Contains(r.badText(), "line 7: card 21000000000199: card_number: another patron already has this card number") {
			t.Errorf("bad lines:\n%s", r.badText())
		}
	})
}

func TestImportAdoptionIsPartOfTheImportsTransaction(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		fay := signInAtDesk(t, s, "21000000000101")
		before := snapshots(t, s.DB)

		// A dry run adopts nothing.
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV, func(o *ilsimport.Options) { o.DryRun = true })
		if r.err != nil || r.res.Good != 3 {
			t.Fatalf("dry run: %v, good %d", r.err, r.res.Good)
		}
		sameTables(t, "dry run", before, snapshots(t, s.DB))

		// A strict import with a bad line rolls the adoption back.
		bad := patronsCSV + "p4,21000000000104,Di,New,,,,Main,someday,active,\n"
		r = runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, bad, strict)
		if r.err != nil || !r.res.RolledBack || r.res.Adopted != 0 {
			t.Fatalf("strict: err %v, rolled back %v, adopted %d", r.err, r.res.RolledBack, r.res.Adopted)
		}
		sameTables(t, "strict, rolled back", before, snapshots(t, s.DB))
		if got := patronByID(t, s, fay.ID); got.ILSID != nil {
			t.Errorf("a rolled-back import left ils_id %q", *got.ILSID)
		}

		// The same file committed strictly adopts.
		r = runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV, strict)
		wantCounts(t, "strict and good", r, counts{read: 3, ins: 2, upd: 1})
		if r.res.Adopted != 1 {
			t.Errorf("adopted %d, want 1", r.res.Adopted)
		}
		if got := patronByID(t, s, fay.ID); got.ILSID == nil || *got.ILSID != "p1" {
			t.Errorf("after a strict import: ils_id %v, want p1", got.ILSID)
		}
	})
}
