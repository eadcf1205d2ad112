package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/modeltest"
)

// carrelImport runs `carrel import args...` and returns its exit code,
// standard output, and standard error (bad lines and the final error).
func carrelImport(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var errb bytes.Buffer
	importStderr = &errb
	defer func() { importStderr = os.Stderr }()
	code, out, runErr := carrel(t, append([]string{"import"}, args...)...)
	return code, out, errb.String() + runErr
}

// importDatabaseURLs names a database for the command on each engine: a
// new SQLite file, and a PostgreSQL database of the test's own.
func importDatabaseURLs(t *testing.T) map[string]string {
	t.Helper()
	return modeltest.URLs(t, filepath.Join(t.TempDir(), "import.db"))
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const cmdPatronsCSV = `ils_id,card_number,given_name,family_name,email,phone,postal_address,home_branch,card_expires_on,borrowing_status,pin
p1,21000000000101,Ada,Reader,ada@example.org,,,Central,2028-01-31,active,4821
p2,21000000000102,Ben,Borrower,,,,Central,2027-06-30,active,
p3,21000000000103,Cy,Shelver,,,,Central,2027-06-30,active,
`

const cmdLoansHead = "ils_id,patron_ils_id,title,author,format,barcode,checked_out_at,due_at,renewals,branch,returned_at\n"

const cmdLoansCSV = cmdLoansHead +
	"L1,p1,Kindred,\"Butler, Octavia E.\",Book,31000000000001,2026-03-30T15:04:05Z,2026-04-20,0,Central,\n" +
	"L2,p1,Dawn,,Book,31000000000002,2026-03-30,April 20th,0,Central,\n" +
	"L3,p404,Imago,,Book,31000000000003,2026-03-30,2026-04-20,0,Central,\n" +
	"L4,p2,Wild Seed,,Book,31000000000004,2026-03-30,2026-04-20,1,Central,\n"

// cmdLoansJSONL is the good lines of cmdLoansCSV.
const cmdLoansJSONL = `{"ils_id":"L1","patron_ils_id":"p1","title":"Kindred","author":"Butler, Octavia E.","format":"Book","barcode":"31000000000001","checked_out_at":"2026-03-30T15:04:05Z","due_at":"2026-04-20","renewals":0,"branch":"Central"}
{"ils_id":"L4","patron_ils_id":"p2","title":"Wild Seed","format":"Book","barcode":"31000000000004","checked_out_at":"2026-03-30","due_at":"2026-04-20","renewals":1,"branch":"Central"}
`

func TestImportCommand(t *testing.T) {
	for engine, dbURL := range importDatabaseURLs(t) {
		t.Run(engine, func(t *testing.T) {
			dir := isolate(t)
			t.Setenv("CARREL_DEMO", "1")
			t.Setenv("CARREL_DATABASE_URL", dbURL)
			patrons := writeFile(t, dir, "patrons.csv", cmdPatronsCSV)

			code, out, errs := carrelImport(t, "patrons", patrons)
			if code != 0 || !strings.HasPrefix(out, "patrons: 3 rows read, 3 inserted, 0 updated, 0 unchanged;") || !strings.Contains(out, "rows/s") {
				t.Fatalf("import patrons: exit %d\nstdout %q\nstderr %q", code, out, errs)
			}
			if strings.Contains(out+errs, "4821") {
				t.Errorf("the PIN shows in the output: %q %q", out, errs)
			}
			if code, out, _ := carrelImport(t, patrons); code != 2 {
				t.Errorf("a file without a kind: exit %d, %q", code, out)
			}
			code, out, _ = carrelImport(t, "patrons", "--batch", "1", patrons)
			if code != 0 || !strings.HasPrefix(out, "patrons: 3 rows read, 0 inserted, 0 updated, 3 unchanged;") {
				t.Fatalf("the same patrons again: exit %d, %q", code, out)
			}

			// Bad lines: reported with their line numbers on stderr and in
			// the report; the good lines go in; exit 1.
			loans := writeFile(t, dir, "loans.csv", cmdLoansCSV)
			reportPath := filepath.Join(dir, "report.txt")
			code, out, errs = carrelImport(t, "loans", loans, "--report", reportPath)
			wantLines := []string{
				"line 3: card 21000000000101: due_at: not a date (use YYYY-MM-DD or RFC 3339)",
				"line 4: patron_ils_id: no patron has this ILS id (import patrons first)",
			}
			if code != 1 || !strings.HasPrefix(out, "loans: 4 rows read, 2 inserted, 0 updated, 0 unchanged") {
				t.Fatalf("loans with bad lines: exit %d\nstdout %q\nstderr %q", code, out, errs)
			}
			for _, w := range append(wantLines, "carrel import: 2 bad lines: the good lines went in") {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			report, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Join(wantLines, "\n") + "\n" + out; string(report) != want {
				t.Errorf("report:\n%s\nwant:\n%s", report, want)
			}
			if st, _ := os.Stat(reportPath); st.Mode().Perm() != 0o600 {
				t.Errorf("the report (it names cards) has mode %v, want 0600", st.Mode().Perm())
			}

			// The same good lines as JSON Lines on standard input change
			// nothing.
			stdin = strings.NewReader(cmdLoansJSONL)
			t.Cleanup(func() { stdin = os.Stdin })
			code, out, errs = carrelImport(t, "loans", "-", "--format", "jsonl")
			if code != 0 || !strings.HasPrefix(out, "loans: 2 rows read, 0 inserted, 0 updated, 2 unchanged") {
				t.Fatalf("loans as JSON Lines: exit %d\nstdout %q\nstderr %q", code, out, errs)
			}
			jsonl := writeFile(t, dir, "loans.ndjson", cmdLoansJSONL)

			// --strict: a bad line and nothing changes, though every bad
			// line is still listed.
			renewed := strings.Replace(cmdLoansCSV, "2026-04-20,0,Central,\nL2", "2026-05-11,1,Central,\nL2", 1)
			code, out, errs = carrelImport(t, "loans", "--strict", writeFile(t, dir, "renewed.csv", renewed))
			if code != 1 || !strings.Contains(errs, "2 bad lines, so nothing was changed (--strict)") ||
				!strings.Contains(errs, wantLines[0]) || !strings.Contains(errs, wantLines[1]) {
				t.Fatalf("strict: exit %d\nstdout %q\nstderr %q", code, out, errs)
			}
			if code, out, _ := carrelImport(t, "loans", jsonl); code != 0 || !strings.Contains(out, "0 updated, 2 unchanged") {
				t.Errorf("after a strict import with bad lines, a loan changed: exit %d, %q", code, out)
			}

			// --full refuses to delete when a line is bad, and when it would
			// delete more than --max-delete.
			code, _, errs = carrelImport(t, "loans", loans, "--full")
			if code != 1 || !strings.Contains(errs, "not a complete snapshot: nothing was deleted") {
				t.Errorf("full with bad lines: exit %d, %q", code, errs)
			}
			onlyAda := writeFile(t, dir, "ada.csv", strings.Join(strings.Split(cmdPatronsCSV, "\n")[:2], "\n")+"\n")
			code, _, errs = carrelImport(t, "patrons", onlyAda, "--full")
			if code != 1 || !strings.Contains(errs, "full snapshot refused: the snapshot would delete 2 of 3 patrons (more than 10%)") {
				t.Errorf("full over the limit: exit %d, %q", code, errs)
			}
			withoutCy := writeFile(t, dir, "no-cy.csv", strings.Join(strings.Split(cmdPatronsCSV, "\n")[:3], "\n")+"\n")
			code, out, errs = carrelImport(t, "patrons", withoutCy, "--full", "--max-delete", "50")
			if code != 0 || !strings.Contains(out, "1 deleted as missing from the full snapshot") {
				t.Fatalf("full patrons: exit %d\nstdout %q\nstderr %q", code, out, errs)
			}
			if code, out, errs := carrel(t, "audit", "verify"); code != 0 || !strings.Contains(out, "intact: 1 entries") {
				t.Errorf("audit verify after a full import: %d %q %q", code, out, errs)
			}

			// A file without a required column: nothing imported, exit 1.
			code, _, errs = carrelImport(t, "holds", writeFile(t, dir, "holds.csv", "ils_id,patron_ils_id,title\nH1,p1,Kindred\n"))
			if code != 1 || !strings.Contains(errs, "lacks the required columns status, placed_at") {
				t.Errorf("holds without columns: exit %d, %q", code, errs)
			}
			// A dry run writes nothing.
			code, out, _ = carrelImport(t, "holds", "--dry-run", writeFile(t, dir, "holds2.csv",
				"ils_id,patron_ils_id,title,status,placed_at\nH1,p1,Kindred,waiting,2026-04-01\n"))
			if code != 0 || !strings.HasPrefix(out, "holds: dry run, nothing written: 1 rows read, 1 good") {
				t.Errorf("dry run: exit %d, %q", code, out)
			}
			db, err := models.Open(context.Background(), dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			var holds int64
			db.Table("holds").Count(&holds)
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
			if holds != 0 {
				t.Errorf("a dry run wrote %d holds", holds)
			}
		})
	}
}

func TestImportCommandHelpAndUsage(t *testing.T) {
	dir := isolate(t)
	t.Setenv("CARREL_DEMO", "1")
	for _, args := range [][]string{{"--help"}, {"-h"}, {"loans", "--help"}, {"help"}} {
		code, out, errs := carrelImport(t, args...)
		if code != 0 {
			t.Errorf("import %v: exit %d, %q", args, code, errs)
		}
		for _, want := range []string{"Usage: carrel import [settings] KIND FILE [flags]", "patrons, loans, holds, fines, ill, reference, computer-sessions",
			"--format csv|jsonl", "--full", "--max-delete PCT", "--strict", "--dry-run", "--report FILE", "docs/import.md", "never with a PIN", "Exit codes"} {
			if !strings.Contains(out, want) {
				t.Errorf("import %v: the help lacks %q", args, want)
			}
		}
	}
	if code, out, _ := carrel(t, "help"); code != 0 || !strings.Contains(out, "keep in step with the ILS") {
		t.Errorf("carrel help does not list import: %q", out)
	}
	f := writeFile(t, dir, "f.csv", "ils_id\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage: carrel import KIND FILE"},
		{[]string{"books", f}, `"books" is not a kind of record: use one of patrons, loans`},
		{[]string{"loans", writeFile(t, dir, "f.txt", "")}, "give --format csv or --format jsonl"},
		{[]string{"loans", f, "--format", "xml"}, "--format is csv or jsonl"},
		{[]string{"loans", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"loans", f, "--max-delete", "150"}, "percentage above 0, up to 100"},
		{[]string{"loans", f, "--max-delete", "0"}, "to delete nothing, leave out --full"},
		{[]string{"loans", f, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"loans", f, "--full", "--dry-run"}, "cannot tell what --full would delete"},
		{[]string{"loans", f, "extra"}, "usage: carrel import KIND FILE"},
	} {
		code, _, errs := carrelImport(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("import %v: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
