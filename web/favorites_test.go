package web_test

import (
	"context"
	"github.com/PuerkitoBio/goquery"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/carrel-library/carrel/models"
)

// linked signs in a fresh patron and links their favorites.
func linked(t *testing.T, a *app) (*client, models.Patron, string) {
	t.Helper()
	p := a.patron(card, pin, "Rosa", "Parks")
	c := a.client()
	c.signIn(card, pin)
	tok := c.csrf("/favorites")
	wantRedirect(t, c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}}), "/favorites")
	return c, p, tok
}

func favoriteNames(t *testing.T, c *client) []string {
	t.Helper()
	var out []string
	c.get("/favorites").doc(t).Find(`[data-testid="favorite"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.Text())
	})
	return out
}

func TestLinkingFavoritesIsAnExplicitRecordedChoice(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		page := c.get("/favorites").doc(t)
		if page.Find(`[data-testid="not-linked"]`).Length() != 1 {
			t.Fatal("a new patron's favorites are not linked")
		}
		if _, checked := page.Find(`input[name="consent"]`).Attr("checked"); checked {
			t.Fatal("the consent box must never be ticked in advance")
		}
		tok := c.csrf("/favorites")
		r := c.post("/favorites/link", url.Values{"csrf_token": {tok}, "version": {models.FavoritesConsentVersion}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if r.doc(t).Find(`[data-testid="consent-error"]`).Length() != 1 {
			t.Fatal("an unticked box gets a message next to it")
		}
		r = c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {"favorites-0"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if countRows(t, a.store.DB, "consent_entries", p.ID) != 0 {
			t.Fatal("nothing is recorded until the current text is agreed to")
		}
		wantRedirect(t, c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}}), "/favorites")
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Take(&e)
		if e.Subject != models.ConsentFavoritesLink || e.OldValue != "off" || e.NewValue != "on" || e.TextVersion != models.FavoritesConsentVersion {
			t.Fatalf("ledger entry %+v", e)
		}
		if c.get("/favorites").doc(t).Find(`[data-testid="linked"]`).Length() != 1 {
			t.Fatal("favorites should now be linked")
		}
	})
}

func TestFavoritesAreNormalisedAndDeduplicated(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p, tok := linked(t, a)
		add := func(kind, name string) response {
			return c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {kind}, "name": {name}})
		}
		wantRedirect(t, add("author", "Butler, Octavia E."), "/favorites")
		wantRedirect(t, add("author", "  Octavia E.   Butler "), "/favorites")
		if !strings.Contains(c.get("/favorites").doc(t).Find(`[data-testid="notice"]`).Text(), "already follow") {
			t.Fatal("a duplicate should be reported, not added")
		}
		wantRedirect(t, add("author", "García Márquez, Gabriel"), "/favorites")
		wantRedirect(t, add("author", "Gabriel Garcia Marquez"), "/favorites")
		wantRedirect(t, add("subject", "Science fiction--History and criticism"), "/favorites")
		wantRedirect(t, add("subject", "science fiction -- history and criticism"), "/favorites")
		wantRedirect(t, add("author", `Flann O'Brien & "Myles"`), "/favorites")
		names := favoriteNames(t, c)
		want := []string{"Butler, Octavia E.", "García Márquez, Gabriel", `Flann O'Brien & "Myles"`, "Science fiction--History and criticism"}
		if len(names) != len(want) {
			t.Fatalf("favorites %q, want %q", names, want)
		}
		for _, w := range want {
			if !strings.Contains(strings.Join(names, "|"), w) {
				t.Fatalf("%q should be displayed as typed; got %q", w, names)
			}
		}
		if strings.Contains(c.get("/favorites").body, `Flann O'Brien & "Myles"`) {
			t.Fatal("names must be HTML-escaped on output")
		}
		if n := countRows(t, a.store.DB, "favorites", p.ID); n != 4 {
			t.Fatalf("%d rows", n)
		}
	})
}

func TestBadFavoritesAreRefusedNextToTheField(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p, tok := linked(t, a)
		cases := []struct{ name, kind, value, field, want string }{
			{"empty", "author", "   ", "name", "Type the name"},
			{"over-long", "author", strings.Repeat("a", models.MaxFavoriteLength+1), "name", "longer than"},
			{"control characters", "author", "Octavia\x1bButler", "name", "cannot be part of a name"},
			{"markup", "subject", "<script>alert(1)</script>", "name", "cannot contain"},
			{"no kind", "", "Octavia Butler", "kind", "author or a subject"},
			{"punctuation only", "author", ".,.,", "name", "letters or numbers"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {tc.kind}, "name": {tc.value}})
				wantStatus(t, r, http.StatusUnprocessableEntity)
				doc := r.doc(t)
				if msg := doc.Find(`[data-testid="` + tc.field + `-error"]`).Text(); !strings.Contains(msg, tc.want) {
					t.Fatalf("message next to %s = %q, want %q", tc.field, msg, tc.want)
				}
				if tc.field == "name" {
					if v, _ := doc.Find(`input[name="name"]`).Attr("value"); v != tc.value {
						t.Fatalf("the typed text should be kept in the form, got %q", v)
					}
					if v, ok := doc.Find(`input[name="kind"][value="` + tc.kind + `"]`).Attr("checked"); !ok {
						t.Fatalf("the chosen kind should stay chosen (%q)", v)
					}
				}
				if strings.Contains(r.body, "<script>alert") {
					t.Fatal("markup must be escaped when shown again")
				}
			})
		}
		if countRows(t, a.store.DB, "favorites", p.ID) != 0 {
			t.Fatal("nothing bad may be stored")
		}
		// The number of favorites is bounded.
		for i := 0; i < models.MaxFavorites; i++ {
			if _, _, err := a.store.AddFavorite(context.Background(), p.ID, models.FavoriteSubject, "Topic "+itoa(int64(i)), models.Actor{Channel: models.ChannelWeb}); err != nil {
				t.Fatal(err)
			}
		}
		r := c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"One Too Many"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.doc(t).Find(`[data-testid="name-error"]`).Text(), "at most") {
			t.Fatal("the limit should be explained next to the field")
		}
	})
}

func TestUnlinkingErasesEveryTraceOfTheFavorites(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p, tok := linked(t, a)
		secret := []string{"Zanzibar Quokkaphile", "Underwater basket weaving -- Manuals"}
		c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {secret[0]}})
		c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"subject"}, "name": {secret[1]}})
		c.post("/favorites/notice", url.Values{"csrf_token": {tok}, "notice": {"weekly"}})
		a.store.DB.Create(&models.Notification{PatronID: p.ID, Title: "New book", Reason: secret[0]})
		sent := testNow
		a.store.DB.Create(&models.Notification{PatronID: p.ID, Title: "Older book", Reason: secret[1], SentAt: &sent})

		confirm := c.get("/favorites/unlink")
		if w := confirm.doc(t).Find(`[data-testid="confirm-warning"]`).Text(); !strings.Contains(w, "All 2 favorites") {
			t.Fatalf("the confirmation should count what goes: %q", w)
		}
		wantRedirect(t, c.post("/favorites/unlink", url.Values{"csrf_token": {tok}}), "/favorites/unlink")
		if countRows(t, a.store.DB, "favorites", p.ID) != 2 {
			t.Fatal("nothing goes before confirmation")
		}
		wantRedirect(t, c.post("/favorites/unlink", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}), "/favorites")

		// No row in any table holds those favorites any more.
		assertNowhere(t, a, secret...)
		var last models.ConsentEntry
		a.store.DB.Where("patron_id = ? AND subject = ?", p.ID, models.ConsentFavoritesLink).Order("id DESC").Take(&last)
		if last.OldValue != "on" || last.NewValue != "off" {
			t.Fatalf("the ledger should record the unlink: %+v", last)
		}
		// Linking again starts empty.
		c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}})
		if names := favoriteNames(t, c); len(names) != 0 {
			t.Fatalf("re-linking should start empty, got %q", names)
		}
	})
}

// assertNowhere searches every text column of every table for needles.
func assertNowhere(t *testing.T, a *app, needles ...string) {
	t.Helper()
	tables, err := a.store.DB.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		cols, _ := a.store.DB.Migrator().ColumnTypes(table)
		for _, col := range cols {
			for _, needle := range needles {
				var n int64
				a.store.DB.Table(table).Where("CAST("+col.Name()+" AS TEXT) LIKE ?", "%"+needle+"%").Count(&n)
				if n > 0 {
					t.Errorf("%s.%s still holds %q", table, col.Name(), needle)
				}
			}
		}
	}
}

func TestNoticePreferenceIsRecorded(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p, tok := linked(t, a)
		page := c.get("/favorites").doc(t)
		if _, ok := page.Find(`input[name="notice"][value="none"]`).Attr("checked"); !ok {
			t.Fatal("after linking, no notices are sent until the patron chooses")
		}
		c.post("/favorites/notice", url.Values{"csrf_token": {tok}, "notice": {"daily"}})
		c.post("/favorites/notice", url.Values{"csrf_token": {tok}, "notice": {"daily"}})
		c.post("/favorites/notice", url.Values{"csrf_token": {tok}, "notice": {"hourly"}})
		var entries []models.ConsentEntry
		a.store.DB.Where("patron_id = ? AND subject = ?", p.ID, models.ConsentFavoritesNotice).Find(&entries)
		if len(entries) != 1 || entries[0].OldValue != "none" || entries[0].NewValue != "daily" {
			t.Fatalf("notice ledger %+v", entries)
		}
	})
}

func TestConcurrentTabsLeaveOneFavoriteAndAConsistentLedger(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p, tok := linked(t, a)
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"Le Guin, Ursula K."}})
			}()
		}
		wg.Wait()
		if n := countRows(t, a.store.DB, "favorites", p.ID); n != 1 {
			t.Fatalf("%d rows for one favorite added from six tabs", n)
		}
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if i%2 == 0 {
					c.post("/favorites/unlink", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
				} else {
					c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}})
				}
			}(i)
		}
		wg.Wait()
		var entries []models.ConsentEntry
		a.store.DB.Where("patron_id = ? AND subject = ?", p.ID, models.ConsentFavoritesLink).Order("id").Find(&entries)
		var final models.Patron
		a.store.DB.Where("id = ?", p.ID).Take(&final)
		state := "off"
		for i, e := range entries {
			if e.OldValue != state {
				t.Fatalf("ledger entry %d goes from %q but the state was %q", i, e.OldValue, state)
			}
			state = e.NewValue
		}
		if (state == "on") != final.FavoritesLinked {
			t.Fatalf("ledger ends %q, record says linked=%v", state, final.FavoritesLinked)
		}
		if !final.FavoritesLinked && countRows(t, a.store.DB, "favorites", p.ID) != 0 {
			t.Fatal("unlinked, yet favorites remain")
		}
	})
}

func TestFollowFromTheCatalog(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		follow := "/opac/follow?author=" + url.QueryEscape("Butler, Octavia E.")

		// Not signed in: sign-in first, then back here.
		c := a.client()
		r := c.get(follow)
		wantRedirect(t, r, "/login?next="+url.QueryEscape(follow))
		wantRedirect(t, c.signIn(card, pin, "next", follow), follow)

		// Signed in, not linked: the choice is explained, and linking leads back.
		r = c.get(follow)
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		if doc.Find(`input[name="consent"]`).Length() != 1 || doc.Find(`[data-testid="follow-confirm"]`).Length() != 0 {
			t.Fatal("before linking, the page offers to link first")
		}
		next, _ := doc.Find(`input[name="next"]`).Attr("value")
		tok := c.csrf("/favorites")
		wantRedirect(t, c.post("/favorites/link", url.Values{"csrf_token": {tok}, "consent": {"yes"}, "version": {models.FavoritesConsentVersion}, "next": {next}}), follow)

		// Linked: one button adds it; the GET itself changed nothing.
		doc = c.get(follow).doc(t)
		if doc.Find(`[data-testid="follow-confirm"]`).Length() != 1 || countRows(t, a.store.DB, "favorites", p.ID) != 0 {
			t.Fatal("a GET must never add a favorite")
		}
		wantRedirect(t, c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"Butler, Octavia E."}}), "/favorites")
		if !strings.Contains(c.get("/opac/follow?author=Octavia+E.+Butler").doc(t).Find("h1").Text(), "already follow") {
			t.Fatal("following again says so")
		}
		// Nonsense links get a clear page.
		for _, bad := range []string{"/opac/follow", "/opac/follow?author=a&subject=b", "/opac/follow?subject=%3Cb%3E"} {
			r := c.get(bad)
			wantStatus(t, r, http.StatusBadRequest)
			if r.doc(t).Find(`[data-testid="follow-error"]`).Length() != 1 {
				t.Fatalf("%s: no explanation", bad)
			}
		}
	})
}
