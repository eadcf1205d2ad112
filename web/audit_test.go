package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/jobs"
	"github.com/carrel-library/carrel/web"
)

// auditCheckText is what the officer's audit page says of the last
// verification.
func auditCheckText(t *testing.T, c *client) string {
	t.Helper()
	r := c.get("/staff/audit")
	wantStatus(t, r, http.StatusOK)
	return strings.Join(strings.Fields(r.doc(t).Find(`[data-testid="audit-check"]`).Text()), " ")
}

func TestOfficerSeesTheLastAuditVerification(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		officer := a.staff("officer", models.RolePrivacyOfficer)
		c := a.client()
		wantRedirect(t, c.staffSignIn("officer", staffPassword), "/staff")
		if got := auditCheckText(t, c); !strings.Contains(got, "has not been verified yet") {
			t.Fatalf("before any verification the page says %q", got)
		}

		// A POST without the form token runs nothing.
		r := c.post("/staff/audit/verify", url.Values{})
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("verify without a form token: status %d, want 403", r.StatusCode)
		}
		if _, ran, _ := a.store.LastAuditCheck(t.Context()); ran {
			t.Fatal("a POST without a form token ran a verification")
		}

		wantRedirect(t, c.post("/staff/audit/verify", url.Values{"csrf_token": {c.csrf("/staff/audit")}}), "/staff/audit")
		got := auditCheckText(t, c)
		// The account added, its second factor enrolled, its sign-in.
		if !strings.Contains(got, "Verified: all 3 entries intact") || !strings.Contains(got, "by officer") {
			t.Errorf("after the officer verified, the page says %q", got)
		}
		var n int64
		a.store.DB.Model(&models.AuditEntry{}).Where("staff_id = ? AND action = ?", officer.ID, models.AuditVerify).Count(&n)
		if n != 1 {
			t.Errorf("audit.verify entries by the officer = %d, want 1", n)
		}

		// Someone deletes the officer's sign-in entry; the next
		// verification, from the command line, finds it and the page says
		// so.
		var signIn models.AuditEntry
		a.store.DB.Where("staff_id = ? AND action = ?", officer.ID, models.AuditStaffSignIn).Take(&signIn)
		a.store.DB.Exec("DELETE FROM audit_entries WHERE id = ?", signIn.ID)
		if _, err := a.store.VerifyAudit(t.Context(), nil, "carrel audit verify"); err != nil {
			t.Fatal(err)
		}
		got = auditCheckText(t, c)
		if !strings.Contains(got, "Broken at entry "+itoa(signIn.ID+1)) || !strings.Contains(got, "Audit log broken at entry "+itoa(signIn.ID+1)+":") || !strings.Contains(got, "by carrel audit verify") {
			t.Errorf("after a deletion, the page says %q", got)
		}
	})
}

func TestDailyPurgeLogsACheckpointAndVerifies(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		p := a.patron(card, pin, "Rosa", "Parks")
		a.staff("sam", models.RoleAssistant)
		c := a.client()
		c.staffSignIn("sam", staffPassword)
		c.get("/staff/patrons/" + itoa(p.ID))

		var logs bytes.Buffer
		srv, err := web.New(a.store, demoConfig(), slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		jobs.PurgeOnce(context.Background(), a.store, srv.Config.Sessions, srv.Log)
		var line string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "level=INFO") && strings.Contains(l, "audit checkpoint") {
				line = l
			}
		}
		cp, err := models.ParseAuditCheckpoint(line)
		if err != nil {
			t.Fatalf("no checkpoint in the purge's logs: %v\n%s", err, logs.String())
		}
		for _, personal := range []string{card, "Rosa", "Parks", "sam"} {
			if strings.Contains(logs.String(), personal) {
				t.Errorf("the purge's logs name %q", personal)
			}
		}
		// The purge also verified the log, and the officer's page shows it.
		if !strings.Contains(logs.String(), "audit verified") {
			t.Errorf("the purge did not verify the audit log:\n%s", logs.String())
		}
		a.staff("officer", models.RolePrivacyOfficer)
		o := a.client()
		o.staffSignIn("officer", staffPassword)
		if got := auditCheckText(t, o); !strings.Contains(got, "intact") || !strings.Contains(got, "by daily purge") {
			t.Errorf("after the daily purge, the page says %q", got)
		}
		// The logged checkpoint names the newest entry, the purge's own,
		// and verifies against the log.
		var last models.AuditEntry
		a.store.DB.Where("action = ?", models.AuditPurgeRun).Order("id DESC").Take(&last)
		if cp.EntryID != last.ID || last.Action != models.AuditPurgeRun {
			t.Errorf("checkpoint names entry %d, want the purge's entry %d", cp.EntryID, last.ID)
		}
		if res, err := a.store.VerifyAudit(t.Context(), &cp, "test"); err != nil || !res.Intact() {
			t.Errorf("the logged checkpoint: %s, %v", res.Summary(), err)
		}
	})
}

// Someone who can write to the database plants an "intact" last
// verification for the officer to read: the page must not show it.
func TestOfficerIsNotShownAPlantedAuditVerification(t *testing.T) {
	forEachDB(t, demoConfig(), func(t *testing.T, a *app) {
		a.staff("officer", models.RolePrivacyOfficer)
		c := a.client()
		wantRedirect(t, c.staffSignIn("officer", staffPassword), "/staff")
		// A real verification finds a deleted entry.
		var first models.AuditEntry
		a.store.DB.Order("id").Limit(1).Take(&first)
		a.store.DB.Exec("DELETE FROM audit_entries WHERE id = ?", first.ID)
		wantRedirect(t, c.post("/staff/audit/verify", url.Values{"csrf_token": {c.csrf("/staff/audit")}}), "/staff/audit")
		if got := auditCheckText(t, c); !strings.Contains(got, "broken") {
			t.Fatalf("after a deletion the page says %q", got)
		}
		var stored models.Setting
		a.store.DB.Where("name = ?", "audit.last_check").Take(&stored)
		planted := `{"at":"` + a.clock.Now().UTC().Format(time.RFC3339) + `","by":"officer","checked":9}`
		for name, value := range map[string]string{
			"a plain result":                     planted,
			"the signed result's verdict edited": strings.NewReplacer(`\"problem\"`, `\"was\"`, `\"broken_id\"`, `\"x\"`).Replace(stored.Value),
		} {
			if value == stored.Value {
				t.Fatalf("%s: the stored value %q did not change", name, value)
			}
			a.store.DB.Exec("DELETE FROM settings WHERE name = 'audit.last_check'")
			if err := a.store.DB.Create(&models.Setting{Name: "audit.last_check", Value: value, UpdatedAt: a.clock.Now()}).Error; err != nil {
				t.Fatal(err)
			}
			got := auditCheckText(t, c)
			if strings.Contains(got, "intact") || !strings.Contains(got, "could not be trusted") {
				t.Errorf("%s: the page says %q", name, got)
			}
		}
	})
}
