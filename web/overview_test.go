package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
)

// TestOverviewOpensWithYourChoices: /data opens with the patron's choices,
// each as it stands with its control or a link to it, and staff access
// counted since the patron's previous sign-in; then jump links to every
// card, with the headings in order.
func TestOverviewOpensWithYourChoices(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, alex := seeded(t, a)
		doc := c.get("/data").doc(t)
		choices := doc.Find(`[data-testid="your-choices"]`)
		if choices.Length() != 1 || choices.Find("h2").Text() != "Your choices" {
			t.Fatal("the overview does not open with “Your choices”")
		}
		if next := choices.NextAllFiltered(`[data-testid="overview"]`); next.Length() != 1 {
			t.Fatal("the cards do not come after the choices")
		}
		history := choices.Find(`[data-testid="choice-history"]`)
		if text := squash(history.Text()); !strings.Contains(text, "On. 5,000 items are kept") {
			t.Errorf("reading history choice: %q", text)
		}
		if history.Find(`a[href="/data/reading-history/off"]`).Length() != 1 {
			t.Error("no way to turn reading history off from the overview")
		}
		favorites := choices.Find(`[data-testid="choice-favorites"]`)
		if text := squash(favorites.Text()); !strings.Contains(text, "Linked to your record. You follow 5 authors and subjects.") ||
			!strings.Contains(text, "emails about your favorite authors and subjects once a week") || favorites.Find(`a[href="/favorites"]`).Length() != 1 {
			t.Errorf("favorites choice: %q", text)
		}
		lists := choices.Find(`[data-testid="choice-lists"]`)
		if text := squash(lists.Text()); !strings.Contains(text, "You are subscribed to 2 mailing lists.") || lists.Find(`a[href="/mailing-lists"]`).Length() != 1 {
			t.Errorf("mailing lists choice: %q", text)
		}
		// Staff access since the sign-in before this one, which the
		// patron's row no longer holds (this sign-in overwrote it).
		var since int64
		a.store.DB.Model(&models.AuditEntry{}).Where("patron_id = ? AND restricted = ? AND created_at > ?", alex.ID, false, *alex.LastSignInAt).Count(&since)
		if since == 0 {
			t.Fatal("the demo should have staff access since Alex's last visit")
		}
		want := strconv.FormatInt(since, 10) + " new entries since your last visit, on " + alex.LastSignInAt.Format("January 2, 2006") + "."
		if since == 1 {
			want = "1 new entry since your last visit, on " + alex.LastSignInAt.Format("January 2, 2006") + "."
		}
		staff := choices.Find(`[data-testid="choice-staff-access"]`)
		if got := squash(staff.Find(`[data-testid="staff-access-since"]`).Text()); got != want || staff.Find(`a[href="/data/staff-access"]`).Length() != 1 {
			t.Errorf("staff access: %q, want %q", got, want)
		}

		// Jump links lead to every card, and headings never skip a level.
		targets := doc.Find(`nav.jump-links a`)
		if targets.Length() != doc.Find(`[data-testid="overview"] > li`).Length() {
			t.Errorf("%d jump links for %d cards", targets.Length(), doc.Find(`[data-testid="overview"] > li`).Length())
		}
		targets.Each(func(_ int, s *goquery.Selection) {
			if id := strings.TrimPrefix(s.AttrOr("href", ""), "#"); doc.Find(`[id="`+id+`"]`).Length() != 1 {
				t.Errorf("jump link %q leads nowhere", s.AttrOr("href", ""))
			}
		})
		last := 0
		doc.Find("main h1, main h2, main h3, main h4").Each(func(_ int, s *goquery.Selection) {
			level := int(goquery.NodeName(s)[1] - '0')
			if level > last+1 {
				t.Errorf("heading %q (h%d) follows an h%d", squash(s.Text()), level, last)
			}
			last = level
		})

		// A second sign-in: nothing new since the first, until staff look
		// the patron up.
		again := a.client()
		wantRedirect(t, again.signIn("21000000000001", "1234"), "/data")
		visit := a.clock.Now().Format("January 2, 2006")
		if got := squash(again.get("/data").doc(t).Find(`[data-testid="staff-access-since"]`).Text()); got !=
			"No staff member has looked up or helped with your record since your last visit, on "+visit+"." {
			t.Errorf("nothing happened since the last visit, yet: %q", got)
		}
		a.clock.Advance(time.Minute)
		a.staff("sam", models.RoleAssistant)
		desk := a.client()
		wantRedirect(t, desk.staffSignIn("sam", staffPassword), "/staff")
		wantStatus(t, desk.get("/staff/patrons/"+itoa(alex.ID)), http.StatusOK)
		if got := squash(again.get("/data").doc(t).Find(`[data-testid="staff-access-since"]`).Text()); got !=
			"1 new entry since your last visit, on "+visit+"." {
			t.Errorf("after a staff look-up: %q", got)
		}

		// Blake keeps no history: the overview's button turns it on,
		// with no JavaScript, as an explicit choice.
		blake := a.client()
		wantRedirect(t, blake.signIn("21000000000002", "5678"), "/data")
		page := blake.get("/data").doc(t)
		form := page.Find(`[data-testid="choice-history"] form[action="/data/reading-history/on"]`)
		if !strings.Contains(squash(page.Find(`[data-testid="choice-history"]`).Text()), "Off.") || form.Length() != 1 {
			t.Fatal("the overview offers no way to turn reading history on")
		}
		wantRedirect(t, blake.post("/data/reading-history/on", url.Values{"csrf_token": {form.Find(`input[name="csrf_token"]`).AttrOr("value", "")}}), "/data/reading-history")
		if text := squash(blake.get("/data").doc(t).Find(`[data-testid="choice-history"]`).Text()); !strings.Contains(text, "On. Nothing is kept yet") {
			t.Errorf("after turning history on: %q", text)
		}
		if text := squash(blake.get("/data").doc(t).Find(`[data-testid="choice-favorites"]`).Text()); !strings.Contains(text, "Not linked.") {
			t.Errorf("Blake's favorites: %q", text)
		}
	})
}

// Wording no patron page may have: counts with "(s)" or the wrong plural,
// doubled full stops, internal numbers and command names, and a date
// still to come told in the past tense.
var (
	pluralNoun = map[string]string{"item": "items", "minute": "minutes", "day": "days", "hour": "hours", "month": "months",
		"year": "years", "entry": "entries", "list": "lists", "hold": "holds", "request": "requests", "question": "questions",
		"session": "sessions", "sign-in": "sign-ins", "favorite": "favorites", "notification": "notifications",
		"change": "changes", "detail": "details", "time": "times", "patron": "patrons", "notice": "notices",
		"email": "emails", "problem": "problems", "line": "lines", "mailing list": "mailing lists"}
	countRE    = regexp.MustCompile(`\b(\d[\d,]*) ([a-z][a-z-]*(?: list| lists)?)\b`)
	internalRE = regexp.MustCompile(`(?i)\b(version|request|entry|record) #?\d+\b|\bcarrel (serve|purge|import|seed|digests|lists|audit|staff|apikey|opac|migrate)\b`)
	months     = `(?:January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}, \d{4}`
	pastRE     = regexp.MustCompile(`((?:\S+ ){0,2})(deleted|erased|removed|purged|ended|expired)(?: on)? (` + months + `)`)
)

// wordingProblems lists what is wrong with a page's visible text at now.
func wordingProblems(text string, now time.Time) []string {
	var out []string
	if strings.Contains(text, "(s)") {
		out = append(out, `"(s)"`)
	}
	if i := strings.Index(strings.ReplaceAll(text, "...", "…"), ".."); i >= 0 {
		out = append(out, "a doubled full stop: "+excerptAround(text, i))
	}
	for _, m := range countRE.FindAllStringSubmatch(text, -1) {
		n, word := strings.ReplaceAll(m[1], ",", ""), m[2]
		for one, many := range pluralNoun {
			if (n == "1" && word == many) || (n != "1" && word == one) {
				out = append(out, "a wrong plural: "+m[0])
			}
		}
	}
	for _, m := range internalRE.FindAllString(text, -1) {
		out = append(out, "an internal word: "+m)
	}
	for _, m := range pastRE.FindAllStringSubmatch(text, -1) {
		when, err := time.Parse("January 2, 2006", m[3])
		if err == nil && when.After(now) && !strings.HasSuffix(strings.TrimSpace(m[1]), "will be") {
			out = append(out, "a date to come in the past tense: "+m[0])
		}
	}
	return out
}

func excerptAround(s string, i int) string {
	return s[max(0, i-40):min(len(s), i+40)]
}

// TestPatronPagesReadRight renders every patron page of the demo's rich
// patron (something in every category, a long history, favorites, lists,
// staff assistance), as the patron and as staff assisting them, and of
// the demo patron who chose nothing, and reads them as a patron would.
func TestPatronPagesReadRight(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		alexClient, alex := seeded(t, a)
		blake := a.client()
		wantRedirect(t, blake.signIn("21000000000002", "5678"), "/data")
		// A court order held Alex's records, and was released: the
		// patron is told of it in their words, with no internal numbers.
		officer := a.staff("olive", models.RolePrivacyOfficer)
		req, _, err := a.store.CreateLegalRequest(context.Background(), officer.ID, models.LegalForm{Kind: "court_order",
			Issuer: "Superior Court of California", Reference: "CO-2026-0417", PlaceHolds: true}, a.clock.Now(), []string{alex.CardNumber})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.store.ReleaseLegalHold(context.Background(), officer.ID, req.ID, alex.ID); err != nil {
			t.Fatal(err)
		}
		a.staff("sam", models.RoleAssistant)
		assisting := a.assisting(t, "sam", alex)
		pages := append(patronPages(), "/data/reading-history/off", "/data/reading-history/clear", "/favorites/unlink")
		for _, v := range []struct {
			who string
			c   *client
		}{{"Alex", alexClient}, {"Blake", blake}, {"staff assisting Alex", assisting}} {
			who, c := v.who, v.c
			for _, path := range pages {
				r := c.get(path)
				switch {
				case r.StatusCode == http.StatusForbidden && who == "staff assisting Alex":
					continue // printing is not for staff
				case r.StatusCode == http.StatusSeeOther && who == "Blake" && path == "/favorites/unlink":
					continue // nothing to unlink
				}
				wantStatus(t, r, http.StatusOK)
				text := squash(r.doc(t).Find("body").Text())
				for _, p := range wordingProblems(text, a.clock.Now()) {
					t.Errorf("%s, %s: %s", who, path, p)
				}
			}
		}
		// A sentence ending in a name typed with an initial keeps one
		// full stop.
		tok := alexClient.csrf("/favorites")
		wantRedirect(t, alexClient.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"Delany, Samuel R."}}), "/favorites")
		if text := squash(alexClient.get("/favorites").doc(t).Find("body").Text()); !strings.Contains(text, "You now follow Delany, Samuel R.") {
			t.Errorf("no notice of the new favorite: %s", excerpt(text))
		} else {
			for _, p := range wordingProblems(text, a.clock.Now()) {
				t.Errorf("after following an author: %s", p)
			}
		}

		// The test reads what it should: a page with each mistake fails.
		for _, bad := range []string{"3 item(s)", "Kept until you ask.. Then", "1 minutes left", "1 items", "2 day",
			"consent text version 1", "legal request 3 recorded", "Paid; deleted " + a.clock.Now().AddDate(0, 2, 0).Format("January 2, 2006")} {
			if len(wordingProblems(bad, a.clock.Now())) == 0 {
				t.Errorf("%q passes", bad)
			}
		}
		if p := wordingProblems("Paid; will be deleted on "+a.clock.Now().AddDate(0, 2, 0).Format("January 2, 2006")+". 1 item, 2 items.", a.clock.Now()); len(p) != 0 {
			t.Errorf("good wording fails: %v", p)
		}
	})
}
