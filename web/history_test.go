package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrel-library/carrel/models"
)

// historyPatron makes a patron with reading history on and n entries,
// returned one a day up to yesterday; every tenth is by Octavia E. Butler.
func historyPatron(t *testing.T, a *app, card string, n int) models.Patron {
	t.Helper()
	p := a.patron(card, "1234", "Hana", "Reader")
	if _, _, err := a.store.SetReadingHistory(context.Background(), p.ID, true, models.Actor{Channel: models.ChannelWeb}); err != nil {
		t.Fatal(err)
	}
	rows := make([]models.HistoryEntry, 0, n)
	for i := range n {
		e := models.HistoryEntry{PatronID: p.ID, Title: "Book " + itoa(int64(i)), Author: "Someone Else",
			CheckedOutAt: testNow.AddDate(0, 0, -i-15), ReturnedAt: testNow.AddDate(0, 0, -i-1)}
		if i%10 == 0 {
			e.Author = "Octavia E. Butler"
		}
		rows = append(rows, e)
	}
	if err := a.store.DB.CreateInBatches(rows, 200).Error; err != nil {
		t.Fatal(err)
	}
	return p
}

func shownText(d *goquery.Document, sel string) string { return strings.TrimSpace(d.Find(sel).Text()) }

// TestHistorySearchDatesAndPages: the reading history says which page of
// how many, finds by title or author and by date of return with a plain
// GET form, keeps the search on every page of the pager and after a
// deletion, and names a bad date next to its field.
func TestHistorySearchDatesAndPages(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := historyPatron(t, a, "21000000000401", 120)
		c := a.client()
		c.signIn(p.CardNumber, "1234")

		d := c.get("/data/reading-history").doc(t)
		if got := shownText(d, `[data-testid="page-of"]`); got != "Page 1 of 3" {
			t.Errorf("first page says %q, want Page 1 of 3", got)
		}
		older, _ := d.Find(`[data-testid="older"]`).Attr("href")
		d = c.get(older).doc(t)
		if got := shownText(d, `[data-testid="page-of"]`); got != "Page 2 of 3" {
			t.Errorf("second page says %q, want Page 2 of 3", got)
		}
		// The number travels in the links, so that no page counts the
		// entries before it; an address without it (a bookmark from before)
		// is counted, and one with a number past the end says the last.
		third, _ := d.Find(`[data-testid="older"]`).Attr("href")
		if !strings.Contains(third, "page=3") {
			t.Errorf("the Older link of page 2 is %q, without page=3", third)
		}
		u, _ := url.Parse(third)
		q := u.Query()
		q.Del("page")
		if got := shownText(c.get(u.Path+"?"+q.Encode()).doc(t), `[data-testid="page-of"]`); got != "Page 3 of 3" {
			t.Errorf("the third page without its number says %q, want Page 3 of 3", got)
		}
		q.Set("page", "999")
		if got := shownText(c.get(u.Path+"?"+q.Encode()).doc(t), `[data-testid="page-of"]`); got != "Page 3 of 3" {
			t.Errorf("the third page numbered 999 says %q, want Page 3 of 3", got)
		}

		// By author, in any case; the pager keeps the words.
		r := c.get("/data/reading-history?q=BUTLER")
		wantStatus(t, r, http.StatusOK)
		d = r.doc(t)
		if got := shownText(d, `[data-testid="history-found"]`); got != "Found 12 items." {
			t.Errorf("search says %q, want Found 12 items.", got)
		}
		if v, _ := d.Find(`input[name="q"]`).Attr("value"); v != "BUTLER" {
			t.Errorf("the search box holds %q after searching", v)
		}
		d.Find(`table[data-testid] tbody tr`).Each(func(_ int, row *goquery.Selection) {
			if !strings.Contains(row.Text(), "Butler") {
				t.Errorf("a row that does not match: %q", row.Text())
			}
		})
		d = c.get("/data/reading-history?q=book").doc(t)
		older, _ = d.Find(`[data-testid="older"]`).Attr("href")
		if !strings.Contains(older, "q=book") {
			t.Fatalf("the Older link %q drops the search", older)
		}
		d = c.get(older).doc(t)
		newer, _ := d.Find(`[data-testid="newer"]`).Attr("href")
		if !strings.Contains(newer, "q=book") || shownText(d, `[data-testid="page-of"]`) != "Page 2 of 3" {
			t.Errorf("page 2 of the search: newer link %q, says %q", newer, shownText(d, `[data-testid="page-of"]`))
		}

		// Dates: returned from 10 to 29 days ago, both days included.
		from, to := testNow.AddDate(0, 0, -29).Format("2006-01-02"), testNow.AddDate(0, 0, -10).Format("2006-01-02")
		d = c.get("/data/reading-history?from=" + from + "&to=" + to).doc(t)
		if got := shownText(d, `[data-testid="history-found"]`); got != "Found 20 items." {
			t.Errorf("dates %s to %s: %q, want Found 20 items.", from, to, got)
		}
		if d.Find(`[data-testid="page-of"]`).Length() != 0 {
			t.Error("one page of results says which page it is")
		}
		// A deletion goes back to the same search.
		action, _ := d.Find(`table[data-testid] form`).First().Attr("action")
		tok, _ := d.Find(`input[name="csrf_token"]`).First().Attr("value")
		wantRedirect(t, c.post(action, url.Values{"csrf_token": {tok}}), "/data/reading-history?from="+from+"&to="+to)

		// Bad dates are named beside their field; the rest still applies.
		r = c.get("/data/reading-history?q=butler&from=2026-02-30&to=" + from)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		d = r.doc(t)
		if got := shownText(d, `[data-testid="from-error"]`); !strings.Contains(got, "for example") {
			t.Errorf("from-error says %q", got)
		}
		if d.Find(`[data-testid="form-error"] a[href="#from"]`).Length() != 1 {
			t.Error("the error summary does not link to the bad date")
		}
		if v, _ := d.Find(`input[name="from"]`).Attr("aria-invalid"); v != "true" {
			t.Error("the bad date is not marked invalid")
		}
		d = c.get("/data/reading-history?from=" + to + "&to=" + from).doc(t)
		if got := shownText(d, `[data-testid="to-error"]`); got != "The last date must be on or after the first date." {
			t.Errorf("to before from: %q", got)
		}
		d = c.get("/data/reading-history?q=nothing+like+it").doc(t)
		if got := shownText(d, `[data-testid="empty"]`); got != "Nothing in your reading history matches this search." {
			t.Errorf("no match: %q", got)
		}
	})
}

// TestHistoryKeepChoice: the patron chooses how much history to keep,
// with only their current choice selected; a choice that erases entries
// says how many and offers the download first, and changes nothing until
// confirmed; the choice is in the consent history in plain words; a value
// the form does not offer changes nothing. Turning history off offers the
// download first.
func TestHistoryKeepChoice(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := historyPatron(t, a, "21000000000402", 400) // returned up to 400 days ago
		c := a.client()
		c.signIn(p.CardNumber, "1234")
		d := c.get("/data/reading-history").doc(t)
		checked := d.Find(`[data-testid="history-keep"] input[checked]`)
		if v, _ := checked.Attr("value"); checked.Length() != 1 || v != "all" {
			t.Fatalf("%d choices selected (%q), want only the current one, all", checked.Length(), v)
		}
		tok, _ := d.Find(`[data-testid="history-keep"] input[name="csrf_token"]`).Attr("value")
		wantStatus(t, c.post("/data/reading-history/keep", url.Values{"csrf_token": {tok}, "keep": {"5"}}), http.StatusBadRequest)
		// Choosing 12 months asks first: 35 entries are older than that.
		r := c.post("/data/reading-history/keep", url.Values{"csrf_token": {tok}, "keep": {"12"}})
		wantStatus(t, r, http.StatusOK)
		d = r.doc(t)
		if got := shownText(d, `[data-testid="confirm-warning"]`); got != "35 items returned before November 27, 2025 will be erased for good. This cannot be undone." {
			t.Errorf("the confirmation warns %q", got)
		}
		if href, _ := d.Find(`[data-testid="confirm-download"] a`).Attr("href"); href != "/data/export.json" {
			t.Errorf("the confirmation offers %q to download first", href)
		}
		if a.store.DB.Where("id = ? AND history_keep_months = 0", p.ID).Find(&models.Patron{}).RowsAffected != 1 {
			t.Fatal("asking changed the choice")
		}
		action, _ := d.Find(`form[method="post"]`).Last().Attr("action")
		wantRedirect(t, c.post(action, url.Values{"csrf_token": {tok}, "confirm": {"yes"}}), "/data/reading-history")
		d = c.get("/data/reading-history").doc(t)
		if got := shownText(d, `[data-testid="notice"]`); got != "From now on only the last 12 months of your reading history are kept. 35 items returned before November 27, 2025 were erased." {
			t.Errorf("the notice says %q", got)
		}
		if v, _ := d.Find(`[data-testid="history-keep"] input[checked]`).Attr("value"); v != "12" {
			t.Errorf("the selected choice is %q after choosing 12 months", v)
		}
		if got := shownText(d, `[data-testid="history-clear"]`); got != "Delete all 365 items, keep it on" {
			t.Errorf("the delete-all button says %q, want 365 items", got)
		}
		// Ten days on, the ten entries that grew older than 12 months are
		// off the page at once, though the purge has not run: the page and
		// its count say what the purge will leave, and after it, the same.
		a.clock.Advance(10 * 24 * time.Hour)
		c.signIn(p.CardNumber, "1234")
		for _, when := range []string{"before the purge", "after the purge"} {
			d = c.get("/data/reading-history").doc(t)
			if got := shownText(d, `[data-testid="history-clear"]`); got != "Delete all 355 items, keep it on" {
				t.Errorf("%s: the delete-all button says %q, want 355 items", when, got)
			}
			if got := shownText(d, `[data-testid="page-of"]`); got != "Page 1 of 8" {
				t.Errorf("%s: the page says %q, want Page 1 of 8", when, got)
			}
			if _, err := a.store.Purge(t.Context(), false, 0, models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour}); err != nil {
				t.Fatal(err)
			}
		}
		d = c.get("/data/consents").doc(t)
		row := d.Find(`tbody tr`).First().Text()
		for _, want := range []string{"How much reading history to keep", "All of it", "The last 12 months"} {
			if !strings.Contains(row, want) {
				t.Errorf("consent history row %q lacks %q", row, want)
			}
		}
		d = c.get("/data/reading-history/off").doc(t)
		if href, _ := d.Find(`[data-testid="confirm-download"] a`).Attr("href"); href != "/data/export.json" {
			t.Errorf("the turn-off confirmation offers %q to download first", href)
		}
	})
}

// TestPrintSections: the printable page prints the sections the patron
// ticks, reading history only when ticked, and says what it left out.
func TestPrintSections(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := historyPatron(t, a, "21000000000403", 3)
		c := a.client()
		c.signIn(p.CardNumber, "1234")
		d := c.get("/data/print").doc(t)
		if strings.Contains(d.Find(".print-section").Text(), "Book 1") {
			t.Error("the default printout has reading-history titles")
		}
		if got := shownText(d, `[data-testid="print-left-out"]`); got != "Left out: “Reading history”." {
			t.Errorf("default printout says %q", got)
		}
		if _, on := d.Find(`input[name="section"][value="reading-history"]`).Attr("checked"); on {
			t.Error("reading history is ticked by default")
		}
		if _, on := d.Find(`input[name="section"][value="loans"]`).Attr("checked"); !on {
			t.Error("current loans are not ticked by default")
		}
		d = c.get("/data/print?chosen=1&section=reading-history").doc(t)
		if n := d.Find(".print-section").Length(); n != 1 || !strings.Contains(d.Find(".print-section").Text(), "Book 1") {
			t.Errorf("reading history alone: %d sections, titles printed: %v", n, strings.Contains(d.Text(), "Book 1"))
		}
		if got := shownText(d, `[data-testid="print-left-out"]`); !strings.Contains(got, "“Current loans”") || strings.Contains(got, "Reading history") {
			t.Errorf("reading history alone says %q", got)
		}
		d = c.get("/data/print?chosen=1").doc(t)
		if d.Find(".print-section").Length() != 0 || d.Find(`[data-testid="print-nothing"]`).Length() != 1 {
			t.Error("nothing ticked prints something, or says nothing")
		}
	})
}

// TestDeskPrintout: staff print, at the desk, the sections a patron asks
// for: a POST with the form token, one audit entry naming the sections
// that the patron sees, and reading-history titles only while the
// patron keeps a history.
func TestDeskPrintout(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := historyPatron(t, a, "21000000000404", 3)
		a.staff("desk", models.RoleAssistant)
		st := a.client()
		st.staffSignIn("desk", staffPassword)
		page := "/staff/patrons/" + itoa(p.ID)
		d := st.get(page).doc(t)
		form := d.Find(`[data-testid="desk-print"] form`)
		action, _ := form.Attr("action")
		tok, _ := form.Find(`input[name="csrf_token"]`).Attr("value")
		if _, on := form.Find(`input[value="reading-history"]`).Attr("checked"); on {
			t.Error("reading history is ticked by default at the desk")
		}
		wantStatus(t, st.post(action, url.Values{"section": {"contact", "reading-history"}}), http.StatusForbidden)
		r := st.post(action, url.Values{"csrf_token": {tok}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if r.doc(t).Find(`[data-testid="print-error"]`).Length() != 1 {
			t.Error("printing nothing is not refused with a message")
		}
		// A record is printed for the person at the desk only once staff
		// have checked that it is the patron, as for assisting.
		r = st.post(action, url.Values{"csrf_token": {tok}, "section": {"contact", "reading-history"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if r.doc(t).Find(`[data-testid="print_identity-error"]`).Length() != 1 {
			t.Error("a printout without an identity check is not refused with a message next to the field")
		}
		r = st.post(action, url.Values{"csrf_token": {tok}, "section": {"contact"}, "identity": {"other"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if r.doc(t).Find(`[data-testid="print_identity_note-error"]`).Length() != 1 {
			t.Error("“Other” without a note is not refused with a message next to the note")
		}
		var n int64
		a.store.DB.Model(&models.AuditEntry{}).Where("action = ? AND patron_id = ?", models.AuditDeskPrint, p.ID).Count(&n)
		if n != 0 {
			t.Fatalf("%d printouts recorded for refused forms", n)
		}
		r = st.post(action, url.Values{"csrf_token": {tok}, "section": {"contact", "reading-history"}, "identity": {"card"}})
		wantStatus(t, r, http.StatusOK)
		d = r.doc(t)
		if n := d.Find(".print-section").Length(); n != 2 || !strings.Contains(d.Text(), "Book 1") {
			t.Errorf("desk printout: %d sections, titles printed %v", n, strings.Contains(d.Text(), "Book 1"))
		}
		var e models.AuditEntry
		if err := a.store.DB.Where("action = ? AND patron_id = ?", models.AuditDeskPrint, p.ID).Take(&e).Error; err != nil {
			t.Fatalf("no audit entry: %v", err)
		}
		if e.Detail != "Contact details, Reading history; checked it was you by seeing your library card" {
			t.Errorf("the audit entry names %q", e.Detail)
		}

		// History off: the section prints no titles.
		if _, _, err := a.store.SetReadingHistory(context.Background(), p.ID, false, models.Actor{Channel: models.ChannelWeb}); err != nil {
			t.Fatal(err)
		}
		a.store.DB.Create(&models.HistoryEntry{PatronID: p.ID, Title: "Kept by mistake", CheckedOutAt: testNow, ReturnedAt: testNow})
		d = st.post(action, url.Values{"csrf_token": {tok}, "section": {"reading-history"}, "identity": {"questions"}}).doc(t)
		if strings.Contains(d.Text(), "Kept by mistake") || !strings.Contains(d.Text(), "Reading history is off") {
			t.Error("a patron without reading history had titles printed at the desk")
		}

		pc := a.client()
		pc.signIn(p.CardNumber, "1234")
		got := pc.get("/data/staff-access").doc(t).Find("tbody").Text()
		if !strings.Contains(got, "Printed your record at your request: Contact details, Reading history; checked it was you by seeing your library card") {
			t.Errorf("the patron's staff access does not show the printout: %q", excerpt(got))
		}
	})
}
