package e2e

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Staff accounts of the demo data.
type staffAccount struct{ Username, Password, Name string }

var (
	demoAssistant = staffAccount{"staff", "staff-demo-pass", "Sam Staff"}
	demoOfficer   = staffAccount{"officer", "officer-demo-pass", "Olive Officer"}
	demoAdmin     = staffAccount{"admin", "admin-demo-pass", "Ada Admin"}
)

// TestStaffAssistJourney: an assistant finds the demo patron, assists them
// at the desk (a banner on every page, reading-history titles hidden, the
// export refused), turns reading history off at their request and ends the
// assistance; at their next sign-in the patron is told and dismisses the
// notice. A privacy officer and an administrator open their pages.
func TestStaffAssistJourney(t *testing.T) {
	b := newBrowser(t)
	eachDatabase(t, func(t *testing.T, db string) {
		p := startPortal(t, db)

		// What the patron sees on the first page of their history, to make
		// sure that staff do not see it.
		own := b.newTab(t, p, "assist-before")
		own.signInTo(alex, "/data/reading-history", "reading-history")
		var titles []string
		for _, title := range eval[[]string](own, `Array.from(document.querySelectorAll('[data-testid="records"] tbody th')).map(th => th.innerText.trim())`) {
			// Long enough not to turn up by chance ("Emma" might).
			if len(title) >= 8 {
				titles = append(titles, title)
			}
		}
		if len(titles) == 0 {
			t.Fatalf("/data/reading-history shows the patron no titles to look for")
		}

		tb := b.newTab(t, p, "staff-assist")
		find := tb.staffSignIn(demoAssistant, "/staff/patrons", "find-patron")
		wantPage(t, find, http.StatusOK, "/staff/patrons", "Find a patron")
		results := tb.follow("patron-search", chromedp.SendKeys(chromedp.CSS(`#q`), "Demo"+kb.Enter))
		wantPage(t, results, http.StatusOK, "/staff/patrons?q=Demo", "Find a patron")
		record := tb.follow("patron-record", chromedp.Click(chromedp.JSPath(
			`Array.from(document.querySelectorAll('[data-testid="results"] a')).find(a => a.innerText.trim() === "Alex Demo")`)))
		if !strings.HasPrefix(record.URL.Path, "/staff/patrons/") {
			t.Fatalf("opening Alex Demo: want /staff/patrons/{id}, got %s", record.Path())
		}
		wantPage(t, record, http.StatusOK, record.URL.Path, "Alex Demo")

		do(tb, "choose At the desk", chromedp.Click(chromedp.CSS(`input[name="reason"][value="desk"]`)))
		do(tb, "choose Library card seen", chromedp.Click(chromedp.CSS(`input[name="identity"][value="card"]`)))
		data := tb.click(`[data-testid="start-assist"]`, "assist-data")
		wantPage(t, data, http.StatusOK, "/data", "What we hold about you")
		tb.wantAssistBanner(data)
		tb.wantNoElement(data, `[data-testid="export-link"]`, "staff assisting a patron may not download their data")
		if leaked := tb.shownTitles(titles); len(leaked) > 0 {
			knownFailure(t, "assist-overview-history-title",
				"/data while assisting: the Reading history card shows staff the title(s) %q; staff see the count only:\n%s",
				leaked, tb.textOf(`[data-testid="card-reading-history"]`))
		}

		rh := tb.open("/data/reading-history", "assist-reading-history")
		wantPage(t, rh, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantAssistBanner(rh)
		tb.wantElement(rh, `[data-testid="history-count"]`, "5,000 items are kept")
		tb.wantNoElement(rh, selRecords, "staff see the count only, never the titles")
		tb.wantNoElement(rh, `[data-testid="history-clear"]`, "staff may not clear the history")
		if leaked := tb.shownTitles(titles); len(leaked) > 0 {
			t.Errorf("/data/reading-history while assisting shows reading-history titles %q", leaked)
		}

		confirm := tb.click(`[data-testid="history-off"]`, "assist-history-off-confirm")
		wantPage(t, confirm, http.StatusOK, "/data/reading-history/off", "Turn off reading history?")
		tb.wantAssistBanner(confirm)
		tb.wantElement(confirm, `[data-testid="confirm-warning"]`, "All 5,000 items")
		off := tb.click(selConfirm, "assist-history-off")
		wantPage(t, off, http.StatusOK, "/data/reading-history", "Reading history")
		tb.wantAssistBanner(off)
		tb.wantNotice(off, "Reading history is off")
		tb.wantElement(off, `[data-testid="history-state"]`, "Reading history is off.")

		refused := tb.open("/data/export.json", "assist-export-refused")
		wantPage(t, refused, http.StatusForbidden, "/data/export.json", "Not while assisting a patron")
		tb.wantAssistBanner(refused)

		// The banner's button ends it; back on the console, no banner.
		ended := tb.click(`[data-testid="end-assist"]`, "assist-ended")
		wantPage(t, ended, http.StatusOK, "/staff", "Staff console")
		tb.wantNotice(ended, "You are no longer assisting Alex Demo.")
		tb.wantNoElement(ended, selAssistBanner, "the assistance has ended")

		// At their next sign-in the patron is told what staff did.
		patron := b.newTab(t, p, "assist-notice")
		back := patron.signInFresh(alex)
		patron.wantNoElement(back, selAssistBanner, "the patron is not being assisted")
		// Their two sign-ins (before and now); the assistance is not one.
		patron.wantElement(back, `[data-testid="card-sessions"] [data-testid="held"]`, "2 sign-ins")
		patron.wantElement(back, `[data-testid="assist-notice"]`, demoAssistant.Name)
		notice := patron.textOf(`[data-testid="assist-notice"]`)
		for _, s := range []string{"started helping you (At the desk): checked it was you by seeing your library card", "made a change at your request (At the desk)"} {
			if !strings.Contains(notice, s) {
				t.Errorf("/data: the assistance notice does not say %q:\n%s", s, notice)
			}
		}
		// The patron reads plain words, not the portal's internal codes.
		if codes := internalCode.FindAllString(notice, -1); len(codes) > 0 {
			knownFailure(t, "assist-notice-internal-codes",
				"/data: the assistance notice shows the patron internal codes %q:\n%s", codes, notice)
		}
		dismissed := patron.click(`[data-testid="dismiss-assist-notice"]`, "assist-notice-dismissed")
		wantPage(t, dismissed, http.StatusOK, "/data", "What we hold about you")
		patron.wantNoElement(dismissed, `[data-testid="assist-notice"]`, "the patron dismissed the notice")
		ledger := patron.open("/data/consents", "consents")
		wantPage(t, ledger, http.StatusOK, "/data/consents", "")
		rows := patron.tableRows(selRecords)
		want := []string{"Reading history", "On", "Off", "Library staff, at your request", "With staff help"}
		if len(rows) == 0 || len(rows[0]) < len(want) || !slices.Equal(rows[0][:len(want)], want) {
			t.Errorf("/data/consents: want the newest entry %q, got %q", want, firstRow(rows))
		}

		// A privacy officer's pages, and an administrator's.
		officer := b.newTab(t, p, "officer")
		audit := officer.staffSignIn(demoOfficer, "/staff/audit", "staff-audit")
		wantPage(t, audit, http.StatusOK, "/staff/audit", "Audit log")
		wantText(t, audit, demoAssistant.Name)
		for _, pg := range []struct{ path, h1 string }{
			{"/staff/retention", "Retention schedule"},
			{"/staff/legal", "Legal requests"},
			{"/staff/stats", "Statistics"},
		} {
			st := officer.open(pg.path, pageName(pg.path))
			wantPage(t, st, http.StatusOK, pg.path, pg.h1)
		}
		admin := b.newTab(t, p, "admin")
		lists := admin.staffSignIn(demoAdmin, "/staff/lists", "staff-lists")
		wantPage(t, lists, http.StatusOK, "/staff/lists", "Mailing lists")
		wantText(t, lists, "Friends of the Library")
		accounts := admin.open("/staff/accounts", "staff-accounts")
		wantPage(t, accounts, http.StatusOK, "/staff/accounts", "Staff accounts")
		wantText(t, accounts, demoAssistant.Name)
	})
}

// wantAssistBanner checks the banner every page carries while staff assist
// the demo patron.
func (tb *tab) wantAssistBanner(st *pageState) {
	tb.t.Helper()
	tb.wantElement(st, selAssistBanner, demoAssistant.Name+" is assisting "+alex.FullName, "At the desk", "Assistance ends at")
	if !tb.has(selAssistBanner + ` [data-testid="end-assist"]`) {
		tb.t.Errorf("%s: the assistance banner has no End assistance button", st.Path())
	}
}

// shownTitles are those of titles that the main content shows, in its text
// or in an attribute (an aria-label may hold a title too).
func (tb *tab) shownTitles(titles []string) []string {
	tb.t.Helper()
	shown := eval[string](tb, `(() => {
		const m = document.querySelector("main");
		const attrs = Array.from(m.querySelectorAll("*")).flatMap(e => Array.from(e.attributes).map(a => a.value));
		return m.innerText + "\n" + attrs.join("\n");
	})()`)
	var found []string
	for _, title := range titles {
		if strings.Contains(shown, title) {
			found = append(found, title)
		}
	}
	return found
}

// internalCode matches a snake_case identifier such as reading_history.
var internalCode = regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)

func firstRow(rows [][]string) []string {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}
