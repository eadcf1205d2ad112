package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// A sign-in under way is taken back once: a second take (a replayed
// callback, or two racing) finds nothing, one that comes back too late is
// refused and gone, and the sweep removes only what expired.
func TestStaffOIDCStateIsSingleUseAndShortLived(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	clock := modeltest.NewFakeClock(now)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(now)
			s := modeltest.NewStore(t, db.Gorm, clock)
			ctx := context.Background()
			if err := s.StartStaffOIDC(ctx, "state-1", "nonce-1", "verifier-1", "/staff/audit"); err != nil {
				t.Fatal(err)
			}
			var stored models.StaffOIDCState
			s.DB.Take(&stored)
			if stored.StateHash == "state-1" || stored.StateHash != models.HashToken("state-1") {
				t.Errorf("the state is stored as %q, want its hash", stored.StateHash)
			}
			got, err := s.TakeStaffOIDC(ctx, "state-1")
			if err != nil || got.Nonce != "nonce-1" || got.CodeVerifier != "verifier-1" || got.NextPath != "/staff/audit" {
				t.Fatalf("TakeStaffOIDC = %+v, %v", got, err)
			}
			if _, err := s.TakeStaffOIDC(ctx, "state-1"); !errors.Is(err, models.ErrOIDCStateUnknown) {
				t.Errorf("second take: %v, want ErrOIDCStateUnknown", err)
			}
			if _, err := s.TakeStaffOIDC(ctx, "never-issued"); !errors.Is(err, models.ErrOIDCStateUnknown) {
				t.Errorf("unknown state: %v, want ErrOIDCStateUnknown", err)
			}

			s.StartStaffOIDC(ctx, "late", "n", "v", "")
			clock.Advance(models.StaffOIDCStateLife)
			if _, err := s.TakeStaffOIDC(ctx, "late"); !errors.Is(err, models.ErrOIDCStateExpired) {
				t.Errorf("late take: %v, want ErrOIDCStateExpired", err)
			}
			if _, err := s.TakeStaffOIDC(ctx, "late"); !errors.Is(err, models.ErrOIDCStateUnknown) {
				t.Errorf("an expired state was kept: %v", err)
			}

			s.StartStaffOIDC(ctx, "abandoned", "n", "v", "")
			clock.Advance(time.Minute)
			s.StartStaffOIDC(ctx, "fresh", "n", "v", "")
			clock.Advance(models.StaffOIDCStateLife - 30*time.Second)
			n, err := s.SweepStaffOIDC(ctx)
			if err != nil || n != 1 {
				t.Fatalf("SweepStaffOIDC = %d, %v; want 1 (the abandoned one)", n, err)
			}
			if _, err := s.TakeStaffOIDC(ctx, "fresh"); err != nil {
				t.Errorf("the sweep took a sign-in still under way: %v", err)
			}
		})
	}
}

// The first sign-in creates the account keyed by issuer and subject,
// without a password and without taking over a local account of the same
// name; later ones follow the provider's role both ways; a disabled
// account stays disabled. Each step is audited.
func TestSignInStaffOIDCCreatesUpdatesAndRefuses(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	clock := modeltest.NewFakeClock(now)
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			clock.Set(now)
			s := modeltest.NewStore(t, db.Gorm, clock)
			ctx := context.Background()
			local, err := s.AddStaff(ctx, "jdoe", "Local Jane", models.RoleAdmin, "a long enough local password")
			if err != nil {
				t.Fatal(err)
			}
			id := models.OIDCIdentity{Issuer: "https://idp.example", Subject: "sub-1", Username: "JDoe",
				DisplayName: "Jane Doe", Role: models.RolePrivacyOfficer, Method: "single sign-on (idp.example)"}
			st, created, err := s.SignInStaffOIDC(ctx, id)
			if err != nil || !created {
				t.Fatalf("first sign-in: %+v, %v, %v", st, created, err)
			}
			if st.ID == local.ID || st.Username != "jdoe-2" || st.PasswordHash != "" || st.Role != models.RolePrivacyOfficer ||
				st.OIDCSubject == nil || *st.OIDCSubject != "sub-1" {
				t.Errorf("the new account: %+v", st)
			}
			if _, err := s.StaffPasswordStep(ctx, "jdoe-2", ""); err == nil {
				t.Error("an account made by single sign-on accepted an empty password")
			}

			id.Role, id.DisplayName = models.RoleAssistant, "Jane Q. Doe"
			again, created, err := s.SignInStaffOIDC(ctx, id)
			if err != nil || created || again.ID != st.ID || again.Role != models.RoleAssistant || again.DisplayName != "Jane Q. Doe" {
				t.Fatalf("second sign-in: %+v, %v, %v", again, created, err)
			}
			var stored models.Staff
			s.DB.First(&stored, st.ID)
			if stored.Role != models.RoleAssistant {
				t.Errorf("the stored role is %q after a downgrade", stored.Role)
			}

			if err := s.DisableStaff(ctx, "jdoe-2"); err != nil {
				t.Fatal(err)
			}
			id.Role = models.RoleAdmin
			if _, _, err := s.SignInStaffOIDC(ctx, id); !errors.Is(err, models.ErrStaffDisabled) {
				t.Errorf("a disabled account signed in: %v", err)
			}
			s.DB.First(&stored, st.ID)
			if stored.DisabledAt == nil || stored.Role != models.RoleAssistant {
				t.Errorf("the refused sign-in changed the account: %+v", stored)
			}
			if err := s.RefuseStaffOIDC(ctx, id.Method, "sub-9"); err != nil {
				t.Fatal(err)
			}

			var entries []models.AuditEntry
			s.DB.Order("id").Find(&entries)
			var got []string
			for _, e := range entries {
				got = append(got, e.Action+": "+e.Detail)
			}
			want := []string{
				"config.change: staff account added: jdoe (admin)",
				"config.change: staff account created by single sign-on (idp.example): jdoe-2 (privacy_officer)",
				"staff.sign_in: single sign-on (idp.example)",
				"config.change: staff role changed by single sign-on (idp.example): jdoe-2 (privacy_officer to assistant)",
				"staff.sign_in: single sign-on (idp.example)",
				"config.change: staff account disabled: jdoe-2",
				"staff.sign_in_refused: single sign-on (idp.example): the account is disabled in the portal",
				"staff.sign_in_refused: single sign-on (idp.example): no role in the portal for subject sub-9",
			}
			if len(got) != len(want) {
				t.Fatalf("audit entries:\n%q\nwant\n%q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("audit entry %d: %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}
