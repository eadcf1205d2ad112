package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
	"gorm.io/gorm"
)

// legalZone is the library's time zone in these tests: west of UTC, so a
// scope's day boundaries are not UTC's.
var legalZone = time.FixedZone("UTC-7", -7*3600)

func legalConfig() web.Config {
	cfg := demoConfig()
	cfg.Location = legalZone
	return cfg
}

// legalForm is a complete, valid request form covering cards.
func legalForm(kind string, cards ...string) url.Values {
	return url.Values{
		"kind": {kind}, "issuer": {"Superior Court of California"}, "reference": {"SW-2026-118"},
		"received_on": {"2026-11-20"}, "officer_name": {"Det. Ana Ruiz"}, "officer_agency": {"Oakland Police Department"},
		"identity_check": {"Badge and photo ID seen; confirmed by phone with the department"},
		"categories":     {"loans", "holds"}, "scope_from": {"2026-06-01"}, "scope_to": {"2026-06-30"},
		"cards": {strings.Join(cards, "\n")}, "place_holds": {"yes"},
	}
}

// legalOfficers signs in the officer who records requests (the preparer)
// and a second officer who approves.
func legalOfficers(t *testing.T, a *app) (prep, second *client) {
	t.Helper()
	a.staff("preparer", models.RolePrivacyOfficer)
	a.staff("second", models.RolePrivacyOfficer)
	prep, second = a.client(), a.client()
	wantRedirect(t, prep.staffSignIn("preparer", staffPassword), "/staff")
	wantRedirect(t, second.staffSignIn("second", staffPassword), "/staff")
	return prep, second
}

// record posts the request form and returns the new request's ID.
func (c *client) record(t *testing.T, form url.Values) string {
	t.Helper()
	form.Set("csrf_token", c.csrf("/staff/legal/new"))
	r := c.post("/staff/legal/new", form)
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/staff/legal/") {
		t.Fatalf("recorded request: redirect to %q", loc)
	}
	return strings.TrimPrefix(loc, "/staff/legal/")
}

// step posts one step of a request's workflow from its page.
func (c *client) step(id, step string, form url.Values) response {
	c.a.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", c.csrf("/staff/legal/"+id))
	return c.post("/staff/legal/"+id+"/"+step, form)
}

func review(outcome string) url.Values {
	return url.Values{"reviewer": {"M. Chen, Office of the City Attorney"}, "reviewed_on": {"2026-11-24"},
		"outcome": {outcome}, "review_notes": {"Valid on its face."}}
}

func tableCount(t *testing.T, a *app, table string) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// wantNothingProduced checks a refused production: its status, the reason
// on the page, no file, and nothing recorded.
func wantNothingProduced(t *testing.T, a *app, r response, status int, why string) {
	t.Helper()
	wantStatus(t, r, status)
	if cd := r.Header.Get("Content-Disposition"); cd != "" || strings.HasPrefix(r.body, "PK") {
		t.Fatalf("a refused production sent a file (%q)", cd)
	}
	if why != "" && !strings.Contains(r.doc(t).Find(`[data-testid="produce-error"]`).Text(), why) {
		t.Fatalf("the refusal says why next to the step; want %q in\n%s", why, excerpt(r.body))
	}
	if n := tableCount(t, a, "legal_productions"); n != 0 {
		t.Fatalf("%d productions recorded after a refusal", n)
	}
	if n := tableCount(t, a, "legal_production_patrons"); n != 0 {
		t.Fatalf("%d production parts recorded after a refusal", n)
	}
	if n := auditCount(t, a, models.AuditLegalProduce); n != 0 {
		t.Fatalf("%d production audit entries after a refusal", n)
	}
	var produced int64
	a.store.DB.Model(&models.LegalRequestPatron{}).Where("produced_at IS NOT NULL").Count(&produced)
	if produced != 0 {
		t.Fatal("a refused production marked patrons as produced")
	}
}

// Records are produced only after a favourable review and a second staff
// member's approval: every earlier attempt is refused, says why, sends
// nothing and records nothing.
func TestLegalProductionIsRefusedBeforeReviewAndApproval(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		a.staff("assistant", models.RoleAssistant)
		asst := a.client()
		wantRedirect(t, asst.staffSignIn("assistant", staffPassword), "/staff")

		id := prep.record(t, legalForm("search_warrant", card))
		// Before any review.
		wantNothingProduced(t, a, prep.step(id, "produce", nil), http.StatusConflict, "only after a favourable legal review")
		r := second.step(id, "approve", nil)
		wantStatus(t, r, http.StatusConflict)
		if !strings.Contains(r.doc(t).Find(`[data-testid="approve-error"]`).Text(), "review must be recorded") {
			t.Fatalf("approval before review says why: %s", excerpt(r.body))
		}
		// A refused review: never approved, never produced.
		refusedID := prep.record(t, legalForm("court_order", card))
		wantRedirect(t, second.step(refusedID, "review", review("refused")), "/staff/legal/"+refusedID)
		wantNothingProduced(t, a, prep.step(refusedID, "produce", nil), http.StatusConflict, "review refused this request")
		wantStatus(t, second.step(refusedID, "approve", nil), http.StatusConflict)
		// Favourable review, but no approval yet.
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		wantNothingProduced(t, a, prep.step(id, "produce", nil), http.StatusConflict, "second privacy officer or administrator approves")
		// The preparer cannot approve their own request.
		r = prep.step(id, "approve", nil)
		wantStatus(t, r, http.StatusForbidden)
		if !strings.Contains(r.doc(t).Find(`[data-testid="approve-error"]`).Text(), "You recorded this request") {
			t.Fatalf("approval by the preparer says why: %s", excerpt(r.body))
		}
		if !strings.Contains(prep.get("/staff/legal/"+id).doc(t).Find(`[data-testid="approve-why-not"]`).Text(), "You recorded this request") {
			t.Fatal("the preparer's page says why they cannot approve, instead of a button")
		}
		// An assistant cannot reach any step.
		for _, step := range []string{"review", "approve", "produce", "nondisclosure/lift"} {
			wantStatus(t, asst.post("/staff/legal/"+id+"/"+step, url.Values{"csrf_token": {asst.csrf("/staff")}}), http.StatusForbidden)
		}
		var req models.LegalRequest
		a.store.DB.Where("id = ?", id).Take(&req)
		if req.ApprovedBy != nil || auditCount(t, a, models.AuditLegalApprove) != 0 {
			t.Fatal("no refused approval is recorded")
		}
		wantNothingProduced(t, a, prep.step(id, "produce", nil), http.StatusConflict, "")
		// A GET never produces; the old one-click route is gone.
		for _, path := range []string{"/staff/legal/" + id + "/produce", "/staff/legal/" + id + "/patrons/" + itoa(p.ID) + "/records.json"} {
			r := second.get(path)
			if r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s: status %d, want 405 or 404", path, r.StatusCode)
			}
		}
		r = second.post("/staff/legal/"+id+"/patrons/"+itoa(p.ID)+"/records.json", url.Values{"csrf_token": {second.csrf("/staff/legal/" + id)}})
		if r.StatusCode != http.StatusNotFound || r.Header.Get("Content-Disposition") != "" {
			t.Fatalf("POST to the old records.json route: status %d", r.StatusCode)
		}
		wantNothingProduced(t, a, r, http.StatusNotFound, "")
		// Approved by the second officer: now it produces.
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
		if n := tableCount(t, a, "legal_productions"); n != 1 {
			t.Fatalf("%d productions, want 1", n)
		}
	})
}

// A national security letter, or other process not issued by a court, is
// recorded (and may be reviewed for the file) but is never approved and
// never produces records, even if its row claimed an approval.
func TestLegalProcessNotIssuedByACourtNeverProduces(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		for _, kind := range []string{"national_security_letter", "other"} {
			f := legalForm(kind, card)
			f.Del("place_holds") // no legal hold for process not issued by a court
			id := prep.record(t, f)
			page := prep.get("/staff/legal/" + id)
			if !strings.Contains(page.doc(t).Find(`[data-testid="not-court-issued"]`).Text(), "never approved and no records are ever produced") {
				t.Fatalf("%s: the page says plainly nothing can be produced", kind)
			}
			if page.doc(t).Find(`form[action$="/produce"], form[action$="/approve"]`).Length() != 0 {
				t.Fatalf("%s: the page offers approval or production", kind)
			}
			wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
			r := second.step(id, "approve", nil)
			wantStatus(t, r, http.StatusConflict)
			if !strings.Contains(r.doc(t).Find(`[data-testid="approve-error"]`).Text(), "not issued by a court") {
				t.Fatalf("%s: approval refused with the reason", kind)
			}
			wantNothingProduced(t, a, prep.step(id, "produce", nil), http.StatusConflict, "not issued by a court")
			// Even an approval written straight into the row produces nothing.
			a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", id).Updates(map[string]any{"approved_by": 1, "approved_at": testNow})
			wantNothingProduced(t, a, second.step(id, "produce", nil), http.StatusConflict, "not issued by a court")
			list := prep.get("/staff/legal").doc(t).Find(`[data-testid="legal-status"]`).Text()
			if !strings.Contains(list, "Not issued by a court: nothing can be produced") {
				t.Fatalf("%s: the list's status says so: %q", kind, list)
			}
		}
	})
}

// seedScoped gives a patron records inside and outside June 2026 in the
// library's zone, in the scoped categories and others.
func seedScoped(t *testing.T, a *app, p models.Patron) {
	t.Helper()
	at := func(s string) time.Time {
		x, err := time.ParseInLocation("2006-01-02 15:04", s, legalZone)
		if err != nil {
			t.Fatal(err)
		}
		return x.UTC() // stored as UTC, as everything is
	}
	closed := at("2026-06-10 10:00")
	rows := []any{
		&models.Loan{PatronID: p.ID, Title: "Loan first day", CheckedOutAt: at("2026-06-01 00:00"), DueAt: at("2026-07-01 00:00")},
		&models.Loan{PatronID: p.ID, Title: "Loan last evening", CheckedOutAt: at("2026-06-30 23:30"), DueAt: at("2026-07-30 00:00")},
		&models.Loan{PatronID: p.ID, Title: "Loan before scope", CheckedOutAt: at("2026-05-31 23:59"), DueAt: at("2026-06-30 00:00")},
		&models.Loan{PatronID: p.ID, Title: "Loan after scope", CheckedOutAt: at("2026-07-01 00:00"), DueAt: at("2026-08-01 00:00")},
		// Closed months ago: past retention, kept only by the legal hold.
		&models.Hold{PatronID: p.ID, Title: "Hold kept by the legal hold", Status: models.HoldFilled, PlacedAt: at("2026-06-05 12:00"), ClosedAt: &closed},
		&models.Hold{PatronID: p.ID, Title: "Hold after scope", Status: models.HoldWaiting, PlacedAt: at("2026-08-05 12:00")},
		&models.HistoryEntry{PatronID: p.ID, Title: "Reading history title", CheckedOutAt: at("2026-06-02 10:00"), ReturnedAt: at("2026-06-12 10:00")},
		&models.Fine{PatronID: p.ID, Description: "Fine in range", AmountCents: 100, Status: models.FinePaid, AssessedAt: at("2026-06-15 10:00")},
	}
	for _, r := range rows {
		if err := a.store.DB.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func unzip(t *testing.T, body string) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("the package is not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = b
	}
	return out
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The package holds only the categories the order names, and in each
// only records dated inside the scope's days (in the library's zone);
// records a legal hold kept past retention are in it; the manifest's
// SHA-256s match the parts and the recorded hash matches the zip; the
// production, its parts, the patrons and one audit entry each are
// recorded with who and when.
func TestLegalProductionHoldsOnlyTheScope(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		q := a.patron("21000000007777", "1111", "Ida", "Wells")
		seedScoped(t, a, p)
		prep, second := legalOfficers(t, a)
		id := prep.record(t, legalForm("search_warrant", card, q.CardNumber))
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		// Retention runs: the filled hold is long past its 30 days, but
		// the legal hold keeps it.
		purgeCounts(t, a)
		if countRows(t, a.store.DB, "holds", p.ID) != 2 {
			t.Fatal("the legal hold keeps the patron's holds")
		}

		r := prep.step(id, "produce", nil)
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/zip" {
			t.Fatalf("Content-Type %q", ct)
		}
		if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers: %v", r.Header)
		}
		files := unzip(t, r.body)
		var man models.LegalManifest
		if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		if man.Request.Kind != "Search warrant" || man.Request.Court != "Superior Court of California" || man.Request.Reference != "SW-2026-118" ||
			man.Request.OfficerName != "Det. Ana Ruiz" || man.Request.OfficerAgency != "Oakland Police Department" ||
			strings.Join(man.Scope.Categories, ",") != "loans,holds" || man.Scope.From != "2026-06-01" || man.Scope.To != "2026-06-30" ||
			man.ProducedBy != "Preparer Staffer" || man.ApprovedBy != "Second Staffer" || !man.ProducedAt.Equal(a.clock.Now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("manifest names the request, scope, who and when: %+v", man)
		}
		if len(man.Parts) != 2 || len(files) != 3 {
			t.Fatalf("one part per patron and a manifest: %d parts, %d files", len(man.Parts), len(files))
		}
		var rosa []byte
		for _, part := range man.Parts {
			data, ok := files[part.Name]
			if !ok || part.Size != len(data) || part.SHA256 != hexSum(data) {
				t.Fatalf("part %s: size %d sha %s do not match the file", part.Name, part.Size, part.SHA256)
			}
			if part.CardNumber == card {
				rosa = data
			}
		}
		var doc struct {
			CardNumber string `json:"card_number"`
			Categories map[string]struct {
				Records []map[string]any `json:"records"`
			} `json:"categories"`
		}
		if err := json.Unmarshal(rosa, &doc); err != nil || doc.CardNumber != card {
			t.Fatalf("Rosa's part: %v", err)
		}
		if len(doc.Categories) != 2 {
			t.Fatalf("only the named categories: %v", doc.Categories)
		}
		titles := func(key string) []string {
			var out []string
			for _, rec := range doc.Categories[key].Records {
				out = append(out, rec["title"].(string))
			}
			return out
		}
		if got := strings.Join(titles("loans"), "|"); got != "Loan last evening|Loan first day" {
			t.Fatalf("loans inside the dates only: %q", got)
		}
		if got := strings.Join(titles("holds"), "|"); got != "Hold kept by the legal hold" {
			t.Fatalf("holds inside the dates, kept by the legal hold: %q", got)
		}
		for _, never := range []string{"Reading history title", "Fine in range", "rosa@example.org", "Loan before scope", "Loan after scope"} {
			if bytes.Contains(rosa, []byte(never)) {
				t.Fatalf("the part holds %q, which the scope does not name", never)
			}
		}

		// What is recorded.
		var prod models.LegalProduction
		if err := a.store.DB.Where("request_id = ?", id).Take(&prod).Error; err != nil {
			t.Fatal(err)
		}
		var prepSt, secondSt models.Staff
		a.store.DB.Where("username = ?", "preparer").Take(&prepSt)
		a.store.DB.Where("username = ?", "second").Take(&secondSt)
		if prod.PackageSHA256 != hexSum([]byte(r.body)) || prod.Manifest != string(files["manifest.json"]) ||
			prod.Categories != "loans,holds" || prod.ProducedBy == nil || *prod.ProducedBy != prepSt.ID ||
			prod.ApprovedBy == nil || *prod.ApprovedBy != secondSt.ID || !prod.ProducedAt.Equal(man.ProducedAt) {
			t.Fatalf("the production as recorded: %+v", prod)
		}
		var parts []models.LegalProductionPatron
		a.store.DB.Where("production_id = ?", prod.ID).Order("patron_id").Find(&parts)
		if len(parts) != 2 || parts[0].PatronID != p.ID || parts[0].SHA256 != hexSum(rosa) {
			t.Fatalf("each patron's part is recorded with its SHA-256: %+v", parts)
		}
		var covered []models.LegalRequestPatron
		a.store.DB.Where("request_id = ?", id).Find(&covered)
		for _, c := range covered {
			if c.ProducedAt == nil || !c.ProducedAt.Equal(prod.ProducedAt) {
				t.Fatalf("patron %d: produced_at %v", c.PatronID, c.ProducedAt)
			}
		}
		var entries []models.AuditEntry
		a.store.DB.Where("action = ?", models.AuditLegalProduce).Order("patron_id").Find(&entries)
		if len(entries) != 2 {
			t.Fatalf("%d production audit entries, want one per patron", len(entries))
		}
		for _, e := range entries {
			if e.StaffID == nil || *e.StaffID != prepSt.ID || e.Restricted ||
				!strings.Contains(e.Detail, "Current loans, Holds") || !strings.Contains(e.Detail, "2026-06-01 to 2026-06-30") ||
				!strings.Contains(e.Detail, "Superior Court of California") || !strings.Contains(e.Detail, "SW-2026-118") ||
				strings.Contains(e.Detail, "Loan first day") {
				t.Fatalf("audit entry: %+v", e)
			}
		}
		// The page lists the production; the list says Produced (1).
		page := prep.get("/staff/legal/" + id).doc(t)
		if got := page.Find(`[data-testid="produced"]`).Text(); !strings.Contains(got, prod.PackageSHA256) ||
			!strings.Contains(got, "Preparer Staffer") || !strings.Contains(got, "Second Staffer") ||
			!strings.Contains(got, "June 1, 2026 to June 30, 2026") {
			t.Fatalf("the page lists the production: %q", got)
		}
		if got := prep.get("/staff/legal").doc(t).Find(`[data-testid="legal-status"]`).Text(); !strings.Contains(got, "Produced (1)") {
			t.Fatalf("list status %q", got)
		}
		if res, err := a.store.VerifyAudit(t.Context(), nil, "test"); err != nil || !res.Intact() {
			t.Fatalf("audit chain: %s (%v)", res.Summary(), err)
		}
	})
}

// While a nondisclosure order is in force, entries about the patron are
// restricted (never shown to them); lifting it adds an entry they see, and
// what is done after is not restricted.
func TestLegalNondisclosureRestrictsUntilLifted(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		form := legalForm("court_order", card)
		form.Set("nondisclosure", "yes")
		form.Set("nondisclosure_until", "2027-06-30")
		id := prep.record(t, form)
		var req models.LegalRequest
		a.store.DB.Where("id = ?", id).Take(&req)
		if want := time.Date(2027, 7, 1, 0, 0, 0, 0, legalZone); req.NondisclosureUntil == nil || !req.NondisclosureUntil.Equal(want) {
			t.Fatalf("nondisclosure ends when the day after its last day starts, in the library's zone: %v", req.NondisclosureUntil)
		}
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
		restricted := func(action string) []bool {
			var es []models.AuditEntry
			a.store.DB.Where("action = ? AND patron_id = ?", action, p.ID).Order("id").Find(&es)
			var out []bool
			for _, e := range es {
				out = append(out, e.Restricted)
			}
			return out
		}
		if got := restricted(models.AuditLegalProduce); len(got) != 1 || !got[0] {
			t.Fatalf("production under nondisclosure: restricted %v", got)
		}
		if got := restricted(models.AuditLegalHold); len(got) != 1 || !got[0] {
			t.Fatalf("hold under nondisclosure: restricted %v", got)
		}
		pc := a.client()
		pc.signIn(card, pin)
		if page := pc.get("/data/staff-access").body; strings.Contains(page, "Produced your records") || strings.Contains(page, "Suspended deletion") || strings.Contains(page, "SW-2026-118") {
			t.Fatal("under a nondisclosure order the patron is not told")
		}
		// An officer lifts it, once.
		r := second.step(id, "nondisclosure/lift", nil)
		wantRedirect(t, r, "/staff/legal/"+id)
		wantStatus(t, second.step(id, "nondisclosure/lift", nil), http.StatusConflict)
		a.store.DB.Where("id = ?", id).Take(&req)
		if req.NondisclosureLiftedAt == nil || req.NondisclosureLiftedBy == nil || auditCount(t, a, models.AuditLegalNondisclosureLift) != 1 {
			t.Fatalf("the lift is recorded with who and when: %+v", req)
		}
		if got := restricted(models.AuditLegalNondisclosureEnded); len(got) != 1 || got[0] {
			t.Fatalf("the patron's entry that the order ended is not restricted: %v", got)
		}
		var ended models.AuditEntry
		a.store.DB.Where("action = ? AND patron_id = ?", models.AuditLegalNondisclosureEnded, p.ID).Take(&ended)
		for _, want := range []string{"It was lifted on 2026-11-27.", "On 2026-11-27 a legal hold for it paused deletion of your records.",
			"On 2026-11-27 your records were produced for it: Current loans, Holds, from 2026-06-01 to 2026-06-30."} {
			if !strings.Contains(ended.Detail, want) {
				t.Fatalf("the entry says what was held and produced under the order: %q", ended.Detail)
			}
		}
		// The sweep never writes it again.
		if _, err := a.store.SweepEndedNondisclosure(t.Context(), legalZone); err != nil || len(restricted(models.AuditLegalNondisclosureEnded)) != 1 {
			t.Fatalf("the end is recorded once (%v)", err)
		}
		if page := pc.get("/data/staff-access").body; !strings.Contains(page, "SW-2026-118") || !strings.Contains(page, "order not to tell you has ended") {
			t.Fatal("after lifting, the patron sees that the order ended")
		}
		// After lifting: releasing the hold and producing again (after a
		// new approval) are shown.
		wantRedirect(t, prep.step(id, "patrons/"+itoa(p.ID)+"/release", nil), "/staff/legal/"+id)
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
		if got := restricted(models.AuditLegalRelease); len(got) != 1 || got[0] {
			t.Fatalf("release after lifting: restricted %v", got)
		}
		if got := restricted(models.AuditLegalProduce); len(got) != 2 || !got[0] || got[1] {
			t.Fatalf("productions before and after lifting: restricted %v", got)
		}
		if !strings.Contains(prep.get("/staff/legal/"+id).doc(t).Find(`[data-testid="nondisclosure"]`).Text(), "Lifted by Second Staffer") {
			t.Fatal("the page says who lifted the order")
		}
	})
}

// A nondisclosure order whose end date has passed no longer restricts.
func TestLegalNondisclosureEndsOnItsDate(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep, _ := legalOfficers(t, a)
		form := legalForm("court_order", card)
		form.Set("nondisclosure", "yes")
		form.Set("nondisclosure_until", "2026-11-25")
		form.Set("place_holds", "")
		id := prep.record(t, form)
		// testNow is November 27: the order ended on the 25th.
		wantRedirect(t, prep.step(id, "patrons/"+itoa(p.ID)+"/hold", nil), "/staff/legal/"+id)
		var e models.AuditEntry
		a.store.DB.Where("action = ? AND patron_id = ?", models.AuditLegalHold, p.ID).Take(&e)
		if e.Restricted {
			t.Fatal("a hold placed after the order ended is not restricted")
		}
		wantStatus(t, prep.step(id, "nondisclosure/lift", nil), http.StatusConflict)
	})
}

// Every missing or bad field of the request form is named next to it
// (422), and nothing is saved.
func TestLegalRequestFormNamesEachBadField(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		prep, _ := legalOfficers(t, a)
		page := prep.get("/staff/legal/new")
		wantStatus(t, page, http.StatusOK)
		doc := page.doc(t)
		if doc.Find(`input[name="attorney_reviewed"]`).Length() != 0 {
			t.Fatal("the form no longer has a City Attorney checkbox: the review is its own step")
		}
		if n := doc.Find(`input[name="categories"]`).Length(); n != len(models.Categories()) || doc.Find(`input[name="categories"][checked]`).Length() != 0 {
			t.Fatalf("one unchecked box per category: %d", n)
		}
		if !strings.Contains(doc.Find(`#kind`).Text(), "National security letter (not issued by a court)") {
			t.Fatal("the kinds say which are not issued by a court")
		}
		post := func(f url.Values) response {
			f.Set("csrf_token", prep.csrf("/staff/legal/new"))
			return prep.post("/staff/legal/new", f)
		}
		r := post(url.Values{})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		d := r.doc(t)
		for _, field := range []string{"kind", "issuer", "reference", "received_on", "officer_name", "officer_agency",
			"identity_check", "categories", "scope_from", "scope_to", "cards"} {
			if d.Find(`[data-testid="`+field+`-error"]`).Length() != 1 {
				t.Errorf("no message next to %s", field)
			}
		}
		for _, c := range []struct {
			name, field, want string
			change            func(url.Values)
		}{
			{"to before from", "scope_to", "on or after the first date", func(f url.Values) { f.Set("scope_to", "2026-05-01") }},
			{"bad from", "scope_from", "first date", func(f url.Values) { f.Set("scope_from", "June 1") }},
			{"unknown category", "categories", "only the categories listed", func(f url.Values) { f["categories"] = []string{"loans", "everything"} }},
			{"no category", "categories", "at least one", func(f url.Values) { f.Del("categories") }},
			{"nondisclosure without end", "nondisclosure_until", "Give the last day", func(f url.Values) { f.Set("nondisclosure", "yes") }},
			{"nondisclosure ending before receipt", "nondisclosure_until", "on or after the date the request was received", func(f url.Values) {
				f.Set("nondisclosure", "yes")
				f.Set("nondisclosure_until", "2026-11-19")
			}},
			{"end date without nondisclosure", "nondisclosure_until", "Tick", func(f url.Values) { f.Set("nondisclosure_until", "2027-01-01") }},
			{"officer on two lines", "officer_name", "one line", func(f url.Values) { f.Set("officer_name", "Ana\nRuiz") }},
			{"unknown card", "cards", "No patron has these card numbers", func(f url.Values) { f.Set("cards", "999") }},
		} {
			f := legalForm("search_warrant", card)
			c.change(f)
			r := post(f)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if got := r.doc(t).Find(`[data-testid="` + c.field + `-error"]`).Text(); !strings.Contains(got, c.want) {
				t.Errorf("%s: message next to %s is %q, want %q", c.name, c.field, got, c.want)
			}
			if v, _ := r.doc(t).Find(`#officer_agency`).Attr("value"); v != "Oakland Police Department" {
				t.Errorf("%s: the form keeps what was typed", c.name)
			}
		}
		if n := tableCount(t, a, "legal_requests"); n != 0 {
			t.Fatalf("%d requests saved from bad forms", n)
		}
		if n := auditCount(t, a, models.AuditLegalRequest); n != 0 {
			t.Fatalf("%d audit entries from bad forms", n)
		}
		// A good form stores every fact, the scope as days in the library's zone.
		id := prep.record(t, legalForm("search_warrant", card))
		var req models.LegalRequest
		a.store.DB.Where("id = ?", id).Take(&req)
		from, to := time.Date(2026, 6, 1, 0, 0, 0, 0, legalZone), time.Date(2026, 6, 30, 0, 0, 0, 0, legalZone)
		if req.ScopeCategories != "loans,holds" || req.ScopeFrom == nil || !req.ScopeFrom.Equal(from) || req.ScopeTo == nil ||
			!req.ScopeTo.Equal(to) || req.OfficerName != "Det. Ana Ruiz" || req.OfficerAgency != "Oakland Police Department" ||
			!strings.HasPrefix(req.IdentityCheck, "Badge") || req.Nondisclosure || req.NondisclosureUntil != nil || req.ReviewOutcome != "" {
			t.Fatalf("stored: %+v", req)
		}
		detail := prep.get("/staff/legal/" + id).doc(t)
		facts := detail.Find(`[data-testid="facts"]`).Text()
		for _, want := range []string{"Det. Ana Ruiz", "Oakland Police Department", "Badge and photo ID", "Current loans, Holds",
			"June 1, 2026 to June 30, 2026", "Preparer Staffer"} {
			if !strings.Contains(facts, want) {
				t.Errorf("the page shows %q", want)
			}
		}
		if !strings.Contains(detail.Find(`[data-testid="steps"]`).Text(), "Legal review: Waiting.") {
			t.Error("the checklist says the review is waiting")
		}
		if got := prep.get("/staff/legal").doc(t).Find(`[data-testid="legal-status"]`).Text(); !strings.Contains(got, "Awaiting legal review") {
			t.Errorf("list status %q", got)
		}
	})
}

// The review names its fields' problems, is recorded once with who and
// when, and is audited.
func TestLegalReviewIsRecordedOnce(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		id := prep.record(t, legalForm("subpoena", card))
		r := second.step(id, "review", url.Values{"reviewed_on": {"yesterday"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		for _, field := range []string{"reviewer", "reviewed_on", "outcome"} {
			if r.doc(t).Find(`[data-testid="`+field+`-error"]`).Length() != 1 {
				t.Errorf("no message next to %s", field)
			}
		}
		early := review("favourable")
		early.Set("reviewed_on", "2026-11-01")
		r = second.step(id, "review", early)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.doc(t).Find(`[data-testid="reviewed_on-error"]`).Text(), "before the date the request was received") {
			t.Error("a review dated before the request was received is refused")
		}
		if auditCount(t, a, models.AuditLegalReview) != 0 {
			t.Fatal("a bad review is not recorded")
		}
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		r = prep.step(id, "review", review("refused"))
		wantStatus(t, r, http.StatusConflict)
		if !strings.Contains(r.doc(t).Find(`[data-testid="review-error"]`).Text(), "already reviewed") {
			t.Fatalf("a second review says why it is refused: %s", excerpt(r.body))
		}
		var req models.LegalRequest
		a.store.DB.Where("id = ?", id).Take(&req)
		var secondSt models.Staff
		a.store.DB.Where("username = ?", "second").Take(&secondSt)
		if req.ReviewOutcome != models.ReviewFavourable || req.Reviewer != "M. Chen, Office of the City Attorney" ||
			req.ReviewedOn == nil || !req.ReviewedOn.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, legalZone)) ||
			req.ReviewRecordedBy == nil || *req.ReviewRecordedBy != secondSt.ID || auditCount(t, a, models.AuditLegalReview) != 1 {
			t.Fatalf("the review as recorded: %+v", req)
		}
		steps := prep.get("/staff/legal/" + id).doc(t).Find(`[data-testid="steps"]`).Text()
		if !strings.Contains(steps, "Legal review: Done. Favourable, by M. Chen") || !strings.Contains(steps, "Approval by a second staff member: Waiting.") {
			t.Fatalf("the checklist: %q", steps)
		}
	})
}

// The models refuse what the router refuses, whoever calls them.
func TestLegalModelRefusals(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep := a.staff("preparer", models.RolePrivacyOfficer)
		asst := a.staff("assistant", models.RoleAssistant)
		ctx := context.Background()
		from, to := time.Date(2026, 6, 1, 0, 0, 0, 0, legalZone), time.Date(2026, 6, 30, 0, 0, 0, 0, legalZone)
		req, _, err := a.store.CreateLegalRequest(ctx, prep.ID, models.LegalForm{Kind: "court_order", Issuer: "Court", Reference: "R-1",
			Categories: []string{"loans"}, ScopeFrom: &from, ScopeTo: &to}, testNow, []string{p.CardNumber})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.store.ReviewLegalRequest(ctx, prep.ID, req.ID, models.LegalReviewForm{Reviewer: "CA", Outcome: models.ReviewFavourable}, testNow); err != nil {
			t.Fatal(err)
		}
		var why *models.LegalRefusal
		for _, who := range []models.Staff{prep, asst} {
			if err := a.store.ApproveLegalRequest(ctx, who, req.ID); err == nil || !errors.As(err, &why) || !why.Forbidden {
				t.Fatalf("approval by %s: %v", who.Username, err)
			}
		}
		if _, err := a.store.ProduceLegal(ctx, prep.ID, req.ID, legalZone, models.ExportMeta{}); !errors.As(err, &why) {
			t.Fatalf("production without approval: %v", err)
		}
	})
}

// approveLegal records, through the store, a favourable review and a
// second officer's approval of a request, so that it can produce.
func (a *app) approveLegal(t *testing.T, req models.LegalRequest) {
	t.Helper()
	var approver models.Staff
	if err := a.store.DB.Where("username = ?", "legalapprover").Take(&approver).Error; err != nil {
		approver = a.staff("legalapprover", models.RolePrivacyOfficer)
	}
	ctx := context.Background()
	if err := a.store.ReviewLegalRequest(ctx, approver.ID, req.ID, models.LegalReviewForm{
		Reviewer: "Office of the City Attorney", Outcome: models.ReviewFavourable}, req.ReceivedOn); err != nil {
		t.Fatal(err)
	}
	if err := a.store.ApproveLegalRequest(ctx, approver, req.ID); err != nil {
		t.Fatal(err)
	}
}

// inZone is a wall-clock time in the tests' library zone.
func inZone(t *testing.T, v string) time.Time {
	t.Helper()
	x, err := time.ParseInLocation("2006-01-02 15:04", v, legalZone)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// postLegal posts the request form and returns the response.
func (c *client) postLegal(f url.Values) response {
	f.Set("csrf_token", c.csrf("/staff/legal/new"))
	return c.post("/staff/legal/new", f)
}

// The form's dates are read on the store's clock (not the machine's) and
// kept within sane bounds; card lines are short, and unknown cards are
// named only a few at a time.
func TestLegalFormDatesAndCardsAreBounded(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		var many []string
		for i := 0; i < 40; i++ {
			many = append(many, "9000000000"+strings.Repeat("0", 2-len(itoa(int64(i))))+itoa(int64(i)))
		}
		for _, c := range []struct {
			name, field, want string
			change            func(url.Values)
		}{
			// The store's clock says November 27; the machine's may be later.
			{"received after the store's today", "received_on", "cannot be in the future", func(f url.Values) { f.Set("received_on", "2026-11-30") }},
			{"received long ago", "received_on", "within the last 20 years", func(f url.Values) { f.Set("received_on", "1999-01-01") }},
			{"scope from year 1", "scope_from", "1970", func(f url.Values) { f.Set("scope_from", "0001-01-01") }},
			{"scope after receipt", "scope_to", "cannot be after the date the request was received", func(f url.Values) { f.Set("scope_to", "2035-12-31") }},
			{"nondisclosure in year 9999", "nondisclosure_until", "within 20 years", func(f url.Values) {
				f.Set("nondisclosure", "yes")
				f.Set("nondisclosure_until", "9999-12-31")
			}},
			{"a card line too long", "cards", "at most 32 characters", func(f url.Values) { f.Set("cards", card+"\n"+strings.Repeat("7", 33)) }},
		} {
			f := legalForm("search_warrant", card)
			c.change(f)
			r := prep.postLegal(f)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if got := r.doc(t).Find(`[data-testid="` + c.field + `-error"]`).Text(); !strings.Contains(got, c.want) {
				t.Errorf("%s: message next to %s is %q, want %q", c.name, c.field, got, c.want)
			}
		}
		f := legalForm("search_warrant", card)
		f.Set("cards", strings.Join(many, "\n"))
		r := prep.postLegal(f)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		got := r.doc(t).Find(`[data-testid="cards-error"]`).Text()
		if !strings.Contains(got, many[4]) || strings.Contains(got, many[5]) || !strings.Contains(got, "and 35 more") {
			t.Errorf("unknown cards: a few named, the rest counted: %q", got)
		}
		huge := strings.Repeat("x", 20000)
		f = legalForm("search_warrant", card)
		f.Set("cards", huge)
		r = prep.postLegal(f)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if strings.Contains(r.body, strings.Repeat("x", 100)) || !strings.Contains(r.doc(t).Find(`[data-testid="cards-error"]`).Text(), "at most 100") {
			t.Error("a huge card box is refused and not echoed back")
		}
		if n := tableCount(t, a, "legal_requests"); n != 0 {
			t.Fatalf("%d requests saved from bad forms", n)
		}
		// The review's date too is read on the store's clock.
		id := prep.record(t, legalForm("search_warrant", card))
		rv := review("favourable")
		rv.Set("reviewed_on", "2026-11-30")
		r = second.step(id, "review", rv)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.doc(t).Find(`[data-testid="reviewed_on-error"]`).Text(), "cannot be in the future") {
			t.Errorf("a review dated after the store's today is refused: %s", excerpt(r.body))
		}
	})
}

// The form asks for the last day a nondisclosure order applies, and the
// order is in force through the whole of that day in the library's zone:
// at 23:59 a hold is still secret, at 00:00 the next day it is not.
func TestLegalNondisclosureAppliesThroughItsLastDay(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		q := a.patron("21000000007777", "1111", "Ida", "Wells")
		prep, _ := legalOfficers(t, a)
		if !strings.Contains(prep.get("/staff/legal/new").doc(t).Find(`label[for="nondisclosure_until"]`).Text(), "Last day the nondisclosure order applies") {
			t.Fatal("the form asks for the order's last day")
		}
		form := legalForm("court_order", card, q.CardNumber)
		form.Set("nondisclosure", "yes")
		form.Set("nondisclosure_until", "2026-11-28")
		form.Del("place_holds")
		id := prep.record(t, form)
		var req models.LegalRequest
		a.store.DB.Where("id = ?", id).Take(&req)
		if want := inZone(t, "2026-11-29 00:00"); req.NondisclosureUntil == nil || !req.NondisclosureUntil.Equal(want) {
			t.Fatalf("stored as the start of the following day: %v", req.NondisclosureUntil)
		}
		restricted := func(pid int64) bool {
			var e models.AuditEntry
			if err := a.store.DB.Where("action = ? AND patron_id = ?", models.AuditLegalHold, pid).Take(&e).Error; err != nil {
				t.Fatal(err)
			}
			return e.Restricted
		}
		// Staff sessions time out while the clock moves on: sign in anew.
		signIn := func(at string) {
			a.clock.Set(inZone(t, at))
			prep = a.client()
			wantRedirect(t, prep.staffSignIn("preparer", staffPassword), "/staff")
		}
		signIn("2026-11-28 23:59")
		if got := prep.get("/staff/legal/" + id).doc(t).Find(`[data-testid="nondisclosure"]`).Text(); !strings.Contains(got, "In force through November 28, 2026") {
			t.Fatalf("on its last day the order is in force: %q", got)
		}
		wantRedirect(t, prep.step(id, "patrons/"+itoa(p.ID)+"/hold", nil), "/staff/legal/"+id)
		if !restricted(p.ID) {
			t.Fatal("a hold placed at 23:59 on the last day is restricted")
		}
		signIn("2026-11-29 00:00")
		if got := prep.get("/staff/legal/" + id).doc(t).Find(`[data-testid="nondisclosure"]`).Text(); !strings.Contains(got, "its last day was November 28, 2026") {
			t.Fatalf("the next day the order has ended: %q", got)
		}
		wantRedirect(t, prep.step(id, "patrons/"+itoa(q.ID)+"/hold", nil), "/staff/legal/"+id)
		if restricted(q.ID) {
			t.Fatal("a hold placed at 00:00 the next day is not restricted")
		}
	})
}

// coveredHold is what a request's page says of a patron's legal hold.
func coveredHold(t *testing.T, c *client, id string) string {
	t.Helper()
	return strings.Join(strings.Fields(c.get("/staff/legal/"+id).doc(t).Find(`[data-testid="covered"] tbody td`).First().Text()), " ")
}

// Each request holds a patron with its own hold: a second request on the
// same patron places and releases only its own, and never ends (or
// reveals) a hold kept secret under another request's nondisclosure order.
func TestLegalHoldsBelongToTheirRequest(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		dueRecords(t, a, p)
		prep, _ := legalOfficers(t, a)
		secret := legalForm("court_order", card)
		secret.Set("reference", "ND-SECRET-1")
		secret.Set("nondisclosure", "yes")
		secret.Set("nondisclosure_until", "2027-06-30")
		idA := prep.record(t, secret)
		open := legalForm("subpoena", card)
		open.Set("reference", "OPEN-2")
		open.Del("place_holds")
		idB := prep.record(t, open)
		if got := coveredHold(t, prep, idB); !strings.HasPrefix(got, "No") || !strings.Contains(got, "Place hold") {
			t.Fatalf("request B placed no hold, so its page says none: %q", got)
		}
		if got := coveredHold(t, prep, idA); !strings.HasPrefix(got, "Yes") {
			t.Fatalf("request A's page shows its hold: %q", got)
		}
		wantRedirect(t, prep.step(idB, "patrons/"+itoa(p.ID)+"/hold", nil), "/staff/legal/"+idB)
		openHolds := func(reqID string) int64 {
			var n int64
			a.store.DB.Model(&models.LegalHold{}).Where("request_id = ? AND patron_id = ? AND released_at IS NULL", reqID, p.ID).Count(&n)
			return n
		}
		if openHolds(idA) != 1 || openHolds(idB) != 1 {
			t.Fatalf("each request has its own hold: A %d, B %d", openHolds(idA), openHolds(idB))
		}
		if got := coveredHold(t, prep, idB); !strings.HasPrefix(got, "Yes") {
			t.Fatalf("B's page shows B's hold: %q", got)
		}
		wantRedirect(t, prep.step(idB, "patrons/"+itoa(p.ID)+"/release", nil), "/staff/legal/"+idB)
		if openHolds(idA) != 1 || openHolds(idB) != 0 {
			t.Fatalf("releasing B's hold leaves A's: A %d, B %d", openHolds(idA), openHolds(idB))
		}
		if got := coveredHold(t, prep, idA); !strings.HasPrefix(got, "Yes") {
			t.Fatalf("A's page still shows A's hold: %q", got)
		}
		if got := coveredHold(t, prep, idB); !strings.HasPrefix(got, "No") {
			t.Fatalf("B's page shows B's hold released: %q", got)
		}
		// A's hold still keeps the records the purge would delete.
		purgeCounts(t, a)
		if n := countRows(t, a.store.DB, "reference_questions", p.ID); n != 2 {
			t.Fatalf("A's hold keeps the patron's records: %d reference questions left", n)
		}
		// The patron sees B's hold come and go, and nothing of A.
		var es []models.AuditEntry
		a.store.DB.Where("patron_id = ? AND action IN ?", p.ID, []string{models.AuditLegalHold, models.AuditLegalRelease}).Order("id").Find(&es)
		if len(es) != 3 || !es[0].Restricted || es[1].Restricted || es[2].Restricted {
			t.Fatalf("A's hold restricted, B's hold and release not: %+v", es)
		}
		pc := a.client()
		pc.signIn(card, pin)
		if page := pc.get("/data/staff-access").body; strings.Contains(page, "ND-SECRET-1") || !strings.Contains(page, "Resumed deletion") {
			t.Fatal("the patron sees B's release and nothing of A")
		}
		if strings.Contains(pc.get("/data").body, "Deletion paused") {
			t.Fatal("with only A's secret hold left, the patron's pages look like no hold")
		}
	})
}

// A legal hold is placed only for process issued by a court, and a
// review that refuses the request releases its holds, audited: patron
// pages never call a hold "a court order" when none stands behind it.
func TestLegalHoldsOnlyForCourtIssuedProcess(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		openHolds := func() int64 {
			var n int64
			a.store.DB.Model(&models.LegalHold{}).Where("patron_id = ? AND released_at IS NULL", p.ID).Count(&n)
			return n
		}
		// The form refuses a hold for a national security letter.
		r := prep.postLegal(legalForm("national_security_letter", card))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got := r.doc(t).Find(`[data-testid="place_holds-error"]`).Text(); !strings.Contains(got, "only for process issued by a court") {
			t.Fatalf("the form says why next to the box: %q", got)
		}
		nsl := legalForm("national_security_letter", card)
		nsl.Del("place_holds")
		id := prep.record(t, nsl)
		page := prep.get("/staff/legal/" + id).doc(t)
		if page.Find(`form[action$="/hold"]`).Length() != 0 {
			t.Fatal("the page of process not issued by a court offers no hold")
		}
		r = prep.step(id, "patrons/"+itoa(p.ID)+"/hold", nil)
		wantStatus(t, r, http.StatusConflict)
		if got := r.doc(t).Find(`[data-testid="hold-error"]`).Text(); !strings.Contains(got, "not issued by a court") {
			t.Fatalf("a hold for an NSL is refused with the reason: %q", got)
		}
		// Nor through the store.
		if _, _, err := a.store.CreateLegalRequest(t.Context(), 1, models.LegalForm{Kind: "national_security_letter", Issuer: "FBI",
			Reference: "NSL-1", PlaceHolds: true}, testNow, []string{card}); err == nil {
			t.Fatal("the store refuses a hold for an NSL")
		}
		if openHolds() != 0 || auditCount(t, a, models.AuditLegalHold) != 0 {
			t.Fatal("no hold placed for process not issued by a court")
		}
		// A court order with holds, refused by the review: its holds go.
		co := prep.record(t, legalForm("court_order", card))
		if openHolds() != 1 {
			t.Fatal("the court order holds the patron")
		}
		wantRedirect(t, second.step(co, "review", review("refused")), "/staff/legal/"+co)
		if openHolds() != 0 || auditCount(t, a, models.AuditLegalRelease) != 1 {
			t.Fatalf("a refused request's holds are released, audited: %d open, %d releases", openHolds(), auditCount(t, a, models.AuditLegalRelease))
		}
		if got := coveredHold(t, prep, co); !strings.HasPrefix(got, "No") {
			t.Fatalf("the refused request's page shows no hold: %q", got)
		}
		r = prep.step(co, "patrons/"+itoa(p.ID)+"/hold", nil)
		wantStatus(t, r, http.StatusConflict)
		if got := r.doc(t).Find(`[data-testid="hold-error"]`).Text(); !strings.Contains(got, "refused") {
			t.Fatalf("a hold after a refused review is refused with the reason: %q", got)
		}
		pc := a.client()
		pc.signIn(card, pin)
		if strings.Contains(pc.get("/data").body, "Deletion paused") {
			t.Fatal("no court order keeps the patron's records")
		}
	})
}

// An approval covers one production: producing uses it up (the production
// keeps who approved it), and producing again needs a fresh approval by a
// second person, still not the preparer. A scope reaching past the date
// the request was received is never produced.
func TestLegalOneApprovalCoversOneProduction(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		id := prep.record(t, legalForm("search_warrant", card))
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
		for _, c := range []*client{prep, second} {
			r := c.step(id, "produce", nil)
			wantStatus(t, r, http.StatusConflict)
			if got := r.doc(t).Find(`[data-testid="produce-error"]`).Text(); !strings.Contains(got, "new approval") {
				t.Fatalf("a second production without a new approval says why: %q", got)
			}
		}
		if n := tableCount(t, a, "legal_productions"); n != 1 {
			t.Fatalf("%d productions from one approval", n)
		}
		page := second.get("/staff/legal/" + id).doc(t)
		if got := page.Find(`[data-testid="approval"]`).Text(); !strings.Contains(got, "Each approval covers one production") {
			t.Fatalf("the page explains that the approval was used: %q", got)
		}
		if page.Find(`form[action$="/approve"]`).Length() != 1 {
			t.Fatal("the second officer may approve again")
		}
		if got := prep.get("/staff/legal").doc(t).Find(`[data-testid="legal-status"]`).Text(); !strings.Contains(got, "Produced (1)") {
			t.Fatalf("list status %q", got)
		}
		r := prep.step(id, "approve", nil)
		wantStatus(t, r, http.StatusForbidden)
		if !strings.Contains(r.doc(t).Find(`[data-testid="approve-error"]`).Text(), "You recorded this request") {
			t.Fatal("the preparer still cannot approve")
		}
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
		var secondSt models.Staff
		a.store.DB.Where("username = ?", "second").Take(&secondSt)
		var prods []models.LegalProduction
		a.store.DB.Where("request_id = ?", id).Order("id").Find(&prods)
		if len(prods) != 2 || auditCount(t, a, models.AuditLegalApprove) != 2 {
			t.Fatalf("two approvals, two productions: %d", len(prods))
		}
		for _, p := range prods {
			if p.ApprovedBy == nil || *p.ApprovedBy != secondSt.ID {
				t.Fatalf("each production keeps who approved it: %+v", p)
			}
		}
		// A scope past the date received (a row written before the form
		// checked it) is never produced.
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", id).Update("scope_to", time.Date(2035, 12, 31, 0, 0, 0, 0, legalZone))
		r = prep.step(id, "produce", nil)
		wantStatus(t, r, http.StatusConflict)
		if got := r.doc(t).Find(`[data-testid="produce-error"]`).Text(); !strings.Contains(got, "after the date the request was received") {
			t.Fatalf("a scope past receipt is refused: %q", got)
		}
	})
}

// No production without the officer's name, agency and how their
// identity was checked, even for a request recorded before the form
// asked for them.
func TestLegalNoProductionWithoutTheOfficersIdentity(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		id := prep.record(t, legalForm("search_warrant", card))
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		for _, col := range []string{"identity_check", "officer_name", "officer_agency"} {
			var req models.LegalRequest
			a.store.DB.Where("id = ?", id).Take(&req)
			a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", id).Update(col, "")
			wantNothingProduced(t, a, prep.step(id, "produce", nil), http.StatusConflict, "identity")
			a.store.DB.Model(&models.LegalRequest{}).Where("id = ?", id).Updates(map[string]any{
				"identity_check": req.IdentityCheck, "officer_name": req.OfficerName, "officer_agency": req.OfficerAgency})
		}
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
	})
}

// A production's staff-access part leaves out entries of legal process:
// one agency's package never names another court's request.
func TestLegalProductionLeavesOutOtherLegalProcess(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		first := legalForm("court_order", card)
		first.Set("reference", "A-REF-1")
		first.Set("issuer", "Court of Agency A")
		idA := prep.record(t, first)
		wantRedirect(t, second.step(idA, "review", review("favourable")), "/staff/legal/"+idA)
		wantRedirect(t, second.step(idA, "approve", nil), "/staff/legal/"+idA)
		wantStatus(t, prep.step(idA, "produce", nil), http.StatusOK)
		if err := a.store.DB.Transaction(func(tx *gorm.DB) error {
			return a.store.AppendAudit(tx, &models.AuditEntry{PatronID: &p.ID, Action: models.AuditPatronLookup, Detail: "looked up at the desk"})
		}); err != nil {
			t.Fatal(err)
		}
		other := legalForm("search_warrant", card)
		other.Set("reference", "B-REF-2")
		other.Set("received_on", "2026-11-27")
		other.Set("scope_from", "2026-11-01")
		other.Set("scope_to", "2026-11-27")
		other["categories"] = []string{"staff_access"}
		other.Del("place_holds")
		idB := prep.record(t, other)
		rv := review("favourable")
		rv.Set("reviewed_on", "2026-11-27")
		wantRedirect(t, second.step(idB, "review", rv), "/staff/legal/"+idB)
		wantRedirect(t, second.step(idB, "approve", nil), "/staff/legal/"+idB)
		r := prep.step(idB, "produce", nil)
		wantStatus(t, r, http.StatusOK)
		part := string(unzip(t, r.body)["patron-001.json"])
		if !strings.Contains(part, models.AuditPatronLookup) {
			t.Fatalf("the staff-access part holds the look-up: %s", part)
		}
		if strings.Contains(part, "A-REF-1") || strings.Contains(part, "Agency A") || strings.Contains(part, `"legal.`) {
			t.Fatalf("the staff-access part names another request: %s", part)
		}
	})
}

// When a nondisclosure order runs out on its date, the periodic sweep
// writes, once, an entry each covered patron keeps: what was held and
// produced of their records while the order applied. Their staff-access
// page and export show it long after the one-time notice.
func TestLegalEndedNondisclosureLeavesALastingRecord(t *testing.T) {
	forEachDB(t, legalConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		prep, second := legalOfficers(t, a)
		form := legalForm("court_order", card)
		form.Set("nondisclosure", "yes")
		form.Set("nondisclosure_until", "2026-11-28")
		id := prep.record(t, form)
		wantRedirect(t, second.step(id, "review", review("favourable")), "/staff/legal/"+id)
		wantRedirect(t, second.step(id, "approve", nil), "/staff/legal/"+id)
		wantStatus(t, prep.step(id, "produce", nil), http.StatusOK)
		see := func() (string, string) {
			pc := a.client()
			pc.signIn(card, pin)
			return pc.get("/data/staff-access").body, pc.get("/data/export.json").body
		}
		page, export := see()
		if strings.Contains(page, "SW-2026-118") || strings.Contains(export, "SW-2026-118") {
			t.Fatal("while the order applies the patron is not told")
		}
		// The sweep before the order's end writes nothing.
		if _, err := a.store.SweepEndedNondisclosure(t.Context(), legalZone); err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, a, models.AuditLegalNondisclosureEnded); n != 0 {
			t.Fatalf("%d ended entries while the order applies", n)
		}
		a.clock.Set(inZone(t, "2026-11-29 01:00"))
		for i := 0; i < 2; i++ {
			if _, err := a.store.SweepEndedNondisclosure(t.Context(), legalZone); err != nil {
				t.Fatal(err)
			}
		}
		var es []models.AuditEntry
		a.store.DB.Where("action = ? AND patron_id = ?", models.AuditLegalNondisclosureEnded, p.ID).Find(&es)
		if len(es) != 1 || es[0].Restricted {
			t.Fatalf("one unrestricted ended entry, once: %+v", es)
		}
		for _, want := range []string{"SW-2026-118", "Its last day was 2026-11-28", "On 2026-11-27 a legal hold for it paused deletion of your records",
			"On 2026-11-27 your records were produced for it: Current loans, Holds, from 2026-06-01 to 2026-06-30."} {
			if !strings.Contains(es[0].Detail, want) {
				t.Errorf("the entry says %q: %q", want, es[0].Detail)
			}
		}
		var req models.LegalRequest
		a.store.DB.Where("id = ?", id).Take(&req)
		if req.NondisclosureEndedRecordedAt == nil {
			t.Fatal("the request is marked: its end is recorded")
		}
		page, export = see()
		for _, body := range []string{page, export} {
			if !strings.Contains(body, "SW-2026-118") || !strings.Contains(body, "your records were produced for it: Current loans, Holds") {
				t.Fatalf("the patron's lasting record shows the production: %s", excerpt(body))
			}
		}
	})
}
