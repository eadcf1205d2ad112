package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
)

// refusedLinks are catalog links an attacker with an API key (or a staff
// account) could use to put a phishing link into the library's emails.
// Only the catalog registered at https://catalog.library.example (and,
// in the API test, https://shelf.example.net of the setting) is accepted.
var refusedLinks = []struct{ name, link string }{
	{"plain http on the catalog", "http://catalog.library.example/record/1"},
	{"another host", "https://evil.example/record/1"},
	{"a lookalike host ending in the catalog's", "https://catalog.library.example.evil.example/record/1"},
	{"a lookalike host with a hyphen", "https://catalog-library.example/record/1"},
	{"a subdomain of the catalog", "https://www.catalog.library.example/record/1"},
	{"userinfo naming the catalog", "https://catalog.library.example@evil.example/record/1"},
	{"userinfo with a password", "https://catalog.library.example:443@evil.example/record/1"},
	{"a backslash before an at", `https://evil.example\@catalog.library.example/record/1`},
	{"another port", "https://catalog.library.example:8443/record/1"},
	{"no scheme", "//evil.example/record/1"},
	{"javascript", "javascript:alert(1)"},
}

// registerCatalog registers the library's catalog, whose origin is the
// one arrival links may point at.
func registerCatalog(t *testing.T, a *app) {
	t.Helper()
	if _, _, err := a.store.AddOPAC(context.Background(), "koha", "https://catalog.library.example"); err != nil {
		t.Fatal(err)
	}
}

// TestArrivalLinksOnlyToTheCatalogThroughTheAPI: each refused link, sent
// beside a good item, refuses the batch with a 422 naming the item and
// its catalog_url; nothing of the batch is stored. A link on the catalog
// is accepted.
func TestArrivalLinksOnlyToTheCatalogThroughTheAPI(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		_, token, err := a.store.AddAPIKey(context.Background(), "ils")
		if err != nil {
			t.Fatal(err)
		}
		ils := a.client()
		// With no catalog registered and no origin set, no link is
		// accepted, and the answer says how to set one up.
		a.store.ArrivalLinkOrigins = nil
		r := ils.api(token, "application/json", `{"title": "Fine", "date": "2026-11-21", "catalog_url": "https://catalog.library.example/record/good"}`)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := decodeAnswer(t, r); len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Message, "carrel opac add") ||
			!strings.Contains(got.Errors[0].Message, "CARREL_ARRIVAL_LINK_ORIGINS") {
			t.Fatalf("no catalog set up: %+v", got.Errors)
		}
		// The registered catalog, and an origin of the setting.
		registerCatalog(t, a)
		a.store.ArrivalLinkOrigins = []string{"https://shelf.example.net"}
		for _, tc := range refusedLinks {
			t.Run(tc.name, func(t *testing.T) {
				body := fmt.Sprintf(`{"items": [
					{"title": "Fine", "date": "2026-11-21", "catalog_url": "https://catalog.library.example/record/good"},
					{"title": "Bait", "date": "2026-11-21", "catalog_url": %q}]}`, tc.link)
				r := ils.api(token, "application/json", body)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				got := decodeAnswer(t, r)
				if len(got.Errors) != 1 || got.Errors[0].Index != 1 || got.Errors[0].Field != "catalog_url" || got.Errors[0].Message == "" {
					t.Fatalf("want one error naming item 1's catalog_url, got %+v", got.Errors)
				}
				if strings.Contains(got.Errors[0].Message, "evil") {
					t.Errorf("the message repeats the attacker's link: %q", got.Errors[0].Message)
				}
				if n := rowsIn(t, a, "arrivals"); n != 0 {
					t.Fatalf("%d arrivals stored from a refused batch", n)
				}
				// The same link in a CSV body names its line.
				r = ils.api(token, "text/csv", "title,date,catalog_url\nFine,2026-11-21,https://catalog.library.example/record/good\n"+
					"Bait,2026-11-21,\""+strings.ReplaceAll(tc.link, `"`, `""`)+"\"\n")
				wantStatus(t, r, http.StatusUnprocessableEntity)
				got = decodeAnswer(t, r)
				if len(got.Errors) != 1 || got.Errors[0].Line != 3 || got.Errors[0].Field != "catalog_url" {
					t.Fatalf("want one error naming line 3's catalog_url, got %+v", got.Errors)
				}
				if n := rowsIn(t, a, "arrivals"); n != 0 {
					t.Fatalf("%d arrivals stored from a refused CSV batch", n)
				}
			})
		}
		r = ils.api(token, "application/json", `{"items": [
			{"title": "Fine", "date": "2026-11-21", "catalog_url": "https://catalog.library.example/record/good"},
			{"title": "Also fine", "date": "2026-11-21", "catalog_url": "https://CATALOG.library.example:443/record/also"},
			{"title": "From the setting", "date": "2026-11-21", "catalog_url": "https://shelf.example.net/item/3"}]}`)
		wantStatus(t, r, http.StatusCreated)
		if got := decodeAnswer(t, r); got.Created != 3 {
			t.Fatalf("links on the catalog: %+v", got)
		}
	})
}

// TestArrivalLinksOnlyToTheCatalogInTheStaffUpload: a file with refused
// links shows every bad line next to the file field, and stores nothing.
func TestArrivalLinksOnlyToTheCatalogInTheStaffUpload(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		registerCatalog(t, a)
		a.store.ArrivalLinkOrigins = nil // the registered catalog alone
		a.staff("cat", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("cat", staffPassword)
		tok := c.csrf("/staff/arrivals")
		file := "title,date,catalog_url\nFine,2026-11-21,https://catalog.library.example/record/good\n"
		for i, tc := range refusedLinks {
			file += fmt.Sprintf("Bait %d,2026-11-21,\"%s\"\n", i, strings.ReplaceAll(tc.link, `"`, `""`))
		}
		r := c.upload("/staff/arrivals", tok, "arrivals.csv", file)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		var lines []string
		r.doc(t).Find(`[data-testid="file-error"] [data-testid="problem"]`).Each(func(_ int, s *goquery.Selection) { lines = append(lines, s.Text()) })
		if len(lines) != len(refusedLinks) {
			t.Fatalf("want %d problems next to the file field, got %q", len(refusedLinks), lines)
		}
		for i, l := range lines {
			if want := fmt.Sprintf("Line %d, catalog_url: ", i+3); !strings.HasPrefix(l, want) {
				t.Errorf("problem %q, want it to start %q (%s)", l, want, refusedLinks[i].name)
			}
		}
		if n := rowsIn(t, a, "arrivals"); n != 0 {
			t.Fatalf("%d arrivals stored from a refused file", n)
		}
		r = c.upload("/staff/arrivals", tok, "arrivals.csv", "title,date,catalog_url\nFine,2026-11-21,https://catalog.library.example/record/good\n")
		wantRedirect(t, r, "/staff/arrivals")
		if n := rowsIn(t, a, "arrivals"); n != 1 {
			t.Fatalf("%d arrivals stored from a good file, want 1", n)
		}
	})
}
