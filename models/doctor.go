package models

// What carrel doctor asks of the database: each call only reads.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// DatabaseVersion is the engine's version as it reports it (SQLite's
// sqlite_version(), PostgreSQL's server_version) and, on PostgreSQL, its
// major version (0 on SQLite).
func DatabaseVersion(ctx context.Context, db *gorm.DB) (version string, major int, err error) {
	if DialectOfDB(db) == Postgres {
		var num int
		row := db.WithContext(ctx).Raw("SELECT current_setting('server_version'), current_setting('server_version_num')::int").Row()
		if err := row.Scan(&version, &num); err != nil {
			return "", 0, fmt.Errorf("models: server version: %w", err)
		}
		return version, num / 10000, nil
	}
	if err := db.WithContext(ctx).Raw("SELECT sqlite_version()").Row().Scan(&version); err != nil {
		return "", 0, fmt.Errorf("models: sqlite version: %w", err)
	}
	return version, 0, nil
}

// DatabaseNow is the database's own clock, read now: PostgreSQL's
// clock_timestamp() (the server's clock, not the transaction's start),
// SQLite's 'now' (this process's clock: SQLite runs inside it).
func DatabaseNow(ctx context.Context, db *gorm.DB) (time.Time, error) {
	if DialectOfDB(db) == Postgres {
		var t time.Time
		if err := db.WithContext(ctx).Raw("SELECT clock_timestamp()").Row().Scan(&t); err != nil {
			return time.Time{}, fmt.Errorf("models: database clock: %w", err)
		}
		return t, nil
	}
	var s string
	if err := db.WithContext(ctx).Raw("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").Row().Scan(&s); err != nil {
		return time.Time{}, fmt.Errorf("models: database clock: %w", err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("models: database clock %q: %w", s, err)
	}
	return t, nil
}

// IDs are the keys' short identifiers, current first: what a stamp or a
// hash made with each key carries, never the key.
func (k *Keys) IDs() []string { return slices.Clone(k.ids) }
