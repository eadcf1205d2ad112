package models_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// The matching benchmark's library: 200,000 patrons who linked favorites,
// five each (three authors, two subjects), 1,000,000 in all, drawn from a
// vocabulary of 50,000 authors and 10,000 subjects with a skew (the n-th
// most popular is followed about 1/sqrt(n) as often), so that popular
// names are shared by thousands and most by a few. One patron in ten
// chose no notices. Then 10,000 new items arrive, each with 1-3 authors
// and 1-3 subjects drawn evenly from the same vocabulary, half of the
// subjects with a subdivision ("Topic 17 -- Fiction") that also matches
// the broader heading.
const (
	benchPatrons  = 200000
	benchAuthors  = 50000
	benchSubjects = 10000
	benchItems    = 10000
)

// BenchmarkArrivalMatching times AddArrivals for 10,000 new items against
// 1,000,000 linked favorites on PostgreSQL: the upsert and terms in one
// transaction, then the matching, shared between two connections.
// Beside it, from the same run: the same work for 10,000 items nobody
// follows (upsert and terms, and a match that finds nothing), and the
// read half of the match alone (a COUNT over the same join).
//
//	go test -run '^$' -bench BenchmarkArrivalMatching -benchtime 1x -count 1 -timeout 30m ./models/
func BenchmarkArrivalMatching(b *testing.B) {
	var db *gorm.DB
	for _, d := range modeltest.Databases(b, nil) {
		if d.Name == string(models.Postgres) {
			db = d.Gorm
		}
	}
	if db == nil {
		b.Skip("SKIP: the matching benchmark needs PostgreSQL (CARREL_TEST_DATABASE_URL)")
	}
	s := modeltest.NewStore(b, db, nil)
	ctx := b.Context()
	start := time.Now()
	// u(n, φ) is n·φ mod 1, an even spread over [0, 1) without randomness;
	// squaring it skews the choice towards small (popular) indexes.
	for _, l := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO patrons (card_number, pin_hash, family_name, card_expires_on, favorites_linked, favorites_notice, created_at, updated_at)
		SELECT '4' || lpad(n::text, 13, '0'), 'x', 'Reader ' || n, now() + interval '2 years', TRUE,
			CASE WHEN n % 10 = 0 THEN 'none' WHEN n % 2 = 1 THEN 'weekly' ELSE 'daily' END, now(), now()
		FROM generate_series(1, ?) AS n`, []any{benchPatrons}},
		{`INSERT INTO favorites (patron_id, kind, display, normalized, created_at)
		SELECT p.id, 'author', 'Author ' || a, 'author ' || a, now()
		FROM (SELECT id, floor(? * power(id * 0.6180339887498949 - floor(id * 0.6180339887498949), 2))::int AS a0 FROM patrons) p
		CROSS JOIN LATERAL (VALUES (p.a0), ((p.a0 + 3331) % ?), ((p.a0 + 6662) % ?)) AS v(a)`,
			[]any{benchAuthors, benchAuthors, benchAuthors}},
		{`INSERT INTO favorites (patron_id, kind, display, normalized, created_at)
		SELECT p.id, 'subject', 'Topic ' || t, 'topic ' || t, now()
		FROM (SELECT id, floor(? * power(id * 0.4142135623730951 - floor(id * 0.4142135623730951), 2))::int AS t0 FROM patrons) p
		CROSS JOIN LATERAL (VALUES (p.t0), ((p.t0 + 101) % ?)) AS v(t)`, []any{benchSubjects, benchSubjects}},
	} {
		if err := db.WithContext(ctx).Exec(l.q, l.args...).Error; err != nil {
			b.Fatalf("load: %v\n%s", err, l.q)
		}
	}
	if err := db.WithContext(ctx).Exec("VACUUM (ANALYZE)").Error; err != nil {
		b.Fatal(err)
	}
	if err := db.WithContext(ctx).Exec("CHECKPOINT").Error; err != nil {
		b.Fatal(err)
	}
	var favorites, patrons int64
	db.Table("favorites").Count(&favorites)
	db.Table("patrons").Where("favorites_linked").Count(&patrons)
	if favorites != 5*benchPatrons || patrons != benchPatrons {
		b.Fatalf("loaded %d favorites of %d linked patrons", favorites, patrons)
	}
	fmt.Printf("BenchmarkArrivalMatching setup: %d favorites of %d linked patrons loaded in %s\n",
		favorites, patrons, time.Since(start).Round(100*time.Millisecond))

	followed := benchBatch("https://catalog.example.org/record/", "Author", "Topic")
	unfollowed := benchBatch("https://catalog.example.org/other/", "Unknown author", "Unknown topic")
	reset := func() {
		for _, q := range []string{"TRUNCATE notifications, arrival_terms, arrivals", "VACUUM (ANALYZE) notifications, arrival_terms, arrivals", "CHECKPOINT"} {
			if err := db.WithContext(ctx).Exec(q).Error; err != nil {
				b.Fatal(err)
			}
		}
	}
	var took, baseline, join time.Duration
	var res models.ArrivalResult
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reset()
		t0 := time.Now()
		base, err := s.AddArrivals(ctx, models.ArrivalSource{}, unfollowed)
		baseline = time.Since(t0)
		if err != nil || base.Created != benchItems || base.Notifications != 0 {
			b.Fatalf("baseline: %+v %v", base, err)
		}
		b.StartTimer()
		t0 = time.Now()
		res, err = s.AddArrivals(ctx, models.ArrivalSource{}, followed)
		took = time.Since(t0)
		b.StopTimer()
		if err != nil || res.Created != benchItems {
			b.Fatalf("match: %+v %v", res, err)
		}
		// The read half of the match: the same join and grouping, counted.
		var pairs int64
		t0 = time.Now()
		err = db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM (SELECT f.patron_id, a.id
			FROM arrivals a JOIN arrival_terms t ON t.arrival_id = a.id
			JOIN favorites f ON f.kind = t.kind AND f.normalized = t.normalized
			JOIN patrons p ON p.id = f.patron_id
			WHERE a.catalog_url LIKE 'https://catalog.example.org/record/%'
				AND p.favorites_linked = TRUE AND p.favorites_notice IN ('daily', 'weekly')
			GROUP BY f.patron_id, a.id) AS m`).Scan(&pairs).Error
		join = time.Since(t0)
		if err != nil || pairs != res.Notifications {
			b.Fatalf("the join counts %d pairs, the match made %d notifications (%v)", pairs, res.Notifications, err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	var dup int64
	db.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM notifications GROUP BY patron_id, arrival_id HAVING COUNT(*) > 1) d").Scan(&dup)
	if dup != 0 {
		b.Fatalf("%d patrons were told twice of one arrival", dup)
	}
	fmt.Printf("BenchmarkArrivalMatching: 10,000 items matched in %s (%d notifications); 10,000 items nobody follows: %s; the join counted alone: %s\n",
		took.Round(time.Millisecond), res.Notifications, baseline.Round(time.Millisecond), join.Round(time.Millisecond))
	b.ReportMetric(took.Seconds(), "match-s")
	b.ReportMetric(float64(res.Notifications), "notifications")
	b.ReportMetric(baseline.Seconds(), "unfollowed-10k-s")
	b.ReportMetric(join.Seconds(), "join-count-s")
	if took > 10*time.Second {
		b.Errorf("matching 10,000 items took %s, over the 10 s budget", took.Round(time.Millisecond))
	}
}

// benchBatch makes 10,000 items, the same every run: 1-3 authors and 1-3
// subjects each, drawn evenly, under the given names.
func benchBatch(link, author, topic string) []models.ArrivalInput {
	r := rand.New(rand.NewPCG(2026, 11))
	out := make([]models.ArrivalInput, benchItems)
	for i := range out {
		it := models.ArrivalInput{Title: fmt.Sprintf("New title %d", i), Format: "Book", Date: "2026-11-20",
			CatalogURL: fmt.Sprintf("%s%d", link, i)}
		for range 1 + r.IntN(3) {
			it.Authors = append(it.Authors, fmt.Sprintf("%s %d", author, r.IntN(benchAuthors)))
		}
		for range 1 + r.IntN(3) {
			sub := fmt.Sprintf("%s %d", topic, r.IntN(benchSubjects))
			if r.IntN(2) == 0 {
				sub += " -- Fiction"
			}
			it.Subjects = append(it.Subjects, sub)
		}
		out[i] = it
	}
	return out
}
