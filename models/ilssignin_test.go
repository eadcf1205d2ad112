package models_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// testILS is a library system for the sign-in tests: it knows some cards
// and their PINs, and can be taken down. It stands for the protocol
// clients (their own fakes speak SIP2 and Koha's API); here only what a
// PatronProvider promises matters.
type testILS struct {
	name string
	mu   sync.Mutex
	// cards maps a card number as typed to its PIN and what the ILS says
	// of its patron.
	cards map[string]testILSCard
	// down, when set, is what every call returns.
	down  error
	calls int
}

type testILSCard struct {
	pin    string
	patron models.ILSPatron
}

func newTestILS(name string) *testILS {
	return &testILS{name: name, cards: map[string]testILSCard{}}
}

func (f *testILS) Name() string { return f.name }

func (f *testILS) CheckPatron(_ context.Context, card, pin string) (models.ILSPatron, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down != nil {
		return models.ILSPatron{}, f.down
	}
	c, ok := f.cards[card]
	if !ok || c.pin != pin {
		return models.ILSPatron{}, models.ErrBadCredentials
	}
	return c.patron, nil
}

func (f *testILS) set(card, pin string, p models.ILSPatron) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cards[card] = testILSCard{pin, p}
}

func (f *testILS) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
}

func (f *testILS) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// counts collects the store's anonymous counts.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[name]++
}

func (c *counts) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

func privacy(v int) *int { return &v }

// ilsStore is a store on db whose patrons sign in through ils.
func ilsStore(t *testing.T, db modeltest.DB, clock models.Clock, ils models.PatronProvider) (*models.Store, *counts) {
	t.Helper()
	s := modeltest.NewStore(t, db.Gorm, clock)
	s.PatronAuth = ils
	c := &counts{}
	s.Count = c.count
	return s, c
}

func patronWhere(t *testing.T, db *gorm.DB, where string, args ...any) (models.Patron, bool) {
	t.Helper()
	var p models.Patron
	res := db.WithContext(t.Context()).Where(where, args...).Limit(1).Find(&p)
	if res.Error != nil {
		t.Fatalf("find patron where %s: %v", where, res.Error)
	}
	return p, res.RowsAffected > 0
}

// throttleFailures is the sum of failures counted in signin_throttles.
func throttleFailures(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.WithContext(t.Context()).Raw("SELECT COALESCE(SUM(failures), 0) FROM signin_throttles").Scan(&n).Error; err != nil {
		t.Fatalf("read throttles: %v", err)
	}
	return n
}

func kohaPatron(ilsID, card string) models.ILSPatron {
	return models.ILSPatron{
		ILSID: ilsID, Card: card, GivenName: "Ada", FamilyName: "Lovelace",
		Email: "ada@example.org", Phone: "555-0100", PostalAddress: "12 Analytical Row",
		HomeBranch: "Eastside", CardExpiresOn: time.Date(2029, 5, 31, 0, 0, 0, 0, time.UTC),
		Privacy: privacy(models.KohaPrivacyDefault),
	}
}

func TestILSSignInMakesANewPatron(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := modeltest.NewFakeClock(testTime)

			t.Run("koha: with the ILS's id, details and privacy", func(t *testing.T) {
				ils := newTestILS("koha")
				ils.set("21000000005001", "1234", kohaPatron("k-5001", "21000000005001"))
				s, c := ilsStore(t, db, clock, ils)

				in, err := s.SignInPatron(ctx, "2100 0000 0050 01", "1234")
				if err != nil {
					t.Fatalf("SignInPatron: %v", err)
				}
				if !in.Created || in.Followed != nil {
					t.Errorf("Created %v, Followed %+v; want a new record and nothing followed", in.Created, in.Followed)
				}
				p, ok := patronWhere(t, db.Gorm, "card_number = ?", "21000000005001")
				if !ok {
					t.Fatal("no patron record made")
				}
				if p.ILSID == nil || *p.ILSID != "k-5001" || p.GivenName != "Ada" || p.FamilyName != "Lovelace" ||
					p.Email != "ada@example.org" || p.Phone != "555-0100" || p.PostalAddress != "12 Analytical Row" ||
					p.HomeBranch != "Eastside" || !p.CardExpiresOn.Equal(time.Date(2029, 5, 31, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("record = %+v, want the ILS's id and details", p)
				}
				if p.ReadingHistoryEnabled || p.FavoritesLinked || p.FavoritesNotice != models.NoticeNone ||
					p.BorrowingStatus != models.StatusActive {
					t.Errorf("choices = history %v, favorites %v, notice %q, status %q; want off, off, none, active",
						p.ReadingHistoryEnabled, p.FavoritesLinked, p.FavoritesNotice, p.BorrowingStatus)
				}
				if p.ILSLink != "koha" || p.ILSPrivacy == nil || *p.ILSPrivacy != models.KohaPrivacyDefault {
					t.Errorf("ils_link %q, ils_privacy %v; want koha, 1", p.ILSLink, p.ILSPrivacy)
				}
				if p.PINHash != "" {
					t.Errorf("pin_hash = %q, want none", p.PINHash)
				}
				if p.LastSignInAt == nil || !p.LastSignInAt.Equal(clock.Now()) {
					t.Errorf("last_sign_in_at = %v, want now", p.LastSignInAt)
				}
				if in.Patron.ID != p.ID || in.Patron.LastSignInAt != nil {
					t.Errorf("SignIn.Patron = id %d, last sign-in %v; want the new record, never signed in before", in.Patron.ID, in.Patron.LastSignInAt)
				}
				for _, table := range []string{"subscriptions", "consent_entries", "favorites", "reading_history"} {
					if n := rowsWhere(t, db.Gorm, table, "patron_id = ?", p.ID); n != 0 {
						t.Errorf("%s: %d rows for the new patron, want none", table, n)
					}
				}
				if c.get("ils.koha.attempt") != 1 || c.get("ils.koha.failure") != 0 {
					t.Errorf("counts = %v, want one attempt and no failure", c.m)
				}
				st := s.Connectors.Snapshot()
				if len(st) != 1 || st[0].Name != "koha" || st[0].Attempts != 1 || st[0].Failures != 0 || st[0].LastSuccess.IsZero() {
					t.Errorf("connector status = %+v, want one successful koha call", st)
				}

				// The second sign-in finds the record; the caller sees the
				// first sign-in's time as the last visit.
				first := clock.Now()
				clock.Advance(time.Hour)
				again, err := s.SignInPatron(ctx, "21000000005001", "1234")
				if err != nil {
					t.Fatalf("second SignInPatron: %v", err)
				}
				if again.Created || again.Patron.ID != p.ID || again.Patron.LastSignInAt == nil || !again.Patron.LastSignInAt.Equal(first) {
					t.Errorf("second sign-in: Created %v, id %d, last sign-in %v; want the same record, last seen %v",
						again.Created, again.Patron.ID, again.Patron.LastSignInAt, first)
				}
				if n := rowsWhere(t, db.Gorm, "patrons", "card_number = ?", "21000000005001"); n != 1 {
					t.Errorf("%d records for the card, want 1", n)
				}
			})

			t.Run("sip2: no ILS id, no expiry, no privacy", func(t *testing.T) {
				ils := newTestILS("sip2")
				ils.set("21000000005002", "1234", models.ILSPatron{FamilyName: "Hopper", GivenName: "Grace"})
				s, _ := ilsStore(t, db, clock, ils)
				in, err := s.SignInPatron(ctx, "21000000005002", "1234")
				if err != nil {
					t.Fatalf("SignInPatron: %v", err)
				}
				p := in.Patron
				if !in.Created || p.ILSID != nil || p.ILSLink != "sip2" || p.ILSPrivacy != nil || p.CardNumber != "21000000005002" {
					t.Errorf("record = %+v, want a sip2 record without ILS id or privacy", p)
				}
				if want := clock.Now().AddDate(models.ILSExpiryUnknown, 0, 0); !p.CardExpiresOn.Equal(want) {
					t.Errorf("card expires %v, want %v (a year from now)", p.CardExpiresOn, want)
				}
			})
		})
	}
}

func TestILSSignInRefreshesAKnownPatron(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := modeltest.NewFakeClock(testTime)

			t.Run("by card number, empty details kept", func(t *testing.T) {
				ils := newTestILS("sip2")
				s, _ := ilsStore(t, db, clock, ils)
				old := createPatron(t, s, "21000000005101", knownPIN)
				ils.set("21000000005101", "9999", models.ILSPatron{
					GivenName: "Tess", FamilyName: "Patron", Email: "new@example.org", Phone: "555-0199",
				})
				in, err := s.SignInPatron(ctx, "21000000005101", "9999")
				if err != nil {
					t.Fatalf("SignInPatron: %v", err)
				}
				p, _ := patronWhere(t, db.Gorm, "id = ?", old.ID)
				if in.Created || in.Patron.ID != old.ID {
					t.Fatalf("Created %v, id %d; want the known patron %d", in.Created, in.Patron.ID, old.ID)
				}
				if p.Email != "new@example.org" || p.Phone != "555-0199" || p.GivenName != "Tess" {
					t.Errorf("details = %q %q %q, want the ILS's", p.GivenName, p.Email, p.Phone)
				}
				if p.PostalAddress != old.PostalAddress || p.HomeBranch != old.HomeBranch || !p.CardExpiresOn.Equal(old.CardExpiresOn) {
					t.Errorf("details the ILS left empty changed: %q %q %v", p.PostalAddress, p.HomeBranch, p.CardExpiresOn)
				}
				if p.ILSLink != "sip2" || p.ReadingHistoryEnabled != old.ReadingHistoryEnabled {
					t.Errorf("ils_link %q, history %v; want sip2 and the patron's own choice kept", p.ILSLink, p.ReadingHistoryEnabled)
				}
				if in.Patron.Email != "new@example.org" {
					t.Errorf("SignIn.Patron.Email = %q, want the refreshed one", in.Patron.Email)
				}
			})

			t.Run("by ILS id: a replaced card is followed unless another holds it", func(t *testing.T) {
				ils := newTestILS("koha")
				s, _ := ilsStore(t, db, clock, ils)
				p := createPatron(t, s, "21000000005201", knownPIN)
				other := createPatron(t, s, "21000000005299", knownPIN)
				setILSID(t, db.Gorm, p.ID, "k-5201")
				ils.set("21000000005202", "1234", kohaPatron("k-5201", "21000000005202"))
				if _, err := s.SignInPatron(ctx, "21000000005202", "1234"); err != nil {
					t.Fatalf("SignInPatron: %v", err)
				}
				got, _ := patronWhere(t, db.Gorm, "id = ?", p.ID)
				if got.CardNumber != "21000000005202" || got.Email != "ada@example.org" {
					t.Errorf("card %q, email %q; want the new card and the ILS's email", got.CardNumber, got.Email)
				}
				// The ILS now gives a card another record holds.
				ils.set("21000000005299", "1234", kohaPatron("k-5201", "21000000005299"))
				if _, err := s.SignInPatron(ctx, "21000000005299", "1234"); err != nil {
					t.Fatalf("SignInPatron with a card another holds: %v", err)
				}
				got, _ = patronWhere(t, db.Gorm, "id = ?", p.ID)
				if got.CardNumber != "21000000005202" {
					t.Errorf("card = %q, want it left as it was", got.CardNumber)
				}
				if o, _ := patronWhere(t, db.Gorm, "id = ?", other.ID); o.CardNumber != "21000000005299" || o.ILSID != nil {
					t.Errorf("the other record changed: %+v", o)
				}
			})

			t.Run("by ILS id: a record a SIP2 sign-in made is adopted", func(t *testing.T) {
				sip := newTestILS("sip2")
				sip.set("21000000005301", "1234", models.ILSPatron{FamilyName: "Byron"})
				s, _ := ilsStore(t, db, clock, sip)
				made, err := s.SignInPatron(ctx, "21000000005301", "1234")
				if err != nil {
					t.Fatalf("sip2 SignInPatron: %v", err)
				}
				koha := newTestILS("koha")
				koha.set("21000000005301", "1234", kohaPatron("k-5301", "21000000005301"))
				s.PatronAuth = koha
				in, err := s.SignInPatron(ctx, "21000000005301", "1234")
				if err != nil {
					t.Fatalf("koha SignInPatron: %v", err)
				}
				if in.Created || in.Patron.ID != made.Patron.ID || in.Patron.ILSID == nil || *in.Patron.ILSID != "k-5301" {
					t.Errorf("Created %v, id %d (want %d), ils_id %v; want the SIP2 record given the ILS id",
						in.Created, in.Patron.ID, made.Patron.ID, in.Patron.ILSID)
				}
				if in.Patron.ILSLink != "sip2" {
					t.Errorf("ils_link = %q, want sip2, the connector that made the record", in.Patron.ILSLink)
				}
			})
		})
	}
}

// setILSID gives a patron an ILS id, as an import would.
func setILSID(t *testing.T, db *gorm.DB, patronID int64, ilsID string) {
	t.Helper()
	if err := db.WithContext(t.Context()).Model(&models.Patron{}).Where("id = ?", patronID).
		UpdateColumn("ils_id", ilsID).Error; err != nil {
		t.Fatalf("set ils_id: %v", err)
	}
}

func TestILSRefusalsLockTheCardBeforeTheILSIsAsked(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := modeltest.NewFakeClock(testTime)
			ils := newTestILS("koha")
			ils.set("21000000005401", "1234", kohaPatron("k-5401", "21000000005401"))
			s, c := ilsStore(t, db, clock, ils)

			for i := 1; i <= 4; i++ {
				if _, err := s.SignInPatron(ctx, "21000000005401", "0000"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("refusal %d: %v, want ErrBadCredentials", i, err)
				}
			}
			_, err := s.SignInPatron(ctx, "21000000005401", "0000")
			var le *models.LockedError
			if !errors.As(err, &le) || !le.Until.Equal(testTime.Add(15*time.Minute)) {
				t.Fatalf("fifth refusal: %v, want locked for 15 minutes", err)
			}
			if n := ils.callCount(); n != 5 {
				t.Fatalf("ILS asked %d times, want 5", n)
			}
			// Locked: neither the right PIN nor more guesses reach the ILS.
			for range 3 {
				if _, err := s.SignInPatron(ctx, "21000000005401", "1234"); !errors.As(err, &le) {
					t.Fatalf("right PIN on a locked card: %v, want locked", err)
				}
			}
			if n := ils.callCount(); n != 5 {
				t.Errorf("ILS asked %d times after the lock, want still 5", n)
			}
			if n := rowsWhere(t, db.Gorm, "patrons", "1 = 1"); n != 0 {
				t.Errorf("%d patron records after refusals, want none", n)
			}
			if c.get("ils.koha.attempt") != 5 || c.get("ils.koha.failure") != 0 {
				t.Errorf("counts = %v, want 5 attempts and no connector failure (a refusal is an answer)", c.m)
			}
			// Once the lock ends the right PIN signs in.
			clock.Advance(15*time.Minute + time.Second)
			if _, err := s.SignInPatron(ctx, "21000000005401", "1234"); err != nil {
				t.Fatalf("after the lock: %v", err)
			}
		})
	}
}

func TestILSOutageWritesNothingAndLocksNothing(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := modeltest.NewFakeClock(testTime)
			const card, pin = "21000000005501", "1234"
			ils := newTestILS("sip2")
			ils.set(card, pin, models.ILSPatron{FamilyName: "Outage"})
			s, c := ilsStore(t, db, clock, ils)

			// Two refusals, then outages: the outages neither add up nor
			// undo the refusals.
			for range 2 {
				if _, err := s.SignInPatron(ctx, card, "0000"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("refusal: %v", err)
				}
			}
			outages := []error{
				&models.ILSUnavailableError{Connector: "sip2", Err: context.DeadlineExceeded},
				// A provider's plain error is an outage too, and the card
				// and PIN it may carry never reach the connector's status.
				fmt.Errorf("garbled answer to card %s pin %s", card, pin),
				// Nor does the address of a request, which may name a patron.
				&models.ILSUnavailableError{Connector: "sip2", Err: &url.Error{Op: "Get",
					URL: "https://ils.example.org/patrons/" + card, Err: errors.New("HTTP 502")}},
			}
			for i := range 10 {
				ils.setDown(outages[i%len(outages)])
				_, err := s.SignInPatron(ctx, card, pin)
				var ue *models.ILSUnavailableError
				if !errors.As(err, &ue) || !errors.Is(err, models.ErrILSUnavailable) || ue.Connector != "sip2" {
					t.Fatalf("outage %d: %v, want an *ILSUnavailableError of sip2", i+1, err)
				}
				txt := s.Connectors.Snapshot()[0].LastErrorText
				if txt == "" || strings.Contains(txt, card) || strings.Contains(txt, pin) || strings.Contains(txt, "example.org") {
					t.Errorf("outage %d: connector error text %q is empty or holds the card, PIN or address", i+1, txt)
				}
			}
			if n := throttleFailures(t, db.Gorm); n != 2 {
				t.Errorf("failures counted = %d after 2 refusals and 10 outages, want 2", n)
			}
			if n := rowsWhere(t, db.Gorm, "patrons", "1 = 1"); n != 0 {
				t.Errorf("%d patron records during the outage, want none", n)
			}
			if c.get("ils.sip2.attempt") != 12 || c.get("ils.sip2.failure") != 10 {
				t.Errorf("counts = %v, want 12 attempts and 10 failures", c.m)
			}
			st := s.Connectors.Snapshot()
			if len(st) != 1 || st[0].Failures != 10 || st[0].LastError.IsZero() || st[0].LastErrorText == "" {
				t.Fatalf("connector status = %+v, want 10 failures and the last error", st)
			}

			// Back up: the right PIN signs in, and the count is cleared.
			ils.setDown(nil)
			in, err := s.SignInPatron(ctx, card, pin)
			if err != nil || !in.Created {
				t.Fatalf("after the outage: %v (created %v)", err, in.Created)
			}
			if n := throttleFailures(t, db.Gorm); n != 0 {
				t.Errorf("failures counted = %d after signing in, want 0", n)
			}
		})
	}
}

func TestILSSignInNeverUsesTheLocalPIN(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ils := newTestILS("koha")
			s, _ := ilsStore(t, db, modeltest.NewFakeClock(testTime), ils)
			p := createPatron(t, s, "21000000005601", knownPIN) // the demo's way: a PIN hash of the portal's own
			ils.set("21000000005601", "7777", kohaPatron("k-5601", "21000000005601"))

			if _, err := s.SignInPatron(ctx, "21000000005601", knownPIN); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("SignInPatron with the portal's PIN: %v, want ErrBadCredentials", err)
			}
			if _, err := s.AuthenticatePatron(ctx, "21000000005601", knownPIN); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("AuthenticatePatron with the portal's PIN: %v, want ErrBadCredentials", err)
			}
			if ils.callCount() != 2 {
				t.Errorf("ILS asked %d times, want 2", ils.callCount())
			}
			got, err := s.AuthenticatePatron(ctx, "21000000005601", "7777")
			if err != nil || got.ID != p.ID {
				t.Fatalf("AuthenticatePatron with the ILS's PIN: %v (id %d), want the patron %d", err, got.ID, p.ID)
			}
			// The record had no ILS id: found by its card, it is given one.
			if rec, _ := patronWhere(t, db.Gorm, "id = ?", p.ID); rec.ILSID == nil || *rec.ILSID != "k-5601" || rec.ILSLink != "koha" {
				t.Errorf("ils_id %v, ils_link %q; want k-5601, koha", rec.ILSID, rec.ILSLink)
			}
		})
	}
}

// addHistory adds n reading-history entries to a patron.
func addHistory(t *testing.T, db *gorm.DB, patronID int64, n int) {
	t.Helper()
	for i := range n {
		e := models.HistoryEntry{PatronID: patronID, Title: fmt.Sprintf("Book %d", i),
			CheckedOutAt: testTime.AddDate(0, -2, 0), ReturnedAt: testTime.AddDate(0, -1, 0)}
		if err := db.WithContext(t.Context()).Create(&e).Error; err != nil {
			t.Fatalf("add history: %v", err)
		}
	}
}

// pendingKohaWrite stores a consent change of the patron's on its way to
// Koha, as the outbox holds it until Koha has it.
func pendingKohaWrite(t *testing.T, db *gorm.DB, patronID int64, status string) {
	t.Helper()
	e := models.ConsentEntry{PatronID: patronID, Subject: models.ConsentReadingHistory, OldValue: "off", NewValue: "on",
		Actor: models.ActorPatron, Channel: "web", CreatedAt: testTime}
	if err := db.WithContext(t.Context()).Create(&e).Error; err != nil {
		t.Fatalf("ledger entry: %v", err)
	}
	row := models.OutboxRow{PatronID: patronID, ConsentID: e.ID, Target: models.TargetKoha, Status: status,
		NextAttemptAt: testTime, CreatedAt: testTime}
	if err := db.WithContext(t.Context()).Create(&row).Error; err != nil {
		t.Fatalf("outbox row: %v", err)
	}
}

func TestILSSignInFollowsKohaPrivacy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		historyOn   bool
		stored      *int // ils_privacy before
		koha        int  // what Koha says now
		outbox      string
		want        *models.ILSFollow
		wantOn      bool
		wantStored  *int
		wantEntries int64 // reading-history entries left of 3
	}{
		{name: "turned to never keep in the catalog: history off and erased", historyOn: true,
			stored: privacy(0), koha: 2,
			want:   &models.ILSFollow{Subject: models.ConsentReadingHistory, NewValue: "off", Erased: 3},
			wantOn: false, wantStored: privacy(2), wantEntries: 0},
		{name: "turned to keep in the catalog: history on", historyOn: false,
			stored: privacy(2), koha: 0,
			want:   &models.ILSFollow{Subject: models.ConsentReadingHistory, NewValue: "on"},
			wantOn: true, wantStored: privacy(0), wantEntries: 3},
		{name: "unchanged in the catalog: nothing", historyOn: true,
			stored: privacy(2), koha: 2, wantOn: true, wantStored: privacy(2), wantEntries: 3},
		{name: "a write of ours still on its way to Koha: not followed, not taken as seen", historyOn: true,
			stored: privacy(0), koha: 2, outbox: models.OutboxPending, wantOn: true, wantStored: privacy(0), wantEntries: 3},
		{name: "a write of ours that Koha has: followed", historyOn: true,
			stored: privacy(0), koha: 2, outbox: models.OutboxSent,
			want:   &models.ILSFollow{Subject: models.ConsentReadingHistory, NewValue: "off", Erased: 3},
			wantOn: false, wantStored: privacy(2), wantEntries: 0},
		{name: "the library's default is no choice: nothing but the value seen", historyOn: true,
			stored: privacy(0), koha: 1, wantOn: true, wantStored: privacy(1), wantEntries: 3},
		{name: "never seen before: the value is stored, not followed", historyOn: true,
			stored: nil, koha: 2, wantOn: true, wantStored: privacy(2), wantEntries: 3},
		{name: "changed in the catalog to what the portal already has: no entry", historyOn: false,
			stored: privacy(0), koha: 2, wantOn: false, wantStored: privacy(2), wantEntries: 3},
	}
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := t.Context()
					card := fmt.Sprintf("210000000057%02d", i)
					ils := newTestILS("koha")
					s, c := ilsStore(t, db, modeltest.NewFakeClock(testTime), ils)
					p := createPatron(t, s, card, knownPIN)
					ilsID := "k-" + card
					setILSID(t, db.Gorm, p.ID, ilsID)
					if err := db.Gorm.WithContext(ctx).Model(&models.Patron{}).Where("id = ?", p.ID).
						UpdateColumns(map[string]any{"reading_history_enabled": tc.historyOn, "ils_privacy": tc.stored, "ils_link": "koha"}).Error; err != nil {
						t.Fatal(err)
					}
					addHistory(t, db.Gorm, p.ID, 3)
					if tc.outbox != "" {
						pendingKohaWrite(t, db.Gorm, p.ID, tc.outbox)
					}
					entriesBefore := rowsWhere(t, db.Gorm, "consent_entries", "patron_id = ?", p.ID)
					ip := kohaPatron(ilsID, card)
					ip.Privacy = privacy(tc.koha)
					ils.set(card, "1234", ip)

					in, err := s.SignInPatron(ctx, card, "1234")
					if err != nil {
						t.Fatalf("SignInPatron: %v", err)
					}
					switch {
					case tc.want == nil && in.Followed != nil:
						t.Errorf("Followed = %+v, want nothing", *in.Followed)
					case tc.want != nil && (in.Followed == nil || *in.Followed != *tc.want):
						t.Errorf("Followed = %+v, want %+v", in.Followed, *tc.want)
					}
					got, _ := patronWhere(t, db.Gorm, "id = ?", p.ID)
					if got.ReadingHistoryEnabled != tc.wantOn || in.Patron.ReadingHistoryEnabled != tc.wantOn {
						t.Errorf("history on = %v (SignIn says %v), want %v", got.ReadingHistoryEnabled, in.Patron.ReadingHistoryEnabled, tc.wantOn)
					}
					if (got.ILSPrivacy == nil) != (tc.wantStored == nil) || (got.ILSPrivacy != nil && *got.ILSPrivacy != *tc.wantStored) {
						t.Errorf("ils_privacy = %v, want %v", deref(got.ILSPrivacy), deref(tc.wantStored))
					}
					if n := rowsWhere(t, db.Gorm, "reading_history", "patron_id = ?", p.ID); n != tc.wantEntries {
						t.Errorf("%d history entries, want %d", n, tc.wantEntries)
					}
					var entries []models.ConsentEntry
					if err := db.Gorm.WithContext(ctx).Where("patron_id = ? AND channel = ?", p.ID, models.ChannelILS).Find(&entries).Error; err != nil {
						t.Fatal(err)
					}
					if tc.want == nil {
						if len(entries) != 0 || rowsWhere(t, db.Gorm, "consent_entries", "patron_id = ?", p.ID) != entriesBefore {
							t.Errorf("ledger entries written: %+v, want none", entries)
						}
						if n := c.get("consent.reading_history.on") + c.get("consent.reading_history.off"); n != 0 {
							t.Errorf("consent counted %d times, want 0", n)
						}
						return
					}
					if len(entries) != 1 || entries[0].Subject != models.ConsentReadingHistory ||
						entries[0].NewValue != tc.want.NewValue || entries[0].OldValue != map[string]string{"on": "off", "off": "on"}[tc.want.NewValue] ||
						entries[0].Actor != models.ActorPatron || entries[0].StaffID != nil || entries[0].TextVersion != "" {
						t.Errorf("ledger = %+v, want one entry of the patron's through the catalog, to %s", entries, tc.want.NewValue)
					}
					if n := c.get("consent.reading_history." + tc.want.NewValue); n != 1 {
						t.Errorf("consent.reading_history.%s counted %d times, want 1", tc.want.NewValue, n)
					}
				})
			}
		})
	}
}

func deref(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func TestILSSignInIsAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			clock := modeltest.NewFakeClock(testTime)

			t.Run("a new record that cannot be stored", func(t *testing.T) {
				ils := newTestILS("koha")
				s, _ := ilsStore(t, db, clock, ils)
				// The card the ILS gives is held by a record of another ILS id.
				holder := createPatron(t, s, "21000000005801", knownPIN)
				setILSID(t, db.Gorm, holder.ID, "k-other")
				ils.set("21000000005801", "1234", kohaPatron("k-5801", "21000000005801"))
				if _, err := s.SignInPatron(ctx, "21000000005801", "0000"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("refusal: %v", err)
				}
				patrons := rowsWhere(t, db.Gorm, "patrons", "1 = 1")
				failures := throttleFailures(t, db.Gorm)
				_, err := s.SignInPatron(ctx, "21000000005801", "1234")
				if err == nil || errors.Is(err, models.ErrBadCredentials) || errors.Is(err, models.ErrILSUnavailable) {
					t.Fatalf("SignInPatron: %v, want a failure to record the sign-in", err)
				}
				if strings.Contains(err.Error(), "21000000005801") {
					t.Errorf("error %q names the card", err)
				}
				if n := rowsWhere(t, db.Gorm, "patrons", "1 = 1"); n != patrons {
					t.Errorf("%d patron records, want %d", n, patrons)
				}
				if got, _ := patronWhere(t, db.Gorm, "id = ?", holder.ID); got.Email != holder.Email || got.LastSignInAt != nil || got.ILSLink != "" {
					t.Errorf("the holder's record changed: %+v", got)
				}
				// The throttle is as the refusal left it: not cleared by the
				// half of a sign-in, and this attempt not counted.
				if n := throttleFailures(t, db.Gorm); n != failures {
					t.Errorf("failures counted = %d, want the %d before the sign-in", n, failures)
				}
			})

			t.Run("the last statement fails", func(t *testing.T) {
				ils := newTestILS("koha")
				s, _ := ilsStore(t, db, clock, ils)
				p := createPatron(t, s, "21000000005901", knownPIN)
				setILSID(t, db.Gorm, p.ID, "k-5901")
				if err := db.Gorm.WithContext(ctx).Model(&models.Patron{}).Where("id = ?", p.ID).
					UpdateColumns(map[string]any{"ils_privacy": 0, "ils_link": "koha"}).Error; err != nil {
					t.Fatal(err)
				}
				addHistory(t, db.Gorm, p.ID, 2)
				ip := kohaPatron("k-5901", "21000000005902") // a new card, new details, privacy 2
				ip.Privacy = privacy(2)
				ils.set("21000000005902", "1234", ip)
				if _, err := s.SignInPatron(ctx, "21000000005902", "0000"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("refusal: %v", err)
				}
				failLastSignIn(t, db, p.ID)
				failures := throttleFailures(t, db.Gorm)

				if _, err := s.SignInPatron(ctx, "21000000005902", "1234"); err == nil {
					t.Fatal("SignInPatron succeeded with the sign-in time failing to be written")
				}
				got, _ := patronWhere(t, db.Gorm, "id = ?", p.ID)
				if got.CardNumber != p.CardNumber || got.Email != p.Email || got.GivenName != p.GivenName ||
					!got.ReadingHistoryEnabled || got.ILSPrivacy == nil || *got.ILSPrivacy != 0 || got.LastSignInAt != nil {
					t.Errorf("record half-written: %+v", got)
				}
				if n := rowsWhere(t, db.Gorm, "reading_history", "patron_id = ?", p.ID); n != 2 {
					t.Errorf("%d history entries, want the 2 kept", n)
				}
				if n := rowsWhere(t, db.Gorm, "consent_entries", "patron_id = ?", p.ID); n != 0 {
					t.Errorf("%d ledger entries, want none", n)
				}
				if n := throttleFailures(t, db.Gorm); n != failures {
					t.Errorf("failures counted = %d, want the %d before the sign-in", n, failures)
				}

				// Without the fault the same sign-in writes all of it.
				dropFailLastSignIn(t, db)
				in, err := s.SignInPatron(ctx, "21000000005902", "1234")
				if err != nil {
					t.Fatalf("SignInPatron without the fault: %v", err)
				}
				got, _ = patronWhere(t, db.Gorm, "id = ?", p.ID)
				if in.Followed == nil || got.CardNumber != "21000000005902" || got.Email != "ada@example.org" ||
					got.ReadingHistoryEnabled || got.LastSignInAt == nil ||
					rowsWhere(t, db.Gorm, "reading_history", "patron_id = ?", p.ID) != 0 ||
					rowsWhere(t, db.Gorm, "consent_entries", "patron_id = ?", p.ID) != 1 {
					t.Errorf("without the fault: followed %+v, record %+v; want all of it written", in.Followed, got)
				}
			})
		})
	}
}

func dropFailLastSignIn(t *testing.T, db modeltest.DB) {
	t.Helper()
	q := "DROP TRIGGER test_fail_sign_in"
	if db.Name == string(models.Postgres) {
		q += " ON patrons"
	}
	if err := db.Gorm.WithContext(t.Context()).Exec(q).Error; err != nil {
		t.Fatalf("drop failing trigger: %v", err)
	}
}

// failLastSignIn makes every write of a patron's last_sign_in_at fail, as
// a database refusing the last statement of a sign-in would.
func failLastSignIn(t *testing.T, db modeltest.DB, patronID int64) {
	t.Helper()
	var stmts []string
	if db.Name == string(models.Postgres) {
		stmts = []string{
			`CREATE FUNCTION test_fail_sign_in() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'forced failure'; END $$`,
			fmt.Sprintf(`CREATE TRIGGER test_fail_sign_in BEFORE UPDATE OF last_sign_in_at ON patrons
				FOR EACH ROW WHEN (NEW.id = %d) EXECUTE FUNCTION test_fail_sign_in()`, patronID),
		}
	} else {
		stmts = []string{fmt.Sprintf(`CREATE TRIGGER test_fail_sign_in BEFORE UPDATE OF last_sign_in_at ON patrons
			WHEN NEW.id = %d BEGIN SELECT RAISE(ABORT, 'forced failure'); END`, patronID)}
	}
	for _, q := range stmts {
		if err := db.Gorm.WithContext(t.Context()).Exec(q).Error; err != nil {
			t.Fatalf("create failing trigger: %v", err)
		}
	}
}

func TestILSFirstSignInTwiceAtOnceMakesOneRecord(t *testing.T) {
	t.Parallel()
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ils := newTestILS("koha")
			s, _ := ilsStore(t, db, modeltest.NewFakeClock(testTime), ils)
			ils.set("21000000006001", "1234", kohaPatron("k-6001", "21000000006001"))
			const n = 4
			var (
				wg      sync.WaitGroup
				results [n]models.SignIn
				errs    [n]error
			)
			for i := range n {
				wg.Go(func() { results[i], errs[i] = s.SignInPatron(t.Context(), "21000000006001", "1234") })
			}
			wg.Wait()
			created := 0
			for i := range n {
				if errs[i] != nil {
					t.Errorf("sign-in %d: %v", i, errs[i])
				}
				if results[i].Created {
					created++
				}
			}
			if created != 1 {
				t.Errorf("%d sign-ins say they made the record, want 1", created)
			}
			if c := rowsWhere(t, db.Gorm, "patrons", "ils_id = ?", "k-6001"); c != 1 {
				t.Errorf("%d records, want 1", c)
			}
		})
	}
}
