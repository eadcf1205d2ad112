package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
)

const (
	card = "21000000009999"
	pin  = "4321"
)

func TestSignInLandsOnDataWithAFreshToken(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.csrf("/login")
		if c.sessionCookie() != "" {
			t.Fatal("the sign-in form must not start a session")
		}
		// A cookie planted before sign-in (session fixation) is not the
		// one used after it.
		anonymous := models.RandomToken()
		u, _ := url.Parse(a.server.URL)
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "carrel_session", Value: anonymous, Path: "/"}})
		wantRedirect(t, c.signIn(card, pin), "/data")
		signedIn := c.sessionCookie()
		if signedIn == "" || signedIn == anonymous {
			t.Fatal("the session token must change at sign-in")
		}
		r := c.get("/data")
		wantStatus(t, r, http.StatusOK)
		if got := r.doc(t).Find(`[data-testid="signed-in"]`).Text(); !strings.Contains(got, "R. Parks") {
			t.Fatalf("signed-in banner = %q", got)
		}
		// Whoever knew the token from before sign-in holds nothing.
		thief := a.client()
		req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/data", nil)
		req.AddCookie(&http.Cookie{Name: "carrel_session", Value: anonymous})
		wantRedirect(t, thief.do(req), "/login?next=%2Fdata&ended=ended")
	})
}

func TestSignInRefusals(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		cases := []struct {
			name, card, pin string
			status          int
			field, message  string
		}{
			{"wrong PIN", card, "0000", http.StatusUnauthorized, "", "do not match our records"},
			{"unknown card", "21000000005555", pin, http.StatusUnauthorized, "", "do not match our records"},
			{"empty card", "", pin, http.StatusUnprocessableEntity, "card", "Enter your library card number."},
			{"letters in card", "2100ABC", pin, http.StatusUnprocessableEntity, "card", "5 to 20 digits"},
			{"empty PIN", card, "", http.StatusUnprocessableEntity, "pin", "Enter your PIN."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := a.client()
				r := c.signIn(tc.card, tc.pin)
				wantStatus(t, r, tc.status)
				doc := r.doc(t)
				if tc.field != "" {
					msg := doc.Find(`[data-testid="` + tc.field + `-error"]`).Text()
					if !strings.Contains(msg, tc.message) {
						t.Fatalf("error next to %s = %q, want %q", tc.field, msg, tc.message)
					}
					if v, _ := doc.Find(`input[name="card"]`).Attr("value"); v != tc.card {
						t.Fatalf("the card number typed should be kept, got %q", v)
					}
				} else if msg := doc.Find(`[data-testid="form-error"]`).Text(); !strings.Contains(msg, tc.message) {
					t.Fatalf("form error = %q, want %q", msg, tc.message)
				}
				if doc.Find(`input[name="pin"]`).AttrOr("value", "") != "" {
					t.Fatal("a PIN must never be sent back to the browser")
				}
				wantRedirect(t, c.get("/data"), "/login?next=%2Fdata")
			})
		}
	})
}

func TestLockoutAfterFiveFailuresForKnownAndUnknownCards(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		for _, cardNo := range []string{card, "21000000007777"} {
			c := a.client()
			for i := 1; i <= 4; i++ {
				wantStatus(t, c.signIn(cardNo, "9999"), http.StatusUnauthorized)
			}
			r := c.signIn(cardNo, "9999")
			wantStatus(t, r, http.StatusTooManyRequests)
			if !strings.Contains(r.body, "paused until") {
				t.Fatalf("fifth failure should explain the pause: %s", excerpt(r.body))
			}
			// Even the right PIN waits out the lock, and the message is the
			// same whether or not the card exists.
			r = c.signIn(cardNo, pin)
			wantStatus(t, r, http.StatusTooManyRequests)
		}
		a.clock.Advance(16 * time.Minute)
		wantRedirect(t, a.client().signIn(card, pin), "/data")
	})
}

func TestNextIsFollowedOnlyToLocalPaths(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		cases := map[string]string{
			"/policy?section=2":            "/policy?section=2",
			"/data":                        "/data",
			"//evil.example/":              "/data",
			"https://evil.example/":        "/data",
			"https:evil.example":           "/data",
			"/\\evil.example":              "/data",
			"/%2F%2Fevil.example":          "/data",
			"/%5Cevil.example":             "/data",
			"javascript:alert(1)":          "/data",
			"/logout":                      "/data",
			"\t/evil":                      "/data",
			"/data\r\nLocation: http://x/": "/data",
		}
		for next, want := range cases {
			c := a.client()
			wantRedirect(t, c.signIn(card, pin, "next", next), want)
		}
		// The form carries a safe next from the address to the POST.
		c := a.client()
		doc := c.get("/login?next=" + url.QueryEscape("/policy")).doc(t)
		if v, _ := doc.Find(`input[name="next"]`).Attr("value"); v != "/policy" {
			t.Fatalf("next field = %q", v)
		}
		doc = c.get("/login?next=" + url.QueryEscape("//evil.example")).doc(t)
		if doc.Find(`input[name="next"]`).Length() != 0 {
			t.Fatal("an unsafe next must not reach the form")
		}
	})
}

func TestSignOutEndsTheSessionEverywhere(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		old := c.sessionCookie()
		tok := c.csrf("/data")
		r := c.post("/logout", url.Values{"csrf_token": {tok}})
		wantRedirect(t, r, "/login?signed_out=1")
		if got := r.Header.Get("Clear-Site-Data"); got != `"cache", "cookies"` {
			t.Fatalf("Clear-Site-Data = %q", got)
		}
		// Replaying the old cookie is being a signed-out visitor.
		replay := a.client()
		req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/data", nil)
		req.AddCookie(&http.Cookie{Name: "carrel_session", Value: old})
		wantRedirect(t, replay.do(req), "/login?next=%2Fdata&ended=ended")
		page := replay.get("/login?signed_out=1")
		if page.doc(t).Find(`[data-testid="signed-out"]`).Length() != 1 {
			t.Fatal("the sign-in page should confirm the sign-out")
		}
		// Pressing "Sign out" on a page whose session had already expired
		// still lands on the sign-in page.
		wantRedirect(t, replay.post("/logout", url.Values{}), "/login?signed_out=1")
	})
}

func TestSessionTimeouts(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")

		idle := a.client()
		idle.signIn(card, pin)
		a.clock.Advance(15*time.Minute + time.Second)
		wantRedirect(t, idle.get("/data"), "/login?next=%2Fdata&ended=idle")

		busy := a.client()
		busy.signIn(card, pin)
		for elapsed := time.Duration(0); elapsed < 7*time.Hour+50*time.Minute; elapsed += 10 * time.Minute {
			a.clock.Advance(10 * time.Minute)
			wantStatus(t, busy.get("/data"), http.StatusOK)
		}
		a.clock.Advance(11 * time.Minute) // past eight hours since sign-in
		wantRedirect(t, busy.get("/data"), "/login?next=%2Fdata&ended=limit")
	})
}

func TestTheOneCookie(t *testing.T) {
	check := func(t *testing.T, a *app, wantName string, secure bool) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		r := c.get("/data")
		wantStatus(t, r, http.StatusOK)
		if hsts := r.Header.Get("Strict-Transport-Security"); secure != (hsts != "") {
			t.Fatalf("HSTS %q on a secure=%v portal", hsts, secure)
		}
		c.post("/logout", url.Values{"csrf_token": {c.csrf("/data")}})
		c.signIn(card, "0000")
		c.get("/nowhere")
		headers := a.cookies.all()
		if len(headers) == 0 {
			t.Fatal("no cookie was ever set")
		}
		for _, h := range headers {
			ck, err := http.ParseSetCookie(h)
			if err != nil {
				t.Fatal(err)
			}
			lower := strings.ToLower(h)
			switch {
			case ck.Name != wantName:
				t.Fatalf("cookie %q set, want only %q", ck.Name, wantName)
			case strings.Contains(lower, "expires=") || strings.Contains(lower, "max-age"):
				t.Fatalf("cookie must be a browser-session cookie: %s", h)
			case !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/":
				t.Fatalf("cookie attributes: %s", h)
			case ck.Secure != secure:
				t.Fatalf("Secure = %v, want %v: %s", ck.Secure, secure, h)
			case len(ck.Value) < 22 || strings.Contains(ck.Value, card):
				t.Fatalf("cookie value must be an opaque token: %s", h)
			}
		}
	}
	t.Run("demo over plain http", func(t *testing.T) {
		forEachDB(t, demoConfig(), func(t *testing.T, a *app) { check(t, a, "carrel_session", false) })
	})
	t.Run("production", func(t *testing.T) {
		forEachDB(t, web.Config{}, func(t *testing.T, a *app) { check(t, a, "__Host-carrel_session", true) })
	})
}

func TestCrossSiteAndTokenlessPostsAreRefused(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		tok := c.csrf("/login")
		form := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}}

		noToken := url.Values{"card": {card}, "pin": {pin}}
		wantStatus(t, c.post("/login", noToken), http.StatusForbidden)
		wrong := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok + "x"}}
		wantStatus(t, c.post("/login", wrong), http.StatusForbidden)

		req, _ := http.NewRequest(http.MethodPost, a.server.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		r := c.do(req)
		wantStatus(t, r, http.StatusForbidden)
		if r.doc(t).Find(`[data-testid="error-page"]`).Length() != 1 {
			t.Fatal("a refusal should be the friendly error page")
		}
		req, _ = http.NewRequest(http.MethodPost, a.server.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		wantStatus(t, c.do(req), http.StatusForbidden)

		// Signed in, a POST without the token is still refused.
		wantRedirect(t, c.post("/login", form), "/data")
		wantStatus(t, c.post("/logout", url.Values{}), http.StatusForbidden)
		wantStatus(t, c.get("/data"), http.StatusOK)
	})
}
