package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
)

// recordOpens counts the "record opened" audit entries of a patron.
func recordOpens(t *testing.T, a *app, patronID int64) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Model(&models.AuditEntry{}).Where("patron_id = ? AND action = ? AND detail = ?",
		patronID, models.AuditPatronLookup, models.DetailRecordOpened).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeskConsoleSearchesAndListsRecentPatrons: the console has the
// patron search, and lists the patrons this staff member opened or helped
// since they signed in, the most recent first, each a link to the record;
// patrons only found by a search, or opened in an earlier session, are
// not listed.
func TestDeskConsoleSearchesAndListsRecentPatrons(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		rosa := a.patron(card, pin, "Rosa", "Parks")
		ada := a.patron("21000000008888", "1111", "Ada", "Lovelace")
		a.patron("21000000007777", "2222", "Bo", "Parks") // found by the search only
		a.staff("sam", models.RoleAssistant)

		earlier := a.client()
		wantRedirect(t, earlier.staffSignIn("sam", staffPassword), "/staff")
		wantStatus(t, earlier.get("/staff/patrons/"+itoa(ada.ID)), http.StatusOK)

		a.clock.Advance(time.Hour)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		doc := c.get("/staff").doc(t)
		form := doc.Find(`[data-testid="console-search"] form[action="/staff/patrons"][method="get"]`)
		if form.Find(`input[name="q"]`).Length() != 1 || form.Find(`label[for="q"]`).Text() != "Card number or name" {
			t.Fatal("the console should have the patron search")
		}
		if got := doc.Find(`[data-testid="recent-patrons"] .empty`).Text(); !strings.Contains(got, "You have not opened or helped a patron since you signed in.") {
			t.Fatalf("recent patrons of a new session: %q", got)
		}

		// The search from the console; its results are not "opened".
		r := c.get("/staff/patrons?q=parks")
		wantStatus(t, r, http.StatusOK)
		if r.doc(t).Find(`[data-testid="results"] tbody tr`).Length() != 2 {
			t.Fatalf("the console's search should find both Parkses: %s", excerpt(r.body))
		}
		wantStatus(t, c.get("/staff/patrons/"+itoa(ada.ID)), http.StatusOK)
		wantStatus(t, c.get("/staff/patrons/"+itoa(rosa.ID)), http.StatusOK)
		wantStatus(t, c.get("/staff/patrons/"+itoa(ada.ID)), http.StatusOK)

		links := c.get("/staff").doc(t).Find(`[data-testid="recent-patrons"] li a`)
		var got []string
		links.Each(func(_ int, l *goquery.Selection) {
			href, _ := l.Attr("href")
			got = append(got, l.Text()+" "+href)
		})
		want := []string{"Ada Lovelace /staff/patrons/" + itoa(ada.ID), "Rosa Parks /staff/patrons/" + itoa(rosa.ID)}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("recent patrons %q, want %q", got, want)
		}
		if item := c.get("/staff").doc(t).Find(`[data-testid="recent-patrons"] li`).First().Text(); !strings.Contains(item, "card ending 8888") {
			t.Fatalf("a recent patron's card ending: %q", item)
		}
	})
}

// TestDeskAssistNeedsAnIdentityCheckThePatronSees: assistance starts only
// once the staff member says how they checked the patron's identity; a
// form without it is refused next to the field and in the summary, and
// starts nothing; the check is in the audit entry the patron reads under
// staff access and in the notice. One visit to the record is one "record
// opened", however many forms on it come back with an error.
func TestDeskAssistNeedsAnIdentityCheckThePatronSees(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		page := "/staff/patrons/" + itoa(p.ID)
		opened := c.get(page).doc(t)
		tok, _ := opened.Find(`input[name="csrf_token"]`).Attr("value")
		if n := recordOpens(t, a, p.ID); n != 1 {
			t.Fatalf("a visit wrote %d record-opened entries", n)
		}
		radios := opened.Find(`fieldset#identity input[type="radio"][name="identity"]`)
		if radios.Length() != 3 || radios.Filter("[checked]").Length() != 0 {
			t.Fatalf("%d identity choices, %d preselected", radios.Length(), radios.Filter("[checked]").Length())
		}

		for _, tc := range []struct {
			name, field, msg string
			form             url.Values
		}{
			{"no check", "identity", "Say how you checked that this is the patron.", url.Values{"reason": {"desk"}}},
			{"other without a note", "identity_note", "Say how you checked that this is the patron.", url.Values{"reason": {"desk"}, "identity": {"other"}}},
		} {
			tc.form.Set("csrf_token", tok)
			r := c.post(page+"/assist", tc.form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			doc := r.doc(t)
			if got := doc.Find(`[data-testid="` + tc.field + `-error"]`).Text(); got != tc.msg {
				t.Fatalf("%s: error next to the field %q", tc.name, got)
			}
			if l := doc.Find(`[data-testid="form-error"] a[href="#` + tc.field + `"]`); l.Text() != tc.msg || doc.Find("#"+tc.field).Length() != 1 {
				t.Fatalf("%s: the error summary should link to the field: %q", tc.name, doc.Find(`[data-testid="form-error"]`).Text())
			}
			if v, _ := doc.Find(`input[name="reason"][checked]`).Attr("value"); v != "desk" {
				t.Fatalf("%s: the reason chosen should stay chosen", tc.name)
			}
		}
		if n := auditCount(t, a, models.AuditAssistStart); n != 0 {
			t.Fatalf("a refused form recorded %d assistance(s)", n)
		}
		wantStatus(t, c.get("/staff"), http.StatusOK) // not assisting anyone
		if n := recordOpens(t, a, p.ID); n != 1 {
			t.Fatalf("forms sent back with an error wrote %d record-opened entries in one visit", n)
		}
		wantStatus(t, c.get(page), http.StatusOK)
		if n := recordOpens(t, a, p.ID); n != 2 {
			t.Fatalf("a second visit: %d record-opened entries, want 2", n)
		}

		wantRedirect(t, c.post(page+"/assist", url.Values{"csrf_token": {tok}, "reason": {"desk"}, "identity": {"other"},
			"identity_note": {"known to staff for years"}}), "/data")
		var e models.AuditEntry
		a.store.DB.Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistStart).Take(&e)
		if e.Reason != "At the desk" || e.Detail != "checked it was you another way: known to staff for years" {
			t.Fatalf("assistance entry: reason %q, detail %q", e.Reason, e.Detail)
		}
		wantRedirect(t, c.post("/assist/end", url.Values{"csrf_token": {c.csrf("/data")}}), "/staff")
		if first := c.get("/staff").doc(t).Find(`[data-testid="recent-patrons"] li a`).First().Text(); first != "Rosa Parks" {
			t.Fatalf("the patron just helped should head the recent patrons, got %q", first)
		}

		pc := a.client()
		pc.signIn(card, pin)
		want := "checked it was you another way: known to staff for years"
		if notice := pc.get("/data").doc(t).Find(`[data-testid="assist-notice"]`).Text(); !strings.Contains(notice, "started helping you (At the desk): "+want) {
			t.Fatalf("the patron's notice should name the check: %q", notice)
		}
		if body := pc.get("/data/staff-access").body; !strings.Contains(body, "Started helping you: "+want) {
			t.Fatalf("staff access should name the check: %s", excerpt(body))
		}

		// A form posted on its own, without opening the page in this
		// session, is recorded as the record opened.
		a.clock.Advance(time.Hour)
		other := a.client()
		wantRedirect(t, other.staffSignIn("sam", staffPassword), "/staff")
		wantStatus(t, other.post(page+"/assist", url.Values{"csrf_token": {other.csrf("/staff")}}), http.StatusUnprocessableEntity)
		if n := recordOpens(t, a, p.ID); n != 3 {
			t.Fatalf("a record shown under a form posted on its own: %d record-opened entries, want 3", n)
		}
	})
}
