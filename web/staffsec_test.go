package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
)

// auditCount counts audit entries with the action.
func auditCount(t *testing.T, a *app, action string) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Model(&models.AuditEntry{}).Where("action = ?", action).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// getFrom sends a GET as a browser would when the request comes from a
// page of the given Sec-Fetch-Site ("" sends no such header).
func (c *client) getFrom(site, path string) response {
	c.a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.a.server.URL+path, nil)
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
	}
	return c.do(req)
}

// A link on another site must not make a signed-in staff member's browser
// look patrons up: the look-up would be recorded against the staff member
// and shown to the patron.
func TestStaffLookupsRefuseCrossSiteRequests(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		for _, path := range []string{"/staff/patrons?q=rosa", "/staff/patrons?q=" + card, "/staff/patrons/" + itoa(p.ID)} {
			for _, site := range []string{"cross-site", "same-site"} {
				r := c.getFrom(site, path)
				wantStatus(t, r, http.StatusForbidden)
				if !strings.Contains(r.doc(t).Find(`[data-testid="error-page"]`).Text(), "another site") {
					t.Fatalf("%s from %s: the refusal should say why: %q", path, site, excerpt(r.body))
				}
				if strings.Contains(r.body, "Parks") {
					t.Fatalf("%s from %s: the refusal shows the patron", path, site)
				}
			}
		}
		if got := auditActions(t, a, p.ID); len(got) != 0 {
			t.Fatalf("refused look-ups wrote audit entries: %v", got)
		}
		// A typed address or a bookmark (none), our own pages
		// (same-origin) and browsers that send no fetch metadata still work.
		for i, site := range []string{"none", "same-origin", ""} {
			r := c.getFrom(site, "/staff/patrons/"+itoa(p.ID))
			wantStatus(t, r, http.StatusOK)
			if got := auditActions(t, a, p.ID); len(got) != i+1 {
				t.Fatalf("from %q: audit %v", site, got)
			}
		}
		wantStatus(t, c.getFrom("same-origin", "/staff/patrons?q=rosa"), http.StatusOK)
	})
}

// Downloads that produce patrons' records are POSTs carrying the form
// token: a GET, from a link anywhere, produces nothing and records nothing.
func TestStaffDownloadsNeedAPostWithTheFormToken(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		req := a.legalRequest(t, false, p)
		a.approveLegal(t, req)
		a.list("events", "Library events")
		if _, err := a.store.Subscribe(context.Background(), p.ID, "events", models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
		a.staff("admin", models.RoleAdmin)
		c := a.client()
		wantRedirect(t, c.staffSignIn("admin", staffPassword), "/staff")
		for _, d := range []struct {
			name, page, path, action, want string
		}{
			{"list export", "/staff/lists", "/staff/lists/events/export.csv", models.AuditListExport, "rosa@example.org"},
			{"legal production", "/staff/legal/" + itoa(req.ID), "/staff/legal/" + itoa(req.ID) + "/produce",
				models.AuditLegalProduce, "manifest.json"},
		} {
			t.Run(d.name, func(t *testing.T) {
				for _, site := range []string{"", "cross-site", "same-origin"} {
					r := c.getFrom(site, d.path)
					if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
						t.Fatalf("GET %s from %q: status %d, want 404 or 405", d.path, site, r.StatusCode)
					}
					if r.Header.Get("Content-Disposition") != "" || strings.Contains(r.body, d.want) {
						t.Fatalf("GET %s from %q downloaded records", d.path, site)
					}
				}
				wantStatus(t, c.post(d.path, url.Values{}), http.StatusForbidden)
				wantStatus(t, c.post(d.path, url.Values{"csrf_token": {"not-the-token"}}), http.StatusForbidden)
				if n := auditCount(t, a, d.action); n != 0 {
					t.Fatalf("%d %s entries before any proper download", n, d.action)
				}
				// The page offers a button in a form carrying the token.
				page := c.get(d.page)
				wantStatus(t, page, http.StatusOK)
				form := page.doc(t).Find(`form[method="post"][action="` + d.path + `"]`)
				tok, _ := form.Find(`input[name="csrf_token"]`).Attr("value")
				if form.Length() != 1 || tok == "" || form.Find(`button[type="submit"]`).Length() != 1 {
					t.Fatalf("%s offers no download form for %s", d.page, d.path)
				}
				r := c.post(d.path, url.Values{"csrf_token": {tok}})
				wantStatus(t, r, http.StatusOK)
				if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(r.body, d.want) {
					t.Fatalf("POST %s: %q %q", d.path, r.Header.Get("Content-Disposition"), excerpt(r.body))
				}
				if n := auditCount(t, a, d.action); n != 1 {
					t.Fatalf("%d %s entries after one download", n, d.action)
				}
			})
		}
	})
}

// Search results show contact details masked; the record page, whose
// opening is audited, shows them whole.
func TestStaffSearchMasksContactDetails(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.store.DB.Model(&models.Patron{}).Where("id = ?", p.ID).Update("phone", "510-555-1234")
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		r := c.get("/staff/patrons?q=rosa")
		wantStatus(t, r, http.StatusOK)
		row := r.doc(t).Find(`table[data-testid="results"] tbody tr`).Text()
		if strings.Contains(row, "rosa@example.org") || strings.Contains(row, "555") {
			t.Fatalf("search results show whole contact details: %q", row)
		}
		if !strings.Contains(row, "r•••@example.org") || !strings.Contains(row, "•••-•••-1234") {
			t.Fatalf("search results should show masked contact details: %q", row)
		}
		page := c.get("/staff/patrons/" + itoa(p.ID))
		wantStatus(t, page, http.StatusOK)
		if !strings.Contains(page.body, "rosa@example.org") || !strings.Contains(page.body, "510-555-1234") {
			t.Fatal("the audited record page shows contact details whole")
		}
	})
}

// An assistant cannot page through the directory: after the allowed
// searches in a short while, searching pauses, says so, and records
// nothing.
func TestStaffSearchIsRateLimited(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		a.staff("ada", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		const allowed = 30 // the default: 30 searches, then one every 20 seconds
		for i := 0; i < allowed; i++ {
			wantStatus(t, c.get("/staff/patrons?q=ro"), http.StatusOK)
		}
		before := auditCount(t, a, models.AuditPatronLookup)
		if before != allowed {
			t.Fatalf("%d look-ups audited, want %d", before, allowed)
		}
		for _, q := range []string{"ro", "pa", card} {
			r := c.get("/staff/patrons?q=" + q)
			wantStatus(t, r, http.StatusTooManyRequests)
			if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("Retry-After %q", ra)
			}
			msg := r.doc(t).Find(`[data-testid="search-paused"]`).Text()
			if !strings.Contains(msg, "look-ups") || r.doc(t).Find(`input[name="q"]`).Length() != 1 {
				t.Fatalf("the search page should explain the pause: %q", excerpt(r.body))
			}
			if strings.Contains(r.body, "Parks") {
				t.Fatal("a refused search shows results")
			}
		}
		if n := auditCount(t, a, models.AuditPatronLookup); n != before {
			t.Fatalf("refused searches wrote %d audit entries", n-before)
		}
		// Opening a record takes from the same allowance; another staff
		// member has their own.
		wantStatus(t, c.get("/staff/patrons/"+itoa(p.ID)), http.StatusTooManyRequests)
		o := a.client()
		wantRedirect(t, o.staffSignIn("ada", staffPassword), "/staff")
		wantStatus(t, o.get("/staff/patrons?q=ro"), http.StatusOK)
		// Time restores the allowance, one search per 20 seconds.
		a.clock.Advance(21e9)
		wantStatus(t, c.get("/staff/patrons?q=ro"), http.StatusOK)
		wantStatus(t, c.get("/staff/patrons?q=ro"), http.StatusTooManyRequests)
	})
}

// assistEnds lists the details of the patron's assist.end entries.
func assistEnds(t *testing.T, a *app, patronID int64) []string {
	t.Helper()
	var out []string
	if err := a.store.DB.Model(&models.AuditEntry{}).Where("patron_id = ? AND action = ?", patronID, models.AuditAssistEnd).
		Order("id").Pluck("detail", &out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// wantAssistEndSeen checks that the assistance's end was recorded once,
// with its cause, and that the patron reads it on their staff-access page.
func wantAssistEndSeen(t *testing.T, a *app, p models.Patron, pinNo, cause string) {
	t.Helper()
	if got := assistEnds(t, a, p.ID); len(got) != 1 || got[0] != cause {
		t.Fatalf("assist.end entries %q, want exactly one %q", got, cause)
	}
	pc := a.client()
	pc.signIn(p.CardNumber, pinNo)
	r := pc.get("/data/staff-access")
	wantStatus(t, r, http.StatusOK)
	if text := r.doc(t).Find(`table[data-testid="records"]`).Text(); !strings.Contains(text, "Finished helping you: "+cause) {
		t.Fatalf("the patron's staff-access page lacks the end and its cause: %q", text)
	}
}

// rowsOf counts the rows of model's table matching where.
func rowsOf(t *testing.T, a *app, model any, where string) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Model(model).Where(where).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

var testLimits = models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}

// Disabling a staff account ends its sessions, and with them any
// assistance: the patron is told when and why it stopped. DisableStaff
// ends them at once; an account disabled in the database directly has its
// session ended at its next request (one never used again ends at its
// idle limit, as TestAssistanceEndedByTheStaffSessionTimingOutIsRecorded
// shows).
func TestAssistanceEndedByDisablingTheAccountIsRecorded(t *testing.T) {
	const cause = "ended because the staff account was disabled"
	ctx := context.Background()
	disable := func(a *app, username string) {
		// As an account disabled by an instance that did not end its
		// sessions (or while one of its requests was under way).
		if err := a.store.DB.Model(&models.Staff{}).Where("username = ?", username).Update("disabled_at", a.clock.Now()).Error; err != nil {
			a.t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, a *app, c *client)
	}{
		{"carrel staff disable", func(t *testing.T, a *app, c *client) {
			if err := a.store.DisableStaff(ctx, "sam"); err != nil {
				t.Fatal(err)
			}
		}},
		{"the next request", func(t *testing.T, a *app, c *client) {
			disable(a, "sam")
			wantRedirect(t, c.get("/data"), "/login?next=%2Fdata")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
				p := a.patron(card, pin, "Rosa", "Parks")
				a.staff("sam", models.RoleAssistant)
				c := a.assisting(t, "sam", p)
				tc.end(t, a, c)
				// Whatever comes after records nothing more, and the
				// session is gone.
				wantRedirect(t, c.get("/data"), "/login?next=%2Fdata&ended=ended")
				if n := rowsOf(t, a, &models.Session{}, "staff_id IS NOT NULL"); n != 0 {
					t.Fatalf("%d staff sessions left", n)
				}
				if _, err := a.store.DeleteExpiredSessions(ctx, testLimits); err != nil {
					t.Fatal(err)
				}
				wantAssistEndSeen(t, a, p, pin, cause)
			})
		})
	}
}

// A staff session that times out while assisting ends the assistance:
// seen on the next request, or swept without one, it is recorded once.
func TestAssistanceEndedByTheStaffSessionTimingOutIsRecorded(t *testing.T) {
	const cause = "ended because the staff session timed out"
	ctx := context.Background()
	cfg := demoConfig()
	cfg.AssistLimit = 30 * time.Minute // longer than the idle limit: the session times out first
	cfg.Sessions = testLimits
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, a *app, c *client)
	}{
		{"seen on the next request", func(t *testing.T, a *app, c *client) {
			// A staff member's session sends them to the staff sign-in.
			wantRedirect(t, c.get("/data"), "/staff/login?ended=idle")
		}},
		{"swept by the purge", func(t *testing.T, a *app, c *client) {
			if _, err := a.store.Purge(ctx, false, 0, testLimits); err != nil {
				t.Fatal(err)
			}
		}},
		{"swept by the session sweep", func(t *testing.T, a *app, c *client) {
			if _, err := a.store.DeleteExpiredSessions(ctx, testLimits); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDB(t, cfg, func(t *testing.T, a *app) {
				p := a.patron(card, pin, "Rosa", "Parks")
				a.staff("sam", models.RoleAssistant)
				c := a.assisting(t, "sam", p)
				a.clock.Advance(testLimits.Idle + time.Second)
				tc.end(t, a, c)
				// The other ways of noticing find nothing left to record.
				c.get("/data")
				if _, err := a.store.Purge(ctx, false, 0, testLimits); err != nil {
					t.Fatal(err)
				}
				if _, err := a.store.DeleteExpiredSessions(ctx, testLimits); err != nil {
					t.Fatal(err)
				}
				wantAssistEndSeen(t, a, p, pin, cause)
			})
		})
	}
}

// An assistant cannot page through the directory by record number either:
// patron IDs are sequential and the record page shows contact details
// whole, so opening a record takes from the same allowance as a search,
// and an open refused shows and records nothing. A search and the record
// it found, a patron at a time, stays well inside it.
func TestStaffCannotWalkPatronRecordsByNumber(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		const allowed, walked = 30, 40 // the default allowance: 30 at once
		first := a.patron(card, pin, "Rosa", "Parks")
		for i := 1; i < walked; i++ {
			p := first
			p.ID, p.CardNumber, p.GivenName, p.Email = 0, fmt.Sprintf("2100000000%04d", i), fmt.Sprintf("Walked%d", i), fmt.Sprintf("walked%d@example.org", i)
			if err := a.store.DB.Create(&p).Error; err != nil {
				t.Fatal(err)
			}
		}
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		// The desk: a search, then the record it found, patron after patron.
		for i := 0; i < allowed/2; i++ {
			wantStatus(t, c.get("/staff/patrons?q="+card), http.StatusOK)
			wantStatus(t, c.get("/staff/patrons/"+itoa(first.ID)), http.StatusOK)
		}
		// A script: the allowance is spent, so every record is refused.
		before := auditCount(t, a, models.AuditPatronLookup)
		for id := first.ID; id < first.ID+walked; id++ {
			r := c.get("/staff/patrons/" + itoa(id))
			wantStatus(t, r, http.StatusTooManyRequests)
			if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("Retry-After %q", ra)
			}
			if msg := r.doc(t).Find(`[data-testid="search-paused"]`).Text(); !strings.Contains(msg, "Nothing was looked up or recorded") {
				t.Fatalf("the refusal should explain the pause: %q", excerpt(r.body))
			}
			if strings.Contains(r.body, "@example.org") || strings.Contains(r.body, "Walked") {
				t.Fatalf("a refused record shows the patron: %q", excerpt(r.body))
			}
		}
		if n := auditCount(t, a, models.AuditPatronLookup); n != before {
			t.Fatalf("refused records wrote %d audit entries", n-before)
		}
		// A fresh session walking from the start gets the allowance, and no further.
		a.clock.Advance(time.Hour)
		w := a.client()
		wantRedirect(t, w.staffSignIn("sam", staffPassword), "/staff")
		before = auditCount(t, a, models.AuditPatronLookup)
		opened := 0
		for id := first.ID; id < first.ID+walked; id++ {
			if r := w.get("/staff/patrons/" + itoa(id)); r.StatusCode == http.StatusOK {
				opened++
			} else {
				wantStatus(t, r, http.StatusTooManyRequests)
			}
		}
		if opened != allowed {
			t.Fatalf("%d records opened in a walk of %d, want %d", opened, walked, allowed)
		}
		if n := auditCount(t, a, models.AuditPatronLookup); n-before != allowed {
			t.Fatalf("the walk audited %d opens, want %d", n-before, allowed)
		}
	})
}
