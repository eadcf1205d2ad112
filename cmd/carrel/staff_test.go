package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
)

// TestStaffPasswordRule: `carrel staff add` and `carrel staff reset-password`
// refuse what an attacker guesses first (NIST SP 800-63B rev. 4): fewer
// than 15 characters, counted as characters and not bytes; one character
// repeated; the username inside; a common password, whatever its case.
// Each refusal says what is wrong, and a good passphrase is accepted. On
// both engines.
func TestStaffPasswordRule(t *testing.T) {
	const good = "Marginalia in the stacks at dusk"
	refused := []struct{ name, password, want string }{
		{"twelve spaces", strings.Repeat(" ", 12), "at least 15 characters"},
		{"fourteen letters", "abcdefghijklmn", "at least 15 characters"},
		{"fifteen bytes but eight characters", "ééééééé1", "at least 15 characters"},
		{"fifteen spaces", strings.Repeat(" ", 15), "one character repeated"},
		{"one letter repeated", strings.Repeat("z", 20), "one character repeated"},
		{"the username", "rita-likes-long-walks", "contain the username"},
		{"the username in capitals", "Long walks with RITA 2026", "contain the username"},
		{"a common password", "passwordpassword", "common passwords"},
		{"a common password in other case", "QwertyUiopAsdfgh", "common passwords"},
	}
	for engine, dbURL := range importDatabaseURLs(t) {
		t.Run(engine, func(t *testing.T) {
			isolate(t)
			t.Setenv("CARREL_DEMO", "1")
			t.Setenv("CARREL_DATABASE_URL", dbURL)
			t.Cleanup(func() { stdin = os.Stdin })
			withStdin := func(s string) { stdin = strings.NewReader(s + "\n") }

			withStdin(good)
			if code, out, errs := carrel(t, "staff", "add", "--username", "rita", "--role", "assistant"); code != 0 {
				t.Fatalf("a good passphrase: exit %d %q %q", code, out, errs)
			}
			for _, tc := range refused {
				t.Run(tc.name, func(t *testing.T) {
					// Checked before the account is looked up: "rita"
					// exists, so a password let through says so.
					withStdin(tc.password)
					code, _, errs := carrel(t, "staff", "add", "--username", "rita", "--role", "assistant")
					if code != 2 || !strings.Contains(errs, tc.want) {
						t.Errorf("staff add: exit %d %q, want 2 and %q", code, errs, tc.want)
					}
					withStdin(tc.password)
					code, _, errs = carrel(t, "staff", "reset-password", "rita")
					if code != 2 || !strings.Contains(errs, tc.want) {
						t.Errorf("staff reset-password: exit %d %q, want 2 and %q", code, errs, tc.want)
					}
					if p := strings.TrimSpace(tc.password); p != "" && strings.Contains(errs, p) {
						t.Errorf("the refusal repeats the password: %q", errs)
					}
				})
			}
			withStdin("Café crème, brûlée, 書架")
			if code, out, errs := carrel(t, "staff", "reset-password", "rita"); code != 0 || !strings.Contains(out, "New password set") {
				t.Fatalf("a good passphrase with accents: exit %d %q %q", code, out, errs)
			}
		})
	}
}

// TestStaffReset2FA: `carrel staff reset-2fa` removes a lost second
// factor and its recovery codes, audited; `carrel seed --demo` enrols the
// demo officer and admin with the fixed demo secret and prints it; an
// officer's password may be 8 characters, as their role has a second
// factor, and an assistant's may not. On both engines.
func TestStaffReset2FA(t *testing.T) {
	for engine, dbURL := range importDatabaseURLs(t) {
		t.Run(engine, func(t *testing.T) {
			isolate(t)
			t.Setenv("CARREL_DEMO", "1")
			t.Setenv("CARREL_DATABASE_URL", dbURL)
			t.Cleanup(func() { stdin = os.Stdin })
			code, out, errs := carrel(t, "seed", "--demo")
			if code != 0 || !strings.Contains(out, models.DemoTOTPSecret) {
				t.Fatalf("seed: exit %d, the demo's authenticator key not printed: %q %q", code, out, errs)
			}
			stdin = strings.NewReader("brief-owl-7\n")
			if code, _, errs := carrel(t, "staff", "add", "--username", "otto", "--role", "privacy_officer"); code != 0 {
				t.Errorf("an officer's 11-character password: exit %d %q", code, errs)
			}
			stdin = strings.NewReader("brief-owl-7\n")
			if code, _, errs := carrel(t, "staff", "add", "--username", "asa", "--role", "assistant"); code != 2 || !strings.Contains(errs, "or 8 with a second factor") {
				t.Errorf("an assistant's 11-character password: exit %d %q", code, errs)
			}

			code, out, errs = carrel(t, "staff", "reset-2fa", "officer")
			if code != 0 || !strings.Contains(out, "Removed the second factor") {
				t.Fatalf("reset-2fa: exit %d %q %q", code, out, errs)
			}
			if code, _, errs := carrel(t, "staff", "reset-2fa", "nobody"); code != 2 || !strings.Contains(errs, "no account nobody") {
				t.Errorf("reset-2fa of an unknown account: exit %d %q", code, errs)
			}
			db, err := models.Open(context.Background(), dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { sqlDB, _ := db.DB(); sqlDB.Close() }()
			var st models.Staff
			db.Where("username = ?", "officer").Take(&st)
			if st.HasSecondFactor() || st.TOTPEnrolledAt != nil {
				t.Errorf("after reset-2fa: secret %q, enrolled %v", st.TOTPSecret, st.TOTPEnrolledAt)
			}
			var admin models.Staff
			db.Where("username = ?", "admin").Take(&admin)
			if !admin.HasSecondFactor() {
				t.Error("the demo admin should keep the demo authenticator")
			}
			var n int64
			db.Model(&models.AuditEntry{}).Where("staff_id = ? AND action = ? AND detail = ?", st.ID,
				models.AuditSecondFactor, models.SecondFactorReset).Count(&n)
			if n != 1 {
				t.Errorf("%d reset-2fa audit entries, want 1", n)
			}
			if code, out, _ := carrel(t, "staff", "reset-2fa", "--help"); code != 0 || !strings.Contains(out, "lost phone") {
				t.Errorf("reset-2fa --help: exit %d %q", code, out)
			}
		})
	}
}
