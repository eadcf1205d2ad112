package ilsimport_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/ilsimport"
	"github.com/carrel-library/carrel/models/modeltest"
)

// BenchmarkImportLoans imports a loans file of a million rows (for
// 100,000 patrons) on PostgreSQL, beside two baselines measured in the
// same run on the same file: reading and checking it without writing
// (a dry run), and a plain COPY of the same rows into a table with the
// loans table's indexes and foreign key. CARREL_IMPORT_BENCH_ROWS sets
// another size, CARREL_IMPORT_BENCH_BATCH another batch size.
//
//	go test -run '^$' -bench Import -benchtime 1x ./models
func BenchmarkImportLoans(b *testing.B) {
	ctx := context.Background()
	var pg *gorm.DB
	for _, d := range modeltest.Databases(b, nil) { // fails in CI without PostgreSQL
		if d.Name == string(models.Postgres) {
			pg = d.Gorm
		}
	}
	if pg == nil {
		b.Skip("the ILS import benchmark runs on PostgreSQL, which is not reachable here")
	}
	rows, patrons := 1_000_000, 100_000
	if v, err := strconv.Atoi(os.Getenv("CARREL_IMPORT_BENCH_ROWS")); err == nil && v > 0 {
		rows, patrons = v, max(v/10, 1)
	}
	batch := 0 // the import's default
	if v, err := strconv.Atoi(os.Getenv("CARREL_IMPORT_BENCH_BATCH")); err == nil && v > 0 {
		batch = v
	}
	s := modeltest.NewStore(b, pg, nil)
	if err := pg.Exec(`INSERT INTO patrons (ils_id, card_number, pin_hash, family_name, card_expires_on, created_at, updated_at)
		SELECT 'P' || i, '29' || lpad(i::text, 12, '0'), ?, 'Patron ' || i, now() + interval '2 years', now(), now()
		FROM generate_series(1, ?) AS i`, models.UnusablePINHash, patrons).Error; err != nil {
		b.Fatalf("create patrons: %v", err)
	}
	path := writeLoansFile(b, rows, patrons)
	st, _ := os.Stat(path)
	b.Logf("%d loans for %d patrons, %.0f MB of CSV", rows, patrons, float64(st.Size())/1e6)

	importFile := func(b *testing.B, opts ilsimport.Options) ilsimport.Result {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		opts.Kind, opts.Format, opts.BatchSize = ilsimport.Loans, ilsimport.FormatCSV, batch
		res, err := ilsimport.Run(ctx, s, f, opts)
		if err != nil || res.Bad != 0 {
			b.Fatalf("import: %v (%d bad lines)", err, res.Bad)
		}
		return res
	}
	rowsPerSecond := func(b *testing.B) {
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	// Each measurement starts from a checkpoint, so that none pays for
	// the write-ahead log the one before it left (CHECKPOINT needs a
	// superuser; without one the figures are noisier).
	truncate := func(b *testing.B, table string) {
		if err := pg.Exec("TRUNCATE " + table).Error; err != nil {
			b.Fatal(err)
		}
		pg.Exec("CHECKPOINT")
	}

	pg.Exec("CHECKPOINT")
	b.Run("dry-run", func(b *testing.B) {
		for range b.N {
			if res := importFile(b, ilsimport.Options{DryRun: true}); res.Good != int64(rows) {
				b.Fatalf("dry run: %s", res.Summary())
			}
		}
		rowsPerSecond(b)
	})
	b.Run("copy", func(b *testing.B) {
		// The loans table's columns, defaults, indexes and foreign key.
		for _, q := range []string{"CREATE TABLE loans_copy (LIKE loans INCLUDING ALL)",
			"ALTER TABLE loans_copy ADD FOREIGN KEY (patron_id) REFERENCES patrons (id) ON DELETE CASCADE"} {
			if err := pg.Exec(q).Error; err != nil {
				b.Fatal(err)
			}
		}
		for range b.N {
			b.StopTimer()
			truncate(b, "loans_copy")
			b.StartTimer()
			if n := copyLoans(b, pg, path); n != int64(rows) {
				b.Fatalf("copied %d rows, want %d", n, rows)
			}
		}
		rowsPerSecond(b)
	})
	b.Run("import-new", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			truncate(b, "loans")
			b.StartTimer()
			if res := importFile(b, ilsimport.Options{}); res.Inserted != int64(rows) {
				b.Fatalf("first import: %s", res.Summary())
			}
		}
		rowsPerSecond(b)
	})
	b.Run("import-again", func(b *testing.B) {
		var n int64
		pg.Table("loans").Count(&n)
		if n != int64(rows) {
			truncate(b, "loans")
			importFile(b, ilsimport.Options{})
		}
		pg.Exec("CHECKPOINT")
		b.ResetTimer()
		for range b.N {
			if res := importFile(b, ilsimport.Options{}); res.Unchanged != int64(rows) {
				b.Fatalf("the same file again: %s", res.Summary())
			}
		}
		rowsPerSecond(b)
	})
}

// writeLoansFile writes a loans CSV of n rows spread over the patrons.
func writeLoansFile(b *testing.B, n, patrons int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "loans.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"ils_id", "patron_ils_id", "title", "author", "format", "barcode", "checked_out_at", "due_at", "renewals", "branch", "returned_at"})
	titles := []string{"Kindred", "Parable of the Sower", "The Dispossessed", "A Wizard of Earthsea", "Beloved", "The Left Hand of Darkness"}
	authors := []string{"Butler, Octavia E.", "Le Guin, Ursula K.", "Morrison, Toni"}
	base := time.Now().UTC().AddDate(0, 0, -21).Truncate(time.Second)
	for i := range n {
		out := base.Add(time.Duration(i%(20*24*60)) * time.Minute)
		_ = cw.Write([]string{
			"L" + strconv.Itoa(i+1), "P" + strconv.Itoa(i%patrons+1),
			titles[i%len(titles)] + " " + strconv.Itoa(i%997), authors[i%len(authors)], "Book",
			fmt.Sprintf("31000%09d", i), out.Format(time.RFC3339), out.AddDate(0, 0, 21).Format(time.DateOnly),
			strconv.Itoa(i % 3), "Central", "",
		})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// copyLoans is the baseline: the same file's rows sent with COPY, the
// fastest way into PostgreSQL, with only the parsing and the patron
// look-up the rows need and none of the import's checks.
func copyLoans(b *testing.B, pg *gorm.DB, path string) int64 {
	b.Helper()
	ctx := context.Background()
	ids := map[string]int64{}
	rows, err := pg.Raw("SELECT id, ils_id FROM patrons WHERE ils_id IS NOT NULL").Rows()
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var (
			id  int64
			ils string
		)
		_ = rows.Scan(&id, &ils)
		ids[ils] = id
	}
	rows.Close()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		b.Fatal(err)
	}
	sqlDB, err := pg.DB()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		src := pgx.CopyFromFunc(func() ([]any, error) {
			rec, err := r.Read()
			if err == io.EOF {
				return nil, nil
			} else if err != nil {
				return nil, err
			}
			out, err := time.Parse(time.RFC3339, rec[6])
			if err != nil {
				return nil, err
			}
			due, err := time.Parse(time.DateOnly, rec[7])
			if err != nil {
				return nil, err
			}
			renewals, _ := strconv.Atoi(rec[8])
			return []any{ids[rec[1]], rec[0], rec[2], rec[3], rec[4], rec[5], out, due, renewals, rec[9]}, nil
		})
		var err error
		n, err = dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{"loans_copy"},
			[]string{"patron_id", "ils_id", "title", "author", "format", "barcode", "checked_out_at", "due_at", "renewals", "branch"}, src)
		return err
	})
	if err != nil {
		b.Fatalf("copy: %v", err)
	}
	return n
}
