package main

import (
	"os"
	"strings"
	"testing"
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
