package web_test

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/web"
	"github.com/labstack/echo/v4"
)

// The language machinery (web/lang.go): which language a page speaks, the
// switch before and after sign-in, and the patron's recorded choice. These
// tests read the language from <html lang> and Content-Language, never
// from a page's wording, which the catalogs own.

// onSQLite is a portal on SQLite alone, for tests where the database
// engine does not matter (the language of a page is decided before any
// query).
func onSQLite(t *testing.T, cfg web.Config) *app {
	t.Helper()
	clock := modeltest.NewFakeClock(testNow)
	return newApp(t, modeltest.DB{Name: "sqlite", Gorm: modeltest.SQLite(t, clock)}, clock, cfg)
}

// pageLang is the lang attribute of a page's <html>.
func pageLang(t *testing.T, r response) string {
	t.Helper()
	return r.doc(t).Find("html").AttrOr("lang", "")
}

// wantLang fails unless the page speaks lang, in <html lang> and in its
// Content-Language header alike.
func wantLang(t *testing.T, r response, lang string) {
	t.Helper()
	if got := pageLang(t, r); got != lang {
		t.Fatalf("%s %s: <html lang=%q>, want %q", r.Request.Method, r.Request.URL, got, lang)
	}
	if got := r.Header.Get("Content-Language"); got != lang {
		t.Fatalf("%s %s: Content-Language %q, want %q", r.Request.Method, r.Request.URL, got, lang)
	}
}

// patronLanguage is the language recorded on the patron's row.
func patronLanguage(t *testing.T, a *app, id int64) string {
	t.Helper()
	var lang string
	if err := a.store.DB.Model(&models.Patron{}).Where("id = ?", id).Pluck("language", &lang).Error; err != nil {
		t.Fatal(err)
	}
	return lang
}

// switchTo presses the language switch of a signed-in visitor's page: it
// posts the page's own form (its token and its next), with lang.
func (c *client) switchTo(page, lang string) response {
	c.a.t.Helper()
	doc := c.get(page).doc(c.a.t)
	form := doc.Find(`[data-testid="language-switch"] form[action="/language"]`)
	if form.Length() == 0 {
		c.a.t.Fatalf("%s: no language switch form for a signed-in visitor", page)
	}
	return c.post("/language", url.Values{
		"csrf_token": {form.Find(`input[name="csrf_token"]`).AttrOr("value", "")},
		"next":       {form.Find(`input[name="next"]`).AttrOr("value", "")},
		"lang":       {lang},
	})
}

func TestTheBrowsersLanguageDecidesUnlessTheURLSays(t *testing.T) {
	a := onSQLite(t, demoConfig())
	for _, tc := range []struct{ accept, query, want string }{
		{"es-US,es;q=0.9,en;q=0.5", "", "es"},
		{"es", "", "es"},
		{"es-MX", "", "es"},
		{"en-US,en;q=0.9", "", "en"},
		{"fr-FR,fr;q=0.9", "", "en"},
		{"", "", "en"},
		{"en-US", "?lang=es", "es"},
		{"es-US,es;q=0.9", "?lang=en", "en"},
		// A language the portal does not speak is ignored: the browser's
		// decides.
		{"es", "?lang=xx", "es"},
		{"", "?lang=xx", "en"},
		{"", "?lang=", "en"},
	} {
		c := a.client()
		if tc.accept != "" {
			c.header.Set("Accept-Language", tc.accept)
		}
		for _, path := range []string{"/", "/login", "/policy"} {
			r := c.get(path + tc.query)
			wantStatus(t, r, http.StatusOK)
			if got := pageLang(t, r); got != tc.want {
				t.Errorf("GET %s%s with Accept-Language %q: <html lang=%q>, want %q", path, tc.query, tc.accept, got, tc.want)
			}
			if got := r.Header.Get("Content-Language"); got != tc.want {
				t.Errorf("GET %s%s with Accept-Language %q: Content-Language %q, want %q", path, tc.query, tc.accept, got, tc.want)
			}
			if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Accept-Language") {
				t.Errorf("GET %s: the answer depends on Accept-Language, and Vary must say so (%q)", path, r.Header.Values("Vary"))
			}
		}
	}
	// An error page speaks the browser's language too.
	r := a.client().inSpanish().get("/no-such-page")
	wantStatus(t, r, http.StatusNotFound)
	wantLang(t, r, "es")
}

// Before sign-in the choice lives in the URL: no cookie, every link to
// the pages a visitor reads before signing in carries it, every form has
// it in a hidden field, and the sign-in form posted with it gives a
// session, and a patron record, in that language.
func TestTheChoiceBeforeSignInTravelsInLinksAndFormsNotACookie(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client() // no Accept-Language: English unless chosen

		home := c.get("/?lang=es")
		wantStatus(t, home, http.StatusOK)
		wantLang(t, home, "es")
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("choosing a language before sign-in set a cookie: %q", got)
		}
		doc := home.doc(t)
		for _, path := range []string{"/policy", "/login"} {
			links := doc.Find(`a[href^="` + path + `"]`)
			if links.Length() == 0 {
				t.Errorf("the home page has no link to %s", path)
			}
			links.Each(func(_ int, l *goquery.Selection) {
				href := l.AttrOr("href", "")
				if u, err := url.Parse(href); err != nil || u.Query().Get("lang") != "es" {
					t.Errorf("the home page links to %q: a link before sign-in must carry lang=es (href={ LangURL(ctx, ...) })", href)
				}
			})
		}
		// The switch offers English as a link back, without the choice.
		if href := doc.Find(`[data-testid="switch-en"]`).AttrOr("href", ""); href != "/?lang=en" {
			t.Errorf("the switch's English link is %q, want /?lang=en", href)
		}

		login := c.get("/login?lang=es")
		wantLang(t, login, "es")
		form := login.doc(t).Find(`form[action="/login"]`)
		if got := form.Find(`input[type="hidden"][name="lang"]`).AttrOr("value", ""); got != "es" {
			t.Fatalf("the sign-in form carries lang=%q in a hidden field, want es", got)
		}
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("the sign-in page set a cookie before sign-in: %q", got)
		}

		// A wrong PIN shows the form again, still in Spanish, still
		// carrying the choice, still with no cookie.
		wrong := c.post("/login", url.Values{"card": {card}, "pin": {"0000"}, "lang": {"es"},
			"csrf_token": {form.Find(`input[name="csrf_token"]`).AttrOr("value", "")}})
		wantLang(t, wrong, "es")
		again := wrong.doc(t).Find(`form[action="/login"]`)
		if got := again.Find(`input[type="hidden"][name="lang"]`).AttrOr("value", ""); got != "es" {
			t.Fatalf("the sign-in form shown again after a wrong PIN carries lang=%q, want es", got)
		}
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("a refused sign-in set a cookie: %q", got)
		}

		// The form as the page has it: token and hidden language.
		r := c.post("/login", url.Values{"card": {card}, "pin": {pin}, "lang": {"es"},
			"csrf_token": {again.Find(`input[name="csrf_token"]`).AttrOr("value", "")}})
		wantRedirect(t, r, "/data")
		if got := patronLanguage(t, a, p.ID); got != "es" {
			t.Errorf("the patron's record keeps language %q after signing in in Spanish, want es (it decides their emails)", got)
		}
		// The session now keeps it: no lang in the URL, no Accept-Language.
		data := c.get("/data")
		wantStatus(t, data, http.StatusOK)
		wantLang(t, data, "es")
		if strings.Contains(data.body, "lang=es") {
			t.Error("once signed in, links no longer need to carry the language: the session keeps it")
		}
		if n := len(a.cookies.all()); n != 1 {
			t.Errorf("%d Set-Cookie headers, want only the session's at sign-in", n)
		}
	})
}

// After sign-in the switch keeps the choice in the session (no second
// cookie) and, for a patron, on their record; it returns to the page it
// was on, never off the site, and refuses a language it does not speak.
func TestTheSwitchAfterSignInKeepsTheChoiceWithoutASecondCookie(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		wantRedirect(t, c.signIn(card, pin), "/data")
		wantLang(t, c.get("/data"), "en")
		cookie := c.sessionCookie()
		setCookies := len(a.cookies.all())

		wantRedirect(t, c.switchTo("/data", "es"), "/data")
		if got := len(a.cookies.all()); got != setCookies || c.sessionCookie() != cookie {
			t.Fatalf("the switch sent a cookie (%q): the session keeps the language", a.cookies.all()[setCookies:])
		}
		wantLang(t, c.get("/data"), "es")
		wantLang(t, c.get("/favorites"), "es")
		if got := patronLanguage(t, a, p.ID); got != "es" {
			t.Fatalf("the patron's record keeps %q after the switch, want es", got)
		}
		var names []string
		for _, ck := range a.cookies.all() {
			names = append(names, strings.SplitN(ck, "=", 2)[0])
		}
		if len(names) != 1 || names[0] != "carrel_session" {
			t.Fatalf("cookies set: %q, want carrel_session alone", names)
		}

		// Back to English, from a page whose address asked for Spanish:
		// the ?lang= of next is dropped, or it would undo the choice.
		r := c.post("/language", url.Values{"csrf_token": {c.csrf("/data")}, "lang": {"en"}, "next": {"/data/loans?lang=es"}})
		wantRedirect(t, r, "/data/loans")
		wantLang(t, c.get("/data"), "en")
		if got := patronLanguage(t, a, p.ID); got != "en" {
			t.Fatalf("the patron's record keeps %q after switching back, want en", got)
		}

		// next is a local path, or the switch goes to the overview.
		for _, next := range []string{"https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""} {
			r := c.post("/language", url.Values{"csrf_token": {c.csrf("/data")}, "lang": {"es"}, "next": {next}})
			wantStatus(t, r, http.StatusSeeOther)
			if to := r.Header.Get("Location"); !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
				t.Errorf("next=%q: the switch sends to %q, off the site", next, to)
			}
		}
		for _, bad := range []string{"xx", "", "en-XA-nonsense"} {
			r := c.post("/language", url.Values{"csrf_token": {c.csrf("/data")}, "lang": {bad}, "next": {"/data"}})
			wantStatus(t, r, http.StatusBadRequest)
		}
		// Without the form token the switch does nothing.
		r = c.post("/language", url.Values{"lang": {"en"}, "next": {"/data"}})
		wantStatus(t, r, http.StatusForbidden)
		wantLang(t, c.get("/data"), "es")
	})
}

// A patron's recorded choice follows them to a new browser: signing in
// later, with an English browser, the pages are in Spanish; a choice made
// on the sign-in page itself wins over the record, and replaces it.
func TestTheRecordedLanguageFollowsThePatronToANewBrowser(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		first := a.client().inSpanish()
		wantRedirect(t, first.signIn(card, pin), "/data")
		wantLang(t, first.get("/data"), "es")
		if got := patronLanguage(t, a, p.ID); got != "" {
			t.Errorf("the browser's Accept-Language is no choice, yet the record keeps %q", got)
		}
		wantRedirect(t, first.switchTo("/data", "es"), "/data")
		if got := patronLanguage(t, a, p.ID); got != "es" {
			t.Fatalf("record keeps %q, want es", got)
		}

		later := a.client()
		later.header.Set("Accept-Language", "en-US,en;q=0.9")
		wantRedirect(t, later.signIn(card, pin), "/data")
		wantLang(t, later.get("/data"), "es")
		wantLang(t, later.get("/mailing-lists"), "es")

		// Choosing English on the sign-in page is a choice: it wins.
		third := a.client().inSpanish()
		wantRedirect(t, third.signIn(card, pin, "lang", "en"), "/data")
		wantLang(t, third.get("/data"), "en")
		if got := patronLanguage(t, a, p.ID); got != "en" {
			t.Fatalf("record keeps %q after signing in with English chosen, want en", got)
		}
	})
}

// Staff assisting a patron may read the patron's pages in Spanish, but
// that is the desk's screen: the patron's recorded language, which
// decides their emails, is theirs alone to choose.
func TestAnAssistingStaffMembersSwitchLeavesThePatronsLanguage(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("desk", models.RoleAssistant)
		c := a.assisting(t, "desk", p)
		wantLang(t, c.get("/data"), "en")
		wantRedirect(t, c.switchTo("/data", "es"), "/data")
		wantLang(t, c.get("/data"), "es")
		if got := patronLanguage(t, a, p.ID); got != "" {
			t.Fatalf("staff assisting switched the patron's recorded language to %q", got)
		}
		// The rest of the assistance follows the desk's choice.
		wantLang(t, c.get("/policy"), "es")
		wantLang(t, c.get("/favorites"), "es")
	})
}

// Staff pages are English only (their catalogs are), whatever the
// browser or the address asks for.
func TestStaffPagesStayEnglish(t *testing.T) {
	a := onSQLite(t, demoConfig())
	a.staff("desk", models.RoleAssistant)
	c := a.client().inSpanish()
	wantLang(t, c.get("/staff/login"), "en")
	wantLang(t, c.get("/staff/login?lang=es"), "en")
	wantRedirect(t, c.staffSignIn("desk", staffPassword), "/staff")
	for _, path := range []string{"/staff", "/staff?lang=es", "/staff/patrons", "/staff/arrivals"} {
		r := c.get(path)
		wantStatus(t, r, http.StatusOK)
		wantLang(t, r, "en")
	}
}

// The switch's form posts only for a signed-in visitor: before sign-in
// there is no session token to post (the switch is a link), and a post
// without one is refused before SetLanguage runs, starting no session.
func TestTheSwitchPostsOnlyForASignedInVisitor(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		v := a.client()
		// The page's switch is a link for this visitor, not a form.
		doc := v.get("/").doc(t)
		if doc.Find(`form[action="/language"]`).Length() != 0 {
			t.Fatal("a visitor not signed in is offered the switch's form: it needs a session")
		}
		for _, tok := range []string{"", "forged", v.csrf("/login")} {
			r := v.post("/language", url.Values{"csrf_token": {tok}, "lang": {"es"}, "next": {"/policy"}})
			wantStatus(t, r, http.StatusForbidden)
		}
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("posting the switch before sign-in set a cookie: %q", got)
		}
		if n := rowsIn(t, a, "sessions"); n != 0 {
			t.Fatalf("posting the switch before sign-in stored %d sessions", n)
		}
		// A signed-out browser's old cookie names no session any more:
		// the post is not carried out either (it is sent to sign in).
		c := a.client()
		wantRedirect(t, c.signIn(card, pin), "/data")
		tok := c.csrf("/data")
		wantRedirect(t, c.post("/logout", url.Values{"csrf_token": {tok}}), "/login?signed_out=1")
		r := c.post("/language", url.Values{"csrf_token": {tok}, "lang": {"es"}, "next": {"/policy"}})
		if r.StatusCode == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/policy") {
			t.Fatalf("the switch ran for a signed-out visitor: to %q", r.Header.Get("Location"))
		}
	})
}

// TestEveryPatronPageComesFromCatalogs renders every page a patron (or a
// visitor before sign-in) can open, in the pseudo-locale, over data with
// no ASCII letters in it: any plain ASCII word left on a page is text that
// did not come from a message catalog, and would stay English in Spanish.
// Every patron-side GET route of the route table must be visited (a new
// page cannot slip past), and each page with such text is reported with
// the text found.
func TestEveryPatronPageComesFromCatalogs(t *testing.T) {
	cfg := demoConfig()
	cfg.LibraryName = "Библиотека Санта-Моники"
	cfg.PolicyVersion = "2026-11"
	cfg.Policy = "Политика конфиденциальности\n\nМы храним только то, что нужно.\n\nВопросы:\n- Спросите в библиотеке."
	cfg.PrivacyContact = views.Contact{Name: "Отдел конфиденциальности", Email: "privacy@example.org", Phone: "+1 310 555 0100", Address: "Главная улица, 601"}
	cfg.SigninRate, cfg.SigninBurst = 1000, 1000
	a := onSQLite(t, cfg)
	ctx := context.Background()
	p := seedCyrillicPatron(t, a)
	k := a.opac("koha")

	visits := 0

	anon := a.client().inPseudo()
	lst := seedCyrillicList(t, a, p)
	anonPaths := []string{
		"/", "/login", "/policy", "/no-such-page",
		"/opac/handoff", // no token: the error page a broken catalog link shows
		"/unsubscribe/" + a.store.UnsubscribeToken(p.ID, lst.ID),
		"/unsubscribe/notices/" + a.store.NoticeToken(p.ID),
		"/unsubscribe/notices/not-a-token",
		"/login?next=%2Fdata&ended=idle",
	}

	// Someone at the desk looked at the record: the staff-access page
	// names them, so their name is in Cyrillic too.
	if _, err := a.store.AddStaff(ctx, "anna", "Анна Петрова", models.RoleAssistant, staffPassword); err != nil {
		t.Fatal(err)
	}
	desk := a.assisting(t, "anna", p)
	wantStatus(t, desk.post("/assist/end", url.Values{"csrf_token": {desk.csrf("/data")}}), http.StatusSeeOther)

	c := a.client().inPseudo()
	wantRedirect(t, c.signIn(p.CardNumber, pin), "/data")
	patronPaths := []string{"/", "/policy", "/data", "/data/print", "/data/reading-history/off",
		"/data/reading-history/clear", "/data/reading-history?after=garbage",
		"/favorites", "/favorites/unlink", "/mailing-lists", "/no-such-page",
		"/opac/follow?author=" + url.QueryEscape("Лев Толстой"),
		"/opac/follow?subject=" + url.QueryEscape("Поэзия"),
	}
	for _, cat := range models.Categories() {
		patronPaths = append(patronPaths, "/data/"+cat.Slug)
	}

	// A catalog hands off another patron while this one is signed in: the
	// question page.
	a.patron("21000000008888", "8888", "Вера", "Иванова")
	q := a.client().inPseudo()
	wantRedirect(t, q.signIn(p.CardNumber, pin), "/data")
	wantRedirect(t, handoff(q, sign(t, k, handoffClaims(a, "koha", "21000000008888")), "to", "/favorites"), "/opac/handoff/confirm")

	// The route table, matched as the portal's router matches it, names
	// each page and tells which page routes were never rendered.
	table := (&web.Server{}).RouteTable()
	e := echo.New()
	for _, r := range table {
		e.Add(r.Method, r.Path, func(echo.Context) error { return nil })
	}
	routeOf := func(path string) string {
		ec := e.NewContext(nil, nil)
		e.Router().Find(http.MethodGet, path, ec)
		return ec.Path()
	}

	var failed []string
	visited := map[string]bool{}
	check := func(who string, cl *client, path string) {
		t.Helper()
		r := cl.get(path)
		u, _ := url.Parse(path)
		label := path
		if strings.Contains(routeOf(u.Path), ":token") {
			label = strings.Replace(routeOf(u.Path), ":token", "{token}", 1) // not the token itself
			if strings.HasSuffix(path, "not-a-token") {
				label += " (a wrong token)"
			}
		} else if un, err := url.QueryUnescape(path); err == nil {
			label = un
		}
		who += " " + label
		if r.StatusCode >= 300 && r.StatusCode < 400 {
			t.Errorf("%s: redirected to %q, no page to check", who, r.Header.Get("Location"))
			return
		}
		visited[u.Path] = true
		if got := pageLang(t, r); got != "en-XA" {
			t.Errorf("%s: <html lang=%q>, want the pseudo-locale en-XA", who, got)
		}
		// The catalog's address is data the library configured.
		if bad := untranslated(t, r.body, "koha"); len(bad) > 0 {
			failed = append(failed, who)
			t.Errorf("%s (status %d): %d text(s) not from a catalog:\n\t%s", who, r.StatusCode, len(bad), strings.Join(bad, "\n\t"))
		}
		visits++
	}
	for _, path := range anonPaths {
		check("visitor", anon, path)
	}
	for _, path := range patronPaths {
		check("patron", c, path)
	}
	check("patron", q, "/opac/handoff/confirm")

	// Every patron-side page route was visited.
	notPatronPages := map[string]string{
		"/data/export.json": "a JSON download, machine-readable",
		"/metrics":          "Prometheus text for the operator",
		"/healthz":          "plain text for the load balancer",
		"/readyz":           "plain text for the load balancer",
		"/static/*":         "style sheets, scripts and images",
		"/library-logo":     "an image",
	}
	covered := map[string]bool{}
	for path := range visited {
		covered[routeOf(path)] = true
	}
	for _, r := range table {
		if r.Method != http.MethodGet || r.Path == "/staff" || strings.HasPrefix(r.Path, "/staff/") {
			continue
		}
		if _, ok := notPatronPages[r.Path]; ok || covered[r.Path] {
			continue
		}
		t.Errorf("GET %s (route %q) is a patron page this test never renders: add it", r.Path, r.Name)
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		t.Errorf("%d of the %d pages rendered have text that did not come from a catalog:\n\t%s", len(failed), visits, strings.Join(failed, "\n\t"))
	}
}

// seedCyrillicPatron is a patron whose every record is written in another
// script, with reading history on, favorites linked and weekly notices,
// and a record in every category of "What we hold about you".
func seedCyrillicPatron(t *testing.T, a *app) models.Patron {
	t.Helper()
	ctx := context.Background()
	p := a.patron("21000000007777", pin, "Октавия", "Батлер")
	p.Email = "octavia@example.org"
	p.Phone = "+1 310 555 0199"
	p.PostalAddress = "Главная улица, 1"
	p.HomeBranch = "Центральная"
	if err := a.store.DB.Save(&p).Error; err != nil {
		t.Fatal(err)
	}
	act := models.Actor{Channel: models.ChannelWeb, TextVersion: models.FavoritesConsentVersion}
	if _, _, err := a.store.SetReadingHistory(ctx, p.ID, true, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	weeklyNotices(t, a, p.ID)
	for _, f := range []struct{ kind, name string }{{models.FavoriteAuthor, "Лев Толстой"}, {models.FavoriteSubject, "Поэзия"}} {
		if _, _, err := a.store.AddFavorite(ctx, p.ID, f.kind, f.name, act); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d int) *time.Time { x := testNow.AddDate(0, 0, d); return &x }
	rows := []any{
		&models.Loan{PatronID: p.ID, Title: "Мастер и Маргарита", Author: "Михаил Булгаков", Format: "книга",
			Barcode: "31000123456", CheckedOutAt: *day(-5), DueAt: *day(16), Branch: "Центральная"},
		&models.HistoryEntry{PatronID: p.ID, Title: "Анна Каренина", Author: "Лев Толстой", Format: "книга",
			CheckedOutAt: *day(-40), ReturnedAt: *day(-20)},
		&models.Hold{PatronID: p.ID, Title: "Война и мир", Author: "Лев Толстой", PickupBranch: "Центральная",
			Status: models.HoldReady, PlacedAt: *day(-3), ReadyUntil: day(4)},
		&models.Hold{PatronID: p.ID, Title: "Идиот", Author: "Фёдор Достоевский", PickupBranch: "Центральная",
			Status: models.HoldFilled, PlacedAt: *day(-30), ClosedAt: day(-10)},
		&models.Fine{PatronID: p.ID, Description: "Поздний возврат", Title: "Идиот", AmountCents: 150,
			Status: models.FineOutstanding, AssessedAt: *day(-8)},
		&models.Fine{PatronID: p.ID, Description: "Повреждение", Title: "Нос", AmountCents: 1200,
			Status: models.FinePaid, AssessedAt: *day(-60), SettledAt: day(-50)},
		&models.ILLRequest{PatronID: p.ID, Title: "Тихий Дон", Author: "Михаил Шолохов", LendingLibrary: "Библиотека Одессы",
			Status: models.ILLShipped, RequestedAt: *day(-12)},
		&models.ReferenceQuestion{PatronID: p.ID, Subject: "История", Question: "Где найти старые карты?",
			Answer: "В зале краеведения.", AskedAt: *day(-25), AnsweredAt: day(-24)},
		&models.ComputerSession{PatronID: p.ID, Branch: "Центральная", Station: "ПК-3", StartedAt: *day(-2), EndedAt: day(-2)},
		&models.Notification{PatronID: p.ID, Title: "Воскресение", Author: "Лев Толстой",
			CatalogURL: "https://catalog.example.org/record/1", Reason: "Лев Толстой", CreatedAt: *day(-6), SentAt: day(-6)},
	}
	for _, r := range rows {
		if err := a.store.DB.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// seedCyrillicList is a mailing list written in another script, with the
// patron on it.
func seedCyrillicList(t *testing.T, a *app, p models.Patron) models.MailingList {
	t.Helper()
	ctx := context.Background()
	admin, err := a.store.AddStaff(ctx, "listadmin", "Ольга Смирнова", models.RoleAdmin, staffPassword)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.store.SaveList(ctx, admin.ID, "", models.ListForm{Slug: "novosti", Name: "Новости библиотеки",
		Description: "Что нового в библиотеке.", Frequency: "Ежемесячно", Sender: "Библиотека <news@example.org>",
		ConsentText: "Присылайте мне новости по электронной почте."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Subscribe(ctx, p.ID, "novosti", models.Actor{Channel: models.ChannelWeb, TextVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	return l
}
