package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
)

// sessionRows counts the rows of the sessions table.
func sessionRows(t *testing.T, a *app) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Model(&models.Session{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// sessionData is every session row's data column, joined.
func sessionData(t *testing.T, a *app) string {
	t.Helper()
	var data []string
	if err := a.store.DB.Model(&models.Session{}).Pluck("data", &data).Error; err != nil {
		t.Fatal(err)
	}
	return strings.Join(data, "\n")
}

// unlimited lets a test send many sign-ins from one address.
func unlimited() web.Config {
	cfg := demoConfig()
	cfg.SigninRate, cfg.SigninBurst = 1000, 1000
	return cfg
}

func TestNoCookieAndNoSessionBeforeSignIn(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		a.opac("koha")
		paths := []string{"/login", "/staff/login", "/opac/handoff?token=not.a.token&return=" + url.QueryEscape(catalog+"/")}
		for i := 0; i < 100; i++ {
			for _, p := range paths {
				c := a.client()
				if r := c.get(p); r.StatusCode >= 500 {
					t.Fatalf("GET %s: %d", p, r.StatusCode)
				}
			}
		}
		// Every other page an anonymous visitor can reach, and a wrong sign-in.
		c := a.client()
		for _, p := range []string{"/", "/policy", "/nowhere", "/data", "/staff", "/login?signed_out=1",
			"/unsubscribe/not-a-token", "/unsubscribe/notices/not-a-token"} {
			if r := c.get(p); r.StatusCode >= 500 {
				t.Fatalf("GET %s: %d", p, r.StatusCode)
			}
		}
		wantStatus(t, c.signIn(card, "0000"), http.StatusUnauthorized)
		wantStatus(t, c.staffSignIn("nobody", "wrong password here"), http.StatusUnauthorized)
		wantRedirect(t, c.post("/logout", url.Values{}), "/login?signed_out=1")
		if n := sessionRows(t, a); n != 0 {
			t.Fatalf("%d session rows written for visitors who never signed in", n)
		}
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("cookies set before sign-in: %q", got[0])
		}
		// The first cookie and the first row come with a successful sign-in.
		wantRedirect(t, c.signIn(card, pin), "/data")
		if n := sessionRows(t, a); n != 1 || len(a.cookies.all()) != 1 {
			t.Fatalf("after sign-in: %d rows, %d cookies", n, len(a.cookies.all()))
		}
	})
}

func TestAPlantedCookieIsNotTheOneUsedAfterSignIn(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		a.patron("21000000008888", "8888", "Mallory", "Attacker")
		// The attacker signs in on their own browser and plants that
		// cookie (or a value of their choosing) in the victim's browser.
		attacker := a.client()
		wantRedirect(t, attacker.signIn("21000000008888", "8888"), "/data")
		for name, planted := range map[string]string{"attacker's own session": attacker.sessionCookie(), "chosen value": models.RandomToken()} {
			t.Run(name, func(t *testing.T) {
				victim := a.client()
				u, _ := url.Parse(a.server.URL)
				victim.http.Jar.SetCookies(u, []*http.Cookie{{Name: "carrel_session", Value: planted, Path: "/"}})
				// The form comes from a clean page: with the attacker's
				// session the sign-in page would send the victim on.
				form := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {a.client().csrf("/login")}}
				wantRedirect(t, victim.post("/login", form), "/data")
				got := victim.sessionCookie()
				if got == "" || got == planted {
					t.Fatal("sign-in must issue a new token, never keep a planted one")
				}
				if !strings.Contains(victim.get("/data").doc(t).Find(`[data-testid="signed-in"]`).Text(), "R. Parks") {
					t.Fatal("the victim is signed in as themselves")
				}
				thief := a.client()
				req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/data", nil)
				req.AddCookie(&http.Cookie{Name: "carrel_session", Value: planted})
				wantRedirect(t, thief.do(req), "/login?next=%2Fdata&ended=ended")
			})
		}
	})
}

func TestTheTwentyFirstSignInEndsTheOldest(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		var browsers []*client
		for i := 0; i < 21; i++ {
			c := a.client()
			wantRedirect(t, c.signIn(card, pin), "/data")
			browsers = append(browsers, c)
			a.clock.Advance(time.Second)
		}
		var n int64
		a.store.DB.Model(&models.Session{}).Where("patron_id = ?", p.ID).Count(&n)
		if n != 20 {
			t.Fatalf("%d sessions for one patron, want 20", n)
		}
		wantRedirect(t, browsers[0].get("/data"), "/login?next=%2Fdata&ended=ended")
		for _, c := range browsers[1:] {
			wantStatus(t, c.get("/data"), http.StatusOK)
		}
	})
}

func TestFormTokenIsReadOnlyFromTheBody(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		laptop, phone := a.client(), a.client()
		laptop.signIn(card, pin)
		phone.signIn(card, pin)
		tok := laptop.csrf("/data/sessions")
		q := "?" + url.Values{"csrf_token": {tok}}.Encode()
		wantStatus(t, laptop.post("/data/sessions/end-others"+q, url.Values{}), http.StatusForbidden)
		wantStatus(t, laptop.post("/logout"+q, url.Values{}), http.StatusForbidden)
		wantStatus(t, phone.get("/data"), http.StatusOK)
		wantStatus(t, laptop.get("/data"), http.StatusOK)
		// The same token in the body is accepted.
		wantRedirect(t, laptop.post("/data/sessions/end-others", url.Values{"csrf_token": {tok}}), "/data/sessions")

		// A multipart form (the arrivals upload) likewise.
		a.staff("sam", models.RoleAssistant)
		st := a.client()
		wantRedirect(t, st.staffSignIn("sam", staffPassword), "/staff")
		stTok := st.csrf("/staff/arrivals")
		wantStatus(t, st.upload("/staff/arrivals?"+url.Values{"csrf_token": {stTok}}.Encode(), "", "a.csv", "x"), http.StatusForbidden)
		if r := st.upload("/staff/arrivals", stTok, "a.csv", "x"); r.StatusCode == http.StatusForbidden || r.StatusCode >= 500 {
			t.Fatalf("the token in a multipart body: status %d", r.StatusCode)
		}
	})
}

func TestActivityKeepsAOneMinuteIdleSessionAlive(t *testing.T) {
	cfg := demoConfig()
	cfg.Sessions = models.SessionLimits{Idle: time.Minute, Absolute: 8 * time.Hour}
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		wantRedirect(t, c.signIn(card, pin), "/data")
		for i := 0; i < 9; i++ { // six minutes, a request every 40 seconds
			a.clock.Advance(40 * time.Second)
			wantStatus(t, c.get("/data"), http.StatusOK)
		}
		a.clock.Advance(time.Minute)
		wantRedirect(t, c.get("/data"), "/login?next=%2Fdata&ended=idle")
	})
}

func TestSignInFormTokens(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		fresh := func() string { return a.client().csrf("/login") }
		otherKey := modeltestStoreWithNewKey(t, a).Keys.Stamp(web.SigninFormPurpose, a.clock.Now())
		signedIn := a.client()
		signedIn.signIn(card, pin)
		sessionToken := signedIn.csrf("/data")
		expired := fresh()
		a.clock.Advance(30*time.Minute + time.Second)
		nearlyExpired := fresh()
		a.clock.Advance(29 * time.Minute)

		refused := map[string]struct {
			query string
			form  url.Values
		}{
			"missing":                  {"", url.Values{}},
			"empty":                    {"", url.Values{"csrf_token": {""}}},
			"from another key":         {"", url.Values{"csrf_token": {otherKey}}},
			"expired":                  {"", url.Values{"csrf_token": {expired}}},
			"tampered":                 {"", url.Values{"csrf_token": {fresh() + "0"}}},
			"a session's token":        {"", url.Values{"csrf_token": {sessionToken}}},
			"only in the query string": {"?" + url.Values{"csrf_token": {fresh()}}.Encode(), url.Values{}},
		}
		for name, tc := range refused {
			t.Run(name, func(t *testing.T) {
				rows := sessionRows(t, a)
				c := a.client()
				form := url.Values{"card": {card}, "pin": {pin}}
				for k, v := range tc.form {
					form[k] = v
				}
				r := c.post("/login"+tc.query, form)
				wantStatus(t, r, http.StatusForbidden)
				doc := r.doc(t)
				if msg := doc.Find(`[data-testid="form-error"]`).Text(); !strings.Contains(msg, "open too long") {
					t.Fatalf("the form should say why: %q", msg)
				}
				if v, _ := doc.Find(`input[name="card"]`).Attr("value"); v != card {
					t.Fatalf("the card typed is kept, got %q", v)
				}
				sf := url.Values{"username": {"sam"}, "password": {staffPassword}}
				for k, v := range tc.form {
					sf[k] = v
				}
				r = c.post("/staff/login"+tc.query, sf)
				wantStatus(t, r, http.StatusForbidden)
				if msg := r.doc(t).Find(`[data-testid="form-error"]`).Text(); !strings.Contains(msg, "open too long") {
					t.Fatalf("the staff form should say why: %q", msg)
				}
				if sessionRows(t, a) != rows || c.sessionCookie() != "" {
					t.Fatal("a refused sign-in starts no session")
				}
				// The form shown again carries a token that works.
				retry := url.Values{"card": {card}, "pin": {pin}, "csrf_token": {c.csrf("/login")}}
				wantRedirect(t, c.post("/login", retry), "/data")
			})
		}
		// A stamp is not bound to a browser: within its life it can be
		// presented again (the card and PIN are still needed, and counted).
		t.Run("reused within its life", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				c := a.client()
				wantRedirect(t, c.post("/login", url.Values{"card": {card}, "pin": {pin}, "csrf_token": {nearlyExpired}}), "/data")
			}
		})
	})
}

func TestConcurrentSignInsKeepTheCap(t *testing.T) {
	forEachDB(t, unlimited(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		// Every attempt counts against the card's lock before its PIN is
		// checked, right or wrong, so 40 at once would lock it: this test
		// is about the session cap, not the lock.
		a.store.Limits.MaxFailures = 1000
		tok := a.client().csrf("/login")
		var wg sync.WaitGroup
		codes := make([]int, 40)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = a.client().post("/login", url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}}).StatusCode
			}()
		}
		wg.Wait()
		for _, code := range codes {
			if code != http.StatusSeeOther {
				t.Fatalf("a sign-in answered %d", code)
			}
		}
		var n int64
		a.store.DB.Model(&models.Session{}).Where("patron_id = ?", p.ID).Count(&n)
		if n != models.MaxPatronSessions {
			t.Fatalf("%d sessions for one patron after 40 concurrent sign-ins, want %d", n, models.MaxPatronSessions)
		}
	})
}
