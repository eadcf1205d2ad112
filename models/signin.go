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
	// minute switch sign-in to the slow lane: one check at a time per
	// instance, each after SpikeDelay.
	SpikeFailures int
	SpikeDelay    time.Duration
}

// DefaultSigninLimits are the limits the issue and NIST guidance ask for.
func DefaultSigninLimits() SigninLimits {
	return SigninLimits{
		MaxFailures:   5,
		Window:        15 * time.Minute,
		Lockout:       15 * time.Minute,
		SpikeFailures: 100,
		SpikeDelay:    time.Second,
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
// can tell what happened since the last visit.
func (s *Store) AuthenticatePatron(ctx context.Context, card, pin string) (Patron, error) {
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

// authenticate runs the shared sign-in procedure for one account key:
// refuse while locked, pace while failures spike, check the secret with the
// same work whether or not the account exists, count failures, and clear
// them on success. load returns the stored hash ("" and ErrNotFound for an
// unknown account); succeed records a success, with a new hash to store
// when the old one was made under an old key.
func (s *Store) authenticate(ctx context.Context, account, secret string,
	load func() (string, error), succeed func(newHash string) error) error {
	key := s.Keys.MAC("signin-throttle", account)
	if until, locked, err := s.lockedUntil(ctx, key); err != nil {
		return err
	} else if locked {
		return &LockedError{Until: until}
	}
	release, err := s.paceDuringSpike(ctx)
	if err != nil {
		return err
	}
	defer release()
	stored, err := load()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("models: sign-in: %w", err)
	}
	ok, rehash, err := s.verifySecret(ctx, stored, secret)
	if err != nil && !errors.Is(err, errUnusableHash) {
		return err
	}
	if !ok || stored == "" {
		if until, locked, err := s.recordFailure(ctx, key); err != nil {
			return err
		} else if locked {
			return &LockedError{Until: until}
		}
		return ErrBadCredentials
	}
	newHash := ""
	if rehash {
		if newHash, err = s.hashSecret(ctx, secret); err != nil {
			return err
		}
	}
	if err := s.db(ctx).Where("key_hash = ?", key).Delete(&SigninThrottle{}).Error; err != nil {
		return fmt.Errorf("models: clear throttle: %w", err)
	}
	if err := succeed(newHash); err != nil {
		return fmt.Errorf("models: record sign-in: %w", err)
	}
	return nil
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

// recordFailure counts one failure for key and for the whole portal, and
// locks key when it reaches the limit. The counting is one atomic upsert,
// so concurrent failures on several instances are all counted.
func (s *Store) recordFailure(ctx context.Context, key string) (time.Time, bool, error) {
	n := s.Now()
	windowStart := n.Add(-s.Limits.Window)
	var locked time.Time
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		// A lock in force is left exactly as it is: a guess that passed the
		// lock check before the lock was set must not lift it. A lock that
		// has run out, or a window that has passed, starts a fresh count.
		err := tx.Exec(`INSERT INTO signin_throttles (key_hash, failures, window_started_at)
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
					ELSE NULL END`,
			key, n, n, windowStart, n, windowStart, n).Error
		if err != nil {
			return err
		}
		minute := n.Truncate(time.Minute)
		err = tx.Exec(`INSERT INTO signin_failure_buckets (minute, failures) VALUES (?, 1)
			ON CONFLICT (minute) DO UPDATE SET failures = signin_failure_buckets.failures + 1`, minute).Error
		if err != nil {
			return err
		}
		var t SigninThrottle
		if err := tx.Where("key_hash = ?", key).Take(&t).Error; err != nil {
			return err
		}
		if t.LockedUntil != nil && t.LockedUntil.After(n) {
			locked = *t.LockedUntil
			return nil
		}
		if t.Failures >= s.Limits.MaxFailures {
			locked = n.Add(s.Limits.Lockout)
			return tx.Model(&SigninThrottle{}).Where("key_hash = ?", key).
				UpdateColumn("locked_until", locked).Error
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("models: record sign-in failure: %w", err)
	}
	return locked, !locked.IsZero(), nil
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

// paceDuringSpike takes the slow lane when failures spike: one sign-in at a
// time on this instance, each after a delay, so that a PIN sprayed across
// many cards proceeds at a crawl while real patrons wait a second or two.
// The returned function leaves the lane.
func (s *Store) paceDuringSpike(ctx context.Context) (release func(), err error) {
	n, err := s.RecentFailures(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: read failure rate: %w", err)
	}
	if n < s.Limits.SpikeFailures {
		return func() {}, nil
	}
	select {
	case s.slowLane <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-s.slowLane }
	select {
	case <-time.After(s.Limits.SpikeDelay):
		return release, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

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
