package models_test

// The SQLite engine's benchmark: what a single-library install does on its
// embedded database, through the Store. It compares SQLite drivers (issue
// 18 point 10); PostgreSQL has web's BenchmarkPortal.
//
//	go test -run '^$' -bench 'BenchmarkSQLite' -benchtime 3s ./models/

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// BenchmarkSQLite measures, on a SQLite file:
//   - setup: open, migrate and seed the demo data (carrel seed --demo), each
//     iteration in a new file;
//   - overview: the heavy demo reader's overview (what /data loads);
//   - history: the first page of her reading history (what
//     /data/reading-history loads).
func BenchmarkSQLite(b *testing.B) {
	ctx := context.Background()
	clock := modeltest.NewFakeClock(time.Date(2026, time.April, 7, 10, 20, 30, 0, time.UTC))
	setup := func(b *testing.B, path string) (*models.Store, models.Patron) {
		db, err := models.Open(ctx, path, clock)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				_ = sqlDB.Close()
			}
		})
		if err := models.Migrate(ctx, db); err != nil {
			b.Fatal(err)
		}
		s := modeltest.NewStore(b, db, clock)
		if _, err := s.SeedDemo(ctx); err != nil {
			b.Fatal(err)
		}
		p, err := s.PatronByCard(ctx, models.DemoAccounts()[0].Login)
		if err != nil {
			b.Fatal(err)
		}
		return s, p
	}

	b.Run("setup", func(b *testing.B) {
		dir := b.TempDir()
		for i := 0; b.Loop(); i++ {
			s, _ := setup(b, filepath.Join(dir, time.Duration(i).String(), "carrel.db"))
			if sqlDB, err := s.DB.DB(); err == nil {
				_ = sqlDB.Close()
			}
		}
	})

	s, p := setup(b, filepath.Join(b.TempDir(), "carrel.db"))
	limits := models.SessionLimits{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	b.Run("overview", func(b *testing.B) {
		for b.Loop() {
			v, err := s.PatronView(ctx, p.ID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.OverviewWith(ctx, p, limits, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("history", func(b *testing.B) {
		for b.Loop() {
			v, err := s.PatronView(ctx, p.ID)
			if err != nil {
				b.Fatal(err)
			}
			pg, err := s.History(ctx, p.ID, models.PageRequest{Limit: models.DefaultPageSize, Hide: v.Hide("reading_history")})
			if err != nil {
				b.Fatal(err)
			}
			if len(pg.Rows) == 0 {
				b.Fatal("history: no rows")
			}
		}
	})
}
