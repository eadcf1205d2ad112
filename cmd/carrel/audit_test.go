package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
)

func TestAuditCommandHelp(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"audit", "--help"}, {"audit", "-h"}, {"audit", "help"}} {
		code, out, errs := carrel(t, args...)
		if code != 0 || !strings.Contains(out, "Usage: carrel audit [settings] verify [--checkpoint FILE]") || !strings.Contains(out, "checkpoint  prints a signed checkpoint") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	// Each subcommand prints its own usage, not its sibling's.
	for args, want := range map[string]string{"verify": "Usage: carrel audit [settings] verify [--checkpoint FILE]\n", "checkpoint": "Usage: carrel audit [settings] checkpoint\n"} {
		code, out, errs := carrel(t, "audit", args, "--help")
		if code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("audit %s --help: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	for _, args := range [][]string{{"audit"}, {"audit", "mend"}, {"audit", "verify", "--bogus"}, {"audit", "verify", "extra"}} {
		if code, _, errs := carrel(t, args...); code != 2 || !strings.Contains(errs, "carrel audit") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a usage line", args, code, errs)
		}
	}
}

// TestAuditCheckpointCommand keeps a checkpoint outside the database and
// catches, with it, the newest entries deleted; on both engines.
func TestAuditCheckpointCommand(t *testing.T) {
	oldKey, newKey := models.GenerateKey(), models.GenerateKey()
	for engine, dbURL := range importDatabaseURLs(t) {
		t.Run(engine, func(t *testing.T) {
			dir := isolate(t)
			t.Setenv("CARREL_DATABASE_URL", dbURL)
			t.Setenv("CARREL_SECRET_KEYS", oldKey)
			t.Cleanup(func() { stdin = os.Stdin })

			if code, _, errs := carrel(t, "audit", "checkpoint"); code != 1 || !strings.Contains(errs, "the audit log is empty") {
				t.Fatalf("checkpoint of an empty log: exit %d, %q", code, errs)
			}
			for _, u := range []string{"ada", "bea", "cy", "dee"} {
				stdin = strings.NewReader("correct horse battery staple 42\n")
				if code, _, errs := carrel(t, "staff", "add", "--username", u, "--role", "assistant"); code != 0 {
					t.Fatalf("staff add %s: %d %q", u, code, errs)
				}
			}
			code, out, errs := carrel(t, "audit", "checkpoint")
			if code != 0 || !strings.HasPrefix(out, "carrel-audit-checkpoint v1 entry=4 ") {
				t.Fatalf("audit checkpoint: exit %d, %q %q", code, out, errs)
			}
			file := writeFile(t, dir, "checkpoint.txt", "Kept by the privacy officer.\n"+out)
			code, out, errs = carrel(t, "audit", "verify", "--checkpoint", file)
			if code != 0 || !strings.Contains(out, "Audit log intact: 4 entries checked, and matches the checkpoint at entry 4.") {
				t.Fatalf("verify --checkpoint: exit %d, %q %q", code, out, errs)
			}

			// After a key rotation the old entries and checkpoint verify
			// while the old key stays configured.
			t.Setenv("CARREL_SECRET_KEYS", newKey+","+oldKey)
			if code, out, errs := carrel(t, "audit", "verify", "--checkpoint", file); code != 0 {
				t.Fatalf("verify after a rotation: exit %d, %q %q", code, out, errs)
			}

			// A checkpoint changed to fit a shortened log is refused.
			body, _ := os.ReadFile(file)
			forged := writeFile(t, dir, "forged.txt", strings.Replace(string(body), "entry=4 ", "entry=2 ", 1))
			if code, _, errs := carrel(t, "audit", "verify", "--checkpoint", forged); code != 1 || !strings.Contains(errs, "checkpoint refused") {
				t.Errorf("a forged checkpoint: exit %d, %q", code, errs)
			}
			if code, _, errs := carrel(t, "audit", "verify", "--checkpoint", writeFile(t, dir, "empty.txt", "")); code != 2 || !strings.Contains(errs, "no checkpoint found") {
				t.Errorf("a file without a checkpoint: exit %d, %q", code, errs)
			}

			// The newest entries deleted: the chain alone cannot tell, the
			// checkpoint can.
			db, err := models.Open(context.Background(), dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Exec("DELETE FROM audit_entries WHERE id >= 3")
			sqlDB, _ := db.DB()
			sqlDB.Close()
			if code, out, errs := carrel(t, "audit", "verify"); code != 0 || !strings.Contains(out, "intact: 2 entries") {
				t.Errorf("verify without the checkpoint: exit %d, %q %q", code, out, errs)
			}
			code, _, errs = carrel(t, "audit", "verify", "--checkpoint", file)
			if code != 1 || !strings.Contains(errs, "entry 4, which the checkpoint names, is missing: the newest entries were deleted") {
				t.Errorf("verify --checkpoint after a truncation: exit %d, %q", code, errs)
			}
		})
	}
}
