package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
)

// app is a running portal over a real database, reached through real HTTP
// by clients that keep cookies the way a browser does.
type app struct {
	t      *testing.T
	store  *models.Store
	clock  *modeltest.FakeClock
	server *httptest.Server
	logs   *syncBuffer
	// cookies records every Set-Cookie header any response carried.
	cookies *cookieLog
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type cookieLog struct {
	mu      sync.Mutex
	headers []string
}

func (l *cookieLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.headers...)
}

// forEachDB runs fn once per database engine, each with a fresh portal.
func forEachDB(t *testing.T, cfg web.Config, fn func(t *testing.T, a *app)) {
	t.Helper()
	clock := modeltest.NewFakeClock(testNow)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			fn(t, newApp(t, db, clock, cfg))
		})
	}
}

var testNow = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)

func newApp(t *testing.T, db modeltest.DB, clock *modeltest.FakeClock, cfg web.Config) *app {
	t.Helper()
	clock.Set(testNow) // engines run one after the other on a shared clock
	store := modeltest.NewStore(t, db.Gorm, clock)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.LibraryName == "" {
		cfg.LibraryName = "Test Library"
	}
	if cfg.PolicyVersion == "" {
		cfg.PolicyVersion = "test-1"
	}
	srv, err := web.New(store, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	store.Count = srv.CountEvent
	a := &app{t: t, store: store, clock: clock, logs: logs, cookies: &cookieLog{}}
	// Demo mode runs on plain HTTP; a production portal is reached over
	// HTTPS, and its Secure cookie would not even be sent over HTTP.
	if cfg.Demo {
		a.server = httptest.NewServer(srv)
	} else {
		a.server = httptest.NewTLSServer(srv)
	}
	t.Cleanup(a.server.Close)
	return a
}

// demoConfig is demo mode on plain HTTP: the cookie is carrel_session.
func demoConfig() web.Config { return web.Config{Demo: true} }

// patron creates a patron with a known card and PIN.
func (a *app) patron(card, pin, given, family string) models.Patron {
	a.t.Helper()
	hash, err := a.store.HashSecret(context.Background(), pin)
	if err != nil {
		a.t.Fatal(err)
	}
	p := models.Patron{
		CardNumber: card, PINHash: hash, GivenName: given, FamilyName: family,
		Email: strings.ToLower(given) + "@example.org", CardExpiresOn: testNow.AddDate(2, 0, 0),
		BorrowingStatus: models.StatusActive, FavoritesNotice: "none",
	}
	if err := a.store.DB.Create(&p).Error; err != nil {
		a.t.Fatal(err)
	}
	return p
}

// client is one browser: its own cookie jar, no automatic redirects.
type client struct {
	a    *app
	http *http.Client
	// header is added to every request (e.g. a forwarded address).
	header http.Header
}

func (a *app) client() *client {
	jar, _ := cookiejar.New(nil)
	c := &client{a: a, header: http.Header{}}
	c.http = &http.Client{
		Jar:       jar,
		Transport: &recordingTransport{log: a.cookies, base: a.server.Client().Transport},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c
}

type recordingTransport struct {
	log  *cookieLog
	base http.RoundTripper
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(r)
	if err == nil {
		rt.log.mu.Lock()
		rt.log.headers = append(rt.log.headers, resp.Header.Values("Set-Cookie")...)
		rt.log.mu.Unlock()
	}
	return resp, err
}

// response is a finished response with its body read.
type response struct {
	*http.Response
	body string
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c *client) do(req *http.Request) response {
	c.a.t.Helper()
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

func (c *client) get(path string) response {
	c.a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.a.server.URL+path, nil)
	return c.do(req)
}

// post sends a form the way a browser on our own page would.
func (c *client) post(path string, form url.Values) response {
	c.a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.a.server.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.a.server.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// csrf fetches a page and reads its form token.
func (c *client) csrf(path string) string {
	c.a.t.Helper()
	r := c.get(path)
	tok, ok := r.doc(c.a.t).Find(`input[name="csrf_token"]`).Attr("value")
	if !ok || tok == "" {
		c.a.t.Fatalf("no csrf_token on %s (status %d)", path, r.StatusCode)
	}
	return tok
}

// signIn fills in the sign-in form and submits it.
func (c *client) signIn(card, pin string, extra ...string) response {
	c.a.t.Helper()
	form := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {c.csrf("/login")}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return c.post("/login", form)
}

// sessionCookie is the value of the session cookie the client holds.
func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.a.server.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if strings.HasSuffix(ck.Name, "carrel_session") {
			return ck.Value
		}
	}
	return ""
}

func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, code, excerpt(r.body))
	}
}

func wantRedirect(t *testing.T, r response, to string) {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != to {
		t.Fatalf("%s %s: redirect to %q, want %q", r.Request.Method, r.Request.URL.Path, got, to)
	}
}

func excerpt(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// modeltestStoreWithNewKey is the same database behind a store whose
// current key is new, as after a rotation.
func modeltestStoreWithNewKey(t *testing.T, a *app) *models.Store {
	t.Helper()
	keys, err := models.NewKeys(bytes.Repeat([]byte("a-brand-new-key!"), 2), modeltest.TestKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := models.NewStore(a.store.DB, a.clock, keys, 4)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
