package ilsimport_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ilsimport"
	"github.com/carrel-library/carrel/models/modeltest"
)

// importRun is one import's outcome, with the bad lines as reported.
type importRun struct {
	res ilsimport.Result
	bad []ilsimport.BadLine
	err error
}

func (r importRun) badText() string {
	var lines []string
	for _, b := range r.bad {
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}

// runImport imports body as a file of kind in format; opts may adjust the
// options.
func runImport(t *testing.T, s *models.Store, kind ilsimport.Kind, format ilsimport.Format, body string,
	opts ...func(*ilsimport.Options)) importRun {
	t.Helper()
	var run importRun
	o := ilsimport.Options{Kind: kind, Format: format, BatchSize: 2,
		BadLine: func(b ilsimport.BadLine) { run.bad = append(run.bad, b) }}
	for _, f := range opts {
		f(&o)
	}
	run.res, run.err = ilsimport.Run(t.Context(), s, strings.NewReader(body), o)
	return run
}

func full(maxDelete float64) func(*ilsimport.Options) {
	return func(o *ilsimport.Options) { o.Full, o.MaxDelete = true, maxDelete }
}

func strict(o *ilsimport.Options) { o.Strict = true }

// counts is what an import did, in a form a test can compare.
type counts struct{ read, ins, upd, same, bad int64 }

func (r importRun) counts() counts {
	return counts{r.res.Read, r.res.Inserted, r.res.Updated, r.res.Unchanged, r.res.Bad}
}

func wantCounts(t *testing.T, what string, r importRun, want counts) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: Import: %v", what, r.err)
	}
	if got := r.counts(); got != want {
		t.Fatalf("%s: read/inserted/updated/unchanged/bad = %+v, want %+v\nbad lines:\n%s", what, got, want, r.badText())
	}
}

// snapshot reads every row of table, ordered by id.
func snapshot(t *testing.T, db *gorm.DB, table string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := db.WithContext(t.Context()).Table(table).Order("id").Find(&rows).Error; err != nil {
		t.Fatalf("snapshot %s: %v", table, err)
	}
	return rows
}

func snapshots(t *testing.T, db *gorm.DB) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, table := range []string{"patrons", "loans", "reading_history", "holds", "fines", "ill_requests",
		"reference_questions", "computer_sessions", "audit_entries"} {
		out[table] = snapshot(t, db, table)
	}
	return out
}

func sameTables(t *testing.T, what string, before, after map[string][]map[string]any) {
	t.Helper()
	for table, rows := range before {
		if !reflect.DeepEqual(rows, after[table]) {
			t.Errorf("%s: table %s changed:\nbefore %v\nafter  %v", what, table, rows, after[table])
		}
	}
}

// The patrons file of most tests: a PIN for the first only, a postal
// address over two lines (so the next record starts on line 4).
const patronsCSV = `ils_id,card_number,given_name,family_name,email,phone,postal_address,home_branch,card_expires_on,borrowing_status,pin
p1,21000000000101,Ada,Reader,ada@example.org,555-0101,"1 Main Street
Apt 2",Central,2028-01-31,active,4821
p2,2100 0000 0001 02,Ben,Borrower,,,,Ocean Park,2027-06-30,active,
p3,21000000000103,Cy,Shelver,cy@example.org,,,Main,2026-12-31,blocked,
`

func importPatrons(t *testing.T, s *models.Store) map[string]models.Patron {
	t.Helper()
	wantCounts(t, "patrons", runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV), counts{3, 3, 0, 0, 0})
	var ps []models.Patron
	if err := s.DB.WithContext(t.Context()).Where("ils_id IS NOT NULL").Find(&ps).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]models.Patron{}
	for _, p := range ps {
		out[*p.ILSID] = p
	}
	return out
}

func eachDB(t *testing.T, fn func(t *testing.T, s *models.Store, clock *modeltest.FakeClock)) {
	t.Helper()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			fn(t, modeltest.NewStore(t, db.Gorm, clock), clock)
		})
	}
}

func TestImportPatronsIsIdempotentAndKeepsPrivacyChoices(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, clock *modeltest.FakeClock) {
		ctx := t.Context()
		ps := importPatrons(t, s)
		ada, ben := ps["p1"], ps["p2"]
		if ada.CardNumber != "21000000000101" || ada.PostalAddress != "1 Main Street\nApt 2" || ada.FamilyName != "Reader" {
			t.Errorf("Ada imported as %+v", ada)
		}
		if ben.CardNumber != "21000000000102" {
			t.Errorf("card numbers are normalised as at sign-in: got %q", ben.CardNumber)
		}
		if want := time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC); !ada.CardExpiresOn.Equal(want) {
			t.Errorf("card_expires_on = %v, want %v", ada.CardExpiresOn, want)
		}
		if ps["p3"].BorrowingStatus != models.StatusBlocked || ada.ReadingHistoryEnabled || ada.FavoritesLinked || ada.FavoritesNotice != models.NoticeNone {
			t.Errorf("new patrons start with every choice off: %+v", ps["p3"])
		}
		if _, err := s.AuthenticatePatron(ctx, "21000000000101", "4821"); err != nil {
			t.Errorf("the patron with a PIN cannot sign in: %v", err)
		}
		if ben.PINHash != models.UnusablePINHash {
			t.Errorf("a patron imported without a PIN has pin_hash %q, want the unusable hash", ben.PINHash)
		}
		for _, pin := range []string{"", "0000", "1234", models.UnusablePINHash} {
			if _, err := s.AuthenticatePatron(ctx, "21000000000102", pin); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("a patron without a PIN signed in with %q: %v", pin, err)
			}
		}

		// The patron's own choices, made in the portal.
		if err := s.DB.Model(&models.Patron{}).Where("id = ?", ada.ID).UpdateColumns(map[string]any{
			"reading_history_enabled": true, "favorites_linked": true, "favorites_notice": "weekly"}).Error; err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		before := snapshots(t, s.DB)
		again := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV)
		wantCounts(t, "the same file again", again, counts{3, 0, 0, 3, 0})
		sameTables(t, "the same file again", before, snapshots(t, s.DB))

		// A file that tries to set the patron's choices changes nothing.
		sneaky := "ils_id,card_number,family_name,card_expires_on,borrowing_status,reading_history_enabled,favorites_linked,favorites_notice,email,phone,postal_address,home_branch,given_name\n" +
			"p1,21000000000101,Reader,2028-01-31,active,false,false,none,ada@example.org,555-0101,\"1 Main Street\nApt 2\",Central,Ada\n"
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, sneaky)
		wantCounts(t, "privacy columns", r, counts{1, 0, 0, 1, 0})
		if !strings.Contains(strings.Join(r.res.Notes, "\n"), "reading_history_enabled ignored: it is the patron's own choice") {
			t.Errorf("notes do not say the privacy columns were ignored: %q", r.res.Notes)
		}
		sameTables(t, "privacy columns", before, snapshots(t, s.DB))

		// A change from the ILS updates that patron alone, with its time.
		changed := strings.Replace(patronsCSV, "555-0101", "555-0199", 1)
		wantCounts(t, "a new phone number", runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, changed), counts{3, 0, 1, 2, 0})
		var got models.Patron
		s.DB.Where("id = ?", ada.ID).Take(&got)
		if got.Phone != "555-0199" || !got.UpdatedAt.Equal(s.Now()) || !got.ReadingHistoryEnabled || !got.FavoritesLinked || got.FavoritesNotice != "weekly" {
			t.Errorf("after the update: phone %q, updated_at %v, choices %v %v %q", got.Phone, got.UpdatedAt,
				got.ReadingHistoryEnabled, got.FavoritesLinked, got.FavoritesNotice)
		}
		if got.PINHash != ada.PINHash {
			t.Error("a row with the same PIN rewrote its hash")
		}
	})
}

func TestImportPatronPINs(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		ctx := t.Context()
		ps := importPatrons(t, s)
		// Ben gets a PIN, Ada a new one; Cy's row still has none and keeps
		// whatever Cy has.
		withPINs := strings.NewReplacer(",active,4821", ",active,7310", "Ocean Park,2027-06-30,active,", "Ocean Park,2027-06-30,active,2468").Replace(patronsCSV)
		wantCounts(t, "new PINs", runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, withPINs), counts{3, 0, 2, 1, 0})
		for _, c := range []struct{ card, pin string }{{"21000000000101", "7310"}, {"21000000000102", "2468"}} {
			if _, err := s.AuthenticatePatron(ctx, c.card, c.pin); err != nil {
				t.Errorf("card %s cannot sign in with its new PIN: %v", c.card, err)
			}
		}
		if _, err := s.AuthenticatePatron(ctx, "21000000000101", "4821"); !errors.Is(err, models.ErrBadCredentials) {
			t.Errorf("the old PIN still works: %v", err)
		}
		// A file without the pin column keeps every stored hash.
		noPIN := strings.NewReplacer(",pin\n", "\n", ",7310\n", "\n", ",2468\n", "\n", ",\n", "\n").Replace(withPINs)
		before := snapshot(t, s.DB, "patrons")
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, noPIN)
		wantCounts(t, "no pin column", r, counts{3, 0, 0, 3, 0})
		if !reflect.DeepEqual(before, snapshot(t, s.DB, "patrons")) {
			t.Error("a file without PINs changed a stored hash")
		}
		_ = ps
	})
}

const loansCSV = `ils_id,patron_ils_id,title,author,format,barcode,checked_out_at,due_at,renewals,branch,returned_at
L1,p1,Kindred,"Butler, Octavia E.",Book,31000000000001,2026-03-30T15:04:05Z,2026-04-20,0,Central,
L2,p1,Dawn,"Butler, Octavia E.",Book,31000000000002,2026-03-31 09:30:00,2026-04-21T23:59:00-07:00,1,Central,
L3,p2,The Dispossessed,"Le Guin, Ursula K.",Book,31000000000003,2026-04-01,2026-04-22,2,Ocean Park,
`

// loansJSONL is loansCSV as JSON Lines, with numbers as numbers.
const loansJSONL = `{"ils_id":"L1","patron_ils_id":"p1","title":"Kindred","author":"Butler, Octavia E.","format":"Book","barcode":"31000000000001","checked_out_at":"2026-03-30T15:04:05Z","due_at":"2026-04-20","renewals":0,"branch":"Central","returned_at":null}
{"ils_id":"L2","patron_ils_id":"p1","title":"Dawn","author":"Butler, Octavia E.","format":"Book","barcode":"31000000000002","checked_out_at":"2026-03-31 09:30:00","due_at":"2026-04-21T23:59:00-07:00","renewals":1,"branch":"Central"}

{"ils_id":"L3","patron_ils_id":"p2","title":"The Dispossessed","author":"Le Guin, Ursula K.","format":"Book","barcode":"31000000000003","checked_out_at":"2026-04-01","due_at":"2026-04-22","renewals":2,"branch":"Ocean Park"}
`

func TestImportLoansCSVAndJSONLinesAreTheSameAndIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		la, _ := time.LoadLocation("America/Los_Angeles")
		inLA := func(o *ilsimport.Options) { o.Location = la }
		ps := importPatrons(t, s)
		wantCounts(t, "loans CSV", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV, inLA), counts{3, 3, 0, 0, 0})
		before := snapshots(t, s.DB)
		wantCounts(t, "loans CSV again", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV, inLA), counts{3, 0, 0, 3, 0})
		sameTables(t, "loans CSV again", before, snapshots(t, s.DB))
		wantCounts(t, "the same loans as JSON Lines", runImport(t, s, ilsimport.Loans, ilsimport.FormatJSONL, loansJSONL, inLA), counts{3, 0, 0, 3, 0})
		sameTables(t, "the same loans as JSON Lines", before, snapshots(t, s.DB))

		var loans []models.Loan
		s.DB.Order("ils_id").Find(&loans)
		if len(loans) != 3 || loans[0].PatronID != ps["p1"].ID || loans[2].PatronID != ps["p2"].ID || loans[1].Renewals != 1 {
			t.Fatalf("loans: %+v", loans)
		}
		for _, c := range []struct {
			name      string
			got, want time.Time
		}{
			{"RFC 3339", loans[0].CheckedOutAt, time.Date(2026, 3, 30, 15, 4, 5, 0, time.UTC)},
			{"a date alone, for a deadline: the end of the day in the library's zone", loans[0].DueAt, time.Date(2026, 4, 20, 23, 59, 59, 0, la)},
			{"a time of day without an offset: in the library's zone", loans[1].CheckedOutAt, time.Date(2026, 3, 31, 9, 30, 0, 0, la)},
			{"an offset", loans[1].DueAt, time.Date(2026, 4, 22, 6, 59, 0, 0, time.UTC)},
			{"a date alone: the start of the day", loans[2].CheckedOutAt, time.Date(2026, 4, 1, 0, 0, 0, 0, la)},
		} {
			if !c.got.Equal(c.want) {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			}
		}

		// A renewal in the ILS updates one loan.
		renewed := strings.Replace(loansCSV, "2026-04-22,2,", "2026-05-13,3,", 1)
		wantCounts(t, "a renewal", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, renewed, inLA), counts{3, 0, 1, 2, 0})
	})
}

// setHistory turns a patron's reading history on or off as the patron
// would, through the consent ledger.
func setHistory(t *testing.T, s *models.Store, id int64, on bool) {
	t.Helper()
	if _, _, err := s.SetReadingHistory(t.Context(), id, on, models.Actor{Channel: models.ChannelWeb, TextVersion: "1"}); err != nil {
		t.Fatalf("SetReadingHistory: %v", err)
	}
}

func TestImportReturnedLoansBecomeHistoryOnlyWithConsent(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		ps := importPatrons(t, s)
		ada, ben := ps["p1"], ps["p2"]
		setHistory(t, s, ada.ID, true) // Ada asked for a reading history; Ben did not
		wantCounts(t, "loans", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV), counts{3, 3, 0, 0, 0})

		// Kindred (Ada) and The Dispossessed (Ben) come back; so does L9,
		// a loan of Ada's the portal never held as current.
		returned := strings.NewReplacer(
			"0,Central,\n", "0,Central,2026-04-06T17:00:00Z\n",
			"2,Ocean Park,\n", "2,Ocean Park,2026-04-06\n").Replace(loansCSV) +
			"L9,p1,Lilith's Brood,\"Butler, Octavia E.\",Book,31000000000009,2026-03-01,2026-03-22,0,Central,2026-03-20\n"
		r := runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, returned)
		wantCounts(t, "returns", r, counts{4, 0, 0, 2, 0})
		if r.res.ToHistory != 1 || r.res.Returned != 1 {
			t.Fatalf("to history %d, returned and deleted %d; want 1 and 1", r.res.ToHistory, r.res.Returned)
		}
		var loans []string
		s.DB.Model(&models.Loan{}).Order("ils_id").Pluck("ils_id", &loans)
		if !reflect.DeepEqual(loans, []string{"L2"}) {
			t.Errorf("current loans after the returns: %v, want [L2]", loans)
		}
		var hist []models.HistoryEntry
		s.DB.Order("id").Find(&hist)
		if len(hist) != 1 || hist[0].PatronID != ada.ID || hist[0].ILSID == nil || *hist[0].ILSID != "L1" ||
			hist[0].Title != "Kindred" || !hist[0].ReturnedAt.Equal(time.Date(2026, 4, 6, 17, 0, 0, 0, time.UTC)) {
			t.Fatalf("reading history: %+v", hist)
		}
		if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", ben.ID); n != 0 {
			t.Errorf("Ben has no reading history turned on, yet %d entries were kept", n)
		}

		before := snapshots(t, s.DB)
		again := runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, returned)
		wantCounts(t, "returns again", again, counts{4, 0, 0, 4, 0})
		if again.res.ToHistory != 0 || again.res.Returned != 0 {
			t.Errorf("returns again: to history %d, returned %d", again.res.ToHistory, again.res.Returned)
		}
		sameTables(t, "returns again", before, snapshots(t, s.DB))

		// Ada deletes the entry: the same returned loan never brings it back.
		if err := s.DeleteHistoryEntry(t.Context(), ada.ID, hist[0].ID); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, "after Ada deleted the entry", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, returned), counts{4, 0, 0, 4, 0})
		if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", ada.ID); n != 0 {
			t.Errorf("a deleted history entry came back: %d entries", n)
		}

		// Ben turns history on now: a loan returned from now on is kept.
		setHistory(t, s, ben.ID, true)
		out := "L4,p2,The Left Hand of Darkness,\"Le Guin, Ursula K.\",Book,31000000000004,2026-04-02,2026-04-23,0,Ocean Park,\n"
		wantCounts(t, "Ben borrows", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, strings.SplitN(loansCSV, "\n", 2)[0]+"\n"+out), counts{1, 1, 0, 0, 0})
		back := strings.Replace(out, "Ocean Park,\n", "Ocean Park,2026-04-07T09:00:00Z\n", 1)
		r = runImport(t, s, ilsimport.Loans, ilsimport.FormatJSONL, csvToJSONL(t, strings.SplitN(loansCSV, "\n", 2)[0]+"\n"+back))
		wantCounts(t, "Ben returns", r, counts{1, 0, 0, 0, 0})
		if r.res.ToHistory != 1 || rowsWhere(t, s.DB, "reading_history", "patron_id = ? AND ils_id = ?", ben.ID, "L4") != 1 {
			t.Errorf("Ben's return with history on: to history %d", r.res.ToHistory)
		}
	})
}

// csvToJSONL turns a CSV text into the same lines as JSON Lines, so that
// a case can be run in both formats.
func csvToJSONL(t *testing.T, csvText string) string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil {
		t.Fatalf("csvToJSONL: %v", err)
	}
	var out strings.Builder
	for _, rec := range recs[1:] {
		obj := map[string]string{}
		for i, h := range recs[0] {
			if rec[i] != "" {
				obj[h] = rec[i]
			}
		}
		b, _ := json.Marshal(obj)
		out.Write(append(b, '\n'))
	}
	return out.String()
}

func TestImportBadLinesAreReportedAndGoodLinesGoIn(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		importPatrons(t, s)
		body := strings.SplitN(loansCSV, "\n", 2)[0] + "\n" +
			"L1,p1,Kindred,,Book,,2026-03-30,2026-04-20,0,Central,\n" + // 2: good
			"L2,p1,Dawn,,Book,,2026-03-31,20/04/2026,0,Central,\n" + // 3: bad date
			"L3,p404,Imago,,Book,,2026-03-31,2026-04-20,0,Central,\n" + // 4: unknown patron
			"L4,p2,Adulthood Rites,,Book,,2026-03-31,2026-04-20,many,Central,\n" + // 5: bad number
			"L1,p2,Fledgling,,Book,,2026-03-31,2026-04-20,0,Central,\n" + // 6: ils_id again
			"L5,p2,,,Book,,2026-03-31,2026-04-20,0,Central,\n" + // 7: no title
			"L6,p2,Wild Seed,,Book\n" + // 8: too few fields
			"L7,p2,Mind of My Mind,,Book,,2026-04-01,2026-04-22,0,Central,\n" // 9: good
		r := runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, body)
		wantCounts(t, "bad lines", r, counts{8, 2, 0, 0, 6})
		want := []string{
			"line 3: card 21000000000101: due_at: not a date (use YYYY-MM-DD or RFC 3339)",
			"line 4: patron_ils_id: no patron has this ILS id (import patrons first)",
			"line 5: card 21000000000102: renewals: not a whole number from 0 to 999",
			"line 6: card 21000000000102: ils_id: appears again (first on line 2)",
			"line 7: card 21000000000102: title: required",
			"line 8: has a different number of fields than the header",
		}
		if got := r.badText(); got != strings.Join(want, "\n") {
			t.Errorf("bad lines:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
		var ids []string
		s.DB.Model(&models.Loan{}).Order("ils_id").Pluck("ils_id", &ids)
		if !reflect.DeepEqual(ids, []string{"L1", "L7"}) {
			t.Errorf("loans stored: %v, want the good lines L1 and L7", ids)
		}
		if !strings.Contains(r.res.Summary(), "; 6 bad lines;") {
			t.Errorf("summary: %s", r.res.Summary())
		}

		// A file that ends with a bad line: the last batch writes nothing
		// (and on PostgreSQL still makes the batches before it durable).
		tail := strings.SplitN(loansCSV, "\n", 2)[0] + "\n" +
			"L8,p1,Clay's Ark,,Book,,2026-03-30,2026-04-20,0,Central,\n" +
			"L9,p1,Survivor,,Book,,2026-03-30,2026-04-20,0,Central,\n" +
			"L10,p1,Patternmaster,,Book,,2026-03-30,2026-04-20,-1,Central,\n"
		r = runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, tail)
		wantCounts(t, "a bad last line", r, counts{3, 2, 0, 0, 1})
		if r.badText() != "line 4: card 21000000000101: renewals: not a whole number from 0 to 999" {
			t.Errorf("bad lines: %s", r.badText())
		}
	})
}

func TestImportBadPatronLinesNeverShowThePIN(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		body := strings.SplitN(patronsCSV, "\n", 2)[0] + "\n" +
			"p1,21000000000101,Ada,Reader,not-an-address,,,Central,2028-01-31,active,9876\n" +
			"p2,21000000000102,Ben,Borrower,,,,Central,2028-01-31,active,12\n" +
			"p3,21000000000103,Cy,Shelver,,,,Central,2028-01-31,retired,5555\n" +
			"p4,21000000000101,Di,Duplicate,,,,Central,2028-01-31,active,8642\n" + // Ada's card, if it had gone in
			"p5,21000000000105,Ed,Good,,,,Central,2028-01-31,active,3141\n" +
			"p6,21000000000105,Fi,Twin,,,,Central,2028-01-31,active,2718\n" // Ed's card
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, body)
		wantCounts(t, "bad patrons", r, counts{6, 2, 0, 0, 4})
		text := r.badText() + "\n" + r.res.Summary()
		for _, secret := range []string{"9876", "12\n", "5555", "3141", "2718", "8642", "Ada", "Reader", "not-an-address", "Twin"} {
			if strings.Contains(text, secret) {
				t.Errorf("the report shows %q:\n%s", secret, text)
			}
		}
		want := []string{
			"line 2: card 21000000000101: email: not an email address",
			"line 3: card 21000000000102: pin: not a usable PIN (4 to 32 characters, no spaces)",
			"line 4: card 21000000000103: borrowing_status: not one of active, blocked, expired",
			"line 7: card 21000000000105: card_number: another patron already has this card number",
		}
		if got := r.badText(); got != strings.Join(want, "\n") {
			t.Errorf("bad lines:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
	})
}

func TestImportStrictRollsEverythingBack(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		importPatrons(t, s)
		wantCounts(t, "loans", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV), counts{3, 3, 0, 0, 0})
		before := snapshots(t, s.DB)
		body := strings.Replace(loansCSV, "2026-04-20,0,", "2026-05-20,1,", 1) + // a renewal
			"L5,p2,Imago,,Book,,2026-04-01,2026-04-22,0,Central,\n" + // new
			"L6,p2,Wild Seed,,Book,,yesterday,2026-04-22,0,Central,\n" + // bad
			"L7,p3,Mind of My Mind,,Book,,2026-04-01,2026-04-22,0,Central,\n" +
			"L8,p404,Clay's Ark,,Book,,2026-04-01,2026-04-22,0,Central,\n" // bad
		r := runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, body, strict, full(1))
		if r.err != nil || !r.res.RolledBack || r.res.Bad != 2 || r.res.Deleted != 0 {
			t.Fatalf("strict: err %v, rolled back %v, bad %d, deleted %d", r.err, r.res.RolledBack, r.res.Bad, r.res.Deleted)
		}
		if r.res.Inserted != 0 || r.res.Updated != 0 || !strings.Contains(r.res.Summary(), "rolled back, nothing changed") {
			t.Errorf("a rolled-back import reports changes: %s", r.res.Summary())
		}
		if !strings.Contains(r.badText(), "line 6: card 21000000000102: checked_out_at: not a date") ||
			!strings.Contains(r.badText(), "line 8: patron_ils_id: no patron") {
			t.Errorf("strict mode still lists every bad line:\n%s", r.badText())
		}
		sameTables(t, "strict with bad lines", before, snapshots(t, s.DB))

		// A bad row found by the database (a card number taken twice) rolls
		// back too.
		dup := strings.Replace(patronsCSV, "p3,21000000000103", "p3,21000000000101", 1) +
			"p4,21000000000104,Di,New,,,,Main,2027-01-01,active,\n"
		r = runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, dup, strict)
		if r.err != nil || !r.res.RolledBack || r.res.Bad != 1 || !strings.Contains(r.badText(), "line 5: card 21000000000101: card_number: another patron") {
			t.Fatalf("strict duplicate card: err %v, rolled back %v, bad:\n%s", r.err, r.res.RolledBack, r.badText())
		}
		sameTables(t, "strict with a duplicate card", before, snapshots(t, s.DB))

		// Without bad lines a strict import commits.
		good := strings.Replace(loansCSV, "2026-04-20,0,", "2026-05-20,1,", 1)
		wantCounts(t, "strict and good", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, good, strict), counts{3, 0, 1, 2, 0})
	})
}

// auditEntries lists the audit log's entries of one action.
func auditEntries(t *testing.T, db *gorm.DB, action string) []models.AuditEntry {
	t.Helper()
	var out []models.AuditEntry
	if err := db.Where("action = ?", action).Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportFullSnapshotDeletesWhatItNoLongerLists(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		ps := importPatrons(t, s)
		wantCounts(t, "loans", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV), counts{3, 3, 0, 0, 0})
		// A loan entered by hand (no ILS id) is not the ILS's to delete.
		manual := models.Loan{PatronID: ps["p1"].ID, Title: "By hand", CheckedOutAt: s.Now(), DueAt: s.Now()}
		s.DB.Create(&manual)
		withoutL2 := strings.Join(slicesDelete(strings.Split(loansCSV, "\n"), 2), "\n")

		// With a bad line, a full snapshot deletes nothing, and says so.
		bad := withoutL2 + "L5,p2,Imago,,Book,,someday,2026-04-22,0,Central,\n"
		r := runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, bad, full(1))
		if r.res.Bad != 1 || r.res.Deleted != 0 || !strings.Contains(r.res.FullRefused, "bad line") {
			t.Fatalf("a full snapshot with a bad line: bad %d, deleted %d, refused %q", r.res.Bad, r.res.Deleted, r.res.FullRefused)
		}
		if n := rowsWhere(t, s.DB, "loans", "ils_id = ?", "L2"); n != 1 {
			t.Fatal("a full snapshot with a bad line deleted a record")
		}
		// Deleting more than the allowed share is refused too.
		r = runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, withoutL2, full(0.2))
		if r.res.Deleted != 0 || !strings.Contains(r.res.FullRefused, "would delete 1 of 3 loans (more than 20%)") {
			t.Fatalf("over the limit: deleted %d, refused %q", r.res.Deleted, r.res.FullRefused)
		}
		if n := len(auditEntries(t, s.DB, models.AuditILSImportDelete)); n != 0 {
			t.Fatalf("%d audit entries for deletions that did not happen", n)
		}

		r = runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, withoutL2, full(0.5))
		if r.err != nil || r.res.Deleted != 1 || r.res.FullRefused != "" {
			t.Fatalf("full snapshot: err %v, deleted %d, refused %q", r.err, r.res.Deleted, r.res.FullRefused)
		}
		var ids []string
		s.DB.Model(&models.Loan{}).Where("ils_id IS NOT NULL").Order("ils_id").Pluck("ils_id", &ids)
		if !reflect.DeepEqual(ids, []string{"L1", "L3"}) || rowsWhere(t, s.DB, "loans", "id = ?", manual.ID) != 1 {
			t.Errorf("loans left: %v (and the manual one: %d)", ids, rowsWhere(t, s.DB, "loans", "id = ?", manual.ID))
		}
		entries := auditEntries(t, s.DB, models.AuditILSImportDelete)
		if len(entries) != 1 || entries[0].StaffID != nil || entries[0].PatronID != nil ||
			entries[0].Detail != "full ILS import of loans: 1 deleted as missing from the snapshot" {
			t.Fatalf("audit entries: %+v", entries)
		}
		if res, err := s.VerifyAudit(t.Context(), nil, "test"); !res.Intact() || err != nil {
			t.Errorf("VerifyAudit = %+v, %v", res, err)
		}
		// Again: nothing to delete, nothing audited.
		r = runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, withoutL2, full(0.5))
		wantCounts(t, "full again", r, counts{2, 0, 0, 2, 0})
		if r.res.Deleted != 0 || len(auditEntries(t, s.DB, models.AuditILSImportDelete)) != 1 {
			t.Errorf("full again: deleted %d", r.res.Deleted)
		}
	})
}

func slicesDelete(s []string, i int) []string { return append(s[:i:i], s[i+1:]...) }

// patronTables lists every table with a column naming a patron, from the
// database's own catalogue, so that a table added later is not missed.
func patronTables(t *testing.T, db *gorm.DB) map[string][]string {
	t.Helper()
	q := `SELECT m.name AS tbl, p.name AS col FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name IN ('patron_id', 'assist_patron_id')`
	if models.DialectOfDB(db) == models.Postgres {
		q = `SELECT table_name AS tbl, column_name AS col FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name IN ('patron_id', 'assist_patron_id')`
	}
	var rows []struct{ Tbl, Col string }
	if err := db.Raw(q).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Tbl] = append(out[r.Tbl], r.Col)
	}
	return out
}

func TestImportFullPatronSnapshotDeletesAPatronWithEverything(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		ctx := t.Context()
		g := s.DB.WithContext(ctx)
		ps := importPatrons(t, s)
		gone, kept, held := ps["p1"], ps["p2"], ps["p3"]
		setHistory(t, s, gone.ID, true)
		wantCounts(t, "loans", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV), counts{3, 3, 0, 0, 0})

		staff := models.Staff{Username: "officer", DisplayName: "O. Officer", Role: models.RolePrivacyOfficer, PasswordHash: "v1$none$none"}
		list := models.MailingList{Slug: "news", Name: "News", ConsentText: "Send me the news."}
		for _, r := range []any{&staff, &list} {
			if err := g.Create(r).Error; err != nil {
				t.Fatal(err)
			}
		}
		n := s.Now()
		arrival := models.Arrival{Title: "Parable of the Sower", ArrivedOn: n, CatalogURL: "https://catalog.example.org/1", CreatedAt: n}
		if err := g.Create(&arrival).Error; err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{gone.ID, kept.ID} {
			digest := models.Digest{PatronID: id, IdempotencyKey: fmt.Sprintf("digest-%d", id), Status: models.DigestPending,
				NextAttemptAt: n, CreatedAt: n}
			if err := g.Create(&digest).Error; err != nil {
				t.Fatal(err)
			}
			req := models.LegalRequest{Kind: "subpoena", Issuer: "Court", Reference: fmt.Sprintf("R-%d", id), ReceivedOn: n, CreatedAt: n}
			if err := g.Create(&req).Error; err != nil {
				t.Fatal(err)
			}
			prod := models.LegalProduction{RequestID: req.ID, Categories: "loans", Manifest: "{}", PackageSHA256: "x", ProducedAt: n}
			if err := g.Create(&prod).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range []any{
				&models.LegalProductionPatron{ProductionID: prod.ID, PatronID: id, Part: "p.json", SHA256: "x"},
				&models.Hold{PatronID: id, Title: "Wild Seed", Status: models.HoldWaiting, PlacedAt: n},
				&models.Fine{PatronID: id, Description: "Overdue", AmountCents: 25, Status: models.FineOutstanding, AssessedAt: n},
				&models.ILLRequest{PatronID: id, Title: "Fledgling", Status: models.ILLRequested, RequestedAt: n},
				&models.ReferenceQuestion{PatronID: id, Question: "Do you hold local maps?", AskedAt: n},
				&models.ComputerSession{PatronID: id, Branch: "Central", Station: "PC-3", StartedAt: n},
				&models.Subscription{PatronID: id, ListID: list.ID, SubscribedAt: n},
				&models.Favorite{PatronID: id, Kind: models.FavoriteAuthor, Display: "Butler", Normalized: "butler", CreatedAt: n},
				&models.Notification{PatronID: id, Title: "Parable of the Sower", CreatedAt: n, ArrivalID: &arrival.ID, DigestID: &digest.ID},
				&models.HistoryEntry{PatronID: id, Title: "Dawn", CheckedOutAt: n, ReturnedAt: n},
				&models.Session{TokenHash: models.HashToken(models.RandomToken()), PatronID: &id, CSRFToken: "c", Data: "{}", CreatedAt: n, LastSeenAt: n},
				&models.Session{TokenHash: models.HashToken(models.RandomToken()), StaffID: &staff.ID, AssistPatronID: &id, CSRFToken: "c", Data: "{}", CreatedAt: n, LastSeenAt: n},
				&models.LegalRequestPatron{RequestID: req.ID, PatronID: id},
				// A hold that was released no longer keeps anything.
				&models.LegalHold{PatronID: id, RequestID: &req.ID, PlacedAt: n, ReleasedAt: &n},
			} {
				if err := g.Create(r).Error; err != nil {
					t.Fatalf("create %T: %v", r, err)
				}
			}
			// A consent change on its way to another system.
			entry := models.ConsentEntry{PatronID: id, Subject: models.ConsentFavoritesNotice, OldValue: "none", NewValue: "weekly",
				Actor: models.ActorPatron, Channel: "web", CreatedAt: n}
			if err := g.Create(&entry).Error; err != nil {
				t.Fatal(err)
			}
			out := models.OutboxRow{PatronID: id, ConsentID: entry.ID, Target: models.TargetWebhookPrefix + "https://hooks.example.org/",
				Status: models.OutboxPending, NextAttemptAt: n, CreatedAt: n}
			if err := g.Create(&out).Error; err != nil {
				t.Fatal(err)
			}
		}
		// Cy is under a legal hold still in force.
		if err := g.Create(&models.LegalHold{PatronID: held.ID, PlacedAt: n}).Error; err != nil {
			t.Fatal(err)
		}

		tables := patronTables(t, g)
		count := func(id int64) map[string]int64 {
			out := map[string]int64{}
			for table, cols := range tables {
				var where []string
				var args []any
				for _, c := range cols {
					where = append(where, c+" = ?")
					args = append(args, id)
				}
				out[table] = rowsWhere(t, g, table, strings.Join(where, " OR "), args...)
			}
			return out
		}
		for table, n := range count(gone.ID) {
			if n == 0 && table != "audit_entries" {
				t.Errorf("the test puts no row for the patron in %s: add one", table)
			}
		}
		keptBefore := count(kept.ID)

		onlyBen := strings.Join(slicesDelete(slicesDelete(strings.Split(patronsCSV, "\n"), 1), 1), "\n") // Ada's two lines go
		onlyBen = strings.Join(slicesDelete(strings.Split(onlyBen, "\n"), 2), "\n")                      // and Cy's
		r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, onlyBen, full(1))
		if r.err != nil || r.res.Read != 1 || r.res.Deleted != 1 || r.res.Held != 1 {
			t.Fatalf("full patrons: err %v, read %d, deleted %d, held %d, refused %q", r.err, r.res.Read, r.res.Deleted, r.res.Held, r.res.FullRefused)
		}
		for table, n := range count(gone.ID) {
			if n != 0 && table != "audit_entries" {
				t.Errorf("after the patron was deleted, %s still holds %d rows about them", table, n)
			}
		}
		if rowsWhere(t, g, "patrons", "id = ?", gone.ID) != 0 {
			t.Error("the patron is still there")
		}
		for table, n := range count(kept.ID) {
			if n != keptBefore[table] {
				t.Errorf("%s rows of the patron kept: %d, want %d", table, n, keptBefore[table])
			}
		}
		if rowsWhere(t, g, "patrons", "id = ?", held.ID) != 1 {
			t.Error("a patron under a legal hold was deleted")
		}
		entries := auditEntries(t, g, models.AuditILSImportDelete)
		if len(entries) != 1 || entries[0].StaffID != nil || entries[0].PatronID != nil ||
			entries[0].Detail != "full ILS import of patrons: 1 deleted as missing from the snapshot; 1 kept by a legal hold" {
			t.Fatalf("audit: %+v", entries)
		}
		for _, name := range []string{"Ada", "Reader", "21000000000101", "p1"} {
			if strings.Contains(entries[0].Detail, name) {
				t.Errorf("the audit entry names the patron (%q): %s", name, entries[0].Detail)
			}
		}
	})
}

func TestImportOtherKinds(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		importPatrons(t, s)
		cases := []struct {
			kind                ilsimport.Kind
			table               string
			csv                 string
			read, ins, bad, old int64
			badText             string
		}{
			{ilsimport.Holds, "holds", `ils_id,patron_ils_id,title,author,pickup_branch,status,placed_at,ready_until,closed_at
H1,p1,Kindred,"Butler, Octavia E.",Central,ready,2026-03-30,2026-04-10,
H2,p1,Dawn,,Central,Filled,2026-03-01,,2026-04-01T10:00:00Z
H3,p2,Imago,,Central,cancelled,2026-03-01,,
H4,p2,Imago,,Central,waiting,2026-03-01,,2026-04-01
H5,p2,Imago,,Central,lost,2026-03-01,,
H6,p2,Imago,,Central,filled,2025-01-01,,2025-02-01
`, 6, 2, 3, 1, "line 4: card 21000000000102: closed_at: required when status is filled or cancelled\n" +
				"line 5: card 21000000000102: closed_at: must be empty while status is waiting\n" +
				"line 6: card 21000000000102: status: not one of waiting, in_transit, ready, filled, cancelled"},
			{ilsimport.Fines, "fines", `ils_id,patron_ils_id,description,title,amount,status,assessed_at,settled_at
F1,p1,Overdue,Kindred,1.5,outstanding,2026-03-30,
F2,p1,Lost item,Dawn,25.000000,paid,2026-03-01,2026-04-01
F3,p2,Overdue,,12.345,outstanding,2026-03-30,
F4,p2,Overdue,,-2.00,outstanding,2026-03-30,
F5,p2,Damaged,,3.00,waived,2025-06-01,2025-07-01
`, 5, 2, 2, 1, "line 4: card 21000000000102: amount: not an amount (digits with at most two decimals, like 12.50)\n" +
				"line 5: card 21000000000102: amount: not an amount (digits with at most two decimals, like 12.50)"},
			{ilsimport.ILL, "ill_requests", `ils_id,patron_ils_id,title,author,lending_library,status,requested_at,completed_at
I1,p1,Fledgling,,Lakewood Public Library,shipped,2026-03-30,
I2,p2,Fledgling,,Lakewood Public Library,returned,2026-03-01,
`, 2, 1, 1, 0, "line 3: card 21000000000102: completed_at: required when status is returned or cancelled"},
			{ilsimport.Reference, "reference_questions", `ils_id,patron_ils_id,subject,question,answer,asked_at,answered_at
R1,p1,Maps,"Do you hold
local maps?",We do.,2026-03-30T10:00:00Z,2026-03-30T12:00:00Z
R2,p2,Old,Something asked long ago,,2025-01-01,
`, 2, 1, 0, 1, ""},
			{ilsimport.ComputerSessions, "computer_sessions", `ils_id,patron_ils_id,branch,station,started_at,ended_at
C1,p1,Central,PC-3,2026-04-07T09:00:00Z,2026-04-07T10:00:00Z
C2,p2,Central,PC-4,2026-04-05T09:00:00Z,2026-04-05T10:00:00Z
`, 2, 1, 0, 1, ""},
		}
		for _, c := range cases {
			t.Run(string(c.kind), func(t *testing.T) {
				r := runImport(t, s, c.kind, ilsimport.FormatCSV, c.csv)
				wantCounts(t, string(c.kind), r, counts{c.read, c.ins, 0, 0, c.bad})
				if r.res.Expired != c.old {
					t.Errorf("past retention: %d, want %d", r.res.Expired, c.old)
				}
				if r.badText() != c.badText {
					t.Errorf("bad lines:\n%s\nwant:\n%s", r.badText(), c.badText)
				}
				if n := rowsWhere(t, s.DB, c.table, "ils_id IS NOT NULL"); n != c.ins {
					t.Errorf("%s rows: %d, want %d", c.table, n, c.ins)
				}
				// The good lines as JSON Lines change nothing.
				before := snapshots(t, s.DB)
				again := runImport(t, s, c.kind, ilsimport.FormatJSONL, csvToJSONL(t, c.csv))
				if again.err != nil || again.res.Inserted != 0 || again.res.Updated != 0 || again.res.Unchanged != c.ins {
					t.Errorf("JSON Lines again: %s\n%s", again.res.Summary(), again.badText())
				}
				sameTables(t, "JSON Lines again", before, snapshots(t, s.DB))
			})
		}
		var f models.Fine
		s.DB.Where("ils_id = ?", "F1").Take(&f)
		if f.AmountCents != 150 {
			t.Errorf("1.5 is %d cents, want 150", f.AmountCents)
		}
		var f2 models.Fine
		s.DB.Where("ils_id = ?", "F2").Take(&f2)
		if f2.AmountCents != 2500 {
			t.Errorf("25.000000 is %d cents, want 2500", f2.AmountCents)
		}
		var q models.ReferenceQuestion
		s.DB.Where("ils_id = ?", "R1").Take(&q)
		if q.Question != "Do you hold\nlocal maps?" || q.AnsweredAt == nil {
			t.Errorf("reference question: %+v", q)
		}
	})
}

func TestImportRefusesAFileWithoutItsColumns(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		importPatrons(t, s)
		for _, c := range []struct{ name, body, want string }{
			{"empty", "", "the file is empty"},
			{"missing columns", "ils_id,patron_ils_id,title\nL1,p1,Kindred\n", "lacks the required columns checked_out_at, due_at"},
			{"a column twice", "ils_id,ils_id\n", "names the column ils_id twice"},
		} {
			r := runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, c.body)
			var fe *ilsimport.FileError
			if !errors.As(r.err, &fe) || !strings.Contains(fe.Msg, c.want) {
				t.Errorf("%s: err %v, want %q", c.name, r.err, c.want)
			}
		}
		r := runImport(t, s, ilsimport.Loans, ilsimport.FormatJSONL, "{\"ils_id\": \"L1\"\n[1, 2]\n{\"ils_id\": {\"a\": 1}}\n")
		want := "line 1: not a JSON object\nline 2: not a JSON object\nline 3: ils_id: not a plain value (a string, number or null)"
		if r.err != nil || r.badText() != want {
			t.Errorf("JSON Lines: err %v, bad lines:\n%s\nwant:\n%s", r.err, r.badText(), want)
		}
		if n := rowsWhere(t, s.DB, "loans", "1 = 1"); n != 0 {
			t.Errorf("%d loans stored from bad files", n)
		}
	})
}

// TestImportConcurrentHistoryOff checks that a patron turning reading
// history off while a returned loan is imported ends with no history,
// whichever goes first.
func TestImportDoesNotKeepHistoryAfterItIsTurnedOff(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		ps := importPatrons(t, s)
		ada := ps["p1"]
		setHistory(t, s, ada.ID, true)
		wantCounts(t, "loans", runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, loansCSV), counts{3, 3, 0, 0, 0})
		returned := strings.Replace(loansCSV, "0,Central,\n", "0,Central,2026-04-06\n", 1)
		done := make(chan importRun)
		go func() { done <- runImport(t, s, ilsimport.Loans, ilsimport.FormatCSV, returned) }()
		setHistory(t, s, ada.ID, false)
		if r := <-done; r.err != nil {
			t.Fatal(r.err)
		}
		if n := rowsWhere(t, s.DB, "reading_history", "patron_id = ?", ada.ID); n != 0 {
			t.Errorf("%d history entries kept for a patron who turned history off", n)
		}
	})
}

// TestImportDocsExamples imports every example file of docs/import.md, in
// order, and checks that the documentation names every column.
func TestImportDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/import.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := map[ilsimport.Kind]string{
		ilsimport.Patrons: "patrons.csv", ilsimport.Loans: "loans.csv", ilsimport.Holds: "holds.csv",
		ilsimport.Fines: "fines.csv", ilsimport.ILL: "ill.jsonl", ilsimport.Reference: "reference.jsonl",
		ilsimport.ComputerSessions: "computer-sessions.csv",
	}
	for _, kind := range ilsimport.Kinds() {
		if !strings.Contains(string(doc), "### "+string(kind)+" ([example](examples/"+examples[kind]+"))") {
			t.Errorf("docs/import.md has no section for %s with its example", kind)
		}
		cols, _ := ilsimport.Columns(kind)
		for _, c := range cols {
			want := "| " + c.Name + " |"
			if c.Required {
				want = "| **" + c.Name + "** |"
			}
			if !strings.Contains(string(doc), want) {
				t.Errorf("docs/import.md does not document %s's column %s as %q", kind, c.Name, want)
			}
		}
	}
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		la, _ := time.LoadLocation("America/Los_Angeles")
		for _, kind := range ilsimport.Kinds() {
			body, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", examples[kind]))
			if err != nil {
				t.Fatal(err)
			}
			format := ilsimport.FormatCSV
			if strings.HasSuffix(examples[kind], ".jsonl") {
				format = ilsimport.FormatJSONL
			}
			r := runImport(t, s, kind, format, string(body), func(o *ilsimport.Options) { o.Location = la })
			if r.err != nil || r.res.Bad != 0 || r.res.Expired != 0 || r.res.Inserted == 0 || len(r.res.Notes) != 0 {
				t.Errorf("%s: err %v, %s, notes %q\n%s", examples[kind], r.err, r.res.Summary(), r.res.Notes, r.badText())
			}
		}
		if _, err := s.AuthenticatePatron(t.Context(), "21000000010422", "7391"); err != nil {
			t.Errorf("the example patron with a PIN cannot sign in: %v", err)
		}
	})
}

func TestImportsTakeTurnsOnPostgres(t *testing.T) {
	eachDB(t, func(t *testing.T, s *models.Store, _ *modeltest.FakeClock) {
		if models.DialectOfDB(s.DB) != models.Postgres {
			t.Skip("SQLite has one writer at a time anyway")
		}
		sqlDB, _ := s.DB.DB()
		conn, err := sqlDB.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(t.Context(), "SELECT pg_advisory_lock(727476)"); err != nil {
			t.Fatal(err)
		}
		if r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV); !errors.Is(r.err, ilsimport.ErrBusy) || r.res.Read != 0 {
			t.Fatalf("an import while another runs: %v, %d rows read", r.err, r.res.Read)
		}
		if r := runImport(t, s, ilsimport.Patrons, ilsimport.FormatCSV, patronsCSV, func(o *ilsimport.Options) { o.DryRun = true }); r.err != nil {
			t.Fatalf("a dry run needs no turn: %v", r.err)
		}
		conn.ExecContext(t.Context(), "SELECT pg_advisory_unlock(727476)")
		importPatrons(t, s)
	})
}
