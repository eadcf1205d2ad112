package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestAPIKeyCommands(t *testing.T) {
	isolate(t)
	t.Setenv("CARREL_DEMO", "1")

	if code, _, errs := carrel(t, "apikey"); code != 2 || !strings.Contains(errs, "subcommand") {
		t.Fatalf("no subcommand: %d %q", code, errs)
	}
	if code, _, errs := carrel(t, "apikey", "add"); code != 2 || !strings.Contains(errs, "--name") {
		t.Fatalf("add without a name: %d %q", code, errs)
	}
	if code, out, _ := carrel(t, "apikey", "list"); code != 0 || !strings.Contains(out, "No API keys") {
		t.Fatalf("empty list: %d %q", code, out)
	}
	code, out, errs := carrel(t, "apikey", "add", "--name", "ils")
	if code != 0 {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	m := regexp.MustCompile(`carrel_([0-9a-f]{12})_([A-Za-z0-9_-]{43})`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "not shown again") {
		t.Fatalf("add prints the key once: %q", out)
	}
	prefix, secret := m[1], m[2]
	if code, _, errs := carrel(t, "apikey", "add", "--name", "ils"); code != 2 || !strings.Contains(errs, "exists") {
		t.Fatalf("a second key of the same name: %d %q", code, errs)
	}
	if code, _, errs := carrel(t, "apikey", "add", "--name", "-bad"); code != 2 || !strings.Contains(errs, "name") {
		t.Fatalf("a bad name: %d %q", code, errs)
	}

	code, out, _ = carrel(t, "apikey", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "ils") || !strings.Contains(out, prefix) {
		t.Fatalf("list: %d %q", code, out)
	}
	if strings.Contains(out, secret) {
		t.Fatal("list must never show a secret")
	}

	if code, out, _ := carrel(t, "apikey", "revoke", "ils"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q", code, out)
	}
	if code, _, errs := carrel(t, "apikey", "revoke", "ils"); code != 2 || !strings.Contains(errs, "no active key") {
		t.Fatalf("revoke twice: %d %q", code, errs)
	}
	code, out, _ = carrel(t, "apikey", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[1], "UTC") ||
		strings.Count(lines[1], "UTC") != 2 {
		t.Fatalf("the revoked key is listed with its revocation: %q", out)
	}
	// Both changes are in the audit log, whose chain holds.
	code, out, _ = carrel(t, "audit", "verify")
	if code != 0 || !strings.Contains(out, "intact: 2 entries") {
		t.Fatalf("audit verify: %d %q", code, out)
	}
}
