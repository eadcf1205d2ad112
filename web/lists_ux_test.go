package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail"
	"github.com/carrel-library/carrel/web"
)

// listsUXConfig is demo mode with a mail server set and weekly emails on
// Mondays (nothing is sent: web never sends).
func listsUXConfig() web.Config {
	cfg := demoConfig()
	cfg.Mail = mail.Config{Host: "smtp.example.org", From: "Library <news@example.org>", DigestHour: 8, DigestWeekday: time.Monday}
	return cfg
}

// weeklyNotices links the patron's favorites and chooses weekly emails.
func weeklyNotices(t *testing.T, a *app, patronID int64) {
	t.Helper()
	ctx, act := context.Background(), models.Actor{Channel: models.ChannelWeb, TextVersion: models.FavoritesConsentVersion}
	if _, err := a.store.LinkFavorites(ctx, patronID, act); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.SetFavoritesNotice(ctx, patronID, models.NoticeWeekly, act); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, r response, sel string) string {
	t.Helper()
	return strings.Join(strings.Fields(r.doc(t).Find(sel).Text()), " ")
}

// TestUnsubscribeFromEverythingStopsWhatItSays: the button names what it
// stops (mailing lists and the weekly emails about favorites), stops both
// with ledger entries, says exactly what it stopped, and is gone when
// nothing is left; the emails' day and address are shown where they are
// chosen.
func TestUnsubscribeFromEverythingStopsWhatItSays(t *testing.T) {
	forEachDB(t, listsUXConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.list("events", "Library events")
		a.list("friends", "Friends of the Library")
		weeklyNotices(t, a, p.ID)
		c := a.client()
		c.signIn(card, pin)

		if got := text(t, c.get("/favorites"), `[data-testid="notice-schedule"]`); got != "Now: Weekly, on Mondays, to rosa@example.org." {
			t.Errorf("/favorites says %q: want the day and the address of the weekly emails", got)
		}
		tok := c.csrf("/mailing-lists")
		c.post("/mailing-lists/events/subscribe", url.Values{"csrf_token": {tok}})
		c.post("/mailing-lists/friends/subscribe", url.Values{"csrf_token": {tok}})
		page := c.get("/mailing-lists")
		if got, want := text(t, page, `[data-testid="unsubscribe-all-says"]`), "This stops the 2 mailing lists you are on, and your weekly emails about your favorite authors and subjects."; !strings.HasPrefix(got, want) {
			t.Errorf("the button's explanation says %q, want %q", got, want)
		}
		if got := text(t, page, `[data-testid="favorites-emails"] [data-testid="notice-schedule"]`); !strings.Contains(got, "Weekly, on Mondays, to rosa@example.org") {
			t.Errorf("/mailing-lists does not say where the favorites emails stand: %q", got)
		}

		wantRedirect(t, c.post("/mailing-lists/unsubscribe-all", url.Values{"csrf_token": {tok}}), "/mailing-lists")
		page = c.get("/mailing-lists")
		if got := text(t, page, `[data-testid="notice"]`); got != "You are off 2 mailing lists, and emails about your favorite authors and subjects are off." {
			t.Errorf("after unsubscribing from everything the page says %q", got)
		}
		if page.doc(t).Find(`[data-testid="unsubscribe-all"]`).Length() != 0 {
			t.Error("with nothing left to stop, the button is still there")
		}
		var notice string
		a.store.DB.Model(&models.Patron{}).Where("id = ?", p.ID).Select("favorites_notice").Scan(&notice)
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ? AND subject = ?", p.ID, models.ConsentFavoritesNotice).Order("id DESC").Take(&e)
		if notice != models.NoticeNone || e.OldValue != models.NoticeWeekly || e.NewValue != models.NoticeNone ||
			e.TextVersion != models.FavoritesConsentVersion || countRows(t, a.store.DB, "subscriptions", p.ID) != 0 {
			t.Fatalf("notice %q, ledger %+v: want the weekly emails off, recorded, and no subscription", notice, e)
		}
		if got := text(t, c.get("/favorites"), `[data-testid="notice-schedule"]`); !strings.HasPrefix(got, "Now: Off") {
			t.Errorf("/favorites says %q after everything was stopped", got)
		}

		// Only the emails on: the button stops them alone, and says so.
		weeklyNotices(t, a, p.ID)
		if got := text(t, c.get("/mailing-lists"), `[data-testid="unsubscribe-all-says"]`); !strings.HasPrefix(got, "This stops your weekly emails about") {
			t.Errorf("with no list, the button's explanation says %q", got)
		}
		c.post("/mailing-lists/unsubscribe-all", url.Values{"csrf_token": {tok}})
		if got := text(t, c.get("/mailing-lists"), `[data-testid="notice"]`); got != "Emails about your favorite authors and subjects are off." {
			t.Errorf("stopping only the emails says %q", got)
		}
		// A second press (another tab) stops nothing, and says so.
		c.post("/mailing-lists/unsubscribe-all", url.Values{"csrf_token": {tok}})
		if got := text(t, c.get("/mailing-lists"), `[data-testid="notice"]`); !strings.HasPrefix(got, "There was nothing to stop") {
			t.Errorf("a second press says %q", got)
		}

		// No address: the patron is told nothing will be sent.
		a.store.DB.Model(&models.Patron{}).Where("id = ?", p.ID).Update("email", "")
		weeklyNotices(t, a, p.ID)
		if got := text(t, c.get("/favorites"), `[data-testid="notice-schedule"]`); !strings.Contains(got, "no email address for you, so nothing will be sent") {
			t.Errorf("without an address /favorites says %q", got)
		}
	})
}

// TestRefusedFormsShowTheErrorSummaryFirst: a form that comes back with an
// error on /favorites, /mailing-lists and /staff/lists shows the summary
// before anything else in the page's content, linking to the field.
func TestRefusedFormsShowTheErrorSummaryFirst(t *testing.T) {
	forEachDB(t, listsUXConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.list("events", "Library events")
		weeklyNotices(t, a, p.ID)
		a.staff("ada", models.RoleAdmin)
		c := a.client()
		c.signIn(card, pin)
		tok := c.csrf("/favorites")
		first := func(r response) string {
			t.Helper()
			return r.doc(t).Find(`main h1`).First().NextFiltered(`[data-testid="form-error"]`).Text()
		}

		r := c.post("/favorites/notice", url.Values{"csrf_token": {tok}, "notice": {"hourly"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := first(r); !strings.Contains(got, "Choose daily, weekly") || r.doc(t).Find(`[data-testid="form-error"] a[href="#notice"]`).Length() != 1 {
			t.Errorf("a bad notice choice: the summary after the heading says %q", got)
		}
		r = c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"   "}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := first(r); !strings.Contains(got, "Type the name") {
			t.Errorf("an empty favorite: the summary after the heading says %q", got)
		}

		a.store.DB.Model(&models.Patron{}).Where("id = ?", p.ID).Update("email", "")
		r = c.post("/mailing-lists/events/subscribe", url.Values{"csrf_token": {tok}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := first(r); !strings.Contains(got, "no email address for you") || countRows(t, a.store.DB, "subscriptions", p.ID) != 0 {
			t.Errorf("subscribing without an address: the summary after the heading says %q", got)
		}

		s := a.client()
		s.staffSignIn("ada", staffPassword)
		r = s.post("/staff/lists/new", url.Values{"csrf_token": {s.csrf("/staff/lists/new")}, "slug": {"Bad Slug!"},
			"name": {"x"}, "description": {"x"}, "frequency": {"Weekly"}, "sender": {"Library"}, "consent_text": {"short"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := first(r); !strings.Contains(got, "A slug is 2 to 40") || r.doc(t).Find(`[data-testid="form-error"] a[href="#consent_text"]`).Length() != 1 {
			t.Errorf("a bad list form: the summary after the heading says %q", got)
		}
	})
}
