package models_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

const (
	knownCard   = "21000000000001"
	knownPIN    = "4821"
	unknownCard = "21000000001234"
	wrongPIN    = "0000"
)

// Outcomes of a sign-in attempt.
const (
	signedIn = "signed in"
	refused  = "bad credentials"
	locked   = "locked"
)

// outcome names what a sign-in attempt came to, and the lock's end if any.
func outcome(t *testing.T, err error) (string, time.Time) {
	t.Helper()
	var le *models.LockedError
	switch {
	case err == nil:
		return signedIn, time.Time{}
	case errors.Is(err, models.ErrBadCredentials):
		return refused, time.Time{}
	case errors.As(err, &le):
		return locked, le.Until
	}
	t.Fatalf("unexpected sign-in error: %v", err)
	return "", time.Time{}
}

type attempt struct {
	advance   time.Duration // move the clock by this much first
	card, pin string
	want      string
	until     time.Duration // for locked: the lock's end, after testTime
}

func times(n int, a attempt) []attempt {
	out := make([]attempt, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func script(parts ...any) []attempt {
	var out []attempt
	for _, p := range parts {
		switch p := p.(type) {
		case attempt:
			out = append(out, p)
		case []attempt:
			out = append(out, p...)
		}
	}
	return out
}

func TestSignInLocksAfterFailures(t *testing.T) {
	t.Parallel()
	const lock = 15 * time.Minute
	bad := func(card string) attempt { return attempt{card: card, pin: wrongPIN, want: refused} }
	lockedAt := func(card, pin string, until time.Duration) attempt {
		return attempt{card: card, pin: pin, want: locked, until: until}
	}
	// Each case has a card of its own (its patron's PIN is knownPIN), and
	// a clock of its own that starts at testTime.
	cases := []struct {
		name      string
		card      string // the patron's card; "" for none
		attempts  []attempt
		throttles int64 // signin_throttles rows the case leaves behind
	}{
		{
			name: "the fifth failure locks the card for 15 minutes, even against the right PIN",
			card: "21000000000101",
			attempts: script(
				times(4, bad("21000000000101")),
				lockedAt("21000000000101", wrongPIN, lock),
				lockedAt("21000000000101", knownPIN, lock),
				attempt{advance: lock - time.Second, card: "21000000000101", pin: knownPIN, want: locked, until: lock},
				attempt{advance: 2 * time.Second, card: "21000000000101", pin: knownPIN, want: signedIn},
			),
			throttles: 0,
		},
		{
			name: "failures older than the window do not add up",
			card: "21000000000201",
			attempts: script(
				times(4, bad("21000000000201")),
				attempt{advance: 16 * time.Minute, card: "21000000000201", pin: wrongPIN, want: refused},
				times(3, bad("21000000000201")),
				lockedAt("21000000000201", wrongPIN, 16*time.Minute+lock),
			),
			throttles: 1,
		},
		{
			name: "an unknown card locks exactly like a known one",
			attempts: script(
				times(4, bad("21000000000399")),
				lockedAt("21000000000399", wrongPIN, lock),
				lockedAt("21000000000399", knownPIN, lock),
				attempt{advance: lock - time.Second, card: "21000000000399", pin: knownPIN, want: locked, until: lock},
				attempt{advance: 2 * time.Second, card: "21000000000399", pin: knownPIN, want: refused},
			),
			throttles: 1,
		},
		{
			name: "spaces and dashes count as the same card",
			card: "21000000000401",
			attempts: script(
				bad("2100 0000 0004 01"),
				bad("2100-0000-0004-01"),
				bad(" 21000000000401 "),
				bad("21000000000401"),
				lockedAt("21 00 00 00 00 04 01", wrongPIN, lock),
			),
			throttles: 1,
		},
		{
			name: "signing in clears the count",
			card: "21000000000501",
			attempts: script(
				times(4, bad("21000000000501")),
				attempt{card: "21000000000501", pin: knownPIN, want: signedIn},
				times(4, bad("21000000000501")),
				lockedAt("21000000000501", wrongPIN, lock),
			),
			throttles: 1,
		},
		{
			name: "the lock is per card",
			card: "21000000000601",
			attempts: script(
				times(4, bad("21000000000699")),
				lockedAt("21000000000699", wrongPIN, lock),
				attempt{card: "21000000000601", pin: knownPIN, want: signedIn},
			),
			throttles: 1,
		},
		{
			name: "an expired lock gives a fresh allowance",
			card: "21000000000701",
			attempts: script(
				times(4, bad("21000000000701")),
				lockedAt("21000000000701", wrongPIN, lock),
				attempt{advance: lock + time.Second, card: "21000000000701", pin: wrongPIN, want: refused},
				times(3, bad("21000000000701")),
				lockedAt("21000000000701", wrongPIN, 2*lock+time.Second),
			),
			throttles: 1,
		},
	}
	for _, db := range modeltest.Databases(t, modeltest.NewFakeClock(testTime)) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := t.Context()
					clock := modeltest.NewFakeClock(testTime)
					s := modeltest.NewStore(t, db.Gorm, clock)
					if tc.card != "" {
						createPatron(t, s, tc.card, knownPIN)
					}
					throttlesBefore := rowsWhere(t, db.Gorm, "signin_throttles", "1 = 1")
					for i, a := range tc.attempts {
						clock.Advance(a.advance)
						_, err := s.AuthenticatePatron(ctx, a.card, a.pin)
						got, until := outcome(t, err)
						if got != a.want {
							t.Fatalf("attempt %d (card %q, PIN %q at +%v): %s, want %s", i+1, a.card, a.pin,
								clock.Now().Sub(testTime), got, a.want)
						}
						if want := testTime.Add(a.until); got == locked && !until.Equal(want) {
							t.Errorf("attempt %d: locked until %v, want %v", i+1, until, want)
						}
					}
					if n := rowsWhere(t, db.Gorm, "signin_throttles", "1 = 1") - throttlesBefore; n != tc.throttles {
						t.Errorf("signin_throttles rows added = %d, want %d", n, tc.throttles)
					}
				})
			}
		})
	}
}

// tablesContaining lists every table where some value, in any column,
// contains needle.
func tablesContaining(t *testing.T, db *gorm.DB, needle string) []string {
	t.Helper()
	m := db.Migrator()
	tables, err := m.GetTables()
	if err != nil {
		t.Fatalf("GetTables: %v", err)
	}
	var found []string
	searched := 0
	for _, table := range tables {
		if table == "sqlite_sequence" {
			continue
		}
		cols, err := m.ColumnTypes(table)
		if err != nil {
			t.Fatalf("ColumnTypes(%s): %v", table, err)
		}
		var conds []string
		var args []any
		for _, c := range cols {
			conds = append(conds, fmt.Sprintf("CAST(%q AS TEXT) LIKE ?", c.Name()))
			args = append(args, "%"+needle+"%")
		}
		var n int64
		q := fmt.Sprintf("SELECT COUNT(*) FROM %q WHERE %s", table, strings.Join(conds, " OR "))
		if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatalf("search %s: %v", table, err)
		}
		searched += len(cols)
		if n > 0 {
			found = append(found, table)
		}
	}
	if searched < 50 {
		t.Fatalf("searched only %d columns", searched)
	}
	return found
}

func TestSignInStoresNoCardNumber(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			createPatron(t, s, knownCard, knownPIN)

			// The search finds a card number where one is stored.
			if got := tablesContaining(t, db.Gorm, knownCard); !slices.Equal(got, []string{"patrons"}) {
				t.Fatalf("tables holding the known card: %v, want [patrons]", got)
			}

			for _, card := range []string{unknownCard, knownCard} {
				for range 6 { // past the lock
					if _, err := s.AuthenticatePatron(ctx, card, wrongPIN); err == nil {
						t.Fatalf("wrong PIN for %s signed in", card)
					}
				}
			}
			if n := rowsWhere(t, db.Gorm, "signin_throttles", "1 = 1"); n != 2 {
				t.Fatalf("signin_throttles rows = %d, want one per card", n)
			}
			if got := tablesContaining(t, db.Gorm, unknownCard); len(got) != 0 {
				t.Errorf("the unknown card number is stored in clear in %v", got)
			}
			if got := tablesContaining(t, db.Gorm, knownCard); !slices.Equal(got, []string{"patrons"}) {
				t.Errorf("the known card number is stored in %v, want only in patrons", got)
			}
		})
	}
}

func TestRecentFailuresAndSweep(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime) // 10:20:30
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			// Not parallel: the engines share the clock, which moves.
			clock.Set(testTime)
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			at := func(hhmmss string) {
				t.Helper()
				tm, err := time.Parse(time.TimeOnly, hhmmss)
				if err != nil {
					t.Fatal(err)
				}
				y, mo, d := testTime.Date()
				clock.Set(time.Date(y, mo, d, tm.Hour(), tm.Minute(), tm.Second(), 0, time.UTC))
			}
			fail := func(card string, n int) {
				t.Helper()
				for range n {
					if _, err := s.AuthenticatePatron(ctx, card, wrongPIN); err == nil {
						t.Fatalf("wrong PIN for %s signed in", card)
					}
				}
			}
			recent := func(want int) {
				t.Helper()
				got, err := s.RecentFailures(ctx)
				if err != nil {
					t.Fatalf("RecentFailures: %v", err)
				}
				if got != want {
					t.Errorf("at %s RecentFailures = %d, want %d", clock.Now().Format(time.TimeOnly), got, want)
				}
			}
			sweep := func(throttles, buckets int64) {
				t.Helper()
				if err := s.SweepSigninCounters(ctx); err != nil {
					t.Fatalf("SweepSigninCounters: %v", err)
				}
				when := clock.Now().Format(time.TimeOnly)
				if n := rowsWhere(t, db.Gorm, "signin_throttles", "1 = 1"); n != throttles {
					t.Errorf("after a sweep at %s, signin_throttles rows = %d, want %d", when, n, throttles)
				}
				if n := rowsWhere(t, db.Gorm, "signin_failure_buckets", "1 = 1"); n != buckets {
					t.Errorf("after a sweep at %s, signin_failure_buckets rows = %d, want %d", when, n, buckets)
				}
			}
			const a, b, c, d = "21000000000011", "21000000000012", "21000000000013", "21000000000014"

			recent(0)
			at("10:20:30")
			fail(a, 2)
			fail(b, 1)
			fail(d, 1)
			recent(4)
			at("10:21:30")
			recent(4) // the previous minute still counts
			fail(c, 1)
			recent(5)
			at("10:22:30")
			recent(1)
			at("10:23:30")
			recent(0)
			fail(d, 3)
			if _, err := s.AuthenticatePatron(ctx, d, wrongPIN); err == nil || errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("fifth failure of card d within its window: err = %v, want locked", err)
			} // locked until 10:38:30, window from 10:20:30
			recent(4)

			sweep(4, 3) // nothing is old yet
			at("10:37:00")
			sweep(1, 3) // a, b, c's windows passed; d's has too, but it is still locked
			at("10:39:00")
			sweep(0, 3) // d's lock has passed
			at("11:22:00")
			sweep(0, 1) // the 10:20 and 10:21 buckets are over an hour old
			at("11:24:00")
			sweep(0, 0)
			recent(0)
		})
	}
}

func TestSignInSlowLaneNeverRefuses(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			s.Limits.SpikeFailures = 3
			s.Limits.SpikeDelay = 10 * time.Millisecond
			cards := []string{"21000000000021", "21000000000022", "21000000000023"}
			for _, card := range cards {
				createPatron(t, s, card, knownPIN)
			}
			for i := range s.Limits.SpikeFailures {
				card := fmt.Sprintf("2100000000990%d", i)
				if _, err := s.AuthenticatePatron(ctx, card, wrongPIN); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
				}
			}
			if n, err := s.RecentFailures(ctx); err != nil || n < s.Limits.SpikeFailures {
				t.Fatalf("RecentFailures = %d, %v; want at least %d", n, err, s.Limits.SpikeFailures)
			}

			if _, err := s.AuthenticatePatron(ctx, cards[0], knownPIN); err != nil {
				t.Fatalf("right PIN during a spike: %v", err)
			}
			// Several at once queue in the lane, and all get through within
			// its bounded wait: none is turned away.
			errs := make([]error, len(cards))
			var wg sync.WaitGroup
			for i, card := range cards {
				wg.Go(func() { _, errs[i] = s.AuthenticatePatron(ctx, card, knownPIN) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("concurrent right PIN for %s during a spike: %v", cards[i], err)
				}
			}
			// Wrong PINs are still refused, not waved through.
			if _, err := s.AuthenticatePatron(ctx, cards[1], wrongPIN); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("wrong PIN during a spike: err = %v, want ErrBadCredentials", err)
			}
		})
	}
}

func TestConcurrentFailuresAreAllCounted(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			createPatron(t, s, knownCard, knownPIN)
			maxF := s.Limits.MaxFailures

			errs := make([]error, maxF)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { _, errs[i] = s.AuthenticatePatron(ctx, knownCard, wrongPIN) })
			}
			wg.Wait()
			counts := map[string]int{}
			for _, err := range errs {
				got, _ := outcome(t, err)
				counts[got]++
			}
			// No attempt can see a lock before all of them have failed, so
			// exactly one of them is the one that locks.
			if want := map[string]int{refused: maxF - 1, locked: 1}; counts[refused] != want[refused] || counts[locked] != 1 {
				t.Errorf("outcomes of %d concurrent failures: %v, want %v", maxF, counts, want)
			}
			if _, err := s.AuthenticatePatron(ctx, knownCard, knownPIN); err == nil {
				t.Fatalf("right PIN after %d concurrent failures signed in: the card is not locked", maxF)
			} else if got, until := outcome(t, err); got != locked || !until.Equal(testTime.Add(s.Limits.Lockout)) {
				t.Errorf("right PIN after %d concurrent failures: %s until %v, want locked until %v",
					maxF, got, until, testTime.Add(s.Limits.Lockout))
			}
			if n, err := s.RecentFailures(ctx); err != nil || n != maxF {
				t.Errorf("RecentFailures = %d, %v; want %d", n, err, maxF)
			}
		})
	}
}

// A failure that was already being checked when the card locked must not
// undo the lock; otherwise an attacker who keeps two or more guesses in
// flight (or whose guesses queue in the slow lane) is never locked out.
func TestLockSurvivesFailuresInFlight(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			createPatron(t, s, knownCard, knownPIN)
			// The slow lane holds every attempt after its lock check and lets
			// them through one at a time, so that all of them pass the check
			// before the fifth one locks the card.
			s.Limits.SpikeFailures = 1
			s.Limits.SpikeDelay = 100 * time.Millisecond
			if _, err := s.AuthenticatePatron(ctx, unknownCard, wrongPIN); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("starting the spike: %v", err)
			}
			var wg sync.WaitGroup
			for range s.Limits.MaxFailures + 1 {
				wg.Go(func() { _, _ = s.AuthenticatePatron(ctx, knownCard, wrongPIN) })
			}
			wg.Wait()
			s.Limits.SpikeFailures = 1 << 20
			if _, err := s.AuthenticatePatron(ctx, knownCard, knownPIN); err == nil {
				t.Fatalf("right PIN after %d failures signed in: the lock was undone", s.Limits.MaxFailures+1)
			} else if got, _ := outcome(t, err); got != locked {
				t.Errorf("right PIN after %d failures: %s, want locked", s.Limits.MaxFailures+1, got)
			}
		})
	}
}

// Every attempt is counted before its secret is checked, atomically, so a
// burst of guesses at once gets no more checks than the lock allows, and
// a success while a lock is in force leaves the lock in place.
func TestAttemptsAreCountedBeforeTheCheck(t *testing.T) {
	t.Parallel()
	clock := modeltest.NewFakeClock(testTime)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			createPatron(t, s, knownCard, knownPIN)
			var checked atomic.Int64
			s.OnSecretCheck = func() { checked.Add(1) }
			maxF := s.Limits.MaxFailures

			// The right PIN among the first allowed attempts signs in, and
			// clears the count: the lock is not yet in force.
			for range maxF - 1 {
				if _, err := s.AuthenticatePatron(ctx, knownCard, wrongPIN); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("wrong PIN: err = %v, want ErrBadCredentials", err)
				}
			}
			if _, err := s.AuthenticatePatron(ctx, knownCard, knownPIN); err != nil {
				t.Fatalf("right PIN at attempt %d: %v", maxF, err)
			}
			if n := rowsWhere(t, db.Gorm, "signin_throttles", "1 = 1"); n != 0 {
				t.Fatalf("a success with no lock in force left %d throttle rows", n)
			}

			checked.Store(0)
			var wg sync.WaitGroup
			for range 40 {
				wg.Go(func() { _, _ = s.AuthenticatePatron(ctx, knownCard, wrongPIN) })
			}
			wg.Wait()
			if n := checked.Load(); n != int64(maxF) {
				t.Errorf("40 concurrent wrong PINs: %d checked, want exactly %d", n, maxF)
			}
			if _, err := s.AuthenticatePatron(ctx, knownCard, knownPIN); err == nil {
				t.Fatal("the right PIN signed in while the card was locked")
			} else if got, _ := outcome(t, err); got != locked {
				t.Errorf("right PIN while locked: %s, want locked", got)
			}
			if n := checked.Load(); n != int64(maxF) {
				t.Errorf("the right PIN while locked was checked: %d checks, want %d", n, maxF)
			}
			if n := rowsWhere(t, db.Gorm, "signin_throttles", "locked_until IS NOT NULL"); n != 1 {
				t.Errorf("locked throttle rows = %d, want 1", n)
			}
		})
	}
}
