package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestReadingHistoryJourney: the demo patron with a 5,000-item reading
// history opens every category linked from the overview, pages through the
// history and back, turns it off (the confirmation says how much goes), and
// on again; the consent history shows both changes.
func TestReadingHistoryJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		tb := b.newTab(t, startPortal(t, db), "history")
		tb.signInFresh(alex)

		// Every card on the overview links to its category's page.
		type link struct{ Href, Title string }
		links := eval[[]link](tb, `Array.from(document.querySelectorAll('[data-testid="overview"] .category-card h2 a'))
			.map(a => ({Href: a.getAttribute("href"), Title: a.innerText.trim()}))`)
		if len(links) < 15 {
			t.Errorf("/data: want a card for each of the 15 kinds of data, found %d: %v", len(links), links)
		}
		// Reading history last: the journey goes on from there.
		i := slices.IndexFunc(links, func(l link) bool { return l.Href == "/data/reading-history" })
		if i < 0 {
			t.Fatalf("/data: no card links to /data/reading-history: %v", links)
		}
		links = append(slices.Delete(slices.Clone(links), i, i+1), links[i])
		var first *pageState
		for _, l := range links {
			if !strings.HasPrefix(l.Href, "/data/") || strings.Count(l.Href, "/") != 2 {
				t.Errorf("/data: the card %q links to %q, want /data/{category}", l.Title, l.Href)
				continue
			}
			st := tb.open(l.Href, pageName(l.Href))
			if l.Href == "/data/reading-history" {
				first = st
			}
			wantPage(t, st, http.StatusOK, l.Href, l.Title)
			if got := tb.textOf("main h1"); got != l.Title {
				t.Errorf("%s: the heading is %q, want the card's title %q", l.Href, got, l.Title)
			}
			if tb.has(selRecords) && tb.count(selRecords+" tbody tr") == 0 {
				t.Errorf("%s: an empty table is shown instead of a sentence", l.Href)
			}
		}

		// Page 1, "Older" to page 2, "Newer" back to page 1.
		tb.wantElement(first, `[data-testid="history-state"]`, "Reading history is on.")
		page1 := tb.formActions(selRecords + " tbody")
		if len(page1) != 50 {
			t.Errorf("reading history page 1: want 50 entries (a page), got %d", len(page1))
		}
		older := tb.click(`[data-testid="older"]`, "reading-history-older")
		if older.URL.Path != "/data/reading-history" || older.URL.Query().Get("after") == "" {
			t.Fatalf("Older: want /data/reading-history?after=…, got %s", older.Path())
		}
		page2 := tb.formActions(selRecords + " tbody")
		if len(page2) != 50 {
			t.Errorf("reading history page 2: want 50 entries, got %d", len(page2))
		}
		for _, a := range page2 {
			if slices.Contains(page1, a) {
				t.Errorf("Older shows an entry of page 1 again (%s)", a)
				break
			}
		}
		newer := tb.click(`[data-testid="newer"]`, "reading-history-newer")
		if newer.URL.Path != "/data/reading-history" || newer.URL.Query().Get("before") == "" {
			t.Errorf("Newer: want /data/reading-history?before=…, got %s", newer.Path())
		}
		// The delete buttons lead back to the page they are on, so their
		// addresses differ by the cursor; the entries are the paths.
		paths := func(actions []string) []string {
			out := make([]string, len(actions))
			for i, a := range actions {
				out[i], _, _ = strings.Cut(a, "?")
			}
			return out
		}
		if back := paths(tb.formActions(selRecords + " tbody")); !slices.Equal(back, paths(page1)) {
			t.Errorf("Newer from page 2: want page 1's %d entries in the same order, got %d entries (first %v, want %v)",
				len(page1), len(back), firstOf(back), firstOf(page1))
		}

		// Turn it off: the confirmation says how much goes.
		confirm := tb.click(`[data-testid="history-off"]`, "history-off-confirm")
		wantPage(t, confirm, http.StatusOK, "/data/reading-history/off", "Turn off reading history?")
		tb.wantElement(confirm, `[data-testid="confirm-warning"]`, "All 5,000 items")
		off := tb.click(selConfirm, "history-off")
		wantPage(t, off, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantNotice(off, "Reading history is off", "5,000 items were erased")
		tb.wantElement(off, `[data-testid="history-state"]`, "Reading history is off.")
		tb.wantNoElement(off, selRecords, "reading history was erased")
		tb.wantNoElement(off, `[data-testid="older"]`, "reading history was erased")
		tb.wantElement(off, `[data-testid="empty"]`, "Reading history is off")

		// And on again.
		on := tb.click(`[data-testid="history-on"]`, "history-on")
		wantPage(t, on, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantNotice(on, "Reading history is on")
		tb.wantElement(on, `[data-testid="history-state"]`, "Reading history is on.")

		// The consent history holds both changes, newest first.
		ledger := tb.open("/data/consents", "consents")
		wantPage(t, ledger, http.StatusOK, "/data/consents", "")
		rows := tb.tableRows(selRecords)
		want := [][]string{
			{"Reading history", "Off", "On", "You", "This portal"},
			{"Reading history", "On", "Off", "You", "This portal"},
		}
		if len(rows) < 2 {
			t.Fatalf("/data/consents: want the two changes just made, got %d rows", len(rows))
		}
		for i, w := range want {
			if len(rows[i]) < len(w) || !slices.Equal(rows[i][:len(w)], w) {
				t.Errorf("/data/consents row %d: want %q, got %q", i+1, w, rows[i])
			}
		}
	})
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}
