package web_test

import (
	"context"
	"github.com/PuerkitoBio/goquery"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
)

// legalRequest records a request covering the patrons, with holds.
func (a *app) legalRequest(t *testing.T, nondisclosure bool, ps ...models.Patron) models.LegalRequest {
	t.Helper()
	var officer models.Staff
	if err := a.store.DB.Where("username = ?", "legalofficer").Take(&officer).Error; err != nil {
		officer = a.staff("legalofficer", models.RolePrivacyOfficer)
	}
	var cards []string
	for _, p := range ps {
		cards = append(cards, p.CardNumber)
	}
	var keys []string
	for _, c := range models.Categories() {
		keys = append(keys, c.Key)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req, _, err := a.store.CreateLegalRequest(context.Background(), officer.ID, models.LegalForm{Kind: "search_warrant",
		Issuer: "Superior Court of California", Reference: "SW-2026-118", Nondisclosure: nondisclosure, PlaceHolds: true,
		OfficerName: "Det. Ana Ruiz", OfficerAgency: "Oakland Police Department", IdentityCheck: "Badge and photo ID seen",
		Categories: keys, ScopeFrom: &from, ScopeTo: &testNow}, testNow, cards)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// dueRecords gives a patron one record past its retention in every
// time-limited category, and one not yet due.
func dueRecords(t *testing.T, a *app, p models.Patron) {
	t.Helper()
	n := a.clock.Now()
	old := func(d time.Duration) *time.Time { x := n.Add(-d); return &x }
	day := 24 * time.Hour
	rows := []any{
		&models.ReferenceQuestion{PatronID: p.ID, Question: "old", AskedAt: n.AddDate(-1, -1, 0)},
		&models.ReferenceQuestion{PatronID: p.ID, Question: "new", AskedAt: n.AddDate(0, -2, 0)},
		&models.Hold{PatronID: p.ID, Title: "h", Status: models.HoldFilled, PlacedAt: n.Add(-60 * day), ClosedAt: old(31 * day)},
		&models.Hold{PatronID: p.ID, Title: "h2", Status: models.HoldWaiting, PlacedAt: n.Add(-60 * day)},
		&models.Fine{PatronID: p.ID, Description: "f", AmountCents: 100, Status: models.FinePaid, AssessedAt: n.Add(-200 * day), SettledAt: old(91 * day)},
		&models.ILLRequest{PatronID: p.ID, Title: "i", Status: models.ILLReturned, RequestedAt: n.Add(-200 * day), CompletedAt: old(91 * day)},
		&models.ComputerSession{PatronID: p.ID, Station: "PC-1", StartedAt: n.Add(-25 * time.Hour)},
		&models.ComputerSession{PatronID: p.ID, Station: "PC-2", StartedAt: n.Add(-2 * time.Hour)},
		&models.Notification{PatronID: p.ID, Title: "n", CreatedAt: n.Add(-40 * day), SentAt: old(31 * day)},
	}
	for _, r := range rows {
		if err := a.store.DB.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func purgeCounts(t *testing.T, a *app) map[string]int64 {
	t.Helper()
	rep, err := a.store.Purge(context.Background(), false, 2, models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range rep.Counts {
		out[c.Category] = c.Rows
	}
	return out
}

func TestPurgeDeletesWhatIsDueSkipsHeldPatronsAndResumes(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		free := a.patron(card, pin, "Rosa", "Parks")
		held := a.patron("21000000007777", "1111", "Ida", "Wells")
		dueRecords(t, a, free)
		dueRecords(t, a, held)
		req := a.legalRequest(t, true, held)

		dry, err := a.store.Purge(context.Background(), true, 0, models.SessionLimits{Idle: 15 * time.Minute, Absolute: 8 * time.Hour})
		if err != nil || dry.Total() != 6 || dry.Held != 1 {
			t.Fatalf("dry run: %+v %v", dry, err)
		}
		if countRows(t, a.store.DB, "reference_questions", free.ID) != 2 {
			t.Fatal("a dry run deletes nothing")
		}
		got := purgeCounts(t, a)
		for cat, want := range map[string]int64{"reference_questions": 1, "holds": 1, "fines": 1, "interlibrary_loans": 1, "computer_sessions": 1, "notifications": 1} {
			if got[cat] != want {
				t.Errorf("%s: purged %d, want %d", cat, got[cat], want)
			}
		}
		for table, left := range map[string]int64{"reference_questions": 1, "holds": 1, "fines": 0, "ill_requests": 0, "computer_sessions": 1, "notifications": 0} {
			if n := countRows(t, a.store.DB, table, free.ID); n != left {
				t.Errorf("%s: %d rows left for the free patron, want %d", table, n, left)
			}
		}
		if countRows(t, a.store.DB, "reference_questions", held.ID) != 2 {
			t.Fatal("a legal hold keeps the patron's records")
		}
		var runs int64
		a.store.DB.Model(&models.AuditEntry{}).Where("action = ?", models.AuditPurgeRun).Count(&runs)
		if runs != 1 {
			t.Fatalf("%d purge audit entries, want one per run", runs)
		}
		// Idempotent.
		if again := purgeCounts(t, a); again["reference_questions"] != 0 {
			t.Fatal("a second run finds nothing more")
		}
		// Released: retention resumes.
		var officer models.Staff
		a.store.DB.Where("username = ?", "legalofficer").Take(&officer)
		if err := a.store.ReleaseLegalHold(context.Background(), officer.ID, req.ID, held.ID); err != nil {
			t.Fatal(err)
		}
		if after := purgeCounts(t, a); after["reference_questions"] != 1 || countRows(t, a.store.DB, "reference_questions", held.ID) != 1 {
			t.Fatalf("after release the held patron's due records go: %v", after)
		}
		if res, err := a.store.VerifyAudit(t.Context(), nil, "test"); err != nil || !res.Intact() {
			t.Fatalf("audit chain after purges: %s (%v)", res.Summary(), err)
		}
	})
}

func TestAuditRetentionKeepsTheChainVerifiable(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("sam", staffPassword)
		c.get("/staff/patrons?q=" + card)
		var old int64
		a.store.DB.Model(&models.AuditEntry{}).Count(&old)
		a.clock.Advance(3 * 365 * 24 * time.Hour)
		c2 := a.client()
		c2.staffSignIn("sam", staffPassword)
		got := purgeCounts(t, a)
		if got["audit_entries"] != old {
			t.Fatalf("audit entries purged %d, want the %d older than two years", got["audit_entries"], old)
		}
		if countRows(t, a.store.DB, "audit_entries", p.ID) != 0 {
			t.Fatal("the old look-up should be gone")
		}
		if res, err := a.store.VerifyAudit(t.Context(), nil, "test"); err != nil || !res.Intact() || res.Checked != 2 {
			t.Fatalf("verify after audit purge: %s, %v", res.Summary(), err)
		}
		// The anchor is signed, and one changed in the database is refused.
		var anchor models.Setting
		a.store.DB.Where("name = ?", "audit.anchor").Take(&anchor)
		if !strings.HasPrefix(anchor.Value, "carrel-audit-anchor v1 ") || !strings.Contains(anchor.Value, " sig=") {
			t.Fatalf("anchor %q, want a signed one", anchor.Value)
		}
		a.store.DB.Model(&models.Setting{}).Where("name = ?", "audit.anchor").Update("value", strings.Replace(anchor.Value, "cutoff=", "cutoff=1", 1))
		if res, err := a.store.VerifyAudit(t.Context(), nil, "test"); err != nil || res.Intact() {
			t.Fatalf("verify with a changed anchor: %s, %v", res.Summary(), err)
		}
	})
}

func TestRetentionIsConfigurableWithinLimits(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("olive", models.RolePrivacyOfficer)
		c := a.client()
		c.staffSignIn("olive", staffPassword)
		page := c.get("/staff/retention")
		wantStatus(t, page, http.StatusOK)
		form := url.Values{"csrf_token": {c.csrf("/staff/retention")}}
		page.doc(t).Find(`table[data-testid="retention"] input`).Each(func(_ int, s *goquery.Selection) {
			form.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
		})
		form.Set("reference_months", "13")
		r := c.post("/staff/retention", form)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.doc(t).Find(`[data-testid="reference_months-error"]`).Text(), "between 1 and 12") {
			t.Fatal("reference questions can never be kept more than 12 months")
		}
		form.Set("reference_months", "6")
		form.Set("hold_days", "7")
		wantRedirect(t, c.post("/staff/retention", form), "/staff/retention")
		ret, _ := a.store.LoadRetention(context.Background())
		if ret.ReferenceMonths != 6 || ret.HoldDays != 7 {
			t.Fatalf("saved schedule %+v", ret)
		}
		var e models.AuditEntry
		a.store.DB.Where("action = ? AND detail LIKE ?", models.AuditConfigChanged, "retention:%").Take(&e)
		if !strings.Contains(e.Detail, "reference_months 12→6") {
			t.Fatalf("audit %q", e.Detail)
		}
		// Patrons read the schedule in force.
		a.patron(card, pin, "Rosa", "Parks")
		pc := a.client()
		pc.signIn(card, pin)
		if !strings.Contains(pc.get("/data").doc(t).Find(`[data-testid="card-reference"]`).Text(), "At most 6 months") {
			t.Fatal("the overview shows the schedule in force")
		}
		// A stored value outside the bounds is ignored, never obeyed.
		a.store.DB.Model(&models.Setting{}).Where("name = ?", "retention.reference_months").Update("value", "24")
		ret, _ = a.store.LoadRetention(context.Background())
		if ret.ReferenceMonths > 12 {
			t.Fatal("a stored 24 months must not be obeyed")
		}
	})
}

func TestProducingRecordsIsHiddenOnlyUnderNondisclosure(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		secretP := a.patron(card, pin, "Rosa", "Parks")
		openP := a.patron("21000000007777", "1111", "Ida", "Wells")
		secretReq := a.legalRequest(t, true, secretP)
		openReq := a.legalRequest(t, false, openP)
		c := a.client()
		c.staffSignIn("legalofficer", staffPassword)
		tok := c.csrf("/staff/legal")
		for _, x := range []struct {
			req models.LegalRequest
			p   models.Patron
		}{{secretReq, secretP}, {openReq, openP}} {
			a.approveLegal(t, x.req)
			r := c.post("/staff/legal/"+itoa(x.req.ID)+"/produce", url.Values{"csrf_token": {tok}})
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(string(unzip(t, r.body)["patron-001.json"]), x.p.CardNumber) {
				t.Fatal("produced records hold the patron's data")
			}
		}

		see := func(cardNo, pinNo string) (string, string) {
			pc := a.client()
			pc.signIn(cardNo, pinNo)
			return pc.get("/data/staff-access").body, pc.get("/data/export.json").body
		}
		page, export := see(card, pin)
		if strings.Contains(page, "Produced your records for a court order") || strings.Contains(page, "Suspended deletion") || strings.Contains(page, "Superior Court") || strings.Contains(export, "legal") || strings.Contains(export, "Superior Court") {
			t.Fatal("under a nondisclosure order the patron must never be told")
		}
		page, export = see("21000000007777", "1111")
		if !strings.Contains(page, "Produced your records for a court order") || !strings.Contains(export, "legal.produce") {
			t.Fatal("without a nondisclosure order the patron sees that records were produced")
		}
	})
}

func TestStatisticsAreAnonymousAggregates(t *testing.T) {
	cfg := demoConfig()
	cfg.MetricsToken = "a-long-metrics-bearer-token"
	forEachDB(t, cfg, func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		a.staff("olive", models.RolePrivacyOfficer)
		c := a.client()
		c.signIn(card, pin)
		c.get("/data")
		c.post("/data/reading-history/on", url.Values{"csrf_token": {c.csrf("/data")}})
		c.get("/data/export.json")
		s := a.client()
		s.staffSignIn("olive", staffPassword)
		r := s.get("/staff/stats")
		wantStatus(t, r, http.StatusOK)
		names := r.doc(t).Find(`[data-testid="chart"] figcaption`).Text()
		for _, want := range []string{"signin.patron", "signin.staff", "consent.reading_history.on", "export.json", "pageview.data"} {
			if !strings.Contains(names, want) {
				t.Errorf("statistics lack %s (have %q)", want, names)
			}
		}
		if r.doc(t).Find(`svg rect.bar`).Length() == 0 {
			t.Fatal("the charts are drawn on the server")
		}
		csv := s.get("/staff/stats.csv")
		if !strings.HasPrefix(csv.body, "day,counter,count") {
			t.Fatalf("CSV: %q", csv.body)
		}
		// Nothing identifying: three columns, and names made of words.
		cols, _ := a.store.DB.Migrator().ColumnTypes("usage_counters")
		var colNames []string
		for _, col := range cols {
			colNames = append(colNames, col.Name())
		}
		if strings.Join(colNames, ",") != "day,name,count" {
			t.Fatalf("usage_counters columns %v", colNames)
		}
		var rows []models.UsageCounter
		a.store.DB.Find(&rows)
		word := regexp.MustCompile(`^[a-z_]+(\.[a-z_-]+)*$`)
		for _, row := range rows {
			if !word.MatchString(row.Name) || strings.Contains(row.Name, card) {
				t.Fatalf("counter name %q could identify someone", row.Name)
			}
		}
		// /metrics: only with the bearer token.
		wantStatus(t, a.client().get("/metrics"), http.StatusUnauthorized)
		req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+cfg.MetricsToken)
		m := a.client().do(req)
		wantStatus(t, m, http.StatusOK)
		if !strings.Contains(m.body, `carrel_events_total{counter="signin.patron"} 1`) {
			t.Fatalf("metrics: %s", excerpt(m.body))
		}
	})
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		wantStatus(t, a.client().get("/metrics"), http.StatusNotFound)
	})
}
