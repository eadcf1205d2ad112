package web_test

// The portal's benchmarks: the real router over real HTTP on loopback, on
// PostgreSQL filled with a library-sized data set. They are not part of
// `make test` (go test runs benchmarks only with -bench); `make bench`
// runs them, and docs/benchmarks.md records the figures and what they
// include. Without a reachable PostgreSQL they skip.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"gorm.io/gorm"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
)

// The size of the data set.
const (
	benchPatrons      = 100_000 // ordinary patrons, cards 3000000000001 onwards
	benchHeavyHistory = 20_000  // reading history rows of the heavy reader
	benchHeavyCard    = "21000000000001"
	benchHeavyPIN     = "1234"
	benchPatronPIN    = "4321" // every ordinary patron's PIN
	benchHistoryPage  = 200
)

// BenchmarkPortal measures the patron's data pages and the export for the
// demo's heavy reader among 100,000 patrons, beside /readyz. Every
// sub-benchmark shares one database, built once here.
func BenchmarkPortal(b *testing.B) {
	// Anything else running on the machine shows in the figures: say how
	// busy it was, before and after.
	fmt.Println("BenchmarkPortal load average before:", loadAverage())
	defer func() { fmt.Println("BenchmarkPortal load average after:", loadAverage()) }()
	env := newBenchEnv(b)

	b.Run("readyz", func(b *testing.B) {
		env.sequential(b, env.url("/readyz"), checkStatus)
	})
	b.Run("overview", func(b *testing.B) {
		env.sequential(b, env.url("/data"), checkStatus)
	})
	b.Run("history-page-1", func(b *testing.B) {
		env.sequential(b, env.url("/data/reading-history"), checkStatus)
	})
	b.Run(fmt.Sprintf("history-page-%d", benchHistoryPage), func(b *testing.B) {
		env.sequential(b, env.url(env.page200), checkStatus)
	})
	b.Run("export", func(b *testing.B) {
		env.export(b)
	})
	for _, n := range []int{8, 32} {
		b.Run(fmt.Sprintf("readyz-c%d", n), func(b *testing.B) {
			env.concurrent(b, n, env.url("/readyz"))
		})
		b.Run(fmt.Sprintf("overview-c%d", n), func(b *testing.B) {
			env.concurrent(b, n, env.url("/data"))
		})
	}
}

// BenchmarkPurgeUnderLoad measures the overview's latency before and
// during a purge of 1,000,000 due rows (issue 9), on a database of its own.
// One iteration is the whole measurement and takes longer than any
// -benchtime would give it: run it with -benchtime 1x, as make bench does.
func BenchmarkPurgeUnderLoad(b *testing.B) {
	fmt.Println("BenchmarkPurgeUnderLoad load average before:", loadAverage())
	defer func() { fmt.Println("BenchmarkPurgeUnderLoad load average after:", loadAverage()) }()
	env := newBenchEnv(b)
	b.ResetTimer()
	env.purgeUnderLoad(b)
}

// loadAverage is the first three fields of /proc/loadavg, where there is one.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// benchEnv is the running portal and the browsers signed in to it.
type benchEnv struct {
	store   *models.Store
	handler http.Handler
	server  *httptest.Server
	heavyID int64
	// main is the heavy reader's browser; pool holds further sessions of
	// the same reader for the concurrent runs.
	main    *benchClient
	pool    []*benchClient
	page200 string // the address of history page 200, found by walking
}

func (e *benchEnv) url(path string) string { return e.server.URL + path }

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	start := time.Now()
	db := benchDatabase(b)
	store := modeltest.NewStore(b, db, models.SystemClock{})
	ctx := context.Background()
	if _, err := store.SeedDemo(ctx); err != nil {
		b.Fatal(err)
	}
	heavyID := fillBenchData(b, store)
	loaded := time.Since(start)

	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := web.New(store, web.Config{Demo: true, LibraryName: "Bench Library", PolicyVersion: "bench-1"}, log)
	if err != nil {
		b.Fatal(err)
	}
	store.Count = srv.CountEvent
	e := &benchEnv{store: store, handler: srv, heavyID: heavyID}
	e.server = httptest.NewServer(srv)
	b.Cleanup(e.server.Close)

	// Any of the 100,000 can sign in with the one shared hash.
	someone := e.newClient()
	someone.signIn(b, fmt.Sprint(3_000_000_000_000+benchPatrons/2), benchPatronPIN)

	// 33 browsers of one patron: more than the 20 sessions a patron may
	// hold, so the cap is raised for the benchmark.
	store.SessionCap = 64
	e.main = e.newClient()
	e.main.signIn(b, benchHeavyCard, benchHeavyPIN)
	for range 32 {
		c := e.newClient()
		c.signIn(b, benchHeavyCard, benchHeavyPIN)
		e.pool = append(e.pool, c)
	}
	e.checkPages(b)
	// Printed, not logged: a parent benchmark's log shows only with -v.
	fmt.Printf("BenchmarkPortal setup: database filled in %s; %d sessions signed in and page %d found in %s more\n",
		loaded.Round(100*time.Millisecond), 2+len(e.pool), benchHistoryPage,
		(time.Since(start) - loaded).Round(100*time.Millisecond))
	return e
}

// benchDatabase creates a fresh, migrated PostgreSQL database (dropped at
// the end), or skips the benchmark when PostgreSQL cannot be reached.
func benchDatabase(b *testing.B) *gorm.DB {
	b.Helper()
	dbURL, err := modeltest.NewPostgresDatabase(b)
	if err != nil {
		msg := "SKIP: the benchmarks need PostgreSQL: " + err.Error()
		fmt.Println("BenchmarkPortal " + msg) // a parent benchmark's skip shows only with -v
		b.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := models.Open(ctx, dbURL, nil)
	if err != nil {
		b.Fatalf("open the benchmark database: %v", err)
	}
	b.Cleanup(func() { closeGorm(db) })
	if err := models.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	return db
}

func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// fillBenchData adds the 100,000 ordinary patrons with a few records
// each, and brings the demo's heavy reader (seeded with 5,000 history
// rows and something in every category) to 20,000 history rows. Every
// table is filled by INSERT ... SELECT in the database, not row by row.
// It returns the heavy reader's ID.
func fillBenchData(b *testing.B, store *models.Store) int64 {
	b.Helper()
	ctx := context.Background()
	db := store.DB.WithContext(ctx)
	var heavy models.Patron
	if err := db.Where("card_number = ?", benchHeavyCard).Take(&heavy).Error; err != nil {
		b.Fatal(err)
	}
	hash, err := store.HashSecret(ctx, benchPatronPIN)
	if err != nil {
		b.Fatal(err)
	}
	// The ordinary patrons' cards all start with 3; the demo's with 21.
	const ordinary = "FROM patrons p WHERE p.card_number LIKE '3%' "
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO patrons (card_number, pin_hash, given_name, family_name, email, phone, postal_address,
			home_branch, card_expires_on, borrowing_status, reading_history_enabled, favorites_linked,
			favorites_notice, last_sign_in_at, created_at, updated_at)
		SELECT (3000000000000 + n)::text, ?, 'Given' || n, 'Family' || n, 'patron' || n || '@example.org',
			'310-555-' || lpad((n % 10000)::text, 4, '0'), n || ' Main Street, Santa Monica, CA 90401',
			CASE n % 3 WHEN 0 THEN 'Main Library' WHEN 1 THEN 'Ocean Park Branch' ELSE 'Fairview Branch' END,
			now() + (n % 700) * interval '1 day', 'active', n % 3 = 0, n % 7 = 0, 'none',
			now() - (n % 90) * interval '1 day', now() - (n % 3000) * interval '1 day', now()
		FROM generate_series(1, ?) AS n`, []any{hash, benchPatrons}},
		// One loan and one hold per patron.
		{`INSERT INTO loans (patron_id, title, author, format, barcode, checked_out_at, due_at, renewals, branch)
		SELECT p.id, 'Borrowed title ' || p.id, 'Author ' || (p.id % 5000), 'Book',
			'3100' || lpad(p.id::text, 10, '0'), now() - (p.id % 20) * interval '1 day',
			now() + (21 - p.id % 20) * interval '1 day', (p.id % 3)::int, 'Main Library' ` + ordinary, nil},
		{`INSERT INTO holds (patron_id, title, author, pickup_branch, status, placed_at, ready_until, closed_at)
		SELECT p.id, 'Reserved title ' || p.id, 'Author ' || (p.id % 5000), 'Main Library',
			(ARRAY['waiting','in_transit','ready','filled'])[1 + p.id % 4],
			now() - (p.id % 60) * interval '1 day',
			CASE WHEN p.id % 4 = 2 THEN now() + interval '5 days' END,
			CASE WHEN p.id % 4 = 3 THEN now() - (p.id % 25) * interval '1 day' END ` + ordinary, nil},
		// Three history rows per patron: 300,000 in all.
		{`INSERT INTO reading_history (patron_id, title, author, format, checked_out_at, returned_at)
		SELECT p.id, 'Returned title ' || p.id || '-' || g, 'Author ' || ((p.id + g) % 5000), 'Book',
			now() - ((p.id % 365) + 30 * g + 14) * interval '1 day', now() - ((p.id % 365) + 30 * g) * interval '1 day'
		FROM patrons p CROSS JOIN generate_series(1, 3) AS g WHERE p.card_number LIKE '3%'`, nil},
		// One consent entry per patron.
		{`INSERT INTO consent_entries (patron_id, subject, old_value, new_value, actor, channel, text_version, created_at)
		SELECT p.id, 'reading_history', 'off', 'on', 'patron', 'web', '2026-01', now() - (p.id % 700) * interval '1 day' ` + ordinary, nil},
		// And a sprinkling of everything else.
		{`INSERT INTO fines (patron_id, description, title, amount_cents, status, assessed_at, settled_at)
		SELECT p.id, 'Overdue item', 'Borrowed title ' || p.id, 25 * (1 + p.id % 40),
			CASE WHEN p.id % 2 = 0 THEN 'outstanding' ELSE 'paid' END, now() - (p.id % 80) * interval '1 day',
			CASE WHEN p.id % 2 = 1 THEN now() - (p.id % 30) * interval '1 day' END ` + ordinary + ` AND p.id % 5 = 0`, nil},
		{`INSERT INTO ill_requests (patron_id, title, author, lending_library, status, requested_at)
		SELECT p.id, 'Far-away title ' || p.id, 'Author ' || (p.id % 5000), 'UCLA Library', 'requested',
			now() - (p.id % 30) * interval '1 day' ` + ordinary + ` AND p.id % 10 = 0`, nil},
		{`INSERT INTO reference_questions (patron_id, subject, question, answer, asked_at, answered_at)
		SELECT p.id, 'Local history', 'Do you hold photographs of the pier from before 1950, number ' || p.id,
			'Yes, about forty of them.', now() - (p.id % 300) * interval '1 day', now() - (p.id % 300) * interval '1 day' + interval '1 day' ` +
			ordinary + ` AND p.id % 10 = 1`, nil},
		{`INSERT INTO computer_sessions (patron_id, branch, station, started_at, ended_at)
		SELECT p.id, 'Main Library', 'MAIN-PC-' || lpad((p.id % 40)::text, 2, '0'),
			now() - (p.id % 20) * interval '1 hour', now() - (p.id % 20) * interval '1 hour' + interval '45 minutes' ` +
			ordinary + ` AND p.id % 10 = 2`, nil},
		{`INSERT INTO subscriptions (patron_id, list_id, subscribed_at)
		SELECT p.id, (SELECT min(id) FROM mailing_lists), now() - (p.id % 500) * interval '1 day' ` + ordinary + ` AND p.id % 2 = 0`, nil},
		{`INSERT INTO favorites (patron_id, kind, display, normalized, created_at)
		SELECT p.id, 'author', 'Author ' || (p.id % 5000), 'author ' || (p.id % 5000), now() - (p.id % 400) * interval '1 day' ` +
			ordinary + ` AND p.favorites_linked`, nil},
		{`INSERT INTO notifications (patron_id, title, author, catalog_url, reason, created_at, sent_at)
		SELECT p.id, 'New arrival ' || p.id, 'Author ' || (p.id % 5000), 'https://catalog.library.example.org/record/' || p.id,
			'Author ' || (p.id % 5000), now() - (p.id % 20) * interval '1 day', now() - (p.id % 20) * interval '1 day' ` +
			ordinary + ` AND p.favorites_linked`, nil},
		{`INSERT INTO audit_entries (created_at, patron_id, action, reason, detail, restricted, prev_hash, hash)
		SELECT now() - (p.id % 700) * interval '1 day', p.id, 'patron.lookup', 'At the desk', '', false,
			md5('prev' || p.id), md5('hash' || p.id) ` + ordinary + ` AND p.id % 10 = 3`, nil},
		// The heavy reader's history, from 5,000 to 20,000: older loans.
		{`INSERT INTO reading_history (patron_id, title, author, format, checked_out_at, returned_at)
		SELECT ?, 'Older title ' || g, 'Author ' || (g % 700),
			(ARRAY['Book','Audiobook','DVD','eBook'])[1 + g % 4],
			now() - interval '8 years' - g * interval '5 hours' - interval '14 days',
			now() - interval '8 years' - g * interval '5 hours'
		FROM generate_series(1, ?) AS g`, []any{heavy.ID, 0}},
	}
	var demoHistory int64
	if err := db.Table("reading_history").Where("patron_id = ?", heavy.ID).Count(&demoHistory).Error; err != nil {
		b.Fatal(err)
	}
	steps[len(steps)-1].args[1] = benchHeavyHistory - demoHistory
	for _, st := range steps {
		if err := db.Exec(st.sql, st.args...).Error; err != nil {
			b.Fatalf("%s: %v", strings.Fields(st.sql)[2], err)
		}
	}
	// Planner statistics, and the visibility map that index-only scans
	// rely on: the state autovacuum brings a live database to.
	if err := db.Exec("VACUUM (ANALYZE)").Error; err != nil {
		b.Fatal(err)
	}
	// Write the load out now, not during the measurements. It needs the
	// right to checkpoint (superuser or pg_checkpoint); without it, the
	// server's own checkpoint comes when it comes.
	_ = db.Exec("CHECKPOINT").Error
	var n int64
	if err := db.Table("reading_history").Where("patron_id = ?", heavy.ID).Count(&n).Error; err != nil || n != benchHeavyHistory {
		b.Fatalf("the heavy reader has %d history rows (%v), want %d", n, err, benchHeavyHistory)
	}
	if err := db.Table("patrons").Count(&n).Error; err != nil || n < benchPatrons {
		b.Fatalf("%d patrons (%v)", n, err)
	}
	return heavy.ID
}

// checkPages makes sure the pages measured are the ones meant, and walks
// the reading history to page 200 by its "Older" links.
func (e *benchEnv) checkPages(b *testing.B) {
	b.Helper()
	c := e.main
	doc := c.doc(b, "/data")
	if held := doc.Find(`[data-testid="card-reading-history"] [data-testid="held"]`).Text(); !strings.HasPrefix(held, "20,000 items") {
		b.Fatalf("the overview says the heavy reader holds %q", held)
	}
	path := "/data/reading-history"
	var first string
	for page := 1; ; page++ {
		doc := c.doc(b, path)
		rows := doc.Find(`table[data-testid="records"] tbody tr`)
		if rows.Length() != models.DefaultPageSize {
			b.Fatalf("history page %d has %d rows", page, rows.Length())
		}
		if page == 1 {
			first = rows.First().Text()
		}
		if page == benchHistoryPage {
			if rows.First().Text() == first {
				b.Fatal("page 200 shows what page 1 does")
			}
			e.page200 = path
			return
		}
		older, ok := doc.Find(`[data-testid="older"]`).Attr("href")
		if !ok {
			b.Fatalf("history page %d has no Older link", page)
		}
		path = older
	}
}

// benchClient is one browser with its own cookies and connections.
type benchClient struct {
	env  *benchEnv
	http *http.Client
	buf  bytes.Buffer
}

func (e *benchEnv) newClient() *benchClient {
	jar, _ := cookiejar.New(nil)
	return &benchClient{env: e, http: &http.Client{
		Jar:       jar,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (c *benchClient) doc(b *testing.B, path string) *goquery.Document {
	b.Helper()
	resp, err := c.http.Get(c.env.url(path))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// signIn goes through the real sign-in form. The form allows a burst of
// 20 sign-ins from one address, then 2 a second: past the burst, it waits.
func (c *benchClient) signIn(b *testing.B, card, pin string) {
	b.Helper()
	tok, ok := c.doc(b, "/login").Find(`input[name="csrf_token"]`).Attr("value")
	if !ok {
		b.Fatal("no csrf_token on /login")
	}
	form := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}}.Encode()
	for try := 0; ; try++ {
		req, _ := http.NewRequest(http.MethodPost, c.env.url("/login"), strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.env.server.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.http.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests && try < 20:
			time.Sleep(600 * time.Millisecond)
			continue
		case resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/data":
			b.Fatalf("sign-in as %s: status %d, Location %q", card, resp.StatusCode, resp.Header.Get("Location"))
		}
		return
	}
}

// get fetches a page as a browser does and returns its status and size.
// The body is read into a buffer the client reuses.
func (c *benchClient) get(u string) (int, int64, error) {
	resp, err := c.http.Get(u)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	c.buf.Reset()
	n, err := c.buf.ReadFrom(resp.Body)
	return resp.StatusCode, n, err
}

func checkStatus(code int) error {
	if code != http.StatusOK {
		return fmt.Errorf("status %d", code)
	}
	return nil
}

// latencies summarises one run: percentiles and throughput.
type latencies []time.Duration

func (l latencies) report(b *testing.B, elapsed time.Duration) {
	slices.Sort(l)
	pct := func(p float64) float64 {
		i := int(float64(len(l))*p+0.5) - 1
		i = max(0, min(i, len(l)-1))
		return float64(l[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(l))/elapsed.Seconds(), "req/s")
}

// sequential issues b.N requests one after the other from the heavy
// reader's browser, then measures the server's own allocations per
// request on the side (see serverAllocs).
func (e *benchEnv) sequential(b *testing.B, u string, check func(int) error) {
	c := e.main
	lat := make(latencies, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		code, _, err := c.get(u)
		lat[i] = time.Since(t0)
		if err == nil {
			err = check(code)
		}
		if err != nil {
			b.Fatalf("GET %s: %v", u, err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	lat.report(b, elapsed)
	e.serverAllocs(b, u, min(b.N, 50))
}

// serverAllocs measures what the server alone allocates for one request:
// the same request, with the same session cookie, handed straight to the
// portal's handler (echo, middleware, session, gorm, the pgx driver,
// templates) with a response writer that discards, no HTTP client and no
// connection. It reads runtime.MemStats around n requests; the process
// is otherwise idle then (only the database pool's and idle connections'
// housekeeping could add to it).
func (e *benchEnv) serverAllocs(b *testing.B, u string, n int) {
	parsed, _ := url.Parse(u)
	cookies := e.main.http.Jar.Cookies(parsed)
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, parsed.RequestURI(), nil)
		r.RemoteAddr = "127.0.0.1:50000"
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		return r
	}
	// Build the requests first: they are the client's doing, not the server's.
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = req()
	}
	w := &discardWriter{h: http.Header{}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, r := range reqs {
		clear(w.h)
		w.code = 0
		e.handler.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("server-side GET %s: status %d", u, w.code)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "srv-allocs/op")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "srv-B/op")
}

// discardWriter is a ResponseWriter that keeps the status and drops the body.
type discardWriter struct {
	h    http.Header
	code int
	n    int64
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

// export downloads the heavy reader's export b.N times, streaming each
// body away, while a goroutine samples the heap.
func (e *benchEnv) export(b *testing.B) {
	u := e.url("/data/export.json")
	c := e.main
	if n := countExportedHistory(b, c, u); n != benchHeavyHistory {
		b.Fatalf("the export holds %d history records, want %d", n, benchHeavyHistory)
	}
	// HeapInuse, sampled every millisecond through runtime/metrics (the
	// same figure, objects plus unused space in in-use spans, without
	// stopping the world as ReadMemStats would).
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	heapInuse := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	runtime.GC()
	inuse0 := heapInuse()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := heapInuse(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})

	lat := make(latencies, b.N)
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		resp, err := c.http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat[i] = time.Since(t0)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("export: status %d, %v", resp.StatusCode, err)
		}
		size = n
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	sampler.Wait()
	lat.report(b, elapsed)
	b.SetBytes(size)
	b.ReportMetric(float64(size)/(1<<20), "resp-MB")
	b.ReportMetric(float64(peak.Load()-min(inuse0, peak.Load()))/(1<<20), "peak-heap-growth-MB")
	early, late := e.exportHeldMemory(b, u, size)
	b.ReportMetric(early/(1<<20), "live-10pct-MB")
	b.ReportMetric(late/(1<<20), "live-90pct-MB")
	e.serverAllocs(b, u, min(b.N, 5))
}

// exportHeldMemory pauses one export in mid-stream, at a tenth and at
// nine tenths of its size, and measures the live heap there after a full
// garbage collection, over the heap before the export began. Peak HeapInuse
// mostly shows garbage waiting for the collector; this shows what an
// export in flight holds (server and client together, since both live in
// this process). Streamed, it is the same at 10% as at 90%.
//
// It uses a server and client of its own over the same handler, with
// small socket buffers, so the server really waits for the reader instead
// of handing the whole document to the kernel.
func (e *benchEnv) exportHeldMemory(b *testing.B, u string, size int64) (early, late float64) {
	var inFlight atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		e.handler.ServeHTTP(w, r)
	}))
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(16 << 10)
			}
			return c, err
		},
	}}
	defer client.CloseIdleConnections()
	parsed, _ := url.Parse(u)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+parsed.RequestURI(), nil)
	for _, ck := range e.main.http.Jar.Cookies(parsed) {
		req.AddCookie(ck)
	}
	var resp *http.Response
	live := func() float64 {
		time.Sleep(50 * time.Millisecond) // let the server fill the buffers and wait
		if resp != nil && inFlight.Load() != 1 {
			b.Fatal("the export finished before its reader paused: nothing in flight to measure")
		}
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc)
	}
	base := live()
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.CopyN(io.Discard, resp.Body, size/10); err != nil {
		b.Fatal(err)
	}
	early = live() - base
	if _, err := io.CopyN(io.Discard, resp.Body, size*8/10); err != nil {
		b.Fatal(err)
	}
	late = live() - base
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	return max(early, 0), max(late, 0)
}

// smallBuffers gives each accepted connection a small send buffer.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// countExportedHistory downloads one export and counts its history
// records without keeping them.
func countExportedHistory(b *testing.B, c *benchClient, u string) int {
	b.Helper()
	resp, err := c.http.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Categories map[string]struct {
			Records []struct{} `json:"records"`
		} `json:"categories"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		b.Fatalf("the export is not JSON: %v", err)
	}
	for _, key := range []string{"loans", "holds", "fines", "consent_history", "mailing_lists"} {
		if len(doc.Categories[key].Records) == 0 {
			b.Errorf("the heavy reader's export has no %s", key)
		}
	}
	return len(doc.Categories["reading_history"].Records)
}

// concurrent runs b.N requests from n browsers at once, each its own
// signed-in session, and reports the latency each request saw.
func (e *benchEnv) concurrent(b *testing.B, n int, u string) {
	if n > len(e.pool) {
		b.Fatalf("only %d sessions", len(e.pool))
	}
	// One request from each browser first: it opens the connection, and
	// keeps its session from idling out however long the earlier runs took.
	for _, c := range e.pool[:n] {
		if code, _, err := c.get(e.url("/data")); err != nil || code != http.StatusOK {
			b.Fatalf("warming up a session: status %d, %v", code, err)
		}
	}
	lats := make([]latencies, n)
	var next atomic.Int64
	var (
		mu     sync.Mutex
		failed error
		wg     sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for w := range n {
		c := e.pool[w]
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				code, _, err := c.get(u)
				lats[w] = append(lats[w], time.Since(t0))
				if err == nil {
					err = checkStatus(code)
				}
				if err != nil {
					mu.Lock()
					failed = cmp.Or(failed, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatalf("GET %s: %v", u, failed)
	}
	slices.Concat(lats...).report(b, elapsed)
}

// p99 of a set of latencies, in milliseconds.
func (l latencies) p99() float64 {
	s := slices.Clone(l)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := max(0, min(int(float64(len(s))*0.99+0.5)-1, len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

// purgeUnderLoad adds 1,000,000 computer sessions past their 24 hours,
// measures the overview's p99 alone, then again while carrel's purge
// deletes them in its batches, and reports the purge's rows per second.
// One iteration takes far longer than -benchtime, so it runs once.
func (e *benchEnv) purgeUnderLoad(b *testing.B) {
	ctx := context.Background()
	limits := models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}
	for range b.N {
		b.StopTimer()
		err := e.store.DB.Exec(`INSERT INTO computer_sessions (patron_id, branch, station, started_at)
			SELECT (SELECT MIN(id) FROM patrons) + (g % 100000), 'Main Library', 'PC-' || (g % 40), now() - interval '3 days'
			FROM generate_series(1, 1000000) AS g`).Error
		if err != nil {
			b.Fatal(err)
		}
		e.store.DB.Exec("ANALYZE computer_sessions")
		var before latencies
		for range 300 {
			t0 := time.Now()
			if _, _, err := e.main.get(e.url("/data")); err != nil {
				b.Fatal(err)
			}
			before = append(before, time.Since(t0))
		}
		b.StartTimer()
		done := make(chan struct{})
		var rep models.PurgeReport
		var perr error
		start := time.Now()
		go func() {
			defer close(done)
			rep, perr = e.store.Purge(ctx, false, 1000, limits)
		}()
		var during latencies
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
				t0 := time.Now()
				if _, _, err := e.main.get(e.url("/data")); err != nil {
					b.Fatal(err)
				}
				during = append(during, time.Since(t0))
			}
		}
		took := time.Since(start)
		b.StopTimer()
		if perr != nil {
			b.Fatal(perr)
		}
		var purged int64
		for _, c := range rep.Counts {
			if c.Category == "computer_sessions" {
				purged = c.Rows
			}
		}
		if purged < 1_000_000 {
			b.Fatalf("purged %d computer sessions, want at least 1,000,000", purged)
		}
		b.ReportMetric(float64(purged)/took.Seconds(), "purged-rows/s")
		b.ReportMetric(before.p99(), "overview-p99-before-ms")
		b.ReportMetric(during.p99(), "overview-p99-during-ms")
		b.ReportMetric(during.p99()/before.p99(), "p99-ratio")
		b.ReportMetric(float64(len(during)), "overviews-during")
	}
}
