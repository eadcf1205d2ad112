package models_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

func TestSealOpenRoundTripAndRotation(t *testing.T) {
	old := mustKeys(t, keyA)
	sealed := old.Seal("staff-totp-secret", []byte("JBSWY3DPEHPK3PXP"))
	if strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("sealed text holds the plaintext: %s", sealed)
	}
	if got, err := old.Open("staff-totp-secret", sealed); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := old.Seal("staff-totp-secret", []byte("JBSWY3DPEHPK3PXP")); again == sealed {
		t.Error("two seals of one text are equal: no fresh nonce")
	}
	// After rotation the old key still opens what it sealed; new seals use
	// the new key, which the old set cannot open.
	rotated := mustKeys(t, keyB, keyA)
	if got, err := rotated.Open("staff-totp-secret", sealed); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("after rotation: Open = %q, %v", got, err)
	}
	if _, err := old.Open("staff-totp-secret", rotated.Seal("staff-totp-secret", []byte("x"))); !errors.Is(err, models.ErrUnsealable) {
		t.Errorf("old keys opened a text sealed under the new key: %v", err)
	}
	// Once the old key is dropped, its texts are refused.
	if _, err := mustKeys(t, keyB).Open("staff-totp-secret", sealed); !errors.Is(err, models.ErrUnsealable) {
		t.Errorf("a dropped key's text opened: %v", err)
	}
	// Another purpose, or any altered character, is refused.
	if _, err := old.Open("other-purpose", sealed); !errors.Is(err, models.ErrUnsealable) {
		t.Errorf("opened for another purpose: %v", err)
	}
	for i := range sealed {
		b := []byte(sealed)
		b[i] ^= 1
		if _, err := old.Open("staff-totp-secret", string(b)); err == nil {
			t.Fatalf("altered byte %d: opened", i)
		}
	}
	for _, junk := range []string{"", ".", "nodot", old.Seal("staff-totp-secret", nil)[:9]} {
		if _, err := old.Open("staff-totp-secret", junk); err == nil {
			t.Errorf("Open(%q) succeeded", junk)
		}
	}
}

func TestStaffPasswordMinimumDependsOnSecondFactor(t *testing.T) {
	if err := models.CheckStaffPasswordFor("ada", "tiny-fox-9", true); err != nil {
		t.Errorf("10 characters with a second factor: %v", err)
	}
	err := models.CheckStaffPasswordFor("ada", "tiny-fox-9", false)
	if err == nil || !strings.Contains(err.Error(), "15 characters, or 8 with a second factor") {
		t.Errorf("10 characters without a second factor: %v", err)
	}
	if err := models.CheckStaffPasswordFor("ada", "short7!", true); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("7 characters with a second factor: %v", err)
	}
	for _, c := range []struct {
		policy, role string
		want         bool
	}{
		{"", models.RoleAssistant, false}, {"", models.RolePrivacyOfficer, true}, {"", models.RoleAdmin, true},
		{models.TOTPRequired, models.RoleAssistant, true}, {models.TOTPOptional, models.RoleAdmin, false},
	} {
		if got := models.SecondFactorRequired(c.policy, c.role); got != c.want {
			t.Errorf("SecondFactorRequired(%q, %q) = %v", c.policy, c.role, got)
		}
	}
}

// enrolled makes a staff member with a second factor and returns them,
// the secret and the recovery codes.
func enrolled(t *testing.T, s *models.Store, username, role string) (models.Staff, string, []string) {
	t.Helper()
	ctx := t.Context()
	st, err := s.AddStaff(ctx, username, username, role, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	key, err := models.NewTOTPKey(username)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := models.TOTPCode(key.Secret(), s.Now().Add(-30*time.Second))
	codes, err := s.EnrolSecondFactor(ctx, st.ID, key.Secret(), code)
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	st, _ = s.StaffMember(ctx, st.ID)
	return st, key.Secret(), codes
}

func TestSecondFactorEnrolCheckReplayRecoveryReset(t *testing.T) {
	clock := modeltest.NewFakeClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			st, err := s.AddStaff(ctx, "olive", "Olive", models.RolePrivacyOfficer, "pale grey kite")
			if err != nil {
				t.Fatalf("an officer's 14-character password (TOTP required): %v", err)
			}
			key, _ := models.NewTOTPKey("olive")
			if _, err := s.EnrolSecondFactor(ctx, st.ID, key.Secret(), "000000"); !errors.Is(err, models.ErrSecondFactorCode) {
				t.Fatalf("wrong confirmation code: %v", err)
			}
			if st, _ = s.StaffMember(ctx, st.ID); st.HasSecondFactor() {
				t.Fatal("a refused confirmation saved the secret")
			}
			code, _ := models.TOTPCode(key.Secret(), clock.Now())
			codes, err := s.EnrolSecondFactor(ctx, st.ID, key.Secret(), code)
			if err != nil || len(codes) != 10 {
				t.Fatalf("enrol = %v, %v", codes, err)
			}
			st, _ = s.StaffMember(ctx, st.ID)
			if !st.HasSecondFactor() || strings.Contains(st.TOTPSecret, key.Secret()) {
				t.Fatalf("secret stored as %q", st.TOTPSecret)
			}
			// The confirmation code's step is used up already.
			if _, err := s.CheckSecondFactor(ctx, st.ID, code); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("the enrolment code replayed: %v", err)
			}
			clock.Advance(30 * time.Second)
			code, _ = models.TOTPCode(key.Secret(), clock.Now())
			if rec, err := s.CheckSecondFactor(ctx, st.ID, code[:3]+" "+code[3:]); err != nil || rec {
				t.Fatalf("right code: %v, %v", rec, err)
			}
			if _, err := s.CheckSecondFactor(ctx, st.ID, code); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("the same code again: %v", err)
			}
			// An older code within the skew is refused too: steps only move on.
			prev, _ := models.TOTPCode(key.Secret(), clock.Now().Add(-30*time.Second))
			if _, err := s.CheckSecondFactor(ctx, st.ID, prev); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("the previous step's code after this one: %v", err)
			}
			// A recovery code works once, in any case, with or without its dash.
			if rec, err := s.CheckSecondFactor(ctx, st.ID, strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))); err != nil || !rec {
				t.Fatalf("recovery code: %v, %v", rec, err)
			}
			if _, err := s.CheckSecondFactor(ctx, st.ID, codes[0]); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("a recovery code twice: %v", err)
			}
			if n, _ := s.RecoveryCodesLeft(ctx, st.ID); n != 9 {
				t.Errorf("recovery codes left = %d, want 9", n)
			}
			// Enrolling again replaces the codes.
			clock.Advance(30 * time.Second)
			code, _ = models.TOTPCode(key.Secret(), clock.Now())
			if _, err := s.EnrolSecondFactor(ctx, st.ID, key.Secret(), code); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CheckSecondFactor(ctx, st.ID, codes[1]); !errors.Is(err, models.ErrBadCredentials) {
				t.Errorf("an old recovery code after enrolling again: %v", err)
			}
			// Reset clears everything, audited.
			if err := s.ResetSecondFactor(ctx, "OLIVE"); err != nil {
				t.Fatal(err)
			}
			if st, _ = s.StaffMember(ctx, st.ID); st.HasSecondFactor() || st.TOTPLastStep != 0 || st.TOTPEnrolledAt != nil {
				t.Errorf("after reset: %+v", st)
			}
			if n, _ := s.RecoveryCodesLeft(ctx, st.ID); n != 0 {
				t.Errorf("recovery codes after reset = %d", n)
			}
			log, err := s.AuditLog(ctx, models.AuditFilter{Action: models.AuditSecondFactor}, models.PageRequest{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			var details []string
			for _, r := range log.Rows {
				details = append(details, r.Detail)
			}
			want := []string{models.SecondFactorReset, models.SecondFactorEnrolled, models.SecondFactorRecoveryUse, models.SecondFactorEnrolled}
			if strings.Join(details, "|") != strings.Join(want, "|") {
				t.Errorf("audit = %q, want %q", details, want)
			}
			if err := s.ResetSecondFactor(ctx, "nobody"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("reset of an unknown account: %v", err)
			}
		})
	}
}

// One code presented by many sign-ins at once is accepted by one.
func TestSecondFactorCodeAcceptedOnceUnderConcurrency(t *testing.T) {
	clock := modeltest.NewFakeClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			s := modeltest.NewStore(t, db.Gorm, clock)
			st, secret, _ := enrolled(t, s, "adam", models.RoleAdmin)
			code, _ := models.TOTPCode(secret, clock.Now())
			var ok, refused atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					_, err := s.CheckSecondFactor(t.Context(), st.ID, code)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, models.ErrBadCredentials):
						refused.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 1 || refused.Load() != 3 {
				t.Errorf("accepted %d, refused %d; want 1 and 3", ok.Load(), refused.Load())
			}
		})
	}
}

// Wrong codes lock the second step like wrong passwords, and while it is
// locked no code is checked, the right one included.
func TestSecondFactorLocksAndChecksNothingWhileLocked(t *testing.T) {
	clock := modeltest.NewFakeClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			st, secret, codes := enrolled(t, s, "olga", models.RolePrivacyOfficer)
			clock.Advance(time.Minute)
			var checked atomic.Int64
			s.OnSecretCheck = func() { checked.Add(1) }
			var locked *models.LockedError
			for i := range s.Limits.MaxFailures {
				_, err := s.CheckSecondFactor(ctx, st.ID, "000000")
				if i < s.Limits.MaxFailures-1 && !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("wrong code %d: %v", i, err)
				}
				if i == s.Limits.MaxFailures-1 && !errors.As(err, &locked) {
					t.Fatalf("last wrong code: %v, want locked", err)
				}
			}
			before := checked.Load()
			code, _ := models.TOTPCode(secret, clock.Now())
			for _, c := range []string{code, codes[0]} {
				if _, err := s.CheckSecondFactor(ctx, st.ID, c); !errors.As(err, &locked) {
					t.Errorf("right code while locked: %v", err)
				}
			}
			if checked.Load() != before {
				t.Errorf("%d codes checked while locked", checked.Load()-before)
			}
			if got, _ := s.StaffMember(ctx, st.ID); got.TOTPLastStep >= clock.Now().Unix()/30 {
				t.Error("a code was accepted while locked")
			}
			// The password's own count is another key: the lock is the second step's.
			clock.Advance(s.Limits.Lockout + time.Second)
			code, _ = models.TOTPCode(secret, clock.Now())
			if _, err := s.CheckSecondFactor(ctx, st.ID, code); err != nil {
				t.Errorf("after the lock: %v", err)
			}
		})
	}
}

// The demo's officer and admin are enrolled with the fixed demo secret,
// and its codes sign them in; the assistant has no second factor.
func TestSeedDemoEnrolsOfficerAndAdmin(t *testing.T) {
	clock := modeltest.NewFakeClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	for _, db := range modeltest.Databases(t, clock) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			s := modeltest.NewStore(t, db.Gorm, clock)
			if _, err := s.SeedDemo(ctx); err != nil {
				t.Fatal(err)
			}
			for _, a := range models.DemoAccounts() {
				if a.Kind != "staff" {
					continue
				}
				var st models.Staff
				if err := db.Gorm.Where("username = ?", a.Login).Take(&st).Error; err != nil {
					t.Fatal(err)
				}
				if a.Login == "staff" {
					if st.HasSecondFactor() || a.TOTP != "" {
						t.Errorf("the demo assistant has a second factor")
					}
					continue
				}
				if a.TOTP != models.DemoTOTPSecret || !st.HasSecondFactor() || strings.Contains(st.TOTPSecret, models.DemoTOTPSecret) {
					t.Fatalf("demo %s: TOTP %q, stored %q", a.Login, a.TOTP, st.TOTPSecret)
				}
				code, _ := models.TOTPCode(models.DemoTOTPSecret, clock.Now())
				if _, err := s.CheckSecondFactor(ctx, st.ID, code); err != nil {
					t.Errorf("demo %s with the demo secret's code: %v", a.Login, err)
				}
			}
			// Seeding again changes nothing.
			if res, err := s.SeedDemo(ctx); err != nil || res.Created {
				t.Errorf("second seed = %+v, %v", res, err)
			}
		})
	}
}

// The key an enrolment page shows is the secret it will check, whatever
// the username holds.
func TestTOTPKeyFromSecret(t *testing.T) {
	key, err := models.TOTPKeyFromSecret("a&b?c#d/é", models.DemoTOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	if key.Secret() != models.DemoTOTPSecret || key.AccountName() != "a&b?c#d/é" || key.Issuer() != models.TOTPIssuer || key.Period() != 30 {
		t.Errorf("key = %s: secret %q account %q issuer %q period %d", key.URL(), key.Secret(), key.AccountName(), key.Issuer(), key.Period())
	}
}
