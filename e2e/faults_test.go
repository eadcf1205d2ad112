package e2e

// Fault tests on PostgreSQL, against the real binary: the database stops
// and comes back mid-run, SIGTERM arrives while requests are in flight, two
// portal processes share one database, and a change commits while an export
// is being sent. They drive the portal over plain HTTP (no browser needed)
// and look at the database directly. The portal reaches its database
// through pgProxy (at the end), which stops the database without touching
// the PostgreSQL server other tests share, and can cut or hold back chosen
// statements. Without PostgreSQL they skip loudly (fail with CI=true).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"gorm.io/gorm"

	harness "github.com/carrel-library/carrel/e2e/internal/portal"
	"github.com/carrel-library/carrel/models"
)

// TestDatabaseStopsAndComesBack: while PostgreSQL is unreachable the portal
// answers 503 with the friendly page, /readyz fails and /healthz does not,
// consent changes are refused, and nothing is half-applied, even when the
// database goes away between a change and its COMMIT. When the database
// returns, the portal recovers by itself. The shared PostgreSQL server is
// never stopped: the portal reaches its database through a proxy, and
// "stopping the database" closes the proxy and cuts every connection. The
// steps share one portal and run in order.
func TestDatabaseStopsAndComesBack(t *testing.T) {
	direct := postgresDatabase(t)
	u, _ := url.Parse(direct)
	proxy := startPGProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.addr

	env := portalEnv(t, direct)
	seedDemo(t, env)
	p := launchPortal(t, "outage", harness.WithSetting(env, "CARREL_DATABASE_URL", viaProxy.String()))
	// The outage's failed requests are logged as errors, by route and
	// status; anything else at level ERROR is not expected.
	p.tolerate = func(line string) bool {
		return strings.Contains(line, "status=503") || strings.Contains(line, `msg="export failed mid-stream"`)
	}
	db := openDatabase(t, direct)

	c := newWebClient(t, p.Base)
	wantCode(t, c.signIn(alex), http.StatusSeeOther)
	wantCode(t, c.get("/data"), http.StatusOK)
	tok := c.csrf("/data/reading-history/off")
	historyOff := url.Values{"confirm": {"yes"}, "csrf_token": {tok}}
	before := readConsents(t, db, alex.Card)
	before.agree(t, "at the start")
	if !before.HistoryOn || before.HistoryRows < 5000 || !before.FavoritesLinked || before.Favorites == 0 {
		t.Fatalf("the demo patron should start with history on (5,000 items) and favorites linked: %+v", before)
	}

	ok := t.Run("the database stops and comes back", func(t *testing.T) {
		proxy.down()
		r := c.get("/data")
		wantCode(t, r, http.StatusServiceUnavailable)
		wantFriendly503(t, r)
		wantCode(t, c.get("/readyz"), http.StatusServiceUnavailable)
		wantCode(t, c.get("/healthz"), http.StatusOK)
		// Consent changes while it is down are refused, and change nothing.
		wantCode(t, c.post("/data/reading-history/off", historyOff), http.StatusServiceUnavailable)
		wantCode(t, c.post("/favorites/unlink", url.Values{"confirm": {"yes"}, "csrf_token": {tok}}), http.StatusServiceUnavailable)

		proxy.up()
		waitReady(t, c, 30*time.Second)
		r = c.get("/data")
		wantCode(t, r, http.StatusOK)
		if signedIn(r) == "" {
			t.Fatal("after the outage the session should still be signed in")
		}
		if got := readConsents(t, db, alex.Card); got != before {
			t.Fatalf("changes refused during the outage left traces:\nbefore %+v\nafter  %+v", before, got)
		}
	})

	ok = ok && t.Run("the database stops before a change's COMMIT", func(t *testing.T) {
		// Turning history off updates the flag, erases the entries and
		// writes the ledger entry; the database goes before the COMMIT.
		cut := proxy.cutBeforeHistoryCommit()
		r := c.post("/data/reading-history/off", historyOff)
		select {
		case <-cut:
		case <-time.After(5 * time.Second):
			t.Fatalf("the proxy never saw the reading-history change commit (status %d): nothing was cut", r.Code)
		}
		wantCode(t, r, http.StatusServiceUnavailable)
		wantFriendly503(t, r)
		wantCode(t, c.get("/readyz"), http.StatusServiceUnavailable)
		proxy.up()
		waitReady(t, c, 30*time.Second)
		got := readConsents(t, db, alex.Card)
		got.agree(t, "after a cut before COMMIT")
		if got != before {
			t.Fatalf("a change cut off before its COMMIT was half-applied:\nbefore %+v\nafter  %+v", before, got)
		}
	})

	ok = ok && t.Run("the database stops while an export is being sent", func(t *testing.T) {
		// The export has sent its header and loans and asked for the
		// 5,000 history entries when the database stops.
		held, release := proxy.holdReplies(1, exportsHistory)
		defer release()
		done := startExports(p, c.Cookie, 1)
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the export never asked for the reading history")
		}
		proxy.down()
		res := <-done
		proxy.up()
		waitReady(t, c, 30*time.Second)
		if res.err != nil || res.code != http.StatusOK {
			return // the download failed visibly (an aborted GET may be retried, and meet the 503)
		}
		if json.Valid(res.body) {
			t.Fatalf("the export cannot be complete: the database stopped before the reading history")
		}
		t.Fatalf("an export cut off by a database failure must not end like a finished download (status %d, "+
			"%d bytes of invalid JSON, then a clean end of the body)", res.code, len(res.body))
	})

	ok = ok && t.Run("a change right after recovery works, whole", func(t *testing.T) {
		r := c.post("/data/reading-history/off", historyOff)
		wantCode(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/data/reading-history" {
			t.Fatalf("turning history off should land on /data/reading-history, not %q", loc)
		}
		after := readConsents(t, db, alex.Card)
		after.agree(t, "after turning history off")
		if after.HistoryOn || after.HistoryRows != 0 || after.HistoryLedger != before.HistoryLedger+1 {
			t.Fatalf("turning history off after recovery: want off, erased, one more ledger entry; got %+v (before %+v)", after, before)
		}
		wantCode(t, c.get("/data"), http.StatusOK)
	})

	_ = ok && t.Run("the database stops after a change's COMMIT", func(t *testing.T) {
		// The COMMIT reaches the database, which applies it; the reply
		// never reaches the portal. The change is whole, and the portal,
		// which cannot know, must not claim that nothing changed.
		was := readConsents(t, db, alex.Card)
		cut := proxy.cutAfterHistoryCommit(func() bool {
			var on bool
			err := db.Raw(`SELECT reading_history_enabled FROM patrons WHERE card_number = ?`, alex.Card).Scan(&on).Error
			return err == nil && on
		})
		r := c.post("/data/reading-history/on", url.Values{"csrf_token": {tok}})
		select {
		case <-cut:
		case <-time.After(5 * time.Second):
			t.Fatalf("the proxy never saw the reading-history change commit (status %d): nothing was cut", r.Code)
		}
		wantCode(t, r, http.StatusServiceUnavailable)
		proxy.up()
		waitReady(t, c, 30*time.Second)
		got := readConsents(t, db, alex.Card)
		got.agree(t, "after a cut after COMMIT")
		if !got.HistoryOn || got.HistoryLedger != was.HistoryLedger+1 {
			t.Fatalf("a committed change should be whole: %+v (before %+v)", got, was)
		}
		r2 := c.get("/data/reading-history")
		wantCode(t, r2, http.StatusOK)
		if state := doc(t, r2).Find(`[data-testid="history-state"]`).Text(); !strings.Contains(state, "Reading history is on") {
			t.Fatalf("the page should tell the truth after recovery: %q", state)
		}
		if strings.Contains(r.Body, "nothing was changed") {
			t.Fatal("when the database fails during a change, the 503 page must not say \"nothing was changed\": " +
				"the COMMIT may have been applied")
		}
	})
}

// exportResult is one download of /data/export.json.
type exportResult struct {
	code int
	body []byte
	err  error // the request failed, or the body was cut off
}

// startExports starts n downloads of the export at once, for the patron
// signed in with cookie; the channel yields each result as it ends.
func startExports(p *portal, cookie string, n int) <-chan exportResult {
	out := make(chan exportResult, n)
	hc := harness.NewHTTPClient(60 * time.Second)
	for range n {
		go func() {
			c := harness.NewClient(p.Base, hc)
			c.Cookie = cookie
			r, err := c.Get(context.Background(), "/data/export.json")
			out <- exportResult{code: r.Code, body: []byte(r.Body), err: err}
		}()
	}
	return out
}

// exportsHistory reports whether a statement is the export's read of the
// reading history (the detail pages' reads have a LIMIT).
func exportsHistory(sql []byte) bool {
	return bytes.Contains(sql, []byte(`FROM "reading_history"`)) && bytes.Contains(sql, []byte("ORDER BY")) &&
		!bytes.Contains(sql, []byte("LIMIT"))
}

// exportDoc is the part of an export these tests read.
type exportDoc struct {
	Schema  string `json:"schema"`
	Choices struct {
		ReadingHistory bool `json:"reading_history"`
	} `json:"privacy_choices"`
	Categories map[string]struct {
		Records []json.RawMessage `json:"records"`
	} `json:"categories"`
}

func parseExport(t *testing.T, body []byte) exportDoc {
	t.Helper()
	var doc exportDoc
	if err := json.Unmarshal(body, &doc); err != nil || doc.Schema != "carrel-export" {
		t.Fatalf("not a complete export (%d bytes): %v", len(body), err)
	}
	return doc
}

// TestExportIsOneConsistentRead: the export promises one consistent read
// (docs/export-schema.md). A change committed while an export is being sent
// must not show up in part of it.
func TestExportIsOneConsistentRead(t *testing.T) {
	direct := postgresDatabase(t)
	u, _ := url.Parse(direct)
	proxy := startPGProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.addr
	env := portalEnv(t, direct)
	seedDemo(t, env)
	p := launchPortal(t, "export", harness.WithSetting(env, "CARREL_DATABASE_URL", viaProxy.String()))
	c := newWebClient(t, p.Base)
	wantCode(t, c.signIn(alex), http.StatusSeeOther)
	tok := c.csrf("/data/reading-history/off")

	// The export has read the patron and asked for the history; the
	// database's answer is held back while, in another tab, the patron
	// turns history off.
	held, release := proxy.holdReplies(1, exportsHistory)
	defer release()
	done := startExports(p, c.Cookie, 1)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the export never asked for the reading history")
	}
	wantCode(t, c.post("/data/reading-history/off", url.Values{"confirm": {"yes"}, "csrf_token": {tok}}), http.StatusSeeOther)
	release()
	res := <-done
	if res.err != nil || res.code != http.StatusOK {
		t.Fatalf("export: status %d, %v", res.code, res.err)
	}
	doc := parseExport(t, res.body)
	newest := ""
	for _, raw := range doc.Categories["consent_history"].Records {
		var e struct {
			Subject  string `json:"subject"`
			NewValue string `json:"new_value"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Subject == models.ConsentReadingHistory {
			newest = e.NewValue // records are newest first
			break
		}
	}
	on := map[bool]string{true: "on", false: "off"}[doc.Choices.ReadingHistory]
	history := len(doc.Categories["reading_history"].Records)
	t.Logf("export of %d bytes: privacy_choices.reading_history=%s, %d history records, newest reading_history ledger entry %q",
		len(res.body), on, history, newest)
	if newest != on || (on == "off" && history != 0) {
		t.Fatalf("the export is not one consistent read: it says reading history is %s "+
			"with %d entries, but its consent history ends in %q (a change committed mid-export)", on, history, newest)
	}
}

// TestSIGTERMFinishesRequestsInFlight: when SIGTERM arrives, /readyz
// fails at once while new requests are still served for the drain period
// (CARREL_SHUTDOWN_DRAIN, 2 s here), then new connections are refused;
// exports under way are sent whole, and the process exits 0. The exports
// are kept in flight by holding back the database's answers to them
// (through a proxy) until after the drain.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	direct := postgresDatabase(t)
	u, _ := url.Parse(direct)
	proxy := startPGProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.addr
	env := portalEnv(t, direct)
	seedDemo(t, env)
	env = harness.WithSetting(env, "CARREL_SHUTDOWN_DRAIN", "2s")
	p := launchPortal(t, "sigterm", harness.WithSetting(env, "CARREL_DATABASE_URL", viaProxy.String()))
	c := newWebClient(t, p.Base)
	wantCode(t, c.signIn(alex), http.StatusSeeOther)

	const n = 3
	held, release := proxy.holdReplies(n, exportsHistory)
	defer release()
	done := startExports(p, c.Cookie, n)
	select {
	case <-held: // every export is part-way through, waiting for the database
	case <-time.After(30 * time.Second):
		t.Fatalf("the %d exports never all asked for the reading history", n)
	}

	p.terminate()
	// First the drain: /readyz fails, so that a load balancer stops
	// sending visitors, and those it still sends are served.
	for deadline := time.Now().Add(time.Second); ; time.Sleep(20 * time.Millisecond) {
		r := newWebClient(t, p.Base).get("/readyz")
		if r.Code == http.StatusServiceUnavailable && strings.TrimSpace(r.Body) == "shutting down" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz during the drain: %d %q", r.Code, r.Body)
		}
	}
	if r := newWebClient(t, p.Base).get("/healthz"); r.Code != http.StatusOK {
		t.Fatalf("a request during the drain: %d", r.Code)
	}
	// Then the listener closes: new visitors are refused while the
	// exports are still under way.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", p.Host, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("10s after SIGTERM the portal still accepts new connections")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-p.Done():
		t.Fatalf("the portal exited with exports in flight: %v\n%s", p.Err(), p.logs)
	default:
	}

	release()
	for i := range n {
		res := <-done
		if res.err != nil || res.code != http.StatusOK {
			t.Fatalf("export %d: status %d, %v (%d bytes)", i, res.code, res.err, len(res.body))
		}
		if h := len(parseExport(t, res.body).Categories["reading_history"].Records); h != 5000 {
			t.Fatalf("export %d holds %d reading-history records, want the demo's 5,000", i, h)
		}
	}
	select {
	case <-p.Done():
	case <-time.After(25 * time.Second):
		t.Fatalf("the portal did not exit within 25s of SIGTERM\n%s", p.logs)
	}
	if p.Err() != nil {
		t.Fatalf("want exit status 0 after SIGTERM, got %v\n%s", p.Err(), p.logs)
	}
	if conn, err := net.DialTimeout("tcp", p.Host, time.Second); err == nil {
		conn.Close()
		t.Fatal("after exit something still accepts connections on the portal's port")
	}
	logs := p.logs.String()
	shut := strings.Index(logs, "shutting down")
	if shut < 0 {
		t.Fatalf("the portal did not log its shutdown:\n%s", logs)
	}
	if got := strings.Count(logs[shut:], `route=/data/export.json status=200`); got != n {
		t.Fatalf("%d of %d exports were logged as finished after shutdown began, want all:\n%s", got, n, logs)
	}
}

// TestTwoPortalsShareOneDatabase: two processes on two ports, one
// PostgreSQL database: a session started on one works on the other, and
// signing out on either ends it on both.
func TestTwoPortalsShareOneDatabase(t *testing.T) {
	direct := postgresDatabase(t)
	env := portalEnv(t, direct)
	seedDemo(t, env)
	a := launchPortal(t, "A", env)
	b := launchPortal(t, "B", harness.WithSetting(env, "CARREL_DATA_DIR", t.TempDir()))
	if a.Host == b.Host {
		t.Fatalf("both portals serve %s", a.Host)
	}

	onA := newWebClient(t, a.Base)
	wantCode(t, onA.signIn(alex), http.StatusSeeOther)
	onB := newWebClient(t, b.Base)
	onB.Cookie = onA.Cookie
	r := onB.get("/data")
	wantCode(t, r, http.StatusOK)
	if who := signedIn(r); !strings.Contains(who, alex.Short) {
		t.Fatalf("the session from A should be signed in as %s on B, got %q", alex.Short, who)
	}
	// A change made on B is seen on A.
	tok := onB.csrf("/data/reading-history/off")
	wantCode(t, onB.post("/data/reading-history/off", url.Values{"confirm": {"yes"}, "csrf_token": {tok}}), http.StatusSeeOther)
	r = onA.get("/data/reading-history")
	wantCode(t, r, http.StatusOK)
	if state := doc(t, r).Find(`[data-testid="history-state"]`).Text(); !strings.Contains(state, "Reading history is off") {
		t.Fatalf("history turned off on B should show as off on A: %q", state)
	}
	// Sign-in on B works too: both processes hash with the same key.
	other := newWebClient(t, b.Base)
	wantCode(t, other.signIn(blake), http.StatusSeeOther)
	wantCode(t, other.get("/data"), http.StatusOK)

	// Signing out on B ends the session on A as well.
	r = onB.post("/logout", url.Values{"csrf_token": {onB.csrf("/data")}})
	wantCode(t, r, http.StatusSeeOther)
	r = onA.get("/data")
	wantCode(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Fatalf("after sign-out on B, A should send the old cookie to sign in, not to %q", loc)
	}
	// Blake's session on B is untouched.
	wantCode(t, other.get("/data"), http.StatusOK)
}

// ---- the portal process ----

// portalEnv is the environment of a portal on database dbURL, with a
// shared secret key so that several processes agree.
func portalEnv(t *testing.T, dbURL string) []string {
	t.Helper()
	return append(harness.CleanEnv(),
		"CARREL_ADDR=127.0.0.1:0",
		"CARREL_DATA_DIR="+t.TempDir(),
		"CARREL_LOG_LEVEL=info",
		"CARREL_DATABASE_URL="+dbURL,
		"CARREL_SECRET_KEYS="+models.GenerateKey(),
	)
}

// ---- a browser without a browser ----

// webClient is one visitor speaking plain HTTP (harness.Client): it keeps
// the session cookie by hand (so a test can carry it to another port),
// never follows redirects, and fails t when a request does.
type webClient struct {
	*harness.Client
	t *testing.T
}

type webResponse = harness.Response

func newWebClient(t *testing.T, base string) *webClient {
	return &webClient{Client: harness.NewClient(base, nil), t: t}
}

func (c *webClient) get(path string) webResponse {
	c.t.Helper()
	r, err := c.Get(context.Background(), path)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// post sends a form as a browser on the portal's own page would.
func (c *webClient) post(path string, form url.Values) webResponse {
	c.t.Helper()
	r, err := c.Post(context.Background(), path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

func (c *webClient) csrf(path string) string {
	c.t.Helper()
	r := c.get(path)
	tok, _ := doc(c.t, r).Find(`input[name="csrf_token"]`).First().Attr("value")
	if tok == "" {
		c.t.Fatalf("no csrf_token on %s (status %d)", path, r.Code)
	}
	return tok
}

func (c *webClient) signIn(p patron) webResponse {
	c.t.Helper()
	return c.post("/login", url.Values{"card": {p.Card}, "pin": {p.PIN}, "csrf_token": {c.csrf("/login")}})
}

func doc(t *testing.T, r webResponse) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// signedIn is the "Signed in as" line of a page, "" when nobody is.
func signedIn(r webResponse) string {
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(d.Find(`[data-testid="signed-in"]`).Text())
}

func wantCode(t *testing.T, r webResponse, code int) {
	t.Helper()
	if r.Code != code {
		body := r.Body
		if len(body) > 600 {
			body = body[:600] + "…"
		}
		t.Fatalf("%s: status %d, want %d\n%s", r.What, r.Code, code, body)
	}
}

// wantFriendly503 checks that an outage shows the friendly page, says when
// to come back, and gives away no internals.
func wantFriendly503(t *testing.T, r webResponse) {
	t.Helper()
	if doc(t, r).Find(`[data-testid="error-page"]`).Length() != 1 {
		t.Fatalf("%s: a 503 should be the friendly error page:\n%s", r.What, r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("%s: a 503 should say when to retry", r.What)
	}
	// The words a reader sees, not the markup: a random form token can
	// happen to contain "sql".
	low := strings.ToLower(doc(t, r).Find("body").Text())
	for _, leak := range []string{"sql", "postgres", "dial", "connection", "127.0.0.1:"} {
		if strings.Contains(low, leak) {
			t.Fatalf("%s: the 503 page gives away %q:\n%s", r.What, leak, r.Body)
		}
	}
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, c *webClient, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if c.get("/readyz").Code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover within %s of the database coming back", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- the database, seen directly ----

func openDatabase(t *testing.T, dbURL string) *gorm.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := models.Open(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

// consents is a patron's privacy choices as stored, with the ledger and
// the data behind them.
type consents struct {
	HistoryOn       bool
	HistoryRows     int64  // reading_history entries
	HistoryLedger   int64  // reading_history ledger entries
	HistoryLast     string // the newest one's new value
	FavoritesLinked bool
	Favorites       int64
	FavoritesLedger int64
	FavoritesLast   string
}

func readConsents(t *testing.T, db *gorm.DB, card string) consents {
	t.Helper()
	var row struct {
		ID                    int64
		ReadingHistoryEnabled bool
		FavoritesLinked       bool
	}
	if err := db.Raw(`SELECT id, reading_history_enabled, favorites_linked FROM patrons WHERE card_number = ?`, card).Scan(&row).Error; err != nil || row.ID == 0 {
		t.Fatalf("read patron: %v", err)
	}
	c := consents{HistoryOn: row.ReadingHistoryEnabled, FavoritesLinked: row.FavoritesLinked}
	count := func(q string, args ...any) int64 {
		var n int64
		if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	last := func(subject string) string {
		var v string
		if err := db.Raw(`SELECT new_value FROM consent_entries WHERE patron_id = ? AND subject = ? ORDER BY id DESC LIMIT 1`,
			row.ID, subject).Scan(&v).Error; err != nil {
			t.Fatalf("read ledger: %v", err)
		}
		return v
	}
	c.HistoryRows = count(`SELECT COUNT(*) FROM reading_history WHERE patron_id = ?`, row.ID)
	c.HistoryLedger = count(`SELECT COUNT(*) FROM consent_entries WHERE patron_id = ? AND subject = ?`, row.ID, models.ConsentReadingHistory)
	c.HistoryLast = last(models.ConsentReadingHistory)
	c.Favorites = count(`SELECT COUNT(*) FROM favorites WHERE patron_id = ?`, row.ID)
	c.FavoritesLedger = count(`SELECT COUNT(*) FROM consent_entries WHERE patron_id = ? AND subject = ?`, row.ID, models.ConsentFavoritesLink)
	c.FavoritesLast = last(models.ConsentFavoritesLink)
	return c
}

// agree checks that each choice, its ledger and its data tell one story.
func (c consents) agree(t *testing.T, when string) {
	t.Helper()
	onOff := map[bool]string{true: "on", false: "off"}
	if c.HistoryLast != onOff[c.HistoryOn] {
		t.Errorf("%s: reading history is %s but the ledger's newest entry says %q", when, onOff[c.HistoryOn], c.HistoryLast)
	}
	if !c.HistoryOn && c.HistoryRows != 0 {
		t.Errorf("%s: reading history is off but %d entries are kept", when, c.HistoryRows)
	}
	if c.FavoritesLast != onOff[c.FavoritesLinked] {
		t.Errorf("%s: favorites are %s but the ledger's newest entry says %q", when, onOff[c.FavoritesLinked], c.FavoritesLast)
	}
	if !c.FavoritesLinked && c.Favorites != 0 {
		t.Errorf("%s: favorites are unlinked but %d are kept", when, c.Favorites)
	}
}

// ---- a PostgreSQL proxy that can "stop the database" ----

// pgProxy forwards TCP connections to PostgreSQL, reading what the portal
// sends just enough to know which statement each connection runs. It can
// stop the database as the portal sees it (down: the listener closed and
// every connection cut; up: listening on the same port again), cut the
// connections at one chosen COMMIT, and hold back the answers on the
// connections that run a chosen statement.
type pgProxy struct {
	t      *testing.T
	target string
	addr   string
	wg     sync.WaitGroup

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	// An armed cut: where, and a channel closed once it happened. In
	// cutAfter mode committed reports that the database applied the
	// COMMIT, and every answer is held back (stall) until the cut.
	cut       cutMode
	cutDone   chan struct{}
	committed func() bool
	stall     chan struct{}
	// An armed hold: connections that run a statement holdSQL matches get
	// their answers held back until release; holdDone closes once
	// holdWant connections are held.
	holdSQL  func(sql []byte) bool
	holdWant int
	holdDone chan struct{}
	held     []*proxied
}

// proxied is one connection through the proxy.
type proxied struct {
	hold chan struct{} // answers wait while it is open
}

// cutMode says where the proxy cuts a reading-history change.
type cutMode int

const (
	noCut     cutMode = iota
	cutBefore         // the COMMIT never reaches the database
	cutAfter          // the database applies the COMMIT; its answer is lost
)

// changesHistory reports whether a statement updates reading_history_enabled.
func changesHistory(sql []byte) bool {
	return bytes.Contains(sql, []byte("reading_history_enabled")) && bytes.Contains(bytes.ToUpper(sql), []byte("UPDATE"))
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.down()
		p.wg.Wait()
	})
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.relay(c)
			}()
		}
	}()
}

// down stops the database, as far as the portal can tell.
func (p *pgProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
	p.releaseLocked()
}

// up brings the database back on the same address.
func (p *pgProxy) up() {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cutBeforeHistoryCommit arms the proxy: the next COMMIT of a transaction
// that changed reading_history_enabled is not forwarded; the database
// stops instead. The channel closes when that happened.
func (p *pgProxy) cutBeforeHistoryCommit() <-chan struct{} {
	return p.arm(cutBefore, nil)
}

// cutAfterHistoryCommit arms the proxy: the next COMMIT of a transaction
// that changed reading_history_enabled is forwarded, and once committed()
// says the database applied it, the database stops before the portal hears
// back.
func (p *pgProxy) cutAfterHistoryCommit(committed func() bool) <-chan struct{} {
	return p.arm(cutAfter, committed)
}

func (p *pgProxy) arm(mode cutMode, committed func() bool) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.committed, p.cutDone = mode, committed, make(chan struct{})
	return p.cutDone
}

// takeCut disarms the cut and returns the mode it was armed with. In
// cutAfter mode, answers are held back from now on.
func (p *pgProxy) takeCut() cutMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	mode := p.cut
	if mode == cutAfter {
		p.stall = make(chan struct{})
	}
	p.cut = noCut
	return mode
}

// cutNow says that the armed cut happened, then stops the database (in
// that order: the portal's answer comes only after the stop).
func (p *pgProxy) cutNow() {
	p.mu.Lock()
	close(p.cutDone)
	p.mu.Unlock()
	p.down()
}

// waitCommitted polls committed() for up to ten seconds.
func (p *pgProxy) waitCommitted() {
	deadline := time.Now().Add(10 * time.Second)
	for !p.committed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// holdReplies arms a hold: from the moment each of the next n connections
// runs a statement that match accepts, the database's answers on it are
// held back. held closes once n connections are held; release (safe to
// call more than once) lets them all go.
func (p *pgProxy) holdReplies(n int, match func(sql []byte) bool) (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdSQL, p.holdWant, p.holdDone = match, n, make(chan struct{})
	return p.holdDone, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.releaseLocked()
	}
}

func (p *pgProxy) releaseLocked() {
	for _, pc := range p.held {
		close(pc.hold)
		pc.hold = nil
	}
	p.held, p.holdSQL = nil, nil
}

// running notes that pc runs sql, and holds its answers if armed to.
func (p *pgProxy) running(pc *proxied, sql []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holdSQL == nil || pc.hold != nil || !p.holdSQL(sql) {
		return
	}
	pc.hold = make(chan struct{})
	p.held = append(p.held, pc)
	if len(p.held) == p.holdWant {
		close(p.holdDone)
		p.holdSQL = nil
	}
}

// replies forwards what the database answers, unless held back.
func (p *pgProxy) replies(pc *proxied, client, server net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			p.mu.Lock()
			waits := []chan struct{}{p.stall, pc.hold}
			p.mu.Unlock()
			for _, w := range waits {
				if w != nil {
					<-w
				}
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *pgProxy) relay(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 3*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		_ = client.Close()
		_ = server.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}()
	pc := &proxied{}
	back := make(chan struct{})
	go func() {
		p.replies(pc, client, server)
		_ = client.Close()
		close(back)
	}()
	_ = p.frontend(pc, client, server)
	_ = server.Close()
	<-back
}

// frontend forwards what the portal sends, message by message, noting the
// statements it runs.
func (p *pgProxy) frontend(pc *proxied, client, server net.Conn) error {
	r := bufio.NewReader(client)
	// The startup message has no type byte; an SSL or GSSAPI request is
	// answered by the server and followed by the real startup.
	for {
		var n uint32
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return err
		}
		if n < 8 || n > 1<<16 {
			return fmt.Errorf("proxy: startup message of %d bytes", n)
		}
		msg := binary.BigEndian.AppendUint32(nil, n)
		msg = append(msg, make([]byte, n-4)...)
		if _, err := io.ReadFull(r, msg[4:]); err != nil {
			return err
		}
		if _, err := server.Write(msg); err != nil {
			return err
		}
		if code := binary.BigEndian.Uint32(msg[4:8]); code != 80877103 && code != 80877104 {
			break
		}
	}
	changing := false               // this transaction changed reading_history_enabled
	prepared := map[string][]byte{} // statement name -> SQL
	for {
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n < 4 || n > 1<<30 {
			return fmt.Errorf("proxy: message of %d bytes", n)
		}
		msg := append(hdr, make([]byte, n-4)...)
		if _, err := io.ReadFull(r, msg[5:]); err != nil {
			return err
		}
		body := msg[5:]
		var sql []byte // the statement this message runs, if it runs one
		switch hdr[0] {
		case 'P': // Parse: statement name, SQL, ...
			name, rest, _ := bytes.Cut(body, []byte{0})
			text, _, _ := bytes.Cut(rest, []byte{0})
			prepared[string(name)] = bytes.Clone(text)
		case 'B': // Bind: portal name, statement name, ...
			_, rest, _ := bytes.Cut(body, []byte{0})
			name, _, _ := bytes.Cut(rest, []byte{0})
			sql = prepared[string(name)]
		case 'Q': // a simple query
			sql = bytes.TrimRight(body, "\x00")
		}
		if sql != nil {
			changing = changing || changesHistory(sql)
			p.running(pc, sql)
			q := bytes.ToLower(bytes.TrimSpace(sql))
			if hdr[0] == 'Q' && changing && bytes.HasPrefix(q, []byte("commit")) {
				switch p.takeCut() {
				case cutBefore:
					p.cutNow()
					return nil
				case cutAfter:
					if _, err := server.Write(msg); err != nil {
						return err
					}
					p.waitCommitted()
					p.cutNow()
					return nil
				}
			}
			if hdr[0] == 'Q' && (bytes.HasPrefix(q, []byte("commit")) || bytes.HasPrefix(q, []byte("rollback"))) {
				changing = false
			}
		}
		if _, err := server.Write(msg); err != nil {
			return err
		}
	}
}
