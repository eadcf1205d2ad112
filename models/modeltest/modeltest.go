// Package modeltest gives tests fresh, migrated databases on both engines
// Carrel runs on, a clock they can move, and a Store that hashes fast.
//
// PostgreSQL is found at CARREL_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); each call
// of Databases creates a database of its own there and drops it when the
// test ends. When PostgreSQL cannot be reached, tests run on SQLite alone
// and the PostgreSQL part shows as skipped, with the reason; in CI
// (CI=true) that is a failure.
package modeltest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
)

// DefaultPostgresURL is used when CARREL_TEST_DATABASE_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DB is one migrated, empty database.
type DB struct {
	Name string // "sqlite" or "postgres"
	Gorm *gorm.DB
}

// postgresMissing holds why PostgreSQL was found unreachable, so later
// calls do not wait for it again.
var postgresMissing atomic.Pointer[error]

// PostgresSkipped reports whether some test ran without PostgreSQL because
// it could not be reached.
func PostgresSkipped() bool { return postgresMissing.Load() != nil }

// Databases returns a fresh, migrated database on each available engine,
// closed (and on PostgreSQL dropped) when t ends. A nil clock is the wall
// clock.
//
// When PostgreSQL cannot be reached outside CI, the SQLite database alone
// is returned and t gets a subtest "postgres" skipped with the reason, so
// that `go test -v` (and test2json) shows SKIP where the engine did not run
// instead of a pass. In CI (CI=true) t fails.
func Databases(t testing.TB, clock models.Clock) []DB {
	t.Helper()
	if clock == nil {
		clock = models.SystemClock{}
	}
	dbs := []DB{{Name: string(models.SQLite), Gorm: SQLite(t, clock)}}
	dbURL, err := NewPostgresDatabase(t)
	if err != nil {
		skipEngine(t, err)
		return dbs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := models.Open(ctx, dbURL, clock)
	if err != nil {
		t.Fatalf("modeltest: open %s: %v", redact(dbURL), err)
	}
	// Cleanups run last-registered first: close, then drop.
	t.Cleanup(func() { closeDB(db) })
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatalf("modeltest: migrate %s: %v", redact(dbURL), err)
	}
	return append(dbs, DB{Name: string(models.Postgres), Gorm: db})
}

// URLs returns, per engine name, the address of a fresh, empty database
// for a program that opens and migrates it itself (the carrel command):
// sqlitePath, and a PostgreSQL database dropped when t ends. Without
// PostgreSQL, as for Databases, t gets a skipped subtest "postgres" (or
// fails in CI).
func URLs(t *testing.T, sqlitePath string) map[string]string {
	t.Helper()
	urls := map[string]string{string(models.SQLite): sqlitePath}
	if dbURL, err := NewPostgresDatabase(t); err != nil {
		skipEngine(t, err)
	} else {
		urls[string(models.Postgres)] = dbURL
	}
	return urls
}

// SQLite returns a fresh, migrated SQLite database in t's temporary folder.
func SQLite(t testing.TB, clock models.Clock) *gorm.DB {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, filepath.Join(t.TempDir(), "carrel.db"), clock)
	if err != nil {
		t.Fatalf("modeltest: open sqlite: %v", err)
	}
	t.Cleanup(func() { closeDB(db) })
	if err := models.Migrate(ctx, db); err != nil {
		t.Fatalf("modeltest: migrate sqlite: %v", err)
	}
	return db
}

// skipEngine records that PostgreSQL did not run for t: a skipped subtest
// "postgres" for a test, a log line for a benchmark (a sub-benchmark
// would stop the benchmark's own figures from being reported).
func skipEngine(t testing.TB, err error) {
	t.Helper()
	msg := "PostgreSQL did not run: " + err.Error()
	switch tt := t.(type) {
	case *testing.T:
		tt.Run(string(models.Postgres), func(t *testing.T) { t.Skip(msg) })
	default:
		t.Logf("SKIP: %s", msg)
	}
}

// ErrPostgresUnreachable is wrapped by the error NewPostgresDatabase
// returns when the server cannot be reached.
var ErrPostgresUnreachable = errString("PostgreSQL is unreachable")

// PostgresURL returns the address of a fresh, empty database on the
// PostgreSQL server tests use, dropped when t ends, for a test that needs
// PostgreSQL and nothing else (a server under test migrates it itself).
// When the server cannot be reached, t is skipped with the reason, or
// fails in CI (CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	dbURL, err := NewPostgresDatabase(t)
	if err != nil {
		t.Skip(err.Error())
	}
	return dbURL
}

// NewPostgresDatabase creates a fresh, empty database on the PostgreSQL
// server at CARREL_TEST_DATABASE_URL (default DefaultPostgresURL), dropped
// when t ends, and returns its address. When the server cannot be reached
// it returns an error wrapping ErrPostgresUnreachable that says how to
// start it, and the caller decides; in CI (CI=true) t fails instead. Once
// the server was found unreachable, later calls do not wait for it again.
func NewPostgresDatabase(t testing.TB) (string, error) {
	t.Helper()
	base := os.Getenv("CARREL_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	unreachable := func(err error) error {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("modeltest: PostgreSQL at %s is required in CI: %v", redact(base), err)
		}
		return fmt.Errorf("%w: %s (%v); start PostgreSQL or set CARREL_TEST_DATABASE_URL", ErrPostgresUnreachable, redact(base), err)
	}
	if errp := postgresMissing.Load(); errp != nil {
		return "", unreachable(*errp)
	}
	adminURL, err := withConnectTimeout(base)
	if err != nil {
		t.Fatalf("modeltest: CARREL_TEST_DATABASE_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := models.Open(ctx, adminURL, nil)
	if err != nil {
		postgresMissing.Store(&err)
		return "", unreachable(err)
	}
	name := "carrel_test_" + hex.EncodeToString(models.RandomBytes(8))
	// Reaching the server is bounded by connect_timeout; creating a
	// database copies the template and waits for checkpoints, which takes
	// seconds on a machine busy with other tests: give it longer.
	createCtx, cancelCreate := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelCreate()
	if err := admin.WithContext(createCtx).Exec("CREATE DATABASE " + name).Error; err != nil {
		closeDB(admin)
		t.Fatalf("modeltest: create database: %v", err)
	}
	// Registered before whatever opens the database, so it runs after
	// that has closed it.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin.WithContext(ctx).Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			t.Errorf("modeltest: drop database %s: %v", name, err)
		}
		closeDB(admin)
	})
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String(), nil
}

type errString string

func (e errString) Error() string { return string(e) }

// withConnectTimeout checks that base is a URL and bounds how long a
// connection attempt may take, so an unreachable host fails quickly.
func withConnectTimeout(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", errString("want a postgres:// URL")
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "3")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// redact hides a password in a URL for logging.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// TestKey is the fixed server key of test stores.
var TestKey = bytes.Repeat([]byte("carrel-test-key!"), 2)

// NewStore builds a Store over db with a fixed key and bcrypt cost 4, the
// lowest, so tests that hash PINs stay fast.
func NewStore(t testing.TB, db *gorm.DB, clock models.Clock) *models.Store {
	t.Helper()
	keys, err := models.NewKeys(TestKey)
	if err != nil {
		t.Fatalf("modeltest: keys: %v", err)
	}
	s, err := models.NewStore(db, clock, keys, 4)
	if err != nil {
		t.Fatalf("modeltest: store: %v", err)
	}
	s.ArrivalLinkOrigins = []string{CatalogOrigin}
	return s
}

// CatalogOrigin is the catalog the tests' new arrivals link to; NewStore
// accepts arrival links on it, as CARREL_ARRIVAL_LINK_ORIGINS would.
const CatalogOrigin = "https://catalog.example.org"

// FakeClock is a clock that moves only when told.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock stopped at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var _ models.Clock = (*FakeClock)(nil)
