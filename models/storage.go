package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"modernc.org/sqlite"
)

// SQLite's primary result codes that say the storage, not the request, is
// at fault (https://sqlite.org/rescode.html).
const (
	sqliteReadOnly = 8  // SQLITE_READONLY: the file, folder or connection is read-only
	sqliteIOErr    = 10 // SQLITE_IOERR: the operating system refused a read or write
	sqliteFull     = 13 // SQLITE_FULL: the disk is full
	sqliteCantOpen = 14 // SQLITE_CANTOPEN: the journal or the file cannot be opened
)

// IsStorageFailure reports whether err is the database refusing to store
// anything, whatever was asked: a full disk, read-only files or a
// read-only server (a PostgreSQL standby, or a database set read-only),
// failing I/O. Such a failure is the portal's, not the visitor's: nothing
// the visitor did or could do differently caused it, and trying again
// later may work.
func IsStorageFailure(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteReadOnly, sqliteIOErr, sqliteFull, sqliteCantOpen:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 25006 read_only_sql_transaction; class 53 insufficient
		// resources (53100 disk_full, 53200 out_of_memory, ...); 58030
		// io_error.
		return pe.Code == "25006" || strings.HasPrefix(pe.Code, "53") || pe.Code == "58030"
	}
	return false
}

// ProbeWrite reports whether the database accepts writes, without
// changing anything: an UPDATE that matches no row, which SQLite refuses
// on a read-only connection or file and PostgreSQL in a read-only
// transaction (a standby, default_transaction_read_only), as they would
// any real change. A full disk is not found this way (nothing grows): the
// readiness check also remembers recent storage failures (web).
func ProbeWrite(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).Exec("UPDATE migrations SET id = id WHERE 1 = 0").Error; err != nil {
		return fmt.Errorf("models: write probe: %w", err)
	}
	return nil
}
