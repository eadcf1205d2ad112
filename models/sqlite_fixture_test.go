package models_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// testdata/old-driver.db is `carrel seed --demo` as written on 2 December
// 2026 by the SQLite driver Carrel shipped before (github.com/glebarez/sqlite
// v1.11.0 over modernc.org/sqlite v1.23.1), with the reading history cut to
// 40 rows and the file vacuumed to 1 KiB pages to keep it small. Every time
// in it is text in the old driver's format, "2006-01-02
// 15:04:05.999999999-07:00". testdata/old-driver-*.golden are what the old
// driver read back from it. A driver upgrade must read the file the same,
// write times in the same format (SQL compares them as text), and report
// the same constraint errors.
func TestOldDriverDatabase(t *testing.T) {
	ctx := t.Context()
	raw, err := os.ReadFile(filepath.Join("testdata", "old-driver.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "carrel.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	clock := modeltest.NewFakeClock(time.Date(2026, time.December, 2, 18, 30, 0, 0, time.UTC))
	db, err := models.Open(ctx, path, clock)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	if err := models.Migrate(ctx, db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s := modeltest.NewStore(t, db, clock)
	alex, err := s.PatronByCard(ctx, "21000000000001")
	if err != nil {
		t.Fatalf("PatronByCard: %v", err)
	}

	// Times read back exactly, in UTC (not a fixed zone, not Local).
	exact := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v (%v), want %v in UTC", what, got, got.Location(), want)
		}
	}
	exact("patron created_at", alex.CreatedAt, time.Date(2017, time.October, 2, 18, 12, 56, 344840000, time.UTC))
	var loan models.Loan
	if err := db.WithContext(ctx).First(&loan, 1).Error; err != nil {
		t.Fatal(err)
	}
	exact("loan checked_out_at", loan.CheckedOutAt, time.Date(2026, time.November, 7, 18, 12, 56, 344840000, time.UTC))
	exact("loan due_at", loan.DueAt, time.Date(2026, time.November, 28, 18, 12, 56, 344840000, time.UTC))
	var oldest models.HistoryEntry
	if err := db.WithContext(ctx).Where("patron_id = ?", alex.ID).Order("returned_at, id").First(&oldest).Error; err != nil {
		t.Fatal(err)
	}
	exact("oldest history returned_at (whole seconds)", oldest.ReturnedAt, time.Date(2018, time.December, 13, 2, 9, 43, 0, time.UTC))

	// The overview (kept summaries read as text, and live categories) and
	// the export, as the old driver read them.
	view, err := s.PatronView(ctx, alex.ID)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.OverviewWith(ctx, alex, models.SessionLimits{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}, view)
	if err != nil {
		t.Fatal(err)
	}
	var ov strings.Builder
	at := func(p *time.Time) string {
		if p == nil {
			return "-"
		}
		return p.Format(time.RFC3339Nano) + " " + p.Location().String()
	}
	for _, c := range sums {
		fmt.Fprintf(&ov, "%s\t%d\t%s\t%q\t%s\t%v\n", c.Slug, c.Count, at(c.Newest), c.NewestLabel, at(c.OldestDue), c.Paused)
	}
	golden(t, "old-driver-overview.golden", []byte(ov.String()))
	var export bytes.Buffer
	if err := s.Export(ctx, alex.ID, models.ExportMeta{Library: "Demo Library", PolicyVersion: "1", Limits: models.SessionLimits{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}}, &export); err != nil {
		t.Fatalf("Export: %v", err)
	}
	golden(t, "old-driver-export.golden", export.Bytes())

	// Times are written in the old format, so that SQL comparing a new
	// value with an old one (as text) orders them as times.
	text := func(id int64) string {
		t.Helper()
		var v string
		if err := db.WithContext(ctx).Raw("SELECT CAST(due_at AS TEXT) FROM loans WHERE id = ?", id).Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got, want := text(1), "2026-11-28 18:12:56.34484+00:00"; got != want {
		t.Errorf("old due_at text = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		due  time.Time
		want string
	}{
		{time.Date(2026, time.December, 24, 9, 30, 0, 123456000, time.UTC), "2026-12-24 09:30:00.123456+00:00"},
		{time.Date(2026, time.December, 24, 9, 30, 0, 0, time.UTC), "2026-12-24 09:30:00+00:00"},
	} {
		if err := db.WithContext(ctx).Model(&models.Loan{}).Where("id = ?", 1).Update("due_at", tc.due).Error; err != nil {
			t.Fatal(err)
		}
		if got := text(1); got != tc.want {
			t.Errorf("due_at %v written as %q, want %q", tc.due, got, tc.want)
		}
	}
	// A time given as a parameter equals, and orders against, the old
	// text: loan 3's due time is its stored text exactly.
	due3 := time.Date(2026, time.December, 7, 18, 12, 56, 344840000, time.UTC)
	for _, tc := range []struct {
		where string
		want  int64 // loan 3; loans 2 (old) and 1 (moved to the 24th)
	}{
		{"due_at = ?", 1},
		{"due_at > ?", 2},
		{"due_at >= ?", 3},
	} {
		var n int64
		if err := db.WithContext(ctx).Model(&models.Loan{}).Where("patron_id = ? AND "+tc.where, alex.ID, due3).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("loans with %s: %d, want %d", tc.where, n, tc.want)
		}
	}

	// Constraint errors keep their gorm meaning.
	ils := "fixture-dup"
	dup := func() *models.Loan {
		return &models.Loan{PatronID: alex.ID, ILSID: &ils, Title: "T", CheckedOutAt: clock.Now(), DueAt: clock.Now()}
	}
	if err := db.WithContext(ctx).Create(dup()).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(ctx).Create(dup()).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Errorf("duplicate ils_id: err = %v, want gorm.ErrDuplicatedKey", err)
	}
	orphan := &models.Loan{PatronID: 999999, Title: "T", CheckedOutAt: clock.Now(), DueAt: clock.Now()}
	if err := db.WithContext(ctx).Create(orphan).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Errorf("loan of no patron: err = %v, want gorm.ErrForeignKeyViolated", err)
	}
}

// golden compares got with testdata/name.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("CARREL_WRITE_OLD_DRIVER_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the old driver read:\n got: %.2000s\nwant: %.2000s", name, got, want)
	}
}
