package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/PuerkitoBio/goquery"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"gorm.io/gorm"
)

// seeded signs the demo's heavy reader in on a seeded portal.
func seeded(t *testing.T, a *app) (*client, models.Patron) {
	t.Helper()
	if _, err := a.store.SeedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	var p models.Patron
	if err := a.store.DB.Where("card_number = ?", "21000000000001").Take(&p).Error; err != nil {
		t.Fatal(err)
	}
	c := a.client()
	wantRedirect(t, c.signIn("21000000000001", "1234"), "/data")
	return c, p
}

func TestOverviewShowsEveryCategoryInOrder(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, _ := seeded(t, a)
		r := c.get("/data")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		var got []string
		doc.Find(`[data-testid="overview"] > li`).Each(func(_ int, s *goquery.Selection) {
			got = append(got, strings.TrimPrefix(s.AttrOr("data-testid", ""), "card-"))
		})
		var want []string
		for _, cat := range models.Categories() {
			want = append(want, cat.Slug)
		}
		want = append(want, "not-kept")
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("cards %v, want %v", got, want)
		}
		history := doc.Find(`[data-testid="card-reading-history"]`)
		if held := history.Find(`[data-testid="held"]`).Text(); !strings.HasPrefix(held, "5,000 items") {
			t.Fatalf("reading history held line = %q", held)
		}
		if href, _ := history.Find("h2 a").Attr("href"); href != "/data/reading-history" {
			t.Fatalf("card links to %q", href)
		}
		ref := doc.Find(`[data-testid="card-reference"]`).Text()
		if !strings.Contains(ref, "12 months") || !strings.Contains(ref, "The oldest will be deleted on") {
			t.Fatalf("the reference card should say when the oldest question goes: %q", ref)
		}
		if fines := doc.Find(`[data-testid="card-fines"]`).Text(); !strings.Contains(fines, "collection agency") {
			t.Fatal("fines may be shared with a collection agency, and the card must say so")
		}
		if doc.Find(`[data-testid="card-not-kept"] li`).Length() != 4 {
			t.Fatal("the 'What we do not keep' card should list its four statements")
		}
	})
}

func TestEveryDetailPageIsAReadableTable(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, _ := seeded(t, a)
		for _, cat := range models.Categories() {
			r := c.get("/data/" + cat.Slug)
			wantStatus(t, r, http.StatusOK)
			doc := r.doc(t)
			if h1 := doc.Find("h1").Text(); h1 != cat.Title {
				t.Errorf("%s: h1 %q", cat.Slug, h1)
			}
			if cat.Table == "" {
				if doc.Find(`[data-testid="fields"] dt`).Length() == 0 {
					t.Errorf("%s: no fields shown", cat.Slug)
				}
				continue
			}
			tbl := doc.Find(`table[data-testid="records"]`)
			if tbl.Length() == 0 {
				if doc.Find(`[data-testid="empty"]`).Text() != cat.Empty {
					t.Errorf("%s: neither a table nor the empty-state explanation", cat.Slug)
				}
				continue
			}
			if tbl.Find("caption").Text() == "" || tbl.Find(`thead th[scope="col"]`).Length() < 2 {
				t.Errorf("%s: table needs a caption and column headers", cat.Slug)
			}
		}
		if strings.Contains(c.get("/data/card").body, "1234") {
			t.Fatal("the card page must never show the PIN")
		}
		wantStatus(t, c.get("/data/no-such-thing"), http.StatusNotFound)
		wantStatus(t, c.get("/data/reading-history?after=garbage"), http.StatusBadRequest)
	})
}

func TestEmptyStatesExplainThemselves(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		c.signIn(card, pin)
		r := c.get("/data/reading-history")
		if got := r.doc(t).Find(`[data-testid="empty"]`).Text(); !strings.Contains(got, "Reading history is off") {
			t.Fatalf("empty history should explain why: %q", got)
		}
		if got := c.get("/data/loans").doc(t).Find(`[data-testid="empty"]`).Text(); !strings.Contains(got, "nothing checked out") {
			t.Fatalf("empty loans: %q", got)
		}
	})
}

func TestHistoryPagesWalkBothWays(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, _ := seeded(t, a)
		titles := func(r response) []string {
			var out []string
			r.doc(t).Find(`table[data-testid="records"] tbody tr`).Each(func(_ int, s *goquery.Selection) {
				out = append(out, s.Find("th").Text()+"|"+s.Find("td").Eq(3).Text())
			})
			return out
		}
		first := c.get("/data/reading-history")
		page1 := titles(first)
		if len(page1) != models.DefaultPageSize {
			t.Fatalf("page 1 has %d rows", len(page1))
		}
		older, ok := first.doc(t).Find(`[data-testid="older"]`).Attr("href")
		if !ok || first.doc(t).Find(`[data-testid="newer"]`).Length() != 0 {
			t.Fatal("page 1 links to older pages only")
		}
		second := c.get(older)
		page2 := titles(second)
		if len(page2) != models.DefaultPageSize || page2[0] == page1[0] {
			t.Fatal("page 2 should be the next 50 entries")
		}
		seen := map[string]bool{}
		for _, x := range append(page1, page2...) {
			seen[x] = true
		}
		newer, _ := second.doc(t).Find(`[data-testid="newer"]`).Attr("href")
		if back := titles(c.get(newer)); strings.Join(back, ";") != strings.Join(page1, ";") {
			t.Fatal("Newer from page 2 should be page 1 again")
		}
	})
}

func TestTurningReadingHistoryOffErasesItAfterConfirmation(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p := seeded(t, a)
		ledgerBefore := countRows(t, a.store.DB, "consent_entries", p.ID)

		confirm := c.get("/data/reading-history/off")
		wantStatus(t, confirm, http.StatusOK)
		if w := confirm.doc(t).Find(`[data-testid="confirm-warning"]`).Text(); !strings.Contains(w, "All 5,000 items") {
			t.Fatalf("the confirmation should say how much goes: %q", w)
		}
		tok := c.csrf("/data/reading-history")
		// Without the confirmation, nothing happens.
		wantRedirect(t, c.post("/data/reading-history/off", url.Values{"csrf_token": {tok}}), "/data/reading-history/off")
		if countRows(t, a.store.DB, "reading_history", p.ID) != 5000 {
			t.Fatal("nothing may be erased before confirmation")
		}
		wantRedirect(t, c.post("/data/reading-history/off", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}), "/data/reading-history")
		page := c.get("/data/reading-history")
		if !strings.Contains(page.doc(t).Find(`[data-testid="notice"]`).Text(), "5,000 items were erased") {
			t.Fatal("the patron should be told what was erased")
		}
		if n := countRows(t, a.store.DB, "reading_history", p.ID); n != 0 {
			t.Fatalf("%d history rows left", n)
		}
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Order("id DESC").Take(&e)
		if e.Subject != models.ConsentReadingHistory || e.OldValue != "on" || e.NewValue != "off" ||
			e.Actor != models.ActorPatron || e.Channel != models.ChannelWeb || e.TextVersion != "test-1" {
			t.Fatalf("ledger entry %+v", e)
		}
		// Turning it off again changes nothing and records nothing.
		c.post("/data/reading-history/off", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
		if n := countRows(t, a.store.DB, "consent_entries", p.ID); n != ledgerBefore+1 {
			t.Fatalf("ledger grew by %d, want 1", n-ledgerBefore)
		}
		// And on again: an explicit button, recorded.
		wantRedirect(t, c.post("/data/reading-history/on", url.Values{"csrf_token": {tok}}), "/data/reading-history")
		if state := c.get("/data/reading-history").doc(t).Find(`[data-testid="history-state"]`).Text(); !strings.Contains(state, "is on") {
			t.Fatalf("state after turning on: %q", state)
		}
		if n := countRows(t, a.store.DB, "consent_entries", p.ID); n != ledgerBefore+2 {
			t.Fatal("turning it on should be one more ledger entry")
		}
	})
}

func TestDeletingHistoryEntriesTouchesOnlyYourOwn(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p := seeded(t, a)
		other := a.patron(card, pin, "Rosa", "Parks")
		theirs := models.HistoryEntry{PatronID: other.ID, Title: "Private", CheckedOutAt: testNow, ReturnedAt: testNow}
		a.store.DB.Create(&theirs)
		tok := c.csrf("/data/reading-history")

		wantStatus(t, c.post("/data/reading-history/"+itoa(theirs.ID)+"/delete", url.Values{"csrf_token": {tok}}), http.StatusNotFound)
		wantStatus(t, c.post("/data/reading-history/999999999/delete", url.Values{"csrf_token": {tok}}), http.StatusNotFound)
		if countRows(t, a.store.DB, "reading_history", other.ID) != 1 {
			t.Fatal("another patron's entry must survive")
		}
		page := c.get("/data/reading-history").doc(t)
		action, _ := page.Find(`table[data-testid="records"] form`).First().Attr("action")
		wantRedirect(t, c.post(action, url.Values{"csrf_token": {tok}}), "/data/reading-history")
		if n := countRows(t, a.store.DB, "reading_history", p.ID); n != 4999 {
			t.Fatalf("%d entries after deleting one", n)
		}
		// Delete everything but keep the setting on.
		if w := c.get("/data/reading-history/clear").doc(t).Find(`[data-testid="confirm-warning"]`).Text(); !strings.Contains(w, "4,999") {
			t.Fatalf("clear confirmation: %q", w)
		}
		c.post("/data/reading-history/clear", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
		var after models.Patron
		a.store.DB.Where("id = ?", p.ID).Take(&after)
		if countRows(t, a.store.DB, "reading_history", p.ID) != 0 || !after.ReadingHistoryEnabled {
			t.Fatal("clearing deletes every entry and leaves reading history on")
		}
	})
}

func TestSignOutEverywhereElse(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		laptop, phone := a.client(), a.client()
		laptop.signIn(card, pin)
		phone.signIn(card, pin)
		doc := laptop.get("/data/sessions").doc(t)
		rows := doc.Find(`table[data-testid="records"] tbody tr`)
		if rows.Length() != 2 || strings.Count(rows.Text(), "This device") != 1 {
			t.Fatalf("sessions table: %q", rows.Text())
		}
		wantRedirect(t, laptop.post("/data/sessions/end-others", url.Values{"csrf_token": {laptop.csrf("/data/sessions")}}), "/data/sessions")
		wantRedirect(t, phone.get("/data"), "/login?next=%2Fdata&ended=ended")
		wantStatus(t, laptop.get("/data"), http.StatusOK)
	})
}

func TestExportHoldsEverythingAndOnlyYours(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, p := seeded(t, a)
		r := c.get("/data/export.json")
		wantStatus(t, r, http.StatusOK)
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("export headers: %v", r.Header)
		}
		var doc struct {
			SchemaVersion int `json:"schema_version"`
			Patron        struct {
				CardNumber string `json:"card_number"`
			} `json:"patron"`
			Categories map[string]struct {
				Title   string            `json:"title"`
				Records []json.RawMessage `json:"records"`
			} `json:"categories"`
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatalf("export is not JSON: %v", err)
		}
		if doc.SchemaVersion != models.ExportSchemaVersion || doc.Patron.CardNumber != p.CardNumber {
			t.Fatalf("export header: %+v", doc)
		}
		for _, cat := range models.Categories() {
			if cat.Table == "" {
				continue
			}
			if _, ok := doc.Categories[cat.Key]; !ok {
				t.Errorf("export lacks %s", cat.Key)
			}
		}
		if n := len(doc.Categories["reading_history"].Records); n != 5000 {
			t.Fatalf("export has %d history entries", n)
		}
		for _, secret := range []string{"pin_hash", "token_hash", "csrf", "prev_hash", `"v1$`, "21000000000002", "Blake", "Sample", "patron_id"} {
			if strings.Contains(r.body, secret) {
				t.Errorf("the export must not contain %q", secret)
			}
		}
	})
}

func TestPrintViewHoldsEverySection(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		c, _ := seeded(t, a)
		// Every section ticked (the default leaves the history out: see
		// TestPrintSections).
		all := url.Values{"chosen": {"1"}}
		for _, cat := range models.Categories() {
			all.Add("section", cat.Slug)
		}
		r := c.get("/data/print?" + all.Encode())
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		for _, cat := range models.Categories() {
			if !strings.Contains(doc.Find("section.print-section h2").Text(), cat.Title) {
				t.Errorf("print view lacks %s", cat.Title)
			}
		}
		if n := doc.Find("section.print-section tbody tr").Length(); n < 5000 {
			t.Fatalf("print view has %d rows; the whole history belongs on paper", n)
		}
	})
}

// TestEveryPatronTableIsInTheOverviewAndExport is the structural guard: a
// table added later with a patron reference cannot be forgotten.
func TestEveryPatronTableIsInTheOverviewAndExport(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		covered := map[string]bool{}
		for _, cat := range models.Categories() {
			covered[cat.Table] = true
			for _, part := range cat.Parts {
				covered[part.Table] = true
			}
		}
		// A part counts only if the export really carries it, under its
		// key inside its category, and its detail page shows it.
		p := a.patron(card, pin, "Rosa", "Parks")
		var export bytes.Buffer
		if err := a.store.Export(context.Background(), p.ID, models.ExportMeta{Limits: models.SessionLimits{Idle: time.Hour, Absolute: time.Hour}}, &export); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Categories map[string]map[string]json.RawMessage `json:"categories"`
		}
		if err := json.Unmarshal(export.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		c := a.client()
		c.signIn(card, pin)
		for _, cat := range models.Categories() {
			for _, part := range cat.Parts {
				if _, ok := doc.Categories[cat.Key][part.Key]; !ok {
					t.Errorf("the export's %s lacks its part %s (table %s)", cat.Key, part.Key, part.Table)
				}
				if c.get("/data/"+cat.Slug).doc(t).Find(`[data-testid="part-`+part.Key+`"] h2`).Text() != part.Title {
					t.Errorf("/data/%s does not show its part %s", cat.Slug, part.Key)
				}
			}
		}
		// The one deliberate exception: legal process. The policy says a
		// patron cannot be told of a request under a nondisclosure order;
		// what they may be told is the audit entry for producing their
		// records, which staff access shows (see retention_test.go).
		// Derived tables restate the rows of the categories above (the
		// overview's kept summaries): nothing in them is not already shown.
		for _, m := range append(models.LegalModels(), models.DerivedModels()...) {
			stmt := &gorm.Statement{DB: a.store.DB}
			if err := stmt.Parse(m); err != nil {
				t.Fatal(err)
			}
			covered[stmt.Schema.Table] = true
		}
		tables, err := a.store.DB.Migrator().GetTables()
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			if table == "patrons" {
				continue
			}
			if a.store.DB.Migrator().HasColumn(table, "patron_id") && !covered[table] {
				t.Errorf("table %s holds patron data but no category shows or exports it", table)
			}
		}
		for _, m := range models.PatronModels() {
			stmt := &gorm.Statement{DB: a.store.DB}
			if err := stmt.Parse(m); err != nil {
				t.Fatal(err)
			}
			if !covered[stmt.Schema.Table] {
				t.Errorf("model %T (%s) is not covered", m, stmt.Schema.Table)
			}
		}
	})
}

// TestWhatWeDoNotKeepIsTrue backs the overview's promises with the schema.
func TestWhatWeDoNotKeepIsTrue(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		tables, _ := a.store.DB.Migrator().GetTables()
		forbidden := regexp.MustCompile(`(?i)(^|_)(ip|ip_address|addr|remote|user_agent|useragent|search|query|referer|referrer|tracking|device)(_|$)`)
		for _, table := range tables {
			cols, err := a.store.DB.Migrator().ColumnTypes(table)
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range cols {
				if forbidden.MatchString(col.Name()) {
					t.Errorf("%s.%s looks like something we promise not to keep", table, col.Name())
				}
			}
		}
	})
}

func countRows(t *testing.T, db *gorm.DB, table string, patronID int64) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Where("patron_id = ?", patronID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
