package web_test

import (
	"github.com/PuerkitoBio/goquery"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		for _, path := range []string{"/", "/login", "/data", "/policy", "/no-such-page"} {
			r := c.get(path)
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: CSP allows inline code", path)
			}
			for name, want := range map[string]string{
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: %s = %q, want %q", path, name, got, want)
				}
			}
			if h.Get("Permissions-Policy") == "" {
				t.Errorf("%s: no Permissions-Policy", path)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("%s: HSTS on plain HTTP", path)
			}
			// Nothing on the page comes from another origin.
			r.doc(t).Find("[src], link[href], form[action]").Each(func(_ int, s *goquery.Selection) {
				for _, attr := range []string{"src", "href", "action"} {
					if v, ok := s.Attr(attr); ok && (strings.Contains(v, "//") || strings.HasPrefix(v, "http")) {
						t.Errorf("%s: %s=%q loads from another origin", path, attr, v)
					}
				}
			})
		}
	})
}

func TestAssetsAreServedFromThePortalAndCached(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		href, _ := c.get("/").doc(t).Find(`link[rel="stylesheet"]`).Attr("href")
		r := c.get(href)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Header.Get("Content-Type"), "text/css") || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
			t.Fatalf("stylesheet headers: %v", r.Header)
		}
		wantStatus(t, c.get("/static/css/"), http.StatusNotFound)
		wantStatus(t, c.get("/static/css"), http.StatusNotFound)
		wantStatus(t, c.get("/static/../go.mod"), http.StatusNotFound)
		if len(a.cookies.all()) != 0 {
			t.Fatal("public pages and assets must not start a session")
		}
	})
}

func TestTheLogHoldsNothingAboutThePatron(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosalind", "Franklin")
		c := a.client()
		c.signIn(card, "9876")
		c.signIn(card, pin, "next", "/data?card="+card)
		c.get("/data")
		c.get("/login?next=/data%3Fcard%3D" + card)
		c.get("/policy")
		c.get("/nowhere/" + card)
		c.post("/logout", url.Values{"csrf_token": {c.csrf("/data")}})
		logs := a.logs.String()
		if !strings.Contains(logs, "route=/login") || !strings.Contains(logs, "status=303") {
			t.Fatalf("the access log should record routes and statuses:\n%s", logs)
		}
		for _, secret := range []string{card, pin, "9876", p.GivenName, p.FamilyName, p.Email, "127.0.0.1", c.sessionCookie(), "Go-http-client"} {
			if secret != "" && strings.Contains(logs, secret) {
				t.Fatalf("the log holds %q:\n%s", secret, logs)
			}
		}
	})
}

func TestFriendlyErrorPages(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		r := c.get("/no-such-page")
		wantStatus(t, r, http.StatusNotFound)
		if !strings.Contains(r.doc(t).Find("h1").Text(), "could not find") {
			t.Fatal("404 should explain itself")
		}
		req, _ := http.NewRequest(http.MethodDelete, a.server.URL+"/data", nil)
		wantStatus(t, c.do(req), http.StatusForbidden)
	})
}

func TestDatabaseOutageIsA503AndReadyzSaysSo(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		wantStatus(t, c.get("/readyz"), http.StatusOK)
		wantStatus(t, c.get("/healthz"), http.StatusOK)
		sqlDB, _ := a.store.DB.DB()
		sqlDB.Close()
		r := c.get("/data")
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.doc(t).Find(`[data-testid="error-page"]`).Length() != 1 || strings.Contains(strings.ToLower(r.doc(t).Find("body").Text()), "sql") {
			t.Fatalf("503 should be the friendly page without internals: %s", excerpt(r.body))
		}
		wantStatus(t, c.get("/readyz"), http.StatusServiceUnavailable)
		wantStatus(t, c.get("/healthz"), http.StatusOK)
	})
}

func TestSignInFloodFromOneClientIsSlowed(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		tok := c.csrf("/login")
		limited := false
		for i := 0; i < 200 && !limited; i++ {
			r := c.post("/login", url.Values{"card": {"2100000000" + strings.Repeat("1", 4)}, "pin": {"1"}, "csrf_token": {tok}})
			if r.StatusCode == http.StatusTooManyRequests && strings.Contains(r.body, "too many requests") {
				limited = true
			}
		}
		if !limited {
			t.Fatal("a flood of sign-ins from one client should be slowed down")
		}
	})
}

func TestPolicyPageShowsTheConfiguredPolicy(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		r := a.client().get("/policy")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		if !strings.Contains(doc.Find("h2").Text(), "Confidentiality of Library Records") {
			t.Fatal("the default policy's sections should be headings")
		}
		if !strings.Contains(doc.Text(), "twelve months") || !strings.Contains(doc.Text(), "test-1") {
			t.Fatal("the policy text and its version should be shown")
		}
		if items := doc.Find("article li"); items.Length() < 4 || !strings.HasPrefix(items.First().Text(), "Patron log-in totals") {
			t.Fatal("the policy's bulleted lines should be a list")
		}
	})
}

func TestForwardedHeadersAreBelievedOnlyFromTrustedProxies(t *testing.T) {
	t.Run("untrusted peer", func(t *testing.T) {
		forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
			a.patron(card, pin, "Rosa", "Parks")
			c := a.client()
			c.header.Set("X-Forwarded-Proto", "https")
			tok := c.csrf("/login")
			wantRedirect(t, c.post("/login", url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}}), "/data")
			if h := a.cookies.all(); len(h) != 1 || strings.Contains(h[0], "Secure") {
				t.Fatalf("an untrusted X-Forwarded-Proto must not change the cookie: %v", h)
			}
			// Inventing a new address for every request does not escape the
			// per-client limit.
			limited := false
			for i := 0; i < 200 && !limited; i++ {
				c.header.Set("X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
				r := c.post("/login", url.Values{"card": {"21000000001111"}, "pin": {"1"}, "csrf_token": {tok}})
				limited = r.StatusCode == http.StatusTooManyRequests && strings.Contains(r.body, "too many requests")
			}
			if !limited {
				t.Fatal("X-Forwarded-For from an untrusted peer must be ignored")
			}
		})
	})
	t.Run("trusted proxy", func(t *testing.T) {
		cfg := demoConfig()
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		cfg.TrustedProxies = []*net.IPNet{loopback}
		forEachDB(t, cfg, func(t *testing.T, a *app) {
			a.patron(card, pin, "Rosa", "Parks")
			c := a.client()
			c.header.Set("X-Forwarded-Proto", "https")
			r := c.get("/login")
			wantRedirect(t, c.signIn(card, pin), "/data")
			h := a.cookies.all()
			if len(h) != 1 || !strings.HasPrefix(h[0], "__Host-carrel_session=") || !strings.Contains(h[0], "Secure") {
				t.Fatalf("behind a trusted TLS proxy the cookie must be Secure: %v", h)
			}
			if r.Header.Get("Strict-Transport-Security") == "" {
				t.Fatal("HSTS should be sent when the visitor came over HTTPS")
			}
		})
	})
}

func TestOversizedBodiesAreRefused(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		tok := c.csrf("/login")
		r := c.post("/login", url.Values{"card": {strings.Repeat("1", 2<<20)}, "pin": {"1"}, "csrf_token": {tok}})
		wantStatus(t, r, http.StatusRequestEntityTooLarge)
	})
}
