package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/views/i18n"
)

// spanishPolicy is a library's own Spanish version of its policy.
const spanishPolicy = `Política de privacidad de la Biblioteca

Lo que recopilamos

La biblioteca guarda su nombre, su dirección y los materiales que tiene en préstamo. Este portal usa cookies para mantener su sesión iniciada.

Sus derechos

- Puede pedir una copia de su registro.
- Puede pedir que corrijamos un error.
`

func docLang(t *testing.T, doc *goquery.Document, want string) {
	t.Helper()
	if got, _ := doc.Find("html").Attr("lang"); got != want {
		t.Fatalf(`<html lang=%q>, want %q`, got, want)
	}
}

func wantText(t *testing.T, doc *goquery.Document, sel, want string) {
	t.Helper()
	if got := squash(doc.Find(sel).Text()); !strings.Contains(got, want) {
		t.Fatalf("%s reads %q, want it to say %q", sel, got, want)
	}
}

// TestPublicPagesInSpanish: a browser that prefers Spanish reads the
// start page, the policy (in English, marked as such and said so, when the
// library has no Spanish version), the sign-in page with its errors next
// to the fields, and an error page, in Spanish, from the first request.
func TestPublicPagesInSpanish(t *testing.T) {
	a := onSQLite(t, demoConfig())
	a.patron(card, pin, "Rosa", "Parks")
	c := a.client().inSpanish()

	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	doc := home.doc(t)
	docLang(t, doc, "es")
	wantText(t, doc, "h1", "Su registro de la biblioteca, a la vista")
	wantText(t, doc, `[data-testid="sign-in-link"]`, "Inicie sesión con su tarjeta de la biblioteca")
	wantText(t, doc, ".promises", "Sus registros solo se entregan a las autoridades con una orden judicial")
	if got := home.Header.Get("Content-Language"); got != "es" {
		t.Fatalf("Content-Language %q, want es", got)
	}

	policy := c.get("/policy").doc(t)
	docLang(t, policy, "es")
	wantText(t, policy, "h1", "Política de privacidad")
	wantText(t, policy, `[data-testid="policy-english-only"]`, "La política de privacidad de la biblioteca solo está disponible en inglés.")
	texts := policy.Find(`[data-testid="library-text"]`)
	if texts.Length() == 0 {
		t.Fatal("no library text on the policy page")
	}
	texts.Each(func(_ int, s *goquery.Selection) {
		if l, _ := s.Attr("lang"); l != "en" {
			t.Fatalf(`the library's English text is marked lang=%q, want "en"`, l)
		}
	})
	if l, _ := policy.Find(`[data-testid="policy-toc"] ol`).First().Attr("lang"); l != "en" {
		t.Fatalf(`the contents list the English headings with lang=%q, want "en"`, l)
	}
	wantText(t, policy, `aside[data-testid="portal-note"]`, "Sobre este portal: este portal no guarda su dirección IP")
	wantText(t, policy, `aside[data-testid="portal-note"]`, "después de 15 minutos sin uso y de 8 horas como máximo")

	login := c.get("/login?next=%2Ffavorites").doc(t)
	docLang(t, login, "es")
	wantText(t, login, `[data-testid="signin-purpose"]`, "Inicie sesión para ver sus autores y temas favoritos")
	wantText(t, login, `label[for="card"]`, "Número de la tarjeta de la biblioteca")
	wantText(t, login, `button[type="submit"].button`, "Iniciar sesión")

	bad := c.post("/login", url.Values{"card": {""}, "pin": {""}, "csrf_token": {c.csrf("/login")}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	doc = bad.doc(t)
	docLang(t, doc, "es")
	wantText(t, doc, "title", "Error: Iniciar sesión")
	wantText(t, doc, `[data-testid="form-error"]`, "Por favor, revise el formulario:")
	wantText(t, doc, `[data-testid="card-error"]`, "Escriba el número de su tarjeta de la biblioteca.")
	wantText(t, doc, `[data-testid="pin-error"]`, "Escriba su PIN.")

	wrong := c.post("/login", url.Values{"card": {card}, "pin": {"0000"}, "csrf_token": {c.csrf("/login")}})
	wantStatus(t, wrong, http.StatusUnauthorized)
	wantText(t, wrong.doc(t), `[data-testid="form-error"]`, "Ese número de tarjeta y ese PIN no coinciden con nuestros registros.")

	ended := c.get("/login?next=%2Fdata&ended=idle&form=1").doc(t)
	wantText(t, ended, `[data-testid="session-ended"]`,
		"Se cerró su sesión después de 15 minutos sin actividad; no se cambió nada. Inicie sesión para volver a la página en la que estaba.")

	missing := c.get("/no-such-page")
	wantStatus(t, missing, http.StatusNotFound)
	doc = missing.doc(t)
	docLang(t, doc, "es")
	wantText(t, doc, "h1", "No encontramos esa página")
	wantText(t, doc, ".error-code", "Error 404")
	wantText(t, doc, `[data-testid="error-page"] a`, "Ir a la página de inicio")
	refused := c.post("/mailing-lists", url.Values{"list": {"1"}})
	wantStatus(t, refused, http.StatusForbidden)
	wantText(t, refused.doc(t), "h1", "Esa acción no se permitió")
	req, _ := http.NewRequest(http.MethodPost, a.server.URL+"/login", strings.NewReader("card="+strings.Repeat("1", 2<<20)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tooBig := c.do(req)
	wantStatus(t, tooBig, http.StatusRequestEntityTooLarge)
	doc = tooBig.doc(t)
	docLang(t, doc, "es")
	wantText(t, doc, "h1", "Eso es más de lo que podemos aceptar")
	if got := a.cookies.all(); len(got) != 0 {
		t.Fatalf("reading public pages in Spanish set a cookie: %q", got)
	}
}

// TestSpanishPolicyFromLibrary: with CARREL_POLICY_FILE_ES the Spanish
// page shows the library's Spanish text, as the page's own language, with
// the portal's notes in Spanish; English readers still get the English
// text.
func TestSpanishPolicyFromLibrary(t *testing.T) {
	cfg := demoConfig()
	cfg.PolicyES = spanishPolicy
	a := onSQLite(t, cfg)

	es := a.client().inSpanish().get("/policy").doc(t)
	docLang(t, es, "es")
	if es.Find(`[data-testid="policy-english-only"]`).Length() != 0 {
		t.Fatal("the Spanish policy page says the policy is only in English, but the library gave a Spanish version")
	}
	if es.Find(`[data-testid="library-text"][lang], [data-testid="policy-toc"] [lang]`).Length() != 0 {
		t.Fatal(`the library's Spanish text is marked lang="en"`)
	}
	wantText(t, es, `[data-testid="library-text"]`, "La biblioteca guarda su nombre, su dirección y los materiales que tiene en préstamo.")
	wantText(t, es, `[data-testid="policy-toc"]`, "Lo que recopilamos")
	wantText(t, es, `[data-testid="library-text"] li`, "Puede pedir una copia de su registro.")
	wantText(t, es, `aside[data-testid="portal-note"]`, "Sobre este portal: este portal usa una sola cookie, y solo cuando usted inicia sesión.")
	if strings.Contains(es.Text(), "Privacy") {
		t.Fatal("the Spanish policy page shows the English policy too")
	}

	en := a.client().get("/policy").doc(t)
	docLang(t, en, "en")
	if strings.Contains(en.Text(), "Lo que recopilamos") {
		t.Fatal("the English policy page shows the Spanish version")
	}
	wantText(t, en, `aside[data-testid="portal-note"]`, "About this portal: this portal does not store your IP address")
}

// TestLanguageChosenBeforeSignIn: an English browser that picks Español
// on the start page reads Spanish without a cookie, its links and forms
// carry the choice, and the sign-in form posted with it signs in in
// Spanish, the choice kept on the patron's record; signing out keeps
// Spanish in the address.
func TestLanguageChosenBeforeSignIn(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client()

		home := c.get("/?lang=es").doc(t)
		docLang(t, home, "es")
		if href, _ := home.Find(`[data-testid="sign-in-link"]`).Attr("href"); href != "/login?lang=es" {
			t.Fatalf("the sign-in link is %q, want it to carry lang=es", href)
		}
		if href, _ := home.Find(`.site-footer a`).Last().Attr("href"); href != "/policy?lang=es" {
			t.Fatalf("the footer's policy link is %q, want it to carry lang=es", href)
		}
		if got := squash(c.get("/policy?lang=es").doc(t).Find("h1").Text()); got != "Política de privacidad" {
			t.Fatalf("the policy page in Spanish is headed %q", got)
		}
		nf := c.get("/nowhere?lang=es").doc(t)
		if href, _ := nf.Find(`[data-testid="error-page"] a`).Attr("href"); href != "/?lang=es" {
			t.Fatalf("the error page leads to %q, want it to carry lang=es", href)
		}

		login := c.get("/login?lang=es").doc(t)
		docLang(t, login, "es")
		form := login.Find(`form[action="/login"]`)
		if v, _ := form.Find(`input[name="lang"]`).Attr("value"); v != "es" {
			t.Fatalf("the sign-in form carries lang=%q, want es", v)
		}
		if got := a.cookies.all(); len(got) != 0 {
			t.Fatalf("choosing a language before sign-in set a cookie: %q", got)
		}
		tok, _ := form.Find(`input[name="csrf_token"]`).Attr("value")

		// A mistake first: the form comes back in Spanish, still carrying it.
		again := c.post("/login", url.Values{"card": {"12"}, "pin": {pin}, "csrf_token": {tok}, "lang": {"es"}})
		wantStatus(t, again, http.StatusUnprocessableEntity)
		doc := again.doc(t)
		docLang(t, doc, "es")
		wantText(t, doc, `[data-testid="card-error"]`, "tiene de 5 a 20 dígitos, sin letras")
		if v, _ := doc.Find(`form[action="/login"] input[name="lang"]`).Attr("value"); v != "es" {
			t.Fatalf("the sign-in form shown again carries lang=%q, want es", v)
		}

		wantRedirect(t, c.post("/login", url.Values{"card": {card}, "pin": {pin}, "csrf_token": {tok}, "lang": {"es"}}), "/data")
		data := c.get("/data")
		wantStatus(t, data, http.StatusOK)
		docLang(t, data.doc(t), "es")
		if got := a.cookies.all(); len(got) != 1 {
			t.Fatalf("signing in should set the one session cookie, got %q", got)
		}
		stored, err := a.store.Patron(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Language != "es" {
			t.Fatalf("the patron's language is %q after signing in in Spanish, want es", stored.Language)
		}

		tok = data.doc(t).Find(`input[name="csrf_token"]`).First().AttrOr("value", "")
		out := c.post("/logout", url.Values{"csrf_token": {tok}})
		wantRedirect(t, out, "/login?signed_out=1&lang=es")
		bye := c.get("/login?signed_out=1&lang=es").doc(t)
		wantText(t, bye, `[data-testid="signed-out"]`, "Cerró la sesión.")
	})
}

// TestPublicPagesInPseudoLocale: every word of the public pages, the
// sign-in page with its errors and messages, and an error page comes from
// a catalog (a message missing from them shows as ⟦id⟧, which untranslated
// reports too).
func TestPublicPagesInPseudoLocale(t *testing.T) {
	cfg := demoConfig()
	cfg.LibraryName = "Библиотека"
	cfg.PolicyVersion = "2026-01"
	a := onSQLite(t, cfg)
	c := a.client().inPseudo()
	pages := map[string]response{}
	for _, path := range []string{
		"/", "/policy", "/login", "/login?signed_out=1",
		"/login?next=%2Fdata&ended=idle&form=1", "/login?ended=ended", "/login?ended=limit",
		"/login?next=" + url.QueryEscape("/opac/follow?author=Октавия Батлер"),
		"/login?next=%2Fdata%2Freading-history", "/no-such-page",
	} {
		pages[path] = c.get(path)
	}
	pages["POST /login (empty)"] = c.post("/login", url.Values{"csrf_token": {c.csrf("/login")}})
	pages["POST /login (wrong)"] = c.post("/login", url.Values{"card": {"21000000000000"}, "pin": {"9999"}, "csrf_token": {c.csrf("/login")}})
	pages["POST /login (expired form)"] = c.post("/login", url.Values{"card": {"21000000000000"}, "pin": {"9999"}, "csrf_token": {"stale"}})
	for name, r := range pages {
		if got, _ := r.doc(t).Find("html").Attr("lang"); got != i18n.Pseudo {
			t.Errorf("%s: <html lang=%q>", name, got)
		}
		if words := untranslated(t, r.body); len(words) > 0 {
			t.Errorf("%s: words not from a catalog:\n%s", name, strings.Join(words, "\n"))
		}
	}
}
