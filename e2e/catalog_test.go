package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// catalogOrigin is the made-up catalog the hand-off journey registers. The
// browser must never send it a request: nothing answers there, and the
// origin audit fails on any request to it.
const catalogOrigin = "https://catalog.example.org"

// TestCatalogHandoffJourney: a catalog registered with `carrel opac add`
// hands the demo patron over with a link minted by `carrel opac mint`: they
// land on their favorites, signed in, told it was from the catalog, with a
// way back that the test does not follow. The same link a second time gets
// the sign-in form (401).
func TestCatalogHandoffJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)

		added := p.carrel(t, "opac", "add", "--id", "koha", "--origin", catalogOrigin)
		if !regexp.MustCompile(`(?m)^\s*kid:\s+koha-\S+$`).MatchString(added) ||
			!regexp.MustCompile(`(?m)^\s*secret:\s+\S{20,}$`).MatchString(added) {
			t.Errorf("carrel opac add: want a kid and a secret, got:\n%s", added)
		}
		minted := strings.TrimSpace(p.carrel(t, "opac", "mint", "--id", "koha", "--card", alex.Card,
			"--to", "/favorites", "--return", catalogOrigin+"/x"))
		u, err := url.Parse(minted)
		if err != nil || u.Path != "/opac/handoff" || u.Query().Get("token") == "" {
			t.Fatalf("carrel opac mint: want a /opac/handoff?token=… link, got %q", minted)
		}
		if strings.Contains(minted, alex.Card) {
			t.Errorf("carrel opac mint: the link shows the card number in clear: %q", minted)
		}
		link := p.local(t, minted)

		tb := b.newTab(t, p, "catalog-handoff")
		fav := tb.visit(link, "handoff-favorites")
		wantPage(t, fav, http.StatusOK, "/favorites", "Favorite authors and subjects")
		tb.wantElement(fav, `[data-testid="catalog-welcome"]`, "Signed in from the catalog as "+alex.Short)
		tb.wantBackToCatalog(fav)
		if tb.sessionCookie() == "" {
			t.Errorf("after the hand-off the browser holds no %s cookie", sessionCookie)
		}
		// The way back stays on the next page; the welcome does not.
		data := tb.open("/data", "handoff-data")
		wantPage(t, data, http.StatusOK, "/data", "What we hold about you")
		tb.wantBackToCatalog(data)
		tb.wantNoElement(data, `[data-testid="catalog-welcome"]`, "the welcome is shown once")

		// The same link again, from another browser: single use.
		replay := b.newTab(t, p, "handoff-replay")
		again := replay.visit(link, "handoff-replayed")
		wantPage(t, again, http.StatusUnauthorized, u.RequestURI(), "Sign in")
		replay.wantElement(again, selFormError, "did not work")
		replay.wantNoIdentifiers(again, alex, "a replayed hand-off signs nobody in")
		if replay.has(`[data-testid="signed-in"]`) {
			t.Errorf("a replayed hand-off link signed someone in")
		}
	})
}

// wantBackToCatalog checks the "Back to the catalog" link (without
// following it: it leads to another origin).
func (tb *tab) wantBackToCatalog(st *pageState) {
	tb.t.Helper()
	if href := tb.attr(`[data-testid="back-to-catalog"]`, "href"); href != catalogOrigin+"/x" {
		tb.t.Errorf("%s: want a Back to the catalog link to %s/x, got %q", st.Path(), catalogOrigin, href)
	}
	tb.wantElement(st, `[data-testid="back-to-catalog"]`, "Back to the catalog")
}
