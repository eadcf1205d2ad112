package models

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// frozenSteps pins what each released step sends to the database: the
// first 16 hex digits of the SHA-256 of its statements (comments left
// out), on SQLite and on PostgreSQL. The golden schema dumps catch a step
// edited so that the schema changes, not one whose data statements (a
// backfill, an UPDATE) change; this catches both. A new step adds its line
// here; an old line never changes.
var frozenSteps = []struct{ id, sqlite, postgres string }{
	{"202611270001_initial", "663d2fc60ba66cb9", "a00ff1c041b362c6"},
	{"202611270002_assist_notice", "c9b1ce80b48ec602", "99b783eb12f49f43"},
	{"202611270003_opac_handoff", "b4101511801ad153", "d9883edbf114e4de"},
	{"202611270004_retention_legal", "685331a05c05c073", "88a3cef55d376f68"},
	{"202611270005_ils_arrivals_delivery", "4c361f6392e87c6e", "a26cc0abfb04c45a"},
	{"202611270006_history_count", "a8424aa6db513a6a", "f26cae032f20d9ae"},
	{"202611270007_notification_references", "0f3d3b8ba76dbc56", "e6daed9d91de98e3"},
	{"202611270008_patron_summaries", "db08dc346851b462", "6bdcfd693784caef"},
	{"202612020001_audit_keyed_chain", "a22bf9bcb3da90b0", "c08143ce506b2f5d"},
	{"202612020002_legal_process", "cced8bcb440f2589", "5b64f2145fd4dd5a"},
	{"202612030001_ils_link", "91bcf4a804ecfaf3", "6183c375442c4aad"},
	{"202612030002_staff_sign_in", "7552c0a06cc80de9", "f1afb625b907f609"},
	{"202612030003_history_keep", "9207f659e543f09f", "9207f659e543f09f"},
	{"202612030004_patron_language", "9bb68ac03fa3b4b3", "9bb68ac03fa3b4b3"},
}

func TestMigrationsAreFrozen(t *testing.T) {
	var ids []string
	for _, m := range migrations {
		ids = append(ids, m.ID)
	}
	var pinned []string
	for _, f := range frozenSteps {
		pinned = append(pinned, f.id)
	}
	if !slices.Equal(ids, pinned) {
		t.Fatalf("the steps are %v,\nfrozenSteps pins %v:\na new step adds its line; no step is ever renamed or removed", ids, pinned)
	}
	for _, f := range frozenSteps {
		for d, want := range map[Dialect]string{SQLite: f.sqlite, Postgres: f.postgres} {
			text, err := migrationFiles.ReadFile("migrations/" + string(d) + "/" + f.id + ".sql")
			if err != nil {
				t.Fatal(err)
			}
			stmts, err := splitStatements(string(text))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(strings.Join(stmts, "\x00")))
			if got := hex.EncodeToString(sum[:])[:16]; got != want {
				t.Errorf("step %s on %s sends other SQL than when it was frozen (hash %s, want %s): "+
					"a released step is never edited; the change is a new step", f.id, d, got, want)
			}
		}
	}
}

func TestMigrationIDs(t *testing.T) {
	id := regexp.MustCompile(`^[0-9]{12}_[a-z0-9_]+$`)
	for i, m := range migrations {
		if !id.MatchString(m.ID) {
			t.Errorf("step id %q is not YYYYMMDDNNNN_name", m.ID)
		}
		if i > 0 && migrations[i-1].ID >= m.ID {
			t.Errorf("step %s does not sort after %s", m.ID, migrations[i-1].ID)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		err        string
	}{
		{name: "comments and statements",
			text: "-- a step\n--\n-- on two lines\n\nCREATE TABLE a (\n\tid BIGINT);\n\n-- b, indented\nCREATE TRIGGER b AFTER INSERT ON a BEGIN\n\t\tSELECT 1; SELECT 2;\n\t\tSELECT 3; END;\n",
			want: []string{"CREATE TABLE a (\n\tid BIGINT)", "CREATE TRIGGER b AFTER INSERT ON a BEGIN\n\t\tSELECT 1; SELECT 2;\n\t\tSELECT 3; END"}},
		{name: "no final newline", text: "SELECT 1;", want: []string{"SELECT 1"}},
		{name: "blank line inside a statement", text: "CREATE TABLE a (\n\n\tid BIGINT);\n", err: "line 2: a blank line inside a statement"},
		{name: "no semicolon at the end", text: "SELECT 1;\n\nSELECT 2\n", err: "does not end with ';'"},
		{name: "comments only", text: "-- nothing\n", err: "no statement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitStatements(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLoadStepsNeedsBothEngines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		err   string
	}{
		{"no postgres file", fstest.MapFS{
			"migrations/sqlite/202601010001_a.sql":   {Data: []byte("SELECT 1;\n")},
			"migrations/sqlite/202601010002_b.sql":   {Data: []byte("SELECT 1;\n")},
			"migrations/postgres/202601010001_a.sql": {Data: []byte("SELECT 1;\n")},
		}, "step 202601010002_b has no postgres file"},
		{"no sqlite file", fstest.MapFS{
			"migrations/sqlite/202601010001_a.sql":   {Data: []byte("SELECT 1;\n")},
			"migrations/postgres/202601010001_a.sql": {Data: []byte("SELECT 1;\n")},
			"migrations/postgres/202601010002_b.sql": {Data: []byte("SELECT 1;\n")},
		}, "step 202601010002_b has no sqlite file"},
		{"not a .sql file", fstest.MapFS{
			"migrations/sqlite/202601010001_a.sql":   {Data: []byte("SELECT 1;\n")},
			"migrations/sqlite/notes.txt":            {Data: []byte("hello")},
			"migrations/postgres/202601010001_a.sql": {Data: []byte("SELECT 1;\n")},
		}, "notes.txt is not a step's .sql file"},
		{"a file that does not parse", fstest.MapFS{
			"migrations/sqlite/202601010001_a.sql":   {Data: []byte("SELECT 1\n")},
			"migrations/postgres/202601010001_a.sql": {Data: []byte("SELECT 1;\n")},
		}, "migrations/sqlite/202601010001_a.sql: the last statement does not end with ';'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadSteps(tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("loadSteps = %v, want an error saying %q", err, tc.err)
			}
		})
	}
}
