package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SigninLimits bound failed sign-ins. PINs are often four digits, so a
// card must lock after a few wrong guesses; and because per-card counters
// do nothing against one PIN tried across many cards, failures across all
// cards are counted too. Both counts live in the database, so several
// portal instances agree.
type SigninLimits struct {
	MaxFailures int           // failures within Window that lock a card
	Window      time.Duration // how far back failures count
	Lockout     time.Duration // how long a card stays locked
	// SpikeFailures is how many failures across all cards within the last
	// minute switch sign-in to the slow lane, which lets one sign-in start
	// per SpikeDelay on each instance. A sign-in waits there at most
	// SpikeWait, and at most SpikeQueue wait at once; past either, it is
	// turned away unchecked with a *BusyError.
	SpikeFailures int
	SpikeDelay    time.Duration
	SpikeWait     time.Duration
	SpikeQueue    int
}

// DefaultSigninLimits are the limits the issue and NIST guidance ask for.
func DefaultSigninLimits() SigninLimits {
	return SigninLimits{
		MaxFailures:   5,
		Window:        15 * time.Minute,
		Lockout:       15 * time.Minute,
		SpikeFailures: 100,
		SpikeDelay:    time.Second,
		SpikeWait:     5 * time.Second,
		SpikeQueue:    16,
	}
}

// ErrBadCredentials is the one answer for an unknown card, a wrong PIN, an
// unknown staff username and a wrong password.
var ErrBadCredentials = errors.New("bad credentials")

// LockedError says that an account is locked after too many failures. It
// is returned for unknown cards too, so it tells nothing about existence.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string { return "locked until " + e.Until.Format(time.RFC3339) }

// NormalizeCard strips the spaces and dashes people type into card numbers.
func NormalizeCard(card string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(card))
}

// AuthenticatePatron checks a card number and PIN. On success it records
// the sign-in time and returns the patron as it was before, so the caller
// can tell what happened since the last visit. With PatronAuth set, the
// library's system checks them (see SignInPatron) and the stored PIN hash
// is never consulted.
func (s *Store) AuthenticatePatron(ctx context.Context, card, pin string) (Patron, error) {
	if s.PatronAuth != nil {
		in, err := s.SignInPatron(ctx, card, pin)
		if err != nil {
			return Patron{}, err
		}
		return in.Patron, nil
	}
	return s.authenticateLocal(ctx, card, pin)
}

// authenticateLocal checks a card number and PIN against the stored PIN
// hash.
func (s *Store) authenticateLocal(ctx context.Context, card, pin string) (Patron, error) {
	card = NormalizeCard(card)
	var found Patron
	err := s.authenticate(ctx, "card:"+card, pin, func() (string, error) {
		err := s.db(ctx).Where("card_number = ?", card).Take(&found).Error
		if err := notFound(err); err != nil {
			return "", err
		}
		return found.PINHash, nil
	}, func(hash string) error {
		updates := map[string]any{"last_sign_in_at": s.Now()}
		if hash != "" {
			updates["pin_hash"] = hash
		}
		return s.db(ctx).Model(&Patron{}).Where("id = ?", found.ID).UpdateColumns(updates).Error
	})
	if err != nil {
		return Patron{}, err
	}
	return found, nil
}

// authenticate runs the shared sign-in procedure (see throttled) for one
// account whose secret is checked against a stored hash. load returns the
// stored hash ("" and ErrNotFound for an unknown account); succeed records
// a success, with a new hash to store when the old one was made under an
// old key.
func (s *Store) authenticate(ctx context.Context, account, secret string,
	load func() (string, error), succeed func(newHash string) error) error {
	var newHash string
	err := s.throttled(ctx, account, func() (bool, error) {
		ok, h, err := s.checkHash(ctx, secret, load)
		newHash = h
		return ok, err
	}, nil)
	if err != nil {
		return err
	}
	if err := succeed(newHash); err != nil {
		return fmt.Errorf("models: record sign-in: %w", err)
	}
	return nil
}

// checkHash is the check step of a sign-in against a stored hash: it does
// the same work whether or not the account exists, and returns the new
// hash to store when the old one was made under an old key or cost.
func (s *Store) checkHash(ctx context.Context, secret string, load func() (string, error)) (ok bool, newHash string, err error) {
	stored, err := load()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, "", fmt.Errorf("models: sign-in: %w", err)
	}
	ok, rehash, err := s.verifySecret(ctx, stored, secret)
	if err != nil && !errors.Is(err, errUnusableHash) {
		return false, "", err
	}
	if !ok || stored == "" {
		return false, "", nil
	}
	if rehash {
		if newHash, err = s.hashSecret(ctx, secret); err != nil {
			return false, "", err
		}
	}
	return true, newHash, nil
}

// throttled runs the shared sign-in procedure for one account key: wait in
// the slow lane while failures spike, count the attempt, refuse it
// unchecked when the account is locked or the attempt is over the limit,
// run check, and clear the count on success. check is the one step that
// differs: a stored hash compared (checkHash) for local patrons and staff,
// the library's system asked for patrons with PatronAuth. It reports
// whether the secret is right; a false is a failure counted towards the
// lock. An error matching ErrILSUnavailable means nothing was decided: the
// attempt's count is taken back (an outage must not lock cards) and the
// error returned.
//
// With succeed set, clearing the count and succeed run in one
// transaction; should it fail, nothing of the success is written and the
// attempt's count is taken back too.
//
// The attempt is counted before the secret is checked, in one atomic
// statement, so that however many guesses arrive at once, on however many
// instances, at most MaxFailures of them are ever checked per window, and
// a library's system behind the portal is never asked more often.
func (s *Store) throttled(ctx context.Context, account string, check func() (bool, error), succeed func(tx *gorm.DB) error) error {
	key := s.Keys.MAC("signin-throttle", account)
	client := clientOf(ctx)
	// A cheap look first, so that guesses at a locked account do not take
	// places in the slow lane; countAttempt below is what enforces the lock.
	if until, locked, err := s.lockedUntil(ctx, key); err != nil {
		return err
	} else if locked {
		s.lane.noteFailure(client, s.Now(), s.Limits.Window)
		return &LockedError{Until: until}
	}
	if err := s.paceDuringSpike(ctx, client); err != nil {
		return err
	}
	attempt, until, err := s.countAttempt(ctx, key)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		s.lane.noteFailure(client, s.Now(), s.Limits.Window)
		return &LockedError{Until: until}
	}
	ok, err := check()
	if err != nil {
		if errors.Is(err, ErrILSUnavailable) {
			s.uncountAttempt(ctx, key)
		}
		return err
	}
	if !ok {
		s.lane.noteFailure(client, s.Now(), s.Limits.Window)
		if until, locked, err := s.recordFailure(ctx, key, attempt); err != nil {
			return err
		} else if locked {
			return &LockedError{Until: until}
		}
		return ErrBadCredentials
	}
	// A lock set while this attempt was being checked stays: the other
	// guesses that set it were not this patron's.
	clear := func(db *gorm.DB) error {
		if err := db.Where("key_hash = ? AND (locked_until IS NULL OR locked_until <= ?)", key, s.Now()).
			Delete(&SigninThrottle{}).Error; err != nil {
			return fmt.Errorf("models: clear throttle: %w", err)
		}
		return nil
	}
	if succeed == nil {
		return clear(s.db(ctx))
	}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := clear(tx); err != nil {
			return err
		}
		return succeed(tx)
	})
	if err != nil {
		s.uncountAttempt(ctx, key)
		return fmt.Errorf("models: record sign-in: %w", err)
	}
	return nil
}

// uncountAttempt takes back the count of an attempt whose secret was never
// judged (the library's system did not answer) or whose success could not
// be recorded. A lock in force stays as it is. It is done even when the
// client has gone, and at best: should it fail, the attempt stays counted,
// which errs on the side of the lock.
func (s *Store) uncountAttempt(ctx context.Context, key string) {
	_ = s.db(context.WithoutCancel(ctx)).Model(&SigninThrottle{}).
		Where("key_hash = ? AND failures > 0 AND (locked_until IS NULL OR locked_until <= ?)", key, s.Now()).
		UpdateColumn("failures", gorm.Expr("failures - 1")).Error
}

func (s *Store) lockedUntil(ctx context.Context, key string) (time.Time, bool, error) {
	var t SigninThrottle
	err := s.db(ctx).Where("key_hash = ?", key).Limit(1).Find(&t).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("models: read throttle: %w", err)
	}
	if t.LockedUntil != nil && t.LockedUntil.After(s.Now()) {
		return *t.LockedUntil, true, nil
	}
	return time.Time{}, false, nil
}

// countAttempt counts one sign-in attempt for key, before its secret is
// checked, and returns its number within the window. One statement does
// it, so concurrent attempts on any number of instances each get a number
// of their own. A lock in force is left exactly as it is, and the attempt
// is refused (a non-zero until); an attempt past MaxFailures sets the lock
// and is refused the same way; a lock that has run out, or a window that
// has passed, starts a fresh count.
func (s *Store) countAttempt(ctx context.Context, key string) (attempt int, until time.Time, err error) {
	n := s.Now()
	var row struct {
		Failures    int
		LockedUntil *time.Time
	}
	err = s.db(ctx).Raw(`INSERT INTO signin_throttles (key_hash, failures, window_started_at)
		VALUES (?, 1, ?)
		ON CONFLICT (key_hash) DO UPDATE SET
			failures = CASE
				WHEN signin_throttles.locked_until > ? THEN signin_throttles.failures
				WHEN signin_throttles.window_started_at < ? OR signin_throttles.locked_until IS NOT NULL THEN 1
				ELSE signin_throttles.failures + 1 END,
			window_started_at = CASE
				WHEN signin_throttles.locked_until > ? THEN signin_throttles.window_started_at
				WHEN signin_throttles.window_started_at < ? OR signin_throttles.locked_until IS NOT NULL THEN excluded.window_started_at
				ELSE signin_throttles.window_started_at END,
			locked_until = CASE
				WHEN signin_throttles.locked_until > ? THEN signin_throttles.locked_until
				WHEN signin_throttles.window_started_at < ? OR signin_throttles.locked_until IS NOT NULL THEN NULL
				WHEN signin_throttles.failures >= ? THEN ?
				ELSE NULL END
		RETURNING failures, locked_until`,
		key, n, n, n.Add(-s.Limits.Window), n, n.Add(-s.Limits.Window),
		n, n.Add(-s.Limits.Window), s.Limits.MaxFailures, n.Add(s.Limits.Lockout)).Scan(&row).Error
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("models: count sign-in attempt: %w", err)
	}
	if row.LockedUntil != nil && row.LockedUntil.After(n) {
		return row.Failures, *row.LockedUntil, nil
	}
	return row.Failures, time.Time{}, nil
}

// recordFailure counts a failed check in the portal-wide per-minute
// buckets, and locks key when attempt was the last one allowed. The lock is
// set only when no lock is in force (so a lock never moves) and only when
// the count still stands (a success in between cleared it).
func (s *Store) recordFailure(ctx context.Context, key string, attempt int) (time.Time, bool, error) {
	n := s.Now()
	last := attempt >= s.Limits.MaxFailures
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		minute := n.Truncate(time.Minute)
		err := tx.Exec(`INSERT INTO signin_failure_buckets (minute, failures) VALUES (?, 1)
			ON CONFLICT (minute) DO UPDATE SET failures = signin_failure_buckets.failures + 1`, minute).Error
		if err != nil {
			return err
		}
		if !last {
			return nil
		}
		return tx.Model(&SigninThrottle{}).
			Where("key_hash = ? AND failures >= ? AND (locked_until IS NULL OR locked_until <= ?)", key, s.Limits.MaxFailures, n).
			UpdateColumn("locked_until", n.Add(s.Limits.Lockout)).Error
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("models: record sign-in failure: %w", err)
	}
	if !last {
		return time.Time{}, false, nil
	}
	return s.lockedUntil(ctx, key)
}

// RecentFailures counts failed sign-ins across all accounts in the current
// and the previous minute.
func (s *Store) RecentFailures(ctx context.Context) (int, error) {
	var total int
	since := s.Now().Truncate(time.Minute).Add(-time.Minute)
	err := s.db(ctx).Model(&SigninFailureBucket{}).Where("minute >= ?", since).
		Select("COALESCE(SUM(failures), 0)").Scan(&total).Error
	return total, err
}

// paceDuringSpike takes the slow lane (see signinlane.go) when failures
// across all accounts spike, so that a PIN sprayed across many cards
// proceeds at a crawl, while a patron who has not been failing waits about
// a second at most and nobody waits longer than SpikeWait.
func (s *Store) paceDuringSpike(ctx context.Context, client string) error {
	n, err := s.RecentFailures(ctx)
	if err != nil {
		return fmt.Errorf("models: read failure rate: %w", err)
	}
	if n < s.Limits.SpikeFailures {
		return nil
	}
	return s.lane.enter(ctx, client, s.Now(), s.Limits)
}

// SigninLaneWaiting is how many sign-ins wait in this instance's slow lane.
func (s *Store) SigninLaneWaiting() int { return s.lane.waitingNow() }

// SweepSigninCounters deletes failure counts that no longer matter: locks
// and windows that have passed, and per-minute buckets older than an hour.
func (s *Store) SweepSigninCounters(ctx context.Context) error {
	n := s.Now()
	err := s.db(ctx).Where("(locked_until IS NULL OR locked_until < ?) AND window_started_at < ?",
		n, n.Add(-s.Limits.Window)).Delete(&SigninThrottle{}).Error
	if err != nil {
		return fmt.Errorf("models: sweep throttles: %w", err)
	}
	if err := s.db(ctx).Where("minute < ?", n.Add(-time.Hour)).Delete(&SigninFailureBucket{}).Error; err != nil {
		return fmt.Errorf("models: sweep failure buckets: %w", err)
	}
	return nil
}
