package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
)

// postFrom sends a form the way a browser does from one of our pages,
// naming the page it was on (Referer).
func (c *client) postFrom(page, path string, form url.Values) response {
	c.a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.a.server.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.a.server.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Referer", c.a.server.URL+page)
	return c.do(req)
}

// A form sent after the idle limit is not refused with a bare 403: the
// sign-in page says what happened, nothing is changed, and signing in
// leads back to the page the form was on, not to a replay of the form.
// A page opened after it says so too, and leads back to itself.
func TestTimedOutFormSaysWhyAndLeadsBack(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		tok := c.csrf("/favorites")
		a.clock.Advance(15*time.Minute + time.Second)

		r := c.postFrom("/favorites", "/favorites/link", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
		wantRedirect(t, r, "/login?next=%2Ffavorites&ended=idle&form=1")
		if got, _ := a.store.Patron(t.Context(), p.ID); got.FavoritesLinked {
			t.Fatal("a form sent after the session ended must change nothing")
		}
		page := c.get(r.Header.Get("Location"))
		wantStatus(t, page, http.StatusOK)
		msg := page.doc(t).Find(`[data-testid="session-ended"]`).Text()
		if !strings.Contains(msg, "You were signed out after 15 minutes without activity; nothing was changed.") {
			t.Fatalf("sign-in page says %q", msg)
		}
		wantRedirect(t, c.signIn(card, pin, "next", "/favorites"), "/favorites")

		// A page opened after the limit: the same words, without "changed",
		// and back to that page.
		a.clock.Advance(15*time.Minute + time.Second)
		r = c.get("/data/loans")
		wantRedirect(t, r, "/login?next=%2Fdata%2Floans&ended=idle")
		msg = c.get(r.Header.Get("Location")).doc(t).Find(`[data-testid="session-ended"]`).Text()
		if !strings.Contains(msg, "after 15 minutes without activity. Sign in to go on to the page you asked for.") {
			t.Fatalf("sign-in page says %q", msg)
		}

		// A session the sweep already deleted is told apart from none:
		// the browser still names it.
		c.signIn(card, pin)
		tok = c.csrf("/mailing-lists")
		a.clock.Advance(20 * time.Minute)
		if _, err := a.store.DeleteExpiredSessions(t.Context(), models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		r = c.postFrom("/mailing-lists", "/mailing-lists/unsubscribe-all", url.Values{"csrf_token": {tok}})
		wantRedirect(t, r, "/login?next=%2Fmailing-lists&ended=ended&form=1")
		msg = c.get(r.Header.Get("Location")).doc(t).Find(`[data-testid="session-ended"]`).Text()
		if !strings.Contains(msg, "You are no longer signed in; nothing was changed. A sign-in ends after 15 minutes without activity, or when it is ended on another device. Sign in to go back to the page you were on.") {
			t.Fatalf("sign-in page says %q", msg)
		}

		// A visitor who never signed in still gets a plain refusal, and a
		// Referer from another site is never a way back.
		wantStatus(t, a.client().post("/favorites/link", url.Values{"csrf_token": {"x"}}), http.StatusForbidden)
		r = c.postFrom("//evil.example/x", "/favorites/link", url.Values{"csrf_token": {tok}})
		wantRedirect(t, r, "/login?ended=ended&form=1")

	})
}

// Staff are sent to the staff sign-in, with the same words, and back.
func TestTimedOutStaffFormLeadsBackToTheStaffPage(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("sam", staffPassword)
		tok := c.csrf("/staff/arrivals")
		a.clock.Advance(16 * time.Minute)
		r := c.postFrom("/staff/arrivals", "/staff/arrivals", url.Values{"csrf_token": {tok}})
		wantRedirect(t, r, "/staff/login?next=%2Fstaff%2Farrivals&ended=idle&form=1")
		doc := c.get(r.Header.Get("Location")).doc(t)
		if msg := doc.Find(`[data-testid="session-ended"]`).Text(); !strings.Contains(msg, "after 15 minutes without activity; nothing was changed") {
			t.Fatalf("staff sign-in page says %q", msg)
		}
		if v, _ := doc.Find(`form[data-testid="password-form"] input[name="next"]`).Attr("value"); v != "/staff/arrivals" {
			t.Fatalf("next = %q", v)
		}
	})
}

// When an assistance runs out, the staff member reads one message (not a
// notice above a refusal), with "Assist again" back to the patron's staff
// page; the patron reads a plural that is right.
func TestAssistanceRunningOutSaysSoOnceWithAssistAgain(t *testing.T) {
	cfg := demoConfig()
	cfg.AssistLimit = time.Minute
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		c := a.assisting(t, "sam", p)
		banner := c.get("/favorites").doc(t).Find(`[data-testid="assist-ends"]`).Text()
		if banner != "Assistance ends at 6:01 PM (in 1 minute)." {
			t.Fatalf("banner says %q", banner)
		}
		tok := c.csrf("/favorites")
		a.clock.Advance(time.Minute + time.Second)
		r := c.postFrom("/favorites", "/favorites/link", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
		wantStatus(t, r, http.StatusForbidden)
		doc := r.doc(t)
		if doc.Find(`[data-testid="error-page"]`).Length() != 0 || doc.Find(`[data-testid="notice"]`).Length() != 0 {
			t.Fatalf("one message, not a notice above an error page: %s", r.body)
		}
		msg := doc.Find(`[data-testid="assist-ended"]`)
		if msg.Length() != 1 || !strings.Contains(msg.Text(), "Your assistance to Rosa Parks ended by itself after 1 minute, the longest an assistance lasts. What you sent was not carried out: nothing was changed.") {
			t.Fatalf("message: %q", msg.Text())
		}
		again, _ := msg.Find(`a[data-testid="assist-again"]`).Attr("href")
		if again != "/staff/patrons/"+itoa(p.ID) {
			t.Fatalf("Assist again leads to %q", again)
		}
		if got, _ := a.store.Patron(t.Context(), p.ID); got.FavoritesLinked {
			t.Fatal("nothing may change after the assistance ended")
		}
		// The message was said once; the staff page offers to assist again.
		page := c.get(again)
		wantStatus(t, page, http.StatusOK)
		if page.doc(t).Find(`[data-testid="assist-ended"]`).Length() != 0 {
			t.Fatal("the message is said once")
		}
		var end models.AuditEntry
		a.store.DB.Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistEnd).Take(&end)
		if !strings.HasSuffix(end.Detail, "after 1 minute") {
			t.Fatalf("the patron reads %q", end.Detail)
		}
	})
}

// HEAD answers as GET does, without a body, for uptime monitors.
func TestHeadAnswersLikeGet(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		for _, path := range []string{"/", "/healthz", "/readyz", "/policy", "/login", "/staff/login", "/data", "/nowhere"} {
			get := c.get(path)
			req, _ := http.NewRequest(http.MethodHead, a.server.URL+path, nil)
			head := c.do(req)
			if head.StatusCode != get.StatusCode || head.body != "" {
				t.Errorf("HEAD %s: %d with %d bytes, GET %d", path, head.StatusCode, len(head.body), get.StatusCode)
			}
			for _, h := range []string{"Content-Type", "Content-Security-Policy", "Cache-Control", "Location"} {
				if head.Header.Get(h) != get.Header.Get(h) {
					t.Errorf("HEAD %s: %s %q, GET %q", path, h, head.Header.Get(h), get.Header.Get(h))
				}
			}
			if path == "/" && head.Header.Get("Content-Length") != itoa(int64(len(get.body))) {
				t.Errorf("HEAD /: Content-Length %q, GET's body is %d bytes", head.Header.Get("Content-Length"), len(get.body))
			}
		}
		if !strings.Contains(a.logs.String(), "method=HEAD route=/") {
			t.Error("the access log names the method the visitor used")
		}
	})
}

// A deep link to sign in says what it is for; a name in it is what the
// follow page would accept, and escaped.
func TestSignInSaysWhatItIsFor(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c := a.client()
		r := c.get("/opac/follow?author=" + url.QueryEscape("Octavia E. Butler"))
		loc := r.Header.Get("Location")
		if got := c.get(loc).doc(t).Find(`h1`).Text(); got != "Sign in to follow Octavia E. Butler" {
			t.Fatalf("heading %q", got)
		}
		page := c.get("/login?next=" + url.QueryEscape("/opac/follow?author=<b>x</b>"))
		if strings.Contains(page.body, "<b>x</b>") {
			t.Fatal("a name from the address must be escaped")
		}
		for next, want := range map[string]string{
			"/opac/follow?author=a&subject=b": "Sign in to follow an author or subject",
			"/data/loans":                     "Sign in to see what we hold about you",
			"/policy":                         "Sign in",
			"//evil.example/data":             "Sign in",
		} {
			if got := c.get("/login?next=" + url.QueryEscape(next)).doc(t).Find(`h1`).Text(); got != want {
				t.Errorf("next %s: heading %q, want %q", next, got, want)
			}
		}
	})
}

// The time a locked sign-in may be tried again names its time zone.
func TestLockoutNamesTheTimeZone(t *testing.T) {
	cfg := demoConfig()
	cfg.Location, _ = time.LoadLocation("America/Los_Angeles")
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		var r response
		for range 5 {
			r = c.signIn(card, "9999")
		}
		wantStatus(t, r, http.StatusTooManyRequests)
		// 18:00 UTC is 10:00 AM in Los Angeles; the lock lasts 15 minutes.
		if msg := r.doc(t).Find(`[data-testid="form-error"]`).Text(); !strings.Contains(msg, "paused until 10:15 AM PST") {
			t.Fatalf("lockout says %q", msg)
		}
	})
}

// A page left open says when it signs out, without any script.
func TestPageSaysWhenItSignsOut(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		a.clock.Advance(2 * time.Minute)
		if got := c.get("/data").doc(t).Find(`[data-testid="signs-out-at"]`).Text(); got != "Signs out at 6:17 PM if left idle" {
			t.Fatalf("page says %q", got)
		}
	})
}

// The sign-in lifetimes a library configures are the ones its pages
// promise: the header's sign-out time and the active sign-ins' retention.
func TestConfiguredSessionLimitsAreTheOnesPatronsRead(t *testing.T) {
	cfg := demoConfig()
	cfg.Sessions = models.SessionLimits{Idle: 30 * time.Minute, Absolute: 4 * time.Hour}
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		doc := c.get("/data/sessions").doc(t)
		if got := doc.Find(`[data-testid="signs-out-at"]`).Text(); got != "Signs out at 6:30 PM if left idle" {
			t.Errorf("page says %q", got)
		}
		body := doc.Text()
		if want := "Until you sign out, after 30 minutes without activity, or 4 hours after sign-in."; !strings.Contains(body, want) {
			t.Errorf("the active sign-ins page does not say %q", want)
		}
		if strings.Contains(body, "15 minutes") || strings.Contains(body, "8 hours") {
			t.Error("the active sign-ins page names the default limits, not the configured ones")
		}
	})
}
