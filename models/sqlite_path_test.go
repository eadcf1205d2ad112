package models_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/carrel-library/carrel/models"
)

// TestSQLiteInAnyFolder: the data folder may have a name with the
// characters a file: URI gives a meaning to (?, #, %): the database is
// made and found at exactly that path.
func TestSQLiteInAnyFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "Library data? #1 100%", "carrel.db")
	for range 2 {
		db, err := models.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := models.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		models.CloseDB(db)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not where it was asked to be: %v", err)
	}
	ro, err := models.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer models.CloseDB(ro)
	if ids, err := models.AppliedMigrations(ctx, ro); err != nil || len(ids) != len(models.KnownMigrations()) {
		t.Fatalf("read back %d steps (%v)", len(ids), err)
	}
}
