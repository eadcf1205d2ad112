package models_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

func TestDigestPeriod(t *testing.T) {
	t.Parallel()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	sched := models.DigestSchedule{Location: la, Hour: 8, Weekday: time.Monday}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, la)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	cases := []struct {
		name, kind, now, want string
	}{
		{"daily, before the hour: yesterday's", models.NoticeDaily, "2026-11-27 07:59", "2026-11-26"},
		{"daily, at the hour: today's", models.NoticeDaily, "2026-11-27 08:00", "2026-11-27"},
		{"daily, late evening: today's", models.NoticeDaily, "2026-11-27 23:30", "2026-11-27"},
		{"weekly on the day, after the hour", models.NoticeWeekly, "2026-11-30 09:00", "2026-11-30"},
		{"weekly on the day, before the hour: last week's", models.NoticeWeekly, "2026-11-30 07:00", "2026-11-23"},
		{"weekly mid-week", models.NoticeWeekly, "2026-11-27 12:00", "2026-11-23"},
		{"daily, the morning clocks go forward", models.NoticeDaily, "2026-03-08 08:30", "2026-03-08"},
		{"daily, the morning clocks go back, before the hour", models.NoticeDaily, "2026-11-01 07:30", "2026-10-31"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sched.Period(tc.kind, at(tc.now)); got != tc.want {
				t.Errorf("Period(%s, %s) = %s, want %s", tc.kind, tc.now, got, tc.want)
			}
		})
	}
	if kind, period, ok := models.ParseDigestKey(models.DigestKey(42, models.NoticeWeekly, "2026-11-23")); !ok || kind != "weekly" || period != "2026-11-23" {
		t.Errorf("ParseDigestKey round trip: %q %q %v", kind, period, ok)
	}
	for _, bad := range []string{"", "digest-1", "digest-1-hourly-2026-11-23", "digest-1-daily-yesterday", "x-1-daily-2026-11-23"} {
		if _, _, ok := models.ParseDigestKey(bad); ok {
			t.Errorf("ParseDigestKey(%q) accepted", bad)
		}
	}
}

// digestFixture is a store over one engine with patrons in every
// situation the assembly distinguishes.
type digestFixture struct {
	s                                      *models.Store
	clock                                  *modeltest.FakeClock
	daily, weekly, none, noEmail, unlinked models.Patron
}

// tuesday is the schedule of the fixtures: testTime is a Tuesday at
// 10:20 UTC, after the hour, on the weekly day.
var tuesday = models.DigestSchedule{Location: time.UTC, Hour: 8, Weekday: time.Tuesday}

func newDigestFixture(t *testing.T, db modeltest.DB) *digestFixture {
	t.Helper()
	clock := modeltest.NewFakeClock(testTime)
	s := modeltest.NewStore(t, db.Gorm, clock)
	f := &digestFixture{s: s, clock: clock}
	mk := func(card, notice, email string, linked bool) models.Patron {
		p := createPatron(t, s, card, "1234")
		if err := s.DB.Model(&models.Patron{}).Where("id = ?", p.ID).
			UpdateColumns(map[string]any{"favorites_notice": notice, "email": email, "favorites_linked": linked}).Error; err != nil {
			t.Fatal(err)
		}
		p.FavoritesNotice, p.Email, p.FavoritesLinked = notice, email, linked
		return p
	}
	f.daily = mk("21000000000101", models.NoticeDaily, "daily@example.org", true)
	f.weekly = mk("21000000000102", models.NoticeWeekly, "weekly@example.org", true)
	f.none = mk("21000000000103", models.NoticeNone, "none@example.org", true)
	f.noEmail = mk("21000000000104", models.NoticeDaily, " ", true)
	f.unlinked = mk("21000000000105", models.NoticeDaily, "unlinked@example.org", false)
	return f
}

func (f *digestFixture) notify(t *testing.T, p models.Patron, title string) models.Notification {
	t.Helper()
	n := models.Notification{PatronID: p.ID, Title: title, Author: "Butler, Octavia E.", Reason: "Butler, Octavia E.",
		CatalogURL: "https://catalog.example.org/record/" + strings.ReplaceAll(title, " ", "-"), CreatedAt: f.s.Now()}
	if err := f.s.DB.Create(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func digestsOf(t *testing.T, s *models.Store, p models.Patron) []models.Digest {
	t.Helper()
	var ds []models.Digest
	if err := s.DB.Where("patron_id = ?", p.ID).Order("id").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestAssembleDigestsOnePerPatronPerPeriod(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			// A patron far along the IDs, in another of the assembly's
			// ranges of patrons.
			far := models.Patron{ID: 4321, CardNumber: "21000000004321", PINHash: "x", FamilyName: "Far",
				Email: "far@example.org", CardExpiresOn: testTime, BorrowingStatus: models.StatusActive,
				FavoritesLinked: true, FavoritesNotice: models.NoticeDaily}
			if err := f.s.DB.Create(&far).Error; err != nil {
				t.Fatal(err)
			}
			for _, p := range []models.Patron{f.daily, f.weekly, f.none, f.noEmail, f.unlinked, far} {
				f.notify(t, p, "Kindred")
				f.notify(t, p, "Fledgling")
			}
			n, err := f.s.AssembleDigests(ctx, tuesday)
			if err != nil || n != 3 {
				t.Fatalf("AssembleDigests = %d, %v; want the daily, the weekly and the far patron's", n, err)
			}
			if ds := digestsOf(t, f.s, far); len(ds) != 1 || rowsWhere(t, f.s.DB, "notifications", "digest_id = ?", ds[0].ID) != 2 {
				t.Fatalf("the far patron's digest: %+v", ds)
			}
			for _, p := range []models.Patron{f.none, f.noEmail, f.unlinked} {
				if ds := digestsOf(t, f.s, p); len(ds) != 0 {
					t.Errorf("patron %s got a digest: %+v", p.Email, ds)
				}
				if rowsWhere(t, f.s.DB, "notifications", "patron_id = ? AND digest_id IS NULL AND sent_at IS NULL", p.ID) != 2 {
					t.Errorf("patron %q: notifications must stay waiting in the portal", p.Email)
				}
			}
			for p, key := range map[*models.Patron]string{
				&f.daily:  models.DigestKey(f.daily.ID, "daily", "2026-04-07"),
				&f.weekly: models.DigestKey(f.weekly.ID, "weekly", "2026-04-07"),
			} {
				ds := digestsOf(t, f.s, *p)
				if len(ds) != 1 || ds[0].IdempotencyKey != key || ds[0].Status != models.DigestPending || ds[0].ClaimedBy != "" {
					t.Fatalf("digests of %s: %+v, want one pending %s", p.Email, ds, key)
				}
				if n := rowsWhere(t, f.s.DB, "notifications", "patron_id = ? AND digest_id = ?", p.ID, ds[0].ID); n != 2 {
					t.Errorf("%s's digest carries %d notifications, want 2", p.Email, n)
				}
			}
			// Again in the same period: nothing new, even with a latecomer,
			// which waits for the next period.
			late := f.notify(t, f.daily, "Wild Seed")
			if n, err := f.s.AssembleDigests(ctx, tuesday); err != nil || n != 0 {
				t.Fatalf("second assembly in the period = %d, %v; want 0", n, err)
			}
			if rowsWhere(t, f.s.DB, "notifications", "id = ? AND digest_id IS NULL", late.ID) != 1 {
				t.Fatal("a notification arriving after its period's digest waits for the next one")
			}
			// The next morning the daily patron's latecomer goes out; the
			// weekly patron waits for next Tuesday.
			f.clock.Advance(22 * time.Hour)
			if n, err := f.s.AssembleDigests(ctx, tuesday); err != nil || n != 1 {
				t.Fatalf("next day's assembly = %d, %v; want 1", n, err)
			}
			ds := digestsOf(t, f.s, f.daily)
			if len(ds) != 2 || ds[1].IdempotencyKey != models.DigestKey(f.daily.ID, "daily", "2026-04-08") {
				t.Fatalf("daily digests after a day: %+v", ds)
			}
			if rowsWhere(t, f.s.DB, "notifications", "id = ? AND digest_id = ?", late.ID, ds[1].ID) != 1 {
				t.Fatal("the latecomer belongs to the next day's digest")
			}
		})
	}
}

// TestAssemblingAtOnceMakesOneDigest runs several assemblers, each with its
// own store over the same database (on SQLite, the same one connection),
// at the same moment: the UNIQUE key lets exactly one digest per patron
// through, and every notification ends up in it.
func TestAssemblingAtOnceMakesOneDigest(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			var patrons []models.Patron
			for i := range 20 {
				p := createPatron(t, f.s, fmt.Sprintf("2100000000%04d", 2000+i), "1234")
				f.s.DB.Model(&models.Patron{}).Where("id = ?", p.ID).
					UpdateColumns(map[string]any{"favorites_notice": models.NoticeDaily, "favorites_linked": true})
				patrons = append(patrons, p)
				for j := range 3 {
					f.notify(t, p, fmt.Sprintf("Item %d", j))
				}
			}
			const workers = 4
			var wg sync.WaitGroup
			made := make([]int64, workers)
			errs := make([]error, workers)
			start := make(chan struct{})
			for i := range workers {
				store := modeltest.NewStore(t, db.Gorm, f.clock)
				wg.Go(func() {
					<-start
					made[i], errs[i] = store.AssembleDigests(t.Context(), tuesday)
				})
			}
			close(start)
			wg.Wait()
			var total int64
			for i := range workers {
				if errs[i] != nil {
					t.Fatalf("assembler %d: %v", i, errs[i])
				}
				total += made[i]
			}
			// The 20 patrons, plus the fixture's daily and weekly ones (with
			// nothing waiting, so no digest).
			if total != 20 {
				t.Fatalf("assemblers made %d digests in all, want 20", total)
			}
			for _, p := range patrons {
				ds := digestsOf(t, f.s, p)
				if len(ds) != 1 {
					t.Fatalf("patron %d has %d digests", p.ID, len(ds))
				}
				if n := rowsWhere(t, f.s.DB, "notifications", "patron_id = ? AND digest_id = ?", p.ID, ds[0].ID); n != 3 {
					t.Fatalf("patron %d's digest carries %d of 3 notifications", p.ID, n)
				}
			}
		})
	}
}

func TestClaimingADigestIsExclusive(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			f.notify(t, f.daily, "Kindred")
			if _, err := f.s.AssembleDigests(ctx, tuesday); err != nil {
				t.Fatal(err)
			}
			due, err := f.s.DueDigests(ctx, 10)
			if err != nil || len(due) != 1 || due[0].PatronID != f.daily.ID {
				t.Fatalf("DueDigests = %+v, %v", due, err)
			}
			d := due[0]
			// Twenty senders try at once; one wins.
			var wg sync.WaitGroup
			wins := make(chan string, 20)
			for i := range 20 {
				wg.Go(func() {
					who := fmt.Sprintf("sender-%d", i)
					ok, err := f.s.ClaimDigest(ctx, d.PatronID, d.ID, who, 10*time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins <- who
					}
				})
			}
			wg.Wait()
			close(wins)
			var winners []string
			for w := range wins {
				winners = append(winners, w)
			}
			if len(winners) != 1 {
				t.Fatalf("%d senders claimed the digest: %v", len(winners), winners)
			}
			if due, _ := f.s.DueDigests(ctx, 10); len(due) != 0 {
				t.Fatal("a claimed digest is not due")
			}
			// Someone else's patron ID never claims it.
			f.clock.Advance(11 * time.Minute)
			if ok, _ := f.s.ClaimDigest(ctx, f.weekly.ID, d.ID, "intruder", time.Minute); ok {
				t.Fatal("a claim must name the digest's own patron")
			}
			// The winner died: its claim expires, and the next claim counts
			// that as a try that was interrupted.
			ok, err := f.s.ClaimDigest(ctx, d.PatronID, d.ID, "survivor", 10*time.Minute)
			if err != nil || !ok {
				t.Fatalf("reclaiming an expired claim: %v %v", ok, err)
			}
			got := digestsOf(t, f.s, f.daily)[0]
			if got.ClaimedBy != "survivor" || got.Attempts != 1 || models.FailureKind(got.LastError) != models.FailureInterrupted {
				t.Fatalf("after an expired claim: %+v", got)
			}
			// A stale sender cannot record a failure over the new claim.
			if st, err := f.s.FailDigest(ctx, d.PatronID, d.ID, winners[0], "busy: 451 later", false); err != nil || st != "" {
				t.Fatalf("a stale sender's failure was recorded: %q %v", st, err)
			}
			// The acceptance is a fact, whoever reports it.
			if ok, err := f.s.MarkDigestSent(ctx, d.PatronID, d.ID); err != nil || !ok {
				t.Fatalf("MarkDigestSent: %v %v", ok, err)
			}
			if ok, _ := f.s.MarkDigestSent(ctx, d.PatronID, d.ID); ok {
				t.Fatal("marking twice changes nothing the second time")
			}
			if rowsWhere(t, f.s.DB, "notifications", "patron_id = ? AND sent_at IS NOT NULL", f.daily.ID) != 1 {
				t.Fatal("the digest's notifications are sent with it")
			}
		})
	}
}

func TestFailedDigestsBackOffThenGiveUp(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			f.notify(t, f.daily, "Kindred")
			if _, err := f.s.AssembleDigests(ctx, tuesday); err != nil {
				t.Fatal(err)
			}
			d := digestsOf(t, f.s, f.daily)[0]
			want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour}
			for i := 1; i <= models.DigestMaxAttempts; i++ {
				if ok, err := f.s.ClaimDigest(ctx, f.daily.ID, d.ID, "me", 10*time.Minute); err != nil || !ok {
					t.Fatalf("try %d: claim %v %v", i, ok, err)
				}
				st, err := f.s.FailDigest(ctx, f.daily.ID, d.ID, "me", "busy: 451 4.3.0 try later", false)
				if err != nil {
					t.Fatal(err)
				}
				got := digestsOf(t, f.s, f.daily)[0]
				if got.Attempts != i || got.ClaimedBy != "" || got.ClaimedUntil != nil {
					t.Fatalf("after try %d: %+v", i, got)
				}
				if i < models.DigestMaxAttempts {
					if st != models.DigestPending || !got.NextAttemptAt.Equal(f.s.Now().Add(want[i-1])) {
						t.Fatalf("after try %d: status %s, next try %v, want %v later", i, st, got.NextAttemptAt, want[i-1])
					}
					if due, _ := f.s.DueDigests(ctx, 10); len(due) != 0 {
						t.Fatalf("after try %d the digest waits for its backoff", i)
					}
					f.clock.Advance(want[i-1])
					continue
				}
				if st != models.DigestFailed || got.Status != models.DigestFailed {
					t.Fatalf("after the last try: %s %+v", st, got)
				}
			}
			if due, _ := f.s.DueDigests(ctx, 10); len(due) != 0 {
				t.Fatal("a failed digest is never due again")
			}
			if rowsWhere(t, f.s.DB, "notifications", "patron_id = ? AND sent_at IS NULL", f.daily.ID) != 1 {
				t.Fatal("nothing was sent")
			}
			// Its notifications go 30 days after it was given up, and the
			// digest with them.
			f.clock.Advance(31 * 24 * time.Hour)
			rep, err := f.s.Purge(ctx, false, 10, testSessionLimits)
			if err != nil {
				t.Fatal(err)
			}
			if rowsWhere(t, f.s.DB, "notifications", "patron_id = ?", f.daily.ID) != 0 || len(digestsOf(t, f.s, f.daily)) != 0 {
				t.Fatalf("a given-up digest and its notifications outlived retention: %s", rep)
			}
		})
	}
}

func TestDigestsGoWithTheirNotifications(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			f.notify(t, f.daily, "Kindred")
			f.notify(t, f.weekly, "Dawn")
			if _, err := f.s.AssembleDigests(ctx, tuesday); err != nil {
				t.Fatal(err)
			}
			sent := digestsOf(t, f.s, f.daily)[0]
			if _, err := f.s.MarkDigestSent(ctx, f.daily.ID, sent.ID); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(29 * 24 * time.Hour)
			if _, err := f.s.Purge(ctx, false, 10, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if len(digestsOf(t, f.s, f.daily)) != 1 || len(digestsOf(t, f.s, f.weekly)) != 1 {
				t.Fatal("digests stay while their notifications do")
			}
			f.clock.Advance(2 * 24 * time.Hour)
			rep, err := f.s.Purge(ctx, false, 10, testSessionLimits)
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int64{}
			for _, c := range rep.Counts {
				counts[c.Category] = c.Rows
			}
			if counts["notifications"] != 1 || counts["digests"] != 1 || len(digestsOf(t, f.s, f.daily)) != 0 {
				t.Fatalf("the sent digest goes with its notification in the same run: %s", rep)
			}
			if len(digestsOf(t, f.s, f.weekly)) != 1 {
				t.Fatal("a pending digest with its notification stays")
			}
			// Unlinking erases the notifications; the digest follows at the
			// next purge, and a sender would withdraw it before that.
			if _, _, err := f.s.UnlinkFavorites(ctx, f.weekly.ID, models.Actor{Channel: models.ChannelWeb}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.Purge(ctx, false, 10, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if len(digestsOf(t, f.s, f.weekly)) != 0 {
				t.Fatal("an emptied digest is purged")
			}
		})
	}
}

func TestWithdrawingADigestFreesItsNotifications(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			f.notify(t, f.daily, "Kindred")
			if _, err := f.s.AssembleDigests(ctx, tuesday); err != nil {
				t.Fatal(err)
			}
			d := digestsOf(t, f.s, f.daily)[0]
			if err := f.s.WithdrawDigest(ctx, f.daily.ID, d.ID, "not-the-claimer"); err != nil {
				t.Fatal(err)
			}
			if len(digestsOf(t, f.s, f.daily)) != 1 {
				t.Fatal("only the instance holding the claim may withdraw")
			}
			f.s.ClaimDigest(ctx, f.daily.ID, d.ID, "me", time.Minute)
			if err := f.s.WithdrawDigest(ctx, f.daily.ID, d.ID, "me"); err != nil {
				t.Fatal(err)
			}
			if len(digestsOf(t, f.s, f.daily)) != 0 || rowsWhere(t, f.s.DB, "notifications", "patron_id = ? AND digest_id IS NULL", f.daily.ID) != 1 {
				t.Fatal("withdrawn: the digest goes, the notification waits again")
			}
		})
	}
}

func TestSanitizeDeliveryErrorKeepsNoAddress(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
	}{
		{"the patron's address", errors.New("550 5.1.1 <Rosa.Parks@Example.org>: Recipient address rejected")},
		{"an address without brackets", errors.New("451 greylisted rosa.parks@example.org, try later")},
		{"several, and line breaks", errors.New("sending SMTP RCPT TO command: 550 no\r\nsuch user, affected recipient(s): rosa.parks@example.org, other@b.example")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := models.SanitizeDeliveryError(models.FailureRefused, tc.err, "rosa.parks@example.org")
			if strings.Contains(strings.ToLower(got), "example.org") || strings.Contains(got, "b.example") || strings.ContainsAny(got, "\r\n") {
				t.Errorf("an address or line break survived: %q", got)
			}
			if models.FailureKind(got) != models.FailureRefused || !strings.Contains(got, "<address>") {
				t.Errorf("sanitised error %q lost its kind or its placeholder", got)
			}
		})
	}
	long := models.SanitizeDeliveryError(models.FailureBusy, errors.New(strings.Repeat("x", 1000)))
	if len([]rune(long)) > 320 {
		t.Errorf("a long error is cut short, got %d characters", len([]rune(long)))
	}
}

func TestNoticeTokensStopNoticesAndNothingElse(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			tok := f.s.NoticeToken(f.daily.ID)
			if strings.Contains(tok, fmt.Sprint(f.daily.ID)) && len(tok) < 40 {
				t.Fatalf("a token names nobody: %q", tok)
			}
			// A mailing-list token is refused here, and a notice token there.
			list := models.MailingList{Slug: "events", Name: "Events", Description: "d", Frequency: "f", Sender: "s", ConsentText: "consent text", ConsentVersion: 1}
			if err := f.s.DB.Create(&list).Error; err != nil {
				t.Fatal(err)
			}
			listTok := f.s.UnsubscribeToken(f.daily.ID, list.ID)
			if err := f.s.StopNoticesByToken(ctx, listTok); !errors.Is(err, models.ErrBadNoticeToken) {
				t.Fatalf("a list token stopped notices: %v", err)
			}
			if _, err := f.s.UnsubscribeByToken(ctx, tok); !errors.Is(err, models.ErrBadToken) {
				t.Fatalf("a notice token opened as a list token: %v", err)
			}
			if err := f.s.StopNoticesByToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			var p models.Patron
			f.s.DB.Where("id = ?", f.daily.ID).Take(&p)
			var e models.ConsentEntry
			f.s.DB.Where("patron_id = ?", f.daily.ID).Order("id DESC").Take(&e)
			if p.FavoritesNotice != models.NoticeNone || e.Subject != models.ConsentFavoritesNotice || e.OldValue != "daily" ||
				e.NewValue != "none" || e.Channel != models.ChannelEmailOneClick || e.Actor != models.ActorPatron {
				t.Fatalf("after the link: notice %q, ledger %+v", p.FavoritesNotice, e)
			}
			// Again, and for a patron with nothing linked: quietly nothing.
			if err := f.s.StopNoticesByToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if err := f.s.StopNoticesByToken(ctx, f.s.NoticeToken(f.unlinked.ID)); err != nil {
				t.Fatal(err)
			}
			if n := rowsWhere(t, f.s.DB, "consent_entries", "patron_id IN ?", []int64{f.daily.ID, f.unlinked.ID}); n != 1 {
				t.Fatalf("%d ledger entries, want the one real change", n)
			}
		})
	}
}

func TestExportIncludesEveryDigest(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			n := f.notify(t, f.daily, "Kindred")
			if _, err := f.s.AssembleDigests(ctx, tuesday); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := f.s.Export(ctx, f.daily.ID, models.ExportMeta{Library: "L", PolicyVersion: "1", Limits: testSessionLimits}, &buf); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Categories map[string]struct {
					Records []json.RawMessage     `json:"records"`
					Emails  []models.DigestRecord `json:"emails"`
				} `json:"categories"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("export is not JSON: %v\n%s", err, buf.String())
			}
			emails := doc.Categories["notifications"].Emails
			if len(emails) != 1 || emails[0].Period != "daily" || emails[0].PeriodDate != "2026-04-07" ||
				emails[0].Status != models.DigestPending || len(emails[0].NotificationIDs) != 1 || emails[0].NotificationIDs[0] != n.ID {
				t.Fatalf("export's emails: %+v", emails)
			}
			if strings.Contains(buf.String(), "idempotency") || strings.Contains(buf.String(), "claimed") {
				t.Fatal("the outbox's machinery is not the patron's data")
			}
		})
	}
}

// TestNotificationsNeverEmailedStillGo: a notification for a patron who
// chose no emails, or has no address, is never sent, so "after it was
// sent" never comes; it goes the same number of days after it was made.
// One waiting in an assembled digest stays until the digest is settled.
func TestNotificationsNeverEmailedStillGo(t *testing.T) {
	for _, db := range modeltest.Databases(t, nil) {
		t.Run(db.Name, func(t *testing.T) {
			f := newDigestFixture(t, db)
			ctx := t.Context()
			none := f.notify(t, f.none, "Kindred")
			noEmail := f.notify(t, f.noEmail, "Dawn")
			f.notify(t, f.daily, "Fledgling")
			if _, err := f.s.AssembleDigests(ctx, tuesday); err != nil {
				t.Fatal(err)
			}
			left := func() int64 {
				return rowsWhere(t, f.s.DB, "notifications", "id IN ?", []int64{none.ID, noEmail.ID})
			}
			f.clock.Advance(29 * 24 * time.Hour)
			if _, err := f.s.Purge(ctx, false, 10, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if left() != 2 {
				t.Fatal("notifications that were never emailed go 30 days after they were made, not before")
			}
			f.clock.Advance(2 * 24 * time.Hour)
			if _, err := f.s.Purge(ctx, false, 10, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if left() != 0 {
				t.Fatal("notifications that were never emailed must not be kept for ever")
			}
			if n := rowsWhere(t, f.s.DB, "notifications", "patron_id = ?", f.daily.ID); n != 1 {
				t.Fatalf("the daily patron's notification waits in its digest; %d left", n)
			}
		})
	}
}
