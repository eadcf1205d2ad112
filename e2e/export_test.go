package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// exportResponse is what the page's own export link answers, fetched from
// the page (same origin, with its cookie) so that nothing is rendered.
type exportResponse struct {
	Href        string `json:"href"`
	Download    bool   `json:"download"`
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Cache       string `json:"cache"`
	Body        string `json:"body"`
}

// TestExportAndSignOutJourney: the demo patron downloads everything as JSON
// through the overview's link and opens the printable view; after signing
// out, Back brings none of it back.
func TestExportAndSignOutJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		tb := b.newTab(t, startPortal(t, db), "export")
		tb.signInFresh(alex)

		// Fetch the file the "Download all of it" link points at. The
		// response never reaches the screen, so no screenshot holds it.
		res := run(tb, "fetch the export through the page's link", chromedp.Evaluate[exportResponse](`(async () => {
			const a = document.querySelector('[data-testid="export-link"]');
			if (!a) return {href: "", status: 0};
			const r = await fetch(a.href, {credentials: "same-origin"});
			return {href: a.getAttribute("href"), download: a.hasAttribute("download"), status: r.status,
				type: r.headers.get("Content-Type") || "", disposition: r.headers.get("Content-Disposition") || "",
				cache: r.headers.get("Cache-Control") || "", body: await r.text()};
		})()`, chromedp.EvalAwaitPromise))
		switch {
		case res.Href != "/data/export.json":
			t.Fatalf("/data: want a link to /data/export.json, got %q", res.Href)
		case res.Status != http.StatusOK:
			t.Fatalf("GET /data/export.json: want 200, got %d", res.Status)
		}
		if !res.Download {
			t.Errorf("/data: the export link is not a download link")
		}
		if !strings.HasPrefix(res.Type, "application/json") {
			t.Errorf("/data/export.json: Content-Type %q, want application/json", res.Type)
		}
		if !strings.HasPrefix(res.Disposition, "attachment") || !strings.Contains(res.Disposition, ".json") {
			t.Errorf("/data/export.json: Content-Disposition %q, want an attachment named *.json", res.Disposition)
		}
		if !strings.Contains(res.Cache, "no-store") {
			t.Errorf("/data/export.json: Cache-Control %q, want no-store", res.Cache)
		}
		var export struct {
			Schema        string `json:"schema"`
			SchemaVersion int    `json:"schema_version"`
			Patron        struct {
				CardNumber string `json:"card_number"`
			} `json:"patron"`
			Categories map[string]struct {
				Records []json.RawMessage `json:"records"`
			} `json:"categories"`
		}
		if err := json.Unmarshal([]byte(res.Body), &export); err != nil {
			t.Fatalf("/data/export.json is not JSON: %v (%d bytes)", err, len(res.Body))
		}
		if export.Schema != "carrel-export" || export.SchemaVersion != 1 {
			t.Errorf("/data/export.json: schema %q version %d, want carrel-export version 1", export.Schema, export.SchemaVersion)
		}
		if export.Patron.CardNumber != alex.Card {
			t.Errorf("/data/export.json: the export is of card %q, want the signed-in patron's", export.Patron.CardNumber)
		}
		if n := len(export.Categories["reading_history"].Records); n != 5000 {
			t.Errorf("/data/export.json: want 5,000 reading_history records, got %d", n)
		}
		tb.checkEvents()
		tb.checkCookies("after the export")

		printed := tb.click(`a[href="/data/print"]`, "print")
		wantPage(t, printed, http.StatusOK, "/data/print", "What Santa Monica Public Library holds about Alex Demo")
		// The reading history (200 sheets) is printed only when ticked.
		tb.wantElement(printed, `[data-testid="print-left-out"]`, "Left out: “Reading history”.")
		do(tb, "tick the reading history", chromedp.Click(chromedp.CSS(`input[name="section"][value="reading-history"]`)))
		printed = tb.click(`[data-testid="print-choose"]`, "print-with-history")
		tb.wantNoElement(printed, `[data-testid="print-left-out"]`, "every section is ticked")
		if n := eval[int](tb, `(() => {
			const h = Array.from(document.querySelectorAll("main section h2")).find(h => h.innerText.trim() === "Reading history");
			const t = h && h.parentElement.querySelector("table tbody");
			return t ? t.rows.length : -1;
		})()`); n != 5000 {
			t.Errorf("/data/print: want all 5,000 reading-history items, got %d", n)
		}

		out := tb.click(selSignOutBtn, "signed-out")
		wantPage(t, out, http.StatusOK, "/login?signed_out=1", "Sign in")
		tb.wantNoIdentifiers(out, alex, "after sign-out")

		// Back, twice: the printable view and the overview must come from
		// the server again, which sends a signed-out visitor to sign in.
		for i, want := range []string{"/data/print", "/data/print", "/data"} {
			back := tb.back("back-" + pageName(want))
			tb.wantNoIdentifiers(back, alex, "Back after sign-out")
			if strings.Contains(back.Text, "Signed in as") || tb.has(selRecords) {
				t.Errorf("Back %d after sign-out (%s) shows a signed-in page:\n%s", i+1, back.Path(), back.Text)
			}
			if back.URL.Path != "/login" {
				t.Errorf("Back %d after sign-out: want the sign-in page for %s, got %s", i+1, want, back.Path())
			}
		}
	})
}
