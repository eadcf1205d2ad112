package models_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

const (
	hookA = models.TargetWebhookPrefix + "https://hooks.example.org/carrel"
	hookB = models.TargetWebhookPrefix + "http://127.0.0.1:9/mailer"
)

// outboxFixture is a store that writes the outbox for Koha and two
// webhooks, with a patron the ILS knows and one it does not.
type outboxFixture struct {
	s            *models.Store
	clock        *modeltest.FakeClock
	linked, bare models.Patron
}

func newOutboxFixture(t *testing.T, db modeltest.DB) *outboxFixture {
	t.Helper()
	clock := modeltest.NewFakeClock(testTime)
	s := modeltest.NewStore(t, db.Gorm, clock)
	s.ConsentTargets = []string{models.TargetKoha, hookA, hookB}
	f := &outboxFixture{s: s, clock: clock}
	f.linked = createPatron(t, s, "21000000000201", "1234")
	if err := s.DB.Model(&models.Patron{}).Where("id = ?", f.linked.ID).UpdateColumn("ils_id", "4711").Error; err != nil {
		t.Fatal(err)
	}
	f.bare = createPatron(t, s, "21000000000202", "1234")
	return f
}

func outboxRows(t *testing.T, s *models.Store, patronID int64) []models.OutboxRow {
	t.Helper()
	var rows []models.OutboxRow
	if err := s.DB.Where("patron_id = ?", patronID).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func targetsOf(rows []models.OutboxRow) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Target)
	}
	return out
}

func setHistory(t *testing.T, s *models.Store, patronID int64, on bool, a models.Actor) {
	t.Helper()
	if _, changed, err := s.SetReadingHistory(t.Context(), patronID, on, a); err != nil || !changed {
		t.Fatalf("SetReadingHistory(%v): changed %v, %v", on, changed, err)
	}
}

func TestConsentChangesWriteOutboxRows(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			ctx := t.Context()
			web := models.Actor{Channel: models.ChannelWeb}

			// Reading history off on the web: Koha and both webhooks.
			setHistory(t, f.s, f.linked.ID, false, web)
			rows := outboxRows(t, f.s, f.linked.ID)
			if got := strings.Join(targetsOf(rows), " "); got != models.TargetKoha+" "+hookA+" "+hookB {
				t.Fatalf("targets of a reading-history change = %s", got)
			}
			var entry models.ConsentEntry
			if err := f.s.DB.Where("patron_id = ?", f.linked.ID).Order("id DESC").Take(&entry).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				var p models.OutboxPayload
				if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
					t.Fatalf("payload %q: %v", r.Payload, err)
				}
				want := models.OutboxPayload{Card: "21000000000201", ILSID: "4711", Subject: models.ConsentReadingHistory,
					OldValue: "on", NewValue: "off", Actor: models.ActorPatron, Channel: models.ChannelWeb,
					At: entry.CreatedAt.UTC(), ConsentID: entry.ID}
				if !p.At.Equal(want.At) || p.Card != want.Card || p.ILSID != want.ILSID || p.Subject != want.Subject ||
					p.OldValue != want.OldValue || p.NewValue != want.NewValue || p.Actor != want.Actor ||
					p.Channel != want.Channel || p.ConsentID != want.ConsentID {
					t.Errorf("payload = %+v, want %+v", p, want)
				}
				if r.Status != models.OutboxPending || r.ConsentID != entry.ID || !r.NextAttemptAt.Equal(f.s.Now()) {
					t.Errorf("row = %+v, want pending, consent %d, due now", r, entry.ID)
				}
			}

			// Nothing changed: nothing to send.
			if _, changed, err := f.s.SetReadingHistory(ctx, f.linked.ID, false, web); err != nil || changed {
				t.Fatalf("repeat: changed %v, %v", changed, err)
			}
			if n := len(outboxRows(t, f.s, f.linked.ID)); n != 3 {
				t.Errorf("an unchanged choice wrote outbox rows: %d rows", n)
			}

			// A choice followed from the catalog is not echoed back to
			// Koha, but the webhooks hear of it.
			setHistory(t, f.s, f.linked.ID, true, models.Actor{Channel: models.ChannelILS})
			if got := strings.Join(targetsOf(outboxRows(t, f.s, f.linked.ID)[3:]), " "); got != hookA+" "+hookB {
				t.Errorf("targets of a change from the ILS = %s", got)
			}

			// A patron without an ILS id: webhooks only.
			setHistory(t, f.s, f.bare.ID, false, web)
			if got := strings.Join(targetsOf(outboxRows(t, f.s, f.bare.ID)), " "); got != hookA+" "+hookB {
				t.Errorf("targets for a patron without ILS id = %s", got)
			}

			// Other subjects, staff included: webhooks only, and the
			// payload carries no favorite.
			staff := int64(7)
			if _, err := f.s.LinkFavorites(ctx, f.bare.ID, models.Actor{Channel: models.ChannelStaffAssisted, StaffID: &staff, Reason: "at the desk"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.s.AddFavorite(ctx, f.bare.ID, "author", "Le Guin, Ursula K.", web); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.SetFavoritesNotice(ctx, f.bare.ID, models.NoticeWeekly, web); err != nil {
				t.Fatal(err)
			}
			list := models.MailingList{Slug: "events", Name: "Events", Description: "d", Frequency: "f", Sender: "s", ConsentText: "consent text", ConsentVersion: 1}
			if err := f.s.DB.Create(&list).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.Subscribe(ctx, f.bare.ID, "events", web); err != nil {
				t.Fatal(err)
			}
			rows = outboxRows(t, f.s, f.bare.ID)[2:]
			if len(rows) != 6 {
				t.Fatalf("favorites link, notice and subscribe wrote %d rows, want 6: %v", len(rows), targetsOf(rows))
			}
			subjects := map[string]string{}
			for _, r := range rows {
				if r.Target == models.TargetKoha {
					t.Errorf("a %s change went to Koha", r.Payload)
				}
				if strings.Contains(r.Payload, "Le Guin") || strings.Contains(r.Payload, "author") {
					t.Errorf("payload names a favorite: %s", r.Payload)
				}
				var p models.OutboxPayload
				if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
					t.Fatal(err)
				}
				subjects[p.Subject] = p.Actor + "/" + p.Channel + "/" + p.NewValue
			}
			want := map[string]string{
				models.ConsentFavoritesLink:         "staff/staff_assisted/on",
				models.ConsentFavoritesNotice:       "patron/web/weekly",
				models.ConsentListPrefix + "events": "patron/web/on",
			}
			for k, v := range want {
				if subjects[k] != v {
					t.Errorf("subject %s: %q, want %q", k, subjects[k], v)
				}
			}

			// A store with no targets writes none.
			f.s.ConsentTargets = nil
			setHistory(t, f.s, f.linked.ID, false, web)
			if n := len(outboxRows(t, f.s, f.linked.ID)); n != 5 {
				t.Errorf("with no targets the outbox grew to %d rows, want 5", n)
			}
		})
	}
}

// dueIDs lists the IDs DueOutbox gives.
func dueIDs(t *testing.T, s *models.Store) []int64 {
	t.Helper()
	due, err := s.DueOutbox(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 0, len(due))
	for _, d := range due {
		ids = append(ids, d.ID)
	}
	return ids
}

func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[int64]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestDueOutboxGivesEachPatronsOldestChangeFirst(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			f.s.ConsentTargets = []string{hookA}
			ctx := t.Context()
			web := models.Actor{Channel: models.ChannelWeb}
			setHistory(t, f.s, f.linked.ID, false, web)
			setHistory(t, f.s, f.linked.ID, true, web)
			setHistory(t, f.s, f.linked.ID, false, web)
			setHistory(t, f.s, f.bare.ID, false, web)
			l := outboxRows(t, f.s, f.linked.ID)
			b := outboxRows(t, f.s, f.bare.ID)
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{l[0].ID, b[0].ID}) {
				t.Fatalf("due = %v, want only each patron's first: %d, %d", got, l[0].ID, b[0].ID)
			}

			// Claimed: not due for anyone else; a second claim fails.
			if ok, err := f.s.ClaimOutbox(ctx, l[0].ID, "one", 2*time.Minute); err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			if ok, _ := f.s.ClaimOutbox(ctx, l[0].ID, "two", 2*time.Minute); ok {
				t.Fatal("a claimed row was claimed again")
			}
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{b[0].ID}) {
				t.Fatalf("due while claimed = %v, want %d alone (the later change waits)", got, b[0].ID)
			}

			// Failed: retried after the backoff, and the later changes
			// still wait behind it.
			if st, err := f.s.FailOutbox(ctx, l[0].ID, "two", "HTTP 500", false); err != nil || st != "" {
				t.Fatalf("FailOutbox by an instance without the claim = %q, %v", st, err)
			}
			if st, err := f.s.FailOutbox(ctx, l[0].ID, "one", "HTTP 500", false); err != nil || st != models.OutboxPending {
				t.Fatalf("FailOutbox = %q, %v", st, err)
			}
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{b[0].ID}) {
				t.Fatalf("due during the backoff = %v, want %d alone", got, b[0].ID)
			}
			f.clock.Advance(models.DigestBackoff(1))
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{l[0].ID, b[0].ID}) {
				t.Fatalf("due after the backoff = %v", got)
			}

			// Sent: the next change of that patron comes up.
			if ok, err := f.s.ClaimOutbox(ctx, l[0].ID, "one", 2*time.Minute); err != nil || !ok {
				t.Fatalf("claim again: %v %v", ok, err)
			}
			if err := f.s.MarkOutboxSent(ctx, l[0].ID, "one"); err != nil {
				t.Fatal(err)
			}
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{l[1].ID, b[0].ID}) {
				t.Fatalf("due after the first was sent = %v, want %d, %d", got, l[1].ID, b[0].ID)
			}
			sent := outboxRows(t, f.s, f.linked.ID)[0]
			if sent.Status != models.OutboxSent || sent.Payload != "" || sent.SentAt == nil || sent.Attempts != 1 || sent.LeaseUntil != nil {
				t.Errorf("sent row = %+v, want sent, payload cleared, sent_at set, one failed try", sent)
			}

			// Given up: the next goes, and the given-up one keeps nothing.
			if ok, _ := f.s.ClaimOutbox(ctx, l[1].ID, "one", 2*time.Minute); !ok {
				t.Fatal("claim of the second")
			}
			if st, err := f.s.FailOutbox(ctx, l[1].ID, "one", "target no longer configured", true); err != nil || st != models.OutboxGivenUp {
				t.Fatalf("FailOutbox(giveUp) = %q, %v", st, err)
			}
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{l[2].ID, b[0].ID}) {
				t.Fatalf("due after a give-up = %v, want %d, %d", got, l[2].ID, b[0].ID)
			}
			gone := outboxRows(t, f.s, f.linked.ID)[1]
			if gone.Payload != "" || gone.LastError != "target no longer configured" {
				t.Errorf("given-up row = %+v, want payload cleared and the reason", gone)
			}

			// A sender that died: the claim runs out, the row is due again,
			// and the lost try counts.
			if ok, _ := f.s.ClaimOutbox(ctx, l[2].ID, "crashed", time.Minute); !ok {
				t.Fatal("claim of the third")
			}
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{b[0].ID}) {
				t.Fatalf("due while leased = %v", got)
			}
			f.clock.Advance(time.Minute + time.Second)
			if got := dueIDs(t, f.s); !sameIDs(got, []int64{l[2].ID, b[0].ID}) {
				t.Fatalf("due after the lease ran out = %v", got)
			}
			if ok, _ := f.s.ClaimOutbox(ctx, l[2].ID, "one", time.Minute); !ok {
				t.Fatal("claim after the lease ran out")
			}
			third := outboxRows(t, f.s, f.linked.ID)[2]
			if third.Attempts != 1 || !strings.HasPrefix(third.LastError, "interrupted") {
				t.Errorf("re-claimed row = %+v, want the lost try counted as interrupted", third)
			}
			// The crashed sender comes back: it no longer holds the claim.
			if st, _ := f.s.FailOutbox(ctx, l[2].ID, "crashed", "timeout", false); st != "" {
				t.Errorf("a sender whose claim ran out recorded a failure: %q", st)
			}

			backlog, err := f.s.OutboxBacklog(ctx)
			if err != nil || len(backlog) != 1 || backlog[hookA] != 2 {
				t.Errorf("backlog = %v, %v; want %s: 2", backlog, err, hookA)
			}
		})
	}
}

func TestFailOutboxGivesUpAfterAWeek(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			f.s.ConsentTargets = []string{hookA}
			ctx := t.Context()
			setHistory(t, f.s, f.bare.ID, false, models.Actor{Channel: models.ChannelWeb})
			id := outboxRows(t, f.s, f.bare.ID)[0].ID
			tries := 0
			for {
				due := dueIDs(t, f.s)
				if len(due) == 0 {
					t.Fatalf("after %d tries nothing is due, and the row was not given up", tries)
				}
				if ok, err := f.s.ClaimOutbox(ctx, id, "one", time.Minute); err != nil || !ok {
					t.Fatalf("claim: %v %v", ok, err)
				}
				st, err := f.s.FailOutbox(ctx, id, "one", "HTTP 503\nfrom the\tproxy", false)
				if err != nil {
					t.Fatal(err)
				}
				tries++
				if st == models.OutboxGivenUp {
					break
				}
				if st != models.OutboxPending || tries > 100 {
					t.Fatalf("try %d: status %q", tries, st)
				}
				f.clock.Advance(models.DigestBackoff(tries))
			}
			if elapsed := f.s.Now().Sub(testTime); elapsed < models.OutboxGiveUpAfter {
				t.Errorf("given up after %s, before %s", elapsed, models.OutboxGiveUpAfter)
			}
			r := outboxRows(t, f.s, f.bare.ID)[0]
			if r.Status != models.OutboxGivenUp || r.Payload != "" || r.Attempts != tries || r.LastError != "HTTP 503 from the proxy" {
				t.Errorf("given-up row = %+v", r)
			}
			if len(dueIDs(t, f.s)) != 0 {
				t.Error("a given-up row is still due")
			}
		})
	}
}

func TestClaimOutboxOneInstanceWins(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			f.s.ConsentTargets = []string{hookA}
			setHistory(t, f.s, f.bare.ID, false, models.Actor{Channel: models.ChannelWeb})
			id := outboxRows(t, f.s, f.bare.ID)[0].ID
			// Two instances: two stores over the same database.
			other := modeltest.NewStore(t, db.Gorm, f.clock)
			var wg sync.WaitGroup
			won := make([]bool, 8)
			for i := range won {
				s := f.s
				if i%2 == 1 {
					s = other
				}
				wg.Go(func() {
					ok, err := s.ClaimOutbox(t.Context(), id, "instance-"+string(rune('a'+i)), time.Minute)
					if err != nil {
						t.Error(err)
					}
					won[i] = ok
				})
			}
			wg.Wait()
			n := 0
			for _, ok := range won {
				if ok {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d claims of one row succeeded, want 1", n)
			}
		})
	}
}

func TestConsentDeliveriesAndILSPrivacy(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			ctx := t.Context()
			web := models.Actor{Channel: models.ChannelWeb}
			setHistory(t, f.s, f.linked.ID, false, web)
			setHistory(t, f.s, f.linked.ID, true, web)
			var entries []models.ConsentEntry
			if err := f.s.DB.Where("patron_id = ?", f.linked.ID).Order("id").Find(&entries).Error; err != nil {
				t.Fatal(err)
			}
			koha := map[int64]int64{}
			for _, r := range outboxRows(t, f.s, f.linked.ID) {
				if r.Target == models.TargetKoha {
					koha[r.ConsentID] = r.ID
				}
			}
			first := koha[entries[0].ID]
			if ok, _ := f.s.ClaimOutbox(ctx, first, "one", time.Minute); !ok {
				t.Fatal("claim")
			}
			if err := f.s.MarkOutboxSent(ctx, first, "one"); err != nil {
				t.Fatal(err)
			}
			got, err := f.s.ConsentDeliveries(ctx, f.linked.ID, []int64{entries[0].ID, entries[1].ID})
			if err != nil {
				t.Fatal(err)
			}
			if d := got[entries[0].ID]; d.Status != models.OutboxSent || d.SentAt == nil || !d.SentAt.Equal(f.s.Now()) || d.Target != models.TargetKoha {
				t.Errorf("first change's delivery = %+v, want sent now", d)
			}
			if d := got[entries[1].ID]; d.Status != models.OutboxPending || d.SentAt != nil {
				t.Errorf("second change's delivery = %+v, want pending", d)
			}
			// Another patron's entries are not told.
			if other, err := f.s.ConsentDeliveries(ctx, f.bare.ID, []int64{entries[0].ID}); err != nil || len(other) != 0 {
				t.Errorf("deliveries through another patron = %v, %v", other, err)
			}

			if err := f.s.SetILSPrivacy(ctx, f.linked.ID, models.KohaPrivacyNever); err != nil {
				t.Fatal(err)
			}
			var p models.Patron
			if err := f.s.DB.Where("id = ?", f.linked.ID).Take(&p).Error; err != nil {
				t.Fatal(err)
			}
			if p.ILSPrivacy == nil || *p.ILSPrivacy != models.KohaPrivacyNever {
				t.Errorf("ils_privacy = %v, want 2", p.ILSPrivacy)
			}
			if err := f.s.SetILSPrivacy(ctx, 999999, 0); err != models.ErrNotFound {
				t.Errorf("SetILSPrivacy of no patron = %v", err)
			}
		})
	}
}

// TestOutboxRowsGoWithTheirLedgerEntry: the outbox is a copy of ledger
// entries on their way out; when the purge deletes an entry, or the
// patron goes, its rows (and the card number in them) go too.
func TestOutboxRowsGoWithTheirLedgerEntry(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newOutboxFixture(t, db)
			ctx := t.Context()
			web := models.Actor{Channel: models.ChannelWeb}
			setHistory(t, f.s, f.linked.ID, false, web)
			setHistory(t, f.s, f.linked.ID, true, web)
			setHistory(t, f.s, f.bare.ID, false, web)
			var first models.ConsentEntry
			if err := f.s.DB.Where("patron_id = ?", f.linked.ID).Order("id").Take(&first).Error; err != nil {
				t.Fatal(err)
			}
			// The first entry was replaced; years later it is due.
			f.clock.Advance(time.Duration(models.DefaultRetention().AuditYears+1) * 366 * 24 * time.Hour)
			if _, err := f.s.Purge(ctx, false, 10, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if n := rowsWhere(t, f.s.DB, "consent_entries", "id = ?", first.ID); n != 0 {
				t.Fatalf("the replaced entry was not purged")
			}
			if n := rowsWhere(t, f.s.DB, "consent_outbox", "consent_id = ?", first.ID); n != 0 {
				t.Errorf("%d outbox rows outlived their purged ledger entry", n)
			}
			if n := rowsWhere(t, f.s.DB, "consent_outbox", "patron_id = ?", f.linked.ID); n != 3 {
				t.Errorf("the current entry's outbox rows: %d, want 3", n)
			}
			if err := f.s.DB.Exec("DELETE FROM patrons WHERE id = ?", f.linked.ID).Error; err != nil {
				t.Fatal(err)
			}
			if n := rowsWhere(t, f.s.DB, "consent_outbox", "patron_id = ?", f.linked.ID); n != 0 {
				t.Errorf("%d outbox rows outlived their patron", n)
			}
			if n := rowsWhere(t, f.s.DB, "consent_outbox", "patron_id = ?", f.bare.ID); n != 2 {
				t.Errorf("another patron's rows: %d, want 2", n)
			}
		})
	}
}
