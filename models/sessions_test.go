package models_test

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

var testSessionLimits = models.SessionLimits{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}

// sessionAges are sessions by how long ago they began and were last seen,
// and whether testSessionLimits call them expired.
var sessionAges = []struct {
	name          string
	age, lastSeen time.Duration // before now
	expired       bool
}{
	{"fresh", time.Minute, time.Minute, false},
	{"just signed in", 0, 0, false},
	{"idle a second short of the limit", time.Hour, 30*time.Minute - time.Second, false},
	{"idle exactly the limit", time.Hour, 30 * time.Minute, true},
	{"idle past the limit", time.Hour, 31 * time.Minute, true},
	{"active, a second short of the absolute limit", 12*time.Hour - time.Second, time.Second, false},
	{"active, exactly the absolute limit", 12 * time.Hour, time.Second, true},
	{"active, past the absolute limit", 13 * time.Hour, 0, true},
	{"both limits past", 48 * time.Hour, 47 * time.Hour, true},
}

func TestSessionLimitsExpired(t *testing.T) {
	t.Parallel()
	now := testTime
	for _, tc := range sessionAges {
		t.Run(tc.name, func(t *testing.T) {
			s := models.Session{CreatedAt: now.Add(-tc.age), LastSeenAt: now.Add(-tc.lastSeen)}
			if got := testSessionLimits.Expired(s, now); got != tc.expired {
				t.Errorf("Expired(created -%v, last seen -%v) = %v, want %v", tc.age, tc.lastSeen, got, tc.expired)
			}
		})
	}
}

func sameSession(t *testing.T, got, want models.Session) {
	t.Helper()
	eqPtr := func(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	if got.TokenHash != want.TokenHash || !eqPtr(got.PatronID, want.PatronID) ||
		!eqPtr(got.StaffID, want.StaffID) || !eqPtr(got.AssistPatronID, want.AssistPatronID) ||
		got.Channel != want.Channel || got.CSRFToken != want.CSRFToken || got.Data != want.Data ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeenAt.Equal(want.LastSeenAt) {
		t.Errorf("session = %+v\nwant      %+v", got, want)
	}
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			// Not parallel: the engines share the clock, which moves.
			clock.Set(testTime)
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := createPatron(t, s, knownCard, knownPIN)

			oldHash := models.HashToken(models.RandomToken())
			sess := models.Session{TokenHash: oldHash, PatronID: &p.ID, Channel: models.ChannelWeb,
				CSRFToken: models.RandomToken(), Data: `{"flash":"Welcome back"}`, LastSeenAt: s.Now()}
			if err := s.CreateSession(ctx, &sess); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if !sess.CreatedAt.Equal(s.Now()) {
				t.Errorf("CreatedAt = %v, want the store's now %v", sess.CreatedAt, s.Now())
			}
			got, err := s.SessionByTokenHash(ctx, oldHash)
			if err != nil {
				t.Fatalf("SessionByTokenHash: %v", err)
			}
			sameSession(t, got, sess)
			if _, err := s.SessionByTokenHash(ctx, models.HashToken("never issued")); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("unknown token: err = %v, want ErrNotFound", err)
			}

			clock.Advance(time.Minute)
			newHash := models.HashToken(models.RandomToken())
			if err := s.RotateSession(ctx, oldHash, newHash); err != nil {
				t.Fatalf("RotateSession: %v", err)
			}
			if _, err := s.SessionByTokenHash(ctx, oldHash); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("old token after rotation: err = %v, want ErrNotFound", err)
			}
			got, err = s.SessionByTokenHash(ctx, newHash)
			if err != nil {
				t.Fatalf("new token after rotation: %v", err)
			}
			want := sess
			want.TokenHash = newHash
			sameSession(t, got, want)
			if err := s.RotateSession(ctx, oldHash, models.HashToken(models.RandomToken())); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("rotating the old token again: err = %v, want ErrNotFound", err)
			}

			// Rotating onto a token that is in use fails and changes nothing.
			otherHash := models.HashToken(models.RandomToken())
			other := models.Session{TokenHash: otherHash, CSRFToken: "other", Data: "{}", LastSeenAt: s.Now()}
			if err := s.CreateSession(ctx, &other); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if err := s.RotateSession(ctx, newHash, otherHash); err == nil {
				t.Errorf("rotating onto a token in use succeeded")
			}
			if got, err := s.SessionByTokenHash(ctx, newHash); err != nil {
				t.Errorf("session after a failed rotation: %v", err)
			} else {
				sameSession(t, got, want)
			}

			clock.Advance(time.Minute)
			if err := s.TouchSession(ctx, newHash, s.Now()); err != nil {
				t.Fatalf("TouchSession: %v", err)
			}
			want.LastSeenAt = s.Now()
			if got, err := s.SessionByTokenHash(ctx, newHash); err != nil {
				t.Fatalf("SessionByTokenHash: %v", err)
			} else {
				sameSession(t, got, want)
			}

			if err := s.EndSession(ctx, newHash, models.AssistEndedSession); err != nil {
				t.Fatalf("EndSession: %v", err)
			}
			if _, err := s.SessionByTokenHash(ctx, newHash); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("deleted session: err = %v, want ErrNotFound", err)
			}
			if _, err := s.SessionByTokenHash(ctx, otherHash); err != nil {
				t.Errorf("EndSession took another session with it: %v", err)
			}
		})
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			// Not parallel: the engines share the clock, which moves.
			clock.Set(testTime)
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			now := s.Now()

			var wantKept []string
			var wantGone int64
			for _, tc := range sessionAges {
				sess := models.Session{TokenHash: models.HashToken(tc.name), CSRFToken: "c", Data: "{}",
					CreatedAt: now.Add(-tc.age), LastSeenAt: now.Add(-tc.lastSeen)}
				if err := s.CreateSession(ctx, &sess); err != nil {
					t.Fatalf("CreateSession(%s): %v", tc.name, err)
				}
				if tc.expired != testSessionLimits.Expired(sess, now) {
					t.Fatalf("%s: table says expired = %v, Expired disagrees", tc.name, tc.expired)
				}
				if tc.expired {
					wantGone++
				} else {
					wantKept = append(wantKept, sess.TokenHash)
				}
			}

			n, err := s.DeleteExpiredSessions(ctx, testSessionLimits)
			if err != nil {
				t.Fatalf("DeleteExpiredSessions: %v", err)
			}
			if n != wantGone {
				t.Errorf("DeleteExpiredSessions reported %d, want %d", n, wantGone)
			}
			var kept []string
			if err := db.Gorm.WithContext(ctx).Model(&models.Session{}).Pluck("token_hash", &kept).Error; err != nil {
				t.Fatalf("list sessions: %v", err)
			}
			slices.Sort(kept)
			slices.Sort(wantKept)
			if !slices.Equal(kept, wantKept) {
				for _, tc := range sessionAges {
					if in := slices.Contains(kept, models.HashToken(tc.name)); in == tc.expired {
						t.Errorf("%s: kept = %v, want %v", tc.name, in, !tc.expired)
					}
				}
			}

			// Nothing else is due until time passes; then the rest go.
			if n, err := s.DeleteExpiredSessions(ctx, testSessionLimits); err != nil || n != 0 {
				t.Errorf("second sweep = %d, %v; want 0, nil", n, err)
			}
			clock.Advance(testSessionLimits.Absolute)
			if n, err := s.DeleteExpiredSessions(ctx, testSessionLimits); err != nil || n != int64(len(wantKept)) {
				t.Errorf("sweep %v later = %d, %v; want %d, nil", testSessionLimits.Absolute, n, err, len(wantKept))
			}
		})
	}
}

// TestSessionAndPatronReadsBothInOneQuery: the patron read with the
// session is the same as the patron read alone, every field of it; a
// session without a patron comes back with none.
func TestSessionAndPatronReadsBothInOneQuery(t *testing.T) {
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := createPatron(t, s, knownCard, knownPIN)
			seen := testTime.Add(-time.Hour)
			if err := s.DB.Exec("UPDATE patrons SET assist_seen_at = ?, favorites_linked = ? WHERE id = ?", seen, true, p.ID).Error; err != nil {
				t.Fatal(err)
			}
			hash := models.HashToken(models.RandomToken())
			if err := s.CreateSession(ctx, &models.Session{TokenHash: hash, PatronID: &p.ID, Channel: models.ChannelWeb,
				CSRFToken: "csrf", Data: `{}`, LastSeenAt: s.Now()}); err != nil {
				t.Fatal(err)
			}
			sess, got, err := s.SessionAndPatron(ctx, hash)
			if err != nil {
				t.Fatalf("SessionAndPatron: %v", err)
			}
			want, err := s.Patron(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !reflect.DeepEqual(*got, want) {
				t.Fatalf("patron read with the session:\n got %+v\nwant %+v", got, want)
			}
			if sess.TokenHash != hash || sess.CSRFToken != "csrf" || sess.PatronID == nil || *sess.PatronID != p.ID {
				t.Fatalf("session read with the patron: %+v", sess)
			}

			staffHash := models.HashToken(models.RandomToken())
			if err := s.CreateSession(ctx, &models.Session{TokenHash: staffHash, Channel: models.ChannelWeb,
				CSRFToken: "x", Data: `{}`, LastSeenAt: s.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, got, err := s.SessionAndPatron(ctx, staffHash); err != nil || got != nil {
				t.Fatalf("a session without a patron: patron %+v, err %v", got, err)
			}
			if _, _, err := s.SessionAndPatron(ctx, models.HashToken("never issued")); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("an unknown token: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestAnAssistanceEndsOnceHoweverItsSessionEnds: a staff session that was
// assisting a patron, ended at the same moment by a request that finds it
// expired, by the session sweep and by the purge, leaves exactly one
// assist.end entry, with the assistance's reason and the cause.
func TestAnAssistanceEndsOnceHoweverItsSessionEnds(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := createPatron(t, s, "21000000001111", "1234")
			st, err := s.AddStaff(ctx, "sam", "Sam", models.RoleAssistant, "correct horse battery staple")
			if err != nil {
				t.Fatal(err)
			}
			const rounds = 10
			for i := range rounds {
				hash := models.HashToken("assisting-" + strconv.Itoa(i))
				sess := models.Session{TokenHash: hash, StaffID: &st.ID, AssistPatronID: &p.ID, CSRFToken: "c",
					Data: `{"assist_reason":"desk"}`, CreatedAt: s.Now().Add(-time.Hour), LastSeenAt: s.Now().Add(-time.Hour)}
				if err := s.CreateSession(ctx, &sess); err != nil {
					t.Fatal(err)
				}
				start := make(chan struct{})
				errs := make(chan error, 3)
				for _, end := range []func() error{
					func() error { return s.EndSession(ctx, hash, models.AssistEndedTimeout) },
					func() error { _, err := s.DeleteExpiredSessions(ctx, testSessionLimits); return err },
					func() error {
						_, err := s.Purge(ctx, false, 0, testSessionLimits)
						if errors.Is(err, models.ErrPurgeBusy) {
							return nil
						}
						return err
					},
				} {
					go func() { <-start; errs <- end() }()
				}
				close(start)
				for range 3 {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
				var ends []models.AuditEntry
				if err := db.Gorm.Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistEnd).Find(&ends).Error; err != nil {
					t.Fatal(err)
				}
				if len(ends) != i+1 {
					t.Fatalf("round %d: %d assist.end entries, want %d", i, len(ends), i+1)
				}
				if e := ends[i]; e.Detail != models.AssistEndedTimeout || e.Reason != "At the desk" || e.StaffID == nil || *e.StaffID != st.ID {
					t.Fatalf("round %d: entry %+v", i, e)
				}
			}
		})
	}
}

// TestEndAssistRecordsOneEndWhateverRacesIt: "End assistance" (or its
// time limit) and the sweep of the expired session that carried it, in
// either order or at once, leave exactly one assist.end entry; an
// assistance already ended, or a session without one, records nothing.
func TestEndAssistRecordsOneEndWhateverRacesIt(t *testing.T) {
	t.Parallel()
	const cause = "ended automatically after 15 minutes"
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(testTime)
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			p := createPatron(t, s, "21000000002222", "1234")
			st, err := s.AddStaff(ctx, "sam", "Sam", models.RoleAssistant, "correct horse battery staple")
			if err != nil {
				t.Fatal(err)
			}
			ends := func() []models.AuditEntry {
				t.Helper()
				var out []models.AuditEntry
				if err := db.Gorm.Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistEnd).Order("id").Find(&out).Error; err != nil {
					t.Fatal(err)
				}
				return out
			}
			assisting := func(name string) string {
				t.Helper()
				hash := models.HashToken(name)
				sess := models.Session{TokenHash: hash, StaffID: &st.ID, AssistPatronID: &p.ID, Channel: models.ChannelStaffAssisted,
					CSRFToken: "c", Data: `{"assist_reason":"phone"}`, CreatedAt: s.Now().Add(-time.Hour), LastSeenAt: s.Now().Add(-time.Hour)}
				if err := s.CreateSession(ctx, &sess); err != nil {
					t.Fatal(err)
				}
				return hash
			}

			// In order: the assistance ends, then the sweep takes its session.
			hash := assisting("ended, then swept")
			if ended, err := s.EndAssist(ctx, hash, cause); err != nil || !ended {
				t.Fatalf("EndAssist = %v, %v; want true, nil", ended, err)
			}
			if got, err := s.SessionByTokenHash(ctx, hash); err != nil || got.AssistPatronID != nil || got.Channel != "" {
				t.Fatalf("session after EndAssist: %+v, %v; want no assistance", got, err)
			}
			if ended, err := s.EndAssist(ctx, hash, cause); err != nil || ended {
				t.Fatalf("EndAssist again = %v, %v; want false, nil", ended, err)
			}
			if _, err := s.DeleteExpiredSessions(ctx, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			got := ends()
			if len(got) != 1 || got[0].Detail != cause || got[0].Reason != "By phone" || got[0].StaffID == nil || *got[0].StaffID != st.ID {
				t.Fatalf("assist.end entries %+v, want one %q", got, cause)
			}
			// The other order: swept first, the end finds nothing to end.
			hash = assisting("swept, then ended")
			if _, err := s.DeleteExpiredSessions(ctx, testSessionLimits); err != nil {
				t.Fatal(err)
			}
			if ended, err := s.EndAssist(ctx, hash, cause); err != nil || ended {
				t.Fatalf("EndAssist of a swept session = %v, %v; want false, nil", ended, err)
			}
			if n := len(ends()); n != 2 {
				t.Fatalf("%d assist.end entries, want 2", n)
			}
			// At once.
			const rounds = 10
			for i := range rounds {
				hash := assisting("raced-" + strconv.Itoa(i))
				start := make(chan struct{})
				errs := make(chan error, 2)
				for _, end := range []func() error{
					func() error { _, err := s.EndAssist(ctx, hash, cause); return err },
					func() error { _, err := s.DeleteExpiredSessions(ctx, testSessionLimits); return err },
				} {
					go func() { <-start; errs <- end() }()
				}
				close(start)
				for range 2 {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
				if n := len(ends()); n != 3+i {
					t.Fatalf("round %d: %d assist.end entries, want %d", i, n, 3+i)
				}
			}
		})
	}
}
