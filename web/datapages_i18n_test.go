package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
)

// TestDataPagesSpeakSpanish: a patron whose browser prefers Spanish turns
// reading history off and on and reads what happened in Spanish, reads a
// bad date's error in Spanish beside its field, and a hold's status, the
// print page and the sign-out of other sessions in Spanish.
func TestDataPagesSpeakSpanish(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := historyPatron(t, a, "21000000000901", 3)
		ready := testNow.AddDate(0, 0, 5)
		if err := a.store.DB.Create(&models.Hold{PatronID: p.ID, Title: "Parentesco", Author: "Octavia E. Butler",
			PickupBranch: "Central", Status: models.HoldReady, PlacedAt: testNow.AddDate(0, 0, -3), ReadyUntil: &ready}).Error; err != nil {
			t.Fatal(err)
		}
		c := a.client().inSpanish()
		c.signIn(p.CardNumber, "1234")

		d := c.get("/data").doc(t)
		if lang, _ := d.Find("html").Attr("lang"); lang != "es" {
			t.Errorf(`the overview is <html lang="%s">, want es`, lang)
		}
		if got := d.Find("title").Text(); !strings.HasPrefix(got, "Lo que guardamos sobre usted") {
			t.Errorf("overview title %q", got)
		}
		if got := c.get("/data/holds").body; !strings.Contains(got, "Lista para recoger hasta el 2 de diciembre de 2026") {
			t.Error("the hold's status is not in Spanish")
		}

		// The search's dates, wrong: the error beside its field, in Spanish.
		r := c.get("/data/reading-history?from=2026-02-30")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		d = r.doc(t)
		if got := shownText(d, `[data-testid="from-error"]`); got != "Escriba la fecha inicial como año, mes y día; por ejemplo, 2026-03-14." {
			t.Errorf("a bad first date: %q", got)
		}
		d = c.get("/data/reading-history?from=2026-03-14&to=2026-03-01").doc(t)
		if got := shownText(d, `[data-testid="to-error"]`); got != "La fecha final debe ser igual o posterior a la fecha inicial." {
			t.Errorf("the last date before the first: %q", got)
		}

		confirm := c.get("/data/reading-history/off").doc(t)
		if got := shownText(confirm, `[data-testid="confirm-warning"]`); got != "Se borrarán para siempre los 3 materiales de su historial de lectura. Esto no se puede deshacer." {
			t.Errorf("confirmation warns %q", got)
		}
		if got := confirm.Find("title").Text(); !strings.HasPrefix(got, "Desactivar el historial de lectura") {
			t.Errorf("confirmation title %q", got)
		}
		tok := c.csrf("/data/reading-history")
		wantRedirect(t, c.post("/data/reading-history/off", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}), "/data/reading-history")
		d = c.get("/data/reading-history").doc(t)
		if got := shownText(d, `[data-testid="notice"]`); got != "El historial de lectura está desactivado. Se borraron 3 materiales." {
			t.Errorf("after turning it off: %q", got)
		}
		if got := shownText(d, `[data-testid="empty"]`); !strings.HasPrefix(got, "El historial de lectura está desactivado, así que no se guarda nada") {
			t.Errorf("the empty history says %q", got)
		}
		wantRedirect(t, c.post("/data/reading-history/on", url.Values{"csrf_token": {tok}}), "/data/reading-history")
		if got := shownText(c.get("/data/reading-history").doc(t), `[data-testid="notice"]`); got != "El historial de lectura está activado. Los materiales que devuelva a partir de ahora se guardarán aquí." {
			t.Errorf("after turning it on: %q", got)
		}

		if got := c.get("/data/print").doc(t).Find("title").Text(); !strings.HasPrefix(got, "Su registro en la biblioteca") {
			t.Errorf("print title %q", got)
		}
		// The download explains each category in the page's language;
		// its keys and values are the same in every language.
		export := c.get("/data/export.json").body
		if !strings.Contains(export, `"holds":{"title":"Reservas"`) || !strings.Contains(export, `"status":"ready"`) {
			t.Errorf("the Spanish download: %s", excerpt(export))
		}

		phone := a.client()
		phone.signIn(p.CardNumber, "1234")
		wantRedirect(t, c.post("/data/sessions/end-others", url.Values{"csrf_token": {c.csrf("/data/sessions")}}), "/data/sessions")
		if got := shownText(c.get("/data/sessions").doc(t), `[data-testid="notice"]`); got != "Se cerró su otra sesión." {
			t.Errorf("after signing out the other session: %q", got)
		}
	})
}

// TestDataPagesWordsComeFromCatalogs renders the words web/data.go writes
// (notices, errors, confirmations, titles) in the pseudo-locale: none may
// be plain English. (The pages' own text is the views' and the categories'
// words the models'; each has its own test.)
func TestDataPagesWordsComeFromCatalogs(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := historyPatron(t, a, "21000000000902", 3)
		c := a.client().inPseudo()
		c.signIn(p.CardNumber, "1234")
		// Every address names the pseudo-locale too, as a link chosen
		// before sign-in would.
		in := func(path string) string {
			if strings.Contains(path, "?") {
				return path + "&lang=en-XA"
			}
			return path + "?lang=en-XA"
		}
		check := func(what string, d *goquery.Document, sels ...string) {
			t.Helper()
			for _, sel := range sels {
				s := d.Find(sel)
				if s.Length() == 0 {
					t.Errorf("%s: nothing matches %s", what, sel)
					continue
				}
				html, _ := goquery.OuterHtml(s)
				if got := untranslated(t, `<html lang="en-XA"><body>`+html+`</body></html>`); len(got) > 0 {
					t.Errorf("%s, %s: not from a catalog: %v", what, sel, got)
				}
			}
		}
		// The page's own name, before the layout's words and the library's.
		title := func(what string, d *goquery.Document) {
			t.Helper()
			page, _, _ := strings.Cut(d.Find("title").Text(), " · ")
			if got := untranslated(t, `<html lang="en-XA"><body><p>`+page+`</p></body></html>`); len(got) > 0 {
				t.Errorf("%s title: %v", what, got)
			}
		}
		r := c.get(in("/data/reading-history?from=2026-02-30&to=x"))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		check("bad dates", r.doc(t), `[data-testid="from-error"]`, `[data-testid="to-error"]`)
		title("overview", c.get(in("/data")).doc(t))
		d := c.get(in("/data/reading-history/off")).doc(t)
		check("turning history off", d, `[data-testid="confirm-warning"]`)
		title("turning history off", d)
		tok := c.csrf(in("/data/reading-history"))
		c.post(in("/data/reading-history/off"), url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
		check("after turning it off", c.get(in("/data/reading-history")).doc(t), `[data-testid="notice"]`, `[data-testid="empty"]`)
		c.post(in("/data/reading-history/on"), url.Values{"csrf_token": {tok}})
		check("after turning it on", c.get(in("/data/reading-history")).doc(t), `[data-testid="notice"]`)
		title("print", c.get(in("/data/print")).doc(t))
	})
}
