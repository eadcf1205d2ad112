package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/carrel-library/carrel/models"
	"gorm.io/gorm"
)

// migrateHelp is what `carrel migrate --help` prints.
const migrateHelp = `Usage: carrel migrate [settings] [--dry-run]

Applies the database migrations this release has and the database lacks,
oldest first, each in a transaction, and lists every applied one. carrel
serve does the same when it starts; on PostgreSQL several instances may
run it at once (a lock makes the others wait).

Flags (with the settings, listed by carrel help):
  --dry-run  list the pending migrations and change nothing: no table is
             created, not even on an empty database, and a SQLite file
             that does not exist is not created. It fails (exit 1) when
             the database has migrations this release does not know: a
             newer release migrated it.

Exit codes: 0 done (or listed), 1 it failed, 2 a usage error.
`

func migrateCmd(ctx context.Context, c *config, args []string, out io.Writer) error {
	fset := flag.NewFlagSet("carrel migrate", flag.ContinueOnError)
	dry := fset.Bool("dry-run", false, "list the pending migrations, change nothing")
	if _, err := parseArgs(fset, args, out, migrateHelp, 0); err != nil {
		return err
	}
	if *dry {
		return migrateDryRun(ctx, c, out)
	}
	db, err := models.Open(ctx, c.DatabaseURL, models.SystemClock{})
	if err != nil {
		return err
	}
	defer models.CloseDB(db)
	if err := models.Migrate(ctx, db); err != nil {
		return err
	}
	ids, err := models.AppliedMigrations(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Database is up to date (%d migrations):\n", len(ids))
	printIDs(out, ids)
	return nil
}

// migrateDryRun lists the pending migrations. A SQLite file is opened
// read-only (models.Open would create a missing file and turn an empty
// one into a database); PostgreSQL is only read.
func migrateDryRun(ctx context.Context, c *config, out io.Writer) error {
	var (
		db  *gorm.DB
		err error
	)
	if models.DialectOf(c.DatabaseURL) == models.Postgres {
		db, err = models.Open(ctx, c.DatabaseURL, models.SystemClock{})
	} else {
		path := models.SQLitePath(c.DatabaseURL)
		db, err = models.OpenReadOnly(path)
		if errors.Is(err, fs.ErrNotExist) {
			known := models.KnownMigrations()
			fmt.Fprintf(out, "No database at %s yet: all %d migrations are pending (nothing was changed):\n", path, len(known))
			printIDs(out, known)
			return nil
		}
	}
	if err != nil {
		return err
	}
	defer models.CloseDB(db)
	st, err := models.Migrations(ctx, db)
	if err != nil {
		return err
	}
	pending, unknown := st.Pending, st.Unknown
	if len(unknown) > 0 {
		return fmt.Errorf("the database has migrations this release does not know (%s): a newer release migrated it; run that release", strings.Join(unknown, ", "))
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "No migrations pending: the database is up to date.")
		return nil
	}
	fmt.Fprintf(out, "%d migrations pending (nothing was changed; carrel migrate applies them):\n", len(pending))
	printIDs(out, pending)
	return nil
}

func printIDs(out io.Writer, ids []string) {
	for _, id := range ids {
		fmt.Fprintf(out, "  %s\n", id)
	}
}
