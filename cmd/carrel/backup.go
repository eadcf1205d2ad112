package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/carrel-library/carrel/models"
)

// backupHelp is what `carrel backup --help` prints.
const backupHelp = `Usage: carrel backup [settings] FILE

Copies the SQLite database (CARREL_DATABASE_URL, default carrel.db in
CARREL_DATA_DIR) to FILE, a new file, while the portal may be running and
writing: the copy is the whole database as it was at one instant (SQLite's
VACUUM INTO, a read transaction that does not hold up the portal's
writes). The copy is written to FILE.partial, synced to disk, checked
(PRAGMA integrity_check, the same migrations as the database) and then
renamed to FILE, mode 0600. It prints one line: the file, its size and its
number of migrations. FILE must not exist: a backup never replaces one.
The database is only read.

On PostgreSQL it makes no copy: it prints the pg_dump command that makes
one (custom format, a consistent snapshot while the portal runs) and the
pg_restore command that restores it, and exits 1, so that a script never
takes it for a backup made. The password is never printed: pg_dump reads
it from PGPASSWORD or ~/.pgpass.

A backup holds patrons' personal data: keep it as carefully as the
database. Restore with carrel restore.

Exit codes: 0 the backup is made and checked, 1 it failed (or PostgreSQL),
2 a usage error (no FILE, FILE exists, no database to copy).
`

// restoreHelp is what `carrel restore --help` prints.
const restoreHelp = `Usage: carrel restore [settings] FILE

Puts FILE, a backup made by carrel backup, in place as the SQLite database
(CARREL_DATABASE_URL, default carrel.db in CARREL_DATA_DIR). It never
replaces a database: the database file, and its -wal, -shm and -journal
files, must not exist (restore into an empty data folder, or move the old
database away first). FILE is checked first (PRAGMA integrity_check, and it
must be a Carrel database of this release or an older one); it is copied to
a temporary file beside the database, synced, checked again and renamed,
mode 0600. Stop the portal before restoring.

It changes no schema: it says whether the backup needs migrations, which
carrel migrate (or carrel serve when it starts) applies.

On PostgreSQL it restores nothing: it prints the pg_restore command that
restores a pg_dump backup into a new, empty database, and exits 1.

Exit codes: 0 restored, 1 FILE cannot be restored (not a SQLite database,
not Carrel's, damaged, or PostgreSQL), 2 a usage error (no FILE, FILE
missing, a database already in place).
`

// backupArgs parses the one FILE argument of backup and restore.
func backupArgs(name, help string, args []string, out io.Writer) (string, error) {
	pos, err := parseArgs(flag.NewFlagSet("carrel "+name, flag.ContinueOnError), args, out, help, 1)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 || pos[0] == "" {
		return "", &configError{fmt.Sprintf("%s needs one FILE (usage: carrel %s [settings] FILE; see carrel %s --help)", name, name, name)}
	}
	return pos[0], nil
}

func backupCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	file, err := backupArgs("backup", backupHelp, args, out)
	if err != nil {
		return err
	}
	if models.DialectOf(c.DatabaseURL) == models.Postgres {
		fmt.Fprint(out, pgDumpAdvice(c.DatabaseURL, file))
		return errors.New("PostgreSQL: no backup made; run pg_dump as shown above")
	}
	src := models.SQLitePath(c.DatabaseURL)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return &configError{fmt.Sprintf("no database at %s (CARREL_DATABASE_URL, or carrel.db in CARREL_DATA_DIR): nothing to copy", src)}
	}
	info, err := models.BackupSQLite(ctx, src, file)
	if errors.Is(err, fs.ErrExist) {
		return &configError{fmt.Sprintf("%s already exists; a backup never replaces a file: name a new one", file)}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(out, "Backed up %s to %s: %d bytes, %d migrations, integrity ok.\n", src, info.Path, info.Size, len(info.Migrations))
	return nil
}

func restoreCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	file, err := backupArgs("restore", restoreHelp, args, out)
	if err != nil {
		return err
	}
	if models.DialectOf(c.DatabaseURL) == models.Postgres {
		fmt.Fprint(out, pgRestoreAdvice(c.DatabaseURL, file))
		return errors.New("PostgreSQL: nothing restored; run pg_restore as shown above")
	}
	if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
		return &configError{fmt.Sprintf("%s is not a file (name a backup made by carrel backup)", file)}
	}
	dst := models.SQLitePath(c.DatabaseURL)
	info, err := models.RestoreSQLite(ctx, file, dst)
	switch {
	case errors.Is(err, fs.ErrExist):
		return &configError{fmt.Sprintf("%s already exists; restore puts a backup only where no database is: move it (and any carrel.db-wal, -shm) away, or point CARREL_DATA_DIR at an empty folder", existingName(err, dst))}
	case errors.Is(err, models.ErrNotCarrelDatabase):
		return fmt.Errorf("%s cannot be restored: %w", file, err)
	case errors.Is(err, models.ErrNotSQLite):
		return fmt.Errorf("%s cannot be restored: it is not a SQLite database", file)
	case err != nil:
		return fmt.Errorf("%s cannot be restored: %w", file, err)
	}
	fmt.Fprintf(out, "Restored %s to %s: %d bytes, %d migrations, integrity ok.\n", file, info.Path, info.Size, len(info.Migrations))
	db, err := models.OpenReadOnly(info.Path)
	if err != nil {
		return err
	}
	defer models.CloseDB(db)
	pending, err := models.PendingMigrations(ctx, db)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "Its schema is current: carrel serve can start on it.")
	} else {
		fmt.Fprintf(out, "It needs %d migrations (%s): carrel migrate, or carrel serve when it starts, applies them.\n", len(pending), strings.Join(pending, ", "))
	}
	return nil
}

// existingName is the file an fs.ErrExist from RestoreSQLite names (the
// database, or its -wal or -shm file), else the database's.
func existingName(err error, dst string) string {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if strings.Contains(err.Error(), dst+suffix+":") {
			return dst + suffix
		}
	}
	return dst
}

// pgURLWithoutPassword is the database URL as pg_dump and pg_restore are
// given it: the password left out (they read PGPASSWORD or ~/.pgpass).
func pgURLWithoutPassword(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://USER@HOST/DATABASE"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// shellQuote quotes s for a POSIX shell: the commands printed are meant
// to be pasted as they are.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func pgDumpAdvice(dbURL, file string) string {
	return fmt.Sprintf(`On PostgreSQL, carrel backup makes no copy: pg_dump does, a consistent snapshot
while the portal runs. Make the backup with:

  pg_dump --format=custom --file=%s --dbname=%s

To restore it, create a new, empty database (createdb --owner=ROLE NAME)
and run, as the role Carrel connects as, with the new database's address
in --dbname:

  pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname=%s %s

Neither command takes the password: set PGPASSWORD or use ~/.pgpass.
pg_dump must be of the server's major version or newer.
`, shellQuote(file), shellQuote(pgURLWithoutPassword(dbURL)), shellQuote(pgURLWithoutPassword(dbURL)), shellQuote(file))
}

func pgRestoreAdvice(dbURL, file string) string {
	return fmt.Sprintf(`On PostgreSQL, carrel restore restores nothing: pg_restore does. Create a new,
empty database (createdb --owner=ROLE NAME), point CARREL_DATABASE_URL at
it, and, as the role Carrel connects as, run:

  pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname=%s %s

It does not take the password: set PGPASSWORD or use ~/.pgpass. Then
carrel migrate (or carrel serve when it starts) applies any pending
migrations.
`, shellQuote(pgURLWithoutPassword(dbURL)), shellQuote(file))
}
