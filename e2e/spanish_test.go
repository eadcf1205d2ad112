package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// spanishBrowser is the Accept-Language of a browser set up in Spanish,
// as a patron's phone in Spanish sends it.
const spanishBrowser = "es-US,es;q=0.9,en;q=0.5"

// preferSpanish makes the tab's browser ask for Spanish on every request,
// as a browser whose language is Spanish does.
func (tb *tab) preferSpanish() {
	tb.t.Helper()
	do(tb, "ask for Spanish (Accept-Language)", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": spanishBrowser}})
		return err
	}))
}

// wantLang fails unless the page the tab shows declares lang on <html>.
func (tb *tab) wantLang(st *pageState, lang string) {
	tb.t.Helper()
	if got := tb.attr("html", "lang"); got != lang {
		tb.t.Errorf("%s: <html lang=%q>, want %q", st.Path(), got, lang)
	}
}

// TestSpanishJourney: a patron whose browser is in Spanish reads every
// page in Spanish from the landing page on, with lang="es" (screen readers
// then speak Spanish), signs in, reads what the library holds, their
// reading history, favorites and mailing lists, tries the switch to
// English and back with no second cookie, and signs out; each page passes
// the audits (axe-core at 1280 and 390 px, no sideways scrolling, one
// cookie). The words asserted are the layout's, whose catalog is final;
// the rest is checked by data-testid and lang.
func TestSpanishJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		tb := b.newTab(t, startPortal(t, db), "spanish")
		tb.preferSpanish()

		home := tb.open("/", "home")
		wantPage(t, home, http.StatusOK, "/", "")
		tb.wantLang(home, "es")
		tb.wantElement(home, `[data-testid="language-switch"]`, "English")
		tb.wantElement(home, `footer`, "Este portal usa una sola cookie")
		if tb.attr(`[data-testid="switch-en"]`, "lang") != "en" {
			t.Error(`the switch's "English" must be marked lang="en", so that it is read in English`)
		}

		// The switch before sign-in is a link: English for this page, with
		// no cookie, and back.
		en := tb.click(`[data-testid="switch-en"]`, "home-en")
		wantPage(t, en, http.StatusOK, "/?lang=en", "")
		tb.wantLang(en, "en")
		es := tb.click(`[data-testid="switch-es"]`, "home-es")
		wantPage(t, es, http.StatusOK, "/?lang=es", "")
		tb.wantLang(es, "es")
		if jar := tb.cookies(); len(jar) != 0 {
			t.Errorf("the switch before sign-in set %d cookie(s); the choice travels in the address", len(jar))
		}

		login := tb.open("/login", "login")
		wantPage(t, login, http.StatusOK, "/login", "")
		tb.wantLang(login, "es")
		tb.wantLabelledFields(false)
		data := tb.signIn(alex, "data")
		wantPage(t, data, http.StatusOK, "/data", "")
		tb.wantLang(data, "es")
		wantText(t, data, alex.Short)
		tb.wantElement(data, `[data-testid="signed-in"]`, "Cerrar sesión")
		tb.wantElement(data, `nav.site-nav`, "Lo que guardamos", "Favoritos", "Listas de correo")
		if got := tb.attr(`nav.site-nav`, "aria-label"); got != "Principal" {
			t.Errorf("the main navigation is labelled %q for a screen reader, want Principal", got)
		}
		tb.wantElement(data, `[data-testid="overview"]`)
		cookie := tb.sessionCookie()
		if cookie == "" {
			t.Fatalf("signed in, but the browser holds no %s cookie", sessionCookie)
		}

		history := tb.open("/data/reading-history", "reading-history")
		wantPage(t, history, http.StatusOK, "/data/reading-history", "")
		tb.wantLang(history, "es")
		tb.wantElement(history, selRecords)
		tb.wantElement(history, `[data-testid="history-search"]`)

		favorites := tb.follow("favorites", chromedp.Click(chromedp.CSS(`nav a[href="/favorites"]`)))
		wantPage(t, favorites, http.StatusOK, "/favorites", "")
		tb.wantLang(favorites, "es")
		tb.wantElement(favorites, `[data-testid="favorites"]`)

		lists := tb.follow("mailing-lists", chromedp.Click(chromedp.CSS(`nav a[href="/mailing-lists"]`)))
		wantPage(t, lists, http.StatusOK, "/mailing-lists", "")
		tb.wantLang(lists, "es")
		tb.wantElement(lists, `[data-testid="lists"]`)

		// After sign-in the switch posts to the session: same page, in
		// English, and the same one cookie.
		inEnglish := tb.click(`[data-testid="switch-en"]`, "mailing-lists-en")
		wantPage(t, inEnglish, http.StatusOK, "/mailing-lists", "")
		tb.wantLang(inEnglish, "en")
		tb.wantElement(inEnglish, `[data-testid="signed-in"]`, "Sign out")
		overview := tb.open("/data", "data-en")
		tb.wantLang(overview, "en")
		back := tb.click(`[data-testid="switch-es"]`, "data-es")
		wantPage(t, back, http.StatusOK, "/data", "")
		tb.wantLang(back, "es")
		if jar := tb.cookies(); len(jar) != 1 || tb.sessionCookie() != cookie {
			var names []string
			for _, c := range jar {
				names = append(names, c.Name)
			}
			t.Errorf("after the switch the browser holds %q: want the one session cookie, unchanged", names)
		}

		out := tb.follow("signed-out", chromedp.Click(chromedp.CSS(selSignOutBtn)))
		// The session's language outlives it in the address of the
		// signed-out page (there is no cookie left to keep it).
		wantPage(t, out, http.StatusOK, "/login?signed_out=1&lang=es", "")
		tb.wantLang(out, "es")
		tb.wantVisible(selSignedOut)
		tb.wantNoPatronData(out, alex)
		if tb.has(`[data-testid="signed-in"]`) {
			t.Error("the signed-out page still shows someone signed in")
		}
	})
}
