package web_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// minConformanceRows is how many promises the table held when it was
// written: fewer means rows were lost, or the table was not read at all.
const minConformanceRows = 30

// conformanceRow is one promise of the table.
type conformanceRow struct {
	line        int
	code, tests string
}

// readConformanceTable reads the rows of every table in the document
// whose last column is "Test that proves it".
func readConformanceTable(t *testing.T, path string) []conformanceRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []conformanceRow
	inTable := false
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		switch {
		case !inTable:
			// A header row: only the promise tables are read.
			inTable = len(cells) == 4 && cells[3] == "Test that proves it" && cells[2] == "Code that keeps it"
			continue
		case strings.Trim(line, "|-: ") == "":
			continue // the separator row
		}
		if len(cells) != 4 {
			t.Fatalf("%s:%d: a row of the table has %d cells, want 4 (a | inside a cell?)", path, i+1, len(cells))
		}
		rows = append(rows, conformanceRow{line: i + 1, code: cells[2], tests: cells[3]})
	}
	return rows
}

// testFuncs are the names of every test function in the repository.
func testFuncs(t *testing.T, root string) map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			out[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConformanceTableNamesRealTests keeps docs/policy-conformance.md
// honest: every row names at least one test, and each one exists; every
// file the code column names exists and holds the names given after it.
func TestConformanceTableNamesRealTests(t *testing.T) {
	const doc = "../docs/policy-conformance.md"
	rows := readConformanceTable(t, doc)
	if len(rows) < minConformanceRows {
		t.Fatalf("%s: %d promise rows, want at least %d", doc, len(rows), minConformanceRows)
	}
	tests := testFuncs(t, "..")
	if len(tests) < 100 || !tests["TestConformanceTableNamesRealTests"] {
		t.Fatalf("found %d test functions: the repository's tests were not read", len(tests))
	}
	name := regexp.MustCompile("`(Test\\w+)`")
	token := regexp.MustCompile("`([^`]+)`")
	named := 0
	for _, r := range rows {
		names := name.FindAllStringSubmatch(r.tests, -1)
		if len(names) == 0 {
			t.Errorf("%s:%d: the row names no test: %q", doc, r.line, r.tests)
		}
		for _, m := range names {
			named++
			if !tests[m[1]] {
				t.Errorf("%s:%d: %s is not a test in this repository", doc, r.line, m[1])
			}
		}
		// The code column: `path` followed by `Name`s found in that file.
		var file string
		var body []byte
		for _, m := range token.FindAllStringSubmatch(r.code, -1) {
			tok := m[1]
			if strings.Contains(tok, "/") {
				b, err := os.ReadFile(filepath.Join("..", tok))
				if err != nil {
					t.Errorf("%s:%d: %s does not exist", doc, r.line, tok)
				}
				file, body = tok, b
				continue
			}
			if file == "" || body == nil {
				continue
			}
			ident := tok[strings.LastIndex(tok, ".")+1:]
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(ident) + `\b`).Match(body) {
				t.Errorf("%s:%d: %s has no %s", doc, r.line, file, tok)
			}
		}
	}
	if named < minConformanceRows {
		t.Fatalf("%s: only %d test names in the table", doc, named)
	}
}
