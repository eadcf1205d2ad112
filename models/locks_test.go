package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// A purge whose caller gives up (a shutdown, a cancelled request) just as
// its session lock is granted must not leave the lock held: the
// connection would go back to the pool holding it, and every purge on
// another connection would report ErrPurgeBusy until that one closed. The
// cancellation here lands while the answer to pg_try_advisory_lock is
// still open: database/sql then closes the result with the context's
// error, so the code sees no lock while the server has granted it. That
// failed when the lock was taken on the caller's context.
func TestPurgeReleasesItsLockWhenCancelled(t *testing.T) {
	t.Parallel()
	g := postgresOnly(t)
	s := modeltest.NewStore(t, g, modeltest.NewFakeClock(testTime))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cancelAfter(t, g, "pg_try_advisory_lock", cancel)

	_, err := s.Purge(ctx, false, 10, testSessionLimits)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Purge cancelled after taking its lock = %v, want context.Canceled", err)
	}
	if n := advisoryLocksHeld(t, g); n != 0 {
		t.Errorf("after a cancelled purge, %d advisory locks are still held", n)
	}
	// And the next purge runs. (On its own this could pass with the lock
	// left held, if it were given the very connection holding it: a
	// session lock is re-entrant. pg_locks above is the sure check.)
	if _, err := s.Purge(t.Context(), true, 10, testSessionLimits); err != nil {
		t.Errorf("a purge after the cancelled one: %v", err)
	}
}

// A migration cancelled right after its lock is granted releases it too.
// (This one cannot fail on the code that released the lock on the
// caller's context: pgx reports an Exec on a cancelled context as a bad
// connection, database/sql closes that connection, and the server drops
// the lock with it. The lock is now released on the connection itself,
// which is kept.)
func TestMigrateReleasesItsLockWhenCancelled(t *testing.T) {
	t.Parallel()
	g := postgresOnly(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cancelAfter(t, g, "pg_advisory_lock", cancel)

	if err := models.Migrate(ctx, g); !errors.Is(err, context.Canceled) {
		t.Fatalf("Migrate cancelled after taking its lock = %v, want context.Canceled", err)
	}
	if n := advisoryLocksHeld(t, g); n != 0 {
		t.Errorf("after a cancelled migration, %d advisory locks are still held", n)
	}
}

// postgresOnly gives a migrated PostgreSQL database, or skips: SQLite
// takes no advisory lock.
func postgresOnly(t *testing.T) *gorm.DB {
	t.Helper()
	for _, db := range modeltest.Databases(t, nil) {
		if db.Name == string(models.Postgres) {
			return db.Gorm
		}
	}
	t.Skip("PostgreSQL is not reachable; advisory locks exist only there")
	return nil
}

// cancelAfter calls cancel as soon as a statement calling function fn has
// run on g, before its answer is read, and gives database/sql a moment to
// act on it.
func cancelAfter(t *testing.T, g *gorm.DB, fn string, cancel context.CancelFunc) {
	t.Helper()
	hook := func(tx *gorm.DB) {
		if tx.Error == nil && strings.Contains(tx.Statement.SQL.String(), fn+"(") {
			cancel()
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := g.Callback().Raw().After("gorm:raw").Register("test:cancel_after_lock", hook); err != nil {
		t.Fatal(err)
	}
	if err := g.Callback().Row().After("gorm:row").Register("test:cancel_after_lock", hook); err != nil {
		t.Fatal(err)
	}
}

// advisoryLocksHeld counts the advisory locks held in g's database, by any
// connection.
func advisoryLocksHeld(t *testing.T, g *gorm.DB) int64 {
	t.Helper()
	var n int64
	err := g.WithContext(t.Context()).Raw(`SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n).Error
	if err != nil {
		t.Fatal(err)
	}
	return n
}
