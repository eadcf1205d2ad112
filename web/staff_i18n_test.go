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
	"github.com/carrel-library/carrel/models/modeltest"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/carrel-library/carrel/web"
)

// TestStaffPagesComeFromCatalogs renders the staff pages in the
// pseudo-locale (staff pages stay English for every real language, but
// their words go through the staff catalog so that a later issue can
// translate them): the sign-in, its code step, the console, a search with
// results, a patron's page, the audit log, staff accounts and the second
// factor pages. Every word on them must come from a catalog; the data the
// test puts there is in Cyrillic, or listed (the username, the new secret,
// the recovery codes, the sign-in methods an audit entry stores).
func TestStaffPagesComeFromCatalogs(t *testing.T) {
	clock := modeltest.NewFakeClock(testNow)
	a := newApp(t, modeltest.DB{Name: string(models.SQLite), Gorm: modeltest.SQLite(t, clock)}, clock, web.Config{Demo: true, LibraryName: "Библиотека"})
	ctx := context.Background()
	st, err := a.store.AddStaff(ctx, "olga", "Ольга Петрова", models.RoleAdmin, staffPassword)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := models.TOTPCode(testTOTPSecret, a.clock.Now())
	if _, err := a.store.EnrolSecondFactor(ctx, st.ID, testTOTPSecret, code); err != nil {
		t.Fatal(err)
	}
	p := a.patron("21234000000001", "1234", "Октавия", "Батлер")
	p.Phone, p.PostalAddress, p.HomeBranch = "+1 310 555 0199", "Главная улица, 1", "Центральная"
	if err := a.store.DB.Save(&p).Error; err != nil {
		t.Fatal(err)
	}

	c := a.client().inPseudo()
	check := func(what string, r response, allow ...string) {
		t.Helper()
		if !strings.Contains(r.body, `lang="`+i18n.Pseudo+`"`) {
			t.Errorf("%s: not rendered in the pseudo-locale", what)
		}
		for _, w := range untranslated(t, r.body, append(allow, "olga")...) {
			t.Errorf("%s: not from a catalog: %s", what, w)
		}
	}

	login := c.get("/staff/login")
	wantStatus(t, login, http.StatusOK)
	check("sign-in", login)
	refused := c.post("/staff/login", url.Values{"username": {"olga"}, "password": {""}, "csrf_token": {c.csrf("/staff/login")}})
	wantStatus(t, refused, http.StatusUnprocessableEntity)
	check("sign-in refused", refused)
	step := a.client().inPseudo().staffPasswordStep("olga", staffPassword)
	wantStatus(t, step, http.StatusOK)
	check("code step", step)

	wantRedirect(t, c.staffSignIn("olga", staffPassword), "/staff")
	// By card: SQLite's LOWER leaves Cyrillic capitals as they are.
	found := c.get("/staff/patrons?q=" + p.CardNumber)
	wantStatus(t, found, http.StatusOK)
	if !strings.Contains(found.body, "Батлер") {
		t.Fatal("the search found no patron")
	}
	check("find a patron", found)
	patron := c.get("/staff/patrons/" + itoa(p.ID))
	wantStatus(t, patron, http.StatusOK)
	check("a patron's page", patron)
	refusedAssist := c.post("/staff/patrons/"+itoa(p.ID)+"/assist", url.Values{"csrf_token": {c.csrf("/staff")}, "identity": {"other"}})
	wantStatus(t, refusedAssist, http.StatusUnprocessableEntity)
	check("assisting refused", refusedAssist)
	console := c.get("/staff")
	wantStatus(t, console, http.StatusOK)
	if !strings.Contains(console.body, "Октавия Батлер") {
		t.Error("the console should list the patron just opened")
	}
	check("console", console)
	check("accounts", c.get("/staff/accounts"))
	wantRedirect(t, c.post("/staff/audit/verify", url.Values{"csrf_token": {c.csrf("/staff")}}), "/staff/audit")
	audit := c.get("/staff/audit")
	wantStatus(t, audit, http.StatusOK)
	// An entry's reason and detail are stored as they were written then:
	// data, as the names are.
	var stored []string
	audit.doc(t).Find(`table[data-testid="audit"] tbody tr`).Each(func(_ int, row *goquery.Selection) {
		cells := row.Find("td")
		stored = append(stored, cells.Eq(3).Text(), cells.Eq(4).Text())
	})
	if len(stored) == 0 {
		t.Fatal("the audit log shows no entry")
	}
	check("audit log", audit, stored...)

	// Setting up a new app, in place of the one in use: its page, then
	// the recovery codes.
	a.clock.Advance(time.Minute)
	enrol := c.get("/staff/2fa")
	wantStatus(t, enrol, http.StatusOK)
	secret := enrol.doc(t).Find(`[data-testid="secret"]`).Text()
	check("second factor", enrol, secret)
	plain := strings.ReplaceAll(secret, " ", "")
	codes := c.post("/staff/2fa", url.Values{"pending": {pendingOf(t, enrol, "/staff/2fa")},
		"current": {codeAt(t, testTOTPSecret, a.clock.Now())}, "code": {codeAt(t, plain, a.clock.Now())}, "csrf_token": {c.csrf("/staff")}})
	wantStatus(t, codes, http.StatusOK)
	var recovery []string
	codes.doc(t).Find(`[data-testid="recovery-codes"] code`).Each(func(_ int, s *goquery.Selection) {
		recovery = append(recovery, s.Text())
	})
	if len(recovery) == 0 {
		t.Fatal("no recovery codes")
	}
	check("recovery codes", codes, recovery...)
}

// TestEveryAuditActionHasAStaffMessage: the audit page names each action
// from the staff catalog (the code stays in the CSV export and the
// filter's URL), and each role too.
func TestEveryAuditActionHasAStaffMessage(t *testing.T) {
	for _, a := range models.AuditActions() {
		if !i18n.Has("staff.audit.label." + a) {
			t.Errorf("audit action %q has no message staff.audit.label.%s", a, a)
		}
	}
	for _, r := range []string{models.RoleAssistant, models.RolePrivacyOfficer, models.RoleAdmin} {
		if !i18n.Has("staff.role." + r) {
			t.Errorf("role %q has no message staff.role.%s", r, r)
		}
	}
	for _, r := range models.AssistReasons {
		if !i18n.Has("staff.assist.reason." + r.Value) {
			t.Errorf("assistance reason %q has no message", r.Value)
		}
	}
	for _, c := range models.IdentityChecks {
		if !i18n.Has("staff.identity.check." + c.Value) {
			t.Errorf("identity check %q has no message", c.Value)
		}
	}
}
