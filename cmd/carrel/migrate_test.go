package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// dryRunIDs are the step IDs a migrate --dry-run listed, in order.
func dryRunIDs(out string) []string {
	var ids []string
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(l, "  "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestMigrateDryRunOnSQLite: --dry-run lists exactly the pending steps and
// changes nothing: a missing file is not created, an empty file stays
// empty, an older database's file is unchanged to the byte.
func TestMigrateDryRunOnSQLite(t *testing.T) {
	dir := isolate(t)
	db := filepath.Join(dir, "carrel.db")
	known := models.KnownMigrations()

	code, out, errs := carrel(t, "migrate", "--dry-run")
	if code != 0 || !strings.HasPrefix(out, "No database at "+db+" yet: all ") || !slices.Equal(dryRunIDs(out), known) {
		t.Errorf("dry run without a database: exit %d, %q %q; want every step: %v", code, out, errs, known)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("dry run created the database file: %v", err)
	}

	writeFile(t, dir, "carrel.db", "")
	code, out, errs = carrel(t, "migrate", "--dry-run")
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("%d migrations pending (nothing was changed", len(known))) || !slices.Equal(dryRunIDs(out), known) {
		t.Errorf("dry run on an empty file: exit %d, %q %q; want every step", code, out, errs)
	}
	if st, err := os.Stat(db); err != nil || st.Size() != 0 {
		t.Errorf("dry run changed the empty file: %v %v", st, err)
	}
	os.Remove(db)

	// A database an older release made: testdata/old-driver.db.
	old, err := os.ReadFile("../../models/testdata/old-driver.db")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "carrel.db", string(old))
	ro, err := models.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := models.AppliedMigrations(context.Background(), ro)
	models.CloseDB(ro)
	if err != nil || len(applied) == 0 || len(applied) >= len(known) || !slices.Equal(known[:len(applied)], applied) {
		t.Fatalf("old-driver.db has steps %v (%v): want a first part of %v", applied, err, known)
	}
	code, out, errs = carrel(t, "migrate", "--dry-run")
	if want := known[len(applied):]; code != 0 || !slices.Equal(dryRunIDs(out), want) || !strings.Contains(out, "carrel migrate applies them") {
		t.Errorf("dry run on an older database: exit %d, %q %q; want %v", code, out, errs, want)
	}
	if now, _ := os.ReadFile(db); !bytes.Equal(now, old) {
		t.Error("dry run changed the older database's file")
	}

	// Migrated: nothing pending.
	if code, out, errs := carrel(t, "migrate"); code != 0 || !strings.Contains(out, fmt.Sprintf("Database is up to date (%d migrations)", len(known))) {
		t.Fatalf("migrate: exit %d, %q %q", code, out, errs)
	}
	if code, out, errs := carrel(t, "migrate", "--dry-run"); code != 0 || out != "No migrations pending: the database is up to date.\n" {
		t.Errorf("dry run on a current database: exit %d, %q %q", code, out, errs)
	}

	// Migrated by a newer release: says so, exit 1.
	g, err := models.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Exec("INSERT INTO migrations (id) VALUES ('299901010001_from_the_future')")
	models.CloseDB(g)
	if code, _, errs := carrel(t, "migrate", "--dry-run"); code != 1 || !strings.Contains(errs, "the database has migrations this release does not know (299901010001_from_the_future): a newer release migrated it") {
		t.Errorf("dry run on a newer database: exit %d, %q", code, errs)
	}

	// Usage.
	for _, args := range [][]string{{"migrate", "--dry-run", "extra"}, {"migrate", "--bogus"}} {
		if code, _, errs := carrel(t, args...); code != 2 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "carrel migrate") {
			t.Errorf("%v: exit %d, %q; want 2 and one line", args, code, errs)
		}
	}
	if code, out, _ := carrel(t, "migrate", "--help"); code != 0 || !strings.HasPrefix(out, "Usage: carrel migrate [settings] [--dry-run]\n") || !strings.Contains(out, "--dry-run  list the pending migrations and change nothing") {
		t.Errorf("migrate --help: exit %d, %q", code, out)
	}
}

// TestMigrateDryRunOnPostgreSQL: on an empty database --dry-run lists
// every step and creates nothing, not even the migrations table; after
// carrel migrate it lists none.
func TestMigrateDryRunOnPostgreSQL(t *testing.T) {
	isolate(t)
	dbURL := modeltest.PostgresURL(t)
	t.Setenv("CARREL_DATABASE_URL", dbURL)
	known := models.KnownMigrations()
	code, out, errs := carrel(t, "migrate", "--dry-run")
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("%d migrations pending (nothing was changed; carrel migrate applies them):\n", len(known))) || !slices.Equal(dryRunIDs(out), known) {
		t.Errorf("dry run on an empty database: exit %d, %q %q; want every step", code, out, errs)
	}
	g, err := models.Open(context.Background(), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer models.CloseDB(g)
	var tables []string
	if err := g.Raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").Scan(&tables).Error; err != nil || len(tables) != 0 {
		t.Errorf("dry run left tables %v (%v); want none", tables, err)
	}
	if code, _, errs := carrel(t, "migrate"); code != 0 {
		t.Fatal(errs)
	}
	if code, out, errs := carrel(t, "migrate", "--dry-run"); code != 0 || out != "No migrations pending: the database is up to date.\n" {
		t.Errorf("dry run on a current database: exit %d, %q %q", code, out, errs)
	}
}

// TestCommandsRefuseAnOlderSchema: every command but serve, seed and
// migrate leaves a database an older release made as it is, saying to
// migrate it first: a dry run, a check or a staff account made with a new
// binary during a rolling upgrade must not migrate it (an older binary
// still serving would then refuse to start again).
func TestCommandsRefuseAnOlderSchema(t *testing.T) {
	dir := isolate(t)
	t.Setenv("CARREL_DEMO", "1")
	db := filepath.Join(dir, "carrel.db")
	old, err := os.ReadFile("../../models/testdata/old-driver.db")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "carrel.db", string(old))
	for _, args := range [][]string{{"purge", "--dry-run"}, {"audit", "verify"}, {"apikey", "list"}, {"opac", "list"}, {"digests", "status"}} {
		code, out, errs := carrel(t, args...)
		if code != 1 || !strings.Contains(errs, "run carrel migrate (or start carrel serve) first") || out != "" {
			t.Errorf("carrel %s on an older database: exit %d, %q %q", strings.Join(args, " "), code, out, errs)
		}
	}
	// Opening it may switch the file to WAL mode (models.Open), which
	// changes its header; the steps applied must be the same.
	ro, err := models.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := models.AppliedMigrations(context.Background(), ro)
	models.CloseDB(ro)
	if known := models.KnownMigrations(); err != nil || len(applied) >= len(known) {
		t.Errorf("a command migrated the older database: %d of %d steps applied (%v)", len(applied), len(known), err)
	}
	if code, _, errs := carrel(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %q", code, errs)
	}
	if code, out, errs := carrel(t, "purge", "--dry-run"); code != 0 || !strings.Contains(out, "Would delete") {
		t.Errorf("purge --dry-run once migrated: exit %d, %q %q", code, out, errs)
	}
}
