package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/mail/mailtest"
	"github.com/carrel-library/carrel/views/i18n"
)

// TestFavoritesAndMailingListsInSpanish: a patron who chose Spanish reads
// their favorites and mailing lists in Spanish, the emails' day and the
// form's error included; the library's list names stay as the library
// wrote them.
func TestFavoritesAndMailingListsInSpanish(t *testing.T) {
	a := onSQLite(t, listsUXConfig())
	p := a.patron(card, pin, "Rosa", "Parks")
	if err := a.store.SetLanguage(context.Background(), p.ID, "es"); err != nil {
		t.Fatal(err)
	}
	a.list("events", "Library events")
	a.list("friends", "Friends of the Library")
	weeklyNotices(t, a, p.ID)
	c := a.client() // no Accept-Language: the patron's recorded choice decides
	c.signIn(card, pin)

	r := c.get("/favorites")
	wantStatus(t, r, http.StatusOK)
	if lang := pageLang(t, r); lang != "es" {
		t.Fatalf(`/favorites has lang=%q, want "es"`, lang)
	}
	if got := text(t, r, "h1"); got != "Autores y temas favoritos" {
		t.Errorf("h1 %q", got)
	}
	if got := text(t, r, `[data-testid="notice-schedule"]`); got != "Ahora: Un correo a la semana, los lunes, a rosa@example.org." {
		t.Errorf("the schedule says %q", got)
	}
	if got := text(t, r, `label:has(input[value="weekly"])`); got != "Un correo a la semana, los lunes, cuando haya algo nuevo" {
		t.Errorf("the weekly choice says %q", got)
	}

	tok := c.csrf("/favorites")
	r = c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"  "}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if got := text(t, r, `[data-testid="name-error"]`); got != "Escriba el nombre de un autor o de un tema." {
		t.Errorf("the name's error says %q", got)
	}
	if got := text(t, r, "title"); !strings.HasPrefix(got, "Error: Autores y temas favoritos") {
		t.Errorf("title %q", got)
	}
	wantRedirect(t, c.post("/favorites/add", url.Values{"csrf_token": {tok}, "kind": {"author"}, "name": {"Octavia E. Butler"}}), "/favorites")
	r = c.get("/favorites")
	if got := text(t, r, `.favorites .tag`); got != "Autor" {
		t.Errorf("the favorite's kind reads %q", got)
	}
	if label, _ := r.doc(t).Find(`.favorites button`).Attr("aria-label"); label != "Quitar Octavia E. Butler" {
		t.Errorf("the remove button's label %q", label)
	}
	action, _ := r.doc(t).Find(`.favorites form`).Attr("action")
	wantRedirect(t, c.post(action, url.Values{"csrf_token": {tok}}), "/favorites")
	if got := text(t, c.get("/favorites"), `[data-testid="notice"]`); got != "Ya no sigue a ese autor." {
		t.Errorf("after removing, the page says %q", got)
	}

	r = c.get("/opac/follow?author=" + url.QueryEscape("Octavia E. Butler"))
	if got := text(t, r, `[data-testid="follow-confirm"]`); got != "Seguir a Octavia E. Butler" {
		t.Errorf("the follow page's button says %q", got)
	}

	r = c.get("/mailing-lists")
	if lang := pageLang(t, r); lang != "es" || text(t, r, "h1") != "Listas de correo" {
		t.Fatalf("/mailing-lists: lang=%q, h1 %q", lang, text(t, r, "h1"))
	}
	if got := text(t, r, `[data-testid="list-events"] h2`); got != "Library events" {
		t.Errorf("a list's name is the library's, as written: %q", got)
	}
	if label, _ := r.doc(t).Find(`[data-testid="list-events"] [data-testid="subscribe"]`).Attr("aria-label"); label != "Suscribirse a Library events" {
		t.Errorf("subscribe button's label %q", label)
	}
	c.post("/mailing-lists/events/subscribe", url.Values{"csrf_token": {tok}})
	c.post("/mailing-lists/friends/subscribe", url.Values{"csrf_token": {tok}})
	r = c.get("/mailing-lists")
	if got, want := text(t, r, `[data-testid="unsubscribe-all-says"]`), "Esto cancela sus suscripciones a las 2 listas de correo en las que está y detiene sus correos semanales sobre sus autores y temas favoritos."; !strings.HasPrefix(got, want) {
		t.Errorf("the button's explanation says %q, want %q", got, want)
	}
	wantRedirect(t, c.post("/mailing-lists/unsubscribe-all", url.Values{"csrf_token": {tok}}), "/mailing-lists")
	if got := text(t, c.get("/mailing-lists"), `[data-testid="notice"]`); got != "Se cancelaron sus suscripciones a 2 listas de correo, y los correos sobre sus autores y temas favoritos están desactivados." {
		t.Errorf("after unsubscribing from everything the page says %q", got)
	}
}

// TestUnsubscribePagesFromASpanishEmail: the unsubscribe link of a
// Spanish patron's email opens, signed out, a Spanish page whose form and
// links keep the language; a mailing list's link with ?lang=es as well.
func TestUnsubscribePagesFromASpanishEmail(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := mailConfig(srv)
	a := onSQLite(t, cfg)
	p := a.patron(card, pin, "Rosa", "Parks")
	if err := a.store.SetLanguage(context.Background(), p.ID, "es"); err != nil {
		t.Fatal(err)
	}
	p.Language = "es"
	mailtest.NoticesOn(t, a.store, p, models.NoticeDaily)
	mailtest.Notify(t, a.store, p, "Kindred", "b1")
	run(t, deliverer(a, cfg, io.Discard))
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails", len(msgs))
	}
	e := mailtest.ParseEmail(t, msgs[0].Data)
	if got := e.Header.Get("Subject"); got != "Novedades en Test Library: 1 material nuevo de autores o sobre temas que usted sigue" {
		t.Errorf("Subject %q", got)
	}
	link := strings.Trim(e.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasSuffix(link, "?lang=es") || !strings.Contains(e.Text, link) {
		t.Fatalf("the email's unsubscribe link %q should carry lang=es, in the header and the text", link)
	}

	signedOut := a.client() // a browser with no preference: the link decides
	r := signedOut.get(strings.TrimPrefix(link, portal))
	wantStatus(t, r, http.StatusOK)
	if lang := pageLang(t, r); lang != "es" {
		t.Fatalf(`the unsubscribe page has lang=%q, want "es"`, lang)
	}
	if got := text(t, r, "h1"); got != "¿Dejar de recibir correos sobre sus autores y temas favoritos?" {
		t.Errorf("h1 %q", got)
	}
	action, _ := r.doc(t).Find("main form").Attr("action")
	if !strings.HasSuffix(action, "?lang=es") {
		t.Fatalf("the form posts to %q, which drops the language", action)
	}
	req, _ := http.NewRequest(http.MethodPost, a.server.URL+action, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = signedOut.do(req)
	wantStatus(t, r, http.StatusOK)
	if lang := pageLang(t, r); lang != "es" || text(t, r, "h1") != "No recibirá más correos sobre sus autores y temas favoritos" {
		t.Errorf("after the click: lang=%q, h1 %q", lang, text(t, r, "h1"))
	}
	if href, _ := r.doc(t).Find(`main a[href^="/favorites"]`).Attr("href"); href != "/favorites?lang=es" {
		t.Errorf("the way back to the favorites is %q, want it in Spanish", href)
	}
	if notice(t, a, p) != models.NoticeNone {
		t.Error("the Spanish page's button did not stop the emails")
	}

	// A mailing list's link, with the language.
	l := a.list("events", "Library events")
	u := "/unsubscribe/" + a.store.UnsubscribeToken(p.ID, l.ID) + "?lang=es"
	r = signedOut.get(u)
	if lang := pageLang(t, r); lang != "es" || text(t, r, "h1") != "¿Cancelar la suscripción a Library events?" {
		t.Errorf("list unsubscribe page: lang=%q, h1 %q", lang, text(t, r, "h1"))
	}
	if action, _ := r.doc(t).Find("main form").Attr("action"); !strings.HasSuffix(action, "?lang=es") {
		t.Errorf("the list's form posts to %q, which drops the language", action)
	}
}

// TestPseudoLocaleFavoritesAndLists: every word of the favorites, follow,
// mailing-list and unsubscribe pages comes from a catalog (the data on
// them is in Cyrillic).
func TestPseudoLocaleFavoritesAndLists(t *testing.T) {
	cfg := listsUXConfig()
	cfg.LibraryName = "Библиотека"
	a := onSQLite(t, cfg)
	ctx := context.Background()
	p := a.patron(card, pin, "Роза", "Паркс")
	admin := a.staff("listadmin", models.RoleAdmin)
	l, err := a.store.SaveList(ctx, admin.ID, "", models.ListForm{Slug: "events", Name: "События библиотеки",
		Description: "Новости о событиях", Frequency: "Ежемесячно", Sender: "Библиотека <news@example.org>",
		ConsentText: "Присылайте мне новости."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.SaveList(ctx, admin.ID, "", models.ListForm{Slug: "friends", Name: "Друзья библиотеки",
		Description: "Новости друзей", Frequency: "Ежемесячно", Sender: "Библиотека <friends@example.org>",
		ConsentText: "Присылайте мне новости друзей."}); err != nil {
		t.Fatal(err)
	}
	c := a.client().inPseudo()
	c.signIn(card, pin)

	check := func(path string) { checkPseudo(t, c, path) }
	check("/favorites") // not linked
	check("/opac/follow?author=" + url.QueryEscape("Октавия Батлер"))

	weeklyNotices(t, a, p.ID)
	act := models.Actor{Channel: models.ChannelWeb, TextVersion: models.FavoritesConsentVersion}
	if _, _, err := a.store.AddFavorite(ctx, p.ID, models.FavoriteAuthor, "Октавия Батлер", act); err != nil {
		t.Fatal(err)
	}
	mailtest.Notify(t, a.store, p, "Родня", "b1")
	tok := c.csrf("/mailing-lists")
	c.post("/mailing-lists/events/subscribe", url.Values{"csrf_token": {tok}})
	c.get("/data") // shows the subscription's message (web/server.go's)
	check("/favorites")
	check("/favorites/unlink")
	check("/opac/follow?author=" + url.QueryEscape("Октавия Батлер"))
	check("/mailing-lists")
	check("/unsubscribe/" + a.store.UnsubscribeToken(p.ID, l.ID))
	check("/unsubscribe/notices/" + a.store.NoticeToken(p.ID))

	// The administrators' list pages: English only for now, but
	// through the stafflists catalog.
	sc := a.client().inPseudo()
	sc.staffSignIn("listadmin", staffPassword)
	for _, path := range []string{"/staff/lists", "/staff/lists/new", "/staff/lists/events"} {
		checkPseudo(t, sc, path, "Listadmin Staffer", "events", "friends") // data: a name, the slugs
	}
}

// checkPseudo gets path in the pseudo-locale (the client's inPseudo) and
// fails on words that did not come from a catalog, except the layout's sign-out time (its clock) and the
// confirmation page's cancel link, which are not these pages' words.
func checkPseudo(t *testing.T, c *client, path string, allow ...string) {
	t.Helper()
	r := c.get(path)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", path, r.StatusCode)
	}
	if got := untranslated(t, r.body, append(allow, "PM")...); len(got) != 0 {
		t.Errorf("%s has text that did not come from a catalog:\n%s", path, strings.Join(got, "\n"))
	}
}

// TestFavoritesConsentTextIsTheVersionedOne: the consent a patron ticks is
// the text whose version the ledger records; the catalog's English is
// that text, so that changing one without the other (and the version)
// fails here.
func TestFavoritesConsentTextIsTheVersionedOne(t *testing.T) {
	if got := i18n.For(i18n.English).S("favorites.consent"); got != models.FavoritesConsentText {
		t.Errorf("favorites.consent is\n%q\nbut models.FavoritesConsentText (%s) is\n%q", got, models.FavoritesConsentVersion, models.FavoritesConsentText)
	}
}
