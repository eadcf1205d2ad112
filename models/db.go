// Package models owns Carrel's data and its rules: the gorm models, the
// versioned migrations, the Store that every handler goes through, and the
// rules (hashing, throttling, ledgers) that keep the data honest.
package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database engine behind a connection.
type Dialect string

// The two engines Carrel runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Clock tells the time. Production uses the wall clock; tests inject a
// clock they can move, so timeouts are tested without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// now is the store's notion of the current time: UTC, at the microsecond
// precision both engines keep, so that what is written compares equal to
// what is read back.
func now(c Clock) time.Time { return c.Now().UTC().Truncate(time.Microsecond) }

// DialectOf reports which engine a URL selects: postgres:// and
// postgresql:// select PostgreSQL, anything else is a SQLite file path.
func DialectOf(url string) Dialect {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// sqlitePragmas are the settings every SQLite connection needs, each for a
// reason:
//   - foreign_keys: SQLite ignores REFERENCES unless told, and patron
//     deletion relies on ON DELETE CASCADE to leave nothing behind;
//   - journal_mode=WAL: readers do not block the writer;
//   - busy_timeout: a second process (carrel purge beside carrel serve)
//     waits for the lock instead of failing at once;
//   - synchronous=NORMAL: durable across application crashes, and safe
//     with WAL.
var sqlitePragmas = []struct{ name, value, want string }{
	{"foreign_keys", "1", "1"},
	{"journal_mode", "WAL", "wal"},
	{"busy_timeout", "10000", "10000"},
	{"synchronous", "NORMAL", "1"},
}

// sqliteTimeOptions fix how the driver (modernc.org/sqlite) writes and
// reads times, to what Carrel's files have always held: SQLite stores a
// time as text, and SQL compares it as text with the values and parameters
// beside it, so the format is part of the schema.
//   - _time_format=sqlite: written as "2006-01-02 15:04:05.999999999-07:00"
//     ("2026-11-28 18:12:56.34484+00:00"), the format of every file written
//     before (glebarez/sqlite's default);
//   - _timezone=UTC: written in UTC, as the store always gives them, and
//     read back in time.UTC rather than in a zone made from the offset;
//   - _texttotime=0, _inttotime=0: only text in a DATE, DATETIME or
//     TIMESTAMP column is read as a time; an expression's text (MAX(x), a
//     summary's CASE) stays a string, for parseDBTime.
//
// testdata/old-driver.db and TestOldDriverDatabase pin all of this.
var sqliteTimeOptions = []string{"_time_format=sqlite", "_timezone=UTC", "_texttotime=0", "_inttotime=0"}

// Open connects to the database at url (a postgres:// URL, or a SQLite file
// path) and checks that it answers. The SQLite file's folder is created.
func Open(ctx context.Context, url string, clock Clock) (*gorm.DB, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	cfg := &gorm.Config{
		TranslateError: true,
		NowFunc:        func() time.Time { return now(clock) },
		Logger:         logger.Discard,
	}
	var (
		db  *gorm.DB
		err error
	)
	switch DialectOf(url) {
	case Postgres:
		db, err = gorm.Open(postgres.Open(url), cfg)
		if err != nil {
			return nil, fmt.Errorf("models: open postgres: %w", err)
		}
		sqlDB, _ := db.DB()
		// As many idle as open: with fewer, a burst above the idle limit
		// closes connections as they are returned and opens new ones (a
		// new PostgreSQL backend each) for the next request. The load
		// benchmark saw hundreds of reconnections a minute at 32 clients.
		// Idle ones still close after five minutes.
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	default:
		path := strings.TrimPrefix(url, "sqlite://")
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("models: create data folder: %w", err)
			}
		}
		q := make([]string, 0, len(sqlitePragmas))
		for _, p := range sqlitePragmas {
			q = append(q, "_pragma="+p.name+"("+p.value+")")
		}
		// _txlock=immediate: a transaction takes the write lock when it
		// begins, so a second process waits (busy_timeout) instead of
		// failing with SQLITE_BUSY when its read turns into a write.
		q = append(q, "_txlock=immediate")
		q = append(q, sqliteTimeOptions...)
		db, err = gorm.Open(sqlite.Open("file:"+sqliteURIPath(path)+"?"+strings.Join(q, "&")), cfg)
		if err != nil {
			return nil, fmt.Errorf("models: open sqlite: %w", err)
		}
		// One connection: SQLite has one writer at a time anyway, and a
		// single connection turns lock contention into orderly queueing
		// instead of SQLITE_BUSY errors.
		sqlDB, _ := db.DB()
		sqlDB.SetMaxOpenConns(1)
		if err := checkPragmas(ctx, db); err != nil {
			return nil, err
		}
	}
	if err := Ping(ctx, db); err != nil {
		return nil, err
	}
	return db, nil
}

// sqliteURIPath is a file path as the file: URI of a SQLite DSN must
// spell it: the characters that would end the path (?, #) or start an
// escape (%) escaped, so that a data folder may have any name.
var sqliteURIPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace

// checkPragmas reads every SQLite setting back: a malformed DSN option can
// silently stop the driver from applying the rest.
func checkPragmas(ctx context.Context, db *gorm.DB) error {
	for _, p := range sqlitePragmas {
		var got string
		if err := db.WithContext(ctx).Raw("PRAGMA " + p.name).Scan(&got).Error; err != nil {
			return fmt.Errorf("models: read pragma %s: %w", p.name, err)
		}
		if strings.ToLower(got) != p.want {
			return fmt.Errorf("models: sqlite pragma %s is %q, want %q", p.name, got, p.want)
		}
	}
	return nil
}

// Ping reports whether the database answers within two seconds.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	return nil
}

// DialectOfDB reports the engine behind an open connection.
func DialectOfDB(db *gorm.DB) Dialect {
	if db.Dialector.Name() == "postgres" {
		return Postgres
	}
	return SQLite
}

// ErrNotFound is returned when a record does not exist or does not belong
// to the patron asking for it: the two are deliberately indistinguishable.
var ErrNotFound = errors.New("not found")

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}
