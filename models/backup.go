package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gormsqlite "github.com/libtnb/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Backups of the SQLite database (carrel backup, carrel restore). A copy
// is made with VACUUM INTO, which reads the database in one read
// transaction: in WAL mode it does not block the portal's writes, and the
// copy is the database as it was when that transaction began, every table
// at the same instant. SQLite does not sync the file it writes, so the
// copy goes to a file beside the target, is synced, checked and only then
// renamed to its name: a file with the target's name is always complete.
// On PostgreSQL pg_dump does this work; Carrel only says how to call it.

// ErrNotCarrelDatabase is returned for a file that is a SQLite database
// but not one Carrel made (it has no migrations table), or one made by a
// newer release (it has steps this binary does not know).
var ErrNotCarrelDatabase = errors.New("not a Carrel database")

// ErrNotSQLite is returned for a file that is not a SQLite database.
var ErrNotSQLite = errors.New("not a SQLite database")

// SQLitePath is the file a SQLite database URL names (CARREL_DATABASE_URL
// or the data folder's carrel.db).
func SQLitePath(url string) string { return strings.TrimPrefix(url, "sqlite://") }

// KnownMigrations lists, oldest first, the IDs of every step this binary
// knows.
func KnownMigrations() []string {
	ids := make([]string, len(migrations))
	for i, m := range migrations {
		ids[i] = m.ID
	}
	return ids
}

// BackupInfo describes a database file a backup or a restore wrote.
type BackupInfo struct {
	Path       string
	Size       int64
	Migrations []string // the steps applied in it, oldest first
}

// BackupSQLite copies the SQLite database file src to the new file dst,
// consistently, while others go on writing to it; src is opened
// read-only, so the backup never writes to it. dst must not exist (an
// error wrapping fs.ErrExist names it), nor dst+".partial", where the copy
// is written first. The copy is checked (PRAGMA integrity_check, the same
// migrations as src) before it takes dst's name; it has mode 0600.
func BackupSQLite(ctx context.Context, src, dst string) (BackupInfo, error) {
	if _, err := os.Lstat(dst); err == nil {
		return BackupInfo{}, fmt.Errorf("%s: %w", dst, fs.ErrExist)
	}
	db, err := OpenReadOnly(src)
	if err != nil {
		return BackupInfo{}, err
	}
	defer CloseDB(db)
	var want []string
	if !db.WithContext(ctx).Migrator().HasTable("migrations") {
		return BackupInfo{}, fmt.Errorf("%s: %w: it has no migrations table", src, ErrNotCarrelDatabase)
	}
	partial := dst + ".partial"
	if err := vacuumInto(ctx, db, partial); err != nil {
		return BackupInfo{}, fmt.Errorf("models: backup: %w", err)
	}
	info, err := checkCopy(ctx, partial)
	if err == nil {
		if want, err = AppliedMigrations(ctx, db); err == nil && !slices.Equal(info.Migrations, want) {
			err = fmt.Errorf("the copy has migrations %v, the database %v (did a migration run meanwhile?)", info.Migrations, want)
		}
	}
	if err == nil {
		err = publish(partial, dst)
	}
	if err != nil {
		_ = os.Remove(partial)
		return BackupInfo{}, fmt.Errorf("models: backup: %w", err)
	}
	info.Path = dst
	return info, nil
}

// CheckBackup opens the SQLite file path read-only and checks that it is
// whole (PRAGMA integrity_check) and a Carrel database this binary can
// run: it has the migrations table, and no step this binary does not know
// (ErrNotCarrelDatabase otherwise). It changes nothing in the file.
func CheckBackup(ctx context.Context, path string) (BackupInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	if !st.Mode().IsRegular() {
		return BackupInfo{}, fmt.Errorf("%s is not a regular file", path)
	}
	ro, err := openReadOnly(path)
	if err != nil {
		return BackupInfo{}, err
	}
	defer CloseDB(ro)
	if err := integrity(ctx, ro); err != nil {
		return BackupInfo{}, err
	}
	m, err := Migrations(ctx, ro)
	switch {
	case err != nil:
		return BackupInfo{}, err
	case !m.Table:
		return BackupInfo{}, fmt.Errorf("%w: it has no migrations table", ErrNotCarrelDatabase)
	case len(m.Unknown) > 0:
		return BackupInfo{}, fmt.Errorf("%w this release can run: it has step %s, made by a newer release", ErrNotCarrelDatabase, m.Unknown[0])
	}
	return BackupInfo{Path: path, Size: st.Size(), Migrations: m.Applied}, nil
}

// RestoreSQLite checks the backup at src (CheckBackup) and copies it to
// dst, a database file that must not exist, nor its -wal, -shm or
// -journal (an error wrapping fs.ErrExist names the first found): a
// restore never replaces a database. dst's folder is created (0700) when
// missing. The copy is written to dst+".partial", synced and checked, and
// then takes dst's name; it has mode 0600.
func RestoreSQLite(ctx context.Context, src, dst string) (BackupInfo, error) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if _, err := os.Lstat(dst + suffix); err == nil {
			return BackupInfo{}, fmt.Errorf("%s: %w", dst+suffix, fs.ErrExist)
		}
	}
	if _, err := CheckBackup(ctx, src); err != nil {
		return BackupInfo{}, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return BackupInfo{}, fmt.Errorf("models: restore: create data folder: %w", err)
	}
	ro, err := openReadOnly(src)
	if err != nil {
		return BackupInfo{}, err
	}
	partial := dst + ".partial"
	err = vacuumInto(ctx, ro, partial)
	CloseDB(ro)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("models: restore: %w", err)
	}
	info, err := checkCopy(ctx, partial)
	if err == nil {
		err = publish(partial, dst)
	}
	if err != nil {
		_ = os.Remove(partial)
		return BackupInfo{}, fmt.Errorf("models: restore: %w", err)
	}
	info.Path = dst
	return info, nil
}

// vacuumInto writes a consistent copy of db to the new file path, mode
// 0600, and syncs it. The path is a bound parameter, never SQL text, so no
// name needs quoting; it is made absolute so that SQLite never reads it as
// a file: URI.
func vacuumInto(ctx context.Context, db *gorm.DB, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// Created here, empty (VACUUM INTO accepts an empty file), so that
	// it is ours alone (O_EXCL) and has its mode from the start.
	f, err := os.OpenFile(abs, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- the operator names the backup file
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: another backup is being written there, or one failed; remove it if none runs", path)
	} else if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := db.WithContext(ctx).Exec("VACUUM INTO ?", abs).Error; err != nil {
		_ = os.Remove(abs)
		return fmt.Errorf("copy: %w", err)
	}
	if err := syncFile(abs); err != nil {
		_ = os.Remove(abs)
		return err
	}
	return nil
}

// checkCopy checks a copy just written: whole, and a Carrel database.
func checkCopy(ctx context.Context, path string) (BackupInfo, error) {
	info, err := CheckBackup(ctx, path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("the copy %s failed its check: %w", path, err)
	}
	return info, nil
}

// publish gives the finished file partial the name dst, without ever
// replacing a file that appeared there meanwhile (a hard link fails when
// dst exists), and syncs the folder so the name survives a crash.
func publish(partial, dst string) error {
	if err := os.Link(partial, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", dst, fs.ErrExist)
		}
		// A file system without hard links: rename, having looked.
		if _, serr := os.Lstat(dst); serr == nil {
			return fmt.Errorf("%s: %w", dst, fs.ErrExist)
		}
		if err := os.Rename(partial, dst); err != nil {
			return err
		}
	} else if err := os.Remove(partial); err != nil {
		return err
	}
	return syncFile(filepath.Dir(dst))
}

// syncFile flushes a file, or a folder's entries, to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path) // #nosec G304 -- a file this package just wrote, or its folder
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// openReadOnly opens the SQLite file at path so that nothing can write
// to it (mode=ro). The path goes in a file: URI, with the characters
// that URIs give a meaning escaped.
func openReadOnly(path string) (*gorm.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	esc := sqliteURIPath(abs)
	// busy_timeout: as the portal's connections, wait for a lock rather
	// than fail at once.
	q := append([]string{"mode=ro", "_pragma=busy_timeout(10000)"}, sqliteTimeOptions...)
	db, err := gorm.Open(gormsqlite.Open("file:"+esc+"?"+strings.Join(q, "&")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, notSQLite(err))
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1)
	return db, nil
}

// OpenReadOnly opens the SQLite file at path read-only, for a look that
// must change nothing (carrel migrate --dry-run). A missing file is an
// error wrapping fs.ErrNotExist, never created.
func OpenReadOnly(path string) (*gorm.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return openReadOnly(path)
}

// integrity runs PRAGMA integrity_check, which answers one row "ok", or
// rows naming each problem.
func integrity(ctx context.Context, db *gorm.DB) error {
	var rows []string
	if err := db.WithContext(ctx).Raw("PRAGMA integrity_check").Scan(&rows).Error; err != nil {
		return notSQLite(err)
	}
	if !slices.Equal(rows, []string{"ok"}) {
		if len(rows) > 3 {
			rows = append(rows[:3], fmt.Sprintf("and %d more", len(rows)-3))
		}
		return fmt.Errorf("integrity check failed: %s", strings.Join(rows, "; "))
	}
	return nil
}

// notSQLite turns SQLite's SQLITE_NOTADB into ErrNotSQLite.
func notSQLite(err error) error {
	if se := (*sqlite.Error)(nil); errors.As(err, &se) && se.Code() == sqlite3.SQLITE_NOTADB {
		return ErrNotSQLite
	}
	return err
}

// CloseDB closes db's connections.
func CloseDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
