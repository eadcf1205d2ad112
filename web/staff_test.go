package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
)

const staffPassword = "correct horse battery"

// testTOTPSecret is the authenticator secret of the tests' privacy
// officers and admins (a.staff enrols them, as their role needs).
const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// staff makes a staff account; a privacy officer or an admin has a second
// factor (testTOTPSecret) enrolled, as the default policy requires.
func (a *app) staff(username, role string) models.Staff {
	a.t.Helper()
	st, err := a.store.AddStaff(context.Background(), username, strings.ToUpper(username[:1])+username[1:]+" Staffer", role, staffPassword)
	if err != nil {
		a.t.Fatal(err)
	}
	if models.SecondFactorRequired(models.TOTPRequiredForOfficers, role) {
		code, _ := models.TOTPCode(testTOTPSecret, a.clock.Now())
		if _, err := a.store.EnrolSecondFactor(context.Background(), st.ID, testTOTPSecret, code); err != nil {
			a.t.Fatal(err)
		}
		st, _ = a.store.StaffMember(context.Background(), st.ID)
	}
	return st
}

// staffSignIn signs a staff member in, with the code step when their
// account has one (the tests' clock stands still, so the step's last use
// is cleared first: each sign-in may use the current code).
func (c *client) staffSignIn(username, password string) response {
	c.a.t.Helper()
	c.a.store.DB.Model(&models.Staff{}).Where("username = ?", strings.ToLower(username)).UpdateColumn("totp_last_step", 0)
	r := c.staffPasswordStep(username, password)
	if pending, ok := r.doc(c.a.t).Find(`form[action="/staff/login/code"] input[name="pending"]`).Attr("value"); ok && r.StatusCode == http.StatusOK {
		code, _ := models.TOTPCode(testTOTPSecret, c.a.clock.Now())
		return c.post("/staff/login/code", url.Values{"pending": {pending}, "code": {code}, "csrf_token": {c.csrf("/staff/login")}})
	}
	return r
}

// staffPasswordStep posts the staff sign-in form only.
func (c *client) staffPasswordStep(username, password string) response {
	c.a.t.Helper()
	return c.post("/staff/login", url.Values{"username": {username}, "password": {password}, "csrf_token": {c.csrf("/staff/login")}})
}

// assisting signs a staff member in and starts assisting the patron.
func (a *app) assisting(t *testing.T, username string, p models.Patron) *client {
	t.Helper()
	c := a.client()
	wantRedirect(t, c.staffSignIn(username, staffPassword), "/staff")
	tok := c.csrf("/staff")
	wantRedirect(t, c.post("/staff/patrons/"+itoa(p.ID)+"/assist", url.Values{"csrf_token": {tok}, "reason": {"desk"}, "identity": {"card"}}), "/data")
	return c
}

func auditActions(t *testing.T, a *app, patronID int64) []string {
	t.Helper()
	var out []string
	a.store.DB.Model(&models.AuditEntry{}).Where("patron_id = ?", patronID).Order("id").Pluck("action", &out)
	return out
}

func TestStaffSignIn(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		st := a.staff("sam", models.RoleAssistant)
		c := a.client()
		wantStatus(t, c.staffSignIn("sam", "wrong password!"), http.StatusUnauthorized)
		wantStatus(t, c.staffSignIn("nobody", staffPassword), http.StatusUnauthorized)
		wantRedirect(t, c.staffSignIn("SAM", staffPassword), "/staff")
		r := c.get("/staff")
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.doc(t).Find(`[data-testid="signed-in"]`).Text(), "Sam Staffer") {
			t.Fatal("the console should say who is signed in")
		}
		var n int64
		a.store.DB.Model(&models.AuditEntry{}).Where("staff_id = ? AND action = ?", st.ID, models.AuditStaffSignIn).Count(&n)
		if n != 1 {
			t.Fatalf("%d sign-in audit entries", n)
		}
		// Disabling ends the session at once and refuses the next sign-in.
		if err := a.store.DisableStaff(context.Background(), "sam"); err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, c.get("/staff"), "/staff/login?next=%2Fstaff&ended=ended")
		wantStatus(t, a.client().staffSignIn("sam", staffPassword), http.StatusUnauthorized)
		// The same lockout as patrons.
		a.staff("olive", models.RolePrivacyOfficer)
		x := a.client()
		for i := 0; i < 4; i++ {
			x.staffSignIn("olive", "not the password")
		}
		wantStatus(t, x.staffSignIn("olive", "not the password"), http.StatusTooManyRequests)
		wantStatus(t, x.staffSignIn("olive", staffPassword), http.StatusTooManyRequests)
	})
}

func TestLookingUpPatronsIsAudited(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.patron("21000000008888", "1111", "Rosalind", "Franklin")
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("sam", staffPassword)

		r := c.get("/staff/patrons?q=" + card)
		wantStatus(t, r, http.StatusOK)
		if rows := r.doc(t).Find(`table[data-testid="results"] tbody tr`); rows.Length() != 1 || !strings.Contains(rows.Text(), "Rosa Parks") {
			t.Fatalf("exact card lookup: %q", rows.Text())
		}
		if rows := c.get("/staff/patrons?q=ros").doc(t).Find(`table[data-testid="results"] tbody tr`); rows.Length() != 2 {
			t.Fatalf("name lookup found %d", rows.Length())
		}
		wantStatus(t, c.get("/staff/patrons?q=r"), http.StatusUnprocessableEntity)
		if c.get("/staff/patrons?q=%25").doc(t).Find(`table[data-testid="results"] tbody tr`).Length() != 0 {
			t.Fatal("a % must not match everyone")
		}
		page := c.get("/staff/patrons/" + itoa(p.ID))
		wantStatus(t, page, http.StatusOK)
		if strings.Contains(page.body, pin) || strings.Contains(page.body, "v1$") {
			t.Fatal("staff never see a PIN or its hash")
		}
		if got := auditActions(t, a, p.ID); len(got) != 3 {
			t.Fatalf("each patron shown should be audited: %v", got)
		}
		wantStatus(t, c.get("/staff/patrons/99999999"), http.StatusNotFound)
	})
}

func TestAssistedHelpIsVisibleLimitedAndRecorded(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		if _, err := a.store.SeedDemo(context.Background()); err != nil {
			t.Fatal(err)
		}
		var p models.Patron
		a.store.DB.Where("card_number = ?", "21000000000001").Take(&p)
		st := a.staff("sam", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("sam", staffPassword)
		before := c.sessionCookie()
		tok := c.csrf("/staff/patrons/" + itoa(p.ID))

		// A reason is required.
		r := c.post("/staff/patrons/"+itoa(p.ID)+"/assist", url.Values{"csrf_token": {tok}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if r.doc(t).Find(`[data-testid="reason-error"]`).Length() != 1 {
			t.Fatal("the missing reason should be explained next to it")
		}
		r = c.post("/staff/patrons/"+itoa(p.ID)+"/assist", url.Values{"csrf_token": {tok}, "reason": {"other"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantRedirect(t, c.post("/staff/patrons/"+itoa(p.ID)+"/assist", url.Values{"csrf_token": {tok}, "reason": {"phone"}, "identity": {"questions"}}), "/data")
		if c.sessionCookie() == before {
			t.Fatal("starting assistance rotates the token")
		}

		// Every page carries the banner.
		for _, path := range []string{"/data", "/data/loans", "/favorites", "/policy"} {
			banner := c.get(path).doc(t).Find(`[data-testid="assist-banner"]`)
			if !strings.Contains(banner.Text(), "Sam Staffer is assisting Alex Demo") || !strings.Contains(banner.Text(), "(in 15 minutes)") {
				t.Fatalf("%s: banner %q", path, banner.Text())
			}
		}
		// Reading history: the count, never a title.
		hist := c.get("/data/reading-history")
		wantStatus(t, hist, http.StatusOK)
		if hist.doc(t).Find(`table[data-testid="records"]`).Length() != 0 || !strings.Contains(hist.body, "5,000 items are kept") {
			t.Fatal("staff see the history's count only")
		}
		var someTitle string
		a.store.DB.Model(&models.HistoryEntry{}).Where("patron_id = ?", p.ID).Limit(1).Pluck("title", &someTitle)
		if strings.Contains(hist.body, someTitle) {
			t.Fatal("a reading-history title reached a staff member")
		}
		// Refused while assisting.
		tok = c.csrf("/data")
		var entry models.HistoryEntry
		a.store.DB.Where("patron_id = ?", p.ID).Take(&entry)
		for _, refused := range []response{
			c.get("/data/export.json"),
			c.get("/data/print"),
			c.get("/staff"),
			c.get("/staff/patrons?q=rosa"),
			c.post("/data/reading-history/"+itoa(entry.ID)+"/delete", url.Values{"csrf_token": {tok}}),
			c.post("/data/reading-history/clear", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}),
			c.post("/data/sessions/end-others", url.Values{"csrf_token": {tok}}),
			c.post("/data/assist-notice/dismiss", url.Values{"csrf_token": {tok}}),
			c.post("/staff/patrons/"+itoa(p.ID)+"/assist", url.Values{"csrf_token": {tok}, "reason": {"desk"}}),
		} {
			wantStatus(t, refused, http.StatusForbidden)
			if !strings.Contains(refused.body, "Not while assisting") {
				t.Fatalf("%s: the refusal should say why", refused.Request.URL.Path)
			}
		}
		// A consent change at the patron's request: recorded with both identities.
		wantRedirect(t, c.post("/data/reading-history/off", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}), "/data/reading-history")
		var e models.ConsentEntry
		a.store.DB.Where("patron_id = ?", p.ID).Order("id DESC").Take(&e)
		if e.Channel != models.ChannelStaffAssisted || e.Actor != models.ActorStaff || e.StaffID == nil || *e.StaffID != st.ID {
			t.Fatalf("ledger entry %+v", e)
		}
		var action models.AuditEntry
		a.store.DB.Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistAction).Take(&action)
		if action.StaffID == nil || *action.StaffID != st.ID || !strings.Contains(action.Detail, "turned reading history off") {
			t.Fatalf("assist action %+v", action)
		}
		// End assistance: token rotates again, back to the console.
		during := c.sessionCookie()
		wantRedirect(t, c.post("/assist/end", url.Values{"csrf_token": {tok}}), "/staff")
		if c.sessionCookie() == during {
			t.Fatal("ending assistance rotates the token")
		}
		wantRedirect(t, c.get("/data"), "/staff")

		// The patron sees what happened, and only they can dismiss it.
		var after models.Patron
		a.store.DB.Where("id = ?", p.ID).Take(&after)
		if after.LastSignInAt != nil && p.LastSignInAt == nil {
			t.Fatal("an assisted session is not the patron's own sign-in")
		}
		pc := a.client()
		pc.signIn("21000000000001", "1234")
		overview := pc.get("/data").doc(t)
		notice := overview.Find(`[data-testid="assist-notice"]`).Text()
		if !strings.Contains(notice, "Sam Staffer") || !strings.Contains(notice, "By phone") || !strings.Contains(notice, "turned reading history off") {
			t.Fatalf("assist notice %q", notice)
		}
		access := pc.get("/data/staff-access").doc(t).Find(`table[data-testid="records"]`).Text()
		for _, want := range []string{"Started helping you", "Made a change at your request", "Finished helping you", "Sam Staffer"} {
			if !strings.Contains(access, want) {
				t.Errorf("staff access page lacks %q", want)
			}
		}
		pc.post("/data/assist-notice/dismiss", dismissForm(t, pc.get("/data").doc(t)))
		if pc.get("/data").doc(t).Find(`[data-testid="assist-notice"]`).Length() != 0 {
			t.Fatal("a dismissed notice stays dismissed")
		}
		if rows := pc.get("/data/sessions").doc(t).Find(`table[data-testid="records"] tbody tr`); rows.Length() != 1 {
			t.Fatalf("the staff session must not appear among the patron's sign-ins (%d rows)", rows.Length())
		}
	})
}

func TestAssistanceEndsByItself(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		c := a.assisting(t, "sam", p)
		a.clock.Advance(10 * time.Minute)
		if !strings.Contains(c.get("/data").doc(t).Find(`[data-testid="assist-banner"]`).Text(), "Assistance ends at 6:15 PM (in 5 minutes).") {
			t.Fatal("the banner counts down")
		}
		a.clock.Advance(5*time.Minute + time.Second)
		if r := c.get("/data"); r.StatusCode != http.StatusOK || r.doc(t).Find(`[data-testid="assist-again"]`).Length() != 1 {
			t.Fatalf("after the assistance ran out: status %d, no Assist again", r.StatusCode)
		}
		if got := auditActions(t, a, p.ID); got[len(got)-1] != models.AuditAssistEnd {
			t.Fatalf("audit %v should end with the assistance ending", got)
		}
		var end models.AuditEntry
		a.store.DB.Where("patron_id = ? AND action = ?", p.ID, models.AuditAssistEnd).Take(&end)
		if !strings.Contains(end.Detail, "automatically") {
			t.Fatalf("end entry %+v", end)
		}
		// Signing out of the staff session ends an assistance too.
		c2 := a.assisting(t, "sam", p)
		c2.post("/staff/logout", url.Values{"csrf_token": {c2.csrf("/data")}})
		var n int64
		a.store.DB.Model(&models.AuditEntry{}).Where("patron_id = ? AND action = ? AND detail = ?", p.ID, models.AuditAssistEnd, "ended by signing out").Count(&n)
		if n != 1 {
			t.Fatal("signing out should record the end of assistance")
		}
	})
}
