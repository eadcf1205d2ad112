package models_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// TestBackupPathsAreNeverSQL: file names with quotes, URI characters and
// spaces are backed up and restored as named: the name is a bound
// parameter and an escaped URI, never SQL or URI text.
func TestBackupPathsAreNeverSQL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := modeltest.SQLite(t, nil)
	var src string
	if err := db.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&src).Error; err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "it's a ?folder# of 100%")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, `backup'); DROP TABLE patrons; --.db`)
	info, err := models.BackupSQLite(ctx, src, file)
	if err != nil {
		t.Fatal(err)
	}
	want := models.KnownMigrations()
	if info.Path != file || info.Size == 0 || !slices.Equal(info.Migrations, want) {
		t.Errorf("backup: %+v", info)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != filepath.Base(file) {
		t.Errorf("the folder holds %v, want the backup alone", entries)
	}
	if _, err := models.BackupSQLite(ctx, src, file); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second backup to the same file: %v, want fs.ErrExist", err)
	}

	dst := filepath.Join(dir, "data?x=1#y", "carrel.db")
	info, err = models.RestoreSQLite(ctx, file, dst)
	if err != nil || info.Path != dst || !slices.Equal(info.Migrations, want) {
		t.Fatalf("restore: %+v %v", info, err)
	}
	if st, err := os.Stat(dst); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("restored file: %v %v", st, err)
	}
	if _, err := models.RestoreSQLite(ctx, file, dst); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second restore over the first: %v, want fs.ErrExist", err)
	}
	if _, err := models.CheckBackup(ctx, dst); err != nil {
		t.Errorf("the restored database fails its check: %v", err)
	}
}
