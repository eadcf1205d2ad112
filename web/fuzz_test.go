package web_test

// Fuzz targets for what the portal parses from visitors: the sign-in form,
// the catalog's hand-off token and the detail pages' cursors. Each drives
// the real router (httptest, no network) over a real SQLite database. The
// seed corpora run with every `go test`; `make fuzz` runs each for longer.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/web"
	"github.com/golang-jwt/jwt/v5"
)

// fuzzPortal is the portal's router over a fresh SQLite database, called
// directly, one request at a time.
type fuzzPortal struct {
	server http.Handler
	store  *models.Store
	clock  *modeltest.FakeClock
	patron models.Patron
}

// fuzzCard and fuzzPIN sign in the fuzz portal's one patron.
const (
	fuzzCard = "21000000007777"
	fuzzPIN  = "2468"
)

func newFuzzPortal(tb testing.TB) *fuzzPortal {
	tb.Helper()
	clock := modeltest.NewFakeClock(testNow)
	store := modeltest.NewStore(tb, modeltest.SQLite(tb, clock), clock)
	// Fuzzing is a flood of failed sign-ins from one address: without
	// this, the per-client limit would answer 429 to nearly everything and
	// the slow lane would wait a second per try.
	store.Limits.SpikeFailures = math.MaxInt32
	srv, err := web.New(store, web.Config{Demo: true, LibraryName: "Fuzz Library", PolicyVersion: "fuzz-1",
		SigninRate: 1e9, SigninBurst: math.MaxInt32}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	p := &fuzzPortal{server: srv, store: store, clock: clock}
	hash, err := store.HashSecret(context.Background(), fuzzPIN)
	if err != nil {
		tb.Fatal(err)
	}
	p.patron = models.Patron{CardNumber: fuzzCard, PINHash: hash, GivenName: "Fuzzy", FamilyName: "Reader",
		Email: "fuzzy@example.org", CardExpiresOn: testNow.AddDate(2, 0, 0), BorrowingStatus: models.StatusActive,
		FavoritesNotice: models.NoticeNone, ReadingHistoryEnabled: true}
	if err := store.DB.Create(&p.patron).Error; err != nil {
		tb.Fatal(err)
	}
	// Enough history for three pages, some entries sharing a time.
	var entries []models.HistoryEntry
	for i := range 120 {
		at := testNow.Add(-time.Duration(i/2) * time.Hour)
		entries = append(entries, models.HistoryEntry{PatronID: p.patron.ID, Title: fmt.Sprintf("Book %d", i),
			Author: "Someone", Format: "Book", CheckedOutAt: at.Add(-14 * 24 * time.Hour), ReturnedAt: at})
	}
	if err := store.DB.Create(&entries).Error; err != nil {
		tb.Fatal(err)
	}
	return p
}

// do sends one request with the session cookie (if any) as a browser on
// the portal's own pages would.
func (p *fuzzPortal) do(method, target string, form url.Values, cookie string) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, "http://portal.test"+target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://portal.test")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		req = httptest.NewRequest(method, "http://portal.test"+target, nil)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "carrel_session", Value: cookie})
	}
	w := httptest.NewRecorder()
	p.server.ServeHTTP(w, req)
	return w
}

// anonymous opens the sign-in form as a visitor who has not signed in and
// returns its form token.
func (p *fuzzPortal) anonymous(tb testing.TB) (token string) {
	tb.Helper()
	w := p.do(http.MethodGet, "/login", nil, "")
	cookie := sessionCookieOf(w)
	doc, err := goquery.NewDocumentFromReader(w.Body)
	if err != nil {
		tb.Fatal(err)
	}
	token, _ = doc.Find(`input[name="csrf_token"]`).Attr("value")
	// No cookie before sign-in: the form's token is stateless.
	if w.Code != http.StatusOK || cookie != "" || token == "" {
		tb.Fatalf("GET /login: status %d, cookie %q, token %q", w.Code, cookie, token)
	}
	return token
}

// signIn signs the patron in and returns the session cookie.
func (p *fuzzPortal) signIn(tb testing.TB) string {
	tb.Helper()
	token := p.anonymous(tb)
	w := p.do(http.MethodPost, "/login", url.Values{"card": {fuzzCard}, "pin": {fuzzPIN}, "csrf_token": {token}}, "")
	if w.Code != http.StatusSeeOther || sessionCookieOf(w) == "" {
		tb.Fatalf("sign-in: status %d", w.Code)
	}
	return sessionCookieOf(w)
}

func sessionCookieOf(w *httptest.ResponseRecorder) string {
	for _, c := range w.Result().Cookies() {
		if c.Name == "carrel_session" {
			return c.Value
		}
	}
	return ""
}

// checkResponse holds for every answer to anything: no server error, no
// redirect off the site, no cookie but the one.
func checkResponse(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: status %d\n%s", what, w.Code, excerpt(w.Body.String()))
	}
	if loc := w.Header().Get("Location"); loc != "" {
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Fatalf("%s: redirect off the site to %q", what, loc)
		}
	}
	for _, sc := range w.Header().Values("Set-Cookie") {
		if !strings.HasPrefix(sc, "carrel_session=") {
			t.Fatalf("%s: a cookie other than carrel_session: %q", what, sc)
		}
	}
}

func FuzzSignInForm(f *testing.F) {
	for _, seed := range [][3]string{
		{fuzzCard, fuzzPIN, ""},
		{fuzzCard, fuzzPIN, "/favorites"},
		{"2100 0000 0077-77", fuzzPIN, "/data/reading-history?after=1.1"},
		{fuzzCard, fuzzPIN, "//evil.example/"},
		{fuzzCard, fuzzPIN, "/\\evil.example"},
		{fuzzCard, fuzzPIN, "https://evil.example/"},
		{fuzzCard, fuzzPIN, "/%2F%2Fevil.example"},
		{fuzzCard, fuzzPIN, "/%5Cevil.example"},
		{fuzzCard, fuzzPIN, "/login"},
		{fuzzCard, fuzzPIN, "/logout?x=1"},
		{fuzzCard, fuzzPIN, " /data"},
		{fuzzCard, fuzzPIN, "/\t/evil.example"},
		{fuzzCard, fuzzPIN, "javascript:alert(1)"},
		{fuzzCard, fuzzPIN, "/data#//evil"},
		{fuzzCard, fuzzPIN, "/data/\xff"},
		{fuzzCard, "0000", "/data"},
		{"21000000000000", fuzzPIN, ""},
		{"", "", ""},
		{"abc", strings.Repeat("9", 65), "/"},
		{strings.Repeat("1", 21), "1", "/" + strings.Repeat("a", 600)},
		{"٢١٠٠٠٠٠٠٠٠٧٧٧٧", fuzzPIN, ""},
		{"\x00", "\x00", "\x00"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	p := newFuzzPortal(f)
	token := p.anonymous(f)
	f.Fuzz(func(t *testing.T, card, pin, next string) {
		w := p.do(http.MethodPost, "/login", url.Values{"card": {card}, "pin": {pin}, "next": {next}, "csrf_token": {token}}, "")
		what := fmt.Sprintf("POST /login card=%q pin=%q next=%q", card, pin, next)
		checkResponse(t, what, w)
		switch w.Code {
		case http.StatusSeeOther:
			// Signed in: only with the right card and PIN, and only to
			// where the form asked or to /data.
			if models.NormalizeCard(card) != fuzzCard || pin != fuzzPIN {
				t.Fatalf("%s: signed in with the wrong card or PIN", what)
			}
			if loc := w.Header().Get("Location"); loc != "/data" && loc != next {
				t.Fatalf("%s: signed in, then sent to %q", what, loc)
			}
			if sessionCookieOf(w) == "" {
				t.Fatalf("%s: signed in without a session token", what)
			}
		case http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests:
			if c := sessionCookieOf(w); c != "" {
				t.Fatalf("%s: status %d, yet a cookie", what, w.Code)
			}
		default:
			t.Fatalf("%s: status %d\n%s", what, w.Code, excerpt(w.Body.String()))
		}
	})
}

func FuzzHandoffToken(f *testing.F) {
	p := newFuzzPortal(f)
	ctx := context.Background()
	kid, secret, err := p.store.AddOPAC(ctx, "koha", catalog)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := p.store.MintHandoff(ctx, "koha", fuzzCard, catalog+"/back")
	if err != nil {
		f.Fatal(err)
	}
	now := testNow
	signed := func(method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "koha", "aud": "carrel", "sub": fuzzCard, "iat": now.Unix(),
			"exp": now.Add(time.Minute).Unix(), "jti": models.RandomToken()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	hs := jwt.SigningMethodHS256
	for _, tok := range []string{
		valid,
		signed(hs, []byte("not the secret"), kid, claims(nil)),
		signed(hs, []byte(secret), "unknown-kid", claims(nil)),
		signed(hs, []byte(secret), "", claims(nil)),
		signed(jwt.SigningMethodHS512, []byte(secret), kid, claims(nil)),
		signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil)),
		signed(hs, []byte(secret), kid, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })),
		signed(hs, []byte(secret), kid, claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })),
		signed(hs, []byte(secret), kid, claims(func(c jwt.MapClaims) { c["sub"] = "21000000000000" })),
		signed(hs, []byte(secret), kid, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(time.Hour).Unix() })),
		signed(hs, []byte(secret), kid, claims(func(c jwt.MapClaims) { delete(c, "jti") })),
		"", "a.b.c", "..", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("A", 5000), "\x00.\xff.",
	} {
		for _, to := range []string{"/favorites", "//evil.example"} {
			f.Add(tok, to, catalog+"/back")
		}
	}
	f.Add("x", "/opac/follow?author=Butler", "https://catalog.example.org.evil.example/")
	f.Add("x", "/\\evil.example", "https://catalog.example.org@evil.example/")
	f.Add("x", "/data/../../evil", "javascript:alert(1)//https://catalog.example.org")
	f.Add("x", "https://evil.example/data", "HTTPS://CATALOG.EXAMPLE.ORG/x")
	// Signed tokens the fuzzer cannot forge: whatever it makes of them
	// must be refused. The minted one signs in the first time only.
	genuine := map[string]bool{valid: true}
	used := map[string]bool{}
	f.Fuzz(func(t *testing.T, token, to, ret string) {
		w := p.do(http.MethodGet, "/opac/handoff?"+url.Values{"token": {token}, "to": {to}, "return": {ret}}.Encode(), nil, "")
		what := fmt.Sprintf("GET /opac/handoff token=%q to=%q return=%q", token, to, ret)
		checkResponse(t, what, w)
		switch w.Code {
		case http.StatusSeeOther:
			if !genuine[token] || used[token] {
				t.Fatalf("%s: signed in with a token that is not valid", what)
			}
			used[token] = true
			if loc := w.Header().Get("Location"); loc != web.HandoffTargetForTest(to) {
				t.Fatalf("%s: sent to %q", what, loc)
			}
		case http.StatusUnauthorized:
			doc, err := goquery.NewDocumentFromReader(w.Body)
			if err != nil {
				t.Fatal(err)
			}
			// The way back, if offered, leads to the catalog only.
			if back, ok := doc.Find(`[data-testid="back-to-catalog"]`).Attr("href"); ok {
				u, err := url.Parse(back)
				if err != nil || strings.ToLower(u.Scheme+"://"+u.Host) != catalog || u.User != nil {
					t.Fatalf("%s: the way back leads to %q", what, back)
				}
			}
		default:
			t.Fatalf("%s: status %d\n%s", what, w.Code, excerpt(w.Body.String()))
		}
	})
}

func FuzzDetailCursor(f *testing.F) {
	for _, s := range []string{
		"1795802400000000.42", "0.0", "-1.1", "1.-1", "+1.1", "1..1", ".", "", "x", "1e6.1", "0x10.1", "1_000.1",
		"9223372036854775807.9223372036854775807", "-9223372036854775808.0", "9223372036854775808.1",
		"-62135596800000000.1", "253402300799999999.1", strings.Repeat("9", 41), "1.1\x00", "１.１",
	} {
		f.Add(s, "")
		f.Add("", s)
	}
	p := newFuzzPortal(f)
	cookie := p.signIn(f)
	f.Fuzz(func(t *testing.T, after, before string) {
		q := url.Values{}
		if after != "" {
			q.Set("after", after)
		}
		if before != "" {
			q.Set("before", before)
		}
		target := "/data/reading-history?" + q.Encode()
		w := p.do(http.MethodGet, target, nil, cookie)
		checkResponse(t, "GET "+target, w)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("GET %s: status %d, want 200 or 400\n%s", target, w.Code, excerpt(w.Body.String()))
		}
		if w.Code == http.StatusBadRequest {
			if _, ok := models.ParseCursor(after); ok || after == "" {
				if _, ok := models.ParseCursor(before); ok || before == "" {
					t.Fatalf("GET %s: 400 for cursors that parse", target)
				}
			}
		}
	})
}

// TestCursorsAtTheEdgesOfTime: a cursor that parses is answered with a
// page, on both engines, however far from now it points. The cursors that
// do not parse are left out; if none parses the test checked nothing, and
// fails.
func TestCursorsAtTheEdgesOfTime(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		checked := 0
		for _, cur := range []string{
			"9223372036854775807.1", "-9223372036854775808.0", "-62135596800000000.1", "253402300799999999.1",
			"-210866803200000000.1", "9224286393600000000.1",
		} {
			if _, ok := models.ParseCursor(cur); !ok {
				continue
			}
			checked++
			for _, param := range []string{"after", "before"} {
				r := c.get("/data/reading-history?" + param + "=" + url.QueryEscape(cur))
				if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusBadRequest {
					t.Errorf("%s=%s: status %d, want 200 or 400", param, cur, r.StatusCode)
				}
			}
		}
		if checked == 0 {
			t.Fatal("no cursor at the edges of time parses: the test checked nothing")
		}
	})
}
