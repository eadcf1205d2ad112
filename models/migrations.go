package models

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// Carrel's schema changes are versioned, forward-only steps run by
// gormigrate, which records each applied step in a "migrations" table and
// runs each step in a transaction. Each step is literal SQL, one file per
// engine, migrations/sqlite/<id>.sql and migrations/postgres/<id>.sql,
// frozen when its release ships: no Go code builds a step's SQL, so later
// changes to the structs or to helpers never alter what an old step does,
// and a database created by any release upgrades the same way. Steps run in
// the order of their ids. Adding one means adding its two files, its line
// in frozenSteps (migrations_internal_test.go, which pins every step's
// SQL), and regenerating the golden schema dumps in testdata/ (see
// TestGoldenSchema).
//
// A file is a series of statements, each ending with a semicolon at the end
// of a line followed by a blank line (or the end of the file); a statement
// holds no blank line. Lines starting with "--" before a statement are
// comments and are not sent. A statement's text, indentation included, is
// sent as written: SQLite keeps the text of each CREATE statement and
// PostgreSQL the body of each function, and the golden dumps compare them.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrations is the ordered list of schema steps.
var migrations = mustSteps()

func mustSteps() []*gormigrate.Migration {
	steps, err := loadSteps(migrationFiles)
	if err != nil {
		panic(err)
	}
	return steps
}

// loadSteps reads the steps from fsys: one per id, in id order, each with
// a file for both engines.
func loadSteps(fsys fs.FS) ([]*gormigrate.Migration, error) {
	files := map[Dialect]map[string][]string{}
	for _, d := range []Dialect{SQLite, Postgres} {
		dir := "migrations/" + string(d)
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("models: migrations: %w", err)
		}
		files[d] = map[string][]string{}
		for _, e := range entries {
			id, ok := strings.CutSuffix(e.Name(), ".sql")
			if !ok || e.IsDir() {
				return nil, fmt.Errorf("models: migrations: %s/%s is not a step's .sql file", dir, e.Name())
			}
			text, err := fs.ReadFile(fsys, dir+"/"+e.Name())
			if err != nil {
				return nil, fmt.Errorf("models: migrations: %w", err)
			}
			stmts, err := splitStatements(string(text))
			if err != nil {
				return nil, fmt.Errorf("models: migrations: %s/%s: %w", dir, e.Name(), err)
			}
			files[d][id] = stmts
		}
	}
	var steps []*gormigrate.Migration
	for _, id := range slices.Sorted(maps.Keys(files[SQLite])) {
		if _, ok := files[Postgres][id]; !ok {
			return nil, fmt.Errorf("models: migrations: step %s has no postgres file", id)
		}
		steps = append(steps, &gormigrate.Migration{ID: id, Migrate: runStep(id, files[SQLite][id], files[Postgres][id])})
	}
	for id := range files[Postgres] {
		if _, ok := files[SQLite][id]; !ok {
			return nil, fmt.Errorf("models: migrations: step %s has no sqlite file", id)
		}
	}
	return steps, nil
}

// runStep runs a step's statements for the engine of tx, in order.
func runStep(id string, sqlite, postgres []string) func(*gorm.DB) error {
	return func(tx *gorm.DB) error {
		stmts := sqlite
		if DialectOfDB(tx) == Postgres {
			stmts = postgres
		}
		for _, s := range stmts {
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("%s: %s: %w", id, strings.SplitN(s, "(", 2)[0], err)
			}
		}
		return nil
	}
}

// splitStatements cuts a step's file into its statements (see above).
func splitStatements(text string) ([]string, error) {
	var (
		stmts []string
		cur   []string
	)
	lines := strings.Split(strings.TrimRight(text, " \t\r\n"), "\n")
	for i, l := range lines {
		blank := strings.TrimSpace(l) == ""
		if len(cur) == 0 {
			if blank || strings.HasPrefix(l, "--") {
				continue
			}
		} else if blank {
			return nil, fmt.Errorf("line %d: a blank line inside a statement (does the line before end with ';'?)", i+1)
		}
		cur = append(cur, l)
		if strings.HasSuffix(l, ";") && (i+1 == len(lines) || strings.TrimSpace(lines[i+1]) == "") {
			stmts = append(stmts, strings.TrimSuffix(strings.Join(cur, "\n"), ";"))
			cur = nil
		}
	}
	if len(cur) != 0 {
		return nil, errors.New("the last statement does not end with ';'")
	}
	if len(stmts) == 0 {
		return nil, errors.New("no statement")
	}
	return stmts, nil
}

// Migrate brings the schema up to date. It is safe to run on every start
// and from several processes at once on PostgreSQL, where an advisory lock
// makes the others wait.
func Migrate(ctx context.Context, db *gorm.DB) error {
	return migrateTo(ctx, db, "")
}

// migrateTo runs the steps up to and including step to ("" for all).
func migrateTo(ctx context.Context, db *gorm.DB, to string) error {
	db = db.WithContext(ctx)
	if DialectOfDB(db) == Postgres {
		// The lock belongs to one connection, so hold one for the whole run.
		return db.Connection(func(conn *gorm.DB) error {
			if err := conn.Exec(fmt.Sprintf("SELECT pg_advisory_lock(%d)", lockMigrate)).Error; err != nil {
				return fmt.Errorf("models: migration lock: %w", err)
			}
			// Released even when ctx is cancelled: the connection goes back
			// to the pool, and a lock left on it would keep every other
			// run waiting.
			defer conn.WithContext(context.WithoutCancel(ctx)).Exec(fmt.Sprintf("SELECT pg_advisory_unlock(%d)", lockMigrate))
			return migrate(conn, to)
		})
	}
	return migrate(db, to)
}

func migrate(db *gorm.DB, to string) error {
	m := gormigrate.New(db, &gormigrate.Options{
		TableName:                 "migrations",
		IDColumnName:              "id",
		IDColumnSize:              255,
		UseTransaction:            true,
		ValidateUnknownMigrations: true,
	}, migrations)
	run := m.Migrate
	if to != "" {
		run = func() error { return m.MigrateTo(to) }
	}
	if err := run(); err != nil {
		return fmt.Errorf("models: migrate: %w", err)
	}
	return nil
}

// MigrationStatus is where a database stands against the steps this
// binary knows, each list oldest first.
type MigrationStatus struct {
	// Table: the database has a migrations table (false: it is empty).
	Table bool
	// Applied are the steps the database has applied.
	Applied []string
	// Pending are the steps this binary knows that the database lacks:
	// every step on an empty database.
	Pending []string
	// Unknown are applied steps this binary does not know: a newer
	// release migrated the database, and this binary would run against
	// a schema it was not built for.
	Unknown []string
}

// Migrations reads where the database stands, changing nothing (carrel
// migrate --dry-run, carrel doctor, and every command but serve, migrate
// and seed before it opens the Store).
func Migrations(ctx context.Context, db *gorm.DB) (MigrationStatus, error) {
	var st MigrationStatus
	applied := map[string]bool{}
	if st.Table = db.WithContext(ctx).Migrator().HasTable("migrations"); st.Table {
		ids, err := AppliedMigrations(ctx, db)
		if err != nil {
			return st, fmt.Errorf("models: read the migrations table: %w", err)
		}
		st.Applied = ids
		for _, id := range ids {
			applied[id] = true
		}
	}
	known := map[string]bool{}
	for _, m := range migrations {
		known[m.ID] = true
		if !applied[m.ID] {
			st.Pending = append(st.Pending, m.ID)
		}
	}
	for _, id := range st.Applied {
		if !known[id] {
			st.Unknown = append(st.Unknown, id)
		}
	}
	return st, nil
}

// PendingMigrations is Migrations' Pending.
func PendingMigrations(ctx context.Context, db *gorm.DB) ([]string, error) {
	st, err := Migrations(ctx, db)
	return st.Pending, err
}

// AppliedMigrations lists the IDs of the steps already applied, oldest first.
func AppliedMigrations(ctx context.Context, db *gorm.DB) ([]string, error) {
	var ids []string
	err := db.WithContext(ctx).Table("migrations").Order("id").Pluck("id", &ids).Error
	return ids, err
}
