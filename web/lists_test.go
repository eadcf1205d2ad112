package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/carrel-library/carrel/models"
)

// list creates an active mailing list, as an administrator would.
func (a *app) list(slug, name string) models.MailingList {
	a.t.Helper()
	var admin models.Staff
	if err := a.store.DB.Where("username = ?", "listadmin").Take(&admin).Error; err != nil {
		admin = a.staff("listadmin", models.RoleAdmin)
	}
	l, err := a.store.SaveList(context.Background(), admin.ID, "", models.ListForm{Slug: slug, Name: name,
		Description: "News about " + name, Frequency: "Monthly", Sender: "The Library <news@example.org>",
		ConsentText: "Send me " + name + " by email."})
	if err != nil {
		a.t.Fatal(err)
	}
	return l
}

func TestSubscribingIsExplicitAndRecorded(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.list("events", "Library events")
		a.list("friends", "Friends of the Library")
		c := a.client()
		c.signIn(card, pin)
		page := c.get("/mailing-lists").doc(t)
		if page.Find(`[data-testid="subscribed"]`).Length() != 0 || page.Find(`[data-testid="subscribe"]`).Length() != 2 {
			t.Fatal("nothing is pre-selected: every list offers Subscribe")
		}
		tok := c.csrf("/mailing-lists")
		wantRedirect(t, c.post("/mailing-lists/events/subscribe", url.Values{"csrf_token": {tok}}), "/mailing-lists")
		page = c.get("/mailing-lists").doc(t)
		if page.Find(`[data-testid="list-events"] [data-testid="subscribed"]`).Length() != 1 {
			t.Fatal("the patron should now be subscribed to events")
		}
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Take(&e)
		if e.Subject != "mailing_list:events" || e.OldValue != "off" || e.NewValue != "on" || e.TextVersion != "1" || e.Channel != models.ChannelWeb {
			t.Fatalf("ledger %+v", e)
		}
		c.post("/mailing-lists/friends/subscribe", url.Values{"csrf_token": {tok}})
		wantRedirect(t, c.post("/mailing-lists/unsubscribe-all", url.Values{"csrf_token": {tok}}), "/mailing-lists")
		if countRows(t, a.store.DB, "subscriptions", p.ID) != 0 || countRows(t, a.store.DB, "consent_entries", p.ID) != 4 {
			t.Fatal("unsubscribing from everything withdraws each consent, recorded")
		}
		wantStatus(t, c.post("/mailing-lists/no-such-list/subscribe", url.Values{"csrf_token": {tok}}), http.StatusNotFound)
	})
}

func TestNoEmailMeansAnExplanationAndRetiredListsRefuse(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		l := a.list("events", "Library events")
		a.list("old", "Old news")
		c := a.client()
		c.signIn(card, pin)
		tok := c.csrf("/mailing-lists")
		// Retired lists: refused with a message.
		var admin models.Staff
		a.store.DB.Where("username = ?", "listadmin").Take(&admin)
		if err := a.store.RetireList(context.Background(), admin.ID, "old"); err != nil {
			t.Fatal(err)
		}
		refused := c.post("/mailing-lists/old/subscribe", url.Values{"csrf_token": {tok}})
		wantStatus(t, refused, http.StatusUnprocessableEntity)
		if !strings.Contains(refused.doc(t).Find(`[data-testid="form-error"]`).Text(), "retired") {
			t.Fatal("subscribing to a retired list is refused with a message")
		}
		// No email: no checkbox, an explanation.
		a.store.DB.Model(&models.Patron{}).Where("id = ?", p.ID).Update("email", "")
		page := c.get("/mailing-lists").doc(t)
		if page.Find(`[data-testid="no-email"]`).Length() != 1 || page.Find(`[data-testid="subscribe"]`).Length() != 0 {
			t.Fatal("without an email address the page explains instead of offering to subscribe")
		}
		c.post("/mailing-lists/"+l.Slug+"/subscribe", url.Values{"csrf_token": {tok}})
		if countRows(t, a.store.DB, "subscriptions", p.ID) != 0 {
			t.Fatal("no subscription without an address")
		}
	})
}

func TestOneClickUnsubscribeWorksSignedOut(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		l := a.list("events", "Library events")
		if _, err := a.store.Subscribe(context.Background(), p.ID, "events", models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
		token := a.store.UnsubscribeToken(p.ID, l.ID)
		if strings.Contains(token, card) || len(token) < 40 {
			t.Fatalf("a token names nobody and cannot be guessed: %q", token)
		}
		mail := a.client()
		// GET only confirms, and starts no session.
		r := mail.get("/unsubscribe/" + token)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.doc(t).Find("h1").Text(), "Library events") || countRows(t, a.store.DB, "subscriptions", p.ID) != 1 {
			t.Fatal("GET shows a confirmation and changes nothing")
		}
		// RFC 8058: a mail provider's POST, with no cookie and no form token.
		req, _ := http.NewRequest(http.MethodPost, a.server.URL+"/unsubscribe/"+token, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r = mail.do(req)
		wantStatus(t, r, http.StatusOK)
		if countRows(t, a.store.DB, "subscriptions", p.ID) != 0 {
			t.Fatal("the one-click POST should unsubscribe")
		}
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Order("id DESC").Take(&e)
		if e.Channel != models.ChannelEmailOneClick || e.NewValue != "off" {
			t.Fatalf("ledger %+v", e)
		}
		if len(a.cookies.all()) != 0 {
			t.Fatal("the unsubscribe pages set no cookie")
		}
		// A used token gets the same friendly answer; a forged one a page that reveals nothing.
		again := mail.do(mustPost(a, "/unsubscribe/"+token))
		wantStatus(t, again, http.StatusOK)
		forged := token[:len(token)-4] + "AAAA"
		for _, bad := range []string{forged, "nonsense", strings.Repeat("A", 300)} {
			r := mail.get("/unsubscribe/" + bad)
			wantStatus(t, r, http.StatusNotFound)
			if !strings.Contains(r.body, "This link does not work") || strings.Contains(r.body, "Rosa") {
				t.Fatal("a forged token gets the friendly page, and no names")
			}
		}
		// A rotation (a new key first, the old one kept) leaves the links
		// in emails already sent working; dropping the old key voids them.
		token = a.store.UnsubscribeToken(p.ID, l.ID)
		rotated := modeltestStoreWithNewKey(t, a)
		if _, err := rotated.TokenList(context.Background(), token); err != nil {
			t.Fatalf("after rotation, with the old key kept, a link already sent should work, got %v", err)
		}
		onlyNew, _ := models.NewKeys(bytes.Repeat([]byte("a-brand-new-key!"), 2))
		dropped, _ := models.NewStore(a.store.DB, a.clock, onlyNew, 4)
		if _, err := dropped.UnsubscribeByToken(context.Background(), token); err != models.ErrBadToken {
			t.Fatalf("once the old key is dropped the old token should be refused, got %v", err)
		}
	})
}

func mustPost(a *app, path string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestConcurrentListTogglesKeepTheLedgerTrue(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.list("events", "Library events")
		c := a.client()
		c.signIn(card, pin)
		tok := c.csrf("/mailing-lists")
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				action := "subscribe"
				if i%2 == 1 {
					action = "unsubscribe"
				}
				c.post("/mailing-lists/events/"+action, url.Values{"csrf_token": {tok}})
			}(i)
		}
		wg.Wait()
		var entries []models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Order("id").Find(&entries)
		state := "off"
		for _, e := range entries {
			if e.OldValue != state {
				t.Fatalf("ledger out of step: %+v after %q", e, state)
			}
			state = e.NewValue
		}
		if subscribed := countRows(t, a.store.DB, "subscriptions", p.ID) == 1; subscribed != (state == "on") {
			t.Fatalf("ledger ends %q but subscribed=%v", state, subscribed)
		}
	})
}

func TestAFailedLedgerWriteLeavesNoSubscription(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.list("events", "Library events")
		c := a.client()
		c.signIn(card, pin)
		tok := c.csrf("/mailing-lists")
		if err := a.store.DB.Exec("ALTER TABLE consent_entries RENAME TO consent_entries_away").Error; err != nil {
			t.Fatal(err)
		}
		r := c.post("/mailing-lists/events/subscribe", url.Values{"csrf_token": {tok}})
		a.store.DB.Exec("ALTER TABLE consent_entries_away RENAME TO consent_entries")
		wantStatus(t, r, http.StatusInternalServerError)
		if countRows(t, a.store.DB, "subscriptions", p.ID) != 0 {
			t.Fatal("a subscription without its ledger entry was left behind")
		}
	})
}

func TestListAdministrationAndAuditedExport(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		admin := a.staff("ada", models.RoleAdmin)
		a.staff("sam", models.RoleAssistant)
		in := a.patron(card, pin, "Rosa", "Parks")
		out := a.patron("21000000007777", "1111", "Ida", "Wells")
		// A name from the ILS that a spreadsheet would run as a formula.
		formula := a.patron("21000000008888", "2222", `=HYPERLINK("http://x","y")`, "Smith")
		c := a.client()
		c.staffSignIn("ada", staffPassword)
		tok := c.csrf("/staff/lists")
		form := url.Values{"csrf_token": {tok}, "slug": {"Bad Slug!"}, "name": {""}, "description": {"x"}, "frequency": {"Weekly"},
			"sender": {"Library"}, "consent_text": {"short"}}
		r := c.post("/staff/lists/new", form)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		for _, f := range []string{"slug", "name", "consent_text"} {
			if r.doc(t).Find(`[data-testid="`+f+`-error"]`).Length() != 1 {
				t.Errorf("no message next to %s", f)
			}
		}
		form.Set("slug", "teens")
		form.Set("name", "Teen programs")
		form.Set("consent_text", "Send me news about teen programs.")
		wantRedirect(t, c.post("/staff/lists/new", form), "/staff/lists")
		a.store.Subscribe(context.Background(), in.ID, "teens", models.Actor{Channel: models.ChannelWeb})
		a.store.Subscribe(context.Background(), out.ID, "teens", models.Actor{Channel: models.ChannelWeb})
		a.store.Unsubscribe(context.Background(), out.ID, "teens", models.Actor{Channel: models.ChannelWeb})
		a.store.Subscribe(context.Background(), formula.ID, "teens", models.Actor{Channel: models.ChannelWeb})

		// A change of consent text bumps the version.
		form.Set("consent_text", "Send me news about teen programs and volunteering.")
		wantRedirect(t, c.post("/staff/lists/teens", form), "/staff/lists")
		l, _ := a.store.ListBySlug(context.Background(), "teens")
		if l.ConsentVersion != 2 {
			t.Fatalf("consent version %d", l.ConsentVersion)
		}

		exp := c.post("/staff/lists/teens/export.csv", url.Values{"csrf_token": {tok}})
		wantStatus(t, exp, http.StatusOK)
		rows, err := csv.NewReader(strings.NewReader(exp.body)).ReadAll()
		if err != nil || len(rows) != 3 {
			t.Fatalf("export rows %q (%v)", rows, err)
		}
		byEmail := map[string][]string{}
		for _, r := range rows[1:] {
			byEmail[r[1]] = r
			if !strings.Contains(r[2], "/unsubscribe/") {
				t.Errorf("export row %q has no unsubscribe link", r)
			}
		}
		if r := byEmail[in.Email]; r == nil || r[0] != "Rosa Parks" {
			t.Errorf("export rows %q: want Rosa Parks as she is", rows)
		}
		if r := byEmail["'"+formula.Email]; r == nil || r[0] != `'=HYPERLINK("http://x","y") Smith` {
			t.Errorf("export rows %q: want the formula written as text", rows)
		}
		if strings.Contains(exp.body, out.Email) {
			t.Fatal("unsubscribed patrons never appear")
		}
		var entry models.AuditEntry
		a.store.DB.Where("action = ?", models.AuditListExport).Take(&entry)
		if entry.StaffID == nil || *entry.StaffID != admin.ID || !strings.Contains(entry.Detail, "teens") || !strings.Contains(entry.Detail, "2 subscribers") {
			t.Fatalf("export audit %+v", entry)
		}
		// Retired lists cannot be exported.
		wantRedirect(t, c.post("/staff/lists/teens/retire", url.Values{"csrf_token": {tok}}), "/staff/lists")
		wantRedirect(t, c.post("/staff/lists/teens/export.csv", url.Values{"csrf_token": {tok}}), "/staff/lists")
		wantStatus(t, c.post("/staff/lists/nope/export.csv", url.Values{"csrf_token": {tok}}), http.StatusNotFound)
		// Only administrators.
		s := a.client()
		s.staffSignIn("sam", staffPassword)
		wantStatus(t, s.get("/staff/lists"), http.StatusForbidden)
	})
}
