package web_test

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
)

// pendingOf reads the sealed pending sign-in from a step's form.
func pendingOf(t *testing.T, r response, action string) string {
	t.Helper()
	v, ok := r.doc(t).Find(`form[action="` + action + `"] input[name="pending"]`).Attr("value")
	if !ok || v == "" {
		t.Fatalf("no pending sign-in for %s on the page (status %d)\n%s", action, r.StatusCode, excerpt(r.body))
	}
	return v
}

func (c *client) postCode(pending, code string) response {
	c.a.t.Helper()
	return c.post("/staff/login/code", url.Values{"pending": {pending}, "code": {code}, "csrf_token": {c.csrf("/staff/login")}})
}

// addStaffOnly makes an account with no second factor, whatever its role.
func (a *app) addStaffOnly(username, role string) models.Staff {
	a.t.Helper()
	st, err := a.store.AddStaff(context.Background(), username, username, role, staffPassword)
	if err != nil {
		a.t.Fatal(err)
	}
	return st
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := models.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func wantNoCookie(t *testing.T, a *app, c *client, from int) {
	t.Helper()
	if got := a.cookies.all()[from:]; len(got) > 0 || c.sessionCookie() != "" {
		t.Fatalf("a cookie was set before the sign-in was complete: %q", got)
	}
}

// An officer with a password alone reaches no staff page: they must set
// up an authenticator first (QR code drawn here and the secret as text), a
// wrong confirmation is refused, the right one signs them in and shows
// ten recovery codes once; and until then no cookie is set.
func TestOfficerMustEnrolBeforeAnyStaffPage(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		st := a.addStaffOnly("olive", models.RolePrivacyOfficer)
		c := a.client()
		before := len(a.cookies.all())
		r := c.staffPasswordStep("olive", staffPassword)
		wantStatus(t, r, http.StatusOK)
		doc := r.doc(t)
		if doc.Find(`svg[data-testid="qr"] path`).Length() != 1 {
			t.Fatal("the enrolment page should draw the QR code as an inline SVG")
		}
		doc.Find("img[src], script[src], link[href]").Each(func(_ int, sel *goquery.Selection) {
			src := sel.AttrOr("src", sel.AttrOr("href", ""))
			if !strings.HasPrefix(src, "/") || strings.HasPrefix(src, "//") {
				t.Errorf("the enrolment page loads %q from elsewhere", src)
			}
		})
		secret := strings.ReplaceAll(doc.Find(`[data-testid="secret"]`).Text(), " ", "")
		if _, err := base32.StdEncoding.DecodeString(secret); err != nil || len(secret) != 32 {
			t.Fatalf("secret shown as text = %q", secret)
		}
		if !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
			t.Error("the enrolment page may be cached")
		}
		pending := pendingOf(t, r, "/staff/login/enrol")
		wantNoCookie(t, a, c, before)
		wantRedirect(t, c.get("/staff"), "/staff/login?next=%2Fstaff")
		wantRedirect(t, c.get("/staff/audit"), "/staff/login?next=%2Fstaff%2Faudit")

		wrong := c.post("/staff/login/enrol", url.Values{"pending": {pending}, "code": {"123456"}, "csrf_token": {c.csrf("/staff/login")}})
		wantStatus(t, wrong, http.StatusUnprocessableEntity)
		if !strings.Contains(wrong.doc(t).Find(`[data-testid="code-error"]`).Text(), "does not match") {
			t.Fatal("a wrong confirmation code should be refused and say so")
		}
		if got, _ := a.store.StaffMember(context.Background(), st.ID); got.HasSecondFactor() {
			t.Fatal("a refused confirmation enrolled the secret")
		}
		wantNoCookie(t, a, c, before)

		ok := c.post("/staff/login/enrol", url.Values{"pending": {pending}, "code": {codeAt(t, secret, a.clock.Now())}, "csrf_token": {c.csrf("/staff/login")}})
		wantStatus(t, ok, http.StatusOK)
		codes := ok.doc(t).Find(`[data-testid="recovery-codes"] li`)
		if codes.Length() != 10 {
			t.Fatalf("%d recovery codes shown, want 10", codes.Length())
		}
		first := strings.TrimSpace(codes.First().Text())
		if c.sessionCookie() == "" {
			t.Fatal("the enrolment that completes the sign-in should start the session")
		}
		wantStatus(t, c.get("/staff/audit"), http.StatusOK)
		// The codes are shown once: the database holds only their hashes.
		var hashes []string
		a.store.DB.Model(&models.StaffRecoveryCode{}).Where("staff_id = ?", st.ID).Pluck("code_hash", &hashes)
		if len(hashes) != 10 || strings.Contains(strings.Join(hashes, " "), strings.ReplaceAll(first, "-", "")) {
			t.Fatalf("recovery codes stored as %q", hashes)
		}
		// The enrolment's pending token is spent.
		x := a.client()
		again := x.post("/staff/login/enrol", url.Values{"pending": {pending}, "code": {codeAt(t, secret, a.clock.Now())}, "csrf_token": {x.csrf("/staff/login")}})
		wantStatus(t, again, http.StatusForbidden)

		// From now on the password leads to the code step.
		a.clock.Advance(30 * time.Second)
		d := a.client()
		r = d.staffPasswordStep("olive", staffPassword)
		wantStatus(t, r, http.StatusOK)
		wantRedirect(t, d.postCode(pendingOf(t, r, "/staff/login/code"), codeAt(t, secret, a.clock.Now())), "/staff")
		wantStatus(t, d.get("/staff/audit"), http.StatusOK)
		var details []string
		a.store.DB.Model(&models.AuditEntry{}).Where("staff_id = ?", st.ID).Order("id").Pluck("detail", &details)
		want := []string{models.SecondFactorEnrolled, "password and a newly enrolled authenticator", "password and authenticator code"}
		if strings.Join(details, "|") != strings.Join(want, "|") {
			t.Errorf("audit details = %q, want %q", details, want)
		}
	})
}

// Password and code sign in; the same code, sent again or by a second
// session at once, is refused; no cookie before the code is right.
func TestSecondStepCodeIsAcceptedOnce(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("adam", models.RoleAdmin)
		a.clock.Advance(time.Minute)
		code := codeAt(t, testTOTPSecret, a.clock.Now())
		c1, c2 := a.client(), a.client()
		before := len(a.cookies.all())
		p1 := pendingOf(t, c1.staffPasswordStep("adam", staffPassword), "/staff/login/code")
		p2 := pendingOf(t, c2.staffPasswordStep("adam", staffPassword), "/staff/login/code")
		wrong := c1.postCode(p1, "000000")
		wantStatus(t, wrong, http.StatusUnauthorized)
		wantNoCookie(t, a, c1, before)
		wantRedirect(t, c1.get("/staff"), "/staff/login?next=%2Fstaff")

		var wg sync.WaitGroup
		var r1, r2 response
		tok1, tok2 := c1.csrf("/staff/login"), c2.csrf("/staff/login")
		wg.Go(func() {
			r1 = c1.post("/staff/login/code", url.Values{"pending": {p1}, "code": {code}, "csrf_token": {tok1}})
		})
		wg.Go(func() {
			r2 = c2.post("/staff/login/code", url.Values{"pending": {p2}, "code": {code}, "csrf_token": {tok2}})
		})
		wg.Wait()
		in, out := r1, r2
		if r2.StatusCode == http.StatusSeeOther {
			in, out = r2, r1
		}
		wantRedirect(t, in, "/staff")
		if out.StatusCode == http.StatusSeeOther {
			t.Fatal("one code signed two sessions in")
		}
		// The loser is refused: its code was used (401), or its pending
		// sign-in was spent by the winner's (403); either way, no session.
		if out.StatusCode != http.StatusUnauthorized && out.StatusCode != http.StatusForbidden {
			t.Fatalf("the replayed code: status %d", out.StatusCode)
		}
		loser := c2
		if in.Request == r2.Request {
			loser = c1
		}
		wantRedirect(t, loser.get("/staff"), "/staff/login?next=%2Fstaff")
		// A fresh password step with the same code, in the same window.
		c3 := a.client()
		wantStatus(t, c3.postCode(pendingOf(t, c3.staffPasswordStep("adam", staffPassword), "/staff/login/code"), code), http.StatusUnauthorized)
	})
}

// Wrong codes lock the second step after MaxFailures, and while it is
// locked no code is checked, the right one included.
func TestSecondStepLocksAndChecksNothingWhileLocked(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("olga", models.RolePrivacyOfficer)
		a.clock.Advance(time.Minute)
		c := a.client()
		pending := pendingOf(t, c.staffPasswordStep("olga", staffPassword), "/staff/login/code")
		checked := a.countChecks()
		max := a.store.Limits.MaxFailures
		for i := range max {
			r := c.postCode(pending, "000000")
			if i < max-1 {
				wantStatus(t, r, http.StatusUnauthorized)
			} else {
				wantStatus(t, r, http.StatusTooManyRequests)
			}
		}
		if checked.Load() != int64(max) {
			t.Fatalf("%d codes checked, want %d", checked.Load(), max)
		}
		r := c.postCode(pending, codeAt(t, testTOTPSecret, a.clock.Now()))
		wantStatus(t, r, http.StatusTooManyRequests)
		if !strings.Contains(r.doc(t).Find(`[data-testid="form-error"]`).Text(), "paused until") {
			t.Error("the locked step should say until when")
		}
		if checked.Load() != int64(max) {
			t.Fatal("a code was checked while the second step was locked")
		}
		wantRedirect(t, c.get("/staff"), "/staff/login?next=%2Fstaff")
	})
}

// A recovery code signs in once; the pending sign-in can be neither
// altered, nor used after it expires, nor used again once it succeeded.
func TestRecoveryCodeAndPendingTokenRefusals(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		st := a.addStaffOnly("rita", models.RoleAssistant)
		a.clock.Advance(time.Minute)
		codes, err := a.store.EnrolSecondFactor(context.Background(), st.ID, testTOTPSecret, codeAt(t, testTOTPSecret, a.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		a.clock.Advance(time.Minute)

		c := a.client()
		pending := pendingOf(t, c.staffPasswordStep("rita", staffPassword), "/staff/login/code")
		// Altered: one character changed.
		b := []byte(pending)
		b[len(b)/2] ^= 1
		wantStatus(t, c.postCode(string(b), codes[0]), http.StatusForbidden)
		wantStatus(t, c.postCode("", codes[0]), http.StatusForbidden)
		// The recovery code signs in once.
		r := c.postCode(pending, strings.ToUpper(codes[0]))
		wantRedirect(t, r, "/staff")
		if !strings.Contains(c.get("/staff").doc(t).Find(`[data-testid="notice"]`).Text(), "9 are left") {
			t.Error("a recovery code sign-in should say how many are left")
		}
		// Replayed: the same pending sign-in with another good code.
		replay := a.client()
		wantStatus(t, replay.postCode(pending, codes[1]), http.StatusForbidden)
		wantRedirect(t, replay.get("/staff"), "/staff/login?next=%2Fstaff")
		// The used recovery code again, on a fresh sign-in.
		d := a.client()
		wantStatus(t, d.postCode(pendingOf(t, d.staffPasswordStep("rita", staffPassword), "/staff/login/code"), codes[0]), http.StatusUnauthorized)
		// Expired.
		e := a.client()
		late := pendingOf(t, e.staffPasswordStep("rita", staffPassword), "/staff/login/code")
		a.clock.Advance(6 * time.Minute)
		r = e.postCode(late, codeAt(t, testTOTPSecret, a.clock.Now()))
		wantStatus(t, r, http.StatusForbidden)
		if !strings.Contains(r.doc(t).Find(`[data-testid="form-error"]`).Text(), "took too long") {
			t.Error("an expired sign-in should say to start again")
		}
		var used int64
		a.store.DB.Model(&models.AuditEntry{}).Where("staff_id = ? AND detail = ?", st.ID, models.SecondFactorRecoveryUse).Count(&used)
		if used != 1 {
			t.Errorf("%d recovery code audit entries, want 1", used)
		}
	})
}

// The policy: under required-for-officers an assistant signs in with a
// password alone; under required they must enrol; under optional an
// officer with no second factor signs in with the password.
func TestSecondFactorPolicy(t *testing.T) {
	cases := []struct {
		policy, role string
		enrol        bool
	}{
		{web.TOTPRequiredForOfficers, models.RoleAssistant, false},
		{"", models.RoleAdmin, true},
		{web.TOTPRequired, models.RoleAssistant, true},
		{web.TOTPOptional, models.RolePrivacyOfficer, false},
		{web.TOTPOptional, models.RoleAdmin, false},
	}
	for _, tc := range cases {
		t.Run(tc.policy+"/"+tc.role, func(t *testing.T) {
			cfg := demoConfig()
			cfg.StaffTOTP = tc.policy
			forEachDB(t, cfg, func(t *testing.T, a *app) {
				a.addStaffOnly("pat", tc.role)
				c := a.client()
				r := c.staffPasswordStep("pat", staffPassword)
				if tc.enrol {
					wantStatus(t, r, http.StatusOK)
					pendingOf(t, r, "/staff/login/enrol")
					wantRedirect(t, c.get("/staff"), "/staff/login?next=%2Fstaff")
					return
				}
				wantRedirect(t, r, "/staff")
				wantStatus(t, c.get("/staff"), http.StatusOK)
			})
		})
	}
}

// A signed-in staff member sets up an authenticator from their own page,
// and replacing it needs a code from the current one.
func TestStaffSecondFactorPage(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		st := a.addStaffOnly("sam", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("sam", staffPassword), "/staff")
		if c.get("/staff").doc(t).Find(`a[href="/staff/2fa"]`).Length() == 0 {
			t.Error("the console should link to the second factor page")
		}
		r := c.get("/staff/2fa")
		wantStatus(t, r, http.StatusOK)
		secret := strings.ReplaceAll(r.doc(t).Find(`[data-testid="secret"]`).Text(), " ", "")
		pending := pendingOf(t, r, "/staff/2fa")
		tok := c.csrf("/staff")
		wantStatus(t, c.post("/staff/2fa", url.Values{"pending": {pending}, "code": {"000000"}, "csrf_token": {tok}}), http.StatusUnprocessableEntity)
		ok := c.post("/staff/2fa", url.Values{"pending": {pending}, "code": {codeAt(t, secret, a.clock.Now())}, "csrf_token": {tok}})
		wantStatus(t, ok, http.StatusOK)
		if ok.doc(t).Find(`[data-testid="recovery-codes"] li`).Length() != 10 {
			t.Fatal("no recovery codes after enrolling")
		}
		// Another staff member's pending enrolment is no use here.
		other := a.addStaffOnly("tom", models.RoleAssistant)
		_ = other
		a.clock.Advance(time.Minute)
		r = c.get("/staff/2fa")
		if r.doc(t).Find(`[data-testid="enrolled"]`).Length() == 0 {
			t.Error("the page should say an authenticator is in use")
		}
		newSecret := strings.ReplaceAll(r.doc(t).Find(`[data-testid="secret"]`).Text(), " ", "")
		pending = pendingOf(t, r, "/staff/2fa")
		wrong := c.post("/staff/2fa", url.Values{"pending": {pending}, "current": {"000000"},
			"code": {codeAt(t, newSecret, a.clock.Now())}, "csrf_token": {tok}})
		wantStatus(t, wrong, http.StatusUnauthorized)
		if got, _ := a.store.StaffMember(context.Background(), st.ID); got.TOTPLastStep == a.clock.Now().Unix()/30 {
			t.Error("a refused replacement enrolled the new secret")
		}
		right := c.post("/staff/2fa", url.Values{"pending": {pending}, "current": {codeAt(t, secret, a.clock.Now())},
			"code": {codeAt(t, newSecret, a.clock.Now())}, "csrf_token": {tok}})
		wantStatus(t, right, http.StatusOK)
		// The new app's codes work, the old one's not.
		a.clock.Advance(30 * time.Second)
		d := a.client()
		pend := pendingOf(t, d.staffPasswordStep("sam", staffPassword), "/staff/login/code")
		wantStatus(t, d.postCode(pend, codeAt(t, secret, a.clock.Now())), http.StatusUnauthorized)
		wantRedirect(t, d.postCode(pend, codeAt(t, newSecret, a.clock.Now())), "/staff")
	})
}

// A session that began with a password alone (here: an assistant's,
// before their role became privacy officer) opens no page once the role
// needs a second factor: it ends, and the sign-in asks for enrolment.
func TestPasswordOnlySessionEndsWhenTheRoleNeedsASecondFactor(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.addStaffOnly("pat", models.RoleAssistant)
		c := a.client()
		wantRedirect(t, c.staffSignIn("pat", staffPassword), "/staff")
		wantStatus(t, c.get("/staff"), http.StatusOK)
		a.store.DB.Model(&models.Staff{}).Where("username = ?", "pat").UpdateColumn("role", models.RolePrivacyOfficer)
		wantRedirect(t, c.get("/staff/audit"), "/staff/login?next=%2Fstaff%2Faudit")
		var n int64
		a.store.DB.Model(&models.Session{}).Count(&n)
		if n != 0 {
			t.Errorf("%d sessions left, want the password-only one ended", n)
		}
		pendingOf(t, c.staffPasswordStep("pat", staffPassword), "/staff/login/enrol")
	})
}
